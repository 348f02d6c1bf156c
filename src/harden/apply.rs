//! The ordered privilege drop, over the one-syscall steps of [`Kernel`], then the read-back.
//!
//! PID 1 applies it to itself, single-threaded, before it starts the program, so the program
//! inherits all of it and PID 1 never holds more than the program. The order is runc's
//! (`libcontainer/init_linux.go`, `finalizeNamespace`) and youki's init process
//! (`crates/libcontainer/src/process/init/`), with the reasons from capabilities(7) and prctl(2):
//!
//! 1. **rlimits**, while we may still hold CAP_SYS_RESOURCE (raising a hard limit needs it, and
//!    the drop below removes it); then the **umask** (needs nothing; early, so that nothing PID 1
//!    creates from here on is created with the old one).
//! 2. **PR_SET_KEEPCAPS**, so that the permitted set survives setresuid from uid 0 to a non-zero uid
//!    (otherwise the kernel clears it, and the capabilities to keep are gone).
//! 3. **setgroups → setresgid → setresuid**: groups and gid first, because setgroups and setresgid
//!    need CAP_SETGID, which the uid change takes out of the effective set. All three ids at once,
//!    real, effective and saved, so that nothing can switch back.
//! 4. **capset(effective = permitted = keep + CAP_SETPCAP, inheritable = keep)**: the uid change
//!    cleared the effective set; raise again what is kept, plus CAP_SETPCAP for steps 5 and 7.
//! 5. **PR_CAPBSET_DROP** every capability not kept (needs CAP_SETPCAP in effective): no exec of a
//!    file with capabilities can bring one back.
//! 6. **Ambient**: clear, then raise each kept capability (it must be permitted and inheritable,
//!    hence after step 4), so that it survives `execve` for a non-root program.
//! 7. **Securebits, locked** (needs CAP_SETPCAP): NOROOT, setuid fixups locked on, keep-caps locked
//!    off, no further ambient raise.
//! 8. **capset(all three = keep)**: CAP_SETPCAP goes, last of all privileges.
//! 9. **PR_SET_NO_NEW_PRIVS**: setuid bits and file capabilities stop working; required for an
//!    unprivileged seccomp filter, which `init` installs right after.
//! 10. **PR_SET_DUMPABLE 0**: the program shares our uid, but must not ptrace PID 1 or read
//!     /proc/1/mem or /proc/1/environ (ptrace(2), "Ptrace access mode checking"). Reset by exec for
//!     the program.
//!
//! Without CAP_SETPCAP (pidguard started unprivileged) steps 5 and 7 are skipped and step 4 is
//! already the final capset: with no_new_privs and empty permitted and inheritable sets the bounding
//! set is out of the program's reach anyway.
//!
//! Then [`verify`] reads it all back: a step the kernel silently ignored must not become a silently
//! weaker program.

use std::io;

use super::kernel::{CapSets, Kernel, gather};
use super::plan::{Plan, final_caps};
use crate::error::SetupError;

const CAP_SETPCAP: u64 = 1 << 8;

fn step(what: &str) -> impl Fn(io::Error) -> SetupError + '_ {
    move |e| SetupError::setup(format!("cannot {what}: {e}; the program was not started"))
}

fn caps_in(mask: u64, last_cap: u32) -> impl Iterator<Item = u32> {
    (0..=last_cap.min(63)).filter(move |&c| mask & (1 << c) != 0)
}

