//! What every child of PID 1 is started from: the program's PATH candidates, and the template (environment,
//! signal mask, dispositions, filters) shared by the program and the app checks.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::cli::RunConfig;
use crate::error::SetupError;
use crate::health::target::Target;
use crate::sys;

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The paths to try for PROGRAM, as execvp(3) searches: PROGRAM itself when it has a slash, else each
/// PATH entry (empty entries mean the current directory) where the name exists.
pub fn search_path(program: &OsStr, path: Option<&OsStr>) -> Vec<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return vec![PathBuf::from(program)];
    }
    let path = path.unwrap_or(OsStr::new(DEFAULT_PATH));
    path.as_bytes()
        .split(|&b| b == b':')
        .map(|dir| {
            let dir = if dir.is_empty() { b".".as_slice() } else { dir };
            Path::new(OsStr::from_bytes(dir)).join(program)
        })
        .filter(|p| p.symlink_metadata().is_ok())
        .collect()
}

pub(super) fn cstring(bytes: &[u8], what: &str) -> Result<CString, SetupError> {
    CString::new(bytes).map_err(|_| SetupError::setup(format!("{what} contains a NUL byte")))
}

/// The parts of a child's start that are the same for the program and for app checks.
pub(super) struct ChildTemplate {
    pub envp: std::rc::Rc<sys::Environ>,
    pub sigmask: libc::sigset_t,
    pub reignore: Vec<libc::c_int>,
    pub filters: Vec<Vec<libc::sock_filter>>,
    /// The Landlock ruleset each child enforces on itself (its own domain: see landlock.rs).
    pub landlock: Option<std::os::fd::OwnedFd>,
}

impl ChildTemplate {
    pub fn plan(&self, paths: Vec<CString>, argv: Vec<CString>) -> sys::ChildPlan {
        let mut plan = sys::ChildPlan::new(paths, argv, self.envp.clone(), self.sigmask);
        plan.reignore = self.reignore.clone();
        plan.filters = self.filters.clone();
        plan.landlock = self.landlock.as_ref().map(std::os::fd::AsRawFd::as_raw_fd);
        plan
    }
}

/// The app check's command line, fixed for the life of PID 1: exec: targets run as written; http://
/// and tcp:// run as a `pidguard probe` child, so that no network call ever blocks PID 1's loop.
pub(super) fn check_argv(cfg: &RunConfig) -> Result<Option<Vec<CString>>, SetupError> {
    let Some(target) = &cfg.health.check else {
        return Ok(None);
    };
    let argv: Vec<String> = match target {
        Target::Exec { argv } => argv.clone(),
        Target::Http { .. } | Target::Tcp { .. } => {
            // Resolved now: /proc may be unreadable for us after the drop.
            let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
            let mut argv = vec![
                exe.to_string_lossy().into_owned(),
                "probe".into(),
                "--timeout".into(),
                crate::duration::format(cfg.health.timeout),
            ];
            if matches!(target, Target::Http { .. }) {
                argv.extend(["--expect".into(), cfg.health.expect.clone()]);
            }
            argv.push(target.to_string());
            argv
        }
    };
    argv.iter()
        .map(|a| cstring(a.as_bytes(), "--health-check"))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_search_follows_execvp() {
        assert_eq!(
            search_path(OsStr::new("./x"), None),
            vec![PathBuf::from("./x")]
        );
        let found = search_path(
            OsStr::new("sh"),
            Some(OsStr::new("/nonexistent:/bin:/usr/bin")),
        );
        assert!(found.iter().all(|p| p.ends_with("sh")));
        assert!(!found.is_empty());
        assert!(search_path(OsStr::new("no-such-program-xyz"), None).is_empty());
    }
}
