//! Debezium change events back into changes: the envelope's `op`,
//! `before`, `after` and `source`, and each column's type from the
//! JsonConverter schema the record carries (Connect types and Debezium's
//! logical names). A table's shape comes from its records; when it
//! differs from the last one seen, a schema change goes first.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json};
use watershed_events::{
    Change, Column, LogicalType, Row, SchemaChange, TableName, TableSchema, Value,
};

use super::debezium_values::{row_image, value_of};

/// Debezium releases whose envelope this reads.
const KNOWN_MAJOR_VERSIONS: [&str; 3] = ["1.", "2.", "3."];

/// What one record says.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    /// A row change, after the schema change its table needs (if any).
    Change(Option<SchemaChange>, Change),
    /// A tombstone, or a record of the schema change topic: nothing to
    /// apply (the envelope schema carries the shape).
    Skip,
}

/// Decodes records, remembering each table's last shape, and the columns
/// each envelope schema text describes: the JsonConverter repeats the
/// whole schema in every record, and reading it once per table shape
/// rather than once per record is most of the decoding cost saved.
#[derive(Debug, Default)]
pub struct DebeziumDecoder {
    tables: HashMap<TableName, (Arc<Vec<Column>>, Arc<TableSchema>)>,
    schemas: HashMap<Box<str>, Arc<Vec<Column>>>,
    /// Schema texts seen last, newest first: a record whose bytes repeat
    /// one of them is split without scanning its schema at all.
    recent: Vec<Arc<str>>,
    /// The columns of the schema text decoded last, by that text.
    last_columns: Option<(Arc<str>, Arc<Vec<Column>>)>,
    /// The key schema text seen last and its field names.
    last_key: Option<(Box<str>, Arc<Vec<String>>)>,
}

/// The parts of a Debezium payload the decoder reads; the rest is
/// skipped without building anything.
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    op: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    before: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    after: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    source: Option<SourceBlock<'a>>,
    /// Present in schema change records, which are skipped.
    #[serde(default)]
    ddl: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "tableChanges")]
    table_changes: Option<serde::de::IgnoredAny>,
}

/// What the decoder reads of the `source` block.
#[derive(serde::Deserialize)]
struct SourceBlock<'a> {
    #[serde(borrow, default)]
    version: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    table: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    db: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    schema: Option<std::borrow::Cow<'a, str>>,
}

impl SourceBlock<'_> {
    fn check_version(&self) -> Result<(), String> {
        let version = self.version.as_deref().unwrap_or("");
        if KNOWN_MAJOR_VERSIONS.iter().any(|v| version.starts_with(v)) {
            Ok(())
        } else {
            Err(format!(
                "envelope from Debezium version `{version}`, which this release does not know \
                 (it reads 1.x to 3.x)"
            ))
        }
    }

    fn table_name(&self) -> Result<TableName, String> {
        let text = |t: &Option<std::borrow::Cow<'_, str>>| {
            t.as_deref().filter(|s| !s.is_empty()).map(str::to_owned)
        };
        let table = text(&self.table).ok_or("`source.table` is missing")?;
        // MySQL names the database, PostgreSQL the schema.
        let schema = text(&self.schema).or_else(|| text(&self.db));
        Ok(TableName::new(schema.as_deref(), &table))
    }
}

/// A record key, split like a value: schema and payload unread.
struct Key<'a> {
    schema: Option<&'a serde_json::value::RawValue>,
    payload: &'a [u8],
}

impl<'a> Key<'a> {
    fn parse(key: &'a [u8]) -> Result<Self, String> {
        match serde_json::from_slice::<Wrapped<'a>>(key) {
            // Both, as the JsonConverter writes them: a key column that
            // happens to be named `payload` is not a wrapper.
            Ok(Wrapped {
                schema: Some(schema),
                payload: Some(payload),
            }) => Ok(Key {
                schema: Some(schema),
                payload: payload.get().as_bytes(),
            }),
            Ok(_) => Ok(Key {
                schema: None,
                payload: key,
            }),
            Err(e) => Err(format!("key is not JSON: {e}")),
        }
    }

    fn payload(&self) -> Result<Map<String, Json>, String> {
        serde_json::from_slice(self.payload).map_err(|_| "key is not an object".to_owned())
    }
}

/// A value that does not parse as a Debezium payload: not JSON at all, or
/// JSON of another shape.
fn not_an_envelope(e: serde_json::Error) -> String {
    match e.classify() {
        serde_json::error::Category::Data => {
            format!("value is not a Debezium envelope: {e}")
        }
        _ => format!("value is not JSON: {e}"),
    }
}

