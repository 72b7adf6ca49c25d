//! Which tables a MySQL source captures: `schema.table` patterns with `*`
//! globs, `!` for exclusions.

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
        let hit = |p: &Pattern| glob(&p.schema, schema) && glob(&p.table, table);
        self.include.iter().any(hit) && !self.exclude.iter().any(hit)
    }
}

/// `*` matches any run of characters (also none); everything else matches
/// itself. Iterative with one backtrack point, so it never explodes.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((star_p, star_t)) = star {
            pi = star_p + 1;
            ti = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(patterns: &[&str]) -> TableFilter {
        let owned: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
        TableFilter::parse(&owned).unwrap()
    }

    #[test]
    fn globs_match_runs_of_characters() {
        assert!(glob("*", ""));
        assert!(glob("tmp_*", "tmp_"));
        assert!(glob("tmp_*", "tmp_orders"));
        assert!(!glob("tmp_*", "orders_tmp_"));
        assert!(glob("*_log", "audit_log"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(glob("orders", "orders"));
        assert!(!glob("orders", "orders2"));
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
