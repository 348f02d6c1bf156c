//! The verdicts on /proc and cgroup files recorded in real containers (tests/audit/, see its
//! README): the recorded files go through the same [`gather_files`] a live audit runs, so these tests
//! cover the parsers, the cgroup resolution for both versions and the checks together.
//!
//! What the recordings cannot hold (the `access(2)` answers, /dev, the setuid walk, the environment)
//! is set as the recorded container had it.

use std::io;
use std::path::PathBuf;

use super::checks::{Verdict, checks};
use super::facts::{Devices, Facts, Reading, Walk, gather_files};

fn dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/audit")
        .join(name)
}

/// The facts of a recording. `pid` is the audit's own pid in that container.
fn recorded(name: &str) -> Facts {
    let root = dir(name);
    assert!(root.is_dir(), "{} is missing", root.display());
    let read = move |path: &str| -> io::Result<Vec<u8>> {
        assert!(path.starts_with('/') && !path.contains(".."), "{path}");
        std::fs::read(root.join(&path[1..]))
    };
    gather_files(&read, 42)
}

/// The directory facts of a hardened container: only /tmp and /dev/shm writable, Docker's 6
/// devices, no setuid files, no secrets.
fn as_hardened(mut f: Facts) -> Facts {
    f.writable = vec!["/dev/shm".into(), "/tmp".into()];
    f.devices = Ok(Devices {
        char_devices: 6,
        ..Devices::default()
    });
    f.setuid = Ok(Walk {
        entries: 30,
        ..Walk::default()
    });
    f.env_names = vec!["PATH".into(), "HOSTNAME".into(), "HOME".into()];
    f
}

/// The directory facts of the careless container: everything writable as root, the host's /dev,
/// the Docker socket, `DB_PASSWORD`.
fn as_careless(mut f: Facts) -> Facts {
    f.writable = ["/", "/dev", "/dev/pts", "/dev/shm", "/tmp"]
        .map(String::from)
        .to_vec();
    f.devices = Ok(Devices {
        char_devices: 90,
        block_names: vec!["loop0".into(), "vda".into()],
        block_devices: 10,
    });
    f.engine_sockets = vec!["/var/run/docker.sock".into()];
    f.setuid = Ok(Walk {
        entries: 30,
        ..Walk::default()
    });
    f.env_names = vec!["PATH".into(), "DB_PASSWORD".into()];
    f
}

fn verdicts(f: &Facts) -> Vec<(&'static str, Verdict, String)> {
    checks(f)
        .into_iter()
        .map(|c| (c.id, c.verdict, c.observed))
        .collect()
}

fn expect(f: &Facts, want: &[(&str, Verdict)]) {
    let all = verdicts(f);
    for (id, v) in want {
        let got = all.iter().find(|c| c.0 == *id).unwrap();
        assert_eq!(got.1, *v, "{id}: {}", got.2);
    }
}

fn observed(f: &Facts, id: &str) -> String {
    checks(f).into_iter().find(|c| c.id == id).unwrap().observed
}

/// The hardened recordings: 64 MiB and 64 pids from cgroup `version`, every check passing but the
/// LSM label (the recording machine has no AppArmor or SELinux).
fn limited_and_passing_but_lsm(f: &Facts, version: u8) {
    assert_eq!(
        f.memory,
        Reading::Limited {
            value: 64 << 20,
            version
        }
    );
    assert_eq!(f.pids, Reading::Limited { value: 64, version });
    for (id, v, seen) in verdicts(f) {
        let want = if id == "lsm.label" {
            Verdict::Warn
        } else {
            Verdict::Pass
        };
        assert_eq!(v, want, "{id}: {seen}");
    }
}

#[test]
fn v1_hardened_passes_all_but_the_missing_lsm() {
    let f = as_hardened(recorded("docker-v1-hardened"));
    limited_and_passing_but_lsm(&f, 1);
    assert_eq!(observed(&f, "seccomp"), "filter mode, 2 filters");
    assert_eq!(
        observed(&f, "pid1.hardening"),
        "PID 1 (pidguard): uid 65532, capabilities none, bounding set empty, no_new_privs on, \
         seccomp filter mode, 2 filters"
    );
}

#[test]
fn v2_hardened_reads_the_limits_of_its_cgroup_namespace() {
    let f = as_hardened(recorded("docker-v2-hardened"));
    limited_and_passing_but_lsm(&f, 2);
    assert_eq!(
        observed(&f, "limits.memory"),
        "memory limit 64 MiB (cgroup v2)"
    );
}

#[test]
fn v2_without_limits_warns() {
    let f = as_hardened(recorded("docker-v2-unlimited"));
    assert_eq!(f.memory, Reading::Unlimited { version: 2 });
    assert_eq!(f.pids, Reading::Unlimited { version: 2 });
    expect(
        &f,
        &[
            ("limits.memory", Verdict::Warn),
            ("limits.pids", Verdict::Warn),
            ("limits.nproc", Verdict::Pass),
        ],
    );
}

