//! arm64: the aarch64 static binary as a user runs it. On an x86_64 machine it runs under qemu-user
//! (binfmt_misc, registered by tests/run.sh), which cannot install a seccomp filter: these scenarios run
//! with `--seccomp unconfined` and say so in their names. The aarch64 filter itself is proven without
//! a kernel: `src/seccomp/tests.rs` runs the aarch64 program through the BPF evaluator for every
//! syscall and argument edge, against the rules and against Docker's arm64 profile, and
//! `src/seccomp/syscalls.rs` checks the aarch64 table against the kernel headers.
//!
//! Also here: the one toolchain pin, the Dockerfile's per-architecture images, and the release (two
//! builds in different directories give the same bytes).

use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn text(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

// ---------------------------------------------------------------------------------------------------
// One toolchain, one Dockerfile.

#[test]
fn the_toolchain_is_pinned_once_for_both_targets() {
    let toolchain = text("rust-toolchain.toml");
    let value = |text: &str, key: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.trim().strip_prefix('='))
            .unwrap_or_else(|| panic!("no {key}"))
            .trim()
            .trim_matches('"')
            .to_string()
    };
    let channel = value(&toolchain, "channel");
    assert_eq!(channel.split('.').count(), 3, "an exact release: {channel}");
    for target in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] {
        assert!(toolchain.contains(&format!("\"{target}\"")), "{target}");
    }
    assert_eq!(value(&text("Cargo.toml"), "rust-version"), channel);
    let dockerfile = text("Dockerfile");
    assert!(
        dockerfile.contains(&format!(" rust:{channel}-")),
        "the Dockerfile's build stage uses rust:{channel}"
    );
}

/// (keyword, arguments) of each instruction of each stage of the top-level Dockerfile, continuation
/// lines joined, comments dropped; the stage's name is its `AS` name or "" for the last.
fn stages() -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut line = String::new();
    for raw in text("Dockerfile").lines() {
        let raw = raw.trim();
        if raw.starts_with('#') || (raw.is_empty() && line.is_empty()) {
            continue;
        }
        if let Some(part) = raw.strip_suffix('\\') {
            line.push_str(part);
            line.push(' ');
            continue;
        }
        line.push_str(raw);
        let full = std::mem::take(&mut line);
        let (keyword, args) = full.split_once(' ').unwrap_or((&full, ""));
        if keyword == "FROM" {
            let name = args.split_once(" AS ").map(|(_, n)| n.trim()).unwrap_or("");
            out.push((name.to_string(), Vec::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push((keyword.to_string(), args.trim().to_string()));
        }
    }
    out
}

#[test]
fn every_image_of_the_dockerfile_is_the_same_but_for_the_binary() {
    let all = stages();
    let image = |name: &str| {
        all.iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no stage {name:?}: {all:?}"))
            .1
            .clone()
    };
    let lines = |body: &[(String, String)]| -> Vec<(String, String)> {
        body.iter()
            .filter(|(k, _)| k != "ARG" && k != "COPY")
            .cloned()
            .collect()
    };
    let released = image("");
    assert!(
        lines(&released)
            .iter()
            .any(|(k, v)| k == "USER" && v == "65532:65532")
    );
    for name in ["local", "local-arm64"] {
        assert_eq!(
            lines(&image(name)),
            lines(&released),
            "{name} and the released image"
        );
        let copies: Vec<_> = image(name)
            .into_iter()
            .filter(|(k, _)| k == "COPY")
            .collect();
        assert_eq!(copies.len(), 1, "{name}: one file, /pidguard");
        assert!(copies[0].1.ends_with(" /pidguard"), "{copies:?}");
    }
    // The classic builder records any step before the first file as the host's architecture and then
    // refuses to build an arm64 image on it: the COPY comes first.
    assert_eq!(
        image("local-arm64")[0],
        (
            "COPY".to_string(),
            "target/aarch64-unknown-linux-gnu/release/pidguard /pidguard".to_string()
        )
    );
}
