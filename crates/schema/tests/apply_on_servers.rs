//! `apply`, `pull` and introspection against real servers: the shop
//! schema and every corpus file applied to fresh PostgreSQL and MariaDB
//! databases, applied again (nothing to do), pulled back as DBML (the
//! same schema), then changed additively and destructively; expression
//! indexes created, read back and pulled (PostgreSQL) or skipped (MariaDB).

#[path = "support/corpus.rs"]
mod corpus;

use std::time::Duration;

use watershed_schema::apply::{drop_expression_indexes, plan, run};
use watershed_schema::dbml;
use watershed_schema::ddl::{DdlOptions, Dialect};
use watershed_schema::diff::{Change, diff};
use watershed_schema::introspect::{Connection, Scope, connect};
use watershed_schema::pull::to_dbml;
use watershed_schema::{SchemaError, SchemaModel};
use watershed_testkit::{MariaDb, Postgres, unique_name};

const WAIT: Duration = Duration::from_secs(10);

/// The repository's `examples/schema/shop.dbml`, parsed.
fn shop() -> dbml::Document {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/schema/shop.dbml"
    );
    let text = std::fs::read_to_string(path).expect("shop.dbml is readable");
    dbml::parse("shop.dbml", &text).unwrap_or_else(|e| panic!("{e}"))
}

fn model(text: &str) -> SchemaModel {
    let doc = dbml::parse("test.dbml", text).unwrap_or_else(|e| panic!("{e}"));
    SchemaModel::from_document(&doc, &DdlOptions::default())
}

async fn postgres() -> (Connection, String) {
    let server = Postgres::shared();
    let database = server.create_database("apply").expect("database");
    let url = server.url(&database);
    (connect(&url, WAIT).await.expect("connects"), url)
}

/// A fresh MariaDB database, and the prefix that keeps this test's other
/// databases (the DBML's schemas) apart from other tests'.
async fn mariadb() -> (Connection, String) {
    let server = MariaDb::shared();
    let database = server.create_database("apply").expect("database");
    let url = server.url(&database);
    (
        connect(&url, WAIT).await.expect("connects"),
        format!("{database}_"),
    )
}

async fn apply(connection: &mut Connection, target: &SchemaModel) -> Vec<Change> {
    let migration = plan(connection, target).await.expect("plans");
    run(connection, &migration, false)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", migration.script()));
    migration.changes
}

/// Applies `target`, checks a second plan is empty, pulls the database
/// back as DBML and checks it describes `target`.
async fn apply_twice_and_pull(
    connection: &mut Connection,
    target: &SchemaModel,
    scope: Scope,
) -> String {
    let first = apply(connection, target).await;
    assert!(!first.is_empty(), "a fresh database needs changes");
    let again = plan(connection, target).await.expect("plans again");
    assert!(
        again.is_empty(),
        "second apply changes nothing, but plans:\n{}",
        again.script()
    );
    let dialect = connection.dialect();
    let live = connection.introspect(&scope).await.expect("introspects");
    let text = to_dbml(&live, dialect);
    let pulled = model(&text);
    let mut target = target.clone();
    if !connection.expression_indexes() {
        drop_expression_indexes(&mut target);
    }
    let changes = diff(&target, &pulled, dialect);
    assert!(
        changes.is_empty(),
        "pulled DBML differs:\n{changes:#?}\n{text}"
    );
    text
}

#[tokio::test]
async fn the_shop_schema_applies_to_postgres_once_and_pulls_back_the_same() {
    let (mut connection, _) = postgres().await;
    let target = SchemaModel::from_document(&shop(), &DdlOptions::default());
    let pulled = apply_twice_and_pull(&mut connection, &target, Scope::All).await;
    insta::assert_snapshot!("shop_pulled_from_postgres", pulled);
}

#[tokio::test]
async fn the_shop_schema_applies_to_mariadb_once_and_pulls_back_the_same() {
    let (mut connection, prefix) = mariadb().await;
    let mut target = SchemaModel::from_document(&shop(), &DdlOptions::default());
    target.prefix_schemas(&prefix);
    let scope = Scope::DefaultAnd(target.named_schemas());
    apply_twice_and_pull(&mut connection, &target, scope).await;
}

