use watershed_events::LogicalType;

use super::*;
use crate::dbml;
use crate::ddl::DdlOptions;
use crate::sql;

fn model(text: &str) -> SchemaModel {
    let doc = dbml::parse("t.dbml", text).unwrap_or_else(|e| panic!("{e}"));
    SchemaModel::from_document(&doc, &DdlOptions::default())
}

fn changes(from: &str, to: &str) -> Vec<Change> {
    diff(&model(from), &model(to), Dialect::Postgres)
}

/// The plan lines without the destructive-marker column.
fn lines(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .map(|c| c.to_string().trim_start().to_owned())
        .collect()
}

const BASE: &str = "Enum s.mood { ok\n bad }\nTable s.t [note: 'T'] {\n id int [pk]\n name varchar(20) [not null]\n m s.mood\n gone text\n indexes {\n  name [name: 'by_name']\n }\n}\nTable s.old {\n id int [pk]\n t_id int [ref: > s.t.id]\n}\n";

#[test]
fn equal_models_have_no_changes_in_either_dialect() {
    for dialect in [Dialect::Postgres, Dialect::Mysql] {
        assert!(diff(&model(BASE), &model(BASE), dialect).is_empty());
    }
}

#[test]
fn everything_new_is_created_schemas_and_enums_first_foreign_keys_last() {
    let all = diff(&SchemaModel::default(), &model(BASE), Dialect::Postgres);
    let kinds: Vec<&str> = all
        .iter()
        .map(|c| match c {
            Change::CreateSchema { .. } => "schema",
            Change::CreateEnum { .. } => "enum",
            Change::CreateTable { .. } => "table",
            Change::CreateIndex { .. } => "index",
            Change::AddForeignKey { .. } => "fk",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["schema", "enum", "table", "table", "index", "fk"]);
    assert!(all.iter().all(|c| !c.is_destructive()));
}

#[test]
fn additive_changes_are_not_destructive() {
    let to = BASE
        .replace("ok\n bad", "ok\n meh\n bad")
        .replace(
            "varchar(20) [not null]",
            "varchar(50) [not null, default: 'x', note: 'who']",
        )
        .replace("gone text", "gone text\n added int")
        .replace("[note: 'T']", "[note: 'The t']")
        .replace(
            "name [name: 'by_name']",
            "name [name: 'by_name']\n  (m, name) [unique]",
        );
    let found = changes(BASE, &to);
    assert!(found.iter().all(|c| !c.is_destructive()), "{found:#?}");
    let text = lines(&found);
    assert!(
        text.contains(&"+ enum s.mood value meh".to_owned()),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|l| l.starts_with("+ column s.t.added int32")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|l| l.starts_with("~ column s.t.name: type")),
        "{text:?}"
    );
    assert!(text.contains(&"~ comment on s.t".to_owned()), "{text:?}");
    assert!(
        text.iter().any(|l| l.starts_with("+ unique index")),
        "{text:?}"
    );
    let sql = sql::statements(&found, Dialect::Postgres, &model(&to));
    assert!(
        sql.contains(
            &"ALTER TYPE \"s\".\"mood\" ADD VALUE IF NOT EXISTS 'meh' AFTER 'ok'".to_owned()
        ),
        "{sql:#?}"
    );
}

