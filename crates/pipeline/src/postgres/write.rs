//! One writer's share of a batch: its partitions' rows, dead letters and next offsets in
//! one transaction, the offsets fenced against another member's.

use std::time::{Duration, Instant};

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::Client;
use rust_decimal::Decimal;
use tracing::{info, warn};

use super::connect::{permanent, reason, Endpoint};
use super::schema::Resolved;
use super::PostgresError;
use crate::kafka::rejected::Rejected;
use crate::order::{Order, CSV_HEADER};

/// Where the rows go.
pub(super) struct Target<'a> {
    pub(super) table: &'a Resolved,
    pub(super) topic: &'a str,
    pub(super) topic_id: Option<&'a str>,
}

/// One writer's share: (partition, next offset, the offset the table had) and its rows.
pub(super) struct Part<'a> {
    pub(super) offsets: Vec<(i32, i64, Option<i64>)>,
    pub(super) rows: Vec<&'a Order>,
    pub(super) dead: Vec<&'a Rejected>,
}

/// What a share's transaction did.
pub(super) enum Written {
    /// Committed now.
    Done { rows: u64, duplicate_ids: u64, dead_letters: u64 },
    /// An earlier try had committed it before its connection dropped.
    Landed,
}

/// Writes `part`, reconnecting and retrying for `retry_for` while the server is away. A
/// permanent error (bad data, a constraint, a privilege) ends it at once.
pub(super) fn write_with_retry(
    client: &mut Client,
    endpoint: &Endpoint,
    retry_for: Duration,
    target: &Target<'_>,
    part: &Part<'_>,
) -> Result<Written, PostgresError> {
    let started = Instant::now();
    loop {
        let error = match attempt(client, target, part) {
            Ok(outcome) => return outcome,
            Err(error) => error,
        };
        let why = reason(&error);
        if permanent(&error) {
            return Err(PostgresError::Refused { table: target.table.key.clone(), reason: why });
        }
        if started.elapsed() >= retry_for || endpoint.shutdown.requested() {
            return Err(PostgresError::Unavailable { url: endpoint.server.clone(), reason: why });
        }
        warn!(server = %endpoint.server, error = %why, "writing the batch failed; reconnecting and trying again");
        std::thread::sleep(Duration::from_millis(500));
        let left = retry_for.saturating_sub(started.elapsed());
        *client = endpoint.open(left)?;
    }
}

/// One attempt. The outer error is the database's; the inner one ends the sink.
fn attempt(
    client: &mut Client,
    target: &Target<'_>,
    part: &Part<'_>,
) -> Result<Result<Written, PostgresError>, postgres::Error> {
    let Target { table: Resolved { key, sql }, topic, topic_id } = *target;
    let mut tx = client.transaction()?;
    // Offsets first: a fenced partition stops the share before any row is copied.
    for &(partition, next, expected) in &part.offsets {
        let updated = match expected {
            Some(expected) => tx.execute(
                "UPDATE orderstream_offsets SET next_offset = $4, topic_id = $5, updated_at = now()
                 WHERE target = $1 AND topic = $2 AND partition = $3 AND next_offset = $6",
                &[key, &topic, &partition, &next, &topic_id, &expected],
            )?,
            None => tx.execute(
                "INSERT INTO orderstream_offsets (target, topic, partition, next_offset, topic_id)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[key, &topic, &partition, &next, &topic_id],
            )?,
        };
        if updated == 1 {
            continue;
        }
        // Ours already (an earlier try committed before the connection dropped), or
        // another member's.
        let now: Option<i64> = tx
            .query_opt(
                "SELECT next_offset FROM orderstream_offsets WHERE target = $1 AND topic = $2 AND partition = $3",
                &[key, &topic, &partition],
            )?
            .map(|row| row.get(0));
        drop(tx);
        // A share's partitions commit together: one at its target means all are.
        if now == Some(next) {
            info!(partition, next, "the batch had landed before the connection dropped");
            return Ok(Ok(Written::Landed));
        }
        return Ok(Err(PostgresError::Fenced { partition }));
    }
    let rows = if part.rows.is_empty() {
        0
    } else {
        let copied = copy_rows(&mut tx, sql, &part.rows)?;
        if copied.dropped > 0 {
            // Counting them as duplicates would lose them without a word.
            drop(tx);
            return Ok(Err(PostgresError::Refused {
                table: key.clone(),
                reason: format!(
                    "{} of {} orders were neither inserted nor in the table already: a trigger on the table drops rows (this connection's share of the batch was rolled back and its partitions' offsets stay; let the sink's inserts through and run it again)",
                    copied.dropped,
                    part.rows.len()
                ),
            }));
        }
        copied.inserted
    };
    for letter in &part.dead {
        tx.execute(
            "INSERT INTO orderstream_dead_letters (target, topic, partition, \"offset\", reason, payload)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[key, &topic, &letter.partition, &letter.offset, &letter.reason, &letter.payload],
        )?;
    }
    tx.commit()?;
    let duplicate_ids = (part.rows.len() as u64).saturating_sub(rows);
    Ok(Ok(Written::Done { rows, duplicate_ids, dead_letters: part.dead.len() as u64 }))
}

