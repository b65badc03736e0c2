//! Reading an order written with any writer schema that still describes one.
//!
//! A [`Plan`] is made once per schema id: apache-avro parses the writer schema and
//! checks that the newest order schema can read it (Avro's schema resolution rules);
//! then each writer field is either one of the order's fields, with its type checked, or
//! a field of the writer's own that is read past. Decoding a body then walks the plan
//! without allocating: strings are borrowed from the message.

use std::collections::HashMap;

use apache_avro::schema::{InnerDecimalSchema, Name, Schema, UuidSchema};
use apache_avro::schema_compatibility::SchemaCompatibility;

use super::binary::{BinaryError, Cursor};
use super::OrderSchema;
use crate::order::{DecodeError, EventTime, OrderFields};

/// The order fields a writer schema may carry, in the order of v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Id,
    Timestamp,
    Offset,
    StoreId,
    Region,
    SalesChannel,
    DeviceType,
    CustomerId,
    PaymentMethod,
    Product,
    Brand,
    Category,
    Quantity,
    NetPrice,
    GrossValue,
    Seller,
    Discount,
    Currency,
}

impl Target {
    const ALL: [(&'static str, Target); 18] = [
        ("id", Target::Id),
        ("timestamp", Target::Timestamp),
        ("utc_offset_seconds", Target::Offset),
        ("store_id", Target::StoreId),
        ("region", Target::Region),
        ("sales_channel", Target::SalesChannel),
        ("device_type", Target::DeviceType),
        ("customer_id", Target::CustomerId),
        ("payment_method", Target::PaymentMethod),
        ("nazwa_produktu", Target::Product),
        ("marka", Target::Brand),
        ("kategoria_produktu", Target::Category),
        ("ilosc", Target::Quantity),
        ("cena_netto", Target::NetPrice),
        ("wartosc_brutto", Target::GrossValue),
        ("sprzedawca", Target::Seller),
        ("discount", Target::Discount),
        ("currency", Target::Currency),
    ];

    fn name(self) -> &'static str {
        Target::ALL.iter().find(|(_, t)| *t == self).map_or("?", |(name, _)| name)
    }

    /// Fields every order has; the others have defaults.
    fn required(self) -> bool {
        !matches!(self, Target::Seller | Target::Discount | Target::Currency)
    }

    /// Whether a value of `node` can fill this field.
    fn accepts(self, node: &Node) -> bool {
        match node {
            Node::Union(branches) => branches.iter().any(|b| matches!(b, Node::Null) || self.accepts(b)),
            Node::Int | Node::Long => matches!(self, Target::Id | Target::Offset | Target::Quantity),
            Node::TimestampMicros | Node::TimestampMillis => self == Target::Timestamp,
            Node::Str => !matches!(
                self,
                Target::Id
                    | Target::Timestamp
                    | Target::Offset
                    | Target::Quantity
                    | Target::NetPrice
                    | Target::GrossValue
                    | Target::Discount
            ),
            Node::Decimal { .. } => matches!(self, Target::NetPrice | Target::GrossValue | Target::Discount),
            _ => false,
        }
    }
}

/// A writer type, as far as reading needs it.
#[derive(Debug, Clone)]
enum Node {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    Str,
    Fixed(usize),
    Enum,
    Decimal { scale: u32, fixed: Option<usize> },
    TimestampMicros,
    TimestampMillis,
    Union(Vec<Node>),
    Array(Box<Node>),
    Map(Box<Node>),
    Record(Vec<Node>),
}

/// One value read from a body; only what order fields need is kept.
#[derive(Debug, Clone, Copy)]
enum Val<'a> {
    Null,
    Int(i64),
    Micros(i64),
    Str(&'a str),
    Decimal { unscaled: i128, scale: u32 },
    Other,
}

/// How to read one writer schema's bodies into order fields.
#[derive(Debug)]
pub(crate) struct Plan {
    fields: Vec<(Option<Target>, Node)>,
}

/// Nesting deeper than this (or a recursive type) is not an order.
const MAX_DEPTH: usize = 16;

