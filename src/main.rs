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
use pidguard::log::Level;

// SAFETY: the C runtime calls this symbol as `main`; there is no other `main` in the binary.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const std::ffi::c_char) -> c_int {
    run()
}

fn run() -> c_int {
    let args: Vec<_> = std::env::args_os().collect();
    // Every variable pidguard reads as an option starts with one of these.
    let env = pidguard::sys::vars_with_prefix(&["PIDGUARD_", "TINI_", "DUMB_INIT_"]);
    let command = match cli::parse(args, &env, &pidguard::health::hosts::read_system_hosts) {
        Ok(c) => c,
        Err(e) => {
            pidguard::log::init(Level::Error, e.format);
            pidguard::error!("{}", e.msg);
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
        Command::HelpAll => {
            print!("{}", cli::help_all());
            0
        }
        Command::Version => {
            println!("{}", env!("BUILD_VERSION_LINE"));
            0
        }
        Command::License => {
            print!("{}", cli::LICENSE);
            0
        }
        Command::Probe(args) => pidguard::health::probe::main(args),
        Command::Status(args) => pidguard::health::status::main(args),
        Command::Seccomp(args) => pidguard::seccomp::cmd::main(args),
        Command::Audit(args) => pidguard::audit::main(args),
    }
}
