//! History at several resolutions: minute windows for the recent past, hours for weeks,
//! Polish calendar days for more than a year. Every order is summed into each tier, so
//! each one is exact on its own; a query reads the finest tier that still holds the
//! whole span it asks for.

use std::collections::BTreeMap;

use crate::order::{Category, EventTime, Order};
use crate::window::{Keys, Window};

/// How a tier cuts event time into windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// Fixed windows of so many ms, aligned on the Unix epoch (minutes and hours fall on
    /// Polish minutes and hours: its offsets are whole hours).
    Fixed(i64),
    /// Calendar days in Poland, 23 to 25 hours long.
    PolishDay,
}

impl Width {
    /// A nominal length in ms, for charts and rounding.
    pub fn nominal_ms(self) -> i64 {
        match self {
            Width::Fixed(ms) => ms,
            Width::PolishDay => 86_400_000,
        }
    }
}

/// One resolution: its windows and how long they are kept.
#[derive(Debug, Clone)]
pub(crate) struct Tier {
    pub(crate) width: Width,
    retention_ms: i64,
    pub(crate) windows: BTreeMap<i64, Window>,
    /// The first window start still held, once windows have been dropped: a query from
    /// before it needs a coarser tier.
    pub(crate) kept_from: Option<i64>,
    /// The last day looked up, with its start: orders come in runs of the same day.
    last_day: Option<(chrono::NaiveDate, i64)>,
    /// The cut-off (watermark less retention) from which a window may next expire:
    /// below it, expiring would keep the same windows, so it is not worked out again
    /// for every order.
    next_expiry: i64,
}

impl Tier {
    pub(crate) fn new(width: Width, retention_ms: i64) -> Tier {
        Tier {
            width,
            retention_ms,
            windows: BTreeMap::new(),
            kept_from: None,
            last_day: None,
            next_expiry: i64::MIN,
        }
    }

    /// The start (ms) of the window holding `order`.
    pub(crate) fn start_of(&mut self, order: &Order) -> i64 {
        match self.width {
            Width::Fixed(ms) => order.timestamp.utc_millis().div_euclid(ms) * ms,
            Width::PolishDay => {
                let day = order.timestamp.local_date();
                match self.last_day {
                    Some((d, start)) if d == day => start,
                    _ => {
                        let start = EventTime::polish_midnight_millis(day);
                        self.last_day = Some((day, start));
                        start
                    }
                }
            }
        }
    }

    /// The start of the window holding instant `ms` (for rounding a query's bounds).
    pub(crate) fn floor(&self, ms: i64) -> i64 {
        match self.width {
            Width::Fixed(w) => ms.div_euclid(w) * w,
            Width::PolishDay => {
                EventTime::polish_midnight_millis(EventTime::in_poland(ms.saturating_mul(1000)).local_date())
            }
        }
    }

    /// The start of the window after the one starting at `start`.
    pub(crate) fn next_start(&self, start: i64) -> i64 {
        match self.width {
            Width::Fixed(w) => start.saturating_add(w),
            Width::PolishDay => {
                let day = EventTime::in_poland(start.saturating_mul(1000)).local_date();
                day.succ_opt().map_or(i64::MAX, EventTime::polish_midnight_millis)
            }
        }
    }

    pub(crate) fn add(&mut self, order: &Order, keys: &Keys, categories: &[Category]) {
        let start = self.start_of(order);
        self.windows
            .entry(start)
            .or_insert_with(|| Window::new(categories.len()))
            .add(order, keys, categories);
    }

    /// Adds an order read back from the files at `now_ms` if this tier keeps its time;
    /// an older one is left to the coarser tiers, and this tier no longer claims to
    /// hold the time before its retention.
    pub(crate) fn add_history(&mut self, order: &Order, keys: &Keys, categories: &[Category], now_ms: i64) {
        let keep_from = self.floor(now_ms.saturating_sub(self.retention_ms));
        if order.timestamp.utc_millis() < keep_from {
            self.kept_from = Some(self.kept_from.map_or(keep_from, |k| k.max(keep_from)));
        } else {
            self.add(order, keys, categories);
        }
    }

    /// Drops the windows older than the retention behind `watermark` (ms).
    ///
    /// Windows twice the retention behind the `newest` event of any partition go as
    /// well, whatever the watermark: a partition that never sends (no store of a
    /// scenario keyed to it) holds the watermark back until its idle timeout passes in
    /// processing time, and a backfill of a year read in seconds would otherwise keep a
    /// year of minute windows. A partition lagging that far behind still counts in the
    /// coarser tiers, which queries over its time read instead.
    pub(crate) fn expire(&mut self, watermark: i64, newest: i64) {
        let cutoff = watermark
            .saturating_sub(self.retention_ms)
            .max(newest.saturating_sub(self.retention_ms.saturating_mul(2)));
        // Nothing read from a partition yet, or no cut-off past the last one.
        if cutoff == i64::MIN || cutoff < self.next_expiry {
            return;
        }
        let keep_from = self.floor(cutoff);
        self.next_expiry = self.next_start(keep_from);
        if self.windows.first_key_value().is_some_and(|(start, _)| *start < keep_from) {
            self.windows = self.windows.split_off(&keep_from);
            self.kept_from = Some(keep_from);
        }
    }

    /// Whether every window from `from` (ms; `None`: the beginning) is still held.
    pub(crate) fn covers(&self, from: Option<i64>) -> bool {
        match (self.kept_from, from) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(kept), Some(from)) => self.floor(from) >= kept,
        }
    }
}
