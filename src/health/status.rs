//! `pidguard status`: what PID 1 knows about the program it supervises, asked from inside the
//! container (`docker exec C /pidguard status`, `kubectl exec`).
//!
//! PID 1 answers two paths on its status socket, never on `--health-listen` (which may be reachable
//! from outside): `/status` (one JSON object, `--json`) and `/status/text` (a few lines for people).
//! Both are rendered here from a [`Snapshot`], so the two forms cannot disagree, and PID 1 renders
//! them only when asked: its loop does no work and no allocation for `status` until a request comes
//! in, and then builds one bounded body, as it does for `/metrics`.
//!
//! What it tells is what `docker inspect` and `/proc/1/cmdline` already tell a process of the
//! container: the command line, the identity and hardening the program got, its state, restarts and
//! last exit, its health and the last check's output, and PID 1's own counters. Never the
//! environment (where secrets live). Two fences keep it to the container:
//! - the client believes only its own pidguard (`super::peer::check`, as `probe` does), so a
//!   squatter on the name cannot feed it a made-up status;
//! - PID 1 answers `/status` only to a client of its own PID namespace (`SO_PEERCRED` gives pid 0
//!   for any other): a sidecar that shares the network namespace but not the PID namespace can
//!   reach the socket, and gets 403. One that shares the PID namespace too can read
//!   `/proc/1/cmdline` anyway. The program itself cannot reach PID 1's abstract sockets at all
//!   where Landlock scopes it (kernel 6.12+), and elsewhere learns only about itself.
//!
//! Every field is bounded: the command line is cut at [`MAX_COMMAND`] bytes, the check and its
//! last output at [`MAX_CHECK`] bytes (PID 1 keeps at most 300 characters of that output anyway);
//! the rest are numbers and fixed words, so a body stays under 8 KiB.
//!
//! Exit codes follow `probe`: 0 when PID 1 answered (whatever the program's health), 1 when it
//! could not be asked (nothing listens, someone else holds the name, no answer in time), with one
//! line on stderr saying why; and 125 for a bad command line, as every other subcommand but
//! `probe` (whose 1 is for Docker's HEALTHCHECK, which `status` is not).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::time::Duration;

use crate::error::EXIT_USAGE;
use crate::json::write_escaped;
use crate::log::Elapsed;

/// The JSON form, served on the status socket only.
pub const PATH: &str = "/status";
/// The human lines, served on the status socket only.
pub const TEXT_PATH: &str = "/status/text";
/// Most bytes of the command line told; longer ones end with `...`.
pub const MAX_COMMAND: usize = 256;
/// Most bytes of the check target and of its last output told.
pub const MAX_CHECK: usize = 1024;
/// Largest `/status` body the client reads: the bounded fields above, escaped, fit many times over.
const MAX_STATUS_BODY: usize = 64 * 1024;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

const USAGE: &str = "\
usage: pidguard status [--json] [--timeout DURATION]

Asks this container's pidguard (PID 1) what it knows: the program's pid,
command, identity, state, uptime, restarts and last exit, its health and the
last check's output, and PID 1's own uptime and counters. Run it inside the
container: docker exec C /pidguard status.

  --json             one JSON object instead of lines
  -t, --timeout DUR  time allowed for the answer (default 5s)
  -h, --help         this text

Exit: 0 answered, 1 no answer from this container's pidguard (one line on
stderr says why), 125 bad usage.
";

/// What does not change while PID 1 runs, rendered once at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fixed {
    /// The program and its arguments, space-separated, cut at `MAX_COMMAND`.
    pub command: String,
    /// `--health-check`, cut at `MAX_CHECK`; empty without one.
    pub check: String,
    pub uid: u32,
    pub gid: u32,
    /// Capabilities kept, `CAP_...` names separated by commas; empty: none.
    pub caps: String,
    pub no_new_privs: bool,
    /// `default`, `unconfined`, `profile PATH`, with ` (recording)` under `--seccomp-record`.
    pub seccomp: String,
    /// The program is kept off PID 1's signals and abstract sockets by Landlock.
    pub landlock: bool,
    /// `--read-only` in force: the `--writable` paths (empty: none). None without it, or when
    /// best-effort mode could not enforce it.
    pub read_only: Option<Vec<String>>,
}

