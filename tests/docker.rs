//! pidguard as the ENTRYPOINT of real Docker containers: what a user sees through `docker run`, `stop`,
//! `kill`, `exec`, `logs` and `inspect`, and what the program reads from /proc inside the container.
//!
//! The other suites run pidguard as PID 1 under `unshare`; this one checks that the same promises hold
//! when the runtime is Docker, which brings its own capability sets, user switching, terminals,
//! seccomp filter, HEALTHCHECK and `docker stop` timeout. Nothing can be pulled and no network may be
//! created, so every image is built `FROM scratch` out of local files (tests/docker/: Dockerfiles and
//! the image's /etc) plus the static binaries of this build (pidguard, the fixtures, /bin/busybox),
//! and every container runs with `--network none`. tests/setup-docker.sh starts an engine that has no
//! bridge.
//!
//! Without an engine (or without the static build) the suite fails under CI (CI=true) and skips
//! loudly otherwise. Every container and image carries the run's prefix (`pidguard-docker-<pid>-`) and
//! is removed by a Drop guard, also when a test fails; leftovers of a run that was killed are swept at
//! the next start (tests/docker/engine.rs, shared with tests/examples.rs). Every wait is bounded and
//! no test asserts how long something took: where the question is "who did it", the evidence is a
//! log line or an exit status, never the clock.
//!
//! Adding a scenario: `let Some(image) = base_image() else { return };`, then `Container::run` (to the
//! end) or `Container::start` (detached) and the helpers in engine.rs. A variant image is one more
//! `tests/docker/NAME.Dockerfile` that starts with `ARG BASE` / `FROM ${BASE}`, built with
//! `Image::derived`, as the health scenarios do for their HEALTHCHECK.

mod common;
#[path = "docker/engine.rs"]
mod engine;

use common::USER;
use common::{assert_fields, status_map};
use engine::{
    Container, Image, SharedHold, SharedImage, Stat, Suite, Tagged, TempDir, assert_seccomp,
    docker_ok, eventually, parse_stat, processes, tests_dir,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Fixtures (tests/fixtures/) copied into the image's /bin.
const FIXTURES: &[&str] = &[
    "orphans",
    "sigrecord",
    "exit_with",
    "ignore_term",
    "grandchildren",
    "ids",
];
/// busybox applets the scripts call by name; /bin/NAME is a symlink to /bin/busybox.
const APPLETS: &[&str] = &[
    "sh", "cat", "id", "sleep", "mkfifo", "grep", "ls", "touch", "rm", "echo",
];

/// The suite, or `None` when it cannot run here (see [`engine::start`]).
fn suite() -> Option<&'static Suite> {
    engine::start(missing_prerequisite)
}

/// What, besides an engine, stops the suite from running here: static binaries to put in the images.
fn missing_prerequisite() -> Option<String> {
    let mut binaries = vec![common::pidguard(), PathBuf::from("/bin/busybox")];
    binaries.extend(FIXTURES.iter().map(|f| PathBuf::from(common::example(f))));
    engine::not_static(&binaries)
}

// ---------------------------------------------------------------------------------------------------
// Images.

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
    engine::build(&tag, &src.join("Dockerfile"), &ctx.0, &[]);
    tag
}

/// The base image is built once and shared by the scenarios running at the same time; the last one
/// to finish removes it (a later scenario builds it again).
static BASE: SharedImage = SharedImage::new();

/// One scenario's hold on the base image: `ENTRYPOINT ["/pidguard"]`, no USER.
type BaseImage = SharedHold;

/// The base image, or `None` when the suite cannot run here (see [`suite`]).
fn base_image() -> Option<BaseImage> {
    let suite = suite()?;
    Some(BASE.hold(|| build_base(suite)))
}

impl Image {
    /// An image built `FROM` the base image by tests/docker/NAME.Dockerfile; removed on drop. Keep
    /// it declared after the [`BaseImage`] it derives from, so that it is dropped first.
    fn derived(base: &BaseImage, name: &str) -> Image {
        let empty = TempDir::new(&engine::suite().name("context"));
        let dockerfile = tests_dir().join(format!("docker/{name}.Dockerfile"));
        Image::build(
            name,
            &dockerfile,
            &empty.0,
            &["--build-arg", &format!("BASE={}", base.tag)],
        )
    }
}

// ---------------------------------------------------------------------------------------------------
// Reading /proc inside the container.

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
        logs.stderr.contains("grace period of 2s is over")
            && logs
                .stderr
                .contains("sending SIGKILL to every remaining process"),
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

/// A shell command that leaves an orphan behind: a child shell that outlives it, then appends its own
/// /proc stat line (which names its parent) to `file` and exits. No comma: it fits in `exec:`.
fn leave_an_orphan(file: &str) -> String {
    format!("sh -c 'sleep 0.3; cat /proc/$$/stat >> {file}' & exit 0")
}

