//! References without a foreign key: a column `user_id` with no
//! constraint, in a schema that has a `users` table (in the same schema,
//! or in exactly one other), takes its values from `users`' key. This is
//! how IDs line up across database-per-service layouts, where keys
//! between databases cannot be constraints.

use watershed_events::{ForeignKey, LogicalType, TableName, TableSchema};

/// Adds the references column names imply; one that would make a cycle
/// of NOT NULL keys is left out.
pub fn infer_references(tables: &mut [TableSchema]) {
    for t in 0..tables.len() {
        for c in 0..tables[t].columns.len() {
            let Some((parent, key)) = referenced(tables, t, c) else {
                continue;
            };
            let column = tables[t].columns[c].name.clone();
            tables[t].foreign_keys.push(ForeignKey {
                name: Some(format!("{}_{column}_inferred", tables[t].name.name)),
                columns: vec![column.clone()],
                referenced: parent.clone(),
                referenced_columns: vec![key],
                on_delete: None,
                on_update: None,
            });
            if crate::order::order(tables).is_err() {
                tables[t].foreign_keys.pop();
                continue;
            }
            tracing::info!(table = %tables[t].name, column = %column, references = %parent, "reference inferred from the column name");
        }
    }
}

fn is_keyish(logical: &LogicalType) -> bool {
    matches!(
        logical,
        LogicalType::Uuid
            | LogicalType::Char {
                length: Some(36),
                ..
            }
            | LogicalType::Varchar {
                length: Some(36),
                ..
            }
    ) || logical.is_integer()
}

/// The table and key column `tables[t].columns[c]` points at, if its name
/// says so and nothing else does.
fn referenced(tables: &[TableSchema], t: usize, c: usize) -> Option<(TableName, String)> {
    let table = &tables[t];
    let column = &table.columns[c];
    let name = column.name.to_ascii_lowercase();
    let stem = name.strip_suffix("_id").filter(|s| !s.is_empty())?;
    let constrained = table
        .foreign_keys
        .iter()
        .any(|k| k.columns.contains(&column.name));
    let sole_key = table.primary_key == [column.name.clone()];
    if constrained || sole_key || !is_keyish(&column.logical_type) {
        return None;
    }
    let last = stem.rsplit('_').next().unwrap_or(stem);
    let names = [stem, last]
        .into_iter()
        .flat_map(|s| {
            let plural_y = s.strip_suffix('y').map(|b| format!("{b}ies"));
            [s.to_owned(), format!("{s}s"), format!("{s}es")]
                .into_iter()
                .chain(plural_y)
        })
        .collect::<Vec<_>>();
    let matches: Vec<&TableSchema> = tables
        .iter()
        .enumerate()
        .filter(|(i, p)| *i != t && names.contains(&p.name.name.to_ascii_lowercase()))
        .map(|(_, p)| p)
        .collect();
    let same_schema = matches.iter().find(|p| p.name.schema == table.name.schema);
    let parent = same_schema.or(if matches.len() == 1 {
        matches.first()
    } else {
        None
    })?;
    let [key] = parent.primary_key.as_slice() else {
        return None;
    };
    let key_type = &parent.columns[parent.column_index(key)?].logical_type;
    if key_type.is_integer() != column.logical_type.is_integer() {
        return None;
    }
    Some((parent.name.clone(), key.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use watershed_events::Column;

    fn table(schema: &str, name: &str, columns: &[&str]) -> TableSchema {
        TableSchema {
            name: TableName::new(Some(schema), name),
            columns: columns
                .iter()
                .map(|c| Column::new(c, LogicalType::Int64, false))
                .collect(),
            primary_key: vec!["id".into()],
            indexes: vec![],
            version: 1,
            foreign_keys: vec![],
            comment: None,
        }
    }

    #[test]
    fn a_user_id_column_references_the_users_table_of_another_schema() {
        let mut tables = vec![
            table("auth", "users", &["id"]),
            table(
                "orders",
                "orders",
                &["id", "user_id", "coupon_id", "shipping_address_id"],
            ),
            table("auth", "addresses", &["id"]),
        ];
        infer_references(&mut tables);
        let keys: Vec<String> = tables[1]
            .foreign_keys
            .iter()
            .map(|k| format!("{} -> {}", k.columns[0], k.referenced))
            .collect();
        assert_eq!(
            keys,
            [
                "user_id -> auth.users",
                "shipping_address_id -> auth.addresses"
            ]
        );
    }
}
