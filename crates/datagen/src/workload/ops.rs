//! Drawing one statement of a workload: an insert whose foreign keys
//! point at live parents and whose unique keys are unused, an update of
//! a live row's plain columns (updated_at moves forward), or a delete of
//! a live row no other row points at.

use watershed_events::LogicalType;
use watershed_schema::ddl::Dialect;
use watershed_schema::dialect::{mysql, postgres};

use super::state::{Live, key};
use crate::cell::Cell;
use crate::fill;
use crate::kind::Kind;
use crate::output::encode::{insert_head, sql_literal, sql_values, table_sql};
use crate::plan::{Plan, TablePlan, UniqueStrategy};
use crate::rng::Rng;
use crate::values::RowContext;

/// What to run, and what to record once it succeeds.
#[derive(Debug)]
pub struct Statement {
    pub sql: String,
    pub table: usize,
    pub change: Change,
}

/// The change a statement makes to the live picture.
#[derive(Debug)]
pub enum Change {
    Insert(Vec<Cell>),
    /// Key columns never change, so nothing to record.
    Update,
    Delete(usize),
}

/// Tries to draw the row for a new row of table `t`.
const ATTEMPTS: u64 = 8;

fn quote(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::Postgres => postgres::quote_ident(name),
        Dialect::Mysql => mysql::quote_ident(name),
    }
}

/// An insert into table `t`, or `None` when no valid row can be drawn
/// (a required parent table is empty, every unique value is taken).
pub fn insert(
    plan: &Plan,
    live: &Live,
    t: usize,
    rng: &mut Rng,
    dialect: Dialect,
) -> Option<Statement> {
    let table = &plan.tables[t];
    let row_no = live.tables[t].inserted;
    let mut ctx = RowContext::default();
    for attempt in 0..ATTEMPTS {
        let mut row = vec![Cell::Null; table.columns.len()];
        ctx.clear();
        if !pick_parents(plan, live, t, rng, &mut row) {
            return None;
        }
        for (c, cell) in row.iter_mut().enumerate() {
            if table.columns[c].kind != Kind::Foreign && cell.is_null() {
                *cell = fill::column(plan, table, c, row_no, &mut ctx, rng);
            }
        }
        for (u, unique) in table.uniques.iter().enumerate() {
            if let UniqueStrategy::PerParent { counter, .. } = unique.strategy {
                row[counter] = Cell::Int(live.next_counter(table, t, u, &row));
            }
        }
        if attempt >= ATTEMPTS / 2 {
            decorate_taken(table, live, t, &mut row, row_no, attempt);
        }
        if unique_free(table, live, t, &row) {
            let names: Vec<String> = table
                .schema
                .columns
                .iter()
                .map(|c| c.name.clone())
                .collect();
            let mut sql = Vec::new();
            insert_head(&table.schema.name, &names, dialect, &mut sql);
            sql_values(&row, dialect, &mut sql);
            return Some(Statement {
                sql: String::from_utf8_lossy(&sql).into_owned(),
                table: t,
                change: Change::Insert(row),
            });
        }
    }
    None
}

/// Copies a live parent's key into each foreign key's columns; false when
/// a NOT NULL key has no parent to point at.
fn pick_parents(plan: &Plan, live: &Live, t: usize, rng: &mut Rng, row: &mut [Cell]) -> bool {
    let table = &plan.tables[t];
    let mut order: Vec<usize> = (0..table.foreign_keys.len()).collect();
    order.sort_by_key(|f| std::cmp::Reverse(table.foreign_keys[*f].columns.len()));
    for f in order {
        let fk = &table.foreign_keys[f];
        let set: Vec<(usize, usize)> = fk
            .columns
            .iter()
            .zip(&fk.parent_columns)
            .filter(|(c, _)| !row[**c].is_null())
            .map(|(c, p)| (*c, *p))
            .collect();
        if set.is_empty() && fk.nullable && rng.chance(0.1) {
            continue;
        }
        let parents = &live.tables[fk.parent].rows;
        let matching: Vec<&Vec<Cell>> = parents
            .iter()
            .filter(|p| key(p, &fk.parent_columns).is_some())
            .filter(|p| {
                set.iter()
                    .all(|(c, pc)| p[*pc] == row[*c] || same_key(&p[*pc], &row[*c]))
            })
            .collect();
        if matching.is_empty() {
            if fk.nullable && set.is_empty() {
                continue;
            }
            return false;
        }
        let parent = matching[rng.index(matching.len())];
        for (c, pc) in fk.columns.iter().zip(&fk.parent_columns) {
            row[*c] = parent[*pc].clone();
        }
    }
    true
}

fn same_key(a: &Cell, b: &Cell) -> bool {
    key(std::slice::from_ref(a), &[0]) == key(std::slice::from_ref(b), &[0])
}

fn unique_free(table: &TablePlan, live: &Live, t: usize, row: &[Cell]) -> bool {
    table.uniques.iter().enumerate().all(|(u, unique)| {
        key(row, &unique.columns).is_none_or(|k| !live.tables[t].seen[u].contains(&k))
    })
}

