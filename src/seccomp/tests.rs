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
                return i32::try_from(i + 1).unwrap_or(255);
            }
        }
        0
    });
    match status {
        WaitStatus::Exited(_, 0) => Ok(()),
        WaitStatus::Exited(_, 200) => Err("installing the filter failed".into()),
        WaitStatus::Exited(_, n) => {
            let c = &checks[usize::try_from(n - 1).unwrap()];
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
    let fd = u64::try_from(pipe_r.as_raw_fd()).unwrap();
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
            args: [0, (-3i64).cast_unsigned(), 0, 0, 0, 0],
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
            args: [i64::from(libc::AT_FDCWD).cast_unsigned(), 0, 0, 0, 0, 0],
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

/// Runs the `try_syscalls` fixture under the default filter when cargo has built it (`cargo test`
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
        eprintln!("the try_syscalls fixture is not built; skipping");
        return;
    };
    // The one list of what the default filter allows and refuses, shared with tests/seccomp.rs.
    let want: Vec<&str> = include_str!("../../tests/fixtures/default_filter.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let names: Vec<&str> = want.iter().map(|l| l.split(' ').next().unwrap()).collect();
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
    assert_eq!(out.lines().collect::<Vec<_>>(), want);
}

// --- aarch64: proven through the evaluator ------------------------------------------------------
//
// qemu-user cannot install a filter, and this machine is x86_64: the aarch64 program is run through
// `eval::run` instead, for every aarch64 syscall and the argument edge values, and held to the rules
// read directly (`eval::expected`) and to Docker's own arm64 profile. The table itself is checked
// against the kernel headers in `syscalls.rs`.

/// moby/profiles `seccomp/default.json` at 02e898b137aed1024e232d59bcb05e6179b72177, the commit
/// `default.rs` restates (Apache-2.0, the Moby authors; see tests/arm64/README.md).
const MOBY_DEFAULT: &str = include_str!("../../tests/arm64/moby-seccomp-default.json");

const AARCH64_TIOCSTI: u64 = 0x5412;
const AARCH64_TIOCLINUX: u64 = 0x541C;

fn aarch64(kept_caps: u64, kernel: (u32, u32)) -> Target {
    Target {
        arch: Arch::Aarch64,
        kept_caps,
        kernel: Some(kernel),
    }
}

/// Argument values at the edges of every constant `p` compares, both 32-bit halves, and the
/// extremes.
fn edge_values(p: &Profile) -> Vec<u64> {
    let mut out = vec![0, 1, u64::from(u32::MAX), 1 << 32, u64::MAX, 1 << 63];
    for a in p.syscalls.iter().flat_map(|r| &r.args) {
        for v in [a.value, a.value_two, a.value_two | !a.value] {
            out.extend([
                v,
                v.wrapping_add(1),
                v.wrapping_sub(1),
                v ^ (1 << 32),
                v | (1 << 63),
            ]);
        }
    }
    for v in [AARCH64_TIOCSTI, AARCH64_TIOCLINUX] {
        out.extend([v, v + 1, v - 1, v | (1 << 32), v | (0xffff_ffff << 32)]);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Every aarch64 syscall number, the gaps between them, the numbers past the last, and the
/// extremes.
fn aarch64_numbers() -> Vec<u32> {
    let table = Arch::Aarch64.syscalls();
    assert!(table.len() > 300, "the aarch64 table is in this build");
    let max = table.iter().map(|(_, n)| *n).max().unwrap();
    let mut out: Vec<u32> = (0..=max + 64).collect();
    out.extend([0x3fff_ffff, 0x4000_0000, u32::MAX - 1, u32::MAX]);
    out
}

/// For each number and each argument index, every edge value in that slot (the others 0), then all
/// slots at once: the calls the program is checked on.
fn calls(numbers: &[u32], edges: &[u64]) -> Vec<eval::Data> {
    let audit = Arch::Aarch64.audit();
    let mut out = Vec::new();
    for &nr in numbers {
        out.push(eval::Data {
            nr,
            arch: audit,
            args: [0; 6],
        });
        for i in 0..6 {
            for &v in edges {
                let mut args = [0; 6];
                args[i] = v;
                out.push(eval::Data {
                    nr,
                    arch: audit,
                    args,
                });
            }
        }
        for &v in edges {
            out.push(eval::Data {
                nr,
                arch: audit,
                args: [v; 6],
            });
        }
    }
    out
}

#[test]
fn aarch64_program_decides_every_syscall_as_the_rules_say() {
    let p = default_profile();
    let edges = edge_values(&p);
    // Only numbers a rule names get the whole argument sweep; the rest are checked with zeros.
    let named: Vec<u32> = aarch64_numbers()
        .into_iter()
        .filter(|&nr| {
            p.syscalls.iter().any(|r| {
                !r.args.is_empty()
                    && r.names
                        .iter()
                        .any(|n| Arch::Aarch64.syscall_number(n) == Some(nr))
            })
        })
        .collect();
    assert!(
        named.len() >= 4,
        "socket, personality, clone, ioctl: {named:?}"
    );
    let plain: Vec<eval::Data> = aarch64_numbers()
        .into_iter()
        .map(|nr| eval::Data {
            nr,
            arch: Arch::Aarch64.audit(),
            args: [0; 6],
        })
        .collect();
    let sys_admin = 1 << 21;
    for (caps, kernel) in [
        (0, (6, 1)),
        (sys_admin, (6, 1)),
        (u64::MAX, (6, 1)),
        (0, (4, 4)),
    ] {
        let t = aarch64(caps, kernel);
        for extra in [&[][..], &["reboot", "wait4"][..]] {
            let prog = compile_for(&p, &t, extra).unwrap().filters.remove(0);
            for d in plain.iter().chain(&calls(&named, &edges)) {
                let want = eval::expected(&p, &t, extra, d).unwrap();
                assert_eq!(
                    eval::run(&prog, d),
                    want,
                    "caps {caps:#x}, {extra:?}: {d:?}"
                );
            }
            // A syscall made through the arm32 compat ABI (or any other) kills.
            let compat = eval::Data {
                nr: 0,
                arch: 0x4000_0028, // AUDIT_ARCH_ARM
                args: [0; 6],
            };
            assert_eq!(eval::run(&prog, &compat), libc::SECCOMP_RET_KILL_PROCESS);
        }
    }
}

#[test]
fn aarch64_default_is_mobys_arm64_profile_plus_the_terminal_ban() {
    let moby = parse_profile(MOBY_DEFAULT.as_bytes()).expect("moby's default.json parses");
    let ours = default_profile();
    let mut edges = edge_values(&moby);
    edges.extend(edge_values(&ours));
    edges.sort_unstable();
    edges.dedup();
    let ioctl = Arch::Aarch64.syscall_number("ioctl").unwrap();
    let sys_admin = 1 << 21;
    let ptrace = 1 << 19;
    for (caps, kernel) in [
        (0, (6, 1)),
        (sys_admin, (6, 1)),
        (ptrace, (6, 1)),
        (u64::MAX, (6, 1)),
        (0, (4, 4)),
    ] {
        let t = aarch64(caps, kernel);
        let theirs = compile_for(&moby, &t, &[]).unwrap();
        let mine = compile_for(&ours, &t, &[]).unwrap();
        assert_eq!(
            theirs.skipped, mine.skipped,
            "the same names are unknown on arm64"
        );
        let (theirs, mine) = (&theirs.filters[0], &mine.filters[0]);
        for d in calls(&aarch64_numbers(), &edges[..]).iter() {
            let (a, b) = (eval::run(theirs, d), eval::run(mine, d));
            let banned = d.nr == ioctl
                && [AARCH64_TIOCSTI, AARCH64_TIOCLINUX].contains(&(d.args[1] & 0xffff_ffff));
            if banned {
                assert_eq!(
                    (a, b),
                    (libc::SECCOMP_RET_ALLOW, libc::SECCOMP_RET_ERRNO | 1),
                    "{d:?}"
                );
            } else {
                assert_eq!(a, b, "caps {caps:#x}, kernel {kernel:?}: {d:?}");
            }
        }
    }
}

#[test]
fn aarch64_export_round_trips() {
    let p = default_profile();
    let t = aarch64(0, (6, 1));
    // The Docker form, as `pidguard seccomp export` writes it, compiles to the same program.
    let back = parse_profile(export_json(&p).as_bytes()).unwrap();
    assert_eq!(back, p);
    assert_eq!(
        compile_for(&back, &t, &[]).unwrap(),
        compile_for(&p, &t, &[]).unwrap()
    );
    // The OCI form resolved for arm64: its arches, no conditions left, the same program.
    let oci = parse_profile(export_oci_json(&p, &t).unwrap().as_bytes()).unwrap();
    assert_eq!(oci.architectures, ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
    assert!(
        oci.syscalls
            .iter()
            .all(|r| r.includes.is_empty() && r.excludes.is_empty())
    );
    assert!(
        oci.syscalls
            .iter()
            .any(|r| r.names.contains(&"cacheflush".into()))
    );
    assert!(
        !oci.syscalls
            .iter()
            .any(|r| r.names.contains(&"arch_prctl".into()))
    );
    assert_eq!(
        compile_for(&oci, &t, &[]).unwrap().filters,
        compile_for(&p, &t, &[]).unwrap().filters
    );
}
