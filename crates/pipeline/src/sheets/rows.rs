//! Orders as sheet rows, and the `{"values": [...]}` body of an append, built in place so
//! that its size is known exactly while rows are added.

use crate::order::{push_cell_text, push_money, Cell, Order};

/// Writes `text` as a JSON string.
fn push_str(out: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, text).expect("a string serialises");
    }
}

/// An order as a JSON array in the header's order. With USER_ENTERED, the id is sent
/// as text (a leading apostrophe): as a number it would lose digits past 2^53. Money and
/// quantity are JSON numbers, so that the sheet's locale (`1234,56` in Polish) cannot
/// misread them.
pub(super) fn push_order_row(order: &Order, out: &mut Vec<u8>) {
    let mut ints = itoa::Buffer::new();
    out.push(b'[');
    for (i, cell) in order.cells().into_iter().enumerate() {
        if i > 0 && cell != Cell::Optional(None) {
            out.push(b',');
        }
        match cell {
            Cell::Id(id) => {
                out.extend_from_slice(b"\"'");
                out.extend_from_slice(ints.format(id).as_bytes());
                out.push(b'"');
            }
            Cell::Count(n) => out.extend_from_slice(ints.format(n).as_bytes()),
            Cell::Money(grosz) => push_money(out, grosz),
            Cell::Text(text) | Cell::Optional(Some(text)) => push_str(out, text),
            // Online orders have no salesperson: a row shorter than the header leaves the
            // last cell empty, and every byte saved is a row more per request.
            Cell::Optional(None) => {}
            Cell::Time(_) | Cell::Uuid(_) => {
                out.push(b'"');
                push_cell_text(out, &cell);
                out.push(b'"');
            }
        }
    }
    out.push(b']');
}

/// The body of one `values.append`: `{"values":[row,row,...]}`.
#[derive(Debug)]
pub(super) struct AppendBody {
    buf: Vec<u8>,
    rows: usize,
}

const OPEN: &[u8] = b"{\"values\":[";
const CLOSE: &[u8] = b"]}";

impl AppendBody {
    /// An empty body.
    pub(super) fn new() -> Self {
        AppendBody { buf: OPEN.to_vec(), rows: 0 }
    }

    /// Adds a row (a JSON array).
    pub(super) fn push(&mut self, row: &[u8]) {
        if self.rows > 0 {
            self.buf.push(b',');
        }
        self.buf.extend_from_slice(row);
        self.rows += 1;
    }

    /// The finished body.
    pub(super) fn finish(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.buf.len() + CLOSE.len());
        body.extend_from_slice(&self.buf);
        body.extend_from_slice(CLOSE);
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Generator, GeneratorConfig};
    use crate::order::CSV_HEADER;

    #[test]
    fn a_row_is_the_header_order_with_text_ids_and_numeric_money() {
        let order = Generator::new(&GeneratorConfig { seed: Some(5), ..Default::default() }).order_at(0);
        let mut row = Vec::new();
        push_order_row(&order, &mut row);
        let cells: Vec<serde_json::Value> = serde_json::from_slice(&row).unwrap();
        assert_eq!(cells.len(), CSV_HEADER.len() - usize::from(order.sprzedawca.is_none()));
        assert_eq!(cells[0], format!("'{}", order.id));
        assert_eq!(cells[11], u64::from(order.ilosc));
        assert_eq!(cells[12].as_f64().unwrap(), order.cena_netto as f64 / 100.0);
        assert_eq!(cells[13].as_f64().unwrap(), order.wartosc_brutto as f64 / 100.0);
    }

    #[test]
    fn the_body_is_one_json_object_of_rows() {
        let mut body = AppendBody::new();
        for row in [&b"[1]"[..], b"[\"a\\\"b\"]", b"[2,3]"] {
            body.push(row);
        }
        let parsed: serde_json::Value = serde_json::from_slice(&body.finish()).unwrap();
        assert_eq!(parsed["values"].as_array().unwrap().len(), 3);
    }
}
