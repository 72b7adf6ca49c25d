//! Rows as bytes: CSV (with a header row), JSON lines, SQL `INSERT`
//! values for PostgreSQL or MySQL, and PostgreSQL's COPY text format.

use watershed_events::TableName;
use watershed_schema::ddl::Dialect;
use watershed_schema::dialect::{mysql, postgres};

use crate::cell::{Cell, hex};

/// A file format for `--out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
    Sql,
}

impl Format {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Sql => "sql",
        }
    }
}

/// The header row of a CSV file.
pub fn csv_header(names: &[String], out: &mut Vec<u8>) {
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        csv_field(name.as_bytes(), out);
    }
    out.push(b'\n');
}

fn csv_field(text: &[u8], out: &mut Vec<u8>) {
    let quote = text.is_empty()
        || text
            .iter()
            .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if !quote {
        out.extend_from_slice(text);
        return;
    }
    out.push(b'"');
    for b in text {
        if *b == b'"' {
            out.push(b'"');
        }
        out.push(*b);
    }
    out.push(b'"');
}

/// One CSV row. NULL is an empty field, the empty string `""` (as
/// PostgreSQL's `COPY … CSV` reads them).
pub fn csv_row(cells: &[Cell], scratch: &mut Vec<u8>, out: &mut Vec<u8>) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        scratch.clear();
        if cell.write_plain(scratch) {
            csv_field(scratch, out);
        }
    }
    out.push(b'\n');
}

/// One JSON object on a line; JSON columns are embedded as JSON.
pub fn jsonl_row(names: &[String], cells: &[Cell], out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (name, cell)) in names.iter().zip(cells).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json_string(name, out);
        out.push(b':');
        match cell {
            Cell::Null => out.extend_from_slice(b"null"),
            Cell::Text(text) => json_string(text, out),
            Cell::Bytes(_) => {
                let mut text = Vec::new();
                cell.write_plain(&mut text);
                json_string(&String::from_utf8_lossy(&text), out);
            }
            other => {
                other.write_plain(out);
            }
        }
    }
    out.extend_from_slice(b"}\n");
}

fn json_string(text: &str, out: &mut Vec<u8>) {
    // Serialising a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// `schema.table` quoted for `dialect` (no schema: the default one).
pub fn table_sql(name: &TableName, dialect: Dialect) -> String {
    let quote = |s: &str| match dialect {
        Dialect::Postgres => postgres::quote_ident(s),
        Dialect::Mysql => mysql::quote_ident(s),
    };
    match &name.schema {
        Some(schema) => format!("{}.{}", quote(schema), quote(&name.name)),
        None => quote(&name.name),
    }
}

/// `INSERT INTO t (a, b) VALUES` (the rows follow).
pub fn insert_head(name: &TableName, columns: &[String], dialect: Dialect, out: &mut Vec<u8>) {
    let quote = |s: &str| match dialect {
        Dialect::Postgres => postgres::quote_ident(s),
        Dialect::Mysql => mysql::quote_ident(s),
    };
    let columns: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    out.extend_from_slice(
        format!(
            "INSERT INTO {} ({}) VALUES\n",
            table_sql(name, dialect),
            columns.join(", ")
        )
        .as_bytes(),
    );
}

/// `(1, 'text', NULL)`: one row of an `INSERT`.
pub fn sql_values(cells: &[Cell], dialect: Dialect, out: &mut Vec<u8>) {
    out.push(b'(');
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        sql_literal(cell, dialect, out);
    }
    out.push(b')');
}

/// One cell as a SQL literal.
pub fn sql_literal(cell: &Cell, dialect: Dialect, out: &mut Vec<u8>) {
    match cell {
        Cell::Null => out.extend_from_slice(b"NULL"),
        Cell::Bool(b) => out.extend_from_slice(if *b { b"TRUE" } else { b"FALSE" }),
        Cell::Int(_) | Cell::Num(_) => {
            cell.write_plain(out);
        }
        Cell::Bytes(bytes) => {
            out.extend_from_slice(match dialect {
                Dialect::Postgres => b"'\\x",
                Dialect::Mysql => b"X'",
            });
            hex(bytes, out);
            out.push(b'\'');
        }
        Cell::Text(text) | Cell::Json(text) => {
            out.push(b'\'');
            for b in text.bytes() {
                match b {
                    b'\'' => out.extend_from_slice(b"''"),
                    b'\\' if dialect == Dialect::Mysql => out.extend_from_slice(b"\\\\"),
                    _ => out.push(b),
                }
            }
            out.push(b'\'');
        }
    }
}

/// One row of PostgreSQL's COPY text format (tab-separated, `\N` NULL).
pub fn copy_row(cells: &[Cell], scratch: &mut Vec<u8>, out: &mut Vec<u8>) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        if let Cell::Bytes(_) = cell {
            out.extend_from_slice(b"\\\\x");
        }
        scratch.clear();
        if !cell.write_plain(scratch) {
            out.extend_from_slice(b"\\N");
            continue;
        }
        for b in scratch.iter() {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                _ => out.push(*b),
            }
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_what_needs_it_and_tells_null_from_empty() {
        let mut out = Vec::new();
        let cells = [
            Cell::Int(1),
            Cell::Text("a, \"b\"".into()),
            Cell::Null,
            Cell::Text(String::new()),
        ];
        csv_row(&cells, &mut Vec::new(), &mut out);
        assert_eq!(out, b"1,\"a, \"\"b\"\"\",,\"\"\n");
    }

    #[test]
    fn sql_and_copy_escape_their_special_characters() {
        let mut sql = Vec::new();
        sql_values(
            &[Cell::Text("it's \\".into()), Cell::Null],
            Dialect::Mysql,
            &mut sql,
        );
        assert_eq!(String::from_utf8_lossy(&sql), "('it''s \\\\', NULL)");
        let mut copy = Vec::new();
        copy_row(
            &[Cell::Text("a\tb\\".into()), Cell::Null],
            &mut Vec::new(),
            &mut copy,
        );
        assert_eq!(copy, b"a\\tb\\\\\t\\N\n");
    }
}
