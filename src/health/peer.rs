//! Whether the process behind the status socket is this container's pidguard.
//!
//! Anything in the network namespace can bind an abstract name, including the name this container
//! would use, before or instead of its pidguard: another container of the pod, a sidecar, a
//! squatter that answers "200" to everything. Abstract sockets have no owner or mode to check, so
//! the probe asks the kernel who is listening: `SO_PEERCRED` on the connected socket gives the pid
//! of the process that called listen(), as seen from the probe's PID namespace, and no process can
//! forge it (unix(7)). It is trusted when:
//!
//! - it is PID 1 of the probe's PID namespace: the container's init, which is where pidguard runs
//!   in a container, and which nothing else in the container (the program included) can be; and
//!   where `/proc/1/ns/mnt` can be read, PID 1 is also in the probe's mount namespace (a shared PID
//!   namespace, `docker run --pid container:A`, would make another container's init PID 1 here);
//! - or it is another pid whose mount namespace is the probe's: pidguard that is not PID 1 (under
//!   `docker run --init`, or in a pod that shares its PID namespace). The namespace is read from
//!   `/proc/PID/ns/mnt`, which needs ptrace access (proc(5)) that a non-dumpable pidguard does not
//!   give; then `/proc/PID/mountinfo`, which anyone may read, is compared with the probe's own: the
//!   mount IDs in it are unique on the machine, so two namespaces never list the same ones. When
//!   neither can be read, the probe fails closed, saying so.
//!
//! Anything else (pid 0: a process outside the probe's PID namespace; another container's process)
//! is refused: the probe reports unhealthy with who holds the name, never someone else's health.

use std::io;
use std::os::unix::fs::MetadataExt;

/// The whole check on a connected status socket: Ok when its listener is this container's
/// pidguard, else why not ("held by ..."). Every client of the status socket calls it before it
/// believes an answer.
pub fn check<Fd: std::os::fd::AsFd>(stream: &Fd) -> Result<(), String> {
    use nix::sys::socket::{getsockopt, sockopt};
    let cred = getsockopt(stream, sockopt::PeerCredentials)
        .map_err(|e| format!("cannot tell who listens (SO_PEERCRED): {}", e.desc()))?;
    verdict(&inspect(cred.pid())).map_err(|why| format!("is held by {why}"))
}

/// Most of a mountinfo file compared; a container's is a few KiB.
const MAX_MOUNTINFO: u64 = 1 << 20;

/// What the probe knows about the listener, gathered by `inspect`; `verdict` is pure.
#[derive(Debug)]
pub struct Peer {
    /// From `SO_PEERCRED`, in the probe's PID namespace; 0 when the peer is outside it.
    pub pid: i32,
    /// Whether the peer is in the probe's mount namespace, or why that could not be told.
    pub same_mounts: io::Result<bool>,
}

/// Tells whether the peer shares our mount namespace (skipped for pid 0, which names no process
/// here): by the namespace's inode, else by comparing mountinfo.
pub fn inspect(pid: i32) -> Peer {
    if pid <= 0 {
        let same_mounts = Err(io::Error::from(io::ErrorKind::NotFound));
        return Peer { pid, same_mounts };
    }
    let theirs = std::fs::metadata(format!("/proc/{pid}/ns/mnt")).map(|m| m.ino());
    let same_mounts = match (theirs, super::own_mount_namespace()) {
        (Ok(theirs), Some(ours)) => Ok(theirs == ours),
        (Err(e), _) if e.kind() != io::ErrorKind::PermissionDenied => Err(e),
        _ => same_mountinfo(pid),
    };
    Peer { pid, same_mounts }
}

fn same_mountinfo(pid: i32) -> io::Result<bool> {
    let read = |p: String| crate::fsread::read(std::path::Path::new(&p), MAX_MOUNTINFO);
    Ok(read(format!("/proc/{pid}/mountinfo"))? == read("/proc/self/mountinfo".into())?)
}

/// Ok when `peer` is this container's pidguard (see the module essay), else why not, as the end of
/// "the status socket @NAME is held by ...".
pub fn verdict(peer: &Peer) -> Result<(), String> {
    let same_mounts = peer.same_mounts.as_ref().ok().copied();
    match (peer.pid, same_mounts) {
        (pid, _) if pid <= 0 => Err(
            "a process outside this container's PID namespace, not this container's pidguard \
             (another container sharing the network namespace took the name)"
                .into(),
        ),
        (_, Some(true)) | (1, None) => Ok(()),
        (pid, Some(false)) => Err(format!(
            "pid {pid}, a process of another container (its mount namespace is not this one), \
             not this container's pidguard"
        )),
        (pid, None) => Err(format!(
            "pid {pid}, not PID 1, and its mount namespace cannot be read ({}) to tell whether it is \
             this container's pidguard: run the probe where /proc is mounted, or pidguard as PID 1",
            match &peer.same_mounts {
                Err(e) => e.to_string(),
                Ok(_) => String::new(),
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(pid: i32, same_mounts: Result<bool, io::ErrorKind>) -> Peer {
        Peer {
            pid,
            same_mounts: same_mounts.map_err(io::Error::from),
        }
    }

    #[test]
    fn pid_1_of_this_namespace_is_trusted_unless_it_is_in_other_mounts() {
        assert_eq!(verdict(&peer(1, Ok(true))), Ok(()));
        // Nothing readable (no /proc): PID 1 is still the container's init.
        assert_eq!(
            verdict(&peer(1, Err(io::ErrorKind::PermissionDenied))),
            Ok(())
        );
        let why = verdict(&peer(1, Ok(false))).unwrap_err();
        assert!(
            why.starts_with("pid 1, a process of another container"),
            "{why}"
        );
    }

    #[test]
    fn other_pids_need_the_same_mount_namespace() {
        assert_eq!(verdict(&peer(42, Ok(true))), Ok(()));
        let why = verdict(&peer(42, Ok(false))).unwrap_err();
        assert!(why.contains("another container"), "{why}");
        let why = verdict(&peer(42, Err(io::ErrorKind::PermissionDenied))).unwrap_err();
        assert!(why.starts_with("pid 42, not PID 1"), "{why}");
        assert!(why.contains("permission denied"), "{why}");
        assert!(why.contains("pidguard as PID 1"), "{why}");
    }

    #[test]
    fn a_peer_outside_the_pid_namespace_is_refused() {
        let why = verdict(&peer(0, Err(io::ErrorKind::NotFound))).unwrap_err();
        assert!(
            why.contains("outside this container's PID namespace"),
            "{why}"
        );
    }

    #[test]
    fn inspect_tells_our_own_namespace_by_inode_and_by_mountinfo() {
        let me = std::process::id() as i32;
        assert!(inspect(me).same_mounts.unwrap());
        assert!(same_mountinfo(me).unwrap());
        assert!(inspect(0).same_mounts.is_err());
    }
}
