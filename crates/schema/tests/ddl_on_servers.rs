//! The generated DDL against real servers: the shop schema
//! (`examples/schema/shop.dbml`) is applied to a fresh PostgreSQL database
//! and to fresh MariaDB databases, and what the servers then hold is
//! compared with the DBML, and with what dbml2sql's DDL makes of the same
//! file where dbml2sql is installed.

mod support;

use support::introspect::{self, ForeignKey, Schema};
use support::{dbml2sql, shop, shop_path};
use watershed_schema::dbml::{DEFAULT_SCHEMA, Document, IndexPart, QualifiedName};
use watershed_schema::ddl::{DdlOptions, Dialect, generate, plan};
use watershed_testkit::{MariaDb, Postgres, unique_name};

fn key(name: &QualifiedName) -> String {
    format!(
        "{}.{}",
        name.schema.as_deref().unwrap_or(DEFAULT_SCHEMA),
        name.name
    )
}

/// What the DBML says each table must hold: columns with nullability,
/// primary key, foreign keys.
fn expected(doc: &Document, options: &DdlOptions) -> Schema {
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
        let action = |a: Option<watershed_schema::dbml::RefAction>| {
            a.map_or("NO ACTION", |a| a.sql()).to_owned()
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
            let found = live_indexes
                .iter()
                .any(|i| i.replace(", ", ",").ends_with(&columns));
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
    assert_holds(&doc, &expected(&doc, &options), &live);
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
    assert_holds(&doc, &expected(&doc, &options), &live);
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
    assert_holds(&doc, &expected(&doc, &options), &live);
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
/// watershed taken out, so the rest must agree.
fn comparable(schema: &Schema) -> Schema {
    let mut schema = schema.clone();
    for column in schema
        .tables
        .values_mut()
        .flat_map(|t| t.columns.iter_mut())
    {
        // dbml2sql writes `uuid`, which MariaDB 10.7+ has and MySQL lacks;
        // watershed writes char(36) for both.
        if column.data_type == "uuid" {
            column.data_type = "char(36)".into();
        }
    }
    schema
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
    assert_eq!(comparable(&ours), comparable(&theirs));
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
    assert_eq!(comparable(&ours), comparable(&theirs));
}
