//! One target table as the sink uses it: created or extended to match the
//! source schema, the layout of its staged rows, its staging table and
//! its prepared statements. Rebuilt when the source schema's version
//! changes or the session is reopened.

use std::collections::HashMap;

use tokio_postgres::{Client, Statement};
use watershed_events::{Column, ColumnRename, LogicalType, TableSchema};
use watershed_schema::dialect::postgres::{
    add_column, column_type, create_table, qualified_name, quote_ident, type_holds, widens,
};

use super::catalog::{self, LiveColumn, Target};
use super::config::{DeleteMode, PostgresConfig};
use super::error::pg_err;
use super::kind::Kind;
use super::sql::{self, Names};
use crate::sink::SinkError;

/// PostgreSQL truncates longer identifiers, which would make the catalog
/// lookups miss the table it created.
const MAX_IDENTIFIER_BYTES: usize = 63;

/// Where a staged column's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Column(usize),
    Op,
    Position,
    CommittedAt,
    DeletedAt,
    DeleteFlag,
}

/// One column of the staging table, in COPY order.
#[derive(Debug, Clone)]
pub(crate) struct StagedColumn {
    pub name: String,
    pub source: Source,
    pub kind: Kind,
    /// The target column takes NULL (zero dates may become NULL).
    pub nullable: bool,
    /// Part of the primary key: the only columns a keyed delete stages.
    pub is_key: bool,
}

/// Statements prepared once per table and session.
pub(crate) struct Statements {
    /// COPY into the staging table.
    pub copy: Statement,
    /// COPY into the target, for inserts of keys new to the batch.
    pub copy_direct: Statement,
    pub delete: Statement,
    /// Staged rows into the target; keyed tables only.
    pub upsert: Option<Statement>,
}

/// A target table ready to take batches.
pub(crate) struct TableState {
    /// The source schema version this state was built for.
    pub version: u64,
    pub target: Target,
    pub names: Names,
    pub layout: Vec<StagedColumn>,
    /// Source column indices of the primary key; empty when keyless.
    pub key: Vec<usize>,
    pub statements: Statements,
    /// The staging table holds rows of the open transaction.
    pub staging_used: bool,
    /// Partial-row updates (TOAST), by the set of columns they send.
    pub partial_updates: HashMap<Vec<usize>, Statement>,
    /// Batches to apply without trying direct inserts, after one hit an
    /// existing key.
    pub direct_cooldown: u32,
    /// Written for a zero date (`zero_dates:`), if configured.
    pub zero_date: Option<watershed_events::Date>,
}

impl TableState {
    /// Creates the target table or adds the source's new columns, checks
    /// that existing columns still hold the source's types, then sets up
    /// a fresh staging table named `staging`.
    pub(crate) async fn prepare(
        client: &Client,
        config: &PostgresConfig,
        schema: &TableSchema,
        staging: String,
        may_alter: bool,
    ) -> Result<Self, SinkError> {
        let target = target_of(config, schema)?;
        let wanted = wanted_columns(schema, config);
        let live = reconcile(client, &target, schema, &wanted, may_alter).await?;
        check_primary_key(client, &target, schema).await?;
        let key = schema.primary_key_indices();
        let layout = layout(&target, schema, &wanted, &live)?;
        let names = Names {
            target: qualified_name(&target.schema, &target.table),
            // Qualified, so that no table of the search path can shadow it.
            staging: format!("pg_temp.{}", quote_ident(&staging)),
            columns: wanted.iter().map(|c| quote_ident(&c.name)).collect(),
            source_columns: schema.columns.len(),
            key: schema.primary_key.iter().map(|k| quote_ident(k)).collect(),
            metadata: config.metadata_columns,
            soft_deletes: config.deletes == DeleteMode::Soft,
        };
        let statements = set_up_staging(client, &target, &names).await?;
        Ok(Self {
            version: schema.version,
            target,
            names,
            layout,
            key,
            statements,
            staging_used: false,
            partial_updates: HashMap::new(),
            direct_cooldown: 0,
            zero_date: config.zero_date_substitute().map_err(SinkError::Refused)?,
        })
    }

