//! pidguard: a hardening PID 1 for containers.
//!
//! The library is the whole program; `main.rs` only parses, dispatches and maps errors to exit
//! codes. It is a library so that `tests/` and `fuzz/` reach the parts that need no privilege. Every
//! module is exported, in three kinds:
//!
//! - Pure, tested in place without root or PID 1: `cli`, `duration`, `signals`, `limits`, `passwd`,
//!   `seccomp` (profiles and their BPF), `health`'s parsers and `/metrics` renderer, `audit`'s
//!   parsers and checks, `procfs` (the /proc/PID/stat line), `error` (the exit codes). The CLI,
//!   passwd/group, seccomp profile, hosts, HTTP request, probe answer and audit parsers, and the
//!   compiled BPF, are also fuzzed (fuzz/fuzz_targets/).
//! - I/O that any process may do, bounded and tested in place: `fsread` (every file pidguard
//!   reads), `audit::facts`, `health::server` and `health::probe` (over loopback), `log`.
//! - What changes the process itself or needs to be PID 1: `harden` (the privilege drop), `init`
//!   (the PID 1 loop), `sys` (every `unsafe` call, for them). Tested by running the release binary as
//!   PID 1 under `unshare --pid` (tests/). They are exported because `main.rs` dispatches to them,
//!   not for other users: the library has no stable API.
//!
//! `unsafe` is denied everywhere but in `sys` and main's C entry point (Cargo.toml's lints).

pub mod audit;
pub mod cli;
pub mod duration;
pub mod error;
pub mod fsread;
pub mod harden;
pub mod health;
pub mod init;
pub mod json;
pub mod landlock;
pub mod limits;
pub mod log;
pub mod passwd;
pub mod procfs;
pub mod seccomp;
pub mod signals;
pub mod sys;
