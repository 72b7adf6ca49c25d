//! A model as one dialect would store it, so that a DBML file and the
//! database made from it compare equal: types the dialect does not have
//! become the ones it uses instead (`uuid` is `char(36)` in MySQL, every
//! 1-byte integer a `smallint` in PostgreSQL), charsets, default index
//! methods and default foreign key actions are dropped, and defaults are
//! spelled one way (`now()` and `CURRENT_TIMESTAMP` alike, casts removed).

use watershed_events::{Column, ForeignKey, Index, LogicalType, TableSchema};

use crate::ddl::Dialect;
use crate::dialect::defaults::expression_default;
use crate::model::SchemaModel;

/// `model` as `dialect` stores it.
pub fn canonical(model: &SchemaModel, dialect: Dialect) -> SchemaModel {
    let mut out = model.clone();
    if dialect == Dialect::Mysql {
        // MySQL has no named enum types: each column carries its labels.
        out.enums.clear();
        out.enum_columns.clear();
    }
    for table in out.tables.values_mut() {
        canonical_table(table, dialect);
    }
    out
}

fn canonical_table(table: &mut TableSchema, dialect: Dialect) {
    let key = table.primary_key.clone();
    for column in &mut table.columns {
        canonical_column(column, dialect, key.contains(&column.name));
    }
    table.version = 1;
    table.comment = table.comment.take().filter(|c| !c.is_empty());
    for index in &mut table.indexes {
        canonical_index(index, dialect);
    }
    for key in &mut table.foreign_keys {
        canonical_key(key, dialect);
    }
}

fn canonical_column(column: &mut Column, dialect: Dialect, in_key: bool) {
    column.logical_type = canonical_type(&column.logical_type, dialect);
    if in_key || column.auto_increment {
        column.nullable = false;
    }
    column.default = column
        .default
        .as_deref()
        .and_then(|d| canonical_default(d, dialect));
    if column.auto_increment {
        column.default = None;
    }
    column.comment = column.comment.take().filter(|c| !c.is_empty());
}

fn canonical_index(index: &mut Index, dialect: Dialect) {
    index.method = match dialect {
        // InnoDB keeps every index as a B-tree whatever `USING` says.
        Dialect::Mysql => None,
        Dialect::Postgres => index
            .method
            .take()
            .map(|m| m.to_ascii_lowercase())
            .filter(|m| m != "btree"),
    };
}

fn canonical_key(key: &mut ForeignKey, dialect: Dialect) {
    let action = |a: &Option<String>| {
        let lower = a.as_deref()?.to_ascii_lowercase();
        let default = match dialect {
            // InnoDB treats RESTRICT and NO ACTION alike and reports RESTRICT.
            Dialect::Mysql => matches!(lower.as_str(), "no action" | "restrict"),
            Dialect::Postgres => lower == "no action",
        };
        (!default).then_some(lower)
    };
    key.on_delete = action(&key.on_delete);
    key.on_update = action(&key.on_update);
}

/// A logical type as `dialect` stores it.
pub fn canonical_type(logical: &LogicalType, dialect: Dialect) -> LogicalType {
    match dialect {
        Dialect::Postgres => postgres_type(logical),
        Dialect::Mysql => mysql_type(logical),
    }
}

fn postgres_type(logical: &LogicalType) -> LogicalType {
    use LogicalType::*;
    match logical {
        Int8 | UInt8 | Year => Int16,
        Int24 | UInt16 | UInt24 => Int32,
        UInt32 => Int64,
        UInt64 => Decimal {
            precision: Some(20),
            scale: Some(0),
        },
        Decimal {
            precision: Some(p),
            scale,
        } => Decimal {
            precision: Some(*p),
            scale: Some(scale.unwrap_or(0)),
        },
        Decimal {
            precision: None, ..
        } => Decimal {
            precision: None,
            scale: None,
        },
        Char { length, .. } => Char {
            length: Some(length.unwrap_or(1)),
            charset: None,
        },
        Varchar { length, .. } => Varchar {
            length: *length,
            charset: None,
        },
        Text { .. } => Text { charset: None },
        Binary { .. } | Varbinary { .. } => Blob,
        Set { .. } => Array {
            element: Box::new(Text { charset: None }),
        },
        Array { element } => Array {
            element: Box::new(postgres_type(element)),
        },
        other => other.clone(),
    }
}

fn mysql_type(logical: &LogicalType) -> LogicalType {
    use LogicalType::*;
    match logical {
        Bool => Int8,
        Decimal { precision, scale } => Decimal {
            precision: Some(precision.unwrap_or(10)),
            scale: Some(if precision.is_some() {
                scale.unwrap_or(0)
            } else {
                0
            }),
        },
        Char { length, .. } => Char {
            length: Some(length.unwrap_or(1)),
            charset: None,
        },
        Varchar { length: None, .. } | Text { .. } => Text { charset: None },
        Varchar { length, .. } => Varchar {
            length: *length,
            charset: None,
        },
        Binary { length } => Binary {
            length: Some(length.unwrap_or(1)),
        },
        Varbinary { length: None } => Blob,
        Uuid => Char {
            length: Some(36),
            charset: None,
        },
        Array { .. } => Json,
        other => other.clone(),
    }
}

