//! The generated DDL against real servers: the shop schema
//! (`examples/schema/shop.dbml`) and every file of the corpus
//! (`examples/schema/corpus/`) are applied to fresh PostgreSQL and MariaDB
//! databases, and what the servers then hold is compared with the DBML,
//! and with what dbml2sql's DDL makes of the same file where dbml2sql is
//! installed. One server of each kind serves the whole binary; each file
//! gets databases of its own.

mod support;

use std::path::Path;
use std::time::Duration;
use support::introspect::{self, ForeignKey, Schema};

use support::{corpus, dbml2sql, shop, shop_path};
use watershed_schema::SchemaModel;
use watershed_schema::apply;
use watershed_schema::dbml::{DEFAULT_SCHEMA, Document, IndexPart, QualifiedName, RefAction};
use watershed_schema::ddl::{DdlOptions, Dialect, generate, plan};
use watershed_schema::introspect::connect;
use watershed_testkit::{MariaDb, Postgres, unique_name};

fn key(name: &QualifiedName) -> String {
    format!(
        "{}.{}",
        name.schema.as_deref().unwrap_or(DEFAULT_SCHEMA),
        name.name
    )
}

/// What the DBML says each table must hold: columns with nullability,
/// primary key, foreign keys. MariaDB reports `RESTRICT` for `NO ACTION`
/// (InnoDB treats them alike), so a MySQL `restrict` reads `NO ACTION`.
fn expected(doc: &Document, options: &DdlOptions, dialect: Dialect) -> Schema {
    let plan = plan(doc, options);
    let mut schema = Schema::default();
    for table in &plan.tables {
        let primary_key = table.primary_key();
        let columns = table
            .columns
            .iter()
            .map(|c| introspect::Column {
                name: c.name.clone(),
                nullable: !(primary_key.contains(&c.name)
                    || c.settings.not_null == Some(true)
                    || c.settings.increment),
                ..introspect::Column::default()
            })
            .collect();
        schema.tables.insert(
            key(&table.name),
            introspect::Table {
                columns,
                primary_key,
                ..introspect::Table::default()
            },
        );
    }
    for fk in plan.foreign_keys.iter().filter(|k| !k.as_comment) {
        let action = |a: Option<RefAction>| match (a, dialect) {
            (Some(RefAction::Restrict), Dialect::Mysql) | (None, _) => "NO ACTION".to_owned(),
            (Some(a), _) => a.sql().to_owned(),
        };
        if let Some(table) = schema.tables.get_mut(&key(&fk.table)) {
            table.foreign_keys.insert(ForeignKey {
                columns: fk.columns.clone(),
                target: key(&fk.target),
                target_columns: fk.target_columns.clone(),
                on_delete: action(fk.on_delete),
                on_update: action(fk.on_update),
            });
        }
    }
    schema
}

/// Checks tables, column names and nullability, keys, and that each DBML
/// index on columns exists.
fn assert_holds(doc: &Document, expected: &Schema, live: &Schema) {
    let names = |s: &Schema| s.tables.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(live), names(expected), "the same tables");
    for (name, want) in &expected.tables {
        let got = &live.tables[name];
        let shape = |t: &introspect::Table| {
            t.columns
                .iter()
                .map(|c| (c.name.clone(), c.nullable))
                .collect::<Vec<_>>()
        };
        assert_eq!(shape(got), shape(want), "columns and nullability of {name}");
        assert_eq!(got.primary_key, want.primary_key, "primary key of {name}");
        assert_eq!(
            got.foreign_keys, want.foreign_keys,
            "foreign keys of {name}"
        );
    }
    for table in &doc.tables {
        for index in table.indexes.iter().filter(|i| !i.primary_key) {
            if index
                .parts
                .iter()
                .any(|p| matches!(p, IndexPart::Expression(_)))
            {
                continue;
            }
            let columns = format!("({})", index.column_names().join(", ")).replace(", ", ",");
            let live_indexes = &live.tables[&key(&table.name)].indexes;
            // PostgreSQL quotes column names that are keywords.
            let found = live_indexes
                .iter()
                .any(|i| i.replace(", ", ",").replace('"', "").ends_with(&columns));
            assert!(
                found,
                "index {columns} on {} in {live_indexes:?}",
                table.name
            );
        }
    }
}

