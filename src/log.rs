//! Logs go to stderr only, never stdout: the program's stdout belongs to the program (tini prints to
//! stdout and mixes its lines into the program's output).
//!
//! Each record is one `write(2)` of a whole line so that lines from PID 1 and the program do not
//! interleave mid-line. Text lines start with `pidguard:`; `--log-format json` prints one object per
//! line for log shippers, with the record's structured fields (`pid`, `signal`, `code`, ...) beside
//! `msg` so that a shipper can filter on them:
//!
//! ```text
//! warn!(pid = 7, signal = "SIGSEGV", code = 139; "program (pid 7) killed by SIGSEGV");
//! ```
//!
//! The level and format are process-wide atomics, set once at start.
//!
//! **PID 1 never floods the log.** The program can make PID 1 log (signals, exits, a broken limit
//! that makes a syscall fail in a loop), and a container's log is often a file on the host's disk.
//! So every record passes a [`Limiter`]: the same line more than [`SHOW`] times in [`WINDOW`] is
//! counted instead of written, and summarised once the window ends (`last message repeated 9997 more
//! times in 60s: ...`); and a byte budget ([`RATE`] per second, bursts up to [`BURST`]) holds the
//! total, whatever the lines say, with a count of what was dropped.
//!
//! **Logging never blocks.** A stopped terminal (Ctrl-S, or a program's `tcflow(TCOOFF)`) or a full
//! pipe nobody reads would otherwise hold PID 1 in `write(2)`, deaf to signals and reaping. When
//! stderr is a pipe or a terminal, [`init`] opens it once more through `/proc/self/fd/2` with
//! `O_NONBLOCK`: a new open file description, so the program's own stderr keeps blocking as it
//! expects, while a line PID 1 cannot write at once is dropped, counted, and reported with the next
//! line that gets through. A regular file never blocks and is written as it is (a second
//! description would have its own offset).
//!
//! **Logging does not allocate.** A record is formatted into fixed buffers on the stack and cut at
//! [`MAX_LINE`] bytes: an address-space limit that the program sets on PID 1 cannot make PID 1 abort
//! while it logs.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    pub const ALL: [Level; 6] = [
        Level::Off,
        Level::Error,
        Level::Warn,
        Level::Info,
        Level::Debug,
        Level::Trace,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }

    pub fn raised(self, by: usize) -> Level {
        Level::ALL[(self as usize + by).min(Level::ALL.len() - 1)]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Warn as u8);
static JSON: AtomicU8 = AtomicU8::new(0);
static LIMITER: Mutex<Limiter> = Mutex::new(Limiter::new());
/// stderr opened non-blocking (see the module essay); unset: write to fd 2 itself.
static OUT: std::sync::OnceLock<std::fs::File> = std::sync::OnceLock::new();
/// Lines that could not be written without blocking, not yet reported.
static BLOCKED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn init(level: Level, format: LogFormat) {
    LEVEL.store(level as u8, Ordering::Relaxed);
    JSON.store((format == LogFormat::Json) as u8, Ordering::Relaxed);
    if OUT.get().is_none()
        && let Some(f) = open_nonblocking_stderr()
    {
        let _ = OUT.set(f);
    }
}

/// stderr once more, non-blocking, when it is a pipe or a terminal (`O_NOCTTY`: a session leader
/// must not gain a controlling terminal by opening one). None for anything else, or without /proc.
fn open_nonblocking_stderr() -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    // fstat(2) on the descriptor: what a stat of /proc/self/fd/2 would say, without the /proc path
    // walk (about 3 us of every start).
    let kind = nix::sys::stat::fstat(std::io::stderr()).ok()?.st_mode & libc::S_IFMT;
    if !(kind == libc::S_IFIFO || kind == libc::S_IFCHR) {
        return None;
    }
    std::fs::OpenOptions::new()
        .append(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open("/proc/self/fd/2")
        .ok()
}

