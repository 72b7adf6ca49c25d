//! Which tables a MySQL source captures: `schema.table` patterns with `*`
//! globs, `!` for exclusions.

use watershed_events::glob_matches;

/// Parsed `tables:` patterns. A table is captured when some include
/// pattern matches it and no exclude pattern does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableFilter {
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    schema: String,
    table: String,
}

/// Schemas that hold the server's own tables; never captured, even by `*.*`.
const SYSTEM_SCHEMAS: &[&str] = &["mysql", "information_schema", "performance_schema", "sys"];

impl TableFilter {
    /// Parses `["shop.*", "!shop.tmp_*"]`; at least one include is needed.
    pub fn parse(patterns: &[String]) -> Result<Self, String> {
        let mut filter = Self {
            include: Vec::new(),
            exclude: Vec::new(),
        };
        for raw in patterns {
            let (list, text) = match raw.trim().strip_prefix('!') {
                Some(rest) => (&mut filter.exclude, rest),
                None => (&mut filter.include, raw.trim()),
            };
            let (schema, table) = text.split_once('.').ok_or_else(|| {
                format!("table pattern `{raw}` must be `schema.table` (`*` allowed)")
            })?;
            if schema.is_empty() || table.is_empty() {
                return Err(format!("table pattern `{raw}` has an empty part"));
            }
            list.push(Pattern {
                schema: schema.to_owned(),
                table: table.to_owned(),
            });
        }
        if filter.include.is_empty() {
            return Err(
                "tables: needs at least one pattern that includes tables, e.g. `shop.*`".into(),
            );
        }
        Ok(filter)
    }

    /// Whether `schema.table` is captured.
    pub fn matches(&self, schema: &str, table: &str) -> bool {
        if SYSTEM_SCHEMAS.contains(&schema) {
            return false;
        }
        let hit = |p: &Pattern| glob_matches(&p.schema, schema) && glob_matches(&p.table, table);
        self.include.iter().any(hit) && !self.exclude.iter().any(hit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(patterns: &[&str]) -> TableFilter {
        let owned: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
        TableFilter::parse(&owned).unwrap()
    }

    #[test]
    fn excludes_win_over_includes() {
        let f = filter(&["shop.*", "!shop.tmp_*", "crm.contacts"]);
        assert!(f.matches("shop", "orders"));
        assert!(!f.matches("shop", "tmp_orders"));
        assert!(f.matches("crm", "contacts"));
        assert!(!f.matches("crm", "leads"));
    }

    #[test]
    fn system_schemas_are_never_captured() {
        let f = filter(&["*.*"]);
        assert!(f.matches("anything", "t"));
        assert!(!f.matches("mysql", "user"));
        assert!(!f.matches("information_schema", "tables"));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in [&["orders"][..], &[".t"], &["s."], &["!s.t"]] {
            let owned: Vec<String> = bad.iter().map(|p| (*p).to_owned()).collect();
            assert!(TableFilter::parse(&owned).is_err(), "{bad:?}");
        }
    }
}
