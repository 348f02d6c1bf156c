//! Test fixture: attempts the syscalls named on the command line and reports what the kernel
//! answered, one line each: `NAME ok`, `NAME errno=EPERM(1)`, `NAME killed=SIGSYS(31)` or
//! `NAME unknown`. Exits 0 (2 without arguments).
//!
//! pidguard's integration tests run it under a seccomp filter to see what the filter allows.
//! Every attempt is harmless if it succeeds (nonexistent paths, pipes instead of terminals,
//! invalid flags, children that exit at once) and runs in its own forked child, so a state change
//! (a new user namespace, a personality) or a kill by the filter affects only that attempt.
//! Uses only std and libc so it links statically like pidguard.
//!
//! Names: getpid fork thread clone3 clone-newns clone-newuser unshare-user mount keyctl add_key
//! bpf kexec_load open_by_handle_at ptrace-ppid ptrace-traceme personality32 personality-noaslr
//! tiocsti tiocsti-high tioclinux ioctl-fionread socket-inet socket-unix socket-vsock socket-alg
//! io_uring chroot userfaultfd x32 syscall-future.

// This fixture exists to make raw syscalls; each unsafe block says why it is sound.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::process::ExitCode;

/// Exit code a child uses for "succeeded"; errno values (1..=133) are used as they are.
const OK: i32 = 0;
/// Exit code for "this fixture does not know the name".
const UNKNOWN: i32 = 250;

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(UNKNOWN)
}

/// A raw syscall's result as an exit code.
fn check(r: libc::c_long) -> i32 {
    if r < 0 { errno() } else { OK }
}

/// A raw syscall with up to six arguments. Every caller in this file passes integers, null
/// pointers, or pointers to live memory of the size the syscall expects; that is what makes the
/// call below sound, and why this helper stays private to the fixture.
fn sys(nr: libc::c_long, args: &[libc::c_long]) -> libc::c_long {
    let mut a = [0 as libc::c_long; 6];
    a[..args.len()].copy_from_slice(args);
    // SAFETY: see above; the kernel validates everything else and fails with an errno.
    unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) }
}

fn ptr(s: &'static CStr) -> libc::c_long {
    s.as_ptr() as libc::c_long
}

/// Waits for a child made by fork/clone and returns OK if it exited 0.
fn reap(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    // SAFETY: waiting for our own child with a valid status pointer.
    if unsafe { libc::waitpid(pid, &mut status, libc::__WALL) } < 0 {
        return errno();
    }
    OK
}

/// After a clone-like syscall: the child leaves at once, the parent reaps it.
fn cloned(r: libc::c_long) -> i32 {
    match r {
        0 => {
            // SAFETY: we are the new child; leave without touching anything shared.
            unsafe { libc::_exit(0) }
        }
        r if r < 0 => errno(),
        pid => reap(pid as libc::pid_t),
    }
}

/// A pipe's read end, for ioctls that must not reach a terminal.
fn pipe_fd() -> libc::c_long {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } < 0 {
        return -1;
    }
    libc::c_long::from(fds[0])
}

fn ioctl(cmd: u64) -> i32 {
    let fd = pipe_fd();
    let mut word: u64 = 0;
    // fd is a pipe, so terminal ioctls fail with ENOTTY; the argument points to eight writable
    // bytes, enough for every command used here.
    check(sys(
        libc::SYS_ioctl,
        &[
            fd,
            cmd as libc::c_long,
            &mut word as *mut u64 as libc::c_long,
        ],
    ))
}

fn socket(domain: libc::c_int, kind: libc::c_int) -> i32 {
    check(sys(libc::SYS_socket, &[domain.into(), kind.into()]))
}

