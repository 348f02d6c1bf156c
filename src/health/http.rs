//! The HTTP/1.x request-head parser and response writer of the health endpoint.
//!
//! The endpoint runs inside PID 1 and is reachable by whatever can reach its port, so it accepts
//! only what a probe needs (a GET or HEAD with no body). The bytes are tokenized by `httparse`, the
//! parser of hyper and of ureq, which pidguard links anyway (ureq reads response heads with it);
//! this module is the policy on top, and is fuzzed with it (fuzz/fuzz_targets/http_request.rs). It
//! takes bytes, returns a verdict, allocates only the path, and never looks past `MAX_HEAD` bytes.
//! It is called again as bytes arrive; `Incomplete` means "wait for more", and anything that can
//! already be seen to be wrong is reported at once (httparse checks every byte as it goes, so a TLS
//! ClientHello or binary junk gets its 400 on the first packet instead of holding a connection slot
//! until the header timeout).
//!
//! Decisions where RFC 9112 leaves room, all on the strict side unless strictness would break a
//! real probe. httparse's defaults for requests already are these, and none of its `ParserConfig`
//! relaxations is turned on:
//! - Lines may end in CRLF or a bare LF (RFC 9112 §2.2 allows it; `printf | nc` probes use it);
//!   a CR anywhere else is a 400. Empty lines before the request line are skipped (§2.2).
//! - Exactly one space between the three request-line parts (httparse's
//!   `allow_multiple_spaces_in_request_line_delimiters` stays off); only HTTP/1.0 and HTTP/1.1.
//!   Another well-formed `HTTP/x.y` gets 505 as soon as its eight bytes are in, even if junk
//!   follows on the line (the hand-written parser before httparse said 400 to `HTTP/2.0 x`; either
//!   way it is refused); anything else 400.
//! - Origin-form targets, plus absolute-form `http://h/p` which §3.2.2 requires servers to accept;
//!   the query is dropped. Any other target (`*`, `healthz`, bytes above ASCII, which httparse
//!   lets through as UTF-8) is 400 as soon as the request line is in.
//! - Obsolete header folding, whitespace before the colon and control bytes are 400 (httparse
//!   allows folding and that whitespace only in responses, and only when asked).
//! - A body is never accepted: `Content-Length` above 0 or any `Transfer-Encoding` is 413 (our
//!   limit is 0 bytes; every transfer coding implies a body). A malformed or conflicting
//!   `Content-Length` is 400 (the classic request-smuggling shapes). httparse does not interpret
//!   fields, so these are judged here.
//! - More than `MAX_HEADERS` fields or a head longer than `MAX_HEAD` is 431. httparse counts a field
//!   only once its line is valid, so a malformed field past the limit is 400, not 431.
//! - `Host` is not required even on HTTP/1.1: there are no virtual hosts to choose between, and
//!   hand-written probes forget it.
//! - Methods other than GET and HEAD are 405, decided only once the head is complete and valid.

/// Largest request head accepted, request line included.
pub const MAX_HEAD: usize = 8192;
/// Most header fields accepted.
pub const MAX_HEADERS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The path without the query, e.g. `/healthz`.
    pub path: String,
    /// Bytes of the buffer the head took, final empty line included.
    pub head_len: usize,
}

/// Why a request is refused, as an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    BadRequest = 400,
    MethodNotAllowed = 405,
    ContentTooLarge = 413,
    HeaderFieldsTooLarge = 431,
    VersionNotSupported = 505,
}

impl Status {
    pub fn code(self) -> u16 {
        self as u16
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parse {
    Incomplete,
    Done(Request),
    Error(Status),
}

pub fn parse_request_head(buf: &[u8]) -> Parse {
    match parse(buf) {
        Ok(Some(req)) => Parse::Done(req),
        Ok(None) => Parse::Incomplete,
        Err(status) => Parse::Error(status),
    }
}

/// `Ok(None)` is "incomplete"; this shape lets `?` carry errors out of the helpers.
fn parse(buf: &[u8]) -> Result<Option<Request>, Status> {
    let window = &buf[..buf.len().min(MAX_HEAD)];
    match judge(window)? {
        Some(req) => Ok(Some(req)),
        // No room left to finish the head: the server never reads past MAX_HEAD.
        None if buf.len() >= MAX_HEAD => Err(Status::HeaderFieldsTooLarge),
        None => Ok(None),
    }
}

/// httparse tokenizes; this is pidguard's policy on top of it.
fn judge(window: &[u8]) -> Result<Option<Request>, Status> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut fields);
    let parsed = match head.parse(window) {
        Ok(parsed) => parsed,
        Err(httparse::Error::TooManyHeaders) => return Err(Status::HeaderFieldsTooLarge),
        Err(httparse::Error::Version) => return other_version(window, head.path),
        Err(_) => return Err(Status::BadRequest),
    };
    // Once the version is in, a target no probe sends is refused without waiting for the head.
    let path = match (head.path, head.version) {
        (Some(target), Some(_)) => origin_path(target)?,
        _ => return Ok(None),
    };
    let httparse::Status::Complete(head_len) = parsed else {
        return Ok(None);
    };

