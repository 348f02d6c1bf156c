//! The plan's decisions and the drop's order, against a recording fake of the kernel: no root needed.
//!
//! [`Fake`] keeps a process's credentials and applies the kernel's rules that matter for the order
//! (capabilities(7): which capability each step needs, what a uid change clears, what capset may
//! raise), so that a step in the wrong place fails here as it would on Linux. Every call is recorded
//! in order; `fail` makes one call return EPERM, `ignore` makes one succeed without effect (a kernel
//! that silently did not apply it), which the read-back must catch.

use std::cell::RefCell;
use std::ffi::OsString;
use std::io;

use caps::Capability;
use nix::sys::resource::Resource;

use super::apply::apply;
use super::kernel::{CapSets, Current, Kernel, gather};
use super::plan::{self, Databases, Plan, SECUREBITS, Scope, from_state};
use crate::cli::RunConfig;
use crate::limits::UNLIMITED;
use crate::log::Level;

const LAST_CAP: u32 = 40;
/// Docker's default capability set (CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
/// NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP).
const DOCKER_CAPS: u64 = 0xa800_25fb;
const PASSWD: &str = "root:x:0:0:root:/root:/sbin/nologin\n\
    nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n\
    app:x:1000:1000::/srv/app:/bin/sh\n";
const GROUP: &str = "root:x:0:\nnonroot:x:65532:\nstaff:x:50:nonroot\n";

fn bit(cap: Capability) -> u64 {
    cap.bitmask()
}

/// `docker run` as root: Docker's capabilities, core unlimited, 0-2 and the signalfd open.
fn root() -> Current {
    Current {
        uid: [0; 3],
        gid: [0; 3],
        groups: vec![0],
        caps: CapSets {
            effective: DOCKER_CAPS,
            permitted: DOCKER_CAPS,
            inheritable: 0,
        },
        bounding: DOCKER_CAPS,
        ambient: 0,
        securebits: 0,
        no_new_privs: false,
        dumpable: true,
        last_cap: LAST_CAP,
        rlimits: vec![
            (Resource::RLIMIT_CORE, UNLIMITED, UNLIMITED),
            (Resource::RLIMIT_NOFILE, 1 << 20, 1 << 20),
            (Resource::RLIMIT_NPROC, UNLIMITED, UNLIMITED),
            (Resource::RLIMIT_CPU, UNLIMITED, UNLIMITED),
            (Resource::RLIMIT_AS, UNLIMITED, UNLIMITED),
        ],
        open_fds: vec![0, 1, 2, 3],
    }
}

/// Started as a non-root user with no capabilities (docker run --user UID:GID).
fn nonroot(uid: u32, gid: u32, groups: &[u32]) -> Current {
    Current {
        uid: [uid; 3],
        gid: [gid; 3],
        groups: groups.to_vec(),
        caps: CapSets::default(),
        ..root()
    }
}

fn cfg(flags: &[&str]) -> RunConfig {
    let mut args: Vec<OsString> = vec!["pidguard".into()];
    args.extend(flags.iter().map(OsString::from));
    args.extend(["--".into(), "/app".into()]);
    match crate::cli::parse(args, &[], &|| Ok(Vec::new())) {
        Ok(crate::cli::Command::Run(c)) => *c,
        other => panic!("{flags:?}: {other:?}"),
    }
}

fn db() -> Databases {
    Databases {
        passwd: Some(PASSWD.into()),
        group: Some(GROUP.into()),
    }
}

fn plan_for(flags: &[&str], now: &Current) -> Result<Plan, String> {
    from_state(&cfg(flags), now, &db()).map_err(|e| {
        assert_eq!(e.code, 125);
        assert_eq!(e.msg.lines().count(), 1, "{}", e.msg);
        e.msg
    })
}

fn refused(flags: &[&str], now: &Current) -> String {
    plan_for(flags, now).expect_err("refused")
}

fn eperm() -> io::Error {
    io::Error::from_raw_os_error(libc::EPERM)
}

struct Fake {
    s: Current,
    umask: Option<u32>,
    log: RefCell<Vec<String>>,
    /// This call returns EPERM.
    fail: Option<&'static str>,
    /// This call returns success and changes nothing.
    ignore: Option<&'static str>,
}

