//! `--out DIR`: one file per table, `<table>.<format>` or
//! `<schema>.<table>.<format>`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use watershed_schema::ddl::Dialect;

use super::encode::{self, Format};
use super::progress::Progress;
use crate::cell::Cell;
use crate::deferred::DeferredUpdate;
use crate::error::DatagenError;
use crate::table::{Pools, TableGen};

/// Rows buffered before a write.
const FLUSH_BYTES: usize = 1 << 20;
/// Rows per `INSERT` statement in SQL files.
const ROWS_PER_INSERT: usize = 500;

/// The file for `table` in `dir`.
pub fn path_for(dir: &Path, table: &watershed_events::TableName, format: Format) -> PathBuf {
    dir.join(format!("{table}.{}", format.extension()))
}

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> DatagenError + '_ {
    move |source| DatagenError::Write {
        path: path.to_owned(),
        source,
    }
}

/// Writes every row of `generator` to its file.
pub fn write_table(
    generator: &mut TableGen<'_>,
    pools: &Pools,
    path: &Path,
    format: Format,
    dialect: Dialect,
    progress: &mut Progress,
) -> Result<u64, DatagenError> {
    let table = generator.table();
    let names: Vec<String> = table
        .schema
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let file = File::create(path).map_err(write_err(path))?;
    let mut file = BufWriter::new(file);
    let (mut buf, mut scratch, mut row) = (Vec::new(), Vec::new(), Vec::<Cell>::new());
    if format == Format::Csv {
        encode::csv_header(&names, &mut buf);
    }
    let mut written = 0u64;
    while generator.remaining() > 0 {
        generator.next_row(pools, &mut row)?;
        match format {
            Format::Csv => encode::csv_row(&row, &mut scratch, &mut buf),
            Format::Jsonl => encode::jsonl_row(&names, &row, &mut buf),
            Format::Sql => {
                if written.is_multiple_of(ROWS_PER_INSERT as u64) {
                    if written > 0 {
                        buf.extend_from_slice(b";\n");
                    }
                    encode::insert_head(&table.schema.name, &names, dialect, &mut buf);
                } else {
                    buf.extend_from_slice(b",\n");
                }
                encode::sql_values(&row, dialect, &mut buf);
            }
        }
        written += 1;
        if buf.len() >= FLUSH_BYTES {
            file.write_all(&buf).map_err(write_err(path))?;
            buf.clear();
            progress.tick(written);
        }
    }
    if format == Format::Sql && written > 0 {
        buf.extend_from_slice(b";\n");
    }
    file.write_all(&buf).map_err(write_err(path))?;
    file.flush().map_err(write_err(path))?;
    Ok(written)
}

/// Writes the values of foreign keys that broke a cycle to
/// `<table>.deferred.<format>`: key and value columns (CSV, JSON lines)
/// or `UPDATE` statements (SQL), to apply after loading the tables.
pub fn write_deferred(
    dir: &Path,
    update: &DeferredUpdate,
    format: Format,
    dialect: Dialect,
) -> Result<PathBuf, DatagenError> {
    let path = dir.join(format!("{}.deferred.{}", update.table, format.extension()));
    let mut names = update.key_columns.clone();
    names.extend(update.set_columns.iter().cloned());
    let (mut buf, mut scratch) = (Vec::new(), Vec::new());
    if format == Format::Sql {
        for statement in update.statements(dialect) {
            buf.extend_from_slice(statement.as_bytes());
            buf.extend_from_slice(b";\n");
        }
    } else {
        if format == Format::Csv {
            encode::csv_header(&names, &mut buf);
        }
        for (key, values) in &update.rows {
            let row: Vec<Cell> = key.iter().chain(values).cloned().collect();
            match format {
                Format::Csv => encode::csv_row(&row, &mut scratch, &mut buf),
                _ => encode::jsonl_row(&names, &row, &mut buf),
            }
        }
    }
    std::fs::write(&path, &buf).map_err(write_err(&path))?;
    Ok(path)
}
