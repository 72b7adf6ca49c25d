//! Running synchronous I/O (SQLite, files) from async sink methods.

/// Runs `work` so that it does not stall other tasks on a multi-threaded
/// runtime; on a current-thread runtime (unit tests) it runs inline.
pub(crate) fn blocking<T>(work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}