/// Schema texts [`DebeziumDecoder::recent`] keeps.
const RECENT_SCHEMAS: usize = 8;

/// `(schema, payload)` of a JsonConverter value whose schema is byte for
/// byte one of `recent`; `None` when it is not (then it is parsed).
fn split_known<'a>(value: &'a [u8], recent: &[Arc<str>]) -> Option<(usize, &'a [u8])> {
    const HEAD: &[u8] = br#"{"schema":"#;
    const MIDDLE: &[u8] = br#","payload":"#;
    let rest = value.strip_prefix(HEAD)?;
    recent.iter().enumerate().find_map(|(i, schema)| {
        let payload = rest
            .strip_prefix(schema.as_bytes())?
            .strip_prefix(MIDDLE)?
            .trim_ascii_end()
            .strip_suffix(b"}")?;
        Some((i, payload))
    })
}

/// Schema cache entries kept at most (a topic of many shapes, or garbage).
const MAX_SCHEMAS: usize = 1024;

/// A JsonConverter value split without parsing its schema.
#[derive(serde::Deserialize)]
struct Wrapped<'a> {
    #[serde(borrow)]
    schema: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow)]
    payload: Option<&'a serde_json::value::RawValue>,
}

impl DebeziumDecoder {
    /// Decodes one record; the error says what is wrong with it.
    pub fn decode(&mut self, key: Option<&[u8]>, value: Option<&[u8]>) -> Result<Decoded, String> {
        let Some(value) = value else {
            return Ok(Decoded::Skip);
        };
        let (schema_text, envelope) = self.envelope(value)?;
        let schema_text = schema_text.as_deref();
        let key = match key {
            Some(key) => Some(Key::parse(key)?),
            None => None,
        };
        let Some(op) = envelope.op.as_deref() else {
            if envelope.ddl.is_some() || envelope.table_changes.is_some() {
                return Ok(Decoded::Skip);
            }
            return Err("value is not a Debezium envelope (no `op`)".into());
        };
        let source = envelope
            .source
            .as_ref()
            .ok_or("envelope without a `source` block")?;
        source.check_version()?;
        let name = source.table_name()?;
        let schema = schema_text.ok_or_else(|| {
            format!(
                "record of {name} carries no schema (JsonConverter schemas.enable=false): \
                 column types are unknown; produce with schemas enabled"
            )
        })?;
        // A truncate concerns no row and has no key.
        if key.is_none()
            && op != "t"
            && let Some((_, known)) = self.tables.get(&name)
            && !known.primary_key.is_empty()
        {
            return Err(format!(
                "a record of {name} without a key, but the table is keyed by ({}); \
                 the producer must send the key",
                known.primary_key.join(", ")
            ));
        }
        let key_fields = match &key {
            Some(key) => self.key_fields(key)?,
            None => Arc::default(),
        };
        let (fresh, table) = if op == "t" {
            // Keyless: its table keeps the shape and key it had.
            match self.tables.get(&name) {
                Some((_, known)) => (false, known.clone()),
                None => self.table(&name, schema, &key_fields)?,
            }
        } else {
            self.table(&name, schema, &key_fields)?
        };
        let announce = fresh.then(|| SchemaChange::new(table.clone()));
        let image = |field: &str, raw: Option<&serde_json::value::RawValue>| {
            let Some(raw) = raw else { return Ok(None) };
            match row_image(&table, raw.get()) {
                Ok(None) => Ok(None),
                Ok(Some(row)) => row.map(Some),
                Err(_) => Err(format!("`{field}` is not an object")),
            }
        };
        let key_row = || -> Result<Row, String> {
            let key = key
                .as_ref()
                .ok_or_else(|| format!("a {op} of {name} without a key or row image"))?;
            let payload = key.payload()?;
            let mut row = vec![Value::Unchanged; table.columns.len()];
            for (i, column) in table.columns.iter().enumerate() {
                if let Some(v) = payload.get(&column.name) {
                    row[i] = value_of(column, v)?;
                }
            }
            Ok(row)
        };
        let (before, after) = (envelope.before, envelope.after);
        let change = match op {
            "c" | "r" => {
                let after = image("after", after)?.ok_or("create without `after`")?;
                Change::insert(table.clone(), after)
            }
            "u" => {
                let after = image("after", after)?.ok_or("update without `after`")?;
                let before = match image("before", before)? {
                    Some(before) => before,
                    None => key_row()?,
                };
                Change::update(table.clone(), before, after)
            }
            "d" => {
                let before = match image("before", before)? {
                    Some(before) => before,
                    None => key_row()?,
                };
                Change::delete(table.clone(), before)
            }
            "t" => Change::truncate(table.clone()),
            other => return Err(format!("unknown op `{other}`")),
        };
        Ok(Decoded::Change(announce, change))
    }

