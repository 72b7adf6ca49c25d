//! DBML diagnostics: a message at a span while parsing, and the rendered
//! form users read (`file:line:column`, the source line, a caret under the
//! column, and what was expected).

use std::fmt;

use super::model::Span;

/// A problem found at a span, before it is given a file and a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDiagnostic {
    pub span: Span,
    pub message: String,
}

impl RawDiagnostic {
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Self {
            span,
            message: message.into(),
        }
    }
}

/// A diagnostic placed in its file: 1-based line and column (in
/// characters), the text of that line, and the message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    #[serde(skip)]
    pub line_text: String,
}

impl Diagnostic {
    /// Places `raw` in `text`, the contents of `file`.
    pub fn locate(file: &str, text: &str, raw: &RawDiagnostic) -> Self {
        let (line, column, line_text) = line_and_column(text, raw.span.start);
        Self {
            file: file.to_owned(),
            line,
            column,
            message: raw.message.clone(),
            line_text,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )?;
        writeln!(f, "  | {}", self.line_text)?;
        write!(f, "  | {}^", " ".repeat(self.column.saturating_sub(1)))
    }
}

/// 1-based line and column of byte `offset`, and that line's text (tabs
/// shown as single spaces so the caret lines up).
pub fn line_and_column(text: &str, offset: usize) -> (usize, usize, String) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let column = text[line_start..offset].chars().count() + 1;
    let line_text = text[line_start..line_end]
        .trim_end_matches('\r')
        .replace('\t', " ");
    (line, column, line_text)
}

/// Every error found in one file, in source order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbmlErrors {
    pub diagnostics: Vec<Diagnostic>,
}

impl DbmlErrors {
    /// Places and sorts `raw` diagnostics found in `text`.
    pub fn new(file: &str, text: &str, raw: &[RawDiagnostic]) -> Self {
        let mut sorted: Vec<&RawDiagnostic> = raw.iter().collect();
        sorted.sort_by_key(|d| d.span.start);
        sorted.dedup_by(|a, b| a.span.start == b.span.start && a.message == b.message);
        Self {
            diagnostics: sorted
                .into_iter()
                .map(|d| Diagnostic::locate(file, text, d))
                .collect(),
        }
    }
}

impl fmt::Display for DbmlErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, diagnostic) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diagnostic_shows_the_line_and_a_caret_under_the_column() {
        let text = "Table t {\n  id int [pkk]\n}\n";
        let raw = RawDiagnostic::new(Span::new(20, 23), "unknown column setting `pkk`");
        let rendered = Diagnostic::locate("s.dbml", text, &raw).to_string();
        assert_eq!(
            rendered,
            "s.dbml:2:11: unknown column setting `pkk`\n  |   id int [pkk]\n  |           ^"
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let (line, column, _) = line_and_column("é é x", 5);
        assert_eq!((line, column), (1, 4));
        assert_eq!(line_and_column("a\n", 99).0, 2);
    }
}