    let mut content_length: Option<u64> = None;
    let mut has_transfer_encoding = false;
    for field in head.headers.iter() {
        if field.name.eq_ignore_ascii_case("content-length") {
            let n = parse_content_length(field.value)?;
            if content_length.is_some_and(|old| old != n) {
                return Err(Status::BadRequest);
            }
            content_length = Some(n);
        } else if field.name.eq_ignore_ascii_case("transfer-encoding") {
            has_transfer_encoding = true;
        }
    }

    let method = match head.method {
        Some("GET") => Method::Get,
        Some("HEAD") => Method::Head,
        _ => return Err(Status::MethodNotAllowed),
    };
    if has_transfer_encoding || content_length.is_some_and(|n| n > 0) {
        return Err(Status::ContentTooLarge);
    }
    Ok(Some(Request {
        method,
        path,
        head_len,
    }))
}

/// httparse knows only HTTP/1.0 and HTTP/1.1 and calls anything else a bad version. A well-formed
/// `HTTP/x.y` is 505, so that the client learns the version is what is wrong (an HTTP/2 preface
/// included); a prefix of that shape waits for more bytes; anything else is 400.
fn other_version(window: &[u8], target: Option<&str>) -> Result<Option<Request>, Status> {
    let Some(target) = target else {
        return Err(Status::BadRequest);
    };
    // The version starts one space after the target, which httparse returned as part of `window`.
    let start = target
        .as_ptr()
        .addr()
        .saturating_sub(window.as_ptr().addr())
        .saturating_add(target.len() + 1);
    let seen = window.get(start..).unwrap_or_default();
    const SHAPE: &[u8; 8] = b"HTTP/0.0";
    let fits = seen.iter().zip(SHAPE).all(|(&b, &want)| {
        if want == b'0' {
            b.is_ascii_digit()
        } else {
            b == want
        }
    });
    match (fits, seen.len() < SHAPE.len()) {
        (false, _) => Err(Status::BadRequest),
        (true, true) => Ok(None),
        (true, false) => Err(Status::VersionNotSupported),
    }
}

/// The path of an origin-form target (`/p?q`) or of an absolute-form one (`http://h/p?q`, which
/// RFC 9112 §3.2.2 requires servers to accept), without the query.
fn origin_path(target: &str) -> Result<String, Status> {
    // httparse lets through UTF-8 above ASCII; no path of ours has any.
    if !target.is_ascii() {
        return Err(Status::BadRequest);
    }
    let origin = match target.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("http://") => {
            let rest = &target[7..];
            match rest.find(['/', '?']) {
                Some(i) if rest.as_bytes()[i] == b'/' => &rest[i..],
                _ => "/",
            }
        }
        _ if target.starts_with('/') => target,
        _ => return Err(Status::BadRequest),
    };
    let path_len = origin.find('?').unwrap_or(origin.len());
    Ok(origin[..path_len].to_string())
}

fn parse_content_length(value: &[u8]) -> Result<u64, Status> {
    // 19 digits always fit in u64; longer is either junk or a body we refuse anyway.
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return Err(Status::BadRequest);
    }
    let mut n: u64 = 0;
    for &d in value {
        n = n * 10 + u64::from(d - b'0');
    }
    Ok(n)
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// The one-word body sent with an error status, so that even error bodies reveal nothing.
pub fn error_word(status: u16) -> &'static str {
    match status {
        400 => "bad-request",
        403 => "forbidden",
        404 => "not-found",
        405 => "method-not-allowed",
        408 => "timeout",
        413 => "body-not-allowed",
        431 => "head-too-large",
        503 => "unavailable",
        505 => "version-not-supported",
        _ => "error",
    }
}

pub const TEXT: &str = "text/plain; charset=utf-8";
/// Prometheus text exposition format 0.0.4.
pub const METRICS: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn response(status: u16, body: &str, head_only: bool) -> Vec<u8> {
    response_with_type(status, TEXT, body, head_only)
}

