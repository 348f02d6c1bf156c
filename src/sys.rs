//! Every `unsafe` call of pidguard lives here, each with its reason.
//!
//! Two kinds of code are here. Thin wrappers, one syscall each, for calls that `nix` does not cover
//! the way PID 1 needs (real-time signals, which nix's `Signal` enum cannot name; `poll` over raw
//! descriptors; `clone`; `capget`/`capset` and the integer `prctl`s of the privilege drop, whose order
//! lives in `harden/apply.rs`, not here). And `exec_child`, the code that runs in the child between `clone` and `execve`. The child shares
//! PID 1's memory (`CLONE_VM`, as in posix_spawn) while PID 1 sleeps, so it must not allocate, take a
//! lock or log (see signal-safety(7)): it would change PID 1's heap under its feet. Everything the
//! child needs is therefore computed before into a [`ChildPlan`] of plain data and raw pointers, and
//! the child reports a failing step as two integers in memory PID 1 reads once the child is gone.
#![allow(unsafe_code)]
#![warn(clippy::multiple_unsafe_ops_per_block)]

use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use libc::{c_char, c_int};

/// Converts a libc return value: -1 means "look at errno".
fn check(ret: c_int) -> io::Result<c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `kill(2)` with any signal number, real-time ones included. `sig == 0` checks existence.
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: kill takes plain integers and touches no memory of ours.
    check(unsafe { libc::kill(pid, sig) }).map(drop)
}

/// What one `waitpid(-1, WNOHANG)` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaped {
    Exited {
        pid: i32,
        code: i32,
    },
    Signaled {
        pid: i32,
        sig: i32,
        core: bool,
    },
    /// Children exist, none has exited.
    Running,
    /// No child at all (ECHILD).
    NoChildren,
}

/// What one `waitpid(-1, WNOHANG | WUNTRACED)` found: PID 1's loop also follows the program's stops
/// (tini's mode follows a job-control stop of the program when pidguard runs as a shell's job).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    Reaped(Reaped),
    /// A child was stopped by `sig`.
    Stopped {
        pid: i32,
        sig: i32,
    },
}

/// Reaps one exited child, if any. libc's `waitpid`, not nix's: nix turns the status into its
/// `Signal` enum, which has no real-time signals, and answers EINVAL for a child killed by one
/// (after the kernel has already reaped it: that exit would be lost).
pub fn reap_one() -> io::Result<Reaped> {
    loop {
        // Without WUNTRACED no stop is reported: this returns at the first turn.
        if let Waited::Reaped(r) = wait_any(libc::WNOHANG)? {
            return Ok(r);
        }
    }
}

/// [`reap_one`], and a child's stop too.
pub fn reap_or_stopped() -> io::Result<Waited> {
    wait_any(libc::WNOHANG | libc::WUNTRACED)
}

fn wait_any(flags: c_int) -> io::Result<Waited> {
    let mut status: c_int = 0;
    loop {
        // SAFETY: waitpid writes one int into `status`, which outlives the call.
        let pid = unsafe { libc::waitpid(-1, &mut status, flags) };
        return match pid {
            0 => Ok(Waited::Reaped(Reaped::Running)),
            -1 => match io::Error::last_os_error() {
                e if e.raw_os_error() == Some(libc::EINTR) => continue,
                e if e.raw_os_error() == Some(libc::ECHILD) => {
                    Ok(Waited::Reaped(Reaped::NoChildren))
                }
                e => Err(e),
            },
            pid if libc::WIFSTOPPED(status) => Ok(Waited::Stopped {
                pid,
                sig: libc::WSTOPSIG(status),
            }),
            pid if libc::WIFSIGNALED(status) => Ok(Waited::Reaped(Reaped::Signaled {
                pid,
                sig: libc::WTERMSIG(status),
                core: libc::WCOREDUMP(status),
            })),
            // Without WCONTINUED only exits, deaths and (with WUNTRACED) stops are reported.
            pid => Ok(Waited::Reaped(Reaped::Exited {
                pid,
                code: libc::WEXITSTATUS(status),
            })),
        };
    }
}

/// Blocks every signal in this thread and returns the mask that was in force before, which the
/// program will get back. SIGKILL and SIGSTOP cannot be blocked; glibc leaves 32 and 33 alone.
pub fn block_all_signals() -> io::Result<libc::sigset_t> {
    let all = full_sigset();
    let mut old = empty_sigset();
    // SAFETY: sigprocmask reads `all` and writes `old`, both locals alive for the call.
    check(unsafe { libc::sigprocmask(libc::SIG_SETMASK, &all, &mut old) })?;
    Ok(old)
}

/// An empty signal set, to be filled in by the kernel or libc.
fn empty_sigset() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data (a bit array), for which all zero bytes is the empty set.
    unsafe { std::mem::zeroed() }
}

/// A signal set with every signal in it.
fn full_sigset() -> libc::sigset_t {
    let mut all = empty_sigset();
    // SAFETY: sigfillset only writes into the set it is given, a local.
    unsafe { libc::sigfillset(&mut all) };
    all
}

/// The calling thread's signal mask, unchanged.
pub fn signal_mask() -> io::Result<libc::sigset_t> {
    let mut old = empty_sigset();
    // SAFETY: with a null new set, sigprocmask only writes the current mask into `old`.
    check(unsafe { libc::sigprocmask(libc::SIG_SETMASK, std::ptr::null(), &mut old) })?;
    Ok(old)
}

