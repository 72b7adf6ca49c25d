//! One cell in PostgreSQL's binary format, for the column kind it goes
//! into: integers range-checked, decimals exact, dates and times as
//! offsets from 2000-01-01, MySQL TIME as an interval, sets as `text[]`.
//! [`Cell`] makes the same encoding usable as a query parameter.

use bytes::{BufMut, BytesMut};
use postgres_types::{IsNull, ToSql, Type, to_sql_checked};
use watershed_events::Value;

pub(crate) use super::cell_error::{CellError, value_name};
use super::kind::Kind;
use super::numeric;
use super::temporal::encode_temporal;

/// Writes `value` for a column of `kind` (without the length prefix).
pub(crate) fn encode(value: &Value, kind: &Kind, buf: &mut BytesMut) -> Result<IsNull, CellError> {
    match value {
        Value::Null => return Ok(IsNull::Yes),
        Value::Unchanged => return Err(CellError::Unchanged),
        _ => {}
    }
    let written = match kind {
        Kind::Bool => encode_bool(value, buf),
        Kind::Int2 => integer(value, kind).and_then(|i| {
            let i = i16::try_from(i).map_err(|_| out_of_range(value))?;
            buf.put_i16(i);
            Ok(())
        }),
        Kind::Int4 => integer(value, kind).and_then(|i| {
            let i = i32::try_from(i).map_err(|_| out_of_range(value))?;
            buf.put_i32(i);
            Ok(())
        }),
        Kind::Int8 => integer(value, kind).and_then(|i| {
            let i = i64::try_from(i).map_err(|_| out_of_range(value))?;
            buf.put_i64(i);
            Ok(())
        }),
        Kind::Float4 | Kind::Float8 => encode_float(value, kind, buf),
        Kind::Numeric { max_int_digits } => encode_numeric(value, *max_int_digits, buf),
        Kind::Text { max_chars } => encode_text(value, *max_chars, buf),
        Kind::Bytea => encode_bytes(value, buf),
        Kind::Json | Kind::Jsonb => encode_json(value, kind, buf),
        Kind::Uuid => match value {
            Value::Uuid(bytes) => {
                buf.put_slice(bytes);
                Ok(())
            }
            _ => Err(mismatch(value, kind)),
        },
        Kind::Bits { max_bits } => encode_bits(value, *max_bits, buf),
        Kind::Array {
            element,
            element_oid,
        } => encode_array(value, element, *element_oid, buf),
        Kind::Date | Kind::Time | Kind::Interval | Kind::Timestamp | Kind::Timestamptz => {
            encode_temporal(value, kind, buf)
        }
    };
    written.map(|()| IsNull::No)
}

pub(crate) fn mismatch(value: &Value, kind: &Kind) -> CellError {
    CellError::Mismatch {
        value: value_name(value),
        column: kind.name(),
    }
}

pub(crate) fn out_of_range(value: &Value) -> CellError {
    CellError::OutOfRange {
        value: value_name(value),
    }
}

/// An integer-like value widened to i128 for one range check per width.
fn integer(value: &Value, kind: &Kind) -> Result<i128, CellError> {
    match value {
        Value::Int(i) => Ok(i128::from(*i)),
        Value::UInt(u) => Ok(i128::from(*u)),
        Value::Year(y) => Ok(i128::from(*y)),
        Value::Bool(b) => Ok(i128::from(*b)),
        Value::Bit { bits, .. } => Ok(i128::from(*bits)),
        _ => Err(mismatch(value, kind)),
    }
}

fn encode_bool(value: &Value, buf: &mut BytesMut) -> Result<(), CellError> {
    match value {
        Value::Bool(b) => buf.put_u8(u8::from(*b)),
        Value::Int(i @ (0 | 1)) => buf.put_u8(*i as u8),
        _ => return Err(mismatch(value, &Kind::Bool)),
    }
    Ok(())
}

fn encode_float(value: &Value, kind: &Kind, buf: &mut BytesMut) -> Result<(), CellError> {
    match (value, kind) {
        (Value::Float32(f), Kind::Float4) => buf.put_f32(*f),
        (Value::Float32(f), Kind::Float8) => buf.put_f64(f64::from(*f)),
        (Value::Float64(f), Kind::Float8) => buf.put_f64(*f),
        _ => return Err(mismatch(value, kind)),
    }
    Ok(())
}

fn encode_numeric(
    value: &Value,
    max_int_digits: Option<u32>,
    buf: &mut BytesMut,
) -> Result<(), CellError> {
    let digits = |n: u64| n.checked_ilog10().map_or(1, |l| l + 1);
    let fits = |n: u64| max_int_digits.is_none_or(|max| n == 0 || digits(n) <= max);
    match value {
        Value::Decimal(d) => numeric::encode_decimal(d.as_bytes(), max_int_digits, buf)?,
        Value::Int(i) if fits(i.unsigned_abs()) => {
            numeric::encode_integer(*i < 0, i.unsigned_abs(), buf)
        }
        Value::UInt(u) if fits(*u) => numeric::encode_integer(false, *u, buf),
        Value::Int(_) | Value::UInt(_) => return Err(out_of_range(value)),
        _ => {
            return Err(mismatch(
                value,
                &Kind::Numeric {
                    max_int_digits: None,
                },
            ));
        }
    }
    Ok(())
}

