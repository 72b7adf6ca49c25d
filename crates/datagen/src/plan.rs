//! Planning a run before any row exists: which tables get how many rows,
//! in which order (parents first; a cycle is broken at a nullable foreign
//! key, filled in afterwards), how each column is filled, and how each
//! unique key stays unique. Every unsatisfiable request is found here,
//! before anything is written.

use std::collections::BTreeMap;

use watershed_events::{LogicalType, TableSchema};

use crate::error::DatagenError;
use crate::kind::{Kind, detect};
use crate::locale::Locale;
use crate::overrides::{ColumnOverride, Overrides};
use crate::values::ValueSettings;

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Rows for tables not named in `rows`.
    pub default_rows: u64,
    /// Rows by `schema.table` or `table`.
    pub rows: BTreeMap<String, u64>,
    pub seed: u64,
    pub locale: Locale,
    pub overrides: Overrides,
    /// Treat `<table>_id` columns without a foreign key as references to
    /// `<table>s` (see [`crate::infer`]).
    pub infer_references: bool,
}

/// Default timestamps: 2024-01-01 to 2026-01-01 (UTC).
pub const DEFAULT_TIME_RANGE: (i64, i64) = (1_704_067_200, 1_767_225_600);
/// Default levels of a self-referencing tree.
pub const DEFAULT_TREE_DEPTH: u32 = 4;

/// Everything needed to generate, table by table.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Parents before children.
    pub tables: Vec<TablePlan>,
    pub settings: ValueSettings,
    pub seed: u64,
    pub tree_depth: u32,
}

/// One table's plan.
#[derive(Debug, Clone)]
pub struct TablePlan {
    pub schema: TableSchema,
    pub rows: u64,
    /// In the schema's column order.
    pub columns: Vec<ColumnPlan>,
    pub foreign_keys: Vec<FkPlan>,
    pub uniques: Vec<UniquePlan>,
    /// Column sets other tables reference: their values are kept.
    pub kept: Vec<Vec<usize>>,
    /// The first value of sequence columns (after existing rows).
    pub sequence_start: i64,
    /// Per unique key: hashes of the values target rows already hold
    /// (appending), which new rows avoid.
    pub taken: Vec<Vec<u64>>,
}

/// How one column is filled.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    pub kind: Kind,
    pub null_fraction: f64,
    /// Character limit of char/varchar.
    pub max_chars: Option<usize>,
    pub custom: Option<ColumnOverride>,
}

/// A foreign key, resolved to plan positions.
#[derive(Debug, Clone)]
pub struct FkPlan {
    pub columns: Vec<usize>,
    /// Index into [`Plan::tables`].
    pub parent: usize,
    pub parent_columns: Vec<usize>,
    /// The referenced columns' names (resolved into `parent_columns`).
    pub parent_names: Vec<String>,
    pub nullable: bool,
    pub mode: FkMode,
}

/// How a foreign key picks its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FkMode {
    /// Any parent row, repeats allowed.
    Random,
    /// A self-reference: an earlier row, as a tree of bounded depth.
    Tree,
    /// Part of a unique key made only of foreign keys: each combination
    /// of parents once.
    Distinct,
    /// Breaks a cycle: NULL first, set once the parent exists.
    Deferred,
    /// Its columns are part of a wider foreign key's, which sets them.
    Implied,
}

/// How a primary key or unique index stays unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UniqueStrategy {
    /// A sequence or UUID column makes it unique already.
    Inherent,
    /// Only foreign keys: combinations of parent rows drawn without
    /// replacement.
    DistinctParents { fks: Vec<usize> },
    /// Foreign keys and one integer: the integer counts 1, 2, 3… per
    /// parent (order lines).
    PerParent { fks: Vec<usize>, counter: usize },
    /// Anything else: checked, redrawn, then made unique by a suffix.
    Checked,
}

/// A primary key or unique index.
#[derive(Debug, Clone)]
pub struct UniquePlan {
    pub columns: Vec<usize>,
    pub strategy: UniqueStrategy,
}

