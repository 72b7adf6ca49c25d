//! The expression language of `validate`, `filter`, `derive` and aggregate
//! measures: SQL expressions as PostgreSQL writes them. [`compile`] parses
//! one with `sqlparser`'s PostgreSQL dialect, maps its AST to a small typed
//! tree ([`compile`]'s module) and type-checks it against the table's
//! schema, once, when the pipeline file loads; [`Compiled::eval`] then
//! evaluates it over a row in column order, with SQL's three-valued logic
//! and exact decimals (never through a float).
//!
//! Supported: column names, literals (numbers, strings, booleans, NULL,
//! `interval '1 minute'`), comparisons, `between`, `in (…)`,
//! `is [not] null`, `and`/`or`/`not`, `+ - * / %`, `||`, `case when`,
//! `coalesce`, `cast(x as t)` and `x::t`, `lower`, `upper`, `length`,
//! `substr`/`substring`, `trim`, `abs`, `round`, `now()`, `date_trunc`,
//! `extract`. Anything else is refused at compile time with the
//! expression's text.
//!
//! Results equal PostgreSQL's (an integration test holds them to it),
//! decimal scales included, with one difference: integers are 64-bit
//! throughout, where PostgreSQL computes `int4` arithmetic on integer
//! literals and `integer` columns in 32 bits and fails past 2^31.

pub(crate) mod compile;
pub(crate) mod datum;
pub(crate) mod eval;
mod interval;

use std::fmt;

use watershed_events::{TableSchema, Timestamp, Value};

pub use datum::Type;

use compile::Node;

/// Why an expression cannot be used with a table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{expression}`: {message}")]
pub struct ExprError {
    /// The expression as written.
    pub expression: String,
    pub message: String,
}

/// Why evaluating an expression over one row failed (the row goes to the
/// dead letters with this reason; nothing stops).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{expression}`: {message}")]
pub struct EvalError {
    pub expression: String,
    pub message: String,
}

/// What an evaluation may read besides the row.
#[derive(Debug, Clone, Copy)]
pub struct EvalContext {
    /// `now()`: the time the change is processed.
    pub now: Timestamp,
}

/// An expression parsed, typed and bound to a table's columns.
#[derive(Debug, Clone)]
pub struct Compiled {
    text: String,
    node: Node,
    ty: Type,
}

/// Compiles `text` against `table`: unknown columns, type mismatches and
/// unsupported syntax or functions are errors naming the expression.
pub fn compile(text: &str, table: &TableSchema) -> Result<Compiled, ExprError> {
    let error = |message: String| ExprError {
        expression: text.to_owned(),
        message,
    };
    let (node, ty) = compile::compile(text, table).map_err(error)?;
    Ok(Compiled {
        text: text.to_owned(),
        node,
        ty,
    })
}

/// Checks that `text` parses as an expression, before any table is known
/// (types and columns are checked by [`compile`]).
pub fn check_syntax(text: &str) -> Result<(), ExprError> {
    compile::parse(text).map(drop).map_err(|message| ExprError {
        expression: text.to_owned(),
        message,
    })
}

impl Compiled {
    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The type of the expression's value.
    pub fn ty(&self) -> Type {
        self.ty
    }

    /// The columns the expression reads, by position in the table it was
    /// compiled against.
    pub fn columns(&self) -> Vec<usize> {
        let mut columns = Vec::new();
        self.node.columns(&mut columns);
        columns
    }

    /// The expression's value over `row` (the table's columns in order).
    pub fn eval(&self, row: &[Value], context: &EvalContext) -> Result<Value, EvalError> {
        let datum = eval::eval(&self.node, row, context).map_err(|message| EvalError {
            expression: self.text.clone(),
            message,
        })?;
        Ok(datum.into_value())
    }

    /// [`Compiled::eval`] without turning the result into a cell.
    pub(crate) fn eval_datum(
        &self,
        row: &[Value],
        context: &EvalContext,
    ) -> Result<datum::Datum, EvalError> {
        eval::eval(&self.node, row, context).map_err(|message| EvalError {
            expression: self.text.clone(),
            message,
        })
    }

    /// A condition over `row`: `Some(true)`, `Some(false)`, or `None` when
    /// it is unknown (SQL NULL). `validate` passes unknown, `filter` drops
    /// it, as a SQL `CHECK` and a `WHERE` do.
    pub fn test(&self, row: &[Value], context: &EvalContext) -> Result<Option<bool>, EvalError> {
        match self.eval(row, context)? {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(b)),
            other => Err(EvalError {
                expression: self.text.clone(),
                message: format!("is not a condition (gave {other:?})"),
            }),
        }
    }
}

impl Compiled {
    /// Why `row` fails this condition: `fails `text` (a = 1, b = x)`,
    /// showing the values of the columns it reads that `shown` allows
    /// (a masked column's value never appears).
    pub fn failure(
        &self,
        row: &[Value],
        table: &TableSchema,
        shown: impl Fn(usize) -> bool,
    ) -> String {
        let values: Vec<String> = self
            .columns()
            .into_iter()
            .filter(|&i| shown(i))
            .filter_map(|i| {
                let name = &table.columns.get(i)?.name;
                Some(format!("{name} = {}", show(row.get(i)?)))
            })
            .collect();
        if values.is_empty() {
            format!("fails `{}`", self.text)
        } else {
            format!("fails `{}` ({})", self.text, values.join(", "))
        }
    }
}

/// A value as a reason shows it.
fn show(value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::Int(n) => n.to_string(),
        Value::UInt(n) => n.to_string(),
        Value::Float64(f) => f.to_string(),
        Value::Float32(f) => f.to_string(),
        Value::Decimal(d) => d.as_str().to_owned(),
        Value::Text(s) | Value::Enum(s) => format!("'{s}'"),
        Value::Bool(b) => b.to_string(),
        Value::Date(d) => d.to_string(),
        Value::DateTime(dt) => dt.to_string(),
        Value::Timestamp(ts) => ts.to_string(),
        other => format!("{other:?}"),
    }
}

impl fmt::Display for Compiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.text, self.ty)
    }
}

#[cfg(test)]
mod tests;