/// One whole line to stderr, never waiting: see the module essay.
fn write_out(bytes: &[u8]) {
    let Some(mut out) = OUT.get() else {
        // A failed write to stderr has nowhere to be reported; PID 1 must not die of it.
        let _ = std::io::stderr().lock().write_all(bytes);
        return;
    };
    let blocked = BLOCKED.load(Ordering::Relaxed);
    if blocked > 0 {
        let mut note = Buf::<256>::new();
        let why = "log lines dropped: stderr could not take them (a stopped terminal, or a pipe \
                   nobody reads)";
        let _ = if JSON.load(Ordering::Relaxed) == 1 {
            note.write_str("{\"time\":\"")
                .and_then(|()| write_rfc3339(&mut note, SystemTime::now()))
                .and_then(|()| {
                    writeln!(
                        note,
                        "\",\"level\":\"warn\",\"source\":\"pidguard\",\"dropped\":{blocked},\
                         \"msg\":\"{blocked} {why}\"}}"
                    )
                })
        } else {
            writeln!(note, "pidguard: warn: {blocked} {why}")
        };
        if out.write(note.as_str().as_bytes()).is_err() {
            BLOCKED.fetch_add(1, Ordering::Relaxed);
            return;
        }
        BLOCKED.fetch_sub(blocked, Ordering::Relaxed);
    }
    // One write: a line up to PIPE_BUF goes into a pipe whole or not at all.
    if out.write(bytes).is_err() {
        BLOCKED.fetch_add(1, Ordering::Relaxed);
    }
}

pub fn enabled(level: Level) -> bool {
    level != Level::Off && level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// A structured field's value: numbers stay numbers in JSON.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Int(i64),
    Str(&'a str),
    /// Left out of the line (an `Option` that is `None`).
    Absent,
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl From<$t> for Value<'_> {
            fn from(v: $t) -> Self {
                Value::Int(v as i64)
            }
        }
    )*};
}
int_value!(i32, u32, i64, u64, usize, u8);

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Str(v)
    }
}

impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Absent, Into::into)
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Str(v)
    }
}

/// One `key = value` of a record.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a>(pub &'static str, pub Value<'a>);

/// The longest line written; longer messages are cut (at a character boundary) and end in `...`.
pub const MAX_LINE: usize = 2048;
const MAX_MSG: usize = 1024;

/// Writes one record, if its level is enabled and the limiter lets it through.
pub fn emit(level: Level, fields: &[Field], args: fmt::Arguments) {
    if !enabled(level) {
        return;
    }
    let mut msg = Buf::<MAX_MSG>::new();
    let _ = msg.write_fmt(args);
    let msg = msg.as_str();
    let now = Instant::now();
    let mut limiter = LIMITER.lock().unwrap_or_else(|e| e.into_inner());
    if limiter.admit(level, msg, now, &mut write_notice) {
        write_line(level, fields, msg);
    }
}

/// Writes the summaries of repeated lines whose window has ended. PID 1 calls it on every wake-up
/// and wakes up for it at [`next_flush`].
pub fn flush(now: Instant) {
    let mut limiter = LIMITER.lock().unwrap_or_else(|e| e.into_inner());
    limiter.flush(now, false, &mut write_notice);
}

/// Writes every pending summary now (before pidguard exits).
pub fn flush_all() {
    let mut limiter = LIMITER.lock().unwrap_or_else(|e| e.into_inner());
    limiter.flush(Instant::now(), true, &mut write_notice);
}

/// When a summary of repeated lines is due, if one is.
pub fn next_flush() -> Option<Instant> {
    LIMITER
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .next_flush()
}

fn write_notice(level: Level, notice: Notice) {
    if !enabled(level) {
        return;
    }
    let mut msg = Buf::<MAX_MSG>::new();
    let field = match notice {
        Notice::Repeated { count, secs, text } => {
            let _ = write!(
                msg,
                "last message repeated {count} more times in {secs}s: {text}"
            );
            Field("repeated", Value::Int(count as i64))
        }
        Notice::Dropped(count) => {
            let _ = write!(
                msg,
                "{count} log lines dropped: more than {RATE} bytes per second"
            );
            Field("dropped", Value::Int(count as i64))
        }
    };
    write_line(level, &[field], msg.as_str());
}

