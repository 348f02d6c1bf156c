//! The README tells the truth about every option: the options table has one row per option of
//! `cli::FLAGS` (and none that is not one), each with its short form, every environment variable that
//! sets it and its default as the code documents it; and the two set-up commands it gives exist.

use pidguard::cli::FLAGS;

/// The rows of the README's "Every option" table, as their cells.
fn option_rows(readme: &str) -> Vec<Vec<String>> {
    let section = readme
        .split("\n## Every option")
        .nth(1)
        .expect("the README has an \"Every option\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.starts_with("| Option"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// `--name` tokens in a cell: what a row documents.
fn longs(cell: &str) -> Vec<&str> {
    cell.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter_map(|w| w.strip_prefix("--"))
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn every_option_has_a_true_row_in_the_readme() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let rows = option_rows(&readme);
    for flag in FLAGS {
        let row = rows
            .iter()
            .find(|r| longs(&r[0]).contains(&flag.long))
            .unwrap_or_else(|| panic!("--{} has no row in the README's options table", flag.long));
        let vars: Vec<String> = flag
            .env()
            .into_iter()
            .chain(flag.aliases.iter().map(|a| a.name.to_string()))
            .collect();
        for var in &vars {
            assert!(
                row[1].contains(var.as_str()),
                "--{}: {var} missing in {row:?}",
                flag.long
            );
        }
        if vars.is_empty() {
            assert_eq!(row[1], "", "--{} has no variable", flag.long);
        }
        if let Some(c) = flag.short {
            assert!(
                row[0].contains(&format!("-{c}, --{}", flag.long)),
                "--{}: short -{c} missing in {row:?}",
                flag.long
            );
        }
        let default = row[2].replace('`', "");
        assert_eq!(
            default,
            flag.default_text().unwrap_or(""),
            "--{}: the README's default differs from the code's",
            flag.long
        );
    }
    for row in &rows {
        for long in longs(&row[0]) {
            assert!(
                FLAGS.iter().any(|f| f.long == long),
                "the README documents --{long}, which is not an option"
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
