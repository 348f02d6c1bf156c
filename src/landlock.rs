//! Landlock: the kernel confines the program from the inside of the image, with no capability.
//!
//! Landlock (landlock(7), Documentation/userspace-api/landlock.rst) lets an unprivileged process
//! with no_new_privs restrict itself and everything it starts, for good: a *ruleset* names the
//! kinds of access it "handles" (denied unless a rule allows them), rules allow some of them beneath
//! a path or on a TCP port, and `landlock_restrict_self` enforces it as a new *domain*, nested in
//! the caller's. pidguard uses it for two things:
//!
//! 1. **Scopes, always (ABI 6, Linux 6.12):** every child of PID 1 gets a domain of its own with
//!    `LANDLOCK_SCOPE_SIGNAL` and `LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET`: it can signal only processes
//!    in its own domain or nested ones (its own descendants), and connect only to abstract unix
//!    sockets created there. PID 1 is outside that domain, so the program can neither signal it
//!    (`kill`, `pidfd_send_signal` on `/proc/1`, `F_SETOWN_EX` and every other way the kernel checks
//!    with `security_task_kill`/`file_send_sigiotask`) nor connect to its status socket. The
//!    kernel's own SIGCHLD to PID 1 is not a signal the child sends, so reaping is unaffected; PID 1
//!    still signals the program (the restriction is on the sender), and `pidguard probe` from
//!    `docker exec` is outside every domain, so it still reaches the status socket. The domain is
//!    made in the child, between clone and exec: PID 1 prepares the ruleset once and the child
//!    only calls `landlock_restrict_self(fd, 0)`, one syscall that allocates nothing in our memory.
//!    Each child gets its own domain, so an `exec:` check cannot signal the program either.
//!    On an older kernel the seccomp guard (`seccomp/guard.rs`) is the defence, and this is logged
//!    at debug level only: the user asked for nothing.
//!
//! 2. **A read-only root, on request (`--read-only`, ABI 1 to 3):** the ruleset handles every kind
//!    of write (write to a file, create, remove, rename, link, make devices/fifos/sockets/symlinks,
//!    truncate), allows them beneath each `--writable PATH` and allows writing (not creating) the
//!    character devices every program writes ([`ALWAYS_WRITABLE`]). Reading and executing are not
//!    handled, so they stay as they were. `--allow-bind`/`--allow-connect` (ABI 4) add TCP rules.
//!    PID 1 enforces this ruleset on **itself** after no_new_privs and before its seccomp filter
//!    (it writes nothing after start-up: its sockets are bound, its log is stderr), and every child
//!    inherits it, restarts and checks included; the per-child scope domain above nests inside.
//!
//! The `--writable` paths are opened (O_PATH) in PID 1's preparation, before anything is dropped,
//! and a path whose descriptor the kernel names differently (a symlink anywhere on the way) is
//! refused: a rule holds the inode opened then, and a link the program could replace before the
//! next start must not decide what is writable. An always-writable device that is missing, a
//! symlink or not what is listed is skipped. `--allow-connect` applies to PID 1 too, so an
//! `http://`/`tcp://` app check on a port it does not list is refused at start (`cli::finish`).
//!
//! Strict by default: when a requested rule needs a newer ABI than the kernel has, pidguard exits
//! 125 naming the ABI, because a user who asked for a read-only root and silently got a writable
//! one is worse off than one whose container did not start. `--landlock best-effort` runs anyway
//! and warns once with the exact rules that could not be applied; `--landlock off` turns Landlock
//! off entirely (the scopes too) for the rare program that must signal or connect outside itself.
//!
//! What Landlock does not cover: metadata changes (`chmod`, `chown`, `utimes`, `setxattr`) are not
//! access rights Landlock has, so a file the program owns keeps its owner's rights there; DAC and
//! the read-only mounts of the runtime still apply. Descriptors opened before the restriction
//! (stdout, stderr) keep working whatever they point to.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::error::{EXIT_SETUP, SetupError};
use crate::sys;

