//! A batch as GoogleSQL text: each order a typed struct literal, a hundred to an array
//! (the emulator's SQLite allows no more arguments to one function), the arrays joined
//! with `ARRAY_CONCAT`, and a batch cut into statements below BigQuery's limit of 1 MB of
//! query text. Literals rather than query parameters: the emulator reads array
//! parameters as integers, and a literal costs BigQuery nothing more.

use std::fmt::Write as _;

use crate::order::{push_money, Order};

/// The orders table's columns and their BigQuery types, in the CSV's order.
pub(super) const COLUMNS: [(&str, &str); 15] = [
    ("id", "INT64"),
    ("timestamp", "TIMESTAMP"),
    ("store_id", "STRING"),
    ("region", "STRING"),
    ("sales_channel", "STRING"),
    ("device_type", "STRING"),
    ("customer_id", "STRING"),
    ("payment_method", "STRING"),
    ("nazwa_produktu", "STRING"),
    ("marka", "STRING"),
    ("kategoria_produktu", "STRING"),
    ("ilosc", "INT64"),
    ("cena_netto", "NUMERIC"),
    ("wartosc_brutto", "NUMERIC"),
    ("sprzedawca", "STRING"),
];

/// The dead letters' columns as the statements write them (`at` is the commit time).
pub(super) const DEAD_COLUMNS: [(&str, &str); 6] = [
    ("target", "STRING"),
    ("topic", "STRING"),
    ("partition", "INT64"),
    ("offset", "INT64"),
    ("reason", "STRING"),
    ("payload", "BYTES"),
];

/// Rows in one array literal.
const ROWS_PER_ARRAY: usize = 100;
/// Query text per statement: BigQuery takes up to 1,024K characters.
pub(super) const MAX_STATEMENT: usize = 900_000;

/// `ARRAY<STRUCT<name TYPE, ...>>`. INT64 ids travel as text: the emulator reads the
/// integers of an array through a double, which would round 63-bit ids.
fn array_type(columns: &[(&str, &str)]) -> String {
    let fields: Vec<String> = columns
        .iter()
        .map(|(name, kind)| format!("`{name}` {}", if *name == "id" { "STRING" } else { kind }))
        .collect();
    format!("ARRAY<STRUCT<{}>>", fields.join(", "))
}

