//! Debezium's change-event envelope for one row change: the record key
//! (the primary key as a struct) and value (`before`, `after`, `source`,
//! `transaction`, `op`, `ts_ms`, `ts_us`, `ts_ns`), with the JsonConverter's
//! `schema`/`payload` wrapping or the payload alone. Consumers written for
//! Debezium's MySQL connector read these unchanged.

use serde_json::{Map, Value as Json, json};
use watershed_events::{Change, ChangeOp, TableName, TableSchema, Value};

use super::connect::{Encoding, Phase, field_schema, field_value};

/// The Debezium release whose records these match (fixtures captured
/// from it).
pub const DEBEZIUM_VERSION: &str = "3.6.3.Final";

/// How records are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeOptions {
    /// The logical server name: topics are `<prefix>.<db>.<table>`.
    pub topic_prefix: String,
    /// JsonConverter `schemas.enable`.
    pub schemas: bool,
    /// A tombstone (null value) after each delete, for log compaction.
    pub tombstones: bool,
    pub encoding: Encoding,
}

/// `source.snapshot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMarker {
    First,
    Middle,
    Last,
    /// Streaming.
    No,
}

impl SnapshotMarker {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SnapshotMarker::First => "first",
            SnapshotMarker::Middle => "true",
            SnapshotMarker::Last => "last",
            SnapshotMarker::No => "false",
        }
    }
}

/// Where in the source a change happened (`source` block).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    pub server_id: u32,
    /// The source's commit time, milliseconds since the epoch.
    pub ts_ms: i64,
    pub snapshot: SnapshotMarker,
    pub gtid: Option<String>,
    pub file: String,
    pub pos: u64,
    /// Index of the row within its binlog event.
    pub row: u32,
}

/// One Kafka record: `key` is `None` for a keyless table or a truncate,
/// `value` is `None` for a tombstone.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub topic: String,
    pub key: Option<Json>,
    pub value: Option<Json>,
}

/// The topic of `table`'s changes.
pub fn topic(table: &TableSchema, options: &EnvelopeOptions) -> String {
    match &table.name.schema {
        Some(db) => format!("{}.{db}.{}", options.topic_prefix, table.name.name),
        None => format!("{}.{}", options.topic_prefix, table.name.name),
    }
}

/// One record of a change, before it is encoded: the row image its key
/// comes from, and its value (`None` for a tombstone).
pub(crate) struct Planned<'a> {
    pub key: Option<&'a [Value]>,
    pub value: Option<PlannedValue<'a>>,
}

/// The envelope fields that differ between a change's records.
pub(crate) struct PlannedValue<'a> {
    pub op: &'static str,
    pub before: Option<&'a [Value]>,
    pub after: Option<&'a [Value]>,
}

/// The records Debezium writes for `change`: one per insert, update and
/// truncate; a delete and its tombstone; a key-changing update as a delete,
/// its tombstone and a create. A change without the row image its
/// operation needs writes nothing.
pub(crate) fn plan<'a>(change: &'a Change, snapshot: bool, tombstones: bool) -> Vec<Planned<'a>> {
    let value = |op, before, after| Some(PlannedValue { op, before, after });
    let delete = |before: &'a [Value]| {
        let mut out = vec![Planned {
            key: Some(before),
            value: value("d", Some(before), None),
        }];
        if tombstones {
            out.push(Planned {
                key: Some(before),
                value: None,
            });
        }
        out
    };
    match (change.op, change.before.as_deref(), change.after.as_deref()) {
        (ChangeOp::Insert, _, Some(after)) => {
            let op = if snapshot { "r" } else { "c" };
            vec![Planned {
                key: Some(after),
                value: value(op, None, Some(after)),
            }]
        }
        (ChangeOp::Update, Some(before), Some(after)) => {
            let key_kept = change
                .table
                .primary_key_indices()
                .into_iter()
                .all(|i| before.get(i) == after.get(i));
            if key_kept {
                return vec![Planned {
                    key: Some(after),
                    value: value("u", Some(before), Some(after)),
                }];
            }
            let mut out = delete(before);
            out.push(Planned {
                key: Some(after),
                value: value("c", None, Some(after)),
            });
            out
        }
        (ChangeOp::Delete, Some(before), _) => delete(before),
        (ChangeOp::Truncate, _, _) => vec![Planned {
            key: None,
            value: value("t", None, None),
        }],
        _ => Vec::new(),
    }
}

