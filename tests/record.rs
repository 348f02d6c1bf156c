//! `--seccomp-record`: a least-privilege profile from one run, as a user makes and uses it. Record a
//! command as PID 1, enforce the profile on the same command (it works) and on what it never did (EPERM),
//! record threads and descendants, load the profile in dockerd, merge recordings, and try to hurt PID 1
//! through the recording channel.

mod common;
#[path = "docker/engine.rs"]
mod engine;

use common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

const BUSYBOX: &str = "/usr/bin/busybox";
const PYTHON: &str = "/usr/bin/python3";
const LS_CAT: &str = "ls / >/dev/null; cat /etc/hostname";

/// The names a profile allows in any case, from its JSON text (parsed by pidguard's own subcommand,
/// which fails on anything that is not a valid profile).
fn allowed_names(profile: &Path) -> Vec<String> {
    let text = read(profile);
    assert!(
        text.contains("\"defaultAction\": \"SCMP_ACT_ERRNO\""),
        "{text}"
    );
    let mut names = Vec::new();
    let mut in_names = false;
    let mut allow_block: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("\"names\"") {
            in_names = true;
            allow_block.clear();
        } else if in_names && line.starts_with(']') {
            in_names = false;
        } else if in_names {
            allow_block.push(line.trim_matches(|c| c == '"' || c == ',').to_string());
        } else if line.starts_with("\"action\": \"SCMP_ACT_ALLOW\"") {
            names.append(&mut allow_block);
        }
    }
    names.sort();
    names.dedup();
    names
}

/// Records `program` as PID 1 (user 65532) into DIR/NAME.json; returns the path and pidguard's output.
fn record(dir: &Path, name: &str, extra: &[&str], program: &[&str]) -> (PathBuf, Output) {
    let file = dir.join(format!("{name}.json"));
    let file_arg = file.to_str().unwrap().to_string();
    let mut args = vec!["--seccomp-record", file_arg.as_str()];
    args.extend(extra);
    args.push("--");
    args.extend(program);
    let out = run(&args);
    assert_eq!(out.code, Some(0), "recording {program:?}: {}", out.stderr);
    assert!(
        out.stderr
            .contains("seccomp record: the recorded profile allows")
            && out
                .stderr
                .contains(&format!("written to {}", file.display())),
        "{}",
        out.stderr
    );
    (file, out)
}

fn enforce(profile: &Path, program: &[&str]) -> Output {
    let mut args = vec!["--seccomp", profile.to_str().unwrap(), "--"];
    args.extend(program);
    run(&args)
}

