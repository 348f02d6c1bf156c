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
//! The work is split in three: [`plan`] resolves every input and checks that each step will be
//! allowed, so that a bad value or a missing capability is a one-line error before anything changed;
//! [`apply`] performs the steps in the order runc and youki use (see [`sys::drop_privileges`]); and
//! [`verify`] reads the result back from the kernel. Only then is the program started: it never runs
//! half hardened.

use std::path::Path;

use caps::Capability;

use crate::cli::RunConfig;
use crate::error::{EXIT_SETUP, SetupError};
use crate::limits::RlimitSpec;
use crate::passwd::{self, GroupsSpec, Identity, NameOrId, UserSpec};
use crate::sys::{self, Ids, Privileges};
use crate::{debug, info, warn};

/// Everything [`apply`] will do, resolved and checked.
#[derive(Debug)]
pub struct Plan {
    pub identity: Identity,
    /// Set HOME, USER and LOGNAME for the program (only with `--user`, as gosu does).
    pub set_env: bool,
    pub privileges: Privileges,
    pub rlimits: Vec<RlimitSpec>,
    pub umask: Option<u32>,
}

fn fail(msg: impl Into<String>) -> SetupError {
    SetupError::new(EXIT_SETUP, msg)
}

fn cap_name(cap: Capability) -> String {
    cap.to_string()
}

fn read_caps(last_cap: u32) -> Result<sys::CapState, SetupError> {
    sys::capabilities(last_cap).map_err(|e| fail(format!("cannot read the capability sets: {e}")))
}

