//! The DBML document model: what a `.dbml` file says, element by element,
//! with the source span of every name so that checks and lints can point
//! at it. [`super::check`] resolves partials, aliases and inline refs in
//! place; later stages read only checked documents.

use std::fmt;

/// A byte range in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }
}

/// A possibly schema-qualified name (`auth.users`, `users`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QualifiedName {
    pub schema: Option<String>,
    pub name: String,
    pub span: Span,
}

impl QualifiedName {
    /// The schema, where `None` and `public` (DBML's default) are the same.
    pub fn schema_key(&self) -> &str {
        self.schema.as_deref().unwrap_or(DEFAULT_SCHEMA)
    }

    /// Whether both names denote the same object.
    pub fn same_as(&self, other: &QualifiedName) -> bool {
        self.name == other.name && self.schema_key() == other.schema_key()
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// DBML's implicit schema for unqualified names.
pub const DEFAULT_SCHEMA: &str = "public";

/// One parsed file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    pub project: Option<Project>,
    pub tables: Vec<Table>,
    pub partials: Vec<Table>,
    pub enums: Vec<Enum>,
    pub refs: Vec<Ref>,
    pub groups: Vec<TableGroup>,
    pub notes: Vec<StickyNote>,
    pub records: Vec<Records>,
}

impl Document {
    /// The table called `name`, by qualified name.
    pub fn table(&self, name: &QualifiedName) -> Option<&Table> {
        self.tables.iter().find(|t| t.name.same_as(name))
    }

    /// The enum called `name`, by qualified name.
    pub fn enum_named(&self, name: &QualifiedName) -> Option<&Enum> {
        self.enums.iter().find(|e| e.name.same_as(name))
    }

    /// A Project setting (`database_type`, or a custom key), by key.
    pub fn project_setting(&self, key: &str) -> Option<&str> {
        let project = self.project.as_ref()?;
        project
            .settings
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// `Project name { database_type: '…' Note: '…' key: '…' }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Project {
    pub name: Option<String>,
    pub note: Option<String>,
    /// Every `key: 'value'` line in file order, `database_type` included.
    pub settings: Vec<(String, String)>,
    pub span: Span,
}

/// A `Table` or a `TablePartial` (which has no alias and no schema).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub name: QualifiedName,
    pub alias: Option<(String, Span)>,
    pub header_color: Option<String>,
    pub note: Option<String>,
    pub columns: Vec<ColumnDef>,
    pub indexes: Vec<IndexDef>,
    /// `~partial` injections: the partial's name and where it was written,
    /// and how many of the table's own columns precede it.
    pub partial_refs: Vec<PartialRef>,
    pub span: Span,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Primary key columns: from column settings, else from a `[pk]` index.
    pub fn primary_key(&self) -> Vec<String> {
        let inline: Vec<String> = self
            .columns
            .iter()
            .filter(|c| c.settings.primary_key)
            .map(|c| c.name.clone())
            .collect();
        if !inline.is_empty() {
            return inline;
        }
        self.indexes
            .iter()
            .find(|i| i.primary_key)
            .map(|i| i.column_names())
            .unwrap_or_default()
    }

    /// The `unique` columns, each with the name of the unique index that
    /// holds it (`<table>_<column>_key`); a column that is the whole
    /// primary key needs none. A column of a composite key still does.
    pub fn unique_columns(&self) -> Vec<(&ColumnDef, String)> {
        let key = self.primary_key();
        self.columns
            .iter()
            .filter(|c| c.settings.unique && key != [c.name.as_str()])
            .map(|c| (c, format!("{}_{}_key", self.name.name, c.name)))
            .collect()
    }
}

/// `~name` inside a table body.
#[derive(Debug, Clone, PartialEq)]
pub struct PartialRef {
    pub name: String,
    pub span: Span,
    pub position: usize,
}

/// One column line: `name type [settings]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub data_type: DataType,
    pub settings: ColumnSettings,
    pub span: Span,
}

/// A column's type as written: `varchar(255)`, `auth.role`, `int[]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataType {
    pub schema: Option<String>,
    pub name: String,
    pub args: Vec<String>,
    pub array: bool,
    pub span: Span,
}

impl DataType {
    /// The type as DBML spells it, e.g. `decimal(10,2)`.
    pub fn spelled(&self) -> String {
        let mut text = match &self.schema {
            Some(schema) => format!("{schema}.{}", self.name),
            None => self.name.clone(),
        };
        if !self.args.is_empty() {
            text.push_str(&format!("({})", self.args.join(",")));
        }
        if self.array {
            text.push_str("[]");
        }
        text
    }

