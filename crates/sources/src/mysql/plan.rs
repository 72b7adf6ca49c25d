//! From a TABLE_MAP to a way of decoding rows: the table's schema (the one
//! already known when the binlog agrees with it, else one built from the
//! TABLE_MAP's metadata) and one [`Decoder`] per column.

use std::sync::Arc;

use watershed_events::{Column, LogicalType, TableName, TableSchema};

use super::cells::shared_labels;
use super::conn::Collations;
use super::error::MysqlError;
use super::tablemap::{MapColumn, TableMap, code};
use super::wire::{Decoder, TextCodec};

const OP: &str = "decode table map";
/// The `binary` collation: a byte string, not text.
const BINARY_COLLATION: u16 = 63;

/// How to decode one table's row images.
#[derive(Debug)]
pub(crate) struct TableDecoder {
    pub schema: Arc<TableSchema>,
    pub decoders: Vec<Decoder>,
}

/// What a TABLE_MAP means for the table's schema.
#[derive(Debug)]
pub(crate) enum Resolution {
    /// The binlog agrees with the known schema.
    Known(TableDecoder),
    /// The binlog's shape differs: the schema built from its metadata.
    Changed(TableDecoder),
    /// The TABLE_MAP lacks names (`binlog_row_metadata` below FULL) and
    /// does not match: the schema must be read from the server again.
    NeedsCatalog,
}

/// Resolves `map` against the schema known for its table.
pub(crate) fn resolve(
    map: &TableMap,
    known: Option<&Arc<TableSchema>>,
    collations: &Collations,
) -> Result<Resolution, MysqlError> {
    let name = TableName::new(Some(&map.schema), &map.table);
    if let Some(known) = known.filter(|k| matches(map, k)) {
        let decoders = decoders(map, &known.columns, collations, &name)?;
        return Ok(Resolution::Known(TableDecoder {
            schema: known.clone(),
            decoders,
        }));
    }
    if map.columns.iter().any(|c| c.name.is_none()) {
        return Ok(Resolution::NeedsCatalog);
    }
    let schema = Arc::new(schema_from_map(
        map,
        known.map(|k| &**k),
        collations,
        name.clone(),
    ));
    let decoders = decoders(map, &schema.columns, collations, &name)?;
    Ok(Resolution::Changed(TableDecoder { schema, decoders }))
}

/// Same column count, names (where logged) and compatible types.
fn matches(map: &TableMap, known: &TableSchema) -> bool {
    map.columns.len() == known.columns.len()
        && map.columns.iter().zip(&known.columns).all(|(m, k)| {
            m.name.as_ref().is_none_or(|n| *n == k.name) && compatible(m, &k.logical_type)
        })
}

/// Whether values logged for `column` can be read as `logical`. Lengths
/// are not compared: they do not change how values are laid out.
fn compatible(column: &MapColumn, logical: &LogicalType) -> bool {
    use LogicalType as T;
    let binary = column.collation.map(|c| c == BINARY_COLLATION);
    let signed_ok = |unsigned_type: bool| column.unsigned.is_none_or(|u| u == unsigned_type);
    let fsp = |f: u8| f == column.meta[0];
    match (column.kind, logical) {
        (code::TINY, T::Int8 | T::Bool) | (code::SHORT, T::Int16) | (code::INT24, T::Int24) => {
            signed_ok(false)
        }
        (code::LONG, T::Int32) | (code::LONGLONG, T::Int64) => signed_ok(false),
        (code::TINY, T::UInt8) | (code::SHORT, T::UInt16) | (code::INT24, T::UInt24) => {
            signed_ok(true)
        }
        (code::LONG, T::UInt32) | (code::LONGLONG, T::UInt64) => signed_ok(true),
        (code::NEWDECIMAL, T::Decimal { precision, scale }) => {
            *precision == Some(u16::from(column.meta[0]))
                && *scale == Some(u16::from(column.meta[1]))
        }
        (code::FLOAT, T::Float32) | (code::DOUBLE, T::Float64) | (code::YEAR, T::Year) => true,
        (code::DATE | code::NEWDATE, T::Date) => true,
        (code::TIME2, T::Time { fsp: f })
        | (code::DATETIME2, T::DateTime { fsp: f })
        | (code::TIMESTAMP2, T::Timestamp { fsp: f }) => fsp(*f),
        (code::TIME, T::Time { .. })
        | (code::DATETIME, T::DateTime { .. })
        | (code::TIMESTAMP, T::Timestamp { .. }) => true,
        (code::BIT, T::Bit { width }) => *width == bit_width(column),
        (code::ENUM, T::Enum { labels }) | (code::SET, T::Set { labels }) => column
            .labels
            .as_ref()
            .is_none_or(|l| l.len() == labels.len()),
        (code::VARCHAR | code::VAR_STRING, T::Varchar { .. }) => binary != Some(true),
        (code::VARCHAR | code::VAR_STRING, T::Varbinary { .. }) => binary != Some(false),
        (code::STRING, T::Char { .. }) => binary != Some(true),
        (code::STRING, T::Binary { .. } | T::Uuid) => binary != Some(false),
        (code::BLOB, T::Text { .. } | T::Json) => binary != Some(true),
        (code::BLOB, T::Blob) => binary != Some(false),
        (code::JSON, T::Json) => true,
        _ => false,
    }
}

