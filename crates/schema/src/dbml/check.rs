//! Semantic checks, run after parsing: `~partial` injection, duplicate
//! names (tables, aliases, columns, enums, enum values), and references
//! to unknown tables, columns, enums and partials. Checking also resolves
//! the document in place: partials are expanded, inline `ref:`s become
//! [`Ref`]s, and aliases in refs are replaced by table names.

use std::collections::{HashMap, HashSet};

use super::error::RawDiagnostic;
use super::model::{Document, Endpoint, Ref, Span, Table};

/// Resolves `doc` in place and returns every problem found.
pub fn check(doc: &mut Document) -> Vec<RawDiagnostic> {
    let mut errors = Vec::new();
    expand_partials(doc, &mut errors);
    check_duplicates(doc, &mut errors);
    collect_inline_refs(doc);
    resolve_refs(doc, &mut errors);
    check_tables(doc, &mut errors);
    check_groups_and_records(doc, &mut errors);
    errors
}

fn expand_partials(doc: &mut Document, errors: &mut Vec<RawDiagnostic>) {
    let partials = std::mem::take(&mut doc.partials);
    for table in &mut doc.tables {
        let injections = std::mem::take(&mut table.partial_refs);
        if injections.is_empty() {
            continue;
        }
        let own = std::mem::take(&mut table.columns);
        let own_names: HashSet<&str> = own.iter().map(|c| c.name.as_str()).collect();
        let mut columns: Vec<super::model::ColumnDef> = Vec::new();
        let mut own_iter = own.iter().enumerate().peekable();
        for injection in &injections {
            while let Some((_, column)) = own_iter.next_if(|(i, _)| *i < injection.position) {
                columns.push(column.clone());
            }
            let Some(partial) = partials.iter().find(|p| p.name.name == injection.name) else {
                errors.push(RawDiagnostic::new(
                    injection.span,
                    format!("unknown table partial `{}`", injection.name),
                ));
                continue;
            };
            inject(&mut columns, &own_names, partial);
            table.indexes.extend(partial.indexes.iter().cloned());
            table.note = table.note.take().or_else(|| partial.note.clone());
            table.header_color = table.header_color.take().or(partial.header_color.clone());
        }
        columns.extend(own_iter.map(|(_, c)| c.clone()));
        table.columns = columns;
        table.partial_refs = injections;
    }
    doc.partials = partials;
}

/// Adds a partial's columns: the table's own columns win, and a later
/// partial replaces an earlier one's column in place.
fn inject(columns: &mut Vec<super::model::ColumnDef>, own: &HashSet<&str>, partial: &Table) {
    for column in &partial.columns {
        if own.contains(column.name.as_str()) {
            continue;
        }
        match columns.iter_mut().find(|c| c.name == column.name) {
            Some(existing) => *existing = column.clone(),
            None => columns.push(column.clone()),
        }
    }
}

fn check_duplicates(doc: &Document, errors: &mut Vec<RawDiagnostic>) {
    let mut seen: HashMap<(String, String), Span> = HashMap::new();
    for table in &doc.tables {
        let key = (table.name.schema_key().to_owned(), table.name.name.clone());
        if seen.insert(key, table.name.span).is_some() {
            errors.push(twice(table.name.span, "table", &table.name.to_string()));
        }
    }
    let mut aliases: HashSet<&str> = HashSet::new();
    for table in &doc.tables {
        if let Some((alias, span)) = &table.alias {
            let clashes = doc
                .tables
                .iter()
                .any(|t| t.name.schema.is_none() && &t.name.name == alias);
            if !aliases.insert(alias) || clashes {
                errors.push(twice(*span, "alias", alias));
            }
        }
        let mut columns: HashSet<&str> = HashSet::new();
        for column in &table.columns {
            if !columns.insert(&column.name) {
                errors.push(twice(column.span, "column", &column.name));
            }
        }
    }
    let mut enums: HashSet<(&str, &str)> = HashSet::new();
    for enumeration in &doc.enums {
        if !enums.insert((enumeration.name.schema_key(), &enumeration.name.name)) {
            errors.push(twice(
                enumeration.name.span,
                "enum",
                &enumeration.name.to_string(),
            ));
        }
        let mut values: HashSet<&str> = HashSet::new();
        for value in &enumeration.values {
            if !values.insert(&value.name) {
                errors.push(twice(value.span, "enum value", &value.name));
            }
        }
    }
    let mut partials: HashSet<&str> = HashSet::new();
    for partial in &doc.partials {
        if !partials.insert(&partial.name.name) {
            errors.push(twice(
                partial.name.span,
                "table partial",
                &partial.name.name,
            ));
        }
    }
}

fn twice(span: Span, what: &str, name: &str) -> RawDiagnostic {
    RawDiagnostic::new(span, format!("{what} `{name}` is defined more than once"))
}