/// A default spelled one way: outer parentheses and PostgreSQL casts
/// removed, `now()` and `current_timestamp` alike, numbers without
/// trailing zeros, MySQL's booleans as 1 and 0; `NULL` is no default.
pub fn canonical_default(default: &str, dialect: Dialect) -> Option<String> {
    // A default written for the other dialect reads as this one's form; one
    // the dialect has no form for is left out by `apply`, so it is none.
    let spelled = expression_default(dialect, default.trim()).ok()?;
    let mut text = strip_parens(&spelled).to_owned();
    if dialect == Dialect::Postgres {
        while let Some(cut) = cast_start(&text) {
            let numeric_cast = is_numeric_type(&text[cut + 2..]);
            text = strip_parens(text[..cut].trim()).to_owned();
            // PostgreSQL writes a negative number as `'-1'::integer`.
            if numeric_cast {
                text = unquoted_number(&text).unwrap_or(text);
            }
        }
    }
    text = lowercase_outside_quotes(&text);
    let text = match without_precision(&text) {
        "null" => return None,
        "now()" | "current_timestamp" | "current_timestamp()" | "localtimestamp" => {
            "current_timestamp".to_owned()
        }
        "true" if dialect == Dialect::Mysql => "1".to_owned(),
        "false" if dialect == Dialect::Mysql => "0".to_owned(),
        _ => canonical_number(&text).unwrap_or(text),
    };
    Some(text)
}

/// Keywords and function names in one case; string literals as they are.
fn lowercase_outside_quotes(text: &str) -> String {
    let mut quoted = false;
    text.chars()
        .map(|c| {
            if c == '\'' {
                quoted = !quoted;
            }
            if quoted { c } else { c.to_ascii_lowercase() }
        })
        .collect()
}

/// `current_timestamp(6)` → `current_timestamp()`, `now(3)` → `now()`.
fn without_precision(text: &str) -> &str {
    for (prefix, bare) in [
        ("current_timestamp(", "current_timestamp()"),
        ("now(", "now()"),
        ("localtimestamp(", "localtimestamp"),
    ] {
        let digits = text.strip_prefix(prefix).and_then(|t| t.strip_suffix(')'));
        if digits.is_some_and(|d| d.chars().all(|c| c.is_ascii_digit())) {
            return bare;
        }
    }
    text
}

/// `(x)` → `x` while the parentheses enclose everything.
fn strip_parens(mut text: &str) -> &str {
    while text.starts_with('(') && text.ends_with(')') && closes_at_end(text) {
        text = text[1..text.len() - 1].trim();
    }
    text
}

fn closes_at_end(text: &str) -> bool {
    let mut depth = 0usize;
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth = depth.saturating_sub(1);
                if depth == 0 && i + 1 < text.len() {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// Where a trailing `::type` cast starts, outside quotes and parentheses.
fn cast_start(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quoted = false;
    let mut last = None;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth = depth.saturating_sub(1),
            b':' if !quoted && depth == 0 && bytes.get(i + 1) == Some(&b':') => last = Some(i),
            _ => {}
        }
    }
    let cut = last?;
    let tail = &text[cut + 2..];
    let type_like = tail.chars().all(|c| {
        c.is_alphanumeric() || matches!(c, '_' | ' ' | '.' | '"' | '(' | ')' | ',' | '[' | ']')
    });
    type_like.then_some(cut)
}

/// Whether a cast's type (`integer`, `numeric(10,2)`, …) holds numbers.
fn is_numeric_type(cast: &str) -> bool {
    let name = cast.split('(').next().unwrap_or_default().trim();
    matches!(
        name,
        "smallint" | "integer" | "bigint" | "numeric" | "real" | "double precision"
    )
}

/// `'-1'` → `-1`: a quoted literal that holds a number.
fn unquoted_number(text: &str) -> Option<String> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    canonical_number(inner).map(|_| inner.to_owned())
}

/// `1.50` → `1.5`, `0.00` → `0`, `'5'` stays quoted.
fn canonical_number(text: &str) -> Option<String> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let numeric = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1;
    if !numeric {
        return None;
    }
    let mut out = text.to_owned();
    if out.contains('.') {
        out = out.trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    if out == "-0" || out.is_empty() {
        out = "0".to_owned();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_compare_alike_across_spellings() {
        let pg = |d| canonical_default(d, Dialect::Postgres);
        let my = |d| canonical_default(d, Dialect::Mysql);
        assert_eq!(pg("'active'::auth.user_status"), Some("'active'".into()));
        assert_eq!(pg("'x'::character varying"), Some("'x'".into()));
        assert_eq!(pg("now()"), my("current_timestamp()"));
        assert_eq!(my("current_timestamp(6)"), pg("CURRENT_TIMESTAMP"));
        assert_eq!(pg("(0)::numeric"), Some("0".into()));
        assert_eq!(my("0.00"), Some("0".into()));
        assert_eq!(my("true"), Some("1".into()));
        assert_eq!(my("NULL"), None);
        assert_eq!(pg("'a::b'"), Some("'a::b'".into()));
        assert_eq!(pg("lower('X')"), Some("lower('X')".into()));
    }

    #[test]
    fn negative_numbers_postgres_quotes_and_casts_compare_as_numbers() {
        let pg = |d| canonical_default(d, Dialect::Postgres);
        assert_eq!(pg("'-1'::integer"), Some("-1".into()));
        assert_eq!(pg("'-0.50'::numeric"), Some("-0.5".into()));
        assert_eq!(pg("'-1'::text"), Some("'-1'".into()), "text stays text");
    }

    #[test]
    fn types_become_what_the_dialect_stores() {
        use LogicalType::*;
        assert_eq!(
            canonical_type(&Uuid, Dialect::Mysql),
            Char {
                length: Some(36),
                charset: None
            }
        );
        assert_eq!(canonical_type(&Int8, Dialect::Postgres), Int16);
        assert_eq!(canonical_type(&Bool, Dialect::Mysql), Int8);
        assert_eq!(canonical_type(&Bool, Dialect::Postgres), Bool);
        assert_eq!(
            canonical_type(
                &Varchar {
                    length: None,
                    charset: None
                },
                Dialect::Mysql
            ),
            Text { charset: None }
        );
    }
}
