//! The chain on changes: validate rejects a whole update, a filter turns
//! updates into inserts and deletes, derive computes on both images, and
//! reshaping renames, drops and retargets the schema.

use std::sync::Arc;

use watershed_events::{Column, Decimal, LogicalType, TableName, TableSchema, Timestamp, Value};

use super::*;

fn orders() -> Arc<TableSchema> {
    Arc::new(TableSchema {
        name: TableName::new(Some("shop"), "orders"),
        columns: vec![
            Column::new("id", LogicalType::Int64, false),
            Column::new(
                "amount",
                LogicalType::Decimal {
                    precision: Some(10),
                    scale: Some(2),
                },
                true,
            ),
            Column::new(
                "status",
                LogicalType::Varchar {
                    length: Some(20),
                    charset: None,
                },
                true,
            ),
            Column::new("internal_note", LogicalType::Text { charset: None }, true),
        ],
        primary_key: vec!["id".into()],
        indexes: vec![],
        version: 1,
        foreign_keys: vec![],
        comment: None,
    })
}

fn row(id: i64, amount: &str, status: &str) -> Row {
    vec![
        Value::Int(id),
        Value::Decimal(Decimal::parse(amount).unwrap()),
        Value::text(status),
        Value::text("secret"),
    ]
}

fn cx() -> EvalContext {
    EvalContext {
        now: Timestamp::from_micros(0),
    }
}

fn chain(specs: &[StepSpec]) -> Chain {
    Chain::compile(specs, &orders(), Some(b"k")).unwrap_or_else(|e| panic!("{e}"))
}

fn ops(outcome: Outcome) -> Vec<ChangeOp> {
    match outcome {
        Outcome::Changes(changes) => changes.iter().map(|c| c.op).collect(),
        Outcome::Rejected { reason } => panic!("rejected: {reason}"),
    }
}

#[test]
fn a_filter_turns_updates_into_inserts_deletes_or_nothing() {
    let filter = chain(&[StepSpec::Filter("status <> 'test'".into())]);
    let update =
        |old: &str, new: &str| Change::update(orders(), row(1, "5.00", old), row(1, "5.00", new));
    assert_eq!(
        ops(filter.apply(&update("new", "paid"), &cx())),
        [ChangeOp::Update]
    );
    assert_eq!(
        ops(filter.apply(&update("new", "test"), &cx())),
        [ChangeOp::Delete]
    );
    assert_eq!(
        ops(filter.apply(&update("test", "new"), &cx())),
        [ChangeOp::Insert]
    );
    assert!(ops(filter.apply(&update("test", "test"), &cx())).is_empty());
    let insert = Change::insert(orders(), row(2, "1.00", "test"));
    assert!(ops(filter.apply(&insert, &cx())).is_empty());
    let delete = Change::delete(orders(), row(2, "1.00", "test"));
    assert!(ops(filter.apply(&delete, &cx())).is_empty());
    let Outcome::Changes(changes) = filter.apply(&update("new", "test"), &cx()) else {
        panic!("changes");
    };
    assert_eq!(
        changes[0].after, None,
        "a retraction carries only its old row"
    );
}

#[test]
fn validate_rejects_a_whole_update_by_its_new_row_and_never_a_delete() {
    let validate = chain(&[StepSpec::Validate(vec![
        "amount >= 0".into(),
        "status in ('new', 'paid')".into(),
    ])]);
    let bad = Change::update(orders(), row(1, "5.00", "new"), row(1, "-1.00", "new"));
    assert_eq!(
        validate.apply(&bad, &cx()),
        Outcome::Rejected {
            reason: "fails `amount >= 0` (amount = -1.00)".into()
        }
    );
    let delete = Change::delete(orders(), row(1, "-1.00", "bogus"));
    assert_eq!(ops(validate.apply(&delete, &cx())), [ChangeOp::Delete]);
    let mut unknown = row(3, "1.00", "new");
    unknown[1] = Value::Null;
    let insert = Change::insert(orders(), unknown);
    assert_eq!(
        ops(validate.apply(&insert, &cx())),
        [ChangeOp::Insert],
        "unknown passes"
    );
}

#[test]
fn derive_computes_on_both_images_and_errors_reject() {
    let derive = chain(&[StepSpec::Derive(vec![
        ("amount_with_vat".into(), "amount * 1.2".into()),
        ("per_unit".into(), "amount / id".into()),
    ])]);
    let output = derive.output();
    assert_eq!(output.columns.len(), 6);
    assert_eq!(
        output.columns[4].logical_type,
        LogicalType::Decimal {
            precision: None,
            scale: None
        }
    );
    let update = Change::update(orders(), row(2, "5.00", "new"), row(2, "10.00", "paid"));
    let Outcome::Changes(changes) = derive.apply(&update, &cx()) else {
        panic!("changes");
    };
    let vat = |r: &Option<Row>| r.as_ref().unwrap()[4].clone();
    assert_eq!(
        vat(&changes[0].before),
        Value::Decimal(Decimal::parse("6.000").unwrap())
    );
    assert_eq!(
        vat(&changes[0].after),
        Value::Decimal(Decimal::parse("12.000").unwrap())
    );
    let by_zero = Change::insert(orders(), row(0, "1.00", "new"));
    let Outcome::Rejected { reason } = derive.apply(&by_zero, &cx()) else {
        panic!("rejected");
    };
    assert!(reason.contains("division by zero"), "{reason}");
}

