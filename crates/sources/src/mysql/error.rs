//! The MySQL source's error: what it was doing, on which table and column,
//! and whether trying again can help.

use std::fmt;

use watershed_events::RetryHint;

/// A failure of the MySQL/MariaDB source. Messages never hold the source
/// URL or a cell value. Boxed: it travels in every `Result` of the hot
/// path, which should stay small.
#[derive(Debug)]
pub struct MysqlError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    operation: &'static str,
    table: Option<String>,
    column: Option<String>,
    message: String,
    retry: RetryHint,
    code: Option<u16>,
    source: Option<mysql_async::Error>,
}

impl MysqlError {
    /// Retrying cannot help: a setting, a privilege, bad data.
    pub(crate) fn fatal(operation: &'static str, message: impl Into<String>) -> Self {
        Self::new(operation, message.into(), RetryHint::Fatal)
    }

    /// Transient: the pipeline retries from its checkpoint.
    pub(crate) fn retryable(operation: &'static str, message: impl Into<String>) -> Self {
        Self::new(operation, message.into(), RetryHint::Retryable)
    }

    fn new(operation: &'static str, message: String, retry: RetryHint) -> Self {
        Self(Box::new(Inner {
            operation,
            table: None,
            column: None,
            message,
            retry,
            code: None,
            source: None,
        }))
    }

    /// Classifies a driver or server error (see [`classify`]).
    pub(crate) fn driver(operation: &'static str, error: mysql_async::Error) -> Self {
        let (retry, message) = classify(&error);
        let code = match &error {
            mysql_async::Error::Server(server) => Some(server.code),
            _ => None,
        };
        let mut this = Self::new(operation, message, retry);
        this.0.code = code;
        this.0.source = Some(error);
        this
    }

    /// Names the table the failure concerns.
    pub(crate) fn table(mut self, table: impl fmt::Display) -> Self {
        self.0.table = Some(table.to_string());
        self
    }

    /// Names the column the failure concerns.
    pub(crate) fn column(mut self, column: &str) -> Self {
        self.0.column = Some(column.to_owned());
        self
    }

    /// Whether the pipeline should retry from its checkpoint.
    pub fn retry_hint(&self) -> RetryHint {
        self.0.retry
    }

    /// The server's error number, when the server reported the failure.
    pub fn server_code(&self) -> Option<u16> {
        self.0.code
    }
}

impl fmt::Display for MysqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.0;
        write!(f, "mysql {}", inner.operation)?;
        if let Some(table) = &inner.table {
            write!(f, " on table {table}")?;
        }
        if let Some(column) = &inner.column {
            write!(f, " column {column}")?;
        }
        write!(f, ": {}", inner.message)
    }
}

impl std::error::Error for MysqlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Server error numbers after which a retry may succeed.
const RETRYABLE_CODES: &[u16] = &[
    1040, // too many connections
    1053, // server shutdown in progress
    1158, 1159, 1160, 1161, // network read/write errors and timeouts
    1205, // lock wait timeout
    1213, // deadlock
    1317, // query interrupted
    1412, // table definition changed under a consistent snapshot
    1927, // connection killed
    2006, // server has gone away
    2013, // lost connection during query
    4031, // disconnected for inactivity
];

/// Whether `error` may pass, and a message that says what to do about it.
fn classify(error: &mysql_async::Error) -> (RetryHint, String) {
    use mysql_async::Error as E;
    match error {
        E::Io(e) => (RetryHint::Retryable, format!("connection failed: {e}")),
        E::Driver(e) => (RetryHint::Retryable, format!("driver error: {e}")),
        E::Url(e) => (RetryHint::Fatal, format!("invalid url: {e}")),
        E::Other(e) => (RetryHint::Fatal, e.to_string()),
        E::Server(server) => {
            let code = server.code;
            let text = &server.message;
            let message = match code {
                1045 => {
                    format!("{text} (error 1045): check the user and password in the source url")
                }
                1044 | 1142 | 1227 => format!(
                    "{text} (error {code}): the user needs REPLICATION SLAVE, REPLICATION CLIENT and SELECT on the captured tables"
                ),
                1236 => format!(
                    "{text} (error 1236): the binlog the checkpoint points into is no longer on the server (purged); \
                     changes were lost to this pipeline: re-snapshot with `snapshot: initial` from an empty checkpoint \
                     (clear the pipeline's checkpoint in the sink) and keep binlogs longer \
                     (binlog_expire_logs_seconds / expire_logs_days)"
                ),
                4052 => format!(
                    "{text} (error 4052): another replica registered with this server_id; give each pipeline its own server_id"
                ),
                _ => format!("{text} (error {code})"),
            };
            let retry = if RETRYABLE_CODES.contains(&code) {
                RetryHint::Retryable
            } else {
                RetryHint::Fatal
            };
            (retry, message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: u16) -> MysqlError {
        MysqlError::driver(
            "binlog stream",
            mysql_async::Error::Server(mysql_async::ServerError {
                code,
                message: "boom".into(),
                state: "HY000".into(),
            }),
        )
    }

    #[test]
    fn server_errors_are_classified() {
        assert_eq!(server(1205).retry_hint(), RetryHint::Retryable);
        assert_eq!(server(2013).retry_hint(), RetryHint::Retryable);
        assert_eq!(server(1045).retry_hint(), RetryHint::Fatal);
        let purged = server(1236);
        assert_eq!(purged.retry_hint(), RetryHint::Fatal);
        assert!(purged.to_string().contains("re-snapshot"), "{purged}");
        assert_eq!(purged.server_code(), Some(1236));
    }

    #[test]
    fn context_reads_in_order() {
        let err = MysqlError::fatal("decode", "bad value")
            .table("shop.orders")
            .column("amount");
        assert_eq!(
            err.to_string(),
            "mysql decode on table shop.orders column amount: bad value"
        );
        let io = MysqlError::driver(
            "connect",
            mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::from(
                std::io::ErrorKind::ConnectionRefused,
            ))),
        );
        assert_eq!(io.retry_hint(), RetryHint::Retryable);
    }
}
