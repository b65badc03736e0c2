//! Our Avro writer and reader held to apache-avro's reading and writing of the same
//! schemas, and the reader's answers to schemas and bodies that are not orders.

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::{Decimal, Schema};
use proptest::prelude::*;

use super::*;
use crate::generate::{Generator, GeneratorConfig};
use crate::order::{check_fields, DecodeError, Order};

fn orders(seed: u64, n: usize) -> Vec<Order> {
    let mut generator = Generator::new(&GeneratorConfig { seed: Some(seed), ..Default::default() });
    (0..n).map(|_| generator.next_order()).collect()
}

fn schema(version: OrderSchema) -> Schema {
    Schema::parse_str(version.text()).expect("the order schemas parse")
}

fn decimal(grosz: i64) -> Value {
    Value::Decimal(Decimal::from(num_bigint_bytes(grosz)))
}

/// Two's-complement big-endian bytes, as apache-avro's `Decimal` takes them.
fn num_bigint_bytes(n: i64) -> Vec<u8> {
    let mut out = Vec::new();
    binary::put_decimal(&mut out, n);
    out[1..].to_vec()
}

fn field<'v>(record: &'v Value, name: &str) -> &'v Value {
    let Value::Record(fields) = record else { panic!("not a record: {record:?}") };
    &fields.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no field {name}")).1
}

/// The order as apache-avro builds a record of `version`.
fn as_value(order: &Order, version: OrderSchema) -> Value {
    let mut fields = vec![
        ("id".to_string(), Value::Long(order.id as i64)),
        ("timestamp".into(), Value::TimestampMicros(order.timestamp.utc_micros)),
        ("utc_offset_seconds".into(), Value::Int(order.timestamp.offset_secs)),
        ("store_id".into(), Value::String(order.store_id.into())),
        ("region".into(), Value::String(order.region.as_str().into())),
        ("sales_channel".into(), Value::String(order.sales_channel.as_str().into())),
        ("device_type".into(), Value::String(order.device_type.as_str().into())),
        ("customer_id".into(), Value::Uuid(order.customer_id)),
        ("payment_method".into(), Value::String(order.payment_method.as_str().into())),
        ("nazwa_produktu".into(), Value::String(order.nazwa_produktu.into())),
        ("marka".into(), Value::String(order.marka.into())),
        ("kategoria_produktu".into(), Value::String(order.kategoria_produktu.name.into())),
        ("ilosc".into(), Value::Int(i32::from(order.ilosc))),
        ("cena_netto".into(), decimal(order.cena_netto)),
        ("wartosc_brutto".into(), decimal(order.wartosc_brutto)),
        (
            "sprzedawca".into(),
            match order.sprzedawca {
                None => Value::Union(0, Box::new(Value::Null)),
                Some(name) => Value::Union(1, Box::new(Value::String(name.into()))),
            },
        ),
    ];
    if version == OrderSchema::V2 {
        fields.push(("discount".into(), decimal(0)));
        fields.push(("currency".into(), Value::String("PLN".into())));
    }
    Value::Record(fields)
}

/// apache-avro's body of `value`.
fn to_avro_datum(schema: &Schema, value: Value) -> Result<Vec<u8>, apache_avro::Error> {
    GenericDatumWriter::builder(schema).build()?.write_value_to_vec(value)
}

/// apache-avro's reading of `body`.
fn from_avro_datum(schema: &Schema, body: &[u8]) -> Result<Value, apache_avro::Error> {
    GenericDatumReader::builder(schema).build()?.read_value(&mut &body[..])
}

fn read(text: &str, body: &[u8]) -> Result<Order, DecodeError> {
    let plan = Plan::compile(text).map_err(DecodeError::Unreadable)?;
    check_fields(&plan.read(body)?, &crate::generate::builtin_catalogue())
}

#[test]
fn our_bodies_are_what_apache_avro_writes_and_reads() {
    for version in [OrderSchema::V1, OrderSchema::V2] {
        let schema = schema(version);
        for order in orders(11, 300) {
            let mut ours = Vec::new();
            write_order(&order, version, &mut ours);
            let theirs = to_avro_datum(&schema, as_value(&order, version)).expect("apache-avro writes it");
            assert_eq!(ours, theirs, "{version:?} body of {order:?}");
            let value = from_avro_datum(&schema, &ours).expect("apache-avro reads ours");
            assert_eq!(field(&value, "id"), &Value::Long(order.id as i64));
            assert_eq!(read(version.text(), &theirs).expect("we read theirs"), order);
        }
    }
}

proptest! {
    #[test]
    fn any_generated_order_round_trips_through_either_schema(seed in any::<u64>(), v2 in any::<bool>()) {
        let version = if v2 { OrderSchema::V2 } else { OrderSchema::V1 };
        for order in orders(seed, 20) {
            let mut body = Vec::new();
            write_order(&order, version, &mut body);
            prop_assert_eq!(read(version.text(), &body).unwrap(), order);
        }
    }

    #[test]
    fn truncated_or_mangled_bodies_are_errors_never_panics(cut in 0usize..200, flip in any::<(usize, u8)>()) {
        let order = orders(5, 1)[0];
        let mut body = Vec::new();
        write_order(&order, OrderSchema::V2, &mut body);
        let plan = Plan::compile(OrderSchema::V2.text()).unwrap();
        if cut < body.len() {
            prop_assert!(plan.read(&body[..cut]).is_err());
        }
        let at = flip.0 % body.len();
        body[at] ^= flip.1;
        // Either an error or some order; never a panic.
        let _ = plan.read(&body).map(|f| check_fields(&f, &crate::generate::builtin_catalogue()));
    }
}