/// Makes the plain columns of taken unique keys unique by a suffix.
fn decorate_taken(table: &TablePlan, live: &Live, t: usize, row: &mut [Cell], row_no: u64, n: u64) {
    for (u, unique) in table.uniques.iter().enumerate() {
        let taken = key(row, &unique.columns).is_some_and(|k| live.tables[t].seen[u].contains(&k));
        if !taken {
            continue;
        }
        for c in &unique.columns {
            let plain = !matches!(table.columns[*c].kind, Kind::Foreign | Kind::Sequence);
            if plain && matches!(row[*c], Cell::Text(_)) {
                // Far from generated row numbers: this run's own suffixes.
                let logical = &table.schema.columns[*c].logical_type;
                let tag = 900_000 + row_no;
                if let Some(cell) = fill::decorate(&table.columns[*c], logical, &row[*c], tag, n) {
                    row[*c] = cell;
                }
            }
        }
    }
}

/// Columns an update may change: not a key, not referenced, not a time
/// that orders the row (created_at, placed_at…).
fn updatable(plan: &Plan, live: &Live, t: usize) -> Vec<usize> {
    let table = &plan.tables[t];
    (0..table.columns.len())
        .filter(|c| !live.tables[t].tracked.contains(c))
        .filter(|c| {
            !matches!(
                table.columns[*c].kind,
                Kind::Sequence
                    | Kind::Foreign
                    | Kind::Instant
                    | Kind::Later
                    | Kind::Date
                    | Kind::Time
                    | Kind::Year
            )
        })
        .collect()
}

fn is_time(logical: &LogicalType) -> bool {
    matches!(
        logical,
        LogicalType::Timestamp { .. } | LogicalType::DateTime { .. }
    )
}

fn column_named(table: &TablePlan, name: &str) -> Option<usize> {
    table
        .schema
        .columns
        .iter()
        .position(|c| c.name.eq_ignore_ascii_case(name) && is_time(&c.logical_type))
}

/// An update of a random live row of table `t`.
pub fn update(
    plan: &Plan,
    live: &Live,
    t: usize,
    rng: &mut Rng,
    dialect: Dialect,
) -> Option<Statement> {
    let table = &plan.tables[t];
    let rows = &live.tables[t].rows;
    let candidates = updatable(plan, live, t);
    let updated_at = column_named(table, "updated_at");
    if live.tables[t].pk.is_empty()
        || rows.is_empty()
        || (candidates.is_empty() && updated_at.is_none())
    {
        return None;
    }
    let at = rng.index(rows.len());
    let mut sets = Vec::new();
    let mut ctx = RowContext::default();
    let mut columns: Vec<usize> = (0..1 + rng.below(2))
        .filter_map(|_| candidates.get(rng.index(candidates.len().max(1))).copied())
        .collect();
    // PostgreSQL refuses a column assigned twice.
    columns.sort_unstable();
    columns.dedup();
    for c in columns {
        let mut value = Vec::new();
        let cell = fill::column(plan, table, c, live.tables[t].inserted, &mut ctx, rng);
        sql_literal(&cell, dialect, &mut value);
        let name = quote(dialect, &table.schema.columns[c].name);
        sets.push(format!("{name} = {}", String::from_utf8_lossy(&value)));
    }
    if let Some(c) = updated_at {
        sets.push(moved_forward(table, c, dialect));
    }
    let sql = format!(
        "UPDATE {} SET {} WHERE {}",
        table_sql(&table.schema.name, dialect),
        sets.join(", "),
        where_key(table, &live.tables[t].pk, &rows[at], dialect)
    );
    Some(Statement {
        sql,
        table: t,
        change: Change::Update,
    })
}

/// `updated_at = ` the latest of itself, created_at and now, plus 1 s.
fn moved_forward(table: &TablePlan, c: usize, dialect: Dialect) -> String {
    let (now, second) = match dialect {
        Dialect::Postgres => ("LOCALTIMESTAMP", "INTERVAL '1 second'"),
        Dialect::Mysql => ("CURRENT_TIMESTAMP", "INTERVAL 1 SECOND"),
    };
    let name = quote(dialect, &table.schema.columns[c].name);
    let floor = match column_named(table, "created_at") {
        Some(created) => format!(
            "COALESCE({}, {now})",
            quote(dialect, &table.schema.columns[created].name)
        ),
        None => now.to_owned(),
    };
    format!("{name} = GREATEST(COALESCE({name}, {now}), {floor}, {now}) + {second}")
}

fn where_key(table: &TablePlan, pk: &[usize], row: &[Cell], dialect: Dialect) -> String {
    let parts: Vec<String> = pk
        .iter()
        .map(|c| {
            let mut value = Vec::new();
            sql_literal(&row[*c], dialect, &mut value);
            format!(
                "{} = {}",
                quote(dialect, &table.schema.columns[*c].name),
                String::from_utf8_lossy(&value)
            )
        })
        .collect();
    parts.join(" AND ")
}

/// A delete of a live row of table `t` that no row points at.
pub fn delete(
    plan: &Plan,
    live: &Live,
    t: usize,
    rng: &mut Rng,
    dialect: Dialect,
) -> Option<Statement> {
    let table = &plan.tables[t];
    let rows = &live.tables[t].rows;
    if live.tables[t].pk.is_empty() || rows.is_empty() {
        return None;
    }
    let at = (0..8)
        .map(|_| rng.index(rows.len()))
        .find(|at| !live.has_children(t, *at))?;
    let sql = format!(
        "DELETE FROM {} WHERE {}",
        table_sql(&table.schema.name, dialect),
        where_key(table, &live.tables[t].pk, &rows[at], dialect)
    );
    Some(Statement {
        sql,
        table: t,
        change: Change::Delete(at),
    })
}