/// A close-on-exec, non-blocking signalfd for every signal (they are all blocked).
pub fn signalfd_all() -> io::Result<OwnedFd> {
    let all = full_sigset();
    // SAFETY: signalfd reads the local set for the call and returns a new descriptor.
    let fd = check(unsafe { libc::signalfd(-1, &all, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) })?;
    // SAFETY: the descriptor signalfd just returned, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// One pending signal read from the signalfd: (signal, sender pid, si_code).
pub fn read_signal(fd: &OwnedFd) -> io::Result<Option<(i32, i32, i32)>> {
    // SAFETY: signalfd_siginfo is plain integers, for which all zero bytes is a valid value.
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: read writes at most `size` bytes into the local, which is exactly that large.
    let n = unsafe { libc::read(fd.as_raw_fd(), (&raw mut info).cast(), size) };
    if n == -1 {
        let e = io::Error::last_os_error();
        return match e.kind() {
            io::ErrorKind::WouldBlock => Ok(None),
            io::ErrorKind::Interrupted => Ok(None),
            _ => Err(e),
        };
    }
    if usize::try_from(n) != Ok(size) {
        return Err(io::Error::other("short read from signalfd"));
    }
    Ok(Some((
        info.ssi_signo as i32,
        info.ssi_pid as i32,
        info.ssi_code,
    )))
}

/// Waits up to `timeout_ms` (forever when negative) for one of the blocked signals, with no
/// descriptor: PID 1's loop when it cannot poll (see init's fallback). (signal, sender pid,
/// si_code), or None on timeout or EINTR.
pub fn wait_signal(timeout_ms: i32) -> io::Result<Option<(i32, i32, i32)>> {
    let ts = libc::timespec {
        tv_sec: (timeout_ms.max(0) / 1000) as libc::time_t,
        tv_nsec: (timeout_ms.max(0) % 1000) as libc::c_long * 1_000_000,
    };
    let tsp: *const libc::timespec = if timeout_ms < 0 {
        std::ptr::null()
    } else {
        &ts
    };
    let all = full_sigset();
    // SAFETY: siginfo_t is plain data, for which all zero bytes is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: the set and the siginfo are locals, read and written by the kernel during the call;
    // `tsp` is null or points to `ts`, which outlives the call.
    let sig = unsafe { libc::sigtimedwait(&all, &mut info, tsp) };
    if sig == -1 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::EAGAIN | libc::EINTR) => Ok(None),
            _ => Err(e),
        };
    }
    // SAFETY: si_pid is read from the siginfo the kernel filled in for this very signal, which
    // comes from kill/sigqueue or a child (the union's members that have it).
    let pid = unsafe { info.si_pid() };
    Ok(Some((sig, pid, info.si_code)))
}

/// Whether a signal's disposition is SIG_IGN now, i.e. inherited ignored (pidguard installs no
/// handlers).
pub fn is_ignored(sig: i32) -> bool {
    // SAFETY: sigaction is plain data (the handler is an integer), for which zero is SIG_DFL.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only queries; `old` is a local written by the kernel.
    let ret = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
    ret == 0 && old.sa_sigaction == libc::SIG_IGN
}

/// Gives the heap memory that start-up used (passwd parsing, seccomp compilation) back to the
/// kernel, so that an idle PID 1 keeps only what its loop needs.
pub fn trim_heap() {
    // SAFETY: malloc_trim only walks glibc's own heap bookkeeping; no pointer of ours is involved.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Sets a signal's disposition to SIG_DFL or SIG_IGN.
pub fn set_disposition(sig: i32, ignore: bool) -> io::Result<()> {
    // SAFETY: sigaction is plain data (the handler is an integer), for which zero is SIG_DFL.
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = if ignore { libc::SIG_IGN } else { libc::SIG_DFL };
    // SAFETY: the action is a local with a special handler value (no function pointer of ours).
    check(unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) }).map(drop)
}

/// `poll(2)` over raw descriptors; `timeout_ms < 0` waits forever. EINTR counts as "nothing ready".
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    // SAFETY: the pointer and length describe the caller's live slice of pollfd.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    match check(n) {
        // poll's only negative return is -1, which `check` made an error.
        Ok(n) => Ok(usize::try_from(n).unwrap_or(0)),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
        Err(e) => Err(e),
    }
}

/// `prctl` with integer arguments only.
pub fn prctl(option: c_int, arg2: libc::c_ulong) -> io::Result<c_int> {
    // SAFETY: every prctl option used by pidguard takes integer arguments, no pointers.
    check(unsafe {
        libc::prctl(
            option,
            arg2,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    })
}

/// The parent-death signal of this process (0 when none).
pub fn pdeath_signal() -> Option<i32> {
    let mut sig: c_int = 0;
    // SAFETY: PR_GET_PDEATHSIG writes one int through the pointer, which points to a local.
    let ret = unsafe { libc::prctl(libc::PR_GET_PDEATHSIG, &mut sig as *mut c_int) };
    (ret == 0).then_some(sig)
}

/// Accepts one connection as a non-blocking, close-on-exec socket: one accept4(2), where std's
/// accept plus set_nonblocking would make two syscalls per connection.
pub fn accept_nonblocking(listener: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: accept4 with null address pointers only returns a new descriptor.
    let fd = check(unsafe {
        libc::accept4(
            listener,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    })?;
    // SAFETY: the descriptor accept4 just returned, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `TCP_DEFER_ACCEPT` (tcp(7)): the listener wakes for a connection only once its first data
/// arrived (or after about `secs`), so a request comes with its connection.
pub fn tcp_defer_accept(listener: RawFd, secs: c_int) -> io::Result<()> {
    #[allow(clippy::cast_possible_truncation, reason = "the size of a C int, 4")]
    let len = std::mem::size_of::<c_int>() as libc::socklen_t;
    // SAFETY: setsockopt reads one int from a local for the length given.
    check(unsafe {
        libc::setsockopt(
            listener,
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&raw const secs).cast(),
            len,
        )
    })
    .map(drop)
}

/// A close-on-exec pipe: (read end, write end).
pub fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: pipe2 writes two descriptors into the local array.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: the two descriptors pipe2 just returned, owned by nobody else.
    let [rd, wr] = fds.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
    Ok((rd, wr))
}

/// Reads what is there without waiting (the descriptor must be non-blocking): up to `max` bytes.
pub fn read_available(fd: &OwnedFd, max: usize) -> Vec<u8> {
    let mut buf = vec![0u8; max];
    // SAFETY: reading into our own buffer of `max` bytes.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), max) };
    buf.truncate(usize::try_from(n).unwrap_or(0));
    buf
}

/// A close-on-exec pipe whose read end does not block: (read end, write end).
pub fn pipe_nonblocking_read() -> io::Result<(OwnedFd, OwnedFd)> {
    let (rd, wr) = pipe_cloexec()?;
    // SAFETY: fcntl on a descriptor we own, integer arguments only.
    check(unsafe { libc::fcntl(rd.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) })?;
    Ok((rd, wr))
}

/// Whether the descriptor is a terminal.
pub fn isatty(fd: RawFd) -> bool {
    // SAFETY: isatty only inspects the descriptor number.
    unsafe { libc::isatty(fd) == 1 }
}

/// Everything the child does between clone and exec, as plain data built before the clone.
pub struct ChildPlan {
    /// Paths to try in order, as execvp would (PATH already searched).
    pub paths: Vec<CString>,
    pub argv: Vec<CString>,
    pub envp: std::rc::Rc<Environ>,
    argv_ptrs: Vec<*const c_char>,
    /// The signal mask pidguard inherited, restored right before exec.
    pub sigmask: libc::sigset_t,
    /// Signals that pidguard found ignored but had to reset (SIGCHLD), ignored again in the child.
    pub reignore: Vec<c_int>,
    /// Where the child goes among process groups and sessions.
    pub place: Place,
    /// With [`Place::OwnGroup`]: put the child in the terminal's foreground process group (stdin is
    /// a tty).
    pub foreground: bool,
    /// Seccomp filters to install in order, last step before exec.
    pub filters: Vec<Vec<libc::sock_filter>>,
    /// A Landlock ruleset PID 1 prepared, enforced on the child right before its filters.
    pub landlock: Option<RawFd>,
    /// Where the child's stdout and stderr go (app checks: a pipe PID 1 reads); `None` keeps ours.
    pub output: Option<RawFd>,
    /// Where the child's stdin comes from (`pidguard probe`'s exec checks: /dev/null); `None` keeps ours.
    pub input: Option<RawFd>,
    /// A set-up step (`--setup`) started before PID 1 dropped anything: the child lowers itself to
    /// these capabilities and sets no_new_privs; `None` for children of an already hardened PID 1.
    pub caps: Option<ChildCaps>,
    /// Recording mode: a filter the child installs with a listener after `filters`; `spawn` then
    /// shares the descriptor table with the child (seccomp/record.rs says why) and puts the listener
    /// in `listener`. Needs `output` and `input` to be `None`: the child must not touch PID 1's fds.
    pub record: Option<Vec<libc::sock_filter>>,
    /// The listener of `record`, PID 1's after `spawn`.
    pub listener: Option<OwnedFd>,
}

/// The capabilities a set-up step keeps, decided in `init/setup.rs`, applied by the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildCaps {
    /// Kept in effective and permitted (bit n = capability n); inheritable and ambient end empty.
    pub keep: u64,
    /// Removed from the bounding set (empty without CAP_SETPCAP).
    pub drop_bounding: u64,
    pub last_cap: u32,
}

