//! Table schemas: qualified names, columns with logical types, keys and
//! indexes. Every source, sink and schema tool reads and writes this model.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A table's name, optionally qualified by its schema (MySQL database or
/// PostgreSQL schema). Sources without namespaces (the generator) leave
/// `schema` empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

impl TableName {
    pub fn new(schema: Option<&str>, name: &str) -> Self {
        Self {
            schema: schema.map(str::to_owned),
            name: name.to_owned(),
        }
    }

    /// Parses `schema.table` or `table` (split at the first dot).
    pub fn parse(qualified: &str) -> Self {
        match qualified.split_once('.') {
            Some((schema, name)) => Self::new(Some(schema), name),
            None => Self::new(None, qualified),
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// The type of a column, independent of any database's spelling of it.
/// It covers what MySQL/MariaDB and PostgreSQL store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LogicalType {
    Bool,
    Int8,
    Int16,
    Int24,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt24,
    UInt32,
    UInt64,
    Float32,
    Float64,
    /// Exact decimal; precision up to 65 (MySQL) or 1000 (PostgreSQL).
    /// `None` precision is PostgreSQL's unconstrained `numeric`.
    Decimal {
        precision: Option<u16>,
        scale: Option<u16>,
    },
    Char {
        length: Option<u32>,
        charset: Option<String>,
    },
    Varchar {
        length: Option<u32>,
        charset: Option<String>,
    },
    Text {
        charset: Option<String>,
    },
    Binary {
        length: Option<u32>,
    },
    Varbinary {
        length: Option<u32>,
    },
    Blob,
    Date,
    /// Time of day or duration (MySQL TIME spans ±838 hours).
    Time {
        fsp: u8,
    },
    /// Date and time without a zone (MySQL DATETIME, PostgreSQL timestamp).
    DateTime {
        fsp: u8,
    },
    /// An instant (MySQL TIMESTAMP, PostgreSQL timestamptz).
    Timestamp {
        fsp: u8,
    },
    Year,
    Enum {
        labels: Vec<String>,
    },
    Set {
        labels: Vec<String>,
    },
    Bit {
        width: u16,
    },
    Json,
    Uuid,
    Array {
        element: Box<LogicalType>,
    },
}

impl LogicalType {
    /// True for types whose values are integers of some width.
    pub fn is_integer(&self) -> bool {
        use LogicalType::*;
        matches!(
            self,
            Int8 | Int16 | Int24 | Int32 | Int64 | UInt8 | UInt16 | UInt24 | UInt32 | UInt64
        )
    }
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub logical_type: LogicalType,
    pub nullable: bool,
    /// The default as the source spells it (an expression, not a value).
    pub default: Option<String>,
    /// Values come from a sequence (AUTO_INCREMENT, identity, serial).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_increment: bool,
    /// The column's comment or DBML note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Column {
    pub fn new(name: &str, logical_type: LogicalType, nullable: bool) -> Self {
        Self {
            name: name.to_owned(),
            logical_type,
            nullable,
            default: None,
            auto_increment: false,
            comment: None,
        }
    }
}

/// A secondary index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Index {
    pub name: String,
    /// The key parts in index order: column names, or for the positions
    /// listed in `expression_parts` SQL expressions (`lower(email)`).
    pub columns: Vec<String>,
    pub unique: bool,
    /// `btree`, `hash`, … when not the database's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Positions in `columns` that hold an expression, not a column name;
    /// empty for an index on plain columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expression_parts: Vec<usize>,
}

impl Index {
    /// Whether key part `k` is an expression rather than a column name.
    pub fn is_expression(&self, k: usize) -> bool {
        self.expression_parts.contains(&k)
    }

    /// Whether any key part is an expression.
    pub fn has_expressions(&self) -> bool {
        !self.expression_parts.is_empty()
    }
}

/// A table's shape at one version. Changes carry the schema they were
/// written under, so a sink never guesses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableSchema {
    pub name: TableName,
    pub columns: Vec<Column>,
    /// Names of the primary key columns, in key order; empty when none.
    pub primary_key: Vec<String>,
    pub indexes: Vec<Index>,
    /// Increases whenever the source reports a schema change for the table.
    pub version: u64,
    /// References to other tables (schema tools; sources leave it empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    /// The table's comment or DBML note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A foreign key: `columns` of this table reference `referenced_columns`
/// of `referenced`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ForeignKey {
    /// The constraint's name, when it has one.
    pub name: Option<String>,
    pub columns: Vec<String>,
    pub referenced: TableName,
    pub referenced_columns: Vec<String>,
    /// `cascade`, `restrict`, `set null`, `set default`, `no action`.
    pub on_delete: Option<String>,
    pub on_update: Option<String>,
}

impl TableSchema {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Positions of the primary key columns in `columns`.
    pub fn primary_key_indices(&self) -> Vec<usize> {
        self.primary_key
            .iter()
            .filter_map(|k| self.column_index(k))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_name_parses_and_prints_qualified_names() {
        let qualified = TableName::parse("shop.orders");
        assert_eq!(qualified.schema.as_deref(), Some("shop"));
        assert_eq!(qualified.to_string(), "shop.orders");
        assert_eq!(TableName::parse("heartbeat").to_string(), "heartbeat");
    }
}
