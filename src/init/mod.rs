//! The PID 1 loop: start the program, reap every child, forward signals, stop gracefully.
//!
//! `start` is the set-up, in its steps: take every signal (`take_signals`), read and check every
//! input (`prepare`), run the `--setup` steps ([`setup`]), drop privileges (`drop_privileges`), start the program (`spawn_program`).
//! Then `Supervisor::run` is the loop. What the loop *decides* lives in [`state`], a pure state
//! machine; the loop only turns the kernel's news into its events and performs its actions.
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
//! **The loop never spins.** The program runs as PID 1's own uid and can change PID 1's limits with
//! `prlimit(2)`; an `RLIMIT_NOFILE` below the number of descriptors to poll makes `poll` fail with
//! EINVAL on every call. Any failure to poll or to read the signalfd puts the loop in a fallback that
//! needs no descriptor at all: `sigtimedwait(2)` on the blocked signals, which still reaps, forwards
//! and stops gracefully; only the health endpoints pause. The loss is said once, and the normal mode
//! is tried again after 1 s, 2 s, 4 s ... up to a minute.
//!
//! **The steady loop does not allocate**: the poll set, the action list and the buffer for a check's
//! output are sized at start, signal names are rendered once, and log lines are formatted on the
//! stack (log.rs). An address-space limit set on PID 1 can make a restart or a check fail to start
//! (a failure the machine handles), not make PID 1 abort.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cli::{RunConfig, SessionMode};
use crate::error::{EXIT_NOT_FOUND, EXIT_SETUP, SetupError};
use crate::health::metrics;
use crate::health::schedule::{Checker, Health};
use crate::health::server::{self, Server, State};
use crate::log::{Dur, Elapsed};
use crate::sys::{self, SpawnError};
use crate::{debug, error, info, signals, trace, warn};

mod procs;
mod record;
pub mod setup;
mod spawn;
pub mod state;

use crate::{harden, health, seccomp};
pub use procs::descendants;
pub use spawn::search_path;
use spawn::{ChildTemplate, check_argv, cstring};
use state::{Action, Event, Exit, Machine, Note, Policy};

impl SpawnError {
    /// The `docker run` convention: 127 not found, 126 not executable, 125 pidguard's own failure.
    fn exit_code(&self) -> i32 {
        match self {
            SpawnError::Step(sys::Step::Exec, errno) => crate::error::exec_exit_code(*errno),
            _ => EXIT_SETUP,
        }
    }
}

/// si_code of a signal the kernel itself sent (SI_KERNEL).
const SI_KERNEL: i32 = 0x80;
/// The first wait before PID 1 tries `poll` again after it failed, doubled up to the last.
const POLL_RETRY_FIRST: Duration = Duration::from_secs(1);
const POLL_RETRY_MAX: Duration = Duration::from_secs(60);
/// The first line of an app check's output kept for the log, in characters.
const CHECK_OUTPUT_CHARS: usize = 300;

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

/// The machine's view of the configuration. `foreground`: the program was given the terminal.
fn policy(cfg: &RunConfig, pid1: bool, foreground: bool) -> Policy {
    let mut rewrite = [0; 65];
    for (sig, to) in (0..).zip(rewrite.iter_mut()).skip(1) {
        *to = cfg.rewritten(sig).unwrap_or(0);
    }
    state::dumb_init_rewrites(cfg.session, &mut rewrite, |sig| {
        cfg.rewrite.iter().any(|&(from, _)| from == sig)
    });
    let mut remap = [false; 256];
    for (code, zero) in (0..).zip(remap.iter_mut()) {
        *zero = code != 0 && cfg.remapped(code) == 0;
    }
    Policy {
        grace: cfg.grace,
        restart: cfg.restart.clone(),
        group: cfg.kill_process_group,
        pid1,
        rewrite,
        remap,
        session: cfg.session,
        graceful: cfg.session == SessionMode::Tini || cfg.grace_given,
        foreground: foreground && cfg.session == SessionMode::Tini,
    }
}

/// Process-wide state of PID 1 that the health endpoint and metrics will read.
#[derive(Debug, Default)]
pub struct Stats {
    pub zombies_reaped: u64,
    pub forwarded: Vec<u64>,
}

/// How the loop waits: `poll` on its descriptors, or, while that fails, `sigtimedwait` alone.
#[derive(Debug)]
struct Waiting {
    /// While `poll` is off: when to try it again.
    retry_at: Option<Instant>,
    /// The wait before the next retry, doubled after each failure.
    every: Duration,
    /// The user was told what is lost; said once per episode.
    told: bool,
}

/// What `start` hands to the loop.
struct Supervisor<'a> {
    cfg: &'a RunConfig,
    sfd: OwnedFd,
    pid1: bool,
    machine: Machine,
    started_unix: f64,
    /// What every child (the program, app checks) gets: environment, signal mask, dispositions.
    template: ChildTemplate,
    /// PATH candidates and argv of the program, kept for restarts.
    program: (Vec<CString>, Vec<CString>),
    foreground: bool,
    /// pidguard's own process group, read before the seccomp filter: who holds the terminal.
    own_group: i32,
    /// The program that left its process group, once said: later signals follow it quietly.
    left_group: i32,
    /// Where the program goes among groups and sessions, for its restarts.
    place: sys::Place,
    /// The directory the program was started in, for its restarts and the app checks: PID 1 itself
    /// sits in `/` so that it never keeps a mount busy.
    workdir: Option<PathBuf>,
    check_argv: Option<Vec<CString>>,
    server: Option<Server>,
    checker: Option<Checker>,
    check_timeouts: u64,
    /// Read end of the running check's stdout/stderr, and the first line of the last check's output.
    check_output: Option<OwnedFd>,
    check_buf: Vec<u8>,
    last_check_output: String,
    /// RLIMIT_CORE is 0 for the program (pidguard's default): a crash leaves no core.
    core_off: bool,
    waiting: Waiting,
    /// Sized at start, reused by every turn of the loop.
    fds: Vec<libc::pollfd>,
    actions: Vec<Action>,
    follow: Vec<Event>,
    /// "SIGTERM" ... for 0..=64, rendered once.
    stats: Stats,
    /// `--seccomp-record`: the listeners of the recording filters and what they reported.
    recorder: Option<record::Recorder>,
    /// When PID 1 started, and what `pidguard status` tells that does not change.
    born: Instant,
    status: health::status::Fixed,
}

