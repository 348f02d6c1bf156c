//! A small, strict JSON reader and writer for seccomp profiles.
//!
//! pidguard has no serde, and a seccomp profile is security input: a parser that guesses is a
//! parser that widens a filter. So this one accepts RFC 8259 JSON and nothing more: no comments,
//! no trailing commas, no byte-order mark, no lone surrogates, no duplicate object keys (Go's
//! decoder keeps the last one; here it is an error, because two `"action"` keys in one rule is a
//! mistake, not a choice). Numbers keep their text, so a `u64` such as 18446744073709551615 is
//! read exactly instead of through an `f64`.
//!
//! Every input is bounded: the caller bounds the byte count, and the parser bounds nesting depth
//! ([`MAX_DEPTH`]) and the number of values ([`MAX_VALUES`]), so a hostile file costs at most a few
//! megabytes of memory and no deep recursion. The fuzz target `seccomp_profile` runs this parser.
//!
//! The writer prints with tabs, like Docker's own `default.json`, and keeps object keys in the
//! order they were built, so `pidguard seccomp export` is stable from run to run.

use std::fmt;

/// Deepest nesting of arrays and objects accepted. A Docker profile nests four levels.
pub const MAX_DEPTH: usize = 32;

/// Most values (of any kind, containers included) in one document. Docker's default profile
/// has about 1,500.
pub const MAX_VALUES: usize = 100_000;

/// A parsed JSON value. Objects keep their keys in document order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    /// The number's text, already checked against the JSON grammar.
    Number(String),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The JSON type name, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    /// The value as an unsigned integer, if it is a number written without fraction or
    /// exponent that fits in a `u64` (as Go's decoder requires for `uint` fields).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(text) if text.bytes().all(|b| b.is_ascii_digit()) => text.parse().ok(),
            _ => None,
        }
    }
}

/// Why a document was rejected, and where (byte offset into the input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    pub offset: usize,
    pub why: &'static str,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.why)
    }
}

impl std::error::Error for JsonError {}

/// Parses one JSON document. The whole input must be that one value plus optional whitespace.
pub fn parse(input: &[u8]) -> Result<Value, JsonError> {
    // JSON text is UTF-8 (RFC 8259 section 8.1). Checking it once here means every string
    // below, built from whole input bytes and escapes, is valid UTF-8 too.
    if let Err(e) = std::str::from_utf8(input) {
        return Err(JsonError {
            offset: e.valid_up_to(),
            why: "invalid UTF-8",
        });
    }
    let mut p = Parser {
        s: input,
        pos: 0,
        values: 0,
    };
    p.skip_ws();
    let v = p.value(0)?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(p.err("unexpected data after the JSON value"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    values: usize,
}

impl Parser<'_> {
    fn err(&self, why: &'static str) -> JsonError {
        JsonError {
            offset: self.pos,
            why,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8, why: &'static str) -> Result<(), JsonError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(why))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.values += 1;
        if self.values > MAX_VALUES {
            return Err(self.err("too many values"));
        }
        match self.peek() {
            None => Err(self.err("unexpected end of input")),
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("expected a value")),
        }
    }

    fn literal(&mut self, word: &'static [u8], v: Value) -> Result<Value, JsonError> {
        if self.s[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        self.pos += 1; // '{'
        let mut members: Vec<(String, Value)> = Vec::new();
        let mut key_offsets: Vec<usize> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a string key"));
            }
            key_offsets.push(self.pos);
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':', "expected ':' after an object key")?;
            self.skip_ws();
            let v = self.value(depth)?;
            members.push((key, v));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    check_unique_keys(&members, &key_offsets)?;
                    return Ok(Value::Object(members));
                }
                _ => return Err(self.err("expected ',' or '}' in an object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.err("expected ',' or ']' in an array")),
            }
        }
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.err("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("expected a digit after '.'"));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("expected a digit in the exponent"));
            }
            self.digits();
        }
        // The grammar above admits ASCII only, so this slice is valid UTF-8.
        let text = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
        Ok(Value::Number(text))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let Some(h) = self.s.get(self.pos..self.pos + 4) else {
            return Err(self.err("truncated \\u escape"));
        };
        let mut v = 0u32;
        for &b in h {
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return Err(self.err("invalid hex digit in \\u escape")),
            };
            v = v * 16 + u32::from(d);
        }
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        let start = self.pos;
        self.pos += 1; // '"'
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    self.pos += 1;
                    let Some(e) = self.peek() else {
                        return Err(self.err("unterminated escape"));
                    };
                    self.pos += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => {
                            self.pos -= 1;
                            return Err(self.err("invalid escape"));
                        }
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0x00..=0x1f => return Err(self.err("control character in string")),
                _ => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
        // Cannot fail: parse() checked the input is UTF-8 and escapes add whole characters.
        String::from_utf8(out).map_err(|_| JsonError {
            offset: start,
            why: "invalid UTF-8",
        })
    }

    /// After `\u`: one BMP character, or a high+low surrogate pair written as two escapes.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let at = self.pos;
        let hi = self.hex4()?;
        let code = match hi {
            0xD800..=0xDBFF => {
                if !self.s[self.pos..].starts_with(b"\\u") {
                    return Err(JsonError {
                        offset: at,
                        why: "high surrogate without a low surrogate",
                    });
                }
                self.pos += 2;
                let lo = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return Err(JsonError {
                        offset: at,
                        why: "high surrogate without a low surrogate",
                    });
                }
                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
            }
            0xDC00..=0xDFFF => {
                return Err(JsonError {
                    offset: at,
                    why: "lone low surrogate",
                });
            }
            _ => hi,
        };
        char::from_u32(code).ok_or(JsonError {
            offset: at,
            why: "invalid \\u escape",
        })
    }
}

