//! Filling one plain column of a row: the sequence, the user's override,
//! NULLs at the planned rate, then a value of the column's kind cut to
//! its length; and making a duplicate unique.

use watershed_events::LogicalType;

use crate::cell::Cell;
use crate::kind::Kind;
use crate::overrides::{ColumnOverride, Distribution};
use crate::plan::{ColumnPlan, Plan, TablePlan};
use crate::rng::Rng;
use crate::values::{RowContext, decimal_cap, generate, pattern, scaled};

/// The value of column `c` in row `row`.
pub fn column(
    plan: &Plan,
    table: &TablePlan,
    c: usize,
    row: u64,
    ctx: &mut RowContext,
    rng: &mut Rng,
) -> Cell {
    let column = &table.columns[c];
    let logical = &table.schema.columns[c].logical_type;
    if column.kind == Kind::Sequence && column.custom.is_none() {
        return Cell::Int(table.sequence_start + row as i64);
    }
    if column.null_fraction > 0.0 && rng.chance(column.null_fraction) {
        return Cell::Null;
    }
    let cell = match column.custom.as_ref().and_then(|o| custom(o, logical, rng)) {
        Some(cell) => cell,
        None => generate(&column.kind, logical, &plan.settings, ctx, rng),
    };
    truncate(cell, column.max_chars)
}

/// Cuts text to `max` characters.
fn truncate(cell: Cell, max: Option<usize>) -> Cell {
    match (cell, max) {
        (Cell::Text(text), Some(max)) if text.len() > max => match text.char_indices().nth(max) {
            Some((cut, _)) => Cell::Text(text[..cut].trim_end().to_owned()),
            None => Cell::Text(text),
        },
        (cell, _) => cell,
    }
}

/// A value from the override, if it says how to make one.
fn custom(o: &ColumnOverride, logical: &LogicalType, rng: &mut Rng) -> Option<Cell> {
    if let Some(values) = &o.values {
        let total: f64 = values.iter().map(|(_, w)| w).sum();
        let mut point = rng.unit() * total;
        let chosen = values.iter().find(|(_, w)| {
            point -= w;
            point < 0.0
        });
        let text = chosen.or(values.last()).map(|(v, _)| v.as_str())?;
        return Some(typed(text, logical));
    }
    if let Some((lo, hi)) = o.range {
        let x = match o.distribution {
            Distribution::Uniform => lo + rng.unit() * (hi - lo),
            Distribution::Normal => (lo + hi) / 2.0 + rng.normal() * (hi - lo) / 6.0,
            Distribution::Exponential => lo - (1.0 - rng.unit()).ln() * (hi - lo) / 5.0,
        };
        return Some(number(x.clamp(lo, hi), logical));
    }
    o.pattern.as_ref().map(|p| Cell::Text(pattern(p, rng)))
}

fn number(x: f64, logical: &LogicalType) -> Cell {
    if logical.is_integer() {
        return Cell::Int(x.round() as i64);
    }
    let (scale, _) = decimal_cap(logical);
    Cell::Num(scaled((x * 10f64.powi(scale as i32)).round() as i64, scale))
}

/// `text` as a cell of `logical`'s type.
fn typed(text: &str, logical: &LogicalType) -> Cell {
    match logical {
        t if t.is_integer() => text.parse().map_or(Cell::Text(text.into()), Cell::Int),
        LogicalType::Bool => Cell::Bool(matches!(text, "true" | "1" | "yes")),
        LogicalType::Decimal { .. } | LogicalType::Float32 | LogicalType::Float64 => {
            Cell::Num(text.into())
        }
        LogicalType::Json => Cell::Json(text.into()),
        _ => Cell::Text(text.into()),
    }
}

/// `cell` changed so it cannot repeat an earlier row's: text gets
/// `-<row>` (before the `@` of an e-mail), numbers become the row number;
/// the `n`th try after the first adds `.<n>`.
pub fn decorate(column: &ColumnPlan, cell: &Cell, row: u64, n: u64) -> Cell {
    let tag = if n > 0 {
        format!("-{row}.{n}")
    } else {
        format!("-{row}")
    };
    match cell {
        Cell::Text(text) => {
            let (local, domain) = text.split_once('@').unwrap_or((text, ""));
            let at = if domain.is_empty() { "" } else { "@" };
            let room = column
                .max_chars
                .map(|m| m.saturating_sub(tag.chars().count() + domain.chars().count() + at.len()));
            let base: String = match room {
                Some(room) => local.chars().take(room).collect(),
                None => local.to_owned(),
            };
            Cell::Text(format!("{base}{tag}{at}{domain}"))
        }
        Cell::Int(_) => Cell::Int((row + 1 + n * 1_000_000_007) as i64),
        other => other.clone(),
    }
}