#[test]
fn a_later_writer_schema_with_fields_of_its_own_is_read_past_them() {
    let mut v3: serde_json::Value = serde_json::from_str(OrderSchema::V2.text()).unwrap();
    let extra = serde_json::json!([
        {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []},
        {"name": "loyalty", "type": ["null", {"type": "record", "name": "Loyalty", "fields": [
            {"name": "card", "type": "string"}, {"name": "points", "type": "long"},
            {"name": "extra", "type": {"type": "map", "values": "double"}}]}], "default": null},
        {"name": "score", "type": "float", "default": 0.0},
    ]);
    v3["fields"].as_array_mut().unwrap().extend(extra.as_array().unwrap().iter().cloned());
    let text = v3.to_string();
    let schema = Schema::parse_str(&text).unwrap();
    let order = orders(2, 1)[0];
    let Value::Record(mut fields) = as_value(&order, OrderSchema::V2) else { unreachable!() };
    fields.push(("tags".into(), Value::Array(vec![Value::String("a".into()), Value::String("b".into())])));
    let loyalty = Value::Record(vec![
        ("card".into(), Value::String("K-1".into())),
        ("points".into(), Value::Long(1234)),
        ("extra".into(), Value::Map([("x".to_string(), Value::Double(1.5))].into_iter().collect())),
    ]);
    fields.push(("loyalty".into(), Value::Union(1, Box::new(loyalty))));
    fields.push(("score".into(), Value::Float(0.5)));
    let body = to_avro_datum(&schema, Value::Record(fields)).unwrap();
    assert_eq!(read(&text, &body).unwrap(), order);
}

#[test]
fn schemas_that_are_not_orders_say_why() {
    let compile = |text: &str| Plan::compile(text).unwrap_err();
    assert!(compile("{").contains("not a valid Avro schema"), "{}", compile("{"));
    assert!(compile(r#""string""#).contains("cannot read"), "{}", compile(r#""string""#));
    let mut v1: serde_json::Value = serde_json::from_str(OrderSchema::V1.text()).unwrap();
    v1["fields"].as_array_mut().unwrap().retain(|f| f["name"] != "ilosc");
    let without = compile(&v1.to_string());
    assert!(without.contains("ilosc"), "{without}");
    let mut v1: serde_json::Value = serde_json::from_str(OrderSchema::V1.text()).unwrap();
    v1["fields"][13]["type"] = "double".into();
    let float_money = compile(&v1.to_string());
    assert!(float_money.contains("cena_netto"), "{float_money}");
}

#[test]
fn other_currencies_and_bad_discounts_are_named() {
    let schema = schema(OrderSchema::V2);
    let order = orders(3, 1)[0];
    let with = |name: &str, value: Value| {
        let Value::Record(mut fields) = as_value(&order, OrderSchema::V2) else { unreachable!() };
        fields.iter_mut().find(|(n, _)| n == name).unwrap().1 = value;
        to_avro_datum(&schema, Value::Record(fields)).unwrap()
    };
    let err = read(OrderSchema::V2.text(), &with("currency", Value::String("EUR".into()))).unwrap_err();
    assert!(matches!(&err, DecodeError::Invalid { field: "currency", .. }), "{err}");
    let err = read(OrderSchema::V2.text(), &with("discount", decimal(-1))).unwrap_err();
    assert!(matches!(&err, DecodeError::Invalid { field: "discount", .. }), "{err}");
    let ok = read(OrderSchema::V2.text(), &with("discount", decimal(order.wartosc_brutto / 2))).unwrap();
    assert_eq!(ok, order, "a discount is carried beside the order, not into it");
    let err = read(OrderSchema::V2.text(), &with("ilosc", Value::Int(1000))).unwrap_err();
    assert!(matches!(&err, DecodeError::Invalid { field: "ilosc", .. }), "{err}");
    // UTC offsets: at most 18 hours either way (the integer's minimum too, whose absolute
    // value does not fit), in whole minutes.
    for offset in [i32::MIN, i32::MAX, 18 * 3600 + 60, -18 * 3600 - 60, 3601, -30] {
        let err = read(OrderSchema::V2.text(), &with("utc_offset_seconds", Value::Int(offset))).unwrap_err();
        assert!(matches!(&err, DecodeError::Invalid { field: "utc_offset_seconds", .. }), "{offset}: {err}");
    }
    for offset in [0, 3600, -18 * 3600, 5 * 3600 + 45 * 60] {
        let ok = read(OrderSchema::V2.text(), &with("utc_offset_seconds", Value::Int(offset))).unwrap();
        assert_eq!(ok.timestamp.offset_secs, offset);
    }
    let mut trailing = with("currency", Value::String("PLN".into()));
    trailing.push(0);
    let err = read(OrderSchema::V2.text(), &trailing).unwrap_err();
    assert!(err.to_string().contains("1 bytes left"), "{err}");
}

#[test]
fn the_schema_files_are_v1_then_a_compatible_v2() {
    use apache_avro::schema_compatibility::SchemaCompatibility;
    let (v1, v2) = (schema(OrderSchema::V1), schema(OrderSchema::V2));
    SchemaCompatibility::can_read(&v1, &v2).expect("v2 readers read v1 messages");
    SchemaCompatibility::can_read(&v2, &v1).expect("v1 readers read v2 messages");
}
