//! Snapshot rows: cells of a binary-protocol result set converted to
//! [`Value`]s by the column's logical type, and primary keys taken from and
//! given back to the server as checkpoint values.

use std::sync::Arc;

use mysql_async::Value as Cell;
use watershed_events::{
    Date, DateTime, Decimal, LogicalType, MysqlKeyValue, Row, TableSchema, TimeOfDay, Timestamp,
    Value,
};

/// How to read each column of one table's rows; built once per table.
pub(crate) struct RowReader {
    kinds: Vec<Kind>,
    key: Vec<usize>,
}

/// A column's conversion, with enum and set labels shared by every value.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Bool,
    Int,
    UInt,
    Float32,
    Float64,
    Decimal,
    Text,
    Bytes,
    Date,
    Time,
    DateTime,
    Timestamp,
    Year,
    Enum(Arc<[Arc<str>]>),
    Set(Arc<[Arc<str>]>),
    Bit(u16),
    Json,
    Uuid,
}

impl Kind {
    pub(crate) fn of(logical: &LogicalType) -> Self {
        use LogicalType as T;
        match logical {
            T::Bool => Kind::Bool,
            T::Int8 | T::Int16 | T::Int24 | T::Int32 | T::Int64 => Kind::Int,
            T::UInt8 | T::UInt16 | T::UInt24 | T::UInt32 | T::UInt64 => Kind::UInt,
            T::Float32 => Kind::Float32,
            T::Float64 => Kind::Float64,
            T::Decimal { .. } => Kind::Decimal,
            T::Char { .. } | T::Varchar { .. } | T::Text { .. } => Kind::Text,
            T::Binary { .. } | T::Varbinary { .. } | T::Blob | T::Array { .. } => Kind::Bytes,
            T::Date => Kind::Date,
            T::Time { .. } => Kind::Time,
            T::DateTime { .. } => Kind::DateTime,
            T::Timestamp { .. } => Kind::Timestamp,
            T::Year => Kind::Year,
            T::Enum { labels } => Kind::Enum(shared_labels(labels)),
            T::Set { labels } => Kind::Set(shared_labels(labels)),
            T::Bit { width } => Kind::Bit(*width),
            T::Json => Kind::Json,
            T::Uuid => Kind::Uuid,
        }
    }
}

pub(crate) fn shared_labels(labels: &[String]) -> Arc<[Arc<str>]> {
    labels.iter().map(|l| Arc::from(l.as_str())).collect()
}

impl RowReader {
    pub(crate) fn new(table: &TableSchema) -> Self {
        Self {
            kinds: table
                .columns
                .iter()
                .map(|c| Kind::of(&c.logical_type))
                .collect(),
            key: table.primary_key_indices(),
        }
    }

    /// Converts a row; on failure, the index of the column that failed.
    pub(crate) fn read(&self, cells: Vec<Option<Cell>>) -> Result<Row, usize> {
        // A plain loop into an exact allocation: cheaper per row than
        // collecting the iterator chain through a `Result` (it runs once
        // per snapshot row).
        let mut row = Vec::with_capacity(cells.len().min(self.kinds.len()));
        for (i, (cell, kind)) in cells.into_iter().zip(&self.kinds).enumerate() {
            row.push(convert(cell.unwrap_or(Cell::NULL), kind).ok_or(i)?);
        }
        Ok(row)
    }

    /// The row's primary key as checkpoint values.
    pub(crate) fn key_of(&self, row: &[Value]) -> Option<Vec<MysqlKeyValue>> {
        self.key
            .iter()
            .map(|&i| key_value(row.get(i)?, &self.kinds[i]))
            .collect()
    }
}