/// The highest capability number this kernel knows: PR_CAPBSET_READ answers EINVAL above it (the
/// probe libcap uses; a binary search costs six prctl calls, where /proc/sys/kernel/cap_last_cap
/// would cost an open, a read and a close of a procfs file).
fn last_cap() -> u32 {
    let valid = |cap: u32| sys::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong).is_ok();
    // Invariant: `lo` is valid (0, CAP_CHOWN, always is), `hi` is not (the sets are 64 bits wide).
    let (mut lo, mut hi) = (0u32, 64u32);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if valid(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Resolves the target identity and checks every step against what this process may do.
/// `root` is the filesystem root holding etc/passwd and etc/group ("/" in production).
pub fn plan(cfg: &RunConfig, root: &Path) -> Result<Plan, SetupError> {
    let res_uid =
        nix::unistd::getresuid().map_err(|e| fail(format!("cannot read the current uid: {e}")))?;
    let res_gid =
        nix::unistd::getresgid().map_err(|e| fail(format!("cannot read the current gid: {e}")))?;
    let (euid, egid) = (res_uid.effective.as_raw(), res_gid.effective.as_raw());
    let mut current_groups = sys::current_groups();
    current_groups.sort_unstable();
    current_groups.dedup();

    let identity = match &cfg.user {
        Some(spec) => {
            let groups = cfg.groups.clone().unwrap_or(GroupsSpec::FromGroupFile);
            passwd::lookup(spec, &groups, root).map_err(|e| fail(e.to_string()))?
        }
        None => {
            // No --user: keep who we are; --groups alone may still set the groups.
            let spec = UserSpec {
                user: NameOrId::Id(euid),
                group: Some(NameOrId::Id(egid)),
            };
            let explicit = match &cfg.groups {
                Some(g @ GroupsSpec::Explicit(_)) => Some(g),
                _ => None,
            };
            let none = GroupsSpec::Explicit(Vec::new());
            let wanted = explicit.unwrap_or(&none);
            // Only group names need a file: the ids are given, and the passwd name would only
            // appear in messages (the uid stands in for it). The tini-style start reads nothing.
            let names_a_group = matches!(wanted, GroupsSpec::Explicit(list)
                if list.iter().any(|g| matches!(g, NameOrId::Name(_))));
            let mut id = if names_a_group {
                passwd::lookup(&spec, wanted, root)
            } else {
                passwd::resolve(&spec, wanted, None, None)
            }
            .map_err(|e| fail(e.to_string()))?;
            if explicit.is_none() {
                id.groups = current_groups.clone();
            }
            id
        }
    };

    if identity.uid == 0 && !cfg.allow_root {
        return Err(fail(
            "refusing to run the program as root (uid 0): pass --user 65532 (or a user from /etc/passwd), \
             set USER in the Dockerfile, or pass --allow-root",
        ));
    }

    let last_cap = last_cap();
    let sys::CapState {
        effective,
        permitted,
        bounding,
        ..
    } = read_caps(last_cap)?;
    let has = |set: u64, cap: Capability| set & cap.bitmask() != 0;

    let same_ids = [res_uid.real, res_uid.effective, res_uid.saved]
        .iter()
        .all(|u| u.as_raw() == identity.uid)
        && [res_gid.real, res_gid.effective, res_gid.saved]
            .iter()
            .all(|g| g.as_raw() == identity.gid);
    let same_groups = identity.groups == current_groups;
    let mut identity = identity;
    let switch = if same_ids && same_groups {
        false
    } else if same_ids && !has(effective, Capability::CAP_SETGID) {
        // Already the right user (docker run --user, USER in the Dockerfile) but not allowed to
        // change groups: keep the ones the runtime gave us, unless the user asked for others.
        if matches!(cfg.groups, Some(GroupsSpec::Explicit(_))) {
            return Err(fail(format!(
                "cannot set --groups: pidguard lacks CAP_SETGID (already running as uid {}); \
                 drop --groups or start the container as root",
                identity.uid
            )));
        }
        debug!("keeping the supplementary groups {current_groups:?}: no CAP_SETGID to change them");
        identity.groups = current_groups.clone();
        false
    } else {
        let missing: Vec<String> = [
            (!same_ids, Capability::CAP_SETUID),
            (!same_ids || !same_groups, Capability::CAP_SETGID),
        ]
        .into_iter()
        .filter(|&(needed, cap)| needed && !has(effective, cap))
        .map(|(_, cap)| cap_name(cap))
        .collect();
        if !missing.is_empty() {
            return Err(fail(format!(
                "cannot switch to user {} (uid {} gid {}): pidguard lacks {} (the container was \
                 started without {}, e.g. --cap-drop ALL or as a non-root user); run the container \
                 as that user instead (docker run --user {}, or USER in the Dockerfile) or keep \
                 CAP_SETUID, CAP_SETGID and CAP_SETPCAP",
                identity.name,
                identity.uid,
                identity.gid,
                missing.join(" and "),
                if missing.len() > 1 { "them" } else { "it" },
                identity.uid
            )));
        }
        true
    };

    let keep = crate::limits::cap_mask(&cfg.cap_add);
    for &cap in &cfg.cap_add {
        if !has(permitted, cap) || !has(bounding, cap) {
            return Err(fail(format!(
                "cannot keep {}: pidguard does not have it (its permitted set lacks it); add it to the \
                 container (docker run --cap-add {}) and start pidguard as root",
                cap_name(cap),
                cap_name(cap).trim_start_matches("CAP_")
            )));
        }
    }
    let have_setpcap = has(permitted, Capability::CAP_SETPCAP);
    if !have_setpcap && bounding & !keep != 0 {
        info!(
            "capability bounding set left as is: no CAP_SETPCAP to shrink it; with no_new_privs and empty \
             permitted and inheritable sets those capabilities stay out of reach"
        );
    }

    for r in &cfg.rlimits {
        let (_, cur_hard) = nix::sys::resource::getrlimit(r.resource)
            .map_err(|e| fail(format!("cannot read the {} rlimit: {e}", r.name)))?;
        if r.hard > cur_hard && !has(effective, Capability::CAP_SYS_RESOURCE) {
            return Err(fail(format!(
                "--rlimit {r}: the hard limit is above the current one ({}) and pidguard lacks \
                 CAP_SYS_RESOURCE; lower it or raise it for the container (docker run --ulimit)",
                if cur_hard == crate::limits::UNLIMITED {
                    "unlimited".to_string()
                } else {
                    cur_hard.to_string()
                }
            )));
        }
    }

    if cfg.allow_new_privs {
        warn!(
            "no_new_privs is off (--allow-new-privs): setuid binaries and file capabilities work for the program"
        );
    }

    Ok(Plan {
        set_env: cfg.user.is_some(),
        privileges: Privileges {
            ids: Some(Ids {
                uid: identity.uid,
                gid: identity.gid,
                groups: identity.groups.clone(),
                switch,
            }),
            keep_caps: keep,
            bounding,
            last_cap,
            have_setpcap,
            no_new_privs: !cfg.allow_new_privs,
        },
        identity,
        rlimits: cfg.rlimits.clone(),
        umask: cfg.umask,
    })
}

/// Applies the plan to this process (PID 1, single-threaded). The program inherits all of it.
pub fn apply(plan: &Plan) -> Result<(), SetupError> {
    // rlimits first: raising a hard limit needs CAP_SYS_RESOURCE, which the drop below removes.
    for r in &plan.rlimits {
        nix::sys::resource::setrlimit(r.resource, r.soft, r.hard)
            .map_err(|e| fail(format!("cannot set --rlimit {r}: {e}")))?;
    }
    if let Some(mask) = plan.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(
            mask as libc::mode_t,
        ));
    }
    let groups: Vec<libc::gid_t> = plan
        .identity
        .groups
        .iter()
        .map(|&g| g as libc::gid_t)
        .collect();
    sys::drop_privileges(&plan.privileges, &groups).map_err(|(step, errno)| {
        fail(format!(
            "cannot {}: {}; the program was not started",
            step.describe(),
            std::io::Error::from_raw_os_error(errno)
        ))
    })?;
    // Non-dumpable: the program shares our uid, but must not ptrace PID 1 or read /proc/1/mem or
    // /proc/1/environ (ptrace(2), "Ptrace access mode checking"). Reset by exec for the program.
    sys::prctl(libc::PR_SET_DUMPABLE, 0)
        .map_err(|e| fail(format!("cannot make PID 1 non-dumpable: {e}")))?;
    verify(plan)?;
    info!(
        "hardened: uid={} gid={} groups={:?} caps={} no_new_privs={}",
        plan.identity.uid,
        plan.identity.gid,
        plan.identity.groups,
        describe_caps(plan.privileges.keep_caps),
        if plan.privileges.no_new_privs {
            "on"
        } else {
            "off"
        }
    );
    Ok(())
}

