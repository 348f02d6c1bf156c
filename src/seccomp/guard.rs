//! The guard: a small seccomp program that refuses (EPERM) the syscalls with which a process of PID
//! 1's own uid could change PID 1. PID 1 puts it in front of its own filter (see [`prepend`]), so
//! every child inherits it, the program, its restarts and the app checks alike; PID 1 itself never
//! makes these calls against itself (its limits are set before the filter, with pid 0).
//!
//! Why it is needed: PID 1 runs as the program's uid (it drops to it, so that a bug in pidguard is
//! not a root bug), and for most process-to-process syscalls the kernel's only test is "same uid".
//! Non-dumpable (which PID 1 is) stops ptrace, `process_vm_*`, `/proc/1/mem` and `pidfd_getfd`, but
//! not these, which are all allowed by Docker's default profile:
//! - `prlimit64` (kernel/sys.c `check_prlimit_permission`: same uid): `RLIMIT_NOFILE` 1 makes PID 1's
//!   `poll` fail forever, `RLIMIT_CPU` gets it killed, `RLIMIT_AS` makes it abort;
//! - `setpriority`, `ioprio_set` (same uid, and `PRIO_USER`/`IOPRIO_WHO_USER` reach *every* process
//!   of the uid, PID 1 included, with `who = 0`), `sched_setscheduler`, `sched_setparam`,
//!   `sched_setattr`, `sched_setaffinity` (`check_same_owner`): PID 1 starved behind the program;
//! - without Landlock's signal scope (below): `kill`, `tkill`, `tgkill`, `rt_sigqueueinfo`,
//!   `rt_tgsigqueueinfo` (kill(2): same uid): PID 1
//!   blocks every signal and reads them from a signalfd, so the kernel's "init ignores signals it
//!   has no handler for" rule does not apply: a SIGTERM from the program is a shutdown request.
//!   `kill(-1)` skips the namespace's init (kernel/signal.c `kill_something_info`), so it is refused
//!   only when pidguard is not PID 1; `kill(-pgid)` of pidguard's process group is refused when it
//!   has one that can be named (> 1);
//! - without the scope too, `fcntl(F_SETOWN, pid)`: the kernel then sends SIGIO (or the `F_SETSIG`
//!   signal, SIGTERM if one likes) to PID 1 whenever the descriptor is ready, with the setter's
//!   credentials;
//! - `pidfd_open(PID 1)`, `process_vm_readv/writev`, `ptrace` aimed at PID 1: already refused by the
//!   kernel for a non-dumpable PID 1 (`pidfd_open` itself is not, but what a pidfd is for is),
//!   refused here too as a second wall for a few instructions.
//!
//! What it cannot see: arguments behind pointers. `F_SETOWN_EX` and `ioctl(FIOSETOWN/SIOCSPGRP)` pass
//! the owner in memory, and `pidfd_send_signal` takes a descriptor, which `open("/proc/1")` also
//! gives. Landlock's `LANDLOCK_SCOPE_SIGNAL` (ABI 6) covers every way of signalling PID 1 in the
//! kernel (`security_task_kill`, `file_send_sigiotask`), those and the plain `kill` family alike, so
//! when the program gets that scope (see `landlock.rs`) the guard leaves signals out entirely: the
//! `kill` family and `fcntl`/`ioctl` owners are guarded only without it. There it refuses
//! `F_SETOWN_EX`, `FIOSETOWN` and `SIOCSPGRP` outright (rarely used: `F_SETOWN` is the common way,
//! and it stays allowed for every other pid).
//!
//! Why leave out what Landlock covers: at every start the kernel emulates a new filter once for each
//! syscall number of each ABI (`seccomp_cache_prepare`, to learn which numbers it always allows), so
//! every instruction on the path of an unlisted number costs about 2 us per start on this project's
//! test machine (a 2-CPU VM); the signal rules were half of the guard, about 70 us of every start-up.
//!
//! The pid arguments are `int`s: the kernel uses the low 32 bits of the register (the
//! `SYSCALL_DEFINE` casts), so only the low half is compared; `kill(0x1_0000_0001)` is `kill(1)`.
//!
//! Shape and cost: the guard runs first and falls through into the main filter for every call it
//! does not refuse, so it can only narrow the main filter, never widen it. Its fast path, for any
//! syscall not listed, is: load arch, compare, load nr, mask the x32 bit, a binary search over the
//! 11 to 20 listed numbers (four or five comparisons), then the main filter: about ten more
//! instructions per syscall, and no second filter to check and JIT-compile at start-up. A listed
//! syscall then loads and compares one or two arguments.
//!
//! Other ABIs: with a main filter every syscall through another ABI (i386, arm32) is killed by it,
//! so the guard leaves them to it; with `--seccomp unconfined` the guard is the only filter, so it
//! also knows the i386/arm32 numbers of the same calls. x32 numbers (bit 30) are guarded as their
//! 64-bit twins (x32's own numbers for `ioctl`, `ptrace`, `rt_sigqueueinfo`, ... are in the table).