/// One cell; `None` when it does not fit the column's type.
fn convert(cell: Cell, kind: &Kind) -> Option<Value> {
    Some(match (kind, cell) {
        (_, Cell::NULL) => Value::Null,
        (Kind::Bool, Cell::Int(n)) => Value::Bool(n != 0),
        (Kind::Int | Kind::Bool, Cell::UInt(n)) => Value::Int(i64::try_from(n).ok()?),
        (Kind::Int, Cell::Int(n)) => Value::Int(n),
        (Kind::UInt, Cell::UInt(n)) => Value::UInt(n),
        (Kind::UInt, Cell::Int(n)) => Value::UInt(u64::try_from(n).ok()?),
        (Kind::Float32, Cell::Float(f)) => Value::Float32(f),
        (Kind::Float32, Cell::Double(f)) => Value::Float32(f as f32),
        (Kind::Float64, Cell::Double(f)) => Value::Float64(f),
        (Kind::Float64, Cell::Float(f)) => Value::Float64(f64::from(f)),
        (Kind::Decimal, Cell::Bytes(b)) => Value::Decimal(Decimal::parse_ascii(&b).ok()?),
        (Kind::Text, Cell::Bytes(b)) => Value::Text(Arc::from(std::str::from_utf8(&b).ok()?)),
        (Kind::Json, Cell::Bytes(b)) => Value::Json(Arc::from(std::str::from_utf8(&b).ok()?)),
        (Kind::Bytes, Cell::Bytes(b)) => Value::Bytes(Arc::from(b)),
        (Kind::Date, Cell::Date(y, m, d, ..)) => Value::Date(date(y, m, d)),
        (Kind::DateTime, Cell::Date(y, m, d, h, i, s, us)) => {
            Value::DateTime(datetime(y, m, d, h, i, s, us))
        }
        (Kind::Timestamp, Cell::Date(y, m, d, h, i, s, us)) => {
            timestamp(datetime(y, m, d, h, i, s, us))
        }
        (Kind::Time, Cell::Time(negative, days, h, i, s, us)) => {
            let hours = i64::from(days) * 24 + i64::from(h);
            let time = TimeOfDay::from_hms_micro(hours, i64::from(i), i64::from(s), i64::from(us));
            let sign = if negative { -1 } else { 1 };
            Value::Time(TimeOfDay {
                micros: sign * time.micros,
            })
        }
        (Kind::Year, Cell::Int(y)) => Value::Year(u16::try_from(y).ok()?),
        (Kind::Year, Cell::UInt(y)) => Value::Year(u16::try_from(y).ok()?),
        (Kind::Enum(labels), Cell::Bytes(b)) => Value::Enum(enum_label(labels, &b)?),
        (Kind::Set(labels), Cell::Bytes(b)) => Value::Set(set_labels(labels, &b)?),
        (Kind::Bit(width), Cell::Bytes(b)) => Value::Bit {
            width: *width,
            bits: b
                .iter()
                .fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte)),
        },
        (Kind::Uuid, Cell::Bytes(b)) => Value::Uuid(parse_uuid(&b)?),
        _ => return None,
    })
}

fn date(year: u16, month: u8, day: u8) -> Date {
    Date {
        year: i32::from(year),
        month,
        day,
    }
}

fn datetime(y: u16, m: u8, d: u8, h: u8, i: u8, s: u8, us: u32) -> DateTime {
    DateTime {
        date: date(y, m, d),
        time: TimeOfDay::from_hms_micro(i64::from(h), i64::from(i), i64::from(s), i64::from(us)),
    }
}

/// A TIMESTAMP read in UTC. The zero timestamp is no instant: it stays the
/// zero DATETIME, as the binlog decoder reports it too.
pub(crate) fn timestamp(datetime: DateTime) -> Value {
    if datetime.date.month == 0 {
        Value::DateTime(datetime)
    } else {
        Value::Timestamp(Timestamp::from_datetime(datetime))
    }
}

/// The shared label equal to `text`. MySQL reads an invalid enum as `''`,
/// which is no label: it becomes a fresh empty string.
fn enum_label(labels: &[Arc<str>], text: &[u8]) -> Option<Arc<str>> {
    match labels.iter().find(|l| l.as_bytes() == text) {
        Some(label) => Some(label.clone()),
        None if text.is_empty() => Some(Arc::from("")),
        None => None,
    }
}

/// `a,c` → the shared labels `a` and `c` (labels cannot contain commas).
fn set_labels(labels: &[Arc<str>], text: &[u8]) -> Option<Vec<Arc<str>>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(|&b| b == b',')
        .map(|part| labels.iter().find(|l| l.as_bytes() == part).cloned())
        .collect()
}

/// `123e4567-e89b-12d3-a456-426614174000` → 16 bytes.
fn parse_uuid(text: &[u8]) -> Option<[u8; 16]> {
    let digits: Vec<u8> = text.iter().copied().filter(|&c| c != b'-').collect();
    if digits.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in digits.chunks(2).enumerate() {
        let hex = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(hex, 16).ok()?;
    }
    Some(out)
}

