//! The Docker harness shared by tests/docker.rs (pidguard's promises under a real engine),
//! tests/examples.rs (the top-level Dockerfile and examples/) and tests/audit.rs (`pidguard audit`
//! inside containers): bounded docker commands, the run's names, cleanup guards, and readers for what
//! /proc shows inside a container.
//!
//! Nothing can be pulled and no network may be created: every image is built with `--network none`
//! from local files, and every container runs with `--network none`. Every container and image carries
//! the run's prefix (`pidguard-docker-<pid>-`) and is removed by a Drop guard, also when a test fails;
//! leftovers of a run that was killed are swept when the next run starts, whichever test binary it is.
//! Every wait is bounded.
//!
//! The test crates (docker.rs, examples.rs, audit.rs) include this file
//! (`#[path = "docker/engine.rs"] mod engine;`), and an item one of them does not use is not dead code.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Longest any one command may take (a `docker stop -t 30` included) before the test fails.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(120);
/// Longest a condition polled with [`eventually`] may take to hold.
pub const WAIT_LIMIT: Duration = Duration::from_secs(60);
/// Between two polls: each poll is a docker command, so a pause keeps dockerd's load low.
pub const POLL: Duration = Duration::from_millis(100);
/// Prefix of every container and image name the suites make; the test process id follows.
pub const PREFIX: &str = "pidguard-docker-";

pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn tests_dir() -> PathBuf {
    repo_dir().join("tests")
}

// ---------------------------------------------------------------------------------------------------
// Commands, bounded.

#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` to the end, or kills it after `limit` and returns `None`.
pub fn run_within(mut cmd: Command, limit: Duration) -> Option<Out> {
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

/// Runs `cmd` (shown as `what` in messages) to the end; a command that hangs fails the test.
pub fn run_bounded(cmd: Command, what: &str) -> Out {
    run_within(cmd, COMMAND_LIMIT)
        .unwrap_or_else(|| panic!("`{what}` did not end within {COMMAND_LIMIT:?}"))
}

pub fn docker_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new("docker");
    cmd.args(args);
    cmd
}

/// `docker ARGS`; a command that hangs fails the test.
pub fn docker(args: &[&str]) -> Out {
    run_bounded(docker_cmd(args), &format!("docker {}", args.join(" ")))
}

