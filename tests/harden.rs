//! Hardening as the program and PID 1 see it: identity, capabilities, no_new_privs, rlimits, umask,
//! and attacks that must fail. Every claim is read from /proc of the running program and of PID 1.

mod common;

use common::*;
use std::collections::HashMap;
use std::path::Path;

/// Runs `pidguard ARGS -- sh -c SCRIPT` as PID 1 with no PIDGUARD_USER default (the test says who).
fn run_as(args: &[&str], script: &str) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--", "/bin/sh", "-c", script]);
    Pid1::start_env(&all, &[("PIDGUARD_USER", "")]).wait()
}

/// /proc/PID/status of the program (`self`) and of PID 1, and both limits files, as seen by the program.
struct Seen {
    program: HashMap<String, String>,
    pid1: HashMap<String, String>,
    program_limits: String,
    pid1_limits: String,
    out: Output,
}

const DUMP: &str = "cat /proc/self/status; echo ===; cat /proc/1/status; echo ===; cat /proc/self/limits; echo ===; cat /proc/1/limits";

fn seen(args: &[&str]) -> Seen {
    let out = run_as(args, DUMP);
    let parts: Vec<&str> = out.stdout.split("===\n").collect();
    assert_eq!(parts.len(), 4, "code {:?} stderr {}", out.code, out.stderr);
    Seen {
        program: status_map(parts[0]),
        pid1: status_map(parts[1]),
        program_limits: parts[2].to_string(),
        pid1_limits: parts[3].to_string(),
        out,
    }
}

fn limit_line<'a>(limits: &'a str, name: &str) -> Vec<&'a str> {
    let line = limits
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("{name} in {limits}"));
    line[name.len()..].split_whitespace().take(2).collect()
}

const NO_CAPS: &[(&str, &str)] = &[
    ("CapInh", "0000000000000000"),
    ("CapPrm", "0000000000000000"),
    ("CapEff", "0000000000000000"),
    ("CapBnd", "0000000000000000"),
    ("CapAmb", "0000000000000000"),
    ("NoNewPrivs", "1"),
];

#[test]
fn root_is_refused_by_default_and_the_program_never_starts() {
    let dir = scratch("root");
    let marker = dir.join("started");
    let out = run_as(&[], &format!("touch {}", marker.display()));
    assert_eq!(out.code, Some(125));
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("refusing to run the program as root")
            && out.stderr.contains("--user 65532")
    );
    assert!(!marker.exists());
    // Explicit uid 0 is refused the same way.
    let out = run_as(&["--user", "0"], "true");
    assert_eq!(out.code, Some(125));
}

#[test]
fn nonroot_program_and_pid1_hold_nothing() {
    let s = seen(&["--user", "65532"]);
    assert_eq!(s.out.code, Some(0), "{}", s.out.stderr);
    let ids = [
        ("Uid", "65532 65532 65532 65532"),
        ("Gid", "65532 65532 65532 65532"),
        ("Groups", "65532"),
    ];
    for (who, st) in [("program", &s.program), ("PID 1", &s.pid1)] {
        assert_fields(who, st, &ids);
        assert_fields(who, st, NO_CAPS);
    }
    assert_eq!(s.pid1.get("Name").map(String::as_str), Some("pidguard"));
    assert_eq!(
        s.pid1.get("Threads").map(String::as_str),
        Some("1"),
        "every thread of PID 1 is covered"
    );
    for limits in [&s.program_limits, &s.pid1_limits] {
        assert_eq!(
            limit_line(limits, "Max core file size"),
            ["0", "0"],
            "core=0 by default"
        );
    }
}

#[test]
fn names_come_from_the_image_passwd_and_group_files() {
    let out = run_as(
        &["--user", "nobody"],
        "id -u; id -g; id -G; echo $HOME $USER $LOGNAME",
    );
    assert_eq!(
        out.stdout, "65534\n65534\n65534\n/nonexistent nobody nobody\n",
        "{}",
        out.stderr
    );
    let out = run_as(&["--user", "nobody:daemon"], "id -u; id -g");
    assert_eq!(out.stdout, "65534\n1\n", "{}", out.stderr);
    let out = run_as(&["--user", "no-such-user"], "true");
    assert_eq!(out.code, Some(125));
    assert!(
        out.stderr.contains("no-such-user") && out.stderr.contains("/etc/passwd"),
        "{}",
        out.stderr
    );
    let out = run_as(&["--user", "65532:no-such-group"], "true");
    assert_eq!(out.code, Some(125));
    assert!(out.stderr.contains("/etc/group"), "{}", out.stderr);
}