/// `LANDLOCK_ACCESS_FS_*` (ABI 1 unless noted).
pub mod fs {
    pub const EXECUTE: u64 = 1 << 0;
    pub const WRITE_FILE: u64 = 1 << 1;
    pub const READ_FILE: u64 = 1 << 2;
    pub const READ_DIR: u64 = 1 << 3;
    pub const REMOVE_DIR: u64 = 1 << 4;
    pub const REMOVE_FILE: u64 = 1 << 5;
    pub const MAKE_CHAR: u64 = 1 << 6;
    pub const MAKE_DIR: u64 = 1 << 7;
    pub const MAKE_REG: u64 = 1 << 8;
    pub const MAKE_SOCK: u64 = 1 << 9;
    pub const MAKE_FIFO: u64 = 1 << 10;
    pub const MAKE_BLOCK: u64 = 1 << 11;
    pub const MAKE_SYM: u64 = 1 << 12;
    /// ABI 2: rename and link across directories. Without it handled, the kernel refuses them all
    /// (EXDEV), which is stricter, not weaker.
    pub const REFER: u64 = 1 << 13;
    /// ABI 3: truncate(2), ftruncate on a descriptor opened after the restriction, O_TRUNC.
    pub const TRUNCATE: u64 = 1 << 14;
    /// Rights that apply to a file (not a directory): a rule on a file may hold only these.
    pub const FILE: u64 = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE;
}

/// `LANDLOCK_ACCESS_NET_*` (ABI 4).
pub mod net {
    pub const BIND_TCP: u64 = 1 << 0;
    pub const CONNECT_TCP: u64 = 1 << 1;
}

/// `LANDLOCK_SCOPE_*` (ABI 6).
pub mod scope {
    pub const ABSTRACT_UNIX_SOCKET: u64 = 1 << 0;
    pub const SIGNAL: u64 = 1 << 1;
}

/// ABI that has the scopes.
pub const ABI_SCOPES: u32 = 6;
/// ABI that can deny truncation, without which `--read-only` is not read-only.
pub const ABI_READ_ONLY: u32 = 3;
/// ABI that has TCP rules.
pub const ABI_NET: u32 = 4;

/// Character devices and directories every program may write under `--read-only`, and why:
/// - `/dev/null`, `/dev/zero`, `/dev/full`: discarding output (`>/dev/null`, which opens with O_TRUNC
///   and so also needs the truncate right), and their use in tests of write errors;
/// - `/dev/tty`, `/dev/pts` (its devices, not new entries), `/dev/ptmx`: the terminal with
///   `docker run -t`, and programs that open a pseudo-terminal (python's `pty`, `script`, ssh);
/// - `/dev/shm`: POSIX shared memory and semaphores (`shm_open`, `sem_open`: python's
///   multiprocessing locks, Chromium), a tmpfs that Docker's own `--read-only` leaves writable too.
///
/// Not listed: `/dev/stdout`, `/dev/stderr` and `/proc/self/fd/N` resolve to what the descriptor is:
/// a pipe or socket (no path, never restricted), a terminal (above), or a regular file, which can be
/// reopened for writing only if it is under a `--writable` path. `/dev/random` and `/dev/urandom`
/// are read (getrandom(2) needs no file); writing them only stirs the pool, and no program we
/// tried needs it.
pub const ALWAYS_WRITABLE: &[(&str, Device)] = &[
    ("/dev/null", Device::File),
    ("/dev/zero", Device::File),
    ("/dev/full", Device::File),
    ("/dev/tty", Device::File),
    ("/dev/ptmx", Device::File),
    ("/dev/pts", Device::Files),
    ("/dev/shm", Device::Tree),
];

/// How much of an always-writable path may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// The file itself (write, and truncate for O_TRUNC).
    File,
    /// Existing files beneath a directory, no new entries.
    Files,
    /// Everything, like a `--writable` path.
    Tree,
}

/// `--landlock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// A requested rule the kernel cannot enforce is an error (125).
    #[default]
    Strict,
    /// It is a warning, once, naming each rule that is not enforced.
    BestEffort,
    /// No Landlock at all, the scopes included.
    Off,
}

/// What the user asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub read_only: bool,
    pub writable: Vec<PathBuf>,
    pub allow_bind: Vec<u16>,
    pub allow_connect: Vec<u16>,
    pub mode: Mode,
}

