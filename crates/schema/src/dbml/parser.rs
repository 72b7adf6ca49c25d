//! A recursive-descent parser over [`super::lexer`] tokens, written by
//! hand for precise error positions and recovery: an error inside a block
//! skips to the next line of that block, an error elsewhere skips to the
//! next top-level element, so one run reports many errors. This file holds
//! the cursor and the top-level elements; [`super::items`] the lines
//! inside tables, and [`super::settings`] `[…]` lists and ref endpoints.

use super::error::RawDiagnostic;
use super::lexer::{Kind, Token, tokenize};
use super::model::{
    Document, Enum, EnumValue, Project, QualifiedName, Ref, Span, StickyNote, TableGroup,
};
use super::settings::SettingValue;

pub(super) type PResult<T> = Result<T, RawDiagnostic>;

const TOP_LEVEL: &str = "Project, Table, TablePartial, Enum, Ref, TableGroup, Note or Records";

/// Parses `source` into a document and every syntax error found.
pub fn parse_document(source: &str) -> (Document, Vec<RawDiagnostic>) {
    let (tokens, lex_errors) = tokenize(source);
    let mut parser = Parser::new(tokens);
    parser.errors = lex_errors;
    parser.document();
    (parser.doc, parser.errors)
}

/// The token cursor, the document being built and the errors so far.
pub(super) struct Parser {
    tokens: Vec<Token>,
    /// Open `{` before each token: where recovery may stop.
    depth: Vec<usize>,
    pos: usize,
    pub(super) doc: Document,
    pub(super) errors: Vec<RawDiagnostic>,
}

impl Parser {
    fn new(tokens: Vec<Token>) -> Self {
        let mut depth = Vec::with_capacity(tokens.len());
        let mut open = 0usize;
        for token in &tokens {
            depth.push(open);
            match token.kind {
                Kind::LBrace => open += 1,
                Kind::RBrace => open = open.saturating_sub(1),
                _ => {}
            }
        }
        Self {
            tokens,
            depth,
            pos: 0,
            doc: Document::default(),
            errors: Vec::new(),
        }
    }

    // ---- cursor ----

    pub(super) fn peek(&self) -> &Token {
        let last = self.tokens.len() - 1;
        &self.tokens[self.pos.min(last)]
    }

    pub(super) fn peek_at(&self, ahead: usize) -> &Token {
        let last = self.tokens.len() - 1;
        &self.tokens[(self.pos + ahead).min(last)]
    }

    pub(super) fn at(&self, kind: Kind) -> bool {
        self.peek().kind == kind
    }

    pub(super) fn at_word(&self, word: &str) -> bool {
        let token = self.peek();
        token.kind == Kind::Ident && token.text.eq_ignore_ascii_case(word)
    }

