//! `pidguard probe`: the HEALTHCHECK client, so an image needs no curl.
//!
//! With no target it asks PID 1's status socket (`GET /readyz` over an abstract unix socket named
//! after this container, see `super::status_socket_name`), so `HEALTHCHECK CMD ["/pidguard",
//! "probe"]` is the whole recipe. It believes only its own pidguard (`super::peer`): whoever else
//! holds the name gets the probe's "unhealthy" with who it is, never a borrowed "healthy". When
//! the program is not ready, the answer says why (the app check's own reason), and so does the
//! probe's line. With a target it checks the app directly: an HTTP GET (or HEAD) whose status must
//! be in `--expect`, a TCP connect, or a program run to completion.
//!
//! Exit codes follow Docker: 0 healthy, 1 unhealthy, and 1 for bad usage too, because Docker
//! reserves 2 and treats every non-zero code as unhealthy anyway; a broken HEALTHCHECK line must
//! show up as an unhealthy container with a reason, not as something Docker misreads. On failure
//! exactly one line goes to stderr (Docker keeps it in `docker inspect`); success is silent.
//!
//! A probe is short-lived and bounded: one total deadline (`--timeout`, default 5s, well under
//! Docker's 30s so the reason is ours and not Docker's "timed out") covers name lookup, connect,
//! request and response; no thread is started; an `exec:` check runs in its own process group,
//! which is killed whole if it overruns, so nothing is left behind. Every step is bounded on its
//! own (/etc/hosts is read only if it is a regular file, sockets have timeouts), and behind them an
//! alarm(2) set at the start ends the probe by SIGALRM one second past its deadline whatever it is
//! waiting for: no reason printed then, but a probe can never hang Docker's health loop.
//!
//! `localhost` is tried as 127.0.0.1, then ::1, as curl does: an app listening on 0.0.0.0 is found
//! at once, and one listening on `[::1]` only is found too.
//!
//! Names resolve without libc (see `hosts`): ureq is given a resolver that returns the address
//! looked up beforehand, so it never reaches `getaddrinfo`, while the Host header keeps the name.
//! Proxies from the environment are ignored (a check is about this container, not the way out) and
//! redirects are not followed (a 3xx is an answer, judged by `--expect`, as Kubernetes does).

use std::ffi::{CString, OsString};
use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, connect, socket};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::target::{self, Expect, Target};
use super::{hosts, peer};
use crate::{duration, sys};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most `--header` options.
pub const MAX_HEADERS: usize = 32;
/// Longest `--header` option.
pub const MAX_HEADER_LEN: usize = 4096;
/// Most bytes read from the status socket; its answers are a word and a line of reason.
const MAX_STATUS_RESPONSE: u64 = 4096;
/// How often an `exec:` check and a busy status socket are looked at again.
const RETRY_STEP: Duration = Duration::from_millis(10);

const USAGE: &str = "\
usage: pidguard probe [OPTIONS] [TARGET]

Exits 0 when healthy, 1 when not (with one line on stderr saying why).

TARGET (none: ask this container's pidguard for /readyz, on its status socket):
  http://HOST[:PORT][/PATH]   GET, healthy if the status is expected
  tcp://HOST:PORT             healthy if a connection opens
  exec:/path/prog,arg1,arg2   healthy if the program exits 0
HOST is an IP address, localhost, or a name in /etc/hosts (no DNS).

OPTIONS:
  --method GET|HEAD     HTTP method (default GET)
  -H, --header K:V      add a request header (repeatable)
  --expect LIST         expected statuses (default 200-399), e.g. 200,204
  -t, --timeout DUR     total time allowed (default 5s), e.g. 500ms, 2s
  -h, --help            this text

ENVIRONMENT:
  PIDGUARD_STATUS_SOCKET  abstract status socket name
                          (default pidguard-status-INODE of the mount namespace)
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub target: Option<Target>,
    pub method: Method,
    pub headers: Vec<(String, String)>,
    pub expect: Expect,
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            target: None,
            method: Method::Get,
            headers: Vec::new(),
            expect: Expect::default(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Help,
    Run(Options),
}

/// Why the probe did not report healthy; both exit 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The command line is wrong.
    Usage(String),
    /// The check ran and failed (or could not run).
    Unhealthy(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(why) => write!(f, "pidguard probe: {why} (see pidguard probe --help)"),
            Failure::Unhealthy(why) => write!(f, "pidguard probe: unhealthy: {why}"),
        }
    }
}

/// The whole subcommand. `args` are the words after `probe`. Returns the exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    exit_code(args, arm_alarm)
}

