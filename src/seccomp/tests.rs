//! End-to-end tests of the seccomp module: JSON round trips, and compiled filters installed in a
//! forked child, where the kernel (not our BPF simulator) decides.
//!
//! The child of `fork` in the multi-threaded test harness may only make raw syscalls: everything
//! it needs (filters, check table, buffers) is built before the fork, and it reports through its
//! exit status.

use std::sync::atomic::AtomicU64;

use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};
use seccompiler::BpfProgram;

use super::*;

#[test]
fn export_parse_round_trip_of_the_default() {
    let p = default_profile();
    let text = export_json(&p);
    assert!(text.starts_with("{\n\t\"defaultAction\": \"SCMP_ACT_ERRNO\",\n"));
    assert_eq!(parse_profile(text.as_bytes()).unwrap(), p);
    assert_eq!(export_json(&parse_profile(text.as_bytes()).unwrap()), text);
}

#[test]
fn oci_export_is_resolved_for_the_target() {
    let t = Target {
        arch: Arch::X86_64,
        kept_caps: 0,
        kernel: Some((6, 1)),
    };
    let text = export_oci_json(&default_profile(), &t).unwrap();
    let oci = parse_profile(text.as_bytes()).unwrap();
    assert_eq!(
        oci.architectures,
        ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    );
    assert!(oci.arch_map.is_empty());
    assert!(
        oci.syscalls
            .iter()
            .all(|r| r.includes.is_empty() && r.excludes.is_empty())
    );
    assert!(
        !oci.syscalls
            .iter()
            .any(|r| r.names.contains(&"mount".into()))
    );
    assert!(
        oci.syscalls
            .iter()
            .any(|r| r.names == ["clone3"] && r.errno_ret == Some(38))
    );
    // Compiling the resolved profile gives the same filter as compiling the original.
    assert_eq!(
        compile_for(&oci, &t, &[]).unwrap().filters,
        compile_for(&default_profile(), &t, &[]).unwrap().filters
    );
}

#[test]
fn size_limit() {
    let big = vec![b' '; MAX_PROFILE_BYTES + 1];
    assert!(
        parse_profile(&big)
            .unwrap_err()
            .to_string()
            .contains("larger than")
    );
    let dir = std::env::temp_dir().join(format!("pidguard-seccomp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.json");
    std::fs::write(&path, &big).unwrap();
    assert!(matches!(load_profile(&path), Err(Error::TooLarge { .. })));
    let path = dir.join("ok.json");
    std::fs::write(&path, export_json(&default_profile())).unwrap();
    assert_eq!(load_profile(&path).unwrap(), default_profile());
    let path = dir.join("bad.json");
    std::fs::write(
        &path,
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"]}]}"#,
    )
    .unwrap();
    assert_eq!(
        load_profile(&path).unwrap_err().to_string(),
        format!(
            "seccomp profile: {}: syscalls[0]: missing action",
            path.display()
        )
    );
    std::fs::write(&path, "{").unwrap();
    assert_eq!(
        load_profile(&path).unwrap_err().to_string(),
        format!(
            "seccomp profile: {}: invalid JSON at byte 1: expected a string key",
            path.display()
        )
    );
    let missing = load_profile(&dir.join("missing.json")).unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with("cannot read seccomp profile")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hostile_profiles_fail_fast() {
    // About 1 MiB of rules: many argument alternatives on one syscall, then many names.
    let rule = r#"{"names": ["getpriority"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": N, "op": "SCMP_CMP_EQ"}]}"#;
    let rules: Vec<String> = (0..9000)
        .map(|i| rule.replace('N', &i.to_string()))
        .collect();
    let src = format!(
        r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{}]}}"#,
        rules.join(",")
    );
    assert!(src.len() <= MAX_PROFILE_BYTES, "{}", src.len());
    let start = std::time::Instant::now();
    let p = parse_profile(src.as_bytes()).unwrap();
    let e = compile(&p, 0, &[]).unwrap_err();
    assert!(e.to_string().contains("more than the kernel's 4096"), "{e}");
    let names: Vec<String> = (0..60_000).map(|i| format!("\"n{i}\"")).collect();
    let src = format!(
        r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{{"names": [{}, "read"], "action": "SCMP_ACT_ALLOW"}}]}}"#,
        names.join(",")
    );
    let c = compile_for(
        &parse_profile(src.as_bytes()).unwrap(),
        &native_target(0).unwrap(),
        &[],
    );
    assert_eq!(c.unwrap().skipped.len(), 60_000);
    let took = start.elapsed();
    println!("hostile profiles: {took:?}");
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}

