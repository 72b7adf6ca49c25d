//! `transforms:` as a pipeline file writes it: steps in the order written,
//! and every mistake named by line and key before any I/O.

use std::path::Path;

use watershed_transforms::chain::StepSpec;

use crate::config::{ConfigError, Environment, PipelineConfig, load_str};

const SHOP: &str = "\
name: shop
source: { kind: mysql, url: \"mysql://app:pw@127.0.0.1:3306\", server_id: 5401, tables: [\"shop.*\"] }
sink:   { kind: postgres, url: \"postgres://dwh:pw@127.0.0.1:5432/dwh\", schema: raw }
mask_key: ${MASK}
transforms:
  - { table: \"shop.customers\", mask: { email: hash, phone: \"keep_last(4)\", full_name: fake, birth_date: \"null\", notes: redact } }
  - { table: \"shop.orders\", filter: \"status <> 'test'\" }
  - { table: \"shop.orders\", derive: { amount_with_vat: \"amount * 1.2\", order_day: \"date_trunc('day', created_at)\" } }
  - { table: \"shop.orders\", rename: { amt: amount }, drop: [internal_note], to: \"orders_clean\" }
";

const HB: &str = "\
name: hb
source: { kind: generator, stream: heartbeat, count: 10 }
sink:   { kind: sqlite, path: ./hb.db }
transforms:
  - table: heartbeat
    validate:
      - heart_rate between 20 and 250
      - ts <= now() + interval '1 minute'
";

fn load(text: &str) -> Result<PipelineConfig, ConfigError> {
    let env = Environment::from_pairs([("MASK", "k3y")]);
    load_str(text, Path::new("/etc/watershed"), &env)
}

fn error(text: &str) -> String {
    load(text).unwrap_err().to_string()
}

#[test]
fn the_issue_example_loads_with_steps_in_the_order_written() {
    let config = load(SHOP).unwrap();
    assert_eq!(config.transforms.len(), 4);
    assert_eq!(config.transforms[0].line, 6);
    assert_eq!(
        config.transforms[0].steps,
        [StepSpec::Mask(vec![
            ("email".into(), "hash".into()),
            ("phone".into(), "keep_last(4)".into()),
            ("full_name".into(), "fake".into()),
            ("birth_date".into(), "null".into()),
            ("notes".into(), "redact".into()),
        ])]
    );
    assert_eq!(
        config.transforms[2].steps,
        [StepSpec::Derive(vec![
            ("amount_with_vat".into(), "amount * 1.2".into()),
            ("order_day".into(), "date_trunc('day', created_at)".into()),
        ])]
    );
    assert_eq!(
        config.transforms[3].steps,
        [
            StepSpec::Rename(vec![("amt".into(), "amount".into())]),
            StepSpec::Drop(vec!["internal_note".into()]),
            StepSpec::To("orders_clean".into()),
        ]
    );
    let printed = serde_json::to_string(&config).unwrap();
    assert!(printed.contains(r#""mask_key":"***""#), "{printed}");
    assert!(!printed.contains("k3y"), "{printed}");
    assert!(
        printed.contains(
            r#"{"rename":{"amt":"amount"}},{"drop":["internal_note"]},{"to":"orders_clean"}"#
        ),
        "{printed}"
    );
}

#[test]
fn expressions_are_type_checked_against_declared_tables() {
    assert!(load(HB).is_ok());
    assert_eq!(
        error(&HB.replace("heart_rate between", "pulse between")),
        "line 7: transforms.0.validate.0: table heartbeat: `pulse between 20 and 250`: \
         no column `pulse` in table heartbeat"
    );
    assert_eq!(
        error(&HB.replace("ts <= now()", "ts <= 'x' ||")),
        "line 8: transforms.0.validate.1: table heartbeat: \
         `ts <= 'x' || + interval '1 minute'`: cannot compare timestamptz with text"
    );
    let not_a_condition = error(&HB.replace("heart_rate between 20 and 250", "heart_rate + 1"));
    assert!(
        not_a_condition.ends_with("`heart_rate + 1`: is bigint, not a condition"),
        "{not_a_condition}"
    );
    assert_eq!(
        error(&HB.replace("table: heartbeat", "table: heartbeats")),
        "line 5: transforms.0.table: `heartbeats` names no table the source produces \
         (it produces: heartbeat)"
    );
}

#[test]
fn mistakes_are_named_by_line_and_key_even_before_the_tables_are_known() {
    assert_eq!(
        error(&SHOP.replace("mask_key: ${MASK}\n", "")),
        "line 5: transforms.0.mask.email: `hash` needs a top-level `mask_key` \
         (e.g. mask_key: ${WATERSHED_MASK_KEY})"
    );
    assert!(
        error(&SHOP.replace("amount * 1.2", "amount * ")).starts_with(
            "line 8: transforms.2.derive.amount_with_vat: `amount * `: does not parse"
        )
    );
    assert_eq!(
        error(&SHOP.replace("redact", "scramble")),
        "line 6: transforms.0.mask.notes: `scramble` is not a mask: hash, redact, null, keep_last(N) or fake"
    );
    assert_eq!(
        error(&SHOP.replace("filter:", "filtre:")),
        "line 7: transforms.1.filtre: unknown key `filtre`, expected `table` or one of: \
         validate, filter, derive, mask, rename, drop, to"
    );
    assert_eq!(
        error(&SHOP.replace("table: \"shop.orders\", filter", "filter")),
        "line 7: transforms.1: missing key `table`"
    );
    assert_eq!(
        error(&SHOP.replace(
            "table: \"shop.orders\", filter",
            "table: \"crm.orders\", filter"
        )),
        "line 7: transforms.1.table: `crm.orders` is not among the tables the source captures \
         (source.tables: shop.*)"
    );
    assert_eq!(
        error(&SHOP.replace("drop: [internal_note]", "drop: { a: 1 }")),
        "line 9: transforms.3.drop: expected a column or a list of columns"
    );
}

const AGG: &str = "\
name: hb
source: { kind: generator, stream: heartbeat, count: 10 }
sink:   { kind: sqlite, path: ./hb.db }
aggregates:
  heartbeats_hourly:
    from: heartbeat
    window: { tumbling: 1h, on: ts }
    group_by: [customer_id]
    measures: { readings: \"count(*)\", avg_hr: \"avg(heart_rate)\" }
    lateness: 10m
stale:
  heartbeat: { key: customer_id, on: ts, after: 5m, table: stale_customers }
";

#[test]
fn aggregates_and_stale_keys_load_and_their_mistakes_are_named() {
    let config = load(AGG).unwrap();
    assert_eq!(config.aggregates[0].spec.measures[1].0, "avg_hr");
    assert_eq!(config.aggregates[0].spec.lateness, Some(600_000_000));
    assert_eq!(config.stale[0].after_ms, 300_000);
    let cases = [
        (
            AGG.replace("{ tumbling: 1h, on: ts }", "{ tumbling: 1h }"),
            "line 7: aggregates.heartbeats_hourly.window: missing key `on` (the event-time column)",
        ),
        (
            AGG.replace("avg(heart_rate)", "heart_rate * 2"),
            "line 9: aggregates.heartbeats_hourly.measures.avg_hr: `heart_rate * 2`: is not an \
             aggregate function: use count(*), count, sum, avg, min, max, stddev or variance",
        ),
        (
            AGG.replace("after: 5m", "after: soon"),
            "line 12: stale.heartbeat.after: `soon` is not a duration (e.g. 30s, 10m, 1h, 1d)",
        ),
        (
            AGG.replace("on: ts }\n    group_by", "on: heart_rate }\n    group_by"),
            "line 7: aggregates.heartbeats_hourly.window.on: table heartbeat: `heart_rate` is not \
             a timestamp column",
        ),
        (
            AGG.replace("from: heartbeat", "from: heartbeats"),
            "line 6: aggregates.heartbeats_hourly.from: `heartbeats` names no table the \
             transforms produce (they produce: heartbeat)",
        ),
        (
            AGG.replace(
                "{ kind: sqlite, path: ./hb.db }",
                "{ kind: jsonl, path: ./hb.jsonl }",
            ),
            "line 4: aggregates: aggregates keep their state in the sink, beside their rows: use \
             a postgres or sqlite sink",
        ),
        (
            AGG.replace("key: customer_id", "key: client"),
            "line 12: stale.heartbeat.key: table heartbeat: no column `client` in table heartbeat",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(error(&text), expected);
    }
}