    /// The name this type would have as an enum.
    pub fn as_enum_name(&self) -> QualifiedName {
        QualifiedName {
            schema: self.schema.clone(),
            name: self.name.clone(),
            span: self.span,
        }
    }
}

/// A column's settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnSettings {
    pub primary_key: bool,
    /// `Some(true)` for `not null`, `Some(false)` for `null`.
    pub not_null: Option<bool>,
    pub unique: bool,
    pub increment: bool,
    pub default: Option<DefaultValue>,
    pub note: Option<String>,
    pub checks: Vec<String>,
    pub refs: Vec<InlineRef>,
}

/// A literal or expression default, or a record value.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    Number(String),
    String(String),
    Bool(bool),
    Null,
    Expression(String),
}

/// `ref: > users.id` on a column.
#[derive(Debug, Clone, PartialEq)]
pub struct InlineRef {
    pub relation: Relation,
    pub target: Endpoint,
    pub span: Span,
}

/// The cardinality a ref states, left side first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// `>`: many left rows to one right row; the left side holds the key.
    ManyToOne,
    /// `<`: one left row to many right rows; the right side holds the key.
    OneToMany,
    /// `-`: one to one; the right side holds the key (as dbml2sql does).
    OneToOne,
    /// `<>`: many to many, through a join table.
    ManyToMany,
}

impl Relation {
    pub fn symbol(self) -> &'static str {
        match self {
            Relation::ManyToOne => ">",
            Relation::OneToMany => "<",
            Relation::OneToOne => "-",
            Relation::ManyToMany => "<>",
        }
    }
}

/// One side of a ref: `schema.table.column` or `table.(a, b)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Endpoint {
    pub table: QualifiedName,
    pub columns: Vec<String>,
    pub span: Span,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.columns.as_slice() {
            [one] => write!(f, "{}.{one}", self.table),
            many => write!(f, "{}.({})", self.table, many.join(", ")),
        }
    }
}

/// `ON DELETE` / `ON UPDATE` actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefAction {
    Cascade,
    Restrict,
    SetNull,
    SetDefault,
    NoAction,
}

impl RefAction {
    pub fn sql(self) -> &'static str {
        match self {
            RefAction::Cascade => "CASCADE",
            RefAction::Restrict => "RESTRICT",
            RefAction::SetNull => "SET NULL",
            RefAction::SetDefault => "SET DEFAULT",
            RefAction::NoAction => "NO ACTION",
        }
    }
}

/// A relationship, standalone or (after checking) from a column's `ref:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ref {
    pub name: Option<String>,
    pub left: Endpoint,
    pub relation: Relation,
    pub right: Endpoint,
    pub on_delete: Option<RefAction>,
    pub on_update: Option<RefAction>,
    pub color: Option<String>,
    pub inline: bool,
    pub span: Span,
}

/// An entry of an `indexes { … }` block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexDef {
    pub parts: Vec<IndexPart>,
    pub primary_key: bool,
    pub unique: bool,
    pub name: Option<String>,
    /// `btree`, `hash`, as written (lowercased).
    pub kind: Option<String>,
    pub note: Option<String>,
    pub span: Span,
}

impl IndexDef {
    /// The plain column parts, in order.
    pub fn column_names(&self) -> Vec<String> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                IndexPart::Column(name, _) => Some(name.clone()),
                IndexPart::Expression(_) => None,
            })
            .collect()
    }
}

/// A column or a backtick expression in an index.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexPart {
    Column(String, Span),
    Expression(String),
}

/// `Enum schema.name { value [note: '…'] }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Enum {
    pub name: QualifiedName,
    pub values: Vec<EnumValue>,
    pub span: Span,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnumValue {
    pub name: String,
    pub note: Option<String>,
    pub span: Span,
}

/// `TableGroup name { tables }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableGroup {
    pub name: String,
    pub tables: Vec<QualifiedName>,
    pub note: Option<String>,
    pub color: Option<String>,
    pub span: Span,
}

/// `Note name { '…' }`, a sticky note.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StickyNote {
    pub name: String,
    pub content: String,
    pub span: Span,
}

/// `Records table(columns) { rows }`: sample rows, kept as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Records {
    pub table: QualifiedName,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<DefaultValue>>,
    pub span: Span,
}
