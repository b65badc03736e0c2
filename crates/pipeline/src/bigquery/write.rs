//! A batch written as idempotent statements: the dead letters (skipping the ones
//! recorded already), then the orders (skipping the ids the table holds already). Each
//! statement is atomic, and running one twice changes nothing, so a retry, a crash
//! before the Kafka commit or a re-read after a rebalance cannot write a row twice.

use std::time::{Duration, Instant};

use tracing::{debug, warn};

use super::api::{BigQueryClient, JobEnd};
use super::literals::{dead_statements, order_statements, Dead};
use super::schema::DEAD_LETTERS_TABLE;
use super::BigQueryError;
use crate::order::Order;

/// Where the rows go.
pub(super) struct Target<'a> {
    pub(super) dataset: &'a str,
    pub(super) table: &'a str,
    pub(super) topic: &'a str,
}

/// What a written batch did.
pub(super) struct Written {
    /// Orders inserted (BigQuery's count; the emulator gives none, and then every row
    /// sent counts).
    pub(super) inserted: u64,
    /// Jobs run.
    pub(super) jobs: u64,
    /// Time spent writing the statements (the client's own cost).
    pub(super) encoding: Duration,
}

/// Writes the dead letters, then the orders, retrying a job that BigQuery failed on its
/// side under a new job id (a statement may run twice) until `retry_for` is spent.
pub(super) fn write(
    client: &mut BigQueryClient,
    target: &Target<'_>,
    rows: &[&Order],
    dead: &[Dead<'_>],
    retry_for: Duration,
) -> Result<Written, BigQueryError> {
    let encoding_started = Instant::now();
    let dead = dead_statements(target.dataset, DEAD_LETTERS_TABLE, target.table, target.topic, dead);
    let orders = order_statements(target.dataset, target.table, rows);
    let mut written = Written { inserted: 0, jobs: 0, encoding: encoding_started.elapsed() };
    for statement in &dead {
        run(
            client,
            statement,
            &format!("recording dead letters in {}.{DEAD_LETTERS_TABLE}", target.dataset),
            retry_for,
        )?;
        written.jobs += 1;
    }
    for (statement, count) in &orders {
        let what = format!("inserting {count} orders into {}.{}", target.dataset, target.table);
        let affected = run(client, statement, &what, retry_for)?;
        written.inserted += affected.unwrap_or(*count as u64);
        written.jobs += 1;
    }
    Ok(written)
}

/// Runs one statement to its end; returns the rows it changed when BigQuery says.
fn run(
    client: &mut BigQueryClient,
    statement: &str,
    what: &str,
    retry_for: Duration,
) -> Result<Option<u64>, BigQueryError> {
    let started = Instant::now();
    let statement_id = uuid::Uuid::from_u128(rand::random()).simple().to_string();
    for attempt in 1u32.. {
        let job_id = format!("orderstream_{statement_id}_{attempt}");
        match client.run_job(&job_id, statement, what)? {
            JobEnd::Done { affected, .. } => {
                debug!(job_id, ?affected, "{what}: done");
                return Ok(affected);
            }
            JobEnd::Failed { reason, message } => {
                return Err(BigQueryError::Job { what: what.to_string(), reason, message })
            }
            JobEnd::Retry(reason) => {
                if started.elapsed() >= retry_for {
                    return Err(BigQueryError::Unavailable { what: what.to_string(), reason });
                }
                warn!(job_id, %reason, "BigQuery failed the job on its side; trying again under a new job id");
                if !client.pause(Duration::from_millis(200 * u64::from(attempt.min(10)))) {
                    return Err(BigQueryError::Unavailable {
                        what: what.to_string(),
                        reason: format!("stopped while retrying after: {reason}"),
                    });
                }
            }
        }
    }
    unreachable!("the loop returns")
}
