//! `watershed gen data` as a library: files are deterministic, the shop
//! schema loads into real PostgreSQL and MariaDB with every key and
//! constraint enforced by the database, uk_UA is Ukrainian, references
//! across databases resolve, and bad requests fail before writing.

mod fits;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use watershed_datagen::codes::COUNTRIES_ALPHA2;
use watershed_datagen::{
    Cell, DatagenError, Existing, Format, Locale, Overrides, Plan, Request, Target, load,
    write_files,
};
use watershed_events::TableSchema;
use watershed_schema::SchemaModel;
use watershed_schema::apply::{plan as plan_migration, run};
use watershed_schema::dbml;
use watershed_schema::ddl::{DdlOptions, Dialect};
use watershed_schema::introspect::connect;
use watershed_testkit::{MariaDb, Postgres};

const WAIT: Duration = Duration::from_secs(10);

fn shop_text() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/schema/shop.dbml"
    );
    std::fs::read_to_string(path).expect("shop.dbml is readable")
}

fn model(text: &str, options: &DdlOptions) -> SchemaModel {
    let doc = dbml::parse("test.dbml", text).unwrap_or_else(|e| panic!("{e}"));
    SchemaModel::from_document(&doc, options)
}

fn tables(model: &SchemaModel) -> Vec<TableSchema> {
    model.tables.values().cloned().collect()
}

fn request(rows: u64, seed: u64, locale: Locale) -> Request {
    Request {
        default_rows: rows,
        seed,
        locale,
        ..Request::default()
    }
}

fn files(text: &str, request: &Request, dir: &Path) -> Result<(), DatagenError> {
    let plan = Plan::new(tables(&model(text, &DdlOptions::default())), request)?;
    write_files(&plan, dir, Format::Csv, Dialect::Postgres, false).map(drop)
}

fn read_all(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("file"))
        })
        .collect();
    out.sort();
    out
}

async fn apply(url: &str, model: &SchemaModel) {
    let mut connection = connect(url, WAIT).await.expect("connects");
    let migration = plan_migration(&mut connection, model).await.expect("plans");
    run(&mut connection, &migration, false)
        .await
        .expect("applies");
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_other_bytes() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let text = shop_text();
    files(&text, &request(300, 42, Locale::EnUs), a.path()).expect("a");
    files(&text, &request(300, 42, Locale::EnUs), b.path()).expect("b");
    files(&text, &request(300, 43, Locale::EnUs), c.path()).expect("c");
    let first = read_all(a.path());
    assert_eq!(first.len(), 19, "one file per table");
    assert!(first.iter().any(|(n, _)| n == "auth.users.csv"));
    assert_eq!(first, read_all(b.path()));
    assert_ne!(first, read_all(c.path()));
    let users = String::from_utf8(
        first
            .iter()
            .find(|(n, _)| n == "auth.users.csv")
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
    assert!(users.starts_with("id,email,password_hash,full_name,status,created_at,updated_at\n"));
}

#[test]
fn adding_a_table_does_not_change_the_others() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let base = "Table people { id int [pk] \n name varchar(50) }";
    files(base, &request(50, 1, Locale::EnUs), a.path()).expect("a");
    let more = format!("{base}\nTable pets {{ id int [pk] \n name varchar(20) }}");
    files(&more, &request(50, 1, Locale::EnUs), b.path()).expect("b");
    let read = |d: &Path| std::fs::read(d.join("people.csv")).expect("people");
    assert_eq!(read(a.path()), read(b.path()));
}

#[test]
fn ukrainian_output_has_cyrillic_names_and_cities_and_380_phones() {
    let dir = tempfile::tempdir().unwrap();
    let text = "Table customers { id int [pk] \n first_name varchar(50) [not null] \n last_name varchar(50) [not null] \n email varchar(100) [unique, not null] \n phone varchar(20) [not null] \n city varchar(50) [not null] }";
    files(text, &request(200, 5, Locale::UkUa), dir.path()).expect("writes");
    let csv = std::fs::read_to_string(dir.path().join("customers.csv")).expect("csv");
    let cyrillic = |s: &str| s.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c));
    for line in csv.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        assert!(
            cyrillic(fields[1]) && cyrillic(fields[2]) && cyrillic(fields[5]),
            "{line}"
        );
        assert!(fields[3].is_ascii() && fields[3].contains('@'), "{line}");
        assert!(fields[4].starts_with("+380 "), "{line}");
    }
}

