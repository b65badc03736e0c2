//! The order model: the compatibility contract shared by the producer, the Kafka topic,
//! the CSV files and the sheet. No Kafka, no I/O beyond parsing; every other crate of
//! the workspace builds on this one.
//!
//! An [`Order`] is `Copy` and allocation-free: its fixed dimensions are enums and its
//! text fields point into the [`catalogue`]. Its fifteen fields are declared once, in
//! [`schema`], and every writer (JSON, CSV, sheet rows) walks that declaration. Money is
//! kept in integer grosz so that the VAT invariant can be checked exactly, and time as
//! [`EventTime`] so that the order keeps the UTC offset it was created with (its CSV day
//! is the local day of that offset). [`clock`] is the wall clock every layer reads.

pub mod catalogue;
pub mod clock;
mod decode;
mod encode;
mod files;
pub mod schema;
mod time;

pub use catalogue::{Catalogue, Category, Channel, Device, Payment, Region, Store};
pub use decode::{
    check_event_time, check_fields, decode_csv_record, decode_json, DecodeError, OrderFields,
    EARLIEST_EVENT_TIME,
};
pub use encode::{push_cell_text, push_money, write_csv_row, write_json};
pub use files::{day_file_name, is_day_file};
pub use schema::{Cell, CSV_HEADER};
pub use time::{EventTime, TimeArg};

use uuid::Uuid;

/// One hundredth of a zloty; integer so that sums and the VAT rule are exact.
pub type Grosz = i64;

/// One sale, as produced to Kafka and written to the CSV files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    /// Unique across producer restarts and concurrent producers (see `generate::ids`).
    pub id: u64,
    /// When the sale happened, with the store's local UTC offset.
    pub timestamp: EventTime,
    /// City of the store; also the Kafka message key.
    pub store_id: &'static str,
    /// Region of that city.
    pub region: Region,
    /// Online or in a store.
    pub sales_channel: Channel,
    /// Mobile or PC online, the store's till in a store.
    pub device_type: Device,
    /// Buyer; repeat buyers reuse an earlier id.
    pub customer_id: Uuid,
    /// How the buyer paid.
    pub payment_method: Payment,
    /// Product name.
    pub nazwa_produktu: &'static str,
    /// Brand.
    pub marka: &'static str,
    /// Product category, from the catalogue the order was made or checked against.
    pub kategoria_produktu: &'static Category,
    /// Quantity, 1 to 4.
    pub ilosc: u8,
    /// Net unit price.
    pub cena_netto: Grosz,
    /// Gross value: net x quantity x 1.23, rounded half up to the grosz.
    pub wartosc_brutto: Grosz,
    /// Salesperson, only for in-store sales.
    pub sprzedawca: Option<&'static str>,
}

/// Gross value of `ilosc` units at `cena_netto` with 23% VAT, rounded half up to the grosz.
///
/// ```
/// use orderstream_model::gross_value;
/// // 3 x 99.99 PLN net = 299.97; with VAT 368.9631, rounded to 368.96.
/// assert_eq!(gross_value(9_999, 3), 36_896);
/// ```
pub fn gross_value(cena_netto: Grosz, ilosc: u8) -> Grosz {
    let hundredths = cena_netto * i64::from(ilosc) * 123;
    (hundredths + 50).div_euclid(100)
}

impl Order {
    /// The day (local to the order's own offset) whose CSV file holds this order.
    pub fn day(&self) -> chrono::NaiveDate {
        self.timestamp.local_date()
    }
}
