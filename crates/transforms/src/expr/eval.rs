//! Evaluating a [`Node`] over one row: SQL's three-valued logic (NULL
//! propagates; `and`/`or` know their answer from one side when they can),
//! exact integer and decimal arithmetic (overflow and division by zero are
//! errors, never wrapped values), and PostgreSQL's temporal rules.

use std::cmp::Ordering;
use std::sync::Arc;

use bigdecimal::{BigDecimal, RoundingMode, ToPrimitive, Zero};
use watershed_events::{Date, DateTime, TimeOfDay, Timestamp, Value};

use super::EvalContext;
use super::compile::{Arith, Cmp, Func, Node};
use super::datum::{Datum, Type};

type Result<T> = std::result::Result<T, String>;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// Digits after the point a decimal quotient keeps at least (PostgreSQL
/// keeps at least 16 significant digits).
const MIN_DIVISION_SCALE: i64 = 16;

pub fn eval(node: &Node, row: &[Value], cx: &EvalContext) -> Result<Datum> {
    Ok(match node {
        Node::Literal(datum) => datum.clone(),
        Node::Column(i) => {
            let value = row
                .get(*i)
                .ok_or("the row has fewer columns than its table")?;
            Datum::from_value(value).ok_or("a column holds a value expressions cannot read")?
        }
        Node::Not(inner) => match eval(inner, row, cx)? {
            Datum::Bool(b) => Datum::Bool(!b),
            _ => Datum::Null,
        },
        Node::And(l, r) => logic(l, r, false, row, cx)?,
        Node::Or(l, r) => logic(l, r, true, row, cx)?,
        Node::IsNull(inner, negated) => {
            Datum::Bool(matches!(eval(inner, row, cx)?, Datum::Null) != *negated)
        }
        Node::Compare(op, l, r) => {
            let (l, r) = (eval(l, row, cx)?, eval(r, row, cx)?);
            compare(*op, &l, &r)
        }
        Node::Arith(op, l, r, ty) => arith(*op, eval(l, row, cx)?, eval(r, row, cx)?, *ty)?,
        Node::Neg(inner) => negate(eval(inner, row, cx)?)?,
        Node::Concat(l, r) => match (eval(l, row, cx)?, eval(r, row, cx)?) {
            (Datum::Null, _) | (_, Datum::Null) => Datum::Null,
            (l, r) => Datum::Text(Arc::from(format!("{}{}", text(&l), text(&r)))),
        },
        Node::InList(value, items, negated) => in_list(value, items, *negated, row, cx)?,
        Node::Case(arms, otherwise) => {
            for (test, result) in arms {
                if matches!(eval(test, row, cx)?, Datum::Bool(true)) {
                    return eval(result, row, cx);
                }
            }
            match otherwise {
                Some(node) => eval(node, row, cx)?,
                None => Datum::Null,
            }
        }
        Node::Coalesce(items) => {
            for item in items {
                let value = eval(item, row, cx)?;
                if value != Datum::Null {
                    return Ok(value);
                }
            }
            Datum::Null
        }
        Node::Cast(inner, to) => cast(eval(inner, row, cx)?, *to)?,
        Node::Call(func, args) => {
            let args: Vec<Datum> = args
                .iter()
                .map(|a| eval(a, row, cx))
                .collect::<Result<_>>()?;
            call(*func, args, cx)?
        }
    })
}

/// `and` (`or` when `is_or`): the side that decides wins over NULL.
fn logic(l: &Node, r: &Node, is_or: bool, row: &[Value], cx: &EvalContext) -> Result<Datum> {
    let left = eval(l, row, cx)?;
    if left == Datum::Bool(is_or) {
        return Ok(left);
    }
    let right = eval(r, row, cx)?;
    Ok(match (left, right) {
        (_, Datum::Bool(b)) if b == is_or => Datum::Bool(is_or),
        (Datum::Bool(_), Datum::Bool(_)) => Datum::Bool(!is_or),
        _ => Datum::Null,
    })
}