/// Runs PROGRAM under supervision and returns pidguard's exit code.
pub fn run(cfg: &RunConfig) -> i32 {
    match start(cfg) {
        Ok(mut sup) => sup.run(),
        Err(e) => {
            error!("{}", e.msg);
            e.code
        }
    }
}

fn os(step: &str, e: std::io::Error) -> SetupError {
    SetupError::new(EXIT_SETUP, format!("cannot {step}: {e}"))
}

fn start(cfg: &RunConfig) -> Result<Supervisor<'_>, SetupError> {
    let born = Instant::now();
    let signals = take_signals(cfg)?;
    let mut prepared = prepare(cfg)?;
    let mut recorder = prepared.recorder.take();
    // Before the drop, after every input was checked: the root-first steps (setup.rs). A step is
    // not a child of a filtered PID 1, so it installs PID 1's filter and then the program's: what
    // the program itself runs under.
    if !cfg.setup.is_empty() {
        let filters: Vec<_> = prepared
            .filters_pid1
            .iter()
            .chain(&prepared.filters_program)
            .cloned()
            .collect();
        setup::run(
            cfg,
            &setup::Context {
                sigmask: signals.sigmask,
                reignore: &signals.reignore,
                filters: &filters,
                pid1: signals.pid1,
            },
        )?;
    }
    let core_off = drop_privileges(cfg, &prepared)?;
    let status = status_fixed(cfg, &prepared.hardening, &prepared.landlock);
    let started = spawn_program(
        cfg,
        signals.sigmask,
        signals.reignore,
        prepared.filters_program,
        &prepared.hardening,
        recorder.as_mut(),
        prepared.landlock.child,
    )?;
    let workdir = leave_the_working_directory();
    let now = Instant::now();
    sys::trim_heap();
    let server = Server::new(prepared.listeners, cfg.health.metrics);
    let mut fds = Vec::new();
    server.pollfds(&mut fds);
    // The poll set's most: the signalfd, every listener and every connection of each, and the
    // recording's listeners.
    fds.reserve(1 + fds.len() * 65 + record::MAX_LISTENERS);
    Ok(Supervisor {
        cfg,
        sfd: signals.sfd,
        pid1: signals.pid1,
        machine: Machine::new(
            policy(cfg, signals.pid1, started.foreground),
            started.pid,
            now,
        ),
        started_unix: unix_now(),
        template: started.template,
        program: started.program,
        foreground: started.foreground,
        own_group: signals.own_group,
        left_group: 0,
        place: started.place,
        workdir,
        check_argv: prepared.check_argv,
        server: Some(server),
        checker: checker_for(cfg, now),
        check_timeouts: 0,
        check_output: None,
        check_buf: vec![0; 4096],
        last_check_output: String::with_capacity(4 * CHECK_OUTPUT_CHARS),
        core_off,
        waiting: Waiting {
            retry_at: None,
            every: POLL_RETRY_FIRST,
            told: false,
        },
        fds,
        actions: Vec::with_capacity(16),
        follow: Vec::with_capacity(8),
        stats: Stats {
            zombies_reaped: 0,
            forwarded: vec![0; 65],
        },
        recorder,
        born,
        status,
    })
}

/// What `pidguard status` tells about the program's set-up, rendered once (health/status.rs).
fn status_fixed(
    cfg: &RunConfig,
    plan: &harden::Plan,
    landlock: &crate::landlock::Prepared,
) -> health::status::Fixed {
    use health::status::{MAX_CHECK, MAX_COMMAND, clip};
    let mut command = String::new();
    for (i, arg) in cfg.argv.iter().enumerate() {
        if command.len() > MAX_COMMAND {
            break;
        }
        if i > 0 {
            command.push(' ');
        }
        command.push_str(&arg.to_string_lossy());
    }
    let check = cfg
        .health
        .check
        .as_ref()
        .map_or_else(String::new, |c| clip(&c.to_string(), MAX_CHECK));
    let mut seccomp = match &cfg.seccomp {
        crate::cli::Seccomp::Default => "default".to_string(),
        crate::cli::Seccomp::Unconfined => "unconfined".to_string(),
        crate::cli::Seccomp::File(path) => clip(&path.to_string_lossy(), MAX_COMMAND),
    };
    if cfg.seccomp_record.is_some() {
        seccomp.push_str(" (recording)");
    }
    health::status::Fixed {
        command: clip(&command, MAX_COMMAND),
        check,
        uid: plan.identity.uid,
        gid: plan.identity.gid,
        caps: crate::limits::cap_names(plan.keep_caps).join(","),
        no_new_privs: plan.no_new_privs,
        seccomp,
        landlock: landlock.scoped(),
        // In force unless best-effort mode left part of it out (and warned at start).
        // The list as a whole stays within MAX_COMMAND bytes, the last path cut with "...".
        read_only: (cfg.landlock.read_only && landlock.missing.is_empty()).then(|| {
            let mut left = MAX_COMMAND;
            let mut kept = Vec::new();
            for path in &cfg.landlock.writable {
                let path = path.to_string_lossy();
                if path.len() > left {
                    kept.push(clip(&path, left));
                    break;
                }
                left = left.saturating_sub(path.len() + 2);
                kept.push(path.into_owned());
            }
            kept
        }),
    }
}

struct Signals {
    sfd: OwnedFd,
    sigmask: libc::sigset_t,
    reignore: Vec<libc::c_int>,
    pid1: bool,
    own_group: i32,
}

