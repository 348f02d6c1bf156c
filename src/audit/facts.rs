//! Gathering: everything the checks judge, read once from /proc, /sys/fs/cgroup, /dev, the
//! filesystem and the environment, into one [`Facts`] value.
//!
//! The checks never touch the system, so each verdict is unit-tested on recorded facts. The file
//! reads go through one function ([`gather_files`] takes it as an argument), so the recorded
//! /proc and cgroup files in tests/audit/ drive the same code as a live system. What cannot be a
//! file read (directory listings, `access(2)`, the setuid walk, the environment) is gathered by
//! [`gather`] only.
//!
//! Bounds: every file read stops at [`MAX_FILE_BYTES`]; directory listings at [`MAX_DIR_ENTRIES`];
//! the setuid walk at [`WALK_MAX_ENTRIES`] entries and [`WALK_MAX_DEPTH`] levels. Nothing here
//! follows a symbolic link while walking, so a link loop or a link to /proc cannot stretch a walk.
//!
//! The environment is read for its *names* only: the values are dropped as they are read and are
//! never stored, so no report can print one.
//!
//! Which process: the audit reports on itself (the program, under pidguard, or whatever
//! `docker exec` started) and reads PID 1's `status`, `comm` and `cmdline`, which stay world-readable
//! even though pidguard makes PID 1 non-dumpable (its `environ`, `exe` and `mem` do not).

use std::collections::HashSet;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::parse::{self, CgroupLine, IdRange, Limit, Mount, Rlimit, Status};

/// Largest file the audit reads; every /proc file it needs is far smaller.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// Most entries read from one directory listing (/dev).
pub const MAX_DIR_ENTRIES: usize = 10_000;
/// Most filesystem entries the setuid walk looks at.
pub const WALK_MAX_ENTRIES: usize = 100_000;
/// Deepest directory level the setuid walk descends to.
pub const WALK_MAX_DEPTH: usize = 32;
/// Most setuid/setgid files (and skipped mounts) remembered.
pub const MAX_FOUND: usize = 64;
/// Most environment variable names kept.
pub const MAX_ENV_NAMES: usize = 4096;

/// A file read that failed, as one line: `cannot read PATH: why`.
pub type Fallible<T> = Result<T, String>;

/// A cgroup limit, resolved over the process's cgroup and its ancestors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// The smallest limit found (bytes or tasks).
    Limited {
        value: u64,
        version: u8,
    },
    Unlimited {
        version: u8,
    },
    /// No limit file could be found or read: why.
    Unknown(String),
}

/// PID 1, as far as another process may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pid1 {
    /// The audit itself is PID 1 (`docker run IMAGE /pidguard audit` with the entrypoint replaced).
    pub is_self: bool,
    pub comm: Option<String>,
    /// The file name of `argv[0]`; the arguments are never read into the facts.
    pub argv0: Option<String>,
    pub status: Fallible<Status>,
}

/// Device nodes directly in /dev.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Devices {
    pub char_devices: usize,
    /// Names of the block devices (at most [`MAX_FOUND`]) and how many there are.
    pub block_names: Vec<String>,
    pub block_devices: usize,
}

/// What the setuid walk found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Walk {
    /// Setuid or setgid regular files (at most [`MAX_FOUND`]), sorted.
    pub found: Vec<String>,
    pub found_count: usize,
    pub entries: usize,
    /// Stopped at [`WALK_MAX_ENTRIES`] or cut at [`WALK_MAX_DEPTH`].
    pub truncated: bool,
    /// Directories that could not be listed (permissions).
    pub unreadable: usize,
}

