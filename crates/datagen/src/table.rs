//! Generating one table's rows, in order, from its plan and the kept keys
//! of the tables before it.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

use crate::cell::Cell;
use crate::error::DatagenError;
use crate::fill;
use crate::kind::Kind;
use crate::overlap::Matcher;
use crate::plan::{FkMode, Plan, TablePlan, UniqueStrategy};
use crate::rng::Rng;
use crate::space::Space;
use crate::values::RowContext;

/// The kept key values of one table: what children copy.
#[derive(Debug, Clone)]
pub enum Pool {
    /// A single sequence column: row `i` holds `start + i`.
    Sequence { start: i64 },
    /// The kept columns of every row.
    Rows(Vec<Vec<Cell>>),
}

impl Pool {
    /// The kept cells of `row`, into `out`.
    pub fn cells(&self, row: u64, out: &mut Vec<Cell>) {
        out.clear();
        match self {
            Pool::Sequence { start } => out.push(Cell::Int(start + row as i64)),
            Pool::Rows(rows) => out.extend(rows.get(row as usize).into_iter().flatten().cloned()),
        }
    }
}

/// Kept keys of the tables generated so far, by plan position.
#[derive(Debug, Default)]
pub struct Pools {
    pub tables: Vec<Vec<Pool>>,
}

impl Pools {
    /// The kept cells of `row` in pool `pool` of table `table`.
    pub fn cells(&self, table: usize, pool: usize, row: u64, out: &mut Vec<Cell>) {
        out.clear();
        if let Some(pool) = self.tables.get(table).and_then(|p| p.get(pool)) {
            pool.cells(row, out);
        }
    }
}

type Fast = BuildHasherDefault<DefaultHasher>;

/// How a unique key of parents only draws its combinations.
#[derive(Debug)]
enum Distinct {
    /// Every combination, shuffled (dense requests).
    Shuffled(Vec<u64>),
    /// Random combinations, remembered (sparse requests).
    Sampled(HashSet<u64, Fast>),
}

/// Produces one table's rows.
#[derive(Debug)]
pub struct TableGen<'p> {
    plan: &'p Plan,
    table: &'p TablePlan,
    rng: Rng,
    row: u64,
    ctx: RowContext,
    /// Per foreign key: which of the parent's kept pools it reads.
    fk_pool: Vec<usize>,
    own: Vec<Pool>,
    tree_depth: Vec<u8>,
    tree_eligible: Vec<u32>,
    /// Foreign keys in the order they pick: the widest first, so narrower
    /// ones sharing columns agree with them.
    fk_order: Vec<usize>,
    matcher: Matcher,
    /// The self-reference is unique: each row is the parent of one row.
    tree_unique: bool,
    seen: Vec<HashSet<u64, Fast>>,
    /// Per unique key: rows whose redraws all collided.
    decorated: Vec<u64>,
    /// Per unique key: the column whose [`Space`] is scanned when
    /// redraws and suffixes fail, and how far the scan got.
    fallback: Vec<Option<(usize, Space)>>,
    cursor: Vec<u64>,
    distinct: Vec<Option<Distinct>>,
    counters: Vec<HashMap<u64, i64, Fast>>,
    scratch: Vec<Cell>,
}

impl<'p> TableGen<'p> {
    /// A generator for `plan.tables[t]`.
    pub fn new(plan: &'p Plan, t: usize) -> Self {
        let table = &plan.tables[t];
        let mut rng = Rng::stream(plan.seed, &table.schema.name.to_string());
        let fk_pool = table
            .foreign_keys
            .iter()
            .map(|f| {
                let kept = &plan.tables[f.parent].kept;
                kept.iter()
                    .position(|k| *k == f.parent_columns)
                    .unwrap_or(0)
            })
            .collect();
        let own = own_pools(table);
        let distinct = table
            .uniques
            .iter()
            .map(|u| match &u.strategy {
                UniqueStrategy::DistinctParents { fks } => {
                    let counts: Vec<u64> = fks
                        .iter()
                        .map(|f| plan.tables[table.foreign_keys[*f].parent].rows)
                        .collect();
                    Some(distinct_for(&counts, table.rows, &mut rng))
                }
                _ => None,
            })
            .collect();
        let n = table.uniques.len();
        let seen = (0..n)
            .map(|u| table.taken.get(u).into_iter().flatten().copied().collect())
            .collect();
        let tree_unique = table.foreign_keys.iter().any(|f| {
            f.mode == FkMode::Tree && table.uniques.iter().any(|u| u.columns == f.columns)
        });
        let mut fk_order: Vec<usize> = (0..table.foreign_keys.len()).collect();
        fk_order.sort_by_key(|f| std::cmp::Reverse(table.foreign_keys[*f].columns.len()));
        TableGen {
            fk_order,
            matcher: Matcher::default(),
            tree_unique,
            plan,
            table,
            rng,
            row: 0,
            ctx: RowContext::default(),
            fk_pool,
            own,
            tree_depth: Vec::new(),
            tree_eligible: Vec::new(),
            seen,
            decorated: vec![0; n],
            fallback: table
                .uniques
                .iter()
                .map(|u| fallback(plan, table, &u.columns))
                .collect(),
            cursor: vec![0; n],
            distinct,
            counters: (0..n).map(|_| HashMap::default()).collect(),
            scratch: Vec::new(),
        }
    }