fn encode_text(
    value: &Value,
    max_chars: Option<usize>,
    buf: &mut BytesMut,
) -> Result<(), CellError> {
    let text: &str = match value {
        Value::Text(s) | Value::Enum(s) | Value::Json(s) => s,
        Value::Decimal(d) => d.as_str(),
        Value::Set(labels) => return encode_joined_set(labels, max_chars, buf),
        _ => return Err(mismatch(value, &Kind::Text { max_chars })),
    };
    check_length(text, max_chars)?;
    buf.put_slice(text.as_bytes());
    Ok(())
}

/// A set written into a text column: MySQL's own `a,b` form.
fn encode_joined_set(
    labels: &[std::sync::Arc<str>],
    max_chars: Option<usize>,
    buf: &mut BytesMut,
) -> Result<(), CellError> {
    let start = buf.len();
    for (i, label) in labels.iter().enumerate() {
        if i > 0 {
            buf.put_u8(b',');
        }
        buf.put_slice(label.as_bytes());
    }
    let written = std::str::from_utf8(&buf[start..]).unwrap_or_default();
    check_length(written, max_chars)
}

/// Bytes are an upper bound of characters: count only when they exceed.
fn check_length(text: &str, max_chars: Option<usize>) -> Result<(), CellError> {
    match max_chars {
        Some(max) if text.len() > max && text.chars().count() > max => {
            Err(CellError::TooLong { max_chars: max })
        }
        _ => Ok(()),
    }
}

fn encode_bytes(value: &Value, buf: &mut BytesMut) -> Result<(), CellError> {
    match value {
        Value::Bytes(b) => buf.put_slice(b),
        Value::Text(s) => buf.put_slice(s.as_bytes()),
        _ => return Err(mismatch(value, &Kind::Bytea)),
    }
    Ok(())
}

fn encode_json(value: &Value, kind: &Kind, buf: &mut BytesMut) -> Result<(), CellError> {
    let (Value::Json(text) | Value::Text(text)) = value else {
        return Err(mismatch(value, kind));
    };
    if *kind == Kind::Jsonb {
        // jsonb's binary format: a version byte, then the JSON text.
        buf.put_u8(1);
    }
    buf.put_slice(text.as_bytes());
    Ok(())
}

/// `bit varying` binary: the bit count, then the bits left-aligned in
/// whole bytes.
fn encode_bits(value: &Value, max_bits: Option<u32>, buf: &mut BytesMut) -> Result<(), CellError> {
    let Value::Bit { width, bits } = value else {
        return Err(mismatch(value, &Kind::Bits { max_bits }));
    };
    let width = u32::from(*width).min(64);
    if let Some(max) = max_bits.filter(|&max| width > max) {
        return Err(CellError::TooWide { max_bits: max });
    }
    buf.put_i32(width as i32);
    if width > 0 {
        let aligned = bits << (64 - width);
        buf.put_slice(&aligned.to_be_bytes()[..width.div_ceil(8) as usize]);
    }
    Ok(())
}

fn encode_array(
    value: &Value,
    element: &Kind,
    element_oid: u32,
    buf: &mut BytesMut,
) -> Result<(), CellError> {
    match value {
        Value::Set(labels) => {
            let items = labels.iter().map(|l| Value::Enum(l.clone()));
            put_array(items, labels.len(), element, element_oid, buf)
        }
        Value::Array(items) => put_array(
            items.iter().cloned(),
            items.len(),
            element,
            element_oid,
            buf,
        ),
        _ => Err(mismatch(
            value,
            &Kind::Array {
                element: Box::new(element.clone()),
                element_oid,
            },
        )),
    }
}

/// One-dimensional array: ndim, has-nulls flag, element oid, length and
/// lower bound 1, then each element with its length (-1 for NULL).
fn put_array(
    items: impl Iterator<Item = Value>,
    len: usize,
    element: &Kind,
    element_oid: u32,
    buf: &mut BytesMut,
) -> Result<(), CellError> {
    buf.put_i32(i32::from(len > 0));
    let flags_at = buf.len();
    buf.put_i32(0);
    buf.put_u32(element_oid);
    if len > 0 {
        buf.put_i32(len as i32);
        buf.put_i32(1);
    }
    let mut has_nulls = false;
    for item in items {
        let null = put_with_length(&item, element, buf)?;
        has_nulls |= null;
    }
    buf[flags_at..flags_at + 4].copy_from_slice(&i32::from(has_nulls).to_be_bytes());
    Ok(())
}

