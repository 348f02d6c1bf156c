//! Seccomp profiles: load Docker/OCI JSON, export the built-in default, compile to BPF.
//!
//! Why pidguard filters syscalls at all: dropping capabilities stops a compromised program from
//! *using* privileged kernel features, but every syscall is still kernel attack surface. Docker's
//! default profile is the well-tested line between what ordinary programs need and what they do
//! not (namespaces, mounts, keyrings, BPF, kexec, io_uring, ...), so `--seccomp default` gives
//! exactly that to a program started by pidguard, with or without Docker around it, plus a ban on
//! terminal input injection (`ioctl(TIOCSTI)`/`ioctl(TIOCLINUX)`).
//!
//! The pieces, in the order data flows:
//! - `json.rs`: a strict, bounded JSON parser (no serde here), fuzzed.
//! - `profile.rs`: the profile model and its Docker JSON form, both ways.
//! - `default.rs`: the built-in profile, rule by rule with its source in moby.
//! - `syscalls.rs`: name → number for x86_64 and aarch64.
//! - `compile.rs`: Docker's and runc's rule semantics, then our own BPF generation.
//!
//! Why not seccompiler's front end or back end: its JSON reader drops an argument-less rule when
//! the same syscall also has an argument rule (a narrower filter than the user wrote, and a
//! different one than Docker's), and its filters have a single match action, while Docker's
//! default needs three outcomes (allow, EPERM, ENOSYS for `clone3`). seccompiler still provides the
//! `BpfProgram` type the installer uses.
//!
//! Compile cost: the default profile compiles in well under a millisecond (see the
//! `size_and_speed_of_the_default` test), so it is compiled at start-up rather than in build.rs:
//! precompiling would also have to fix the capability set and kernel version at build time.
//!
//! The caller compiles before fork and installs between fork and exec, after
//! `PR_SET_NO_NEW_PRIVS`: compiling allocates, installing (one seccomp(2) call per filter, see
//! [`to_libc`] for a libc-typed copy) does not.

pub mod cmd;
mod compile;
mod default;
pub mod guard;
pub mod json;
pub mod merge;
pub mod pid1;
mod prebuilt;
mod profile;
pub mod record;
mod syscalls;

use std::fmt;
use std::path::{Path, PathBuf};

pub use compile::eval;
pub use compile::{
    Arch, Compiled, KernelVersion, MAX_INSTRUCTIONS, Target, applicable_rules, compile_for,
    parse_kernel_release, running_kernel,
};
pub use default::default_profile;
pub use profile::{Action, ArchMap, Arg, Filter, MAX_ERRNO, Op, Profile, Rule};

/// Largest profile file pidguard reads. Docker's default is about 17 KiB.
pub const MAX_PROFILE_BYTES: usize = 1024 * 1024;

