//! Applying one table's reduced changes: COPY into its staging table,
//! then one set-based delete and one upsert (or insert) into the target;
//! truncates; and the rare rows whose values were partly unsent (TOAST).

use tokio_postgres::Client;
use tokio_postgres::types::ToSql;
use watershed_events::Value;

use tokio_postgres::error::SqlState;

use super::copy::{Destination, TxInfo, copy_outcomes};
use super::encode::Cell;
use super::error::pg_err;
use super::reduce::{Outcome, Reduced};
use super::sql;
use super::table::TableState;
use crate::sink::SinkError;

/// Batches of a table applied without direct inserts after one of them
/// met a key the target already had (a snapshot overlapping rows applied
/// before a restart): the overlap is usually one chunk.
const DIRECT_COOLDOWN: u32 = 8;

/// How a table's outcomes are applied.
#[derive(Default)]
struct Split<'r, 'a> {
    /// Inserts COPY'd straight into the target.
    direct: Vec<&'r Outcome<'a>>,
    /// Deletes and upserts, through the staging table.
    staged: Vec<&'r Outcome<'a>>,
    /// Updates with unsent (TOAST) values, one statement each.
    partial: Vec<&'r Outcome<'a>>,
}

/// Applies `reduced` to the table; returns the zero dates written as
/// NULL, per staged column.
///
/// Inserts of keys new to the batch are COPY'd straight into the target
/// inside a savepoint (a plain COPY is about twice as fast as staging and
/// upserting); if one meets an existing key, the savepoint is rolled back
/// and they are upserted like the rest. Keyless inserts cannot conflict.
pub(crate) async fn apply(
    client: &Client,
    state: &mut TableState,
    reduced: &mut Reduced<'_>,
    txs: &[TxInfo],
) -> Result<Vec<u64>, SinkError> {
    let keyed = !state.key.is_empty();
    if keyed && !reduced.is_indexed() {
        // Nothing but inserts: try them as they came; reduce only if a
        // key turns out to exist already (or twice).
        if state.direct_cooldown == 0 {
            let direct: Vec<&Outcome<'_>> = reduced.outcomes.iter().collect();
            if let Some(nulled) = insert_directly(client, state, &direct, txs).await? {
                return Ok(nulled);
            }
        }
        reduced.index(&state.key);
    }
    let reduced = &*reduced;
    let mut split = split(state, reduced);
    state.direct_cooldown = state.direct_cooldown.saturating_sub(1);
    let mut nulled = vec![0; state.layout.len()];
    if keyed && !split.direct.is_empty() {
        match insert_directly(client, state, &split.direct, txs).await? {
            Some(counts) => add(&mut nulled, &counts),
            None => split.staged.append(&mut split.direct),
        }
    }
    if !split.staged.is_empty() {
        add(
            &mut nulled,
            &stage_and_merge(client, state, &split.staged, txs).await?,
        );
    }
    if !keyed && !split.direct.is_empty() {
        // After the keyless deletes, so that they match only older rows.
        let counts = copy_outcomes(client, state, Destination::Target, &split.direct, txs).await?;
        add(&mut nulled, &counts);
    }
    for outcome in split.partial {
        update_sent_columns(client, state, outcome).await?;
    }
    Ok(nulled)
}

fn split<'r, 'a>(state: &TableState, reduced: &'r Reduced<'a>) -> Split<'r, 'a> {
    let keyed = !state.key.is_empty();
    let try_direct = !keyed || state.direct_cooldown == 0;
    let mut split = Split::default();
    for outcome in reduced.outcomes.iter().filter(|o| o.count != 0) {
        let upsert = !outcome.is_delete();
        if keyed && upsert && outcome.has_unchanged() {
            split.partial.push(outcome);
        } else if try_direct && upsert && (!keyed || outcome.fresh) {
            split.direct.push(outcome);
        } else {
            split.staged.push(outcome);
        }
    }
    split
}

fn add(total: &mut [u64], counts: &[u64]) {
    for (total, count) in total.iter_mut().zip(counts) {
        *total += count;
    }
}

