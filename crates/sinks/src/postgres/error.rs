//! PostgreSQL errors as the sink reports them: a message that names the
//! failing statement's object but never a cell value, and the retry
//! classification the runtime acts on.

use std::error::Error as _;
use std::fmt;

use tokio_postgres::error::SqlState;
use watershed_events::RetryHint;

use crate::sink::SinkError;

/// A `tokio_postgres::Error` whose `Display` leaves out PostgreSQL's
/// DETAIL (`Key (id)=(5) already exists`, `Failing row contains (…)`):
/// those carry row values, which must not reach logs.
pub struct PostgresError(tokio_postgres::Error);

impl PostgresError {
    pub(crate) fn new(error: tokio_postgres::Error) -> Self {
        Self(error)
    }

    /// The SQLSTATE, when the server sent one.
    pub fn code(&self) -> Option<&SqlState> {
        self.0.code()
    }

    /// Lost connections and transient server states are retryable; the
    /// rest (bad SQL, constraint violations, permissions) are not.
    pub fn retry_hint(&self) -> RetryHint {
        let transient_state = self.code().is_some_and(|code| {
            [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::TOO_MANY_CONNECTIONS,
                SqlState::LOCK_NOT_AVAILABLE,
                SqlState::QUERY_CANCELED,
            ]
            .contains(code)
                || code.code().starts_with("08")
        });
        if transient_state
            || self.lost_catalog_race()
            || self.0.is_closed()
            || self.io_error().is_some()
        {
            RetryHint::Retryable
        } else {
            RetryHint::Fatal
        }
    }

    /// Two processes ran the same `CREATE … IF NOT EXISTS` at once (members
    /// of one consumer group starting together): PostgreSQL reports the
    /// loser as a duplicate in its catalog. Trying again finds the object.
    fn lost_catalog_race(&self) -> bool {
        self.0.as_db_error().is_some_and(|e| {
            (e.code() == &SqlState::UNIQUE_VIOLATION
                && e.constraint().is_some_and(|c| c.starts_with("pg_")))
                || e.code() == &SqlState::DUPLICATE_TABLE
                || e.code() == &SqlState::DUPLICATE_SCHEMA
                // The table's row type, created with it: `type "…" already
                // exists` (seen with two group members starting at once).
                || (e.code() == &SqlState::DUPLICATE_OBJECT && e.message().starts_with("type "))
        })
    }

    /// The I/O error underneath a failed connect or a broken socket.
    fn io_error(&self) -> Option<&std::io::Error> {
        let mut source = self.0.source();
        while let Some(error) = source {
            if let Some(io) = error.downcast_ref::<std::io::Error>() {
                return Some(io);
            }
            source = error.source();
        }
        None
    }
}

impl fmt::Display for PostgresError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(db) = self.0.as_db_error() else {
            // Client-side kinds ("error connecting to server") and their
            // I/O cause; neither holds configuration or row data.
            write!(f, "{}", self.0)?;
            return match self.0.source() {
                Some(cause) => write!(f, ": {cause}"),
                None => Ok(()),
            };
        };
        write!(
            f,
            "{} {}: {}",
            db.severity(),
            db.code().code(),
            db.message()
        )?;
        if let Some(column) = db.column() {
            write!(f, " (column {column})")?;
        }
        // Binary COPY context names the line and column, not the value.
        if let Some(context) = db.where_() {
            write!(f, " [{}]", context.replace('\n', "; "))?;
        }
        if let Some(hint) = db.hint() {
            write!(f, "; hint: {hint}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PostgresError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresError({self})")
    }
}

impl std::error::Error for PostgresError {
    /// The I/O cause only: the server's error is already in the message,
    /// and its own `Display` would add the DETAIL with row values.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io_error()
            .map(|io| io as &(dyn std::error::Error + 'static))
    }
}

/// Wraps a driver error with what the sink was doing; the context is built
/// only on failure (`RUST_BACKTRACE=1` makes eager error building costly).
pub(crate) fn pg_err<C: Into<String>>(
    context: impl FnOnce() -> C,
) -> impl FnOnce(tokio_postgres::Error) -> SinkError {
    move |source| SinkError::Postgres {
        context: context().into(),
        source: PostgresError::new(source),
    }
}