#[test]
fn v1_careless_as_pidguards_program() {
    let f = as_careless(recorded("docker-v1-careless"));
    // -v /sys:/sys shows the host's hierarchy: the container's cgroup is found below its root.
    assert_eq!(f.memory, Reading::Unlimited { version: 1 });
    assert_eq!(f.pids, Reading::Unlimited { version: 1 });
    expect(
        &f,
        &[
            ("identity.uid", Verdict::Fail),
            ("identity.gid", Verdict::Warn),
            ("identity.userns", Verdict::Fail),
            ("caps.effective", Verdict::Pass),
            ("caps.bounding", Verdict::Pass),
            ("no_new_privs", Verdict::Pass),
            ("seccomp", Verdict::Pass),
            ("fs.rootfs", Verdict::Warn),
            ("fs.tmp", Verdict::Warn),
            ("fs.dev_shm", Verdict::Warn),
            ("fs.writable_exec", Verdict::Warn),
            ("mounts.engine_socket", Verdict::Fail),
            ("mounts.proc", Verdict::Fail),
            ("mounts.sys", Verdict::Fail),
            ("mounts.host_root", Verdict::Pass),
            ("privileged.caps", Verdict::Pass),
            ("privileged.devices", Verdict::Fail),
            ("ns.pid", Verdict::Pass),
            ("ns.net", Verdict::Pass),
            ("limits.memory", Verdict::Warn),
            ("limits.pids", Verdict::Warn),
            ("env.secrets", Verdict::Fail),
            ("pid1.pidguard", Verdict::Pass),
            ("pid1.hardening", Verdict::Warn),
        ],
    );
    assert_eq!(
        observed(&f, "mounts.engine_socket"),
        "the Docker engine's socket at /var/run/docker.sock: whoever can connect to it controls the host"
    );
    assert_eq!(
        observed(&f, "fs.writable_exec"),
        "writable and executable: /dev, /dev/pts"
    );
}

#[test]
fn v1_careless_through_docker_exec() {
    let f = as_careless(recorded("docker-v1-careless-exec"));
    expect(
        &f,
        &[
            ("identity.uid", Verdict::Fail),
            ("caps.effective", Verdict::Fail),
            ("caps.permitted", Verdict::Fail),
            ("caps.inheritable", Verdict::Pass),
            ("caps.ambient", Verdict::Pass),
            ("caps.bounding", Verdict::Fail),
            ("no_new_privs", Verdict::Fail),
            ("seccomp", Verdict::Fail),
            ("privileged.caps", Verdict::Fail),
            ("limits.core", Verdict::Warn),
            ("pid1.pidguard", Verdict::Pass),
        ],
    );
    assert!(
        observed(&f, "privileged.caps").starts_with("37 of 41 capabilities in the bounding set"),
        "{}",
        observed(&f, "privileged.caps")
    );
    // The socket is found in mountinfo alone, too.
    let mut without_stat = f.clone();
    without_stat.engine_sockets.clear();
    assert_eq!(
        observed(&without_stat, "mounts.engine_socket"),
        "the Docker engine's socket mounted at /var/run/docker.sock: whoever can connect to it \
         controls the host"
    );
}

#[test]
fn v1_docker_defaults_with_docker_init() {
    let f = as_hardened(recorded("docker-v1-init"));
    expect(
        &f,
        &[
            ("identity.uid", Verdict::Fail),
            ("caps.effective", Verdict::Fail),
            ("caps.bounding", Verdict::Fail),
            ("no_new_privs", Verdict::Fail),
            ("seccomp", Verdict::Pass),
            ("fs.rootfs", Verdict::Warn),
            ("mounts.proc", Verdict::Pass),
            ("mounts.sys", Verdict::Pass),
            ("privileged.caps", Verdict::Pass),
            ("limits.memory", Verdict::Warn),
            ("limits.pids", Verdict::Warn),
            ("pid1.pidguard", Verdict::Warn),
            ("pid1.hardening", Verdict::Warn),
        ],
    );
    assert!(observed(&f, "caps.effective").starts_with("14 (CAP_CHOWN"));
    assert_eq!(
        observed(&f, "pid1.pidguard"),
        "PID 1 is docker-init: an init, but not pidguard"
    );
}

#[test]
fn host_machine() {
    let f = recorded("host-v1");
    assert!(f.kthreadd_visible);
    assert_eq!(f.memory, Reading::Unlimited { version: 1 });
    assert_eq!(f.pids, Reading::Unlimited { version: 1 }, "the root cgroup");
    expect(
        &f,
        &[
            ("identity.uid", Verdict::Fail),
            ("mounts.sys", Verdict::Fail),
            ("mounts.proc", Verdict::Fail),
            ("privileged.caps", Verdict::Fail),
            ("ns.pid", Verdict::Fail),
            ("ns.net", Verdict::Fail),
            ("pid1.pidguard", Verdict::Warn),
        ],
    );
    assert!(observed(&f, "ns.net").contains("/var/run/docker.sock"));
}
