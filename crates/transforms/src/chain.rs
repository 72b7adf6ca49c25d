//! A table's chain of row transforms — `validate`, `filter`, `derive`, `mask`,
//! `rename`, `drop`, `to` — compiled against the table's schema (each step
//! against the shape the steps before it leave) and applied to changes,
//! not rows: an update is its old image retracted and its new one added,
//! so a filter turns it into an insert, an update, a delete or nothing,
//! and a derived column is computed on both images so deletes and key
//! changes still find their row.

use std::sync::Arc;

use watershed_events::{Change, ChangeOp, Column, LogicalType, Row, TableName, TableSchema, Value};

use crate::expr::{Compiled, EvalContext, ExprError, Type, compile};
use crate::mask::{BoundMask, Faker, Keyed, Mask};

/// One step as a pipeline file states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepSpec {
    /// Conditions every new row must meet (unknown passes, as a `CHECK`).
    Validate(Vec<String>),
    /// Rows that do not meet it (unknown included, as `WHERE`) are left out.
    Filter(String),
    /// New columns, `name: expression`, in order.
    Derive(Vec<(String, String)>),
    /// Columns renamed, `from: to`.
    Rename(Vec<(String, String)>),
    Drop(Vec<String>),
    /// The target table's name.
    To(String),
    /// Columns masked, `column: mask` (`hash`, `redact`, `null`,
    /// `keep_last(N)`).
    Mask(Vec<(String, String)>),
}

/// Why a chain cannot be built for a table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Expression(#[from] ExprError),
    #[error("table {table}: {message}")]
    Shape { table: TableName, message: String },
}

/// A step that cannot be built, by its position in the specs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct StepError {
    /// The failing spec's index in what [`Chain::compile`] was given.
    pub step: usize,
    pub error: ChainError,
}

/// What a change becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Zero or more changes for the target.
    Changes(Vec<Change>),
    /// The change is refused: it goes to the dead letters with `reason`.
    Rejected { reason: String },
}

#[derive(Debug, Clone)]
enum Step {
    /// Conditions, the shape they read, and which of its columns a reason
    /// may show (those not masked anywhere in the chain, not derived).
    Validate(Vec<Compiled>, Arc<TableSchema>, Vec<bool>),
    Filter(Compiled),
    Derive(Vec<Compiled>),
    /// The columns kept, by their position in the input.
    Keep(Vec<usize>),
    /// Columns masked by position, and the `hash` key.
    Mask(Vec<(usize, BoundMask)>, Arc<Keyed>),
}

/// A compiled chain and the schema it produces.
#[derive(Debug, Clone)]
pub struct Chain {
    steps: Vec<Step>,
    output: Arc<TableSchema>,
    /// Input columns some step masks, with the mask: applied to an input
    /// row before it is shown anywhere (a rejected row's dead letter).
    input_masks: Vec<(usize, BoundMask)>,
    /// `hash`'s key.
    key: Arc<Keyed>,
    /// Each step's expressions and their types, for `watershed validate`.
    described: Vec<String>,
}

impl Chain {
    /// Compiles `specs` against `input`, in order; `mask_key` is the key
    /// `hash` masks with (the pipeline's `mask_key`).
    pub fn compile(
        specs: &[StepSpec],
        input: &TableSchema,
        mask_key: Option<&[u8]>,
    ) -> Result<Chain, StepError> {
        Self::compile_with(specs, input, mask_key, None)
    }

    /// [`Chain::compile`], with the generators `mask: fake` draws from.
    pub fn compile_with(
        specs: &[StepSpec],
        input: &TableSchema,
        mask_key: Option<&[u8]>,
        faker: Option<&dyn Faker>,
    ) -> Result<Chain, StepError> {
        let mut shape = Shape {
            schema: input.clone(),
            origin: (0..input.columns.len()).map(Some).collect(),
            input_masks: Vec::new(),
        };
        let mut steps = Vec::with_capacity(specs.len());
        let mut described = Vec::with_capacity(specs.len());
        // Per validate step: the input position of each column it sees.
        let mut origins = Vec::new();
        for (index, spec) in specs.iter().enumerate() {
            let compiled = step(spec, &mut shape, mask_key, faker)
                .map_err(|error| StepError { step: index, error })?;
            described.push(describe(spec, compiled.as_ref()));
            if matches!(compiled, Some(Step::Validate(..))) {
                origins.push(shape.origin.clone());
            }
            steps.extend(compiled);
        }
        // A reason shows a column's value only when no step masks it.
        let validates = steps.iter_mut().filter_map(|s| match s {
            Step::Validate(_, _, shown) => Some(shown),
            _ => None,
        });
        for (shown, origin) in validates.zip(origins) {
            for (show, from) in shown.iter_mut().zip(origin) {
                *show = from.is_some_and(|i| !shape.input_masks.iter().any(|(m, _)| *m == i));
            }
        }
        Ok(Chain {
            steps,
            output: Arc::new(shape.schema),
            input_masks: shape.input_masks,
            key: Arc::new(Keyed::new(mask_key.unwrap_or_default())),
            described,
        })
    }

