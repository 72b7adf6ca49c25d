//! What the target database already has: schemas, a table's live columns
//! with their types, and its primary key, read from the system catalogs.

use std::collections::HashMap;

use tokio_postgres::Client;

use super::error::pg_err;
use crate::sink::SinkError;

/// A target table's location: schema and table name, unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub schema: String,
    pub table: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

/// One live column of a target table.
#[derive(Debug, Clone)]
pub(crate) struct LiveColumn {
    pub type_oid: u32,
    pub typmod: i32,
    /// As `format_type()` prints it, e.g. `character varying(20)`.
    pub type_name: String,
    pub not_null: bool,
}

const COLUMNS: &str = "SELECT a.attname, a.atttypid, a.atttypmod, \
    format_type(a.atttypid, a.atttypmod), a.attnotnull \
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
    JOIN pg_namespace n ON n.oid = c.relnamespace \
    WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') \
    AND a.attnum > 0 AND NOT a.attisdropped";

const PRIMARY_KEY: &str = "SELECT a.attname FROM pg_constraint k \
    JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
    CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord) \
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum \
    WHERE n.nspname = $1 AND c.relname = $2 AND k.contype = 'p' ORDER BY u.ord";

/// The table's columns by name; empty when the table does not exist.
pub(crate) async fn columns(
    client: &Client,
    target: &Target,
) -> Result<HashMap<String, LiveColumn>, SinkError> {
    let rows = client
        .query(COLUMNS, &[&target.schema, &target.table])
        .await
        .map_err(pg_err(|| format!("read the columns of {target}")))?;
    let read = |row: &tokio_postgres::Row| -> Result<(String, LiveColumn), tokio_postgres::Error> {
        let column = LiveColumn {
            type_oid: row.try_get(1)?,
            typmod: row.try_get(2)?,
            type_name: row.try_get(3)?,
            not_null: row.try_get(4)?,
        };
        Ok((row.try_get(0)?, column))
    };
    rows.iter()
        .map(read)
        .collect::<Result<_, _>>()
        .map_err(pg_err(|| format!("read the columns of {target}")))
}

/// The primary key's column names in key order; empty when none.
pub(crate) async fn primary_key(
    client: &Client,
    target: &Target,
) -> Result<Vec<String>, SinkError> {
    let rows = client
        .query(PRIMARY_KEY, &[&target.schema, &target.table])
        .await
        .map_err(pg_err(|| format!("read the primary key of {target}")))?;
    rows.iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(pg_err(|| format!("read the primary key of {target}")))
}

/// True when the schema exists.
pub(crate) async fn schema_exists(client: &Client, schema: &str) -> Result<bool, SinkError> {
    let row = client
        .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
        .await
        .map_err(pg_err(|| format!("look up schema {schema}")))?;
    Ok(row.is_some())
}

/// The first key of the advisory lock that serialises Watershed's DDL in
/// one target schema ("WS" in ASCII).
const DDL_LOCK_SPACE: i32 = 0x5753;

/// Holds, until the transaction ends, the lock on DDL in `schema`.
///
/// Members of one consumer group (or pipelines sharing a target schema)
/// create the same tables at the same moment; PostgreSQL's `IF NOT
/// EXISTS` is not safe against that (the loser fails with a duplicate key
/// in `pg_type`). One lock per schema, not per table, so that two members
/// creating two tables cannot take them in opposite orders.
pub(crate) async fn lock_ddl(client: &Client, schema: &str) -> Result<(), SinkError> {
    client
        .execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&DDL_LOCK_SPACE, &schema],
        )
        .await
        .map_err(pg_err(|| format!("lock DDL in schema {schema}")))?;
    Ok(())
}
