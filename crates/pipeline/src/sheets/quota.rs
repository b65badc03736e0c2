//! Google's per-minute quotas, kept on our side, and its backoff rule for when they are
//! hit anyway.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand::Rng;

/// At most `limit` requests in any window of `window`: stricter than Google's per-minute
/// buckets, so it never causes a 429 whatever the bucket boundaries are.
#[derive(Debug)]
pub(super) struct SlidingWindow {
    limit: usize,
    window: Duration,
    sent: VecDeque<Instant>,
}

impl SlidingWindow {
    /// A limiter of `limit` requests per `window`.
    pub(super) fn new(limit: usize, window: Duration) -> Self {
        SlidingWindow { limit: limit.max(1), window, sent: VecDeque::new() }
    }

    /// Requests reach Google a little after they leave, and not all equally late: the
    /// window is kept 0.5% (at least 50 ms) longer than Google's.
    fn margin(&self) -> Duration {
        (self.window / 200).max(Duration::from_millis(50))
    }

    /// When the next request may go (now or later).
    pub(super) fn ready_at(&mut self, now: Instant) -> Instant {
        let span = self.window + self.margin();
        while self.sent.front().is_some_and(|t| now.duration_since(*t) >= span) {
            self.sent.pop_front();
        }
        if self.sent.len() < self.limit {
            now
        } else {
            self.sent[0] + self.window + self.margin()
        }
    }

    /// Records a request sent at `now`.
    pub(super) fn record(&mut self, now: Instant) {
        self.sent.push_back(now);
    }

    /// Requests in the current window.
    pub(super) fn in_window(&mut self, now: Instant) -> usize {
        self.ready_at(now);
        self.sent.len()
    }
}

/// Google's exponential backoff: wait `min(2^n * base + random(0..base), 64 * base)`
/// before retry `n` (with `base` = 1 s: 1-2 s, 2-3 s, 4-5 s, ... at most 64 s).
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    attempt: u32,
}

impl Backoff {
    /// A backoff starting at `base`.
    pub fn new(base: Duration) -> Self {
        Backoff { base, attempt: 0 }
    }

    /// The wait before the next retry.
    pub fn next_delay(&mut self) -> Duration {
        let exp = self.base.saturating_mul(1u32 << self.attempt.min(16));
        let jitter = self.base.mul_f64(rand::rng().random::<f64>());
        self.attempt += 1;
        (exp + jitter).min(self.base.saturating_mul(64))
    }

    /// Retries made so far.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_the_limit_in_any_window() {
        let start = Instant::now();
        let mut limiter = SlidingWindow::new(3, Duration::from_secs(60));
        let mut sent = Vec::new();
        let mut now = start;
        while sent.len() < 10 {
            now = limiter.ready_at(now);
            limiter.record(now);
            sent.push(now);
        }
        for (i, t) in sent.iter().enumerate() {
            let in_window =
                sent[i..].iter().filter(|u| u.duration_since(*t) < Duration::from_secs(60)).count();
            assert!(in_window <= 3, "{in_window} requests within a minute of request {i}");
        }
        assert_eq!(sent[3].duration_since(start), Duration::from_millis(60_300));
        assert_eq!(sent[9].duration_since(start), Duration::from_millis(180_900));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps_at_64_steps() {
        let mut backoff = Backoff::new(Duration::from_secs(1));
        let delays: Vec<Duration> = (0..10).map(|_| backoff.next_delay()).collect();
        for (n, d) in delays.iter().enumerate().take(6) {
            let floor = Duration::from_secs(1 << n);
            assert!(*d >= floor && *d < floor + Duration::from_secs(1), "retry {n}: {d:?}");
        }
        assert!(delays[6..].iter().all(|d| *d == Duration::from_secs(64)), "{delays:?}");
    }
}
