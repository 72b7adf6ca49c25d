//! `watershed verify`: per table, are source and target the same?

use std::path::Path;

use watershed_pipeline::redact_urls;
use watershed_pipeline::verify::{TableReport, verify as compare};

use super::validate::load;
use crate::args::GlobalArgs;
use crate::exit::Failure;

pub async fn verify(file: &Path, global: &GlobalArgs) -> Result<(), Failure> {
    let config = load(file)?;
    let reports = compare(&config)
        .await
        .map_err(|e| Failure::runtime(e.into()))?;
    if global.json {
        println!(
            "{}",
            redact_urls(&serde_json::to_string(&reports).unwrap_or_default())
        );
    } else {
        for report in &reports {
            println!("{}", line(report));
        }
    }
    let differing: Vec<&str> = reports
        .iter()
        .filter(|r| !r.equal)
        .map(|r| r.table.as_str())
        .collect();
    if !differing.is_empty() {
        return Err(Failure::runtime(anyhow::anyhow!(
            "{} of {} tables differ: {}",
            differing.len(),
            reports.len(),
            differing.join(", ")
        )));
    }
    Ok(())
}

fn line(report: &TableReport) -> String {
    if let Some(why) = &report.skipped {
        return format!("skip  {}: {why}", report.table);
    }
    let head = format!("{} -> {}", report.table, report.target);
    if report.equal {
        return format!("ok    {head}: {} rows", report.source_rows);
    }
    let mut line = format!(
        "DIFF  {head}: source {} rows, target {} rows",
        report.source_rows, report.target_rows
    );
    if let Some(problem) = &report.problem {
        line += &format!("; {problem}");
    }
    if !report.differing_keys.is_empty() {
        line += &format!("; differing keys: {}", report.differing_keys.join(" "));
    }
    line
}
