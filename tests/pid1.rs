//! pidguard as PID 1: reaping, signal forwarding, rewriting, graceful stop, exit codes, job control.
//! Each test is a scenario a tini user would recognise, run on the real binary in a new PID namespace.

mod common;

use common::*;
use std::path::Path;

const SIGHUP: i32 = 1;
const SIGUSR1: i32 = 10;
const SIGUSR2: i32 = 12;
const SIGTERM: i32 = 15;
const SIGWINCH: i32 = 28;

#[test]
fn ten_thousand_orphans_leave_no_zombie() {
    let out = run(&["--", &example("orphans"), "10000"]);
    assert_eq!(out.stdout.trim(), "zombies=0", "stderr: {}", out.stderr);
    assert_eq!(out.code, Some(0));
}

#[test]
fn exit_code_of_the_program_is_passed_on() {
    assert_eq!(run(&[&example("exit_with"), "3"]).code, Some(3));
    assert_eq!(run(&[&example("exit_with"), "0"]).code, Some(0));
    assert_eq!(
        run(&[&example("exit_with"), "signal:TERM"]).code,
        Some(128 + 15)
    );
    assert_eq!(
        run(&[&example("exit_with"), "signal:KILL"]).code,
        Some(128 + 9)
    );
}

#[test]
fn remap_exit_turns_codes_into_success() {
    assert_eq!(
        run(&["-e", "143", &example("exit_with"), "signal:TERM"]).code,
        Some(0)
    );
    assert_eq!(
        run(&["-e", "3", "-e", "4", &example("exit_with"), "4"]).code,
        Some(0)
    );
    assert_eq!(run(&["-e", "3", &example("exit_with"), "5"]).code, Some(5));
}

#[test]
fn missing_and_unexecutable_programs() {
    let out = run(&["no-such-program-anywhere"]);
    assert_eq!(out.code, Some(127));
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("not found"), "{}", out.stderr);

    let out = run(&["/etc/passwd"]);
    assert_eq!(out.code, Some(126));
    assert!(
        out.stderr.contains("cannot execute") && out.stderr.contains("denied"),
        "{}",
        out.stderr
    );

    let out = run(&["/nonexistent/dir/prog"]);
    assert_eq!(out.code, Some(127), "{}", out.stderr);
}

#[test]
fn invalid_configuration_never_starts_the_program() {
    let dir = scratch("badcfg");
    let marker = dir.join("started");
    let touch = format!("touch {}", marker.display());
    for args in [
        vec!["--grace", "5", "sh", "-c", &touch],
        vec!["--rewrite", "TERM:NOPE", "sh", "-c", &touch],
        vec!["--bogus", "sh", "-c", &touch],
        vec!["-e", "300", "sh", "-c", &touch],
    ] {
        let out = run(&args);
        assert_eq!(out.code, Some(125), "{args:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr.starts_with("pidguard: error: "),
            "{}",
            out.stderr
        );
        assert!(!marker.exists(), "{args:?} started the program");
    }
    let out = Pid1::start_env(&["sh", "-c", &touch], &[("PIDGUARD_GRACE", "forever")]).wait();
    assert_eq!(out.code, Some(125));
    assert!(!marker.exists());
}

/// Sends each signal to PID 1 in turn and waits until the recorder saw it.
fn send_all_and_check(pid1: &Pid1, files: &[&Path]) {
    for sig in 1..=64 {
        if !pidguard::signals::forwardable(sig) {
            continue;
        }
        pid1.signal(sig);
        for f in files {
            wait_until(&format!("signal {sig} in {f:?}"), || {
                read(f).lines().any(|l| l == format!("SIG {sig}"))
            });
        }
    }
}

#[test]
fn every_catchable_signal_reaches_the_program() {
    let dir = scratch("allsig");
    let rec = dir.join("rec");
    let rec_s = rec.to_str().unwrap();
    // SIGTERM and SIGINT start the grace period: make it long enough for the whole test.
    let pid1 = Pid1::start(&[
        "--grace",
        "10m",
        &example("sigrecord"),
        rec_s,
        "--exit-on",
        "64",
    ]);
    wait_until("recorder ready", || read(&rec).contains("ready"));
    send_all_and_check(&pid1, &[&rec]);
    let out = pid1.wait();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let got: Vec<_> = read(&rec)
        .lines()
        .filter(|l| l.starts_with("SIG"))
        .map(String::from)
        .collect();
    // A stop signal (INT, TERM) is followed by SIGCONT, which wakes a stopped program for it.
    let want: Vec<_> = (1..=64)
        .filter(|&s| pidguard::signals::forwardable(s))
        .flat_map(|s| match s {
            2 | 15 => vec![s, 18],
            s => vec![s],
        })
        .map(|s| format!("SIG {s}"))
        .collect();
    assert_eq!(got, want, "each signal exactly once, in order");
}

