//! One generated cell, before any output format encodes it.

use std::io::Write;

/// A generated value. Numbers keep their text so decimals never pass
/// through a float.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cell {
    Null,
    Int(i64),
    Bool(bool),
    /// A decimal or float, as digits (`12.50`).
    Num(String),
    /// Text, dates and times, UUIDs, enum labels.
    Text(String),
    /// A JSON document.
    Json(String),
    Bytes(Vec<u8>),
}

impl Cell {
    /// The cell's plain text (no quoting or escaping); `None` for NULL.
    /// Booleans are `true`/`false`, bytes lower-case hex.
    pub fn write_plain(&self, out: &mut Vec<u8>) -> bool {
        match self {
            Cell::Null => return false,
            Cell::Int(v) => {
                // Writing into a Vec cannot fail.
                let _ = write!(out, "{v}");
            }
            Cell::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Cell::Num(s) | Cell::Text(s) | Cell::Json(s) => out.extend_from_slice(s.as_bytes()),
            Cell::Bytes(bytes) => hex(bytes, out),
        }
        true
    }

    /// The cell as a key for uniqueness checks (NULL never collides, so
    /// callers skip it).
    pub fn key_bytes(&self, out: &mut Vec<u8>) {
        self.write_plain(out);
        out.push(0);
    }

    /// Whether this is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Cell::Null)
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
}
