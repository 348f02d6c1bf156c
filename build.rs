//! Names the build in `pidguard --version`: version, git commit and target triple, e.g.
//! `pidguard 0.1.0 (commit 1a2b3c4d5e6f, aarch64-unknown-linux-gnu)`.
//!
//! The commit comes from `RELEASE_COMMIT` when set (the release script sets it, so that a rebuild
//! from a tarball without `.git` gives the same bytes), else from `git rev-parse`, else "unknown": a
//! source tarball must still build. Nothing else of the build machine (paths, time, user) goes in.
//! Neither name starts with PIDGUARD_: cargo also puts `rustc-env` variables into the environment of
//! the tests it runs, and pidguard refuses a PIDGUARD_* variable that is not one of its options.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=RELEASE_COMMIT");
    let commit = match std::env::var("RELEASE_COMMIT") {
        Ok(c) if !c.is_empty() => c,
        _ => git_commit().unwrap_or_else(|| "unknown".into()),
    };
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rustc-env=BUILD_VERSION_LINE=pidguard {version} (commit {commit}, {target})");
}

/// HEAD's commit, and the files whose change means a new one (HEAD, the branch ref, packed refs).
fn git_commit() -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    let mut watch = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch.push(git(&["rev-parse", "--git-path", &branch]));
    }
    watch.push(git(&["rev-parse", "--git-common-dir"]).map(|d| format!("{d}/packed-refs")));
    for path in watch.into_iter().flatten() {
        println!("cargo:rerun-if-changed={path}");
    }
    Some(commit)
}
