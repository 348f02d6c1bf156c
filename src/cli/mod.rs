//! The command line: `pidguard [OPTIONS] [--] PROGRAM [ARGS...]`, the subcommands, and the
//! `PIDGUARD_*` variables that set the same options.
//!
//! One table drives all of it. [`FLAGS`] (in `flags.rs`) holds one [`Flag`] item per option: its
//! names, its group and help texts, its default as users see it, the other programs' variables it
//! also reads, and the function that parses its value into a typed field. Parsing, the environment,
//! "did you mean", `--help`, `--help-all` and the README check (tests/readme.rs) all read that table,
//! so they cannot drift apart, and a misspelled field does not compile.
//!
//! Parsing happens in two steps, as in ripgrep (`crates/core/flags`): the low-level step runs each
//! option's parse function, which judges that one value and writes it, typed, into [`Low`] (the
//! [`RunConfig`] being built); the high-level step (`finish`) checks what involves several options
//! (`--on-unhealthy` needs `--health-check`) and that the health check's host resolves. Both are pure
//! except for /etc/hosts, which the caller passes in as a function, so tests and the fuzzer drive them.
//!
//! Order: the command line is read first, up to the first non-option (so `pidguard ls -l /` runs
//! `ls -l /`); then every option not given as a flag is read from `PIDGUARD_<OPTION>`, or else from
//! its aliases (`TINI_*`, `DUMB_INIT_*`); then the flags are applied, so flags win over the
//! environment and a repeatable flag replaces the variable's list. An unknown `PIDGUARD_*` variable is
//! an error with a suggestion, as an unknown flag is: a typo in an `ENV` line must not pass silently.
//! Errors name where the value came from: `--grace "5": ...` or `PIDGUARD_GRACE=5: ...`.
//!
//! ## Adding an option
//! 1. Add its typed field to [`RunConfig`] (or one of its parts) and the default to `RunConfig::new`.
//! 2. In `flags.rs`, write one `pub static NAME: Flag = Flag { .. }` item, whose parse function writes
//!    that field, with a `#[test]` right after it; list `&NAME` in `FLAGS` where `--help-all` should
//!    show it (an item left out of the list is dead code, which clippy refuses).
//! 3. Give it a `brief` only if it belongs on the one-screen `--help` (a unit test holds that screen to
//!    24 lines of 80 columns), and add its row to the README's "Every option" table: tests/readme.rs
//!    fails until the row is there, with its variables and the same default.
//!
//! Nothing else: the variable `PIDGUARD_<OPTION>`, both help texts, the suggestions for typos and the
//! README check follow from the item. A check that involves two options goes in `finish`.

pub mod flags;

use std::ffi::OsString;
use std::fmt;
use std::time::Duration;

use crate::health::{hosts, target::Target};
use crate::limits;
use crate::log::{Level, LogFormat};
use crate::passwd::{GroupsSpec, UserSpec};

pub use flags::FLAGS;

/// Exit code for pidguard's own errors before the program starts (same convention as `docker run`).
pub use crate::error::EXIT_USAGE;

pub const DEFAULT_GRACE: Duration = Duration::from_secs(8);

/// `--setup-cap`'s default: what `chown -R app /data` needs, and writing into and fixing modes of
/// files owned by others.
pub const DEFAULT_SETUP_CAPS: [caps::Capability; 3] = [
    caps::Capability::CAP_CHOWN,
    caps::Capability::CAP_DAC_OVERRIDE,
    caps::Capability::CAP_FOWNER,
];

/// Variables with the `PIDGUARD_` prefix that are not options, never refused: the status socket's
/// name (read by `health`), and the build's own (build.rs), which cargo also puts in the environment
/// of everything it runs, so `cargo test` and `cargo run` pass them to pidguard.
pub const OTHER_VARIABLES: &[&str] = &[
    crate::health::STATUS_SOCKET_ENV,
    "PIDGUARD_VERSION_LINE",
    "PIDGUARD_COMMIT",
];

/// One option: everything parsing, the environment and the documentation know about it.
pub struct Flag {
    pub long: &'static str,
    pub short: Option<char>,
    pub arg: Arg,
    pub group: Group,
    /// One line for the short `--help`; empty when the option is listed only in `--help-all`.
    pub brief: &'static str,
    /// The full description for `--help-all`.
    pub help: &'static str,
    /// What applies without the option, as the README's Default column writes it.
    pub default: Initial,
    /// Other programs' variables that set this option too (tini's, dumb-init's), strongest first.
    /// `PIDGUARD_<OPTION>` beats all of them; they are read only when it is not set.
    pub aliases: &'static [Alias],
}

/// What an option takes, and the function that writes it into [`Low`].
pub enum Arg {
    /// `--x` means `true`; `PIDGUARD_X` takes true/false (1/0, yes/no, on/off).
    Switch(fn(&mut Low, bool)),
    /// `--x VALUE`. `repeat`: every occurrence adds, and the variable takes a comma-separated list.
    /// `parse` returns why a value is refused, without naming the option (the caller does).
    Value {
        meta: &'static str,
        repeat: bool,
        parse: fn(&mut Low, &str) -> Result<(), String>,
    },
    /// `-v`: each occurrence counts; no variable.
    Count(fn(&mut Low)),
    /// Prints something and exits 0; no variable.
    Action(Action),
}

/// What an action option prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Help,
    HelpAll,
    Version,
    License,
}

impl Action {
    fn command(self) -> Command {
        match self {
            Action::Help => Command::Help,
            Action::HelpAll => Command::HelpAll,
            Action::Version => Command::Version,
            Action::License => Command::License,
        }
    }
}

/// An option's default as users see it.
pub enum Initial {
    /// Written as a value of the option itself (`8s`): a unit test checks that giving it explicitly
    /// changes nothing, so the documented default is the real one.
    Value(&'static str),
    /// Described in words (`the current user`, `off`).
    Text(&'static str),
    /// Counters and actions have none.
    None,
}

/// Another program's variable for the same option (tini's `TINI_VERBOSITY`, dumb-init's
/// `DUMB_INIT_SETSID`), with that program's own meaning of the value.
pub struct Alias {
    pub name: &'static str,
    pub apply: fn(&mut Low, &str) -> Result<(), String>,
}

/// The task an option belongs to: the sections of `--help` and `--help-all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    User,
    Hardening,
    Signals,
    Restarts,
    Health,
    Logs,
    Info,
}

impl Group {
    pub const ALL: [Group; 7] = [
        Group::User,
        Group::Hardening,
        Group::Signals,
        Group::Restarts,
        Group::Health,
        Group::Logs,
        Group::Info,
    ];

