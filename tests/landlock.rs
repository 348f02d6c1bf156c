//! `--read-only` (Landlock) as a user meets it, with pidguard as real PID 1: every kind of write
//! outside `--writable` refused with EACCES for the program and its grandchild, where the file
//! permissions alone would allow it; the same inside `--writable` allowed; the devices every
//! program writes; restarts; TCP rules; real programs unchanged; a kernel without Landlock
//! (simulated by a seccomp profile answering ENOSYS) in strict and best-effort mode; bad input;
//! `pidguard audit` as the program; and the same under dockerd with a writable image root.
//!
//! Where a write is refused, the test made sure the file permissions would allow it (directories
//! and files owned by the program's uid under `/etc` and `/`, or uid 0 without capabilities
//! creating in `/etc` itself), so the refusal is Landlock's and not the permission check's.

mod common;
#[path = "docker/engine.rs"]
mod engine;

use common::*;
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};

const UID: u32 = 65532;

/// A directory owned by the test user at `path`, with what the operations of [`ops`] act on;
/// removed when dropped, whatever a failed test left in it.
struct Place(PathBuf);

/// Removes what a killed run of this file left in `/` and `/etc` (names end in the pid of the
/// test process, which no longer exists).
fn sweep_leftovers() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for dir in ["/", "/etc"] {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let Some(rest) = name.strip_prefix("pidguard-landlock-") else {
                    continue;
                };
                let pid = rest.trim_end_matches(".d").rsplit('-').next().unwrap_or("");
                if pid.parse::<u32>().is_ok() && !Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = std::fs::remove_dir_all(e.path());
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    });
}

impl Place {
    fn new(path: PathBuf) -> Place {
        sweep_leftovers();
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).unwrap();
        for tag in ["p", "g"] {
            std::fs::write(path.join(format!("gone{tag}")), "x").unwrap();
            std::fs::create_dir(path.join(format!("empty{tag}"))).unwrap();
            std::fs::write(path.join(format!("src{tag}")), "x").unwrap();
        }
        std::fs::write(path.join("f"), "data\n").unwrap();
        for e in std::fs::read_dir(&path).unwrap() {
            chown(e.unwrap().path(), Some(UID), Some(UID)).unwrap();
        }
        chown(&path, Some(UID), Some(UID)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Place(path)
    }

