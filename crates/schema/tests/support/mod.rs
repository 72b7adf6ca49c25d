//! Shared helpers for the schema integration tests: the shop DBML file,
//! the corpus, introspection of what a server holds (as plain sorted data,
//! so two databases compare with `assert_eq!`), and finding `dbml2sql`.

pub mod corpus;
pub mod dbml2sql;
pub mod introspect;

use std::path::PathBuf;

use watershed_schema::dbml::{self, Document};

/// The repository's `examples/schema/shop.dbml`.
pub fn shop_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/schema/shop.dbml")
}

pub fn shop_text() -> String {
    std::fs::read_to_string(shop_path()).expect("examples/schema/shop.dbml is readable")
}

pub fn shop() -> Document {
    dbml::parse("shop.dbml", &shop_text()).unwrap_or_else(|e| panic!("{e}"))
}
