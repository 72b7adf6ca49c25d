//! `watershed gen workload`: resolve the flags, run the workload, report
//! the achieved rate and the statements per operation.

use anyhow::anyhow;
use serde_json::json;
use watershed_datagen::workload::{self, Mix, WorkloadConfig, WorkloadSummary};

use super::data::{failure, read_tables};
use crate::args::{GenWorkloadArgs, GlobalArgs};
use crate::exit::Failure;

pub(super) async fn workload(args: &GenWorkloadArgs, global: &GlobalArgs) -> Result<(), Failure> {
    if !(args.rate.is_finite() && args.rate > 0.0) {
        return Err(Failure::usage(anyhow!("--rate must be above 0")));
    }
    let config = WorkloadConfig {
        rate: args.rate,
        duration: args.duration,
        mix: Mix::parse(&args.mix).map_err(failure)?,
        seed: args.seed,
        tables: args.tables.clone(),
    };
    let tables = read_tables(args.schema.as_deref(), Some(&args.url), args.wait).await?;
    let summary = workload::run(tables, &args.url, args.wait, &config, super::ctrl_c())
        .await
        .map_err(failure)?;
    report(&summary, global);
    if summary.errors > 0 {
        return Err(Failure::runtime(anyhow!(
            "{} statements were refused by the database",
            summary.errors
        )));
    }
    Ok(())
}

fn report(summary: &WorkloadSummary, global: &GlobalArgs) {
    let rate = (summary.achieved_rate() * 10.0).round() / 10.0;
    if global.json {
        let value = json!({
            "statements": summary.statements(),
            "inserts": summary.inserts,
            "updates": summary.updates,
            "deletes": summary.deletes,
            "errors": summary.errors,
            "error_kinds": summary.error_kinds,
            "skipped": summary.skipped,
            "seconds": (summary.seconds * 1000.0).round() / 1000.0,
            "statements_per_second": rate,
        });
        println!("{value}");
    } else {
        println!(
            "ran {} statements in {:.1}s ({rate}/s): {} inserts, {} updates, {} deletes, {} errors",
            summary.statements(),
            summary.seconds,
            summary.inserts,
            summary.updates,
            summary.deletes,
            summary.errors
        );
    }
}
