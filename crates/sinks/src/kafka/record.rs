//! Records as the bytes Kafka carries. The JsonConverter repeats a table's
//! whole schema in every record; it is serialised once per table shape and
//! spliced around each payload, which is most of the encoding cost saved.

use std::collections::HashMap;
use std::sync::Arc;

use watershed_events::{Change, TableName, TableSchema};

use super::envelope::{EnvelopeOptions, SourceInfo, envelope_schema, key_schema, records};

/// One record's bytes: `key` is `None` for a keyless table or a truncate,
/// `value` is `None` for a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedRecord {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// Encodes changes, caching each table shape's serialised schemas.
#[derive(Debug)]
pub struct Encoder {
    options: EnvelopeOptions,
    payload_only: EnvelopeOptions,
    schemas: HashMap<TableName, (Arc<TableSchema>, Arc<Schemas>)>,
}

#[derive(Debug)]
struct Schemas {
    key: String,
    value: String,
}

impl Encoder {
    pub fn new(options: EnvelopeOptions) -> Self {
        let payload_only = EnvelopeOptions {
            schemas: false,
            ..options.clone()
        };
        Self {
            options,
            payload_only,
            schemas: HashMap::new(),
        }
    }

    /// The records Debezium writes for `change` (see [`records`]).
    pub fn encode(
        &mut self,
        change: &Change,
        source: &SourceInfo,
        now_micros: i64,
    ) -> Vec<EncodedRecord> {
        let payloads = records(change, source, &self.payload_only, now_micros);
        let schemas = self.options.schemas.then(|| self.schemas_of(&change.table));
        payloads
            .into_iter()
            .map(|record| {
                let key = record
                    .key
                    .map(|k| wrap(schemas.as_ref().map(|s| &s.key), &k));
                let value = record
                    .value
                    .map(|v| wrap(schemas.as_ref().map(|s| &s.value), &v));
                EncodedRecord { key, value }
            })
            .collect()
    }

    fn schemas_of(&mut self, table: &Arc<TableSchema>) -> Arc<Schemas> {
        if let Some((cached, schemas)) = self.schemas.get(&table.name)
            && (Arc::ptr_eq(cached, table) || **cached == **table)
        {
            return schemas.clone();
        }
        let schemas = Arc::new(Schemas {
            key: key_schema(table, &self.options).to_string(),
            value: envelope_schema(table, &self.options).to_string(),
        });
        self.schemas
            .insert(table.name.clone(), (table.clone(), schemas.clone()));
        schemas
    }
}

fn wrap(schema: Option<&String>, payload: &serde_json::Value) -> Vec<u8> {
    let payload = payload.to_string();
    match schema {
        None => payload.into_bytes(),
        Some(schema) => {
            let mut out = Vec::with_capacity(schema.len() + payload.len() + 24);
            out.extend_from_slice(b"{\"schema\":");
            out.extend_from_slice(schema.as_bytes());
            out.extend_from_slice(b",\"payload\":");
            out.extend_from_slice(payload.as_bytes());
            out.push(b'}');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::{Encoding, SnapshotMarker};
    use watershed_events::{Column, LogicalType, Value};

    fn table() -> Arc<TableSchema> {
        Arc::new(TableSchema {
            name: TableName::parse("shop.orders"),
            columns: vec![
                Column::new("id", LogicalType::Int64, false),
                Column::new("note", LogicalType::Text { charset: None }, true),
            ],
            primary_key: vec!["id".into()],
            indexes: vec![],
            version: 1,
            foreign_keys: Vec::new(),
            comment: None,
        })
    }

    #[test]
    fn spliced_bytes_equal_the_whole_record() {
        let source = SourceInfo {
            server_id: 1,
            ts_ms: 5,
            snapshot: SnapshotMarker::No,
            gtid: None,
            file: "f".into(),
            pos: 4,
            row: 0,
        };
        let change = Change::delete(table(), vec![Value::Int(7), Value::text("x")]);
        for schemas in [true, false] {
            let options = EnvelopeOptions {
                topic_prefix: "p".into(),
                schemas,
                tombstones: true,
                encoding: Encoding::default(),
            };
            let whole = records(&change, &source, &options, 99);
            let mut encoder = Encoder::new(options);
            let encoded = encoder.encode(&change, &source, 99);
            assert_eq!(whole.len(), 2, "delete and tombstone");
            assert_eq!(encoded.len(), whole.len());
            for (whole, encoded) in whole.iter().zip(&encoded) {
                let parse = |b: &Option<Vec<u8>>| {
                    b.as_ref()
                        .map(|b| serde_json::from_slice::<serde_json::Value>(b).unwrap())
                };
                assert_eq!(parse(&encoded.key), whole.key);
                assert_eq!(parse(&encoded.value), whole.value);
            }
        }
    }
}
