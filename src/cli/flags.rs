//! Every option of `pidguard [OPTIONS] PROGRAM`, one item each, as ripgrep's `flags/defs.rs` has
//! them: names, help texts, default, variables, and the function that parses the value into its
//! typed field of [`RunConfig`](super::RunConfig), with the option's unit test right after it.
//!
//! [`FLAGS`] lists them in the order `--help-all` shows them within each group. How to add one is
//! written at the top of `cli/mod.rs`. A parse function judges its own value only and says why it is
//! refused without naming the option (the caller adds `--grace "5":` or `PIDGUARD_GRACE=5:`);
//! what involves two options is checked in `cli::finish`.

use std::time::Duration;

use super::{
    Action, Alias, Arg, Flag, Group, Initial, OnUnhealthy, RecordTo, RestartPolicy, Seccomp,
    SessionMode,
};
use crate::log::{Level, LogFormat};
use crate::{duration, landlock, limits, passwd, signals};

#[cfg(test)]
use super::testing::{err, err_env, run, run_env};

pub static FLAGS: &[&Flag] = &[
    &USER,
    &GROUPS,
    &ALLOW_ROOT,
    &CAP_ADD,
    &SETUP,
    &SETUP_CAP,
    &ALLOW_NEW_PRIVS,
    &RLIMIT,
    &UMASK,
    &SECCOMP,
    &SECCOMP_RECORD,
    &READ_ONLY,
    &WRITABLE,
    &ALLOW_BIND,
    &ALLOW_CONNECT,
    &LANDLOCK,
    &GRACE,
    &REWRITE,
    &KILL_PROCESS_GROUP,
    &SETSID,
    &SINGLE_CHILD,
    &REMAP_EXIT,
    &SUBREAPER,
    &PDEATH_SIGNAL,
    &WARN_ON_REAP,
    &RESTART,
    &RESTART_DELAY,
    &RESTART_MAX_DELAY,
    &RESTART_STABLE,
    &RESTART_LIMIT,
    &ON_UNHEALTHY,
    &HEALTH_CHECK,
    &HEALTH_INTERVAL,
    &HEALTH_TIMEOUT,
    &HEALTH_RETRIES,
    &HEALTH_START_PERIOD,
    &HEALTH_EXPECT,
    &HEALTH_LISTEN,
    &METRICS,
    &LOG_LEVEL,
    &LOG_FORMAT,
    &VERBOSE,
    &HELP,
    &HELP_ALL,
    &VERSION,
    &LICENSE,
];

fn duration(v: &str) -> Result<Duration, String> {
    duration::parse(v).map_err(|e| e.reason())
}

fn positive_duration(v: &str) -> Result<Duration, String> {
    match duration(v)? {
        d if d.is_zero() => Err("it must be longer than 0".into()),
        d => Ok(d),
    }
}

/// One of a fixed set of words, e.g. `--restart on-failure`.
fn choice<T: Copy>(v: &str, choices: &[(&str, T)]) -> Result<T, String> {
    choices
        .iter()
        .find(|(name, _)| *name == v)
        .map(|&(_, t)| t)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            format!("use one of {}", names.join(", "))
        })
}

// ---- User -------------------------------------------------------------------------------------

pub static USER: Flag = Flag {
    long: "user",
    short: Some('u'),
    arg: Arg::Value {
        meta: "USER[:GROUP]",
        repeat: false,
        parse: |low, v| {
            low.cfg.user = Some(passwd::parse_user_spec(v).map_err(spec_why)?);
            Ok(())
        },
    },
    group: Group::User,
    brief: "run as this user (names or numbers)",
    help: "Run as this user (and group): names from the image's /etc/passwd and /etc/group, or \
           numbers. A uid without a passwd entry gets gid = uid. PID 1 switches too.",
    default: Initial::Text("the current user"),
    aliases: &[],
};

/// The reason of a `--user`/`--groups` refusal, without the flag it names.
fn spec_why(e: passwd::Error) -> String {
    match e {
        passwd::Error::Spec { why, .. } => why.to_string(),
        other => other.to_string(),
    }
}

#[test]
fn user() {
    assert_eq!(run(&["x"]).user, None);
    let c = run(&["-u", "nonroot:65532", "x"]);
    assert_eq!(c.user.unwrap().to_string(), "nonroot:65532");
    let c = run_env(&["x"], &[("PIDGUARD_USER", "65532")]);
    assert_eq!(c.user.unwrap().to_string(), "65532");
    assert!(err(&["--user", "", "x"]).starts_with("--user \"\":"));
    assert!(err(&["--user", "a:b:c", "x"]).starts_with("--user \"a:b:c\":"));
}

pub static GROUPS: Flag = Flag {
    long: "groups",
    short: None,
    arg: Arg::Value {
        meta: "G1,G2",
        repeat: false,
        parse: |low, v| {
            low.cfg.groups = Some(passwd::parse_groups_spec(v).map_err(spec_why)?);
            Ok(())
        },
    },
    group: Group::User,
    brief: "",
    help: "Supplementary groups (names or numbers) instead of those /etc/group gives the user; '' \
           for none.",
    default: Initial::Text("from /etc/group"),
    aliases: &[],
};

#[test]
fn groups() {
    use crate::passwd::GroupsSpec;
    assert_eq!(run(&["x"]).groups, None);
    assert_eq!(
        run(&["--groups", "", "x"]).groups,
        Some(GroupsSpec::Explicit(vec![]))
    );
    assert!(run(&["--groups", "10,wheel", "x"]).groups.is_some());
}

pub static ALLOW_ROOT: Flag = Flag {
    long: "allow-root",
    short: None,
    arg: Arg::Switch(|low, on| low.cfg.allow_root = on),
    group: Group::User,
    brief: "allow uid 0 (still no capabilities)",
    help: "Allow the program to run as uid 0 (it still gets no capabilities unless --cap-add).",
    default: Initial::Text("off"),
    aliases: &[],
};

#[test]
fn allow_root() {
    assert!(!run(&["x"]).allow_root);
    assert!(run(&["--allow-root", "x"]).allow_root);
    assert!(run_env(&["x"], &[("PIDGUARD_ALLOW_ROOT", "yes")]).allow_root);
    assert!(!run_env(&["x"], &[("PIDGUARD_ALLOW_ROOT", "0")]).allow_root);
}

pub static CAP_ADD: Flag = Flag {
    long: "cap-add",
    short: None,
    arg: Arg::Value {
        meta: "CAP[,CAP]",
        repeat: true,
        parse: |low, v| {
            for cap in limits::parse_caps(v).map_err(|e| e.why)? {
                if !low.cfg.cap_add.contains(&cap) {
                    low.cfg.cap_add.push(cap);
                }
            }
            Ok(())
        },
    },
    group: Group::User,
    brief: "keep these capabilities, drop the rest",
    help: "Keep these capabilities (e.g. NET_BIND_SERVICE; with or without CAP_, any case); all \
           others are dropped from every set. Repeatable.",
    default: Initial::Text("none"),
    aliases: &[],
};

