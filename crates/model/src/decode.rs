//! Turns a Kafka message into a validated [`Order`], or says precisely what is wrong.
//!
//! Parsing is serde_json's; then every business invariant is checked, and each text field
//! is mapped onto its catalogue string. A message that fails goes to the dead letters
//! with the [`DecodeError`] as its reason.

use std::borrow::Cow;

use serde::Deserialize;
use uuid::Uuid;

use super::catalogue::{intern, Catalogue, Channel, Device, Payment, Region};
use super::{gross_value, EventTime, Grosz, Order};

/// Why a message is not a valid order.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    /// Not JSON, a missing field or a field of the wrong type.
    #[error("malformed order JSON: {0}")]
    Malformed(String),
    /// Not readable in the topic's binary format (Avro): the frame, the writer schema or
    /// the body.
    #[error("unreadable Avro message: {0}")]
    Unreadable(String),
    /// Well-formed, but a field breaks the order contract.
    #[error("invalid field `{field}` = {value:?}: {reason}")]
    Invalid {
        /// Field name as in the schema.
        field: &'static str,
        /// The offending value, as received.
        value: String,
        /// What rule it breaks.
        reason: String,
    },
}

/// The order as it travels; borrowed from the payload where the JSON has no escapes.
#[derive(Deserialize)]
struct WireOrder<'a> {
    id: u64,
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    #[serde(borrow)]
    store_id: Cow<'a, str>,
    #[serde(borrow)]
    region: Cow<'a, str>,
    #[serde(borrow)]
    sales_channel: Cow<'a, str>,
    #[serde(borrow)]
    device_type: Cow<'a, str>,
    #[serde(borrow)]
    customer_id: Cow<'a, str>,
    #[serde(borrow)]
    payment_method: Cow<'a, str>,
    #[serde(borrow)]
    nazwa_produktu: Cow<'a, str>,
    #[serde(borrow)]
    marka: Cow<'a, str>,
    #[serde(borrow)]
    kategoria_produktu: Cow<'a, str>,
    ilosc: u8,
    cena_netto: f64,
    wartosc_brutto: f64,
    #[serde(default, borrow)]
    sprzedawca: Option<Cow<'a, str>>,
}

fn invalid(field: &'static str, value: impl ToString, reason: impl Into<String>) -> DecodeError {
    DecodeError::Invalid { field, value: value.to_string(), reason: reason.into() }
}

/// Converts zloty with at most two decimals to grosz.
fn to_grosz(field: &'static str, zloty: f64) -> Result<Grosz, DecodeError> {
    let grosz = (zloty * 100.0).round();
    if !zloty.is_finite() || (zloty * 100.0 - grosz).abs() > 1e-6 || grosz.abs() > 1e15 {
        return Err(invalid(field, zloty, "not an amount with at most two decimals"));
    }
    Ok(grosz as Grosz)
}

/// Parses one message payload and validates it against `catalogue`.
pub fn decode_json(payload: &[u8], catalogue: &Catalogue) -> Result<Order, DecodeError> {
    // One UTF-8 check of the whole payload, then a parser that trusts it: from a byte
    // slice, serde_json checks each of the order's eleven strings on its own, which cost
    // about a tenth of the reader's time.
    let text =
        std::str::from_utf8(payload).map_err(|e| DecodeError::Malformed(format!("not UTF-8 text: {e}")))?;
    let wire: WireOrder<'_> =
        serde_json::from_str(text).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    validate(wire, catalogue)
}

/// Parses and validates one row of a daily CSV file (`headers` is the file's header row),
/// with the same checks as a message.
pub fn decode_csv_record(
    record: &csv::StringRecord,
    headers: &csv::StringRecord,
    catalogue: &Catalogue,
) -> Result<Order, DecodeError> {
    let wire: WireOrder<'_> =
        record.deserialize(Some(headers)).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    validate(wire, catalogue)
}

/// The earliest event time a reader accepts: anything older is a zeroed or broken
/// clock (1970), not a sale.
pub const EARLIEST_EVENT_TIME: &str = "2000-01-01T00:00:00Z";
const EARLIEST_EVENT_MICROS: i64 = 946_684_800_000_000;

