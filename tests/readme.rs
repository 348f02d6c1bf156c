//! The README tells the truth about every option: each one, with its environment variable, is in the
//! options table, and the two set-up commands it gives exist.

#[test]
fn every_option_and_its_environment_variable_is_documented() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for opt in pidguard::cli::OPTIONS {
        let row = readme
            .lines()
            .find(|l| {
                let first = l.split('|').nth(1).unwrap_or("");
                l.starts_with('|')
                    && (first.contains(&format!("--{} ", opt.long))
                        || first.contains(&format!("--{}`", opt.long)))
            })
            .unwrap_or_else(|| panic!("--{} has no row in the README's options table", opt.long));
        assert!(
            row.contains(&pidguard::cli::env_name(opt.long)),
            "--{}: env name missing in {row}",
            opt.long
        );
        if let Some(c) = opt.short {
            assert!(
                row.contains(&format!("-{c}, --{}", opt.long)),
                "--{}: short -{c} missing",
                opt.long
            );
        }
    }
}

#[test]
fn the_two_setup_commands_exist() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    for script in ["examples/demo.sh", "tests/run.sh"] {
        assert!(
            readme.contains(&format!("bash {script}")),
            "{script} not in the README"
        );
        assert!(
            std::path::Path::new(root).join(script).exists(),
            "{script} missing"
        );
    }
    let ci = std::fs::read_to_string(format!("{root}/.ci/run")).unwrap();
    assert!(
        ci.contains("tests/run.sh"),
        ".ci/run must run the README's test command"
    );
}