/// COPYs inserts into the target in a savepoint; `None` when a key
/// already existed (the savepoint is rolled back, nothing was written).
async fn insert_directly(
    client: &Client,
    state: &mut TableState,
    direct: &[&Outcome<'_>],
    txs: &[TxInfo],
) -> Result<Option<Vec<u64>>, SinkError> {
    let target = state.target.clone();
    let savepoint = |command: &'static str| {
        let target = &target;
        async move {
            client
                .batch_execute(command)
                .await
                .map_err(pg_err(|| format!("{command} for {target}")))
        }
    };
    savepoint("SAVEPOINT ws_direct").await?;
    match copy_outcomes(client, state, Destination::Target, direct, txs).await {
        Ok(nulled) => {
            savepoint("RELEASE SAVEPOINT ws_direct").await?;
            Ok(Some(nulled))
        }
        Err(SinkError::Postgres { source, .. })
            if source.code() == Some(&SqlState::UNIQUE_VIOLATION) =>
        {
            savepoint("ROLLBACK TO SAVEPOINT ws_direct").await?;
            tracing::debug!(table = %state.target, "inserts met existing keys; upserting instead");
            state.direct_cooldown = DIRECT_COOLDOWN;
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

async fn stage_and_merge(
    client: &Client,
    state: &mut TableState,
    staged: &[&Outcome<'_>],
    txs: &[TxInfo],
) -> Result<Vec<u64>, SinkError> {
    if state.staging_used {
        // A second batch for this table in one transaction.
        client
            .batch_execute(&sql::truncate(&state.names.staging))
            .await
            .map_err(pg_err(|| {
                format!("empty the staging table of {}", state.target)
            }))?;
    }
    state.staging_used = true;
    let nulled = copy_outcomes(client, state, Destination::Staging, staged, txs).await?;
    if staged.iter().any(|o| o.is_delete()) {
        delete_staged(client, state).await?;
    }
    let Some(upsert) = &state.statements.upsert else {
        return Ok(nulled);
    };
    if staged.iter().any(|o| !o.is_delete()) {
        client
            .execute(upsert, &[])
            .await
            .map_err(pg_err(|| format!("upsert into {}", state.target)))?;
    }
    Ok(nulled)
}

/// Runs the delete statement. The keyless one matches rows by their text
/// form, which needs the hash joins the session otherwise turns off.
async fn delete_staged(client: &Client, state: &TableState) -> Result<(), SinkError> {
    let context = || format!("delete from {}", state.target);
    let keyless = state.key.is_empty();
    if keyless {
        client
            .batch_execute("SET LOCAL enable_hashjoin = on")
            .await
            .map_err(pg_err(context))?;
    }
    client
        .execute(&state.statements.delete, &[])
        .await
        .map_err(pg_err(context))?;
    if keyless {
        client
            .batch_execute("SET LOCAL enable_hashjoin = off")
            .await
            .map_err(pg_err(context))?;
    }
    Ok(())
}

/// An update whose row still lacks values the source did not resend:
/// only the sent columns are set, by key, with a statement cached per set
/// of sent columns.
async fn update_sent_columns(
    client: &Client,
    state: &mut TableState,
    outcome: &Outcome<'_>,
) -> Result<(), SinkError> {
    let row = &outcome.row;
    let sent: Vec<usize> = (0..row.len())
        .filter(|&i| !matches!(row[i], Value::Unchanged) && !state.key.contains(&i))
        .collect();
    if sent.is_empty() {
        return Ok(());
    }
    let statement = match state.partial_updates.get(&sent) {
        Some(statement) => statement.clone(),
        None => {
            let columns: Vec<&str> = sent
                .iter()
                .map(|&i| state.names.columns[i].as_str())
                .collect();
            let text = sql::update_columns(&state.names, &columns);
            let statement = client
                .prepare(&text)
                .await
                .map_err(pg_err(|| format!("prepare an update of {}", state.target)))?;
            state
                .partial_updates
                .insert(sent.clone(), statement.clone());
            statement
        }
    };
    let cells: Vec<Cell> = sent
        .iter()
        .chain(&state.key)
        .map(|&i| Cell(&row[i]))
        .collect();
    let params: Vec<&(dyn ToSql + Sync)> = cells.iter().map(|c| c as _).collect();
    client
        .execute(&statement, &params)
        .await
        .map_err(pg_err(|| format!("update {}", state.target)))?;
    Ok(())
}

/// TRUNCATE, or under soft deletes, marks every live row deleted.
pub(crate) async fn truncate(
    client: &Client,
    state: &TableState,
    tx: Option<&TxInfo>,
) -> Result<(), SinkError> {
    let context = || format!("truncate {}", state.target);
    if !state.names.soft_deletes {
        return client
            .batch_execute(&sql::truncate(&state.names.target))
            .await
            .map_err(pg_err(context));
    }
    let at = match tx.and_then(|tx| tx.commit_time) {
        Some(at) => Value::Timestamp(at),
        None => Value::Null,
    };
    client
        .execute(&sql::soft_truncate(&state.names), &[&Cell(&at)])
        .await
        .map_err(pg_err(context))?;
    Ok(())
}

/// Sets `_ws_position` (and a missing `_ws_committed_at`) on the rows a
/// transaction wrote before its commit was seen.
pub(crate) async fn fill_position(
    client: &Client,
    state: &TableState,
    tx: &TxInfo,
) -> Result<(), SinkError> {
    let at = match tx.commit_time {
        Some(at) => Value::Timestamp(at),
        None => Value::Null,
    };
    let position = tx.position.as_deref().unwrap_or_default();
    client
        .execute(
            &sql::fill_position(&state.names.target),
            &[&position, &Cell(&at)],
        )
        .await
        .map_err(pg_err(|| format!("set the positions of {}", state.target)))?;
    Ok(())
}
