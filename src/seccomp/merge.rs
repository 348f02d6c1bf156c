//! `pidguard seccomp merge A.json B.json ...`: one profile that allows what any of its inputs allows.
//!
//! One recorded run rarely covers every path of a program (the error branch, the monthly job), so
//! recordings of several runs are merged. The result must not depend on how the runs are grouped or
//! ordered, and merging a profile with itself must change nothing, or a CI job that merges each new
//! recording into the checked-in profile would rewrite it every time. So merging is a union of
//! sets followed by one normal form, and the normal form is a function of the union alone:
//! - rules are grouped by everything but their names (action, errno, argument tests, conditions);
//!   each group becomes one rule with the union of the names, sorted; groups are sorted;
//! - a name allowed unconditionally is dropped from every other rule (a conditional allow of it
//!   adds nothing, and a deny of it would be a second action for one syscall, which runc and
//!   pidguard refuse); a name allowed under some argument test is dropped from the deny rules
//!   (`clone3` ENOSYS in one recording, allowed in another: allowed);
//! - the architecture lists are unions.
//!
//! Both removals only look at unconditional and allow rules, which are never removed themselves, so
//! normalising the inputs first changes nothing: merge is associative, commutative and idempotent
//! (tests below). Inputs must agree on the default action: a union of an EPERM-by-default profile
//! and an allow-by-default one has no meaning. The result is compiled for this machine before it
//! is printed, so that a merge never produces a profile `--seccomp` would refuse.

use super::Error;
use super::profile::{Action, ArchMap, Arg, Filter, Profile, Rule};

const EPERM: u32 = 1;

