//! Windowed aggregates over a table's changes: one target row per group
//! and window (tumbling, hopping, or none for running totals), kept up to
//! date as changes arrive. An insert adds its row, a delete retracts it,
//! an update does both, so the target always equals a `GROUP BY` over the
//! rows applied. Rows whose event time is more than `lateness` behind the
//! newest seen are refused as late; windows that no row can reach any
//! more are closed and their state forgotten, which bounds memory.
//!
//! The state of every open group is written to the sink beside the batch
//! that changed it ([`Aggregate::finish`] hands out what to write), and
//! read back when a pipeline starts ([`Aggregate::restore`]), so a killed
//! pipeline resumes exactly where its last commit left it.

mod measure;

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;
use std::sync::Arc;

use serde_json::{Value as Json, json};
use watershed_events::{Change, ChangeOp, Column, LogicalType, Row, TableName, TableSchema};

use crate::expr::datum::{Datum, Type};
use crate::expr::{Compiled, EvalContext, compile};

pub use measure::Func;

/// An aggregate as a pipeline file states it (durations in microseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateSpec {
    /// The target table's name.
    pub name: String,
    pub window: Option<WindowSpec>,
    pub group_by: Vec<String>,
    /// `name: expression`, e.g. `avg_hr: avg(heart_rate)`, in order.
    pub measures: Vec<(String, String)>,
    /// How far behind the newest event time a row may be and still count.
    pub lateness: Option<i64>,
}

/// `window: { tumbling: 1h, on: ts }` or `{ hopping: 1h, every: 15m, on: ts }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowSpec {
    pub size: i64,
    /// Hopping windows start every this long; `None`: tumbling.
    pub every: Option<i64>,
    /// The event-time column.
    pub on: String,
}

/// Why an aggregate cannot be built: the key at fault (`measures.avg_hr`,
/// `group_by`, `window.on`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct AggregateError {
    pub key: String,
    pub message: String,
}

/// Checks a measure's spelling before any table is known.
pub fn check_measure(text: &str) -> Result<(), String> {
    measure::parse(text).map(drop)
}

/// Reads `1h`, `15m`, `30s`, `500ms`, `2d` as microseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let count: i64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 30s, 10m, 1h, 1d)"))?;
    let micros: i64 = match unit.trim() {
        "ms" => 1_000,
        "s" => 1_000_000,
        "m" | "min" => 60_000_000,
        "h" => 3_600_000_000,
        "d" => 86_400_000_000,
        _ => {
            return Err(format!(
                "`{text}` is not a duration (e.g. 30s, 10m, 1h, 1d)"
            ));
        }
    };
    match count.checked_mul(micros) {
        Some(total) if total > 0 => Ok(total),
        _ => Err(format!("`{text}` must be a positive duration")),
    }
}

/// An argument some measures read (`heart_rate` for avg, min, max and
/// stddev alike): evaluated once per row, its state kept once per group.
struct Arg {
    expr: Compiled,
    ty: Type,
    needs: measure::Needs,
}

struct Measure {
    func: Func,
    /// Its argument, by position in `args`; `None` for `count(*)`.
    arg: Option<usize>,
}

/// One group in one window.
struct Group {
    values: Vec<Datum>,
    start: Option<i64>,
    rows: i64,
    /// Per argument.
    args: Vec<measure::State>,
}

/// A row (an image of a change) the aggregate refuses, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub row: Row,
    pub reason: String,
}

/// What committing a source transaction asks of the sink.
#[derive(Debug, Default)]
pub struct Finished {
    /// Upserts and deletes of the target rows of the groups it touched.
    pub changes: Vec<Change>,
    /// State rows to write (`Some`) or delete (`None`), by key.
    pub state: Vec<(String, Option<String>)>,
}

