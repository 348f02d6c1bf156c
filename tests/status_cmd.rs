//! `pidguard status`, as an operator runs it: `docker exec C /pidguard status [--json]` against
//! pidguard as real PID 1, while the program runs, after a `kill -9` and its restart, while a
//! restart waits, with a failing app check; and the fences: the client believes only its own
//! pidguard (like `probe`), PID 1 tells `/status` only inside its own PID namespace and never on
//! `--health-listen`, and the program cannot ask at all (Landlock's scope).
//!
//! The client runs inside pidguard's container (`nsenter --pid --mount --net`, as `docker exec`
//! does). pidguard gets no `PIDGUARD_STATUS_SOCKET`, so its status socket has the default name of
//! its own mount namespace, which the client computes the same way. The JSON is checked with
//! /usr/bin/python3's json module (serde is no dependency of pidguard).

mod common;

use common::*;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// pidguard as PID 1 with the default, per-container status socket name.
fn start(args: &[&str]) -> Pid1 {
    Pid1::start_env(args, &[("PIDGUARD_STATUS_SOCKET", "")])
}

struct Answer {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `pidguard status ARGS` inside the container of host pid `pid`.
fn status(pid: i32, args: &[&str]) -> Answer {
    let out = in_container_of(pid, &pidguard())
        .arg("status")
        .args(args)
        .env_remove("PIDGUARD_STATUS_SOCKET")
        .output()
        .unwrap();
    Answer {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Fields of a JSON document, read by python's json module (which also proves it is JSON): each
/// dotted path gives its value as compact JSON (`"running"`, `1`, `null`, `{"SIGTERM":1}`).
fn fields(json: &str, paths: &[&str]) -> Vec<String> {
    let script = "import json, sys\n\
                  d = json.load(sys.stdin)\n\
                  for p in sys.argv[1:]:\n\
                  \x20   v = d\n\
                  \x20   for k in p.split('.'):\n\
                  \x20       v = v[k]\n\
                  \x20   print(json.dumps(v, separators=(',', ':')))\n";
    let out = pipe_through(
        Command::new("/usr/bin/python3")
            .args(["-c", script])
            .args(paths),
        json.as_bytes(),
    );
    assert!(
        out.status.success(),
        "not the JSON expected: {json}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `status --json` until `fields` of it are `want`; returns the last document.
fn json_until(pid: i32, what: &str, paths: &[&str], want: &[&str]) -> String {
    let start = std::time::Instant::now();
    loop {
        let a = status(pid, &["--json"]);
        assert_eq!(a.code, Some(0), "status --json: {}", a.stderr);
        let (last, seen) = (&a.stdout, fields(&a.stdout, paths));
        if seen == want {
            return a.stdout;
        }
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {what}: {paths:?} = {seen:?} in {last}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Host pids of pidguard's children.
fn children(pid: i32) -> Vec<i32> {
    read(Path::new(&format!("/proc/{pid}/task/{pid}/children")))
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[test]
fn status_while_running_and_after_a_kill_9_restart() {
    let pg = start(&[
        "--restart",
        "on-failure",
        "--restart-delay",
        "100ms",
        "--",
        "/bin/sleep",
        "300",
    ]);
    let pid = pg.pid();
    let json = json_until(
        pid,
        "the program to run",
        &["program.state"],
        &["\"running\""],
    );
    assert_eq!(
        fields(
            &json,
            &[
                "version",
                "program.command",
                "program.restarts",
                "program.last_exit",
                "program.restart_in_ms",
                "identity.uid",
                "identity.gid",
                "identity.capabilities",
                "identity.no_new_privs",
                "identity.seccomp",
                "identity.landlock",
                "health.check",
                "health.state",
                "health.live",
                "pid1.pid",
                "pid1.signals_forwarded",
            ]
        ),
        [
            "1",
            "\"/bin/sleep 300\"",
            "0",
            "null",
            "null",
            "65532",
            "65532",
            "[]",
            "true",
            "\"default\"",
            "true",
            "null",
            "\"none\"",
            "true",
            "1",
            "{}",
        ]
    );
    // The pid is the program's, as PID 1's namespace numbers it; it has been up a while.
    let program = fields(&json, &["program.pid"])[0].clone();
    assert_ne!(program, "1");
    assert!(
        fields(&json, &["program.uptime_ms"])[0]
            .parse::<u64>()
            .is_ok()
    );

    let text = status(pid, &[]);
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    assert_eq!(text.stderr, "");
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{}", text.stdout);
    assert!(
        lines[0].starts_with(&format!("program:  pid {program}, running for ")),
        "{}",
        text.stdout
    );
    assert_eq!(lines[1], "command:  /bin/sleep 300");
    assert_eq!(lines[2], "restarts: 0");
    assert_eq!(
        lines[3],
        "identity: uid 65532 gid 65532, capabilities none, no_new_privs on, seccomp default, \
         landlock on"
    );
    assert_eq!(lines[4], "health:   none, ready");
    assert!(lines[5].starts_with("pidguard: pid 1, up "), "{}", lines[5]);

    // kill -9 of the program: restarted, and status says how the last one ended.
    let old = children(pid);
    assert_eq!(old.len(), 1, "{old:?}");
    let killed = Command::new("kill")
        .args(["-9", &old[0].to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let json = json_until(
        pid,
        "the restart",
        &["program.state", "program.restarts"],
        &["\"running\"", "1"],
    );
    assert_eq!(
        fields(
            &json,
            &[
                "program.last_exit.code",
                "program.last_exit.signal",
                "program.last_exit.reason",
            ]
        ),
        ["137", "\"SIGKILL\"", "\"killed by SIGKILL\""]
    );
    assert_ne!(fields(&json, &["program.pid"])[0], program, "a new pid");
    let reaped: u64 = fields(&json, &["pid1.zombies_reaped"])[0].parse().unwrap();
    assert!(reaped >= 1, "{json}");
    let text = status(pid, &[]).stdout;
    assert!(
        text.contains("\nrestarts: 1; last exit: killed by SIGKILL after "),
        "{text}"
    );

    // A forwarded signal is counted (SIGWINCH: sleep ignores it).
    pg.signal(libc::SIGWINCH);
    json_until(
        pid,
        "SIGWINCH counted",
        &["pid1.signals_forwarded"],
        &["{\"SIGWINCH\":1}"],
    );
    pg.signal(libc::SIGTERM);
    assert_eq!(pg.wait().code, Some(143));
}

#[test]
fn status_while_a_restart_waits() {
    let pg = start(&[
        "--restart",
        "on-failure",
        "--restart-delay",
        "30s",
        "--health-check",
        "exec:/bin/true",
        "--",
        "/bin/sh",
        "-c",
        "exit 3",
    ]);
    let pid = pg.pid();
    let json = json_until(pid, "the backoff", &["program.state"], &["\"backing off\""]);
    assert_eq!(
        fields(
            &json,
            &[
                "program.uptime_ms",
                "program.restarts",
                "program.last_exit.code",
                "program.last_exit.signal",
                "program.last_exit.reason",
                "health.ready",
                "health.state",
            ]
        ),
        [
            "null",
            "0",
            "3",
            "null",
            "\"exited with 3\"",
            "false",
            "\"down\""
        ]
    );
    let wait: u64 = fields(&json, &["program.restart_in_ms"])[0]
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 30_000, "{json}");
    let text = status(pid, &[]).stdout;
    assert!(text.contains(", backing off, restart in "), "{text}");
    assert!(
        text.contains("restarts: 0; last exit: exited with 3 after "),
        "{text}"
    );
    // SIGTERM during the backoff: pidguard exits with the program's last status.
    pg.signal(libc::SIGTERM);
    assert_eq!(pg.wait().code, Some(3));
}

#[test]
fn status_shows_a_failing_checks_output() {
    let pg = start(&[
        "--health-check",
        "exec:/bin/sh,-c,echo \"disk full\"; exit 1",
        "--health-interval",
        "200ms",
        "--health-retries",
        "1",
        "--",
        "/bin/sleep",
        "300",
    ]);
    let pid = pg.pid();
    let json = json_until(
        pid,
        "the check to fail",
        &["health.state", "health.last_output"],
        &["\"unhealthy\"", "\"disk full\""],
    );
    assert_eq!(
        fields(&json, &["health.check", "health.ready", "health.live"]),
        [
            "\"exec:/bin/sh,-c,echo \\\"disk full\\\"; exit 1\"",
            "false",
            "true"
        ]
    );
    let failed: u64 = fields(&json, &["health.failed"])[0].parse().unwrap();
    assert!(failed >= 1);
    let text = status(pid, &[]).stdout;
    let health = text.lines().nth(4).unwrap();
    assert!(
        health.starts_with(
            "health:   unhealthy, not ready; check exec:/bin/sh,-c,echo \"disk full\"; exit 1 \
             (passed 0, failed "
        ) && health.ends_with("; last output: disk full"),
        "{text}"
    );
}

/// With `--read-only` in force, the identity says what stays writable; without it, nothing.
#[test]
fn status_tells_a_read_only_root_and_what_is_writable() {
    let pg = start(&[
        "--user",
        USER,
        "--read-only",
        "--writable",
        "/tmp",
        "--",
        "/usr/bin/busybox",
        "sleep",
        "300",
    ]);
    let json = json_until(
        pg.pid(),
        "the program to run",
        &["program.state"],
        &["\"running\""],
    );
    assert_eq!(
        fields(&json, &["identity.read_only", "identity.writable"]),
        ["true", "[\"/tmp\"]"]
    );
    let text = status(pg.pid(), &[]).stdout;
    assert!(
        text.contains(", landlock on, read-only root (writable: /tmp)\n"),
        "{text}"
    );
    let plain = start(&["--user", USER, "--", "/usr/bin/busybox", "sleep", "300"]);
    let json = json_until(
        plain.pid(),
        "the program to run",
        &["program.state"],
        &["\"running\""],
    );
    assert_eq!(
        fields(&json, &["identity.read_only", "identity.writable"]),
        ["false", "[]"]
    );
    assert!(!status(plain.pid(), &[]).stdout.contains("read-only"));
}

#[test]
fn a_long_command_line_is_cut_and_control_characters_do_not_forge_lines() {
    let long = "x".repeat(1000);
    let pg = start(&[
        "--",
        "/bin/sh",
        "-c",
        "exec sleep 300",
        "a\nb\x1b[2J",
        &long,
    ]);
    let pid = pg.pid();
    let json = json_until(
        pid,
        "the program to run",
        &["program.state"],
        &["\"running\""],
    );
    let command = fields(&json, &["program.command"])[0].clone();
    assert!(
        command.starts_with("\"/bin/sh -c exec sleep 300 a\\nb\\u001b[2J xxx")
            && command.ends_with("x...\""),
        "{command}"
    );
    // 256 bytes, "...", the quotes, and three escapes of more than one byte.
    assert!(command.len() <= 256 + 3 + 2 + 3 * 6, "{}", command.len());
    let text = status(pid, &[]).stdout;
    assert_eq!(text.lines().count(), 6, "{text}");
    assert!(
        text.contains("\ncommand:  /bin/sh -c exec sleep 300 a b [2J xxx"),
        "{text}"
    );
}

#[test]
fn the_client_believes_only_its_own_pidguard() {
    // Nothing listens: one line, exit 1.
    let out = Command::new(pidguard())
        .arg("status")
        .env("PIDGUARD_STATUS_SOCKET", "pidguard-status-cmd-test-nobody")
        .output()
        .unwrap();
    let why = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{why}");
    assert_eq!(
        why,
        "pidguard status: status socket @pidguard-status-cmd-test-nobody: nothing listens there \
         (is pidguard PID 1 of this container?)\n"
    );
    assert!(out.stdout.is_empty());

    // Another container's pidguard (asked from the host, outside its PID and mount namespaces,
    // under its socket's name): refused, never its status.
    let pg = Pid1::start(&["--", "/bin/sleep", "300"]);
    let pid = pg.pid();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let name = environ
        .split(|&b| b == 0)
        .find_map(|v| v.strip_prefix(b"PIDGUARD_STATUS_SOCKET="))
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap();
    wait_until("the status socket", || {
        read(Path::new("/proc/net/unix")).contains(&format!("@{name}"))
    });
    for json in [false, true] {
        let mut cmd = Command::new(pidguard());
        cmd.arg("status").env("PIDGUARD_STATUS_SOCKET", &name);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        let why = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{why}");
        assert!(out.stdout.is_empty(), "no status told");
        assert!(
            why.starts_with(&format!(
                "pidguard status: status socket @{name}: @{name} is held by pid "
            )) && why.contains("a process of another container"),
            "{why}"
        );
    }

    // Bad usage is pidguard's own error, 125.
    let out = Command::new(pidguard())
        .args(["status", "--timeout", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--timeout needs a duration"),
        "{out:?}"
    );
}

#[test]
fn a_custom_profile_without_getsockopt_does_not_break_status() {
    // PID 1 asks who the client is with getsockopt(SO_PEERCRED); a profile recorded from a program
    // that never calls it must not turn every `pidguard status` into a 403.
    let dir = scratch("status-cmd-profile");
    let out = Command::new(pidguard())
        .args(["seccomp", "export"])
        .output()
        .unwrap();
    let profile = String::from_utf8(out.stdout).unwrap();
    assert!(profile.contains("\"getsockopt\","), "{profile:.300}");
    let path = dir.join("no-getsockopt.json");
    std::fs::write(&path, profile.replace("\"getsockopt\",", "")).unwrap();
    let pg = start(&[
        "--seccomp",
        &path.to_string_lossy(),
        "--",
        "/bin/sleep",
        "300",
    ]);
    let json = json_until(
        pg.pid(),
        "the program to run",
        &["program.state"],
        &["\"running\""],
    );
    let seccomp = fields(&json, &["identity.seccomp"]);
    assert_eq!(seccomp, [format!("\"{}\"", path.display())]);
}

/// A raw GET on the abstract socket `@name` from this (the host's) PID namespace: the answer.
fn raw_get(name: &str, path: &str) -> String {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name).unwrap();
    let mut s = std::os::unix::net::UnixStream::connect_addr(&addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn pid_1_tells_status_only_inside_its_pid_namespace_and_never_on_health_listen() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let name = format!("pidguard-status-cmd-test-{}", std::process::id());
    let pg = Pid1::start_env(
        &["--health-listen", &listen, "--", "/bin/sleep", "300"],
        &[("PIDGUARD_STATUS_SOCKET", &name)],
    );
    let pid = pg.pid();
    wait_until("the status socket", || {
        read(Path::new("/proc/net/unix")).contains(&format!("@{name}"))
    });
    // A sidecar sharing the network namespace but not the PID namespace: 403, nothing told.
    for path in ["/status", "/status/text"] {
        let answer = raw_get(&name, path);
        assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nforbidden"), "{answer}");
    }
    // The same socket still answers the probe's path to anyone.
    let ready = raw_get(&name, "/readyz");
    assert!(ready.starts_with("HTTP/1.1 "), "{ready}");
    // --health-listen may face the outside world: no /status there at all.
    for path in ["/status", "/status/text"] {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\n\r\n").unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 404 "), "{answer}");
        assert!(answer.ends_with("\r\n\r\nnot-found"), "{answer}");
    }
    // From inside the container, the same socket tells.
    let out = in_container_of(pid, &pidguard())
        .args(["status", "--json"])
        .env("PIDGUARD_STATUS_SOCKET", &name)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json = String::from_utf8_lossy(&out.stdout);
    assert_eq!(fields(&json, &["program.command"]), ["\"/bin/sleep 300\""]);
}

#[test]
fn the_program_cannot_ask_pid_1_for_its_status() {
    // The program (as its own uid, under the default filter and Landlock's scope) tries the status
    // socket it can name: the connection is refused by Landlock, so it learns nothing.
    let dir = scratch("status-cmd-hostile");
    let result = dir.join("result");
    let script = r#"
import os, socket, sys
name = "pidguard-status-%d" % os.stat("/proc/self/ns/mnt").st_ino
s = socket.socket(socket.AF_UNIX)
try:
    s.connect("\0" + name)
    s.sendall(b"GET /status HTTP/1.0\r\n\r\n")
    out = "answered: " + s.recv(4096).decode(errors="replace").split("\r\n")[0]
except OSError as e:
    out = "refused: " + e.strerror
open(sys.argv[1], "w").write(out)
"#;
    let pg = start(&[
        "--",
        "/usr/bin/python3",
        "-c",
        script,
        &result.to_string_lossy(),
    ]);
    let out = pg.wait();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let said = read(&result);
    assert_eq!(said, "refused: Operation not permitted", "{}", out.stderr);
}

/// Asks PID 1 for `/status` as fast as it can from inside the container, on fresh connections,
/// half of them never reading the answer, until its stdin closes; then prints how many it sent.
const STATUS_FLOODER: &str = r#"
import os, select, socket, sys
name = "\0pidguard-status-%d" % os.stat("/proc/self/ns/mnt").st_ino
print("started", flush=True)
n = 0
while not select.select([0], [], [], 0)[0]:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(name)
        s.sendall(b"GET /status HTTP/1.0\r\n\r\n")
        if n % 2:
            s.recv(16)
        n += 1
    except OSError:
        pass
    s.close()
print(n, flush=True)
"#;

fn rss_kib(pid: i32) -> u64 {
    let status = read(Path::new(&format!("/proc/{pid}/status")));
    status_map(&status)["VmRSS"]
        .trim_end_matches(" kB")
        .parse()
        .unwrap()
}

#[test]
fn a_flood_of_status_requests_does_not_take_the_probe_away() {
    use std::io::BufRead;
    let pg = start(&["--", "/bin/sleep", "300"]);
    let pid = pg.pid();
    json_until(
        pid,
        "the program to run",
        &["program.state"],
        &["\"running\""],
    );
    let before = rss_kib(pid);
    let mut flooders: Vec<std::process::Child> = (0..2)
        .map(|_| {
            in_container_of(pid, Path::new("/usr/bin/python3"))
                .args(["-c", STATUS_FLOODER])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut outs: Vec<_> = flooders
        .iter_mut()
        .map(|f| std::io::BufReader::new(f.stdout.take().unwrap()))
        .collect();
    for out in &mut outs {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "started");
    }
    for _ in 0..10 {
        let out = in_container_of(pid, &pidguard())
            .arg("probe")
            .env_remove("PIDGUARD_STATUS_SOCKET")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    let answer = status(pid, &[]);
    assert_eq!(answer.code, Some(0), "{}", answer.stderr);
    let during = rss_kib(pid);
    let mut sent = 0;
    for (f, mut out) in flooders.iter_mut().zip(outs) {
        drop(f.stdin.take());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        sent += line.trim().parse::<u64>().unwrap();
        f.wait().unwrap();
    }
    eprintln!("{sent} /status requests; PID 1's RSS {before} KiB before, {during} KiB during");
    assert!(sent >= 100, "the flood sent only {sent} requests");
    // Each answer is built for its request and freed with its connection.
    assert!(
        during < before + 4096,
        "PID 1 grew from {before} KiB to {during} KiB under {sent} /status requests"
    );
    pg.signal(libc::SIGTERM);
    assert_eq!(pg.wait().code, Some(143));
}