/// `main` with the backstop as a parameter: a unit test must not arm an alarm that would end the
/// whole test process.
fn exit_code(args: Vec<OsString>, backstop: fn(Duration)) -> i32 {
    let result = parse_args(args).and_then(|parsed| match parsed {
        Parsed::Help => {
            print!("{USAGE}");
            Ok(())
        }
        Parsed::Run(opts) => {
            backstop(opts.timeout);
            run(&opts, &super::status_socket_name())
        }
    });
    match result {
        Ok(()) => 0,
        Err(failure) => {
            eprintln!("{}", one_line(&failure.to_string()));
            1
        }
    }
}

/// Error texts embed user input and OS messages; Docker shows the line as is.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(1000)
        .collect()
}

pub fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, Failure> {
    use lexopt::prelude::*;
    let usage = |e: lexopt::Error| Failure::Usage(e.to_string());
    let mut opts = Options::default();
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Long("method") => {
                let m = parser.value().map_err(usage)?.string().map_err(usage)?;
                opts.method = match m.to_ascii_uppercase().as_str() {
                    "GET" => Method::Get,
                    "HEAD" => Method::Head,
                    _ => {
                        return Err(Failure::Usage(format!(
                            "invalid --method {:?}: only GET and HEAD are supported",
                            one_line(&m)
                        )));
                    }
                };
            }
            Short('H') | Long("header") => {
                let h = parser.value().map_err(usage)?.string().map_err(usage)?;
                if opts.headers.len() >= MAX_HEADERS {
                    return Err(Failure::Usage("more than 32 --header options".into()));
                }
                opts.headers.push(parse_header(&h).map_err(Failure::Usage)?);
            }
            Long("expect") => {
                let e = parser.value().map_err(usage)?.string().map_err(usage)?;
                opts.expect =
                    target::parse_expect(&e).map_err(|e| Failure::Usage(e.to_string()))?;
            }
            Short('t') | Long("timeout") => {
                let t = parser.value().map_err(usage)?.string().map_err(usage)?;
                let d =
                    duration::parse(&t).map_err(|e| Failure::Usage(format!("--timeout: {e}")))?;
                if d.is_zero() {
                    return Err(Failure::Usage("--timeout must be more than 0".into()));
                }
                opts.timeout = d;
            }
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Value(v) if opts.target.is_none() => {
                let v = v.string().map_err(usage)?;
                let t = target::parse_target(&v).map_err(|e| Failure::Usage(e.to_string()))?;
                opts.target = Some(t);
            }
            _ => return Err(usage(arg.unexpected())),
        }
    }
    if !opts.headers.is_empty()
        && matches!(opts.target, Some(Target::Tcp { .. } | Target::Exec { .. }))
    {
        return Err(Failure::Usage(
            "--header applies to HTTP checks only".into(),
        ));
    }
    Ok(Parsed::Run(opts))
}

/// `Name: value`; the name must be an HTTP token and nothing may hold CR, LF or NUL (a header
/// option must not be able to add a second header or end the request).
pub fn parse_header(text: &str) -> Result<(String, String), String> {
    let shown = || one_line(&text.chars().take(100).collect::<String>());
    if text.len() > MAX_HEADER_LEN {
        return Err(format!("--header {:?}: longer than 4096 bytes", shown()));
    }
    if text.contains(['\r', '\n', '\0']) {
        return Err(format!("--header {:?}: contains CR, LF or NUL", shown()));
    }
    let Some((name, value)) = text.split_once(':') else {
        return Err(format!("--header {:?}: write it as Name:value", shown()));
    };
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(tchar) {
        return Err(format!(
            "--header {:?}: the name is not a valid header name",
            shown()
        ));
    }
    let value = value.trim_matches([' ', '\t']);
    if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(format!(
            "--header {:?}: the value has control characters",
            shown()
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

/// Runs the check described by `opts`; `status_socket` is used when there is no target.
pub fn run(opts: &Options, status_socket: &str) -> Result<(), Failure> {
    let deadline = Instant::now() + opts.timeout;
    match &opts.target {
        None => check_status_socket(opts, status_socket, deadline),
        Some(Target::Http { host, port, .. }) => {
            let addrs = lookup(host, *port)?;
            check_http(opts, &addrs, deadline)
        }
        Some(Target::Tcp { host, port }) => {
            let addrs = lookup(host, *port)?;
            check_tcp(opts, &addrs, deadline)
        }
        Some(Target::Exec { argv }) => check_exec(argv, opts.timeout, deadline),
    }
}

/// The backstop behind every bounded step: SIGALRM, default action "terminate", one second (rounded
/// up) after the deadline. Unblocked and reset first, since the probe may inherit either.
fn arm_alarm(timeout: Duration) {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
    let _ = sys::set_disposition(libc::SIGALRM, false);
    let mut alrm = SigSet::empty();
    alrm.add(Signal::SIGALRM);
    let _ = sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&alrm), None);
    let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0) + 1;
    nix::unistd::alarm::set(u32::try_from(secs).unwrap_or(u32::MAX));
}

