//! One measure of an aggregate: the function, its argument, and the state
//! that computes it exactly under additions and retractions — counts,
//! sums and sums of squares in exact decimals (floats for float input, as
//! PostgreSQL does), and for `min`/`max` the multiset of values, so a
//! retracted minimum gives way to the true next one.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::str::FromStr;

use bigdecimal::{BigDecimal, RoundingMode, Zero};
use serde_json::{Value as Json, json};
use sqlparser::ast::{self, FunctionArg, FunctionArgExpr, FunctionArguments};

use crate::expr::datum::{Datum, Type};
use crate::expr::eval::division_scale;

/// The aggregate functions a measure may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    CountStar,
    Count,
    Sum,
    Avg,
    Min,
    Max,
    /// Sample (`stddev`, `stddev_samp`) or population (`stddev_pop`).
    Stddev {
        sample: bool,
    },
    /// Sample (`variance`, `var_samp`) or population (`var_pop`).
    Variance {
        sample: bool,
    },
}

impl Func {
    fn needs_sums(self) -> bool {
        matches!(
            self,
            Func::Sum | Func::Avg | Func::Stddev { .. } | Func::Variance { .. }
        )
    }

    fn needs_squares(self) -> bool {
        matches!(self, Func::Stddev { .. } | Func::Variance { .. })
    }

    fn needs_values(self) -> bool {
        matches!(self, Func::Min | Func::Max)
    }

    /// The measure's result type for an argument of `arg`.
    pub fn result_type(self, arg: Type) -> Type {
        match self {
            Func::CountStar | Func::Count => Type::Int,
            Func::Min | Func::Max => arg,
            _ if arg == Type::Float => Type::Float,
            _ => Type::Decimal,
        }
    }
}

/// Reads `count(*)`, `avg(heart_rate)`, …: the function and the text of
/// its argument (`None` for `count(*)`).
pub fn parse(text: &str) -> Result<(Func, Option<String>), String> {
    let expr = crate::expr::compile::parse(text)?;
    let ast::Expr::Function(function) = &expr else {
        return Err(
            "is not an aggregate function: use count(*), count, sum, avg, min, max, stddev or \
             variance"
                .into(),
        );
    };
    let name = function.name.to_string().to_ascii_lowercase();
    if function.over.is_some() || function.filter.is_some() {
        return Err(format!("`{name}` with OVER or FILTER is not supported"));
    }
    let FunctionArguments::List(list) = &function.args else {
        return Err(format!("`{name}` needs one argument"));
    };
    if list.duplicate_treatment.is_some() {
        return Err(format!("`{name}(DISTINCT …)` is not supported"));
    }
    let arg = match list.args.as_slice() {
        [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)] if name == "count" => None,
        [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))] => Some(e.to_string()),
        _ => return Err(format!("`{name}` takes one argument")),
    };
    let func = match (name.as_str(), &arg) {
        ("count", None) => Func::CountStar,
        ("count", Some(_)) => Func::Count,
        ("sum", _) => Func::Sum,
        ("avg", _) => Func::Avg,
        ("min", _) => Func::Min,
        ("max", _) => Func::Max,
        ("stddev" | "stddev_samp", _) => Func::Stddev { sample: true },
        ("stddev_pop", _) => Func::Stddev { sample: false },
        ("variance" | "var_samp", _) => Func::Variance { sample: true },
        ("var_pop", _) => Func::Variance { sample: false },
        (other, _) => {
            return Err(format!(
                "`{other}` is not an aggregate function: use count(*), count, sum, avg, min, \
                 max, stddev or variance"
            ));
        }
    };
    Ok((func, arg))
}

/// A datum as an ordered key (all values of one measure share a type).
#[derive(Debug, Clone)]
pub struct Ordered(pub Datum);

impl PartialEq for Ordered {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ordered {}

impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.0, &other.0) {
            (Datum::Float(a), Datum::Float(b)) => a.total_cmp(b),
            (a, b) => a.compare(b).unwrap_or(Ordering::Equal),
        }
    }
}

/// The running state of one measure in one group and window.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Non-NULL arguments (rows, for `count(*)`).
    pub n: i64,
    sum: BigDecimal,
    squares: BigDecimal,
    float_sum: f64,
    float_squares: f64,
    values: BTreeMap<Ordered, i64>,
}

impl State {
    /// Adds (`sign` 1) or retracts (-1) one argument value.
    pub fn apply(&mut self, func: Func, arg: Type, value: &Datum, sign: i64) {
        if func != Func::CountStar && matches!(value, Datum::Null) {
            return;
        }
        self.n += sign;
        if func.needs_sums() {
            if arg == Type::Float {
                let x = value.as_f64().unwrap_or(0.0);
                self.float_sum += sign as f64 * x;
                self.float_squares += sign as f64 * x * x;
            } else if let Some(x) = value.as_decimal() {
                if func.needs_squares() {
                    let square = &x * &x;
                    self.squares = if sign > 0 {
                        &self.squares + square
                    } else {
                        &self.squares - square
                    };
                }
                self.sum = if sign > 0 {
                    &self.sum + x
                } else {
                    &self.sum - x
                };
            }
        }
        if func.needs_values() {
            let count = self.values.entry(Ordered(value.clone())).or_default();
            *count += sign;
            if *count <= 0 {
                self.values.remove(&Ordered(value.clone()));
            }
        }
    }

