//! pidguard's built-in profile: Docker's default, written out as our own table, plus two denials.
//!
//! Source: moby/profiles `seccomp/default_linux.go` (from which Docker generates
//! `profiles/seccomp/default.json`) at commit 02e898b137aed1024e232d59bcb05e6179b72177. Each rule
//! below says which part of that file it restates. The table keeps Docker's rules for other
//! architectures too (s390 `clone`, arm `cacheflush`, ...), so that `pidguard seccomp export`
//! hands Docker, Podman or Kubernetes a profile that means the same on every machine; the
//! compiler drops them on x86_64 and aarch64 exactly as Docker does.
//!
//! What the rules achieve, in short: about 380 everyday syscalls are allowed; `socket` only for
//! address families Docker keeps (not AF_VSOCK, AF_ALG and removed families); `personality` only
//! for the five harmless personas; `clone` only without namespace flags and `clone3` answers
//! ENOSYS so glibc falls back to `clone` (where the flags can be checked); syscalls that need a
//! capability (mount, bpf, ptrace of others, module loading, ...) only if the program keeps that
//! capability; io_uring is not allowed (Docker dropped it in 2024); everything else is EPERM.
//!
//! Beyond Docker: `ioctl(TIOCSTI)` (push bytes into a terminal's input) and `ioctl(TIOCLINUX)`
//! (which can do the same through selection paste) are denied, so a program cannot type commands
//! into the terminal of whoever runs the container interactively. The ioctl command is an
//! `unsigned int` to the kernel, so the check looks at the low 32 bits only: a full 64-bit
//! comparison is bypassed by setting a high bit (CVE-2019-10063, flatpak). Docker's JSON cannot say
//! "allow unless the low 32 bits equal X", and mixing an ALLOW rule with an ERRNO rule on one
//! syscall has no documented meaning in libseccomp, so the rule is written as the exact set of
//! allowed commands: `(cmd & mask) == pattern` for the prefixes of a binary trie that avoid the two
//! commands (34 rules). Every runtime reads that the same way.

use super::profile::{Action, ArchMap, Arg, Filter, Op, Profile, Rule};

/// moby default_linux.go, `DefaultProfile`, first rule: allowed unconditionally. Docker lists
/// `ioctl` here too; pidguard allows it below with the TIOCSTI/TIOCLINUX exception instead. Names
/// of other architectures (`chown32`, `_llseek`, `riscv_hwprobe`, ...) stay, as in Docker.
const ALWAYS_ALLOWED: &[&str] = &[
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_requeue",
    "futex_time64",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "futimesat",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "get_thread_area",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "getxattrat",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "ioprio_get",
    "ioprio_set",
    "io_setup",
    "io_submit",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listmount",
    "listxattr",
    "listxattrat",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "mseal",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "_newselect",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "removexattrat",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "riscv_hwprobe",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "setsockopt",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setuid32",
    "setxattr",
    "setxattrat",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statmount",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "uretprobe",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
];

/// moby default_linux.go, `allowedSocketDomains`: AF_UNIX(1)..AF_ROSE(11) become one `< 12`
/// rule (`socketSyscallsForDomains`), the rest one rule each. Left out on purpose by Docker:
/// AF_DECnet(12), AF_ECONET(19), AF_ATMSVC(20), AF_IRDA(23), AF_WANPIPE(25), AF_ISDN(34) and
/// AF_CAIF(37) (removed from Linux), AF_ALG(38) (kernel crypto API, no need in containers),
/// AF_VSOCK(40) (host/guest channel, not namespaced by default).
const SOCKET_DOMAINS_BELOW: u64 = 12;
const SOCKET_DOMAINS: [u64; 25] = [
    13, 14, 15, 16, 17, 18, 21, 22, 24, 26, 27, 28, 29, 30, 31, 32, 33, 35, 36, 39, 41, 42, 43, 44,
    45,
];

