//! Test helpers: run pidguard as real PID 1 of a new PID namespace and talk to it like a user would.
//!
//! `unshare --pid --fork --mount-proc pidguard ...` makes pidguard PID 1 of a fresh namespace with its own
//! /proc. The test signals pidguard through its host pid (the child of `unshare`) and reads what the
//! fixture programs in `tests/fixtures/` wrote. Every wait is bounded: a hang fails the test instead of
//! blocking the suite. No test asserts how long something took.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(60);

/// The pidguard binary under test (release when the suite runs with --release).
pub fn pidguard() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pidguard"))
}

/// A fixture program built from `tests/fixtures/NAME.rs` in the same profile as the tests (Cargo
/// builds them as examples: see Cargo.toml).
pub fn example(name: &str) -> String {
    let deps = std::env::current_exe().unwrap();
    let dir = deps.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "fixture {path:?} missing: `cargo test` builds the fixtures, one test file alone does not; \
         run `cargo build --release --target x86_64-unknown-linux-gnu --examples` first"
    );
    path.to_string_lossy().into_owned()
}

/// The unprivileged user the tests run programs as (distroless' `nonroot`).
pub const USER: &str = "65532";

/// A fresh scratch directory for one test, writable by the unprivileged test user.
pub fn scratch(name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("pidguard-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

pub struct Output {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// pidguard running as PID 1 (or, with `Pid1::plain`, as an ordinary process).
pub struct Pid1 {
    child: Child,
    in_namespace: bool,
}

impl Pid1 {
    /// `unshare --pid --fork --mount-proc pidguard ARGS`.
    pub fn start(args: &[&str]) -> Pid1 {
        Self::start_env(args, &[])
    }

    pub fn start_env(args: &[&str], env: &[(&str, &str)]) -> Pid1 {
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
            .arg(pidguard())
            .args(args);
        Self::spawn(cmd, env, true)
    }

    /// Like [`Pid1::start`], with each `(file, path)` of `binds` bind-mounted over `path` in the
    /// namespace's own mount namespace: what a hostile image could have at /etc/passwd, say.
    pub fn start_over(binds: &[(&Path, &str)], args: &[&str]) -> Pid1 {
        let mut script = String::new();
        for i in 0..binds.len() {
            script += &format!(
                "mount --bind \"${}\" \"${}\" || exit 99; ",
                2 * i + 1,
                2 * i + 2
            );
        }
        script += &format!("shift {}; exec \"$@\"", 2 * binds.len());
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
            .args(["sh", "-c", &script, "sh"]);
        for (file, path) in binds {
            cmd.arg(file).arg(path);
        }
        cmd.arg(pidguard()).args(args);
        Self::spawn(cmd, &[], true)
    }

    /// Like `start_env`, in a network namespace of its own with only `lo` (up): floods and abstract
    /// socket names stay out of the host's. Reach it with `nsenter -t PID --net`.
    pub fn start_private_net(args: &[&str], env: &[(&str, &str)]) -> Pid1 {
        // PID 1 is first a shell that brings lo up, then pidguard (exec): `pid()` waits for that.
        let mut cmd = Command::new("unshare");
        cmd.args(["--net", "--pid", "--fork", "--mount-proc", "--kill-child"])
            .args(["sh", "-c", "ip link set lo up && exec \"$@\"", "sh"])
            .arg(pidguard())
            .args(args);
        Self::spawn(cmd, env, true)
    }

    /// Like `start_env`, in the network namespace of host pid `net_of`: containers sharing one
    /// (a Kubernetes pod, `docker run --network container:A`).
    pub fn start_in_net_of(net_of: i32, args: &[&str], env: &[(&str, &str)]) -> Pid1 {
        let mut cmd = Command::new("nsenter");
        cmd.args(["-t", &net_of.to_string(), "--net", "--"])
            .args(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"])
            .arg(pidguard())
            .args(args);
        Self::spawn(cmd, env, true)
    }

    /// pidguard started directly, not as PID 1: it must act as a subreaper.
    pub fn plain(args: &[&str]) -> Pid1 {
        Self::plain_env(args, &[])
    }

    pub fn plain_env(args: &[&str], env: &[(&str, &str)]) -> Pid1 {
        let mut cmd = Command::new(pidguard());
        cmd.args(args);
        Self::spawn(cmd, env, false)
    }

    fn spawn(mut cmd: Command, env: &[(&str, &str)], in_namespace: bool) -> Pid1 {
        // pidguard refuses root by default: run as the unprivileged test user unless told otherwise.
        // An empty value in `env` removes the variable.
        cmd.env("PIDGUARD_USER", USER);
        // Tests share the host's network namespace: each pidguard gets its own status socket name.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        cmd.env(
            "PIDGUARD_STATUS_SOCKET",
            format!("pidguard-test-{}-{n}", std::process::id()),
        );
        for (k, v) in env {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pidguard");
        Pid1 {
            child,
            in_namespace,
        }
    }

    /// The host pid of pidguard.
    pub fn pid(&self) -> i32 {
        let outer = self.child.id();
        if !self.in_namespace {
            return outer as i32;
        }
        let path = format!("/proc/{outer}/task/{outer}/children");
        let mut pid = 0;
        wait_until("unshare to fork pidguard", || {
            pid = read(Path::new(&path))
                .split_whitespace()
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            pid != 0
        });
        // Wait until the forked child is pidguard, not still unshare about to exec.
        wait_until("pidguard to start", || {
            std::fs::read_link(format!("/proc/{pid}/exe"))
                .map(|e| e == pidguard())
                .unwrap_or(true)
        });
        pid
    }

    pub fn signal(&self, sig: i32) {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{sig} failed");
    }

    /// A /proc/PID/status field of pidguard, e.g. "voluntary_ctxt_switches".
    pub fn status_field(&self, field: &str) -> String {
        let status = read(Path::new(&format!("/proc/{}/status", self.pid())));
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .unwrap_or_else(|| panic!("no {field} in status"))
            .trim()
            .to_string()
    }

    pub fn wait(mut self) -> Output {
        wait_output(&mut self.child, "pidguard")
    }
}

/// Waits (bounded by [`WAIT`]) for the end of `child`, named `who` in the panic, and collects what it
/// printed.
pub fn wait_output(child: &mut Child, who: &str) -> Output {
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > WAIT {
            let _ = child.kill();
            panic!("{who} did not exit within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    Output {
        code: status.code(),
        signal: status.signal(),
        stdout,
        stderr,
    }
}

impl Drop for Pid1 {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs pidguard as PID 1 to completion.
pub fn run(args: &[&str]) -> Output {
    Pid1::start(args).wait()
}

/// The host pids of every process in the PID namespace of the host pid `pid1` (itself included),
/// found by their `/proc/PID/ns/pid` link.
pub fn pids_in_namespace(pid1: i32) -> Vec<u32> {
    let ns = std::fs::read_link(format!("/proc/{pid1}/ns/pid")).unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_link(format!("/proc/{p}/ns/pid"))
                .ok()
                .as_ref()
                == Some(&ns)
        })
        .collect()
}

/// Processes in the PID namespace of the host pid `pid1` whose command line is exactly `argv`.
pub fn count_in_namespace(pid1: i32, argv: &[&str]) -> usize {
    let want: String = argv.iter().map(|a| format!("{a}\0")).collect();
    pids_in_namespace(pid1)
        .into_iter()
        .filter(|p| read(Path::new(&format!("/proc/{p}/cmdline"))) == want)
        .count()
}

/// The `/proc/PID/stat` lines of the zombies in the PID namespace of the host pid `pid1`.
pub fn zombies_in_namespace(pid1: i32) -> Vec<String> {
    pids_in_namespace(pid1)
        .into_iter()
        .map(|p| read(Path::new(&format!("/proc/{p}/stat"))))
        .filter(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .collect()
}

/// A /proc/PID/status text as field -> value, whitespace in values collapsed to one space.
pub fn status_map(text: &str) -> std::collections::HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect()
}

/// Asserts each (field, value) of `want` in a [`status_map`].
pub fn assert_fields(
    who: &str,
    status: &std::collections::HashMap<String, String>,
    want: &[(&str, &str)],
) {
    for (k, v) in want {
        assert_eq!(
            status.get(*k).map(String::as_str),
            Some(*v),
            "{who}: {k} in {status:?}"
        );
    }
}

/// The host pid of the process listening on the abstract unix socket `@name` in this network
/// namespace, if any: `pidguard probe` trusts only a pidguard of its own container, so a test
/// probes from inside that pidguard's namespaces (`nsenter`), as `docker exec` would.
pub fn socket_holder(name: &str) -> Option<i32> {
    let unix = read(Path::new("/proc/net/unix"));
    let inode = unix.lines().find_map(|l| {
        let fields: Vec<&str> = l.split_whitespace().collect();
        (fields.len() == 8 && fields[7] == format!("@{name}") && fields[5] == "01")
            .then(|| fields[6].to_string())
    })?;
    let want = format!("socket:[{inode}]");
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .find(|pid| {
            std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.filter_map(Result::ok).any(|fd| {
                    std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == want.as_str())
                })
            })
        })
}

/// A command that runs `program` in the PID, mount and network namespaces of host pid `pid` (its
/// container), as `docker exec` does.
pub fn in_container_of(pid: i32, program: &Path) -> Command {
    let mut cmd = Command::new("nsenter");
    cmd.arg("-t")
        .arg(pid.to_string())
        .args(["--pid", "--mount", "--net", "--"])
        .arg(program);
    cmd
}

/// Runs `cmd` with `input` on its stdin and collects what it printed.
pub fn pipe_through(cmd: &mut Command, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// A free loopback port (the kernel picks it; the listener is closed before pidguard binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
