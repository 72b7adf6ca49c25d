//! Helpers shared by the binary's integration tests.

use std::process::Command;
use std::time::{Duration, Instant};

/// The `watershed` binary, with no `WATERSHED_…` variables leaking in from
/// the environment that runs the tests.
pub fn watershed() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_watershed"));
    for (key, _) in std::env::vars() {
        if key.starts_with("WATERSHED_") {
            command.env_remove(key);
        }
    }
    command.env("RUST_BACKTRACE", "0");
    command
}

/// Polls `done` until it holds; panics naming `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
