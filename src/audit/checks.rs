//! The verdicts: `checks(&Facts)` turns what was gathered into PASS, WARN or FAIL lines, each with
//! what was seen and, when it is not a PASS, the fix (a Dockerfile line, compose key, `docker run`
//! flag or pidguard flag).
//!
//! Pure: no check reads the system, so every verdict is unit-tested from recorded facts. The check
//! ids are a stable interface (CI gates match on them); add new ones, do not rename.
//!
//! How severe: FAIL is something that hands a compromised program a way out of the container or to
//! the host's resources (root without a user namespace, capabilities, no seccomp, an engine socket,
//! writable /sys, the host's namespaces, secrets in the environment); WARN is a missing layer of
//! defence in depth (a writable root, no memory limit, no AppArmor/SELinux on the host) or a fact the
//! audit could not establish. A check whose input could not be read is a WARN that says why, never a
//! PASS.

use super::facts::{Facts, Reading, Walk};
use super::parse::{self, Mount, Rlimit, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub id: &'static str,
    pub verdict: Verdict,
    /// What was seen; one line, no control characters, never an environment value.
    pub observed: String,
    /// Empty for a PASS.
    pub fix: String,
}

/// Control characters (a file name may hold a newline) become `?`, so a line stays a line.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

pub(super) fn check(
    id: &'static str,
    verdict: Verdict,
    observed: impl AsRef<str>,
    fix: &str,
) -> Check {
    Check {
        id,
        verdict,
        observed: one_line(observed.as_ref()),
        fix: if verdict == Verdict::Pass {
            String::new()
        } else {
            one_line(fix)
        },
    }
}

fn pass(id: &'static str, observed: impl AsRef<str>) -> Check {
    check(id, Verdict::Pass, observed, "")
}

fn warn(id: &'static str, observed: impl AsRef<str>, fix: &str) -> Check {
    check(id, Verdict::Warn, observed, fix)
}

fn fail(id: &'static str, observed: impl AsRef<str>, fix: &str) -> Check {
    check(id, Verdict::Fail, observed, fix)
}

/// Every check id, in report order.
pub const IDS: &[&str] = &[
    "identity.uid",
    "identity.gid",
    "identity.userns",
    "caps.effective",
    "caps.permitted",
    "caps.inheritable",
    "caps.ambient",
    "caps.bounding",
    "no_new_privs",
    "seccomp",
    "lsm.label",
    "fs.rootfs",
    "fs.landlock",
    "fs.tmp",
    "fs.dev_shm",
    "fs.writable_exec",
    "mounts.engine_socket",
    "mounts.proc",
    "mounts.sys",
    "mounts.host_root",
    "privileged.caps",
    "privileged.devices",
    "ns.pid",
    "ns.net",
    "limits.memory",
    "limits.pids",
    "limits.nofile",
    "limits.nproc",
    "limits.core",
    "fs.setuid",
    "env.secrets",
    "pid1.pidguard",
    "pid1.hardening",
];

/// All checks, in the order of [`IDS`].
pub fn checks(f: &Facts) -> Vec<Check> {
    let mut out = vec![identity_uid(f), identity_gid(f), identity_userns(f)];
    out.extend(capabilities(f));
    out.extend([
        no_new_privs(f),
        seccomp(f),
        lsm(f),
        rootfs(f),
        landlock(f),
        scratch_dir(f, "fs.tmp", "/tmp"),
        scratch_dir(f, "fs.dev_shm", "/dev/shm"),
        writable_exec(f),
        engine_socket(f),
        proc_mounts(f),
        sys_mounts(f),
        host_root(f),
        privileged_caps(f),
        privileged_devices(f),
        pid_namespace(f),
        net_namespace(f),
        cgroup_limit(f, "limits.memory"),
        cgroup_limit(f, "limits.pids"),
        nofile(f),
        nproc(f),
        core(f),
        setuid(f),
        secrets(f),
        pid1_is_pidguard(f),
        pid1_hardening(f),
    ]);
    debug_assert_eq!(out.iter().map(|c| c.id).collect::<Vec<_>>(), IDS);
    out
}

// ---------------------------------------------------------------------------------------------------
// Identity

const FIX_USER: &str = "USER 65532 in the Dockerfile, docker run --user 65532 (compose: user: \"65532\"), \
                        or pidguard --user 65532";

fn identity_uid(f: &Facts) -> Check {
    const ID: &str = "identity.uid";
    let s = match &f.status {
        Ok(s) => s,
        Err(e) => return warn(ID, e, ""),
    };
    let [ruid, euid, suid, _] = s.uid;
    let ids = if ruid == euid && euid == suid {
        format!("uid {euid}")
    } else {
        format!("uid {ruid} (effective {euid}, saved {suid})")
    };
    if [ruid, euid, suid].contains(&0) {
        let host = f
            .uid_map
            .as_ref()
            .ok()
            .and_then(|m| parse::map_id(m, 0))
            .filter(|&h| h != 0);
        match host {
            Some(h) => warn(
                ID,
                format!("{ids} (root in a user namespace, host uid {h})"),
                FIX_USER,
            ),
            None => fail(ID, format!("{ids} (root)"), FIX_USER),
        }
    } else {
        pass(ID, format!("{ids} (not root)"))
    }
}

fn identity_gid(f: &Facts) -> Check {
    const ID: &str = "identity.gid";
    let s = match &f.status {
        Ok(s) => s,
        Err(e) => return warn(ID, e, ""),
    };
    let groups = if s.groups.is_empty() {
        "no supplementary groups".to_string()
    } else {
        format!("groups {}", list(s.groups.iter().map(u32::to_string), 8))
    };
    let seen = format!("gid {}, {groups}", s.gid[1]);
    let fix = "give the user its own group: USER 65532:65532, docker run --user 65532:65532, or \
               pidguard --user 65532:65532 --groups ''";
    if s.gid[..3].contains(&0) {
        warn(ID, format!("{seen} (gid 0: the root group)"), fix)
    } else if s.groups.contains(&0) {
        warn(ID, format!("{seen} (member of group 0: root)"), fix)
    } else {
        pass(ID, seen)
    }
}

fn identity_userns(f: &Facts) -> Check {
    const ID: &str = "identity.userns";
    let map = match &f.uid_map {
        Ok(m) => m,
        Err(e) => return warn(ID, e, ""),
    };
    let Ok(s) = &f.status else {
        return warn(ID, "cannot tell: /proc/self/status unreadable", "");
    };
    let uid = s.uid[1];
    let host = parse::map_id(map, uid);
    let ns = if parse::is_identity_map(map) {
        "no user namespace (the uid map is the host's)".to_string()
    } else {
        format!(
            "user namespace: uid {uid} is host uid {}",
            host.map_or("(unmapped)".into(), |h| h.to_string())
        )
    };
    if uid == 0 && host == Some(0) {
        fail(
            ID,
            format!("{ns}: root here is root on the host"),
            "run as non-root (USER 65532, pidguard --user 65532), or remap root: dockerd \
             --userns-remap=default, rootless Docker, podman --userns=auto",
        )
    } else if host == Some(0) {
        fail(
            ID,
            format!("{ns}: uid {uid} is host root"),
            "do not map the container's user to host root",
        )
    } else {
        pass(ID, format!("{ns}; uid {uid} is not host root"))
    }
}

