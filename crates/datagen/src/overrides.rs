//! Per-column overrides from a small YAML file:
//!
//! ```yaml
//! time_range: { from: 2024-01-01, to: 2025-01-01 }
//! tree_depth: 3
//! columns:
//!   orders.orders.status: { values: { paid: 70, shipped: 20, cancelled: 10 } }
//!   orders.orders.total: { range: [5, 500], distribution: normal }
//!   auth.users.full_name: { null_fraction: 0.2 }
//!   orders.orders.note: { pattern: "ORD-#####" }
//! ```
//!
//! Columns are named `schema.table.column` or `table.column`.
//! `distribution` is `uniform` (default), `normal` (mean at the middle,
//! six standard deviations across the range) or `exponential` (most
//! values near the low end). A pattern has `#` for a digit, `?` for a
//! letter, `*` for either.

use std::collections::BTreeMap;
use std::path::Path;

use watershed_events::Date;
use yaml_rust2::{Yaml, YamlLoader};

use crate::error::DatagenError;

/// How numbers spread over a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Distribution {
    #[default]
    Uniform,
    Normal,
    Exponential,
}

/// What one column's values are instead of the guessed kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnOverride {
    /// Values with weights (a list without weights weighs each 1).
    pub values: Option<Vec<(String, f64)>>,
    pub range: Option<(f64, f64)>,
    pub distribution: Distribution,
    /// Share of NULLs (nullable columns only).
    pub null_fraction: Option<f64>,
    pub pattern: Option<String>,
}

/// The whole overrides file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `[from, to)` in seconds since the epoch.
    pub time_range: Option<(i64, i64)>,
    /// Levels of self-referencing trees (1: roots only).
    pub tree_depth: Option<u32>,
    /// By `schema.table.column` or `table.column`.
    pub columns: BTreeMap<String, ColumnOverride>,
}

impl Overrides {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<Self, DatagenError> {
        let text = std::fs::read_to_string(path).map_err(|e| DatagenError::Overrides {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Self::parse(&text).map_err(|reason| DatagenError::Overrides {
            path: path.to_owned(),
            reason,
        })
    }

    /// Parses the YAML text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let docs = YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
        let mut out = Overrides::default();
        let Some(doc) = docs.first() else {
            return Ok(out);
        };
        let top = doc.as_hash().ok_or("expected a mapping at the top")?;
        for (key, value) in top {
            match key.as_str() {
                Some("time_range") => out.time_range = Some(time_range(value)?),
                Some("tree_depth") => {
                    let depth = value.as_i64().filter(|d| *d >= 1);
                    out.tree_depth = Some(depth.ok_or("tree_depth must be 1 or more")? as u32);
                }
                Some("columns") => out.columns = columns(value)?,
                other => return Err(format!("unknown key {other:?}")),
            }
        }
        Ok(out)
    }