fn compare(op: Cmp, l: &Datum, r: &Datum) -> Datum {
    if *l == Datum::Null || *r == Datum::Null {
        return Datum::Null;
    }
    let Some(order) = l.compare(r) else {
        return Datum::Null;
    };
    Datum::Bool(match op {
        Cmp::Eq => order == Ordering::Equal,
        Cmp::Ne => order != Ordering::Equal,
        Cmp::Lt => order == Ordering::Less,
        Cmp::Le => order != Ordering::Greater,
        Cmp::Gt => order == Ordering::Greater,
        Cmp::Ge => order != Ordering::Less,
    })
}

fn in_list(
    value: &Node,
    items: &[Node],
    negated: bool,
    row: &[Value],
    cx: &EvalContext,
) -> Result<Datum> {
    let value = eval(value, row, cx)?;
    if value == Datum::Null {
        return Ok(Datum::Null);
    }
    let mut unknown = false;
    for item in items {
        match compare(Cmp::Eq, &value, &eval(item, row, cx)?) {
            Datum::Bool(true) => return Ok(Datum::Bool(!negated)),
            Datum::Null => unknown = true,
            _ => {}
        }
    }
    Ok(if unknown {
        Datum::Null
    } else {
        Datum::Bool(negated)
    })
}

fn overflow() -> String {
    "the result is out of range".into()
}

fn division_by_zero() -> String {
    "division by zero".into()
}

fn arith(op: Arith, l: Datum, r: Datum, ty: Type) -> Result<Datum> {
    use Datum as D;
    if l == D::Null || r == D::Null {
        return Ok(D::Null);
    }
    match ty {
        Type::Int => {
            let (D::Int(a), D::Int(b)) = (&l, &r) else {
                return date_arith(op, l, r);
            };
            let (a, b) = (*a, *b);
            let result = match op {
                Arith::Add => a.checked_add(b),
                Arith::Sub => a.checked_sub(b),
                Arith::Mul => a.checked_mul(b),
                Arith::Div | Arith::Rem if b == 0 => return Err(division_by_zero()),
                Arith::Div => a.checked_div(b),
                Arith::Rem => a.checked_rem(b),
            };
            result.map(D::Int).ok_or_else(overflow)
        }
        Type::Decimal => {
            let (Some(a), Some(b)) = (l.as_decimal(), r.as_decimal()) else {
                return Err("a decimal operand is not a number".into());
            };
            decimal_arith(op, a, b).map(D::Decimal)
        }
        Type::Float => {
            let (Some(a), Some(b)) = (l.as_f64(), r.as_f64()) else {
                return Err("an operand is not a number".into());
            };
            let result = match op {
                Arith::Add => a + b,
                Arith::Sub => a - b,
                Arith::Mul => a * b,
                Arith::Div | Arith::Rem if b == 0.0 => return Err(division_by_zero()),
                Arith::Div => a / b,
                Arith::Rem => a % b,
            };
            if result.is_infinite() && a.is_finite() && b.is_finite() {
                return Err(overflow());
            }
            Ok(D::Float(result))
        }
        _ => date_arith(op, l, r),
    }
}

/// Exact decimal arithmetic with PostgreSQL's result scales: the larger
/// of the two for `+`, `-` and `%`, their sum for `*` (bigdecimal drops
/// the scale of a zero operand, PostgreSQL keeps it).
fn decimal_arith(op: Arith, a: BigDecimal, b: BigDecimal) -> Result<BigDecimal> {
    let (sa, sb) = (
        a.fractional_digit_count().max(0),
        b.fractional_digit_count().max(0),
    );
    Ok(match op {
        Arith::Add => (a + b).with_scale(sa.max(sb)),
        Arith::Sub => (a - b).with_scale(sa.max(sb)),
        Arith::Mul => (a * b).with_scale(sa + sb),
        Arith::Div | Arith::Rem if b.is_zero() => return Err(division_by_zero()),
        Arith::Div => {
            let scale = division_scale(&a, &b);
            (a / b).with_scale_round(scale, RoundingMode::HalfUp)
        }
        Arith::Rem => (a % b).with_scale(sa.max(sb)),
    })
}

