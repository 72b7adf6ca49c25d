//! Names in generated DDL: schema-qualified and quoted per dialect, with
//! the optional schema prefix, and generated names kept within the
//! identifier length limits (63 bytes in PostgreSQL, 64 in MySQL).

use crate::dbml::{DEFAULT_SCHEMA, QualifiedName};
use crate::dialect::{mysql, postgres};

use super::Dialect;

/// Names objects for one dialect and options.
pub(super) struct Namer<'a> {
    pub dialect: Dialect,
    pub prefix: Option<&'a str>,
}

impl Namer<'_> {
    pub fn quote(&self, identifier: &str) -> String {
        match self.dialect {
            Dialect::Postgres => postgres::quote_ident(identifier),
            Dialect::Mysql => mysql::quote_ident(identifier),
        }
    }

    /// The schema an object lands in, or `None` for the connection's own
    /// (unqualified names; MySQL's `public` too, which is DBML's default).
    pub fn schema(&self, name: &QualifiedName) -> Option<String> {
        let schema = name.schema.as_deref()?;
        if schema == DEFAULT_SCHEMA {
            return match self.dialect {
                Dialect::Postgres => Some(schema.to_owned()),
                Dialect::Mysql => None,
            };
        }
        Some(format!("{}{schema}", self.prefix.unwrap_or("")))
    }

    /// `"schema"."name"` or `"name"`.
    pub fn qualified(&self, name: &QualifiedName) -> String {
        match self.schema(name) {
            Some(schema) => format!("{}.{}", self.quote(&schema), self.quote(&name.name)),
            None => self.quote(&name.name),
        }
    }

    /// A generated name within the dialect's length limit.
    pub fn limited(&self, name: &str) -> String {
        limit_identifier(name, 63)
    }
}

/// `name` if it fits in `max` bytes, else a prefix of it and a short hash
/// of the whole, so that long generated names stay distinct and stable.
pub fn limit_identifier(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut cut = max.saturating_sub(9);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{:08x}", &name[..cut], hash as u32)
}

/// A single-quoted SQL string; MySQL also doubles backslashes, which it
/// reads as escapes.
pub(super) fn string_literal(dialect: Dialect, text: &str) -> String {
    let escaped = text.replace('\'', "''");
    match dialect {
        Dialect::Postgres => format!("'{escaped}'"),
        Dialect::Mysql => format!("'{}'", escaped.replace('\\', "\\\\")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_with_a_stable_hash() {
        let long = "a".repeat(80);
        let limited = limit_identifier(&long, 63);
        assert_eq!(limited.len(), 63);
        assert_eq!(limited, limit_identifier(&long, 63));
        assert_ne!(limited, limit_identifier(&"a".repeat(81), 63));
        assert_eq!(limit_identifier("short", 63), "short");
    }

    #[test]
    fn mysql_strings_escape_backslashes_and_quotes() {
        assert_eq!(string_literal(Dialect::Mysql, r"it's a\b"), r"'it''s a\\b'");
        assert_eq!(
            string_literal(Dialect::Postgres, r"it's a\b"),
            r"'it''s a\b'"
        );
    }
}
