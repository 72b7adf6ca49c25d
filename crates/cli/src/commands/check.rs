//! `watershed check`: reach every endpoint and report, one line per check.

use std::path::Path;

use watershed_events::{Check, CheckStatus};
use watershed_pipeline::redact_urls;

use super::validate::load;
use crate::args::GlobalArgs;
use crate::exit::Failure;

pub async fn check(file: &Path, global: &GlobalArgs) -> Result<(), Failure> {
    let config = load(file)?;
    let checks = watershed_pipeline::check(&config).await;
    if global.json {
        let json = serde_json::to_string(&checks).unwrap_or_default();
        println!("{}", redact_urls(&json));
    } else {
        for check in &checks {
            println!("{}", redact_urls(&line(check)));
        }
    }
    let failed = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .count();
    if failed > 0 {
        return Err(Failure::runtime(anyhow::anyhow!(
            "{failed} of {} checks failed",
            checks.len()
        )));
    }
    Ok(())
}

fn line(check: &Check) -> String {
    let status = match check.status {
        CheckStatus::Ok => "ok  ",
        CheckStatus::Warn => "warn",
        CheckStatus::Fail => "FAIL",
    };
    match &check.fix {
        Some(fix) => format!("{status}  {}: {} (fix: {fix})", check.name, check.detail),
        None => format!("{status}  {}: {}", check.name, check.detail),
    }
}