/// The errno an ERRNO action means when none is given.
fn errno_of(action: Action, errno: Option<u32>) -> Option<u32> {
    match action {
        Action::Errno => Some(errno.unwrap_or(EPERM)),
        _ => errno,
    }
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// A filter with its lists sorted, so that equal conditions compare equal.
fn normal_filter(f: &Filter) -> Filter {
    Filter {
        caps: sorted(&f.caps),
        arches: sorted(&f.arches),
        min_kernel: f.min_kernel,
    }
}

/// Everything but the names: rules with equal keys merge.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    /// Allow first, then by name: the order the output lists rules in.
    action: (bool, &'static str),
    errno: Option<u32>,
    args: Vec<Arg>,
    includes: (Vec<String>, Vec<String>, Option<(u8, u8)>),
    excludes: (Vec<String>, Vec<String>, Option<(u8, u8)>),
}

fn key(r: &Rule) -> Key {
    let mut args = r.args.clone();
    args.sort_unstable();
    args.dedup();
    let f = |f: &Filter| {
        let n = normal_filter(f);
        (n.caps, n.arches, n.min_kernel)
    };
    Key {
        action: (r.action != Action::Allow, r.action.name()),
        errno: errno_of(r.action, r.errno_ret),
        args,
        includes: f(&r.includes),
        excludes: f(&r.excludes),
    }
}

/// The union of `profiles`, in normal form.
pub fn merge(profiles: &[Profile]) -> Result<Profile, Error> {
    let Some(first) = profiles.first() else {
        return Err(Error::Profile {
            at: "merge".into(),
            why: "no profile given".into(),
        });
    };
    let default_errno = errno_of(first.default_action, first.default_errno_ret);
    for (i, p) in profiles.iter().enumerate() {
        let errno = errno_of(p.default_action, p.default_errno_ret);
        if p.default_action != first.default_action || errno != default_errno {
            return Err(Error::Profile {
                at: format!("profile {}", i + 1),
                why: format!(
                    "defaultAction {} differs from the first profile's {}: only profiles with the \
                     same default merge",
                    p.default_action.name(),
                    first.default_action.name()
                ),
            });
        }
    }

    // (key, action, names, smallest non-empty comment), sorted by key. The key holds the action's
    // name, which is unique per action, so one group has one action.
    let mut groups: Vec<(Key, Action, Vec<String>, String)> = Vec::new();
    for r in profiles.iter().flat_map(|p| &p.syscalls) {
        let k = key(r);
        let i = match groups.binary_search_by(|(g, ..)| g.cmp(&k)) {
            Ok(i) => i,
            Err(i) => {
                groups.insert(i, (k, r.action, Vec::new(), String::new()));
                i
            }
        };
        let (_, _, names, comment) = &mut groups[i];
        names.extend(r.names.iter().cloned());
        if !r.comment.is_empty() && (comment.is_empty() || r.comment < *comment) {
            *comment = r.comment.clone();
        }
    }
    let unconditioned = |k: &Key| {
        !k.action.0 && k.includes == Default::default() && k.excludes == Default::default()
    };
    let plain = |k: &Key| unconditioned(k) && k.args.is_empty();
    let names_where = |pick: &dyn Fn(&Key) -> bool| {
        sorted(
            &groups
                .iter()
                .filter(|(k, ..)| pick(k))
                .flat_map(|(_, _, n, _)| n.iter().cloned())
                .collect::<Vec<_>>(),
        )
    };
    let unconditional = names_where(&plain);
    let allowed = names_where(&unconditioned);
    let mut syscalls = Vec::new();
    for (k, action, names, comment) in groups {
        let drop: &[String] = if plain(&k) {
            &[]
        } else if !k.action.0 {
            &unconditional
        } else {
            &allowed
        };
        let names: Vec<String> = sorted(&names)
            .into_iter()
            .filter(|n| drop.binary_search(n).is_err())
            .collect();
        if names.is_empty() {
            continue;
        }
        let rule_of = |f: &(Vec<String>, Vec<String>, Option<(u8, u8)>)| Filter {
            caps: f.0.clone(),
            arches: f.1.clone(),
            min_kernel: f.2,
        };
        syscalls.push(Rule {
            names,
            action,
            errno_ret: k.errno,
            args: k.args.clone(),
            comment,
            includes: rule_of(&k.includes),
            excludes: rule_of(&k.excludes),
        });
    }

    let architectures = sorted(
        &profiles
            .iter()
            .flat_map(|p| p.architectures.iter().cloned())
            .collect::<Vec<_>>(),
    );
    let mut arch_map: Vec<ArchMap> = Vec::new();
    for m in profiles.iter().flat_map(|p| &p.arch_map) {
        match arch_map.binary_search_by(|a| a.architecture.cmp(&m.architecture)) {
            Ok(i) => {
                let subs = &mut arch_map[i].sub_architectures;
                subs.extend(m.sub_architectures.iter().cloned());
                *subs = sorted(subs);
            }
            Err(i) => arch_map.insert(
                i,
                ArchMap {
                    architecture: m.architecture.clone(),
                    sub_architectures: sorted(&m.sub_architectures),
                },
            ),
        }
    }
    Ok(Profile {
        default_action: first.default_action,
        default_errno_ret: default_errno,
        architectures,
        arch_map,
        syscalls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::compile::{Arch, Target};
    use crate::seccomp::record::{Base, Recorded, profile};
    use crate::seccomp::{default_profile, export_json, parse_profile};

    const AUDIT: u32 = 0xC000_003E;

    fn recorded(calls: &[(&str, u64)]) -> Profile {
        let target = Target {
            arch: Arch::X86_64,
            kept_caps: 0,
            kernel: Some((6, 1)),
        };
        let base = Base::new(&default_profile(), &target).unwrap();
        let mut rec = Recorded::default();
        for (name, a0) in calls {
            let nr = Arch::X86_64.syscall_number(name).unwrap() as i32;
            rec.record(&base, AUDIT, nr, &[*a0, 0, 0, 0, 0, 0]);
        }
        profile(&base, &rec)
    }

    fn m(ps: &[&Profile]) -> Profile {
        merge(&ps.iter().map(|p| (*p).clone()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn associative_commutative_idempotent() {
        let a = recorded(&[("getdents64", 0), ("socket", 1)]);
        let b = recorded(&[("socket", 10), ("mkdir", 0), ("clone", 0)]);
        let c = recorded(&[("socket", 1), ("personality", 8), ("uname", 0)]);
        let mut d = default_profile();
        d.syscalls.truncate(4); // argument rules and conditions, unlike the recordings
        d.arch_map.truncate(2);
        d.architectures.clear();
        for (x, y, z) in [(&a, &b, &c), (&a, &d, &b), (&d, &c, &a)] {
            assert_eq!(m(&[&m(&[x, y]), z]), m(&[x, &m(&[y, z])]));
            assert_eq!(m(&[x, y, z]), m(&[z, y, x]));
            assert_eq!(m(&[x, y]), m(&[&m(&[x, y]), &m(&[x, y])]));
        }
        // A recording is already in normal form: merging it with itself gives it back.
        assert_eq!(m(&[&a, &a]), a);
        assert_eq!(m(&[&a]), a);
        // As text too, which is what a CI diff sees.
        assert_eq!(export_json(&m(&[&b, &b])), export_json(&b));
    }

    #[test]
    fn union_allows_what_either_allowed() {
        let a = recorded(&[("getdents64", 0), ("socket", 1)]);
        let b = recorded(&[("socket", 10), ("clone", 0)]);
        let u = m(&[&a, &b]);
        let has = |name: &str| u.syscalls.iter().any(|r| r.names.iter().any(|n| n == name));
        assert!(has("getdents64") && has("clone") && has("execve"));
        let families: Vec<u64> = u
            .syscalls
            .iter()
            .filter(|r| r.names == ["socket"])
            .map(|r| r.args[0].value)
            .collect();
        assert_eq!(families, [1, 10]);
        // clone3 stays ENOSYS, once.
        let clone3: Vec<&Rule> = u
            .syscalls
            .iter()
            .filter(|r| r.names.iter().any(|n| n == "clone3"))
            .collect();
        assert_eq!(clone3.len(), 1);
        assert_eq!(clone3[0].errno_ret, Some(38));
        // The text round-trips and compiles.
        let text = export_json(&u);
        assert_eq!(parse_profile(text.as_bytes()).unwrap(), u);
    }

    #[test]
    fn an_allow_wins_over_a_deny_and_covers_conditions() {
        let mut a = recorded(&[]);
        let mut b = recorded(&[("socket", 1)]);
        a.syscalls.push(Rule {
            names: vec!["clone3".into(), "socket".into()],
            action: Action::Allow,
            errno_ret: None,
            args: Vec::new(),
            comment: String::new(),
            includes: Filter::default(),
            excludes: Filter::default(),
        });
        b.syscalls[0].comment = "z".into();
        let u = m(&[&a, &b]);
        let rules_with = |name: &str| {
            u.syscalls
                .iter()
                .filter(|r| r.names.iter().any(|n| n == name))
                .count()
        };
        assert_eq!(rules_with("clone3"), 1);
        assert_eq!(rules_with("socket"), 1);
        assert_eq!(u.syscalls[0].comment, "z");
    }

    #[test]
    fn different_defaults_do_not_merge() {
        let a = recorded(&[]);
        let mut b = a.clone();
        b.default_action = Action::Allow;
        b.default_errno_ret = None;
        let e = merge(&[a.clone(), b]).unwrap_err().to_string();
        assert!(
            e.contains("profile 2") && e.contains("SCMP_ACT_ALLOW"),
            "{e}"
        );
        let mut c = a.clone();
        c.default_errno_ret = None; // EPERM all the same
        assert!(merge(&[a, c]).is_ok());
        assert!(merge(&[]).is_err());
    }
}
