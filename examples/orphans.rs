//! Fixture: leaves N orphaned zombies for PID 1 to reap, then checks that the reaper did its job.
//!
//! A middle process forks N children that exit at once and exits itself without waiting for them:
//! N zombies (and the middle one) are re-parented to the reaper. Then we watch /proc until no zombie
//! other than our own children is left, print `zombies=K` (K left after at most 60 s) and exit 0 when
//! K is 0, else 1. With `ORPHANS_PID1_CPU=1` in the environment, and where the kernel shows it
//! (`/proc/1/sched`), also print the CPU time PID 1 has used so far, `pid1_cpu_ms=T`: what the
//! reaping cost the init itself, for benches/compare.sh.

#[path = "fixture/mod.rs"]
mod fixture;
use std::time::{Duration, Instant};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("usage: orphans N");
    if fixture::fork() == 0 {
        for _ in 0..n {
            if fixture::fork() == 0 {
                fixture::exit_now(0);
            }
        }
        fixture::exit_now(0);
    }
    fixture::wait_any();
    let me = std::process::id() as i32;
    let start = Instant::now();
    let mut left;
    loop {
        left = zombies(me);
        if left == 0 || start.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("zombies={left}");
    if let Some(ms) = std::env::var_os("ORPHANS_PID1_CPU").and_then(|_| pid1_cpu_ms()) {
        println!("pid1_cpu_ms={ms}");
    }
    std::process::exit(if left == 0 { 0 } else { 1 });
}

/// Zombie processes in our PID namespace, except ourselves.
fn zombies(me: i32) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let close = s.iter().rposition(|&b| b == b')')?;
                    s.get(close + 2).copied()
                })
                == Some(b'Z')
        })
        .count()
}

/// `se.sum_exec_runtime` of PID 1 (milliseconds, as the kernel prints it), if /proc/1/sched exists
/// (CONFIG_SCHED_DEBUG) and shows it.
fn pid1_cpu_ms() -> Option<String> {
    let text = std::fs::read_to_string("/proc/1/sched").ok()?;
    let line = text
        .lines()
        .find(|l| l.starts_with("se.sum_exec_runtime"))?;
    Some(line.rsplit(':').next()?.trim().to_string())
}
