//! Least privilege by recording: run the program once under the normal filter, note every syscall it
//! makes, and write a profile that allows exactly those (`--seccomp-record FILE`).
//!
//! # The mechanism
//! With no_new_privs set, any process may stack a seccomp filter that answers
//! `SECCOMP_RET_USER_NOTIF`: the calling thread then sleeps until the holder of the filter's
//! listener descriptor answers. PID 1 answers every notification at once with
//! `SECCOMP_USER_NOTIF_FLAG_CONTINUE` (Linux 5.5), which lets the syscall run as if the filter were
//! not there, and keeps a note of it (seccomp_unotify(2)). Filters are inherited by every thread and
//! child the program makes, and survive its execs, so the whole process tree is recorded.
//!
//! Stacked filters all run, and the kernel takes the most severe answer: KILL, then TRAP, then ERRNO,
//! then USER_NOTIF, then ALLOW (seccomp(2), "the return value ... with the highest precedence").
//! So the recording filter itself can be simple (notify everything), and only what the default
//! filter allows ever reaches PID 1: a denied syscall gets its EPERM without a notification.
//!
//! # Who installs the listener
//! PID 1 must never be notified of its own syscalls (it would wait for itself), so the child
//! installs the filter, between clone and exec, after the program's own filters. PID 1 starts
//! children with `clone(CLONE_VM | CLONE_VFORK)` (sys::spawn): it sleeps until the child's execve,
//! so every syscall the child makes after the install must be let through by the recording filter
//! itself, or the child and PID 1 wait for each other forever. Those syscalls are
//! `rt_sigprocmask` (the program's signal mask), `execve` (once per PATH candidate) and `exit_group`
//! (a failed exec): [`EXEC_MINIMUM`], allowed by the filter and put in every profile, since
//! Docker's runc too installs the filter and then execs.
//!
//! runc and crun hand a listener to their supervisor over a unix socket with SCM_RIGHTS; that would
//! add a `sendmsg` after the install, which the filter would have to let through, and every
//! `sendmsg` the program makes later would have to be told apart from it. pidguard instead adds
//! `CLONE_FILES` to that one clone: the child creates the listener in PID 1's own descriptor
//! table and reports its number in the memory it shares with PID 1 anyway; execve gives the program
//! a private copy of the table and closes the listener there (it is close-on-exec). Nothing
//! happens between the install and the exec but the three syscalls above.
//!
//! # What is recorded, and what it costs
//! A classic-BPF filter has no state: once installed, it notifies a syscall every time, the hundredth
//! `read` as much as the first, and PID 1 cannot change it (no call replaces another process's
//! filter). A round trip costs about 16 µs (0.6 µs without), so the filter lets through unnotified
//! what is in every recorded profile anyway: [`EXEC_MINIMUM`]; [`RUNTIME_BASELINE`], the calls every
//! C runtime makes to load and run a program (read, write, mmap, openat, fstat, futex, ...), which
//! are also most of the calls any program makes; and what pidguard and the container runtime need
//! ([`PID1_OWN`], [`CONTAINER_RUNTIME`], see [`Recorded::for_container`]). Denying those would make
//! no program safer (none runs without them); notifying them would make recording 30-70 % slower
//! instead of a few percent (git and python: 22-117 notifications per run instead of 1,300-5,800;
//! the README's "Tighten your filter" has the table). Everything else the default allows is
//! notified on every call. A restarted program gets a filter that also lets through the
//! argument-free syscalls already recorded ([`recording_filter`]), so repeats cost nothing there.
//!
//! For the syscalls the default filter decides by argument (the socket address family, the
//! personality, clone's namespace flags, the ioctl request), PID 1 records which of the default's
//! own cases matched (`Class`): a program that opened AF_UNIX sockets gets `socket` with family 1,
//! not every family Docker allows.
//!
//! # Bounds
//! The record is a fixed table of one 64-bit word per syscall number ([`NR_LIMIT`] words, 4 KiB),
//! allocated before the program starts; recording a notification allocates nothing and does a
//! bounded amount of work. A program cannot make PID 1 remember more by making more or stranger
//! syscalls, only make it answer: each notified call blocks its thread until PID 1 has answered, so
//! the work PID 1 does is paced by the program's own syscalls, and PID 1 answers at most a batch
//! per wake before it looks at signals again (init's loop).
//!
//! # What the recording trusts
//! The program can hide syscalls from the recording (for example by stacking its own
//! user-notification filter, which takes precedence over ours). It cannot gain anything by it: what
//! it hid is missing from the profile, so enforcing the profile denies it. The recording never
//! widens what the default filter allows.