use super::compile::{
    Arch, Asm, BPF_ALU_AND_K, BPF_JEQ_K, BPF_JGE_K, BPF_LD_W_ABS, BPF_RET_K, Label, OFF_ARCH,
    OFF_NR, X32_SYSCALL_BIT, off_arg_low,
};

/// What the guard protects: PID 1 as the program sees it (the same PID namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protected {
    /// pidguard's pid (1 as the PID 1 of a container; anything when it is not).
    pub pid: u32,
    /// pidguard's process group, 0 when it is outside our namespace (and cannot be named).
    pub pgid: u32,
    /// Whether the program also gets Landlock's signal scope, which covers what the guard cannot
    /// see (owners passed in memory, pidfds from /proc).
    pub scoped: bool,
}

impl Protected {
    /// This process.
    pub fn this_process(scoped: bool) -> Protected {
        Protected {
            pid: std::process::id(),
            pgid: u32::try_from(nix::unistd::getpgrp().as_raw()).unwrap_or(0),
            scoped,
        }
    }
}

const PRIO_PROCESS: u32 = 0;
const PRIO_PGRP: u32 = 1;
const PRIO_USER: u32 = 2;
const IOPRIO_WHO_PROCESS: u32 = 1;
const IOPRIO_WHO_PGRP: u32 = 2;
const IOPRIO_WHO_USER: u32 = 3;
const F_SETOWN: u32 = 8;
const F_SETOWN_EX: u32 = 15;
const FIOSETOWN: u32 = 0x8901;
const SIOCSPGRP: u32 = 0x8902;

/// One way a call is refused: every (argument index, low 32 bits) must match.
type Alternative = Vec<(u8, u32)>;

/// The refused calls: syscall name and its alternatives (any one refuses).
pub fn rules(p: &Protected) -> Vec<(&'static str, Vec<Alternative>)> {
    let pid = p.pid;
    // The pid as the kernel reads -pid from an int.
    let neg = |v: u32| v.wrapping_neg();
    // A group that `kill(-pgid)` can name: 0 is "my own group" and -1 is "everyone".
    let pgid = (p.pgid > 1).then_some(p.pgid);
    let on_pid = |arg: u8| vec![vec![(arg, pid)]];
    let mut kill = vec![vec![(0, pid)]];
    if pid != 1 {
        // kill(-1) spares only the namespace's init, and then only when that is us.
        kill.push(vec![(0, u32::MAX)]);
    }
    kill.extend(pgid.map(|g| vec![(0, neg(g))]));
    let mut setpriority = vec![vec![(0, PRIO_PROCESS), (1, pid)], vec![(0, PRIO_USER)]];
    setpriority.extend(pgid.map(|g| vec![(0, PRIO_PGRP), (1, g)]));
    let mut ioprio = vec![
        vec![(0, IOPRIO_WHO_PROCESS), (1, pid)],
        vec![(0, IOPRIO_WHO_USER)],
    ];
    ioprio.extend(pgid.map(|g| vec![(0, IOPRIO_WHO_PGRP), (1, g)]));
    let mut fcntl = vec![vec![(1, F_SETOWN), (2, pid)]];
    fcntl.extend(pgid.map(|g| vec![(1, F_SETOWN), (2, neg(g))]));
    fcntl.push(vec![(1, F_SETOWN_EX)]);
    let mut rules = Vec::new();
    if !p.scoped {
        // Signals: with Landlock's signal scope the kernel itself refuses every signal from the
        // program to PID 1 (security_task_kill, file_send_sigiotask), so the guard leaves them out:
        // the kernel compiles a seccomp filter at about 2 us per instruction on this machine, and
        // these are half of the guard.
        rules.extend([
            ("kill", kill),
            ("tkill", on_pid(0)),
            ("tgkill", vec![vec![(0, pid)], vec![(1, pid)]]),
            ("rt_sigqueueinfo", on_pid(0)),
            ("rt_tgsigqueueinfo", vec![vec![(0, pid)], vec![(1, pid)]]),
            ("fcntl", fcntl.clone()),
            ("fcntl64", fcntl),
            ("ioctl", vec![vec![(1, FIOSETOWN)], vec![(1, SIOCSPGRP)]]),
        ]);
    }
    rules.extend([
        ("prlimit64", on_pid(0)),
        ("setpriority", setpriority),
        ("ioprio_set", ioprio),
        ("sched_setparam", on_pid(0)),
        ("sched_setscheduler", on_pid(0)),
        ("sched_setaffinity", on_pid(0)),
        ("sched_setattr", on_pid(0)),
        ("pidfd_open", on_pid(0)),
        ("process_vm_readv", on_pid(0)),
        ("process_vm_writev", on_pid(0)),
        ("ptrace", on_pid(1)),
    ]);
    rules
}

