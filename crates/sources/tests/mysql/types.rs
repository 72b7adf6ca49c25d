//! The type matrix: every MySQL/MariaDB type with its edge values decodes
//! to the same exact [`Value`] in the snapshot and in the binlog.

use std::sync::Arc;

use watershed_events::{
    ChangeOp, Date, DateTime, Decimal, LogicalType, Position, TimeOfDay, Timestamp, Value,
};
use watershed_sources::mysql::SnapshotMode;

use crate::support::*;

const COLUMNS: &str = "
    id int PRIMARY KEY,
    ti tinyint, tu tinyint unsigned, si smallint, su smallint unsigned,
    mi mediumint, mu mediumint unsigned, i int, iu int unsigned,
    bi bigint, bu bigint unsigned, b1 tinyint(1),
    d65 decimal(65,30), d2 decimal(10,2), f float, dbl double,
    bit1 bit(1), bit5 bit(5), bit64 bit(64),
    ch char(5), vc varchar(300), tx text, lt text CHARACTER SET latin1,
    vl varchar(20) CHARACTER SET latin1,
    bin binary(4), vb varbinary(10), bl blob,
    dt date, tm time, tm6 time(6), dtm datetime(6), dtm0 datetime,
    ts timestamp(6) NULL DEFAULT NULL, ts0 timestamp NULL DEFAULT NULL, y year,
    e enum('small','medium','large'), s set('red','green','blue'),
    j json, u uuid";

/// Rows as SQL values, after the id.
const ROWS: [&str; 3] = [
    "-128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
     -9223372036854775808, 18446744073709551615, 1,
     '99999999999999999999999999999999999.999999999999999999999999999999', -12345678.90, 1.5, 0.1,
     b'1', b'10101', 0xFFFFFFFFFFFFFFFF,
     'ab', 'héllo 😀', '', '€uro café', 'Ÿ',
     0x00610000, 0x000102, 0x00FF00,
     '0000-00-00', '-838:59:59', '-12:34:56.789012', '2024-02-29 13:14:15.123456', '0000-00-00 00:00:00',
     '2038-01-19 03:14:07.999999', '0000-00-00 00:00:00', 2155,
     'large', 'red,blue', '{\"a\": [1, 2.5, \"x\"], \"b\": null}', '123e4567-e89b-12d3-a456-426614174000'",
    "127, 0, 32767, 0, 8388607, 0, 2147483647, 0,
     9223372036854775807, 0, 0,
     '-0.000000000000000000000000000001', 0, -3.25, -1e300,
     b'0', b'00000', 0,
     '', '', 'x', '', '',
     '', '', '',
     '1000-01-01', '838:59:59', '838:59:59', '1000-01-01 00:00:00.000001', '9999-12-31 23:59:59',
     '1970-01-01 00:00:01', '1970-01-01 00:00:01', 0,
     'small', '', '[]', '00000000-0000-0000-0000-000000000001'",
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL",
];

fn text(s: &str) -> Value {
    Value::text(s)
}

fn decimal(s: &str) -> Value {
    Value::Decimal(Decimal::parse(s).unwrap())
}

fn bytes(b: &[u8]) -> Value {
    Value::Bytes(Arc::from(b))
}

fn time(s: &str) -> Value {
    Value::Time(TimeOfDay::parse(s).unwrap())
}

fn datetime(s: &str) -> Value {
    Value::DateTime(DateTime::parse(s).unwrap())
}

fn instant(s: &str) -> Value {
    Value::Timestamp(Timestamp::parse_rfc3339(s).unwrap())
}

fn labels(l: &[&str]) -> Value {
    Value::Set(l.iter().map(|s| Arc::from(*s)).collect())
}

fn bit(width: u16, bits: u64) -> Value {
    Value::Bit { width, bits }
}