use super::compile::{Arch, Target, alternatives, compile_for};
use super::profile::{Action, Arg, Filter, Op, Profile, Rule};
use super::{Error, applicable_rules};

/// Syscall numbers below this are recorded one by one; the newest syscall either supported
/// architecture has (`listns`) is 470. A notification for a larger number is counted, not recorded.
pub const NR_LIMIT: usize = 512;

/// Argument cases told apart per syscall (bits of its word in the record).
const CASES: usize = 64;

/// Syscalls the child makes between installing the recording filter and the program's first
/// instruction, or that no program can do without: allowed unnotified and in every profile.
/// `rt_sigreturn` and `restart_syscall` are made by the kernel's signal return path on the program's
/// behalf; denying them breaks every signal handler.
pub const EXEC_MINIMUM: &[&str] = &[
    "execve",
    "exit",
    "exit_group",
    "restart_syscall",
    "rt_sigprocmask",
    "rt_sigreturn",
];

/// Syscalls every dynamically linked program makes while it is loaded and started (ld.so opens,
/// maps and protects its libraries; libc reads, writes, allocates and locks), and which make up most
/// of the syscalls of any program (most of git's and python's). Allowed unnotified and in
/// every profile: notifying them is where the cost of recording would go, and denying them would
/// break every program while protecting nothing.
pub const RUNTIME_BASELINE: &[&str] = &[
    "brk",
    "close",
    "fstat",
    "futex",
    "lseek",
    "madvise",
    "mmap",
    "mprotect",
    "munmap",
    "newfstatat",
    "openat",
    "pread64",
    "read",
    "write",
];

/// What pidguard itself does in a container, as PID 1 (start-up, hardening, the loop, the status
/// socket, starting children) and as `pidguard probe` or `pidguard seccomp recorded` run by
/// `docker exec`: in every profile, because Docker and Kubernetes apply the profile to the whole
/// container, pidguard included. Gathered with strace from pidguard's own runs and checked by the
/// tests, which run pidguard under a recorded profile. `clone`, `socket` and `ioctl` are argument
/// cases: see [`Recorded::for_container`].
pub const PID1_OWN: &[&str] = &[
    "accept4",
    // `pidguard probe`'s backstop behind --timeout (setitimer where there is no alarm).
    "alarm",
    "arch_prctl",
    "bind",
    "brk",
    "capget",
    "capset",
    "clock_gettime",
    "clock_nanosleep",
    "close",
    "connect",
    "dup2",
    "dup3",
    "execve",
    "exit",
    "exit_group",
    "fcntl",
    "fdatasync",
    "fstat",
    "ftruncate",
    "futex",
    "getdents64",
    "getegid",
    "geteuid",
    "getgid",
    "getgroups",
    "getpid",
    "getrandom",
    "getresgid",
    "getresuid",
    // SO_PEERCRED: a status-socket client checks that the listener is this container's pidguard.
    "getsockopt",
    "getuid",
    "kill",
    "listen",
    "lseek",
    "madvise",
    "mmap",
    "mprotect",
    "munmap",
    "nanosleep",
    "newfstatat",
    "openat",
    "pipe2",
    "poll",
    "ppoll",
    "prctl",
    "prlimit64",
    "pwrite64",
    "read",
    "readlink",
    "recvfrom",
    "restart_syscall",
    "rseq",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "seccomp",
    "sendto",
    "set_robust_list",
    "set_tid_address",
    "setgroups",
    "setitimer",
    "setpgid",
    "setresgid",
    "setresuid",
    "setsockopt",
    "shutdown",
    "signalfd4",
    "statx",
    "umask",
    "uname",
    "wait4",
    "waitid",
    "write",
];

/// What the container runtime does after it installed the container's filter and before it execs
/// the container's process (runc's `finalizeNamespace` when no-new-privileges is off, which is
/// Docker's default: close inherited descriptors, set capabilities and user, chdir; and its Go
/// runtime meanwhile). Without these `docker run --security-opt seccomp=FILE` fails before the
/// program starts.
pub const CONTAINER_RUNTIME: &[&str] = &[
    "capget",
    "capset",
    "chdir",
    "close",
    "close_range",
    "epoll_ctl",
    "epoll_pwait",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fcntl",
    "fstatfs",
    "futex",
    "getcwd",
    "getdents64",
    "getpid",
    "getppid",
    "gettid",
    "madvise",
    "mmap",
    "munmap",
    "nanosleep",
    "newfstatat",
    "openat",
    "prctl",
    "read",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_yield",
    "setgid",
    "setgroups",
    "setresgid",
    "setresuid",
    "setuid",
    "sigaltstack",
    "tgkill",
    "write",
];

