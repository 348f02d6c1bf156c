//! The command line: `pidguard [OPTIONS] [--] PROGRAM [ARGS...]` and the subcommands.
//!
//! Parsing happens in two steps, as in ripgrep: a low-level pass turns flags and `PIDGUARD_*`/`TINI_*`
//! environment variables into raw strings keyed by the long option name (flags win over the
//! environment), and a high-level pass validates every value into a [`RunConfig`]. Both are pure: they
//! take the arguments and an environment lookup function, so tests and the fuzzer can drive them.
//!
//! Option parsing stops at the first non-option, so `pidguard ls -l /` runs `ls -l /` (tini needs `--`).
//! One table, [`OPTIONS`], describes every option; `--help`, the environment names and the README all
//! follow it.

use std::ffi::OsString;
use std::fmt;
use std::time::Duration;

use crate::log::{Level, LogFormat};
use crate::passwd::{self, GroupsSpec, UserSpec};
use crate::{duration, limits, signals};

/// Exit code for pidguard's own errors before the program starts (same convention as `docker run`).
pub use crate::error::EXIT_USAGE;

pub const DEFAULT_GRACE: Duration = Duration::from_secs(8);

/// One option. `env` is derived: `PIDGUARD_` + the long name upper-cased with `-` as `_`.
pub struct Opt {
    pub long: &'static str,
    pub short: Option<char>,
    /// Metavariable for options that take a value; `None` for switches.
    pub value: Option<&'static str>,
    /// Repeatable: every occurrence adds; in the environment, values are separated by commas.
    pub repeat: bool,
    pub help: &'static str,
}

const fn switch(long: &'static str, short: Option<char>, help: &'static str) -> Opt {
    Opt {
        long,
        short,
        value: None,
        repeat: false,
        help,
    }
}

const fn valued(
    long: &'static str,
    short: Option<char>,
    value: &'static str,
    repeat: bool,
    help: &'static str,
) -> Opt {
    Opt {
        long,
        short,
        value: Some(value),
        repeat,
        help,
    }
}