/// An aggregate compiled against its input table, with its open groups.
pub struct Aggregate {
    name: String,
    output: Arc<TableSchema>,
    group: Vec<usize>,
    /// The event-time column and its type.
    on: Option<(usize, Type)>,
    window: Option<WindowSpec>,
    lateness: Option<i64>,
    measures: Vec<Measure>,
    args: Vec<Arg>,
    groups: HashMap<String, Group>,
    /// Open windows by end, to close them as the event time moves on.
    closing: BTreeSet<(i64, String)>,
    watermark: Option<i64>,
    watermark_moved: bool,
    /// Groups changed in the open transaction, and whether they had rows
    /// before it.
    touched: HashMap<String, bool>,
    /// The groups of each state row (see [`bucket_of`]).
    members: HashMap<String, BTreeSet<String>>,
}

const WATERMARK_KEY: &str = "_watermark";

impl Aggregate {
    /// Compiles `spec` against the table it reads.
    pub fn compile(spec: &AggregateSpec, input: &TableSchema) -> Result<Aggregate, AggregateError> {
        let error = |key: &str, message: String| AggregateError {
            key: key.to_owned(),
            message,
        };
        if spec.group_by.is_empty() && spec.window.is_none() {
            return Err(error(
                "group_by",
                "needs at least one column, or a window".into(),
            ));
        }
        let mut columns = Vec::new();
        let mut group = Vec::new();
        for name in &spec.group_by {
            let i = input.column_index(name).ok_or_else(|| {
                error(
                    "group_by",
                    format!("no column `{name}` in table {}", input.name),
                )
            })?;
            Type::of(&input.columns[i].logical_type).ok_or_else(|| {
                error("group_by", format!("column `{name}` cannot be grouped by"))
            })?;
            let mut column = input.columns[i].clone();
            column.nullable = false;
            columns.push(column);
            group.push(i);
        }
        let mut key: Vec<String> = spec.group_by.clone();
        let on = match &spec.window {
            None => None,
            Some(window) => {
                let i = input.column_index(&window.on).ok_or_else(|| {
                    error(
                        "window.on",
                        format!("no column `{}` in table {}", window.on, input.name),
                    )
                })?;
                let logical = &input.columns[i].logical_type;
                let ty = match Type::of(logical) {
                    Some(ty @ (Type::Timestamp | Type::DateTime)) => ty,
                    _ => {
                        return Err(error(
                            "window.on",
                            format!("`{}` is not a timestamp column", window.on),
                        ));
                    }
                };
                if let Some(every) = window.every
                    && every > window.size
                {
                    return Err(error(
                        "window.every",
                        "must not be longer than the window (rows would fall between windows)"
                            .into(),
                    ));
                }
                let time = match ty {
                    Type::Timestamp => LogicalType::Timestamp { fsp: 6 },
                    _ => LogicalType::DateTime { fsp: 6 },
                };
                columns.push(Column::new("window_start", time.clone(), false));
                columns.push(Column::new("window_end", time, false));
                key.push("window_start".into());
                Some((i, ty))
            }
        };
        let mut measures = Vec::new();
        let mut args: Vec<Arg> = Vec::new();
        for (name, text) in &spec.measures {
            let at = format!("measures.{name}");
            if columns.iter().any(|c| c.name == *name) {
                return Err(error(&at, format!("`{name}` is a column already")));
            }
            let (func, arg_text) =
                measure::parse(text).map_err(|m| error(&at, format!("`{text}`: {m}")))?;
            let (arg, logical) = match arg_text {
                None => (None, LogicalType::Int64),
                Some(arg_text) => {
                    let arg = compile(&arg_text, input).map_err(|e| error(&at, e.to_string()))?;
                    let ty = arg.ty();
                    let numeric = ty.is_numeric() || ty == Type::Null;
                    let ok = match func {
                        Func::Count | Func::CountStar => true,
                        Func::Min | Func::Max => ty != Type::Interval,
                        _ => numeric,
                    };
                    if !ok {
                        return Err(error(
                            &at,
                            format!("`{text}`: cannot aggregate {ty} this way"),
                        ));
                    }
                    // min/max of a plain column keep its type exactly.
                    let logical = match (func, arg.columns().as_slice()) {
                        (Func::Min | Func::Max, [i])
                            if arg_text.trim() == input.columns[*i].name =>
                        {
                            input.columns[*i].logical_type.clone()
                        }
                        _ => logical_type(func.result_type(ty)),
                    };
                    let at = match args.iter().position(|a| a.expr.text() == arg.text()) {
                        Some(at) => at,
                        None => {
                            args.push(Arg {
                                expr: arg,
                                ty,
                                needs: measure::Needs::default(),
                            });
                            args.len() - 1
                        }
                    };
                    args[at].needs.add(func);
                    (Some(at), logical)
                }
            };
            let nullable = !matches!(func, Func::Count | Func::CountStar);
            columns.push(Column::new(name, logical, nullable));
            measures.push(Measure { func, arg });
        }
        let output = TableSchema {
            name: TableName::new(None, &spec.name),
            columns,
            primary_key: key,
            indexes: vec![],
            version: 1,
            foreign_keys: vec![],
            comment: Some(format!("aggregate of {} (watershed)", input.name)),
        };
        Ok(Aggregate {
            name: spec.name.clone(),
            output: Arc::new(output),
            group,
            on,
            window: spec.window.clone(),
            lateness: spec.lateness,
            measures,
            args,
            groups: HashMap::new(),
            closing: BTreeSet::new(),
            watermark: None,
            watermark_moved: false,
            touched: HashMap::new(),
            members: HashMap::new(),
        })
    }