    fn s(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every kind of write in `b` (tag `p` for the program, `g` for its grandchild), with `from` a
/// directory whose file `src{tag}` is renamed into `b`.
fn ops(b: &str, from: &str, tag: &str) -> Vec<String> {
    vec![
        format!("write:{b}/f"),
        format!("append:{b}/f"),
        format!("otrunc:{b}/f"),
        format!("truncate:{b}/f"),
        format!("create:{b}/new{tag}"),
        format!("mkdir:{b}/dir{tag}"),
        format!("symlink:{b}/sym{tag}"),
        format!("mkfifo:{b}/fifo{tag}"),
        format!("link:{b}/f>{b}/link{tag}"),
        format!("rename:{from}/src{tag}>{b}/moved{tag}"),
        format!("unlink:{b}/gone{tag}"),
        format!("rmdir:{b}/empty{tag}"),
        format!("chmod:{b}/f"),
    ]
}

/// The line fs_ops prints for `op` with `verdict`.
fn line(op: &str, verdict: &str) -> String {
    let (name, arg) = op.split_once(':').unwrap();
    format!("{name} {arg} {verdict}")
}

/// What fs_ops prints for `ops` when Landlock refuses every write: EACCES, except chmod, which is
/// no access right Landlock has (the file's owner may still change its mode).
fn refused(ops: &[String]) -> Vec<String> {
    ops.iter()
        .map(|op| {
            line(
                op,
                if op.starts_with("chmod:") {
                    "ok"
                } else {
                    "EACCES"
                },
            )
        })
        .collect()
}

fn allowed(ops: &[String]) -> Vec<String> {
    ops.iter().map(|op| line(op, "ok")).collect()
}

fn lines(out: &Output) -> Vec<String> {
    out.stdout.lines().map(String::from).collect()
}

fn unique(name: &str) -> String {
    format!("pidguard-landlock-{name}-{}", std::process::id())
}

#[test]
fn read_only_refuses_every_write_outside_writable_for_the_program_and_its_grandchild() {
    let etc = Place::new(Path::new("/etc").join(unique("etc")));
    let root = Place::new(Path::new("/").join(unique("root")));
    let tmp = Place::new(std::env::temp_dir().join(unique("tmp")));
    // Renames into the read-only places start in /tmp (writable, the same filesystem here, so that
    // the kernel gets as far as Landlock); inside /tmp they start in the read-only /etc place,
    // which Landlock must refuse to take from.
    let (etc_s, root_s, tmp_s) = (etc.s(), root.s(), tmp.s());
    let mut args: Vec<String> = ["--read-only", "--writable", "/tmp", "--"]
        .map(String::from)
        .to_vec();
    args.push(example("fs_ops"));
    let mut expected = Vec::new();
    for tag in ["p", "g"] {
        if tag == "g" {
            args.push("child".into());
        }
        for (place, from) in [(&etc_s, &tmp_s), (&root_s, &tmp_s)] {
            let ops = ops(place, from, tag);
            expected.extend(refused(&ops));
            args.extend(ops);
        }
        let ops = ops(&tmp_s, &tmp_s, tag);
        expected.extend(allowed(&ops));
        args.extend(ops);
        for op in [
            format!("rename:{etc_s}/src{tag}>{tmp_s}/stolen{tag}"),
            format!("unlink:{etc_s}/src{tag}"),
        ] {
            expected.push(line(&op, "EACCES"));
            args.push(op);
        }
        // A hard link of a read-only file into /tmp would make it writable through the new name:
        // Landlock refuses a link or rename that gains rights (EXDEV, landlock(7) on REFER).
        let op = format!("link:{etc_s}/f>{tmp_s}/hardlink{tag}");
        expected.push(line(&op, "EXDEV"));
        args.push(op);
        // A symlink in /tmp to a read-only file is made, but writing through it is refused: the
        // rules apply to the file the path resolves to.
        for (op, verdict) in [
            (format!("symlinkto:{etc_s}/f>{tmp_s}/evil{tag}"), "ok"),
            (format!("write:{tmp_s}/evil{tag}"), "EACCES"),
        ] {
            expected.push(line(&op, verdict));
            args.push(op);
        }
        for op in ["write:/dev/null", "otrunc:/dev/null", "write:/dev/zero"] {
            expected.push(line(op, "ok"));
            args.push(op.into());
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(lines(&out), expected, "{}", out.stderr);
    // Nothing was written: the file is whole and no new name appeared.
    assert_eq!(std::fs::read_to_string(etc.0.join("f")).unwrap(), "data\n");
    let mut names: Vec<String> = std::fs::read_dir(&root.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["emptyg", "emptyp", "f", "goneg", "gonep", "srcg", "srcp"]
    );
    // Without --read-only the same operations pass the permission checks, so the EACCES above
    // was Landlock's.
    let (etc, tmp) = (Place::new(etc.0.clone()), Place::new(tmp.0.clone()));
    let ops = ops(&etc.s(), &tmp.s(), "p");
    let mut plain = vec!["--".to_string(), example("fs_ops")];
    plain.extend(ops.iter().cloned());
    let out = run(&plain.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(lines(&out), allowed(&ops), "{}", out.stderr);
}

#[test]
fn uid_0_without_capabilities_cannot_write_in_etc_or_the_root() {
    // Root owns /etc and /, so the permission checks let uid 0 create there: only Landlock stops it.
    let names = [
        format!("/etc/{}", unique("asroot")),
        format!("/{}", unique("asroot")),
    ];
    let ops: Vec<String> = names
        .iter()
        .flat_map(|n| [format!("create:{n}"), format!("mkdir:{n}.d")])
        .collect();
    let mut args = vec![
        "--user".to_string(),
        "0".into(),
        "--allow-root".into(),
        "--read-only".into(),
        "--writable".into(),
        "/tmp".into(),
        "--".into(),
        example("fs_ops"),
    ];
    args.extend(ops.iter().cloned());
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    for n in &names {
        let _ = std::fs::remove_file(n);
        let _ = std::fs::remove_dir(format!("{n}.d"));
    }
    assert_eq!(lines(&out), refused(&ops), "{}", out.stderr);
}

#[test]
fn chmod_is_not_landlocks_and_the_permission_check_still_refuses_it() {
    // Landlock has no right for metadata: what refuses a chmod of /etc/passwd to uid 65532 is
    // that root owns it (EPERM), with or without --read-only.
    let out = run(&["--read-only", "--", &example("fs_ops"), "chmod:/etc/passwd"]);
    assert_eq!(lines(&out), ["chmod /etc/passwd EPERM"], "{}", out.stderr);
}

#[test]
fn the_devices_every_program_writes_stay_writable() {
    let tmp = scratch("landlock-devices");
    // /dev/null (with O_TRUNC, as `>` opens it), /dev/zero, /dev/full; /proc/self/fd/N of a file
    // under --writable. (Reopening /proc/self/fd/1 when it is a pipe that root created is refused
    // by the pipe's owner check, with or without Landlock: not tested here.)
    let sh = format!(
        "echo x >/dev/null && echo x >>/dev/null && head -c 1 /dev/zero >/dev/null && \
         {{ echo x >/dev/full; }} 2>/dev/null; exec 3>{t}/out && echo y >/proc/self/fd/3 && \
         cat {t}/out",
        t = tmp.display()
    );
    let out = run(&[
        "--read-only",
        "--writable",
        "/tmp",
        "--",
        "/usr/bin/busybox",
        "sh",
        "-c",
        &sh,
    ]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "y\n"),
        "{}",
        out.stderr
    );
    // A pseudo-terminal (/dev/ptmx, /dev/pts/N) and POSIX shared memory (/dev/shm: python's
    // multiprocessing locks are named semaphores there).
    let py = "import os, pty, multiprocessing\n\
              m, s = pty.openpty(); os.write(s, b'hi'); print(os.read(m, 2).decode())\n\
              lock = multiprocessing.Lock(); lock.acquire(); lock.release(); print('lock')\n";
    let out = run(&["--read-only", "--", "/usr/bin/python3", "-c", py]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "hi\nlock\n"),
        "{}",
        out.stderr
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_restarted_program_keeps_the_rules() {
    let etc = Place::new(Path::new("/etc").join(unique("restart")));
    let tmp = scratch("landlock-restart");
    let script = format!(
        "[ -e {t}/first ] || {{ touch {t}/first; exit 3; }}; exec {fx} create:{e}/x create:{t}/y",
        t = tmp.display(),
        e = etc.s(),
        fx = example("fs_ops")
    );
    let out = run(&[
        "--read-only",
        "--writable",
        "/tmp",
        "--restart",
        "on-failure",
        "--restart-delay",
        "100ms",
        "--",
        "/usr/bin/busybox",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "create {}/x EACCES\ncreate {}/y ok\n",
            etc.s(),
            tmp.display()
        )
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// PID 1 starts an `exec:` check with only the per-child scope domain: the check's write rules are
/// PID 1's own, which also shows that PID 1 itself is confined.
#[test]
fn an_app_check_runs_under_the_same_rules() {
    let tmp = scratch("landlock-check");
    let etc = Place::new(Path::new("/etc").join(unique("check")));
    // The check tries to create a file in the read-only place, then one in /tmp: the first fails,
    // so the check is unhealthy and --on-unhealthy exit ends the container.
    let check = format!(
        "exec:/usr/bin/busybox,sh,-c,touch {e}/c || touch {t}/refused; exit 1",
        e = etc.s(),
        t = tmp.display()
    );
    let out = run(&[
        "--read-only",
        "--writable",
        "/tmp",
        "--health-check",
        &check,
        "--health-interval",
        "200ms",
        "--health-retries",
        "1",
        "--on-unhealthy",
        "exit",
        "--",
        "/usr/bin/busybox",
        "sleep",
        "60",
    ]);
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    assert!(tmp.join("refused").exists(), "{}", out.stderr);
    assert!(!etc.0.join("c").exists());
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn allow_connect_and_allow_bind_let_only_the_listed_ports_through() {
    // In a network namespace of its own: the program listens on two loopback ports (binding is
    // free without --allow-bind) and may connect only to the listed one.
    let fx = example("fs_ops");
    let out = Pid1::start_private_net(
        &[
            "--allow-connect",
            "7101",
            "--",
            &fx,
            "listen:7101",
            "listen:7102",
            "connect:7101",
            "connect:7102",
            "child",
            "connect:7101",
            "connect:7102",
        ],
        &[],
    )
    .wait();
    assert_eq!(
        lines(&out),
        [
            "listen 7101 ok",
            "listen 7102 ok",
            "connect 7101 ok",
            "connect 7102 EACCES",
            "connect 7101 ok",
            "connect 7102 EACCES",
        ],
        "{}",
        out.stderr
    );
    let out = Pid1::start_private_net(
        &["--allow-bind", "7201", "--", &fx, "bind:7201", "bind:7202"],
        &[],
    )
    .wait();
    assert_eq!(
        lines(&out),
        ["bind 7201 ok", "bind 7202 EACCES"],
        "{}",
        out.stderr
    );
    // PID 1 runs the app check under the same rules: a check on an unlisted port is refused at start.
    let out = run(&[
        "--allow-connect",
        "7101",
        "--health-check",
        "tcp://127.0.0.1:7300",
        "--",
        "/bin/true",
    ]);
    assert_eq!(out.code, Some(125), "{}", out.stderr);
    assert!(out.stderr.contains("add 7300"), "{}", out.stderr);
}

#[test]
fn real_programs_work_under_a_read_only_root() {
    let tmp = scratch("landlock-real");
    let t = tmp.display().to_string();
    // python: a module in a read-only directory imports, its bytecode cache is not written (and
    // that is no error), and /tmp takes files.
    let lib = Place::new(Path::new("/etc").join(unique("pylib")));
    std::fs::write(lib.0.join("llmod.py"), "X = 41 + 1\n").unwrap();
    let py = format!(
        "import sys, tempfile, json; sys.path.insert(0, {lib:?}); import llmod\n\
         fd, p = tempfile.mkstemp(); open(p, 'w').write(json.dumps(llmod.X))\n\
         print(open(p).read())\n\
         try:\n    open('/etc/pidguard-landlock-py', 'w')\nexcept PermissionError as e:\n    print('refused', e.errno)\n",
        lib = lib.s()
    );
    let args = ["--read-only", "--writable", "/tmp", "--"];
    let out = run(&[&args[..], &["/usr/bin/python3", "-c", &py]].concat());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "42\nrefused 13\n", "{}", out.stderr);
    assert!(!lib.0.join("__pycache__").exists());

    // node, if installed.
    if Path::new("/usr/bin/node").exists() {
        let js = format!(
            "const fs = require('fs'); fs.writeFileSync('{t}/n', 'x'); \
             try {{ fs.writeFileSync('/etc/pidguard-landlock-node', 'x') }} \
             catch (e) {{ console.log(e.code) }} \
             console.log(fs.readFileSync('{t}/n', 'utf8'))"
        );
        let out = run(&[&args[..], &["/usr/bin/node", "-e", &js]].concat());
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert_eq!(out.stdout, "EACCES\nx\n", "{}", out.stderr);
    }

    // git on a writable work tree; HOME (/ for this uid) stays read-only.
    assert!(
        Path::new("/usr/bin/git").exists(),
        "/usr/bin/git is missing: apt-get install git"
    );
    let git = format!(
        "cd {t} && git init -q repo && cd repo && echo hi > a && git add a && \
         git -c user.name=t -c user.email=t@t commit -qm one && git log --format=%s && \
         git status --porcelain && echo clean"
    );
    let out = run(&[
        &args[..],
        &[
            "/usr/bin/busybox",
            "sh",
            "-c",
            &format!("PATH=/usr/bin:/bin; {git}"),
        ],
    ]
    .concat());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "one\nclean\n", "{}", out.stderr);

    // busybox: files, archives and an in-place edit in /tmp; the same edit under /etc refused.
    let bb = format!(
        "cd {t} && mkdir -p b/c && echo v1 > b/c/f && tar -cf b.tar b && rm -r b && tar -xf b.tar && \
         sed -i s/v1/v2/ b/c/f && cat b/c/f && cp b/c/f {e}/copy 2>/dev/null || echo refused",
        e = lib.s()
    );
    let out = run(&[&args[..], &["/usr/bin/busybox", "sh", "-c", &bb]].concat());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "v2\nrefused\n", "{}", out.stderr);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Docker's default profile as pidguard exports it, with the Landlock syscalls answering ENOSYS:
/// what a kernel without Landlock (or a runtime's profile that predates it) looks like.
fn profile_without_landlock(dir: &Path) -> String {
    let out = std::process::Command::new(pidguard())
        .args(["seccomp", "export"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut kept: Vec<&str> = Vec::new();
    for l in text.lines() {
        if !l.contains("\"landlock_") {
            kept.push(l);
        }
    }
    let text = kept.join("\n");
    let rule = "\"syscalls\": [\n\t\t{\"names\": [\"landlock_create_ruleset\", \
                \"landlock_add_rule\", \"landlock_restrict_self\"], \"action\": \
                \"SCMP_ACT_ERRNO\", \"errnoRet\": 38},";
    let text = text.replacen("\"syscalls\": [", rule, 1);
    let path = dir.join("no-landlock.json");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn without_landlock_strict_refuses_and_best_effort_warns_once() {
    // The outer pidguard's program is a second pidguard (not PID 1), which starts under a filter
    // that answers every Landlock call with ENOSYS.
    let dir = scratch("landlock-nolandlock");
    let profile = profile_without_landlock(&dir);
    let me = pidguard().to_string_lossy().into_owned();
    let fx = example("fs_ops");
    let marker = format!("create:{}/ran", dir.display());
    let out = run(&[
        "--seccomp",
        &profile,
        "--",
        &me,
        "--read-only",
        "--writable",
        "/tmp",
        "--",
        &fx,
        &marker,
    ]);
    assert_eq!(out.code, Some(125), "{}", out.stderr);
    assert!(
        out.stderr.contains("no Landlock") && out.stderr.contains("--landlock best-effort"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Function not implemented"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "", "the program must not start");

    // Best effort: the program runs unconfined, and the warning names each rule, once, however
    // often the program is restarted (two restarts here).
    let twice = format!("{fx} {marker} abi; exit 3");
    let out = run(&[
        "--seccomp",
        &profile,
        "--",
        &me,
        "--landlock",
        "best-effort",
        "--read-only",
        "--writable",
        "/tmp",
        "--allow-connect",
        "5432",
        "--restart",
        "on-failure",
        "--restart-limit",
        "2/60s",
        "--restart-delay",
        "10ms",
        "--",
        "/usr/bin/busybox",
        "sh",
        "-c",
        &twice,
    ]);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    let created = format!("create {}/ran ok", dir.display());
    let exists = format!("create {}/ran EEXIST", dir.display());
    assert_eq!(
        lines(&out),
        [
            &created,
            "abi  ENOSYS",
            &exists,
            "abi  ENOSYS",
            &exists,
            "abi  ENOSYS"
        ],
        "{}",
        out.stderr
    );
    let warned: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("Landlock"))
        .collect();
    assert_eq!(warned.len(), 1, "{}", out.stderr);
    assert!(
        warned[0].contains("--read-only") && warned[0].contains("--allow-connect"),
        "{}",
        warned[0]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_seccomp_filters_allow_landlock() {
    for args in [&["seccomp", "export"][..], &["seccomp", "export", "--oci"]] {
        let out = std::process::Command::new(pidguard())
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        for name in [
            "landlock_create_ruleset",
            "landlock_add_rule",
            "landlock_restrict_self",
        ] {
            assert!(text.contains(&format!("\"{name}\"")), "{args:?}: {name}");
        }
    }
    // The program, under the built-in default filter, may use Landlock itself (nest a domain): it
    // gets the kernel's ABI, as this test process does without any filter.
    let host = std::process::Command::new(example("fs_ops"))
        .arg("abi")
        .output()
        .unwrap();
    let host = String::from_utf8_lossy(&host.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    assert!(
        host.starts_with("abi ") && !host.contains("ENOSYS"),
        "{host}"
    );
    let out = run(&["--", &example("fs_ops"), "abi"]);
    assert_eq!(
        out.stdout.lines().next(),
        Some(host.as_str()),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_input_is_one_line_and_125_and_nothing_starts() {
    let dir = scratch("landlock-bad");
    std::os::unix::fs::symlink("/etc", dir.join("link")).unwrap();
    let link = dir.join("link").to_string_lossy().into_owned();
    let fx = example("fs_ops");
    let marker = format!("create:{}/ran", dir.display());
    let cases: &[(&[&str], &str)] = &[
        (&["--read-only", "--writable", "tmp"], "absolute"),
        (
            &["--read-only", "--writable", "/nonexistent-landlock"],
            "create it",
        ),
        (&["--read-only", "--writable", &link], "resolves to /etc"),
        (&["--writable", "/tmp"], "add --read-only"),
        (&["--allow-connect", "0"], "1 to 65535"),
        (&["--allow-bind", "http"], "1 to 65535"),
        (&["--landlock", "off", "--read-only"], "drop one"),
        (&["--landlock", "maybe"], "strict, best-effort, off"),
    ];
    for (args, why) in cases {
        let mut all = args.to_vec();
        all.extend(["--", &fx, &marker]);
        let out = run(&all);
        assert_eq!(out.code, Some(125), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(why), "{args:?}: {}", out.stderr);
        assert!(!dir.join("ran").exists(), "{args:?}: the program ran");
    }
    let out = run_env_out(&["--", &fx, &marker], &[("PIDGUARD_WRITABLE", "/tmp")]);
    assert_eq!(out.code, Some(125), "{}", out.stderr);
    assert!(out.stderr.contains("PIDGUARD_WRITABLE"), "{}", out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

fn run_env_out(args: &[&str], env: &[(&str, &str)]) -> Output {
    Pid1::start_env(args, env).wait()
}

/// The audit's line for `id`, as `STATUS  ID  OBSERVED...`.
fn audit_line(out: &Output, id: &str) -> String {
    out.stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(id))
        .unwrap_or_else(|| panic!("no {id} line in {}", out.stdout))
        .to_string()
}

#[test]
fn audit_as_the_program_says_it_is_confined_and_where_it_may_write() {
    // This machine's root is a read-write mount: only Landlock makes it read-only here.
    let me = pidguard().to_string_lossy().into_owned();
    let out = run(&["--read-only", "--writable", "/tmp", "--", &me, "audit"]);
    let landlock = audit_line(&out, "fs.landlock");
    assert!(
        landlock.starts_with("PASS") && landlock.contains("confined by Landlock"),
        "{landlock}"
    );
    assert!(
        landlock.ends_with("writable here: /dev/shm, /tmp"),
        "{landlock}"
    );
    let rootfs = audit_line(&out, "fs.rootfs");
    assert!(
        rootfs.starts_with("PASS") && rootfs.contains("Landlock refuses writes"),
        "{rootfs}"
    );
    // access(2) calls /tmp writable either way; the audit probes instead.
    let out = run(&["--read-only", "--", &me, "audit"]);
    assert!(audit_line(&out, "fs.tmp").contains("not writable by this process"));
    assert!(audit_line(&out, "fs.landlock").ends_with("writable here: /dev/shm"));
    // Without --read-only: the scopes' domain (ABI 6 and later), no write rules, a root anyone may
    // write.
    let out = run(&["--", &me, "audit"]);
    let landlock = audit_line(&out, "fs.landlock");
    assert!(
        landlock.starts_with("WARN")
            && (landlock.contains("no write rules") || landlock.contains("not confined")),
        "{landlock}"
    );
    assert!(audit_line(&out, "fs.rootfs").starts_with("WARN"));
}

// ---------------------------------------------------------------------------------------------------
// Docker: a read-write image root (no `docker run --read-only`), made read-only from inside.

/// `FROM scratch`: /pidguard, busybox's sh, the fs_ops fixture, the test image's /etc/passwd and
/// /etc/group, a world-writable /tmp, and /srv owned by the program's uid (so that only Landlock can
/// refuse a write there).
fn build_image(suite: &engine::Suite) -> engine::Image {
    use std::os::unix::fs::symlink;
    let ctx = engine::TempDir::new(&suite.name("landlock-context"));
    let rootfs = ctx.path().join("rootfs");
    for dir in ["bin", "etc", "tmp", "srv"] {
        std::fs::create_dir_all(rootfs.join(dir)).unwrap();
    }
    std::fs::set_permissions(rootfs.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::fs::write(rootfs.join("srv/f"), "data\n").unwrap();
    let etc = engine::tests_dir().join("docker/rootfs/etc");
    for (from, to) in [
        (etc.join("passwd"), "etc/passwd"),
        (etc.join("group"), "etc/group"),
        (pidguard(), "pidguard"),
        (PathBuf::from("/bin/busybox"), "bin/busybox"),
        (PathBuf::from(example("fs_ops")), "bin/fs_ops"),
    ] {
        std::fs::copy(&from, rootfs.join(to))
            .unwrap_or_else(|e| panic!("copy {} into the image: {e}", from.display()));
    }
    symlink("busybox", rootfs.join("bin/sh")).unwrap();
    let dockerfile = ctx.path().join("Dockerfile");
    std::fs::write(
        &dockerfile,
        "FROM scratch\nCOPY rootfs/ /\nRUN [\"/bin/busybox\", \"chown\", \"-R\", \"65532:65532\", \"/srv\"]\n",
    )
    .unwrap();
    engine::Image::build("landlock-image", &dockerfile, ctx.path(), &[])
}

fn missing_prerequisite() -> Option<String> {
    engine::not_static(&[
        pidguard(),
        PathBuf::from("/bin/busybox"),
        PathBuf::from(example("fs_ops")),
    ])
}

#[test]
fn in_docker_with_a_writable_image_root_the_program_writes_only_where_allowed() {
    let Some(suite) = engine::start(missing_prerequisite) else {
        return;
    };
    let image = build_image(suite);
    let entry = [
        "/pidguard",
        "--user",
        "65532",
        "--read-only",
        "--writable",
        "/tmp",
        "--",
    ];
    let ops = [
        "create:/srv/new",
        "write:/srv/f",
        "otrunc:/srv/f",
        "mkdir:/srv/d",
        "rename:/tmp/a>/srv/a",
        "create:/tmp/a",
        "write:/dev/null",
        "child",
        "create:/srv/g",
        "create:/tmp/g",
    ];
    let mut args: Vec<&str> = entry.to_vec();
    args.push("/bin/fs_ops");
    args.extend(ops);
    let (_c, out) = engine::Container::run(&image, &[], &args);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout,
        "create /srv/new EACCES\nwrite /srv/f EACCES\notrunc /srv/f EACCES\nmkdir /srv/d EACCES\n\
         rename /tmp/a>/srv/a ENOENT\ncreate /tmp/a ok\nwrite /dev/null ok\ncreate /srv/g EACCES\n\
         create /tmp/g ok\n",
        "{}",
        out.stderr
    );
    // Without --read-only the image's root is writable where its permissions allow.
    let (_c, out) = engine::Container::run(
        &image,
        &[],
        &[
            "/pidguard",
            "--user",
            "65532",
            "--",
            "/bin/fs_ops",
            "create:/srv/new",
        ],
    );
    assert_eq!(out.stdout, "create /srv/new ok\n", "{out:?}");

    // The audit as the program: confined, root read-only although Docker mounted it read-write.
    let mut args: Vec<&str> = entry.to_vec();
    args.extend(["/pidguard", "audit"]);
    let (_c, out) = engine::Container::run(&image, &[], &args);
    let line = |id: &str| {
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(id))
            .unwrap_or_else(|| panic!("no {id} in {out:?}"))
            .to_string()
    };
    let rootfs = line("fs.rootfs");
    assert!(
        rootfs.starts_with("PASS") && rootfs.contains("read-write (overlay) mount, but Landlock"),
        "{rootfs}"
    );
    let landlock = line("fs.landlock");
    assert!(
        landlock.starts_with("PASS") && landlock.ends_with("writable here: /dev/shm, /tmp"),
        "{landlock}"
    );

    // docker exec is no descendant of PID 1, so it is outside the program's domain: its audit
    // says that it is not confined, and how to see the program's.
    let mut args: Vec<&str> = entry.to_vec();
    args.extend(["/bin/busybox", "sleep", "600"]);
    let c = engine::Container::start(&image, &[], &args);
    let out = c.exec(&["/pidguard", "audit"]);
    let landlock = out
        .stdout
        .lines()
        .find(|l| l.contains("fs.landlock"))
        .unwrap_or_default()
        .to_string();
    assert!(
        landlock.starts_with("WARN") && landlock.contains("run the audit as the program"),
        "{out:?}"
    );
}
