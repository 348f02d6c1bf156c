//! Feeds arbitrary bytes to the seccomp profile reader, and checks what it promises about
//! whatever it accepts: the export reads back to the same profile, and compiling either works
//! or fails with an error, for both architectures, never with a panic or an oversized program.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pidguard::seccomp::{self, Arch, MAX_INSTRUCTIONS, MAX_PROFILE_BYTES, Target};

fuzz_target!(|data: &[u8]| {
    // The JSON layer alone: whatever parses prints and parses back to the same value.
    if let Ok(v) = seccomp::json::parse(data) {
        let text = seccomp::json::to_pretty(&v);
        assert_eq!(seccomp::json::parse(text.as_bytes()).ok(), Some(v));
    }

    let Ok(profile) = seccomp::parse_profile(data) else {
        return;
    };
    let text = seccomp::export_json(&profile);
    if text.len() <= MAX_PROFILE_BYTES {
        assert_eq!(
            seccomp::parse_profile(text.as_bytes()).ok(),
            Some(profile.clone())
        );
    }
    for arch in [Arch::X86_64, Arch::Aarch64] {
        for kept_caps in [0, u64::MAX] {
            let target = Target {
                arch,
                kept_caps,
                kernel: Some((6, 1)),
            };
            if let Ok(c) = seccomp::compile_for(&profile, &target, &["wait4"]) {
                assert_eq!(c.filters.len(), 1);
                assert!(!c.filters[0].is_empty() && c.filters[0].len() <= MAX_INSTRUCTIONS);
            }
        }
    }
});