/// The addresses to try, in order: `localhost` is 127.0.0.1 then ::1 (as curl does); anything else
/// is one address, a literal or the first /etc/hosts line naming it.
fn lookup(host: &str, port: u16) -> Result<Vec<SocketAddr>, Failure> {
    let bare = host.strip_suffix('.').unwrap_or(host);
    if bare.eq_ignore_ascii_case("localhost") {
        return Ok(vec![
            SocketAddr::from(([127, 0, 0, 1], port)),
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)),
        ]);
    }
    // Literals need no file read.
    let ip = match hosts::resolve(host, b"") {
        Some(ip) => Some(ip),
        None => hosts::read_system_hosts()
            .map_err(|why| Failure::Unhealthy(format!("cannot resolve {host:?}: {why}")))
            .map(|text| hosts::resolve(host, &text))?,
    }
    .ok_or_else(|| {
        Failure::Unhealthy(format!(
            "cannot resolve {host:?}: not an IP address, localhost, or a name in /etc/hosts (pidguard does no DNS)"
        ))
    })?;
    Ok(vec![SocketAddr::new(ip, port)])
}

/// `127.0.0.1:80` or `127.0.0.1:80, [::1]:80`, for failure lines.
fn shown_addrs(addrs: &[SocketAddr]) -> String {
    addrs
        .iter()
        .map(SocketAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn secs(d: Duration) -> String {
    duration::format(d)
}

/// Hands ureq the addresses resolved by `lookup`, so it never asks libc; it tries them in order,
/// moving on when one refuses or is unreachable.
#[derive(Debug)]
struct Resolved(Vec<SocketAddr>);

impl ureq::unversioned::resolver::Resolver for Resolved {
    fn resolve(
        &self,
        _uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let mut addrs = self.empty();
        for a in &self.0 {
            addrs.push(*a);
        }
        Ok(addrs)
    }
}

/// ureq's input and output buffers, and so the largest response head a probe accepts.
const PROBE_BUFFER: usize = 16 * 1024;

fn check_http(opts: &Options, addrs: &[SocketAddr], deadline: Instant) -> Result<(), Failure> {
    let Some(url) = opts.target.as_ref().and_then(Target::url) else {
        return Err(Failure::Usage("internal: HTTP check without URL".into()));
    };
    let left = remaining(deadline).ok_or_else(|| timed_out(&url, opts.timeout))?;
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .timeout_global(Some(left))
        .user_agent(concat!("pidguard-probe/", env!("CARGO_PKG_VERSION")))
        // ureq zero-fills both buffers up front (128 KiB each by default): every 4 KiB page is a
        // fault that a one-shot probe pays for at start-up, ~3.5 us each on this kind of VM. A
        // request head is a few hundred bytes and a health response head rarely 1 KiB; 16 KiB
        // still takes the 8 KiB header blocks many servers allow.
        .max_response_header_size(PROBE_BUFFER)
        // One page more than the limit: ureq notices a head over the limit only when the buffer
        // holds more than the limit; with equal sizes it would just report "disconnected".
        .input_buffer_size(PROBE_BUFFER + 4096)
        .output_buffer_size(PROBE_BUFFER)
        .build();
    let agent = ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::new(),
        Resolved(addrs.to_vec()),
    );
    let response = match opts.method {
        Method::Get => {
            let mut req = agent.get(&url);
            for (k, v) in &opts.headers {
                req = req.header(k, v);
            }
            req.call()
        }
        Method::Head => {
            let mut req = agent.head(&url);
            for (k, v) in &opts.headers {
                req = req.header(k, v);
            }
            req.call()
        }
    };
    let method = match opts.method {
        Method::Get => "GET",
        Method::Head => "HEAD",
    };
    let addr = shown_addrs(addrs);
    let response = response.map_err(|e| {
        Failure::Unhealthy(match e {
            ureq::Error::Timeout(_) => {
                format!("{method} {url}: no answer within {}", secs(opts.timeout))
            }
            ureq::Error::Io(io) => format!("{method} {url}: cannot reach {addr}: {io}"),
            ureq::Error::ConnectionFailed => format!("{method} {url}: cannot connect to {addr}"),
            other => format!("{method} {url} ({addr}): {other}"),
        })
    })?;
    let code = response.status().as_u16();
    if opts.expect.matches(code) {
        Ok(())
    } else {
        Err(Failure::Unhealthy(format!(
            "{method} {url}: {code}, expected {}",
            opts.expect
        )))
    }
}

fn check_tcp(opts: &Options, addrs: &[SocketAddr], deadline: Instant) -> Result<(), Failure> {
    let shown = opts
        .target
        .as_ref()
        .and_then(Target::url)
        .unwrap_or_default();
    let mut last = None;
    for addr in addrs {
        let left = remaining(deadline).ok_or_else(|| timed_out(&shown, opts.timeout))?;
        match TcpStream::connect_timeout(addr, left) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                return Err(timed_out(&shown, opts.timeout));
            }
            Err(e) => last = Some(e),
        }
    }
    let why = last.map(|e| e.to_string()).unwrap_or_default();
    Err(Failure::Unhealthy(format!(
        "cannot connect to {shown} ({}): {why}",
        shown_addrs(addrs)
    )))
}

