//! The PID 1 loop: start the program, reap every child, forward signals, stop gracefully.
//!
//! PID 1 is single-threaded and sleeps in `poll(2)` on a signalfd, with no timeout unless a grace
//! period is running, so an idle container costs zero wakeups (tini wakes every second). All signals are
//! blocked and read from the signalfd; the kernel never discards a blocked signal, even for an init
//! process that has no handler (kernel/signal.c `sig_ignored`).
//!
//! Reaping: one SIGCHLD can stand for many exits (standard signals coalesce), so every SIGCHLD drains
//! `waitpid(-1, WNOHANG)` until it returns 0 or ECHILD. ECHILD is also how we know that no descendant is
//! left: orphans are re-parented to PID 1 (or to us as subreaper) before their parent's exit is
//! reported, so "no children" means "no descendants".
//!
//! Stopping: on SIGTERM/SIGINT the (rewritten) signal goes to the program; when the program is gone
//! the rest get SIGTERM; at the end of `--grace` everything left gets SIGKILL; pidguard exits once
//! nothing is left, with the program's status. When the program exits on its own but leaves other
//! processes, they get the same treatment. The exit code is decided by us, not by Docker's SIGKILL.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::cli::{OnUnhealthy, RestartPolicy, RunConfig};
use crate::error::{EXIT_NOT_FOUND, EXIT_SETUP, SetupError};
use crate::health::metrics;
use crate::health::schedule::{Checker, Health};
use crate::health::server::{self, Server, State};
use crate::sys::{self, SpawnError};
use crate::{debug, error, info, signals, trace, warn};

mod procs;
mod spawn;

use crate::{harden, health, seccomp};
pub use procs::descendants;
pub use spawn::search_path;
use spawn::{ChildTemplate, check_argv, cstring};

impl SpawnError {
    /// The `docker run` convention: 127 not found, 126 not executable, 125 pidguard's own failure.
    fn exit_code(&self) -> i32 {
        match self {
            SpawnError::Step(sys::Step::Exec, errno) => crate::error::exec_exit_code(*errno),
            _ => EXIT_SETUP,
        }
    }
}

/// The app check's state machine, new for every start of the program.
fn checker_for(cfg: &RunConfig, now: Instant) -> Option<Checker> {
    let h = &cfg.health;
    h.check
        .as_ref()
        .map(|_| Checker::new(now, h.interval, h.timeout, h.retries, h.start_period))
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Process-wide state of PID 1 that the health endpoint and metrics will read.
#[derive(Debug, Default)]
pub struct Stats {
    pub zombies_reaped: u64,
    pub forwarded: Vec<u64>,
}

struct Supervisor<'a> {
    cfg: &'a RunConfig,
    sfd: OwnedFd,
    pid1: bool,
    main: i32,
    started: Instant,
    started_unix: f64,
    /// What every child (the program, app checks) gets: environment, signal mask, dispositions.
    template: ChildTemplate,
    check_argv: Option<Vec<CString>>,
    server: Option<Server>,
    checker: Option<Checker>,
    check_timeouts: u64,
    /// Read end of the running check's stdout/stderr, and the first line of the last check's output.
    check_output: Option<OwnedFd>,
    last_check_output: String,
    /// The program's process is alive.
    running: bool,
    /// Exit status of the last run of the program (128+N for signal N).
    last_code: Option<i32>,
    /// PATH candidates and argv of the program, kept for restarts.
    program: (Vec<CString>, Vec<CString>),
    foreground: bool,
    /// SIGTERM/SIGINT received: no restart, graceful stop, exit.
    shutdown: bool,
    /// pidguard has decided to end once nothing is left (program done, gave up, or shutdown).
    exiting: bool,
    /// A stop PID 1 started itself because the program turned unhealthy.
    pending: Option<OnUnhealthy>,
    /// When the program is to be started again (after its leftovers are gone).
    restart_at: Option<Instant>,
    restarts: u64,
    recent_restarts: std::collections::VecDeque<Instant>,
    /// Quick exits in a row, for the exponential backoff.
    backoff: u32,
    unhealthy_exit: bool,
    children_left: bool,
    deadline: Option<Instant>,
    /// SIGTERM was sent to what the program left behind.
    swept: bool,
    killed: bool,
    stats: Stats,
}