fn write_line(level: Level, fields: &[Field], msg: &str) {
    // Room for the closing `"}` and the newline whatever the body did.
    let mut line = Buf::<MAX_LINE>::with_reserve(4);
    if JSON.load(Ordering::Relaxed) == 1 {
        let _ = line.write_str("{\"time\":\"");
        let _ = write_rfc3339(&mut line, SystemTime::now());
        let _ = write!(
            line,
            "\",\"level\":\"{}\",\"source\":\"pidguard\"",
            level.name()
        );
        for Field(key, value) in fields {
            let _ = match value {
                Value::Int(n) => write!(line, ",\"{key}\":{n}"),
                Value::Str(s) => write!(line, ",\"{key}\":")
                    .and_then(|()| crate::json::write_escaped(&mut line, s)),
                Value::Absent => Ok(()),
            };
        }
        let _ = line.write_str(",\"msg\":");
        let _ = crate::json::write_escaped(&mut line, msg);
        if line.cut {
            line.push_tail("\"");
        }
        line.push_tail("}\n");
    } else {
        let _ = write!(line, "pidguard: {}: {msg}", level.name());
        line.push_tail("\n");
    }
    write_out(line.as_str().as_bytes());
}

#[doc(hidden)]
#[macro_export]
macro_rules! __log {
    ($level:expr, $($k:ident = $v:expr),+ ; $($t:tt)+) => {
        if $crate::log::enabled($level) {
            $crate::log::emit(
                $level,
                &[$($crate::log::Field(stringify!($k), $crate::log::Value::from($v))),+],
                format_args!($($t)+),
            )
        }
    };
    ($level:expr, $($t:tt)+) => {
        if $crate::log::enabled($level) {
            $crate::log::emit($level, &[], format_args!($($t)+))
        }
    };
}
#[macro_export]
macro_rules! error { ($($t:tt)+) => { $crate::__log!($crate::log::Level::Error, $($t)+) } }
#[macro_export]
macro_rules! warn { ($($t:tt)+) => { $crate::__log!($crate::log::Level::Warn, $($t)+) } }
#[macro_export]
macro_rules! info { ($($t:tt)+) => { $crate::__log!($crate::log::Level::Info, $($t)+) } }
#[macro_export]
macro_rules! debug { ($($t:tt)+) => { $crate::__log!($crate::log::Level::Debug, $($t)+) } }
#[macro_export]
macro_rules! trace { ($($t:tt)+) => { $crate::__log!($crate::log::Level::Trace, $($t)+) } }

/// A fixed buffer that formats without allocating. What does not fit is cut at a character
/// boundary, and the cut is marked with `...`. A piece that holds a backslash is never cut in two,
/// so that an escape sequence of a JSON string is written whole or not at all.
pub struct Buf<const N: usize> {
    bytes: [u8; N],
    len: usize,
    /// Formatted writes stop here; the bytes above are kept for [`Buf::push_tail`].
    limit: usize,
    /// Something was cut: later formatted writes are dropped.
    pub cut: bool,
}

impl<const N: usize> Buf<N> {
    pub fn new() -> Self {
        Self::with_reserve(0)
    }

    /// A buffer that keeps its last `reserve` bytes for a tail that must always fit.
    pub fn with_reserve(reserve: usize) -> Self {
        Buf {
            bytes: [0; N],
            len: 0,
            limit: N.saturating_sub(reserve),
            cut: false,
        }
    }