    /// The plan of the table being generated.
    pub fn table(&self) -> &'p TablePlan {
        self.table
    }

    /// The rows still to come.
    pub fn remaining(&self) -> u64 {
        self.table.rows - self.row
    }

    /// This table's kept keys, once every row is generated.
    pub fn into_pools(self) -> Vec<Pool> {
        self.own
    }

    /// The next row, into `out` (one cell per column).
    pub fn next_row(&mut self, pools: &Pools, out: &mut Vec<Cell>) -> Result<(), DatagenError> {
        out.clear();
        out.resize(self.table.columns.len(), Cell::Null);
        self.ctx.clear();
        for u in 0..self.table.uniques.len() {
            self.distinct_parents(u, pools, out);
        }
        for i in 0..self.fk_order.len() {
            self.foreign(self.fk_order[i], pools, out);
        }
        for (c, cell) in out.iter_mut().enumerate() {
            if !matches!(self.table.columns[c].kind, Kind::Foreign) && cell.is_null() {
                *cell = fill::column(
                    self.plan,
                    self.table,
                    c,
                    self.row,
                    &mut self.ctx,
                    &mut self.rng,
                );
            }
        }
        for u in 0..self.table.uniques.len() {
            self.keep_unique(u, out)?;
        }
        self.remember(out);
        self.row += 1;
        Ok(())
    }

    fn copy_parent(&mut self, f: usize, parent_row: u64, pools: &Pools, out: &mut [Cell]) {
        let fk = &self.table.foreign_keys[f];
        let own_table = std::ptr::eq(&self.plan.tables[fk.parent], self.table);
        let pool = if own_table {
            self.own.get(self.fk_pool[f])
        } else {
            pools
                .tables
                .get(fk.parent)
                .and_then(|p| p.get(self.fk_pool[f]))
        };
        if let Some(pool) = pool {
            pool.cells(parent_row, &mut self.scratch);
        }
        for (c, cell) in fk.columns.iter().zip(self.scratch.drain(..)) {
            out[*c] = cell;
        }
    }

    fn foreign(&mut self, f: usize, pools: &Pools, out: &mut [Cell]) {
        let fk = &self.table.foreign_keys[f];
        let parents = self.plan.tables[fk.parent].rows;
        match fk.mode {
            FkMode::Deferred | FkMode::Distinct | FkMode::Implied => {}
            FkMode::Tree => {
                if let Some(parent) = self.tree_parent() {
                    self.copy_parent(f, parent, pools, out);
                }
            }
            FkMode::Random => {
                let null = fk.nullable && self.rng.chance(0.1);
                if !null
                    && parents > 0
                    && let Some(parent) = self.matching_parent(f, pools, out)
                {
                    self.copy_parent(f, parent, pools, out);
                }
            }
        }
    }

    /// A parent row for foreign key `f` that agrees with the columns
    /// earlier keys already set; `None` when none does (the key's other
    /// columns stay NULL).
    fn matching_parent(&mut self, f: usize, pools: &Pools, out: &[Cell]) -> Option<u64> {
        let fk = &self.table.foreign_keys[f];
        let parents = self.plan.tables[fk.parent].rows;
        let mask = fk
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| !out[**c].is_null())
            .fold(0u64, |m, (i, _)| m | (1 << i.min(63)));
        if mask == 0 {
            return Some(self.rng.below(parents));
        }
        let wanted: Vec<Cell> = fk.columns.iter().map(|c| out[*c].clone()).collect();
        let pool = pools.tables.get(fk.parent)?.get(self.fk_pool[f])?;
        let found = self.matcher.candidates(f, mask, &wanted, pool, parents);
        match found.len() {
            0 if fk.nullable_outside(mask, &self.table.schema) => None,
            0 => Some(self.rng.below(parents)),
            n => Some(u64::from(found[self.rng.index(n)])),
        }
    }

    /// The parent row of the next tree node, or `None` for a root.
    fn tree_parent(&mut self) -> Option<u64> {
        let max_depth = self.plan.tree_depth.clamp(1, 250) as u8;
        let root = self.tree_eligible.is_empty() || max_depth == 1 || self.rng.chance(0.15);
        let (parent, depth) = if root {
            (None, 0)
        } else {
            let at = self.rng.index(self.tree_eligible.len());
            let pick = if self.tree_unique {
                self.tree_eligible.swap_remove(at)
            } else {
                self.tree_eligible[at]
            };
            (Some(u64::from(pick)), self.tree_depth[pick as usize] + 1)
        };
        self.tree_depth.push(depth);
        if depth + 1 < max_depth {
            self.tree_eligible.push(self.row as u32);
        }
        parent
    }

    fn distinct_parents(&mut self, u: usize, pools: &Pools, out: &mut [Cell]) {
        let fks = match &self.table.uniques[u].strategy {
            UniqueStrategy::DistinctParents { fks } | UniqueStrategy::PerParent { fks, .. } => {
                fks.clone()
            }
            _ => return,
        };
        let counts: Vec<u64> = fks
            .iter()
            .map(|f| {
                self.plan.tables[self.table.foreign_keys[*f].parent]
                    .rows
                    .max(1)
            })
            .collect();
        let combo = match self.distinct[u].as_mut() {
            Some(Distinct::Shuffled(all)) => all.pop().unwrap_or(0),
            Some(Distinct::Sampled(seen)) => {
                let total = counts.iter().fold(1u64, |a, b| a.saturating_mul(*b));
                loop {
                    let candidate = self.rng.below(total);
                    if seen.insert(candidate) {
                        break candidate;
                    }
                }
            }
            None => {
                let total = counts.iter().fold(1u64, |a, b| a.saturating_mul(*b));
                self.rng.below(total)
            }
        };
        let mut rest = combo;
        for (f, count) in fks.iter().zip(&counts) {
            self.copy_parent(*f, rest % count, pools, out);
            rest /= count;
        }
        if let UniqueStrategy::PerParent { counter, .. } = self.table.uniques[u].strategy {
            let next = self.counters[u].entry(combo).or_insert(0);
            *next += 1;
            out[counter] = Cell::Int(*next);
        }
    }

    /// Remembers the key `u` of `out`: `Some(true)` when new, `Some(false)`
    /// when an earlier row holds it, `None` when it has a NULL (never a
    /// duplicate). Text compares case-insensitively, as MySQL's default
    /// collations do.
    fn claim(&mut self, u: usize, out: &[Cell]) -> Option<bool> {
        let columns = &self.table.uniques[u].columns;
        if columns.iter().any(|c| out[*c].is_null()) {
            return None;
        }
        let mut bytes = Vec::with_capacity(32);
        for c in columns {
            match &out[*c] {
                Cell::Text(text) => fold(text, &mut bytes),
                cell => cell.key_bytes(&mut bytes),
            }
        }
        Some(self.seen[u].insert(Fast::default().hash_one(&bytes)))
    }

    /// Makes key `u` unique: redraws, then a `-<row>` suffix where it
    /// fits, then the next free value of the column's [`Space`].
    fn keep_unique(&mut self, u: usize, out: &mut [Cell]) -> Result<(), DatagenError> {
        if self.table.uniques[u].strategy != UniqueStrategy::Checked {
            return Ok(());
        }
        // Once most rows collide, redrawing is wasted work: fall back sooner.
        let redraws: u64 = if self.decorated[u] * 4 > self.row.max(400) {
            1
        } else {
            8
        };
        for attempt in 0..=redraws {
            if self.claim(u, out) != Some(false) {
                return Ok(());
            }
            if attempt < redraws {
                self.redraw(u, out);
            }
        }
        self.decorated[u] += 1;
        for n in 0..4 {
            if !self.decorate(u, out, n) {
                break;
            }
            if self.claim(u, out) != Some(false) {
                return Ok(());
            }
        }
        self.next_free(u, out)
    }

    fn own_columns(&self, u: usize) -> impl Iterator<Item = usize> + use<'p> {
        let table = self.table;
        table.uniques[u]
            .columns
            .iter()
            .copied()
            .filter(move |c| table.columns[*c].kind != Kind::Foreign)
    }

    fn redraw(&mut self, u: usize, out: &mut [Cell]) {
        for c in self.own_columns(u) {
            out[c] = fill::column(
                self.plan,
                self.table,
                c,
                self.row,
                &mut self.ctx,
                &mut self.rng,
            );
        }
    }

    /// Suffixes the key's text columns; false when none could take one.
    fn decorate(&mut self, u: usize, out: &mut [Cell], n: u64) -> bool {
        let mut any = false;
        for c in self.own_columns(u) {
            let logical = &self.table.schema.columns[c].logical_type;
            let column = &self.table.columns[c];
            if let Some(cell) = fill::decorate(column, logical, &out[c], self.row, n) {
                out[c] = cell;
                any = true;
            }
        }
        any
    }

    /// Takes the next value of the key's widest column that no row holds
    /// with the rest of the key, scanning its whole space at most once.
    fn next_free(&mut self, u: usize, out: &mut [Cell]) -> Result<(), DatagenError> {
        if let Some((c, space)) = self.fallback[u].take() {
            let size = space.len();
            let mut found = false;
            for _ in 0..size {
                out[c] = space.nth(self.cursor[u] % size);
                self.cursor[u] = self.cursor[u].wrapping_add(1);
                if self.claim(u, out) != Some(false) {
                    found = true;
                    break;
                }
            }
            self.fallback[u] = Some((c, space));
            if found {
                return Ok(());
            }
        }
        let schema = &self.table.schema;
        let names: Vec<&str> = self.table.uniques[u]
            .columns
            .iter()
            .map(|c| schema.columns[*c].name.as_str())
            .collect();
        Err(DatagenError::Unsatisfiable {
            table: schema.name.to_string(),
            reason: format!(
                "no unused value of the unique key ({}) is left for row {}; widen the column or ask for fewer rows",
                names.join(", "),
                self.row + 1
            ),
        })
    }

    fn remember(&mut self, out: &[Cell]) {
        for (pool, kept) in self.own.iter_mut().zip(&self.table.kept) {
            if let Pool::Rows(rows) = pool {
                rows.push(kept.iter().map(|c| out[*c].clone()).collect());
            }
        }
    }
}

