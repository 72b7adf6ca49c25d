//! A checked DBML document as the shared [`TableSchema`] model. DBML allows
//! any type name; names it does not know become `Text` here (the lint
//! reports them).
//!
//! | DBML type | logical type |
//! |---|---|
//! | `tinyint` / `smallint`, `int2` / `int`, `integer`, `int4`, `mediumint` / `bigint`, `int8` | `Int8` / `Int16` / `Int32` / `Int64` |
//! | `smallserial` / `serial` / `bigserial` | `Int16` / `Int32` / `Int64` |
//! | `decimal(p,s)`, `numeric(p,s)` | `Decimal { p, s }` |
//! | `float`, `real`, `float4` / `double`, `double precision`, `float8` | `Float32` / `Float64` |
//! | `char(n)`, `character(n)` / `varchar(n)`, `character varying(n)` | `Char` / `Varchar` |
//! | `text`, `tinytext`, `mediumtext`, `longtext`, `string` | `Text` |
//! | `bool`, `boolean` | `Bool` |
//! | `date`, `time(p)`, `year` | `Date`, `Time`, `Year` |
//! | `datetime(p)`, `timestamp(p)` | `DateTime` (fsp 0 for `datetime`, 6 for `timestamp` unless given) |
//! | `timestamptz`, `timestamp with time zone` | `Timestamp` |
//! | `json`, `jsonb` | `Json` |
//! | `uuid` | `Uuid` |
//! | `binary(n)` / `varbinary(n)` / `blob`, `bytea`, `tinyblob` … `longblob` | `Binary` / `Varbinary` / `Blob` |
//! | an enum's name | `Enum` with its values |
//! | `type[]` | `Array` of the element type |
//! | `tinyint unsigned` … `bigint unsigned` (quoted, as `schema pull` writes them) | `UInt8` … `UInt64` |
//! | `bit(n)`, `bit varying(n)`, `varbit(n)` | `Bit { n }` |
//!
//! Column `unique` becomes a one-column unique index named
//! `<table>_<column>_key`; an index's backtick parts stay SQL expressions
//! (listed in `Index::expression_parts`); `increment` and the serial types set
//! `auto_increment`; notes become comments; refs become foreign keys on
//! the table that holds the key (many-to-many refs are left to the join
//! table [`crate::ddl::plan`] makes).

use watershed_events::{Column, ForeignKey, Index, LogicalType, TableName, TableSchema};

use super::model::{
    ColumnDef, DataType, DefaultValue, Document, IndexDef, IndexPart, Ref, RefAction, Relation,
    Table,
};

/// Every table of a checked document, in file order.
pub fn to_table_schemas(doc: &Document) -> Vec<TableSchema> {
    doc.tables.iter().map(|t| to_table_schema(doc, t)).collect()
}

/// One table as a [`TableSchema`] (version 1).
pub fn to_table_schema(doc: &Document, table: &Table) -> TableSchema {
    let primary_key = table.primary_key();
    let columns = table
        .columns
        .iter()
        .map(|c| to_column(doc, c, primary_key.contains(&c.name)))
        .collect();
    let mut indexes: Vec<Index> = table
        .unique_columns()
        .into_iter()
        .map(|(c, name)| Index {
            name,
            columns: vec![c.name.clone()],
            unique: true,
            method: None,
            expression_parts: Vec::new(),
        })
        .collect();
    indexes.extend(
        table
            .indexes
            .iter()
            .enumerate()
            .filter(|(_, i)| !i.primary_key && !i.parts.is_empty())
            .map(|(n, i)| to_index(table, i, n)),
    );
    let foreign_keys = doc
        .refs
        .iter()
        .filter(|r| r.relation != Relation::ManyToMany)
        .filter_map(|r| foreign_key(table, r))
        .collect();
    TableSchema {
        name: TableName::new(table.name.schema.as_deref(), &table.name.name),
        columns,
        primary_key,
        indexes,
        version: 1,
        foreign_keys,
        comment: table.note.clone(),
    }
}

