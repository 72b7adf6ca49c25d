//! One binlog row-image value at a time: the byte layouts of each MySQL
//! column type, turned into exact [`Value`]s without going through text or
//! floating point (decimals are rebuilt digit group by digit group).
//!
//! This is the hot path of streaming: a decoder is chosen once per column
//! when a TABLE_MAP arrives, and decoding a value allocates only what the
//! [`Value`] itself holds (text and bytes).

use std::sync::Arc;

use watershed_events::{Decimal, Value};

use super::temporal::{
    datetime_old, datetime2, packed_date, seconds_timestamp, time_old, time2, timestamp2,
};
pub(crate) use super::text::TextCodec;
use super::text::bytes_value;

/// How one column is laid out in a row image, and what it becomes.
#[derive(Debug, Clone)]
pub(crate) enum Decoder {
    /// Little-endian integer of 1, 2, 3, 4 or 8 bytes.
    Int {
        width: u8,
        unsigned: bool,
    },
    Float32,
    Float64,
    Decimal {
        precision: u8,
        scale: u8,
    },
    Year,
    /// 3 bytes: day 5 bits, month 4 bits, year 15 bits.
    Date,
    /// MySQL 5.6+ packed temporal formats with `fsp` fraction digits.
    Time2 {
        fsp: u8,
    },
    DateTime2 {
        fsp: u8,
    },
    Timestamp2 {
        fsp: u8,
    },
    /// The pre-5.6 formats, without fractions.
    TimeOld,
    DateTimeOld,
    TimestampOld,
    Bit {
        width: u16,
    },
    Enum {
        pack: u8,
        labels: Arc<[Arc<str>]>,
    },
    Set {
        pack: u8,
        labels: Arc<[Arc<str>]>,
    },
    /// Length-prefixed bytes (`len_bytes` of length), as `text` says.
    /// Fixed `binary(n)` values arrive without their trailing zero bytes:
    /// `pad_to` puts them back.
    Bytes {
        len_bytes: u8,
        text: TextCodec,
        pad_to: Option<usize>,
    },
    /// MySQL's binary JSON.
    JsonBinary {
        len_bytes: u8,
    },
    /// MariaDB `uuid` (sent like `binary(16)`).
    Uuid,
}

/// Why a value could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// The row image ended early.
    Truncated,
    /// The bytes are not a value of the column's type.
    Invalid(&'static str),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("the row image ends early"),
            DecodeError::Invalid(what) => write!(f, "invalid value ({what})"),
        }
    }
}

/// A cursor over a row image.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Everything not read yet.
    pub(crate) fn rest(self) -> &'a [u8] {
        self.buf
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    pub(crate) fn le(&mut self, n: usize) -> Result<u64, DecodeError> {
        let bytes = self.take(n)?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    pub(crate) fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(be(self.take(n)?))
    }
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

impl Decoder {
    /// Reads one non-NULL value.
    pub(crate) fn decode(&self, r: &mut Reader<'_>) -> Result<Value, DecodeError> {
        match self {
            Decoder::Int { width, unsigned } => int(r, *width, *unsigned),
            Decoder::Float32 => Ok(Value::Float32(f32::from_bits(r.le(4)? as u32))),
            Decoder::Float64 => Ok(Value::Float64(f64::from_bits(r.le(8)?))),
            Decoder::Decimal { precision, scale } => decimal(r, *precision, *scale),
            Decoder::Year => {
                let year = r.le(1)? as u16;
                Ok(Value::Year(if year == 0 { 0 } else { 1900 + year }))
            }
            Decoder::Date => Ok(Value::Date(packed_date(r.le(3)?))),
            Decoder::Time2 { fsp } => time2(r, *fsp),
            Decoder::DateTime2 { fsp } => datetime2(r, *fsp),
            Decoder::Timestamp2 { fsp } => timestamp2(r, *fsp),
            Decoder::TimeOld => time_old(r),
            Decoder::DateTimeOld => datetime_old(r),
            Decoder::TimestampOld => Ok(seconds_timestamp(r.le(4)? as i64, 0)),
            Decoder::Bit { width } => {
                let bits = r.be(usize::from(width.div_ceil(8)))?;
                Ok(Value::Bit {
                    width: *width,
                    bits,
                })
            }
            Decoder::Enum { pack, labels } => enum_value(r, *pack, labels),
            Decoder::Set { pack, labels } => set_value(r, *pack, labels),
            Decoder::Bytes {
                len_bytes,
                text,
                pad_to,
            } => {
                let len = r.le(usize::from(*len_bytes))? as usize;
                bytes_value(r.take(len)?, *text, *pad_to)
            }
            Decoder::JsonBinary { len_bytes } => {
                let len = r.le(usize::from(*len_bytes))? as usize;
                json_binary(r.take(len)?)
            }
            Decoder::Uuid => uuid(r),
        }
    }
}

