//! Stage 4: live analytics over event time.
//!
//! Orders are summed into tumbling windows (one minute by default) of their event time.
//! The watermark is the slowest active partition's latest event time ([`watermarks`]),
//! so reading a topic from its start, in any partition order, counts nothing as late.
//! Orders read back from the CSV files are final and taken as they are. A window keeps
//! taking late orders until
//! the watermark passes its end by the allowed lateness (one hour by default); an order
//! later than that is counted as late (it is still written to the CSV files). Windows
//! older than the retention are dropped, so memory stays bounded on endless runs.
//!
//! Every window keeps its sums per (region, category) cell with the other breakdowns
//! inside the cell, so a summary filtered by time, region and category is exact to the
//! grosz and equals the totals recomputed from the CSV files.

// The crates below this one, under the names the modules use.
#[cfg(test)]
use orderstream_generate as generate;
use orderstream_model as order;

mod breakdown;
mod customers;
pub mod rebuild;
mod tier;
mod totals;
pub mod watermarks;
mod window;

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde::Serialize;

pub use customers::SeenCustomers;
pub use totals::{Totals, TotalsReport};
pub use window::{Keys, Window};

use crate::order::Order;
use crate::order::{Catalogue, Category, Region};
use breakdown::Breakdown;
use tier::Tier;
pub use tier::Width;
use watermarks::Watermarks;

/// Settings of the analytics.
#[derive(Debug, Clone)]
pub struct AnalyticsConfig {
    /// Width of a tumbling window.
    pub window: Duration,
    /// How long after its end a window still takes late orders.
    pub allowed_lateness: Duration,
    /// How much event time before the watermark is kept in windows of `window`.
    pub retention: Duration,
    /// How much is kept in the coarser rollups (hours for up to 32 days, Polish days
    /// for the rest), for charts and totals over long history.
    pub history: Duration,
    /// Customers remembered per generation to tell new from repeat buyers.
    pub customer_memory: usize,
    /// Latest orders kept for the ticker.
    pub ticker: usize,
    /// A partition that sends nothing for this long stops holding the watermark back.
    pub idle_timeout: Duration,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            window: Duration::from_secs(60),
            allowed_lateness: Duration::from_secs(3600),
            retention: Duration::from_secs(48 * 3600),
            history: Duration::from_secs(400 * 86_400),
            customer_memory: 250_000,
            ticker: 50,
            idle_timeout: Duration::from_secs(30),
        }
    }
}

/// What happened to a recorded order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Its window was still open.
    OnTime,
    /// Its window had ended but was within the allowed lateness: updated.
    LateUpdated,
    /// Later than the allowed lateness (or the retention): only counted as late.
    TooLate,
}

/// Which orders a query covers; `None` means no restriction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filter {
    /// Event time from (ms since the Unix epoch, inclusive; windows starting at or after).
    pub from_ms: Option<i64>,
    /// Event time to (exclusive; windows starting before).
    pub to_ms: Option<i64>,
    /// Indices into [`Region::ALL`].
    pub regions: Choice,
    /// Indices into the active categories.
    pub categories: Choice,
}

/// The values a filter keeps of one dimension, by index: any, or a chosen set (the
/// dashboard's multi-select). Dimensions here have at most 64 values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Choice(Option<u64>);

impl Choice {
    /// No restriction.
    pub const ANY: Choice = Choice(None);

    /// Only the values at `indices` (each below 64); none at all if `indices` is empty.
    pub fn only(indices: impl IntoIterator<Item = usize>) -> Choice {
        Choice(Some(indices.into_iter().filter(|i| *i < 64).fold(0, |set, i| set | 1 << i)))
    }

    /// Whether the value at `index` is kept.
    pub fn keeps(self, index: usize) -> bool {
        self.0.is_none_or(|set| index < 64 && set & (1 << index) != 0)
    }

    /// Whether nothing is restricted.
    pub fn is_any(self) -> bool {
        self.0.is_none()
    }
}

/// What a stacked series is split by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Product category.
    Category,
    /// Sales region.
    Region,
}

/// The live state.
#[derive(Debug)]
pub struct Analytics {
    config: AnalyticsConfig,
    window_ms: i64,
    lateness_ms: i64,
    categories: &'static [Category],
    /// Finest first: the configured windows, then hourly and daily rollups.
    tiers: Vec<Tier>,
    marks: Watermarks,
    customers: SeenCustomers,
    too_late: Totals,
    late_updates: u64,
    recorded: u64,
    ticker: VecDeque<Order>,
    /// The newest event time (ms) of the orders read back from the files.
    newest_final_ms: Option<i64>,
    /// The newest event time (ms) read from any partition.
    newest_ms: Option<i64>,
}