/// Step 1: every signal blocked and readable from a signalfd; SIGCHLD seen; orphans ours.
fn take_signals(cfg: &RunConfig) -> Result<Signals, SetupError> {
    let sigmask = sys::block_all_signals().map_err(|e| os("block signals", e))?;
    let sfd = sys::signalfd_all().map_err(|e| os("create a signalfd", e))?;
    let mut reignore = Vec::new();
    if sys::is_ignored(libc::SIGCHLD) {
        // An ignored SIGCHLD makes the kernel reap children silently: we would never see the
        // program's exit status. The program gets the ignored disposition back.
        sys::set_disposition(libc::SIGCHLD, false).map_err(|e| os("reset SIGCHLD", e))?;
        reignore.push(libc::SIGCHLD);
    }
    if cfg.session != SessionMode::Tini {
        // dumb-init installs a handler for signals 1-31 before it forks, so its program starts
        // with all of them at their default (exec resets handlers), whatever dumb-init inherited:
        // an ignored SIGINT (nohup, a shell script's background job) must not reach the program.
        for sig in 1..=31 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP && sys::is_ignored(sig) {
                sys::set_disposition(sig, false).map_err(|e| os("reset a signal", e))?;
            }
        }
        reignore.clear();
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
    Ok(Signals {
        sfd,
        sigmask,
        reignore,
        pid1,
        own_group: nix::unistd::getpgrp().as_raw(),
    })
}

struct Prepared {
    hardening: harden::Plan,
    filters_pid1: Vec<Vec<libc::sock_filter>>,
    filters_program: Vec<Vec<libc::sock_filter>>,
    inherited_pdeath: Option<i32>,
    listeners: Vec<server::Listener>,
    check_argv: Option<Vec<CString>>,
    recorder: Option<record::Recorder>,
    landlock: crate::landlock::Prepared,
}

/// Step 2: every input resolved and checked before anything is bound or changed, so that a bad
/// value is the one and only line the user sees; then the listeners bound while we may still be
/// privileged (a port below 1024 needs CAP_NET_BIND_SERVICE).
fn prepare(cfg: &RunConfig) -> Result<Prepared, SetupError> {
    let hardening = harden::plan(cfg, Path::new("/"))?;
    // Landlock first: whether the program gets the signal scope decides what the guard must cover.
    let landlock = crate::landlock::prepare(&cfg.landlock, !cfg.allow_new_privs)?;
    let protect = seccomp::guard::Protected::this_process(landlock.scoped());
    let filters = seccomp::pid1::filters(cfg, &protect)?;
    let inherited_pdeath = sys::pdeath_signal().filter(|&s| s != 0);

    let mut listeners = Vec::new();
    if let Some(addr) = cfg.health.listen {
        let listener = server::bind_tcp(&addr.to_string())
            .map_err(|e| SetupError::new(EXIT_SETUP, format!("--health-listen: {e}")))?;
        listeners.push(listener);
    }
    // A taken name does not stop the program: probes then fail closed (they trust only this
    // pidguard), which shows the container unhealthy with the reason; see health::peer.
    let status_name = health::status_socket_name();
    match server::bind_status_socket(&status_name) {
        Ok(l) => listeners.push(l),
        Err(e) => warn!(
            "status socket unavailable: {e}; `pidguard probe` in this container will report \
             unhealthy: give each pidguard sharing this network namespace its own {} (or leave it \
             unset: the default name is per container)",
            health::STATUS_SOCKET_ENV
        ),
    }
    let check_argv = check_argv(cfg)?;
    // Its output file is created now, while PID 1 may still write where the user asked.
    let recorder = record::Recorder::new(cfg)?;
    Ok(Prepared {
        hardening,
        filters_pid1: filters.pid1,
        filters_program: filters.program,
        inherited_pdeath,
        listeners,
        check_argv,
        recorder,
        landlock,
    })
}

/// Step 3: PID 1 becomes as weak as the program will be. Returns whether core dumps are off.
fn drop_privileges(cfg: &RunConfig, p: &Prepared) -> Result<bool, SetupError> {
    harden::apply(&p.hardening)?;
    // The program inherits PID 1's limits, the core limit included (read before the filter, which
    // a custom profile may make refuse prlimit64).
    let core_off = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_CORE)
        .is_ok_and(|(soft, _)| soft == 0);
    // After no_new_privs (which Landlock needs), before the filter (which need not allow it).
    p.landlock.enforce_own()?;
    // Last step of PID 1's own hardening (it needs no_new_privs, set just above): from here on every
    // syscall of PID 1 and of every child it forks passes the filter.
    let refused = sys::install_filters(&p.filters_pid1);
    // With --seccomp unconfined the filter is only the guard that keeps the program off PID 1. A
    // kernel or emulator that takes no filter at all (qemu-user) cannot have it: the user asked for
    // no filter, so run without one and say what that costs, rather than refuse to start.
    let refused = match refused {
        Err(errno @ (libc::ENOSYS | libc::EINVAL))
            if matches!(cfg.seccomp, crate::cli::Seccomp::Unconfined) =>
        {
            warn!(
                "PID 1's guard filter is not installed: {} (this kernel or emulator refuses \
                 seccomp filters); the program may change PID 1's limits and priority",
                std::io::Error::from_raw_os_error(errno)
            );
            Ok(())
        }
        other => other,
    };
    refused.map_err(|errno| {
        // ENOSYS/EINVAL for a filter pidguard built: the kernel (no CONFIG_SECCOMP_FILTER) or an
        // emulator (qemu-user answers seccomp(2) with ENOSYS) takes no filter at all.
        let why = match errno {
            libc::ENOSYS | libc::EINVAL => {
                ": this kernel or emulator refuses seccomp filters (qemu-user running a binary of \
                 another architecture does); there, run with --seccomp unconfined, or run on a \
                 host of the binary's own architecture"
            }
            _ => "",
        };
        SetupError::new(
            EXIT_SETUP,
            format!(
                "cannot install PID 1's seccomp filter: {}{why}",
                std::io::Error::from_raw_os_error(errno)
            ),
        )
    })?;
    // After the drop: a change of credentials clears the parent-death signal (prctl(2)), including
    // one our parent set for us (unshare --kill-child, a supervisor's PR_SET_PDEATHSIG): put back
    // what we inherited unless -p asks for another.
    if let Some(sig) = cfg.pdeath_signal.or(p.inherited_pdeath) {
        sys::prctl(libc::PR_SET_PDEATHSIG, sig.cast_unsigned().into())
            .map_err(|e| os("set the parent-death signal", e))?;
    }
    Ok(core_off)
}