/// An ABI the guard knows: `seccomp_data.arch`, a mask applied to the number, and name → number.
struct Abi {
    audit: u32,
    mask: u32,
    number: fn(&str) -> Vec<u32>,
}

const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const AUDIT_ARCH_AARCH64: u32 = 0xC000_00B7;
const AUDIT_ARCH_ARM: u32 = 0x4000_0028;

fn x86_64_numbers(name: &str) -> Vec<u32> {
    // x32's own numbers for calls whose 64-bit entry takes a different struct (syscall_64.tbl).
    let x32 = match name {
        "ioctl" => Some(514),
        "ptrace" => Some(521),
        "rt_sigqueueinfo" => Some(524),
        "rt_tgsigqueueinfo" => Some(536),
        "process_vm_readv" => Some(539),
        "process_vm_writev" => Some(540),
        _ => None,
    };
    Arch::X86_64
        .syscall_number(name)
        .into_iter()
        .chain(x32)
        .collect()
}

fn aarch64_numbers(name: &str) -> Vec<u32> {
    Arch::Aarch64.syscall_number(name).into_iter().collect()
}

/// The 32-bit ABIs' numbers of the guarded calls: (name, i386 (arch/x86/entry/syscalls/syscall_32.tbl),
/// arm32 EABI (arch/arm/tools/syscall.tbl), the compat ABI of arm64 kernels).
const COMPAT_NUMBERS: [(&str, u32, u32); 19] = [
    ("ptrace", 26, 26),
    ("kill", 37, 37),
    ("ioctl", 54, 54),
    ("fcntl", 55, 55),
    ("setpriority", 97, 97),
    ("sched_setparam", 154, 154),
    ("sched_setscheduler", 156, 156),
    ("rt_sigqueueinfo", 178, 178),
    ("fcntl64", 221, 221),
    ("tkill", 238, 238),
    ("sched_setaffinity", 241, 241),
    ("tgkill", 270, 268),
    ("ioprio_set", 289, 314),
    ("rt_tgsigqueueinfo", 335, 363),
    ("prlimit64", 340, 369),
    ("process_vm_readv", 347, 376),
    ("process_vm_writev", 348, 377),
    ("sched_setattr", 351, 380),
    ("pidfd_open", 434, 434),
];

/// `name`'s number in one column of [`COMPAT_NUMBERS`] (none for a call not listed).
fn compat_numbers(name: &str, column: fn(&(&str, u32, u32)) -> u32) -> Vec<u32> {
    COMPAT_NUMBERS
        .iter()
        .filter(|(n, ..)| *n == name)
        .map(column)
        .collect()
}

fn i386_numbers(name: &str) -> Vec<u32> {
    compat_numbers(name, |&(_, i386, _)| i386)
}

