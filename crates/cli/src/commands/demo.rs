//! `watershed demo`: a generated heart-rate stream into SQLite with the
//! HTTP endpoints up, a progress line a second, and a summary.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use watershed_pipeline::config::{Environment, load_str};

use super::pipeline::execute;
use super::run::round;
use crate::args::GlobalArgs;
use crate::exit::Failure;
use crate::output;
use crate::process::peak_rss_bytes;

pub async fn demo(
    duration: Option<Duration>,
    rate: &str,
    sqlite_path: &Path,
    global: &GlobalArgs,
    run_id: &str,
) -> Result<(), Failure> {
    let text = format!(
        "name: demo\n\
         source: {{ kind: generator, stream: heartbeat, seed: 7, rate: {rate:?}, start_time: now }}\n\
         sink: {{ kind: sqlite, path: {:?} }}\n",
        sqlite_path.display().to_string()
    );
    let config = load_str(&text, Path::new("."), Environment::empty())
        .map_err(|e| Failure::usage(anyhow::Error::new(e).context("--rate")))?;
    remove_previous(sqlite_path).map_err(Failure::runtime)?;

    let started = Instant::now();
    let (summary, url) = execute(config, global, run_id, |running| {
        let progress = running.progress.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_secs(1));
            ticker.tick().await;
            let mut previous = 0;
            loop {
                ticker.tick().await;
                let rows = progress.rows_committed();
                eprintln!("demo: {rows} rows committed, {} rows/s", rows - previous);
                previous = rows;
            }
        });
        if let Some(duration) = duration {
            let trigger = running.trigger.clone();
            tokio::spawn(async move {
                tokio::time::sleep(duration).await;
                trigger.trigger();
            });
        }
        eprintln!(
            "demo: writing heartbeat events to {}; metrics at {}/metrics; Ctrl-C stops",
            sqlite_path.display(),
            running.url
        );
    })
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let rows_per_sec = round(summary.rows as f64 / seconds.max(1e-9));
    let report = json!({
        "rows": summary.rows,
        "rows_per_sec": rows_per_sec,
        "elapsed_secs": round(seconds),
        "sqlite_path": sqlite_path.display().to_string(),
        "table": "heartbeat",
        "url": url,
        "peak_rss_bytes": peak_rss_bytes(),
    });
    if !global.json {
        println!(
            "demo finished: {} rows in {:.1} s ({rows_per_sec} rows/s)",
            summary.rows, seconds
        );
    }
    output::print(&report, global.json);
    Ok(())
}

/// The demo starts from an empty file each time.
fn remove_previous(path: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "remove the previous demo file {}",
                        Path::new(&file).display()
                    )
                });
            }
        }
    }
    Ok(())
}
