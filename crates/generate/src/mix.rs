//! What an order holds once its channel, region and category are known: the store, the
//! product, the quantity and the payment method, each drawn by its weight.
//!
//! Every table is cumulative, so a draw is one uniform number and a binary search; the
//! generator's hot path never allocates or sums.

use std::collections::BTreeMap;

use crate::order::catalogue::{Category, Channel, Payment, Region};
use crate::order::Grosz;
use crate::scenario::{CategorySpec, Payments, ScenarioError, ValueBand};

/// The largest rate, share, multiplier or weight a scenario may give: their products and
/// sums stay finite, so no draw degenerates.
pub const MAX_WEIGHT: f64 = 1e9;

/// Cumulative weights of a list; [`Self::pick`] maps a uniform number to an index.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    cumulative: Vec<f64>,
}

impl Weights {
    /// Weights that must not all be zero (the caller checks).
    pub fn new(weights: impl IntoIterator<Item = f64>) -> Weights {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Weights { cumulative }
    }

    /// The index whose share of the total `u` (uniform in 0..1) falls into.
    pub fn pick(&self, u: f64) -> usize {
        let target = u * self.cumulative.last().copied().unwrap_or(0.0);
        self.cumulative.partition_point(|c| *c <= target).min(self.cumulative.len().saturating_sub(1))
    }

    /// Each entry's share of the total.
    pub fn shares(&self) -> Vec<f64> {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let mut previous = 0.0;
        self.cumulative
            .iter()
            .map(|c| {
                let share = (c - previous) / total;
                previous = *c;
                share
            })
            .collect()
    }
}

/// The payment mix of one channel within one band of order values.
#[derive(Debug, Clone)]
struct PaymentBand {
    /// Upper end of the band in gross grosz, exclusive.
    below: Grosz,
    weights: Weights,
}

/// The draws of one scenario.
#[derive(Debug, Clone)]
pub struct Mix {
    /// Per region, over [`Region::stores`].
    stores: Vec<Weights>,
    /// Per category, over its `items` (empty for a category without them).
    products: Vec<Weights>,
    /// Per category, over quantities 1 to 4.
    quantities: Vec<Weights>,
    /// Per channel, the bands in order of value.
    payments: [Vec<PaymentBand>; 2],
}

impl Mix {
    /// The store of an order in `region`.
    pub fn store(&self, region: Region, u: f64) -> usize {
        self.stores[region.index()].pick(u)
    }

    /// The index into `items` of an order of category `category`.
    pub fn product(&self, category: usize, u: f64) -> usize {
        self.products[category].pick(u)
    }

    /// How many units an order of category `category` has.
    pub fn quantity(&self, category: usize, u: f64) -> u8 {
        self.quantities[category].pick(u) as u8 + 1
    }

    /// How an order of `channel` worth `gross` is paid.
    pub fn payment(&self, channel: Channel, gross: Grosz, u: f64) -> Payment {
        Payment::ALL[self.band(channel, gross).weights.pick(u)]
    }

    /// The payment shares of `channel` for orders worth `gross`.
    pub fn payment_shares(&self, channel: Channel, gross: Grosz) -> Vec<(Payment, f64)> {
        Payment::ALL.iter().copied().zip(self.band(channel, gross).weights.shares()).collect()
    }

    /// The band of `channel` that an order worth `gross` falls into (the last one is
    /// unbounded).
    fn band(&self, channel: Channel, gross: Grosz) -> &PaymentBand {
        let bands = &self.payments[channel.index()];
        bands.iter().find(|b| gross < b.below).unwrap_or(&bands[bands.len() - 1])
    }
}

/// Builds the draws; errors name the scenario file, the key and the value.
pub(crate) struct MixBuilder<'a> {
    /// The scenario file, for errors.
    pub path: &'a str,
}

