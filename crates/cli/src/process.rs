//! Facts about this process: its run id and its peak memory.

use std::time::{SystemTime, UNIX_EPOCH};

/// A 16-hex-digit id, different for every process, on every log line.
pub fn new_run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut z = nanos ^ (u64::from(std::process::id()) << 32);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    format!("{:016x}", z ^ (z >> 31))
}

/// Peak resident memory (VmHWM) in bytes, where /proc says so.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// glibc's malloc raises its mmap threshold each time a large block is
/// freed (up to 32 MiB), after which the pipeline's multi-megabyte chunk
/// and batch buffers come from the heap and fragment it: peak RSS grew
/// with the run (MySQL → Kafka 140 MB, Kafka → PostgreSQL 257 MB at
/// 300k records). A fixed threshold keeps them mapped and returned (107 MB
/// and 205 MB in the same runs). It is 1.5 MiB, not glibc's initial
/// 128 KiB: librdkafka decompresses each fetched batch into a buffer of
/// about 1 MB, and mapping, faulting in and unmapping those took a quarter
/// of a Kafka source's CPU (Kafka → PostgreSQL 158k → 202k records/s; peak
/// RSS 216 → 263 MB, flat from 300k to 1M records; MySQL → PostgreSQL
/// snapshot 113 → 127 MB). glibc reads it only from the environment at
/// start, and unsafe code (`mallopt`) is forbidden here, so the process
/// starts itself again with it set, once, unless the user set it. Other C
/// libraries ignore the variables.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn settle_allocator() {
    use std::os::unix::process::CommandExt;
    const THRESHOLD: &str = "MALLOC_MMAP_THRESHOLD_";
    const BYTES: &str = "1572864";
    if std::env::var_os(THRESHOLD).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    let mut command = std::process::Command::new(&exe);
    command.arg0(arg0).args(args).env(THRESHOLD, BYTES);
    if std::env::var_os("MALLOC_TRIM_THRESHOLD_").is_none() {
        command.env("MALLOC_TRIM_THRESHOLD_", BYTES);
    }
    // Returns only when the exec failed: then this process runs on, with
    // glibc's default threshold.
    let _ = command.exec();
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn settle_allocator() {}
