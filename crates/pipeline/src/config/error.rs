//! Configuration errors: each names the key path and where it was written.

use std::fmt;
use std::path::PathBuf;

/// The keys from the document root to a value, e.g. `["source", "count"]`.
pub type KeyPath = Vec<String>;

/// A problem found at a key path, before its location is known.
pub(crate) type Problem = (KeyPath, String);

/// `["transforms", "0"]` from string slices.
pub(crate) fn key_path(parts: &[&str]) -> KeyPath {
    parts.iter().map(|s| (*s).to_owned()).collect()
}

/// Whether a table pattern of `transforms`, `aggregates` or `stale`
/// names `table`: with a `.` it is matched against `schema.table`, without
/// one against the table's name (`*` globs).
pub(crate) fn names_table(pattern: &str, table: &watershed_events::TableName) -> bool {
    if pattern.contains('.') {
        watershed_events::glob_matches(pattern, &table.to_string())
    } else {
        watershed_events::glob_matches(pattern, &table.name)
    }
}

/// Where a configured value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Line(usize),
    /// A `WATERSHED_…` environment override.
    Env(String),
    Unknown,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("line {line}: invalid YAML: {message}")]
    Syntax { line: usize, message: String },
    #[error("{}{}: {message}", Where(location), Dotted(path))]
    Key {
        path: KeyPath,
        location: Location,
        message: String,
    },
    #[error("{}: {source}", file.display())]
    InFile {
        file: PathBuf,
        source: Box<ConfigError>,
    },
}

impl ConfigError {
    pub fn at(path: KeyPath, line: usize, message: String) -> Self {
        ConfigError::Key {
            path,
            location: Location::Line(line),
            message,
        }
    }

    pub fn in_file(self, file: PathBuf) -> Self {
        ConfigError::InFile {
            file,
            source: Box::new(self),
        }
    }
}

struct Where<'a>(&'a Location);

impl fmt::Display for Where<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Location::Line(line) => write!(f, "line {line}: "),
            Location::Env(var) => write!(f, "environment variable {var}: "),
            Location::Unknown => Ok(()),
        }
    }
}

/// A key path as `a.b.c`; the root prints as `(top level)`.
pub struct Dotted<'a>(pub &'a [String]);

impl fmt::Display for Dotted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        f.write_str(&self.0.join("."))
    }
}
