//! The status socket belongs to its container: two pidguards sharing one network namespace (a
//! Kubernetes pod, `docker run --network container:A`) each answer for their own program, and a
//! process that takes the name, or a probe aimed at another container's name, gets "unhealthy"
//! with the reason, never someone else's "healthy".
//!
//! The shared network namespace is made once (`unshare --net`, held by a sleeping process); each
//! pidguard is real PID 1 of its own PID and mount namespaces inside it, and each probe runs in
//! its container's namespaces (`nsenter`), as `docker exec` does.

mod common;

use common::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A network namespace of its own with `lo` up, held by a sleeping process.
struct NetNs(Child);

impl NetNs {
    fn new() -> NetNs {
        let child = Command::new("unshare")
            .args(["--net", "--", "sleep", "600"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let ns = NetNs(child);
        let own = std::fs::read_link("/proc/self/ns/net").unwrap();
        wait_until("the network namespace", || {
            std::fs::read_link(format!("/proc/{}/ns/net", ns.pid())).is_ok_and(|n| n != own)
        });
        let up = Command::new("nsenter")
            .args([
                "-t",
                &ns.pid().to_string(),
                "--net",
                "ip",
                "link",
                "set",
                "lo",
                "up",
            ])
            .status()
            .unwrap();
        assert!(up.success());
        ns
    }

    fn pid(&self) -> i32 {
        self.0.id() as i32
    }

    /// The abstract socket names listening in this namespace.
    fn names(&self) -> Vec<String> {
        let unix = read(Path::new(&format!("/proc/{}/net/unix", self.pid())));
        unix.lines()
            .filter_map(|l| l.split_whitespace().nth(7))
            .filter(|n| n.starts_with('@'))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `pidguard probe ARGS` inside the container of host pid `pid`, with `env`; (exit code, stderr).
fn probe_in(pid: i32, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = in_container_of(pid, &pidguard());
    cmd.arg("probe")
        .args(args)
        .env_remove("PIDGUARD_STATUS_SOCKET");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

/// The status socket name pidguard (host pid `pid`) uses by default.
fn default_name(pid: i32) -> String {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap();
    let inode: String = link
        .to_string_lossy()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    format!("pidguard-status-{inode}")
}

/// With no PIDGUARD_STATUS_SOCKET: the default, per-container name.
const DEFAULT: &[(&str, &str)] = &[("PIDGUARD_STATUS_SOCKET", "")];

fn checked(check: &str) -> Vec<&str> {
    vec![
        "--health-check",
        check,
        "--health-interval",
        "200ms",
        "--health-retries",
        "1",
        "/bin/sleep",
        "300",
    ]
}

#[test]
fn two_pidguards_in_one_network_namespace_each_answer_for_their_own() {
    let net = NetNs::new();
    let good = Pid1::start_in_net_of(net.pid(), &checked("exec:/bin/true"), DEFAULT);
    let bad = Pid1::start_in_net_of(
        net.pid(),
        &checked("exec:/bin/sh,-c,echo disk full; exit 1"),
        DEFAULT,
    );
    let (g, b) = (good.pid(), bad.pid());
    wait_until("both status sockets", || {
        let names = net.names();
        names.contains(&format!("@{}", default_name(g)))
            && names.contains(&format!("@{}", default_name(b)))
    });
    assert_ne!(default_name(g), default_name(b));

    wait_until("the good one healthy", || {
        probe_in(g, &[], &[]).0 == Some(0)
    });
    wait_until("the bad one unhealthy with its reason", || {
        probe_in(b, &[], &[]).1.contains("disk full")
    });
    for _ in 0..5 {
        assert_eq!(probe_in(g, &[], &[]), (Some(0), String::new()));
        let (code, why) = probe_in(b, &[], &[]);
        assert_eq!(code, Some(1));
        assert!(
            why.starts_with("pidguard probe: unhealthy: unready: disk full ("),
            "{why}"
        );
    }

    // Aimed at the other container's name, a probe refuses the answer rather than borrow it.
    let other = [("PIDGUARD_STATUS_SOCKET", default_name(g))];
    let other: Vec<(&str, &str)> = other.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, why) = probe_in(b, &[], &other);
    assert_eq!(code, Some(1));
    assert!(
        why.contains("is held by a process outside this container's PID namespace"),
        "{why}"
    );
    // So does one from the host, outside every container.
    let out = Command::new("nsenter")
        .args(["-t", &net.pid().to_string(), "--net", "--"])
        .arg(pidguard())
        .arg("probe")
        .env("PIDGUARD_STATUS_SOCKET", default_name(g))
        .output()
        .unwrap();
    let why = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{why}");
    assert!(why.contains("another container"), "{why}");
}

/// A process that holds a status socket name; killed when dropped, even by a failing test.
struct Squatter(Child);

impl Drop for Squatter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Binds `@NAME` in the network namespace of `net_of`, in a PID namespace of its own (another
/// container of the pod), and answers every connection with "200 ok".
fn squatter(net_of: i32, name: &str) -> Squatter {
    let script = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind("\0" + sys.argv[1])
s.listen(64)
print("bound", flush=True)
while True:
    c, _ = s.accept()
    try:
        c.recv(4096)
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
    except OSError:
        pass  # the probe hung up on us
    c.close()
"#;
    let mut child = Command::new("nsenter")
        .args(["-t", &net_of.to_string(), "--net", "--"])
        .args(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"])
        .args(["/usr/bin/python3", "-c", script, name])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let squat = Squatter(child);
    assert_eq!(line.trim(), "bound");
    squat
}

#[test]
fn a_squatter_that_answers_200_makes_the_probe_fail_closed() {
    let net = NetNs::new();
    let name = "pidguard-test-squatted";
    let _squat = squatter(net.pid(), name);
    // The program's own check fails: a probe that believed the squatter would say healthy.
    let env = [("PIDGUARD_STATUS_SOCKET", name)];
    let pid1 = Pid1::start_in_net_of(net.pid(), &checked("exec:/bin/false"), &env);
    let pid = pid1.pid();
    for _ in 0..5 {
        let (code, why) = probe_in(pid, &[], &env);
        assert_eq!(code, Some(1), "{why}");
        assert!(
            why.contains(&format!(
                "@{name} is held by a process outside this container's PID namespace"
            )),
            "{why}"
        );
    }
    pid1.signal(15);
    let out = pid1.wait();
    assert!(
        out.stderr.contains("status socket unavailable")
            && out.stderr.contains("will report unhealthy"),
        "PID 1 says so at start: {}",
        out.stderr
    );
}