impl Request {
    /// Whether the user asked for any rule (as opposed to the scopes pidguard adds by itself).
    pub fn wants_rules(&self) -> bool {
        self.read_only
            || !self.writable.is_empty()
            || !self.allow_bind.is_empty()
            || !self.allow_connect.is_empty()
    }
}

/// A `--writable` value: absolute, without `..`, in the normal form the kernel gives back for an
/// open descriptor (no `.`, no doubled or trailing `/`), which `open_path` compares with it.
pub fn parse_writable(v: &str) -> Result<PathBuf, String> {
    use std::path::Component;
    let path = Path::new(v);
    if !path.is_absolute() {
        return Err("give an absolute path (e.g. /tmp)".into());
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err("give the path without .. (e.g. /app/cache)".into());
    }
    let path: PathBuf = path.components().collect();
    if path == Path::new("/") {
        return Err("/ would make everything writable: drop --read-only instead".into());
    }
    Ok(path)
}

/// `PORT[,PORT...]`, each from 1 to 65535.
pub fn parse_ports(v: &str) -> Result<Vec<u16>, String> {
    v.split(',')
        .map(|p| {
            p.trim()
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| {
                    format!("{p:?} is not a TCP port: use numbers from 1 to 65535 (e.g. 8080,8443)")
                })
        })
        .collect()
}

/// One path rule: allow `access` beneath `path`. `device`: one of [`ALWAYS_WRITABLE`], skipped
/// when it is missing, a symlink or not the kind of file listed; `None`: a `--writable` path, for
/// which each of those is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRule {
    pub path: PathBuf,
    pub access: u64,
    pub device: Option<Device>,
}

/// A ruleset as the kernel will get it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    pub attr: sys::LandlockRulesetAttr,
    pub paths: Vec<PathRule>,
    pub ports: Vec<(u16, u64)>,
}

/// What to enforce, decided from the request and the kernel's ABI (pure).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Enforced by PID 1 on itself, inherited by every child: the user's rules.
    pub own: Option<Rules>,
    /// Enforced by each child on top: the scopes (0: none).
    pub child_scopes: u64,
    /// Requested rules this kernel cannot enforce (only in best-effort mode; strict refuses).
    pub missing: Vec<String>,
}

/// Every write right the ABI knows.
pub fn write_rights(abi: u32) -> u64 {
    let mut rights = fs::WRITE_FILE
        | fs::REMOVE_DIR
        | fs::REMOVE_FILE
        | fs::MAKE_CHAR
        | fs::MAKE_DIR
        | fs::MAKE_REG
        | fs::MAKE_SOCK
        | fs::MAKE_FIFO
        | fs::MAKE_BLOCK
        | fs::MAKE_SYM;
    if abi >= 2 {
        rights |= fs::REFER;
    }
    if abi >= ABI_READ_ONLY {
        rights |= fs::TRUNCATE;
    }
    rights
}

fn abi_text(abi: Option<u32>) -> String {
    match abi {
        Some(n) if n > 0 => format!("Landlock ABI {n}"),
        _ => "no Landlock".into(),
    }
}

