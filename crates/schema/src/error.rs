//! The crate's error type.

use std::path::PathBuf;

pub use crate::dbml::DbmlErrors;

/// What can go wrong reading or checking a schema.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The DBML file has syntax or reference errors; every one found is
    /// listed, each with its position.
    #[error("{0}")]
    Dbml(#[from] DbmlErrors),
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl std::error::Error for DbmlErrors {}