fn arm_numbers(name: &str) -> Vec<u32> {
    compat_numbers(name, |&(_, _, arm)| arm)
}

fn abis(arch: Arch) -> [Abi; 2] {
    match arch {
        Arch::X86_64 => [
            Abi {
                audit: AUDIT_ARCH_X86_64,
                mask: !X32_SYSCALL_BIT,
                number: x86_64_numbers,
            },
            Abi {
                audit: AUDIT_ARCH_I386,
                mask: u32::MAX,
                number: i386_numbers,
            },
        ],
        Arch::Aarch64 => [
            Abi {
                audit: AUDIT_ARCH_AARCH64,
                mask: u32::MAX,
                number: aarch64_numbers,
            },
            Abi {
                audit: AUDIT_ARCH_ARM,
                mask: u32::MAX,
                number: arm_numbers,
            },
        ],
    }
}

const RET_ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const RET_EPERM: u32 = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;

/// Refuses when any alternative matches entirely, allows otherwise.
fn refusal(asm: &mut Asm, alts: &[Alternative], deny: Label, allow: Label) -> Label {
    let mut next = allow;
    for alt in alts.iter().rev() {
        let mut hit = deny;
        for &(arg, value) in alt.iter().rev() {
            asm.jump(BPF_JEQ_K, value, hit, next);
            hit = asm.stmt(BPF_LD_W_ABS, off_arg_low(arg));
        }
        next = hit;
    }
    next
}

/// Binary search of the syscall number (in A) over sorted `entries`.
fn search(asm: &mut Asm, entries: &[(u32, Label)], miss: Label) -> Label {
    if entries.len() <= 2 {
        let mut next = miss;
        for &(nr, target) in entries.iter().rev() {
            next = asm.jump(BPF_JEQ_K, nr, target, next);
        }
        return next;
    }
    let mid = entries.len() / 2;
    let high = search(asm, &entries[mid..], miss);
    let low = search(asm, &entries[..mid], miss);
    asm.jump(BPF_JGE_K, entries[mid].0, high, low)
}

/// The guard for `arch`, protecting `p`, as a filter of its own. `compat`: also guard the other ABI
/// of the architecture (i386, arm32), for when no main filter kills it.
pub fn filter(arch: Arch, p: &Protected, compat: bool) -> Vec<libc::sock_filter> {
    let rules = rules(p);
    let mut asm = Asm::default();
    let allow = asm.ret(RET_ALLOW);
    let deny = asm.ret(RET_EPERM);
    let blocks: Vec<(&str, Label)> = rules
        .iter()
        .map(|(name, alts)| (*name, refusal(&mut asm, alts, deny, allow)))
        .collect();
    let mut entries = Vec::new();
    for abi in abis(arch).into_iter().take(if compat { 2 } else { 1 }) {
        let mut table: Vec<(u32, Label)> = blocks
            .iter()
            .flat_map(|&(name, block)| (abi.number)(name).into_iter().map(move |nr| (nr, block)))
            .collect();
        table.sort_unstable();
        table.dedup_by_key(|e| e.0);
        let entry = search(&mut asm, &table, allow);
        asm.goto(entry);
        if abi.mask != u32::MAX {
            asm.stmt(BPF_ALU_AND_K, abi.mask);
        }
        entries.push((abi.audit, asm.stmt(BPF_LD_W_ABS, OFF_NR)));
    }
    // The native ABI first: it is the one that runs.
    let mut next = allow;
    for &(audit, entry) in entries.iter().rev() {
        next = asm.jump(BPF_JEQ_K, audit, entry, next);
    }
    asm.stmt(BPF_LD_W_ABS, OFF_ARCH);
    super::to_libc(&asm.finish())
}

/// One filter that runs the guard first and then `main` (for every call the guard does not refuse):
/// the guard's one `ret ALLOW` is its last instruction and every path that allows jumps there, so
/// dropping it makes those paths fall into `main`'s first instruction. `main`'s own jumps are
/// relative and stay valid. One filter instead of two: the kernel checks and JIT-compiles each
/// filter at every start (about 100 us for a short one on this machine) and runs every filter of
/// the stack on every syscall.
pub fn prepend(guard: &[libc::sock_filter], main: &[libc::sock_filter]) -> Vec<libc::sock_filter> {
    let (last, body) = guard.split_last().expect("the guard is never empty");
    debug_assert!(last.code == BPF_RET_K && last.k == RET_ALLOW);
    debug_assert!(
        body.iter()
            .all(|i| !(i.code == BPF_RET_K && i.k == RET_ALLOW))
    );
    body.iter().chain(main).copied().collect()
}