    /// The section title in `--help-all`; its first word labels the group in `--help`.
    pub fn title(self) -> &'static str {
        match self {
            Group::User => "User: who the program (and PID 1) runs as",
            Group::Hardening => "Hardening: limits, the syscall filter, Landlock",
            Group::Signals => "Signals: forwarding, stopping, exit status",
            Group::Restarts => "Restarts: supervision of the program",
            Group::Health => "Health: app checks and the health endpoints",
            Group::Logs => "Logs: stderr only",
            Group::Info => "Info: print and exit 0",
        }
    }

    fn label(self) -> &'static str {
        self.title().split(':').next().unwrap_or("")
    }
}

impl Flag {
    /// `PIDGUARD_<LONG>`, for options that can be set from the environment.
    pub fn env(&self) -> Option<String> {
        match self.arg {
            Arg::Switch(_) | Arg::Value { .. } => Some(env_name(self.long)),
            Arg::Count(_) | Arg::Action(_) => None,
        }
    }

    fn takes_value(&self) -> bool {
        matches!(self.arg, Arg::Value { .. })
    }

    /// `-u, --user USER[:GROUP]`, as help and the README write it.
    pub fn usage(&self) -> String {
        let short = self.short.map(|c| format!("-{c}, ")).unwrap_or_default();
        match self.arg {
            Arg::Value { meta, .. } => format!("{short}--{} {meta}", self.long),
            _ => format!("{short}--{}", self.long),
        }
    }

    /// Where `default` is shown: the value itself or the words.
    pub fn default_text(&self) -> Option<&'static str> {
        match self.default {
            Initial::Value(v) | Initial::Text(v) => Some(v),
            Initial::None => None,
        }
    }
}

pub fn env_name(long: &str) -> String {
    format!("PIDGUARD_{}", long.to_ascii_uppercase().replace('-', "_"))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunConfig {
    /// PROGRAM and its arguments, never empty.
    pub argv: Vec<OsString>,
    pub grace: Duration,
    /// `--grace`/`PIDGUARD_GRACE` was given: in dumb-init's modes it asks for pidguard's graceful
    /// stop, which dumb-init does not have (see init/state.rs).
    pub grace_given: bool,
    /// Signal rewrites: (from, to); `to == 0` drops the signal. Later entries win.
    pub rewrite: Vec<(i32, i32)>,
    pub kill_process_group: bool,
    pub remap_exit: Vec<u8>,
    pub subreaper: bool,
    pub pdeath_signal: Option<i32>,
    pub warn_on_reap: bool,
    pub log_level: Level,
    pub log_format: LogFormat,
    /// `--user`; `None` keeps the identity pidguard was started with.
    pub user: Option<UserSpec>,
    /// `--groups`; `None` means "as /etc/group says" with --user, or the current groups without.
    pub groups: Option<GroupsSpec>,
    pub allow_root: bool,
    pub cap_add: Vec<caps::Capability>,
    /// `--setup`: commands (program and arguments) run in order, as the starting identity, before
    /// anything is dropped.
    pub setup: Vec<Vec<String>>,
    /// `--setup-cap`: the capabilities each set-up step keeps.
    pub setup_caps: Vec<caps::Capability>,
    pub allow_new_privs: bool,
    /// The limits to apply, defaults (core=0) merged with `--rlimit`.
    pub rlimits: Vec<limits::RlimitSpec>,
    pub umask: Option<u32>,
    pub health: HealthConfig,
    pub seccomp: Seccomp,
    /// `--seccomp-record`: where the recorded profile goes.
    pub seccomp_record: Option<RecordTo>,
    /// `--read-only`, `--writable`, `--allow-bind`, `--allow-connect`, `--landlock`.
    pub landlock: crate::landlock::Request,
    pub restart: RestartConfig,
    /// Where the program runs among sessions and process groups, and who gets forwarded signals.
    pub session: SessionMode,
}

/// Where the program runs among sessions and process groups, and who gets forwarded signals: tini's
/// way or one of dumb-init's, so that replacing either init with pidguard changes nothing. Selected by
/// `--setsid`, `-c/--single-child`, `DUMB_INIT_SETSID`, or by being started under the name
/// `dumb-init`. This is the choice only; PID 1's loop and spawn carry it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionMode {
    /// tini's way and pidguard's default: the program gets a process group of its own in PID 1's
    /// session (the terminal's foreground group, if there is a terminal); signals go to the program
    /// alone, or to its process group with `-g`.
    Tini,
    /// dumb-init's default (its `use_setsid`): the program starts a new session (`setsid`), with
    /// stdin's terminal, if any, as its controlling terminal; signals go to its whole process group,
    /// and dumb-init turns TSTP/TTIN/TTOU into STOP unless `-r` rewrites them otherwise. (Those
    /// default rewrites are not in `RunConfig::rewrite`: applying them is the loop's part.)
    Setsid,
    /// dumb-init's `-c` / `DUMB_INIT_SETSID=0`: the program stays in pidguard's process group and
    /// session; signals go to the program alone.
    SingleChild,
}