    /// Each step as text with its expressions' types, e.g.
    /// `derive: amount_with_vat = amount * 1.2 (numeric)`.
    pub fn describe(&self) -> &[String] {
        &self.described
    }

    /// An input row with every column the chain masks masked: what a
    /// rejected change may show of itself.
    pub fn redact_input(&self, row: &[Value]) -> Row {
        let mut row = row.to_vec();
        for (i, mask) in &self.input_masks {
            if let Some(value) = row.get_mut(*i) {
                *value = mask.apply_keyed(value, &self.key);
            }
        }
        row
    }

    /// Whether the chain masks any column.
    pub fn masks(&self) -> bool {
        !self.input_masks.is_empty()
    }

    /// The schema of the changes the chain emits.
    pub fn output(&self) -> &Arc<TableSchema> {
        &self.output
    }

    /// Applies the chain to one change of its input table.
    pub fn apply(&self, change: &Change, cx: &EvalContext) -> Outcome {
        // Room for derived columns up front: no reallocation per row.
        let width = self.output.columns.len().max(change.table.columns.len());
        let copy = |row: &Option<Row>| {
            row.as_ref().map(|row| {
                let mut copy = Vec::with_capacity(width);
                copy.extend_from_slice(row);
                copy
            })
        };
        let mut before = copy(&change.before);
        let mut after = copy(&change.after);
        let mut op = change.op;
        for step in &self.steps {
            match step {
                Step::Validate(conditions, shape, shown) => {
                    if let Some(row) = after.as_ref().filter(|_| op != ChangeOp::Delete)
                        && let Err(reason) = validate(conditions, row, cx, shape, shown)
                    {
                        return Outcome::Rejected { reason };
                    }
                }
                Step::Filter(condition) => {
                    let passes = |row: &Option<Row>| -> Result<bool, String> {
                        match row {
                            Some(row) => condition
                                .test(row, cx)
                                .map(|t| t == Some(true))
                                .map_err(|e| e.to_string()),
                            None => Ok(false),
                        }
                    };
                    let (old, new) = match (passes(&before), passes(&after)) {
                        (Ok(old), Ok(new)) => (old, new),
                        (Err(reason), _) | (_, Err(reason)) => {
                            return Outcome::Rejected { reason };
                        }
                    };
                    match retract_or_add(op, old, new) {
                        Some(next) => op = next,
                        None => return Outcome::Changes(Vec::new()),
                    }
                    if op == ChangeOp::Insert {
                        before = None;
                    }
                    if op == ChangeOp::Delete {
                        after = None;
                    }
                }
                Step::Derive(columns) => {
                    for row in [&mut before, &mut after].into_iter().flatten() {
                        if let Err(reason) = derive(columns, row, cx) {
                            return Outcome::Rejected { reason };
                        }
                    }
                }
                Step::Keep(positions) => {
                    for row in [&mut before, &mut after].into_iter().flatten() {
                        *row = positions.iter().map(|&i| row[i].clone()).collect();
                    }
                }
                Step::Mask(columns, key) => {
                    for row in [&mut before, &mut after].into_iter().flatten() {
                        for (i, mask) in columns {
                            row[*i] = mask.apply_keyed(&row[*i], key);
                        }
                    }
                }
            }
        }
        Outcome::Changes(vec![Change {
            table: self.output.clone(),
            op,
            before,
            after,
        }])
    }
}

/// The op an update, insert or delete becomes when its old image
/// (`old`) and new image (`new`) pass a filter or not; `None`: nothing.
fn retract_or_add(op: ChangeOp, old: bool, new: bool) -> Option<ChangeOp> {
    match (op, old, new) {
        (ChangeOp::Truncate, _, _) => Some(ChangeOp::Truncate),
        (ChangeOp::Insert, _, true) => Some(ChangeOp::Insert),
        (ChangeOp::Delete, true, _) => Some(ChangeOp::Delete),
        (ChangeOp::Update, true, true) => Some(ChangeOp::Update),
        (ChangeOp::Update, true, false) => Some(ChangeOp::Delete),
        (ChangeOp::Update, false, true) => Some(ChangeOp::Insert),
        _ => None,
    }
}

