//! The sink's tables: the orders (the CSV's fifteen columns with warehouse types), the
//! offsets that say how far each partition is written (in the same transaction as its
//! rows), and the dead letters; and two views for reports: per Polish minute (the Sheets
//! sink's aggregates mode) and per Polish day, by region and category.
//!
//! What exists is checked before the first write, and DDL runs only for what is missing,
//! under a lock timeout, so that a report holding a view or a second member holding the
//! table makes the sink wait visibly instead of silently. A table that does not fit the
//! rows (a column missing, of another type, NOT NULL where the sink writes NULL, no
//! primary key on `id`) stops the sink at once with every problem named.

use std::time::{Duration, Instant};

use postgres::Client;
use tracing::{info, warn};

use crate::shutdown::Shutdown;

/// Longest name PostgreSQL keeps (longer ones are cut, and two derived names could meet).
const MAX_IDENTIFIER: usize = 63;

/// The longest suffix of a name derived from the table's (`_by_minute`, `_timestamp`).
const LONGEST_SUFFIX: usize = "_by_minute".len();

/// How long a batch's statements wait for a lock before the batch is retried.
const WRITE_LOCK_WAIT: Duration = Duration::from_secs(10);

/// How long one DDL statement waits for a lock before the sink says so and tries again.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Why the tables could not be made ready.
#[derive(Debug)]
pub(super) enum SchemaError {
    /// The database failed (down, refused, or a statement failed).
    Database(postgres::Error),
    /// What exists does not fit the sink; retrying cannot help.
    Mismatch(String),
    /// Waited for locks for the whole retry time.
    Locked(String),
}

impl From<postgres::Error> for SchemaError {
    fn from(error: postgres::Error) -> Self {
        SchemaError::Database(error)
    }
}

/// A column of the orders table as the sink writes it.
struct Column {
    name: &'static str,
    /// Types (as `format_type` prints them, before any `(`) whose binary form the sink's
    /// COPY writes.
    types: &'static [&'static str],
    /// The type to name in a fix.
    wanted: &'static str,
    /// The sink writes NULL here.
    nullable: bool,
}

const TEXT: &[&str] = &["text", "character varying"];

/// The orders table's columns, in CSV order.
const COLUMNS: [Column; 15] = [
    Column { name: "id", types: &["bigint"], wanted: "bigint", nullable: false },
    Column {
        name: "timestamp",
        types: &["timestamp with time zone"],
        wanted: "timestamptz",
        nullable: false,
    },
    Column { name: "store_id", types: TEXT, wanted: "text", nullable: false },
    Column { name: "region", types: TEXT, wanted: "text", nullable: false },
    Column { name: "sales_channel", types: TEXT, wanted: "text", nullable: false },
    Column { name: "device_type", types: TEXT, wanted: "text", nullable: false },
    Column { name: "customer_id", types: &["uuid"], wanted: "uuid", nullable: false },
    Column { name: "payment_method", types: TEXT, wanted: "text", nullable: false },
    Column { name: "nazwa_produktu", types: TEXT, wanted: "text", nullable: false },
    Column { name: "marka", types: TEXT, wanted: "text", nullable: false },
    Column { name: "kategoria_produktu", types: TEXT, wanted: "text", nullable: false },
    Column { name: "ilosc", types: &["smallint"], wanted: "smallint", nullable: false },
    Column { name: "cena_netto", types: &["numeric"], wanted: "numeric(12,2)", nullable: false },
    Column { name: "wartosc_brutto", types: &["numeric"], wanted: "numeric(12,2)", nullable: false },
    Column { name: "sprzedawca", types: TEXT, wanted: "text", nullable: true },
];

/// The columns the bookkeeping tables must have.
const OFFSETS_COLUMNS: [&str; 5] = ["target", "topic", "partition", "next_offset", "topic_id"];
const DEAD_LETTER_COLUMNS: [&str; 6] = ["target", "topic", "partition", "offset", "reason", "payload"];

