//! `watershed run`: run a pipeline until its source ends or it is stopped.

use std::path::Path;

use serde_json::json;

use super::pipeline::execute;
use super::validate::{load, plan};
use crate::args::GlobalArgs;
use crate::exit::Failure;
use crate::output;
use crate::process::peak_rss_bytes;

pub async fn run(
    file: &Path,
    dry_run: bool,
    global: &GlobalArgs,
    run_id: &str,
) -> Result<(), Failure> {
    let config = load(file)?;
    if dry_run {
        let mut plan = plan(&config);
        plan["dry_run"] = true.into();
        output::print(&plan, global.json);
        return Ok(());
    }
    let name = config.name.clone();
    let (summary, _url) = execute(config, global, run_id, |_| {})
        .await
        .map_err(|f| f.in_file(file))?;
    let seconds = summary.elapsed.as_secs_f64();
    output::print(
        &json!({
            "pipeline": name,
            "rows": summary.rows,
            "batches": summary.batches,
            "elapsed_secs": round(seconds),
            "rows_per_sec": round(summary.rows as f64 / seconds.max(1e-9)),
            "position": summary.position.map(|p| p.to_string()),
            "interrupted": summary.interrupted,
            "peak_rss_bytes": peak_rss_bytes(),
        }),
        global.json,
    );
    Ok(())
}

pub fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
