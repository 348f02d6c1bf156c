//! Resource limits, kept capabilities and the umask, as users write them in flags.
//!
//! These are the three knobs of the privilege drop that take a value. Each parser is pure and strict:
//! a typo in a hardening flag must stop the container at start, not silently run it with the default.
//!
//! - `--rlimit NAME=SOFT[:HARD]`: `NAME` is any `RLIMIT_*` resource, in any case, with or without the
//!   `RLIMIT_` prefix. Values are plain decimal numbers in the resource's own unit (bytes, seconds,
//!   counts), or `unlimited` / `infinity`. Without `:HARD`, hard = soft, as `docker run --ulimit` does:
//!   a limit the program could raise again is not much of a limit. By default core dumps are off
//!   (`core=0`): a dump of a crashed server holds its secrets, and writes them where the program can
//!   write, which is rarely where anyone looks. `--rlimit core=...` overrides that.
//! - `--cap-add CAP,...`: the capabilities kept after all others are dropped, named as in
//!   capabilities(7), in any case, with or without `CAP_`. `ALL` is refused: keeping every capability
//!   undoes the drop, and that should not be one short word in a Dockerfile; name what the program
//!   needs (usually `NET_BIND_SERVICE`).
//! - `--umask MODE`: octal, `027` or `0027`, at most `0777`.
//!
//! Errors name the flag, the value and the fix on one line.

use std::fmt;
use std::str::FromStr;

use caps::Capability;
use nix::sys::resource::Resource;

/// The flag names as they appear in messages.
pub const FLAG_RLIMIT: &str = "--rlimit";
pub const FLAG_CAPS: &str = "--cap-add";
pub const FLAG_UMASK: &str = "--umask";

/// Longest value accepted for any of these flags: far more than any real one needs.
pub const MAX_SPEC_BYTES: usize = 1024;

/// `RLIM_INFINITY` on Linux: all bits set.
pub const UNLIMITED: u64 = u64::MAX;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub flag: &'static str,
    pub value: String,
    pub why: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}: {}", self.flag, self.value, self.why)
    }
}

impl std::error::Error for Error {}

fn error(flag: &'static str, value: &str, why: impl Into<String>) -> Error {
    Error {
        flag,
        value: value.to_string(),
        why: why.into(),
    }
}

/// Every resource `setrlimit(2)` knows on Linux, by its short lower-case name.
const RESOURCES: &[(&str, Resource)] = &[
    ("as", Resource::RLIMIT_AS),
    ("core", Resource::RLIMIT_CORE),
    ("cpu", Resource::RLIMIT_CPU),
    ("data", Resource::RLIMIT_DATA),
    ("fsize", Resource::RLIMIT_FSIZE),
    ("locks", Resource::RLIMIT_LOCKS),
    ("memlock", Resource::RLIMIT_MEMLOCK),
    ("msgqueue", Resource::RLIMIT_MSGQUEUE),
    ("nice", Resource::RLIMIT_NICE),
    ("nofile", Resource::RLIMIT_NOFILE),
    ("nproc", Resource::RLIMIT_NPROC),
    ("rss", Resource::RLIMIT_RSS),
    ("rtprio", Resource::RLIMIT_RTPRIO),
    ("rttime", Resource::RLIMIT_RTTIME),
    ("sigpending", Resource::RLIMIT_SIGPENDING),
    ("stack", Resource::RLIMIT_STACK),
];

/// One `--rlimit`: pass `resource`, `soft`, `hard` to `nix::sys::resource::setrlimit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RlimitSpec {
    pub resource: Resource,
    /// Short lower-case name (`nofile`), for messages.
    pub name: &'static str,
    /// [`UNLIMITED`] is `RLIM_INFINITY`.
    pub soft: u64,
    /// Always set: equal to `soft` when the user wrote no `:HARD`.
    pub hard: u64,
}

impl fmt::Display for RlimitSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={}:{}",
            self.name,
            show_limit(self.soft),
            show_limit(self.hard)
        )
    }
}

