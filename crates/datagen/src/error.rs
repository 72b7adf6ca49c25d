//! The crate's error type.

use std::path::PathBuf;

/// A driver's error, kept as the source of ours.
pub type DriverError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong planning, generating or writing test data. URLs in
/// messages never hold a password.
#[derive(Debug, thiserror::Error)]
pub enum DatagenError {
    /// The request cannot be met (too few distinct values, a required
    /// parent with no rows, a NOT NULL cycle); found before anything is
    /// written.
    #[error("cannot generate {table}: {reason}")]
    Unsatisfiable { table: String, reason: String },
    /// A flag or the overrides file is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The overrides file is not valid YAML or not the expected shape.
    #[error("overrides file {}: {reason}", path.display())]
    Overrides { path: PathBuf, reason: String },
    /// A target table already holds rows and neither --append nor
    /// --truncate --confirm was given.
    #[error(
        "target table {table} already holds rows; add --append to add to them, or --truncate --confirm to replace them"
    )]
    NotEmpty { table: String },
    /// Reading the schema or connecting failed.
    #[error(transparent)]
    Schema(#[from] watershed_schema::SchemaError),
    /// A statement or COPY failed.
    #[error("{what} failed: {source}")]
    Query {
        what: String,
        #[source]
        source: DriverError,
    },
    /// An output file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl DatagenError {
    /// True when the error is about the request, found before any I/O.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            DatagenError::Unsatisfiable { .. }
                | DatagenError::Invalid(_)
                | DatagenError::Overrides { .. }
        )
    }

    pub(crate) fn query(what: impl Into<String>, source: impl Into<DriverError>) -> Self {
        DatagenError::Query {
            what: what.into(),
            source: source.into(),
        }
    }
}