/// The first condition `row` fails, as the reason; an error evaluating one
/// is a reason too.
fn validate(
    conditions: &[Compiled],
    row: &Row,
    cx: &EvalContext,
    shape: &TableSchema,
    shown: &[bool],
) -> Result<(), String> {
    for condition in conditions {
        match condition.test(row, cx) {
            Ok(Some(false)) => {
                let shown = |i: usize| shown.get(i).copied().unwrap_or(false);
                return Err(condition.failure(row, shape, shown));
            }
            Ok(_) => {}
            Err(error) => return Err(error.to_string()),
        }
    }
    Ok(())
}

fn derive(columns: &[Compiled], row: &mut Row, cx: &EvalContext) -> Result<(), String> {
    for column in columns {
        let value = column.eval(row, cx).map_err(|e| e.to_string())?;
        row.push(value);
    }
    Ok(())
}

/// The table as the steps so far leave it, and where its columns came from.
struct Shape {
    schema: TableSchema,
    /// Per column: its position in the input, `None` when derived.
    origin: Vec<Option<usize>>,
    input_masks: Vec<(usize, BoundMask)>,
}

/// Compiles one step against `shape` and leaves `shape` as the step does;
/// `None` for steps that change only the schema (`rename`, `to`).
fn step(
    spec: &StepSpec,
    state: &mut Shape,
    mask_key: Option<&[u8]>,
    faker: Option<&dyn Faker>,
) -> Result<Option<Step>, ChainError> {
    let shape = &mut state.schema;
    let shape_error = |shape: &TableSchema, message: String| ChainError::Shape {
        table: shape.name.clone(),
        message,
    };
    Ok(Some(match spec {
        StepSpec::Validate(texts) => Step::Validate(
            texts
                .iter()
                .map(|t| condition(t, shape))
                .collect::<Result<_, _>>()?,
            Arc::new(shape.clone()),
            // Settled once the whole chain is known (see `Chain::compile`).
            state.origin.iter().map(|o| o.is_some()).collect(),
        ),
        StepSpec::Filter(text) => Step::Filter(condition(text, shape)?),
        StepSpec::Derive(columns) => {
            let mut compiled = Vec::with_capacity(columns.len());
            for (name, text) in columns {
                if shape.column_index(name).is_some() {
                    return Err(shape_error(
                        shape,
                        format!("derive: column `{name}` exists already"),
                    ));
                }
                let expr = compile(text, shape)?;
                shape
                    .columns
                    .push(Column::new(name, logical_type(expr.ty()), true));
                state.origin.push(None);
                compiled.push(expr);
            }
            Step::Derive(compiled)
        }
        StepSpec::Rename(pairs) => {
            for (from, to) in pairs {
                let Some(i) = shape.column_index(from) else {
                    return Err(shape_error(shape, format!("rename: no column `{from}`")));
                };
                if shape.column_index(to).is_some() {
                    return Err(shape_error(
                        shape,
                        format!("rename: column `{to}` exists already"),
                    ));
                }
                shape.columns[i].name = to.clone();
                for key in &mut shape.primary_key {
                    if key == from {
                        key.clone_from(to);
                    }
                }
                for index in &mut shape.indexes {
                    for column in &mut index.columns {
                        if column == from {
                            column.clone_from(to);
                        }
                    }
                }
            }
            return Ok(None);
        }
        StepSpec::Drop(names) => {
            for name in names {
                if shape.column_index(name).is_none() {
                    return Err(shape_error(shape, format!("drop: no column `{name}`")));
                }
                if shape.primary_key.contains(name) {
                    return Err(shape_error(
                        shape,
                        format!(
                            "drop: `{name}` is part of the primary key, which the target needs"
                        ),
                    ));
                }
            }
            let kept: Vec<usize> = (0..shape.columns.len())
                .filter(|&i| !names.contains(&shape.columns[i].name))
                .collect();
            shape.columns.retain(|c| !names.contains(&c.name));
            state.origin = kept.iter().map(|&i| state.origin[i]).collect();
            shape
                .indexes
                .retain(|i| i.columns.iter().all(|c| !names.contains(c)));
            Step::Keep(kept)
        }
        StepSpec::To(name) => {
            shape.name = TableName::parse(name);
            return Ok(None);
        }
        StepSpec::Mask(columns) => {
            let mut masked = Vec::with_capacity(columns.len());
            for (name, spelled) in columns {
                let Some(i) = shape.column_index(name) else {
                    return Err(shape_error(shape, format!("mask: no column `{name}`")));
                };
                let mask = Mask::parse(spelled)
                    .map_err(|m| shape_error(shape, format!("mask.{name}: {m}")))?;
                if matches!(mask, Mask::Hash | Mask::Fake) && mask_key.is_none() {
                    let spelled = if mask == Mask::Hash { "hash" } else { "fake" };
                    return Err(shape_error(
                        shape,
                        format!(
                            "mask.{name}: `{spelled}` needs `mask_key` (e.g. mask_key: ${{WATERSHED_MASK_KEY}})"
                        ),
                    ));
                }
                let bound = if mask == Mask::Fake {
                    let faker = faker.ok_or_else(|| {
                        shape_error(
                            shape,
                            format!("mask.{name}: `fake` has no value generators here"),
                        )
                    })?;
                    let generator = faker
                        .column(shape, &shape.columns[i])
                        .map_err(|m| shape_error(shape, format!("mask.{name}: {m}")))?;
                    BoundMask::fake(generator)
                } else {
                    BoundMask::plain(mask.clone())
                };
                let column = &mut shape.columns[i];
                column.logical_type = mask.logical_type(&column.logical_type);
                if mask == Mask::Null {
                    column.nullable = true;
                }
                if let Some(input) = state.origin[i] {
                    state.input_masks.push((input, bound.clone()));
                }
                masked.push((i, bound));
            }
            Step::Mask(masked, Arc::new(Keyed::new(mask_key.unwrap_or_default())))
        }
    }))
}

