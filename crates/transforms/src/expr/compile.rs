//! From `sqlparser`'s AST to the typed tree [`Node`] the evaluator walks:
//! columns bound to their position, string literals read as the type they
//! meet (as PostgreSQL types an unknown literal), each operator checked
//! for the types it gets. What the language does not support is refused
//! here, naming the construct.

use std::sync::Arc;

use bigdecimal::BigDecimal;
use sqlparser::ast::{
    self, BinaryOperator, CastKind, DataType, DateTimeField, Expr, FunctionArg, FunctionArgExpr,
    FunctionArguments, TrimWhereField, UnaryOperator,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use watershed_events::TableSchema;

use super::datum::{Datum, Type};
use super::interval::Interval;

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// Built-in functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Lower,
    Upper,
    Length,
    Substr,
    /// `trim`, `ltrim`, `rtrim`: both ends, the start, the end.
    Trim(bool, bool),
    Abs,
    Round,
    Now,
    DateTrunc,
    Extract,
}

/// A typed expression bound to a table's columns.
#[derive(Debug, Clone)]
pub enum Node {
    Literal(Datum),
    Column(usize),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    IsNull(Box<Node>, bool),
    Compare(Cmp, Box<Node>, Box<Node>),
    Arith(Arith, Box<Node>, Box<Node>, Type),
    Neg(Box<Node>),
    Concat(Box<Node>, Box<Node>),
    InList(Box<Node>, Vec<Node>, bool),
    Case(Vec<(Node, Node)>, Option<Box<Node>>),
    Coalesce(Vec<Node>),
    Cast(Box<Node>, Type),
    Call(Func, Vec<Node>),
}

type Typed = (Node, Type);

impl Node {
    /// The columns the expression reads, by position, each once, in the
    /// order they first appear.
    pub fn columns(&self, out: &mut Vec<usize>) {
        match self {
            Node::Literal(_) => {}
            Node::Column(i) => {
                if !out.contains(i) {
                    out.push(*i);
                }
            }
            Node::Not(a) | Node::Neg(a) | Node::IsNull(a, _) | Node::Cast(a, _) => a.columns(out),
            Node::And(a, b)
            | Node::Or(a, b)
            | Node::Compare(_, a, b)
            | Node::Arith(_, a, b, _)
            | Node::Concat(a, b) => {
                a.columns(out);
                b.columns(out);
            }
            Node::InList(a, items, _) => {
                a.columns(out);
                items.iter().for_each(|n| n.columns(out));
            }
            Node::Case(arms, otherwise) => {
                for (when, then) in arms {
                    when.columns(out);
                    then.columns(out);
                }
                if let Some(n) = otherwise {
                    n.columns(out);
                }
            }
            Node::Coalesce(items) | Node::Call(_, items) => {
                items.iter().for_each(|n| n.columns(out));
            }
        }
    }
}

/// Parses and types `text` against `table`.
pub fn compile(text: &str, table: &TableSchema) -> Result<Typed, String> {
    let expr = parse(text)?;
    Compiler { table }.expr(&expr)
}

/// Parses `text` as one expression (nothing after it).
pub fn parse(text: &str) -> Result<Expr, String> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(text)
        .and_then(|mut parser| {
            let expr = parser.parse_expr()?;
            parser.expect_token(&sqlparser::tokenizer::Token::EOF)?;
            Ok(expr)
        })
        .map_err(|e| format!("does not parse: {e}"))
}

struct Compiler<'a> {
    table: &'a TableSchema,
}