const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

/// What the base profile does with one syscall number, as far as recording is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Class {
    /// Never allowed: never notified.
    Denied,
    /// Allowed whatever the arguments: one bit, "used".
    Plain,
    /// Allowed for a few exact values of one argument (socket families, personalities): one bit per
    /// value, in this order.
    Values { index: u8, values: Vec<u64> },
    /// Allowed when one of these argument tests holds (clone's namespace mask, the ioctl request
    /// trie): one bit per alternative, the first that matched; alternatives from the 64th on share
    /// the last bit.
    Alternatives(Vec<Vec<Arg>>),
}

/// The profile a recording is measured against, resolved for this machine.
#[derive(Clone, Debug)]
pub struct Base {
    target: Target,
    classes: Vec<Class>,
    /// Rules of the base with an errno other than the default (Docker's `clone3` ENOSYS, which
    /// makes libc fall back to `clone`): carried over for the syscalls the recording did not allow.
    fallbacks: Vec<Rule>,
    /// The base's highest syscall number and name: numbers above it answer ENOSYS (runc's and
    /// pidguard's stub), and the recorded profile keeps that line where it was.
    newest: Option<(u32, String)>,
}

impl Base {
    /// Resolves `p` for `target`. The base must deny by default: against a profile that allows
    /// everything there is nothing to tighten, and every unknown number would have to be recorded.
    pub fn new(p: &Profile, target: &Target) -> Result<Base, Error> {
        if matches!(p.default_action, Action::Allow | Action::Log) {
            return Err(Error::Compile {
                why: format!(
                    "recording needs a profile that denies by default, not {}: record under the \
                     default profile (drop --seccomp) or your own",
                    p.default_action.name()
                ),
            });
        }
        let default_errno = p.default_errno_ret.unwrap_or(EPERM);
        let arch = target.arch;
        let mut allowed: Vec<Option<Option<Vec<Vec<Arg>>>>> = vec![None; NR_LIMIT];
        let mut fallbacks = Vec::new();
        let mut newest: Option<(u32, String)> = None;
        for rule in applicable_rules(p, target)? {
            let known: Vec<(u32, &String)> = rule
                .names
                .iter()
                .filter_map(|n| arch.syscall_number(n).map(|nr| (nr, n)))
                .collect();
            for &(nr, name) in &known {
                if newest.as_ref().is_none_or(|(max, _)| nr > *max) {
                    newest = Some((nr, name.clone()));
                }
            }
            match rule.action {
                Action::Allow | Action::Log => {
                    for &(nr, _) in &known {
                        let Some(slot) = allowed.get_mut(nr as usize) else {
                            continue;
                        };
                        *slot = match (slot.take(), rule.args.is_empty()) {
                            (_, true) | (Some(None), _) => Some(None),
                            (None, false) => Some(Some(alternatives(&rule.args))),
                            (Some(Some(mut alts)), false) => {
                                alts.extend(alternatives(&rule.args));
                                Some(Some(alts))
                            }
                        };
                    }
                }
                Action::Errno if rule.errno_ret.unwrap_or(EPERM) != default_errno => {
                    fallbacks.push(Rule {
                        names: known.iter().map(|(_, n)| (*n).clone()).collect(),
                        comment: String::new(),
                        includes: Filter::default(),
                        excludes: Filter::default(),
                        ..rule.clone()
                    });
                }
                _ => {}
            }
        }
        let classes = allowed
            .into_iter()
            .map(|a| match a {
                None => Class::Denied,
                Some(None) => Class::Plain,
                Some(Some(mut alts)) => {
                    alts.sort_unstable();
                    alts.dedup();
                    classify(alts)
                }
            })
            .collect();
        Ok(Base {
            target: *target,
            classes,
            fallbacks,
            newest,
        })
    }

    /// How many syscalls the base allows (in any case).
    pub fn allowed(&self) -> usize {
        self.classes.iter().filter(|c| **c != Class::Denied).count()
    }

    fn name(&self, nr: usize) -> Option<&'static str> {
        let nr = u32::try_from(nr).ok()?;
        super::syscalls::table(self.target.arch)?
            .iter()
            .find(|(_, n)| *n == nr)
            .map(|(name, _)| *name)
    }
}