/// Where `--seccomp-record` puts the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordTo {
    File(std::path::PathBuf),
    /// `-`: nowhere; `pidguard seccomp recorded` fetches it over the status socket.
    StatusSocket,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    No,
    OnFailure,
    Always,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnUnhealthy {
    Ignore,
    Restart,
    Exit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartConfig {
    pub policy: RestartPolicy,
    pub delay: Duration,
    pub max_delay: Duration,
    pub stable: Duration,
    pub limit: u32,
    pub window: Duration,
    pub on_unhealthy: OnUnhealthy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seccomp {
    Default,
    Unconfined,
    File(std::path::PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    pub check: Option<Target>,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: u32,
    pub start_period: Duration,
    pub expect: String,
    pub listen: Option<std::net::SocketAddr>,
    pub metrics: bool,
}

impl RunConfig {
    /// Every default, for a program not yet known. `dumb_init`: started under that name.
    fn new(dumb_init: bool) -> RunConfig {
        RunConfig {
            argv: Vec::new(),
            grace: DEFAULT_GRACE,
            grace_given: false,
            rewrite: Vec::new(),
            kill_process_group: false,
            remap_exit: Vec::new(),
            subreaper: false,
            pdeath_signal: None,
            warn_on_reap: false,
            log_level: Level::Warn,
            log_format: LogFormat::Text,
            user: None,
            groups: None,
            allow_root: false,
            cap_add: Vec::new(),
            setup: Vec::new(),
            setup_caps: DEFAULT_SETUP_CAPS.to_vec(),
            allow_new_privs: false,
            rlimits: Vec::new(),
            umask: None,
            health: HealthConfig {
                check: None,
                interval: Duration::from_secs(30),
                timeout: Duration::from_secs(30),
                retries: 3,
                start_period: Duration::ZERO,
                expect: "200-399".into(),
                listen: None,
                metrics: false,
            },
            seccomp: Seccomp::Default,
            seccomp_record: None,
            landlock: crate::landlock::Request::default(),
            restart: RestartConfig {
                policy: RestartPolicy::No,
                delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(30),
                stable: Duration::from_secs(10),
                limit: 5,
                window: Duration::from_secs(60),
                on_unhealthy: OnUnhealthy::Ignore,
            },
            session: if dumb_init {
                SessionMode::Setsid
            } else {
                SessionMode::Tini
            },
        }
    }

    /// What to send to the program when pidguard receives `sig`; `None` drops it.
    pub fn rewritten(&self, sig: i32) -> Option<i32> {
        match self.rewrite.iter().rev().find(|(from, _)| *from == sig) {
            Some(&(_, 0)) => None,
            Some(&(_, to)) => Some(to),
            None => Some(sig),
        }
    }

    /// pidguard's exit code for a program exit code, after `--remap-exit`.
    pub fn remapped(&self, code: i32) -> i32 {
        if u8::try_from(code).is_ok_and(|c| self.remap_exit.contains(&c)) {
            0
        } else {
            code
        }
    }
}

/// The low-level result: what each option wrote, before the checks that involve several options.
pub struct Low {
    cfg: RunConfig,
    /// Started under the name `dumb-init`: its session mode is the default to return to.
    dumb_init: bool,
    /// `-v` count, added to the log level once every option is read.
    verbose: usize,
    /// `--rlimit` values, merged over the defaults at the end.
    rlimits: Vec<limits::RlimitSpec>,
    /// Where each option of [`FLAGS`] was set from (`--grace` or `PIDGUARD_GRACE`), by index.
    origin: Vec<Option<String>>,
}

impl Low {
    fn new(dumb_init: bool) -> Low {
        Low {
            cfg: RunConfig::new(dumb_init),
            dumb_init,
            verbose: 0,
            rlimits: Vec::new(),
            origin: vec![None; FLAGS.len()],
        }
    }

    /// How an error involving `flag` names it: as the user set it.
    fn origin(&self, flag: &Flag) -> String {
        FLAGS
            .iter()
            .position(|f| f.long == flag.long)
            .and_then(|i| self.origin[i].clone())
            .unwrap_or_else(|| format!("--{}", flag.long))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run(Box<RunConfig>),
    /// `pidguard probe ...`: the arguments after `probe`.
    Probe(Vec<OsString>),
    /// `pidguard status ...`
    Status(Vec<OsString>),
    /// `pidguard seccomp ...`
    Seccomp(Vec<OsString>),
    /// `pidguard audit ...`
    Audit(Vec<OsString>),
    /// The one-screen `--help`.
    Help,
    /// `--help-all`: every option.
    HelpAll,
    Version,
    License,
}

/// A usage error: one line, and the log format it is to be printed in (`--log-format json` and
/// `PIDGUARD_LOG_FORMAT=json` apply to usage errors too, so a log shipper sees them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub msg: String,
    pub format: LogFormat,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

/// The environment pidguard reads options from: `(name, value)` pairs, in any order.
pub type Env = [(OsString, OsString)];

/// Parses the whole command line (`args[0]` is the name pidguard was started under).
///
/// `hosts_file` gives the text of /etc/hosts; it is called only when a health check names a host.
pub fn parse(
    args: Vec<OsString>,
    env: &Env,
    hosts_file: &dyn Fn() -> Result<Vec<u8>, String>,
) -> Result<Command, Error> {
    let mut args = args.into_iter();
    let self_name = args.next().unwrap_or_default();
    let rest: Vec<OsString> = args.collect();
    let format = usage_log_format(&rest, env);
    parse_inner(&self_name, rest, env, hosts_file).map_err(|msg| Error { msg, format })
}

/// Started under the name `dumb-init` (a symlink, or `COPY ... /usr/bin/dumb-init`, as busybox is):
/// dumb-init's default mode, so that an image switched to pidguard keeps its behaviour.
pub fn invoked_as_dumb_init(self_name: &OsString) -> bool {
    std::path::Path::new(self_name)
        .file_name()
        .is_some_and(|n| n == "dumb-init")
}

fn parse_inner(
    self_name: &OsString,
    rest: Vec<OsString>,
    env: &Env,
    hosts_file: &dyn Fn() -> Result<Vec<u8>, String>,
) -> Result<Command, String> {
    match rest.first().and_then(|a| a.to_str()) {
        Some("probe") => return Ok(Command::Probe(rest[1..].to_vec())),
        Some("status") => return Ok(Command::Status(rest[1..].to_vec())),
        Some("seccomp") => return Ok(Command::Seccomp(rest[1..].to_vec())),
        Some("audit") => return Ok(Command::Audit(rest[1..].to_vec())),
        Some("help") => return help_topic(&rest[1..]),
        _ => {}
    }

    // Pass 1: the command line, as (option index, value) pairs; actions end parsing here.
    let mut given: Vec<(usize, Option<String>)> = Vec::new();
    let mut argv: Vec<OsString> = Vec::new();
    let mut parser = lexopt::Parser::from_args(rest);
    let lexopt_err = |e: lexopt::Error| format!("{e} (see pidguard --help)");
    while let Some(arg) = parser.next().map_err(lexopt_err)? {
        use lexopt::Arg::*;
        let i = match arg {
            Value(program) => {
                argv.push(program);
                argv.extend(parser.raw_args().map_err(lexopt_err)?);
                break;
            }
            Short(c) => FLAGS
                .iter()
                .position(|f| f.short == Some(c))
                .ok_or_else(|| unknown_flag(&format!("-{c}")))?,
            Long(name) => FLAGS
                .iter()
                .position(|f| f.long == name)
                .ok_or_else(|| unknown_flag(&format!("--{name}")))?,
        };
        let flag = FLAGS[i];
        let value =
            match flag.arg {
                Arg::Action(action) => return Ok(action.command()),
                Arg::Value { .. } => {
                    let v = parser.value().map_err(lexopt_err)?;
                    Some(v.into_string().map_err(|v| {
                        format!("--{} {v:?}: the value is not valid UTF-8", flag.long)
                    })?)
                }
                Arg::Switch(_) | Arg::Count(_) => None,
            };
        given.push((i, value));
    }

    // Pass 2: the environment, for every option the command line did not give.
    let mut low = Low::new(invoked_as_dumb_init(self_name));
    refuse_unknown_variables(env)?;
    for (i, flag) in FLAGS.iter().enumerate() {
        if given.iter().any(|&(j, _)| j == i) {
            continue;
        }
        read_env(&mut low, i, flag, env)?;
    }

    // Pass 3: the flags, in order; they overwrite what the environment set.
    for (i, value) in given {
        let flag = FLAGS[i];
        low.origin[i] = Some(format!("--{}", flag.long));
        let shown = || {
            format!(
                "--{} {:?}",
                flag.long,
                shorten(value.as_deref().unwrap_or(""))
            )
        };
        match flag.arg {
            Arg::Switch(set) => set(&mut low, true),
            Arg::Count(count) => count(&mut low),
            Arg::Value { parse, .. } => {
                parse(&mut low, value.as_deref().unwrap_or(""))
                    .map_err(|why| format!("{}: {why}", shown()))?;
            }
            Arg::Action(_) => unreachable!("actions return in pass 1"),
        }
    }

    if argv.is_empty() {
        return Err(
            "no program given: write pidguard [OPTIONS] [--] PROGRAM [ARGS...] (see pidguard --help)"
                .into(),
        );
    }
    low.cfg.argv = argv;
    finish(low, hosts_file).map(|c| Command::Run(Box::new(c)))
}

/// `pidguard help [TOPIC]`.
fn help_topic(topic: &[OsString]) -> Result<Command, String> {
    let topic = topic.first().map(|t| t.to_string_lossy().into_owned());
    match topic.as_deref() {
        None => Ok(Command::Help),
        Some("all" | "options") => Ok(Command::HelpAll),
        Some("probe") => Ok(Command::Probe(vec!["--help".into()])),
        Some("status") => Ok(Command::Status(vec!["--help".into()])),
        Some("seccomp") => Ok(Command::Seccomp(vec!["--help".into()])),
        Some("audit") => Ok(Command::Audit(vec!["--help".into()])),
        Some(t) => Err(format!(
            "help: no topic {t:?}: use pidguard help [all|probe|status|seccomp|audit] (to run a program named help, write pidguard -- help)"
        )),
    }
}

fn unknown_flag(flag: &str) -> String {
    let longs = FLAGS.iter().map(|f| f.long);
    let hint = match flag
        .strip_prefix("--")
        .and_then(|name| suggest(name, longs))
    {
        Some(near) => format!("did you mean --{near}? "),
        None => String::new(),
    };
    format!(
        "unknown option {flag}: {hint}put -- before the program if the option is the program's, or see pidguard --help-all"
    )
}

/// Every `PIDGUARD_*` variable must mean something: a typo in an `ENV` line is refused, not ignored.
fn refuse_unknown_variables(env: &Env) -> Result<(), String> {
    let names: Vec<String> = FLAGS.iter().filter_map(|f| f.env()).collect();
    for (name, _) in env {
        let name = name.to_string_lossy();
        if !name.starts_with("PIDGUARD_")
            || names.iter().any(|n| *n == name)
            || OTHER_VARIABLES.contains(&&*name)
            || is_service_link(&name)
        {
            continue;
        }
        let known = names
            .iter()
            .map(String::as_str)
            .chain(OTHER_VARIABLES.iter().copied());
        let hint = match suggest(&name, known) {
            Some(near) => format!("did you mean {near}? "),
            None => String::new(),
        };
        return Err(format!(
            "unknown variable {name}: {hint}every PIDGUARD_* variable is an option: rename or unset it (see pidguard --help-all)"
        ));
    }
    Ok(())
}

/// Kubernetes gives every pod variables for each Service of its namespace (`enableServiceLinks`, on
/// by default), as Docker's legacy links did: a Service named `pidguard` or `pidguard-demo` yields
/// `PIDGUARD_SERVICE_HOST`, `PIDGUARD_DEMO_PORT_8081_TCP_ADDR` and the like. Those are not typos and
/// must not stop a container; no option's variable has these shapes.
fn is_service_link(name: &str) -> bool {
    name.contains("_SERVICE_HOST")
        || name.contains("_SERVICE_PORT")
        || name.ends_with("_PORT")
        || name.contains("_PORT_")
}

fn lookup<'a>(env: &'a Env, name: &str) -> Option<&'a OsString> {
    env.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// Sets option `i` from `PIDGUARD_<OPTION>`, or, when that is not set, from its aliases.
fn read_env(low: &mut Low, i: usize, flag: &Flag, env: &Env) -> Result<(), String> {
    let text = |name: &str, v: &OsString| -> Result<String, String> {
        v.clone()
            .into_string()
            .map_err(|v| format!("{name}={v:?}: the value is not valid UTF-8"))
    };
    let Some(name) = flag.env() else {
        return Ok(());
    };
    let Some(value) = lookup(env, &name) else {
        // Weakest alias first, so that the strongest has the last word.
        for alias in flag.aliases.iter().rev() {
            if let Some(v) = lookup(env, alias.name) {
                let v = text(alias.name, v)?;
                (alias.apply)(low, &v)
                    .map_err(|why| format!("{}={}: {why}", alias.name, shorten(&v)))?;
                low.origin[i] = Some(alias.name.to_string());
            }
        }
        return Ok(());
    };
    let value = text(&name, value)?;
    let bad = |why: String| format!("{name}={}: {why}", shorten(&value));
    match flag.arg {
        Arg::Switch(set) => set(low, parse_bool(&value).map_err(bad)?),
        Arg::Value {
            repeat: true,
            parse,
            ..
        } => {
            for part in value.split(',').filter(|p| !p.is_empty()) {
                parse(low, part).map_err(bad)?;
            }
        }
        Arg::Value { parse, .. } => parse(low, &value).map_err(bad)?,
        Arg::Count(_) | Arg::Action(_) => {}
    }
    low.origin[i] = Some(name);
    Ok(())
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err("not a boolean: use true or false".into()),
    }
}

/// Keeps error lines one screen wide even when a value was a pasted megabyte.
fn shorten(text: &str) -> &str {
    match text.char_indices().nth(100) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// The high-level step: defaults merged, and the checks that involve several options.
fn finish(low: Low, hosts_file: &dyn Fn() -> Result<Vec<u8>, String>) -> Result<RunConfig, String> {
    use flags::{
        ALLOW_NEW_PRIVS, GRACE, HEALTH_CHECK, ON_UNHEALTHY, RESTART_DELAY, RESTART_MAX_DELAY,
    };
    let mut cfg = low.cfg.clone();
    cfg.grace_given = FLAGS
        .iter()
        .position(|f| f.long == GRACE.long)
        .is_some_and(|i| low.origin[i].is_some());
    cfg.log_level = cfg.log_level.raised(low.verbose);
    cfg.rlimits = limits::merge_rlimits(limits::DEFAULT_RLIMITS, &low.rlimits);
    if cfg.restart.on_unhealthy != OnUnhealthy::Ignore && cfg.health.check.is_none() {
        return Err(format!(
            "{} needs --health-check: without an app check the program never turns unhealthy",
            low.origin(&ON_UNHEALTHY)
        ));
    }
    if cfg.restart.max_delay < cfg.restart.delay {
        return Err(format!(
            "{} {} is shorter than {} {}",
            low.origin(&RESTART_MAX_DELAY),
            crate::duration::format(cfg.restart.max_delay),
            low.origin(&RESTART_DELAY),
            crate::duration::format(cfg.restart.delay)
        ));
    }
    if cfg.allow_new_privs && cfg.seccomp != Seccomp::Unconfined {
        return Err(format!(
            "{} needs --seccomp unconfined: without no_new_privs only CAP_SYS_ADMIN may install a \
             seccomp filter, and the program never gets it",
            low.origin(&ALLOW_NEW_PRIVS)
        ));
    }
    if cfg.seccomp_record.is_some() && cfg.seccomp == Seccomp::Unconfined {
        return Err(format!(
            "{} needs a filter to record against: drop --seccomp unconfined",
            low.origin(&flags::SECCOMP_RECORD)
        ));
    }
    check_landlock(&cfg, &low)?;
    if let Some(Target::Http { host, .. } | Target::Tcp { host, .. }) = &cfg.health.check {
        check_host(host, hosts_file).map_err(|why| {
            format!(
                "{} {}: {why}",
                low.origin(&HEALTH_CHECK),
                cfg.health
                    .check
                    .as_ref()
                    .map(|t| t.to_string())
                    .unwrap_or_default()
            )
        })?;
    }
    Ok(cfg)
}

/// What involves a Landlock option and another one (landlock.rs).
fn check_landlock(cfg: &RunConfig, low: &Low) -> Result<(), String> {
    use flags::{ALLOW_CONNECT, LANDLOCK, WRITABLE};
    let req = &cfg.landlock;
    if !req.writable.is_empty() && !req.read_only {
        return Err(format!(
            "{} only means something with --read-only: add --read-only",
            low.origin(&WRITABLE)
        ));
    }
    if req.wants_rules() && req.mode == crate::landlock::Mode::Off {
        return Err(format!(
            "{} off cannot be combined with --read-only, --allow-bind or --allow-connect: drop one",
            low.origin(&LANDLOCK)
        ));
    }
    if req.wants_rules() && cfg.allow_new_privs {
        return Err(format!(
            "--read-only, --allow-bind and --allow-connect need no_new_privs (Landlock): drop {}",
            low.origin(&flags::ALLOW_NEW_PRIVS)
        ));
    }
    // PID 1 runs the app check under the same rules: a port it may not connect to would turn the
    // program unhealthy for a reason no log line of the program shows.
    if let Some(Target::Http { port, .. } | Target::Tcp { port, .. }) = &cfg.health.check
        && !req.allow_connect.is_empty()
        && !req.allow_connect.contains(port)
    {
        return Err(format!(
            "--health-check connects to port {port}, which {} does not list: add {port}",
            low.origin(&ALLOW_CONNECT)
        ));
    }
    Ok(())
}

/// The health check's host must resolve now, at start, the way every check will resolve it: an IP
/// address, `localhost`, or a name in /etc/hosts (pidguard does no DNS, see `health::hosts`).
/// Refused at start, because a check that can never resolve is a red container at run time with the
/// reason hidden in `docker inspect`. The address is not kept: every check reads /etc/hosts again, so
/// an entry that Docker or Kubernetes rewrites later is followed.
fn check_host(host: &str, hosts_file: &dyn Fn() -> Result<Vec<u8>, String>) -> Result<(), String> {
    if hosts::resolve(host, b"").is_some() || hosts::resolve(host, &hosts_file()?).is_some() {
        return Ok(());
    }
    Err(format!(
        "cannot resolve {host:?}: it is not an IP address, localhost or a name in /etc/hosts, and \
         pidguard does no DNS: use the address (e.g. 127.0.0.1 for the app itself) or add the name \
         to /etc/hosts (docker run --add-host {host}:IP)"
    ))
}

/// The format a usage error is printed in, found without parsing: the last `--log-format` before the
/// program, else `PIDGUARD_LOG_FORMAT`. Best effort, because the error may be in the very arguments.
fn usage_log_format(rest: &[OsString], env: &Env) -> LogFormat {
    let mut found: Option<String> = None;
    let mut args = rest.iter().map(|a| a.to_str().unwrap_or(""));
    while let Some(a) = args.next() {
        if a == "--" || !a.starts_with('-') || a == "-" {
            break;
        }
        if let Some(v) = a.strip_prefix("--log-format=") {
            found = Some(v.to_string());
        } else if a == "--log-format" {
            found = args.next().map(str::to_string);
        } else if let Some(name) = a.strip_prefix("--") {
            if !name.contains('=') && FLAGS.iter().any(|f| f.takes_value() && f.long == name) {
                args.next();
            }
        } else if a.len() == 2 {
            let c = a.chars().nth(1);
            if FLAGS.iter().any(|f| f.takes_value() && f.short == c) {
                args.next();
            }
        }
    }
    let from_env = || {
        lookup(env, &env_name(flags::LOG_FORMAT.long)).and_then(|v| v.to_str().map(str::to_string))
    };
    match found.or_else(from_env).as_deref() {
        Some("json") => LogFormat::Json,
        _ => LogFormat::Text,
    }
}

/// The candidate closest to `word` by edit distance (adjacent swaps count one), if close enough
/// to be a typo of it: at most one edit per three characters, and at most three.
pub fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .map(|c| {
            (
                distance(&word.to_ascii_lowercase(), &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // Names are short; bound the work for a pasted megabyte anyway.
    if a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

const HELP_HEAD: &str = "\
pidguard: a hardening PID 1 for containers
Usage: pidguard [OPTIONS] [--] PROGRAM [ARGS...]
       pidguard probe|status|seccomp|audit [OPTIONS]      pidguard help [TOPIC]
";

/// The one-screen `--help` (at most 24 lines of 80 columns): the options with a `brief`, by task.
pub fn help() -> String {
    let mut out = format!("{HELP_HEAD}\n");
    for group in Group::ALL {
        let mut label = format!("{}:", group.label());
        for f in FLAGS
            .iter()
            .filter(|f| f.group == group && !f.brief.is_empty())
        {
            out.push_str(&format!("{label:<10} {:<26} {}\n", f.usage(), f.brief));
            label.clear();
        }
    }
    out.push_str(
        "\nAny option can be set as PIDGUARD_<OPTION> (PIDGUARD_GRACE=5s); flags win.\n\
         Every option and variable: pidguard --help-all. Exit: the program's status;\n\
         125 pidguard's own error, 126 cannot execute PROGRAM, 127 PROGRAM not found.\n",
    );
    out
}

const HELP_ALL_INTRO: &str = "Runs PROGRAM as its child, reaps every zombie, forwards signals and \
    stops gracefully. Option parsing stops at the first non-option. An option with a variable \
    (env) can be set in the environment instead: repeatable ones take a comma-separated list, \
    switches true or false. Flags win over the environment, PIDGUARD_* over the other programs' \
    variables. An unknown PIDGUARD_* variable is an error. Started under the name dumb-init (a \
    symlink or a copy), pidguard starts in dumb-init's --setsid mode.";

const HELP_ALL_EXIT: &str = "Exit status: the program's exit code, 128+N if it died of signal N, \
    0 for codes given to --remap-exit; 125 when pidguard itself fails before the program starts \
    (bad option or value, a hardening step that fails), 126 when the program cannot be executed, \
    127 when it is not found.";

/// `--help-all`: every option with its default and variables, by task, wrapped at 80 columns.
pub fn help_all() -> String {
    let mut out = format!("{HELP_HEAD}\n");
    for line in wrap(HELP_ALL_INTRO, 80) {
        out.push_str(&format!("{line}\n"));
    }
    for group in Group::ALL {
        out.push_str(&format!("\n{}\n", group.title()));
        for f in FLAGS.iter().filter(|f| f.group == group) {
            out.push_str(&format!("  {}\n", f.usage()));
            let mut text = f.help.to_string();
            if let Some(v) = f.default_text() {
                text.push_str(&format!(" [default: {v}]"));
            }
            let mut vars: Vec<String> = f.env().into_iter().collect();
            vars.extend(f.aliases.iter().map(|a| a.name.to_string()));
            if !vars.is_empty() {
                text.push_str(&format!(" [env: {}]", vars.join(", ")));
            }
            for line in wrap(&text, 72) {
                out.push_str(&format!("        {line}\n"));
            }
        }
    }
    out.push('\n');
    for line in wrap(HELP_ALL_EXIT, 80) {
        out.push_str(&format!("{line}\n"));
    }
    out
}

/// Greedy word wrap; a word longer than `width` gets a line of its own.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

pub const LICENSE: &str = "pidguard is dual-licensed under the MIT license or the Apache License 2.0, at your option.\n\
Copyright (c) 2026 the pidguard developers.\n";

/// Shared by the tests here and in `flags.rs`: parse as `main` does, with a fixed environment.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    pub const HOSTS: &[u8] = b"127.0.0.1 localhost\n172.17.0.5 app app.internal\n";

    pub fn args(list: &[&str]) -> Vec<OsString> {
        std::iter::once("pidguard")
            .chain(list.iter().copied())
            .map(OsString::from)
            .collect()
    }

    pub fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs.iter().map(|(k, v)| (k.into(), v.into())).collect()
    }

    pub fn parse_env(list: &[&str], pairs: &[(&str, &str)]) -> Result<Command, Error> {
        parse(args(list), &env(pairs), &|| Ok(HOSTS.to_vec()))
    }

    pub fn run(list: &[&str]) -> RunConfig {
        run_env(list, &[])
    }

    pub fn run_env(list: &[&str], pairs: &[(&str, &str)]) -> RunConfig {
        match parse_env(list, pairs) {
            Ok(Command::Run(c)) => *c,
            other => panic!("{list:?} {pairs:?}: {other:?}"),
        }
    }

    pub fn err(list: &[&str]) -> String {
        err_env(list, &[])
    }

    pub fn err_env(list: &[&str], pairs: &[(&str, &str)]) -> String {
        match parse_env(list, pairs) {
            Err(e) => {
                assert!(!e.msg.contains('\n'), "one line: {}", e.msg);
                e.msg
            }
            other => panic!("{list:?} {pairs:?} parsed: {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn stops_at_the_first_non_option() {
        let c = run(&["ls", "-l", "/"]);
        assert_eq!(c.argv, vec!["ls", "-l", "/"]);
        let c = run(&["-g", "--", "-weird-name", "--grace", "1s"]);
        assert_eq!(c.argv, vec!["-weird-name", "--grace", "1s"]);
        assert!(c.kill_process_group);
        assert_eq!(c.grace, DEFAULT_GRACE);
    }

    #[test]
    fn defaults() {
        let c = run(&["true"]);
        assert_eq!(c, {
            let mut d = RunConfig::new(false);
            d.argv = vec!["true".into()];
            d.rlimits = limits::merge_rlimits(limits::DEFAULT_RLIMITS, &[]);
            d
        });
        assert_eq!(c.session, SessionMode::Tini);
        assert!(!c.grace_given && run_env(&["x"], &[("PIDGUARD_GRACE", "8s")]).grace_given);
        assert!(
            c.grace < Duration::from_secs(10),
            "must end before docker stop's 10 s"
        );
    }

    #[test]
    fn documented_defaults_are_the_real_ones() {
        let plain = run(&["x"]);
        for f in FLAGS {
            if let (Initial::Value(v), Arg::Value { .. }) = (&f.default, &f.arg) {
                let flag = format!("--{}", f.long);
                let mut given = run(&[&flag, v, "x"]);
                // Only the record that --grace was given differs (dumb-init's modes read it).
                given.grace_given = false;
                assert_eq!(given, plain, "{flag} {v}");
            }
            if let Arg::Switch(_) = f.arg {
                let var = f.env().unwrap();
                assert_eq!(run_env(&["x"], &[(&var, "false")]), plain, "{var}=false");
                let on = parse_env(&[&format!("--{}", f.long), "x"], &[]);
                assert_ne!(
                    on,
                    Ok(Command::Run(Box::new(plain.clone()))),
                    "--{}",
                    f.long
                );
            }
        }
    }

    #[test]
    fn actions_and_subcommands() {
        assert_eq!(parse_env(&["-h"], &[]), Ok(Command::Help));
        assert_eq!(parse_env(&["--help-all"], &[]), Ok(Command::HelpAll));
        assert_eq!(parse_env(&["--version"], &[]), Ok(Command::Version));
        assert_eq!(parse_env(&["-V"], &[]), Ok(Command::Version));
        assert_eq!(parse_env(&["-l"], &[]), Ok(Command::License));
        assert_eq!(
            parse_env(&["probe", "-x"], &[]),
            Ok(Command::Probe(vec!["-x".into()]))
        );
        // A program named like a subcommand runs after --.
        assert_eq!(run(&["--", "probe"]).argv, vec!["probe"]);
        assert_eq!(run(&["--", "help"]).argv, vec!["help"]);
        // Help comes before anything else is judged, the environment included.
        assert_eq!(
            parse_env(&["--grace", "soon", "--help"], &[("PIDGUARD_GRCAE", "1s")]),
            Ok(Command::Help)
        );
    }

    #[test]
    fn help_is_a_subcommand_with_topics() {
        assert_eq!(parse_env(&["help"], &[]), Ok(Command::Help));
        assert_eq!(parse_env(&["help", "all"], &[]), Ok(Command::HelpAll));
        assert_eq!(
            parse_env(&["help", "seccomp"], &[]),
            Ok(Command::Seccomp(vec!["--help".into()]))
        );
        assert_eq!(
            parse_env(&["help", "probe"], &[]),
            Ok(Command::Probe(vec!["--help".into()]))
        );
        assert_eq!(
            parse_env(&["help", "audit"], &[]),
            Ok(Command::Audit(vec!["--help".into()]))
        );
        assert!(err(&["help", "grace"]).contains("pidguard -- help"));
    }

    #[test]
    fn unknown_flags_get_a_suggestion() {
        let e = err(&["--grcae", "5s", "x"]);
        assert!(
            e.contains("unknown option --grcae: did you mean --grace?"),
            "{e}"
        );
        assert!(err(&["--helth-check", "x"]).contains("did you mean --health-check?"));
        assert!(err(&["--kill-proces-group", "x"]).contains("--kill-process-group?"));
        let e = err(&["--bogus", "x"]);
        assert!(
            e.contains("unknown option --bogus") && !e.contains("did you mean"),
            "{e}"
        );
        assert!(err(&["-Z", "x"]).contains("-Z"));
        assert!(err(&["--grace"]).contains("--grace"));
        assert!(err(&["--subreaper=yes", "x"]).contains("--subreaper"));
    }

    #[test]
    fn suggestions_are_close_or_none() {
        let names = ["grace", "groups", "user", "health-check"];
        assert_eq!(suggest("grcae", names.into_iter()), Some("grace"));
        assert_eq!(suggest("gruops", names.into_iter()), Some("groups"));
        assert_eq!(suggest("usr", names.into_iter()), Some("user"));
        assert_eq!(suggest("x", names.into_iter()), None);
        assert_eq!(suggest("verbose", names.into_iter()), None);
        assert_eq!(suggest(&"a".repeat(10_000), names.into_iter()), None);
        assert_eq!(distance("ab", "ba"), 1);
        assert_eq!(distance("grace", "grace"), 0);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    fn no_program_is_an_error() {
        assert!(err(&[]).contains("no program"));
        assert!(err(&["-g"]).contains("no program"));
    }

    #[test]
    fn environment_fills_what_flags_do_not_set() {
        let env = [
            ("PIDGUARD_GRACE", "3s"),
            ("PIDGUARD_REWRITE", "TERM:QUIT,USR1:none"),
            ("PIDGUARD_KILL_PROCESS_GROUP", "true"),
            ("PIDGUARD_LOG_FORMAT", "json"),
        ];
        let c = run_env(&["x"], &env);
        assert_eq!(c.grace, Duration::from_secs(3));
        assert_eq!(c.rewritten(15), Some(3));
        assert_eq!(c.rewritten(10), None);
        assert!(c.kill_process_group);
        assert_eq!(c.log_format, LogFormat::Json);

        let c = run_env(&["--grace", "1s", "--rewrite", "INT:TERM", "x"], &env);
        assert_eq!(c.grace, Duration::from_secs(1), "flags win");
        assert_eq!(
            c.rewritten(15),
            Some(15),
            "a repeatable flag replaces the env list"
        );
        assert_eq!(c.rewritten(2), Some(15));
        // A bad variable is not read when the flag is given.
        let c = run_env(&["--grace", "1s", "x"], &[("PIDGUARD_GRACE", "soon")]);
        assert_eq!(c.grace, Duration::from_secs(1));
    }

    #[test]
    fn unknown_pidguard_variables_are_refused_with_a_suggestion() {
        let e = err_env(&["true"], &[("PIDGUARD_GRCAE", "5s")]);
        assert!(
            e.starts_with("unknown variable PIDGUARD_GRCAE: did you mean PIDGUARD_GRACE?"),
            "{e}"
        );
        let e = err_env(&["true"], &[("PIDGUARD_FOO", "1")]);
        assert!(
            e.contains("PIDGUARD_FOO") && !e.contains("did you mean"),
            "{e}"
        );
        // Not options, but pidguard's own: accepted.
        run_env(&["true"], &[("PIDGUARD_STATUS_SOCKET", "x")]);
        run_env(
            &["true"],
            &[("PIDGUARD_VERSION_LINE", "pidguard 0.1.0 (x)")],
        );
        run_env(&["true"], &[("PIDGUARD_COMMIT", "1a2b")]);
        // Kubernetes' variables for a Service named pidguard or pidguard-demo are not options.
        for k8s in [
            "PIDGUARD_SERVICE_HOST",
            "PIDGUARD_SERVICE_PORT",
            "PIDGUARD_SERVICE_PORT_HEALTH",
            "PIDGUARD_PORT",
            "PIDGUARD_PORT_8081_TCP",
            "PIDGUARD_DEMO_PORT_8081_TCP_ADDR",
            "PIDGUARD_DEMO_SERVICE_HOST",
        ] {
            run_env(&["true"], &[(k8s, "10.0.0.1")]);
        }
        // Other prefixes are not ours to judge.
        run_env(&["true"], &[("TINI_FOO", "1"), ("DUMB_INIT_FOO", "1")]);
        // Actions and subcommands do not read options, so they do not judge them either.
        assert_eq!(
            parse_env(&["--version"], &[("PIDGUARD_GRCAE", "5s")]),
            Ok(Command::Version)
        );
        assert!(matches!(
            parse_env(&["probe"], &[("PIDGUARD_GRCAE", "5s")]),
            Ok(Command::Probe(_))
        ));
    }

    #[test]
    fn bad_environment_names_the_variable() {
        let e = err_env(&["x"], &[("PIDGUARD_GRACE", "5")]);
        assert!(e.starts_with("PIDGUARD_GRACE=5: invalid duration"), "{e}");
        let e = err_env(&["x"], &[("PIDGUARD_SUBREAPER", "maybe")]);
        assert!(
            e.starts_with("PIDGUARD_SUBREAPER=maybe: not a boolean"),
            "{e}"
        );
        let e = err_env(&["x"], &[("PIDGUARD_REMAP_EXIT", "1,300")]);
        assert!(
            e.starts_with("PIDGUARD_REMAP_EXIT=1,300:") && e.contains("300"),
            "{e}"
        );
        let e = err_env(&["x"], &[("TINI_VERBOSITY", "loud")]);
        assert!(e.starts_with("TINI_VERBOSITY=loud:"), "{e}");
        // Checks across options name the variable that set the option.
        let e = err_env(&["x"], &[("PIDGUARD_ON_UNHEALTHY", "exit")]);
        assert!(
            e.starts_with("PIDGUARD_ON_UNHEALTHY needs --health-check"),
            "{e}"
        );
        let e = err_env(
            &["--restart-delay", "5s", "x"],
            &[("PIDGUARD_RESTART_MAX_DELAY", "1s")],
        );
        assert!(
            e.starts_with("PIDGUARD_RESTART_MAX_DELAY 1s is shorter than --restart-delay 5s"),
            "{e}"
        );
    }

    #[test]
    fn bad_flag_values_name_the_flag_and_value() {
        let e = err(&["--grace", "5", "x"]);
        assert!(e.starts_with("--grace \"5\": invalid duration"), "{e}");
        let e = err(&["--grace", &"9".repeat(10_000), "x"]);
        assert!(e.len() < 400, "a pasted megabyte is shortened: {e}");
    }

    #[test]
    fn usage_errors_follow_the_log_format() {
        let format =
            |list: &[&str], pairs: &[(&str, &str)]| parse_env(list, pairs).unwrap_err().format;
        assert_eq!(format(&["--bogus", "x"], &[]), LogFormat::Text);
        assert_eq!(
            format(&["--bogus", "x"], &[("PIDGUARD_LOG_FORMAT", "json")]),
            LogFormat::Json
        );
        assert_eq!(
            format(&["--bogus", "--log-format", "json", "x"], &[]),
            LogFormat::Json
        );
        assert_eq!(
            format(&["--grace", "5", "--log-format=json", "x"], &[]),
            LogFormat::Json
        );
        assert_eq!(
            format(&["-u", "1", "--log-format", "json"], &[]),
            LogFormat::Json
        );
        assert_eq!(
            format(
                &["--log-format", "text", "x"],
                &[("PIDGUARD_LOG_FORMAT", "json"), ("PIDGUARD_X", "1")]
            ),
            LogFormat::Text,
            "the flag wins"
        );
        // After the program, --log-format is the program's.
        assert_eq!(
            format(&["--bogus", "prog", "--log-format", "json"], &[]),
            LogFormat::Text
        );
        assert_eq!(
            format(&["--", "--log-format", "json"], &[("PIDGUARD_Y", "")]),
            LogFormat::Text
        );
    }

    #[test]
    fn health_check_host_must_resolve_at_start() {
        for ok in [
            "http://127.0.0.1:8080/h",
            "http://localhost:8080/h",
            "http://[::1]:8080/h",
            "http://app:8080/h",
            "tcp://app.internal:5432",
            "exec:/bin/true",
        ] {
            run(&["--health-check", ok, "x"]);
        }
        let e = err(&["--health-check", "http://db:8080/h", "x"]);
        assert!(
            e.starts_with("--health-check http://db:8080/h: cannot resolve \"db\"")
                && e.contains("--add-host db:IP"),
            "{e}"
        );
        let e = err_env(&["x"], &[("PIDGUARD_HEALTH_CHECK", "tcp://db:1")]);
        assert!(
            e.starts_with("PIDGUARD_HEALTH_CHECK tcp://db:1: cannot resolve"),
            "{e}"
        );
        // /etc/hosts is read only when a name needs it.
        let read = std::cell::Cell::new(0);
        let hosts = || {
            read.set(read.get() + 1);
            Ok(Vec::new())
        };
        let env = env(&[]);
        parse(
            args(&["--health-check", "http://127.0.0.1:1/", "x"]),
            &env,
            &hosts,
        )
        .unwrap();
        parse(args(&["x"]), &env, &hosts).unwrap();
        assert_eq!(read.get(), 0);
    }

    #[test]
    fn started_as_dumb_init_selects_its_mode() {
        let parse_as = |name: &str, list: &[&str], pairs: &[(&str, &str)]| {
            let mut a = args(list);
            a[0] = name.into();
            match parse(a, &testing::env(pairs), &|| Ok(Vec::new())) {
                Ok(Command::Run(c)) => c.session,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            parse_as("/usr/bin/dumb-init", &["x"], &[]),
            SessionMode::Setsid
        );
        assert_eq!(
            parse_as("dumb-init", &["-c", "x"], &[]),
            SessionMode::SingleChild
        );
        assert_eq!(
            parse_as("dumb-init", &["x"], &[("DUMB_INIT_SETSID", "0")]),
            SessionMode::SingleChild
        );
        assert_eq!(parse_as("/pidguard", &["x"], &[]), SessionMode::Tini);
        assert_eq!(
            parse_as("/usr/bin/dumb-init-old", &["x"], &[]),
            SessionMode::Tini
        );
    }

    #[test]
    fn short_help_fits_one_screen() {
        let h = help();
        assert!(h.lines().count() <= 24, "{} lines:\n{h}", h.lines().count());
        for line in h.lines() {
            assert!(
                line.chars().count() <= 80,
                "{} columns: {line}",
                line.chars().count()
            );
        }
        for f in FLAGS.iter().filter(|f| !f.brief.is_empty()) {
            assert!(h.contains(&f.usage()), "{}", f.long);
        }
        assert!(h.contains("--help-all"));
    }

    #[test]
    fn full_help_has_every_option_and_variable_at_80_columns() {
        let h = help_all();
        for f in FLAGS {
            assert!(h.contains(&f.usage()), "{}", f.long);
            for v in f
                .env()
                .into_iter()
                .chain(f.aliases.iter().map(|a| a.name.into()))
            {
                assert!(h.contains(&v), "{v}");
            }
        }
        for line in h.lines() {
            assert!(
                line.chars().count() <= 80,
                "{} columns: {line}",
                line.chars().count()
            );
        }
    }

    #[test]
    fn no_option_looks_like_a_kubernetes_service_variable() {
        for f in FLAGS {
            if let Some(var) = f.env() {
                assert!(
                    !is_service_link(&var),
                    "{var} would be taken for a Service's"
                );
            }
        }
    }

    #[test]
    fn every_option_is_named_once() {
        for f in FLAGS {
            assert_eq!(
                FLAGS.iter().filter(|p| p.long == f.long).count(),
                1,
                "{}",
                f.long
            );
            if let Some(c) = f.short {
                assert_eq!(
                    FLAGS.iter().filter(|p| p.short == Some(c)).count(),
                    1,
                    "-{c}"
                );
            }
            assert!(
                f.help.len() >= f.brief.len(),
                "--{}: help shorter than brief",
                f.long
            );
            assert!(!f.help.is_empty(), "--{} has no help", f.long);
        }
        assert_eq!(
            env_name("kill-process-group"),
            "PIDGUARD_KILL_PROCESS_GROUP"
        );
        assert_eq!(flags::GRACE.env().as_deref(), Some("PIDGUARD_GRACE"));
        assert_eq!(flags::VERBOSE.env(), None);
    }
}
