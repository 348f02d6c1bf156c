//! Whether this process is confined by Landlock, and where it may write: the facts behind the
//! `fs.landlock` check (its verdict is in `checks.rs`, with every other), and what lets `fs.rootfs` pass when pidguard's `--read-only` makes the root
//! read-only although the runtime mounted it read-write.
//!
//! No file says so: /proc/self/status has no Landlock field, and `access(2)` answers from the
//! permissions and the mount flags only (Landlock checks paths at open, mkdir, rename, ..., not in
//! the permission hook `access` uses), so under `--read-only` it still calls `/tmp` writable. Three
//! signals, each harmless:
//!
//! - **Layers.** The kernel nests at most 16 Landlock domains (`LANDLOCK_MAX_NUM_LAYERS`) and
//!   refuses a 17th with E2BIG. A forked child of the audit sets no_new_privs, stacks empty
//!   domains until the kernel refuses, and exits with the count: 16 minus that is how many
//!   domains the audit was already in. Landlock-specific and exact, and the audit itself is
//!   untouched (a child, not a thread: std's threads would cost the binary about 100 KB).
//! - **Write rules.** Opening `/proc/self/comm` for writing (nothing is written: the descriptor is
//!   closed at once), which its owner may do: refused while `access(2)` allows it means that write
//!   rules are in force and that `/` is not beneath any allowed path (else `/proc` would be).
//! - **Where.** Only when the process is in a domain: each candidate directory (the mount points,
//!   `/`, `/tmp`, `/var/tmp`, `/dev/shm`, `/run`) that `access(2)` calls writable gets a `mkdir` of a
//!   name of its own, removed at once; a refusal there is the domain's.
//!
//! From `docker exec` the audit is outside the program's domain (it is no descendant of PID 1), so
//! it reports its own state; audit the program's with `pidguard ... -- /pidguard audit`.

use std::path::Path;

use crate::sys;

/// What the kernel and the probes said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landlock {
    /// The kernel's ABI, or why there is none.
    pub abi: Result<u32, String>,
    /// Domains this process is in (0: not confined), or why that could not be told.
    pub layers: Result<u32, String>,
    /// Opening this process's own `/proc/self/comm` for writing, which its permissions allow, was
    /// refused: write rules are in force, and `/` is not writable.
    pub writes_refused: bool,
    /// Candidate directories where a write was refused although the permissions allow it.
    pub refused: Vec<String>,
}

impl Default for Landlock {
    fn default() -> Landlock {
        Landlock {
            abi: Err("not gathered".into()),
            layers: Err("not gathered".into()),
            writes_refused: false,
            refused: Vec::new(),
        }
    }
}

impl Landlock {
    /// In a Landlock domain with write rules.
    pub fn read_only_root(&self) -> bool {
        self.layers.as_ref().is_ok_and(|&n| n > 0) && self.writes_refused
    }
}

/// Directories probed besides the mount points.
const CANDIDATES: &[&str] = &["/", "/tmp", "/var/tmp", "/dev/shm", "/run"];

/// The most domains the kernel nests.
const MAX_LAYERS: u32 = 16;

/// Gathers the facts. `writable`: the directories `access(2)` calls writable (the mount points
/// and /tmp, /dev/shm); returned as they really are, once probed if the process is confined.
pub fn gather(writable: Vec<String>) -> (Landlock, Vec<String>) {
    let abi = sys::landlock_abi().map_err(|e| e.to_string());
    let layers = match abi {
        Ok(_) => layers(),
        Err(ref e) => Err(e.clone()),
    };
    let mut l = Landlock {
        abi,
        layers,
        writes_refused: write_refused(Path::new("/proc/self/comm")),
        refused: Vec::new(),
    };
    if !l.layers.as_ref().is_ok_and(|&n| n > 0) {
        return (l, writable);
    }
    let mut candidates = writable;
    candidates.extend(CANDIDATES.iter().map(|c| c.to_string()));
    candidates.sort_unstable();
    candidates.dedup();
    let mut really = Vec::new();
    for dir in candidates {
        let allowed = std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir())
            && nix::unistd::access(dir.as_str(), nix::unistd::AccessFlags::W_OK).is_ok();
        if !allowed {
            continue;
        }
        match mkdir_probe(Path::new(&dir)) {
            Ok(()) => really.push(dir),
            Err(e) if refusal(&e) => l.refused.push(dir),
            // Full, a quota, a read-only remount since: not the domain's doing, and not writable.
            Err(_) => {}
        }
    }
    (l, really)
}

fn refusal(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM))
}

/// Counts the domains this process is in, in a child of its own (see the module essay).
fn layers() -> Result<u32, String> {
    let attr = sys::LandlockRulesetAttr {
        handled_access_fs: crate::landlock::fs::EXECUTE,
        ..Default::default()
    };
    let ruleset = sys::landlock_create_ruleset(&attr, 8).map_err(|e| format!("a ruleset: {e}"))?;
    let free = sys::landlock_free_layers(&ruleset).map_err(|e| format!("stacking: {e}"))?;
    Ok(MAX_LAYERS.saturating_sub(free))
}

/// Whether opening `path` for writing is refused although `access(2)` allows it.
fn write_refused(path: &Path) -> bool {
    if nix::unistd::access(path, nix::unistd::AccessFlags::W_OK).is_err() {
        return false;
    }
    let open = std::fs::OpenOptions::new().write(true).open(path);
    open.is_err_and(|e| refusal(&e))
}

/// Creates and removes a directory of a name of its own in `dir`.
fn mkdir_probe(dir: &Path) -> std::io::Result<()> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let probe = dir.join(format!(".pidguard-audit-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&probe)?;
    // A directory that cannot be removed again is left: it is empty and its name says whose.
    let _ = std::fs::remove_dir(&probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_test_process_is_in_no_domain_and_writes_freely() {
        // cargo test runs outside any Landlock domain; a kernel without Landlock says why.
        let (l, writable) = gather(vec!["/tmp".into()]);
        match l.abi {
            Ok(_) => assert_eq!(l.layers, Ok(0)),
            Err(_) => assert!(l.layers.is_err()),
        }
        assert!(!l.writes_refused && !l.read_only_root());
        assert_eq!(writable, ["/tmp"], "not probed when not confined");
    }
}