/// Applies the plan to the calling thread, in the order above, then [`verify`]s it.
pub fn apply(plan: &Plan, k: &mut impl Kernel) -> Result<(), SetupError> {
    for r in &plan.pid1_rlimits {
        k.setrlimit(r.resource, r.soft, r.hard)
            .map_err(|e| SetupError::setup(format!("cannot set --rlimit {r}: {e}")))?;
    }
    if let Some(mask) = plan.umask {
        k.umask(mask);
    }

    if plan.set_uid.is_some() {
        k.keepcaps().map_err(step(
            "keep capabilities across the user switch (PR_SET_KEEPCAPS)",
        ))?;
    }
    if let Some(groups) = &plan.set_groups {
        k.setgroups(groups)
            .map_err(step("set the supplementary groups (setgroups)"))?;
    }
    if let Some(gid) = plan.set_gid {
        k.setresgid(gid).map_err(step("switch group (setresgid)"))?;
    }
    if let Some(uid) = plan.set_uid {
        k.setresuid(uid).map_err(step("switch user (setresuid)"))?;
    }

    let keep = plan.keep_caps;
    let capset = step("set the capability sets (capset)");
    if plan.have_setpcap {
        k.capset(CapSets {
            effective: keep | CAP_SETPCAP,
            permitted: keep | CAP_SETPCAP,
            inheritable: keep,
        })
        .map_err(&capset)?;
        for cap in caps_in(plan.drop_bounding, plan.last_cap) {
            k.capbset_drop(cap)
                .map_err(step("drop the capability bounding set (PR_CAPBSET_DROP)"))?;
        }
    } else {
        k.capset(final_caps(plan)).map_err(&capset)?;
    }
    let ambient = step("set the ambient capabilities (PR_CAP_AMBIENT)");
    k.ambient_clear().map_err(&ambient)?;
    for cap in caps_in(keep, plan.last_cap) {
        k.ambient_raise(cap).map_err(&ambient)?;
    }
    if let Some(bits) = plan.securebits {
        k.set_securebits(bits)
            .map_err(step("lock the securebits (PR_SET_SECUREBITS)"))?;
        k.capset(final_caps(plan)).map_err(&capset)?;
    }
    if plan.no_new_privs {
        k.set_no_new_privs()
            .map_err(step("set no_new_privs (PR_SET_NO_NEW_PRIVS)"))?;
    }
    k.set_nondumpable()
        .map_err(step("make PID 1 non-dumpable (PR_SET_DUMPABLE)"))?;
    verify(plan, k)
}

/// Reads back what the kernel now says about this process and refuses to go on if any of it
/// differs from the plan.
pub fn verify(plan: &Plan, k: &impl Kernel) -> Result<(), SetupError> {
    let mismatch = |what: &str| {
        SetupError::setup(format!(
            "hardening check failed: {what} is not as planned; the program was not started"
        ))
    };
    let resources: Vec<_> = plan.pid1_rlimits.iter().map(|r| r.resource).collect();
    let now = gather(k, &resources, false)?;
    let id = &plan.identity;
    if now.uid.iter().any(|&u| u != id.uid) {
        return Err(mismatch("the uid"));
    }
    if now.gid.iter().any(|&g| g != id.gid) {
        return Err(mismatch("the gid"));
    }
    if now.groups != id.groups {
        return Err(mismatch("the supplementary group list"));
    }
    let want = final_caps(plan);
    for (set, got, want) in [
        ("effective", now.caps.effective, want.effective),
        ("permitted", now.caps.permitted, want.permitted),
        ("inheritable", now.caps.inheritable, want.inheritable),
        ("ambient", now.ambient, plan.keep_caps),
        ("bounding", now.bounding, plan.bounding_after),
    ] {
        if got != want {
            return Err(mismatch(&format!("the {set} capability set")));
        }
    }
    if now.securebits != plan.securebits_after {
        return Err(mismatch("the securebits"));
    }
    if plan.no_new_privs && !now.no_new_privs {
        return Err(mismatch("no_new_privs"));
    }
    if now.dumpable {
        return Err(mismatch("the dumpable flag"));
    }
    for r in &plan.pid1_rlimits {
        if now.rlimit(r.resource) != Some((r.soft, r.hard)) {
            return Err(mismatch(&format!("the {} limit", r.name)));
        }
    }
    Ok(())
}
