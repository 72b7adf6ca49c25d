//! `stale:`: per table, a key column watched for silence. Read and checked
//! here; type-checked against the table where the source declares it
//! without I/O, otherwise when the table first appears.

use serde::Serialize;
use serde_json::Value;
use watershed_events::{TableName, TableSchema};
use watershed_transforms::aggregate::parse_duration;
use watershed_transforms::stale::{StaleError, StaleSpec, Watch};

use super::error::{Problem, names_table};
use super::yaml::{KeyOrder, LineIndex, in_written_order};

const KEYS: &str = "key, on, after, table, clock";

/// One item of `stale:`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaleConfig {
    /// The watched table (`table` or `schema.table`), as written.
    pub from: String,
    pub key: String,
    pub on: String,
    pub after_ms: i64,
    pub table: String,
    /// `stream` (the newest event time) or `wall`.
    pub clock: &'static str,
    #[serde(skip)]
    pub line: usize,
}

impl StaleConfig {
    pub fn spec(&self) -> StaleSpec {
        StaleSpec {
            key: self.key.clone(),
            on: self.on.clone(),
            after: self.after_ms * 1000,
            table: self.table.clone(),
            wall_clock: self.clock == "wall",
        }
    }

    /// Whether it watches `table` (matched as `transforms` are).
    pub fn watches(&self, table: &TableName) -> bool {
        names_table(&self.from, table)
    }

    /// The scope its state is kept under in the sink.
    pub fn scope(&self) -> String {
        format!("stale:{}", self.table)
    }

    pub fn compile(&self, input: &TableSchema) -> Result<Watch, String> {
        Watch::compile(&self.spec(), input).map_err(|e| self.problem(&e, input))
    }

    pub fn rebind(&self, watch: Watch, input: &TableSchema) -> Result<Watch, String> {
        watch.rebind(input).map_err(|e| self.problem(&e, input))
    }

    fn problem(&self, e: &StaleError, input: &TableSchema) -> String {
        let at = format!("stale.{}.{}", self.from, e.key);
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

/// Reads `stale:`, in the order written.
pub(super) fn parse(
    value: Value,
    lines: &LineIndex,
    order: &KeyOrder,
) -> Result<Vec<StaleConfig>, Problem> {
    let Value::Object(map) = value else {
        return Err((
            vec!["stale".into()],
            format!("expected a mapping of tables to {{ {KEYS} }}"),
        ));
    };
    in_written_order(map, &["stale".to_owned()], order)
        .into_iter()
        .map(|(from, value)| {
            let at = |key: &str| {
                let mut path = vec!["stale".to_owned(), from.clone()];
                if !key.is_empty() {
                    path.push(key.to_owned());
                }
                path
            };
            let Value::Object(mut map) = value else {
                return Err((at(""), format!("expected a mapping with {KEYS}")));
            };
            let mut text = |key: &str| match map.remove(key) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
                Some(_) => Err((at(key), "expected a name".to_owned())),
                None => Err((at(""), format!("missing key `{key}`"))),
            };
            let key = text("key")?;
            let on = text("on")?;
            let table = text("table")?;
            let after = match map.remove("after") {
                Some(Value::String(s)) => parse_duration(&s).map_err(|m| (at("after"), m))?,
                Some(other) => {
                    return Err((
                        at("after"),
                        format!("`{other}` is not a duration (e.g. 30s, 5m, 1h)"),
                    ));
                }
                None => return Err((at(""), "missing key `after`".into())),
            };
            let clock = match map.remove("clock") {
                None => "stream",
                Some(Value::String(s)) if s == "stream" => "stream",
                Some(Value::String(s)) if s == "wall" => "wall",
                Some(_) => return Err((at("clock"), "expected `stream` or `wall`".into())),
            };
            if let Some(unknown) = map.keys().next() {
                return Err((
                    at(unknown),
                    format!("unknown key `{unknown}`, expected one of: {KEYS}"),
                ));
            }
            if !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err((at("table"), "a table name: letters, digits and `_`".into()));
            }
            Ok(StaleConfig {
                line: lines.get(&at("")).copied().unwrap_or(0),
                from,
                key,
                on,
                after_ms: after / 1000,
                table,
                clock,
            })
        })
        .collect()
}