impl Analytics {
    /// Empty state over `catalogue`'s categories.
    pub fn new(config: AnalyticsConfig, catalogue: Catalogue) -> Self {
        let categories = catalogue.categories();
        let ms = |d: Duration| d.as_millis().min(i64::MAX as u128) as i64;
        let window_ms = ms(config.window).max(1);
        let lateness_ms = ms(config.allowed_lateness);
        Analytics {
            window_ms,
            lateness_ms,
            tiers: tiers(window_ms, ms(config.retention).max(window_ms + lateness_ms), ms(config.history)),
            customers: SeenCustomers::new(config.customer_memory),
            categories,
            marks: Watermarks::new(config.idle_timeout),
            too_late: Totals::default(),
            late_updates: 0,
            recorded: 0,
            ticker: VecDeque::with_capacity(config.ticker),
            newest_final_ms: None,
            newest_ms: None,
            config,
        }
    }

    /// The partitions the orders come from now (after a rebalance): each holds the
    /// watermark back until it sends or goes idle.
    pub fn assign(&mut self, partitions: &[i32]) {
        self.marks.assign(partitions);
    }

    /// Adds one order read from `partition`.
    pub fn record_from(&mut self, partition: i32, order: &Order) -> Outcome {
        self.show_in_ticker(std::slice::from_ref(order));
        self.aggregate(order, Some(partition), 0)
    }

    /// Adds an order read back from the CSV files at `now_ms`: final, so never late, and
    /// it does not move the watermark. Each resolution takes it only if it lies within
    /// that resolution's retention back from `now_ms`, so a rebuild of a year of files
    /// holds minutes for two days, hours for a month and days for the rest.
    pub fn record_final(&mut self, order: &Order, now_ms: i64) -> Outcome {
        self.show_in_ticker(std::slice::from_ref(order));
        self.aggregate(order, None, now_ms)
    }

    /// Adds orders (with their partitions) that arrived together: only the newest of
    /// them reach the ticker.
    pub fn record_all(&mut self, orders: &[(i32, Order)]) -> Vec<Outcome> {
        let skip = orders.len().saturating_sub(self.config.ticker);
        let newest: Vec<Order> = orders[skip..].iter().map(|(_, o)| *o).collect();
        self.show_in_ticker(&newest);
        orders.iter().map(|(p, o)| self.aggregate(o, Some(*p), 0)).collect()
    }

    fn show_in_ticker(&mut self, orders: &[Order]) {
        for order in orders.iter().take(self.config.ticker) {
            if self.ticker.len() == self.config.ticker {
                self.ticker.pop_front();
            }
            self.ticker.push_back(*order);
        }
    }

    /// Sums an order into its window; `partition` is `None` for a final order (from the
    /// files, read at `now_ms`), which is never late.
    fn aggregate(&mut self, order: &Order, partition: Option<i32>, now_ms: i64) -> Outcome {
        self.recorded += 1;
        let t = order.timestamp.utc_millis();
        let repeat = self.customers.visit(order.customer_id);
        let watermark = match partition {
            Some(p) => self.marks.observe(p, t),
            None => None,
        };
        if partition.is_some() {
            self.newest_ms = self.newest_ms.max(Some(t));
        }
        let (w, newest) = (watermark.unwrap_or(i64::MIN), self.newest_ms.unwrap_or(i64::MIN));
        self.tiers.iter_mut().for_each(|tier| tier.expire(w, newest));
        let start = t.div_euclid(self.window_ms) * self.window_ms;
        let end = start + self.window_ms;
        let Some(keys) = Keys::of(order, self.categories, repeat) else {
            self.too_late.add(order);
            return Outcome::TooLate;
        };
        if watermark.is_some_and(|w| end + self.lateness_ms <= w) {
            self.too_late.add(order);
            return Outcome::TooLate;
        }
        let categories = self.categories;
        if partition.is_none() {
            self.newest_final_ms = self.newest_final_ms.max(Some(t));
        }
        match partition {
            Some(_) => self.tiers.iter_mut().for_each(|tier| tier.add(order, &keys, categories)),
            None => self.tiers.iter_mut().for_each(|tier| tier.add_history(order, &keys, categories, now_ms)),
        }
        if watermark.is_some_and(|w| end <= w) {
            self.late_updates += 1;
            Outcome::LateUpdated
        } else {
            Outcome::OnTime
        }
    }

    /// Orders recorded so far (on time or not).
    pub fn recorded(&self) -> u64 {
        self.recorded
    }

    /// Orders later than the allowed lateness.
    pub fn too_late(&self) -> Totals {
        self.too_late
    }

    /// The watermark (ms): the slowest active partition's latest event time, if any.
    pub fn watermark_ms(&mut self) -> Option<i64> {
        self.marks.current()
    }