#[test]
fn kill_process_group_reaches_the_whole_group() {
    for (args, env) in [
        (vec!["-g"], vec![]),
        (vec![], vec![("TINI_KILL_PROCESS_GROUP", "1")]),
        (vec![], vec![("PIDGUARD_KILL_PROCESS_GROUP", "true")]),
    ] {
        let dir = scratch("group");
        let rec = dir.join("rec");
        let child = dir.join("rec.child");
        let rec_s = rec.to_str().unwrap().to_string();
        let sigrecord = example("sigrecord");
        let mut all: Vec<&str> = args.clone();
        all.extend([
            "--grace",
            "10m",
            &sigrecord,
            &rec_s,
            "--child",
            "--exit-on",
            "64",
        ]);
        let pid1 = Pid1::start_env(&all, &env);
        wait_until("both recorders ready", || {
            read(&rec).contains("ready") && read(&child).contains("ready")
        });
        send_all_and_check(&pid1, &[&rec, &child]);
        drop(pid1);
    }
}

#[test]
fn without_group_only_the_program_gets_signals() {
    let dir = scratch("nogroup");
    let rec = dir.join("rec");
    let child = dir.join("rec.child");
    let pid1 = Pid1::start(&[
        "--grace",
        "10m",
        &example("sigrecord"),
        rec.to_str().unwrap(),
        "--child",
    ]);
    wait_until("both recorders ready", || {
        read(&rec).contains("ready") && read(&child).contains("ready")
    });
    pid1.signal(SIGUSR1);
    wait_until("USR1 at the program", || read(&rec).contains("SIG 10"));
    assert!(!read(&child).contains("SIG 10"));
}

#[test]
fn rewrite_changes_and_drops_signals() {
    let dir = scratch("rewrite");
    let rec = dir.join("rec");
    let pid1 = Pid1::start(&[
        "--rewrite",
        "USR1:USR2",
        "--rewrite",
        "HUP:none",
        "--rewrite",
        "TERM:SIGRTMIN+2",
        "--grace",
        "10m",
        &example("sigrecord"),
        rec.to_str().unwrap(),
    ]);
    wait_until("ready", || read(&rec).contains("ready"));
    pid1.signal(SIGUSR1);
    wait_until("USR2", || read(&rec).contains("SIG 12"));
    pid1.signal(SIGHUP);
    pid1.signal(SIGTERM);
    wait_until("RTMIN+2", || read(&rec).contains("SIG 36"));
    pid1.signal(SIGWINCH);
    wait_until("WINCH", || read(&rec).contains("SIG 28"));
    let got = read(&rec);
    assert!(
        !got.contains("SIG 10\n") && !got.contains("SIG 1\n") && !got.contains("SIG 15\n"),
        "{got}"
    );
    let _ = SIGUSR2;
}

#[test]
fn graceful_stop_kills_a_program_that_ignores_sigterm() {
    let pid1 = Pid1::start(&["--grace", "300ms", &example("ignore_term")]);
    // The fixture ignores TERM before it prints; wait for it via its /proc state instead of stdout.
    let pid = pid1.pid();
    wait_until("fixture running", || {
        read(Path::new(&format!("/proc/{pid}/task/{pid}/children")))
            .split_whitespace()
            .next()
            .is_some_and(|c| {
                read(Path::new(&format!("/proc/{c}/status")))
                    .lines()
                    .any(|l| {
                        l.starts_with("SigIgn:")
                            && u64::from_str_radix(l[7..].trim(), 16)
                                .is_ok_and(|m| m & 0x4002 == 0x4002)
                    })
            })
    });
    pid1.signal(SIGTERM);
    let out = pid1.wait();
    assert_eq!(
        out.code,
        Some(128 + 9),
        "pidguard decides: SIGKILL after the grace period; {}",
        out.stderr
    );
    // A warning at the default level, naming both ways out (issue 19: databases and JVMs).
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("grace period of 300ms is over"))
        .unwrap_or_else(|| panic!("no grace line: {}", out.stderr));
    for part in ["pidguard: warn: ", "raise --grace", "--rewrite TERM:INT"] {
        assert!(line.contains(part), "{part}: {line}");
    }
}

