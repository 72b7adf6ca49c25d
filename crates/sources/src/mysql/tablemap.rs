//! TABLE_MAP events, parsed by hand in one pass: column types and their
//! metadata, and the optional metadata of `binlog_row_metadata`
//! (signedness, charsets, names, enum/set labels, primary key), each
//! attached to its column.
//!
//! Which columns a field covers matters: signedness is logged for every
//! numeric column *including YEAR* (MariaDB 10.11 sets a bit for it; the
//! `is_numeric_type` in the servers' binlog printers leaves YEAR out, and
//! reading by that rule shifts the signedness of later columns), charsets
//! for character columns, GEOMETRY included.

/// Column type codes (`enum_field_types`).
pub(crate) mod code {
    pub const TINY: u8 = 1;
    pub const SHORT: u8 = 2;
    pub const LONG: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const TIMESTAMP: u8 = 7;
    pub const LONGLONG: u8 = 8;
    pub const INT24: u8 = 9;
    pub const DATE: u8 = 10;
    pub const TIME: u8 = 11;
    pub const DATETIME: u8 = 12;
    pub const YEAR: u8 = 13;
    pub const NEWDATE: u8 = 14;
    pub const VARCHAR: u8 = 15;
    pub const BIT: u8 = 16;
    pub const TIMESTAMP2: u8 = 17;
    pub const DATETIME2: u8 = 18;
    pub const TIME2: u8 = 19;
    pub const JSON: u8 = 245;
    pub const NEWDECIMAL: u8 = 246;
    pub const ENUM: u8 = 247;
    pub const SET: u8 = 248;
    pub const TINY_BLOB: u8 = 249;
    pub const MEDIUM_BLOB: u8 = 250;
    pub const LONG_BLOB: u8 = 251;
    pub const BLOB: u8 = 252;
    pub const VAR_STRING: u8 = 253;
    pub const STRING: u8 = 254;
    pub const GEOMETRY: u8 = 255;
}

/// One column as a TABLE_MAP describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MapColumn {
    /// The real type: `STRING` columns that are enums or sets say so.
    pub kind: u8,
    /// Type-specific metadata (see [`metadata_len`]).
    pub meta: [u8; 2],
    pub nullable: bool,
    /// From SIGNEDNESS; `None` when the server did not log it.
    pub unsigned: Option<bool>,
    /// Collation id, from the charset fields.
    pub collation: Option<u16>,
    pub name: Option<String>,
    /// Enum or set labels, raw bytes in the column's charset.
    pub labels: Option<Vec<Vec<u8>>>,
}

impl MapColumn {
    /// For `STRING` (CHAR/BINARY): the declared length in bytes; long
    /// lengths borrow two bits of the type byte.
    pub(crate) fn string_length(&self) -> usize {
        let (byte0, byte1) = (self.meta[0], self.meta[1]);
        if byte0 & 0x30 != 0x30 {
            usize::from(byte1) | (usize::from((byte0 & 0x30) ^ 0x30) << 4)
        } else {
            usize::from(byte1)
        }
    }

    /// `VARCHAR`: the longest value in bytes.
    pub(crate) fn max_length(&self) -> usize {
        usize::from(u16::from_le_bytes(self.meta))
    }
}

/// A parsed TABLE_MAP event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableMap {
    pub table_id: u64,
    pub schema: String,
    pub table: String,
    pub columns: Vec<MapColumn>,
    /// Primary key column indexes, when the server logged them.
    pub primary_key: Option<Vec<usize>>,
}

/// Where a TABLE_MAP did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MapError(pub &'static str);

struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], MapError> {
        if self.0.len() < n {
            return Err(MapError("table map ends early"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, MapError> {
        Ok(self.take(1)?[0])
    }

    fn le(&mut self, n: usize) -> Result<u64, MapError> {
        Ok(self
            .take(n)?
            .iter()
            .rev()
            .fold(0, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// A length-encoded integer.
    fn lenenc(&mut self) -> Result<u64, MapError> {
        match self.u8()? {
            n @ 0..=0xfa => Ok(u64::from(n)),
            0xfc => self.le(2),
            0xfd => self.le(3),
            0xfe => self.le(8),
            _ => Err(MapError("bad length-encoded integer")),
        }
    }

    fn lenenc_bytes(&mut self) -> Result<&'a [u8], MapError> {
        let len = self.lenenc()? as usize;
        self.take(len)
    }
}

/// Metadata bytes per column type in the TABLE_MAP.
fn metadata_len(kind: u8) -> usize {
    use code::*;
    match kind {
        FLOAT | DOUBLE | TINY_BLOB | MEDIUM_BLOB | LONG_BLOB | BLOB | GEOMETRY | JSON
        | TIMESTAMP2 | DATETIME2 | TIME2 => 1,
        VARCHAR | VAR_STRING | NEWDECIMAL | STRING | ENUM | SET | BIT => 2,
        _ => 0,
    }
}

/// Columns whose signedness is logged: the server's numeric fields, YEAR
/// among them (see the module docs).
fn is_numeric(kind: u8) -> bool {
    use code::*;
    matches!(
        kind,
        TINY | SHORT | INT24 | LONG | LONGLONG | NEWDECIMAL | FLOAT | DOUBLE | YEAR
    )
}

/// Columns whose charset is logged (the servers' `is_character_type`).
fn is_character(kind: u8) -> bool {
    use code::*;
    matches!(kind, STRING | VAR_STRING | VARCHAR | BLOB | GEOMETRY)
}

fn is_enum_or_set(kind: u8) -> bool {
    kind == code::ENUM || kind == code::SET
}

impl TableMap {
    /// Parses a TABLE_MAP event body (checksum already removed).
    pub(crate) fn parse(data: &[u8]) -> Result<Self, MapError> {
        let mut b = Bytes(data);
        let table_id = b.le(6)?;
        b.take(2)?; // flags
        let schema = name(&mut b)?;
        let table = name(&mut b)?;
        let count = b.lenenc()? as usize;
        let types = b.take(count)?.to_vec();
        let mut meta = Bytes(b.lenenc_bytes()?);
        let nulls = b.take(count.div_ceil(8))?;
        let mut columns = Vec::with_capacity(count);
        for (i, &kind) in types.iter().enumerate() {
            let mut raw = [0u8; 2];
            let len = metadata_len(kind);
            raw[..len].copy_from_slice(meta.take(len)?);
            // ENUM and SET hide behind STRING; their type is the first
            // metadata byte.
            let kind = if kind == code::STRING && is_enum_or_set(raw[0]) {
                raw[0]
            } else {
                kind
            };
            columns.push(MapColumn {
                kind,
                meta: raw,
                nullable: nulls[i / 8] & (1 << (i % 8)) != 0,
                unsigned: None,
                collation: None,
                name: None,
                labels: None,
            });
        }
        let mut map = Self {
            table_id,
            schema,
            table,
            columns,
            primary_key: None,
        };
        map.read_optional(b)?;
        Ok(map)
    }

    /// Reads the optional metadata fields (type, length, value).
    fn read_optional(&mut self, mut b: Bytes<'_>) -> Result<(), MapError> {
        while !b.0.is_empty() {
            let field = b.u8()?;
            let mut value = Bytes(b.lenenc_bytes()?);
            match field {
                1 => self.signedness(value.0),
                2 => self.default_charset(&mut value, is_character)?,
                3 => self.column_charsets(&mut value, is_character)?,
                4 => {
                    for column in &mut self.columns {
                        column.name = Some(String::from_utf8_lossy(value.lenenc_bytes()?).into());
                    }
                }
                5 => self.labels(&mut value, code::SET)?,
                6 => self.labels(&mut value, code::ENUM)?,
                8 => {
                    let mut key = Vec::new();
                    while !value.0.is_empty() {
                        key.push(value.lenenc()? as usize);
                    }
                    self.primary_key = Some(key);
                }
                9 => {
                    let mut key = Vec::new();
                    while !value.0.is_empty() {
                        key.push(value.lenenc()? as usize);
                        value.lenenc()?; // prefix length
                    }
                    self.primary_key = Some(key);
                }
                10 => self.default_charset(&mut value, is_enum_or_set)?,
                11 => self.column_charsets(&mut value, is_enum_or_set)?,
                // Geometry types, column visibility, vector dimensions and
                // fields of later servers do not change decoding.
                _ => {}
            }
        }
        Ok(())
    }

    /// One bit per numeric column, most significant first; set: unsigned.
    fn signedness(&mut self, bits: &[u8]) {
        let numeric = self.columns.iter_mut().filter(|c| is_numeric(c.kind));
        for (n, column) in numeric.enumerate() {
            let byte = bits.get(n / 8).copied().unwrap_or(0);
            column.unsigned = Some(byte & (0x80 >> (n % 8)) != 0);
        }
    }

    /// A default collation, then `(index among the selected columns,
    /// collation)` pairs for the exceptions.
    fn default_charset(
        &mut self,
        b: &mut Bytes<'_>,
        select: fn(u8) -> bool,
    ) -> Result<(), MapError> {
        let default = b.lenenc()? as u16;
        let mut exceptions = Vec::new();
        while !b.0.is_empty() {
            exceptions.push((b.lenenc()? as usize, b.lenenc()? as u16));
        }
        let selected = self.columns.iter_mut().filter(|c| select(c.kind));
        for (n, column) in selected.enumerate() {
            let exception = exceptions.iter().find(|(i, _)| *i == n);
            column.collation = Some(exception.map_or(default, |(_, c)| *c));
        }
        Ok(())
    }

    /// One collation per selected column.
    fn column_charsets(
        &mut self,
        b: &mut Bytes<'_>,
        select: fn(u8) -> bool,
    ) -> Result<(), MapError> {
        for column in self.columns.iter_mut().filter(|c| select(c.kind)) {
            column.collation = Some(b.lenenc()? as u16);
        }
        Ok(())
    }

    /// Per enum (or set) column: a label count, then each label.
    fn labels(&mut self, b: &mut Bytes<'_>, kind: u8) -> Result<(), MapError> {
        for column in self.columns.iter_mut().filter(|c| c.kind == kind) {
            let count = b.lenenc()? as usize;
            let labels = (0..count)
                .map(|_| b.lenenc_bytes().map(<[u8]>::to_vec))
                .collect::<Result<_, _>>()?;
            column.labels = Some(labels);
        }
        Ok(())
    }
}

/// A length-prefixed, NUL-terminated name.
fn name(b: &mut Bytes<'_>) -> Result<String, MapError> {
    let len = usize::from(b.u8()?);
    let text = String::from_utf8_lossy(b.take(len)?).into_owned();
    b.take(1)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TABLE_MAP for `db.t (id int unsigned, y year, v varchar(10),
    /// e enum('a','b'))` with full metadata.
    fn sample() -> Vec<u8> {
        let mut data = vec![42, 0, 0, 0, 0, 0, 1, 0];
        data.extend_from_slice(&[2, b'd', b'b', 0, 1, b't', 0]);
        data.push(4);
        data.extend_from_slice(&[code::LONG, code::YEAR, code::VARCHAR, code::STRING]);
        data.extend_from_slice(&[4, 40, 0, code::ENUM, 1]);
        data.push(0b1110);
        // SIGNEDNESS: two numeric columns (YEAR counts), the int unsigned.
        data.extend_from_slice(&[1, 1, 0x80]);
        // DEFAULT_CHARSET: utf8mb4_general_ci (45) for the varchar.
        data.extend_from_slice(&[2, 1, 45]);
        // COLUMN_NAME.
        data.extend_from_slice(&[4, 9, 2, b'i', b'd', 1, b'y', 1, b'v', 1, b'e']);
        // ENUM_STR_VALUE.
        data.extend_from_slice(&[6, 5, 2, 1, b'a', 1, b'b']);
        // SIMPLE_PRIMARY_KEY.
        data.extend_from_slice(&[8, 1, 0]);
        data
    }

    #[test]
    fn table_maps_parse_with_full_metadata() {
        let map = TableMap::parse(&sample()).unwrap();
        assert_eq!(
            (map.table_id, map.schema.as_str(), map.table.as_str()),
            (42, "db", "t")
        );
        let kinds: Vec<u8> = map.columns.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, [code::LONG, code::YEAR, code::VARCHAR, code::ENUM]);
        assert_eq!(map.columns[0].unsigned, Some(true));
        assert_eq!(map.columns[1].unsigned, Some(false));
        assert_eq!(map.columns[2].unsigned, None);
        assert!(!map.columns[0].nullable && map.columns[1].nullable);
        assert_eq!(map.columns[2].collation, Some(45));
        assert_eq!(map.columns[2].max_length(), 40);
        assert_eq!(map.columns[3].name.as_deref(), Some("e"));
        assert_eq!(
            map.columns[3].labels,
            Some(vec![b"a".to_vec(), b"b".to_vec()])
        );
        assert_eq!(map.primary_key, Some(vec![0]));
    }

    #[test]
    fn truncated_table_maps_are_errors_not_panics() {
        let data = sample();
        for end in 0..data.len() {
            let _ = TableMap::parse(&data[..end]);
        }
        assert!(TableMap::parse(&data[..10]).is_err());
    }

    #[test]
    fn long_char_lengths_borrow_type_bits() {
        let column = |meta| MapColumn {
            kind: code::STRING,
            meta,
            nullable: false,
            unsigned: None,
            collation: None,
            name: None,
            labels: None,
        };
        assert_eq!(column([0xfe, 40]).string_length(), 40);
        // char(255) in utf8mb4: 1020 bytes.
        assert_eq!(column([0xce, 0xfc]).string_length(), 1020);
    }
}
