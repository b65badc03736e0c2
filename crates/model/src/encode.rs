//! Hand-rolled JSON and CSV writers for [`Order`].
//!
//! Every text field of an order is a catalogue string (UTF-8 text without quotes, commas,
//! backslashes or control characters, which a catalogue test and the scenario's checks
//! make sure of), so neither format needs escaping and
//! both can be written straight into a reused buffer: this is the generator's and the CSV
//! sink's hot path. Money is written with exactly two decimals.

use super::{Cell, Grosz, Order, CSV_HEADER};

/// Appends the order as one JSON object (no trailing newline), keys in
/// [`CSV_HEADER`] order.
pub fn write_json(order: &Order, out: &mut Vec<u8>) {
    let mut ints = itoa::Buffer::new();
    out.push(b'{');
    for (i, (name, cell)) in CSV_HEADER.iter().zip(order.cells()).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        match cell {
            Cell::Id(id) => out.extend_from_slice(ints.format(id).as_bytes()),
            Cell::Count(n) => out.extend_from_slice(ints.format(n).as_bytes()),
            Cell::Money(grosz) => push_money(out, grosz),
            Cell::Optional(None) => out.extend_from_slice(b"null"),
            Cell::Time(_) | Cell::Uuid(_) | Cell::Text(_) | Cell::Optional(Some(_)) => {
                out.push(b'"');
                push_cell_text(out, &cell);
                out.push(b'"');
            }
        }
    }
    out.push(b'}');
}

/// Appends the order as one CSV row in [`CSV_HEADER`] order, with `\n`.
pub fn write_csv_row(order: &Order, out: &mut Vec<u8>) {
    for (i, cell) in order.cells().iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_cell_text(out, cell);
    }
    out.push(b'\n');
}

/// Writes a cell as bare text: digits, money, ISO time, a UUID, or the text itself (an
/// absent one as nothing).
#[inline]
pub fn push_cell_text(out: &mut Vec<u8>, cell: &Cell<'_>) {
    match *cell {
        Cell::Id(id) => out.extend_from_slice(itoa::Buffer::new().format(id).as_bytes()),
        Cell::Count(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        Cell::Money(grosz) => push_money(out, grosz),
        Cell::Time(time) => time.write_iso8601(out),
        Cell::Uuid(id) => push_uuid(out, id),
        Cell::Text(text) | Cell::Optional(Some(text)) => out.extend_from_slice(text.as_bytes()),
        Cell::Optional(None) => {}
    }
}

fn push_uuid(out: &mut Vec<u8>, id: &uuid::Uuid) {
    let mut buf = uuid::Uuid::encode_buffer();
    out.extend_from_slice(id.hyphenated().encode_lower(&mut buf).as_bytes());
}

/// Writes grosz as zloty with two decimals: 123456 -> `1234.56`.
pub fn push_money(out: &mut Vec<u8>, grosz: Grosz) {
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
    use crate::catalogue::{Region, PROTOTYPE_CATEGORIES};

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
        for r in Region::ALL {
            all.push(r.as_str());
            for s in r.stores() {
                all.push(s.id);
                all.extend(s.salespeople);
            }
        }
        for c in PROTOTYPE_CATEGORIES {
            all.push(c.name);
            all.extend(c.products);
            all.extend(c.brands);
        }
        for text in all {
            assert!(
                !text.chars().any(char::is_control) && !text.contains(['"', ',', '\\']),
                "{text:?} would need escaping"
            );
        }
    }
}