/// The digits after the point of `a / b`, as PostgreSQL chooses them
/// (`select_div_scale`): at least 16 significant digits, and no fewer
/// than either operand has after its point.
pub(crate) fn division_scale(a: &BigDecimal, b: &BigDecimal) -> i64 {
    let (w1, d1) = base_10000(a);
    let (w2, d2) = base_10000(b);
    let mut quotient_weight = w1 - w2;
    if d1 <= d2 {
        quotient_weight -= 1;
    }
    let scale = MIN_DIVISION_SCALE - quotient_weight * 4;
    scale
        .max(a.fractional_digit_count().max(0))
        .max(b.fractional_digit_count().max(0))
        .clamp(0, 1000)
}

/// The weight (power of 10,000) of a number's first base-10,000 digit, and
/// that digit, as PostgreSQL's numeric stores them; zero is `(0, 0)`.
fn base_10000(x: &BigDecimal) -> (i64, u64) {
    let (digits, scale) = x.as_bigint_and_exponent();
    let text = digits.magnitude().to_string();
    if text == "0" {
        return (0, 0);
    }
    let exponent = text.len() as i64 - 1 - scale;
    let weight = exponent.div_euclid(4);
    let leading = (exponent.rem_euclid(4) + 1) as usize;
    let mut first: String = text.chars().take(leading).collect();
    while first.len() < leading {
        first.push('0');
    }
    (weight, first.parse().unwrap_or(0))
}

/// Dates, times, instants and intervals (the types `arith_type` allowed).
fn date_arith(op: Arith, l: Datum, r: Datum) -> Result<Datum> {
    use Datum as D;
    let shift = |micros: i64, interval: super::interval::Interval, sub: bool| {
        let interval = if sub {
            interval.negate()
        } else {
            Some(interval)
        };
        interval.and_then(|i| i.shift(micros)).ok_or_else(overflow)
    };
    let sub = op == Arith::Sub;
    Ok(match (l, r) {
        (D::Timestamp(t), D::Interval(i)) => D::Timestamp(shift(t, i, sub)?),
        (D::DateTime(t), D::Interval(i)) => D::DateTime(shift(t, i, sub)?),
        (D::Interval(i), D::Timestamp(t)) => D::Timestamp(shift(t, i, false)?),
        (D::Interval(i), D::DateTime(t)) => D::DateTime(shift(t, i, false)?),
        (D::Date(d), D::Interval(i)) => D::DateTime(shift(
            d.checked_mul(MICROS_PER_DAY).ok_or_else(overflow)?,
            i,
            sub,
        )?),
        (D::Interval(i), D::Date(d)) => D::DateTime(shift(
            d.checked_mul(MICROS_PER_DAY).ok_or_else(overflow)?,
            i,
            false,
        )?),
        (D::Date(d), D::Int(n)) => {
            let n = if sub { n.checked_neg() } else { Some(n) };
            D::Date(n.and_then(|n| d.checked_add(n)).ok_or_else(overflow)?)
        }
        (D::Date(a), D::Date(b)) => D::Int(a - b),
        (D::Timestamp(a), D::Timestamp(b)) | (D::DateTime(a), D::DateTime(b)) => {
            D::Interval(super::interval::Interval {
                months: 0,
                micros: a.checked_sub(b).ok_or_else(overflow)?,
            })
        }
        (D::Interval(a), D::Interval(b)) => {
            let b = if sub {
                b.negate().ok_or_else(overflow)?
            } else {
                b
            };
            D::Interval(a.add(b).ok_or_else(overflow)?)
        }
        (D::Time(t), D::Interval(i)) => {
            let micros = if sub { -i.micros } else { i.micros };
            D::Time((t + micros).rem_euclid(MICROS_PER_DAY))
        }
        (l, r) => return Err(format!("cannot compute {l:?} and {r:?}")),
    })
}

fn negate(value: Datum) -> Result<Datum> {
    Ok(match value {
        Datum::Null => Datum::Null,
        Datum::Int(n) => Datum::Int(n.checked_neg().ok_or_else(overflow)?),
        Datum::Decimal(d) => Datum::Decimal(-d),
        Datum::Float(x) => Datum::Float(-x),
        Datum::Interval(i) => Datum::Interval(i.negate().ok_or_else(overflow)?),
        other => return Err(format!("cannot negate {other:?}")),
    })
}

