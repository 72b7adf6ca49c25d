//! The environment's part in a pipeline file: `${VAR}` interpolation and
//! `WATERSHED_…` overrides (`__` separates path segments).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::error::KeyPath;

/// A snapshot of environment variables. Tests build their own instead of
/// changing the process environment.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

/// One `WATERSHED_…` override.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub variable: String,
    pub path: KeyPath,
    pub value: String,
}

const PREFIX: &str = "WATERSHED_";

impl Environment {
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars().collect(),
        }
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    pub fn empty() -> &'static Environment {
        static EMPTY: OnceLock<Environment> = OnceLock::new();
        EMPTY.get_or_init(Environment::default)
    }

    /// Replaces `${VAR}` and `${VAR:-default}`; `$$` is a literal `$`.
    pub fn interpolate(&self, text: &str) -> Result<String, String> {
        if !text.contains('$') {
            return Ok(text.to_owned());
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                out.push('$');
                rest = tail;
            } else if let Some(body) = after.strip_prefix('{') {
                let end = body
                    .find('}')
                    .ok_or_else(|| format!("unclosed `${{` in `{text}`: expected `${{NAME}}`"))?;
                out.push_str(&self.expand(&body[..end])?);
                rest = &body[end + 1..];
            } else {
                out.push('$');
                rest = after;
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    fn expand(&self, reference: &str) -> Result<String, String> {
        let (name, default) = match reference.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (reference, None),
        };
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "`${{{reference}}}` is not a valid variable reference"
            ));
        }
        match (self.vars.get(name), default) {
            (Some(value), _) => Ok(value.clone()),
            (None, Some(default)) => Ok(default.to_owned()),
            (None, None) => Err(format!(
                "environment variable {name} is not set (write ${{{name}:-default}} for a fallback)"
            )),
        }
    }

    /// `WATERSHED_A__B=v` sets key `a.b`, for variables whose first segment
    /// is one of `top_level_keys`; other `WATERSHED_` variables are not
    /// overrides.
    pub fn overrides(&self, top_level_keys: &[&str]) -> Vec<Override> {
        self.vars
            .iter()
            .filter_map(|(variable, value)| {
                let rest = variable.strip_prefix(PREFIX)?;
                let path: KeyPath = rest.split("__").map(str::to_lowercase).collect();
                top_level_keys
                    .contains(&path[0].as_str())
                    .then(|| Override {
                        variable: variable.clone(),
                        path,
                        value: value.clone(),
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_expands_defaults_and_escapes() {
        let env = Environment::from_pairs([("HOST", "db1"), ("EMPTY", "")]);
        assert_eq!(
            env.interpolate("mysql://${HOST}:3306").unwrap(),
            "mysql://db1:3306"
        );
        assert_eq!(env.interpolate("${PORT:-3306}").unwrap(), "3306");
        assert_eq!(env.interpolate("[${EMPTY}]").unwrap(), "[]");
        assert_eq!(env.interpolate("cost $$5 or $5").unwrap(), "cost $5 or $5");
    }

    #[test]
    fn interpolation_names_what_is_wrong() {
        let env = Environment::default();
        let unset = env.interpolate("${SHOP_DB_URL}").unwrap_err();
        assert!(unset.contains("SHOP_DB_URL is not set"), "{unset}");
        assert!(
            env.interpolate("${UNCLOSED")
                .unwrap_err()
                .contains("unclosed")
        );
        assert!(
            env.interpolate("${1BAD}")
                .unwrap_err()
                .contains("not a valid")
        );
    }

    #[test]
    fn overrides_split_on_double_underscores() {
        let env = Environment::from_pairs([
            ("WATERSHED_SINK__PATH", "/tmp/x.db"),
            ("WATERSHED_DEFAULTS__BATCH__MAX_ROWS", "10"),
            ("WATERSHED_LOG_FORMAT", "json"),
            ("HOME", "/root"),
        ]);
        let overrides = env.overrides(&["sink", "defaults"]);
        let paths: Vec<String> = overrides.iter().map(|o| o.path.join(".")).collect();
        assert_eq!(paths, ["defaults.batch.max_rows", "sink.path"]);
    }
}