impl Plan {
    /// Parses `text` and plans reading it, or says why its messages cannot be orders.
    pub(crate) fn compile(text: &str) -> Result<Plan, String> {
        let writer = Schema::parse_str(text).map_err(|e| format!("not a valid Avro schema: {e}"))?;
        let reader = Schema::parse_str(OrderSchema::V2.text()).map_err(|e| format!("order schema: {e}"))?;
        if let Err(e) = SchemaCompatibility::can_read(&writer, &reader) {
            return Err(format!("the order schema v2 cannot read it: {e}"));
        }
        let Schema::Record(record) = &writer else {
            return Err("not a record".into());
        };
        let mut names = HashMap::new();
        collect_names(&writer, &mut names);
        let mut fields = Vec::with_capacity(record.fields.len());
        for field in &record.fields {
            let node = node(&field.schema, &names, 0)?;
            let target = Target::ALL.iter().find(|(name, _)| *name == field.name).map(|(_, t)| *t);
            if let Some(target) = target {
                if !target.accepts(&node) {
                    return Err(format!(
                        "field `{}` has a type an order field cannot take: {:?}",
                        field.name, node
                    ));
                }
            }
            fields.push((target, node));
        }
        if let Some((name, _)) = Target::ALL
            .iter()
            .find(|(_, t)| t.required() && !fields.iter().any(|(f, _)| f.as_ref() == Some(t)))
        {
            return Err(format!("no field `{name}`"));
        }
        Ok(Plan { fields })
    }

    /// Reads one body into the order's fields (not yet checked against the contract).
    pub(crate) fn read<'a>(&self, body: &'a [u8]) -> Result<OrderFields<'a>, DecodeError> {
        let mut cursor = Cursor::new(body);
        let mut fields = Partial::default();
        for (target, node) in &self.fields {
            let value = read(node, &mut cursor).map_err(malformed)?;
            if let Some(target) = target {
                fields.set(*target, value)?;
            }
        }
        if cursor.remaining() > 0 {
            return Err(DecodeError::Unreadable(format!(
                "Avro body: {} bytes left after the order ({} read); written with another schema than its id says?",
                cursor.remaining(),
                cursor.position()
            )));
        }
        fields.finish()
    }
}

fn malformed(e: BinaryError) -> DecodeError {
    DecodeError::Unreadable(format!("Avro body: {e}"))
}

/// Named types of a schema, so that references to them can be followed.
fn collect_names<'s>(schema: &'s Schema, names: &mut HashMap<Name, &'s Schema>) {
    match schema {
        Schema::Record(r) => {
            names.insert(r.name.clone(), schema);
            r.fields.iter().for_each(|f| collect_names(&f.schema, names));
        }
        Schema::Enum(e) => {
            names.insert(e.name.clone(), schema);
        }
        Schema::Fixed(f) => {
            names.insert(f.name.clone(), schema);
        }
        Schema::Array(a) => collect_names(&a.items, names),
        Schema::Map(m) => collect_names(&m.types, names),
        Schema::Union(u) => u.variants().iter().for_each(|v| collect_names(v, names)),
        _ => {}
    }
}

fn node(schema: &Schema, names: &HashMap<Name, &Schema>, depth: usize) -> Result<Node, String> {
    if depth > MAX_DEPTH {
        return Err(format!("nested deeper than {MAX_DEPTH} levels (a recursive type?)"));
    }
    let next = |s: &Schema| node(s, names, depth + 1);
    Ok(match schema {
        Schema::Null => Node::Null,
        Schema::Boolean => Node::Boolean,
        Schema::Int | Schema::Date | Schema::TimeMillis => Node::Int,
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => Node::Long,
        Schema::TimestampMicros => Node::TimestampMicros,
        Schema::TimestampMillis => Node::TimestampMillis,
        Schema::Float => Node::Float,
        Schema::Double => Node::Double,
        Schema::Bytes | Schema::BigDecimal | Schema::Uuid(UuidSchema::Bytes) => Node::Bytes,
        Schema::String | Schema::Uuid(UuidSchema::String) => Node::Str,
        Schema::Uuid(UuidSchema::Fixed(f)) => Node::Fixed(f.size),
        Schema::Fixed(f) => Node::Fixed(f.size),
        Schema::Duration(_) => Node::Fixed(12),
        Schema::Enum(_) => Node::Enum,
        Schema::Decimal(d) => Node::Decimal {
            scale: u32::try_from(d.scale).map_err(|_| format!("decimal scale {} out of range", d.scale))?,
            fixed: match &d.inner {
                InnerDecimalSchema::Bytes => None,
                InnerDecimalSchema::Fixed(f) => Some(f.size),
            },
        },
        Schema::Union(u) => Node::Union(u.variants().iter().map(next).collect::<Result<_, _>>()?),
        Schema::Array(a) => Node::Array(Box::new(next(&a.items)?)),
        Schema::Map(m) => Node::Map(Box::new(next(&m.types)?)),
        Schema::Record(r) => {
            Node::Record(r.fields.iter().map(|f| next(&f.schema)).collect::<Result<_, _>>()?)
        }
        Schema::Ref { name } => {
            let target = names.get(name).ok_or_else(|| format!("unknown type {name}"))?;
            next(target)?
        }
    })
}