    /// The instant a relative range (`the last 24 hours`) counts back from: the
    /// watermark, or while a partition with no order yet holds it back, the latest event
    /// time read, or after a restart with nothing read yet, the newest order of the files.
    pub fn range_end_ms(&mut self) -> Option<i64> {
        self.marks.current().or(self.newest_ms).or(self.newest_final_ms)
    }

    /// The event time of the newest order read from the topic or the files ("data up
    /// to").
    pub fn newest_ms(&self) -> Option<i64> {
        self.newest_ms.max(self.newest_final_ms)
    }

    /// The start of the oldest window still held at any resolution: figures before it
    /// are not kept (a comparison reaching before it would compare with nothing).
    pub fn oldest_ms(&self) -> Option<i64> {
        self.tiers.iter().filter_map(|t| t.windows.keys().next().copied()).min()
    }

    /// The catalogue the breakdowns index into.
    pub fn categories(&self) -> &'static [Category] {
        self.categories
    }

    /// The catalogue this state aggregates by.
    pub fn catalogue(&self) -> Catalogue {
        Catalogue::new(self.categories)
    }

    /// The latest orders, oldest first.
    pub fn ticker(&self) -> impl DoubleEndedIterator<Item = &Order> {
        self.ticker.iter()
    }

    /// Windows of the finest resolution kept now.
    pub fn window_count(&self) -> usize {
        self.tiers[0].windows.len()
    }

    /// The resolution a query over `filter` is answered at: the finest that still holds
    /// its whole span. Bounds are rounded down to its windows.
    pub fn resolution(&self, filter: &Filter) -> Width {
        self.tier(filter).width
    }

    fn tier(&self, filter: &Filter) -> &Tier {
        self.tiers.iter().find(|t| t.covers(filter.from_ms)).unwrap_or(&self.tiers[self.tiers.len() - 1])
    }

    fn cells<'a>(
        &'a self,
        filter: &'a Filter,
    ) -> impl Iterator<Item = (i64, usize, usize, &'a window::Cell)> + 'a {
        let tier = self.tier(filter);
        let from = filter.from_ms.map_or(i64::MIN, |f| tier.floor(f));
        let to = filter.to_ms.unwrap_or(i64::MAX);
        let n = self.categories.len();
        tier.windows.range(from..to.max(from)).flat_map(move |(start, window)| {
            window.cells.iter().enumerate().filter_map(move |(i, cell)| {
                let (region, category) = (i / n, i % n);
                let keep = filter.regions.keeps(region) && filter.categories.keeps(category);
                cell.as_deref().filter(|_| keep).map(|cell| (*start, region, category, cell))
            })
        })
    }

    /// The event time (ms, end exclusive) a query over `filter` covers: its bounds
    /// widened to whole windows of the resolution that answers it, so that a list of the
    /// orders behind a figure (an export) holds exactly the orders summed in it.
    pub fn covered(&self, filter: &Filter) -> (Option<i64>, Option<i64>) {
        let tier = self.tier(filter);
        // Windows before those the answering resolution still holds count in nothing.
        let from = match (filter.from_ms.map(|f| tier.floor(f)), tier.kept_from) {
            (Some(f), Some(kept)) => Some(f.max(kept)),
            (from, kept) => from.or(kept),
        };
        let to = filter.to_ms.map(|t| tier.next_start(tier.floor(t.saturating_sub(1))));
        (from, to)
    }

    /// Totals per window start (ms) for the filter, oldest first.
    pub fn series(&self, filter: &Filter) -> Vec<(i64, Totals)> {
        let mut series: Vec<(i64, Totals)> = Vec::new();
        for (start, _, _, cell) in self.cells(filter) {
            match series.last_mut() {
                Some((s, totals)) if *s == start => totals.merge(&cell.totals),
                _ => series.push((start, cell.totals)),
            }
        }
        series
    }

    /// The period of the same length just before `filter`'s, with the same region and
    /// category: what the scorecards compare with (Looker Studio's "previous period").
    /// `None` when the filter has no start. It ends where the first window of `filter`
    /// begins, so that no window counts in both.
    pub fn previous_period(&mut self, filter: &Filter) -> Option<Filter> {
        let from = self.tier(filter).floor(filter.from_ms?);
        let to = filter.to_ms.or_else(|| self.range_end_ms())?.max(from + 1);
        Some(Filter { from_ms: Some(from.saturating_sub(to - from)), to_ms: Some(from), ..*filter })
    }

    /// Totals per window start (ms) and per category or region (indexed as
    /// [`Analytics::categories`] or [`Region::ALL`]), oldest first: the stacked charts.
    pub fn split_series(&self, filter: &Filter, by: Split) -> Vec<(i64, Vec<Totals>)> {
        let keys = match by {
            Split::Category => self.categories.len(),
            Split::Region => Region::ALL.len(),
        };
        let mut series: Vec<(i64, Vec<Totals>)> = Vec::new();
        for (start, region, category, cell) in self.cells(filter) {
            if series.last().is_none_or(|(s, _)| *s != start) {
                series.push((start, vec![Totals::default(); keys]));
            }
            let (_, split) = series.last_mut().expect("pushed above");
            let key = match by {
                Split::Category => category,
                Split::Region => region,
            };
            split[key].merge(&cell.totals);
        }
        series
    }

    /// The totals of the filter alone, without the breakdowns of [`Analytics::summary`]
    /// (the scorecards' previous period).
    pub fn total(&self, filter: &Filter) -> Totals {
        let mut total = Totals::default();
        self.cells(filter).for_each(|(_, _, _, cell)| total.merge(&cell.totals));
        total
    }

    /// Totals per (region, category) cell for the filter, in one pass over the windows;
    /// every cell of the catalogue is listed, empty ones with zeros.
    pub fn cell_totals(&self, filter: &Filter) -> BTreeMap<(usize, usize), Totals> {
        let mut cells: BTreeMap<(usize, usize), Totals> = (0..Region::ALL.len())
            .flat_map(|r| (0..self.categories.len()).map(move |c| ((r, c), Totals::default())))
            .collect();
        for (_, region, category, cell) in self.cells(filter) {
            cells.entry((region, category)).or_default().merge(&cell.totals);
        }
        cells
    }

    /// Everything the dashboard shows for the filter; top lists hold `top` entries.
    pub fn summary(&self, filter: &Filter, top: usize) -> Summary {
        let mut breakdown = Breakdown::new(self.categories);
        for (_, region, category, cell) in self.cells(filter) {
            breakdown.add(region, category, cell);
        }
        Summary {
            total: breakdown.total.report(),
            by_region: breakdown.by_region(),
            by_category: breakdown.by_category(),
            by_channel: breakdown.by_channel(),
            by_device: breakdown.by_device(),
            by_payment: breakdown.by_payment(),
            new_customers: breakdown.customers[0].report(),
            repeat_customers: breakdown.customers[1].report(),
            top_products: breakdown.top_products(top),
            top_stores: breakdown.top_stores(top),
            top_brands: breakdown.top_brands(top),
            late: Late { too_late_orders: self.too_late.orders, late_updates: self.late_updates },
            watermark_ms: self.marks.latest(),
        }
    }
}