// ---------------------------------------------------------------------------------------------------
// Capabilities, no_new_privs, seccomp, LSM

/// Capabilities that give nothing beyond binding a low port; holding only those is a WARN.
const MILD_CAPS: u64 = 1 << 10; // CAP_NET_BIND_SERVICE
const CAP_SYS_ADMIN: u64 = 1 << 21;

/// `a, b, c and 5 more`.
pub(super) fn list(items: impl IntoIterator<Item = String>, max: usize) -> String {
    let all: Vec<String> = items.into_iter().collect();
    let mut out = all[..all.len().min(max)].join(", ");
    if all.len() > max {
        out.push_str(&format!(" and {} more", all.len() - max));
    }
    out
}

fn describe_caps(mask: u64) -> String {
    match mask.count_ones() {
        0 => "none".into(),
        n => format!("{n} ({})", list(crate::limits::cap_names(mask), 6)),
    }
}

const FIX_CAPS: &str = "docker run --cap-drop ALL (compose: cap_drop: [ALL]); pidguard drops every capability \
                        not named with --cap-add";

/// A capability set of a status, by check id.
type CapSetOf = (&'static str, fn(&Status) -> u64);

fn capabilities(f: &Facts) -> Vec<Check> {
    let sets: [CapSetOf; 4] = [
        ("caps.effective", |s| s.cap_eff),
        ("caps.permitted", |s| s.cap_prm),
        ("caps.inheritable", |s| s.cap_inh),
        ("caps.ambient", |s| s.cap_amb),
    ];
    let Ok(s) = &f.status else {
        let why = f.status.as_ref().unwrap_err();
        let mut out: Vec<Check> = sets.iter().map(|(id, _)| warn(id, why, "")).collect();
        out.push(warn("caps.bounding", why, ""));
        return out;
    };
    let mut out: Vec<Check> = sets
        .iter()
        .map(|&(id, get)| {
            let mask = get(s);
            if mask == 0 {
                pass(id, "none")
            } else if mask & !MILD_CAPS == 0 {
                warn(
                    id,
                    describe_caps(mask),
                    "needed only to bind ports below 1024: Docker 20.10+ lets any user do that \
                     (net.ipv4.ip_unprivileged_port_start=0), or listen on a port above 1023",
                )
            } else {
                fail(id, describe_caps(mask), FIX_CAPS)
            }
        })
        .collect();
    let bnd = s.cap_bnd;
    out.push(if bnd == 0 {
        pass("caps.bounding", "empty")
    } else if s.no_new_privs == Some(true) {
        warn(
            "caps.bounding",
            format!(
                "{}: out of reach while no_new_privs is on",
                describe_caps(bnd)
            ),
            "docker run --cap-drop ALL (compose: cap_drop: [ALL]), or start pidguard as root so that \
             it can empty the bounding set",
        )
    } else {
        fail(
            "caps.bounding",
            format!(
                "{} and no_new_privs is off: a setuid or file-capability program regains them",
                describe_caps(bnd)
            ),
            FIX_CAPS,
        )
    });
    out
}

fn no_new_privs(f: &Facts) -> Check {
    const ID: &str = "no_new_privs";
    match f.status.as_ref().map(|s| s.no_new_privs) {
        Err(e) => warn(ID, e, ""),
        Ok(Some(true)) => pass(ID, "on"),
        Ok(Some(false)) => fail(
            ID,
            "off: setuid and file-capability programs can gain privileges",
            "docker run --security-opt no-new-privileges (compose: security_opt: \
             [\"no-new-privileges:true\"]), or run the program under pidguard (sets it unless \
             --allow-new-privs)",
        ),
        Ok(None) => warn(
            ID,
            "unknown: the kernel does not report it (before Linux 4.10)",
            "",
        ),
    }
}

fn seccomp_state(s: &Status) -> String {
    match (s.seccomp, s.seccomp_filters) {
        (Some(2), Some(n)) => format!("filter mode, {n} filter{}", if n == 1 { "" } else { "s" }),
        (Some(2), None) => "filter mode".into(),
        (Some(1), _) => "strict mode".into(),
        (Some(_), _) => "off".into(),
        (None, _) => "not in this kernel".into(),
    }
}

fn seccomp(f: &Facts) -> Check {
    const ID: &str = "seccomp";
    match &f.status {
        Err(e) => warn(ID, e, ""),
        Ok(s) if matches!(s.seccomp, Some(1 | 2)) => pass(ID, seccomp_state(s)),
        Ok(s) if s.seccomp.is_none() => warn(ID, seccomp_state(s), ""),
        Ok(_) => fail(
            ID,
            "off: every syscall reaches the kernel",
            "remove --security-opt seccomp=unconfined and --privileged (compose: security_opt, \
             privileged); pidguard installs Docker's default filter unless --seccomp unconfined",
        ),
    }
}

fn lsm(f: &Facts) -> Check {
    const ID: &str = "lsm.label";
    match &f.lsm {
        Err(e) => warn(ID, e, ""),
        Ok(None) => warn(
            ID,
            "no AppArmor or SELinux label: no such LSM is active on this kernel",
            "enable AppArmor or SELinux on the host; Docker then confines every container \
             (docker-default, container_t)",
        ),
        Ok(Some(label)) => {
            let unconfined = label == "unconfined"
                || label.starts_with("unconfined ")
                || label.contains(":unconfined_t:")
                || label.contains(":spc_t:");
            if unconfined {
                fail(
                    ID,
                    format!("{label}: not confined"),
                    "remove --security-opt apparmor=unconfined, label=disable or --privileged \
                     (compose: security_opt, privileged)",
                )
            } else if label.ends_with("(complain)") {
                warn(
                    ID,
                    format!("{label}: complain mode logs but blocks nothing"),
                    "put the profile in enforce mode (aa-enforce)",
                )
            } else {
                pass(ID, label)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Filesystems and mounts

fn mounts(f: &Facts) -> Result<&[Mount], &str> {
    f.mounts.as_deref().map_err(String::as_str)
}

fn rootfs(f: &Facts) -> Check {
    const ID: &str = "fs.rootfs";
    let m = match mounts(f) {
        Ok(m) => m,
        Err(e) => return warn(ID, e, ""),
    };
    match parse::mount_of(m, "/") {
        None => warn(ID, "no mount for / in mountinfo", ""),
        Some(root) if root.read_only => pass(ID, format!("read-only ({})", root.fstype)),
        Some(root) if f.landlock.read_only_root() => pass(
            ID,
            format!(
                "read-write ({}) mount, but Landlock refuses writes beneath / (pidguard \
                 --read-only)",
                root.fstype
            ),
        ),
        Some(root) => warn(
            ID,
            format!(
                "read-write ({}): the image's files can be changed",
                root.fstype
            ),
            "docker run --read-only --tmpfs /tmp (compose: read_only: true), with volumes for the \
             data the program writes; or from inside the image: pidguard --read-only --writable /tmp",
        ),
    }
}

/// /tmp and /dev/shm: world-writable by convention, so the place to drop and run a binary.
const LANDLOCK_FIX: &str = "pidguard --read-only --writable /tmp (docker exec is outside the program's \
                   Landlock domain: to see the program's, run the audit as the program, \
                   pidguard ... -- /pidguard audit)";

/// `fs.landlock`: confined or not, and where this process may write. Not confined is a warning only
/// where nothing else keeps the root read-only.
fn landlock(f: &Facts) -> Check {
    const ID: &str = "fs.landlock";
    let l = &f.landlock;
    let root_ro = f
        .mounts
        .as_ref()
        .ok()
        .and_then(|m| parse::mount_of(m, "/"))
        .is_some_and(|m| m.read_only);
    let unused = |seen: String, fix: &str| {
        if root_ro {
            check(
                ID,
                Verdict::Pass,
                format!("{seen}; the root is a read-only mount"),
                "",
            )
        } else {
            check(ID, Verdict::Warn, seen, fix)
        }
    };
    let abi = match &l.abi {
        Ok(n) => *n,
        Err(e) => {
            return unused(
                format!("the kernel has no Landlock ({e})"),
                "a kernel with Landlock (Linux 5.13+, landlock in lsm=), or docker run --read-only \
                 --tmpfs /tmp",
            );
        }
    };
    match l.layers {
        Err(ref e) => check(
            ID,
            Verdict::Warn,
            format!("Landlock ABI {abi}; cannot tell whether this process is confined: {e}"),
            "",
        ),
        Ok(0) => unused(
            format!("not confined by Landlock (ABI {abi} available)"),
            LANDLOCK_FIX,
        ),
        Ok(n) if l.writes_refused => {
            let writable = if f.writable.is_empty() {
                "none of /, /tmp, /var/tmp, /dev/shm, /run and the mount points".to_string()
            } else {
                list(f.writable.iter().cloned(), 8)
            };
            check(
                ID,
                Verdict::Pass,
                format!(
                    "confined by Landlock (ABI {abi}, {n} domains): writes refused except beneath \
                     what the rules allow; writable here: {writable}"
                ),
                "",
            )
        }
        Ok(n) => unused(
            format!("in Landlock domains ({n}) with no write rules (ABI {abi})"),
            LANDLOCK_FIX,
        ),
    }
}

fn scratch_dir(f: &Facts, id: &'static str, path: &str) -> Check {
    let m = match mounts(f) {
        Ok(m) => m,
        Err(e) => return warn(id, e, ""),
    };
    let Some(mount) = parse::mount_of(m, path) else {
        return warn(id, format!("no mount holds {path}"), "");
    };
    let on = if mount.point == path {
        format!("{} on {path}", mount.fstype)
    } else {
        format!("on the {} mount", mount.point)
    };
    let fix = if path == "/tmp" {
        "docker run --tmpfs /tmp:rw,noexec,nosuid (compose: tmpfs: [\"/tmp:rw,noexec,nosuid\"])"
    } else {
        "Docker mounts /dev/shm noexec,nosuid,nodev unless /dev comes from the host (-v /dev:/dev, \
         --privileged); or --ipc none"
    };
    if mount.read_only {
        pass(id, format!("read-only ({on})"))
    } else if !f.writable.iter().any(|w| w == path) {
        pass(id, format!("not writable by this process ({on})"))
    } else if mount.noexec {
        pass(id, format!("writable, noexec ({on})"))
    } else {
        warn(id, format!("writable and executable ({on})"), fix)
    }
}

fn writable_exec(f: &Facts) -> Check {
    const ID: &str = "fs.writable_exec";
    let m = match mounts(f) {
        Ok(m) => m,
        Err(e) => return warn(ID, e, ""),
    };
    let own_checks = ["/", "/tmp", "/dev/shm"];
    let bad: Vec<String> = f
        .writable
        .iter()
        .filter(|p| !own_checks.contains(&p.as_str()))
        .filter(|p| {
            m.iter()
                .any(|mount| &mount.point == *p && !mount.noexec && !mount.read_only)
        })
        .cloned()
        .collect();
    if bad.is_empty() {
        pass(ID, "no other writable mount without noexec")
    } else {
        warn(
            ID,
            format!("writable and executable: {}", list(bad, 8)),
            "mount data read-only (-v SRC:DST:ro) or as tmpfs with noexec (--tmpfs DST:rw,noexec,nosuid) \
             where the program only keeps files there",
        )
    }
}

fn socket_engine(name: &str) -> &'static str {
    match name.rsplit('/').next().unwrap_or("") {
        "docker.sock" => "the Docker engine's socket",
        "containerd.sock" => "containerd's socket",
        "crio.sock" => "CRI-O's socket",
        "podman.sock" => "Podman's socket",
        "buildkitd.sock" => "BuildKit's socket",
        "dockershim.sock" => "the dockershim socket",
        _ => "a container engine socket",
    }
}

fn engine_socket(f: &Facts) -> Check {
    const ID: &str = "mounts.engine_socket";
    let mut found: Vec<String> = f
        .engine_sockets
        .iter()
        .map(|p| format!("{} at {p}", socket_engine(p)))
        .collect();
    if let Ok(m) = mounts(f) {
        for mount in m {
            let is_engine = |p: &str| {
                let base = p.rsplit('/').next().unwrap_or("");
                super::facts::ENGINE_SOCKET_NAMES.contains(&base)
            };
            let already = f.engine_sockets.contains(&mount.point);
            if !already && (is_engine(&mount.point) || is_engine(&mount.root)) {
                found.push(format!(
                    "{} mounted at {}",
                    socket_engine(&mount.root),
                    mount.point
                ));
            }
        }
    }
    if found.is_empty() {
        if let Err(e) = mounts(f) {
            return warn(ID, format!("none at the usual paths, but {e}"), "");
        }
        pass(ID, "no Docker, containerd, CRI-O or Podman socket")
    } else {
        fail(
            ID,
            format!(
                "{}: whoever can connect to it controls the host",
                list(found, 4)
            ),
            "remove the socket mount (-v /var/run/docker.sock:..., compose volumes:); if the program \
             must talk to the engine, put a socket proxy with a narrow allow-list in between",
        )
    }
}

fn proc_mounts(f: &Facts) -> Check {
    const ID: &str = "mounts.proc";
    let m = match mounts(f) {
        Ok(m) => m,
        Err(e) => return warn(ID, e, ""),
    };
    let extra: Vec<String> = m
        .iter()
        .filter(|x| x.fstype == "proc" && !parse::path_within(&x.point, "/proc"))
        .map(|x| x.point.clone())
        .collect();
    let fix = "remove --privileged, --security-opt systempaths=unconfined and any -v /proc:...; Docker \
               then mounts /proc/sys, /proc/sysrq-trigger and others read-only";
    if !extra.is_empty() {
        return fail(
            ID,
            format!("a proc filesystem is also mounted at {}", list(extra, 4)),
            fix,
        );
    }
    match parse::mount_of(m, "/proc/sys") {
        None => warn(ID, "no /proc mounted", ""),
        Some(x) if x.fstype != "proc" => warn(ID, format!("/proc/sys is on {}", x.fstype), ""),
        Some(x) if x.read_only => pass(ID, "/proc/sys is read-only"),
        Some(_) => fail(
            ID,
            "/proc/sys is writable (not masked): kernel settings are one write away",
            fix,
        ),
    }
}

fn sys_mounts(f: &Facts) -> Check {
    const ID: &str = "mounts.sys";
    let m = match mounts(f) {
        Ok(m) => m,
        Err(e) => return warn(ID, e, ""),
    };
    let rw: Vec<String> = m
        .iter()
        .filter(|x| matches!(x.fstype.as_str(), "sysfs" | "cgroup" | "cgroup2") && !x.read_only)
        .map(|x| format!("{} ({})", x.point, x.fstype))
        .collect();
    if rw.is_empty() {
        pass(ID, "/sys and the cgroup filesystems are read-only")
    } else {
        fail(
            ID,
            format!(
                "mounted read-write: {} (a sign of --privileged or -v /sys:/sys)",
                list(rw, 4)
            ),
            "remove --privileged and any -v /sys:/sys (compose: privileged, volumes); Docker mounts \
             /sys read-only",
        )
    }
}

/// Filesystems that live on a disk: a mount of one's root directory elsewhere than / is a disk
/// (most often the host's) handed to the container whole.
const DISK_FSTYPES: &[&str] = &[
    "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "reiserfs", "bcachefs", "vfat",
];

/// Host directories that are as good as the host once writable.
const HOST_DIRS: &[&str] = &[
    "/etc",
    "/root",
    "/home",
    "/boot",
    "/usr",
    "/var",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/lib/kubelet",
    "/var/run",
    "/run",
    "/var/log",
];

fn host_root(f: &Facts) -> Check {
    const ID: &str = "mounts.host_root";
    let m = match mounts(f) {
        Ok(m) => m,
        Err(e) => return warn(ID, e, ""),
    };
    // The engine's own bind mounts (/etc/hosts and friends) come from the host's disk: other
    // mounts from the same device show which host directory they are.
    let host_dev: Vec<(u32, u32)> = m
        .iter()
        .filter(|x| {
            matches!(
                x.point.as_str(),
                "/etc/hosts" | "/etc/hostname" | "/etc/resolv.conf"
            )
        })
        .filter(|x| x.root != "/")
        .map(|x| (x.major, x.minor))
        .collect();
    let bad: Vec<String> = m
        .iter()
        .filter(|x| x.point != "/")
        .filter_map(|x| {
            if x.root == "/" && DISK_FSTYPES.contains(&x.fstype.as_str()) {
                Some(format!(
                    "the root of {} ({}) at {}",
                    x.source, x.fstype, x.point
                ))
            } else if host_dev.contains(&(x.major, x.minor)) && HOST_DIRS.contains(&x.root.as_str())
            {
                Some(format!("host {} at {}", x.root, x.point))
            } else {
                None
            }
        })
        .collect();
    if bad.is_empty() {
        pass(ID, "no host root or system directory mounted")
    } else {
        fail(
            ID,
            format!("mounted: {}", list(bad, 4)),
            "remove the mount (-v /:/host and the like, compose volumes:); mount only the directory \
             the program needs, read-only (:ro)",
        )
    }
}

fn privileged_caps(f: &Facts) -> Check {
    const ID: &str = "privileged.caps";
    let s = match &f.status {
        Ok(s) => s,
        Err(e) => return warn(ID, e, ""),
    };
    let n = s.cap_bnd.count_ones();
    let known = f.cap_last_cap.map_or(41, |c| c + 1);
    let seen = format!("{n} of {known} capabilities in the bounding set");
    // Docker's default set is 14; 30 and more with CAP_SYS_ADMIN is --privileged or --cap-add ALL
    // (a runtime that does not know the newest capabilities grants a few less than the kernel has).
    if n >= 30 && s.cap_bnd & CAP_SYS_ADMIN != 0 {
        fail(
            ID,
            format!("{seen}, CAP_SYS_ADMIN among them: --privileged or --cap-add ALL"),
            "remove --privileged and --cap-add ALL (compose: privileged, cap_add); add only the \
             capabilities the program needs",
        )
    } else {
        pass(ID, seen)
    }
}

/// More character devices than this in /dev is a sign of the host's /dev: Docker's default has 7.
const MAX_CHAR_DEVICES: usize = 20;

fn privileged_devices(f: &Facts) -> Check {
    const ID: &str = "privileged.devices";
    let d = match &f.devices {
        Ok(d) => d,
        Err(e) => return warn(ID, e, ""),
    };
    let seen = format!(
        "{} character and {} block devices in /dev",
        d.char_devices, d.block_devices
    );
    if d.block_devices > 0 || d.char_devices > MAX_CHAR_DEVICES {
        let blocks = if d.block_names.is_empty() {
            String::new()
        } else {
            format!(" ({})", list(d.block_names.clone(), 5))
        };
        fail(
            ID,
            format!("{seen}{blocks}: the host's devices (--privileged or -v /dev:/dev)"),
            "remove --privileged and -v /dev:/dev; pass single devices with --device (compose: devices:)",
        )
    } else {
        pass(ID, seen)
    }
}

// ---------------------------------------------------------------------------------------------------
// Namespaces

fn pid_namespace(f: &Facts) -> Check {
    const ID: &str = "ns.pid";
    let pid1 = f.pid1.comm.as_deref().unwrap_or("?");
    if f.kthreadd_visible {
        fail(
            ID,
            format!(
                "the host's PID namespace: kernel threads are visible (pid 2 is kthreadd, PID 1 is {pid1})"
            ),
            "remove --pid host (compose: pid: host)",
        )
    } else if matches!(pid1, "systemd" | "init") && !f.pid1.is_self {
        warn(
            ID,
            format!("PID 1 is {pid1}: maybe the host's PID namespace"),
            "remove --pid host (compose: pid: host)",
        )
    } else {
        pass(
            ID,
            format!("own PID namespace (no kernel threads visible, PID 1 is {pid1})"),
        )
    }
}

/// Interface names that exist in a container host's network namespace, not in a container's.
fn host_interface(name: &str) -> bool {
    name == "docker0"
        || [
            "br-", "veth", "cni", "flannel", "cali", "vxlan", "weave", "virbr", "kube-", "cilium",
        ]
        .iter()
        .any(|p| name.starts_with(p))
}

fn net_namespace(f: &Facts) -> Check {
    const ID: &str = "ns.net";
    let ifs = match &f.interfaces {
        Ok(i) => i,
        Err(e) => return warn(ID, e, ""),
    };
    let mut signs = Vec::new();
    let host_ifs: Vec<String> = ifs.iter().filter(|i| host_interface(i)).cloned().collect();
    if !host_ifs.is_empty() {
        signs.push(format!("interfaces {}", list(host_ifs, 4)));
    }
    if !f.engine_listeners.is_empty() {
        signs.push(format!(
            "the engine's listening sockets {}",
            list(f.engine_listeners.clone(), 3)
        ));
    }
    if signs.is_empty() {
        pass(
            ID,
            format!(
                "own network namespace (interfaces: {})",
                list(ifs.clone(), 6)
            ),
        )
    } else {
        fail(
            ID,
            format!("the host's network namespace: {}", signs.join("; ")),
            "remove --network host (compose: network_mode: host)",
        )
    }
}

// ---------------------------------------------------------------------------------------------------
// Resource limits

fn bytes(n: u64) -> String {
    const MIB: u64 = 1 << 20;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n} bytes")
    }
}

fn cgroup_limit(f: &Facts, id: &'static str) -> Check {
    let (reading, what, fix) = if id == "limits.memory" {
        (
            &f.memory,
            "memory",
            "docker run --memory 512m (compose: mem_limit: 512m, or deploy.resources.limits.memory)",
        )
    } else {
        (
            &f.pids,
            "pids",
            "docker run --pids-limit 256 (compose: pids_limit: 256)",
        )
    };
    match reading {
        Reading::Limited { value, version } => {
            let v = if what == "memory" {
                bytes(*value)
            } else {
                format!("{value} tasks")
            };
            pass(id, format!("{what} limit {v} (cgroup v{version})"))
        }
        Reading::Unlimited { version } => warn(
            id,
            format!("no {what} limit (cgroup v{version}): the container can exhaust the host's"),
            fix,
        ),
        Reading::Unknown(why) => warn(id, format!("cannot find the {what} limit: {why}"), fix),
    }
}

fn rlimit<'a>(f: &'a Facts, name: &str) -> Result<&'a Rlimit, String> {
    match &f.rlimits {
        Err(e) => Err(e.clone()),
        Ok(l) => l
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| format!("no {name} line in /proc/self/limits")),
    }
}

