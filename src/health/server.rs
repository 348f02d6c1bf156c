//! The health endpoint's server, driven by PID 1's own poll() loop.
//!
//! PID 1 is single-threaded: one poll() over a signalfd and these sockets. Anything here that
//! blocked, or that let a client make PID 1 work without bound, would delay reaping and signal
//! forwarding for the whole container. So:
//! - every socket is non-blocking, and each wake does a bounded amount of work (one read or one
//!   write per ready connection, at most `MAX_ACCEPTS_PER_WAKE` accepts per listener);
//! - answers come from cached state (`State`, a metrics closure called only for `/metrics`); no
//!   request ever runs a check;
//! - memory is bounded: at most `MAX_CONNS` connections per listener (down to `MIN_CONNS` if
//!   RLIMIT_NOFILE is low, so that accept() does not fail for want of a descriptor), each with a head buffer that
//!   never grows past `http::MAX_HEAD`. The cap is per listener so that a flood on the public
//!   `--health-listen` port cannot starve the status socket, which only processes of the
//!   container's network namespace can reach;
//! - a flood cannot take the liveness probe away. Whoever holds connections open, a probe is
//!   answered: a connection is accepted and read at once, so a request that came with it is
//!   answered and closed without ever taking a slot. On `--health-listen`, `TCP_DEFER_ACCEPT`
//!   (nginx's `deferred`) makes that the rule: the kernel hands over a connection once its first
//!   bytes arrived, so idle connections wait in the kernel, not here (until the SYN queue
//!   overflows and SYN cookies, which cannot defer, take over). On the status socket the client is
//!   `pidguard probe`, which writes its request right behind its connect. A connection that needs
//!   a slot gets the one of the connection idle longest, which is closed to make room. Closing the
//!   newest instead (what this server did first) let 64 idle connections, re-opened when dropped,
//!   turn every probe away: now a flooder's connections are recycled oldest first, and a probe
//!   accepted before its request arrived, being the newest, is the last one at risk. It would take
//!   `MAX_CONNS - 1` newer connections before its request is read (ready connections are read
//!   before new ones are accepted, at most `MAX_ACCEPTS_PER_WAKE` per wake): at the ~8,000
//!   connections a second that a re-opening flood reaches per listener on loopback, that is 30 ms
//!   for the client to send ~80 bytes. With a cap of 64 it was 8 ms, and a curl starved of CPU by
//!   the flood missed it about once in 10 tries (tests/flood.rs);
//! - every connection has a deadline (`HEADER_TIMEOUT` to send its head, then `WRITE_TIMEOUT` to
//!   take the response); slowloris clients are dropped when it passes;
//! - the parser is re-run only when a line ends (or on the first packet, so junk gets a 400 at
//!   once), never per byte, so a one-byte-at-a-time client costs O(head) work, not O(head²);
//! - one request per connection, `Connection: close`; after the response the write side is shut
//!   down and unread input is drained briefly (a "lingering close", as Apache and nginx do), so a
//!   client that sent a body it was refused still reads its 413 instead of a reset;
//! - when idle (no connection open), `next_deadline` is None: no timer, no wake-ups.
//!
//! The two kinds of listener answer differently. `--health-listen` may be reachable from outside
//! the container, so its bodies are one word and say nothing about the program. The status socket
//! is the container's own (see `super::status_socket_name`): its `/readyz` also says why the
//! program is not ready (the last app check's reason), which `pidguard probe` prints and Docker
//! shows in `docker inspect`.
//!
//! The caller owns the loop: append `pollfds`, poll, then call `on_ready` after every return of
//! poll(), timeouts included (that is when deadlines are enforced).

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, Shutdown, recv, send, shutdown};

use super::http::{self, Method, Parse};

/// Open connections kept at once per listener; a new one beyond that takes the slot of the one idle
/// longest. 2 x 256 descriptors and at most 2 x 256 x 8 KiB of request heads.
pub const MAX_CONNS: usize = 256;
/// The fewest connections kept per listener: `harden` refuses an RLIMIT_NOFILE that leaves PID 1
/// less than that (`harden::plan::pid1_min_nofile`).
pub const MIN_CONNS: usize = 64;
/// Descriptors left to the rest of PID 1 (signalfd, listeners, check pipes, /proc reads) when the
/// cap is derived from RLIMIT_NOFILE.
const RESERVED_FDS: usize = 32;
/// Time a client has from connecting to the end of its request head.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a client has to take the response once it is ready.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Time given to a client to close after it got its response, and the most input drained then.
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(1);
const MAX_DRAIN: usize = 64 * 1024;
/// Accepts per listener per wake, so that a connection flood cannot starve the signalfd, and so
/// that a flood needs several wakes to push a just-accepted connection out (module essay).
pub const MAX_ACCEPTS_PER_WAKE: usize = 16;
/// How long a listener is left out of poll() after accept() fails for lack of resources (EMFILE):
/// the pending connection stays readable, and polling it again at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(200);
/// Longest abstract socket name (sun_path is 108 bytes, one taken by the leading NUL).
pub const MAX_SOCKET_NAME: usize = 107;

