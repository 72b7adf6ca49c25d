//! Tables and table partials: their headers and the lines of their bodies
//! (columns with types, `Note`, `indexes { … }`, `~partial`, `records`),
//! and `Records` blocks.

use super::error::RawDiagnostic;
use super::lexer::Kind;
use super::model::{
    ColumnDef, DataType, DefaultValue, IndexDef, IndexPart, PartialRef, QualifiedName, Records,
    Span, Table,
};
use super::parser::{PResult, Parser};

impl Parser {
    /// `Table name [as alias] [settings] { body }`.
    pub(super) fn table(&mut self) -> PResult<()> {
        self.advance();
        let name = self.qualified_name("a table name")?;
        let mut table = Table {
            span: name.span,
            name,
            ..Table::default()
        };
        if self.at_word("as") {
            self.advance();
            let (alias, span) = self.name("an alias after `as`")?;
            table.alias = Some((alias, span));
        }
        if self.at(Kind::LBracket) {
            self.table_settings(&mut table)?;
        }
        self.block(|p| p.table_line(&mut table))?;
        self.doc.tables.push(table);
        Ok(())
    }

    /// `TablePartial name [settings] { body }`.
    pub(super) fn table_partial(&mut self) -> PResult<()> {
        self.advance();
        let (name, span) = self.name("a table partial name")?;
        let mut table = Table {
            name: QualifiedName {
                schema: None,
                name,
                span,
            },
            span,
            ..Table::default()
        };
        if self.at(Kind::LBracket) {
            self.table_settings(&mut table)?;
        }
        self.block(|p| p.table_line(&mut table))?;
        self.doc.partials.push(table);
        Ok(())
    }

    fn table_line(&mut self, table: &mut Table) -> PResult<()> {
        let next = self.peek_at(1).kind;
        if self.at(Kind::Tilde) {
            self.advance();
            let (name, span) = self.name("a table partial name after `~`")?;
            table.partial_refs.push(PartialRef {
                name,
                span,
                position: table.columns.len(),
            });
        } else if self.at_word("note") && matches!(next, Kind::Colon | Kind::LBrace) {
            self.advance();
            table.note = Some(self.note_body()?);
        } else if self.at_word("indexes") && next == Kind::LBrace {
            self.advance();
            self.block(|p| {
                table.indexes.push(p.index()?);
                p.end_line()
            })?;
        } else if self.at_word("records") && matches!(next, Kind::LParen | Kind::LBrace) {
            self.advance();
            self.records(table.name.clone())?;
        } else {
            table.columns.push(self.column()?);
        }
        self.end_line()
    }

    /// `name type [settings]`.
    fn column(&mut self) -> PResult<ColumnDef> {
        let (name, span) = self.name("a column name, `Note`, `indexes` or `~partial`")?;
        let data_type = self.data_type()?;
        let mut column = ColumnDef {
            name,
            data_type,
            span,
            ..ColumnDef::default()
        };
        if self.at(Kind::LBracket) {
            self.column_settings(&mut column.settings)?;
        }
        Ok(column)
    }

    /// `int`, `varchar(255)`, `"double precision"`, `auth.role`, `int[]`.
    fn data_type(&mut self) -> PResult<DataType> {
        let (first, span) = self.name("a column type")?;
        let mut data_type = DataType {
            name: first,
            span,
            ..DataType::default()
        };
        if self.eat(Kind::Dot) {
            let (second, end) = self.name("a type name after `.`")?;
            data_type.schema = Some(std::mem::replace(&mut data_type.name, second));
            data_type.span.end = end.end;
        }
        if self.eat(Kind::LParen) {
            data_type.args = self.type_args()?;
        }
        if self.at(Kind::LBracket) && self.peek_at(1).kind == Kind::RBracket {
            self.advance();
            self.advance();
            data_type.array = true;
        }
        Ok(data_type)
    }