fn limit_text(v: u64) -> String {
    if v == parse::UNLIMITED {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

/// A nofile hard limit above this is the "as much as the kernel allows" of some engines
/// (systemd's LimitNOFILE=infinity gives 1073741816).
const NOFILE_CEILING: u64 = 1 << 20;

fn nofile(f: &Facts) -> Check {
    const ID: &str = "limits.nofile";
    let r = match rlimit(f, "nofile") {
        Ok(r) => r,
        Err(e) => return warn(ID, e, ""),
    };
    let seen = format!("nofile {}:{}", limit_text(r.soft), limit_text(r.hard));
    if r.hard <= NOFILE_CEILING {
        pass(ID, seen)
    } else {
        warn(
            ID,
            format!("{seen}: a leak of file descriptors is bounded only by kernel memory"),
            "docker run --ulimit nofile=65536 (compose: ulimits: nofile:), or pidguard --rlimit nofile=65536",
        )
    }
}

fn nproc(f: &Facts) -> Check {
    const ID: &str = "limits.nproc";
    let r = match rlimit(f, "nproc") {
        Ok(r) => r,
        Err(e) => return warn(ID, e, ""),
    };
    let seen = format!("nproc {}:{}", limit_text(r.soft), limit_text(r.hard));
    match (&f.pids, r.soft == parse::UNLIMITED) {
        (Reading::Limited { value, .. }, _) => pass(
            ID,
            format!("{seen}; the pids cgroup limit ({value}) bounds the container"),
        ),
        (_, false) => pass(ID, format!("{seen} (per uid, counted across the host)")),
        (_, true) => warn(
            ID,
            format!("{seen} and no pids cgroup limit: a fork bomb is unbounded"),
            "docker run --pids-limit 256 (compose: pids_limit: 256), or pidguard --rlimit nproc=512",
        ),
    }
}

fn core(f: &Facts) -> Check {
    const ID: &str = "limits.core";
    let r = match rlimit(f, "core") {
        Ok(r) => r,
        Err(e) => return warn(ID, e, ""),
    };
    let seen = format!("core {}:{}", limit_text(r.soft), limit_text(r.hard));
    let fix = "pidguard sets core=0:0 by default (--rlimit core=0); or docker run --ulimit core=0 \
               (compose: ulimits: core: 0)";
    if r.soft == 0 && r.hard == 0 {
        pass(ID, format!("{seen}: no core dumps"))
    } else if r.soft == 0 {
        warn(
            ID,
            format!("{seen}: off, but the program can turn core dumps back on"),
            fix,
        )
    } else {
        warn(
            ID,
            format!("{seen}: a core dump holds the process's memory, secrets included"),
            fix,
        )
    }
}

// ---------------------------------------------------------------------------------------------------
// Files and environment

fn setuid(f: &Facts) -> Check {
    const ID: &str = "fs.setuid";
    let w: &Walk = match &f.setuid {
        Ok(w) => w,
        Err(e) => return warn(ID, e, ""),
    };
    let nnp = matches!(&f.status, Ok(s) if s.no_new_privs == Some(true));
    let fix = "remove the bits in the Dockerfile: RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + \
               (or mount volumes nosuid)";
    let walked = format!(
        "{} entries walked, nosuid mounts, /proc, /sys and /dev skipped{}",
        w.entries,
        if w.unreadable > 0 {
            format!(", {} directories unreadable", w.unreadable)
        } else {
            String::new()
        }
    );
    if w.found_count == 0 {
        if w.truncated {
            warn(
                ID,
                format!("none found, but the walk stopped early ({walked})"),
                "",
            )
        } else {
            pass(ID, format!("no setuid or setgid files ({walked})"))
        }
    } else {
        let files = format!(
            "{} setuid/setgid files: {}",
            w.found_count,
            list(w.found.clone(), 5)
        );
        if nnp {
            warn(ID, format!("{files} (inert while no_new_privs is on)"), fix)
        } else {
            fail(ID, format!("{files}, and no_new_privs is off"), fix)
        }
    }
}

fn secrets(f: &Facts) -> Check {
    const ID: &str = "env.secrets";
    let mut names: Vec<String> = f
        .env_names
        .iter()
        .filter(|n| parse::secret_like(n))
        .cloned()
        .collect();
    names.sort_unstable();
    if names.is_empty() {
        pass(
            ID,
            format!(
                "no secret-like names among {} environment variables",
                f.env_names.len()
            ),
        )
    } else {
        fail(
            ID,
            format!(
                "secret-like variable names: {} (values not shown)",
                list(names, 8)
            ),
            "pass secrets as files: docker secrets or compose secrets: mounted under /run/secrets, \
             with NAME_FILE=/run/secrets/NAME; environment values show in docker inspect and reach \
             every child process",
        )
    }
}

// ---------------------------------------------------------------------------------------------------
// PID 1

/// Container inits other than pidguard.
const INITS: &[&str] = &[
    "tini",
    "docker-init",
    "dumb-init",
    "catatonit",
    "s6-svscan",
    "runit",
    "runsvdir",
    "supervisord",
    "systemd",
    "init",
];

fn pid1_name(f: &Facts) -> String {
    f.pid1
        .argv0
        .clone()
        .or_else(|| f.pid1.comm.clone())
        .unwrap_or_else(|| "unknown".into())
}

fn pid1_is_pidguard_name(f: &Facts) -> bool {
    f.pid1.comm.as_deref() == Some("pidguard") || f.pid1.argv0.as_deref() == Some("pidguard")
}

const FIX_ENTRYPOINT: &str =
    "ENTRYPOINT [\"/pidguard\", \"--user\", \"65532\", \"--\"] in the Dockerfile";

fn pid1_is_pidguard(f: &Facts) -> Check {
    const ID: &str = "pid1.pidguard";
    if f.pid1.is_self {
        return warn(
            ID,
            "this audit is PID 1: nothing else runs as init",
            FIX_ENTRYPOINT,
        );
    }
    let name = pid1_name(f);
    if pid1_is_pidguard_name(f) {
        pass(ID, "PID 1 is pidguard")
    } else if INITS.contains(&name.as_str()) {
        warn(
            ID,
            format!("PID 1 is {name}: an init, but not pidguard"),
            FIX_ENTRYPOINT,
        )
    } else {
        warn(
            ID,
            format!("PID 1 is {name}: not an init (zombies pile up, signals may be lost)"),
            FIX_ENTRYPOINT,
        )
    }
}

fn pid1_hardening(f: &Facts) -> Check {
    const ID: &str = "pid1.hardening";
    if f.pid1.is_self {
        return pass(ID, "this audit is PID 1: see the checks above");
    }
    let s = match &f.pid1.status {
        Ok(s) => s,
        Err(e) => return warn(ID, e, ""),
    };
    let name = pid1_name(f);
    let caps = s.cap_eff | s.cap_prm | s.cap_amb;
    let seen = format!(
        "PID 1 ({name}): uid {}, capabilities {}, bounding set {}, no_new_privs {}, seccomp {}",
        s.uid[1],
        if caps == 0 {
            "none".to_string()
        } else {
            caps.count_ones().to_string()
        },
        if s.cap_bnd == 0 {
            "empty".to_string()
        } else {
            s.cap_bnd.count_ones().to_string()
        },
        match s.no_new_privs {
            Some(true) => "on",
            Some(false) => "off",
            None => "unknown",
        },
        seccomp_state(s)
    );
    // Each weakness with the pidguard flag that caused it, when PID 1 is pidguard.
    let mut weak = Vec::new();
    let mut flags = Vec::new();
    if s.uid[..3].contains(&0) {
        weak.push("runs as root");
        flags.push("--user 65532 instead of --allow-root");
    }
    if caps != 0 {
        weak.push("holds capabilities");
        flags.push("fewer --cap-add");
    }
    if s.no_new_privs == Some(false) {
        weak.push("no_new_privs is off");
        flags.push("no --allow-new-privs");
    }
    if s.seccomp == Some(0) {
        weak.push("no seccomp filter");
        flags.push("no --seccomp unconfined");
    }
    if weak.is_empty() {
        pass(ID, seen)
    } else {
        let fix = if pid1_is_pidguard_name(f) {
            format!("pidguard {}", flags.join(", "))
        } else {
            "make pidguard PID 1 with --user: it drops root and every capability and sets \
             no_new_privs and seccomp for itself as well as for the program"
                .to_string()
        };
        warn(ID, format!("{seen}: {}", weak.join(", ")), &fix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::facts::{Devices, Pid1};

    fn status(uid: u32, caps: u64, nnp: bool, seccomp: u8) -> Status {
        Status {
            name: "x".into(),
            uid: [uid; 4],
            gid: [uid; 4],
            groups: vec![uid],
            cap_inh: 0,
            cap_prm: caps,
            cap_eff: caps,
            cap_bnd: caps,
            cap_amb: 0,
            no_new_privs: Some(nnp),
            seccomp: Some(seccomp),
            seccomp_filters: Some(if seccomp == 2 { 2 } else { 0 }),
        }
    }

    fn hardened() -> Facts {
        let mut f = Facts::unknown(7);
        f.status = Ok(status(65532, 0, true, 2));
        f.pid1 = Pid1 {
            is_self: false,
            comm: Some("pidguard".into()),
            argv0: Some("pidguard".into()),
            status: Ok(status(65532, 0, true, 2)),
        };
        f.uid_map = Ok(parse::id_map("0 0 4294967295\n").unwrap());
        f.lsm = Ok(Some("docker-default (enforce)".into()));
        f.mounts = parse::mountinfo(
            "1 0 0:1 / / ro - overlay overlay rw\n\
             2 1 0:2 / /proc rw,nosuid - proc proc rw\n\
             3 2 0:2 /sys /proc/sys ro - proc proc rw\n\
             4 1 0:3 / /sys ro - sysfs sysfs ro\n\
             5 1 0:4 / /tmp rw,noexec,nosuid - tmpfs tmpfs rw\n\
             6 1 0:5 / /dev rw,nosuid - tmpfs tmpfs rw\n\
             7 6 0:6 / /dev/shm rw,noexec,nosuid - tmpfs shm rw\n\
             8 1 254:0 /var/lib/docker/containers/x/hosts /etc/hosts ro - ext4 /dev/vda rw\n",
        )
        .map(|m| parse::visible(&m))
        .map_err(|e| e.to_string())
        .map_err(|e| e.to_string());
        f.memory = Reading::Limited {
            value: 64 << 20,
            version: 2,
        };
        f.pids = Reading::Limited {
            value: 64,
            version: 2,
        };
        f.rlimits = parse::limits(
            "Max processes 100 100 processes\nMax open files 1024 4096 files\n\
             Max core file size 0 0 bytes\n",
        )
        .map_err(|e| e.to_string());
        f.cap_last_cap = Some(40);
        f.interfaces = Ok(vec!["lo".into()]);
        f.writable = vec!["/tmp".into(), "/dev/shm".into()];
        f.devices = Ok(Devices {
            char_devices: 7,
            ..Devices::default()
        });
        f.setuid = Ok(Walk {
            entries: 40,
            ..Walk::default()
        });
        f.env_names = vec!["PATH".into(), "HOME".into(), "DB_PASSWORD_FILE".into()];
        f
    }

    fn verdict(f: &Facts, id: &str) -> Verdict {
        checks(f).into_iter().find(|c| c.id == id).unwrap().verdict
    }

    fn find(f: &Facts, id: &str) -> Check {
        checks(f).into_iter().find(|c| c.id == id).unwrap()
    }

    #[test]
    fn a_hardened_container_passes_everything() {
        let all = checks(&hardened());
        assert_eq!(all.len(), IDS.len());
        for c in &all {
            assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
            assert!(c.fix.is_empty());
        }
    }

    #[test]
    fn root_without_a_user_namespace_fails_twice() {
        let mut f = hardened();
        f.status = Ok(status(0, 0, true, 2));
        assert_eq!(verdict(&f, "identity.uid"), Verdict::Fail);
        assert_eq!(verdict(&f, "identity.gid"), Verdict::Warn);
        assert_eq!(verdict(&f, "identity.userns"), Verdict::Fail);
        assert!(find(&f, "identity.uid").fix.contains("USER 65532"));
        // Rootless: root here is an ordinary user on the host.
        f.uid_map = Ok(parse::id_map("0 100000 65536\n").unwrap());
        assert_eq!(verdict(&f, "identity.uid"), Verdict::Warn);
        assert!(
            find(&f, "identity.uid")
                .observed
                .contains("host uid 100000")
        );
        assert_eq!(verdict(&f, "identity.userns"), Verdict::Pass);
    }

    #[test]
    fn capabilities_by_set() {
        let mut f = hardened();
        let mut s = status(0, 0xa80425fb, false, 2);
        s.cap_amb = 1 << 10;
        f.status = Ok(s);
        assert_eq!(verdict(&f, "caps.effective"), Verdict::Fail);
        assert!(
            find(&f, "caps.effective")
                .observed
                .starts_with("14 (CAP_CHOWN")
        );
        assert_eq!(verdict(&f, "caps.inheritable"), Verdict::Pass);
        assert_eq!(
            verdict(&f, "caps.ambient"),
            Verdict::Warn,
            "NET_BIND_SERVICE only"
        );
        assert_eq!(
            verdict(&f, "caps.bounding"),
            Verdict::Fail,
            "no_new_privs off"
        );
        assert_eq!(
            verdict(&f, "privileged.caps"),
            Verdict::Pass,
            "Docker's default 14"
        );
        let mut s = status(65532, 0, true, 2);
        s.cap_bnd = 0xa80425fb;
        f.status = Ok(s);
        assert_eq!(
            verdict(&f, "caps.bounding"),
            Verdict::Warn,
            "out of reach under nnp"
        );
        let mut s = status(0, 0x3ffeffffff, false, 0);
        s.cap_bnd = 0x3ffeffffff;
        f.status = Ok(s);
        assert_eq!(verdict(&f, "privileged.caps"), Verdict::Fail);
        assert!(find(&f, "privileged.caps").observed.starts_with("37 of 41"));
        assert_eq!(verdict(&f, "no_new_privs"), Verdict::Fail);
        assert_eq!(verdict(&f, "seccomp"), Verdict::Fail);
    }

    #[test]
    fn lsm_labels() {
        let mut f = hardened();
        for (label, want) in [
            (Some("unconfined"), Verdict::Fail),
            (Some("system_u:system_r:spc_t:s0"), Verdict::Fail),
            (
                Some("system_u:system_r:container_t:s0:c1,c2"),
                Verdict::Pass,
            ),
            (Some("myprofile (complain)"), Verdict::Warn),
            (None, Verdict::Warn),
        ] {
            f.lsm = Ok(label.map(str::to_string));
            assert_eq!(verdict(&f, "lsm.label"), want, "{label:?}");
        }
    }

    #[test]
    fn writable_places() {
        let mut f = hardened();
        f.mounts = parse::mountinfo(
            "1 0 0:1 / / rw - overlay overlay rw\n\
             5 1 0:4 / /data rw - ext4 /dev/sdb rw\n\
             6 1 0:5 / /dev rw,nosuid - tmpfs tmpfs rw\n",
        )
        .map_err(|e| e.to_string());
        f.writable = vec!["/".into(), "/tmp".into(), "/data".into()];
        assert_eq!(verdict(&f, "fs.rootfs"), Verdict::Warn);
        let tmp = find(&f, "fs.tmp");
        assert_eq!(tmp.verdict, Verdict::Warn);
        assert_eq!(tmp.observed, "writable and executable (on the / mount)");
        assert!(tmp.fix.contains("--tmpfs /tmp:rw,noexec,nosuid"));
        assert_eq!(
            find(&f, "fs.dev_shm").observed,
            "not writable by this process (on the /dev mount)"
        );
        let w = find(&f, "fs.writable_exec");
        assert_eq!(
            (w.verdict, w.observed.as_str()),
            (Verdict::Warn, "writable and executable: /data")
        );
        assert_eq!(
            verdict(&f, "mounts.host_root"),
            Verdict::Fail,
            "a whole disk's root"
        );
        assert_eq!(verdict(&f, "mounts.proc"), Verdict::Warn, "no /proc");
    }

    #[test]
    fn dangerous_mounts() {
        let mut f = hardened();
        f.mounts = parse::mountinfo(
            "1 0 0:1 / / rw - overlay overlay rw\n\
             2 1 0:2 / /proc rw - proc proc rw\n\
             3 1 0:3 / /sys rw - sysfs sysfs rw\n\
             4 1 254:0 /run/docker.sock /var/run/docker.sock rw - ext4 /dev/vda rw\n\
             5 1 254:0 /var/lib/docker/containers/x/hosts /etc/hosts rw - ext4 /dev/vda rw\n\
             6 1 254:0 /etc /host/etc ro - ext4 /dev/vda rw\n\
             7 1 0:2 / /host/proc rw - proc proc rw\n",
        )
        .map_err(|e| e.to_string());
        let sock = find(&f, "mounts.engine_socket");
        assert_eq!(sock.verdict, Verdict::Fail);
        assert!(
            sock.observed
                .contains("the Docker engine's socket mounted at /var/run/docker.sock")
        );
        f.engine_sockets = vec!["/var/run/docker.sock".into()];
        let sock = find(&f, "mounts.engine_socket");
        assert!(
            !sock.observed.contains("mounted at"),
            "reported once: {sock:?}"
        );
        assert!(find(&f, "mounts.proc").observed.contains("/host/proc"));
        assert_eq!(verdict(&f, "mounts.sys"), Verdict::Fail);
        let host = find(&f, "mounts.host_root");
        assert_eq!(
            (host.verdict, host.observed.as_str()),
            (Verdict::Fail, "mounted: host /etc at /host/etc")
        );
        f.mounts = parse::mountinfo(
            "1 0 0:1 / / rw - overlay overlay rw\n2 1 0:2 / /proc rw - proc proc rw\n",
        )
        .map_err(|e| e.to_string());
        assert_eq!(
            find(&f, "mounts.proc").verdict,
            Verdict::Fail,
            "/proc/sys unmasked"
        );
    }

    #[test]
    fn devices_and_namespaces() {
        let mut f = hardened();
        f.devices = Ok(Devices {
            char_devices: 90,
            block_names: vec!["loop0".into(), "vda".into()],
            block_devices: 2,
        });
        let d = find(&f, "privileged.devices");
        assert_eq!(d.verdict, Verdict::Fail);
        assert!(d.observed.contains("(loop0, vda)"));
        f.kthreadd_visible = true;
        assert_eq!(verdict(&f, "ns.pid"), Verdict::Fail);
        f.interfaces = Ok(vec!["lo".into(), "eth0".into(), "docker0".into()]);
        assert_eq!(verdict(&f, "ns.net"), Verdict::Fail);
        f.interfaces = Ok(vec!["lo".into(), "eth0".into()]);
        assert_eq!(verdict(&f, "ns.net"), Verdict::Pass);
        f.engine_listeners = vec!["/var/run/docker.sock".into()];
        assert_eq!(verdict(&f, "ns.net"), Verdict::Fail);
    }

    #[test]
    fn limits() {
        let mut f = hardened();
        assert_eq!(
            find(&f, "limits.memory").observed,
            "memory limit 64 MiB (cgroup v2)"
        );
        f.memory = Reading::Unlimited { version: 1 };
        f.pids = Reading::Unknown("no cgroup".into());
        assert_eq!(verdict(&f, "limits.memory"), Verdict::Warn);
        assert_eq!(verdict(&f, "limits.pids"), Verdict::Warn);
        assert_eq!(verdict(&f, "limits.nproc"), Verdict::Pass, "finite nproc");
        f.rlimits = parse::limits(
            "Max processes unlimited unlimited processes\nMax open files 1073741816 1073741816 files\n\
             Max core file size 0 unlimited bytes\n",
        ).map_err(|e| e.to_string());
        assert_eq!(verdict(&f, "limits.nproc"), Verdict::Warn);
        assert_eq!(verdict(&f, "limits.nofile"), Verdict::Warn);
        assert_eq!(verdict(&f, "limits.core"), Verdict::Warn);
        f.rlimits = Err("cannot read /proc/self/limits: EACCES".into());
        assert_eq!(verdict(&f, "limits.core"), Verdict::Warn);
    }

    #[test]
    fn setuid_files() {
        let mut f = hardened();
        f.setuid = Ok(Walk {
            found: vec!["/bin/su".into()],
            found_count: 1,
            entries: 10,
            ..Walk::default()
        });
        assert_eq!(verdict(&f, "fs.setuid"), Verdict::Warn, "inert under nnp");
        f.status = Ok(status(65532, 0, false, 2));
        assert_eq!(verdict(&f, "fs.setuid"), Verdict::Fail);
        f.setuid = Ok(Walk {
            entries: 100_000,
            truncated: true,
            ..Walk::default()
        });
        assert_eq!(verdict(&f, "fs.setuid"), Verdict::Warn, "incomplete");
    }

    #[test]
    fn secrets_are_named_never_shown() {
        let mut f = hardened();
        f.env_names.push("DB_PASSWORD".into());
        f.env_names.push("GITHUB_TOKEN".into());
        let c = find(&f, "env.secrets");
        assert_eq!(c.verdict, Verdict::Fail);
        assert_eq!(
            c.observed,
            "secret-like variable names: DB_PASSWORD, GITHUB_TOKEN (values not shown)"
        );
    }

    #[test]
    fn pid1() {
        let mut f = hardened();
        f.pid1.comm = Some("docker-init".into());
        f.pid1.argv0 = Some("docker-init".into());
        f.pid1.status = Ok(status(0, 0xa80425fb, false, 2));
        assert_eq!(verdict(&f, "pid1.pidguard"), Verdict::Warn);
        let h = find(&f, "pid1.hardening");
        assert_eq!(h.verdict, Verdict::Warn);
        assert!(
            h.observed
                .ends_with("runs as root, holds capabilities, no_new_privs is off"),
            "{h:?}"
        );
        f.pid1.comm = Some("pidguard".into());
        f.pid1.argv0 = Some("pidguard".into());
        f.pid1.status = Ok(status(0, 0, true, 0));
        assert_eq!(
            find(&f, "pid1.hardening").fix,
            "pidguard --user 65532 instead of --allow-root, no --seccomp unconfined"
        );
        f.pid1.is_self = true;
        assert_eq!(
            find(&f, "pid1.pidguard").observed,
            "this audit is PID 1: nothing else runs as init"
        );
        f.pid1 = Pid1 {
            is_self: false,
            comm: Some("sh".into()),
            argv0: Some("sh".into()),
            status: Err("cannot read /proc/1/status: EACCES".into()),
        };
        assert!(find(&f, "pid1.pidguard").observed.contains("not an init"));
        assert_eq!(verdict(&f, "pid1.hardening"), Verdict::Warn);
    }

    #[test]
    fn unreadable_facts_warn_and_never_pass() {
        let f = Facts::unknown(7);
        for c in checks(&f) {
            if matches!(c.id, "env.secrets" | "ns.pid") {
                continue;
            }
            assert_eq!(c.verdict, Verdict::Warn, "{c:?}");
        }
    }

    #[test]
    fn observed_text_is_one_line() {
        let mut f = hardened();
        f.setuid = Ok(Walk {
            found: vec!["/bin/evil\nFAIL  fake".into()],
            found_count: 1,
            entries: 1,
            ..Walk::default()
        });
        let c = find(&f, "fs.setuid");
        assert!(!c.observed.contains('\n'), "{c:?}");
        assert!(c.observed.contains("/bin/evil?FAIL  fake"));
    }

    fn landlock_facts(
        abi: Result<u32, &str>,
        layers: Result<u32, &str>,
        refused: bool,
        ro: bool,
    ) -> Facts {
        let mut f = Facts::unknown(7);
        f.landlock = super::super::landlock::Landlock {
            abi: abi.map_err(String::from),
            layers: layers.map_err(String::from),
            writes_refused: refused,
            refused: Vec::new(),
        };
        let opts = if ro { "ro" } else { "rw" };
        let line = format!("1 0 0:1 / / {opts},relatime - overlay overlay rw\n");
        f.mounts = Ok(parse::visible(&parse::mountinfo(&line).unwrap()));
        f.writable = vec!["/dev/shm".into(), "/tmp".into()];
        f
    }

    fn landlock_seen(f: &Facts) -> (Verdict, String) {
        let c = landlock(f);
        (c.verdict, c.observed)
    }

    #[test]
    fn landlock_verdicts() {
        let (v, o) = landlock_seen(&landlock_facts(Ok(7), Ok(2), true, false));
        assert_eq!(v, Verdict::Pass);
        assert!(
            o.contains("2 domains") && o.ends_with("/dev/shm, /tmp"),
            "{o}"
        );
        let (v, o) = landlock_seen(&landlock_facts(Ok(7), Ok(0), false, false));
        assert_eq!(
            (v, o.as_str()),
            (Verdict::Warn, "not confined by Landlock (ABI 7 available)")
        );
        assert_eq!(
            landlock_seen(&landlock_facts(Ok(7), Ok(0), false, true)).0,
            Verdict::Pass
        );
        // Scopes alone (pidguard without --read-only): a domain, but no write rules.
        let (v, o) = landlock_seen(&landlock_facts(Ok(7), Ok(1), false, false));
        assert!(v == Verdict::Warn && o.contains("no write rules"), "{o}");
        let (v, o) = landlock_seen(&landlock_facts(
            Err("Function not implemented"),
            Err("x"),
            false,
            false,
        ));
        assert!(v == Verdict::Warn && o.contains("no Landlock"), "{o}");
        assert_eq!(
            landlock_seen(&landlock_facts(Ok(7), Err("EPERM"), false, false)).0,
            Verdict::Warn
        );
        // fs.rootfs passes on a read-write root when Landlock keeps it read-only.
        let rootfs = |f: &Facts| {
            let all = checks(f);
            all.into_iter().find(|c| c.id == "fs.rootfs").unwrap()
        };
        let c = rootfs(&landlock_facts(Ok(7), Ok(2), true, false));
        assert!(
            c.verdict == Verdict::Pass && c.observed.contains("Landlock"),
            "{c:?}"
        );
        assert_eq!(
            rootfs(&landlock_facts(Ok(7), Ok(1), false, false)).verdict,
            Verdict::Warn
        );
    }
}
