//! pidguard's entry point: parse, dispatch, map errors to exit codes. Nothing else lives here.
//!
//! `#![no_main]`: Rust's own start-up code sets SIGPIPE to SIG_IGN before `main`, and an ignored
//! disposition survives exec, so every program started by a Rust init would inherit an ignored SIGPIPE
//! (`yes | head` would then spin). With our own C `main`, the start-up code does not run and pidguard
//! sees, and passes on, exactly the dispositions it inherited. std still works: on glibc it captures
//! argv and the environment itself.
#![no_main]

use std::ffi::c_int;

use pidguard::cli::{self, Command};

// SAFETY: the C runtime calls this symbol as `main`; there is no other `main` in the binary.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const std::ffi::c_char) -> c_int {
    run()
}

fn run() -> c_int {
    let args: Vec<_> = std::env::args_os().collect();
    // Every variable pidguard reads as an option starts with one of these.
    let env = pidguard::sys::vars_with_prefix(&["PIDGUARD_", "TINI_"]);
    let lookup = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let command = match cli::parse(args, lookup) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pidguard: error: {e}");
            return cli::EXIT_USAGE;
        }
    };
    match command {
        Command::Run(cfg) => {
            pidguard::log::init(cfg.log_level, cfg.log_format);
            pidguard::init::run(&cfg)
        }
        Command::Help => {
            print!("{}", cli::help());
            0
        }
        Command::Version => {
            println!("pidguard {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Command::License => {
            print!("{}", LICENSE);
            0
        }
        Command::Probe(args) => pidguard::health::probe::main(args),
        Command::Seccomp(args) => pidguard::seccomp::cmd::main(args),
        Command::Audit(args) => pidguard::audit::main(args),
    }
}

const LICENSE: &str = "pidguard is dual-licensed under the MIT license or the Apache License 2.0, at your option.\n\
Copyright (c) 2026 the pidguard developers.\n";
