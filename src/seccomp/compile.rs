//! From a profile to one classic-BPF program the kernel can install with
//! `seccomp(SECCOMP_SET_MODE_FILTER)`.
//!
//! # Which rules apply (Docker's and runc's semantics, on purpose)
//!
//! A profile is meant to be the file a user also gives `docker run --security-opt seccomp=`, so
//! it must mean here what it means there:
//! 1. moby `setupSeccomp`: a rule is dropped if `excludes.arches` has our Docker arch name
//!    (`amd64`, `arm64`), if the program keeps any of `excludes.caps`, or if the kernel is at
//!    least `excludes.minKernel`; it is dropped unless `includes.arches` (when given) has our arch,
//!    the program keeps all of `includes.caps`, and the kernel is at least `includes.minKernel`.
//! 2. runc `matchCall`: a syscall name this architecture does not have is skipped (and reported
//!    in [`Compiled::skipped`]); a rule whose action equals the default action is a no-op; a rule
//!    with no args matches always; args on distinct indexes must all hold; if one index is
//!    compared twice, runc adds each comparison as its own rule, i.e. they are ORed
//!    (runc#2735; moby's own socket rules are written around it). Rules for one syscall are ORed.
//!    In particular a rule without args and a rule with args for the same syscall and action
//!    give "always" (seccompiler's JSON front end silently keeps only the argument rule).
//! 3. runc's ENOSYS stub: unless the default action allows, a syscall number above the largest
//!    one the profile names answers ENOSYS instead of the default, so that libc falls back
//!    gracefully when it tries a syscall newer than the profile.
//!
//! Two things are refused instead of guessed: a syscall left with rules of different actions
//! (libseccomp documents no precedence for that; no Docker profile does it), and a `minKernel`
//! condition when the running kernel's version cannot be read.
//!
//! # What the program looks like
//!
//! The filter checks the architecture first: a syscall made through another ABI (i386 via
//! `int 0x80`, arm32 compat, x32 on x86_64) kills the process, because the numbers below are only
//! right for the native ABI. (Docker also filters the i386/x32/arm32 ABIs with their own
//! numbers; pidguard filters one ABI and kills the others, which is stricter.) `syscall(-1)` has
//! the x32 bit set too, but is no syscall at all (the kernel answers ENOSYS), so it gets the
//! default action instead.
//!
//! Then the syscall number is looked up in a binary search tree over number *intervals* (runs of
//! numbers with the same outcome; about 70 for the default profile), so each syscall costs about
//! seven comparisons instead of a walk through hundreds. Outcomes that do not depend on
//! arguments are shared `ret` instructions; a syscall with argument rules gets its own block.
//!
//! In a block, each 64-bit comparison loads the high and the low half of the argument
//! separately, so a high bit cannot sneak past a comparison meant for the low half. When every
//! alternative compares the same one argument (Docker's `socket`, `personality`, pidguard's
//! `ioctl`: the common shape), the block is built from the set of values that pass instead of
//! from the rules one by one: for each range of the high half, the low halves that pass there, as
//! ranges; then the code loads each half once and finds its range by binary search (or a few
//! equality tests). The default profile's `ioctl` rule, 34 masked tests that together mean "not
//! TIOCSTI or TIOCLINUX", becomes `ld; jeq; jeq`, and the whole default filter 119 instructions
//! instead of 315. The kernel checks, converts and JIT-compiles a filter at every start, in time
//! linear in its length, and every `ioctl` the program makes runs its block.
//!
//! The whole program is generated backwards (from its last instruction to its first) because
//! classic BPF only jumps forward: every jump target already exists when the jump is written, and
//! a conditional jump farther than 255 instructions is routed through an unconditional `ja`.
//!
//! There is one filter, not one per action (as seccompiler would need): with stacked filters the
//! kernel returns the most severe result of all of them, which makes mixed actions hard to get
//! right, and every extra filter costs every syscall another run.

use seccompiler::{BpfProgram, sock_filter};

use super::Error;
use super::profile::{Action, Arg, Filter, Op, Profile, Rule};
use super::syscalls;

/// The architectures pidguard can build filters for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The architecture this binary runs on, if pidguard can filter it.
    pub fn native() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else {
            None
        }
    }

    /// The name Docker's `includes.arches`/`excludes.arches` use (Go's GOARCH, via moby's
    /// `goToNative`).
    pub fn docker_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
        }
    }

    /// The libseccomp name, as in `archMap` and OCI `architectures`.
    pub fn scmp_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "SCMP_ARCH_X86_64",
            Arch::Aarch64 => "SCMP_ARCH_AARCH64",
        }
    }

    /// `AUDIT_ARCH_*` from `linux/audit.h`, what the kernel puts in `seccomp_data.arch`.
    pub fn audit(self) -> u32 {
        match self {
            Arch::X86_64 => 0xC000_003E,
            Arch::Aarch64 => 0xC000_00B7,
        }
    }

    /// Every syscall of this architecture as (name, number), sorted by name; empty if this build
    /// has no table for it (see the feature `all-arches`).
    pub fn syscalls(self) -> &'static [(&'static str, u32)] {
        syscalls::table(self).unwrap_or(&[])
    }

    /// The syscall number of `name`, if this architecture has that syscall.
    pub fn syscall_number(self, name: &str) -> Option<u32> {
        syscalls::number(self, name)
    }
}

/// A kernel version as Docker compares them: major and minor, patch level ignored.
pub type KernelVersion = (u32, u32);

/// Where a filter will run: what Docker's `includes`/`excludes` are evaluated against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub arch: Arch,
    /// Capabilities the program keeps (bounding set), bit n = capability n.
    pub kept_caps: u64,
    /// The running kernel; `None` if unknown, which is an error only if a rule asks.
    pub kernel: Option<KernelVersion>,
}

/// Parses `uname -r` text ("6.1.0-18-amd64", "4.8", "5.10.0-rc5") into `(major, minor)`.
pub fn parse_kernel_release(release: &str) -> Option<KernelVersion> {
    let mut parts = release.trim().splitn(3, '.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

/// The running kernel's version, from uname(2) (a plain syscall, no /proc needed).
pub fn running_kernel() -> Option<KernelVersion> {
    parse_kernel_release(std::str::from_utf8(&crate::sys::kernel_release()?).ok()?)
}

/// A compiled profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compiled {
    /// Install these in order. (Currently always exactly one.)
    pub filters: Vec<BpfProgram>,
    /// Syscall names the profile (or `extra_allow`) uses that this architecture does not have,
    /// sorted and without repeats; runc logs these at debug level and so should the caller.
    pub skipped: Vec<String>,
}

// --- Which rules apply --------------------------------------------------------------------

fn cap_kept(name: &str, kept_caps: u64) -> bool {
    // Docker compares names against the container's bounding set; a name no kernel knows is
    // simply never in it.
    name.parse::<caps::Capability>()
        .ok()
        .is_some_and(|c| c.index() < 64 && kept_caps & (1u64 << c.index()) != 0)
}

fn kernel_at_least(min: (u8, u8), target: &Target) -> Result<bool, Error> {
    let Some(kernel) = target.kernel else {
        return Err(Error::Compile {
            why: format!(
                "a rule depends on the kernel version (minKernel {}.{}) but it could not be read",
                min.0, min.1
            ),
        });
    };
    Ok(kernel >= (u32::from(min.0), u32::from(min.1)))
}

/// moby `setupSeccomp`: does this rule apply to `target`?
fn applies(rule: &Rule, target: &Target) -> Result<bool, Error> {
    let arch = target.arch.docker_name();
    let Filter {
        caps,
        arches,
        min_kernel,
    } = &rule.excludes;
    if arches.iter().any(|a| a == arch) || caps.iter().any(|c| cap_kept(c, target.kept_caps)) {
        return Ok(false);
    }
    let kernel_excluded = match min_kernel {
        Some(min) => kernel_at_least(*min, target)?,
        None => false,
    };
    if kernel_excluded {
        return Ok(false);
    }
    let Filter {
        caps,
        arches,
        min_kernel,
    } = &rule.includes;
    if !arches.is_empty() && !arches.iter().any(|a| a == arch) {
        return Ok(false);
    }
    if !caps.iter().all(|c| cap_kept(c, target.kept_caps)) {
        return Ok(false);
    }
    let kernel_included = match min_kernel {
        Some(min) => kernel_at_least(*min, target)?,
        None => true,
    };
    Ok(kernel_included)
}

/// The rules of `p` that apply to `target`, in profile order.
pub fn applicable_rules<'a>(p: &'a Profile, target: &Target) -> Result<Vec<&'a Rule>, Error> {
    let mut out = Vec::new();
    for r in &p.syscalls {
        if applies(r, target)? {
            out.push(r);
        }
    }
    Ok(out)
}