#[test]
fn cap_add() {
    use caps::Capability::{CAP_CHOWN, CAP_KILL, CAP_NET_BIND_SERVICE};
    assert!(run(&["x"]).cap_add.is_empty());
    let c = run(&[
        "--cap-add",
        "net_bind_service,CAP_CHOWN",
        "--cap-add",
        "NET_BIND_SERVICE",
        "x",
    ]);
    assert_eq!(c.cap_add, vec![CAP_NET_BIND_SERVICE, CAP_CHOWN]);
    let c = run_env(&["x"], &[("PIDGUARD_CAP_ADD", "KILL,CHOWN")]);
    assert_eq!(c.cap_add, vec![CAP_KILL, CAP_CHOWN]);
    assert!(err(&["--cap-add", "NET_FLY", "x"]).contains("NET_FLY"));
    assert!(err(&["--cap-add", "ALL", "x"]).contains("ALL"));
}

pub static SETUP: Flag = Flag {
    long: "setup",
    short: None,
    arg: Arg::Value {
        meta: "COMMAND",
        repeat: true,
        parse: |low, v| {
            let argv: Vec<String> = v.split_ascii_whitespace().map(String::from).collect();
            if argv.is_empty() {
                return Err(
                    "the set-up command is empty: give a program and its arguments \
                            (e.g. \"/bin/chown -R 65532 /data\")"
                        .into(),
                );
            }
            low.cfg.setup.push(argv);
            Ok(())
        },
    },
    group: Group::User,
    brief: "run first, as root with few caps (chown)",
    help: "Run COMMAND (a program and its arguments, split at spaces; no shell, no quoting: put \
           anything more in a script) to completion before anything is dropped, as the starting \
           identity with only --setup-cap's capabilities, no_new_privs and the seccomp filter; its \
           output goes to the log. Repeatable, run in order (the variable: commands separated by \
           commas); a failure stops pidguard with 125 and the program never starts.",
    default: Initial::Text("none"),
    aliases: &[],
};

#[test]
fn setup() {
    assert!(run(&["x"]).setup.is_empty());
    let c = run(&["--setup", "/a", "--setup", " chown  -R 1 /d ", "x"]);
    assert_eq!(c.setup, [vec!["/a"], vec!["chown", "-R", "1", "/d"]]);
    let c = run_env(&["x"], &[("PIDGUARD_SETUP", "/a x,/b")]);
    assert_eq!(c.setup, [vec!["/a", "x"], vec!["/b"]]);
    assert!(err(&["--setup", " ", "x"]).contains("empty"));
}

pub static SETUP_CAP: Flag = Flag {
    long: "setup-cap",
    short: None,
    arg: Arg::Value {
        meta: "CAP[,CAP]",
        repeat: false,
        parse: |low, v| {
            low.cfg.setup_caps = limits::parse_caps(v).map_err(|e| e.why)?;
            Ok(())
        },
    },
    group: Group::User,
    brief: "",
    help: "The capabilities each --setup step keeps (all others are dropped for it); an empty \
           value keeps none. A capability the container does not have is refused (125).",
    default: Initial::Value("CHOWN,DAC_OVERRIDE,FOWNER"),
    aliases: &[],
};

#[test]
fn setup_cap() {
    use caps::Capability::{CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_SETUID};
    assert_eq!(
        run(&["x"]).setup_caps,
        [CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER]
    );
    assert_eq!(
        run(&["--setup-cap", "setuid", "x"]).setup_caps,
        [CAP_SETUID]
    );
    assert!(run(&["--setup-cap", "", "x"]).setup_caps.is_empty());
    assert!(err(&["--setup-cap", "ALL", "x"]).contains("ALL"));
}

pub static ALLOW_NEW_PRIVS: Flag = Flag {
    long: "allow-new-privs",
    short: None,
    arg: Arg::Switch(|low, on| low.cfg.allow_new_privs = on),
    group: Group::User,
    brief: "",
    help: "Do not set no_new_privs (setuid binaries and file capabilities work again; logged as a \
           warning). Needs --seccomp unconfined.",
    default: Initial::Text("off"),
    aliases: &[],
};

#[test]
fn allow_new_privs() {
    assert!(!run(&["x"]).allow_new_privs);
    let c = run(&["--allow-new-privs", "--seccomp", "unconfined", "x"]);
    assert!(c.allow_new_privs);
    assert!(err(&["--allow-new-privs", "x"]).contains("--seccomp unconfined"));
}

// ---- Hardening --------------------------------------------------------------------------------

pub static RLIMIT: Flag = Flag {
    long: "rlimit",
    short: None,
    arg: Arg::Value {
        meta: "NAME=SOFT[:HARD]",
        repeat: true,
        parse: |low, v| {
            low.rlimits
                .push(limits::parse_rlimit(v).map_err(|e| e.why)?);
            Ok(())
        },
    },
    group: Group::Hardening,
    brief: "resource limit, e.g. nofile=1024:4096",
    help: "Set a resource limit (nofile, nproc, core, fsize, memlock, as, stack, cpu, ...; \
           'unlimited'); HARD defaults to SOFT. Repeatable.",
    default: Initial::Value("core=0"),
    aliases: &[],
};

#[test]
fn rlimit() {
    let c = run(&["x"]);
    assert_eq!(c.rlimits.len(), 1, "core=0 by default");
    assert_eq!(
        (c.rlimits[0].name, c.rlimits[0].soft, c.rlimits[0].hard),
        ("core", 0, 0)
    );
    let c = run(&[
        "--rlimit",
        "nofile=1024:4096",
        "--rlimit",
        "core=unlimited",
        "x",
    ]);
    assert_eq!(c.rlimits.len(), 2);
    assert!(
        c.rlimits
            .iter()
            .any(|r| r.name == "core" && r.soft == u64::MAX)
    );
    let c = run_env(&["x"], &[("PIDGUARD_RLIMIT", "nofile=10,nproc=5:6")]);
    assert_eq!(c.rlimits.len(), 3);
    assert!(err(&["--rlimit", "nofile=10:5", "x"]).contains("above hard"));
    assert!(err(&["--rlimit", "bogus=1", "x"]).contains("bogus"));
}

pub static UMASK: Flag = Flag {
    long: "umask",
    short: None,
    arg: Arg::Value {
        meta: "MODE",
        repeat: false,
        parse: |low, v| {
            low.cfg.umask = Some(limits::parse_umask(v).map_err(|e| e.why)?);
            Ok(())
        },
    },
    group: Group::Hardening,
    brief: "",
    help: "Set the umask, in octal (e.g. 0027).",
    default: Initial::Text("inherited"),
    aliases: &[],
};

#[test]
fn umask() {
    assert_eq!(run(&["x"]).umask, None);
    assert_eq!(run(&["--umask", "0027", "x"]).umask, Some(0o027));
    assert!(err(&["--umask", "0999", "x"]).starts_with("--umask \"0999\":"));
}