/// Rejects an object with a key twice, pointing at the second one. Sorting keeps this
/// O(n log n) for objects with many keys.
fn check_unique_keys(members: &[(String, Value)], offsets: &[usize]) -> Result<(), JsonError> {
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_unstable_by(|&a, &b| members[a].0.cmp(&members[b].0).then(a.cmp(&b)));
    let first_repeat = order
        .windows(2)
        .filter(|w| members[w[0]].0 == members[w[1]].0)
        .map(|w| w[1])
        .min();
    match first_repeat {
        Some(i) => Err(JsonError {
            offset: offsets[i],
            why: "duplicate object key",
        }),
        None => Ok(()),
    }
}

/// Prints `v` the way Go's `json.MarshalIndent(v, "", "\t")` does, followed by a newline.
pub fn to_pretty(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, 0);
    out.push('\n');
    out
}

fn indent(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push('\t');
    }
}

fn write_value(out: &mut String, v: &Value, level: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, level + 1);
                write_value(out, item, level + 1);
            }
            indent(out, level);
            out.push(']');
        }
        Value::Object(members) if members.is_empty() => out.push_str("{}"),
        Value::Object(members) => {
            out.push('{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, level + 1);
                write_string(out, k);
                out.push_str(": ");
                write_value(out, item, level + 1);
            }
            indent(out, level);
            out.push('}');
        }
    }
}

