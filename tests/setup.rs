//! Root-first set-up (`--setup`), as real PID 1: the steps an official image's entrypoint script does
//! as root before `exec gosu app "$@"`, and what they must not be able to do. Also the pattern that
//! works without `--setup`: an entrypoint script that does the root work and ends with
//! `exec pidguard --user app -- "$@"`.

mod common;

use common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Writes an executable shell script (run by the host's /bin/sh) and returns its path.
fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

/// A directory owned by root, mode 0755: what a fresh volume looks like to a non-root program.
fn root_owned_dir(dir: &Path, name: &str) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir(&d).unwrap();
    std::os::unix::fs::chown(&d, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

fn sh(script: &str) -> [&str; 4] {
    ["--", "/bin/sh", "-c", script]
}

#[test]
fn a_step_chowns_a_root_owned_volume_and_the_program_writes_there() {
    let dir = scratch("setup-chown");
    let data = root_owned_dir(&dir, "data");
    // A command with arguments, no script: what `chown -R app /data` in an entrypoint script was.
    let chown = format!("/bin/chown -R 65532:65532 {}", data.display());
    let step = script(
        &dir,
        "look",
        &format!(
            "echo looking at myself; cat /proc/self/status > {d}/step-status",
            d = dir.display(),
        ),
    );
    let program = format!(
        "echo written > {v}/file && cat /proc/1/status > {d}/pid1-status",
        v = data.display(),
        d = dir.display()
    );
    let mut args = vec!["--setup", &chown, "--setup", &step];
    args.extend(sh(&program));
    let out = run(&args);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    // The step's output goes to the container's log (PID 1's stdout).
    assert!(out.stdout.contains("looking at myself"), "{}", out.stdout);
    let file = data.join("file");
    assert_eq!(read(&file), "written\n");
    assert_eq!(std::fs::metadata(&file).unwrap().uid(), 65532);
    // The step: root with exactly CHOWN, DAC_OVERRIDE and FOWNER, nothing to regain, filtered.
    let step_status = status_map(&read(&dir.join("step-status")));
    assert_eq!(step_status["Uid"].split_whitespace().next(), Some("0"));
    for set in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(step_status[set], "000000000000000b", "{set}");
    }
    assert_eq!(step_status["CapInh"], "0000000000000000");
    assert_eq!(step_status["CapAmb"], "0000000000000000");
    assert_eq!(step_status["NoNewPrivs"], "1");
    assert_eq!(step_status["Seccomp"], "2");
    // Then everything is dropped exactly as without a step.
    let pid1 = status_map(&read(&dir.join("pid1-status")));
    assert_eq!(pid1["Uid"].split_whitespace().next(), Some("65532"));
    assert_eq!(pid1["CapEff"], "0000000000000000");
    assert_eq!(pid1["CapBnd"], "0000000000000000");
    assert_eq!(pid1["NoNewPrivs"], "1");
    assert_eq!(pid1["Seccomp"], "2");
}

#[test]
fn steps_run_in_order_and_a_failing_step_stops_everything_with_125() {
    let dir = scratch("setup-fail");
    let log = dir.join("order");
    let first = script(&dir, "first", &format!("echo first >> {}", log.display()));
    let failing = script(
        &dir,
        "failing",
        &format!("echo failing >> {}; exit 3", log.display()),
    );
    let never = script(&dir, "never", &format!("echo never >> {}", log.display()));
    let marker = dir.join("program-ran");
    let program = format!("touch {}", marker.display());
    let mut args = vec!["--setup", &first, "--setup", &failing, "--setup", &never];
    args.extend(sh(&program));
    let out = run(&args);
    assert_eq!(out.code, Some(125), "stderr: {}", out.stderr);
    assert_eq!(read(&log), "first\nfailing\n");
    assert!(!marker.exists(), "the program ran");
    assert!(
        out.stderr.contains(&format!(
            "set-up step 2 of 3 ({failing}) failed: exited with 3"
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("the program was not started"));
}

#[test]
fn a_step_killed_by_a_signal_is_a_failure_naming_the_signal() {
    let dir = scratch("setup-killed");
    let step = script(&dir, "crash", "kill -SEGV $$");
    let marker = dir.join("program-ran");
    let program = format!("touch {}", marker.display());
    let mut args = vec!["--setup", &step];
    args.extend(sh(&program));
    let out = run(&args);
    assert_eq!(out.code, Some(125), "stderr: {}", out.stderr);
    assert!(out.stderr.contains("killed by SIGSEGV"), "{}", out.stderr);
    assert!(!marker.exists());
}

#[test]
fn a_step_that_cannot_be_found_or_run_is_125_before_any_step_runs() {
    let dir = scratch("setup-missing");
    let log = dir.join("ran");
    let first = script(&dir, "first", &format!("touch {}", log.display()));
    let out = run(&[
        "--setup",
        &first,
        "--setup",
        "no-such-step-xyz",
        "--",
        "/bin/true",
    ]);
    assert_eq!(out.code, Some(125), "stderr: {}", out.stderr);
    assert!(out.stderr.contains("no-such-step-xyz"), "{}", out.stderr);
    assert!(
        !log.exists(),
        "the first step ran although the second cannot"
    );
    let plain = dir.join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\n").unwrap();
    let plain = plain.to_string_lossy().into_owned();
    let out = run(&["--setup", &plain, "--", "/bin/true"]);
    assert_eq!(out.code, Some(125), "stderr: {}", out.stderr);
    assert!(out.stderr.contains("cannot execute it"), "{}", out.stderr);
}

/// A secret of another user, mode 0600: only CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH reads it as root.
fn others_secret(dir: &Path) -> PathBuf {
    let secret = dir.join("secret");
    std::fs::write(&secret, "s3cret\n").unwrap();
    std::os::unix::fs::chown(&secret, Some(1234), Some(1234)).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    secret
}

#[test]
fn a_step_cannot_do_what_its_capabilities_do_not_allow() {
    let dir = scratch("setup-caps");
    let secret = others_secret(&dir);
    let seen = dir.join("seen");
    let step = script(
        &dir,
        "read-secret",
        &format!(
            "cat {s} > {o} 2>/dev/null || echo denied > {o}",
            s = secret.display(),
            o = seen.display()
        ),
    );
    // The default set has DAC_OVERRIDE: the root step reads it (the case below can fail).
    let out = run(&["--setup", &step, "--", "/bin/true"]);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(read(&seen), "s3cret\n");
    // CHOWN alone: root without DAC_OVERRIDE or DAC_READ_SEARCH is refused like anyone else.
    let out = run(&["--setup-cap", "CHOWN", "--setup", &step, "--", "/bin/true"]);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(read(&seen), "denied\n");
    // Nor can it take a capability back: a setuid-root or file-capability binary gains nothing
    // under no_new_privs, and capsh/setpriv cannot raise what the bounding set lost.
    let caps = dir.join("caps");
    let step = script(
        &dir,
        "caps",
        &format!(
            "grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status > {}",
            caps.display()
        ),
    );
    let out = run(&["--setup-cap", "", "--setup", &step, "--", "/bin/true"]);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    let caps = status_map(&read(&caps));
    for set in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(caps[set], "0000000000000000", "{set}");
    }
}

#[test]
fn a_capability_the_container_lacks_is_refused_with_125() {
    let dir = scratch("setup-lacks");
    let log = dir.join("ran");
    let step = script(&dir, "step", &format!("touch {}", log.display()));
    // `docker run --cap-drop SYS_TIME`: root without SYS_TIME in its bounding set, so exec gives
    // pidguard none.
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .args(["setpriv", "--bounding-set", "-sys_time"])
        .arg(pidguard())
        .args([
            "--setup-cap",
            "SYS_TIME,CHOWN",
            "--setup",
            &step,
            "--",
            "/bin/true",
        ])
        .env("PIDGUARD_USER", USER)
        .env(
            "PIDGUARD_STATUS_SOCKET",
            format!("pidguard-test-lacks-{}", std::process::id()),
        )
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "stderr: {stderr}");
    assert!(stderr.contains("SYS_TIME"), "{stderr}");
    assert!(stderr.contains("--cap-add SYS_TIME"), "{stderr}");
    assert!(!log.exists(), "the step ran");
}

#[test]
fn sigterm_during_a_long_step_stops_it_and_the_program_never_starts() {
    let dir = scratch("setup-term");
    let started = dir.join("started");
    let marker = dir.join("program-ran");
    // The step's child (sleep) is in the step's process group: it gets SIGTERM too.
    let step = script(
        &dir,
        "long",
        &format!("touch {}; sleep 1000", started.display()),
    );
    let program = format!("touch {}", marker.display());
    let mut args = vec!["--setup", &step];
    args.extend(sh(&program));
    let pg = Pid1::start(&args);
    wait_until("the step to start", || started.exists());
    pg.signal(libc::SIGTERM);
    let out = pg.wait();
    assert_eq!(
        out.code,
        Some(128 + libc::SIGTERM),
        "stderr: {}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("received SIGTERM during set-up step 1 of 1"),
        "{}",
        out.stderr
    );
    assert!(!marker.exists(), "the program ran");
}

#[test]
fn a_step_that_ignores_sigterm_is_killed_after_grace() {
    let dir = scratch("setup-stubborn");
    let started = dir.join("started");
    let marker = dir.join("program-ran");
    let step = script(
        &dir,
        "stubborn",
        &format!(
            "trap '' TERM INT; touch {}; while :; do sleep 1; done",
            started.display()
        ),
    );
    let program = format!("touch {}", marker.display());
    let mut args = vec!["--grace", "1s", "--setup", &step];
    args.extend(sh(&program));
    let pg = Pid1::start(&args);
    wait_until("the step to start", || started.exists());
    pg.signal(libc::SIGINT);
    let out = pg.wait();
    assert_eq!(out.code, Some(128 + libc::SIGINT), "stderr: {}", out.stderr);
    assert!(out.stderr.contains("sending SIGKILL"), "{}", out.stderr);
    assert!(!marker.exists(), "the program ran");
}

#[test]
fn what_a_step_leaves_running_is_ended_and_reaped_before_the_program() {
    let dir = scratch("setup-leftover");
    let pidfile = dir.join("daemon-pid");
    let step = script(
        &dir,
        "leaves-a-daemon",
        &format!("sleep 1000 & echo $! > {}", pidfile.display()),
    );
    // The program (uid 65532) looks for the root daemon in the namespace's own /proc: neither
    // running nor a zombie.
    let program = format!(
        "p=$(cat {}); if [ -d /proc/$p ]; then echo still-there; else echo gone; fi",
        pidfile.display()
    );
    let mut args = vec!["--grace", "2s", "--setup", &step];
    args.extend(sh(&program));
    let out = run(&args);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout.trim(), "gone");
    assert!(
        out.stderr.contains("left processes running"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_entrypoint_script_that_ends_in_exec_pidguard_makes_pidguard_pid_1() {
    // The pattern that works without --setup: a shell script is PID 1, does the root work, and
    // `exec` keeps the pid, so pidguard becomes PID 1 and drops everything before the program.
    let dir = scratch("setup-entrypoint");
    let data = root_owned_dir(&dir, "data");
    let entrypoint = script(
        &dir,
        "docker-entrypoint.sh",
        &format!(
            "set -e\nchown -R 65532:65532 {v}\nexec {pg} --user 65532 -- \"$@\"",
            v = data.display(),
            pg = pidguard().display()
        ),
    );
    let program = format!(
        "echo written > {v}/file && cat /proc/1/status",
        v = data.display()
    );
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .args([&entrypoint, "/bin/sh", "-c", &program])
        .env_remove("PIDGUARD_USER")
        .env(
            "PIDGUARD_STATUS_SOCKET",
            format!("pidguard-test-ep-{}", std::process::id()),
        )
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid1 = status_map(&stdout);
    assert_eq!(pid1["Name"], "pidguard");
    assert_eq!(pid1["Uid"].split_whitespace().next(), Some("65532"));
    assert_eq!(pid1["CapEff"], "0000000000000000");
    assert_eq!(pid1["NoNewPrivs"], "1");
    assert_eq!(std::fs::metadata(data.join("file")).unwrap().uid(), 65532);
}

#[test]
fn a_non_root_start_skips_the_steps_and_runs_the_program() {
    // OpenShift, runAsUser, docker run --user: the identity cannot do root work, and the platform
    // prepared the volume. The steps are skipped (said at info level), the program runs.
    let dir = scratch("setup-nonroot");
    let marker = dir.join("step-ran");
    let ran = dir.join("program-ran");
    let step = format!("/bin/touch {}", marker.display());
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .args([
            "setpriv",
            "--reuid",
            "1000680000",
            "--regid",
            "0",
            "--clear-groups",
        ])
        .arg(pidguard())
        .args([
            "--log-level",
            "info",
            "--setup",
            &step,
            "--user",
            USER,
            "--",
        ])
        .args(["/bin/touch", ran.to_str().unwrap()])
        .env_remove("PIDGUARD_USER")
        .env(
            "PIDGUARD_STATUS_SOCKET",
            format!("pidguard-test-nonroot-{}", std::process::id()),
        )
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(!marker.exists(), "the step ran");
    assert!(ran.exists(), "the program did not run");
    assert!(
        stderr.contains("not root: the 1 --setup step(s) are root work and are skipped"),
        "{stderr}"
    );
}