pub static SECCOMP: Flag = Flag {
    long: "seccomp",
    short: None,
    arg: Arg::Value {
        meta: "PROFILE",
        repeat: false,
        parse: |low, v| {
            low.cfg.seccomp = match v {
                "default" => Seccomp::Default,
                "unconfined" => Seccomp::Unconfined,
                "" => return Err("use default, unconfined or a file path".into()),
                path => Seccomp::File(path.into()),
            };
            Ok(())
        },
    },
    group: Group::Hardening,
    brief: "default, unconfined or a JSON profile",
    help: "default (Docker's default filter, built in), unconfined (no filter; logged as a \
           warning), or the path of a Docker-format JSON profile.",
    default: Initial::Value("default"),
    aliases: &[],
};

#[test]
fn seccomp() {
    assert_eq!(run(&["x"]).seccomp, Seccomp::Default);
    assert_eq!(
        run(&["--seccomp", "unconfined", "x"]).seccomp,
        Seccomp::Unconfined
    );
    assert_eq!(
        run(&["--seccomp", "/p.json", "x"]).seccomp,
        Seccomp::File("/p.json".into())
    );
    assert!(err(&["--seccomp", "", "x"]).starts_with("--seccomp \"\":"));
}

pub static SECCOMP_RECORD: Flag = Flag {
    long: "seccomp-record",
    short: None,
    arg: Arg::Value {
        meta: "FILE",
        repeat: false,
        parse: |low, v| {
            low.cfg.seccomp_record = Some(match v {
                "" => {
                    return Err(
                        "give a file path, or - to keep it for `pidguard seccomp recorded`".into(),
                    );
                }
                "-" => RecordTo::StatusSocket,
                path => RecordTo::File(path.into()),
            });
            Ok(())
        },
    },
    group: Group::Hardening,
    brief: "",
    help: "Record the syscalls the program (every thread and descendant) makes under the filter, \
           and write the least-privilege profile that allows just those to FILE when it exits or on \
           SIGTERM; - writes no file (fetch it with `pidguard seccomp recorded`). See \"Tighten your \
           filter\" in the README.",
    default: Initial::Text("off"),
    aliases: &[],
};

#[test]
fn seccomp_record() {
    assert_eq!(run(&["x"]).seccomp_record, None);
    assert_eq!(
        run(&["--seccomp-record", "/p.json", "x"]).seccomp_record,
        Some(RecordTo::File("/p.json".into()))
    );
    assert_eq!(
        run(&["--seccomp-record", "-", "x"]).seccomp_record,
        Some(RecordTo::StatusSocket)
    );
    assert!(err(&["--seccomp-record", "", "x"]).starts_with("--seccomp-record \"\":"));
    let e = err(&[
        "--seccomp",
        "unconfined",
        "--seccomp-record",
        "/p.json",
        "x",
    ]);
    assert!(e.contains("needs a filter to record against"), "{e}");
}

// ---- Landlock (landlock.rs) ---------------------------------------------------------------------

pub static READ_ONLY: Flag = Flag {
    long: "read-only",
    short: None,
    arg: Arg::Switch(|low, on| low.cfg.landlock.read_only = on),
    group: Group::Hardening,
    brief: "no writes but under --writable (Landlock)",
    help: "A read-only root from inside the image (Landlock): the program, everything it starts and \
           PID 1 may read and execute as before but write nowhere except beneath each --writable \
           path and the devices every program writes (/dev/null, /dev/zero, /dev/full, /dev/tty, \
           /dev/ptmx, /dev/pts/*, /dev/shm). chmod and chown are not covered.",
    default: Initial::Text("off"),
    aliases: &[],
};

#[test]
fn read_only() {
    assert!(!run(&["x"]).landlock.read_only);
    assert!(run(&["--read-only", "x"]).landlock.read_only);
    assert!(
        run_env(&["x"], &[("PIDGUARD_READ_ONLY", "true")])
            .landlock
            .read_only
    );
}

pub static WRITABLE: Flag = Flag {
    long: "writable",
    short: None,
    arg: Arg::Value {
        meta: "PATH",
        repeat: true,
        parse: |low, v| {
            let path = landlock::parse_writable(v)?;
            if !low.cfg.landlock.writable.contains(&path) {
                low.cfg.landlock.writable.push(path);
            }
            Ok(())
        },
    },
    group: Group::Hardening,
    brief: "",
    help: "With --read-only: allow every write beneath this directory (or to this file), e.g. /tmp, \
           a cache or a volume. An absolute path that exists when pidguard starts, with no symlink \
           on the way. Repeatable.",
    default: Initial::Text("none"),
    aliases: &[],
};

#[test]
fn writable() {
    assert!(run(&["x"]).landlock.writable.is_empty());
    let c = run(&[
        "--read-only",
        "--writable",
        "/tmp",
        "--writable=/app/cache/",
        "--writable",
        "/tmp",
        "x",
    ]);
    assert_eq!(
        c.landlock.writable,
        ["/tmp", "/app/cache"].map(std::path::PathBuf::from)
    );
    let c = run_env(
        &["--read-only", "x"],
        &[("PIDGUARD_WRITABLE", "/tmp,/data")],
    );
    assert_eq!(c.landlock.writable.len(), 2);
    assert!(err(&["--read-only", "--writable", "tmp", "x"]).starts_with("--writable \"tmp\":"));
    assert!(err(&["--read-only", "--writable", "", "x"]).contains("absolute"));
    let e = err(&["--writable", "/tmp", "x"]);
    assert!(e.contains("add --read-only"), "{e}");
    let e = err_env(&["x"], &[("PIDGUARD_WRITABLE", "/tmp")]);
    assert!(e.starts_with("PIDGUARD_WRITABLE"), "{e}");
}

pub static ALLOW_BIND: Flag = Flag {
    long: "allow-bind",
    short: None,
    arg: Arg::Value {
        meta: "PORT[,PORT]",
        repeat: true,
        parse: |low, v| add_ports(&mut low.cfg.landlock.allow_bind, v),
    },
    group: Group::Hardening,
    brief: "",
    help: "Landlock TCP rules (ABI 4): the program may bind only these TCP ports; without this \
           option binding is unrestricted. Repeatable.",
    default: Initial::Text("any port"),
    aliases: &[],
};

fn add_ports(list: &mut Vec<u16>, v: &str) -> Result<(), String> {
    for port in landlock::parse_ports(v)? {
        if !list.contains(&port) {
            list.push(port);
        }
    }
    Ok(())
}

