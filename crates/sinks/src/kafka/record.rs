//! Records as the bytes Kafka carries, written straight from the change:
//! no JSON tree per record. Each table shape's serialised schemas and
//! quoted field names are made once and spliced in; values are written by
//! [`field_value`], the reference encoding, except the common kinds
//! (numbers, text, NULL) which go out directly. [`records`] builds the
//! same records as JSON values; the tests hold the two equal.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use watershed_events::{Change, TableName, TableSchema, Value};

use super::connect::{Phase, field_value};
use super::envelope::{
    DEBEZIUM_VERSION, EnvelopeOptions, PlannedValue, SnapshotMarker, SourceInfo, envelope_schema,
    key_schema, plan,
};

/// One record's bytes: `key` is `None` for a keyless table or a truncate,
/// `value` is `None` for a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedRecord {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// Encodes changes, caching what each table shape writes the same way in
/// every record.
#[derive(Debug)]
pub struct Encoder {
    options: EnvelopeOptions,
    shapes: HashMap<TableName, Arc<Shape>>,
}

/// What every record of one table shape shares.
#[derive(Debug)]
struct Shape {
    table: Arc<TableSchema>,
    /// The serialised key and value schemas (`schemas: true`).
    schemas: Option<(String, String)>,
    /// `"column":` per column, escaped.
    names: Vec<Vec<u8>>,
    key_columns: Vec<usize>,
    /// The `source` block up to `ts_ms`'s value.
    source_head: Vec<u8>,
    /// `"db":…` of the `source` block.
    source_db: Vec<u8>,
    /// `"table":…` of the `source` block.
    source_table: Vec<u8>,
}

impl Encoder {
    pub fn new(options: EnvelopeOptions) -> Self {
        Self {
            options,
            shapes: HashMap::new(),
        }
    }

    /// The records Debezium writes for `change` (see [`super::records`]).
    pub fn encode(
        &mut self,
        change: &Change,
        source: &SourceInfo,
        now_micros: i64,
    ) -> Vec<EncodedRecord> {
        let shape = self.shape_of(&change.table);
        let phase = match source.snapshot {
            SnapshotMarker::No => Phase::Stream,
            _ => Phase::Snapshot,
        };
        let snapshot = phase == Phase::Snapshot;
        let writer = RecordWriter {
            shape: &shape,
            options: &self.options,
            source,
            phase,
            now_micros,
        };
        plan(change, snapshot, self.options.tombstones)
            .into_iter()
            .map(|planned| EncodedRecord {
                key: planned.key.and_then(|row| writer.key(row)),
                value: planned.value.map(|value| writer.value(&value)),
            })
            .collect()
    }

