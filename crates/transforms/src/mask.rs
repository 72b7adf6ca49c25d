//! Masking a column's values before they leave the pipeline: `hash`
//! (keyed HMAC-SHA-256 in hex, so equal inputs give equal outputs across
//! tables and runs and joins still work, while without the key nothing
//! can be guessed back), `redact` (`***`), `null`, `keep_last(N)` (all
//! but the last N characters as `*`) and `fake` (a realistic value of
//! the column's kind, drawn by a [`Faker`] from a seed that is the keyed
//! hash of the original, so the same person always gets the same fake
//! name). NULL stays NULL.

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use watershed_events::{Column, LogicalType, TableSchema, Value};

/// How a column is masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mask {
    Hash,
    Redact,
    Null,
    KeepLast(usize),
    Fake,
}

/// Draws one column's fake value from a seed.
pub type FakeFn = Arc<dyn Fn(u64) -> Value + Send + Sync>;

/// Where `fake` values come from (`watershed gen`'s generators).
pub trait Faker {
    /// The generator for `column` of `table`, or why it has none.
    fn column(&self, table: &TableSchema, column: &Column) -> Result<FakeFn, String>;
}

/// A column's mask with what it needs to run.
#[derive(Clone)]
pub struct BoundMask {
    pub mask: Mask,
    fake: Option<FakeFn>,
}

impl fmt::Debug for BoundMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.mask)
    }
}

impl BoundMask {
    /// A mask that needs no generator (anything but `fake`).
    pub fn plain(mask: Mask) -> Self {
        Self { mask, fake: None }
    }

    /// `fake`, drawing from `generator`.
    pub fn fake(generator: FakeFn) -> Self {
        Self {
            mask: Mask::Fake,
            fake: Some(generator),
        }
    }

    /// `value` masked; `key` is the pipeline's `mask_key`.
    pub fn apply(&self, value: &Value, key: &[u8]) -> Value {
        self.apply_keyed(value, &Keyed::new(key))
    }

    /// [`BoundMask::apply`] with the key prepared once.
    pub fn apply_keyed(&self, value: &Value, key: &Keyed) -> Value {
        match (&self.mask, &self.fake) {
            (Mask::Fake, Some(generator)) if !matches!(value, Value::Null | Value::Unchanged) => {
                let digest = key.digest(&plain(value));
                let mut first = [0u8; 8];
                first.copy_from_slice(&digest[..8]);
                generator(u64::from_le_bytes(first))
            }
            (mask, _) => mask.apply_keyed(value, key),
        }
    }
}

/// The `mask_key`, prepared for HMAC-SHA-256 once (its key schedule is
/// half the work of hashing a short value).
#[derive(Clone)]
pub struct Keyed {
    mac: Option<Hmac<Sha256>>,
}

impl fmt::Debug for Keyed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keyed(***)")
    }
}

impl Keyed {
    pub fn new(key: &[u8]) -> Self {
        Self {
            mac: Hmac::<Sha256>::new_from_slice(key).ok(),
        }
    }

    fn digest(&self, text: &str) -> [u8; 32] {
        let Some(mac) = &self.mac else {
            // HMAC takes keys of any length; this cannot happen.
            return [0; 32];
        };
        let mut mac = mac.clone();
        mac.update(text.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// HMAC-SHA-256 of `text`, lowercase hex.
    pub fn hex(&self, text: &str) -> String {
        self.hex_text(text).to_string()
    }

    /// [`Keyed::hex`] straight into the cell's shared text: one
    /// allocation per masked value.
    fn hex_text(&self, text: &str) -> Arc<str> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (i, b) in self.digest(text).into_iter().enumerate() {
            out[2 * i] = DIGITS[usize::from(b >> 4)];
            out[2 * i + 1] = DIGITS[usize::from(b & 15)];
        }
        // Hex digits are ASCII.
        Arc::from(std::str::from_utf8(&out).unwrap_or_default())
    }
}

impl Mask {
    /// Reads `hash`, `redact`, `null`, `keep_last(4)`.
    pub fn parse(text: &str) -> Result<Mask, String> {
        let lower = text.trim().to_ascii_lowercase();
        Ok(match lower.as_str() {
            "hash" => Mask::Hash,
            "redact" => Mask::Redact,
            "null" => Mask::Null,
            "fake" => Mask::Fake,
            _ => {
                let count = lower
                    .strip_prefix("keep_last(")
                    .and_then(|rest| rest.strip_suffix(')'))
                    .and_then(|n| n.trim().parse().ok())
                    .ok_or_else(|| {
                        format!("`{text}` is not a mask: hash, redact, null, keep_last(N) or fake")
                    })?;
                Mask::KeepLast(count)
            }
        })
    }

