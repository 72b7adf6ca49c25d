//! Filling one plain column of a row: the sequence, the user's override,
//! NULLs at the planned rate, then a value of the column's kind cut to
//! its length; and making a duplicate unique.

use watershed_events::LogicalType;

use crate::cell::Cell;
use crate::kind::Kind;
use crate::overrides::{ColumnOverride, Distribution};
use crate::plan::{ColumnPlan, Plan, TablePlan};
use crate::rng::Rng;
use crate::space::CODE_LIMIT;
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
pub fn typed(text: &str, logical: &LogicalType) -> Cell {
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

/// Text `cell` changed so it cannot repeat an earlier row's: `-<row>`
/// added (before the `@` of an e-mail), `.<n>` too on the `n`th try after
/// the first. `None` for columns other than char, varchar and text (a
/// date or an enum label with a suffix is not one), for lengths below
/// [`CODE_LIMIT`] (a code of the length reads better) and when the result
/// would not fit.
pub fn decorate(
    column: &ColumnPlan,
    logical: &LogicalType,
    cell: &Cell,
    row: u64,
    n: u64,
) -> Option<Cell> {
    let free_text = matches!(
        logical,
        LogicalType::Char { .. } | LogicalType::Varchar { .. } | LogicalType::Text { .. }
    );
    let Cell::Text(text) = cell else {
        return None;
    };
    if !free_text {
        return None;
    }
    if column.max_chars.is_some_and(|m| m < CODE_LIMIT as usize) {
        return None;
    }
    let tag = if n > 0 {
        format!("-{row}.{n}")
    } else {
        format!("-{row}")
    };
    let (local, domain) = text.split_once('@').unwrap_or((text, ""));
    let at = if domain.is_empty() { "" } else { "@" };
    let fixed = tag.chars().count() + domain.chars().count() + at.len();
    let base: String = match column.max_chars {
        Some(max) if fixed > max => return None,
        Some(max) => local.chars().take(max - fixed).collect(),
        None => local.to_owned(),
    };
    Some(Cell::Text(format!("{base}{tag}{at}{domain}")))
}
