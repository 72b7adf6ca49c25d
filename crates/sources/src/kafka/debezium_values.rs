//! Debezium's JSON values as typed values, by each column's type: row
//! images are read straight from the record's text into column order,
//! without a JSON tree in between (a tree cost an allocation per field
//! and another for its value).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;
use watershed_events::{
    Column, Date, Decimal, LogicalType, Row, TableSchema, TimeOfDay, Timestamp, Value,
};

/// One JSON value as the record holds it, before its column's type is
/// applied.
#[derive(Debug, Clone, Copy)]
enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Text(&'a str),
    /// An object or an array: no Debezium column value is one.
    Nested,
}

impl<'a> Scalar<'a> {
    fn of(json: &'a Json) -> Self {
        match json {
            Json::Null => Scalar::Null,
            Json::Bool(b) => Scalar::Bool(*b),
            Json::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => Scalar::UInt(u),
                (None, Some(i)) => Scalar::Int(i),
                _ => Scalar::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => Scalar::Text(s),
            Json::Array(_) | Json::Object(_) => Scalar::Nested,
        }
    }

    fn as_i64(self) -> Option<i64> {
        match self {
            Scalar::Int(i) => Some(i),
            Scalar::UInt(u) => i64::try_from(u).ok(),
            _ => None,
        }
    }

    fn as_u64(self) -> Option<u64> {
        match self {
            Scalar::UInt(u) => Some(u),
            Scalar::Int(i) => u64::try_from(i).ok(),
            _ => None,
        }
    }

    fn as_f64(self) -> Option<f64> {
        match self {
            Scalar::Int(i) => Some(i as f64),
            Scalar::UInt(u) => Some(u as f64),
            Scalar::Float(f) => Some(f),
            _ => None,
        }
    }

    fn as_str(self) -> Option<&'a str> {
        match self {
            Scalar::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// As JSON, for error messages.
impl fmt::Display for Scalar<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Null => f.write_str("null"),
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::UInt(u) => write!(f, "{u}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Text(s) => write!(f, "{}", Json::from(*s)),
            Scalar::Nested => f.write_str("an object or array"),
        }
    }
}

/// One value by its column's type.
pub(crate) fn value_of(column: &Column, json: &Json) -> Result<Value, String> {
    match json {
        // Its text, as before: the message quotes the value.
        Json::Array(_) | Json::Object(_) => Err(format!(
            "column {}: `{json}` is not a {:?} value",
            column.name, column.logical_type
        )),
        _ => convert(column, Scalar::of(json)),
    }
}