#[test]
fn graceful_stop_with_a_cooperative_program_is_prompt_and_clean() {
    let dir = scratch("coop");
    let rec = dir.join("rec");
    let pid1 = Pid1::start(&[
        "--grace",
        "10m",
        &example("sigrecord"),
        rec.to_str().unwrap(),
        "--exit-on",
        "15",
    ]);
    wait_until("ready", || read(&rec).contains("ready"));
    pid1.signal(SIGTERM);
    let out = pid1.wait();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn stop_reaches_grandchildren_that_outlive_the_program() {
    let dir = scratch("gc-stop");
    let file = dir.join("pids");
    let pid1 = Pid1::start(&[
        "-v",
        "--grace",
        "10m",
        &example("grandchildren"),
        "3",
        file.to_str().unwrap(),
        "--stay",
    ]);
    wait_until("grandchildren started", || read(&file).lines().count() == 3);
    pid1.signal(SIGTERM);
    let out = pid1.wait();
    // The program died of the forwarded SIGTERM; its grandchildren got SIGTERM after it and exited.
    assert_eq!(out.code, Some(128 + 15), "{}", out.stderr);
    let log = read(&dir.join("pids.log"));
    assert_eq!(
        log.lines().filter(|l| l.starts_with("TERM ")).count(),
        3,
        "{log}\n{}",
        out.stderr
    );
}

#[test]
fn leftovers_of_an_exited_program_are_stopped_and_nothing_survives() {
    // Not PID 1: pidguard is a subreaper of the host, so surviving processes would be visible here.
    let dir = scratch("gc-left");
    let file = dir.join("pids");
    let out = Pid1::plain(&[
        "--grace",
        "300ms",
        &example("grandchildren"),
        "3",
        file.to_str().unwrap(),
        "--ignore-term",
    ])
    .wait();
    assert_eq!(
        out.code,
        Some(0),
        "the program's own exit code: {}",
        out.stderr
    );
    let pids: Vec<String> = read(&file).lines().map(String::from).collect();
    assert_eq!(pids.len(), 3);
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "grandchild {pid} survived"
        );
    }
    assert!(out.stderr.contains("SIGKILL"), "{}", out.stderr);
}

#[test]
fn not_pid1_becomes_a_subreaper_quietly() {
    let dir = scratch("subreaper");
    let file = dir.join("pids");
    let out = Pid1::plain(&[
        "--grace",
        "5s",
        &example("grandchildren"),
        "2",
        file.to_str().unwrap(),
    ])
    .wait();
    assert_eq!(out.code, Some(0));
    assert_eq!(out.stderr, "", "subreaper notice is debug only");
    assert_eq!(
        read(&dir.join("pids.log")).lines().count(),
        2,
        "orphans were ours to stop"
    );
    let out = Pid1::plain(&["-vv", "true"]).wait();
    assert!(out.stderr.contains("child subreaper"), "{}", out.stderr);
}

