//! MySQL/MariaDB: column types to logical types, identifier quoting.
//!
//! [`logical_type`] reads what `information_schema.COLUMNS` reports
//! (`COLUMN_TYPE`, `CHARACTER_SET_NAME`, `DATETIME_PRECISION`) and returns
//! the [`LogicalType`]. Decisions worth knowing:
//!
//! | MySQL/MariaDB | logical type | why |
//! |---|---|---|
//! | `tinyint(1)`, `bool`, `boolean` | `Int8` (`UInt8` unsigned) | `BOOL` is an alias that stores -128..127, and the binlog cannot tell `tinyint(1)` from `tinyint`: mapping it to `Bool` would make snapshot and stream disagree |
//! | `… unsigned` | `UInt8` … `UInt64` | `zerofill` implies unsigned |
//! | `decimal(p,s)`, `numeric`, `dec`, `fixed` | `Decimal { p, s }` | `decimal` alone is `(10,0)` |
//! | `float`, `float(p,s)` | `Float32` | |
//! | `double`, `real`, `double precision` | `Float64` | |
//! | `char(n)`, `varchar(n)` | `Char`/`Varchar` with the length in characters and the charset | `binary` charset makes them `Binary`/`Varbinary` |
//! | `tinytext` … `longtext` | `Text` with the charset | |
//! | `json`; MariaDB `longtext` with a `CHECK (json_valid(col))` | `Json` | MariaDB's `JSON` is an alias of `LONGTEXT` plus that check; see [`json_valid_check_column`] |
//! | `binary(n)`, `varbinary(n)`, `tinyblob` … `longblob` | `Binary`, `Varbinary`, `Blob` | |
//! | `date`, `time(fsp)`, `datetime(fsp)`, `timestamp(fsp)`, `year` | `Date`, `Time`, `DateTime`, `Timestamp` (an instant, UTC), `Year` | |
//! | `enum('a','b')`, `set('a','b')` | `Enum`/`Set` with the labels, unescaped | |
//! | `bit(n)` | `Bit { width: n }` | |
//! | MariaDB `uuid` | `Uuid` | |
//! | spatial types, MariaDB `inet4`/`inet6`, `vector` | an error naming the column | no logical type carries them yet |

use std::fmt;

use watershed_events::LogicalType;

/// Why a column's type has no logical type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column `{column}` has type `{column_type}`: {reason}")]
pub struct TypeError {
    pub column: String,
    pub column_type: String,
    pub reason: TypeErrorReason,
}

/// The kind of [`TypeError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeErrorReason {
    /// A type Watershed does not replicate (spatial, `inet4`, …).
    Unsupported,
    /// A spelling this parser does not know.
    Unknown,
    /// Known name, unreadable arguments (e.g. an unterminated label).
    Malformed,
}

impl fmt::Display for TypeErrorReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TypeErrorReason::Unsupported => {
                "not supported for replication; exclude the table or change the column's type"
            }
            TypeErrorReason::Unknown => "not a MySQL/MariaDB type this version knows",
            TypeErrorReason::Malformed => "its arguments cannot be read",
        })
    }
}

/// What `information_schema.COLUMNS` says about one column.
#[derive(Debug, Clone, Copy, Default)]
pub struct ColumnTypeInfo<'a> {
    /// `COLUMN_TYPE`, e.g. `int(10) unsigned`, `enum('a','b')`.
    pub column_type: &'a str,
    /// `CHARACTER_SET_NAME`; `None` for non-character types.
    pub charset: Option<&'a str>,
    /// `DATETIME_PRECISION` for temporal types.
    pub datetime_precision: Option<u8>,
    /// MariaDB: the column has a `CHECK (json_valid(col))` constraint.
    pub json_checked: bool,
}