// ioctl numbers are `c_ulong` in glibc but `c_int` in musl; the casts keep both building.
#[allow(clippy::unnecessary_cast)]
fn attempt(name: &str) -> i32 {
    type L = libc::c_long;
    match name {
        "getpid" => check(sys(libc::SYS_getpid, &[])),
        "fork" => {
            // SAFETY: single-threaded; the child exits at once in `cloned`.
            cloned(unsafe { libc::fork() }.into())
        }
        "thread" => match std::thread::Builder::new().spawn(|| 7) {
            Ok(handle) => {
                if handle.join().ok() == Some(7) {
                    OK
                } else {
                    UNKNOWN
                }
            }
            Err(e) => e.raw_os_error().unwrap_or(UNKNOWN),
        },
        "clone3" => {
            // struct clone_args, first version (64 bytes): exit_signal is the fifth field; no
            // stack, so the child runs on a copy of ours, like fork.
            let mut args = [0u64; 8];
            args[4] = libc::SIGCHLD as u64;
            cloned(sys(libc::SYS_clone3, &[args.as_mut_ptr() as L, 64]))
        }
        "clone-newns" => cloned(sys(
            libc::SYS_clone,
            &[(libc::CLONE_NEWNS | libc::SIGCHLD).into()],
        )),
        "clone-newuser" => cloned(sys(
            libc::SYS_clone,
            &[(libc::CLONE_NEWUSER | libc::SIGCHLD).into()],
        )),
        "unshare-user" => check(sys(libc::SYS_unshare, &[libc::CLONE_NEWUSER.into()])),
        "mount" => check(sys(
            libc::SYS_mount,
            &[
                ptr(c"none"),
                ptr(c"/nonexistent-pidguard-fixture"),
                ptr(c"tmpfs"),
            ],
        )),
        // KEYCTL_GET_KEYRING_ID of KEY_SPEC_SESSION_KEYRING, without creating it.
        "keyctl" => check(sys(libc::SYS_keyctl, &[0, -3, 0])),
        // A key type that does not exist: ENODEV when the syscall is allowed.
        "add_key" => check(sys(
            libc::SYS_add_key,
            &[ptr(c"pidguard-no-such-type"), ptr(c"x"), 0, 0, -2],
        )),
        // BPF_PROG_LOAD with no attributes.
        "bpf" => check(sys(libc::SYS_bpf, &[5, 0, 0])),
        // Invalid flags, so nothing is loaded or unloaded even with CAP_SYS_BOOT.
        "kexec_load" => check(sys(libc::SYS_kexec_load, &[0, 0, 0, 0xdead_0000])),
        "open_by_handle_at" => check(sys(
            libc::SYS_open_by_handle_at,
            &[libc::AT_FDCWD.into(), 0, libc::O_RDONLY.into()],
        )),
        // Reading from a process we do not trace: ESRCH when ptrace is allowed.
        "ptrace-ppid" => {
            let mut word: u64 = 0;
            let ppid = sys(libc::SYS_getppid, &[]);
            check(sys(
                libc::SYS_ptrace,
                &[
                    libc::PTRACE_PEEKDATA.into(),
                    ppid,
                    0,
                    &mut word as *mut u64 as L,
                ],
            ))
        }
        "ptrace-traceme" => check(sys(libc::SYS_ptrace, &[libc::PTRACE_TRACEME.into()])),
        // PER_LINUX32.
        "personality32" => check(sys(libc::SYS_personality, &[0x0008])),
        "personality-noaslr" => check(sys(
            libc::SYS_personality,
            &[libc::ADDR_NO_RANDOMIZE.into()],
        )),
        "tiocsti" => ioctl(libc::TIOCSTI as u64),
        // The same command with a high bit set; the kernel uses only the low 32 bits.
        "tiocsti-high" => ioctl((1 << 32) | libc::TIOCSTI as u64),
        "tioclinux" => ioctl(libc::TIOCLINUX as u64),
        "ioctl-fionread" => ioctl(libc::FIONREAD as u64),
        "socket-inet" => socket(libc::AF_INET, libc::SOCK_STREAM),
        "socket-unix" => socket(libc::AF_UNIX, libc::SOCK_STREAM),
        "socket-vsock" => socket(libc::AF_VSOCK, libc::SOCK_STREAM),
        "socket-alg" => socket(libc::AF_ALG, libc::SOCK_SEQPACKET),
        "io_uring" => {
            // struct io_uring_params is 120 bytes.
            let mut params = [0u8; 120];
            check(sys(
                libc::SYS_io_uring_setup,
                &[1, params.as_mut_ptr() as L],
            ))
        }
        "chroot" => check(sys(libc::SYS_chroot, &[ptr(c"/")])),
        "userfaultfd" => check(sys(libc::SYS_userfaultfd, &[libc::O_CLOEXEC.into()])),
        // getpid through the x32 ABI (bit 30): the kernel answers ENOSYS without x32 support.
        #[cfg(target_arch = "x86_64")]
        "x32" => check(sys(0x4000_0000 | libc::SYS_getpid, &[])),
        // A number no kernel has yet.
        "syscall-future" => check(sys(1000, &[])),
        _ => UNKNOWN,
    }
}

