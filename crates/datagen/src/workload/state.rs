//! The workload's picture of the live tables: the key columns of every
//! row (read at start, then kept up to date as statements succeed), the
//! unique values in use, and how many children point at each parent key,
//! so that inserts reference real parents, uniques stay unique and only
//! childless rows are deleted.

use std::collections::{HashMap, HashSet};

use watershed_events::LogicalType;

use crate::cell::Cell;
use crate::plan::{Plan, TablePlan, UniqueStrategy};

/// One table's live rows (tracked columns only; others are NULL).
#[derive(Debug, Default)]
pub struct LiveTable {
    pub rows: Vec<Vec<Cell>>,
    /// Primary-key bytes to position in `rows`.
    index: HashMap<Vec<u8>, usize>,
    /// Primary-key columns; empty: no updates or deletes.
    pub pk: Vec<usize>,
    /// The columns read from the database.
    pub tracked: Vec<usize>,
    /// Per unique key of the plan: the values in use (never forgotten, so
    /// a deleted row's value is not reused within a run).
    pub seen: Vec<HashSet<Vec<u8>>>,
    /// Per unique key counting per parent: the highest counter by parent.
    pub counters: Vec<HashMap<Vec<u8>, i64>>,
    /// Column sets that children's foreign keys reference.
    pub referenced: Vec<Vec<usize>>,
    /// Rows inserted by this run (the row number values derive from).
    pub inserted: u64,
}

/// Every table's live rows and the child counts of parent keys.
#[derive(Debug, Default)]
pub struct Live {
    pub tables: Vec<LiveTable>,
    /// (parent table, referenced key bytes) to the children pointing at it.
    children: HashMap<(usize, Vec<u8>), u64>,
}

/// The key bytes of `columns` in `row`; `None` when one is NULL.
pub fn key(row: &[Cell], columns: &[usize]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(16);
    for c in columns {
        let cell = row.get(*c)?;
        if cell.is_null() {
            return None;
        }
        cell.key_bytes(&mut out);
    }
    Some(out)
}

impl Live {
    /// Empty tables shaped after `plan`.
    pub fn new(plan: &Plan) -> Self {
        let mut tables: Vec<LiveTable> = plan.tables.iter().map(live_table).collect();
        for table in &plan.tables {
            for fk in &table.foreign_keys {
                let referenced = &mut tables[fk.parent].referenced;
                if !referenced.contains(&fk.parent_columns) {
                    referenced.push(fk.parent_columns.clone());
                }
                for c in &fk.parent_columns {
                    if !tables[fk.parent].tracked.contains(c) {
                        tables[fk.parent].tracked.push(*c);
                    }
                }
            }
        }
        Live {
            tables,
            children: HashMap::new(),
        }
    }

    /// Records a row of table `t` that the database now holds.
    pub fn add(&mut self, plan: &Plan, t: usize, row: Vec<Cell>) {
        let table = &plan.tables[t];
        for fk in &table.foreign_keys {
            if let Some(k) = key(&row, &fk.columns) {
                *self.children.entry((fk.parent, k)).or_default() += 1;
            }
        }
        let live = &mut self.tables[t];
        for (u, unique) in table.uniques.iter().enumerate() {
            if let Some(k) = key(&row, &unique.columns) {
                live.seen[u].insert(k);
            }
            if let UniqueStrategy::PerParent { fks, counter } = &unique.strategy {
                let parent = per_parent_key(table, fks, &row);
                if let (Some(parent), Cell::Int(n)) = (parent, &row[*counter]) {
                    let max = live.counters[u].entry(parent).or_insert(0);
                    *max = (*max).max(*n);
                }
            }
        }
        if let Some(k) = key(&row, &live.pk) {
            live.index.insert(k, live.rows.len());
        }
        live.rows.push(row);
    }

    /// Forgets row `at` of table `t`, deleted from the database.
    pub fn remove(&mut self, plan: &Plan, t: usize, at: usize) {
        let live = &mut self.tables[t];
        if at >= live.rows.len() {
            return;
        }
        let row = live.rows.swap_remove(at);
        if let Some(k) = key(&row, &live.pk) {
            live.index.remove(&k);
        }
        if let Some(moved) = live.rows.get(at).and_then(|r| key(r, &live.pk)) {
            live.index.insert(moved, at);
        }
        for fk in &plan.tables[t].foreign_keys {
            if let Some(k) = key(&row, &fk.columns)
                && let Some(n) = self.children.get_mut(&(fk.parent, k))
            {
                *n = n.saturating_sub(1);
            }
        }
    }

    /// Whether any row points at row `at` of table `t`.
    pub fn has_children(&self, t: usize, at: usize) -> bool {
        let live = &self.tables[t];
        let Some(row) = live.rows.get(at) else {
            return false;
        };
        live.referenced.iter().any(|columns| {
            key(row, columns)
                .and_then(|k| self.children.get(&(t, k)))
                .is_some_and(|n| *n > 0)
        })
    }

    /// The next counter of unique key `u` of table `t` for `row`'s parents.
    pub fn next_counter(&self, table: &TablePlan, t: usize, u: usize, row: &[Cell]) -> i64 {
        let UniqueStrategy::PerParent { fks, .. } = &table.uniques[u].strategy else {
            return 1;
        };
        per_parent_key(table, fks, row)
            .and_then(|k| self.tables[t].counters[u].get(&k).copied())
            .unwrap_or(0)
            + 1
    }
}

fn per_parent_key(table: &TablePlan, fks: &[usize], row: &[Cell]) -> Option<Vec<u8>> {
    let columns: Vec<usize> = fks
        .iter()
        .flat_map(|f| table.foreign_keys[*f].columns.iter().copied())
        .collect();
    key(row, &columns)
}

fn live_table(table: &TablePlan) -> LiveTable {
    let schema = &table.schema;
    let pk: Vec<usize> = schema
        .primary_key
        .iter()
        .filter_map(|name| schema.columns.iter().position(|c| c.name == *name))
        .collect();
    let mut tracked = pk.clone();
    let fk_columns = table.foreign_keys.iter().flat_map(|f| f.columns.iter());
    let unique_columns = table.uniques.iter().flat_map(|u| u.columns.iter());
    for c in fk_columns.chain(unique_columns) {
        if !tracked.contains(c) {
            tracked.push(*c);
        }
    }
    let pk = if pk.len() == schema.primary_key.len() {
        pk
    } else {
        Vec::new()
    };
    LiveTable {
        pk,
        tracked,
        seen: vec![HashSet::new(); table.uniques.len()],
        counters: vec![HashMap::new(); table.uniques.len()],
        ..LiveTable::default()
    }
}

/// A value read from the database as text, typed like a generated one.
pub fn read_cell(text: Option<String>, logical: &LogicalType) -> Cell {
    match text {
        None => Cell::Null,
        Some(text) if logical.is_integer() => text.parse().map_or(Cell::Text(text), Cell::Int),
        Some(text) => Cell::Text(text),
    }
}
