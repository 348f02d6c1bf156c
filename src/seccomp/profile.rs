//! The seccomp profile model, and its translation from and to Docker's JSON format.
//!
//! The format is the one `docker run --security-opt seccomp=FILE` reads: moby's
//! `profiles/seccomp` `Seccomp` type, which is the OCI runtime-spec `LinuxSeccomp` plus `archMap`
//! and per-rule `name`, `comment`, `includes` and `excludes`. A plain OCI `linux.seccomp` object
//! is a subset of it, so both load here.
//!
//! Reading is strict where Go's decoder is lenient, because the result is a security boundary:
//! an unknown key is an error (Go drops it, so a misspelt `"excludes"` would silently make a rule
//! apply everywhere), a number must be a non-negative integer in range, and features pidguard does
//! not implement (`SCMP_ACT_NOTIFY`, `SCMP_ACT_TRACE`, filter `flags`, a listener) are errors
//! rather than ignored. `null` counts as absent, as in Go. Everything that is accepted survives
//! [`to_json`] unchanged, so `parse(export(p)) == p`.
//!
//! What the fields *mean* (which rules apply on this machine, how arguments combine) is decided
//! in `compile.rs`; this file only reads and writes them.

use super::Error;
use super::json::{self, Value};

/// A Docker/OCI seccomp profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// What happens to a syscall no rule matches.
    pub default_action: Action,
    /// The errno for an `SCMP_ACT_ERRNO` default; `None` means EPERM.
    pub default_errno_ret: Option<u32>,
    /// OCI `architectures` (`SCMP_ARCH_*`). pidguard filters the native ABI only; see compile.rs.
    pub architectures: Vec<String>,
    /// Docker `archMap`: the architectures to use for each native one.
    pub arch_map: Vec<ArchMap>,
    /// The rules, in file order.
    pub syscalls: Vec<Rule>,
}

/// One `archMap` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchMap {
    pub architecture: String,
    pub sub_architectures: Vec<String>,
}

/// One entry of `syscalls`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Syscall names; the deprecated single `name` is read into this too.
    pub names: Vec<String>,
    pub action: Action,
    /// The errno for `SCMP_ACT_ERRNO`; `None` means EPERM.
    pub errno_ret: Option<u32>,
    /// Argument comparisons; see `compile.rs` for how several combine.
    pub args: Vec<Arg>,
    /// Free text, kept for export. Empty means none.
    pub comment: String,
    /// The rule applies only if all of these hold.
    pub includes: Filter,
    /// The rule is dropped if any of these holds.
    pub excludes: Filter,
}

/// Docker's conditions on a rule. Empty fields are no condition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Capability names such as `CAP_SYS_ADMIN`.
    pub caps: Vec<String>,
    /// Docker architecture names such as `amd64`, `arm64`.
    pub arches: Vec<String>,
    /// Kernel version as `(major, minor)`, e.g. `(4, 8)`.
    pub min_kernel: Option<(u8, u8)>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.arches.is_empty() && self.min_kernel.is_none()
    }
}

/// One argument comparison. For `MaskedEq`, `value` is the mask and `value_two` the expected
/// masked value, as in libseccomp and runc.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Arg {
    /// Argument number, 0..=5.
    pub index: u8,
    pub value: u64,
    pub value_two: u64,
    pub op: Op,
}

/// A comparison; all compare the full 64-bit argument, unsigned, as libseccomp does on 64-bit
/// architectures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    MaskedEq,
}

const OPS: [(Op, &str); 7] = [
    (Op::Ne, "SCMP_CMP_NE"),
    (Op::Lt, "SCMP_CMP_LT"),
    (Op::Le, "SCMP_CMP_LE"),
    (Op::Eq, "SCMP_CMP_EQ"),
    (Op::Ge, "SCMP_CMP_GE"),
    (Op::Gt, "SCMP_CMP_GT"),
    (Op::MaskedEq, "SCMP_CMP_MASKED_EQ"),
];

impl Op {
    pub fn name(self) -> &'static str {
        OPS.iter().find(|(o, _)| *o == self).map_or("", |(_, n)| n)
    }
}

/// What the filter does with a matching syscall. `Kill` is libseccomp's old name for
/// `KillThread`; it is kept apart only so export writes back what was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Allow,
    Errno,
    Kill,
    KillThread,
    KillProcess,
    Trap,
    Log,
}

