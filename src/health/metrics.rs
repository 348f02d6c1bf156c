//! The `/metrics` page, in Prometheus text exposition format 0.0.4.
//!
//! PID 1 keeps plain counters; on a scrape the server asks for a `Snapshot` of them and this module
//! renders it, adding the conventional `process_*` metrics read from /proc/self (the same sources and
//! units as the Go client's process collector, so existing dashboards work). Rendering is split from
//! reading so that the format can be tested exactly: `render_with` is pure, `render` adds /proc.
//!
//! Every family has HELP and TYPE lines; counters end in `_total` (promtool's lint); a family whose
//! value is unknown (no /proc, no exit yet) is left out entirely rather than reported as 0, because a
//! 0 would be a lie that alerts believe. Label values are escaped as the format requires (`\\`,
//! `\"`, `\n`).

use std::fmt::Write;
use std::path::Path;

use crate::{fsread, procfs};

/// Linux reports CPU times in USER_HZ ticks, which the kernel fixes at 100 for user space on every
/// architecture (it is not CONFIG_HZ); the Go procfs library hard-codes it the same way, and
/// sysconf(_SC_CLK_TCK) would only return this constant.
const USER_HZ: f64 = 100.0;
/// Bound for /proc reads; the real files are far smaller (/proc/stat, the largest, is tens of KiB
/// on a large machine). A larger one leaves its metric out.
const MAX_PROC_FILE: u64 = 1 << 20;
/// Stop counting fds past this; a PID 1 with more has bigger problems than an exact gauge.
const MAX_FDS_COUNTED: usize = 1 << 20;

/// PID 1's counters at the moment of a scrape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub child_up: bool,
    pub restarts: u64,
    /// Unix time (seconds) when the current or last child started; None before the first start.
    pub start_time: Option<f64>,
    /// Exit status of the last child as a shell reports it (128+N for signal N); None before any exit.
    pub last_exit_code: Option<i32>,
    pub zombies_reaped: u64,
    /// (signal name, count), e.g. ("SIGTERM", 1).
    pub signals_forwarded: Vec<(&'static str, u64)>,
    /// (result, count), e.g. ("healthy", 10), ("unhealthy", 1), ("timeout", 0).
    pub checks: Vec<(&'static str, u64)>,
}

/// What /proc/self says; each field None when it could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Process {
    pub resident_bytes: Option<u64>,
    pub cpu_seconds: Option<f64>,
    pub open_fds: Option<u64>,
    pub start_time_seconds: Option<f64>,
}

pub fn render(s: &Snapshot) -> String {
    render_with(s, &read_process())
}

pub fn render_with(s: &Snapshot, p: &Process) -> String {
    let mut out = String::with_capacity(2048);
    let o = &mut out;

    family(
        o,
        "pidguard_child_up",
        "gauge",
        "Whether the supervised program is running (1) or not (0).",
    );
    sample(o, "pidguard_child_up", &[], f64::from(u8::from(s.child_up)));

    family(
        o,
        "pidguard_child_restarts_total",
        "counter",
        "Times the supervised program was restarted.",
    );
    sample(o, "pidguard_child_restarts_total", &[], s.restarts as f64);

    if let Some(t) = s.start_time {
        family(
            o,
            "pidguard_child_start_time_seconds",
            "gauge",
            "Start time of the supervised program since unix epoch in seconds.",
        );
        sample(o, "pidguard_child_start_time_seconds", &[], t);
    }

    if let Some(code) = s.last_exit_code {
        family(
            o,
            "pidguard_child_last_exit_code",
            "gauge",
            "Exit code of the last exit of the supervised program (128+N when killed by signal N).",
        );
        sample(o, "pidguard_child_last_exit_code", &[], f64::from(code));
    }

    family(
        o,
        "pidguard_zombies_reaped_total",
        "counter",
        "Exited processes reaped by pidguard, the supervised program included.",
    );
    sample(
        o,
        "pidguard_zombies_reaped_total",
        &[],
        s.zombies_reaped as f64,
    );

    family(
        o,
        "pidguard_signals_forwarded_total",
        "counter",
        "Signals forwarded to the supervised program, by signal.",
    );
    for (name, n) in &s.signals_forwarded {
        sample(
            o,
            "pidguard_signals_forwarded_total",
            &[("signal", name)],
            *n as f64,
        );
    }

    family(
        o,
        "pidguard_health_checks_total",
        "counter",
        "Health checks run, by result.",
    );
    for (result, n) in &s.checks {
        sample(
            o,
            "pidguard_health_checks_total",
            &[("result", result)],
            *n as f64,
        );
    }

    family(
        o,
        "pidguard_build_info",
        "gauge",
        "A metric with a constant '1' value labeled by the pidguard version.",
    );
    sample(
        o,
        "pidguard_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );

    if let Some(v) = p.cpu_seconds {
        family(
            o,
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
        );
        sample(o, "process_cpu_seconds_total", &[], v);
    }
    if let Some(v) = p.open_fds {
        family(
            o,
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
        );
        sample(o, "process_open_fds", &[], v as f64);
    }
    if let Some(v) = p.resident_bytes {
        family(
            o,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
        );
        sample(o, "process_resident_memory_bytes", &[], v as f64);
    }
    if let Some(v) = p.start_time_seconds {
        family(
            o,
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
        );
        sample(o, "process_start_time_seconds", &[], v);
    }
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape(help, false));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape(v, true));
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(&number(value));
    out.push('\n');
}