/// The records Debezium writes for `change` (see [`plan`]), as JSON.
/// `now_micros` is when the record is made.
pub fn records(
    change: &Change,
    source: &SourceInfo,
    options: &EnvelopeOptions,
    now_micros: i64,
) -> Vec<Record> {
    let table = &change.table;
    let writer = Writer {
        table,
        options,
        source,
        topic: topic(table, options),
        now_micros,
    };
    let snapshot = source.snapshot != SnapshotMarker::No;
    plan(change, snapshot, options.tombstones)
        .into_iter()
        .map(|planned| Record {
            topic: writer.topic.clone(),
            key: planned.key.and_then(|row| writer.key(row)),
            value: planned
                .value
                .map(|v| writer.record(v.op, v.before, v.after)),
        })
        .collect()
}

struct Writer<'a> {
    table: &'a TableSchema,
    options: &'a EnvelopeOptions,
    source: &'a SourceInfo,
    topic: String,
    now_micros: i64,
}

impl Writer<'_> {
    fn wrap(&self, schema: Json, payload: Json) -> Json {
        if self.options.schemas {
            json!({ "schema": schema, "payload": payload })
        } else {
            payload
        }
    }

    fn phase(&self) -> Phase {
        match self.source.snapshot {
            SnapshotMarker::No => Phase::Stream,
            _ => Phase::Snapshot,
        }
    }

    fn key(&self, row: &[Value]) -> Option<Json> {
        let columns: Vec<usize> = self.table.primary_key_indices();
        if columns.is_empty() {
            return None;
        }
        let encoding = &self.options.encoding;
        let mut payload = Map::new();
        for i in columns {
            let column = &self.table.columns[i];
            let value = row.get(i).unwrap_or(&Value::Null);
            let json = field_value(value, &column.logical_type, encoding, self.phase());
            payload.insert(column.name.clone(), json);
        }
        let payload = Json::Object(payload);
        if self.options.schemas {
            Some(self.wrap(key_schema(self.table, self.options), payload))
        } else {
            Some(payload)
        }
    }

    fn record(&self, op: &str, before: Option<&[Value]>, after: Option<&[Value]>) -> Json {
        let row = |image: Option<&[Value]>| image.map_or(Json::Null, |r| self.row(r));
        let micros = self.now_micros;
        let payload = json!({
            "before": row(before),
            "after": row(after),
            "source": self.source_block(),
            "transaction": null,
            "op": op,
            "ts_ms": micros.div_euclid(1000),
            "ts_us": micros,
            "ts_ns": i128::from(micros) * 1000,
        });
        if self.options.schemas {
            self.wrap(envelope_schema(self.table, self.options), payload)
        } else {
            payload
        }
    }

    fn row(&self, row: &[Value]) -> Json {
        let encoding = &self.options.encoding;
        let fields: Map<String, Json> = self
            .table
            .columns
            .iter()
            .zip(row)
            .map(|(column, value)| {
                let json = field_value(value, &column.logical_type, encoding, self.phase());
                (column.name.clone(), json)
            })
            .collect();
        Json::Object(fields)
    }

    fn source_block(&self) -> Json {
        source_block(self.source, self.options, &self.table.name)
    }
}

