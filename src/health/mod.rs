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
//! - `probe` is the short-lived client (`HEALTHCHECK CMD ["/pidguard", "probe"]`). It is also the
//!   natural way for PID 1 to run its own `http://` and `tcp://` checks: spawn
//!   `/proc/self/exe probe --timeout T --expect E TARGET` as a child and read its exit code, so
//!   that blocking network I/O never happens in PID 1's loop.
//!
//! The status socket lives in the abstract unix namespace: it needs no writable path (read-only
//! root works), cannot collide with an app port, and is reachable only from the container's own
//! network namespace. Its name can be changed for the rare case of two pidguards sharing one
//! network namespace (containers of one Kubernetes pod).

pub mod hosts;
pub mod http;
pub mod metrics;
pub mod probe;
pub mod schedule;
pub mod server;
pub mod target;

/// Environment variable naming the status socket, read by PID 1 and by `pidguard probe` alike.
pub const STATUS_SOCKET_ENV: &str = "PIDGUARD_STATUS_SOCKET";
/// Default status socket name (abstract namespace; shown as `@pidguard-status` by `ss -xl`).
pub const DEFAULT_STATUS_SOCKET: &str = "pidguard-status";

/// The status socket name from the environment, or the default when unset or empty. A name that is
/// not valid UTF-8 falls back to the default too; `server::bind_status_socket` checks the length.
pub fn status_socket_name() -> String {
    match std::env::var(STATUS_SOCKET_ENV) {
        Ok(name) if !name.is_empty() => name,
        _ => DEFAULT_STATUS_SOCKET.to_string(),
    }
}