/// The limits applied unless the user sets the same resource: no core dumps.
pub const DEFAULT_RLIMITS: &[RlimitSpec] = &[RlimitSpec {
    resource: Resource::RLIMIT_CORE,
    name: "core",
    soft: 0,
    hard: 0,
}];

fn show_limit(value: u64) -> String {
    if value == UNLIMITED {
        "unlimited".to_string()
    } else {
        value.to_string()
    }
}

/// Parses one limit value: a decimal number or `unlimited` / `infinity`.
fn parse_limit_value(text: &str) -> Result<u64, String> {
    if text.eq_ignore_ascii_case("unlimited") || text.eq_ignore_ascii_case("infinity") {
        return Ok(UNLIMITED);
    }
    if text.is_empty() {
        return Err("a limit is empty (write a number or unlimited)".to_string());
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "limit {text:?} is not a decimal number (write e.g. 1024, or unlimited; -1 is not accepted)"
        ));
    }
    text.parse::<u64>()
        .map_err(|_| format!("limit {text} is too large (write unlimited)"))
}

/// Parses `NAME=SOFT[:HARD]`, e.g. `nofile=1024:4096`, `core=0`, `stack=8388608:unlimited`.
pub fn parse_rlimit(text: &str) -> Result<RlimitSpec, Error> {
    let err = |why: String| error(FLAG_RLIMIT, text, why);
    if text.len() > MAX_SPEC_BYTES {
        return Err(err("it is too long".to_string()));
    }
    let Some((written, values)) = text.split_once('=') else {
        return Err(err(
            "expected NAME=SOFT[:HARD], e.g. nofile=1024:4096".to_string()
        ));
    };
    let upper = written.to_ascii_uppercase();
    let short = upper.strip_prefix("RLIMIT_").unwrap_or(&upper);
    let Some(&(name, resource)) = RESOURCES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(short))
    else {
        let known: Vec<&str> = RESOURCES.iter().map(|(n, _)| *n).collect();
        return Err(err(format!(
            "unknown resource {written:?} (known: {})",
            known.join(", ")
        )));
    };
    let (soft, hard) = match values.split_once(':') {
        Some((soft, hard)) => (soft, Some(hard)),
        None => (values, None),
    };
    let soft = parse_limit_value(soft).map_err(err)?;
    let hard = match hard {
        Some(hard) => parse_limit_value(hard).map_err(err)?,
        None => soft,
    };
    if soft > hard {
        return Err(err(format!(
            "soft limit {} is above hard limit {}",
            show_limit(soft),
            show_limit(hard)
        )));
    }
    Ok(RlimitSpec {
        resource,
        name,
        soft,
        hard,
    })
}

/// The limits to apply: `defaults` (usually [`DEFAULT_RLIMITS`]) unless the user set the same resource,
/// then the user's. For one resource the last spec wins; each resource appears once, at the place of
/// its first mention.
pub fn merge_rlimits(defaults: &[RlimitSpec], user: &[RlimitSpec]) -> Vec<RlimitSpec> {
    let mut merged: Vec<RlimitSpec> = Vec::new();
    for spec in defaults.iter().chain(user) {
        match merged.iter_mut().find(|m| m.resource == spec.resource) {
            Some(slot) => *slot = *spec,
            None => merged.push(*spec),
        }
    }
    merged
}

