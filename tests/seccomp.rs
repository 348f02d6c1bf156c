//! Seccomp as the program and PID 1 live with it: the default filter on by default, real programs
//! unchanged under it, the dangerous syscalls refused, profiles loaded from files (good and bad), the
//! export round trip, and the exported profile accepted by the real runc.

mod common;

use common::*;
use std::path::Path;

/// try_syscalls' expected line for each name under the default filter (shared with the unit test).
fn default_verdicts() -> Vec<&'static str> {
    include_str!("fixtures/default_filter.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// The syscall names of [`default_verdicts`].
fn default_names() -> Vec<&'static str> {
    let verdicts = default_verdicts();
    verdicts
        .iter()
        .map(|l| l.split(' ').next().unwrap())
        .collect()
}

/// try_syscalls' verdict for each name, as "NAME VERDICT" lines.
fn verdicts(args: &[&str], names: &[&str]) -> Vec<String> {
    let fixture = example("try_syscalls");
    let mut all: Vec<&str> = args.to_vec();
    all.push("--");
    all.push(&fixture);
    all.extend(names);
    let out = run(&all);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out.stdout.lines().map(String::from).collect()
}

#[test]
fn default_filter_refuses_the_dangerous_syscalls() {
    assert_eq!(verdicts(&[], &default_names()), default_verdicts());
    // Without the filter the same calls get past seccomp (and fail, if at all, for other reasons).
    let open = verdicts(&["--seccomp", "unconfined"], &["keyctl", "clone3"]);
    assert!(
        open.iter()
            .all(|l| !l.contains("EPERM(1)") && !l.contains("ENOSYS")),
        "{open:?}"
    );
}

#[test]
fn program_and_pid1_both_run_filtered() {
    let out = run(&[
        "sh",
        "-c",
        "grep -E '^Seccomp:' /proc/self/status /proc/1/status",
    ]);
    assert_eq!(
        out.stdout, "/proc/self/status:Seccomp:\t2\n/proc/1/status:Seccomp:\t2\n",
        "{}",
        out.stderr
    );
    let out = run(&[
        "--seccomp",
        "unconfined",
        "sh",
        "-c",
        "grep -E '^Seccomp:' /proc/self/status /proc/1/status",
    ]);
    // Both keep the guard (src/seccomp/guard.rs): only calls aimed at PID 1 are refused.
    assert_eq!(
        out.stdout,
        "/proc/self/status:Seccomp:\t2\n/proc/1/status:Seccomp:\t2\n"
    );
    assert!(out.stderr.contains("seccomp is off"), "{}", out.stderr);
}

#[test]
fn real_programs_work_unchanged() {
    let dir = scratch("real");
    let d = dir.display();
    let cases: Vec<(&str, String)> = vec![
        ("busybox sh", "/bin/busybox sh -c 'echo $((6*7))' | grep -qx 42".into()),
        (
            "python3 threads and subprocess",
            "/usr/bin/python3 -c 'import threading,subprocess; t=threading.Thread(target=lambda:None); t.start(); t.join(); \
             assert subprocess.run([\"/bin/true\"]).returncode == 0'"
                .into(),
        ),
        (
            "git",
            format!(
                "cd {d} && git init -q repo && cd repo && echo x > f && git add f && \
                 git -c user.name=t -c user.email=t@t commit -qm m && git log --oneline | grep -q m"
            ),
        ),
        ("static Rust program", format!("{} 0", example("exit_with"))),
    ];
    let mut cases = cases;
    if Path::new("/usr/bin/node").exists() {
        cases.push((
            "node worker and child_process",
            "/usr/bin/node -e \"const {Worker}=require('worker_threads'); new Worker('1',{eval:true}).on('exit',()=>{require('child_process').execFileSync('/bin/true')})\"".into(),
        ));
    }
    if Path::new("/usr/bin/java").exists() {
        cases.push(("java -version", "/usr/bin/java -Xshare:off -version".into()));
    }
    for (what, script) in cases {
        let out = Pid1::start_env(
            &["--", "/bin/sh", "-c", &script],
            &[("HOME", d.to_string().as_str())],
        )
        .wait();
        assert_eq!(
            out.code,
            Some(0),
            "{what} failed under the default filter: {}",
            out.stderr
        );
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn export_round_trip_behaves_like_default() {
    let dir = scratch("export");
    let out = Pid1::plain(&["seccomp", "export"]).wait();
    assert_eq!(out.code, Some(0));
    assert!(
        out.stdout.contains("\"defaultAction\": \"SCMP_ACT_ERRNO\""),
        "{}",
        &out.stdout[..200]
    );
    let file = write(&dir, "exported.json", &out.stdout);
    assert_eq!(
        verdicts(&["--seccomp", &file], &default_names()),
        default_verdicts()
    );
}

#[test]
fn profiles_from_files_good_and_bad() {
    let dir = scratch("profiles");
    // Errno vs kill actions, an argument rule, names unknown on this arch skipped.
    let good = write(
        &dir,
        "good.json",
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["keyctl"],"action":"SCMP_ACT_ERRNO","errnoRet":38},
            {"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
            {"names":["no_such_syscall_anywhere","arm_fadvise64_64"],"action":"SCMP_ACT_ERRNO"}]}"#,
    );
    assert_eq!(
        verdicts(
            &["--seccomp", &good],
            &["keyctl", "personality32", "getpid"]
        ),
        [
            "keyctl errno=ENOSYS(38)",
            "personality32 errno=EPERM(1)",
            "getpid ok"
        ]
    );
    let kill = write(
        &dir,
        "kill.json",
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["keyctl"],"action":"SCMP_ACT_KILL_PROCESS"}]}"#,
    );
    // try_syscalls makes each call in a child of its own and reports how that child ended.
    assert_eq!(
        verdicts(&["--seccomp", &kill], &["keyctl", "getpid"]),
        ["keyctl killed=SIGSYS(31)", "getpid ok"]
    );

    let marker = dir.join("started");
    let touch = format!("touch {}", marker.display());
    let big = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[".to_string()
        + &" ".repeat(2 << 20)
        + "]}";
    for (name, text, needle) in [
        ("broken.json", "{\"defaultAction\":", "--seccomp"),
        (
            "action.json",
            r#"{"defaultAction":"SCMP_ACT_MAYBE"}"#,
            "SCMP_ACT_MAYBE",
        ),
        (
            "type.json",
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":"read","action":"SCMP_ACT_ALLOW"}]}"#,
            "names",
        ),
        ("big.json", big.as_str(), "--seccomp"),
    ] {
        let path = write(&dir, name, text);
        let out = run(&["--seccomp", &path, "sh", "-c", &touch]);
        assert_eq!(out.code, Some(125), "{name}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{name}: {}", out.stderr);
        assert!(out.stderr.contains(needle), "{name}: {}", out.stderr);
        assert!(!marker.exists(), "{name} started the program");
    }
    let out = run(&["--seccomp", "/nonexistent/profile.json", "true"]);
    assert_eq!(out.code, Some(125));
    assert!(
        out.stderr.contains("/nonexistent/profile.json"),
        "{}",
        out.stderr
    );
}