#[cfg(test)]
mod tests {
    use super::super::compile::BPF_JA;
    use super::super::compile::eval::{Data, run};
    use super::*;

    fn protected(pid: u32, pgid: u32, scoped: bool) -> Protected {
        Protected { pid, pgid, scoped }
    }

    fn call(prog: &[libc::sock_filter], arch: u32, nr: u32, args: &[u64]) -> u32 {
        let mut a = [0u64; 6];
        a[..args.len()].copy_from_slice(args);
        let ret = run(
            &crate::seccomp::from_libc(prog),
            &Data { nr, arch, args: a },
        );
        assert!(ret == RET_ALLOW || ret == RET_EPERM, "{ret:#x}");
        ret
    }

    fn nr(name: &str) -> u32 {
        x86_64_numbers(name)[0]
    }

    const X: u32 = AUDIT_ARCH_X86_64;

    #[test]
    fn every_listed_call_aimed_at_pid1_is_refused_and_others_pass() {
        for (pid, pgid, scoped) in [(1, 1, true), (1, 0, false), (7, 7, true), (7, 3, false)] {
            let p = protected(pid, pgid, scoped);
            let prog = filter(Arch::X86_64, &p, true);
            let me = u64::from(pid);
            let other = me + 1000;
            // Signals are Landlock's when the program is scoped, the guard's otherwise.
            let signal = if scoped { RET_ALLOW } else { RET_EPERM };
            for name in ["kill", "tkill", "rt_sigqueueinfo"] {
                assert_eq!(call(&prog, X, nr(name), &[me, 15]), signal, "{name}");
                assert_eq!(call(&prog, X, nr(name), &[other, 15]), RET_ALLOW, "{name}");
            }
            for name in [
                "prlimit64",
                "sched_setparam",
                "sched_setscheduler",
                "sched_setaffinity",
                "sched_setattr",
                "pidfd_open",
                "process_vm_readv",
                "process_vm_writev",
            ] {
                assert_eq!(call(&prog, X, nr(name), &[me, 15]), RET_EPERM, "{name}");
                // The kernel reads an int: high bits do not hide the pid.
                let high = (0xdead_u64 << 32) | me;
                assert_eq!(call(&prog, X, nr(name), &[high, 15]), RET_EPERM, "{name}");
                assert_eq!(call(&prog, X, nr(name), &[other, 15]), RET_ALLOW, "{name}");
                assert_eq!(call(&prog, X, nr(name), &[0, 15]), RET_ALLOW, "{name}");
            }
            for name in ["tgkill", "rt_tgsigqueueinfo"] {
                assert_eq!(call(&prog, X, nr(name), &[me, other]), signal);
                assert_eq!(call(&prog, X, nr(name), &[other, me]), signal);
                assert_eq!(call(&prog, X, nr(name), &[other, other]), RET_ALLOW);
            }
            assert_eq!(call(&prog, X, nr("ptrace"), &[16, me]), RET_EPERM);
            assert_eq!(call(&prog, X, nr("ptrace"), &[16, other]), RET_ALLOW);
            // setpriority / ioprio_set: the process, PRIO_USER always, the group when nameable.
            let sp = nr("setpriority");
            assert_eq!(call(&prog, X, sp, &[0, me, 19]), RET_EPERM);
            assert_eq!(call(&prog, X, sp, &[0, other, 19]), RET_ALLOW);
            assert_eq!(call(&prog, X, sp, &[0, 0, 19]), RET_ALLOW);
            assert_eq!(call(&prog, X, sp, &[2, 0, 19]), RET_EPERM);
            assert_eq!(call(&prog, X, sp, &[1, 0, 19]), RET_ALLOW);
            let io = nr("ioprio_set");
            assert_eq!(call(&prog, X, io, &[1, me, 0]), RET_EPERM);
            assert_eq!(call(&prog, X, io, &[3, 0, 0]), RET_EPERM);
            assert_eq!(call(&prog, X, io, &[1, 0, 0]), RET_ALLOW);
            let group = u64::from(pgid);
            let want_group = if pgid > 1 { RET_EPERM } else { RET_ALLOW };
            assert_eq!(call(&prog, X, sp, &[1, group, 19]), want_group);
            assert_eq!(call(&prog, X, io, &[2, group, 0]), want_group);
            let minus = |v: u64| v.wrapping_neg();
            assert_eq!(
                call(&prog, X, nr("kill"), &[minus(group), 15]),
                if !scoped && (pgid > 1 || pid != 1 && pgid == 1) {
                    RET_EPERM
                } else {
                    RET_ALLOW
                },
                "kill(-pgid) with {p:?}"
            );
            // kill(-1) spares init; it reaches pidguard when pidguard is not init.
            let want = if pid == 1 || scoped {
                RET_ALLOW
            } else {
                RET_EPERM
            };
            assert_eq!(call(&prog, X, nr("kill"), &[minus(1), 9]), want);
            assert_eq!(call(&prog, X, nr("kill"), &[minus(other), 9]), RET_ALLOW);
            // F_SETOWN to PID 1, F_SETOWN_EX and FIOSETOWN: the guard's without Landlock's scope.
            let f = nr("fcntl");
            assert_eq!(call(&prog, X, f, &[3, 8, me]), signal);
            assert_eq!(call(&prog, X, f, &[3, 8, other]), RET_ALLOW);
            assert_eq!(call(&prog, X, f, &[3, 1, me]), RET_ALLOW);
            assert_eq!(call(&prog, X, f, &[3, 15, 0]), signal);
            assert_eq!(call(&prog, X, nr("ioctl"), &[3, 0x8901, 0]), signal);
            assert_eq!(call(&prog, X, nr("ioctl"), &[3, 0x5401, 0]), RET_ALLOW);
            // Everything else passes, whatever its arguments.
            for (name, number) in crate::seccomp::syscalls::table(Arch::X86_64).unwrap() {
                if rules(&p).iter().all(|(n, _)| n != name) {
                    assert_eq!(call(&prog, X, *number, &[me, me, me]), RET_ALLOW, "{name}");
                }
            }
        }
    }

