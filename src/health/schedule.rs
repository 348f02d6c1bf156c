//! The app check schedule and verdict, with Docker's HEALTHCHECK semantics, as a pure state machine.
//!
//! Docker (moby daemon/health.go): the first check runs one interval after start; a check that passes
//! makes the container healthy and resets the failure streak; a failure during the start period does
//! not count; `retries` consecutive failures make it unhealthy; a check that exceeds the timeout is a
//! failure. PID 1 owns the processes and the clock; this module only decides, so it is tested without
//! either.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

#[derive(Debug)]
pub struct Checker {
    interval: Duration,
    timeout: Duration,
    retries: u32,
    start_period_end: Instant,
    next_at: Instant,
    running: Option<(i32, Instant)>,
    failures: u32,
    health: Health,
    pub passed: u64,
    pub failed: u64,
}

impl Checker {
    pub fn new(
        now: Instant,
        interval: Duration,
        timeout: Duration,
        retries: u32,
        start_period: Duration,
    ) -> Self {
        Checker {
            interval,
            timeout,
            retries: retries.max(1),
            start_period_end: now + start_period,
            next_at: now + interval,
            running: None,
            failures: 0,
            health: Health::Starting,
            passed: 0,
            failed: 0,
        }
    }

    pub fn health(&self) -> Health {
        self.health
    }

    /// A check should start now (none is running and its time has come).
    pub fn due(&self, now: Instant) -> bool {
        self.running.is_none() && now >= self.next_at
    }

    /// The check process `pid` was started.
    pub fn started(&mut self, pid: i32, now: Instant) {
        self.running = Some((pid, now + self.timeout));
    }

    /// A check could not even be started: counts as a failure, like a check that fails.
    pub fn start_failed(&mut self, now: Instant) {
        self.record(false, now);
    }

    /// The pid of the running check, if any.
    pub fn running(&self) -> Option<i32> {
        self.running.map(|(pid, _)| pid)
    }

    /// The running check's pid when it is past its timeout: the caller kills it and calls `finished`.
    pub fn overdue(&self, now: Instant) -> Option<i32> {
        self.running
            .filter(|&(_, deadline)| now >= deadline)
            .map(|(pid, _)| pid)
    }

    /// The running check ended: `ok` when it passed.
    pub fn finished(&mut self, ok: bool, now: Instant) {
        self.running = None;
        self.record(ok, now);
    }

    fn record(&mut self, ok: bool, now: Instant) {
        self.next_at = now + self.interval;
        if ok {
            self.passed += 1;
            self.failures = 0;
            self.health = Health::Healthy;
            return;
        }
        self.failed += 1;
        if now < self.start_period_end {
            return;
        }
        self.failures += 1;
        if self.failures >= self.retries {
            self.health = Health::Unhealthy;
        }
    }

    /// When PID 1 must wake up next for the checks: the next start or the running check's timeout.
    pub fn next_wakeup(&self) -> Instant {
        match self.running {
            Some((_, deadline)) => deadline,
            None => self.next_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn checker(t0: Instant, retries: u32, start: Duration) -> Checker {
        Checker::new(t0, 10 * S, 3 * S, retries, start)
    }

    #[test]
    fn first_check_runs_one_interval_after_start() {
        let t0 = Instant::now();
        let c = checker(t0, 3, Duration::ZERO);
        assert!(!c.due(t0 + 9 * S));
        assert!(c.due(t0 + 10 * S));
        assert_eq!(c.health(), Health::Starting);
        assert_eq!(c.next_wakeup(), t0 + 10 * S);
    }

    #[test]
    fn pass_makes_healthy_and_retries_failures_make_unhealthy() {
        let t0 = Instant::now();
        let mut c = checker(t0, 3, Duration::ZERO);
        c.started(42, t0 + 10 * S);
        assert!(!c.due(t0 + 11 * S), "one check at a time");
        assert_eq!(c.running(), Some(42));
        c.finished(true, t0 + 11 * S);
        assert_eq!(c.health(), Health::Healthy);
        assert!(c.due(t0 + 21 * S));
        for i in 0..2 {
            c.started(43 + i, t0 + 21 * S);
            c.finished(false, t0 + 22 * S);
            assert_eq!(
                c.health(),
                Health::Healthy,
                "{} failures < 3 retries",
                i + 1
            );
        }
        c.started(50, t0 + 40 * S);
        c.finished(false, t0 + 41 * S);
        assert_eq!(c.health(), Health::Unhealthy);
        c.started(51, t0 + 60 * S);
        c.finished(true, t0 + 61 * S);
        assert_eq!(c.health(), Health::Healthy, "one pass heals");
        assert_eq!((c.passed, c.failed), (2, 3));
    }

    #[test]
    fn failures_in_the_start_period_do_not_count() {
        let t0 = Instant::now();
        let mut c = checker(t0, 1, 60 * S);
        c.started(1, t0 + 10 * S);
        c.finished(false, t0 + 11 * S);
        assert_eq!(c.health(), Health::Starting);
        c.started(2, t0 + 61 * S);
        c.finished(false, t0 + 62 * S);
        assert_eq!(c.health(), Health::Unhealthy);
    }

    #[test]
    fn timeout_is_reported_once_due() {
        let t0 = Instant::now();
        let mut c = checker(t0, 1, Duration::ZERO);
        c.started(7, t0 + 10 * S);
        assert_eq!(c.next_wakeup(), t0 + 13 * S);
        assert_eq!(c.overdue(t0 + 12 * S), None);
        assert_eq!(c.overdue(t0 + 13 * S), Some(7));
        c.finished(false, t0 + 13 * S);
        assert_eq!(c.health(), Health::Unhealthy);
        assert_eq!(c.running(), None);
    }
}