/// moby default_linux.go, `personality` rules: PER_LINUX, PER_LINUX32, UNAME26,
/// UNAME26|PER_LINUX32, and 0xffffffff (query). Everything else, e.g. ADDR_NO_RANDOMIZE or
/// READ_IMPLIES_EXEC, is refused.
const PERSONALITIES: [u64; 5] = [0x0, 0x0008, 0x20000, 0x20008, 0xffff_ffff];

/// CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
/// CLONE_NEWCGROUP, the mask in moby's `clone` rule.
const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// ENOSYS, for `clone3` (moby's `nosys`). Fixed by the kernel ABI on every architecture here.
const ENOSYS: u32 = 38;

/// ioctl commands pidguard refuses on top of Docker (see the module comment). Values from
/// `asm-generic/ioctls.h`, used by both x86_64 and aarch64.
const TIOCSTI: u32 = 0x5412;
const TIOCLINUX: u32 = 0x541C;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn allow(list: &[&str]) -> Rule {
    Rule {
        names: names(list),
        action: Action::Allow,
        errno_ret: None,
        args: Vec::new(),
        comment: String::new(),
        includes: Filter::default(),
        excludes: Filter::default(),
    }
}

fn with_arg(mut r: Rule, index: u8, op: Op, value: u64, value_two: u64) -> Rule {
    r.args.push(Arg {
        index,
        value,
        value_two,
        op,
    });
    r
}

fn if_caps(mut r: Rule, caps: &[&str]) -> Rule {
    r.includes.caps = names(caps);
    r
}

fn if_arches(mut r: Rule, arches: &[&str]) -> Rule {
    r.includes.arches = names(arches);
    r
}

/// `(mask, pattern)` pairs such that a 32-bit value `v` is outside `excluded` exactly when
/// `v & mask == pattern` for one pair. Each pair is a trie prefix that no excluded value starts
/// with; masks only cover the low 32 bits, so the upper half of a 64-bit argument is ignored.
pub(crate) fn u32_except(excluded: &[u32]) -> Vec<(u64, u64)> {
    fn walk(bits: u32, prefix: u32, excluded: &[u32], out: &mut Vec<(u64, u64)>) {
        // `bits` high bits are fixed to `prefix`; `excluded` are the values under this prefix.
        if excluded.is_empty() {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            out.push((u64::from(mask), u64::from(prefix)));
            return;
        }
        if bits == 32 {
            return; // exactly an excluded value
        }
        let bit = 1u32 << (31 - bits);
        for side in [0, bit] {
            let under: Vec<u32> = excluded
                .iter()
                .copied()
                .filter(|v| v & bit == side)
                .collect();
            walk(bits + 1, prefix | side, &under, out);
        }
    }
    let mut out = Vec::new();
    let mut sorted = excluded.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    walk(0, 0, &sorted, &mut out);
    out
}

