//! `[key, key: value, …]` setting lists and what each element accepts in
//! them, plus ref endpoints (`schema.table.column`, `table.(a, b)`) and
//! relation symbols, which appear both in settings and in `Ref`s.

use super::error::RawDiagnostic;
use super::items::bad_value;
use super::lexer::Kind;
use super::model::{
    ColumnSettings, DefaultValue, Endpoint, IndexDef, InlineRef, QualifiedName, Ref, RefAction,
    Relation, Span, Table, TableGroup,
};
use super::parser::{PResult, Parser};

/// One entry of a settings list; multi-word keys (`not null`) are joined
/// by single spaces and lowercased.
#[derive(Debug, Clone)]
pub(super) struct Setting {
    pub key: String,
    pub span: Span,
    pub value: Option<SettingValue>,
}

/// A setting's value.
#[derive(Debug, Clone)]
pub(super) enum SettingValue {
    Text(String),
    Expr(String),
    Color(String),
    /// Bare words: `cascade`, `set null`, `btree`.
    Words(String),
    Literal(DefaultValue),
    Ref(Relation, Endpoint),
}

impl Parser {
    /// `[ setting (, setting)* ]`.
    pub(super) fn settings(&mut self) -> PResult<Vec<Setting>> {
        self.expect(Kind::LBracket)?;
        let mut settings = Vec::new();
        loop {
            self.skip_newlines();
            settings.push(self.setting()?);
            if self.eat(Kind::RBracket) {
                return Ok(settings);
            }
            if !self.eat(Kind::Comma) {
                return Err(self.unexpected("`,` or `]`"));
            }
        }
    }

    fn setting(&mut self) -> PResult<Setting> {
        let start = self.peek().span;
        let mut words = vec![self.name("a setting")?.0.to_ascii_lowercase()];
        while self.at(Kind::Ident) {
            words.push(self.advance().text.to_ascii_lowercase());
        }
        let key = words.join(" ");
        let span = Span::new(start.start, self.peek().span.start.max(start.end));
        if !self.eat(Kind::Colon) {
            return Ok(Setting {
                key,
                span,
                value: None,
            });
        }
        let value = match key.as_str() {
            "ref" => {
                let relation = self.relation()?;
                SettingValue::Ref(relation, self.endpoint()?)
            }
            "default" => SettingValue::Literal(self.literal()?),
            _ => self.setting_value()?,
        };
        Ok(Setting {
            key,
            span,
            value: Some(value),
        })
    }

    fn setting_value(&mut self) -> PResult<SettingValue> {
        let token = self.peek().clone();
        let value = match token.kind {
            Kind::Str | Kind::QuotedIdent => SettingValue::Text(token.text),
            Kind::Number => SettingValue::Words(token.text),
            Kind::Expr => SettingValue::Expr(token.text),
            Kind::Color => SettingValue::Color(token.text),
            Kind::Ident => {
                let mut words = Vec::new();
                while self.at(Kind::Ident) {
                    words.push(self.advance().text.to_ascii_lowercase());
                }
                return Ok(SettingValue::Words(words.join(" ")));
            }
            _ => return Err(self.unexpected("a setting value")),
        };
        self.advance();
        Ok(value)
    }

    /// `>`, `<`, `-` or `<>`.
    pub(super) fn relation(&mut self) -> PResult<Relation> {
        let relation = match self.peek().kind {
            Kind::Gt => Relation::ManyToOne,
            Kind::Lt => Relation::OneToMany,
            Kind::Minus => Relation::OneToOne,
            Kind::LtGt => Relation::ManyToMany,
            _ => return Err(self.unexpected("a relation: `>`, `<`, `-` or `<>`")),
        };
        self.advance();
        Ok(relation)
    }

    /// `table.column`, `schema.table.column`, `table.(a, b)`.
    pub(super) fn endpoint(&mut self) -> PResult<Endpoint> {
        const WHAT: &str = "`table.column` or `schema.table.column`";
        let start = self.peek().span;
        let mut parts = vec![self.name(WHAT)?.0];
        let mut columns = Vec::new();
        while self.eat(Kind::Dot) {
            if self.eat(Kind::LParen) {
                columns.push(self.name("a column name")?.0);
                while self.eat(Kind::Comma) {
                    columns.push(self.name("a column name")?.0);
                }
                self.expect(Kind::RParen)?;
                break;
            }
            parts.push(self.name(WHAT)?.0);
        }
        let span = Span::new(start.start, self.peek().span.start.max(start.end));
        if columns.is_empty() && parts.len() >= 2 {
            columns.push(parts.pop().unwrap_or_default());
        }
        let table = match parts.as_slice() {
            [table] if !columns.is_empty() => QualifiedName {
                schema: None,
                name: table.clone(),
                span,
            },
            [schema, table] if !columns.is_empty() => QualifiedName {
                schema: Some(schema.clone()),
                name: table.clone(),
                span,
            },
            _ => return Err(RawDiagnostic::new(span, format!("expected {WHAT}"))),
        };
        Ok(Endpoint {
            table,
            columns,
            span,
        })
    }

