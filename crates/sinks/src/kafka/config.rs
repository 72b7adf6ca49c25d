//! The kafka sink's keys in a pipeline file, and what is derived from them
//! without I/O: topic names, the producer's librdkafka settings, and a
//! description of the brokers safe to log.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use watershed_events::TableName;

use super::connect::{BinaryHandling, DecimalHandling, Encoding, TimePrecision};
use super::envelope::EnvelopeOptions;

/// `sink: { kind: kafka, brokers: "127.0.0.1:9092", topic_prefix: shop, format: debezium }`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSinkConfig {
    /// `bootstrap.servers`: comma-separated `host:port`.
    pub brokers: String,
    /// Debezium's `topic.prefix` (the logical server name).
    pub topic_prefix: String,
    #[serde(default)]
    pub format: KafkaFormat,
    /// Topic name template: `{prefix}`, `{db}` (MySQL database) and
    /// `{table}`. Default `{prefix}.{db}.{table}`, Debezium's naming.
    #[serde(default = "default_topic")]
    pub topic: String,
    /// JsonConverter `schemas.enable`: each record carries its schema.
    #[serde(default = "yes")]
    pub schemas: bool,
    /// A tombstone (null value) after each delete, for log compaction.
    #[serde(default = "yes")]
    pub tombstones: bool,
    #[serde(default)]
    pub decimal_handling: DecimalHandling,
    #[serde(default)]
    pub time_precision: TimePrecision,
    #[serde(default)]
    pub binary_handling: BinaryHandling,
    /// Partitions and replication factor of topics created when missing.
    #[serde(default = "one")]
    pub partitions: i32,
    #[serde(default = "one")]
    pub replication: i32,
    /// Schema changes go to this topic (Debezium's schema change topic,
    /// `<topic_prefix>` by default); `""` turns them off.
    #[serde(default)]
    pub schema_topic: Option<String>,
    /// The compacted topic holding the pipeline's position, written in the
    /// same Kafka transaction as the records. One per pipeline by default:
    /// `_watershed_checkpoints.<pipeline>`.
    #[serde(default)]
    pub checkpoint_topic: Option<String>,
    /// Where records the source could not apply go, with the reason:
    /// `<topic_prefix>._dead_letters` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_topic: Option<String>,
    /// Records and position in one Kafka transaction (the default), for
    /// `read_committed` consumers. `false` for brokers without
    /// transactions: the position is written once the records before it
    /// are delivered, so a crash may repeat records (at least once), never
    /// lose them.
    #[serde(default = "yes")]
    pub exactly_once: bool,
    /// `compression.type`.
    #[serde(default)]
    pub compression: Compression,
    /// `linger.ms`: how long the producer waits to fill a batch.
    #[serde(default = "default_linger_ms")]
    pub linger_ms: u64,
    /// `batch.size` in bytes.
    #[serde(default = "default_batch_bytes")]
    pub batch_bytes: u64,
    /// Further librdkafka settings (`security.protocol`, `sasl.*`, …),
    /// passed through; values of keys naming a password or secret are
    /// never logged.
    #[serde(default, serialize_with = "watershed_events::serialize_redacted")]
    pub properties: BTreeMap<String, String>,
}

/// `format:` of the records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KafkaFormat {
    /// Debezium's MySQL connector envelope through the JsonConverter.
    #[default]
    Debezium,
}

/// `compression:`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    #[default]
    Lz4,
    Zstd,
}

impl Compression {
    fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

fn yes() -> bool {
    true
}

fn one() -> i32 {
    1
}

fn default_topic() -> String {
    "{prefix}.{db}.{table}".into()
}

fn default_linger_ms() -> u64 {
    20
}

fn default_batch_bytes() -> u64 {
    1 << 20
}

/// librdkafka keys whose values are secrets.
pub(crate) fn is_secret(key: &str) -> bool {
    watershed_events::is_secret_key(key)
}

impl KafkaSinkConfig {
    /// A config with every key but the two required ones at its default.
    pub fn new(brokers: impl Into<String>, topic_prefix: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            topic_prefix: topic_prefix.into(),
            format: KafkaFormat::default(),
            topic: default_topic(),
            schemas: true,
            tombstones: true,
            decimal_handling: DecimalHandling::default(),
            time_precision: TimePrecision::default(),
            binary_handling: BinaryHandling::default(),
            partitions: 1,
            replication: 1,
            schema_topic: None,
            checkpoint_topic: None,
            dead_letter_topic: None,
            exactly_once: true,
            compression: Compression::default(),
            linger_ms: default_linger_ms(),
            batch_bytes: default_batch_bytes(),
            properties: BTreeMap::new(),
        }
    }