fn int(r: &mut Reader<'_>, width: u8, unsigned: bool) -> Result<Value, DecodeError> {
    let raw = r.le(usize::from(width))?;
    if unsigned {
        return Ok(Value::UInt(raw));
    }
    // Sign-extend from the column's width.
    let shift = 64 - u32::from(width) * 8;
    Ok(Value::Int(((raw << shift) as i64) >> shift))
}

/// Bytes per count of leftover decimal digits (MySQL's `dig2bytes`).
const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/// MySQL's binary decimal: groups of nine digits in four big-endian bytes,
/// leftover digits in fewer; the first bit flipped, all bits inverted when
/// negative.
fn decimal(r: &mut Reader<'_>, precision: u8, scale: u8) -> Result<Value, DecodeError> {
    let (precision, scale) = (usize::from(precision), usize::from(scale));
    let int_digits = precision.saturating_sub(scale);
    let (int_full, int_rest) = (int_digits / 9, int_digits % 9);
    let (frac_full, frac_rest) = (scale / 9, scale % 9);
    let size = int_full * 4 + DIG2BYTES[int_rest] + frac_full * 4 + DIG2BYTES[frac_rest];
    let raw = r.take(size)?;
    let mut buf = [0u8; 40];
    let buf = buf
        .get_mut(..size)
        .ok_or(DecodeError::Invalid("decimal precision"))?;
    buf.copy_from_slice(raw);
    let negative = buf.first().is_some_and(|b| b & 0x80 == 0);
    if let Some(first) = buf.first_mut() {
        *first ^= 0x80;
    }
    if negative {
        buf.iter_mut().for_each(|b| *b = !*b);
    }
    let mut text = String::with_capacity(precision + 3);
    let mut at = 0;
    let mut group = |bytes: usize, digits: usize, text: &mut String| {
        let value = be(&buf[at..at + bytes]);
        at += bytes;
        push_padded(text, value, digits);
    };
    group(DIG2BYTES[int_rest], int_rest, &mut text);
    for _ in 0..int_full {
        group(4, 9, &mut text);
    }
    // Leading zeros of the integer part go; one zero stays.
    let trimmed = text.trim_start_matches('0');
    let mut out = String::with_capacity(precision + 3);
    if negative {
        out.push('-');
    }
    out.push_str(if trimmed.is_empty() { "0" } else { trimmed });
    if scale > 0 {
        out.push('.');
        let mut frac = String::with_capacity(scale);
        for _ in 0..frac_full {
            group(4, 9, &mut frac);
        }
        group(DIG2BYTES[frac_rest], frac_rest, &mut frac);
        out.push_str(&frac);
    }
    if negative && out[1..].bytes().all(|b| b == b'0' || b == b'.') {
        out.remove(0);
    }
    Decimal::parse(&out)
        .map(Value::Decimal)
        .map_err(|_| DecodeError::Invalid("decimal digits"))
}

/// Appends `value` as exactly `digits` decimal digits.
fn push_padded(text: &mut String, value: u64, digits: usize) {
    if digits == 0 {
        return;
    }
    use std::fmt::Write;
    let _ = write!(text, "{value:0digits$}");
}

/// A 1-based label index; 0 is MySQL's empty error value.
fn enum_value(r: &mut Reader<'_>, pack: u8, labels: &[Arc<str>]) -> Result<Value, DecodeError> {
    let index = r.le(usize::from(pack))? as usize;
    match index {
        0 => Ok(Value::Enum(Arc::from(""))),
        i => labels
            .get(i - 1)
            .map(|l| Value::Enum(l.clone()))
            .ok_or(DecodeError::Invalid("enum index beyond the labels")),
    }
}

/// A little-endian bitmask over the labels.
fn set_value(r: &mut Reader<'_>, pack: u8, labels: &[Arc<str>]) -> Result<Value, DecodeError> {
    let mask = r.le(usize::from(pack))?;
    if labels.len() < 64 && mask >> labels.len() != 0 {
        return Err(DecodeError::Invalid("set bits beyond the labels"));
    }
    let members = labels
        .iter()
        .enumerate()
        // A set has at most 64 members; labels past them are never set.
        .filter(|(i, _)| *i < 64 && mask & (1 << i) != 0)
        .map(|(_, l)| l.clone())
        .collect();
    Ok(Value::Set(members))
}

fn json_binary(bytes: &[u8]) -> Result<Value, DecodeError> {
    Ok(Value::Json(Arc::from(super::jsonb::to_text(bytes)?)))
}

/// MariaDB sends a `uuid` in its text order (not the index order it
/// stores), as a `binary(16)` value: length-prefixed, trailing zero bytes
/// stripped.
fn uuid(r: &mut Reader<'_>) -> Result<Value, DecodeError> {
    let len = r.le(1)? as usize;
    let bytes = r.take(len)?;
    let mut out = [0u8; 16];
    out.get_mut(..len)
        .ok_or(DecodeError::Invalid("uuid longer than 16 bytes"))?
        .copy_from_slice(bytes);
    Ok(Value::Uuid(out))
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