/// The values of [`ROWS`], after the id.
fn expected() -> Vec<Vec<Value>> {
    use Value::{Float32, Float64, Int, UInt};
    let uuid = |s: &str| {
        let hex: String = s.chars().filter(|c| *c != '-').collect();
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        Value::Uuid(out)
    };
    vec![
        vec![
            Int(-128),
            UInt(255),
            Int(-32768),
            UInt(65535),
            Int(-8_388_608),
            UInt(16_777_215),
            Int(-2_147_483_648),
            UInt(4_294_967_295),
            Int(i64::MIN),
            UInt(u64::MAX),
            Int(1),
            decimal("99999999999999999999999999999999999.999999999999999999999999999999"),
            decimal("-12345678.90"),
            Float32(1.5),
            Float64(0.1),
            bit(1, 1),
            bit(5, 0b10101),
            bit(64, u64::MAX),
            text("ab"),
            text("héllo 😀"),
            text(""),
            text("€uro café"),
            text("Ÿ"),
            bytes(&[0, 0x61, 0, 0]),
            bytes(&[0, 1, 2]),
            bytes(&[0, 0xff, 0]),
            Value::Date(Date::parse("0000-00-00").unwrap()),
            time("-838:59:59"),
            time("-12:34:56.789012"),
            datetime("2024-02-29 13:14:15.123456"),
            datetime("0000-00-00 00:00:00"),
            instant("2038-01-19T03:14:07.999999Z"),
            datetime("0000-00-00 00:00:00"),
            Value::Year(2155),
            Value::Enum(Arc::from("large")),
            labels(&["red", "blue"]),
            Value::Json(Arc::from(r#"{"a": [1, 2.5, "x"], "b": null}"#)),
            uuid("123e4567-e89b-12d3-a456-426614174000"),
        ],
        vec![
            Int(127),
            UInt(0),
            Int(32767),
            UInt(0),
            Int(8_388_607),
            UInt(0),
            Int(2_147_483_647),
            UInt(0),
            Int(i64::MAX),
            UInt(0),
            Int(0),
            decimal("-0.000000000000000000000000000001"),
            decimal("0.00"),
            Float32(-3.25),
            Float64(-1e300),
            bit(1, 0),
            bit(5, 0),
            bit(64, 0),
            text(""),
            text(""),
            text("x"),
            text(""),
            text(""),
            bytes(&[0, 0, 0, 0]),
            bytes(b""),
            bytes(b""),
            Value::Date(Date::parse("1000-01-01").unwrap()),
            time("838:59:59"),
            time("838:59:59"),
            datetime("1000-01-01 00:00:00.000001"),
            datetime("9999-12-31 23:59:59"),
            instant("1970-01-01T00:00:01Z"),
            instant("1970-01-01T00:00:01Z"),
            Value::Year(0),
            Value::Enum(Arc::from("small")),
            labels(&[]),
            Value::Json(Arc::from("[]")),
            uuid("00000000-0000-0000-0000-000000000001"),
        ],
        vec![Value::Null; 38],
    ]
}

fn insert_rows(db: &str, table: &str, first_id: i64) {
    let values: Vec<String> = ROWS
        .iter()
        .enumerate()
        .map(|(i, row)| format!("({}, {row})", first_id + i as i64))
        .collect();
    sql(
        db,
        &format!("INSERT INTO {table} VALUES {}", values.join(",\n")),
    );
}

fn without_id(rows: Vec<watershed_events::Row>) -> Vec<Vec<Value>> {
    rows.into_iter().map(|r| r[1..].to_vec()).collect()
}

fn assert_rows(actual: Vec<Vec<Value>>, names: &[String], what: &str) {
    let expected = expected();
    assert_eq!(actual.len(), expected.len(), "{what}: row count");
    for (r, (got, want)) in actual.iter().zip(&expected).enumerate() {
        assert_eq!(got.len(), want.len(), "{what}: row {r} width");
        for (c, (g, w)) in got.iter().zip(want).enumerate() {
            assert_eq!(g, w, "{what}: row {r} column {}", names[c + 1]);
        }
    }
}

#[tokio::test]
async fn every_type_decodes_exactly_in_the_snapshot_and_the_binlog() {
    let db = database("types");
    sql(
        &db,
        &format!("CREATE TABLE t ({COLUMNS}) DEFAULT CHARSET = utf8mb4"),
    );
    insert_rows(&db, "t", 1);
    let mut source = opened(
        config(&db, &[&format!("{db}.t")], SnapshotMode::Initial, 100),
        None,
    )
    .await;
    let snapshot = until(&mut source, |e| {
        matches!(commits(e).last(), Some(Position::MysqlFile(_)))
    })
    .await;
    let schema = &schemas(&snapshot)[0];
    assert_eq!(schema.columns[10].logical_type, LogicalType::UInt64);
    assert_eq!(
        schema.columns[11].logical_type,
        LogicalType::Int8,
        "tinyint(1) stays an integer"
    );
    assert_eq!(
        schema.columns[37].logical_type,
        LogicalType::Json,
        "MariaDB JSON is detected"
    );
    let names: Vec<String> = schema.columns.iter().map(|c| c.name.clone()).collect();
    assert_rows(without_id(inserted(&snapshot, "t")), &names, "snapshot");

    insert_rows(&db, "t", 101);
    sql(
        &db,
        "UPDATE t SET ti = ti WHERE id = 101; UPDATE t SET vc = 'changed' WHERE id = 101; DELETE FROM t WHERE id = 102;",
    );
    let events = until(&mut source, |e| changes(e).len() >= 5).await;
    assert_transactions_well_formed(&events);
    assert!(
        schemas(&events).is_empty(),
        "the binlog agrees with the snapshot's schema"
    );
    assert_rows(without_id(inserted(&events, "t")), &names, "binlog");
    let all = changes(&events);
    let update = all
        .iter()
        .find(|c| c.op == ChangeOp::Update)
        .expect("update");
    assert_eq!(update.before.as_ref().unwrap()[1..], expected()[0][..]);
    let delete = all
        .iter()
        .find(|c| c.op == ChangeOp::Delete)
        .expect("delete");
    assert_eq!(delete.before.as_ref().unwrap()[1..], expected()[1][..]);
}

#[tokio::test]
async fn a_year_column_does_not_shift_the_signedness_of_later_columns() {
    let db = database("year_sign");
    sql(
        &db,
        "CREATE TABLE t (y year, u int unsigned PRIMARY KEY, s smallint)",
    );
    let mut source = opened(
        config(&db, &[&format!("{db}.t")], SnapshotMode::Never, 100),
        None,
    )
    .await;
    sql(&db, "INSERT INTO t VALUES (2024, 4294967295, -1)");
    let events = until(&mut source, |e| !inserted(e, "t").is_empty()).await;
    assert_eq!(
        inserted(&events, "t")[0],
        vec![
            Value::Year(2024),
            Value::UInt(4_294_967_295),
            Value::Int(-1)
        ]
    );
}

/// Where the captured events live: the binlog property tests in
/// `src/mysql/fuzz_tests.rs` mutate them.
const CAPTURED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/mysql/fixtures/binlog_events.txt"
);

/// Writes the TABLE_MAP and rows events MariaDB logs for the type matrix
/// (the rows above inserted, one updated, one deleted) to [`CAPTURED`],
/// one event a line: its type code and its body (checksum removed) in
/// hex. Run it when the matrix changes:
/// `cargo test -p watershed-sources --test mysql capture_binlog_events -- --ignored`.
#[tokio::test]
#[ignore = "writes the fixture the binlog property tests read"]
async fn capture_binlog_events() {
    use futures_core::Stream;
    use mysql_async::prelude::Queryable;

    let db = database("capture");
    sql(&db, &format!("CREATE TABLE t ({COLUMNS})"));
    let status = sql(&db, "SHOW MASTER STATUS");
    let mut fields = status.lines().last().unwrap_or_default().split('\t');
    let (file, position) = (
        fields.next().unwrap_or_default(),
        fields.next().unwrap_or_default(),
    );
    insert_rows(&db, "t", 1);
    sql(
        &db,
        "UPDATE t SET vc = 'changed', d2 = 1.25 WHERE id = 2; DELETE FROM t WHERE id = 3",
    );

    let mut conn = mysql_async::Conn::from_url(server().url(&db))
        .await
        .expect("connects");
    conn.query_drop("SET @mariadb_slave_capability=4")
        .await
        .expect("capability");
    let request = mysql_async::BinlogStreamRequest::new(server_id())
        .with_filename(file.as_bytes())
        .with_pos(position.parse::<u64>().expect("a binlog position"));
    let mut stream = conn
        .get_binlog_stream(request)
        .await
        .expect("binlog stream");
    let mut lines = Vec::new();
    let mut deletes = 0;
    while deletes == 0 {
        let next = std::future::poll_fn(|cx| std::pin::Pin::new(&mut stream).poll_next(cx));
        let event = next.await.expect("an event").expect("readable");
        let kind = event.header().event_type_raw();
        if matches!(kind, 19 | 23..=25 | 30..=32) {
            let hex: String = event.data().iter().map(|b| format!("{b:02x}")).collect();
            lines.push(format!("{kind} {hex}"));
        }
        deletes += usize::from(matches!(kind, 25 | 32));
    }
    std::fs::write(CAPTURED, lines.join("\n") + "\n").expect("write the fixture");
}
