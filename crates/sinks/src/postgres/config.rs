//! The postgres sink's keys in a pipeline file, and what is derived from
//! them without I/O: target table names and a password-free description of
//! the server.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use watershed_events::TableName;

use super::error::PostgresError;
use crate::sink::SinkError;

/// How long one connection attempt may take when the URL does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `sink: { kind: postgres, url: postgres://user:pass@host/db, schema: raw }`.
#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// libpq-style URL or key=value string. Never logged, never in an
    /// error: its password would go with it.
    pub url: String,
    /// The target schema; created when missing.
    #[serde(default = "default_schema")]
    pub schema: String,
    /// Target table name template: `{schema}` is the source schema (MySQL
    /// database), `{table}` the source table. Default `{table}`.
    #[serde(default = "default_table_name")]
    pub table_name: String,
    /// Adds `_ws_op text`, `_ws_position text` and `_ws_committed_at
    /// timestamptz` to every target table, set from each row's last change.
    #[serde(default)]
    pub metadata_columns: bool,
    /// What a source delete does to the target row.
    #[serde(default)]
    pub deletes: DeleteMode,
    /// MySQL zero dates (`0000-00-00`, a zero month or day) have no
    /// PostgreSQL form: `null` (the default) writes NULL in nullable
    /// columns; a date (`"0001-01-01"`) is written instead, in any column,
    /// keeping a datetime's time of day. Either way they are counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zero_dates: Option<String>,
}

/// `deletes: hard | soft`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteMode {
    /// The row is deleted.
    #[default]
    Hard,
    /// The row stays; `_ws_deleted_at timestamptz` is set to the commit
    /// time of the delete (a later re-insert clears it again).
    Soft,
}

fn default_schema() -> String {
    "public".into()
}

fn default_table_name() -> String {
    "{table}".into()
}

impl PostgresConfig {
    /// A config with every key at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: default_schema(),
            table_name: default_table_name(),
            metadata_columns: false,
            deletes: DeleteMode::default(),
            zero_dates: None,
        }
    }

    /// The date written for a zero date, if one is configured; the error
    /// names the key.
    pub fn zero_date_substitute(&self) -> Result<Option<watershed_events::Date>, String> {
        match self.zero_dates.as_deref() {
            None | Some("null") => Ok(None),
            Some(text) => match watershed_events::Date::parse(text) {
                Ok(date) if date.month != 0 && date.day != 0 => Ok(Some(date)),
                _ => Err(format!(
                    "sink.zero_dates: `{text}` is neither null nor a date like 0001-01-01"
                )),
            },
        }
    }

    /// The target table for a source table: the template with `{schema}`
    /// and `{table}` filled in.
    pub fn target_table(&self, source: &TableName) -> String {
        self.table_name
            .replace("{schema}", source.schema.as_deref().unwrap_or(""))
            .replace("{table}", &source.name)
    }

    /// The parsed connection settings, with a connect timeout when the URL
    /// sets none. A parse error never repeats the URL.
    pub(crate) fn connection(&self) -> Result<tokio_postgres::Config, SinkError> {
        let mut config =
            tokio_postgres::Config::from_str(&self.url).map_err(|source| SinkError::Postgres {
                context: "parse the sink url".into(),
                source: PostgresError::new(source),
            })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            // Lets an operator find the sink in pg_stat_activity.
            config.application_name("watershed");
        }
        Ok(config)
    }
}

/// Debug without the URL: configs end up in logs and panics.
impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &"<redacted>")
            .field("schema", &self.schema)
            .field("table_name", &self.table_name)
            .field("metadata_columns", &self.metadata_columns)
            .field("deletes", &self.deletes)
            .finish()
    }
}

/// `user@host:port/database`, for messages: everything but the password.
pub(crate) fn describe(config: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|host| match host {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{}:{port}/{}",
        config.get_user().unwrap_or("?"),
        hosts.join(","),
        config.get_dbname().unwrap_or("?")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_defaults_and_unknown_keys_are_refused() {
        let config: PostgresConfig =
            serde_json::from_str(r#"{"url": "postgres://u@h/d"}"#).unwrap();
        assert_eq!(config, PostgresConfig::new("postgres://u@h/d"));
        assert_eq!(config.schema, "public");
        assert_eq!(config.deletes, DeleteMode::Hard);
        let soft: PostgresConfig = serde_json::from_str(
            r#"{"url": "x", "schema": "raw", "deletes": "soft", "metadata_columns": true}"#,
        )
        .unwrap();
        assert_eq!(soft.deletes, DeleteMode::Soft);
        assert!(serde_json::from_str::<PostgresConfig>(r#"{"url": "x", "tabel": "y"}"#).is_err());
    }

    #[test]
    fn table_name_template_fills_schema_and_table() {
        let mut config = PostgresConfig::new("postgres://u@h/d");
        let source = TableName::parse("shop.orders");
        assert_eq!(config.target_table(&source), "orders");
        config.table_name = "{schema}_{table}".into();
        assert_eq!(config.target_table(&source), "shop_orders");
        assert_eq!(config.target_table(&TableName::parse("hb")), "_hb");
    }

    #[test]
    fn descriptions_and_debug_leave_the_password_out() {
        let config = PostgresConfig::new("postgres://app:s3cret@db.local:6543/dwh");
        let described = describe(&config.connection().unwrap());
        assert_eq!(described, "app@db.local:6543/dwh");
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn unparsable_urls_are_reported_without_the_url() {
        let config = PostgresConfig::new("postgres://app:s3cret@db:notaport/dwh");
        let message = config.connection().unwrap_err().to_string();
        assert!(!message.contains("s3cret"), "{message}");
    }
}
