//! The testkit's error type: every variant names the command or file that
//! failed and carries the evidence (stderr, log tail) needed to fix it.

use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// Why a throwaway server could not be started or queried.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// A server or client binary is not installed.
    #[error("{binary} not found (looked in {looked_in}): install the Debian package {package}")]
    BinaryNotFound {
        binary: String,
        looked_in: String,
        package: &'static str,
    },
    /// A binary that is not a Debian package is not installed.
    #[error("{binary} not found (looked in {looked_in}): {install}")]
    ToolNotFound {
        binary: &'static str,
        looked_in: String,
        install: &'static str,
    },
    /// A system user the server must run as (PostgreSQL refuses root) is missing.
    #[error("system user {user} not found in /etc/passwd: {hint}")]
    UserNotFound { user: String, hint: &'static str },
    /// A command could not be spawned or waited for at all.
    #[error("could not run {command}: {source}")]
    Spawn {
        command: String,
        #[source]
        source: io::Error,
    },
    /// A command ran and exited unsuccessfully; `output` is its stderr
    /// (or stdout when stderr was empty).
    #[error("{command} failed ({status}): {output}")]
    CommandFailed {
        command: String,
        status: ExitStatus,
        output: String,
    },
    /// The server process exited before it accepted connections.
    #[error("{server} exited during start ({status}); log tail:\n{log_tail}")]
    ServerExited {
        server: &'static str,
        status: ExitStatus,
        log_tail: String,
    },
    /// The server kept running but never accepted connections.
    #[error("{server} did not accept connections within {waited:?}; log tail:\n{log_tail}")]
    StartTimeout {
        server: &'static str,
        waited: Duration,
        log_tail: String,
    },
    /// A file-system operation on the scratch directory failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl TestkitError {
    /// True when the server died because another process took its port
    /// between our probe and its bind: starting again on a new port helps.
    pub fn is_port_race(&self) -> bool {
        match self {
            Self::ServerExited { log_tail, .. } => log_tail.contains("Address already in use"),
            _ => false,
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
