//! One measure of an aggregate: the function, its argument, and the state
//! that computes it exactly under additions and retractions — counts,
//! sums and sums of squares in exact decimals (floats for float input, as
//! PostgreSQL does), and for `min`/`max` the multiset of values, so a
//! retracted minimum gives way to the true next one.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt::Write;
use std::str::FromStr;

use bigdecimal::{BigDecimal, Context, RoundingMode, Zero};
use serde_json::{Value as Json, json};
use sqlparser::ast::{self, FunctionArg, FunctionArgExpr, FunctionArguments};

use watershed_events::{Decimal, Value};

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

/// What an argument's state must keep for the measures that read it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub sums: bool,
    pub squares: bool,
    pub values: bool,
}

impl Needs {
    /// Adds what `func` needs.
    pub fn add(&mut self, func: Func) {
        self.sums |= func.needs_sums();
        self.squares |= func.needs_squares();
        self.values |= func.needs_values();
    }
}

/// An exact running sum: an `i128` while integers fit, a decimal after.
#[derive(Debug, Clone)]
enum Sum {
    Small(i128),
    Big(BigDecimal),
}

impl Default for Sum {
    fn default() -> Self {
        Sum::Small(0)
    }
}

impl Sum {
    fn add(&mut self, x: &Datum, sign: i64, square: bool) {
        if let (Sum::Small(total), Datum::Int(n)) = (&mut *self, x) {
            let n = i128::from(*n);
            let term = if square { n * n } else { n };
            let term = if sign < 0 { -term } else { term };
            if let Some(next) = total.checked_add(term) {
                *total = next;
                return;
            }
        }
        let Some(x) = x.as_decimal() else { return };
        let term = if square { &x * &x } else { x };
        let total = self.decimal();
        *self = Sum::Big(if sign < 0 { total - term } else { total + term });
    }

    fn decimal(&self) -> BigDecimal {
        match self {
            Sum::Small(n) => BigDecimal::from(*n),
            Sum::Big(d) => d.clone(),
        }
    }

    fn text(&self) -> String {
        match self {
            Sum::Small(n) => n.to_string(),
            Sum::Big(d) => d.to_plain_string(),
        }
    }

    fn parse(text: &str) -> Option<Sum> {
        match text.parse::<i128>() {
            Ok(n) => Some(Sum::Small(n)),
            Err(_) => BigDecimal::from_str(text).ok().map(Sum::Big),
        }
    }
}

/// The running state of one argument (say `heart_rate`) in one group and
/// window, shared by every measure that reads it.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Non-NULL values.
    pub n: i64,
    sum: Sum,
    squares: Sum,
    float_sum: f64,
    float_squares: f64,
    values: BTreeMap<Ordered, i64>,
}

impl State {
    /// Adds (`sign` 1) or retracts (-1) one value.
    pub fn apply(&mut self, needs: Needs, arg: Type, value: &Datum, sign: i64) {
        if matches!(value, Datum::Null) {
            return;
        }
        self.n += sign;
        if needs.sums {
            if arg == Type::Float {
                let x = value.as_f64().unwrap_or(0.0);
                self.float_sum += sign as f64 * x;
                if needs.squares {
                    self.float_squares += sign as f64 * x * x;
                }
            } else {
                self.sum.add(value, sign, false);
                if needs.squares {
                    self.squares.add(value, sign, true);
                }
            }
        }
        if needs.values {
            match self.values.entry(Ordered(value.clone())) {
                Entry::Occupied(mut count) => {
                    *count.get_mut() += sign;
                    if *count.get() <= 0 {
                        count.remove();
                    }
                }
                Entry::Vacant(slot) => {
                    if sign > 0 {
                        slot.insert(sign);
                    }
                }
            }
        }
    }