impl Compiler<'_> {
    fn expr(&self, expr: &Expr) -> Result<Typed, String> {
        match expr {
            Expr::Identifier(ident) => self.column(&ident.value),
            Expr::CompoundIdentifier(parts) => match parts.last() {
                Some(last) => self.column(&last.value),
                None => Err("an empty name".into()),
            },
            Expr::Value(value) => literal(&value.value),
            Expr::Nested(inner) => self.expr(inner),
            Expr::IsNull(inner) => Ok((
                Node::IsNull(Box::new(self.expr(inner)?.0), false),
                Type::Bool,
            )),
            Expr::IsNotNull(inner) => Ok((
                Node::IsNull(Box::new(self.expr(inner)?.0), true),
                Type::Bool,
            )),
            Expr::UnaryOp { op, expr } => self.unary(*op, expr),
            Expr::BinaryOp { left, op, right } => self.binary(left, op, right),
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => self.between(expr, low, high, *negated),
            Expr::In {
                expr,
                target: ast::InTarget::List(list),
                negated,
                ..
            } => self.in_list(expr, list, *negated),
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.case(operand.as_deref(), conditions, else_result.as_deref()),
            Expr::Cast {
                kind: CastKind::Cast | CastKind::DoubleColon,
                expr,
                data_type,
                ..
            } => self.cast(expr, data_type),
            Expr::Interval(interval) => interval_literal(interval),
            Expr::TypedString(typed) => {
                let ty = cast_type(&typed.data_type)?;
                let text = string_of(&typed.value.value).ok_or("a typed literal needs a string")?;
                Ok((Node::Literal(Datum::parse(&text, ty)?), ty))
            }
            Expr::Function(function) => self.function(function),
            Expr::Extract { field, expr, .. } => self.extract(field, expr),
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![expr.as_ref().clone()];
                args.extend(substring_from.as_deref().cloned());
                args.extend(substring_for.as_deref().cloned());
                self.call(Func::Substr, &args)
            }
            Expr::Trim {
                expr,
                trim_where,
                trim_what: None,
                trim_characters: None,
            } => {
                let func = match trim_where {
                    None | Some(TrimWhereField::Both) => Func::Trim(true, true),
                    Some(TrimWhereField::Leading) => Func::Trim(true, false),
                    Some(TrimWhereField::Trailing) => Func::Trim(false, true),
                };
                self.call(func, std::slice::from_ref(expr.as_ref()))
            }
            other => Err(format!("`{other}` is not supported in expressions")),
        }
    }

    fn column(&self, name: &str) -> Result<Typed, String> {
        let (index, column) = self
            .table
            .columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name || c.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("no column `{name}` in table {}", self.table.name))?;
        let ty = Type::of(&column.logical_type).ok_or_else(|| {
            format!(
                "column `{name}` ({:?}) cannot be used in an expression",
                column.logical_type
            )
        })?;
        Ok((Node::Column(index), ty))
    }

    fn condition(&self, expr: &Expr) -> Result<Node, String> {
        let (node, ty) = self.expr(expr)?;
        match ty {
            Type::Bool | Type::Null => Ok(node),
            other => Err(format!("`{expr}` is {other}, not a condition")),
        }
    }

    fn unary(&self, op: UnaryOperator, expr: &Expr) -> Result<Typed, String> {
        match op {
            UnaryOperator::Not => Ok((Node::Not(Box::new(self.condition(expr)?)), Type::Bool)),
            UnaryOperator::Minus => {
                let (node, ty) = self.expr(expr)?;
                if !(ty.is_numeric() || matches!(ty, Type::Interval | Type::Null)) {
                    return Err(format!("cannot negate {ty}"));
                }
                Ok((Node::Neg(Box::new(node)), ty))
            }
            UnaryOperator::Plus => self.expr(expr),
            other => Err(format!("the operator `{other}` is not supported")),
        }
    }

    fn binary(&self, left: &Expr, op: &BinaryOperator, right: &Expr) -> Result<Typed, String> {
        use BinaryOperator as B;
        let cmp = match op {
            B::Eq => Some(Cmp::Eq),
            B::NotEq => Some(Cmp::Ne),
            B::Lt => Some(Cmp::Lt),
            B::LtEq => Some(Cmp::Le),
            B::Gt => Some(Cmp::Gt),
            B::GtEq => Some(Cmp::Ge),
            _ => None,
        };
        if let Some(cmp) = cmp {
            let (l, r) = self.comparable(left, right)?;
            return Ok((Node::Compare(cmp, Box::new(l), Box::new(r)), Type::Bool));
        }
        let arith = match op {
            B::Plus => Arith::Add,
            B::Minus => Arith::Sub,
            B::Multiply => Arith::Mul,
            B::Divide => Arith::Div,
            B::Modulo => Arith::Rem,
            B::And | B::Or => {
                let (l, r) = (self.condition(left)?, self.condition(right)?);
                let node = if *op == B::And {
                    Node::And(Box::new(l), Box::new(r))
                } else {
                    Node::Or(Box::new(l), Box::new(r))
                };
                return Ok((node, Type::Bool));
            }
            B::StringConcat => {
                let (l, r) = (self.expr(left)?.0, self.expr(right)?.0);
                return Ok((Node::Concat(Box::new(l), Box::new(r)), Type::Text));
            }
            other => return Err(format!("the operator `{other}` is not supported")),
        };
        let (l, lt) = self.expr(left)?;
        let (r, rt) = self.expr(right)?;
        let ty = arith_type(arith, lt, rt)
            .ok_or_else(|| format!("cannot apply `{op}` to {lt} and {rt}"))?;
        Ok((Node::Arith(arith, Box::new(l), Box::new(r), ty), ty))
    }

    /// Both sides of a comparison, a string literal read as the other
    /// side's type.
    fn comparable(&self, left: &Expr, right: &Expr) -> Result<(Node, Node), String> {
        let (l, lt) = self.expr(left)?;
        let (r, rt) = self.expr(right)?;
        let (l, lt) = read_literal_as(l, lt, rt)?;
        let (r, rt) = read_literal_as(r, rt, lt)?;
        if !comparable(lt, rt) {
            return Err(format!("cannot compare {lt} with {rt}"));
        }
        Ok((l, r))
    }

    fn between(
        &self,
        expr: &Expr,
        low: &Expr,
        high: &Expr,
        negated: bool,
    ) -> Result<Typed, String> {
        let (value, low) = self.comparable(expr, low)?;
        let (value_again, high) = self.comparable(expr, high)?;
        let node = Node::And(
            Box::new(Node::Compare(Cmp::Ge, Box::new(value), Box::new(low))),
            Box::new(Node::Compare(
                Cmp::Le,
                Box::new(value_again),
                Box::new(high),
            )),
        );
        Ok((negate_if(node, negated), Type::Bool))
    }

    fn in_list(&self, expr: &Expr, list: &[Expr], negated: bool) -> Result<Typed, String> {
        let (value, ty) = self.expr(expr)?;
        let mut items = Vec::with_capacity(list.len());
        for item in list {
            let (node, item_ty) = self.expr(item)?;
            let (node, item_ty) = read_literal_as(node, item_ty, ty)?;
            if !comparable(ty, item_ty) {
                return Err(format!("cannot compare {ty} with {item_ty} in `{item}`"));
            }
            items.push(node);
        }
        Ok((Node::InList(Box::new(value), items, negated), Type::Bool))
    }

    fn case(
        &self,
        operand: Option<&Expr>,
        conditions: &[ast::CaseWhen],
        otherwise: Option<&Expr>,
    ) -> Result<Typed, String> {
        let mut arms = Vec::with_capacity(conditions.len());
        let mut ty = Type::Null;
        for when in conditions {
            let test = match operand {
                Some(operand) => {
                    let (l, r) = self.comparable(operand, &when.condition)?;
                    Node::Compare(Cmp::Eq, Box::new(l), Box::new(r))
                }
                None => self.condition(&when.condition)?,
            };
            let (result, result_ty) = self.expr(&when.result)?;
            ty = unify(ty, result_ty)
                .ok_or_else(|| format!("the branches of `case` are {ty} and {result_ty}"))?;
            arms.push((test, (result, result_ty)));
        }
        let otherwise = match otherwise {
            Some(expr) => {
                let (node, other_ty) = self.expr(expr)?;
                ty = unify(ty, other_ty)
                    .ok_or_else(|| format!("the branches of `case` are {ty} and {other_ty}"))?;
                Some((node, other_ty))
            }
            None => None,
        };
        let arms = arms
            .into_iter()
            .map(|(test, result)| (test, coerce(result, ty)))
            .collect();
        let otherwise = otherwise.map(|o| Box::new(coerce(o, ty)));
        Ok((Node::Case(arms, otherwise), ty))
    }

    fn cast(&self, expr: &Expr, data_type: &DataType) -> Result<Typed, String> {
        let to = cast_type(data_type)?;
        let (node, from) = self.expr(expr)?;
        if let Node::Literal(Datum::Text(text)) = &node {
            return Ok((Node::Literal(Datum::parse(text, to)?), to));
        }
        if !castable(from, to) {
            return Err(format!("cannot cast {from} to {to}"));
        }
        Ok((Node::Cast(Box::new(node), to), to))
    }

    fn function(&self, function: &ast::Function) -> Result<Typed, String> {
        let name = function.name.to_string().to_ascii_lowercase();
        if function.over.is_some() || function.filter.is_some() {
            return Err(format!("`{name}` with OVER or FILTER is not supported"));
        }
        let args: Vec<Expr> = match &function.args {
            FunctionArguments::None => Vec::new(),
            FunctionArguments::List(list) => list
                .args
                .iter()
                .map(|arg| match arg {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e.clone()),
                    other => Err(format!(
                        "the argument `{other}` of `{name}` is not supported"
                    )),
                })
                .collect::<Result<_, _>>()?,
            FunctionArguments::Subquery(_) => return Err("subqueries are not supported".into()),
        };
        let func = match name.as_str() {
            "lower" => Func::Lower,
            "upper" => Func::Upper,
            "length" | "char_length" | "character_length" => Func::Length,
            "substr" | "substring" => Func::Substr,
            "trim" | "btrim" => Func::Trim(true, true),
            "ltrim" => Func::Trim(true, false),
            "rtrim" => Func::Trim(false, true),
            "abs" => Func::Abs,
            "round" => Func::Round,
            "now" | "current_timestamp" | "transaction_timestamp" | "statement_timestamp" => {
                Func::Now
            }
            "date_trunc" => Func::DateTrunc,
            "coalesce" => return self.coalesce(&args),
            other => return Err(format!("the function `{other}` is not supported")),
        };
        self.call(func, &args)
    }

    fn coalesce(&self, args: &[Expr]) -> Result<Typed, String> {
        let mut ty = Type::Null;
        let mut nodes = Vec::with_capacity(args.len());
        for arg in args {
            let (node, arg_ty) = self.expr(arg)?;
            ty = unify(ty, arg_ty)
                .ok_or_else(|| format!("the arguments of `coalesce` are {ty} and {arg_ty}"))?;
            nodes.push((node, arg_ty));
        }
        if nodes.is_empty() {
            return Err("`coalesce` needs arguments".into());
        }
        let nodes = nodes.into_iter().map(|n| coerce(n, ty)).collect();
        Ok((Node::Coalesce(nodes), ty))
    }

    fn extract(&self, field: &DateTimeField, expr: &Expr) -> Result<Typed, String> {
        let field = field.to_string().to_ascii_lowercase();
        let unit = Datum::Text(Arc::from(field.as_str()));
        let (node, ty) = self.expr(expr)?;
        if !matches!(
            ty,
            Type::Date | Type::DateTime | Type::Timestamp | Type::Time | Type::Null
        ) {
            return Err(format!("cannot extract `{field}` from {ty}"));
        }
        if !super::eval::is_extract_field(&field) {
            return Err(format!("the field `{field}` is not supported by extract"));
        }
        Ok((
            Node::Call(Func::Extract, vec![Node::Literal(unit), node]),
            Type::Decimal,
        ))
    }

    fn call(&self, func: Func, args: &[Expr]) -> Result<Typed, String> {
        let typed: Vec<Typed> = args
            .iter()
            .map(|a| self.expr(a))
            .collect::<Result<_, _>>()?;
        let types: Vec<Type> = typed.iter().map(|(_, t)| *t).collect();
        let text = |t: Type| matches!(t, Type::Text | Type::Null);
        let int = |t: Type| matches!(t, Type::Int | Type::Null);
        let ty = match (func, types.as_slice()) {
            (Func::Lower | Func::Upper, [t]) if text(*t) => Type::Text,
            (Func::Trim(..), [t]) if text(*t) => Type::Text,
            (Func::Length, [t]) if text(*t) => Type::Int,
            (Func::Substr, [t, from]) if text(*t) && int(*from) => Type::Text,
            (Func::Substr, [t, from, len]) if text(*t) && int(*from) && int(*len) => Type::Text,
            (Func::Abs, [t]) if t.is_numeric() || *t == Type::Null => *t,
            (Func::Round, [t]) if t.is_numeric() => *t,
            (Func::Round, [t, places]) if t.is_numeric() && int(*places) => Type::Decimal,
            (Func::Now, []) => Type::Timestamp,
            (Func::DateTrunc, [unit, t])
                if *unit == Type::Text
                    && matches!(
                        t,
                        Type::Date | Type::DateTime | Type::Timestamp | Type::Null
                    ) =>
            {
                if let Node::Literal(Datum::Text(u)) = &typed[0].0
                    && !super::eval::is_trunc_unit(&u.to_ascii_lowercase())
                {
                    return Err(format!("`{u}` is not a unit date_trunc knows"));
                }
                if *t == Type::Timestamp {
                    Type::Timestamp
                } else {
                    Type::DateTime
                }
            }
            _ => {
                let list: Vec<String> = types.iter().map(Type::to_string).collect();
                return Err(format!(
                    "`{}` does not take ({})",
                    format!("{func:?}").to_ascii_lowercase(),
                    list.join(", ")
                ));
            }
        };
        Ok((
            Node::Call(func, typed.into_iter().map(|(n, _)| n).collect()),
            ty,
        ))
    }
}

