//! What a health check talks to, and which HTTP answers count as healthy.
//!
//! A check target is one string, so that it fits in a flag, an `ENV` line and a `HEALTHCHECK CMD`:
//! `http://HOST[:PORT][/PATH]`, `tcp://HOST:PORT` or `exec:/abs/program,arg1,arg2`. The parser is
//! strict on purpose: the target is typed once by a human and then run every 30 s for months, so a
//! typo should fail at startup with a message naming the part that is wrong, not become a check that
//! is always red. `https://` is refused with a reason (the binary carries no TLS; probe the plain
//! port the app serves on loopback), and the HTTP path may only hold URI characters so that nothing
//! can smuggle a CR/LF into the request line.
//!
//! The expected status set follows Kubernetes' `httpGet` probe (200-399 by default); a user may
//! narrow it with a list of codes and ranges (`200,204,300-399`).

use std::fmt;

/// Longest target accepted, in bytes; argv and URLs longer than this are a mistake, not a check.
pub const MAX_TARGET: usize = 4096;
/// Most arguments an `exec:` target may carry, program included.
pub const MAX_EXEC_ARGS: usize = 64;
/// Most items in an expect list.
pub const MAX_EXPECT_ITEMS: usize = 32;
/// DNS's limit on a name, which also bounds what /etc/hosts can answer for.
const MAX_HOST: usize = 253;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `host` is a name or an IP literal, without the brackets of an IPv6 literal.
    Http {
        host: String,
        port: u16,
        path: String,
    },
    Tcp {
        host: String,
        port: u16,
    },
    Exec {
        argv: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Target { text: String, why: &'static str },
    Expect { text: String, why: &'static str },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Target { text, why } => write!(
                f,
                "invalid health check target {:?}: {why} (write e.g. http://127.0.0.1:8080/healthz, tcp://127.0.0.1:5432 or exec:/bin/check,arg)",
                shorten(text)
            ),
            Error::Expect { text, why } => write!(
                f,
                "invalid expected status {:?}: {why} (write e.g. 200-399 or 200,204,300-399)",
                shorten(text)
            ),
        }
    }
}

/// Keeps error lines one screen wide even when the input was a pasted megabyte.
fn shorten(text: &str) -> &str {
    match text.char_indices().nth(200) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

pub fn parse_target(text: &str) -> Result<Target, Error> {
    let err = |why| Error::Target {
        text: text.to_string(),
        why,
    };
    if text.len() > MAX_TARGET {
        return Err(err("it is longer than 4096 bytes"));
    }
    if text.bytes().any(|b| b == 0) {
        return Err(err("it contains a NUL byte"));
    }
    if let Some(rest) = strip_prefix_ci(text, "http://") {
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = parse_authority(authority, Some(80)).map_err(err)?;
        let path = parse_path(path).map_err(err)?;
        Ok(Target::Http { host, port, path })
    } else if let Some(rest) = strip_prefix_ci(text, "tcp://") {
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err(err("a tcp:// target has no path"));
        }
        let (host, port) = parse_authority(rest, None).map_err(err)?;
        Ok(Target::Tcp { host, port })
    } else if let Some(rest) = text.strip_prefix("exec:") {
        let argv: Vec<String> = rest.split(',').map(str::to_string).collect();
        if argv.len() > MAX_EXEC_ARGS {
            return Err(err("it has more than 64 arguments"));
        }
        if argv[0].is_empty() {
            return Err(err("the program is missing after exec:"));
        }
        if !argv[0].starts_with('/') {
            return Err(err(
                "the program must be an absolute path (no PATH search is done)",
            ));
        }
        Ok(Target::Exec { argv })
    } else if strip_prefix_ci(text, "https://").is_some() {
        Err(err(
            "https is not supported (pidguard carries no TLS); check the app's plain HTTP port",
        ))
    } else {
        Err(err("it must start with http://, tcp:// or exec:"))
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// Splits `host[:port]` / `[v6][:port]`; `default_port` None means the port is required.
fn parse_authority(text: &str, default_port: Option<u16>) -> Result<(String, u16), &'static str> {
    if text.contains('@') {
        return Err("credentials in the URL are not supported");
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let end = rest.find(']').ok_or("the IPv6 address has no closing ]")?;
        let host = &rest[..end];
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("the text in [] is not an IPv6 address");
        }
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err("unexpected text after the IPv6 address"),
        };
        (host, port)
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) => {
                if h.contains(':') {
                    return Err("write an IPv6 address in brackets, e.g. [::1]:8080");
                }
                (h, Some(p))
            }
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err("the host is missing");
    }
    if host.len() > MAX_HOST {
        return Err("the host is longer than 253 bytes");
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
    {
        return Err("the host has characters that are not allowed in a name");
    }
    let port = match port {
        Some(p) => parse_port(p)?,
        None => default_port.ok_or("the port is missing")?,
    };
    Ok((host.to_ascii_lowercase(), port))
}