    /// The override for `column` of `table` (`schema.table` or `table`).
    pub fn column(&self, table: &str, column: &str) -> Option<&ColumnOverride> {
        self.columns.get(&format!("{table}.{column}")).or_else(|| {
            let short = table.rsplit('.').next().unwrap_or(table);
            self.columns.get(&format!("{short}.{column}"))
        })
    }
}

fn number(value: &Yaml) -> Option<f64> {
    value
        .as_f64()
        .or_else(|| value.as_i64().map(|i| i as f64))
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

fn scalar_text(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn date_secs(value: &Yaml) -> Result<i64, String> {
    let text = scalar_text(value).ok_or("expected a date like 2024-01-31")?;
    let date = Date::parse(&text).map_err(|e| format!("{text}: {e}"))?;
    Ok(date.days_since_epoch() * 86_400)
}

fn time_range(value: &Yaml) -> Result<(i64, i64), String> {
    let from = date_secs(&value["from"])?;
    let to = date_secs(&value["to"])?;
    if to <= from {
        return Err("time_range: `to` must be after `from`".into());
    }
    Ok((from, to))
}

fn columns(value: &Yaml) -> Result<BTreeMap<String, ColumnOverride>, String> {
    let hash = value.as_hash().ok_or("columns: expected a mapping")?;
    let mut out = BTreeMap::new();
    for (key, spec) in hash {
        let name = key.as_str().ok_or("columns: names must be text")?;
        let parsed = column(spec).map_err(|e| format!("{name}: {e}"))?;
        out.insert(name.to_owned(), parsed);
    }
    Ok(out)
}

fn column(spec: &Yaml) -> Result<ColumnOverride, String> {
    let hash = spec.as_hash().ok_or("expected a mapping")?;
    let mut out = ColumnOverride::default();
    for (key, value) in hash {
        match key.as_str() {
            Some("values") => out.values = Some(weighted(value)?),
            Some("range") => {
                let items = value.as_vec().ok_or("range: expected [low, high]")?;
                let (Some(lo), Some(hi)) = (
                    items.first().and_then(number),
                    items.get(1).and_then(number),
                ) else {
                    return Err("range: expected [low, high]".into());
                };
                if hi < lo {
                    return Err("range: high is below low".into());
                }
                out.range = Some((lo, hi));
            }
            Some("distribution") => {
                out.distribution = match value.as_str() {
                    Some("uniform") => Distribution::Uniform,
                    Some("normal") => Distribution::Normal,
                    Some("exponential") => Distribution::Exponential,
                    _ => return Err("distribution: uniform, normal or exponential".into()),
                }
            }
            Some("null_fraction") => {
                let f = number(value).filter(|f| (0.0..=1.0).contains(f));
                out.null_fraction = Some(f.ok_or("null_fraction: a number from 0 to 1")?);
            }
            Some("pattern") => out.pattern = Some(scalar_text(value).ok_or("pattern: text")?),
            other => return Err(format!("unknown key {other:?}")),
        }
    }
    Ok(out)
}

fn weighted(value: &Yaml) -> Result<Vec<(String, f64)>, String> {
    let pairs: Vec<(String, f64)> = match value {
        Yaml::Array(items) => items
            .iter()
            .map(|v| scalar_text(v).map(|t| (t, 1.0)))
            .collect::<Option<_>>()
            .ok_or("values: a list of values")?,
        Yaml::Hash(hash) => hash
            .iter()
            .map(|(k, w)| Some((scalar_text(k)?, number(w)?)))
            .collect::<Option<_>>()
            .ok_or("values: a mapping of value to weight")?,
        _ => return Err("values: a list, or a mapping of value to weight".into()),
    };
    if pairs.is_empty() || pairs.iter().any(|(_, w)| *w < 0.0) {
        return Err("values: at least one value, weights not negative".into());
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let text = r#"
time_range: { from: 2024-01-01, to: 2025-01-01 }
tree_depth: 3
columns:
  orders.orders.status: { values: { paid: 70, shipped: 20, cancelled: 10 } }
  orders.orders.total: { range: [5, 500], distribution: normal }
  users.full_name: { null_fraction: 0.2 }
  orders.orders.note: { pattern: "ORD-#####" }
"#;
        let o = Overrides::parse(text).expect("parses");
        assert_eq!(o.tree_depth, Some(3));
        assert_eq!(o.time_range.map(|(f, t)| t - f), Some(366 * 86_400));
        let status = o.column("orders.orders", "status").expect("status");
        assert_eq!(status.values.as_ref().map(Vec::len), Some(3));
        assert!(o.column("auth.users", "full_name").is_some());
        let total = o.column("orders.orders", "total").expect("total");
        assert_eq!(total.distribution, Distribution::Normal);
    }

    #[test]
    fn unknown_keys_and_bad_fractions_are_errors() {
        assert!(Overrides::parse("colums: {}").is_err());
        assert!(Overrides::parse("columns: { t.c: { null_fraction: 2 } }").is_err());
    }
}