/// A datum as PostgreSQL writes it as text.
fn text(value: &Datum) -> String {
    match value {
        Datum::Null => String::new(),
        Datum::Bool(b) => if *b { "true" } else { "false" }.to_owned(),
        Datum::Int(n) => n.to_string(),
        Datum::Decimal(d) => d.to_plain_string(),
        Datum::Float(x) => x.to_string(),
        Datum::Text(s) => s.to_string(),
        Datum::Date(d) => Date::from_days_since_epoch(*d).to_string(),
        Datum::DateTime(m) => Timestamp::from_micros(*m).to_datetime().to_string(),
        Datum::Timestamp(m) => format!("{}+00", Timestamp::from_micros(*m).to_datetime()),
        Datum::Time(m) => TimeOfDay { micros: *m }.to_string(),
        Datum::Interval(i) => i.to_string(),
    }
}

fn cast(value: Datum, to: Type) -> Result<Datum> {
    use Datum as D;
    let out_of_range = || format!("{value:?} does not fit {to}");
    Ok(match (&value, to) {
        (D::Null, _) => D::Null,
        (_, Type::Text) => D::Text(Arc::from(text(&value))),
        (D::Text(s), _) => D::parse(s, to)?,
        (D::Int(_) | D::Decimal(_), Type::Decimal) => {
            D::Decimal(value.as_decimal().ok_or_else(out_of_range)?)
        }
        (D::Int(_) | D::Decimal(_) | D::Float(_), Type::Float) => {
            D::Float(value.as_f64().ok_or_else(out_of_range)?)
        }
        (D::Int(n), Type::Int) => D::Int(*n),
        (D::Decimal(d), Type::Int) => D::Int(
            d.with_scale_round(0, RoundingMode::HalfUp)
                .to_i64()
                .ok_or_else(out_of_range)?,
        ),
        (D::Float(x), Type::Int) => {
            let rounded = x.round_ties_even();
            if !(i64::MIN as f64..=i64::MAX as f64).contains(&rounded) {
                return Err(out_of_range());
            }
            D::Int(rounded as i64)
        }
        (D::Float(x), Type::Decimal) => {
            D::Decimal(x.to_string().parse().map_err(|_| out_of_range())?)
        }
        (D::Bool(b), Type::Int) => D::Int(i64::from(*b)),
        (D::Int(n), Type::Bool) => D::Bool(*n != 0),
        (D::Date(d), Type::DateTime) => D::DateTime(d * MICROS_PER_DAY),
        (D::Date(d), Type::Timestamp) => D::Timestamp(d * MICROS_PER_DAY),
        (D::DateTime(m) | D::Timestamp(m), Type::Date) => D::Date(m.div_euclid(MICROS_PER_DAY)),
        (D::DateTime(m) | D::Timestamp(m), Type::Time) => D::Time(m.rem_euclid(MICROS_PER_DAY)),
        (D::DateTime(m) | D::Timestamp(m), Type::DateTime) => D::DateTime(*m),
        (D::DateTime(m) | D::Timestamp(m), Type::Timestamp) => D::Timestamp(*m),
        _ if value_type(&value) == Some(to) => value,
        _ => return Err(format!("cannot cast {value:?} to {to}")),
    })
}

fn value_type(value: &Datum) -> Option<Type> {
    Some(match value {
        Datum::Bool(_) => Type::Bool,
        Datum::Time(_) => Type::Time,
        Datum::Interval(_) => Type::Interval,
        _ => return None,
    })
}