fn parse_port(text: &str) -> Result<u16, &'static str> {
    if text.is_empty() {
        return Err("the port is missing");
    }
    if text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the port is not a number from 1 to 65535");
    }
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err("the port is not a number from 1 to 65535"),
        Ok(p) => Ok(p),
    }
}

/// Keeps the path and query exactly as written (they are sent verbatim), drops a `#fragment`
/// (never sent by HTTP clients), and allows only RFC 3986 characters so the request line cannot
/// be broken.
fn parse_path(text: &str) -> Result<String, &'static str> {
    let text = match text.find('#') {
        Some(i) => &text[..i],
        None => text,
    };
    let text = if text.starts_with('?') {
        format!("/{text}")
    } else if text.is_empty() {
        "/".to_string()
    } else {
        text.to_string()
    };
    let allowed = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'/'
                    | b'?'
                    | b'%'
            )
    };
    if !text.bytes().all(allowed) {
        return Err(
            "the path has a character that must be percent-encoded (space, quote, non-ASCII, control)",
        );
    }
    Ok(text)
}

impl Target {
    /// The URL as it is sent, IPv6 hosts in brackets; None for exec targets.
    pub fn url(&self) -> Option<String> {
        match self {
            Target::Http { host, port, path } => {
                Some(format!("http://{}:{port}{path}", bracket(host)))
            }
            Target::Tcp { host, port } => Some(format!("tcp://{}:{port}", bracket(host))),
            Target::Exec { .. } => None,
        }
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Exec { argv } => write!(f, "exec:{}", argv.join(",")),
            other => f.write_str(&other.url().unwrap_or_default()),
        }
    }
}

/// A set of HTTP status codes, as inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect(Vec<(u16, u16)>);

impl Default for Expect {
    /// Kubernetes' httpGet rule: any 2xx or 3xx is a success.
    fn default() -> Self {
        Expect(vec![(200, 399)])
    }
}

impl Expect {
    pub fn matches(&self, code: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&code))
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(lo, hi)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

pub fn parse_expect(text: &str) -> Result<Expect, Error> {
    let err = |why| Error::Expect {
        text: text.to_string(),
        why,
    };
    if text.trim().is_empty() {
        return Err(err("it is empty"));
    }
    let items: Vec<&str> = text.split(',').map(str::trim).collect();
    if items.len() > MAX_EXPECT_ITEMS {
        return Err(err("it has more than 32 items"));
    }
    let mut ranges = Vec::with_capacity(items.len());
    for item in items {
        let (lo, hi) = match item.split_once('-') {
            Some((lo, hi)) => (status(lo.trim()), status(hi.trim())),
            None => (status(item), status(item)),
        };
        let (lo, hi) = (lo.map_err(err)?, hi.map_err(err)?);
        if lo > hi {
            return Err(err("a range goes downwards"));
        }
        ranges.push((lo, hi));
    }
    Ok(Expect(ranges))
}

