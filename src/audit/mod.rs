//! `pidguard audit [--json] [--strict]`: what a compromised program in this container could do, as
//! PASS / WARN / FAIL lines, each with what was seen and the fix.
//!
//! Why a separate process: the audit judges the process it runs as and the container around it,
//! so it runs where the program runs: `docker exec CONTAINER /pidguard audit` (it sees what
//! `docker exec` gives: the container's own capabilities and rlimits), or as the program itself,
//! `pidguard --user 65532 -- /pidguard audit` (it sees exactly what pidguard gives the program).
//! PID 1 is judged from the outside, through `/proc/1/status`, `comm` and `cmdline`, which stay
//! readable although pidguard makes PID 1 non-dumpable.
//!
//! Three stages, so that every verdict can be tested without a container:
//! - `facts`: reads /proc/self, /proc/1, /sys/fs/cgroup, /dev, the filesystem (a bounded setuid
//!   walk) and the environment's variable *names* into one `Facts` value; every read is bounded;
//! - `parse`: the pure parsers it uses (status, mountinfo, cgroup, uid_map, limits, /proc/net,
//!   secret-like names), each unit-tested in place;
//! - `checks`: `checks(&Facts) -> Vec<Check>`, pure, one function per check id ([`IDS`]).
//!
//! `recorded` (tests only) runs the file gathering and the checks on /proc and cgroup files
//! recorded in real containers, for both cgroup versions (tests/audit/).
//!
//! This file renders the report. Text: one line per check, `STATUS  ID  OBSERVED` aligned, with
//! `; fix: ...` appended to WARN and FAIL lines, then a summary line. `--json`: a stable document
//! for CI gates, `{"version":1,"checks":[{"id","status","observed","fix"}...],"summary":{...}}`, one
//! check per line. Exit status: 0 when nothing fails, 1 when something fails (with `--strict`, when
//! anything warns too), 125 for a usage error, as for pidguard's own errors.
//!
//! Nothing the audit prints comes from an environment value, a command line argument or a mount's
//! superblock options: those are where secrets live, so they are never read into the facts.

pub mod checks;
pub mod facts;
pub mod landlock;
pub mod parse;
#[cfg(test)]
mod recorded;

use std::ffi::OsString;
use std::io::Write;

pub use checks::{Check, IDS, Verdict, checks};
pub use facts::{Facts, gather};

use crate::cli::EXIT_USAGE;
use crate::json::json_string;

/// Exit status when a check fails (or, with `--strict`, warns).
pub const EXIT_FINDINGS: i32 = 1;

/// Version of the `--json` document; bumped only when a field changes meaning or disappears.
pub const JSON_VERSION: u32 = 1;

const USAGE: &str = "Usage: pidguard audit [--json] [--strict]\n\n\
Checks this container's hardening from the inside, as the process it runs as,\n\
and prints one line per check: PASS, WARN or FAIL, what it saw, and the fix.\n\
Run it as the program (pidguard --user 65532 -- /pidguard audit) or next to it\n\
(docker exec CONTAINER /pidguard audit).\n\n\
Options:\n\
\x20     --json\n        One JSON document: {\"version\":1,\"checks\":[{\"id\",\"status\",\n\
\x20       \"observed\",\"fix\"}],\"summary\"}\n\
\x20     --strict\n        Exit 1 on warnings too, not only on failures\n\
\x20 -h, --help\n        Print this help and exit\n\n\
Exit status: 0 when nothing fails, 1 when a check fails (or warns, with\n\
--strict), 125 on a usage error.\n";

/// What the command line asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    pub json: bool,
    pub strict: bool,
    pub help: bool,
}

/// Parses the arguments after `audit`.
pub fn parse_args(args: Vec<OsString>) -> Result<Options, String> {
    use lexopt::prelude::*;
    let mut opts = Options::default();
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        match arg {
            Long("json") => opts.json = true,
            Long("strict") => opts.strict = true,
            Short('h') | Long("help") => opts.help = true,
            Value(v) => return Err(format!("unexpected argument {:?}", v.to_string_lossy())),
            other => return Err(other.unexpected().to_string()),
        }
    }
    Ok(opts)
}

/// `(pass, warn, fail)`.
pub fn summary(checks: &[Check]) -> (usize, usize, usize) {
    let n = |v| checks.iter().filter(|c| c.verdict == v).count();
    (n(Verdict::Pass), n(Verdict::Warn), n(Verdict::Fail))
}

/// The exit status for these results.
pub fn exit_code(checks: &[Check], strict: bool) -> i32 {
    let (_, warn, fail) = summary(checks);
    if fail > 0 || (strict && warn > 0) {
        EXIT_FINDINGS
    } else {
        0
    }
}

