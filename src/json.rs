//! JSON output's one home: string escaping (RFC 8259 §7) for every place pidguard writes JSON — the
//! log (`--log-format json`), `pidguard audit --json` and `pidguard seccomp export`.
//!
//! The escaping writes into any `fmt::Write`, so that the log can escape into a fixed buffer on the
//! stack: PID 1 logs without allocating (see `log.rs`). `json_string` is the allocating form for the
//! commands that build a whole document in a `String`.

use std::fmt::{self, Write};

/// Writes `s` as a JSON string literal, quotes included. Control characters are escaped; everything
/// else, non-ASCII included, is written as UTF-8.
pub fn write_escaped(out: &mut impl Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        // Runs of ordinary characters go out in one piece.
        out.write_str(&s[plain..i])?;
        if escape.is_empty() {
            // One piece, so that a writer that cuts (the log's fixed buffer) never splits it.
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let n = c as usize;
            let u = [b'\\', b'u', b'0', b'0', HEX[n >> 4], HEX[n & 15]];
            out.write_str(std::str::from_utf8(&u).unwrap_or("?"))?;
        } else {
            out.write_str(escape)?;
        }
        plain = i + c.len_utf8();
    }
    out.write_str(&s[plain..])?;
    out.write_char('"')
}

/// `s` as a JSON string literal, quotes included.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    // Writing into a String cannot fail.
    let _ = write_escaped(&mut out, s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_quotes_backslashes_and_controls() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
        assert_eq!(json_string("tab\there\r"), "\"tab\\there\\r\"");
        assert_eq!(json_string("é ✓"), "\"é ✓\"");
        assert_eq!(json_string(""), "\"\"");
    }
}
