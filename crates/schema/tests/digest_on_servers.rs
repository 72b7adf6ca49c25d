//! The `verify` digests' canonical forms evaluated by real servers: the
//! same values stored in MariaDB and in PostgreSQL (as the pipeline maps
//! them) must render identically, and different values differently.

use watershed_events::{Column, LogicalType};
use watershed_schema::digest::{Side, canonical};
use watershed_testkit::{MariaDb, Postgres};

/// A deterministic stream of 64-bit patterns (an LCG's high bits).
struct Bits(u64);

impl Bits {
    fn next(&mut self) -> u64 {
        let mut out = 0;
        for _ in 0..2 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            out = (out << 32) | (self.0 >> 32);
        }
        out
    }
}

const DOUBLES: &[f64] = &[
    0.0,
    1e-300,
    1.0000000000000002e-300,
    1e-9,
    2e-9,
    0.1,
    0.30000000000000004,
    1.5,
    -1.5,
    100.0,
    1e15,
    1e16,
    123456789012345.6,
    1.2345678901234568e20,
    f64::MAX,
    f64::MIN,
    f64::MIN_POSITIVE,
    5e-324,
    1e-323,
    -5e-324,
    0.0001,
    0.00001,
    -0.000123,
];

const FLOATS: &[f32] = &[
    0.0,
    0.1,
    3.4e38,
    3.4000002e38,
    f32::MAX,
    f32::MIN,
    1.175494e-38,
    f32::MIN_POSITIVE,
    1.4e-45,
    16777216.0,
    16777218.0,
    123456.7,
    1e-10,
];

/// Finite doubles from random bit patterns, the edge values first.
fn doubles() -> Vec<f64> {
    let mut bits = Bits(15);
    let random = std::iter::repeat_with(move || f64::from_bits(bits.next()))
        .filter(|f| f.is_finite())
        .take(1500);
    DOUBLES.iter().copied().chain(random).collect()
}

/// Finite floats from random bit patterns, the edge values first.
fn floats() -> Vec<f32> {
    let mut bits = Bits(16);
    let random = std::iter::repeat_with(move || f32::from_bits((bits.next() >> 32) as u32))
        .filter(|f| f.is_finite())
        .take(1500);
    FLOATS.iter().copied().chain(random).collect()
}

