//! `watershed table pause|resume|resync -c FILE TABLE`: asks the running
//! pipeline, over its HTTP API, to act on one table while it streams.

use std::path::Path;

use anyhow::{Context, anyhow};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

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
    let (status, body) = post(&base, &format!("/api/tables/{table}/{action}"))
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

/// One `POST` with an empty body; returns the status and the body text.
async fn post(base: &str, path: &str) -> anyhow::Result<(u16, String)> {
    let authority = base
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("the url must start with http://"))?
        .trim_end_matches('/');
    let stream = TcpStream::connect(authority)
        .await
        .with_context(|| format!("connect to {authority}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("http handshake")?;
    tokio::spawn(connection);
    let request = hyper::Request::post(path)
        .header(hyper::header::HOST, authority)
        .body(Empty::<Bytes>::new())
        .context("build the request")?;
    let response = sender
        .send_request(request)
        .await
        .context("send the request")?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .context("read the answer")?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
