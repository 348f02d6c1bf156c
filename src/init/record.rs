//! PID 1's side of `--seccomp-record`: it holds the listeners of the recording filters its children
//! installed, answers every notification at once, keeps the record, and writes the profile when
//! the program exits or a SIGTERM arrives (and serves it on the status socket at any time).
//! Why the filter looks as it does, and who installs it: seccomp/record.rs.
//!
//! Loop discipline (PID 1 is one thread): a listener is polled like any other descriptor; when it is
//! readable, PID 1 takes and answers up to [`BATCH`] notifications and then goes back to poll, so
//! signals and reaping wait at most one batch (each answer is two ioctls, about 16 µs for the round
//! trip). A notification is never held: `SECCOMP_IOCTL_NOTIF_RECV` is called only when poll said
//! one is pending (then it cannot block, see sys::notif_recv), and the answer follows at once. A
//! caller that died meanwhile makes RECV or SEND fail with ENOENT, which is nothing to act on.
//! Recording allocates nothing (a fixed table); only writing or serving the profile does.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{FileExt, OpenOptionsExt};

use crate::cli::{RecordTo, RunConfig, Seccomp};
use crate::error::SetupError;
use crate::seccomp::record::{Base, Recorded, counts, profile, recording_filter};
use crate::seccomp::{self, export_json};
use crate::sys;
use crate::{debug, warn};

/// Notifications answered per wake of the loop before signals get their turn again.
pub const BATCH: usize = 64;

/// Listeners kept at once: one per recorded program start whose processes still run (a restart
/// adds one; the old one is dropped when its last process is gone).
pub const MAX_LISTENERS: usize = 8;

/// The recording: what it is measured against, what was seen, where it goes.
pub struct Recorder {
    base: Base,
    recorded: Recorded,
    listeners: Vec<OwnedFd>,
    /// Opened at start, while PID 1 may still create the file; written through this descriptor.
    out: Option<(File, String)>,
    /// The profile text was written and nothing was recorded since.
    written: bool,
}

