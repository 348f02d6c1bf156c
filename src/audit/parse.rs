//! Pure parsers for the kernel files the audit reads: `/proc/PID/status`, `mountinfo`, `cgroup`,
//! `uid_map`, `limits`, `/proc/net/dev`, `/proc/net/unix`, cgroup limit files, and the environment
//! variable names that look like secrets.
//!
//! Each takes the text the kernel wrote and returns values or a one-line error naming the file and the
//! line, so that the verdicts can be unit-tested on files recorded in real containers
//! (tests/audit/) and fuzzed without a kernel. Every parser bounds what it keeps (lines, entries,
//! bytes): a hostile or merely huge file costs at most those bounds. The formats follow proc(5),
//! proc_pid_status(5), proc_pid_mountinfo(5), user_namespaces(7) and the kernel's cgroup docs.

use std::fmt;

/// Most lines any one file may have before the parser stops with an error.
pub const MAX_LINES: usize = 10_000;
/// Most mounts kept from a mountinfo (also bounds the quadratic visibility pass).
pub const MAX_MOUNTS: usize = 4096;
/// Most entries of a uid_map or gid_map (the kernel allows 340).
pub const MAX_ID_RANGES: usize = 340;
/// Most supplementary groups (NGROUPS_MAX).
pub const MAX_GROUPS: usize = 65_536;

/// A file that could not be parsed: which file, which line (1-based), why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub file: &'static str,
    pub line: usize,
    pub why: &'static str,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}: {}", self.file, self.line, self.why)
    }
}

impl std::error::Error for Error {}

fn err(file: &'static str, line: usize, why: &'static str) -> Error {
    Error { file, line, why }
}

/// The lines of `text`, numbered from 1, refusing more than [`MAX_LINES`].
fn lines<'a>(
    file: &'static str,
    text: &'a str,
) -> Result<impl Iterator<Item = (usize, &'a str)>, Error> {
    let n = text.lines().count();
    if n > MAX_LINES {
        return Err(err(file, MAX_LINES + 1, "too many lines"));
    }
    Ok(text.lines().enumerate().map(|(i, l)| (i + 1, l)))
}

// ---------------------------------------------------------------------------------------------------
// /proc/PID/status

/// The fields of `/proc/PID/status` the audit uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    pub name: String,
    /// Real, effective, saved, filesystem.
    pub uid: [u32; 4],
    pub gid: [u32; 4],
    pub groups: Vec<u32>,
    pub cap_inh: u64,
    pub cap_prm: u64,
    pub cap_eff: u64,
    pub cap_bnd: u64,
    /// Absent before Linux 4.3: then 0.
    pub cap_amb: u64,
    /// Absent before Linux 4.10.
    pub no_new_privs: Option<bool>,
    /// 0 off, 1 strict, 2 filter; absent without CONFIG_SECCOMP.
    pub seccomp: Option<u8>,
    /// Absent before Linux 5.9.
    pub seccomp_filters: Option<u32>,
}

fn ids4(file: &'static str, line: usize, v: &str) -> Result<[u32; 4], Error> {
    let mut out = [0u32; 4];
    let mut n = 0;
    for (i, word) in v.split_whitespace().enumerate() {
        if i >= 4 {
            return Err(err(file, line, "more than 4 ids"));
        }
        out[i] = word
            .parse()
            .map_err(|_| err(file, line, "an id is not a number"))?;
        n += 1;
    }
    if n != 4 {
        return Err(err(file, line, "fewer than 4 ids"));
    }
    Ok(out)
}

fn hex64(file: &'static str, line: usize, v: &str) -> Result<u64, Error> {
    if v.is_empty() || v.len() > 16 {
        return Err(err(
            file,
            line,
            "a capability mask is not 1 to 16 hex digits",
        ));
    }
    u64::from_str_radix(v, 16).map_err(|_| err(file, line, "a capability mask is not hex"))
}

