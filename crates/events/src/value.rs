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
                Value::Decimal(d) => d.heap_bytes(),
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
/// Short texts (the common `decimal(10,2)`) are stored inline: a snapshot
/// makes one per row, and a heap allocation each cost more than the rest
/// of the conversion.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Decimal(Repr);

/// Bytes of text a [`Decimal`] holds without allocating; with its length
/// byte and tag it stays within the size of the largest [`Value`] variant.
const INLINE: usize = 22;

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Shared(Arc<str>),
}

impl Decimal {
    /// Accepts `[+-]digits[.digits]` (also `.5` and `5.`), and PostgreSQL's
    /// `NaN`, `Infinity` and `-Infinity`.
    pub fn parse(text: &str) -> Result<Self, DecimalError> {
        Self::parse_ascii(text.as_bytes())
    }

    /// [`Decimal::parse`] of text as bytes, the way drivers return it:
    /// valid decimal text is ASCII, so no separate UTF-8 check is needed.
    pub fn parse_ascii(text: &[u8]) -> Result<Self, DecimalError> {
        let error = || DecimalError(String::from_utf8_lossy(text).into_owned());
        let (sign, unsigned) = match text.split_first() {
            Some((b'-', rest)) => ("-", rest),
            Some((b'+', rest)) => ("", rest),
            _ => ("", text),
        };
        // One pass: digits with at most one point.
        let mut point = None;
        let mut valid = unsigned.len() > 1 || unsigned.first().is_some_and(u8::is_ascii_digit);
        for (i, &b) in unsigned.iter().enumerate() {
            match b {
                b'0'..=b'9' => {}
                b'.' if point.is_none() => point = Some(i),
                _ => valid = false,
            }
        }
        let (int, frac) = match point {
            Some(point) => (&unsigned[..point], Some(&unsigned[point + 1..])),
            None => (unsigned, None),
        };
        let frac_digits = frac.unwrap_or_default();
        let special = matches!(text, b"NaN" | b"Infinity" | b"-Infinity");
        if !valid && !special {
            return Err(error());
        }
        // Already canonical (what servers send): kept as it is.
        let canonical =
            special || (text[0] != b'+' && !int.is_empty() && frac.is_none_or(|f| !f.is_empty()));
        if canonical {
            if let Some(inline) = Self::inline(text) {
                return Ok(inline);
            }
            let text = std::str::from_utf8(text).map_err(|_| error())?;
            return Ok(Self(Repr::Shared(Arc::from(text))));
        }
        let mut canonical = Vec::with_capacity(text.len() + 1);
        canonical.extend_from_slice(sign.as_bytes());
        canonical.extend_from_slice(if int.is_empty() { b"0" } else { int });
        if !frac_digits.is_empty() {
            canonical.push(b'.');
            canonical.extend_from_slice(frac_digits);
        }
        let canonical = String::from_utf8(canonical).map_err(|_| error())?;
        Ok(Self::canonical(&canonical))
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
        Self::canonical(&text)
    }

    /// Wraps text already in canonical form.
    fn canonical(text: &str) -> Self {
        Self::inline(text.as_bytes()).unwrap_or_else(|| Self(Repr::Shared(Arc::from(text))))
    }

    /// Canonical ASCII text short enough to keep inline.
    fn inline(text: &[u8]) -> Option<Self> {
        let mut bytes = [0; INLINE];
        bytes.get_mut(..text.len())?.copy_from_slice(text);
        Some(Self(Repr::Inline {
            len: text.len() as u8,
            bytes,
        }))
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Only ever filled with ASCII, so this never falls back.
            Repr::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Repr::Shared(text) => text,
        }
    }

    /// The canonical text's bytes (ASCII), without the UTF-8 check that
    /// [`Decimal::as_str`] makes of inline text: for encoders.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Shared(text) => text.as_bytes(),
        }
    }

    /// Heap bytes behind the value, for [`Value::approx_bytes`].
    fn heap_bytes(&self) -> usize {
        match &self.0 {
            Repr::Inline { .. } => 0,
            Repr::Shared(text) => HEAP_OVERHEAD + text.len(),
        }
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for Decimal {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Decimal").field(&self.as_str()).finish()
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
        decimal.as_str().to_owned()
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
        assert!(Decimal::parse(".").is_err());
        assert!(Decimal::parse("-").is_err());
        assert!(Decimal::parse("-.").is_err());
        assert!(Decimal::parse("1-2").is_err());
    }

    #[test]
    fn scaled_decimals_are_exact() {
        assert_eq!(Decimal::from_scaled(-1250, 2).as_str(), "-12.50");
        assert_eq!(Decimal::from_scaled(7, 3).as_str(), "0.007");
        assert_eq!(Decimal::from_scaled(42, 0).as_str(), "42");
    }

    #[test]
    fn short_and_long_decimals_read_the_same() {
        let long = format!("-{}.{}", "1".repeat(30), "2".repeat(10));
        for text in ["0", "-12.50", "1234567890123456789012", &long] {
            let decimal = Decimal::parse(text).unwrap();
            assert_eq!(decimal.as_str(), text);
            assert_eq!(decimal, Decimal::parse(text).unwrap());
            assert_eq!(format!("{decimal:?}"), format!("Decimal({text:?})"));
        }
        assert_eq!(Decimal::parse("5.").unwrap().as_str(), "5");
        assert_eq!(Decimal::parse("-.5").unwrap().as_str(), "-0.5");
        assert_eq!(Decimal::parse("+12.5").unwrap().as_str(), "12.5");
        assert_eq!(Decimal::parse("NaN").unwrap().as_str(), "NaN");
        assert_eq!(
            Decimal::parse_ascii(b"1.2\xff"),
            Err(DecimalError("1.2\u{fffd}".into()))
        );
        assert!(
            std::mem::size_of::<Value>() <= 32,
            "a decimal must not grow values"
        );
    }

    #[test]
    fn unchanged_is_not_null() {
        assert_ne!(Value::Unchanged, Value::Null);
    }
}
