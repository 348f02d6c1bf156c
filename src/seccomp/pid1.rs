//! PID 1's own seccomp policy: which filters PID 1 installs on itself before it forks, and which each
//! child installs after it, right before `execve`.
//!
//! PID 1's filter starts with the guard (`guard.rs`), whatever `--seccomp` says, even `unconfined`
//! (then the guard is the whole filter): it refuses only calls aimed at PID 1, so it takes nothing a
//! program legitimately needs, and without it "unconfined" would also mean "may change PID 1's
//! limits and priority". Every child inherits it. The one case without it is `--allow-new-privs`:
//! without no_new_privs an unprivileged process cannot install a filter at all.

use crate::cli::RunConfig;
use crate::debug;
use crate::error::SetupError;
use crate::seccomp;
use crate::warn;

/// Syscalls PID 1 itself needs on top of the program's profile, so that a strict custom profile
/// cannot break reaping, forwarding, the health endpoint or starting checks. Docker's default allows
/// all of them already. `seccomp` is here because every child PID 1 starts installs the program's
/// filter before exec; `mprotect` for the guard page of the stack a child starts on (sys::spawn);
/// `dup2`/`dup3`, `ioctl` and `prlimit64` for what the child does before exec (output of app checks,
/// tcsetpgrp, the program's own rlimits).
/// `rt_sigtimedwait` for the loop's wait when `poll` fails, `chdir` for PID 1's move to `/`,
/// `setsid` for the program's session in dumb-init's setsid mode, `getsockopt` for the
/// `SO_PEERCRED` of a `pidguard status` client (health/server.rs).
pub const PID1_SYSCALLS: &[&str] = &[
    "read",
    "write",
    "close",
    "exit",
    "exit_group",
    "rt_sigreturn",
    "rt_sigprocmask",
    "rt_sigaction",
    "signalfd4",
    "rt_sigtimedwait",
    "poll",
    "ppoll",
    "wait4",
    "waitid",
    "kill",
    "getpid",
    "clone",
    "fork",
    "vfork",
    "execve",
    "setpgid",
    "prctl",
    "seccomp",
    "openat",
    "getdents64",
    "newfstatat",
    "statx",
    "fstat",
    "lseek",
    "fcntl",
    "accept4",
    "recvfrom",
    "sendto",
    "shutdown",
    "pipe2",
    "mmap",
    "mprotect",
    "munmap",
    "brk",
    "madvise",
    "dup2",
    "dup3",
    "ioctl",
    "clock_gettime",
    "restart_syscall",
    "prlimit64",
    "chdir",
    "landlock_restrict_self",
    "setsid",
    "getcwd",
    "getsockopt",
];

pub struct Filters {
    pub program: Vec<Vec<libc::sock_filter>>,
    pub pid1: Vec<Vec<libc::sock_filter>>,
}

/// Loads and compiles the seccomp profile while we may still read root-only files, and adds the
/// guard for `protect` to what every child installs.
pub fn filters(
    cfg: &RunConfig,
    protect: &seccomp::guard::Protected,
) -> Result<Filters, SetupError> {
    use seccomp::guard;
    let mut f = profile_filters(cfg)?;
    let Some(arch) = seccomp::Arch::native().filter(|_| !cfg.allow_new_privs) else {
        return Ok(f);
    };
    match f.pid1.last_mut() {
        Some(main) => *main = guard::prepend(&guard::filter(arch, protect, false), main),
        None => f.pid1.push(guard::filter(arch, protect, true)),
    }
    Ok(f)
}

fn profile_filters(cfg: &RunConfig) -> Result<Filters, SetupError> {
    use crate::cli::Seccomp;
    let profile = match &cfg.seccomp {
        Seccomp::Unconfined => {
            warn!(
                "seccomp is off (--seccomp unconfined): the program may use every syscall{}",
                if cfg.allow_new_privs {
                    ""
                } else {
                    ", except those aimed at PID 1"
                }
            );
            return Ok(Filters {
                program: Vec::new(),
                pid1: Vec::new(),
            });
        }
        Seccomp::Default => {
            // The common case needs no compilation at all: see seccomp::prebuilt_default.
            let keep = crate::limits::cap_mask(&cfg.cap_add);
            if let Some(pid1) = seccomp::prebuilt_default(keep) {
                return Ok(Filters {
                    pid1,
                    program: Vec::new(),
                });
            }
            seccomp::default_profile()
        }
        Seccomp::File(path) => {
            seccomp::load_profile(path).map_err(|e| SetupError::setup(format!("--seccomp: {e}")))?
        }
    };
    let bad = |e: seccomp::Error| SetupError::setup(format!("--seccomp: {e}"));
    let keep = crate::limits::cap_mask(&cfg.cap_add);
    let target = seccomp::native_target(keep).map_err(bad)?;
    let program = seccomp::compile_for(&profile, &target, &[]).map_err(bad)?;
    if !program.skipped.is_empty() {
        debug!(
            "seccomp: {} syscall names unknown on this architecture skipped",
            program.skipped.len()
        );
    }
    let libc_filters =
        |f: &[seccompiler::BpfProgram]| f.iter().map(|p| seccomp::to_libc(p)).collect();
    // PID 1 installs its filter before it forks, so every child inherits it. Docker's default already
    // allows every syscall PID 1 needs (a unit test holds it to that): with the built-in profile PID 1's
    // filter *is* the program's, compiled and installed once. A custom profile gets PID1_SYSCALLS on
    // top for PID 1, and each child installs the exact profile after it, which decides every errno.
    Ok(match cfg.seccomp {
        Seccomp::Default => Filters {
            pid1: libc_filters(&program.filters),
            program: Vec::new(),
        },
        _ => Filters {
            pid1: libc_filters(
                &seccomp::compile_for(&for_pid1(profile), &target, PID1_SYSCALLS)
                    .map_err(bad)?
                    .filters,
            ),
            program: libc_filters(&program.filters),
        },
    })
}

/// PID 1's copy of a custom profile: every action that would kill or trap answers EPERM instead.
/// A profile written for the program (`defaultAction: SCMP_ACT_KILL_PROCESS` is common) must never
/// kill PID 1 over a call the profile's author did not think of: PID 1 handles a refused call as an
/// error. The program loses nothing: it installs the exact profile itself, and where two filters
/// disagree the kernel takes the stricter action, so a kill still kills the program.
fn for_pid1(mut profile: seccomp::Profile) -> seccomp::Profile {
    use seccomp::Action::{Errno, Kill, KillProcess, KillThread, Trap};
    let soften = |action: &mut seccomp::Action, errno: &mut Option<u32>| {
        if matches!(action, Kill | KillThread | KillProcess | Trap) {
            *action = Errno;
            *errno = Some(libc::EPERM as u32);
        }
    };
    soften(&mut profile.default_action, &mut profile.default_errno_ret);
    for rule in &mut profile.syscalls {
        soften(&mut rule.action, &mut rule.errno_ret);
    }
    profile
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_profile_allows_what_pid1_needs() {
        let profile = seccomp::default_profile();
        let allowed: Vec<&str> = profile
            .syscalls
            .iter()
            .filter(|r| r.action == seccomp::Action::Allow)
            .flat_map(|r| r.names.iter().map(String::as_str))
            .collect();
        // fork and vfork exist only on some architectures; glibc's fork() uses clone.
        for name in PID1_SYSCALLS
            .iter()
            .filter(|n| !matches!(**n, "fork" | "vfork"))
        {
            assert!(
                allowed.contains(name),
                "{name} is not allowed by Docker's default profile"
            );
        }
    }
}