/// Writes a length-prefixed value (-1 for NULL); true when it was NULL.
pub(crate) fn put_with_length(
    value: &Value,
    kind: &Kind,
    buf: &mut BytesMut,
) -> Result<bool, CellError> {
    if put_common(value, kind, buf) {
        return Ok(matches!(value, Value::Null));
    }
    let at = buf.len();
    buf.put_i32(0);
    let null = matches!(encode(value, kind, buf)?, IsNull::Yes);
    let len = if null {
        -1
    } else {
        (buf.len() - at - 4) as i32
    };
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(null)
}

/// The pairs a copy writes most, each written with its length without
/// going through [`encode`]'s general dispatch (a snapshot writes millions
/// of cells). False, with nothing written, when `value` needs the general
/// path, which also reports every error.
fn put_common(value: &Value, kind: &Kind, buf: &mut BytesMut) -> bool {
    match (value, kind) {
        (Value::Null, _) => buf.put_i32(-1),
        (Value::Int(i), Kind::Int8) => {
            buf.put_i32(8);
            buf.put_i64(*i);
        }
        (Value::Int(i), Kind::Int4) => match i32::try_from(*i) {
            Ok(i) => {
                buf.put_i32(4);
                buf.put_i32(i);
            }
            Err(_) => return false,
        },
        (Value::Text(text), Kind::Text { max_chars }) => {
            if check_length(text, *max_chars).is_err() {
                return false;
            }
            buf.put_i32(text.len() as i32);
            buf.put_slice(text.as_bytes());
        }
        (Value::Decimal(d), Kind::Numeric { max_int_digits }) => {
            return put_measured(buf, |buf| {
                numeric::encode_decimal(d.as_bytes(), *max_int_digits, buf)
            });
        }
        (
            Value::DateTime(_) | Value::Timestamp(_) | Value::Date(_),
            Kind::Timestamp | Kind::Timestamptz | Kind::Date,
        ) => return put_measured(buf, |buf| encode_temporal(value, kind, buf)),
        _ => return false,
    }
    true
}

/// Writes what `encode` writes behind its length; on failure leaves `buf`
/// as it was and returns false.
fn put_measured(
    buf: &mut BytesMut,
    encode: impl FnOnce(&mut BytesMut) -> Result<(), CellError>,
) -> bool {
    let at = buf.len();
    buf.put_i32(0);
    if encode(buf).is_err() {
        buf.truncate(at);
        return false;
    }
    let len = (buf.len() - at - 4) as i32;
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    true
}

/// A cell as a query parameter, encoded for whatever type the statement
/// declares for it.
#[derive(Debug)]
pub(crate) struct Cell<'a>(pub &'a Value);

impl ToSql for Cell<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let kind = Kind::of(ty, -1).ok_or_else(|| CellError::Mismatch {
            value: value_name(self.0),
            column: "unsupported",
        })?;
        Ok(encode(self.0, &kind, out)?)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(value: &Value, kind: &Kind) -> Vec<u8> {
        let mut buf = BytesMut::new();
        encode(value, kind, &mut buf).unwrap();
        buf.to_vec()
    }

    #[test]
    fn integers_are_range_checked_per_width() {
        let mut buf = BytesMut::new();
        assert!(encode(&Value::UInt(u64::MAX), &Kind::Int8, &mut buf).is_err());
        assert!(encode(&Value::Int(40_000), &Kind::Int2, &mut buf).is_err());
        assert_eq!(
            bytes(&Value::Year(2024), &Kind::Int2),
            2024i16.to_be_bytes()
        );
        assert!(encode(&Value::text("x"), &Kind::Int4, &mut buf).is_err());
    }

    #[test]
    fn bits_are_left_aligned() {
        let bit = Value::Bit {
            width: 10,
            bits: 0b10_0000_0001,
        };
        let kind = Kind::Bits { max_bits: Some(10) };
        assert_eq!(
            bytes(&bit, &kind),
            vec![0, 0, 0, 10, 0b1000_0000, 0b0100_0000]
        );
        let mut buf = BytesMut::new();
        let narrow = Kind::Bits { max_bits: Some(4) };
        assert!(encode(&bit, &narrow, &mut buf).is_err());
    }

    #[test]
    fn text_length_counts_characters_not_bytes() {
        let kind = Kind::Text { max_chars: Some(2) };
        assert_eq!(bytes(&Value::text("😀😀"), &kind).len(), 8);
        let mut buf = BytesMut::new();
        assert_eq!(
            encode(&Value::text("abc"), &kind, &mut buf).err(),
            Some(CellError::TooLong { max_chars: 2 })
        );
    }

    #[test]
    fn sets_are_text_arrays() {
        let set = Value::Set(vec!["a".into(), "b".into()]);
        let kind = Kind::of(&Type::TEXT_ARRAY, -1).unwrap();
        let encoded = bytes(&set, &kind);
        // ndim 1, no nulls, text oid 25, length 2, lower bound 1, "a", "b".
        let mut expected = Vec::new();
        for word in [1i32, 0, 25, 2, 1, 1] {
            expected.extend(word.to_be_bytes());
        }
        expected.push(b'a');
        expected.extend(1i32.to_be_bytes());
        expected.push(b'b');
        assert_eq!(encoded, expected);
    }
}