/// An `indexes { … }` entry as an [`Index`]: backtick parts are kept as
/// expressions and their positions listed in `expression_parts`.
fn to_index(table: &Table, index: &IndexDef, n: usize) -> Index {
    let mut expression_parts = Vec::new();
    let columns = index
        .parts
        .iter()
        .enumerate()
        .map(|(k, part)| match part {
            IndexPart::Column(name, _) => name.clone(),
            IndexPart::Expression(text) => {
                expression_parts.push(k);
                text.trim().to_owned()
            }
        })
        .collect();
    Index {
        name: index_name(table, index, n),
        columns,
        unique: index.unique,
        method: index.kind.clone(),
        expression_parts,
    }
}

/// The foreign key `found` puts on `table`, if `table` holds its key (the
/// side the DDL puts it on).
fn foreign_key(table: &Table, found: &Ref) -> Option<ForeignKey> {
    let (holder, target) = crate::ddl::holder_and_target(found);
    if !holder.table.same_as(&table.name) {
        return None;
    }
    let action = |a: Option<RefAction>| a.map(|a| a.sql().to_ascii_lowercase());
    Some(ForeignKey {
        name: Some(
            found.name.clone().unwrap_or_else(|| {
                format!("{}_{}_fkey", holder.table.name, holder.columns.join("_"))
            }),
        ),
        columns: holder.columns.clone(),
        referenced: TableName::new(target.table.schema.as_deref(), &target.table.name),
        referenced_columns: target.columns.clone(),
        on_delete: action(found.on_delete),
        on_update: action(found.on_update),
    })
}

fn to_column(doc: &Document, column: &ColumnDef, in_primary_key: bool) -> Column {
    let logical =
        logical_type(doc, &column.data_type).unwrap_or(LogicalType::Text { charset: None });
    let nullable = !in_primary_key && column.settings.not_null != Some(true);
    let mut converted = Column::new(&column.name, logical, nullable);
    converted.default = column.settings.default.as_ref().map(default_sql);
    converted.auto_increment = column.settings.increment || is_serial(&column.data_type);
    converted.comment = column.settings.note.clone();
    converted
}

fn is_serial(data_type: &DataType) -> bool {
    matches!(
        data_type.name.to_ascii_lowercase().as_str(),
        "serial" | "serial2" | "serial4" | "serial8" | "smallserial" | "bigserial"
    )
}

/// A default as SQL text: numbers and expressions as written, strings
/// single-quoted with `'` doubled, `true`, `false`, `NULL`.
pub fn default_sql(value: &DefaultValue) -> String {
    match value {
        DefaultValue::Number(n) => n.clone(),
        DefaultValue::String(s) => format!("'{}'", s.replace('\'', "''")),
        DefaultValue::Bool(b) => b.to_string(),
        DefaultValue::Null => "NULL".into(),
        DefaultValue::Expression(e) => e.clone(),
    }
}

/// The index's name: the one given, else `<table>_<columns>_idx` (`_key`
/// when unique), or `<table>_expr<n>_idx` for expression-only indexes;
/// `n` is the index's position in the table.
pub fn index_name(table: &Table, index: &IndexDef, n: usize) -> String {
    if let Some(name) = &index.name {
        return name.clone();
    }
    let columns = index.column_names();
    let middle = if columns.is_empty() || columns.len() < index.parts.len() {
        format!("expr{}", n + 1)
    } else {
        columns.join("_")
    };
    let suffix = if index.unique { "key" } else { "idx" };
    format!("{}_{middle}_{suffix}", table.name.name)
}

/// The logical type of a DBML type, or `None` for a name DBML does not
/// define and no enum of the document has.
pub fn logical_type(doc: &Document, data_type: &DataType) -> Option<LogicalType> {
    if let Some(found) = doc.enum_named(&data_type.as_enum_name()) {
        let labels = found.values.iter().map(|v| v.name.clone()).collect();
        return Some(wrap_array(data_type, LogicalType::Enum { labels }));
    }
    if data_type.schema.is_some() {
        return None;
    }
    builtin_type(&data_type.name.to_ascii_lowercase(), &data_type.args)
        .map(|logical| wrap_array(data_type, logical))
}

fn wrap_array(data_type: &DataType, element: LogicalType) -> LogicalType {
    if data_type.array {
        LogicalType::Array {
            element: Box::new(element),
        }
    } else {
        element
    }
}