#[test]
fn a_recorded_busybox_command_works_under_its_profile_and_nothing_else_does() {
    let dir = scratch("record-busybox");
    let (profile, rec) = record(&dir, "ls-cat", &[], &[BUSYBOX, "sh", "-c", LS_CAT]);
    let hostname = read(Path::new("/etc/hostname"));
    assert_eq!(rec.stdout, hostname);
    let names = allowed_names(&profile);
    for needed in ["execve", "getdents64", "openat", "read", "write", "wait4"] {
        assert!(names.iter().any(|n| n == needed), "{needed}: {names:?}");
    }
    for never in ["mkdir", "mkdirat", "ptrace", "mount", "unshare", "bpf"] {
        assert!(!names.iter().any(|n| n == never), "{never}: {names:?}");
    }
    assert!(names.len() < 120, "{} names: {names:?}", names.len());

    let out = enforce(&profile, &[BUSYBOX, "sh", "-c", LS_CAT]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, hostname);

    // What it never did: mkdir, and an AF_INET socket (busybox nc).
    let target = dir.join("never-made");
    let script = format!(
        "{LS_CAT}; mkdir {}; echo mkdir=$?; {BUSYBOX} nc 127.0.0.1 9 </dev/null; echo nc=$?",
        target.display()
    );
    let out = enforce(&profile, &[BUSYBOX, "sh", "-c", &script]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains("mkdir=1") && out.stdout.contains("nc=1"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stderr.matches("Operation not permitted").count(),
        2,
        "{}",
        out.stderr
    );
    assert!(!target.exists());
    // The same under the default filter: both get further than EPERM.
    let out = run(&[BUSYBOX, "sh", "-c", &format!("mkdir {}", target.display())]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn threads_and_descendants_are_recorded() {
    let dir = scratch("record-threads");
    // getsid only in a thread; sync only in a grandchild exec'd by a forked child.
    let script = format!(
        "import os, threading\n\
         t = threading.Thread(target=lambda: os.getsid(0)); t.start(); t.join()\n\
         pid = os.fork()\n\
         if pid == 0:\n    os.execv('{BUSYBOX}', ['busybox', 'sh', '-c', 'busybox sync; echo grandchild'])\n\
         os.waitpid(pid, 0)\n\
         print('done')\n"
    );
    let (profile, rec) = record(&dir, "threads", &[], &[PYTHON, "-c", &script]);
    assert_eq!(rec.stdout, "grandchild\ndone\n", "{}", rec.stderr);
    let names = allowed_names(&profile);
    for used in ["getsid", "sync", "clone", "wait4"] {
        assert!(names.iter().any(|n| n == used), "{used}: {names:?}");
    }
    // And the whole thing runs under what was recorded.
    let out = enforce(&profile, &[PYTHON, "-c", &script]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "grandchild\ndone\n");
}

fn pidguard_cmd(args: &[&str]) -> Output {
    Pid1::plain(args).wait()
}

#[test]
fn merge_is_associative_and_idempotent_and_refuses_bad_input_with_125() {
    let dir = scratch("record-merge");
    let (a, _) = record(&dir, "a", &[], &[BUSYBOX, "sh", "-c", LS_CAT]);
    let (b, _) = record(&dir, "b", &[], &[BUSYBOX, "uname", "-a"]);
    let (c, _) = record(
        &dir,
        "c",
        &["--health-listen", "127.0.0.1:0"],
        &[BUSYBOX, "sh", "-c", "sync; busybox nproc"],
    );
    let merge = |files: &[&Path]| -> String {
        let mut args = vec!["seccomp", "merge"];
        args.extend(files.iter().map(|f| f.to_str().unwrap()));
        let out = pidguard_cmd(&args);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        out.stdout
    };
    let save = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let ab = save("ab.json", &merge(&[&a, &b]));
    let bc = save("bc.json", &merge(&[&b, &c]));
    assert_eq!(merge(&[&ab, &c]), merge(&[&a, &bc]));
    assert_eq!(merge(&[&a, &b, &c]), merge(&[&c, &a, &b]));
    // Idempotent: a recording merged with itself is itself, byte for byte.
    assert_eq!(merge(&[&a, &a]), read(&a));
    assert_eq!(merge(&[&ab, &ab, &a]), read(&ab));
    // The union has each part's syscalls, and the merged profile runs both commands.
    let all = save("abc.json", &merge(&[&a, &b, &c]));
    let names = allowed_names(&all);
    for n in ["getdents64", "uname", "sync", "sched_getaffinity"] {
        assert!(names.iter().any(|x| x == n), "{n}: {names:?}");
    }
    for program in [
        &[BUSYBOX, "sh", "-c", LS_CAT][..],
        &[BUSYBOX, "uname", "-a"],
    ] {
        let out = enforce(&all, program);
        assert_eq!(out.code, Some(0), "{program:?}: {}", out.stderr);
    }

    // Bad and hostile input: one line naming the file, 125, nothing on stdout.
    let fifo = dir.join("fifo.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let huge = save("huge.json", &" ".repeat(1024 * 1024 + 1));
    let deep = save("deep.json", &"[".repeat(200_000));
    let junk = save(
        "junk.json",
        "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": 7}]}",
    );
    let allow_all = save(
        "allow.json",
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": []}",
    );
    // Two different denials for one syscall: no runtime gives that a meaning.
    let mixed = save(
        "mixed.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["acct"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["acct"], "action": "SCMP_ACT_KILL"}]}"#,
    );
    let missing = dir.join("missing.json");
    for (bad, why) in [
        (&fifo, "not a regular file"),
        (&huge, "larger than"),
        (&deep, "deep.json"),
        (&junk, "junk.json"),
        (&allow_all, "defaultAction"),
        (&mixed, "does not compile"),
        (&missing, "cannot read"),
    ] {
        let out = pidguard_cmd(&[
            "seccomp",
            "merge",
            a.to_str().unwrap(),
            bad.to_str().unwrap(),
        ]);
        assert_eq!(out.code, Some(125), "{bad:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{bad:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{bad:?}: {}", out.stderr);
        assert!(out.stderr.contains(why), "{bad:?}: {}", out.stderr);
    }
    let out = pidguard_cmd(&["seccomp", "merge"]);
    assert_eq!(out.code, Some(125));
}

#[test]
fn bad_recording_flags_are_refused_before_the_program_starts() {
    let dir = scratch("record-flags");
    let marker = dir.join("ran");
    let touch = format!("touch {}", marker.display());
    for (args, why) in [
        (
            vec!["--seccomp", "unconfined", "--seccomp-record", "/tmp/x.json"],
            "needs a filter",
        ),
        (vec!["--seccomp-record", ""], "--seccomp-record"),
        (
            vec!["--seccomp-record", "/nonexistent-dir/p.json"],
            "cannot create /nonexistent-dir/p.json",
        ),
    ] {
        let mut all = args.clone();
        all.extend(["--", BUSYBOX, "sh", "-c", &touch]);
        let out = run(&all);
        assert_eq!(out.code, Some(125), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(out.stderr.contains(why), "{args:?}: {}", out.stderr);
        assert!(!marker.exists());
    }
}

fn kib(field: &str) -> u64 {
    field.trim_end_matches(" kB").trim().parse().unwrap()
}

/// A program that floods the recording channel: 100k ioctls with distinct requests, every socket
/// family, a series of distinct plain syscalls, then a million getpgrp, all notified one by one.
const FLOOD: &str = r#"import ctypes, os, platform
libc = ctypes.CDLL(None, use_errno=True)
nr = {
    'x86_64': dict(ioctl=16, socket=41, getpgrp=111, plain=[39, 102, 104, 107, 108, 124, 63, 99, 100, 24, 95]),
    'aarch64': dict(ioctl=29, socket=198, getpgrp=155, plain=[172, 174, 175, 176, 177, 156, 160, 179, 153, 124, 166]),
}[platform.machine()]
for req in range(100000):
    libc.syscall(nr['ioctl'], -1, req)
for fam in range(64):
    fd = libc.syscall(nr['socket'], fam, 1, 0)
    if fd >= 0:
        os.close(fd)
for n in nr['plain']:
    libc.syscall(n, 0, 0, 0)
open('READY', 'w').close()
for i in range(1000000):
    libc.syscall(nr['getpgrp'])
"#;

#[test]
fn a_flood_through_the_recording_channel_leaves_pid1_responsive_and_bounded() {
    let dir = scratch("record-flood");
    let profile = dir.join("flood.json");
    let socket = format!("pidguard-record-flood-{}", std::process::id());
    let program = format!(
        "cd {}; ({BUSYBOX} sleep 1 &); exec {PYTHON} -c \"$FLOOD\"",
        dir.display()
    );
    let pid1 = Pid1::start_env(
        &[
            "--seccomp-record",
            profile.to_str().unwrap(),
            "--",
            BUSYBOX,
            "sh",
            "-c",
            &program,
        ],
        &[("PIDGUARD_STATUS_SOCKET", &socket), ("FLOOD", FLOOD)],
    );
    let host_pid = pid1.pid();
    wait_until("the flood to start its million", || {
        dir.join("READY").exists()
    });
    let rss_before = kib(&pid1.status_field("VmRSS"));

    // While the flood runs: PID 1 answers its probe, reaps the orphan left by the subshell.
    for _ in 0..5 {
        // From inside pidguard's container: the probe trusts no other.
        let out = in_container_of(host_pid, &pidguard())
            .args(["probe", "--timeout", "10s"])
            .env("PIDGUARD_STATUS_SOCKET", &socket)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_until("the orphan to be reaped", || {
        zombies_in_namespace(host_pid).is_empty()
    });
    let rss_during = kib(&pid1.status_field("VmRSS"));
    assert!(
        rss_during <= rss_before + 1024,
        "PID 1 grew from {rss_before} to {rss_during} kB"
    );

    // SIGTERM reaches the flooding program at once, and the profile is written.
    pid1.signal(libc::SIGTERM);
    let out = pid1.wait();
    assert_eq!(out.code, Some(143), "{}", out.stderr);
    assert!(out.stderr.contains("written to"), "{}", out.stderr);
    let names = allowed_names(&profile);
    assert!(names.iter().any(|n| n == "getpgrp"), "{names:?}");
    // Every ioctl case and every family Docker allows, nothing more: bounded by the base profile.
    let text = read(&profile);
    assert!(text.len() < 64 * 1024, "{} bytes", text.len());
    assert!(
        !text.contains("\"value\": 40,"),
        "AF_VSOCK is never allowed"
    );
    assert!(
        out.stderr.lines().count() < 10,
        "PID 1 logged a line per notification? {}",
        out.stderr
    );
}

#[test]
fn a_read_only_container_fetches_the_recording_through_the_status_socket_only() {
    let dir = scratch("record-fetch");
    let out_file = dir.join("fetched.json");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    // Fetched from outside the program, as `docker exec ... pidguard seccomp recorded` does: the
    // program itself cannot reach PID 1's abstract sockets (the Landlock scope every child gets).
    let pid1 = Pid1::start(&[
        "--seccomp-record",
        "-",
        "--health-listen",
        &listen,
        "--",
        BUSYBOX,
        "sh",
        "-c",
        &format!("{BUSYBOX} sync; sleep 1000"),
    ]);
    let host_pid = pid1.pid();
    // The socket name the test harness gave this pidguard (root may read a non-dumpable environ).
    let environ = std::fs::read(format!("/proc/{host_pid}/environ")).unwrap();
    let socket = environ
        .split(|&b| b == 0)
        .filter_map(|e| std::str::from_utf8(e).ok())
        .find_map(|e| e.strip_prefix("PIDGUARD_STATUS_SOCKET="))
        .unwrap()
        .to_string();
    let t = host_pid.to_string();
    wait_until(
        "the exec'd fetch to return the recording with sync in it",
        || {
            let out = std::process::Command::new("nsenter")
                .args(["-t", &t, "-m", "-p", "-n", "--"])
                .arg(pidguard())
                .args(["seccomp", "recorded"])
                .env("PIDGUARD_STATUS_SOCKET", &socket)
                .output()
                .unwrap();
            std::fs::write(&out_file, &out.stdout).unwrap();
            out.status.success()
                && read(&out_file).contains("\"defaultAction\": \"SCMP_ACT_ERRNO\"")
                && allowed_names(&out_file).iter().any(|n| n == "sync")
        },
    );
    let names = allowed_names(&out_file);
    assert!(names.iter().any(|n| n == "sync"), "{names:?}");
    // Not on the network endpoint.
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(&listen).unwrap();
    tcp.write_all(b"GET /seccomp/recorded HTTP/1.0\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    pid1.signal(libc::SIGTERM);
    let out = pid1.wait();
    assert!(
        out.stderr.contains("no file (--seccomp-record -)"),
        "{}",
        out.stderr
    );
}

#[test]
fn pidguard_itself_runs_under_a_recorded_profile() {
    // The profile is for the whole container (Docker and Kubernetes apply it to pidguard too):
    // an outer pidguard enforces it on an inner one, which starts, serves its probe and stops.
    let dir = scratch("record-self");
    let (profile, _) = record(&dir, "self", &[], &[BUSYBOX, "sh", "-c", LS_CAT]);
    let inner_socket = format!("pidguard-record-inner-{}", std::process::id());
    let script = format!(
        "PIDGUARD_STATUS_SOCKET={inner_socket} {} --user 65532 -- {BUSYBOX} sh -c 'sleep 1; {} probe \
         && echo probed; {LS_CAT}'",
        pidguard().display(),
        pidguard().display()
    );
    let out = run(&[
        "--seccomp",
        profile.to_str().unwrap(),
        "--",
        BUSYBOX,
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.starts_with("probed\n"),
        "{} {}",
        out.stdout,
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------------------
// dockerd.

fn record_image(suite: &engine::Suite) -> engine::Image {
    let ctx = engine::TempDir::new(&suite.name("record-context"));
    let rootfs = ctx.0.join("rootfs");
    for d in ["bin", "etc", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(rootfs.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let src = engine::tests_dir().join("docker");
    for (from, to) in [
        (src.join("rootfs/etc/passwd"), "etc/passwd"),
        (src.join("rootfs/etc/group"), "etc/group"),
        (pidguard(), "pidguard"),
        (PathBuf::from("/bin/busybox"), "bin/busybox"),
    ] {
        std::fs::copy(&from, rootfs.join(to)).unwrap();
    }
    engine::Image::build("record", &src.join("Dockerfile"), &ctx.0, &[])
}

#[test]
fn the_recorded_profile_loads_in_dockerd_and_the_command_works_there() {
    let Some(suite) =
        engine::start(|| engine::not_static(&[pidguard(), PathBuf::from("/bin/busybox")]))
    else {
        return;
    };
    let dir = scratch("record-docker");
    let (profile, _) = record(&dir, "docker", &[], &["/bin/busybox", "sh", "-c", LS_CAT]);
    let image = record_image(suite);
    let seccomp = format!("seccomp={}", profile.display());
    let (_c, out) = engine::Container::run(
        &image,
        &["--security-opt", &seccomp, "--hostname", "recorded"],
        &["--user", "65532", "--", "/bin/busybox", "sh", "-c", LS_CAT],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "recorded\n");
    let (_c, out) = engine::Container::run(
        &image,
        &["--security-opt", &seccomp],
        &[
            "--user",
            "65532",
            "--",
            "/bin/busybox",
            "sh",
            "-c",
            "mkdir /tmp/d",
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("Operation not permitted"),
        "{}",
        out.stderr
    );
}