/// Parses `/proc/PID/status`. Uid, Gid and the four capability sets are required (every kernel the
/// audit can meet has them); the newer fields are optional.
pub fn status(text: &str) -> Result<Status, Error> {
    const F: &str = "status";
    let mut s = Status::default();
    let mut seen = 0u8;
    for (n, line) in lines(F, text)? {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let v = value.trim();
        match key {
            "Name" => s.name = v.chars().take(64).collect(),
            "Uid" => {
                s.uid = ids4(F, n, v)?;
                seen |= 1;
            }
            "Gid" => {
                s.gid = ids4(F, n, v)?;
                seen |= 2;
            }
            "Groups" => {
                s.groups = v
                    .split_whitespace()
                    .take(MAX_GROUPS)
                    .map(|g| g.parse().map_err(|_| err(F, n, "a group is not a number")))
                    .collect::<Result<_, _>>()?;
            }
            "CapInh" => {
                s.cap_inh = hex64(F, n, v)?;
                seen |= 4;
            }
            "CapPrm" => {
                s.cap_prm = hex64(F, n, v)?;
                seen |= 8;
            }
            "CapEff" => {
                s.cap_eff = hex64(F, n, v)?;
                seen |= 16;
            }
            "CapBnd" => {
                s.cap_bnd = hex64(F, n, v)?;
                seen |= 32;
            }
            "CapAmb" => s.cap_amb = hex64(F, n, v)?,
            "NoNewPrivs" => {
                s.no_new_privs = Some(match v {
                    "0" => false,
                    "1" => true,
                    _ => return Err(err(F, n, "NoNewPrivs is not 0 or 1")),
                })
            }
            "Seccomp" => {
                s.seccomp = Some(match v {
                    "0" | "1" | "2" => v.as_bytes()[0] - b'0',
                    _ => return Err(err(F, n, "Seccomp is not 0, 1 or 2")),
                })
            }
            "Seccomp_filters" => {
                s.seccomp_filters = Some(
                    v.parse()
                        .map_err(|_| err(F, n, "Seccomp_filters is not a number"))?,
                )
            }
            _ => {}
        }
    }
    if seen != 63 {
        return Err(err(F, 0, "Uid, Gid or a Cap* line is missing"));
    }
    Ok(s)
}

// ---------------------------------------------------------------------------------------------------
// /proc/PID/mountinfo

/// One line of mountinfo. Only what the checks use is kept; in particular the superblock options
/// are reduced to the cgroup v1 controller names, because other filesystems may carry credentials
/// there (CIFS `password=`) and nothing from them may end up in a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub id: u32,
    pub parent: u32,
    pub major: u32,
    pub minor: u32,
    /// The path inside the filesystem that is mounted (`/` for a whole filesystem, a directory for a
    /// bind mount).
    pub root: String,
    pub point: String,
    pub read_only: bool,
    pub nosuid: bool,
    pub nodev: bool,
    pub noexec: bool,
    pub fstype: String,
    pub source: String,
    /// For `cgroup` (v1) mounts: the controllers (`memory`, `pids`, `name=systemd`, ...).
    pub controllers: Vec<String>,
}

