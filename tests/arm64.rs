//! arm64: the aarch64 static binary as a user runs it. On an x86_64 machine it runs under qemu-user
//! (binfmt_misc, registered by tests/run.sh), which cannot install a seccomp filter: these scenarios run
//! with `--seccomp unconfined` and say so in their names. The aarch64 filter itself is proven without
//! a kernel: `src/seccomp/tests.rs` runs the aarch64 program through the BPF evaluator for every
//! syscall and argument edge, against the rules and against Docker's arm64 profile, and
//! `src/seccomp/syscalls.rs` checks the aarch64 table against the kernel headers.
//!
//! Also here: the one toolchain pin, the Dockerfile's per-architecture images, and the release (two
//! builds in different directories give the same bytes).

mod common;
#[path = "docker/engine.rs"]
mod engine;

use common::{Output, USER, in_container_of, read, scratch, wait_output, wait_until};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn text(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

// ---------------------------------------------------------------------------------------------------
// One toolchain, one Dockerfile.

#[test]
fn the_toolchain_is_pinned_once_for_both_targets() {
    let toolchain = text("rust-toolchain.toml");
    let value = |text: &str, key: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.trim().strip_prefix('='))
            .unwrap_or_else(|| panic!("no {key}"))
            .trim()
            .trim_matches('"')
            .to_string()
    };
    let channel = value(&toolchain, "channel");
    assert_eq!(channel.split('.').count(), 3, "an exact release: {channel}");
    for target in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] {
        assert!(toolchain.contains(&format!("\"{target}\"")), "{target}");
    }
    assert_eq!(value(&text("Cargo.toml"), "rust-version"), channel);
    let dockerfile = text("Dockerfile");
    assert!(
        dockerfile.contains(&format!(" rust:{channel}-")),
        "the Dockerfile's build stage uses rust:{channel}"
    );
}