/// The text report: aligned lines, then the summary.
pub fn render_text(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    for c in checks {
        let status = c.verdict.word().to_ascii_uppercase();
        out.push_str(&format!("{status}  {:<width$}  {}", c.id, c.observed));
        if c.verdict != Verdict::Pass && !c.fix.is_empty() {
            out.push_str("; fix: ");
            out.push_str(&c.fix);
        }
        out.push('\n');
    }
    let (pass, warn, fail) = summary(checks);
    out.push_str(&format!("summary: {pass} pass, {warn} warn, {fail} fail\n"));
    out
}

/// The `--json` document.
pub fn render_json(checks: &[Check]) -> String {
    let mut out = format!("{{\"version\":{JSON_VERSION},\"checks\":[\n");
    for (i, c) in checks.iter().enumerate() {
        out.push_str(&format!(
            "{{\"id\":{},\"status\":{},\"observed\":{},\"fix\":{}}}{}\n",
            json_string(c.id),
            json_string(c.verdict.word()),
            json_string(&c.observed),
            json_string(&c.fix),
            if i + 1 < checks.len() { "," } else { "" }
        ));
    }
    let (pass, warn, fail) = summary(checks);
    out.push_str(&format!(
        "],\"summary\":{{\"pass\":{pass},\"warn\":{warn},\"fail\":{fail}}}}}\n"
    ));
    out
}

/// `pidguard audit ...`; `args` are the arguments after `audit`.
pub fn main(args: Vec<OsString>) -> i32 {
    let opts = match parse_args(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("pidguard: error: audit: {e}");
            return EXIT_USAGE;
        }
    };
    if opts.help {
        print!("{USAGE}");
        return 0;
    }
    let results = checks(&gather());
    let report = if opts.json {
        render_json(&results)
    } else {
        render_text(&results)
    };
    // A closed stdout (`| head`) leaves the verdict to the exit status.
    let _ = std::io::stdout().lock().write_all(report.as_bytes());
    exit_code(&results, opts.strict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::json::{self, Value};

    fn c(id: &'static str, verdict: Verdict, observed: &str, fix: &str) -> Check {
        Check {
            id,
            verdict,
            observed: observed.into(),
            fix: fix.into(),
        }
    }

    fn sample() -> Vec<Check> {
        vec![
            c("identity.uid", Verdict::Pass, "uid 65532 (not root)", ""),
            c("lsm.label", Verdict::Warn, "no \"LSM\"", "enable it"),
            c("env.secrets", Verdict::Fail, "DB_PASSWORD", "use files"),
        ]
    }

    #[test]
    fn arguments() {
        let a = |v: &[&str]| parse_args(v.iter().map(OsString::from).collect());
        assert_eq!(a(&[]), Ok(Options::default()));
        assert_eq!(
            a(&["--json", "--strict"]),
            Ok(Options {
                json: true,
                strict: true,
                help: false
            })
        );
        assert!(a(&["-h"]).unwrap().help);
        assert!(a(&["--jsn"]).unwrap_err().contains("--jsn"));
        assert!(a(&["now"]).unwrap_err().contains("now"));
        assert!(a(&["--json=yes"]).is_err());
    }

    #[test]
    fn exit_codes() {
        let s = sample();
        assert_eq!(exit_code(&s, false), 1);
        assert_eq!(exit_code(&s[..2], false), 0);
        assert_eq!(exit_code(&s[..2], true), 1);
        assert_eq!(exit_code(&s[..1], true), 0);
    }

    #[test]
    fn text_is_aligned_with_fixes_on_findings() {
        let t = render_text(&sample());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "PASS  identity.uid  uid 65532 (not root)");
        assert_eq!(lines[1], "WARN  lsm.label     no \"LSM\"; fix: enable it");
        assert_eq!(lines[2], "FAIL  env.secrets   DB_PASSWORD; fix: use files");
        assert_eq!(lines[3], "summary: 1 pass, 1 warn, 1 fail");
    }

    #[test]
    fn json_is_valid_and_stable() {
        let doc = render_json(&sample());
        let Value::Object(top) = json::parse(doc.as_bytes()).unwrap() else {
            panic!("not an object: {doc}")
        };
        let keys: Vec<&str> = top.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec!["version", "checks", "summary"]);
        let Value::Array(items) = &top[1].1 else {
            panic!()
        };
        let Value::Object(first) = &items[1] else {
            panic!()
        };
        let fields: Vec<(&str, &Value)> = first.iter().map(|(k, v)| (k.as_str(), v)).collect();
        assert_eq!(
            fields,
            vec![
                ("id", &Value::String("lsm.label".into())),
                ("status", &Value::String("warn".into())),
                ("observed", &Value::String("no \"LSM\"".into())),
                ("fix", &Value::String("enable it".into())),
            ]
        );
        assert!(doc.ends_with("],\"summary\":{\"pass\":1,\"warn\":1,\"fail\":1}}\n"));
        assert!(json::parse(render_json(&[]).as_bytes()).is_ok());
    }
}
