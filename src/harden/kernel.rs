//! The kernel as hardening sees it: a small trait of one-syscall steps and reads, so that the ordered
//! drop in [`super::apply`](mod@super::apply) can be run against a recording fake in unit tests (youki's `Syscall`
//! trait, `crates/libcontainer/src/syscall/`, does the same for its capability and identity steps).
//!
//! [`Linux`] is the real thing: one line per call, each a safe wrapper from `nix` or from
//! [`crate::sys`] (where every `unsafe` of pidguard lives). Nothing here decides anything: the
//! order and the reasons are in `apply.rs`, the checks in `plan.rs`.
//!
//! [`gather`] reads everything the plan depends on into a plain [`Current`] value, once, before
//! anything is changed; `verify` reads the same again after the drop and compares.

use std::io;

use nix::sys::resource::Resource;
use nix::unistd::{Gid, Uid};

use crate::error::SetupError;
use crate::sys;

/// The three capability sets `capget`/`capset` carry, as masks (bit n = capability n).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

impl CapSets {
    /// The same mask in all three sets.
    pub fn all(mask: u64) -> CapSets {
        CapSets {
            effective: mask,
            permitted: mask,
            inheritable: mask,
        }
    }
}

/// One-syscall steps and reads on the calling thread (PID 1 is single-threaded, so on the process).
pub trait Kernel {
    fn getresuid(&self) -> io::Result<[u32; 3]>;
    fn getresgid(&self) -> io::Result<[u32; 3]>;
    fn getgroups(&self) -> io::Result<Vec<u32>>;
    fn capget(&self) -> io::Result<CapSets>;
    /// PR_CAPBSET_READ; EINVAL above the kernel's last capability.
    fn capbset_read(&self, cap: u32) -> io::Result<bool>;
    /// PR_CAP_AMBIENT_IS_SET.
    fn ambient_is_set(&self, cap: u32) -> io::Result<bool>;
    fn securebits(&self) -> io::Result<u32>;
    fn no_new_privs(&self) -> io::Result<bool>;
    fn dumpable(&self) -> io::Result<bool>;
    fn getrlimit(&self, resource: Resource) -> io::Result<(u64, u64)>;
    /// The descriptor numbers open now, in no particular order.
    fn open_fds(&self) -> io::Result<Vec<i32>>;

    fn setrlimit(&mut self, resource: Resource, soft: u64, hard: u64) -> io::Result<()>;
    fn umask(&mut self, mask: u32);
    /// PR_SET_KEEPCAPS 1.
    fn keepcaps(&mut self) -> io::Result<()>;
    fn setgroups(&mut self, groups: &[u32]) -> io::Result<()>;
    /// setresgid(gid, gid, gid).
    fn setresgid(&mut self, gid: u32) -> io::Result<()>;
    /// setresuid(uid, uid, uid).
    fn setresuid(&mut self, uid: u32) -> io::Result<()>;
    fn capset(&mut self, sets: CapSets) -> io::Result<()>;
    /// PR_CAPBSET_DROP.
    fn capbset_drop(&mut self, cap: u32) -> io::Result<()>;
    /// PR_CAP_AMBIENT_CLEAR_ALL.
    fn ambient_clear(&mut self) -> io::Result<()>;
    /// PR_CAP_AMBIENT_RAISE.
    fn ambient_raise(&mut self, cap: u32) -> io::Result<()>;
    fn set_securebits(&mut self, bits: u32) -> io::Result<()>;
    /// PR_SET_NO_NEW_PRIVS 1.
    fn set_no_new_privs(&mut self) -> io::Result<()>;
    /// PR_SET_DUMPABLE 0.
    fn set_nondumpable(&mut self) -> io::Result<()>;
}

/// The running kernel.
pub struct Linux;