    /// The arguments of `decimal(10, 2)`, after the `(`.
    fn type_args(&mut self) -> PResult<Vec<String>> {
        let mut args = Vec::new();
        loop {
            match self.peek().kind {
                Kind::Number | Kind::Ident => args.push(self.advance().text),
                Kind::Str => args.push(format!("'{}'", self.advance().text.replace('\'', "''"))),
                _ => return Err(self.unexpected("a type argument")),
            }
            if self.eat(Kind::RParen) {
                return Ok(args);
            }
            if !self.eat(Kind::Comma) {
                return Err(self.unexpected("`,` or `)`"));
            }
        }
    }

    /// One `indexes` line: `col`, `` `expr` ``, or `(a, `expr`)`, then settings.
    fn index(&mut self) -> PResult<IndexDef> {
        let start = self.peek().span;
        let parts = if self.eat(Kind::LParen) {
            let mut parts = vec![self.index_part()?];
            while self.eat(Kind::Comma) {
                parts.push(self.index_part()?);
            }
            self.expect(Kind::RParen)?;
            parts
        } else {
            vec![self.index_part()?]
        };
        let mut index = IndexDef {
            parts,
            span: Span::new(start.start, self.peek().span.start),
            ..IndexDef::default()
        };
        if self.at(Kind::LBracket) {
            self.index_settings(&mut index)?;
        }
        Ok(index)
    }

    fn index_part(&mut self) -> PResult<IndexPart> {
        match self.peek().kind {
            Kind::Expr => Ok(IndexPart::Expression(self.advance().text)),
            Kind::Ident | Kind::QuotedIdent => {
                let token = self.advance();
                Ok(IndexPart::Column(token.text, token.span))
            }
            _ => Err(self.unexpected("a column name or a `backtick expression`")),
        }
    }

    /// `[(columns)] { value, value … }` after `Records table`.
    pub(super) fn records(&mut self, table: QualifiedName) -> PResult<()> {
        let span = table.span;
        let mut columns = Vec::new();
        if self.eat(Kind::LParen) {
            loop {
                columns.push(self.name("a column name")?.0);
                if self.eat(Kind::RParen) {
                    break;
                }
                self.expect(Kind::Comma)?;
            }
        }
        let mut rows = Vec::new();
        self.block(|p| {
            rows.push(p.record_row()?);
            p.end_line()
        })?;
        self.doc.records.push(Records {
            table,
            columns,
            rows,
            span,
        });
        Ok(())
    }

    fn record_row(&mut self) -> PResult<Vec<DefaultValue>> {
        let mut row = vec![self.literal()?];
        while self.eat(Kind::Comma) {
            row.push(self.literal()?);
        }
        Ok(row)
    }

    /// A number, string, `true`, `false`, `null` or `` `expression` ``.
    pub(super) fn literal(&mut self) -> PResult<DefaultValue> {
        const EXPECTED: &str = "a number, a string, true, false, null or a `backtick expression`";
        let token = self.peek().clone();
        let value = match token.kind {
            Kind::Number => DefaultValue::Number(token.text),
            Kind::Str => DefaultValue::String(token.text),
            Kind::Expr => DefaultValue::Expression(token.text),
            Kind::Minus if self.peek_at(1).kind == Kind::Number => {
                self.advance();
                DefaultValue::Number(format!("-{}", self.peek().text))
            }
            Kind::Ident => match token.text.to_ascii_lowercase().as_str() {
                "true" => DefaultValue::Bool(true),
                "false" => DefaultValue::Bool(false),
                "null" => DefaultValue::Null,
                _ => return Err(self.unexpected(EXPECTED)),
            },
            _ => return Err(self.unexpected(EXPECTED)),
        };
        self.advance();
        Ok(value)
    }
}

/// A placeholder error for a setting whose value has the wrong form.
pub(super) fn bad_value(span: Span, key: &str, expected: &str) -> RawDiagnostic {
    RawDiagnostic::new(span, format!("setting `{key}` expects {expected}"))
}