/// Checks an order's event time against the clock: not before [`EARLIEST_EVENT_TIME`]
/// and at most `max_future` ahead of `now_micros` (a clock skew allowance). A timestamp
/// of 9999 would otherwise create its own daily file and drag the analytics' watermark
/// into the future.
pub fn check_event_time(
    order: &Order,
    now_micros: i64,
    max_future: std::time::Duration,
) -> Result<(), DecodeError> {
    let at = order.timestamp.utc_micros;
    let text = || {
        let mut out = Vec::with_capacity(32);
        order.timestamp.write_iso8601(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    if at < EARLIEST_EVENT_MICROS {
        return Err(invalid(
            "timestamp",
            text(),
            format!("before {EARLIEST_EVENT_TIME}, the earliest accepted"),
        ));
    }
    let allowed = i64::try_from(max_future.as_micros()).unwrap_or(i64::MAX);
    if at > now_micros.saturating_add(allowed) {
        return Err(invalid(
            "timestamp",
            text(),
            format!("more than {} ahead of the clock (--max-future)", humantime::format_duration(max_future)),
        ));
    }
    Ok(())
}

/// An order's fields as a wire format carries them, before the contract is checked: what
/// the JSON and the Avro decoders both produce, so that one function checks them all.
#[derive(Debug, Clone, Copy)]
pub struct OrderFields<'a> {
    /// The order id.
    pub id: u64,
    /// The event time with its offset.
    pub timestamp: EventTime,
    /// City of the store.
    pub store_id: &'a str,
    /// Region name.
    pub region: &'a str,
    /// `online` or `in_store`.
    pub sales_channel: &'a str,
    /// Device name.
    pub device_type: &'a str,
    /// Buyer, as text.
    pub customer_id: &'a str,
    /// Payment method name.
    pub payment_method: &'a str,
    /// Product name.
    pub nazwa_produktu: &'a str,
    /// Brand.
    pub marka: &'a str,
    /// Category name.
    pub kategoria_produktu: &'a str,
    /// Quantity, as wide as any format may send it (checked to be 1 to 4).
    pub ilosc: i64,
    /// Net unit price in grosz.
    pub cena_netto: Grosz,
    /// Gross value in grosz.
    pub wartosc_brutto: Grosz,
    /// Salesperson; empty counts as absent.
    pub sprzedawca: Option<&'a str>,
}

/// Zloty text of an amount, for error messages.
fn zloty(grosz: Grosz) -> String {
    let mut out = Vec::with_capacity(16);
    crate::push_money(&mut out, grosz);
    String::from_utf8_lossy(&out).into_owned()
}

fn validate(wire: WireOrder<'_>, catalogue: &Catalogue) -> Result<Order, DecodeError> {
    let timestamp =
        EventTime::parse(&wire.timestamp).map_err(|reason| invalid("timestamp", &wire.timestamp, reason))?;
    let cena_netto = to_grosz("cena_netto", wire.cena_netto)?;
    let wartosc_brutto = to_grosz("wartosc_brutto", wire.wartosc_brutto)?;
    let fields = OrderFields {
        id: wire.id,
        timestamp,
        store_id: &wire.store_id,
        region: &wire.region,
        sales_channel: &wire.sales_channel,
        device_type: &wire.device_type,
        customer_id: &wire.customer_id,
        payment_method: &wire.payment_method,
        nazwa_produktu: &wire.nazwa_produktu,
        marka: &wire.marka,
        kategoria_produktu: &wire.kategoria_produktu,
        ilosc: i64::from(wire.ilosc),
        cena_netto,
        wartosc_brutto,
        sprzedawca: wire.sprzedawca.as_deref(),
    };
    check_fields(&fields, catalogue)
}

/// Checks decoded fields against the order contract and `catalogue`, naming the first
/// field that breaks it.
pub fn check_fields(wire: &OrderFields<'_>, catalogue: &Catalogue) -> Result<Order, DecodeError> {
    let region =
        Region::parse(wire.region).ok_or_else(|| invalid("region", wire.region, "unknown region"))?;
    let store = region
        .stores()
        .iter()
        .find(|s| s.id == wire.store_id)
        .ok_or_else(|| invalid("store_id", wire.store_id, format!("no such store in region {region}")))?;
    let sales_channel = Channel::parse(wire.sales_channel)
        .ok_or_else(|| invalid("sales_channel", wire.sales_channel, "expected online or in_store"))?;
    let in_store = sales_channel == Channel::InStore;
    let device_type =
        Device::parse(wire.device_type).filter(|d| sales_channel.devices().contains(d)).ok_or_else(|| {
            invalid("device_type", wire.device_type, format!("not a device of a {sales_channel} sale"))
        })?;
    let customer_id = Uuid::parse_str(wire.customer_id)
        .map_err(|_| invalid("customer_id", wire.customer_id, "not a UUID"))?;
    let payment_method = Payment::parse(wire.payment_method)
        .ok_or_else(|| invalid("payment_method", wire.payment_method, "unknown payment method"))?;
    let category = catalogue
        .category(wire.kategoria_produktu)
        .ok_or_else(|| invalid("kategoria_produktu", wire.kategoria_produktu, "unknown category"))?;
    let nazwa_produktu = intern(category.products, wire.nazwa_produktu).ok_or_else(|| {
        invalid("nazwa_produktu", wire.nazwa_produktu, format!("not a product of {}", category.name))
    })?;
    let marka = intern(category.brands, wire.marka)
        .ok_or_else(|| invalid("marka", wire.marka, format!("not a brand of {}", category.name)))?;
    let Ok(ilosc @ 1..=4) = u8::try_from(wire.ilosc) else {
        return Err(invalid("ilosc", wire.ilosc, "quantity must be 1 to 4"));
    };
    let cena_netto = wire.cena_netto;
    if !(category.lowest_price_grosz..=category.max_price_grosz).contains(&cena_netto) {
        return Err(invalid(
            "cena_netto",
            zloty(cena_netto),
            format!("outside the {} price range", category.name),
        ));
    }
    let wartosc_brutto = wire.wartosc_brutto;
    let exact = cena_netto * i64::from(ilosc) * 123;
    // A value exactly half a grosz apart may be rounded either way by a float producer.
    let half_way = exact % 100 == 50 && wartosc_brutto == exact / 100;
    if wartosc_brutto != gross_value(cena_netto, ilosc) && !half_way {
        return Err(invalid("wartosc_brutto", zloty(wartosc_brutto), "is not cena_netto x ilosc x 1.23"));
    }
    let seller = wire.sprzedawca.filter(|s| !s.is_empty());
    let sprzedawca = match (in_store, seller) {
        (true, Some(name)) => Some(
            intern(store.salespeople, name)
                .ok_or_else(|| invalid("sprzedawca", name, format!("does not work in {}", store.id)))?,
        ),
        (true, None) => return Err(invalid("sprzedawca", "", "an in-store sale needs a salesperson")),
        (false, Some(name)) => return Err(invalid("sprzedawca", name, "an online sale has no salesperson")),
        (false, None) => None,
    };

    Ok(Order {
        id: wire.id,
        timestamp: wire.timestamp,
        store_id: store.id,
        region,
        sales_channel,
        device_type,
        customer_id,
        payment_method,
        nazwa_produktu,
        marka,
        kategoria_produktu: category,
        ilosc,
        cena_netto,
        wartosc_brutto,
        sprzedawca,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write_json;

    const GOOD: &str = r#"{"id":7,"timestamp":"2026-11-26T09:15:02.345+01:00","store_id":"Lublin","region":"Wschod","sales_channel":"in_store","device_type":"store","customer_id":"8d3f2c1e-9a4b-4c5d-8e6f-0a1b2c3d4e5f","payment_method":"blik","nazwa_produktu":"Powerbank","marka":"Anker","kategoria_produktu":"Akcesoria","ilosc":3,"cena_netto":99.99,"wartosc_brutto":368.96,"sprzedawca":"Tomasz Wojcik"}"#;

    fn with(field: &str, value: &str) -> String {
        let mut v: serde_json::Value = serde_json::from_str(GOOD).unwrap();
        v[field] = serde_json::from_str(value).unwrap();
        v.to_string()
    }

    fn decode(payload: &[u8]) -> Result<Order, DecodeError> {
        decode_json(payload, &Catalogue::prototype())
    }

    fn field_of(err: DecodeError) -> &'static str {
        match err {
            DecodeError::Invalid { field, .. } => field,
            other => panic!("expected an invalid field, got {other}"),
        }
    }

    #[test]
    fn a_valid_order_round_trips_byte_for_byte() {
        let order = decode(GOOD.as_bytes()).unwrap();
        let mut out = Vec::new();
        write_json(&order, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), GOOD);
    }

    #[test]
    fn online_order_may_omit_or_null_or_empty_the_salesperson() {
        let base = with("sales_channel", r#""online""#);
        let mut v: serde_json::Value = serde_json::from_str(&base).unwrap();
        v["device_type"] = "pc".into();
        for seller in [serde_json::Value::Null, "".into()] {
            v["sprzedawca"] = seller;
            assert_eq!(decode(v.to_string().as_bytes()).unwrap().sprzedawca, None);
        }
        v.as_object_mut().unwrap().remove("sprzedawca");
        assert!(decode(v.to_string().as_bytes()).is_ok());
    }

    #[test]
    fn broken_invariants_name_the_field() {
        let cases = [
            ("region", r#""Mars""#, "region"),
            ("store_id", r#""Krakow""#, "store_id"),
            ("device_type", r#""pc""#, "device_type"),
            ("customer_id", r#""nope""#, "customer_id"),
            ("payment_method", r#""barter""#, "payment_method"),
            ("kategoria_produktu", r#""Laptopy""#, "nazwa_produktu"),
            ("marka", r#""Dell""#, "marka"),
            ("ilosc", "5", "ilosc"),
            ("cena_netto", "10.5", "cena_netto"),
            ("cena_netto", "99.999", "cena_netto"),
            ("wartosc_brutto", "368.97", "wartosc_brutto"),
            ("sprzedawca", r#""Anna Kowalska""#, "sprzedawca"),
            ("sprzedawca", "null", "sprzedawca"),
            ("timestamp", r#""soon""#, "timestamp"),
        ];
        for (field, value, blamed) in cases {
            let err = decode(with(field, value).as_bytes()).unwrap_err();
            assert_eq!(field_of(err), blamed, "{field} = {value}");
        }
    }

    #[test]
    fn malformed_json_is_reported_with_serde_reason() {
        assert!(matches!(decode(b"not json"), Err(DecodeError::Malformed(_))));
        let missing = GOOD.replace(r#""ilosc":3,"#, "");
        let err = decode(missing.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("missing field `ilosc`"), "{err}");
        let wrong_type = with("id", r#""seven""#);
        let err = decode(wrong_type.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("invalid type"), "{err}");
    }
}
