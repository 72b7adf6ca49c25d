//! The transforms between source and sink: rejected changes become dead
//! letters in their transaction with masked columns masked, filtered
//! changes are counted, schema changes reach the target in the chain's
//! shape, and a dropped column a transform reads stops the pipeline.

use std::path::Path;

use watershed_events::{Column, Decimal, LogicalType, Position, TxBegin, TxCommit, Value};

use super::*;
use crate::config::{Environment, load_str};

const SHOP: &str = "\
name: shop
source: { kind: mysql, url: \"mysql://app:pw@127.0.0.1:3306\", server_id: 5401, tables: [\"shop.*\"] }
sink:   { kind: postgres, url: \"postgres://dwh:pw@127.0.0.1:5432/dwh\", schema: raw }
mask_key: s3cret
transforms:
  - { table: \"shop.orders\", validate: [\"amount >= 0\"], mask: { email: hash } }
  - { table: \"shop.orders\", filter: \"status <> 'test'\" }
  - { table: \"shop.orders\", derive: { with_vat: \"amount * 1.2\" }, to: orders_clean }
";

fn transformer() -> (Transformer, Arc<Metrics>) {
    let config = load_str(SHOP, Path::new("/tmp"), Environment::empty()).unwrap();
    (Transformer::new(&config).unwrap(), Metrics::new("shop"))
}

fn orders(with_amount: bool) -> Arc<TableSchema> {
    let mut columns = vec![
        Column::new("id", LogicalType::Int64, false),
        Column::new("email", LogicalType::Text { charset: None }, true),
        Column::new("status", LogicalType::Text { charset: None }, true),
    ];
    if with_amount {
        columns.push(Column::new(
            "amount",
            LogicalType::Decimal {
                precision: Some(10),
                scale: Some(2),
            },
            true,
        ));
    }
    Arc::new(TableSchema {
        name: TableName::new(Some("shop"), "orders"),
        columns,
        primary_key: vec!["id".into()],
        indexes: vec![],
        version: 1,
        foreign_keys: vec![],
        comment: None,
    })
}

fn row(id: i64, email: &str, status: &str, amount: &str) -> Vec<Value> {
    vec![
        Value::Int(id),
        Value::text(email),
        Value::text(status),
        Value::Decimal(Decimal::parse(amount).unwrap()),
    ]
}

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
fn rejected_changes_become_masked_dead_letters_in_their_transaction() {
    let (mut transformer, metrics) = transformer();
    let table = orders(true);
    let events = tx(vec![
        Event::Change(Change::insert(
            table.clone(),
            row(1, "ann@example.com", "new", "-5.00"),
        )),
        Event::Change(Change::insert(
            table.clone(),
            row(2, "bob@example.com", "test", "3.00"),
        )),
        Event::Change(Change::insert(
            table.clone(),
            row(3, "cy@example.com", "paid", "10.00"),
        )),
    ]);
    let out = transformer.apply(events, &metrics).unwrap();
    assert!(matches!(out.first(), Some(Event::Begin(_))));
    assert!(matches!(out.last(), Some(Event::Commit(_))));
    let Event::DeadLetter(letter) = &out[1] else {
        panic!("{:?}", out[1]);
    };
    assert_eq!(letter.origin, "shop.orders");
    assert_eq!(letter.error, "fails `amount >= 0` (amount = -5.00)");
    let value = String::from_utf8(letter.value.as_deref().unwrap().to_vec()).unwrap();
    assert!(!value.contains("ann@example.com"), "{value}");
    assert!(value.contains(r#""id":1"#), "{value}");
    assert_eq!(letter.key.as_deref(), Some(&br#"{"id":1}"#[..]));
    // Row 2 was filtered out; row 3 reaches the target in the chain's shape.
    assert_eq!(out.len(), 4);
    let Event::Change(kept) = &out[2] else {
        panic!("{:?}", out[2]);
    };
    assert_eq!(kept.table.name, TableName::new(None, "orders_clean"));
    let after = kept.after.as_ref().unwrap();
    assert_eq!(after[4], Value::Decimal(Decimal::parse("12.000").unwrap()));
    assert!(matches!(&after[1], Value::Text(h) if h.len() == 64));
    let text = metrics.encode();
    assert!(
        text.contains(r#"watershed_rows_filtered_total{pipeline="shop",table="shop.orders"} 1"#),
        "{text}"
    );
}

#[test]
fn schema_changes_reach_the_target_in_the_chains_shape() {
    let (mut transformer, metrics) = transformer();
    let out = transformer
        .apply(
            vec![Event::Schema(SchemaChange::new(orders(true)))],
            &metrics,
        )
        .unwrap();
    let Event::Schema(change) = &out[0] else {
        panic!("{out:?}");
    };
    assert_eq!(change.table.name.to_string(), "orders_clean");
    let names: Vec<&str> = change
        .table
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["id", "email", "status", "amount", "with_vat"]);
    // Changes of the same version share the announced schema.
    let insert = Change::insert(orders(true), row(4, "d@x", "new", "1.00"));
    let out = transformer
        .apply(vec![Event::Change(insert)], &metrics)
        .unwrap();
    let Event::Change(kept) = &out[0] else {
        panic!("{out:?}");
    };
    assert!(Arc::ptr_eq(&kept.table, &change.table));
}

#[test]
fn a_dropped_column_a_transform_reads_stops_naming_the_transform() {
    let (mut transformer, metrics) = transformer();
    let problem = transformer
        .apply(
            vec![Event::Schema(SchemaChange::new(orders(false)))],
            &metrics,
        )
        .unwrap_err();
    assert_eq!(
        problem.to_string(),
        "line 6: transforms.0.validate.0: table shop.orders: `amount >= 0`: \
         no column `amount` in table shop.orders"
    );
}

#[test]
fn records_the_source_could_not_read_lose_their_masked_fields() {
    let (transformer, _) = transformer();
    let letter = |value: &[u8]| DeadLetter {
        origin: "orders".into(),
        partition: 0,
        offset: 7,
        key: None,
        value: Some(Arc::from(value)),
        error: "bad".into(),
    };
    let json = transformer.scrub(letter(
        br#"{"after":{"id":1,"email":"ann@example.com"},"email":null}"#,
    ));
    assert_eq!(
        json.value.as_deref(),
        Some(&br#"{"after":{"email":"***","id":1},"email":null}"#[..])
    );
    let opaque = transformer.scrub(letter(b"ann@example.com;oops"));
    assert_eq!(opaque.value, None);
    assert!(opaque.error.contains("withheld"), "{}", opaque.error);
}
