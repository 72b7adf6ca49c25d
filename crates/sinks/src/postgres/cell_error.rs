//! Why one cell could not be written: a small copyable error the encoder
//! returns per value, turned into a message naming table and column only
//! when it is fatal.

use std::fmt;

use watershed_events::Value;

/// Why a cell could not be encoded. Built without allocating: zero dates
/// are a per-row outcome the writer handles, not only a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CellError {
    /// `0000-00-00`, or a zero month or day: PostgreSQL has no such date.
    ZeroDate,
    /// The value's type does not fit the column's type at all.
    Mismatch {
        value: &'static str,
        column: &'static str,
    },
    /// Right type, but outside what the column holds.
    OutOfRange { value: &'static str },
    /// Longer than `varchar(n)`.
    TooLong { max_chars: usize },
    /// Wider than `bit varying(n)`.
    TooWide { max_bits: u32 },
    /// Decimal text that is not a number.
    BadDecimal,
    /// A TOAST placeholder reached the encoder (a sink bug).
    Unchanged,
}

impl fmt::Display for CellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CellError::ZeroDate => f.write_str(
                "a zero date (0000-00-00, or a zero month or day) has no PostgreSQL form and the \
                 column is NOT NULL; make the target column nullable (ALTER TABLE … ALTER COLUMN \
                 … DROP NOT NULL) to store such values as NULL, set the sink's zero_dates to a \
                 date (e.g. \"0001-01-01\") to write that instead, or fix them at the source",
            ),
            CellError::Mismatch { value, column } => write!(
                f,
                "a {value} value cannot be written into a {column} column; change the target \
                 column's type"
            ),
            CellError::OutOfRange { value } => write!(
                f,
                "a {value} value is out of the column's range; widen the target column"
            ),
            CellError::TooLong { max_chars } => write!(
                f,
                "a text value is longer than {max_chars} characters; widen the target column"
            ),
            CellError::TooWide { max_bits } => write!(
                f,
                "a bit value is wider than {max_bits} bits; widen the target column"
            ),
            CellError::BadDecimal => f.write_str("a decimal value is not a number"),
            CellError::Unchanged => f.write_str("an unchanged (TOAST) value has no stored value"),
        }
    }
}

impl std::error::Error for CellError {}

/// A value's variant, for messages (never its content).
pub(crate) fn value_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Unchanged => "unchanged",
        Value::Bool(_) => "boolean",
        Value::Int(_) => "integer",
        Value::UInt(_) => "unsigned integer",
        Value::Float32(_) => "float",
        Value::Float64(_) => "double",
        Value::Decimal(_) => "decimal",
        Value::Text(_) => "text",
        Value::Bytes(_) => "binary",
        Value::Date(_) => "date",
        Value::Time(_) => "time",
        Value::DateTime(_) => "datetime",
        Value::Timestamp(_) => "timestamp",
        Value::Year(_) => "year",
        Value::Enum(_) => "enum",
        Value::Set(_) => "set",
        Value::Bit { .. } => "bit",
        Value::Json(_) => "json",
        Value::Uuid(_) => "uuid",
        Value::Array(_) => "array",
    }
}