/// The hash a unique key's values are remembered by: each part's text,
/// lower-cased, followed by a zero byte (as [`TableGen`] remembers them).
pub fn key_hash<'a>(parts: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut bytes = Vec::with_capacity(32);
    for part in parts {
        fold(part, &mut bytes);
    }
    Fast::default().hash_one(&bytes)
}

/// `text` lower-cased and a zero byte: how a unique key compares it.
fn fold(text: &str, out: &mut Vec<u8>) {
    if text.is_ascii() {
        out.extend(text.bytes().map(|b| b.to_ascii_lowercase()));
    } else {
        out.extend_from_slice(text.to_lowercase().as_bytes());
    }
    out.push(0);
}

/// The column of a unique key to scan for a free value: the one with
/// the most values, foreign keys aside.
fn fallback(plan: &Plan, table: &TablePlan, columns: &[usize]) -> Option<(usize, Space)> {
    columns
        .iter()
        .filter(|c| table.columns[**c].kind != Kind::Foreign)
        .filter_map(|c| {
            let logical = &table.schema.columns[*c].logical_type;
            let space = Space::of(&table.columns[*c], logical, plan.settings.from_secs)?;
            Some((*c, space))
        })
        .max_by_key(|(_, space)| space.len())
}

/// Empty pools for the columns children of `table` read.
fn own_pools(table: &TablePlan) -> Vec<Pool> {
    table
        .kept
        .iter()
        .map(|k| match k.as_slice() {
            [c] if table.columns[*c].kind == Kind::Sequence => Pool::Sequence {
                start: table.sequence_start,
            },
            _ => Pool::Rows(Vec::new()),
        })
        .collect()
}

fn distinct_for(counts: &[u64], rows: u64, rng: &mut Rng) -> Distinct {
    let total = counts
        .iter()
        .fold(1u64, |a, b| a.saturating_mul((*b).max(1)));
    if rows.saturating_mul(2) >= total && total <= 50_000_000 {
        let mut all: Vec<u64> = (0..total).collect();
        for i in (1..all.len()).rev() {
            all.swap(i, rng.index(i + 1));
        }
        all.truncate(rows as usize);
        Distinct::Shuffled(all)
    } else {
        Distinct::Sampled(HashSet::default())
    }
}