impl Recorder {
    /// Checks everything before the program starts: the kernel, the base profile, the output file.
    pub fn new(cfg: &RunConfig) -> Result<Option<Recorder>, SetupError> {
        let Some(to) = &cfg.seccomp_record else {
            return Ok(None);
        };
        let bad = |e: seccomp::Error| SetupError::setup(format!("--seccomp-record: {e}"));
        // SECCOMP_USER_NOTIF_FLAG_CONTINUE came in Linux 5.5; before it a listener can only fake
        // results, which recording must never do.
        match seccomp::running_kernel() {
            Some(k) if k >= (5, 5) => {}
            k => {
                return Err(SetupError::setup(format!(
                    "--seccomp-record needs Linux 5.5 or newer (user notifications that let the \
                     syscall run); this kernel is {}",
                    k.map_or("unknown".into(), |(a, b)| format!("{a}.{b}"))
                )));
            }
        }
        let profile = match &cfg.seccomp {
            Seccomp::Default => seccomp::default_profile(),
            Seccomp::File(path) => seccomp::load_profile(path).map_err(bad)?,
            Seccomp::Unconfined => {
                return Err(SetupError::setup(
                    "--seccomp-record needs a filter to record against: drop --seccomp unconfined",
                ));
            }
        };
        let keep = crate::limits::cap_mask(&cfg.cap_add);
        let target = seccomp::native_target(keep).map_err(bad)?;
        let base = Base::new(&profile, &target).map_err(bad)?;
        let out = match to {
            RecordTo::StatusSocket => None,
            RecordTo::File(path) => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o644)
                    .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
                    .open(path)
                    .map_err(|e| {
                        SetupError::setup(format!(
                            "--seccomp-record: cannot create {}: {e}; give a writable path, or - \
                             to fetch the profile with `pidguard seccomp recorded`",
                            path.display()
                        ))
                    })?;
                Some((file, path.display().to_string()))
            }
        };
        use crate::health::target::Target as Check;
        let network = cfg.health.listen.is_some()
            || matches!(
                cfg.health.check,
                Some(Check::Http { .. } | Check::Tcp { .. })
            );
        let recorder = Recorder {
            recorded: Recorded::for_container(&base, network),
            base,
            listeners: Vec::with_capacity(MAX_LISTENERS),
            out,
            written: false,
        };
        // The filter must compile before the program is started, not at its first restart.
        recorder.filter()?;
        Ok(Some(recorder))
    }

    /// The filter for the next child: it also lets through what was already recorded.
    pub fn filter(&self) -> Result<Vec<libc::sock_filter>, SetupError> {
        recording_filter(&self.base, &self.recorded)
            .map_err(|e| SetupError::setup(format!("--seccomp-record: {e}")))
    }

    /// Takes the listener a child created (sys::spawn put it in `plan.listener`).
    pub fn adopt(&mut self, listener: OwnedFd) {
        // A faster wake-up where the kernel has it (6.6); without it recording only costs more.
        if let Err(e) = sys::notif_sync_wake_up(listener.as_raw_fd()) {
            debug!("seccomp record: no synchronous wake-up ({e})");
        }
        if self.listeners.len() >= MAX_LISTENERS {
            // Closing a listener makes the filter answer ENOSYS: drop the oldest, whose program is
            // the least likely still to run.
            warn!(
                "seccomp record: more than {MAX_LISTENERS} recorded starts still running; the \
                 oldest is no longer recorded"
            );
            self.listeners.remove(0);
        }
        self.listeners.push(listener);
    }

    pub fn pollfds(&self, out: &mut Vec<libc::pollfd>) {
        out.extend(self.listeners.iter().map(|l| libc::pollfd {
            fd: l.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }));
    }

    /// Answers what poll reported for the listeners; `fds` is the whole poll set.
    pub fn on_ready(&mut self, fds: &[libc::pollfd]) {
        let mut i = 0;
        while i < self.listeners.len() {
            let fd = self.listeners[i].as_raw_fd();
            let revents = fds.iter().find(|p| p.fd == fd).map_or(0, |p| p.revents);
            let keep = if revents & libc::POLLIN != 0 {
                self.answer(fd)
            } else {
                // POLLHUP: every process under this filter is gone; POLLNVAL/POLLERR: unusable.
                revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) == 0
            };
            if keep {
                i += 1;
            } else {
                self.listeners.remove(i);
            }
        }
    }

    /// Takes and answers up to [`BATCH`] notifications; false when the listener is unusable.
    fn answer(&mut self, fd: libc::c_int) -> bool {
        for _ in 0..BATCH {
            match sys::notif_recv(fd) {
                Ok(n) => {
                    // Answer first: the caller waits; recording is the same either way.
                    match sys::notif_continue(fd, n.id) {
                        Ok(()) => {}
                        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                        Err(e) => {
                            warn!("seccomp record: cannot answer a notification: {e}");
                            return false;
                        }
                    }
                    self.recorded.record(&self.base, n.arch, n.nr, &n.args);
                    self.written = false;
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => return true,
                Err(e) => {
                    warn!(
                        "seccomp record: cannot read notifications: {e}; the rest of this run is \
                         not recorded"
                    );
                    return false;
                }
            }
            let mut one = [libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            }];
            if !matches!(sys::poll(&mut one, 0), Ok(1)) || one[0].revents & libc::POLLIN == 0 {
                break;
            }
        }
        true
    }

    /// The recorded profile as Docker-format JSON (for the status socket).
    pub fn json(&self) -> String {
        export_json(&profile(&self.base, &self.recorded))
    }

    /// Writes the profile (on SIGTERM and at exit); `last` adds the summary line.
    pub fn write(&mut self, last: bool) {
        if !self.written
            && let Some((file, path)) = &self.out
        {
            let text = self.json();
            let done = file
                .set_len(0)
                .and_then(|()| file.write_all_at(text.as_bytes(), 0))
                .and_then(|()| file.sync_data());
            match done {
                Ok(()) => self.written = true,
                Err(e) => warn!("seccomp record: cannot write {path}: {e}"),
            }
        }
        if last {
            let (used, allowed) = counts(&self.base, &self.recorded);
            let whereto = match &self.out {
                Some((_, path)) if self.written => format!("profile written to {path}"),
                Some((_, path)) => format!("profile NOT written to {path}"),
                None => "no file (--seccomp-record -)".to_string(),
            };
            warn!(
                "seccomp record: the recorded profile allows {used} of the {allowed} syscalls the \
                 filter allows ({} notifications); {whereto}",
                self.recorded.notifications
            );
        }
        let _ = std::io::stderr().flush();
    }
}