/// One entry of a top list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ranked {
    /// Product, store or brand.
    pub name: &'static str,
    /// Its category (products) or region (stores).
    pub group: &'static str,
    /// Its sums.
    #[serde(flatten)]
    pub totals: TotalsReport,
}

/// Late-data counters.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Late {
    /// Orders later than the allowed lateness: in the CSV files, not in the windows.
    pub too_late_orders: u64,
    /// Late orders that still updated their window.
    pub late_updates: u64,
}

/// A filtered view of the analytics.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// All matching orders.
    #[serde(flatten)]
    pub total: TotalsReport,
    /// Per region.
    pub by_region: BTreeMap<&'static str, TotalsReport>,
    /// Per category.
    pub by_category: BTreeMap<&'static str, TotalsReport>,
    /// Per sales channel.
    pub by_channel: BTreeMap<&'static str, TotalsReport>,
    /// Per device.
    pub by_device: BTreeMap<&'static str, TotalsReport>,
    /// Per payment method.
    pub by_payment: BTreeMap<&'static str, TotalsReport>,
    /// Orders of first-time customers.
    pub new_customers: TotalsReport,
    /// Orders of returning customers.
    pub repeat_customers: TotalsReport,
    /// Best-selling products by gross value.
    pub top_products: Vec<Ranked>,
    /// Best-selling stores by gross value.
    pub top_stores: Vec<Ranked>,
    /// Best-selling brands by gross value.
    pub top_brands: Vec<Ranked>,
    /// Late data.
    pub late: Late,
    /// Latest event time seen.
    pub watermark_ms: Option<i64>,
}

/// The tiers for windows of `window_ms` kept `retention_ms`: then hours for up to 32
/// days and Polish days for `history_ms`, each only when coarser than the one before.
fn tiers(window_ms: i64, retention_ms: i64, history_ms: i64) -> Vec<Tier> {
    let mut tiers = vec![Tier::new(Width::Fixed(window_ms), retention_ms)];
    const HOUR: i64 = 3_600_000;
    if window_ms < HOUR {
        tiers.push(Tier::new(Width::Fixed(HOUR), (32 * 24 * HOUR).min(history_ms).max(retention_ms)));
    }
    if window_ms < 24 * HOUR {
        tiers.push(Tier::new(Width::PolishDay, history_ms.max(retention_ms)));
    }
    tiers
}

#[cfg(test)]
mod tests;
