//! Per-table control: the states a captured table can be in besides
//! "applied live", and the requests that move it between them. A source
//! keeps the states in its position, so they become durable in the sink's
//! checkpoint together with the data they describe.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::position::MysqlKeyValue;

/// A captured table that is not applied live.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TableControl {
    /// `watershed table pause`: its changes are skipped. Resuming re-copies
    /// the table, since the changes skipped meanwhile are gone.
    Paused,
    /// The sink rejected its changes (`on_table_error: isolate`) or a
    /// schema change was quarantined; its changes are skipped until a
    /// resync or resume.
    Isolated { reason: String },
    /// Being re-copied in key order while streaming continues; the rows up
    /// to `last_key` are in the target (`None`: none yet).
    Resyncing {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_key: Option<Vec<MysqlKeyValue>>,
    },
}

impl TableControl {
    /// The state's name as metrics, status and `check` show it.
    pub fn name(&self) -> &'static str {
        match self {
            TableControl::Paused => "paused",
            TableControl::Isolated { .. } => "isolated",
            TableControl::Resyncing { .. } => "resyncing",
        }
    }

    /// True when the table's changes are skipped.
    pub fn skips_changes(&self) -> bool {
        !matches!(self, TableControl::Resyncing { .. })
    }
}

impl fmt::Display for TableControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableControl::Isolated { reason } => write!(f, "isolated: {reason}"),
            other => f.write_str(other.name()),
        }
    }
}

/// What is asked of one table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TableAction {
    Pause,
    /// Applies the table again; re-copies it when changes were skipped.
    Resume,
    /// Re-copies the table while streaming continues.
    Resync,
    /// Skips the table's changes from now on, for `reason`.
    Isolate {
        reason: String,
    },
}

impl TableAction {
    /// Parses the word the CLI and HTTP API use (`pause`, `resume`, `resync`).
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "pause" => Some(TableAction::Pause),
            "resume" => Some(TableAction::Resume),
            "resync" => Some(TableAction::Resync),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            TableAction::Pause => "pause",
            TableAction::Resume => "resume",
            TableAction::Resync => "resync",
            TableAction::Isolate { .. } => "isolate",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_states_round_trip_through_json() {
        for control in [
            TableControl::Paused,
            TableControl::Isolated {
                reason: "column x: value too long".into(),
            },
            TableControl::Resyncing { last_key: None },
            TableControl::Resyncing {
                last_key: Some(vec![MysqlKeyValue::Int(7)]),
            },
        ] {
            let json = serde_json::to_string(&control).unwrap();
            assert_eq!(
                serde_json::from_str::<TableControl>(&json).unwrap(),
                control
            );
        }
        assert!(!TableControl::Resyncing { last_key: None }.skips_changes());
        assert!(TableControl::Paused.skips_changes());
    }

    #[test]
    fn actions_parse_from_their_command_words() {
        assert_eq!(TableAction::parse("pause"), Some(TableAction::Pause));
        assert_eq!(
            TableAction::parse("resync").map(|a| a.name()),
            Some("resync")
        );
        assert_eq!(TableAction::parse("drop"), None);
    }
}