    /// Appends `s` in the reserved room, whatever was cut before (nothing if even that is full).
    pub fn push_tail(&mut self, s: &str) {
        if self.len + s.len() <= N {
            self.bytes[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
            self.len += s.len();
        }
    }

    pub fn as_str(&self) -> &str {
        // Only whole characters are ever copied in.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> Default for Buf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for Buf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.cut {
            return Ok(());
        }
        let room = self.limit.saturating_sub(self.len);
        if s.len() <= room {
            self.bytes[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
            self.len += s.len();
            return Ok(());
        }
        self.cut = true;
        let marker = "...";
        let mut take = room.saturating_sub(marker.len());
        if s.contains('\\') {
            take = 0;
        }
        while take > 0 && !s.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if self.len + marker.len() <= self.limit {
            self.bytes[self.len..self.len + marker.len()].copy_from_slice(marker.as_bytes());
            self.len += marker.len();
        }
        Ok(())
    }
}

/// A duration as `--grace` and friends are written (`500ms`, `8s`, `2m`), without allocating: the
/// same text as `duration::format`.
pub struct Dur(pub Duration);

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms == 0 {
            f.write_str("0s")
        } else if !ms.is_multiple_of(1000) {
            write!(f, "{ms}ms")
        } else if !ms.is_multiple_of(60_000) {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{}m", ms / 60_000)
        }
    }
}

/// How long something ran, for humans: `0.3s`, `12.5s`, `3m20s`, `2h5m`.
pub struct Elapsed(pub Duration);

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs();
        match s {
            0..60 => write!(f, "{}.{}s", s, self.0.subsec_millis() / 100),
            60..3600 => write!(f, "{}m{}s", s / 60, s % 60),
            _ => write!(f, "{}h{}m", s / 3600, s % 3600 / 60),
        }
    }
}

/// Identical lines shown per window before they are only counted.
pub const SHOW: u32 = 3;
/// How long identical lines are counted before their summary is written.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Sustained log bytes per second, and the burst allowed above it.
pub const RATE: u64 = 2048;
pub const BURST: u64 = 16 * 1024;
/// Lines of different text tracked at once for repeats.
const SLOTS: usize = 8;
/// What the budget charges for a line beyond its message: prefix, time, level, fields.
const OVERHEAD: u64 = 100;
/// The start of a repeated line kept for its summary.
const KEEP: usize = 80;

/// What the limiter asks its caller to write besides the lines it lets through.
#[derive(Debug, PartialEq, Eq)]
pub enum Notice<'a> {
    Repeated {
        count: u64,
        secs: u64,
        text: &'a str,
    },
    Dropped(u64),
}

#[derive(Clone, Copy)]
struct Slot {
    hash: u64,
    level: Level,
    since: Option<Instant>,
    shown: u32,
    suppressed: u64,
    text: [u8; KEEP],
    text_len: usize,
}

impl Slot {
    const EMPTY: Slot = Slot {
        hash: 0,
        level: Level::Off,
        since: None,
        shown: 0,
        suppressed: 0,
        text: [0; KEEP],
        text_len: 0,
    };
}

/// The log's rate limit as a pure value: it is given the time, and tells its caller what to write.
pub struct Limiter {
    tokens: u64,
    refilled: Option<Instant>,
    dropped: u64,
    slots: [Slot; SLOTS],
}

impl Default for Limiter {
    fn default() -> Self {
        Self::new()
    }
}

impl Limiter {
    pub const fn new() -> Self {
        Limiter {
            tokens: BURST,
            refilled: None,
            dropped: 0,
            slots: [Slot::EMPTY; SLOTS],
        }
    }

    /// Whether the line `text` at `level` may be written now. Summaries and drop counts that are
    /// due go to `notice` first, in the order they should appear.
    pub fn admit(
        &mut self,
        level: Level,
        text: &str,
        now: Instant,
        notice: &mut impl FnMut(Level, Notice),
    ) -> bool {
        self.refill(now);
        self.flush(now, false, notice);
        let hash = fnv(level, text);
        match self
            .slots
            .iter_mut()
            .find(|s| s.since.is_some() && s.hash == hash)
        {
            Some(slot) if slot.shown >= SHOW => {
                slot.suppressed += 1;
                return false;
            }
            Some(slot) => slot.shown += 1,
            None => {
                // A free slot, or the oldest one, whose count is written out before it is reused.
                let i = (0..SLOTS).min_by_key(|&i| self.slots[i].since).unwrap_or(0);
                let old = self.slots[i];
                if old.suppressed > 0 {
                    self.summarise(&old, now, notice);
                }
                let mut slot = Slot {
                    hash,
                    level,
                    since: Some(now),
                    shown: 1,
                    ..Slot::EMPTY
                };
                let mut keep = text.len().min(KEEP);
                while !text.is_char_boundary(keep) {
                    keep -= 1;
                }
                slot.text[..keep].copy_from_slice(&text.as_bytes()[..keep]);
                slot.text_len = keep;
                self.slots[i] = slot;
            }
        }
        let cost = text.len() as u64 + OVERHEAD;
        if self.tokens < cost {
            self.dropped += 1;
            return false;
        }
        if self.dropped > 0 {
            notice(Level::Warn, Notice::Dropped(self.dropped));
            self.dropped = 0;
            self.tokens = self.tokens.saturating_sub(OVERHEAD);
        }
        self.tokens = self.tokens.saturating_sub(cost);
        true
    }

