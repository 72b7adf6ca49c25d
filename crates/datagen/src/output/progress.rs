//! Progress on stderr: a line redrawn in place on a terminal, one line
//! per finished table otherwise.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Progress of one table.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    terminal: bool,
    table: String,
    total: u64,
    started: Instant,
    last_draw: Instant,
}

impl Progress {
    /// Starts reporting on `table` (silent when `enabled` is false).
    pub fn start(enabled: bool, table: &str, total: u64) -> Self {
        let now = Instant::now();
        Progress {
            enabled,
            terminal: std::io::stderr().is_terminal(),
            table: table.to_owned(),
            total,
            started: now,
            last_draw: now,
        }
    }

    /// `done` rows so far; redraws at most five times a second.
    pub fn tick(&mut self, done: u64) {
        if !self.enabled || !self.terminal || self.last_draw.elapsed() < Duration::from_millis(200)
        {
            return;
        }
        self.last_draw = Instant::now();
        let percent = done * 100 / self.total.max(1);
        let filled = (percent / 5) as usize;
        let bar = format!("{}{}", "#".repeat(filled), ".".repeat(20 - filled.min(20)));
        eprint!("\r{} [{bar}] {done}/{} rows", self.table, self.total);
        let _ = std::io::stderr().flush();
    }

    /// The table is done: one line with the rate.
    pub fn finish(&self, done: u64) -> f64 {
        let seconds = self.started.elapsed().as_secs_f64();
        let rate = done as f64 / seconds.max(1e-9);
        if self.enabled {
            let clear = if self.terminal { "\r\x1b[K" } else { "" };
            eprintln!(
                "{clear}{}: {done} rows in {seconds:.2}s ({rate:.0} rows/s)",
                self.table
            );
        }
        rate
    }
}