/// Runs PROGRAM under supervision and returns pidguard's exit code.
pub fn run(cfg: &RunConfig) -> i32 {
    match start(cfg) {
        Ok(mut sup) => sup.supervise(),
        Err(e) => {
            error!("{}", e.msg);
            e.code
        }
    }
}

fn start(cfg: &RunConfig) -> Result<Supervisor<'_>, SetupError> {
    let os =
        |step: &str, e: std::io::Error| SetupError::new(EXIT_SETUP, format!("cannot {step}: {e}"));

    let sigmask = sys::block_all_signals().map_err(|e| os("block signals", e))?;
    let sfd = sys::signalfd_all().map_err(|e| os("create a signalfd", e))?;
    let mut reignore = Vec::new();
    if sys::is_ignored(libc::SIGCHLD) {
        // An ignored SIGCHLD makes the kernel reap children silently: we would never see the
        // program's exit status. The program gets the ignored disposition back.
        sys::set_disposition(libc::SIGCHLD, false).map_err(|e| os("reset SIGCHLD", e))?;
        reignore.push(libc::SIGCHLD);
    }

    let pid1 = std::process::id() == 1;
    if !pid1 || cfg.subreaper {
        sys::prctl(libc::PR_SET_CHILD_SUBREAPER, 1)
            .map_err(|e| os("become a child subreaper", e))?;
        debug!(
            "not PID 1 (pid {}): registered as a child subreaper",
            std::process::id()
        );
    }
    // Every input is resolved and checked before anything is bound or changed, so that a bad value is
    // the one and only line the user sees.
    let hardening = harden::plan(cfg, Path::new("/"))?;
    let filters = seccomp::pid1::filters(cfg)?;
    let inherited_pdeath = sys::pdeath_signal().filter(|&s| s != 0);

    // Health listeners are bound while we may still be privileged (a port below 1024 needs
    // CAP_NET_BIND_SERVICE); the status socket needs nothing and may fail only on a name clash.
    let mut listeners = Vec::new();
    if let Some(addr) = cfg.health.listen {
        let listener = server::bind_tcp(&addr.to_string())
            .map_err(|e| SetupError::new(EXIT_SETUP, format!("--health-listen: {e}")))?;
        listeners.push(listener);
    }
    let status_name = health::status_socket_name();
    match server::bind_status_socket(&status_name) {
        Ok(l) => listeners.push(l),
        Err(e) => warn!(
            "status endpoint @{status_name} unavailable ({e}); `pidguard probe` cannot reach this PID 1: \
             set {} to a unique name",
            health::STATUS_SOCKET_ENV
        ),
    }
    let check_argv = check_argv(cfg)?;

    // Everything that needs privilege happens above this line; from here on PID 1 is as weak as the
    // program will be.
    harden::apply(&hardening)?;
    // Last step of PID 1's own hardening (it needs no_new_privs, set just above): from here on every
    // syscall of PID 1 and of every child it forks passes the filter.
    sys::install_filters(&filters.pid1).map_err(|errno| {
        SetupError::new(
            EXIT_SETUP,
            format!(
                "cannot install PID 1's seccomp filter: {}",
                std::io::Error::from_raw_os_error(errno)
            ),
        )
    })?;
    // After the drop: a change of credentials clears the parent-death signal (prctl(2)), including
    // one our parent set for us (unshare --kill-child, a supervisor's PR_SET_PDEATHSIG): put back
    // what we inherited unless -p asks for another.
    if let Some(sig) = cfg.pdeath_signal.or(inherited_pdeath) {
        sys::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong)
            .map_err(|e| os("set the parent-death signal", e))?;
    }

    let program = &cfg.argv[0];
    let paths = search_path(program, std::env::var_os("PATH").as_deref());
    if paths.is_empty() {
        return Err(SetupError::new(
            EXIT_NOT_FOUND,
            format!(
                "cannot run {:?}: not found in PATH; give an absolute path or fix PATH",
                program
            ),
        ));
    }
    let paths = paths
        .iter()
        .map(|p| cstring(p.as_os_str().as_bytes(), "the program path"))
        .collect::<Result<Vec<_>, _>>()?;
    let argv = cfg
        .argv
        .iter()
        .map(|a| cstring(a.as_bytes(), "an argument"))
        .collect::<Result<Vec<_>, _>>()?;
    let overrides = harden::env_overrides(&hardening);
    let envp = sys::environ(&overrides)
        .map_err(|_| SetupError::new(EXIT_SETUP, "an environment variable contains a NUL byte"))?;

    let template = ChildTemplate {
        envp,
        sigmask,
        reignore,
        filters: filters.program,
    };
    let (plan_paths, plan_argv) = (paths.clone(), argv.clone());
    let mut plan = template.plan(paths, argv);
    plan.foreground = sys::isatty(0);

    let main = match sys::spawn(&mut plan) {
        Ok(pid) => pid,
        Err(e @ SpawnError::Step(sys::Step::Exec, errno)) => {
            let err = std::io::Error::from_raw_os_error(errno);
            return Err(SetupError::new(
                e.exit_code(),
                format!("cannot execute {program:?}: {err}"),
            ));
        }
        Err(e @ SpawnError::Os(_)) => return Err(SetupError::new(e.exit_code(), e.to_string())),
        Err(e) => {
            return Err(SetupError::new(
                e.exit_code(),
                format!("{e}; the program was not started"),
            ));
        }
    };
    info!("started {:?} as pid {main}", program);

    let now = Instant::now();
    sys::trim_heap();
    let checker = checker_for(cfg, now);
    Ok(Supervisor {
        cfg,
        sfd,
        pid1,
        main,
        started: now,
        started_unix: unix_now(),
        template,
        check_argv,
        server: Some(Server::new(listeners, cfg.health.metrics)),
        checker,
        check_timeouts: 0,
        check_output: None,
        last_check_output: String::new(),
        running: true,
        last_code: None,
        program: (plan_paths, plan_argv),
        foreground: plan.foreground,
        shutdown: false,
        exiting: false,
        pending: None,
        restart_at: None,
        restarts: 0,
        recent_restarts: std::collections::VecDeque::new(),
        backoff: 0,
        unhealthy_exit: false,
        children_left: true,
        deadline: None,
        swept: false,
        killed: false,
        stats: Stats {
            zombies_reaped: 0,
            forwarded: vec![0; 65],
        },
    })
}

