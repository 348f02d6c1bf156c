//! Health that a flood cannot take away: with 1,000 idle or half-sent connections held open on
//! `--health-listen` and on the status socket, and re-opened as fast as pidguard closes them, the
//! liveness probe still succeeds every time, PID 1 stays small, and it goes back to sleep after.
//!
//! pidguard runs as real PID 1 in a network namespace of its own, so the flood stays off the host's
//! loopback. The flooder is a small Python program run in that namespace (`nsenter --net`); the
//! probes are `pidguard probe` from inside the container (`nsenter --pid --mount`, as `docker exec`
//! does) and curl's GET /healthz. Counts and durations are bounded; nothing asserts how long
//! anything took.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Holds `N` connections to each listener, half idle, half with an unfinished request head, and
/// opens a new one for each that pidguard closes, until its stdin closes. Prints `ready N M` once
/// it has opened N to each, then once a second how many it re-opened so far.
const FLOODER: &str = r#"
import resource, select, socket, sys, time
port, name, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
HALF = b"GET /healthz HTTP/1.1\r\nX-Slow: "
live, count = {}, {"opened": 0, "reopened": 0}
poller = select.poll()

def open_one(kind):
    s = socket.socket(socket.AF_INET if kind == "tcp" else socket.AF_UNIX)
    s.setblocking(False)
    err = s.connect_ex(("127.0.0.1", port) if kind == "tcp" else "\0" + name)
    if err not in (0, 11, 115):  # EAGAIN, EINPROGRESS: it may still connect
        s.close()
        return
    count["opened"] += 1
    if count["opened"] % 2 == 0:
        try:
            s.send(HALF)
        except OSError:
            pass
    live[s.fileno()] = (s, kind)
    poller.register(s.fileno(), select.POLLIN)

for kind in ("tcp", "unix"):
    for _ in range(n):
        open_one(kind)
print("ready", sum(k == "tcp" for _, k in live.values()), sum(k == "unix" for _, k in live.values()), flush=True)
poller.register(0, select.POLLIN)
last = time.monotonic()
while True:
    for fd, ev in poller.poll(100):
        if fd == 0:
            sys.exit(0)
        s, kind = live.get(fd, (None, None))
        if s is None:
            continue
        try:
            closed = s.recv(4096) == b""
        except BlockingIOError:
            closed = False
        except OSError:
            closed = True
        if closed:
            poller.unregister(fd)
            del live[fd]
            s.close()
            open_one(kind)
            count["reopened"] += 1
    if time.monotonic() - last >= 1:
        last = time.monotonic()
        print("reopened", count["reopened"], "open", len(live), flush=True)
"#;

struct Flooder {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// The last count of re-opened connections it reported.
    reopened: std::cell::Cell<u64>,
}