const ACTIONS: [(Action, &str); 7] = [
    (Action::Allow, "SCMP_ACT_ALLOW"),
    (Action::Errno, "SCMP_ACT_ERRNO"),
    (Action::Kill, "SCMP_ACT_KILL"),
    (Action::KillThread, "SCMP_ACT_KILL_THREAD"),
    (Action::KillProcess, "SCMP_ACT_KILL_PROCESS"),
    (Action::Trap, "SCMP_ACT_TRAP"),
    (Action::Log, "SCMP_ACT_LOG"),
];

impl Action {
    pub fn name(self) -> &'static str {
        ACTIONS
            .iter()
            .find(|(a, _)| *a == self)
            .map_or("", |(_, n)| n)
    }
}

/// Largest errno a filter may return (the kernel's MAX_ERRNO).
pub const MAX_ERRNO: u32 = 4095;

/// The `SCMP_ARCH_*` names libseccomp knows; anything else in `architectures` is a typo.
const SCMP_ARCHES: [&str; 23] = [
    "SCMP_ARCH_NATIVE",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_SH",
];

fn err(at: &str, why: impl Into<String>) -> Error {
    Error::Profile {
        at: at.to_string(),
        why: why.into(),
    }
}

/// The members of an object, after checking that every key is one of `known`.
fn object<'a>(v: &'a Value, at: &str, known: &[&str]) -> Result<&'a [(String, Value)], Error> {
    let Value::Object(members) = v else {
        return Err(err(at, format!("expected an object, found {}", v.kind())));
    };
    if let Some((k, _)) = members.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        return Err(err(at, format!("unknown key {k:?}")));
    }
    Ok(members)
}

/// A member's value; `null` counts as absent, as in Go.
fn get<'a>(members: &'a [(String, Value)], key: &str) -> Option<&'a Value> {
    members
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .filter(|v| **v != Value::Null)
}

fn string(v: &Value, at: &str) -> Result<String, Error> {
    match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(err(at, format!("expected a string, found {}", v.kind()))),
    }
}

fn strings(v: Option<&Value>, at: &str) -> Result<Vec<String>, Error> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| string(item, &format!("{at}[{i}]")))
            .collect(),
        Some(other) => Err(err(
            at,
            format!("expected an array of strings, found {}", other.kind()),
        )),
    }
}

fn uint(v: &Value, at: &str, max: u64) -> Result<u64, Error> {
    match v.as_u64() {
        Some(n) if n <= max => Ok(n),
        Some(n) => Err(err(at, format!("{n} is larger than {max}"))),
        None => match v {
            Value::Number(text) => Err(err(
                at,
                format!("{text} is not a non-negative whole number"),
            )),
            _ => Err(err(at, format!("expected a number, found {}", v.kind()))),
        },
    }
}

fn errno(v: Option<&Value>, at: &str) -> Result<Option<u32>, Error> {
    // `uint` bounds it by MAX_ERRNO.
    v.map(|v| uint(v, at, u64::from(MAX_ERRNO)).map(|n| u32::try_from(n).unwrap_or(MAX_ERRNO)))
        .transpose()
}

fn action(v: &Value, at: &str) -> Result<Action, Error> {
    let name = string(v, at)?;
    if let Some((a, _)) = ACTIONS.iter().find(|(_, n)| *n == name) {
        return Ok(*a);
    }
    Err(err(
        at,
        match name.as_str() {
            "SCMP_ACT_NOTIFY" => {
                "SCMP_ACT_NOTIFY is not supported (pidguard runs no seccomp agent)".to_string()
            }
            "SCMP_ACT_TRACE" => {
                "SCMP_ACT_TRACE is not supported (pidguard runs no tracer)".to_string()
            }
            _ => format!("unknown action {name:?}"),
        },
    ))
}

/// Checks that an errno is given only to an action that returns one, as runc does.
fn check_errno_use(action: Action, errno: Option<u32>, at: &str) -> Result<(), Error> {
    if errno.is_some() && action != Action::Errno {
        return Err(err(
            at,
            format!(
                "an errno return is only meaningful with SCMP_ACT_ERRNO, not {}",
                action.name()
            ),
        ));
    }
    Ok(())
}