/// Decides what to enforce. `abi` is `None` when the kernel has no (enabled) Landlock. Fails, in
/// strict mode, with the line the user sees when a requested rule cannot be enforced here.
pub fn plan(req: &Request, abi: Option<u32>) -> Result<Plan, String> {
    if req.mode == Mode::Off {
        if req.wants_rules() {
            return Err(
                "--landlock off cannot be combined with --read-only, --writable, --allow-bind or \
                 --allow-connect: drop one of them"
                    .into(),
            );
        }
        return Ok(Plan::default());
    }
    if !req.writable.is_empty() && !req.read_only {
        return Err("--writable only means something with --read-only: add --read-only".into());
    }
    let abi_n = abi.unwrap_or(0);
    let mut missing = Vec::new();
    let mut attr = sys::LandlockRulesetAttr::default();
    let mut paths = Vec::new();
    let mut ports = Vec::new();
    if req.read_only {
        if abi_n == 0 {
            missing.push("--read-only: nothing is read-only (the kernel has no Landlock)".into());
        } else {
            if abi_n < ABI_READ_ONLY {
                missing.push(format!(
                    "--read-only: truncating files (truncate(2), O_TRUNC) stays allowed everywhere \
                     (needs Landlock ABI {ABI_READ_ONLY}, this kernel has {abi_n})"
                ));
            }
            let all = write_rights(abi_n);
            attr.handled_access_fs = all;
            for (path, device) in ALWAYS_WRITABLE {
                let access = match device {
                    Device::File | Device::Files => (fs::WRITE_FILE | fs::TRUNCATE) & all,
                    Device::Tree => all,
                };
                paths.push(PathRule {
                    path: PathBuf::from(path),
                    access,
                    device: Some(*device),
                });
            }
            for path in &req.writable {
                paths.push(PathRule {
                    path: path.clone(),
                    access: all,
                    device: None,
                });
            }
        }
    }
    for (flag, list, right) in [
        ("--allow-bind", &req.allow_bind, net::BIND_TCP),
        ("--allow-connect", &req.allow_connect, net::CONNECT_TCP),
    ] {
        if list.is_empty() {
            continue;
        }
        if abi_n < ABI_NET {
            missing.push(format!(
                "{flag}: TCP stays unrestricted (needs Landlock ABI {ABI_NET}, this kernel has {})",
                abi_text(abi)
            ));
            continue;
        }
        attr.handled_access_net |= right;
        for &port in list.iter() {
            match ports.iter_mut().find(|(p, _)| *p == port) {
                Some((_, access)) => *access |= right,
                None => ports.push((port, right)),
            }
        }
    }
    if !missing.is_empty() && req.mode == Mode::Strict {
        let need = if req.read_only && abi_n < ABI_READ_ONLY {
            ABI_READ_ONLY
        } else {
            ABI_NET
        };
        return Err(format!(
            "cannot enforce what was asked: the kernel has {} and this needs ABI {need} ({}); \
             run on a newer kernel, or accept it with --landlock best-effort",
            abi_text(abi),
            missing.join("; ")
        ));
    }
    let own = (attr != sys::LandlockRulesetAttr::default()).then_some(Rules { attr, paths, ports });
    Ok(Plan {
        own,
        child_scopes: if abi_n >= ABI_SCOPES {
            scope::SIGNAL | scope::ABSTRACT_UNIX_SOCKET
        } else {
            0
        },
        missing,
    })
}

/// The size of `struct landlock_ruleset_attr` a kernel of this ABI knows.
fn attr_size(abi: u32) -> usize {
    match abi {
        0..=3 => 8,
        4..=5 => 16,
        _ => 24,
    }
}

/// Rulesets ready for the kernel: PID 1's own (enforced by [`Prepared::enforce_own`]) and the one
/// every child enforces between clone and exec.
#[derive(Debug, Default)]
pub struct Prepared {
    own: Option<OwnedFd>,
    /// The per-child ruleset (the scopes); its descriptor stays open in PID 1 for restarts.
    pub child: Option<OwnedFd>,
    /// What the user asked for that is not enforced (best-effort), already warned about.
    pub missing: Vec<String>,
}

impl Prepared {
    /// Whether each child gets Landlock's signal scope (the seccomp guard then leaves the calls it
    /// cannot see to the kernel).
    pub fn scoped(&self) -> bool {
        self.child.is_some()
    }

    /// Confines PID 1 itself with the user's rules; call after no_new_privs, before the seccomp
    /// filter (a custom profile need not allow landlock_restrict_self).
    pub fn enforce_own(&self) -> Result<(), SetupError> {
        let Some(fd) = &self.own else {
            return Ok(());
        };
        sys::landlock_restrict_self(fd.as_raw_fd()).map_err(|errno| {
            SetupError::new(
                EXIT_SETUP,
                format!(
                    "cannot enforce the Landlock rules (landlock_restrict_self): {}",
                    std::io::Error::from_raw_os_error(errno)
                ),
            )
        })
    }
}