fn bit_width(column: &MapColumn) -> u16 {
    u16::from(column.meta[1]) * 8 + u16::from(column.meta[0])
}

/// A schema from the TABLE_MAP alone, keeping what the known schema says
/// about same-named columns of compatible type (JSON-ness, lengths,
/// defaults) and its indexes on columns that still exist.
fn schema_from_map(
    map: &TableMap,
    known: Option<&TableSchema>,
    collations: &Collations,
    name: TableName,
) -> TableSchema {
    let known_column = |n: &str| known.and_then(|k| k.columns.iter().find(|c| c.name == n));
    let columns: Vec<Column> = map
        .columns
        .iter()
        .map(|m| {
            let name = m.name.clone().unwrap_or_default();
            match known_column(&name).filter(|k| compatible(m, &k.logical_type)) {
                Some(k) => Column {
                    nullable: m.nullable,
                    ..k.clone()
                },
                None => Column::new(&name, logical_from_map(m, collations), m.nullable),
            }
        })
        .collect();
    let has = |c: &String| columns.iter().any(|col| col.name == *c);
    let primary_key = match &map.primary_key {
        Some(key) => key
            .iter()
            .filter_map(|&i| columns.get(i).map(|c| c.name.clone()))
            .collect(),
        None => known
            .map(|k| k.primary_key.clone())
            .filter(|key| key.iter().all(has))
            .unwrap_or_default(),
    };
    let indexes = known
        .map(|k| {
            k.indexes
                .iter()
                .filter(|i| i.columns.iter().all(has))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    TableSchema {
        name,
        columns,
        primary_key,
        indexes,
        version: known.map_or(1, |k| k.version + 1),
        foreign_keys: Vec::new(),
        comment: None,
    }
}

/// The logical type the TABLE_MAP alone implies.
fn logical_from_map(column: &MapColumn, collations: &Collations) -> LogicalType {
    use LogicalType as T;
    let unsigned = column.unsigned.unwrap_or(false);
    let int = |signed: T, unsigned_type: T| if unsigned { unsigned_type } else { signed };
    let charset = column.collation.and_then(|c| collations.charset(c));
    let binary = column.collation == Some(BINARY_COLLATION);
    let chars = |bytes: usize| {
        let max = charset.map_or(1, |(_, max)| usize::from(max.max(1)));
        Some((bytes / max) as u32)
    };
    let charset_name = charset.map(|(name, _)| name.to_string());
    match column.kind {
        code::TINY => int(T::Int8, T::UInt8),
        code::SHORT => int(T::Int16, T::UInt16),
        code::INT24 => int(T::Int24, T::UInt24),
        code::LONG => int(T::Int32, T::UInt32),
        code::LONGLONG => int(T::Int64, T::UInt64),
        code::NEWDECIMAL => T::Decimal {
            precision: Some(u16::from(column.meta[0])),
            scale: Some(u16::from(column.meta[1])),
        },
        code::FLOAT => T::Float32,
        code::DOUBLE => T::Float64,
        code::YEAR => T::Year,
        code::DATE | code::NEWDATE => T::Date,
        code::TIME2 => T::Time {
            fsp: column.meta[0],
        },
        code::DATETIME2 => T::DateTime {
            fsp: column.meta[0],
        },
        code::TIMESTAMP2 => T::Timestamp {
            fsp: column.meta[0],
        },
        code::TIME => T::Time { fsp: 0 },
        code::DATETIME => T::DateTime { fsp: 0 },
        code::TIMESTAMP => T::Timestamp { fsp: 0 },
        code::BIT => T::Bit {
            width: bit_width(column),
        },
        code::ENUM => T::Enum {
            labels: labels_text(column),
        },
        code::SET => T::Set {
            labels: labels_text(column),
        },
        code::VARCHAR | code::VAR_STRING if binary => T::Varbinary {
            length: Some(column.max_length() as u32),
        },
        code::VARCHAR | code::VAR_STRING => T::Varchar {
            length: chars(column.max_length()),
            charset: charset_name,
        },
        code::STRING if binary => T::Binary {
            length: Some(column.string_length() as u32),
        },
        code::STRING => T::Char {
            length: chars(column.string_length()),
            charset: charset_name,
        },
        code::BLOB if binary => T::Blob,
        code::BLOB => T::Text {
            charset: charset_name,
        },
        code::JSON => T::Json,
        _ => T::Blob,
    }
}

fn labels_text(column: &MapColumn) -> Vec<String> {
    column
        .labels
        .iter()
        .flatten()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect()
}

/// One decoder per column, from the wire type and the logical type.
fn decoders(
    map: &TableMap,
    columns: &[Column],
    collations: &Collations,
    table: &TableName,
) -> Result<Vec<Decoder>, MysqlError> {
    map.columns
        .iter()
        .zip(columns)
        .map(|(m, c)| {
            decoder(m, &c.logical_type, collations)
                .map_err(|message| MysqlError::fatal(OP, message).table(table).column(&c.name))
        })
        .collect()
}

fn decoder(
    column: &MapColumn,
    logical: &LogicalType,
    collations: &Collations,
) -> Result<Decoder, String> {
    let unsigned = column.unsigned.unwrap_or(matches!(
        logical,
        LogicalType::UInt8
            | LogicalType::UInt16
            | LogicalType::UInt24
            | LogicalType::UInt32
            | LogicalType::UInt64
    ));
    let int = |width| Ok(Decoder::Int { width, unsigned });
    let prefix = |max: usize| if max < 256 { 1 } else { 2 };
    Ok(match column.kind {
        code::TINY => return int(1),
        code::SHORT => return int(2),
        code::INT24 => return int(3),
        code::LONG => return int(4),
        code::LONGLONG => return int(8),
        code::FLOAT => Decoder::Float32,
        code::DOUBLE => Decoder::Float64,
        code::NEWDECIMAL => Decoder::Decimal {
            precision: column.meta[0],
            scale: column.meta[1],
        },
        code::YEAR => Decoder::Year,
        code::DATE | code::NEWDATE => Decoder::Date,
        code::TIME2 => Decoder::Time2 {
            fsp: column.meta[0],
        },
        code::DATETIME2 => Decoder::DateTime2 {
            fsp: column.meta[0],
        },
        code::TIMESTAMP2 => Decoder::Timestamp2 {
            fsp: column.meta[0],
        },
        code::TIME => Decoder::TimeOld,
        code::DATETIME => Decoder::DateTimeOld,
        code::TIMESTAMP => Decoder::TimestampOld,
        code::BIT => Decoder::Bit {
            width: bit_width(column),
        },
        code::ENUM | code::SET => {
            let labels = match logical {
                LogicalType::Enum { labels } | LogicalType::Set { labels } => shared_labels(labels),
                _ => shared_labels(&labels_text(column)),
            };
            let pack = column.meta[1];
            if column.kind == code::ENUM {
                Decoder::Enum { pack, labels }
            } else {
                Decoder::Set { pack, labels }
            }
        }
        code::VARCHAR | code::VAR_STRING => Decoder::Bytes {
            len_bytes: prefix(column.max_length()),
            text: codec(column, logical, collations)?,
            pad_to: None,
        },
        code::STRING if *logical == LogicalType::Uuid => Decoder::Uuid,
        code::STRING => {
            let length = column.string_length();
            let text = codec(column, logical, collations)?;
            Decoder::Bytes {
                len_bytes: prefix(length),
                text,
                pad_to: (text == TextCodec::Binary).then_some(length),
            }
        }
        code::BLOB | code::TINY_BLOB | code::MEDIUM_BLOB | code::LONG_BLOB => Decoder::Bytes {
            len_bytes: column.meta[0],
            text: codec(column, logical, collations)?,
            pad_to: None,
        },
        code::JSON => Decoder::JsonBinary {
            len_bytes: column.meta[0],
        },
        code::GEOMETRY => return Err("spatial columns are not supported; exclude the table".into()),
        other => return Err(format!("binlog column type {other} is not supported")),
    })
}

/// How the column's bytes become a value: by the logical type, with the
/// charset the binlog logged for this very event when there is one.
fn codec(
    column: &MapColumn,
    logical: &LogicalType,
    collations: &Collations,
) -> Result<TextCodec, String> {
    use LogicalType as T;
    let declared = match logical {
        T::Json => return Ok(TextCodec::Json),
        T::Binary { .. } | T::Varbinary { .. } | T::Blob | T::Uuid => return Ok(TextCodec::Binary),
        T::Char { charset, .. } | T::Varchar { charset, .. } | T::Text { charset } => {
            charset.clone()
        }
        _ => None,
    };
    if column.collation == Some(BINARY_COLLATION) {
        return Ok(TextCodec::Binary);
    }
    let logged = column
        .collation
        .and_then(|c| collations.charset(c))
        .map(|(n, _)| n.to_string());
    let charset = logged.or(declared).unwrap_or_else(|| "utf8mb4".into());
    TextCodec::for_charset(&charset).ok_or_else(|| {
        format!("character set {charset} is not converted by the binlog decoder; convert the column to utf8mb4")
    })
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
