//! The hostile program: each attack runs as the program (uid 65532), with pidguard as real PID 1, and
//! checks that PID 1 still does its job afterwards: it reaps an orphan, forwards SIGTERM (the program
//! dies of it: 143, not a SIGKILL at the end of the grace), keeps its log short and uses almost no
//! CPU. One helper, [`attack`], runs the scenario; each attack is one test.

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;

/// What an attack left behind, for the checks particular to it.
struct Aftermath {
    /// What the program wrote after its attack: `done ok` or `done refused: ...`.
    report: String,
    stderr: String,
}

/// PID 1's user+system CPU time in clock ticks, from /proc/PID/stat (fields after the command).
fn cpu_ticks(pid: i32) -> u64 {
    let stat = read(Path::new(&format!("/proc/{pid}/stat")));
    let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// Whether the status socket must still answer after the attack. (A `poll` that the attack broke
/// pauses the endpoints by design: README, "PID 1 never spins".)
#[derive(PartialEq)]
enum Probe {
    Answers,
    NotChecked,
}

/// Zombie children of the host pid `pid` (pidguard as a subreaper, not PID 1).
fn zombie_children(pid: i32) -> Vec<String> {
    read(Path::new(&format!("/proc/{pid}/task/{pid}/children")))
        .split_whitespace()
        .map(|c| read(Path::new(&format!("/proc/{c}/stat"))))
        .filter(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
        .collect()
}

/// Runs `code` (python) as the program's attack, then makes an orphan, and checks PID 1.
fn attack(name: &str, args: &[&str], code: &str, probe: Probe) -> Aftermath {
    attack_as(true, name, args, code, probe)
}

/// [`attack`], with pidguard as PID 1 of a new namespace or (`in_namespace` false) as a subreaper;
/// `PIDGUARD` in `code` stands for pidguard's pid as the program sees it.
fn attack_as(in_namespace: bool, name: &str, args: &[&str], code: &str, probe: Probe) -> Aftermath {
    let code = code.replace("PIDGUARD", if in_namespace { "1" } else { "os.getppid()" });
    let dir = scratch(&format!("hostile-{name}"));
    let report = dir.join("report");
    let orphan_gone = dir.join("orphan");
    let program = format!(
        "import os, sys, time, resource\n\
         try:\n\
         {}\n    r = 'done ok'\n\
         except OSError as e:\n    r = 'done refused: %s' % e\n\
         if os.fork() == 0:\n    \
             if os.fork() == 0:\n        time.sleep(0.3); open('{}', 'w').close(); os._exit(0)\n    \
             os._exit(0)\n\
         os.wait()\n\
         open('{}', 'w').write(r)\n\
         time.sleep(300)\n",
        code.lines()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        orphan_gone.display(),
        report.display(),
    );
    let mut all = vec!["--grace", "20s"];
    all.extend(args);
    all.extend(["/usr/bin/python3", "-c", &program]);
    let socket = format!("pidguard-hostile-{name}-{}", std::process::id());
    let env = [("PIDGUARD_STATUS_SOCKET", socket.as_str())];
    let pid1 = if in_namespace {
        Pid1::start_env(&all, &env)
    } else {
        Pid1::plain_env(&all, &env)
    };
    let pid = pid1.pid();
    wait_until("the attack and the orphan", || {
        read(&report).starts_with("done") && orphan_gone.exists()
    });
    let before = cpu_ticks(pid);
    // The orphan exited after the attack: PID 1 must reap it whatever the attack broke.
    // (As a subreaper pidguard shares the host's PID namespace: only its own children count.)
    wait_until("the orphan reaped", || {
        zombie_children(pid).is_empty() && (!in_namespace || zombies_in_namespace(pid).is_empty())
    });
    std::thread::sleep(Duration::from_secs(2));
    let spent = cpu_ticks(pid) - before;
    assert!(
        spent <= 20,
        "{name}: PID 1 used {spent} ticks of CPU while idle"
    );
    if probe == Probe::Answers {
        for _ in 0..3 {
            // From inside pidguard's container: the probe trusts no other.
            let out = in_container_of(pid, &pidguard())
                .arg("probe")
                .env("PIDGUARD_STATUS_SOCKET", &socket)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name}: probe: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    pid1.signal(15);
    let out = pid1.wait();
    assert_eq!(
        out.code,
        Some(128 + 15),
        "{name}: the program must die of the forwarded SIGTERM, inside the grace: {}",
        out.stderr
    );
    assert!(
        out.stderr.len() < 4096,
        "{name}: {} bytes of log: {}",
        out.stderr.len(),
        &out.stderr[..out.stderr.len().min(2000)]
    );
    Aftermath {
        report: read(&report),
        stderr: out.stderr,
    }
}

const LOST: &str = "the health endpoints";

#[test]
fn prlimit_nofile_1_on_pid1() {
    // The reproduction of issue 13, as a user runs it (the default filter).
    let a = attack(
        "nofile1",
        &[],
        "resource.prlimit(PIDGUARD, resource.RLIMIT_NOFILE, (1, 1))",
        Probe::NotChecked,
    );
    assert!(a.stderr.matches(LOST).count() <= 1, "{}", a.stderr);
}

#[test]
fn prlimit_nofile_1_on_pid1_without_a_filter() {
    // Without seccomp nothing can stop the prlimit itself: this is the loop's own defence.
    let a = attack(
        "nofile1-unconfined",
        // No no_new_privs: no guard filter and no Landlock scope, which refuse the attack itself.
        &["--seccomp", "unconfined", "--allow-new-privs"],
        "resource.prlimit(PIDGUARD, resource.RLIMIT_NOFILE, (1, 1))",
        Probe::NotChecked,
    );
    assert_eq!(a.report, "done ok", "{}", a.stderr);
    assert_eq!(a.stderr.matches(LOST).count(), 1, "said once: {}", a.stderr);
}

#[test]
fn prlimit_nofile_0_on_pid1_without_a_filter() {
    let a = attack(
        "nofile0-unconfined",
        // No no_new_privs: no guard filter and no Landlock scope, which refuse the attack itself.
        &["--seccomp", "unconfined", "--allow-new-privs"],
        "resource.prlimit(PIDGUARD, resource.RLIMIT_NOFILE, (0, 0))",
        Probe::NotChecked,
    );
    assert_eq!(a.report, "done ok", "{}", a.stderr);
    assert_eq!(a.stderr.matches(LOST).count(), 1, "said once: {}", a.stderr);
}

#[test]
fn prlimit_nofile_1_on_pidguard_as_a_subreaper_without_a_filter() {
    let a = attack_as(
        false,
        "nofile1-plain",
        // No no_new_privs: no guard filter and no Landlock scope, which refuse the attack itself.
        &["--seccomp", "unconfined", "--allow-new-privs"],
        "resource.prlimit(PIDGUARD, resource.RLIMIT_NOFILE, (1, 1))",
        Probe::NotChecked,
    );
    assert_eq!(a.report, "done ok", "{}", a.stderr);
    assert_eq!(a.stderr.matches(LOST).count(), 1, "said once: {}", a.stderr);
}

#[test]
fn signal_flood_at_pid1() {
    // 20,000 signals PID 1 forwards: each is a debug line at most, and the program gets them.
    let a = attack(
        "sigflood",
        // The guard and Landlock's signal scope refuse kill(PID 1): test the loop without them.
        &["-vv", "--seccomp", "unconfined", "--allow-new-privs"],
        "import signal\n\
         signal.signal(signal.SIGUSR1, signal.SIG_IGN)\n\
         for _ in range(20000): os.kill(PIDGUARD, signal.SIGUSR1)",
        Probe::Answers,
    );
    assert_eq!(a.report, "done ok", "{}", a.stderr);
}

#[test]
fn prlimit_address_space_1mb_on_pid1_without_a_filter() {
    // PID 1 must not allocate anew in its loop: with RLIMIT_AS far below what it has mapped, any
    // fresh allocation would abort it (and 134 would look like the program's crash).
    let a = attack(
        "as1m-unconfined",
        // No no_new_privs: no guard filter and no Landlock scope, which refuse the attack itself.
        &[
            "--seccomp",
            "unconfined",
            "--allow-new-privs",
            "--metrics",
            "-vv",
        ],
        "resource.prlimit(PIDGUARD, resource.RLIMIT_AS, (1 << 20, 1 << 20))\n\
         import signal\n\
         for s in (signal.SIGUSR1, signal.SIGHUP, signal.SIGWINCH):\n    \
             signal.signal(s, signal.SIG_IGN); os.kill(PIDGUARD, s)",
        Probe::Answers,
    );
    assert_eq!(a.report, "done ok", "{}", a.stderr);
}

#[test]
fn stopped_program_is_woken_for_shutdown() {
    let dir = scratch("hostile-stopped");
    let ready = dir.join("ready");
    let program = format!(
        "import os, signal, time\n\
         signal.signal(signal.SIGTERM, lambda *a: os._exit(7))\n\
         open('{}', 'w').close()\n\
         os.kill(os.getpid(), signal.SIGSTOP)\n\
         time.sleep(300)\n",
        ready.display()
    );
    let pid1 = Pid1::start(&["--grace", "60s", "/usr/bin/python3", "-c", &program]);
    let pid = pid1.pid();
    wait_until("the program stopped itself", || {
        ready.exists()
            && read(Path::new(&format!("/proc/{pid}/task/{pid}/children")))
                .split_whitespace()
                .next()
                .is_some_and(|c| {
                    read(Path::new(&format!("/proc/{c}/stat")))
                        .rsplit(')')
                        .next()
                        .is_some_and(|r| r.trim_start().starts_with('T'))
                })
    });
    pid1.signal(15);
    let out = pid1.wait();
    assert_eq!(
        out.code,
        Some(7),
        "its SIGTERM handler ran (woken by SIGCONT), not SIGKILL after the grace: {}",
        out.stderr
    );
}

#[test]
fn a_stopped_terminal_does_not_freeze_pid1() {
    // The program suspends output on the terminal it shares with PID 1 (what Ctrl-S does), then
    // crashes: PID 1's warning cannot be written. A blocking write would hold PID 1 in write(2),
    // deaf to SIGCHLD and SIGTERM, until someone resumes the terminal. pidguard must exit with the
    // program's status at once, the line dropped and counted.
    let prog = "import termios, os, signal, time; termios.tcflow(1, termios.TCOOFF); \
                time.sleep(0.2); os.kill(os.getpid(), signal.SIGSEGV)";
    let driver = format!(
        r#"
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp("unshare", ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
        "{pg}", "--user", "{user}", "--", "/usr/bin/python3", "-c", {prog:?}])
deadline = time.time() + 20
while time.time() < deadline:
    p, status = os.waitpid(pid, os.WNOHANG)
    if p:
        print("exit", os.waitstatus_to_exitcode(status))
        sys.exit(0)
    time.sleep(0.05)
print("still running after 20 s")
os.kill(pid, 9)
"#,
        pg = pidguard().display(),
        user = USER,
    );
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", &driver])
        .env(
            "PIDGUARD_STATUS_SOCKET",
            format!("pidguard-test-xoff-{}", std::process::id()),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.trim(), "exit 139", "{out:?}");
}
