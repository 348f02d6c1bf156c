//! The PID 1 lifecycle as a pure state machine: what to do when a signal arrives, the program exits,
//! the app check turns unhealthy or a deadline passes.
//!
//! ```text
//!            spawned                      SIGTERM/SIGINT, or unhealthy (--on-unhealthy)
//!  Starting ─────────► Running ─────────────────────────────► Stopping (grace running)
//!     ▲                   │ program exits                         │ program exits   │ grace over
//!     │                   ▼                                       ▼                 ▼
//!     │               Clearing ◄──────────────────────────────────┘        SIGKILL everything
//!     │   (the program is gone; what it left gets SIGTERM, then SIGKILL at the end of the grace)
//!     │                   │ nothing left
//!     │     ┌─────────────┴──────────────┐
//!     └─ BackingOff (restart policy)   Exited(code)
//! ```
//!
//! The machine is fed [`Event`]s with the time they happen and answers with [`Action`]s (signal this
//! target, signal everything, start the program, write a log line, exit); the loop in `init/mod.rs`
//! only reads events from the kernel and performs actions. When the machine wants to be woken without
//! an event (a grace period ending, a restart's backoff), [`Machine::next_wakeup`] says when. The
//! machine owns no descriptor, no process and no clock, so every transition is tested here without
//! root and without waiting.
//!
//! **Session modes.** Besides tini's way (pidguard's default), the machine carries out dumb-init's
//! two modes ([`SessionMode`]), so that an image switched from dumb-init 1.2.5 keeps its behaviour
//! (dumb-init.c `handle_signal`, `forward_signal`, `parse_command`):
//! - the target: the program's process group in setsid mode, the program alone with `-c`;
//! - setsid mode turns TSTP/TTIN/TTOU into STOP for the group unless `-r` says otherwise
//!   ([`dumb_init_rewrites`]);
//! - a received TSTP/TTIN/TTOU is forwarded and then pidguard stops itself (when it is not PID 1,
//!   which the kernel never stops), so that the shell that runs it as a job sees the job stop;
//! - a signal is only forwarded: `-r 15:0` ignores SIGTERM, and no signal starts a stop, unless the
//!   grace is asked for (`--grace`/`PIDGUARD_GRACE`: [`Policy::graceful`]), which brings pidguard's
//!   graceful stop (SIGKILL at the end of the grace, what dumb-init #212 asked for);
//! - when the program exits, the group gets the rewritten SIGTERM and pidguard exits at once, with
//!   the program's status (as PID 1 the kernel then kills what is left), unless a restart follows
//!   or the grace is asked for (then what is left is cleared as in tini's mode).
//!
//! In tini's mode, when pidguard is not PID 1 and gave the program the terminal, a program stopped by
//! job control stops pidguard too, and SIGCONT gives the terminal back to the program, as a shell
//! does, so that `^Z` and `fg` work on `pidguard PROGRAM` run from an interactive shell.
//!
//! Nothing here allocates once the machine is built: actions go into the caller's pre-sized vector,
//! and the restart history is a ring sized for `--restart-limit` up front.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::cli::{OnUnhealthy, RestartConfig, RestartPolicy, SessionMode};

/// After SIGKILL, how often the survivors (a process forked during the kill) get it again: the first
/// wait, doubled up to the last, so that a process that cannot be killed never makes PID 1 spin.
const KILL_AGAIN_FIRST: Duration = Duration::from_millis(100);
const KILL_AGAIN_MAX: Duration = Duration::from_secs(5);
/// As PID 1, how long processes may survive SIGKILL (another uid that PID 1 may not signal) before
/// PID 1 exits anyway: the kernel then kills every process of the namespace.
pub const KILL_WAIT: Duration = Duration::from_secs(1);

pub const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;
const SIGINT: i32 = 2;
const SIGCONT: i32 = 18;
const SIGSTOP: i32 = 19;
const SIGTSTP: i32 = 20;
const SIGTTIN: i32 = 21;
const SIGTTOU: i32 = 22;
const SIGXCPU: i32 = 24;
const SIGXFSZ: i32 = 25;

/// What the machine needs of the configuration, as plain values.
#[derive(Debug, Clone)]
pub struct Policy {
    pub grace: Duration,
    /// `--restart*` and `--on-unhealthy`, as parsed.
    pub restart: RestartConfig,
    /// `-g`: signals go to the program's process group.
    pub group: bool,
    /// PID 1 of a PID namespace (else a subreaper).
    pub pid1: bool,
    /// `--rewrite` as a table: `rewrite[sig]` is what to send, 0 to drop it.
    pub rewrite: [i32; 65],
    /// `-e`: `remap[code]` makes that exit code 0.
    pub remap: [bool; 256],
    /// tini's way or one of dumb-init's: the target of signals, what stops and what exits.
    pub session: SessionMode,
    /// In dumb-init's modes, pidguard's graceful stop was asked for (`--grace` given): SIGTERM and
    /// SIGINT start it, and the program's exit clears what it left before pidguard exits. Always
    /// true in tini's mode.
    pub graceful: bool,
    /// The program was given the terminal (tini's mode, stdin a tty): its job-control stops are
    /// pidguard's too when pidguard is not PID 1.
    pub foreground: bool,
}

/// The job-control signals: a terminal asks the foreground group to stop.
fn job_control(sig: i32) -> bool {
    matches!(sig, SIGTSTP | SIGTTIN | SIGTTOU)
}

/// dumb-init's setsid mode turns TSTP/TTIN/TTOU into STOP for the program's group, unless `-r`
/// gave another rewrite for them (dumb-init.c `set_rewrite_to_sigstop_if_not_defined`): the program
/// has no terminal that could stop it, so a shell-like program would otherwise ignore a `^Z` meant
/// for the whole job. `given`: whether `-r` named that signal.
pub fn dumb_init_rewrites(
    session: SessionMode,
    rewrite: &mut [i32; 65],
    given: impl Fn(i32) -> bool,
) {
    if session != SessionMode::Setsid {
        return;
    }
    for sig in [SIGTSTP, SIGTTIN, SIGTTOU] {
        if !given(sig)
            && let Ok(i) = usize::try_from(sig)
        {
            rewrite[i] = SIGSTOP;
        }
    }
}

impl Policy {
    fn rewritten(&self, sig: i32) -> Option<i32> {
        match usize::try_from(sig).ok().and_then(|i| self.rewrite.get(i)) {
            Some(0) | None => None,
            Some(&to) => Some(to),
        }
    }
}

/// How the program ended, from `waitpid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// The exit code, or 128+N after signal N.
    pub code: i32,
    pub signal: Option<i32>,
    pub core_dumped: bool,
}

impl Exit {
    pub fn code(code: i32) -> Exit {
        Exit {
            code,
            signal: None,
            core_dumped: false,
        }
    }

