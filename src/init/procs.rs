//! PID 1's view of its descendants through /proc, for stopping them when PID 1 is not PID 1 of a namespace.

/// Every descendant of `root`, from /proc/*/stat parent links.
pub fn descendants(root: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let links: Vec<(i32, i32)> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
            Some((pid, parse_ppid(&stat)?))
        })
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            links
                .iter()
                .filter(|&&(_, pp)| pp == parent)
                .map(|&(p, _)| p),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// The parent pid from a /proc/PID/stat line. The command name may contain spaces and parentheses,
/// so fields are counted after the last `)`.
pub fn parse_ppid(stat: &[u8]) -> Option<i32> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    rest.split_ascii_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppid_from_stat_with_odd_names() {
        assert_eq!(parse_ppid(b"42 (sh) S 7 42 42 0"), Some(7));
        assert_eq!(parse_ppid(b"42 (a) b) (c) R 9 1 1"), Some(9));
        assert_eq!(parse_ppid(b"garbage"), None);
    }
}
