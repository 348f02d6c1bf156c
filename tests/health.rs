//! Health as orchestrators and Docker see it: the status socket behind `pidguard probe`, the HTTP
//! listener's endpoints, statuses and methods, app checks with Docker's semantics, probe exit codes,
//! and a bounded flood that must not stop PID 1 from answering. Loopback only; every loop is bounded.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// A status socket name of this test's own, so parallel tests do not answer for each other.
fn socket_name(test: &str) -> String {
    format!("pidguard-test-{test}-{}", std::process::id())
}

/// `pidguard probe ARGS` with the given status socket, from inside the container of the pidguard
/// that holds it (the probe trusts no other); returns (exit code, stderr).
fn probe(socket: &str, args: &[&str]) -> (i32, String) {
    let mut cmd = match socket_holder(socket) {
        Some(pid) => in_container_of(pid, &pidguard()),
        None => std::process::Command::new(pidguard()),
    };
    let out = cmd
        .arg("probe")
        .args(args)
        .env("PIDGUARD_STATUS_SOCKET", socket)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One raw HTTP exchange; returns the status code and the whole response. A connection that cannot
/// be made (pidguard exiting, its listener closing with our SYN queued: a reset) is status 0, so that
/// callers asserting a status fail with it, and a test watching a shutdown can accept it.
fn http(port: u16, request: &[u8]) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

fn get(port: u16, path: &str) -> (u16, String) {
    http(
        port,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    )
}

fn start_with(socket: &str, args: &[&str]) -> Pid1 {
    Pid1::start_env(args, &[("PIDGUARD_STATUS_SOCKET", socket)])
}

/// pidguard as PID 1 with `--health-listen` on a fresh loopback port, then `args` (flags and the
/// program), once the listener accepts: (PID 1, its port, its status socket name).
fn start_listening(test: &str, args: &[&str]) -> (Pid1, u16, String) {
    let sock = socket_name(test);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut all = vec!["--health-listen", &listen];
    all.extend(args);
    let pid1 = start_with(&sock, &all);
    let _ = pid1.pid();
    wait_until("listener", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    (pid1, port, sock)
}

#[test]
fn probe_follows_the_app_check_from_starting_to_healthy() {
    let sock = socket_name("probe-ok");
    let pid1 = start_with(
        &sock,
        &[
            "--health-check",
            "exec:/bin/true",
            "--health-interval",
            "300ms",
            "sleep",
            "60",
        ],
    );
    let _ = pid1.pid();
    // Before the first check has passed the program is not ready yet.
    wait_until("status socket up", || probe(&sock, &[]).1.contains("503"));
    wait_until("healthy", || probe(&sock, &[]).0 == 0);
    let (code, stderr) = probe(&sock, &[]);
    assert_eq!((code, stderr.as_str()), (0, ""), "success is silent");
}

#[test]
fn failing_checks_make_the_program_unhealthy_after_retries() {
    let sock = socket_name("probe-bad");
    let dir = scratch("flaky");
    let flag = dir.join("ok");
    std::fs::write(&flag, "").unwrap();
    // Passes while the flag file exists.
    let check = format!("exec:/bin/sh,-c,test -e {}", flag.display());
    let pid1 = start_with(
        &sock,
        &[
            "-v",
            "--health-check",
            &check,
            "--health-interval",
            "200ms",
            "--health-retries",
            "2",
            "sleep",
            "60",
        ],
    );
    let _ = pid1.pid();
    wait_until("healthy", || probe(&sock, &[]).0 == 0);
    std::fs::remove_file(&flag).unwrap();
    wait_until("unhealthy", || probe(&sock, &[]).0 == 1);
    let (code, stderr) = probe(&sock, &[]);
    assert_eq!(code, 1, "never 2, which Docker reserves");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    std::fs::write(&flag, "").unwrap();
    wait_until("healthy again", || probe(&sock, &[]).0 == 0);
    drop(pid1);
}

#[test]
fn without_a_check_ready_means_running_and_past_the_start_period() {
    let sock = socket_name("nocheck");
    let pid1 = start_with(&sock, &["--health-start-period", "500ms", "sleep", "60"]);
    let _ = pid1.pid();
    wait_until("status socket up", || {
        let (code, err) = probe(&sock, &[]);
        code == 0 || err.contains("503")
    });
    wait_until("ready after the start period", || probe(&sock, &[]).0 == 0);
}

#[test]
fn every_endpoint_status_and_method() {
    let (pid1, port, _) = start_listening("endpoints", &["--metrics", "sleep", "60"]);
    let (code, resp) = get(port, "/healthz");
    assert_eq!(code, 200);
    assert!(resp.ends_with("\r\n\r\nok"), "{resp}");
    assert!(resp.contains("Connection: close"), "{resp}");
    assert!(
        !resp.to_lowercase().contains("server:"),
        "no version banner: {resp}"
    );
    assert_eq!(get(port, "/readyz").0, 200);
    let (code, resp) = http(port, b"HEAD /healthz HTTP/1.1\r\n\r\n");
    assert_eq!(code, 200);
    assert!(resp.ends_with("\r\n\r\n"), "HEAD has no body: {resp}");
    assert_eq!(get(port, "/nope").0, 404);
    assert_eq!(http(port, b"POST /healthz HTTP/1.1\r\n\r\n").0, 405);
    assert_eq!(http(port, b"DELETE /readyz HTTP/1.1\r\n\r\n").0, 405);
    assert_eq!(
        http(
            port,
            b"GET /healthz HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
        )
        .0,
        413
    );
    let big = format!(
        "GET /healthz HTTP/1.1\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(10_000)
    );
    assert_eq!(http(port, big.as_bytes()).0, 431);
    let many: String = (0..100).map(|i| format!("X-{i}: y\r\n")).collect();
    assert_eq!(
        http(
            port,
            format!("GET /healthz HTTP/1.1\r\n{many}\r\n").as_bytes()
        )
        .0,
        431
    );
    assert_eq!(http(port, b"garbage\r\n\r\n").0, 400);

    let (code, metrics) = get(port, "/metrics");
    assert_eq!(code, 200);
    for name in [
        "pidguard_child_up 1",
        "pidguard_child_restarts_total",
        "pidguard_child_start_time_seconds",
        "pidguard_zombies_reaped_total",
        "pidguard_signals_forwarded_total",
        "pidguard_health_checks_total",
        "pidguard_build_info{version=",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_start_time_seconds",
    ] {
        assert!(metrics.contains(name), "{name} missing:\n{metrics}");
    }
    // A real Prometheus parser must accept it.
    if std::path::Path::new("/usr/bin/promtool").exists() {
        let body = metrics.split("\r\n\r\n").nth(1).unwrap().to_string();
        let out = pipe_through(
            std::process::Command::new("/usr/bin/promtool").args(["check", "metrics"]),
            body.as_bytes(),
        );
        assert!(
            out.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        assert!(
            std::env::var("CI").is_err(),
            "promtool missing in CI: tests/run.sh installs prometheus"
        );
    }

    // While stopping, /healthz answers 503 (the grace period keeps the loop alive).
    pid1.signal(15);
    wait_until("healthz 503 while stopping", || {
        matches!(get(port, "/healthz").0, 0 | 503)
    });
}

#[test]
fn metrics_are_off_unless_asked() {
    let (_pid1, port, _) = start_listening("nometrics", &["sleep", "60"]);
    assert_eq!(get(port, "/metrics").0, 404);
}

#[test]
fn probe_exit_codes_for_urls() {
    let (_pid1, port, sock) = start_listening("probe-urls", &["sleep", "60"]);
    let url = |p: &str| format!("http://127.0.0.1:{port}{p}");
    assert_eq!(probe(&sock, &[&url("/healthz")]).0, 0, "up");
    assert_eq!(probe(&sock, &["--method", "HEAD", &url("/healthz")]).0, 0);
    assert_eq!(
        probe(&sock, &[&format!("http://localhost:{port}/healthz")]).0,
        0,
        "localhost without DNS"
    );
    let (code, err) = probe(&sock, &[&url("/nope")]);
    assert_eq!(code, 1, "wrong status");
    assert!(err.contains("404"), "{err}");
    assert_eq!(probe(&sock, &["--expect", "404", &url("/nope")]).0, 0);
    assert_eq!(probe(&sock, &[&format!("tcp://127.0.0.1:{port}")]).0, 0);
    let closed = free_port();
    let (code, err) = probe(&sock, &[&format!("http://127.0.0.1:{closed}/")]);
    assert_eq!(code, 1, "refused");
    assert!(err.to_lowercase().contains("refused"), "{err}");
    assert_eq!(probe(&sock, &[&format!("tcp://127.0.0.1:{closed}")]).0, 1);
    let (code, err) = probe(&sock, &["http//broken"]);
    assert_eq!(code, 1, "bad URL is unhealthy too, never 2");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(
        probe(&sock, &["--header", "X-A:\r\nb", &url("/healthz")]).0,
        1,
        "CR/LF refused"
    );
    // A server that accepts but never answers: the probe gives up at its timeout.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://127.0.0.1:{}/", silent.local_addr().unwrap().port());
    let (code, err) = probe(&sock, &["--timeout", "300ms", &silent_url]);
    assert_eq!(code, 1, "timeout");
    assert!(err.contains("within 300ms"), "{err}");
    drop(silent);
}

#[test]
fn probe_exec_checks_get_dev_null_as_stdin_even_when_the_probe_has_none() {
    // Started with fd 0 closed, the probe's own /dev/null opens as fd 0, close-on-exec: the check
    // must still find it there (a dup2 onto itself would keep the flag and leave fd 0 closed).
    let check = "exec:/bin/sh,-c,test \"$(readlink /proc/$$/fd/0)\" = /dev/null";
    for redirect in ["0<&-", "0</dev/zero"] {
        let script = format!("exec {redirect} \"$0\" probe \"$1\"");
        let out = std::process::Command::new("/bin/sh")
            .args(["-c", &script])
            .arg(pidguard())
            .arg(check)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "stdin {redirect}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn overdue_check_is_killed_with_its_whole_group() {
    let sock = socket_name("timeout");
    let dir = scratch("check-timeout");
    let pids = dir.join("pids");
    // The check starts a grandchild and hangs; both must be gone after the timeout.
    let check = format!(
        "exec:/bin/sh,-c,sleep 1000 & echo $! >> {}; exec sleep 1000",
        pids.display()
    );
    let pid1 = start_with(
        &sock,
        &[
            "-v",
            "--health-check",
            &check,
            "--health-interval",
            "200ms",
            "--health-timeout",
            "300ms",
            "--health-retries",
            "1",
            "sleep",
            "60",
        ],
    );
    let host_pid = pid1.pid();
    // Three checks started means two timed out (they never end by themselves).
    wait_until("three checks started", || read(&pids).lines().count() >= 3);
    // Every `sleep 1000` in PID 1's namespace: only the current check's two may be left.
    let sleepers = || count_in_namespace(host_pid, &["sleep", "1000"]);
    assert!(sleepers() <= 2, "{} leftover check processes", sleepers());
    assert_eq!(probe(&sock, &[]).0, 1, "timeouts made it unhealthy");
    pid1.signal(15);
    let out = pid1.wait();
    assert!(
        out.stderr.contains("timed out after 300ms: killed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("program is unhealthy"),
        "{}",
        out.stderr
    );
}

#[test]
fn flood_of_slow_clients_does_not_stop_pid1_or_grow_it() {
    // Allow this test process enough descriptors for the flood.
    let (_, hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    nix::sys::resource::setrlimit(
        nix::sys::resource::Resource::RLIMIT_NOFILE,
        hard.min(4096),
        hard,
    )
    .unwrap();
    let (pid1, port, sock) = start_listening("flood", &["sleep", "120"]);
    let pid = pid1.pid();
    wait_until("ready", || probe(&sock, &[]).0 == 0);
    let rss = || {
        pid1.status_field("VmRSS")
            .split_whitespace()
            .next()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let before = rss();
    // 1,000 slowloris connections: each sends an unfinished request head and goes quiet.
    let mut conns = Vec::new();
    for _ in 0..1000 {
        if let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: ");
            conns.push(c);
        }
    }
    // PID 1 still answers its own status socket and the listener, and still forwards signals.
    for _ in 0..20 {
        assert_eq!(probe(&sock, &[]).0, 0, "probe failed during the flood");
    }
    let after = rss();
    assert!(
        after < before + 4096,
        "PID 1 grew from {before} KiB to {after} KiB under a flood"
    );
    drop(conns);
    // A working endpoint afterwards.
    wait_until("listener answers after the flood", || {
        get(port, "/healthz").0 == 200
    });
    let _ = pid;
}

#[test]
fn failing_checks_do_not_flood_the_log() {
    // Ten failed checks: the container log gets one line, when health changes, with the reason.
    let (pid1, port, _) = start_listening(
        "quiet",
        &[
            "--health-check",
            "http://127.0.0.1:1/",
            "--health-interval",
            "50ms",
            "--health-retries",
            "2",
            "--metrics",
            "sleep",
            "60",
        ],
    );
    wait_until("ten failed checks", || {
        get(port, "/metrics").1.lines().any(|l| {
            l.strip_prefix("pidguard_health_checks_total{result=\"unhealthy\"} ")
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n >= 10)
        })
    });
    pid1.signal(15);
    let out = pid1.wait();
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].starts_with(
            "pidguard: warn: program is unhealthy: 2 app checks failed in a row; the last said: "
        ),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("refused"), "{}", lines[0]);
}