    /// The schema text and the envelope of a record value: split at a
    /// schema seen before without reading it, or parsed.
    fn envelope<'v>(
        &mut self,
        value: &'v [u8],
    ) -> Result<(Option<Arc<str>>, Envelope<'v>), String> {
        if let Some((i, payload)) = split_known(value, &self.recent)
            // Not the whole rest (a further field): parsed the long way.
            && let Ok(envelope) = serde_json::from_slice::<Envelope<'v>>(payload)
        {
            let schema = self.recent[i].clone();
            if i > 0 {
                self.recent[..=i].rotate_right(1);
            }
            return Ok((Some(schema), envelope));
        }
        let wrapped: Wrapped<'v> = serde_json::from_slice(value).map_err(not_an_envelope)?;
        let Wrapped {
            schema,
            payload: Some(payload),
        } = wrapped
        else {
            // Payload only (JsonConverter schemas.enable=false).
            return Ok((
                None,
                serde_json::from_slice(value).map_err(not_an_envelope)?,
            ));
        };
        let schema: Option<Arc<str>> = schema.map(|s| Arc::from(s.get()));
        if let Some(schema) = &schema {
            self.recent.insert(0, schema.clone());
            self.recent.truncate(RECENT_SCHEMAS);
        }
        let envelope = serde_json::from_str(payload.get()).map_err(not_an_envelope)?;
        Ok((schema, envelope))
    }

    /// The key's field names: from its schema (kept for the next record
    /// with the same schema text), else from its payload.
    fn key_fields(&mut self, key: &Key<'_>) -> Result<Arc<Vec<String>>, String> {
        let Some(schema) = key.schema else {
            return Ok(Arc::new(key.payload()?.keys().cloned().collect()));
        };
        if let Some((text, fields)) = &self.last_key
            && **text == *schema.get()
        {
            return Ok(fields.clone());
        }
        let parsed: Json =
            serde_json::from_str(schema.get()).map_err(|e| format!("key is not JSON: {e}"))?;
        let fields: Arc<Vec<String>> = Arc::new(
            parsed
                .get("fields")
                .and_then(Json::as_array)
                .map(|fields| {
                    fields
                        .iter()
                        .filter_map(|f| f.get("field").and_then(Json::as_str).map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        );
        self.last_key = Some((schema.get().into(), fields.clone()));
        Ok(fields)
    }

    /// The table's shape from the envelope schema; `true` when it is new
    /// or differs from the last one seen.
    fn table(
        &mut self,
        name: &TableName,
        schema: &str,
        key: &[String],
    ) -> Result<(bool, Arc<TableSchema>), String> {
        let last = self
            .last_columns
            .as_ref()
            .filter(|(text, _)| std::ptr::eq(text.as_ref(), schema));
        let columns = match last.map(|(_, c)| c).or_else(|| self.schemas.get(schema)) {
            Some(columns) => columns.clone(),
            None => {
                let columns = Arc::new(columns_of(schema)?);
                if self.schemas.len() >= MAX_SCHEMAS {
                    self.schemas.clear();
                }
                self.schemas.insert(schema.into(), columns.clone());
                columns
            }
        };
        // The fast split hands out the same text (one allocation) for a
        // repeated schema: the next record finds its columns by address,
        // without hashing kilobytes of schema.
        if let Some(text) = self.recent.first()
            && std::ptr::eq(text.as_ref(), schema)
        {
            self.last_columns = Some((text.clone(), columns.clone()));
        }
        let previous = self.tables.get(name);
        if let Some((known, table)) = previous
            && Arc::ptr_eq(known, &columns)
            && table.primary_key.len() == key.len()
            && table.primary_key.iter().zip(key).all(|(a, b)| a == b)
        {
            return Ok((false, table.clone()));
        }
        let primary_key: Vec<String> = key
            .iter()
            .filter(|k| columns.iter().any(|c| &c.name == *k))
            .cloned()
            .collect();
        if let Some((_, table)) = previous
            && *table.columns == *columns
            && table.primary_key == primary_key
        {
            let table = table.clone();
            self.tables.insert(name.clone(), (columns, table.clone()));
            return Ok((false, table));
        }
        let table = Arc::new(TableSchema {
            name: name.clone(),
            columns: columns.to_vec(),
            primary_key,
            indexes: Vec::new(),
            version: previous.map_or(1, |(_, p)| p.version + 1),
            foreign_keys: Vec::new(),
            comment: None,
        });
        self.tables.insert(name.clone(), (columns, table.clone()));
        Ok((true, table))
    }
}

/// The row columns an envelope schema (JSON text) declares.
fn columns_of(schema: &str) -> Result<Vec<Column>, String> {
    let schema: Json =
        serde_json::from_str(schema).map_err(|e| format!("envelope schema is not JSON: {e}"))?;
    let fields = schema
        .get("fields")
        .and_then(Json::as_array)
        .ok_or("envelope schema without fields")?;
    let named = |name: &str| {
        fields
            .iter()
            .find(|f| f.get("field").and_then(Json::as_str) == Some(name))
    };
    named("after")
        .or_else(|| named("before"))
        .ok_or("envelope schema without a `before`/`after` struct")?
        .get("fields")
        .and_then(Json::as_array)
        .ok_or("row schema without fields")?
        .iter()
        .map(column_of)
        .collect()
}

fn param<'a>(field: &'a Json, name: &str) -> Option<&'a str> {
    field.get("parameters")?.get(name)?.as_str()
}

