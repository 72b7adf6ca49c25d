//! Running a pipeline: open the sink, resume the source from the sink's
//! checkpoint, move events through the bounded channel and the batcher,
//! commit, then acknowledge. Transient failures restart the attempt from
//! the last checkpoint after a backoff; a shutdown commits what is complete
//! and returns.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use watershed_events::{Event, Position, RetryHint, TableAction, TableName};
use watershed_sinks::Sink;
use watershed_sources::{Source, SourceError};

use super::batcher::Batcher;
use super::channel::{ChunkReceiver, ChunkSender, bounded};
use super::progress::Progress;
use super::retry::backoff;
use super::shutdown::{Shutdown, ShutdownTrigger};
use crate::config::{OnTableError, PipelineConfig, SchemaChanges};
use crate::derived::Derived;
use crate::error::PipelineError;
use crate::metrics::Metrics;
use crate::transform::Transformer;

/// What a run shares with the rest of the process.
#[derive(Clone)]
pub struct RunOptions {
    pub metrics: Arc<Metrics>,
    pub progress: Arc<Progress>,
    pub shutdown: Shutdown,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Rows committed by this process.
    pub rows: u64,
    pub batches: u64,
    /// The last committed position (from an earlier run if nothing new).
    pub position: Option<Position>,
    /// Stopped by the shutdown signal rather than by the source's end.
    pub interrupted: bool,
    pub elapsed: Duration,
}

/// Replays started at once before they count as failures (a group that
/// rebalances without letting anyone commit).
const MAX_IMMEDIATE_REPLAYS: u32 = 8;

/// Runs until the source is exhausted, the shutdown fires, or a fatal error.
pub async fn run<S, K>(
    mut source: S,
    sink: &mut K,
    config: Arc<PipelineConfig>,
    options: RunOptions,
) -> Result<RunSummary, PipelineError>
where
    S: Source + 'static,
    K: Sink,
{
    let started = Instant::now();
    // Different per process, so pipelines failing together spread out.
    let clock = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    let jitter_seed = u64::from(std::process::id()) ^ clock.map_or(0, |d| d.subsec_nanos().into());
    let mut failures = 0;
    // Replays in a row without a commit between them, started at once.
    let mut replays = 0;
    let mut position = None;
    // Tables to isolate whenever an attempt opens, until a commit has made
    // their state durable; a table failing again before that is fatal.
    let mut isolate: Vec<(TableName, String)> = Vec::new();
    loop {
        let batches_before = options.progress.batches();
        let (returned, outcome) = attempt(source, sink, &config, &options, &isolate).await;
        source = returned.ok_or_else(|| PipelineError::Task("the source task panicked".into()))?;
        options.progress.set_ready(false);
        let error = match outcome {
            Ok(last) => {
                let interrupted = options.shutdown.is_triggered();
                return Ok(summary(&options, last.or(position), interrupted, started));
            }
            Err((error, last)) => {
                position = last.or(position);
                error
            }
        };
        if options.progress.batches() > batches_before {
            failures = 0;
            replays = 0;
            isolate.clear();
        }
        // Partitions changing hands is the group working, not a failure:
        // go again from the checkpoint without waiting, unless it keeps
        // happening without progress (then back off like any failure).
        if error.is_replay() && replays < MAX_IMMEDIATE_REPLAYS {
            replays += 1;
            tracing::info!(reason = %error, "replaying from the sink's checkpoint");
            continue;
        }
        options.metrics.error(error.kind());
        if let Some((table, reason)) = isolation(&error, &config)
            && !isolate.iter().any(|(t, _)| *t == table)
        {
            tracing::warn!(table = %table, error = %error, "isolating the table; the others go on from the last checkpoint");
            isolate.push((table, reason));
            continue;
        }
        failures += 1;
        if error.retry_hint() == RetryHint::Fatal {
            return Err(error);
        }
        if failures > config.retry.max_attempts {
            return Err(PipelineError::RetriesExhausted {
                retries: failures - 1,
                last: Box::new(error),
            });
        }
        let wait = backoff(&config.retry, failures, jitter_seed);
        tracing::warn!(error = %error, attempt = failures, wait_ms = wait.as_millis() as u64, "retrying from the last checkpoint");
        let mut shutdown = options.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            // Asked to stop while waiting: nothing is in flight, stop cleanly.
            _ = shutdown.wait() => return Ok(summary(&options, position, true, started)),
        }
    }
}

fn summary(
    options: &RunOptions,
    position: Option<Position>,
    interrupted: bool,
    started: Instant,
) -> RunSummary {
    RunSummary {
        rows: options.progress.rows_committed(),
        batches: options.progress.batches(),
        position,
        interrupted,
        elapsed: started.elapsed(),
    }
}