    pub(super) fn column_settings(&mut self, settings: &mut ColumnSettings) -> PResult<()> {
        for setting in self.settings()? {
            apply_column_setting(settings, setting)?;
        }
        Ok(())
    }

    pub(super) fn index_settings(&mut self, index: &mut IndexDef) -> PResult<()> {
        for setting in self.settings()? {
            match (setting.key.as_str(), setting.value) {
                ("pk" | "primary key", None) => index.primary_key = true,
                ("unique", None) => index.unique = true,
                ("name", Some(SettingValue::Text(name))) => index.name = Some(name),
                ("type", Some(SettingValue::Words(kind))) => index.kind = Some(kind),
                ("note", Some(SettingValue::Text(note))) => index.note = Some(note),
                ("name" | "note", _) => {
                    return Err(bad_value(setting.span, &setting.key, "a string"));
                }
                ("type", _) => return Err(bad_value(setting.span, "type", "btree or hash")),
                (key, _) => {
                    return Err(unknown(
                        setting.span,
                        "index",
                        key,
                        "pk, unique, name, type or note",
                    ));
                }
            }
        }
        Ok(())
    }

    pub(super) fn table_settings(&mut self, table: &mut Table) -> PResult<()> {
        for setting in self.settings()? {
            match (setting.key.as_str(), setting.value) {
                ("headercolor", Some(SettingValue::Color(color))) => {
                    table.header_color = Some(color)
                }
                ("note", Some(SettingValue::Text(note))) => table.note = Some(note),
                ("headercolor", _) => {
                    return Err(bad_value(setting.span, "headercolor", "a colour"));
                }
                ("note", _) => return Err(bad_value(setting.span, "note", "a string")),
                (key, _) => return Err(unknown(setting.span, "table", key, "headercolor or note")),
            }
        }
        Ok(())
    }

    pub(super) fn group_settings(&mut self, group: &mut TableGroup) -> PResult<()> {
        for setting in self.settings()? {
            match (setting.key.as_str(), setting.value) {
                ("color", Some(SettingValue::Color(color))) => group.color = Some(color),
                ("note", Some(SettingValue::Text(note))) => group.note = Some(note),
                (key, _) => return Err(unknown(setting.span, "table group", key, "color or note")),
            }
        }
        Ok(())
    }

    pub(super) fn ref_settings(&mut self, parsed: &mut Ref) -> PResult<()> {
        for setting in self.settings()? {
            match (setting.key.as_str(), setting.value) {
                ("delete", Some(SettingValue::Words(action))) => {
                    parsed.on_delete = Some(ref_action(setting.span, &action)?);
                }
                ("update", Some(SettingValue::Words(action))) => {
                    parsed.on_update = Some(ref_action(setting.span, &action)?);
                }
                ("color", Some(SettingValue::Color(color))) => parsed.color = Some(color),
                ("delete" | "update", _) => {
                    return Err(bad_value(setting.span, &setting.key, ACTIONS));
                }
                (key, _) => {
                    return Err(unknown(setting.span, "ref", key, "delete, update or color"));
                }
            }
        }
        Ok(())
    }
}

const ACTIONS: &str = "cascade, restrict, set null, set default or no action";

fn ref_action(span: Span, words: &str) -> PResult<RefAction> {
    match words {
        "cascade" => Ok(RefAction::Cascade),
        "restrict" => Ok(RefAction::Restrict),
        "set null" => Ok(RefAction::SetNull),
        "set default" => Ok(RefAction::SetDefault),
        "no action" => Ok(RefAction::NoAction),
        _ => Err(RawDiagnostic::new(
            span,
            format!("unknown ref action `{words}`: expected {ACTIONS}"),
        )),
    }
}

fn unknown(span: Span, element: &str, key: &str, expected: &str) -> RawDiagnostic {
    RawDiagnostic::new(
        span,
        format!("unknown {element} setting `{key}`: expected {expected}"),
    )
}

fn apply_column_setting(settings: &mut ColumnSettings, setting: Setting) -> PResult<()> {
    const EXPECTED: &str =
        "pk, primary key, null, not null, unique, increment, default, note, ref or check";
    let span = setting.span;
    match (setting.key.as_str(), setting.value) {
        ("pk" | "primary key", None) => settings.primary_key = true,
        ("null", None) => settings.not_null = Some(false),
        ("not null", None) => settings.not_null = Some(true),
        ("unique", None) => settings.unique = true,
        ("increment", None) => settings.increment = true,
        ("default", Some(SettingValue::Literal(value))) => settings.default = Some(value),
        ("note", Some(SettingValue::Text(note))) => settings.note = Some(note),
        ("note", _) => return Err(bad_value(span, "note", "a string")),
        ("check", Some(SettingValue::Expr(check))) => settings.checks.push(check),
        ("check", _) => return Err(bad_value(span, "check", "a `backtick expression`")),
        ("ref", Some(SettingValue::Ref(relation, target))) => settings.refs.push(InlineRef {
            relation,
            target,
            span,
        }),
        ("ref" | "default", _) => return Err(bad_value(span, &setting.key, "a value after `:`")),
        (key, _) => return Err(unknown(span, "column", key, EXPECTED)),
    }
    Ok(())
}
