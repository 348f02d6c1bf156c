//! `pidguard audit` as a user runs it: on this machine, as the program of pidguard as PID 1, and in
//! real Docker containers started with a hardened and with a careless set of options.
//!
//! The verdicts themselves are unit-tested in src/audit/ on recorded /proc and cgroup files; this
//! suite checks that the live gathering sees what the engine really did. The hardened container must
//! pass every check; the careless one (`--privileged`, root, a writable root, the Docker socket, a
//! `DB_PASSWORD` variable) must fail the checks that name those mistakes, and the variable's value
//! must never appear in anything the audit prints.
//!
//! The Docker scenarios use tests/docker.rs's harness (tests/docker/engine.rs): nothing is pulled,
//! the image is built `FROM scratch` out of the static pidguard and /bin/busybox, every container runs
//! with `--network none`, every name carries this run's prefix (`pidguard-docker-<pid>-`) and a Drop
//! guard removes it; leftovers of a killed run are swept at the next start. Without an engine the
//! scenarios fail under CI=true and skip loudly otherwise. tests/setup-docker.sh starts an engine.
//!
//! `--privileged` needs every capability in the engine's own bounding set; a sandboxed engine may
//! lack some (runc then fails with "unable to apply caps"). There the careless container gets the
//! same signs one by one: `--cap-add ALL` minus what the engine lacks, seccomp, AppArmor and the
//! /proc masks off, and the host's /sys and /dev.

mod common;
#[path = "docker/engine.rs"]
mod engine;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use engine::{Container, Out, SharedHold, SharedImage, Suite, TempDir};
use pidguard::seccomp::json::{self, Value};

/// The secret the careless scenarios put in the environment; it must never be printed.
const SECRET: &str = "hunter2-secret-value";

/// `pidguard ARGS` with only PATH and `env` in its environment, so that the report does not depend
/// on what the machine's environment holds.
fn pidguard(args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(common::pidguard());
    cmd.args(args).env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    engine::run_bounded(cmd, &format!("pidguard {}", args.join(" ")))
}

// ---------------------------------------------------------------------------------------------------
// Reading the report.

/// One check of the `--json` document.
#[derive(Debug, Clone)]
struct Verdict {
    status: String,
    observed: String,
    fix: String,
}

/// Parses the `--json` document: the checks by id, in order, and the summary.
fn report(stdout: &str) -> (Vec<(String, Verdict)>, HashMap<String, u64>) {
    let doc = json::parse(stdout.as_bytes()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    let Value::Object(top) = doc else {
        panic!("not an object: {stdout}")
    };
    let get = |k: &str| top.iter().find(|(n, _)| n == k).map(|(_, v)| v).unwrap();
    assert_eq!(get("version").as_u64(), Some(1));
    let Value::Array(items) = get("checks") else {
        panic!("checks is not an array")
    };
    let string = |o: &[(String, Value)], k: &str| match o.iter().find(|(n, _)| n == k) {
        Some((_, Value::String(s))) => s.clone(),
        other => panic!("{k}: {other:?}"),
    };
    let checks = items
        .iter()
        .map(|item| {
            let Value::Object(o) = item else {
                panic!("a check is not an object")
            };
            assert_eq!(o.len(), 4, "{o:?}");
            (
                string(o, "id"),
                Verdict {
                    status: string(o, "status"),
                    observed: string(o, "observed"),
                    fix: string(o, "fix"),
                },
            )
        })
        .collect::<Vec<_>>();
    let Value::Object(summary) = get("summary") else {
        panic!("summary is not an object")
    };
    let summary = summary
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    (checks, summary)
}

/// The report's checks by id, after checking that it is complete, ordered and consistent.
fn verdicts(stdout: &str) -> HashMap<String, Verdict> {
    let (checks, summary) = report(stdout);
    let ids: Vec<&str> = checks.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, pidguard::audit::IDS, "every check, in order");
    for status in ["pass", "warn", "fail"] {
        let n = checks.iter().filter(|(_, v)| v.status == status).count() as u64;
        assert_eq!(summary.get(status), Some(&n), "summary of {status}");
    }
    for (id, v) in &checks {
        assert!(
            !v.observed.is_empty() && !v.observed.contains('\n'),
            "{id}: {v:?}"
        );
        assert_eq!(
            v.status == "pass",
            v.fix.is_empty(),
            "{id}: a fix exactly for findings: {v:?}"
        );
    }
    checks.into_iter().collect()
}

fn expect(v: &HashMap<String, Verdict>, want: &[(&str, &str)], scenario: &str) {
    for (id, status) in want {
        let got = &v[*id];
        assert_eq!(got.status, *status, "{scenario}: {id}: {got:?}");
    }
}