impl MixBuilder<'_> {
    fn invalid(&self, field: String, value: String, reason: &str) -> ScenarioError {
        ScenarioError::Invalid { path: self.path.to_string(), field, value, reason: reason.to_string() }
    }

    /// The draws for `categories`, compiled from `specs` (same order) and `payments`.
    pub(crate) fn build(
        &self,
        categories: &[Category],
        specs: &[CategorySpec],
        popularity: &[Vec<f64>],
        payments: &Payments,
    ) -> Result<Mix, ScenarioError> {
        let stores = Region::ALL.iter().map(|r| Weights::new(r.stores().iter().map(|s| s.weight))).collect();
        let products = popularity.iter().map(|p| Weights::new(p.iter().copied())).collect();
        let mut quantities = Vec::with_capacity(categories.len());
        for (i, category) in categories.iter().enumerate() {
            let weights = match specs.get(i).and_then(|s| s.quantity.as_ref()) {
                None => vec![1.0; 4],
                Some(q) => self.quantity(&format!("categories[{i}] ({}).quantity", category.name), q)?,
            };
            quantities.push(Weights::new(weights));
        }
        let payments = [
            self.payments("online", &payments.online, payments)?,
            self.payments("in_store", &payments.in_store, payments)?,
        ];
        Ok(Mix { stores, products, quantities, payments })
    }

    fn quantity(&self, field: &str, q: &[f64]) -> Result<Vec<f64>, ScenarioError> {
        let ok = q.len() == 4
            && q.iter().all(|w| w.is_finite() && (0.0..=MAX_WEIGHT).contains(w))
            && q.iter().sum::<f64>() > 0.0;
        if !ok {
            return Err(self.invalid(
                field.to_string(),
                format!("{q:?}"),
                "needs 4 weights from 0 to 1e9 (1, 2, 3 and 4 units), not all 0",
            ));
        }
        Ok(q.to_vec())
    }

    /// One channel's bands: the shares of the file, with the instalments share scaled
    /// by each band's factor.
    fn payments(
        &self,
        channel: &str,
        shares: &BTreeMap<String, f64>,
        all: &Payments,
    ) -> Result<Vec<PaymentBand>, ScenarioError> {
        let mut base = vec![0.0; Payment::ALL.len()];
        for (name, share) in shares {
            let field = format!("payments.{channel}.{name}");
            let payment = Payment::parse(name).ok_or_else(|| {
                let known: Vec<&str> = Payment::ALL.iter().map(|p| p.as_str()).collect();
                self.invalid(
                    field.clone(),
                    name.clone(),
                    &format!("unknown payment method; the methods are {known:?}"),
                )
            })?;
            if !(share.is_finite() && (0.0..=MAX_WEIGHT).contains(share)) {
                return Err(self.invalid(field, share.to_string(), "must be a number from 0 to 1e9"));
            }
            base[payment.index()] = *share;
        }
        if base.iter().sum::<f64>() <= 0.0 {
            return Err(self.invalid(
                format!("payments.{channel}"),
                format!("{shares:?}"),
                "needs at least one payment method with a share above 0",
            ));
        }
        let bands = self.bands(&all.instalments_by_value)?;
        let mut compiled = Vec::with_capacity(bands.len());
        for (below, factor) in bands {
            let mut weights = base.clone();
            weights[Payment::Instalments.index()] *= factor;
            if weights.iter().sum::<f64>() <= 0.0 {
                return Err(self.invalid(
                    "payments.instalments_by_value".into(),
                    format!("factor {factor}"),
                    &format!("leaves no payment method for {channel} orders in that band"),
                ));
            }
            compiled.push(PaymentBand { below, weights: Weights::new(weights) });
        }
        Ok(compiled)
    }

    /// The value bands as (upper end in grosz, factor), ascending, the last unbounded.
    fn bands(&self, bands: &[ValueBand]) -> Result<Vec<(Grosz, f64)>, ScenarioError> {
        if bands.is_empty() {
            return Ok(vec![(Grosz::MAX, 1.0)]);
        }
        let field = |i: usize| format!("payments.instalments_by_value[{i}]");
        let mut out = Vec::with_capacity(bands.len());
        let mut previous = 0;
        for (i, band) in bands.iter().enumerate() {
            if !(band.factor.is_finite() && (0.0..=MAX_WEIGHT).contains(&band.factor)) {
                return Err(self.invalid(
                    field(i) + ".factor",
                    band.factor.to_string(),
                    "must be a number from 0 to 1e9",
                ));
            }
            let last = i + 1 == bands.len();
            let below = match (band.below, last) {
                (None, true) => Grosz::MAX,
                (Some(pln), false) if pln.is_finite() && (0.01..1e12).contains(&pln) => {
                    (pln * 100.0).round() as Grosz
                }
                (None, false) => {
                    return Err(self.invalid(
                        field(i),
                        "no `below`".into(),
                        "only the last band may leave out `below`",
                    ))
                }
                (Some(pln), true) => {
                    return Err(self.invalid(
                        field(i) + ".below",
                        pln.to_string(),
                        "the last band has no `below` (it takes every value above the others)",
                    ))
                }
                (Some(pln), false) => {
                    return Err(self.invalid(
                        field(i) + ".below",
                        pln.to_string(),
                        "must be an amount in PLN of at least 0.01",
                    ))
                }
            };
            if below <= previous {
                return Err(self.invalid(
                    field(i) + ".below",
                    band.below.unwrap_or_default().to_string(),
                    "bands must be in ascending order",
                ));
            }
            previous = below;
            out.push((below, band.factor));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_pick_in_proportion_and_skip_zeros() {
        let w = Weights::new([1.0, 0.0, 3.0]);
        assert_eq!(w.pick(0.0), 0);
        assert_eq!(w.pick(0.24), 0);
        assert_eq!(w.pick(0.26), 2);
        assert_eq!(w.pick(0.999_999), 2);
        assert_eq!(w.shares(), vec![0.25, 0.0, 0.75]);
    }
}