// --- What each syscall number does ------------------------------------------------------

const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

/// The `SECCOMP_RET_*` value of an action.
fn ret_value(action: Action, errno: Option<u32>) -> u32 {
    match action {
        Action::Allow => libc::SECCOMP_RET_ALLOW,
        Action::Errno => {
            libc::SECCOMP_RET_ERRNO | (errno.unwrap_or(EPERM) & libc::SECCOMP_RET_DATA)
        }
        Action::Kill | Action::KillThread => libc::SECCOMP_RET_KILL_THREAD,
        Action::KillProcess => libc::SECCOMP_RET_KILL_PROCESS,
        Action::Trap => libc::SECCOMP_RET_TRAP,
        Action::Log => libc::SECCOMP_RET_LOG,
    }
}

/// What one syscall number does when the default does not apply.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SyscallPlan {
    name: String,
    ret: u32,
    /// `None`: always. `Some(alts)`: if any alternative's comparisons all hold.
    when: Option<Vec<Vec<Arg>>>,
}

/// A map from syscall number, kept as a vector sorted by number. The few hundred entries here do not
/// need a tree, and std's BTreeMap and HashMap code would add some 15 KB to the binary.
#[derive(Clone, Debug, PartialEq, Eq)]
struct NrMap<V>(Vec<(u32, V)>);

impl<V> Default for NrMap<V> {
    fn default() -> Self {
        NrMap(Vec::new())
    }
}

impl<V> NrMap<V> {
    #[cfg(test)]
    fn get(&self, nr: &u32) -> Option<&V> {
        let i = self.0.binary_search_by_key(nr, |(k, _)| *k).ok()?;
        Some(&self.0[i].1)
    }

    fn get_mut(&mut self, nr: &u32) -> Option<&mut V> {
        let i = self.0.binary_search_by_key(nr, |(k, _)| *k).ok()?;
        Some(&mut self.0[i].1)
    }

    fn insert(&mut self, nr: u32, v: V) {
        match self.0.binary_search_by_key(&nr, |(k, _)| *k) {
            Ok(i) => self.0[i].1 = v,
            Err(i) => self.0.insert(i, (nr, v)),
        }
    }

    fn remove(&mut self, nr: &u32) {
        if let Ok(i) = self.0.binary_search_by_key(nr, |(k, _)| *k) {
            self.0.remove(i);
        }
    }

    /// In increasing number order.
    fn iter(&self) -> impl Iterator<Item = (&u32, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    #[cfg(test)]
    fn keys(&self) -> impl Iterator<Item = &u32> {
        self.0.iter().map(|(k, _)| k)
    }

    #[cfg(test)]
    fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }

    fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.0.iter_mut().map(|(_, v)| v)
    }
}

/// The resolved profile: what the BPF program must compute.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Plan {
    default: u32,
    /// Numbers above this (and below the x32 range) answer ENOSYS.
    enosys_above: Option<u32>,
    syscalls: NrMap<SyscallPlan>,
    skipped: Vec<String>,
}

/// runc: args on distinct indexes AND together; a repeated index splits them into ORed rules.
pub(crate) fn alternatives(args: &[Arg]) -> Vec<Vec<Arg>> {
    let mut seen = [false; 6];
    let repeated = args.iter().any(|a| {
        let i = usize::from(a.index).min(5);
        std::mem::replace(&mut seen[i], true)
    });
    if repeated {
        args.iter().map(|a| vec![a.clone()]).collect()
    } else {
        vec![args.to_vec()]
    }
}

fn plan(p: &Profile, target: &Target, extra_allow: &[&str]) -> Result<Plan, Error> {
    if super::syscalls::table(target.arch).is_none() {
        // Without its table every name would be "unknown" and the filter would deny everything.
        return Err(Error::Compile {
            why: format!(
                "this build has no syscall table for {} (build with the feature all-arches)",
                target.arch.docker_name()
            ),
        });
    }
    let default = ret_value(p.default_action, p.default_errno_ret);
    let mut syscalls: NrMap<SyscallPlan> = NrMap::default();
    let mut skipped: Vec<String> = Vec::new();
    let mut largest: Option<u32> = None;
    let arch = target.arch;

    for rule in applicable_rules(p, target)? {
        let ret = ret_value(rule.action, rule.errno_ret);
        for name in &rule.names {
            let Some(nr) = arch.syscall_number(name) else {
                skipped.push(name.clone());
                continue;
            };
            largest = largest.max(Some(nr));
            if ret == default {
                continue; // runc: "this rule is redundant"
            }
            let alts = if rule.args.is_empty() {
                None
            } else {
                Some(alternatives(&rule.args))
            };
            match syscalls.get_mut(&nr) {
                None => {
                    syscalls.insert(
                        nr,
                        SyscallPlan {
                            name: name.clone(),
                            ret,
                            when: alts,
                        },
                    );
                }
                Some(existing) if existing.ret != ret => {
                    return Err(Error::Compile {
                        why: format!(
                            "syscall {name} has rules with different actions ({:#x} and {ret:#x}); \
                             libseccomp gives that no defined meaning, so pidguard refuses it",
                            existing.ret
                        ),
                    });
                }
                Some(existing) => match (&mut existing.when, alts) {
                    (None, _) => {}
                    (when @ Some(_), None) => *when = None,
                    (Some(have), Some(more)) => have.extend(more),
                },
            }
        }
    }

    for name in extra_allow {
        let Some(nr) = arch.syscall_number(name) else {
            skipped.push(name.to_string());
            continue;
        };
        largest = largest.max(Some(nr));
        if libc::SECCOMP_RET_ALLOW == default {
            syscalls.remove(&nr);
        } else {
            syscalls.insert(
                nr,
                SyscallPlan {
                    name: name.to_string(),
                    ret: libc::SECCOMP_RET_ALLOW,
                    when: None,
                },
            );
        }
    }

    // Alternatives are ORed, so their order does not matter; sorted, repeats fall out and the
    // program does not depend on rule order.
    let mut alternatives = 0usize;
    for sp in syscalls.values_mut() {
        if let Some(alts) = &mut sp.when {
            alts.sort_unstable();
            alts.dedup();
            alternatives += alts.len();
        }
    }
    if alternatives > MAX_INSTRUCTIONS {
        // A bound on the work below, not a measured length (value sets may compress them).
        return Err(Error::Compile {
            why: format!(
                "the profile has {alternatives} argument comparisons, more than the kernel's \
                 {MAX_INSTRUCTIONS}-instruction limit on a filter allows; merge rules"
            ),
        });
    }

    let permissive = matches!(p.default_action, Action::Allow | Action::Log);
    let enosys_above = if permissive || default == libc::SECCOMP_RET_ERRNO | ENOSYS {
        None
    } else {
        largest
    };
    skipped.sort_unstable();
    skipped.dedup();
    Ok(Plan {
        default,
        enosys_above,
        syscalls,
        skipped,
    })
}

// --- BPF code generation ------------------------------------------------------------------

/// The kernel's limit on a classic BPF program (`BPF_MAXINSNS`).
pub const MAX_INSTRUCTIONS: usize = 4096;

pub(super) const BPF_LD_W_ABS: u16 = 0x20;
pub(super) const BPF_ALU_AND_K: u16 = 0x54;
pub(super) const BPF_JA: u16 = 0x05;
pub(super) const BPF_JEQ_K: u16 = 0x15;
const BPF_JGT_K: u16 = 0x25;
pub(super) const BPF_JGE_K: u16 = 0x35;
const BPF_JSET_K: u16 = 0x45;
pub(super) const BPF_RET_K: u16 = 0x06;

/// `struct seccomp_data` offsets. Both architectures are little-endian, so the low half of
/// argument i comes first.
pub(super) const OFF_NR: u32 = 0;
pub(super) const OFF_ARCH: u32 = 4;
pub(super) fn off_arg_low(index: u8) -> u32 {
    16 + 8 * u32::from(index)
}