/// The objects the sink uses, and the statement that makes each.
fn objects(table: &str) -> Vec<(String, String)> {
    let (schema, _) = split(table);
    let index = index_name(table);
    let qualified_index = match schema {
        Some(schema) => format!("{schema}.{index}"),
        None => index.clone(),
    };
    vec![
        (
            table.to_string(),
            format!(
                r#"CREATE TABLE IF NOT EXISTS {table} (
                    id                 bigint PRIMARY KEY,
                    "timestamp"        timestamptz NOT NULL,
                    store_id           text NOT NULL,
                    region             text NOT NULL,
                    sales_channel      text NOT NULL,
                    device_type        text NOT NULL,
                    customer_id        uuid NOT NULL,
                    payment_method     text NOT NULL,
                    nazwa_produktu     text NOT NULL,
                    marka              text NOT NULL,
                    kategoria_produktu text NOT NULL,
                    ilosc              smallint NOT NULL CHECK (ilosc >= 1),
                    cena_netto         numeric(12,2) NOT NULL,
                    wartosc_brutto     numeric(12,2) NOT NULL,
                    sprzedawca         text
                )"#
            ),
        ),
        (qualified_index, format!(r#"CREATE INDEX IF NOT EXISTS {index} ON {table} ("timestamp")"#)),
        (
            "orderstream_offsets".into(),
            "CREATE TABLE IF NOT EXISTS orderstream_offsets (
                target      text NOT NULL,
                topic       text NOT NULL,
                partition   integer NOT NULL,
                next_offset bigint NOT NULL,
                topic_id    text,
                updated_at  timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (target, topic, partition)
            )"
            .into(),
        ),
        (
            "orderstream_dead_letters".into(),
            r#"CREATE TABLE IF NOT EXISTS orderstream_dead_letters (
                target    text NOT NULL,
                topic     text NOT NULL,
                partition integer NOT NULL,
                "offset"  bigint NOT NULL,
                reason    text NOT NULL,
                payload   bytea,
                at        timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (target, topic, partition, "offset")
            )"#
            .into(),
        ),
        (
            format!("{table}_by_minute"),
            format!(
                r#"CREATE OR REPLACE VIEW {table}_by_minute AS
                SELECT date_trunc('minute', "timestamp" AT TIME ZONE 'Europe/Warsaw') AS minute,
                       region, kategoria_produktu,
                       count(*) AS orders, sum(ilosc) AS units,
                       sum(cena_netto * ilosc) AS net_value, sum(wartosc_brutto) AS gross_value
                FROM {table} GROUP BY 1, 2, 3"#
            ),
        ),
        (
            format!("{table}_by_day"),
            format!(
                r#"CREATE OR REPLACE VIEW {table}_by_day AS
                SELECT ("timestamp" AT TIME ZONE 'Europe/Warsaw')::date AS day,
                       region, kategoria_produktu,
                       count(*) AS orders, sum(ilosc) AS units,
                       sum(cena_netto * ilosc) AS net_value, sum(wartosc_brutto) AS gross_value
                FROM {table} GROUP BY 1, 2, 3"#
            ),
        ),
    ]
}

/// The orders table as the database found it through the connection's `search_path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Resolved {
    /// `schema.table`: the key of its offsets and dead letters, so that two tables of
    /// one name in two schemas never share offsets (one would skip the other's orders).
    pub(super) key: String,
    /// The same name, quoted for SQL, so that every statement writes that very table.
    pub(super) sql: String,
}