/// Everything the checks look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// This process's pid (1 when the audit is PID 1).
    pub pid: u32,
    /// `/proc/self/status`.
    pub status: Fallible<Status>,
    pub pid1: Pid1,
    /// `/proc/self/uid_map`.
    pub uid_map: Fallible<Vec<IdRange>>,
    /// `/proc/self/attr/current` (or `attr/apparmor/current`): `None` when no LSM labels processes.
    pub lsm: Fallible<Option<String>>,
    /// The mounts a path lookup can reach (see [`parse::visible`]).
    pub mounts: Fallible<Vec<Mount>>,
    pub memory: Reading,
    pub pids: Reading,
    /// `/proc/self/limits`.
    pub rlimits: Fallible<Vec<Rlimit>>,
    /// `/proc/sys/kernel/cap_last_cap`.
    pub cap_last_cap: Option<u32>,
    /// Kernel threads are visible (`/proc/2/comm` is `kthreadd`): the host's PID namespace.
    pub kthreadd_visible: bool,
    /// Network interfaces in this network namespace.
    pub interfaces: Fallible<Vec<String>>,
    /// Bound unix sockets in this network namespace that belong to a container engine (see
    /// [`engine_socket_name`]): they exist only in the host's network namespace.
    pub engine_listeners: Vec<String>,
    /// Mount points (directories) and /tmp, /dev/shm that this process may write to.
    pub writable: Vec<String>,
    /// Whether this process is confined by Landlock (`audit/landlock.rs`).
    pub landlock: super::landlock::Landlock,
    pub devices: Fallible<Devices>,
    /// Container engine sockets found at their usual paths.
    pub engine_sockets: Vec<String>,
    pub setuid: Fallible<Walk>,
    /// Environment variable names (never values).
    pub env_names: Vec<String>,
}

impl Facts {
    /// Facts with nothing known: the base of [`gather_files`] and of unit tests.
    pub fn unknown(pid: u32) -> Facts {
        fn none<T>() -> Fallible<T> {
            Err("not gathered".to_string())
        }
        Facts {
            pid,
            status: none(),
            pid1: Pid1 {
                is_self: pid == 1,
                comm: None,
                argv0: None,
                status: none(),
            },
            uid_map: none(),
            lsm: none(),
            mounts: none(),
            memory: Reading::Unknown("not gathered".into()),
            pids: Reading::Unknown("not gathered".into()),
            rlimits: none(),
            cap_last_cap: None,
            kthreadd_visible: false,
            interfaces: none(),
            engine_listeners: Vec::new(),
            writable: Vec::new(),
            landlock: Default::default(),
            devices: none(),
            engine_sockets: Vec::new(),
            setuid: none(),
            env_names: Vec::new(),
        }
    }
}

/// Reads `path` through [`crate::fsread`]: at most [`MAX_FILE_BYTES`] (a larger file is an error,
/// not a silent cut), and only if it is a regular file (a FIFO planted at a path the audit reads
/// cannot make it hang).
pub fn read_bounded(path: &str) -> io::Result<Vec<u8>> {
    crate::fsread::read(Path::new(path), MAX_FILE_BYTES)
}

/// A file reader: [`read_bounded`] on a live system, recorded files in tests.
pub type Reader<'a> = &'a dyn Fn(&str) -> io::Result<Vec<u8>>;

fn text(read: Reader, path: &str) -> Fallible<String> {
    read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| format!("cannot read {path}: {e}"))
}

fn parsed<T>(
    read: Reader,
    path: &str,
    parse: impl Fn(&str) -> Result<T, parse::Error>,
) -> Fallible<T> {
    let t = text(read, path)?;
    parse(&t).map_err(|e| format!("cannot parse {path}: {e}"))
}

/// Socket file names of container engines (Docker, containerd, CRI-O, Podman, BuildKit, the
/// kubelet's dockershim).
pub const ENGINE_SOCKET_NAMES: &[&str] = &[
    "docker.sock",
    "containerd.sock",
    "crio.sock",
    "podman.sock",
    "buildkitd.sock",
    "dockershim.sock",
];