#[test]
fn libc_conversion_keeps_every_field() {
    let f = &default_filters()[0];
    let l = to_libc(f);
    assert_eq!(l.len(), f.len());
    assert!(
        l.iter()
            .zip(f)
            .all(|(a, b)| a.code == b.code && a.jt == b.jt && a.jf == b.jf && a.k == b.k)
    );
}

/// What a syscall should do under the filter.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Ok,
    Errno(i32),
}

struct Check {
    what: &'static str,
    nr: libc::c_long,
    args: [u64; 6],
    expect: Expect,
}

static SCRATCH: AtomicU64 = AtomicU64::new(0);

fn scratch() -> u64 {
    SCRATCH.as_ptr() as u64
}

fn cstr(s: &'static std::ffi::CStr) -> u64 {
    s.as_ptr() as u64
}

/// Forks; the child installs `filters`, then runs `body`, and exits with its result.
#[allow(unsafe_code)]
fn in_child(filters: &[BpfProgram], body: impl FnOnce() -> i32) -> WaitStatus {
    // SAFETY: the child only makes raw syscalls (prctl/seccomp in apply_filter, the checks,
    // _exit); it allocates nothing and takes no locks, so fork in a threaded process is sound.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let mut code = 0;
            for f in filters {
                if seccompiler::apply_filter(f).is_err() {
                    code = 200;
                }
            }
            if code == 0 {
                code = body();
            }
            // SAFETY: _exit ends the child without running the parent's atexit handlers.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => waitpid(child, None).expect("waitpid"),
    }
}

/// Runs `checks` in a filtered child; returns the first check that went wrong.
#[allow(unsafe_code)]
fn run_checks(filters: &[BpfProgram], checks: &[Check]) -> Result<(), String> {
    let status = in_child(filters, || {
        for (i, c) in checks.iter().enumerate() {
            let [a, b, cc, d, e, f] = c.args;
            // SAFETY: each check's arguments are harmless for its syscall: null or valid
            // pointers to static memory, invalid flags, nonexistent paths.
            let r = unsafe { libc::syscall(c.nr, a, b, cc, d, e, f) };
            let got = if r < 0 {
                Expect::Errno(nix::errno::Errno::last_raw())
            } else {
                if r == 0 && c.nr == libc::SYS_clone {
                    // SAFETY: we are an unexpected clone child; leave at once.
                    unsafe { libc::_exit(0) }
                }
                Expect::Ok
            };
            if got != c.expect {
                return i as i32 + 1;
            }
        }
        0
    });
    match status {
        WaitStatus::Exited(_, 0) => Ok(()),
        WaitStatus::Exited(_, 200) => Err("installing the filter failed".into()),
        WaitStatus::Exited(_, n) => {
            let c = &checks[n as usize - 1];
            Err(format!("{}: expected {:?}", c.what, c.expect))
        }
        other => Err(format!("child ended with {other:?}")),
    }
}

fn default_filters() -> Vec<BpfProgram> {
    compile(&default_profile(), 0, &[]).unwrap()
}