#[test]
fn unsatisfiable_requests_fail_before_anything_is_written() {
    let cases = [
        (
            "Table flags { id int [pk] \n on boolean [unique, not null] }",
            "2 possible",
        ),
        (
            "Enum colour { red \n green \n blue }\nTable paints { id int [pk] \n c colour [unique, not null] }",
            "3 possible",
        ),
        (
            "Table tree { id int [pk] \n parent_id int [not null, ref: > tree.id] }",
            "no row can be a root",
        ),
        (
            "Table a { id int [pk] \n b_id int [not null, ref: > b.id] }\nTable b { id int [pk] \n a_id int [not null, ref: > a.id] }",
            "cycle",
        ),
    ];
    for (text, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let error = files(text, &request(10, 1, Locale::EnUs), &out).expect_err(text);
        assert!(error.is_usage(), "{error}");
        assert!(error.to_string().contains(expected), "{error}");
        assert!(!out.exists(), "nothing is written for {text}");
    }
}

#[test]
fn overrides_choose_values_ranges_patterns_and_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let text = "Table orders { id int [pk] \n status varchar(10) [not null] \n total decimal(8,2) [not null] \n code varchar(20) [not null] \n note text }";
    let overrides = Overrides::parse(
        "columns:\n  orders.status: { values: { paid: 1 } }\n  orders.total: { range: [5, 6] }\n  orders.code: { pattern: 'ORD-#####' }\n  orders.note: { null_fraction: 1 }\n",
    )
    .expect("parses");
    let request = Request {
        overrides,
        ..request(100, 1, Locale::EnUs)
    };
    files(text, &request, dir.path()).expect("writes");
    let csv = std::fs::read_to_string(dir.path().join("orders.csv")).expect("csv");
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[1], "paid");
        let total: f64 = f[2].parse().expect("number");
        assert!((5.0..=6.0).contains(&total), "{line}");
        assert!(f[3].starts_with("ORD-") && f[3].len() == 9, "{line}");
        assert_eq!(f[4], "", "{line}");
    }
}

/// `examples/schema/corpus/*.dbml` and `examples/schema/shop.dbml`, by
/// file name.
fn corpus() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/schema");
    let mut paths: Vec<_> = std::fs::read_dir(root.join("corpus"))
        .expect("the corpus is readable")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "dbml"))
        .collect();
    paths.sort();
    paths.push(root.join("shop.dbml"));
    paths
        .into_iter()
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("readable"))
        })
        .collect()
}

/// The number a refusal names as the fix, from `--rows-per-table T=N`.
fn named_fix(error: &DatagenError) -> Option<(String, u64)> {
    let text = error.to_string();
    let (_, fix) = text.split_once("--rows-per-table ")?;
    let fix = fix
        .split_whitespace()
        .next()?
        .trim_end_matches([')', '.', ',']);
    let (table, rows) = fix.rsplit_once('=')?;
    Some((table.to_owned(), rows.parse().ok()?))
}

/// A plan with `rows` per table, or for a table whose unique key holds
/// fewer, the largest number its refusal names.
fn plan_at_capacity(tables: Vec<TableSchema>, rows: u64, seed: u64) -> Plan {
    let mut request = request(rows, seed, Locale::EnUs);
    for _ in 0..50 {
        match Plan::new(tables.clone(), &request) {
            Ok(plan) => return plan,
            Err(error) => {
                let (table, fits) = named_fix(&error).unwrap_or_else(|| {
                    panic!("the refusal names no --rows-per-table fix: {error}")
                });
                request.rows.insert(table, fits);
            }
        }
    }
    panic!("no plan after 50 refusals");
}