/// The program's last end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastExit<'a> {
    /// The exit code, 128+N after signal N.
    pub code: i32,
    pub signal: Option<&'a str>,
    pub core_dumped: bool,
    /// How long it ran; None when a restart could not start it.
    pub ran: Option<Duration>,
    pub ago: Duration,
}

/// Everything `status` tells, borrowed from PID 1 at the time of the request.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    pub fixed: &'a Fixed,
    /// The program's pid (its last one while it is not running).
    pub pid: i32,
    /// `starting`, `running`, `stopping`, `backing off`, ... (`init::state::Machine::phase_name`).
    pub state: &'static str,
    /// Since when its process has been running, while it is.
    pub running_for: Option<Duration>,
    /// While backing off: how long until the restart.
    pub restart_in: Option<Duration>,
    pub restarts: u64,
    pub last_exit: Option<LastExit<'a>>,
    /// `none` (no app check), `starting`, `healthy`, `unhealthy`, or `down` (there is a check
    /// but the program is not running).
    pub health: &'static str,
    pub live: bool,
    pub ready: bool,
    /// The last check's first line of output; empty before the first.
    pub check_output: &'a str,
    pub checks_passed: u64,
    pub checks_failed: u64,
    pub pid1: u32,
    pub pid1_up: Duration,
    pub zombies_reaped: u64,
    /// Signals forwarded, indexed by number, and the signals' names by number.
    pub forwarded: &'a [u64],
    pub names: &'a [&'a str],
}

/// The first `max` bytes of `text` (at a character boundary), `...` appended when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 3);
    out.push_str(&text[..end]);
    out.push_str("...");
    out
}

/// How the last exit reads: `killed by SIGKILL`, `exited with 3`, `could not be started (127)`.
fn reason(out: &mut String, last: &LastExit) {
    match (last.signal, last.ran) {
        (Some(sig), _) => {
            out.push_str("killed by ");
            out.push_str(sig);
            if last.core_dumped {
                out.push_str(" (core dumped)");
            }
        }
        (None, None) => {
            let _ = write!(out, "could not be started ({})", last.code);
        }
        (None, Some(_)) => {
            let _ = write!(out, "exited with {}", last.code);
        }
    }
}

