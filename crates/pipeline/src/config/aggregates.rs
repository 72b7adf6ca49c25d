//! `aggregates:`: target tables kept as windowed aggregates of a table's
//! changes (after its transforms). Read and checked here: durations,
//! windows, measures that are aggregate functions; type-checked against
//! the table where the source declares it without I/O, otherwise when the
//! table first appears.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};
use watershed_events::{TableName, TableSchema};
use watershed_transforms::aggregate::{
    Aggregate, AggregateError, AggregateSpec, WindowSpec, check_measure, parse_duration,
};

use super::error::{KeyPath, Problem, key_path as path, names_table};
use super::yaml::{KeyOrder, LineIndex, in_written_order};

const KEYS: &str = "from, window, group_by, measures, lateness";

/// One item of `aggregates:`.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateConfig {
    pub spec: AggregateSpec,
    /// The table whose changes it aggregates: `table` or `schema.table`.
    pub from: String,
    /// The line its name is on (0 when not from a file).
    pub line: usize,
}

impl AggregateConfig {
    /// Whether it reads `table`'s changes (matched as `transforms` are).
    pub fn reads(&self, table: &TableName) -> bool {
        names_table(&self.from, table)
    }

    /// The scope its state is kept under in the sink.
    pub fn scope(&self) -> String {
        format!("aggregate:{}", self.spec.name)
    }

    /// Compiles it against the (transformed) table it reads; the error
    /// names the line and key.
    pub fn compile(&self, input: &TableSchema) -> Result<Aggregate, String> {
        Aggregate::compile(&self.spec, input).map_err(|e| self.problem(&e, input))
    }

    /// `aggregate` compiled against a new shape of its table, its open
    /// groups kept.
    pub fn rebind(&self, aggregate: Aggregate, input: &TableSchema) -> Result<Aggregate, String> {
        aggregate
            .rebind(&self.spec, input)
            .map_err(|e| self.problem(&e, input))
    }

    fn problem(&self, e: &AggregateError, input: &TableSchema) -> String {
        let at = format!("aggregates.{}.{}", self.spec.name, e.key);
        if self.line == 0 {
            format!("{at}: table {}: {}", input.name, e.message)
        } else {
            format!(
                "line {}: {at}: table {}: {}",
                self.line, input.name, e.message
            )
        }
    }
}

impl Serialize for AggregateConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("from", &self.from)?;
        if let Some(window) = &self.spec.window {
            let mut w = serde_json::json!({ "on": window.on, "size_ms": window.size / 1000 });
            if let Some(every) = window.every {
                w["every_ms"] = (every / 1000).into();
            }
            map.serialize_entry("window", &w)?;
        }
        map.serialize_entry("group_by", &self.spec.group_by)?;
        let measures: Vec<String> = self
            .spec
            .measures
            .iter()
            .map(|(name, expr)| format!("{name}: {expr}"))
            .collect();
        map.serialize_entry("measures", &measures)?;
        if let Some(lateness) = self.spec.lateness {
            map.serialize_entry("lateness_ms", &(lateness / 1000))?;
        }
        map.end()
    }
}

/// Reads `aggregates:`, a mapping of target table names to aggregates,
/// in the order written.
pub(super) fn parse(
    value: Value,
    lines: &LineIndex,
    order: &KeyOrder,
) -> Result<Vec<AggregateConfig>, Problem> {
    let Value::Object(map) = value else {
        return Err((
            path(&["aggregates"]),
            format!("expected a mapping of target table names to {{ {KEYS} }}"),
        ));
    };
    in_written_order(map, &path(&["aggregates"]), order)
        .into_iter()
        .map(|(name, value)| parse_one(name, value, lines, order))
        .collect()
}

