//! Property tests of the pipeline file reader: real pipeline files (block
//! and flow YAML, every source and sink kind, env interpolation, batches,
//! policies, dead letters) mutated, and arbitrary text. Whatever the file
//! says, loading gives a config or an error naming a line or key — never a
//! panic. `scripts/fuzz` runs them long.

use std::path::Path;

use proptest::prelude::*;
use watershed_testkit::mutate::{apply_text, mutations};

use super::{Environment, load_str};

const SAMPLES: &[&str] = &[
    "name: shop
source:
  kind: mysql
  url: ${SHOP_DB_URL}
  server_id: 5401
  tables: [\"shop.*\", \"!shop.tmp_*\"]
  snapshot: initial
sink:
  kind: postgres
  url: postgres://dwh:pw@127.0.0.1/dwh
  schema: raw_shop
  zero_dates: \"0001-01-01\"
defaults:
  batch: { max_rows: 20000, max_delay_ms: 200 }
tables:
  shop.audit_log: { batch: { max_rows: 5000 } }
dead_letter: { kind: postgres_table }
",
    "name: heartbeats
source:
  kind: kafka
  brokers: \"127.0.0.1:9092\"
  group: heartbeats
  topics: [heartbeats]
  format: json
  table: heartbeats
  key: [event_id]
  columns: { event_id: bigint, customer_id: \"bigint [not null]\", ts: timestamptz, heart_rate: \"int [not null]\" }
  validate: [\"heart_rate between 20 and 250\", \"ts <= now()\"]
sink: { kind: postgres, url: \"postgres://user:pass@127.0.0.1:5432/dwh\", schema: raw }
dead_letter: { kind: kafka, brokers: \"127.0.0.1:9092\", topic: letters, exactly_once: false }
",
    "name: hb
source: { kind: generator, stream: heartbeat, seed: 7, count: 200000, rate: unbounded }
sink:   { kind: sqlite, path: ./hb.db }
",
    "name: to-kafka
source: { kind: mysql, url: \"mysql://app:pw@127.0.0.1:3306\", server_id: 7, tables: ['shop.orders'] }
sink: { kind: kafka, brokers: '127.0.0.1:9092', topic_prefix: shop, exactly_once: true }
# a comment
",
    "name: files\nsource: { kind: generator, stream: heartbeat }\nsink: { kind: jsonl, path: \"-\" }\n",
];

fn load(text: &str) {
    let env = Environment::from_pairs([("SHOP_DB_URL", "mysql://app:pw@127.0.0.1:3306")]);
    if let Err(error) = load_str(text, Path::new("/etc/watershed"), &env) {
        assert!(!error.to_string().is_empty());
    }
}

proptest! {
    #[test]
    fn mutated_pipeline_files_load_or_say_where_they_are_wrong(
        pick in 0usize..SAMPLES.len(),
        edits in mutations(),
    ) {
        load(&apply_text(SAMPLES[pick], &edits));
    }

    #[test]
    fn arbitrary_text_is_not_a_pipeline_file_that_panics(text in "\\PC{0,200}") {
        load(&text);
    }

    #[test]
    fn yaml_like_text_is_not_a_pipeline_file_that_panics(
        pieces in proptest::collection::vec(
            prop_oneof![
                Just("name:"), Just("source:"), Just("sink:"), Just("kind:"), Just("{"), Just("}"),
                Just("["), Just("]"), Just(","), Just("\n"), Just("  "), Just("- "), Just("&a"),
                Just("*a"), Just("!!str"), Just("${X}"), Just("\""), Just("'"), Just("#"),
                Just("mysql"), Just("postgres"), Just("batch:"), Just("max_rows: 5"), Just("|"),
                Just(">"), Just("---"), Just("..."), Just("?"), Just("<<: *a"),
            ],
            0..40,
        )
    ) {
        load(&pieces.join(" "));
    }
}

#[test]
fn the_samples_load_before_any_mutation() {
    let env = Environment::from_pairs([("SHOP_DB_URL", "mysql://app:pw@127.0.0.1:3306")]);
    for sample in SAMPLES {
        load_str(sample, Path::new("/etc/watershed"), &env)
            .unwrap_or_else(|e| panic!("{e}\n{sample}"));
    }
}