/// Where a child goes among process groups and sessions (init's session modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A process group of its own (`setpgid(0, 0)`): tini's way, and every app check.
    OwnGroup,
    /// A session of its own (`setsid`) with stdin's terminal, if it can have it, as its controlling
    /// terminal (`TIOCSCTTY`): dumb-init's default mode.
    NewSession,
    /// PID 1's own group and session: dumb-init's `-c`.
    Stay,
}

/// Gives up stdin's terminal as controlling terminal (`TIOCNOTTY`), so that a child in a new
/// session can take it (dumb-init does the same before it forks). As a session leader this also
/// hangs up the session's hold on it: the kernel sends SIGHUP and SIGCONT to the foreground group,
/// with our own pid as sender (tiocnotty → disassociate_ctty).
pub fn detach_terminal() -> io::Result<()> {
    // SAFETY: TIOCNOTTY takes no argument.
    check(unsafe { libc::ioctl(0, libc::TIOCNOTTY) }).map(|_| ())
}

/// Stops this process, so that the shell that runs us as a job sees it stop: `kill(0, SIGSTOP)`,
/// our own process group, because the guard (seccomp/guard.rs) refuses a kill of our own pid to
/// everyone, PID 1 included. The group is pidguard alone in tini's and setsid mode; with `-c` it
/// holds the program too, which the terminal's SIGTSTP was for anyway. Never asked of PID 1.
pub fn stop_self() -> io::Result<()> {
    kill(0, libc::SIGSTOP)
}

/// Makes `to` the foreground process group of stdin's terminal, only if `ours` (pidguard's own
/// group) holds it now: after a `fg`, not after a `bg` (SIGTTOU is blocked, so tcsetpgrp from the
/// background would succeed and steal the terminal from the shell).
pub fn hand_terminal(ours: i32, to: i32) -> io::Result<()> {
    // SAFETY: tcgetpgrp only takes a descriptor number.
    if unsafe { libc::tcgetpgrp(0) } != ours {
        return Ok(());
    }
    // SAFETY: tcsetpgrp only takes descriptor and group numbers.
    check(unsafe { libc::tcsetpgrp(0, to) }).map(|_| ())
}

/// The running kernel's release string (`uname -r`), from uname(2).
pub fn kernel_release() -> Option<Vec<u8>> {
    let mut uts = std::mem::MaybeUninit::<libc::utsname>::uninit();
    // SAFETY: uname writes the whole struct through the valid pointer.
    if unsafe { libc::uname(uts.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: uname reported success, so it wrote every field.
    let uts = unsafe { uts.assume_init() };
    Some(
        uts.release
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| u8::from_ne_bytes(c.to_ne_bytes()))
            .collect(),
    )
}

/// A child's environment in the form `execve` takes: a null-terminated array of `KEY=VALUE`
/// pointers. Built without copying: the entries point at pidguard's own environment strings (which
/// nothing in pidguard ever changes: no setenv, putenv or std::env::set_var anywhere), and only
/// the variables set on top are allocated here.
pub struct Environ {
    /// The variables set on top; the pointers below reach into their buffers, which a move of
    /// this vector does not move.
    _set: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

/// pidguard's environment with `set` added, replacing variables of the same name. Fails on a NUL
/// byte in a name or value of `set`. Entries without a `=` are passed on as they are, as execve and
/// tini do (Rust's own `std::env::vars_os` would drop them). Shared (`Rc`) by every child started
/// from it.
pub fn environ(set: &[(&str, &str)]) -> Result<std::rc::Rc<Environ>, std::ffi::NulError> {
    debug_assert!(
        set.iter()
            .enumerate()
            .all(|(i, (k, _))| set[..i].iter().all(|(o, _)| o != k)),
        "names set twice"
    );
    let set: Vec<CString> = set
        .iter()
        .map(|(k, v)| CString::new(format!("{k}={v}")))
        .collect::<Result<_, _>>()?;
    let ptrs = own_environ()
        .filter(|e| {
            let key = env_name(e.to_bytes());
            !set.iter().any(|s| env_name(s.as_bytes()) == key)
        })
        .map(|e| e.as_ptr())
        .chain(set.iter().map(|s| s.as_ptr()))
        .chain([std::ptr::null()])
        .collect();
    Ok(std::rc::Rc::new(Environ { _set: set, ptrs }))
}

impl Environ {
    /// The entries, without the terminating null (for tests and logs).
    pub fn entries(&self) -> impl Iterator<Item = &std::ffi::CStr> {
        // SAFETY: every non-null pointer is a NUL-terminated string that outlives `self`.
        self.ptrs[..self.ptrs.len() - 1]
            .iter()
            .map(|&p| unsafe { std::ffi::CStr::from_ptr(p) })
    }
}

/// The variables of pidguard's environment whose names start with one of `prefixes`, copied: one
/// pass over the environment instead of a lookup (and a copy of the whole environment) per name.
pub fn vars_with_prefix(prefixes: &[&str]) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    own_environ()
        .map(|e| e.to_bytes())
        .filter(|e| prefixes.iter().any(|x| e.starts_with(x.as_bytes())))
        .filter_map(|e| {
            let name = env_name(e);
            let value = e.get(name.len() + 1..)?; // no '=': not a variable
            Some((
                OsStr::from_bytes(name).to_owned(),
                OsStr::from_bytes(value).to_owned(),
            ))
        })
        .collect()
}

/// The name part of a `KEY=VALUE` entry (all of it when there is no `=`).
fn env_name(entry: &[u8]) -> &[u8] {
    let end = entry.iter().position(|&b| b == b'=').unwrap_or(entry.len());
    &entry[..end]
}

/// The entries of pidguard's own environment, in order.
fn own_environ() -> impl Iterator<Item = &'static std::ffi::CStr> {
    let mut p = libc_environ();
    // `environ` is the C runtime's null-terminated array of NUL-terminated strings; it is only read,
    // and (see `Environ`) never modified by this process, so the strings live as long as the process.
    std::iter::from_fn(move || {
        if p.is_null() {
            return None;
        }
        // SAFETY: `p` points at an element of `environ`, at most its terminating null.
        let entry = unsafe { *p };
        if entry.is_null() {
            return None;
        }
        // SAFETY: a non-null entry of `environ`: a NUL-terminated string for the process' lifetime.
        let entry = unsafe { std::ffi::CStr::from_ptr(entry) };
        // SAFETY: `p` was not the terminating null, so the next element is still in the array.
        p = unsafe { p.add(1) };
        Some(entry)
    })
}

