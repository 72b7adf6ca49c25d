//! Expression defaults in each dialect: a DBML file written for one
//! database (`gen_random_uuid()`, `uuid()`, `curdate()`) must give DDL the
//! other one accepts. Known functions are translated to the dialect's
//! equivalent; an expression MySQL/MariaDB would refuse (a function it
//! has no equivalent for, a PostgreSQL cast on something other than a
//! literal) is left out, and the caller warns naming table and column.
//! PostgreSQL takes any function its extensions define, so there only the
//! MySQL-only spellings are translated and the rest is kept.

use crate::ddl::Dialect;

/// Why an expression default has no form in a dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoEquivalent {
    /// What the dialect lacks, e.g. `` `nextval()` ``.
    pub what: String,
    pub dialect: Dialect,
}

impl std::fmt::Display for NoEquivalent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dialect = match self.dialect {
            Dialect::Postgres => "PostgreSQL",
            Dialect::Mysql => "MySQL/MariaDB",
        };
        write!(f, "{} has no {dialect} equivalent", self.what)
    }
}

/// `expression` (a default, without outer `DEFAULT`) as `dialect` spells it.
pub fn expression_default(dialect: Dialect, expression: &str) -> Result<String, NoEquivalent> {
    let tokens = tokens(expression);
    let mut out = String::with_capacity(expression.len());
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        let called = tokens.get(i + 1).is_some_and(|t| t.text == "(");
        match token.kind {
            Kind::Word if called => {
                let empty_call = tokens.get(i + 2).is_some_and(|t| t.text == ")");
                let name = token.text.to_ascii_lowercase();
                match function(dialect, &name, empty_call) {
                    Function::Keep => out.push_str(token.text),
                    Function::Rename(to) => out.push_str(to),
                    Function::Whole(to) => {
                        out.push_str(to);
                        i += 3;
                        continue;
                    }
                    Function::Missing => return Err(missing(dialect, format!("`{name}()`"))),
                }
            }
            Kind::Word if dialect == Dialect::Mysql => {
                let word = token.text.to_ascii_lowercase();
                // `b'0101'`, `x'ff'`, `n'text'`: a literal with a prefix.
                let prefixed = matches!(word.as_str(), "b" | "x" | "n")
                    && tokens
                        .get(i + 1)
                        .is_some_and(|t| t.kind == Kind::String && t.start == token.end);
                if !prefixed && !MYSQL_WORDS.contains(&word.as_str()) {
                    return Err(missing(dialect, format!("`{}`", token.text)));
                }
                out.push_str(&word);
            }
            Kind::Cast if dialect == Dialect::Mysql => {
                // `'{}'::jsonb`: MySQL has no `::`; a cast of a literal is
                // the literal, anything else is refused.
                let literal = i > 0 && matches!(tokens[i - 1].kind, Kind::String | Kind::Number);
                if !literal {
                    return Err(missing(dialect, "a `::` cast".to_owned()));
                }
                i = skip_cast_type(&tokens, i + 1);
                continue;
            }
            Kind::Quoted if dialect == Dialect::Mysql => {
                return Err(missing(dialect, format!("`{}`", token.text)));
            }
            _ => out.push_str(token.text),
        }
        if let Some(next) = tokens.get(i + 1) {
            out.push_str(&expression[token.end..next.start]);
        }
        i += 1;
    }
    Ok(out)
}

fn missing(dialect: Dialect, what: String) -> NoEquivalent {
    NoEquivalent { what, dialect }
}

