//! `watershed schema lint`: DBML errors (syntax, unknown references,
//! duplicates) and warnings about schemas that parse but will hurt: a
//! table without a primary key, a type name DBML does not know, `varchar`
//! without a length, money in a floating-point column, and UUIDs stored as
//! `uuid` in some tables and `char(36)` in others.

use serde::Serialize;

use super::error::{RawDiagnostic, line_and_column};
use super::model::{ColumnDef, Document, Span, Table};
use super::{logical_type, parse_and_check};

/// How bad a finding is: errors make the lint fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding, placed in its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub severity: Severity,
    /// A stable name for the rule, e.g. `missing-primary-key`.
    pub rule: &'static str,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {severity}[{}]: {}",
            self.file, self.line, self.column, self.rule, self.message
        )
    }
}

/// Lints DBML `text` read from `file`; findings in source order.
pub fn lint(file: &str, text: &str) -> Vec<Finding> {
    let (doc, errors) = parse_and_check(text);
    let place = |span: Span, severity, rule, message: String| {
        let (line, column, _) = line_and_column(text, span.start);
        Finding {
            file: file.to_owned(),
            line,
            column,
            severity,
            rule,
            message,
        }
    };
    let mut findings: Vec<Finding> = errors
        .iter()
        .map(|e: &RawDiagnostic| {
            place(
                e.span,
                Severity::Error,
                error_rule(&e.message),
                e.message.clone(),
            )
        })
        .collect();
    // A file with syntax errors was read only in part: warnings about it
    // would be guesses.
    if findings.iter().all(|f| f.rule != "syntax") {
        for (span, rule, message) in warnings(&doc) {
            findings.push(place(span, Severity::Warning, rule, message));
        }
    }
    findings.sort_by_key(|f| (f.line, f.column));
    findings
}

fn error_rule(message: &str) -> &'static str {
    const REFERENCES: [&str; 4] = [
        "unknown table `",
        "unknown column `",
        "unknown enum `",
        "unknown table partial `",
    ];
    if REFERENCES.iter().any(|prefix| message.starts_with(prefix)) {
        "unknown-reference"
    } else if message.contains("defined more than once") {
        "duplicate-name"
    } else {
        "syntax"
    }
}

type Warning = (Span, &'static str, String);

fn warnings(doc: &Document) -> Vec<Warning> {
    let mut found = Vec::new();
    for table in &doc.tables {
        if table.primary_key().is_empty() {
            found.push((
                table.name.span,
                "missing-primary-key",
                format!("table `{}` has no primary key", table.name),
            ));
        }
        for column in &table.columns {
            column_warnings(doc, table, column, &mut found);
        }
    }
    uuid_warnings(doc, &mut found);
    found
}

fn column_warnings(doc: &Document, table: &Table, column: &ColumnDef, found: &mut Vec<Warning>) {
    let data_type = &column.data_type;
    let lower = data_type.name.to_ascii_lowercase();
    let Some(logical) = logical_type(doc, data_type) else {
        found.push((
            data_type.span,
            "unknown-type",
            format!(
                "type `{}` of `{}.{}` is not a DBML type: it is kept as text in the schema model and written as is in DDL",
                data_type.spelled(),
                table.name,
                column.name
            ),
        ));
        return;
    };
    if matches!(lower.as_str(), "varchar" | "character varying" | "nvarchar")
        && data_type.args.is_empty()
    {
        found.push((
            data_type.span,
            "varchar-without-length",
            format!("`{}.{}` is a varchar without a length (MySQL rejects it; say `varchar(n)` or `text`)", table.name, column.name),
        ));
    }
    let float = matches!(
        logical,
        watershed_events::LogicalType::Float32 | watershed_events::LogicalType::Float64
    );
    if float && is_money_name(&column.name) {
        found.push((
            data_type.span,
            "money-as-float",
            format!(
                "`{}.{}` looks like money but is `{}`, which cannot hold cents exactly: use decimal(p,s)",
                table.name,
                column.name,
                data_type.spelled()
            ),
        ));
    }
}

fn is_money_name(name: &str) -> bool {
    const WORDS: [&str; 13] = [
        "price", "amount", "total", "cost", "balance", "fee", "tax", "subtotal", "discount",
        "salary", "revenue", "payment", "refund",
    ];
    let lower = name.to_ascii_lowercase();
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| WORDS.contains(&word))
}