/// What the endpoints report; PID 1 updates it, requests only read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct State {
    /// `/healthz`: pidguard is supervising (not shutting down, not given up).
    pub live: bool,
    /// `/readyz`: the program is up and its checks pass.
    pub ready: bool,
    /// Why the program is not ready, one line (the last app check's output when checks fail);
    /// empty when there is nothing to add. Only the status socket tells it.
    pub reason: Line,
}

/// Longest `State::reason`, in bytes.
pub const MAX_REASON: usize = 512;

/// One line of text in a fixed buffer: `State` stays `Copy`, and PID 1 fills it every loop without
/// allocating. Longer text is cut at a character boundary; control characters become spaces, so
/// the line cannot end the answer early or forge another line.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Line {
    bytes: [u8; MAX_REASON],
    len: u16,
}

impl Line {
    pub fn new(text: &str) -> Line {
        let mut line = Line::default();
        for c in text.trim().chars() {
            let c = if c.is_control() { ' ' } else { c };
            let mut utf8 = [0u8; 4];
            let c = c.encode_utf8(&mut utf8).as_bytes();
            let at = usize::from(line.len);
            let end = at + c.len();
            let Ok(len) = u16::try_from(end) else { break };
            if end > MAX_REASON {
                break;
            }
            line.bytes[at..end].copy_from_slice(c);
            line.len = len;
        }
        line
    }

    pub fn as_str(&self) -> &str {
        // Only whole characters are ever copied in.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for Line {
    fn default() -> Self {
        Line {
            bytes: [0; MAX_REASON],
            len: 0,
        }
    }
}

impl fmt::Debug for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[derive(Debug)]
pub enum Error {
    Address { text: String, why: &'static str },
    Listen { what: String, err: io::Error },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Address { text, why } => write!(
                f,
                "invalid listen address {text:?}: {why} (write e.g. 0.0.0.0:8081, [::]:8081 or :8081)"
            ),
            Error::Listen { what, err } => write!(f, "cannot listen on {what}: {err}"),
        }
    }
}

impl std::error::Error for Error {}

/// A bound, listening, non-blocking, close-on-exec socket.
#[derive(Debug)]
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    /// The status socket (abstract unix) rather than `--health-listen`.
    fn is_status_socket(&self) -> bool {
        matches!(self, Listener::Unix(_))
    }

    fn accept(&self) -> io::Result<OwnedFd> {
        crate::sys::accept_nonblocking(self.raw())
    }

    fn raw(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Listener::Tcp(l) => l.as_fd(),
            Listener::Unix(l) => l.as_fd(),
        }
    }
}

/// Parses `IP:PORT`, `[IPv6]:PORT` or `:PORT` (all IPv4 interfaces). Names are refused: there is
/// no resolver, and a listen address should not depend on one.
pub fn parse_listen_addr(text: &str) -> Result<SocketAddr, Error> {
    let err = |why| Error::Address {
        text: text.chars().take(100).collect(),
        why,
    };
    if let Some(port) = text.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| err("the port is not a number"))?;
        return Ok(SocketAddr::from(([0, 0, 0, 0], port)));
    }
    text.parse()
        .map_err(|_| err("it is not IP:PORT (host names are not resolved)"))
}

/// Binds the HTTP listener for orchestrators (`--health-listen`).
pub fn bind_tcp(addr: &str) -> Result<Listener, Error> {
    let sa = parse_listen_addr(addr)?;
    let fail = |err| Error::Listen {
        what: sa.to_string(),
        err,
    };
    // std sets SO_REUSEADDR (a restarted container rebinds at once) and CLOEXEC.
    let l = TcpListener::bind(sa).map_err(fail)?;
    l.set_nonblocking(true).map_err(fail)?;
    // Connections that send nothing stay in the kernel (nginx's `listen ... deferred`): an idle
    // flood costs no slot, and a probe's request is there when it is accepted, so it is answered
    // at once (module essay).
    let secs = libc::c_int::try_from(HEADER_TIMEOUT.as_secs()).unwrap_or(libc::c_int::MAX);
    crate::sys::tcp_defer_accept(l.as_raw_fd(), secs).map_err(fail)?;
    Ok(Listener::Tcp(l))
}

/// Binds the status socket `pidguard probe` talks to: an abstract unix socket, so it needs no
/// writable path and shares no port with the app. Abstract sockets belong to the network
/// namespace, so two pidguards sharing one (containers of one Kubernetes pod) need distinct names.
pub fn bind_status_socket(name: &str) -> Result<Listener, Error> {
    let what = format!("abstract unix socket @{name}");
    let fail = |err| Error::Listen {
        what: what.clone(),
        err,
    };
    if name.is_empty() || name.len() > MAX_SOCKET_NAME || name.contains('\0') {
        return Err(fail(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the name must be 1 to 107 bytes without NUL",
        )));
    }
    let sa = std::os::unix::net::SocketAddr::from_abstract_name(name).map_err(fail)?;
    let l = UnixListener::bind_addr(&sa).map_err(fail)?;
    l.set_nonblocking(true).map_err(fail)?;
    Ok(Listener::Unix(l))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Reading,
    Writing,
    Draining,
}