fn timed_out(what: &str, timeout: Duration) -> Failure {
    Failure::Unhealthy(format!("no answer from {what} within {}", secs(timeout)))
}

/// Time left before `deadline`, None once it passed (a zero timeout means "forever" to std).
fn remaining(deadline: Instant) -> Option<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    (!left.is_zero()).then_some(left)
}

fn check_status_socket(opts: &Options, name: &str, deadline: Instant) -> Result<(), Failure> {
    let shown = format!("pidguard's status socket @{name}");
    let fail = |why: String| Failure::Unhealthy(format!("{shown}: {why}"));
    let addr =
        UnixAddr::new_abstract(name.as_bytes()).map_err(|e| fail(format!("invalid name: {e}")))?;
    // Non-blocking connect: a unix connect blocks while the listener's backlog is full, and a
    // wedged PID 1 must cost us the timeout, not forever.
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )
    .map_err(|e| fail(format!("cannot create a socket: {}", e.desc())))?;
    loop {
        match connect(fd.as_raw_fd(), &addr) {
            Ok(()) => break,
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => {
                if remaining(deadline).is_none() {
                    return Err(timed_out(&shown, opts.timeout));
                }
                std::thread::sleep(RETRY_STEP);
            }
            Err(Errno::ECONNREFUSED) => {
                return Err(fail(
                    "nothing listens there (is pidguard PID 1 of this container?)".into(),
                ));
            }
            Err(e) => return Err(fail(format!("cannot connect: {}", e.desc()))),
        }
    }
    let mut stream = UnixStream::from(fd);
    let io = |e: std::io::Error| {
        if matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            timed_out(&shown, opts.timeout)
        } else {
            fail(e.to_string())
        }
    };
    stream.set_nonblocking(false).map_err(io)?;

    let method = match opts.method {
        Method::Get => "GET",
        Method::Head => "HEAD",
    };
    let mut request = format!("{method} /readyz HTTP/1.0\r\nHost: localhost\r\n");
    for (k, v) in &opts.headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    let left = remaining(deadline).ok_or_else(|| timed_out(&shown, opts.timeout))?;
    stream.set_write_timeout(Some(left)).map_err(io)?;
    stream.write_all(request.as_bytes()).map_err(io)?;

    // Who listens, checked after the request went out (so that it is there when PID 1 accepts the
    // connection, and is answered then, whatever a flood holds) and before the answer is believed.
    // The kernel recorded the listener's pid at listen().
    peer::check(&stream).map_err(|why| Failure::Unhealthy(format!("{shown} {why}")))?;

    let mut response = Vec::new();
    let mut limited = (&mut stream).take(MAX_STATUS_RESPONSE);
    let mut chunk = [0u8; 1024];
    loop {
        let left = remaining(deadline).ok_or_else(|| timed_out(&shown, opts.timeout))?;
        limited.get_mut().set_read_timeout(Some(left)).map_err(io)?;
        match limited.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    let Some((code, body)) = parse_status_response(&response) else {
        return Err(fail("the answer is not HTTP".into()));
    };
    if opts.expect.matches(code) {
        return Ok(());
    }
    // `unready: WHY` puts the program's reason first: it is what `docker inspect` readers want.
    Err(Failure::Unhealthy(match body.split_once(": ") {
        Some((word, why)) => format!(
            "{word}: {why} ({shown} answered {code}, expected {})",
            opts.expect
        ),
        None => format!("{shown}: answered {code} {body}, expected {}", opts.expect),
    }))
}

/// Longest status socket body shown in the failure line.
const MAX_SHOWN_BODY: usize = 1024;

