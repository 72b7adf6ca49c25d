//! Text and byte strings in row images: MySQL character sets converted to
//! UTF-8 (latin1 is Windows-1252, as MySQL reads it), binary strings kept
//! as bytes with their trailing zero bytes restored.

use std::sync::Arc;

use watershed_events::Value;

use super::wire::DecodeError;

/// How a column's bytes become a [`Value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextCodec {
    Binary,
    Utf8,
    /// MySQL's latin1 is Windows-1252 (0x80 is €).
    Latin1,
    Ucs2,
    Utf16,
    Utf16Le,
    Utf32,
    /// UTF-8 text holding JSON (MariaDB's `JSON` is `LONGTEXT`).
    Json,
}

impl TextCodec {
    /// The codec for a character set name; `None` for ones the decoder
    /// does not convert.
    pub(crate) fn for_charset(charset: &str) -> Option<Self> {
        Some(match charset {
            "utf8mb4" | "utf8mb3" | "utf8" => TextCodec::Utf8,
            "latin1" | "ascii" => TextCodec::Latin1,
            "ucs2" => TextCodec::Ucs2,
            "utf16" => TextCodec::Utf16,
            "utf16le" => TextCodec::Utf16Le,
            "utf32" => TextCodec::Utf32,
            "binary" => TextCodec::Binary,
            _ => return None,
        })
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, DecodeError> {
    std::str::from_utf8(bytes).map_err(|_| DecodeError::Invalid("not UTF-8"))
}

pub(crate) fn bytes_value(
    bytes: &[u8],
    text: TextCodec,
    pad_to: Option<usize>,
) -> Result<Value, DecodeError> {
    Ok(match text {
        TextCodec::Binary => match pad_to {
            Some(n) if bytes.len() < n => {
                let mut padded = bytes.to_vec();
                padded.resize(n, 0);
                Value::Bytes(Arc::from(padded))
            }
            _ => Value::Bytes(Arc::from(bytes)),
        },
        TextCodec::Utf8 => Value::Text(Arc::from(utf8(bytes)?)),
        TextCodec::Json => Value::Json(Arc::from(utf8(bytes)?)),
        TextCodec::Latin1 => Value::Text(Arc::from(latin1(bytes))),
        TextCodec::Ucs2 | TextCodec::Utf16 => {
            Value::Text(Arc::from(utf16(bytes, u16::from_be_bytes)?))
        }
        TextCodec::Utf16Le => Value::Text(Arc::from(utf16(bytes, u16::from_le_bytes)?)),
        TextCodec::Utf32 => Value::Text(Arc::from(utf32(bytes)?)),
    })
}

/// Windows-1252 as MySQL reads latin1: 0x80–0x9F are typographic
/// characters, except five unassigned bytes that map to C1 controls.
fn latin1(bytes: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}',
        '\u{8F}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}',
        '\u{2014}', '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}',
        '\u{178}',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, DecodeError> {
    let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| DecodeError::Invalid("not UTF-16"))
}

fn utf32(bytes: &[u8]) -> Result<String, DecodeError> {
    bytes
        .chunks_exact(4)
        .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
        .collect::<Option<String>>()
        .ok_or(DecodeError::Invalid("not UTF-32"))
}