/// The table a failure should set aside, by the table's policies: a
/// refused schema change under `schema_changes: quarantine`, any other
/// table-attributed failure under `on_table_error: isolate`.
fn isolation(error: &PipelineError, config: &PipelineConfig) -> Option<(TableName, String)> {
    let PipelineError::Sink(sink) = error else {
        return None;
    };
    let table = sink.source_table()?;
    let policy = config.policy_for(table);
    let isolates = if sink.is_frozen_schema() {
        policy.schema_changes == SchemaChanges::Quarantine
    } else {
        policy.on_table_error == OnTableError::Isolate
    };
    isolates.then(|| (table.clone(), sink.to_string()))
}

type AttemptResult = Result<Option<Position>, (PipelineError, Option<Position>)>;

/// One attempt: open both ends, stream until done, then hand the source back.
async fn attempt<S, K>(
    mut source: S,
    sink: &mut K,
    config: &Arc<PipelineConfig>,
    options: &RunOptions,
    isolate: &[(TableName, String)],
) -> (Option<S>, AttemptResult)
where
    S: Source + 'static,
    K: Sink,
{
    let opened = async {
        let resume = sink.open().await?;
        source.open(resume.as_ref()).await?;
        // Applied again on every attempt until a commit carries the state:
        // isolating an isolated table changes nothing.
        for (table, reason) in isolate {
            let action = TableAction::Isolate {
                reason: reason.clone(),
            };
            if let Err(refused) = source.control(table, action).await {
                return Err(PipelineError::NotIsolated {
                    table: table.clone(),
                    reason: reason.clone(),
                    refused: refused.to_string(),
                });
            }
        }
        Ok::<_, PipelineError>(resume)
    }
    .await;
    let resume: Option<Position> = match opened {
        Ok(resume) => resume,
        Err(error) => return (Some(source), Err((error, None))),
    };
    let transformer = Transformer::new(config);
    // Aggregates and watches resume from the state committed with the
    // checkpoint.
    let mut derived = Derived::new(config);
    if let Some(derived) = &mut derived {
        if let Err(error) = derived.load(sink).await {
            return (Some(source), Err((error.into(), None)));
        }
        derived.set_committed(resume.clone());
    }
    tracing::info!(resume = %resume.as_ref().map_or("beginning".into(), ToString::to_string), "pipeline started");
    // Table states the checkpoint carries show before the first commit.
    if let Some(position) = &resume
        && options.progress.tables().committed(position)
    {
        options
            .metrics
            .table_states(&options.progress.tables().states());
    }
    options.progress.set_ready(true);

    let (tx, rx) = bounded(config.buffer.max_rows, config.buffer.max_bytes);
    let (ack_tx, ack_rx) = watch::channel(None);
    let (stop, stopped) = ShutdownTrigger::new();
    let reader = tokio::spawn(read_source(
        source,
        transformer,
        tx,
        ack_rx,
        stopped,
        options.clone(),
    ));

    let mut last = None;
    let mut batcher = Batcher::new(config.clone());
    let written = write_sink(
        sink,
        rx,
        &ack_tx,
        &mut batcher,
        &mut derived,
        options,
        &mut last,
    )
    .await;
    stop.trigger();
    let (source, read) = match reader.await {
        Ok((source, read)) => (Some(source), read),
        Err(e) => (
            None,
            Err(PipelineError::Source(SourceError::Transient {
                context: "source task".into(),
                message: e.to_string(),
            })),
        ),
    };
    let outcome = match (written, read) {
        // A broken transform stopped the reader: that is the cause.
        (_, Err(e)) if e.is_config() => Err((e, last)),
        (Err(e), _) => Err((e, last)),
        (Ok(()), Err(e)) => Err((e, last)),
        // Nothing new committed: the position is where this run resumed.
        (Ok(()), Ok(())) => Ok(last.or(resume)),
    };
    let Some(mut source) = source else {
        return (None, outcome);
    };
    // The reader has stopped: deliver the final acknowledgement here.
    if let Ok(Some(position)) = &outcome
        && let Err(e) = source.ack(position).await
    {
        let position = position.clone();
        return (Some(source), Err((e.into(), Some(position))));
    }
    (Some(source), outcome)
}

