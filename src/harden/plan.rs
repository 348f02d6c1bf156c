//! The hardening plan: a pure function of the configuration, the state [`gather`](super::kernel::gather)
//! read, and the image's passwd/group files. Every refusal is decided here, before anything changed,
//! so that a bad value or a missing capability is one line and exit 125 with nothing half applied;
//! and because nothing here touches the kernel, every branch is a unit test without root.
//!
//! Decisions written down here (the README's "Hardening" section says the same to users):
//!
//! - **Identity.** `--user` is resolved from the image's files. When pidguard cannot take that
//!   identity (no `CAP_SETUID`/`CAP_SETGID`) but already runs as a non-root user, that is how
//!   OpenShift (random uid, gid 0), Kubernetes `runAsUser` and `docker run --user` run images whose
//!   author could not know the uid: the current identity is kept (groups included), an info line says
//!   which one runs and why, and [`Plan::overridden`] records what was asked. Root is still refused;
//!   gid 0, primary or supplementary, is allowed. `--groups` that cannot be set is still an error: it
//!   is a request about this container, not the image's default. HOME, USER and LOGNAME then describe
//!   the identity that runs, as for any uid: its passwd entry if the image has one, else HOME=/ and
//!   the uid as text.
//! - **A program that can change its uid must stay signalable.** PID 1 keeps exactly the program's
//!   capabilities. With `CAP_SETUID` the program can switch to a uid PID 1 then cannot signal
//!   (kill(2): same real/effective uid, or `CAP_KILL`), and `docker stop` would end in SIGKILL.
//!   `--cap-add SETUID` without `KILL` is refused, naming both ways out.
//! - **Limits PID 1 lives under too.** `nofile` and `nproc` are set on PID 1 and inherited, as
//!   `docker run --ulimit` sets them for the whole container; values PID 1 cannot work with are
//!   refused with the minimum ([`pid1_min_nofile`], [`pid1_min_nproc`]). `cpu`, `as`, `data`,
//!   `stack`, `fsize` and `sigpending` are applied to the program only (each child sets them right
//!   before `execve`): they meter a process's own consumption, and a value right for the program
//!   would let PID 1 be killed (RLIMIT_CPU counts its whole life), abort (`as`, `data`, `stack`),
//!   fail to log (`fsize`) or lose forwarded real-time signals (`sigpending`). See [`scope`].

use caps::Capability;
use nix::sys::resource::Resource;

use super::kernel::{CapSets, Current};
use crate::cli::RunConfig;
use crate::error::SetupError;
use crate::limits::RlimitSpec;
use crate::log::Level;
use crate::passwd::{self, GroupsSpec, Identity, NameOrId, UserSpec};

/// The image's user databases as read (`None`: the file does not exist or was not needed).
#[derive(Debug, Default, Clone)]
pub struct Databases {
    pub passwd: Option<Vec<u8>>,
    pub group: Option<Vec<u8>>,
}

/// `--user` asked for an identity pidguard could not take; the one it was started with runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// As written (`65532`, `app:staff`).
    pub requested: String,
    pub requested_uid: u32,
    pub requested_gid: u32,
    /// The capabilities the switch would have needed, e.g. `["CAP_SETUID", "CAP_SETGID"]`.
    pub missing: Vec<String>,
}

/// Who ends up with a resource limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Set on PID 1 and inherited by the program: PID 1 must be able to live with it.
    Both,
    /// Set by each child of PID 1 (the program, app checks) right before `execve`.
    Program,
}

