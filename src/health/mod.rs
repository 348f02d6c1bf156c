//! Health: the checks' vocabulary, PID 1's health endpoints, and the `pidguard probe` client.
//!
//! The pieces are split by where they run and what they may do:
//! - `target`, `hosts`, `http` are pure parsers (check targets and expected statuses, /etc/hosts,
//!   HTTP request heads), unit-tested in place; `hosts` and `http` are also fuzzed
//!   (fuzz/fuzz_targets/hosts.rs, http_request.rs), `target` is not.
//! - `server` is the endpoint inside PID 1. PID 1 is one thread with one poll() loop, so the
//!   server never blocks, never runs a check per request (it answers from cached `State`), and
//!   bounds every resource a client could make it spend.
//! - `metrics` renders PID 1's counters for `/metrics` in Prometheus text format.
//! - `status` renders what PID 1 knows for `/status` (status socket only) and is the `pidguard
//!   status` client.
//! - `probe` is the short-lived client (`HEALTHCHECK CMD ["/pidguard", "probe"]`). It is also the
//!   natural way for PID 1 to run its own `http://` and `tcp://` checks: spawn
//!   `/proc/self/exe probe --timeout T --expect E TARGET` as a child and read its exit code, so
//!   that blocking network I/O never happens in PID 1's loop.
//!
//! The status socket lives in the abstract unix namespace: it needs no writable path (read-only
//! root works) and cannot collide with an app port. Abstract names belong to the network namespace,
//! though, and containers share one more often than not (the containers of a Kubernetes pod,
//! `docker run --network container:A`, host networking): a fixed name would be taken by the first
//! pidguard, and the others' probes would report its health. So the name is this container's:
//! `pidguard-status-INODE`, INODE being the mount namespace's (`/proc/self/ns/mnt`), which PID 1
//! and every `docker exec`/`kubectl exec` process of the container share and no other container
//! has. And since anyone in the network namespace can list the names (`/proc/net/unix`) and bind
//! one first, `pidguard probe` trusts an answer only from its own pidguard (see `peer`).

pub mod client;
pub mod hosts;
pub mod http;
pub mod metrics;
pub mod peer;
pub mod probe;
pub mod schedule;
pub mod server;
pub mod status;
pub mod target;

use std::os::unix::fs::MetadataExt;

/// Environment variable naming the status socket, read by PID 1 and by `pidguard probe` alike.
pub const STATUS_SOCKET_ENV: &str = "PIDGUARD_STATUS_SOCKET";
/// Path the status socket serves `--seccomp-record`'s recording on (server.rs, seccomp/cmd.rs).
pub const RECORDED_PATH: &str = "/seccomp/recorded";

/// Status socket name where the mount namespace cannot be read (no /proc): the name every
/// pidguard used before names were per container.
pub const DEFAULT_STATUS_SOCKET: &str = "pidguard-status";

/// The status socket name: `PIDGUARD_STATUS_SOCKET` if set and not empty (used as is), else
/// `pidguard-status-INODE` from this process's mount namespace, else `pidguard-status`. A name that
/// is not valid UTF-8 counts as unset; `server::bind_status_socket` checks the length.
pub fn status_socket_name() -> String {
    match std::env::var(STATUS_SOCKET_ENV) {
        Ok(name) if !name.is_empty() => name,
        _ => match own_mount_namespace() {
            Some(ino) => format!("{DEFAULT_STATUS_SOCKET}-{ino}"),
            None => DEFAULT_STATUS_SOCKET.to_string(),
        },
    }
}

/// The inode of this process's mount namespace (nsfs inodes are unique among the namespaces alive
/// on the machine, so they cannot clash in any network namespace), None without /proc.
pub fn own_mount_namespace() -> Option<u64> {
    std::fs::metadata("/proc/self/ns/mnt").ok().map(|m| m.ino())
}

/// The reason inside an app check's output line: a `pidguard probe` child (http:// and tcp://
/// checks) writes `pidguard probe: unhealthy: WHY`, and only WHY is news to the reader.
pub fn check_reason(output: &str) -> &str {
    output
        .strip_prefix("pidguard probe: unhealthy: ")
        .unwrap_or(output)
}