/// How an id-like column stores a UUID, if it does.
fn uuid_storage(column: &ColumnDef) -> Option<&'static str> {
    let name = column.name.to_ascii_lowercase();
    let id_like = name == "id" || name.ends_with("_id") || name.contains("uuid");
    if !id_like {
        return None;
    }
    let data_type = &column.data_type;
    match (
        data_type.name.to_ascii_lowercase().as_str(),
        data_type.args.as_slice(),
    ) {
        ("uuid", _) => Some("uuid"),
        ("char" | "varchar" | "character", [n]) if n == "36" => Some("char(36)"),
        _ => None,
    }
}

/// Flags the less common UUID storage when both are used.
fn uuid_warnings(doc: &Document, found: &mut Vec<Warning>) {
    let columns: Vec<(&Table, &ColumnDef, &str)> = doc
        .tables
        .iter()
        .flat_map(|t| t.columns.iter().map(move |c| (t, c)))
        .filter_map(|(t, c)| uuid_storage(c).map(|s| (t, c, s)))
        .collect();
    let native = columns.iter().filter(|(_, _, s)| *s == "uuid").count();
    let text = columns.len() - native;
    if native == 0 || text == 0 {
        return;
    }
    let (minority, majority) = if native > text {
        ("char(36)", "uuid")
    } else {
        ("uuid", "char(36)")
    };
    let example = columns
        .iter()
        .find(|(_, _, s)| *s == majority)
        .map(|(t, c, _)| format!("{}.{}", t.name, c.name))
        .unwrap_or_default();
    for (table, column, storage) in &columns {
        if *storage == minority {
            found.push((
                column.data_type.span,
                "inconsistent-uuid",
                format!(
                    "`{}.{}` stores a UUID as {minority}, but {example} (and {} more) use {majority}: joins will need casts",
                    table.name,
                    column.name,
                    native.max(text) - 1
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<(usize, &'static str, Severity)> {
        lint("t.dbml", text)
            .into_iter()
            .map(|f| (f.line, f.rule, f.severity))
            .collect()
    }

    #[test]
    fn parse_errors_and_unknown_references_are_errors() {
        assert_eq!(
            rules("Table t {\n id int [pk\n}\n"),
            vec![(2, "syntax", Severity::Error)]
        );
        assert_eq!(
            rules("Table t {\n id int [pkk]\n}\n"),
            vec![(2, "syntax", Severity::Error)]
        );
        let found = rules("Table t {\n id int [pk, ref: > u.id]\n}\n");
        assert_eq!(found, vec![(2, "unknown-reference", Severity::Error)]);
    }

    #[test]
    fn tables_without_a_primary_key_are_flagged() {
        assert_eq!(
            rules(
                "Table log {\n at timestamp\n}\nTable ok {\n id int\n indexes {\n id [pk]\n }\n}\n"
            ),
            vec![(1, "missing-primary-key", Severity::Warning)]
        );
    }

    #[test]
    fn varchar_without_length_unknown_types_and_money_as_float_are_flagged() {
        let found = rules(
            "Table t {\n id int [pk]\n name varchar\n shape geometry\n unit_price double\n total_amount float\n score float\n}\n",
        );
        assert_eq!(
            found,
            vec![
                (3, "varchar-without-length", Severity::Warning),
                (4, "unknown-type", Severity::Warning),
                (5, "money-as-float", Severity::Warning),
                (6, "money-as-float", Severity::Warning),
            ]
        );
    }

    #[test]
    fn uuids_stored_two_ways_are_flagged_where_they_are_rarer() {
        let text = "Table a {\n id uuid [pk]\n}\nTable b {\n id uuid [pk]\n a_id char(36)\n}\nTable c {\n id int [pk]\n code char(36)\n}\n";
        let found = lint("t.dbml", text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, "inconsistent-uuid");
        assert_eq!((found[0].line, found[0].column), (6, 7));
        assert!(found[0].message.contains("a.id"), "{}", found[0].message);
    }

    #[test]
    fn the_shop_example_lints_clean() {
        let text = include_str!("../../../../examples/schema/shop.dbml");
        let found = lint("shop.dbml", text);
        assert!(found.is_empty(), "{found:#?}");
    }
}
