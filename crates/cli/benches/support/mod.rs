//! Helpers shared by the end-to-end benchmarks.

use std::process::Command;
use std::time::{Duration, Instant};

/// Runs `command` with `sh -c` and expects it to succeed.
pub fn shell(command: &str) {
    let status = Command::new("sh")
        .args(["-c", command])
        .status()
        .expect("sh");
    assert!(status.success(), "{command}");
}

/// How long `work` takes.
pub fn time(work: impl FnOnce()) -> Duration {
    let started = Instant::now();
    work();
    started.elapsed()
}