fn assert_no_secret(out: &Out) {
    assert!(
        !out.stdout.contains(SECRET) && !out.stderr.contains(SECRET),
        "the secret value was printed: {out:?}"
    );
}

// ---------------------------------------------------------------------------------------------------
// On this machine.

#[test]
fn usage_errors_exit_125_and_help_exits_0() {
    let out = pidguard(&["audit", "--bogus"], &[]);
    assert_eq!(out.code, Some(125), "{out:?}");
    assert!(out.stderr.contains("--bogus"), "{out:?}");
    assert!(out.stdout.is_empty());
    let out = pidguard(&["audit", "--help"], &[]);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.contains("--strict"), "{out:?}");
}

#[test]
fn audit_of_this_machine_reports_every_check_and_names_secrets_without_values() {
    let env = [("DB_PASSWORD", SECRET), ("API_TOKEN", SECRET)];
    let json_out = pidguard(&["audit", "--json"], &env);
    // As root on a host (or in the CI's container) some checks fail: exit 1, not a crash.
    assert!(matches!(json_out.code, Some(0 | 1)), "{json_out:?}");
    assert_no_secret(&json_out);
    let v = verdicts(&json_out.stdout);
    let secrets = &v["env.secrets"];
    assert_eq!(secrets.status, "fail", "{secrets:?}");
    assert_eq!(
        secrets.observed,
        "secret-like variable names: API_TOKEN, DB_PASSWORD (values not shown)"
    );
    let fails = v.values().filter(|c| c.status == "fail").count();
    assert_eq!(json_out.code, Some(if fails > 0 { 1 } else { 0 }));

    let text = pidguard(&["audit"], &env);
    assert_eq!(text.code, json_out.code);
    assert_no_secret(&text);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        pidguard::audit::IDS.len() + 1,
        "{}",
        text.stdout
    );
    for (line, id) in lines.iter().zip(pidguard::audit::IDS) {
        let mut words = line.split_whitespace();
        let status = words.next().unwrap();
        assert!(matches!(status, "PASS" | "WARN" | "FAIL"), "{line}");
        assert_eq!(words.next(), Some(*id), "{line}");
        assert_eq!(status == "PASS", !line.contains("; fix: "), "{line}");
    }
    assert!(lines.last().unwrap().starts_with("summary: "));
    let strict = pidguard(&["audit", "--strict"], &env);
    assert_eq!(strict.code, Some(1), "a secret fails, strict or not");
}

/// `pidguard --user 65532 -- pidguard audit` under `unshare`: the program sees what pidguard gave
/// it, and PID 1 is pidguard. Needs root (to switch users) and unshare.
#[test]
fn audit_as_the_program_of_pidguard_sees_its_hardening() {
    if !nix_is_root() {
        let _ = writeln!(
            std::io::stderr(),
            "\n*** not root: pidguard-as-PID-1 audit not run ***\n"
        );
        return;
    }
    let bin = common::pidguard();
    let out = common::run(&["--", bin.to_str().unwrap(), "audit", "--json"]);
    assert!(
        matches!(out.code, Some(0 | 1)),
        "{}{}",
        out.stdout,
        out.stderr
    );
    let v = verdicts(&out.stdout);
    expect(
        &v,
        &[
            ("identity.uid", "pass"),
            ("identity.userns", "pass"),
            ("caps.effective", "pass"),
            ("caps.permitted", "pass"),
            ("caps.inheritable", "pass"),
            ("caps.ambient", "pass"),
            ("caps.bounding", "pass"),
            ("no_new_privs", "pass"),
            ("seccomp", "pass"),
            ("privileged.caps", "pass"),
            ("limits.core", "pass"),
            ("pid1.pidguard", "pass"),
            ("pid1.hardening", "pass"),
        ],
        "pidguard as PID 1 on this machine",
    );
    assert!(
        v["pid1.hardening"].observed.contains("uid 65532"),
        "{:?}",
        v["pid1.hardening"]
    );
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|u| u.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}
// ---------------------------------------------------------------------------------------------------
// Docker: the image (the engine, names, guards and leftovers are tests/docker/engine.rs).

/// What, besides an engine, the Docker scenarios need: static binaries for the FROM scratch image,
/// and the engine's socket for the careless scenarios to mount.
fn missing_prerequisite() -> Option<String> {
    engine::not_static(&[common::pidguard(), PathBuf::from("/bin/busybox")]).or_else(|| {
        (!Path::new("/var/run/docker.sock").exists()).then(|| {
            "the careless scenario mounts /var/run/docker.sock, which does not exist".into()
        })
    })
}