impl Supervisor<'_> {
    fn supervise(&mut self) -> i32 {
        let mut fds: Vec<libc::pollfd> = Vec::new();
        loop {
            if !self.running && !self.children_left {
                match self.restart_at {
                    None => return self.exit_code(),
                    Some(at) if Instant::now() >= at => self.restart_program(),
                    Some(_) => {}
                }
            }
            let timeout = self.poll_timeout();
            fds.clear();
            fds.push(libc::pollfd {
                fd: self.sfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            if let Some(server) = &self.server {
                server.pollfds(&mut fds);
            }
            if let Err(e) = sys::poll(&mut fds, timeout) {
                error!("poll failed: {e}");
            }
            // Signals and reaping first: the endpoint must never delay them. Both only when the
            // signalfd says so (every exit comes with a SIGCHLD), so that a busy endpoint costs no
            // syscalls here.
            if fds[0].revents != 0 {
                loop {
                    match sys::read_signal(&self.sfd) {
                        Ok(Some((sig, pid, code))) => self.on_signal(sig, pid, code),
                        Ok(None) => break,
                        Err(e) => {
                            error!("reading signals failed: {e}");
                            break;
                        }
                    }
                }
                self.reap();
            }
            self.sweep_leftovers();
            self.check_deadline();
            self.run_checks();
            let now = Instant::now();
            let state = self.endpoint_state(now);
            // Taken out for the call so that the metrics closure can read the rest of `self`.
            if let Some(mut server) = self.server.take() {
                server.on_ready(&fds, now, &state, &|| {
                    metrics::render(&self.metrics_snapshot())
                });
                self.server = Some(server);
            }
        }
    }

    /// How long poll may sleep: until the earliest of the grace deadline, the next app check or its
    /// timeout, the end of the start period, and the endpoint's connection deadlines. With none of
    /// them (no check configured, nobody connected, not stopping): forever, so zero idle wakeups.
    fn poll_timeout(&self) -> i32 {
        // After SIGKILL, keep sweeping until the last child is reaped (a process may have forked
        // while we were walking /proc).
        if self.killed {
            return 100;
        }
        let now = Instant::now();
        let start_period_end = self.started + self.cfg.health.start_period;
        let wakeups = [
            self.deadline,
            self.restart_at,
            self.checker
                .as_ref()
                .filter(|_| self.checks_wanted())
                .map(Checker::next_wakeup),
            (start_period_end > now).then_some(start_period_end),
            self.server.as_ref().and_then(Server::next_deadline),
        ];
        match wakeups.into_iter().flatten().min() {
            Some(at) => {
                let left = at.saturating_duration_since(now);
                // Round up so that we never wake just before the deadline and spin.
                left.as_millis().saturating_add(1).min(i32::MAX as u128) as i32
            }
            None => -1,
        }
    }

    /// /healthz: PID 1 is supervising (not stopping). /readyz: the program runs, is past its start
    /// period or has passed a check, and its app check (if any) passes.
    fn endpoint_state(&self, now: Instant) -> State {
        let live = !self.exiting;
        let ready = live
            && self.running
            && self.pending.is_none()
            && match &self.checker {
                Some(c) => c.health() == Health::Healthy,
                None => now >= self.started + self.cfg.health.start_period,
            };
        State { live, ready }
    }

    fn metrics_snapshot(&self) -> metrics::Snapshot {
        let (passed, failed) = self
            .checker
            .as_ref()
            .map_or((0, 0), |c| (c.passed, c.failed));
        metrics::Snapshot {
            child_up: self.running,
            restarts: self.restarts,
            start_time: Some(self.started_unix),
            last_exit_code: self.last_code,
            zombies_reaped: self.stats.zombies_reaped,
            signals_forwarded: (1..=64)
                .filter(|&s| self.stats.forwarded[s] > 0)
                .map(|s| (signals::name(s as i32), self.stats.forwarded[s]))
                .collect(),
            checks: vec![
                ("healthy", passed),
                ("unhealthy", failed - self.check_timeouts.min(failed)),
                ("timeout", self.check_timeouts),
            ],
        }
    }

    /// Starts an app check when one is due, and kills one that ran past its timeout.
    fn run_checks(&mut self) {
        let now = Instant::now();
        let wanted = self.checks_wanted();
        let Some(checker) = self.checker.as_mut() else {
            return;
        };
        if let Some(pid) = checker.overdue(now) {
            if sys::kill(-pid, libc::SIGKILL).is_ok() {
                self.check_timeouts += 1;
                info!(
                    "app check (pid {pid}) timed out after {}: killed",
                    crate::duration::format(self.cfg.health.timeout)
                );
            }
            self.check_output = None;
            self.last_check_output = format!(
                "timed out after {}",
                crate::duration::format(self.cfg.health.timeout)
            );
            // Recorded as a failure now; its exit, when reaped, is then just a reaped process.
            self.record_check(false);
            return;
        }
        if !wanted || !checker.due(now) {
            return;
        }
        let Some(argv) = &self.check_argv else {
            return;
        };
        let mut plan = self.template.plan(vec![argv[0].clone()], argv.clone());
        // The check's output is kept for the log lines that matter (a change of health), not
        // copied to the container's log at every interval.
        let pipe = sys::pipe_nonblocking_read().ok();
        plan.output = pipe.as_ref().map(|(_, wr)| wr.as_raw_fd());
        match sys::spawn(&mut plan) {
            Ok(pid) => {
                trace!("app check started as pid {pid}");
                checker.started(pid, now);
                self.check_output = pipe.map(|(rd, _)| rd);
            }
            Err(e) => {
                warn!("cannot start the app check: {e}");
                checker.start_failed(now);
            }
        }
    }

    fn on_check_exit(&mut self, status: i32) {
        self.take_check_output();
        if status != 0 {
            debug!("app check failed with {status}: {}", self.last_check_output);
        }
        self.record_check(status == 0);
    }

    /// Keeps the first line of what the finished check wrote (bounded; the read never waits, since
    /// a background child of the check may still hold the pipe open).
    fn take_check_output(&mut self) {
        let Some(fd) = self.check_output.take() else {
            return;
        };
        let bytes = sys::read_available(&fd, 4096);
        let text = String::from_utf8_lossy(&bytes);
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("no output");
        self.last_check_output = line.chars().take(300).collect();
    }

    /// Records a check's verdict (from its exit or its timeout) and logs a change of health.
    fn record_check(&mut self, ok: bool) {
        let Some(c) = self.checker.as_mut() else {
            return;
        };
        let before = c.health();
        c.finished(ok, Instant::now());
        match c.health() {
            h if h == before => {}
            Health::Healthy => info!("program is healthy"),
            Health::Unhealthy => {
                warn!(
                    "program is unhealthy: {} app checks failed in a row; the last said: {}",
                    self.cfg.health.retries, self.last_check_output
                );
                self.act_on_unhealthy();
            }
            Health::Starting => {}
        }
    }

    fn on_signal(&mut self, sig: i32, sender: i32, code: i32) {
        // A SIGCHLD from the kernel (si_code > 0: CLD_EXITED, CLD_KILLED, ...) means "reap"; one sent
        // with kill/sigqueue (si_code <= 0) is a signal for the program like any other.
        if sig == libc::SIGCHLD && code > 0 {
            return;
        }
        debug!("received {} from pid {sender}", signals::name(sig));
        if matches!(sig, libc::SIGTERM | libc::SIGINT) && !self.shutdown {
            // A stop requested from outside always wins: no restart, graceful stop, exit.
            self.shutdown = true;
            self.exiting = true;
            if self.restart_at.take().is_some() {
                info!(
                    "{} received while waiting to restart: exiting",
                    signals::name(sig)
                );
            } else if self.deadline.is_none() {
                info!(
                    "{} received: stopping, grace period {}",
                    signals::name(sig),
                    crate::duration::format(self.cfg.grace)
                );
            }
            if self.deadline.is_none() {
                self.deadline = Some(Instant::now() + self.cfg.grace);
            }
        }
        if !signals::forwardable(sig) {
            return;
        }
        let Some(to) = self.cfg.rewritten(sig) else {
            debug!("{} dropped by --rewrite", signals::name(sig));
            return;
        };
        if !self.running {
            debug!(
                "{} not forwarded: the program is not running",
                signals::name(sig)
            );
            return;
        }
        let target = self.signal_target();
        match sys::kill(target, to) {
            Ok(()) => {
                self.stats.forwarded[to as usize] += 1;
                debug!("forwarded {} to {target}", signals::name(to));
            }
            Err(e) => debug!("forwarding {} to {target} failed: {e}", signals::name(to)),
        }
    }

    fn reap(&mut self) {
        loop {
            match nix::sys::wait::waitpid(
                nix::unistd::Pid::from_raw(-1),
                Some(nix::sys::wait::WaitPidFlag::WNOHANG),
            ) {
                Ok(nix::sys::wait::WaitStatus::StillAlive) => {
                    self.children_left = true;
                    return;
                }
                Ok(ws) => {
                    let Some(pid) = ws.pid() else { continue };
                    let status = match ws {
                        nix::sys::wait::WaitStatus::Exited(_, c) => c,
                        nix::sys::wait::WaitStatus::Signaled(_, s, _) => 128 + s as i32,
                        _ => continue,
                    };
                    let pid = pid.as_raw();
                    self.stats.zombies_reaped += 1;
                    if pid == self.main {
                        self.on_main_exit(status);
                    } else if self.checker.as_ref().and_then(Checker::running) == Some(pid) {
                        self.on_check_exit(status);
                    } else if self.cfg.warn_on_reap {
                        warn!("reaped zombie process {pid} (exit status {status})");
                    } else {
                        debug!("reaped process {pid} (exit status {status})");
                    }
                }
                Err(nix::errno::Errno::ECHILD) => {
                    self.children_left = false;
                    return;
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    error!("waitpid failed: {e}");
                    return;
                }
            }
        }
    }

    fn on_main_exit(&mut self, code: i32) {
        self.running = false;
        self.last_code = Some(code);
        info!("program (pid {}) exited with {code}", self.main);
        if self.shutdown {
            return;
        }
        let reason = match self.pending.take() {
            Some(OnUnhealthy::Exit) => {
                self.exiting = true;
                self.unhealthy_exit = true;
                info!("exiting because the program was unhealthy (--on-unhealthy exit)");
                return;
            }
            Some(_) => "it was unhealthy",
            None => match self.cfg.restart.policy {
                RestartPolicy::Always => "--restart always",
                RestartPolicy::OnFailure if code != 0 => "--restart on-failure",
                _ => {
                    self.exiting = true;
                    return;
                }
            },
        };
        self.schedule_restart(code, reason);
    }

    /// Schedules the next start with exponential backoff, or gives up past the crash-loop bound.
    fn schedule_restart(&mut self, code: i32, reason: &str) {
        let r = &self.cfg.restart;
        let now = Instant::now();
        while self
            .recent_restarts
            .front()
            .is_some_and(|&t| now.duration_since(t) >= r.window)
        {
            self.recent_restarts.pop_front();
        }
        if self.recent_restarts.len() >= r.limit as usize {
            self.exiting = true;
            error!(
                "giving up: the program was restarted {} times within {} (--restart-limit); exiting with {code}",
                self.recent_restarts.len(),
                crate::duration::format(r.window),
            );
            return;
        }
        if now.duration_since(self.started) >= r.stable {
            self.backoff = 0;
        }
        let delay = r
            .delay
            .saturating_mul(1u32.checked_shl(self.backoff).unwrap_or(u32::MAX))
            .min(r.max_delay);
        self.backoff = self.backoff.saturating_add(1).min(31);
        self.recent_restarts.push_back(now);
        self.restart_at = Some(now + delay);
        info!(
            "restarting in {} ({reason}; exit status {code}; restart {} of at most {} within {})",
            crate::duration::format(delay),
            self.recent_restarts.len(),
            r.limit,
            crate::duration::format(r.window)
        );
    }

    /// Starts the program again: a fresh process group with the same identity and hardening (PID 1
    /// holds exactly the program's privileges, and the child installs the same seccomp filter).
    fn restart_program(&mut self) {
        self.restart_at = None;
        let mut plan = self
            .template
            .plan(self.program.0.clone(), self.program.1.clone());
        plan.foreground = self.foreground;
        let now = Instant::now();
        match sys::spawn(&mut plan) {
            Ok(pid) => {
                self.main = pid;
                self.running = true;
                self.restarts += 1;
                self.started = now;
                self.started_unix = unix_now();
                self.deadline = None;
                self.swept = false;
                self.killed = false;
                self.children_left = true;
                self.checker = checker_for(self.cfg, now);
                info!("restarted {:?} as pid {pid}", self.cfg.argv[0]);
            }
            Err(e) => {
                let code = e.exit_code();
                error!("restart of {:?} failed: {e}", self.cfg.argv[0]);
                self.last_code = Some(code);
                self.started = now;
                self.schedule_restart(code, "the restart failed");
            }
        }
    }

    /// pidguard's exit code: the program's last status after --remap-exit; never 0 after
    /// --on-unhealthy exit.
    fn exit_code(&self) -> i32 {
        let code = self.cfg.remapped(self.last_code.unwrap_or(0));
        let code = if self.unhealthy_exit && code == 0 {
            1
        } else {
            code
        };
        info!("exiting with {code}");
        code
    }

    /// --on-unhealthy restart|exit: stop the program as `docker stop` would (its SIGTERM, then
    /// SIGKILL of everything left at the end of the grace period); `on_main_exit` does the rest.
    fn act_on_unhealthy(&mut self) {
        let action = self.cfg.restart.on_unhealthy;
        if action == OnUnhealthy::Ignore || !self.checks_wanted() {
            return;
        }
        self.pending = Some(action);
        self.deadline = Some(Instant::now() + self.cfg.grace);
        warn!(
            "stopping the program to {} (--on-unhealthy), SIGKILL in {}",
            if action == OnUnhealthy::Restart {
                "restart it"
            } else {
                "exit"
            },
            crate::duration::format(self.cfg.grace)
        );
        if let Some(sig) = self.cfg.rewritten(libc::SIGTERM) {
            let _ = sys::kill(self.signal_target(), sig);
        }
    }

    /// The program, or its whole process group with -g.
    fn signal_target(&self) -> i32 {
        if self.cfg.kill_process_group {
            -self.main
        } else {
            self.main
        }
    }

    fn checks_wanted(&self) -> bool {
        // (A shutdown always sets `exiting` too.)
        self.running && !self.exiting && self.pending.is_none()
    }

    /// After the program is gone, whatever it left running gets SIGTERM once, and SIGKILL at the
    /// deadline. Called after `reap` drained every zombie, so `children_left` means live processes.
    fn sweep_leftovers(&mut self) {
        if self.running || !self.children_left || self.swept || self.killed {
            return;
        }
        self.swept = true;
        let grace = match self.deadline {
            Some(_) => self.deadline_left(),
            None => {
                self.deadline = Some(Instant::now() + self.cfg.grace);
                self.cfg.grace
            }
        };
        info!(
            "the program left processes running: sending SIGTERM, SIGKILL in {}",
            crate::duration::format(grace)
        );
        self.signal_all(libc::SIGTERM);
    }

    fn deadline_left(&self) -> Duration {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
            .unwrap_or_default()
    }

    fn check_deadline(&mut self) {
        if self.killed {
            if self.children_left {
                self.signal_all(libc::SIGKILL);
            }
            return;
        }
        let Some(d) = self.deadline else { return };
        if Instant::now() < d || !self.children_left && !self.running {
            return;
        }
        warn!(
            "grace period of {} is over: sending SIGKILL to every remaining process",
            crate::duration::format(self.cfg.grace)
        );
        self.killed = true;
        if self.running {
            let _ = sys::kill(self.main, libc::SIGKILL);
        }
        self.signal_all(libc::SIGKILL);
    }

    /// Signals every descendant. As PID 1 of a PID namespace, kill(-1) reaches every other process in
    /// the namespace (kill(2)); otherwise we must not touch the host's processes, so we walk /proc for
    /// our own descendants.
    fn signal_all(&self, sig: i32) {
        if self.pid1 {
            match sys::kill(-1, sig) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                Err(e) => warn!("kill(-1, {}) failed: {e}", signals::name(sig)),
            }
            return;
        }
        for pid in descendants(std::process::id() as i32) {
            let _ = sys::kill(pid, sig);
        }
    }
}