    /// Drops this table's staging table (a schema change replaces it).
    pub(crate) async fn drop_staging(&self, client: &Client) -> Result<(), SinkError> {
        client
            .batch_execute(&sql::drop_staging(&self.names.staging))
            .await
            .map_err(pg_err(|| {
                format!("drop the staging table of {}", self.target)
            }))
    }
}

/// Renames target columns the source renamed, so that their values stay;
/// a rename already made (a replay after a crash) is skipped.
pub(crate) async fn rename_columns(
    client: &Client,
    config: &PostgresConfig,
    schema: &TableSchema,
    renames: &[ColumnRename],
    may_alter: bool,
) -> Result<(), SinkError> {
    let target = target_of(config, schema)?;
    let live = catalog::columns(client, &target).await?;
    let due: Vec<&ColumnRename> = renames
        .iter()
        .filter(|r| live.contains_key(&r.from) && !live.contains_key(&r.to))
        .collect();
    if due.is_empty() {
        return Ok(());
    }
    let statements: Vec<String> = due
        .iter()
        .map(|r| {
            format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                qualified_name(&target.schema, &target.table),
                quote_ident(&r.from),
                quote_ident(&r.to)
            )
        })
        .collect();
    if !may_alter {
        return Err(SinkError::SchemaFrozen {
            table: target.to_string(),
            change: format!("the target would need: {}", statements.join("; ")),
        });
    }
    for statement in &statements {
        client
            .batch_execute(statement)
            .await
            .map_err(pg_err(|| format!("rename a column of {target}")))?;
    }
    tracing::info!(table = %target, columns = due.len(), "target columns renamed");
    Ok(())
}

/// Drops the target table of a table the source dropped.
pub(crate) async fn drop_target(
    client: &Client,
    config: &PostgresConfig,
    schema: &TableSchema,
    may_alter: bool,
) -> Result<(), SinkError> {
    let target = target_of(config, schema)?;
    let statement = format!(
        "DROP TABLE IF EXISTS {}",
        qualified_name(&target.schema, &target.table)
    );
    if !may_alter {
        return Err(SinkError::SchemaFrozen {
            table: target.to_string(),
            change: format!("the source dropped the table; the target would need: {statement}"),
        });
    }
    client
        .batch_execute(&statement)
        .await
        .map_err(pg_err(|| format!("drop table {target}")))?;
    tracing::info!(table = %target, "target table dropped");
    Ok(())
}

fn target_of(config: &PostgresConfig, schema: &TableSchema) -> Result<Target, SinkError> {
    let target = Target {
        schema: config.schema.clone(),
        table: config.target_table(&schema.name),
    };
    if target.table.is_empty() || target.table.len() > MAX_IDENTIFIER_BYTES {
        return Err(SinkError::Refused(format!(
            "source table {} maps to target name `{}`, which is empty or longer than {} bytes; \
             set a shorter sink table_name template",
            schema.name, target.table, MAX_IDENTIFIER_BYTES
        )));
    }
    Ok(target)
}

/// Source columns, then the metadata and soft-delete columns configured.
fn wanted_columns(schema: &TableSchema, config: &PostgresConfig) -> Vec<Column> {
    let text = || LogicalType::Text { charset: None };
    let instant = || LogicalType::Timestamp { fsp: 6 };
    let mut columns = schema.columns.clone();
    if config.metadata_columns {
        columns.push(Column::new(sql::OP, text(), true));
        columns.push(Column::new(sql::POSITION, text(), true));
        columns.push(Column::new(sql::COMMITTED_AT, instant(), true));
    }
    if config.deletes == DeleteMode::Soft {
        columns.push(Column::new(sql::DELETED_AT, instant(), true));
    }
    columns
}

