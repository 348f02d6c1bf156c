//! Files pidguard reads from the image (/etc/passwd, /etc/group, /etc/hosts, a seccomp profile) hold
//! whatever the image put there. A FIFO, a device or a directory at one of those paths is refused at
//! once with a one-line reason (src/fsread.rs); it never makes PID 1 or `pidguard probe` wait.
//!
//! Each case is the release binary as PID 1 of a new PID and mount namespace, with the hostile file
//! bind-mounted over the real path. A hang is caught by the bounded wait of `Pid1::wait`.

mod common;

use common::{Pid1, USER, run, scratch};
use std::path::{Path, PathBuf};

fn fifo(dir: &Path) -> PathBuf {
    let path = dir.join("fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo");
    path
}

/// The one-line error and exit 125 of a start that read `path` and found `what`.
fn assert_refused(out: &common::Output, path: &str, what: &str) {
    assert_eq!(out.code, Some(125), "stderr: {}", out.stderr);
    let want = format!("cannot read {path}: it is {what}, not a regular file");
    assert!(out.stderr.contains(&want), "stderr: {}", out.stderr);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
}

#[test]
fn a_fifo_at_etc_passwd_is_refused_at_once() {
    let dir = scratch("fifo-passwd");
    let fifo = fifo(&dir);
    let out = Pid1::start_over(
        &[(&fifo, "/etc/passwd")],
        &["--user", "nonroot", "/bin/true"],
    )
    .wait();
    assert_refused(&out, "/etc/passwd", "a FIFO");
}

#[test]
fn a_fifo_at_etc_group_is_refused_at_once() {
    let dir = scratch("fifo-group");
    let fifo = fifo(&dir);
    let args = ["--user", USER, "--groups", "staff", "/bin/true"];
    let out = Pid1::start_over(&[(&fifo, "/etc/group")], &args).wait();
    assert_refused(&out, "/etc/group", "a FIFO");
}

#[test]
fn a_device_as_seccomp_profile_is_refused() {
    let dir = scratch("fifo-profile");
    let fifo = fifo(&dir);
    let out = run(&["--seccomp", fifo.to_str().unwrap(), "/bin/true"]);
    assert_refused(
        &out,
        &format!("seccomp profile {}", fifo.display()),
        "a FIFO",
    );
    let out = run(&["--seccomp", "/dev/zero", "/bin/true"]);
    assert_refused(&out, "seccomp profile /dev/zero", "a character device");
}

/// A FIFO at /etc/hosts fails the probe at once, saying what is there, instead of a probe that
/// outlasts its `--timeout` (or a bare "cannot resolve" that sends the user looking for the name).
#[test]
fn a_fifo_at_etc_hosts_does_not_hold_the_probe() {
    let dir = scratch("fifo-hosts");
    let fifo = fifo(&dir);
    let args = ["probe", "--timeout", "2s", "http://web:8080/"];
    let out = Pid1::start_over(&[(&fifo, "/etc/hosts")], &args).wait();
    assert_eq!(out.code, Some(1), "stderr: {}", out.stderr);
    assert!(
        out.stderr
            .contains("cannot resolve \"web\": cannot read /etc/hosts: it is a FIFO"),
        "{}",
        out.stderr
    );
}