    /// Problems a pipeline file can have that no broker needs to see.
    pub fn validate(&self) -> Result<(), String> {
        if self.brokers.trim().is_empty() {
            return Err("sink.brokers: empty; give host:port[,host:port…]".into());
        }
        if self.topic_prefix.is_empty()
            || !self
                .topic_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(format!(
                "sink.topic_prefix: `{}` is not a valid Kafka topic name part \
                 (letters, digits, `.`, `_`, `-`)",
                self.topic_prefix
            ));
        }
        if !self.topic.contains("{table}") {
            return Err(format!(
                "sink.topic: `{}` must contain {{table}}, or every table would share one topic",
                self.topic
            ));
        }
        if self.partitions < 1 || self.replication < 1 {
            return Err("sink.partitions and sink.replication must be at least 1".into());
        }
        Ok(())
    }

    /// The topic of `table`'s records.
    pub fn topic_for(&self, table: &TableName) -> String {
        self.topic
            .replace("{prefix}", &self.topic_prefix)
            .replace("{db}", table.schema.as_deref().unwrap_or(""))
            .replace("{table}", &table.name)
            .replace("..", ".")
    }

    /// Where schema changes go, if anywhere.
    pub fn schema_topic(&self) -> Option<String> {
        match &self.schema_topic {
            Some(topic) if topic.is_empty() => None,
            Some(topic) => Some(topic.clone()),
            None => Some(self.topic_prefix.clone()),
        }
    }

    pub fn checkpoint_topic(&self, pipeline: &str) -> String {
        self.checkpoint_topic
            .clone()
            .unwrap_or_else(|| format!("_watershed_checkpoints.{pipeline}"))
    }

    pub fn dead_letter_topic(&self) -> String {
        self.dead_letter_topic
            .clone()
            .unwrap_or_else(|| format!("{}._dead_letters", self.topic_prefix))
    }

    pub fn envelope(&self) -> EnvelopeOptions {
        EnvelopeOptions {
            topic_prefix: self.topic_prefix.clone(),
            schemas: self.schemas,
            tombstones: self.tombstones,
            encoding: Encoding {
                decimal: self.decimal_handling,
                time: self.time_precision,
                binary: self.binary_handling,
            },
        }
    }

    /// The transactional producer's settings. The transactional id is the
    /// pipeline's: a restarted process fences its predecessor.
    pub(crate) fn producer_settings(&self, pipeline: &str) -> BTreeMap<String, String> {
        let mut settings = self.common_settings();
        if self.exactly_once {
            settings
                .entry("transactional.id".into())
                .or_insert(format!("watershed-{pipeline}"));
        }
        for (key, value) in [
            ("enable.idempotence", "true".into()),
            ("acks", "all".into()),
            ("compression.type", self.compression.as_str().into()),
            ("linger.ms", self.linger_ms.to_string()),
            ("batch.size", self.batch_bytes.to_string()),
            // Java's partitioner: a key lands where Debezium would put it.
            ("partitioner", "murmur2_random".into()),
            ("transaction.timeout.ms", "60000".into()),
            // Two batches of records at most (20,000 × ~600 B each), not
            // librdkafka's 1 GiB default: memory stays flat.
            ("queue.buffering.max.kbytes", "32768".into()),
            // Topics are created with the configured partitions, never by
            // the broker's defaults on first use.
            ("allow.auto.create.topics", "false".into()),
        ] {
            settings.entry(key.into()).or_insert(value);
        }
        settings
    }

    /// Settings every client of these brokers shares.
    pub(crate) fn common_settings(&self) -> BTreeMap<String, String> {
        let mut settings = self.properties.clone();
        settings.insert("bootstrap.servers".into(), self.brokers.clone());
        settings
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
    fn topics_follow_debezium_naming_unless_templated() {
        let mut config = KafkaSinkConfig::new("b:9092", "shop");
        assert_eq!(
            config.topic_for(&TableName::parse("shop.orders")),
            "shop.shop.orders"
        );
        assert_eq!(config.topic_for(&TableName::parse("orders")), "shop.orders");
        config.topic = "cdc-{table}".into();
        assert_eq!(
            config.topic_for(&TableName::parse("shop.orders")),
            "cdc-orders"
        );
        assert_eq!(config.schema_topic().as_deref(), Some("shop"));
        config.schema_topic = Some(String::new());
        assert_eq!(config.schema_topic(), None);
        assert_eq!(config.checkpoint_topic("p1"), "_watershed_checkpoints.p1");
    }

    #[test]
    fn bad_keys_are_named() {
        let mut config = KafkaSinkConfig::new("b:9092", "sh op");
        assert!(config.validate().unwrap_err().contains("sink.topic_prefix"));
        config.topic_prefix = "shop".into();
        config.topic = "all".into();
        assert!(config.validate().unwrap_err().contains("sink.topic"));
        config.topic = default_topic();
        config.partitions = 0;
        assert!(config.validate().unwrap_err().contains("partitions"));
    }

    #[test]
    fn user_properties_win_but_secrets_are_recognised() {
        let mut config = KafkaSinkConfig::new("b:9092", "shop");
        config.properties.insert("acks".into(), "1".into());
        config.properties.insert("sasl.password".into(), "x".into());
        let settings = config.producer_settings("p");
        assert_eq!(settings["acks"], "1");
        assert_eq!(settings["transactional.id"], "watershed-p");
        assert!(is_secret("sasl.password") && !is_secret("acks"));
    }
}