/// Reads a profile from parsed JSON.
pub fn from_json(v: &Value) -> Result<Profile, Error> {
    let top = object(
        v,
        "profile",
        &[
            "defaultAction",
            "defaultErrnoRet",
            "architectures",
            "archMap",
            "syscalls",
            "flags",
            "listenerPath",
            "listenerMetadata",
        ],
    )?;
    let Some(default) = get(top, "defaultAction") else {
        // Docker treats a profile with neither a default nor rules as "seccomp off". Running
        // unconfined because of an empty file is not something to do silently.
        return Err(err(
            "defaultAction",
            "missing (use --seccomp unconfined to run without a filter)",
        ));
    };
    let default_action = action(default, "defaultAction")?;
    let default_errno_ret = errno(get(top, "defaultErrnoRet"), "defaultErrnoRet")?;
    check_errno_use(default_action, default_errno_ret, "defaultErrnoRet")?;

    if !strings(get(top, "flags"), "flags")?.is_empty() {
        return Err(err("flags", "seccomp filter flags are not supported"));
    }
    for key in ["listenerPath", "listenerMetadata"] {
        if !string(get(top, key).unwrap_or(&Value::String(String::new())), key)?.is_empty() {
            return Err(err(key, "a seccomp notify listener is not supported"));
        }
    }

    let architectures = strings(get(top, "architectures"), "architectures")?;
    for (i, a) in architectures.iter().enumerate() {
        if !SCMP_ARCHES.contains(&a.as_str()) {
            return Err(err(
                &format!("architectures[{i}]"),
                format!("unknown architecture {a:?}"),
            ));
        }
    }
    let arch_map = match get(top, "archMap") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| arch_map_entry(item, &format!("archMap[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(err(
                "archMap",
                format!("expected an array, found {}", other.kind()),
            ));
        }
    };
    if !architectures.is_empty() && !arch_map.is_empty() {
        // Docker refuses this too: which list would win is not obvious.
        return Err(err(
            "architectures",
            "both architectures and archMap are given; use one",
        ));
    }

    let syscalls = match get(top, "syscalls") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| rule(item, &format!("syscalls[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(err(
                "syscalls",
                format!("expected an array, found {}", other.kind()),
            ));
        }
    };

    Ok(Profile {
        default_action,
        default_errno_ret,
        architectures,
        arch_map,
        syscalls,
    })
}

fn arch_map_entry(v: &Value, at: &str) -> Result<ArchMap, Error> {
    let m = object(v, at, &["architecture", "subArchitectures"])?;
    let architecture = match get(m, "architecture") {
        Some(a) => string(a, &format!("{at}.architecture"))?,
        None => return Err(err(at, "missing architecture")),
    };
    let sub_architectures = strings(
        get(m, "subArchitectures"),
        &format!("{at}.subArchitectures"),
    )?;
    for a in std::iter::once(&architecture).chain(&sub_architectures) {
        if !SCMP_ARCHES.contains(&a.as_str()) {
            return Err(err(at, format!("unknown architecture {a:?}")));
        }
    }
    Ok(ArchMap {
        architecture,
        sub_architectures,
    })
}

fn rule(v: &Value, at: &str) -> Result<Rule, Error> {
    let m = object(
        v,
        at,
        &[
            "names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes",
        ],
    )?;
    let mut names = strings(get(m, "names"), &format!("{at}.names"))?;
    if let Some(name) = get(m, "name") {
        let name = string(name, &format!("{at}.name"))?;
        // Go reads an empty "name" as absent.
        if !name.is_empty() {
            if !names.is_empty() {
                return Err(err(at, "both name and names are given; use names"));
            }
            names.push(name);
        }
    }
    let action = match get(m, "action") {
        Some(a) => action(a, &format!("{at}.action"))?,
        None => return Err(err(at, "missing action")),
    };
    let errno_ret = errno(get(m, "errnoRet"), &format!("{at}.errnoRet"))?;
    check_errno_use(action, errno_ret, &format!("{at}.errnoRet"))?;
    let args = match get(m, "args") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| arg(item, &format!("{at}.args[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(err(
                &format!("{at}.args"),
                format!("expected an array, found {}", other.kind()),
            ));
        }
    };
    let comment = match get(m, "comment") {
        Some(c) => string(c, &format!("{at}.comment"))?,
        None => String::new(),
    };
    let includes = filter(get(m, "includes"), &format!("{at}.includes"))?;
    let excludes = filter(get(m, "excludes"), &format!("{at}.excludes"))?;
    Ok(Rule {
        names,
        action,
        errno_ret,
        args,
        comment,
        includes,
        excludes,
    })
}

