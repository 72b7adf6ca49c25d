//! Values while an expression is evaluated: one variant per type the
//! language knows, temporal values as plain integers (days or
//! microseconds), decimals as `BigDecimal` (exact at any precision).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use bigdecimal::BigDecimal;
use watershed_events::{Date, DateTime, Decimal, LogicalType, TimeOfDay, Timestamp, Value};

use super::interval::Interval;

/// The type of an expression's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Bool,
    Int,
    Decimal,
    Float,
    Text,
    Date,
    /// Date and time without a zone (`timestamp`).
    DateTime,
    /// An instant (`timestamptz`).
    Timestamp,
    Time,
    Interval,
    /// The NULL literal: takes any type.
    Null,
}

impl Type {
    pub fn is_numeric(self) -> bool {
        matches!(self, Type::Int | Type::Decimal | Type::Float)
    }

    /// The type a column of `logical` reads as, if expressions can use it.
    pub fn of(logical: &LogicalType) -> Option<Type> {
        use LogicalType as L;
        Some(match logical {
            L::Bool => Type::Bool,
            L::Int8 | L::Int16 | L::Int24 | L::Int32 | L::Int64 => Type::Int,
            L::UInt8 | L::UInt16 | L::UInt24 | L::UInt32 | L::Year => Type::Int,
            // Beyond i64: exact as a decimal.
            L::UInt64 | L::Decimal { .. } => Type::Decimal,
            L::Float32 | L::Float64 => Type::Float,
            L::Char { .. } | L::Varchar { .. } | L::Text { .. } | L::Enum { .. } | L::Uuid => {
                Type::Text
            }
            L::Json => Type::Text,
            L::Date => Type::Date,
            L::Time { .. } => Type::Time,
            L::DateTime { .. } => Type::DateTime,
            L::Timestamp { .. } => Type::Timestamp,
            L::Binary { .. } | L::Varbinary { .. } | L::Blob | L::Set { .. } | L::Bit { .. } => {
                return None;
            }
            L::Array { .. } => return None,
        })
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Type::Bool => "boolean",
            Type::Int => "bigint",
            Type::Decimal => "numeric",
            Type::Float => "double precision",
            Type::Text => "text",
            Type::Date => "date",
            Type::DateTime => "timestamp",
            Type::Timestamp => "timestamptz",
            Type::Time => "time",
            Type::Interval => "interval",
            Type::Null => "unknown",
        })
    }
}

/// One value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    Null,
    Bool(bool),
    Int(i64),
    Decimal(BigDecimal),
    Float(f64),
    Text(Arc<str>),
    /// Days since 1970-01-01.
    Date(i64),
    /// Microseconds since 1970-01-01 00:00, no zone.
    DateTime(i64),
    /// Microseconds since 1970-01-01 00:00 UTC.
    Timestamp(i64),
    /// Microseconds (a time of day, or a MySQL TIME span).
    Time(i64),
    Interval(Interval),
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

impl Datum {
    /// A cell as a datum; `None` for cells expressions cannot read.
    pub fn from_value(value: &Value) -> Option<Datum> {
        Some(match value {
            Value::Null | Value::Unchanged => Datum::Null,
            Value::Bool(b) => Datum::Bool(*b),
            Value::Int(n) => Datum::Int(*n),
            Value::UInt(n) => match i64::try_from(*n) {
                Ok(n) => Datum::Int(n),
                Err(_) => Datum::Decimal(BigDecimal::from(*n)),
            },
            Value::Year(y) => Datum::Int(i64::from(*y)),
            Value::Float32(x) => Datum::Float(f64::from(*x)),
            Value::Float64(x) => Datum::Float(*x),
            Value::Decimal(d) => Datum::Decimal(BigDecimal::from_str(d.as_str()).ok()?),
            Value::Text(s) | Value::Enum(s) | Value::Json(s) => Datum::Text(s.clone()),
            Value::Uuid(bytes) => Datum::Text(Arc::from(Value::uuid_text(bytes))),
            Value::Date(d) => Datum::Date(d.days_since_epoch()),
            Value::Time(t) => Datum::Time(t.micros),
            Value::DateTime(dt) => Datum::DateTime(Timestamp::from_datetime(*dt).micros),
            Value::Timestamp(ts) => Datum::Timestamp(ts.micros),
            Value::Bytes(_) | Value::Set(_) | Value::Bit { .. } | Value::Array(_) => return None,
        })
    }

    /// The datum as a cell.
    pub fn into_value(self) -> Value {
        match self {
            Datum::Null => Value::Null,
            Datum::Bool(b) => Value::Bool(b),
            Datum::Int(n) => Value::Int(n),
            Datum::Decimal(d) => match Decimal::parse(&d.to_plain_string()) {
                Ok(d) => Value::Decimal(d),
                Err(_) => Value::Null,
            },
            Datum::Float(x) => Value::Float64(x),
            Datum::Text(s) => Value::Text(s),
            Datum::Date(days) => Value::Date(Date::from_days_since_epoch(days)),
            Datum::DateTime(micros) => {
                Value::DateTime(Timestamp::from_micros(micros).to_datetime())
            }
            Datum::Timestamp(micros) => Value::Timestamp(Timestamp::from_micros(micros)),
            Datum::Time(micros) => Value::Time(TimeOfDay { micros }),
            Datum::Interval(i) => Value::Text(Arc::from(i.to_string())),
        }
    }