#[derive(Debug)]
struct Conn {
    fd: OwnedFd,
    /// Index of the listener it came from, for the per-listener cap.
    listener: usize,
    /// Came from the status socket, which only the container's own processes reach: may say more
    /// than one word.
    private: bool,
    phase: Phase,
    deadline: Instant,
    /// Request head so far; never longer than `http::MAX_HEAD`. Freed once parsed.
    head: Vec<u8>,
    out: Vec<u8>,
    written: usize,
    drained: usize,
    /// Drain before closing: the client may still be sending (an error answer, or bytes after the
    /// head). A complete GET or HEAD closes at once: with nothing unread, close sends a FIN, not a
    /// reset, and the connection's slot is free for the next client.
    linger: bool,
    /// Last time bytes moved either way, and the accept order to break ties: the connection with
    /// the smallest pair is the one idle longest, closed when a new one needs its slot.
    active: (Instant, u64),
}

#[derive(Debug)]
struct Listening {
    listener: Listener,
    paused_until: Option<Instant>,
}

#[derive(Debug)]
pub struct Server {
    listeners: Vec<Listening>,
    conns: Vec<Conn>,
    metrics_enabled: bool,
    /// Connections accepted so far, for `Conn::active`.
    accepted: u64,
    /// Connections closed to make room for a newer one, for tests and logs.
    evicted: u64,
    /// Connections kept per listener: `MAX_CONNS`, or fewer if RLIMIT_NOFILE is low.
    cap: usize,
}

/// What a connection wants after an event.
enum Next {
    Keep,
    Close,
}

impl Server {
    pub fn new(listeners: Vec<Listener>, metrics_enabled: bool) -> Self {
        let listeners_len = listeners.len();
        Server {
            listeners: listeners
                .into_iter()
                .map(|listener| Listening {
                    listener,
                    paused_until: None,
                })
                .collect(),
            conns: Vec::new(),
            metrics_enabled,
            accepted: 0,
            evicted: 0,
            cap: conn_cap(listeners_len),
        }
    }

    /// Open connections, for tests and logs.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Connections closed so far because a newer one needed their slot.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Appends the sockets to watch; the caller polls them with its own fds.
    pub fn pollfds(&self, out: &mut Vec<libc::pollfd>) {
        for (fd, events) in self.borrowed_fds() {
            out.push(pollfd(fd.as_raw_fd(), events));
        }
    }

    /// The same sockets and events as `pollfds`, in the same order, borrowed: lets a caller poll
    /// through nix without unsafe code (the tests do).
    pub fn borrowed_fds(&self) -> Vec<(BorrowedFd<'_>, libc::c_short)> {
        let listeners = self
            .listeners
            .iter()
            .filter(|l| l.paused_until.is_none())
            .map(|l| (l.listener.as_fd(), libc::POLLIN));
        let conns = self.conns.iter().map(|c| {
            let events = match c.phase {
                Phase::Reading | Phase::Draining => libc::POLLIN,
                Phase::Writing => libc::POLLOUT,
            };
            (c.fd.as_fd(), events)
        });
        listeners.chain(conns).collect()
    }

    /// When `on_ready` must run even if no fd is ready; None when idle.
    pub fn next_deadline(&self) -> Option<Instant> {
        let conns = self.conns.iter().map(|c| c.deadline);
        let paused = self.listeners.iter().filter_map(|l| l.paused_until);
        conns.chain(paused).min()
    }

    /// Handles whatever `fds` (the caller's whole poll set, in any order) reports for this
    /// server's sockets, then enforces deadlines. Call after every poll() return.
    pub fn on_ready(
        &mut self,
        fds: &[libc::pollfd],
        now: Instant,
        state: &State,
        bodies: &dyn Fn(&str) -> Option<String>,
    ) {
        // Connections first, listeners after: a connection closed here frees an fd number that an
        // accept below may reuse, and the stale pollfd entry must not be read as the new one's.
        let mut i = 0;
        while i < self.conns.len() {
            let fd = self.conns[i].fd.as_raw_fd();
            let revents = fds.iter().find(|p| p.fd == fd).map_or(0, |p| p.revents);
            let next = if revents != 0 {
                self.conns[i].on_event(now, state, self.metrics_enabled, bodies)
            } else {
                Next::Keep
            };
            match next {
                Next::Close => {
                    self.conns.swap_remove(i);
                }
                Next::Keep => i += 1,
            }
        }

        for l in 0..self.listeners.len() {
            let listening = &mut self.listeners[l];
            if let Some(until) = listening.paused_until {
                if now >= until {
                    listening.paused_until = None;
                }
                continue;
            }
            let fd = listening.listener.raw();
            if fds.iter().any(|p| p.fd == fd && p.revents != 0) {
                self.accept_from(l, now, state, bodies);
            }
        }

        // Slow or stuck clients; dropping the fd closes it.
        self.conns.retain(|c| c.deadline > now);
    }

