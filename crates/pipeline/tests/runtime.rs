//! The runtime driven end to end with test doubles: batch bounds by rows,
//! bytes and time, bounded memory under a slow sink, oversized
//! transactions, checkpoint-then-acknowledge, resume, retry and shutdown.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{
    Failure, RecordingSink, Script, ScriptedSource, Shared, SinkRecord, config, conflict,
    eventually, lock, position, refused, start, timed_out,
};
use watershed_pipeline::PipelineError;
use watershed_sinks::SinkError;

/// Settings under which only the row bound (or the end) cuts a batch.
fn rows_only(max_rows: u64) -> String {
    format!("defaults: {{ batch: {{ max_rows: {max_rows}, max_delay_ms: 60000 }} }}\n")
}

fn assert_committed_in_order(record: &SinkRecord, rows: std::ops::Range<u64>) {
    assert!(
        record.breaches.is_empty(),
        "sink contract breached: {:?}",
        record.breaches
    );
    assert_eq!(
        record.committed.len() as u64,
        rows.end - rows.start,
        "rows committed"
    );
    assert!(
        record.committed.iter().copied().eq(rows),
        "rows committed once each, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_of_single_row_transactions_are_cut_at_max_rows() {
    let shared = Arc::new(Shared::default());
    // 30 transactions to a chunk: a chunk may straddle a batch bound.
    let script = Script {
        tx_rows: 1,
        total_rows: Some(10_000),
        chunk_events: 90,
        ..Script::default()
    };
    let source = ScriptedSource::new(script, &shared);
    let sink = RecordingSink::new(&shared);
    let record = sink.record.clone();

    let (result, _) = start(source, sink, config("bounds", &rows_only(100)))
        .finish()
        .await;
    let summary = result.expect("the run succeeds");
    assert!(!summary.interrupted);
    assert_eq!(summary.position, Some(position(10_000)));

    let record = lock(&record);
    assert_committed_in_order(&record, 0..10_000);
    let sizes: Vec<usize> = record.batches.iter().map(|b| b.rows).collect();
    assert!(
        sizes.iter().all(|&rows| rows <= 100),
        "a batch exceeds 100 rows: {sizes:?}"
    );
    assert_eq!(
        sizes.len(),
        100,
        "batches are cut at the bound, not before: {sizes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_overshoots_max_rows_by_less_than_one_transaction() {
    let shared = Arc::new(Shared::default());
    let script = Script {
        tx_rows: 7,
        total_rows: Some(7_000),
        chunk_events: 64,
        ..Script::default()
    };
    let source = ScriptedSource::new(script, &shared);
    let sink = RecordingSink::new(&shared);
    let record = sink.record.clone();

    let (result, _) = start(source, sink, config("bounds", &rows_only(100)))
        .finish()
        .await;
    result.expect("the run succeeds");

    let record = lock(&record);
    assert_committed_in_order(&record, 0..7_000);
    for batch in &record.batches {
        assert_eq!(batch.rows % 7, 0, "batches end at transaction boundaries");
        assert!(
            batch.rows < 100 + 7,
            "{} rows: more than one transaction past the bound",
            batch.rows
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_source_still_gets_its_rows_committed_after_max_delay() {
    let shared = Arc::new(Shared::default());
    let script = Script {
        tx_rows: 1,
        total_rows: Some(20),
        chunk_events: 1000,
        then_idle: true,
        ..Script::default()
    };
    let source = ScriptedSource::new(script, &shared);
    let source_record = source.record.clone();
    let sink = RecordingSink::new(&shared);
    let record = sink.record.clone();
    let settings = "defaults: { batch: { max_rows: 100000, max_delay_ms: 300 } }\n";
    let running = start(source, sink, config("idle", settings));

    let committed = eventually(|| lock(&record).committed.len() == 20).await;
    assert!(committed, "the rows are committed while the source is idle");
    assert!(
        !running.task.is_finished(),
        "the run is still going: the commit was not its end"
    );
    {
        let record = lock(&record);
        let source = lock(&source_record);
        let batch = &record.batches[0];
        let first_row = source.first_row_at.expect("rows were produced");
        let idle = source.idle_since.expect("the source went idle");
        assert!(
            batch.at >= first_row + Duration::from_millis(300),
            "cut before max_delay"
        );
        assert!(
            batch.at > idle,
            "committed only once the source had nothing more to say"
        );
    }

    running.trigger.trigger();
    let (result, _) = running.finish().await;
    let summary = result.expect("a shutdown is not an error");
    assert!(summary.interrupted);
    let record = lock(&record);
    assert_committed_in_order(&record, 0..20);
    assert_eq!(record.batches.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_with_its_own_max_rows_cuts_the_batches_it_is_in() {
    let shared = Arc::new(Shared::default());
    // Rows 0..50 go to `small`, the rest to `big`.
    let script = Script {
        tx_rows: 1,
        total_rows: Some(2_050),
        chunk_events: 60,
        tables: vec![(50, "small"), (u64::MAX, "big")],
        ..Script::default()
    };
    let source = ScriptedSource::new(script, &shared);
    let sink = RecordingSink::new(&shared);
    let record = sink.record.clone();
    let settings = format!(
        "{}tables: {{ small: {{ batch: {{ max_rows: 5 }} }} }}\n",
        rows_only(1000)
    );

    let (result, _) = start(source, sink, config("per-table", &settings))
        .finish()
        .await;
    result.expect("the run succeeds");

    let record = lock(&record);
    assert_committed_in_order(&record, 0..2_050);
    let (with_small, big_only): (Vec<_>, Vec<_>) = record
        .batches
        .iter()
        .partition(|b| b.tables.contains("small"));
    let small_sizes: Vec<usize> = with_small.iter().map(|b| b.rows).collect();
    assert_eq!(
        small_sizes, [5; 10],
        "batches holding `small` are cut at 5 rows"
    );
    let big_sizes: Vec<usize> = big_only.iter().map(|b| b.rows).collect();
    assert!(big_sizes.iter().all(|&rows| rows <= 1000), "{big_sizes:?}");
    assert!(
        big_sizes.iter().any(|&rows| rows > 5),
        "`small`'s bound leaked to `big`: {big_sizes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_sink_holds_back_a_fast_source_by_rows() {
    let shared = Arc::new(Shared::default());
    let chunk_rows = 100;
    let script = Script {
        tx_rows: 1,
        total_rows: Some(20_000),
        chunk_events: 3 * chunk_rows,
        ..Script::default()
    };
    let source = ScriptedSource::new(script, &shared);
    let mut sink = RecordingSink::new(&shared);
    sink.write_delay = Duration::from_millis(5);
    let record = sink.record.clone();
    let settings = format!("{}buffer: {{ max_rows: 1000 }}\n", rows_only(200));

    let (result, _) = start(source, sink, config("backpressure", &settings))
        .finish()
        .await;
    result.expect("the run succeeds");

    assert_committed_in_order(&lock(&record), 0..20_000);
    let in_flight = shared.flow.max_rows_in_flight();
    let bound = 1000 + 200 + chunk_rows as u64;
    assert!(
        in_flight <= bound,
        "{in_flight} rows in flight, bound {bound}"
    );
    assert!(
        in_flight >= 1000,
        "the buffer never filled ({in_flight} rows): nothing was tested"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_sink_holds_back_a_fast_source_by_bytes() {
    let shared = Arc::new(Shared::default());
    let script = Script {
        tx_rows: 1,
        total_rows: Some(60),
        chunk_events: 3,
        payload_bytes: 2_000_000,
        ..Script::default()
    };
    let source = ScriptedSource::new(script, &shared);
    let mut sink = RecordingSink::new(&shared);
    sink.write_delay = Duration::from_millis(20);
    let record = sink.record.clone();
    let (buffer, batch) = (8u64 << 20, 4u64 << 20);
    let settings = format!(
        "defaults: {{ batch: {{ max_bytes: {batch}, max_delay_ms: 60000 }} }}\n\
         buffer: {{ max_bytes: {buffer} }}\n"
    );

    let (result, _) = start(source, sink, config("big-rows", &settings))
        .finish()
        .await;
    result.expect("the run succeeds");

    assert_committed_in_order(&lock(&record), 0..60);
    let in_flight = shared.flow.max_bytes_in_flight();
    let bound = buffer + batch + shared.flow.max_chunk_bytes();
    assert!(
        in_flight <= bound,
        "{in_flight} bytes in flight, bound {bound}"
    );
    assert!(
        in_flight >= 4 * 2_000_000,
        "the buffer never filled ({in_flight} bytes)"
    );
    assert!(
        lock(&record).batches.iter().all(|b| b.rows <= 3),
        "batches are cut by bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_row_transaction_is_staged_piecewise_and_committed_once() {
    let shared = Arc::new(Shared::default());
    let total = 1_000_000;
    let chunk = 1000;
    let script = Script {
        tx_rows: total,
        total_rows: Some(total),
        chunk_events: chunk,
        ..Script::default()
    };
    let source = ScriptedSource::new(script, &shared);
    let source_record = source.record.clone();
    let sink = RecordingSink::new(&shared);
    let record = sink.record.clone();
    let (buffer, max_rows) = (50_000, 20_000);
    let settings = format!("{}buffer: {{ max_rows: {buffer} }}\n", rows_only(max_rows));

    let (result, _) = start(source, sink, config("huge", &settings))
        .finish()
        .await;
    let summary = result.expect("the run succeeds");
    assert_eq!(summary.position, Some(position(total)));

    let record = lock(&record);
    assert_committed_in_order(&record, 0..total);
    assert_eq!(record.batches.len(), 1, "one transaction, one flush");
    assert_eq!(record.flush_calls, 1);
    assert!(
        record.batches[0].writes > 1,
        "the transaction was not staged piecewise"
    );
    let bound = buffer + max_rows + chunk as u64;
    let in_flight = shared.flow.max_rows_in_flight();
    assert!(
        in_flight <= bound,
        "{in_flight} rows in flight, bound {bound}"
    );
    let received = lock(&source_record).received_at_commits.clone();
    assert_eq!(received.len(), 1);
    assert!(
        received[0] >= total - bound,
        "only {} rows had reached the sink when the commit was emitted",
        received[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_is_acknowledged_only_after_the_sink_flushed() {
    let shared = Arc::new(Shared::default());
    let script = Script {
        tx_rows: 5,
        total_rows: Some(5_000),
        chunk_events: 20,
        ..Script::default()
    };
    let source = ScriptedSource::new(script, &shared);
    let source_record = source.record.clone();
    let mut sink = RecordingSink::new(&shared);
    // Slow flushes leave an early acknowledgement time to show.
    sink.flush_delay = Duration::from_millis(2);
    let settings = format!("{}buffer: {{ max_rows: 200 }}\n", rows_only(50));

    let (result, _) = start(source, sink, config("acks", &settings))
        .finish()
        .await;
    result.expect("the run succeeds");

    let log = shared.log();
    let acks: Vec<(usize, &str)> = log
        .iter()
        .enumerate()
        .filter_map(|(i, line)| Some((i, line.strip_prefix("ack ")?)))
        .collect();
    for &(at, n) in &acks {
        let flushed = log.iter().position(|line| *line == format!("flushed {n}"));
        assert!(
            flushed.is_some_and(|f| f < at),
            "ack {n} before its flush: {log:?}"
        );
    }
    let end = log
        .iter()
        .position(|line| line == "end")
        .expect("the source ran out");
    assert!(
        acks.iter().any(|&(at, _)| at < end),
        "no acknowledgement while running: {log:?}"
    );
    assert_eq!(log.last().map(String::as_str), Some("ack 5000"));
    let acked: Vec<String> = lock(&source_record)
        .acks
        .iter()
        .map(ToString::to_string)
        .collect();
    let numbers: Vec<u64> = acks
        .iter()
        .map(|(_, n)| n.parse().expect("a number"))
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[0] <= w[1]),
        "acknowledgements go back: {acked:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_resumes_from_the_position_the_sink_holds() {
    let shared = Arc::new(Shared::default());
    let script = Script {
        tx_rows: 10,
        total_rows: Some(100),
        chunk_events: 7,
        ..Script::default()
    };
    let source = ScriptedSource::new(script, &shared);
    let source_record = source.record.clone();
    let sink = RecordingSink::new(&shared);
    lock(&sink.record).position = Some(position(40));
    let record = sink.record.clone();

    let (result, _) = start(source, sink, config("resume", &rows_only(25)))
        .finish()
        .await;
    let summary = result.expect("the run succeeds");

    assert_eq!(lock(&source_record).opens, [Some(position(40))]);
    assert_committed_in_order(&lock(&record), 40..100);
    assert_eq!((summary.rows, summary.position), (60, Some(position(100))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_nothing_new_reports_the_position_it_resumed_from() {
    let shared = Arc::new(Shared::default());
    let script = Script {
        tx_rows: 10,
        total_rows: Some(100),
        ..Script::default()
    };
    let source = ScriptedSource::new(script, &shared);
    let source_record = source.record.clone();
    let sink = RecordingSink::new(&shared);
    lock(&sink.record).position = Some(position(100));
    let record = sink.record.clone();

    let (result, _) = start(source, sink, config("caught-up", &rows_only(25)))
        .finish()
        .await;
    let summary = result.expect("the run succeeds");

    assert_eq!((summary.rows, summary.batches), (0, 0));
    assert_eq!(summary.position, Some(position(100)));
    assert_eq!(lock(&record).flush_calls, 0);
    assert_eq!(lock(&source_record).opens, [Some(position(100))]);
}

/// 300 rows in transactions of 10, and a sink whose second flush fails
/// once with `error`.
fn three_hundred_rows_and_a_failing_flush(
    error: fn() -> SinkError,
) -> (ScriptedSource, RecordingSink) {
    let shared = Arc::new(Shared::default());
    let script = Script {
        tx_rows: 10,
        total_rows: Some(300),
        chunk_events: 25,
        ..Script::default()
    };
    let source = ScriptedSource::new(script, &shared);
    let mut sink = RecordingSink::new(&shared);
    sink.failure = Some(Failure {
        on_flush: 2,
        always: false,
        error,
    });
    (source, sink)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_sink_failure_is_retried_from_the_checkpoint_without_duplicates() {
    let (source, sink) = three_hundred_rows_and_a_failing_flush(timed_out);
    let source_record = source.record.clone();
    let record = sink.record.clone();
    let settings = format!(
        "{}retry: {{ initial_backoff_ms: 1, max_backoff_ms: 5 }}\n",
        rows_only(50)
    );

    let (result, metrics) = start(source, sink, config("retry", &settings))
        .finish()
        .await;
    let summary = result.expect("the run recovers");

    let record = lock(&record);
    assert_committed_in_order(&record, 0..300);
    assert_eq!(record.opens, 2, "the sink is reopened once");
    let first = record.batches[0].position.clone();
    assert_eq!(lock(&source_record).opens, [None, Some(first)]);
    assert_eq!(summary.rows, 300);
    let text = metrics.encode();
    for expected in [
        r#"watershed_errors_total{pipeline="retry",kind="sink"} 1"#,
        r#"watershed_rows_total{pipeline="retry",table="t",op="insert",direction="out"} 300"#,
    ] {
        assert!(
            text.lines().any(|line| line == expected),
            "missing {expected} in\n{text}"
        );
    }
}

/// A consumer group handing partitions over is not a failure: the run
/// replays from the checkpoint at once, with no retries allowed and a
/// backoff that would outlast the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_after_partitions_moved_is_not_a_failure() {
    let (source, sink) = three_hundred_rows_and_a_failing_flush(conflict);
    let record = sink.record.clone();
    let settings = format!(
        "{}retry: {{ max_attempts: 0, initial_backoff_ms: 600000, max_backoff_ms: 600000 }}\n",
        rows_only(50)
    );

    let (result, metrics) = start(source, sink, config("replay", &settings))
        .finish()
        .await;
    let summary = result.expect("a replay does not use up retries");

    let record = lock(&record);
    assert_committed_in_order(&record, 0..300);
    assert_eq!(record.opens, 2, "the sink is reopened once");
    assert_eq!(summary.rows, 300);
    assert!(
        !metrics.encode().contains("watershed_errors_total{"),
        "a replay is not counted as an error:\n{}",
        metrics.encode()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fatal_sink_error_stops_the_run_without_retrying() {
    let shared = Arc::new(Shared::default());
    let source = ScriptedSource::new(Script::default(), &shared);
    let source_record = source.record.clone();
    let mut sink = RecordingSink::new(&shared);
    sink.failure = Some(Failure {
        on_flush: 1,
        always: false,
        error: refused,
    });
    let record = sink.record.clone();
    let settings = format!(
        "{}retry: {{ initial_backoff_ms: 1, max_backoff_ms: 5 }}\n",
        rows_only(50)
    );

    let (result, metrics) = start(source, sink, config("fatal", &settings))
        .finish()
        .await;

    let error = result.expect_err("a refused batch ends the run");
    assert!(
        matches!(error, PipelineError::Sink(SinkError::Refused(_))),
        "{error:?}"
    );
    assert_eq!(lock(&record).opens, 1);
    assert!(lock(&record).committed.is_empty());
    assert_eq!(lock(&source_record).opens.len(), 1);
    assert!(
        lock(&source_record).acks.is_empty(),
        "nothing was committed, nothing acknowledged"
    );
    let expected = r#"watershed_errors_total{pipeline="fatal",kind="sink"} 1"#;
    assert!(metrics.encode().lines().any(|line| line == expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_that_keeps_coming_back_exhausts_the_retries() {
    let shared = Arc::new(Shared::default());
    let source = ScriptedSource::new(Script::default(), &shared);
    let mut sink = RecordingSink::new(&shared);
    sink.failure = Some(Failure {
        on_flush: 1,
        always: true,
        error: timed_out,
    });
    let record = sink.record.clone();
    let settings = format!(
        "{}retry: {{ max_attempts: 2, initial_backoff_ms: 1, max_backoff_ms: 5 }}\n",
        rows_only(50)
    );

    let (result, _) = start(source, sink, config("exhausted", &settings))
        .finish()
        .await;

    let error = result.expect_err("the failure never passes");
    let PipelineError::RetriesExhausted { retries, last } = error else {
        panic!("expected RetriesExhausted, got {error:?}");
    };
    assert_eq!(retries, 2);
    assert!(
        matches!(*last, PipelineError::Sink(SinkError::Io { .. })),
        "{last:?}"
    );
    assert_eq!(lock(&record).opens, 3, "the first try and two retries");
    assert!(lock(&record).committed.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_commits_complete_transactions_and_returns_interrupted() {
    let shared = Arc::new(Shared::default());
    let script = Script {
        tx_rows: 7,
        total_rows: None,
        chunk_events: 16,
        chunk_delay: Duration::from_millis(1),
        ..Script::default()
    };
    let source = ScriptedSource::new(script, &shared);
    let source_record = source.record.clone();
    let sink = RecordingSink::new(&shared);
    let record = sink.record.clone();
    let settings = format!("{}buffer: {{ max_rows: 100000 }}\n", rows_only(1_000_000));
    let running = start(source, sink, config("endless", &settings));

    let progress = running.progress.clone();
    assert!(
        eventually(|| progress.rows_read() >= 500).await,
        "the source produces rows"
    );
    assert_eq!(
        lock(&record).flush_calls,
        0,
        "nothing is due before the shutdown"
    );
    running.trigger.trigger();
    let (result, _) = running.finish().await;

    let summary = result.expect("a shutdown is not an error");
    assert!(summary.interrupted);
    let record = lock(&record);
    let committed = record.committed.len() as u64;
    assert!(committed > 0, "the shutdown committed what was complete");
    assert!(committed <= progress.rows_read());
    assert_eq!(committed % 7, 0, "a partial transaction was committed");
    assert_committed_in_order(&record, 0..committed);
    assert_eq!(record.batches.len(), 1);
    assert_eq!(summary.position, Some(position(committed)));
    assert_eq!(summary.rows, committed);
    assert_eq!(lock(&source_record).acks.last(), Some(&position(committed)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_drops_the_unfinished_transaction_and_keeps_the_finished_ones() {
    let shared = Arc::new(Shared::default());
    // Five transactions of 10 rows, then the first 3 rows of a sixth.
    let script = Script {
        tx_rows: 10,
        total_rows: Some(53),
        chunk_events: 8,
        then_idle: true,
        ..Script::default()
    };
    let source = ScriptedSource::new(script, &shared);
    let source_record = source.record.clone();
    let sink = RecordingSink::new(&shared);
    let record = sink.record.clone();
    let running = start(source, sink, config("partial", &rows_only(1000)));

    let idle = eventually(|| lock(&source_record).idle_since.is_some()).await;
    assert!(idle, "the source emitted everything");
    assert_eq!(running.progress.rows_read(), 53);
    // Let the sink side take in what is left in the channel.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        lock(&record).flush_calls,
        0,
        "nothing is due before the shutdown"
    );
    running.trigger.trigger();
    let (result, _) = running.finish().await;

    let summary = result.expect("a shutdown is not an error");
    assert!(summary.interrupted);
    assert_eq!(summary.position, Some(position(50)));
    assert_committed_in_order(&lock(&record), 0..50);
    assert_eq!(lock(&source_record).acks, [position(50)]);
}