/// The (high, low) 32-bit halves of a 64-bit argument, as a program loads them from
/// `struct seccomp_data`.
pub(crate) fn halves(v: u64) -> (u32, u32) {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the low half is the truncation; the high half is below 2^32"
    )]
    ((v >> 32) as u32, v as u32)
}

/// x86's `__X32_SYSCALL_BIT`.
pub(super) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// A position in the program, counted from its end (1 = last instruction).
pub(super) type Label = usize;

/// A backwards assembler: instructions are pushed last-first, so every jump target is known.
/// The guard (guard.rs) builds its program with it too.
#[derive(Default)]
pub(super) struct Asm {
    rev: Vec<sock_filter>,
    /// (return value, label), few: a linear search is all they need.
    shared_rets: Vec<(u32, Label)>,
}

impl Asm {
    pub(super) fn push(&mut self, code: u16, k: u32, jt: u8, jf: u8) -> Label {
        self.rev.push(sock_filter { code, jt, jf, k });
        self.rev.len()
    }

    pub(super) fn stmt(&mut self, code: u16, k: u32) -> Label {
        self.push(code, k, 0, 0)
    }

    pub(super) fn ret(&mut self, k: u32) -> Label {
        self.stmt(BPF_RET_K, k)
    }

    /// A `ret k` shared by everyone who asks for the same `k`.
    fn shared_ret(&mut self, k: u32) -> Label {
        if let Some(&(_, l)) = self.shared_rets.iter().find(|(r, _)| *r == k) {
            return l;
        }
        let l = self.ret(k);
        self.shared_rets.push((k, l));
        l
    }

    /// Makes `target` the next instruction in program order, jumping there if it is not.
    pub(super) fn goto(&mut self, target: Label) {
        if target != self.rev.len() {
            self.ja(target);
        }
    }

    pub(super) fn ja(&mut self, target: Label) -> Label {
        let distance = self.rev.len() - target; // instructions skipped
        // Never saturates: `generate` refuses a program over MAX_INSTRUCTIONS.
        self.stmt(BPF_JA, u32::try_from(distance).unwrap_or(u32::MAX))
    }

    /// `if A <op> k goto t else goto f`, with a `ja` in between when a target is too far.
    pub(super) fn jump(&mut self, code: u16, k: u32, mut t: Label, mut f: Label) -> Label {
        loop {
            let here = self.rev.len() + 1;
            match (u8::try_from(here - t - 1), u8::try_from(here - f - 1)) {
                (Err(_), _) => t = self.ja(t),
                (_, Err(_)) => f = self.ja(f),
                (Ok(dt), Ok(df)) => return self.push(code, k, dt, df),
            }
        }
    }

    /// Code that goes to `t` if the comparison holds for the syscall's argument, else to `f`.
    fn compare(&mut self, a: &Arg, t: Label, f: Label) -> Label {
        let low_at = off_arg_low(a.index);
        let high_at = low_at + 4;
        let (vh, vl) = halves(a.value);
        match a.op {
            Op::Eq => self.eq(low_at, vh, vl, t, f),
            Op::Ne => self.eq(low_at, vh, vl, f, t),
            Op::Gt => self.greater(BPF_JGT_K, low_at, vh, vl, t, f),
            Op::Ge => self.greater(BPF_JGE_K, low_at, vh, vl, t, f),
            Op::Le => self.greater(BPF_JGT_K, low_at, vh, vl, f, t),
            Op::Lt => self.greater(BPF_JGE_K, low_at, vh, vl, f, t),
            Op::MaskedEq => {
                if a.value_two & !a.value != 0 {
                    // Bits the mask clears can never equal set bits: never holds. (The parser
                    // refuses such rules; this keeps both code paths exact anyway.)
                    return f;
                }
                let (mh, ml) = halves(a.value);
                let (dh, dl) = halves(a.value_two);
                self.jump(BPF_JEQ_K, dl, t, f);
                if ml != u32::MAX {
                    self.stmt(BPF_ALU_AND_K, ml);
                }
                let low = self.stmt(BPF_LD_W_ABS, low_at);
                if mh == 0 {
                    // dh is 0 too (checked above): the high half always matches.
                    return low;
                }
                self.jump(BPF_JEQ_K, dh, low, f);
                if mh != u32::MAX {
                    self.stmt(BPF_ALU_AND_K, mh);
                }
                self.stmt(BPF_LD_W_ABS, high_at)
            }
        }
    }

    fn eq(&mut self, low_at: u32, vh: u32, vl: u32, t: Label, f: Label) -> Label {
        self.jump(BPF_JEQ_K, vl, t, f);
        let low = self.stmt(BPF_LD_W_ABS, low_at);
        self.jump(BPF_JEQ_K, vh, low, f);
        self.stmt(BPF_LD_W_ABS, low_at + 4)
    }

    /// Unsigned 64-bit `arg > v` (`code` = JGT) or `arg >= v` (`code` = JGE).
    fn greater(&mut self, code: u16, low_at: u32, vh: u32, vl: u32, t: Label, f: Label) -> Label {
        self.jump(code, vl, t, f);
        let low = self.stmt(BPF_LD_W_ABS, low_at);
        let high_equal = self.jump(BPF_JEQ_K, vh, low, f);
        self.jump(BPF_JGT_K, vh, t, high_equal);
        self.stmt(BPF_LD_W_ABS, low_at + 4)
    }

    /// A syscall's argument rules: `ret` if any alternative holds, else `default`.
    fn block(&mut self, alts: &[Vec<Arg>], ret: u32, default: u32) -> Label {
        // Local returns keep every jump in this block short.
        let miss = self.ret(default);
        let hit = self.ret(ret);
        let Some(split) = one_argument(alts) else {
            return self.general_block(alts, hit, miss);
        };
        // The value-set code is almost always the shorter (a few values per high half), but not
        // always (many values, each with its own high half): build both, keep the shorter. Both
        // start at the same place, so the set code can be set aside and put back as it is.
        let start = self.rev.len();
        let sets_entry = self.split_block(&split, hit, miss);
        if value_sets() == Some(true) {
            return sets_entry;
        }
        let sets_code = self.rev.split_off(start);
        let general_entry = self.general_block(alts, hit, miss);
        if value_sets() == Some(false) || self.rev.len() - start <= sets_code.len() {
            return general_entry;
        }
        self.rev.truncate(start);
        self.rev.extend(sets_code);
        sets_entry
    }

    /// The rules one by one: each alternative a chain of comparisons, the first that holds wins.
    fn general_block(&mut self, alts: &[Vec<Arg>], hit: Label, miss: Label) -> Label {
        let mut next = miss;
        for alt in alts.iter().rev() {
            let mut ok = hit;
            for a in alt.iter().rev() {
                ok = self.compare(a, ok, next);
            }
            next = ok;
        }
        next
    }

    /// Code for a [`Split`] argument test: load the high half and pick its region, then (where the
    /// region does not decide alone) load the low half and look it up.
    fn split_block(&mut self, split: &Split, hit: Label, miss: Label) -> Label {
        let mut low_code: Vec<(&Ranges, Label)> = Vec::new();
        let mut regions: Vec<(u32, Label)> = Vec::new();
        for (start, lows) in &split.high {
            let target = if lows.is_empty() {
                miss
            } else if *lows == [(0, u32::MAX)] {
                hit
            } else if let Some(&(_, l)) = low_code.iter().find(|(r, _)| *r == lows) {
                l
            } else {
                self.set_test(lows, hit, miss);
                let l = self.stmt(BPF_LD_W_ABS, split.low_at);
                low_code.push((lows, l));
                l
            };
            regions.push((*start, target));
        }
        if let [(_, only)] = regions[..] {
            return only; // the high half does not matter
        }
        self.tree(&regions);
        self.stmt(BPF_LD_W_ABS, split.low_at + 4)
    }