const ERRNO_NAMES: [(i32, &str); 25] = [
    (libc::EPERM, "EPERM"),
    (libc::ENOENT, "ENOENT"),
    (libc::ESRCH, "ESRCH"),
    (libc::EINTR, "EINTR"),
    (libc::EIO, "EIO"),
    (libc::E2BIG, "E2BIG"),
    (libc::EBADF, "EBADF"),
    (libc::ECHILD, "ECHILD"),
    (libc::EAGAIN, "EAGAIN"),
    (libc::ENOMEM, "ENOMEM"),
    (libc::EACCES, "EACCES"),
    (libc::EFAULT, "EFAULT"),
    (libc::EBUSY, "EBUSY"),
    (libc::EEXIST, "EEXIST"),
    (libc::ENODEV, "ENODEV"),
    (libc::ENOTDIR, "ENOTDIR"),
    (libc::EINVAL, "EINVAL"),
    (libc::EMFILE, "EMFILE"),
    (libc::ENOTTY, "ENOTTY"),
    (libc::ENOSYS, "ENOSYS"),
    (libc::EPROTONOSUPPORT, "EPROTONOSUPPORT"),
    (libc::EOPNOTSUPP, "EOPNOTSUPP"),
    (libc::EAFNOSUPPORT, "EAFNOSUPPORT"),
    (libc::ENOKEY, "ENOKEY"),
    (libc::EKEYREJECTED, "EKEYREJECTED"),
];

fn errno_name(e: i32) -> &'static str {
    ERRNO_NAMES
        .iter()
        .find(|(n, _)| *n == e)
        .map_or("E?", |(_, s)| s)
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGSYS => "SIGSYS",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGTRAP => "SIGTRAP",
        _ => "SIG?",
    }
}

/// Runs `attempt(name)` in a child and describes how it ended.
fn report(name: &str) -> String {
    // SAFETY: this program is single-threaded here, so the child may do anything.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = attempt(name);
        // SAFETY: leave the child without running the parent's exit handlers.
        unsafe { libc::_exit(code) }
    }
    let outcome = if pid < 0 {
        // No child (fork itself was refused): try in this process; a kill ends the run.
        Ok(attempt(name))
    } else {
        let mut status = 0;
        // SAFETY: waiting for our own child with a valid status pointer.
        if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
            Ok(errno())
        } else if libc::WIFSIGNALED(status) {
            Err(libc::WTERMSIG(status))
        } else {
            Ok(libc::WEXITSTATUS(status))
        }
    };
    match outcome {
        Ok(OK) => format!("{name} ok"),
        Ok(UNKNOWN) => format!("{name} unknown"),
        Ok(e) => format!("{name} errno={}({e})", errno_name(e)),
        Err(sig) => format!("{name} killed={}({sig})", signal_name(sig)),
    }
}

fn main() -> ExitCode {
    let names: Vec<String> = std::env::args().skip(1).collect();
    if names.is_empty() {
        eprintln!("usage: try_syscalls NAME... (see the top of examples/try_syscalls.rs)");
        return ExitCode::from(2);
    }
    for name in &names {
        println!("{}", report(name));
    }
    ExitCode::SUCCESS
}
