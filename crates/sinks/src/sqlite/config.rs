//! The sqlite sink's keys in a pipeline file.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `sink: { kind: sqlite, path: ./hb.db }`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SqliteConfig {
    /// The database file; created when missing (its folder must exist).
    pub path: PathBuf,
}