/// `node` converted to `to`, the type it shares with its siblings (an
/// integer branch of a numeric `case` is numeric, as in PostgreSQL).
fn coerce((node, from): Typed, to: Type) -> Node {
    if from == to || from == Type::Null {
        node
    } else {
        Node::Cast(Box::new(node), to)
    }
}

fn negate_if(node: Node, negated: bool) -> Node {
    if negated {
        Node::Not(Box::new(node))
    } else {
        node
    }
}

fn literal(value: &ast::Value) -> Result<Typed, String> {
    use ast::Value as V;
    Ok(match value {
        V::Number(text, _) => match text.parse::<i64>() {
            Ok(n) if !text.contains(['.', 'e', 'E']) => (Node::Literal(Datum::Int(n)), Type::Int),
            _ => {
                let d: BigDecimal = text
                    .parse()
                    .map_err(|_| format!("`{text}` is not a number"))?;
                (Node::Literal(Datum::Decimal(d)), Type::Decimal)
            }
        },
        V::Boolean(b) => (Node::Literal(Datum::Bool(*b)), Type::Bool),
        V::Null => (Node::Literal(Datum::Null), Type::Null),
        other => match string_of(other) {
            Some(text) => (
                Node::Literal(Datum::Text(Arc::from(text.as_str()))),
                Type::Text,
            ),
            None => return Err(format!("the literal `{other}` is not supported")),
        },
    })
}

