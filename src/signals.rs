//! Signal names and numbers, as users write them on the command line.
//!
//! Users write `TERM`, `SIGTERM`, `sigterm`, `15`, `RTMIN+3` or `SIGRTMAX-1`. The real-time range follows
//! glibc's view (`SIGRTMIN` = 34): signals 32 and 33 are taken by the C library for thread cancellation and
//! set*id broadcasts, which is also why pidguard never forwards them (`kill -l` prints the same table).

use std::fmt;

/// Lowest and highest signal number on Linux.
pub const MIN: i32 = 1;
pub const MAX: i32 = 64;
/// glibc's SIGRTMIN: 32 and 33 are reserved by the C library.
pub const RTMIN: i32 = 34;
pub const RTMAX: i32 = 64;

const NAMES: &[(&str, i32)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("PWR", 30),
    ("SYS", 31),
];

/// Aliases accepted on input only; output always uses the first name of the table.
const ALIASES: &[(&str, i32)] = &[("IOT", 6), ("POLL", 29), ("CLD", 17), ("UNUSED", 31)];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown signal {:?}: use a name like TERM or SIGUSR1, RTMIN+N, or a number 1-64",
            self.0
        )
    }
}

/// Parses a signal name or number into its number (1..=64).
pub fn parse(text: &str) -> Result<i32, ParseError> {
    let err = || ParseError(text.to_string());
    if text.is_empty() || text.len() > 16 {
        return Err(err());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<i32>() {
            Ok(n) if (MIN..=MAX).contains(&n) => Ok(n),
            _ => Err(err()),
        };
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(&(_, n)) = NAMES.iter().chain(ALIASES).find(|(s, _)| *s == name) {
        return Ok(n);
    }
    let rt = |base: i32, rest: &str, sign: i32| -> Option<i32> {
        if rest.is_empty() {
            return Some(base);
        }
        let digits = rest.strip_prefix(if sign > 0 { '+' } else { '-' })?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n = base + sign * digits.parse::<i32>().ok()?;
        (RTMIN..=RTMAX).contains(&n).then_some(n)
    };
    let found = if let Some(rest) = name.strip_prefix("RTMIN") {
        rt(RTMIN, rest, 1)
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        rt(RTMAX, rest, -1)
    } else {
        None
    };
    found.ok_or_else(err)
}

/// The canonical name of a signal number, `SIGTERM` or `SIGRTMIN+3`; numbers without a name print as
/// `SIG32`.
pub fn name(n: i32) -> String {
    if let Some(&(s, _)) = NAMES.iter().find(|&&(_, v)| v == n) {
        return format!("SIG{s}");
    }
    match n {
        RTMIN => "SIGRTMIN".to_string(),
        RTMAX => "SIGRTMAX".to_string(),
        n if n > RTMIN && n < RTMAX => format!("SIGRTMIN+{}", n - RTMIN),
        n => format!("SIG{n}"),
    }
}

/// [`name`] of every number from 0 to 64, spelled out so that PID 1 renders no name at run time
/// (a unit test holds it to [`name`]).
pub const BY_NUMBER: [&str; 65] = [
    "SIG0",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
    "SIG32",
    "SIG33",
    "SIGRTMIN",
    "SIGRTMIN+1",
    "SIGRTMIN+2",
    "SIGRTMIN+3",
    "SIGRTMIN+4",
    "SIGRTMIN+5",
    "SIGRTMIN+6",
    "SIGRTMIN+7",
    "SIGRTMIN+8",
    "SIGRTMIN+9",
    "SIGRTMIN+10",
    "SIGRTMIN+11",
    "SIGRTMIN+12",
    "SIGRTMIN+13",
    "SIGRTMIN+14",
    "SIGRTMIN+15",
    "SIGRTMIN+16",
    "SIGRTMIN+17",
    "SIGRTMIN+18",
    "SIGRTMIN+19",
    "SIGRTMIN+20",
    "SIGRTMIN+21",
    "SIGRTMIN+22",
    "SIGRTMIN+23",
    "SIGRTMIN+24",
    "SIGRTMIN+25",
    "SIGRTMIN+26",
    "SIGRTMIN+27",
    "SIGRTMIN+28",
    "SIGRTMIN+29",
    "SIGRTMAX",
];

/// [`BY_NUMBER`]'s name for `n`, `?` outside 0..=64.
pub fn static_name(n: i32) -> &'static str {
    usize::try_from(n)
        .ok()
        .and_then(|i| BY_NUMBER.get(i))
        .copied()
        .unwrap_or("?")
}

/// Whether pidguard forwards this signal when it receives it. SIGKILL and SIGSTOP cannot be caught;
/// 32 and 33 belong to the C library of the program (forwarding them would confuse its threads).
pub fn forwardable(n: i32) -> bool {
    (MIN..=MAX).contains(&n) && !matches!(n, 9 | 19 | 32 | 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_static_table_is_name() {
        for (n, s) in (0..).zip(BY_NUMBER) {
            assert_eq!(s, name(n), "{n}");
        }
        assert_eq!(static_name(65), "?");
        assert_eq!(static_name(-1), "?");
    }

    #[test]
    fn names_in_every_spelling() {
        for s in ["TERM", "SIGTERM", "sigterm", "Term", "15"] {
            assert_eq!(parse(s), Ok(15), "{s}");
        }
        assert_eq!(parse("IOT"), Ok(6));
        assert_eq!(parse("poll"), Ok(29));
        assert_eq!(parse("64"), Ok(64));
    }

    #[test]
    fn realtime_range() {
        assert_eq!(parse("RTMIN"), Ok(34));
        assert_eq!(parse("SIGRTMIN+3"), Ok(37));
        assert_eq!(parse("rtmax-2"), Ok(62));
        assert_eq!(parse("RTMAX"), Ok(64));
        assert!(parse("RTMIN+31").is_err());
        assert!(parse("RTMIN-1").is_err());
        assert!(parse("RTMIN+").is_err());
        assert!(parse("RTMAX+1").is_err());
    }

    #[test]
    fn rejects_nonsense() {
        for s in [
            "",
            "0",
            "65",
            "-1",
            "SIG",
            "TERMX",
            "+15",
            "1e3",
            "99999999999999999999",
        ] {
            assert!(parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn names_round_trip() {
        for n in MIN..=MAX {
            let name = name(n);
            if n == 32 || n == 33 {
                assert_eq!(name, format!("SIG{n}"));
                continue;
            }
            assert_eq!(parse(&name), Ok(n), "{name}");
        }
        assert_eq!(name(37), "SIGRTMIN+3");
    }

    #[test]
    fn what_is_forwarded() {
        assert!(forwardable(15));
        assert!(forwardable(64));
        assert!(!forwardable(9));
        assert!(!forwardable(19));
        assert!(!forwardable(32));
        assert!(!forwardable(0));
    }
}