fn arg(v: &Value, at: &str) -> Result<Arg, Error> {
    let m = object(v, at, &["index", "value", "valueTwo", "op"])?;
    let field = |key: &str, max: u64| -> Result<u64, Error> {
        match get(m, key) {
            Some(v) => uint(v, &format!("{at}.{key}"), max),
            None => Ok(0),
        }
    };
    let index = u8::try_from(field("index", 5)?).unwrap_or(u8::MAX); // at most 5
    let value = field("value", u64::MAX)?;
    let value_two = field("valueTwo", u64::MAX)?;
    let op = match get(m, "op") {
        Some(o) => {
            let name = string(o, &format!("{at}.op"))?;
            match OPS.iter().find(|(_, n)| *n == name) {
                Some((op, _)) => *op,
                None => {
                    return Err(err(
                        &format!("{at}.op"),
                        format!("unknown operator {name:?}"),
                    ));
                }
            }
        }
        None => return Err(err(at, "missing op")),
    };
    if op == Op::MaskedEq && value_two & !value != 0 {
        // Such a rule can never match under pidguard but libseccomp versions differ on
        // whether they mask the expected value first; refuse rather than guess.
        return Err(err(
            at,
            format!("valueTwo {value_two:#x} has bits outside the mask {value:#x}"),
        ));
    }
    if op != Op::MaskedEq && value_two != 0 {
        return Err(err(
            &format!("{at}.valueTwo"),
            format!(
                "valueTwo is only used by SCMP_CMP_MASKED_EQ, not {}",
                op.name()
            ),
        ));
    }
    Ok(Arg {
        index,
        value,
        value_two,
        op,
    })
}

fn filter(v: Option<&Value>, at: &str) -> Result<Filter, Error> {
    let Some(v) = v else {
        return Ok(Filter::default());
    };
    let m = object(v, at, &["caps", "arches", "minKernel"])?;
    let min_kernel = match get(m, "minKernel") {
        None => None,
        Some(k) => {
            let text = string(k, &format!("{at}.minKernel"))?;
            if text.is_empty() {
                None
            } else {
                Some(parse_min_kernel(&text).ok_or_else(|| {
                    err(
                        &format!("{at}.minKernel"),
                        format!("invalid kernel version {text:?}, expected \"<major>.<minor>\""),
                    )
                })?)
            }
        }
    };
    Ok(Filter {
        caps: strings(get(m, "caps"), &format!("{at}.caps"))?,
        arches: strings(get(m, "arches"), &format!("{at}.arches"))?,
        min_kernel,
    })
}

/// Docker's `minKernel` grammar: exactly two dot-separated numbers of at most 255, not "0.0".
fn parse_min_kernel(text: &str) -> Option<(u8, u8)> {
    let (major, minor) = text.split_once('.')?;
    let num = |s: &str| -> Option<u8> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let v = (num(major)?, num(minor)?);
    (v != (0, 0)).then_some(v)
}

fn num(n: u64) -> Value {
    Value::Number(n.to_string())
}

fn str_array(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::String).collect())
}

/// Writes a profile as Docker-format JSON, in the field order Docker's own `default.json` uses
/// and omitting empty fields as Go's `omitempty` does.
pub fn to_json(p: &Profile) -> Value {
    let mut top = vec![(
        "defaultAction".to_string(),
        Value::String(p.default_action.name().into()),
    )];
    if let Some(e) = p.default_errno_ret {
        top.push(("defaultErrnoRet".into(), num(e.into())));
    }
    if !p.architectures.is_empty() {
        top.push(("architectures".into(), str_array(&p.architectures)));
    }
    if !p.arch_map.is_empty() {
        let entries = p
            .arch_map
            .iter()
            .map(|a| {
                Value::Object(vec![
                    ("architecture".into(), Value::String(a.architecture.clone())),
                    (
                        "subArchitectures".into(),
                        if a.sub_architectures.is_empty() {
                            Value::Null
                        } else {
                            str_array(&a.sub_architectures)
                        },
                    ),
                ])
            })
            .collect();
        top.push(("archMap".into(), Value::Array(entries)));
    }
    let rules = p.syscalls.iter().map(rule_to_json).collect();
    top.push(("syscalls".into(), Value::Array(rules)));
    Value::Object(top)
}