fn parse_one(
    name: String,
    value: Value,
    lines: &LineIndex,
    order: &KeyOrder,
) -> Result<AggregateConfig, Problem> {
    let at = |keys: &[&str]| {
        let mut p = path(&["aggregates", &name]);
        p.extend(keys.iter().map(|s| (*s).to_owned()));
        p
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err((
            at(&[]),
            "a target table name: letters, digits and `_`".into(),
        ));
    }
    let Value::Object(mut map) = value else {
        return Err((at(&[]), format!("expected a mapping with {KEYS}")));
    };
    let from = match map.remove("from") {
        Some(Value::String(from)) if !from.trim().is_empty() => from,
        Some(_) => return Err((at(&["from"]), "expected the table to aggregate".into())),
        None => {
            return Err((
                at(&[]),
                "missing key `from` (the table to aggregate)".into(),
            ));
        }
    };
    let window = match map.remove("window") {
        None | Some(Value::Null) => None,
        Some(Value::Object(window)) => Some(parse_window(window, &at)?),
        Some(_) => {
            return Err((
                at(&["window"]),
                "expected { tumbling: 1h, on: ts } or { hopping: 1h, every: 15m, on: ts }".into(),
            ));
        }
    };
    let group_by = match map.remove("group_by") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(column)) => vec![column],
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err((at(&["group_by"]), "expected column names".into())),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err((at(&["group_by"]), "expected column names".into())),
    };
    let measures = match map.remove("measures") {
        Some(Value::Object(measures)) => {
            let mut pairs: Vec<(String, String)> = Vec::with_capacity(measures.len());
            for (measure, expr) in measures {
                let Value::String(expr) = expr else {
                    return Err((
                        at(&["measures", &measure]),
                        "expected an aggregate, e.g. \"avg(heart_rate)\"".into(),
                    ));
                };
                check_measure(&expr)
                    .map_err(|m| (at(&["measures", &measure]), format!("`{expr}`: {m}")))?;
                pairs.push((measure, expr));
            }
            pairs.sort_by_key(|(measure, _)| {
                order
                    .get(&at(&["measures", measure]))
                    .copied()
                    .unwrap_or(usize::MAX)
            });
            pairs
        }
        None => return Err((at(&[]), "missing key `measures`".into())),
        Some(_) => {
            return Err((
                at(&["measures"]),
                "expected a mapping of column names to aggregates".into(),
            ));
        }
    };
    if measures.is_empty() {
        return Err((at(&["measures"]), "name at least one measure".into()));
    }
    let lateness = match map.remove("lateness") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            Some(parse_duration(&text).map_err(|m| (at(&["lateness"]), m))?)
        }
        Some(_) => return Err((at(&["lateness"]), "expected a duration, e.g. 10m".into())),
    };
    if lateness.is_some() && window.is_none() {
        return Err((
            at(&["lateness"]),
            "applies to windows only; running totals take every row".into(),
        ));
    }
    if group_by.is_empty() && window.is_none() {
        return Err((
            at(&["group_by"]),
            "needs at least one column, or a window".into(),
        ));
    }
    if let Some(key) = map.keys().next() {
        return Err((
            at(&[key]),
            format!("unknown key `{key}`, expected one of: {KEYS}"),
        ));
    }
    Ok(AggregateConfig {
        line: lines.get(&at(&[])).copied().unwrap_or(0),
        spec: AggregateSpec {
            name,
            window,
            group_by,
            measures,
            lateness,
        },
        from,
    })
}

fn parse_window(
    mut window: Map<String, Value>,
    at: &dyn Fn(&[&str]) -> KeyPath,
) -> Result<WindowSpec, Problem> {
    let duration = |window: &mut Map<String, Value>, key: &str| -> Result<Option<i64>, Problem> {
        match window.remove(key) {
            None => Ok(None),
            Some(Value::String(text)) => parse_duration(&text)
                .map(Some)
                .map_err(|m| (at(&["window", key]), m)),
            Some(_) => Err((at(&["window", key]), "expected a duration, e.g. 1h".into())),
        }
    };
    let tumbling = duration(&mut window, "tumbling")?;
    let hopping = duration(&mut window, "hopping")?;
    let every = duration(&mut window, "every")?;
    let on = match window.remove("on") {
        Some(Value::String(on)) => on,
        _ => {
            return Err((
                at(&["window"]),
                "missing key `on` (the event-time column)".into(),
            ));
        }
    };
    if let Some(key) = window.keys().next() {
        return Err((
            at(&["window", key]),
            format!("unknown key `{key}`, expected tumbling, hopping, every, on"),
        ));
    }
    match (tumbling, hopping, every) {
        (Some(size), None, None) => Ok(WindowSpec {
            size,
            every: None,
            on,
        }),
        (None, Some(size), Some(every)) if every <= size => Ok(WindowSpec {
            size,
            every: Some(every),
            on,
        }),
        (None, Some(_), Some(_)) => Err((
            at(&["window", "every"]),
            "must not be longer than the window".into(),
        )),
        (None, Some(_), None) => Err((
            at(&["window"]),
            "a hopping window needs `every` (how often one starts)".into(),
        )),
        (Some(_), _, Some(_)) => Err((
            at(&["window", "every"]),
            "applies to hopping windows only".into(),
        )),
        _ => Err((
            at(&["window"]),
            "expected one of `tumbling: 1h` or `hopping: 1h, every: 15m`".into(),
        )),
    }
}