impl Fake {
    fn new(s: Current) -> Fake {
        Fake {
            s,
            umask: None,
            log: RefCell::new(Vec::new()),
            fail: None,
            ignore: None,
        }
    }

    fn read(&self, name: &str) {
        self.log.borrow_mut().push(format!("read {name}"));
    }

    /// Records a step; `Ok(true)` means "apply it".
    fn step(&mut self, name: &'static str, args: String, allowed: bool) -> io::Result<bool> {
        self.log.get_mut().push(if args.is_empty() {
            name.to_string()
        } else {
            format!("{name} {args}")
        });
        if self.fail == Some(name) || !allowed {
            return Err(eperm());
        }
        Ok(self.ignore != Some(name))
    }

    fn eff(&self, cap: Capability) -> bool {
        self.s.caps.effective & bit(cap) != 0
    }

    /// The steps only, in order.
    fn steps(&self) -> Vec<String> {
        self.log
            .borrow()
            .iter()
            .filter(|l| !l.starts_with("read "))
            .cloned()
            .collect()
    }

    /// Step names, consecutive repeats collapsed into one (`capbset_drop` once per capability).
    fn step_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .steps()
            .iter()
            .map(|s| s.split(' ').next().unwrap().to_string())
            .collect();
        names.dedup();
        names
    }
}

