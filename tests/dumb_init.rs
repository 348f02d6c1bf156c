//! pidguard as a drop-in for dumb-init 1.2.5 (issue 15): every scenario runs twice in the same test,
//! once under Debian's `/usr/bin/dumb-init` (the reference) and once under the release pidguard, and
//! compares what a user can observe: where the program sits among sessions, groups and terminals
//! (/proc/PID/stat), which processes got which signal, exit codes, whether a shell's job stopped.
//! A difference is a failing comparison; each scenario also checks the expected value, so that two
//! inits broken the same way do not pass.
//!
//! dumb-init's default (setsid) mode is reached the way an image switched to pidguard reaches it: a
//! `dumb-init` symlink to pidguard (or `--setsid`); its `-c` is pidguard's `-c`. pidguard runs its
//! program as the unprivileged test user, dumb-init as root: nothing compared depends on the uid.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DUMB_INIT: &str = "/usr/bin/dumb-init";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// dumb-init's default: `dumb-init PROGRAM`; pidguard started under the name `dumb-init`.
    Setsid,
    /// `-c`.
    SingleChild,
}

/// A `dumb-init` symlink to the pidguard under test, as `COPY --from=... /pidguard /usr/bin/dumb-init`
/// gives an image.
fn pidguard_as_dumb_init() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pidguard-dumbinit-{}", std::process::id()));
    let link = dir.join("dumb-init");
    if !link.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let _ = std::os::unix::fs::symlink(pidguard(), &link);
    }
    link
}