unsafe extern "C" {
    /// The C runtime writes it (setenv would), so it is `mut` to Rust even though pidguard never does.
    #[link_name = "environ"]
    static mut C_ENVIRON: *const *const c_char;
}

/// The C runtime's `environ`.
fn libc_environ() -> *const *const c_char {
    // SAFETY: a plain read of the C runtime's global, which this process never writes.
    unsafe { C_ENVIRON }
}

/// The child's steps, reported to the parent when one fails. Codes are stable within one binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Step {
    Setpgid = 1,
    Output,
    Rlimits,
    Seccomp,
    Signals,
    Caps,
    Exec,
    Landlock,
    Setsid,
    /// Restoring the signal mask after the filter is installed: the profile decides it.
    Mask,
}

impl Step {
    pub fn from_code(code: u32) -> Option<Step> {
        use Step::*;
        [
            Setpgid, Output, Rlimits, Seccomp, Signals, Caps, Exec, Landlock, Setsid, Mask,
        ]
        .into_iter()
        .find(|s| *s as u32 == code)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Step::Setpgid => "create the program's process group (setpgid)",
            Step::Output => "redirect stdin, stdout or stderr (dup2)",
            Step::Rlimits => "set the program's resource limits (setrlimit)",
            Step::Seccomp => "install the seccomp filter",
            Step::Signals => "restore the signal mask and dispositions",
            Step::Caps => "lower the set-up step's capabilities and set no_new_privs",
            Step::Exec => "execute the program",
            Step::Landlock => "confine the program with Landlock (landlock_restrict_self)",
            Step::Setsid => "create the program's session (setsid)",
            Step::Mask => {
                "restore the signal mask after installing the seccomp filter (the --seccomp \
                 profile must allow rt_sigprocmask, which runs between the filter and execve)"
            }
        }
    }
}

impl ChildPlan {
    pub fn new(
        paths: Vec<CString>,
        argv: Vec<CString>,
        envp: std::rc::Rc<Environ>,
        sigmask: libc::sigset_t,
    ) -> Self {
        ChildPlan {
            paths,
            argv,
            envp,
            argv_ptrs: Vec::new(),
            sigmask,
            reignore: Vec::new(),
            place: Place::OwnGroup,
            foreground: false,
            filters: Vec::new(),
            landlock: None,
            output: None,
            input: None,
            caps: None,
            record: None,
            listener: None,
        }
    }

    /// Builds the pointer arrays; must run in the parent, right before the clone.
    fn seal(&mut self) {
        self.argv_ptrs = self
            .argv
            .iter()
            .map(|s| s.as_ptr())
            .chain([std::ptr::null()])
            .collect();
    }
}

/// Why the child did not reach the program: written by the child into memory it shares with the
/// parent (`CLONE_VM`), read by the parent once `clone` returns. Zero step: exec succeeded.
#[derive(Default)]
struct Report {
    step: AtomicU32,
    errno: AtomicI32,
    /// The recording listener's descriptor plus one (0: none), in the table the child shares.
    listener: AtomicI32,
}

struct ChildArgs<'a> {
    plan: &'a ChildPlan,
    report: &'a Report,
}

/// The child's stack: it runs on memory of its own while the parent is suspended, with a
/// PROT_NONE page below it so that an overflow faults instead of writing into the parent's heap.
/// At least this much, in whole pages (arm64 kernels may use 16 or 64 KiB pages).
const CHILD_STACK: usize = 64 * 1024;

fn page_size() -> usize {
    // SAFETY: sysconf only reads a system value.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page)
        .ok()
        .filter(|&p| p > 0)
        .unwrap_or(4096)
}

/// The mapping the child runs on: `CHILD_STACK` bytes over a PROT_NONE guard page. Made at the first
/// spawn and kept for the next ones (restarts, checks): unmapping it after every spawn would cost a
/// TLB shootdown across CPUs, since the child ran on the other CPU in our address space (CLONE_VM).
/// Taken out of `FREE` while in use, so that two spawns at once (there are none: PID 1 is one
/// thread) would each get a mapping of their own rather than share one.
struct ChildStack {
    base: *mut libc::c_void,
    size: usize,
}

static FREE_STACK: std::sync::atomic::AtomicPtr<libc::c_void> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

impl ChildStack {
    fn size() -> usize {
        let page = page_size();
        page + CHILD_STACK.div_ceil(page) * page
    }

    /// The kept stack, or a new one; None (errno set) when it cannot be mapped.
    fn take() -> Option<ChildStack> {
        let size = Self::size();
        let kept = FREE_STACK.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if !kept.is_null() {
            return Some(ChildStack { base: kept, size });
        }
        // SAFETY: a fresh anonymous mapping, owned by the value returned.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: the guard page is the lowest page of the mapping made above, which only we use.
        if unsafe { libc::mprotect(base, page_size(), libc::PROT_NONE) } == -1 {
            // SAFETY: the mapping made above, never handed out.
            unsafe { libc::munmap(base, size) };
            return None;
        }
        Some(ChildStack { base, size })
    }

    /// The stack's top end: it grows down from there.
    fn top(&self) -> *mut u8 {
        self.base.cast::<u8>().wrapping_add(self.size)
    }

    /// Keeps the stack for the next spawn (or unmaps it if another one was kept meanwhile).
    fn give_back(self) {
        if FREE_STACK
            .compare_exchange(
                std::ptr::null_mut(),
                self.base,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            // SAFETY: our mapping, no longer used by anyone: the child has exec'd or exited.
            unsafe { libc::munmap(self.base, self.size) };
        }
    }
}

