//! Dev-only test support: throwaway MariaDB and PostgreSQL servers started
//! from the machine's own binaries, and a Kafka-protocol broker (tansu), on
//! free ports in temporary directories,
//! plus [`unique_name`] for per-test databases and slots, and [`mutate`]d
//! samples for the property tests of decoders and parsers.
//!
//! Servers stop and remove their directory when dropped; a watchdog process
//! does the same for servers that are never dropped (the `shared()` ones
//! live in statics) once the test process is gone.

mod error;
mod kafka;
mod mariadb;
pub mod mutate;
mod postgres;
mod process;
mod server;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub use error::TestkitError;
pub use kafka::Kafka;
pub use mariadb::MariaDb;
pub use postgres::Postgres;

pub(crate) type Result<T, E = TestkitError> = std::result::Result<T, E>;

/// Longest name [`unique_name`] returns: well inside MariaDB's 64 and
/// PostgreSQL's 63 character limits.
const MAX_NAME_LEN: usize = 40;

/// Width of the time component: 36^6 microseconds is about 36 minutes,
/// enough to tell apart two processes that got the same pid.
const TIME_DIGITS: usize = 6;

/// A name unique across threads and processes, made of `[a-z0-9_]`,
/// starting with a letter or underscore and at most 40 characters, so it is
/// valid unquoted as a database, schema, table or replication slot name.
///
/// `prefix` is lowercased, other characters become `_`, and it is shortened
/// as needed; the suffix is pid, a per-process counter and a time component.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros());
    let time = base36(micros);
    let time = &time[time.len().saturating_sub(TIME_DIGITS)..];
    let suffix = format!(
        "_{}_{}_{time}",
        base36(u128::from(std::process::id())),
        base36(u128::from(count))
    );
    let mut name = sanitize(prefix);
    name.truncate(MAX_NAME_LEN.saturating_sub(suffix.len()));
    name + &suffix
}

/// Lowercase `[a-z0-9_]`, never empty and never starting with a digit.
fn sanitize(prefix: &str) -> String {
    let mut name: String = prefix
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_') => c,
            _ => '_',
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
        name.insert(0, 't');
    }
    name
}

fn base36(mut n: u128) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_lowercased_and_stripped_of_odd_characters() {
        assert_eq!(sanitize("Orders-Table 1"), "orders_table_1");
        assert_eq!(sanitize("9lives"), "t9lives");
        assert_eq!(sanitize(""), "t");
    }

    #[test]
    fn long_prefixes_are_shortened_to_keep_names_within_40_characters() {
        let name = unique_name(&"x".repeat(100));
        assert_eq!(name.len(), MAX_NAME_LEN);
        assert!(name.starts_with("xxx"));
    }

    #[test]
    fn base36_writes_zero_and_large_numbers() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
    }
}