fn call(func: Func, args: Vec<Datum>, cx: &EvalContext) -> Result<Datum> {
    use Datum as D;
    if func != Func::Now && args.contains(&D::Null) {
        return Ok(D::Null);
    }
    Ok(match (func, args.as_slice()) {
        (Func::Lower, [D::Text(s)]) => D::Text(Arc::from(s.to_lowercase())),
        (Func::Upper, [D::Text(s)]) => D::Text(Arc::from(s.to_uppercase())),
        (Func::Length, [D::Text(s)]) => D::Int(s.chars().count() as i64),
        (Func::Trim(start, end), [D::Text(s)]) => {
            let mut t: &str = s;
            if start {
                t = t.trim_start_matches(' ');
            }
            if end {
                t = t.trim_end_matches(' ');
            }
            D::Text(Arc::from(t))
        }
        (Func::Substr, [D::Text(s), D::Int(from)]) => substr(s, *from, None)?,
        (Func::Substr, [D::Text(s), D::Int(from), D::Int(len)]) => substr(s, *from, Some(*len))?,
        (Func::Abs, [D::Int(n)]) => D::Int(n.checked_abs().ok_or_else(overflow)?),
        (Func::Abs, [D::Decimal(d)]) => D::Decimal(d.abs()),
        (Func::Abs, [D::Float(x)]) => D::Float(x.abs()),
        (Func::Round, [D::Int(n)]) => D::Int(*n),
        (Func::Round, [D::Decimal(d)]) => D::Decimal(d.with_scale_round(0, RoundingMode::HalfUp)),
        (Func::Round, [D::Float(x)]) => D::Float(x.round_ties_even()),
        (Func::Round, [value, D::Int(places)]) => {
            let d = match value {
                D::Float(x) => x.to_string().parse().map_err(|_| overflow())?,
                other => other.as_decimal().ok_or("round needs a number")?,
            };
            D::Decimal(d.with_scale_round(*places, RoundingMode::HalfUp))
        }
        (Func::Now, []) => D::Timestamp(cx.now.micros),
        (Func::DateTrunc, [D::Text(unit), value]) => date_trunc(&unit.to_ascii_lowercase(), value)?,
        (Func::Extract, [D::Text(field), value]) => extract(field, value)?,
        (func, args) => return Err(format!("cannot call {func:?} with {args:?}")),
    })
}

/// PostgreSQL's `substr`: 1-based; a start before 1 eats into the length.
fn substr(s: &str, from: i64, len: Option<i64>) -> Result<Datum> {
    if len.is_some_and(|l| l < 0) {
        return Err("negative substring length not allowed".into());
    }
    let end = len.map(|l| from.saturating_add(l));
    let start = from.max(1);
    let taken: String = s
        .chars()
        .enumerate()
        .map(|(i, c)| (i as i64 + 1, c))
        .filter(|(i, _)| *i >= start && end.is_none_or(|e| *i < e))
        .map(|(_, c)| c)
        .collect();
    Ok(Datum::Text(Arc::from(taken)))
}

/// Units `date_trunc` knows.
pub fn is_trunc_unit(unit: &str) -> bool {
    matches!(
        unit,
        "microseconds"
            | "milliseconds"
            | "second"
            | "minute"
            | "hour"
            | "day"
            | "week"
            | "month"
            | "quarter"
            | "year"
            | "decade"
            | "century"
            | "millennium"
    )
}

/// Fields `extract` knows.
pub fn is_extract_field(field: &str) -> bool {
    matches!(
        field,
        "year"
            | "month"
            | "day"
            | "hour"
            | "minute"
            | "second"
            | "epoch"
            | "dow"
            | "isodow"
            | "doy"
            | "quarter"
            | "milliseconds"
            | "microseconds"
            | "week"
    )
}

