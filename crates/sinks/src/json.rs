//! Rendering changes as JSON objects, without building an intermediate
//! `serde_json::Value`: exact decimals as strings, instants as RFC 3339,
//! bytes as PostgreSQL's `\x…` hex text.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use watershed_events::{Change, TableSchema, Value};

/// One change: `{"table":…,"op":…,"before":{…},"after":{…}}`; columns whose
/// value was not sent (TOAST) are listed under `"unchanged"`.
pub struct JsonChange<'a>(pub &'a Change);

impl Serialize for JsonChange<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let change = self.0;
        let schema = &change.table;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("table", &DisplayStr(&schema.name))?;
        map.serialize_entry("op", change.op.as_str())?;
        if let Some(before) = &change.before {
            map.serialize_entry(
                "before",
                &JsonRow {
                    schema,
                    row: before,
                },
            )?;
        }
        if let Some(after) = &change.after {
            map.serialize_entry("after", &JsonRow { schema, row: after })?;
            let unchanged: Vec<&str> = schema
                .columns
                .iter()
                .zip(after)
                .filter(|(_, v)| matches!(v, Value::Unchanged))
                .map(|(c, _)| c.name.as_str())
                .collect();
            if !unchanged.is_empty() {
                map.serialize_entry("unchanged", &unchanged)?;
            }
        }
        map.end()
    }
}

/// A row as an object keyed by column name, in column order.
pub struct JsonRow<'a> {
    pub schema: &'a TableSchema,
    pub row: &'a [Value],
}

impl Serialize for JsonRow<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (column, value) in self.schema.columns.iter().zip(self.row) {
            if !matches!(value, Value::Unchanged) {
                map.serialize_entry(&column.name, &JsonValue(value))?;
            }
        }
        map.end()
    }
}

/// One cell.
pub struct JsonValue<'a>(pub &'a Value);

impl Serialize for JsonValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null | Value::Unchanged => serializer.serialize_none(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::UInt(u) => serializer.serialize_u64(*u),
            Value::Float32(f) if f.is_finite() => serializer.serialize_f32(*f),
            Value::Float64(f) if f.is_finite() => serializer.serialize_f64(*f),
            Value::Float32(f) => serializer.collect_str(f),
            Value::Float64(f) => serializer.collect_str(f),
            Value::Decimal(d) => serializer.serialize_str(d.as_str()),
            Value::Text(s) | Value::Enum(s) => serializer.serialize_str(s),
            Value::Json(s) => match serde_json::from_str::<serde_json::Value>(s) {
                Ok(parsed) => parsed.serialize(serializer),
                Err(_) => serializer.serialize_str(s),
            },
            Value::Bytes(b) => serializer.collect_str(&format_args!("\\x{}", Hex(b))),
            Value::Date(d) => serializer.collect_str(d),
            Value::Time(t) => serializer.collect_str(t),
            Value::DateTime(dt) => serializer.collect_str(dt),
            Value::Timestamp(ts) => serializer.collect_str(ts),
            Value::Year(y) => serializer.serialize_u16(*y),
            Value::Set(labels) => {
                let mut seq = serializer.serialize_seq(Some(labels.len()))?;
                for label in labels {
                    seq.serialize_element(&**label)?;
                }
                seq.end()
            }
            Value::Bit { bits, .. } => serializer.serialize_u64(*bits),
            Value::Uuid(bytes) => serializer.collect_str(&Uuid(bytes)),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&JsonValue(item))?;
                }
                seq.end()
            }
        }
    }
}

/// Serialises anything `Display` as a JSON string without allocating.
struct DisplayStr<'a, T>(&'a T);

impl<T: std::fmt::Display> Serialize for DisplayStr<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self.0)
    }
}

/// Lowercase hex of a byte slice.
pub struct Hex<'a>(pub &'a [u8]);

impl std::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// A UUID in its hyphenated form.
pub struct Uuid<'a>(pub &'a [u8; 16]);

impl std::fmt::Display for Uuid<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.0;
        write!(
            f,
            "{}-{}-{}-{}-{}",
            Hex(&b[..4]),
            Hex(&b[4..6]),
            Hex(&b[6..8]),
            Hex(&b[8..10]),
            Hex(&b[10..])
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use watershed_events::{Column, Decimal, LogicalType, TableName, Timestamp};

    use super::*;

    #[test]
    fn changes_render_exact_and_readable() {
        let schema = Arc::new(TableSchema {
            name: TableName::parse("shop.orders"),
            columns: vec![
                Column::new("id", LogicalType::Int64, false),
                Column::new(
                    "amount",
                    LogicalType::Decimal {
                        precision: None,
                        scale: None,
                    },
                    false,
                ),
                Column::new("at", LogicalType::Timestamp { fsp: 6 }, false),
                Column::new("raw", LogicalType::Blob, true),
                Column::new("note", LogicalType::Text { charset: None }, true),
            ],
            primary_key: vec!["id".into()],
            indexes: vec![],
            version: 1,
            foreign_keys: Vec::new(),
            comment: None,
        });
        let row = vec![
            Value::Int(1),
            Value::Decimal(Decimal::parse("12345678901234567890.123456789").unwrap()),
            Value::Timestamp(Timestamp::from_micros(0)),
            Value::Bytes(Arc::from(&b"\x01\xff"[..])),
            Value::Unchanged,
        ];
        let json = serde_json::to_string(&JsonChange(&Change::insert(schema, row))).unwrap();
        assert_eq!(
            json,
            r#"{"table":"shop.orders","op":"insert","after":{"id":1,"amount":"12345678901234567890.123456789","at":"1970-01-01T00:00:00Z","raw":"\\x01ff"},"unchanged":["note"]}"#
        );
    }
}