/// Where engines put their sockets.
pub const ENGINE_SOCKET_PATHS: &[&str] = &[
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/var/run/containerd/containerd.sock",
    "/run/docker/containerd/containerd.sock",
    "/var/run/docker/containerd/containerd.sock",
    "/run/k3s/containerd/containerd.sock",
    "/run/crio/crio.sock",
    "/var/run/crio/crio.sock",
    "/run/podman/podman.sock",
    "/var/run/podman/podman.sock",
    "/run/buildkit/buildkitd.sock",
    "/var/run/dockershim.sock",
];

/// Whether a bound unix socket name (from /proc/net/unix) is a container engine's listening socket
/// or one of containerd's shims (abstract `@/containerd-shim/...` in older versions).
pub fn engine_socket_name(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    ENGINE_SOCKET_NAMES.contains(&base)
        || name.starts_with("@/containerd-shim")
        || name.contains("/containerd-shim/")
}

/// The file-based facts: everything but directory listings, `access(2)`, the walk and the
/// environment.
pub fn gather_files(read: Reader, pid: u32) -> Facts {
    let mut f = Facts::unknown(pid);
    f.status = parsed(read, "/proc/self/status", parse::status);
    f.pid1 = Pid1 {
        is_self: pid == 1,
        comm: text(read, "/proc/1/comm")
            .ok()
            .map(|c| c.trim_end().chars().take(64).collect())
            .filter(|c: &String| !c.is_empty()),
        argv0: read("/proc/1/cmdline").ok().and_then(|b| parse::argv0(&b)),
        status: parsed(read, "/proc/1/status", parse::status),
    };
    f.uid_map = parsed(read, "/proc/self/uid_map", parse::id_map);
    f.lsm = lsm(read);
    f.mounts = parsed(read, "/proc/self/mountinfo", parse::mountinfo).map(|m| parse::visible(&m));
    let cgroups = parsed(read, "/proc/self/cgroup", parse::cgroup);
    (f.memory, f.pids) = match (&cgroups, &f.mounts) {
        (Ok(lines), Ok(mounts)) => (
            cgroup_reading(read, lines, mounts, "memory"),
            cgroup_reading(read, lines, mounts, "pids"),
        ),
        (Err(e), _) | (_, Err(e)) => (Reading::Unknown(e.clone()), Reading::Unknown(e.clone())),
    };
    f.rlimits = parsed(read, "/proc/self/limits", parse::limits);
    f.cap_last_cap = text(read, "/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|t| t.trim().parse().ok());
    f.kthreadd_visible = text(read, "/proc/2/comm").is_ok_and(|c| c.trim_end() == "kthreadd");
    f.interfaces = parsed(read, "/proc/net/dev", parse::net_dev);
    // One line per socket: a listening socket and the connections it accepted share the name.
    let mut listeners: Vec<String> = parsed(read, "/proc/net/unix", parse::net_unix)
        .unwrap_or_default()
        .into_iter()
        .filter(|n| engine_socket_name(n))
        .collect();
    listeners.sort_unstable();
    listeners.dedup();
    listeners.truncate(MAX_FOUND);
    f.engine_listeners = listeners;
    f
}

/// The LSM label. `EINVAL` (no LSM provides `current`) and an empty label both mean "none".
/// `attr/apparmor/current` answers where AppArmor is stacked under another major LSM (Linux 5.8+).
fn lsm(read: Reader) -> Fallible<Option<String>> {
    let none = |e: &io::Error| {
        matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOENT))
            || e.kind() == io::ErrorKind::NotFound
    };
    match read("/proc/self/attr/current") {
        Ok(b) if parse::lsm_label(&b).is_some() => Ok(parse::lsm_label(&b)),
        Ok(_) => Ok(None),
        Err(e) if none(&e) => match read("/proc/self/attr/apparmor/current") {
            Ok(b) => Ok(parse::lsm_label(&b)),
            Err(e) if none(&e) => Ok(None),
            Err(e) => Err(format!("cannot read /proc/self/attr/apparmor/current: {e}")),
        },
        Err(e) => Err(format!("cannot read /proc/self/attr/current: {e}")),
    }
}