/// Makes the tables ready for writing: creates what is missing (when `manage`), checks
/// what exists, and makes this session's staging table. Waits for locks at most
/// `retry_for`, saying so every [`LOCK_WAIT`]. Returns the table as resolved.
pub(super) fn prepare(
    client: &mut Client,
    table: &str,
    manage: bool,
    retry_for: Duration,
    shutdown: &Shutdown,
) -> Result<Resolved, SchemaError> {
    let started = Instant::now();
    let mut missing = Vec::new();
    for (name, statement) in objects(table) {
        let exists: bool = client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])?.get(0);
        if !exists {
            missing.push((name, statement));
        }
    }
    if !missing.is_empty() && !manage {
        let names: Vec<&str> = missing.iter().map(|(name, _)| name.as_str()).collect();
        return Err(SchemaError::Mismatch(format!(
            "missing: {}; run the sink once as the owner without --postgres-manage-schema false to create them, then grant the writer role what docs/sinks.md, \"Least privilege\", lists",
            names.join(", ")
        )));
    }
    // The orders table first, and checked before anything built on it (an index or a
    // view on a column of the wrong type would fail with a less useful message).
    let (orders, rest): (Vec<_>, Vec<_>) = missing.into_iter().partition(|(name, _)| name == table);
    for (name, statement) in &orders {
        info!(object = %name, "creating the orders table");
        under_lock_timeout(client, name, statement, started, retry_for, shutdown)?;
    }
    check_orders(client, table)?;
    for (name, statement) in &rest {
        info!(object = %name, "creating what the PostgreSQL sink needs");
        under_lock_timeout(client, name, statement, started, retry_for, shutdown)?;
    }
    check_bookkeeping(client)?;
    let resolved = resolve(client, table)?;
    if !orders.is_empty() {
        // A new table holds none of the orders that offsets recorded for its name (a
        // table dropped and made again): those offsets would skip them.
        let retired =
            client.execute("DELETE FROM orderstream_offsets WHERE target = $1", &[&resolved.key])?;
        if retired > 0 {
            warn!(table = %resolved.key, partitions = retired, "the table is new, but offsets were recorded for its name (it was dropped and made again): retired them; every partition is read from its start");
        }
    } else {
        warn_if_emptied(client, &resolved)?;
    }
    under_lock_timeout(
        client,
        table,
        &format!(
            "CREATE TEMP TABLE IF NOT EXISTS orderstream_staging (LIKE {}) ON COMMIT DELETE ROWS",
            resolved.sql
        ),
        started,
        retry_for,
        shutdown,
    )?;
    // A batch that waits for a lock (a report's LOCK TABLE, a stalled member's rows)
    // fails after this long, says so, and is retried like an outage, within
    // --postgres-retry-for, instead of waiting silently without end.
    client.batch_execute(&format!("SET lock_timeout = {}", WRITE_LOCK_WAIT.as_millis()))?;
    Ok(resolved)
}

/// The schema-qualified name of `table` as this connection's `search_path` finds it.
/// Offsets recorded under a plain name (by earlier versions) are not taken over: which
/// table that name meant then cannot be known, so the topic is read again and the ids
/// the table has are skipped.
fn resolve(client: &mut Client, table: &str) -> Result<Resolved, SchemaError> {
    let row = client.query_opt(
        "SELECT n.nspname || '.' || c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
        &[&table],
    )?;
    let row = row
        .ok_or_else(|| SchemaError::Mismatch(format!("{table} is gone (dropped while the sink started?)")))?;
    Ok(Resolved { key: row.get(0), sql: row.get(1) })
}

/// Warns when the table is empty but offsets say orders were written to it: emptied or
/// made again by hand, it would never get those orders back unless the offsets go.
fn warn_if_emptied(client: &mut Client, resolved: &Resolved) -> Result<(), postgres::Error> {
    let row = client.query_one(
        &format!(
            "SELECT NOT EXISTS (SELECT 1 FROM {}), (SELECT count(*) FROM orderstream_offsets WHERE target = $1)",
            resolved.sql
        ),
        &[&resolved.key],
    )?;
    let (empty, partitions): (bool, i64) = (row.get(0), row.get(1));
    if empty && partitions > 0 {
        warn!(table = %resolved.key, partitions, "the table is empty, but offsets say orders were written to it: if it was emptied or made again by hand, run DELETE FROM orderstream_offsets WHERE target = '{}' to read the topic into it again", resolved.key);
    }
    Ok(())
}

