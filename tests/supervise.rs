//! Supervision: restart policies, exponential backoff and its reset, the crash-loop bound, SIGTERM
//! during a backoff, and acting on an unhealthy program. The release binary runs as PID 1.

mod common;

use common::*;
use std::path::Path;

fn delays(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.split("restarting in ").nth(1))
        .map(|rest| rest.split(' ').next().unwrap().to_string())
        .collect()
}

#[test]
fn crash_loop_backs_off_then_gives_up_with_the_exit_code() {
    let out = run(&[
        "-v",
        "--restart",
        "on-failure",
        "--restart-delay",
        "50ms",
        "--restart-limit",
        "3/1m",
        &example("exit_with"),
        "4",
    ]);
    assert_eq!(
        out.code,
        Some(4),
        "the orchestrator sees the failure: {}",
        out.stderr
    );
    assert_eq!(delays(&out.stderr), ["50ms", "100ms", "200ms"]);
    assert_eq!(out.stderr.matches("restarted \"").count(), 3);
    assert!(
        out.stderr
            .contains("giving up: the program was restarted 3 times within 1m"),
        "{}",
        out.stderr
    );
}

#[test]
fn on_failure_does_not_restart_a_clean_exit_but_always_does() {
    let out = run(&["-v", "--restart", "on-failure", &example("exit_with"), "0"]);
    assert_eq!(out.code, Some(0));
    assert!(delays(&out.stderr).is_empty(), "{}", out.stderr);
    let out = run(&[
        "-v",
        "--restart",
        "always",
        "--restart-delay",
        "10ms",
        "--restart-limit",
        "2/1m",
        "true",
    ]);
    assert_eq!(out.code, Some(0));
    assert_eq!(delays(&out.stderr).len(), 2, "{}", out.stderr);
    assert!(out.stderr.contains("giving up"), "{}", out.stderr);
    // Death by a signal is a failure too.
    let out = run(&[
        "-v",
        "--restart",
        "on-failure",
        "--restart-delay",
        "10ms",
        "--restart-limit",
        "1/1m",
        &example("exit_with"),
        "signal:USR1",
    ]);
    assert_eq!(out.code, Some(128 + 10));
    assert_eq!(delays(&out.stderr).len(), 1, "{}", out.stderr);
}

#[test]
fn backoff_resets_after_a_stable_run() {
    // Each run lasts longer than --restart-stable, so the delay never grows.
    let out = run(&[
        "-v",
        "--restart",
        "on-failure",
        "--restart-delay",
        "50ms",
        "--restart-stable",
        "100ms",
        "--restart-limit",
        "3/1m",
        "/bin/sh",
        "-c",
        "sleep 0.3; exit 3",
    ]);
    assert_eq!(out.code, Some(3));
    assert_eq!(
        delays(&out.stderr),
        ["50ms", "50ms", "50ms"],
        "{}",
        out.stderr
    );
}