/// The built-in profile (`--seccomp default`).
pub fn default_profile() -> Profile {
    let mut rules = vec![allow(ALWAYS_ALLOWED)];

    // moby: ptrace and process_vm_{readv,writev} of one's own processes from Linux 4.8, where
    // seccomp is re-checked after a tracer changes a syscall (before, ptrace could bypass it).
    let mut ptrace = allow(&["process_vm_readv", "process_vm_writev", "ptrace"]);
    ptrace.includes.min_kernel = Some((4, 8));
    rules.push(ptrace);

    // moby: socketSyscalls().
    rules.push(with_arg(
        allow(&["socket"]),
        0,
        Op::Lt,
        SOCKET_DOMAINS_BELOW,
        0,
    ));
    for domain in SOCKET_DOMAINS {
        rules.push(with_arg(allow(&["socket"]), 0, Op::Eq, domain, 0));
    }

    // moby: personality.
    for persona in PERSONALITIES {
        rules.push(with_arg(allow(&["personality"]), 0, Op::Eq, persona, 0));
    }

    // moby: architecture-specific syscalls.
    rules.push(if_arches(
        allow(&["sync_file_range2", "swapcontext"]),
        &["ppc64le"],
    ));
    rules.push(if_arches(
        allow(&[
            "arm_fadvise64_64",
            "arm_sync_file_range",
            "sync_file_range2",
            "breakpoint",
            "cacheflush",
            "set_tls",
        ]),
        &["arm", "arm64"],
    ));
    rules.push(if_arches(allow(&["arch_prctl"]), &["amd64", "x32"]));
    rules.push(if_arches(allow(&["modify_ldt"]), &["amd64", "x32", "x86"]));
    rules.push(if_arches(
        allow(&[
            "s390_pci_mmio_read",
            "s390_pci_mmio_write",
            "s390_runtime_instr",
        ]),
        &["s390", "s390x"],
    ));
    rules.push(if_arches(allow(&["riscv_flush_icache"]), &["riscv64"]));

    // moby: syscalls a kept capability unlocks.
    rules.push(if_caps(
        allow(&["open_by_handle_at"]),
        &["CAP_DAC_READ_SEARCH"],
    ));
    rules.push(if_caps(
        allow(&[
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "lsm_get_self_attr",
            "lsm_list_modules",
            "lsm_set_self_attr",
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "syslog",
            "umount",
            "umount2",
            "unshare",
        ]),
        &["CAP_SYS_ADMIN"],
    ));

    // moby: without CAP_SYS_ADMIN, clone only without namespace flags (flags are argument 0,
    // argument 1 on s390), and clone3 (whose flags sit in memory seccomp cannot read) fails
    // with ENOSYS so that libc falls back to clone.
    let mut clone = with_arg(allow(&["clone"]), 0, Op::MaskedEq, CLONE_NAMESPACE_FLAGS, 0);
    clone.excludes.caps = names(&["CAP_SYS_ADMIN"]);
    clone.excludes.arches = names(&["s390", "s390x"]);
    rules.push(clone);
    let mut clone_s390 = with_arg(allow(&["clone"]), 1, Op::MaskedEq, CLONE_NAMESPACE_FLAGS, 0);
    clone_s390.comment = "s390 parameter ordering for clone is different".into();
    clone_s390.includes.arches = names(&["s390", "s390x"]);
    clone_s390.excludes.caps = names(&["CAP_SYS_ADMIN"]);
    rules.push(clone_s390);
    let mut clone3 = allow(&["clone3"]);
    clone3.action = Action::Errno;
    clone3.errno_ret = Some(ENOSYS);
    clone3.excludes.caps = names(&["CAP_SYS_ADMIN"]);
    rules.push(clone3);

    for (list, cap) in [
        (&["reboot"][..], "CAP_SYS_BOOT"),
        (&["chroot"], "CAP_SYS_CHROOT"),
        (
            &["delete_module", "init_module", "finit_module"],
            "CAP_SYS_MODULE",
        ),
        (&["acct"], "CAP_SYS_PACCT"),
        (
            &[
                "kcmp",
                "pidfd_getfd",
                "process_madvise",
                "process_vm_readv",
                "process_vm_writev",
                "ptrace",
            ],
            "CAP_SYS_PTRACE",
        ),
        (&["iopl", "ioperm"], "CAP_SYS_RAWIO"),
        (
            &["settimeofday", "stime", "clock_settime", "clock_settime64"],
            "CAP_SYS_TIME",
        ),
        (&["vhangup"], "CAP_SYS_TTY_CONFIG"),
        (
            &[
                "get_mempolicy",
                "mbind",
                "set_mempolicy",
                "set_mempolicy_home_node",
            ],
            "CAP_SYS_NICE",
        ),
        (&["syslog"], "CAP_SYSLOG"),
        (&["bpf"], "CAP_BPF"),
        (&["perf_event_open"], "CAP_PERFMON"),
    ] {
        rules.push(if_caps(allow(list), &[cap]));
    }

    // pidguard: ioctl except TIOCSTI and TIOCLINUX, comparing the low 32 bits.
    for (mask, pattern) in u32_except(&[TIOCSTI, TIOCLINUX]) {
        let mut r = with_arg(allow(&["ioctl"]), 1, Op::MaskedEq, mask, pattern);
        r.comment = "pidguard: ioctl except TIOCSTI and TIOCLINUX (low 32 bits)".into();
        rules.push(r);
    }

    Profile {
        default_action: Action::Errno,
        default_errno_ret: Some(1), // EPERM
        architectures: Vec::new(),
        arch_map: arch_map(),
        syscalls: rules,
    }
}