    pub(super) fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        token
    }

    pub(super) fn eat(&mut self, kind: Kind) -> bool {
        let found = self.at(kind);
        if found {
            self.advance();
        }
        found
    }

    pub(super) fn skip_newlines(&mut self) {
        while self.eat(Kind::Newline) {}
    }

    /// An error at the current token: "expected X, found Y".
    pub(super) fn unexpected(&self, expected: &str) -> RawDiagnostic {
        let token = self.peek();
        let found = match token.kind {
            Kind::Ident | Kind::Number => format!("`{}`", token.text),
            Kind::QuotedIdent => format!("\"{}\"", token.text),
            other => other.describe().to_owned(),
        };
        RawDiagnostic::new(token.span, format!("expected {expected}, found {found}"))
    }

    pub(super) fn expect(&mut self, kind: Kind) -> PResult<Token> {
        if self.at(kind) {
            Ok(self.advance())
        } else {
            Err(self.unexpected(kind.describe()))
        }
    }

    /// A name, bare or double-quoted.
    pub(super) fn name(&mut self, what: &str) -> PResult<(String, Span)> {
        match self.peek().kind {
            Kind::Ident | Kind::QuotedIdent => {
                let token = self.advance();
                Ok((token.text, token.span))
            }
            _ => Err(self.unexpected(what)),
        }
    }

    /// `name` or `schema.name`.
    pub(super) fn qualified_name(&mut self, what: &str) -> PResult<QualifiedName> {
        let (first, span) = self.name(what)?;
        if !self.at(Kind::Dot) {
            return Ok(QualifiedName {
                schema: None,
                name: first,
                span,
            });
        }
        self.advance();
        let (second, end) = self.name(what)?;
        Ok(QualifiedName {
            schema: Some(first),
            name: second,
            span: Span::new(span.start, end.end),
        })
    }

    pub(super) fn string(&mut self) -> PResult<String> {
        Ok(self.expect(Kind::Str)?.text)
    }

    /// The line must end here (a `}` may close the block on the same line).
    pub(super) fn end_line(&mut self) -> PResult<()> {
        match self.peek().kind {
            Kind::Newline => {
                self.advance();
                Ok(())
            }
            Kind::RBrace | Kind::Eof => Ok(()),
            _ => Err(self.unexpected("the end of the line")),
        }
    }

    /// `{ line* }`: calls `line` for each non-empty line; an error in a
    /// line is recorded and parsing goes on at the next line.
    pub(super) fn block(&mut self, mut line: impl FnMut(&mut Self) -> PResult<()>) -> PResult<()> {
        let open = self.expect(Kind::LBrace)?.span;
        let inner = self.depth[self.pos.min(self.depth.len() - 1)];
        loop {
            self.skip_newlines();
            match self.peek().kind {
                Kind::RBrace => {
                    self.advance();
                    return Ok(());
                }
                Kind::Eof => {
                    return Err(RawDiagnostic::new(
                        open,
                        "this `{` is never closed: expected `}` before the end of the file",
                    ));
                }
                _ => {
                    if let Err(error) = line(self) {
                        self.errors.push(error);
                        self.recover_line(inner);
                    }
                }
            }
        }
    }

    /// Skips to the end of the current line of a block at `depth`.
    fn recover_line(&mut self, depth: usize) {
        loop {
            let token = self.peek();
            let here = self.depth[self.pos.min(self.depth.len() - 1)];
            let stop = token.kind == Kind::Eof
                || here < depth
                || (here == depth && matches!(token.kind, Kind::Newline | Kind::RBrace));
            if stop {
                return;
            }
            self.advance();
        }
    }

    /// Skips to the next top-level keyword at the start of a line.
    fn recover_top(&mut self, start: usize) {
        if self.pos <= start {
            self.advance();
        }
        while !self.at(Kind::Eof) {
            let line_start = self.pos == 0 || self.tokens[self.pos - 1].kind == Kind::Newline;
            if line_start && self.depth[self.pos] == 0 && self.at_top_keyword() {
                return;
            }
            self.advance();
        }
    }

    fn at_top_keyword(&self) -> bool {
        const KEYWORDS: [&str; 8] = [
            "project",
            "table",
            "tablepartial",
            "enum",
            "ref",
            "tablegroup",
            "note",
            "records",
        ];
        KEYWORDS.iter().any(|k| self.at_word(k))
    }

    // ---- top level ----

    fn document(&mut self) {
        loop {
            self.skip_newlines();
            if self.at(Kind::Eof) {
                return;
            }
            let start = self.pos;
            if let Err(error) = self.element() {
                self.errors.push(error);
                self.recover_top(start);
            }
        }
    }

    fn element(&mut self) -> PResult<()> {
        if !self.at(Kind::Ident) {
            return Err(self.unexpected(TOP_LEVEL));
        }
        let keyword = self.peek().text.to_ascii_lowercase();
        match keyword.as_str() {
            "project" => self.project(),
            "table" => self.table(),
            "tablepartial" => self.table_partial(),
            "enum" => self.enumeration(),
            "ref" => self.standalone_ref(),
            "tablegroup" => self.table_group(),
            "note" => self.sticky_note(),
            "records" => {
                self.advance();
                let table = self.qualified_name("a table name")?;
                self.records(table)
            }
            _ => Err(self.unexpected(TOP_LEVEL)),
        }
    }

    fn project(&mut self) -> PResult<()> {
        let start = self.advance().span;
        let name = if self.at(Kind::LBrace) {
            None
        } else {
            Some(self.name("a project name")?.0)
        };
        let mut project = Project {
            name,
            span: start,
            ..Project::default()
        };
        self.block(|p| p.project_line(&mut project))?;
        if self.doc.project.is_some() {
            return Err(RawDiagnostic::new(
                start,
                "a second Project: only one is allowed",
            ));
        }
        self.doc.project = Some(project);
        Ok(())
    }

    fn project_line(&mut self, project: &mut Project) -> PResult<()> {
        if self.at_word("note") && matches!(self.peek_at(1).kind, Kind::Colon | Kind::LBrace) {
            self.advance();
            project.note = Some(self.note_body()?);
            return self.end_line();
        }
        let (key, _) = self.name("a project setting such as `database_type: 'PostgreSQL'`")?;
        self.expect(Kind::Colon)?;
        let value = match self.peek().kind {
            Kind::Str | Kind::Ident | Kind::Number | Kind::QuotedIdent => self.advance().text,
            _ => return Err(self.unexpected("a string")),
        };
        project.settings.push((key, value));
        self.end_line()
    }

    /// `: 'text'` or `{ 'text' }` after `Note`.
    pub(super) fn note_body(&mut self) -> PResult<String> {
        if self.eat(Kind::Colon) {
            return self.string();
        }
        self.expect(Kind::LBrace)?;
        self.skip_newlines();
        let text = self.string()?;
        self.skip_newlines();
        self.expect(Kind::RBrace)?;
        Ok(text)
    }

    fn enumeration(&mut self) -> PResult<()> {
        let start = self.advance().span;
        let name = self.qualified_name("an enum name")?;
        let mut values = Vec::new();
        self.block(|p| {
            values.push(p.enum_value()?);
            p.end_line()
        })?;
        self.doc.enums.push(Enum {
            name,
            values,
            span: start,
        });
        Ok(())
    }

    fn enum_value(&mut self) -> PResult<EnumValue> {
        let (name, span) = match self.peek().kind {
            Kind::Ident | Kind::QuotedIdent | Kind::Str | Kind::Number => {
                let token = self.advance();
                (token.text, token.span)
            }
            _ => return Err(self.unexpected("an enum value")),
        };
        let mut note = None;
        if self.at(Kind::LBracket) {
            for setting in self.settings()? {
                match (setting.key.as_str(), setting.value) {
                    ("note", Some(SettingValue::Text(text))) => note = Some(text),
                    _ => {
                        return Err(RawDiagnostic::new(
                            setting.span,
                            format!(
                                "unknown enum value setting `{}`: expected note: 'text'",
                                setting.key
                            ),
                        ));
                    }
                }
            }
        }
        Ok(EnumValue { name, note, span })
    }

    fn standalone_ref(&mut self) -> PResult<()> {
        let start = self.advance().span;
        let name = if matches!(self.peek().kind, Kind::Colon | Kind::LBrace) {
            None
        } else {
            Some(self.name("a ref name, `:` or `{`")?.0)
        };
        if self.eat(Kind::Colon) {
            let parsed = self.ref_body(name, start)?;
            self.doc.refs.push(parsed);
            return self.end_line();
        }
        let mut found: Vec<Ref> = Vec::new();
        self.block(|p| {
            found.push(p.ref_body(name.clone(), start)?);
            p.end_line()
        })?;
        self.doc.refs.extend(found);
        Ok(())
    }

    /// `left rel right [settings]`.
    fn ref_body(&mut self, name: Option<String>, start: Span) -> PResult<Ref> {
        let left = self.endpoint()?;
        let relation = self.relation()?;
        let right = self.endpoint()?;
        let mut parsed = Ref {
            name,
            left,
            relation,
            right,
            on_delete: None,
            on_update: None,
            color: None,
            inline: false,
            span: Span::new(start.start, self.peek().span.start),
        };
        if self.at(Kind::LBracket) {
            self.ref_settings(&mut parsed)?;
        }
        Ok(parsed)
    }

    fn table_group(&mut self) -> PResult<()> {
        let start = self.advance().span;
        let (name, _) = self.name("a table group name")?;
        let mut group = TableGroup {
            name,
            span: start,
            ..TableGroup::default()
        };
        if self.at(Kind::LBracket) {
            self.group_settings(&mut group)?;
        }
        self.block(|p| {
            if p.at_word("note") && matches!(p.peek_at(1).kind, Kind::Colon | Kind::LBrace) {
                p.advance();
                group.note = Some(p.note_body()?);
            } else {
                group.tables.push(p.qualified_name("a table name")?);
            }
            p.end_line()
        })?;
        self.doc.groups.push(group);
        Ok(())
    }

    fn sticky_note(&mut self) -> PResult<()> {
        let start = self.advance().span;
        let (name, _) = self.name("a note name")?;
        self.expect(Kind::LBrace)?;
        self.skip_newlines();
        let content = self.string()?;
        self.skip_newlines();
        self.expect(Kind::RBrace)?;
        self.doc.notes.push(StickyNote {
            name,
            content,
            span: start,
        });
        Ok(())
    }
}