/// The status code of an HTTP/1.x response, and its body if it is one line of text (our server's
/// bodies are a word, and on the status socket a reason after it), for the failure line.
pub fn parse_status_response(buf: &[u8]) -> Option<(u16, String)> {
    let line_end = buf.iter().position(|&b| b == b'\n')?;
    let line = &buf[..line_end];
    let rest = line.strip_prefix(b"HTTP/1.")?;
    let code = rest.get(2..5)?;
    if !matches!(rest.first(), Some(b'0' | b'1')) || rest.get(1) != Some(&b' ') {
        return None;
    }
    if !code.iter().all(u8::is_ascii_digit) || rest.get(5).is_some_and(|&b| b != b' ' && b != b'\r')
    {
        return None;
    }
    let code = std::str::from_utf8(code).ok()?.parse().ok()?;
    let body = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| &buf[i + 4..])
        .unwrap_or_default();
    let text = std::str::from_utf8(body).unwrap_or_default();
    let line = if body.len() <= MAX_SHOWN_BODY && !text.chars().any(char::is_control) {
        text.to_string()
    } else {
        String::new()
    };
    Some((code, line))
}

fn check_exec(argv: &[String], timeout: Duration, deadline: Instant) -> Result<(), Failure> {
    let shown = format!("exec:{}", argv.join(","));
    let cannot_run = |why: String| Failure::Unhealthy(format!("cannot run {}: {why}", argv[0]));
    let pid = spawn_exec(argv).map_err(cannot_run)?;
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, 0)) => return Ok(()),
            Ok(WaitStatus::Exited(_, code)) => {
                return Err(Failure::Unhealthy(format!("{shown} exited with {code}")));
            }
            Ok(WaitStatus::Signaled(_, sig, _)) => {
                return Err(Failure::Unhealthy(format!(
                    "{shown} was killed by signal {}",
                    sig as i32
                )));
            }
            Ok(_) => {}
            Err(e) => {
                return Err(Failure::Unhealthy(format!("cannot wait for {shown}: {e}")));
            }
        }
        if remaining(deadline).is_none() {
            kill_group(pid);
            // Also the check itself, in case it left its group (setsid): the wait must not outlast it.
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = waitpid(pid, None);
            return Err(Failure::Unhealthy(format!(
                "{shown} did not finish within {}",
                secs(timeout)
            )));
        }
        std::thread::sleep(RETRY_STEP);
    }
}

