//! pidguard: a hardening PID 1 for containers.
//!
//! The library holds everything that can be tested without being PID 1: the command line, durations,
//! signal names, the passwd/group parser, rlimit and capability specs, seccomp profiles, the health
//! endpoint's HTTP parser. `main.rs` only parses, dispatches and maps errors to exit codes.

pub mod audit;
pub mod cli;
pub mod duration;
pub mod error;
pub mod harden;
pub mod health;
pub mod init;
pub mod limits;
pub mod log;
pub mod passwd;
pub mod seccomp;
pub mod signals;
pub mod sys;