/// Undoes the octal escapes mountinfo uses for space, tab, newline and backslash (`\040`).
pub fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            if let Ok(v) = u8::try_from(v) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses mountinfo (proc_pid_mountinfo(5)):
/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`.
pub fn mountinfo(text: &str) -> Result<Vec<Mount>, Error> {
    const F: &str = "mountinfo";
    let mut out = Vec::new();
    for (n, line) in lines(F, text)? {
        if line.trim().is_empty() {
            continue;
        }
        if out.len() >= MAX_MOUNTS {
            return Err(err(F, n, "more mounts than the audit reads"));
        }
        let fields: Vec<&str> = line.split(' ').collect();
        let sep = fields
            .iter()
            .position(|f| *f == "-")
            .ok_or_else(|| err(F, n, "no ' - ' separator"))?;
        if sep < 6 || fields.len() < sep + 4 {
            return Err(err(F, n, "too few fields"));
        }
        let num = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| err(F, n, "an id is not a number"))
        };
        let (major, minor) = fields[2]
            .split_once(':')
            .ok_or_else(|| err(F, n, "major:minor has no colon"))?;
        let opts: Vec<&str> = fields[5].split(',').collect();
        let fstype = unescape(fields[sep + 1]);
        let controllers = if fstype == "cgroup" {
            fields[sep + 3]
                .split(',')
                .filter(|o| !matches!(*o, "rw" | "ro") && !o.is_empty())
                .take(64)
                .map(str::to_string)
                .collect()
        } else {
            Vec::new()
        };
        out.push(Mount {
            id: num(fields[0])?,
            parent: num(fields[1])?,
            major: num(major)?,
            minor: num(minor)?,
            root: unescape(fields[3]),
            point: unescape(fields[4]),
            read_only: opts.contains(&"ro"),
            nosuid: opts.contains(&"nosuid"),
            nodev: opts.contains(&"nodev"),
            noexec: opts.contains(&"noexec"),
            fstype,
            source: unescape(fields[sep + 2]),
            controllers,
        });
    }
    Ok(out)
}

/// Whether `prefix` is `path` or one of its ancestor directories (`/` is everyone's).
pub fn path_within(path: &str, prefix: &str) -> bool {
    if prefix == "/" {
        return path.starts_with('/');
    }
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The mounts a path lookup can reach: a mount is hidden when a later mount sits on its mount point
/// or on one of its ancestors without being mounted on top of it. `docker run -v /sys:/sys`, for
/// example, covers the container's own /sys/fs/cgroup mounts with the host's.
pub fn visible(mounts: &[Mount]) -> Vec<Mount> {
    let ancestors = |m: &Mount| {
        let mut ids = Vec::new();
        let mut cur = m.parent;
        while ids.len() < mounts.len() && !ids.contains(&cur) {
            ids.push(cur);
            match mounts.iter().find(|p| p.id == cur) {
                Some(p) if p.parent != p.id => cur = p.parent,
                _ => break,
            }
        }
        ids
    };
    mounts
        .iter()
        .enumerate()
        .filter(|(i, m)| {
            let up = ancestors(m);
            !mounts[i + 1..]
                .iter()
                .any(|later| path_within(&m.point, &later.point) && !up.contains(&later.id))
        })
        .map(|(_, m)| m.clone())
        .collect()
}

/// The visible mount that holds `path`: the one with the longest mount point containing it.
pub fn mount_of<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
    mounts
        .iter()
        .filter(|m| path_within(path, &m.point))
        .max_by_key(|m| m.point.len())
}

// ---------------------------------------------------------------------------------------------------
// /proc/PID/cgroup

/// One line of `/proc/PID/cgroup`: `hierarchy-ID:controller-list:cgroup-path`. Hierarchy 0 with an
/// empty controller list is cgroup v2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupLine {
    pub hierarchy: u32,
    pub controllers: Vec<String>,
    pub path: String,
}

pub fn cgroup(text: &str) -> Result<Vec<CgroupLine>, Error> {
    const F: &str = "cgroup";
    let mut out = Vec::new();
    for (n, line) in lines(F, text)? {
        if line.is_empty() {
            continue;
        }
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(ctl), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(err(F, n, "expected ID:CONTROLLERS:PATH"));
        };
        if !path.starts_with('/') {
            return Err(err(F, n, "the path is not absolute"));
        }
        out.push(CgroupLine {
            hierarchy: id
                .parse()
                .map_err(|_| err(F, n, "the hierarchy id is not a number"))?,
            controllers: ctl
                .split(',')
                .filter(|c| !c.is_empty())
                .take(64)
                .map(str::to_string)
                .collect(),
            path: path.to_string(),
        });
    }
    Ok(out)
}

/// A cgroup limit as read from one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Max,
    Value(u64),
}

/// Values at or above this in a cgroup v1 `memory.limit_in_bytes` mean "no limit": v1 reports its
/// unlimited value as LONG_MAX rounded down to a page (9223372036854771712).
pub const V1_UNLIMITED: u64 = 1 << 62;

/// Parses `memory.max`, `pids.max` (`max` or a number) or v1's `memory.limit_in_bytes`.
pub fn cgroup_limit(text: &str) -> Result<Limit, Error> {
    const F: &str = "cgroup limit";
    let v = text.trim();
    if v == "max" {
        return Ok(Limit::Max);
    }
    let n: u64 = v
        .parse()
        .map_err(|_| err(F, 1, "neither \"max\" nor a number"))?;
    Ok(if n >= V1_UNLIMITED {
        Limit::Max
    } else {
        Limit::Value(n)
    })
}

/// The files that hold one cgroup controller's limits for a process, and the cgroup version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitFiles {
    pub version: u8,
    /// From the process's own cgroup up to the top of the mounted hierarchy: a limit on any of
    /// them applies (a parent's limit caps its children).
    pub files: Vec<String>,
    /// The process is in the root cgroup of the hierarchy (or of its cgroup namespace): the only
    /// cgroup without limit files.
    pub at_root: bool,
}

/// Most cgroup levels between a process's cgroup and the top of the mounted hierarchy.
pub const MAX_CGROUP_DEPTH: usize = 32;

/// Where the `controller` ("memory" or "pids") limit files are for a process with these
/// `/proc/PID/cgroup` lines, given the visible mounts. cgroup v1 wins when the controller is bound to
/// a v1 hierarchy (the hybrid layout has both).
///
/// The directory is the mount point plus the process's cgroup path relative to the mount's root:
/// without a cgroup namespace Docker bind-mounts the container's own cgroup (`root` = the cgroup
/// path), with one the mount's root and the path are both `/`; `-v /sys:/sys` shows the host's
/// whole hierarchy (`root` = `/`, path `/docker/ID`). A path outside the mount's root (a cgroup
/// namespace shows those as `/../..`) leaves only the mount point.
pub fn limit_files(lines: &[CgroupLine], mounts: &[Mount], controller: &str) -> Option<LimitFiles> {
    let v1 = lines
        .iter()
        .find(|l| l.hierarchy != 0 && l.controllers.iter().any(|c| c == controller))
        .and_then(|l| {
            let m = mounts
                .iter()
                .rev()
                .find(|m| m.fstype == "cgroup" && m.controllers.iter().any(|c| c == controller))?;
            Some((1u8, l, m))
        });
    let v2 = || {
        let l = lines
            .iter()
            .find(|l| l.hierarchy == 0 && l.controllers.is_empty())?;
        let m = mounts.iter().rev().find(|m| m.fstype == "cgroup2")?;
        Some((2u8, l, m))
    };
    let (version, line, mount) = v1.or_else(v2)?;
    let file = match (version, controller) {
        (1, "memory") => "memory.limit_in_bytes",
        (_, "memory") => "memory.max",
        _ => "pids.max",
    };
    let rel = if mount.root == "/" {
        Some(line.path.as_str())
    } else if path_within(&line.path, &mount.root) {
        Some(&line.path[mount.root.len()..])
    } else {
        None
    };
    let parts: Vec<&str> = match rel {
        Some(rel) if !rel.split('/').any(|c| c == ".." || c == ".") => {
            rel.split('/').filter(|c| !c.is_empty()).collect()
        }
        _ => Vec::new(),
    };
    if parts.len() > MAX_CGROUP_DEPTH {
        return None;
    }
    let base = mount.point.trim_end_matches('/');
    let files = (0..=parts.len())
        .rev()
        .map(|n| {
            let mut dir = base.to_string();
            for p in &parts[..n] {
                dir.push('/');
                dir.push_str(p);
            }
            format!("{dir}/{file}")
        })
        .collect();
    let at_root = mount.root == "/" && parts.is_empty();
    Some(LimitFiles {
        version,
        files,
        at_root,
    })
}

// ---------------------------------------------------------------------------------------------------
// /proc/PID/uid_map

/// One range of a uid_map or gid_map: `count` ids from `inside` map to `outside` in the parent
/// user namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

pub fn id_map(text: &str) -> Result<Vec<IdRange>, Error> {
    const F: &str = "uid_map";
    let mut out = Vec::new();
    for (n, line) in lines(F, text)? {
        if line.trim().is_empty() {
            continue;
        }
        if out.len() >= MAX_ID_RANGES {
            return Err(err(F, n, "more ranges than the kernel allows"));
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() != 3 {
            return Err(err(F, n, "expected INSIDE OUTSIDE COUNT"));
        }
        let num = |s: &str| s.parse::<u32>().map_err(|_| err(F, n, "not a number"));
        out.push(IdRange {
            inside: num(w[0])?,
            outside: num(w[1])?,
            count: num(w[2])?,
        });
    }
    Ok(out)
}

/// Whether the map is the initial user namespace's (`0 0 4294967295`): no user namespace.
pub fn is_identity_map(map: &[IdRange]) -> bool {
    map == [IdRange {
        inside: 0,
        outside: 0,
        count: u32::MAX,
    }]
}

/// The id outside the namespace that `id` inside maps to.
pub fn map_id(map: &[IdRange], id: u32) -> Option<u32> {
    map.iter().find_map(|r| {
        let off = id.checked_sub(r.inside)?;
        (off < r.count).then(|| r.outside.wrapping_add(off))
    })
}

// ---------------------------------------------------------------------------------------------------
// /proc/PID/limits

/// Value of "unlimited" in a limits file.
pub const UNLIMITED: u64 = u64::MAX;

/// One resource limit, by the short name `--rlimit` and `docker run --ulimit` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    pub name: &'static str,
    pub soft: u64,
    pub hard: u64,
}

const LIMIT_NAMES: &[(&str, &str)] = &[
    ("Max cpu time", "cpu"),
    ("Max file size", "fsize"),
    ("Max data size", "data"),
    ("Max stack size", "stack"),
    ("Max core file size", "core"),
    ("Max resident set", "rss"),
    ("Max processes", "nproc"),
    ("Max open files", "nofile"),
    ("Max locked memory", "memlock"),
    ("Max address space", "as"),
    ("Max file locks", "locks"),
    ("Max pending signals", "sigpending"),
    ("Max msgqueue size", "msgqueue"),
    ("Max nice priority", "nice"),
    ("Max realtime priority", "rtprio"),
    ("Max realtime timeout", "rttime"),
];

/// Parses `/proc/PID/limits`: a header, then `Max open files  1024  4096  files` per resource (the
/// names contain spaces; lines with names this table does not know are skipped).
pub fn limits(text: &str) -> Result<Vec<Rlimit>, Error> {
    const F: &str = "limits";
    let mut out = Vec::new();
    for (n, line) in lines(F, text)? {
        let Some(&(long, short)) = LIMIT_NAMES
            .iter()
            .find(|(long, _)| line.strip_prefix(long).is_some_and(|r| r.starts_with(' ')))
        else {
            continue;
        };
        let mut w = line[long.len()..].split_whitespace();
        let value = |s: Option<&str>| match s {
            Some("unlimited") => Ok(UNLIMITED),
            Some(s) => s.parse().map_err(|_| err(F, n, "a limit is not a number")),
            None => Err(err(F, n, "a limit is missing")),
        };
        let soft = value(w.next())?;
        let hard = value(w.next())?;
        out.push(Rlimit {
            name: short,
            soft,
            hard,
        });
    }
    if out.is_empty() {
        return Err(err(F, 1, "no limit lines"));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------
// /proc/net

/// Interface names from `/proc/net/dev` (two header lines, then `  eth0: 123 ...`).
pub fn net_dev(text: &str) -> Result<Vec<String>, Error> {
    const F: &str = "net/dev";
    let mut out = Vec::new();
    for (n, line) in lines(F, text)? {
        if n <= 2 || line.trim().is_empty() {
            continue;
        }
        let (name, _) = line
            .split_once(':')
            .ok_or_else(|| err(F, n, "no ':' after the interface name"))?;
        out.push(name.trim().chars().take(32).collect());
    }
    Ok(out)
}

/// Bound names of `/proc/net/unix` sockets (the eighth column; `@` starts an abstract name). The
/// list holds the sockets of the reader's network namespace.
pub fn net_unix(text: &str) -> Result<Vec<String>, Error> {
    const F: &str = "net/unix";
    let mut out = Vec::new();
    for (n, line) in lines(F, text)? {
        if n == 1 {
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() < 7 {
            return Err(err(F, n, "too few fields"));
        }
        if let Some(path) = w.get(7) {
            out.push(path.chars().take(256).collect());
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------
// Small values

/// An LSM label from `/proc/self/attr/current`: trailing NUL and newline removed; `None` if empty.
pub fn lsm_label(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let t = text.trim_end_matches(['\0', '\n']).trim();
    (!t.is_empty()).then(|| t.chars().take(256).collect())
}

/// The file name of `argv[0]` in a `/proc/PID/cmdline` (NUL-separated). The arguments are never kept:
/// a command line may carry a password.
pub fn argv0(cmdline: &[u8]) -> Option<String> {
    let first = cmdline.split(|&b| b == 0).next()?;
    let name = String::from_utf8_lossy(first);
    let base = name.rsplit('/').next().unwrap_or("");
    (!base.is_empty()).then(|| base.chars().take(64).collect())
}

// ---------------------------------------------------------------------------------------------------
// Environment variable names

/// Whole words (between `_`, `-` or `.`) that make a name look like it holds a secret.
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASS",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "TOKENS",
    "KEY",
    "APIKEY",
    "PASSPHRASE",
    "CREDENTIAL",
    "CREDENTIALS",
    "CREDS",
    "PRIVATE",
];

/// Parts of a word that do the same inside longer words (`DBPASSWORD`, `GITHUBTOKEN`).
const SECRET_PARTS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "PRIVATEKEY",
];

/// Names that match the words above but name no secret: well-known public values (the official images' `GPG_KEY` is a public key fingerprint).
const NOT_SECRETS: &[&str] = &["GPG_KEY", "GPG_KEYS"];

/// Whole words that mark a name as pointing at a secret rather than holding one (Docker's and
/// the official images' `_FILE` convention).
const POINTER_WORDS: &[&str] = &["FILE", "PATH", "DIR", "FILENAME"];

/// Whether an environment variable *name* looks like it holds a secret: a word like PASSWORD,
/// SECRET, TOKEN or KEY, and not a `*_FILE` (or `_PATH`, `_DIR`) pointer, nor a public key.
pub fn secret_like(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if NOT_SECRETS.contains(&upper.as_str()) {
        return false;
    }
    let words: Vec<&str> = upper
        .split(['_', '-', '.'])
        .filter(|w| !w.is_empty())
        .collect();
    if words.last().is_some_and(|w| POINTER_WORDS.contains(w)) {
        return false;
    }
    if words.contains(&"PUBLIC") || words.contains(&"PUB") {
        return false;
    }
    words
        .iter()
        .any(|w| SECRET_WORDS.contains(w) || SECRET_PARTS.iter().any(|part| w.contains(part)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tcat\nUmask:\t0022\nUid:\t65532\t65532\t65532\t65532\n\
        Gid:\t65532\t65532\t65532\t65532\nGroups:\t65532 65533 \nCapInh:\t0000000000000000\n\
        CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t00000000a80425fb\n\
        CapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t3\n";

    #[test]
    fn status_fields() {
        let s = status(STATUS).unwrap();
        assert_eq!(s.name, "cat");
        assert_eq!(s.uid, [65532; 4]);
        assert_eq!(s.groups, vec![65532, 65533]);
        assert_eq!(s.cap_bnd, 0xa80425fb);
        assert_eq!(s.no_new_privs, Some(true));
        assert_eq!((s.seccomp, s.seccomp_filters), (Some(2), Some(3)));
    }

    #[test]
    fn status_of_an_old_kernel_and_bad_files() {
        let old = "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapInh:\t0\nCapPrm:\tffffffff\nCapEff:\tffffffff\nCapBnd:\tffffffff\n";
        let s = status(old).unwrap();
        assert_eq!((s.no_new_privs, s.seccomp, s.cap_amb), (None, None, 0));
        assert_eq!(
            status("Name:\tx\n").unwrap_err().why,
            "Uid, Gid or a Cap* line is missing"
        );
        let bad = STATUS.replace("CapEff:\t0000000000000000", "CapEff:\tzz");
        assert_eq!(status(&bad).unwrap_err().line, 8);
        let bad = STATUS.replace("Uid:\t65532\t65532\t65532\t65532", "Uid:\t1 2 3");
        assert!(
            status(&bad)
                .unwrap_err()
                .to_string()
                .starts_with("status line 3:")
        );
        assert!(status(&STATUS.replace("Seccomp:\t2", "Seccomp:\t7")).is_err());
        assert!(status(&"x\n".repeat(MAX_LINES + 1)).is_err());
    }

    #[test]
    fn mountinfo_fields_and_escapes() {
        let text = "298 274 0:49 / / ro,relatime master:2 - overlay overlay rw,lowerdir=/a\n\
            315 298 0:59 / /tmp rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw\n\
            307 303 0:32 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n\
            149 95 254:0 /run/my\\040dir /data\\040x rw,relatime - ext4 /dev/vda rw,password=hunter\n";
        let m = mountinfo(text).unwrap();
        assert_eq!(m.len(), 4);
        assert!(m[0].read_only && m[0].point == "/" && m[0].fstype == "overlay");
        assert!(m[1].noexec && m[1].nosuid && !m[1].read_only);
        assert_eq!(m[2].controllers, vec!["memory"]);
        assert_eq!(m[2].root, "/docker/abc");
        assert_eq!((m[3].major, m[3].minor), (254, 0));
        assert_eq!(
            (m[3].root.as_str(), m[3].point.as_str()),
            ("/run/my dir", "/data x")
        );
        assert!(
            m[3].controllers.is_empty(),
            "superblock options are not kept"
        );
        assert!(!format!("{m:?}").contains("hunter"));
        assert!(mountinfo("1 2 3:4 / / rw\n").is_err());
        assert!(mountinfo("x 2 3:4 / / rw - ext4 a rw\n").is_err());
        assert_eq!(unescape("a\\134b\\011"), "a\\b\t");
        assert_eq!(unescape("trailing\\04"), "trailing\\04");
    }

    #[test]
    fn later_mounts_hide_earlier_ones() {
        let text = "1 0 0:1 / / rw - ext4 a rw\n\
            2 1 0:2 / /sys ro - sysfs sysfs ro\n\
            3 2 0:3 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n\
            4 3 0:4 /docker/x /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n\
            5 1 0:5 / /sys rw - sysfs sysfs rw\n\
            6 5 0:4 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
            7 1 0:6 / /dev/shm rw - tmpfs tmpfs rw\n\
            8 7 0:7 / /dev/shm rw,noexec - tmpfs tmpfs rw\n\
            9 1 0:8 / /proc rw - proc proc rw\n\
            10 9 0:8 /sys /proc/sys ro - proc proc rw\n";
        let ids: Vec<u32> = visible(&mountinfo(text).unwrap())
            .iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, vec![1, 5, 6, 8, 9, 10]);
        let v = visible(&mountinfo(text).unwrap());
        assert_eq!(mount_of(&v, "/proc/sys/kernel").unwrap().id, 10);
        assert_eq!(mount_of(&v, "/procx").unwrap().id, 1);
        assert!(path_within("/a/b", "/a") && !path_within("/ab", "/a") && path_within("/x", "/"));
    }

    #[test]
    fn cgroup_lines() {
        let v1 = "4:memory:/docker/abc\n8:pids:/docker/abc\n1:cpu,cpuacct:/\n0::/docker/abc\n";
        let c = cgroup(v1).unwrap();
        assert_eq!(c[0].controllers, vec!["memory"]);
        assert_eq!(c[2].controllers, vec!["cpu", "cpuacct"]);
        assert_eq!((c[3].hierarchy, c[3].controllers.len()), (0, 0));
        let c = cgroup("0::/a:b\n").unwrap();
        assert_eq!(c[0].path, "/a:b");
        assert!(cgroup("0:/\n").is_err());
        assert!(cgroup("x::/\n").is_err());
        assert_eq!(cgroup_limit("max\n"), Ok(Limit::Max));
        assert_eq!(cgroup_limit("67108864\n"), Ok(Limit::Value(67108864)));
        assert_eq!(cgroup_limit("9223372036854771712\n"), Ok(Limit::Max));
        assert!(cgroup_limit("lots").is_err());
    }

    #[test]
    fn cgroup_limit_files_v1_v2_and_host_sys() {
        let lines = cgroup("8:pids:/docker/abc\n4:memory:/docker/abc\n0::/docker/abc\n").unwrap();
        // Docker on v1 without a cgroup namespace: the container's cgroup is the mount's root.
        let own = mountinfo(
            "1 0 0:1 / / ro - overlay overlay rw\n\
             2 1 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n\
             3 1 0:36 /docker/abc /sys/fs/cgroup/pids ro - cgroup cgroup rw,pids\n",
        )
        .unwrap();
        let f = limit_files(&lines, &own, "memory").unwrap();
        assert_eq!(f.version, 1);
        assert_eq!(f.files, vec!["/sys/fs/cgroup/memory/memory.limit_in_bytes"]);
        assert_eq!(
            limit_files(&lines, &own, "pids").unwrap().files,
            vec!["/sys/fs/cgroup/pids/pids.max"]
        );
        // -v /sys:/sys: the host's hierarchy, walked up from the container's cgroup.
        let host =
            mountinfo("2 1 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n").unwrap();
        assert_eq!(
            limit_files(&lines, &host, "memory").unwrap().files,
            vec![
                "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes",
                "/sys/fs/cgroup/memory/docker/memory.limit_in_bytes",
                "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            ]
        );
        // v2 with a cgroup namespace.
        let v2 = cgroup("0::/\n").unwrap();
        let m2 =
            mountinfo("2 1 0:30 / /sys/fs/cgroup ro - cgroup2 cgroup rw,nsdelegate\n").unwrap();
        let f = limit_files(&v2, &m2, "memory").unwrap();
        assert_eq!(
            (f.version, f.files),
            (2, vec!["/sys/fs/cgroup/memory.max".to_string()])
        );
        // A path outside the mount's root: only the mount point.
        let outside = cgroup("0::/../../system.slice\n").unwrap();
        assert_eq!(
            limit_files(&outside, &m2, "pids").unwrap().files,
            vec!["/sys/fs/cgroup/pids.max"]
        );
        assert_eq!(
            limit_files(&lines, &m2, "memory").unwrap().version,
            2,
            "no v1 mount: v2"
        );
        assert_eq!(limit_files(&v2, &own[..1], "memory"), None);
    }

    #[test]
    fn id_maps() {
        let ident = id_map("         0          0 4294967295\n").unwrap();
        assert!(is_identity_map(&ident));
        assert_eq!(map_id(&ident, 65532), Some(65532));
        let ns = id_map("0 100000 65536\n").unwrap();
        assert!(!is_identity_map(&ns));
        assert_eq!(map_id(&ns, 0), Some(100000));
        assert_eq!(map_id(&ns, 65536), None);
        assert!(id_map("0 1\n").is_err());
        assert!(id_map(&"0 1 1\n".repeat(MAX_ID_RANGES + 1)).is_err());
    }

    #[test]
    fn limits_file() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
            Max core file size        0                    unlimited            bytes     \n\
            Max processes             96365                96365                processes \n\
            Max open files            20000                20000                files     \n\
            Max nice priority         0                    0                    \n";
        let l = limits(text).unwrap();
        assert_eq!(l.len(), 4);
        assert_eq!((l[0].name, l[0].soft, l[0].hard), ("core", 0, UNLIMITED));
        assert_eq!((l[2].name, l[2].hard), ("nofile", 20000));
        assert_eq!(l[3].name, "nice");
        assert!(limits("Max open files  x  1\n").is_err());
        assert!(limits("nothing\n").is_err());
    }

    #[test]
    fn net_files() {
        let dev = "Inter-|   Receive\n face |bytes\n    lo: 1 2\n  eth0: 3 4\n";
        assert_eq!(net_dev(dev).unwrap(), vec!["lo", "eth0"]);
        let unix = "Num       RefCount Protocol Flags    Type St Inode Path\n\
            0000000060628547: 00000002 00000000 00010000 0001 01 449276 /var/run/docker.sock\n\
            000000007e14c576: 00000002 00000000 00010000 0001 01 1963094 @pidguard-status\n\
            000000007e14c577: 00000003 00000000 00000000 0001 03 1963095\n";
        assert_eq!(
            net_unix(unix).unwrap(),
            vec!["/var/run/docker.sock", "@pidguard-status"]
        );
        assert!(net_unix("h\nshort line\n").is_err());
    }

    #[test]
    fn small_values() {
        assert_eq!(
            lsm_label(b"docker-default (enforce)\n"),
            Some("docker-default (enforce)".into())
        );
        assert_eq!(
            lsm_label(b"system_u:system_r:container_t:s0:c1,c2\0"),
            Some("system_u:system_r:container_t:s0:c1,c2".into())
        );
        assert_eq!(lsm_label(b"\n"), None);
        assert_eq!(
            argv0(b"/usr/bin/tini\0--\0app\0--password=x\0"),
            Some("tini".into())
        );
        assert_eq!(argv0(b""), None);
    }

    /// A cheap stand-in for the fuzzer in every `cargo test`: recorded files with random bytes
    /// flipped, cut or repeated must give a value or an error, never a panic.
    #[test]
    fn mutated_recordings_never_panic() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/audit/docker-v1-careless");
        let files = [
            "proc/self/status",
            "proc/self/mountinfo",
            "proc/self/cgroup",
            "proc/self/uid_map",
            "proc/self/limits",
            "proc/net/dev",
            "proc/net/unix",
        ];
        let read = |name: &str| String::from_utf8(std::fs::read(dir.join(name)).unwrap()).unwrap();
        let base_mounts = visible(&mountinfo(&read("proc/self/mountinfo")).unwrap());
        let base_cgroup = cgroup(&read("proc/self/cgroup")).unwrap();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for name in files {
            let original = std::fs::read(dir.join(name)).unwrap();
            for _ in 0..300 {
                let mut b = original.clone();
                for _ in 0..1 + next() % 8 {
                    let at = usize::try_from(next()).unwrap() % b.len().max(1);
                    match next() % 4 {
                        0 if !b.is_empty() => b[at] = next().to_le_bytes()[0],
                        1 => b.truncate(at),
                        2 if !b.is_empty() => b[at] = b" :\n-0/\\"[(next() % 7) as usize],
                        _ => {
                            let copy = b[at..].to_vec();
                            b.extend_from_slice(&copy);
                        }
                    }
                }
                let t = String::from_utf8_lossy(&b);
                let _ = status(&t);
                let _ = limits(&t);
                let _ = id_map(&t);
                let _ = net_dev(&t);
                let _ = net_unix(&t);
                let _ = cgroup_limit(&t);
                if let Ok(m) = mountinfo(&t) {
                    let v = visible(&m);
                    let _ = mount_of(&v, "/tmp");
                    let _ = limit_files(&base_cgroup, &v, "memory");
                }
                if let Ok(c) = cgroup(&t) {
                    let _ = limit_files(&c, &base_mounts, "pids");
                }
                let _ = (lsm_label(&b), argv0(&b), unescape(&t));
            }
        }
    }

    #[test]
    fn secret_names() {
        for name in [
            "DB_PASSWORD",
            "MYSQL_ROOT_PASSWORD",
            "POSTGRES_PASSWD",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "API_KEY",
            "apikey",
            "STRIPE_SECRET",
            "DBPASSWORD",
            "SSH_PRIVATE_KEY",
            "session-secret",
            "REDIS_PASS",
        ] {
            assert!(secret_like(name), "{name}");
        }
        for name in [
            "PATH",
            "HOME",
            "PWD",
            "DB_PASSWORD_FILE",
            "SSH_KEY_PATH",
            "TOKEN_DIR",
            "GPG_KEY",
            "SSH_PUBLIC_KEY",
            "KEYBOARD",
            "MONKEY",
            "PASSENGER_APP_ENV",
            "HOSTNAME",
            "PIDGUARD_STATUS_SOCKET",
        ] {
            assert!(!secret_like(name), "{name}");
        }
    }
}