fn string_of(value: &ast::Value) -> Option<String> {
    use ast::Value as V;
    match value {
        V::SingleQuotedString(s) | V::EscapedStringLiteral(s) | V::DoubleQuotedString(s) => {
            Some(s.clone())
        }
        _ => None,
    }
}

fn interval_literal(interval: &ast::Interval) -> Result<Typed, String> {
    let text = match interval.value.as_ref() {
        Expr::Value(v) => string_of(&v.value)
            .or_else(|| match &v.value {
                ast::Value::Number(n, _) => Some(n.clone()),
                _ => None,
            })
            .ok_or("an interval needs a string")?,
        other => return Err(format!("the interval `{other}` is not a literal")),
    };
    let parsed = match &interval.leading_field {
        Some(field) => {
            let amount: f64 = text
                .trim()
                .parse()
                .map_err(|_| format!("`{text}` is not a number of {field}"))?;
            Interval::of(amount, &field.to_string())
        }
        None => Interval::parse(&text),
    }
    .ok_or_else(|| format!("`{text}` is not an interval"))?;
    Ok((Node::Literal(Datum::Interval(parsed)), Type::Interval))
}

/// A string literal read as `other`'s type when `other` is not text.
fn read_literal_as(node: Node, ty: Type, other: Type) -> Result<Typed, String> {
    match &node {
        Node::Literal(Datum::Text(text)) if !matches!(other, Type::Text | Type::Null) => {
            Ok((Node::Literal(Datum::parse(text, other)?), other))
        }
        _ => Ok((node, ty)),
    }
}

