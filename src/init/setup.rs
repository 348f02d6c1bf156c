//! The root-first steps (`--setup PROGRAM`): what an official image's entrypoint script does as root
//! before `exec gosu app "$@"` (chown a volume, read a root-only secret, render a config), run by
//! PID 1 before it drops anything, each step to completion and in order, as s6-overlay runs its
//! `cont-init.d` scripts.
//!
//! A step runs as the identity pidguard started with, but not with what PID 1 holds: the child
//! lowers itself (in `sys::exec_child`, plain syscalls on data prepared here) to the step's
//! capabilities only (`--setup-cap`, default CHOWN, DAC_OVERRIDE and FOWNER: what `chown -R app
//! /data` and writing into someone else's directory need), shrinks its bounding set, sets
//! no_new_privs and installs the program's seccomp filter. Starting as root, `execve` would give the
//! step every capability of the bounding set back (capabilities(7), "Capabilities and execution of
//! programs by root"); no_new_privs makes the kernel keep the permitted set within what the process
//! had before the exec (security/commoncap.c, `cap_bprm_creds_from_file`), so the step runs with
//! exactly the capabilities planned here, whatever the file.
//!
//! A capability the container does not have is refused before the first step runs (125), as
//! `--cap-add` is: a step that silently lacks CAP_CHOWN would fail later, far from the cause. A
//! non-root start (OpenShift, `runAsUser`, `docker run --user`) skips the steps, said at info level:
//! they are root work, which that identity cannot do (a `chown` would fail and stop the container),
//! and the platform that chose the identity also prepares its volumes (Kubernetes' `fsGroup`,
//! OpenShift's group 0). Official images' entrypoint scripts do the same (`if [ "$(id -u)" = 0 ]`).
//!
//! A step is a command, split at spaces: `--setup "/bin/chown -R 65532 /data"`, so that migrating an
//! image whose script did one `chown` changes only its ENTRYPOINT line. There is no shell and no
//! quoting (what needs more is a script), and no comma inside: a repeatable option's variable is a
//! comma-separated list (`PIDGUARD_SETUP=/bin/chown -R 65532 /data,/usr/local/bin/render`), which is
//! also why `--health-check exec:`'s comma-separated form does not fit here. Its output goes where
//! PID 1's goes: the container's log.
//!
//! While a step runs, PID 1 waits for signals with `sigtimedwait` (every signal is blocked already):
//! SIGCHLD reaps, every other signal is forwarded to the step's process group, and SIGTERM or SIGINT
//! also means "stop": the step gets --grace to end, then SIGKILL, and pidguard exits with 128+N
//! without starting the program. A step that fails (non-zero exit or death by a signal) stops
//! pidguard with 125, naming the step and its status. Processes a step leaves behind get SIGTERM,
//! then SIGKILL after --grace, and are reaped: nothing started with the set-up's capabilities
//! outlives it into the program's life.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use caps::Capability;

use crate::cli::RunConfig;
use crate::error::SetupError;
use crate::harden::kernel::{self, Current};
use crate::sys::{self, ChildCaps};
use crate::{info, signals, warn};

use super::spawn::{cstring, search_path};

/// The capabilities every set-up step keeps.
pub type CapPlan = ChildCaps;

fn names(mask: u64) -> String {
    let list: Vec<String> = crate::limits::ALL_CAPS
        .iter()
        .filter(|c| mask & c.bitmask() != 0)
        .map(|c| c.to_string().trim_start_matches("CAP_").to_string())
        .collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(",")
    }
}

