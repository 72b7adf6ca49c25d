//! Aggregates and stale watches on the sink's side: their rows and state
//! go into the batch before its commit, and stale keys show on `/metrics`
//! and `/api/status`.

use std::path::Path;
use std::sync::Arc;

use watershed_events::{Position, Timestamp, TxBegin, TxCommit, Value};

use super::*;
use crate::config::{Environment, load_str};

fn tx(changes: Vec<Event>) -> Vec<Event> {
    let mut events = vec![Event::Begin(TxBegin { commit_time: None })];
    events.extend(changes);
    events.push(Event::Commit(TxCommit {
        position: Position::Generator { next_index: 1 },
        commit_time: Timestamp::from_micros(0),
    }));
    events
}

#[test]
fn stale_keys_show_on_metrics_and_status() {
    let text = "\
name: hb
source: { kind: generator, stream: heartbeat, count: 10 }
sink:   { kind: sqlite, path: ./hb.db }
stale:
  heartbeat: { key: customer_id, on: ts, after: 1m, table: stale_customers }
";
    let config = load_str(text, Path::new("/tmp"), Environment::empty()).unwrap();
    let mut derived = Derived::new(&config).unwrap();
    let metrics = Metrics::new("hb");
    let progress = crate::runtime::Progress::default();
    let table = Arc::new(watershed_sources::generator::table_schema(
        watershed_sources::generator::StreamKind::Heartbeat,
        &watershed_sources::generator::HeartbeatModel::new(0),
    ));
    let reading = |id: i64, customer: i64, minutes: i64| {
        Event::Change(Change::insert(
            table.clone(),
            vec![
                Value::Int(id),
                Value::Int(customer),
                Value::Timestamp(Timestamp::from_micros(minutes * 60_000_000)),
                Value::Int(70),
            ],
        ))
    };
    let mut out = tx(vec![reading(1, 7, 0), reading(2, 8, 5)]);
    derived.feed(&mut out).unwrap();
    derived.finish(&mut out);
    derived.publish(&metrics, &progress);
    assert!(matches!(out.last(), Some(Event::Commit(_))));
    // The episode row and the state travel in the transaction.
    assert!(
        out.iter()
            .any(|e| matches!(e, Event::Schema(s) if s.table.name.name == "stale_customers"))
    );
    assert!(
        out.iter()
            .any(|e| matches!(e, Event::State(s) if s.scope == "stale:stale_customers"))
    );
    let text = metrics.encode();
    assert!(
        text.contains(r#"watershed_stale_keys{pipeline="hb",table="stale_customers"} 1"#),
        "{text}"
    );
    let status = progress.stale();
    assert_eq!(status["stale_customers"]["count"], 1);
    assert_eq!(status["stale_customers"]["keys"][0]["key"], "7");
    assert_eq!(
        status["stale_customers"]["keys"][0]["last_seen"],
        "1970-01-01T00:00:00Z"
    );
}