    /// `func` over the values, as PostgreSQL computes it over the same
    /// rows (`count(*)` is the group's row count, not this).
    pub fn result(&self, func: Func, arg: Type) -> Datum {
        if self.n <= 0 {
            return match func {
                Func::CountStar | Func::Count => Datum::Int(0),
                _ => Datum::Null,
            };
        }
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
            Func::Sum => Datum::Decimal(self.sum.decimal()),
            Func::Avg if arg == Type::Float => Datum::Float(self.float_sum / self.n as f64),
            Func::Avg => {
                let (sum, n) = (self.sum.decimal(), BigDecimal::from(self.n));
                let scale = division_scale(&sum, &n);
                Datum::Decimal((sum / n).with_scale_round(scale, RoundingMode::HalfUp))
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
                self.deviation(matches!(func, Func::Stddev { .. }), sample)
            }
        }
    }

    /// [`State::result`] as a cell, computed in integers while the sums
    /// fit (the common case of integer arguments), exactly as the decimal
    /// path would.
    pub fn value(&self, func: Func, arg: Type) -> Value {
        if let Some(text) = self.small(func, arg)
            && let Ok(decimal) = Decimal::parse(&text)
        {
            return Value::Decimal(decimal);
        }
        self.result(func, arg).into_value()
    }

    /// The decimal text of sum, avg, variance and stddev over integers
    /// whose sums fit an `i128`; `None` to take the decimal path.
    fn small(&self, func: Func, arg: Type) -> Option<String> {
        let (Sum::Small(sum), Sum::Small(squares)) = (&self.sum, &self.squares) else {
            return None;
        };
        if arg != Type::Int || self.n <= 0 {
            return None;
        }
        let n = i128::from(self.n);
        match func {
            Func::Sum => Some(sum.to_string()),
            Func::Avg => {
                let scale = int_division_scale(*sum, n);
                Some(scaled(divide(*sum, n, scale)?, scale))
            }
            Func::Variance { sample } | Func::Stddev { sample } => {
                if sample && n < 2 {
                    return None;
                }
                let numerator = n
                    .checked_mul(*squares)?
                    .checked_sub(sum.checked_mul(*sum)?)?;
                if numerator <= 0 {
                    return Some("0".into());
                }
                let denominator = if sample { n * (n - 1) } else { n * n };
                let scale = int_division_scale(numerator, denominator);
                let variance = divide(numerator, denominator, scale)?;
                if matches!(func, Func::Variance { .. }) {
                    return Some(scaled(variance, scale));
                }
                // √(v·10^s)·10^s from v·10^s·10^s, rounded half up.
                let square = u128::try_from(variance.checked_mul(pow10(scale)?)?).ok()?;
                let root = isqrt(square);
                let root = if square > root * root + root {
                    root + 1
                } else {
                    root
                };
                Some(scaled(i128::try_from(root).ok()?, scale))
            }
            _ => None,
        }
    }

    /// numeric_stddev_internal: (N·Σx² − (Σx)²) / (N·(N−1)) at the scale
    /// select_div_scale gives, then the root at that scale.
    fn deviation(&self, root: bool, sample: bool) -> Datum {
        let n = BigDecimal::from(self.n);
        let sum = self.sum.decimal();
        let scale = sum.fractional_digit_count().max(0) * 2;
        let numerator = (&n * self.squares.decimal() - &sum * &sum).with_scale(scale);
        if numerator <= BigDecimal::zero() {
            return Datum::Decimal(BigDecimal::zero());
        }
        let denominator = if sample {
            &n * (&n - BigDecimal::from(1))
        } else {
            &n * &n
        };
        let scale = division_scale(&numerator, &denominator);
        let variance = (&numerator / &denominator).with_scale_round(scale, RoundingMode::HalfUp);
        if !root {
            return Datum::Decimal(variance);
        }
        // Enough significant digits for the scale, and a few to round by.
        let (digits, exponent) = variance.as_bigint_and_exponent();
        let whole = (digits.magnitude().to_string().len() as i64 - exponent).max(1);
        let precision = (whole / 2 + 1 + scale + 4).max(8) as u64;
        let context = Context::default().with_prec(precision).unwrap_or_default();
        match variance.sqrt_with_context(&context) {
            Some(root) => Datum::Decimal(root.with_scale_round(scale, RoundingMode::HalfUp)),
            None => Datum::Null,
        }
    }

    /// The state as compact JSON text, appended to `out` (float sums
    /// only for float arguments).
    pub fn write_json(&self, needs: Needs, arg: Type, out: &mut String) {
        let _ = write!(out, "{{\"n\":{}", self.n);
        let float = arg == Type::Float;
        if needs.sums && float {
            let _ = write!(out, ",\"fs\":{}", json!(self.float_sum));
        } else if needs.sums {
            let _ = write!(out, ",\"s\":\"{}\"", self.sum.text());
        }
        if needs.squares && float {
            let _ = write!(out, ",\"fq\":{}", json!(self.float_squares));
        } else if needs.squares {
            let _ = write!(out, ",\"q\":\"{}\"", self.squares.text());
        }
        if needs.values {
            out.push_str(",\"v\":[");
            for (i, (value, count)) in self.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "[{},{count}]", encode(&value.0));
            }
            out.push(']');
        }
        out.push('}');
    }

    /// Reads [`State::write_json`] back; `arg` types the kept values.
    pub fn from_json(json: &Json, arg: Type) -> Option<State> {
        let sum = |key: &str| match json.get(key) {
            Some(Json::String(s)) => Sum::parse(s),
            None => Some(Sum::default()),
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
            sum: sum("s")?,
            squares: sum("q")?,
            float_sum: float("fs"),
            float_squares: float("fq"),
            values,
        })
    }
}

