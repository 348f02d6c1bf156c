//! Feeds arbitrary hosts-file text and names to `health::hosts::resolve`, and checks what it
//! promises: never a panic; an IP literal (bare or in brackets) is itself whatever the file says;
//! `localhost` is 127.0.0.1; a name the file does not mention is not found; a name found is the
//! address of some line of the file that names it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pidguard::health::hosts::resolve;
use std::net::IpAddr;

fuzz_target!(|data: &[u8]| {
    // First line: the name to look up; the rest: the hosts file.
    let (name, file) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(name) = std::str::from_utf8(name) else {
        return;
    };
    let got = resolve(name, file);

    let bare = name
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(name);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        assert_eq!(got, Some(ip), "{name:?}");
        return;
    }
    let plain = name.strip_suffix('.').unwrap_or(name);
    if plain.eq_ignore_ascii_case("localhost") {
        assert_eq!(got, Some(IpAddr::from([127, 0, 0, 1])));
        return;
    }
    // Without the name in it, the file cannot resolve it.
    if plain.is_empty() || !contains_ignore_case(file, plain.as_bytes()) {
        assert_eq!(got, None, "{name:?}");
        return;
    }
    if let Some(ip) = got {
        // Some line starts with that address (in any spelling) and names the host.
        let found = file.split(|&b| b == b'\n').any(|line| {
            let line = line.split(|&b| b == b'#').next().unwrap_or_default();
            let mut fields = line
                .split(|b| b.is_ascii_whitespace())
                .filter(|f| !f.is_empty());
            let first = fields.next().and_then(|f| std::str::from_utf8(f).ok());
            first.and_then(|f| f.parse::<IpAddr>().ok()) == Some(ip)
                && fields.any(|f| f.eq_ignore_ascii_case(plain.as_bytes()))
        });
        assert!(found, "{name:?} resolved to {ip} from no line naming it");
    }
});

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}