/// The JsonConverter schema of `table`'s record values.
pub(crate) fn envelope_schema(table: &TableSchema, options: &EnvelopeOptions) -> Json {
    let topic = topic(table, options);
    let encoding = &options.encoding;
    let columns: Vec<Json> = table
        .columns
        .iter()
        .map(|c| field_schema(c, encoding))
        .collect();
    let image = |field: &str| {
        json!({
            "type": "struct",
            "fields": columns,
            "optional": true,
            "name": format!("{}.Value", topic),
            "field": field,
        })
    };
    json!({
        "type": "struct",
        "fields": [
            image("before"),
            image("after"),
            source_schema(),
            transaction_schema(),
            { "type": "string", "optional": false, "field": "op" },
            { "type": "int64", "optional": true, "field": "ts_ms" },
            { "type": "int64", "optional": true, "field": "ts_us" },
            { "type": "int64", "optional": true, "field": "ts_ns" },
        ],
        "optional": false,
        "name": format!("{}.Envelope", topic),
        "version": 2,
    })
}

/// The JsonConverter schema of `table`'s record keys (its primary key).
pub(crate) fn key_schema(table: &TableSchema, options: &EnvelopeOptions) -> Json {
    let fields: Vec<Json> = table
        .primary_key_indices()
        .into_iter()
        .map(|i| field_schema(&table.columns[i], &options.encoding))
        .collect();
    json!({
        "type": "struct",
        "fields": fields,
        "optional": false,
        "name": format!("{}.Key", topic(table, options)),
    })
}

fn field(kind: &str, optional: bool, name: &str) -> Json {
    json!({ "type": kind, "optional": optional, "field": name })
}

/// The schema of the `source` block of Debezium's MySQL connector.
pub(crate) fn source_schema() -> Json {
    let snapshot = json!({
        "type": "string",
        "optional": true,
        "name": "io.debezium.data.Enum",
        "version": 1,
        "parameters": {
            "allowed": "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"
        },
        "default": "false",
        "field": "snapshot",
    });
    json!({
        "type": "struct",
        "fields": [
            field("string", false, "version"),
            field("string", false, "connector"),
            field("string", false, "name"),
            field("int64", false, "ts_ms"),
            snapshot,
            field("string", false, "db"),
            field("string", true, "sequence"),
            field("int64", true, "ts_us"),
            field("int64", true, "ts_ns"),
            field("string", true, "table"),
            field("int64", false, "server_id"),
            field("string", true, "gtid"),
            field("string", false, "file"),
            field("int64", false, "pos"),
            field("int32", false, "row"),
            field("int64", true, "thread"),
            field("string", true, "query"),
        ],
        "optional": false,
        "name": "io.debezium.connector.mysql.Source",
        "version": 1,
        "field": "source",
    })
}

fn transaction_schema() -> Json {
    json!({
        "type": "struct",
        "fields": [
            field("string", false, "id"),
            field("int64", false, "total_order"),
            field("int64", false, "data_collection_order"),
        ],
        "optional": true,
        "name": "event.block",
        "version": 1,
        "field": "transaction",
    })
}

/// The `source` block of a record about `table`.
pub(crate) fn source_block(
    source: &SourceInfo,
    options: &EnvelopeOptions,
    table: &TableName,
) -> Json {
    let ts_ms = source.ts_ms;
    json!({
        "version": DEBEZIUM_VERSION,
        "connector": "mysql",
        "name": options.topic_prefix,
        "ts_ms": ts_ms,
        "snapshot": source.snapshot.as_str(),
        "db": table.schema.clone().unwrap_or_default(),
        "sequence": null,
        "ts_us": ts_ms * 1000,
        "ts_ns": i128::from(ts_ms) * 1_000_000,
        "table": table.name,
        // Debezium reports no server id for snapshot reads.
        "server_id": if source.snapshot == SnapshotMarker::No { source.server_id } else { 0 },
        "gtid": source.gtid,
        "file": source.file,
        "pos": source.pos,
        "row": source.row,
        "thread": null,
        "query": null,
    })
}
