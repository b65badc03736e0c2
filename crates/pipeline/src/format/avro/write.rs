//! Writes an order as the Avro body of [`OrderSchema`] v1 or v2, fields in schema order.

use super::binary::{put_bytes, put_decimal, put_long};
use super::OrderSchema;
use crate::order::Order;

/// Appends `order`'s Avro body (without the wire-format header).
#[inline]
pub(crate) fn write_order(order: &Order, schema: OrderSchema, out: &mut Vec<u8>) {
    put_long(out, order.id as i64);
    put_long(out, order.timestamp.utc_micros);
    put_long(out, i64::from(order.timestamp.offset_secs));
    put_bytes(out, order.store_id.as_bytes());
    put_bytes(out, order.region.as_str().as_bytes());
    put_bytes(out, order.sales_channel.as_str().as_bytes());
    put_bytes(out, order.device_type.as_str().as_bytes());
    put_bytes(out, order.customer_id.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).as_bytes());
    put_bytes(out, order.payment_method.as_str().as_bytes());
    put_bytes(out, order.nazwa_produktu.as_bytes());
    put_bytes(out, order.marka.as_bytes());
    put_bytes(out, order.kategoria_produktu.name.as_bytes());
    put_long(out, i64::from(order.ilosc));
    put_decimal(out, order.cena_netto);
    put_decimal(out, order.wartosc_brutto);
    match order.sprzedawca {
        None => put_long(out, 0),
        Some(name) => {
            put_long(out, 1);
            put_bytes(out, name.as_bytes());
        }
    }
    if schema == OrderSchema::V2 {
        // The generator gives no discounts, and its prices are in zloty.
        put_decimal(out, 0);
        put_bytes(out, b"PLN");
    }
}