/// The command line of each init in `mode`, reference first: (name for messages, argv).
fn inits(mode: Mode, extra: &[&str], pidguard_extra: &[&str]) -> [(&'static str, Vec<String>); 2] {
    let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (dumb, ours) = match mode {
        Mode::Setsid => (
            vec![DUMB_INIT.to_string()],
            vec![pidguard_as_dumb_init().to_string_lossy().into_owned()],
        ),
        Mode::SingleChild => (
            vec![DUMB_INIT.to_string(), "-c".into()],
            vec![pidguard().to_string_lossy().into_owned(), "-c".into()],
        ),
    };
    [
        ("dumb-init", [dumb, own(extra)].concat()),
        ("pidguard", [ours, own(pidguard_extra), own(extra)].concat()),
    ]
}

/// One init running a program, as PID 1 of a new PID namespace or as a plain process.
struct Running {
    child: Child,
    pid1: bool,
}

impl Running {
    fn start(argv: &[String], program: &[&str], pid1: bool, dir: &Path) -> Running {
        let mut cmd = if pid1 {
            let mut c = Command::new("unshare");
            c.args(["--pid", "--fork", "--mount-proc", "--net", "--kill-child"]);
            c.arg(&argv[0]);
            c
        } else {
            Command::new(&argv[0])
        };
        cmd.args(&argv[1..]).args(program).current_dir(dir);
        cmd.env("PIDGUARD_USER", USER).env(
            "PIDGUARD_STATUS_SOCKET",
            format!("pidguard-dumbinit-{}-{}", std::process::id(), unique()),
        );
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the init");
        Running { child, pid1 }
    }

    /// The init's host pid (under unshare: its forked child, once it has exec'd the init).
    fn pid(&self) -> i32 {
        let outer = self.child.id() as i32;
        if !self.pid1 {
            return outer;
        }
        let mut pid = 0;
        wait_until("unshare to start the init", || {
            pid = read(Path::new(&format!("/proc/{outer}/task/{outer}/children")))
                .split_whitespace()
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            pid != 0
                && std::fs::read_link(format!("/proc/{pid}/exe"))
                    .is_ok_and(|e| !e.ends_with("unshare"))
        });
        pid
    }

    fn signal(&self, sig: i32) {
        let pid = self.pid();
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(pid.to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} {pid}");
    }

    /// The exit code (128+N after signal N), bounded.
    fn wait(mut self) -> i32 {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                use std::os::unix::process::ExitStatusExt;
                return s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0));
            }
            if start.elapsed() > WAIT {
                let _ = self.child.kill();
                panic!("the init did not exit within {WAIT:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn unique() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A scratch directory of its own for one run of one init.
fn dir_for(test: &str, init: &str) -> PathBuf {
    scratch(&format!("dumbinit-{test}-{init}-{}", unique()))
}

/// The lines of `file`, sorted (processes write in any order).
fn lines(file: &Path) -> Vec<String> {
    let mut v: Vec<String> = read(file).lines().map(str::to_string).collect();
    v.sort();
    v
}

fn assert_same(what: &str, results: &[(&str, String)], want: &str) {
    let (reference, ours) = (&results[0], &results[1]);
    assert_eq!(
        ours.1, reference.1,
        "{what}: pidguard differs from dumb-init ({} vs {})",
        ours.1, reference.1
    );
    assert_eq!(reference.1, want, "{what}: the reference itself changed");
}

/// The program's place, from inside, through a real terminal: leader = PID 1 holds the terminal
/// as a session leader (what `docker run -it` gives), member = PID 1 is in `unshare`'s session.
fn pty_facts(argv: &[String], args: &[&str]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/dumb_init_pty.py");
    let out = Command::new("/usr/bin/python3")
        .env("PIDGUARD_USER", USER)
        .env(
            "PIDGUARD_STATUS_SOCKET",
            format!("pidguard-dumbinit-{}-{}", std::process::id(), unique()),
        )
        .arg(script)
        .args(args)
        .args(argv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn setsid_mode_gives_the_program_a_session_and_the_terminal() {
    let results: Vec<_> = inits(Mode::Setsid, &[], &[])
        .into_iter()
        .map(|(name, argv)| (name, pty_facts(&argv, &["session", "leader"])))
        .collect();
    assert_same("PID 1 holding the terminal", &results, LEADER_FACTS);
    let results: Vec<_> = inits(Mode::Setsid, &[], &[])
        .into_iter()
        .map(|(name, argv)| (name, pty_facts(&argv, &["session", "member"])))
        .collect();
    assert_same(
        "PID 1 in another session's terminal",
        &results,
        "session_leader=yes group_leader=yes has_tty=no foreground=no init_has_tty=no exit=0",
    );
    // `--setsid` is the same mode under pidguard's own name.
    let ours = vec![pidguard().to_string_lossy().into_owned(), "--setsid".into()];
    assert_eq!(pty_facts(&ours, &["session", "leader"]), LEADER_FACTS);
}

const LEADER_FACTS: &str =
    "session_leader=yes group_leader=yes has_tty=yes foreground=yes init_has_tty=no exit=0";

#[test]
fn single_child_mode_keeps_the_program_in_pid1s_group_and_session() {
    for place in ["leader", "member"] {
        let results: Vec<_> = inits(Mode::SingleChild, &[], &[])
            .into_iter()
            .map(|(name, argv)| (name, pty_facts(&argv, &["session", place])))
            .collect();
        assert_same(
            place,
            &results,
            "session_leader=no group_leader=no has_tty=yes foreground=yes init_has_tty=yes exit=0",
        );
    }
}

#[test]
fn ctrl_z_and_fg_work_on_a_job_of_an_interactive_bash() {
    for mode in [Mode::Setsid, Mode::SingleChild] {
        let results: Vec<_> = inits(mode, &[], &[])
            .into_iter()
            .map(|(name, argv)| (name, pty_facts(&argv, &["job"])))
            .collect();
        assert_same(
            &format!("{mode:?}"),
            &results,
            "stopped=True back=True rc=130",
        );
    }
    // tini's mode, pidguard's default: the program holds the terminal in a group of its own; its
    // stop stops pidguard, and fg gives the terminal back to it.
    let ours = vec![pidguard().to_string_lossy().into_owned()];
    assert_eq!(pty_facts(&ours, &["job"]), "stopped=True back=True rc=130");
}

#[test]
fn ctrl_c_without_a_terminal_ends_sh_and_its_sleep_at_once() {
    for mode in [Mode::Setsid, Mode::SingleChild] {
        let results: Vec<_> = inits(mode, &[], &[])
            .into_iter()
            .map(|(name, argv)| {
                let dir = dir_for("ctrlc", name);
                let r = Running::start(&argv, &["sh", "-c", "sleep 20"], true, &dir);
                let pid = r.pid();
                wait_until("sleep to start", || {
                    count_in_namespace(pid, &["sleep", "20"]) == 1
                });
                r.signal(libc::SIGINT);
                (name, format!("exit={}", r.wait()))
            })
            .collect();
        assert_same(&format!("{mode:?}"), &results, "exit=130");
    }
}

/// sh with a child sh, each writing which signal it got: the program's group gets SIGTERM in setsid
/// mode, the program alone with -c (the child is then told with SIGUSR1, to end it).
#[test]
fn sigterm_reaches_the_group_in_setsid_mode_and_the_program_alone_with_c() {
    for (mode, want) in [
        (Mode::Setsid, "child-TERM,sh-TERM exit=0"),
        (Mode::SingleChild, "child-USR1,sh-TERM exit=0"),
    ] {
        let results: Vec<_> = inits(mode, &[], &[])
            .into_iter()
            .map(|(name, argv)| {
                let dir = dir_for("groups", name);
                let child = "trap 'echo child-TERM >> log; exit 0' TERM; \
                             trap 'echo child-USR1 >> log; exit 0' USR1; \
                             echo \\$\\$ > child.pid; sleep 30 & wait";
                let script = format!(
                    "trap 'echo sh-TERM >> log; exit 0' TERM; sh -c \"{child}\" & \
                     while [ ! -s child.pid ]; do sleep 0.05; done; echo ready > ready; \
                     sleep 30 & wait"
                );
                // Not PID 1, so that what the program leaves lives on and can be asked.
                let r = Running::start(&argv, &["sh", "-c", &script], false, &dir);
                wait_until("the program to be ready", || dir.join("ready").exists());
                r.signal(libc::SIGTERM);
                let code = r.wait();
                let log = dir.join("log");
                wait_until("the program's line", || read(&log).contains("sh-TERM"));
                if mode == Mode::SingleChild {
                    let child: i32 = read(&dir.join("child.pid")).trim().parse().unwrap();
                    assert!(
                        !read(&log).contains("child"),
                        "{name}: the child got SIGTERM too"
                    );
                    let _ = Command::new("kill")
                        .args(["-USR1", &child.to_string()])
                        .status();
                }
                wait_until("the child's line", || read(&log).contains("child-"));
                (name, format!("{} exit={code}", lines(&log).join(",")))
            })
            .collect();
        assert_same(&format!("{mode:?}"), &results, want);
    }
}

/// `-r 15:0` ignores SIGTERM: the program never sees it and nothing stops it, not even pidguard's
/// graceful stop when a grace is given; SIGUSR1 then ends it.
#[test]
fn rewrite_to_zero_ignores_sigterm() {
    for mode in [Mode::Setsid, Mode::SingleChild] {
        let results: Vec<_> = inits(mode, &["-r", "15:0"], &["--grace", "1s"])
            .into_iter()
            .map(|(name, argv)| {
                let dir = dir_for("rewrite0", name);
                let script = "trap 'echo TERM >> log' TERM; trap 'echo USR1 >> log; exit 5' USR1; \
                              echo ready > ready; while :; do sleep 0.1; done";
                let r = Running::start(&argv, &["sh", "-c", script], true, &dir);
                wait_until("the program to be ready", || dir.join("ready").exists());
                r.signal(libc::SIGTERM);
                // Longer than pidguard's grace: a stop it began would have ended the program.
                std::thread::sleep(Duration::from_secs(3));
                r.signal(libc::SIGUSR1);
                let code = r.wait();
                (
                    name,
                    format!("{} exit={code}", lines(&dir.join("log")).join(",")),
                )
            })
            .collect();
        assert_same(&format!("{mode:?}"), &results, "USR1 exit=5");
    }
}

/// When the program exits in setsid mode, what is left of its group gets the rewritten SIGTERM
/// (`-r 15:10`: SIGUSR1) and the init exits at once with the program's status.
#[test]
fn program_exit_sends_the_rewritten_sigterm_to_its_group_and_exits() {
    let results: Vec<_> = inits(Mode::Setsid, &["-r", "15:10"], &[])
        .into_iter()
        .map(|(name, argv)| {
            let dir = dir_for("exit", name);
            let child = "trap 'echo USR1 >> log; exit 0' USR1; trap 'echo TERM >> log; exit 0' TERM; \
                         echo \\$\\$ > child.pid; sleep 30 & wait";
            let script = format!(
                "sh -c \"{child}\" & while [ ! -s child.pid ]; do sleep 0.05; done; exit 3"
            );
            let r = Running::start(&argv, &["sh", "-c", &script], false, &dir);
            let code = r.wait();
            let log = dir.join("log");
            wait_until("the leftover's line", || !read(&log).is_empty());
            (name, format!("{} exit={code}", lines(&log).join(",")))
        })
        .collect();
    assert_same("setsid", &results, "USR1 exit=3");
}

/// The init sits in `/` (it never keeps a mount busy); the program in the directory it was given.
#[test]
fn the_init_leaves_the_working_directory_and_the_program_keeps_it() {
    for mode in [Mode::Setsid, Mode::SingleChild] {
        let results: Vec<_> = inits(mode, &[], &[])
            .into_iter()
            .map(|(name, argv)| {
                let dir = dir_for("cwd", name);
                let script = "pwd > here; sleep 30";
                let r = Running::start(&argv, &["sh", "-c", script], true, &dir);
                wait_until("the program's pwd", || !read(&dir.join("here")).is_empty());
                // The init moves once the program runs: wait for it, bounded.
                let cwd = || std::fs::read_link(format!("/proc/{}/cwd", r.pid())).unwrap();
                let start = Instant::now();
                while cwd() != Path::new("/") && start.elapsed() < Duration::from_secs(10) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                let init_cwd = cwd();
                let program = PathBuf::from(read(&dir.join("here")).trim());
                r.signal(libc::SIGKILL);
                let _ = r.wait();
                (
                    name,
                    format!(
                        "init={} program_here={}",
                        init_cwd.display(),
                        program == dir
                    ),
                )
            })
            .collect();
        assert_same(&format!("{mode:?}"), &results, "init=/ program_here=true");
    }
}

/// What dumb-init refuses, pidguard refuses too, with its own usage exit code 125 (dumb-init's is 1).
#[test]
fn usage_errors_exit_125_where_dumb_init_exits_1() {
    for args in [
        &["-r", "15"][..],
        &["-r", "99:1"],
        &["-r", "15:x"],
        &["--bogus"],
    ] {
        for (name, argv, want) in [
            ("dumb-init", vec![DUMB_INIT.to_string()], 1),
            (
                "pidguard",
                vec![pidguard_as_dumb_init().to_string_lossy().into_owned()],
                125,
            ),
        ] {
            let dir = dir_for("usage", name);
            let argv = [argv, args.iter().map(|s| s.to_string()).collect()].concat();
            let r = Running::start(&argv, &["true"], false, &dir);
            assert_eq!(r.wait(), want, "{name} {args:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Under a real Docker engine: a dumb-init image, and the same image switched to pidguard.

#[path = "docker/engine.rs"]
mod engine;

/// Two images that differ only in what `/usr/bin/dumb-init` is: Debian's dumb-init (with the libc it
/// links), or pidguard. Busybox gives `sh` and `sleep`. `ENTRYPOINT ["/usr/bin/dumb-init", "--"]`, as
/// dumb-init's README writes it.
fn dumbinit_images() -> Option<[engine::Image; 2]> {
    engine::start(|| engine::not_static(&[pidguard()]))?;
    let suite = engine::suite();
    let mut images = Vec::new();
    for (what, init) in [
        ("dumbinit-reference", PathBuf::from(DUMB_INIT)),
        ("dumbinit-pidguard", pidguard()),
    ] {
        let ctx = engine::TempDir::new(&suite.name("dumbinit-context"));
        let root = ctx.0.join("rootfs");
        for dir in ["bin", "usr/bin", "lib/x86_64-linux-gnu", "lib64", "tmp"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        let copy = |from: &str, to: &str| {
            std::fs::copy(from, root.join(to)).unwrap_or_else(|e| panic!("copy {from}: {e}"));
        };
        copy(init.to_str().unwrap(), "usr/bin/dumb-init");
        copy(
            "/lib/x86_64-linux-gnu/libc.so.6",
            "lib/x86_64-linux-gnu/libc.so.6",
        );
        copy("/lib64/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2");
        copy("/bin/busybox", "bin/busybox");
        for applet in ["sh", "sleep", "cat"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
        }
        std::fs::write(
            ctx.0.join("Dockerfile"),
            "FROM scratch\nCOPY rootfs/ /\nUSER 65532\n\
             ENTRYPOINT [\"/usr/bin/dumb-init\", \"--\"]\n",
        )
        .unwrap();
        images.push(engine::Image::build(
            what,
            &ctx.0.join("Dockerfile"),
            &ctx.0,
            &[],
        ));
    }
    let pidguard = images.pop().unwrap();
    let reference = images.pop().unwrap();
    Some([reference, pidguard])
}

/// `docker stop` of `sh -c 'sleep 600'` (SIGTERM to the group: both end, 143, long before the
/// timeout), `docker kill -s INT` without a terminal (130), and the program's own exit code.
#[test]
fn a_dumb_init_image_switched_to_pidguard_behaves_the_same_under_docker() {
    let Some(images) = dumbinit_images() else {
        return;
    };
    let results: Vec<(&str, String)> = images
        .iter()
        .zip(["dumb-init", "pidguard"])
        .map(|(image, name)| {
            let stop = engine::Container::start(image, &[], &["sh", "-c", "sleep 600"]);
            engine::docker_ok(&["stop", "-t", "60", &stop.name]);
            let int = engine::Container::start(image, &[], &["sh", "-c", "sleep 600"]);
            engine::eventually(
                "the sleep to start",
                || int.exec(&["cat", "/proc/1/task/1/children"]).stdout,
                |s| !s.trim().is_empty(),
            );
            engine::docker_ok(&["kill", "-s", "INT", &int.name]);
            let (ran, out) = engine::Container::run(image, &[], &["sh", "-c", "exit 7"]);
            (
                name,
                format!(
                    "stop={} int={} exit={} run={:?}",
                    stop.exit_code(),
                    int.wait(),
                    ran.exit_code(),
                    out.code
                ),
            )
        })
        .collect();
    assert_same("docker", &results, "stop=143 int=130 exit=7 run=Some(7)");
}