#[test]
#[allow(unsafe_code)]
// ioctl numbers are `c_ulong` in glibc but `c_int` in musl; the casts keep both building.
#[allow(clippy::unnecessary_cast)]
fn kernel_enforces_the_default_profile() {
    let (pipe_r, _pipe_w) = nix::unistd::pipe().unwrap();
    use std::os::fd::AsRawFd;
    let fd = pipe_r.as_raw_fd() as u64;
    let eperm = Expect::Errno(libc::EPERM);
    let enosys = Expect::Errno(libc::ENOSYS);
    let z = [0u64; 6];
    let checks = [
        Check {
            what: "getpid",
            nr: libc::SYS_getpid,
            args: z,
            expect: Expect::Ok,
        },
        Check {
            what: "mount",
            nr: libc::SYS_mount,
            args: [
                cstr(c"none"),
                cstr(c"/nonexistent-pidguard"),
                cstr(c"tmpfs"),
                0,
                0,
                0,
            ],
            expect: eperm,
        },
        Check {
            what: "unshare(CLONE_NEWUSER)",
            nr: libc::SYS_unshare,
            args: [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0],
            expect: eperm,
        },
        Check {
            what: "clone(CLONE_NEWUSER)",
            nr: libc::SYS_clone,
            args: [(libc::CLONE_NEWUSER | libc::SIGCHLD) as u64, 0, 0, 0, 0, 0],
            expect: eperm,
        },
        Check {
            what: "clone(CLONE_NEWNS)",
            nr: libc::SYS_clone,
            args: [(libc::CLONE_NEWNS | libc::SIGCHLD) as u64, 0, 0, 0, 0, 0],
            expect: eperm,
        },
        Check {
            what: "clone3",
            nr: libc::SYS_clone3,
            args: z,
            expect: enosys,
        },
        Check {
            what: "keyctl",
            nr: libc::SYS_keyctl,
            args: [0, (-3i64) as u64, 0, 0, 0, 0],
            expect: eperm,
        },
        Check {
            what: "add_key",
            nr: libc::SYS_add_key,
            args: z,
            expect: eperm,
        },
        Check {
            what: "bpf",
            nr: libc::SYS_bpf,
            args: z,
            expect: eperm,
        },
        Check {
            what: "kexec_load",
            nr: libc::SYS_kexec_load,
            args: [0, 0, 0, 0xdead_0000, 0, 0],
            expect: eperm,
        },
        Check {
            what: "open_by_handle_at",
            nr: libc::SYS_open_by_handle_at,
            args: [libc::AT_FDCWD as u64, 0, 0, 0, 0, 0],
            expect: eperm,
        },
        Check {
            what: "io_uring_setup",
            nr: libc::SYS_io_uring_setup,
            args: z,
            expect: eperm,
        },
        Check {
            what: "personality(query)",
            nr: libc::SYS_personality,
            args: [0xffff_ffff, 0, 0, 0, 0, 0],
            expect: Expect::Ok,
        },
        Check {
            what: "personality(ADDR_NO_RANDOMIZE)",
            nr: libc::SYS_personality,
            args: [libc::ADDR_NO_RANDOMIZE as u64, 0, 0, 0, 0, 0],
            expect: eperm,
        },
        Check {
            what: "socket(AF_UNIX)",
            nr: libc::SYS_socket,
            args: [libc::AF_UNIX as u64, libc::SOCK_STREAM as u64, 0, 0, 0, 0],
            expect: Expect::Ok,
        },
        Check {
            what: "socket(AF_VSOCK)",
            nr: libc::SYS_socket,
            args: [libc::AF_VSOCK as u64, libc::SOCK_STREAM as u64, 0, 0, 0, 0],
            expect: eperm,
        },
        Check {
            what: "ioctl(FIONREAD)",
            nr: libc::SYS_ioctl,
            args: [fd, libc::FIONREAD as u64, scratch(), 0, 0, 0],
            expect: Expect::Ok,
        },
        Check {
            what: "ioctl(TIOCSTI)",
            nr: libc::SYS_ioctl,
            args: [fd, libc::TIOCSTI as u64, scratch(), 0, 0, 0],
            expect: eperm,
        },
        Check {
            what: "ioctl(TIOCSTI | 1<<32)",
            nr: libc::SYS_ioctl,
            args: [fd, (1 << 32) | libc::TIOCSTI as u64, scratch(), 0, 0, 0],
            expect: eperm,
        },
        Check {
            what: "ioctl(TIOCLINUX)",
            nr: libc::SYS_ioctl,
            args: [fd, libc::TIOCLINUX as u64, scratch(), 0, 0, 0],
            expect: eperm,
        },
        Check {
            what: "syscall 467 (newer than the profile)",
            nr: 467,
            args: z,
            expect: enosys,
        },
    ];
    run_checks(&default_filters(), &checks).unwrap();
    // And without a filter, the same calls fail differently or succeed: the EPERMs above are
    // the filter's, not missing privileges'.
    let status = in_child(&[], || {
        // SAFETY: nonexistent path, so nothing is mounted.
        let r = unsafe {
            libc::syscall(
                libc::SYS_mount,
                cstr(c"none"),
                cstr(c"/nonexistent-pidguard"),
                cstr(c"tmpfs"),
                0,
                0,
            )
        };
        i32::from(!(r < 0 && nix::errno::Errno::last_raw() != libc::EPERM))
    });
    if nix::unistd::geteuid().is_root() {
        assert_eq!(status, WaitStatus::Exited(status.pid().unwrap(), 0));
    }
}

