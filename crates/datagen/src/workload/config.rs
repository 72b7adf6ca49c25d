//! What a workload run is asked to do, and what it reports.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::DatagenError;

/// The share of each operation, in percent or any relative weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mix {
    pub insert: f64,
    pub update: f64,
    pub delete: f64,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            insert: 70.0,
            update: 20.0,
            delete: 10.0,
        }
    }
}

impl Mix {
    /// Parses `insert=70,update=20,delete=10` (missing operations: 0).
    pub fn parse(text: &str) -> Result<Self, DatagenError> {
        let mut mix = Mix {
            insert: 0.0,
            update: 0.0,
            delete: 0.0,
        };
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            let bad = || DatagenError::Invalid(format!("--mix: expected OP=WEIGHT, got `{part}`"));
            let (op, weight) = part.split_once('=').ok_or_else(bad)?;
            let weight: f64 = weight.trim().parse().map_err(|_| bad())?;
            if !(weight.is_finite() && weight >= 0.0) {
                return Err(bad());
            }
            match op.trim() {
                "insert" => mix.insert = weight,
                "update" => mix.update = weight,
                "delete" => mix.delete = weight,
                other => {
                    return Err(DatagenError::Invalid(format!(
                        "--mix: unknown operation `{other}`: use insert, update, delete"
                    )));
                }
            }
        }
        if mix.insert + mix.update + mix.delete <= 0.0 {
            return Err(DatagenError::Invalid("--mix: every weight is 0".into()));
        }
        Ok(mix)
    }
}

/// A workload run, resolved.
#[derive(Debug, Clone)]
pub struct WorkloadConfig {
    /// Statements per second.
    pub rate: f64,
    pub duration: Duration,
    pub mix: Mix,
    pub seed: u64,
    /// Only these tables (`table` or `schema.table`) get statements;
    /// empty: all.
    pub tables: Vec<String>,
}

/// The three operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    Insert,
    Update,
    Delete,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Insert => "insert",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkloadSummary {
    pub inserts: u64,
    pub updates: u64,
    pub deletes: u64,
    /// Statements the database refused.
    pub errors: u64,
    /// Errors by SQLSTATE or MySQL error code (and constraint, if known).
    pub error_kinds: BTreeMap<String, u64>,
    /// Draws that found nothing to do (no row to update, no childless row
    /// to delete, no unique value left); another operation ran instead.
    pub skipped: u64,
    pub seconds: f64,
}

impl WorkloadSummary {
    /// Statements that succeeded.
    pub fn statements(&self) -> u64 {
        self.inserts + self.updates + self.deletes
    }

    /// Successful statements per second.
    pub fn achieved_rate(&self) -> f64 {
        self.statements() as f64 / self.seconds.max(1e-9)
    }

    pub(crate) fn count(&mut self, op: Op) {
        match op {
            Op::Insert => self.inserts += 1,
            Op::Update => self.updates += 1,
            Op::Delete => self.deletes += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_parses_its_weights_and_rejects_unknown_operations() {
        let mix = Mix::parse("insert=70,update=20,delete=10").expect("parses");
        assert_eq!((mix.insert, mix.update, mix.delete), (70.0, 20.0, 10.0));
        assert_eq!(Mix::parse("insert=1").expect("parses").delete, 0.0);
        for bad in ["upsert=5", "insert", "insert=-1", "insert=0,update=0"] {
            assert!(Mix::parse(bad).is_err(), "{bad}");
        }
    }
}
