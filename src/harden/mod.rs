//! Hardening: identity, capabilities, no_new_privs, rlimits, umask — applied to PID 1 itself before the
//! program is started, so the program inherits all of it and PID 1 never holds more than the program.
//!
//! tini, dumb-init and catatonit stay root with every capability for the life of the container. Here
//! PID 1 first does what needs privilege (reading /etc/passwd, later binding a low health port), then
//! drops to the program's user and capability set, sets no_new_privs and becomes non-dumpable (so the
//! program, although it has the same uid, cannot ptrace it or read its memory). It can still reap,
//! signal and restart the program: same uid, and reaping needs no privilege. PID 1 is single-threaded,
//! so the per-thread attributes (capabilities, no_new_privs, seccomp) cover every thread it has.
//!
//! The work is split so that everything but the syscalls is a unit test without root:
//! - [`kernel`]: a small trait of one-syscall steps and reads ([`kernel::Linux`] is the real one, a
//!   recording fake stands in for it in tests), and [`kernel::gather`], which reads the current state
//!   (ids, groups, capability sets, securebits, limits) into a plain value;
//! - [`plan`](mod@plan): a pure function of the configuration, that state and the image's passwd/group files,
//!   which resolves every input and decides every refusal before anything changed;
//! - [`apply`](mod@apply): the ordered drop over the trait (the order and its reasons are written there), then the
//!   read-back that refuses to start the program if the kernel says anything else.
//!
//! Only then is the program started: it never runs half hardened.

use std::path::Path;

pub mod apply;
pub mod kernel;
pub mod plan;
#[cfg(test)]
mod tests;

pub use plan::{Override, Plan, Scope};

use crate::cli::RunConfig;
use crate::error::SetupError;
use crate::log::Level;
use crate::passwd::{self, GroupsSpec, NameOrId};
use crate::{debug, info, sys, warn};

/// Reads what the plan needs: `root/etc/passwd` with `--user`, `root/etc/group` with `--user` or
/// when `--groups` names a group. Nothing at all for the tini-style start.
fn read_databases(cfg: &RunConfig, root: &Path) -> Result<plan::Databases, SetupError> {
    let names_a_group = matches!(&cfg.groups, Some(GroupsSpec::Explicit(list))
        if list.iter().any(|g| matches!(g, NameOrId::Name(_))));
    let read = |file: &str| {
        passwd::read_db(&root.join(file)).map_err(|e| SetupError::setup(e.to_string()))
    };
    Ok(plan::Databases {
        passwd: if cfg.user.is_some() {
            read("etc/passwd")?
        } else {
            None
        },
        group: if cfg.user.is_some() || names_a_group {
            read("etc/group")?
        } else {
            None
        },
    })
}

/// Resolves the target identity and checks every step against what this process may do.
/// `root` is the filesystem root holding etc/passwd and etc/group ("/" in production).
pub fn plan(cfg: &RunConfig, root: &Path) -> Result<Plan, SetupError> {
    let db = read_databases(cfg, root)?;
    let resources: Vec<_> = cfg.rlimits.iter().map(|r| r.resource).collect();
    let wants_fds = resources.contains(&nix::sys::resource::Resource::RLIMIT_NOFILE);
    let now = kernel::gather(&kernel::Linux, &resources, wants_fds)?;
    let plan = plan::from_state(cfg, &now, &db)?;
    for (level, msg) in &plan.notes {
        match level {
            Level::Warn => warn!("{msg}"),
            Level::Info => info!("{msg}"),
            _ => debug!("{msg}"),
        }
    }
    Ok(plan)
}

/// Applies the plan to this process (PID 1, single-threaded); the program inherits all of it, and
/// every child PID 1 starts sets the program's own limits before `execve`.
pub fn apply(plan: &Plan) -> Result<(), SetupError> {
    apply::apply(plan, &mut kernel::Linux)?;
    sys::set_child_rlimits(
        plan.program_rlimits
            .iter()
            .map(|r| (r.resource, r.soft, r.hard))
            .collect(),
    );
    info!(
        "hardened: uid={} gid={} groups={:?} caps={} no_new_privs={}",
        plan.identity.uid,
        plan.identity.gid,
        plan.identity.groups,
        describe_caps(plan.keep_caps),
        if plan.no_new_privs { "on" } else { "off" }
    );
    Ok(())
}

fn describe_caps(mask: u64) -> String {
    if mask == 0 {
        return "none".into();
    }
    crate::limits::cap_names(mask).join(",")
}

/// HOME, USER and LOGNAME for the program, when `--user` was given (for the identity that runs,
/// which is the kept one when the request was [overridden](Plan::overridden)).
pub fn env_overrides(plan: &Plan) -> Vec<(&'static str, &str)> {
    if !plan.set_env {
        return Vec::new();
    }
    plan.identity.env().to_vec()
}
