//! Plain JSON records: one object per row, its fields the columns the
//! pipeline file declares (`columns:` with DBML/SQL type names, or a DBML
//! file), upserted by `key`. Records that miss a NOT NULL field, hold a
//! value the column cannot take, or fail a `validate` condition are
//! refused with the reason.

use std::sync::Arc;

use serde_json::{Map, Value as Json};
use watershed_events::{Change, LogicalType, TableName, TableSchema, Timestamp, Value};

use watershed_transforms::expr::{Compiled, EvalContext, Type, compile};

use super::config::KafkaSourceConfig;
use super::debezium_values::value_of;

/// Decodes one table's JSON records.
#[derive(Debug)]
pub(crate) struct JsonDecoder {
    table: Arc<TableSchema>,
    /// `validate:` conditions, in the pipeline's expression language.
    checks: Vec<Compiled>,
}

impl JsonDecoder {
    /// The table the config declares; the error names the key at fault.
    pub(crate) fn new(config: &KafkaSourceConfig, topic_table: &str) -> Result<Self, String> {
        let name = config
            .table
            .clone()
            .unwrap_or_else(|| topic_table.to_owned());
        let table = match &config.dbml {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("source.dbml: cannot read {}: {e}", path.display()))?;
                from_dbml(&path.display().to_string(), &text, &name)?
            }
            None => {
                let mut text = format!("Table \"{name}\" {{\n");
                for (column, kind) in &config.columns {
                    let pk = if config.key.contains(column) && config.key.len() == 1 {
                        " [pk]"
                    } else if config.key.contains(column) {
                        " [not null]"
                    } else {
                        ""
                    };
                    text.push_str(&format!("  \"{column}\" {kind}{pk}\n"));
                }
                if config.key.len() > 1 {
                    let quoted: Vec<String> =
                        config.key.iter().map(|k| format!("\"{k}\"")).collect();
                    text.push_str(&format!("  indexes {{ ({}) [pk] }}\n", quoted.join(", ")));
                }
                text.push_str("}\n");
                from_dbml("source.columns", &text, &name)?
            }
        };
        let checks = config
            .validate
            .iter()
            .map(|text| {
                let compiled =
                    compile(text, &table).map_err(|e| format!("source.validate: {e}"))?;
                if !matches!(compiled.ty(), Type::Bool | Type::Null) {
                    return Err(format!(
                        "source.validate: `{text}`: is {}, not a condition",
                        compiled.ty()
                    ));
                }
                Ok(compiled)
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self {
            table: Arc::new(table),
            checks,
        })
    }

    pub(crate) fn table(&self) -> &Arc<TableSchema> {
        &self.table
    }

    /// One record as an upsert of its row.
    pub(crate) fn decode(
        &self,
        value: Option<&[u8]>,
        now: Timestamp,
    ) -> Result<Option<Change>, String> {
        let Some(value) = value else { return Ok(None) };
        let json: Json =
            serde_json::from_slice(value).map_err(|e| format!("value is not JSON: {e}"))?;
        let Json::Object(object) = json else {
            return Err("value is not a JSON object".into());
        };
        let row = self.row(&object)?;
        let cx = EvalContext { now };
        for check in &self.checks {
            // Unknown (NULL) passes, as in a SQL CHECK.
            match check.test(&row, &cx) {
                Ok(Some(false)) => return Err(check.failure(&row, &self.table, |_| true)),
                Ok(_) => {}
                Err(error) => return Err(error.to_string()),
            }
        }
        Ok(Some(Change::insert(self.table.clone(), row)))
    }

    fn row(&self, object: &Map<String, Json>) -> Result<Vec<Value>, String> {
        self.table
            .columns
            .iter()
            .map(|column| {
                let json = object.get(&column.name).unwrap_or(&Json::Null);
                if json.is_null() {
                    return if column.nullable {
                        Ok(Value::Null)
                    } else {
                        Err(format!("field `{}` is missing (NOT NULL)", column.name))
                    };
                }
                plain_value(column, json)
            })
            .collect()
    }
}

fn from_dbml(file: &str, text: &str, table: &str) -> Result<TableSchema, String> {
    use watershed_schema::dbml;
    let doc = dbml::parse(file, text).map_err(|e| e.to_string())?;
    let found = doc
        .tables
        .iter()
        .find(|t| t.name.name == table)
        .ok_or_else(|| format!("{file}: no table `{table}`"))?;
    let mut schema = dbml::to_table_schema(&doc, found);
    schema.name = TableName::new(None, table);
    Ok(schema)
}

