//! What commands print on stdout: plans and summaries, as text or JSON.

use serde_json::Value;
use watershed_pipeline::redact_urls;

/// Prints `value` as JSON (`--json`) or as indented `key: value` text.
pub fn print(value: &Value, json: bool) {
    let text = if json {
        value.to_string()
    } else {
        let mut text = String::new();
        write_text(&mut text, value, 0);
        text.trim_end().to_owned()
    };
    println!("{}", redact_urls(&text));
}

fn write_text(out: &mut String, value: &Value, indent: usize) {
    let pad = "  ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match item {
                    Value::Object(inner) if !inner.is_empty() => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        write_text(out, item, indent + 1);
                    }
                    _ => out.push_str(&format!("{pad}{key}: {}\n", scalar(item))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Object(map) if map.is_empty() => "{}".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_objects_print_as_indented_text() {
        let mut out = String::new();
        write_text(
            &mut out,
            &serde_json::json!({"a": 1, "b": {"c": "x", "d": null}}),
            0,
        );
        assert_eq!(out, "a: 1\nb:\n  c: x\n  d: -\n");
    }
}