/// The source side: read chunks, pass them through the transforms, into
/// the channel; apply acknowledgements as they arrive, stop on `stopped`
/// or on the shutdown.
async fn read_source<S: Source>(
    mut source: S,
    mut transformer: Option<Transformer>,
    tx: ChunkSender,
    mut acks: watch::Receiver<Option<Position>>,
    mut stopped: Shutdown,
    options: RunOptions,
) -> (S, Result<(), PipelineError>) {
    let mut shutdown = options.shutdown.clone();
    let result = async {
        loop {
            options.progress.tables().serve(&mut source).await;
            let chunk = tokio::select! {
                biased;
                _ = stopped.wait() => return Ok(()),
                _ = shutdown.wait() => return Ok(()),
                chunk = source.next_chunk() => chunk?,
            };
            if acks.has_changed().unwrap_or(false) {
                let position = acks.borrow_and_update().clone();
                if let Some(position) = position {
                    source.ack(&position).await?;
                }
            }
            // Exhausted: dropping the sender ends the stream.
            let Some(events) = chunk else { return Ok(()) };
            if events.is_empty() {
                continue;
            }
            let rows = count_rows(&events, &options.metrics, "in");
            options.progress.read(rows);
            let events = match &mut transformer {
                Some(transformer) => transformer
                    .apply(events, &options.metrics)
                    .map_err(PipelineError::Config)?,
                None => events,
            };
            let sending = Instant::now();
            tokio::select! {
                biased;
                _ = stopped.wait() => return Ok(()),
                _ = shutdown.wait() => return Ok(()),
                sent = tx.send(events) => if sent.is_err() { return Ok(()) },
            }
            // Time spent here is the sink (or the channel's bounds) holding
            // the source back.
            tracing::trace!(
                rows,
                waited_ms = sending.elapsed().as_millis() as u64,
                "chunk sent"
            );
        }
    }
    .await;
    (source, result)
}

/// The sink side: batch, commit complete transactions with their position,
/// acknowledge after each commit; stage oversized transactions.
async fn write_sink<K: Sink>(
    sink: &mut K,
    mut rx: ChunkReceiver,
    acks: &watch::Sender<Option<Position>>,
    batcher: &mut Batcher,
    derived: &mut Option<Derived>,
    options: &RunOptions,
    last: &mut Option<Position>,
) -> Result<(), PipelineError> {
    let mut shutdown = options.shutdown.clone();
    // Stale watches on the wall clock find silence even when nothing
    // arrives: once a second while no batch is open.
    let ticking = derived.as_ref().is_some_and(Derived::needs_ticks);
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let deadline = batcher.deadline().unwrap_or_else(far_future);
        let (mut events, bytes_each) = tokio::select! {
            biased;
            _ = shutdown.wait() => break,
            chunk = rx.recv() => match chunk {
                Some(chunk) => {
                    let each = chunk.bytes / chunk.events.len().max(1);
                    (chunk.events.into_iter(), each)
                }
                None => break,
            },
            _ = tokio::time::sleep_until(deadline.into()) => (Vec::new().into_iter(), 0),
            _ = ticks.tick(), if ticking && batcher.deadline().is_none() => {
                let position = derived.as_ref().and_then(|d| d.committed().cloned());
                if let (Some(derived), Some(position)) = (derived.as_mut(), position) {
                    let derived_events = derived.tick();
                    if !derived_events.is_empty() {
                        // A transaction of its own, at the position
                        // already committed.
                        let mut events = vec![Event::Begin(watershed_events::TxBegin {
                            commit_time: None,
                        })];
                        events.extend(derived_events);
                        events.push(Event::Commit(watershed_events::TxCommit {
                            position: position.clone(),
                            commit_time: crate::transform::now(),
                        }));
                        sink.write(&events).await?;
                        sink.flush(&position).await?;
                        derived.publish(&options.metrics, &options.progress);
                    }
                }
                continue;
            }
        };
        // A chunk may hold many transactions: cut wherever the batch fills.
        loop {
            batcher.push_until_full(&mut events, bytes_each);
            if batcher.should_cut() {
                commit(sink, batcher, derived, acks, options, last).await?;
                if batcher.is_full() {
                    // One transaction outgrew the batch: stage it to free memory.
                    let mut partial = batcher.take_partial();
                    if let Some(derived) = derived {
                        derived.feed(&mut partial).map_err(PipelineError::Config)?;
                    }
                    sink.write(&partial).await?;
                }
            }
            if events.as_slice().is_empty() {
                break;
            }
        }
    }
    commit(sink, batcher, derived, acks, options, last).await
}