    /// The type a masked column holds: text, except `null` and `fake`,
    /// which keep the column's own.
    pub fn logical_type(&self, original: &LogicalType) -> LogicalType {
        match self {
            Mask::Null | Mask::Fake => original.clone(),
            _ => LogicalType::Text { charset: None },
        }
    }

    /// `value` masked; `key` is the HMAC key (needed by `hash`).
    pub fn apply(&self, value: &Value, key: &[u8]) -> Value {
        self.apply_keyed(value, &Keyed::new(key))
    }

    /// [`Mask::apply`] with the key prepared once.
    pub fn apply_keyed(&self, value: &Value, key: &Keyed) -> Value {
        if matches!(value, Value::Null | Value::Unchanged) {
            return value.clone();
        }
        match self {
            Mask::Null => Value::Null,
            // Without its generator (never built so), hide it all.
            Mask::Redact | Mask::Fake => Value::text("***"),
            Mask::Hash => Value::Text(key.hex_text(&plain(value))),
            Mask::KeepLast(n) => {
                let text = plain(value);
                let count = text.chars().count();
                let hidden = count.saturating_sub(*n);
                let masked: String = text
                    .chars()
                    .enumerate()
                    .map(|(i, c)| if i < hidden { '*' } else { c })
                    .collect();
                Value::Text(Arc::from(masked))
            }
        }
    }
}

/// HMAC-SHA-256 of `text` under `key`, lowercase hex.
pub fn hash(key: &[u8], text: &str) -> String {
    Keyed::new(key).hex(text)
}

/// A value's text, the same for a value whichever source sent it.
fn plain(value: &Value) -> String {
    match value {
        Value::Text(s) | Value::Enum(s) | Value::Json(s) => s.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::UInt(n) => n.to_string(),
        Value::Float32(x) => x.to_string(),
        Value::Float64(x) => x.to_string(),
        Value::Decimal(d) => d.as_str().to_owned(),
        Value::Bytes(b) => b.iter().map(|b| format!("{b:02x}")).collect(),
        Value::Date(d) => d.to_string(),
        Value::Time(t) => t.to_string(),
        Value::DateTime(dt) => dt.to_string(),
        Value::Timestamp(ts) => ts.to_string(),
        Value::Year(y) => y.to_string(),
        Value::Uuid(u) => Value::uuid_text(u),
        Value::Set(labels) => labels.join(","),
        Value::Bit { bits, .. } => bits.to_string(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(","),
        Value::Null | Value::Unchanged => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"a key of the pipeline";

    #[test]
    fn hashing_is_keyed_hmac_sha256_and_the_same_for_equal_values() {
        // RFC 4231 test case 2.
        assert_eq!(
            hash(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let a = Mask::Hash.apply(&Value::text("ann@example.com"), KEY);
        let b = Mask::Hash.apply(&Value::text("ann@example.com"), KEY);
        let other_key = Mask::Hash.apply(&Value::text("ann@example.com"), b"another");
        assert_eq!(a, b);
        assert_ne!(a, other_key);
        assert_eq!(
            Mask::Hash.apply(&Value::Int(42), KEY),
            Mask::Hash.apply(&Value::text("42"), KEY)
        );
    }

    #[test]
    fn masks_keep_nulls_and_hide_the_rest() {
        assert_eq!(
            Mask::Redact.apply(&Value::text("secret"), KEY),
            Value::text("***")
        );
        assert_eq!(Mask::Null.apply(&Value::text("secret"), KEY), Value::Null);
        assert_eq!(
            Mask::KeepLast(4).apply(&Value::text("+380501234567"), KEY),
            Value::text("*********4567")
        );
        assert_eq!(
            Mask::KeepLast(4).apply(&Value::text("12"), KEY),
            Value::text("12")
        );
        assert_eq!(Mask::Hash.apply(&Value::Null, KEY), Value::Null);
    }

    #[test]
    fn masks_are_read_from_their_pipeline_spelling() {
        assert_eq!(Mask::parse("hash"), Ok(Mask::Hash));
        assert_eq!(Mask::parse("keep_last(4)"), Ok(Mask::KeepLast(4)));
        assert_eq!(Mask::parse(" NULL "), Ok(Mask::Null));
        assert_eq!(
            Mask::parse("keep_last(x)"),
            Err("`keep_last(x)` is not a mask: hash, redact, null, keep_last(N) or fake".into())
        );
    }
}
