//! Cell values. A row is a vector of values in the order of its table's
//! columns. Exact decimals stay text; unsent TOAST values are a marker of
//! their own, never NULL.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::temporal::{Date, DateTime, TimeOfDay, Timestamp};

/// One row in column order.
pub type Row = Vec<Value>;

/// The runtime value of one cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum Value {
    Null,
    /// The source did not send this value because it did not change
    /// (PostgreSQL TOAST). A sink keeps the stored value.
    Unchanged,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float32(f32),
    Float64(f64),
    Decimal(Decimal),
    /// Text; shared so that fan-out to several sinks does not copy it.
    Text(Arc<str>),
    Bytes(Arc<[u8]>),
    Date(Date),
    Time(TimeOfDay),
    DateTime(DateTime),
    Timestamp(Timestamp),
    Year(u16),
    Enum(Arc<str>),
    Set(Vec<Arc<str>>),
    /// Bit string, most significant bit first, `width` bits.
    Bit {
        width: u16,
        bits: u64,
    },
    Json(Arc<str>),
    Uuid([u8; 16]),
    Array(Vec<Value>),
}

impl Value {
    pub fn text(text: &str) -> Self {
        Value::Text(Arc::from(text))
    }

    /// A UUID's `8-4-4-4-12` lowercase hex form.
    pub fn uuid_text(bytes: &[u8; 16]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }

    /// Rough heap plus inline size, for the byte bounds of channels and
    /// batches. Cheap: no traversal of shared buffers beyond their length.
    pub fn approx_bytes(&self) -> usize {
        let inline = std::mem::size_of::<Value>();
        inline
            + match self {
                Value::Decimal(d) => HEAP_OVERHEAD + d.0.len(),
                Value::Text(s) | Value::Enum(s) | Value::Json(s) => HEAP_OVERHEAD + s.len(),
                Value::Bytes(b) => HEAP_OVERHEAD + b.len(),
                Value::Set(labels) => labels.iter().map(|l| l.len() + HEAP_OVERHEAD).sum(),
                Value::Array(items) => items.iter().map(Value::approx_bytes).sum(),
                _ => 0,
            }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid decimal `{0}`: expected digits with an optional sign and one decimal point")]
pub struct DecimalError(String);

/// What one heap allocation behind a value costs beyond its bytes: the
/// shared pointer's counts and the allocator's header and rounding. Left
/// out, byte bounds undercounted real memory about twofold for rows of
/// short strings.
pub(crate) const HEAP_OVERHEAD: usize = 32;

/// An exact decimal number, kept as its canonical text (`-12.50`), so that
/// precision 65 survives and nothing passes through binary floating point.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Decimal(Arc<str>);

impl Decimal {
    /// Accepts `[+-]digits[.digits]` (also `.5` and `5.`), and PostgreSQL's
    /// `NaN`, `Infinity` and `-Infinity`.
    pub fn parse(text: &str) -> Result<Self, DecimalError> {
        if matches!(text, "NaN" | "Infinity" | "-Infinity") {
            return Ok(Self(Arc::from(text)));
        }
        let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
        let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.len() + frac.len() == 0 || !digits(int) || !digits(frac) {
            return Err(DecimalError(text.to_owned()));
        }
        let sign = if text.starts_with('-') { "-" } else { "" };
        let int = if int.is_empty() { "0" } else { int };
        let canonical = if frac.is_empty() {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac}")
        };
        Ok(Self(Arc::from(canonical)))
    }

    /// Builds `units / 10^scale` exactly, e.g. `from_scaled(-1250, 2)` is `-12.50`.
    pub fn from_scaled(units: i128, scale: u32) -> Self {
        let digits = units.unsigned_abs().to_string();
        let sign = if units < 0 { "-" } else { "" };
        let scale = scale as usize;
        let text = if scale == 0 {
            format!("{sign}{digits}")
        } else if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            format!("{sign}{int}.{frac}")
        } else {
            format!("{sign}0.{digits:0>scale$}")
        };
        Self(Arc::from(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Decimal {
    type Error = DecimalError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<Decimal> for String {
    fn from(decimal: Decimal) -> Self {
        decimal.0.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_all_65_digits() {
        let text = format!("{}.{}", "9".repeat(35), "1".repeat(30));
        assert_eq!(Decimal::parse(&text).unwrap().as_str(), text);
        assert_eq!(Decimal::parse("+.5").unwrap().as_str(), "0.5");
        assert!(Decimal::parse("1e5").is_err());
        assert!(Decimal::parse("").is_err());
        assert!(Decimal::parse("1.2.3").is_err());
    }

    #[test]
    fn scaled_decimals_are_exact() {
        assert_eq!(Decimal::from_scaled(-1250, 2).as_str(), "-12.50");
        assert_eq!(Decimal::from_scaled(7, 3).as_str(), "0.007");
        assert_eq!(Decimal::from_scaled(42, 0).as_str(), "42");
    }

    #[test]
    fn unchanged_is_not_null() {
        assert_ne!(Value::Unchanged, Value::Null);
    }
}