/// `10^n`, if it fits.
fn pow10(n: i64) -> Option<i128> {
    10i128.checked_pow(u32::try_from(n).ok()?)
}

/// `a / b` rounded half up (away from zero) to `scale` digits, as an
/// integer of that scale.
fn divide(a: i128, b: i128, scale: i64) -> Option<i128> {
    let a = a.checked_mul(pow10(scale)?)?;
    let (q, r) = (a / b, a % b);
    let up = r.unsigned_abs() * 2 >= b.unsigned_abs();
    Some(if up {
        if (a < 0) != (b < 0) { q - 1 } else { q + 1 }
    } else {
        q
    })
}

/// `digits` with `scale` of them after the point.
fn scaled(digits: i128, scale: i64) -> String {
    if scale <= 0 {
        return digits.to_string();
    }
    let sign = if digits < 0 { "-" } else { "" };
    let text = digits.unsigned_abs().to_string();
    let scale = scale as usize;
    let text = if text.len() <= scale {
        format!("{}{text}", "0".repeat(scale + 1 - text.len()))
    } else {
        text
    };
    let (whole, fraction) = text.split_at(text.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

/// ⌊√x⌋.
fn isqrt(x: u128) -> u128 {
    if x < 2 {
        return x;
    }
    let mut r = (x as f64).sqrt() as u128;
    while r * r > x {
        r -= 1;
    }
    while (r + 1) * (r + 1) <= x {
        r += 1;
    }
    r
}

/// PostgreSQL's `select_div_scale` for two integers.
fn int_division_scale(a: i128, b: i128) -> i64 {
    let (w1, d1) = base_10000(a);
    let (w2, d2) = base_10000(b);
    let mut weight = w1 - w2;
    if d1 <= d2 {
        weight -= 1;
    }
    (16 - weight * 4).clamp(0, 1000)
}

/// The weight and first digit of `x` in base 10,000; zero is `(0, 0)`.
fn base_10000(x: i128) -> (i64, u128) {
    let x = x.unsigned_abs();
    if x == 0 {
        return (0, 0);
    }
    let digits = x.ilog10() as i64;
    let weight = digits / 4;
    let first = x / 10u128.pow((weight * 4) as u32);
    (weight, first)
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