    /// With the accumulator holding a 32-bit value: `hit` if it is in `set`, else `miss`. Sets of a
    /// few single values (or missing a few) become a chain of equality tests; the rest a binary
    /// search over the set's intervals.
    fn set_test(&mut self, set: &Ranges, hit: Label, miss: Label) -> Label {
        let points = |r: &Ranges| r.iter().all(|(a, b)| a == b).then_some(r.len());
        let outside = complement(set);
        let tree_len = set.len() + outside.len() - 1;
        let chain = |asm: &mut Asm, pts: &Ranges, t: Label, f: Label| {
            let mut next = f;
            for &(v, _) in pts.iter().rev() {
                next = asm.jump(BPF_JEQ_K, v, t, next);
            }
            next
        };
        match (points(set), points(&outside)) {
            (Some(n), _) if n <= tree_len => chain(self, set, hit, miss),
            (_, Some(n)) if n <= tree_len => chain(self, &outside, miss, hit),
            _ => {
                // The set and its complement alternate along the number line, starting with the
                // one that holds 0.
                let (first, second) = if set[0].0 == 0 {
                    ((set, hit), (&outside, miss))
                } else {
                    ((&outside, miss), (set, hit))
                };
                let mut intervals: Vec<(u32, Label)> = Vec::new();
                for (i, &(a, _)) in first.0.iter().enumerate() {
                    intervals.push((a, first.1));
                    if let Some(&(b, _)) = second.0.get(i) {
                        intervals.push((b, second.1));
                    }
                }
                self.tree(&intervals)
            }
        }
    }

    /// Binary search over `(first value, target)` intervals sorted by first value; the
    /// accumulator holds the value (the syscall number, or one half of an argument).
    fn tree(&mut self, intervals: &[(u32, Label)]) -> Label {
        if intervals.len() == 1 {
            return intervals[0].1;
        }
        let mid = intervals.len() / 2;
        let right = self.tree(&intervals[mid..]);
        let left = self.tree(&intervals[..mid]);
        self.jump(BPF_JGE_K, intervals[mid].0, right, left)
    }

    pub(super) fn finish(mut self) -> BpfProgram {
        self.rev.reverse();
        self.rev
    }
}

// --- One-argument rules as sets of values ------------------------------------------------

/// A set of 32-bit values: sorted, disjoint, non-adjacent inclusive ranges.
type Ranges = Vec<(u32, u32)>;

const ALL: (u32, u32) = (0, u32::MAX);

