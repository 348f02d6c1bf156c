//! pidguard as the ENTRYPOINT of real Docker containers: what a user sees through `docker run`, `stop`,
//! `kill`, `exec`, `logs` and `inspect`, and what the program reads from /proc inside the container.
//!
//! The other suites run pidguard as PID 1 under `unshare`; this one checks that the same promises hold
//! when the runtime is Docker, which brings its own capability sets, user switching, terminals and
//! `docker stop` timeout. Nothing can be pulled and no network may be created, so every image is built
//! `FROM scratch` out of local files (tests/docker/: Dockerfiles and the image's /etc) plus the static
//! binaries of this build (pidguard, the fixtures, /bin/busybox), and every container runs with
//! `--network none`. tests/setup-docker.sh starts an engine that has no bridge.
//!
//! Without an engine (or without the static build) the suite fails under CI (CI=true) and skips
//! loudly otherwise. Every container and image carries the run's prefix (`pidguard-docker-<pid>-`) and
//! is removed by a Drop guard, also when a test fails; leftovers of a run that was killed are swept at
//! the next start. Every wait is bounded and no test asserts how long something took: where the
//! question is "who did it", the evidence is a log line or an exit status, never the clock.
//!
//! Adding a scenario: `let Some(image) = base_image() else { return };`, then `Container::run` (to the
//! end) or `Container::start` (detached) and the helpers below. A variant image is one more
//! `tests/docker/NAME.Dockerfile` that starts with `ARG BASE` / `FROM ${BASE}`, built with
//! `Image::derived`; the health scenarios will add their HEALTHCHECK that way and read
//! `{{.State.Health.Status}}` with `Container::inspect`.

mod common;

use common::USER;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Longest any one command may take (a `docker stop -t 30` included) before the test fails.
const COMMAND_LIMIT: Duration = Duration::from_secs(120);
/// Longest a condition polled with [`eventually`] may take to hold.
const WAIT_LIMIT: Duration = Duration::from_secs(60);
/// Between two polls: each poll is a docker command, so a pause keeps dockerd's load low.
const POLL: Duration = Duration::from_millis(100);
/// Prefix of every container and image name the suite makes; the test process id follows.
const PREFIX: &str = "pidguard-docker-";
/// Fixtures (examples/) copied into the image's /bin.
const FIXTURES: &[&str] = &[
    "orphans",
    "sigrecord",
    "exit_with",
    "ignore_term",
    "grandchildren",
    "ids",
];
/// busybox applets the scripts call by name; /bin/NAME is a symlink to /bin/busybox.
const APPLETS: &[&str] = &["sh", "cat", "id", "sleep", "mkfifo", "grep", "ls", "touch"];

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

// ---------------------------------------------------------------------------------------------------
// Commands, bounded.