#[test]
fn allow_bind() {
    assert!(run(&["x"]).landlock.allow_bind.is_empty());
    let c = run(&["--allow-bind", "8080,8443", "--allow-bind", "8080", "x"]);
    assert_eq!(c.landlock.allow_bind, [8080, 8443]);
    let c = run_env(&["x"], &[("PIDGUARD_ALLOW_BIND", "80,443")]);
    assert_eq!(c.landlock.allow_bind, [80, 443]);
    assert!(err(&["--allow-bind", "0", "x"]).starts_with("--allow-bind \"0\":"));
    assert!(err(&["--allow-bind", "http", "x"]).contains("1 to 65535"));
    assert!(err(&["--allow-bind", "65536", "x"]).contains("1 to 65535"));
}

pub static ALLOW_CONNECT: Flag = Flag {
    long: "allow-connect",
    short: None,
    arg: Arg::Value {
        meta: "PORT[,PORT]",
        repeat: true,
        parse: |low, v| add_ports(&mut low.cfg.landlock.allow_connect, v),
    },
    group: Group::Hardening,
    brief: "",
    help: "Landlock TCP rules (ABI 4): the program (and PID 1's app check) may connect only to these \
           TCP ports, on any host; without this option connecting is unrestricted. Repeatable.",
    default: Initial::Text("any port"),
    aliases: &[],
};

#[test]
fn allow_connect() {
    assert!(run(&["x"]).landlock.allow_connect.is_empty());
    let c = run(&["--allow-connect", "5432", "x"]);
    assert_eq!(c.landlock.allow_connect, [5432]);
    assert!(err(&["--allow-connect", "5432,", "x"]).contains("1 to 65535"));
    let e = err(&[
        "--allow-connect",
        "5432",
        "--health-check",
        "http://127.0.0.1:8080/",
        "x",
    ]);
    assert!(e.contains("add 8080"), "{e}");
    let c = run(&[
        "--allow-connect",
        "5432,8080",
        "--health-check",
        "tcp://localhost:8080",
        "x",
    ]);
    assert_eq!(c.landlock.allow_connect, [5432, 8080]);
}

pub static LANDLOCK: Flag = Flag {
    long: "landlock",
    short: None,
    arg: Arg::Value {
        meta: "MODE",
        repeat: false,
        parse: |low, v| {
            low.cfg.landlock.mode = choice(
                v,
                &[
                    ("strict", landlock::Mode::Strict),
                    ("best-effort", landlock::Mode::BestEffort),
                    ("off", landlock::Mode::Off),
                ],
            )?;
            Ok(())
        },
    },
    group: Group::Hardening,
    brief: "",
    help: "strict: a Landlock rule this kernel cannot enforce stops pidguard (125) naming the \
           kernel's ABI; best-effort: run anyway, with one warning naming each rule not enforced; \
           off: no Landlock at all, not even the scopes that keep the program off PID 1.",
    default: Initial::Value("strict"),
    aliases: &[],
};

#[test]
fn landlock() {
    assert_eq!(run(&["x"]).landlock.mode, landlock::Mode::Strict);
    let c = run(&["--landlock", "best-effort", "x"]);
    assert_eq!(c.landlock.mode, landlock::Mode::BestEffort);
    assert_eq!(
        run(&["--landlock", "off", "x"]).landlock.mode,
        landlock::Mode::Off
    );
    assert!(err(&["--landlock", "on", "x"]).starts_with("--landlock \"on\": use one of"));
    let e = err(&["--landlock", "off", "--read-only", "x"]);
    assert!(e.contains("drop one"), "{e}");
    let e = err(&[
        "--read-only",
        "--allow-new-privs",
        "--seccomp",
        "unconfined",
        "x",
    ]);
    assert!(e.contains("no_new_privs"), "{e}");
}

// ---- Signals ----------------------------------------------------------------------------------

pub static GRACE: Flag = Flag {
    long: "grace",
    short: None,
    arg: Arg::Value {
        meta: "DURATION",
        repeat: false,
        parse: |low, v| {
            low.cfg.grace = duration(v)?;
            Ok(())
        },
    },
    group: Group::Signals,
    brief: "time from SIGTERM to SIGKILL when stopping",
    help: "On SIGTERM/SIGINT, or when the program exits and leaves other processes behind, wait \
           this long for every process to exit before SIGKILL.",
    default: Initial::Value("8s"),
    aliases: &[],
};

#[test]
fn grace() {
    assert_eq!(run(&["x"]).grace, super::DEFAULT_GRACE);
    assert_eq!(
        run(&["--grace", "1m30s", "x"]).grace,
        Duration::from_secs(90)
    );
    assert_eq!(run(&["--grace=0", "x"]).grace, Duration::ZERO);
    let c = run_env(&["x"], &[("PIDGUARD_GRACE", "3s")]);
    assert_eq!(c.grace, Duration::from_secs(3));
    assert!(err(&["--grace", "5", "x"]).starts_with("--grace \"5\": invalid duration"));
    assert!(err(&["--grace", "1s1s", "x"]).contains("largest to the smallest"));
    assert!(err(&["--grace", "1m1h", "x"]).contains("largest to the smallest"));
}

pub static REWRITE: Flag = Flag {
    long: "rewrite",
    short: Some('r'),
    arg: Arg::Value {
        meta: "FROM:TO",
        repeat: true,
        parse: |low, v| {
            low.cfg.rewrite.push(parse_rewrite(v)?);
            Ok(())
        },
    },
    group: Group::Signals,
    brief: "forward signal FROM as TO (0: drop it)",
    help: "Forward signal FROM as TO (names or numbers 1-64, so dumb-init's -r 15:3 works as it is; \
           TO of 0 or none drops it). Repeatable.",
    default: Initial::Text("none"),
    aliases: &[],
};

/// `FROM:TO`, e.g. `TERM:QUIT`, `SIGWINCH:none`, `15:3`.
pub fn parse_rewrite(text: &str) -> Result<(i32, i32), String> {
    let (from, to) = text
        .split_once(':')
        .ok_or("expected FROM:TO, e.g. TERM:QUIT or WINCH:none")?;
    let from = signals::parse(from).map_err(|e| e.to_string())?;
    if !signals::forwardable(from) {
        return Err(format!(
            "{} never reaches pidguard, so it cannot be rewritten",
            signals::name(from)
        ));
    }
    let to = match to.to_ascii_lowercase().as_str() {
        "0" | "none" => 0,
        _ => signals::parse(to).map_err(|e| e.to_string())?,
    };
    Ok((from, to))
}

#[test]
fn rewrite() {
    let c = run(&[
        "--rewrite",
        "TERM:QUIT",
        "--rewrite=10:none",
        "--rewrite",
        "sigwinch:0",
        "x",
    ]);
    assert_eq!(c.rewritten(15), Some(3));
    assert_eq!(c.rewritten(10), None);
    assert_eq!(c.rewritten(28), None);
    assert_eq!(c.rewritten(2), Some(2));
    let c = run(&["--rewrite", "TERM:QUIT", "--rewrite", "TERM:INT", "x"]);
    assert_eq!(c.rewritten(15), Some(2), "the last rewrite wins");
    // dumb-init's spelling: -r with numbers.
    let c = run(&["-r", "15:3", "-r", "2:0", "x"]);
    assert_eq!((c.rewritten(15), c.rewritten(2)), (Some(3), None));
    assert!(err(&["-r", "0:15", "x"]).starts_with("--rewrite \"0:15\":"));
    assert!(err(&["--rewrite", "TERM", "x"]).contains("FROM:TO"));
    assert!(err(&["--rewrite", "KILL:TERM", "x"]).contains("cannot be rewritten"));
    assert!(err(&["--rewrite", "TERM:BOGUS", "x"]).contains("BOGUS"));
}