fn arg<T: std::str::FromStr>(args: &[String], n: usize) -> Option<T> {
    args.get(n).and_then(|a| a.trim().parse().ok())
}

/// Built-in DBML type names, lowercased.
fn builtin_type(name: &str, args: &[String]) -> Option<LogicalType> {
    use LogicalType::*;
    let length = arg::<u32>(args, 0);
    let fsp = |default: u8| arg::<u8>(args, 0).unwrap_or(default).min(6);
    Some(match name {
        "tinyint" => Int8,
        "smallint" | "int2" | "smallserial" | "serial2" => Int16,
        "int" | "integer" | "int4" | "mediumint" | "serial" | "serial4" => Int32,
        "bigint" | "int8" | "bigserial" | "serial8" => Int64,
        "decimal" | "numeric" | "dec" => Decimal {
            precision: arg(args, 0),
            scale: arg(args, 1),
        },
        "float" | "real" | "float4" => Float32,
        "double" | "double precision" | "float8" => Float64,
        "char" | "character" | "nchar" | "bpchar" => Char {
            length,
            charset: None,
        },
        "varchar" | "character varying" | "nvarchar" => Varchar {
            length,
            charset: None,
        },
        "text" | "tinytext" | "mediumtext" | "longtext" | "string" => Text { charset: None },
        "bool" | "boolean" => Bool,
        "date" => Date,
        "time" => Time { fsp: fsp(0) },
        "year" => Year,
        "datetime" => DateTime { fsp: fsp(0) },
        "timestamp" | "timestamp without time zone" => DateTime { fsp: fsp(6) },
        "timestamptz" | "timestamp with time zone" => Timestamp { fsp: fsp(6) },
        "json" | "jsonb" => Json,
        "uuid" => Uuid,
        "binary" => Binary { length },
        "varbinary" => Varbinary { length },
        "blob" | "bytea" | "tinyblob" | "mediumblob" | "longblob" => Blob,
        "bit" | "bit varying" | "varbit" => Bit {
            width: arg::<u16>(args, 0).unwrap_or(1),
        },
        "tinyint unsigned" => UInt8,
        "smallint unsigned" => UInt16,
        "mediumint unsigned" => UInt24,
        "int unsigned" | "integer unsigned" => UInt32,
        "bigint unsigned" => UInt64,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dbml::parse;

    #[test]
    fn dbml_types_map_to_logical_types() {
        let doc = parse(
            "t.dbml",
            "Enum s.mood { ok \n bad }\nTable s.t {\n id serial [pk]\n price decimal(10,2) [not null]\n code char(36)\n at timestamptz\n m s.mood\n tags text[]\n x geometry\n}\n",
        )
        .expect("parses");
        let table = &to_table_schemas(&doc)[0];
        let types: Vec<&LogicalType> = table.columns.iter().map(|c| &c.logical_type).collect();
        assert_eq!(types[0], &LogicalType::Int32);
        assert_eq!(
            types[1],
            &LogicalType::Decimal {
                precision: Some(10),
                scale: Some(2)
            }
        );
        assert_eq!(
            types[2],
            &LogicalType::Char {
                length: Some(36),
                charset: None
            }
        );
        assert_eq!(types[3], &LogicalType::Timestamp { fsp: 6 });
        assert_eq!(
            types[4],
            &LogicalType::Enum {
                labels: vec!["ok".into(), "bad".into()]
            }
        );
        assert!(matches!(types[5], LogicalType::Array { .. }));
        assert_eq!(types[6], &LogicalType::Text { charset: None });
        assert_eq!(table.primary_key, vec!["id".to_owned()]);
        assert!(!table.columns[0].nullable && !table.columns[1].nullable);
        assert!(table.columns[2].nullable);
    }

    #[test]
    fn defaults_are_spelled_as_sql_and_indexes_get_names() {
        let doc = parse(
            "t.dbml",
            "Table t {\n a int [default: -1]\n b text [default: 'it\\'s']\n c bool [default: true]\n d int [default: null]\n e date [default: `now()`]\n indexes {\n (a, b) [unique]\n c [name: 'by_c']\n }\n}\n",
        )
        .expect("parses");
        let table = &to_table_schemas(&doc)[0];
        let defaults: Vec<Option<&str>> =
            table.columns.iter().map(|c| c.default.as_deref()).collect();
        assert_eq!(
            defaults,
            vec![
                Some("-1"),
                Some("'it''s'"),
                Some("true"),
                Some("NULL"),
                Some("now()")
            ]
        );
        assert_eq!(table.indexes[0].name, "t_a_b_key");
        assert!(table.indexes[0].unique);
        assert_eq!(table.indexes[1].name, "by_c");
    }

    #[test]
    fn a_unique_column_of_a_composite_key_keeps_its_unique_index() {
        let doc = parse(
            "t.dbml",
            "Table t {\n a int [unique]\n b int [unique]\n indexes {\n (a, b) [pk]\n }\n}\nTable u {\n id int [pk, unique]\n}\n",
        )
        .expect("parses");
        let tables = to_table_schemas(&doc);
        let unique: Vec<&[String]> = tables[0].indexes.iter().map(|i| &i.columns[..]).collect();
        assert_eq!(unique, [["a".to_owned()], ["b".to_owned()]]);
        assert!(
            tables[1].indexes.is_empty(),
            "the key alone is unique already"
        );
    }

    #[test]
    fn expression_and_mixed_indexes_keep_their_parts_in_order() {
        let doc = parse(
            "t.dbml",
            "Table t {\n tenant_id int\n name text\n email text\n indexes {\n  `lower(email)` [unique]\n  (tenant_id, ` lower(name) `) [name: 'by_name']\n }\n}\n",
        )
        .expect("parses");
        let table = &to_table_schemas(&doc)[0];
        let email = &table.indexes[0];
        assert_eq!(
            (
                email.name.as_str(),
                &email.columns[..],
                &email.expression_parts[..]
            ),
            ("t_expr1_key", &["lower(email)".to_owned()][..], &[0][..])
        );
        assert!(email.unique && email.is_expression(0));
        let mixed = &table.indexes[1];
        assert_eq!(mixed.columns, ["tenant_id", "lower(name)"]);
        assert_eq!(mixed.expression_parts, [1]);
        assert!(!mixed.is_expression(0) && mixed.is_expression(1));
    }

    #[test]
    fn refs_notes_increments_uniques_and_index_types_reach_the_table_schema() {
        let doc = parse(
            "t.dbml",
            "Table a [note: 'A'] {\n id serial [pk]\n code int [unique, increment, note: 'c']\n indexes {\n  code [type: hash]\n  `lower(x)`\n }\n}\nTable b {\n id int [pk]\n a_id int [ref: > a.id]\n}\nRef named: b.id - a.code [delete: cascade]\n",
        )
        .expect("parses");
        let tables = to_table_schemas(&doc);
        let (a, b) = (&tables[0], &tables[1]);
        assert_eq!(a.comment.as_deref(), Some("A"));
        assert!(a.columns[0].auto_increment && a.columns[1].auto_increment);
        assert_eq!(a.columns[1].comment.as_deref(), Some("c"));
        assert_eq!(
            a.indexes.len(),
            3,
            "the unique column, the hash index and the expression"
        );
        assert_eq!(a.indexes[2].columns, ["lower(x)"]);
        assert_eq!(a.indexes[2].expression_parts, [0]);
        assert_eq!(a.indexes[2].name, "a_expr2_idx");
        assert_eq!(
            (a.indexes[0].name.as_str(), a.indexes[0].unique),
            ("a_code_key", true)
        );
        assert_eq!(a.indexes[1].method.as_deref(), Some("hash"));
        assert_eq!(b.foreign_keys.len(), 1, "`>` puts the key on b");
        assert_eq!(b.foreign_keys[0].referenced, TableName::new(None, "a"));
        assert_eq!(b.foreign_keys[0].name.as_deref(), Some("b_a_id_fkey"));
        let one_to_one = &a.foreign_keys[0];
        assert_eq!(
            one_to_one.name.as_deref(),
            Some("named"),
            "`-` puts the key on the right side"
        );
        assert_eq!(one_to_one.on_delete.as_deref(), Some("cascade"));
    }
}