enum Function {
    Keep,
    Rename(&'static str),
    /// Replaces the whole call `name()`.
    Whole(&'static str),
    Missing,
}

/// Functions MySQL 8 / MariaDB 10.2+ take in a `DEFAULT (…)` expression.
const MYSQL_FUNCTIONS: &[&str] = &[
    "now",
    "current_timestamp",
    "localtimestamp",
    "localtime",
    "curdate",
    "curtime",
    "current_date",
    "current_time",
    "utc_timestamp",
    "utc_date",
    "utc_time",
    "unix_timestamp",
    "uuid",
    "rand",
    "concat",
    "lower",
    "upper",
    "coalesce",
    "ifnull",
    "round",
    "abs",
    "floor",
    "ceil",
    "json_object",
    "json_array",
    "date_add",
    "date_sub",
    "date_format",
    "from_unixtime",
    "year",
    "month",
    "day",
];

fn function(dialect: Dialect, name: &str, empty_call: bool) -> Function {
    match dialect {
        Dialect::Mysql => match name {
            "gen_random_uuid" | "uuid_generate_v4" => Function::Rename("uuid"),
            "transaction_timestamp" | "statement_timestamp" | "clock_timestamp" => {
                Function::Rename("now")
            }
            "random" => Function::Rename("rand"),
            _ if MYSQL_FUNCTIONS.contains(&name) => Function::Keep,
            _ => Function::Missing,
        },
        Dialect::Postgres => match name {
            "uuid" => Function::Rename("gen_random_uuid"),
            "rand" => Function::Rename("random"),
            "ifnull" => Function::Rename("coalesce"),
            "sysdate" => Function::Rename("clock_timestamp"),
            "curdate" if empty_call => Function::Whole("current_date"),
            "curtime" if empty_call => Function::Whole("current_time"),
            "utc_timestamp" if empty_call => Function::Whole("(now() at time zone 'utc')"),
            "unix_timestamp" if empty_call => Function::Whole("extract(epoch from now())"),
            "uuid_short" | "curdate" | "curtime" | "utc_timestamp" | "unix_timestamp" => {
                Function::Missing
            }
            _ => Function::Keep,
        },
    }
}

/// Bare words MySQL/MariaDB take in a default expression.
const MYSQL_WORDS: &[&str] = &[
    "current_timestamp",
    "localtimestamp",
    "localtime",
    "current_date",
    "current_time",
    "current_user",
    "null",
    "true",
    "false",
    "and",
    "or",
    "not",
    "is",
    "interval",
    "day",
    "hour",
    "minute",
    "second",
    "month",
    "year",
    "week",
];

/// After `::`: the type name (words, `(n)`, `[]`); the index past it.
fn skip_cast_type(tokens: &[Token<'_>], mut i: usize) -> usize {
    let mut depth = 0usize;
    while let Some(token) = tokens.get(i) {
        match (token.kind, token.text) {
            (Kind::Word | Kind::Quoted | Kind::Number, _) => {}
            (_, "(" | "[") => depth += 1,
            (_, ")" | "]") if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            _ => break,
        }
        i += 1;
    }
    i
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Word,
    Quoted,
    String,
    Number,
    Cast,
    Punct,
}

#[derive(Debug)]
struct Token<'a> {
    kind: Kind,
    text: &'a str,
    start: usize,
    end: usize,
}

/// The expression's tokens, with their byte positions (white space between
/// tokens is copied from the source).
fn tokens(text: &str) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let kind = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'\'' | b'"' | b'`' => {
                i = closing_quote(bytes, i, c);
                if c == b'\'' {
                    Kind::String
                } else {
                    Kind::Quoted
                }
            }
            b'0'..=b'9' | b'.' if c != b'.' || bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                    i += 1;
                }
                Kind::Number
            }
            b':' if bytes.get(i + 1) == Some(&b':') => {
                i += 2;
                Kind::Cast
            }
            _ if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                Kind::Word
            }
            _ => {
                i += text[i..].chars().next().map_or(1, char::len_utf8);
                Kind::Punct
            }
        };
        out.push(Token {
            kind,
            text: &text[start..i],
            start,
            end: i,
        });
    }
    out
}

