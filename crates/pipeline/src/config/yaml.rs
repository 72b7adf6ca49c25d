//! YAML text to a JSON tree, remembering the line of every key so that
//! errors found later can point at it. `${ENV}` interpolation happens here,
//! per scalar, so that its errors carry a line too.

use std::collections::HashMap;

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::env::Environment;
use super::error::{ConfigError, KeyPath};

/// Where each key path of the document was written (1-based lines).
pub type LineIndex = HashMap<KeyPath, usize>;

/// The order keys were written in, document-wide: mappings whose order
/// means something (`derive`, `mask`, the steps of a transform) read it
/// back, as the JSON tree keeps keys sorted.
pub type KeyOrder = HashMap<KeyPath, usize>;

/// The entries of the mapping at `at`, in the order they were written
/// (keys not from the file, e.g. overrides, last).
pub fn in_written_order(
    map: Map<String, Value>,
    at: &[String],
    order: &KeyOrder,
) -> Vec<(String, Value)> {
    let mut entries: Vec<(String, Value)> = map.into_iter().collect();
    let mut path = at.to_vec();
    entries.sort_by_cached_key(|(key, _)| {
        path.push(key.clone());
        let written = order.get(&path).copied().unwrap_or(usize::MAX);
        path.pop();
        written
    });
    entries
}

/// Parses one YAML document into a JSON tree, its line index and the
/// order of its keys.
pub fn parse(text: &str, env: &Environment) -> Result<(Value, LineIndex, KeyOrder), ConfigError> {
    let mut builder = TreeBuilder {
        env,
        stack: Vec::new(),
        path: KeyPath::new(),
        root: None,
        anchors: HashMap::new(),
        lines: LineIndex::new(),
        order: KeyOrder::new(),
        error: None,
    };
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut builder, false)
        .map_err(|e| ConfigError::Syntax {
            line: e.marker().line(),
            message: e.info().to_owned(),
        })?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    let root = builder.root.unwrap_or(Value::Null);
    Ok((root, builder.lines, builder.order))
}

/// Resolves a plain (unquoted) scalar by YAML's core schema.
pub fn plain_scalar(text: &str) -> Value {
    match yaml_rust2::Yaml::from_str(text) {
        yaml_rust2::Yaml::Integer(i) => Value::from(i),
        yaml_rust2::Yaml::Real(r) => r
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(text.to_owned()), Value::Number),
        yaml_rust2::Yaml::Boolean(b) => Value::Bool(b),
        yaml_rust2::Yaml::Null => Value::Null,
        _ => Value::String(text.to_owned()),
    }
}

enum Frame {
    Map {
        map: Map<String, Value>,
        key: Option<String>,
        anchor: usize,
    },
    Seq {
        items: Vec<Value>,
        anchor: usize,
    },
}

struct TreeBuilder<'a> {
    env: &'a Environment,
    stack: Vec<Frame>,
    path: KeyPath,
    root: Option<Value>,
    anchors: HashMap<usize, Value>,
    lines: LineIndex,
    order: KeyOrder,
    error: Option<ConfigError>,
}

impl TreeBuilder<'_> {
    fn scalar(&mut self, text: String, style: TScalarStyle, anchor: usize, mark: Marker) {
        if let Some(Frame::Map {
            key: key @ None, ..
        }) = self.stack.last_mut()
        {
            *key = Some(text.clone());
            self.path.push(text);
            self.lines.insert(self.path.clone(), mark.line());
            let next = self.order.len();
            self.order.insert(self.path.clone(), next);
            return;
        }
        let value = match self.env.interpolate(&text) {
            Ok(text) if style == TScalarStyle::Plain => plain_scalar(&text),
            Ok(text) => Value::String(text),
            Err(message) => {
                self.fail(ConfigError::at(self.path.clone(), mark.line(), message));
                Value::Null
            }
        };
        self.finish(value, anchor);
    }

    /// Places a completed node into its parent, or makes it the root.
    fn finish(&mut self, value: Value, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            Some(Frame::Map { map, key, .. }) => {
                if let Some(key) = key.take() {
                    map.insert(key, value);
                    self.path.pop();
                }
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(value);
                self.path.pop();
            }
            None => self.root = Some(value),
        }
    }

    /// Seq items get an index segment before their node starts.
    fn enter_node(&mut self, mark: Marker) {
        if let Some(Frame::Seq { items, .. }) = self.stack.last() {
            self.path.push(items.len().to_string());
            self.lines.insert(self.path.clone(), mark.line());
        }
    }

    fn fail(&mut self, error: ConfigError) {
        self.error.get_or_insert(error);
    }
}

impl MarkedEventReceiver for TreeBuilder<'_> {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(text, style, anchor, _tag) => {
                self.enter_node(mark);
                self.scalar(text, style, anchor, mark);
            }
            Event::MappingStart(anchor, _tag) => {
                self.enter_node(mark);
                self.stack.push(Frame::Map {
                    map: Map::new(),
                    key: None,
                    anchor,
                });
            }
            Event::SequenceStart(anchor, _tag) => {
                self.enter_node(mark);
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    anchor,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Map { map, anchor, .. }) => self.finish(Value::Object(map), anchor),
                Some(Frame::Seq { items, anchor }) => self.finish(Value::Array(items), anchor),
                None => {}
            },
            Event::Alias(id) => {
                self.enter_node(mark);
                let value = self.anchors.get(&id).cloned().unwrap_or(Value::Null);
                if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
                    self.fail(ConfigError::at(
                        self.path.clone(),
                        mark.line(),
                        "an alias cannot be used as a key".into(),
                    ));
                    return;
                }
                self.finish(value, 0);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> KeyPath {
        p.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn keys_remember_their_lines() {
        let text = "name: hb\nsource:\n  kind: generator\n  count: 5\nlist:\n  - a\n  - b\n";
        let (tree, lines, _) = parse(text, Environment::empty()).unwrap();
        assert_eq!(tree["source"]["count"], 5);
        assert_eq!(tree["list"][1], "b");
        assert_eq!(lines[&path("name")], 1);
        assert_eq!(lines[&path("source.count")], 4);
        assert_eq!(lines[&path("list.1")], 7);
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let (tree, ..) =
            parse("a: '5'\nb: 5\nc: true\nd: ~\ne: 1.5", Environment::empty()).unwrap();
        assert_eq!(tree["a"], "5");
        assert_eq!(tree["b"], 5);
        assert_eq!(tree["c"], true);
        assert!(tree["d"].is_null());
        assert_eq!(tree["e"], 1.5);
    }

    #[test]
    fn anchors_and_aliases_copy_values() {
        let (tree, ..) = parse(
            "base: &b { max_rows: 3 }\nother: *b\n",
            Environment::empty(),
        )
        .unwrap();
        assert_eq!(tree["other"]["max_rows"], 3);
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let err = parse("a: 1\nb: [unclosed\n", Environment::empty()).unwrap_err();
        assert!(
            matches!(err, ConfigError::Syntax { line, .. } if line >= 2),
            "{err}"
        );
    }
}