/// Runs `statement` with a lock timeout, logging each wait, until it runs or `retry_for`
/// has passed since `started`.
fn under_lock_timeout(
    client: &mut Client,
    object: &str,
    statement: &str,
    started: Instant,
    retry_for: Duration,
    shutdown: &Shutdown,
) -> Result<(), SchemaError> {
    let timeout = format!("SET lock_timeout = {}", LOCK_WAIT.as_millis());
    loop {
        client.batch_execute(&timeout)?;
        let result = client.batch_execute(statement);
        client.batch_execute("RESET lock_timeout")?;
        match result {
            Ok(()) => return Ok(()),
            Err(error) if error.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
                let waited = started.elapsed();
                if waited >= retry_for || shutdown.requested() {
                    return Err(SchemaError::Locked(format!(
                        "{object}: another session held a lock on it for {waited:?} (a long report query or transaction, or another member's write); see pg_locks"
                    )));
                }
                warn!(object, waited = ?waited, "waiting for a lock held by another session (a report query or transaction, or another member's write)");
            }
            // Another member made it at the same moment (IF NOT EXISTS is not atomic).
            Err(error) if error.code().is_some_and(made_meanwhile) => return Ok(()),
            Err(error) => return Err(error.into()),
        }
    }
}

/// The errors of a `CREATE ... IF NOT EXISTS` that raced another session's.
fn made_meanwhile(code: &postgres::error::SqlState) -> bool {
    use postgres::error::SqlState;
    [SqlState::UNIQUE_VIOLATION, SqlState::DUPLICATE_TABLE, SqlState::DUPLICATE_OBJECT].contains(code)
}