/// The logical type of column `column` (named in errors).
pub fn logical_type(column: &str, info: &ColumnTypeInfo<'_>) -> Result<LogicalType, TypeError> {
    let error = |reason| TypeError {
        column: column.to_owned(),
        column_type: info.column_type.to_owned(),
        reason,
    };
    let parsed = split_type(info.column_type).ok_or_else(|| error(TypeErrorReason::Malformed))?;
    let charset = info.charset.map(str::to_owned);
    let binary = info.charset == Some("binary");
    let fsp = || {
        parsed
            .first_number()
            .map(|n| n.min(6) as u8)
            .or(info.datetime_precision)
            .unwrap_or(0)
    };
    use LogicalType as T;
    let logical = match parsed.base.as_str() {
        "tinyint" | "bool" | "boolean" => integer(parsed.unsigned, T::Int8, T::UInt8),
        "smallint" => integer(parsed.unsigned, T::Int16, T::UInt16),
        "mediumint" => integer(parsed.unsigned, T::Int24, T::UInt24),
        "int" | "integer" => integer(parsed.unsigned, T::Int32, T::UInt32),
        "bigint" => integer(parsed.unsigned, T::Int64, T::UInt64),
        "decimal" | "numeric" | "dec" | "fixed" => {
            let numbers = parsed
                .numbers()
                .ok_or_else(|| error(TypeErrorReason::Malformed))?;
            T::Decimal {
                precision: Some(numbers.first().copied().unwrap_or(10) as u16),
                scale: Some(numbers.get(1).copied().unwrap_or(0) as u16),
            }
        }
        "float" => T::Float32,
        "double" | "real" | "double precision" => T::Float64,
        "bit" => T::Bit {
            width: parsed.first_number().unwrap_or(1) as u16,
        },
        "char" if binary => T::Binary {
            length: parsed.first_number(),
        },
        "varchar" if binary => T::Varbinary {
            length: parsed.first_number(),
        },
        "tinytext" | "text" | "mediumtext" | "longtext" if binary => T::Blob,
        "char" => T::Char {
            length: parsed.first_number(),
            charset,
        },
        "varchar" => T::Varchar {
            length: parsed.first_number(),
            charset,
        },
        "longtext" if info.json_checked => T::Json,
        "tinytext" | "text" | "mediumtext" | "longtext" => T::Text { charset },
        "json" => T::Json,
        "binary" => T::Binary {
            length: parsed.first_number().or(Some(1)),
        },
        "varbinary" => T::Varbinary {
            length: parsed.first_number(),
        },
        "tinyblob" | "blob" | "mediumblob" | "longblob" => T::Blob,
        "date" => T::Date,
        "time" => T::Time { fsp: fsp() },
        "datetime" => T::DateTime { fsp: fsp() },
        "timestamp" => T::Timestamp { fsp: fsp() },
        "year" => T::Year,
        "enum" => T::Enum {
            labels: parsed
                .labels()
                .ok_or_else(|| error(TypeErrorReason::Malformed))?,
        },
        "set" => T::Set {
            labels: parsed
                .labels()
                .ok_or_else(|| error(TypeErrorReason::Malformed))?,
        },
        "uuid" => T::Uuid,
        "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
        | "multipolygon" | "geometrycollection" | "geomcollection" | "inet4" | "inet6"
        | "vector" => return Err(error(TypeErrorReason::Unsupported)),
        _ => return Err(error(TypeErrorReason::Unknown)),
    };
    Ok(logical)
}

fn integer(unsigned: bool, signed: LogicalType, unsigned_type: LogicalType) -> LogicalType {
    if unsigned { unsigned_type } else { signed }
}

/// MariaDB spells a `JSON` column as `LONGTEXT` with the column check
/// constraint `json_valid(`col`)`. Given a `CHECK_CLAUSE` from
/// `information_schema.CHECK_CONSTRAINTS`, returns the column it makes a
/// JSON column, if it is exactly that check.
pub fn json_valid_check_column(check_clause: &str) -> Option<String> {
    let inner = check_clause
        .trim()
        .strip_prefix("json_valid(")?
        .strip_suffix(')')?;
    let (name, rest) = unquote_ident(inner)?;
    rest.is_empty().then_some(name)
}

/// Reads one backtick-quoted identifier at the start of `text`; returns it
/// unescaped and the rest of the text.
fn unquote_ident(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('`')?;
    let mut name = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '`' {
            if chars.peek().is_some_and(|&(_, next)| next == '`') {
                chars.next();
            } else {
                return Some((name, &body[i + 1..]));
            }
        }
        name.push(c);
    }
    None
}

/// Quotes an identifier: `` `name` ``, doubling any backtick inside.
pub fn quote_ident(identifier: &str) -> String {
    let mut quoted = String::with_capacity(identifier.len() + 2);
    quoted.push('`');
    for c in identifier.chars() {
        if c == '`' {
            quoted.push('`');
        }
        quoted.push(c);
    }
    quoted.push('`');
    quoted
}

/// `` `schema`.`table` ``.
pub fn qualified_name(schema_name: &str, table_name: &str) -> String {
    format!("{}.{}", quote_ident(schema_name), quote_ident(table_name))
}

/// A `COLUMN_TYPE` split into its lowercase base name, the text between
/// its parentheses and whether it is unsigned.
struct ParsedType<'a> {
    base: String,
    arguments: Option<&'a str>,
    unsigned: bool,
}