fn column_type(schema: &Schema, table: &str, column: &str) -> String {
    schema.tables[table]
        .columns
        .iter()
        .find(|c| c.name == column)
        .map(|c| c.data_type.clone())
        .unwrap_or_default()
}

fn apply_postgres(sql: &str) -> Schema {
    let server = Postgres::shared();
    let database = server.create_database("shop_ddl").expect("database");
    server
        .sql(&database, sql)
        .unwrap_or_else(|e| panic!("PostgreSQL refused the DDL: {e}"));
    introspect::postgres(server, &database)
}

/// Applies `sql` (already using `prefix` for its databases) and reads back
/// the databases of `schemas`.
fn apply_mariadb(sql: &str, schemas: &[String], prefix: &str) -> Schema {
    let server = MariaDb::shared();
    server
        .sql(sql)
        .unwrap_or_else(|e| panic!("MariaDB refused the DDL: {e}"));
    let databases: Vec<String> = schemas.iter().map(|s| format!("{prefix}{s}")).collect();
    introspect::mariadb(server, &databases, prefix)
}

fn shop_schemas() -> Vec<String> {
    plan(&shop(), &DdlOptions::default()).schemas
}

#[test]
fn postgres_accepts_the_shop_ddl_and_holds_what_the_dbml_describes() {
    let doc = shop();
    let options = DdlOptions::default();
    let live = apply_postgres(&generate(&doc, Dialect::Postgres, &options));
    assert_holds(&doc, &expected(&doc, &options, Dialect::Postgres), &live);
    assert_eq!(
        column_type(&live, "auth.users", "status"),
        "auth.user_status"
    );
    assert_eq!(
        column_type(&live, "catalog.products", "price"),
        "numeric(10,2)"
    );
    assert_eq!(column_type(&live, "auth.sessions", "id"), "uuid");
    assert!(
        live.tables["catalog.products"]
            .indexes
            .contains("btree (lower((name)::text))"),
        "the expression index: {:?}",
        live.tables["catalog.products"].indexes
    );
}

#[test]
fn mariadb_accepts_the_shop_ddl_and_holds_what_the_dbml_describes() {
    let doc = shop();
    let prefix = format!("{}_", unique_name("shop"));
    let options = DdlOptions {
        schema_prefix: Some(prefix.clone()),
        ..DdlOptions::default()
    };
    let live = apply_mariadb(
        &generate(&doc, Dialect::Mysql, &options),
        &shop_schemas(),
        &prefix,
    );
    assert_holds(&doc, &expected(&doc, &options, Dialect::Mysql), &live);
    assert_eq!(
        column_type(&live, "auth.users", "status"),
        "enum('active','suspended','deleted')"
    );
    assert_eq!(
        column_type(&live, "catalog.products", "price"),
        "decimal(10,2)"
    );
    assert_eq!(column_type(&live, "auth.sessions", "id"), "char(36)");
}

#[test]
fn cross_schema_refs_become_comments_and_same_schema_refs_stay_constraints() {
    let doc = shop();
    let options = DdlOptions {
        no_cross_schema_fks: true,
        ..DdlOptions::default()
    };
    let live = apply_postgres(&generate(&doc, Dialect::Postgres, &options));
    assert_holds(&doc, &expected(&doc, &options, Dialect::Postgres), &live);
    let crossing: Vec<(&String, &ForeignKey)> = live
        .tables
        .iter()
        .flat_map(|(name, t)| t.foreign_keys.iter().map(move |k| (name, k)))
        .filter(|(name, k)| name.split('.').next() != k.target.split('.').next())
        .collect();
    assert!(crossing.is_empty(), "{crossing:?}");
    assert!(!live.tables["orders.order_items"].foreign_keys.is_empty());
}