/// Makes the target have every wanted column with a type that holds the
/// source's; returns its live columns.
async fn reconcile(
    client: &Client,
    target: &Target,
    schema: &TableSchema,
    wanted: &[Column],
    may_alter: bool,
) -> Result<HashMap<String, LiveColumn>, SinkError> {
    let mut live = catalog::columns(client, target).await?;
    let mut ddl = ddl_for(target, schema, wanted, &live)?;
    if !ddl.is_empty() {
        // Another member may be changing the table now: wait for it, and
        // look again at what it left.
        catalog::lock_ddl(client, &target.schema).await?;
        live = catalog::columns(client, target).await?;
        ddl = ddl_for(target, schema, wanted, &live)?;
    }
    if ddl.is_empty() {
        return Ok(live);
    }
    if !may_alter && !live.is_empty() {
        return Err(SinkError::SchemaFrozen {
            table: target.to_string(),
            change: format!("the target would need: {}", ddl.join("; ")),
        });
    }
    for statement in &ddl {
        client
            .batch_execute(statement)
            .await
            .map_err(pg_err(|| format!("create or alter table {target}")))?;
    }
    tracing::info!(table = %target, statements = ddl.len(), "target table created or extended");
    catalog::columns(client, target).await
}

/// The statements that turn the live table into the wanted one.
fn ddl_for(
    target: &Target,
    schema: &TableSchema,
    wanted: &[Column],
    live: &HashMap<String, LiveColumn>,
) -> Result<Vec<String>, SinkError> {
    Ok(if live.is_empty() {
        let mut full = schema.clone();
        full.columns = wanted.to_vec();
        vec![create_table(&target.schema, &target.table, &full)]
    } else {
        let mut ddl = widen_types(target, wanted, live)?;
        ddl.extend(release_dropped(target, wanted, live));
        ddl.extend(
            wanted
                .iter()
                .filter(|c| !live.contains_key(&c.name))
                .map(|c| add_column(&target.schema, &target.table, c)),
        );
        ddl
    })
}

/// `ALTER COLUMN … TYPE` for columns the source widened (a MODIFY to a
/// larger type); any other type change is refused with the fix.
fn widen_types(
    target: &Target,
    wanted: &[Column],
    live: &HashMap<String, LiveColumn>,
) -> Result<Vec<String>, SinkError> {
    let mut ddl = Vec::new();
    for column in wanted {
        let Some(existing) = live.get(&column.name) else {
            continue;
        };
        let expected = column_type(&column.logical_type);
        if type_holds(&existing.type_name, &expected) {
            continue;
        }
        if !widens(&existing.type_name, &expected) {
            return Err(SinkError::Column {
                table: target.to_string(),
                column: column.name.clone(),
                reason: format!(
                    "the target column is `{}` but the source now needs `{expected}`, which is                      not a widening; alter the target column (ALTER TABLE … ALTER COLUMN …                      TYPE {expected}) or resync the table",
                    existing.type_name
                ),
            });
        }
        let name = quote_ident(&column.name);
        ddl.push(format!(
            "ALTER TABLE {} ALTER COLUMN {name} TYPE {expected} USING {name}::{expected}",
            qualified_name(&target.schema, &target.table)
        ));
    }
    Ok(ddl)
}

/// Columns the source no longer has stay in the target with the values
/// they hold (a warehouse keeps history), but must take NULL from now on.
fn release_dropped(
    target: &Target,
    wanted: &[Column],
    live: &HashMap<String, LiveColumn>,
) -> Vec<String> {
    let mut dropped: Vec<&String> = live
        .iter()
        .filter(|(name, column)| column.not_null && !wanted.iter().any(|w| &w.name == *name))
        .map(|(name, _)| name)
        .collect();
    dropped.sort();
    dropped
        .into_iter()
        .map(|name| {
            format!(
                "ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL",
                qualified_name(&target.schema, &target.table),
                quote_ident(name)
            )
        })
        .collect()
}