pub static KILL_PROCESS_GROUP: Flag = Flag {
    long: "kill-process-group",
    short: Some('g'),
    arg: Arg::Switch(|low, on| low.cfg.kill_process_group = on),
    group: Group::Signals,
    brief: "signal the program's whole process group",
    help: "Forward signals to the program's whole process group, not just the program.",
    default: Initial::Text("off"),
    aliases: &[Alias {
        name: "TINI_KILL_PROCESS_GROUP",
        // tini: set at all, to any value, means on.
        apply: |low, _| {
            low.cfg.kill_process_group = true;
            Ok(())
        },
    }],
};

#[test]
fn kill_process_group() {
    assert!(!run(&["x"]).kill_process_group);
    assert!(run(&["-g", "x"]).kill_process_group);
    assert!(run_env(&["x"], &[("TINI_KILL_PROCESS_GROUP", "")]).kill_process_group);
    let c = run_env(
        &["x"],
        &[
            ("TINI_KILL_PROCESS_GROUP", "1"),
            ("PIDGUARD_KILL_PROCESS_GROUP", "false"),
        ],
    );
    assert!(!c.kill_process_group, "PIDGUARD_ wins over TINI_");
}

pub static SETSID: Flag = Flag {
    long: "setsid",
    short: None,
    arg: Arg::Switch(|low, on| {
        if on {
            low.cfg.session = SessionMode::Setsid;
        } else if low.cfg.session == SessionMode::Setsid {
            low.cfg.session = SessionMode::Tini;
        }
    }),
    group: Group::Signals,
    brief: "",
    help: "dumb-init's default mode: the program starts a new session (with the terminal, if any) \
           and signals go to its whole process group. On when pidguard is started under the name \
           dumb-init; DUMB_INIT_SETSID=0 means -c, any other value this.",
    default: Initial::Text("off"),
    aliases: &[Alias {
        name: "DUMB_INIT_SETSID",
        // dumb-init: "0" turns setsid mode off (single child); any other value keeps it.
        apply: |low, v| {
            low.cfg.session = if v == "0" {
                SessionMode::SingleChild
            } else {
                SessionMode::Setsid
            };
            Ok(())
        },
    }],
};

#[test]
fn setsid() {
    assert_eq!(run(&["x"]).session, SessionMode::Tini);
    assert_eq!(run(&["--setsid", "x"]).session, SessionMode::Setsid);
    let setsid = |pairs: &[(&str, &str)]| run_env(&["x"], pairs).session;
    assert_eq!(setsid(&[("PIDGUARD_SETSID", "true")]), SessionMode::Setsid);
    assert_eq!(setsid(&[("DUMB_INIT_SETSID", "1")]), SessionMode::Setsid);
    assert_eq!(
        setsid(&[("DUMB_INIT_SETSID", "0")]),
        SessionMode::SingleChild
    );
    assert_eq!(
        setsid(&[("DUMB_INIT_SETSID", "1"), ("PIDGUARD_SETSID", "false")]),
        SessionMode::Tini,
        "PIDGUARD_ wins over DUMB_INIT_"
    );
    let c = run_env(&["--setsid", "x"], &[("DUMB_INIT_SETSID", "0")]);
    assert_eq!(c.session, SessionMode::Setsid, "the flag wins");
}

pub static SINGLE_CHILD: Flag = Flag {
    long: "single-child",
    short: Some('c'),
    arg: Arg::Switch(|low, on| {
        if on {
            low.cfg.session = SessionMode::SingleChild;
        } else if low.cfg.session == SessionMode::SingleChild {
            low.cfg.session = if low.dumb_init {
                SessionMode::Setsid
            } else {
                SessionMode::Tini
            };
        }
    }),
    group: Group::Signals,
    brief: "",
    help: "dumb-init's -c: the program stays in pidguard's process group and session, and signals \
           go to the program alone.",
    default: Initial::Text("off"),
    aliases: &[],
};

#[test]
fn single_child() {
    assert_eq!(run(&["-c", "x"]).session, SessionMode::SingleChild);
    assert_eq!(
        run(&["--single-child", "x"]).session,
        SessionMode::SingleChild
    );
    let c = run_env(&["x"], &[("PIDGUARD_SINGLE_CHILD", "1")]);
    assert_eq!(c.session, SessionMode::SingleChild);
    // The last of --setsid and -c on the command line wins; both beat the environment.
    assert_eq!(run(&["-c", "--setsid", "x"]).session, SessionMode::Setsid);
    assert_eq!(
        run(&["--setsid", "-c", "x"]).session,
        SessionMode::SingleChild
    );
    let c = run_env(&["-c", "x"], &[("DUMB_INIT_SETSID", "1")]);
    assert_eq!(c.session, SessionMode::SingleChild);
}

pub static REMAP_EXIT: Flag = Flag {
    long: "remap-exit",
    short: Some('e'),
    arg: Arg::Value {
        meta: "CODE",
        repeat: true,
        parse: |low, v| {
            let code = v
                .parse::<u8>()
                .map_err(|_| "expected an exit code from 0 to 255")?;
            low.cfg.remap_exit.push(code);
            Ok(())
        },
    },
    group: Group::Signals,
    brief: "",
    help: "Exit 0 when the program exits with CODE (0-255). Repeatable.",
    default: Initial::Text("none"),
    aliases: &[],
};

#[test]
fn remap_exit() {
    let c = run(&["-e", "143", "-e", "1", "x"]);
    assert_eq!(c.remap_exit, vec![143, 1]);
    assert_eq!(c.remapped(143), 0);
    assert_eq!(c.remapped(2), 2);
    assert_eq!(c.remapped(137 + 256), 137 + 256);
    assert!(err(&["-e", "256", "x"]).contains("0 to 255"));
}

pub static SUBREAPER: Flag = Flag {
    long: "subreaper",
    short: Some('s'),
    arg: Arg::Switch(|low, on| low.cfg.subreaper = on),
    group: Group::Signals,
    brief: "",
    help: "Register as a child subreaper (automatic when not PID 1).",
    default: Initial::Text("automatic when not PID 1"),
    aliases: &[Alias {
        name: "TINI_SUBREAPER",
        // tini: set at all, to any value, means on.
        apply: |low, _| {
            low.cfg.subreaper = true;
            Ok(())
        },
    }],
};

