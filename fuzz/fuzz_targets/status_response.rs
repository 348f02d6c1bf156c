//! Feeds arbitrary bytes, as a status-socket or HTTP answer, to `probe::parse_status_response`, and
//! checks what `pidguard probe` relies on: never a panic; a code only from an `HTTP/1.0` or
//! `HTTP/1.1` status line with exactly three digits; a body line (a word, and on the status socket a
//! reason after it) that is at most 1 KiB, has no control characters, and is really the bytes after
//! the header's end.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pidguard::health::probe::parse_status_response;

fuzz_target!(|data: &[u8]| {
    let Some((code, word)) = parse_status_response(data) else {
        return;
    };
    let line_end = data.iter().position(|&b| b == b'\n').expect("a line");
    let line = &data[..line_end];
    assert!(
        line.starts_with(b"HTTP/1.0 ") || line.starts_with(b"HTTP/1.1 "),
        "{line:?}"
    );
    let digits = &line[9..12];
    assert!(digits.iter().all(u8::is_ascii_digit));
    assert_eq!(code.to_string().as_bytes(), trim_zeros(digits));
    assert!(matches!(line.get(12), None | Some(b' ' | b'\r')));
    assert!(word.len() <= 1024 && !word.chars().any(char::is_control));
    if !word.is_empty() {
        let end = data
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a word only after the header");
        assert_eq!(&data[end + 4..], word.as_bytes());
    }
});

fn trim_zeros(d: &[u8]) -> &[u8] {
    let first = d.iter().position(|&b| b != b'0').unwrap_or(d.len() - 1);
    &d[first..]
}
