//! Running one pipeline with its HTTP endpoints and signal handling; shared
//! by `run` and `demo`.

use std::sync::Arc;

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};
use watershed_pipeline::config::PipelineConfig;
use watershed_pipeline::{
    Metrics, Progress, RunOptions, RunSummary, ShutdownTrigger, build_sink, build_source,
};

use crate::args::GlobalArgs;
use crate::exit::Failure;
use crate::serve::Http;

/// What a running pipeline shares with its command.
pub struct Running {
    pub progress: Arc<Progress>,
    pub trigger: ShutdownTrigger,
    pub url: String,
}

/// Runs `config` to its end or until a signal; `attach` may add tasks
/// (progress lines, a timer) once the endpoints are up.
pub async fn execute(
    config: PipelineConfig,
    global: &GlobalArgs,
    run_id: &str,
    attach: impl FnOnce(&Running),
) -> Result<(RunSummary, String), Failure> {
    let config = Arc::new(config);
    let metrics = Metrics::new(&config.name);
    let progress = Arc::new(Progress::default());
    let (trigger, shutdown) = ShutdownTrigger::new();
    let http = Http::start(
        global.listen,
        &config.name,
        run_id,
        metrics.clone(),
        progress.clone(),
        config.source.lag_alert_s(),
        shutdown.clone(),
    )
    .await
    .map_err(Failure::runtime)?;
    forward_signals(trigger.clone()).map_err(Failure::runtime)?;
    let running = Running {
        progress: progress.clone(),
        trigger: trigger.clone(),
        url: http.url(),
    };
    attach(&running);

    let source = build_source(&config);
    let mut sink = build_sink(&config);
    let options = RunOptions {
        metrics,
        progress,
        shutdown,
    };
    let outcome = watershed_pipeline::run(source, &mut sink, config.clone(), options).await;
    trigger.trigger();
    if let Ok(Err(e)) = http.task.await {
        tracing::warn!(error = %e, "http endpoints stopped with an error");
    }
    let summary = outcome.map_err(|e| {
        // A transform the data no longer fits is the file's problem.
        if e.is_config() {
            Failure::usage(anyhow::Error::new(e))
        } else {
            Failure::runtime(anyhow::Error::new(e))
        }
    })?;
    tracing::info!(
        pipeline = %config.name,
        rows = summary.rows,
        interrupted = summary.interrupted,
        "pipeline stopped"
    );
    Ok((summary, running.url))
}

/// The first SIGINT or SIGTERM commits the batch in flight and stops; a
/// second one exits at once.
fn forward_signals(trigger: ShutdownTrigger) -> anyhow::Result<()> {
    let mut interrupt = signal(SignalKind::interrupt()).context("install the SIGINT handler")?;
    let mut terminate = signal(SignalKind::terminate()).context("install the SIGTERM handler")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("signal received: committing the batch in flight, then stopping");
        trigger.trigger();
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        tracing::warn!("second signal: exiting without waiting");
        std::process::exit(130);
    });
    Ok(())
}