/// Few exact values of one argument become [`Class::Values`]; everything else alternatives.
fn classify(alts: Vec<Vec<Arg>>) -> Class {
    let index = alts.first().and_then(|a| a.first()).map_or(0, |a| a.index);
    let mut values: Vec<u64> = Vec::new();
    for alt in &alts {
        let range = match alt.as_slice() {
            [a] if a.index == index => match a.op {
                Op::Eq => Some(a.value..a.value.saturating_add(1)),
                Op::Lt if a.value <= CASES as u64 => Some(0..a.value),
                Op::Le if a.value < CASES as u64 => Some(0..a.value + 1),
                _ => None,
            },
            _ => None,
        };
        let Some(range) = range else {
            return Class::Alternatives(alts);
        };
        values.extend(range);
        if values.len() > 4 * CASES {
            return Class::Alternatives(alts);
        }
    }
    values.sort_unstable();
    values.dedup();
    if values.len() > CASES {
        return Class::Alternatives(alts);
    }
    Class::Values { index, values }
}

/// Whether a comparison holds for `v`, as the kernel's filter (and libseccomp) compare: unsigned,
/// all 64 bits.
fn holds(a: &Arg, v: u64) -> bool {
    match a.op {
        Op::Ne => v != a.value,
        Op::Lt => v < a.value,
        Op::Le => v <= a.value,
        Op::Eq => v == a.value,
        Op::Ge => v >= a.value,
        Op::Gt => v > a.value,
        Op::MaskedEq => v & a.value == a.value_two,
    }
}

/// What the program used: one word per syscall number, fixed size, allocated once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    cases: Box<[u64; NR_LIMIT]>,
    /// Notifications answered.
    pub notifications: u64,
    /// Notifications that matched nothing the base allows (another ABI, a number above the table,
    /// an argument case the base does not have): answered, not recorded.
    pub unmatched: u64,
}

impl Default for Recorded {
    fn default() -> Self {
        Recorded {
            cases: Box::new([0; NR_LIMIT]),
            notifications: 0,
            unmatched: 0,
        }
    }
}

impl Recorded {
    /// Notes one notified syscall. Allocates nothing; the work is bounded by the base's largest
    /// argument case list (at most a few hundred comparisons, Docker's default has 37).
    pub fn record(&mut self, base: &Base, arch: u32, nr: i32, args: &[u64; 6]) {
        self.notifications = self.notifications.saturating_add(1);
        let slot = usize::try_from(nr).ok().filter(|&n| n < NR_LIMIT);
        let (Some(nr), true) = (slot, arch == base.target.arch.audit()) else {
            self.unmatched = self.unmatched.saturating_add(1);
            return;
        };
        let arg = |i: u8| args.get(usize::from(i)).copied().unwrap_or(0);
        let bit = match &base.classes[nr] {
            Class::Denied => None,
            Class::Plain => Some(0),
            Class::Values { index, values } => values.binary_search(&arg(*index)).ok(),
            Class::Alternatives(alts) => alts
                .iter()
                .position(|alt| alt.iter().all(|a| holds(a, arg(a.index))))
                .map(|i| i.min(CASES - 1)),
        };
        match bit {
            Some(b) => self.cases[nr] |= 1 << b,
            None => self.unmatched = self.unmatched.saturating_add(1),
        }
    }

    /// A record that starts with what pidguard and the container runtime need ([`PID1_OWN`],
    /// [`CONTAINER_RUNTIME`]), as if they had been notified. `network`: pidguard serves HTTP or
    /// runs http/tcp checks (sockets of AF_INET and AF_INET6, not only AF_UNIX). PID 1 starts
    /// children with `clone(CLONE_VM | CLONE_VFORK | SIGCHLD)` (and CLONE_FILES while recording),
    /// and calls `ioctl` for TIOCSPGRP (the terminal), TCGETS (isatty), FIONBIO (std's
    /// `set_nonblocking`) and the user-notification requests (recording again under the profile).
    pub fn for_container(base: &Base, network: bool) -> Recorded {
        let mut rec = Recorded::default();
        let arch = base.target.arch;
        let mut assume = |name: &str, args: [u64; 6]| {
            if let Some(nr) = arch.syscall_number(name) {
                rec.record(base, arch.audit(), nr as i32, &args);
            }
        };
        for name in PID1_OWN.iter().chain(CONTAINER_RUNTIME) {
            assume(name, [0; 6]);
        }
        let vfork = (libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD) as u64;
        assume("clone", [vfork, 0, 0, 0, 0, 0]);
        assume("clone", [vfork | libc::CLONE_FILES as u64, 0, 0, 0, 0, 0]);
        let requests: [u64; 6] = [
            libc::TIOCSPGRP,
            libc::TCGETS,
            libc::FIONBIO,
            libc::SECCOMP_IOCTL_NOTIF_RECV,
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS,
        ];
        for request in requests {
            assume("ioctl", [0, request, 0, 0, 0, 0]);
        }
        let mut families = vec![libc::AF_UNIX];
        if network {
            families.extend([libc::AF_INET, libc::AF_INET6]);
        }
        for family in families {
            assume("socket", [i64::from(family).cast_unsigned(), 0, 0, 0, 0, 0]);
        }
        rec.notifications = 0;
        rec.unmatched = 0;
        rec
    }

