//! Fixture: starts N grandchildren that outlive it (double fork, so they are re-parented to the
//! nearest reaper), writes their pids to FILE, one a line, then exits with 0 (or stays with `--stay`).
//! With `--ignore-term` the grandchildren ignore SIGTERM, so only SIGKILL ends them; otherwise each
//! writes `TERM <pid>` to FILE.log when SIGTERM arrives and exits.

#[path = "fixture/mod.rs"]
mod fixture;
use std::io::Write;
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .expect("usage: grandchildren N FILE [--ignore-term] [--stay]");
    let file = args.get(2).expect("FILE").clone();
    let ignore = args.iter().any(|a| a == "--ignore-term");
    let stay = args.iter().any(|a| a == "--stay");
    let mut pids = Vec::new();
    for _ in 0..n {
        let (rd, wr) = std::io::pipe().expect("pipe");
        if fixture::fork() == 0 {
            drop(rd);
            // Middle process: fork the grandchild and exit at once, orphaning it.
            if fixture::fork() == 0 {
                let mut wr = wr;
                writeln!(wr, "{}", std::process::id()).unwrap();
                drop(wr);
                grandchild(&file, ignore);
            }
            std::process::exit(0);
        }
        drop(wr);
        let mut s = String::new();
        std::io::Read::read_to_string(&mut { rd }, &mut s).unwrap();
        pids.push(s.trim().to_string());
    }
    // Reap the middle processes ourselves; only the grandchildren are orphans.
    while fixture::wait_any().is_some() {}
    std::fs::write(&file, pids.join("\n") + "\n").unwrap();
    println!("ready");
    if stay {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

fn grandchild(file: &str, ignore: bool) -> ! {
    if ignore {
        fixture::set_disposition(libc::SIGTERM, true);
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    let waiter = fixture::SignalWaiter::block_all();
    loop {
        if waiter.wait() == libc::SIGTERM {
            let mut log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(format!("{file}.log"))
                .unwrap();
            log.write_all(format!("TERM {}\n", std::process::id()).as_bytes())
                .unwrap();
            std::process::exit(0);
        }
    }
}