    /// The aggregate compiled against a new shape of its table, keeping
    /// its open groups (their values stay what they were).
    pub fn rebind(
        self,
        spec: &AggregateSpec,
        input: &TableSchema,
    ) -> Result<Aggregate, AggregateError> {
        let mut next = Aggregate::compile(spec, input)?;
        if next.group.len() == self.group.len() && next.args.len() == self.args.len() {
            next.groups = self.groups;
            next.closing = self.closing;
            next.watermark = self.watermark;
            next.watermark_moved = self.watermark_moved;
            next.touched = self.touched;
            next.members = self.members;
        }
        Ok(next)
    }

    /// The target table.
    pub fn output(&self) -> &Arc<TableSchema> {
        &self.output
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Groups currently open (in memory).
    pub fn open_groups(&self) -> usize {
        self.groups.len()
    }

    /// Adds a change's new row and retracts its old one; returns the
    /// images refused (late, no event time, a NULL group value, an
    /// argument that failed to evaluate).
    pub fn apply(&mut self, change: &Change, cx: &EvalContext) -> Vec<Refused> {
        let mut refused = Vec::new();
        if change.op == ChangeOp::Truncate {
            let keys: Vec<String> = self.groups.keys().cloned().collect();
            for key in keys {
                self.touch(&key);
                if let Some(group) = self.groups.get_mut(&key) {
                    group.rows = 0;
                    group.args.iter_mut().for_each(|m| *m = Default::default());
                }
            }
            return refused;
        }
        let images = [
            (
                change
                    .before
                    .as_ref()
                    .filter(|_| change.op != ChangeOp::Insert),
                -1,
            ),
            (
                change
                    .after
                    .as_ref()
                    .filter(|_| change.op != ChangeOp::Delete),
                1,
            ),
        ];
        for (row, sign) in images {
            let Some(row) = row else { continue };
            if let Err(reason) = self.image(row, sign, cx) {
                refused.push(Refused {
                    row: row.clone(),
                    reason,
                });
            }
        }
        refused
    }

    fn image(&mut self, row: &Row, sign: i64, cx: &EvalContext) -> Result<(), String> {
        let time = match self.on {
            None => None,
            Some((i, _)) => {
                let datum = row
                    .get(i)
                    .and_then(Datum::from_value)
                    .unwrap_or(Datum::Null);
                match datum.to_micros() {
                    Some(t) => Some(t),
                    None => {
                        let on = self.window.as_ref().map_or("", |w| w.on.as_str());
                        return Err(format!("no event time: `{on}` is NULL"));
                    }
                }
            }
        };
        let mut values = Vec::with_capacity(self.group.len());
        for (n, &i) in self.group.iter().enumerate() {
            let datum = row
                .get(i)
                .and_then(Datum::from_value)
                .unwrap_or(Datum::Null);
            if matches!(datum, Datum::Null) {
                return Err(format!(
                    "group_by column `{}` is NULL",
                    self.output.columns[n].name
                ));
            }
            values.push(datum);
        }
        let mut args = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            args.push(arg.expr.eval_datum(row, cx).map_err(|e| e.to_string())?);
        }
        let starts = match (time, &self.window) {
            (Some(t), Some(window)) => {
                if let (Some(lateness), Some(newest)) = (self.lateness, self.watermark)
                    && t < newest - lateness
                {
                    return Err(format!(
                        "late: event time {} is more than {} behind the newest, {}",
                        show_time(t),
                        show_span(lateness),
                        show_time(newest)
                    ));
                }
                windows(t, window)
            }
            _ => vec![None],
        };
        let mut keys = Vec::with_capacity(starts.len());
        for start in &starts {
            let key = key(&values, *start);
            if sign < 0 && self.groups.get(&key).is_none_or(|g| g.rows <= 0) {
                return Err(
                    "retracts a row the aggregate does not hold (its window was closed)".into(),
                );
            }
            keys.push(key);
        }
        if sign > 0
            && let Some(t) = time
            && self.watermark.is_none_or(|w| t > w)
        {
            self.watermark = Some(t);
            self.watermark_moved = true;
        }
        for (key, start) in keys.into_iter().zip(starts) {
            let specs = &self.args;
            let group = match self.groups.get_mut(&key) {
                Some(group) => {
                    self.touched.entry(key).or_insert(group.rows > 0);
                    group
                }
                None => {
                    if let (Some(start), Some(window)) = (start, &self.window) {
                        self.closing.insert((start + window.size, key.clone()));
                    }
                    self.touched.entry(key.clone()).or_insert(false);
                    self.members
                        .entry(bucket_of(&key, start))
                        .or_default()
                        .insert(key.clone());
                    self.groups.entry(key).or_insert_with(|| Group {
                        values: values.clone(),
                        start,
                        rows: 0,
                        args: vec![measure::State::default(); specs.len()],
                    })
                }
            };
            group.rows += sign;
            for ((state, spec), value) in group.args.iter_mut().zip(specs).zip(&args) {
                state.apply(spec.needs, spec.ty, value, sign);
            }
        }
        Ok(())
    }

