//! The Confluent wire format: magic byte 0, the schema id as 4 bytes big-endian, then
//! the Avro binary body. Every Confluent client (Java, librdkafka's serdes, Python's
//! `AvroSerializer`) frames messages this way.

use crate::order::DecodeError;

/// The first byte of a framed message.
const MAGIC: u8 = 0;

/// Appends the frame header for `schema_id`.
pub(super) fn frame(schema_id: u32, out: &mut Vec<u8>) {
    out.push(MAGIC);
    out.extend_from_slice(&schema_id.to_be_bytes());
}

/// The schema id and the body of a framed message, or why it is not one.
pub(super) fn unframe(payload: &[u8]) -> Result<(u32, &[u8]), DecodeError> {
    match payload {
        [MAGIC, a, b, c, d, body @ ..] => Ok((u32::from_be_bytes([*a, *b, *c, *d]), body)),
        [b'{', ..] => Err(DecodeError::Unreadable(
            "a JSON message on a topic read as Avro (--format avro expects the Confluent wire format: byte 0, a 4-byte schema id, the Avro body)".into(),
        )),
        [MAGIC, ..] => Err(DecodeError::Unreadable(format!(
            "only {} bytes: too short for the Confluent wire format (byte 0 and a 4-byte schema id)",
            payload.len()
        ))),
        [first, ..] => Err(DecodeError::Unreadable(format!(
            "not in the Confluent wire format: first byte is 0x{first:02x}, expected 0x00"
        ))),
        [] => Err(DecodeError::Unreadable("empty message".into())),
    }
}

/// For a JSON reader: says so when `payload` looks like a framed Avro message, which
/// serde_json would only call "expected value at line 1 column 1".
pub(super) fn looks_framed(payload: &[u8]) -> Option<u32> {
    match payload {
        [MAGIC, a, b, c, d, _, ..] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips_and_bad_frames_say_what_they_are() {
        let mut out = Vec::new();
        frame(0x0102_0304, &mut out);
        out.extend_from_slice(b"body");
        assert_eq!(unframe(&out).unwrap(), (0x0102_0304, &b"body"[..]));
        assert_eq!(looks_framed(&out), Some(0x0102_0304));
        let text = |p: &[u8]| unframe(p).unwrap_err().to_string();
        assert!(text(br#"{"id":1}"#).contains("JSON message"), "{}", text(b"{"));
        assert!(text(&[0, 0, 1]).contains("only 3 bytes"));
        assert!(text(&[7, 0, 0, 0, 1]).contains("0x07"));
        assert!(text(&[]).contains("empty"));
        assert_eq!(looks_framed(br#"{"id":1}"#), None);
    }
}
