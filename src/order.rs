//! The order record: the compatibility contract shared by the producer, the Kafka topic,
//! the CSV files and (later) the sheet.
//!
//! An [`Order`] is `Copy` and allocation-free: its text fields point into the static
//! [`catalogue`](crate::generate::catalogue). Money is kept in integer grosz so that the
//! VAT invariant can be checked exactly, and time as [`EventTime`] so that the order keeps
//! the UTC offset it was created with (its CSV day is the local day of that offset).

mod decode;
mod encode;
mod files;
mod time;

pub use decode::{check_event_time, decode_csv_record, decode_json, DecodeError, EARLIEST_EVENT_TIME};
pub(crate) use encode::push_money;
pub use encode::{write_csv_row, write_json};
pub use files::{day_file_name, is_day_file};
pub use time::{EventTime, TimeArg};

use uuid::Uuid;

/// Column order of the CSV files and the sheet, per SPEC.
pub const CSV_HEADER: [&str; 15] = [
    "id",
    "timestamp",
    "store_id",
    "region",
    "sales_channel",
    "device_type",
    "customer_id",
    "payment_method",
    "nazwa_produktu",
    "marka",
    "kategoria_produktu",
    "ilosc",
    "cena_netto",
    "wartosc_brutto",
    "sprzedawca",
];

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
    pub region: &'static str,
    /// `online` or `in_store`.
    pub sales_channel: &'static str,
    /// `mobile`/`pc` online, `store` in a store.
    pub device_type: &'static str,
    /// Buyer; repeat buyers reuse an earlier id.
    pub customer_id: Uuid,
    /// How the buyer paid.
    pub payment_method: &'static str,
    /// Product name.
    pub nazwa_produktu: &'static str,
    /// Brand.
    pub marka: &'static str,
    /// Product category.
    pub kategoria_produktu: &'static str,
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
/// use orderstream::order::gross_value;
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