    /// The measure's value, as PostgreSQL computes it over the same rows.
    pub fn result(&self, func: Func, arg: Type) -> Datum {
        if self.n <= 0 {
            return match func {
                Func::CountStar | Func::Count => Datum::Int(0),
                _ => Datum::Null,
            };
        }
        let n = BigDecimal::from(self.n);
        match func {
            Func::CountStar | Func::Count => Datum::Int(self.n),
            Func::Min => self
                .values
                .keys()
                .next()
                .map_or(Datum::Null, |v| v.0.clone()),
            Func::Max => self
                .values
                .keys()
                .next_back()
                .map_or(Datum::Null, |v| v.0.clone()),
            Func::Sum if arg == Type::Float => Datum::Float(self.float_sum),
            Func::Sum => Datum::Decimal(self.sum.clone()),
            Func::Avg if arg == Type::Float => Datum::Float(self.float_sum / self.n as f64),
            Func::Avg => {
                let scale = division_scale(&self.sum, &n);
                Datum::Decimal((&self.sum / &n).with_scale_round(scale, RoundingMode::HalfUp))
            }
            Func::Variance { sample } | Func::Stddev { sample } if sample && self.n < 2 => {
                Datum::Null
            }
            Func::Variance { sample } | Func::Stddev { sample } if arg == Type::Float => {
                let nf = self.n as f64;
                let numerator =
                    (nf * self.float_squares - self.float_sum * self.float_sum).max(0.0);
                let variance = numerator / if sample { nf * (nf - 1.0) } else { nf * nf };
                Datum::Float(if matches!(func, Func::Stddev { .. }) {
                    variance.sqrt()
                } else {
                    variance
                })
            }
            Func::Variance { sample } | Func::Stddev { sample } => {
                // numeric_stddev_internal: (N·Σx² − (Σx)²) / (N·(N−1)),
                // at the scale select_div_scale gives, then the root at it.
                let scale = self.sum.fractional_digit_count().max(0) * 2;
                let numerator = (&n * &self.squares - &self.sum * &self.sum).with_scale(scale);
                if numerator <= BigDecimal::zero() {
                    return Datum::Decimal(BigDecimal::zero());
                }
                let denominator = if sample {
                    &n * (&n - BigDecimal::from(1))
                } else {
                    &n * &n
                };
                let scale = division_scale(&numerator, &denominator);
                let variance =
                    (&numerator / &denominator).with_scale_round(scale, RoundingMode::HalfUp);
                if matches!(func, Func::Variance { .. }) {
                    return Datum::Decimal(variance);
                }
                match variance.sqrt() {
                    Some(root) => {
                        Datum::Decimal(root.with_scale_round(scale, RoundingMode::HalfUp))
                    }
                    None => Datum::Null,
                }
            }
        }
    }

    /// The state as JSON, for the sink's state table.
    pub fn to_json(&self, func: Func) -> Json {
        let mut state = json!({ "n": self.n });
        if func.needs_sums() {
            state["s"] = json!(self.sum.to_plain_string());
            state["fs"] = json!(self.float_sum);
        }
        if func.needs_squares() {
            state["q"] = json!(self.squares.to_plain_string());
            state["fq"] = json!(self.float_squares);
        }
        if func.needs_values() {
            let values: Vec<Json> = self
                .values
                .iter()
                .map(|(v, count)| json!([encode(&v.0), count]))
                .collect();
            state["v"] = Json::Array(values);
        }
        state
    }

    /// Reads [`State::to_json`] back; `arg` types the kept values.
    pub fn from_json(json: &Json, arg: Type) -> Option<State> {
        let decimal = |key: &str| match json.get(key) {
            Some(Json::String(s)) => BigDecimal::from_str(s).ok(),
            None => Some(BigDecimal::zero()),
            _ => None,
        };
        let float = |key: &str| json.get(key).and_then(Json::as_f64).unwrap_or(0.0);
        let mut values = BTreeMap::new();
        if let Some(Json::Array(items)) = json.get("v") {
            for item in items {
                let value = decode(item.get(0)?, arg)?;
                values.insert(Ordered(value), item.get(1)?.as_i64()?);
            }
        }
        Some(State {
            n: json.get("n")?.as_i64()?,
            sum: decimal("s")?,
            squares: decimal("q")?,
            float_sum: float("fs"),
            float_squares: float("fq"),
            values,
        })
    }
}

/// A datum as JSON that [`decode`] reads back given its type.
pub fn encode(datum: &Datum) -> Json {
    match datum {
        Datum::Null => Json::Null,
        Datum::Bool(b) => json!(b),
        Datum::Int(n) => json!(n),
        Datum::Decimal(d) => json!(d.to_plain_string()),
        Datum::Float(x) if x.is_finite() => json!(x),
        Datum::Float(x) => json!(x.to_string()),
        Datum::Text(s) => json!(s.as_ref()),
        Datum::Date(days) => json!(days),
        Datum::DateTime(m) | Datum::Timestamp(m) | Datum::Time(m) => json!(m),
        Datum::Interval(i) => json!(i.to_string()),
    }
}

/// [`encode`]'s JSON back as a datum of `ty`.
pub fn decode(json: &Json, ty: Type) -> Option<Datum> {
    if json.is_null() {
        return Some(Datum::Null);
    }
    Some(match ty {
        Type::Bool => Datum::Bool(json.as_bool()?),
        Type::Int => Datum::Int(json.as_i64()?),
        Type::Decimal => Datum::Decimal(BigDecimal::from_str(json.as_str()?).ok()?),
        Type::Float => match json {
            Json::String(s) => Datum::Float(s.parse().ok()?),
            other => Datum::Float(other.as_f64()?),
        },
        Type::Date => Datum::Date(json.as_i64()?),
        Type::DateTime => Datum::DateTime(json.as_i64()?),
        Type::Timestamp => Datum::Timestamp(json.as_i64()?),
        Type::Time => Datum::Time(json.as_i64()?),
        Type::Text | Type::Interval | Type::Null => Datum::parse(json.as_str()?, ty).ok()?,
    })
}