/// Which limits PID 1 shares with the program, and why the others are the program's alone.
pub fn scope(resource: Resource) -> Scope {
    match resource {
        // Cumulative CPU seconds of each process: PID 1 lives as long as the container, and
        // reaching the hard limit is a SIGKILL from the kernel that even an init gets.
        Resource::RLIMIT_CPU
        // PID 1's own memory: a limit sized for the program could make one of PID 1's allocations
        // fail, and Rust aborts on a failed allocation.
        | Resource::RLIMIT_AS
        | Resource::RLIMIT_DATA
        | Resource::RLIMIT_STACK
        // PID 1's log may be a regular file (2>file): EFBIG and SIGXFSZ for PID 1.
        | Resource::RLIMIT_FSIZE
        // Queued signals for PID 1 count against PID 1's limit: real-time signals to forward
        // would be refused.
        | Resource::RLIMIT_SIGPENDING => Scope::Program,
        // Descriptors and processes PID 1 holds itself (checked against a minimum below); the
        // rest are never used by PID 1 (core dumps, locks, locked memory, message queues, nice,
        // real-time priority and time, rss), so sharing them costs it nothing.
        _ => Scope::Both,
    }
}

/// Everything [`super::apply`](mod@super::apply) will do, resolved and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Who the program (and PID 1) runs as.
    pub identity: Identity,
    /// `--user` was given but could not be taken; `identity` is the kept one.
    pub overridden: Option<Override>,
    /// Set HOME, USER and LOGNAME for the program (only with `--user`, as gosu does).
    pub set_env: bool,
    /// The switch, each step only when it changes something.
    pub set_groups: Option<Vec<u32>>,
    pub set_gid: Option<u32>,
    pub set_uid: Option<u32>,
    /// Capabilities kept (bit n = capability n) in every set, ambient included.
    pub keep_caps: u64,
    pub last_cap: u32,
    /// Whether CAP_SETPCAP is permitted: needed to shrink the bounding set and set securebits.
    pub have_setpcap: bool,
    /// Capabilities to remove from the bounding set (only with CAP_SETPCAP).
    pub drop_bounding: u64,
    /// The bounding set after the drop.
    pub bounding_after: u64,
    /// The securebits to set (only with CAP_SETPCAP), and what they are after the drop.
    pub securebits: Option<u32>,
    pub securebits_after: u32,
    pub no_new_privs: bool,
    /// Limits PID 1 sets on itself (and the program inherits).
    pub pid1_rlimits: Vec<RlimitSpec>,
    /// Limits each child sets on itself before `execve`.
    pub program_rlimits: Vec<RlimitSpec>,
    pub umask: Option<u32>,
    /// Lines to log, decided here so that this function stays pure.
    pub notes: Vec<(Level, String)>,
}

// include/uapi/linux/securebits.h
pub const SECBIT_NOROOT: u32 = 1 << 0;
pub const SECBIT_NOROOT_LOCKED: u32 = 1 << 1;
pub const SECBIT_NO_SETUID_FIXUP_LOCKED: u32 = 1 << 3;
pub const SECBIT_KEEP_CAPS: u32 = 1 << 4;
pub const SECBIT_KEEP_CAPS_LOCKED: u32 = 1 << 5;
pub const SECBIT_NO_CAP_AMBIENT_RAISE: u32 = 1 << 6;
pub const SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED: u32 = 1 << 7;

/// NOROOT (uid 0 gains nothing on exec), setuid fixups locked on, keep-caps locked off, no further
/// ambient raise; every lock set, so that nothing the program runs can undo them.
pub const SECUREBITS: u32 = SECBIT_NOROOT
    | SECBIT_NOROOT_LOCKED
    | SECBIT_NO_SETUID_FIXUP_LOCKED
    | SECBIT_KEEP_CAPS_LOCKED
    | SECBIT_NO_CAP_AMBIENT_RAISE
    | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;

fn fail(msg: impl Into<String>) -> SetupError {
    SetupError::setup(msg)
}

fn has(mask: u64, cap: Capability) -> bool {
    mask & cap.bitmask() != 0
}

