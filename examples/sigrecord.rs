//! Fixture: records every signal it receives, one line `SIG <number>` each, to FILE (and FILE.child
//! for a child process in the same process group when started with `--child`). Writes `ready` once
//! it waits for signals. Exits after receiving the signal given with `--exit-on N` (default: never).

#[path = "fixture/mod.rs"]
mod fixture;
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let file = args
        .get(1)
        .expect("usage: sigrecord FILE [--child] [--exit-on N]")
        .clone();
    let child = args.iter().any(|a| a == "--child");
    let exit_on: Option<i32> = args
        .iter()
        .position(|a| a == "--exit-on")
        .map(|i| args[i + 1].parse().expect("signal number"));
    let mut path = file.clone();
    if child {
        // The child stays in our process group: `pidguard -g` must reach it too.
        if fixture::fork() == 0 {
            path = format!("{file}.child");
        }
    }
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("open");
    let waiter = fixture::SignalWaiter::block_all();
    writeln!(out, "ready").unwrap();
    loop {
        let sig = waiter.wait();
        out.write_all(format!("SIG {sig}\n").as_bytes()).unwrap();
        if Some(sig) == exit_on {
            std::process::exit(0);
        }
    }
}
