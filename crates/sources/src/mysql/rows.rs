//! Rows events (WRITE/UPDATE/DELETE, V1 and V2): the header parsed by
//! hand, then every row image decoded straight into [`Change`]s with the
//! table's column decoders (see [`super::wire`]).

use std::sync::Arc;

use watershed_events::{Change, Event, Row, TableSchema, Value};

use super::plan::TableDecoder;
use super::wire::{DecodeError, Reader};

/// What a rows event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowsKind {
    Write,
    Update,
    Delete,
}

impl RowsKind {
    /// The kind and whether it is a V2 event (with extra data), by event
    /// type; `None` for other events.
    pub(crate) fn of(event_type: u8) -> Option<(Self, bool)> {
        Some(match event_type {
            23 => (RowsKind::Write, false),
            24 => (RowsKind::Update, false),
            25 => (RowsKind::Delete, false),
            30 => (RowsKind::Write, true),
            31 => (RowsKind::Update, true),
            32 => (RowsKind::Delete, true),
            _ => return None,
        })
    }
}

/// A rows event's header and its row images.
pub(crate) struct RowsEvent<'a> {
    pub table_id: u64,
    kind: RowsKind,
    columns: usize,
    before: Option<Image<'a>>,
    after: Option<Image<'a>>,
    rows: &'a [u8],
}

/// Which columns a row image holds, and how many.
#[derive(Clone, Copy)]
struct Image<'a> {
    present: &'a [u8],
    count: usize,
}

impl<'a> Image<'a> {
    fn new(present: &'a [u8], columns: usize) -> Self {
        let count = (0..columns).filter(|&i| bit(present, i)).count();
        Self { present, count }
    }
}

/// Bit `i` of a little-endian bitmap.
fn bit(bits: &[u8], i: usize) -> bool {
    bits.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

/// Reads the header of a rows event body (checksum already removed).
pub(crate) fn parse(data: &[u8], kind: RowsKind, v2: bool) -> Result<RowsEvent<'_>, DecodeError> {
    let mut r = Reader::new(data);
    let id = r.take(6)?;
    let table_id = id
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    r.take(2)?; // flags
    if v2 {
        let extra = r.take(2)?;
        let len = usize::from(u16::from_le_bytes([extra[0], extra[1]]));
        r.take(len.saturating_sub(2))?;
    }
    let columns = lenenc(&mut r)? as usize;
    let bitmap = columns.div_ceil(8);
    let before = matches!(kind, RowsKind::Update | RowsKind::Delete)
        .then(|| r.take(bitmap))
        .transpose()?;
    let after = matches!(kind, RowsKind::Write | RowsKind::Update)
        .then(|| r.take(bitmap))
        .transpose()?;
    Ok(RowsEvent {
        table_id,
        kind,
        columns,
        before: before.map(|bits| Image::new(bits, columns)),
        after: after.map(|bits| Image::new(bits, columns)),
        rows: r.rest(),
    })
}

fn lenenc(r: &mut Reader<'_>) -> Result<u64, DecodeError> {
    let first = r.take(1)?[0];
    let width = match first {
        0..=0xfa => return Ok(u64::from(first)),
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        _ => return Err(DecodeError::Invalid("length-encoded integer")),
    };
    Ok(r.take(width)?
        .iter()
        .rev()
        .fold(0, |acc, &b| (acc << 8) | u64::from(b)))
}

/// A decode failure and the column it happened in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowError {
    pub column: usize,
    pub error: DecodeError,
}

/// Appends one [`Change`] per row of `event` to `out`; returns how many.
pub(crate) fn decode(
    event: &RowsEvent<'_>,
    table: &TableDecoder,
    out: &mut Vec<Event>,
) -> Result<usize, RowError> {
    if event.columns != table.decoders.len() {
        return Err(RowError {
            column: event.columns.min(table.decoders.len()),
            error: DecodeError::Invalid("rows event and table map disagree on the column count"),
        });
    }
    // Images that hold no column read no bytes: rows would never end.
    let holds_nothing = |image: Option<Image<'_>>| image.is_none_or(|i| i.count == 0);
    if holds_nothing(event.before) && holds_nothing(event.after) && !event.rows.is_empty() {
        return Err(RowError {
            column: 0,
            error: DecodeError::Invalid("rows event whose row images hold no column"),
        });
    }
    let mut r = Reader::new(event.rows);
    let mut count = 0;
    while !r.is_empty() {
        let before = event
            .before
            .map(|present| image(&mut r, present, table))
            .transpose()?;
        let after = event
            .after
            .map(|present| image(&mut r, present, table))
            .transpose()?;
        out.push(Event::Change(change(
            event.kind,
            &table.schema,
            before,
            after,
        )));
        count += 1;
    }
    Ok(count)
}

