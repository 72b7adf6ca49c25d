//! `transforms:` and `mask_key:`: the row transforms a table's changes
//! pass through on their way to the sink, as the pipeline file states
//! them. Read here (shape, spelling, expression syntax), type-checked
//! against the tables' schemas wherever the source declares them without
//! I/O (generator, Kafka JSON), and otherwise when the source first shows
//! the table (see `crate::transform`).

use std::fmt;

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeStruct, Serializer};
use serde_json::Value;
use watershed_events::{TableName, TableSchema};
use watershed_transforms::chain::{Chain, ChainError, StepSpec};
use watershed_transforms::expr::check_syntax;
use watershed_transforms::mask::Mask;

use super::error::{KeyPath, Problem, key_path as path, names_table};
use super::yaml::{KeyOrder, LineIndex, in_written_order};

/// The keys one item of `transforms:` may hold besides `table`.
const STEP_KEYS: &str = "validate, filter, derive, mask, rename, drop, to";

/// One item of `transforms:`.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformConfig {
    /// The tables it applies to: `table` or `schema.table`, `*` globs.
    pub table: String,
    /// Its steps, in the order the item writes them.
    pub steps: Vec<StepSpec>,
    /// Its position in `transforms:`.
    pub index: usize,
    /// The line it starts on (0 when not from a file).
    pub line: usize,
    /// Per step, the key that wrote it (`validate`, `derive`, …).
    pub keys: Vec<&'static str>,
}

/// `mask_key:`, the key of `mask: hash`. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MaskKey(pub String);

impl fmt::Debug for MaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MaskKey(***)")
    }
}

impl Serialize for MaskKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

impl TransformConfig {
    /// Whether it applies to `table`: a pattern with a `.` is matched
    /// against `schema.table`, one without against the table's name.
    pub fn applies_to(&self, table: &TableName) -> bool {
        names_table(&self.table, table)
    }

    /// Where it was written, as errors name it: `line 12: transforms.2`.
    pub fn at(&self) -> String {
        let key = format!("transforms.{}", self.index);
        if self.line == 0 {
            key
        } else {
            format!("line {}: {key}", self.line)
        }
    }
}

impl Serialize for TransformConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut item = serializer.serialize_struct("TransformConfig", 2)?;
        item.serialize_field("table", &self.table)?;
        item.serialize_field("steps", &Steps(&self.steps))?;
        item.end()
    }
}

struct Steps<'a>(&'a [StepSpec]);

impl Serialize for Steps<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for step in self.0 {
            seq.serialize_element(&Step(step))?;
        }
        seq.end()
    }
}

struct Step<'a>(&'a StepSpec);

struct Pairs<'a>(&'a [(String, String)]);

impl Serialize for Pairs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Serialize for Step<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self.0 {
            StepSpec::Validate(conditions) => map.serialize_entry("validate", conditions)?,
            StepSpec::Filter(condition) => map.serialize_entry("filter", condition)?,
            StepSpec::Derive(columns) => map.serialize_entry("derive", &Pairs(columns))?,
            StepSpec::Mask(columns) => map.serialize_entry("mask", &Pairs(columns))?,
            StepSpec::Rename(columns) => map.serialize_entry("rename", &Pairs(columns))?,
            StepSpec::Drop(columns) => map.serialize_entry("drop", columns)?,
            StepSpec::To(table) => map.serialize_entry("to", table)?,
        }
        map.end()
    }
}

/// Reads `transforms:`: a list of `{ table, <step keys> }`, the steps in
/// the order written.
pub(super) fn parse(
    value: Value,
    lines: &LineIndex,
    order: &KeyOrder,
) -> Result<Vec<TransformConfig>, Problem> {
    let Value::Array(items) = value else {
        return Err((
            path(&["transforms"]),
            "expected a list of `{ table: …, validate|filter|derive|mask|rename|drop|to: … }`"
                .into(),
        ));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| parse_item(index, item, lines, order))
        .collect()
}