fn split_type(column_type: &str) -> Option<ParsedType<'_>> {
    let text = column_type.trim();
    let (head, arguments, tail) = match text.find('(') {
        Some(open) => {
            let close = closing_paren(text, open)?;
            (
                &text[..open],
                Some(&text[open + 1..close]),
                &text[close + 1..],
            )
        }
        None => (text, None, ""),
    };
    let mut words: Vec<String> = head
        .split_whitespace()
        .chain(tail.split_whitespace())
        .map(str::to_ascii_lowercase)
        .collect();
    let unsigned = words.iter().any(|w| w == "unsigned" || w == "zerofill");
    words.retain(|w| !matches!(w.as_str(), "unsigned" | "zerofill" | "signed"));
    // `double precision` is the only two-word base name.
    let base = match words.as_slice() {
        [first, second, ..] if first == "double" && second == "precision" => {
            "double precision".to_owned()
        }
        [first, ..] => first.clone(),
        [] => return None,
    };
    Some(ParsedType {
        base,
        arguments,
        unsigned,
    })
}

/// The `)` matching the `(` at `open`, skipping quoted labels.
fn closing_paren(text: &str, open: usize) -> Option<usize> {
    let mut in_quote = false;
    let mut escaped = false;
    for (i, c) in text[open..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quote => escaped = true,
            '\'' => in_quote = !in_quote,
            ')' if !in_quote => return Some(open + i),
            _ => {}
        }
    }
    None
}

impl ParsedType<'_> {
    fn numbers(&self) -> Option<Vec<u32>> {
        match self.arguments {
            None => Some(Vec::new()),
            Some(args) => args.split(',').map(|n| n.trim().parse().ok()).collect(),
        }
    }

    fn first_number(&self) -> Option<u32> {
        self.numbers()?.first().copied()
    }

    /// `'a','b''c','d\\e'` → `a`, `b'c`, `d\e`. Quotes are doubled by the
    /// server; backslashes are escaped with a backslash.
    fn labels(&self) -> Option<Vec<String>> {
        let mut labels = Vec::new();
        let mut chars = self.arguments?.trim().chars().peekable();
        loop {
            if chars.next()? != '\'' {
                return None;
            }
            let mut label = String::new();
            loop {
                match chars.next()? {
                    '\'' if chars.peek() == Some(&'\'') => {
                        chars.next();
                        label.push('\'');
                    }
                    '\'' => break,
                    '\\' => label.push(unescape(chars.next()?)),
                    c => label.push(c),
                }
            }
            labels.push(label);
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            match chars.next() {
                None => return Some(labels),
                Some(',') => {
                    while chars.peek().is_some_and(|c| c.is_whitespace()) {
                        chars.next();
                    }
                }
                Some(_) => return None,
            }
        }
    }
}

