use std::path::Path;

use watershed_events::TableName;
use watershed_sources::generator::{Rate, StreamKind};

use super::*;
use crate::config::{BatchSettings, OnTableError, SchemaChanges, TablePolicy};

const HB: &str = "\
name: hb
source: { kind: generator, stream: heartbeat, seed: 7, count: 200000, rate: unbounded }
sink:   { kind: sqlite, path: ./hb.db }
";

const SHOP: &str = "\
name: shop
source: { kind: mysql, url: \"mysql://app:pw@127.0.0.1:3306\", server_id: 5401, tables: [\"shop.*\"] }
sink:   { kind: postgres, url: \"postgres://dwh:pw@127.0.0.1:5432/dwh\", schema: raw }
";

fn load(text: &str) -> Result<PipelineConfig, ConfigError> {
    load_str(text, Path::new("/etc/watershed"), Environment::empty())
}

fn load_env(text: &str, vars: &[(&str, &str)]) -> Result<PipelineConfig, ConfigError> {
    load_str(
        text,
        Path::new("/etc/watershed"),
        &Environment::from_pairs(vars.iter().copied()),
    )
}

fn error(text: &str) -> String {
    load(text).unwrap_err().to_string()
}

#[test]
fn the_issue_example_loads_with_paths_relative_to_the_file() {
    let config = load(HB).unwrap();
    assert_eq!(config.name, "hb");
    let SourceConfig::Generator(generator) = &config.source else {
        panic!("not a generator: {config:?}")
    };
    assert_eq!(generator.stream, StreamKind::Heartbeat);
    assert_eq!(
        (generator.seed, generator.count, generator.rate),
        (7, Some(200_000), Rate::Unbounded)
    );
    let SinkConfig::Sqlite(sqlite) = &config.sink else {
        panic!("not sqlite: {config:?}")
    };
    assert_eq!(sqlite.path, Path::new("/etc/watershed/hb.db"));
}

#[test]
fn jsonl_to_stdout_keeps_its_dash() {
    let config = load(&HB.replace(
        "{ kind: sqlite, path: ./hb.db }",
        "{ kind: jsonl, path: \"-\" }",
    ))
    .unwrap();
    assert!(matches!(&config.sink, SinkConfig::Jsonl(j) if j.is_stdout()));
}

#[test]
fn unknown_keys_name_the_key_and_its_line() {
    let text = HB.replace("seed: 7", "sed: 7");
    assert_eq!(
        error(&text),
        "line 2: source.sed: unknown field `sed`, expected one of `stream`, `seed`, `count`, `rate`, `start_time`, `interval_ms`, `customers`, `invalid_fraction`, `drift`"
    );
    let top = error(&format!("{HB}sinks: {{}}\n"));
    assert!(
        top.starts_with("line 4: sinks: unknown field `sinks`"),
        "{top}"
    );
    let nested = error(&format!("{HB}defaults:\n  batch:\n    max_row: 5\n"));
    assert!(
        nested.starts_with("line 6: defaults.batch.max_row: unknown field"),
        "{nested}"
    );
}

#[test]
fn malformed_values_name_the_key_and_its_line() {
    let count = error(&HB.replace("count: 200000", "count: lots"));
    assert!(
        count.starts_with("line 2: source.count: invalid type: string \"lots\""),
        "{count}"
    );
    let rate = error(&HB.replace("rate: unbounded", "rate: fast"));
    assert!(rate.contains("source.rate: invalid rate `fast`"), "{rate}");
    let stream = error(&HB.replace("stream: heartbeat", "stream: pulses"));
    assert!(
        stream.contains("source.stream: unknown variant `pulses`"),
        "{stream}"
    );
    let start = error(&HB.replace("rate: unbounded", "start_time: yesterday"));
    assert!(
        start.contains("source.start_time: invalid timestamp `yesterday`"),
        "{start}"
    );
}

#[test]
fn kinds_are_checked() {
    let unknown = error(&HB.replace("kind: sqlite", "kind: oracle"));
    assert_eq!(
        unknown,
        "line 3: sink.kind: unknown sink kind `oracle`, expected one of: sqlite, jsonl, postgres, kafka"
    );
    let missing = error(&HB.replace("kind: generator, ", ""));
    assert!(
        missing.starts_with("line 2: source: missing key `kind`"),
        "{missing}"
    );
    let scalar = error("name: x\nsource: generator\nsink: { kind: jsonl, path: a }\n");
    assert!(
        scalar.starts_with("line 2: source: expected a mapping with `kind`"),
        "{scalar}"
    );
}

#[test]
fn missing_required_keys_are_named() {
    let no_sink = error("name: hb\nsource: { kind: generator, stream: heartbeat }\n");
    assert!(no_sink.contains("missing field `sink`"), "{no_sink}");
    let no_stream = error(&HB.replace("stream: heartbeat, ", ""));
    assert!(
        no_stream.starts_with("line 2: source: missing field `stream`"),
        "{no_stream}"
    );
    let no_path = error(&HB.replace(", path: ./hb.db", ""));
    assert!(
        no_path.starts_with("line 3: sink: missing field `path`"),
        "{no_path}"
    );
}

#[test]
fn validation_errors_name_their_keys() {
    let cases = [
        (
            "name: hb",
            "name: \"bad name!\"",
            "line 1: name: must be non-empty",
        ),
        ("name: hb", "name: \"\"", "line 1: name: must be non-empty"),
    ];
    for (from, to, expected) in cases {
        let message = error(&HB.replace(from, to));
        assert!(message.starts_with(expected), "{message}");
    }
    let zero_rows = error(&format!("{HB}defaults: {{ batch: {{ max_rows: 0 }} }}\n"));
    assert!(
        zero_rows.starts_with("line 4: defaults.batch.max_rows: must be at least 1"),
        "{zero_rows}"
    );
    let zero_table = error(&format!(
        "{HB}tables:\n  heartbeat:\n    batch: {{ max_bytes: 0 }}\n"
    ));
    assert!(
        zero_table.starts_with("line 6: tables.heartbeat.batch.max_bytes: must be at least 1"),
        "{zero_table}"
    );
    let schema = error(&format!(
        "{HB}schemas:\n  shop: {{ batch: {{ max_rows: 0 }} }}\n"
    ));
    assert!(
        schema.starts_with("line 5: schemas.shop.batch.max_rows"),
        "{schema}"
    );
    let retry = error(&format!(
        "{HB}retry: {{ initial_backoff_ms: 9000, max_backoff_ms: 10 }}\n"
    ));
    assert!(
        retry.starts_with("line 4: retry.initial_backoff_ms: must be at least 1"),
        "{retry}"
    );
    let buffer = error(&format!("{HB}buffer: {{ max_bytes: 10 }}\n"));
    assert!(
        buffer.starts_with("line 4: buffer: needs max_rows"),
        "{buffer}"
    );
    let syntax = error("name: hb\nsource: [\n");
    assert!(syntax.starts_with("line "), "{syntax}");
    assert!(syntax.contains("invalid YAML"), "{syntax}");
    let not_a_map = error("- just\n- a list\n");
    assert!(
        not_a_map.contains("(top level): expected a mapping"),
        "{not_a_map}"
    );
}

#[test]
fn env_interpolation_fills_values_and_keeps_types() {
    // Block style takes a bare interpolation; flow style `{ }` needs quotes.
    let text = "name: hb\nsource:\n  kind: generator\n  stream: heartbeat\n  count: ${COUNT}\n\
                sink: { kind: sqlite, path: \"${DIR}/hb.db\" }\n";
    let config = load_env(text, &[("COUNT", "42"), ("DIR", "/data")]).unwrap();
    let SourceConfig::Generator(generator) = &config.source else {
        panic!("not a generator: {config:?}")
    };
    assert_eq!(generator.count, Some(42));
    assert!(matches!(&config.sink, SinkConfig::Sqlite(s) if s.path == Path::new("/data/hb.db")));
}

#[test]
fn an_unset_env_variable_names_the_variable_key_and_line() {
    let text = HB.replace("./hb.db", "\"${DATA_DIR}/hb.db\"");
    let message = load_env(&text, &[]).unwrap_err().to_string();
    assert!(
        message.starts_with("line 3: sink.path: environment variable DATA_DIR is not set"),
        "{message}"
    );
}

#[test]
fn env_overrides_replace_keys_at_any_depth() {
    let vars = [
        ("WATERSHED_SINK__PATH", "/tmp/other.db"),
        ("WATERSHED_SOURCE__COUNT", "10"),
        ("WATERSHED_DEFAULTS__BATCH__MAX_ROWS", "500"),
        ("WATERSHED_LOG_FORMAT", "json"),
    ];
    let config = load_env(HB, &vars).unwrap();
    let SourceConfig::Generator(generator) = &config.source else {
        panic!("not a generator: {config:?}")
    };
    assert_eq!(generator.count, Some(10));
    assert!(matches!(&config.sink, SinkConfig::Sqlite(s) if s.path == Path::new("/tmp/other.db")));
    assert_eq!(config.defaults.batch.max_rows, Some(500));
}

#[test]
fn a_bad_override_names_the_variable() {
    let message = load_env(HB, &[("WATERSHED_SOURCE__CONT", "10")])
        .unwrap_err()
        .to_string();
    assert!(
        message
            .starts_with("environment variable WATERSHED_SOURCE__CONT: source.cont: unknown field"),
        "{message}"
    );
    let typed = load_env(HB, &[("WATERSHED_SOURCE__COUNT", "many")])
        .unwrap_err()
        .to_string();
    assert!(
        typed.starts_with("environment variable WATERSHED_SOURCE__COUNT: source.count"),
        "{typed}"
    );
}

#[test]
fn the_nearest_setting_wins() {
    let text = format!(
        "{HB}defaults: {{ batch: {{ max_rows: 1000, max_delay_ms: 50 }} }}
schemas:
  shop: {{ batch: {{ max_rows: 200, max_bytes: 4096 }} }}
tables:
  shop.orders: {{ batch: {{ max_rows: 7 }} }}
  heartbeat: {{ batch: {{ max_delay_ms: 5 }} }}
"
    );
    let config = load(&text).unwrap();
    let batch = |name: &str| config.batch_for(&TableName::parse(name));
    let built_in = BatchSettings::default();
    let orders = batch("shop.orders");
    assert_eq!(
        (
            orders.max_rows,
            orders.max_bytes,
            orders.max_delay.as_millis()
        ),
        (7, 4096, 50)
    );
    let customers = batch("shop.customers");
    assert_eq!((customers.max_rows, customers.max_bytes), (200, 4096));
    let other = batch("crm.people");
    assert_eq!(
        (other.max_rows, other.max_bytes),
        (1000, built_in.max_bytes)
    );
    let heartbeat = batch("heartbeat");
    assert_eq!(
        (heartbeat.max_rows, heartbeat.max_delay.as_millis()),
        (1000, 5)
    );
}

#[test]
fn load_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.yaml");
    std::fs::write(&file, HB.replace("seed: 7", "seed: -1")).unwrap();
    let message = load_file(&file, Environment::empty())
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with(&format!("{}: line 2: source.seed", file.display())),
        "{message}"
    );
    let missing = load_file(&dir.path().join("nope.yaml"), Environment::empty()).unwrap_err();
    assert!(missing.to_string().contains("nope.yaml"), "{missing}");
}