/// Why a profile could not be loaded, exported or compiled. One line each, naming the step.
#[derive(Debug)]
pub enum Error {
    /// The profile is not valid JSON.
    Json(json::JsonError),
    /// The JSON is not a profile pidguard can apply exactly; `at` is a path like
    /// `syscalls[3].args[0].op`.
    Profile { at: String, why: String },
    /// The profile file could not be read.
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The profile file is larger than [`MAX_PROFILE_BYTES`].
    TooLarge { path: PathBuf },
    /// The profile is valid but cannot be turned into a filter here.
    Compile { why: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Json(e) => write!(f, "seccomp profile: {e}"),
            Error::Profile { at, why } => write!(f, "seccomp profile: {at}: {why}"),
            Error::Read { path, source } => {
                write!(
                    f,
                    "cannot read seccomp profile {}: {source}",
                    path.display()
                )
            }
            Error::TooLarge { path } => write!(
                f,
                "seccomp profile {} is larger than {MAX_PROFILE_BYTES} bytes",
                path.display()
            ),
            Error::Compile { why } => write!(f, "cannot compile seccomp profile: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Json(e) => Some(e),
            Error::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Reads a Docker- or OCI-format profile from JSON text (at most [`MAX_PROFILE_BYTES`]).
pub fn parse_profile(json: &[u8]) -> Result<Profile, Error> {
    if json.len() > MAX_PROFILE_BYTES {
        return Err(Error::Profile {
            at: "profile".into(),
            why: format!("larger than {MAX_PROFILE_BYTES} bytes"),
        });
    }
    profile::parse(json)
}

/// Reads a profile file through [`crate::fsread`]: larger than [`MAX_PROFILE_BYTES`] or not a
/// regular file (a FIFO would block) is refused.
pub fn load_profile(path: &Path) -> Result<Profile, Error> {
    let buf = crate::fsread::read(path, MAX_PROFILE_BYTES as u64).map_err(|source| {
        if source.kind() == std::io::ErrorKind::FileTooLarge {
            Error::TooLarge {
                path: path.to_path_buf(),
            }
        } else {
            Error::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    // Name the file in the one-line error: "seccomp profile: /p.json: syscalls[2].op: ...".
    parse_profile(&buf).map_err(|e| match e {
        Error::Profile { at, why } => Error::Profile {
            at: format!("{}: {at}", path.display()),
            why,
        },
        Error::Json(j) => Error::Profile {
            at: path.display().to_string(),
            why: j.to_string(),
        },
        other => other,
    })
}

/// The profile as Docker-format JSON (`docker run --security-opt seccomp=`, Podman, Kubernetes
/// `localhost/` profiles), tab-indented like Docker's `default.json`, in a stable order.
pub fn export_json(p: &Profile) -> String {
    json::to_pretty(&profile::to_json(p))
}

/// The profile as an OCI runtime-spec `linux.seccomp` object for one target, e.g. for runc's
/// `config.json`: Docker's conditions are evaluated for `target` (as Docker does before it hands
/// the profile to runc) and `archMap` becomes `architectures`.
pub fn export_oci_json(p: &Profile, target: &Target) -> Result<String, Error> {
    let syscalls = applicable_rules(p, target)?
        .into_iter()
        .map(|r| Rule {
            comment: String::new(),
            includes: Filter::default(),
            excludes: Filter::default(),
            ..r.clone()
        })
        .collect();
    let architectures = if p.architectures.is_empty() {
        p.arch_map
            .iter()
            .filter(|m| m.architecture == target.arch.scmp_name())
            .flat_map(|m| std::iter::once(&m.architecture).chain(&m.sub_architectures))
            .cloned()
            .collect()
    } else {
        p.architectures.clone()
    };
    let oci = Profile {
        default_action: p.default_action,
        default_errno_ret: p.default_errno_ret,
        architectures,
        arch_map: Vec::new(),
        syscalls,
    };
    Ok(json::to_pretty(&profile::to_json(&oci)))
}

/// Compiles `p` for this machine: native architecture, running kernel, and the capabilities the
/// program keeps (`kept_caps`, bit n = capability n). `extra_allow` names syscalls allowed on top
/// (what PID 1 itself needs). Returns the filters to install, in order. Use [`compile_for`] to
/// also get the syscall names that were skipped as unknown on this architecture.
pub fn compile(
    p: &Profile,
    kept_caps: u64,
    extra_allow: &[&str],
) -> Result<Vec<seccompiler::BpfProgram>, Error> {
    let target = native_target(kept_caps)?;
    Ok(compile_for(p, &target, extra_allow)?.filters)
}

/// The same program as `libc::sock_filter`s (the two types have the same `repr(C)` layout), for
/// an installer written against libc, such as `sys::install_filters`.
pub fn to_libc(filter: &[seccompiler::sock_filter]) -> Vec<libc::sock_filter> {
    filter
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect()
}

/// [`to_libc`]'s inverse, for the tests that run an installed program through [`eval`].
#[cfg(test)]
pub fn from_libc(filter: &[libc::sock_filter]) -> Vec<seccompiler::sock_filter> {
    filter
        .iter()
        .map(|i| seccompiler::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect()
}

/// The [`Target`] for this machine.
pub fn native_target(kept_caps: u64) -> Result<Target, Error> {
    let Some(arch) = Arch::native() else {
        return Err(Error::Compile {
            why: format!(
                "pidguard has no syscall table for {}",
                std::env::consts::ARCH
            ),
        });
    };
    Ok(Target {
        arch,
        kept_caps,
        kernel: running_kernel(),
    })
}

/// The built-in profile already compiled, for the common case: x86_64, no kept capabilities, a kernel
/// at least as new as the profile's newest `minKernel`. Starting a program then pays only for installing
/// the filter, not for building it (about 1.4 million instructions, ~0.45 ms here). `None`: compile.
pub fn prebuilt_default(kept_caps: u64) -> Option<Vec<Vec<libc::sock_filter>>> {
    let fits = kept_caps == 0
        && Arch::native() == Some(Arch::X86_64)
        && running_kernel().is_some_and(|k| k >= prebuilt::MIN_KERNEL);
    fits.then(|| {
        prebuilt::X86_64
            .iter()
            .map(|f| {
                f.iter()
                    .map(|&(code, jt, jf, k)| libc::sock_filter { code, jt, jf, k })
                    .collect()
            })
            .collect()
    })
}

/// Renders compiled filters as the source of `prebuilt.rs` (used by its staleness test).
#[cfg(test)]
fn render_prebuilt(filters: &[seccompiler::BpfProgram], min_kernel: KernelVersion) -> String {
    let mut out = String::from(
        "//! Generated: Docker's default profile (`default.rs`) compiled for x86_64, no kept capabilities,\n\
         //! kernel >= MIN_KERNEL. Do not edit: `PIDGUARD_REGENERATE=1 cargo test --lib prebuilt` rewrites it,\n\
         //! and that test fails whenever the profile or the compiler changed and this file did not.\n\n",
    );
    out.push_str(&format!(
        "pub const MIN_KERNEL: (u32, u32) = {min_kernel:?};\n\n"
    ));
    out.push_str("#[rustfmt::skip]\npub const X86_64: &[&[(u16, u8, u8, u32)]] = &[\n");
    for f in filters {
        out.push_str("    &[\n");
        for i in f {
            out.push_str(&format!(
                "        ({}, {}, {}, {}),\n",
                i.code, i.jt, i.jf, i.k
            ));
        }
        out.push_str("    ],\n");
    }
    out.push_str("];\n");
    out
}

#[cfg(test)]
mod prebuilt_tests {
    use super::*;

    /// The newest `minKernel` any rule of the default profile uses.
    fn newest_min_kernel() -> KernelVersion {
        default_profile()
            .syscalls
            .iter()
            .flat_map(|r| [r.includes.min_kernel, r.excludes.min_kernel])
            .flatten()
            .map(|(a, b)| (a as u32, b as u32))
            .max()
            .unwrap_or((0, 0))
    }

    #[test]
    fn prebuilt_default_filter_is_current() {
        let min_kernel = newest_min_kernel();
        let target = Target {
            arch: Arch::X86_64,
            kept_caps: 0,
            kernel: Some(min_kernel),
        };
        let filters = compile_for(&default_profile(), &target, &[])
            .unwrap()
            .filters;
        let text = render_prebuilt(&filters, min_kernel);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/seccomp/prebuilt.rs");
        if std::env::var_os("PIDGUARD_REGENERATE").is_some() {
            std::fs::write(path, &text).unwrap();
        }
        assert!(
            std::fs::read_to_string(path).unwrap() == text,
            "src/seccomp/prebuilt.rs is stale: run PIDGUARD_REGENERATE=1 cargo test --lib prebuilt"
        );
        // Any newer kernel compiles to the same program, which is what makes the table valid there.
        let newer = Target {
            kernel: Some((99, 0)),
            ..target
        };
        assert_eq!(
            compile_for(&default_profile(), &newer, &[])
                .unwrap()
                .filters,
            filters
        );
    }
}

#[cfg(test)]
mod tests;