    #[test]
    fn other_abis_are_guarded_with_their_own_numbers() {
        let p = protected(1, 0, false);
        let prog = filter(Arch::X86_64, &p, true);
        // x32: the bit set, the common number or x32's own.
        assert_eq!(call(&prog, X, X32_SYSCALL_BIT | 62, &[1, 9]), RET_EPERM);
        assert_eq!(call(&prog, X, X32_SYSCALL_BIT | 524, &[1, 9]), RET_EPERM);
        assert_eq!(call(&prog, X, X32_SYSCALL_BIT | 62, &[2, 9]), RET_ALLOW);
        // i386: kill is 37 there (alarm in the 64-bit table), prlimit64 340.
        assert_eq!(call(&prog, AUDIT_ARCH_I386, 37, &[1, 9]), RET_EPERM);
        assert_eq!(call(&prog, AUDIT_ARCH_I386, 340, &[1, 7]), RET_EPERM);
        assert_eq!(call(&prog, AUDIT_ARCH_I386, 37, &[2, 9]), RET_ALLOW);
        assert_eq!(call(&prog, X, 37, &[1]), RET_ALLOW);
        assert_eq!(call(&prog, X, u32::MAX, &[1]), RET_ALLOW);
        let arm = filter(Arch::Aarch64, &p, true);
        let a64 = |n: &str| aarch64_numbers(n)[0];
        assert_eq!(
            call(&arm, AUDIT_ARCH_AARCH64, a64("kill"), &[1, 9]),
            RET_EPERM
        );
        assert_eq!(
            call(&arm, AUDIT_ARCH_AARCH64, a64("prlimit64"), &[1, 7]),
            RET_EPERM
        );
        assert_eq!(call(&arm, AUDIT_ARCH_ARM, 369, &[1, 7]), RET_EPERM);
        assert_eq!(call(&arm, AUDIT_ARCH_ARM, 37, &[1, 9]), RET_EPERM);
        assert_eq!(call(&arm, AUDIT_ARCH_ARM, 37, &[3, 9]), RET_ALLOW);
        // Every name the guard lists exists in each native table (fcntl64 is 32-bit only).
        for (name, _) in rules(&protected(7, 7, false)) {
            if name != "fcntl64" {
                assert!(!x86_64_numbers(name).is_empty(), "{name}");
                assert!(!aarch64_numbers(name).is_empty(), "{name}");
            }
            assert!(!i386_numbers(name).is_empty(), "{name}");
            assert!(!arm_numbers(name).is_empty(), "{name}");
        }
    }

