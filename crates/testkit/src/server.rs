//! The life of one throwaway server: its scratch directory, its process,
//! waiting until it accepts connections, the watchdog that cleans up after
//! a test process that never drops it, and the graceful stop.

use std::fs::{self, DirBuilder, OpenOptions};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::Result;
use crate::error::TestkitError;
use crate::process::{self, SystemUser};

/// How long a server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a server may take to stop after its shutdown signal.
const STOP_GRACE: Duration = Duration::from_secs(10);

const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Stops the server and removes the scratch directory once the owner
/// process is gone. Zombies count as gone: an orphaned server is reaped by
/// pid 1, which may take its time. Arguments: owner pid, server pid, signal
/// name, directory. The grace loop (100 × 0.1 s) matches [`STOP_GRACE`].
const WATCHDOG_SCRIPT: &str = r#"
owner=$1 server=$2 signal=$3 dir=$4
alive() { [ -d "/proc/$1" ] && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }
while alive "$owner"; do sleep 0.5; done
kill -s "$signal" "$server" 2>/dev/null
tries=0
while alive "$server" && [ "$tries" -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done
alive "$server" && kill -s KILL "$server" 2>/dev/null
rm -rf "$dir"
"#;

/// The signal that asks a server for a clean, quick shutdown.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StopSignal {
    /// mariadbd shuts down on SIGTERM.
    Term,
    /// SIGINT is PostgreSQL's "fast" shutdown (SIGTERM waits for clients).
    Int,
}

impl StopSignal {
    fn name(self) -> &'static str {
        match self {
            Self::Term => "TERM",
            Self::Int => "INT",
        }
    }
}

/// A private directory under the temp dir, removed on drop.
pub(crate) struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates `watershed-<unique>` with mode 0700. With `owner`, it is
    /// created under /tmp (which every user can traverse, unlike a root-only
    /// `$TMPDIR`) and handed to that user.
    pub(crate) fn create(kind: &str, owner: Option<SystemUser>) -> Result<Self> {
        let base = match owner {
            Some(_) => PathBuf::from("/tmp"),
            None => std::env::temp_dir(),
        };
        let path = base.join(format!("watershed-{}", crate::unique_name(kind)));
        DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|source| TestkitError::io("create", &path, source))?;
        let dir = Self { path };
        if let Some(user) = owner {
            process::chown(&dir.path, user)?;
        }
        Ok(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Nothing useful can be done about a failure while dropping; a
        // leftover directory under /tmp is harmless.
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A running server process and its watchdog; dropping it stops both.
pub(crate) struct ServerProcess {
    child: Child,
    watchdog: Option<Child>,
    signal: StopSignal,
}

impl ServerProcess {
    /// Spawns `cmd` with null stdin and stdout/stderr appended to `log`
    /// (a pipe inherited from the test process would keep `cargo test`
    /// waiting for EOF), then its watchdog, which removes `scratch`.
    pub(crate) fn spawn(
        cmd: &mut Command,
        log: &Path,
        scratch: &Path,
        signal: StopSignal,
    ) -> Result<Self> {
        let open = || {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|source| TestkitError::io("open", log, source))
        };
        cmd.stdin(Stdio::null())
            .stdout(open()?)
            .stderr(open()?)
            // Its own process group, so a Ctrl-C aimed at `cargo test` does
            // not reach the server behind the watchdog's back.
            .process_group(0);
        let child = cmd.spawn().map_err(|source| TestkitError::Spawn {
            command: process::describe(cmd),
            source,
        })?;
        let mut server = Self {
            child,
            watchdog: None,
            signal,
        };
        // If the watchdog cannot start, `server` drops and stops the child.
        server.watchdog = Some(spawn_watchdog(server.pid(), signal, scratch)?);
        Ok(server)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls `accepts` until it says yes, failing early when the server
    /// exits and after [`START_TIMEOUT`]; errors carry the log written
    /// since `log_offset`.
    pub(crate) fn wait_ready(
        &mut self,
        server: &'static str,
        log: &Path,
        log_offset: u64,
        mut accepts: impl FnMut() -> bool,
    ) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log_tail = process::log_tail(log, log_offset);
                return Err(TestkitError::ServerExited {
                    server,
                    status,
                    log_tail,
                });
            }
            if accepts() {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                let log_tail = process::log_tail(log, log_offset);
                return Err(TestkitError::StartTimeout {
                    server,
                    waited: START_TIMEOUT,
                    log_tail,
                });
            }
            thread::sleep(POLL_INTERVAL);
        }
    }
}

impl ServerProcess {
    /// Stops the server (gracefully, then by force) and its watchdog;
    /// stopping a stopped server does nothing.
    pub(crate) fn stop(&mut self) {
        // The watchdog goes first: once we reap the server its pid may be
        // reused, and the watchdog must never signal a stranger.
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        stop(&mut self.child, self.signal);
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn_watchdog(server_pid: u32, signal: StopSignal, scratch: &Path) -> Result<Child> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(WATCHDOG_SCRIPT)
        .arg("watershed-watchdog")
        .arg(std::process::id().to_string())
        .arg(server_pid.to_string())
        .arg(signal.name())
        .arg(scratch)
        // Inherited stdio would keep `cargo test` waiting for EOF after
        // the test process exits.
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Survives a Ctrl-C sent to the test's process group: that is
        // exactly when it has work to do.
        .process_group(0);
    cmd.spawn().map_err(|source| TestkitError::Spawn {
        command: "sh -c <watchdog script>".to_owned(),
        source,
    })
}

/// Asks the server to stop with `signal` (through the `kill` command: no
/// libc, unsafe code is forbidden), waits up to [`STOP_GRACE`], then kills.
/// Errors are ignored: this runs in `Drop`, possibly while unwinding.
fn stop(child: &mut Child, signal: StopSignal) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .args(["-s", signal.name(), &child.id().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        thread::sleep(POLL_INTERVAL);
    }
    let _ = child.kill();
    let _ = child.wait();
}