/// Writes `s` as a JSON string literal (the same escaping as pidguard's JSON logs).
pub fn write_string(out: &mut String, s: &str) {
    out.push_str(&crate::json::json_string(s));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Value {
        parse(s.as_bytes()).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn bad(s: &[u8]) -> JsonError {
        match parse(s) {
            Ok(v) => panic!("{:?} parsed as {v:?}", String::from_utf8_lossy(s)),
            Err(e) => e,
        }
    }

    #[test]
    fn scalars() {
        assert_eq!(ok(" null "), Value::Null);
        assert_eq!(ok("true"), Value::Bool(true));
        assert_eq!(ok("false"), Value::Bool(false));
        assert_eq!(ok("0"), Value::Number("0".into()));
        assert_eq!(ok("-12.5e+3"), Value::Number("-12.5e+3".into()));
        assert_eq!(ok("\"a\""), Value::String("a".into()));
    }

    #[test]
    fn numbers_as_u64() {
        assert_eq!(ok("18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(ok("18446744073709551616").as_u64(), None);
        assert_eq!(ok("-1").as_u64(), None);
        assert_eq!(ok("1.0").as_u64(), None);
        assert_eq!(ok("1e2").as_u64(), None);
        assert_eq!(ok("\"1\"").as_u64(), None);
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            ok(r#""a\"b\\c\/d\b\f\n\r\t""#),
            Value::String("a\"b\\c/d\u{8}\u{c}\n\r\t".into())
        );
        assert_eq!(ok(r#""\u00e9\u20AC""#), Value::String("é€".into()));
        assert_eq!(ok(r#""\ud83d\ude00""#), Value::String("😀".into()));
        assert_eq!(ok("\"é😀\""), Value::String("é😀".into()));
    }

    #[test]
    fn containers_keep_order() {
        let v = ok(r#"{"b": [1, {"c": null}], "a": {}}"#);
        let Value::Object(m) = v else { panic!() };
        assert_eq!(m[0].0, "b");
        assert_eq!(m[1], ("a".into(), Value::Object(vec![])));
    }

    #[test]
    fn rejects() {
        for (input, why) in [
            (&b""[..], "unexpected end of input"),
            (b"{", "expected a string key"),
            (b"[1,]", "expected a value"),
            (b"{\"a\":1,}", "expected a string key"),
            (b"{\"a\" 1}", "expected ':' after an object key"),
            (b"{\"a\":1 \"b\":2}", "expected ',' or '}' in an object"),
            (b"[1 2]", "expected ',' or ']' in an array"),
            (b"{\"a\":1,\"a\":2}", "duplicate object key"),
            (b"01", "unexpected data after the JSON value"),
            (b"1.", "expected a digit after '.'"),
            (b"1e", "expected a digit in the exponent"),
            (b"-", "expected a digit"),
            (b"+1", "expected a value"),
            (b"nul", "invalid literal"),
            (b"\"abc", "unterminated string"),
            (b"\"\\x\"", "invalid escape"),
            (b"\"\\u12zz\"", "invalid hex digit in \\u escape"),
            (b"\"\\u12", "truncated \\u escape"),
            (b"\"\\ud800\"", "high surrogate without a low surrogate"),
            (
                b"\"\\ud800\\u0041\"",
                "high surrogate without a low surrogate",
            ),
            (b"\"\\udc00\"", "lone low surrogate"),
            (b"\"a\nb\"", "control character in string"),
            (b"\"\xff\"", "invalid UTF-8"),
            (b"[\xc3]", "invalid UTF-8"),
            (b"\xef\xbb\xbf{}", "expected a value"),
            (b"// c\n{}", "expected a value"),
            (b"{} {}", "unexpected data after the JSON value"),
        ] {
            assert_eq!(bad(input).why, why, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn error_offsets_point_at_the_problem() {
        assert_eq!(bad(b"[1, 2, x]").offset, 7);
        assert_eq!(bad(b"{\"a\":1,\"a\":2}").offset, 7);
        assert_eq!(bad(b"[\"ok\", \"\xff\"]").offset, 8);
    }

    #[test]
    fn depth_is_bounded() {
        let deep_ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        ok(&deep_ok);
        let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(bad(too_deep.as_bytes()).why, "nested too deeply");
        // Unbalanced and very deep: must fail fast, not overflow the stack.
        assert_eq!(bad("[".repeat(1 << 20).as_bytes()).why, "nested too deeply");
    }

    #[test]
    fn many_keys_are_checked_quickly() {
        let keys: Vec<String> = (0..50_000).map(|i| format!("\"k{i}\":0")).collect();
        let doc = format!("{{{}}}", keys.join(","));
        let start = std::time::Instant::now();
        ok(&doc);
        let dup = format!("{{{},\"k7\":1}}", keys.join(","));
        assert_eq!(bad(dup.as_bytes()).why, "duplicate object key");
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn value_count_is_bounded() {
        let many = format!("[{}0]", "0,".repeat(MAX_VALUES));
        assert_eq!(bad(many.as_bytes()).why, "too many values");
    }

    #[test]
    fn pretty_round_trip() {
        let src = r#"{"a": [1, "x\"\u0001é", true, null, [], {}], "b": {"c": -2.5}}"#;
        let v = ok(src);
        let text = to_pretty(&v);
        assert_eq!(
            text,
            "{\n\t\"a\": [\n\t\t1,\n\t\t\"x\\\"\\u0001é\",\n\t\ttrue,\n\t\tnull,\n\t\t[],\n\t\t{}\n\t],\n\t\"b\": {\n\t\t\"c\": -2.5\n\t}\n}\n"
        );
        assert_eq!(ok(&text), v);
    }
}