    fn touch(&mut self, key: &str) {
        if !self.touched.contains_key(key) {
            let had_rows = self.groups.get(key).is_some_and(|g| g.rows > 0);
            self.touched.insert(key.to_owned(), had_rows);
        }
    }

    /// Ends a source transaction: the target rows of the groups it
    /// touched, and the state to write with them; windows no row can
    /// reach any more are closed.
    pub fn finish(&mut self) -> Finished {
        let mut finished = Finished::default();
        // State rows to rewrite: one per bucket of groups a change touched.
        let mut dirty: BTreeSet<String> = BTreeSet::new();
        for (key, had_rows) in std::mem::take(&mut self.touched) {
            let Some(group) = self.groups.get(&key) else {
                continue;
            };
            dirty.insert(bucket_of(&key, group.start));
            if group.rows > 0 {
                let row = self.row(group);
                finished.changes.push(if had_rows {
                    Change::update(self.output.clone(), row.clone(), row)
                } else {
                    Change::insert(self.output.clone(), row)
                });
            } else {
                if had_rows {
                    finished
                        .changes
                        .push(Change::delete(self.output.clone(), self.row(group)));
                }
                self.forget(&key);
            }
        }
        if let (Some(lateness), Some(newest)) = (self.lateness, self.watermark) {
            // No row before this time is accepted any more.
            let horizon = newest - lateness;
            while let Some((end, key)) = self.closing.first().cloned() {
                if end > horizon {
                    break;
                }
                if let Some(group) = self.groups.get(&key) {
                    dirty.insert(bucket_of(&key, group.start));
                }
                self.forget(&key);
            }
        }
        for bucket in dirty {
            let value = match self.members.get(&bucket) {
                Some(keys) if !keys.is_empty() => {
                    let mut value = String::with_capacity(128 * keys.len());
                    value.push('[');
                    for (i, key) in keys.iter().enumerate() {
                        if let Some(group) = self.groups.get(key) {
                            if i > 0 {
                                value.push(',');
                            }
                            value.push_str(&self.state_json(group));
                        }
                    }
                    value.push(']');
                    Some(value)
                }
                _ => {
                    self.members.remove(&bucket);
                    None
                }
            };
            finished.state.push((bucket, value));
        }
        if std::mem::take(&mut self.watermark_moved)
            && let Some(newest) = self.watermark
        {
            finished
                .state
                .push((WATERMARK_KEY.to_owned(), Some(newest.to_string())));
        }
        finished
    }

