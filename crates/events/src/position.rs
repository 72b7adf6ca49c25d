//! Source positions: where in a source's history a transaction committed.
//! Typed per source, serialised as JSON into checkpoints.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::control::TableControl;

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
    /// A MySQL/MariaDB binlog position: just after a transaction.
    MysqlFile(MysqlBinlogPosition),
    /// A MySQL or MariaDB GTID set, as the server spells it; resumes after
    /// the last transaction it contains.
    MysqlGtid { gtid_set: String },
    /// An initial snapshot in progress (see [`MysqlSnapshotProgress`]).
    MysqlSnapshot(MysqlSnapshotProgress),
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
            Position::MysqlFile(binlog) => binlog.fmt(f),
            Position::MysqlGtid { gtid_set } => write!(f, "gtid:{gtid_set}"),
            Position::MysqlSnapshot(progress) => progress.fmt(f),
            Position::PgLsn { lsn } => write!(f, "{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff),
            Position::KafkaOffsets { offsets } => {
                let parts: Vec<String> = offsets.iter().map(|(k, v)| format!("{k}@{v}")).collect();
                write!(f, "kafka:{}", parts.join(","))
            }
        }
    }
}

/// Where in a MySQL/MariaDB binlog a transaction ended, and the state of
/// the stream's per-table control at that point.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MysqlBinlogPosition {
    /// Binlog file name, e.g. `mysql-bin.000003`.
    pub file: String,
    /// Offset just after the transaction's last event.
    pub offset: u64,
    /// MariaDB GTID state at that point (`domain-server-seq[,…]`), when
    /// known. Resuming prefers it: it survives binlog file renames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtid_set: Option<String>,
    /// Captured tables that are not applied live, by `schema.table`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tables: BTreeMap<String, TableControl>,
    /// The `tables` filter the stream ran with. Opening with a filter that
    /// captures more re-copies just the tables it adds; empty: unknown.
    /// Shared: every commit's position carries it.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub filter: Arc<[String]>,
}

fn is_empty(list: &Arc<[String]>) -> bool {
    list.is_empty()
}

impl MysqlBinlogPosition {
    /// The binlog coordinates alone, without the control state.
    pub fn at(file: &str, offset: u64, gtid_set: Option<String>) -> Self {
        Self {
            file: file.to_owned(),
            offset,
            gtid_set,
            ..Self::default()
        }
    }
}

impl fmt::Display for MysqlBinlogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.offset)?;
        if let Some(gtid_set) = &self.gtid_set {
            write!(f, " (gtid {gtid_set})")?;
        }
        for (table, control) in &self.tables {
            write!(f, " [{table} {}]", control.name())?;
        }
        Ok(())
    }
}

/// How far an initial MySQL/MariaDB snapshot got.
///
/// Tables are copied several at once, each worker in a consistent snapshot
/// of its own, opened at or after the first. Resuming opens new snapshots
/// and copies on from the row after each `copying` table's last key, then
/// the tables not yet started. Streaming later starts at `handover`, the
/// binlog position of the *first* snapshot, so every change made since
/// then is replayed over the copied rows, including rows copied from later
/// snapshots. The sink applies
/// changes as keyed upserts and deletes, so replaying a change whose effect
/// a row already shows leaves the row as it is: the target converges to
/// the source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MysqlSnapshotProgress {
    /// Where streaming starts once the copy is complete.
    pub handover: MysqlBinlogPosition,
    /// Tables copied completely (`schema.table`).
    #[serde(default)]
    pub tables_done: Vec<String>,
    /// Tables partly copied, with the primary key of the last row copied,
    /// in key order.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub copying: BTreeMap<String, Vec<MysqlKeyValue>>,
}

impl fmt::Display for MysqlSnapshotProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "snapshot ({} tables done", self.tables_done.len())?;
        if !self.copying.is_empty() {
            let copying: Vec<&str> = self.copying.keys().map(String::as_str).collect();
            write!(f, ", copying {}", copying.join(", "))?;
        }
        write!(f, "), then {}", self.handover)
    }
}