impl Plan {
    /// Plans `tables` for `request`.
    pub fn new(mut tables: Vec<TableSchema>, request: &Request) -> Result<Self, DatagenError> {
        if request.infer_references {
            crate::infer::infer_references(&mut tables);
        }
        let rows = rows_per_table(&tables, request)?;
        let order = crate::order::order(&tables)?;
        let position: BTreeMap<String, usize> = order
            .tables
            .iter()
            .enumerate()
            .map(|(i, t)| (tables[*t].name.to_string(), i))
            .collect();
        let mut plans: Vec<TablePlan> = order
            .tables
            .iter()
            .map(|t| table_plan(&tables[*t], rows[*t], request, &position, &order.deferred))
            .collect::<Result<_, _>>()?;
        let parent_rows: Vec<u64> = plans.iter().map(|p| p.rows).collect();
        for plan in &mut plans {
            crate::unique::plan_uniques(plan, &parent_rows)?;
            required_parents(plan, &parent_rows, &order.tables, &tables)?;
        }
        keep_referenced(&mut plans);
        let overrides = &request.overrides;
        let (from_secs, to_secs) = overrides.time_range.unwrap_or(DEFAULT_TIME_RANGE);
        Ok(Plan {
            tables: plans,
            settings: ValueSettings {
                locale: request.locale,
                from_secs,
                to_secs,
            },
            seed: request.seed,
            tree_depth: overrides.tree_depth.unwrap_or(DEFAULT_TREE_DEPTH),
        })
    }

    /// Total rows over all tables.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

fn rows_per_table(tables: &[TableSchema], request: &Request) -> Result<Vec<u64>, DatagenError> {
    for name in request.rows.keys() {
        let known = tables
            .iter()
            .any(|t| t.name.to_string() == *name || t.name.name == *name);
        if !known {
            return Err(DatagenError::Invalid(format!(
                "--rows-per-table names `{name}`, which is not a table of the schema"
            )));
        }
    }
    Ok(tables
        .iter()
        .map(|t| {
            let qualified = request.rows.get(&t.name.to_string());
            let short = request.rows.get(&t.name.name);
            *qualified.or(short).unwrap_or(&request.default_rows)
        })
        .collect())
}

/// A NOT NULL foreign key needs at least one parent row.
fn required_parents(
    plan: &TablePlan,
    parent_rows: &[u64],
    order: &[usize],
    tables: &[TableSchema],
) -> Result<(), DatagenError> {
    let missing = plan
        .foreign_keys
        .iter()
        .find(|f| plan.rows > 0 && !f.nullable && parent_rows[f.parent] == 0);
    match missing {
        Some(fk) => Err(DatagenError::Unsatisfiable {
            table: plan.schema.name.to_string(),
            reason: format!(
                "it references {}, which gets no rows (give it some with --rows-per-table)",
                tables[order[fk.parent]].name
            ),
        }),
        None => Ok(()),
    }
}

fn char_limit(logical: &LogicalType) -> Option<usize> {
    match logical {
        LogicalType::Char { length, .. } | LogicalType::Varchar { length, .. } => {
            length.map(|l| l as usize)
        }
        _ => None,
    }
}

/// Whether column `index` is filled from a sequence.
fn is_sequence(table: &TableSchema, index: usize, in_fk: bool) -> bool {
    let column = &table.columns[index];
    let sole_key = table.primary_key.len() == 1 && table.primary_key[0] == column.name;
    !in_fk && column.logical_type.is_integer() && (column.auto_increment || sole_key)
}

fn table_plan(
    table: &TableSchema,
    rows: u64,
    request: &Request,
    position: &BTreeMap<String, usize>,
    deferred: &[(String, usize)],
) -> Result<TablePlan, DatagenError> {
    let name = table.name.to_string();
    let foreign_keys = resolve_fks(table, position, deferred, rows)?;
    let in_fk = |i: usize| foreign_keys.iter().any(|f| f.columns.contains(&i));
    let columns = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let custom = request.overrides.column(&name, &column.name).cloned();
            let kind = if in_fk(i) {
                Kind::Foreign
            } else {
                detect(&table.name.name, column, is_sequence(table, i, false))
            };
            let in_key = table.primary_key.contains(&column.name);
            let default_null = if column.nullable && !in_key { 0.1 } else { 0.0 };
            let asked = custom.as_ref().and_then(|c| c.null_fraction);
            ColumnPlan {
                null_fraction: if column.nullable {
                    asked.unwrap_or(default_null)
                } else {
                    0.0
                },
                max_chars: char_limit(&column.logical_type),
                kind,
                custom,
            }
        })
        .collect();
    Ok(TablePlan {
        schema: table.clone(),
        rows,
        columns,
        foreign_keys,
        uniques: Vec::new(),
        kept: Vec::new(),
        sequence_start: 1,
        taken: Vec::new(),
    })
}

