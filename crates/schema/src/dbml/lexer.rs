//! DBML tokens: names, strings (single, double-quoted identifiers, and
//! de-indented triple-quoted), numbers, backtick expressions, colours,
//! punctuation and the newlines that end a line. Comments are dropped.
//! The lexer never fails: it reports problems and carries on.

use super::error::RawDiagnostic;
use super::model::Span;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ident,
    /// `"name"`: a name that may hold any character.
    QuotedIdent,
    /// `'text'` or `'''text'''`, unescaped.
    Str,
    Number,
    /// `` `expr` ``, without the backticks.
    Expr,
    /// `#3498db`.
    Color,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Comma,
    Colon,
    Dot,
    Lt,
    Gt,
    Minus,
    /// `<>`.
    LtGt,
    Tilde,
    Newline,
    Eof,
}

impl Kind {
    /// How the kind reads in "expected …" messages.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Ident => "a name",
            Kind::QuotedIdent => "a quoted name",
            Kind::Str => "a string",
            Kind::Number => "a number",
            Kind::Expr => "a `backtick expression`",
            Kind::Color => "a colour",
            Kind::LBrace => "`{`",
            Kind::RBrace => "`}`",
            Kind::LBracket => "`[`",
            Kind::RBracket => "`]`",
            Kind::LParen => "`(`",
            Kind::RParen => "`)`",
            Kind::Comma => "`,`",
            Kind::Colon => "`:`",
            Kind::Dot => "`.`",
            Kind::Lt => "`<`",
            Kind::Gt => "`>`",
            Kind::Minus => "`-`",
            Kind::LtGt => "`<>`",
            Kind::Tilde => "`~`",
            Kind::Newline => "the end of the line",
            Kind::Eof => "the end of the file",
        }
    }
}

/// One token: its kind, its value (unescaped for strings) and its span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub text: String,
    pub span: Span,
}

/// Splits `source` into tokens, always ending with [`Kind::Eof`].
pub fn tokenize(source: &str) -> (Vec<Token>, Vec<RawDiagnostic>) {
    let mut lexer = Lexer {
        source,
        pos: 0,
        tokens: Vec::new(),
        errors: Vec::new(),
    };
    lexer.run();
    (lexer.tokens, lexer.errors)
}

struct Lexer<'a> {
    source: &'a str,
    pos: usize,
    tokens: Vec<Token>,
    errors: Vec<RawDiagnostic>,
}

