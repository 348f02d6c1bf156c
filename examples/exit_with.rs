//! Fixture: exits with the code given, or dies of a signal: `exit_with 3`, `exit_with signal:TERM`.

#[path = "fixture/mod.rs"]
mod fixture;
use std::process::exit;

fn main() {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "0".into());
    if let Some(sig) = arg.strip_prefix("signal:") {
        let n = pidguard::signals::parse(sig).expect("signal name");
        // Restore the default action first so that the signal really kills us.
        if n != libc::SIGKILL && n != libc::SIGSTOP {
            fixture::set_disposition(n, false);
        }
        fixture::kill(std::process::id() as i32, n);
        std::thread::sleep(std::time::Duration::from_secs(5));
        exit(99);
    }
    exit(arg.parse().expect("exit code"));
}