#[test]
fn orphans_left_by_health_checks_are_reaped() {
    let Some(image) = base_image() else { return };
    // Both kinds of health check leave an orphan each time they run: pidguard's own app check (a
    // child of PID 1) and Docker's HEALTHCHECK (a `docker exec`, whose parent is outside the
    // container). Either orphan is re-parented to PID 1, which must reap it.
    let app_check = format!("exec:/bin/sh,-c,{}", leave_an_orphan("/tmp/app-orphans"));
    let docker_check = leave_an_orphan("/tmp/docker-orphans");
    let c = Container::start(
        &image,
        &["--health-cmd", &docker_check, "--health-interval", "1s"],
        &[
            "--user",
            USER,
            "--health-check",
            &app_check,
            "--health-interval",
            "1s",
            "--",
            "/bin/sleep",
            "1000",
        ],
    );
    for file in ["/tmp/app-orphans", "/tmp/docker-orphans"] {
        let seen = eventually(
            &format!("three orphans in {file}"),
            || c.exec(&["cat", file]).stdout,
            |s| s.lines().count() >= 3,
        );
        for orphan in seen.lines().map(|l| parse_stat(l).expect(l)) {
            assert_eq!(
                orphan.ppid, 1,
                "{file}: re-parented to pidguard: {orphan:?}"
            );
        }
    }
    // Unreaped, they would pile up as zombies (one more every second); reaped, there are moments
    // with none at all.
    eventually(
        "a moment with no zombie in the container",
        || processes(&c, &["/bin/sh"]),
        |all| !all.is_empty() && all.iter().all(|p| p.state != "Z"),
    );
    assert_eq!(c.inspect("{{.State.Running}}"), "true");
}

// ---------------------------------------------------------------------------------------------------
// Scenarios: health as Docker sees it.

/// The HEALTHCHECK scenario's web server: busybox httpd on 127.0.0.1:8080 serving /tmp/www, which
/// starts empty (every request answers 404) until the test puts an index.html there.
const WEB_SERVER: &[&str] = &[
    "/bin/sh",
    "-c",
    "mkdir -p /tmp/www && exec /bin/busybox httpd -f -p 8080 -h /tmp/www",
];

/// The exit codes of the health probes Docker ran so far, oldest first (Docker keeps the last 5).
fn probe_exit_codes(c: &Container) -> Vec<String> {
    c.inspect("{{range .State.Health.Log}}{{.ExitCode}} {{end}}")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn docker_health_goes_starting_healthy_unhealthy_healthy_with_the_app() {
    let Some(base) = base_image() else { return };
    // HEALTHCHECK --interval=1s CMD ["/pidguard", "probe"], with a start period.
    let image = Image::derived(&base, "health");
    let mut args = vec![
        "--user",
        USER,
        "--health-check",
        "http://127.0.0.1:8080/",
        "--health-interval",
        "1s",
        "--health-retries",
        "1",
        "--",
    ];
    args.extend(WEB_SERVER);
    let c = Container::start(&image, &[], &args);

    // The app answers 404: pidguard's check fails, so `pidguard probe` does too, and during the start
    // period Docker keeps saying "starting".
    eventually(
        "two failed probes",
        || probe_exit_codes(&c),
        |codes| codes.iter().filter(|c| *c == "1").count() >= 2,
    );
    assert_eq!(c.health(), "starting", "{:?}", c.logs());

    let put_index = ["/bin/sh", "-c", "echo ok > /tmp/www/index.html"];
    assert_eq!(c.exec(&put_index).code, Some(0));
    c.wait_health("healthy");

    // The app stops answering 200: pidguard's check fails, /readyz says so, Docker follows.
    assert_eq!(c.exec(&["rm", "/tmp/www/index.html"]).code, Some(0));
    c.wait_health("unhealthy");
    let outputs = c.inspect("{{range .State.Health.Log}}{{.Output}}{{end}}");
    assert!(outputs.contains("unready"), "the probe says why: {outputs}");
    let logs = c.logs();
    assert!(
        logs.stderr.contains("program is unhealthy"),
        "pidguard says so too: {logs:?}"
    );

    assert_eq!(c.exec(&put_index).code, Some(0));
    c.wait_health("healthy");
    assert_eq!(
        c.inspect("{{.State.Running}}"),
        "true",
        "nothing was restarted"
    );
}

/// Issue 13's reproduction, in dockerd: container B joins A's network namespace (`--network
/// container:A`, as a pod's containers share one) with the default status socket names. B's check
/// fails, A's passes: `docker exec B /pidguard probe` must say B is unhealthy (it once reported A's
/// "healthy"), A's says healthy, and each `pidguard status` names its own program.
#[test]
fn two_containers_sharing_a_network_namespace_each_probe_their_own_pid1() {
    let Some(base) = base_image() else { return };
    let app = |check: &'static str| {
        vec![
            "--user",
            USER,
            "--health-check",
            check,
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
            "--",
            "/bin/sleep",
            "1000",
        ]
    };
    let a = Container::start(&base, &[], &app("exec:/bin/busybox,true"));
    let b = Container::named();
    let net = format!("container:{}", a.name);
    let mut args = vec![
        "run",
        "-d",
        "--name",
        &b.name,
        "--network",
        &net,
        base.tag(),
    ];
    let b_app = app("exec:/bin/busybox,false");
    args.extend(b_app.iter().copied());
    let out = engine::docker(&args);
    assert_eq!(out.code, Some(0), "docker run B: {}", out.stderr);
    let probe = |c: &Container| c.exec(&["/pidguard", "probe"]);
    eventually(
        "A healthy and B unhealthy, each by its own probe",
        || (probe(&a).code, probe(&b).code),
        |codes| *codes == (Some(0), Some(1)),
    );
    // Stays so: B's probe never borrows A's health.
    for _ in 0..5 {
        assert_eq!(probe(&b).code, Some(1), "{:?}", probe(&b));
        assert_eq!(probe(&a).code, Some(0), "{:?}", probe(&a));
    }
    let status_b = b.exec(&["/pidguard", "status"]);
    assert_eq!(status_b.code, Some(0), "{}", status_b.stderr);
    assert!(
        status_b.stdout.contains("check exec:/bin/busybox,false"),
        "{}",
        status_b.stdout
    );
    let status_a = a.exec(&["/pidguard", "status"]);
    assert!(
        status_a.stdout.contains("check exec:/bin/busybox,true"),
        "{}",
        status_a.stdout
    );
}