/// Reads back what the kernel now says about this process and refuses to go on if any of it differs
/// from the plan: a silently ignored step must not become a silently weaker program.
pub fn verify(plan: &Plan) -> Result<(), SetupError> {
    let p = &plan.privileges;
    let mismatch = |what: &str| {
        fail(format!(
            "hardening check failed: {what} is not as planned; the program was not started"
        ))
    };
    if let Some(ids) = &p.ids {
        let u = nix::unistd::getresuid().map_err(|_| mismatch("uid"))?;
        let g = nix::unistd::getresgid().map_err(|_| mismatch("gid"))?;
        if [u.real, u.effective, u.saved]
            .iter()
            .any(|x| x.as_raw() != ids.uid)
        {
            return Err(mismatch("the uid"));
        }
        if [g.real, g.effective, g.saved]
            .iter()
            .any(|x| x.as_raw() != ids.gid)
        {
            return Err(mismatch("the gid"));
        }
        let mut groups = sys::current_groups();
        groups.sort_unstable();
        groups.dedup();
        if groups != plan.identity.groups {
            return Err(mismatch("the supplementary group list"));
        }
    }
    let now = read_caps(p.last_cap)?;
    for (set, mask) in [
        ("effective", now.effective),
        ("permitted", now.permitted),
        ("inheritable", now.inheritable),
        ("ambient", now.ambient),
    ] {
        if mask != p.keep_caps {
            return Err(mismatch(&format!("the {set} capability set")));
        }
    }
    if p.have_setpcap && now.bounding != p.keep_caps {
        return Err(mismatch("the capability bounding set"));
    }
    let nnp = sys::prctl(libc::PR_GET_NO_NEW_PRIVS, 0).map_err(|_| mismatch("no_new_privs"))?;
    if p.no_new_privs && nnp != 1 {
        return Err(mismatch("no_new_privs"));
    }
    Ok(())
}

fn describe_caps(mask: u64) -> String {
    if mask == 0 {
        return "none".into();
    }
    crate::limits::cap_names(mask).join(",")
}

/// HOME, USER and LOGNAME for the program, when `--user` was given.
pub fn env_overrides(plan: &Plan) -> Vec<(&'static str, &str)> {
    if !plan.set_env {
        return Vec::new();
    }
    plan.identity.env().to_vec()
}
