//! `watershed table pause|resume|resync -c FILE TABLE`: asks the running
//! pipeline, over its HTTP API, to act on one table while it streams.

use std::path::Path;

use anyhow::anyhow;

use super::http;
use super::validate::load;
use crate::args::{GlobalArgs, TableCommand};
use crate::exit::Failure;

pub async fn table(
    command: &TableCommand,
    file: &Path,
    table: &str,
    url: Option<&str>,
    global: &GlobalArgs,
) -> Result<(), Failure> {
    let config = load(file)?;
    if !table.contains('.') {
        return Err(Failure::usage(anyhow!(
            "table `{table}`: name it as schema.table (e.g. shop.orders)"
        )));
    }
    let base = url.map_or_else(|| format!("http://{}", global.listen), str::to_owned);
    let action = command.word();
    let path = format!("/api/tables/{table}/{action}");
    let (status, body) = http::request(hyper::Method::POST, &base, &path)
        .await
        .map_err(|e| {
            Failure::runtime(e.context(format!(
                "pipeline {} does not answer at {base}: is `watershed run` running? (pass --url or --listen)",
                config.name
            )))
        })?;
    let reply: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    if global.json {
        println!("{body}");
    }
    if status != 200 {
        let error = reply["error"].as_str().unwrap_or(&body).to_owned();
        return Err(Failure::runtime(anyhow!("{action} {table}: {error}")));
    }
    if reply["pipeline"].as_str() != Some(config.name.as_str()) {
        tracing::warn!(expected = %config.name, answered = %reply["pipeline"], "another pipeline answered");
    }
    if !global.json {
        println!("{action} {table}: accepted by pipeline {}", config.name);
    }
    Ok(())
}