// ---------------------------------------------------------------------------------------------------
// Scenarios: supervision.

#[test]
fn on_unhealthy_restart_brings_the_app_back_to_healthy_without_a_docker_socket() {
    let Some(base) = base_image() else { return };
    let image = Image::derived(&base, "health");
    // The app writes its page when it starts; removing the page makes it answer 404.
    let app = "mkdir -p /tmp/www && echo ok > /tmp/www/index.html && exec /bin/busybox httpd -f -p 8080 -h /tmp/www";
    let c = Container::start(
        &image,
        &[],
        &[
            "--user",
            USER,
            "--health-check",
            "http://127.0.0.1:8080/",
            "--health-interval",
            "1s",
            "--health-retries",
            "2",
            "--on-unhealthy",
            "restart",
            "--grace",
            "2s",
            "--restart-delay",
            "100ms",
            "-v",
            "--",
            "/bin/sh",
            "-c",
            app,
        ],
    );
    c.wait_health("healthy");
    assert_eq!(c.exec(&["rm", "/tmp/www/index.html"]).code, Some(0));
    eventually(
        "pidguard restarted the app",
        || c.logs().stderr,
        |e| e.contains("restarted \"/bin/sh\""),
    );
    c.wait_health("healthy");
    let logs = c.logs().stderr;
    assert!(
        logs.contains("stopping the program to restart it (--on-unhealthy)"),
        "{logs}"
    );
    assert_eq!(c.inspect("{{.State.Running}}"), "true");
    assert_eq!(
        c.inspect("{{.RestartCount}}"),
        "0",
        "Docker restarted nothing"
    );
    assert_eq!(
        c.inspect("{{len .Mounts}}"),
        "0",
        "no Docker socket, no volume at all"
    );
}

#[test]
fn docker_stop_during_a_crash_loop_ends_at_once_with_pidguards_exit_code() {
    let Some(image) = base_image() else { return };
    let c = Container::start(
        &image,
        &[],
        &[
            "--user",
            USER,
            "--restart",
            "on-failure",
            "--restart-delay",
            "300ms",
            "--restart-limit",
            "1000/1m",
            "--grace",
            "2s",
            "-v",
            "--",
            "/bin/sh",
            "-c",
            "sleep 0.2; exit 1",
        ],
    );
    eventually(
        "a few restarts",
        || c.logs().stderr.matches("restarted ").count(),
        |n| *n >= 2,
    );
    // Docker would SIGKILL after 30 s; pidguard stops the loop itself, inside its 2 s grace.
    docker_ok(&["stop", "-t", "30", &c.name]);
    let code = c.exit_code();
    assert!(
        code == 1 || code == 143,
        "the program's last status (1) or its SIGTERM death (143), not 137: {code}"
    );
    let logs = c.logs().stderr;
    assert!(logs.contains("SIGTERM received"), "{logs}");
    assert!(!logs.contains("is over"), "nothing needed SIGKILL: {logs}");
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
        // Docker's own filter and pidguard's: both stay (filters stack, none can be removed).
        assert_seccomp(who, status, 2);
    }
    assert_fields("PID 1", &pid1, &[("Name", "pidguard"), ("Threads", "1")]);
}

#[test]
fn the_seccomp_filter_is_pidguards_own_when_docker_installs_none() {
    let Some(image) = base_image() else { return };
    let (_c, out) = Container::run(
        &image,
        &["--security-opt", "seccomp=unconfined"],
        &["--user", USER, "--", "/bin/sh", "-c", DUMP],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let (program, pid1) = dumped(&out.stdout);
    for (who, status) in [("program", &program), ("PID 1", &pid1)] {
        assert_seccomp(who, status, 1);
    }
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
    let guard = Container::named();
    let mut cmd = Command::new("python3");
    cmd.arg(tests_dir().join("pty_jobs.py")).args([
        "docker",
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
    let out = engine::run_bounded(cmd, "python3 tests/pty_jobs.py");
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert_eq!(guard.exit_code(), 7);
}
