//! The sink's tables: the orders (the CSV's fifteen columns with warehouse types,
//! partitioned by day of `timestamp`, clustered by region and category) and the dead
//! letters; and two views for reports, per Polish minute (the Sheets sink's aggregates
//! mode) and per Polish day.

use serde_json::{json, Value};

use super::api::{BigQueryClient, JobEnd};
use super::literals::COLUMNS;
use super::BigQueryError;

/// The dead letters table.
pub(super) const DEAD_LETTERS_TABLE: &str = "orderstream_dead_letters";

/// Whether `name` is a plain BigQuery dataset or table name: letters, digits and
/// underscores, at most 1024 characters, so it can go into SQL between backticks.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 1024 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn field(name: &str, kind: &str, mode: &str, description: &str) -> Value {
    json!({"name": name, "type": kind, "mode": mode, "description": description})
}

/// The orders table's resource.
fn orders_resource(project: &str, dataset: &str, table: &str) -> Value {
    let fields: Vec<Value> = COLUMNS
        .iter()
        .map(|(name, kind)| {
            let mode = if *name == "sprzedawca" { "NULLABLE" } else { "REQUIRED" };
            let description = match *name {
                "id" => "order id, unique",
                "timestamp" => "when the sale happened (UTC; the views use Polish time)",
                "customer_id" => "buyer (a UUID as text)",
                "cena_netto" => "net unit price, PLN",
                "wartosc_brutto" => "gross value of the line, PLN",
                "sprzedawca" => "salesperson, in-store sales only",
                _ => "",
            };
            field(name, kind, mode, description)
        })
        .collect();
    json!({
        "tableReference": {"projectId": project, "datasetId": dataset, "tableId": table},
        "description": "Electronics orders written by orderstream, each exactly once",
        "schema": {"fields": fields},
        "timePartitioning": {"type": "DAY", "field": "timestamp"},
        "clustering": {"fields": ["region", "kategoria_produktu"]},
    })
}

fn dead_letters_resource(project: &str, dataset: &str) -> Value {
    json!({
        "tableReference": {"projectId": project, "datasetId": dataset, "tableId": DEAD_LETTERS_TABLE},
        "description": "Messages orderstream could not write as orders, and gaps in the topic",
        "schema": {"fields": [
            field("target", "STRING", "REQUIRED", "the orders table"),
            field("topic", "STRING", "REQUIRED", "the Kafka topic"),
            field("partition", "INT64", "REQUIRED", "the Kafka partition"),
            field("offset", "INT64", "REQUIRED", "the message's offset (a gap's first)"),
            field("reason", "STRING", "REQUIRED", "why it is here"),
            field("payload", "BYTES", "NULLABLE", "the message as it was"),
            field("at", "TIMESTAMP", "REQUIRED", "when it was written here"),
        ]},
    })
}

/// The view statements (Polish time, as the CSV files and the dashboard count days).
fn views(dataset: &str, table: &str) -> String {
    let aggregates = "region, kategoria_produktu, COUNT(*) AS orders, SUM(ilosc) AS units, \
        SUM(cena_netto * ilosc) AS net_value, SUM(wartosc_brutto) AS gross_value";
    format!(
        "CREATE OR REPLACE VIEW `{dataset}.{table}_by_minute` AS \
           SELECT DATETIME_TRUNC(DATETIME(`timestamp`, 'Europe/Warsaw'), MINUTE) AS minute, {aggregates} \
           FROM `{dataset}.{table}` GROUP BY 1, 2, 3;\n\
         CREATE OR REPLACE VIEW `{dataset}.{table}_by_day` AS \
           SELECT DATE(`timestamp`, 'Europe/Warsaw') AS day, {aggregates} \
           FROM `{dataset}.{table}` GROUP BY 1, 2, 3;"
    )
}

/// Creates what is missing: the dataset, the two tables, the views. An existing orders
/// table is checked to have the sink's columns.
pub(super) fn create(
    client: &mut BigQueryClient,
    project: &str,
    dataset: &str,
    table: &str,
) -> Result<(), BigQueryError> {
    client.ensure_dataset(dataset)?;
    match client.table(dataset, table)? {
        Some(existing) => {
            let found: Vec<&str> = existing["schema"]["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["name"].as_str())
                .collect();
            let expected: Vec<&str> = COLUMNS.iter().map(|(name, _)| *name).collect();
            if found != expected {
                return Err(BigQueryError::ForeignTable {
                    table: format!("{project}.{dataset}.{table}"),
                    found: found.join(", "),
                });
            }
        }
        None => {
            client.create_table(dataset, &orders_resource(project, dataset, table))?;
            let job = format!("orderstream_views_{}", uuid::Uuid::from_u128(rand::random()).simple());
            match client.run_job(&job, &views(dataset, table), "creating the views")? {
                JobEnd::Done { .. } => {}
                JobEnd::Retry(message) | JobEnd::Failed { message, .. } => {
                    // The views are for reports; the sink works without them.
                    tracing::warn!(%message, "the views {table}_by_minute and {table}_by_day could not be created");
                }
            }
        }
    }
    if client.table(dataset, DEAD_LETTERS_TABLE)?.is_none() {
        client.create_table(dataset, &dead_letters_resource(project, dataset))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_cannot_break_out_of_backticks() {
        for good in ["orders", "Sales_2026", "_x"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "a.b", "a`b", "a b", "zamówienia", "a-b"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_orders_table_is_partitioned_by_day_and_clustered() {
        let resource = orders_resource("p", "d", "orders");
        assert_eq!(resource["timePartitioning"]["field"], "timestamp");
        assert_eq!(resource["clustering"]["fields"], json!(["region", "kategoria_produktu"]));
        assert_eq!(resource["schema"]["fields"].as_array().unwrap().len(), 15);
    }
}
