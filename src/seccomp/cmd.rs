//! `pidguard seccomp ...`: the profile tools.
//! - `export [default] [--oci]`: the built-in profile as JSON, so that the same policy can be handed
//!   to Docker (`--security-opt seccomp=FILE`), Podman, Kubernetes (`localhost/` profiles) or, with
//!   `--oci`, to runc in an OCI bundle's `linux.seccomp`.
//! - `merge A.json B.json ...`: the union of recorded profiles (merge.rs).
//! - `recorded`: the profile PID 1 is recording (`--seccomp-record`), fetched over the status socket,
//!   so that a read-only container needs no writable path for it.
//!
//! Every failure is one line on stderr and exit code 125; the JSON goes to stdout only when complete.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::{
    MAX_PROFILE_BYTES, compile_for, default_profile, export_json, export_oci_json, load_profile,
    native_target, parse_profile,
};
use crate::error::EXIT_USAGE;

const USAGE: &str = "usage: pidguard seccomp export [default] [--oci]\n\
\x20      pidguard seccomp merge PROFILE.json...\n\
\x20      pidguard seccomp recorded [--timeout DURATION]\n\n\
export    prints pidguard's built-in default profile as JSON: Docker's format\n\
\x20         (docker run --security-opt seccomp=FILE, Podman, Kubernetes), or with\n\
\x20         --oci the OCI runtime-spec format for this machine (runc config.json).\n\
merge     prints one profile that allows what any of the given profiles allows\n\
\x20         (recordings of several runs); order and grouping do not matter.\n\
recorded  prints the profile PID 1 has recorded so far (--seccomp-record),\n\
\x20         through the status socket: run it in the container (docker exec).\n\
Errors: one line on stderr, exit code 125.\n";

use crate::health::RECORDED_PATH;

/// How long `recorded` waits for PID 1 by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

fn fail(what: &str, why: impl std::fmt::Display) -> i32 {
    eprintln!("pidguard: error: seccomp {what}: {why}");
    EXIT_USAGE
}

/// Runs the subcommand; returns the exit code (0, or 125).
pub fn main(args: Vec<OsString>) -> i32 {
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("export") => export(rest),
        Some("merge") => merge(rest),
        Some("recorded") => recorded(rest),
        Some("-h" | "--help") => {
            print!("{USAGE}");
            0
        }
        other => {
            eprintln!(
                "pidguard: error: seccomp: expected export, merge or recorded, got {:?} (see \
                 pidguard seccomp --help)",
                other.unwrap_or("nothing")
            );
            EXIT_USAGE
        }
    }
}

/// `-h`/`--help` anywhere after the subcommand's name.
fn wants_help(args: &[String]) -> bool {
    args.iter().any(|a| a == "-h" || a == "--help")
}

fn export(args: &[String]) -> i32 {
    if wants_help(args) {
        print!("{USAGE}");
        return 0;
    }
    let (mut oci, mut profile_named) = (false, false);
    for a in args {
        match a.as_str() {
            "--oci" => oci = true,
            "default" if !profile_named => profile_named = true,
            _ => {
                return fail(
                    "export",
                    format!("unknown argument {a:?}: only `default` and --oci"),
                );
            }
        }
    }
    let profile = default_profile();
    let text = if oci {
        match native_target(0).and_then(|t| export_oci_json(&profile, &t)) {
            Ok(t) => t,
            Err(e) => return fail("export", e),
        }
    } else {
        export_json(&profile)
    };
    println!("{}", text.trim_end());
    0
}

fn merge(args: &[String]) -> i32 {
    if wants_help(args) {
        print!("{USAGE}");
        return 0;
    }
    if args.is_empty() {
        return fail("merge", "give one or more profile files (JSON)");
    }
    if let Some(flag) = args.iter().find(|a| a.starts_with('-')) {
        return fail(
            "merge",
            format!("unknown option {flag:?}: give profile files only"),
        );
    }
    let mut profiles = Vec::with_capacity(args.len());
    for a in args {
        match load_profile(Path::new(a)) {
            Ok(p) => profiles.push(p),
            Err(e) => return fail("merge", e),
        }
    }
    let merged = match super::merge::merge(&profiles) {
        Ok(m) => m,
        Err(e) => return fail("merge", e),
    };
    // What --seccomp would refuse must not be printed as if it were usable.
    if let Err(e) = native_target(0).and_then(|t| compile_for(&merged, &t, &[])) {
        return fail("merge", format!("the merged profile does not compile: {e}"));
    }
    println!("{}", export_json(&merged).trim_end());
    0
}

fn recorded(args: &[String]) -> i32 {
    if wants_help(args) {
        print!("{USAGE}");
        return 0;
    }
    let mut timeout = DEFAULT_TIMEOUT;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = match (a.as_str(), a.strip_prefix("--timeout=")) {
            ("--timeout", _) => it.next().map(String::as_str),
            (_, Some(v)) => Some(v),
            _ => {
                return fail(
                    "recorded",
                    format!("unknown argument {a:?}: only --timeout"),
                );
            }
        };
        match value.map(crate::duration::parse) {
            Some(Ok(d)) if !d.is_zero() => timeout = d,
            _ => return fail("recorded", "--timeout needs a duration such as 5s"),
        }
    }
    let name = crate::health::status_socket_name();
    match crate::health::client::fetch(&name, RECORDED_PATH, timeout, MAX_PROFILE_BYTES) {
        Ok((200, body)) => match parse_profile(&body) {
            Ok(p) => {
                let text = export_json(&p);
                let mut out = std::io::stdout().lock();
                match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                    Ok(()) => 0,
                    Err(e) => fail("recorded", format!("cannot write the profile: {e}")),
                }
            }
            Err(e) => fail(
                "recorded",
                format!("@{name} answered something that is not a profile: {e}"),
            ),
        },
        Ok((404, _)) => fail(
            "recorded",
            format!(
                "pidguard on @{name} is not recording: start it with --seccomp-record FILE (or -)"
            ),
        ),
        Ok((code, _)) => fail("recorded", format!("@{name} answered {code}")),
        Err(e) => fail("recorded", format!("status socket @{name}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn help_is_answered_wherever_it_is_asked() {
        let run = |args: &[&str]| super::main(args.iter().map(Into::into).collect());
        for args in [
            &["--help"][..],
            &["export", "--help"],
            &["export", "--oci", "-h"],
            &["merge", "--help"],
            &["recorded", "-h"],
        ] {
            assert_eq!(run(args), 0, "{args:?}");
        }
        assert_eq!(run(&["export", "--bogus"]), crate::error::EXIT_USAGE);
        assert_eq!(run(&["merge"]), crate::error::EXIT_USAGE);
        assert_eq!(
            run(&["recorded", "--timeout", "0s"]),
            crate::error::EXIT_USAGE
        );
        assert_eq!(run(&["nope"]), crate::error::EXIT_USAGE);
    }

    #[test]
    fn usage_fits_80_columns() {
        assert!(super::USAGE.lines().all(|l| l.chars().count() <= 80));
    }
}