/// Starts the program the way posix_spawn(3) does: `clone(CLONE_VM | CLONE_VFORK)`, so that the
/// parent's memory is neither copied nor write-protected (a `fork` would copy PID 1's page tables
/// and then take a copy-on-write fault for every page PID 1 touches until the child execs), and the
/// parent sleeps until the child has called `execve` or exited. Returns the child's pid and, when it
/// did not get to run the program, the failing step and errno; that child has exited (125, 126 or
/// 127) and is reaped here, so that no zombie outlives the failure.
///
/// The parent waits for the child's `execve`, as it did with fork and a close-on-exec report pipe: an
/// exec that hangs (a binary on a dead network filesystem) holds PID 1 either way.
///
/// No signal handler can run in the child on PID 1's memory: pidguard installs none (its C `main`
/// means std's start-up code, which would add a SIGSEGV handler, never runs; PID 1 blocks every
/// signal and reads a signalfd; the probe keeps the default dispositions).
pub fn spawn(plan: &mut ChildPlan) -> Result<i32, SpawnError> {
    if plan.record.is_some() && (plan.output.is_some() || plan.input.is_some()) {
        return Err(SpawnError::Os(io::Error::from_raw_os_error(libc::EINVAL)));
    }
    // Recording: the child's listener lands in our own descriptor table; execve unshares it, and
    // the listener is close-on-exec, so the program never holds it.
    let share_fds = if plan.record.is_some() {
        libc::CLONE_FILES
    } else {
        0
    };
    plan.seal();
    let report = Report::default();
    let args = ChildArgs {
        plan,
        report: &report,
    };
    let Some(stack) = ChildStack::take() else {
        return Err(SpawnError::Os(io::Error::last_os_error()));
    };
    let top = stack.top();
    // SAFETY: `top` is the end of a mapping of ours with a guard page below, which nothing else uses
    // while we hold it. While the child runs, the parent is suspended (CLONE_VFORK), so `args`,
    // `report` and the plan stay alive and unchanged, and the only memory the child writes is its
    // own stack and `report` (exec_child allocates nothing). Without CLONE_SIGHAND the child has its
    // own signal dispositions, so its sigaction calls leave PID 1's alone.
    let pid = unsafe {
        libc::clone(
            child_main,
            top.cast(),
            libc::CLONE_VM | libc::CLONE_VFORK | share_fds | libc::SIGCHLD,
            (&raw const args).cast_mut().cast(),
        )
    };
    let err = io::Error::last_os_error();
    // The child has exec'd or exited (CLONE_VFORK), or was never started: the stack is free again.
    stack.give_back();
    if pid == -1 {
        return Err(SpawnError::Os(err));
    }
    if let Ok(fd) = RawFd::try_from(report.listener.load(Ordering::SeqCst) - 1)
        && fd >= 0
    {
        // SAFETY: the child created this descriptor in the table it shared with us and then exec'd
        // or exited without closing it: nobody else owns it.
        plan.listener = Some(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    match Step::from_code(report.step.load(Ordering::SeqCst)) {
        None => Ok(pid),
        Some(step) => {
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
            Err(SpawnError::Step(step, report.errno.load(Ordering::SeqCst)))
        }
    }
}

/// Why [`spawn`] could not start a program.
#[derive(Debug)]
pub enum SpawnError {
    /// The clone itself (or the child's stack) failed.
    Os(io::Error),
    /// The child failed at this step with this errno, before or at `execve`.
    Step(Step, i32),
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Os(e) => {
                write!(f, "cannot start a process: {e}")?;
                if e.raw_os_error() == Some(libc::EAGAIN) {
                    // clone(2): EAGAIN is a process-count limit, not a passing condition.
                    f.write_str(
                        " (the uid's processes reached RLIMIT_NPROC, or the container's pids \
                         limit: raise --rlimit nproc or docker run --pids-limit)",
                    )?;
                }
                Ok(())
            }
            SpawnError::Step(step, errno) => write!(
                f,
                "cannot {}: {}",
                step.describe(),
                io::Error::from_raw_os_error(*errno)
            ),
        }
    }
}

extern "C" fn child_main(arg: *mut libc::c_void) -> c_int {
    // SAFETY: `arg` is the ChildArgs that spawn() keeps alive until this child has exec'd or exited.
    let args = unsafe { &*(arg as *const ChildArgs) };
    exec_child(args.plan, args.report)
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `capget(2)` of the calling thread: (effective, permitted, inheritable), bit n = capability n.
pub fn capget() -> io::Result<(u64, u64, u64)> {
    let hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and two data words as capget(2) expects for version 3, alive for the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &hdr as *const CapHeader,
            data.as_mut_ptr(),
        )
    };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    let join = |lo: u32, hi: u32| u64::from(lo) | u64::from(hi) << 32;
    Ok((
        join(data[0].effective, data[1].effective),
        join(data[0].permitted, data[1].permitted),
        join(data[0].inheritable, data[1].inheritable),
    ))
}

/// `capset(2)` of the calling thread: effective, permitted, inheritable.
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> io::Result<()> {
    let hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    #[allow(
        clippy::cast_possible_truncation,
        reason = "capset(2) takes the 64 bits of a set as two u32 words, low word first"
    )]
    let word = |m: u64, hi: bool| (if hi { m >> 32 } else { m }) as u32;
    let data = [false, true].map(|hi| CapData {
        effective: word(effective, hi),
        permitted: word(permitted, hi),
        inheritable: word(inheritable, hi),
    });
    // SAFETY: header and two data words as capset(2) expects for version 3, alive for the call.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &hdr as *const CapHeader, data.as_ptr()) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `prctl` with two integer arguments (PR_CAP_AMBIENT).
pub fn prctl3(option: c_int, arg2: libc::c_ulong, arg3: libc::c_ulong) -> io::Result<c_int> {
    // SAFETY: the options used with it take integer arguments only, no pointers.
    check(unsafe { libc::prctl(option, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong) })
}

/// Whether `fd` is an open descriptor of this process (`fcntl(F_GETFD)`).
pub fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only inspects the descriptor number.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// Limits every child sets on itself between clone and exec (the program's own limits, which PID 1
/// does not share: see `harden::plan::scope`): (resource, soft, hard). Set once, by
/// `harden::apply`, before the first child; read by the child without a lock or an allocation.
static CHILD_RLIMITS: std::sync::OnceLock<Box<[(nix::sys::resource::Resource, u64, u64)]>> =
    std::sync::OnceLock::new();