#[test]
fn subreaper() {
    assert!(!run(&["x"]).subreaper);
    assert!(run(&["-s", "x"]).subreaper);
    assert!(run_env(&["x"], &[("TINI_SUBREAPER", "")]).subreaper);
    let c = run_env(
        &["x"],
        &[("TINI_SUBREAPER", ""), ("PIDGUARD_SUBREAPER", "false")],
    );
    assert!(!c.subreaper, "PIDGUARD_ wins over TINI_");
    let e = err_env(&["x"], &[("PIDGUARD_SUBREAPER", "maybe")]);
    assert!(e.starts_with("PIDGUARD_SUBREAPER=maybe:"), "{e}");
}

pub static PDEATH_SIGNAL: Flag = Flag {
    long: "pdeath-signal",
    short: Some('p'),
    arg: Arg::Value {
        meta: "SIGNAL",
        repeat: false,
        parse: |low, v| {
            low.cfg.pdeath_signal = Some(signals::parse(v).map_err(|e| e.to_string())?);
            Ok(())
        },
    },
    group: Group::Signals,
    brief: "",
    help: "Have pidguard itself receive SIGNAL when its parent dies.",
    default: Initial::Text("inherited"),
    aliases: &[],
};

#[test]
fn pdeath_signal() {
    assert_eq!(run(&["x"]).pdeath_signal, None);
    assert_eq!(run(&["-p", "SIGKILL", "x"]).pdeath_signal, Some(9));
    assert!(err(&["-p", "NOPE", "x"]).contains("NOPE"));
}

pub static WARN_ON_REAP: Flag = Flag {
    long: "warn-on-reap",
    short: Some('w'),
    arg: Arg::Switch(|low, on| low.cfg.warn_on_reap = on),
    group: Group::Signals,
    brief: "",
    help: "Log a warning for every reaped zombie that is not the program.",
    default: Initial::Text("off"),
    aliases: &[],
};

#[test]
fn warn_on_reap() {
    assert!(!run(&["x"]).warn_on_reap);
    let c = run(&["-s", "-g", "-w", "x"]);
    assert!(c.subreaper && c.kill_process_group && c.warn_on_reap);
}

// ---- Restarts ---------------------------------------------------------------------------------

pub static RESTART: Flag = Flag {
    long: "restart",
    short: None,
    arg: Arg::Value {
        meta: "POLICY",
        repeat: false,
        parse: |low, v| {
            low.cfg.restart.policy = choice(
                v,
                &[
                    ("no", RestartPolicy::No),
                    ("on-failure", RestartPolicy::OnFailure),
                    ("always", RestartPolicy::Always),
                ],
            )?;
            Ok(())
        },
    },
    group: Group::Restarts,
    brief: "no, on-failure or always",
    help: "no, on-failure (non-zero exit or death by a signal pidguard did not send) or always.",
    default: Initial::Value("no"),
    aliases: &[],
};

#[test]
fn restart() {
    assert_eq!(run(&["x"]).restart.policy, RestartPolicy::No);
    let c = run(&["--restart", "on-failure", "x"]);
    assert_eq!(c.restart.policy, RestartPolicy::OnFailure);
    let e = err(&["--restart", "sometimes", "x"]);
    assert!(e.starts_with("--restart \"sometimes\": use one of no, on-failure, always"));
}

pub static RESTART_DELAY: Flag = Flag {
    long: "restart-delay",
    short: None,
    arg: Arg::Value {
        meta: "DURATION",
        repeat: false,
        parse: |low, v| {
            low.cfg.restart.delay = duration(v)?;
            Ok(())
        },
    },
    group: Group::Restarts,
    brief: "",
    help: "First delay before a restart; doubled after each quick exit.",
    default: Initial::Value("500ms"),
    aliases: &[],
};

#[test]
fn restart_delay() {
    assert_eq!(run(&["x"]).restart.delay, Duration::from_millis(500));
    let c = run(&["--restart-delay", "1s", "x"]);
    assert_eq!(c.restart.delay, Duration::from_secs(1));
    let e = err(&["--restart-delay", "5s", "--restart-max-delay", "1s", "x"]);
    assert!(e.contains("shorter"), "{e}");
}

pub static RESTART_MAX_DELAY: Flag = Flag {
    long: "restart-max-delay",
    short: None,
    arg: Arg::Value {
        meta: "DURATION",
        repeat: false,
        parse: |low, v| {
            low.cfg.restart.max_delay = duration(v)?;
            Ok(())
        },
    },
    group: Group::Restarts,
    brief: "",
    help: "Largest delay between restarts.",
    default: Initial::Value("30s"),
    aliases: &[],
};

#[test]
fn restart_max_delay() {
    assert_eq!(run(&["x"]).restart.max_delay, Duration::from_secs(30));
    let c = run(&["--restart-max-delay", "4s", "x"]);
    assert_eq!(c.restart.max_delay, Duration::from_secs(4));
}

pub static RESTART_STABLE: Flag = Flag {
    long: "restart-stable",
    short: None,
    arg: Arg::Value {
        meta: "DURATION",
        repeat: false,
        parse: |low, v| {
            low.cfg.restart.stable = duration(v)?;
            Ok(())
        },
    },
    group: Group::Restarts,
    brief: "",
    help: "A program that stayed up this long resets the delay to --restart-delay.",
    default: Initial::Value("10s"),
    aliases: &[],
};

#[test]
fn restart_stable() {
    assert_eq!(run(&["x"]).restart.stable, Duration::from_secs(10));
    let c = run(&["--restart-stable", "2s", "x"]);
    assert_eq!(c.restart.stable, Duration::from_secs(2));
}

pub static RESTART_LIMIT: Flag = Flag {
    long: "restart-limit",
    short: None,
    arg: Arg::Value {
        meta: "N/WINDOW",
        repeat: false,
        parse: |low, v| {
            let (n, window) = v
                .split_once('/')
                .ok_or("expected N/WINDOW (write e.g. 5/60s)")?;
            low.cfg.restart.limit = n
                .parse()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or("N must be a number from 1 to 10000 (write e.g. 5/60s)")?;
            low.cfg.restart.window = positive_duration(window)?;
            Ok(())
        },
    },
    group: Group::Restarts,
    brief: "",
    help: "Give up, exiting with the program's last status, when it would be restarted more than \
           N times within WINDOW.",
    default: Initial::Value("5/60s"),
    aliases: &[],
};

#[test]
fn restart_limit() {
    let c = run(&["x"]);
    assert_eq!(
        (c.restart.limit, c.restart.window),
        (5, Duration::from_secs(60))
    );
    let c = run(&["--restart-limit", "3/10s", "x"]);
    assert_eq!(
        (c.restart.limit, c.restart.window),
        (3, Duration::from_secs(10))
    );
    assert!(err(&["--restart-limit", "5", "x"]).contains("N/WINDOW"));
    assert!(err(&["--restart-limit", "0/1s", "x"]).contains("from 1"));
    assert!(err(&["--restart-limit", "5/0", "x"]).contains("longer than 0"));
}