/// The plan of a step's capability sets: a pure function of `--setup-cap` and the state pidguard
/// started in. `None` for a non-root start, whose steps are skipped; root must have every
/// capability asked for.
pub fn plan_caps(wanted: &[Capability], now: &Current) -> Result<Option<CapPlan>, SetupError> {
    if now.uid.iter().any(|&u| u != 0) {
        return Ok(None);
    }
    let all = if now.last_cap >= 63 {
        u64::MAX
    } else {
        (1u64 << (now.last_cap + 1)) - 1
    };
    let asked = crate::limits::cap_mask(wanted) & all;
    let missing = asked & !now.caps.permitted;
    if missing != 0 {
        return Err(SetupError::setup(format!(
            "--setup-cap: the container does not have {} for the set-up steps (pidguard's permitted \
             set lacks it); add it to the container (docker run --cap-add {}) or leave it out of \
             --setup-cap",
            names(missing),
            names(missing)
        )));
    }
    let setpcap = now.caps.effective & Capability::CAP_SETPCAP.bitmask() != 0;
    Ok(Some(ChildCaps {
        keep: asked,
        drop_bounding: if setpcap { now.bounding & !asked } else { 0 },
        last_cap: now.last_cap,
    }))
}

/// One step, resolved before the first one runs (a typo in the second must not let the first run).
struct Step {
    shown: String,
    paths: Vec<CString>,
    argv: Vec<CString>,
}

/// Everything the steps share with the program: its start (environment, mask, dispositions) and
/// its seccomp filter.
pub(super) struct Context<'a> {
    pub sigmask: libc::sigset_t,
    pub reignore: &'a [libc::c_int],
    pub filters: &'a [Vec<libc::sock_filter>],
    pub pid1: bool,
}

fn resolve(cfg: &RunConfig) -> Result<Vec<Step>, SetupError> {
    let path = std::env::var_os("PATH");
    cfg.setup
        .iter()
        .map(|argv| {
            let shown = argv.join(" ");
            let found = search_path(std::ffi::OsStr::new(&argv[0]), path.as_deref());
            if found.is_empty() {
                return Err(SetupError::setup(format!(
                    "--setup {shown:?}: {:?} not found in PATH; give the absolute path of an \
                     executable",
                    argv[0]
                )));
            }
            let paths = found
                .iter()
                .map(|p| cstring(p.as_os_str().as_bytes(), "--setup"))
                .collect::<Result<_, _>>()?;
            let argv = argv
                .iter()
                .map(|a| cstring(a.as_bytes(), "--setup"))
                .collect::<Result<_, _>>()?;
            Ok(Step { shown, paths, argv })
        })
        .collect()
}

