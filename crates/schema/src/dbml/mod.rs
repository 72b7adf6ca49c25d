//! DBML: the lexer, parser, model, semantic checks, conversion to
//! [`watershed_events::TableSchema`] and the lint.

mod check;
mod convert;
mod error;
mod items;
mod lexer;
pub mod lint;
mod model;
mod parser;
#[cfg(test)]
mod roundtrip_tests;
mod settings;
#[cfg(test)]
mod tests;

pub use convert::{default_sql, index_name, logical_type, to_table_schema, to_table_schemas};
pub use error::{DbmlErrors, Diagnostic, RawDiagnostic, line_and_column};
pub use model::{
    ColumnDef, ColumnSettings, DEFAULT_SCHEMA, DataType, DefaultValue, Document, Endpoint, Enum,
    EnumValue, IndexDef, IndexPart, InlineRef, PartialRef, Project, QualifiedName, Records, Ref,
    RefAction, Relation, Span, StickyNote, Table, TableGroup,
};

/// Parses and checks DBML `text` read from `file` (the name is used in
/// messages only). Syntax errors are reported together; reference and
/// duplicate checks run once the syntax is clean.
pub fn parse(file: &str, text: &str) -> Result<Document, DbmlErrors> {
    let (doc, errors) = parse_and_check(text);
    if errors.is_empty() {
        Ok(doc)
    } else {
        Err(DbmlErrors::new(file, text, &errors))
    }
}

/// The document as far as it could be read, and every error found.
pub fn parse_and_check(text: &str) -> (Document, Vec<RawDiagnostic>) {
    let (mut doc, mut errors) = parser::parse_document(text);
    if errors.is_empty() {
        errors = check::check(&mut doc);
    }
    (doc, errors)
}