/// One primary-key value as a snapshot checkpoint keeps it: exact, and
/// usable as a query parameter that compares the way `ORDER BY` sorts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum MysqlKeyValue {
    /// Signed integers and years.
    Int(i64),
    /// Unsigned integers, and enum indexes, set masks and bits, which MySQL
    /// sorts by number.
    UInt(u64),
    /// Text, and what MySQL compares correctly as text: decimals, floats,
    /// dates and times.
    Text(String),
    /// Binary strings, hex in JSON.
    Bytes(#[serde(with = "hex_bytes")] Vec<u8>),
}

/// Binary key values as lowercase hex strings, so checkpoints stay readable.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        serializer.serialize_str(&hex)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let hex = String::deserialize(deserializer)?;
        if hex.len() % 2 != 0 {
            return Err(serde::de::Error::custom("odd number of hex digits"));
        }
        (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| serde::de::Error::custom("invalid hex digit"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_through_json() {
        let positions = [
            Position::Generator { next_index: 42 },
            Position::MysqlFile(MysqlBinlogPosition {
                file: "mysql-bin.000003".into(),
                offset: 1234,
                ..MysqlBinlogPosition::default()
            }),
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

    fn handover() -> MysqlBinlogPosition {
        MysqlBinlogPosition {
            file: "mysql-bin.000007".into(),
            offset: 4711,
            gtid_set: Some("0-1-30,1-2-5".into()),
            ..MysqlBinlogPosition::default()
        }
    }

    #[test]
    fn mysql_positions_round_trip_through_json() {
        let positions = [
            Position::MysqlFile(handover()),
            Position::MysqlGtid {
                gtid_set: "0-1-30".into(),
            },
            Position::MysqlSnapshot(MysqlSnapshotProgress {
                handover: handover(),
                tables_done: vec!["shop.customers".into()],
                copying: BTreeMap::from([(
                    "shop.orders".to_owned(),
                    vec![
                        MysqlKeyValue::Int(-5),
                        MysqlKeyValue::UInt(u64::MAX),
                        MysqlKeyValue::Text("2024-01-01 00:00:00.000001".into()),
                        MysqlKeyValue::Bytes(vec![0, 1, 0xfe, 0xff]),
                    ],
                )]),
            }),
            Position::MysqlSnapshot(MysqlSnapshotProgress {
                handover: handover(),
                tables_done: vec![],
                copying: BTreeMap::new(),
            }),
        ];
        for position in positions {
            let json = position.to_json();
            assert_eq!(Position::from_json(&json).unwrap(), position, "{json}");
        }
    }

    #[test]
    fn mysql_positions_read_older_and_readable_json() {
        let old =
            Position::from_json(r#"{"kind":"mysql_file","file":"mysql-bin.000003","offset":1234}"#)
                .unwrap();
        assert_eq!(old.to_string(), "mysql-bin.000003:1234");
        let json = Position::MysqlSnapshot(MysqlSnapshotProgress {
            handover: handover(),
            tables_done: vec![],
            copying: BTreeMap::from([(
                "shop.blobs".to_owned(),
                vec![MysqlKeyValue::Bytes(vec![0xab, 0x00])],
            )]),
        })
        .to_json();
        assert!(json.contains(r#"{"t":"bytes","v":"ab00"}"#), "{json}");
        assert!(json.contains(r#""kind":"mysql_snapshot""#), "{json}");
        assert_eq!(
            Position::MysqlFile(handover()).to_string(),
            "mysql-bin.000007:4711 (gtid 0-1-30,1-2-5)"
        );
        let bad_hex = r#"{"kind":"mysql_snapshot","handover":{"file":"f","offset":4},"copying":{"a.b":[{"t":"bytes","v":"abc"}]}}"#;
        assert!(Position::from_json(bad_hex).is_err());
    }
}