/// The character a backslash escape stands for, as MySQL reads literals.
fn unescape(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        '0' => '\0',
        'Z' => '\u{1a}',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LogicalType as T;

    fn parse(column_type: &str) -> Result<LogicalType, TypeError> {
        logical_type(
            "c",
            &ColumnTypeInfo {
                column_type,
                ..ColumnTypeInfo::default()
            },
        )
    }

    fn with_charset(column_type: &str, charset: &str) -> LogicalType {
        logical_type(
            "c",
            &ColumnTypeInfo {
                column_type,
                charset: Some(charset),
                ..ColumnTypeInfo::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn integers_keep_width_and_signedness() {
        let cases = [
            ("tinyint(4)", T::Int8),
            ("tinyint(1)", T::Int8),
            ("tinyint(3) unsigned", T::UInt8),
            ("smallint(6)", T::Int16),
            ("smallint unsigned", T::UInt16),
            ("mediumint(9)", T::Int24),
            ("mediumint(8) unsigned", T::UInt24),
            ("int(11)", T::Int32),
            ("int(10) unsigned zerofill", T::UInt32),
            ("int zerofill", T::UInt32),
            ("bigint(20)", T::Int64),
            ("bigint(20) unsigned", T::UInt64),
            ("BIGINT UNSIGNED", T::UInt64),
            ("bool", T::Int8),
        ];
        for (column_type, expected) in cases {
            assert_eq!(parse(column_type).unwrap(), expected, "{column_type}");
        }
    }

    #[test]
    fn numbers_with_precision() {
        let decimal = |p, s| T::Decimal {
            precision: Some(p),
            scale: Some(s),
        };
        assert_eq!(parse("decimal(65,30)").unwrap(), decimal(65, 30));
        assert_eq!(parse("decimal(5,0)").unwrap(), decimal(5, 0));
        assert_eq!(parse("numeric(7)").unwrap(), decimal(7, 0));
        assert_eq!(parse("decimal").unwrap(), decimal(10, 0));
        assert_eq!(parse("decimal(10,2) unsigned").unwrap(), decimal(10, 2));
        assert_eq!(parse("float").unwrap(), T::Float32);
        assert_eq!(parse("float(10,3)").unwrap(), T::Float32);
        assert_eq!(parse("double").unwrap(), T::Float64);
        assert_eq!(parse("double(10,2)").unwrap(), T::Float64);
        assert_eq!(parse("double precision").unwrap(), T::Float64);
        assert_eq!(parse("bit(64)").unwrap(), T::Bit { width: 64 });
        assert_eq!(parse("bit").unwrap(), T::Bit { width: 1 });
    }

    #[test]
    fn character_types_carry_length_and_charset() {
        assert_eq!(
            with_charset("varchar(255)", "utf8mb4"),
            T::Varchar {
                length: Some(255),
                charset: Some("utf8mb4".into())
            }
        );
        assert_eq!(
            with_charset("char(10)", "latin1"),
            T::Char {
                length: Some(10),
                charset: Some("latin1".into())
            }
        );
        assert_eq!(
            with_charset("mediumtext", "utf8mb3"),
            T::Text {
                charset: Some("utf8mb3".into())
            }
        );
        assert_eq!(
            with_charset("char(5)", "binary"),
            T::Binary { length: Some(5) }
        );
        assert_eq!(with_charset("text", "binary"), T::Blob);
        assert_eq!(parse("binary(16)").unwrap(), T::Binary { length: Some(16) });
        assert_eq!(
            parse("varbinary(20)").unwrap(),
            T::Varbinary { length: Some(20) }
        );
        assert_eq!(parse("longblob").unwrap(), T::Blob);
    }

    #[test]
    fn json_is_native_or_a_checked_longtext() {
        assert_eq!(parse("json").unwrap(), T::Json);
        let checked = ColumnTypeInfo {
            column_type: "longtext",
            charset: Some("utf8mb4"),
            json_checked: true,
            ..ColumnTypeInfo::default()
        };
        assert_eq!(logical_type("doc", &checked).unwrap(), T::Json);
        assert_eq!(
            json_valid_check_column("json_valid(`doc`)").as_deref(),
            Some("doc")
        );
        assert_eq!(
            json_valid_check_column("json_valid(`we``ird`)").as_deref(),
            Some("we`ird")
        );
        assert_eq!(json_valid_check_column("json_valid(`a`) and 1 = 1"), None);
        assert_eq!(json_valid_check_column("`a` > 0"), None);
    }

    #[test]
    fn temporal_types_carry_fractional_seconds() {
        assert_eq!(parse("date").unwrap(), T::Date);
        assert_eq!(parse("time(3)").unwrap(), T::Time { fsp: 3 });
        assert_eq!(parse("datetime(6)").unwrap(), T::DateTime { fsp: 6 });
        assert_eq!(parse("timestamp").unwrap(), T::Timestamp { fsp: 0 });
        assert_eq!(parse("year(4)").unwrap(), T::Year);
        let from_precision = ColumnTypeInfo {
            column_type: "datetime",
            datetime_precision: Some(3),
            ..ColumnTypeInfo::default()
        };
        assert_eq!(
            logical_type("c", &from_precision).unwrap(),
            T::DateTime { fsp: 3 }
        );
    }

    #[test]
    fn enum_and_set_labels_are_unescaped() {
        assert_eq!(
            parse(r#"enum('a','b''c','d\\e','f"g','h i','x,y')"#).unwrap(),
            T::Enum {
                labels: vec![
                    "a".into(),
                    "b'c".into(),
                    r"d\e".into(),
                    "f\"g".into(),
                    "h i".into(),
                    "x,y".into()
                ]
            }
        );
        assert_eq!(
            parse("set('x', 'y')").unwrap(),
            T::Set {
                labels: vec!["x".into(), "y".into()]
            }
        );
        assert_eq!(
            parse("enum('')").unwrap(),
            T::Enum {
                labels: vec![String::new()]
            }
        );
        assert_eq!(
            parse("enum('a").unwrap_err().reason,
            TypeErrorReason::Malformed
        );
        assert_eq!(
            parse("enum(a)").unwrap_err().reason,
            TypeErrorReason::Malformed
        );
    }

    #[test]
    fn unsupported_types_name_the_column() {
        let err = logical_type(
            "shape",
            &ColumnTypeInfo {
                column_type: "geometry",
                ..ColumnTypeInfo::default()
            },
        )
        .unwrap_err();
        assert_eq!(err.reason, TypeErrorReason::Unsupported);
        assert!(err.to_string().contains("column `shape`"), "{err}");
        assert_eq!(
            parse("inet6").unwrap_err().reason,
            TypeErrorReason::Unsupported
        );
        assert_eq!(
            parse("frobnicate").unwrap_err().reason,
            TypeErrorReason::Unknown
        );
        assert_eq!(parse("").unwrap_err().reason, TypeErrorReason::Malformed);
        assert_eq!(parse("uuid").unwrap(), T::Uuid);
    }

    #[test]
    fn identifiers_are_quoted_with_doubled_backticks() {
        assert_eq!(quote_ident("plain"), "`plain`");
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(
            qualified_name("shop", "order items"),
            "`shop`.`order items`"
        );
    }
}