    pub fn signal(sig: i32, core_dumped: bool) -> Exit {
        Exit {
            code: 128 + sig,
            signal: Some(sig),
            core_dumped,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A signal for PID 1. `kernel`: the kernel sent it (si_code SI_KERNEL), no process did. The
    /// kernel's SIGCHLD is not a signal here: it means "reap", and reaping brings the events below.
    Signal {
        sig: i32,
        kernel: bool,
    },
    ProgramExited(Exit),
    /// Another process was reaped (an orphan, an app check).
    Reaped {
        pid: i32,
        status: i32,
    },
    /// The reap loop is drained: whether any child is still alive.
    Drained {
        left: bool,
    },
    /// A wake-up: time may have reached a deadline.
    Tick,
    /// The app check's verdict turned to unhealthy.
    Unhealthy,
    /// The program was started again, after [`Action::Spawn`].
    Spawned {
        pid: i32,
    },
    /// Starting it failed; `code` is what pidguard would exit with for it.
    SpawnFailed {
        code: i32,
    },
    /// A signal the machine asked for could not be sent: the kernel said EPERM.
    SendRefused {
        sig: i32,
    },
    /// The program was stopped by this signal (`waitpid` with WUNTRACED).
    ProgramStopped {
        sig: i32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `kill(to, sig)`. `forwarded`: a signal received and passed on (counted in the metrics).
    Send {
        to: i32,
        sig: i32,
        forwarded: bool,
    },
    /// Every other process: `kill(-1)` as PID 1, else each descendant.
    SignalAll(i32),
    /// Start the program again; answer with `Spawned` or `SpawnFailed`.
    Spawn,
    Note(Note),
    /// Exit pidguard with this code.
    Exit(i32),
    /// Stop pidguard itself (`kill(getpid(), SIGSTOP)`), so that the shell running it as a job sees
    /// the job stop; never asked of PID 1 (the kernel does not stop it).
    StopSelf,
    /// Give the terminal back to the program's process group, if pidguard's group holds it (a `fg`,
    /// not a `bg`).
    Foreground,
}

/// Why the program was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM or SIGINT from outside: no restart, exit.
    Shutdown,
    /// The app check said unhealthy; then restart or exit, as `--on-unhealthy` says.
    Unhealthy(OnUnhealthy),
}

/// The restart that follows an exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restart {
    pub delay: Duration,
    pub reason: &'static str,
    /// Restarts within the window, this one included, and the bound.
    pub count: usize,
    pub limit: u32,
    pub window: Duration,
}

/// A log line the machine wants written: what happened, as data. The loop renders it with its level
/// and structured fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// Shutdown began: grace period running.
    Stopping {
        sig: i32,
        grace: Duration,
    },
    /// Shutdown while waiting to restart: exit now.
    ExitInsteadOfRestart {
        sig: i32,
    },
    DroppedByRewrite {
        sig: i32,
    },
    /// A job-control signal or stop: pidguard stops itself too.
    Suspending {
        sig: i32,
    },
    /// dumb-init's exit: the program ended; what is left of its group gets `sig` (0: nothing) and
    /// pidguard exits now.
    ExitNow {
        sig: i32,
    },
    NotRunning {
        sig: i32,
    },
    /// The program ended. `expected`: during a stop pidguard asked for.
    ProgramEnded {
        pid: i32,
        exit: Exit,
        ran: Duration,
        expected: bool,
        restart: Option<Restart>,
    },
    /// A failed start is retried.
    Retry {
        restart: Restart,
    },
    GivingUp {
        restarts: usize,
        window: Duration,
        code: i32,
    },
    UnhealthyExit,
    StoppingUnhealthy {
        restart: bool,
        grace: Duration,
    },
    /// The program is gone and left processes: SIGTERM to them, SIGKILL in `left`.
    Leftovers {
        left: Duration,
    },
    /// The grace period ended: `program` is the pid when the program itself was still running.
    GraceOver {
        grace: Duration,
        program: Option<i32>,
    },
    /// Processes survive SIGKILL (PID 1 may not signal them): PID 1 exits so the kernel ends them.
    Unkillable,
    /// The stop signal could not reach the program (EPERM): as PID 1, exit so the kernel ends it.
    CannotStop {
        sig: i32,
    },
    Restarted {
        pid: i32,
    },
    /// The kernel signalled PID 1 itself: a limit of PID 1's (RLIMIT_CPU, RLIMIT_FSIZE) is reached.
    OwnLimit {
        sig: i32,
    },
    Reaped {
        pid: i32,
        status: i32,
    },
    Exiting {
        code: i32,
    },
}

/// The grace period of a stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grace {
    /// Not started: the program exited on its own and what it left is not known yet.
    Unset,
    /// SIGKILL for everything at `until`; `termed`: what the program left got SIGTERM.
    Running { until: Instant, termed: bool },
    /// SIGKILL sent at `since`; sent again at `again` while anything is left.
    Killed {
        since: Instant,
        again: Instant,
        every: Duration,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Exit,
    Restart { at: Instant },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// [`Action::Spawn`] is out; its answer comes next.
    Starting,
    Running,
    /// The program runs and was asked to stop.
    Stopping {
        why: Stop,
        grace: Grace,
    },
    /// The program is gone; what it left is stopped before `next`.
    Clearing {
        next: Next,
        grace: Grace,
    },
    BackingOff {
        at: Instant,
    },
    Exited(i32),
}

/// How the program last ended, for `pidguard status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastEnd {
    pub exit: Exit,
    /// How long it ran; None when a restart could not start it (`exit.code` is then 125-127).
    pub ran: Option<Duration>,
    pub at: Instant,
}

/// The lifecycle of one program under PID 1.
#[derive(Debug)]
pub struct Machine {
    policy: Policy,
    phase: Phase,
    /// The program's current (or last) pid and when it started.
    pid: i32,
    started: Instant,
    last_code: Option<i32>,
    last_end: Option<LastEnd>,
    restarts: u64,
    /// Start times of the restarts within the window (at most `limit` + 1).
    recent: VecDeque<Instant>,
    /// Quick exits in a row, for the exponential backoff.
    backoff: u32,
    unhealthy_exit: bool,
    /// Whether a child is alive, as of the last drained reap; None right after the program's exit,
    /// until the reap loop has said.
    children_left: Option<bool>,
}

impl Machine {
    /// The program was started as `pid` at `now`.
    pub fn new(policy: Policy, pid: i32, now: Instant) -> Machine {
        let recent = VecDeque::with_capacity(policy.restart.limit as usize + 1);
        Machine {
            policy,
            phase: Phase::Running,
            pid,
            started: now,
            last_code: None,
            last_end: None,
            restarts: 0,
            recent,
            backoff: 0,
            unhealthy_exit: false,
            children_left: Some(true),
        }
    }