#[test]
fn drops_narrowing_and_new_not_null_are_destructive() {
    let to = "Enum s.mood { ok }\nTable s.t [note: 'T'] {\n id bigint\n name varchar(10) [not null]\n m s.mood [not null]\n}\n";
    let found = changes(BASE, to);
    let destructive: Vec<String> = found
        .iter()
        .filter(|c| c.is_destructive())
        .map(ToString::to_string)
        .collect();
    for expected in [
        "!- enum s.mood values bad",
        "!- table s.old",
        "!- column s.t.gone",
        "!- index by_name (name) on s.t",
        "!~ primary key s.t: (id) -> ()",
    ] {
        assert!(
            destructive.contains(&expected.to_owned()),
            "{expected} in {destructive:#?}"
        );
    }
    assert!(
        destructive
            .iter()
            .any(|l| l.starts_with("!~ column s.t.name: type"))
    );
    assert!(
        destructive
            .iter()
            .any(|l| l.starts_with("!~ column s.t.m: set not null"))
    );
    assert!(
        destructive
            .iter()
            .any(|l| l.starts_with("!- foreign key s.old"))
    );
    let drop_key = found
        .iter()
        .position(|c| matches!(c, Change::DropForeignKey { .. }));
    let drop_table = found
        .iter()
        .position(|c| matches!(c, Change::DropTable { .. }));
    assert!(drop_key < drop_table, "keys go before their tables");
    let widened = found
        .iter()
        .find(|c| c.to_string().contains("s.t.id"))
        .expect("id changes");
    assert!(!widened.is_destructive(), "int to bigint widens: {widened}");
}

#[test]
fn a_dropped_enum_type_goes_after_the_tables_that_used_it() {
    let found = changes(BASE, "Table s.t {\n id int [pk]\n}\n");
    assert!(
        matches!(found.last(), Some(Change::DropEnum { .. })),
        "{found:#?}"
    );
}

#[test]
fn changed_foreign_key_actions_replace_the_key() {
    let to = BASE.replace(
        "[ref: > s.t.id]",
        "[ref: > s.t.id]\n}\nRef: s.old.t_id > s.t.id [delete: cascade]\nTable s.x {\n id int",
    );
    let to = to.replace("t_id int [ref: > s.t.id]", "t_id int");
    let found = changes(BASE, &to);
    assert!(
        found
            .iter()
            .any(|c| matches!(c, Change::DropForeignKey { .. }))
    );
    assert!(found.iter().any(|c| matches!(c, Change::AddForeignKey { key, .. } if key.on_delete.as_deref() == Some("cascade"))));
}

#[test]
fn mysql_stores_uuid_as_char_36_so_they_compare_equal() {
    let uuid = model("Table t {\n id uuid [pk]\n}\n");
    let char36 = model("Table t {\n id char(36) [pk]\n}\n");
    assert!(diff(&uuid, &char36, Dialect::Mysql).is_empty());
    assert!(!diff(&uuid, &char36, Dialect::Postgres).is_empty());
}

#[test]
fn widening_follows_what_values_fit() {
    use LogicalType::*;
    assert!(widens(&Int32, &Int64));
    assert!(!widens(&Int64, &Int32));
    assert!(widens(&UInt16, &Int32));
    assert!(!widens(&Int16, &UInt64), "negative values do not fit");
    let decimal = |p, s| Decimal {
        precision: Some(p),
        scale: Some(s),
    };
    assert!(widens(&decimal(10, 2), &decimal(12, 2)));
    assert!(!widens(&decimal(10, 2), &decimal(10, 3)));
    let varchar = |n| Varchar {
        length: Some(n),
        charset: None,
    };
    assert!(widens(&varchar(10), &varchar(20)));
    assert!(widens(&varchar(10), &Text { charset: None }));
    assert!(!widens(&Text { charset: None }, &varchar(10)));
    let labels = |l: &[&str]| Enum {
        labels: l.iter().map(|s| (*s).to_owned()).collect(),
    };
    assert!(widens(&labels(&["a", "b"]), &labels(&["a", "x", "b"])));
    assert!(!widens(&labels(&["a", "b"]), &labels(&["a"])));
}

#[test]
fn mysql_statements_modify_whole_columns() {
    let found = diff(
        &model("Table t {\n id int [pk]\n n varchar(5)\n}\n"),
        &model("Table t {\n id int [pk, increment]\n n varchar(9) [not null, default: 'a']\n}\n"),
        Dialect::Mysql,
    );
    let sql = sql::statements(&found, Dialect::Mysql, &SchemaModel::default());
    assert_eq!(
        sql,
        [
            "ALTER TABLE `t` MODIFY COLUMN `id` int NOT NULL AUTO_INCREMENT",
            "ALTER TABLE `t` MODIFY COLUMN `n` varchar(9) NOT NULL DEFAULT 'a'",
        ]
    );
}