/// Starts an exec check the way PID 1 starts programs (`sys::spawn`): in a process group of its
/// own, so that on timeout whatever it started dies with it; stdin from /dev/null; our environment
/// and signal mask. Not `std::process::Command`, whose machinery would add 40 KB to the binary for
/// this one call.
fn spawn_exec(argv: &[String]) -> Result<Pid, String> {
    let cstring =
        |s: &[u8]| CString::new(s).map_err(|_| "an argument contains a NUL byte".to_string());
    // Exec targets are absolute paths (checked when parsed): no PATH search.
    let paths = vec![cstring(argv[0].as_bytes())?];
    let args = argv
        .iter()
        .map(|a| cstring(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let envp = sys::environ(&[]).map_err(|e| e.to_string())?;
    let mask = sys::signal_mask().map_err(|e| e.to_string())?;
    let null = std::fs::File::open("/dev/null").map_err(|e| format!("/dev/null: {e}"))?;
    let mut plan = sys::ChildPlan::new(paths, args, envp, mask);
    plan.input = Some(null.as_raw_fd());
    sys::spawn(&mut plan)
        .map(Pid::from_raw)
        .map_err(|e| match e {
            // "cannot run PROGRAM: No such file or directory" says it all.
            sys::SpawnError::Step(sys::Step::Exec, errno) => {
                std::io::Error::from_raw_os_error(errno).to_string()
            }
            sys::SpawnError::Os(e) => e.to_string(),
            e => e.to_string(),
        })
}

fn kill_group(pid: Pid) {
    let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::thread;

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    fn opts(words: &[&str]) -> Options {
        match parse_args(args(words)) {
            Ok(Parsed::Run(o)) => o,
            other => panic!("{words:?}: {other:?}"),
        }
    }

    fn usage(words: &[&str]) -> String {
        match parse_args(args(words)) {
            Err(Failure::Usage(why)) => why,
            other => panic!("{words:?}: {other:?}"),
        }
    }

    fn unhealthy(r: Result<(), Failure>) -> String {
        match r {
            Err(Failure::Unhealthy(why)) => why,
            other => panic!("{other:?}"),
        }
    }

    /// Answers `count` connections with `response` after reading the request head, and
    /// sends each head it read back through the channel.
    fn serve(response: &'static [u8], count: usize) -> (u16, mpsc::Receiver<String>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for _ in 0..count {
                let (mut s, _) = l.accept().unwrap();
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && s.read(&mut b).unwrap_or(0) == 1 {
                    head.push(b[0]);
                }
                let _ = s.write_all(response);
                let _ = tx.send(String::from_utf8_lossy(&head).into_owned());
            }
        });
        (port, rx)
    }

    #[test]
    fn parses_options() {
        let o = opts(&[]);
        assert_eq!(o, Options::default());
        assert_eq!(o.timeout, Duration::from_secs(5));
        let o = opts(&[
            "--method",
            "head",
            "-H",
            "X-A: 1",
            "--header=Authorization:Bearer t",
            "--expect",
            "204",
            "-t",
            "750ms",
            "http://localhost:8080/ready",
        ]);
        assert_eq!(o.method, Method::Head);
        assert_eq!(
            o.headers,
            vec![
                ("X-A".to_string(), "1".to_string()),
                ("Authorization".to_string(), "Bearer t".to_string())
            ]
        );
        assert!(o.expect.matches(204) && !o.expect.matches(200));
        assert_eq!(o.timeout, Duration::from_millis(750));
        assert_eq!(
            o.target,
            Some(Target::Http {
                host: "localhost".into(),
                port: 8080,
                path: "/ready".into()
            })
        );
        assert_eq!(parse_args(args(&["--help"])), Ok(Parsed::Help));
        assert_eq!(parse_args(args(&["tcp://x:1", "-h"])), Ok(Parsed::Help));
    }

    #[test]
    fn usage_errors() {
        assert!(usage(&["--method", "POST"]).contains("only GET and HEAD"));
        assert!(usage(&["--header", "X-A: 1\r\nX-B: 2"]).contains("CR, LF"));
        assert!(usage(&["--header", "NoColon"]).contains("Name:value"));
        assert!(usage(&["--header", "Bad Name: x"]).contains("header name"));
        assert!(usage(&["--header", "X: a\u{7}"]).contains("control"));
        assert!(usage(&["--expect", "2xx"]).contains("invalid expected status"));
        assert!(usage(&["--timeout", "5"]).contains("--timeout"));
        assert!(usage(&["--timeout", "0"]).contains("more than 0"));
        assert!(usage(&["https://x/"]).contains("https is not supported"));
        assert!(usage(&["tcp://a:1", "tcp://b:2"]).contains("unexpected argument"));
        assert!(usage(&["--frobnicate"]).contains("--frobnicate"));
        assert!(usage(&["--timeout"]).contains("missing"));
        assert!(usage(&["-H", "A:b", "tcp://a:1"]).contains("HTTP checks only"));
        let many: Vec<&str> = std::iter::repeat_n(["-H", "A:b"], 33).flatten().collect();
        assert!(usage(&many).contains("32"));
        let f = Failure::Usage("x".into()).to_string();
        assert_eq!(f, "pidguard probe: x (see pidguard probe --help)");
    }

    #[test]
    fn main_exit_codes_are_0_and_1_never_2() {
        let main = |a| exit_code(a, |_| {});
        assert_eq!(main(args(&["--help"])), 0);
        assert_eq!(main(args(&["--bogus"])), 1);
        assert_eq!(main(args(&["not-a-url"])), 1);
        assert_eq!(main(args(&["exec:/bin/true"])), 0);
        assert_eq!(main(args(&["exec:/bin/sh,-c,exit 2"])), 1);
    }

    #[test]
    fn http_up() {
        let (port, rx) = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 1);
        let o = opts(&[
            "-H",
            "X-Probe: yes",
            &format!("http://localhost:{port}/healthz?a=1"),
        ]);
        assert_eq!(run(&o, "unused"), Ok(()));
        let head = rx.recv().unwrap();
        assert!(head.starts_with("GET /healthz?a=1 HTTP/1.1\r\n"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains(&format!("host: localhost:{port}\r\n")),
            "{head}"
        );
        assert!(
            head.contains("X-Probe: yes\r\n") || head.contains("x-probe: yes\r\n"),
            "{head}"
        );
    }

    #[test]
    fn http_head_and_redirect_is_an_answer() {
        let (port, rx) = serve(
            b"HTTP/1.1 302 Found\r\nLocation: http://elsewhere.invalid/\r\nContent-Length: 0\r\n\r\n",
            2,
        );
        let url = format!("http://127.0.0.1:{port}/");
        assert_eq!(run(&opts(&["--method", "HEAD", &url]), ""), Ok(()));
        assert!(rx.recv().unwrap().starts_with("HEAD / HTTP/1.1\r\n"));
        let why = unhealthy(run(&opts(&["--expect", "200", &url]), ""));
        assert_eq!(why, format!("GET {url}: 302, expected 200"));
    }

    #[test]
    fn http_wrong_status() {
        let (port, _rx) = serve(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown",
            1,
        );
        let url = format!("http://127.0.0.1:{port}/healthz");
        let why = unhealthy(run(&opts(&[&url]), ""));
        assert_eq!(why, format!("GET {url}: 503, expected 200-399"));
    }

    #[test]
    fn response_heads_up_to_the_limit_pass_and_larger_ones_say_so() {
        fn head_with(filler: usize) -> &'static [u8] {
            let head = format!(
                "HTTP/1.1 200 OK\r\nX-Filler: {}\r\nContent-Length: 2\r\n\r\nok",
                "a".repeat(filler)
            );
            Box::leak(head.into_bytes().into_boxed_slice())
        }
        let (port, _rx) = serve(head_with(PROBE_BUFFER - 100), 1);
        assert_eq!(
            run(&opts(&[&format!("http://127.0.0.1:{port}/")]), ""),
            Ok(())
        );
        let (port, _rx) = serve(head_with(PROBE_BUFFER + 100), 1);
        let why = unhealthy(run(&opts(&[&format!("http://127.0.0.1:{port}/")]), ""));
        assert!(why.contains("response header is too big"), "{why}");
    }

    #[test]
    fn http_and_tcp_down() {
        // Port 1 (tcpmux): nothing listens there, and unlike a port freed by a dropped listener,
        // the other tests' listeners cannot take it (ports are handed out from the ephemeral
        // range, 32768 and up), so the connection is reliably refused.
        let port = 1;
        let why = unhealthy(run(&opts(&[&format!("http://127.0.0.1:{port}/")]), ""));
        assert!(why.contains("refused"), "{why}");
        let why = unhealthy(run(&opts(&[&format!("tcp://127.0.0.1:{port}")]), ""));
        assert!(why.contains("refused"), "{why}");
        assert!(
            why.starts_with(&format!("cannot connect to tcp://127.0.0.1:{port}")),
            "{why}"
        );
    }

    #[test]
    fn localhost_is_ipv4_then_ipv6_as_curl_does() {
        // Only on [::1]: the IPv4 attempt is refused, the IPv6 one answers.
        let Ok(l) = TcpListener::bind("[::1]:0") else {
            panic!("this machine has no ::1 on lo; the probe's IPv6 fallback cannot be tested");
        };
        let port = l.local_addr().unwrap().port();
        assert_eq!(
            run(&opts(&[&format!("tcp://localhost:{port}")]), ""),
            Ok(())
        );
        // The first connection is the tcp:// check's, already queued; the second the GET.
        thread::spawn(move || {
            for _ in 0..2 {
                let (mut s, _) = l.accept().unwrap();
                let mut b = [0u8; 1024];
                let _ = s.read(&mut b);
                let _ = s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n");
            }
        });
        let url = format!("http://localhost:{port}/h");
        assert_eq!(run(&opts(&[&url]), ""), Ok(()));
        // Neither: both addresses are named in the failure.
        let why = unhealthy(run(&opts(&["http://localhost:1/"]), ""));
        assert!(why.contains("127.0.0.1:1, [::1]:1"), "{why}");
        assert!(why.starts_with("GET http://localhost:1/: cannot"), "{why}");
    }

    #[test]
    fn tcp_up() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert_eq!(
            run(&opts(&[&format!("tcp://localhost:{port}")]), ""),
            Ok(())
        );
    }

    #[test]
    fn http_timeout() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        // Connections complete in the backlog and are never answered.
        let url = format!("http://127.0.0.1:{port}/slow");
        let began = Instant::now();
        let why = unhealthy(run(&opts(&["--timeout", "300ms", &url]), ""));
        let took = began.elapsed();
        assert_eq!(why, format!("GET {url}: no answer within 300ms"));
        assert!(
            took >= Duration::from_millis(290) && took < Duration::from_secs(3),
            "{took:?}"
        );
        drop(l);
    }

    #[test]
    fn unresolvable_names_say_no_dns() {
        let why = unhealthy(run(&opts(&["http://no-such-host.invalid:80/"]), ""));
        assert!(why.contains("no DNS"), "{why}");
        assert!(why.contains("\"no-such-host.invalid\""), "{why}");
    }

    #[test]
    fn exec_checks() {
        assert_eq!(run(&opts(&["exec:/bin/true"]), ""), Ok(()));
        let why = unhealthy(run(&opts(&["exec:/bin/sh,-c,exit 3"]), ""));
        assert_eq!(why, "exec:/bin/sh,-c,exit 3 exited with 3");
        let why = unhealthy(run(&opts(&["exec:/nonexistent/check"]), ""));
        assert!(why.starts_with("cannot run /nonexistent/check"), "{why}");
        let began = Instant::now();
        let why = unhealthy(run(
            &opts(&["--timeout", "200ms", "exec:/bin/sh,-c,sleep 30 & sleep 30"]),
            "",
        ));
        assert!(why.ends_with("did not finish within 200ms"), "{why}");
        assert!(began.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn status_socket() {
        use crate::health::server::{self, Server, State, bind_status_socket};
        let name = format!("pidguard-probe-test-{}", std::process::id());
        let why = unhealthy(run(&opts(&[]), &name));
        assert!(why.contains("nothing listens there"), "{why}");

        let mut server = Server::new(vec![bind_status_socket(&name).unwrap()], false);
        let (tx, rx) = mpsc::channel::<(Options, mpsc::Sender<Result<(), Failure>>)>();
        let probe_name = name.clone();
        let prober = thread::spawn(move || {
            for (o, reply) in rx {
                reply.send(run(&o, &probe_name)).unwrap();
            }
        });
        let mut ask = |o: Options, state: State| {
            let (reply_tx, reply_rx) = mpsc::channel();
            tx.send((o, reply_tx)).unwrap();
            let until = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(r) = reply_rx.try_recv() {
                    return r;
                }
                assert!(Instant::now() < until);
                let mut fds = Vec::new();
                server.pollfds(&mut fds);
                let revents: Vec<libc::c_short> = {
                    let mut p: Vec<nix::poll::PollFd> = server
                        .borrowed_fds()
                        .into_iter()
                        .map(|(fd, ev)| {
                            nix::poll::PollFd::new(fd, nix::poll::PollFlags::from_bits_truncate(ev))
                        })
                        .collect();
                    nix::poll::poll(&mut p, nix::poll::PollTimeout::from(10u16)).unwrap();
                    p.iter()
                        .map(|p| p.revents().map_or(0, |r| r.bits()))
                        .collect()
                };
                for (f, r) in fds.iter_mut().zip(revents) {
                    f.revents = r;
                }
                server.on_ready(&fds, Instant::now(), &state, &|_| None);
            }
        };
        let ready = State {
            live: true,
            ready: true,
            ..State::default()
        };
        let unready = State {
            live: true,
            ready: false,
            ..State::default()
        };
        assert_eq!(ask(opts(&[]), ready), Ok(()));
        assert_eq!(ask(opts(&["--method", "HEAD"]), ready), Ok(()));
        let why = unhealthy(ask(opts(&[]), unready));
        assert_eq!(
            why,
            format!("pidguard's status socket @{name}: answered 503 unready, expected 200-399")
        );
        // The app check's reason comes first, as `docker inspect` will show it.
        let failing = State {
            reason: server::Line::new(
                "pidguard probe: unhealthy: GET http://127.0.0.1:8080/h: 404, expected 200-399",
            ),
            ..unready
        };
        let why = unhealthy(ask(opts(&[]), failing));
        assert_eq!(
            why,
            format!(
                "unready: GET http://127.0.0.1:8080/h: 404, expected 200-399 \
                 (pidguard's status socket @{name} answered 503, expected 200-399)"
            )
        );
        drop(tx);
        prober.join().unwrap();
    }

    #[test]
    fn status_socket_that_never_answers_times_out() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("pidguard-probe-silent-{}", std::process::id());
        let sa = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
        let _l = std::os::unix::net::UnixListener::bind_addr(&sa).unwrap();
        let began = Instant::now();
        let why = unhealthy(run(&opts(&["-t", "200ms"]), &name));
        assert_eq!(
            why,
            format!("no answer from pidguard's status socket @{name} within 200ms")
        );
        assert!(began.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            parse_status_response(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nok"),
            Some((200, "ok".into()))
        );
        assert_eq!(
            parse_status_response(b"HTTP/1.0 503\r\n\r\n"),
            Some((503, String::new()))
        );
        assert_eq!(
            parse_status_response(b"HTTP/1.1 503 X\r\n\r\nline one\nline two"),
            Some((503, String::new()))
        );
        assert_eq!(parse_status_response(b"HTTP/1.1 200 OK"), None);
        assert_eq!(parse_status_response(b"HTTP/2 200\r\n"), None);
        assert_eq!(parse_status_response(b"HTTP/1.1 2000\r\n"), None);
        assert_eq!(parse_status_response(b"HTTP/1.1 abc\r\n"), None);
        assert_eq!(parse_status_response(b""), None);
    }
}