fn parse_item(
    index: usize,
    item: Value,
    lines: &LineIndex,
    order: &KeyOrder,
) -> Result<TransformConfig, Problem> {
    let i = index.to_string();
    let at = |key: &[&str]| {
        let mut p = path(&["transforms", &i]);
        p.extend(key.iter().map(|s| (*s).to_owned()));
        p
    };
    let Value::Object(mut map) = item else {
        return Err((
            at(&[]),
            format!("expected a mapping with `table` and one or more of: {STEP_KEYS}"),
        ));
    };
    let table = match map.remove("table") {
        Some(Value::String(table)) if !table.trim().is_empty() => table,
        Some(_) => {
            return Err((
                at(&["table"]),
                "expected a table name or pattern, e.g. `shop.orders` or `shop.*`".into(),
            ));
        }
        None => return Err((at(&[]), "missing key `table`".into())),
    };
    let entries = in_written_order(map, &at(&[]), order);
    if entries.is_empty() {
        return Err((at(&[]), format!("no step: add one of {STEP_KEYS}")));
    }
    let mut steps = Vec::with_capacity(entries.len());
    let mut keys = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let ordered = |inner: &str| order.get(&at(&[&key, inner])).copied();
        let (name, step) = match key.as_str() {
            "validate" => {
                let conditions = strings(value).ok_or_else(|| {
                    (
                        at(&["validate"]),
                        "expected a condition or a list of conditions".into(),
                    )
                })?;
                for (n, text) in conditions.iter().enumerate() {
                    expression(text, at(&["validate", &n.to_string()]))?;
                }
                ("validate", StepSpec::Validate(conditions))
            }
            "filter" => {
                let Value::String(text) = value else {
                    return Err((at(&["filter"]), "expected a condition".into()));
                };
                expression(&text, at(&["filter"]))?;
                ("filter", StepSpec::Filter(text))
            }
            "derive" => {
                let columns = pairs(value, &ordered, at(&["derive"]), "column: expression")?;
                for (column, text) in &columns {
                    expression(text, at(&["derive", column]))?;
                }
                ("derive", StepSpec::Derive(columns))
            }
            "mask" => {
                let columns = pairs(value, &ordered, at(&["mask"]), "column: mask")?;
                for (column, mask) in &columns {
                    Mask::parse(mask).map_err(|m| (at(&["mask", column]), m))?;
                }
                ("mask", StepSpec::Mask(columns))
            }
            "rename" => (
                "rename",
                StepSpec::Rename(pairs(value, &ordered, at(&["rename"]), "from: to")?),
            ),
            "drop" => {
                let columns = strings(value).ok_or_else(|| {
                    (
                        at(&["drop"]),
                        "expected a column or a list of columns".into(),
                    )
                })?;
                ("drop", StepSpec::Drop(columns))
            }
            "to" => match value {
                Value::String(table) if !table.trim().is_empty() => ("to", StepSpec::To(table)),
                _ => return Err((at(&["to"]), "expected the target table's name".into())),
            },
            other => {
                return Err((
                    at(&[other]),
                    format!("unknown key `{other}`, expected `table` or one of: {STEP_KEYS}"),
                ));
            }
        };
        keys.push(name);
        steps.push(step);
    }
    Ok(TransformConfig {
        line: lines.get(&at(&[])).copied().unwrap_or(0),
        table,
        steps,
        index,
        keys,
    })
}

/// A string or a list of strings.
fn strings(value: Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s]),
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// A mapping of strings, in the order written.
fn pairs(
    value: Value,
    ordered: &dyn Fn(&str) -> Option<usize>,
    at: KeyPath,
    shape: &str,
) -> Result<Vec<(String, String)>, Problem> {
    let Value::Object(map) = value else {
        return Err((at, format!("expected a mapping of `{shape}`")));
    };
    let mut pairs = Vec::with_capacity(map.len());
    for (key, value) in map {
        let text = match value {
            Value::String(s) => s,
            // `n: 1.2` or `flag: true` are expressions too.
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                let mut at = at.clone();
                at.push(key);
                return Err((at, format!("expected a string (`{shape}`)")));
            }
        };
        pairs.push((key, text));
    }
    pairs.sort_by_key(|(key, _)| ordered(key).unwrap_or(usize::MAX));
    Ok(pairs)
}