    /// Writes the summaries whose window has ended (all of them with `all`).
    pub fn flush(&mut self, now: Instant, all: bool, notice: &mut impl FnMut(Level, Notice)) {
        for i in 0..SLOTS {
            let slot = self.slots[i];
            let Some(since) = slot.since else { continue };
            if all || now.saturating_duration_since(since) >= WINDOW {
                if slot.suppressed > 0 {
                    self.summarise(&slot, now, notice);
                }
                self.slots[i] = Slot::EMPTY;
            }
        }
        if all && self.dropped > 0 {
            notice(Level::Warn, Notice::Dropped(self.dropped));
            self.dropped = 0;
        }
    }

    /// When the next summary is due.
    pub fn next_flush(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter(|s| s.suppressed > 0)
            .filter_map(|s| s.since)
            .min()
            .map(|t| t + WINDOW)
    }

    fn summarise(&mut self, slot: &Slot, now: Instant, notice: &mut impl FnMut(Level, Notice)) {
        let secs = slot
            .since
            .map_or(0, |t| now.saturating_duration_since(t).as_secs().max(1));
        let text = std::str::from_utf8(&slot.text[..slot.text_len]).unwrap_or("");
        self.tokens = self.tokens.saturating_sub(OVERHEAD + text.len() as u64);
        notice(
            slot.level,
            Notice::Repeated {
                count: slot.suppressed,
                secs,
                text,
            },
        );
    }

    fn refill(&mut self, now: Instant) {
        let last = *self.refilled.get_or_insert(now);
        let ms = crate::duration::millis(now.saturating_duration_since(last));
        let gained = ms * RATE / 1000;
        if gained > 0 {
            self.tokens = (self.tokens + gained).min(BURST);
            self.refilled = Some(now);
        }
    }
}

