//! Consumer-group offsets in a sink's checkpoint. Several processes of one
//! pipeline each hold some partitions of the same topics; they share one
//! checkpoint row, a map of `topic/partition` to the next offset. A
//! member's commit merges its partitions into the row (read under a lock
//! in the same transaction as its rows), and is refused when another member
//! moved one of those partitions since this member last knew it: the
//! partition changed hands, and the batch is replayed from the row rather
//! than applied twice.

use std::collections::BTreeMap;

use watershed_events::Position;

use crate::sink::SinkError;

/// What this member last knew of the partitions it commits.
#[derive(Debug, Default)]
pub(crate) struct OffsetFence {
    known: BTreeMap<String, i64>,
}

impl OffsetFence {
    /// The sink opened and read `stored`.
    pub(crate) fn opened(&mut self, stored: Option<&Position>) {
        self.known = match stored {
            Some(Position::KafkaOffsets { offsets }) => offsets.clone(),
            _ => BTreeMap::new(),
        };
    }

    /// The checkpoint to write: `stored` (as the sink holds it now, read
    /// under a lock) with `ours` merged in. `ours` that is not a set of
    /// offsets is written as it is.
    pub(crate) fn merge(
        &mut self,
        stored: Option<Position>,
        ours: &Position,
    ) -> Result<Position, SinkError> {
        let Position::KafkaOffsets { offsets: ours } = ours else {
            return Ok(ours.clone());
        };
        let mut merged = match stored {
            Some(Position::KafkaOffsets { offsets }) => offsets,
            _ => BTreeMap::new(),
        };
        for (partition, next) in ours {
            let now = merged.get(partition);
            if now != self.known.get(partition) && now != Some(next) {
                return Err(SinkError::Conflict(format!(
                    "partition {partition} was applied up to offset {} by another member of the \
                     group since this one read it (at {}); replaying from the stored offsets",
                    now.map_or("none".into(), i64::to_string),
                    self.known
                        .get(partition)
                        .map_or("none".into(), i64::to_string),
                )));
            }
            merged.insert(partition.clone(), *next);
        }
        self.known.extend(ours.iter().map(|(k, v)| (k.clone(), *v)));
        Ok(Position::KafkaOffsets { offsets: merged })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(pairs: &[(&str, i64)]) -> Position {
        Position::KafkaOffsets {
            offsets: pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        }
    }

    #[test]
    fn members_merge_their_partitions_and_a_moved_partition_is_refused() {
        let mut a = OffsetFence::default();
        let mut b = OffsetFence::default();
        a.opened(None);
        b.opened(None);
        let row = a.merge(None, &offsets(&[("t/0", 10)])).unwrap();
        let row = b.merge(Some(row), &offsets(&[("t/1", 5)])).unwrap();
        assert_eq!(row, offsets(&[("t/0", 10), ("t/1", 5)]));
        // t/1 moves to a, which opened before b's commit: refused.
        let err = a.merge(Some(row.clone()), &offsets(&[("t/0", 12), ("t/1", 7)]));
        assert!(matches!(err, Err(SinkError::Conflict(_))), "{err:?}");
        // After a replay (re-open) it goes through.
        a.opened(Some(&row));
        let row = a
            .merge(Some(row), &offsets(&[("t/0", 12), ("t/1", 7)]))
            .unwrap();
        assert_eq!(row, offsets(&[("t/0", 12), ("t/1", 7)]));
    }
}