/// Every capability the `caps` crate knows, in kernel order (the same list as `caps::all()`, which
/// returns a HashSet: that would bring hash-table code into the binary for a constant).
pub const ALL_CAPS: [Capability; 41] = [
    Capability::CAP_CHOWN,
    Capability::CAP_DAC_OVERRIDE,
    Capability::CAP_DAC_READ_SEARCH,
    Capability::CAP_FOWNER,
    Capability::CAP_FSETID,
    Capability::CAP_KILL,
    Capability::CAP_SETGID,
    Capability::CAP_SETUID,
    Capability::CAP_SETPCAP,
    Capability::CAP_LINUX_IMMUTABLE,
    Capability::CAP_NET_BIND_SERVICE,
    Capability::CAP_NET_BROADCAST,
    Capability::CAP_NET_ADMIN,
    Capability::CAP_NET_RAW,
    Capability::CAP_IPC_LOCK,
    Capability::CAP_IPC_OWNER,
    Capability::CAP_SYS_MODULE,
    Capability::CAP_SYS_RAWIO,
    Capability::CAP_SYS_CHROOT,
    Capability::CAP_SYS_PTRACE,
    Capability::CAP_SYS_PACCT,
    Capability::CAP_SYS_ADMIN,
    Capability::CAP_SYS_BOOT,
    Capability::CAP_SYS_NICE,
    Capability::CAP_SYS_RESOURCE,
    Capability::CAP_SYS_TIME,
    Capability::CAP_SYS_TTY_CONFIG,
    Capability::CAP_MKNOD,
    Capability::CAP_LEASE,
    Capability::CAP_AUDIT_WRITE,
    Capability::CAP_AUDIT_CONTROL,
    Capability::CAP_SETFCAP,
    Capability::CAP_MAC_OVERRIDE,
    Capability::CAP_MAC_ADMIN,
    Capability::CAP_SYSLOG,
    Capability::CAP_WAKE_ALARM,
    Capability::CAP_BLOCK_SUSPEND,
    Capability::CAP_AUDIT_READ,
    Capability::CAP_PERFMON,
    Capability::CAP_BPF,
    Capability::CAP_CHECKPOINT_RESTORE,
];

/// Parses `NET_BIND_SERVICE,chown,CAP_KILL`. Duplicates are dropped, the order is kept. The empty
/// string is the empty list, so an inherited default can be cleared.
pub fn parse_caps(text: &str) -> Result<Vec<Capability>, Error> {
    let err = |why: String| error(FLAG_CAPS, text, why);
    if text.len() > MAX_SPEC_BYTES {
        return Err(err("it is too long".to_string()));
    }
    let mut list = Vec::new();
    if text.trim_ascii().is_empty() {
        return Ok(list);
    }
    for item in text.split(',') {
        let item = item.trim_ascii();
        if item.is_empty() {
            return Err(err(
                "a capability name is empty (write e.g. NET_BIND_SERVICE,CHOWN)".to_string(),
            ));
        }
        let upper = item.to_ascii_uppercase();
        let short = upper.strip_prefix("CAP_").unwrap_or(&upper);
        if short == "ALL" {
            return Err(err(
                "ALL is not accepted: keeping every capability undoes the drop; \
                 name the ones the program needs (e.g. NET_BIND_SERVICE)"
                    .to_string(),
            ));
        }
        let Ok(cap) = Capability::from_str(&format!("CAP_{short}")) else {
            let known: Vec<String> = ALL_CAPS
                .iter()
                .map(|c| c.to_string().trim_start_matches("CAP_").to_string())
                .collect();
            return Err(err(format!(
                "unknown capability {item:?} (known: {})",
                known.join(", ")
            )));
        };
        if !list.contains(&cap) {
            list.push(cap);
        }
    }
    Ok(list)
}

/// The capabilities as a kernel bit mask (bit n = capability n), as in `/proc/self/status`.
pub fn cap_mask(caps: &[Capability]) -> u64 {
    caps.iter().fold(0, |mask, cap| mask | cap.bitmask())
}

/// The names of the capabilities in `mask`, in kernel order; a bit no known capability has is
/// `cap N`.
pub fn cap_names(mask: u64) -> Vec<String> {
    (0..64usize)
        .filter(|b| mask & (1 << b) != 0)
        .map(|b| {
            ALL_CAPS
                .get(b)
                .map_or_else(|| format!("cap {b}"), |c| c.to_string())
        })
        .collect()
}