/// Applies every corpus file to a database of its own, twice, and pulls
/// it back; fails with every file's failure at once.
async fn round_trip_corpus(server: fn() -> (String, Option<String>)) {
    let files = corpus::files();
    let mut tasks = tokio::task::JoinSet::new();
    let mut names = std::collections::HashMap::new();
    for file in files.clone() {
        let (url, prefix) = server();
        let name = corpus::stem(&file);
        let task = tasks.spawn(async move {
            let mut connection = connect(&url, WAIT).await.expect("connects");
            let mut target =
                SchemaModel::from_document(&corpus::parse(&file), &DdlOptions::default());
            let scope = match &prefix {
                Some(prefix) => {
                    target.prefix_schemas(prefix);
                    Scope::DefaultAnd(target.named_schemas())
                }
                None => Scope::All,
            };
            apply_twice_and_pull(&mut connection, &target, scope).await;
        });
        names.insert(task.id(), name);
    }
    let mut failures = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Err(error) = done {
            let name = names.get(&error.id()).cloned().unwrap_or_default();
            failures.push(format!("{name}: {error}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn postgres_database() -> (String, Option<String>) {
    let server = Postgres::shared();
    let database = server.create_database("corpus").expect("database");
    (server.url(&database), None)
}

fn mariadb_database() -> (String, Option<String>) {
    let server = MariaDb::shared();
    let database = server.create_database("corpus").expect("database");
    (server.url(&database), Some(format!("{database}_")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_file_applies_to_postgres_once_and_pulls_back_the_same() {
    round_trip_corpus(postgres_database).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_file_applies_to_mariadb_once_and_pulls_back_the_same() {
    round_trip_corpus(mariadb_database).await;
}

const V1: &str = "Enum mood { ok\n bad }\nTable t {\n id int [pk]\n name varchar(20) [not null]\n m mood\n old text\n}\n";
const V2_ADDITIVE: &str = "Enum mood { ok\n meh\n bad\n great }\nTable t {\n id bigint [pk]\n name varchar(50) [not null, note: 'who']\n m mood [default: 'ok']\n old text\n added int [default: 0]\n indexes {\n  name [unique]\n }\n}\nTable u {\n id int [pk]\n t_id bigint [ref: > t.id]\n}\n";
const V3_DESTRUCTIVE: &str = "Enum mood { ok\n meh\n bad\n great }\nTable t {\n id bigint [pk]\n name varchar(10) [not null]\n m mood [default: 'ok']\n added int [not null, default: 0]\n}\n";

async fn additive_then_destructive(connection: &mut Connection) {
    apply(connection, &model(V1)).await;
    let changes = apply(connection, &model(V2_ADDITIVE)).await;
    assert!(changes.iter().all(|c| !c.is_destructive()), "{changes:#?}");
    assert!(
        plan(connection, &model(V2_ADDITIVE))
            .await
            .expect("plans")
            .is_empty()
    );

    let narrowing = plan(connection, &model(V3_DESTRUCTIVE))
        .await
        .expect("plans");
    let destructive: Vec<String> = narrowing
        .destructive()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert!(
        destructive.iter().any(|c| c.contains("table u")),
        "{destructive:?}"
    );
    assert!(
        destructive.iter().any(|c| c.contains("t.old")),
        "{destructive:?}"
    );
    assert!(
        destructive.iter().any(|c| c.contains("t.name")),
        "{destructive:?}"
    );
    assert!(
        destructive.iter().any(|c| c.contains("t.added")),
        "{destructive:?}"
    );
    let refused = run(connection, &narrowing, false).await;
    assert!(
        matches!(refused, Err(SchemaError::NeedsConfirm { .. })),
        "{refused:?}"
    );
    let unchanged = plan(connection, &model(V2_ADDITIVE)).await.expect("plans");
    assert!(
        unchanged.is_empty(),
        "a refused plan changes nothing: {}",
        unchanged.script()
    );

    run(connection, &narrowing, true)
        .await
        .expect("applies when confirmed");
    assert!(
        plan(connection, &model(V3_DESTRUCTIVE))
            .await
            .expect("plans")
            .is_empty()
    );
}

#[tokio::test]
async fn postgres_takes_additive_changes_and_refuses_destructive_ones_without_confirm() {
    let (mut connection, _) = postgres().await;
    additive_then_destructive(&mut connection).await;
}

#[tokio::test]
async fn mariadb_takes_additive_changes_and_refuses_destructive_ones_without_confirm() {
    let (mut connection, _) = mariadb().await;
    additive_then_destructive(&mut connection).await;
}

/// An expression index, a mixed one and a JSON path one: PostgreSQL reads
/// them back as `lower(email::text)`, `(data ->> 'sku'::text)`.
const EXPRESSION_INDEXES: &str = "Table users {\n id int [pk]\n tenant_id int [not null]\n email varchar(200) [not null]\n name text\n data jsonb\n indexes {\n  `lower(email)` [unique]\n  (tenant_id, `lower(name)`) [name: 'users_tenant_name']\n  `(data ->> 'sku')`\n  tenant_id\n }\n}\n";

#[tokio::test]
async fn postgres_creates_expression_indexes_once_and_pulls_them_back() {
    let (mut connection, _) = postgres().await;
    let target = model(EXPRESSION_INDEXES);
    let first = plan(&mut connection, &target).await.expect("plans");
    assert!(first.skipped.is_empty(), "{:?}", first.skipped);
    let script = first.script();
    assert!(
        script.contains("(\"tenant_id\", (lower(name)))"),
        "{script}"
    );
    let pulled = apply_twice_and_pull(&mut connection, &target, Scope::All).await;
    assert!(pulled.contains("`lower(email::text)` [unique"), "{pulled}");
    assert!(
        pulled.contains("(tenant_id, `lower(name)`) [name: 'users_tenant_name']"),
        "{pulled}"
    );
    assert!(pulled.contains("`(data ->> 'sku'::text)`"), "{pulled}");

    let live = connection
        .introspect(&Scope::All)
        .await
        .expect("introspects");
    let users = live.tables.values().next().expect("users");
    let mixed = users
        .indexes
        .iter()
        .find(|i| i.name == "users_tenant_name")
        .expect("the mixed index");
    assert_eq!(mixed.columns, ["tenant_id", "lower(name)"]);
    assert_eq!(mixed.expression_parts, [1]);
    assert!(diff(&live, &target, Dialect::Postgres).is_empty());
    assert!(diff(&target, &live, Dialect::Postgres).is_empty());

    let changed = EXPRESSION_INDEXES.replace("`lower(email)` [unique]", "`upper(email)` [unique]");
    let changes = apply_confirmed(&mut connection, &model(&changed)).await;
    assert_eq!(changes.len(), 2, "drop and create: {changes:#?}");
    assert!(
        plan(&mut connection, &model(&changed))
            .await
            .expect("plans")
            .is_empty()
    );
}

#[tokio::test]
async fn mariadb_applies_a_file_with_expression_indexes_without_them() {
    let (mut connection, _) = mariadb().await;
    assert!(!connection.expression_indexes());
    let target = model(EXPRESSION_INDEXES);
    let first = plan(&mut connection, &target).await.expect("plans");
    assert_eq!(first.skipped.len(), 3, "{:?}", first.skipped);
    assert!(
        first.statements[0].starts_with("-- index users_expr1_key on users skipped"),
        "{:#?}",
        first.statements
    );
    run(&mut connection, &first, false)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", first.script()));
    let again = plan(&mut connection, &target).await.expect("plans again");
    assert!(again.is_empty(), "{}", again.script());
    let live = connection
        .introspect(&connection.default_scope())
        .await
        .expect("introspects");
    let users = live.tables.values().next().expect("users");
    assert_eq!(users.indexes.len(), 1, "only the plain index: {users:#?}");
}

async fn apply_confirmed(connection: &mut Connection, target: &SchemaModel) -> Vec<Change> {
    let migration = plan(connection, target).await.expect("plans");
    run(connection, &migration, true)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", migration.script()));
    migration.changes
}

#[tokio::test]
async fn planning_changes_nothing() {
    let (mut connection, _) = postgres().await;
    let migration = plan(&mut connection, &model(V1)).await.expect("plans");
    assert!(!migration.is_empty());
    let live = connection
        .introspect(&Scope::All)
        .await
        .expect("introspects");
    assert!(live.tables.is_empty() && live.enums.is_empty());
}

#[tokio::test]
async fn connecting_to_a_closed_port_gives_up_after_the_wait() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("binds")
        .local_addr()
        .expect("address")
        .port();
    let url = format!(
        "postgres://u:secret@127.0.0.1:{port}/{}",
        unique_name("none")
    );
    let started = std::time::Instant::now();
    let error = connect(&url, Duration::from_millis(500))
        .await
        .expect_err("nothing listens");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "it retried"
    );
    let message = error.to_string();
    assert!(
        message.contains("cannot connect") && !message.contains("secret"),
        "{message}"
    );
    let _ = Dialect::Postgres;
}

#[tokio::test]
async fn a_mysql_url_without_a_database_is_refused_for_tables_without_a_schema() {
    let url = MariaDb::shared().url("");
    let mut connection = connect(url.trim_end_matches('/'), WAIT)
        .await
        .expect("connects");
    let error = plan(&mut connection, &model(V1))
        .await
        .expect_err("no home for t");
    assert!(error.to_string().contains("add /DATABASE"), "{error}");
}
