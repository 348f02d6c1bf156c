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
//! - or it is another pid whose mount namespace, read from `/proc/PID/ns/mnt`, is the probe's:
//!   pidguard that is not PID 1 (under `docker run --init`, or in a pod that shares its PID
//!   namespace). Reading that link needs ptrace access to pidguard (proc(5)): the same uid, and a
//!   pidguard that did not switch users (a switch makes it non-dumpable) or a probe with
//!   CAP_SYS_PTRACE. When it cannot be read, the probe cannot tell pidguard from the program and
//!   fails closed, saying so.
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
    verdict(&inspect(cred.pid()), super::own_mount_namespace())
        .map_err(|why| format!("is held by {why}"))
}

/// What the probe knows about the listener, gathered by `inspect`; `verdict` is pure.
#[derive(Debug)]
pub struct Peer {
    /// From `SO_PEERCRED`, in the probe's PID namespace; 0 when the peer is outside it.
    pub pid: i32,
    /// The peer's mount namespace inode, or why it could not be read.
    pub mount_ns: io::Result<u64>,
}

/// Reads `/proc/PID/ns/mnt` of the peer (skipped for pid 0, which names no process here).
pub fn inspect(pid: i32) -> Peer {
    let mount_ns = if pid > 0 {
        std::fs::metadata(format!("/proc/{pid}/ns/mnt")).map(|m| m.ino())
    } else {
        Err(io::Error::from(io::ErrorKind::NotFound))
    };
    Peer { pid, mount_ns }
}

/// Ok when `peer` is this container's pidguard (see the module essay), else why not, as the end of
/// "the status socket @NAME is held by ...".
pub fn verdict(peer: &Peer, own_mount_ns: Option<u64>) -> Result<(), String> {
    let same_mounts = match (&peer.mount_ns, own_mount_ns) {
        (Ok(theirs), Some(ours)) => Some(*theirs == ours),
        _ => None,
    };
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
             this container's pidguard: run the probe as pidguard's user, or pidguard as PID 1",
            match &peer.mount_ns {
                Err(e) => e.to_string(),
                Ok(_) => "this probe's own cannot be read".into(),
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(pid: i32, mount_ns: Result<u64, io::ErrorKind>) -> Peer {
        Peer {
            pid,
            mount_ns: mount_ns.map_err(io::Error::from),
        }
    }

    #[test]
    fn pid_1_of_this_namespace_is_trusted_unless_it_is_in_other_mounts() {
        assert_eq!(verdict(&peer(1, Ok(7)), Some(7)), Ok(()));
        // Non-dumpable pidguard, probe without CAP_SYS_PTRACE: PID 1 is still the container's init.
        assert_eq!(
            verdict(&peer(1, Err(io::ErrorKind::PermissionDenied)), Some(7)),
            Ok(())
        );
        assert_eq!(verdict(&peer(1, Ok(7)), None), Ok(()));
        let why = verdict(&peer(1, Ok(8)), Some(7)).unwrap_err();
        assert!(
            why.starts_with("pid 1, a process of another container"),
            "{why}"
        );
    }

    #[test]
    fn other_pids_need_the_same_mount_namespace() {
        assert_eq!(verdict(&peer(42, Ok(7)), Some(7)), Ok(()));
        let why = verdict(&peer(42, Ok(8)), Some(7)).unwrap_err();
        assert!(why.contains("another container"), "{why}");
        let why = verdict(&peer(42, Err(io::ErrorKind::PermissionDenied)), Some(7)).unwrap_err();
        assert!(why.starts_with("pid 42, not PID 1"), "{why}");
        assert!(why.contains("permission denied"), "{why}");
        assert!(why.contains("pidguard as PID 1"), "{why}");
    }

    #[test]
    fn a_peer_outside_the_pid_namespace_is_refused() {
        let why = verdict(&peer(0, Err(io::ErrorKind::NotFound)), Some(7)).unwrap_err();
        assert!(
            why.contains("outside this container's PID namespace"),
            "{why}"
        );
    }

    #[test]
    fn inspect_reads_our_own_namespace() {
        let me = inspect(std::process::id() as i32);
        assert_eq!(
            me.mount_ns.unwrap(),
            crate::health::own_mount_namespace().unwrap()
        );
        assert!(inspect(0).mount_ns.is_err());
    }
}