/// `text` on one line: control characters (a newline from a check, an escape sequence in an
/// argument) become spaces, so a field cannot forge another line or drive the terminal.
fn push_line(out: &mut String, text: &str) {
    out.extend(text.chars().map(|c| if c.is_control() { ' ' } else { c }));
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Snapshot<'_> {
    fn forwarded(&self) -> impl Iterator<Item = (&str, u64)> {
        self.forwarded
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(sig, &n)| (self.names.get(sig).copied().unwrap_or("?"), n))
    }

    /// The `/status` body: one JSON object (README, "pidguard status").
    pub fn json(&self) -> String {
        let mut o = String::with_capacity(1024);
        let f = self.fixed;
        let str_or_null = |o: &mut String, s: &str| {
            if s.is_empty() {
                o.push_str("null");
            } else {
                let _ = write_escaped(o, s);
            }
        };
        let ms_or_null = |o: &mut String, d: Option<Duration>| match d {
            Some(d) => {
                let _ = write!(o, "{}", ms(d));
            }
            None => o.push_str("null"),
        };
        let _ = write!(
            o,
            "{{\"version\":1,\"program\":{{\"pid\":{},\"command\":",
            self.pid
        );
        let _ = write_escaped(&mut o, &f.command);
        o.push_str(",\"state\":");
        let _ = write_escaped(&mut o, self.state);
        o.push_str(",\"uptime_ms\":");
        ms_or_null(&mut o, self.running_for);
        o.push_str(",\"restart_in_ms\":");
        ms_or_null(&mut o, self.restart_in);
        let _ = write!(o, ",\"restarts\":{},\"last_exit\":", self.restarts);
        match &self.last_exit {
            None => o.push_str("null"),
            Some(last) => {
                let _ = write!(o, "{{\"code\":{},\"signal\":", last.code);
                str_or_null(&mut o, last.signal.unwrap_or(""));
                let mut why = String::new();
                reason(&mut why, last);
                o.push_str(",\"reason\":");
                let _ = write_escaped(&mut o, &why);
                o.push_str(",\"ran_ms\":");
                ms_or_null(&mut o, last.ran);
                let _ = write!(o, ",\"ago_ms\":{}}}", ms(last.ago));
            }
        }
        let _ = write!(
            o,
            "}},\"identity\":{{\"uid\":{},\"gid\":{},\"capabilities\":[",
            f.uid, f.gid
        );
        for (i, cap) in f.caps.split(',').filter(|c| !c.is_empty()).enumerate() {
            if i > 0 {
                o.push(',');
            }
            let _ = write_escaped(&mut o, cap);
        }
        let _ = write!(o, "],\"no_new_privs\":{},\"seccomp\":", f.no_new_privs);
        let _ = write_escaped(&mut o, &f.seccomp);
        let _ = write!(o, ",\"landlock\":{},\"read_only\":", f.landlock);
        match &f.read_only {
            None => o.push_str("false,\"writable\":[]"),
            Some(paths) => {
                o.push_str("true,\"writable\":[");
                for (i, path) in paths.iter().enumerate() {
                    if i > 0 {
                        o.push(',');
                    }
                    let _ = write_escaped(&mut o, path);
                }
                o.push(']');
            }
        }
        o.push_str("},\"health\":{\"check\":");
        str_or_null(&mut o, &f.check);
        o.push_str(",\"state\":");
        let _ = write_escaped(&mut o, self.health);
        let _ = write!(
            o,
            ",\"live\":{},\"ready\":{},\"last_output\":",
            self.live, self.ready
        );
        str_or_null(&mut o, self.check_output);
        let _ = write!(
            o,
            ",\"passed\":{},\"failed\":{}}},\"pid1\":{{\"pid\":{},\"uptime_ms\":{},\"zombies_reaped\":{},\"signals_forwarded\":{{",
            self.checks_passed,
            self.checks_failed,
            self.pid1,
            ms(self.pid1_up),
            self.zombies_reaped
        );
        for (i, (name, n)) in self.forwarded().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let _ = write_escaped(&mut o, name);
            let _ = write!(o, ":{n}");
        }
        o.push_str("}}}");
        o
    }

    /// The `/status/text` body: a few lines for people (README, "pidguard status").
    pub fn text(&self) -> String {
        let mut o = String::with_capacity(1024);
        let f = self.fixed;
        let _ = write!(o, "program:  pid {}, {}", self.pid, self.state);
        if let Some(up) = self.running_for {
            let _ = write!(o, " for {}", Elapsed(up));
        }
        if let Some(d) = self.restart_in {
            let _ = write!(o, ", restart in {}", Elapsed(d));
        }
        o.push_str("\ncommand:  ");
        push_line(&mut o, &f.command);
        let _ = write!(o, "\nrestarts: {}", self.restarts);
        if let Some(last) = &self.last_exit {
            o.push_str("; last exit: ");
            reason(&mut o, last);
            if let Some(ran) = last.ran {
                let _ = write!(o, " after {}", Elapsed(ran));
            }
            let _ = write!(o, ", {} ago", Elapsed(last.ago));
        }
        let _ = write!(
            o,
            "\nidentity: uid {} gid {}, capabilities {}, no_new_privs {}, seccomp {}, landlock {}",
            f.uid,
            f.gid,
            if f.caps.is_empty() { "none" } else { &f.caps },
            on_off(f.no_new_privs),
            f.seccomp,
            on_off(f.landlock)
        );
        if let Some(paths) = &f.read_only {
            o.push_str(", read-only root (writable: ");
            if paths.is_empty() {
                o.push_str("nothing");
            }
            for (i, path) in paths.iter().enumerate() {
                if i > 0 {
                    o.push_str(", ");
                }
                push_line(&mut o, path);
            }
            o.push(')');
        }
        o.push('\n');
        let _ = write!(
            o,
            "health:   {}, {}",
            self.health,
            if self.ready { "ready" } else { "not ready" }
        );
        if !f.check.is_empty() {
            o.push_str("; check ");
            push_line(&mut o, &f.check);
            let _ = write!(
                o,
                " (passed {}, failed {})",
                self.checks_passed, self.checks_failed
            );
        }
        if !self.check_output.is_empty() {
            o.push_str("; last output: ");
            push_line(&mut o, self.check_output);
        }
        let _ = write!(
            o,
            "\npidguard: pid {}, up {}, processes reaped: {}, signals forwarded:",
            self.pid1,
            Elapsed(self.pid1_up),
            self.zombies_reaped
        );
        let mut any = false;
        for (name, n) in self.forwarded() {
            let _ = write!(o, " {name} {n}");
            any = true;
        }
        if !any {
            o.push_str(" none");
        }
        o.push('\n');
        o
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

fn fail(why: impl std::fmt::Display) -> i32 {
    eprintln!("pidguard status: {why}");
    1
}

fn usage(why: impl std::fmt::Display) -> i32 {
    eprintln!("pidguard: error: status: {why} (see pidguard status --help)");
    EXIT_USAGE
}

/// The whole subcommand; `args` are the words after `status`. Returns the exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    let mut json = false;
    let mut timeout = DEFAULT_TIMEOUT;
    let mut it = args.iter().map(|a| a.to_string_lossy());
    while let Some(a) = it.next() {
        let value = match (&*a, a.strip_prefix("--timeout=")) {
            ("-h" | "--help", _) => {
                print!("{USAGE}");
                return 0;
            }
            ("--json", _) => {
                json = true;
                continue;
            }
            ("-t" | "--timeout", _) => it.next(),
            (_, Some(v)) => Some(v.to_string().into()),
            _ => {
                return usage(format_args!(
                    "unknown argument {:?}: only --json and --timeout",
                    clip(&a, 100)
                ));
            }
        };
        match value.as_deref().map(crate::duration::parse) {
            Some(Ok(d)) if !d.is_zero() => timeout = d,
            _ => return usage("--timeout needs a duration above 0, such as 5s"),
        }
    }
    let name = super::status_socket_name();
    let path = if json { PATH } else { TEXT_PATH };
    match super::client::fetch(&name, path, timeout, MAX_STATUS_BODY) {
        Ok((200, body)) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let newline: &[u8] = if body.ends_with(b"\n") { b"" } else { b"\n" };
            match out
                .write_all(&body)
                .and_then(|()| out.write_all(newline))
                .and_then(|()| out.flush())
            {
                Ok(()) => 0,
                Err(e) => fail(format_args!("cannot write the answer: {e}")),
            }
        }
        Ok((403, _)) => fail(format_args!(
            "pidguard on @{name} answers /status only inside its own PID namespace: run this in \
             the container (docker exec, kubectl exec, nsenter --pid --mount --net)"
        )),
        Ok((404, _)) => fail(format_args!(
            "pidguard on @{name} does not serve {path}: it is older than `pidguard status`"
        )),
        Ok((code, _)) => fail(format_args!("pidguard on @{name} answered {code}")),
        Err(e) => fail(format_args!("status socket @{name}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed() -> Fixed {
        Fixed {
            command: "/bin/sleep 300".into(),
            check: "exec:/bin/sh,-c,echo \"disk\" full; exit 1".into(),
            uid: 65532,
            gid: 65532,
            caps: "CAP_NET_BIND_SERVICE,CAP_KILL".into(),
            no_new_privs: true,
            seccomp: "default".into(),
            landlock: true,
            read_only: None,
        }
    }

    fn names() -> Vec<&'static str> {
        crate::signals::BY_NUMBER.to_vec()
    }

    fn snapshot<'a>(f: &'a Fixed, names: &'a [&'a str], fwd: &'a [u64]) -> Snapshot<'a> {
        Snapshot {
            fixed: f,
            pid: 7,
            state: "backing off",
            running_for: None,
            restart_in: Some(Duration::from_millis(400)),
            restarts: 1,
            last_exit: Some(LastExit {
                code: 137,
                signal: Some("SIGKILL"),
                core_dumped: false,
                ran: Some(Duration::from_millis(12_400)),
                ago: Duration::from_millis(100),
            }),
            health: "unhealthy",
            live: true,
            ready: false,
            check_output: "disk \"full\"\u{1b}[2J\nx",
            checks_passed: 2,
            checks_failed: 3,
            pid1: 1,
            pid1_up: Duration::from_secs(63),
            zombies_reaped: 4,
            forwarded: fwd,
            names,
        }
    }

    #[test]
    fn json_has_every_field_escaped() {
        let (f, n) = (fixed(), names());
        let mut fwd = vec![0; 65];
        fwd[15] = 1;
        fwd[1] = 2;
        let j = snapshot(&f, &n, &fwd).json();
        assert_eq!(
            j,
            "{\"version\":1,\"program\":{\"pid\":7,\"command\":\"/bin/sleep 300\",\
             \"state\":\"backing off\",\"uptime_ms\":null,\"restart_in_ms\":400,\"restarts\":1,\
             \"last_exit\":{\"code\":137,\"signal\":\"SIGKILL\",\"reason\":\"killed by SIGKILL\",\
             \"ran_ms\":12400,\"ago_ms\":100}},\"identity\":{\"uid\":65532,\"gid\":65532,\
             \"capabilities\":[\"CAP_NET_BIND_SERVICE\",\"CAP_KILL\"],\"no_new_privs\":true,\
             \"seccomp\":\"default\",\"landlock\":true,\"read_only\":false,\"writable\":[]},\
             \"health\":{\"check\":\
             \"exec:/bin/sh,-c,echo \\\"disk\\\" full; exit 1\",\"state\":\"unhealthy\",\
             \"live\":true,\"ready\":false,\"last_output\":\"disk \\\"full\\\"\\u001b[2J\\nx\",\
             \"passed\":2,\"failed\":3},\"pid1\":{\"pid\":1,\"uptime_ms\":63000,\
             \"zombies_reaped\":4,\"signals_forwarded\":{\"SIGHUP\":2,\"SIGTERM\":1}}}"
        );
    }

    #[test]
    fn json_nulls_and_empty_lists() {
        let f = Fixed {
            caps: String::new(),
            check: String::new(),
            ..fixed()
        };
        let n = names();
        let fwd = vec![0; 65];
        let s = Snapshot {
            last_exit: None,
            check_output: "",
            running_for: Some(Duration::from_secs(2)),
            restart_in: None,
            ..snapshot(&f, &n, &fwd)
        };
        let j = s.json();
        assert!(j.contains("\"capabilities\":[],"), "{j}");
        assert!(j.contains("\"check\":null,"), "{j}");
        assert!(j.contains("\"last_output\":null,"), "{j}");
        assert!(j.contains("\"last_exit\":null}"), "{j}");
        assert!(
            j.contains("\"uptime_ms\":2000,\"restart_in_ms\":null"),
            "{j}"
        );
        assert!(j.ends_with("\"signals_forwarded\":{}}}"), "{j}");
    }

    #[test]
    fn text_is_a_few_clean_lines() {
        let (f, n) = (fixed(), names());
        let mut fwd = vec![0; 65];
        fwd[15] = 1;
        let t = snapshot(&f, &n, &fwd).text();
        assert_eq!(
            t,
            "program:  pid 7, backing off, restart in 0.4s\n\
             command:  /bin/sleep 300\n\
             restarts: 1; last exit: killed by SIGKILL after 12.4s, 0.1s ago\n\
             identity: uid 65532 gid 65532, capabilities CAP_NET_BIND_SERVICE,CAP_KILL, \
             no_new_privs on, seccomp default, landlock on\n\
             health:   unhealthy, not ready; check exec:/bin/sh,-c,echo \"disk\" full; exit 1 \
             (passed 2, failed 3); last output: disk \"full\" [2J x\n\
             pidguard: pid 1, up 1m3s, processes reaped: 4, signals forwarded: SIGTERM 1\n"
        );
        assert_eq!(t.lines().count(), 6);
    }

    #[test]
    fn read_only_root_shows_what_is_writable() {
        let n = names();
        let fwd = vec![0; 65];
        for (paths, text, json) in [
            (
                &["/tmp", "/app/cache"][..],
                ", read-only root (writable: /tmp, /app/cache)\n",
                "\"read_only\":true,\"writable\":[\"/tmp\",\"/app/cache\"]}",
            ),
            (
                // A path is one entry whatever it holds.
                &["/data, old"][..],
                ", read-only root (writable: /data, old)\n",
                "\"read_only\":true,\"writable\":[\"/data, old\"]}",
            ),
            (
                &[][..],
                ", read-only root (writable: nothing)\n",
                "\"read_only\":true,\"writable\":[]}",
            ),
        ] {
            let f = Fixed {
                read_only: Some(paths.iter().map(|p| p.to_string()).collect()),
                ..fixed()
            };
            let s = snapshot(&f, &n, &fwd);
            assert!(s.text().contains(text), "{}", s.text());
            assert!(s.json().contains(json), "{}", s.json());
        }
    }

    #[test]
    fn exits_read_as_their_reason() {
        let mut s = String::new();
        let last = LastExit {
            code: 127,
            signal: None,
            core_dumped: false,
            ran: None,
            ago: Duration::ZERO,
        };
        reason(&mut s, &last);
        assert_eq!(s, "could not be started (127)");
        s.clear();
        reason(
            &mut s,
            &LastExit {
                code: 3,
                ran: Some(Duration::ZERO),
                ..last
            },
        );
        assert_eq!(s, "exited with 3");
        s.clear();
        reason(
            &mut s,
            &LastExit {
                code: 139,
                signal: Some("SIGSEGV"),
                core_dumped: true,
                ..last
            },
        );
        assert_eq!(s, "killed by SIGSEGV (core dumped)");
    }

    #[test]
    fn clip_cuts_at_characters() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "abc...");
        assert_eq!(clip("aé", 2), "a...");
        assert!(clip(&"x".repeat(10_000), MAX_COMMAND).len() <= MAX_COMMAND + 3);
    }

    #[test]
    fn usage_fits_80_columns_and_bad_flags_are_125() {
        assert!(USAGE.lines().all(|l| l.chars().count() <= 80));
        let run = |a: &[&str]| main(a.iter().map(Into::into).collect());
        assert_eq!(run(&["--help"]), 0);
        assert_eq!(run(&["--bogus"]), EXIT_USAGE);
        assert_eq!(run(&["--timeout", "0s"]), EXIT_USAGE);
        assert_eq!(run(&["--timeout=x"]), EXIT_USAGE);
        assert_eq!(run(&["-t"]), EXIT_USAGE);
    }
}