/// HELP text escapes `\` and newline; label values also escape `"`.
fn escape(text: &str, quote: bool) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '"' if quote => s.push_str("\\\""),
            c => s.push(c),
        }
    }
    s
}

/// A sample value in the text format, with integer arithmetic only: the values here are counts,
/// codes and times in seconds (at most microseconds matter), and leaving f64 formatting out of the
/// binary saves about 20 KB. Integers print exactly; other values with up to six decimals, trailing
/// zeros dropped; no exponent, which the format accepts. The special values are spelled as Go's
/// ParseFloat wants them.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "f64 -> u128 of a non-negative whole number: `as` saturates, no value comes near 3.4e38"
)]
fn number(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs();
    // From 2^53 on every f64 is an integer; below, microseconds still fit an f64 exactly enough.
    if a == a.trunc() || a >= 9.0e15 {
        let n = a.round() as u128;
        return if n == 0 {
            "0".into()
        } else {
            format!("{sign}{n}")
        };
    }
    // Split first: the fraction of an f64 is exact, a * 1e6 would round away digits above 2^33.
    let mut whole = a.trunc() as u128;
    let mut frac = ((a - a.trunc()) * 1e6).round() as u128;
    if frac == 1_000_000 {
        whole += 1;
        frac = 0;
    }
    if frac == 0 {
        return if whole == 0 {
            "0".into()
        } else {
            format!("{sign}{whole}")
        };
    }
    let frac = format!("{frac:06}");
    format!("{sign}{whole}.{}", frac.trim_end_matches('0'))
}

pub fn read_process() -> Process {
    let read = |path: &str| fsread::read(Path::new(path), MAX_PROC_FILE).ok();
    let stat = procfs::read_stat("self");
    let boot = read("/proc/stat").and_then(|b| parse_btime(&b));
    Process {
        resident_bytes: read("/proc/self/status").and_then(|b| parse_vmrss(&b)),
        cpu_seconds: stat.map(|s| (s.utime + s.stime) as f64 / USER_HZ),
        open_fds: count_fds(),
        start_time_seconds: stat
            .zip(boot)
            .map(|(s, boot)| boot as f64 + s.starttime as f64 / USER_HZ),
    }
}

fn count_fds() -> Option<u64> {
    let dir = std::fs::read_dir("/proc/self/fd").ok()?;
    // The directory handle being read is itself one of the fds; the Go client counts it too.
    let mut n = 0;
    for _ in dir.take(MAX_FDS_COUNTED) {
        n += 1;
    }
    Some(n)
}

/// `VmRSS:   1234 kB` from `/proc/[pid]/status`, in bytes.
pub fn parse_vmrss(buf: &[u8]) -> Option<u64> {
    value_after(buf, b"VmRSS:")?.checked_mul(1024)
}