    fn accept_from(
        &mut self,
        l: usize,
        now: Instant,
        state: &State,
        bodies: &dyn Fn(&str) -> Option<String>,
    ) {
        for _ in 0..MAX_ACCEPTS_PER_WAKE {
            match self.listeners[l].listener.accept() {
                Ok(fd) => {
                    self.accepted += 1;
                    let mut conn = Conn {
                        fd,
                        listener: l,
                        private: self.listeners[l].listener.is_status_socket(),
                        phase: Phase::Reading,
                        deadline: now + HEADER_TIMEOUT,
                        head: Vec::new(),
                        out: Vec::new(),
                        written: 0,
                        drained: 0,
                        linger: true,
                        active: (now, self.accepted),
                    };
                    // A client usually sends its request right behind the handshake: answer it
                    // now, whatever the count, rather than after one more trip through poll()
                    // (EAGAIN costs one recv). Only a connection that stays needs a slot.
                    if let Next::Keep = conn.on_event(now, state, self.metrics_enabled, bodies) {
                        self.make_room(l);
                        self.conns.push(conn);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // The peer gave up between SYN and accept, or a signal arrived: try the next one.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ECONNABORTED | libc::EINTR | libc::EPROTO)
                    ) => {}
                // EMFILE, ENFILE, ENOBUFS, ENOMEM: the connection stays queued and the listener
                // stays readable; back off instead of spinning on it.
                Err(e) => {
                    // Said each time (the log folds repeats into one summary line), because a
                    // probe turned away here looks like an unhealthy program from outside.
                    crate::warn!(
                        "health endpoint: cannot accept a connection: {e}; trying again in 200ms \
                         (EMFILE/ENFILE: PID 1 is out of descriptors, raise RLIMIT_NOFILE with \
                         docker run --ulimit nofile=N or --rlimit nofile=N)"
                    );
                    self.listeners[l].paused_until = Some(now + ACCEPT_BACKOFF);
                    return;
                }
            }
        }
    }
}

impl Server {
    /// Keeps listener `l` under the cap by closing its connection idle longest.
    fn make_room(&mut self, l: usize) {
        let mut count = 0;
        let mut idlest: Option<usize> = None;
        for (i, c) in self.conns.iter().enumerate() {
            if c.listener != l {
                continue;
            }
            count += 1;
            if idlest.is_none_or(|j| c.active < self.conns[j].active) {
                idlest = Some(i);
            }
        }
        if count >= self.cap
            && let Some(i) = idlest
        {
            self.conns.swap_remove(i);
            self.evicted += 1;
        }
    }
}

/// What the soft RLIMIT_NOFILE leaves for each of `listeners` after `RESERVED_FDS`, between
/// `MIN_CONNS` (which `harden` made sure fits) and `MAX_CONNS`: a connection is then not refused by
/// accept() for want of a descriptor, which would pause the listener and turn probes away.
fn conn_cap(listeners: usize) -> usize {
    use nix::sys::resource::{Resource, getrlimit};
    let soft = getrlimit(Resource::RLIMIT_NOFILE).map_or(u64::MAX, |(soft, _)| soft);
    let spare = usize::try_from(soft)
        .unwrap_or(usize::MAX)
        .saturating_sub(RESERVED_FDS);
    (spare / listeners.max(1)).clamp(MIN_CONNS, MAX_CONNS)
}

fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

impl Conn {
    fn on_event(
        &mut self,
        now: Instant,
        state: &State,
        metrics_enabled: bool,
        bodies: &dyn Fn(&str) -> Option<String>,
    ) -> Next {
        match self.phase {
            Phase::Reading => self.read_head(now, state, metrics_enabled, bodies),
            Phase::Writing => self.write_out(now),
            Phase::Draining => self.drain(now),
        }
    }

    fn read_head(
        &mut self,
        now: Instant,
        state: &State,
        metrics_enabled: bool,
        bodies: &dyn Fn(&str) -> Option<String>,
    ) -> Next {
        let mut chunk = [0u8; 2048];
        let room = http::MAX_HEAD - self.head.len();
        let n = match recv(self.fd.as_raw_fd(), &mut chunk[..room.min(2048)], flags()) {
            Ok(0) => return Next::Close,
            Ok(n) => n,
            Err(Errno::EAGAIN | Errno::EINTR) => return Next::Keep,
            Err(_) => return Next::Close,
        };
        self.active.0 = now;
        let first = self.head.is_empty();
        self.head.extend_from_slice(&chunk[..n]);
        let line_ended = chunk[..n].contains(&b'\n');
        if !(first || line_ended || self.head.len() >= http::MAX_HEAD) {
            return Next::Keep;
        }
        let (status, body, content_type, head_only) = match http::parse_request_head(&self.head) {
            Parse::Incomplete => return Next::Keep,
            Parse::Error(s) => (
                s.code(),
                http::error_word(s.code()).into(),
                http::TEXT,
                false,
            ),
            Parse::Done(req) => {
                self.linger = self.head.len() > req.head_len;
                let head_only = req.method == Method::Head;
                // Asked only for /status, which tells who the program is (super::status).
                let inside = self.private
                    && req.path.starts_with(super::status::PATH)
                    && same_pid_namespace(&self.fd);
                let (status, body, ct) = route(
                    &req.path,
                    state,
                    metrics_enabled,
                    self.private,
                    inside,
                    bodies,
                );
                (status, body, ct, head_only)
            }
        };
        self.head = Vec::new();
        self.out = http::response_with_type(status, content_type, &body, head_only);
        self.phase = Phase::Writing;
        self.deadline = now + WRITE_TIMEOUT;
        // The socket is almost always writable; answering now saves a trip through poll().
        self.write_out(now)
    }