#[derive(Debug)]
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` to the end, or kills it after `limit` and returns `None`.
fn run_within(mut cmd: Command, limit: Duration) -> Option<Out> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    // Readers on their own threads: a chatty command must not block on a full pipe while we wait.
    fn drain(r: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut s);
            }
            s
        })
    }
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    status.map(|s| Out {
        code: s.code(),
        stdout,
        stderr,
    })
}

fn docker_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new("docker");
    cmd.args(args);
    cmd
}

/// `docker ARGS`; a command that hangs fails the test.
fn docker(args: &[&str]) -> Out {
    run_within(docker_cmd(args), COMMAND_LIMIT).unwrap_or_else(|| {
        panic!(
            "`docker {}` did not end within {COMMAND_LIMIT:?}",
            args.join(" ")
        )
    })
}

/// `docker ARGS` that must succeed; returns its stdout.
fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert_eq!(
        out.code,
        Some(0),
        "`docker {}` failed: {}{}",
        args.join(" "),
        out.stdout,
        out.stderr
    );
    out.stdout
}

/// `docker ARGS` for cleanup: never panics (it runs in Drop, maybe while a test already panics).
fn docker_quiet(args: &[&str]) {
    match run_within(docker_cmd(args), COMMAND_LIMIT) {
        Some(out) if out.code == Some(0) => {}
        Some(out) => eprintln!("cleanup `docker {}`: {}", args.join(" "), out.stderr.trim()),
        None => eprintln!("cleanup `docker {}` hung", args.join(" ")),
    }
}

/// Polls until `cond` holds for what `poll` returns, and returns that; fails the test after
/// [`WAIT_LIMIT`] and shows the last value seen.
fn eventually<T: std::fmt::Debug>(
    what: &str,
    mut poll: impl FnMut() -> T,
    cond: impl Fn(&T) -> bool,
) -> T {
    let start = Instant::now();
    loop {
        let seen = poll();
        if cond(&seen) {
            return seen;
        }
        assert!(
            start.elapsed() < WAIT_LIMIT,
            "timed out waiting for {what}; last seen: {seen:?}"
        );
        std::thread::sleep(POLL);
    }
}

// ---------------------------------------------------------------------------------------------------
// The engine, the run's names and leftovers.

struct Suite {
    /// `pidguard-docker-<pid>`: starts every container name and image tag of this run.
    prefix: String,
    next: AtomicUsize,
}

impl Suite {
    /// A fresh name for a container, image or build context of this run.
    fn name(&self, what: &str) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}-{what}-{n}", self.prefix)
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The suite, or `None` after a loud message when something it needs is missing outside CI. Under CI
/// a missing engine or build is a failure of every scenario.
fn suite() -> Option<&'static Suite> {
    static SUITE: OnceLock<Option<Suite>> = OnceLock::new();
    SUITE
        .get_or_init(|| {
            if let Some(problem) = missing_prerequisite() {
                let msg = format!("DOCKER SCENARIOS NOT RUN: {problem}");
                // A panic here leaves the cell empty: every scenario checks again and fails the same way.
                assert!(!in_ci(), "{msg} (CI=true: a failure, not a skip)");
                // Straight to the process's stderr: libtest captures eprintln! of passing tests.
                let _ = writeln!(std::io::stderr(), "\n*** {msg} ***\n");
                return None;
            }
            sweep_leftovers();
            Some(Suite {
                prefix: format!("{PREFIX}{}", std::process::id()),
                next: AtomicUsize::new(0),
            })
        })
        .as_ref()
}

/// What stops the suite from running here, if anything.
fn missing_prerequisite() -> Option<String> {
    match run_within(
        docker_cmd(&["info", "--format", "{{.ServerVersion}}"]),
        Duration::from_secs(30),
    ) {
        None => return Some("`docker info` did not answer within 30s".into()),
        Some(out) if out.code != Some(0) => {
            return Some(format!(
                "no Docker engine answers `docker info` (start one with tests/setup-docker.sh): {}",
                out.stderr.trim()
            ));
        }
        Some(_) => {}
    }
    let mut binaries = vec![common::pidguard(), PathBuf::from("/bin/busybox")];
    binaries.extend(FIXTURES.iter().map(|f| PathBuf::from(common::example(f))));
    for bin in binaries {
        match is_static(&bin) {
            Ok(true) => {}
            Ok(false) => {
                return Some(format!(
                    "{} is dynamically linked, and FROM scratch images have no libc: run \
                     RUSTFLAGS=\"-C target-feature=+crt-static\" cargo test --release \
                     --target x86_64-unknown-linux-gnu (and install busybox-static)",
                    bin.display()
                ));
            }
            Err(e) => return Some(format!("{}: {e}", bin.display())),
        }
    }
    None
}

/// Whether the ELF64 executable at `path` runs without a dynamic loader: it has no PT_INTERP program
/// header (a static-pie has none either).
fn is_static(path: &Path) -> Result<bool, String> {
    const PT_INTERP: u32 = 3;
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let u16_at = |o: usize| {
        bytes
            .get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |o: usize| {
        bytes
            .get(o..o + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
    };
    let u64_at = |o: usize| {
        bytes
            .get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()) as usize)
    };
    if bytes.get(..6) != Some(b"\x7fELF\x02\x01") {
        return Err("not a little-endian ELF64 file".into());
    }
    let bad = || "truncated ELF header".to_string();
    let (phoff, phentsize, phnum) = (
        u64_at(0x20).ok_or_else(bad)?,
        u16_at(0x36).ok_or_else(bad)?,
        u16_at(0x38).ok_or_else(bad)?,
    );
    for i in 0..phnum {
        let at = phoff
            .checked_add(i * phentsize)
            .ok_or_else(|| "program header offset overflows".to_string())?;
        if u32_at(at).ok_or_else(|| "truncated program header".to_string())? == PT_INTERP {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The run id in a name `pidguard-docker-<pid>-...`.
fn run_of(name: &str) -> Option<u32> {
    name.strip_prefix(PREFIX)?.split('-').next()?.parse().ok()
}

/// Removes the containers, images and build contexts of earlier runs that were killed before their
/// guards ran: those whose test process is gone (or whose pid this process now has: nothing of ours
/// exists yet).
fn sweep_leftovers() {
    let stale = |name: &str| {
        run_of(name).is_some_and(|pid| {
            pid == std::process::id() || !Path::new(&format!("/proc/{pid}")).exists()
        })
    };
    let names = docker_ok(&[
        "ps",
        "-a",
        "--filter",
        &format!("name=^{PREFIX}"),
        "--format",
        "{{.Names}}",
    ]);
    for name in names.lines().filter(|n| stale(n)) {
        docker_quiet(&["rm", "-f", "-v", name]);
    }
    let images = docker_ok(&[
        "images",
        "--filter",
        &format!("reference={PREFIX}*"),
        "--format",
        "{{.Repository}}:{{.Tag}}",
    ]);
    // Derived images first: an image with children cannot be removed.
    let mut images: Vec<&str> = images.lines().filter(|n| stale(n)).collect();
    images.sort_by_key(|n| n.contains("-base-"));
    for image in images {
        docker_quiet(&["rmi", "-f", image]);
    }
    // Build contexts of a run killed while it built an image.
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for entry in entries.flatten() {
            if entry.file_name().to_str().is_some_and(stale) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Images.

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn build(tag: &str, dockerfile: &Path, context: &Path, build_args: &[&str]) {
    let mut args = vec!["build", "--network", "none", "-q", "-t", tag];
    for a in build_args {
        args.extend(["--build-arg", a]);
    }
    let file = dockerfile.to_str().unwrap();
    args.extend(["-f", file, context.to_str().unwrap()]);
    docker_ok(&args);
}

/// Builds the base image (tests/docker/Dockerfile) from a context assembled from tests/docker/rootfs
/// and this build's binaries.
fn build_base(suite: &Suite) -> String {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let tag = suite.name("base");
    let ctx = TempDir::new(&suite.name("context"));
    let rootfs = ctx.0.join("rootfs");
    for dir in ["bin", "etc", "tmp"] {
        std::fs::create_dir_all(rootfs.join(dir)).unwrap();
    }
    // The program runs unprivileged and writes its files to /tmp.
    std::fs::set_permissions(rootfs.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let src = tests_dir().join("docker");
    let copy = |from: &Path, to: &str| {
        std::fs::copy(from, rootfs.join(to))
            .unwrap_or_else(|e| panic!("copy {} into the image: {e}", from.display()));
    };
    copy(&src.join("rootfs/etc/passwd"), "etc/passwd");
    copy(&src.join("rootfs/etc/group"), "etc/group");
    copy(&common::pidguard(), "pidguard");
    copy(Path::new("/bin/busybox"), "bin/busybox");
    for applet in APPLETS {
        symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    for f in FIXTURES {
        copy(Path::new(&common::example(f)), &format!("bin/{f}"));
    }
    build(&tag, &src.join("Dockerfile"), &ctx.0, &[]);
    tag
}

/// The base image is built once and shared by the scenarios running at the same time; the last one
/// to finish removes it (a later scenario builds it again).
struct Shared {
    tag: Option<String>,
    users: usize,
}

static BASE: Mutex<Shared> = Mutex::new(Shared {
    tag: None,
    users: 0,
});

/// One scenario's hold on the base image: `ENTRYPOINT ["/pidguard"]`, no USER.
struct BaseImage {
    tag: String,
}

/// The base image, or `None` when the suite cannot run here (see [`suite`]).
fn base_image() -> Option<BaseImage> {
    let suite = suite()?;
    // A scenario that panicked while holding the lock left consistent data: carry on.
    let mut shared = BASE.lock().unwrap_or_else(|e| e.into_inner());
    if shared.tag.is_none() {
        shared.tag = Some(build_base(suite));
    }
    shared.users += 1;
    Some(BaseImage {
        tag: shared.tag.clone().unwrap(),
    })
}

impl Drop for BaseImage {
    fn drop(&mut self) {
        let mut shared = BASE.lock().unwrap_or_else(|e| e.into_inner());
        shared.users -= 1;
        if shared.users == 0
            && let Some(tag) = shared.tag.take()
        {
            docker_quiet(&["rmi", "-f", &tag]);
        }
    }
}

/// An image built `FROM` the base image by tests/docker/NAME.Dockerfile; removed on drop. Keep it
/// declared after the [`BaseImage`] it derives from, so that it is dropped first.
struct Image {
    tag: String,
}

impl Image {
    fn derived(base: &BaseImage, name: &str) -> Image {
        let suite = suite().unwrap();
        let tag = suite.name(name);
        let empty = TempDir::new(&suite.name("context"));
        let dockerfile = tests_dir().join(format!("docker/{name}.Dockerfile"));
        let image = Image { tag };
        build(
            &image.tag,
            &dockerfile,
            &empty.0,
            &[&format!("BASE={}", base.tag)],
        );
        image
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        docker_quiet(&["rmi", "-f", &self.tag]);
    }
}

trait Tagged {
    fn tag(&self) -> &str;
}

impl Tagged for BaseImage {
    fn tag(&self) -> &str {
        &self.tag
    }
}

impl Tagged for Image {
    fn tag(&self) -> &str {
        &self.tag
    }
}

// ---------------------------------------------------------------------------------------------------
// Containers.

/// A container of this run; `docker rm -f` on drop. Declare it after its image.
struct Container {
    name: String,
}

impl Container {
    /// `docker run [-d] --name N --network none OPTS IMAGE ARGS`.
    fn run_args(image: &dyn Tagged, detach: bool, opts: &[&str], args: &[&str]) -> (Self, Out) {
        let c = Container {
            name: suite().unwrap().name("c"),
        };
        let mut all = vec!["run", "--name", &c.name, "--network", "none"];
        if detach {
            all.push("-d");
        }
        all.extend(opts);
        all.push(image.tag());
        all.extend(args);
        let out = docker(&all);
        (c, out)
    }

    /// Runs a container to its end, attached: its stdout and stderr are those of the result.
    fn run(image: &dyn Tagged, opts: &[&str], args: &[&str]) -> (Self, Out) {
        Self::run_args(image, false, opts, args)
    }

    /// Starts a detached container.
    fn start(image: &dyn Tagged, opts: &[&str], args: &[&str]) -> Self {
        let (c, out) = Self::run_args(image, true, opts, args);
        assert_eq!(out.code, Some(0), "docker run -d: {}", out.stderr);
        c
    }

    fn exec(&self, args: &[&str]) -> Out {
        let mut all = vec!["exec", self.name.as_str()];
        all.extend(args);
        docker(&all)
    }

    fn logs(&self) -> Out {
        docker(&["logs", &self.name])
    }

    /// `docker inspect --format FORMAT`, trimmed.
    fn inspect(&self, format: &str) -> String {
        docker_ok(&["inspect", "--format", format, &self.name])
            .trim()
            .to_string()
    }

    /// The exit code Docker recorded; the container must have ended.
    fn exit_code(&self) -> i32 {
        let state = self.inspect("{{.State.Status}} {{.State.ExitCode}}");
        let code = state.strip_prefix("exited ").unwrap_or_else(|| {
            panic!("container {} has not exited: {state}", self.name);
        });
        code.parse().unwrap()
    }

    /// Waits (bounded) until the container ends and returns its exit code.
    fn wait(&self) -> i32 {
        docker_ok(&["wait", &self.name]).trim().parse().unwrap()
    }

    /// Waits until `docker logs` shows `text` on the container's stdout.
    fn wait_for_stdout(&self, text: &str) {
        eventually(
            &format!("{text:?} in the logs of {}", self.name),
            || self.logs().stdout,
            |s| s.contains(text),
        );
    }

    /// Waits until the file at `path` inside the container contains `text`; returns the file.
    fn wait_for_file(&self, path: &str, text: &str) -> String {
        eventually(
            &format!("{text:?} in {path} of {}", self.name),
            || self.exec(&["cat", path]).stdout,
            |s| s.contains(text),
        )
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        docker_quiet(&["rm", "-f", "-v", &self.name]);
    }
}

// ---------------------------------------------------------------------------------------------------
// Reading /proc inside the container.

/// The `Key: value` lines of a /proc/PID/status, values with single spaces.
fn status_map(text: &str) -> HashMap<String, String> {
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

fn assert_fields(who: &str, status: &HashMap<String, String>, want: &[(&str, &str)]) {
    for (k, v) in want {
        assert_eq!(
            status.get(*k).map(String::as_str),
            Some(*v),
            "{who}: {k} in {status:?}"
        );
    }
}

const NOTHING_HELD: &[(&str, &str)] = &[
    ("Uid", "65532 65532 65532 65532"),
    ("Gid", "65532 65532 65532 65532"),
    ("CapInh", "0000000000000000"),
    ("CapPrm", "0000000000000000"),
    ("CapEff", "0000000000000000"),
    ("CapBnd", "0000000000000000"),
    ("CapAmb", "0000000000000000"),
    ("NoNewPrivs", "1"),
];

/// Prints the program's and PID 1's status, separated by a line `===`.
const DUMP: &str = "cat /proc/self/status; echo ===; cat /proc/1/status";

/// Splits the output of [`DUMP`] into (program, PID 1).
fn dumped(stdout: &str) -> (HashMap<String, String>, HashMap<String, String>) {
    let parts: Vec<&str> = stdout.split("===\n").collect();
    assert_eq!(parts.len(), 2, "{stdout:?}");
    (status_map(parts[0]), status_map(parts[1]))
}

/// A /proc/PID/stat line: pid and the fields after the command name, from `state` on
/// (`[state, ppid, pgrp, session, tty_nr, tpgid, ...]`).
#[derive(Debug)]
struct Stat {
    pid: i64,
    state: String,
    ppid: i64,
    pgrp: i64,
    tty_nr: i64,
    tpgid: i64,
}

fn parse_stat(line: &str) -> Option<Stat> {
    let (pid, rest) = line.trim().split_once(" (")?;
    let fields: Vec<&str> = rest.rsplit_once(") ")?.1.split_whitespace().collect();
    let num = |i: usize| fields.get(i)?.parse().ok();
    Some(Stat {
        pid: pid.parse().ok()?,
        state: fields.first()?.to_string(),
        ppid: num(1)?,
        pgrp: num(2)?,
        tty_nr: num(4)?,
        tpgid: num(5)?,
    })
}

/// The stat line printed after `TAG ` in `text` (terminal output may carry `\r`).
fn tagged_stat(text: &str, tag: &str) -> Stat {
    text.lines()
        .find_map(|l| l.trim_end_matches('\r').strip_prefix(&format!("{tag} ")))
        .and_then(parse_stat)
        .unwrap_or_else(|| panic!("no stat line for {tag} in {text:?}"))
}

// ---------------------------------------------------------------------------------------------------
// Scenarios: stopping and signals.

#[test]
fn docker_stop_kills_an_app_that_ignores_sigterm_when_the_grace_period_is_over() {
    let Some(image) = base_image() else { return };
    let c = Container::start(
        &image,
        &[],
        &["--user", USER, "--grace", "2s", "--", "/bin/ignore_term"],
    );
    c.wait_for_stdout("ready");
    // Docker would send its own SIGKILL only after 30 s; pidguard's comes after 2 s and says so.
    docker_ok(&["stop", "-t", "30", &c.name]);
    assert_eq!(c.exit_code(), 137, "128 + SIGKILL, the program's fate");
    assert_eq!(c.inspect("{{.State.OOMKilled}}"), "false");
    let logs = c.logs();
    assert!(
        logs.stderr
            .contains("grace period of 2s is over: sending SIGKILL"),
        "pidguard, not Docker, must have killed the app: {logs:?}"
    );
}

#[test]
fn docker_stop_lets_a_cooperative_app_exit_with_its_own_code() {
    let Some(image) = base_image() else { return };
    let script = "trap 'kill $!; exit 3' TERM; echo ready; sleep 1000 & wait";
    let c = Container::start(
        &image,
        &[],
        &[
            "--user", USER, "--grace", "2s", "--", "/bin/sh", "-c", script,
        ],
    );
    c.wait_for_stdout("ready");
    docker_ok(&["stop", "-t", "30", &c.name]);
    assert_eq!(c.exit_code(), 3);
    let logs = c.logs();
    assert!(!logs.stderr.contains("is over"), "{logs:?}");
}

#[test]
fn docker_kill_usr1_reaches_the_app() {
    let Some(image) = base_image() else { return };
    let c = Container::start(
        &image,
        &[],
        &["--user", USER, "--", "/bin/sigrecord", "/tmp/signals"],
    );
    c.wait_for_file("/tmp/signals", "ready");
    docker_ok(&["kill", "-s", "USR1", &c.name]);
    let seen = c.wait_for_file("/tmp/signals", "SIG 10");
    assert_eq!(seen, "ready\nSIG 10\n", "USR1 arrives once, nothing else");
    assert_eq!(c.inspect("{{.State.Running}}"), "true", "USR1 ends nothing");
}

#[test]
fn exit_codes_reach_docker() {
    let Some(image) = base_image() else { return };
    for (program, want) in [
        (&["/bin/exit_with", "7"][..], 7),
        (&["/bin/exit_with", "signal:TERM"][..], 143),
        (&["/no/such/program"][..], 127),
        (&["/etc/passwd"][..], 126),
    ] {
        let mut args = vec!["--user", USER, "--"];
        args.extend(program);
        let (c, out) = Container::run(&image, &[], &args);
        assert_eq!(out.code, Some(want), "{program:?}: {out:?}");
        assert_eq!(c.exit_code(), want, "{program:?}");
    }
}

// ---------------------------------------------------------------------------------------------------
// Scenarios: reaping.

#[test]
fn orphans_left_by_docker_exec_are_reaped() {
    let Some(image) = base_image() else { return };
    let c = Container::start(&image, &[], &["--user", USER, "--", "/bin/sleep", "1000"]);
    // A shell that backgrounds a child and exits: the child is orphaned inside the container's PID
    // namespace, so it is re-parented to PID 1. It waits on a FIFO, so we choose when it exits.
    let out = c.exec(&[
        "/bin/sh",
        "-c",
        "mkfifo /tmp/go; (read line < /tmp/go) >/dev/null 2>&1 & echo $!",
    ]);
    let pid = out.stdout.trim().to_string();
    assert!(pid.parse::<u32>().is_ok(), "{out:?}");
    let stat = format!("/proc/{pid}/stat");
    let orphan = parse_stat(&c.exec(&["cat", &stat]).stdout).expect("the orphan runs");
    assert_eq!(orphan.ppid, 1, "re-parented to pidguard: {orphan:?}");
    assert_ne!(orphan.state, "Z", "{orphan:?}");

    let out = c.exec(&["/bin/sh", "-c", "echo go > /tmp/go"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    // Not reaped, it would stay a zombie (state Z) for ever; reaped, it is gone.
    eventually(
        &format!("the orphan {pid} to be reaped"),
        || c.exec(&["cat", &stat]),
        |o| o.code != Some(0),
    );
    // No zombie anywhere in the container. (Not `docker top`: it lists the cgroup's tasks, and an
    // exited task has left the cgroup, so it would not show a zombie either way.)
    let all = c
        .exec(&["/bin/sh", "-c", "cat /proc/[0-9]*/stat 2>/dev/null"])
        .stdout;
    assert!(all.starts_with("1 (pidguard) "), "{all}");
    let zombies: Vec<Stat> = all
        .lines()
        .filter_map(parse_stat)
        .filter(|s| s.state == "Z")
        .collect();
    assert!(zombies.is_empty(), "{zombies:?}");
    // Many at once: the fixture leaves 50 zombies to PID 1 and checks that none is left.
    let out = c.exec(&["/bin/orphans", "50"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout.trim(), "zombies=0");
}

// ---------------------------------------------------------------------------------------------------
// Scenarios: identity and hardening.

#[test]
fn program_and_pid1_hold_no_privilege_and_pid1_cannot_be_read() {
    let Some(image) = base_image() else { return };
    // Started as root with Docker's default capabilities: pidguard drops all of them, for itself too.
    let script = format!(
        "{DUMP}; if cat /proc/1/environ >/dev/null 2>&1; then echo PID1-ENVIRON-READABLE; fi"
    );
    let (_c, out) = Container::run(
        &image,
        &[],
        &["--user", USER, "--", "/bin/sh", "-c", &script],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        !out.stdout.contains("PID1-ENVIRON-READABLE"),
        "PID 1 must be non-dumpable"
    );
    let (program, pid1) = dumped(&out.stdout);
    for (who, status) in [("program", &program), ("PID 1", &pid1)] {
        assert_fields(who, status, NOTHING_HELD);
    }
    assert_fields("PID 1", &pid1, &[("Name", "pidguard"), ("Threads", "1")]);
}

#[test]
fn read_only_no_capabilities_no_new_privileges_and_docker_user_work() {
    let Some(image) = base_image() else { return };
    // Docker already made it uid 65532 with nothing to drop: pidguard --user 65532 has nothing to
    // switch (it could not: it holds no CAP_SETUID) and must not fail.
    let (_c, out) = Container::run(
        &image,
        &[
            "--read-only",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--user",
            USER,
        ],
        &["--user", USER, "--", "/bin/sh", "-c", DUMP],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let (program, pid1) = dumped(&out.stdout);
    for (who, status) in [("program", &program), ("PID 1", &pid1)] {
        assert_fields(who, status, NOTHING_HELD);
    }
    assert!(
        out.stderr.is_empty(),
        "nothing to warn about: {}",
        out.stderr
    );
}

#[test]
fn docker_user_alone_is_enough() {
    let Some(image) = base_image() else { return };
    // USER in the Dockerfile or `docker run --user`: pidguard is not root, so it needs no --user.
    let (_c, out) = Container::run(
        &image,
        &["--user", USER],
        &[
            "--",
            "/bin/sh",
            "-c",
            "id -u; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let status = status_map(&out.stdout);
    assert!(out.stdout.starts_with("65532\n"), "{out:?}");
    assert_fields(
        "program",
        &status,
        &[("CapEff", "0000000000000000"), ("NoNewPrivs", "1")],
    );
}

#[test]
fn cap_drop_all_as_root_cannot_switch_user_and_says_why() {
    let Some(image) = base_image() else { return };
    let program = ["--user", USER, "--", "/bin/sh", "-c", "echo STARTED"];
    for (drop, lacks) in [
        ("ALL", "CAP_SETUID and CAP_SETGID"),
        ("SETUID", "CAP_SETUID ("),
    ] {
        let (c, out) = Container::run(&image, &["--cap-drop", drop], &program);
        assert_eq!(out.code, Some(125), "--cap-drop {drop}: {out:?}");
        assert_eq!(c.exit_code(), 125, "pidguard's 125, not docker's");
        assert!(!out.stdout.contains("STARTED"), "the program never starts");
        let err = out.stderr.trim();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(
            err.contains("cannot switch to user nonroot (uid 65532 gid 65532)")
                && err.contains(&format!("lacks {lacks}"))
                && err.contains("CAP_SETUID")
                && err.contains("docker run --user 65532"),
            "--cap-drop {drop}: {err}"
        );
    }
}

#[test]
fn an_entrypoint_without_user_is_refused_as_root() {
    let Some(image) = base_image() else { return };
    let (c, out) = Container::run(&image, &[], &["--", "/bin/sh", "-c", "echo STARTED"]);
    assert_eq!(out.code, Some(125), "{out:?}");
    assert_eq!(c.exit_code(), 125);
    assert!(!out.stdout.contains("STARTED"), "the program never starts");
    let err = out.stderr.trim();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("refusing to run the program as root")
            && err.contains("--user 65532")
            && err.contains("USER in the Dockerfile"),
        "{err}"
    );
}

#[test]
fn entrypoint_user_nonroot_comes_from_the_image_passwd_and_group() {
    let Some(base) = base_image() else { return };
    let image = Image::derived(&base, "nonroot");
    // The image's CMD (/bin/id) is the program: `--user nonroot --` in the ENTRYPOINT takes it as is.
    let (_c, out) = Container::run(&image, &[], &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout.trim(),
        "uid=65532(nonroot) gid=65532(nonroot) groups=65532(nonroot),65533(extra)"
    );
    let (_c, out) = Container::run(
        &image,
        &[],
        &["/bin/sh", "-c", &format!("echo $HOME $USER; {DUMP}")],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.starts_with("/home/nonroot nonroot\n"), "{out:?}");
    let (program, pid1) = dumped(out.stdout.split_once('\n').unwrap().1);
    for (who, status) in [("program", &program), ("PID 1", &pid1)] {
        assert_fields(who, status, NOTHING_HELD);
        assert_fields(who, status, &[("Groups", "65532 65533")]);
    }
}

// ---------------------------------------------------------------------------------------------------
// Scenarios: terminals.

#[test]
fn docker_run_t_gives_the_program_the_terminal_and_job_control_works() {
    let Some(image) = base_image() else { return };
    // PROGRAM: the shell pidguard started; CHILD: its command without job control (same group);
    // after `set -m`, JOB: a foreground job (own group) and BG: a background one.
    let script = "printf 'PROGRAM '; cat /proc/$$/stat; printf 'CHILD '; cat /proc/self/stat; \
                  set -m; printf 'JOB '; cat /proc/self/stat; \
                  sleep 1000 & printf 'BG '; cat /proc/$!/stat; kill %1; wait; echo done";
    let c = Container::start(
        &image,
        &["-t"],
        &["--user", USER, "--", "/bin/sh", "-c", script],
    );
    assert_eq!(c.wait(), 0, "{:?}", c.logs());
    let text = c.logs().stdout;
    assert!(text.contains("done"), "{text:?}");
    let program = tagged_stat(&text, "PROGRAM");
    let child = tagged_stat(&text, "CHILD");
    let job = tagged_stat(&text, "JOB");
    let bg = tagged_stat(&text, "BG");
    assert_ne!(
        program.tty_nr, 0,
        "the program has the terminal: {program:?}"
    );
    assert_eq!(program.pgrp, program.pid, "own process group: {program:?}");
    assert_eq!(
        program.tpgid, program.pgrp,
        "in the foreground: {program:?}"
    );
    assert_eq!(
        (child.pgrp, child.tpgid),
        (program.pgrp, program.pgrp),
        "{child:?}"
    );
    assert_eq!((job.pgrp, job.tpgid), (job.pid, job.pid), "{job:?}");
    assert_eq!(bg.pgrp, bg.pid, "{bg:?}");
    assert_ne!(bg.tpgid, bg.pgrp, "a background job: {bg:?}");
}

#[test]
fn docker_run_it_ctrl_z_fg_ctrl_c_and_exit_code() {
    let Some(image) = base_image() else { return };
    let name = suite().unwrap().name("c");
    let guard = Container { name };
    let mut cmd = Command::new("python3");
    cmd.arg(tests_dir().join("docker/pty_jobs.py")).args([
        "run",
        "-it",
        "--name",
        &guard.name,
        "--network",
        "none",
        "-e",
        "PS1=PROMPT> ",
        image.tag(),
        "--user",
        USER,
        "--",
        "/bin/sh",
        "-i",
    ]);
    let out = run_within(cmd, COMMAND_LIMIT).expect("pty_jobs.py ends");
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert_eq!(guard.exit_code(), 7);
}
