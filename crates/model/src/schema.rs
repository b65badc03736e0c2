//! The fifteen fields of an order, declared once: their names in column order and each
//! order's values as typed cells. The JSON, CSV and sheet writers walk this declaration,
//! so a field added or moved here moves in every format at once.

use uuid::Uuid;

use super::{EventTime, Grosz, Order};

/// Column order of the CSV files and the sheet, and key order of the JSON: the order record of docs/design.md.
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

/// One field's value, typed so that each format can write it its own way.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    /// The order id: a JSON number, CSV digits, sheet text (it passes 2^53).
    Id(u64),
    /// An event time in ISO 8601 with its offset.
    Time(&'a EventTime),
    /// Catalogue text; never needs escaping in CSV (a catalogue test checks).
    Text(&'static str),
    /// A customer id.
    Uuid(&'a Uuid),
    /// A small count (the quantity).
    Count(u8),
    /// Money in grosz, written as zloty with two decimals.
    Money(Grosz),
    /// Text that may be absent (the salesperson of an online sale).
    Optional(Option<&'static str>),
}

impl Order {
    /// The order's values in [`CSV_HEADER`] order.
    #[inline]
    pub fn cells(&self) -> [Cell<'_>; 15] {
        [
            Cell::Id(self.id),
            Cell::Time(&self.timestamp),
            Cell::Text(self.store_id),
            Cell::Text(self.region.as_str()),
            Cell::Text(self.sales_channel.as_str()),
            Cell::Text(self.device_type.as_str()),
            Cell::Uuid(&self.customer_id),
            Cell::Text(self.payment_method.as_str()),
            Cell::Text(self.nazwa_produktu),
            Cell::Text(self.marka),
            Cell::Text(self.kategoria_produktu.name),
            Cell::Count(self.ilosc),
            Cell::Money(self.cena_netto),
            Cell::Money(self.wartosc_brutto),
            Cell::Optional(self.sprzedawca),
        ]
    }
}

/// The same object as [`write_json`](super::write_json), through serde, for where an
/// order travels inside a larger document (the dashboard's ticker). Money is a JSON
/// number, so trailing zeros of the decimals are not kept.
impl serde::Serialize for Order {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(CSV_HEADER.len()))?;
        let mut text = Vec::with_capacity(40);
        for (name, cell) in CSV_HEADER.iter().zip(self.cells()) {
            match cell {
                Cell::Id(id) => map.serialize_entry(name, &id)?,
                Cell::Count(n) => map.serialize_entry(name, &n)?,
                Cell::Money(grosz) => map.serialize_entry(name, &(grosz as f64 / 100.0))?,
                Cell::Text(value) => map.serialize_entry(name, value)?,
                Cell::Optional(value) => map.serialize_entry(name, &value)?,
                Cell::Time(_) | Cell::Uuid(_) => {
                    text.clear();
                    super::push_cell_text(&mut text, &cell);
                    map.serialize_entry(name, std::str::from_utf8(&text).unwrap_or_default())?;
                }
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use crate::{decode_json, write_json, Catalogue};

    #[test]
    fn serde_and_the_hand_written_writer_give_the_same_object() {
        let good = br#"{"id":7,"timestamp":"2026-11-26T09:15:02.345+01:00","store_id":"Lublin","region":"Wschod","sales_channel":"in_store","device_type":"store","customer_id":"8d3f2c1e-9a4b-4c5d-8e6f-0a1b2c3d4e5f","payment_method":"blik","nazwa_produktu":"Powerbank","marka":"Anker","kategoria_produktu":"Akcesoria","ilosc":3,"cena_netto":99.99,"wartosc_brutto":368.96,"sprzedawca":"Tomasz Wojcik"}"#;
        let order = decode_json(good, &Catalogue::prototype()).unwrap();
        let mut written = Vec::new();
        write_json(&order, &mut written);
        let by_hand: serde_json::Value = serde_json::from_slice(&written).unwrap();
        assert_eq!(serde_json::to_value(order).unwrap(), by_hand);
    }
}