fn status(text: &str) -> Result<u16, &'static str> {
    if text.is_empty() {
        return Err("an item is empty");
    }
    if text.len() != 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a status is not a three-digit number");
    }
    match text.parse::<u16>() {
        Ok(n @ 100..=599) => Ok(n),
        _ => Err("a status is outside 100-599"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(host: &str, port: u16, path: &str) -> Target {
        Target::Http {
            host: host.into(),
            port,
            path: path.into(),
        }
    }

    #[test]
    fn http_targets() {
        assert_eq!(
            parse_target("http://127.0.0.1:8080/healthz"),
            Ok(http("127.0.0.1", 8080, "/healthz"))
        );
        assert_eq!(
            parse_target("http://localhost"),
            Ok(http("localhost", 80, "/"))
        );
        assert_eq!(parse_target("HTTP://App:81"), Ok(http("app", 81, "/")));
        assert_eq!(
            parse_target("http://[::1]:9000/a/b?x=1&y=%20#frag"),
            Ok(http("::1", 9000, "/a/b?x=1&y=%20"))
        );
        assert_eq!(parse_target("http://[::1]/"), Ok(http("::1", 80, "/")));
        assert_eq!(parse_target("http://h:1?q"), Ok(http("h", 1, "/?q")));
    }

    #[test]
    fn http_url_round_trips() {
        for text in [
            "http://127.0.0.1:8080/healthz",
            "http://[::1]:9000/a?b=c",
            "tcp://db:5432",
            "tcp://[fe80::1]:1",
        ] {
            let t = parse_target(text).unwrap();
            assert_eq!(t.url().unwrap(), text);
            assert_eq!(parse_target(&t.to_string()), Ok(t));
        }
        let e = parse_target("exec:/bin/true,a,,b").unwrap();
        assert_eq!(e.to_string(), "exec:/bin/true,a,,b");
        assert_eq!(e.url(), None);
    }

    #[test]
    fn tcp_and_exec_targets() {
        assert_eq!(
            parse_target("tcp://db:5432"),
            Ok(Target::Tcp {
                host: "db".into(),
                port: 5432
            })
        );
        assert_eq!(
            parse_target("tcp://[::1]:5432/"),
            Ok(Target::Tcp {
                host: "::1".into(),
                port: 5432
            })
        );
        assert_eq!(
            parse_target("exec:/usr/bin/check,--quick,x y"),
            Ok(Target::Exec {
                argv: vec!["/usr/bin/check".into(), "--quick".into(), "x y".into()]
            })
        );
        assert_eq!(
            parse_target("exec:/bin/true"),
            Ok(Target::Exec {
                argv: vec!["/bin/true".into()]
            })
        );
    }

    #[test]
    fn bad_targets_say_why() {
        let why = |t: &str| match parse_target(t) {
            Err(Error::Target { why, .. }) => why,
            other => panic!("{t}: {other:?}"),
        };
        assert!(why("https://x/").contains("https is not supported"));
        assert!(why("ftp://x/").contains("must start with"));
        assert!(why("").contains("must start with"));
        assert!(why("tcp://db").contains("port is missing"));
        assert!(why("tcp://db:").contains("port is missing"));
        assert!(why("tcp://db:0").contains("1 to 65535"));
        assert!(why("tcp://db:65536").contains("1 to 65535"));
        assert!(why("tcp://db:+80").contains("1 to 65535"));
        assert!(why("tcp://db:5432/x").contains("no path"));
        assert!(why("http://:80/").contains("host is missing"));
        assert!(why("http:///x").contains("host is missing"));
        assert!(why("http://u:p@h/").contains("credentials"));
        assert!(why("http://::1/").contains("brackets"));
        assert!(why("http://[::1/").contains("closing"));
        assert!(why("http://[zz]/").contains("not an IPv6"));
        assert!(why("http://[::1]x/").contains("after the IPv6"));
        assert!(why("http://h/a b").contains("percent-encoded"));
        assert!(why("http://h/a\r\nX: y").contains("percent-encoded"));
        assert!(why("http://h/é").contains("percent-encoded"));
        assert!(why("http://h\u{0}/").contains("NUL"));
        assert!(why("http://h_ö/").contains("not allowed"));
        assert!(why(&format!("http://{}/", "a".repeat(254))).contains("253"));
        assert!(why(&format!("http://h/{}", "a".repeat(5000))).contains("4096"));
        assert!(why("exec:").contains("missing"));
        assert!(why("exec:check,arg").contains("absolute"));
        assert!(why(&format!("exec:/x{}", ",a".repeat(64))).contains("64"));
    }

    #[test]
    fn error_display_is_one_line() {
        let e = parse_target(&format!("ftp://{}\n", "x".repeat(1000))).unwrap_err();
        let s = e.to_string();
        assert!(!s.contains('\n'), "{s}");
        assert!(s.len() < 400, "{s}");
        assert!(s.starts_with("invalid health check target \"ftp://"), "{s}");
    }

    #[test]
    fn expect_default_is_kubernetes() {
        let e = Expect::default();
        assert!(!e.matches(199));
        assert!(e.matches(200));
        assert!(e.matches(399));
        assert!(!e.matches(400));
        assert_eq!(e.to_string(), "200-399");
    }

    #[test]
    fn expect_lists_and_ranges() {
        let e = parse_expect("200, 204,300-399").unwrap();
        assert!(e.matches(200) && e.matches(204) && e.matches(300) && e.matches(399));
        assert!(!e.matches(201) && !e.matches(299) && !e.matches(400));
        assert_eq!(e.to_string(), "200,204,300-399");
        assert_eq!(parse_expect("503").unwrap().to_string(), "503");
        assert_eq!(parse_expect("200-200").unwrap().to_string(), "200");
    }

    #[test]
    fn bad_expect_says_why() {
        let why = |t: &str| match parse_expect(t) {
            Err(Error::Expect { why, .. }) => why,
            other => panic!("{t}: {other:?}"),
        };
        assert!(why("").contains("empty"));
        assert!(why("200,").contains("empty"));
        assert!(why("-300").contains("empty"));
        assert!(why("2xx").contains("three-digit"));
        assert!(why("20").contains("three-digit"));
        assert!(why("+200").contains("three-digit"));
        assert!(why("099").contains("100-599"));
        assert!(why("600").contains("100-599"));
        assert!(why("300-200").contains("downwards"));
        assert!(why("200-300-400").contains("three-digit"));
        assert!(why(&"200,".repeat(33)).contains("32"));
        assert!(parse_expect("200-399").is_ok());
    }
}