pub const OPTIONS: &[Opt] = &[
    valued(
        "user",
        Some('u'),
        "USER[:GROUP]",
        false,
        "Run as this user (and group): names from the image's /etc/passwd and /etc/group, or numbers. A uid without a passwd entry gets gid = uid. PID 1 switches too",
    ),
    valued(
        "groups",
        None,
        "G1,G2",
        false,
        "Supplementary groups (names or numbers) instead of those /etc/group gives the user; '' for none",
    ),
    switch(
        "allow-root",
        None,
        "Allow the program to run as uid 0 (it still gets no capabilities unless --cap-add)",
    ),
    valued(
        "cap-add",
        None,
        "CAP[,CAP]",
        true,
        "Keep these capabilities (e.g. NET_BIND_SERVICE; with or without CAP_, any case); all others are dropped from every set. Repeatable",
    ),
    switch(
        "allow-new-privs",
        None,
        "Do not set no_new_privs (setuid binaries and file capabilities work again; logged as a warning)",
    ),
    valued(
        "rlimit",
        None,
        "NAME=SOFT[:HARD]",
        true,
        "Set a resource limit (nofile, nproc, core, fsize, memlock, as, stack, cpu, ...; 'unlimited'); HARD defaults to SOFT. Repeatable [default: core=0]",
    ),
    valued(
        "umask",
        None,
        "MODE",
        false,
        "Set the umask, in octal (e.g. 0027) [default: inherited]",
    ),
    valued(
        "grace",
        None,
        "DURATION",
        false,
        "On SIGTERM/SIGINT, or when the program exits and leaves other processes behind, wait this long for every process to exit before SIGKILL [default: 8s]",
    ),
    valued(
        "rewrite",
        None,
        "FROM:TO",
        true,
        "Forward signal FROM as TO (names or numbers; TO of 0 or none drops it). Repeatable",
    ),
    switch(
        "kill-process-group",
        Some('g'),
        "Forward signals to the program's whole process group, not just the program [env also TINI_KILL_PROCESS_GROUP]",
    ),
    valued(
        "remap-exit",
        Some('e'),
        "CODE",
        true,
        "Exit 0 when the program exits with CODE (0-255). Repeatable",
    ),
    switch(
        "subreaper",
        Some('s'),
        "Register as a child subreaper (automatic when not PID 1) [env also TINI_SUBREAPER]",
    ),
    valued(
        "pdeath-signal",
        Some('p'),
        "SIGNAL",
        false,
        "Have pidguard itself receive SIGNAL when its parent dies",
    ),
    switch(
        "warn-on-reap",
        Some('w'),
        "Log a warning for every reaped zombie that is not the program",
    ),
    valued(
        "restart",
        None,
        "POLICY",
        false,
        "no, on-failure (non-zero exit or death by a signal pidguard did not send) or always [default: no]",
    ),
    valued(
        "restart-delay",
        None,
        "DURATION",
        false,
        "First delay before a restart; doubled after each quick exit [default: 500ms]",
    ),
    valued(
        "restart-max-delay",
        None,
        "DURATION",
        false,
        "Largest delay between restarts [default: 30s]",
    ),
    valued(
        "restart-stable",
        None,
        "DURATION",
        false,
        "A program that stayed up this long resets the delay to --restart-delay [default: 10s]",
    ),
    valued(
        "restart-limit",
        None,
        "N/WINDOW",
        false,
        "Give up, exiting with the program's last status, when it would be restarted more than N times within WINDOW [default: 5/60s]",
    ),
    valued(
        "on-unhealthy",
        None,
        "ACTION",
        false,
        "When the app check turns unhealthy: ignore, restart (graceful stop, then start again under the restart limits) or exit (graceful stop, exit non-zero) [default: ignore]",
    ),
    valued(
        "seccomp",
        None,
        "PROFILE",
        false,
        "default (Docker's default filter, built in), unconfined (no filter; logged as a warning), or the path of a Docker-format JSON profile [default: default]",
    ),
    valued(
        "health-check",
        None,
        "TARGET",
        false,
        "App check run by PID 1: http://HOST:PORT/PATH, tcp://HOST:PORT or exec:/path,arg1,arg2 (no shell; same user and hardening as the program)",
    ),
    valued(
        "health-interval",
        None,
        "DURATION",
        false,
        "Time between app checks; the first runs one interval after start, as in Docker [default: 30s]",
    ),
    valued(
        "health-timeout",
        None,
        "DURATION",
        false,
        "An app check that takes longer fails and is killed [default: 30s]",
    ),
    valued(
        "health-retries",
        None,
        "N",
        false,
        "Consecutive failures that make the program unhealthy [default: 3]",
    ),
    valued(
        "health-start-period",
        None,
        "DURATION",
        false,
        "Failures in this time after start do not count; not ready before it ends unless a check passes [default: 0s]",
    ),
    valued(
        "health-expect",
        None,
        "CODES",
        false,
        "HTTP statuses that count as healthy, e.g. 200,204,300-399 [default: 200-399]",
    ),
    valued(
        "health-listen",
        None,
        "ADDR:PORT",
        false,
        "Also serve /healthz, /readyz (and /metrics) over HTTP here, e.g. 0.0.0.0:8081 for kubelet [default: off]",
    ),
    switch(
        "metrics",
        None,
        "Serve Prometheus metrics at /metrics on the health endpoints",
    ),
    valued(
        "log-level",
        None,
        "LEVEL",
        false,
        "off, error, warn, info, debug or trace [default: warn; -v raises it by one; env also TINI_VERBOSITY]",
    ),
    valued(
        "log-format",
        None,
        "FORMAT",
        false,
        "text or json (one object per line) [default: text]",
    ),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunConfig {
    /// PROGRAM and its arguments, never empty.
    pub argv: Vec<OsString>,
    pub grace: Duration,
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
    pub allow_new_privs: bool,
    /// The limits to apply, defaults (core=0) merged with `--rlimit`.
    pub rlimits: Vec<limits::RlimitSpec>,
    pub umask: Option<u32>,
    pub health: HealthConfig,
    pub seccomp: Seccomp,
    pub restart: RestartConfig,
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
    pub check: Option<crate::health::target::Target>,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: u32,
    pub start_period: Duration,
    pub expect: String,
    pub listen: Option<std::net::SocketAddr>,
    pub metrics: bool,
}

impl RunConfig {
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
        if (0..=255).contains(&code) && self.remap_exit.contains(&(code as u8)) {
            0
        } else {
            code
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run(Box<RunConfig>),
    /// `pidguard probe ...`: the arguments after `probe`.
    Probe(Vec<OsString>),
    /// `pidguard seccomp ...`
    Seccomp(Vec<OsString>),
    /// `pidguard audit ...`
    Audit(Vec<OsString>),
    Help,
    Version,
    License,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<lexopt::Error> for Error {
    fn from(e: lexopt::Error) -> Self {
        Error(format!("{e} (see pidguard --help)"))
    }
}

pub fn env_name(long: &str) -> String {
    format!("PIDGUARD_{}", long.to_ascii_uppercase().replace('-', "_"))
}

fn find_long(name: &str) -> Option<&'static Opt> {
    OPTIONS.iter().find(|o| o.long == name)
}

fn find_short(c: char) -> Option<&'static Opt> {
    OPTIONS.iter().find(|o| o.short == Some(c))
}

/// Raw values by long name, in order of appearance; the low-level result.
#[derive(Default, Debug)]
struct Raw {
    values: Vec<(&'static str, String)>,
    verbose: usize,
}

impl Raw {
    fn all(&self, long: &str) -> impl Iterator<Item = &str> {
        self.values
            .iter()
            .filter(move |(k, _)| *k == long)
            .map(|(_, v)| v.as_str())
    }

    fn last(&self, long: &str) -> Option<&str> {
        self.all(long).last()
    }

    fn has(&self, long: &str) -> bool {
        self.values.iter().any(|(k, _)| *k == long)
    }

    /// The duration an option gives, or `default` when it is not set.
    fn duration(&self, long: &str, default: Duration) -> Result<Duration, Error> {
        match self.last(long) {
            Some(v) => duration::parse(v).map_err(|e| Error(format!("--{long}: {e}"))),
            None => Ok(default),
        }
    }
}

/// Parses the whole command line (`args[0]` is the program name of pidguard itself).
pub fn parse<E>(args: Vec<OsString>, env: E) -> Result<Command, Error>
where
    E: Fn(&str) -> Option<OsString>,
{
    let mut args = args.into_iter();
    let _self_name = args.next();
    let rest: Vec<OsString> = args.collect();
    match rest.first().and_then(|a| a.to_str()) {
        Some("probe") => return Ok(Command::Probe(rest[1..].to_vec())),
        Some("seccomp") => return Ok(Command::Seccomp(rest[1..].to_vec())),
        Some("audit") => return Ok(Command::Audit(rest[1..].to_vec())),
        _ => {}
    }

    let mut raw = Raw::default();
    let mut argv: Vec<OsString> = Vec::new();
    let mut parser = lexopt::Parser::from_args(rest);
    while let Some(arg) = parser.next()? {
        use lexopt::Arg::*;
        let opt = match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Long("version") => return Ok(Command::Version),
            Short('l') | Long("license") => return Ok(Command::License),
            Short('v') | Long("verbose") => {
                raw.verbose += 1;
                continue;
            }
            Value(program) => {
                argv.push(program);
                argv.extend(parser.raw_args()?);
                break;
            }
            Short(c) => find_short(c).ok_or_else(|| unknown(&format!("-{c}")))?,
            Long(name) => find_long(name).ok_or_else(|| unknown(&format!("--{name}")))?,
        };
        let value = match opt.value {
            Some(_) => {
                let v = parser.value()?;
                v.into_string()
                    .map_err(|v| Error(format!("--{}: {v:?} is not valid UTF-8", opt.long)))?
            }
            None => String::new(),
        };
        raw.values.push((opt.long, value));
    }

    merge_env(&mut raw, &env)?;
    if argv.is_empty() {
        return Err(Error(
            "no program given: write pidguard [OPTIONS] [--] PROGRAM [ARGS...] (see pidguard --help)"
                .into(),
        ));
    }
    validate(raw, argv).map(|c| Command::Run(Box::new(c)))
}

fn unknown(flag: &str) -> Error {
    Error(format!(
        "unknown option {flag}: put -- before the program if it is the program's, or see pidguard --help"
    ))
}

/// Fills every option the command line did not set from `PIDGUARD_<NAME>`, and the tini variables.
fn merge_env<E>(raw: &mut Raw, env: &E) -> Result<(), Error>
where
    E: Fn(&str) -> Option<OsString>,
{
    let text = |name: &str| -> Result<Option<String>, Error> {
        env(name)
            .map(|v| {
                v.into_string()
                    .map_err(|v| Error(format!("{name}={v:?} is not valid UTF-8")))
            })
            .transpose()
    };
    for opt in OPTIONS {
        if raw.has(opt.long) {
            continue;
        }
        let name = env_name(opt.long);
        let Some(value) = text(&name)? else { continue };
        match (opt.value, opt.repeat) {
            (None, _) => {
                if parse_bool(&name, &value)? {
                    raw.values.push((opt.long, String::new()));
                }
            }
            (Some(_), true) => {
                for part in value.split(',').filter(|p| !p.is_empty()) {
                    raw.values.push((opt.long, part.to_string()));
                }
            }
            (Some(_), false) => raw.values.push((opt.long, value)),
        }
    }
    // tini's variables: set at all (any value) means on, as in tini.
    for (tini, long) in [
        ("TINI_SUBREAPER", "subreaper"),
        ("TINI_KILL_PROCESS_GROUP", "kill-process-group"),
    ] {
        if !raw.has(long) && env(tini).is_some() {
            raw.values.push((long, String::new()));
        }
    }
    if !raw.has("log-level")
        && let Some(v) = text("TINI_VERBOSITY")?
    {
        // tini: 0 silent, 1 fatal, 2 warn, 3 info, 4 debug, 5 trace.
        let n: usize = v.parse().map_err(|_| {
            Error(format!(
                "TINI_VERBOSITY={v:?} is not a number: use 0-5, or PIDGUARD_LOG_LEVEL"
            ))
        })?;
        raw.values
            .push(("log-level", Level::Off.raised(n).name().to_string()));
    }
    Ok(())
}

fn parse_bool(name: &str, value: &str) -> Result<bool, Error> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(Error(format!(
            "{name}={value:?} is not a boolean: use true or false"
        ))),
    }
}

