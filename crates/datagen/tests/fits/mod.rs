//! Checking generated rows against their schema the way PostgreSQL and
//! MariaDB would: every cell fits its column's type (lengths in
//! characters, integer ranges, decimal precision and scale, enum labels,
//! NOT NULL) and every primary key and unique index holds, comparing text
//! as MariaDB's default collation does (case-insensitive, trailing spaces
//! ignored).

use std::collections::HashSet;

use watershed_datagen::{Cell, DatagenError, Plan, Pools, TableGen};
use watershed_events::{Column, LogicalType, TableSchema};

/// Every row of every table of `plan`, in plan order.
pub fn generate(plan: &Plan) -> Result<Vec<Vec<Vec<Cell>>>, DatagenError> {
    let mut pools = Pools::default();
    let mut tables = Vec::new();
    for t in 0..plan.tables.len() {
        let mut generator = TableGen::new(plan, t);
        let mut rows = Vec::new();
        for _ in 0..plan.tables[t].rows {
            let mut row = Vec::new();
            generator.next_row(&pools, &mut row)?;
            rows.push(row);
        }
        pools.tables.push(generator.into_pools());
        tables.push(rows);
    }
    Ok(tables)
}

/// What is wrong with the rows of `table`, one line per problem (at most
/// a few per column).
pub fn problems(table: &TableSchema, rows: &[Vec<Cell>]) -> Vec<String> {
    let mut out = Vec::new();
    for (c, column) in table.columns.iter().enumerate() {
        let found = rows.iter().filter_map(|row| violation(column, &row[c]));
        out.extend(
            found
                .take(3)
                .map(|p| format!("{}.{}: {p}", table.name, column.name)),
        );
    }
    for key in unique_keys(table) {
        if let Some(duplicate) = duplicate(&key, rows) {
            out.push(format!("{}: {duplicate}", table.name));
        }
    }
    out
}

/// The primary key and every unique index on plain columns, as positions.
fn unique_keys(table: &TableSchema) -> Vec<Vec<usize>> {
    let mut keys = Vec::new();
    if !table.primary_key.is_empty() {
        keys.push(table.primary_key_indices());
    }
    for index in table.indexes.iter().filter(|i| i.unique) {
        let columns: Option<Vec<usize>> = index
            .columns
            .iter()
            .map(|c| table.column_index(c))
            .collect();
        keys.extend(columns);
    }
    keys
}

fn duplicate(key: &[usize], rows: &[Vec<Cell>]) -> Option<String> {
    let mut seen = HashSet::new();
    for row in rows {
        if key.iter().any(|c| row[*c].is_null()) {
            continue;
        }
        let folded: Vec<String> = key.iter().map(|c| fold(&row[*c])).collect();
        if !seen.insert(folded.clone()) {
            return Some(format!("duplicate key {folded:?} in columns {key:?}"));
        }
    }
    None
}

/// A cell as the database compares it in a unique index.
fn fold(cell: &Cell) -> String {
    let mut bytes = Vec::new();
    cell.write_plain(&mut bytes);
    String::from_utf8_lossy(&bytes).trim_end().to_lowercase()
}

/// Why `cell` cannot be stored in `column`, if it cannot.
pub fn violation(column: &Column, cell: &Cell) -> Option<String> {
    if cell.is_null() {
        return (!column.nullable).then(|| "NULL in a NOT NULL column".to_owned());
    }
    let fits = match (&column.logical_type, cell) {
        (t, Cell::Int(v)) if t.is_integer() => int_fits(t, *v),
        (LogicalType::Bool, Cell::Bool(_)) => true,
        (LogicalType::Decimal { precision, scale }, Cell::Num(n)) => {
            decimal_fits(n, *precision, scale.unwrap_or(0))
        }
        (LogicalType::Float32 | LogicalType::Float64, Cell::Num(n)) => n.parse::<f64>().is_ok(),
        (LogicalType::Char { length, .. } | LogicalType::Varchar { length, .. }, Cell::Text(t)) => {
            length.is_none_or(|l| t.chars().count() <= l as usize)
        }
        (LogicalType::Text { .. }, Cell::Text(_)) => true,
        (LogicalType::Enum { labels }, Cell::Text(t)) => labels.contains(t),
        (LogicalType::Set { labels }, Cell::Text(t)) => {
            t.is_empty() || t.split(',').all(|p| labels.iter().any(|l| l == p))
        }
        (LogicalType::Uuid, Cell::Text(t)) => is_uuid(t),
        (LogicalType::Date, Cell::Text(t)) => is_date(t),
        (LogicalType::Time { .. }, Cell::Text(t)) => is_time(t),
        (LogicalType::DateTime { .. } | LogicalType::Timestamp { .. }, Cell::Text(t)) => t
            .split_once(' ')
            .is_some_and(|(d, c)| is_date(d) && is_time(c)),
        (LogicalType::Year, Cell::Text(t)) => {
            t.parse::<u16>().is_ok_and(|y| (1901..=2155).contains(&y))
        }
        (LogicalType::Json, Cell::Json(j)) => serde_json::from_str::<serde_json::Value>(j).is_ok(),
        (LogicalType::Binary { length } | LogicalType::Varbinary { length }, Cell::Bytes(b)) => {
            length.is_none_or(|l| b.len() <= l as usize)
        }
        (LogicalType::Blob, Cell::Bytes(_)) => true,
        (LogicalType::Bit { width }, Cell::Text(t)) => {
            t.len() == usize::from(*width) && t.bytes().all(|b| b == b'0' || b == b'1')
        }
        (LogicalType::Array { .. }, _) => true,
        _ => false,
    };
    (!fits).then(|| format!("{cell:?} does not fit {:?}", column.logical_type))
}

fn int_fits(logical: &LogicalType, v: i64) -> bool {
    let (lo, hi): (i64, i64) = match logical {
        LogicalType::Int8 => (i8::MIN.into(), i8::MAX.into()),
        LogicalType::Int16 => (i16::MIN.into(), i16::MAX.into()),
        LogicalType::Int24 => (-(1 << 23), (1 << 23) - 1),
        LogicalType::Int32 => (i32::MIN.into(), i32::MAX.into()),
        LogicalType::UInt8 => (0, u8::MAX.into()),
        LogicalType::UInt16 => (0, u16::MAX.into()),
        LogicalType::UInt24 => (0, (1 << 24) - 1),
        LogicalType::UInt32 => (0, u32::MAX.into()),
        LogicalType::UInt64 => (0, i64::MAX),
        _ => (i64::MIN, i64::MAX),
    };
    (lo..=hi).contains(&v)
}

fn decimal_fits(text: &str, precision: Option<u16>, scale: u16) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let numeric = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let int_digits = int.trim_start_matches('0').len();
    numeric(int)
        && numeric(frac)
        && !int.is_empty()
        && frac.len() <= usize::from(scale)
        && precision.is_none_or(|p| int_digits <= usize::from(p.saturating_sub(scale)))
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.iter().map(|p| p.len()).eq([4, 2, 2])
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

fn is_time(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
}