impl Kernel for Linux {
    fn getresuid(&self) -> io::Result<[u32; 3]> {
        let r = nix::unistd::getresuid()?;
        Ok([r.real, r.effective, r.saved].map(Uid::as_raw))
    }
    fn getresgid(&self) -> io::Result<[u32; 3]> {
        let r = nix::unistd::getresgid()?;
        Ok([r.real, r.effective, r.saved].map(Gid::as_raw))
    }
    fn getgroups(&self) -> io::Result<Vec<u32>> {
        sys::getgroups()
    }
    fn capget(&self) -> io::Result<CapSets> {
        sys::capget().map(|(effective, permitted, inheritable)| CapSets {
            effective,
            permitted,
            inheritable,
        })
    }
    fn capbset_read(&self, cap: u32) -> io::Result<bool> {
        sys::prctl(libc::PR_CAPBSET_READ, cap.into()).map(|v| v == 1)
    }
    fn ambient_is_set(&self, cap: u32) -> io::Result<bool> {
        sys::prctl3(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_IS_SET as _,
            cap.into(),
        )
        .map(|v| v == 1)
    }
    fn securebits(&self) -> io::Result<u32> {
        // A bit mask: its bits as they are.
        sys::prctl(libc::PR_GET_SECUREBITS, 0).map(i32::cast_unsigned)
    }
    fn no_new_privs(&self) -> io::Result<bool> {
        sys::prctl(libc::PR_GET_NO_NEW_PRIVS, 0).map(|v| v == 1)
    }
    fn dumpable(&self) -> io::Result<bool> {
        sys::prctl(libc::PR_GET_DUMPABLE, 0).map(|v| v != 0)
    }
    fn getrlimit(&self, resource: Resource) -> io::Result<(u64, u64)> {
        Ok(nix::sys::resource::getrlimit(resource)?)
    }
    fn open_fds(&self) -> io::Result<Vec<i32>> {
        let names = std::fs::read_dir("/proc/self/fd")?;
        let mut fds: Vec<i32> = names
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        // One of them was the directory's own descriptor, closed by now.
        fds.retain(|&fd| sys::fd_is_open(fd));
        Ok(fds)
    }

    fn setrlimit(&mut self, resource: Resource, soft: u64, hard: u64) -> io::Result<()> {
        Ok(nix::sys::resource::setrlimit(resource, soft, hard)?)
    }
    fn umask(&mut self, mask: u32) {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    fn keepcaps(&mut self) -> io::Result<()> {
        sys::prctl(libc::PR_SET_KEEPCAPS, 1).map(drop)
    }
    fn setgroups(&mut self, groups: &[u32]) -> io::Result<()> {
        let groups: Vec<Gid> = groups.iter().map(|&g| Gid::from_raw(g)).collect();
        Ok(nix::unistd::setgroups(&groups)?)
    }
    fn setresgid(&mut self, gid: u32) -> io::Result<()> {
        let g = Gid::from_raw(gid);
        Ok(nix::unistd::setresgid(g, g, g)?)
    }
    fn setresuid(&mut self, uid: u32) -> io::Result<()> {
        let u = Uid::from_raw(uid);
        Ok(nix::unistd::setresuid(u, u, u)?)
    }
    fn capset(&mut self, s: CapSets) -> io::Result<()> {
        sys::capset(s.effective, s.permitted, s.inheritable)
    }
    fn capbset_drop(&mut self, cap: u32) -> io::Result<()> {
        sys::prctl(libc::PR_CAPBSET_DROP, cap.into()).map(drop)
    }
    fn ambient_clear(&mut self) -> io::Result<()> {
        sys::prctl3(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as _, 0).map(drop)
    }
    fn ambient_raise(&mut self, cap: u32) -> io::Result<()> {
        sys::prctl3(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as _,
            cap.into(),
        )
        .map(drop)
    }
    fn set_securebits(&mut self, bits: u32) -> io::Result<()> {
        sys::prctl(libc::PR_SET_SECUREBITS, bits.into()).map(drop)
    }
    fn set_no_new_privs(&mut self) -> io::Result<()> {
        sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1).map(drop)
    }
    fn set_nondumpable(&mut self) -> io::Result<()> {
        sys::prctl(libc::PR_SET_DUMPABLE, 0).map(drop)
    }
}