#[test]
fn a_mysql_to_postgres_pipeline_loads_and_checks_its_keys() {
    let text = "name: shop
source: { kind: mysql, url: \"mysql://app:pw@127.0.0.1:3306\", server_id: 5401, tables: [\"shop.*\", \"!shop.tmp_*\"], snapshot: initial }
sink:   { kind: postgres, url: \"postgres://dwh:pw@127.0.0.1:5432/dwh\", schema: raw }
";
    let config = load(text).unwrap();
    let SourceConfig::Mysql(mysql) = &config.source else {
        panic!("not mysql")
    };
    assert_eq!(mysql.server_id, 5401);
    assert_eq!(mysql.tables, ["shop.*", "!shop.tmp_*"]);
    assert!(matches!(&config.sink, SinkConfig::Postgres(pg) if pg.schema == "raw"));
    let zero = error(&text.replace("5401", "0"));
    assert!(zero.starts_with("line 2: source: "), "{zero}");
    let dates = error(&text.replace("schema: raw", "schema: raw, zero_dates: someday"));
    assert!(dates.contains("sink.zero_dates: `someday`"), "{dates}");
    let substitute =
        load(&text.replace("schema: raw", "schema: raw, zero_dates: \"0001-01-01\"")).unwrap();
    assert!(
        matches!(&substitute.sink, SinkConfig::Postgres(pg) if pg.zero_dates.as_deref() == Some("0001-01-01"))
    );
    let typo = error(&text.replace("snapshot: initial", "snapshot: always"));
    assert!(
        typo.contains("source.snapshot: unknown variant `always`"),
        "{typo}"
    );
}

#[test]
fn heartbeat_keys_are_checked_and_reach_the_model() {
    let text = HB.replace(
        "seed: 7,",
        "seed: 7, customers: 50, invalid_fraction: 0.1, drift: true,",
    );
    let config = load(&text).unwrap();
    let SourceConfig::Generator(generator) = &config.source else {
        panic!("not a generator")
    };
    let model = generator.heartbeat();
    assert_eq!(
        (model.customers, model.invalid_fraction, model.drift),
        (50, 0.1, true)
    );
    let bad = error(&HB.replace("seed: 7,", "seed: 7, invalid_fraction: 1.5,"));
    assert!(
        bad.contains("source.invalid_fraction: must be between 0 and 1"),
        "{bad}"
    );
    let orders = error(
        &HB.replace("stream: heartbeat", "stream: orders")
            .replace("seed: 7,", "seed: 7, drift: true,"),
    );
    assert!(
        orders.contains("apply to stream: heartbeat only"),
        "{orders}"
    );
}

#[test]
fn policies_the_source_or_sink_cannot_carry_out_are_refused() {
    let isolate = error(&format!("{HB}defaults: {{ on_table_error: isolate }}\n"));
    assert!(
        isolate.contains("defaults.on_table_error: isolating a table needs a mysql source"),
        "{isolate}"
    );
    let freeze = error(&format!(
        "{HB}tables: {{ heartbeat: {{ schema_changes: freeze }} }}\n"
    ));
    assert!(
        freeze.contains("tables.heartbeat.schema_changes: freeze and quarantine are carried out by the postgres sink only"),
        "{freeze}"
    );
}

#[test]
fn table_policies_resolve_nearest_first_and_reject_unknown_values() {
    let text = format!(
        "{SHOP}defaults: {{ on_table_error: isolate }}
schemas:
  shop: {{ schema_changes: freeze }}
tables:
  shop.orders: {{ on_table_error: stop, schema_changes: quarantine }}
"
    );
    let config = load(&text).unwrap();
    let policy = |name: &str| config.policy_for(&TableName::parse(name));
    assert_eq!(
        policy("shop.orders"),
        TablePolicy {
            on_table_error: OnTableError::Stop,
            schema_changes: SchemaChanges::Quarantine
        }
    );
    assert_eq!(
        policy("shop.customers"),
        TablePolicy {
            on_table_error: OnTableError::Isolate,
            schema_changes: SchemaChanges::Freeze
        }
    );
    assert_eq!(policy("crm.people").schema_changes, SchemaChanges::Evolve);
    let typo = error(&text.replace("freeze", "frozen"));
    assert!(
        typo.contains("schemas.shop.schema_changes: unknown variant `frozen`"),
        "{typo}"
    );
}

#[test]
fn dead_letter_destinations_resolve_against_the_sink() {
    // Absent, `sink`, or the postgres sink's own database and schema: the
    // sink writes them, in the rows' transaction.
    assert_eq!(load(SHOP).unwrap().dead_letter, DeadLetterConfig::Sink);
    for same in [
        "dead_letter: { kind: postgres_table }",
        "dead_letter: { kind: postgres_table, schema: raw }",
        "dead_letter: { kind: sink }",
    ] {
        let config = load(&format!("{SHOP}{same}\n")).unwrap();
        assert_eq!(config.dead_letter, DeadLetterConfig::Sink, "{same}");
    }
    let other = load(&format!(
        "{SHOP}dead_letter: {{ kind: postgres_table, schema: errors }}\n"
    ))
    .unwrap();
    let DeadLetterConfig::PostgresTable(postgres) = &other.dead_letter else {
        panic!("{other:?}")
    };
    assert_eq!(postgres.schema, "errors");
    assert!(postgres.url.contains("127.0.0.1:5432/dwh"));

    let kafka = load(&format!(
        "{SHOP}dead_letter: {{ kind: kafka, brokers: \"k:9092\" }}\n"
    ))
    .unwrap();
    let DeadLetterConfig::Kafka(kafka) = &kafka.dead_letter else {
        panic!("{kafka:?}")
    };
    assert_eq!(kafka.dead_letter_topic(), "shop._dead_letters");
    assert!(kafka.exactly_once);

    let jsonl = load(&format!(
        "{HB}dead_letter: {{ kind: jsonl, path: letters.jsonl }}\n"
    ))
    .unwrap();
    let DeadLetterConfig::Jsonl(jsonl) = &jsonl.dead_letter else {
        panic!("{jsonl:?}")
    };
    assert_eq!(jsonl.path, Path::new("/etc/watershed/letters.jsonl"));
}

#[test]
fn bad_dead_letter_destinations_are_refused_naming_the_key() {
    let hb = |rest: &str| error(&format!("{HB}dead_letter: {rest}\n"));
    let message = hb("{ kind: postgres_table }");
    assert!(message.contains("dead_letter.url"), "{message}");
    assert!(message.contains("line 4"), "{message}");
    let message = hb("{ kind: s3 }");
    assert!(
        message.contains("dead_letter.kind") && message.contains("postgres_table, kafka, jsonl"),
        "{message}"
    );
    let message = hb("{ kind: kafka, brokers: \"k:9092\", topic: \"bad topic\" }");
    assert!(message.contains("dead_letter.topic"), "{message}");
    let message = hb("{ kind: kafka, topic: t }");
    assert!(message.contains("brokers"), "{message}");
    let message = hb("{ kind: sink, path: x }");
    assert!(message.contains("dead_letter.path"), "{message}");
    let jsonl_sink = HB.replace(
        "{ kind: sqlite, path: ./hb.db }",
        "{ kind: jsonl, path: ./hb.jsonl }",
    );
    let message = error(&format!(
        "{jsonl_sink}dead_letter: {{ kind: jsonl, path: hb.jsonl }}\n"
    ));
    assert!(
        message.contains("dead_letter.path") && message.contains("sink's own file"),
        "{message}"
    );
}