    /// Whether syscall `nr` was recorded in any case.
    pub fn used(&self, nr: u32) -> bool {
        self.cases.get(nr as usize).is_some_and(|w| *w != 0)
    }
}

/// Names known on `arch`, sorted and without repeats.
fn known_names<'a>(arch: Arch, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = names
        .filter(|n| arch.syscall_number(n).is_some())
        .map(str::to_string)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn allow(names: Vec<String>, args: Vec<Arg>) -> Rule {
    Rule {
        names,
        action: Action::Allow,
        errno_ret: None,
        args,
        comment: String::new(),
        includes: Filter::default(),
        excludes: Filter::default(),
    }
}

/// The recorded profile: EPERM by default; [`EXEC_MINIMUM`], [`RUNTIME_BASELINE`] and every syscall
/// used, with the argument cases used; the base's fallback errnos (`clone3` ENOSYS) for syscalls
/// not allowed; and the base's newest syscall answering ENOSYS, so that syscalls newer than the
/// base answer ENOSYS here too and libc falls back, as it did while recording.
pub fn profile(base: &Base, rec: &Recorded) -> Profile {
    let arch = base.target.arch;
    let mut plain: Vec<&str> = EXEC_MINIMUM
        .iter()
        .chain(RUNTIME_BASELINE)
        .copied()
        .collect();
    let mut with_args: Vec<Rule> = Vec::new();
    for (nr, class) in base.classes.iter().enumerate() {
        let word = rec.cases[nr];
        let Some(name) = base.name(nr).filter(|_| word != 0) else {
            continue;
        };
        let bits = (0..CASES).filter(|b| word & (1 << b) != 0);
        match class {
            Class::Denied => {}
            Class::Plain => plain.push(name),
            Class::Values { index, values } => {
                for b in bits {
                    let arg = Arg {
                        index: *index,
                        value: values[b],
                        value_two: 0,
                        op: Op::Eq,
                    };
                    with_args.push(allow(vec![name.to_string()], vec![arg]));
                }
            }
            Class::Alternatives(alts) => {
                for b in bits {
                    let last = if b == CASES - 1 { alts.len() } else { b + 1 };
                    for alt in &alts[b..last] {
                        with_args.push(allow(vec![name.to_string()], alt.clone()));
                    }
                }
            }
        }
    }
    let plain = known_names(arch, plain.into_iter());
    with_args.sort_by(|a, b| (&a.names, &a.args).cmp(&(&b.names, &b.args)));
    let allowed = |n: &String| plain.contains(n) || with_args.iter().any(|r| r.names.contains(n));
    let mut rules = vec![allow(plain.clone(), Vec::new())];
    rules.extend(with_args.iter().cloned());
    for f in &base.fallbacks {
        let names: Vec<String> = f.names.iter().filter(|n| !allowed(n)).cloned().collect();
        if !names.is_empty() {
            rules.push(Rule {
                names,
                comment: if f.errno_ret == Some(ENOSYS) {
                    FALLBACK.into()
                } else {
                    String::new()
                },
                ..f.clone()
            });
        }
    }
    if let Some((_, name)) = &base.newest
        && !allowed(name)
        && !rules.iter().any(|r| r.names.contains(name))
    {
        rules.push(Rule {
            names: vec![name.clone()],
            action: Action::Errno,
            errno_ret: Some(ENOSYS),
            args: Vec::new(),
            comment: FALLBACK.into(),
            includes: Filter::default(),
            excludes: Filter::default(),
        });
    }
    let raw = Profile {
        default_action: Action::Errno,
        default_errno_ret: Some(EPERM),
        architectures: vec![arch.scmp_name().to_string()],
        arch_map: Vec::new(),
        syscalls: rules,
    };
    // In merge's normal form, so that merging a recording with itself gives it back. One profile
    // always merges (the error is for defaults that differ).
    super::merge::merge(std::slice::from_ref(&raw)).unwrap_or(raw)
}

/// The comment of the ENOSYS rules.
const FALLBACK: &str = "pidguard: ENOSYS, so that libc falls back: clone3 to clone, and syscalls \
                        newer than the last one named here (runc and pidguard answer them ENOSYS)";

