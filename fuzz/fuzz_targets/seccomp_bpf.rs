//! Compiles random rule sets and runs the program through the BPF evaluator (`seccomp::eval`),
//! comparing every answer with the rules evaluated directly (`eval::expected`): the planner, the
//! value-set and general argument blocks, the number-interval tree and long-jump routing all have to
//! agree with the profile's meaning, on both architectures. Syscall names come from the
//! architecture's own table, argument values from a few edges of each constant the rules compare.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pidguard::seccomp::{self, Action, Arch, Arg, Filter, Op, Profile, Rule, Target, eval};

/// Reads the fuzzer's bytes as a stream of small choices.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }
    fn u64(&mut self) -> u64 {
        // Mostly small or near an edge, sometimes anything.
        match self.u8() % 6 {
            0 => u64::from(self.u8()),
            1 => u64::from(u32::MAX) - u64::from(self.u8()),
            2 => (1 << 32) | u64::from(self.u8()),
            3 => u64::MAX - u64::from(self.u8()),
            4 => u64::from(self.u8()) << (self.u8() % 64),
            _ => (0..8).fold(0, |v, _| v << 8 | u64::from(self.u8())),
        }
    }
    fn empty(&self) -> bool {
        self.0.is_empty()
    }
}

const ACTIONS: [Action; 4] = [
    Action::Allow,
    Action::Errno,
    Action::Trap,
    Action::KillProcess,
];
const OPS: [Op; 7] = [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::MaskedEq];

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let arch = if b.u8() % 2 == 0 {
        Arch::X86_64
    } else {
        Arch::Aarch64
    };
    let table = arch.syscalls();
    // Few names, so that rules pile up on the same syscalls.
    let pool: Vec<&str> = (0..4)
        .map(|_| table[usize::from(b.u8()) * 7 % table.len()].0)
        .collect();
    let default_action = ACTIONS[usize::from(b.u8()) % ACTIONS.len()];
    let mut syscalls = Vec::new();
    for _ in 0..(b.u8() % 12) {
        let action = ACTIONS[usize::from(b.u8()) % ACTIONS.len()];
        let names = (0..1 + b.u8() % 2)
            .map(|_| pool[usize::from(b.u8()) % pool.len()].to_string())
            .collect();
        let args = (0..b.u8() % 3)
            .map(|_| Arg {
                index: b.u8() % 6,
                value: b.u64(),
                value_two: b.u64(),
                op: OPS[usize::from(b.u8()) % OPS.len()],
            })
            .collect();
        syscalls.push(Rule {
            names,
            action,
            errno_ret: (action == Action::Errno).then(|| u32::from(b.u8())),
            args,
            comment: String::new(),
            includes: Filter::default(),
            excludes: Filter::default(),
        });
        if b.empty() {
            break;
        }
    }
    let profile = Profile {
        default_action,
        default_errno_ret: None,
        architectures: Vec::new(),
        arch_map: Vec::new(),
        syscalls,
    };
    let target = Target {
        arch,
        kept_caps: 0,
        kernel: Some((6, 1)),
    };
    let extra: Vec<&str> = if b.u8() % 4 == 0 {
        vec![pool[0]]
    } else {
        vec![]
    };
    let Ok(compiled) = seccomp::compile_for(&profile, &target, &extra) else {
        return;
    };
    let prog = &compiled.filters[0];

    // Every constant's edges, in every argument slot, for every syscall named and its neighbours.
    let mut values = vec![0, 1, u64::MAX, u64::from(u32::MAX), 1 << 32];
    for a in profile.syscalls.iter().flat_map(|r| &r.args) {
        for v in [a.value, a.value_two, a.value_two | !a.value] {
            values.extend([v, v.wrapping_add(1), v.wrapping_sub(1), v ^ (1 << 32)]);
        }
    }
    let mut nrs: Vec<u32> = vec![0, u32::MAX, 0x4000_0000];
    for name in &pool {
        let nr = arch.syscall_number(name).unwrap();
        nrs.extend([nr, nr.wrapping_sub(1), nr + 1]);
    }
    for &nr in &nrs {
        for slot in 0..6 {
            for &v in &values {
                let mut args = [0; 6];
                args[slot] = v;
                let d = eval::Data {
                    nr,
                    arch: arch.audit(),
                    args,
                };
                let want =
                    eval::expected(&profile, &target, &extra, &d).expect("compiled, so defined");
                assert_eq!(eval::run(prog, &d), want, "{profile:?} {d:?}");
            }
        }
    }
});