#[test]
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn kernel_kills_x32_syscalls() {
    let status = in_child(&default_filters(), || {
        // SAFETY: the filter kills the process before the kernel runs this.
        let _ = unsafe { libc::syscall(0x4000_0000 | libc::SYS_getpid) };
        0
    });
    assert!(
        matches!(status, WaitStatus::Signaled(_, Signal::SIGSYS, _)),
        "{status:?}"
    );
}

#[test]
fn kernel_agrees_on_argless_plus_arg_rule() {
    for rules in [
        r#"{"names": ["getpriority"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 99, "op": "SCMP_CMP_EQ"}]},
           {"names": ["getpriority"], "action": "SCMP_ACT_ALLOW"}"#,
        r#"{"names": ["getpriority"], "action": "SCMP_ACT_ALLOW"},
           {"names": ["getpriority"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 99, "op": "SCMP_CMP_EQ"}]}"#,
    ] {
        let src = format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
               {{"names": ["exit_group", "exit"], "action": "SCMP_ACT_ALLOW"}}, {rules}]}}"#
        );
        let p = parse_profile(src.as_bytes()).unwrap();
        let checks = [
            Check {
                what: "getpriority(PRIO_PROCESS, 0)",
                nr: libc::SYS_getpriority,
                args: [libc::PRIO_PROCESS as u64, 0, 0, 0, 0, 0],
                expect: Expect::Ok,
            },
            Check {
                what: "getpid (not listed)",
                nr: libc::SYS_getpid,
                args: [0; 6],
                expect: Expect::Errno(libc::EPERM),
            },
        ];
        run_checks(&compile(&p, 0, &[]).unwrap(), &checks).unwrap();
    }
}

#[test]
#[allow(unsafe_code)]
fn kernel_applies_kill_and_trap_actions() {
    for (action, signal) in [
        ("SCMP_ACT_KILL_PROCESS", Signal::SIGSYS),
        ("SCMP_ACT_KILL", Signal::SIGSYS),
        ("SCMP_ACT_TRAP", Signal::SIGSYS),
    ] {
        let src = format!(
            r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
               {{"names": ["getppid"], "action": "{action}"}}]}}"#
        );
        let p = parse_profile(src.as_bytes()).unwrap();
        let status = in_child(&compile(&p, 0, &[]).unwrap(), || {
            // SAFETY: getppid has no arguments.
            let _ = unsafe { libc::syscall(libc::SYS_getppid) };
            0
        });
        assert!(
            matches!(status, WaitStatus::Signaled(_, s, _) if s == signal),
            "{action}: {status:?}"
        );
    }
}