    /// Drops a group from memory (its target row stays).
    fn forget(&mut self, key: &str) {
        let Some(group) = self.groups.remove(key) else {
            return;
        };
        if let (Some(start), Some(window)) = (group.start, &self.window) {
            self.closing.remove(&(start + window.size, key.to_owned()));
        }
        if let Some(keys) = self.members.get_mut(&bucket_of(key, group.start)) {
            keys.remove(key);
        }
    }

    /// Brings back the state [`Aggregate::finish`] handed out.
    pub fn restore(&mut self, rows: &[(String, String)]) -> Result<(), String> {
        for (bucket, value) in rows {
            if bucket == WATERMARK_KEY {
                self.watermark =
                    Some(value.parse().map_err(|_| {
                        format!("aggregate {}: bad watermark `{value}`", self.name)
                    })?);
                continue;
            }
            let unreadable = || format!("aggregate {}: unreadable state in {bucket}", self.name);
            let groups: Vec<Json> = serde_json::from_str(value).map_err(|_| unreadable())?;
            for json in &groups {
                let group = self.group_from_json(json).ok_or_else(unreadable)?;
                let key = key(&group.values, group.start);
                if let (Some(start), Some(window)) = (group.start, &self.window) {
                    self.closing.insert((start + window.size, key.clone()));
                }
                self.members
                    .entry(bucket_of(&key, group.start))
                    .or_default()
                    .insert(key.clone());
                self.groups.insert(key, group);
            }
        }
        Ok(())
    }

    fn row(&self, group: &Group) -> Row {
        let mut row: Row = group
            .values
            .iter()
            .map(|d| d.clone().into_value())
            .collect();
        if let (Some(start), Some(window), Some((_, ty))) = (group.start, &self.window, self.on) {
            let at = |micros| match ty {
                Type::Timestamp => Datum::Timestamp(micros),
                _ => Datum::DateTime(micros),
            };
            row.push(at(start).into_value());
            row.push(at(start + window.size).into_value());
        }
        for measure in &self.measures {
            let value = match measure.arg {
                None => Datum::Int(group.rows),
                Some(at) => {
                    row.push(group.args[at].value(measure.func, self.args[at].ty));
                    continue;
                }
            };
            row.push(value.into_value());
        }
        row
    }

