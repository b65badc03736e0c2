//! Hand-rolled JSON and CSV writers for [`Order`].
//!
//! Every text field of an order is a catalogue string (plain ASCII without quotes, commas
//! or backslashes, which a catalogue test checks), so neither format needs escaping and
//! both can be written straight into a reused buffer: this is the generator's and the CSV
//! sink's hot path. Money is written with exactly two decimals.

use super::{Grosz, Order};

/// Appends the order as one JSON object (no trailing newline).
pub fn write_json(order: &Order, out: &mut Vec<u8>) {
    let mut ints = itoa::Buffer::new();
    out.extend_from_slice(b"{\"id\":");
    out.extend_from_slice(ints.format(order.id).as_bytes());
    out.extend_from_slice(b",\"timestamp\":\"");
    order.timestamp.write_iso8601(out);
    text_field(out, b"store_id", order.store_id);
    text_field(out, b"region", order.region);
    text_field(out, b"sales_channel", order.sales_channel);
    text_field(out, b"device_type", order.device_type);
    out.extend_from_slice(b"\",\"customer_id\":\"");
    push_uuid(out, order);
    text_field(out, b"payment_method", order.payment_method);
    text_field(out, b"nazwa_produktu", order.nazwa_produktu);
    text_field(out, b"marka", order.marka);
    text_field(out, b"kategoria_produktu", order.kategoria_produktu);
    out.extend_from_slice(b"\",\"ilosc\":");
    out.extend_from_slice(ints.format(order.ilosc).as_bytes());
    out.extend_from_slice(b",\"cena_netto\":");
    push_money(out, order.cena_netto);
    out.extend_from_slice(b",\"wartosc_brutto\":");
    push_money(out, order.wartosc_brutto);
    match order.sprzedawca {
        Some(name) => {
            out.extend_from_slice(b",\"sprzedawca\":\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\"}");
        }
        None => out.extend_from_slice(b",\"sprzedawca\":null}"),
    }
}

/// Appends the order as one CSV row in [`CSV_HEADER`](super::CSV_HEADER) order, with `\n`.
pub fn write_csv_row(order: &Order, out: &mut Vec<u8>) {
    let mut ints = itoa::Buffer::new();
    out.extend_from_slice(ints.format(order.id).as_bytes());
    out.push(b',');
    order.timestamp.write_iso8601(out);
    for text in [order.store_id, order.region, order.sales_channel, order.device_type] {
        out.push(b',');
        out.extend_from_slice(text.as_bytes());
    }
    out.push(b',');
    push_uuid(out, order);
    for text in [order.payment_method, order.nazwa_produktu, order.marka, order.kategoria_produktu] {
        out.push(b',');
        out.extend_from_slice(text.as_bytes());
    }
    out.push(b',');
    out.extend_from_slice(ints.format(order.ilosc).as_bytes());
    out.push(b',');
    push_money(out, order.cena_netto);
    out.push(b',');
    push_money(out, order.wartosc_brutto);
    out.push(b',');
    out.extend_from_slice(order.sprzedawca.unwrap_or("").as_bytes());
    out.push(b'\n');
}

/// Closes the previous string value and writes `,"name":"value` (left open for the next).
fn text_field(out: &mut Vec<u8>, name: &[u8], value: &str) {
    out.extend_from_slice(b"\",\"");
    out.extend_from_slice(name);
    out.extend_from_slice(b"\":\"");
    out.extend_from_slice(value.as_bytes());
}

fn push_uuid(out: &mut Vec<u8>, order: &Order) {
    let mut buf = uuid::Uuid::encode_buffer();
    out.extend_from_slice(order.customer_id.hyphenated().encode_lower(&mut buf).as_bytes());
}

/// Writes grosz as zloty with two decimals: 123456 -> `1234.56`.
pub(crate) fn push_money(out: &mut Vec<u8>, grosz: Grosz) {
    if grosz < 0 {
        out.push(b'-');
    }
    let abs = grosz.unsigned_abs();
    out.extend_from_slice(itoa::Buffer::new().format(abs / 100).as_bytes());
    let cents = (abs % 100) as u8;
    out.push(b'.');
    out.push(b'0' + cents / 10);
    out.push(b'0' + cents % 10);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::catalogue::{CATEGORIES, REGIONS};

    #[test]
    fn money_has_two_decimals() {
        for (grosz, text) in [(0, "0.00"), (5, "0.05"), (123456, "1234.56"), (-150, "-1.50")] {
            let mut out = Vec::new();
            push_money(&mut out, grosz);
            assert_eq!(String::from_utf8(out).unwrap(), text);
        }
    }

    #[test]
    fn catalogue_text_needs_no_escaping() {
        let mut all: Vec<&str> = Vec::new();
        for r in REGIONS {
            all.push(r.name);
            for s in r.stores {
                all.push(s.city);
                all.extend(s.salespeople);
            }
        }
        for c in CATEGORIES {
            all.push(c.name);
            all.extend(c.products);
            all.extend(c.brands);
        }
        for text in all {
            assert!(
                text.bytes().all(|b| b.is_ascii_graphic() || b == b' ') && !text.contains(['"', ',', '\\']),
                "{text:?} would need escaping"
            );
        }
    }
}
