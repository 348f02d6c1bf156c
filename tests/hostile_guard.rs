//! The program cannot change PID 1 (issue 13, "What to build", first item): a hostile program, as uid
//! 65532 under the default filter, tries every call with which a process of PID 1's own uid could
//! change it (limits, priority, scheduler, I/O priority, signals by pid, group, `-1`, pidfd and
//! `F_SETOWN`, the status socket). Each must be refused, and afterwards PID 1 must still have its
//! limits and priority, reap an orphan, forward a signal, answer its probe and stop gracefully.
//!
//! The cases: pidguard as real PID 1 with Landlock's scopes (this kernel has ABI 7); pidguard not
//! PID 1 (pid 2 of a namespace, in a process group the program could name); the seccomp guard alone,
//! on a "kernel without Landlock" (an outer pidguard's profile answers the Landlock syscalls with
//! ENOSYS); `--seccomp unconfined` and a custom profile; an `exec:` app check; a restarted program.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

/// Tries each attack on pid `argv[1]` and prints `name result` per line (`ok` or the errno name).
const ATTACK: &str = r#"
import ctypes, errno, fcntl, os, resource, signal, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
target = int(sys.argv[1])
out = open(sys.argv[2], "a")
def t(name, f):
    try:
        f()
        r = "ok"
    except OSError as e:
        r = errno.errorcode.get(e.errno, str(e.errno))
    out.write("%s %s\n" % (name, r))
    out.flush()
def sys_call(nr, *args):
    if libc.syscall(nr, *[ctypes.c_long(a) for a in args]) == -1:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
t("prlimit_nofile", lambda: resource.prlimit(target, resource.RLIMIT_NOFILE, (1, 1)))
t("prlimit_cpu", lambda: resource.prlimit(target, resource.RLIMIT_CPU, (0, 0)))
t("prlimit_high_bits", lambda: sys_call(302, (0x7 << 32) | target, resource.RLIMIT_NPROC, 0, 0))
t("setpriority", lambda: os.setpriority(os.PRIO_PROCESS, target, 19))
t("setpriority_user", lambda: os.setpriority(os.PRIO_USER, 0, 19))
t("sched_setscheduler", lambda: os.sched_setscheduler(target, os.SCHED_IDLE, os.sched_param(0)))
t("sched_setparam", lambda: os.sched_setparam(target, os.sched_param(0)))
t("sched_setaffinity", lambda: os.sched_setaffinity(target, {0}))
t("ioprio_set", lambda: sys_call(251, 1, target, (3 << 13)))
t("ioprio_set_user", lambda: sys_call(251, 3, 0, (3 << 13)))
t("kill", lambda: os.kill(target, signal.SIGTERM))
t("tgkill", lambda: sys_call(234, target, target, signal.SIGTERM))
t("tkill", lambda: sys_call(200, target, signal.SIGTERM))
t("rt_sigqueueinfo", lambda: sys_call(129, target, signal.SIGTERM, ctypes.addressof(ctypes.create_string_buffer(128))))
t("pidfd_open", lambda: os.close(os.pidfd_open(target)))
t("f_setown", lambda: fcntl.fcntl(os.pipe()[0], fcntl.F_SETOWN, target))
t("f_setown_ex", lambda: fcntl.fcntl(os.pipe()[0], 15, struct.pack("ii", 1, target)))
def sigio_to_target():
    # PID 1 forwards what it receives: a SIGUSR2 that reaches it comes back to us.
    got = []
    signal.signal(signal.SIGUSR2, lambda *a: got.append(1))
    r, w = os.pipe()
    fcntl.fcntl(r, 15, struct.pack("ii", 1, target))
    fcntl.fcntl(r, 10, signal.SIGUSR2)  # F_SETSIG
    fcntl.fcntl(r, fcntl.F_SETFL, os.O_ASYNC | os.O_NONBLOCK)
    os.write(w, b"x")
    import time
    time.sleep(0.5)
    if not got:
        raise OSError(errno.EPERM, "not delivered")
t("sigio_delivered", sigio_to_target)
def via_proc():
    fd = os.open("/proc/%d" % target, os.O_DIRECTORY)
    # Signal 0: the permission check only (this is the one the guard cannot see).
    signal.pidfd_send_signal(fd, 0)
t("pidfd_send_signal_proc", via_proc)
if target != 1:
    t("kill_all", lambda: os.kill(-1, 0))
    t("kill_group", lambda: os.kill(-os.getpgid(target), signal.SIGTERM))
def status():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("\0" + os.environ["PIDGUARD_STATUS_SOCKET"])
t("status_socket", status)
# What the program may still do to itself and its own children.
t("prlimit_self", lambda: resource.prlimit(0, resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE)))
def own_child():
    pid = os.fork()
    if pid == 0:
        signal.pause()
        os._exit(0)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
t("kill_own_child", own_child)
t("setpriority_self", lambda: os.setpriority(os.PRIO_PROCESS, 0, 1))
out.write("done\n")
"#;

