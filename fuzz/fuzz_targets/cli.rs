//! Fuzzes the command line, durations and signal names: no input may panic, and whatever parses
//! must be self-consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pidguard::{cli, duration, signals};
use std::ffi::OsString;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // First line: environment as K=V;K=V. Rest: one argument per NUL-separated part.
    let (env_line, args) = text.split_once('\n').unwrap_or(("", text));
    let env: Vec<(OsString, OsString)> = env_line
        .split(';')
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.into(), v.into())))
        .collect();
    let argv: Vec<OsString> = std::iter::once("pidguard")
        .chain(args.split('\0'))
        .map(OsString::from)
        .collect();
    let hosts = || Ok(b"10.0.0.1 app\n".to_vec());
    if let Ok(cli::Command::Run(cfg)) = cli::parse(argv, &env, &hosts) {
        assert!(!cfg.argv.is_empty());
        assert!(cfg.grace <= duration::MAX);
        for &(from, to) in &cfg.rewrite {
            assert!(signals::forwardable(from) && (0..=64).contains(&to));
        }
    }
    for part in args.split('\0') {
        if let Ok(d) = duration::parse(part) {
            assert!(d <= duration::MAX);
            assert_eq!(duration::parse(&duration::format(d)), Ok(d));
        }
        if let Ok(n) = signals::parse(part) {
            assert!((1..=64).contains(&n));
        }
    }
});
