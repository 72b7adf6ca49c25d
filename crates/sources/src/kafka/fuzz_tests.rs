//! Property tests of the Kafka record decoders: Debezium records captured
//! from the real Debezium MySQL connector (the fixtures of the sinks'
//! compatibility tests) and plain JSON readings, mutated, and arbitrary
//! bytes. Whatever a record holds, the decoder gives a change, a skip or
//! an error that says why — never a panic. `scripts/fuzz` runs them long.

use std::sync::LazyLock;

use proptest::prelude::*;
use serde_json::Value as Json;
use watershed_events::Timestamp;
use watershed_testkit::mutate::{apply, mutations};

use super::config::{KafkaSourceConfig, SourceFormat};
use super::debezium::DebeziumDecoder;
use super::json::JsonDecoder;

const FIXTURES: &[&str] = &[
    include_str!("../../../sinks/tests/fixtures/debezium/mysql/snapshot.jsonl"),
    include_str!("../../../sinks/tests/fixtures/debezium/mysql/insert.jsonl"),
    include_str!("../../../sinks/tests/fixtures/debezium/mysql/update.jsonl"),
    include_str!("../../../sinks/tests/fixtures/debezium/mysql/update_pk.jsonl"),
    include_str!("../../../sinks/tests/fixtures/debezium/mysql/delete.jsonl"),
    include_str!("../../../sinks/tests/fixtures/debezium/mysql/truncate.jsonl"),
    include_str!("../../../sinks/tests/fixtures/debezium/mysql/schema_change.jsonl"),
    include_str!("../../../sinks/tests/fixtures/debezium/mysql/schemaless/insert.jsonl"),
];

/// A record's key and value, as the bytes Kafka carries.
type Record = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Every fixture record.
static RECORDS: LazyLock<Vec<Record>> = LazyLock::new(|| {
    let bytes = |v: &Json| match v {
        Json::Null => None,
        v => Some(v.to_string().into_bytes()),
    };
    FIXTURES
        .iter()
        .flat_map(|text| text.lines())
        .filter_map(|line| serde_json::from_str::<Json>(line).ok())
        .map(|record| (bytes(&record["key"]), bytes(&record["value"])))
        .collect()
});

fn readings() -> JsonDecoder {
    let mut config = KafkaSourceConfig::new("b:1", "g", vec!["readings".into()]);
    config.format = SourceFormat::Json;
    for (column, spelled) in [
        ("id", "bigint"),
        ("ts", "timestamptz"),
        ("rate", "int [not null]"),
        ("amount", "numeric(12,2)"),
        ("note", "varchar(20)"),
        ("ok", "boolean"),
        ("day", "date"),
        ("tags", "json"),
    ] {
        config.columns.insert(column.into(), spelled.into());
    }
    config.key = vec!["id".into()];
    config.validate = vec!["rate between 20 and 250".into(), "ts <= now()".into()];
    JsonDecoder::new(&config, "readings").expect("the readings decoder")
}

const READING: &str = r#"{"id": 7, "ts": "2025-12-31T23:59:00.5Z", "rate": 72, "amount": "12.50", "note": "ok", "ok": true, "day": "2025-12-31", "tags": {"a": [1, 2.5e3]}}"#;

proptest! {
    #[test]
    fn mutated_debezium_records_decode_or_say_why(
        pick in any::<proptest::sample::Index>(),
        warm in any::<bool>(),
        key_edits in mutations(),
        value_edits in mutations(),
        edit_key in any::<bool>(),
    ) {
        let (key, value) = &RECORDS[pick.index(RECORDS.len())];
        let mut decoder = DebeziumDecoder::default();
        if warm {
            // The record as captured first: the mutated one then meets the
            // decoder's schema cache, as on a real topic.
            let _ = decoder.decode(key.as_deref(), value.as_deref());
        }
        let key = key.as_deref().map(|k| if edit_key { apply(k, &key_edits) } else { k.to_vec() });
        let value = value.as_deref().map(|v| apply(v, &value_edits));
        if let Err(message) = decoder.decode(key.as_deref(), value.as_deref()) {
            prop_assert!(!message.is_empty());
        }
    }

    #[test]
    fn arbitrary_bytes_are_not_a_debezium_record_that_panics(
        key in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        value in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..256)),
    ) {
        let _ = DebeziumDecoder::default().decode(key.as_deref(), value.as_deref());
    }

    #[test]
    fn mutated_json_readings_decode_or_say_why(edits in mutations()) {
        let now = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").expect("a time");
        let value = apply(READING.as_bytes(), &edits);
        if let Err(message) = readings().decode(Some(&value), now) {
            prop_assert!(!message.is_empty());
        }
    }
}

#[test]
fn the_samples_decode_before_any_mutation() {
    assert!(RECORDS.len() >= 20, "{} fixture records", RECORDS.len());
    let now = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").expect("a time");
    assert!(
        readings()
            .decode(Some(READING.as_bytes()), now)
            .expect("decodes")
            .is_some()
    );
    let mut decoder = DebeziumDecoder::default();
    let (key, value) = &RECORDS[0];
    decoder
        .decode(key.as_deref(), value.as_deref())
        .expect("the first insert decodes");
}