/// The column types of binary COPY, in [`CSV_HEADER`] order.
const COLUMN_TYPES: [Type; 15] = [
    Type::INT8,
    Type::TIMESTAMPTZ,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::UUID,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT2,
    Type::NUMERIC,
    Type::NUMERIC,
    Type::TEXT,
];

/// Copies `rows` into `target` with binary COPY (the server parses no text); returns how
/// many rows it took.
fn copy_into(
    tx: &mut postgres::Transaction<'_>,
    target: &str,
    rows: &[&Order],
) -> Result<u64, postgres::Error> {
    let columns = CSV_HEADER.map(|c| format!("\"{c}\"")).join(", ");
    let sink = tx.copy_in(&format!("COPY {target} ({columns}) FROM STDIN (FORMAT binary)"))?;
    let mut writer = BinaryCopyInWriter::new(sink, &COLUMN_TYPES);
    for order in rows {
        let id = order.id as i64;
        let at = chrono::DateTime::from_timestamp_micros(order.timestamp.utc_micros).unwrap_or_default();
        let net = Decimal::new(order.cena_netto, 2);
        let gross = Decimal::new(order.wartosc_brutto, 2);
        let quantity = i16::from(order.ilosc);
        writer.write(&[
            &id,
            &at,
            &order.store_id,
            &order.region.as_str(),
            &order.sales_channel.as_str(),
            &order.device_type.as_str(),
            &order.customer_id,
            &order.payment_method.as_str(),
            &order.nazwa_produktu,
            &order.marka,
            &order.kategoria_produktu.name,
            &quantity,
            &net,
            &gross,
            &order.sprzedawca,
        ])?;
    }
    writer.finish()
}

/// What copying a share's rows did.
struct Copied {
    /// Rows inserted.
    inserted: u64,
    /// Rows neither inserted nor in the table already: a trigger or rule dropped them.
    dropped: u64,
}

/// Copies `rows` into `table`: straight into the table (one write per row), unless an id
/// is there already (the same order twice in the topic); then, for this batch, through
/// the staging table, skipping those ids.
fn copy_rows(
    tx: &mut postgres::Transaction<'_>,
    table: &str,
    rows: &[&Order],
) -> Result<Copied, postgres::Error> {
    let mut direct = tx.transaction()?;
    match copy_into(&mut direct, table, rows) {
        Ok(inserted) => {
            direct.commit()?;
            // No id was there (that would have been a unique violation): whatever is
            // missing was dropped on the way in.
            return Ok(Copied { inserted, dropped: rows.len() as u64 - inserted.min(rows.len() as u64) });
        }
        Err(error) if error.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) => drop(direct),
        Err(error) => return Err(error),
    }
    copy_into(tx, "orderstream_staging", rows)?;
    let inserted = tx.execute(
        &format!("INSERT INTO {table} SELECT * FROM orderstream_staging ON CONFLICT (id) DO NOTHING"),
        &[],
    )?;
    let dropped: i64 = tx
        .query_one(
            &format!(
                "SELECT count(*) FROM orderstream_staging s WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = s.id)"
            ),
            &[],
        )?
        .get(0);
    Ok(Copied { inserted, dropped: dropped as u64 })
}