fn cgroup_reading(
    read: Reader,
    lines: &[CgroupLine],
    mounts: &[Mount],
    controller: &str,
) -> Reading {
    let Some(files) = parse::limit_files(lines, mounts, controller) else {
        return Reading::Unknown(format!(
            "no cgroup hierarchy with the {controller} controller is mounted"
        ));
    };
    let mut best: Option<u64> = None;
    let mut any = false;
    for path in &files.files {
        let Ok(t) = text(read, path) else { continue };
        match parse::cgroup_limit(&t) {
            Ok(Limit::Value(v)) => {
                any = true;
                best = Some(best.map_or(v, |b| b.min(v)));
            }
            Ok(Limit::Max) => any = true,
            Err(_) => {}
        }
    }
    match (best, any) {
        (Some(value), _) => Reading::Limited {
            value,
            version: files.version,
        },
        (None, true) => Reading::Unlimited {
            version: files.version,
        },
        // The root of a hierarchy has no limit files: nothing above it can limit it either.
        (None, false) if files.at_root => Reading::Unlimited {
            version: files.version,
        },
        (None, false) => Reading::Unknown(format!(
            "cannot read {}",
            files.files.first().map(String::as_str).unwrap_or("?")
        )),
    }
}

/// Everything, from the live system. (pidguard installs PID 1's filter before it forks, so what
/// /proc/1/status says is final by the time any program, this audit included, runs.)
pub fn gather() -> Facts {
    let mut f = gather_files(&read_bounded, std::process::id());
    let mounts = f.mounts.clone().unwrap_or_default();
    // access(2) does not know Landlock: in a domain, the candidates are probed (audit/landlock.rs).
    (f.landlock, f.writable) = super::landlock::gather(writable(&mounts));
    f.devices = devices(Path::new("/dev"));
    f.engine_sockets = engine_sockets();
    f.setuid = Ok(walk(Path::new("/"), &mounts));
    f.env_names = std::env::vars_os()
        .map(|(name, _value)| name.to_string_lossy().chars().take(256).collect())
        .take(MAX_ENV_NAMES)
        .collect();
    f
}

