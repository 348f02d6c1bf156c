//! Name resolution without a resolver.
//!
//! pidguard is a static glibc binary, and glibc's `getaddrinfo` in a static binary loads NSS modules
//! at run time (or fails oddly), so pidguard never calls it. A health check nearly always targets the
//! container itself or a sibling named in /etc/hosts (Docker and Kubernetes write the container's own
//! name there), so this covers what checks need: an IP literal, `localhost`, or a line of /etc/hosts.
//! Anything else is reported as "not found" and the caller says that no DNS is done.
//!
//! `localhost` is always 127.0.0.1, whatever the hosts file says: apps commonly listen on 0.0.0.0
//! only, and a hosts file listing `::1 localhost` first would make every check fail.

use std::net::IpAddr;

/// The most of /etc/hosts that is read; real files are a few hundred bytes.
pub const MAX_HOSTS_FILE: u64 = 1 << 20;

/// Resolves `host` (a name, an IP literal, or an IPv6 literal in brackets) against the text of a
/// hosts file. The first line naming the host wins, as in glibc's `files` backend.
pub fn resolve(host: &str, hosts_file: &[u8]) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(ip);
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() {
        return None;
    }
    if name.eq_ignore_ascii_case("localhost") {
        return Some(IpAddr::from([127, 0, 0, 1]));
    }
    for line in hosts_file.split(|&b| b == b'\n') {
        let line = match line.iter().position(|&b| b == b'#') {
            Some(i) => &line[..i],
            None => line,
        };
        let mut fields = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        let Some(ip) = fields
            .next()
            .and_then(|f| std::str::from_utf8(f).ok())
            .and_then(|f| f.parse::<IpAddr>().ok())
        else {
            continue;
        };
        if fields.any(|f| f.eq_ignore_ascii_case(name.as_bytes())) {
            return Some(ip);
        }
    }
    None
}

/// Reads /etc/hosts through [`crate::fsread`] (bounded, and a FIFO there cannot make `probe
/// --timeout` wait). A missing file is an empty one (a scratch image has none; IP literals and
/// `localhost` still resolve); one that cannot be read is an error the caller names, so that a FIFO
/// or an oversized file there reads as what it is, not as "cannot resolve".
pub fn read_system_hosts() -> Result<Vec<u8>, String> {
    match crate::fsread::read(std::path::Path::new("/etc/hosts"), MAX_HOSTS_FILE) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read /etc/hosts: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTS: &[u8] = b"# comment line\n\
        127.0.0.1\tlocalhost\n\
        ::1     localhost ip6-localhost ip6-loopback\n\
        fe00::0 ip6-localnet\n\
        \n\
        172.17.0.2\tweb web.internal   # trailing comment\n\
        172.17.0.3 db\r\n\
        fe80::1%eth0 linklocal\n\
        not-an-ip name-after-garbage\n\
        10.0.0.9 WEB\n\
        2001:db8::5 v6only\n";

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn literals_need_no_file() {
        assert_eq!(resolve("10.1.2.3", b""), ip("10.1.2.3"));
        assert_eq!(resolve("::1", b""), ip("::1"));
        assert_eq!(resolve("[2001:db8::1]", b""), ip("2001:db8::1"));
        assert_eq!(resolve("localhost", b""), ip("127.0.0.1"));
        assert_eq!(resolve("LocalHost.", b""), ip("127.0.0.1"));
    }

    #[test]
    fn localhost_is_ipv4_even_if_file_says_otherwise() {
        assert_eq!(resolve("localhost", b"::1 localhost\n"), ip("127.0.0.1"));
    }

    #[test]
    fn names_from_the_file() {
        assert_eq!(resolve("web", HOSTS), ip("172.17.0.2"));
        assert_eq!(resolve("Web.Internal", HOSTS), ip("172.17.0.2"));
        assert_eq!(resolve("web.", HOSTS), ip("172.17.0.2"));
        assert_eq!(resolve("db", HOSTS), ip("172.17.0.3"), "CRLF line");
        assert_eq!(resolve("ip6-loopback", HOSTS), ip("::1"));
        assert_eq!(resolve("v6only", HOSTS), ip("2001:db8::5"));
    }

    #[test]
    fn what_does_not_resolve() {
        assert_eq!(resolve("example.com", HOSTS), None, "no DNS");
        assert_eq!(resolve("comment", HOSTS), None, "comments are not names");
        assert_eq!(resolve("trailing", HOSTS), None);
        assert_eq!(resolve("name-after-garbage", HOSTS), None);
        assert_eq!(resolve("linklocal", HOSTS), None, "zone ids are not parsed");
        assert_eq!(resolve("", HOSTS), None);
        assert_eq!(resolve(".", HOSTS), None);
        assert_eq!(resolve("172.17.0", HOSTS), None);
    }

    #[test]
    fn binary_garbage_is_harmless() {
        let junk: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        assert_eq!(resolve("web", &junk), None);
    }
}
