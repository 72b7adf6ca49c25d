//! The MySQL/MariaDB source's keys in a pipeline file.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::filter::TableFilter;

/// `source: { kind: mysql, … }`.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MysqlConfig {
    /// `mysql://user:password@host:port[/database]`. A secret: never
    /// logged, and only [redacted](redact_url) in messages and when the
    /// config is serialised (e.g. a printed plan).
    #[serde(serialize_with = "serialize_redacted")]
    pub url: String,
    /// The replica id this source registers with; unique among the
    /// server's replicas (two streams with one id kill each other).
    pub server_id: u32,
    /// `schema.table` patterns; `*` matches any run of characters and a
    /// leading `!` excludes. Tables created later that match are captured.
    pub tables: Vec<String>,
    /// Whether to copy the tables before streaming.
    #[serde(default)]
    pub snapshot: SnapshotMode,
    /// Rows per snapshot chunk (one transaction each), and the most row
    /// changes one `next_chunk` returns while streaming.
    #[serde(default = "default_chunk_rows")]
    pub chunk_rows: usize,
    /// Tables copied at once by the initial snapshot, each worker on its
    /// own connection and consistent snapshot.
    #[serde(default = "default_snapshot_workers")]
    pub snapshot_workers: usize,
    /// How often an idle server sends a heartbeat; also the longest
    /// `next_chunk` waits for an event.
    #[serde(default = "default_heartbeat_ms")]
    pub heartbeat_ms: u64,
    /// Lag in seconds beyond which `/ready` and `/api/status` warn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_alert_s: Option<u64>,
}

/// When to copy the tables' current rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotMode {
    /// Copy on the first run (no checkpoint), then stream.
    #[default]
    Initial,
    /// Never copy: stream from the binlog's current end.
    Never,
    /// Copy, record the handover position, and end.
    Only,
}

fn default_chunk_rows() -> usize {
    10_000
}

fn default_snapshot_workers() -> usize {
    2
}

fn default_heartbeat_ms() -> u64 {
    1_000
}

impl MysqlConfig {
    /// Checks what can be checked without a server.
    pub fn validate(&self) -> Result<(), String> {
        if self.server_id == 0 {
            return Err("server_id must not be 0: give each pipeline its own replica id".into());
        }
        if self.chunk_rows == 0 {
            return Err("chunk_rows must be at least 1".into());
        }
        if self.snapshot_workers == 0 {
            return Err("snapshot_workers must be at least 1".into());
        }
        if self.heartbeat_ms == 0 {
            return Err("heartbeat_ms must be at least 1".into());
        }
        if !self.url.starts_with("mysql://") {
            return Err(format!(
                "url `{}` must start with mysql://",
                redact_url(&self.url)
            ));
        }
        TableFilter::parse(&self.tables).map(drop)
    }
}

impl fmt::Debug for MysqlConfig {
    /// Redacts the password in `url`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlConfig")
            .field("url", &redact_url(&self.url))
            .field("server_id", &self.server_id)
            .field("tables", &self.tables)
            .field("snapshot", &self.snapshot)
            .field("chunk_rows", &self.chunk_rows)
            .field("snapshot_workers", &self.snapshot_workers)
            .field("heartbeat_ms", &self.heartbeat_ms)
            .field("lag_alert_s", &self.lag_alert_s)
            .finish()
    }
}

fn serialize_redacted<S: serde::Serializer>(url: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&redact_url(url))
}

/// `mysql://user:***@host:3306/db`: the password replaced, the rest kept so
/// that messages still say which server.
/// Text that is not a URL at all is hidden whole: it may be a password.
pub fn redact_url(url: &str) -> String {
    if !url.contains("://") {
        return "***".into();
    }
    watershed_events::redact_urls(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> Result<MysqlConfig, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn defaults_fill_in_and_validation_passes() {
        let config = config(
            r#"{"url":"mysql://u:p@127.0.0.1:3306","server_id":5401,"tables":["shop.*","!shop.tmp_*"]}"#,
        )
        .unwrap();
        assert_eq!(config.snapshot, SnapshotMode::Initial);
        assert_eq!(config.chunk_rows, 10_000);
        assert_eq!(config.snapshot_workers, 2);
        assert_eq!(config.heartbeat_ms, 1_000);
        config.validate().unwrap();
    }

    #[test]
    fn bad_configs_are_refused_with_the_reason() {
        let err = config(r#"{"url":"mysql://h","server_id":1,"tables":[],"chunk":5}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `chunk`"), "{err}");
        assert!(config(r#"{"url":"mysql://h","tables":[]}"#).is_err());
        let zero = config(r#"{"url":"mysql://h","server_id":0,"tables":["a.*"]}"#).unwrap();
        assert!(zero.validate().unwrap_err().contains("server_id"));
        let no_include = config(r#"{"url":"mysql://h","server_id":1,"tables":["!a.b"]}"#).unwrap();
        assert!(no_include.validate().is_err());
        let mode =
            config(r#"{"url":"mysql://h","server_id":1,"tables":["a.*"],"snapshot":"always"}"#);
        assert!(mode.is_err());
    }

    #[test]
    fn passwords_never_show() {
        let config =
            config(r#"{"url":"mysql://app:s3cr@t@db:3306/shop","server_id":1,"tables":["a.*"]}"#)
                .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cr"), "{debug}");
        let json = serde_json::to_string(&config).unwrap();
        assert!(!json.contains("s3cr"), "{json}");
        assert!(debug.contains("mysql://app:***@db:3306/shop"), "{debug}");
        assert_eq!(redact_url("mysql://db:3306"), "mysql://db:3306");
        assert_eq!(redact_url("garbage"), "***");
    }
}