/// One column from its Connect field schema.
fn column_of(field: &Json) -> Result<Column, String> {
    let name = field
        .get("field")
        .and_then(Json::as_str)
        .ok_or("field schema without a name")?;
    let kind = field.get("type").and_then(Json::as_str).unwrap_or("");
    let logical_name = field.get("name").and_then(Json::as_str);
    let labels = |f: &Json| -> Vec<String> {
        param(f, "allowed")
            .map(|a| a.split(',').map(str::to_owned).collect())
            .unwrap_or_default()
    };
    use LogicalType as T;
    let logical = match (kind, logical_name) {
        ("boolean", _) => T::Bool,
        ("int8" | "int16", None) => T::Int16,
        ("int32", None) => T::Int32,
        ("int64", None) => T::Int64,
        ("float" | "float32", _) => T::Float32,
        ("double" | "float64", _) => T::Float64,
        ("string", None) => T::Text { charset: None },
        ("string", Some("io.debezium.time.ZonedTimestamp")) => T::Timestamp { fsp: 6 },
        ("string", Some("io.debezium.data.Json")) => T::Json,
        ("string", Some("io.debezium.data.Enum")) => T::Enum {
            labels: labels(field),
        },
        ("string", Some("io.debezium.data.EnumSet")) => T::Set {
            labels: labels(field),
        },
        ("string", Some("io.debezium.data.Uuid")) => T::Uuid,
        ("string", Some(_)) => T::Text { charset: None },
        ("bytes", None) => T::Blob,
        ("bytes", Some("org.apache.kafka.connect.data.Decimal")) => T::Decimal {
            precision: param(field, "connect.decimal.precision").and_then(|p| p.parse().ok()),
            scale: param(field, "scale").and_then(|s| s.parse().ok()),
        },
        ("bytes", Some("io.debezium.data.Bits")) => T::Bit {
            width: param(field, "length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(64),
        },
        ("int32", Some("io.debezium.time.Date" | "org.apache.kafka.connect.data.Date")) => T::Date,
        ("int64", Some("io.debezium.time.MicroTime" | "io.debezium.time.NanoTime")) => {
            T::Time { fsp: 6 }
        }
        ("int32", Some("org.apache.kafka.connect.data.Time" | "io.debezium.time.Time")) => {
            T::Time { fsp: 3 }
        }
        ("int64", Some("io.debezium.time.MicroTimestamp" | "io.debezium.time.NanoTimestamp")) => {
            T::DateTime { fsp: 6 }
        }
        (
            "int64",
            Some("io.debezium.time.Timestamp" | "org.apache.kafka.connect.data.Timestamp"),
        ) => T::DateTime { fsp: 3 },
        ("int32", Some("io.debezium.time.Year")) => T::Year,
        (kind, name) => {
            return Err(format!(
                "column {name_}: Connect type {kind}{} is not supported",
                name.map(|n| format!(" ({n})")).unwrap_or_default(),
                name_ = name.unwrap_or(name_of(field)),
            ));
        }
    };
    let nullable = field
        .get("optional")
        .and_then(Json::as_bool)
        .unwrap_or(true);
    let mut column = Column::new(name, logical, nullable);
    // The default as SQL would spell it, as the MySQL source reads it.
    column.default = match field.get("default") {
        Some(Json::String(s)) => Some(format!("'{}'", s.replace('\'', "''"))),
        Some(Json::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Ok(column)
}

fn name_of(field: &Json) -> &str {
    field.get("field").and_then(Json::as_str).unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_versions_and_non_envelopes_are_refused_with_the_reason() {
        let mut decoder = DebeziumDecoder::default();
        let err = decoder.decode(None, Some(b"not json")).unwrap_err();
        assert!(err.contains("not JSON"), "{err}");
        let err = decoder.decode(None, Some(br#"{"a":1}"#)).unwrap_err();
        assert!(err.contains("no `op`"), "{err}");
        let v4 = br#"{"op":"c","source":{"version":"9.0.0","db":"d","table":"t"},"after":{}}"#;
        let err = decoder.decode(None, Some(v4)).unwrap_err();
        assert!(err.contains("version `9.0.0`"), "{err}");
        assert_eq!(decoder.decode(Some(b"{}"), None), Ok(Decoded::Skip));
    }

    #[test]
    fn a_repeated_schema_is_split_without_parsing_and_decodes_the_same() {
        let schema = r#"{"type":"struct","fields":[{"type":"struct","field":"after","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"s"}]}]}"#;
        let record = |payload: &str| format!(r#"{{"schema":{schema},"payload":{payload}}}"#);
        let payload = |id: i32, s: &str| {
            format!(
                r#"{{"op":"c","source":{{"version":"3.6.3.Final","db":"d","table":"t"}},"before":null,"after":{{"id":{id},"s":"{s}"}}}}"#
            )
        };
        let key = |id: i32| format!(r#"{{"id":{id}}}"#);
        let mut warm = DebeziumDecoder::default();
        warm.decode(
            Some(key(1).as_bytes()),
            Some(record(&payload(1, "a")).as_bytes()),
        )
        .unwrap();
        assert!(split_known(record(&payload(2, "b")).as_bytes(), &warm.recent).is_some());
        for value in [
            record(&payload(2, "b")),
            record(&payload(3, r#"x},{\"payload\":{"#)),
            // A further field after the payload: not the fast path's shape.
            format!(
                r#"{{"schema":{schema},"payload":{},"extra":1}}"#,
                payload(4, "d")
            ),
        ] {
            let id = if value.contains("\"extra\"") {
                4
            } else if value.contains("\"b\"") {
                2
            } else {
                3
            };
            let fresh = DebeziumDecoder::default()
                .decode(Some(key(id).as_bytes()), Some(value.as_bytes()))
                .unwrap();
            let Decoded::Change(_, fresh) = fresh else {
                panic!("{fresh:?}")
            };
            let Decoded::Change(None, known) = warm
                .decode(Some(key(id).as_bytes()), Some(value.as_bytes()))
                .unwrap()
            else {
                panic!("same table, same shape: no announcement")
            };
            assert_eq!(known.after, fresh.after, "{value}");
        }
    }

    #[test]
    fn a_key_without_schema_may_have_a_column_named_payload() {
        let value = br#"{"schema":{"type":"struct","fields":[{"type":"struct","field":"before","fields":[{"type":"int32","optional":false,"field":"payload"}]}]},
            "payload":{"op":"d","source":{"version":"3.6.3.Final","db":"d","table":"t"},"before":null,"after":null}}"#;
        let mut decoder = DebeziumDecoder::default();
        let Ok(Decoded::Change(Some(schema), change)) =
            decoder.decode(Some(br#"{"payload":7}"#), Some(value))
        else {
            panic!("a delete by key")
        };
        assert_eq!(schema.table.primary_key, ["payload"]);
        assert_eq!(change.before.as_deref(), Some(&[Value::Int(7)][..]));
    }

    #[test]
    fn a_keyed_table_refuses_a_record_without_a_key() {
        let value = br#"{"schema":{"type":"struct","fields":[{"type":"struct","field":"after","fields":[{"type":"int32","optional":false,"field":"id"}]}]},
            "payload":{"op":"c","source":{"version":"3.6.3.Final","db":"d","table":"t"},"before":null,"after":{"id":1}}}"#;
        let key = br#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}]},"payload":{"id":1}}"#;
        let mut decoder = DebeziumDecoder::default();
        let Ok(Decoded::Change(Some(schema), _)) = decoder.decode(Some(key), Some(value)) else {
            panic!("the first record announces its table");
        };
        assert_eq!(schema.table.primary_key, ["id"]);
        let err = decoder.decode(None, Some(value)).unwrap_err();
        assert!(
            err.contains("without a key") && err.contains("(id)"),
            "{err}"
        );
    }
}
