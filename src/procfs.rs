//! `/proc/PID/stat`, read and parsed in one place: PID 1 reads its descendants' parent links from it
//! (stopping them when it is not PID 1 of a namespace), and `/metrics` its own CPU time and start.
//!
//! The line is `pid (comm) state ppid ...` (proc(5)). `comm` is chosen by the program (`prctl
//! PR_SET_NAME`, or the name of the file it was started from) and may hold spaces and `)`, so the
//! fields are counted after the *last* `)`: no name can shift them.

use std::path::Path;

/// More than any stat line: 52 numbers and a 16-byte name.
pub const MAX_STAT_BYTES: u64 = 4096;

/// The fields of `/proc/PID/stat` that pidguard uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Field 4.
    pub ppid: i32,
    /// Field 14, in clock ticks.
    pub utime: u64,
    /// Field 15, in clock ticks.
    pub stime: u64,
    /// Field 22: clock ticks after boot.
    pub starttime: u64,
}

/// Parses a stat line; `None` when it is not one.
pub fn parse_stat(buf: &[u8]) -> Option<Stat> {
    let close = buf.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&buf[close + 1..]).ok()?;
    // After ")": field 3 (state) is index 0, so field N is index N-3.
    let mut fields = [""; 20];
    let mut n = 0;
    for (slot, field) in fields.iter_mut().zip(rest.split_ascii_whitespace()) {
        *slot = field;
        n += 1;
    }
    if n < fields.len() {
        return None;
    }
    Some(Stat {
        ppid: fields[4 - 3].parse().ok()?,
        utime: fields[14 - 3].parse().ok()?,
        stime: fields[15 - 3].parse().ok()?,
        starttime: fields[22 - 3].parse().ok()?,
    })
}

/// `/proc/{pid}/stat` (`pid` may be `self`), read through [`crate::fsread`]. `None` when the
/// process is gone or the line is not one.
pub fn read_stat(pid: &str) -> Option<Stat> {
    let path = format!("/proc/{pid}/stat");
    parse_stat(&crate::fsread::read(Path::new(&path), MAX_STAT_BYTES).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real line: `cat` with a name that looks like the end of the field.
    const LINE: &[u8] = b"4242 (a) b) (c) S 7 4242 4242 0 -1 4194304 91 0 0 0 12 34 0 0 20 0 1 0 \
        5678 2306048 230 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

    #[test]
    fn fields_are_counted_after_the_last_paren() {
        assert_eq!(
            parse_stat(LINE),
            Some(Stat {
                ppid: 7,
                utime: 12,
                stime: 34,
                starttime: 5678
            })
        );
        let plain = b"1 (sh) R 0 1 1 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 99 0 0";
        assert_eq!(
            parse_stat(plain).map(|s| (s.ppid, s.starttime)),
            Some((0, 99))
        );
        let odd = b"1 (my) prog) S 0 1 1 0 -1 4194560 1 2 3 4 150 25 0 0 20 0 1 0 4242 1 2 3\n";
        assert_eq!(
            parse_stat(odd).map(|s| (s.utime, s.stime, s.starttime)),
            Some((150, 25, 4242))
        );
    }

    #[test]
    fn short_or_garbled_lines_are_none() {
        assert_eq!(parse_stat(b"garbage"), None);
        assert_eq!(parse_stat(b"42 (sh) S 7 42 42 0"), None);
        assert_eq!(
            parse_stat(b"1 (x) R -1 1 1 0 -1 0 0 0 0 0 x 4 0 0 20 0 1 0 99"),
            None
        );
        assert_eq!(parse_stat(b""), None);
    }

    #[test]
    fn our_own_line() {
        let me = read_stat("self").unwrap();
        assert_eq!(me.ppid, nix::unistd::getppid().as_raw());
        let by_pid = read_stat(&std::process::id().to_string()).unwrap();
        assert_eq!((by_pid.ppid, by_pid.starttime), (me.ppid, me.starttime));
        assert_eq!(read_stat("0"), None);
    }
}