/// moby default_linux.go, `arches()`.
fn arch_map() -> Vec<ArchMap> {
    [
        ("SCMP_ARCH_X86_64", &["SCMP_ARCH_X86", "SCMP_ARCH_X32"][..]),
        ("SCMP_ARCH_AARCH64", &["SCMP_ARCH_ARM"]),
        (
            "SCMP_ARCH_MIPS64",
            &["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"],
        ),
        (
            "SCMP_ARCH_MIPS64N32",
            &["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"],
        ),
        (
            "SCMP_ARCH_MIPSEL64",
            &["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"],
        ),
        (
            "SCMP_ARCH_MIPSEL64N32",
            &["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"],
        ),
        ("SCMP_ARCH_S390X", &["SCMP_ARCH_S390"]),
        ("SCMP_ARCH_RISCV64", &[]),
        ("SCMP_ARCH_LOONGARCH64", &[]),
    ]
    .into_iter()
    .map(|(a, subs)| ArchMap {
        architecture: a.to_string(),
        sub_architectures: names(subs),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(pairs: &[(u64, u64)], v: u64) -> bool {
        pairs.iter().any(|(m, p)| v & m == *p)
    }

    #[test]
    fn u32_except_is_exact() {
        let pairs = u32_except(&[TIOCSTI, TIOCLINUX]);
        assert_eq!(pairs.len(), 34);
        for v in 0..0x2_0000u64 {
            let low = crate::seccomp::compile::halves(v).1;
            let want = low != TIOCSTI && low != TIOCLINUX;
            assert_eq!(allowed(&pairs, v), want, "{v:#x}");
        }
        for high in [1u64 << 32, 0xffff_ffff_0000_0000, 1 << 63] {
            for low in [
                0u64,
                0x5401,
                0x5412,
                0x541B,
                0x541C,
                0x541D,
                0x8000_5412,
                0xffff_ffff,
            ] {
                let want = low != u64::from(TIOCSTI) && low != u64::from(TIOCLINUX);
                assert_eq!(allowed(&pairs, high | low), want, "{:#x}", high | low);
            }
        }
        // The patterns partition the allowed values: no value matches two of them.
        for v in [0u64, 0x5401, 0x5413, 0x541B, 0x8000_0000, 0xffff_ffff] {
            assert_eq!(pairs.iter().filter(|(m, p)| v & m == *p).count(), 1);
        }
    }

    #[test]
    fn u32_except_edges() {
        assert_eq!(u32_except(&[]), vec![(0, 0)]);
        let all_but_zero = u32_except(&[0]);
        assert_eq!(all_but_zero.len(), 32);
        assert!(!allowed(&all_but_zero, 0));
        assert!(!allowed(&all_but_zero, 1 << 40));
        assert!(allowed(&all_but_zero, 1));
        assert!(allowed(&all_but_zero, 1 << 31));
    }

    #[test]
    fn sources_hold() {
        let p = default_profile();
        assert_eq!(p.default_action, Action::Errno);
        let base = &p.syscalls[0].names;
        assert!(!base.iter().any(|n| n == "ioctl"));
        assert!(!base.iter().any(|n| n.starts_with("io_uring")));
        let mut sorted = base.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), base.len());
    }
}