/// Appends `text` as a GoogleSQL string literal.
pub(super) fn push_string(out: &mut String, text: &str) {
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// Appends bytes as a GoogleSQL bytes literal (`b'\xff...'`).
fn push_bytes(out: &mut String, bytes: &[u8]) {
    out.push_str("b'");
    for b in bytes {
        let _ = write!(out, "\\x{b:02x}");
    }
    out.push('\'');
}

/// BigQuery's canonical TIMESTAMP text of a UTC instant in microseconds.
pub(super) fn timestamp_text(utc_micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(utc_micros)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S%.6f+00:00")
        .to_string()
}

fn push_numeric(out: &mut String, grosz: i64) {
    let mut bytes = Vec::with_capacity(16);
    push_money(&mut bytes, grosz);
    out.push_str("NUMERIC '");
    out.push_str(std::str::from_utf8(&bytes).unwrap_or("0"));
    out.push('\'');
}

/// Appends one order as a struct literal in [`COLUMNS`] order.
fn push_order(out: &mut String, order: &Order) {
    let _ =
        write!(out, "('{}', TIMESTAMP '{}', ", order.id as i64, timestamp_text(order.timestamp.utc_micros));
    for text in
        [order.store_id, order.region.as_str(), order.sales_channel.as_str(), order.device_type.as_str()]
    {
        push_string(out, text);
        out.push_str(", ");
    }
    let _ = write!(out, "'{}', ", order.customer_id.hyphenated());
    for text in
        [order.payment_method.as_str(), order.nazwa_produktu, order.marka, order.kategoria_produktu.name]
    {
        push_string(out, text);
        out.push_str(", ");
    }
    let _ = write!(out, "{}, ", order.ilosc);
    push_numeric(out, order.cena_netto);
    out.push_str(", ");
    push_numeric(out, order.wartosc_brutto);
    out.push_str(", ");
    match order.sprzedawca {
        Some(seller) => push_string(out, seller),
        None => out.push_str("NULL"),
    }
    out.push(')');
}

/// A dead letter: (partition, offset, reason, payload).
pub(super) type Dead<'a> = (i32, i64, &'a str, Option<&'a [u8]>);

/// The rows as `ARRAY_CONCAT(ARRAY<...>[...], ...)` texts, each below `budget` characters
/// and at most a hundred arrays long, with the number of rows each holds.
fn arrays<T>(
    rows: &[T],
    columns: &[(&str, &str)],
    budget: usize,
    push: impl Fn(&mut String, &T),
) -> Vec<(String, usize)> {
    let kind = array_type(columns);
    let mut out = Vec::new();
    let mut current = String::new();
    let mut arrays_in_current = 0;
    let mut rows_in_current = 0;
    for chunk in rows.chunks(ROWS_PER_ARRAY) {
        let mut array = String::with_capacity(chunk.len() * 400);
        array.push_str(&kind);
        array.push('[');
        for (i, row) in chunk.iter().enumerate() {
            if i > 0 {
                array.push_str(", ");
            }
            push(&mut array, row);
        }
        array.push(']');
        if arrays_in_current > 0 && (current.len() + array.len() > budget || arrays_in_current == 100) {
            current.push(')');
            out.push((std::mem::take(&mut current), rows_in_current));
            arrays_in_current = 0;
            rows_in_current = 0;
        }
        current.push_str(if arrays_in_current == 0 { "ARRAY_CONCAT(" } else { ", " });
        current.push_str(&array);
        arrays_in_current += 1;
        rows_in_current += chunk.len();
    }
    if arrays_in_current > 0 {
        current.push(')');
        out.push((current, rows_in_current));
    }
    out
}

/// Statements inserting `rows` into `dataset.table`, each skipping the orders whose id
/// the table holds already (searched within the statement's own time span, so that
/// BigQuery reads only those days' partitions), with the number of orders in each. Each
/// is atomic and may run twice. Public for the benchmark of the client's own cost.
pub fn order_statements(dataset: &str, table: &str, rows: &[&Order]) -> Vec<(String, usize)> {
    let columns = COLUMNS.iter().map(|(name, _)| format!("`{name}`")).collect::<Vec<_>>().join(", ");
    let selected = COLUMNS
        .iter()
        .map(
            |(name, _)| {
                if *name == "id" {
                    "CAST(r.`id` AS INT64)".to_string()
                } else {
                    format!("r.`{name}`")
                }
            },
        )
        .collect::<Vec<_>>()
        .join(", ");
    let mut statements = Vec::new();
    let mut start = 0;
    for (array, count) in arrays(rows, &COLUMNS, MAX_STATEMENT - 2_000, |out, order| push_order(out, order)) {
        let span = &rows[start..start + count];
        start += count;
        let first = span.iter().map(|o| o.timestamp.utc_micros).min().unwrap_or(0);
        let last = span.iter().map(|o| o.timestamp.utc_micros).max().unwrap_or(0);
        statements.push((
            format!(
                "INSERT INTO `{dataset}.{table}` ({columns})\nSELECT {selected} FROM UNNEST({array}) r\n\
                 WHERE CAST(r.`id` AS INT64) NOT IN (SELECT id FROM `{dataset}.{table}` WHERE `timestamp` BETWEEN TIMESTAMP '{}' AND TIMESTAMP '{}')",
                timestamp_text(first),
                timestamp_text(last)
            ),
            count,
        ));
    }
    statements
}

/// Statements recording dead letters, each skipping the ones recorded already.
pub(super) fn dead_statements(
    dataset: &str,
    table: &str,
    target: &str,
    topic: &str,
    dead: &[Dead<'_>],
) -> Vec<String> {
    let columns = DEAD_COLUMNS.iter().map(|(name, _)| format!("`{name}`")).collect::<Vec<_>>().join(", ");
    let selected = DEAD_COLUMNS.iter().map(|(name, _)| format!("d.`{name}`")).collect::<Vec<_>>().join(", ");
    let push = |out: &mut String, (partition, offset, reason, payload): &Dead<'_>| {
        out.push('(');
        push_string(out, target);
        out.push_str(", ");
        push_string(out, topic);
        let _ = write!(out, ", {partition}, {offset}, ");
        push_string(out, reason);
        out.push_str(", ");
        match payload {
            Some(bytes) => push_bytes(out, bytes),
            None => out.push_str("NULL"),
        }
        out.push(')');
    };
    arrays(dead, &DEAD_COLUMNS, MAX_STATEMENT - 2_000, push)
        .into_iter()
        .map(|(array, _)| {
            format!(
                "INSERT INTO `{dataset}.{table}` ({columns}, `at`)\nSELECT {selected}, CURRENT_TIMESTAMP() FROM UNNEST({array}) d\n\
                 WHERE NOT EXISTS (SELECT 1 FROM `{dataset}.{table}` x WHERE x.target = d.target AND x.topic = d.topic \
                 AND x.`partition` = d.`partition` AND x.`offset` = d.`offset`)"
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orders(n: usize) -> Vec<Order> {
        let config = crate::generate::GeneratorConfig { seed: Some(7), ..Default::default() };
        let mut generator = crate::generate::Generator::new(&config);
        (0..n).map(|i| generator.order_at(1_764_500_000_000_000 + i as i64 * 1_000)).collect()
    }

    #[test]
    fn a_large_batch_is_cut_below_the_query_limit_and_keeps_every_row() {
        let orders = orders(7_000);
        let rows: Vec<&Order> = orders.iter().collect();
        let statements = order_statements("d", "orders", &rows);
        assert!(statements.len() >= 2, "{} statements", statements.len());
        assert_eq!(statements.iter().map(|(_, n)| n).sum::<usize>(), 7_000);
        for (text, _) in &statements {
            assert!(text.len() <= MAX_STATEMENT, "{} characters", text.len());
            assert!(text.matches("ARRAY<STRUCT<").count() <= 100);
        }
        assert!(statements[0].0.contains(&format!("('{}', TIMESTAMP '", orders[0].id)));
    }

    #[test]
    fn strings_and_bytes_cannot_break_out_of_their_literals() {
        let mut out = String::new();
        push_string(&mut out, "a'b\\c\nd\u{1}é");
        assert_eq!(out, r"'a\'b\\c\nd\u0001é'");
        let mut out = String::new();
        push_bytes(&mut out, &[0xff, b'\'']);
        assert_eq!(out, r"b'\xff\x27'");
        let statements = dead_statements(
            "d",
            "dl",
            "orders",
            "t'x",
            &[(1, 2, "bad", Some(&b"\x00"[..])), (1, 3, "gap", None)],
        );
        assert_eq!(statements.len(), 1);
        assert!(statements[0].contains(r"('orders', 't\'x', 1, 2, 'bad', b'\x00')"), "{}", statements[0]);
    }

    #[test]
    fn timestamps_from_1970_to_9999_are_bigquery_text() {
        assert_eq!(timestamp_text(0), "1970-01-01 00:00:00.000000+00:00");
        assert_eq!(timestamp_text(253_402_300_799_999_999), "9999-12-31 23:59:59.999999+00:00");
    }
}