fn expression(text: &str, at: KeyPath) -> Result<(), Problem> {
    check_syntax(text).map_err(|e| (at, e.to_string()))
}

/// The key path of a transform's step: `transforms.N.<key>`.
pub fn step_path(transform: &TransformConfig, step: usize) -> KeyPath {
    let mut at = path(&["transforms", &transform.index.to_string()]);
    if let Some(key) = transform.keys.get(step) {
        at.push((*key).to_owned());
    }
    at
}

/// Why the transforms for a table cannot be compiled, with the key path
/// of the failing step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainProblem {
    pub path: KeyPath,
    /// The transform's `at()`.
    pub at: String,
    pub message: String,
}

impl fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.path.join(".");
        match self.at.split_once(": ") {
            Some((line, _)) => write!(f, "{line}: {key}: {}", self.message),
            None => write!(f, "{key}: {}", self.message),
        }
    }
}

/// The chain of every transform that applies to `table`, in file order;
/// `None` when none applies.
pub fn chain_for(
    transforms: &[TransformConfig],
    table: &TableSchema,
    mask_key: Option<&MaskKey>,
) -> Result<Option<Chain>, ChainProblem> {
    let applying: Vec<&TransformConfig> = transforms
        .iter()
        .filter(|t| t.applies_to(&table.name))
        .collect();
    if applying.is_empty() {
        return Ok(None);
    }
    // Each spec remembers its transform and step, to name them on error.
    let mut specs = Vec::new();
    let mut origin = Vec::new();
    for transform in &applying {
        for (n, step) in transform.steps.iter().enumerate() {
            specs.push(step.clone());
            origin.push((*transform, n));
        }
    }
    let key = mask_key.map(|k| k.0.as_bytes());
    let faker = watershed_datagen::GenFaker::default();
    Chain::compile_with(&specs, table, key, Some(&faker))
        .map(Some)
        .map_err(|e| {
            let (transform, step) = origin[e.step];
            let mut path = step_path(transform, step);
            // Name the condition or column whose expression failed.
            if let ChainError::Expression(failed) = &e.error {
                let entry = match &transform.steps[step] {
                    StepSpec::Validate(texts) => texts
                        .iter()
                        .position(|t| *t == failed.expression)
                        .map(|n| n.to_string()),
                    StepSpec::Derive(columns) => columns
                        .iter()
                        .find(|(_, t)| *t == failed.expression)
                        .map(|(c, _)| c.clone()),
                    _ => None,
                };
                path.extend(entry);
            }
            ChainProblem {
                path,
                at: transform.at(),
                message: format!(
                    "table {}: {}",
                    table.name,
                    strip_table(&e.error.to_string())
                ),
            }
        })
}

/// `table x: message` → `message` (the caller names the table).
fn strip_table(message: &str) -> &str {
    match message.strip_prefix("table ") {
        Some(rest) => rest.split_once(": ").map_or(message, |(_, m)| m),
        None => message,
    }
}

/// Checks the transforms against the tables a source declares: every
/// transform must apply to one, and every table's chain must compile.
pub(super) fn check_against(
    transforms: &[TransformConfig],
    tables: &[TableSchema],
    mask_key: Option<&MaskKey>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for transform in transforms {
        if !tables.iter().any(|t| transform.applies_to(&t.name)) {
            let names: Vec<String> = tables.iter().map(|t| t.name.to_string()).collect();
            problems.push((
                path(&["transforms", &transform.index.to_string(), "table"]),
                format!(
                    "`{}` names no table the source produces (it produces: {})",
                    transform.table,
                    names.join(", ")
                ),
            ));
        }
    }
    for table in tables {
        if let Err(problem) = chain_for(transforms, table, mask_key) {
            problems.push((problem.path, problem.message));
        }
    }
    problems
}

#[cfg(test)]
mod tests;
