//! MySQL's binary JSON (a binlog `JSON` value) as JSON text. The binary
//! form addresses values by offset, so a damaged or hostile document can
//! point at one large value from many places and expand without bound
//! (found by the property tests); what a server writes never does. The
//! conversion therefore stops when the text would outgrow what the binary
//! form can hold, and at a nesting depth past MySQL's own limit.

use mysql_common::binlog::jsonb::{Array, ComplexValue, Object, StorageFormat, Value as Jsonb};
use mysql_common::io::ParseBuf;
use serde_json::{Map, Value as Json};

use super::wire::DecodeError;

/// MySQL refuses documents nested deeper than 100 levels.
const MAX_DEPTH: usize = 100;

/// Text bytes a binary byte may become: a control character in a string
/// is one byte and six of text (`\u0001`); nothing else grows more.
const GROWTH: usize = 8;

/// The JSON text of a binary JSON document.
pub(crate) fn to_text(bytes: &[u8]) -> Result<String, DecodeError> {
    let value: Jsonb<'_> = ParseBuf(bytes).parse(()).map_err(|_| INVALID)?;
    let mut budget = Budget(bytes.len().saturating_mul(GROWTH).saturating_add(64));
    Ok(json(value, &mut budget, 0)?.to_string())
}

const INVALID: DecodeError = DecodeError::Invalid("not MySQL binary JSON");

/// Text bytes the document may still become.
struct Budget(usize);

impl Budget {
    fn spend(&mut self, bytes: usize) -> Result<(), DecodeError> {
        self.0 = self.0.checked_sub(bytes).ok_or(DecodeError::Invalid(
            "binary JSON expands beyond what its size allows",
        ))?;
        Ok(())
    }
}

fn json(value: Jsonb<'_>, budget: &mut Budget, depth: usize) -> Result<Json, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::Invalid("binary JSON nested too deeply"));
    }
    let leaf = |budget: &mut Budget, json: Json| {
        budget.spend(json.to_string().len())?;
        Ok(json)
    };
    match value {
        Jsonb::Null => leaf(budget, Json::Null),
        Jsonb::Bool(b) => leaf(budget, b.into()),
        Jsonb::I16(n) => leaf(budget, n.into()),
        Jsonb::U16(n) => leaf(budget, n.into()),
        Jsonb::I32(n) => leaf(budget, n.into()),
        Jsonb::U32(n) => leaf(budget, n.into()),
        Jsonb::I64(n) => leaf(budget, n.into()),
        Jsonb::U64(n) => leaf(budget, n.into()),
        Jsonb::F64(n) => leaf(budget, n.into()),
        Jsonb::String(s) => {
            let text = std::str::from_utf8(s.str_raw()).map_err(|_| INVALID)?;
            budget.spend(text.len() + 2)?;
            Ok(text.into())
        }
        Jsonb::SmallArray(a) => array(&a, budget, depth),
        Jsonb::LargeArray(a) => array(&a, budget, depth),
        Jsonb::SmallObject(o) => object(&o, budget, depth),
        Jsonb::LargeObject(o) => object(&o, budget, depth),
        Jsonb::Opaque(_) => Err(DecodeError::Invalid("binary JSON with an opaque value")),
    }
}

fn array<T: StorageFormat>(
    array: &ComplexValue<'_, T, Array>,
    budget: &mut Budget,
    depth: usize,
) -> Result<Json, DecodeError> {
    budget.spend(2)?;
    let mut out = Vec::new();
    for item in array.iter() {
        budget.spend(1)?;
        out.push(json(item.map_err(|_| INVALID)?, budget, depth + 1)?);
    }
    Ok(Json::Array(out))
}

fn object<T: StorageFormat>(
    object: &ComplexValue<'_, T, Object>,
    budget: &mut Budget,
    depth: usize,
) -> Result<Json, DecodeError> {
    budget.spend(2)?;
    let mut out = Map::new();
    for entry in object.iter() {
        let (key, value) = entry.map_err(|_| INVALID)?;
        let key = std::str::from_utf8(key.value_raw()).map_err(|_| INVALID)?;
        budget.spend(key.len() + 4)?;
        out.insert(key.to_owned(), json(value, budget, depth + 1)?);
    }
    Ok(Json::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small object `{"a": [1, true]}` in MySQL's binary layout.
    fn small_object() -> Vec<u8> {
        vec![
            0x00, // small object
            0x01, 0x00, // one element
            0x16, 0x00, // 22 bytes
            0x0b, 0x00, 0x01, 0x00, // key at 11, length 1
            0x02, 0x0c, 0x00, // value: small array at 12
            b'a', // key
            0x02, 0x00, 0x0a, 0x00, // array: two elements, 10 bytes
            0x05, 0x01, 0x00, // int16 1
            0x04, 0x01, 0x00, // literal true
        ]
    }

    #[test]
    fn binary_json_becomes_its_text() {
        assert_eq!(to_text(&small_object()).unwrap(), r#"{"a":[1,true]}"#);
        assert_eq!(to_text(&[]).unwrap(), "null");
    }

    #[test]
    fn an_array_whose_entries_all_point_at_one_value_does_not_expand_without_bound() {
        // A small array of 8000 entries, each pointing at the same nested
        // array of 8000 entries pointing at the same string: 64 million
        // strings from 48 kB if followed.
        let count: u16 = 8000;
        let header = 4 + 3 * usize::from(count);
        let mut inner = vec![0x02];
        inner.extend_from_slice(&count.to_le_bytes());
        let inner_size = (header + 4) as u16;
        inner.extend_from_slice(&inner_size.to_le_bytes());
        for _ in 0..count {
            inner.extend_from_slice(&[0x0c]);
            inner.extend_from_slice(&(header as u16).to_le_bytes());
        }
        inner.extend_from_slice(&[3, b'a', b'b', b'c']);
        let mut outer = vec![0x02];
        outer.extend_from_slice(&count.to_le_bytes());
        let outer_size = (header + inner.len() - 1) as u16;
        outer.extend_from_slice(&outer_size.to_le_bytes());
        for _ in 0..count {
            outer.extend_from_slice(&[0x02]);
            outer.extend_from_slice(&(header as u16).to_le_bytes());
        }
        outer.extend_from_slice(&inner[1..]);
        let result = to_text(&outer);
        assert!(
            matches!(result, Err(DecodeError::Invalid(m)) if m.contains("expands")),
            "{result:?}"
        );
    }
}