/// A profile written for the program decides the program's fate, never PID 1's: with
/// `defaultAction: SCMP_ACT_KILL_PROCESS` and an allowlist that forgets what PID 1 uses, PID 1
/// survives (its copy answers EPERM), reports the program's SIGSYS with the reason, and exits with
/// the program's 128+31. A profile that refuses what runs between the filter and exec is named.
#[test]
fn a_profile_that_kills_kills_only_the_program_and_says_why() {
    let dir = scratch("profile_kills");
    let kill = write(
        &dir,
        "kill.json",
        r#"{"defaultAction":"SCMP_ACT_KILL_PROCESS","syscalls":[
            {"names":["execve","rt_sigprocmask"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let out = run(&[
        "--user",
        "65532",
        "--seccomp",
        &kill,
        "--",
        "/usr/bin/busybox",
        "true",
    ]);
    assert_eq!(
        out.code,
        Some(128 + 31),
        "PID 1 itself died ({:?}): {}",
        out.signal,
        out.stderr
    );
    assert!(
        out.stderr
            .contains("killed by SIGSYS (a seccomp profile refused a syscall"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.lines().count() <= 2, "{}", out.stderr);

    // Refusals between the filter and the program: named, with the profile as the reason.
    for (name, syscall, code, says) in [
        (
            "mask.json",
            "rt_sigprocmask",
            125,
            "must allow rt_sigprocmask",
        ),
        ("exec.json", "execve", 126, "refuses execve"),
    ] {
        let profile = write(
            &dir,
            name,
            &format!(
                r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["{syscall}"],"action":"SCMP_ACT_ERRNO"}}]}}"#
            ),
        );
        let args = ["--user", "65532", "--seccomp", &profile, "--"];
        let out = run(&[&args[..], &["/usr/bin/busybox", "true"]].concat());
        assert_eq!(out.code, Some(code), "{name}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{name}: {}", out.stderr);
    }
}

#[test]
fn runc_accepts_the_exported_oci_profile() {
    if !Path::new("/usr/sbin/runc").exists() {
        assert!(
            std::env::var("CI").is_err(),
            "runc missing in CI: tests/run.sh installs it"
        );
        eprintln!("SKIPPED: runc is not installed");
        return;
    }
    let dir = scratch("runc");
    let rootfs = dir.join("rootfs/bin");
    std::fs::create_dir_all(&rootfs).unwrap();
    std::fs::copy("/bin/busybox", rootfs.join("busybox")).unwrap();
    let oci = Pid1::plain(&["seccomp", "export", "--oci"]).wait();
    assert_eq!(oci.code, Some(0), "{}", oci.stderr);
    let oci_file = write(&dir, "oci.json", &oci.stdout);
    let bundle = dir.display().to_string();
    assert!(
        std::process::Command::new("runc")
            .args(["spec", "-b", &bundle])
            .status()
            .unwrap()
            .success()
    );
    // Non-interactive, runs busybox, carries our profile; the default spec's network namespace has no
    // interface but lo, so nothing leaves the machine.
    let edit = format!(
        "import json; c=json.load(open('{bundle}/config.json')); c['process']['terminal']=False; \
         c['process']['args']=['/bin/busybox','sh','-c','/bin/busybox grep ^Seccomp: /proc/self/status; /bin/busybox unshare -U true || echo refused']; \
         c['root']['readonly']=True; c['linux']['seccomp']=json.load(open('{oci_file}')); \
         json.dump(c, open('{bundle}/config.json','w'))"
    );
    assert!(
        std::process::Command::new("/usr/bin/python3")
            .args(["-c", &edit])
            .status()
            .unwrap()
            .success()
    );
    let id = format!("pidguard-test-{}", std::process::id());
    let out = std::process::Command::new("timeout")
        .args(["60", "runc", "run", "-b", &bundle, &id])
        .output()
        .unwrap();
    let _ = std::process::Command::new("runc")
        .args(["delete", "-f", &id])
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "runc: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Seccomp:\t2"), "{stdout}");
    assert!(
        stdout.contains("refused"),
        "unshare must be refused under the profile: {stdout}"
    );
}
