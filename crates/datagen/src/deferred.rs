//! Foreign keys that break a cycle: their rows are written with NULL, and
//! once every table exists each row is pointed at a parent by an UPDATE
//! keyed on the row's primary key.

use watershed_events::TableName;
use watershed_schema::ddl::Dialect;

use crate::cell::Cell;
use crate::output::encode::{sql_values, table_sql};
use crate::plan::{FkMode, Plan};
use crate::rng::Rng;
use crate::table::Pools;

/// The values one table's deferred keys get, by primary key.
#[derive(Debug, Clone)]
pub struct DeferredUpdate {
    pub table: TableName,
    pub key_columns: Vec<String>,
    pub set_columns: Vec<String>,
    /// `(primary key, foreign key)` per row that gets a parent.
    pub rows: Vec<(Vec<Cell>, Vec<Cell>)>,
}

/// The updates for every deferred foreign key, in plan order.
pub fn updates(plan: &Plan, pools: &Pools) -> Vec<DeferredUpdate> {
    let mut out = Vec::new();
    for (t, table) in plan.tables.iter().enumerate() {
        let key = table.schema.primary_key_indices();
        let Some(key_pool) = table.kept.iter().position(|k| *k == key) else {
            continue;
        };
        for (f, fk) in table.foreign_keys.iter().enumerate() {
            if fk.mode != FkMode::Deferred || table.rows == 0 {
                continue;
            }
            let parent_rows = plan.tables[fk.parent].rows;
            let parent_pool = plan.tables[fk.parent]
                .kept
                .iter()
                .position(|k| *k == fk.parent_columns);
            let (Some(parent_pool), true) = (parent_pool, parent_rows > 0) else {
                continue;
            };
            let mut rng = Rng::stream(plan.seed, &format!("{}#deferred{f}", table.schema.name));
            let (mut pk, mut parent) = (Vec::new(), Vec::new());
            let mut rows = Vec::new();
            for row in 0..table.rows {
                if rng.chance(0.1) {
                    continue;
                }
                pools.cells(t, key_pool, row, &mut pk);
                pools.cells(fk.parent, parent_pool, rng.below(parent_rows), &mut parent);
                rows.push((pk.clone(), parent.clone()));
            }
            let names = |cols: &[usize]| -> Vec<String> {
                cols.iter()
                    .map(|c| table.schema.columns[*c].name.clone())
                    .collect()
            };
            out.push(DeferredUpdate {
                table: table.schema.name.clone(),
                key_columns: names(&key),
                set_columns: names(&fk.columns),
                rows,
            });
        }
    }
    out
}

impl DeferredUpdate {
    /// One `UPDATE … SET … WHERE <key>` per row.
    pub fn statements(&self, dialect: Dialect) -> Vec<String> {
        let quote = |s: &str| match dialect {
            Dialect::Postgres => watershed_schema::dialect::postgres::quote_ident(s),
            Dialect::Mysql => watershed_schema::dialect::mysql::quote_ident(s),
        };
        let table = table_sql(&self.table, dialect);
        self.rows
            .iter()
            .map(|(key, values)| {
                let pairs = |names: &[String], cells: &[Cell], sep: &str| -> String {
                    let parts: Vec<String> = names
                        .iter()
                        .zip(cells)
                        .map(|(n, c)| {
                            let mut literal = Vec::new();
                            sql_values(std::slice::from_ref(c), dialect, &mut literal);
                            let literal = String::from_utf8_lossy(&literal[1..literal.len() - 1])
                                .into_owned();
                            format!("{} = {literal}", quote(n))
                        })
                        .collect();
                    parts.join(sep)
                };
                format!(
                    "UPDATE {table} SET {} WHERE {}",
                    pairs(&self.set_columns, values, ", "),
                    pairs(&self.key_columns, key, " AND ")
                )
            })
            .collect()
    }
}