/// The directories among the mount points (and /tmp, /dev/shm) this process may write to, as
/// `access(2)` decides: it knows the read-only flag, permissions, ACLs and capabilities.
/// Network and FUSE mounts are not probed: a stat of a dead server's mount point can block.
fn writable(mounts: &[Mount]) -> Vec<String> {
    let mut points: Vec<&str> = mounts
        .iter()
        .filter(|m| !remote(m))
        .map(|m| m.point.as_str())
        .filter(|p| !parse::path_within(p, "/proc") && !parse::path_within(p, "/sys"))
        .collect();
    points.extend(["/tmp", "/dev/shm"]);
    let mut out: Vec<String> = points
        .into_iter()
        .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir()))
        .filter(|p| nix::unistd::access(*p, nix::unistd::AccessFlags::W_OK).is_ok())
        .map(str::to_string)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn devices(dir: &Path) -> Fallible<Devices> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut d = Devices::default();
    for entry in entries.take(MAX_DIR_ENTRIES).flatten() {
        let Ok(t) = entry.file_type() else { continue };
        if t.is_char_device() {
            d.char_devices += 1;
        } else if t.is_block_device() {
            d.block_devices += 1;
            if d.block_names.len() < MAX_FOUND {
                d.block_names
                    .push(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    d.block_names.sort_unstable();
    Ok(d)
}

/// Engine sockets at their usual paths; `/var/run` is usually a link to `/run`, so a socket seen
/// under both names is reported once.
fn engine_sockets() -> Vec<String> {
    let mut seen = HashSet::new();
    ENGINE_SOCKET_PATHS
        .iter()
        .filter(|p| {
            std::fs::metadata(p)
                .is_ok_and(|m| m.file_type().is_socket() && seen.insert((m.dev(), m.ino())))
        })
        .map(|p| p.to_string())
        .collect()
}

/// Trees the walk never enters: kernel interfaces, not files an image ships.
const WALK_SKIP: &[&str] = &["/proc", "/sys", "/dev"];

/// Filesystems whose files are not an image's or a volume's: kernel interfaces. Network and FUSE
/// filesystems ([`remote`]) are skipped too: a walk could hang on them, or be billed for them.
const WALK_SKIP_FSTYPES: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "mqueue",
    "cgroup",
    "cgroup2",
    "debugfs",
    "tracefs",
    "securityfs",
    "bpf",
    "configfs",
    "fusectl",
    "pstore",
    "binfmt_misc",
    "autofs",
];

/// A filesystem behind a network or a user-space daemon.
fn remote(m: &Mount) -> bool {
    matches!(
        m.fstype.as_str(),
        "nfs" | "nfs4" | "cifs" | "smb3" | "9p" | "ceph" | "glusterfs"
    ) || m.fstype.starts_with("fuse")
}

/// Whether the walk skips the mount on `mount`: mounted nosuid (a setuid bit there grants
/// nothing: execve ignores it), one of [`WALK_SKIP_FSTYPES`], or [`remote`].
fn skip_mount(m: &Mount) -> bool {
    m.nosuid || WALK_SKIP_FSTYPES.contains(&m.fstype.as_str()) || remote(m)
}

/// Looks for setuid and setgid regular files under `root`, depth-first, without following links,
/// skipping `WALK_SKIP` and every mount `skip_mount` names. Other filesystems are walked:
/// a setuid binary on a volume mounted without nosuid works as well as one in the image.
pub fn walk(root: &Path, mounts: &[Mount]) -> Walk {
    let skipped: HashSet<&str> = mounts
        .iter()
        .filter(|m| skip_mount(m))
        .map(|m| m.point.as_str())
        .chain(WALK_SKIP.iter().copied())
        .collect();
    let mut w = Walk::default();
    let mut found = Vec::new();
    let mut stack: Vec<(PathBuf, usize)> = vec![(root.to_path_buf(), 0)];
    if mount_skipped(root, &skipped) {
        stack.clear();
    }
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            w.unreadable += 1;
            continue;
        };
        for entry in entries.flatten() {
            if w.entries >= WALK_MAX_ENTRIES {
                w.truncated = true;
                break;
            }
            w.entries += 1;
            let Ok(t) = entry.file_type() else { continue };
            let path = entry.path();
            if t.is_dir() {
                if mount_skipped(&path, &skipped) {
                    continue;
                }
                if depth + 1 >= WALK_MAX_DEPTH {
                    w.truncated = true;
                    continue;
                }
                stack.push((path, depth + 1));
            } else if t.is_file() {
                let Ok(meta) = entry.metadata() else { continue };
                let mode = meta.permissions().mode();
                let setuid = mode & 0o4000 != 0;
                // setgid without group execute marks mandatory locking, not a privilege.
                let setgid = mode & 0o2000 != 0 && mode & 0o010 != 0;
                if setuid || setgid {
                    w.found_count += 1;
                    if found.len() < MAX_FOUND {
                        found.push(path.to_string_lossy().into_owned());
                    }
                }
            }
        }
        if w.truncated && w.entries >= WALK_MAX_ENTRIES {
            break;
        }
    }
    found.sort_unstable();
    w.found = found;
    w
}