#[test]
fn sigterm_during_the_backoff_exits_at_once() {
    let pid1 = Pid1::start(&[
        "-v",
        "--restart",
        "always",
        "--restart-delay",
        "10m",
        "--restart-max-delay",
        "10m",
        &example("exit_with"),
        "6",
    ]);
    let pid = pid1.pid();
    wait_until("program exited and a restart is pending", || {
        read(Path::new(&format!("/proc/{pid}/task/{pid}/children")))
            .trim()
            .is_empty()
            && std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok()
    });
    std::thread::sleep(std::time::Duration::from_millis(100));
    pid1.signal(15);
    let out = pid1.wait();
    assert_eq!(out.code, Some(6), "the last exit status: {}", out.stderr);
    assert!(
        out.stderr.contains("while waiting to restart: exiting"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.matches("restarted \"").count(), 0);
}

#[test]
fn unhealthy_program_is_restarted_and_nothing_of_the_old_one_survives() {
    let dir = scratch("unhealthy-restart");
    let flag = dir.join("healthy");
    let starts = dir.join("starts");
    std::fs::write(&flag, "").unwrap();
    let program = format!(
        "echo start >> {}; sleep 1000 & exec sleep 1000",
        starts.display()
    );
    let check = format!("exec:/bin/sh,-c,test -e {}", flag.display());
    let pid1 = Pid1::start(&[
        "-v",
        "--health-check",
        &check,
        "--health-interval",
        "100ms",
        "--health-retries",
        "1",
        "--on-unhealthy",
        "restart",
        "--grace",
        "300ms",
        "--restart-delay",
        "50ms",
        "/bin/sh",
        "-c",
        &program,
    ]);
    let pid = pid1.pid();
    wait_until("first start", || read(&starts).lines().count() == 1);
    wait_until("two sleepers of the first run", || {
        count_in_namespace(pid, &["sleep", "1000"]) == 2
    });
    std::fs::remove_file(&flag).unwrap();
    wait_until("restarted after turning unhealthy", || {
        read(&starts).lines().count() == 2
    });
    std::fs::write(&flag, "").unwrap();
    // The old program and its background child got SIGTERM/SIGKILL; only the new run's two remain.
    wait_until("old incarnation gone", || {
        count_in_namespace(pid, &["sleep", "1000"]) == 2
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(count_in_namespace(pid, &["sleep", "1000"]), 2);
    assert_eq!(
        read(&starts).lines().count(),
        2,
        "restarted once, and healthy since"
    );
    pid1.signal(15);
    let out = pid1.wait();
    assert!(
        out.stderr.contains("stopping the program to restart it"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("restarting in 50ms (it was unhealthy"),
        "{}",
        out.stderr
    );
}

#[test]
fn unhealthy_program_makes_pidguard_exit_non_zero() {
    let out = run(&[
        "-v",
        "--health-check",
        "exec:/bin/false",
        "--health-interval",
        "100ms",
        "--health-retries",
        "2",
        "--on-unhealthy",
        "exit",
        "--restart",
        "always",
        "/bin/sh",
        "-c",
        "trap 'exit 0' TERM; while :; do sleep 0.1; done",
    ]);
    // The program exited 0 on SIGTERM, but the container must be seen as failed.
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("--on-unhealthy exit"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("restarting in"),
        "exit wins over --restart: {}",
        out.stderr
    );
}

#[test]
fn restarts_are_counted_in_metrics() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let pid1 = Pid1::start(&[
        "--health-listen",
        &listen,
        "--metrics",
        "--restart",
        "always",
        "--restart-delay",
        "10ms",
        "--restart-limit",
        "2/1m",
        "/bin/sh",
        "-c",
        "test -e /tmp/never || sleep 0.2",
    ]);
    let _ = pid1.pid();
    let metrics = || {
        let mut s = match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => s,
            Err(_) => return String::new(),
        };
        use std::io::{Read, Write};
        let _ = s.write_all(b"GET /metrics HTTP/1.1\r\n\r\n");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    };
    wait_until("two restarts counted", || {
        metrics().contains("pidguard_child_restarts_total 2")
    });
    let out = pid1.wait();
    assert_eq!(out.code, Some(0));
}

#[test]
fn a_crash_and_its_restart_show_at_the_default_level() {
    let args = [
        "--restart",
        "on-failure",
        "--restart-delay",
        "10ms",
        "--restart-limit",
        "1/1m",
    ];
    let exit_with = example("exit_with");
    let mut all = args.to_vec();
    all.extend([exit_with.as_str(), "signal:SEGV"]);
    let out = run(&all);
    assert_eq!(out.code, Some(128 + 11));
    let warns: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("pidguard: warn: program (pid "))
        .collect();
    assert_eq!(
        warns.len(),
        2,
        "the crash with its restart, then the last crash: {}",
        out.stderr
    );
    for part in [
        "killed by SIGSEGV",
        "core dumps are off",
        " after ",
        "(exit status 139); restarting in 10ms",
        "restart 1 of at most 1 within 1m",
    ] {
        assert!(warns[0].contains(part), "{part}: {}", warns[0]);
    }
    assert!(
        out.stderr
            .contains("error: giving up: the program was restarted 1 time within"),
        "{}",
        out.stderr
    );

    // The same as JSON: the facts are fields a log shipper can filter on.
    let mut all = vec!["--log-format", "json"];
    all.extend(args);
    all.extend([exit_with.as_str(), "signal:SEGV"]);
    let out = run(&all);
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("restarting in"))
        .unwrap_or_else(|| panic!("{}", out.stderr));
    for field in [
        "\"level\":\"warn\"",
        "\"pid\":",
        "\"code\":139",
        "\"signal\":\"SIGSEGV\"",
        "\"restarts\":1",
        "\"delay_ms\":10",
        "\"msg\":\"program (pid ",
    ] {
        assert!(line.contains(field), "{field} in {line}");
    }
}

#[test]
fn a_death_by_a_real_time_signal_is_seen_and_restarted() {
    // nix's waitpid answers EINVAL for a child killed by signal 32-64 (after the kernel reaped it);
    // PID 1 must still see the exit, restart the program, and give up with 128 + N.
    let prog = "import os, signal; os.kill(os.getpid(), signal.SIGRTMIN + 5)";
    let out = run(&[
        "--restart",
        "on-failure",
        "--restart-delay",
        "10ms",
        "--restart-limit",
        "2/1m",
        "--",
        "/usr/bin/python3",
        "-c",
        prog,
    ]);
    assert_eq!(out.code, Some(128 + 34 + 5), "{}", out.stderr);
    assert_eq!(
        out.stderr.matches("restarting in").count(),
        2,
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("waitpid failed"), "{}", out.stderr);
}