/// Sorts and merges overlapping or adjacent ranges. (An insertion sort: the lists are short, and
/// one more instantiation of std's sort would cost the binary several KB.)
fn normalized(mut r: Ranges) -> Ranges {
    for i in 1..r.len() {
        let mut j = i;
        while j > 0 && r[j - 1] > r[j] {
            r.swap(j - 1, j);
            j -= 1;
        }
    }
    let mut out: Ranges = Vec::with_capacity(r.len());
    for (a, b) in r {
        match out.last_mut() {
            Some((_, end)) if a <= end.saturating_add(1) => *end = (*end).max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

fn complement(set: &Ranges) -> Ranges {
    let mut out = Vec::new();
    let mut next = Some(0u32);
    for &(a, b) in set {
        if let Some(n) = next
            && a > n
        {
            out.push((n, a - 1));
        }
        next = b.checked_add(1);
    }
    if let Some(n) = next {
        out.push((n, u32::MAX));
    }
    out
}

/// `lo..=hi` if not empty.
fn span(lo: u32, hi: Option<u32>) -> Ranges {
    match hi {
        Some(hi) if lo <= hi => vec![(lo, hi)],
        _ => Vec::new(),
    }
}

/// The values `v` with `v & mask == data`, if they form one range (mask = some high bits).
fn masked(mask: u32, data: u32) -> Option<Ranges> {
    if mask.leading_ones() + mask.trailing_zeros() != 32 {
        return None;
    }
    if data & !mask != 0 {
        return Some(Vec::new());
    }
    Some(vec![(data, data | !mask)])
}

/// A comparison on one 64-bit argument as a union of (high half, low half) products.
fn products(a: &Arg) -> Option<Vec<(Ranges, Ranges)>> {
    let (vh, vl) = halves(a.value);
    let all = || vec![ALL];
    let one = |v: u32| vec![(v, v)];
    let above = |v: u32| match v.checked_add(1) {
        Some(n) => vec![(n, u32::MAX)],
        None => Vec::new(),
    };
    let below = |v: u32| span(0, v.checked_sub(1));
    Some(match a.op {
        Op::Eq => vec![(one(vh), one(vl))],
        Op::Ne => vec![
            (complement(&one(vh)), all()),
            (one(vh), complement(&one(vl))),
        ],
        Op::Gt => vec![(above(vh), all()), (one(vh), above(vl))],
        Op::Ge => vec![(above(vh), all()), (one(vh), span(vl, Some(u32::MAX)))],
        Op::Lt => vec![(below(vh), all()), (one(vh), below(vl))],
        Op::Le => vec![(below(vh), all()), (one(vh), span(0, Some(vl)))],
        Op::MaskedEq => {
            let (mh, ml) = halves(a.value);
            let (dh, dl) = halves(a.value_two);
            vec![(masked(mh, dh)?, masked(ml, dl)?)]
        }
    })
}

/// Alternatives that each compare the same one argument, as the set of values that pass: for each
/// region of the high half (by first value), the low halves that pass there.
#[derive(Debug, PartialEq, Eq)]
struct Split {
    low_at: u32,
    high: Vec<(u32, Ranges)>,
}

/// More alternatives than this go to the general code: building the value set takes time quadratic
/// in their number (Docker's largest, `socket`, has 25; pidguard's `ioctl` 34).
const MAX_SET_ALTERNATIVES: usize = 128;

// Tests can force one kind of block: `Some(true)` value sets whenever the shape allows,
// `Some(false)` the general code always, `None` the shorter.
#[cfg(test)]
thread_local! {
    static VALUE_SETS: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
}

fn value_sets() -> Option<bool> {
    #[cfg(test)]
    return VALUE_SETS.get();
    #[cfg(not(test))]
    None
}

/// The [`Split`] of `alts` if every alternative is one comparison on one shared argument and each
/// comparison is a union of range products (every operator but a masked test with a scattered
/// mask); `None` sends them to the general code.
fn one_argument(alts: &[Vec<Arg>]) -> Option<Split> {
    if alts.len() > MAX_SET_ALTERNATIVES {
        return None;
    }
    let index = alts.first()?.first()?.index;
    let mut parts: Vec<(Ranges, Ranges)> = Vec::new();
    for alt in alts {
        match alt.as_slice() {
            [a] if a.index == index => parts.extend(products(a)?),
            _ => return None,
        }
    }
    let parts: Vec<(Ranges, Ranges)> = parts
        .into_iter()
        .filter(|(h, l)| !h.is_empty() && !l.is_empty())
        .collect();
    let mut starts: Vec<u32> = vec![0];
    for (h, _) in &parts {
        for &(a, b) in h {
            starts.push(a);
            starts.extend(b.checked_add(1));
        }
    }
    starts.sort_unstable();
    starts.dedup();
    let mut high: Vec<(u32, Ranges)> = Vec::new();
    for s in starts {
        let lows = normalized(
            parts
                .iter()
                .filter(|(h, _)| h.iter().any(|&(a, b)| a <= s && s <= b))
                .flat_map(|(_, l)| l.iter().copied())
                .collect(),
        );
        if high.last().is_none_or(|(_, l)| *l != lows) {
            high.push((s, lows));
        }
    }
    Some(Split {
        low_at: off_arg_low(index),
        high,
    })
}

fn too_long(at_least: usize) -> Error {
    Error::Compile {
        why: format!(
            "the filter needs at least {at_least} BPF instructions, more than the kernel's \
             {MAX_INSTRUCTIONS}"
        ),
    }
}

fn generate(plan: &Plan, arch: Arch) -> Result<BpfProgram, Error> {
    let mut asm = Asm::default();

    // Argument blocks sit at the end, shared returns just before them, so the tree reaches both.
    let mut targets: NrMap<Label> = NrMap::default();
    for (nr, sp) in plan.syscalls.iter() {
        if let Some(alts) = &sp.when {
            targets.insert(*nr, asm.block(alts, sp.ret, plan.default));
        }
    }
    let default = asm.shared_ret(plan.default);
    for (nr, sp) in plan.syscalls.iter() {
        if sp.when.is_none() {
            targets.insert(*nr, asm.shared_ret(sp.ret));
        }
    }
    let enosys = plan
        .enosys_above
        .map(|_| asm.shared_ret(libc::SECCOMP_RET_ERRNO | ENOSYS));

    // The number line as intervals with one outcome each.
    let mut intervals: Vec<(u32, Label)> = Vec::new();
    let mut add = |start: u32, target: Label| {
        if intervals.last().is_none_or(|(_, t)| *t != target) {
            intervals.push((start, target));
        }
    };
    let mut next = 0u32;
    for (nr, target) in targets.iter() {
        if *nr > next {
            add(next, default);
        }
        add(*nr, *target);
        next = nr.saturating_add(1);
    }
    match (plan.enosys_above, enosys) {
        (Some(max), Some(enosys)) => {
            if max >= next {
                add(next, default);
            }
            add(max.saturating_add(1), enosys);
        }
        _ => add(next, default),
    }
    let mut entry = asm.tree(&intervals);

    if arch == Arch::X86_64 {
        // x32 ABI: same AUDIT_ARCH, numbers with bit 30 set. -1 is the one such number that is
        // not x32 but "no syscall" (the kernel answers ENOSYS).
        let kill = asm.ret(libc::SECCOMP_RET_KILL_PROCESS);
        let minus_one = asm.jump(BPF_JEQ_K, u32::MAX, default, kill);
        entry = asm.jump(BPF_JSET_K, X32_SYSCALL_BIT, minus_one, entry);
    }
    asm.goto(entry);
    let load_nr = asm.stmt(BPF_LD_W_ABS, OFF_NR);
    let kill = asm.ret(libc::SECCOMP_RET_KILL_PROCESS);
    asm.jump(BPF_JEQ_K, arch.audit(), load_nr, kill);
    asm.stmt(BPF_LD_W_ABS, OFF_ARCH);

    let program = asm.finish();
    if program.len() > MAX_INSTRUCTIONS {
        return Err(too_long(program.len()));
    }
    Ok(program)
}

/// Compiles `p` for `target`, with the syscalls in `extra_allow` allowed unconditionally
/// (replacing whatever the profile says about them).
pub fn compile_for(p: &Profile, target: &Target, extra_allow: &[&str]) -> Result<Compiled, Error> {
    let plan = plan(p, target, extra_allow)?;
    let program = generate(&plan, target.arch)?;
    Ok(Compiled {
        filters: vec![program],
        skipped: plan.skipped,
    })
}

pub mod eval {
    //! A classic-BPF interpreter for the instructions `generate` emits, and the rules of a profile
    //! evaluated directly: together they test programs without installing them. The unit tests,
    //! the aarch64 checks (qemu-user cannot install a filter, so the aarch64 program is proven here)
    //! and the `seccomp_bpf` fuzz target hold every program to [`expected`]. Not used by the binary
    //! (the linker drops it).

    use super::*;

    /// `struct seccomp_data`, what the kernel runs a filter on.
    #[derive(Clone, Copy, Debug)]
    pub struct Data {
        pub nr: u32,
        pub arch: u32,
        pub args: [u64; 6],
    }

    impl Data {
        fn word(&self, off: u32) -> u32 {
            match off {
                0 => self.nr,
                4 => self.arch,
                16..=63 if off.is_multiple_of(4) => {
                    let (high, low) = super::halves(self.args[((off - 16) / 8) as usize]);
                    if off.is_multiple_of(8) { low } else { high }
                }
                _ => panic!("load from offset {off}"),
            }
        }
    }

    /// Runs `prog` on `d` and returns its `SECCOMP_RET_*` value; panics on anything the kernel's
    /// checker would reject (an unknown opcode, a jump out of the program, a load outside
    /// `seccomp_data`, more than [`MAX_INSTRUCTIONS`]).
    pub fn run(prog: &[sock_filter], d: &Data) -> u32 {
        assert!(!prog.is_empty() && prog.len() <= MAX_INSTRUCTIONS);
        let mut a = 0u32;
        let mut pc = 0usize;
        loop {
            let ins = &prog[pc];
            let k = ins.k;
            let cond = |taken: bool| pc + 1 + usize::from(if taken { ins.jt } else { ins.jf });
            pc = match ins.code {
                BPF_LD_W_ABS => {
                    a = d.word(k);
                    pc + 1
                }
                BPF_ALU_AND_K => {
                    a &= k;
                    pc + 1
                }
                BPF_JA => pc + 1 + k as usize,
                BPF_JEQ_K => cond(a == k),
                BPF_JGT_K => cond(a > k),
                BPF_JGE_K => cond(a >= k),
                BPF_JSET_K => cond(a & k != 0),
                BPF_RET_K => return k,
                c => panic!("unexpected opcode {c:#x} at {pc}"),
            };
            assert!(pc < prog.len(), "jump out of the program");
        }
    }

    /// What the rules of `p` (plus `extra_allow`) decide for `d` on `target`, read straight from
    /// the profile by syscall name, rule by rule, with the semantics in this module's header
    /// (moby's includes/excludes, runc's argument combination and ENOSYS stub, a foreign ABI
    /// killed): no plan, no program. Errors where [`compile_for`] refuses the profile.
    pub fn expected(
        p: &Profile,
        target: &Target,
        extra_allow: &[&str],
        d: &Data,
    ) -> Result<u32, Error> {
        let arch = target.arch;
        if syscalls::table(arch).is_none() {
            return Err(Error::Compile {
                why: format!("no syscall table for {}", arch.docker_name()),
            });
        }
        let rules = applicable_rules(p, target)?;
        let default = ret_value(p.default_action, p.default_errno_ret);
        if d.arch != arch.audit() {
            return Ok(libc::SECCOMP_RET_KILL_PROCESS);
        }
        if arch == Arch::X86_64 && d.nr & X32_SYSCALL_BIT != 0 {
            return Ok(if d.nr == u32::MAX {
                default
            } else {
                libc::SECCOMP_RET_KILL_PROCESS
            });
        }
        let is_this = |name: &str| arch.syscall_number(name) == Some(d.nr);
        if extra_allow.iter().any(|n| is_this(n)) {
            return Ok(libc::SECCOMP_RET_ALLOW);
        }
        let holds = |a: &Arg| {
            let v = d.args[usize::from(a.index.min(5))];
            match a.op {
                Op::Eq => v == a.value,
                Op::Ne => v != a.value,
                Op::Lt => v < a.value,
                Op::Le => v <= a.value,
                Op::Gt => v > a.value,
                Op::Ge => v >= a.value,
                Op::MaskedEq => v & a.value == a.value_two,
            }
        };
        let mut action: Option<u32> = None;
        let mut matched = false;
        for r in rules.iter().filter(|r| r.names.iter().any(|n| is_this(n))) {
            let ret = ret_value(r.action, r.errno_ret);
            if ret == default {
                continue;
            }
            if action.is_some_and(|have| have != ret) {
                return Err(Error::Compile {
                    why: format!("syscall {} has rules with different actions", d.nr),
                });
            }
            action = Some(ret);
            let alts = alternatives(&r.args);
            matched |= r.args.is_empty() || alts.iter().any(|alt| alt.iter().all(holds));
        }
        if let (true, Some(ret)) = (matched, action) {
            return Ok(ret);
        }
        let largest = rules
            .iter()
            .flat_map(|r| r.names.iter().map(String::as_str))
            .chain(extra_allow.iter().copied())
            .filter_map(|n| arch.syscall_number(n))
            .max();
        let permissive = matches!(p.default_action, Action::Allow | Action::Log);
        let enosys = libc::SECCOMP_RET_ERRNO | ENOSYS;
        if !permissive && default != enosys && largest.is_some_and(|m| d.nr > m) {
            return Ok(enosys);
        }
        Ok(default)
    }
}

#[cfg(test)]
mod tests {
    use super::eval::{self, Data, run};
    use super::*;
    use crate::seccomp::default::default_profile;
    use crate::seccomp::profile;

    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const EPERM_RET: u32 = libc::SECCOMP_RET_ERRNO | 1;
    const ENOSYS_RET: u32 = libc::SECCOMP_RET_ERRNO | 38;
    const KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;

    fn target(arch: Arch, kept_caps: u64) -> Target {
        Target {
            arch,
            kept_caps,
            kernel: Some((6, 1)),
        }
    }

    fn nr(arch: Arch, name: &str) -> u32 {
        arch.syscall_number(name).unwrap()
    }

    fn call(prog: &[sock_filter], arch: Arch, name: &str, args: [u64; 6]) -> u32 {
        run(
            prog,
            &Data {
                nr: nr(arch, name),
                arch: arch.audit(),
                args,
            },
        )
    }

    fn compile_one(p: &Profile, t: &Target, extra: &[&str]) -> BpfProgram {
        let mut c = compile_for(p, t, extra).unwrap();
        assert_eq!(c.filters.len(), 1);
        c.filters.pop().unwrap()
    }

    /// What the plan says, computed directly: the reference the BPF program must agree with.
    fn reference(plan: &Plan, arch: Arch, d: &Data) -> u32 {
        if d.arch != arch.audit() {
            return KILL;
        }
        if arch == Arch::X86_64 && d.nr & X32_SYSCALL_BIT != 0 {
            return if d.nr == u32::MAX { plan.default } else { KILL };
        }
        if let Some(sp) = plan.syscalls.get(&d.nr) {
            let holds = |a: &Arg| {
                let v = d.args[usize::from(a.index)];
                match a.op {
                    Op::Eq => v == a.value,
                    Op::Ne => v != a.value,
                    Op::Lt => v < a.value,
                    Op::Le => v <= a.value,
                    Op::Gt => v > a.value,
                    Op::Ge => v >= a.value,
                    Op::MaskedEq => v & a.value == a.value_two,
                }
            };
            match &sp.when {
                None => return sp.ret,
                Some(alts) if alts.iter().any(|alt| alt.iter().all(holds)) => return sp.ret,
                Some(_) => {}
            }
            return plan.default;
        }
        match plan.enosys_above {
            Some(max) if d.nr > max => ENOSYS_RET,
            _ => plan.default,
        }
    }

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Checks the program against `reference` on every syscall number the plan mentions, its
    /// neighbours, interesting argument values around every constant, and random inputs.
    ///
    /// Argument blocks are built three ways (the shorter, value sets forced where the shape allows,
    /// the general code forced), and each program must agree: so both code paths stay tested even
    /// where one of them is never the shorter.
    fn cross_check(p: &Profile, t: &Target, extra: &[&str]) {
        for mode in [None, Some(true), Some(false)] {
            VALUE_SETS.set(mode);
            let checked = std::panic::catch_unwind(|| cross_check_once(p, t, extra));
            VALUE_SETS.set(None);
            if let Err(e) = checked {
                eprintln!("cross_check failed with value sets {mode:?}");
                std::panic::resume_unwind(e);
            }
        }
    }

    fn cross_check_once(p: &Profile, t: &Target, extra: &[&str]) {
        let pl = plan(p, t, extra).unwrap();
        let prog = generate(&pl, t.arch).unwrap();
        let mut consts: Vec<u64> = vec![0, 1, u64::MAX, 1 << 32, u64::from(u32::MAX)];
        for sp in pl.syscalls.values() {
            for a in sp.when.iter().flatten().flatten() {
                // The last value of a masked block (and the next) are edges too.
                let block_end = a.value_two | !a.value;
                for v in [a.value, a.value_two, block_end] {
                    consts.extend([v, v.wrapping_add(1), v.wrapping_sub(1), v ^ (1 << 32)]);
                    consts.extend([v | (1 << 63), v & 0xffff_ffff]);
                }
            }
        }
        let mut nrs: Vec<u32> = vec![0, 1, 0x3fff_ffff, X32_SYSCALL_BIT, u32::MAX, u32::MAX - 1];
        for &n in pl.syscalls.keys() {
            nrs.extend([n, n.wrapping_sub(1), n + 1]);
        }
        if let Some(m) = pl.enosys_above {
            nrs.extend([m, m + 1]);
        }
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..2000 {
            nrs.push((rng.next() % 600) as u32);
        }
        for &n in &nrs {
            // Only syscalls with argument rules need the argument sweep.
            let sweep: &[u64] = match pl.syscalls.get(&n) {
                Some(sp) if sp.when.is_some() => &consts,
                _ => &consts[..1],
            };
            for (i, &c) in sweep.iter().enumerate() {
                let mut args = [0u64; 6];
                for (j, slot) in args.iter_mut().enumerate() {
                    *slot = consts[(i + j) % consts.len()];
                }
                args[i % 6] = c;
                let d = Data {
                    nr: n,
                    arch: t.arch.audit(),
                    args,
                };
                let got = run(&prog, &d);
                assert_eq!(got, reference(&pl, t.arch, &d), "{d:?}");
                // The rules read directly agree too (once: the blocks' shape does not change that).
                if value_sets().is_none() {
                    let want = eval::expected(p, t, extra, &d).map_err(|e| e.to_string());
                    assert_eq!(Ok(got), want, "{d:?}");
                }
            }
            let d = Data {
                nr: n,
                arch: t.arch.audit(),
                args: [0; 6].map(|_: u64| rng.next()),
            };
            assert_eq!(run(&prog, &d), reference(&pl, t.arch, &d), "{d:?}");
        }
        let foreign = Data {
            nr: 0,
            arch: 0x4000_0003, // AUDIT_ARCH_I386
            args: [0; 6],
        };
        assert_eq!(run(&prog, &foreign), KILL);
    }

    #[test]
    fn default_profile_matches_reference_on_both_arches() {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            for caps in [0, u64::MAX, 1 << 21 /* CAP_SYS_ADMIN */] {
                cross_check(&default_profile(), &target(arch, caps), &[]);
            }
            cross_check(&default_profile(), &target(arch, 0), &["wait4", "reboot"]);
        }
    }

    /// Random one-argument rule sets (the shape [`one_argument`] compiles as value sets), each
    /// checked against the reference at every edge of every constant, on both halves.
    #[test]
    fn one_argument_sets_match_reference() {
        let ops = [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::MaskedEq];
        let pool: [u64; 10] = [
            0,
            1,
            12,
            0x5412,
            0xffff_ffff,
            1 << 32,
            (1 << 32) | 12,
            0xffff_fffe_0000_0000,
            u64::MAX - 1,
            u64::MAX,
        ];
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for round in 0..300 {
            let index = (rng.next() % 6) as u8;
            let n = 1 + (rng.next() % 5) as usize;
            let args: Vec<Arg> = (0..n)
                .map(|_| {
                    let op = ops[(rng.next() % 7) as usize];
                    let value = pool[(rng.next() % 10) as usize];
                    let (value, value_two) = if op == Op::MaskedEq {
                        // Prefix masks over each half (the set form), sometimes a scattered one.
                        let k = (rng.next() % 33) as u32;
                        let half = |k: u32| if k == 0 { 0 } else { u32::MAX << (32 - k) };
                        let mask = if rng.next().is_multiple_of(5) {
                            0x7E02_0000
                        } else {
                            (u64::from(half((rng.next() % 33) as u32)) << 32) | u64::from(half(k))
                        };
                        (mask, value & mask)
                    } else {
                        (value, 0)
                    };
                    Arg {
                        index,
                        value,
                        value_two,
                        op,
                    }
                })
                .collect();
            let rule = |names: &[&str], args: Vec<Arg>| Rule {
                names: names.iter().map(|n| n.to_string()).collect(),
                action: Action::Allow,
                errno_ret: None,
                args,
                comment: String::new(),
                includes: Filter::default(),
                excludes: Filter::default(),
            };
            // One rule naming the index repeatedly (runc ORs those), or one rule per comparison.
            let syscalls = if round % 2 == 0 {
                vec![rule(&["ioctl"], args), rule(&["read"], Vec::new())]
            } else {
                args.into_iter()
                    .map(|a| rule(&["ioctl"], vec![a]))
                    .collect()
            };
            let p = Profile {
                default_action: Action::Errno,
                default_errno_ret: None,
                architectures: Vec::new(),
                arch_map: Vec::new(),
                syscalls,
            };
            cross_check(&p, &target(Arch::X86_64, 0), &[]);
        }
    }

    #[test]
    fn default_profile_decisions() {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let prog = compile_one(&default_profile(), &target(arch, 0), &[]);
            let c = |name: &str, args: [u64; 6]| call(&prog, arch, name, args);
            let z = [0u64; 6];
            assert_eq!(c("read", z), ALLOW);
            assert_eq!(c("mount", z), EPERM_RET);
            assert_eq!(c("unshare", [0x1000_0000, 0, 0, 0, 0, 0]), EPERM_RET);
            assert_eq!(c("keyctl", z), EPERM_RET);
            assert_eq!(c("add_key", z), EPERM_RET);
            assert_eq!(c("bpf", z), EPERM_RET);
            assert_eq!(c("kexec_load", z), EPERM_RET);
            assert_eq!(c("open_by_handle_at", z), EPERM_RET);
            assert_eq!(c("io_uring_setup", z), EPERM_RET);
            assert_eq!(c("ptrace", z), ALLOW); // Docker: from Linux 4.8
            assert_eq!(c("clone3", z), ENOSYS_RET);
            assert_eq!(c("clone", [0x11, 0, 0, 0, 0, 0]), ALLOW); // SIGCHLD
            assert_eq!(c("clone", [0x3d0f00, 0, 0, 0, 0, 0]), ALLOW); // pthread_create
            assert_eq!(c("clone", [0x1000_0011, 0, 0, 0, 0, 0]), EPERM_RET); // CLONE_NEWUSER
            assert_eq!(c("clone", [0x2_0011, 0, 0, 0, 0, 0]), EPERM_RET); // CLONE_NEWNS
            assert_eq!(c("personality", [0xffff_ffff, 0, 0, 0, 0, 0]), ALLOW);
            assert_eq!(c("personality", [0x8, 0, 0, 0, 0, 0]), ALLOW); // PER_LINUX32, as Docker
            assert_eq!(c("personality", [0x40000, 0, 0, 0, 0, 0]), EPERM_RET); // ADDR_NO_RANDOMIZE
            assert_eq!(c("personality", [1 << 32, 0, 0, 0, 0, 0]), EPERM_RET);
            assert_eq!(c("socket", [1, 1, 0, 0, 0, 0]), ALLOW); // AF_UNIX
            assert_eq!(c("socket", [10, 1, 0, 0, 0, 0]), ALLOW); // AF_INET6
            assert_eq!(c("socket", [16, 3, 0, 0, 0, 0]), ALLOW); // AF_NETLINK
            assert_eq!(c("socket", [38, 5, 0, 0, 0, 0]), EPERM_RET); // AF_ALG
            assert_eq!(c("socket", [40, 1, 0, 0, 0, 0]), EPERM_RET); // AF_VSOCK
            assert_eq!(c("socket", [(1 << 32) | 1, 1, 0, 0, 0, 0]), EPERM_RET);
            assert_eq!(c("ioctl", [0, 0x5401, 0, 0, 0, 0]), ALLOW); // TCGETS
            assert_eq!(c("ioctl", [0, 0x541B, 0, 0, 0, 0]), ALLOW); // FIONREAD
            assert_eq!(c("ioctl", [0, 0x8004_5430, 0, 0, 0, 0]), ALLOW); // TIOCGPTN
            assert_eq!(c("ioctl", [0, 0x5412, 0, 0, 0, 0]), EPERM_RET); // TIOCSTI
            assert_eq!(c("ioctl", [0, (1 << 32) | 0x5412, 0, 0, 0, 0]), EPERM_RET);
            assert_eq!(c("ioctl", [0, 0x541C, 0, 0, 0, 0]), EPERM_RET); // TIOCLINUX
            // Newer than anything the profile names: ENOSYS, as runc does.
            let d = |n: u32| Data {
                nr: n,
                arch: arch.audit(),
                args: [0; 6],
            };
            assert_eq!(run(&prog, &d(467)), ENOSYS_RET);
            assert_eq!(run(&prog, &d(1000)), ENOSYS_RET);
            assert_eq!(run(&prog, &d(nr(arch, "removexattrat"))), ALLOW);
        }
        let prog = compile_one(&default_profile(), &target(Arch::X86_64, 0), &[]);
        let d = |n: u32| Data {
            nr: n,
            arch: Arch::X86_64.audit(),
            args: [0; 6],
        };
        assert_eq!(run(&prog, &d(X32_SYSCALL_BIT | 39)), KILL);
        assert_eq!(run(&prog, &d(u32::MAX)), EPERM_RET);
        assert_eq!(call(&prog, Arch::X86_64, "arch_prctl", [0; 6]), ALLOW);
    }

    #[test]
    fn capabilities_unlock_their_groups() {
        let cap = |name: &str| 1u64 << name.parse::<caps::Capability>().unwrap().index();
        let arch = Arch::X86_64;
        let admin = compile_one(&default_profile(), &target(arch, cap("CAP_SYS_ADMIN")), &[]);
        assert_eq!(call(&admin, arch, "mount", [0; 6]), ALLOW);
        assert_eq!(call(&admin, arch, "clone3", [0; 6]), ALLOW);
        assert_eq!(
            call(&admin, arch, "clone", [0x1000_0011, 0, 0, 0, 0, 0]),
            ALLOW
        );
        assert_eq!(call(&admin, arch, "chroot", [0; 6]), EPERM_RET);
        let chroot = compile_one(
            &default_profile(),
            &target(arch, cap("CAP_SYS_CHROOT")),
            &[],
        );
        assert_eq!(call(&chroot, arch, "chroot", [0; 6]), ALLOW);
        assert_eq!(call(&chroot, arch, "mount", [0; 6]), EPERM_RET);
        let bpf = compile_one(&default_profile(), &target(arch, cap("CAP_BPF")), &[]);
        assert_eq!(call(&bpf, arch, "bpf", [0; 6]), ALLOW);
    }

    #[test]
    fn min_kernel_follows_the_kernel() {
        let arch = Arch::X86_64;
        let old = Target {
            kernel: Some((4, 4)),
            ..target(arch, 0)
        };
        let prog = compile_one(&default_profile(), &old, &[]);
        assert_eq!(call(&prog, arch, "ptrace", [0; 6]), EPERM_RET);
        let unknown = Target {
            kernel: None,
            ..target(arch, 0)
        };
        let e = compile_for(&default_profile(), &unknown, &[]).unwrap_err();
        assert!(e.to_string().contains("minKernel 4.8"), "{e}");
    }

    #[test]
    fn skipped_names_are_reported() {
        let c = compile_for(&default_profile(), &target(Arch::X86_64, 0), &["nosuch"]).unwrap();
        assert!(c.skipped.contains(&"chown32".to_string()));
        assert!(c.skipped.contains(&"nosuch".to_string()));
        assert!(!c.skipped.contains(&"read".to_string()));
        let a = compile_for(&default_profile(), &target(Arch::Aarch64, 0), &[]).unwrap();
        assert!(a.skipped.contains(&"open".to_string()));
    }

    /// seccompiler's JSON front end keeps only the argument rule when a syscall also has an
    /// argument-less rule; Docker/libseccomp allow the syscall unconditionally. Both orders.
    #[test]
    fn argless_rule_wins_over_arg_rule() {
        for rules in [
            r#"{"names": ["getpriority"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 99, "op": "SCMP_CMP_EQ"}]},
               {"names": ["getpriority"], "action": "SCMP_ACT_ALLOW"}"#,
            r#"{"names": ["getpriority"], "action": "SCMP_ACT_ALLOW"},
               {"names": ["getpriority"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 99, "op": "SCMP_CMP_EQ"}]}"#,
        ] {
            let src = format!(r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{rules}]}}"#);
            let p = profile::parse(src.as_bytes()).unwrap();
            for arch in [Arch::X86_64, Arch::Aarch64] {
                let prog = compile_one(&p, &target(arch, 0), &[]);
                assert_eq!(call(&prog, arch, "getpriority", [0; 6]), ALLOW);
                assert_eq!(call(&prog, arch, "getpriority", [99, 0, 0, 0, 0, 0]), ALLOW);
            }
        }
    }

    #[test]
    fn argument_combination_follows_runc() {
        // Distinct indexes: AND. Same index twice: OR (runc#2735).
        let src = br#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["getpriority"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]},
            {"names": ["setpriority"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 10, "op": "SCMP_CMP_GE"}, {"index": 0, "value": 20, "op": "SCMP_CMP_LE"}]}
        ]}"#;
        let p = profile::parse(src).unwrap();
        let arch = Arch::X86_64;
        let prog = compile_one(&p, &target(arch, 0), &[]);
        assert_eq!(call(&prog, arch, "getpriority", [1, 2, 0, 0, 0, 0]), ALLOW);
        assert_eq!(
            call(&prog, arch, "getpriority", [1, 3, 0, 0, 0, 0]),
            EPERM_RET
        );
        assert_eq!(call(&prog, arch, "setpriority", [5, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(call(&prog, arch, "setpriority", [50, 0, 0, 0, 0, 0]), ALLOW);
        cross_check(&p, &target(arch, 0), &[]);
    }

    #[test]
    fn every_operator_at_the_edges() {
        for (op, v) in [
            ("SCMP_CMP_EQ", 0x1_0000_0005u64),
            ("SCMP_CMP_NE", 5),
            ("SCMP_CMP_LT", 0x1_0000_0000),
            ("SCMP_CMP_LE", 0xffff_ffff),
            ("SCMP_CMP_GT", 0x2_0000_0007),
            ("SCMP_CMP_GE", 7),
            ("SCMP_CMP_GT", u64::MAX),
            ("SCMP_CMP_LT", 0),
        ] {
            let src = format!(
                r#"{{"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": [
                {{"names": ["exit_group"], "action": "SCMP_ACT_ALLOW"}},
                {{"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 7, "args": [
                    {{"index": 3, "value": {v}, "op": "{op}"}}]}}]}}"#
            );
            let p = profile::parse(src.as_bytes()).unwrap();
            for arch in [Arch::X86_64, Arch::Aarch64] {
                cross_check(&p, &target(arch, 0), &[]);
            }
        }
        let masked = br#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getpriority"], "action": "SCMP_ACT_TRAP", "args": [
                {"index": 0, "value": 18446744069414584335, "valueTwo": 4294967297, "op": "SCMP_CMP_MASKED_EQ"}]}]}"#;
        let p = profile::parse(masked).unwrap();
        cross_check(&p, &target(Arch::X86_64, 0), &[]);
    }

    #[test]
    fn conflicting_actions_are_refused() {
        let src = br#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22, "args": [{"index": 1, "value": 21522, "op": "SCMP_CMP_EQ"}]}]}"#;
        let p = profile::parse(src).unwrap();
        let e = compile_for(&p, &target(Arch::X86_64, 0), &[]).unwrap_err();
        assert!(
            e.to_string()
                .contains("syscall ioctl has rules with different actions"),
            "{e}"
        );
        // The same rule with the default action is a no-op (runc), not a conflict.
        let src = br#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 21522, "op": "SCMP_CMP_EQ"}]}]}"#;
        let p = profile::parse(src).unwrap();
        compile_for(&p, &target(Arch::X86_64, 0), &[]).unwrap();
    }

    #[test]
    fn deny_list_profiles_and_extra_allow() {
        let src = br#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mount", "reboot"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}"#;
        let p = profile::parse(src).unwrap();
        let arch = Arch::X86_64;
        let t = target(arch, 0);
        let pl = plan(&p, &t, &[]).unwrap();
        assert_eq!(pl.enosys_above, None);
        let prog = compile_one(&p, &t, &["reboot"]);
        assert_eq!(call(&prog, arch, "mount", [0; 6]), KILL);
        assert_eq!(call(&prog, arch, "reboot", [0; 6]), ALLOW);
        assert_eq!(call(&prog, arch, "kill", [0; 6]), EPERM_RET);
        assert_eq!(call(&prog, arch, "read", [0; 6]), ALLOW);
        cross_check(&p, &t, &["reboot"]);
    }

    #[test]
    fn long_jumps_are_routed() {
        // 150 rules with two comparisons each on one syscall make a block of ~1000 instructions,
        // forcing jumps past 255.
        let mut rules = String::from(r#"{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}"#);
        for i in 0..150 {
            rules.push_str(&format!(
                r#",{{"names": ["getpriority"], "action": "SCMP_ACT_ALLOW", "args": [
                    {{"index": 0, "value": {i}, "op": "SCMP_CMP_EQ"}}, {{"index": 1, "value": {}, "op": "SCMP_CMP_GT"}}]}}"#,
                i * 3
            ));
        }
        let src = format!(r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{rules}]}}"#);
        let p = profile::parse(src.as_bytes()).unwrap();
        let prog = compile_one(&p, &target(Arch::X86_64, 0), &[]);
        assert!(prog.len() > 600, "{}", prog.len());
        assert!(prog.iter().any(|i| i.code == BPF_JA));
        cross_check(&p, &target(Arch::X86_64, 0), &[]);
    }

    /// A profile of one-comparison rules on getpriority, from Rust (so that
    /// rules the JSON parser refuses can be tried too).
    fn one_argument_profile(args: Vec<Arg>) -> Profile {
        Profile {
            default_action: Action::Errno,
            default_errno_ret: None,
            architectures: Vec::new(),
            arch_map: Vec::new(),
            syscalls: args
                .into_iter()
                .map(|a| Rule {
                    names: vec!["getpriority".into()],
                    action: Action::Allow,
                    errno_ret: None,
                    args: vec![a],
                    comment: String::new(),
                    includes: Filter::default(),
                    excludes: Filter::default(),
                })
                .collect(),
        }
    }

    #[test]
    fn value_sets_route_long_jumps_and_the_shorter_block_wins() {
        // Every value with its own high half: the value-set block (a tree over 257 regions, a low
        // test in each) is longer than the rules one by one, and far enough to need `ja`s.
        let args = (0..MAX_SET_ALTERNATIVES as u64)
            .map(|i| Arg {
                index: 0,
                value: (i << 32) | (i * 3),
                value_two: 0,
                op: Op::Eq,
            })
            .collect();
        let p = one_argument_profile(args);
        let t = target(Arch::X86_64, 0);
        let len = |mode| {
            VALUE_SETS.set(mode);
            let prog = compile_one(&p, &t, &[]);
            VALUE_SETS.set(None);
            prog
        };
        let (sets, general, auto) = (len(Some(true)), len(Some(false)), len(None));
        assert!(
            sets.len() > 300 && sets.iter().any(|i| i.code == BPF_JA),
            "{}",
            sets.len()
        );
        assert_eq!(auto.len(), sets.len().min(general.len()));
        cross_check(&p, &t, &[]);
    }

    #[test]
    fn masked_test_with_data_outside_the_mask_never_holds() {
        for (mask, data) in [(0xffu64, 0x100u64), (0xffff_ffff, 1 << 40), (0, 1)] {
            let p = one_argument_profile(vec![Arg {
                index: 0,
                value: mask,
                value_two: data,
                op: Op::MaskedEq,
            }]);
            let t = target(Arch::X86_64, 0);
            cross_check(&p, &t, &[]);
            let prog = compile_one(&p, &t, &[]);
            for v in [data, 0, u64::MAX] {
                assert_eq!(
                    call(&prog, Arch::X86_64, "getpriority", [v, 0, 0, 0, 0, 0]),
                    EPERM_RET
                );
            }
        }
    }

    #[test]
    fn too_large_is_an_error() {
        let mut rules = Vec::new();
        // Two arguments per rule: no value-set shortcut, about 8 instructions each.
        for i in 0..2100 {
            rules.push(format!(
                r#"{{"names": ["getpriority"], "action": "SCMP_ACT_ALLOW", "args": [{{"index": 0, "value": {i}, "op": "SCMP_CMP_EQ"}}, {{"index": 1, "value": {i}, "op": "SCMP_CMP_EQ"}}]}}"#
            ));
        }
        let src = format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{}]}}"#,
            rules.join(",")
        );
        let p = profile::parse(src.as_bytes()).unwrap();
        let e = compile_for(&p, &target(Arch::X86_64, 0), &[]).unwrap_err();
        assert!(e.to_string().contains("more than the kernel's 4096"), "{e}");
    }

    #[test]
    fn kernel_release_parsing() {
        assert_eq!(parse_kernel_release("6.1.0-18-amd64\n"), Some((6, 1)));
        assert_eq!(parse_kernel_release("4.8"), Some((4, 8)));
        assert_eq!(parse_kernel_release("5.10-rc5"), Some((5, 10)));
        assert_eq!(parse_kernel_release("6.18.44-fc-v595"), Some((6, 18)));
        assert_eq!(parse_kernel_release("junk"), None);
        assert_eq!(parse_kernel_release("6"), None);
        let from_proc = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        assert_eq!(running_kernel(), parse_kernel_release(&from_proc));
    }

    #[test]
    fn size_and_speed_of_the_default() {
        let p = default_profile();
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let t = target(arch, 0);
            let start = std::time::Instant::now();
            let rounds = 200;
            let mut len = 0;
            for _ in 0..rounds {
                len = compile_for(&p, &t, &[]).unwrap().filters[0].len();
            }
            let each = start.elapsed() / rounds;
            println!("default profile on {arch:?}: {len} BPF instructions, compile() {each:?}");
            assert!(len < 1000, "{len}");
        }
    }
}