/// `FROM scratch`: /pidguard, busybox with sh and sleep, the test image's /etc/passwd and
/// /etc/group (a `nonroot` user 65532), and a world-writable /tmp.
fn build_image(suite: &Suite) -> String {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let tag = suite.name("image");
    let ctx = TempDir::new(&suite.name("context"));
    let rootfs = ctx.path().join("rootfs");
    for dir in ["bin", "etc", "tmp"] {
        std::fs::create_dir_all(rootfs.join(dir)).unwrap();
    }
    std::fs::set_permissions(rootfs.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let etc = engine::tests_dir().join("docker/rootfs/etc");
    for (from, to) in [
        (etc.join("passwd"), "etc/passwd"),
        (etc.join("group"), "etc/group"),
        (common::pidguard(), "pidguard"),
        (PathBuf::from("/bin/busybox"), "bin/busybox"),
    ] {
        std::fs::copy(&from, rootfs.join(to))
            .unwrap_or_else(|e| panic!("copy {} into the image: {e}", from.display()));
    }
    for applet in ["sh", "sleep"] {
        symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    let dockerfile = ctx.path().join("Dockerfile");
    std::fs::write(&dockerfile, "FROM scratch\nCOPY rootfs/ /\n").unwrap();
    engine::build(&tag, &dockerfile, ctx.path(), &[]);
    tag
}

/// A scenario's hold on the image, or `None` when the scenarios cannot run here (a failure under
/// CI=true, see [`engine::start`]). Built once, removed when the last scenario using it ends.
fn image() -> Option<SharedHold> {
    static IMAGE: SharedImage = SharedImage::new();
    let suite = engine::start(missing_prerequisite)?;
    Some(IMAGE.hold(|| build_image(suite)))
}

const HARDENED: &[&str] = &[
    "--read-only",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--user",
    "65532",
    "--memory",
    "64m",
    "--pids-limit",
    "64",
    "--tmpfs",
    "/tmp:rw,noexec,nosuid",
];

/// `--privileged`, or where the engine cannot grant it, its signs one by one.
fn privileged_opts(image: &SharedHold) -> &'static [String] {
    static OPTS: OnceLock<Vec<String>> = OnceLock::new();
    OPTS.get_or_init(|| {
        let (_c, out) = Container::run(image, &["--privileged"], &["/bin/sh", "-c", "exit 0"]);
        if out.code == Some(0) {
            return vec!["--privileged".into()];
        }
        assert!(
            out.stderr.contains("apply caps") || out.stderr.contains("operation not permitted"),
            "--privileged failed for another reason than the engine's own capabilities: {out:?}"
        );
        let mut opts: Vec<String> = ["--cap-add", "ALL"].map(String::from).to_vec();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let bounding = pidguard::audit::parse::status(&status).unwrap().cap_bnd;
        let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(40);
        for cap in caps::all() {
            let bit = cap.index() as u32;
            if bit <= last && bounding & (1 << bit) == 0 {
                opts.extend(["--cap-drop".to_string(), cap.to_string()]);
            }
        }
        for o in [
            "--security-opt",
            "seccomp=unconfined",
            "--security-opt",
            "apparmor=unconfined",
            "--security-opt",
            "systempaths=unconfined",
            "-v",
            "/sys:/sys",
            "-v",
            "/dev:/dev",
        ] {
            opts.push(o.into());
        }
        let _ = writeln!(
            std::io::stderr(),
            "the engine cannot grant --privileged here ({}); the careless scenarios use {}",
            out.stderr.lines().next().unwrap_or("").trim(),
            opts.join(" ")
        );
        opts
    })
}

fn careless_opts(image: &SharedHold) -> Vec<String> {
    let mut opts = privileged_opts(image).to_vec();
    opts.extend(
        [
            "-v",
            "/var/run/docker.sock:/var/run/docker.sock",
            "-e",
            &format!("DB_PASSWORD={SECRET}"),
        ]
        .map(String::from),
    );
    opts
}

/// Every check passes; the one WARN allowed is `lsm.label` when the host kernel has no AppArmor or
/// SELinux at all, which no container option can change.
fn assert_all_pass(v: &HashMap<String, Verdict>, scenario: &str) {
    for (id, c) in v {
        let host_has_no_lsm =
            id == "lsm.label" && c.status == "warn" && c.observed.contains("no such LSM is active");
        assert!(
            c.status == "pass" || host_has_no_lsm,
            "{scenario}: {id}: {c:?}"
        );
    }
}

#[test]
fn hardened_container_passes_every_check() {
    let Some(image) = image() else { return };
    let mut args = vec![
        "/pidguard",
        "--user",
        "65532",
        "--",
        "/pidguard",
        "audit",
        "--json",
    ];
    let (_c, out) = Container::run(&image, HARDENED, &args);
    assert_eq!(out.code, Some(0), "{out:?}");
    let v = verdicts(&out.stdout);
    assert_all_pass(&v, "hardened, audit as the program");
    assert_eq!(
        v["limits.memory"].observed.split(" (").next(),
        Some("memory limit 64 MiB")
    );
    assert!(
        v["limits.pids"].observed.starts_with("pids limit 64 tasks"),
        "{:?}",
        v["limits.pids"]
    );
    assert_eq!(v["pid1.pidguard"].observed, "PID 1 is pidguard");
    assert!(
        v["fs.tmp"].observed.starts_with("writable, noexec"),
        "{:?}",
        v["fs.tmp"]
    );

    // The text report agrees.
    args.pop();
    let (_c, text) = Container::run(&image, HARDENED, &args);
    assert_eq!(text.code, Some(0), "{text:?}");
    assert!(!text.stdout.contains("FAIL"), "{}", text.stdout);
}

#[test]
fn docker_exec_audit_of_a_hardened_container_finds_nothing_to_fail() {
    let Some(image) = image() else { return };
    let c = Container::start(
        &image,
        HARDENED,
        &["/pidguard", "--user", "65532", "--", "/bin/sleep", "600"],
    );
    let out = c.exec(&["/pidguard", "audit", "--json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let v = verdicts(&out.stdout);
    for (id, c) in &v {
        assert_ne!(c.status, "fail", "{id}: {c:?}");
    }
    expect(
        &v,
        &[
            ("identity.uid", "pass"),
            ("caps.bounding", "pass"),
            ("no_new_privs", "pass"),
            ("seccomp", "pass"),
            ("pid1.pidguard", "pass"),
            ("pid1.hardening", "pass"),
        ],
        "docker exec into the hardened container",
    );
}

#[test]
fn careless_container_fails_what_was_done_wrong_and_never_prints_the_secret() {
    let Some(image) = image() else { return };
    let opts = careless_opts(&image);
    let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
    let (_c, out) = Container::run(
        &image,
        &opts,
        &[
            "/pidguard",
            "--allow-root",
            "--",
            "/pidguard",
            "audit",
            "--json",
        ],
    );
    assert_no_secret(&out);
    assert_eq!(out.code, Some(1), "{out:?}");
    let v = verdicts(&out.stdout);
    expect(
        &v,
        &[
            ("identity.uid", "fail"),
            ("identity.userns", "fail"),
            ("fs.rootfs", "warn"),
            ("fs.tmp", "warn"),
            ("mounts.engine_socket", "fail"),
            ("mounts.proc", "fail"),
            ("mounts.sys", "fail"),
            ("privileged.devices", "fail"),
            ("env.secrets", "fail"),
            ("limits.memory", "warn"),
            ("limits.pids", "warn"),
            // pidguard took these away from the program, --privileged or not.
            ("caps.effective", "pass"),
            ("caps.bounding", "pass"),
            ("privileged.caps", "pass"),
            ("no_new_privs", "pass"),
            ("seccomp", "pass"),
            ("pid1.pidguard", "pass"),
            ("pid1.hardening", "warn"),
        ],
        "careless, audit as the program",
    );
    assert!(
        v["env.secrets"].observed.contains("DB_PASSWORD"),
        "{:?}",
        v["env.secrets"]
    );
    assert!(
        v["mounts.engine_socket"]
            .observed
            .contains("/var/run/docker.sock"),
        "{:?}",
        v["mounts.engine_socket"]
    );
}

#[test]
fn docker_exec_audit_of_a_careless_container_sees_the_full_privilege() {
    let Some(image) = image() else { return };
    let opts = careless_opts(&image);
    let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
    let c = Container::start(
        &image,
        &opts,
        &["/pidguard", "--allow-root", "--", "/bin/sleep", "600"],
    );
    let json_out = c.exec(&["/pidguard", "audit", "--json"]);
    assert_no_secret(&json_out);
    assert_eq!(json_out.code, Some(1), "{json_out:?}");
    let v = verdicts(&json_out.stdout);
    expect(
        &v,
        &[
            ("identity.uid", "fail"),
            ("caps.effective", "fail"),
            ("caps.permitted", "fail"),
            ("caps.bounding", "fail"),
            ("no_new_privs", "fail"),
            ("seccomp", "fail"),
            ("privileged.caps", "fail"),
            ("privileged.devices", "fail"),
            ("mounts.engine_socket", "fail"),
            ("mounts.proc", "fail"),
            ("mounts.sys", "fail"),
            ("env.secrets", "fail"),
            ("pid1.pidguard", "pass"),
        ],
        "docker exec into the careless container",
    );
    let text = c.exec(&["/pidguard", "audit", "--strict"]);
    assert_no_secret(&text);
    assert_eq!(text.code, Some(1));
    assert!(
        text.stdout
            .lines()
            .any(|l| l.starts_with("FAIL  env.secrets") && l.contains("DB_PASSWORD")),
        "{}",
        text.stdout
    );
}