/// Compares the orders table with what the sink writes; every problem in one message.
fn check_orders(client: &mut Client, table: &str) -> Result<(), SchemaError> {
    let rows = client.query(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef
         FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
        &[&table],
    )?;
    let found: Vec<(String, String, bool, bool)> =
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
    let mut problems = Vec::new();
    for column in &COLUMNS {
        let Some((_, kind, not_null, _)) = found.iter().find(|(name, ..)| name == column.name) else {
            problems.push(format!(
                "column {} is missing (ALTER TABLE {table} ADD COLUMN \"{}\" {})",
                column.name, column.name, column.wanted
            ));
            continue;
        };
        let base = kind.split('(').next().unwrap_or(kind).trim();
        if !column.types.contains(&base) {
            problems.push(format!(
                "column {} is {kind}, the sink writes {} (ALTER TABLE {table} ALTER COLUMN \"{}\" TYPE {})",
                column.name, column.wanted, column.name, column.wanted
            ));
        }
        if column.nullable && *not_null {
            problems.push(format!(
                "column {} is NOT NULL, but online orders have none (ALTER TABLE {table} ALTER COLUMN \"{}\" DROP NOT NULL)",
                column.name, column.name
            ));
        }
    }
    for (name, _, not_null, has_default) in &found {
        if *not_null && !has_default && !COLUMNS.iter().any(|c| c.name == name) {
            problems.push(format!(
                "column {name} is NOT NULL with no default, and the sink does not write it (give it a default, or drop NOT NULL)"
            ));
        }
    }
    let key: Vec<String> = first_column(
        client,
        "SELECT a.attname FROM pg_index i
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
             WHERE i.indrelid = to_regclass($1) AND i.indisprimary",
        table,
    )?;
    if key != ["id"] {
        let now = if key.is_empty() { "none".to_string() } else { key.join(", ") };
        problems.push(format!(
            "the primary key is ({now}), the sink needs it on id alone to write each order once (ALTER TABLE {table} ADD PRIMARY KEY (id))"
        ));
    }
    let rules: Vec<String> = first_column(
        client,
        "SELECT rulename::text FROM pg_rewrite WHERE ev_class = to_regclass($1) AND ev_type = '3'",
        table,
    )?;
    for rule in rules {
        problems.push(format!(
            "rule {rule} rewrites inserts, but the sink copies rows in with COPY, which runs no rules (DROP RULE {rule} ON {table}; a trigger does what a rule does and COPY runs it)"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SchemaError::Mismatch(problems.join("; ")))
    }
}

/// The first column of every row `sql` returns for the one text parameter `arg`: the
/// catalogue lookups here each ask for a list of names.
fn first_column(client: &mut Client, sql: &str, arg: &str) -> Result<Vec<String>, postgres::Error> {
    Ok(client.query(sql, &[&arg])?.iter().map(|r| r.get(0)).collect())
}

/// Checks that the offsets and dead-letter tables have the columns the sink writes.
fn check_bookkeeping(client: &mut Client) -> Result<(), SchemaError> {
    let mut problems = Vec::new();
    for (bookkeeping, columns) in [
        ("orderstream_offsets", &OFFSETS_COLUMNS[..]),
        ("orderstream_dead_letters", &DEAD_LETTER_COLUMNS[..]),
    ] {
        let have: Vec<String> = first_column(client, "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped", bookkeeping)?;
        let lacking: Vec<&str> = columns.iter().copied().filter(|c| !have.iter().any(|h| h == c)).collect();
        if !lacking.is_empty() {
            problems.push(format!("{bookkeeping} lacks column(s) {}", lacking.join(", ")));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SchemaError::Mismatch(problems.join("; ")))
    }
}

/// The table's schema (if named) and its own name.
fn split(table: &str) -> (Option<&str>, &str) {
    match table.split_once('.') {
        Some((schema, name)) => (Some(schema), name),
        None => (None, table),
    }
}

/// The name of the index on the order time (in the table's schema).
fn index_name(table: &str) -> String {
    format!("{}_timestamp", table.replace('.', "_"))
}

/// Checks that `name` can be put into SQL as a table name as it is (letters, digits and
/// underscores, optionally `schema.table`), and that the names derived from it (its
/// views and index) stay within PostgreSQL's 63 bytes.
pub fn check_table_name(name: &str) -> Result<(), String> {
    let part = |p: &str| {
        !p.is_empty()
            && p.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() > 2 || !parts.iter().all(|p| part(p)) {
        return Err(format!("{name:?}: expected a plain lower-case name, optionally schema.table"));
    }
    let (schema, table) = split(name);
    let longest = table.len() + LONGEST_SUFFIX;
    if schema.is_some_and(|s| s.len() > MAX_IDENTIFIER)
        || longest > MAX_IDENTIFIER
        || index_name(name).len() > MAX_IDENTIFIER
    {
        return Err(format!(
            "{name:?} is too long: the sink names views and an index after it (e.g. {table}_by_minute, {}), and PostgreSQL keeps only {MAX_IDENTIFIER} bytes of a name",
            index_name(name)
        ));
    }
    Ok(())
}

/// Whether `name` passes [`check_table_name`].
pub fn valid_table_name(name: &str) -> bool {
    check_table_name(name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::{check_table_name, valid_table_name};

    #[test]
    fn table_names_are_plain_identifiers() {
        for good in ["orders", "sales.orders", "_t1"] {
            assert!(valid_table_name(good), "{good}");
        }
        for bad in ["", "Orders", "1orders", "orders; drop table x", "a.b.c", "o\"rders"] {
            assert!(!valid_table_name(bad), "{bad}");
        }
    }

    #[test]
    fn names_whose_views_or_index_would_pass_63_bytes_are_refused() {
        let fits = "a".repeat(53);
        assert!(valid_table_name(&fits));
        for long in ["a".repeat(54), "a".repeat(59), "a".repeat(63), format!("sales.{}", "b".repeat(48))] {
            let error = check_table_name(&long).unwrap_err();
            assert!(error.contains("63 bytes"), "{long}: {error}");
        }
    }
}