pub static ON_UNHEALTHY: Flag = Flag {
    long: "on-unhealthy",
    short: None,
    arg: Arg::Value {
        meta: "ACTION",
        repeat: false,
        parse: |low, v| {
            low.cfg.restart.on_unhealthy = choice(
                v,
                &[
                    ("ignore", OnUnhealthy::Ignore),
                    ("restart", OnUnhealthy::Restart),
                    ("exit", OnUnhealthy::Exit),
                ],
            )?;
            Ok(())
        },
    },
    group: Group::Restarts,
    brief: "ignore, restart or exit when unhealthy",
    help: "When the app check turns unhealthy: ignore, restart (graceful stop, then start again \
           under the restart limits) or exit (graceful stop, exit non-zero). Needs --health-check.",
    default: Initial::Value("ignore"),
    aliases: &[],
};

#[test]
fn on_unhealthy() {
    assert_eq!(run(&["x"]).restart.on_unhealthy, OnUnhealthy::Ignore);
    let c = run(&[
        "--health-check",
        "exec:/bin/true",
        "--on-unhealthy",
        "restart",
        "x",
    ]);
    assert_eq!(c.restart.on_unhealthy, OnUnhealthy::Restart);
    let e = err(&["--on-unhealthy", "restart", "x"]);
    assert!(e.starts_with("--on-unhealthy needs --health-check"), "{e}");
    let e = err(&[
        "--on-unhealthy",
        "panic",
        "--health-check",
        "exec:/bin/true",
        "x",
    ]);
    assert!(e.starts_with("--on-unhealthy \"panic\""), "{e}");
}

// ---- Health -----------------------------------------------------------------------------------

pub static HEALTH_CHECK: Flag = Flag {
    long: "health-check",
    short: None,
    arg: Arg::Value {
        meta: "TARGET",
        repeat: false,
        parse: |low, v| {
            let target = crate::health::target::parse_target(v).map_err(|e| e.to_string())?;
            low.cfg.health.check = Some(target);
            Ok(())
        },
    },
    group: Group::Health,
    brief: "app check: http://HOST:PORT/PATH, tcp://…",
    help: "App check run by PID 1: http://HOST:PORT/PATH, tcp://HOST:PORT or exec:/path,arg1,arg2 \
           (no shell; same user and hardening as the program). HOST is an IP address, localhost \
           or a name in /etc/hosts when pidguard starts (no DNS).",
    default: Initial::Text("none"),
    aliases: &[],
};

#[test]
fn health_check() {
    assert_eq!(run(&["x"]).health.check, None);
    assert!(
        run(&["--health-check", "http://127.0.0.1:8080/health", "x"])
            .health
            .check
            .is_some()
    );
    assert!(err(&["--health-check", "ftp://x", "x"]).starts_with("--health-check \"ftp://x\":"));
}

pub static HEALTH_INTERVAL: Flag = Flag {
    long: "health-interval",
    short: None,
    arg: Arg::Value {
        meta: "DURATION",
        repeat: false,
        parse: |low, v| {
            low.cfg.health.interval = positive_duration(v)?;
            Ok(())
        },
    },
    group: Group::Health,
    brief: "",
    help: "Time between app checks; the first runs one interval after start, as in Docker.",
    default: Initial::Value("30s"),
    aliases: &[],
};

#[test]
fn health_interval() {
    assert_eq!(run(&["x"]).health.interval, Duration::from_secs(30));
    let c = run(&["--health-interval", "2s", "x"]);
    assert_eq!(c.health.interval, Duration::from_secs(2));
    assert!(err(&["--health-interval", "0", "x"]).contains("longer than 0"));
}

pub static HEALTH_TIMEOUT: Flag = Flag {
    long: "health-timeout",
    short: None,
    arg: Arg::Value {
        meta: "DURATION",
        repeat: false,
        parse: |low, v| {
            low.cfg.health.timeout = positive_duration(v)?;
            Ok(())
        },
    },
    group: Group::Health,
    brief: "",
    help: "An app check that takes longer fails and is killed.",
    default: Initial::Value("30s"),
    aliases: &[],
};

#[test]
fn health_timeout() {
    assert_eq!(run(&["x"]).health.timeout, Duration::from_secs(30));
    let c = run(&["--health-timeout", "500ms", "x"]);
    assert_eq!(c.health.timeout, Duration::from_millis(500));
    assert!(err(&["--health-timeout", "0s", "x"]).contains("longer than 0"));
}

pub static HEALTH_RETRIES: Flag = Flag {
    long: "health-retries",
    short: None,
    arg: Arg::Value {
        meta: "N",
        repeat: false,
        parse: |low, v| {
            low.cfg.health.retries = v
                .parse()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or("expected a number from 1 to 1000")?;
            Ok(())
        },
    },
    group: Group::Health,
    brief: "",
    help: "Consecutive failures that make the program unhealthy.",
    default: Initial::Value("3"),
    aliases: &[],
};

#[test]
fn health_retries() {
    assert_eq!(run(&["x"]).health.retries, 3);
    assert_eq!(run(&["--health-retries", "1", "x"]).health.retries, 1);
    assert!(err(&["--health-retries", "0", "x"]).starts_with("--health-retries \"0\":"));
}

pub static HEALTH_START_PERIOD: Flag = Flag {
    long: "health-start-period",
    short: None,
    arg: Arg::Value {
        meta: "DURATION",
        repeat: false,
        parse: |low, v| {
            low.cfg.health.start_period = duration(v)?;
            Ok(())
        },
    },
    group: Group::Health,
    brief: "",
    help: "Failures in this time after start do not count; not ready before it ends unless a \
           check passes.",
    default: Initial::Value("0s"),
    aliases: &[],
};

#[test]
fn health_start_period() {
    assert_eq!(run(&["x"]).health.start_period, Duration::ZERO);
    let c = run(&["--health-start-period", "1m", "x"]);
    assert_eq!(c.health.start_period, Duration::from_secs(60));
}

pub static HEALTH_EXPECT: Flag = Flag {
    long: "health-expect",
    short: None,
    arg: Arg::Value {
        meta: "CODES",
        repeat: false,
        parse: |low, v| {
            crate::health::target::parse_expect(v).map_err(|e| e.to_string())?;
            low.cfg.health.expect = v.to_string();
            Ok(())
        },
    },
    group: Group::Health,
    brief: "",
    help: "HTTP statuses that count as healthy, e.g. 200,204,300-399.",
    default: Initial::Value("200-399"),
    aliases: &[],
};

#[test]
fn health_expect() {
    assert_eq!(run(&["x"]).health.expect, "200-399");
    assert_eq!(
        run(&["--health-expect", "200,204", "x"]).health.expect,
        "200,204"
    );
    assert!(err(&["--health-expect", "999-1", "x"]).starts_with("--health-expect"));
}

