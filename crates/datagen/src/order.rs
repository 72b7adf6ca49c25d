//! The order tables are filled in: every parent before its children. A
//! cycle of foreign keys is broken at a nullable one, which is filled in
//! after its parent exists; a cycle of NOT NULL keys cannot be loaded and
//! is an error.

use watershed_events::TableSchema;

use crate::error::DatagenError;

/// Tables in fill order, and the foreign keys filled in afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Indexes into the input.
    pub tables: Vec<usize>,
    /// `(table, index into its foreign_keys)` of keys that break cycles.
    pub deferred: Vec<(String, usize)>,
}

struct Edge {
    child: usize,
    parent: usize,
    fk: usize,
    nullable: bool,
    removed: bool,
}

fn edges(tables: &[TableSchema]) -> Vec<Edge> {
    let mut out = Vec::new();
    for (child, table) in tables.iter().enumerate() {
        for (fk, key) in table.foreign_keys.iter().enumerate() {
            let parent = tables.iter().position(|t| t.name == key.referenced);
            let Some(parent) = parent.filter(|p| *p != child) else {
                continue;
            };
            let nullable = key.columns.iter().all(|c| {
                table
                    .column_index(c)
                    .is_none_or(|i| table.columns[i].nullable)
            });
            out.push(Edge {
                child,
                parent,
                fk,
                nullable,
                removed: false,
            });
        }
    }
    out
}

/// Orders `tables` parents first (ties in input order). Tables with no
/// rows still take part, so the order does not depend on row counts.
pub fn order(tables: &[TableSchema]) -> Result<Order, DatagenError> {
    let mut edges = edges(tables);
    let mut placed = vec![false; tables.len()];
    let mut out = Order {
        tables: Vec::with_capacity(tables.len()),
        deferred: Vec::new(),
    };
    while out.tables.len() < tables.len() {
        let ready = (0..tables.len()).find(|t| {
            !placed[*t]
                && edges
                    .iter()
                    .all(|e| e.removed || e.child != *t || placed[e.parent])
        });
        if let Some(t) = ready {
            placed[t] = true;
            out.tables.push(t);
            continue;
        }
        let breakable = edges
            .iter_mut()
            .find(|e| !e.removed && e.nullable && !placed[e.child] && !placed[e.parent]);
        let Some(edge) = breakable else {
            return Err(not_null_cycle(tables, &placed));
        };
        edge.removed = true;
        out.deferred
            .push((tables[edge.child].name.to_string(), edge.fk));
    }
    Ok(out)
}

fn not_null_cycle(tables: &[TableSchema], placed: &[bool]) -> DatagenError {
    let stuck: Vec<String> = tables
        .iter()
        .zip(placed)
        .filter(|(_, p)| !**p)
        .map(|(t, _)| t.name.to_string())
        .collect();
    DatagenError::Unsatisfiable {
        table: stuck.join(", "),
        reason: "their foreign keys form a cycle of NOT NULL columns, so no table can be \
                 filled first; make one of the keys nullable"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watershed_events::{Column, ForeignKey, LogicalType, TableName};

    fn table(name: &str, refs: &[(&str, bool)]) -> TableSchema {
        let mut columns = vec![Column::new("id", LogicalType::Int64, false)];
        let mut foreign_keys = Vec::new();
        for (parent, nullable) in refs {
            let column = format!("{parent}_id");
            columns.push(Column::new(&column, LogicalType::Int64, *nullable));
            foreign_keys.push(ForeignKey {
                name: None,
                columns: vec![column],
                referenced: TableName::new(None, parent),
                referenced_columns: vec!["id".into()],
                on_delete: None,
                on_update: None,
            });
        }
        TableSchema {
            name: TableName::new(None, name),
            columns,
            primary_key: vec!["id".into()],
            indexes: vec![],
            version: 1,
            foreign_keys,
            comment: None,
        }
    }

    #[test]
    fn parents_come_before_children() {
        let tables = [
            table("items", &[("orders", false)]),
            table("orders", &[("users", false)]),
            table("users", &[]),
        ];
        let order = order(&tables).expect("orders");
        assert_eq!(order.tables, vec![2, 1, 0]);
        assert!(order.deferred.is_empty());
    }

    #[test]
    fn a_cycle_is_broken_at_its_nullable_key() {
        let tables = [table("a", &[("b", false)]), table("b", &[("a", true)])];
        let order = order(&tables).expect("orders");
        assert_eq!(order.tables, vec![1, 0]);
        assert_eq!(order.deferred, vec![("b".to_owned(), 0)]);
    }

    #[test]
    fn a_cycle_of_not_null_keys_is_refused() {
        let tables = [table("a", &[("b", false)]), table("b", &[("a", false)])];
        let error = order(&tables).expect_err("refused");
        assert!(error.to_string().contains("cycle"), "{error}");
    }
}
