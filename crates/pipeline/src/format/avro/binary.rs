//! Avro's binary primitives: zig-zag varints, length-prefixed bytes and strings, and
//! decimals as big-endian two's complement.

/// Appends `n` as a zig-zag varint (Avro `int` and `long`).
#[inline]
pub(super) fn put_long(out: &mut Vec<u8>, n: i64) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// Appends `bytes` with their length (Avro `bytes` and `string`).
#[inline]
pub(super) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_long(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

/// Appends an unscaled decimal as Avro `bytes`: the shortest big-endian two's complement.
#[inline]
pub(super) fn put_decimal(out: &mut Vec<u8>, unscaled: i64) {
    let all = unscaled.to_be_bytes();
    // Drop leading bytes that only repeat the sign of the next one.
    let mut start = 0;
    while start < all.len() - 1 {
        let (this, next) = (all[start], all[start + 1]);
        let redundant = (this == 0 && next & 0x80 == 0) || (this == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    put_bytes(out, &all[start..]);
}

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BinaryError {
    /// The body ended inside a value.
    Truncated { at: usize },
    /// A varint longer than 10 bytes, or an `int` out of range.
    BadVarint { at: usize },
    /// A negative length.
    BadLength { at: usize, length: i64 },
    /// A string that is not UTF-8.
    NotUtf8 { at: usize },
    /// A decimal wider than 128 bits.
    WideDecimal { at: usize, bytes: usize },
    /// A union branch the schema does not have.
    NoSuchBranch { at: usize, index: i64 },
}

impl std::fmt::Display for BinaryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BinaryError::Truncated { at } => {
                write!(f, "the body ends at byte {at}, inside a value (truncated?)")
            }
            BinaryError::BadVarint { at } => write!(f, "bad varint at byte {at}"),
            BinaryError::BadLength { at, length } => write!(f, "negative length {length} at byte {at}"),
            BinaryError::NotUtf8 { at } => write!(f, "a string at byte {at} is not UTF-8"),
            BinaryError::WideDecimal { at, bytes } => {
                write!(f, "a {bytes}-byte decimal at byte {at} (at most 16)")
            }
            BinaryError::NoSuchBranch { at, index } => {
                write!(f, "union branch {index} at byte {at} is not in the schema")
            }
        }
    }
}

/// Reads Avro primitives from a message body, borrowing strings from it.
pub(super) struct Cursor<'a> {
    body: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(body: &'a [u8]) -> Self {
        Cursor { body, at: 0 }
    }

    /// Bytes not read yet.
    pub(super) fn remaining(&self) -> usize {
        self.body.len() - self.at
    }

    /// Where the cursor is.
    pub(super) fn position(&self) -> usize {
        self.at
    }

    #[inline]
    pub(super) fn long(&mut self) -> Result<i64, BinaryError> {
        let start = self.at;
        let mut z: u64 = 0;
        for shift in (0..70).step_by(7) {
            let Some(&byte) = self.body.get(self.at) else {
                return Err(BinaryError::Truncated { at: self.at });
            };
            self.at += 1;
            if shift == 63 && byte > 1 {
                return Err(BinaryError::BadVarint { at: start });
            }
            z |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok((z >> 1) as i64 ^ -((z & 1) as i64));
            }
        }
        Err(BinaryError::BadVarint { at: start })
    }

    #[inline]
    pub(super) fn int(&mut self) -> Result<i64, BinaryError> {
        let at = self.at;
        let n = self.long()?;
        if i32::try_from(n).is_err() {
            return Err(BinaryError::BadVarint { at });
        }
        Ok(n)
    }

    #[inline]
    pub(super) fn take(&mut self, len: usize) -> Result<&'a [u8], BinaryError> {
        let end = self.at.checked_add(len).filter(|&end| end <= self.body.len());
        let Some(end) = end else { return Err(BinaryError::Truncated { at: self.body.len() }) };
        let bytes = &self.body[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    #[inline]
    pub(super) fn bytes(&mut self) -> Result<&'a [u8], BinaryError> {
        let at = self.at;
        let length = self.long()?;
        let len = usize::try_from(length).map_err(|_| BinaryError::BadLength { at, length })?;
        self.take(len)
    }

    #[inline]
    pub(super) fn string(&mut self) -> Result<&'a str, BinaryError> {
        let at = self.at;
        std::str::from_utf8(self.bytes()?).map_err(|_| BinaryError::NotUtf8 { at })
    }

    /// A decimal's unscaled value from its two's-complement bytes.
    #[inline]
    pub(super) fn decimal(bytes: &[u8], at: usize) -> Result<i128, BinaryError> {
        if bytes.len() > 16 {
            return Err(BinaryError::WideDecimal { at, bytes: bytes.len() });
        }
        let Some(&first) = bytes.first() else { return Ok(0) };
        let mut all = if first & 0x80 != 0 { [0xffu8; 16] } else { [0u8; 16] };
        all[16 - bytes.len()..].copy_from_slice(bytes);
        Ok(i128::from_be_bytes(all))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn longs_and_decimals_round_trip(n in any::<i64>()) {
            let mut out = Vec::new();
            put_long(&mut out, n);
            put_decimal(&mut out, n);
            let mut cursor = Cursor::new(&out);
            prop_assert_eq!(cursor.long().unwrap(), n);
            let bytes = cursor.bytes().unwrap();
            prop_assert_eq!(Cursor::decimal(bytes, 0).unwrap(), i128::from(n));
            prop_assert_eq!(cursor.remaining(), 0);
        }
    }

    #[test]
    fn decimals_are_the_shortest_twos_complement() {
        let encoded = |n| {
            let mut out = Vec::new();
            put_decimal(&mut out, n);
            out[1..].to_vec()
        };
        assert_eq!(encoded(0), [0]);
        assert_eq!(encoded(127), [0x7f]);
        assert_eq!(encoded(128), [0x00, 0x80]);
        assert_eq!(encoded(-1), [0xff]);
        assert_eq!(encoded(-128), [0x80]);
        assert_eq!(encoded(-129), [0xff, 0x7f]);
        assert_eq!(encoded(36_896), [0x00, 0x90, 0x20]);
    }

    #[test]
    fn broken_input_is_named_not_panicked_on() {
        assert_eq!(Cursor::new(&[0x80]).long(), Err(BinaryError::Truncated { at: 1 }));
        assert_eq!(Cursor::new(&[0xff; 11]).long(), Err(BinaryError::BadVarint { at: 0 }));
        assert_eq!(Cursor::new(&[0x01]).bytes(), Err(BinaryError::BadLength { at: 0, length: -1 }));
        assert_eq!(Cursor::new(&[0x08, b'a']).bytes(), Err(BinaryError::Truncated { at: 2 }));
        assert_eq!(Cursor::new(&[0x02, 0xff]).string(), Err(BinaryError::NotUtf8 { at: 0 }));
        let mut big = Vec::new();
        put_long(&mut big, i64::from(i32::MAX) + 1);
        assert!(Cursor::new(&big).int().is_err());
        assert!(Cursor::decimal(&[1; 17], 0).is_err());
    }
}