fn mount_skipped(path: &Path, skipped: &HashSet<&str>) -> bool {
    path.to_str().is_some_and(|p| skipped.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn bounded_read_refuses_a_huge_file() {
        let dir = std::env::temp_dir().join(format!("pidguard-audit-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big = dir.join("big");
        std::fs::write(
            &big,
            vec![b'x'; usize::try_from(MAX_FILE_BYTES).unwrap() + 1],
        )
        .unwrap();
        let e = read_bounded(big.to_str().unwrap()).unwrap_err();
        assert!(e.to_string().contains("larger than"), "{e}");
        std::fs::write(&big, b"ok").unwrap();
        assert_eq!(read_bounded(big.to_str().unwrap()).unwrap(), b"ok");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn reader(files: HashMap<&'static str, &'static str>) -> impl Fn(&str) -> io::Result<Vec<u8>> {
        move |p: &str| {
            files
                .get(p)
                .map(|t| t.as_bytes().to_vec())
                .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))
        }
    }

    #[test]
    fn missing_files_become_reasons_not_panics() {
        let f = gather_files(&reader(HashMap::new()), 7);
        assert!(f.status.unwrap_err().contains("/proc/self/status"));
        assert_eq!(f.lsm, Ok(None));
        assert!(matches!(f.memory, Reading::Unknown(_)));
        assert!(!f.kthreadd_visible && !f.pid1.is_self);
    }

    #[test]
    fn cgroup_minimum_over_ancestors() {
        let files = HashMap::from([
            ("/proc/self/cgroup", "4:memory:/a/b\n0::/a/b\n"),
            (
                "/proc/self/mountinfo",
                "1 0 0:1 / / rw - ext4 x rw\n2 1 0:2 / /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n\
                 3 1 0:3 / /sys/fs/cgroup/unified ro - cgroup2 cgroup rw\n",
            ),
            (
                "/sys/fs/cgroup/memory/a/b/memory.limit_in_bytes",
                "9223372036854771712\n",
            ),
            ("/sys/fs/cgroup/memory/a/memory.limit_in_bytes", "1048576\n"),
            ("/sys/fs/cgroup/unified/a/b/pids.max", "max\n"),
        ]);
        let f = gather_files(&reader(files), 7);
        assert_eq!(
            f.memory,
            Reading::Limited {
                value: 1048576,
                version: 1
            }
        );
        assert_eq!(f.pids, Reading::Unlimited { version: 2 });
    }

    #[test]
    fn engine_socket_names() {
        assert!(engine_socket_name("/var/run/docker.sock"));
        assert!(engine_socket_name("/run/containerd/containerd.sock"));
        assert!(engine_socket_name("@/containerd-shim/moby/abc/shim.sock@"));
        assert!(!engine_socket_name("@pidguard-status"));
        assert!(!engine_socket_name("/tmp/docker.sock.bak"));
    }

    #[test]
    fn walk_finds_setuid_and_skips_nosuid_mounts() {
        let root = std::env::temp_dir().join(format!("pidguard-audit-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for d in ["bin", "vol", "deep/a/b"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let mode = |p: &str, m: u32| {
            std::fs::write(root.join(p), b"").unwrap();
            std::fs::set_permissions(root.join(p), std::fs::Permissions::from_mode(m)).unwrap();
        };
        mode("bin/su", 0o4755);
        mode("bin/wall", 0o2755);
        mode("bin/locked", 0o2644);
        mode("bin/ls", 0o755);
        mode("vol/hidden", 0o4755);
        mode("deep/a/b/s", 0o6711);
        std::os::unix::fs::symlink("/proc", root.join("proc-link")).unwrap();
        let vol = root.join("vol").to_string_lossy().into_owned();
        let mounts =
            parse::mountinfo(&format!("5 1 0:9 / {vol} rw,nosuid - tmpfs tmpfs rw\n")).unwrap();
        let w = walk(&root, &mounts);
        let names: Vec<&str> = w
            .found
            .iter()
            .map(|p| p.strip_prefix(root.to_str().unwrap()).unwrap())
            .collect();
        assert_eq!(names, vec!["/bin/su", "/bin/wall", "/deep/a/b/s"]);
        assert_eq!(w.found_count, 3);
        assert!(!w.truncated);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