/// Sets the limits every later child applies before `execve`; only the first call counts.
pub fn set_child_rlimits(limits: Vec<(nix::sys::resource::Resource, u64, u64)>) {
    let _ = CHILD_RLIMITS.set(limits.into_boxed_slice());
}

/// Installs seccomp filters on the calling thread. Async-signal-safe.
pub fn install_filters(filters: &[Vec<libc::sock_filter>]) -> Result<(), i32> {
    for f in filters {
        let prog = libc::sock_fprog {
            // A longer program would be cut short, not refused: the kernel takes at most 4,096.
            len: u16::try_from(f.len()).map_err(|_| libc::EINVAL)?,
            filter: f.as_ptr().cast_mut(),
        };
        // SAFETY: prog points into a live filter vector; the kernel copies it during the call.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER as libc::c_ulong,
                0 as libc::c_ulong,
                &prog as *const libc::sock_fprog,
            )
        };
        if ret == -1 {
            return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
        }
    }
    Ok(())
}

/// The child after clone: applies the plan and execs. Never returns. Every call below is a single
/// syscall on data prepared before the clone (see [`spawn`]); every failure ends in `die`.
fn exec_child(plan: &ChildPlan, report: &Report) -> ! {
    let errno = || io::Error::last_os_error().raw_os_error().unwrap_or(0);
    let die = |step: Step, err: i32| -> ! {
        report.errno.store(err, Ordering::SeqCst);
        report.step.store(step as u32, Ordering::SeqCst);
        let code = match step {
            Step::Exec => crate::error::exec_exit_code(err),
            _ => crate::error::EXIT_SETUP,
        };
        // SAFETY: _exit is async-signal-safe and ends only this child (its own thread group).
        unsafe { libc::_exit(code) }
    };

    match plan.place {
        // A process group of its own, so that -g and terminal job control address only the
        // program.
        Place::OwnGroup => {
            // SAFETY: setpgid takes integers only.
            if unsafe { libc::setpgid(0, 0) } == -1 {
                die(Step::Setpgid, errno());
            }
        }
        // dumb-init's order: setsid, then stdin's terminal as controlling terminal. TIOCSCTTY
        // fails (EPERM) while the terminal belongs to another session (pidguard run from a
        // shell): the program then has none, as under dumb-init; not an error.
        Place::NewSession => {
            // SAFETY: setsid takes no argument.
            if unsafe { libc::setsid() } == -1 {
                die(Step::Setsid, errno());
            }
            // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal the terminal).
            unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0 as c_int) };
        }
        Place::Stay => {}
    }
    // dup2 onto itself would keep close-on-exec (an fd opened while 0, 1 or 2 was closed got
    // that very number): clear the flag instead.
    let redirect = |fd: RawFd, to: RawFd| {
        if fd == to {
            // SAFETY: F_SETFD takes an integer argument.
            unsafe { libc::fcntl(fd, libc::F_SETFD, 0) != -1 }
        } else {
            // SAFETY: dup2 takes descriptor numbers only.
            unsafe { libc::dup2(fd, to) != -1 }
        }
    };
    if let Some(fd) = plan.output
        && !(redirect(fd, 1) && redirect(fd, 2))
    {
        die(Step::Output, errno());
    }
    if let Some(fd) = plan.input
        && !redirect(fd, 0)
    {
        die(Step::Output, errno());
    }
    // SIGTTOU is still blocked here (inherited mask), so tcsetpgrp from the background cannot
    // stop us. ENOTTY and friends just mean there is no controlling terminal: not an error.
    if plan.foreground && plan.place == Place::OwnGroup {
        // SAFETY: getpid takes no argument.
        let me = unsafe { libc::getpid() };
        // SAFETY: tcsetpgrp takes descriptor and group numbers only.
        unsafe { libc::tcsetpgrp(0, me) };
    }
    for &sig in &plan.reignore {
        // SAFETY: sigaction is plain data (the handler is an integer), for which zero is SIG_DFL.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = libc::SIG_IGN;
        // SAFETY: the action is a local with a special handler value (no function pointer of ours).
        if unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) } == -1 {
            die(Step::Signals, errno());
        }
    }
    // Identity, capabilities, no_new_privs, the shared rlimits and the umask were applied to PID 1
    // before the clone (harden/apply.rs) and are inherited. The program's own limits are set
    // here (lowering needs no privilege; PID 1 raised any hard limit above its own before the
    // drop). The seccomp filter is the last step before exec, so that nothing above runs under
    // it; it needs no_new_privs, already set.
    if let Some(limits) = CHILD_RLIMITS.get() {
        for &(resource, soft, hard) in limits.iter() {
            let lim = libc::rlimit64 {
                rlim_cur: soft,
                rlim_max: hard,
            };
            // SAFETY: prlimit64 of ourselves reads the local new limit; the old one is not asked.
            let ret = unsafe {
                libc::syscall(
                    libc::SYS_prlimit64,
                    0 as libc::c_long,
                    resource as libc::c_long,
                    &lim as *const libc::rlimit64,
                    std::ptr::null_mut::<libc::rlimit64>(),
                )
            };
            if ret == -1 {
                die(Step::Rlimits, errno());
            }
        }
    }
    // A set-up step runs while PID 1 still holds what it started with: lower the child alone,
    // in harden/apply.rs's order (bounding set while CAP_SETPCAP is effective, then capset,
    // then no_new_privs). Starting as root, execve would refill permitted from the bounding
    // set (capabilities(7), "root"); with no_new_privs the kernel keeps permitted within what
    // the process had before the exec (security/commoncap.c), so the step gets `keep` only.
    // capset with an empty inheritable set also empties the ambient set.
    if let Some(c) = plan.caps {
        for cap in 0..=c.last_cap.min(63) {
            if c.drop_bounding & (1 << cap) == 0 {
                continue;
            }
            // SAFETY: PR_CAPBSET_DROP takes integer arguments only.
            if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } == -1 {
                die(Step::Caps, errno());
            }
        }
        if let Err(e) = capset(c.keep, c.keep, 0) {
            die(Step::Caps, e.raw_os_error().unwrap_or(0));
        }
        // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } == -1 {
            die(Step::Caps, errno());
        }
    }
    // Landlock after no_new_privs (it needs it) and before seccomp (a custom profile need not
    // allow landlock_restrict_self).
    if let Some(fd) = plan.landlock
        && let Err(err) = landlock_restrict_self(fd)
    {
        die(Step::Landlock, err);
    }
    if let Err(err) = install_filters(&plan.filters) {
        die(Step::Seccomp, err);
    }
    // Recording: from here on every syscall not allowed by the recording filter waits for
    // PID 1, which is suspended until our execve: the filter lets exactly the rest through.
    if let Some(filter) = &plan.record {
        match install_listener_filter(filter) {
            Ok(fd) => report.listener.store(fd + 1, Ordering::SeqCst),
            Err(err) => die(Step::Seccomp, err),
        }
    }
    // SAFETY: sigprocmask reads the mask in the plan, alive until the parent wakes.
    if unsafe { libc::sigprocmask(libc::SIG_SETMASK, &plan.sigmask, std::ptr::null_mut()) } == -1 {
        die(Step::Mask, errno());
    }
    // execvp's rule: go on past ENOENT/ENOTDIR and EACCES, report EACCES if one was seen.
    let mut seen_eacces = false;
    let mut last = libc::ENOENT;
    for path in &plan.paths {
        // SAFETY: the path is a live C string; argv and envp are null-terminated arrays of
        // pointers to C strings that the plan keeps alive (sealed before the clone).
        unsafe {
            libc::execve(
                path.as_ptr(),
                plan.argv_ptrs.as_ptr(),
                plan.envp.ptrs.as_ptr(),
            )
        };
        last = errno();
        match last {
            libc::ENOENT | libc::ENOTDIR => continue,
            libc::EACCES => seen_eacces = true,
            _ => break,
        }
    }
    // Blocking everything again is not needed: die() exits at once.
    die(
        Step::Exec,
        if seen_eacces && matches!(last, libc::ENOENT | libc::ENOTDIR | libc::EACCES) {
            libc::EACCES
        } else {
            last
        },
    )
}