impl Lexer<'_> {
    fn run(&mut self) {
        while let Some(c) = self.peek() {
            let start = self.pos;
            match c {
                '\n' => {
                    self.bump();
                    if self.tokens.last().is_some_and(|t| t.kind != Kind::Newline) {
                        self.push(Kind::Newline, String::new(), start);
                    }
                }
                c if c.is_whitespace() => self.bump(),
                '/' if self.rest().starts_with("//") => self.line_comment(),
                '/' if self.rest().starts_with("/*") => self.block_comment(),
                '\'' if self.rest().starts_with("'''") => self.triple_string(),
                '\'' => self.quoted(Kind::Str, '\''),
                '"' => self.quoted(Kind::QuotedIdent, '"'),
                '`' => self.expression(),
                '#' => self.color(),
                '<' if self.rest().starts_with("<>") => {
                    self.pos += 2;
                    self.push(Kind::LtGt, "<>".into(), start);
                }
                c if c.is_alphanumeric() || c == '_' => self.word(),
                c => self.punct(c),
            }
        }
        let end = self.source.len();
        self.push(Kind::Eof, String::new(), end);
    }

    fn rest(&self) -> &str {
        &self.source[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek() {
            self.pos += c.len_utf8();
        }
    }

    fn push(&mut self, kind: Kind, text: String, start: usize) {
        self.tokens.push(Token {
            kind,
            text,
            span: Span::new(start, self.pos),
        });
    }

    fn error(&mut self, start: usize, message: impl Into<String>) {
        self.errors
            .push(RawDiagnostic::new(Span::new(start, self.pos), message));
    }

    fn punct(&mut self, c: char) {
        let start = self.pos;
        self.bump();
        let kind = match c {
            '{' => Kind::LBrace,
            '}' => Kind::RBrace,
            '[' => Kind::LBracket,
            ']' => Kind::RBracket,
            '(' => Kind::LParen,
            ')' => Kind::RParen,
            ',' => Kind::Comma,
            ':' => Kind::Colon,
            '.' => Kind::Dot,
            '<' => Kind::Lt,
            '>' => Kind::Gt,
            '-' => Kind::Minus,
            '~' => Kind::Tilde,
            other => {
                self.error(start, format!("unexpected character `{other}`"));
                return;
            }
        };
        self.push(kind, c.to_string(), start);
    }

    fn line_comment(&mut self) {
        let end = self
            .rest()
            .find('\n')
            .map_or(self.source.len(), |i| self.pos + i);
        self.pos = end;
    }

    fn block_comment(&mut self) {
        let start = self.pos;
        match self.rest()[2..].find("*/") {
            Some(i) => self.pos += i + 4,
            None => {
                self.pos = self.source.len();
                self.error(start, "unterminated comment: expected `*/`");
            }
        }
    }

    /// A name, or a number (`12`, `3.5`).
    fn word(&mut self) {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.bump();
        }
        let word = &self.source[start..self.pos];
        if !word.chars().all(|c| c.is_ascii_digit()) {
            self.push(Kind::Ident, word.to_owned(), start);
            return;
        }
        let fraction = self.rest().strip_prefix('.').map(|r| {
            r.chars()
                .take_while(char::is_ascii_digit)
                .map(char::len_utf8)
                .sum::<usize>()
        });
        if let Some(len @ 1..) = fraction {
            self.pos += 1 + len;
        }
        let text = self.source[start..self.pos].to_owned();
        self.push(Kind::Number, text, start);
    }

    fn color(&mut self) {
        let start = self.pos;
        self.bump();
        while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
            self.bump();
        }
        let text = self.source[start..self.pos].to_owned();
        if text.len() == 1 {
            self.error(start, "expected a colour such as `#3498db` after `#`");
            return;
        }
        self.push(Kind::Color, text, start);
    }

    fn expression(&mut self) {
        let start = self.pos;
        self.bump();
        match self.rest().find('`') {
            Some(i) => {
                let text = self.rest()[..i].to_owned();
                self.pos += i + 1;
                self.push(Kind::Expr, text, start);
            }
            None => {
                self.pos = self.source.len();
                self.error(
                    start,
                    "unterminated expression: expected a closing backtick",
                );
            }
        }
    }

    /// `'…'` or `"…"` on one line, with backslash escapes.
    fn quoted(&mut self, kind: Kind, quote: char) {
        let start = self.pos;
        self.bump();
        let mut text = String::new();
        loop {
            match self.peek() {
                None | Some('\n') => {
                    self.error(start, format!("unterminated string: expected `{quote}`"));
                    break;
                }
                Some(c) if c == quote => {
                    self.bump();
                    break;
                }
                Some('\\') => {
                    self.bump();
                    if let Some(escaped) = self.peek() {
                        self.bump();
                        push_escape(&mut text, escaped);
                    }
                }
                Some(c) => {
                    self.bump();
                    text.push(c);
                }
            }
        }
        self.push(kind, text, start);
    }

    /// `'''…'''`: may span lines; de-indented (see [`dedent`]).
    fn triple_string(&mut self) {
        let start = self.pos;
        self.pos += 3;
        let mut raw = String::new();
        loop {
            if self.rest().starts_with("'''") {
                self.pos += 3;
                break;
            }
            match self.peek() {
                None => {
                    self.error(start, "unterminated string: expected `'''`");
                    break;
                }
                Some('\\') => {
                    self.bump();
                    match self.peek() {
                        // A backslash before a newline joins the lines.
                        Some('\n') => self.bump(),
                        Some(escaped) => {
                            self.bump();
                            push_escape(&mut raw, escaped);
                        }
                        None => {}
                    }
                }
                Some(c) => {
                    self.bump();
                    raw.push(c);
                }
            }
        }
        self.push(Kind::Str, dedent(&raw), start);
    }
}

fn push_escape(text: &mut String, escaped: char) {
    match escaped {
        'n' => text.push('\n'),
        't' => text.push('\t'),
        'r' => text.push('\r'),
        other => text.push(other),
    }
}

/// Removes a first and last line that hold only blanks, and the smallest
/// indentation shared by the other non-blank lines, as @dbml/core does.
pub fn dedent(raw: &str) -> String {
    let mut lines: Vec<&str> = raw.split('\n').collect();
    if lines.len() > 1 && lines.first().is_some_and(|l| l.trim().is_empty()) {
        lines.remove(0);
    }
    if lines.len() > 1 && lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or("").trim_end_matches('\r'))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<Kind> {
        tokenize(source).0.into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn comments_vanish_and_newlines_collapse() {
        assert_eq!(
            kinds("a // x\n\n/* y\n z */ b"),
            vec![Kind::Ident, Kind::Newline, Kind::Ident, Kind::Eof]
        );
    }

    #[test]
    fn strings_are_unescaped() {
        let (tokens, errors) = tokenize(r#"'it\'s' "a \"b\"" `now()`"#);
        assert!(errors.is_empty());
        let texts: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, vec!["it's", "a \"b\"", "now()", ""]);
    }

    #[test]
    fn triple_quoted_strings_lose_their_common_indentation() {
        let (tokens, _) = tokenize("'''\n    Line one\n      indented\n    it\\'s\n  '''");
        assert_eq!(tokens[0].text, "Line one\n  indented\nit's");
    }

    #[test]
    fn numbers_colors_and_relations_are_tokens() {
        assert_eq!(
            kinds("12.5 #fff <> < > - 1a"),
            vec![
                Kind::Number,
                Kind::Color,
                Kind::LtGt,
                Kind::Lt,
                Kind::Gt,
                Kind::Minus,
                Kind::Ident,
                Kind::Eof
            ]
        );
    }

    #[test]
    fn unterminated_strings_and_odd_characters_are_reported() {
        let (_, errors) = tokenize("'abc\n$ /* x");
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "unterminated string: expected `'`",
                "unexpected character `$`",
                "unterminated comment: expected `*/`"
            ]
        );
    }
}