/// Runs every `--setup` step in order. `Ok` when all exited 0; otherwise the error to exit with.
pub(super) fn run(cfg: &RunConfig, cx: &Context<'_>) -> Result<(), SetupError> {
    if cfg.setup.is_empty() {
        return Ok(());
    }
    let steps = resolve(cfg)?;
    let now = kernel::gather(&kernel::Linux, &[], false)?;
    let Some(caps) = plan_caps(&cfg.setup_caps, &now)? else {
        info!(
            "started as uid {} gid {}, not root: the {} --setup step(s) are root work and are \
             skipped (the platform that chose this identity prepares its volumes: fsGroup, group 0)",
            now.uid[1],
            now.gid[1],
            steps.len()
        );
        return Ok(());
    };
    let envp = sys::environ(&[])
        .map_err(|_| SetupError::setup("an environment variable contains a NUL byte"))?;
    let total = steps.len();
    for (i, step) in steps.iter().enumerate() {
        let name = format!("set-up step {} of {total} ({})", i + 1, step.shown);
        let mut child = sys::ChildPlan::new(
            step.paths.clone(),
            step.argv.clone(),
            envp.clone(),
            cx.sigmask,
        );
        child.reignore = cx.reignore.to_vec();
        child.filters = cx.filters.to_vec();
        child.caps = Some(caps);
        let started = Instant::now();
        let pid = sys::spawn(&mut child).map_err(|e| {
            let why = match e {
                sys::SpawnError::Step(sys::Step::Exec, errno) => format!(
                    "cannot execute it: {} (give the path of an executable file)",
                    std::io::Error::from_raw_os_error(errno)
                ),
                e => e.to_string(),
            };
            SetupError::setup(format!("{name}: {why}; the program was not started"))
        })?;
        info!(
            pid = pid;
            "{name} started as pid {pid}, uid {}, capabilities {}",
            now.uid[1],
            names(caps.keep)
        );
        let end = wait_step(pid, &name, cfg.grace, cx.pid1)?;
        match end {
            End::Done(status) if status.ok() => info!(
                "{name} finished in {}",
                crate::log::Elapsed(started.elapsed())
            ),
            End::Done(status) => {
                return Err(SetupError::setup(format!(
                    "{name} failed: {}; the program was not started (fix the step, or its \
                     capabilities with --setup-cap)",
                    status.describe()
                )));
            }
            End::Stopped(sig) => {
                return Err(SetupError::new(
                    128 + sig,
                    format!(
                        "received {} during {name}: stopped, the program was not started",
                        signals::name(sig)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Code(i32),
    Signal(i32),
}

impl Status {
    fn ok(self) -> bool {
        self == Status::Code(0)
    }

    fn describe(self) -> String {
        match self {
            Status::Code(c) => format!("exited with {c}"),
            Status::Signal(s) => format!("killed by {}", signals::name(s)),
        }
    }
}

enum End {
    Done(Status),
    /// A stop signal arrived during the step: pidguard exits without starting the program.
    Stopped(i32),
}

/// Waits for the step `pid`, forwarding signals to its process group; then ends and reaps whatever
/// it left behind.
fn wait_step(pid: i32, name: &str, grace: Duration, pid1: bool) -> Result<End, SetupError> {
    let mut status = None;
    let mut stop: Option<(i32, Instant)> = None;
    let mut killed = false;
    while status.is_none() {
        reap(pid, &mut status);
        if status.is_some() {
            break;
        }
        let timeout = match stop {
            Some((_, deadline)) if !killed => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    warn!(
                        "{name} still runs {} after the stop signal: sending SIGKILL",
                        crate::log::Dur(grace)
                    );
                    let _ = sys::kill(-pid, libc::SIGKILL);
                    let _ = sys::kill(pid, libc::SIGKILL);
                    killed = true;
                    -1
                } else {
                    crate::duration::poll_millis(left)
                }
            }
            _ => -1,
        };
        let got = sys::wait_signal(timeout)
            .map_err(|e| SetupError::setup(format!("{name}: cannot wait for signals: {e}")))?;
        let Some((sig, _, code)) = got else {
            continue;
        };
        // A SIGCHLD from the kernel (si_code > 0) means "reap", done at the top of the loop.
        if sig == libc::SIGCHLD && code > 0 {
            continue;
        }
        let _ = sys::kill(-pid, sig);
        if matches!(sig, libc::SIGTERM | libc::SIGINT) && stop.is_none() {
            info!(
                "received {} during {name}: forwarded; the program will not be started",
                signals::name(sig)
            );
            stop = Some((sig, Instant::now() + grace));
        }
    }
    end_leftovers(name, grace, pid1);
    Ok(match (stop, status) {
        (Some((sig, _)), _) => End::Stopped(sig),
        (None, Some(s)) => End::Done(s),
        (None, None) => unreachable!("the loop ends only with a status"),
    })
}

/// Drains every exited child; records the step's own status. False when no child is left.
fn reap(pid: i32, status: &mut Option<Status>) -> bool {
    loop {
        match sys::reap_one() {
            Ok(sys::Reaped::Exited { pid: p, code }) if p == pid => {
                *status = Some(Status::Code(code))
            }
            Ok(sys::Reaped::Signaled { pid: p, sig, .. }) if p == pid => {
                *status = Some(Status::Signal(sig))
            }
            Ok(sys::Reaped::Exited { .. } | sys::Reaped::Signaled { .. }) => {}
            Ok(sys::Reaped::Running) => return true,
            Ok(sys::Reaped::NoChildren) => return false,
            // Undocumented for waitpid(-1, WNOHANG): say so, and treat children as still there,
            // so that the step's leftovers are not left running with its capabilities.
            Err(e) => {
                warn!("waitpid failed: {e}");
                return true;
            }
        }
    }
}

/// Processes a step left running: SIGTERM, SIGKILL after `grace`, every one reaped.
fn end_leftovers(name: &str, grace: Duration, pid1: bool) {
    let mut ignored = None;
    if !reap(0, &mut ignored) {
        return;
    }
    let signal_all = |sig| {
        if pid1 {
            let _ = sys::kill(-1, sig);
        } else {
            for p in super::descendants(std::process::id() as i32) {
                let _ = sys::kill(p, sig);
            }
        }
    };
    warn!(
        "{name} left processes running: sending SIGTERM, SIGKILL in {} (a set-up step must run to \
         completion; start long-running processes from the program)",
        crate::log::Dur(grace)
    );
    signal_all(libc::SIGTERM);
    let deadline = Instant::now() + grace;
    let mut killed = false;
    while reap(0, &mut ignored) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() && !killed {
            signal_all(libc::SIGKILL);
            killed = true;
        }
        let timeout = if killed {
            100
        } else {
            crate::duration::poll_millis(left)
        };
        // Only SIGCHLD matters now; a stop signal here changes nothing: the leftovers are ending.
        let _ = sys::wait_signal(timeout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::DEFAULT_SETUP_CAPS as DEFAULT_CAPS;
    use Capability::*;

    fn state(uid: u32, permitted: &[Capability]) -> Current {
        let mask = crate::limits::cap_mask(permitted);
        let mut now = Current {
            uid: [uid; 3],
            gid: [uid; 3],
            last_cap: 40,
            bounding: (1u64 << 41) - 1,
            ..Current::default()
        };
        now.caps.permitted = mask;
        now.caps.effective = mask;
        now
    }

    #[test]
    fn root_keeps_exactly_the_asked_caps_and_shrinks_the_bounding_set() {
        let docker = [
            CAP_CHOWN,
            CAP_DAC_OVERRIDE,
            CAP_FOWNER,
            CAP_SETPCAP,
            CAP_KILL,
        ];
        let p = plan_caps(&DEFAULT_CAPS, &state(0, &docker))
            .unwrap()
            .unwrap();
        let want = crate::limits::cap_mask(&DEFAULT_CAPS);
        assert_eq!(p.keep, want);
        assert_eq!(p.drop_bounding, ((1u64 << 41) - 1) & !want);
        // An empty --setup-cap keeps nothing and drops the whole bounding set.
        let p = plan_caps(&[], &state(0, &docker)).unwrap().unwrap();
        assert_eq!(p.keep, 0);
        assert_eq!(p.drop_bounding, (1u64 << 41) - 1);
    }

    #[test]
    fn without_setpcap_the_bounding_set_stays() {
        let p = plan_caps(&[CAP_CHOWN], &state(0, &[CAP_CHOWN]))
            .unwrap()
            .unwrap();
        assert_eq!(p.keep, CAP_CHOWN.bitmask());
        assert_eq!(p.drop_bounding, 0);
    }

    #[test]
    fn root_without_an_asked_cap_is_refused_naming_it() {
        let e = plan_caps(&DEFAULT_CAPS, &state(0, &[CAP_CHOWN, CAP_SETPCAP])).unwrap_err();
        assert_eq!(e.code, crate::error::EXIT_SETUP);
        assert!(e.msg.contains("DAC_OVERRIDE,FOWNER"), "{}", e.msg);
        assert!(e.msg.contains("--cap-add"), "{}", e.msg);
    }

    #[test]
    fn a_non_root_start_skips_the_steps_even_with_capabilities() {
        assert_eq!(
            plan_caps(&DEFAULT_CAPS, &state(1000680000, &[])).unwrap(),
            None
        );
        let caps = plan_caps(&DEFAULT_CAPS, &state(1000, &DEFAULT_CAPS)).unwrap();
        assert_eq!(caps, None);
    }

    #[test]
    fn capabilities_above_the_kernels_last_are_ignored() {
        let mut now = state(0, &[CAP_CHOWN]);
        now.last_cap = 0; // only CAP_CHOWN (0) exists
        assert_eq!(
            plan_caps(&[CAP_CHOWN, CAP_SYSLOG], &now)
                .unwrap()
                .unwrap()
                .keep,
            1
        );
    }
}