/// How many syscalls the recorded profile allows, and how many the base does: the exit summary.
pub fn counts(base: &Base, rec: &Recorded) -> (usize, usize) {
    let p = profile(base, rec);
    let mut names: Vec<&String> = p
        .syscalls
        .iter()
        .filter(|r| r.action == Action::Allow)
        .flat_map(|r| &r.names)
        .collect();
    names.sort_unstable();
    names.dedup();
    (names.len(), base.allowed())
}

/// The filter the child installs with a listener: every syscall is handed to PID 1, except
/// [`EXEC_MINIMUM`], [`RUNTIME_BASELINE`] and the argument-free syscalls already in `seen` (a
/// restarted program), which pass. It returns nothing more severe than USER_NOTIF for a native
/// syscall, so it never changes what the program may do; other ABIs are killed as by every
/// pidguard filter.
pub fn recording_filter(base: &Base, seen: &Recorded) -> Result<Vec<libc::sock_filter>, Error> {
    let mut names: Vec<&str> = EXEC_MINIMUM
        .iter()
        .chain(RUNTIME_BASELINE)
        .copied()
        .collect();
    for (nr, class) in base.classes.iter().enumerate() {
        if *class == Class::Plain && seen.cases[nr] != 0 {
            names.extend(base.name(nr));
        }
    }
    // Compiled as "allow these, log the rest" (a permissive default has no ENOSYS stub), then every
    // LOG answer becomes USER_NOTIF: the compiler has no notify action of its own to offer.
    let p = Profile {
        default_action: Action::Log,
        default_errno_ret: None,
        architectures: Vec::new(),
        arch_map: Vec::new(),
        syscalls: vec![allow(
            known_names(base.target.arch, names.into_iter()),
            Vec::new(),
        )],
    };
    let compiled = compile_for(&p, &base.target, &[])?;
    let mut filter = super::to_libc(&compiled.filters[0]);
    const BPF_RET_K: u16 = 0x06;
    for ins in &mut filter {
        if ins.code == BPF_RET_K && ins.k == libc::SECCOMP_RET_LOG {
            ins.k = libc::SECCOMP_RET_USER_NOTIF;
        }
    }
    Ok(filter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::compile::eval::{Data, run};
    use crate::seccomp::{default_profile, export_json, parse_profile};

    fn target() -> Target {
        Target {
            arch: Arch::X86_64,
            kept_caps: 0,
            kernel: Some((6, 1)),
        }
    }

    fn number(name: &str) -> u32 {
        Arch::X86_64.syscall_number(name).unwrap()
    }

    fn nr(name: &str) -> i32 {
        i32::try_from(number(name)).unwrap()
    }

    fn base() -> Base {
        Base::new(&default_profile(), &target()).unwrap()
    }

    const AUDIT: u32 = 0xC000_003E;

    fn call(rec: &mut Recorded, base: &Base, name: &str, args: [u64; 6]) {
        rec.record(base, AUDIT, nr(name), &args);
    }

    fn rules_for<'a>(p: &'a Profile, name: &str) -> Vec<&'a Rule> {
        p.syscalls
            .iter()
            .filter(|r| r.names.iter().any(|n| n == name))
            .collect()
    }

    #[test]
    fn classes_of_the_default() {
        let b = base();
        match &b.classes[number("socket") as usize] {
            Class::Values { index: 0, values } => {
                assert_eq!(values.len(), 37);
                assert!(values.contains(&1) && values.contains(&10) && !values.contains(&40));
            }
            other => panic!("socket: {other:?}"),
        }
        match &b.classes[number("personality") as usize] {
            Class::Values { index: 0, values } => {
                assert_eq!(values, &[0, 8, 0x20000, 0x20008, 0xffff_ffff])
            }
            other => panic!("personality: {other:?}"),
        }
        assert!(
            matches!(&b.classes[number("clone") as usize], Class::Alternatives(a) if a.len() == 1)
        );
        assert!(
            matches!(&b.classes[number("ioctl") as usize], Class::Alternatives(a) if a.len() == 34)
        );
        assert_eq!(b.classes[number("read") as usize], Class::Plain);
        assert_eq!(b.classes[number("mount") as usize], Class::Denied);
        assert_eq!(b.classes[number("clone3") as usize], Class::Denied);
        assert!(b.allowed() > 300, "{}", b.allowed());
        assert_eq!(b.fallbacks.len(), 1);
        assert_eq!(b.fallbacks[0].names, ["clone3"]);
    }

    #[test]
    fn profile_has_what_was_used_and_the_minimum() {
        let b = base();
        let mut rec = Recorded::default();
        call(&mut rec, &b, "getdents64", [0; 6]);
        call(&mut rec, &b, "socket", [1, 1, 0, 0, 0, 0]);
        call(&mut rec, &b, "socket", [1, 5, 0, 0, 0, 0]);
        call(&mut rec, &b, "socket", [10, 1, 0, 0, 0, 0]);
        call(&mut rec, &b, "clone", [0x3d0f00, 0, 0, 0, 0, 0]);
        call(&mut rec, &b, "ioctl", [1, 0x5401, 0, 0, 0, 0]);
        call(&mut rec, &b, "personality", [0xffff_ffff, 0, 0, 0, 0, 0]);
        // Not allowed by the default: the kernel would never notify these, and they are not recorded.
        call(&mut rec, &b, "mount", [0; 6]);
        call(&mut rec, &b, "socket", [40, 1, 0, 0, 0, 0]);
        rec.record(&b, 0x4000_0003, 5, &[0; 6]); // i386
        rec.record(&b, AUDIT, 100_000, &[0; 6]);
        rec.record(&b, AUDIT, -1, &[0; 6]);
        assert_eq!(rec.notifications, 12);
        assert_eq!(rec.unmatched, 5);

        let p = profile(&b, &rec);
        assert_eq!(p.default_action, Action::Errno);
        assert_eq!(p.architectures, ["SCMP_ARCH_X86_64"]);
        let plain = &p.syscalls[0].names;
        for n in EXEC_MINIMUM
            .iter()
            .chain(RUNTIME_BASELINE)
            .chain(&["getdents64"])
        {
            assert!(plain.iter().any(|p| p == n), "{n}");
        }
        assert!(
            !plain
                .iter()
                .any(|n| n == "mkdir" || n == "socket" || n == "mount")
        );
        let socket: Vec<u64> = rules_for(&p, "socket")
            .iter()
            .map(|r| {
                assert_eq!(r.args.len(), 1);
                assert_eq!(r.args[0].op, Op::Eq);
                r.args[0].value
            })
            .collect();
        assert_eq!(socket, [1, 10]);
        let clone = rules_for(&p, "clone");
        assert_eq!(clone.len(), 1);
        assert_eq!(clone[0].args[0].op, Op::MaskedEq);
        assert_eq!(clone[0].args[0].value, 0x7E02_0000);
        // ioctl: the case matched, the first of Docker's 34 "not TIOCSTI/TIOCLINUX" prefixes that
        // holds for TCGETS.
        let ioctl = rules_for(&p, "ioctl");
        assert_eq!(ioctl.len(), 1);
        assert!(holds(&ioctl[0].args[0], 0x5401));
        assert!(!holds(&ioctl[0].args[0], 0x5412));
        assert_eq!(rules_for(&p, "personality")[0].args[0].value, 0xffff_ffff);
        // clone3 keeps its ENOSYS so that libc falls back to clone; the newest syscall marks the
        // ENOSYS line.
        let clone3 = rules_for(&p, "clone3");
        assert_eq!(clone3[0].action, Action::Errno);
        assert_eq!(clone3[0].errno_ret, Some(38));
        let (newest_nr, newest) = b.newest.clone().unwrap();
        assert!(newest_nr >= 460, "{newest}");
        assert_eq!(rules_for(&p, &newest)[0].errno_ret, Some(38));

        // It is a valid profile, in both directions.
        let text = export_json(&p);
        assert_eq!(parse_profile(text.as_bytes()).unwrap(), p);
        let (used, of) = counts(&b, &rec);
        assert_eq!(used, EXEC_MINIMUM.len() + RUNTIME_BASELINE.len() + 5);
        assert_eq!(of, b.allowed());
    }

    /// The recorded profile compiled to BPF decides as intended, by the filter evaluator.
    #[test]
    fn recorded_profile_enforces_exactly() {
        let b = base();
        let mut rec = Recorded::default();
        call(&mut rec, &b, "socket", [1, 1, 0, 0, 0, 0]);
        call(&mut rec, &b, "getdents64", [0; 6]);
        let p = profile(&b, &rec);
        let prog = compile_for(&p, &target(), &[]).unwrap().filters.remove(0);
        let eval = |name: &str, a0: u64| {
            run(
                &prog,
                &Data {
                    nr: number(name),
                    arch: AUDIT,
                    args: [a0, 0, 0, 0, 0, 0],
                },
            )
        };
        let allow = libc::SECCOMP_RET_ALLOW;
        let eperm = libc::SECCOMP_RET_ERRNO | 1;
        let enosys = libc::SECCOMP_RET_ERRNO | 38;
        assert_eq!(eval("getdents64", 0), allow);
        assert_eq!(eval("execve", 0), allow);
        assert_eq!(eval("read", 0), allow);
        assert_eq!(eval("socket", 1), allow);
        assert_eq!(eval("socket", 2), eperm);
        assert_eq!(eval("socket", 1 << 32 | 1), eperm);
        assert_eq!(eval("mkdir", 0), eperm);
        assert_eq!(eval("clone3", 0), enosys);
        let above = b.newest.as_ref().unwrap().0 + 1;
        let data = Data {
            nr: above,
            arch: AUDIT,
            args: [0; 6],
        };
        assert_eq!(run(&prog, &data), enosys);
    }

    #[test]
    fn recording_filter_notifies_all_but_the_minimum() {
        let b = base();
        let mut seen = Recorded::default();
        let f = recording_filter(&b, &seen).unwrap();
        let prog = crate::seccomp::from_libc(&f);
        let eval = |prog: &[seccompiler::sock_filter], name: &str| {
            run(
                prog,
                &Data {
                    nr: number(name),
                    arch: AUDIT,
                    args: [0; 6],
                },
            )
        };
        let notify = libc::SECCOMP_RET_USER_NOTIF;
        for n in EXEC_MINIMUM.iter().chain(RUNTIME_BASELINE) {
            assert_eq!(eval(&prog, n), libc::SECCOMP_RET_ALLOW, "{n}");
        }
        for n in [
            "getdents64",
            "socket",
            "mount",
            "clone3",
            "ioctl",
            "sendmsg",
        ] {
            assert_eq!(eval(&prog, n), notify, "{n}");
        }
        // Far above every known number (no ENOSYS stub in a recording filter): notified too.
        let data = Data {
            nr: 1000,
            arch: AUDIT,
            args: [0; 6],
        };
        assert_eq!(run(&prog, &data), notify);
        // A restart lets what was seen through, except argument cases.
        call(&mut seen, &b, "getdents64", [0; 6]);
        call(&mut seen, &b, "socket", [1, 1, 0, 0, 0, 0]);
        let f = recording_filter(&b, &seen).unwrap();
        let prog = crate::seccomp::from_libc(&f);
        assert_eq!(eval(&prog, "getdents64"), libc::SECCOMP_RET_ALLOW);
        assert_eq!(eval(&prog, "socket"), notify);
    }

    #[test]
    fn container_needs_are_plain_and_their_cases_precise() {
        let b = base();
        for n in PID1_OWN.iter().chain(CONTAINER_RUNTIME) {
            assert_eq!(b.classes[number(n) as usize], Class::Plain, "{n}");
        }
        let p = profile(&b, &Recorded::for_container(&b, false));
        let families = |p: &Profile| -> Vec<u64> {
            rules_for(p, "socket")
                .iter()
                .map(|r| r.args[0].value)
                .collect()
        };
        assert_eq!(families(&p), [1]);
        let clone = rules_for(&p, "clone");
        assert_eq!(clone.len(), 1, "only Docker's no-namespace case");
        assert!(!holds(&clone[0].args[0], 0x1000_0000 | 0x11)); // CLONE_NEWUSER
        let net = profile(&b, &Recorded::for_container(&b, true));
        assert_eq!(families(&net), [1, 2, 10]);
        assert!(rules_for(&p, "mkdir").is_empty() && rules_for(&p, "ptrace").is_empty());
    }

    #[test]
    fn a_permissive_base_is_refused() {
        let mut p = default_profile();
        p.default_action = Action::Allow;
        let e = Base::new(&p, &target()).unwrap_err().to_string();
        assert!(e.contains("denies by default"), "{e}");
    }

    #[test]
    fn many_alternatives_share_the_last_case() {
        let mut p = default_profile();
        p.syscalls.retain(|r| !r.names.iter().any(|n| n == "ioctl"));
        for v in 0..100u64 {
            let mut r = allow(vec!["ioctl".into()], Vec::new());
            r.args.push(Arg {
                index: 1,
                value: 0xff,
                value_two: v,
                op: Op::MaskedEq,
            });
            p.syscalls.push(r);
        }
        let b = Base::new(&p, &target()).unwrap();
        let mut rec = Recorded::default();
        call(&mut rec, &b, "ioctl", [0, 99, 0, 0, 0, 0]);
        let p = profile(&b, &rec);
        // Case 63 and everything after it: 37 rules, one of which holds for 99.
        let rules = rules_for(&p, "ioctl");
        assert_eq!(rules.len(), 37);
        assert!(rules.iter().any(|r| holds(&r.args[0], 99)));
        call(&mut rec, &b, "ioctl", [0, 3, 0, 0, 0, 0]);
        assert_eq!(rules_for(&profile(&b, &rec), "ioctl").len(), 38);
    }
}
