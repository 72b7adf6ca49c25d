//! The crate's error type.

use std::path::PathBuf;

pub use crate::dbml::DbmlErrors;

/// A driver's error, kept as the source of ours.
pub type DriverError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong reading, comparing or applying a schema. URLs in
/// messages never hold a password.
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
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The URL names no database Watershed knows, or cannot be read.
    #[error("invalid database url {url}: {reason}")]
    Url { url: String, reason: String },
    /// The server could not be reached (after retrying) or refused us.
    #[error("cannot connect to {server}: {source}")]
    Connect {
        server: String,
        #[source]
        source: DriverError,
    },
    /// A catalog query or a statement failed.
    #[error("{what} failed: {source}")]
    Query {
        what: String,
        #[source]
        source: DriverError,
    },
    /// The catalog said something this version cannot read.
    #[error("unexpected catalog data: {0}")]
    Catalog(String),
    /// The plan drops or narrows something and `confirm` was not given.
    #[error(
        "{count} change(s) can lose data or fail on existing rows; review the plan and add --confirm to apply it"
    )]
    NeedsConfirm { count: usize },
    /// A change SQL cannot make in place (e.g. removing enum values in
    /// PostgreSQL).
    #[error("cannot apply automatically: {0}")]
    Unsupported(String),
}

impl std::error::Error for DbmlErrors {}