fn rule_to_json(r: &Rule) -> Value {
    let mut m = vec![
        ("names".to_string(), str_array(&r.names)),
        ("action".into(), Value::String(r.action.name().into())),
    ];
    if let Some(e) = r.errno_ret {
        m.push(("errnoRet".into(), num(e.into())));
    }
    if !r.args.is_empty() {
        let args = r
            .args
            .iter()
            .map(|a| {
                let mut o = vec![
                    ("index".to_string(), num(a.index.into())),
                    ("value".into(), num(a.value)),
                ];
                if a.value_two != 0 {
                    o.push(("valueTwo".into(), num(a.value_two)));
                }
                o.push(("op".into(), Value::String(a.op.name().into())));
                Value::Object(o)
            })
            .collect();
        m.push(("args".into(), Value::Array(args)));
    }
    if !r.comment.is_empty() {
        m.push(("comment".into(), Value::String(r.comment.clone())));
    }
    for (key, f) in [("includes", &r.includes), ("excludes", &r.excludes)] {
        if !f.is_empty() {
            m.push((key.into(), filter_to_json(f)));
        }
    }
    Value::Object(m)
}

fn filter_to_json(f: &Filter) -> Value {
    let mut m = Vec::new();
    if !f.caps.is_empty() {
        m.push(("caps".to_string(), str_array(&f.caps)));
    }
    if !f.arches.is_empty() {
        m.push(("arches".into(), str_array(&f.arches)));
    }
    if let Some((major, minor)) = f.min_kernel {
        m.push((
            "minKernel".into(),
            Value::String(format!("{major}.{minor}")),
        ));
    }
    Value::Object(m)
}