/// Parses an octal umask: `027`, `0027`, `0`; at most `0777`.
pub fn parse_umask(text: &str) -> Result<u32, Error> {
    let err = |why: &str| error(FLAG_UMASK, text, why);
    if text.is_empty() || text.len() > 4 || !text.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(err(
            "expected an octal mode of 1 to 4 digits 0-7 (write e.g. 0027 or 077)",
        ));
    }
    let mask = u32::from_str_radix(text, 8).map_err(|_| err("not an octal number"))?;
    if mask > 0o777 {
        return Err(err(
            "above 0777: a umask only holds permission bits (write e.g. 0027)",
        ));
    }
    Ok(mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_caps_is_the_caps_crate_list_in_kernel_order() {
        for (i, c) in ALL_CAPS.iter().enumerate() {
            assert_eq!(usize::from(c.index()), i, "{c}");
        }
        let mut theirs: Vec<Capability> = caps::all().into_iter().collect();
        theirs.sort_by_key(Capability::index);
        assert_eq!(ALL_CAPS.to_vec(), theirs);
    }

    fn rl(text: &str) -> RlimitSpec {
        parse_rlimit(text).unwrap()
    }
    fn rl_err(text: &str) -> String {
        parse_rlimit(text).unwrap_err().to_string()
    }

    #[test]
    fn parses_rlimits() {
        let spec = rl("nofile=1024:4096");
        assert_eq!(spec.resource, Resource::RLIMIT_NOFILE);
        assert_eq!((spec.name, spec.soft, spec.hard), ("nofile", 1024, 4096));
        assert_eq!((rl("core=0").soft, rl("core=0").hard), (0, 0));
        assert_eq!(rl("nofile=unlimited").hard, UNLIMITED);
        let stack = rl("stack=8388608:unlimited");
        assert_eq!((stack.soft, stack.hard), (8_388_608, UNLIMITED));
        assert_eq!(rl("cpu=Infinity:INFINITY").soft, UNLIMITED);
        assert_eq!(rl("nproc=5:5").hard, 5);
    }

    #[test]
    fn hard_defaults_to_soft() {
        let spec = rl("nofile=1024");
        assert_eq!((spec.soft, spec.hard), (1024, 1024));
    }

    #[test]
    fn resource_names_any_case_with_or_without_prefix() {
        for text in ["NOFILE=1", "RLIMIT_NOFILE=1", "rlimit_nofile=1", "NoFile=1"] {
            assert_eq!(rl(text).resource, Resource::RLIMIT_NOFILE, "{text}");
            assert_eq!(rl(text).name, "nofile");
        }
        for (name, resource) in RESOURCES {
            assert_eq!(rl(&format!("{name}=1")).resource, *resource);
        }
        assert_eq!(RESOURCES.len(), 16);
    }

    #[test]
    fn rejects_bad_rlimits() {
        assert_eq!(
            rl_err("nofile=10:5"),
            "--rlimit \"nofile=10:5\": soft limit 10 is above hard limit 5"
        );
        assert_eq!(
            rl_err("nofile=unlimited:5"),
            "--rlimit \"nofile=unlimited:5\": soft limit unlimited is above hard limit 5"
        );
        assert!(rl_err("files=1").contains("unknown resource \"files\" (known: as, core,"));
        assert!(rl_err("nofile").contains("expected NAME=SOFT[:HARD]"));
        for bad in [
            "nofile=",
            "nofile=:5",
            "nofile=5:",
            "nofile=-1",
            "nofile=+1",
            "nofile= 1",
            "nofile=1k",
            "nofile=1:2:3",
            "nofile=18446744073709551616",
            "=1",
            "RLIMIT_=1",
        ] {
            assert!(parse_rlimit(bad).is_err(), "{bad:?}");
        }
        assert!(parse_rlimit(&format!("nofile={}", "1".repeat(2000))).is_err());
    }

    #[test]
    fn rlimit_display_round_trips() {
        for text in ["nofile=1024:4096", "stack=8388608:unlimited", "core=0:0"] {
            assert_eq!(rl(text).to_string(), text);
            assert_eq!(rl(&rl(text).to_string()), rl(text));
        }
    }

    #[test]
    fn merge_turns_core_off_unless_the_user_set_it() {
        let merged = merge_rlimits(DEFAULT_RLIMITS, &[rl("nofile=10")]);
        assert_eq!(merged, [DEFAULT_RLIMITS[0], rl("nofile=10")]);
        let merged = merge_rlimits(DEFAULT_RLIMITS, &[rl("core=unlimited")]);
        assert_eq!(merged, [rl("core=unlimited")]);
        assert_eq!(merge_rlimits(DEFAULT_RLIMITS, &[]), DEFAULT_RLIMITS);
    }

    #[test]
    fn merge_keeps_the_last_spec_per_resource() {
        let merged = merge_rlimits(
            DEFAULT_RLIMITS,
            &[rl("nofile=10"), rl("nproc=5"), rl("RLIMIT_NOFILE=20:30")],
        );
        assert_eq!(
            merged,
            [DEFAULT_RLIMITS[0], rl("nofile=20:30"), rl("nproc=5")]
        );
    }

    #[test]
    fn parses_caps_in_any_spelling() {
        let caps = parse_caps("NET_BIND_SERVICE,chown,CAP_KILL,cap_setuid, Net_Raw ").unwrap();
        assert_eq!(
            caps,
            [
                Capability::CAP_NET_BIND_SERVICE,
                Capability::CAP_CHOWN,
                Capability::CAP_KILL,
                Capability::CAP_SETUID,
                Capability::CAP_NET_RAW,
            ]
        );
        assert_eq!(
            parse_caps("chown,CHOWN,cap_chown").unwrap(),
            [Capability::CAP_CHOWN]
        );
        assert_eq!(parse_caps("").unwrap(), []);
        for cap in ALL_CAPS {
            assert_eq!(parse_caps(&cap.to_string()).unwrap(), [cap]);
        }
    }

    #[test]
    fn rejects_bad_caps() {
        let err = parse_caps("NET_BIND_SERVICE,FOO").unwrap_err().to_string();
        assert!(
            err.starts_with(
                "--cap-add \"NET_BIND_SERVICE,FOO\": unknown capability \"FOO\" (known: CHOWN, DAC_OVERRIDE,"
            ),
            "{err}"
        );
        assert!(err.ends_with("CHECKPOINT_RESTORE)"), "{err}");
        for all in ["ALL", "all", "CAP_ALL", "chown,all"] {
            let err = parse_caps(all).unwrap_err().to_string();
            assert!(err.contains("ALL is not accepted"), "{err}");
        }
        for bad in [
            ",",
            "chown,",
            ",chown",
            "chown,,kill",
            "CAP_",
            "__Nonexhaustive",
        ] {
            assert!(parse_caps(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cap_mask_sets_kernel_bits() {
        assert_eq!(cap_mask(&[]), 0);
        // CAP_CHOWN = 0, CAP_KILL = 5, CAP_NET_BIND_SERVICE = 10.
        let caps = parse_caps("CHOWN,KILL,NET_BIND_SERVICE").unwrap();
        assert_eq!(cap_mask(&caps), 0b100_0010_0001);
        assert_eq!(cap_mask(&ALL_CAPS), (1 << 41) - 1);
    }

    #[test]
    fn parses_umasks() {
        assert_eq!(parse_umask("0027").unwrap(), 0o027);
        assert_eq!(parse_umask("027").unwrap(), 0o027);
        assert_eq!(parse_umask("77").unwrap(), 0o077);
        assert_eq!(parse_umask("0").unwrap(), 0);
        assert_eq!(parse_umask("0777").unwrap(), 0o777);
    }

    #[test]
    fn rejects_bad_umasks() {
        for bad in [
            "", "0888", "8", "1777", "07777", "0o27", "-027", "+027", " 027", "u=rwx", "0x1f",
        ] {
            let err = parse_umask(bad).unwrap_err();
            assert!(err.to_string().starts_with("--umask "), "{err}");
        }
        assert_eq!(
            parse_umask("1777").unwrap_err().to_string(),
            "--umask \"1777\": above 0777: a umask only holds permission bits (write e.g. 0027)"
        );
    }
}
