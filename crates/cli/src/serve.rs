//! Binding and serving the HTTP endpoints while a pipeline runs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use watershed_pipeline::{Metrics, Progress, Shutdown};
use watershed_server::{AppState, app, serve};

/// The endpoints, serving until the shutdown fires.
pub struct Http {
    pub addr: SocketAddr,
    pub task: JoinHandle<std::io::Result<()>>,
}

impl Http {
    /// Binds `listen` first, so that a port in use fails before any data
    /// moves.
    pub async fn start(
        listen: SocketAddr,
        pipeline: &str,
        run_id: &str,
        metrics: Arc<Metrics>,
        progress: Arc<Progress>,
        lag_alert_s: Option<u64>,
        shutdown: Shutdown,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(listen).await.with_context(|| {
            format!("cannot listen on {listen} (use --listen ADDR to choose another)")
        })?;
        let addr = listener.local_addr().context("read the bound address")?;
        let state = AppState {
            pipeline: pipeline.to_owned(),
            run_id: run_id.to_owned(),
            metrics,
            progress,
            started: Instant::now(),
            lag_alert_s,
        };
        let task = tokio::spawn(serve(listener, app(state), shutdown));
        tracing::info!(addr = %addr, "http endpoints up: /health /ready /metrics /api/status");
        Ok(Self { addr, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