/// One step as `watershed validate` prints it.
fn describe(spec: &StepSpec, compiled: Option<&Step>) -> String {
    let pairs = |pairs: &[(String, String)], sep: &str| {
        pairs
            .iter()
            .map(|(a, b)| format!("{a}{sep}{b}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (spec, compiled) {
        (StepSpec::Validate(_), Some(Step::Validate(conditions, ..))) => {
            let texts: Vec<String> = conditions.iter().map(ToString::to_string).collect();
            format!("validate: {}", texts.join("; "))
        }
        (StepSpec::Filter(_), Some(Step::Filter(condition))) => format!("filter: {condition}"),
        (StepSpec::Derive(columns), Some(Step::Derive(compiled))) => {
            let columns: Vec<String> = columns
                .iter()
                .zip(compiled)
                .map(|((name, _), expr)| format!("{name} = {expr}"))
                .collect();
            format!("derive: {}", columns.join(", "))
        }
        (StepSpec::Mask(columns), _) => format!("mask: {}", pairs(columns, ": ")),
        (StepSpec::Rename(columns), _) => format!("rename: {}", pairs(columns, " -> ")),
        (StepSpec::Drop(columns), _) => format!("drop: {}", columns.join(", ")),
        (StepSpec::To(table), _) => format!("to: {table}"),
        (spec, _) => format!("{spec:?}"),
    }
}

fn condition(text: &str, shape: &TableSchema) -> Result<Compiled, ExprError> {
    let compiled = compile(text, shape)?;
    if !matches!(compiled.ty(), Type::Bool | Type::Null) {
        return Err(ExprError {
            expression: text.to_owned(),
            message: format!("is {}, not a condition", compiled.ty()),
        });
    }
    Ok(compiled)
}

/// The column type a derived value of `ty` is stored as.
fn logical_type(ty: Type) -> LogicalType {
    match ty {
        Type::Bool => LogicalType::Bool,
        Type::Int => LogicalType::Int64,
        Type::Decimal => LogicalType::Decimal {
            precision: None,
            scale: None,
        },
        Type::Float => LogicalType::Float64,
        Type::Date => LogicalType::Date,
        Type::DateTime => LogicalType::DateTime { fsp: 6 },
        Type::Timestamp => LogicalType::Timestamp { fsp: 6 },
        Type::Time => LogicalType::Time { fsp: 6 },
        Type::Text | Type::Interval | Type::Null => LogicalType::Text { charset: None },
    }
}

#[cfg(test)]
mod tests;