/// `(id, literal)` rows as an SQL `VALUES` list.
fn values(literals: &[String]) -> String {
    literals
        .iter()
        .enumerate()
        .map(|(id, v)| format!("({id}, {v})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Stores `literals` in a one-column table on both servers (MariaDB type
/// `my_type`, PostgreSQL `pg_type`) and returns each side's canonical
/// texts, one line per row in id order.
fn both(
    logical: LogicalType,
    my_type: &str,
    pg_type: &str,
    literals: &[String],
) -> (Vec<String>, Vec<String>) {
    let column = Column::new("v", logical, true);
    let maria = MariaDb::shared();
    let db = maria.create_database("digest").expect("mariadb database");
    let mysql = maria
        .sql(&format!(
            "USE {db}; CREATE TABLE t (id INT PRIMARY KEY, v {my_type});
             INSERT INTO t VALUES {};
             SELECT {} FROM t ORDER BY id;",
            values(literals),
            canonical(Side::Mysql, &column, None)
        ))
        .expect("mariadb canonical forms");
    let pg = Postgres::shared();
    let dwh = pg.create_database("digest").expect("postgres database");
    let postgres = pg
        .sql(
            &dwh,
            &format!(
                "CREATE TABLE t (id int PRIMARY KEY, v {pg_type});
                 INSERT INTO t VALUES {};
                 SELECT {} FROM t ORDER BY id;",
                values(literals),
                canonical(Side::Postgres, &column, None)
            ),
        )
        .expect("postgres canonical forms");
    let lines = |out: &str| out.lines().map(str::to_owned).collect::<Vec<_>>();
    (lines(&mysql), lines(&postgres))
}

/// The canonical form of `x`, `MpE` with `x = M * 2^E`, from its bits.
fn exact(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let fraction = (bits & ((1 << 52) - 1)) as i64;
    let (m, e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    let sign = if x < 0.0 { -1 } else { 1 };
    format!("{}p{e}", sign * m)
}

/// Equal forms on both sides, and as many distinct forms as values.
fn assert_exact(values: &[String], mysql: &[String], postgres: &[String]) {
    assert_eq!(mysql.len(), values.len(), "one MariaDB row per value");
    for ((value, my), pg) in values.iter().zip(mysql).zip(postgres) {
        assert_eq!(my, pg, "{value}: MariaDB and PostgreSQL disagree");
    }
    let distinct = |v: &[String]| v.iter().collect::<std::collections::BTreeSet<_>>().len();
    assert_eq!(
        distinct(mysql),
        distinct(values),
        "distinct values stay distinct"
    );
}

#[test]
fn doubles_render_identically_and_exactly() {
    let doubles = doubles();
    // Rust's `{:e}` is the shortest text that reads back as the same double.
    let literals: Vec<String> = doubles.iter().map(|f| format!("{f:e}")).collect();
    let (mysql, postgres) = both(
        LogicalType::Float64,
        "DOUBLE",
        "double precision",
        &literals,
    );
    let expected: Vec<String> = doubles.iter().map(|f| exact(*f)).collect();
    assert_exact(&expected, &mysql, &postgres);
    assert_eq!(mysql, expected);
    assert_eq!(
        mysql[..3],
        ["0", "6032057205060441p-1049", "6032057205060442p-1049"],
        "0, 1e-300 and the next double"
    );
}

#[test]
fn floats_render_identically_and_exactly() {
    let floats = floats();
    // The double equal to each float, so that neither server rounds twice.
    let literals: Vec<String> = floats
        .iter()
        .map(|f| format!("{:e}", f64::from(*f)))
        .collect();
    let (mysql, postgres) = both(LogicalType::Float32, "FLOAT", "real", &literals);
    let keys: Vec<String> = floats
        .iter()
        .map(|f| (f + 0.0).to_bits().to_string())
        .collect();
    assert_exact(&keys, &mysql, &postgres);
}

#[test]
fn null_is_null_on_both_sides() {
    let types = [
        (LogicalType::Float32, "FLOAT", "real"),
        (LogicalType::Float64, "DOUBLE", "double precision"),
        (
            LogicalType::Decimal {
                precision: Some(65),
                scale: Some(30),
            },
            "DECIMAL(65,30)",
            "numeric(65,30)",
        ),
        (LogicalType::Date, "DATE", "date"),
        (LogicalType::Time { fsp: 6 }, "TIME(6)", "interval"),
        (
            LogicalType::DateTime { fsp: 6 },
            "DATETIME(6)",
            "timestamp(6)",
        ),
        (LogicalType::Bit { width: 64 }, "BIT(64)", "bit varying(64)"),
    ];
    for (logical, my_type, pg_type) in types {
        let (mysql, postgres) = both(logical, my_type, pg_type, &["NULL".to_owned()]);
        assert_eq!(mysql, ["NULL"], "{my_type}");
        assert_eq!(postgres, [""], "{pg_type}");
    }
}

#[test]
fn negative_zero_is_zero() {
    let column = Column::new("v", LogicalType::Float64, true);
    let pg = Postgres::shared();
    let dwh = pg.create_database("digest").expect("postgres database");
    let out = pg
        .sql(
            &dwh,
            &format!(
                "SELECT {} FROM (VALUES ('-0'::float8), ('0'::float8)) AS t (v)",
                canonical(Side::Postgres, &column, None)
            ),
        )
        .expect("negative zero");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["0", "0"]);
}

#[test]
fn decimals_keep_every_digit_and_drop_trailing_zeros() {
    let mut bits = Bits(17);
    let mut literals: Vec<String> = [
        "99999999999999999999999999999999999.999999999999999999999999999999",
        "-99999999999999999999999999999999999.999999999999999999999999999999",
        "0.000000000000000000000000000001",
        "-0.000000000000000000000000000001",
        "0.000000000000000000000000000002",
        "1.5",
        "1.500000000000000000000000000001",
        "100",
        "10",
        "1",
        "0",
    ]
    .map(String::from)
    .to_vec();
    literals.extend((0..500).map(|_| {
        let (a, b) = (bits.next(), bits.next());
        let sign = if a % 2 == 0 { "-" } else { "" };
        format!(
            "{sign}{}.{:030}",
            a % 100_000_000_000,
            b % 1_000_000_000_000_000_000
        )
    }));
    let logical = LogicalType::Decimal {
        precision: Some(65),
        scale: Some(30),
    };
    let (mysql, postgres) = both(logical, "DECIMAL(65,30)", "numeric(65,30)", &literals);
    assert_exact(&literals, &mysql, &postgres);
    assert_eq!(mysql[..3], literals[..3], "every digit kept");
    assert_eq!(
        mysql[5..11],
        [
            "1.5",
            "1.500000000000000000000000000001",
            "100",
            "10",
            "1",
            "0"
        ]
    );
}