    fn write_out(&mut self, now: Instant) -> Next {
        while self.written < self.out.len() {
            match send(
                self.fd.as_raw_fd(),
                &self.out[self.written..],
                flags() | MsgFlags::MSG_NOSIGNAL,
            ) {
                Ok(n) => {
                    self.written += n;
                    self.active.0 = now;
                }
                Err(Errno::EAGAIN | Errno::EINTR) => return Next::Keep,
                Err(_) => return Next::Close,
            }
        }
        self.out = Vec::new();
        if !self.linger || shutdown(self.fd.as_raw_fd(), Shutdown::Write).is_err() {
            return Next::Close;
        }
        self.phase = Phase::Draining;
        self.deadline = self.deadline.min(now + LINGER_TIMEOUT);
        // The client may well have closed already.
        self.drain(now)
    }

    fn drain(&mut self, now: Instant) -> Next {
        let mut sink = [0u8; 2048];
        match recv(self.fd.as_raw_fd(), &mut sink, flags()) {
            Ok(0) => Next::Close,
            Ok(n) => {
                self.drained += n;
                self.active.0 = now;
                if self.drained > MAX_DRAIN {
                    Next::Close
                } else {
                    Next::Keep
                }
            }
            Err(Errno::EAGAIN | Errno::EINTR) => Next::Keep,
            Err(_) => Next::Close,
        }
    }
}

fn flags() -> MsgFlags {
    MsgFlags::MSG_DONTWAIT
}

/// The three endpoints. Bodies are one word: nothing about the host, the program or its errors;
/// except on the status socket (`private`), where a 503 `/readyz` says why after the word, and
/// `/seccomp/recorded` (the profile `--seccomp-record` is recording) is served: it describes the
/// program, which is nobody's business outside the container. `/status` and `/status/text`
/// (`pidguard status`) are served there too, and only to a client of PID 1's own PID namespace
/// (`inside`), since they tell the program's command line and identity: anyone else gets 403.
/// `bodies` gives the body of `/metrics` and of those paths (None: not recording, 404).
fn route(
    path: &str,
    state: &State,
    metrics_enabled: bool,
    private: bool,
    inside: bool,
    bodies: &dyn Fn(&str) -> Option<String>,
) -> (u16, String, &'static str) {
    let word = |ok: bool, bad: &str| {
        if ok {
            (200, "ok".to_string(), http::TEXT)
        } else {
            (503, bad.to_string(), http::TEXT)
        }
    };
    match path {
        "/healthz" => word(state.live, "unhealthy"),
        "/readyz" if !state.ready && private && !state.reason.is_empty() => (
            503,
            format!("unready: {}", super::check_reason(state.reason.as_str())),
            http::TEXT,
        ),
        "/readyz" => word(state.ready, "unready"),
        "/metrics" if metrics_enabled => (200, bodies(path).unwrap_or_default(), http::METRICS),
        super::RECORDED_PATH if private => match bodies(path) {
            Some(profile) => (200, profile, "application/json"),
            None => (404, http::error_word(404).to_string(), http::TEXT),
        },
        super::status::PATH | super::status::TEXT_PATH if private && !inside => {
            (403, http::error_word(403).to_string(), http::TEXT)
        }
        super::status::PATH | super::status::TEXT_PATH if private => match bodies(path) {
            Some(body) if path == super::status::PATH => (200, body, "application/json"),
            Some(body) => (200, body, http::TEXT),
            None => (404, http::error_word(404).to_string(), http::TEXT),
        },
        _ => (404, http::error_word(404).to_string(), http::TEXT),
    }
}

/// Whether the client of a status-socket connection is in PID 1's own PID namespace (or one
/// nested in it): `SO_PEERCRED` translates its pid into ours, and gives 0 for a process we cannot
/// see, such as a sidecar that shares only the network namespace (unix(7)). Fails closed.
fn same_pid_namespace(fd: &OwnedFd) -> bool {
    use nix::sys::socket::{getsockopt, sockopt};
    getsockopt(fd, sockopt::PeerCredentials).is_ok_and(|c| c.pid() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread;

    /// A server running its own poll loop on a thread, as PID 1 would.
    struct Running {
        addr: SocketAddr,
        state: Arc<Mutex<State>>,
        stop: Arc<AtomicBool>,
        conns: Arc<Mutex<usize>>,
        /// Loop iterations of the server thread, to know when a new state is in use.
        loops: Arc<AtomicUsize>,
        handle: Option<thread::JoinHandle<()>>,
    }

    impl Running {
        /// Sets the state and waits until every connection accepted from now on sees it: the
        /// server thread takes its snapshot once per iteration, and answers whatever it accepts
        /// in that iteration from it, so the iteration running now may still use the old one.
        fn set_state(&self, st: State) {
            *self.state.lock().unwrap() = st;
            let seen = self.loops.load(Ordering::SeqCst);
            wait_for(|| self.loops.load(Ordering::SeqCst) >= seen + 2);
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::SeqCst);
            if let Some(h) = self.handle.take() {
                h.join().unwrap();
            }
        }
    }

    fn start(extra: Vec<Listener>, metrics_enabled: bool) -> Running {
        start_with(extra, metrics_enabled, "m 1\n".to_string())
    }

    fn start_with(extra: Vec<Listener>, metrics_enabled: bool, metrics_body: String) -> Running {
        let tcp = bind_tcp("127.0.0.1:0").unwrap();
        let addr = match &tcp {
            Listener::Tcp(l) => l.local_addr().unwrap(),
            Listener::Unix(_) => unreachable!(),
        };
        let mut listeners = vec![tcp];
        listeners.extend(extra);
        let state = Arc::new(Mutex::new(State {
            live: true,
            ready: false,
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Mutex::new(0));
        let loops = Arc::new(AtomicUsize::new(0));
        let handle = {
            let (state, stop, conns, loops) =
                (state.clone(), stop.clone(), conns.clone(), loops.clone());
            thread::spawn(move || {
                let mut server = Server::new(listeners, metrics_enabled);
                let mut fds = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    fds.clear();
                    server.pollfds(&mut fds);
                    // The real loop polls with an infinite timeout when next_deadline() is None;
                    // the test loop caps it so that it notices `stop`.
                    let timeout = server
                        .next_deadline()
                        .map(|d| d.saturating_duration_since(Instant::now()))
                        .unwrap_or(Duration::from_millis(20))
                        .min(Duration::from_millis(20));
                    let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
                    let revents: Vec<libc::c_short> = {
                        let mut pfds: Vec<nix::poll::PollFd> = server
                            .borrowed_fds()
                            .into_iter()
                            .map(|(fd, ev)| {
                                nix::poll::PollFd::new(
                                    fd,
                                    nix::poll::PollFlags::from_bits_truncate(ev),
                                )
                            })
                            .collect();
                        nix::poll::poll(&mut pfds, nix::poll::PollTimeout::from(ms)).unwrap();
                        pfds.iter()
                            .map(|p| p.revents().map_or(0, |r| r.bits()))
                            .collect()
                    };
                    for (p, r) in fds.iter_mut().zip(revents) {
                        p.revents = r;
                    }
                    let st = *state.lock().unwrap();
                    server.on_ready(&fds, Instant::now(), &st, &|_| Some(metrics_body.clone()));
                    *conns.lock().unwrap() = server.connections();
                    loops.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        Running {
            addr,
            state,
            stop,
            conns,
            loops,
            handle: Some(handle),
        }
    }

    fn exchange(addr: SocketAddr, request: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    fn status_of(resp: &str) -> u16 {
        resp.split(' ').nth(1).unwrap().parse().unwrap()
    }

    fn body_of(resp: &str) -> &str {
        resp.split_once("\r\n\r\n").unwrap().1
    }

    fn wait_for(mut cond: impl FnMut() -> bool) {
        let until = Instant::now() + Duration::from_secs(10);
        while !cond() {
            assert!(Instant::now() < until, "condition not reached");
            thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn endpoints_follow_state() {
        let r = start(vec![], true);
        let get = |path: &str| {
            exchange(
                r.addr,
                format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
            )
        };
        let resp = get("/healthz");
        assert_eq!(status_of(&resp), 200);
        assert_eq!(body_of(&resp), "ok");
        assert!(resp.contains("\r\nConnection: close\r\n"));
        let resp = get("/readyz");
        assert_eq!((status_of(&resp), body_of(&resp)), (503, "unready"));

        r.set_state(State {
            live: false,
            ready: true,
            ..State::default()
        });
        let resp = get("/healthz");
        assert_eq!((status_of(&resp), body_of(&resp)), (503, "unhealthy"));
        let resp = get("/readyz?x=1");
        assert_eq!((status_of(&resp), body_of(&resp)), (200, "ok"));

        let resp = get("/metrics");
        assert_eq!(status_of(&resp), 200);
        assert_eq!(body_of(&resp), "m 1\n");
        assert!(resp.contains("version=0.0.4"));

        let resp = exchange(r.addr, b"HEAD /readyz HTTP/1.0\r\n\r\n");
        assert_eq!(status_of(&resp), 200);
        assert_eq!(body_of(&resp), "");
        assert!(resp.contains("Content-Length: 2\r\n"));
    }

    #[test]
    fn errors_404_405_413_431_400() {
        let r = start(vec![], false);
        let resp = exchange(r.addr, b"GET /metrics HTTP/1.1\r\n\r\n");
        assert_eq!(status_of(&resp), 404, "metrics disabled");
        let resp = exchange(r.addr, b"GET /nope HTTP/1.1\r\n\r\n");
        assert_eq!((status_of(&resp), body_of(&resp)), (404, "not-found"));
        let resp = exchange(r.addr, b"DELETE /healthz HTTP/1.1\r\n\r\n");
        assert_eq!(status_of(&resp), 405);
        assert!(resp.contains("Allow: GET, HEAD"));
        let resp = exchange(
            r.addr,
            b"GET /healthz HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        );
        assert_eq!(status_of(&resp), 413, "{resp}");
        let mut big = b"GET /healthz HTTP/1.1\r\nX: ".to_vec();
        big.resize(20_000, b'a');
        let resp = exchange(r.addr, &big);
        assert_eq!(status_of(&resp), 431, "{resp}");
        let resp = exchange(r.addr, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03");
        assert_eq!(status_of(&resp), 400, "TLS hello answered at once");
    }

    #[test]
    fn request_split_into_single_bytes() {
        let r = start(vec![], false);
        let mut s = TcpStream::connect(r.addr).unwrap();
        s.set_nodelay(true).unwrap();
        for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" {
            s.write_all(&[*b]).unwrap();
            thread::sleep(Duration::from_millis(1));
        }
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert_eq!(status_of(&out), 200);
    }

    #[test]
    fn status_socket_serves_the_same_endpoints() {
        let name = format!("pidguard-test-{}-{:?}", std::process::id(), Instant::now());
        let unix = bind_status_socket(&name).unwrap();
        let r = start(vec![unix], false);
        r.set_state(State {
            live: true,
            ready: true,
            ..State::default()
        });
        let sa = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
        let mut s = UnixStream::connect_addr(&sa).unwrap();
        s.write_all(b"GET /readyz HTTP/1.0\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert_eq!((status_of(&out), body_of(&out)), (200, "ok"));
        let again = bind_status_socket(&name).unwrap_err().to_string();
        assert!(
            again.contains(&format!("@{name}")) && again.contains("in use"),
            "{again}"
        );
    }

    #[test]
    fn slow_clients_time_out() {
        let r = start(vec![], false);
        let began = Instant::now();
        let mut s = TcpStream::connect(r.addr).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
        s.set_read_timeout(Some(HEADER_TIMEOUT * 3)).unwrap();
        let mut out = Vec::new();
        // Closed by the server without an answer once HEADER_TIMEOUT has passed.
        let n = s.read_to_end(&mut out).unwrap_or(0);
        let took = began.elapsed();
        assert_eq!(n, 0);
        assert!(
            took >= HEADER_TIMEOUT - Duration::from_millis(50),
            "{took:?}"
        );
        assert!(took < HEADER_TIMEOUT + Duration::from_secs(2), "{took:?}");
        wait_for(|| *r.conns.lock().unwrap() == 0);
    }

    #[test]
    fn a_full_server_closes_the_connection_idle_longest_and_still_answers() {
        let r = start(vec![], false);
        let cap = conn_cap(1);
        // Each sends the start of a request (an idle one would stay in the kernel: TCP_DEFER_ACCEPT).
        let mut held: Vec<TcpStream> = (0..cap)
            .map(|_| {
                let mut s = TcpStream::connect(r.addr).unwrap();
                s.write_all(b"GET /").unwrap();
                s
            })
            .collect();
        wait_for(|| *r.conns.lock().unwrap() == cap);
        // The first one sends more, so it is no longer the one idle longest: the second is.
        thread::sleep(Duration::from_millis(50));
        held[0].write_all(b"h").unwrap();
        thread::sleep(Duration::from_millis(50));

        // A request that comes with its connection is answered whatever the count.
        let resp = exchange(r.addr, b"GET /healthz HTTP/1.1\r\n\r\n");
        assert_eq!(status_of(&resp), 200);
        assert_eq!(*r.conns.lock().unwrap(), cap);

        // One that needs a slot takes the idlest's, not the newest's: the newcomer is kept.
        let mut newcomer = TcpStream::connect(r.addr).unwrap();
        newcomer.write_all(b"GET /heal").unwrap();
        let mut buf = [0u8; 16];
        held[1]
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(held[1].read(&mut buf).unwrap_or(0), 0, "idlest closed");
        assert_eq!(*r.conns.lock().unwrap(), cap);
        newcomer.write_all(b"thz HTTP/1.1\r\n\r\n").unwrap();
        let mut out = String::new();
        newcomer.read_to_string(&mut out).unwrap();
        assert_eq!(status_of(&out), 200);
        // The one that had sent more is still open.
        held[0].set_nonblocking(true).unwrap();
        let e = held[0].read(&mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        drop(held);
        wait_for(|| *r.conns.lock().unwrap() == 0);
    }

    #[test]
    fn only_the_status_socket_says_why_not_ready() {
        let name = format!(
            "pidguard-test-why-{}-{:?}",
            std::process::id(),
            Instant::now()
        );
        let r = start(vec![bind_status_socket(&name).unwrap()], false);
        r.set_state(State {
            live: true,
            ready: false,
            reason: Line::new(
                "pidguard probe: unhealthy: GET http://127.0.0.1:8080/h: 404\r\nX: y",
            ),
        });
        let sa = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
        let mut s = UnixStream::connect_addr(&sa).unwrap();
        s.write_all(b"GET /readyz HTTP/1.0\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert_eq!(
            (status_of(&out), body_of(&out)),
            (503, "unready: GET http://127.0.0.1:8080/h: 404  X: y")
        );
        let resp = exchange(r.addr, b"GET /readyz HTTP/1.0\r\n\r\n");
        assert_eq!((status_of(&resp), body_of(&resp)), (503, "unready"));
    }

    #[test]
    fn reason_lines_are_bounded_and_cut_at_characters() {
        let long = "é".repeat(MAX_REASON);
        let line = Line::new(&long);
        assert_eq!(line.as_str().len(), MAX_REASON);
        assert!(line.as_str().chars().all(|c| c == 'é'));
        assert_eq!(Line::new("  a\tb\n").as_str(), "a b");
        assert!(Line::default().is_empty());
    }

    #[test]
    fn large_responses_are_written_in_pieces_without_blocking_others() {
        const BIG: usize = 8 << 20;
        let r = start_with(vec![], true, "x".repeat(BIG));
        let mut slow = TcpStream::connect(r.addr).unwrap();
        slow.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").unwrap();
        // While the big answer waits for this reader, others are served.
        thread::sleep(Duration::from_millis(200));
        let resp = exchange(r.addr, b"GET /healthz HTTP/1.1\r\n\r\n");
        assert_eq!(status_of(&resp), 200);
        let mut out = String::new();
        slow.read_to_string(&mut out).unwrap();
        assert_eq!(status_of(&out), 200);
        assert_eq!(body_of(&out).len(), BIG);
        assert!(out.contains(&format!("Content-Length: {BIG}\r\n")));
    }

    #[test]
    fn a_client_that_never_reads_is_dropped() {
        let r = start_with(vec![], true, "x".repeat(32 << 20));
        let began = Instant::now();
        let mut s = TcpStream::connect(r.addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").unwrap();
        wait_for(|| *r.conns.lock().unwrap() == 1);
        wait_for(|| *r.conns.lock().unwrap() == 0);
        let took = began.elapsed();
        assert!(
            took >= WRITE_TIMEOUT - Duration::from_millis(50),
            "{took:?}"
        );
        drop(s);
    }

    #[test]
    fn idle_server_has_no_deadline() {
        let l = bind_tcp("127.0.0.1:0").unwrap();
        let addr = match &l {
            Listener::Tcp(l) => l.local_addr().unwrap(),
            Listener::Unix(_) => unreachable!(),
        };
        let mut server = Server::new(vec![l], false);
        assert_eq!(server.next_deadline(), None);
        let mut fds = Vec::new();
        server.pollfds(&mut fds);
        assert_eq!(fds.len(), 1);
        assert_eq!(fds[0].events, libc::POLLIN);

        let mut client = TcpStream::connect(addr).unwrap();
        // Unrelated fds in the caller's set are ignored.
        let mut all = vec![pollfd(0, libc::POLLIN)];
        all[0].revents = libc::POLLIN;
        fds[0].revents = libc::POLLIN;
        all.extend(fds);
        let now = Instant::now();
        let state = State::default();
        // A connection that has sent nothing stays in the kernel (TCP_DEFER_ACCEPT).
        server.on_ready(&all, now, &state, &|_| None);
        assert_eq!(server.connections(), 0);
        client.write_all(b"GET /").unwrap();
        wait_for(|| {
            server.on_ready(&all, now, &state, &|_| None);
            server.connections() == 1
        });
        assert_eq!(server.next_deadline(), Some(now + HEADER_TIMEOUT));

        server.on_ready(&[], now + HEADER_TIMEOUT, &state, &|_| None);
        assert_eq!(server.connections(), 0);
        assert_eq!(server.next_deadline(), None);
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(
            parse_listen_addr(":8081").unwrap(),
            "0.0.0.0:8081".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            parse_listen_addr("[::]:9").unwrap(),
            "[::]:9".parse::<SocketAddr>().unwrap()
        );
        for bad in ["localhost:80", "8081", ":x", "1.2.3.4", ""] {
            let e = parse_listen_addr(bad).unwrap_err().to_string();
            assert!(e.starts_with("invalid listen address"), "{e}");
        }
        assert!(bind_status_socket("").is_err());
        assert!(bind_status_socket(&"x".repeat(108)).is_err());
    }
}
