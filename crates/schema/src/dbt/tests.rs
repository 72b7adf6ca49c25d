use std::collections::BTreeSet;

use yaml_rust2::{Yaml, YamlLoader};

use super::*;
use crate::dbml;
use crate::ddl::DdlOptions;

fn shop() -> SchemaModel {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/schema/shop.dbml"
    );
    let text = std::fs::read_to_string(path).expect("shop.dbml is readable");
    let doc = dbml::parse("shop.dbml", &text).expect("parses");
    SchemaModel::from_document(&doc, &DdlOptions::default())
}

fn options() -> DbtOptions {
    DbtOptions {
        source: "shop".into(),
        default_schema: Some("public".into()),
    }
}

fn text<'a>(yaml: &'a Yaml, key: &str) -> &'a str {
    yaml[key].as_str().unwrap_or_default()
}

type Tables = BTreeSet<(String, String)>;
type Columns = BTreeSet<(String, String, String)>;

/// Every (source, table) and (source, table, column) the YAML declares.
fn declared(doc: &Yaml) -> (Tables, Columns) {
    let mut tables = BTreeSet::new();
    let mut columns = BTreeSet::new();
    for source in doc["sources"].as_vec().expect("a list of sources") {
        for table in source["tables"].as_vec().expect("a list of tables") {
            let key = (
                text(source, "name").to_owned(),
                text(table, "name").to_owned(),
            );
            for column in table["columns"].as_vec().into_iter().flatten() {
                columns.insert((
                    key.0.clone(),
                    key.1.clone(),
                    text(column, "name").to_owned(),
                ));
            }
            tables.insert(key);
        }
    }
    (tables, columns)
}

/// `source('a', 'b')` → (a, b).
fn source_call(text: &str) -> Option<(String, String)> {
    let inner = text.split("source('").nth(1)?;
    let (source, rest) = inner.split_once("', '")?;
    let (table, _) = rest.split_once("')")?;
    Some((source.to_owned(), table.to_owned()))
}

#[test]
fn the_sources_file_is_valid_yaml_whose_relationships_point_at_declared_columns() {
    let files = files(&shop(), &options());
    let docs = YamlLoader::load_from_str(&files[0].contents).expect("valid YAML");
    let doc = &docs[0];
    assert_eq!(doc["version"].as_i64(), Some(2));
    let (tables, columns) = declared(doc);
    assert!(tables.contains(&("shop_auth".into(), "users".into())));
    let mut relationships = 0;
    for source in doc["sources"].as_vec().into_iter().flatten() {
        for table in source["tables"].as_vec().into_iter().flatten() {
            for column in table["columns"].as_vec().into_iter().flatten() {
                for test in column["tests"].as_vec().into_iter().flatten() {
                    let relationship = &test["relationships"];
                    if relationship.is_badvalue() {
                        continue;
                    }
                    relationships += 1;
                    let (to_source, to_table) =
                        source_call(text(relationship, "to")).expect("to: source(…)");
                    let field = text(relationship, "field").to_owned();
                    assert!(
                        columns.contains(&(to_source, to_table, field)),
                        "{relationship:?}"
                    );
                }
            }
        }
    }
    assert!(
        relationships >= 10,
        "the shop has many refs: {relationships}"
    );
}

#[test]
fn every_staging_model_selects_from_a_declared_source() {
    let files = files(&shop(), &options());
    let docs = YamlLoader::load_from_str(&files[0].contents).expect("valid YAML");
    let (tables, _) = declared(&docs[0]);
    let models: Vec<&DbtFile> = files.iter().skip(1).collect();
    assert_eq!(models.len(), tables.len(), "one model per table");
    for model in models {
        let call = source_call(&model.contents).expect("a source() call");
        assert!(
            tables.contains(&call),
            "{} selects from {call:?}",
            model.path.display()
        );
        let name = model
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert_eq!(name, format!("stg_{}__{}.sql", call.0, snake_case(&call.1)));
    }
}

#[test]
fn the_shop_sources_and_a_staging_model_match_the_golden_files() {
    let files = files(&shop(), &options());
    insta::assert_snapshot!("shop_sources_yml", files[0].contents);
    let users = files
        .iter()
        .find(|f| f.path.ends_with("stg_shop_auth__users.sql"))
        .expect("a users model");
    insta::assert_snapshot!("shop_stg_users_sql", users.contents);
    assert_eq!(files, super::files(&shop(), &options()), "deterministic");
}

#[test]
fn names_become_snake_case() {
    assert_eq!(snake_case("fullName"), "full_name");
    assert_eq!(snake_case("Order ID"), "order_id");
    assert_eq!(snake_case("HTTPStatus"), "httpstatus");
    assert_eq!(snake_case("2fa"), "c_2fa");
    assert_eq!(snake_case("already_snake"), "already_snake");
}

#[test]
fn notes_with_quotes_and_newlines_stay_one_yaml_string() {
    let mut model = shop();
    if let Some(table) = model.tables.values_mut().next() {
        table.comment = Some("say \"hi\"\nand: leave # not a comment".into());
    }
    let files = files(&model, &options());
    let docs = YamlLoader::load_from_str(&files[0].contents).expect("valid YAML");
    let first = &docs[0]["sources"][0]["tables"][0];
    assert_eq!(
        text(first, "description"),
        "say \"hi\"\nand: leave # not a comment"
    );
}