fn convert(column: &Column, json: Scalar<'_>) -> Result<Value, String> {
    let bad = || {
        format!(
            "column {}: `{json}` is not a {:?} value",
            column.name, column.logical_type
        )
    };
    let int = || json.as_i64().ok_or_else(bad);
    let text = || json.as_str().ok_or_else(bad);
    use LogicalType as T;
    Ok(match &column.logical_type {
        _ if matches!(json, Scalar::Null) => Value::Null,
        T::Bool => match json {
            Scalar::Bool(b) => Value::Bool(b),
            _ => return Err(bad()),
        },
        T::Int8 | T::Int16 | T::Int24 | T::Int32 | T::Int64 | T::UInt8 | T::UInt16 | T::UInt24 => {
            Value::Int(int()?)
        }
        T::UInt32 | T::UInt64 => match json.as_u64() {
            Some(n) => Value::UInt(n),
            None => Value::Int(int()?),
        },
        T::Float32 => Value::Float32(json.as_f64().ok_or_else(bad)? as f32),
        T::Float64 => Value::Float64(json.as_f64().ok_or_else(bad)?),
        T::Text { .. } | T::Char { .. } | T::Varchar { .. } => Value::text(text()?),
        T::Json => Value::Json(Arc::from(text()?)),
        T::Enum { .. } => Value::Enum(Arc::from(text()?)),
        T::Set { .. } => Value::Set(
            text()?
                .split(',')
                .filter(|s| !s.is_empty())
                .map(Arc::from)
                .collect(),
        ),
        T::Uuid => Value::Uuid(parse_uuid(text()?).ok_or_else(bad)?),
        T::Blob | T::Binary { .. } | T::Varbinary { .. } => {
            Value::Bytes(Arc::from(STANDARD.decode(text()?).map_err(|_| bad())?))
        }
        T::Decimal { scale, .. } => {
            let scale = scale.unwrap_or(0);
            Value::Decimal(decimal(text()?, scale).ok_or_else(bad)?)
        }
        T::Bit { width } => {
            let bytes = STANDARD.decode(text()?).map_err(|_| bad())?;
            let mut buf = [0u8; 8];
            for (i, b) in bytes.iter().take(8).enumerate() {
                buf[i] = *b;
            }
            Value::Bit {
                width: *width,
                bits: u64::from_le_bytes(buf),
            }
        }
        T::Date => Value::Date(Date::from_days_since_epoch(int()?)),
        T::Time { fsp } => {
            let n = int()?;
            let micros = if *fsp <= 3 { n * 1000 } else { n };
            Value::Time(TimeOfDay { micros })
        }
        T::DateTime { fsp } => {
            let n = int()?;
            let micros = if *fsp <= 3 { n * 1000 } else { n };
            Value::DateTime(Timestamp::from_micros(micros).to_datetime())
        }
        T::Timestamp { .. } => {
            Value::Timestamp(Timestamp::parse_rfc3339(text()?).map_err(|_| bad())?)
        }
        T::Year => Value::Year(u16::try_from(int()?).map_err(|_| bad())?),
        T::Array { .. } => return Err(bad()),
    })
}

/// A `decimal_handling: precise` value: the unscaled number as base64 of
/// its big-endian two's complement bytes.
fn decimal(base64: &str, scale: u16) -> Option<Decimal> {
    // decimal(65) takes 28 bytes; a stack buffer covers every MySQL decimal.
    let mut buf = [0u8; 48];
    let bytes: Cow<'_, [u8]> = match STANDARD.decode_slice(base64, &mut buf) {
        Ok(n) => Cow::Borrowed(&buf[..n]),
        Err(_) => Cow::Owned(STANDARD.decode(base64).ok()?),
    };
    if let Some(units) = small_units(&bytes) {
        return Some(Decimal::from_scaled(units, u32::from(scale)));
    }
    let digits = signed_decimal_digits(&bytes);
    Decimal::parse(&place_point(&digits, usize::from(scale))).ok()
}

/// A two's complement integer of at most 16 bytes, as an `i128`.
fn small_units(bytes: &[u8]) -> Option<i128> {
    let first = *bytes.first()?;
    if bytes.len() > 16 {
        return None;
    }
    let fill = if first & 0x80 != 0 { 0xff } else { 0 };
    let mut wide = [fill; 16];
    wide[16 - bytes.len()..].copy_from_slice(bytes);
    Some(i128::from_be_bytes(wide))
}

fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The decimal digits (with a leading `-` when negative) of a big-endian
/// two's complement integer of any length.
fn signed_decimal_digits(bytes: &[u8]) -> String {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut magnitude: Vec<u8> = if negative {
        // Two's complement: invert and add one.
        let mut inverted: Vec<u8> = bytes.iter().map(|b| !b).collect();
        for byte in inverted.iter_mut().rev() {
            let (sum, carry) = byte.overflowing_add(1);
            *byte = sum;
            if !carry {
                break;
            }
        }
        inverted
    } else {
        bytes.to_vec()
    };
    let mut digits = Vec::new();
    while magnitude.iter().any(|b| *b != 0) {
        let mut remainder = 0u32;
        for byte in magnitude.iter_mut() {
            let current = (remainder << 8) | u32::from(*byte);
            *byte = (current / 10) as u8;
            remainder = current % 10;
        }
        digits.push(b'0' + remainder as u8);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    digits.reverse();
    let text = String::from_utf8(digits).unwrap_or_default();
    if negative { format!("-{text}") } else { text }
}

/// `digits` (an integer, maybe negative) divided by 10^scale, as text.
fn place_point(digits: &str, scale: usize) -> String {
    if scale == 0 {
        return digits.to_owned();
    }
    let (sign, digits) = match digits.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", digits),
    };
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

/// A row image (`before` or `after`) of `table`: `Ok(None)` for a JSON
/// null; the outer `Err` when the text is not an object, the inner one
/// names the column whose value its type cannot hold. An absent or null
/// field is NULL, refused in a NOT NULL column.
pub(super) fn row_image(
    table: &TableSchema,
    text: &str,
) -> Result<Option<Result<Row, String>>, serde_json::Error> {
    let mut reader = serde_json::Deserializer::from_str(text);
    RowSeed(table).deserialize(&mut reader)
}

/// Reads an image's fields into column order: fields arrive in column
/// order, so each name is looked for from where the last one was found;
/// fields of no column are skipped.
struct RowSeed<'t>(&'t TableSchema);

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = Option<Result<Row, String>>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = Option<Result<Row, String>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row object or null")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let columns = &self.0.columns;
        let mut row: Vec<Option<Value>> = (0..columns.len()).map(|_| None).collect();
        let mut refused = None;
        let mut next = 0;
        while let Some(FieldName(name)) = map.next_key()? {
            let found = (next..columns.len())
                .chain(0..next)
                .find(|&i| columns[i].name == *name);
            match found {
                // After a refusal the rest is only read past: the
                // deserializer must reach the object's end.
                Some(i) if refused.is_none() => {
                    match map.next_value_seed(ValueSeed(&columns[i]))? {
                        Ok(value) => row[i] = Some(value),
                        Err(reason) => refused = Some(reason),
                    }
                    next = i + 1;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if let Some(reason) = refused {
            return Ok(Some(Err(reason)));
        }
        Ok(Some(
            columns
                .iter()
                .zip(row)
                .map(|(column, value)| match value {
                    None | Some(Value::Null) if !column.nullable => {
                        Err(format!("column {}: null in a NOT NULL column", column.name))
                    }
                    None => Ok(Value::Null),
                    Some(value) => Ok(value),
                })
                .collect(),
        ))
    }
}

/// One field's value by its column's type; the inner `Err` says why the
/// type cannot hold it.
struct ValueSeed<'c>(&'c Column);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Result<Value, String>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Result<Value, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a column value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(convert(self.0, Scalar::Null))
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(convert(self.0, Scalar::Null))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(convert(self.0, Scalar::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(convert(self.0, Scalar::Int(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(convert(self.0, Scalar::UInt(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(convert(self.0, Scalar::Float(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(convert(self.0, Scalar::Text(v)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(convert(self.0, Scalar::Nested))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(convert(self.0, Scalar::Nested))
    }
}

/// A field name, borrowed from the record unless it holds escapes.
struct FieldName<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for FieldName<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl<'de> Visitor<'de> for Name {
            type Value = FieldName<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(FieldName(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(FieldName(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(Name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watershed_events::TableName;

    #[test]
    fn decimals_of_any_length_and_sign() {
        assert_eq!(signed_decimal_digits(&[0x30, 0x39]), "12345");
        assert_eq!(signed_decimal_digits(&[0xcf, 0xc7]), "-12345");
        assert_eq!(signed_decimal_digits(&[0x00]), "0");
        assert_eq!(signed_decimal_digits(&[0xff]), "-1");
        assert_eq!(place_point("-12345", 2), "-123.45");
        assert_eq!(place_point("5", 3), "0.005");
        // ±10^40 (+7), beyond i128.
        let big = [
            0x1d, 0x63, 0x29, 0xf1, 0xc3, 0x5c, 0xa4, 0xbf, 0xab, 0xb9, 0xf5, 0x61, 0x00, 0x00,
            0x00, 0x00, 0x00,
        ];
        assert_eq!(signed_decimal_digits(&big), format!("1{}", "0".repeat(40)));
        let negative = [
            0xe2, 0x9c, 0xd6, 0x0e, 0x3c, 0xa3, 0x5b, 0x40, 0x54, 0x46, 0x0a, 0x9f, 0x00, 0x00,
            0x00, 0x00, 0x07,
        ];
        assert_eq!(
            signed_decimal_digits(&negative),
            format!("-{}3", "9".repeat(39))
        );
    }

    #[test]
    fn short_and_long_decimals_decode_alike() {
        let encode = |bytes: &[u8]| STANDARD.encode(bytes);
        let text = |b64: &str, scale| decimal(b64, scale).map(|d| d.as_str().to_owned());
        assert_eq!(text(&encode(&[0x30, 0x39]), 2).as_deref(), Some("123.45"));
        assert_eq!(text(&encode(&[0xcf, 0xc7]), 2).as_deref(), Some("-123.45"));
        assert_eq!(text(&encode(&[0x05]), 3).as_deref(), Some("0.005"));
        assert_eq!(text(&encode(&[0xff]), 0).as_deref(), Some("-1"));
        // 16 bytes: i128's own range; 17: the digit-by-digit path.
        let mut min = [0u8; 16];
        min[0] = 0x80;
        assert_eq!(
            text(&encode(&min), 0),
            Some(i128::MIN.to_string()),
            "the smallest i128"
        );
        let big = [
            0x1d, 0x63, 0x29, 0xf1, 0xc3, 0x5c, 0xa4, 0xbf, 0xab, 0xb9, 0xf5, 0x61, 0x00, 0x00,
            0x00, 0x00, 0x00,
        ];
        assert_eq!(
            text(&encode(&big), 2),
            Some(format!("1{}.00", "0".repeat(38)))
        );
        assert_eq!(text("not base64!", 2), None);
        assert_eq!(text("AA==", 2).as_deref(), Some("0.00"));
    }

    fn table() -> TableSchema {
        let column = Column::new;
        TableSchema {
            name: TableName::new(Some("d"), "t"),
            columns: vec![
                column("id", LogicalType::Int64, false),
                column("note", LogicalType::Text { charset: None }, true),
                column("ok", LogicalType::Bool, true),
            ],
            primary_key: vec!["id".into()],
            indexes: Vec::new(),
            version: 1,
            foreign_keys: Vec::new(),
            comment: None,
        }
    }

    #[test]
    fn images_read_into_column_order_and_refusals_name_the_column() {
        let table = table();
        let row = |text: &str| row_image(&table, text).map_err(|e| e.to_string());
        assert_eq!(
            row(r#"{"ok":true,"skipped":{"a":[1]},"id":7,"note":"a\"b"}"#),
            Ok(Some(Ok(vec![
                Value::Int(7),
                Value::text("a\"b"),
                Value::Bool(true)
            ])))
        );
        assert_eq!(row("null"), Ok(None));
        assert_eq!(
            row(r#"{"id":1}"#),
            Ok(Some(Ok(vec![Value::Int(1), Value::Null, Value::Null])))
        );
        let refused = |text: &str| match row(text) {
            Ok(Some(Err(reason))) => reason,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(
            refused(r#"{"note":"x"}"#),
            "column id: null in a NOT NULL column"
        );
        assert!(
            refused(r#"{"id":"seven","note":{"deep":[1,2]}}"#).contains("column id: `\"seven\"`"),
            "the value is quoted as JSON"
        );
        assert!(refused(r#"{"id":1,"note":[1]}"#).contains("column note: `an object or array`"));
        assert!(row("[1]").is_err());
        assert!(row(r#"{"id":1"#).is_err());
    }
}
