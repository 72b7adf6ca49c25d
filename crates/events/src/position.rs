//! Source positions: where in a source's history a transaction committed.
//! Typed per source, serialised as JSON into checkpoints.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
#[error("unreadable checkpoint position `{text}`: {source}")]
pub struct PositionError {
    text: String,
    source: serde_json::Error,
}

/// A resumable point in a source's stream. Resuming at a position yields
/// exactly the transactions that committed after it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Position {
    /// The generator: the index of the next event to produce.
    Generator { next_index: u64 },
    /// A MySQL/MariaDB binlog file and the offset after the transaction.
    MysqlFile { file: String, offset: u64 },
    /// A MySQL or MariaDB GTID set, as the server spells it.
    MysqlGtid { gtid_set: String },
    /// A PostgreSQL WAL location (the commit's end LSN).
    PgLsn { lsn: u64 },
    /// Next offset to read per `topic/partition`.
    KafkaOffsets { offsets: BTreeMap<String, i64> },
}

impl Position {
    pub fn to_json(&self) -> String {
        // Serialising a plain enum of strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Self, PositionError> {
        serde_json::from_str(text).map_err(|source| PositionError {
            text: text.to_owned(),
            source,
        })
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Generator { next_index } => write!(f, "generator:{next_index}"),
            Position::MysqlFile { file, offset } => write!(f, "{file}:{offset}"),
            Position::MysqlGtid { gtid_set } => write!(f, "gtid:{gtid_set}"),
            Position::PgLsn { lsn } => write!(f, "{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff),
            Position::KafkaOffsets { offsets } => {
                let parts: Vec<String> = offsets.iter().map(|(k, v)| format!("{k}@{v}")).collect();
                write!(f, "kafka:{}", parts.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_through_json() {
        let positions = [
            Position::Generator { next_index: 42 },
            Position::MysqlFile {
                file: "mysql-bin.000003".into(),
                offset: 1234,
            },
            Position::PgLsn { lsn: 0x1_6B37_4D48 },
        ];
        for position in positions {
            assert_eq!(Position::from_json(&position.to_json()).unwrap(), position);
        }
        assert_eq!(
            Position::PgLsn { lsn: 0x1_6B37_4D48 }.to_string(),
            "1/6B374D48"
        );
        assert!(Position::from_json("{\"kind\":\"nope\"}").is_err());
    }
}