    /// The program's pid (the last one, once it is gone).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    pub fn last_code(&self) -> Option<i32> {
        self.last_code
    }

    pub fn last_end(&self) -> Option<LastEnd> {
        self.last_end
    }

    /// The phase in a word or two, for `pidguard status`.
    pub fn phase_name(&self) -> &'static str {
        match self.phase {
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Stopping {
                why: Stop::Shutdown,
                ..
            } => "stopping",
            Phase::Stopping { .. } => "stopping (unhealthy)",
            // The program is gone; what it left is being stopped.
            Phase::Clearing {
                next: Next::Exit, ..
            } => "exiting",
            Phase::Clearing { .. } => "restarting",
            Phase::BackingOff { .. } => "backing off",
            Phase::Exited(_) => "exited",
        }
    }

    /// While backing off: when the program starts again.
    pub fn restart_at(&self) -> Option<Instant> {
        match self.phase {
            Phase::BackingOff { at } => Some(at),
            _ => None,
        }
    }

    /// The program's process is alive.
    pub fn program_running(&self) -> bool {
        matches!(self.phase, Phase::Running | Phase::Stopping { .. })
    }

    /// Running and not being stopped: app checks run, readiness may be reported.
    pub fn undisturbed(&self) -> bool {
        self.phase == Phase::Running
    }

    /// PID 1 supervises (/healthz): not on its way out.
    pub fn live(&self) -> bool {
        !matches!(
            self.phase,
            Phase::Stopping {
                why: Stop::Shutdown,
                ..
            } | Phase::Clearing {
                next: Next::Exit,
                ..
            } | Phase::Exited(_)
        )
    }

    /// The code pidguard exits with, once it does.
    pub fn exited(&self) -> Option<i32> {
        match self.phase {
            Phase::Exited(code) => Some(code),
            _ => None,
        }
    }

    /// When the machine must get a `Tick` even if nothing happens.
    pub fn next_wakeup(&self) -> Option<Instant> {
        let grace = |g: &Grace| match *g {
            Grace::Unset => None,
            Grace::Running { until, .. } => Some(until),
            Grace::Killed { since, again, .. } if self.policy.pid1 => {
                Some(again.min(since + KILL_WAIT))
            }
            Grace::Killed { again, .. } => Some(again),
        };
        match &self.phase {
            Phase::Stopping { grace: g, .. } | Phase::Clearing { grace: g, .. } => grace(g),
            Phase::BackingOff { at } => Some(*at),
            _ => None,
        }
    }

    /// The signal target: the program, or its whole process group with -g or in dumb-init's setsid
    /// mode; the program alone in dumb-init's single-child mode.
    fn target(&self) -> i32 {
        let group = match self.policy.session {
            SessionMode::Tini => self.policy.group,
            SessionMode::Setsid => true,
            SessionMode::SingleChild => false,
        };
        if group { -self.pid } else { self.pid }
    }

    /// dumb-init's ways, not tini's.
    fn dumb_init(&self) -> bool {
        self.policy.session != SessionMode::Tini
    }

    /// Feeds one event that happened at `now`; the actions to perform are appended to `out`.
    pub fn on(&mut self, event: Event, now: Instant, out: &mut Vec<Action>) {
        if let Phase::Exited(_) = self.phase {
            return;
        }
        match event {
            Event::Signal { sig, kernel } => self.on_signal(sig, kernel, now, out),
            Event::ProgramExited(exit) => self.on_program_exit(exit, now, out),
            Event::Reaped { pid, status } => out.push(Action::Note(Note::Reaped { pid, status })),
            Event::Drained { left } => self.children_left = Some(left),
            Event::Tick => {}
            Event::Unhealthy => self.on_unhealthy(now, out),
            Event::Spawned { pid } => {
                self.pid = pid;
                self.started = now;
                self.restarts += 1;
                self.children_left = Some(true);
                self.phase = Phase::Running;
                out.push(Action::Note(Note::Restarted { pid }));
            }
            Event::SpawnFailed { code } => {
                self.last_code = Some(code);
                self.last_end = Some(LastEnd {
                    exit: Exit::code(code),
                    ran: None,
                    at: now,
                });
                self.started = now;
                match self.schedule_restart(now, code, "the restart failed", out) {
                    Some(restart) => {
                        out.push(Action::Note(Note::Retry { restart }));
                        self.phase = Phase::BackingOff {
                            at: now + restart.delay,
                        };
                    }
                    None => self.finish(code, out),
                }
            }
            Event::ProgramStopped { sig } => {
                // tini's mode gave the program the terminal: its stop leaves the shell that runs
                // pidguard as a job waiting on a running job with a stopped foreground group.
                let ours = !self.dumb_init() && self.policy.foreground && !self.policy.pid1;
                if ours && self.program_running() && (sig == SIGSTOP || job_control(sig)) {
                    out.push(Action::Note(Note::Suspending { sig }));
                    out.push(Action::StopSelf);
                }
            }
            Event::SendRefused { sig } => {
                // Only a refused stop matters here: the program can never be stopped by us, and
                // as PID 1 our own exit is the one way left to end it (the kernel kills the rest).
                let stopping = matches!(self.phase, Phase::Stopping { .. });
                if stopping && self.policy.pid1 && sig != SIGCONT {
                    out.push(Action::Note(Note::CannotStop { sig }));
                    let code = self.last_code.unwrap_or(128 + SIGKILL);
                    self.finish(code, out);
                }
            }
        }
        self.settle(now, out);
    }

    fn on_signal(&mut self, sig: i32, kernel: bool, now: Instant, out: &mut Vec<Action>) {
        if kernel && matches!(sig, SIGXCPU | SIGXFSZ) {
            // Meant for PID 1 itself, not for the program: say it, never forward it.
            out.push(Action::Note(Note::OwnLimit { sig }));
            return;
        }
        // tini's mode: SIGTERM/SIGINT always stop, whatever the program is sent. dumb-init's: a
        // signal is only forwarded (`-r 15:0` ignores SIGTERM), unless the grace was asked for.
        let stop = matches!(sig, SIGTERM | SIGINT)
            && (!self.dumb_init() || self.policy.graceful && self.policy.rewritten(sig).is_some());
        if stop {
            self.shutdown(sig, now, out);
        }
        self.forward(sig, stop, out);
        if self.dumb_init() && job_control(sig) && !self.policy.pid1 {
            // After the forward, dropped or not, as dumb-init does: the shell sees the job stop.
            out.push(Action::Note(Note::Suspending { sig }));
            out.push(Action::StopSelf);
        }
    }

    /// Passes a received signal on, rewritten, to the target.
    fn forward(&mut self, sig: i32, stop: bool, out: &mut Vec<Action>) {
        if !crate::signals::forwardable(sig) || matches!(self.phase, Phase::Exited(_)) {
            return;
        }
        let Some(to) = self.policy.rewritten(sig) else {
            out.push(Action::Note(Note::DroppedByRewrite { sig }));
            return;
        };
        if !self.program_running() {
            out.push(Action::Note(Note::NotRunning { sig }));
            return;
        }
        if sig == SIGCONT && !self.dumb_init() && self.policy.foreground && !self.policy.pid1 {
            // A `fg` of the stopped job: the terminal goes back to the program first.
            out.push(Action::Foreground);
        }
        let target = self.target();
        out.push(Action::Send {
            to: target,
            sig: to,
            forwarded: true,
        });
        if stop {
            // A stopped program would sleep through its stop signal until SIGKILL (systemd sends
            // SIGCONT after the stop signal for the same reason).
            out.push(Action::Send {
                to: target,
                sig: SIGCONT,
                forwarded: false,
            });
        }
    }

    /// A stop requested from outside always wins: no restart, graceful stop, exit.
    fn shutdown(&mut self, sig: i32, now: Instant, out: &mut Vec<Action>) {
        let grace = self.policy.grace;
        match &mut self.phase {
            Phase::Running => {
                out.push(Action::Note(Note::Stopping { sig, grace }));
                self.phase = Phase::Stopping {
                    why: Stop::Shutdown,
                    grace: Grace::Running {
                        until: now + grace,
                        termed: false,
                    },
                };
            }
            Phase::Stopping { why, .. } => *why = Stop::Shutdown,
            Phase::Clearing { next, grace: g } => {
                if let Next::Restart { .. } = next {
                    out.push(Action::Note(Note::ExitInsteadOfRestart { sig }));
                    *next = Next::Exit;
                }
                if *g == Grace::Unset {
                    out.push(Action::Note(Note::Stopping { sig, grace }));
                    *g = Grace::Running {
                        until: now + grace,
                        termed: false,
                    };
                }
            }
            Phase::BackingOff { .. } | Phase::Starting => {
                out.push(Action::Note(Note::ExitInsteadOfRestart { sig }));
                let code = self.last_code.unwrap_or(0);
                self.finish(code, out);
            }
            Phase::Exited(_) => {}
        }
    }

    fn on_program_exit(&mut self, exit: Exit, now: Instant, out: &mut Vec<Action>) {
        let (why, grace) = match self.phase {
            Phase::Running => (None, Grace::Unset),
            Phase::Stopping { why, grace } => (Some(why), grace),
            // A stale pid: the program of this run is already accounted for.
            _ => return,
        };
        self.last_code = Some(exit.code);
        self.last_end = Some(LastEnd {
            exit,
            ran: Some(now.saturating_duration_since(self.started)),
            at: now,
        });
        self.children_left = None;
        let (pid, ran, expected) = (
            self.pid,
            now.saturating_duration_since(self.started),
            why.is_some(),
        );
        let ended = move |restart| {
            Action::Note(Note::ProgramEnded {
                pid,
                exit,
                ran,
                expected,
                restart,
            })
        };
        let reason = match why {
            Some(Stop::Shutdown) => None,
            Some(Stop::Unhealthy(OnUnhealthy::Exit)) => {
                self.unhealthy_exit = true;
                out.push(ended(None));
                out.push(Action::Note(Note::UnhealthyExit));
                self.phase = Phase::Clearing {
                    next: Next::Exit,
                    grace,
                };
                return;
            }
            Some(Stop::Unhealthy(_)) => Some("it was unhealthy"),
            None => match self.policy.restart.policy {
                RestartPolicy::Always => Some("--restart always"),
                RestartPolicy::OnFailure if exit.code != 0 => Some("--restart on-failure"),
                _ => None,
            },
        };
        let next = match reason {
            None if self.dumb_init() && !self.policy.graceful && why.is_none() => {
                // dumb-init's exit: the rewritten SIGTERM to the group, then exit at once.
                out.push(ended(None));
                // -c: the program alone was ever signalled, and it is gone.
                let sig = match self.policy.session {
                    SessionMode::Setsid => self.policy.rewritten(SIGTERM).unwrap_or(0),
                    _ => 0,
                };
                out.push(Action::Note(Note::ExitNow { sig }));
                if sig != 0 {
                    out.push(Action::Send {
                        to: -pid,
                        sig,
                        forwarded: false,
                    });
                }
                self.finish(exit.code, out);
                return;
            }
            None => {
                out.push(ended(None));
                Next::Exit
            }
            Some(reason) => {
                // The exit line comes first, then (if so) the giving up.
                let at = out.len();
                match self.schedule_restart(now, exit.code, reason, out) {
                    Some(restart) => {
                        out.insert(at, ended(Some(restart)));
                        Next::Restart {
                            at: now + restart.delay,
                        }
                    }
                    None => {
                        out.insert(at, ended(None));
                        Next::Exit
                    }
                }
            }
        };
        self.phase = Phase::Clearing { next, grace };
    }

    /// The next start with exponential backoff, or None (and the giving-up note) past the bound.
    fn schedule_restart(
        &mut self,
        now: Instant,
        code: i32,
        reason: &'static str,
        out: &mut Vec<Action>,
    ) -> Option<Restart> {
        let p = &self.policy.restart;
        while self
            .recent
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= p.window)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= p.limit as usize {
            out.push(Action::Note(Note::GivingUp {
                restarts: self.recent.len(),
                window: p.window,
                code,
            }));
            return None;
        }
        if now.saturating_duration_since(self.started) >= p.stable {
            self.backoff = 0;
        }
        let delay = p
            .delay
            .saturating_mul(1u32.checked_shl(self.backoff).unwrap_or(u32::MAX))
            .min(p.max_delay);
        self.backoff = self.backoff.saturating_add(1).min(31);
        self.recent.push_back(now);
        Some(Restart {
            delay,
            reason,
            count: self.recent.len(),
            limit: p.limit,
            window: p.window,
        })
    }

    fn on_unhealthy(&mut self, now: Instant, out: &mut Vec<Action>) {
        let action = self.policy.restart.on_unhealthy;
        if action == OnUnhealthy::Ignore || self.phase != Phase::Running {
            return;
        }
        let grace = self.policy.grace;
        self.phase = Phase::Stopping {
            why: Stop::Unhealthy(action),
            grace: Grace::Running {
                until: now + grace,
                termed: false,
            },
        };
        out.push(Action::Note(Note::StoppingUnhealthy {
            restart: action == OnUnhealthy::Restart,
            grace,
        }));
        if let Some(sig) = self.policy.rewritten(SIGTERM) {
            let to = self.target();
            out.push(Action::Send {
                to,
                sig,
                forwarded: false,
            });
            out.push(Action::Send {
                to,
                sig: SIGCONT,
                forwarded: false,
            });
        }
    }

    /// What follows from the time and from what is left, whatever the event was.
    fn settle(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.phase {
            Phase::Stopping { why, grace } => {
                let grace = self.run_grace(grace, true, now, out);
                if let Phase::Stopping { .. } = self.phase {
                    self.phase = Phase::Stopping { why, grace };
                }
            }
            Phase::Clearing { next, grace } => {
                let Some(left) = self.children_left else {
                    return;
                };
                if !left {
                    return match next {
                        Next::Exit => self.finish(self.last_code.unwrap_or(0), out),
                        Next::Restart { at } if now >= at => {
                            self.phase = Phase::Starting;
                            out.push(Action::Spawn);
                        }
                        Next::Restart { at } => self.phase = Phase::BackingOff { at },
                    };
                }
                let grace = match grace {
                    Grace::Unset | Grace::Running { termed: false, .. } => {
                        let until = match grace {
                            Grace::Running { until, .. } => until,
                            _ => now + self.policy.grace,
                        };
                        out.push(Action::Note(Note::Leftovers {
                            left: until.saturating_duration_since(now),
                        }));
                        out.push(Action::SignalAll(SIGTERM));
                        out.push(Action::SignalAll(SIGCONT));
                        Grace::Running {
                            until,
                            termed: true,
                        }
                    }
                    g => g,
                };
                let grace = self.run_grace(grace, false, now, out);
                if let Phase::Clearing { .. } = self.phase {
                    self.phase = Phase::Clearing { next, grace };
                }
            }
            Phase::BackingOff { at } if now >= at => {
                self.phase = Phase::Starting;
                out.push(Action::Spawn);
            }
            _ => {}
        }
    }

    /// The grace period's clock: SIGKILL at its end, again with backoff while anything survives,
    /// and as PID 1 an exit once SIGKILL could not end everything.
    fn run_grace(
        &mut self,
        grace: Grace,
        program: bool,
        now: Instant,
        out: &mut Vec<Action>,
    ) -> Grace {
        match grace {
            Grace::Running { until, .. } if now >= until => {
                out.push(Action::Note(Note::GraceOver {
                    grace: self.policy.grace,
                    program: program.then_some(self.pid),
                }));
                if program {
                    out.push(Action::Send {
                        to: self.pid,
                        sig: SIGKILL,
                        forwarded: false,
                    });
                }
                out.push(Action::SignalAll(SIGKILL));
                Grace::Killed {
                    since: now,
                    again: now + KILL_AGAIN_FIRST,
                    every: KILL_AGAIN_FIRST,
                }
            }
            Grace::Killed { since, .. } if self.policy.pid1 && now >= since + KILL_WAIT => {
                out.push(Action::Note(Note::Unkillable));
                let code = if program {
                    128 + SIGKILL
                } else {
                    self.last_code.unwrap_or(0)
                };
                self.finish(code, out);
                grace
            }
            Grace::Killed {
                since,
                again,
                every,
            } if now >= again => {
                out.push(Action::SignalAll(SIGKILL));
                let every = (every * 2).min(KILL_AGAIN_MAX);
                Grace::Killed {
                    since,
                    again: now + every,
                    every,
                }
            }
            g => g,
        }
    }

    /// pidguard's exit code: the program's status after --remap-exit; never 0 after
    /// --on-unhealthy exit.
    fn finish(&mut self, code: i32, out: &mut Vec<Action>) {
        let remapped = usize::try_from(code).is_ok_and(|c| self.policy.remap.get(c) == Some(&true));
        let code = if remapped { 0 } else { code };
        let code = if self.unhealthy_exit && code == 0 {
            1
        } else {
            code
        };
        self.phase = Phase::Exited(code);
        out.push(Action::Note(Note::Exiting { code }));
        out.push(Action::Exit(code));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);
    const MS: Duration = Duration::from_millis(1);

    fn policy() -> Policy {
        let mut rewrite = [0; 65];
        for (s, r) in (0..).zip(rewrite.iter_mut()) {
            *r = s;
        }
        Policy {
            grace: 8 * S,
            restart: RestartConfig {
                policy: RestartPolicy::No,
                delay: 500 * MS,
                max_delay: 60 * S,
                stable: 10 * S,
                limit: 3,
                window: 60 * S,
                on_unhealthy: OnUnhealthy::Ignore,
            },
            group: false,
            pid1: true,
            rewrite,
            remap: [false; 256],
            session: SessionMode::Tini,
            graceful: true,
            foreground: false,
        }
    }

    /// dumb-init's mode as `init::policy` builds it: no `--grace`, its TSTP/TTIN/TTOU rewrites.
    fn dumb(session: SessionMode, pid1: bool) -> Policy {
        let mut p = policy();
        p.session = session;
        p.graceful = false;
        p.pid1 = pid1;
        dumb_init_rewrites(session, &mut p.rewrite, |_| false);
        p
    }

    /// A machine and the actions of each step, with notes left out unless asked for.
    struct T {
        m: Machine,
        t0: Instant,
    }

    impl T {
        fn new(p: Policy) -> T {
            let t0 = Instant::now();
            T {
                m: Machine::new(p, 7, t0),
                t0,
            }
        }
        fn all(&mut self, e: Event, at: Duration) -> Vec<Action> {
            let mut out = Vec::new();
            self.m.on(e, self.t0 + at, &mut out);
            out
        }
        fn on(&mut self, e: Event, at: Duration) -> Vec<Action> {
            let mut v = self.all(e, at);
            v.retain(|a| !matches!(a, Action::Note(_)));
            v
        }
        fn notes(&mut self, e: Event, at: Duration) -> Vec<Note> {
            self.all(e, at)
                .into_iter()
                .filter_map(|a| match a {
                    Action::Note(n) => Some(n),
                    _ => None,
                })
                .collect()
        }
    }

    fn sig(sig: i32) -> Event {
        Event::Signal { sig, kernel: false }
    }

    fn send(to: i32, sig: i32, forwarded: bool) -> Action {
        Action::Send { to, sig, forwarded }
    }

    #[test]
    fn a_signal_is_forwarded_to_the_program_or_its_group() {
        let mut t = T::new(policy());
        assert_eq!(t.on(sig(10), S), [send(7, 10, true)]);
        assert_eq!(
            t.on(sig(9), S),
            [],
            "SIGKILL cannot be caught, so never forwarded"
        );
        let mut p = policy();
        p.group = true;
        p.rewrite[10] = 12;
        p.rewrite[1] = 0;
        let mut t = T::new(p);
        assert_eq!(t.on(sig(10), S), [send(-7, 12, true)]);
        assert_eq!(t.notes(sig(1), S), [Note::DroppedByRewrite { sig: 1 }]);
        assert!(t.m.undisturbed() && t.m.live());
    }

    #[test]
    fn shutdown_forwards_then_wakes_a_stopped_program_then_exits_with_its_status() {
        let mut t = T::new(policy());
        let a = t.all(sig(15), S);
        assert_eq!(
            a,
            [
                Action::Note(Note::Stopping {
                    sig: 15,
                    grace: 8 * S
                }),
                send(7, 15, true),
                send(7, 18, false),
            ]
        );
        assert!(!t.m.live() && t.m.program_running() && !t.m.undisturbed());
        assert_eq!(t.m.phase_name(), "stopping");
        assert_eq!(t.m.next_wakeup(), Some(t.t0 + 9 * S));
        assert_eq!(
            t.on(Event::ProgramExited(Exit::signal(15, false)), 2 * S),
            []
        );
        assert_eq!(
            t.on(Event::Drained { left: false }, 2 * S),
            [Action::Exit(143)]
        );
        assert_eq!(t.m.exited(), Some(143));
    }

    #[test]
    fn rewritten_stop_signal_is_what_the_program_gets() {
        let mut p = policy();
        p.rewrite[15] = 2;
        let mut t = T::new(p);
        assert_eq!(t.on(sig(15), S), [send(7, 2, true), send(7, 18, false)]);
    }

    #[test]
    fn grace_over_kills_everything_warns_and_names_the_program() {
        let mut t = T::new(policy());
        t.on(sig(15), S);
        assert_eq!(t.on(Event::Tick, 8 * S), [], "not before the deadline");
        let a = t.all(Event::Tick, 9 * S);
        assert_eq!(
            a,
            [
                Action::Note(Note::GraceOver {
                    grace: 8 * S,
                    program: Some(7)
                }),
                send(7, 9, false),
                Action::SignalAll(9),
            ]
        );
        t.on(Event::ProgramExited(Exit::signal(9, false)), 9 * S);
        assert_eq!(
            t.on(Event::Drained { left: false }, 9 * S),
            [Action::Exit(137)]
        );
    }

    #[test]
    fn second_sigterm_is_forwarded_without_restarting_the_grace() {
        let mut t = T::new(policy());
        t.on(sig(15), S);
        assert_eq!(
            t.on(sig(15), 3 * S),
            [send(7, 15, true), send(7, 18, false)]
        );
        assert_eq!(t.m.next_wakeup(), Some(t.t0 + 9 * S));
    }

    #[test]
    fn leftovers_of_a_program_that_exited_get_sigterm_then_sigkill() {
        let mut t = T::new(policy());
        assert_eq!(
            t.on(Event::ProgramExited(Exit::code(0)), S),
            [],
            "waits for the reap loop"
        );
        let a = t.all(Event::Drained { left: true }, S);
        assert_eq!(
            a,
            [
                Action::Note(Note::Leftovers { left: 8 * S }),
                Action::SignalAll(15),
                Action::SignalAll(18),
            ]
        );
        assert!(!t.m.live());
        assert_eq!(t.on(sig(10), 2 * S), [], "nothing to forward to");
        assert_eq!(t.on(Event::Tick, 9 * S), [Action::SignalAll(9)]);
        // A process forked during the kill gets it again, less and less often.
        assert_eq!(t.m.next_wakeup(), Some(t.t0 + 9 * S + 100 * MS));
        assert_eq!(
            t.on(Event::Drained { left: false }, 9 * S),
            [Action::Exit(0)]
        );
    }

    #[test]
    fn sigkill_again_backs_off_when_not_pid1_and_pid1_exits_when_processes_survive() {
        let mut p = policy();
        p.pid1 = false;
        let mut t = T::new(p);
        t.on(Event::ProgramExited(Exit::code(0)), S);
        t.on(Event::Drained { left: true }, S);
        t.on(Event::Tick, 9 * S);
        let mut at = 9 * S;
        let mut gaps = Vec::new();
        for _ in 0..8 {
            let next = t.m.next_wakeup().unwrap() - t.t0;
            gaps.push((next - at).as_millis());
            at = next;
            assert_eq!(t.on(Event::Tick, at), [Action::SignalAll(9)]);
        }
        assert_eq!(gaps, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);

        let mut t = T::new(policy());
        t.on(Event::ProgramExited(Exit::code(3)), S);
        t.on(Event::Drained { left: true }, S);
        t.on(Event::Tick, 9 * S);
        assert_eq!(t.m.next_wakeup(), Some(t.t0 + 9 * S + 100 * MS));
        t.on(Event::Tick, 9 * S + 500 * MS);
        let notes = t.notes(Event::Tick, 10 * S);
        assert_eq!(notes, [Note::Unkillable, Note::Exiting { code: 3 }]);
        assert_eq!(t.m.exited(), Some(3));
    }

    #[test]
    fn a_refused_stop_signal_ends_pid1_at_once_so_the_kernel_ends_the_program() {
        let mut t = T::new(policy());
        t.on(sig(15), S);
        let notes = t.notes(Event::SendRefused { sig: 15 }, S);
        assert_eq!(
            notes,
            [Note::CannotStop { sig: 15 }, Note::Exiting { code: 137 }]
        );
        // Not PID 1: nothing to do but wait for the grace; a refused forward outside a stop is only
        // the loop's warning.
        let mut p = policy();
        p.pid1 = false;
        let mut t = T::new(p);
        assert_eq!(t.all(Event::SendRefused { sig: 10 }, S), []);
        t.on(sig(15), S);
        assert_eq!(t.all(Event::SendRefused { sig: 15 }, S), []);
        assert_eq!(t.m.exited(), None);
    }

    #[test]
    fn unexpected_death_and_its_restart_are_one_note_with_everything() {
        let mut p = policy();
        p.restart.policy = RestartPolicy::OnFailure;
        let mut t = T::new(p);
        let notes = t.notes(Event::ProgramExited(Exit::signal(11, false)), 3 * S);
        let restart = Restart {
            delay: 500 * MS,
            reason: "--restart on-failure",
            count: 1,
            limit: 3,
            window: 60 * S,
        };
        assert_eq!(
            notes,
            [Note::ProgramEnded {
                pid: 7,
                exit: Exit::signal(11, false),
                ran: 3 * S,
                expected: false,
                restart: Some(restart),
            }]
        );
        assert!(t.m.live() && !t.m.program_running());
        // What `pidguard status` tells.
        let end = LastEnd {
            exit: Exit::signal(11, false),
            ran: Some(3 * S),
            at: t.t0 + 3 * S,
        };
        assert_eq!(t.m.last_end(), Some(end));
        assert_eq!(t.m.phase_name(), "restarting");
        // Nothing left: wait for the delay, then start.
        assert_eq!(t.on(Event::Drained { left: false }, 3 * S), []);
        assert_eq!(t.m.next_wakeup(), Some(t.t0 + 3500 * MS));
        assert_eq!(t.m.phase_name(), "backing off");
        assert_eq!(t.m.restart_at(), Some(t.t0 + 3500 * MS));
        assert_eq!(t.on(Event::Tick, 3500 * MS), [Action::Spawn]);
        assert_eq!(t.m.phase_name(), "starting");
        assert_eq!(
            t.notes(Event::Spawned { pid: 8 }, 3500 * MS),
            [Note::Restarted { pid: 8 }]
        );
        assert_eq!((t.m.pid(), t.m.restarts()), (8, 1));
        assert!(t.m.undisturbed());
        assert_eq!((t.m.phase_name(), t.m.restart_at()), ("running", None));
        assert_eq!(t.m.last_end(), Some(end), "kept across the restart");
    }

    #[test]
    fn backoff_doubles_resets_after_a_stable_run_and_gives_up_past_the_limit() {
        let mut p = policy();
        p.restart.policy = RestartPolicy::Always;
        let mut t = T::new(p);
        let mut delays = Vec::new();
        let mut now = S;
        for pid in 8..11 {
            let notes = t.notes(Event::ProgramExited(Exit::code(4)), now);
            let Some(Note::ProgramEnded {
                restart: Some(r), ..
            }) = notes.first()
            else {
                panic!("{notes:?}")
            };
            delays.push(r.delay.as_millis());
            t.on(Event::Drained { left: false }, now);
            now += r.delay;
            assert_eq!(t.on(Event::Tick, now), [Action::Spawn]);
            t.on(Event::Spawned { pid }, now);
        }
        assert_eq!(delays, [500, 1000, 2000]);
        let notes = t.notes(Event::ProgramExited(Exit::code(4)), now);
        assert!(
            matches!(notes[0], Note::ProgramEnded { restart: None, .. }),
            "{notes:?}"
        );
        assert_eq!(
            notes[1],
            Note::GivingUp {
                restarts: 3,
                window: 60 * S,
                code: 4
            }
        );
        assert_eq!(t.on(Event::Drained { left: false }, now), [Action::Exit(4)]);

        // A run longer than --restart-stable resets the delay.
        let mut p = policy();
        p.restart.policy = RestartPolicy::Always;
        p.restart.limit = 100;
        let mut t = T::new(p);
        t.on(Event::ProgramExited(Exit::code(0)), S);
        t.on(Event::Drained { left: false }, S);
        t.on(Event::Tick, 2 * S);
        t.on(Event::Spawned { pid: 8 }, 2 * S);
        let notes = t.notes(Event::ProgramExited(Exit::code(0)), 30 * S);
        assert!(
            matches!(notes[0], Note::ProgramEnded { restart: Some(Restart { delay, .. }), .. } if delay == 500 * MS),
            "{notes:?}"
        );
    }

    #[test]
    fn on_failure_does_not_restart_a_clean_exit() {
        let mut p = policy();
        p.restart.policy = RestartPolicy::OnFailure;
        let mut t = T::new(p);
        t.on(Event::ProgramExited(Exit::code(0)), S);
        assert_eq!(t.on(Event::Drained { left: false }, S), [Action::Exit(0)]);
    }

    #[test]
    fn sigterm_while_backing_off_exits_at_once_with_the_last_status() {
        let mut p = policy();
        p.restart.policy = RestartPolicy::Always;
        p.restart.delay = 600 * S;
        let mut t = T::new(p);
        t.on(Event::ProgramExited(Exit::code(6)), S);
        t.on(Event::Drained { left: false }, S);
        let notes = t.notes(sig(15), 2 * S);
        assert_eq!(
            notes,
            [
                Note::ExitInsteadOfRestart { sig: 15 },
                Note::Exiting { code: 6 },
            ]
        );
        assert_eq!(t.m.exited(), Some(6));
    }

    #[test]
    fn sigterm_while_leftovers_of_a_restart_are_cleared_exits_instead() {
        let mut p = policy();
        p.restart.policy = RestartPolicy::Always;
        let mut t = T::new(p);
        t.on(Event::ProgramExited(Exit::code(1)), S);
        t.on(Event::Drained { left: true }, S);
        let notes = t.notes(sig(15), 2 * S);
        assert_eq!(
            notes,
            [
                Note::ExitInsteadOfRestart { sig: 15 },
                Note::NotRunning { sig: 15 }
            ]
        );
        assert_eq!(
            t.on(Event::Drained { left: false }, 3 * S),
            [Action::Exit(1)]
        );
    }

    #[test]
    fn unhealthy_restart_stops_like_docker_stop_then_starts_again() {
        let mut p = policy();
        p.restart.on_unhealthy = OnUnhealthy::Restart;
        p.grace = 300 * MS;
        p.rewrite[15] = 3;
        let mut t = T::new(p);
        assert_eq!(
            t.on(Event::Unhealthy, S),
            [send(7, 3, false), send(7, 18, false)]
        );
        assert!(t.m.live() && !t.m.undisturbed(), "live, but no more checks");
        assert_eq!(t.on(Event::Unhealthy, S), [], "once");
        let notes = t.notes(Event::ProgramExited(Exit::signal(3, true)), 1100 * MS);
        assert!(
            matches!(
                notes[0],
                Note::ProgramEnded {
                    expected: true,
                    restart: Some(Restart {
                        reason: "it was unhealthy",
                        ..
                    }),
                    ..
                }
            ),
            "{notes:?}"
        );
        t.on(Event::Drained { left: false }, 1100 * MS);
        assert_eq!(t.on(Event::Tick, 1600 * MS), [Action::Spawn]);
    }

    #[test]
    fn unhealthy_exit_is_never_zero_and_ignore_does_nothing() {
        let mut p = policy();
        p.restart.on_unhealthy = OnUnhealthy::Exit;
        p.restart.policy = RestartPolicy::Always;
        let mut t = T::new(p);
        t.on(Event::Unhealthy, S);
        t.on(Event::ProgramExited(Exit::code(0)), 2 * S);
        assert_eq!(
            t.on(Event::Drained { left: false }, 2 * S),
            [Action::Exit(1)]
        );

        let mut t = T::new(policy());
        assert_eq!(t.all(Event::Unhealthy, S), []);
        assert!(t.m.undisturbed());
    }

    #[test]
    fn a_sigterm_during_an_unhealthy_stop_turns_it_into_shutdown() {
        let mut p = policy();
        p.restart.on_unhealthy = OnUnhealthy::Restart;
        p.restart.policy = RestartPolicy::Always;
        let mut t = T::new(p);
        t.on(Event::Unhealthy, S);
        t.on(sig(15), 2 * S);
        assert!(!t.m.live());
        assert_eq!(
            t.m.next_wakeup(),
            Some(t.t0 + 9 * S),
            "the first grace holds"
        );
        t.on(Event::ProgramExited(Exit::code(0)), 3 * S);
        assert_eq!(
            t.on(Event::Drained { left: false }, 3 * S),
            [Action::Exit(0)]
        );
    }

    #[test]
    fn a_failed_restart_is_retried_with_backoff() {
        let mut p = policy();
        p.restart.policy = RestartPolicy::Always;
        p.restart.limit = 2;
        let mut t = T::new(p);
        t.on(Event::ProgramExited(Exit::code(1)), S);
        t.on(Event::Drained { left: false }, S);
        assert_eq!(t.on(Event::Tick, 2 * S), [Action::Spawn]);
        let notes = t.notes(Event::SpawnFailed { code: 125 }, 2 * S);
        let end = t.m.last_end().unwrap();
        assert_eq!((end.exit.code, end.ran), (125, None), "not started");
        assert!(
            matches!(
                notes[0],
                Note::Retry {
                    restart: Restart { count: 2, .. }
                }
            ),
            "{notes:?}"
        );
        assert_eq!(t.m.next_wakeup(), Some(t.t0 + 3 * S), "the delay doubled");
        assert_eq!(t.on(Event::Tick, 3 * S), [Action::Spawn]);
        assert_eq!(
            t.on(Event::SpawnFailed { code: 125 }, 3 * S),
            [Action::Exit(125)]
        );
    }

    #[test]
    fn remapped_exit_codes_become_zero() {
        let mut p = policy();
        p.remap[143] = true;
        let mut t = T::new(p);
        t.on(sig(15), S);
        t.on(Event::ProgramExited(Exit::signal(15, false)), S);
        assert_eq!(t.on(Event::Drained { left: false }, S), [Action::Exit(0)]);
    }

    #[test]
    fn kernel_signals_for_pid1_itself_are_reported_not_forwarded() {
        let mut t = T::new(policy());
        let a = t.all(
            Event::Signal {
                sig: 24,
                kernel: true,
            },
            S,
        );
        assert_eq!(a, [Action::Note(Note::OwnLimit { sig: 24 })]);
        assert_eq!(
            t.on(sig(24), S),
            [send(7, 24, true)],
            "from a process: forwarded"
        );
    }

    #[test]
    fn reaped_orphans_are_noted_and_change_nothing() {
        let mut t = T::new(policy());
        let a = t.all(Event::Reaped { pid: 30, status: 0 }, S);
        assert_eq!(a, [Action::Note(Note::Reaped { pid: 30, status: 0 })]);
        assert!(t.m.undisturbed());
        assert_eq!(t.m.next_wakeup(), None, "an idle PID 1 sleeps");
    }

    #[test]
    fn setsid_mode_signals_the_group_single_child_the_program_alone() {
        let mut t = T::new(dumb(SessionMode::Setsid, true));
        assert_eq!(t.on(sig(10), S), [send(-7, 10, true)]);
        let mut t = T::new(dumb(SessionMode::SingleChild, true));
        assert_eq!(t.on(sig(10), S), [send(7, 10, true)]);
        let mut p = dumb(SessionMode::SingleChild, true);
        p.group = true;
        let mut t = T::new(p);
        assert_eq!(t.on(sig(10), S), [send(7, 10, true)], "-c wins over -g");
    }

    #[test]
    fn setsid_mode_rewrites_job_control_to_stop_unless_told_otherwise() {
        let mut r = policy().rewrite;
        dumb_init_rewrites(SessionMode::Setsid, &mut r, |s| s == SIGTTIN);
        assert_eq!((r[20], r[21], r[22], r[15]), (19, 21, 19, 15));
        let mut r = policy().rewrite;
        dumb_init_rewrites(SessionMode::SingleChild, &mut r, |_| false);
        assert_eq!((r[20], r[21], r[22]), (20, 21, 22));
        dumb_init_rewrites(SessionMode::Tini, &mut r, |_| false);
        assert_eq!((r[20], r[21], r[22]), (20, 21, 22));
    }

    #[test]
    fn job_control_signals_stop_pidguard_after_the_forward_unless_pid1() {
        let mut t = T::new(dumb(SessionMode::Setsid, false));
        assert_eq!(t.on(sig(20), S), [send(-7, 19, true), Action::StopSelf]);
        assert_eq!(t.on(sig(18), S), [send(-7, 18, true)]);
        let mut t = T::new(dumb(SessionMode::SingleChild, false));
        assert_eq!(t.on(sig(21), S), [send(7, 21, true), Action::StopSelf]);
        let mut p = dumb(SessionMode::SingleChild, false);
        p.rewrite[20] = 0;
        let mut t = T::new(p);
        assert_eq!(t.on(sig(20), S), [Action::StopSelf], "dropped, still stops");
        let mut t = T::new(dumb(SessionMode::Setsid, true));
        assert_eq!(t.on(sig(20), S), [send(-7, 19, true)], "PID 1 never stops");
        let mut p = policy();
        p.pid1 = false;
        let mut t = T::new(p);
        assert_eq!(
            t.on(sig(20), S),
            [send(7, 20, true)],
            "tini's mode forwards only"
        );
    }

    #[test]
    fn tini_mode_with_the_terminal_follows_the_program_stop_and_hands_it_back() {
        let mut p = policy();
        p.pid1 = false;
        p.foreground = true;
        let mut t = T::new(p.clone());
        let stopped = |s| Event::ProgramStopped { sig: s };
        assert_eq!(t.on(stopped(20), S), [Action::StopSelf]);
        assert_eq!(t.on(stopped(19), S), [Action::StopSelf]);
        assert_eq!(t.on(sig(18), S), [Action::Foreground, send(7, 18, true)]);
        p.foreground = false;
        let mut t = T::new(p.clone());
        assert_eq!(
            t.on(stopped(20), S),
            [],
            "no terminal given: not ours to follow"
        );
        assert_eq!(t.on(sig(18), S), [send(7, 18, true)]);
        p.foreground = true;
        p.pid1 = true;
        let mut t = T::new(p);
        assert_eq!(t.on(stopped(20), S), []);
        let mut t = T::new(dumb(SessionMode::SingleChild, false));
        assert_eq!(
            t.on(stopped(20), S),
            [],
            "dumb-init's modes stop on the signal"
        );
    }

    #[test]
    fn dumb_init_mode_only_forwards_sigterm_and_rewrite_to_zero_ignores_it() {
        for mode in [SessionMode::Setsid, SessionMode::SingleChild] {
            let mut t = T::new(dumb(mode, true));
            let to = if mode == SessionMode::Setsid { -7 } else { 7 };
            assert_eq!(t.on(sig(15), S), [send(to, 15, true)]);
            assert_eq!(t.on(sig(2), S), [send(to, 2, true)]);
            assert!(t.m.live() && t.m.undisturbed(), "no stop began");
            assert_eq!(t.m.next_wakeup(), None, "no grace, no SIGKILL");
            let mut p = dumb(mode, true);
            p.rewrite[15] = 0;
            let mut t = T::new(p);
            assert_eq!(t.notes(sig(15), S), [Note::DroppedByRewrite { sig: 15 }]);
            assert!(t.m.undisturbed() && t.m.next_wakeup().is_none());
        }
    }

    #[test]
    fn dumb_init_mode_with_a_grace_stops_gracefully_unless_sigterm_is_dropped() {
        let mut p = dumb(SessionMode::Setsid, true);
        p.graceful = true;
        let mut t = T::new(p.clone());
        assert_eq!(t.on(sig(15), S), [send(-7, 15, true), send(-7, 18, false)]);
        assert_eq!(t.m.next_wakeup(), Some(t.t0 + 9 * S));
        p.rewrite[15] = 0;
        let mut t = T::new(p);
        assert_eq!(t.on(sig(15), S), []);
        assert!(t.m.undisturbed() && t.m.next_wakeup().is_none());
        // tini's mode keeps pidguard's meaning: dropped for the program, still a stop.
        let mut p = policy();
        p.rewrite[15] = 0;
        let mut t = T::new(p);
        assert_eq!(t.on(sig(15), S), []);
        assert!(!t.m.live() && t.m.next_wakeup().is_some());
    }

    #[test]
    fn dumb_init_exit_sends_the_rewritten_sigterm_to_the_group_and_exits_at_once() {
        let mut p = dumb(SessionMode::Setsid, true);
        p.rewrite[15] = 1;
        let mut t = T::new(p);
        assert_eq!(
            t.on(Event::ProgramExited(Exit::code(3)), S),
            [send(-7, 1, false), Action::Exit(3)]
        );
        assert_eq!(t.m.exited(), Some(3));
        let mut p = dumb(SessionMode::Setsid, true);
        p.rewrite[15] = 0;
        let mut t = T::new(p);
        assert_eq!(
            t.on(Event::ProgramExited(Exit::signal(2, false)), S),
            [Action::Exit(130)]
        );
        let mut t = T::new(dumb(SessionMode::SingleChild, false));
        assert_eq!(
            t.on(Event::ProgramExited(Exit::code(0)), S),
            [Action::Exit(0)],
            "-c: nobody else is signalled"
        );
        // With a restart, or with --grace, what is left is cleared as in tini's mode.
        let mut p = dumb(SessionMode::Setsid, true);
        p.restart.policy = RestartPolicy::Always;
        let mut t = T::new(p);
        assert_eq!(t.on(Event::ProgramExited(Exit::code(1)), S), []);
        assert_eq!(
            t.on(Event::Drained { left: true }, S),
            [Action::SignalAll(15), Action::SignalAll(18)]
        );
        let mut p = dumb(SessionMode::Setsid, true);
        p.graceful = true;
        let mut t = T::new(p);
        assert_eq!(t.on(Event::ProgramExited(Exit::code(1)), S), []);
        assert_eq!(t.m.exited(), None);
    }
}