    fn state_json(&self, group: &Group) -> String {
        let mut out = String::with_capacity(64 + 48 * group.args.len());
        out.push_str("{\"g\":[");
        for (i, value) in group.values.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{}", measure::encode(value));
        }
        let _ = write!(
            out,
            "],\"w\":{},\"r\":{},\"a\":[",
            json!(group.start),
            group.rows
        );
        for (i, (state, arg)) in group.args.iter().zip(&self.args).enumerate() {
            if i > 0 {
                out.push(',');
            }
            state.write_json(arg.needs, arg.ty, &mut out);
        }
        out.push_str("]}");
        out
    }

    fn group_from_json(&self, json: &Json) -> Option<Group> {
        let Json::Array(values) = json.get("g")? else {
            return None;
        };
        let states = json.get("a")?.as_array()?;
        if values.len() != self.group.len() || states.len() != self.args.len() {
            return None;
        }
        let values = values
            .iter()
            .zip(&self.output.columns)
            .map(|(v, column)| measure::decode(v, Type::of(&column.logical_type)?))
            .collect::<Option<Vec<_>>>()?;
        let args = states
            .iter()
            .zip(&self.args)
            .map(|(state, arg)| measure::State::from_json(state, arg.ty))
            .collect::<Option<Vec<_>>>()?;
        Some(Group {
            values,
            start: json.get("w")?.as_i64(),
            rows: json.get("r")?.as_i64()?,
            args,
        })
    }
}

/// The starts of the windows `t` falls in (epoch-aligned).
fn windows(t: i64, window: &WindowSpec) -> Vec<Option<i64>> {
    let every = window.every.unwrap_or(window.size);
    let last = t.div_euclid(every) * every;
    let mut starts = Vec::new();
    let mut start = last;
    while start > t - window.size {
        starts.push(Some(start));
        start -= every;
    }
    starts.reverse();
    starts
}

/// State rows per window (the groups of a window spread over this many
/// rows): a batch rewrites a few rows of many groups each, not one row per
/// group, which is what a database does fastest.
const BUCKETS: u64 = 64;

/// The state row a group is kept in: its window and a stable hash of its
/// key (FNV-1a, the same in every build, as rows outlive the binary).
fn bucket_of(key: &str, start: Option<i64>) -> String {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    match start {
        Some(start) => format!("{start}/{}", hash % BUCKETS),
        None => format!("all/{}", hash % BUCKETS),
    }
}

/// A group's key: its values and window start, as JSON text.
fn key(values: &[Datum], start: Option<i64>) -> String {
    let mut key = String::with_capacity(32);
    key.push_str("[[");
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            key.push(',');
        }
        match value {
            Datum::Int(n) => {
                let _ = write!(key, "{n}");
            }
            other => {
                let _ = write!(key, "{}", measure::encode(other));
            }
        }
    }
    match start {
        Some(start) => {
            let _ = write!(key, "],{start}]");
        }
        None => key.push_str("],null]"),
    }
    key
}

/// One value as a state key.
pub(crate) fn encode_key(value: &Datum) -> String {
    measure::encode(value).to_string()
}

pub(crate) fn encode_datum(value: &Datum) -> Json {
    measure::encode(value)
}

pub(crate) fn decode_datum(json: &Json, ty: Type) -> Option<Datum> {
    measure::decode(json, ty)
}

/// A value as a person reads it.
pub(crate) fn show_datum(value: &Datum) -> String {
    match value.clone().into_value() {
        watershed_events::Value::Text(s) => s.to_string(),
        watershed_events::Value::Int(n) => n.to_string(),
        watershed_events::Value::Decimal(d) => d.as_str().to_owned(),
        other => format!("{other:?}"),
    }
}

fn show_time(micros: i64) -> String {
    watershed_events::Timestamp::from_micros(micros).to_string()
}

fn show_span(micros: i64) -> String {
    let seconds = micros / 1_000_000;
    match seconds {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The column type a measure of `ty` is stored as.
fn logical_type(ty: Type) -> LogicalType {
    match ty {
        Type::Bool => LogicalType::Bool,
        Type::Int => LogicalType::Int64,
        Type::Float => LogicalType::Float64,
        Type::Date => LogicalType::Date,
        Type::DateTime => LogicalType::DateTime { fsp: 6 },
        Type::Timestamp => LogicalType::Timestamp { fsp: 6 },
        Type::Time => LogicalType::Time { fsp: 6 },
        Type::Text | Type::Interval | Type::Null => LogicalType::Text { charset: None },
        Type::Decimal => LogicalType::Decimal {
            precision: None,
            scale: None,
        },
    }
}

#[cfg(test)]
mod tests;