    fn shape_of(&mut self, table: &Arc<TableSchema>) -> Arc<Shape> {
        if let Some(shape) = self.shapes.get(&table.name)
            && (Arc::ptr_eq(&shape.table, table) || *shape.table == **table)
        {
            return shape.clone();
        }
        let quoted = |text: &str| serde_json::to_vec(text).unwrap_or_default();
        let mut source_head = br#"{"version":"#.to_vec();
        source_head.extend(quoted(DEBEZIUM_VERSION));
        source_head.extend(br#","connector":"mysql","name":"#);
        source_head.extend(quoted(&self.options.topic_prefix));
        source_head.extend(br#","ts_ms":"#);
        let mut source_db = br#","db":"#.to_vec();
        source_db.extend(quoted(table.name.schema.as_deref().unwrap_or_default()));
        let mut source_table = br#","table":"#.to_vec();
        source_table.extend(quoted(&table.name.name));
        let shape = Arc::new(Shape {
            table: table.clone(),
            schemas: self.options.schemas.then(|| {
                (
                    key_schema(table, &self.options).to_string(),
                    envelope_schema(table, &self.options).to_string(),
                )
            }),
            names: table
                .columns
                .iter()
                .map(|c| {
                    let mut name = quoted(&c.name);
                    name.push(b':');
                    name
                })
                .collect(),
            key_columns: table.primary_key_indices(),
            source_head,
            source_db,
            source_table,
        });
        self.shapes.insert(table.name.clone(), shape.clone());
        shape
    }
}

struct RecordWriter<'a> {
    shape: &'a Shape,
    options: &'a EnvelopeOptions,
    source: &'a SourceInfo,
    phase: Phase,
    now_micros: i64,
}

impl RecordWriter<'_> {
    /// `{"schema":…,"payload":` or nothing, then the payload, then `}`.
    fn wrapped(&self, schema: Option<&str>, payload: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::with_capacity(schema.map_or(0, str::len) + 512);
        if let Some(schema) = schema {
            out.extend_from_slice(br#"{"schema":"#);
            out.extend_from_slice(schema.as_bytes());
            out.extend_from_slice(br#","payload":"#);
        }
        payload(&mut out);
        if schema.is_some() {
            out.push(b'}');
        }
        out
    }

    fn key(&self, row: &[Value]) -> Option<Vec<u8>> {
        if self.shape.key_columns.is_empty() {
            return None;
        }
        let schema = self.shape.schemas.as_ref().map(|(key, _)| key.as_str());
        Some(self.wrapped(schema, |out| {
            self.fields(out, row, self.shape.key_columns.iter().copied())
        }))
    }

    fn value(&self, planned: &PlannedValue<'_>) -> Vec<u8> {
        let schema = self.shape.schemas.as_ref().map(|(_, value)| value.as_str());
        self.wrapped(schema, |out| {
            let columns = 0..self.shape.names.len();
            out.extend_from_slice(br#"{"before":"#);
            match planned.before {
                Some(row) => self.fields(out, row, columns.clone()),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(br#","after":"#);
            match planned.after {
                Some(row) => self.fields(out, row, columns),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(br#","source":"#);
            self.source(out);
            let micros = self.now_micros;
            out.extend_from_slice(br#","transaction":null,"op":""#);
            out.extend_from_slice(planned.op.as_bytes());
            let _ = write!(
                out,
                r#"","ts_ms":{},"ts_us":{micros},"ts_ns":{}}}"#,
                micros.div_euclid(1000),
                i128::from(micros) * 1000
            );
        })
    }

    /// `{"a":1,"b":"x"}` of `columns` of `row`.
    fn fields(&self, out: &mut Vec<u8>, row: &[Value], columns: impl Iterator<Item = usize>) {
        out.push(b'{');
        for (n, i) in columns.enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&self.shape.names[i]);
            let value = row.get(i).unwrap_or(&Value::Null);
            self.field(out, value, i);
        }
        out.push(b'}');
    }

    fn field(&self, out: &mut Vec<u8>, value: &Value, column: usize) {
        let written = match value {
            Value::Null | Value::Unchanged => {
                out.extend_from_slice(b"null");
                Ok(())
            }
            Value::Int(n) => write!(out, "{n}"),
            Value::Text(s) | Value::Enum(s) | Value::Json(s) => {
                serde_json::to_writer(&mut *out, s.as_ref()).map_err(std::io::Error::other)
            }
            other => {
                let logical = &self.shape.table.columns[column].logical_type;
                let json = field_value(other, logical, &self.options.encoding, self.phase);
                serde_json::to_writer(&mut *out, &json).map_err(std::io::Error::other)
            }
        };
        // Writing to a Vec cannot fail.
        debug_assert!(written.is_ok());
    }

    /// The `source` block, as [`super::envelope::source_block`] makes it.
    fn source(&self, out: &mut Vec<u8>) {
        let source = self.source;
        let ts_ms = source.ts_ms;
        out.extend_from_slice(&self.shape.source_head);
        let snapshot = source.snapshot.as_str();
        let _ = write!(out, r#"{ts_ms},"snapshot":"{snapshot}""#);
        out.extend_from_slice(&self.shape.source_db);
        let _ = write!(
            out,
            r#","sequence":null,"ts_us":{},"ts_ns":{}"#,
            ts_ms * 1000,
            i128::from(ts_ms) * 1_000_000
        );
        out.extend_from_slice(&self.shape.source_table);
        // Debezium reports no server id for snapshot reads.
        let server_id = if source.snapshot == SnapshotMarker::No {
            source.server_id
        } else {
            0
        };
        let _ = write!(out, r#","server_id":{server_id},"gtid":"#);
        match &source.gtid {
            Some(gtid) => {
                let _ = serde_json::to_writer(&mut *out, gtid);
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(br#","file":"#);
        let _ = serde_json::to_writer(&mut *out, &source.file);
        let _ = write!(
            out,
            r#","pos":{},"row":{},"thread":null,"query":null}}"#,
            source.pos, source.row
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::{Encoding, SnapshotMarker, records};
    use watershed_events::{Column, Decimal, LogicalType, Timestamp, Value};

    fn table() -> Arc<TableSchema> {
        Arc::new(TableSchema {
            name: TableName::parse("shop.orders"),
            columns: vec![
                Column::new("id", LogicalType::Int64, false),
                Column::new("note", LogicalType::Text { charset: None }, true),
                Column::new(
                    "amount",
                    LogicalType::Decimal {
                        precision: Some(10),
                        scale: Some(2),
                    },
                    true,
                ),
                Column::new("at", LogicalType::Timestamp { fsp: 3 }, true),
                Column::new("flag", LogicalType::Bool, true),
            ],
            primary_key: vec!["id".into()],
            indexes: vec![],
            version: 1,
            foreign_keys: Vec::new(),
            comment: None,
        })
    }

    fn row(id: i64, note: &str) -> Vec<Value> {
        vec![
            Value::Int(id),
            Value::text(note),
            Value::Decimal(Decimal::parse("-12.30").unwrap()),
            Value::Timestamp(Timestamp::from_micros(1_700_000_000_123_000)),
            Value::Bool(true),
        ]
    }

    /// Every kind of change, in the stream and in a snapshot, with and
    /// without schemas: the bytes parse to exactly what [`records`] builds.
    #[test]
    fn written_bytes_equal_the_json_records() {
        let t = table();
        let mut keyless = (*t).clone();
        keyless.primary_key.clear();
        let keyless = Arc::new(keyless);
        let changes = [
            Change::insert(t.clone(), row(1, "plain")),
            Change::update(t.clone(), row(1, "a"), row(1, "quote \" and \\ and \u{1}")),
            Change::update(t.clone(), row(1, "a"), row(2, "key moved")),
            Change::delete(t.clone(), row(7, "x")),
            Change::delete(
                t.clone(),
                vec![
                    Value::Int(8),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                ],
            ),
            Change::truncate(t.clone()),
            Change::insert(keyless, row(3, "no key")),
        ];
        for (snapshot, gtid) in [
            (SnapshotMarker::No, Some("0-1-9".to_owned())),
            (SnapshotMarker::First, None),
        ] {
            let source = SourceInfo {
                server_id: 1,
                ts_ms: 5,
                snapshot,
                gtid: gtid.clone(),
                file: "f".into(),
                pos: 4,
                row: 2,
            };
            for schemas in [true, false] {
                let options = EnvelopeOptions {
                    topic_prefix: "p".into(),
                    schemas,
                    tombstones: true,
                    encoding: Encoding::default(),
                };
                let mut encoder = Encoder::new(options.clone());
                for change in &changes {
                    let whole = records(change, &source, &options, 99);
                    let encoded = encoder.encode(change, &source, 99);
                    assert_eq!(encoded.len(), whole.len(), "{change:?}");
                    for (whole, encoded) in whole.iter().zip(&encoded) {
                        let parse = |b: &Option<Vec<u8>>| {
                            b.as_ref()
                                .map(|b| serde_json::from_slice::<serde_json::Value>(b).unwrap())
                        };
                        assert_eq!(parse(&encoded.key), whole.key, "{change:?}");
                        assert_eq!(parse(&encoded.value), whole.value, "{change:?}");
                    }
                }
            }
        }
        let options = EnvelopeOptions {
            topic_prefix: "p".into(),
            schemas: false,
            tombstones: true,
            encoding: Encoding::default(),
        };
        let source = SourceInfo {
            server_id: 1,
            ts_ms: 5,
            snapshot: SnapshotMarker::No,
            gtid: None,
            file: "f".into(),
            pos: 4,
            row: 0,
        };
        let delete = Encoder::new(options).encode(&changes[3], &source, 99);
        assert_eq!(delete.len(), 2, "a delete and its tombstone");
        assert_eq!(delete[1].value, None);
    }
}