/// `docker ARGS` that must succeed; returns its stdout.
pub fn docker_ok(args: &[&str]) -> String {
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
pub fn docker_quiet(args: &[&str]) {
    match run_within(docker_cmd(args), COMMAND_LIMIT) {
        Some(out) if out.code == Some(0) => {}
        Some(out) => eprintln!("cleanup `docker {}`: {}", args.join(" "), out.stderr.trim()),
        None => eprintln!("cleanup `docker {}` hung", args.join(" ")),
    }
}

/// Polls until `cond` holds for what `poll` returns, and returns that; fails the test after
/// [`WAIT_LIMIT`] and shows the last value seen.
pub fn eventually<T: std::fmt::Debug>(
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

pub struct Suite {
    /// `pidguard-docker-<pid>`: starts every container name and image tag of this run.
    prefix: String,
    next: AtomicUsize,
}

impl Suite {
    /// A fresh name for a container, image or build context of this run.
    pub fn name(&self, what: &str) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}-{what}-{n}", self.prefix)
    }
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Outside CI, says loudly on the process's stderr that `what` did not run and why; under CI (where
/// a missing engine or tool is a failure, not a skip) fails the test.
pub fn skip_or_fail(what: &str, problem: &str) {
    let msg = format!("{what} NOT RUN: {problem}");
    assert!(!in_ci(), "{msg} (CI=true: a failure, not a skip)");
    // Straight to the process's stderr: libtest captures eprintln! of passing tests.
    let _ = writeln!(std::io::stderr(), "\n*** {msg} ***\n");
}

static SUITE: OnceLock<Option<Suite>> = OnceLock::new();

/// The suite, or `None` after a loud message when something it needs is missing outside CI: the
/// engine, or whatever `missing` (the test crate's own prerequisites) names. Under CI a missing
/// prerequisite is a failure of every scenario.
pub fn start(missing: fn() -> Option<String>) -> Option<&'static Suite> {
    SUITE
        .get_or_init(|| {
            if let Some(problem) = missing_engine().or_else(missing) {
                // A panic here leaves the cell empty: every scenario checks again and fails the same way.
                skip_or_fail("DOCKER SCENARIOS", &problem);
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

/// The suite a scenario already obtained with [`start`].
pub fn suite() -> &'static Suite {
    SUITE
        .get()
        .and_then(Option::as_ref)
        .expect("engine::start succeeded first")
}

fn missing_engine() -> Option<String> {
    match run_within(
        docker_cmd(&["info", "--format", "{{.ServerVersion}}"]),
        Duration::from_secs(30),
    ) {
        None => Some("`docker info` did not answer within 30s".into()),
        Some(out) if out.code != Some(0) => Some(format!(
            "no Docker engine answers `docker info` (start one with tests/setup-docker.sh): {}",
            out.stderr.trim()
        )),
        Some(_) => None,
    }
}

/// Why the binaries at `paths` cannot go into a FROM scratch image, if one of them cannot.
pub fn not_static(paths: &[PathBuf]) -> Option<String> {
    for bin in paths {
        match is_static(bin) {
            Ok(true) => {}
            Ok(false) => {
                return Some(format!(
                    "{} is dynamically linked, and FROM scratch images have no libc: run \
                     RUSTFLAGS=\"-C target-feature=+crt-static -C relocation-model=static\" cargo test --release \
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
pub fn is_static(path: &Path) -> Result<bool, String> {
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
            .map(|b| usize::try_from(u64::from_le_bytes(b.try_into().unwrap())).unwrap())
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
    // Derived images first: an image with children cannot be removed. Bases are named `-base-`
    // (docker.rs) or `-pidguard-` / `-busybox-` (examples.rs, the images the examples start FROM).
    let mut images: Vec<&str> = images.lines().filter(|n| stale(n)).collect();
    images.sort_by_key(|n| {
        ["-base-", "-pidguard-", "-busybox-"]
            .iter()
            .any(|b| n.contains(b))
    });
    for image in images {
        docker_quiet(&["rmi", "-f", image]);
    }
    // Build contexts and scratch files of a run killed while it used them.
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
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `docker build --network none` of `dockerfile` in `context`, tagged `tag`; `extra` goes before the
/// context (e.g. `["--target", "local"]`, `["--build-arg", "K=V"]`).
///
/// `--no-cache`: tests build in parallel and remove their images when done. The legacy builder would
/// reuse a cached layer of another test's image (`COPY rootfs/ /` on `scratch` is the same layer in
/// several images) and fail with "unknown parent image ID" when that test removed it mid-build.
pub fn build(tag: &str, dockerfile: &Path, context: &Path, extra: &[&str]) {
    let mut args = vec!["build", "--no-cache", "--network", "none", "-q", "-t", tag];
    args.extend(extra);
    let file = dockerfile.to_str().unwrap();
    args.extend(["-f", file, context.to_str().unwrap()]);
    docker_ok(&args);
}

/// An image of this run, removed on drop. Keep it declared after any image it was built FROM, so
/// that it is dropped first.
pub struct Image {
    pub tag: String,
}

impl Image {
    /// Builds `dockerfile` in `context` as a fresh image named after `what`.
    pub fn build(what: &str, dockerfile: &Path, context: &Path, extra: &[&str]) -> Image {
        let image = Image {
            tag: suite().name(what),
        };
        build(&image.tag, dockerfile, context, extra);
        image
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        docker_quiet(&["rmi", "-f", &self.tag]);
    }
}

pub trait Tagged {
    fn tag(&self) -> &str;
}

impl Tagged for Image {
    fn tag(&self) -> &str {
        &self.tag
    }
}

/// An image built once and shared by the scenarios running at the same time; the last one to let go
/// removes it (a later scenario builds it again). Lives in a `static`.
pub struct SharedImage {
    state: Mutex<(Option<String>, usize)>,
}

impl SharedImage {
    pub const fn new() -> SharedImage {
        SharedImage {
            state: Mutex::new((None, 0)),
        }
    }

    /// A hold on the image; `build` makes it (and returns its tag) when no scenario holds it yet.
    pub fn hold(&'static self, build: impl FnOnce() -> String) -> SharedHold {
        // A scenario that panicked while holding the lock left consistent data: carry on.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let tag = state.0.get_or_insert_with(build).clone();
        state.1 += 1;
        SharedHold { image: self, tag }
    }
}

/// One scenario's hold on a [`SharedImage`]; declare containers of it after it.
pub struct SharedHold {
    image: &'static SharedImage,
    pub tag: String,
}

impl Drop for SharedHold {
    fn drop(&mut self) {
        let mut state = self.image.state.lock().unwrap_or_else(|e| e.into_inner());
        state.1 -= 1;
        if state.1 == 0
            && let Some(tag) = state.0.take()
        {
            docker_quiet(&["rmi", "-f", &tag]);
        }
    }
}

impl Tagged for SharedHold {
    fn tag(&self) -> &str {
        &self.tag
    }
}

/// The images the recipes start FROM, made locally (nothing can be pulled): tests/examples.rs and
/// tests/migrate.rs.
/// The top-level Dockerfile's `local` target, from this build's binary put where the Dockerfile's
/// default PIDGUARD_BINARY (the path `cargo build --target` writes) expects it.
pub fn pidguard_image() -> Image {
    let ctx = TempDir::new(&suite().name("context"));
    let dest = ctx.path().join("target/x86_64-unknown-linux-gnu/release");
    std::fs::create_dir_all(&dest).unwrap();
    std::fs::copy(crate::common::pidguard(), dest.join("pidguard")).unwrap();
    Image::build(
        "pidguard",
        &repo_dir().join("Dockerfile"),
        ctx.path(),
        &["--target", "local"],
    )
}

/// Stands in for the pinned `busybox:*-musl` image: a static busybox with its applets linked in
/// /bin, busybox's /etc/passwd and /etc/group, a /tmp, and no USER (it runs as root).
pub fn busybox_image() -> Image {
    busybox_image_of(Path::new("/bin/busybox"), &[])
}

/// [`busybox_image`] with the static busybox at `binary`, built with `extra` build options (an
/// arm64 busybox with `--platform linux/arm64`).
pub fn busybox_image_of(binary: &Path, extra: &[&str]) -> Image {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let ctx = TempDir::new(&suite().name("context"));
    let root = ctx.path().join("rootfs");
    for dir in ["bin", "etc", "tmp"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::fs::copy(binary, root.join("bin/busybox")).unwrap();
    for applet in ["sh", "cat", "httpd", "ls", "rm", "sleep", "echo", "id"] {
        symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/false\n\
         nobody:x:65534:65534:nobody:/home:/bin/false\n",
    )
    .unwrap();
    std::fs::write(
        root.join("etc/group"),
        "root:x:0:\nwww-data:x:33:\nnobody:x:65534:\n",
    )
    .unwrap();
    let dockerfile = ctx.path().join("Dockerfile");
    std::fs::write(&dockerfile, "FROM scratch\nCOPY rootfs/ /\nCMD [\"sh\"]\n").unwrap();
    Image::build("busybox", &dockerfile, ctx.path(), extra)
}

// ---------------------------------------------------------------------------------------------------
// Containers.

/// A container of this run; `docker rm -f` on drop. Declare it after its image.
pub struct Container {
    pub name: String,
}

impl Container {
    /// A name for a container that some other command will create (`docker run` through a
    /// terminal, say); removed on drop all the same.
    pub fn named() -> Container {
        Container {
            name: suite().name("c"),
        }
    }

    /// `docker run [-d] --name N --network none OPTS IMAGE ARGS`.
    pub fn run_args(image: &dyn Tagged, detach: bool, opts: &[&str], args: &[&str]) -> (Self, Out) {
        let c = Container::named();
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
    pub fn run(image: &dyn Tagged, opts: &[&str], args: &[&str]) -> (Self, Out) {
        Self::run_args(image, false, opts, args)
    }

    /// Starts a detached container.
    pub fn start(image: &dyn Tagged, opts: &[&str], args: &[&str]) -> Self {
        let (c, out) = Self::run_args(image, true, opts, args);
        assert_eq!(out.code, Some(0), "docker run -d: {}", out.stderr);
        c
    }

    pub fn exec(&self, args: &[&str]) -> Out {
        let mut all = vec!["exec", self.name.as_str()];
        all.extend(args);
        docker(&all)
    }

    pub fn logs(&self) -> Out {
        docker(&["logs", &self.name])
    }

    /// `docker inspect --format FORMAT`, trimmed.
    pub fn inspect(&self, format: &str) -> String {
        docker_ok(&["inspect", "--format", format, &self.name])
            .trim()
            .to_string()
    }

    /// What Docker's HEALTHCHECK made of the container: starting, healthy or unhealthy.
    pub fn health(&self) -> String {
        self.inspect("{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}")
    }

    /// Waits until Docker calls the container `status` (see [`Container::health`]); fails early when
    /// the container stopped running, with its logs.
    pub fn wait_health(&self, status: &str) {
        eventually(
            &format!("{} to be {status}", self.name),
            || {
                let state = self.inspect("{{.State.Status}}");
                assert_eq!(state, "running", "{}: {:?}", self.name, self.logs());
                self.health()
            },
            |s| s == status,
        );
    }

    /// The exit code Docker recorded; the container must have ended.
    pub fn exit_code(&self) -> i32 {
        let state = self.inspect("{{.State.Status}} {{.State.ExitCode}}");
        let code = state.strip_prefix("exited ").unwrap_or_else(|| {
            panic!("container {} has not exited: {state}", self.name);
        });
        code.parse().unwrap()
    }

    /// Waits (bounded) until the container ends and returns its exit code.
    pub fn wait(&self) -> i32 {
        docker_ok(&["wait", &self.name]).trim().parse().unwrap()
    }

    /// Waits until `docker logs` shows `text` on the container's stdout.
    pub fn wait_for_stdout(&self, text: &str) {
        eventually(
            &format!("{text:?} in the logs of {}", self.name),
            || self.logs().stdout,
            |s| s.contains(text),
        );
    }

    /// Waits until the file at `path` inside the container contains `text`; returns the file.
    pub fn wait_for_file(&self, path: &str, text: &str) -> String {
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
/// Seccomp in filter mode with at least `min` filters stacked (Docker's own is one of them unless
/// the container runs `--security-opt seccomp=unconfined`).
pub fn assert_seccomp(who: &str, status: &HashMap<String, String>, min: u32) {
    crate::common::assert_fields(who, status, &[("Seccomp", "2")]);
    let filters: u32 = status
        .get("Seccomp_filters")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{who}: no Seccomp_filters in {status:?}"));
    assert!(
        filters >= min,
        "{who}: {filters} seccomp filters, want >= {min}"
    );
}

/// A /proc/PID/stat line: pid and the fields after the command name, from `state` on
/// (`[state, ppid, pgrp, session, tty_nr, tpgid, ...]`).
#[derive(Debug)]
pub struct Stat {
    pub pid: i64,
    pub name: String,
    pub state: String,
    pub ppid: i64,
    pub pgrp: i64,
    pub tty_nr: i64,
    pub tpgid: i64,
}

pub fn parse_stat(line: &str) -> Option<Stat> {
    let (pid, rest) = line.trim().split_once(" (")?;
    let (name, rest) = rest.rsplit_once(") ")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| fields.get(i)?.parse().ok();
    Some(Stat {
        pid: pid.parse().ok()?,
        name: name.to_string(),
        state: fields.first()?.to_string(),
        ppid: num(1)?,
        pgrp: num(2)?,
        tty_nr: num(4)?,
        tpgid: num(5)?,
    })
}

/// Every process in the container, from /proc/PID/stat, read by the image's shell (`shell`, e.g.
/// `["/bin/sh"]`, or `["/bin/busybox", "sh"]` in an image without applet links).
pub fn processes(c: &Container, shell: &[&str]) -> Vec<Stat> {
    let mut args: Vec<&str> = shell.to_vec();
    args.extend(["-c", "cat /proc/[0-9]*/stat 2>/dev/null"]);
    c.exec(&args)
        .stdout
        .lines()
        .filter_map(parse_stat)
        .collect()
}
