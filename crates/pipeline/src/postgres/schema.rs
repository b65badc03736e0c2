//! The sink's tables: the orders (the CSV's fifteen columns with warehouse types), the
//! offsets that say how far each partition is written (in the same transaction as its
//! rows), and the dead letters; and two views for reports: per Polish minute (the Sheets
//! sink's aggregates mode) and per Polish day, by region and category.

use postgres::Client;

/// Creates what is missing; an existing orders table is used as it is.
pub(super) fn create(client: &mut Client, table: &str) -> Result<(), postgres::Error> {
    let index = format!("{}_timestamp", table.replace('.', "_"));
    client.batch_execute(&format!(
        r#"
        CREATE TABLE IF NOT EXISTS {table} (
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
            ilosc              smallint NOT NULL CHECK (ilosc BETWEEN 1 AND 4),
            cena_netto         numeric(12,2) NOT NULL,
            wartosc_brutto     numeric(12,2) NOT NULL,
            sprzedawca         text
        );
        CREATE INDEX IF NOT EXISTS {index} ON {table} ("timestamp");
        CREATE TABLE IF NOT EXISTS orderstream_offsets (
            target      text NOT NULL,
            topic       text NOT NULL,
            partition   integer NOT NULL,
            next_offset bigint NOT NULL,
            topic_id    text,
            updated_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (target, topic, partition)
        );
        CREATE TABLE IF NOT EXISTS orderstream_dead_letters (
            target    text NOT NULL,
            topic     text NOT NULL,
            partition integer NOT NULL,
            "offset"  bigint NOT NULL,
            reason    text NOT NULL,
            payload   bytea,
            at        timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (target, topic, partition, "offset")
        );
        CREATE OR REPLACE VIEW {table}_by_minute AS
            SELECT date_trunc('minute', "timestamp" AT TIME ZONE 'Europe/Warsaw') AS minute,
                   region, kategoria_produktu,
                   count(*) AS orders, sum(ilosc) AS units,
                   sum(cena_netto * ilosc) AS net_value, sum(wartosc_brutto) AS gross_value
            FROM {table} GROUP BY 1, 2, 3;
        CREATE OR REPLACE VIEW {table}_by_day AS
            SELECT ("timestamp" AT TIME ZONE 'Europe/Warsaw')::date AS day,
                   region, kategoria_produktu,
                   count(*) AS orders, sum(ilosc) AS units,
                   sum(cena_netto * ilosc) AS net_value, sum(wartosc_brutto) AS gross_value
            FROM {table} GROUP BY 1, 2, 3;
        CREATE TEMP TABLE IF NOT EXISTS orderstream_staging (LIKE {table}) ON COMMIT DELETE ROWS;
        "#,
    ))
}

/// Whether `name` can be put into SQL as a table name as it is: letters, digits and
/// underscores, optionally `schema.table`.
pub fn valid_table_name(name: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 63
            && p.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() <= 2 && parts.iter().all(|p| part(p))
}

#[cfg(test)]
mod tests {
    use super::valid_table_name;

    #[test]
    fn table_names_are_plain_identifiers() {
        for good in ["orders", "sales.orders", "_t1"] {
            assert!(valid_table_name(good), "{good}");
        }
        for bad in ["", "Orders", "1orders", "orders; drop table x", "a.b.c", "o\"rders"] {
            assert!(!valid_table_name(bad), "{bad}");
        }
    }
}
