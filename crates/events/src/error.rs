//! Error classification shared by every crate: should the pipeline retry?

/// Whether an operation that failed may succeed if tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryHint {
    /// Transient: a dropped connection, a lock timeout, a busy database.
    Retryable,
    /// Retrying cannot help: bad config, bad data, a bug.
    Fatal,
}