/// FNV-1a of the level and the text: which lines are "the same line".
fn fnv(level: Level, text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in std::iter::once(level as u8).chain(text.bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// UTC time as `2026-11-23T11:36:44.123Z`, without a date crate (days-to-civil from H. Hinnant).
pub fn write_rfc3339(out: &mut impl fmt::Write, t: SystemTime) -> fmt::Result {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + (month <= 2) as i64;
    write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// [`write_rfc3339`] into a new string.
pub fn rfc3339(t: SystemTime) -> String {
    let mut s = String::with_capacity(24);
    let _ = write_rfc3339(&mut s, t);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_433_804_123);
        assert_eq!(rfc3339(t), "2026-11-23T11:36:44.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn durations_read_as_the_flags_are_written() {
        for ms in [
            0, 1, 50, 999, 1000, 8000, 59_000, 60_000, 90_000, 120_000, 86_400_000,
        ] {
            let d = Duration::from_millis(ms);
            assert_eq!(Dur(d).to_string(), crate::duration::format(d), "{ms}");
        }
        assert_eq!(Elapsed(Duration::from_millis(300)).to_string(), "0.3s");
        assert_eq!(Elapsed(Duration::from_secs(200)).to_string(), "3m20s");
        assert_eq!(Elapsed(Duration::from_secs(7500)).to_string(), "2h5m");
    }

    #[test]
    fn buffer_cuts_long_text_at_a_character_and_marks_it() {
        let mut b = Buf::<8>::new();
        let _ = b.write_str("abcdéfghij");
        assert_eq!(b.as_str(), "abcd...");
        assert!(b.cut);
        // An escape is never split: the piece with the backslash is left out whole.
        let mut b = Buf::<5>::new();
        let _ = b.write_str("ab");
        let _ = b.write_str("\\\"cd");
        assert_eq!(b.as_str(), "ab...");
    }

    fn run(l: &mut Limiter, text: &str, now: Instant, notes: &mut Vec<String>) -> bool {
        l.admit(Level::Error, text, now, &mut |_, n| {
            notes.push(format!("{n:?}"))
        })
    }

    #[test]
    fn the_same_line_is_counted_then_summarised_once_its_window_ends() {
        let t0 = Instant::now();
        let mut l = Limiter::new();
        let mut notes = Vec::new();
        let shown = (0..10_000)
            .filter(|i| {
                run(
                    &mut l,
                    "poll failed: Invalid argument",
                    t0 + Duration::from_micros(*i),
                    &mut notes,
                )
            })
            .count();
        assert_eq!(shown, SHOW as usize);
        assert!(notes.is_empty());
        assert_eq!(l.next_flush(), Some(t0 + WINDOW));
        // Another line in between is not held back by the flood.
        assert!(run(
            &mut l,
            "other",
            t0 + Duration::from_secs(1),
            &mut notes
        ));
        l.flush(t0 + WINDOW, false, &mut |_, n| notes.push(format!("{n:?}")));
        assert_eq!(
            notes,
            [format!(
                "{:?}",
                Notice::Repeated {
                    count: 10_000 - SHOW as u64,
                    secs: 60,
                    text: "poll failed: Invalid argument"
                }
            )]
        );
        assert_eq!(l.next_flush(), None);
        // The next window shows the line again.
        assert!(run(
            &mut l,
            "poll failed: Invalid argument",
            t0 + WINDOW,
            &mut notes
        ));
    }

    #[test]
    fn different_lines_are_held_to_the_byte_budget_and_the_drop_is_counted() {
        let t0 = Instant::now();
        let mut l = Limiter::new();
        let mut notes = Vec::new();
        let line = |i: u32| {
            format!(
                "reaped zombie process {i} (exit status 0) {}",
                "x".repeat(100)
            )
        };
        let mut bytes = 0;
        for i in 0..100_000 {
            if run(&mut l, &line(i), t0, &mut notes) {
                bytes += line(i).len() as u64 + OVERHEAD;
            }
        }
        assert!(bytes <= BURST, "{bytes}");
        assert!(notes.is_empty());
        // Ten seconds later the budget has refilled: the count of dropped lines comes first.
        assert!(run(
            &mut l,
            "later",
            t0 + Duration::from_secs(10),
            &mut notes
        ));
        assert_eq!(notes.len(), 1);
        assert!(notes[0].starts_with("Dropped("), "{notes:?}");
        // Over a minute of steady flooding, what is written stays near RATE per second.
        let mut written = 0u64;
        for ms in 0..60_000u64 {
            let t = t0 + Duration::from_secs(20) + Duration::from_millis(ms);
            if run(&mut l, &line(u32::try_from(ms).unwrap()), t, &mut notes) {
                written += line(0).len() as u64 + OVERHEAD;
            }
        }
        assert!(written <= BURST + 60 * RATE, "{written}");
    }

    #[test]
    fn json_line_keeps_fields_and_stays_valid_when_cut() {
        // The renderer is exercised through a buffer directly: fields are numbers or strings.
        let mut line = Buf::<64>::with_reserve(4);
        let _ = crate::json::write_escaped(&mut line, &"\"".repeat(100));
        assert!(line.cut);
        line.push_tail("\"");
        let s = line.as_str();
        assert!(s.starts_with('"') && s.ends_with('"'), "{s}");
        assert!(!s[1..s.len() - 1].ends_with('\\'), "{s}");
    }
}