fn read<'a>(node: &Node, cursor: &mut Cursor<'a>) -> Result<Val<'a>, BinaryError> {
    Ok(match node {
        Node::Null => Val::Null,
        Node::Boolean => {
            cursor.take(1)?;
            Val::Other
        }
        Node::Int => Val::Int(cursor.int()?),
        Node::Long => Val::Int(cursor.long()?),
        Node::TimestampMicros => Val::Micros(cursor.long()?),
        Node::TimestampMillis => {
            let at = cursor.position();
            let millis = cursor.long()?;
            Val::Micros(millis.checked_mul(1000).ok_or(BinaryError::BadVarint { at })?)
        }
        Node::Float => {
            cursor.take(4)?;
            Val::Other
        }
        Node::Double => {
            cursor.take(8)?;
            Val::Other
        }
        Node::Bytes => {
            cursor.bytes()?;
            Val::Other
        }
        Node::Str => Val::Str(cursor.string()?),
        Node::Fixed(size) => {
            cursor.take(*size)?;
            Val::Other
        }
        Node::Enum => {
            cursor.int()?;
            Val::Other
        }
        Node::Decimal { scale, fixed } => {
            let at = cursor.position();
            let bytes = match fixed {
                Some(size) => cursor.take(*size)?,
                None => cursor.bytes()?,
            };
            Val::Decimal { unscaled: Cursor::decimal(bytes, at)?, scale: *scale }
        }
        Node::Union(branches) => {
            let at = cursor.position();
            let index = cursor.long()?;
            let branch = usize::try_from(index).ok().and_then(|i| branches.get(i));
            let Some(branch) = branch else { return Err(BinaryError::NoSuchBranch { at, index }) };
            read(branch, cursor)?
        }
        Node::Record(fields) => {
            for field in fields {
                read(field, cursor)?;
            }
            Val::Other
        }
        Node::Array(items) => {
            skip_blocks(cursor, |c| read(items, c).map(drop))?;
            Val::Other
        }
        Node::Map(values) => {
            skip_blocks(cursor, |c| {
                c.string()?;
                read(values, c).map(drop)
            })?;
            Val::Other
        }
    })
}

/// Reads past the blocks of an array or map (a count, negative when followed by the
/// block's size in bytes; zero ends).
fn skip_blocks<'a>(
    cursor: &mut Cursor<'a>,
    mut item: impl FnMut(&mut Cursor<'a>) -> Result<(), BinaryError>,
) -> Result<(), BinaryError> {
    loop {
        let at = cursor.position();
        let count = cursor.long()?;
        if count == 0 {
            return Ok(());
        }
        if count < 0 {
            let size = cursor.long()?;
            let size = usize::try_from(size).map_err(|_| BinaryError::BadLength { at, length: size })?;
            cursor.take(size)?;
            continue;
        }
        // Each item takes at least one byte of a body that has only so many left.
        if count.unsigned_abs() > cursor.remaining() as u64 + 1 {
            return Err(BinaryError::Truncated { at });
        }
        for _ in 0..count {
            item(cursor)?;
        }
    }
}

/// Order fields as they are read; what is missing is checked at the end.
#[derive(Default)]
struct Partial<'a> {
    id: Option<u64>,
    micros: Option<i64>,
    offset: Option<i32>,
    text: [Option<&'a str>; 9],
    quantity: Option<i64>,
    net: Option<i64>,
    gross: Option<i64>,
    seller: Option<&'a str>,
    discount: i64,
    currency: Option<&'a str>,
}

fn invalid(target: Target, value: impl ToString, reason: impl Into<String>) -> DecodeError {
    DecodeError::Invalid { field: target.name(), value: value.to_string(), reason: reason.into() }
}