/// Parses and reads a profile in one step (for tests and the fuzz target).
pub fn parse(input: &[u8]) -> Result<Profile, Error> {
    from_json(&json::parse(input).map_err(Error::Json)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(src: &str) -> String {
        match parse(src.as_bytes()) {
            Ok(p) => panic!("{src} parsed as {p:?}"),
            Err(e) => e.to_string(),
        }
    }

    const MINIMAL: &str = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []}"#;

    #[test]
    fn minimal() {
        let p = parse(MINIMAL.as_bytes()).unwrap();
        assert_eq!(p.default_action, Action::Errno);
        assert_eq!(p.default_errno_ret, None);
        assert!(p.syscalls.is_empty());
    }

    #[test]
    fn full_rule() {
        let p = parse(
            br#"{
            "defaultAction": "SCMP_ACT_KILL_PROCESS",
            "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": null}],
            "syscalls": [
                {"name": "read", "action": "SCMP_ACT_ALLOW"},
                {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
                 "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
                 "comment": "c",
                 "includes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["amd64"], "minKernel": "4.8"},
                 "excludes": {}}
            ]}"#,
        )
        .unwrap();
        assert_eq!(p.arch_map[0].sub_architectures, Vec::<String>::new());
        assert_eq!(p.syscalls[0].names, ["read"]);
        let r = &p.syscalls[1];
        assert_eq!(r.errno_ret, Some(38));
        assert_eq!(
            r.args[0],
            Arg {
                index: 0,
                value: 0x7E02_0000,
                value_two: 0,
                op: Op::MaskedEq
            }
        );
        assert_eq!(r.includes.min_kernel, Some((4, 8)));
        assert!(r.excludes.is_empty());
    }

    #[test]
    fn every_action_and_op_reads_back() {
        for (a, name) in ACTIONS {
            let src = format!(r#"{{"defaultAction": "{name}"}}"#);
            assert_eq!(parse(src.as_bytes()).unwrap().default_action, a);
        }
        for (op, name) in OPS {
            let src = format!(
                r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{{"names": ["x"],
                "action": "SCMP_ACT_LOG", "args": [{{"index": 5, "value": 18446744073709551615, "op": "{name}"}}]}}]}}"#
            );
            let p = parse(src.as_bytes()).unwrap();
            assert_eq!(p.syscalls[0].args[0].op, op);
            assert_eq!(p.syscalls[0].args[0].value, u64::MAX);
        }
    }

    #[test]
    fn rejects_with_a_path() {
        for (src, want) in [
            ("{}", "defaultAction: missing"),
            (
                r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#,
                "SCMP_ACT_NOTIFY is not supported",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_TRACE"}"#,
                "SCMP_ACT_TRACE is not supported",
            ),
            (
                r#"{"defaultAction": "ALLOW"}"#,
                "defaultAction: unknown action \"ALLOW\"",
            ),
            (
                r#"{"defaultAction": 1}"#,
                "defaultAction: expected a string, found a number",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}"#,
                "only meaningful with SCMP_ACT_ERRNO",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 4096}"#,
                "defaultErrnoRet: 4096 is larger than 4095",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1}"#,
                "-1 is not a non-negative whole number",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1.0}"#,
                "1.0 is not a non-negative whole number",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": "1"}"#,
                "expected a number, found a string",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_LOG"]}"#,
                "flags: seccomp filter flags are not supported",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/x"}"#,
                "listenerPath: a seccomp notify listener",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultaction": "x"}"#,
                "profile: unknown key \"defaultaction\"",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}"#,
                "both architectures and archMap",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["x86_64"]}"#,
                "architectures[0]: unknown architecture \"x86_64\"",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": {}}"#,
                "syscalls: expected an array, found an object",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"]}]}"#,
                "syscalls[0]: missing action",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": "a", "action": "SCMP_ACT_ALLOW"}]}"#,
                "syscalls[0].names: expected an array of strings",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": [1], "action": "SCMP_ACT_ALLOW"}]}"#,
                "syscalls[0].names[0]: expected a string",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "name": "b", "action": "SCMP_ACT_ALLOW"}]}"#,
                "both name and names",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_KILL", "errnoRet": 1}]}"#,
                "syscalls[0].errnoRet: an errno return is only meaningful",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "exclude": {}}]}"#,
                "syscalls[0]: unknown key \"exclude\"",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
                "syscalls[0].args[0].index: 6 is larger than 5",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1}]}]}"#,
                "syscalls[0].args[0]: missing op",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "EQ"}]}]}"#,
                "unknown operator \"EQ\"",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 18446744073709551616, "op": "SCMP_CMP_EQ"}]}]}"#,
                "18446744073709551616 is not a non-negative whole number",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "valueTwo": 3, "op": "SCMP_CMP_MASKED_EQ"}]}]}"#,
                "valueTwo 0x3 has bits outside the mask 0x1",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "valueTwo": 3, "op": "SCMP_CMP_EQ"}]}]}"#,
                "valueTwo is only used by SCMP_CMP_MASKED_EQ",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4"}}]}"#,
                "syscalls[0].includes.minKernel: invalid kernel version \"4\"",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8.1"}}]}"#,
                "invalid kernel version",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "0.0"}}]}"#,
                "invalid kernel version",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "256.1"}}]}"#,
                "invalid kernel version",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": "CAP_X"}}]}"#,
                "syscalls[0].includes.caps: expected an array of strings",
            ),
            ("[]", "profile: expected an object, found an array"),
            ("{", "invalid JSON at byte 1"),
        ] {
            let got = bad(src);
            assert!(got.contains(want), "{src}\n  got:  {got}\n  want: {want}");
        }
    }

    #[test]
    fn null_is_absent_and_empty_name_is_ignored() {
        let p = parse(
            br#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": null, "archMap": null,
                 "syscalls": [{"names": ["a"], "name": "", "action": "SCMP_ACT_ALLOW",
                               "args": null, "comment": null, "includes": null,
                               "excludes": {"minKernel": ""}}]}"#,
        )
        .unwrap();
        assert_eq!(p.default_errno_ret, None);
        assert_eq!(p.syscalls[0].names, ["a"]);
        assert!(p.syscalls[0].excludes.is_empty());
    }

    #[test]
    fn round_trip() {
        let src = br#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
            "syscalls": [
              {"names": ["a", "b"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0},
              {"name": "c", "action": "SCMP_ACT_TRAP", "comment": "quote \" and tab \t",
               "args": [{"index": 1, "value": 4294967295, "valueTwo": 21522, "op": "SCMP_CMP_MASKED_EQ"},
                        {"index": 2, "value": 3, "op": "SCMP_CMP_GE"}],
               "excludes": {"caps": ["CAP_BPF"], "arches": ["s390x"], "minKernel": "5.10"}}]}"#;
        let p = parse(src).unwrap();
        let text = json::to_pretty(&to_json(&p));
        assert_eq!(parse(text.as_bytes()).unwrap(), p);
    }
}