fn resolve_fks(
    table: &TableSchema,
    position: &BTreeMap<String, usize>,
    deferred: &[(String, usize)],
    rows: u64,
) -> Result<Vec<FkPlan>, DatagenError> {
    let name = table.name.to_string();
    let mut out = Vec::new();
    for (k, key) in table.foreign_keys.iter().enumerate() {
        let Some(&parent) = position.get(&key.referenced.to_string()) else {
            tracing::warn!(table = %name, references = %key.referenced, "foreign key to a table outside the schema ignored");
            continue;
        };
        let columns: Option<Vec<usize>> =
            key.columns.iter().map(|c| table.column_index(c)).collect();
        let Some(columns) = columns else { continue };
        let nullable = columns.iter().all(|c| table.columns[*c].nullable);
        let mode = if key.referenced == table.name {
            FkMode::Tree
        } else if deferred.contains(&(name.clone(), k)) {
            FkMode::Deferred
        } else {
            FkMode::Random
        };
        if mode == FkMode::Tree && !nullable && rows > 0 {
            return Err(DatagenError::Unsatisfiable {
                table: name,
                reason: format!(
                    "the self-reference ({}) is NOT NULL, so no row can be a root of the tree",
                    key.columns.join(", ")
                ),
            });
        }
        out.push(FkPlan {
            columns,
            parent,
            parent_columns: Vec::new(),
            parent_names: key.referenced_columns.clone(),
            nullable,
            mode,
        });
    }
    mark_implied(&mut out);
    Ok(out)
}

/// Keys whose columns all belong to a wider key of the same table take
/// their values from it (`tenant_id` inside `(tenant_id, project_id)`).
fn mark_implied(fks: &mut [FkPlan]) {
    let wider: Vec<bool> = fks
        .iter()
        .map(|f| {
            fks.iter().any(|g| {
                g.columns.len() > f.columns.len() && f.columns.iter().all(|c| g.columns.contains(c))
            })
        })
        .collect();
    for (fk, implied) in fks.iter_mut().zip(wider) {
        if implied && fk.mode == FkMode::Random {
            fk.mode = FkMode::Implied;
        }
    }
}

impl FkPlan {
    /// Whether every column outside `mask` (bit i: column i of the key)
    /// is nullable, so the key can be left unset.
    pub fn nullable_outside(&self, mask: u64, schema: &TableSchema) -> bool {
        self.columns
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << (*i).min(63)) == 0)
            .all(|(_, c)| schema.columns[*c].nullable)
    }
}

/// Fills in `parent_columns` and `kept` now that every table's columns
/// are known.
fn keep_referenced(plans: &mut [TablePlan]) {
    let mut wanted: Vec<(usize, usize, usize, Vec<usize>)> = Vec::new();
    for (t, plan) in plans.iter().enumerate() {
        for (f, key) in plan.foreign_keys.iter().enumerate() {
            let parent = &plans[key.parent].schema;
            let columns: Option<Vec<usize>> = key
                .parent_names
                .iter()
                .map(|c| parent.column_index(c))
                .collect();
            wanted.push((t, f, key.parent, columns.unwrap_or_default()));
        }
    }
    for (t, plan) in plans.iter().enumerate() {
        let deferred = plan.foreign_keys.iter().any(|f| f.mode == FkMode::Deferred);
        if deferred && !plan.schema.primary_key.is_empty() {
            // Deferred keys are set by primary key afterwards.
            wanted.push((t, usize::MAX, t, plan.schema.primary_key_indices()));
        }
    }
    for (t, f, parent, columns) in wanted {
        if f == usize::MAX {
            if !plans[t].kept.contains(&columns) {
                plans[t].kept.push(columns);
            }
            continue;
        }
        plans[t].foreign_keys[f].parent_columns = columns.clone();
        if !plans[parent].kept.contains(&columns) {
            plans[parent].kept.push(columns);
        }
    }
}