/// Grosz from a decimal of any scale, if exact and within the money range.
fn grosz(target: Target, unscaled: i128, scale: u32) -> Result<i64, DecodeError> {
    let shown = || format!("{unscaled}e-{scale}");
    let value = if scale <= 2 {
        10i128.checked_pow(2 - scale).and_then(|f| unscaled.checked_mul(f))
    } else {
        let f = 10i128.checked_pow(scale - 2);
        f.filter(|f| unscaled % f == 0).map(|f| unscaled / f)
    };
    let value = value.ok_or_else(|| invalid(target, shown(), "not an amount with at most two decimals"))?;
    i64::try_from(value)
        .ok()
        .filter(|v| v.abs() <= 1_000_000_000_000_000)
        .ok_or_else(|| invalid(target, shown(), "amount out of range"))
}

impl<'a> Partial<'a> {
    fn set(&mut self, target: Target, value: Val<'a>) -> Result<(), DecodeError> {
        use Target as T;
        match (target, value) {
            (T::Seller, Val::Null) => self.seller = None,
            (T::Seller, Val::Str(s)) => self.seller = Some(s),
            (_, Val::Null) => return Err(invalid(target, "null", "must not be null")),
            (T::Id, Val::Int(n)) => {
                self.id = Some(u64::try_from(n).map_err(|_| invalid(target, n, "a negative order id"))?);
            }
            (T::Timestamp, Val::Micros(m)) => self.micros = Some(m),
            (T::Offset, Val::Int(n)) => {
                // Whole minutes, as the order's text time writes them (`+01:00`): an
                // offset with seconds would move the written time.
                let secs = i32::try_from(n).ok().filter(|s| s.unsigned_abs() <= 18 * 3600 && s % 60 == 0);
                self.offset = Some(secs.ok_or_else(|| {
                    invalid(target, n, "not a UTC offset (whole minutes, at most 18 hours)")
                })?);
            }
            (T::Quantity, Val::Int(n)) => self.quantity = Some(n),
            (T::NetPrice, Val::Decimal { unscaled, scale }) => {
                self.net = Some(grosz(target, unscaled, scale)?);
            }
            (T::GrossValue, Val::Decimal { unscaled, scale }) => {
                self.gross = Some(grosz(target, unscaled, scale)?);
            }
            (T::Discount, Val::Decimal { unscaled, scale }) => {
                self.discount = grosz(target, unscaled, scale)?;
            }
            (T::Currency, Val::Str(s)) => self.currency = Some(s),
            (text, Val::Str(s))
                if (T::StoreId as usize..=T::Category as usize).contains(&(text as usize)) =>
            {
                self.text[text as usize - T::StoreId as usize] = Some(s);
            }
            (_, other) => return Err(invalid(target, format!("{other:?}"), "a value of the wrong type")),
        }
        Ok(())
    }

    fn finish(self) -> Result<OrderFields<'a>, DecodeError> {
        let missing = |t: Target| DecodeError::Unreadable(format!("no value for `{}`", t.name()));
        if let Some(currency) = self.currency.filter(|c| *c != "PLN") {
            return Err(invalid(Target::Currency, currency, "orderstream keeps amounts in PLN only"));
        }
        let gross = self.gross.ok_or_else(|| missing(Target::GrossValue))?;
        if self.discount < 0 || self.discount > gross {
            return Err(invalid(Target::Discount, self.discount, "must be between 0 and wartosc_brutto"));
        }
        let text = |t: Target| self.text[t as usize - Target::StoreId as usize].ok_or_else(|| missing(t));
        Ok(OrderFields {
            id: self.id.ok_or_else(|| missing(Target::Id))?,
            timestamp: EventTime {
                utc_micros: self.micros.ok_or_else(|| missing(Target::Timestamp))?,
                offset_secs: self.offset.ok_or_else(|| missing(Target::Offset))?,
            },
            store_id: text(Target::StoreId)?,
            region: text(Target::Region)?,
            sales_channel: text(Target::SalesChannel)?,
            device_type: text(Target::DeviceType)?,
            customer_id: text(Target::CustomerId)?,
            payment_method: text(Target::PaymentMethod)?,
            nazwa_produktu: text(Target::Product)?,
            marka: text(Target::Brand)?,
            kategoria_produktu: text(Target::Category)?,
            ilosc: self.quantity.ok_or_else(|| missing(Target::Quantity))?,
            cena_netto: self.net.ok_or_else(|| missing(Target::NetPrice))?,
            wartosc_brutto: gross,
            sprzedawca: self.seller,
        })
    }
}