fn comparable(a: Type, b: Type) -> bool {
    let temporal = |t: Type| matches!(t, Type::Date | Type::DateTime | Type::Timestamp);
    a == b
        || a == Type::Null
        || b == Type::Null
        || (a.is_numeric() && b.is_numeric())
        || (temporal(a) && temporal(b))
}

/// The type two branches share (`case`, `coalesce`).
fn unify(a: Type, b: Type) -> Option<Type> {
    match (a, b) {
        _ if a == b => Some(a),
        (Type::Null, t) | (t, Type::Null) => Some(t),
        (Type::Float, t) | (t, Type::Float) if t.is_numeric() => Some(Type::Float),
        (Type::Decimal, Type::Int) | (Type::Int, Type::Decimal) => Some(Type::Decimal),
        _ => None,
    }
}

/// The result type of `l op r`, PostgreSQL's rules for the types here.
fn arith_type(op: Arith, l: Type, r: Type) -> Option<Type> {
    use Type as T;
    if l.is_numeric() && r.is_numeric() {
        return unify(l, r);
    }
    Some(match (op, l, r) {
        (_, T::Null, t) | (_, t, T::Null) if t.is_numeric() || t == T::Null => t,
        (Arith::Add | Arith::Sub, T::Timestamp | T::DateTime, T::Interval) => l,
        (Arith::Add, T::Interval, T::Timestamp | T::DateTime) => r,
        (Arith::Add | Arith::Sub, T::Date, T::Interval) => T::DateTime,
        (Arith::Add, T::Interval, T::Date) => T::DateTime,
        (Arith::Add | Arith::Sub, T::Date, T::Int) => T::Date,
        (Arith::Sub, T::Date, T::Date) => T::Int,
        (Arith::Sub, T::Timestamp, T::Timestamp) | (Arith::Sub, T::DateTime, T::DateTime) => {
            T::Interval
        }
        (Arith::Add | Arith::Sub, T::Interval, T::Interval) => T::Interval,
        (Arith::Add | Arith::Sub, T::Time, T::Interval) => T::Time,
        _ => return None,
    })
}