/// `schema` with each known, documented difference between dbml2sql and
/// watershed (README, "Differences from dbml2sql") taken out, so the rest
/// must agree. `doc` names the join tables of many-to-many refs.
fn comparable(schema: &Schema, doc: &Document) -> Schema {
    let mut schema = schema.clone();
    let join_tables: Vec<String> = plan(doc, &DdlOptions::default())
        .join_tables
        .iter()
        .map(key)
        .collect();
    for (name, table) in &mut schema.tables {
        for column in &mut table.columns {
            // 5: dbml2sql writes `uuid`, which MariaDB 10.7+ has and MySQL
            // lacks; watershed writes char(36) for both.
            if column.data_type == "uuid" {
                column.data_type = "char(36)".into();
            }
            // 13: types whose spelling means something else in the
            // dialect than in DBML: PostgreSQL `json` is `jsonb`, `time`
            // without a precision keeps whole seconds; MySQL `timestamp`
            // has no zone and keeps microseconds (`datetime(6)`).
            match column.data_type.as_str() {
                "json" => column.data_type = "jsonb".into(),
                "time without time zone" => column.data_type = "time(0) without time zone".into(),
                "timestamp" => {
                    column.data_type = "datetime(6)".into();
                    if column.default.as_deref() == Some("current_timestamp()") {
                        column.default = Some("current_timestamp(6)".into());
                    }
                }
                _ => {}
            }
            // 11: dbml2sql writes `0.00` as `0`; the same number.
            column.default = column.default.as_deref().map(same_number);
            // 12: dbml2sql leaves `default: null` out; watershed writes
            // `DEFAULT NULL`, which PostgreSQL keeps as `NULL::type`.
            if column
                .default
                .as_deref()
                .is_some_and(|d| d.starts_with("NULL::"))
            {
                column.default = None;
            }
        }
        // 14: a `unique` column is a unique index (as `schema apply` makes
        // it), not a constraint; the index itself is compared.
        table.constraints.retain(|c| !c.starts_with("UNIQUE"));
        // 9: watershed puts a many-to-many ref's actions on both keys of
        // the join table; dbml2sql drops them.
        if join_tables.contains(name) {
            let keys = std::mem::take(&mut table.foreign_keys);
            table.foreign_keys = keys
                .into_iter()
                .map(|k| ForeignKey {
                    on_delete: "NO ACTION".into(),
                    on_update: "NO ACTION".into(),
                    ..k
                })
                .collect();
        }
    }
    schema
}

/// A decimal number without trailing zeros after its point (`1.50` →
/// `1.5`, `0.00` → `0`); anything else as it is.
fn same_number(default: &str) -> String {
    let is_number = default.parse::<f64>().is_ok() && default.contains('.');
    if is_number {
        default
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    } else {
        default.to_owned()
    }
}

#[test]
fn dbml2sql_and_watershed_make_the_same_postgres_schema() {
    let Some(binary) = dbml2sql::find() else {
        return;
    };
    let theirs = apply_postgres(&dbml2sql::run(&binary, &shop_path(), "--postgres"));
    let ours = apply_postgres(&generate(
        &shop(),
        Dialect::Postgres,
        &DdlOptions::default(),
    ));
    assert_eq!(
        ours.tables.len(),
        plan(&shop(), &DdlOptions::default()).tables.len()
    );
    assert_eq!(comparable(&ours, &shop()), comparable(&theirs, &shop()));
}

#[test]
fn dbml2sql_and_watershed_make_the_same_mariadb_schema() {
    let Some(binary) = dbml2sql::find() else {
        return;
    };
    let schemas = shop_schemas();
    let their_prefix = format!("{}_", unique_name("theirs"));
    let sql = dbml2sql::run(&binary, &shop_path(), "--mysql");
    let sql =
        dbml2sql::prefix_schemas(&dbml2sql::repair_for_mariadb(&sql), &schemas, &their_prefix);
    let theirs = apply_mariadb(&sql, &schemas, &their_prefix);
    let our_prefix = format!("{}_", unique_name("ours"));
    let options = DdlOptions {
        schema_prefix: Some(our_prefix.clone()),
        ..DdlOptions::default()
    };
    let ours = apply_mariadb(
        &generate(&shop(), Dialect::Mysql, &options),
        &schemas,
        &our_prefix,
    );
    assert_eq!(ours.tables.len(), plan(&shop(), &options).tables.len());
    assert_eq!(comparable(&ours, &shop()), comparable(&theirs, &shop()));
}