/// After the attacks: an orphan that PID 1 must reap, then wait for the forwarded SIGUSR1.
const THEN_LIVE: &str = r#"
import os, signal, sys, time
if os.fork() == 0:
    if os.fork() == 0:
        time.sleep(0.2)
        os._exit(0)
    os._exit(0)
signal.signal(signal.SIGUSR1, lambda *a: open(sys.argv[2], "a").write("usr1\n"))
open(sys.argv[2], "a").write("waiting\n")
while True:
    signal.pause()
"#;

fn script(dir: &Path) -> String {
    let path = dir.join("attack.py");
    std::fs::write(&path, format!("{ATTACK}\n{THEN_LIVE}")).unwrap();
    path.display().to_string()
}

/// `name result` lines of the attack output.
fn results(out: &Path) -> Vec<(String, String)> {
    read(out)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// With Landlock's signal scope the seccomp guard leaves signals to the kernel, which refuses each
/// one per target: setting a descriptor's owner to pidguard is allowed, and the signal is refused
/// at delivery (`sigio_delivered`); `kill(-1, 0)` reports success even when every target refused
/// (kernel/signal.c), so `kill` and `pidfd_send_signal_proc` are what show the refusal.
const SCOPED: &[&str] = &["f_setown", "f_setown_ex", "kill_all"];

fn assert_refused(results: &[(String, String)], allowed_anyway: &[&str]) {
    assert!(!results.is_empty());
    for (name, r) in results {
        let own = name.ends_with("_self") || name == "kill_own_child";
        if own {
            assert_eq!(r, "ok", "{name}: the program's own process: {results:?}");
        } else if !allowed_anyway.contains(&name.as_str()) {
            assert_eq!(r, "EPERM", "{name} was not refused: {results:?}");
        }
    }
}

/// (soft NOFILE, nice, policy) of a host pid, read from the outside.
fn pid1_state(pid: i32) -> (String, String, String) {
    let limits = read(Path::new(&format!("/proc/{pid}/limits")));
    let nofile = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .map(|l| l.split_whitespace().nth(3).unwrap_or("").to_string())
        .unwrap_or_default();
    let stat = read(Path::new(&format!("/proc/{pid}/stat")));
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After the comm: field 3 is index 0; nice is field 19, policy field 41.
    (
        nofile,
        fields.get(16).unwrap_or(&"").to_string(),
        fields.get(38).unwrap_or(&"").to_string(),
    )
}

/// `pidguard probe` from inside pidguard's container (as `docker exec` runs it): the probe trusts
/// only its own container's pidguard.
fn probe(host_pid: i32, socket: &str) -> i32 {
    in_container_of(host_pid, &pidguard())
        .args(["probe", "--timeout", "10s"])
        .env("PIDGUARD_STATUS_SOCKET", socket)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .code()
        .unwrap_or(-1)
}

/// Runs the attack as the program of a PID 1 started with `args`, then checks PID 1 is untouched.
fn attack_pid1(name: &str, args: &[&str], allowed_anyway: &[&str]) {
    let dir = scratch(name);
    let out = dir.join("out");
    let socket = format!("pidguard-test-guard-{name}-{}", std::process::id());
    let script = script(&dir);
    let out_s = out.display().to_string();
    let mut argv: Vec<&str> = args.to_vec();
    argv.extend(["--", "/usr/bin/python3", &script, "1", &out_s]);
    let pid1 = Pid1::start_env(&argv, &[("PIDGUARD_STATUS_SOCKET", &socket)]);
    let host_pid = pid1.pid();
    let before = pid1_state(host_pid);
    wait_until("the attacks to finish", || read(&out).contains("waiting"));
    assert_refused(&results(&out), allowed_anyway);
    assert_eq!(pid1_state(host_pid), before, "PID 1 was changed");
    assert_eq!(before.1, "0");
    // PID 1 still works: reaped the orphan, forwards, answers, stops within the grace.
    wait_until("the orphan to be reaped", || {
        count_in_namespace(host_pid, &["/usr/bin/python3", &script, "1", &out_s]) == 1
    });
    pid1.signal(libc::SIGUSR1);
    wait_until("SIGUSR1 forwarded", || read(&out).contains("usr1"));
    assert_eq!(probe(host_pid, &socket), 0, "probe");
    pid1.signal(libc::SIGTERM);
    let done = pid1.wait();
    assert_eq!(done.code, Some(143), "{}", done.stderr);
    assert!(done.stderr.len() < 4096, "log: {}", done.stderr);
}

#[test]
fn as_pid1_every_call_aimed_at_pid1_is_refused() {
    // F_SETOWN_EX itself succeeds with Landlock's signal scope; the signal is what is stopped.
    attack_pid1("pid1", &[], SCOPED);
}

#[test]
fn unconfined_and_custom_profiles_keep_the_guard() {
    attack_pid1("unconfined", &["--seccomp", "unconfined"], SCOPED);
    let dir = scratch("custom-profile");
    let profile = dir.join("p.json");
    let exported = Command::new(pidguard())
        .args(["seccomp", "export"])
        .output()
        .unwrap();
    std::fs::write(&profile, exported.stdout).unwrap();
    attack_pid1(
        "custom",
        &["--seccomp", &profile.display().to_string()],
        SCOPED,
    );
}

/// Docker's default profile with the Landlock syscalls answering ENOSYS: a kernel without Landlock.
fn no_landlock_profile(dir: &Path) -> String {
    let exported = Command::new(pidguard())
        .args(["seccomp", "export"])
        .output()
        .unwrap();
    let text = String::from_utf8(exported.stdout).unwrap();
    let text = text
        .lines()
        .filter(|l| !l.contains("\"landlock_"))
        .collect::<Vec<_>>()
        .join("\n");
    // Prepend one rule to the syscalls list.
    let text = text.replacen(
        "\"syscalls\": [",
        "\"syscalls\": [\n\t\t{\"names\": [\"landlock_create_ruleset\", \"landlock_add_rule\", \
         \"landlock_restrict_self\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38},",
        1,
    );
    let path = dir.join("no-landlock.json");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// pidguard not PID 1: pid 2 or 3 of a namespace, in a process group of its own that the program
/// could name, optionally on a kernel "without Landlock" (an outer pidguard, PID 1, whose profile
/// answers the Landlock syscalls with ENOSYS).
fn attack_not_pid1(name: &str, without_landlock: bool, allowed_anyway: &[&str]) {
    let dir = scratch(name);
    let out = dir.join("out");
    let socket = format!("pidguard-test-guard-{name}-{}", std::process::id());
    let script = script(&dir);
    let pg = pidguard().display().to_string();
    // The program's target is its parent, pidguard, whose pid is known only once it runs.
    let shell = format!(
        "setsid -w {pg} --user {USER} -- /usr/bin/python3 -c \
         'import os,sys; sys.argv=[\"x\", str(os.getppid()), \"{out}\"]; exec(open(\"{script}\").read())'",
        out = out.display()
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child"]);
    if without_landlock {
        let profile = no_landlock_profile(&dir);
        cmd.args([&pg, "--user", USER, "--seccomp", &profile, "--"]);
    }
    let child = cmd
        .args(["/bin/sh", "-c", &shell])
        .env("PIDGUARD_STATUS_SOCKET", &socket)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _child = KillOnDrop(child);
    wait_until("the attacks to finish", || read(&out).contains("waiting"));
    let results = results(&out);
    assert_refused(&results, allowed_anyway);
    // kill(-1) reports success even when every target refused (kernel/signal.c counts EPERM as a
    // try): only the guard, without Landlock, makes it fail outright.
    let refused: &[&str] = if without_landlock {
        &["kill_all", "kill_group"]
    } else {
        &["kill_group"]
    };
    for name in refused {
        assert!(
            results.contains(&(name.to_string(), "EPERM".to_string())),
            "{name}: {results:?}"
        );
    }
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn not_pid1_every_call_aimed_at_pidguard_is_refused() {
    attack_not_pid1("not-pid1", false, SCOPED);
}

#[test]
fn without_landlock_the_seccomp_guard_alone_refuses_what_it_can_see() {
    // What the guard cannot see without Landlock's signal scope: a pidfd from /proc/PID (kernel
    // docs: pidfd_send_signal accepts it). The status socket then belongs to the outer pidguard,
    // whose scope still keeps the program out of it.
    attack_not_pid1("no-landlock", true, &["pidfd_send_signal_proc"]);
}

#[test]
fn exec_checks_and_restarts_are_guarded_too() {
    let dir = scratch("guard-check");
    let out = dir.join("out");
    // A check script file avoids the comma escaping of exec: targets.
    let check_py = dir.join("check.py");
    std::fs::write(
        &check_py,
        format!(
            "import resource\ntry:\n    resource.prlimit(1, resource.RLIMIT_NOFILE, (1, 1)); r = 'ok'\n\
             except OSError as e:\n    r = str(e.errno)\nopen('{}', 'a').write('check ' + r + '\\n')\n",
            out.display()
        ),
    )
    .unwrap();
    let program = format!(
        "import resource\ntry:\n    resource.prlimit(1, resource.RLIMIT_NOFILE, (1, 1)); r = 'ok'\n\
         except OSError as e:\n    r = str(e.errno)\nopen('{}', 'a').write('run ' + r + '\\n')\n\
         import time; time.sleep(0.5)\nraise SystemExit(1)\n",
        out.display()
    );
    let program_py = dir.join("program.py");
    std::fs::write(&program_py, program).unwrap();
    let check_target = format!("exec:/usr/bin/python3,{}", check_py.display());
    let pid1 = Pid1::start(&[
        "--restart",
        "on-failure",
        "--restart-delay",
        "100ms",
        "--health-check",
        &check_target,
        "--health-interval",
        "200ms",
        "--",
        "/usr/bin/python3",
        &program_py.display().to_string(),
    ]);
    wait_until("two runs and a check", || {
        let t = read(&out);
        t.matches("run ").count() >= 2 && t.contains("check ")
    });
    pid1.signal(libc::SIGTERM);
    let done = pid1.wait();
    let t = read(&out);
    // errno 1 is EPERM.
    assert!(t.lines().all(|l| l.ends_with(" 1")), "{t}\n{}", done.stderr);
}
