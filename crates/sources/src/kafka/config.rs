//! The kafka source's keys in a pipeline file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `source: { kind: kafka, brokers: "127.0.0.1:9092", group: dwh, topics: ["shop.shop.*"], format: debezium }`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSourceConfig {
    /// `bootstrap.servers`: comma-separated `host:port`.
    pub brokers: String,
    /// The consumer group: processes with the same group share the
    /// partitions.
    pub group: String,
    /// Topic names, or patterns with `*` (any run of characters).
    pub topics: Vec<String>,
    #[serde(default)]
    pub format: SourceFormat,
    /// Where a partition without a stored offset starts.
    #[serde(default)]
    pub start: Start,
    /// `format: json`: the target table (default: the topic's name after
    /// its last `.`).
    #[serde(default)]
    pub table: Option<String>,
    /// `format: json`: the columns, `name: type` with DBML/SQL type names.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// `format: json`: the key columns (also the record key's fields).
    #[serde(default)]
    pub key: Vec<String>,
    /// `format: json`: a DBML file declaring the table instead of
    /// `columns` (its table named by `table`).
    #[serde(default)]
    pub dbml: Option<PathBuf>,
    /// `format: json`: conditions every record must meet, e.g.
    /// `heart_rate between 20 and 250`, `ts <= now()`; a record that fails
    /// one goes to the dead letters with the condition.
    #[serde(default)]
    pub validate: Vec<String>,
    /// What a record that cannot be applied does.
    #[serde(default)]
    pub on_error: OnError,
    /// Most records per chunk (one source transaction).
    #[serde(default = "default_chunk")]
    pub max_chunk: usize,
    /// Further librdkafka settings (`security.protocol`, `sasl.*`, …);
    /// secret values are never printed.
    #[serde(default, serialize_with = "watershed_events::serialize_redacted")]
    pub properties: BTreeMap<String, String>,
}

/// `format:` of the records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// Debezium change events (JsonConverter, with or without schemas).
    #[default]
    Debezium,
    /// Plain JSON objects, one row each, upserted by key.
    Json,
}

/// `start:`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    #[default]
    Earliest,
    Latest,
}

/// `on_error:`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Record it in the dead letters and go on.
    #[default]
    DeadLetter,
    /// Stop the pipeline at the record (its offset is not committed).
    Stop,
}

fn default_chunk() -> usize {
    5_000
}

impl KafkaSourceConfig {
    pub fn new(brokers: impl Into<String>, group: impl Into<String>, topics: Vec<String>) -> Self {
        Self {
            brokers: brokers.into(),
            group: group.into(),
            topics,
            format: SourceFormat::default(),
            start: Start::default(),
            table: None,
            columns: BTreeMap::new(),
            key: Vec::new(),
            dbml: None,
            validate: Vec::new(),
            on_error: OnError::default(),
            max_chunk: default_chunk(),
            properties: BTreeMap::new(),
        }
    }

    /// Problems no broker needs to see, naming their key.
    pub fn validate(&self) -> Result<(), String> {
        if self.brokers.trim().is_empty() {
            return Err("source.brokers: empty; give host:port[,host:port…]".into());
        }
        if self.group.trim().is_empty() {
            return Err("source.group: empty; name the consumer group".into());
        }
        if self.topics.is_empty() {
            return Err("source.topics: give at least one topic name or pattern".into());
        }
        if self.max_chunk == 0 {
            return Err("source.max_chunk: must be at least 1".into());
        }
        match self.format {
            SourceFormat::Json => {
                if self.columns.is_empty() && self.dbml.is_none() {
                    return Err(
                        "source.columns: format json needs the columns (name: type) or a dbml file"
                            .into(),
                    );
                }
                if self.dbml.is_some() && self.table.is_none() {
                    return Err("source.table: name the DBML table to read records into".into());
                }
                if let Some(missing) = self
                    .key
                    .iter()
                    .find(|k| self.dbml.is_none() && !self.columns.contains_key(*k))
                {
                    return Err(format!(
                        "source.key: `{missing}` is not among source.columns"
                    ));
                }
            }
            SourceFormat::Debezium => {
                let json_only = !self.columns.is_empty()
                    || !self.key.is_empty()
                    || self.dbml.is_some()
                    || !self.validate.is_empty();
                if json_only {
                    return Err(
                        "source.columns, key, dbml and validate apply to format json only; \
                         Debezium records carry their schema"
                            .into(),
                    );
                }
            }
        }
        Ok(())
    }

    /// `format: json`: the tables its records become, known without a
    /// broker when `table` is set or every topic is named in full; `None`
    /// otherwise (and for Debezium records, which carry their schema).
    pub fn declared_tables(&self) -> Option<Result<Vec<watershed_events::TableSchema>, String>> {
        if self.format != SourceFormat::Json {
            return None;
        }
        let names: Vec<&str> = match &self.table {
            Some(table) => vec![table.as_str()],
            None if self.topics.iter().any(|t| t.contains('*')) => return None,
            None => self
                .topics
                .iter()
                .map(|topic| topic.rsplit('.').next().unwrap_or(topic))
                .collect(),
        };
        let tables = names
            .into_iter()
            .map(|name| {
                super::json::JsonDecoder::new(self, name).map(|d| d.table().as_ref().clone())
            })
            .collect();
        Some(tables)
    }

    /// librdkafka's subscription: names as they are, `*` patterns as
    /// anchored regular expressions.
    pub(crate) fn subscription(&self) -> Vec<String> {
        self.topics
            .iter()
            .map(|topic| {
                if topic.contains('*') {
                    let mut regex = String::from("^");
                    for c in topic.chars() {
                        match c {
                            '*' => regex.push_str(".*"),
                            c if c.is_ascii_alphanumeric() || c == '_' || c == '-' => regex.push(c),
                            c => {
                                regex.push('\\');
                                regex.push(c);
                            }
                        }
                    }
                    regex.push('$');
                    regex
                } else {
                    topic.clone()
                }
            })
            .collect()
    }

    /// The broker list as it may be logged.
    pub fn describe(&self) -> String {
        watershed_events::redact_urls(&self.brokers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_become_anchored_regexes() {
        let config =
            KafkaSourceConfig::new("b:9092", "g", vec!["shop.shop.*".into(), "plain".into()]);
        assert_eq!(config.subscription(), ["^shop\\.shop\\..*$", "plain"]);
    }

    #[test]
    fn json_needs_columns_and_debezium_refuses_them() {
        let mut config = KafkaSourceConfig::new("b:9092", "g", vec!["t".into()]);
        config.format = SourceFormat::Json;
        assert!(config.validate().unwrap_err().contains("source.columns"));
        config.columns.insert("id".into(), "bigint".into());
        config.key = vec!["nope".into()];
        assert!(config.validate().unwrap_err().contains("source.key"));
        config.key = vec!["id".into()];
        assert_eq!(config.validate(), Ok(()));
        config.format = SourceFormat::Debezium;
        assert!(config.validate().unwrap_err().contains("format json only"));
    }
}