pub static HEALTH_LISTEN: Flag = Flag {
    long: "health-listen",
    short: None,
    arg: Arg::Value {
        meta: "ADDR:PORT",
        repeat: false,
        parse: |low, v| {
            let addr = crate::health::server::parse_listen_addr(v).map_err(|e| e.to_string())?;
            low.cfg.health.listen = Some(addr);
            Ok(())
        },
    },
    group: Group::Health,
    brief: "serve /healthz, /readyz over HTTP here",
    help: "Also serve /healthz, /readyz (and /metrics) over HTTP here, e.g. 0.0.0.0:8081 for \
           kubelet.",
    default: Initial::Text("off"),
    aliases: &[],
};

#[test]
fn health_listen() {
    assert_eq!(run(&["x"]).health.listen, None);
    let c = run(&["--health-listen", "0.0.0.0:8081", "x"]);
    assert_eq!(c.health.listen.unwrap().port(), 8081);
    assert!(err(&["--health-listen", "nowhere", "x"]).starts_with("--health-listen"));
}

pub static METRICS: Flag = Flag {
    long: "metrics",
    short: None,
    arg: Arg::Switch(|low, on| low.cfg.health.metrics = on),
    group: Group::Health,
    brief: "",
    help: "Serve Prometheus metrics at /metrics on the health endpoints.",
    default: Initial::Text("off"),
    aliases: &[],
};

#[test]
fn metrics() {
    assert!(!run(&["x"]).health.metrics);
    assert!(run(&["--metrics", "x"]).health.metrics);
}

// ---- Logs -------------------------------------------------------------------------------------

pub static LOG_LEVEL: Flag = Flag {
    long: "log-level",
    short: None,
    arg: Arg::Value {
        meta: "LEVEL",
        repeat: false,
        parse: |low, v| {
            let lower = v.to_ascii_lowercase();
            low.cfg.log_level = Level::ALL
                .into_iter()
                .find(|l| l.name() == lower)
                .ok_or("use off, error, warn, info, debug or trace")?;
            Ok(())
        },
    },
    group: Group::Logs,
    brief: "off, error, warn, info, debug or trace",
    help: "off, error, warn, info, debug or trace; -v raises it by one. TINI_VERBOSITY is tini's \
           0-5; DUMB_INIT_DEBUG=1 is debug.",
    default: Initial::Value("warn"),
    aliases: &[
        Alias {
            name: "TINI_VERBOSITY",
            apply: |low, v| {
                // tini: 0 silent, 1 fatal, 2 warn, 3 info, 4 debug, 5 trace.
                let n: usize = v
                    .parse()
                    .map_err(|_| "not a number: use 0-5, or PIDGUARD_LOG_LEVEL")?;
                low.cfg.log_level = Level::Off.raised(n);
                Ok(())
            },
        },
        Alias {
            name: "DUMB_INIT_DEBUG",
            // dumb-init: "1" turns debug output on; any other value changes nothing.
            apply: |low, v| {
                if v == "1" {
                    low.cfg.log_level = Level::Debug;
                }
                Ok(())
            },
        },
    ],
};

#[test]
fn log_level() {
    assert_eq!(run(&["x"]).log_level, Level::Warn);
    assert_eq!(run(&["--log-level", "DEBUG", "x"]).log_level, Level::Debug);
    assert_eq!(
        run_env(&["x"], &[("TINI_VERBOSITY", "3")]).log_level,
        Level::Info
    );
    let c = run_env(
        &["--log-level", "error", "x"],
        &[("TINI_VERBOSITY", "5"), ("PIDGUARD_LOG_LEVEL", "trace")],
    );
    assert_eq!(c.log_level, Level::Error, "the flag wins");
    assert!(err(&["--log-level", "loud", "x"]).contains("loud"));
    assert_eq!(
        run_env(&["x"], &[("DUMB_INIT_DEBUG", "1")]).log_level,
        Level::Debug
    );
    assert_eq!(
        run_env(&["x"], &[("DUMB_INIT_DEBUG", "0")]).log_level,
        Level::Warn
    );
    let c = run_env(&["x"], &[("DUMB_INIT_DEBUG", "1"), ("TINI_VERBOSITY", "1")]);
    assert_eq!(
        c.log_level,
        Level::Error,
        "TINI_VERBOSITY is listed first, so it wins"
    );
}

pub static LOG_FORMAT: Flag = Flag {
    long: "log-format",
    short: None,
    arg: Arg::Value {
        meta: "FORMAT",
        repeat: false,
        parse: |low, v| {
            low.cfg.log_format =
                choice(v, &[("text", LogFormat::Text), ("json", LogFormat::Json)])?;
            Ok(())
        },
    },
    group: Group::Logs,
    brief: "",
    help: "text or json (one object per line), for pidguard's own lines and its usage errors.",
    default: Initial::Value("text"),
    aliases: &[],
};

#[test]
fn log_format() {
    assert_eq!(run(&["x"]).log_format, LogFormat::Text);
    assert_eq!(
        run(&["--log-format", "json", "x"]).log_format,
        LogFormat::Json
    );
    assert!(err(&["--log-format", "xml", "x"]).contains("xml"));
}

pub static VERBOSE: Flag = Flag {
    long: "verbose",
    short: Some('v'),
    arg: Arg::Count(|low| low.verbose += 1),
    group: Group::Logs,
    brief: "log more; repeat for more (-vv: debug)",
    help: "Log more; repeat for more (-vv debug, -vvv trace).",
    default: Initial::None,
    aliases: &[],
};

#[test]
fn verbose() {
    assert_eq!(run(&["-vv", "x"]).log_level, Level::Debug);
    assert_eq!(
        run(&["-v", "--log-level", "error", "x"]).log_level,
        Level::Warn
    );
    assert_eq!(
        run(&["-v", "-v", "-v", "-v", "-v", "x"]).log_level,
        Level::Trace
    );
}

// ---- Info -------------------------------------------------------------------------------------

pub static HELP: Flag = Flag {
    long: "help",
    short: Some('h'),
    arg: Arg::Action(Action::Help),
    group: Group::Info,
    brief: "",
    help: "Print the short help (this screen's worth) and exit.",
    default: Initial::None,
    aliases: &[],
};

pub static HELP_ALL: Flag = Flag {
    long: "help-all",
    short: None,
    arg: Arg::Action(Action::HelpAll),
    group: Group::Info,
    brief: "",
    help: "Print every option, its variables and default, and exit.",
    default: Initial::None,
    aliases: &[],
};

pub static VERSION: Flag = Flag {
    long: "version",
    short: Some('V'),
    arg: Arg::Action(Action::Version),
    group: Group::Info,
    brief: "",
    help: "Print the version and exit.",
    default: Initial::None,
    aliases: &[],
};

pub static LICENSE: Flag = Flag {
    long: "license",
    short: Some('l'),
    arg: Arg::Action(Action::License),
    group: Group::Info,
    brief: "",
    help: "Print the license and exit.",
    default: Initial::None,
    aliases: &[],
};