/// What this process is and holds before the drop (and, read again, after it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Current {
    /// Real, effective, saved.
    pub uid: [u32; 3],
    pub gid: [u32; 3],
    /// Supplementary groups, sorted, without duplicates.
    pub groups: Vec<u32>,
    pub caps: CapSets,
    pub bounding: u64,
    pub ambient: u64,
    pub securebits: u32,
    pub no_new_privs: bool,
    pub dumpable: bool,
    /// Highest capability number the kernel knows.
    pub last_cap: u32,
    /// (resource, soft, hard) of every resource asked for, in the order asked.
    pub rlimits: Vec<(Resource, u64, u64)>,
    /// Open descriptor numbers; read only when `nofile` is asked for (the plan needs them then).
    pub open_fds: Vec<i32>,
}

impl Current {
    pub fn rlimit(&self, resource: Resource) -> Option<(u64, u64)> {
        self.rlimits
            .iter()
            .find(|(r, _, _)| *r == resource)
            .map(|&(_, s, h)| (s, h))
    }

    /// The identity is the same in all three of real, effective and saved.
    pub fn settled(&self) -> Option<(u32, u32)> {
        let same = |v: [u32; 3]| (v[0] == v[1] && v[1] == v[2]).then_some(v[0]);
        Some((same(self.uid)?, same(self.gid)?))
    }
}

fn read_err(what: &str) -> impl Fn(io::Error) -> SetupError + '_ {
    move |e| SetupError::setup(format!("cannot read {what}: {e}"))
}

/// The highest capability number this kernel knows: PR_CAPBSET_READ answers EINVAL above it (the
/// probe libcap uses; a binary search costs six prctl calls, where /proc/sys/kernel/cap_last_cap
/// would cost an open, a read and a close of a procfs file).
fn last_cap(k: &impl Kernel) -> u32 {
    // Invariant: `lo` is valid (0, CAP_CHOWN, always is), `hi` is not (the sets are 64 bits wide).
    let (mut lo, mut hi) = (0u32, 64u32);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if k.capbset_read(mid).is_ok() {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Reads the state the plan depends on: identity, groups, every capability set, securebits, the
/// limits of `resources`, and the open descriptors when `fds` is set. The ambient set is read only
/// when it can be non-empty: the kernel keeps every ambient capability both permitted and
/// inheritable (capabilities(7)), so with no capability in both it is empty without asking.
pub fn gather(k: &impl Kernel, resources: &[Resource], fds: bool) -> Result<Current, SetupError> {
    let caps = k.capget().map_err(read_err("the capability sets"))?;
    let last_cap = last_cap(k);
    let mut bounding = 0;
    let mut ambient = 0;
    for cap in 0..=last_cap.min(63) {
        if k.capbset_read(cap).map_err(read_err("the bounding set"))? {
            bounding |= 1 << cap;
        }
        if caps.permitted & caps.inheritable & (1 << cap) != 0
            && k.ambient_is_set(cap).map_err(read_err("the ambient set"))?
        {
            ambient |= 1 << cap;
        }
    }
    let mut groups = k
        .getgroups()
        .map_err(read_err("the supplementary groups"))?;
    groups.sort_unstable();
    groups.dedup();
    let rlimits = resources
        .iter()
        .map(|&r| {
            k.getrlimit(r)
                .map(|(s, h)| (r, s, h))
                .map_err(read_err("a resource limit"))
        })
        .collect::<Result<_, _>>()?;
    Ok(Current {
        uid: k.getresuid().map_err(read_err("the current uid"))?,
        gid: k.getresgid().map_err(read_err("the current gid"))?,
        groups,
        caps,
        bounding,
        ambient,
        securebits: k.securebits().map_err(read_err("the securebits"))?,
        no_new_privs: k.no_new_privs().map_err(read_err("no_new_privs"))?,
        dumpable: k.dumpable().map_err(read_err("the dumpable flag"))?,
        last_cap,
        rlimits,
        // /proc may be missing (a bare chroot); then only what the plan counts itself is known.
        open_fds: if fds {
            k.open_fds().unwrap_or_default()
        } else {
            Vec::new()
        },
    })
}
