//! Index expressions in one spelling, so that what a DBML file says and
//! what the server prints back compare equal: PostgreSQL reads
//! `lower(email)` on a `varchar` column back as `lower(email::text)`,
//! MySQL 8 as ``lower(`email`)``. The canonical form is for comparing
//! only; the SQL keeps the text as written.
//!
//! Rules, outside string literals: `::type` casts are removed, identifier
//! quotes (`"`, `` ` ``) and whitespace dropped, letters lowercased, and
//! parentheses that group a single operand, a whole call argument or the
//! whole expression removed. A change that only adds or removes a cast is not seen.

/// `expression` in its canonical spelling (see the module doc).
pub fn canonical_expression(expression: &str) -> String {
    let flat = flatten(&strip_casts(expression));
    strip_groups(&flat)
}

/// Multi-word type names a cast may use; others are one word.
const LONG_TYPES: [&str; 6] = [
    "character varying",
    "double precision",
    "timestamp without time zone",
    "timestamp with time zone",
    "time without time zone",
    "time with time zone",
];

/// The text without `::type` casts (outside string literals).
fn strip_casts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\'' {
            let end = literal_end(rest);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else if let Some(after) = rest.strip_prefix("::") {
            rest = &after[cast_type_len(after)..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// The length of a `'…'` literal at the start of `text` (`''` inside).
fn literal_end(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    text.len()
}

/// How many bytes of `text` the type of a cast takes: a (quoted, dotted)
/// name or one of [`LONG_TYPES`], then `(…)` arguments and `[]`.
fn cast_type_len(text: &str) -> usize {
    let trimmed = text.trim_start();
    let mut len = text.len() - trimmed.len();
    let lower = trimmed.to_ascii_lowercase();
    let long = LONG_TYPES.iter().find(|t| {
        lower.starts_with(*t)
            && !lower[t.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    });
    len += match long {
        Some(name) => name.len(),
        None => trimmed
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '"' | '$')))
            .unwrap_or(trimmed.len()),
    };
    let tail = &text[len..];
    if tail.starts_with('(') {
        len += tail.find(')').map_or(tail.len(), |end| end + 1);
    }
    while text[len..].starts_with("[]") {
        len += 2;
    }
    len
}

/// Lowercase, without whitespace and identifier quotes, outside literals.
fn flatten(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        if c == '\'' {
            quoted = !quoted;
        }
        if quoted || c == '\'' {
            out.push(c);
        } else if !(c.is_whitespace() || c == '"' || c == '`') {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// Removes grouping parentheses (not a call's) around one operand, around
/// a whole argument and around the whole text, until none is left.
fn strip_groups(text: &str) -> String {
    let mut current = text.to_owned();
    loop {
        let next = strip_one_group(&current);
        if next == current {
            return current;
        }
        current = next;
    }
}

fn strip_one_group(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut quoted = false;
    let mut opens: Vec<usize> = Vec::new();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => opens.push(i),
            b')' if !quoted => {
                let Some(open) = opens.pop() else { continue };
                let call = open > 0 && is_name_byte(bytes[open - 1]);
                let inner = &text[open + 1..i];
                let alone = (open == 0 || matches!(bytes[open - 1], b'(' | b','))
                    && matches!(bytes.get(i + 1), None | Some(b')' | b','));
                if !call && !inner.is_empty() && (alone || is_operand(inner)) {
                    return format!("{}{inner}{}", &text[..open], &text[i + 1..]);
                }
            }
            _ => {}
        }
    }
    text.to_owned()
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Whether `text` is one operand: a name, a number, a literal or a call,
/// with no operator at its top level.
fn is_operand(text: &str) -> bool {
    if text.starts_with('\'') {
        return literal_end(text) == text.len();
    }
    let name_len = text
        .bytes()
        .position(|b| !(is_name_byte(b) || b == b'.'))
        .unwrap_or(text.len());
    if name_len == text.len() {
        return true;
    }
    // A call: a name, then one parenthesised argument list to the end.
    name_len > 0 && text[name_len..].starts_with('(') && closes_at_end(&text[name_len..])
}

/// Whether the `(` that starts `text` is closed by its last byte.
fn closes_at_end(text: &str) -> bool {
    let mut depth = 0usize;
    let mut quoted = false;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i == text.len() - 1;
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::canonical_expression as canon;

    #[test]
    fn postgres_casts_and_grouping_compare_like_the_dbml_spelling() {
        assert_eq!(canon("lower((email)::text)"), canon("lower(email)"));
        assert_eq!(canon("lower(email)"), "lower(email)");
        assert_eq!(canon("lower(email::text)"), "lower(email)");
        assert_eq!(canon("(a + b)"), canon("a+b"));
        assert_eq!(
            canon("date_trunc('day'::text, created_at)"),
            canon("date_trunc('day', created_at)")
        );
        assert_eq!(
            canon("COALESCE(nickname, ''::character varying)"),
            canon("coalesce(nickname, '')")
        );
        assert_eq!(canon("(data ->> 'sku'::text)"), canon("data->>'sku'"));
        assert_eq!(
            canon("((created_at)::timestamp with time zone)"),
            "created_at"
        );
        assert_eq!(canon("(x)::numeric(10,2)"), "x");
        assert_eq!(canon("(tags)::text[]"), "tags");
    }

    #[test]
    fn mysql_backticks_and_case_do_not_matter_but_literals_do() {
        assert_eq!(canon("lower(`email`)"), canon("LOWER(email)"));
        assert_eq!(canon("\"Name\""), "name");
        assert_ne!(canon("concat(a, 'X Y')"), canon("concat(a, 'x y')"));
        assert_eq!(canon("concat(a, 'X Y')"), "concat(a,'X Y')");
        assert_eq!(canon("'it''s'::text"), "'it''s'");
    }

    #[test]
    fn grouping_that_changes_meaning_is_kept() {
        assert_eq!(canon("(a + b) * c"), "(a+b)*c");
        assert_ne!(canon("(a + b) * c"), canon("a + b * c"));
        assert_eq!(canon("f((a), (b + 1))"), "f(a,b+1)");
        assert_eq!(canon("-(a + b)"), "-(a+b)");
    }

    #[test]
    fn odd_input_does_not_panic() {
        for text in [
            "",
            "(",
            ")",
            "'",
            "::",
            "a::",
            "((",
            "x::character",
            "é(ü)",
            "(')')",
        ] {
            let _ = canon(text);
        }
    }
}