/// Turns each column's `ref:` into a [`Ref`] whose left side is the column.
fn collect_inline_refs(doc: &mut Document) {
    let mut inline = Vec::new();
    for table in &doc.tables {
        for column in &table.columns {
            for found in &column.settings.refs {
                let mut name = table.name.clone();
                name.span = column.span;
                inline.push(Ref {
                    name: None,
                    left: Endpoint {
                        table: name,
                        columns: vec![column.name.clone()],
                        span: column.span,
                    },
                    relation: found.relation,
                    right: found.target.clone(),
                    on_delete: None,
                    on_update: None,
                    color: None,
                    inline: true,
                    span: found.span,
                });
            }
        }
    }
    doc.refs.splice(0..0, inline);
}

fn resolve_refs(doc: &mut Document, errors: &mut Vec<RawDiagnostic>) {
    let mut refs = std::mem::take(&mut doc.refs);
    for found in &mut refs {
        let left = resolve_endpoint(doc, &mut found.left, errors);
        let right = resolve_endpoint(doc, &mut found.right, errors);
        if left && right && found.left.columns.len() != found.right.columns.len() {
            errors.push(RawDiagnostic::new(
                found.right.span,
                format!(
                    "ref joins {} column(s) to {}: both sides need the same number",
                    found.left.columns.len(),
                    found.right.columns.len()
                ),
            ));
        }
    }
    doc.refs = refs;
}

/// Replaces an alias by its table's name; false if anything is unknown.
fn resolve_endpoint(
    doc: &Document,
    endpoint: &mut Endpoint,
    errors: &mut Vec<RawDiagnostic>,
) -> bool {
    let by_alias = || {
        doc.tables.iter().find(|t| {
            endpoint.table.schema.is_none()
                && t.alias
                    .as_ref()
                    .is_some_and(|(a, _)| *a == endpoint.table.name)
        })
    };
    let Some(table) = doc.table(&endpoint.table).or_else(by_alias) else {
        errors.push(RawDiagnostic::new(
            endpoint.span,
            format!("unknown table `{}` in ref", endpoint.table),
        ));
        return false;
    };
    let mut known = true;
    for column in &endpoint.columns {
        if table.column(column).is_none() {
            errors.push(RawDiagnostic::new(
                endpoint.span,
                format!("unknown column `{column}` of table `{}` in ref", table.name),
            ));
            known = false;
        }
    }
    let span = endpoint.table.span;
    endpoint.table = table.name.clone();
    endpoint.table.span = span;
    known
}

fn check_tables(doc: &Document, errors: &mut Vec<RawDiagnostic>) {
    for table in &doc.tables {
        for column in &table.columns {
            let data_type = &column.data_type;
            if data_type.schema.is_some() && doc.enum_named(&data_type.as_enum_name()).is_none() {
                errors.push(RawDiagnostic::new(
                    data_type.span,
                    format!("unknown enum `{}`", data_type.spelled()),
                ));
            }
        }
        for index in &table.indexes {
            for part in &index.parts {
                if let super::model::IndexPart::Column(name, span) = part
                    && table.column(name).is_none()
                {
                    errors.push(RawDiagnostic::new(
                        *span,
                        format!("unknown column `{name}` of table `{}` in index", table.name),
                    ));
                }
            }
        }
        let inline_pk = table.columns.iter().any(|c| c.settings.primary_key);
        let index_pks: Vec<_> = table.indexes.iter().filter(|i| i.primary_key).collect();
        if index_pks.len() > 1 || (inline_pk && !index_pks.is_empty()) {
            errors.push(RawDiagnostic::new(
                table.name.span,
                format!("table `{}` has more than one primary key", table.name),
            ));
        }
    }
}

fn check_groups_and_records(doc: &Document, errors: &mut Vec<RawDiagnostic>) {
    for group in &doc.groups {
        for name in &group.tables {
            let aliased = doc
                .tables
                .iter()
                .any(|t| t.alias.as_ref().is_some_and(|(a, _)| *a == name.name));
            if doc.table(name).is_none() && !aliased {
                errors.push(RawDiagnostic::new(
                    name.span,
                    format!("unknown table `{name}` in table group `{}`", group.name),
                ));
            }
        }
    }
    for records in &doc.records {
        let Some(table) = doc.table(&records.table) else {
            errors.push(RawDiagnostic::new(
                records.span,
                format!("unknown table `{}` in records", records.table),
            ));
            continue;
        };
        for column in &records.columns {
            if table.column(column).is_none() {
                errors.push(RawDiagnostic::new(
                    records.span,
                    format!(
                        "unknown column `{column}` of table `{}` in records",
                        table.name
                    ),
                ));
            }
        }
    }
}