    /// Parses `text` as a value of `ty` (a string literal compared with, or
    /// cast to, another type).
    pub fn parse(text: &str, ty: Type) -> Result<Datum, String> {
        let bad = || format!("`{text}` is not a valid {ty}");
        let trimmed = text.trim();
        Ok(match ty {
            Type::Null => Datum::Null,
            Type::Text => Datum::Text(Arc::from(text)),
            Type::Bool => match trimmed.to_ascii_lowercase().as_str() {
                "t" | "true" | "y" | "yes" | "on" | "1" => Datum::Bool(true),
                "f" | "false" | "n" | "no" | "off" | "0" => Datum::Bool(false),
                _ => return Err(bad()),
            },
            Type::Int => Datum::Int(trimmed.parse().map_err(|_| bad())?),
            Type::Decimal => Datum::Decimal(BigDecimal::from_str(trimmed).map_err(|_| bad())?),
            Type::Float => Datum::Float(trimmed.parse().map_err(|_| bad())?),
            Type::Date => Datum::Date(Date::parse(trimmed).map_err(|_| bad())?.days_since_epoch()),
            Type::DateTime => {
                let datetime = DateTime::parse(trimmed)
                    .or_else(|_| Date::parse(trimmed).map(midnight))
                    .map_err(|_| bad())?;
                Datum::DateTime(Timestamp::from_datetime(datetime).micros)
            }
            Type::Timestamp => Datum::Timestamp(parse_instant(trimmed).ok_or_else(bad)?),
            Type::Time => Datum::Time(TimeOfDay::parse(trimmed).map_err(|_| bad())?.micros),
            Type::Interval => Datum::Interval(Interval::parse(trimmed).ok_or_else(bad)?),
        })
    }

    /// SQL comparison of two non-NULL values of comparable types (the
    /// compiler made them so); `None` when they cannot be ordered (NaN).
    pub fn compare(&self, other: &Datum) -> Option<Ordering> {
        use Datum as D;
        match (self, other) {
            (D::Bool(a), D::Bool(b)) => Some(a.cmp(b)),
            (D::Int(a), D::Int(b)) => Some(a.cmp(b)),
            (D::Float(a), D::Float(b)) => a.partial_cmp(b),
            (D::Float(a), b) => a.partial_cmp(&b.as_f64()?),
            (a, D::Float(b)) => a.as_f64()?.partial_cmp(b),
            (a, b) if a.is_exact() && b.is_exact() => Some(a.as_decimal()?.cmp(&b.as_decimal()?)),
            (D::Text(a), D::Text(b)) => Some(a.cmp(b)),
            (D::Date(a), D::Date(b)) | (D::Time(a), D::Time(b)) => Some(a.cmp(b)),
            (D::DateTime(a), D::DateTime(b)) | (D::Timestamp(a), D::Timestamp(b)) => Some(a.cmp(b)),
            (D::Timestamp(a), D::DateTime(b)) | (D::DateTime(a), D::Timestamp(b)) => Some(a.cmp(b)),
            (D::Date(_), D::DateTime(_) | D::Timestamp(_)) => {
                self.to_micros()?.partial_cmp(&other.to_micros()?)
            }
            (D::DateTime(_) | D::Timestamp(_), D::Date(_)) => {
                self.to_micros()?.partial_cmp(&other.to_micros()?)
            }
            (D::Interval(a), D::Interval(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    fn is_exact(&self) -> bool {
        matches!(self, Datum::Int(_) | Datum::Decimal(_))
    }

    pub fn as_decimal(&self) -> Option<BigDecimal> {
        match self {
            Datum::Int(n) => Some(BigDecimal::from(*n)),
            Datum::Decimal(d) => Some(d.clone()),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        use bigdecimal::ToPrimitive;
        match self {
            Datum::Int(n) => Some(*n as f64),
            Datum::Decimal(d) => d.to_f64(),
            Datum::Float(x) => Some(*x),
            _ => None,
        }
    }

    /// A date, date-time or instant as microseconds since the epoch.
    pub fn to_micros(&self) -> Option<i64> {
        match self {
            Datum::Date(days) => days.checked_mul(MICROS_PER_DAY),
            Datum::DateTime(m) | Datum::Timestamp(m) => Some(*m),
            _ => None,
        }
    }
}

fn midnight(date: Date) -> DateTime {
    DateTime {
        date,
        time: TimeOfDay { micros: 0 },
    }
}

/// RFC 3339, or a date-time without a zone read as UTC (as PostgreSQL
/// does with `timezone = 'UTC'`), or a date at midnight UTC.
fn parse_instant(text: &str) -> Option<i64> {
    if let Ok(ts) = Timestamp::parse_rfc3339(text) {
        return Some(ts.micros);
    }
    let with_t = text.replacen(' ', "T", 1);
    if let Ok(ts) = Timestamp::parse_rfc3339(&with_t) {
        return Some(ts.micros);
    }
    let local = DateTime::parse(text)
        .or_else(|_| Date::parse(text).map(midnight))
        .ok()?;
    Some(Timestamp::from_datetime(local).micros)
}
