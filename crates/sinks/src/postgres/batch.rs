//! One write call's events, organised for applying: each table's changes
//! gathered into a [`Pending`] reduction, and each transaction's commit
//! position and time looked up once for the metadata columns.

use std::sync::Arc;

use watershed_events::{Change, Event, TableSchema};

use super::copy::TxInfo;
use super::reduce::Reduced;
use crate::sink::SinkError;

/// One table's changes in the current write, not yet applied.
pub(crate) struct Pending<'a> {
    pub schema: &'a Arc<TableSchema>,
    pub key: Vec<usize>,
    pub reduced: Reduced<'a>,
}

impl<'a> Pending<'a> {
    pub(crate) fn push(&mut self, change: &'a Change, tx: u32) -> Result<(), SinkError> {
        let pushed = if self.key.is_empty() {
            self.reduced.push_keyless(change, tx)
        } else {
            self.reduced.push_keyed(change, &self.key, tx)
        };
        pushed.map_err(|missing| {
            SinkError::Refused(format!(
                "{} on {}: the change has no row image",
                missing.0.as_str(),
                change.table.name
            ))
        })
    }
}

/// Each transaction's position and commit time, indexed by how many
/// commits precede it; the last entry is the transaction still open at
/// the end of `events`.
pub(crate) fn transactions(events: &[Event]) -> Vec<TxInfo> {
    let mut txs = Vec::new();
    let mut begun_at = None;
    for event in events {
        match event {
            Event::Begin(begin) => begun_at = begin.commit_time,
            Event::Commit(commit) => {
                txs.push(TxInfo {
                    position: Some(commit.position.to_string()),
                    commit_time: Some(commit.commit_time),
                });
                begun_at = None;
            }
            Event::Change(_) | Event::Schema(_) | Event::DeadLetter(_) | Event::State(_) => {}
        }
    }
    txs.push(TxInfo {
        position: None,
        commit_time: begun_at,
    });
    txs
}

#[cfg(test)]
mod tests {
    use watershed_events::{Position, Timestamp, TxBegin, TxCommit};

    use super::*;

    #[test]
    fn each_change_finds_its_commit_and_the_open_tail_has_none() {
        let commit = |next_index| {
            Event::Commit(TxCommit {
                position: Position::Generator { next_index },
                commit_time: Timestamp::from_micros(next_index as i64),
            })
        };
        let begin = |at: Option<i64>| {
            Event::Begin(TxBegin {
                commit_time: at.map(Timestamp::from_micros),
            })
        };
        let events = [
            begin(None),
            commit(1),
            begin(None),
            commit(2),
            begin(Some(9)),
        ];
        let txs = transactions(&events);
        let positions: Vec<Option<&str>> = txs.iter().map(|t| t.position.as_deref()).collect();
        assert_eq!(
            positions,
            vec![Some("generator:1"), Some("generator:2"), None]
        );
        assert_eq!(txs[2].commit_time, Some(Timestamp::from_micros(9)));
    }
}
