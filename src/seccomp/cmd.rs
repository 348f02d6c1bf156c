//! `pidguard seccomp export [default] [--oci]`: the built-in profile as JSON, so that the same policy
//! can be handed to Docker (`--security-opt seccomp=FILE`), Podman, Kubernetes (`localhost/` profiles)
//! or, with `--oci`, to runc in an OCI bundle's `linux.seccomp`.

use std::ffi::OsString;

use super::{default_profile, export_json, export_oci_json, native_target};

const USAGE: &str = "usage: pidguard seccomp export [default] [--oci]\n\n\
Prints pidguard's built-in default seccomp profile as JSON: Docker's format\n\
(for docker run --security-opt seccomp=FILE, Podman and Kubernetes), or with\n\
--oci the OCI runtime-spec format resolved for this machine (for runc's\n\
config.json linux.seccomp).\n";

/// Runs the subcommand; returns the exit code (0, or 125 for a usage error).
pub fn main(args: Vec<OsString>) -> i32 {
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut rest = args.iter().map(String::as_str);
    let (mut oci, mut profile_named) = (false, false);
    match rest.next() {
        Some("export") => {}
        Some("-h" | "--help") => {
            print!("{USAGE}");
            return 0;
        }
        other => {
            eprintln!(
                "pidguard: error: seccomp: expected `export`, got {:?} (see pidguard seccomp --help)",
                other.unwrap_or("nothing")
            );
            return crate::cli::EXIT_USAGE;
        }
    }
    for a in rest {
        match a {
            "-h" | "--help" => {
                print!("{USAGE}");
                return 0;
            }
            "--oci" => oci = true,
            "default" if !profile_named => profile_named = true,
            _ => {
                eprintln!(
                    "pidguard: error: seccomp export: unknown argument {a:?}: only `default` and --oci"
                );
                return crate::cli::EXIT_USAGE;
            }
        }
    }
    let profile = default_profile();
    let text = if oci {
        match native_target(0).and_then(|t| export_oci_json(&profile, &t)) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("pidguard: error: seccomp export: {e}");
                return crate::cli::EXIT_USAGE;
            }
        }
    } else {
        export_json(&profile)
    };
    println!("{}", text.trim_end());
    0
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
        ] {
            assert_eq!(run(args), 0, "{args:?}");
        }
        assert_eq!(run(&["export", "--bogus"]), crate::cli::EXIT_USAGE);
    }
}