/// Past the quote that closes the one at `open` (a doubled quote is part
/// of the text); the end of the text when it is not closed.
fn closing_quote(bytes: &[u8], open: usize, quote: u8) -> usize {
    let mut i = open + 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn my(e: &str) -> Result<String, String> {
        expression_default(Dialect::Mysql, e).map_err(|e| e.to_string())
    }

    fn pg(e: &str) -> Result<String, String> {
        expression_default(Dialect::Postgres, e).map_err(|e| e.to_string())
    }

    #[test]
    fn uuid_functions_become_each_dialects_own() {
        assert_eq!(my("gen_random_uuid()").as_deref(), Ok("uuid()"));
        assert_eq!(my("uuid_generate_v4()").as_deref(), Ok("uuid()"));
        assert_eq!(pg("uuid()").as_deref(), Ok("gen_random_uuid()"));
        assert_eq!(pg("UUID()").as_deref(), Ok("gen_random_uuid()"));
    }

    #[test]
    fn time_functions_take_the_forms_each_dialect_accepts() {
        assert_eq!(my("now()").as_deref(), Ok("now()"));
        assert_eq!(my("CURRENT_TIMESTAMP").as_deref(), Ok("current_timestamp"));
        assert_eq!(my("clock_timestamp()").as_deref(), Ok("now()"));
        assert_eq!(pg("curdate()").as_deref(), Ok("current_date"));
        assert_eq!(
            pg("utc_timestamp()").as_deref(),
            Ok("(now() at time zone 'utc')")
        );
        assert_eq!(pg("now()").as_deref(), Ok("now()"));
    }

    #[test]
    fn expressions_keep_their_literals_and_spacing() {
        assert_eq!(
            my("concat('a', 'it''s' )").as_deref(),
            Ok("concat('a', 'it''s' )")
        );
        assert_eq!(my("rand() * 100").as_deref(), Ok("rand() * 100"));
        assert_eq!(pg("rand() * 100").as_deref(), Ok("random() * 100"));
        assert_eq!(pg("'{}'::jsonb").as_deref(), Ok("'{}'::jsonb"));
    }

    #[test]
    fn prefixed_literals_are_literals() {
        assert_eq!(my("b'0101'").as_deref(), Ok("b'0101'"));
        assert_eq!(my("X'FF'").as_deref(), Ok("x'FF'"));
        assert!(my("b '0101'").is_err());
    }

    #[test]
    fn a_cast_of_a_literal_is_the_literal_in_mysql() {
        assert_eq!(my("'{}'::jsonb").as_deref(), Ok("'{}'"));
        assert_eq!(my("'0'::numeric(10, 2)").as_deref(), Ok("'0'"));
        assert_eq!(my("'{}'::text[]").as_deref(), Ok("'{}'"));
    }

    #[test]
    fn what_mysql_lacks_is_named() {
        assert_eq!(
            my("nextval('users_id_seq'::regclass)"),
            Err("`nextval()` has no MySQL/MariaDB equivalent".to_owned())
        );
        assert_eq!(
            my("(now() - created_at)"),
            Err("`created_at` has no MySQL/MariaDB equivalent".to_owned())
        );
        assert_eq!(
            my("now()::date"),
            Err("a `::` cast has no MySQL/MariaDB equivalent".to_owned())
        );
        assert_eq!(
            pg("uuid_short()"),
            Err("`uuid_short()` has no PostgreSQL equivalent".to_owned())
        );
    }

    #[test]
    fn postgres_keeps_functions_it_may_have_from_extensions() {
        assert_eq!(pg("my_schema_fn(1)").as_deref(), Ok("my_schema_fn(1)"));
        assert_eq!(
            pg("nextval('s'::regclass)").as_deref(),
            Ok("nextval('s'::regclass)")
        );
    }

    #[test]
    fn no_input_panics() {
        for text in [
            "", "'", "(", "::", "a::", "`x", "ü()", ".5", "1.5e3", "f(((", "'a''",
        ] {
            let _ = my(text);
            let _ = pg(text);
        }
    }
}