#[test]
fn numeric_ids_without_entries_never_fall_back_to_gid_0() {
    // Kubernetes' random non-root uid: no passwd entry.
    let out = run_as(&["--user", "1000770000"], "id -u; id -g; echo $HOME $USER");
    assert_eq!(
        out.stdout, "1000770000\n1000770000\n/ 1000770000\n",
        "{}",
        out.stderr
    );
    // OpenShift style: gid 0 only when written out.
    let out = run_as(&["--user", "1234:0"], "id -u; id -g");
    assert_eq!(out.stdout, "1234\n0\n", "{}", out.stderr);
}

#[test]
fn supplementary_groups_are_exact() {
    let out = run_as(
        &["--user", "65532", "--groups", "10,daemon,20"],
        "grep ^Groups /proc/self/status",
    );
    assert_eq!(
        out.stdout.split_whitespace().collect::<Vec<_>>(),
        ["Groups:", "1", "10", "20"],
        "{}",
        out.stderr
    );
    let out = run_as(
        &["--user", "65532", "--groups", ""],
        "grep ^Groups /proc/self/status",
    );
    assert_eq!(out.stdout.trim(), "Groups:", "{}", out.stderr);
}

#[test]
fn cap_add_keeps_just_that_capability_and_binds_port_80() {
    // A private network namespace: binding :80 touches nothing outside.
    let bind = "/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind((\"0.0.0.0\", 80)); print(\"bound\")'";
    let script = format!("{bind}; {DUMP}");
    let run = |extra: &[&str]| {
        let mut args = vec!["--net", "--pid", "--fork", "--mount-proc", "--kill-child"];
        let pg = pidguard();
        args.push(pg.to_str().unwrap());
        args.extend(extra);
        args.extend(["--", "/bin/sh", "-c", &script]);
        let o = std::process::Command::new("unshare")
            .args(&args)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&["--user", "65532", "--cap-add", "net_bind_service"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("bound\n"), "{stdout}{stderr}");
    let parts: Vec<&str> = stdout
        .trim_start_matches("bound\n")
        .split("===\n")
        .collect();
    let want = [
        ("CapInh", "0000000000000400"),
        ("CapPrm", "0000000000000400"),
        ("CapEff", "0000000000000400"),
        ("CapBnd", "0000000000000400"),
        ("CapAmb", "0000000000000400"),
        ("NoNewPrivs", "1"),
    ];
    assert_fields("program", &status_map(parts[0]), &want);
    assert_fields("PID 1", &status_map(parts[1]), &want);

    let (_, stdout, stderr) = run(&["--user", "65532"]);
    assert!(
        !stdout.contains("bound") && stderr.contains("Permission denied"),
        "{stdout}{stderr}"
    );
}

#[test]
fn allow_root_still_gets_no_capabilities() {
    let s = seen(&["--allow-root"]);
    assert_eq!(s.out.code, Some(0), "{}", s.out.stderr);
    for (who, st) in [("program", &s.program), ("PID 1", &s.pid1)] {
        assert_fields(who, st, &[("Uid", "0 0 0 0")]);
        assert_fields(who, st, NO_CAPS);
    }
    // Securebits are locked: NOROOT (uid 0 gains nothing on exec), setuid fixups, keep-caps, ambient.
    let out = run_as(
        &["--allow-root"],
        "/usr/sbin/capsh --print | grep -i '^Securebits'",
    );
    // 0xeb = NOROOT | NOROOT_LOCKED | NO_SETUID_FIXUP_LOCKED | KEEP_CAPS_LOCKED | NO_CAP_AMBIENT_RAISE
    // | NO_CAP_AMBIENT_RAISE_LOCKED (include/uapi/linux/securebits.h).
    assert!(
        out.stdout.starts_with("Securebits: 0353/0xeb/"),
        "{}",
        out.stdout
    );
}

#[test]
fn rlimits_and_umask_reach_program_and_pid1() {
    let s = seen(&[
        "--user",
        "65532",
        "--rlimit",
        "nofile=1024:2048",
        "--rlimit",
        "core=unlimited",
        "--umask",
        "0027",
    ]);
    assert_eq!(s.out.code, Some(0), "{}", s.out.stderr);
    for limits in [&s.program_limits, &s.pid1_limits] {
        assert_eq!(limit_line(limits, "Max open files"), ["1024", "2048"]);
        assert_eq!(
            limit_line(limits, "Max core file size"),
            ["unlimited", "unlimited"]
        );
    }
    assert_eq!(s.program.get("Umask").map(String::as_str), Some("0027"));
    let out = run_as(&["--user", "65532", "--rlimit", "nofile=10:5"], "true");
    assert_eq!(out.code, Some(125));
    assert!(out.stderr.contains("nofile"), "{}", out.stderr);
}

/// A setuid-root copy of the `ids` fixture in a scratch directory. (busybox is no good here: it drops
/// setuid privileges by itself for most applets, so it would pass with or without no_new_privs.)
fn setuid_ids(dir: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("ids");
    std::fs::copy(example("ids"), &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o4755)).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn setuid_root_binary_does_not_make_the_program_root() {
    let dir = scratch("setuid");
    let ids = setuid_ids(&dir);
    let out = run_as(&["--user", "65532"], &ids);
    assert_eq!(
        out.stdout.trim(),
        "uid=65532 euid=65532",
        "no_new_privs: {}",
        out.stderr
    );
    // Proof that the attack is real: without no_new_privs the same binary becomes root.
    let out = run_as(
        &[
            "--user",
            "65532",
            "--allow-new-privs",
            "--seccomp",
            "unconfined",
        ],
        &ids,
    );
    assert_eq!(out.stdout.trim(), "uid=65532 euid=0", "{}", out.stderr);
    assert!(out.stderr.contains("no_new_privs is off"), "{}", out.stderr);
}

#[test]
fn the_program_cannot_raise_a_capability() {
    let out = run_as(
        &["--user", "65532"],
        "setpriv --inh-caps +net_raw --ambient-caps +net_raw true && echo RAISED",
    );
    assert!(!out.stdout.contains("RAISED"), "{}", out.stdout);
    let out = run_as(
        &["--user", "65532"],
        "/usr/sbin/capsh --caps=cap_net_raw+eip -- -c true && echo RAISED",
    );
    assert!(!out.stdout.contains("RAISED"), "{}", out.stdout);
    let out = run_as(
        &["--allow-root"],
        "/usr/sbin/capsh --caps=cap_sys_admin+eip -- -c true && echo RAISED",
    );
    assert!(!out.stdout.contains("RAISED"), "{}", out.stdout);
}

#[test]
fn the_program_cannot_ptrace_or_read_pid1() {
    let script = "cat /proc/1/environ >/dev/null 2>&1 && echo READ; \
                  /usr/bin/python3 -c 'import ctypes,os; l=ctypes.CDLL(None,use_errno=True); \
                  r=l.ptrace(16,1,0,0); print(\"attach\", r, os.strerror(ctypes.get_errno()))'";
    let out = run_as(&["--user", "65532"], script);
    assert!(!out.stdout.contains("READ"), "{}", out.stdout);
    assert!(
        out.stdout.contains("attach -1 Operation not permitted"),
        "{}{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn no_descriptor_of_pidguard_reaches_the_program() {
    // Started with exactly 0, 1, 2 open (the test runner itself inherits cargo's jobserver pipes), and
    // optionally one more inherited descriptor, 7, which must pass through (socket activation, log pipes).
    let ls_fds = |extra_fd: bool| {
        let py = format!(
            "import os,sys; os.closerange(3, 65536); {} os.execv(sys.argv[1], sys.argv[1:])",
            if extra_fd {
                "fd=os.open('/dev/null', os.O_RDONLY); os.dup2(fd, 7); os.close(fd);"
            } else {
                ""
            }
        );
        let out = std::process::Command::new("/usr/bin/python3")
            .args(["-c", &py])
            .arg(pidguard())
            .args(["--user", "65532", "--", "ls", "/proc/self/fd"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    // ls itself opens one descriptor (3) to read the directory.
    assert_eq!(ls_fds(false), ["0", "1", "2", "3"]);
    assert_eq!(ls_fds(true), ["0", "1", "2", "3", "7"]);
}

#[test]
fn already_the_target_user_needs_no_privilege() {
    // pidguard started as uid 65532 with no capabilities at all (docker run --user 65532 --cap-drop ALL).
    let pg = pidguard();
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid",
            "65532",
            "--regid",
            "65532",
            "--clear-groups",
            "--inh-caps=-all",
            "--",
        ])
        .arg(&pg)
        .args([
            "--user",
            "65532",
            "--",
            "/bin/sh",
            "-c",
            "id -u; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("65532\n") && stdout.contains("NoNewPrivs:\t1"),
        "{stdout}"
    );
}

#[test]
fn switching_without_cap_setuid_is_a_clear_error() {
    // Root, but without CAP_SETUID (docker run --cap-drop ALL) and asked for another user.
    let pg = pidguard();
    let cmd = format!("exec {} --user 65532 -- /bin/true", pg.display());
    let out = std::process::Command::new("/usr/sbin/capsh")
        .args(["--drop=cap_setuid", "--", "-c", &cmd])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("CAP_SETUID") && stderr.lines().count() == 1,
        "{stderr}"
    );
    let out = std::process::Command::new("/usr/sbin/capsh")
        .args([
            "--drop=cap_net_bind_service",
            "--",
            "-c",
            &format!(
                "exec {} --user 65532 --cap-add NET_BIND_SERVICE -- /bin/true",
                pg.display()
            ),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("cannot keep CAP_NET_BIND_SERVICE"),
        "{stderr}"
    );
}

/// pidguard started by `setpriv` as `uid:gid` with no groups and no capabilities, as a non-root
/// container starts (docker run --user, OpenShift, Kubernetes runAsUser).
fn as_started_by(uid: &str, gid: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--net", "--kill-child"])
        .args(["setpriv", "--reuid", uid, "--regid", gid, "--clear-groups"])
        .args(["--inh-caps=-all", "--"])
        .arg(pidguard())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_random_nonroot_uid_with_gid_0_runs_as_it_is_and_says_so() {
    // The image says --user 65532; OpenShift runs it as docker run --user 1000680000:0 would.
    let out = as_started_by(
        "1000680000",
        "0",
        &[
            "--user",
            "65532",
            "--log-level",
            "info",
            "--",
            "/bin/sh",
            "-c",
            "id -u; id -g; echo $HOME $USER $LOGNAME; grep -E '^(Uid|Gid|CapEff|NoNewPrivs)' /proc/1/status",
        ],
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let map = status_map(&stdout);
    assert!(
        stdout.starts_with("1000680000\n0\n/ 1000680000 1000680000\n"),
        "{stdout}"
    );
    assert_fields(
        "PID 1",
        &map,
        &[
            ("Uid", "1000680000 1000680000 1000680000 1000680000"),
            ("Gid", "0 0 0 0"),
            ("CapEff", "0000000000000000"),
            ("NoNewPrivs", "1"),
        ],
    );
    assert!(
        stderr.contains("info: running as uid 1000680000 gid 0")
            && stderr
                .contains("--user 65532 (uid 65532 gid 65532) needs CAP_SETUID and CAP_SETGID"),
        "{stderr}"
    );
    // At the default level the kept identity is not a warning: nothing on stderr.
    let out = as_started_by("1000680000", "0", &["--user", "65532", "--", "/bin/true"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn user_65532_with_dockers_gid_0_needs_no_privilege() {
    // USER 65532 in a Dockerfile without /etc/passwd: Docker starts it with gid 0.
    let out = as_started_by(
        "65532",
        "0",
        &["--user", "65532", "--", "/bin/sh", "-c", "id -u; id -g"],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "65532\n0\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
    // --groups asks for something this start cannot do: still an error.
    let out = as_started_by(
        "65532",
        "0",
        &["--user", "65532", "--groups", "10", "--", "/bin/true"],
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("cannot set --groups: pidguard lacks CAP_SETGID")
    );
}

#[test]
fn rlimits_that_would_break_pid1_are_refused_before_the_program_starts() {
    let dir = scratch("rlimit-refused");
    let marker = dir.join("started");
    let touch = format!("touch {}", marker.display());
    for (limit, fix) in [
        ("nofile=1", "write nofile="),
        ("nofile=0", "write nofile="),
        ("nproc=0", "write nproc=2 or more"),
    ] {
        let out = run_as(&["--user", "65532", "--rlimit", limit], &touch);
        assert_eq!(out.code, Some(125), "{limit}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{limit}: {}", out.stderr);
        assert!(
            out.stderr.contains("too low for PID 1") && out.stderr.contains(fix),
            "{limit}: {}",
            out.stderr
        );
        assert!(!marker.exists(), "{limit}: the program started");
    }
    // With an app check beside the program, nproc needs one more.
    let out = run_as(
        &[
            "--user",
            "65532",
            "--health-check",
            "exec:/bin/true",
            "--rlimit",
            "nproc=2",
        ],
        &touch,
    );
    assert_eq!(out.code, Some(125), "{}", out.stderr);
    assert!(
        out.stderr.contains("write nproc=3 or more"),
        "{}",
        out.stderr
    );
    // The minimum the message names works, for PID 1 and the program.
    let min: String = run_as(&["--user", "65532", "--rlimit", "nofile=1"], "true")
        .stderr
        .rsplit("write nofile=")
        .next()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let s = seen(&["--user", "65532", "--rlimit", &format!("nofile={min}")]);
    assert_eq!(s.out.code, Some(0), "{}", s.out.stderr);
    for limits in [&s.program_limits, &s.pid1_limits] {
        assert_eq!(
            limit_line(limits, "Max open files"),
            [min.as_str(), min.as_str()]
        );
    }
}

#[test]
fn per_process_limits_bind_the_program_and_its_checks_not_pid1() {
    let s = seen(&[
        "--user",
        "65532",
        "--rlimit",
        "cpu=30",
        "--rlimit",
        "as=1073741824",
        "--rlimit",
        "fsize=1048576",
    ]);
    assert_eq!(s.out.code, Some(0), "{}", s.out.stderr);
    assert_eq!(limit_line(&s.program_limits, "Max cpu time"), ["30", "30"]);
    assert_eq!(
        limit_line(&s.program_limits, "Max address space"),
        ["1073741824", "1073741824"]
    );
    assert_eq!(
        limit_line(&s.program_limits, "Max file size"),
        ["1048576", "1048576"]
    );
    for name in ["Max cpu time", "Max address space", "Max file size"] {
        assert_eq!(
            limit_line(&s.pid1_limits, name),
            ["unlimited", "unlimited"],
            "{name}"
        );
    }
    // An address-space limit far below what PID 1 uses does not touch PID 1: the program is the
    // one that cannot map its memory.
    let out = run_as(&["--user", "65532", "--rlimit", "as=1048576"], "exit 0");
    assert_ne!(out.code, Some(0), "a shell does not start in 1 MiB");
    assert!(
        !out.stderr.contains("pidguard: error: poll"),
        "PID 1 is unharmed: {}",
        out.stderr
    );
}

#[test]
fn setuid_without_kill_is_refused_and_with_kill_the_stop_stays_graceful() {
    let out = run_as(
        &["--allow-root", "--cap-add", "CHOWN,SETUID,SETGID"],
        "true",
    );
    assert_eq!(out.code, Some(125), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("--cap-add SETUID") && out.stderr.contains("add KILL"),
        "{}",
        out.stderr
    );
    // With KILL kept, PID 1 (root, no other capability) still reaches a program that switched
    // to another uid: SIGTERM is delivered and the program exits on it, long before the grace.
    let dir = scratch("setuid-kill");
    let ready = dir.join("ready");
    let py = format!(
        "import os,time; os.setgid(65532); os.setuid(65532); open('{}','w').close(); time.sleep(60)",
        ready.display()
    );
    let pid1 = Pid1::start_env(
        &[
            "--allow-root",
            "--cap-add",
            "SETUID,SETGID,KILL",
            "--grace",
            "30s",
            "--",
            "/usr/bin/python3",
            "-c",
            &py,
        ],
        &[("PIDGUARD_USER", "")],
    );
    wait_until("the program to switch user", || ready.exists());
    pid1.signal(libc::SIGTERM);
    let out = pid1.wait();
    assert_eq!(out.code, Some(128 + libc::SIGTERM), "{}", out.stderr);
    assert!(!out.stderr.contains("SIGKILL"), "{}", out.stderr);
}