/// The checkpoint form of a key value; compares on the server the way the
/// key sorts (enums and sets by number, temporal values as UTC text).
fn key_value(value: &Value, kind: &Kind) -> Option<MysqlKeyValue> {
    Some(match value {
        Value::Int(n) => MysqlKeyValue::Int(*n),
        Value::UInt(n) => MysqlKeyValue::UInt(*n),
        Value::Bool(b) => MysqlKeyValue::Int(i64::from(*b)),
        Value::Year(y) => MysqlKeyValue::Int(i64::from(*y)),
        Value::Bit { bits, .. } => MysqlKeyValue::UInt(*bits),
        Value::Decimal(d) => MysqlKeyValue::Text(d.to_string()),
        // Widened first: the server compares the float column as a double.
        Value::Float32(f) => MysqlKeyValue::Text(f64::from(*f).to_string()),
        Value::Float64(f) => MysqlKeyValue::Text(f.to_string()),
        Value::Text(s) => MysqlKeyValue::Text(s.to_string()),
        Value::Bytes(b) => MysqlKeyValue::Bytes(b.to_vec()),
        Value::Date(d) => MysqlKeyValue::Text(d.to_string()),
        Value::Time(t) => MysqlKeyValue::Text(t.to_string()),
        Value::DateTime(dt) => MysqlKeyValue::Text(dt.to_string()),
        Value::Timestamp(ts) => MysqlKeyValue::Text(ts.to_datetime().to_string()),
        Value::Enum(label) => match kind {
            Kind::Enum(labels) => {
                let index = labels.iter().position(|l| l == label).map_or(0, |i| i + 1);
                MysqlKeyValue::UInt(index as u64)
            }
            _ => return None,
        },
        Value::Set(members) => match kind {
            Kind::Set(labels) => MysqlKeyValue::UInt(
                labels
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| members.contains(l))
                    .fold(0, |mask, (i, _)| mask | (1u64 << i)),
            ),
            _ => return None,
        },
        Value::Uuid(bytes) => MysqlKeyValue::Text(Value::uuid_text(bytes)),
        Value::Null | Value::Unchanged | Value::Json(_) | Value::Array(_) => return None,
    })
}

/// A checkpoint key value as a statement parameter.
pub(crate) fn key_param(value: &MysqlKeyValue) -> Cell {
    match value {
        MysqlKeyValue::Int(n) => Cell::Int(*n),
        MysqlKeyValue::UInt(n) => Cell::UInt(*n),
        MysqlKeyValue::Text(s) => Cell::Bytes(s.as_bytes().to_vec()),
        MysqlKeyValue::Bytes(b) => Cell::Bytes(b.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_convert_by_logical_type() {
        let labels = shared_labels(&["a".into(), "b".into(), "c".into()]);
        assert_eq!(
            convert(Cell::Bytes(b"a,c".to_vec()), &Kind::Set(labels.clone())),
            Some(Value::Set(vec![labels[0].clone(), labels[2].clone()]))
        );
        assert_eq!(
            convert(Cell::Bytes(b"".to_vec()), &Kind::Set(labels.clone())),
            Some(Value::Set(vec![]))
        );
        assert_eq!(
            convert(Cell::Time(true, 34, 22, 59, 59, 0), &Kind::Time),
            Some(Value::Time(TimeOfDay::parse("-838:59:59").unwrap()))
        );
        assert_eq!(
            convert(Cell::Date(0, 0, 0, 0, 0, 0, 0), &Kind::Timestamp),
            Some(Value::DateTime(
                DateTime::parse("0000-00-00 00:00:00").unwrap()
            ))
        );
        assert_eq!(
            convert(Cell::Bytes(vec![0x01, 0x02]), &Kind::Bit(10)),
            Some(Value::Bit {
                width: 10,
                bits: 0x0102
            })
        );
        assert_eq!(convert(Cell::Int(-1), &Kind::UInt), None);
        assert_eq!(convert(Cell::Bytes(vec![0xff]), &Kind::Text), None);
        assert_eq!(
            convert(Cell::Bytes(b"z".to_vec()), &Kind::Enum(labels)),
            None
        );
    }

    #[test]
    fn uuids_read_and_print() {
        let text = "123e4567-e89b-12d3-a456-426614174000";
        let bytes = parse_uuid(text.as_bytes()).unwrap();
        assert_eq!(Value::uuid_text(&bytes), text);
    }

    #[test]
    fn keys_sort_like_the_server() {
        let labels = shared_labels(&["x".into(), "y".into()]);
        assert_eq!(
            key_value(&Value::Enum(labels[1].clone()), &Kind::Enum(labels.clone())),
            Some(MysqlKeyValue::UInt(2))
        );
        let ts = Value::Timestamp(Timestamp::from_micros(1_704_067_200_000_001));
        assert_eq!(
            key_value(&ts, &Kind::Timestamp),
            Some(MysqlKeyValue::Text("2024-01-01 00:00:00.000001".into()))
        );
        assert_eq!(key_value(&Value::Null, &Kind::Int), None);
    }
}