/// Starts pidguard as PID 1 from a python wrapper that sets up a signal state (`setup`), prints that
/// state as pidguard will inherit it, then execs. Returns (state given to pidguard, state the program saw),
/// each as (SigBlk, SigIgn) bit masks.
fn signal_state_through_pidguard(setup: &str) -> ((u64, u64), (u64, u64)) {
    let py = format!(
        "import os,signal,sys; signal.signal(signal.SIGPIPE, signal.SIG_DFL); \
         signal.signal(signal.SIGXFSZ, signal.SIG_DFL); signal.pthread_sigmask(signal.SIG_SETMASK, set()); \
         {setup}; sys.stdout.write(open('/proc/self/status').read()); sys.stdout.flush(); \
         os.execv(sys.argv[1], sys.argv[1:])"
    );
    // python runs as PID 1 of the namespace and execs pidguard, which stays PID 1.
    let out = std::process::Command::new("unshare")
        .env("PIDGUARD_USER", USER)
        .args([
            "--pid",
            "--fork",
            "--mount-proc",
            "--kill-child",
            "/usr/bin/python3",
            "-c",
            &py,
        ])
        .arg(pidguard())
        .args(["cat", "/proc/self/status"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let masks: Vec<u64> = text
        .lines()
        .filter_map(|l| {
            l.strip_prefix("SigBlk:")
                .or_else(|| l.strip_prefix("SigIgn:"))
        })
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
        .collect();
    assert_eq!(masks.len(), 4, "{text}");
    ((masks[0], masks[1]), (masks[2], masks[3]))
}

fn bit(sig: i32) -> u64 {
    1 << (sig - 1)
}

#[test]
fn program_inherits_signal_mask_and_ignored_dispositions() {
    // Nothing blocked, nothing ignored: in particular not SIGPIPE, which Rust's runtime ignores.
    let (given, seen) = signal_state_through_pidguard("pass");
    assert_eq!(seen, given);
    assert_eq!(seen.1 & bit(13), 0, "SIGPIPE must not be ignored");
    // What pidguard inherited, the program gets: HUP ignored (nohup), USR1 blocked.
    let (given, seen) = signal_state_through_pidguard(
        "signal.signal(signal.SIGHUP, signal.SIG_IGN); signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})",
    );
    assert_eq!(seen, given);
    assert_eq!((seen.0 & bit(10), seen.1 & bit(1)), (bit(10), bit(1)));
    // An ignored SIGCHLD must not stop PID 1 from seeing exits; the program still gets it ignored.
    let (given, seen) =
        signal_state_through_pidguard("signal.signal(signal.SIGCHLD, signal.SIG_IGN)");
    assert_eq!(seen, given);
    assert_eq!(seen.1 & bit(17), bit(17));
}

#[test]
fn idle_pid1_does_not_wake_up() {
    let pid1 = Pid1::start(&["sleep", "100"]);
    wait_until("program started", || {
        let pid = pid1.pid();
        !read(Path::new(&format!("/proc/{pid}/task/{pid}/children"))).is_empty()
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    let before = pid1.status_field("voluntary_ctxt_switches");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let after = pid1.status_field("voluntary_ctxt_switches");
    assert_eq!(before, after, "PID 1 woke up while nothing happened");
}

#[test]
fn logs_go_to_stderr_never_stdout() {
    let out = run(&["-vvv", "true"]);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.lines().all(|l| l.starts_with("pidguard: ")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("started"));
    let out = run(&["--log-format", "json", "-v", "true"]);
    for line in out.stderr.lines() {
        assert!(
            line.starts_with("{\"time\":\"") && line.ends_with('}'),
            "{line}"
        );
        assert!(line.contains("\"level\":\"info\""), "{line}");
    }
    assert!(!out.stderr.is_empty());
    let out = run(&["true"]);
    assert_eq!(out.stderr, "", "quiet by default");
}

#[test]
fn help_version_license() {
    let out = Pid1::plain(&["--help"]).wait();
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.lines().count() <= 24, "{}", out.stdout);
    let out = Pid1::plain(&["--help-all"]).wait();
    assert_eq!(out.code, Some(0));
    for flag in pidguard::cli::FLAGS {
        assert!(out.stdout.contains(&flag.usage()), "{}", flag.long);
    }
    let out = Pid1::plain(&["--version"]).wait();
    assert!(out.stdout.starts_with("pidguard "));
    let out = Pid1::plain(&["-l"]).wait();
    assert!(out.stdout.contains("MIT"));
}

#[test]
fn subcommands_and_help_topics_print_help() {
    for args in [
        &["help"][..],
        &["help", "all"],
        &["seccomp", "export", "--help"],
        &["probe", "--help"],
        &["audit", "--help"],
        &["help", "audit"],
    ] {
        let out = Pid1::plain(args).wait();
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
        assert!(out.stdout.to_lowercase().contains("usage"), "{args:?}");
        for line in out.stdout.lines() {
            assert!(line.chars().count() <= 80, "{args:?}: {line}");
        }
    }
}

#[test]
fn configuration_mistakes_are_refused_before_the_program_starts() {
    let refused = |args: &[&str], env: &[(&str, &str)], needle: &str| {
        let out = Pid1::start_env(args, env).wait();
        assert_eq!(out.code, Some(125), "{args:?} {env:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(needle),
            "{args:?} {env:?}: {}",
            out.stderr
        );
        assert_eq!(out.stdout, "", "the program never ran");
        out.stderr
    };
    let touch = ["sh", "-c", "echo ran"];
    refused(
        &touch,
        &[("PIDGUARD_GRCAE", "5s")],
        "did you mean PIDGUARD_GRACE?",
    );
    refused(
        &touch,
        &[("PIDGUARD_GRACE", "5")],
        "PIDGUARD_GRACE=5: invalid duration",
    );
    refused(&["--grcae", "5s", "true"], &[], "did you mean --grace?");
    refused(&["--grace", "1s1s", "true"], &[], "largest to the smallest");
    let unresolvable = "http://no-such-host.invalid:8080/h";
    refused(
        &["--health-check", unresolvable, "true"],
        &[],
        "cannot resolve",
    );
    let err = refused(
        &touch,
        &[("PIDGUARD_LOG_FORMAT", "json"), ("PIDGUARD_GRCAE", "1")],
        "GRACE",
    );
    let line = err.trim_end();
    assert!(
        line.starts_with("{\"time\":\"")
            && line.contains("\"level\":\"error\"")
            && !line.contains('\n'),
        "{err}"
    );
}

#[test]
fn options_stop_at_the_program_name() {
    let out = run(&["sh", "-c", "echo $0 $1", "-g", "--grace"]);
    assert_eq!(out.stdout.trim(), "-g --grace");
    assert_eq!(out.code, Some(0));
}

#[test]
fn job_control_works_in_a_terminal() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pty_jobs.py");
    let out = std::process::Command::new("/usr/bin/python3")
        .env("PIDGUARD_USER", USER)
        .env("PS1", "PROMPT> ")
        .arg(script)
        .args(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"])
        .arg(pidguard())
        .args(["/bin/bash", "--norc", "--noprofile", "-i"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("OK"), "{stdout}");
}