/// Upserts need the target's primary key to be the source's.
async fn check_primary_key(
    client: &Client,
    target: &Target,
    schema: &TableSchema,
) -> Result<(), SinkError> {
    if schema.primary_key.is_empty() {
        return Ok(());
    }
    let live = catalog::primary_key(client, target).await?;
    if live == schema.primary_key {
        return Ok(());
    }
    Err(SinkError::Refused(format!(
        "table {target}: its primary key is ({}) but the source's is ({}); make them equal \
         (ALTER TABLE … ADD PRIMARY KEY …) or drop the target table so that it is recreated",
        live.join(", "),
        schema.primary_key.join(", ")
    )))
}

fn layout(
    target: &Target,
    schema: &TableSchema,
    wanted: &[Column],
    live: &HashMap<String, LiveColumn>,
) -> Result<Vec<StagedColumn>, SinkError> {
    let mut layout = Vec::with_capacity(wanted.len() + 1);
    for (i, column) in wanted.iter().enumerate() {
        let existing = live.get(&column.name).ok_or_else(|| SinkError::Column {
            table: target.to_string(),
            column: column.name.clone(),
            reason: "the column is missing after it was added".into(),
        })?;
        let kind = postgres_types::Type::from_oid(existing.type_oid)
            .and_then(|ty| Kind::of(&ty, existing.typmod))
            .ok_or_else(|| SinkError::Column {
                table: target.to_string(),
                column: column.name.clone(),
                reason: format!(
                    "the sink cannot write the target type `{}`; change the column to the type \
                     the mapping gives (`{}`)",
                    existing.type_name,
                    column_type(&column.logical_type)
                ),
            })?;
        layout.push(StagedColumn {
            name: column.name.clone(),
            source: source_of(i, schema, &column.name),
            kind,
            nullable: !existing.not_null,
            is_key: schema.primary_key.contains(&column.name),
        });
    }
    layout.push(StagedColumn {
        name: sql::DELETE_FLAG.into(),
        source: Source::DeleteFlag,
        kind: Kind::Bool,
        nullable: true,
        is_key: false,
    });
    Ok(layout)
}

fn source_of(index: usize, schema: &TableSchema, name: &str) -> Source {
    if index < schema.columns.len() {
        return Source::Column(index);
    }
    match name {
        sql::OP => Source::Op,
        sql::POSITION => Source::Position,
        sql::COMMITTED_AT => Source::CommittedAt,
        _ => Source::DeletedAt,
    }
}

/// Creates the staging table and prepares the table's statements, all
/// sent at once.
async fn set_up_staging(
    client: &Client,
    target: &Target,
    names: &Names,
) -> Result<Statements, SinkError> {
    let setup = format!(
        "{}; {}",
        sql::drop_staging(&names.staging),
        sql::create_staging(names)
    );
    client
        .batch_execute(&setup)
        .await
        .map_err(pg_err(|| format!("create the staging table of {target}")))?;
    let delete = if names.key.is_empty() {
        sql::delete_keyless(names)
    } else {
        sql::delete_keyed(names)
    };
    // Keyless tables insert by COPY into the target: no upsert.
    let upsert = sql::upsert_keyed(names);
    let upsert = async {
        match names.key.is_empty() {
            true => Ok(None),
            false => client.prepare(&upsert).await.map(Some),
        }
    };
    let copy = sql::copy_into_staging(names);
    let copy_direct = sql::copy_into_target(names);
    let (copy, copy_direct, delete, upsert) = tokio::try_join!(
        client.prepare(&copy),
        client.prepare(&copy_direct),
        client.prepare(&delete),
        upsert
    )
    .map_err(pg_err(|| format!("prepare the statements of {target}")))?;
    Ok(Statements {
        copy,
        copy_direct,
        delete,
        upsert,
    })
}