fn show_limit(v: u64) -> String {
    if v == crate::limits::UNLIMITED {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

/// Descriptors PID 1 may hold at once besides those open at start: each listener (the status socket,
/// and `--health-listen`), its least connection cap plus the one accepted before the idlest closes,
/// an app check's output pipe (both ends until the check started), and two for walking /proc
/// (metrics, the descendants of a PID 1 that is not PID 1). `open` are the descriptors open when the
/// plan is made (0-2, the signalfd, whatever was inherited); the limit bounds descriptor *numbers*, so
/// only the open ones below it take room. Returns the smallest soft limit that leaves PID 1 all of it.
pub fn pid1_min_nofile(cfg: &RunConfig, open: &[i32]) -> u64 {
    let listeners = 1 + u64::from(cfg.health.listen.is_some());
    let conns = crate::health::server::MIN_CONNS as u64 + 1;
    let check_pipe = if cfg.health.check.is_some() { 2 } else { 0 };
    let own = listeners * (1 + conns) + check_pipe + 2;
    let fallback = [0, 1, 2, 3];
    let open = if open.is_empty() { &fallback[..] } else { open };
    // Monotone: each round only grows `limit`, and stops once the open ones below it fit.
    let mut limit = own;
    loop {
        let below = open
            .iter()
            .filter(|&&fd| u64::try_from(fd).is_ok_and(|fd| fd < limit))
            .count() as u64;
        if below + own <= limit {
            return limit;
        }
        limit = below + own;
    }
}

/// RLIMIT_NPROC counts every process of the real uid, PID 1 included: PID 1 and the program, and an
/// app check beside them.
pub fn pid1_min_nproc(cfg: &RunConfig) -> u64 {
    2 + u64::from(cfg.health.check.is_some())
}

/// The plan for `cfg` in the state `now`, with the image's user databases `db`.
pub fn from_state(cfg: &RunConfig, now: &Current, db: &Databases) -> Result<Plan, SetupError> {
    let mut notes = Vec::new();
    let pw = db
        .passwd
        .as_deref()
        .map(passwd::parse_passwd)
        .transpose()
        .map_err(|e| fail(e.to_string()))?;
    let gr = db
        .group
        .as_deref()
        .map(passwd::parse_group)
        .transpose()
        .map_err(|e| fail(e.to_string()))?;
    let resolve = |spec: &UserSpec, groups: &GroupsSpec| {
        passwd::resolve(spec, groups, pw.as_ref(), gr.as_ref()).map_err(|e| fail(e.to_string()))
    };
    let (euid, egid) = (now.uid[1], now.gid[1]);
    let explicit = matches!(cfg.groups, Some(GroupsSpec::Explicit(_)));

    let wanted = match &cfg.user {
        Some(spec) => resolve(
            spec,
            cfg.groups.as_ref().unwrap_or(&GroupsSpec::FromGroupFile),
        )?,
        None => {
            // No --user: keep who we are; --groups alone may still set the groups.
            let spec = UserSpec {
                user: NameOrId::Id(euid),
                group: Some(NameOrId::Id(egid)),
            };
            let none = GroupsSpec::Explicit(Vec::new());
            let mut id = resolve(
                &spec,
                cfg.groups.as_ref().filter(|_| explicit).unwrap_or(&none),
            )?;
            if !explicit {
                id.groups = now.groups.clone();
            }
            id
        }
    };

    let eff = now.caps.effective;
    let uid_differs = now.uid.iter().any(|&u| u != wanted.uid);
    let gid_differs = now.gid.iter().any(|&g| g != wanted.gid);
    let groups_differ = wanted.groups != now.groups;
    let missing: Vec<Capability> = [
        (uid_differs, Capability::CAP_SETUID),
        (gid_differs || groups_differ, Capability::CAP_SETGID),
    ]
    .into_iter()
    .filter(|&(needed, cap)| needed && !has(eff, cap))
    .map(|(_, cap)| cap)
    .collect();
    let names = |caps: &[Capability]| caps.iter().map(|c| c.to_string()).collect::<Vec<_>>();

    let mut overridden = None;
    let identity = if missing.is_empty() {
        wanted
    } else if explicit && groups_differ && !has(eff, Capability::CAP_SETGID) {
        return Err(fail(format!(
            "cannot set --groups: pidguard lacks CAP_SETGID (running as uid {euid} gid {egid}); drop \
             --groups, or start the container as root or with CAP_SETGID"
        )));
    } else if !uid_differs && !gid_differs {
        // Already the right user (docker run --user, USER in the Dockerfile) but not allowed to
        // change groups: keep the ones the runtime gave us.
        notes.push((
            Level::Debug,
            format!(
                "keeping the supplementary groups {:?}: no CAP_SETGID to change them",
                now.groups
            ),
        ));
        Identity {
            groups: now.groups.clone(),
            ..wanted
        }
    } else if let Some((uid, gid)) = now.settled().filter(|&(uid, _)| uid != 0) {
        // Started as a non-root user that cannot switch: the platform chose this identity
        // (OpenShift, runAsUser, docker run --user). Keep it, with the groups it has, and describe
        // it as it is: its own passwd entry if the image has one, else HOME=/ and the uid as name.
        let spec = UserSpec {
            user: NameOrId::Id(uid),
            group: Some(NameOrId::Id(gid)),
        };
        let mut kept = resolve(&spec, &GroupsSpec::Explicit(Vec::new()))?;
        kept.groups = now.groups.clone();
        let requested = cfg
            .user
            .as_ref()
            .map_or_else(|| wanted.uid.to_string(), ToString::to_string);
        notes.push((
            Level::Info,
            format!(
                "running as uid {uid} gid {gid} groups {:?}, the identity the container was started \
                 with: --user {requested} (uid {} gid {}) needs {} to switch, which a non-root start \
                 does not have (OpenShift, runAsUser, docker run --user); a non-root identity is kept",
                kept.groups,
                wanted.uid,
                wanted.gid,
                names(&missing).join(" and "),
            ),
        ));
        overridden = Some(Override {
            requested,
            requested_uid: wanted.uid,
            requested_gid: wanted.gid,
            missing: names(&missing),
        });
        kept
    } else {
        let missing = names(&missing);
        return Err(fail(format!(
            "cannot switch to user {} (uid {} gid {}): pidguard lacks {} (the container was started \
             without {}, e.g. --cap-drop ALL); run the container as that user instead (docker run \
             --user {}, or USER in the Dockerfile) or keep CAP_SETUID, CAP_SETGID and CAP_SETPCAP",
            wanted.name,
            wanted.uid,
            wanted.gid,
            missing.join(" and "),
            if missing.len() > 1 { "them" } else { "it" },
            wanted.uid
        )));
    };

    if identity.uid == 0 && !cfg.allow_root {
        return Err(fail(
            "refusing to run the program as root (uid 0): pass --user 65532 (or a user from /etc/passwd), \
             set USER in the Dockerfile, or pass --allow-root",
        ));
    }
    let switching = overridden.is_none();
    let set_uid = (switching && now.uid.iter().any(|&u| u != identity.uid)).then_some(identity.uid);
    let set_gid = (switching && now.gid.iter().any(|&g| g != identity.gid)).then_some(identity.gid);
    let set_groups = (identity.groups != now.groups).then(|| identity.groups.clone());

    let all: u64 = if now.last_cap >= 63 {
        u64::MAX
    } else {
        (1u64 << (now.last_cap + 1)) - 1
    };
    let keep = crate::limits::cap_mask(&cfg.cap_add) & all;
    if has(keep, Capability::CAP_SETUID) && !has(keep, Capability::CAP_KILL) {
        return Err(fail(
            "--cap-add SETUID lets the program switch to a uid that PID 1, which keeps the program's \
             capabilities, could then not signal (no CAP_KILL): stop and restart would end in SIGKILL; \
             add KILL to --cap-add, or do the root work before pidguard starts (an entrypoint script \
             ending in exec /pidguard --user app -- \"$@\")",
        ));
    }
    for &cap in &cfg.cap_add {
        if !has(now.caps.permitted, cap) || !has(now.bounding, cap) {
            return Err(fail(format!(
                "cannot keep {cap}: pidguard does not have it (its permitted set lacks it); add it to the \
                 container (docker run --cap-add {}) and start pidguard as root",
                cap.to_string().trim_start_matches("CAP_")
            )));
        }
    }
    let have_setpcap = has(now.caps.permitted, Capability::CAP_SETPCAP);
    let drop_bounding = if have_setpcap {
        now.bounding & !keep
    } else {
        0
    };
    if !have_setpcap && now.bounding & !keep != 0 {
        notes.push((
            Level::Info,
            "capability bounding set left as is: no CAP_SETPCAP to shrink it; with no_new_privs and \
             empty permitted and inheritable sets those capabilities stay out of reach"
                .into(),
        ));
    }
    let securebits = have_setpcap.then_some(SECUREBITS);
    if have_setpcap {
        // A bit locked by whoever started us cannot change; PR_SET_SECUREBITS would fail with EPERM.
        let locked = (now.securebits >> 1) & 0b0101_0101;
        if (now.securebits ^ SECUREBITS) & locked != 0 {
            return Err(fail(format!(
                "cannot lock the securebits to {SECUREBITS:#x}: they were locked to {:#x} before pidguard \
                 started; start pidguard without locked securebits",
                now.securebits
            )));
        }
    }

    let mut pid1_rlimits = Vec::new();
    let mut program_rlimits = Vec::new();
    for r in &cfg.rlimits {
        let (cur_soft, cur_hard) = now
            .rlimit(r.resource)
            .ok_or_else(|| fail(format!("--rlimit {r}: the current limit was not read")))?;
        if r.hard > cur_hard && !has(eff, Capability::CAP_SYS_RESOURCE) {
            return Err(fail(format!(
                "--rlimit {r}: the hard limit is above the current one ({}) and pidguard lacks \
                 CAP_SYS_RESOURCE; lower it or raise it for the container (docker run --ulimit)",
                show_limit(cur_hard)
            )));
        }
        let min = match r.resource {
            Resource::RLIMIT_NOFILE => Some((
                pid1_min_nofile(cfg, &now.open_fds),
                "PID 1 shares it with the program and holds up to that many descriptors itself (signalfd, \
                 status socket and --health-listen with their connection caps, an app check's pipe)",
            )),
            Resource::RLIMIT_NPROC => Some((
                pid1_min_nproc(cfg),
                "it counts every process of the uid, PID 1 included, and PID 1 must start the program \
                 (and its app check) and restart it",
            )),
            _ => None,
        };
        if let Some((min, why)) = min.filter(|&(min, _)| r.soft < min) {
            return Err(fail(format!(
                "--rlimit {r}: too low for PID 1: {why}; write {}={min} or more",
                r.name
            )));
        }
        match scope(r.resource) {
            Scope::Both => pid1_rlimits.push(*r),
            Scope::Program => {
                program_rlimits.push(*r);
                // The child cannot raise a hard limit after the drop: PID 1 raises its own first.
                if r.hard > cur_hard {
                    pid1_rlimits.push(RlimitSpec {
                        soft: cur_soft,
                        ..*r
                    });
                }
            }
        }
    }

    if cfg.allow_new_privs {
        notes.push((
            Level::Warn,
            "no_new_privs is off (--allow-new-privs): setuid binaries and file capabilities work for the \
             program"
                .into(),
        ));
    }

    Ok(Plan {
        set_env: cfg.user.is_some(),
        identity,
        overridden,
        set_groups,
        set_gid,
        set_uid,
        keep_caps: keep,
        last_cap: now.last_cap,
        have_setpcap,
        drop_bounding,
        bounding_after: now.bounding & !drop_bounding,
        securebits,
        // PR_SET_KEEPCAPS sets SECBIT_KEEP_CAPS; only the securebits step clears it again.
        securebits_after: securebits.unwrap_or(
            now.securebits
                | if set_uid.is_some() {
                    SECBIT_KEEP_CAPS
                } else {
                    0
                },
        ),
        no_new_privs: !cfg.allow_new_privs,
        pid1_rlimits,
        program_rlimits,
        umask: cfg.umask,
        notes,
    })
}

/// The capability sets every thread of PID 1 and the program ends with.
pub fn final_caps(plan: &Plan) -> CapSets {
    CapSets::all(plan.keep_caps)
}
