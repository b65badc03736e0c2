//! The four sums every breakdown carries, kept in integer grosz so that they add up to the
//! CSV files exactly.

use serde::Serialize;

use crate::order::{Grosz, Order};

/// Orders, units and money of a set of orders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Number of orders.
    pub orders: u64,
    /// Units sold (`ilosc`).
    pub units: u64,
    /// Net value: unit net price times quantity, in grosz.
    pub net: Grosz,
    /// Gross value (`wartosc_brutto`), in grosz.
    pub gross: Grosz,
}

impl Totals {
    /// Adds one order.
    pub fn add(&mut self, order: &Order) {
        self.orders += 1;
        self.units += u64::from(order.ilosc);
        self.net += order.cena_netto * i64::from(order.ilosc);
        self.gross += order.wartosc_brutto;
    }

    /// Adds another set.
    pub fn merge(&mut self, other: &Totals) {
        self.orders += other.orders;
        self.units += other.units;
        self.net += other.net;
        self.gross += other.gross;
    }

    /// The JSON shape of the API: values in PLN plus exact grosz.
    pub fn report(&self) -> TotalsReport {
        TotalsReport {
            orders: self.orders,
            units: self.units,
            net_value: self.net as f64 / 100.0,
            gross_value: self.gross as f64 / 100.0,
            avg_order_value: if self.orders == 0 {
                0.0
            } else {
                (self.gross as f64 / self.orders as f64).round() / 100.0
            },
            net_value_grosz: self.net,
            gross_value_grosz: self.gross,
        }
    }
}

/// [`Totals`] as the API shows them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TotalsReport {
    /// Number of orders.
    pub orders: u64,
    /// Units sold.
    pub units: u64,
    /// Net value in PLN.
    pub net_value: f64,
    /// Gross value in PLN.
    pub gross_value: f64,
    /// Gross value per order in PLN.
    pub avg_order_value: f64,
    /// Net value in grosz, exact.
    pub net_value_grosz: i64,
    /// Gross value in grosz, exact.
    pub gross_value_grosz: i64,
}