fn castable(from: Type, to: Type) -> bool {
    use Type as T;
    from == to
        || from == T::Null
        || to == T::Text
        || from == T::Text
        || (from.is_numeric() && to.is_numeric())
        || (from == T::Bool && to == T::Int)
        || (from == T::Int && to == T::Bool)
        || matches!(
            (from, to),
            (T::Date, T::DateTime | T::Timestamp)
                | (
                    T::DateTime | T::Timestamp,
                    T::Date | T::DateTime | T::Timestamp | T::Time
                )
        )
}

/// The type a `cast` or `::` names.
fn cast_type(data_type: &DataType) -> Result<Type, String> {
    let name = data_type.to_string().to_ascii_lowercase();
    let base = name.split('(').next().unwrap_or_default().trim();
    Ok(match base {
        "smallint" | "int" | "integer" | "bigint" | "int2" | "int4" | "int8" => Type::Int,
        "numeric" | "decimal" => Type::Decimal,
        "real" | "float" | "float4" | "float8" | "double precision" | "double" => Type::Float,
        "text" | "varchar" | "character varying" | "char" | "character" => Type::Text,
        "bool" | "boolean" => Type::Bool,
        "date" => Type::Date,
        "timestamp" | "timestamp without time zone" => Type::DateTime,
        "timestamptz" | "timestamp with time zone" => Type::Timestamp,
        "time" | "time without time zone" => Type::Time,
        "interval" => Type::Interval,
        _ => return Err(format!("cannot cast to `{data_type}`")),
    })
}