fn change(
    kind: RowsKind,
    schema: &Arc<TableSchema>,
    before: Option<Row>,
    after: Option<Row>,
) -> Change {
    let schema = schema.clone();
    match (kind, before, after) {
        (RowsKind::Update, Some(before), Some(after)) => Change::update(schema, before, after),
        (RowsKind::Delete, Some(before), _) => Change::delete(schema, before),
        (_, _, after) => Change::insert(schema, after.unwrap_or_default()),
    }
}

/// One row image: a NULL bitmap over the present columns, then the
/// non-NULL values. Columns the image leaves out (a row image other than
/// FULL) are [`Value::Unchanged`].
fn image(r: &mut Reader<'_>, image: Image<'_>, table: &TableDecoder) -> Result<Row, RowError> {
    let at = |column| move |error| RowError { column, error };
    let nulls = r.take(image.count.div_ceil(8)).map_err(at(0))?;
    let mut row = Vec::with_capacity(table.decoders.len());
    let mut k = 0;
    for (i, decoder) in table.decoders.iter().enumerate() {
        if !bit(image.present, i) {
            row.push(Value::Unchanged);
            continue;
        }
        let null = bit(nulls, k);
        k += 1;
        row.push(if null {
            Value::Null
        } else {
            decoder.decode(r).map_err(at(i))?
        });
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use watershed_events::{Column, LogicalType, TableName};

    use super::*;
    use crate::mysql::wire::{Decoder, TextCodec};

    fn table() -> TableDecoder {
        TableDecoder {
            schema: Arc::new(TableSchema {
                name: TableName::new(Some("db"), "t"),
                columns: vec![
                    Column::new("id", LogicalType::Int32, false),
                    Column::new("name", LogicalType::Text { charset: None }, true),
                ],
                primary_key: vec!["id".into()],
                indexes: vec![],
                version: 1,
                foreign_keys: Vec::new(),
                comment: None,
            }),
            decoders: vec![
                Decoder::Int {
                    width: 4,
                    unsigned: false,
                },
                Decoder::Bytes {
                    len_bytes: 1,
                    text: TextCodec::Utf8,
                    pad_to: None,
                },
            ],
        }
    }

    #[test]
    fn update_events_yield_before_and_after_images() {
        let mut data = vec![7, 0, 0, 0, 0, 0, 0, 0, 2, 0b11, 0b11];
        // before: id 1, name NULL
        data.extend_from_slice(&[0b10, 1, 0, 0, 0]);
        // after: id 1, name "x"
        data.extend_from_slice(&[0b00, 1, 0, 0, 0, 1, b'x']);
        let event = parse(&data, RowsKind::Update, false).unwrap();
        assert_eq!(event.table_id, 7);
        let mut out = Vec::new();
        assert_eq!(decode(&event, &table(), &mut out).unwrap(), 1);
        let Event::Change(change) = &out[0] else {
            panic!("not a change")
        };
        assert_eq!(change.before, Some(vec![Value::Int(1), Value::Null]));
        assert_eq!(change.after, Some(vec![Value::Int(1), Value::text("x")]));
    }

    #[test]
    fn columns_left_out_of_an_image_are_unchanged_and_garbage_is_an_error() {
        // A delete whose before image holds only the key (binlog_row_image=MINIMAL).
        let data = [7, 0, 0, 0, 0, 0, 0, 0, 2, 0b01, 0b0, 5, 0, 0, 0];
        let event = parse(&data, RowsKind::Delete, false).unwrap();
        let mut out = Vec::new();
        decode(&event, &table(), &mut out).unwrap();
        let Event::Change(change) = &out[0] else {
            panic!("not a change")
        };
        assert_eq!(change.before, Some(vec![Value::Int(5), Value::Unchanged]));
        let nothing_present = [7, 0, 0, 0, 0, 0, 0, 0, 2, 0b00, 0b0, 5, 0];
        let event = parse(&nothing_present, RowsKind::Write, false).unwrap();
        assert!(decode(&event, &table(), &mut Vec::new()).is_err());
        let truncated = [7, 0, 0, 0, 0, 0, 0, 0, 2, 0b11, 0b0, 5, 0];
        let event = parse(&truncated, RowsKind::Write, false).unwrap();
        assert!(decode(&event, &table(), &mut Vec::new()).is_err());
    }
}