fn validate(raw: Raw, argv: Vec<OsString>) -> Result<RunConfig, Error> {
    let grace = raw.duration("grace", DEFAULT_GRACE)?;
    let rewrite = raw
        .all("rewrite")
        .map(parse_rewrite)
        .collect::<Result<Vec<_>, _>>()?;
    let remap_exit = raw
        .all("remap-exit")
        .map(|v| {
            v.parse::<u8>().map_err(|_| {
                Error(format!(
                    "--remap-exit {v:?}: expected an exit code from 0 to 255"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let pdeath_signal = raw
        .last("pdeath-signal")
        .map(|v| signals::parse(v).map_err(|e| Error(format!("--pdeath-signal: {e}"))))
        .transpose()?;
    let base = match raw.last("log-level") {
        Some(v) => Level::ALL
            .into_iter()
            .find(|l| l.name() == v.to_ascii_lowercase())
            .ok_or_else(|| {
                Error(format!(
                    "--log-level {v:?}: use off, error, warn, info, debug or trace"
                ))
            })?,
        None => Level::Warn,
    };
    let log_format = match raw.last("log-format") {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(v) => {
            return Err(Error(format!("--log-format {v:?}: use text or json")));
        }
    };
    let user = raw
        .last("user")
        .map(passwd::parse_user_spec)
        .transpose()
        .map_err(|e| Error(e.to_string()))?;
    let groups = raw
        .last("groups")
        .map(passwd::parse_groups_spec)
        .transpose()
        .map_err(|e| Error(e.to_string()))?;
    let mut cap_add = Vec::new();
    for v in raw.all("cap-add") {
        for cap in limits::parse_caps(v).map_err(|e| Error(e.to_string()))? {
            if !cap_add.contains(&cap) {
                cap_add.push(cap);
            }
        }
    }
    let user_limits = raw
        .all("rlimit")
        .map(limits::parse_rlimit)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error(e.to_string()))?;
    let umask = raw
        .last("umask")
        .map(limits::parse_umask)
        .transpose()
        .map_err(|e| Error(e.to_string()))?;
    let health = validate_health(&raw)?;
    let restart = validate_restart(&raw)?;
    if restart.on_unhealthy != OnUnhealthy::Ignore && health.check.is_none() {
        return Err(Error(
            "--on-unhealthy needs --health-check: without an app check the program never turns unhealthy"
                .into(),
        ));
    }
    let seccomp = match raw.last("seccomp") {
        None | Some("default") => Seccomp::Default,
        Some("unconfined") => Seccomp::Unconfined,
        Some("") => {
            return Err(Error(
                "--seccomp \"\": use default, unconfined or a file path".into(),
            ));
        }
        Some(path) => Seccomp::File(path.into()),
    };
    if raw.has("allow-new-privs") && seccomp != Seccomp::Unconfined {
        return Err(Error(
            "--allow-new-privs needs --seccomp unconfined: without no_new_privs only CAP_SYS_ADMIN may install a \
             seccomp filter, and the program never gets it"
                .into(),
        ));
    }
    Ok(RunConfig {
        restart,
        seccomp,
        health,
        user,
        groups,
        allow_root: raw.has("allow-root"),
        cap_add,
        allow_new_privs: raw.has("allow-new-privs"),
        rlimits: limits::merge_rlimits(limits::DEFAULT_RLIMITS, &user_limits),
        umask,
        argv,
        grace,
        rewrite,
        kill_process_group: raw.has("kill-process-group"),
        remap_exit,
        subreaper: raw.has("subreaper"),
        pdeath_signal,
        warn_on_reap: raw.has("warn-on-reap"),
        log_level: base.raised(raw.verbose),
        log_format,
    })
}

fn validate_restart(raw: &Raw) -> Result<RestartConfig, Error> {
    let policy = match raw.last("restart") {
        None | Some("no") => RestartPolicy::No,
        Some("on-failure") => RestartPolicy::OnFailure,
        Some("always") => RestartPolicy::Always,
        Some(v) => {
            return Err(Error(format!(
                "--restart {v:?}: use no, on-failure or always"
            )));
        }
    };
    let on_unhealthy = match raw.last("on-unhealthy") {
        None | Some("ignore") => OnUnhealthy::Ignore,
        Some("restart") => OnUnhealthy::Restart,
        Some("exit") => OnUnhealthy::Exit,
        Some(v) => {
            return Err(Error(format!(
                "--on-unhealthy {v:?}: use ignore, restart or exit"
            )));
        }
    };
    let (limit, window) = match raw.last("restart-limit") {
        None => (5, Duration::from_secs(60)),
        Some(v) => parse_limit(v)?,
    };
    let delay = raw.duration("restart-delay", Duration::from_millis(500))?;
    let max_delay = raw.duration("restart-max-delay", Duration::from_secs(30))?;
    if max_delay < delay {
        return Err(Error(format!(
            "--restart-max-delay {} is shorter than --restart-delay {}",
            duration::format(max_delay),
            duration::format(delay)
        )));
    }
    Ok(RestartConfig {
        policy,
        delay,
        max_delay,
        stable: raw.duration("restart-stable", Duration::from_secs(10))?,
        limit,
        window,
        on_unhealthy,
    })
}

/// `N/WINDOW`, e.g. `5/60s`.
fn parse_limit(text: &str) -> Result<(u32, Duration), Error> {
    let bad = |why: &str| {
        Error(format!(
            "--restart-limit {text:?}: {why} (write e.g. 5/60s)"
        ))
    };
    let (n, window) = text
        .split_once('/')
        .ok_or_else(|| bad("expected N/WINDOW"))?;
    let n: u32 = n
        .parse()
        .ok()
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| bad("N must be a number from 1 to 10000"))?;
    let window = duration::parse(window).map_err(|e| bad(&e.to_string()))?;
    if window.is_zero() {
        return Err(bad("the window must be longer than 0"));
    }
    Ok((n, window))
}

fn validate_health(raw: &Raw) -> Result<HealthConfig, Error> {
    use crate::health::{server, target};
    let check = raw
        .last("health-check")
        .map(target::parse_target)
        .transpose()
        .map_err(|e| Error(format!("--health-check: {e}")))?;
    let expect = raw.last("health-expect").unwrap_or("200-399").to_string();
    target::parse_expect(&expect).map_err(|e| Error(format!("--health-expect: {e}")))?;
    let retries = match raw.last("health-retries") {
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| {
                Error(format!(
                    "--health-retries {v:?}: expected a number from 1 to 1000"
                ))
            })?,
        None => 3,
    };
    let interval = raw.duration("health-interval", Duration::from_secs(30))?;
    let timeout = raw.duration("health-timeout", Duration::from_secs(30))?;
    if interval.is_zero() || timeout.is_zero() {
        return Err(Error(
            "--health-interval and --health-timeout must be longer than 0".into(),
        ));
    }
    let listen = raw
        .last("health-listen")
        .map(server::parse_listen_addr)
        .transpose()
        .map_err(|e| Error(format!("--health-listen: {e}")))?;
    Ok(HealthConfig {
        check,
        interval,
        timeout,
        retries,
        start_period: raw.duration("health-start-period", Duration::ZERO)?,
        expect,
        listen,
        metrics: raw.has("metrics"),
    })
}

/// `FROM:TO`, e.g. `TERM:QUIT`, `SIGWINCH:none`, `15:3`.
pub fn parse_rewrite(text: &str) -> Result<(i32, i32), Error> {
    let bad = |why: String| Error(format!("--rewrite {text:?}: {why}"));
    let (from, to) = text
        .split_once(':')
        .ok_or_else(|| bad("expected FROM:TO, e.g. TERM:QUIT or WINCH:none".into()))?;
    let from = signals::parse(from).map_err(|e| bad(e.to_string()))?;
    if !signals::forwardable(from) {
        return Err(bad(format!(
            "{} never reaches pidguard, so it cannot be rewritten",
            signals::name(from)
        )));
    }
    let to = match to.to_ascii_lowercase().as_str() {
        "0" | "none" => 0,
        _ => signals::parse(to).map_err(|e| bad(e.to_string()))?,
    };
    Ok((from, to))
}

/// The `--help` text, generated from [`OPTIONS`].
pub fn help() -> String {
    let mut out = String::from(
        "pidguard: a hardening PID 1 for containers\n\n\
         Usage: pidguard [OPTIONS] [--] PROGRAM [ARGS...]\n\
         \x20      pidguard probe [OPTIONS] [TARGET]\n\
         \x20      pidguard seccomp export [default] [--oci]\n\
         \x20      pidguard audit [--json] [--strict]\n\n\
         Runs PROGRAM as its child, reaps every zombie, forwards signals and stops gracefully.\n\
         Option parsing stops at the first non-option. Every long option can also be set with an\n\
         environment variable PIDGUARD_<OPTION> (e.g. PIDGUARD_GRACE=5s; repeatable ones take a\n\
         comma-separated list, switches take true/false); flags win over the environment.\n\n\
         Options:\n",
    );
    for o in OPTIONS {
        let short = o.short.map(|c| format!("-{c}, ")).unwrap_or_default();
        let value = o.value.map(|v| format!(" {v}")).unwrap_or_default();
        out.push_str(&format!("  {short}--{}{value}\n", o.long));
        out.push_str(&format!("        {}\n", o.help));
    }
    out.push_str(
        "  -v, --verbose\n        Log more; repeat for more (-vv debug, -vvv trace)\n\
         \x20 -l, --license\n        Print the license and exit\n\
         \x20 -h, --help\n        Print this help and exit\n\
         \x20     --version\n        Print the version and exit\n\n\
         Exit status: the program's exit code, 128+N if it died of signal N, 0 for codes given to\n\
         --remap-exit; 125 when pidguard itself fails before the program starts (bad flag or value,\n\
         hardening step that fails), 126 when the program cannot be executed, 127 when it is not found.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        std::iter::once("pidguard")
            .chain(list.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    fn run(list: &[&str]) -> RunConfig {
        run_env(list, &[])
    }

    fn run_env(list: &[&str], env: &[(&str, &str)]) -> RunConfig {
        let lookup = |k: &str| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        };
        match parse(args(list), lookup) {
            Ok(Command::Run(c)) => *c,
            other => panic!("{list:?}: {other:?}"),
        }
    }

    fn err(list: &[&str]) -> String {
        parse(args(list), no_env).unwrap_err().0
    }

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
        assert_eq!(c.grace, Duration::from_secs(8));
        assert!(
            c.grace < Duration::from_secs(10),
            "must end before docker stop's 10 s"
        );
        assert!(!c.kill_process_group && !c.subreaper && !c.warn_on_reap);
        assert_eq!(c.log_level, Level::Warn);
        assert_eq!(c.log_format, LogFormat::Text);
    }

    #[test]
    fn tini_flags() {
        let c = run(&[
            "-s", "-g", "-w", "-p", "SIGKILL", "-e", "143", "-e", "1", "-vv", "x",
        ]);
        assert!(c.subreaper && c.kill_process_group && c.warn_on_reap);
        assert_eq!(c.pdeath_signal, Some(9));
        assert_eq!(c.remap_exit, vec![143, 1]);
        assert_eq!(c.log_level, Level::Debug);
        assert_eq!(c.remapped(143), 0);
        assert_eq!(c.remapped(2), 2);
        assert_eq!(c.remapped(137 + 256), 137 + 256);
        assert_eq!(
            run(&["-v", "-v", "-v", "-v", "-v", "x"]).log_level,
            Level::Trace
        );
    }

    #[test]
    fn actions() {
        assert_eq!(parse(args(&["-h"]), no_env), Ok(Command::Help));
        assert_eq!(parse(args(&["--version"]), no_env), Ok(Command::Version));
        assert_eq!(parse(args(&["-l"]), no_env), Ok(Command::License));
        assert_eq!(
            parse(args(&["probe", "-x"]), no_env),
            Ok(Command::Probe(vec!["-x".into()]))
        );
        // A program named like a subcommand runs after --.
        assert_eq!(run(&["--", "probe"]).argv, vec!["probe"]);
    }

    #[test]
    fn rewrite_by_name_and_number() {
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
    }

    #[test]
    fn bad_values_name_the_flag() {
        assert!(err(&["--grace", "5", "x"]).starts_with("--grace:"));
        assert!(err(&["--rewrite", "TERM", "x"]).contains("FROM:TO"));
        assert!(err(&["--rewrite", "KILL:TERM", "x"]).contains("cannot be rewritten"));
        assert!(err(&["--rewrite", "TERM:BOGUS", "x"]).contains("BOGUS"));
        assert!(err(&["-e", "256", "x"]).contains("0 to 255"));
        assert!(err(&["--log-level", "loud", "x"]).contains("loud"));
        assert!(err(&["--log-format", "xml", "x"]).contains("xml"));
        assert!(err(&["--bogus", "x"]).contains("unknown option --bogus"));
        assert!(err(&["-Z", "x"]).contains("-Z"));
        assert!(err(&["--grace"]).contains("--grace"));
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
    }

    #[test]
    fn tini_environment() {
        let c = run_env(
            &["x"],
            &[
                ("TINI_SUBREAPER", ""),
                ("TINI_KILL_PROCESS_GROUP", "1"),
                ("TINI_VERBOSITY", "3"),
            ],
        );
        assert!(c.subreaper && c.kill_process_group);
        assert_eq!(c.log_level, Level::Info);
        let c = run_env(
            &["--log-level", "error", "x"],
            &[("TINI_VERBOSITY", "5"), ("PIDGUARD_SUBREAPER", "false")],
        );
        assert_eq!(c.log_level, Level::Error);
        assert!(!c.subreaper, "PIDGUARD_ wins over TINI_");
    }

    #[test]
    fn bad_environment_is_an_error() {
        let bad = |k: &str, v: &str| {
            let env = |name: &str| (name == k).then(|| OsString::from(v));
            parse(args(&["x"]), env).unwrap_err().0
        };
        assert!(bad("PIDGUARD_SUBREAPER", "maybe").contains("PIDGUARD_SUBREAPER"));
        assert!(bad("PIDGUARD_GRACE", "soon").contains("--grace"));
        assert!(bad("TINI_VERBOSITY", "loud").contains("TINI_VERBOSITY"));
    }

    #[test]
    fn hardening_flags() {
        let c = run(&["true"]);
        assert_eq!(c.user, None);
        assert!(!c.allow_root && !c.allow_new_privs && c.cap_add.is_empty());
        assert_eq!(c.rlimits.len(), 1, "core=0 by default");
        assert_eq!(
            (c.rlimits[0].name, c.rlimits[0].soft, c.rlimits[0].hard),
            ("core", 0, 0)
        );
        let c = run(&[
            "-u",
            "nonroot:65532",
            "--groups",
            "",
            "--cap-add",
            "net_bind_service,CAP_CHOWN",
            "--cap-add",
            "NET_BIND_SERVICE",
            "--rlimit",
            "nofile=1024:4096",
            "--rlimit",
            "core=unlimited",
            "--umask",
            "0027",
            "--allow-root",
            "--allow-new-privs",
            "--seccomp",
            "unconfined",
            "x",
        ]);
        assert_eq!(c.user.as_ref().unwrap().to_string(), "nonroot:65532");
        assert_eq!(c.groups, Some(GroupsSpec::Explicit(vec![])));
        assert_eq!(
            c.cap_add,
            vec![
                caps::Capability::CAP_NET_BIND_SERVICE,
                caps::Capability::CAP_CHOWN
            ]
        );
        assert_eq!(c.rlimits.len(), 2);
        assert!(
            c.rlimits
                .iter()
                .any(|r| r.name == "core" && r.soft == u64::MAX)
        );
        assert_eq!(c.umask, Some(0o027));
        assert!(c.allow_root && c.allow_new_privs);
        let c = run_env(
            &["x"],
            &[
                ("PIDGUARD_USER", "65532"),
                ("PIDGUARD_CAP_ADD", "KILL,CHOWN"),
                ("PIDGUARD_RLIMIT", "nofile=10,nproc=5:6"),
            ],
        );
        assert_eq!(c.user.unwrap().to_string(), "65532");
        assert_eq!(c.cap_add.len(), 2);
        assert_eq!(c.rlimits.len(), 3);
    }

    #[test]
    fn bad_hardening_values_are_one_line_errors() {
        for (args, needle) in [
            (vec!["--user", "", "x"], "--user"),
            (vec!["--user", "a:b:c", "x"], "--user"),
            (vec!["--cap-add", "NET_FLY", "x"], "NET_FLY"),
            (vec!["--cap-add", "ALL", "x"], "ALL"),
            (vec!["--rlimit", "nofile=10:5", "x"], "above hard"),
            (vec!["--rlimit", "bogus=1", "x"], "bogus"),
            (vec!["--umask", "0999", "x"], "--umask"),
        ] {
            let e = err(&args);
            assert!(e.contains(needle), "{args:?}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn restart_flags() {
        let c = run(&["x"]);
        assert_eq!(c.restart.policy, RestartPolicy::No);
        assert_eq!(
            (c.restart.limit, c.restart.window),
            (5, Duration::from_secs(60))
        );
        assert_eq!(c.restart.delay, Duration::from_millis(500));
        assert_eq!(c.restart.on_unhealthy, OnUnhealthy::Ignore);
        let c = run(&[
            "--restart",
            "on-failure",
            "--restart-delay",
            "1s",
            "--restart-max-delay",
            "4s",
            "--restart-limit",
            "3/10s",
            "--restart-stable",
            "2s",
            "--health-check",
            "exec:/bin/true",
            "--on-unhealthy",
            "restart",
            "x",
        ]);
        assert_eq!(c.restart.policy, RestartPolicy::OnFailure);
        assert_eq!(
            (c.restart.limit, c.restart.window),
            (3, Duration::from_secs(10))
        );
        assert_eq!(c.restart.on_unhealthy, OnUnhealthy::Restart);
        for (args, needle) in [
            (vec!["--restart", "sometimes", "x"], "--restart"),
            (vec!["--restart-limit", "5", "x"], "N/WINDOW"),
            (vec!["--restart-limit", "0/1s", "x"], "from 1"),
            (vec!["--restart-limit", "5/0", "x"], "longer than 0"),
            (
                vec!["--restart-delay", "5s", "--restart-max-delay", "1s", "x"],
                "shorter",
            ),
            (
                vec!["--on-unhealthy", "restart", "x"],
                "needs --health-check",
            ),
            (
                vec![
                    "--on-unhealthy",
                    "panic",
                    "--health-check",
                    "exec:/bin/true",
                    "x",
                ],
                "--on-unhealthy",
            ),
        ] {
            assert!(err(&args).contains(needle), "{args:?}: {}", err(&args));
        }
    }

    #[test]
    fn seccomp_choice() {
        assert_eq!(run(&["x"]).seccomp, Seccomp::Default);
        assert_eq!(
            run(&["--seccomp", "unconfined", "x"]).seccomp,
            Seccomp::Unconfined
        );
        assert_eq!(
            run(&["--seccomp", "/p.json", "x"]).seccomp,
            Seccomp::File("/p.json".into())
        );
        assert!(err(&["--allow-new-privs", "x"]).contains("--seccomp unconfined"));
        assert!(err(&["--seccomp", "", "x"]).contains("--seccomp"));
    }

    #[test]
    fn health_flags() {
        let c = run(&["true"]);
        assert_eq!(c.health.check, None);
        assert_eq!(c.health.interval, Duration::from_secs(30));
        assert_eq!(c.health.timeout, Duration::from_secs(30));
        assert_eq!(c.health.retries, 3);
        assert_eq!(c.health.start_period, Duration::ZERO);
        assert_eq!(c.health.listen, None);
        assert!(!c.health.metrics);
        let c = run(&[
            "--health-check",
            "http://127.0.0.1:8080/health",
            "--health-interval",
            "2s",
            "--health-retries",
            "1",
            "--health-listen",
            "0.0.0.0:8081",
            "--metrics",
            "--health-expect",
            "200,204",
            "x",
        ]);
        assert!(c.health.check.is_some() && c.health.metrics);
        assert_eq!(c.health.listen.unwrap().port(), 8081);
        for (args, needle) in [
            (vec!["--health-check", "ftp://x", "x"], "--health-check"),
            (vec!["--health-retries", "0", "x"], "--health-retries"),
            (vec!["--health-interval", "0", "x"], "longer than 0"),
            (vec!["--health-expect", "999-1", "x"], "--health-expect"),
            (vec!["--health-listen", "nowhere", "x"], "--health-listen"),
        ] {
            assert!(err(&args).contains(needle), "{args:?}: {}", err(&args));
        }
    }

    #[test]
    fn every_option_documented_and_named_once() {
        let h = help();
        for o in OPTIONS {
            assert!(h.contains(&format!("--{}", o.long)), "{}", o.long);
            assert_eq!(OPTIONS.iter().filter(|p| p.long == o.long).count(), 1);
        }
        assert_eq!(
            env_name("kill-process-group"),
            "PIDGUARD_KILL_PROCESS_GROUP"
        );
    }
}