/// A value as plain JSON spells it: numbers, strings, RFC 3339 times,
/// decimals as numbers or strings.
fn plain_value(column: &watershed_events::Column, json: &Json) -> Result<Value, String> {
    let bad = || {
        format!(
            "field `{}`: `{json}` does not fit {:?}",
            column.name, column.logical_type
        )
    };
    use LogicalType as T;
    match (&column.logical_type, json) {
        (T::Timestamp { .. }, Json::String(s)) => Timestamp::parse_rfc3339(s)
            .map(Value::Timestamp)
            .map_err(|_| bad()),
        (T::DateTime { .. }, Json::String(s)) => watershed_events::DateTime::parse(s)
            .map(Value::DateTime)
            .map_err(|_| bad()),
        (T::Date, Json::String(s)) => watershed_events::Date::parse(s)
            .map(Value::Date)
            .map_err(|_| bad()),
        (T::Decimal { .. }, Json::Number(n)) => watershed_events::Decimal::parse(&n.to_string())
            .map(Value::Decimal)
            .map_err(|_| bad()),
        (T::Decimal { .. }, Json::String(s)) => watershed_events::Decimal::parse(s)
            .map(Value::Decimal)
            .map_err(|_| bad()),
        (T::Json, other) => Ok(Value::Json(Arc::from(other.to_string()))),
        (T::Int8 | T::Int16 | T::Int24 | T::Int32, Json::Number(n)) => {
            let v = n.as_i64().ok_or_else(bad)?;
            let bits = match column.logical_type {
                T::Int8 => 8,
                T::Int16 => 16,
                T::Int24 => 24,
                _ => 32,
            };
            let limit = 1i64 << (bits - 1);
            if (-limit..limit).contains(&v) {
                Ok(Value::Int(v))
            } else {
                Err(bad())
            }
        }
        _ => value_of(column, json).map_err(|_| bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::config::SourceFormat;

    fn heartbeats() -> JsonDecoder {
        let mut config = KafkaSourceConfig::new("b:1", "g", vec!["heartbeats".into()]);
        config.format = SourceFormat::Json;
        for (c, t) in [
            ("customer_id", "bigint"),
            ("ts", "timestamptz"),
            ("heart_rate", "int"),
        ] {
            config.columns.insert(c.into(), t.into());
        }
        config.key = vec!["customer_id".into(), "ts".into()];
        config.validate = vec!["heart_rate between 20 and 250".into(), "ts <= now()".into()];
        JsonDecoder::new(&config, "heartbeats").unwrap()
    }

    #[test]
    fn readings_are_checked_and_refusals_say_why() {
        let decoder = heartbeats();
        assert_eq!(decoder.table().primary_key, ["customer_id", "ts"]);
        let now = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let ok = br#"{"customer_id": 7, "ts": "2025-12-31T23:59:00Z", "heart_rate": 72}"#;
        let change = decoder.decode(Some(ok), now).unwrap().unwrap();
        assert_eq!(
            change.after.as_ref().unwrap()[decoder.table().column_index("heart_rate").unwrap()],
            Value::Int(72)
        );
        let cases: [(&[u8], &str); 5] = [
            (
                br#"{"customer_id": 7, "ts": "2025-12-31T23:59:00Z", "heart_rate": 300}"#,
                "fails `heart_rate between 20 and 250` (heart_rate = 300)",
            ),
            (
                br#"{"customer_id": 7, "ts": "2026-06-01T00:00:00Z", "heart_rate": 70}"#,
                "fails `ts <= now()`",
            ),
            (
                br#"{"customer_id": 7, "heart_rate": 70}"#,
                "field `ts` is missing",
            ),
            (
                br#"{"customer_id": "x", "ts": "2025-12-31T23:59:00Z", "heart_rate": 70}"#,
                "field `customer_id`",
            ),
            (b"{oops", "not JSON"),
        ];
        for (record, reason) in cases {
            let err = decoder.decode(Some(record), now).unwrap_err();
            assert!(err.contains(reason), "{err} should contain {reason}");
        }
    }

    #[test]
    fn bad_conditions_name_the_key() {
        let mut config = KafkaSourceConfig::new("b:1", "g", vec!["t".into()]);
        config.format = SourceFormat::Json;
        config.columns.insert("a".into(), "int".into());
        config.validate = vec!["b > 1".into()];
        let err = JsonDecoder::new(&config, "t").unwrap_err();
        assert!(
            err.contains("source.validate: `b > 1`: no column `b`"),
            "{err}"
        );
    }
}