/// `btime 1700000000` from /proc/stat: boot time in unix seconds.
pub fn parse_btime(buf: &[u8]) -> Option<u64> {
    value_after(buf, b"btime ")
}

fn value_after(buf: &[u8], key: &[u8]) -> Option<u64> {
    let line = buf.split(|&b| b == b'\n').find(|l| l.starts_with(key))?;
    let text = std::str::from_utf8(&line[key.len()..]).ok()?;
    text.split_ascii_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_snapshot() -> Snapshot {
        Snapshot {
            child_up: true,
            restarts: 2,
            start_time: Some(1_700_000_000.25),
            last_exit_code: Some(137),
            zombies_reaped: 41,
            signals_forwarded: vec![("SIGTERM", 1), ("SIGHUP", 3)],
            checks: vec![("healthy", 10), ("unhealthy", 2), ("timeout", 1)],
        }
    }

    fn sample_process() -> Process {
        Process {
            resident_bytes: Some(3_145_728),
            cpu_seconds: Some(0.37),
            open_fds: Some(7),
            start_time_seconds: Some(1_699_999_999.5),
        }
    }

    const EXPECTED: &str = "\
# HELP pidguard_child_up Whether the supervised program is running (1) or not (0).
# TYPE pidguard_child_up gauge
pidguard_child_up 1
# HELP pidguard_child_restarts_total Times the supervised program was restarted.
# TYPE pidguard_child_restarts_total counter
pidguard_child_restarts_total 2
# HELP pidguard_child_start_time_seconds Start time of the supervised program since unix epoch in seconds.
# TYPE pidguard_child_start_time_seconds gauge
pidguard_child_start_time_seconds 1700000000.25
# HELP pidguard_child_last_exit_code Exit code of the last exit of the supervised program (128+N when killed by signal N).
# TYPE pidguard_child_last_exit_code gauge
pidguard_child_last_exit_code 137
# HELP pidguard_zombies_reaped_total Exited processes reaped by pidguard, the supervised program included.
# TYPE pidguard_zombies_reaped_total counter
pidguard_zombies_reaped_total 41
# HELP pidguard_signals_forwarded_total Signals forwarded to the supervised program, by signal.
# TYPE pidguard_signals_forwarded_total counter
pidguard_signals_forwarded_total{signal=\"SIGTERM\"} 1
pidguard_signals_forwarded_total{signal=\"SIGHUP\"} 3
# HELP pidguard_health_checks_total Health checks run, by result.
# TYPE pidguard_health_checks_total counter
pidguard_health_checks_total{result=\"healthy\"} 10
pidguard_health_checks_total{result=\"unhealthy\"} 2
pidguard_health_checks_total{result=\"timeout\"} 1
# HELP pidguard_build_info A metric with a constant '1' value labeled by the pidguard version.
# TYPE pidguard_build_info gauge
pidguard_build_info{version=\"VERSION\"} 1
# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 0.37
# HELP process_open_fds Number of open file descriptors.
# TYPE process_open_fds gauge
process_open_fds 7
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 3145728
# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1699999999.5
";

    #[test]
    fn renders_exactly() {
        let got = render_with(&sample_snapshot(), &sample_process());
        assert_eq!(got, EXPECTED.replace("VERSION", env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn unknown_values_are_left_out_not_zero() {
        let got = render_with(&Snapshot::default(), &Process::default());
        assert!(got.contains("pidguard_child_up 0\n"));
        assert!(!got.contains("pidguard_child_start_time_seconds"));
        assert!(!got.contains("pidguard_child_last_exit_code"));
        assert!(!got.contains("process_"));
        assert!(got.contains("# TYPE pidguard_signals_forwarded_total counter\n"));
    }

    #[test]
    fn every_sample_has_help_and_type_first() {
        let got = render_with(&sample_snapshot(), &sample_process());
        let mut declared = std::collections::HashSet::new();
        let mut helped = std::collections::HashSet::new();
        for line in got.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                assert!(helped.insert(rest.split(' ').next().unwrap().to_string()));
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut it = rest.split(' ');
                let name = it.next().unwrap();
                let kind = it.next().unwrap();
                assert!(helped.contains(name));
                assert!(kind == "gauge" || kind == "counter");
                assert_eq!(kind == "counter", name.ends_with("_total"), "{name}");
                assert!(declared.insert(name.to_string()));
            } else {
                let name = line.split(['{', ' ']).next().unwrap();
                assert!(declared.contains(name), "{line}");
                let value = line.rsplit(' ').next().unwrap();
                assert!(value.parse::<f64>().is_ok(), "{line}");
            }
        }
        assert!(got.ends_with('\n'));
    }

    #[test]
    fn label_values_are_escaped() {
        let s = Snapshot {
            signals_forwarded: vec![("a\\b\"c\nd", 1)],
            ..Snapshot::default()
        };
        let got = render_with(&s, &Process::default());
        assert!(
            got.contains("pidguard_signals_forwarded_total{signal=\"a\\\\b\\\"c\\nd\"} 1\n"),
            "{got}"
        );
        assert_eq!(escape("x\\y\n\"", false), "x\\\\y\\n\"");
    }

    #[test]
    fn special_numbers() {
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NEG_INFINITY), "-Inf");
        assert_eq!(number(1e21), "1000000000000000000000");
        assert_eq!(number(-1.0), "-1");
        assert_eq!(number(u64::MAX as f64), "18446744073709551616");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(42.0), "42");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(12.34), "12.34");
        assert_eq!(number(-2.05), "-2.05");
        assert_eq!(number(1_763_900_000.123_456), "1763900000.123456");
        assert_eq!(number(0.000_000_1), "0");
        // Whatever it prints parses back to the value, within a microsecond.
        assert_eq!(number(1e12 + 0.25), "1000000000000.25");
        assert_eq!(number(0.999_999_9), "1");
        for v in [0.01, 1.5, 99.99, 1e9 + 0.25, 123_456.000_001, 1e13 - 0.5] {
            let back: f64 = number(v).parse().unwrap();
            assert!((back - v).abs() <= 1e-6, "{v} -> {back}");
        }
    }

    #[test]
    fn proc_parsers() {
        let status = b"Name:\tpidguard\nVmPeak:\t  9000 kB\nVmRSS:\t    1234 kB\nThreads:\t1\n";
        assert_eq!(parse_vmrss(status), Some(1234 * 1024));
        assert_eq!(parse_vmrss(b"Name: x\n"), None);
        assert_eq!(parse_vmrss(b"VmRSS: 99999999999999999999 kB\n"), None);
        let procstat = b"cpu  1 2 3\nintr 1 2 3\nctxt 5\nbtime 1700000000\nprocesses 9\n";
        assert_eq!(parse_btime(procstat), Some(1_700_000_000));
        assert_eq!(parse_btime(b"btimex 5\n"), None);
    }

    #[test]
    fn reads_this_process() {
        let p = read_process();
        assert!(p.resident_bytes.unwrap() > 0);
        assert!(p.cpu_seconds.unwrap() >= 0.0);
        assert!(p.open_fds.unwrap() >= 3);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = p.start_time_seconds.unwrap();
        assert!(
            start <= now + 1.0 && start > now - 86400.0 * 365.0,
            "{start}"
        );
    }

    /// `promtool check metrics` is the reference linter; skipped only when it is not installed
    /// (`apt-get install prometheus` provides it).
    #[test]
    fn promtool_accepts_the_output() {
        use std::io::Write as _;
        use std::process::{Command, Stdio};
        for (snap, proc_) in [
            (sample_snapshot(), sample_process()),
            (Snapshot::default(), Process::default()),
            (sample_snapshot(), read_process()),
        ] {
            let text = render_with(&snap, &proc_);
            let spawned = Command::new("promtool")
                .args(["check", "metrics"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn();
            let mut child = match spawned {
                Ok(child) => child,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    eprintln!("promtool not found; skipping");
                    return;
                }
                Err(e) => panic!("cannot run promtool: {e}"),
            };
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
                "promtool: {}{}\n{text}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