struct Started {
    pid: i32,
    template: ChildTemplate,
    program: (Vec<CString>, Vec<CString>),
    foreground: bool,
    place: sys::Place,
}

/// Step 4: the program, found in PATH as the user it runs as, started in its own process group.
fn spawn_program(
    cfg: &RunConfig,
    sigmask: libc::sigset_t,
    reignore: Vec<libc::c_int>,
    filters: Vec<Vec<libc::sock_filter>>,
    hardening: &harden::Plan,
    recorder: Option<&mut record::Recorder>,
    landlock: Option<OwnedFd>,
) -> Result<Started, SetupError> {
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
    let overrides = harden::env_overrides(hardening);
    let envp = sys::environ(&overrides)
        .map_err(|_| SetupError::new(EXIT_SETUP, "an environment variable contains a NUL byte"))?;

    let template = ChildTemplate {
        envp,
        sigmask,
        reignore,
        filters,
        landlock,
    };
    let kept = (paths.clone(), argv.clone());
    let mut plan = template.plan(paths, argv);
    plan.foreground = sys::isatty(0);
    if let Some(r) = recorder.as_deref() {
        plan.record = Some(r.filter()?);
    }
    plan.place = match cfg.session {
        SessionMode::Tini => sys::Place::OwnGroup,
        SessionMode::Setsid => sys::Place::NewSession,
        SessionMode::SingleChild => sys::Place::Stay,
    };
    if plan.place == sys::Place::NewSession && plan.foreground {
        // As dumb-init: give the terminal up so that the program's new session can take it. The
        // SIGHUP and SIGCONT this sends us as a session leader are dropped in `on_signal`.
        if let Err(e) = sys::detach_terminal() {
            debug!("cannot give up the controlling terminal (TIOCNOTTY): {e}");
        }
    }

    let spawned = sys::spawn(&mut plan);
    if let (Some(r), Some(l)) = (recorder, plan.listener.take()) {
        r.adopt(l);
    }
    let pid = match spawned {
        Ok(pid) => pid,
        Err(e @ SpawnError::Step(sys::Step::Exec, errno)) => {
            let err = std::io::Error::from_raw_os_error(errno);
            return Err(SetupError::new(
                e.exit_code(),
                format!(
                    "cannot execute {program:?}: {err}{}",
                    // execve answers EACCES for permissions; EPERM comes from a filter or an LSM.
                    if errno == libc::EPERM {
                        " (a --seccomp profile that refuses execve answers this)"
                    } else {
                        ""
                    }
                ),
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
    info!(pid = pid; "started {:?} as pid {pid}", program);
    Ok(Started {
        pid,
        template,
        program: kept,
        foreground: plan.foreground,
        place: plan.place,
    })
}

/// PID 1 moves to `/` once the program runs in the directory it was given (dumb-init does the same),
/// so that it never keeps a mount busy. Returns that directory, for restarts and checks.
fn leave_the_working_directory() -> Option<PathBuf> {
    let here = std::env::current_dir().ok().filter(|d| d != Path::new("/"));
    if let Err(e) = nix::unistd::chdir("/") {
        debug!("cannot change PID 1's directory to /: {e}");
        return None;
    }
    here
}

impl Supervisor<'_> {
    fn run(&mut self) -> i32 {
        loop {
            let now = Instant::now();
            crate::log::flush(now);
            self.feed(Event::Tick);
            if let Some(code) = self.machine.exited() {
                if let Some(r) = &mut self.recorder {
                    r.write(true);
                }
                crate::log::flush_all();
                return code;
            }
            self.run_checks(now);
            let timeout = self.timeout(Instant::now());
            match self.waiting.retry_at {
                Some(at) if Instant::now() < at => self.wait_without_poll(timeout),
                _ => self.wait_with_poll(timeout),
            }
        }
    }

    /// The normal wait: one `poll` on the signalfd and the endpoint's sockets.
    fn wait_with_poll(&mut self, timeout: i32) {
        let mut fds = std::mem::take(&mut self.fds);
        fds.clear();
        fds.push(libc::pollfd {
            fd: self.sfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        if let Some(server) = &self.server {
            server.pollfds(&mut fds);
        }
        if let Some(r) = &self.recorder {
            r.pollfds(&mut fds);
        }
        let polled = sys::poll(&mut fds, timeout);
        let signals_ready = fds[0].revents != 0;
        let result = match polled {
            Err(e) => Err(("poll", e)),
            Ok(_) if signals_ready => self.read_signals().map_err(|e| ("read the signalfd", e)),
            Ok(_) => Ok(()),
        };
        match result {
            Err((what, e)) => self.poll_failed(what, e),
            Ok(()) => {
                if self.waiting.told {
                    self.waiting.told = false;
                    warn!("PID 1 can poll again: the health endpoints answer again");
                }
                self.waiting.every = POLL_RETRY_FIRST;
                self.waiting.retry_at = None;
                // Signals and reaping first: the endpoint must never delay them. Both only when the
                // signalfd says so (every exit comes with a SIGCHLD), so that a busy endpoint costs
                // no syscalls here.
                if signals_ready {
                    self.reap();
                }
                // A notified syscall waits for its answer: before the endpoints, after signals.
                if let Some(r) = &mut self.recorder {
                    r.on_ready(&fds);
                }
                self.serve(&fds);
            }
        }
        self.fds = fds;
    }

    /// The fallback wait, with no descriptor: one signal at most, or the timeout.
    fn wait_without_poll(&mut self, timeout: i32) {
        match sys::wait_signal(timeout) {
            Ok(Some((sig, pid, code))) => self.on_signal(sig, pid, code),
            Ok(None) => {}
            // Cannot happen with a valid set; never spin on it either.
            Err(e) => {
                error!("waiting for signals failed: {e}");
                std::thread::sleep(POLL_RETRY_FIRST);
            }
        }
        self.reap();
    }

    /// `poll` or the signalfd failed (e.g. EINVAL: the program lowered PID 1's RLIMIT_NOFILE below
    /// the number of descriptors to poll). Switch to the fallback; say once what that costs.
    fn poll_failed(&mut self, what: &str, e: std::io::Error) {
        let every = self.waiting.every;
        if !self.waiting.told {
            self.waiting.told = true;
            warn!(
                reason = "poll";
                "cannot {what}: {e}; PID 1 goes on reaping, forwarding signals and stopping without \
                 descriptors, but the health endpoints (status socket, --health-listen) do not answer \
                 until it can poll again (tried after {}, then less and less often)",
                Dur(every)
            );
        }
        self.waiting.retry_at = Some(Instant::now() + every);
        self.waiting.every = (every * 2).min(POLL_RETRY_MAX);
    }

    fn read_signals(&mut self) -> std::io::Result<()> {
        // Bounded: a flood of signals cannot keep PID 1 here (the rest wait for the next turn).
        for _ in 0..1024 {
            match sys::read_signal(&self.sfd)? {
                Some((sig, pid, code)) => self.on_signal(sig, pid, code),
                None => break,
            }
        }
        Ok(())
    }

    fn serve(&mut self, fds: &[libc::pollfd]) {
        let now = Instant::now();
        let state = self.endpoint_state(now);
        // Taken out for the call so that the metrics closure can read the rest of `self`.
        if let Some(mut server) = self.server.take() {
            // Bodies are rendered only when asked for: nothing is built for them in the loop.
            server.on_ready(fds, now, &state, &|path| match path {
                "/metrics" => Some(metrics::render(&self.metrics_snapshot())),
                health::status::PATH => Some(self.status_snapshot(now, &state).json()),
                health::status::TEXT_PATH => Some(self.status_snapshot(now, &state).text()),
                _ => self.recorder.as_ref().map(record::Recorder::json),
            });
            self.server = Some(server);
        }
    }

    /// How long to sleep: until the earliest of the machine's deadline (grace, backoff), the next
    /// app check or its timeout, the end of the start period, the endpoint's connection deadlines, a
    /// log summary and a retry of `poll`. With none of them: forever, so zero idle wakeups.
    fn timeout(&self, now: Instant) -> i32 {
        let start_period_end = self.machine.started() + self.cfg.health.start_period;
        let wakeups = [
            self.machine.next_wakeup(),
            self.checker
                .as_ref()
                .filter(|_| self.machine.undisturbed())
                .map(Checker::next_wakeup),
            (start_period_end > now).then_some(start_period_end),
            self.server.as_ref().and_then(Server::next_deadline),
            crate::log::next_flush(),
            self.waiting.retry_at,
        ];
        match wakeups.into_iter().flatten().min() {
            Some(at) => crate::duration::poll_millis(at.saturating_duration_since(now)),
            None => -1,
        }
    }

    /// Gives one event to the machine and performs what it answers, and what that brings.
    fn feed(&mut self, event: Event) {
        self.follow.clear();
        self.follow.push(event);
        while let Some(event) = self.follow.pop() {
            self.actions.clear();
            self.machine.on(event, Instant::now(), &mut self.actions);
            for i in 0..self.actions.len() {
                let action = self.actions[i];
                if let Some(next) = self.perform(action) {
                    self.follow.push(next);
                }
            }
        }
    }

    fn perform(&mut self, action: Action) -> Option<Event> {
        match action {
            Action::Send { to, sig, forwarded } => self.send(to, sig, forwarded),
            Action::SignalAll(sig) => {
                self.signal_all(sig);
                None
            }
            Action::Spawn => Some(self.restart_program()),
            Action::Note(note) => {
                self.note(note);
                None
            }
            // The loop reads the machine's exit code after the turn.
            Action::Exit(_) => None,
            Action::StopSelf => {
                crate::log::flush_all();
                if let Err(e) = sys::stop_self() {
                    warn!("cannot stop pidguard itself after a job-control signal: {e}");
                }
                None
            }
            Action::Foreground => {
                if let Err(e) = sys::hand_terminal(self.own_group, self.machine.pid()) {
                    debug!("cannot give the terminal back to the program: {e}");
                }
                None
            }
        }
    }

    fn send(&mut self, to: i32, sig: i32, forwarded: bool) -> Option<Event> {
        let name = signals::static_name(sig);
        match sys::kill(to, sig) {
            Ok(()) => {
                if forwarded {
                    if let Some(n) = usize::try_from(sig)
                        .ok()
                        .and_then(|i| self.stats.forwarded.get_mut(i))
                    {
                        *n += 1;
                    }
                    debug!("forwarded {name} to {to}");
                }
                None
            }
            // A process group with nobody left in it while the program runs: the program moved
            // itself to another group (setpgid, setsid), which must not let it dodge the stop.
            Err(e)
                if e.raw_os_error() == Some(libc::ESRCH)
                    && to < 0
                    && self.machine.program_running()
                    && self.machine.pid() > 0 =>
            {
                let program = self.machine.pid();
                if self.left_group != program {
                    self.left_group = program;
                    warn!(
                        pid = program, signal = name;
                        "{name} not sent to process group {}: the program left it; sending {name} \
                         and every later signal to the program (pid {program}) itself",
                        -to
                    );
                }
                self.send(program, sig, forwarded)
            }
            // Gone between its exit and our reap: its exit is on its way.
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {
                debug!("{name} not sent to {to}: {e}");
                None
            }
            Err(e) => {
                let eperm = e.raw_os_error() == Some(libc::EPERM);
                warn!(
                    pid = to, signal = name;
                    "cannot send {name} to {to}: {e}{}",
                    if eperm {
                        " (the program runs as a user PID 1 may not signal: let pidguard switch \
                         the user with --user instead of the program)"
                    } else {
                        ""
                    }
                );
                eperm.then_some(Event::SendRefused { sig })
            }
        }
    }

    /// Writes what the machine noted, with its level and fields.
    fn note(&self, note: Note) {
        let name = |sig: i32| signals::static_name(sig);
        match note {
            Note::Stopping { sig, grace } => info!(
                signal = name(sig);
                "{} received: stopping, grace period {}",
                name(sig),
                Dur(grace)
            ),
            Note::ExitInsteadOfRestart { sig } => info!(
                signal = name(sig);
                "{} received while waiting to restart: exiting",
                name(sig)
            ),
            Note::DroppedByRewrite { sig } => debug!("{} dropped by --rewrite", name(sig)),
            Note::Suspending { sig } => debug!(
                signal = name(sig);
                "{}: stopping pidguard too, so that the shell sees the job stop",
                name(sig)
            ),
            Note::ExitNow { sig } => debug!(
                "the program ended: exiting now, {} (dumb-init's way; with --grace what is left is \
                 stopped gracefully first)",
                if sig == 0 {
                    "signalling nothing"
                } else {
                    name(sig)
                }
            ),
            Note::NotRunning { sig } => {
                debug!("{} not forwarded: the program is not running", name(sig))
            }
            Note::ProgramEnded {
                pid,
                exit,
                ran,
                expected,
                restart,
            } => self.note_end(pid, exit, ran, expected, restart),
            Note::Retry { restart: r } => warn!(
                restarts = r.count, delay_ms = crate::duration::millis(r.delay);
                "restarting in {} ({}; restart {} of at most {} within {})",
                Dur(r.delay),
                r.reason,
                r.count,
                r.limit,
                Dur(r.window)
            ),
            Note::GivingUp {
                restarts,
                window,
                code,
            } => error!(
                restarts = restarts, code = code;
                "giving up: the program was restarted {restarts} {} within {} (--restart-limit); exiting with {code}",
                if restarts == 1 { "time" } else { "times" },
                Dur(window)
            ),
            Note::UnhealthyExit => {
                info!("exiting because the program was unhealthy (--on-unhealthy exit)")
            }
            Note::StoppingUnhealthy { restart, grace } => warn!(
                pid = self.machine.pid(), reason = "unhealthy";
                "stopping the program to {} (--on-unhealthy), SIGKILL in {}",
                if restart { "restart it" } else { "exit" },
                Dur(grace)
            ),
            Note::Leftovers { left } => info!(
                "the program left processes running: sending SIGTERM, SIGKILL in {}",
                Dur(left)
            ),
            Note::GraceOver {
                grace,
                program: Some(pid),
            } => warn!(
                pid = pid, reason = "grace";
                "grace period of {} is over and the program (pid {pid}) is still shutting down: \
                 sending SIGKILL to every remaining process. If it needs longer, raise --grace (and \
                 the orchestrator's stop timeout above it); if it stops cleanly on another signal, \
                 rewrite the stop signal (postgres: --rewrite TERM:INT)",
                Dur(grace)
            ),
            Note::GraceOver {
                grace,
                program: None,
            } => warn!(
                reason = "grace";
                "grace period of {} is over: sending SIGKILL to every remaining process",
                Dur(grace)
            ),
            Note::Unkillable => error!(
                reason = "unkillable";
                "processes are left after SIGKILL (PID 1 may not signal them): exiting, so that \
                 the kernel ends every process of the container"
            ),
            Note::CannotStop { sig } => error!(
                signal = name(sig), reason = "eperm";
                "{} cannot reach the program (not permitted): exiting now, so that the kernel ends \
                 every process of the container; let pidguard switch the user (--user) so that PID 1 \
                 can stop the program gracefully",
                name(sig)
            ),
            Note::Restarted { pid } => info!(
                pid = pid;
                "restarted {:?} as pid {pid}",
                self.cfg.argv[0]
            ),
            Note::OwnLimit { sig } => error!(
                signal = name(sig), reason = "rlimit";
                "PID 1 got {} from the kernel: its own {} is reached (the program may change PID 1's \
                 limits); at the hard limit the kernel kills PID 1, and the container then ends \
                 with 128+9 and no line from pidguard",
                name(sig),
                if sig == libc::SIGXCPU { "CPU time limit (RLIMIT_CPU)" } else { "file size limit (RLIMIT_FSIZE)" }
            ),
            Note::Reaped { pid, status } => {
                if self.cfg.warn_on_reap {
                    warn!(pid = pid, code = status; "reaped zombie process {pid} (exit status {status})");
                } else {
                    debug!("reaped process {pid} (exit status {status})");
                }
            }
            Note::Exiting { code } => info!(code = code; "exiting with {code}"),
        }
    }

    /// The program's end: a warning when it died of a signal nobody asked for, or when a restart
    /// follows (a supervised service went down); info otherwise (its code goes to the orchestrator).
    fn note_end(
        &self,
        pid: i32,
        exit: Exit,
        ran: Duration,
        expected: bool,
        restart: Option<state::Restart>,
    ) {
        use std::fmt::Write as _;
        let mut how = crate::log::Buf::<256>::new();
        match exit.signal {
            Some(sig) => {
                let name = signals::static_name(sig);
                let _ = write!(how, "killed by {name}");
                if sig == libc::SIGSYS {
                    // The kernel's answer to a syscall a filter kills or traps for; pidguard's own
                    // filters answer EPERM, so a custom profile's kill action did it.
                    let _ = how.write_str(
                        " (a seccomp profile refused a syscall: the kernel log's audit line names \
                         it; `pidguard seccomp record` lists what the program needs)",
                    );
                } else if matches!(sig, 3 | 4 | 5 | 6 | 7 | 8 | 11 | 24 | 25) {
                    // The signals whose default action dumps core (signal(7)).
                    let _ = how.write_str(if exit.core_dumped {
                        " (core dumped)"
                    } else if self.core_off {
                        " (no core dump: core dumps are off, RLIMIT_CORE 0 is pidguard's default; --rlimit core=unlimited keeps them)"
                    } else {
                        " (no core dump)"
                    });
                }
            }
            None => {
                let _ = write!(how, "exited with {}", exit.code);
            }
        }
        // The code the container will end with if nothing follows: what `docker ps` shows.
        let mut ran_for = crate::log::Buf::<48>::new();
        let _ = write!(ran_for, "{}", Elapsed(ran));
        if exit.signal.is_some() {
            let _ = write!(ran_for, " (exit status {})", exit.code);
        }
        let how = how.as_str();
        let ran_for = ran_for.as_str();
        let signal = exit.signal.map(signals::static_name);
        let level = if restart.is_some() || exit.signal.is_some() && !expected {
            crate::log::Level::Warn
        } else {
            crate::log::Level::Info
        };
        let ran_ms = crate::duration::millis(ran);
        match restart {
            Some(r) => crate::__log!(
                level,
                pid = pid, code = exit.code, signal = signal, ran_ms = ran_ms,
                restarts = r.count, delay_ms = crate::duration::millis(r.delay);
                "program (pid {pid}) {how} after {ran_for}; restarting in {} ({}; restart {} of at most {} within {})",
                Dur(r.delay),
                r.reason,
                r.count,
                r.limit,
                Dur(r.window)
            ),
            None => crate::__log!(
                level,
                pid = pid, code = exit.code, signal = signal, ran_ms = ran_ms;
                "program (pid {pid}) {how} after {ran_for}"
            ),
        }
    }

    fn on_signal(&mut self, sig: i32, sender: i32, code: i32) {
        // A SIGCHLD from the kernel (si_code > 0: CLD_EXITED, CLD_KILLED, ...) means "reap"; one sent
        // with kill/sigqueue (si_code <= 0) is a signal for the program like any other.
        if sig == libc::SIGCHLD && code > 0 {
            return;
        }
        // Sent by the kernel on our behalf when PID 1, a session leader, gave up the terminal
        // (setsid mode's TIOCNOTTY): not meant for the program.
        if matches!(sig, libc::SIGHUP | libc::SIGCONT) && sender == std::process::id() as i32 {
            debug!(
                "{} from our own TIOCNOTTY ignored",
                signals::static_name(sig)
            );
            return;
        }
        debug!("received {} from pid {sender}", signals::static_name(sig));
        if sig == libc::SIGTERM
            && let Some(r) = &mut self.recorder
        {
            // Now, in case the stop ends in a SIGKILL of the whole container.
            r.write(false);
        }
        self.feed(Event::Signal {
            sig,
            kernel: code == SI_KERNEL,
        });
    }

    fn reap(&mut self) {
        use sys::{Reaped, Waited};
        loop {
            // A job-control stop of the program may be ours to follow (tini's mode).
            let (pid, exit) = match sys::reap_or_stopped() {
                Ok(Waited::Stopped { pid, sig }) => {
                    if pid == self.machine.pid() {
                        self.feed(Event::ProgramStopped { sig });
                    }
                    continue;
                }
                Ok(Waited::Reaped(Reaped::Running)) => {
                    self.feed(Event::Drained { left: true });
                    return;
                }
                Ok(Waited::Reaped(Reaped::NoChildren)) => {
                    self.feed(Event::Drained { left: false });
                    return;
                }
                Ok(Waited::Reaped(Reaped::Exited { pid, code })) => (pid, Exit::code(code)),
                Ok(Waited::Reaped(Reaped::Signaled { pid, sig, core })) => {
                    (pid, Exit::signal(sig, core))
                }
                Err(e) => {
                    // Not ECHILD, not EINTR: nothing waitpid(2) documents for these arguments. The
                    // next SIGCHLD tries again; the log limiter keeps this to a few lines.
                    error!("waitpid failed: {e}");
                    return;
                }
            };
            self.stats.zombies_reaped += 1;
            if pid == self.machine.pid() && self.machine.program_running() {
                self.feed(Event::ProgramExited(exit));
            } else if self.checker.as_ref().and_then(Checker::running) == Some(pid) {
                self.on_check_exit(exit.code);
            } else {
                self.feed(Event::Reaped {
                    pid,
                    status: exit.code,
                });
            }
        }
    }

    /// /healthz: PID 1 is supervising (not stopping). /readyz: the program runs, is past its start
    /// period or has passed a check, and its app check (if any) passes.
    fn endpoint_state(&self, now: Instant) -> State {
        let live = self.machine.live();
        let ready = live
            && self.machine.undisturbed()
            && match &self.checker {
                Some(c) => c.health() == Health::Healthy,
                None => now >= self.machine.started() + self.cfg.health.start_period,
            };
        // Why not ready, for the status socket: the failing app check's own words.
        let failing = self
            .checker
            .as_ref()
            .is_some_and(|c| c.health() != Health::Healthy);
        let reason = if !ready && failing {
            server::Line::new(&self.last_check_output)
        } else {
            server::Line::default()
        };
        State {
            live,
            ready,
            reason,
        }
    }

    /// What `pidguard status` tells, as of `now`.
    fn status_snapshot(&self, now: Instant, state: &State) -> health::status::Snapshot<'_> {
        let m = &self.machine;
        let name = |sig: i32| signals::static_name(sig);
        let (health, checks_passed, checks_failed) = match &self.checker {
            None => ("none", 0, 0),
            Some(c) => {
                // The checker is the program's last run's until a restart replaces it.
                let word = match c.health() {
                    _ if !m.program_running() => "down",
                    Health::Starting => "starting",
                    Health::Healthy => "healthy",
                    Health::Unhealthy => "unhealthy",
                };
                (word, c.passed, c.failed)
            }
        };
        health::status::Snapshot {
            fixed: &self.status,
            pid: m.pid(),
            state: m.phase_name(),
            running_for: m
                .program_running()
                .then(|| now.saturating_duration_since(m.started())),
            restart_in: m.restart_at().map(|at| at.saturating_duration_since(now)),
            restarts: m.restarts(),
            last_exit: m.last_end().map(|end| health::status::LastExit {
                code: end.exit.code,
                signal: end.exit.signal.map(name),
                core_dumped: end.exit.core_dumped,
                ran: end.ran,
                ago: now.saturating_duration_since(end.at),
            }),
            health,
            live: state.live,
            ready: state.ready,
            check_output: &self.last_check_output,
            checks_passed,
            checks_failed,
            pid1: std::process::id(),
            pid1_up: now.saturating_duration_since(self.born),
            zombies_reaped: self.stats.zombies_reaped,
            forwarded: &self.stats.forwarded,
            names: &signals::BY_NUMBER,
        }
    }

    fn metrics_snapshot(&self) -> metrics::Snapshot {
        let (passed, failed) = self
            .checker
            .as_ref()
            .map_or((0, 0), |c| (c.passed, c.failed));
        metrics::Snapshot {
            child_up: self.machine.program_running(),
            restarts: self.machine.restarts(),
            start_time: Some(self.started_unix),
            last_exit_code: self.machine.last_code(),
            zombies_reaped: self.stats.zombies_reaped,
            signals_forwarded: (1..=64)
                .zip(self.stats.forwarded.iter().skip(1))
                .filter(|&(_, &n)| n > 0)
                .map(|(s, &n)| (signals::static_name(s), n))
                .collect(),
            checks: vec![
                ("healthy", passed),
                ("unhealthy", failed - self.check_timeouts.min(failed)),
                ("timeout", self.check_timeouts),
            ],
        }
    }

    /// Runs `spawn` in the program's directory, and goes back to `/`.
    fn in_workdir<T>(&self, spawn: impl FnOnce() -> T) -> T {
        let Some(dir) = &self.workdir else {
            return spawn();
        };
        let moved = nix::unistd::chdir(dir.as_path()).is_ok();
        let out = spawn();
        if moved {
            let _ = nix::unistd::chdir("/");
        }
        out
    }

    /// Starts an app check when one is due, and kills one that ran past its timeout.
    fn run_checks(&mut self, now: Instant) {
        let wanted = self.machine.undisturbed();
        let Some(checker) = self.checker.as_mut() else {
            return;
        };
        if let Some(pid) = checker.overdue(now) {
            if sys::kill(-pid, libc::SIGKILL).is_ok() {
                self.check_timeouts += 1;
                info!(
                    pid = pid, reason = "timeout";
                    "app check (pid {pid}) timed out after {}: killed",
                    Dur(self.cfg.health.timeout)
                );
            }
            self.check_output = None;
            self.last_check_output.clear();
            use std::fmt::Write as _;
            let _ = write!(
                self.last_check_output,
                "timed out after {}",
                Dur(self.cfg.health.timeout)
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
        // Without a pipe the check would write on PID 1's stderr, past the log limiter, at every
        // interval: a check that cannot be started as planned is a failed check.
        let pipe = match sys::pipe_nonblocking_read() {
            Ok(pipe) => pipe,
            Err(e) => {
                warn!(reason = "check"; "cannot start the app check: no pipe for its output: {e}");
                self.last_check_output.clear();
                self.last_check_output
                    .push_str("not started: no pipe for its output");
                if let Some(c) = self.checker.as_mut() {
                    c.start_failed(now);
                }
                return;
            }
        };
        plan.output = Some(pipe.1.as_raw_fd());
        let spawned = self.in_workdir(|| sys::spawn(&mut plan));
        let Some(checker) = self.checker.as_mut() else {
            return;
        };
        match spawned {
            Ok(pid) => {
                trace!("app check started as pid {pid}");
                checker.started(pid, now);
                self.check_output = Some(pipe.0);
            }
            Err(e) => {
                // exec: splits on commas only: "exec:/bin/x y" names a program called "x y".
                let hint = if argv.len() == 1 && argv[0].as_bytes().contains(&b' ') {
                    " (exec: separates the program and its arguments with commas: exec:/path,arg)"
                } else {
                    ""
                };
                warn!(reason = "check"; "cannot start the app check {:?}: {e}{hint}", argv[0]);
                self.last_check_output.clear();
                use std::fmt::Write as _;
                let _ = write!(self.last_check_output, "not started: {e}{hint}");
                checker.start_failed(now);
            }
        }
    }

    fn on_check_exit(&mut self, status: i32) {
        self.take_check_output();
        if status != 0 {
            debug!(
                code = status;
                "app check failed with {status}: {}",
                self.last_check_output
            );
        }
        self.record_check(status == 0);
    }

    /// Keeps the first line of what the finished check wrote (bounded; the read never waits, since
    /// a background child of the check may still hold the pipe open).
    fn take_check_output(&mut self) {
        let Some(fd) = self.check_output.take() else {
            return;
        };
        let n = nix::unistd::read(&fd, &mut self.check_buf).unwrap_or(0);
        let text = String::from_utf8_lossy(&self.check_buf[..n]);
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("no output");
        self.last_check_output.clear();
        self.last_check_output
            .extend(line.chars().take(CHECK_OUTPUT_CHARS));
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
                    reason = "unhealthy", check = self.last_check_output.as_str();
                    "program is unhealthy: {} app checks failed in a row; the last said: {}",
                    self.cfg.health.retries, self.last_check_output
                );
                self.feed(Event::Unhealthy);
            }
            Health::Starting => {}
        }
    }

    /// Starts the program again: a fresh process group with the same identity and hardening (PID 1
    /// holds exactly the program's privileges, and the child installs the same seccomp filter), in
    /// the directory it was first given.
    fn restart_program(&mut self) -> Event {
        let mut plan = self
            .template
            .plan(self.program.0.clone(), self.program.1.clone());
        plan.foreground = self.foreground;
        plan.place = self.place;
        if let Some(r) = &self.recorder {
            match r.filter() {
                Ok(f) => plan.record = Some(f),
                Err(e) => error!("{}", e.msg),
            }
        }
        let spawned = self.in_workdir(|| sys::spawn(&mut plan));
        if let (Some(r), Some(l)) = (&mut self.recorder, plan.listener.take()) {
            r.adopt(l);
        }
        match spawned {
            Ok(pid) => {
                let now = Instant::now();
                self.started_unix = unix_now();
                self.checker = checker_for(self.cfg, now);
                Event::Spawned { pid }
            }
            Err(e) => {
                error!("restart of {:?} failed: {e}", self.cfg.argv[0]);
                Event::SpawnFailed {
                    code: e.exit_code(),
                }
            }
        }
    }

    /// Signals every descendant. As PID 1 of a PID namespace, kill(-1) reaches every other process in
    /// the namespace (kill(2)); otherwise we must not touch the host's processes, so we walk /proc for
    /// our own descendants.
    fn signal_all(&self, sig: i32) {
        if self.pid1 {
            match sys::kill(-1, sig) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                Err(e) => warn!("kill(-1, {}) failed: {e}", signals::static_name(sig)),
            }
            return;
        }
        for pid in descendants(std::process::id() as i32) {
            let _ = sys::kill(pid, sig);
        }
    }
}