#[test]
fn rename_drop_and_to_reshape_rows_and_schema() {
    let reshape = chain(&[
        StepSpec::Rename(vec![("amount".into(), "amt".into())]),
        StepSpec::Drop(vec!["internal_note".into()]),
        StepSpec::To("orders_clean".into()),
        StepSpec::Filter("amt > 1".into()),
    ]);
    let output = reshape.output();
    assert_eq!(output.name, TableName::new(None, "orders_clean"));
    let names: Vec<&str> = output.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "amt", "status"]);
    let Outcome::Changes(changes) =
        reshape.apply(&Change::insert(orders(), row(1, "5.00", "new")), &cx())
    else {
        panic!("changes");
    };
    assert_eq!(changes[0].after.as_ref().unwrap().len(), 3);
    assert!(Arc::ptr_eq(&changes[0].table, output));
}

#[test]
fn bad_steps_name_the_table_column_or_expression() {
    let error = |specs: &[StepSpec]| {
        Chain::compile(specs, &orders(), Some(b"k"))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        error(&[StepSpec::Drop(vec!["id".into()])]),
        "table shop.orders: drop: `id` is part of the primary key, which the target needs"
    );
    assert_eq!(
        error(&[StepSpec::Rename(vec![("nope".into(), "x".into())])]),
        "table shop.orders: rename: no column `nope`"
    );
    assert_eq!(
        error(&[StepSpec::Filter("amount + 1".into())]),
        "`amount + 1`: is numeric, not a condition"
    );
    assert!(
        error(&[
            StepSpec::Drop(vec!["status".into()]),
            StepSpec::Filter("status = 'x'".into())
        ])
        .contains("no column `status`")
    );
    assert_eq!(
        error(&[StepSpec::Derive(vec![("status".into(), "1".into())])]),
        "table shop.orders: derive: column `status` exists already"
    );
}

#[test]
fn masks_apply_to_both_images_and_hash_needs_a_key() {
    let mask = chain(&[StepSpec::Mask(vec![
        ("internal_note".into(), "redact".into()),
        ("status".into(), "hash".into()),
    ])]);
    let update = Change::update(orders(), row(1, "5.00", "new"), row(1, "5.00", "paid"));
    let Outcome::Changes(changes) = mask.apply(&update, &cx()) else {
        panic!("changes");
    };
    for image in [&changes[0].before, &changes[0].after] {
        let image = image.as_ref().unwrap();
        assert_eq!(image[3], Value::text("***"));
        assert!(matches!(&image[2], Value::Text(t) if t.len() == 64));
    }
    let no_key = Chain::compile(
        &[StepSpec::Mask(vec![("status".into(), "hash".into())])],
        &orders(),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        no_key.contains("mask.status: `hash` needs `mask_key`"),
        "{no_key}"
    );
    let typo = Chain::compile(
        &[StepSpec::Mask(vec![("status".into(), "scramble".into())])],
        &orders(),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(typo.contains("`scramble` is not a mask"), "{typo}");
}

#[test]
fn a_rejected_row_shows_its_masked_columns_masked_whatever_the_steps_before() {
    let chain = chain(&[
        StepSpec::Rename(vec![("internal_note".into(), "note".into())]),
        StepSpec::Derive(vec![("twice".into(), "amount * 2".into())]),
        StepSpec::Mask(vec![("note".into(), "redact".into())]),
        StepSpec::Validate(vec!["amount > 0".into()]),
    ]);
    assert!(chain.masks());
    let redacted = chain.redact_input(&row(1, "-5.00", "new"));
    assert_eq!(redacted[3], Value::text("***"));
    assert_eq!(
        redacted[1],
        Value::Decimal(Decimal::parse("-5.00").unwrap())
    );
    assert_eq!(
        chain.describe(),
        [
            "rename: internal_note -> note",
            "derive: twice = amount * 2 (numeric)",
            "mask: note: redact",
            "validate: amount > 0 (boolean)",
        ]
    );
}

#[test]
fn reasons_show_the_values_read_except_masked_ones() {
    let chain = chain(&[
        StepSpec::Validate(vec!["amount > 0 or internal_note = 'ok'".into()]),
        StepSpec::Mask(vec![("internal_note".into(), "hash".into())]),
    ]);
    let reason = match chain.apply(&Change::insert(orders(), row(1, "-5.00", "new")), &cx()) {
        Outcome::Rejected { reason } => reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        reason,
        "fails `amount > 0 or internal_note = 'ok'` (amount = -5.00)"
    );
    assert!(!reason.contains("secret"));
}
