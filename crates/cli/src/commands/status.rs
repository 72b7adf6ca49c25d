//! `watershed status [--url URL]`: what a running pipeline reports about
//! itself (its `/api/status`), as lines or, with `--json`, as it came.

use anyhow::anyhow;
use serde_json::Value;

use super::http;
use crate::args::GlobalArgs;
use crate::exit::Failure;

pub async fn status(url: Option<&str>, global: &GlobalArgs) -> Result<(), Failure> {
    let base = url.map_or_else(|| format!("http://{}", global.listen), str::to_owned);
    let (code, body) = http::request(hyper::Method::GET, &base, "/api/status")
        .await
        .map_err(|e| {
            Failure::runtime(e.context(format!(
                "no pipeline answers at {base}: is `watershed run` running? (pass --url or --listen)"
            )))
        })?;
    if code != 200 {
        return Err(Failure::runtime(anyhow!(
            "{base}/api/status answered {code}: {body}"
        )));
    }
    if global.json {
        println!("{body}");
        return Ok(());
    }
    let report: Value = serde_json::from_str(&body)
        .map_err(|e| Failure::runtime(anyhow!("{base}/api/status is not JSON: {e}")))?;
    for line in lines(&report) {
        println!("{line}");
    }
    Ok(())
}

/// The report as `key: value` lines, then one line per table not live.
fn lines(report: &Value) -> Vec<String> {
    let text = |key: &str| match &report[key] {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    };
    let mut lines: Vec<String> = [
        "pipeline",
        "run_id",
        "ready",
        "rows_read",
        "rows_committed",
        "batches",
        "lag_seconds",
        "uptime_seconds",
    ]
    .iter()
    .map(|key| format!("{key}: {}", text(key)))
    .collect();
    if let Some(warning) = report["warning"].as_str() {
        lines.push(format!("warning: {warning}"));
    }
    if let Some(tables) = report["tables"].as_object() {
        for (table, state) in tables {
            let name = state["state"].as_str().unwrap_or("?");
            let reason = state["reason"]
                .as_str()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            lines.push(format!("table {table}: {name}{reason}"));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_reads_as_lines_with_tables_not_live_last() {
        let report = serde_json::json!({
            "pipeline": "shop", "run_id": "r1", "ready": true, "rows_read": 5,
            "rows_committed": 4, "batches": 2, "lag_seconds": 0.25, "warning": null,
            "uptime_seconds": 3.5,
            "tables": { "shop.orders": { "state": "isolated", "reason": "value too long" } }
        });
        let lines = lines(&report);
        assert_eq!(lines[0], "pipeline: shop");
        assert!(lines.contains(&"lag_seconds: 0.25".to_owned()), "{lines:?}");
        assert_eq!(
            lines.last().map(String::as_str),
            Some("table shop.orders: isolated: value too long")
        );
    }
}