    #[test]
    fn fast_path_is_short() {
        let prog = filter(Arch::X86_64, &protected(1, 1, true), true);
        // Count the instructions `read` runs.
        let mut pc = 0;
        let mut steps = 0;
        let mut a = 0u32;
        loop {
            let i = prog[pc];
            steps += 1;
            pc = match i.code {
                BPF_LD_W_ABS => {
                    a = if i.k == OFF_ARCH { X } else { 0 };
                    pc + 1
                }
                BPF_ALU_AND_K => {
                    a &= i.k;
                    pc + 1
                }
                BPF_JA => pc + 1 + i.k as usize,
                BPF_JEQ_K => pc + 1 + usize::from(if a == i.k { i.jt } else { i.jf }),
                BPF_JGE_K => pc + 1 + usize::from(if a >= i.k { i.jt } else { i.jf }),
                _ => break,
            };
        }
        assert!(steps <= 12, "{steps} instructions for read(2)");
        assert!(prog.len() < 200, "{} instructions", prog.len());
    }

    #[test]
    fn prepended_to_a_main_filter_the_guard_refuses_first_and_main_decides_the_rest() {
        let p = protected(1, 1, true);
        let main = crate::seccomp::prebuilt_default(0)
            .map(|f| f[0].clone())
            .unwrap_or_else(|| {
                crate::seccomp::to_libc(
                    &crate::seccomp::compile(&crate::seccomp::default_profile(), 0, &[]).unwrap()
                        [0],
                )
            });
        let merged = prepend(&filter(Arch::X86_64, &p, false), &main);
        let native_only = filter(Arch::X86_64, &p, false);
        assert!(native_only.len() < filter(Arch::X86_64, &p, true).len());
        let conv = crate::seccomp::from_libc;
        let (merged, main) = (conv(&merged), conv(&main));
        let at = |nr: u32, args: [u64; 6]| Data { nr, arch: X, args };
        // Refused by the guard, whatever main says.
        assert_eq!(
            run(&merged, &at(nr("prlimit64"), [1, 7, 0, 0, 0, 0])),
            RET_EPERM
        );
        assert_eq!(
            run(&merged, &at(nr("sched_setscheduler"), [1, 5, 0, 0, 0, 0])),
            RET_EPERM
        );
        // Everything else: exactly main's answer (allow, EPERM, ENOSYS, kill), all arches.
        let guarded = rules(&p);
        for (name, number) in crate::seccomp::syscalls::table(Arch::X86_64).unwrap() {
            if guarded.iter().any(|(n, _)| n == name) {
                continue;
            }
            for args in [[2u64, 0, 0, 0, 0, 0], [0, 0x5412, 0, 0, 0, 0]] {
                for arch in [X, AUDIT_ARCH_I386] {
                    let d = Data {
                        nr: *number,
                        arch,
                        args,
                    };
                    assert_eq!(run(&merged, &d), run(&main, &d), "{number} {arch:#x}");
                }
            }
        }
        // x32 numbers are guarded as their 64-bit twins; main still kills the x32 ABI otherwise.
        let d = at(X32_SYSCALL_BIT | 302, [1, 7, 0, 0, 0, 0]);
        assert_eq!(run(&merged, &d), RET_EPERM);
        let d = at(X32_SYSCALL_BIT | 302, [2, 7, 0, 0, 0, 0]);
        assert_eq!(run(&merged, &d), libc::SECCOMP_RET_KILL_PROCESS);
    }
}
