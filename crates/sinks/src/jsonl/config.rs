//! The jsonl sink's keys in a pipeline file.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `sink: { kind: jsonl, path: ./hb.jsonl }`; `path: "-"` writes to stdout.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JsonlConfig {
    pub path: PathBuf,
}

impl JsonlConfig {
    pub fn is_stdout(&self) -> bool {
        self.path.as_os_str() == "-"
    }
}