/// Reads the kernel's ABI and builds the rulesets. `no_new_privs`: whether PID 1 will have it
/// (without it and without CAP_SYS_ADMIN the kernel refuses to restrict).
pub fn prepare(req: &Request, no_new_privs: bool) -> Result<Prepared, SetupError> {
    let setup = |msg: String| SetupError::new(EXIT_SETUP, msg);
    if req.mode == Mode::Off && !req.wants_rules() {
        crate::debug!("Landlock off (--landlock off)");
        return Ok(Prepared::default());
    }
    if !no_new_privs {
        if req.wants_rules() {
            return Err(setup(
                "--read-only, --allow-bind and --allow-connect need no_new_privs (Landlock): drop \
                 --allow-new-privs"
                    .into(),
            ));
        }
        crate::debug!("Landlock scopes not applied: --allow-new-privs leaves no_new_privs off");
        return Ok(Prepared::default());
    }
    let (abi, why) = match sys::landlock_abi() {
        Ok(n) => (Some(n), String::new()),
        Err(e) => {
            crate::debug!("Landlock unavailable: {e}");
            // ENOSYS: not built in (before 5.13), or a seccomp profile refuses it; EOPNOTSUPP:
            // built in but not in the boot's lsm= list.
            (
                None,
                format!(
                    " (landlock_create_ruleset: {e}: the kernel lacks it or has it off in lsm=, \
                     or a seccomp profile or an emulator such as qemu-user refuses it)"
                ),
            )
        }
    };
    let plan = plan(req, abi).map_err(|m| setup(format!("{m}{why}")))?;
    if !plan.missing.is_empty() {
        crate::warn!(
            "Landlock best effort: not enforced: {}",
            plan.missing.join("; ")
        );
    }
    let abi = abi.unwrap_or(0);
    let own = match &plan.own {
        Some(rules) => Some(build(rules, abi).map_err(setup)?),
        None => None,
    };
    let child = if plan.child_scopes != 0 {
        let attr = sys::LandlockRulesetAttr {
            scoped: plan.child_scopes,
            ..Default::default()
        };
        match sys::landlock_create_ruleset(&attr, attr_size(abi)) {
            Ok(fd) => Some(fd),
            Err(e) => {
                crate::warn!("Landlock scopes not applied: cannot create the ruleset: {e}");
                None
            }
        }
    } else {
        crate::debug!(
            "Landlock scopes not applied: the kernel has ABI {abi}, they need {ABI_SCOPES}"
        );
        None
    };
    Ok(Prepared {
        own,
        child,
        missing: plan.missing,
    })
}

/// Creates the ruleset and adds every rule; a `--writable` path that cannot be opened is an error
/// naming it.
fn build(rules: &Rules, abi: u32) -> Result<OwnedFd, String> {
    let ruleset = sys::landlock_create_ruleset(&rules.attr, attr_size(abi))
        .map_err(|e| format!("cannot create the Landlock ruleset: {e}"))?;
    for rule in &rules.paths {
        let Some((fd, is_dir)) = open_path(rule)? else {
            continue;
        };
        let access = if is_dir {
            rule.access
        } else {
            rule.access & fs::FILE
        };
        sys::landlock_add_path_rule(&ruleset, access, &fd).map_err(|e| {
            format!(
                "cannot allow writes beneath {} (landlock_add_rule): {e}",
                rule.path.display()
            )
        })?;
    }
    for &(port, access) in &rules.ports {
        sys::landlock_add_port_rule(&ruleset, access, port)
            .map_err(|e| format!("cannot allow TCP port {port} (landlock_add_rule): {e}"))?;
    }
    Ok(ruleset)
}