/// Every response closes the connection: one request per connection keeps the server's state
/// machine trivial and a client cannot pin a slot by pipelining.
pub fn response_with_type(status: u16, content_type: &str, body: &str, head_only: bool) -> Vec<u8> {
    let allow = if status == 405 {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{allow}Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        reason(status),
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(buf: &[u8]) -> Request {
        match parse_request_head(buf) {
            Parse::Done(r) => r,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(buf)),
        }
    }

    fn status(buf: &[u8]) -> u16 {
        match parse_request_head(buf) {
            Parse::Error(s) => s.code(),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(buf)),
        }
    }

    fn incomplete(buf: &[u8]) {
        assert_eq!(
            parse_request_head(buf),
            Parse::Incomplete,
            "{:?}",
            String::from_utf8_lossy(buf)
        );
    }

    #[test]
    fn simple_requests() {
        let r = done(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(r.method, Method::Get);
        assert_eq!(r.path, "/healthz");
        assert_eq!(r.head_len, 34);
        let r = done(b"HEAD /readyz?verbose=1 HTTP/1.0\r\n\r\nextra");
        assert_eq!(r.method, Method::Head);
        assert_eq!(r.path, "/readyz");
        assert_eq!(r.head_len, 35);
        assert_eq!(done(b"GET / HTTP/1.0\n\n").path, "/");
        assert_eq!(done(b"\r\n\nGET /a HTTP/1.1\r\n\r\n").path, "/a");
        assert_eq!(
            done(b"GET http://example:80/metrics?x HTTP/1.1\r\n\r\n").path,
            "/metrics"
        );
        assert_eq!(done(b"GET HTTP://example HTTP/1.1\r\n\r\n").path, "/");
        assert_eq!(done(b"GET http://example?q HTTP/1.1\r\n\r\n").path, "/");
        done(b"GET / HTTP/1.1\r\nContent-Length: 0\r\ncontent-length:  0 \r\n\r\n");
        done(b"GET / HTTP/1.1\r\nX-Empty:\r\nX-Tab:\ta\tb\r\nX-Obs: \xff\xfe\r\n\r\n");
    }

    #[test]
    fn incomplete_heads() {
        incomplete(b"");
        incomplete(b"\r");
        incomplete(b"\r\n");
        incomplete(b"G");
        incomplete(b"GET");
        incomplete(b"GET /healthz HTTP/1.1");
        incomplete(b"GET /healthz HTTP/1.1\r");
        incomplete(b"GET /healthz HTTP/1.1\r\n");
        incomplete(b"GET /healthz HTTP/1.1\r\nHost: x\r\n");
        incomplete(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r");
        incomplete(b"POST /x HTTP/1.1\r\n");
    }

    #[test]
    fn every_prefix_of_a_valid_head_is_incomplete() {
        let full = b"GET /readyz HTTP/1.1\r\nHost: a\r\nUser-Agent: kube-probe/1.30\r\n\r\n";
        for n in 0..full.len() {
            incomplete(&full[..n]);
        }
        done(full);
    }

    #[test]
    fn bad_request_400() {
        for bad in [
            &b"GET /\r\n\r\n"[..],
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1 \r\n\r\n",
            b" GET / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1 extra\r\n\r\n",
            b"G(T / HTTP/1.1\r\n\r\n",
            b"GET healthz HTTP/1.1\r\n\r\n",
            b"GET * HTTP/1.1\r\n\r\n",
            b"GET /a\x01 HTTP/1.1\r\n\r\n",
            b"GET /\xc3\xa9 HTTP/1.1\r\n\r\n",
            b"GET / HTTX/1.1\r\n\r\n",
            b"GET / http/1.1\r\n\r\n",
            b"GET / HTTP/1.12\r\n\r\n",
            b"GET /a\rb HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
            b"GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: \r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n",
        ] {
            assert_eq!(status(bad), 400, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn garbage_is_refused_before_the_line_ends() {
        assert_eq!(status(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), 400);
        assert_eq!(status(b"GET /\x00"), 400);
        assert_eq!(status(b"{\"json\""), 400);
        assert_eq!(status(b"GET /a\rb"), 400);
    }

    #[test]
    fn real_probes_are_answered() {
        for probe in [
            &b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"[..],
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: Wget\r\nConnection: close\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: Wget/1.21.4\r\nAccept: */*\r\nAccept-Encoding: identity\r\nConnection: Keep-Alive\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\nHost: 10.1.2.3:8080\r\nUser-Agent: kube-probe/1.30\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            b"GET /healthz HTTP/1.0\n\n",
            b"GET /healthz HTTP/1.1\nHost: x\n\n",
        ] {
            assert_eq!(done(probe).path, "/healthz");
        }
    }

    /// Where httparse, which checks each byte as it arrives, decides earlier or otherwise than the
    /// hand-written parser it replaced. Each is still a refusal; a run of both over millions of
    /// mutated heads found no head that one accepts and the other refuses, nor a prefix of an
    /// accepted head that httparse refuses (fuzz/fuzz_targets/http_request.rs keeps checking that).
    #[test]
    fn decisions_that_changed_with_httparse() {
        // Refused before the line ends (the old parser waited for the LF).
        assert_eq!(
            status(b" "),
            400,
            "a request line cannot start with a space"
        );
        assert_eq!(status(b"GET / HTTP/1.1\r\nX: a\x00"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost x"), 400);
        assert_eq!(status(b"GET * HTTP/1.1"), 400);
        assert_eq!(status(b"GET / HTTP/2.0"), 505);
        incomplete(b"GET / HTTP/2");
        // A well-formed HTTP/x.y with junk after it was 400, is 505: refused either way.
        assert_eq!(status(b"GET / HTTP/2.0 x\r\n\r\n"), 505);
        assert_eq!(status(b"GET / HTTP/1.2x\r\n\r\n"), 505);
        // An empty target is 400 even with a foreign version (was 505).
        assert_eq!(status(b"GET  HTTP/2.0\r\n\r\n"), 400);
        // Content-Length is judged once the head is complete, not as its line ends.
        incomplete(b"GET / HTTP/1.1\r\nContent-Length: x\r\n");
        assert_eq!(status(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"), 400);
        // A malformed field past MAX_HEADERS is 400, not 431: httparse counts valid fields only.
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..MAX_HEADERS {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"Bad Field\r\n");
        assert_eq!(status(&many), 400);
    }

    #[test]
    fn method_not_allowed_405() {
        for m in ["POST", "PUT", "DELETE", "OPTIONS", "get", "BREW", "PRI"] {
            let req = format!("{m} /healthz HTTP/1.1\r\n\r\n");
            assert_eq!(status(req.as_bytes()), 405, "{m}");
        }
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
            405
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nBad Header\r\n\r\n"),
            400,
            "a malformed head is 400 before the method is judged"
        );
    }

    #[test]
    fn bodies_413() {
        assert_eq!(status(b"GET / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"), 413);
        assert_eq!(
            status(b"GET / HTTP/1.1\r\nContent-Length: 9999999999999999999\r\n\r\n"),
            413
        );
        assert_eq!(
            status(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            413
        );
        assert_eq!(
            status(b"GET / HTTP/1.0\r\ntransfer-encoding: identity\r\n\r\n"),
            413
        );
    }

    #[test]
    fn too_large_431() {
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.resize(MAX_HEAD, b'a');
        assert_eq!(status(&big), 431, "no end of head within MAX_HEAD");
        big.truncate(MAX_HEAD - 1);
        incomplete(&big);
        let mut long_line = b"GET /".to_vec();
        long_line.resize(MAX_HEAD, b'a');
        assert_eq!(status(&long_line), 431);
        let mut late_end = b"GET / HTTP/1.1\r\nX: ".to_vec();
        late_end.resize(MAX_HEAD + 10, b'a');
        late_end.extend_from_slice(b"\r\n\r\n");
        assert_eq!(status(&late_end), 431, "bytes past MAX_HEAD are never read");
        let mut blank = vec![b'\n'; MAX_HEAD];
        assert_eq!(status(&blank), 431, "leading empty lines are bounded too");
        blank.truncate(10);
        incomplete(&blank);

        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..MAX_HEADERS {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        let mut ok = many.clone();
        ok.extend_from_slice(b"\r\n");
        done(&ok);
        many.extend_from_slice(b"X-last: v\r\n");
        assert_eq!(
            status(&many),
            431,
            "one field too many, before the head ends"
        );
    }

    #[test]
    fn exactly_max_head_is_accepted() {
        let mut req = b"GET / HTTP/1.1\r\nX: ".to_vec();
        req.resize(MAX_HEAD - 4, b'a');
        req.extend_from_slice(b"\r\n\r\n");
        assert_eq!(req.len(), MAX_HEAD);
        assert_eq!(done(&req).head_len, MAX_HEAD);
    }

    #[test]
    fn version_505() {
        assert_eq!(status(b"GET / HTTP/2.0\r\n\r\n"), 505);
        assert_eq!(status(b"GET / HTTP/0.9\r\n\r\n"), 505);
        assert_eq!(status(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
    }

    #[test]
    fn responses() {
        let r = String::from_utf8(response(200, "ok", false)).unwrap();
        assert_eq!(
            r,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\nCache-Control: no-store\r\nConnection: close\r\n\r\nok"
        );
        let h = String::from_utf8(response(503, "unready", true)).unwrap();
        assert!(h.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(
            h.contains("Content-Length: 7\r\n"),
            "HEAD keeps GET's length"
        );
        assert!(h.ends_with("\r\n\r\n"));
        let m = String::from_utf8(response(405, "x", false)).unwrap();
        assert!(m.contains("\r\nAllow: GET, HEAD\r\n"));
        let p = String::from_utf8(response_with_type(200, METRICS, "a 1\n", false)).unwrap();
        assert!(p.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
        for code in [400, 404, 405, 408, 413, 431, 503, 505] {
            assert_ne!(reason(code), "Unknown");
            let word = error_word(code);
            assert!(word.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
        }
    }
}