#[test]
fn extra_allow_widens_only_what_it_names() {
    let filters = compile(&default_profile(), 0, &["reboot"]).unwrap();
    let checks = [
        Check {
            // reboot with a bad magic number: EINVAL from the kernel means the filter let it by.
            what: "reboot(bad magic)",
            nr: libc::SYS_reboot,
            args: [0, 0, 0, 0, 0, 0],
            expect: Expect::Errno(libc::EINVAL),
        },
        Check {
            what: "mount",
            nr: libc::SYS_mount,
            args: [0; 6],
            expect: Expect::Errno(libc::EPERM),
        },
    ];
    if nix::unistd::geteuid().is_root() {
        run_checks(&filters, &checks).unwrap();
    }
}

/// Runs `examples/try_syscalls` under the default filter when cargo has built it (`cargo test`
/// builds examples; `cargo test --lib` does not, and then this test only says so).
#[test]
#[allow(unsafe_code)]
fn try_syscalls_fixture_under_the_default_filter() {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let Some(fixture) = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("examples/try_syscalls"))
        .filter(|p| p.exists())
    else {
        eprintln!("examples/try_syscalls not built; skipping");
        return;
    };
    let names = [
        "getpid",
        "thread",
        "fork",
        "clone3",
        "mount",
        "unshare-user",
        "clone-newns",
        "clone-newuser",
        "keyctl",
        "add_key",
        "bpf",
        "kexec_load",
        "open_by_handle_at",
        "ptrace-ppid",
        "personality32",
        "personality-noaslr",
        "tiocsti",
        "tiocsti-high",
        "tioclinux",
        "ioctl-fionread",
        "socket-vsock",
        "socket-alg",
        "socket-inet",
        "io_uring",
        "chroot",
        "userfaultfd",
    ];
    let path = std::ffi::CString::new(fixture.as_os_str().as_encoded_bytes()).unwrap();
    let mut argv: Vec<std::ffi::CString> = vec![path.clone()];
    argv.extend(names.iter().map(|n| std::ffi::CString::new(*n).unwrap()));
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let (out_r, out_w) = nix::unistd::pipe().unwrap();
    use std::os::fd::AsRawFd;
    let (r, w) = (out_r.as_raw_fd(), out_w.as_raw_fd());
    let filters = default_filters();
    let status = in_child(&filters, || {
        // SAFETY: dup2/close/execv on valid fds and NUL-terminated strings built before fork.
        unsafe {
            libc::dup2(w, 1);
            libc::close(r);
            libc::execv(path.as_ptr(), argv_ptrs.as_ptr());
        }
        127
    });
    drop(out_w);
    let mut out = String::new();
    use std::io::Read;
    std::fs::File::from(out_r).read_to_string(&mut out).unwrap();
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "{status:?}\n{out}"
    );
    println!("{out}");
    let line = |name: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no line for {name} in\n{out}"))
            .to_string()
    };
    for ok in [
        "getpid",
        "thread",
        "fork",
        "ioctl-fionread",
        "socket-inet",
        "personality32",
    ] {
        assert_eq!(line(ok), format!("{ok} ok"));
    }
    assert_eq!(line("clone3"), "clone3 errno=ENOSYS(38)");
    for denied in [
        "mount",
        "unshare-user",
        "clone-newns",
        "clone-newuser",
        "keyctl",
        "add_key",
        "bpf",
        "kexec_load",
        "open_by_handle_at",
        "personality-noaslr",
        "tiocsti",
        "tiocsti-high",
        "tioclinux",
        "socket-vsock",
        "socket-alg",
        "io_uring",
        "chroot",
        "userfaultfd",
    ] {
        assert_eq!(line(denied), format!("{denied} errno=EPERM(1)"));
    }
}