fn date_trunc(unit: &str, value: &Datum) -> Result<Datum> {
    let micros = match value {
        Datum::Date(_) | Datum::DateTime(_) | Datum::Timestamp(_) => {
            value.to_micros().ok_or_else(overflow)?
        }
        other => return Err(format!("date_trunc cannot read {other:?}")),
    };
    let DateTime { date, time } = Timestamp::from_micros(micros).to_datetime();
    let day = |date: Date| date.days_since_epoch() * MICROS_PER_DAY;
    let year_start = |year: i32| {
        day(Date {
            year,
            month: 1,
            day: 1,
        })
    };
    let truncated = match unit {
        "microseconds" => micros,
        "milliseconds" => micros - micros.rem_euclid(1_000),
        "second" => micros - micros.rem_euclid(MICROS_PER_SECOND),
        "minute" => micros - micros.rem_euclid(60 * MICROS_PER_SECOND),
        "hour" => micros - micros.rem_euclid(3_600 * MICROS_PER_SECOND),
        "day" => micros - time.micros,
        // Weeks start on Monday; 1970-01-01 was a Thursday.
        "week" => {
            let days = date.days_since_epoch();
            (days - (days + 3).rem_euclid(7)) * MICROS_PER_DAY
        }
        "month" => day(Date { day: 1, ..date }),
        "quarter" => day(Date {
            month: (date.month - 1) / 3 * 3 + 1,
            day: 1,
            ..date
        }),
        "year" => year_start(date.year),
        "decade" => year_start(date.year - date.year.rem_euclid(10)),
        "century" => year_start(if date.year > 0 {
            (date.year - 1) / 100 * 100 + 1
        } else {
            date.year
        }),
        "millennium" => year_start(if date.year > 0 {
            (date.year - 1) / 1000 * 1000 + 1
        } else {
            date.year
        }),
        other => return Err(format!("`{other}` is not a unit date_trunc knows")),
    };
    Ok(match value {
        Datum::Timestamp(_) => Datum::Timestamp(truncated),
        _ => Datum::DateTime(truncated),
    })
}

fn extract(field: &str, value: &Datum) -> Result<Datum> {
    let int = |n: i64| Ok(Datum::Decimal(BigDecimal::from(n)));
    if let Datum::Time(micros) = value {
        return match field {
            "hour" => int(micros.div_euclid(3_600 * MICROS_PER_SECOND)),
            "minute" => {
                int(micros.rem_euclid(3_600 * MICROS_PER_SECOND) / (60 * MICROS_PER_SECOND))
            }
            "second" => Ok(Datum::Decimal(BigDecimal::new(
                micros.rem_euclid(60 * MICROS_PER_SECOND).into(),
                6,
            ))),
            "epoch" => Ok(Datum::Decimal(BigDecimal::new((*micros).into(), 6))),
            other => Err(format!("cannot extract `{other}` from a time")),
        };
    }
    let micros = value.to_micros().ok_or("extract needs a date or a time")?;
    let DateTime { date, time } = Timestamp::from_micros(micros).to_datetime();
    let days = date.days_since_epoch();
    let doy = days
        - Date {
            month: 1,
            day: 1,
            ..date
        }
        .days_since_epoch()
        + 1;
    match field {
        "year" => int(i64::from(date.year)),
        "month" => int(i64::from(date.month)),
        "day" => int(i64::from(date.day)),
        "quarter" => int(i64::from((date.month - 1) / 3 + 1)),
        "hour" => int(time.micros / (3_600 * MICROS_PER_SECOND)),
        "minute" => int(time.micros % (3_600 * MICROS_PER_SECOND) / (60 * MICROS_PER_SECOND)),
        "second" => Ok(Datum::Decimal(BigDecimal::new(
            (time.micros % (60 * MICROS_PER_SECOND)).into(),
            6,
        ))),
        "milliseconds" => Ok(Datum::Decimal(BigDecimal::new(
            (time.micros % (60 * MICROS_PER_SECOND)).into(),
            3,
        ))),
        "microseconds" => int(time.micros % (60 * MICROS_PER_SECOND)),
        "epoch" => Ok(Datum::Decimal(BigDecimal::new(micros.into(), 6))),
        "dow" => int((days + 4).rem_euclid(7)),
        "isodow" => int((days + 3).rem_euclid(7) + 1),
        "doy" => int(doy),
        "week" => int(iso_week(date)),
        other => Err(format!("cannot extract `{other}`")),
    }
}

/// The ISO 8601 week number of `date`.
fn iso_week(date: Date) -> i64 {
    let days = date.days_since_epoch();
    // The Thursday of this date's week decides its year.
    let thursday = days - (days + 3).rem_euclid(7) + 3;
    let year = Date::from_days_since_epoch(thursday).year;
    let first = Date {
        year,
        month: 1,
        day: 1,
    }
    .days_since_epoch();
    (thursday - first) / 7 + 1
}