#[test]
fn a_live_schema_the_file_does_not_mention_is_left_alone() {
    let mut live = model(
        "Table kept {\n id int [pk]\n}\nTable other.kept {\n id int [pk]\n}\nTable s.t {\n id int [pk]\n}\n",
    );
    let target = model("Table s.t {\n id int [pk]\n}\n");
    restrict_to(&mut live, &target);
    assert!(diff(&live, &target, Dialect::Postgres).is_empty());
    let mut with_default = model("Table kept {\n id int [pk]\n}\n");
    restrict_to(
        &mut with_default,
        &model("Table other_table {\n id int [pk]\n}\n"),
    );
    assert_eq!(
        with_default.tables.len(),
        1,
        "the default schema is managed when the file uses it"
    );
}

const EXPRESSIONS: &str = "Table users {\n id int [pk]\n tenant_id int\n email varchar(200)\n name text\n indexes {\n  `lower(email)` [unique, name: 'users_email_ci']\n  (tenant_id, `lower(name)`)\n }\n}\n";

#[test]
fn expression_indexes_are_created_with_parenthesised_parts_in_both_dialects() {
    let found = diff(
        &SchemaModel::default(),
        &model(EXPRESSIONS),
        Dialect::Postgres,
    );
    let text = lines(&found);
    assert!(
        text.contains(&"+ unique index users_email_ci (`lower(email)`) on users".to_owned()),
        "{text:?}"
    );
    let pg = sql::statements(&found, Dialect::Postgres, &model(EXPRESSIONS));
    assert!(
        pg.contains(
            &"CREATE UNIQUE INDEX \"users_email_ci\" ON \"public\".\"users\" ((lower(email)))"
                .to_owned()
        ),
        "{pg:#?}"
    );
    assert!(
        pg.contains(
            &"CREATE INDEX \"users_expr2_idx\" ON \"public\".\"users\" (\"tenant_id\", (lower(name)))"
                .to_owned()
        ),
        "{pg:#?}"
    );
    let my = sql::statements(&found, Dialect::Mysql, &SchemaModel::default());
    assert!(
        my.contains(
            &"CREATE INDEX `users_expr2_idx` ON `users` (`tenant_id`, (lower(name)))".to_owned()
        ),
        "{my:#?}"
    );
}

#[test]
fn expression_indexes_match_the_spelling_the_server_reads_back() {
    let mut live = model(EXPRESSIONS);
    let table = live
        .tables
        .get_mut(&TableName::new(None, "users"))
        .expect("users");
    table.indexes[0].columns[0] = "lower((email)::text)".into();
    table.indexes[1].name = "whatever_postgres_named_it".into();
    for dialect in [Dialect::Postgres, Dialect::Mysql] {
        assert!(
            diff(&live, &model(EXPRESSIONS), dialect).is_empty(),
            "{dialect:?}"
        );
    }
    let mysql_spelling = EXPRESSIONS.replace("lower(name)", "LOWER( name )");
    assert!(diff(&model(EXPRESSIONS), &model(&mysql_spelling), Dialect::Mysql).is_empty());
}

#[test]
fn a_changed_expression_drops_and_creates_the_index() {
    let to = EXPRESSIONS.replace("`lower(email)`", "`upper(email)`");
    let found = changes(EXPRESSIONS, &to);
    let text = lines(&found);
    assert_eq!(
        text,
        [
            "!- unique index users_email_ci (`lower(email)`) on users",
            "+ unique index users_email_ci (`upper(email)`) on users",
        ],
        "{found:#?}"
    );
    let plain = EXPRESSIONS.replace("(tenant_id, `lower(name)`)", "(tenant_id, name)");
    let found = changes(EXPRESSIONS, &plain);
    assert_eq!(
        found.len(),
        2,
        "an expression part is not its column: {found:#?}"
    );
}
