//! Durations as users write them in flags and `ENV` lines: `500ms`, `8s`, `2m`, `1h`, `1m30s`.
//!
//! A unit is required (a bare `5` could mean seconds to one reader and milliseconds to another), except
//! for `0`. Units go from the largest to the smallest, each at most once (`1h30m`, not `30m1h` or
//! `1s1s`): anything else is more likely a typo than a sum someone meant. The total is bounded to a day
//! so that arithmetic on deadlines can never overflow.

use std::fmt;
use std::time::Duration;

pub const MAX: Duration = Duration::from_secs(24 * 3600);

/// Whole milliseconds, for log fields and timers (saturates, some 584 million years on).
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Milliseconds for `poll(2)`, rounded up so that a wait never ends just before its deadline and
/// spins (saturates at `i32::MAX`, some 24 days).
pub fn poll_millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis().saturating_add(1)).unwrap_or(i32::MAX)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub text: String,
    pub why: &'static str,
}

impl ParseError {
    /// The reason without the text, for callers that show the text themselves (`--grace "5": ...`).
    pub fn reason(&self) -> String {
        format!(
            "invalid duration: {} (write e.g. 500ms, 8s, 2m, 1m30s)",
            self.why
        )
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid duration {:?}: {} (write e.g. 500ms, 8s, 2m, 1m30s)",
            self.text, self.why
        )
    }
}

pub fn parse(text: &str) -> Result<Duration, ParseError> {
    let err = |why| ParseError {
        text: text.to_string(),
        why,
    };
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(err("it is empty"));
    }
    if text.len() > 32 {
        return Err(err("it is too long"));
    }
    let mut rest = text;
    let mut total_ms: u64 = 0;
    // The previous unit's size: each unit must be smaller than the one before it.
    let mut previous_ms = u64::MAX;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(err("expected a number"));
        }
        let value: u64 = rest[..digits]
            .parse()
            .map_err(|_| err("the number is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let per_unit_ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "" => return Err(err("a unit is missing")),
            _ => return Err(err("the unit is not one of ms, s, m, h")),
        };
        if per_unit_ms >= previous_ms {
            return Err(err(
                "units must go from the largest to the smallest, each once",
            ));
        }
        previous_ms = per_unit_ms;
        rest = &rest[unit_len..];
        total_ms = value
            .checked_mul(per_unit_ms)
            .and_then(|v| v.checked_add(total_ms))
            .ok_or_else(|| err("it is longer than 24h"))?;
    }
    let total = Duration::from_millis(total_ms);
    if total > MAX {
        return Err(err("it is longer than 24h"));
    }
    Ok(total)
}

/// Formats a duration the way `parse` reads it back, for logs and `--help`.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        "0s".to_string()
    } else if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else if !ms.is_multiple_of(60_000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}m", ms / 60_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("8s"), Ok(Duration::from_secs(8)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
        assert_eq!(parse("24h"), Ok(MAX));
    }

    #[test]
    fn rejects_ambiguous_and_broken_input() {
        for s in [
            "", "5", "s", "5x", "5 s", "-5s", "1.5s", "5S", "25h", "1h1ms1", "ms5",
        ] {
            assert!(parse(s).is_err(), "{s:?}");
        }
        assert!(parse("99999999999999999999h").is_err());
        assert!(parse("18446744073709551615ms").is_err());
    }

    #[test]
    fn units_go_from_largest_to_smallest_once() {
        assert_eq!(parse("1h1m1s1ms"), Ok(Duration::from_millis(3_661_001)));
        assert_eq!(parse("2m500ms"), Ok(Duration::from_millis(120_500)));
        for s in ["1s1s", "1m1h", "30s1m", "1ms1s", "0s0s", "1h1h"] {
            let e = parse(s).unwrap_err();
            assert!(e.why.contains("largest to the smallest"), "{s:?}: {e}");
        }
    }

    #[test]
    fn format_round_trips() {
        for s in ["500ms", "8s", "2m", "1500ms", "90s"] {
            assert_eq!(format(parse(s).unwrap()), s);
        }
    }
}