// Landlock (landlock(7), include/uapi/linux/landlock.h). Syscall numbers are the same on every
// architecture (the unified table since 5.13).
const SYS_LANDLOCK_CREATE_RULESET: libc::c_long = 444;
const SYS_LANDLOCK_ADD_RULE: libc::c_long = 445;
const SYS_LANDLOCK_RESTRICT_SELF: libc::c_long = 446;
const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1 << 0;
const LANDLOCK_RULE_PATH_BENEATH: u32 = 1;
const LANDLOCK_RULE_NET_PORT: u32 = 2;

/// `struct landlock_ruleset_attr` as of ABI 6; older kernels take a prefix of it (see
/// [`landlock_create_ruleset`]).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LandlockRulesetAttr {
    pub handled_access_fs: u64,
    pub handled_access_net: u64,
    pub scoped: u64,
}

/// `struct landlock_path_beneath_attr`: packed in the UAPI (12 bytes).
#[repr(C, packed)]
struct LandlockPathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// `struct landlock_net_port_attr`.
#[repr(C)]
struct LandlockNetPortAttr {
    allowed_access: u64,
    port: u64,
}

/// The kernel's Landlock ABI version: ENOSYS without Landlock, EOPNOTSUPP when it is built in
/// but not enabled at boot.
pub fn landlock_abi() -> io::Result<u32> {
    // SAFETY: with a null attribute and size 0, the VERSION flag only returns a number.
    let ret = unsafe {
        libc::syscall(
            SYS_LANDLOCK_CREATE_RULESET,
            std::ptr::null::<LandlockRulesetAttr>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    // The only negative return is -1, with errno.
    u32::try_from(ret).map_err(|_| io::Error::last_os_error())
}

/// A new ruleset. `size` is how much of the attribute the kernel knows: 8 bytes before ABI 4 (fs
/// only), 16 before ABI 6 (no scopes), 24 from ABI 6; a larger struct with non-zero fields it does
/// not know is refused (E2BIG), so the caller sizes it to the ABI. The descriptor is close-on-exec.
pub fn landlock_create_ruleset(attr: &LandlockRulesetAttr, size: usize) -> io::Result<OwnedFd> {
    let size = size.min(std::mem::size_of::<LandlockRulesetAttr>());
    // SAFETY: `attr` is a live repr(C) struct of at least `size` bytes; the kernel copies it.
    let fd = unsafe {
        libc::syscall(
            SYS_LANDLOCK_CREATE_RULESET,
            attr as *const LandlockRulesetAttr,
            size,
            0u32,
        )
    };
    match RawFd::try_from(fd) {
        // SAFETY: a new descriptor the kernel just returned, owned by nobody else.
        Ok(fd) if fd >= 0 => Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
        _ => Err(io::Error::last_os_error()),
    }
}

/// Allows `access` beneath the file or directory open (O_PATH is enough) as `parent`.
pub fn landlock_add_path_rule(ruleset: &OwnedFd, access: u64, parent: &OwnedFd) -> io::Result<()> {
    let attr = LandlockPathBeneathAttr {
        allowed_access: access,
        parent_fd: parent.as_raw_fd(),
    };
    // SAFETY: the attribute is a live packed struct laid out as the UAPI's; the kernel copies it.
    let ret = unsafe {
        libc::syscall(
            SYS_LANDLOCK_ADD_RULE,
            ruleset.as_raw_fd(),
            LANDLOCK_RULE_PATH_BENEATH,
            &attr as *const LandlockPathBeneathAttr,
            0u32,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Allows `access` (bind, connect) on TCP `port`.
pub fn landlock_add_port_rule(ruleset: &OwnedFd, access: u64, port: u16) -> io::Result<()> {
    let attr = LandlockNetPortAttr {
        allowed_access: access,
        port: u64::from(port),
    };
    // SAFETY: as above, a live repr(C) struct the kernel copies.
    let ret = unsafe {
        libc::syscall(
            SYS_LANDLOCK_ADD_RULE,
            ruleset.as_raw_fd(),
            LANDLOCK_RULE_NET_PORT,
            &attr as *const LandlockNetPortAttr,
            0u32,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Enforces a ruleset on the calling thread and everything it starts from now on (needs
/// no_new_privs or CAP_SYS_ADMIN). One syscall, no allocation: safe between clone and exec.
pub fn landlock_restrict_self(ruleset: RawFd) -> Result<(), i32> {
    // SAFETY: integer arguments only.
    let ret = unsafe { libc::syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0u32) };
    if ret < 0 {
        return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    Ok(())
}

/// How many more Landlock domains the kernel would stack on this process (16 in none), counted in a
/// forked child that sets no_new_privs and enforces `ruleset` until the kernel answers E2BIG: the
/// domains stay in the child. For `pidguard audit`, which is single-threaded.
pub fn landlock_free_layers(ruleset: &OwnedFd) -> io::Result<u32> {
    let fd = ruleset.as_raw_fd();
    // SAFETY: the audit has one thread, so the child's copy of the memory is consistent; the child
    // only makes syscalls on integers and leaves with _exit, running no destructor.
    let pid = check(unsafe { libc::fork() })?;
    if pid == 0 {
        let mut code = 0;
        // SAFETY: PR_SET_NO_NEW_PRIVS takes integers only.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            code = 64
                + io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(0)
                    .min(63);
        }
        while code < 17 {
            match landlock_restrict_self(fd) {
                Ok(()) => code += 1,
                Err(libc::E2BIG) => break,
                Err(errno) => code = 64 + errno.min(63),
            }
        }
        // SAFETY: ends only this child, running nothing of the parent's.
        unsafe { libc::_exit(code) }
    }
    let mut status = 0;
    // SAFETY: waits for the child just forked, writing its status into a local.
    check(unsafe { libc::waitpid(pid, &mut status, 0) })?;
    match libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)) {
        Some(n @ 0..=16) => Ok(n.unsigned_abs()),
        Some(n @ 64..) => Err(io::Error::from_raw_os_error(n - 64)),
        _ => Err(io::Error::other("the counting child failed")),
    }
}

/// Supplementary groups of the process, `getgroups(2)`.
pub fn getgroups() -> io::Result<Vec<u32>> {
    // SAFETY: with size 0, getgroups only returns how many groups there are.
    let n = check(unsafe { libc::getgroups(0, std::ptr::null_mut()) })?;
    // getgroups' only negative return is -1, which `check` made an error.
    let mut v = vec![0 as libc::gid_t; usize::try_from(n).unwrap_or(0)];
    // SAFETY: fills a buffer of exactly `n` groups, a local vector.
    let n = check(unsafe { libc::getgroups(n, v.as_mut_ptr()) })?;
    v.truncate(usize::try_from(n).unwrap_or(0));
    Ok(v)
}

// --- Seccomp user notification, for the recording mode (seccomp/record.rs) ---------------------

/// Installs `filter` on the calling thread with `SECCOMP_FILTER_FLAG_NEW_LISTENER` and returns the
/// listener descriptor, which the kernel makes close-on-exec (seccomp(2)). Async-signal-safe: the
/// child calls it between clone and exec.
pub fn install_listener_filter(filter: &[libc::sock_filter]) -> Result<RawFd, i32> {
    let prog = libc::sock_fprog {
        len: u16::try_from(filter.len()).map_err(|_| libc::EINVAL)?,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: prog points into the caller's live filter slice; the kernel copies it during the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER as libc::c_ulong,
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            &prog as *const libc::sock_fprog,
        )
    };
    match RawFd::try_from(ret) {
        Ok(fd) if fd >= 0 => Ok(fd),
        _ => Err(io::Error::last_os_error().raw_os_error().unwrap_or(0)),
    }
}

/// One syscall a filter handed to its listener: what `SECCOMP_IOCTL_NOTIF_RECV` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notification {
    /// The cookie to answer with.
    pub id: u64,
    pub pid: u32,
    pub nr: i32,
    /// `AUDIT_ARCH_*` of the calling ABI.
    pub arch: u32,
    pub args: [u64; 6],
}

/// Takes one pending notification. Call it only after poll(2) said the listener is readable: the
/// kernel counts pending notifications in a semaphore that only over-counts (a caller that was
/// killed leaves its count behind), so the call then returns at once, with ENOENT in that case.
pub fn notif_recv(listener: RawFd) -> io::Result<Notification> {
    // SAFETY: seccomp_notif is plain integers; the kernel insists that it is zeroed before the call.
    let mut n: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: the ioctl writes exactly one seccomp_notif into the local, whose size its number encodes.
    check(unsafe {
        libc::ioctl(
            listener,
            libc::SECCOMP_IOCTL_NOTIF_RECV,
            &mut n as *mut libc::seccomp_notif,
        )
    })?;
    Ok(Notification {
        id: n.id,
        pid: n.pid,
        nr: n.data.nr,
        arch: n.data.arch,
        args: n.data.args,
    })
}

/// Lets the notified syscall run as if no listener were there (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`,
/// Linux 5.5). ENOENT: the caller died or was interrupted meanwhile, nothing to answer.
pub fn notif_continue(listener: RawFd, id: u64) -> io::Result<()> {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the flag is 1; libc declares it u64, the UAPI field is u32"
    )]
    const CONTINUE: u32 = libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32;
    let resp = libc::seccomp_notif_resp {
        id,
        val: 0,
        error: 0,
        flags: CONTINUE,
    };
    // SAFETY: the ioctl only reads the local response, whose size its number encodes.
    check(unsafe {
        libc::ioctl(
            listener,
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            &resp as *const libc::seccomp_notif_resp,
        )
    })
    .map(drop)
}

/// Asks the kernel to wake the notified task on the CPU of the answering one
/// (`SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`, Linux 6.6): a round trip then costs less. Older kernels
/// answer EINVAL (or ENOTTY), which only means the slower wake-up.
pub fn notif_sync_wake_up(listener: RawFd) -> io::Result<()> {
    const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;
    // SAFETY: SET_FLAGS takes its flags as the integer argument itself, no pointer.
    check(unsafe {
        libc::ioctl(
            listener,
            libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS,
            SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP,
        )
    })
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(c: &std::ffi::CStr) -> String {
        c.to_string_lossy().into_owned()
    }

    #[test]
    fn environ_sets_on_top_of_ours() {
        let own: Vec<String> = std::env::vars_os()
            .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
            .collect();
        let e = environ(&[("HOME", "/h"), ("PIDGUARD_TEST_NEW", "1")]).unwrap();
        let got: Vec<String> = e.entries().map(text).collect();
        let kept: Vec<&String> = own.iter().filter(|v| !v.starts_with("HOME=")).collect();
        assert_eq!(got.len(), kept.len() + 2, "{got:?}");
        assert!(kept.iter().all(|v| got.contains(v)));
        assert_eq!(
            got.iter()
                .filter(|v| v.starts_with("HOME="))
                .collect::<Vec<_>>(),
            ["HOME=/h"]
        );
        assert_eq!(got.last().map(String::as_str), Some("PIDGUARD_TEST_NEW=1"));
        // Nothing set: exactly our environment, in order (std's view skips entries without '=').
        let same: Vec<String> = environ(&[])
            .unwrap()
            .entries()
            .map(text)
            .filter(|e| e.get(1..).is_some_and(|rest| rest.contains('=')))
            .collect();
        assert_eq!(same, own);
    }

    #[test]
    fn environ_refuses_a_nul_byte() {
        assert!(environ(&[("A", "x\0y")]).is_err());
    }

    #[test]
    fn vars_with_prefix_is_a_filter_of_ours() {
        // cargo test gives every test binary CARGO_* variables.
        let want: Vec<_> = std::env::vars_os()
            .filter(|(k, _)| k.to_string_lossy().starts_with("CARGO_"))
            .collect();
        assert!(!want.is_empty());
        assert_eq!(vars_with_prefix(&["CARGO_"]), want);
        assert!(vars_with_prefix(&["PIDGUARD_NO_SUCH_PREFIX_"]).is_empty());
    }
}