/// Generates every corpus file with `rows` per table (as many as keys
/// hold) and lists every value that does not fit its column.
fn corpus_problems(rows: u64, seeds: &[u64]) -> Vec<String> {
    let mut out = Vec::new();
    for (name, text) in corpus() {
        let model = model(&text, &DdlOptions::default());
        for seed in seeds {
            let plan = plan_at_capacity(tables(&model), rows, *seed);
            let generated = fits::generate(&plan).unwrap_or_else(|e| panic!("{name}: {e}"));
            for (table, rows) in plan.tables.iter().zip(&generated) {
                let found = fits::problems(&table.schema, rows);
                out.extend(
                    found
                        .into_iter()
                        .map(|p| format!("{name} (seed {seed}): {p}")),
                );
            }
        }
    }
    out
}

#[test]
fn every_value_fits_its_column_in_every_corpus_table() {
    let problems = corpus_problems(300, &[1, 2, 3]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_value_fits_its_column_when_keys_are_filled_to_capacity() {
    let problems = corpus_problems(3_000, &[7]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Keys whose every value is taken when filled to capacity.
const DENSE_KEYS: &str = "
Table rates {
  base char(3) [not null]
  quote char(3) [not null]
  on_date date [not null]
  rate decimal(18,8)
  indexes { (base, quote, on_date) [pk] }
}
Table ranks { id int [pk, increment] \n rank tinyint [not null, unique] }
Table steps { id int [pk, increment] \n step \"tinyint unsigned\" [not null, unique] }
Table ratios { id int [pk, increment] \n ratio decimal(3,2) [not null, unique] }
Table grades { id int [pk, increment] \n grade char(1) [not null, unique] \n label varchar(2) [unique] }
Table departments { id int [pk, increment] \n code char(4) [not null, unique] \n name varchar(12) [not null, unique] }
";

#[test]
fn keys_filled_to_capacity_keep_every_value_within_its_type() {
    let model = model(DENSE_KEYS, &DdlOptions::default());
    let plan = plan_at_capacity(tables(&model), 30_000, 3);
    let rows: Vec<(String, u64)> = plan
        .tables
        .iter()
        .map(|t| (t.schema.name.to_string(), t.rows))
        .collect();
    let expected = [
        ("departments", 30_000),
        ("grades", 36),
        ("ranks", 256),
        ("rates", 30_000),
        ("ratios", 1_999),
        ("steps", 256),
    ];
    for (table, count) in expected {
        assert!(
            rows.contains(&(table.to_owned(), count)),
            "{table}: {rows:?}"
        );
    }
    let generated = fits::generate(&plan).expect("generates");
    let problems: Vec<String> = plan
        .tables
        .iter()
        .zip(&generated)
        .flat_map(|(table, rows)| fits::problems(&table.schema, rows))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

const COUNTRIES: &str =
    "Table countries {\n code char(2) [pk]\n name varchar(80) [not null, unique]\n}";

/// The `code` column of `rows` generated countries.
fn country_codes(rows: u64) -> Vec<String> {
    let model = model(COUNTRIES, &DdlOptions::default());
    let plan = Plan::new(tables(&model), &request(rows, 5, Locale::EnUs)).expect("plans");
    let generated = fits::generate(&plan).expect("generates");
    let problems = fits::problems(&plan.tables[0].schema, &generated[0]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    generated[0]
        .iter()
        .map(|row| match &row[0] {
            Cell::Text(code) => code.clone(),
            other => panic!("a code is text, not {other:?}"),
        })
        .collect()
}

#[test]
fn country_codes_are_iso_codes_while_they_last_then_other_codes_of_the_same_length() {
    let iso = |codes: &[String]| {
        codes
            .iter()
            .filter(|c| COUNTRIES_ALPHA2.contains(&c.as_str()))
            .count()
    };
    let fifty = country_codes(50);
    assert_eq!(iso(&fifty), 50, "{fifty:?}");
    let all_iso = country_codes(COUNTRIES_ALPHA2.len() as u64);
    assert_eq!(iso(&all_iso), COUNTRIES_ALPHA2.len(), "every ISO code once");
    let letters = country_codes(676);
    assert!(
        letters
            .iter()
            .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())),
        "two letters while they last"
    );
    let full = country_codes(1_296);
    assert!(
        full.iter().all(|c| c.len() == 2
            && c.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())),
        "then letters and digits"
    );
}

#[test]
fn a_key_too_small_for_the_rows_is_refused_naming_the_rows_per_table_that_fits() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let error = files(COUNTRIES, &request(2_000, 1, Locale::EnUs), &out).expect_err("refused");
    assert!(error.is_usage(), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("code (char(2)) has only 1296 possible value(s)")
            && text.contains("--rows-per-table countries=1296"),
        "{text}"
    );
    assert_eq!(named_fix(&error), Some(("countries".to_owned(), 1_296)));
    assert!(!out.exists());
    let text = "Table levels { id smallint [pk] \n name varchar(20) }";
    let error = files(text, &request(40_000, 1, Locale::EnUs), &out).expect_err("refused");
    assert_eq!(
        named_fix(&error),
        Some(("levels".to_owned(), 32_767)),
        "{error}"
    );
}

async fn load_shop(url: &str, model: &SchemaModel, rows: u64) {
    let mut plan = Plan::new(tables(model), &request(rows, 11, Locale::EnUs)).expect("plans");
    let targets = [Target::parse(url)];
    load(&mut plan, &targets, Existing::Refuse, WAIT, false)
        .await
        .expect("loads");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shop_schema_loads_into_postgres_with_every_constraint_enforced() {
    let server = Postgres::shared();
    let database = server.create_database("gen").expect("database");
    let url = server.url(&database);
    let shop = model(&shop_text(), &DdlOptions::default());
    apply(&url, &shop).await;
    load_shop(&url, &shop, 500).await;
    let sql = |q: &str| server.sql(&database, q).expect("query").trim().to_owned();
    assert_eq!(sql("SELECT count(*) FROM orders.order_items"), "500");
    assert_eq!(
        sql("SELECT count(*) FROM auth.users WHERE updated_at < created_at"),
        "0"
    );
    let roots = sql("SELECT count(*) FROM catalog.categories WHERE parent_id IS NULL");
    let children = sql("SELECT count(*) FROM catalog.categories WHERE parent_id IS NOT NULL");
    assert!(
        roots != "0" && children != "0",
        "a tree: {roots} roots, {children} children"
    );
    let error = load(
        &mut Plan::new(tables(&shop), &request(5, 1, Locale::EnUs)).expect("plans"),
        &[Target::parse(&url)],
        Existing::Refuse,
        WAIT,
        false,
    )
    .await
    .expect_err("refuses");
    assert!(matches!(error, DatagenError::NotEmpty { .. }), "{error}");
    let mut more = Plan::new(tables(&shop), &request(5, 2, Locale::EnUs)).expect("plans");
    load(
        &mut more,
        &[Target::parse(&url)],
        Existing::Append,
        WAIT,
        false,
    )
    .await
    .expect("appends");
    assert_eq!(sql("SELECT count(*) FROM auth.users"), "505");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shop_schema_loads_into_mariadb_with_every_constraint_enforced() {
    let server = MariaDb::shared();
    let database = server.create_database("gen").expect("database");
    let url = server.url(&database);
    let mut shop = model(&shop_text(), &DdlOptions::default());
    shop.prefix_schemas(&format!("{database}_"));
    apply(&url, &shop).await;
    load_shop(&url, &shop, 500).await;
    let count = server
        .sql(&format!(
            "SELECT count(*) FROM `{database}_orders`.`order_items`"
        ))
        .expect("query");
    assert_eq!(count.trim(), "500");
    let late = server
        .sql(&format!("SELECT count(*) FROM `{database}_orders`.`shipments` s JOIN `{database}_orders`.`orders` o ON o.id = s.order_id"))
        .expect("query");
    assert_eq!(late.trim(), "500", "every shipment has its order");
}

/// Loads all 1,296 two-character codes of the countries table into `url`.
async fn load_countries(url: &str) {
    let countries = model(COUNTRIES, &DdlOptions::default());
    apply(url, &countries).await;
    let mut plan = Plan::new(tables(&countries), &request(1_296, 2, Locale::EnUs)).expect("plans");
    load(
        &mut plan,
        &[Target::parse(url)],
        Existing::Refuse,
        WAIT,
        false,
    )
    .await
    .expect("loads");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_two_character_country_code_loads_into_postgres() {
    let server = Postgres::shared();
    let database = server.create_database("gen_codes").expect("database");
    load_countries(&server.url(&database)).await;
    let sql = |q: &str| server.sql(&database, q).expect("query").trim().to_owned();
    assert_eq!(sql("SELECT count(DISTINCT code) FROM countries"), "1296");
    assert_eq!(
        sql("SELECT count(*) FROM countries WHERE code IN ('UA', 'US')"),
        "2"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_two_character_country_code_loads_into_mariadb() {
    let server = MariaDb::shared();
    let database = server.create_database("gen_codes").expect("database");
    load_countries(&server.url(&database)).await;
    let count = server
        .sql(&format!(
            "SELECT count(DISTINCT code), max(char_length(code)) FROM `{database}`.countries"
        ))
        .expect("query");
    assert_eq!(count.split_whitespace().collect::<Vec<_>>(), ["1296", "2"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn ids_referenced_across_databases_come_from_the_other_database() {
    let server = Postgres::shared();
    let (auth_db, rest_db) = (
        server.create_database("gen_auth").expect("database"),
        server.create_database("gen_rest").expect("database"),
    );
    let apart = DdlOptions {
        no_cross_schema_fks: true,
        ..DdlOptions::default()
    };
    let enforced = model(&shop_text(), &apart);
    apply(&server.url(&auth_db), &enforced).await;
    apply(&server.url(&rest_db), &enforced).await;
    let shop = model(&shop_text(), &DdlOptions::default());
    let mut plan = Plan::new(tables(&shop), &request(200, 3, Locale::EnUs)).expect("plans");
    let targets = [
        Target::parse(&format!("auth={}", server.url(&auth_db))),
        Target::parse(&server.url(&rest_db)),
    ];
    load(&mut plan, &targets, Existing::Refuse, WAIT, false)
        .await
        .expect("loads");
    let ids = |db: &str, q: &str| -> BTreeSet<String> {
        server
            .sql(db, q)
            .expect("query")
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let users = ids(&auth_db, "SELECT id FROM auth.users");
    let referenced = ids(&rest_db, "SELECT DISTINCT user_id FROM orders.orders");
    assert_eq!(users.len(), 200);
    assert!(!referenced.is_empty() && referenced.is_subset(&users));
    assert_eq!(
        ids(&rest_db, "SELECT count(*) FROM auth.users"),
        BTreeSet::from(["0".to_owned()])
    );
}

const CYCLE: &str = "
Table departments {
  id int [pk, increment]
  name varchar(50) [not null]
  manager_id int [ref: > employees.id, note: 'NULL until a manager is named']
}
Table employees {
  id int [pk, increment]
  full_name varchar(100) [not null]
  department_id int [not null, ref: > departments.id]
}
";

async fn load_cycle(url: &str, model: &SchemaModel, existing: Existing) {
    let mut plan = Plan::new(tables(model), &request(100, 4, Locale::EnUs)).expect("plans");
    load(&mut plan, &[Target::parse(url)], existing, WAIT, false)
        .await
        .expect("loads");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_key_cycle_loads_with_nulls_that_are_set_afterwards_in_postgres() {
    let server = Postgres::shared();
    let database = server.create_database("gen_cycle").expect("database");
    let url = server.url(&database);
    let cycle = model(CYCLE, &DdlOptions::default());
    apply(&url, &cycle).await;
    load_cycle(&url, &cycle, Existing::Refuse).await;
    let managed = server
        .sql(
            &database,
            "SELECT count(*) FROM departments WHERE manager_id IS NOT NULL",
        )
        .expect("query");
    let managed: u32 = managed.trim().parse().expect("count");
    assert!(
        (70..100).contains(&managed),
        "most departments get a manager: {managed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_key_cycle_loads_into_mariadb_and_truncate_replaces_the_rows() {
    let server = MariaDb::shared();
    let database = server.create_database("gen_cycle").expect("database");
    let url = server.url(&database);
    let cycle = model(CYCLE, &DdlOptions::default());
    apply(&url, &cycle).await;
    load_cycle(&url, &cycle, Existing::Refuse).await;
    load_cycle(&url, &cycle, Existing::Truncate).await;
    let counts = server
        .sql(&format!(
            "SELECT count(*), count(manager_id), max(id) FROM `{database}`.departments"
        ))
        .expect("query");
    let parts: Vec<u32> = counts
        .split_whitespace()
        .map(|p| p.parse().expect("n"))
        .collect();
    assert_eq!(
        (parts[0], parts[2]),
        (100, 100),
        "replaced, ids from 1: {counts}"
    );
    assert!(parts[1] > 70, "managers set: {counts}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_self_referencing_tree_respects_its_depth_with_keys_enforced() {
    let server = Postgres::shared();
    let database = server.create_database("gen_tree").expect("database");
    let url = server.url(&database);
    let text = "Table categories {\n id int [pk, increment]\n parent_id int [ref: > categories.id]\n name varchar(100) [not null]\n}";
    let tree = model(text, &DdlOptions::default());
    apply(&url, &tree).await;
    let overrides = Overrides::parse("tree_depth: 2").expect("parses");
    let request = Request {
        overrides,
        ..request(300, 8, Locale::EnUs)
    };
    let mut plan = Plan::new(tables(&tree), &request).expect("plans");
    load(
        &mut plan,
        &[Target::parse(&url)],
        Existing::Refuse,
        WAIT,
        false,
    )
    .await
    .expect("loads");
    let sql = |q: &str| server.sql(&database, q).expect("query").trim().to_owned();
    let grandchildren = sql(
        "SELECT count(*) FROM categories c JOIN categories p ON c.parent_id = p.id WHERE p.parent_id IS NOT NULL",
    );
    assert_eq!(grandchildren, "0");
    assert_ne!(
        sql("SELECT count(*) FROM categories WHERE parent_id IS NOT NULL"),
        "0"
    );
    assert_eq!(
        sql("SELECT count(*) FROM categories WHERE parent_id >= id"),
        "0",
        "parents first"
    );
}

fn workload_config(seed: u64) -> watershed_datagen::workload::WorkloadConfig {
    watershed_datagen::workload::WorkloadConfig {
        rate: 400.0,
        duration: Duration::from_secs(2),
        mix: watershed_datagen::workload::Mix::default(),
        seed,
        tables: Vec::new(),
    }
}

fn assert_clean_workload(summary: &watershed_datagen::workload::WorkloadSummary) {
    assert_eq!(summary.errors, 0, "{:?}", summary.error_kinds);
    assert!(summary.statements() > 300, "{summary:?}");
    assert!(
        summary.inserts > summary.updates
            && summary.updates > summary.deletes
            && summary.deletes > 0,
        "the mix is roughly respected: {summary:?}"
    );
    assert!(summary.achieved_rate() > 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workload_on_postgres_keeps_every_constraint_for_its_duration() {
    let server = Postgres::shared();
    let database = server.create_database("work").expect("database");
    let url = server.url(&database);
    let shop = model(&shop_text(), &DdlOptions::default());
    apply(&url, &shop).await;
    load_shop(&url, &shop, 40).await;
    let config = workload_config(4);
    let summary = watershed_datagen::workload::run(
        tables(&shop),
        &url,
        WAIT,
        &config,
        std::future::pending(),
    )
    .await
    .expect("runs");
    assert_clean_workload(&summary);
    let sql = |q: &str| server.sql(&database, q).expect("query").trim().to_owned();
    assert_eq!(
        sql("SELECT count(*) FROM auth.users WHERE updated_at < created_at"),
        "0"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workload_on_mariadb_keeps_every_constraint_for_its_duration() {
    let server = MariaDb::shared();
    let database = server.create_database("work").expect("database");
    let url = server.url(&database);
    let mut shop = model(&shop_text(), &DdlOptions::default());
    shop.prefix_schemas(&format!("{database}_"));
    apply(&url, &shop).await;
    load_shop(&url, &shop, 40).await;
    let summary = watershed_datagen::workload::run(
        tables(&shop),
        &url,
        WAIT,
        &workload_config(5),
        std::future::pending(),
    )
    .await
    .expect("runs");
    assert_clean_workload(&summary);
}

fn heartbeat(
    seed: u64,
    invalid_fraction: f64,
    rate: f64,
) -> watershed_datagen::events::HeartbeatRun {
    let mut model = watershed_sources::generator::HeartbeatModel::new(seed);
    model.customers = 50;
    model.invalid_fraction = invalid_fraction;
    model.drift = true;
    watershed_datagen::events::HeartbeatRun {
        model,
        rate,
        duration: Duration::from_millis(500),
        start: watershed_events::Timestamp::from_micros(1_704_067_200_000_000),
    }
}

async fn heartbeat_file(seed: u64, path: &Path) -> Vec<u8> {
    let target = watershed_datagen::events::EventTarget::Jsonl(path.to_owned());
    let mut sink = watershed_datagen::events::EventSink::open(&target, WAIT)
        .await
        .expect("opens");
    let summary = heartbeat(seed, 0.1, 2_000.0)
        .run(&mut sink, std::future::pending())
        .await
        .expect("writes");
    assert_eq!(summary.events, 1_000);
    std::fs::read(path).expect("reads")
}

#[tokio::test(flavor = "multi_thread")]
async fn heartbeat_events_are_the_same_for_the_same_seed_and_one_json_object_per_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = heartbeat_file(3, &dir.path().join("a.jsonl")).await;
    let b = heartbeat_file(3, &dir.path().join("b.jsonl")).await;
    let c = heartbeat_file(4, &dir.path().join("c.jsonl")).await;
    assert_eq!(a, b);
    assert_ne!(a, c);
    let text = String::from_utf8(a).expect("utf-8");
    for line in text.lines() {
        let object: serde_json::Value = serde_json::from_str(line).expect("a JSON object");
        assert!(
            object["event_id"].is_i64() && object["ts"].is_string(),
            "{line}"
        );
    }
}

#[test]
fn the_invalid_share_of_heartbeat_events_is_close_to_the_fraction() {
    let run = heartbeat(8, 0.05, 100.0);
    let invalid = (0..40_000)
        .filter(|i| run.reading(*i).invalid.is_some())
        .count();
    assert!((1_700..2_300).contains(&invalid), "{invalid} of 40000");
}

#[tokio::test(flavor = "multi_thread")]
async fn heartbeat_events_land_in_a_postgres_table_created_for_them() {
    let server = Postgres::shared();
    let database = server.create_database("hb").expect("database");
    let target = watershed_datagen::events::EventTarget::parse(
        &format!("postgres:{}", server.url(&database)),
        "readings",
    )
    .expect("parses");
    let mut sink = watershed_datagen::events::EventSink::open(&target, WAIT)
        .await
        .expect("opens");
    let summary = heartbeat(1, 0.2, 2_000.0)
        .run(&mut sink, std::future::pending())
        .await
        .expect("writes");
    let sql = |q: &str| server.sql(&database, q).expect("query").trim().to_owned();
    assert_eq!(
        sql("SELECT count(*) FROM readings"),
        summary.events.to_string()
    );
    let out_of_range =
        sql("SELECT count(*) FROM readings WHERE heart_rate = 0 OR heart_rate >= 300");
    assert_ne!(out_of_range, "0");
}