async fn commit<K: Sink>(
    sink: &mut K,
    batcher: &mut Batcher,
    derived: &mut Option<Derived>,
    acks: &watch::Sender<Option<Position>>,
    options: &RunOptions,
    last: &mut Option<Position>,
) -> Result<(), PipelineError> {
    let Some((mut events, position)) = batcher.take_committable() else {
        return Ok(());
    };
    if let Some(derived) = derived {
        derived.feed(&mut events).map_err(PipelineError::Config)?;
        derived.finish(&mut events);
        derived.publish(&options.metrics, &options.progress);
    }
    let started = Instant::now();
    sink.write(&events).await?;
    sink.flush(&position).await?;
    if let Some(derived) = derived {
        derived.set_committed(Some(position.clone()));
    }
    let took = started.elapsed();
    options.metrics.batch_committed(took.as_secs_f64());
    // The batch ends with its newest transaction's commit.
    if let Some(Event::Commit(newest)) = events.last() {
        let lag = options.metrics.batch_lag(newest.commit_time.micros);
        options.progress.set_lag(lag);
    }
    let rows = count_rows(&events, &options.metrics, "out");
    count_snapshot_rows(&events, &options.metrics);
    count_dead_letters(&events, &options.metrics);
    options.progress.committed(rows);
    if options.progress.tables().committed(&position) {
        options
            .metrics
            .table_states(&options.progress.tables().states());
    }
    tracing::debug!(rows, took_ms = took.as_millis() as u64, position = %position, "batch committed");
    acks.send_replace(Some(position.clone()));
    *last = Some(position);
    Ok(())
}

/// Adds the events' rows to `watershed_rows_total`, per table and op.
fn count_rows(events: &[Event], metrics: &Metrics, direction: &str) -> u64 {
    let mut counts: HashMap<(String, &'static str), u64> = HashMap::new();
    let mut current: Option<(&Arc<watershed_events::TableSchema>, &'static str, u64)> = None;
    let mut total = 0;
    for event in events {
        let Event::Change(change) = event else {
            continue;
        };
        total += 1;
        let op = change.op.as_str();
        match &mut current {
            Some((table, current_op, n))
                if Arc::ptr_eq(table, &change.table) && *current_op == op =>
            {
                *n += 1
            }
            _ => {
                if let Some((table, op, n)) = current.take() {
                    *counts.entry((table.name.to_string(), op)).or_default() += n;
                }
                current = Some((&change.table, op, 1));
            }
        }
    }
    if let Some((table, op, n)) = current {
        *counts.entry((table.name.to_string(), op)).or_default() += n;
    }
    for ((table, op), n) in counts {
        metrics.add_rows(&table, op, direction, n);
    }
    total
}

/// Adds the rows of the batch's snapshot transactions (those committing
/// at a snapshot position) to their tables' snapshot progress.
fn count_snapshot_rows(events: &[Event], metrics: &Metrics) {
    let is_snapshot = |e: &Event| matches!(e, Event::Commit(c) if matches!(c.position, Position::MysqlSnapshot(_)));
    // Streaming batches, the common case, pay one scan and no allocation.
    if !events.iter().rev().any(is_snapshot) {
        return;
    }
    let mut pending: HashMap<String, u64> = HashMap::new();
    // Rows of one table come in runs: its name is rendered once per run,
    // not once per row.
    let mut run: Option<(&Arc<watershed_events::TableSchema>, u64)> = None;
    for event in events {
        match event {
            Event::Change(change) => match &mut run {
                Some((table, rows)) if Arc::ptr_eq(table, &change.table) => *rows += 1,
                _ => end_run(run.replace((&change.table, 1)), &mut pending),
            },
            Event::Commit(commit) => {
                end_run(run.take(), &mut pending);
                if let Position::MysqlSnapshot(progress) = &commit.position {
                    for (table, rows) in pending.drain() {
                        metrics.snapshot_progress(&table, rows, progress.tables_done.len());
                    }
                }
                pending.clear();
            }
            Event::Begin(_) | Event::Schema(_) | Event::DeadLetter(_) | Event::State(_) => {}
        }
    }
}

/// Adds a run of one table's rows to the per-table counts.
fn end_run(
    run: Option<(&Arc<watershed_events::TableSchema>, u64)>,
    pending: &mut HashMap<String, u64>,
) {
    if let Some((table, rows)) = run {
        *pending.entry(table.name.to_string()).or_default() += rows;
    }
}

/// Adds the batch's dead letters to `watershed_dead_letters_total`.
fn count_dead_letters(events: &[Event], metrics: &Metrics) {
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for event in events {
        if let Event::DeadLetter(letter) = event {
            *counts.entry(letter.origin.as_str()).or_default() += 1;
        }
    }
    for (origin, n) in counts {
        metrics.dead_letters(origin, n);
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400)
}