impl Kernel for Fake {
    fn getresuid(&self) -> io::Result<[u32; 3]> {
        self.read("getresuid");
        Ok(self.s.uid)
    }
    fn getresgid(&self) -> io::Result<[u32; 3]> {
        self.read("getresgid");
        Ok(self.s.gid)
    }
    fn getgroups(&self) -> io::Result<Vec<u32>> {
        self.read("getgroups");
        Ok(self.s.groups.clone())
    }
    fn capget(&self) -> io::Result<CapSets> {
        self.read("capget");
        Ok(self.s.caps)
    }
    fn capbset_read(&self, cap: u32) -> io::Result<bool> {
        if cap > self.s.last_cap {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        Ok(self.s.bounding & (1 << cap) != 0)
    }
    fn ambient_is_set(&self, cap: u32) -> io::Result<bool> {
        Ok(self.s.ambient & (1 << cap) != 0)
    }
    fn securebits(&self) -> io::Result<u32> {
        self.read("securebits");
        Ok(self.s.securebits)
    }
    fn no_new_privs(&self) -> io::Result<bool> {
        Ok(self.s.no_new_privs)
    }
    fn dumpable(&self) -> io::Result<bool> {
        Ok(self.s.dumpable)
    }
    fn getrlimit(&self, resource: Resource) -> io::Result<(u64, u64)> {
        Ok(self.s.rlimit(resource).unwrap_or((UNLIMITED, UNLIMITED)))
    }
    fn open_fds(&self) -> io::Result<Vec<i32>> {
        Ok(self.s.open_fds.clone())
    }

    fn setrlimit(&mut self, resource: Resource, soft: u64, hard: u64) -> io::Result<()> {
        let (_, cur_hard) = self.getrlimit(resource)?;
        let ok = hard <= cur_hard || self.eff(Capability::CAP_SYS_RESOURCE);
        if self.step("setrlimit", format!("{resource:?} {soft} {hard}"), ok)? {
            self.s.rlimits.retain(|(r, _, _)| *r != resource);
            self.s.rlimits.push((resource, soft, hard));
        }
        Ok(())
    }
    fn umask(&mut self, mask: u32) {
        if let Ok(true) = self.step("umask", format!("{mask:o}"), true) {
            self.umask = Some(mask);
        }
    }
    fn keepcaps(&mut self) -> io::Result<()> {
        let locked = self.s.securebits & plan::SECBIT_KEEP_CAPS_LOCKED != 0;
        if self.step("keepcaps", String::new(), !locked)? {
            self.s.securebits |= plan::SECBIT_KEEP_CAPS;
        }
        Ok(())
    }
    fn setgroups(&mut self, groups: &[u32]) -> io::Result<()> {
        let ok = self.eff(Capability::CAP_SETGID);
        if self.step("setgroups", format!("{groups:?}"), ok)? {
            self.s.groups = groups.to_vec();
        }
        Ok(())
    }
    fn setresgid(&mut self, gid: u32) -> io::Result<()> {
        let ok = self.eff(Capability::CAP_SETGID) || self.s.gid.contains(&gid);
        if self.step("setresgid", gid.to_string(), ok)? {
            self.s.gid = [gid; 3];
        }
        Ok(())
    }
    fn setresuid(&mut self, uid: u32) -> io::Result<()> {
        let ok = self.eff(Capability::CAP_SETUID) || self.s.uid.contains(&uid);
        if self.step("setresuid", uid.to_string(), ok)? {
            // capabilities(7), "Effect of user ID changes on capabilities".
            if self.s.uid.contains(&0) && uid != 0 {
                if self.s.securebits & plan::SECBIT_KEEP_CAPS == 0 {
                    self.s.caps.permitted = 0;
                }
                self.s.caps.effective = 0;
                self.s.ambient = 0;
            }
            self.s.uid = [uid; 3];
        }
        Ok(())
    }
    fn capset(&mut self, new: CapSets) -> io::Result<()> {
        let old = self.s.caps;
        let inh_room = if self.eff(Capability::CAP_SETPCAP) {
            old.inheritable | self.s.bounding
        } else {
            old.inheritable | old.permitted
        };
        let ok = new.permitted & !old.permitted == 0
            && new.effective & !new.permitted == 0
            && new.inheritable & !inh_room == 0;
        let args = format!(
            "e={:#x} p={:#x} i={:#x}",
            new.effective, new.permitted, new.inheritable
        );
        if self.step("capset", args, ok)? {
            self.s.caps = new;
            self.s.ambient &= new.permitted & new.inheritable;
        }
        Ok(())
    }
    fn capbset_drop(&mut self, cap: u32) -> io::Result<()> {
        let ok = self.eff(Capability::CAP_SETPCAP);
        if self.step("capbset_drop", cap.to_string(), ok)? {
            self.s.bounding &= !(1 << cap);
        }
        Ok(())
    }
    fn ambient_clear(&mut self) -> io::Result<()> {
        if self.step("ambient_clear", String::new(), true)? {
            self.s.ambient = 0;
        }
        Ok(())
    }
    fn ambient_raise(&mut self, cap: u32) -> io::Result<()> {
        let c = self.s.caps;
        let ok = c.permitted & c.inheritable & (1 << cap) != 0
            && self.s.securebits & plan::SECBIT_NO_CAP_AMBIENT_RAISE == 0;
        if self.step("ambient_raise", cap.to_string(), ok)? {
            self.s.ambient |= 1 << cap;
        }
        Ok(())
    }
    fn set_securebits(&mut self, bits: u32) -> io::Result<()> {
        let locked = (self.s.securebits >> 1) & 0b0101_0101;
        let ok = self.eff(Capability::CAP_SETPCAP) && (self.s.securebits ^ bits) & locked == 0;
        if self.step("set_securebits", format!("{bits:#x}"), ok)? {
            self.s.securebits = bits;
        }
        Ok(())
    }
    fn set_no_new_privs(&mut self) -> io::Result<()> {
        if self.step("set_no_new_privs", String::new(), true)? {
            self.s.no_new_privs = true;
        }
        Ok(())
    }
    fn set_nondumpable(&mut self) -> io::Result<()> {
        if self.step("set_nondumpable", String::new(), true)? {
            self.s.dumpable = false;
        }
        Ok(())
    }
}

/// Plans `flags` for `now` and applies the plan to a fake in that state.
fn run(flags: &[&str], now: Current) -> (Plan, Fake, Result<(), String>) {
    let plan = plan_for(flags, &now).expect("planned");
    let mut fake = Fake::new(now);
    let res = apply(&plan, &mut fake).map_err(|e| e.msg);
    (plan, fake, res)
}

// ---------------------------------------------------------------- the order

#[test]
fn root_to_user_drops_in_the_documented_order_then_reads_back() {
    let (plan, fake, res) = run(
        &[
            "--user",
            "nonroot",
            "--cap-add",
            "NET_BIND_SERVICE",
            "--rlimit",
            "nofile=4096",
            "--umask",
            "027",
        ],
        root(),
    );
    res.unwrap();
    assert_eq!(
        fake.step_names(),
        [
            "setrlimit",
            "umask",
            "keepcaps",
            "setgroups",
            "setresgid",
            "setresuid",
            "capset",
            "capbset_drop",
            "ambient_clear",
            "ambient_raise",
            "set_securebits",
            "capset",
            "set_no_new_privs",
            "set_nondumpable",
        ]
    );
    let nbs = bit(Capability::CAP_NET_BIND_SERVICE);
    let steps = fake.steps();
    assert_eq!(steps[0], "setrlimit RLIMIT_CORE 0 0", "core=0 by default");
    assert_eq!(steps[1], "setrlimit RLIMIT_NOFILE 4096 4096");
    assert!(steps.contains(&"setgroups [50, 65532]".to_string()));
    assert!(steps.contains(&format!(
        "capset e={:#x} p={:#x} i={nbs:#x}",
        nbs | 1 << 8,
        nbs | 1 << 8
    )));
    assert!(steps.contains(&"ambient_raise 10".to_string()));
    assert_eq!(
        steps
            .iter()
            .filter(|s| s.starts_with("capbset_drop"))
            .count(),
        (DOCKER_CAPS & !nbs).count_ones() as usize,
        "exactly the bounding capabilities not kept"
    );
    // The read-back comes after the last step, and reads everything again.
    let log = fake.log.borrow();
    let last_step = log.iter().rposition(|l| !l.starts_with("read ")).unwrap();
    assert_eq!(log[last_step], "set_nondumpable");
    let after: Vec<&String> = log[last_step + 1..].iter().collect();
    for read in [
        "read capget",
        "read getgroups",
        "read getresuid",
        "read getresgid",
        "read securebits",
    ] {
        assert!(after.iter().any(|l| *l == read), "{read} in {after:?}");
    }
    drop(log);

    let s = &fake.s;
    assert_eq!((s.uid, s.gid), ([65532; 3], [65532; 3]));
    assert_eq!(s.groups, [50, 65532]);
    assert_eq!(s.caps, CapSets::all(nbs));
    assert_eq!((s.ambient, s.bounding), (nbs, nbs));
    assert_eq!(s.securebits, SECUREBITS);
    assert!(s.no_new_privs && !s.dumpable);
    assert_eq!(fake.umask, Some(0o27));
    assert_eq!(plan.identity.home, "/home/nonroot");
    assert_eq!(plan.overridden, None);
}

#[test]
fn an_unprivileged_start_only_clears_and_locks_what_it_can() {
    let (plan, fake, res) = run(&["--user", "65532"], nonroot(65532, 65532, &[65532]));
    res.unwrap();
    assert_eq!(
        fake.steps(),
        [
            "setrlimit RLIMIT_CORE 0 0",
            "capset e=0x0 p=0x0 i=0x0",
            "ambient_clear",
            "set_no_new_privs",
            "set_nondumpable",
        ]
    );
    assert!(!plan.have_setpcap);
    assert_eq!(fake.s.bounding, DOCKER_CAPS, "left as is, out of reach");
    assert!(
        plan.notes
            .iter()
            .any(|(l, m)| *l == Level::Info && m.contains("bounding set left as is"))
    );
}

#[test]
fn switching_without_setpcap_keeps_caps_flag_and_still_verifies() {
    // docker run --cap-drop SETPCAP: the switch works, the bounding set and securebits stay.
    let mut now = root();
    now.caps.permitted &= !bit(Capability::CAP_SETPCAP);
    now.caps.effective = now.caps.permitted;
    let (_, fake, res) = run(&["--user", "65532"], now);
    res.unwrap();
    assert!(!fake.step_names().contains(&"set_securebits".to_string()));
    assert_eq!(fake.s.securebits, plan::SECBIT_KEEP_CAPS);
}

#[test]
fn allow_new_privs_leaves_no_new_privs_off_and_says_so() {
    let (plan, fake, res) = run(
        &[
            "--user",
            "65532",
            "--allow-new-privs",
            "--seccomp",
            "unconfined",
        ],
        root(),
    );
    res.unwrap();
    assert!(!fake.step_names().contains(&"set_no_new_privs".to_string()));
    assert!(
        plan.notes
            .iter()
            .any(|(l, m)| *l == Level::Warn && m.contains("no_new_privs is off"))
    );
}

// ---------------------------------------------------------------- refusals

#[test]
fn root_is_refused_unless_allowed() {
    let msg = refused(&[], &root());
    assert!(
        msg.starts_with("refusing to run the program as root"),
        "{msg}"
    );
    assert!(refused(&["--user", "0"], &root()).starts_with("refusing"));
    assert!(refused(&["--user", "root"], &root()).starts_with("refusing"));
    let (plan, _, res) = run(&["--allow-root"], root());
    res.unwrap();
    assert_eq!(plan.identity.uid, 0);
    assert_eq!(plan.keep_caps, 0);
}

#[test]
fn a_switch_without_setuid_or_setgid_names_what_is_missing() {
    let mut now = root();
    now.caps.effective &= !bit(Capability::CAP_SETUID);
    let msg = refused(&["--user", "65532"], &now);
    assert!(
        msg.starts_with(
            "cannot switch to user nonroot (uid 65532 gid 65532): pidguard lacks CAP_SETUID ("
        ) && msg.contains("docker run --user 65532"),
        "{msg}"
    );
    now.caps.effective &= !bit(Capability::CAP_SETGID);
    let msg = refused(&["--user", "nonroot"], &now);
    assert!(
        msg.contains("lacks CAP_SETUID and CAP_SETGID (the container was started without them"),
        "{msg}"
    );
}

#[test]
fn groups_without_setgid_are_refused() {
    let now = nonroot(65532, 65532, &[65532]);
    let msg = refused(&["--user", "65532", "--groups", "10"], &now);
    assert!(
        msg.starts_with(
            "cannot set --groups: pidguard lacks CAP_SETGID (running as uid 65532 gid 65532)"
        ),
        "{msg}"
    );
    // Asking for exactly the groups it has is no change.
    plan_for(&["--user", "65532", "--groups", "65532"], &now).unwrap();
    // Without --groups the runtime's groups are kept.
    let plan = plan_for(&["--user", "nonroot"], &nonroot(65532, 65532, &[7, 65532])).unwrap();
    assert_eq!(plan.identity.groups, [7, 65532]);
    assert_eq!(plan.set_groups, None);
}

#[test]
fn cap_add_must_be_permitted_and_in_the_bounding_set() {
    let msg = refused(
        &["--user", "65532", "--cap-add", "NET_BIND_SERVICE"],
        &nonroot(65532, 65532, &[65532]),
    );
    assert_eq!(
        msg,
        "cannot keep CAP_NET_BIND_SERVICE: pidguard does not have it (its permitted set lacks it); add it \
         to the container (docker run --cap-add NET_BIND_SERVICE) and start pidguard as root"
    );
    let msg = refused(&["--user", "65532", "--cap-add", "SYS_ADMIN"], &root());
    assert!(msg.starts_with("cannot keep CAP_SYS_ADMIN"), "{msg}");
}

#[test]
fn setuid_without_kill_is_refused_because_pid1_could_not_signal_the_program() {
    let msg = refused(
        &["--allow-root", "--cap-add", "CHOWN,SETUID,SETGID"],
        &root(),
    );
    assert!(
        msg.starts_with("--cap-add SETUID lets the program switch to a uid that PID 1")
            && msg.contains("add KILL to --cap-add")
            && msg.contains("exec /pidguard --user app"),
        "{msg}"
    );
    let (plan, fake, res) = run(
        &["--allow-root", "--cap-add", "CHOWN,SETUID,SETGID,KILL"],
        root(),
    );
    res.unwrap();
    assert_eq!(fake.s.caps.effective, plan.keep_caps);
    // SETGID alone changes nothing kill(2) looks at.
    plan_for(&["--allow-root", "--cap-add", "SETGID"], &root()).unwrap();
}

#[test]
fn raising_a_hard_limit_needs_cap_sys_resource() {
    let msg = refused(
        &["--user", "65532", "--rlimit", "nofile=4096:2000000"],
        &nonroot(65532, 65532, &[]),
    );
    assert!(
        msg.starts_with("--rlimit nofile=4096:2000000: the hard limit is above the current one (1048576) and pidguard lacks CAP_SYS_RESOURCE"),
        "{msg}"
    );
    let mut now = root();
    now.caps.effective |= bit(Capability::CAP_SYS_RESOURCE);
    now.caps.permitted |= bit(Capability::CAP_SYS_RESOURCE);
    now.bounding |= bit(Capability::CAP_SYS_RESOURCE);
    let (_, fake, res) = run(&["--user", "65532", "--rlimit", "nofile=4096:2000000"], now);
    res.unwrap();
    assert_eq!(
        fake.s.rlimit(Resource::RLIMIT_NOFILE),
        Some((4096, 2_000_000))
    );
}

#[test]
fn locked_securebits_that_differ_are_refused() {
    let mut now = root();
    now.securebits = plan::SECBIT_KEEP_CAPS | plan::SECBIT_KEEP_CAPS_LOCKED;
    let msg = refused(&["--user", "65532"], &now);
    assert!(
        msg.starts_with("cannot lock the securebits to 0xeb: they were locked to 0x30"),
        "{msg}"
    );
    now.securebits = plan::SECBIT_NOROOT | plan::SECBIT_NOROOT_LOCKED;
    run(&["--user", "65532"], now).2.unwrap();
}

// ---------------------------------------------------------------- failures and the read-back

#[test]
fn a_failing_step_stops_the_drop_there() {
    let plan = plan_for(&["--user", "65532"], &root()).unwrap();
    let mut fake = Fake::new(root());
    fake.fail = Some("setresuid");
    let msg = apply(&plan, &mut fake).unwrap_err().msg;
    assert_eq!(
        msg,
        "cannot switch user (setresuid): Operation not permitted (os error 1); the program was not started"
    );
    assert_eq!(
        fake.step_names().last().map(String::as_str),
        Some("setresuid")
    );
}

#[test]
fn the_read_back_catches_every_step_the_kernel_ignored() {
    for (ignored, what) in [
        ("setrlimit", "the core limit"),
        ("setgroups", "the supplementary group list"),
        ("setresgid", "the gid"),
        ("setresuid", "the uid"),
        ("capbset_drop", "the bounding capability set"),
        ("ambient_raise", "the ambient capability set"),
        ("set_securebits", "the securebits"),
        ("set_no_new_privs", "no_new_privs"),
        ("set_nondumpable", "the dumpable flag"),
    ] {
        let plan = plan_for(
            &["--user", "65532", "--cap-add", "NET_BIND_SERVICE"],
            &root(),
        )
        .unwrap();
        let mut fake = Fake::new(root());
        fake.ignore = Some(ignored);
        let msg = apply(&plan, &mut fake).map_err(|e| e.msg).unwrap_err();
        // An ignored uid switch leaves the capabilities, and the first difference is reported.
        if ignored != "setresuid" {
            assert_eq!(
                msg,
                format!(
                    "hardening check failed: {what} is not as planned; the program was not started"
                ),
                "{ignored}"
            );
        } else {
            assert!(msg.starts_with("hardening check failed"), "{msg}");
        }
    }
    // Every capset ignored: CAP_SETPCAP is not raised again after the uid change, so the next
    // step that needs it fails; never a program with capabilities it should not have.
    let plan = plan_for(&["--user", "65532"], &root()).unwrap();
    let mut fake = Fake::new(root());
    fake.ignore = Some("capset");
    let msg = apply(&plan, &mut fake).unwrap_err().msg;
    assert!(
        msg.starts_with("cannot drop the capability bounding set"),
        "{msg}"
    );
    // Only the last capset ignored (as root with --allow-root, where no uid change clears the
    // effective set): CAP_SETPCAP would stay, and the read-back says so.
    let plan = plan_for(&["--allow-root"], &root()).unwrap();
    let mut fake = Fake::new(root());
    fake.ignore = Some("capset");
    let msg = apply(&plan, &mut fake).unwrap_err().msg;
    assert!(
        msg.starts_with("hardening check failed: the effective capability set"),
        "{msg}"
    );
}

#[test]
fn gather_finds_the_last_capability_and_reads_ambient_only_when_possible() {
    let mut now = root();
    now.caps.inheritable = bit(Capability::CAP_KILL);
    now.ambient = bit(Capability::CAP_KILL);
    let fake = Fake::new(now.clone());
    let got = gather(&fake, &[Resource::RLIMIT_NOFILE], true).unwrap();
    assert_eq!(got.last_cap, LAST_CAP);
    assert_eq!(got.ambient, bit(Capability::CAP_KILL));
    assert_eq!(got.rlimits, [(Resource::RLIMIT_NOFILE, 1 << 20, 1 << 20)]);
    assert_eq!(got.open_fds, [0, 1, 2, 3]);
    assert_eq!(got.bounding, DOCKER_CAPS);
}

// ---------------------------------------------------------------- platform-chosen identities

#[test]
fn a_random_nonroot_uid_is_kept_when_it_cannot_switch() {
    // OpenShift: docker run --user 1000680000:0, the image says --user 65532.
    let now = nonroot(1_000_680_000, 0, &[0]);
    let (plan, fake, res) = run(&["--user", "65532"], now);
    res.unwrap();
    assert_eq!((plan.identity.uid, plan.identity.gid), (1_000_680_000, 0));
    assert_eq!(plan.identity.groups, [0], "gid 0 stays, as OpenShift needs");
    let o = plan.overridden.as_ref().expect("recorded");
    assert_eq!(
        (o.requested.as_str(), o.requested_uid, o.requested_gid),
        ("65532", 65532, 65532)
    );
    assert_eq!(o.missing, ["CAP_SETUID", "CAP_SETGID"]);
    let (level, note) = &plan.notes[0];
    assert_eq!(*level, Level::Info);
    assert!(
        note.starts_with("running as uid 1000680000 gid 0 groups [0], the identity the container was started with: --user 65532 (uid 65532 gid 65532) needs CAP_SETUID and CAP_SETGID"),
        "{note}"
    );
    // No identity step at all; the read-back expects the kept identity.
    let names = fake.step_names();
    for step in ["keepcaps", "setgroups", "setresgid", "setresuid"] {
        assert!(!names.iter().any(|n| n == step), "{step} in {names:?}");
    }
    // HOME, USER, LOGNAME describe who runs: no passwd entry, so as for any such uid.
    assert_eq!(
        super::env_overrides(&plan),
        [
            ("HOME", "/"),
            ("USER", "1000680000"),
            ("LOGNAME", "1000680000")
        ]
    );
}

#[test]
fn user_65532_with_docker_gid_0_runs_as_it_is() {
    // USER 65532 in a Dockerfile: Docker gives gid 0; the README's own snippet.
    let plan = plan_for(&["--user", "65532"], &nonroot(65532, 0, &[])).unwrap();
    assert_eq!((plan.identity.uid, plan.identity.gid), (65532, 0));
    assert_eq!(plan.overridden.as_ref().unwrap().missing, ["CAP_SETGID"]);
    // The kept uid has a passwd entry: its HOME and name.
    assert_eq!(
        super::env_overrides(&plan),
        [
            ("HOME", "/home/nonroot"),
            ("USER", "nonroot"),
            ("LOGNAME", "nonroot")
        ]
    );
    // Already exactly the user asked for: nothing is overridden.
    let plan = plan_for(&["--user", "65532"], &nonroot(65532, 65532, &[65532])).unwrap();
    assert_eq!(plan.overridden, None);
}

#[test]
fn root_that_cannot_switch_is_never_kept() {
    let mut now = root();
    now.caps = CapSets::default();
    let msg = refused(&["--user", "65532"], &now);
    assert!(msg.starts_with("cannot switch to user nonroot"), "{msg}");
    // Mixed ids (a setuid start) are not a settled identity either.
    let mut now = nonroot(1000, 1000, &[]);
    now.uid = [1000, 1001, 1000];
    assert!(refused(&["--user", "65532"], &now).starts_with("cannot switch"));
}

// ---------------------------------------------------------------- limits PID 1 shares

#[test]
fn nofile_below_what_pid1_holds_is_refused_with_the_minimum() {
    let now = root();
    // 4 open (0-2, signalfd) + status socket with 64 connections and one over the cap + 2 for /proc.
    let min = 4 + 1 + 65 + 2;
    assert_eq!(plan::pid1_min_nofile(&cfg(&[]), &now.open_fds), min);
    for low in ["nofile=0", "nofile=1", &format!("nofile={}", min - 1)] {
        let msg = refused(&["--user", "65532", "--rlimit", low], &now);
        assert!(
            msg.contains(": too low for PID 1: PID 1 shares it with the program")
                && msg.ends_with(&format!("write nofile={min} or more")),
            "{msg}"
        );
    }
    plan_for(
        &["--user", "65532", "--rlimit", &format!("nofile={min}")],
        &now,
    )
    .unwrap();
    // A soft limit too low is refused even with a high hard limit: PID 1 runs at the soft one.
    refused(&["--user", "65532", "--rlimit", "nofile=8:4096"], &now);
    // --health-listen and an app check need more; inherited descriptors below the limit count.
    let busy = cfg(&[
        "--health-listen",
        ":8081",
        "--health-check",
        "exec:/bin/true",
    ]);
    assert_eq!(
        plan::pid1_min_nofile(&busy, &[0, 1, 2, 3]),
        4 + 2 * 66 + 2 + 2
    );
    assert_eq!(plan::pid1_min_nofile(&cfg(&[]), &[0, 1, 2, 3, 7]), min + 1);
    assert_eq!(plan::pid1_min_nofile(&cfg(&[]), &[0, 1, 2, 3, 5000]), min);
    assert_eq!(
        plan::pid1_min_nofile(&cfg(&[]), &[]),
        min,
        "no /proc: 0-3 assumed"
    );
}

#[test]
fn nproc_too_small_for_pid1_and_the_program_is_refused() {
    let msg = refused(&["--user", "65532", "--rlimit", "nproc=0"], &root());
    assert!(msg.ends_with("write nproc=2 or more"), "{msg}");
    refused(&["--user", "65532", "--rlimit", "nproc=1"], &root());
    plan_for(&["--user", "65532", "--rlimit", "nproc=2"], &root()).unwrap();
    let msg = refused(
        &[
            "--user",
            "65532",
            "--health-check",
            "exec:/bin/true",
            "--rlimit",
            "nproc=2",
        ],
        &root(),
    );
    assert!(msg.ends_with("write nproc=3 or more"), "{msg}");
}

#[test]
fn per_process_consumption_limits_are_the_programs_alone() {
    for (r, scope) in [
        (Resource::RLIMIT_CPU, Scope::Program),
        (Resource::RLIMIT_AS, Scope::Program),
        (Resource::RLIMIT_DATA, Scope::Program),
        (Resource::RLIMIT_STACK, Scope::Program),
        (Resource::RLIMIT_FSIZE, Scope::Program),
        (Resource::RLIMIT_SIGPENDING, Scope::Program),
        (Resource::RLIMIT_NOFILE, Scope::Both),
        (Resource::RLIMIT_NPROC, Scope::Both),
        (Resource::RLIMIT_CORE, Scope::Both),
        (Resource::RLIMIT_MEMLOCK, Scope::Both),
    ] {
        assert_eq!(plan::scope(r), scope, "{r:?}");
    }
    let (plan, fake, res) = run(
        &[
            "--user",
            "65532",
            "--rlimit",
            "cpu=1",
            "--rlimit",
            "as=1048576",
        ],
        root(),
    );
    res.unwrap();
    let names: Vec<&str> = plan.program_rlimits.iter().map(|r| r.name).collect();
    assert_eq!(names, ["cpu", "as"]);
    assert_eq!(
        fake.steps()
            .iter()
            .filter(|s| s.starts_with("setrlimit"))
            .count(),
        1,
        "core only"
    );
    // A hard limit above PID 1's: PID 1 raises its own hard limit first (keeping its soft one),
    // because the child, after the drop, could not.
    let mut now = root();
    now.rlimits.push((Resource::RLIMIT_DATA, 1 << 30, 1 << 30));
    now.caps.effective |= bit(Capability::CAP_SYS_RESOURCE);
    now.caps.permitted |= bit(Capability::CAP_SYS_RESOURCE);
    now.bounding |= bit(Capability::CAP_SYS_RESOURCE);
    let (plan, fake, res) = run(&["--user", "65532", "--rlimit", "data=4096:unlimited"], now);
    res.unwrap();
    assert_eq!(
        fake.s.rlimit(Resource::RLIMIT_DATA),
        Some((1 << 30, UNLIMITED))
    );
    assert_eq!(
        (plan.program_rlimits[0].soft, plan.program_rlimits[0].hard),
        (4096, UNLIMITED)
    );
}