/// Runs `compare` for every corpus file on its own thread (with the
/// dbml2sql script for that file) and fails with every file's failure at
/// once.
fn for_each_corpus_file(flag: &str, compare: fn(&Path, &str) -> Vec<String>) {
    let Some(binary) = dbml2sql::find() else {
        return;
    };
    let files = corpus::files();
    assert!(files.len() >= 15, "the corpus has {} files", files.len());
    let scripts = dbml2sql::run_many(&binary, &files, flag);
    let jobs: Vec<(&Path, &str)> = files
        .iter()
        .zip(&scripts)
        .map(|(file, theirs)| (file.as_path(), theirs.as_str()))
        .collect();
    for_each_file(&jobs, compare);
}

/// Runs `compare` for each file on its own thread and fails with every
/// file's differences at once.
fn for_each_file<T: Copy + Send + Sync>(jobs: &[(&Path, T)], compare: fn(&Path, T) -> Vec<String>) {
    let failures: Vec<String> = std::thread::scope(|scope| {
        let running: Vec<_> = jobs
            .iter()
            .map(|&(file, with)| (file, scope.spawn(move || compare(file, with))))
            .collect();
        running
            .into_iter()
            .filter_map(|(file, thread)| match thread.join() {
                Ok(differences) if differences.is_empty() => None,
                Ok(differences) => Some(format!(
                    "{}:\n  {}",
                    corpus::stem(file),
                    differences.join("\n  ")
                )),
                Err(panic) => Some(failure(file, panic)),
            })
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn failure(file: &Path, panic: Box<dyn std::any::Any + Send>) -> String {
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default();
    format!("{}: {message}", corpus::stem(file))
}

fn compare_on_postgres(file: &Path, theirs: &str) -> Vec<String> {
    let doc = corpus::parse(file);
    let options = DdlOptions::default();
    let ours = apply_postgres(&generate(&doc, Dialect::Postgres, &options));
    assert_holds(&doc, &expected(&doc, &options, Dialect::Postgres), &ours);
    let theirs = apply_postgres(theirs);
    introspect::differences(&comparable(&ours, &doc), &comparable(&theirs, &doc))
}

/// Applies `sql` on MariaDB with `<prefix>public` as the default database
/// (where unqualified tables go; it reads back as `public`, as in
/// PostgreSQL).
fn apply_mariadb_with_default(sql: &str, doc: &Document, prefix: &str) -> Schema {
    let mut schemas = plan(doc, &DdlOptions::default()).schemas;
    schemas.push(DEFAULT_SCHEMA.to_owned());
    let default = format!("`{prefix}{DEFAULT_SCHEMA}`");
    let sql = format!("CREATE DATABASE {default};\nUSE {default};\n{sql}");
    apply_mariadb(&sql, &schemas, prefix)
}

fn compare_on_mariadb(file: &Path, theirs: &str) -> Vec<String> {
    let doc = corpus::parse(file);
    let schemas = plan(&doc, &DdlOptions::default()).schemas;
    let our_prefix = format!("{}_", unique_name("ours"));
    let options = DdlOptions {
        schema_prefix: Some(our_prefix.clone()),
        ..DdlOptions::default()
    };
    let sql = generate(&doc, Dialect::Mysql, &options);
    let ours = apply_mariadb_with_default(&sql, &doc, &our_prefix);
    assert_holds(&doc, &expected(&doc, &options, Dialect::Mysql), &ours);
    let their_prefix = format!("{}_", unique_name("theirs"));
    let sql = dbml2sql::prefix_schemas(
        &dbml2sql::repair_for_mariadb(theirs),
        &schemas,
        &their_prefix,
    );
    let theirs = apply_mariadb_with_default(&sql, &doc, &their_prefix);
    introspect::differences(&comparable(&ours, &doc), &comparable(&theirs, &doc))
}

#[test]
fn every_corpus_file_makes_the_same_postgres_schema_as_dbml2sql() {
    for_each_corpus_file("--postgres", compare_on_postgres);
}

#[test]
fn every_corpus_file_makes_the_same_mariadb_schema_as_dbml2sql() {
    for_each_corpus_file("--mysql", compare_on_mariadb);
}

const WAIT: Duration = Duration::from_secs(10);

/// Runs `migration`-making code on a runtime of its own (the tests here
/// are plain threads).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// Makes the database behind `url` match `target` with `schema apply`.
fn apply_model(url: &str, target: &SchemaModel) {
    block_on(async {
        let mut connection = connect(url, WAIT).await.expect("connects");
        let migration = apply::plan(&mut connection, target).await.expect("plans");
        apply::run(&mut connection, &migration, false)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", migration.script()));
    });
}

/// What `schema apply` would still change in the database behind `url`.
fn left_to_apply(url: &str, target: &SchemaModel) -> Vec<String> {
    block_on(async {
        let mut connection = connect(url, WAIT).await.expect("connects");
        let migration = apply::plan(&mut connection, target).await.expect("plans");
        migration
            .changes
            .iter()
            .map(|c| format!("apply after sql: {c}"))
            .collect()
    })
}

/// `doc` made with `schema sql` and with `schema apply` in two fresh
/// PostgreSQL databases: what differs between the two catalogs, and what
/// `apply` would change after `sql`.
fn sql_and_apply_on_postgres(file: &Path, (): ()) -> Vec<String> {
    let doc = corpus::parse(file);
    let options = DdlOptions::default();
    let server = Postgres::shared();
    let made_by_sql = server.create_database("by_sql").expect("database");
    server
        .sql(&made_by_sql, &generate(&doc, Dialect::Postgres, &options))
        .unwrap_or_else(|e| panic!("PostgreSQL refused the DDL: {e}"));
    let by_sql = introspect::postgres(server, &made_by_sql);
    let mut differences = left_to_apply(
        &server.url(&made_by_sql),
        &SchemaModel::from_document(&doc, &options),
    );
    let database = server.create_database("applied").expect("database");
    apply_model(
        &server.url(&database),
        &SchemaModel::from_document(&doc, &options),
    );
    let by_apply = introspect::postgres(server, &database);
    differences.extend(introspect::differences(&by_sql, &by_apply));
    differences
}

/// The same on MariaDB, each side in databases of its own prefix.
fn sql_and_apply_on_mariadb(file: &Path, (): ()) -> Vec<String> {
    let doc = corpus::parse(file);
    let sql_prefix = format!("{}_", unique_name("sql"));
    let options = DdlOptions {
        schema_prefix: Some(sql_prefix.clone()),
        ..DdlOptions::default()
    };
    let by_sql =
        apply_mariadb_with_default(&generate(&doc, Dialect::Mysql, &options), &doc, &sql_prefix);
    let server = MariaDb::shared();
    let mut made_by_sql = SchemaModel::from_document(&doc, &DdlOptions::default());
    made_by_sql.prefix_schemas(&sql_prefix);
    let mut differences = left_to_apply(
        &server.url(&format!("{sql_prefix}{DEFAULT_SCHEMA}")),
        &made_by_sql,
    );
    let prefix = format!("{}_", unique_name("applied"));
    let default = format!("{prefix}{DEFAULT_SCHEMA}");
    server
        .sql(&format!("CREATE DATABASE `{default}`"))
        .expect("database");
    let mut target = SchemaModel::from_document(&doc, &DdlOptions::default());
    target.prefix_schemas(&prefix);
    apply_model(&server.url(&default), &target);
    let mut schemas = plan(&doc, &DdlOptions::default()).schemas;
    schemas.push(DEFAULT_SCHEMA.to_owned());
    let databases: Vec<String> = schemas.iter().map(|s| format!("{prefix}{s}")).collect();
    let by_apply = introspect::mariadb(server, &databases, &prefix);
    differences.extend(introspect::differences(&by_sql, &by_apply));
    differences
}

/// The shop schema and every corpus file.
fn every_file() -> Vec<std::path::PathBuf> {
    let mut files = corpus::files();
    files.push(shop_path());
    files
}

#[test]
fn schema_sql_and_schema_apply_make_the_same_postgres_catalog_for_every_file() {
    let files = every_file();
    let jobs: Vec<(&Path, ())> = files.iter().map(|f| (f.as_path(), ())).collect();
    for_each_file(&jobs, sql_and_apply_on_postgres);
}

#[test]
fn schema_sql_and_schema_apply_make_the_same_mariadb_catalog_for_every_file() {
    let files = every_file();
    let jobs: Vec<(&Path, ())> = files.iter().map(|f| (f.as_path(), ())).collect();
    for_each_file(&jobs, sql_and_apply_on_mariadb);
}