impl Flooder {
    fn start(pid: i32, port: u16, socket: &str, per_listener: usize) -> Flooder {
        let mut child = Command::new("nsenter")
            .args([
                "-t",
                &pid.to_string(),
                "--net",
                "--",
                "/usr/bin/python3",
                "-c",
            ])
            .arg(FLOODER)
            .args([&port.to_string(), socket, &per_listener.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the flooder");
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Flooder {
            child,
            lines,
            reopened: std::cell::Cell::new(0),
        }
    }

    /// Waits for the `ready TCP UNIX` line: how many connections it opened to each listener.
    fn ready(&self) -> (usize, usize) {
        let line = self
            .lines
            .recv_timeout(WAIT)
            .expect("the flooder did not open its connections");
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f[0], "ready", "{line}");
        (f[1].parse().unwrap(), f[2].parse().unwrap())
    }

    /// Connections it re-opened so far (pidguard closed them), as of its last report (once a
    /// second).
    fn reopened(&self) -> u64 {
        while let Ok(line) = self.lines.try_recv() {
            if let Some(n) = line.strip_prefix("reopened ") {
                self.reopened
                    .set(n.split_whitespace().next().unwrap().parse().unwrap());
            }
        }
        self.reopened.get()
    }
}

impl Drop for Flooder {
    fn drop(&mut self) {
        // Closing its stdin ends it; its sockets close with it.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn rss_kib(pid: i32) -> u64 {
    let status = read(Path::new(&format!("/proc/{pid}/status")));
    status_map(&status)["VmRSS"]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = read(Path::new(&format!("/proc/{pid}/stat")));
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after_comm.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// `pidguard probe` from inside pidguard's container (its PID, mount and network namespaces).
fn probe(pid: i32, args: &[&str]) -> (Option<i32>, String) {
    let out = in_container_of(pid, &pidguard())
        .arg("probe")
        .args(args)
        .env_remove("PIDGUARD_STATUS_SOCKET")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// curl's GET of `url` in pidguard's network namespace: the HTTP status (0 when it got none) and
/// curl's error.
fn curl(pid: i32, url: &str) -> (u16, String) {
    let out = Command::new("nsenter")
        .args([
            "-t",
            &pid.to_string(),
            "--net",
            "--",
            "curl",
            "-sS",
            "-o",
            "/dev/null",
        ])
        .args(["-w", "%{http_code}", "--max-time", "5", url])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout).trim().parse();
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    (status.unwrap_or(0), err)
}

#[test]
fn a_thousand_idle_and_half_sent_connections_on_each_listener_do_not_take_health_away() {
    let port = 18081;
    let listen = format!("127.0.0.1:{port}");
    // The default status socket name (this container's), not the tests' explicit one.
    let pid1 = Pid1::start_private_net(
        &["--health-listen", &listen, "/bin/sleep", "300"],
        &[("PIDGUARD_STATUS_SOCKET", "")],
    );
    let pid = pid1.pid();
    let healthz = format!("http://{listen}/healthz");
    wait_until("the endpoints", || {
        probe(pid, &[]).0 == Some(0) && curl(pid, &healthz).0 == 200
    });
    let socket = std::fs::read_link(format!("/proc/{pid}/ns/mnt"))
        .unwrap()
        .to_string_lossy()
        .trim_start_matches("mnt:[")
        .trim_end_matches(']')
        .to_string();
    let socket = format!("pidguard-status-{socket}");
    let rss_before = rss_kib(pid);

    let flood = Flooder::start(pid, port, &socket, 1000);
    let (tcp, unix) = flood.ready();
    assert!(tcp >= 900 && unix >= 900, "flooder opened {tcp} + {unix}");
    let mut failures = Vec::new();
    for i in 0..20 {
        let (code, err) = probe(pid, &["--timeout", "5s"]);
        if code != Some(0) {
            failures.push(format!("probe {i}: {code:?} {err}"));
        }
        let (status, err) = curl(pid, &healthz);
        if status != 200 {
            failures.push(format!("GET /healthz {i}: {status} {err}"));
        }
    }
    let rss_during = rss_kib(pid);
    assert!(failures.is_empty(), "{failures:#?}");
    // The flood was real: pidguard kept closing connections and the flooder kept re-opening them.
    wait_until("the flooder to have re-opened 1,000 connections", || {
        flood.reopened() > 1000
    });
    drop(flood);
    assert!(
        rss_during < rss_before + 4096,
        "PID 1 grew from {rss_before} KiB to {rss_during} KiB under the flood"
    );

    // Afterwards: every connection gone by its deadline, PID 1 asleep (no CPU over 2 s), and
    // still answering and forwarding signals.
    wait_until("the flood's connections to be gone", || {
        let before = cpu_ticks(pid);
        std::thread::sleep(Duration::from_secs(2));
        cpu_ticks(pid) == before
    });
    assert_eq!(probe(pid, &[]).0, Some(0));
    assert_eq!(curl(pid, &healthz).0, 200);
    pid1.signal(15);
    let out = pid1.wait();
    assert_eq!(out.code, Some(143), "{}", out.stderr);
}