/// Opens a rule's path with O_PATH (nothing is read, a FIFO cannot block) and says whether it is a
/// directory. `None`: a device of [`ALWAYS_WRITABLE`] this container does not have as listed.
///
/// A rule holds the inode opened here, for good, so a symlink anywhere on the way is refused (the
/// kernel's name for the descriptor must be the path as given): a link decides nothing. Otherwise
/// a program that may write where a `--writable` path or its parent lives could replace it by a
/// link to `/etc` before the container's next start and widen its own rules; and a path that
/// resolves elsewhere is better spelt as it resolves, which is what the error asks for.
fn open_path(rule: &PathRule) -> Result<Option<(OwnedFd, bool)>, String> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let path = &rule.path;
    let shown = path.display();
    let skip = |why: &str| {
        crate::debug!("Landlock: {shown} not writable: {why}");
        Ok(None)
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
        .open(path);
    let file = match (file, rule.device) {
        (Ok(f), _) => f,
        (Err(e), Some(_)) => return skip(&e.to_string()),
        (Err(e), None) => {
            return Err(format!(
                "--writable {shown}: {e}; create it in the image (or mount a volume there) or \
                 drop it"
            ));
        }
    };
    let real = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()));
    match (real, rule.device) {
        (Ok(real), _) if real == *path => {}
        (_, Some(_)) => return skip("a symlink"),
        (Ok(real), None) => {
            return Err(format!(
                "--writable {shown}: it resolves to {} through a symlink; give that path, since a \
                 link must not decide what is writable",
                real.display()
            ));
        }
        (Err(e), None) => {
            return Err(format!(
                "--writable {shown}: cannot check it for symlinks through /proc/self/fd ({e}): \
                 mount /proc"
            ));
        }
    }
    let kind = file
        .metadata()
        .map_err(|e| format!("--writable {shown}: {e}"))?
        .file_type();
    match rule.device {
        Some(Device::File) if !kind.is_char_device() => skip("not a character device"),
        Some(Device::Files | Device::Tree) if !kind.is_dir() => skip("not a directory"),
        _ => Ok(Some((OwnedFd::from(file), kind.is_dir()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(read_only: bool, writable: &[&str], mode: Mode) -> Request {
        Request {
            read_only,
            writable: writable.iter().map(PathBuf::from).collect(),
            mode,
            ..Default::default()
        }
    }

    #[test]
    fn scopes_alone_from_abi_6() {
        let r = Request::default();
        assert_eq!(plan(&r, Some(7)).unwrap().child_scopes, 3);
        assert_eq!(plan(&r, Some(6)).unwrap().own, None);
        assert_eq!(plan(&r, Some(5)).unwrap(), Plan::default());
        // Nothing asked: no Landlock is not an error, whatever the mode.
        assert_eq!(plan(&r, None).unwrap(), Plan::default());
        let off = Request {
            mode: Mode::Off,
            ..Default::default()
        };
        assert_eq!(plan(&off, Some(7)).unwrap(), Plan::default());
    }

    #[test]
    fn read_only_handles_every_write_and_allows_the_listed_paths() {
        let p = plan(&req(true, &["/tmp", "/app/cache"], Mode::Strict), Some(7)).unwrap();
        let own = p.own.unwrap();
        let all = write_rights(7);
        assert_eq!(own.attr.handled_access_fs, all);
        assert_eq!(own.attr.handled_access_fs & fs::READ_FILE, 0);
        assert_eq!(own.attr.handled_access_fs & fs::EXECUTE, 0);
        assert_ne!(all & fs::TRUNCATE, 0);
        assert_ne!(all & fs::REFER, 0);
        assert_eq!(own.attr.handled_access_net, 0);
        let tmp = own.paths.iter().find(|r| r.path == Path::new("/tmp"));
        assert_eq!(tmp.map(|r| (r.access, r.device)), Some((all, None)));
        let null = own.paths.iter().find(|r| r.path == Path::new("/dev/null"));
        assert_eq!(
            null.map(|r| (r.access, r.device)),
            Some((fs::WRITE_FILE | fs::TRUNCATE, Some(Device::File)))
        );
        let pts = own.paths.iter().find(|r| r.path == Path::new("/dev/pts"));
        assert_eq!(pts.map(|r| r.access & fs::MAKE_REG), Some(0));
        assert!(p.missing.is_empty());
        assert_eq!(p.child_scopes, scope::SIGNAL | scope::ABSTRACT_UNIX_SOCKET);
    }

    #[test]
    fn strict_refuses_what_the_kernel_cannot_do_and_best_effort_names_it() {
        let strict = req(true, &["/tmp"], Mode::Strict);
        let e = plan(&strict, None).unwrap_err();
        assert!(
            e.contains("no Landlock") && e.contains("--landlock best-effort"),
            "{e}"
        );
        let e = plan(&strict, Some(2)).unwrap_err();
        assert!(e.contains("ABI 2") && e.contains("truncat"), "{e}");
        assert!(plan(&strict, Some(3)).is_ok());
        let best = req(true, &["/tmp"], Mode::BestEffort);
        let p = plan(&best, None).unwrap();
        assert_eq!((p.own, p.missing.len()), (None, 1));
        let p = plan(&best, Some(2)).unwrap();
        assert_eq!(p.own.unwrap().attr.handled_access_fs & fs::TRUNCATE, 0);
        assert!(p.missing[0].contains("truncat"), "{:?}", p.missing);
        let net = Request {
            allow_connect: vec![5432],
            ..Default::default()
        };
        let e = plan(&net, Some(3)).unwrap_err();
        assert!(e.contains("--allow-connect") && e.contains("ABI 4"), "{e}");
    }

    #[test]
    fn tcp_rules_merge_per_port() {
        let r = Request {
            allow_bind: vec![8080],
            allow_connect: vec![5432, 8080],
            ..Default::default()
        };
        let own = plan(&r, Some(4)).unwrap().own.unwrap();
        assert_eq!(own.attr.handled_access_fs, 0);
        assert_eq!(
            own.attr.handled_access_net,
            net::BIND_TCP | net::CONNECT_TCP
        );
        assert_eq!(
            own.ports,
            vec![
                (8080, net::BIND_TCP | net::CONNECT_TCP),
                (5432, net::CONNECT_TCP)
            ]
        );
    }

    #[test]
    fn conflicting_requests_are_refused() {
        let e = plan(&req(true, &[], Mode::Off), Some(7)).unwrap_err();
        assert!(e.contains("--landlock off"), "{e}");
        let e = plan(&req(false, &["/tmp"], Mode::Strict), Some(7)).unwrap_err();
        assert!(e.contains("add --read-only"), "{e}");
    }

    #[test]
    fn writable_paths_and_ports_are_checked_as_written() {
        assert_eq!(parse_writable("/tmp/"), Ok(PathBuf::from("/tmp")));
        assert_eq!(
            parse_writable("//app/./cache"),
            Ok(PathBuf::from("/app/cache"))
        );
        assert!(parse_writable("tmp").unwrap_err().contains("absolute"));
        assert!(parse_writable("/app/../etc").unwrap_err().contains(".."));
        assert!(
            parse_writable("/")
                .unwrap_err()
                .contains("drop --read-only")
        );
        assert_eq!(parse_ports("80, 443"), Ok(vec![80, 443]));
        for bad in ["0", "", "80,", "65536", "-1", "http"] {
            assert!(
                parse_ports(bad).unwrap_err().contains("1 to 65535"),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_symlink_decides_nothing() {
        let dir = std::env::temp_dir().join(format!("pidguard-landlock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("real")).unwrap();
        std::os::unix::fs::symlink(dir.join("real"), dir.join("link")).unwrap();
        let rule = |p: &str, device| PathRule {
            path: dir.join(p),
            access: fs::WRITE_FILE,
            device,
        };
        assert!(matches!(
            open_path(&rule("real", None)),
            Ok(Some((_, true)))
        ));
        let e = open_path(&rule("link", None)).unwrap_err();
        assert!(e.contains("resolves to") && e.contains("real"), "{e}");
        let e = open_path(&rule("missing", None)).unwrap_err();
        assert!(e.contains("create it"), "{e}");
        assert!(matches!(
            open_path(&rule("link", Some(Device::Tree))),
            Ok(None)
        ));
        assert!(matches!(
            open_path(&rule("missing", Some(Device::Tree))),
            Ok(None)
        ));
        assert!(matches!(
            open_path(&rule("real", Some(Device::File))),
            Ok(None)
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn attr_size_follows_the_abi() {
        assert_eq!(attr_size(1), 8);
        assert_eq!(attr_size(4), 16);
        assert_eq!(attr_size(7), 24);
    }
}