/// (keyword, arguments) of each instruction of each stage of the top-level Dockerfile, continuation
/// lines joined, comments dropped; the stage's name is its `AS` name or "" for the last.
fn stages() -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut line = String::new();
    for raw in text("Dockerfile").lines() {
        let raw = raw.trim();
        if raw.starts_with('#') || (raw.is_empty() && line.is_empty()) {
            continue;
        }
        if let Some(part) = raw.strip_suffix('\\') {
            line.push_str(part);
            line.push(' ');
            continue;
        }
        line.push_str(raw);
        let full = std::mem::take(&mut line);
        let (keyword, args) = full.split_once(' ').unwrap_or((&full, ""));
        if keyword == "FROM" {
            let name = args.split_once(" AS ").map(|(_, n)| n.trim()).unwrap_or("");
            out.push((name.to_string(), Vec::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push((keyword.to_string(), args.trim().to_string()));
        }
    }
    out
}

#[test]
fn every_image_of_the_dockerfile_is_the_same_but_for_the_binary() {
    let all = stages();
    let image = |name: &str| {
        all.iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no stage {name:?}: {all:?}"))
            .1
            .clone()
    };
    let lines = |body: &[(String, String)]| -> Vec<(String, String)> {
        body.iter()
            .filter(|(k, _)| k != "ARG" && k != "COPY")
            .cloned()
            .collect()
    };
    let released = image("");
    assert!(
        lines(&released)
            .iter()
            .any(|(k, v)| k == "USER" && v == "65532:65532")
    );
    for name in ["local", "local-arm64"] {
        assert_eq!(
            lines(&image(name)),
            lines(&released),
            "{name} and the released image"
        );
        let copies: Vec<_> = image(name)
            .into_iter()
            .filter(|(k, _)| k == "COPY")
            .collect();
        assert_eq!(copies.len(), 1, "{name}: one file, /pidguard");
        assert!(copies[0].1.ends_with(" /pidguard"), "{copies:?}");
    }
    // The classic builder records any step before the first file as the host's architecture and then
    // refuses to build an arm64 image on it (it builds `local` on the way): the COPY comes first.
    for (name, triple) in [
        ("local", "x86_64-unknown-linux-gnu"),
        ("local-arm64", "aarch64-unknown-linux-gnu"),
    ] {
        let want = format!("target/{triple}/release/pidguard /pidguard");
        assert_eq!(image(name)[0], ("COPY".to_string(), want), "{name}");
    }
}

// ---------------------------------------------------------------------------------------------------
// The aarch64 binary as PID 1, under qemu-user.

/// The static aarch64 release binary; tests/run.sh builds it before the tests.
fn arm64_pidguard() -> PathBuf {
    let path = repo().join("target/aarch64-unknown-linux-gnu/release/pidguard");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build --release --locked --target \
         aarch64-unknown-linux-gnu` (tests/run.sh does)",
        path.display()
    );
    path
}

/// On an x86_64 host the aarch64 binary runs through qemu-user; on an arm64 host natively.
fn emulated() -> bool {
    std::env::consts::ARCH != "aarch64"
}

/// `unshare --pid --fork --mount-proc` the aarch64 pidguard ARGS, as the test user, with a status
/// socket name of its own.
fn start(args: &[&str], env: &[(&str, &str)]) -> Child {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .arg(arm64_pidguard())
        .args(args)
        .env("PIDGUARD_USER", USER)
        .env(
            "PIDGUARD_STATUS_SOCKET",
            format!("pidguard-arm64-{}-{n}", std::process::id()),
        )
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start unshare")
}

/// Waits (bounded) for the end of `child` and collects what it printed.
fn finish(mut child: Child) -> Output {
    wait_output(&mut child, "the aarch64 pidguard")
}

fn run(args: &[&str]) -> Output {
    finish(start(args, &[]))
}

/// The host pid of the aarch64 pidguard that `unshare` forked (the qemu process running it).
fn pid1_of(unshare: &Child) -> i32 {
    let outer = unshare.id();
    let mut pid = 0;
    wait_until("unshare to start pidguard", || {
        let children = read(Path::new(&format!("/proc/{outer}/task/{outer}/children")));
        pid = children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        // Until exec, the child is still unshare.
        pid != 0
            && read(Path::new(&format!("/proc/{pid}/cmdline")))
                .contains(arm64_pidguard().to_str().unwrap())
    });
    pid
}

fn kill(pid: i32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill {sig} {pid}");
}

const FILTER_OFF: &str = "--seccomp=unconfined";

#[test]
fn arm64_binary_is_static_aarch64_and_names_its_target() {
    let bin = std::fs::read(arm64_pidguard()).unwrap();
    assert_eq!(&bin[..4], b"\x7fELF");
    assert_eq!(
        u16::from_le_bytes([bin[18], bin[19]]),
        183,
        "e_machine EM_AARCH64"
    );
    assert_eq!(engine::is_static(&arm64_pidguard()), Ok(true));
    assert!(
        bin.len() <= 1_835_008,
        "{} bytes, over the 1.75 MiB budget",
        bin.len()
    );
    let out = Command::new(arm64_pidguard())
        .arg("--version")
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(
        version.starts_with(&format!("pidguard {} (commit ", env!("CARGO_PKG_VERSION")))
            && version.trim_end().ends_with(", aarch64-unknown-linux-gnu)"),
        "{version}"
    );
}

#[test]
fn arm64_under_emulation_the_filter_error_says_what_to_do() {
    let out = run(&["--", "/bin/true"]);
    if !emulated() {
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        return;
    }
    assert_eq!(out.code, Some(125), "{}", out.stderr);
    let line = out.stderr.trim();
    assert_eq!(line.lines().count(), 1, "one line: {line}");
    for words in [
        "seccomp filter",
        "emulator",
        "--seccomp unconfined",
        "own architecture",
    ] {
        assert!(line.contains(words), "{words:?} in {line}");
    }
}

#[test]
fn arm64_pid1_hardens_itself_and_the_program_filter_off() {
    let out = run(&[
        FILTER_OFF,
        "--",
        "/bin/busybox",
        "sh",
        "-c",
        "grep -hE '^(Uid|Gid|CapEff|CapBnd|NoNewPrivs):' /proc/self/status /proc/1/status; exit 7",
    ]);
    assert_eq!(out.code, Some(7), "the program's exit code: {}", out.stderr);
    for who in [0, 1] {
        let part: String = out
            .stdout
            .lines()
            .skip(who * 5)
            .take(5)
            .collect::<Vec<_>>()
            .join("\n");
        let status = common::status_map(&part);
        common::assert_fields(
            if who == 0 { "program" } else { "PID 1" },
            &status,
            &[
                ("Uid", "65532 65532 65532 65532"),
                ("Gid", "65532 65532 65532 65532"),
                ("CapEff", "0000000000000000"),
                ("CapBnd", "0000000000000000"),
                ("NoNewPrivs", "1"),
            ],
        );
    }
}

#[test]
fn arm64_pid1_reaps_orphans_filter_off() {
    // A middle shell leaves 100 children behind and exits; they are re-parented to PID 1, exit, and
    // must be reaped. The program counts zombies in the namespace until none is left.
    let script = "sh -c 'i=0; while [ $i -lt 100 ]; do sleep 0 & i=$((i+1)); done'; \
                  n=0; while [ $n -lt 600 ]; do \
                    z=$(grep -l '^[0-9]* ([^)]*) Z' /proc/[0-9]*/stat 2>/dev/null | wc -l); \
                    [ \"$z\" = 0 ] && { echo zombies=0; exit 0; }; sleep 0.1; n=$((n+1)); done; \
                  echo zombies=$z; exit 1";
    let out = run(&[FILTER_OFF, "--", "/bin/busybox", "sh", "-c", script]);
    assert_eq!(
        (out.code, out.stdout.trim()),
        (Some(0), "zombies=0"),
        "{}",
        out.stderr
    );
}

#[test]
fn arm64_pid1_forwards_sigterm_and_kills_after_the_grace_filter_off() {
    let dir = scratch("arm64-term");
    let ready = dir.join("ready");
    // A program that handles SIGTERM: its exit code is the container's.
    let handler = format!(
        "trap 'echo got TERM; exit 3' TERM; touch {r}; while :; do sleep 0.1; done",
        r = ready.display()
    );
    let child = start(
        &[FILTER_OFF, "--", "/bin/busybox", "sh", "-c", &handler],
        &[],
    );
    let pid = pid1_of(&child);
    wait_until("the program to start", || ready.exists());
    kill(pid, "-TERM");
    let out = finish(child);
    assert_eq!(
        (out.code, out.stdout.trim()),
        (Some(3), "got TERM"),
        "{}",
        out.stderr
    );

    // One that ignores it: SIGKILL at the end of --grace, 128+9.
    std::fs::remove_file(&ready).unwrap();
    let ignore = format!(
        "trap '' TERM; touch {r}; while :; do sleep 0.1; done",
        r = ready.display()
    );
    let child = start(
        &[
            FILTER_OFF,
            "--grace",
            "1s",
            "--",
            "/bin/busybox",
            "sh",
            "-c",
            &ignore,
        ],
        &[],
    );
    let pid = pid1_of(&child);
    wait_until("the program to start", || ready.exists());
    kill(pid, "-TERM");
    let out = finish(child);
    assert_eq!(out.code, Some(137), "{}", out.stderr);
    assert!(
        out.stderr.contains("--grace"),
        "the warning names --grace: {}",
        out.stderr
    );
}

#[test]
fn arm64_probe_reads_the_status_socket_filter_off() {
    let socket = format!("pidguard-arm64-probe-{}", std::process::id());
    let child = start(
        &[
            FILTER_OFF,
            "--health-check",
            "exec:/bin/true",
            "--health-interval",
            "200ms",
            "--",
            "/bin/busybox",
            "sleep",
            "60",
        ],
        &[("PIDGUARD_STATUS_SOCKET", &socket)],
    );
    let pid = pid1_of(&child);
    // The aarch64 probe, run as Docker's HEALTHCHECK would (inside the container: the probe trusts
    // no other pidguard): healthy once the check passed.
    let probe = |name: &str| {
        in_container_of(pid, &arm64_pidguard())
            .arg("probe")
            .env("PIDGUARD_STATUS_SOCKET", name)
            .output()
            .unwrap()
    };
    let mut last = None;
    wait_until("the aarch64 probe to report healthy", || {
        let out = probe(&socket);
        let ok = out.status.success();
        last = Some(out);
        ok
    });
    let out = probe(&format!("{socket}-nobody"));
    assert!(!out.status.success(), "no PID 1 behind that name: {out:?}");
    drop(child);
}

#[test]
fn arm64_restarts_on_failure_then_gives_up_filter_off() {
    let dir = scratch("arm64-restart");
    let runs = dir.join("runs");
    let script = format!("echo run >> {}; exit 4", runs.display());
    let out = run(&[
        FILTER_OFF,
        "--restart",
        "on-failure",
        "--restart-delay",
        "50ms",
        "--restart-limit",
        "2/1m",
        "--",
        "/bin/busybox",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(
        out.code,
        Some(4),
        "the program's last status: {}",
        out.stderr
    );
    let n = read(&runs).lines().count();
    assert_eq!(n, 3, "the first run and 2 restarts: {}", out.stderr);
}

#[test]
fn arm64_audit_reports_from_inside_filter_off() {
    let bin = arm64_pidguard();
    let out = run(&[FILTER_OFF, "--", bin.to_str().unwrap(), "audit", "--json"]);
    let json = out.stdout.trim();
    assert!(
        json.starts_with("{\"version\":1,\"checks\":["),
        "{json}\n{}",
        out.stderr
    );
    // What pidguard did is seen from inside: no_new_privs on; the filter off, which is a failure.
    for (id, status) in [("no_new_privs", "pass"), ("seccomp", "fail")] {
        let at = json
            .find(&format!("\"id\":\"{id}\""))
            .unwrap_or_else(|| panic!("{id}: {json}"));
        let rest = &json[at..];
        assert!(
            rest.starts_with(&format!("\"id\":\"{id}\",\"status\":\"{status}\"")),
            "{id}: {rest}"
        );
    }
    assert_eq!(out.code, Some(1), "exit 1: a check fails: {}", out.stderr);
}

// ---------------------------------------------------------------------------------------------------
// The arm64 image under dockerd.

/// The top-level Dockerfile's `local-arm64` image, from a context holding the two binaries where
/// cargo writes them (the classic builder builds `local` on the way).
fn arm64_image() -> engine::Image {
    let ctx = engine::TempDir::new(&engine::suite().name("arm64-context"));
    for (triple, bin) in [
        ("aarch64-unknown-linux-gnu", arm64_pidguard()),
        ("x86_64-unknown-linux-gnu", common::pidguard()),
    ] {
        let dest = ctx.path().join("target").join(triple).join("release");
        std::fs::create_dir_all(&dest).unwrap();
        std::fs::copy(bin, dest.join("pidguard")).unwrap();
    }
    engine::Image::build(
        "arm64",
        &repo().join("Dockerfile"),
        ctx.path(),
        &["--target", "local-arm64", "--platform", "linux/arm64"],
    )
}

#[test]
fn arm64_image_from_the_dockerfile_runs_under_qemu_and_says_arm64_filter_off() {
    if engine::start(|| None).is_none() {
        return;
    }
    let image = arm64_image();
    let platform = engine::docker_ok(&[
        "image",
        "inspect",
        "-f",
        "{{.Os}}/{{.Architecture}} {{.Config.User}}",
        &image.tag,
    ]);
    assert_eq!(platform.trim(), "linux/arm64 65532:65532");
    // As an init: PID 1 is the aarch64 pidguard (under qemu), already non-root, running a program.
    let out = engine::docker(&[
        "run",
        "--rm",
        "--platform",
        "linux/arm64",
        "--network",
        "none",
        &image.tag,
        "--seccomp",
        "unconfined",
        "--",
        "/pidguard",
        "--version",
    ]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(", aarch64-unknown-linux-gnu)"),
        "{}",
        out.stdout
    );
    // With the filter on, qemu refuses it and pidguard says what to do (exit 125).
    if emulated() {
        let out = engine::docker(&[
            "run",
            "--rm",
            "--platform",
            "linux/arm64",
            "--network",
            "none",
            &image.tag,
            "--",
            "/pidguard",
            "--version",
        ]);
        assert_eq!(out.code, Some(125), "{}", out.stderr);
        assert!(
            out.stderr.contains("--seccomp unconfined"),
            "{}",
            out.stderr
        );
    }
}

/// Debian's static arm64 busybox, which tests/run.sh unpacks under target/ (the example's app).
fn arm64_busybox() -> Option<PathBuf> {
    let path = repo().join("target/arm64-busybox/bin/busybox");
    if path.exists() {
        return Some(path);
    }
    engine::skip_or_fail(
        "the arm64 distroless example",
        &format!(
            "{} is missing: tests/run.sh fetches Debian's busybox-static:arm64 there",
            path.display()
        ),
    );
    None
}

/// The "done when": examples/distroless built for linux/arm64 from the arm64 pidguard image
/// and an arm64 app, run by dockerd under qemu (the filter off, as qemu-user cannot install one:
/// `PIDGUARD_SECCOMP=unconfined`), serves as non-root, Docker's HEALTHCHECK (the aarch64 `pidguard
/// probe`) calls it healthy, and `docker stop` ends it through the forwarded SIGTERM.
#[test]
fn arm64_distroless_example_runs_healthy_under_dockerd_filter_off() {
    if engine::start(|| None).is_none() {
        return;
    }
    let Some(busybox) = arm64_busybox() else {
        return;
    };
    let pidguard = arm64_image();
    let app = engine::busybox_image_of(&busybox, &["--platform", "linux/arm64"]);
    let dir = repo().join("examples/distroless");
    let example = engine::Image::build(
        "arm64-distroless",
        &dir.join("Dockerfile"),
        &dir,
        &[
            "--platform",
            "linux/arm64",
            "--build-arg",
            &format!("PIDGUARD_IMAGE={}", pidguard.tag),
            "--build-arg",
            &format!("APP_IMAGE={}", app.tag),
        ],
    );
    let arch = engine::docker_ok(&[
        "image",
        "inspect",
        "-f",
        "{{.Os}}/{{.Architecture}}",
        &example.tag,
    ]);
    assert_eq!(arch.trim(), "linux/arm64");
    let c = engine::Container::start(
        &example,
        &[
            "--platform",
            "linux/arm64",
            "--health-interval",
            "1s",
            "-e",
            "PIDGUARD_HEALTH_INTERVAL=1s",
            "-e",
            "PIDGUARD_SECCOMP=unconfined",
        ],
        &[],
    );
    c.wait_health("healthy");
    let probe = c.exec(&["/pidguard", "probe", "http://127.0.0.1:8080/"]);
    assert_eq!(probe.code, Some(0), "the app serves: {}", probe.stderr);
    let version = c.exec(&["/pidguard", "--version"]);
    assert!(
        version.stdout.contains("aarch64-unknown-linux-gnu"),
        "{}",
        version.stdout
    );
    // The app runs as nonroot (65532), PID 1 too: read from /proc inside the container.
    let status = c.exec(&["/bin/busybox", "cat", "/proc/1/status"]);
    assert!(
        status
            .stdout
            .lines()
            .any(|l| l.starts_with("Uid:") && l.contains("65532")),
        "{}",
        status.stdout
    );
    engine::docker_ok(&["stop", &c.name]);
    assert_eq!(c.exit_code(), 143, "{:?}", c.logs());
}

// ---------------------------------------------------------------------------------------------------
// The release.

/// What `.ci/release` reads: a source tree as a tarball would hold it (no .git, no target/).
fn copy_sources(to: &Path) {
    for entry in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "rust-toolchain.toml",
        "src",
        ".ci",
    ] {
        let ok = Command::new("cp")
            .arg("-R")
            .arg(repo().join(entry))
            .arg(to)
            .status()
            .unwrap();
        assert!(ok.success(), "cp {entry}");
    }
}

/// Slow (two cold release builds of both targets): one test, which CI runs with the rest.
#[test]
fn release_builds_the_same_bytes_in_two_directories() {
    let base = std::env::temp_dir().join(format!("pidguard-release-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let dirs = [base.join("a"), base.join("second/deeper")];
    let mut sums = Vec::new();
    for dir in &dirs {
        std::fs::create_dir_all(dir).unwrap();
        copy_sources(dir);
        let mut cmd = Command::new("bash");
        cmd.arg(".ci/release")
            .current_dir(dir)
            .env("RELEASE_COMMIT", "0123456789ab")
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET_DIR")
            .env_remove("RUSTFLAGS");
        let out = engine::run_within(cmd, Duration::from_secs(1800)).expect("a release build ends");
        assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
        sums.push(std::fs::read_to_string(dir.join("target/dist/SHA256SUMS")).unwrap());
    }
    assert_eq!(sums[0], sums[1], "two builds, the same bytes");
    assert_eq!(sums[0].lines().count(), 2, "{}", sums[0]);
    let dist = dirs[1].join("target/dist");
    // The checksums check, as a user would run them.
    let check = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&dist)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    for (file, triple) in [
        ("pidguard-linux-amd64", "x86_64-unknown-linux-gnu"),
        ("pidguard-linux-arm64", "aarch64-unknown-linux-gnu"),
    ] {
        let path = dist.join(file);
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.len() <= 1_835_008, "{file}: {} bytes", bytes.len());
        // No path of the build machine: neither source directory nor cargo's home.
        for dir in &dirs {
            let needle = dir.to_str().unwrap().as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{file} names {dir:?}"
            );
        }
        let home = std::env::var("HOME").unwrap_or_default();
        let cargo_home = format!("{home}/.cargo");
        assert!(
            !bytes
                .windows(cargo_home.len())
                .any(|w| w == cargo_home.as_bytes()),
            "{file} names {cargo_home}"
        );
        let out = Command::new(&path).arg("--version").output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!(
                "pidguard {} (commit 0123456789ab, {triple})",
                env!("CARGO_PKG_VERSION")
            )
        );
    }
    let _ = std::fs::remove_dir_all(&base);
}
