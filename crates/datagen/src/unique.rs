//! Choosing how each primary key and unique index stays unique, and
//! refusing requests that cannot be met (more rows than distinct values).

use watershed_events::LogicalType;

use crate::error::DatagenError;
use crate::kind::{Kind, int_bounds};
use crate::plan::{FkMode, TablePlan, UniquePlan, UniqueStrategy};

/// Sets `plan.uniques` (and the foreign keys they draw without
/// replacement); errors when a key has fewer possible values than rows.
pub fn plan_uniques(plan: &mut TablePlan, parent_rows: &[u64]) -> Result<(), DatagenError> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    if !plan.schema.primary_key.is_empty() {
        groups.push(plan.schema.primary_key_indices());
    }
    for index in plan.schema.indexes.iter().filter(|i| i.unique) {
        let columns: Option<Vec<usize>> = index
            .columns
            .iter()
            .map(|c| plan.schema.column_index(c))
            .collect();
        groups.extend(columns.filter(|c| !groups.contains(c)));
    }
    for columns in groups {
        let strategy = strategy(plan, &columns);
        check_capacity(plan, &columns, &strategy, parent_rows)?;
        if let UniqueStrategy::DistinctParents { fks } | UniqueStrategy::PerParent { fks, .. } =
            &strategy
        {
            for f in fks {
                plan.foreign_keys[*f].mode = FkMode::Distinct;
            }
        }
        plan.uniques.push(UniquePlan { columns, strategy });
    }
    Ok(())
}

fn strategy(plan: &TablePlan, columns: &[usize]) -> UniqueStrategy {
    let inherent = columns.iter().any(|c| {
        let column = &plan.columns[*c];
        column.custom.is_none() && matches!(column.kind, Kind::Sequence | Kind::Uuid)
    });
    if inherent || columns.is_empty() {
        return UniqueStrategy::Inherent;
    }
    let fks: Vec<usize> = plan
        .foreign_keys
        .iter()
        .enumerate()
        .filter(|(_, f)| f.mode == FkMode::Random && f.columns.iter().all(|c| columns.contains(c)))
        .map(|(i, _)| i)
        .collect();
    let covered = |c: &usize| {
        fks.iter()
            .any(|f| plan.foreign_keys[*f].columns.contains(c))
    };
    let plain: Vec<usize> = columns.iter().copied().filter(|c| !covered(c)).collect();
    match plain.as_slice() {
        [] if !fks.is_empty() => UniqueStrategy::DistinctParents { fks },
        [counter]
            if !fks.is_empty()
                && plan.columns[*counter].custom.is_none()
                && plan.schema.columns[*counter].logical_type.is_integer() =>
        {
            UniqueStrategy::PerParent {
                fks,
                counter: *counter,
            }
        }
        _ => UniqueStrategy::Checked,
    }
}

/// How many distinct values column `c` can take; `None` when plenty.
fn column_capacity(plan: &TablePlan, c: usize, parent_rows: &[u64]) -> Option<u64> {
    if let Some(f) = plan.foreign_keys.iter().find(|f| f.columns.contains(&c)) {
        return Some(parent_rows[f.parent]);
    }
    let column = &plan.columns[c];
    if let Some(values) = column.custom.as_ref().and_then(|o| o.values.as_ref()) {
        return Some(values.len() as u64);
    }
    match &plan.schema.columns[c].logical_type {
        LogicalType::Bool => Some(2),
        LogicalType::Enum { labels } => Some(labels.len() as u64),
        LogicalType::Set { labels } => Some(1u64 << labels.len().min(62)),
        LogicalType::Int8 | LogicalType::UInt8 => Some(256),
        LogicalType::Int16 | LogicalType::UInt16 => Some(65_536),
        LogicalType::Year => Some(255),
        LogicalType::Bit { width } => Some(1u64 << (*width).min(62)),
        LogicalType::Decimal {
            precision: Some(p), ..
        } if *p <= 18 => Some(2 * 10u64.pow(u32::from(*p)) - 1),
        LogicalType::Char { length, .. } | LogicalType::Varchar { length, .. } => {
            length.filter(|l| *l < 12).map(|l| 36u64.pow(l))
        }
        _ => None,
    }
}

fn check_capacity(
    plan: &TablePlan,
    columns: &[usize],
    strategy: &UniqueStrategy,
    parent_rows: &[u64],
) -> Result<(), DatagenError> {
    if plan.rows == 0 {
        return Ok(());
    }
    if *strategy == UniqueStrategy::Inherent {
        return check_sequences(plan, columns);
    }
    let mut capacity: Option<u64> = Some(1);
    for c in columns {
        if let UniqueStrategy::PerParent { counter, .. } = strategy
            && counter == c
        {
            capacity = None;
            break;
        }
        capacity = match column_capacity(plan, *c, parent_rows) {
            Some(n) => capacity.map(|total| total.saturating_mul(n)),
            None => None,
        };
    }
    let Some(capacity) = capacity.filter(|n| *n < plan.rows) else {
        return Ok(());
    };
    let names: Vec<String> = columns
        .iter()
        .map(|c| {
            let column = &plan.schema.columns[*c];
            format!("{} ({})", column.name, type_name(&column.logical_type))
        })
        .collect();
    let table = plan.schema.name.to_string();
    Err(DatagenError::Unsatisfiable {
        reason: format!(
            "the unique key {} has only {capacity} possible value(s), but {} rows were requested; {}",
            names.join(", "),
            plan.rows,
            fix(&table, capacity)
        ),
        table,
    })
}

/// What to ask for instead: the most rows the key holds.
fn fix(table: &str, rows: u64) -> String {
    format!("ask for at most {rows} with --rows-per-table {table}={rows}")
}

/// Sequence columns must hold every row's number.
fn check_sequences(plan: &TablePlan, columns: &[usize]) -> Result<(), DatagenError> {
    for c in columns {
        let column = &plan.schema.columns[*c];
        let Some((_, max)) = int_bounds(&column.logical_type) else {
            continue;
        };
        let last = plan.sequence_start.saturating_add(plan.rows as i64 - 1);
        if plan.columns[*c].kind == Kind::Sequence && last > max {
            let table = plan.schema.name.to_string();
            let most = u64::try_from(max - plan.sequence_start + 1).unwrap_or(0);
            return Err(DatagenError::Unsatisfiable {
                reason: format!(
                    "the key {} ({}) holds numbers up to {max}, but {} rows were requested; {}",
                    column.name,
                    type_name(&column.logical_type),
                    plan.rows,
                    fix(&table, most)
                ),
                table,
            });
        }
    }
    Ok(())
}

/// The column's type as a message names it: the MySQL spelling (the
/// schema crate's), but an enum by its size and a boolean as such.
fn type_name(logical: &LogicalType) -> String {
    match logical {
        LogicalType::Enum { labels } => format!("enum of {} labels", labels.len()),
        LogicalType::Bool => "boolean".into(),
        other => watershed_schema::sql::mysql_type(other),
    }
}
