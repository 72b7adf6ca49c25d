//! Looking at the target outside the apply path: preflight checks for
//! `watershed check`, and text queries for `watershed verify`.

use tokio_postgres::{Client, NoTls};
use watershed_events::{Check, Position};
use watershed_schema::dialect::postgres::quote_ident;

use super::config::{PostgresConfig, describe};
use super::error::{PostgresError, pg_err};
use crate::sink::SinkError;

/// A plain connection (no session settings, no staging tables).
pub async fn connect(config: &PostgresConfig) -> Result<Client, SinkError> {
    let settings = config.connection()?;
    let server = describe(&settings);
    let (client, connection) = settings
        .connect(NoTls)
        .await
        .map_err(pg_err(|| format!("connect to {server}")))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(error = %PostgresError::new(error), "postgres connection ended");
        }
    });
    Ok(client)
}

/// Runs `sql` and returns every row as text cells (`None` for NULL).
pub async fn query_text(client: &Client, sql: &str) -> Result<Vec<Vec<Option<String>>>, SinkError> {
    let messages = client
        .simple_query(sql)
        .await
        .map_err(pg_err(|| "run a verification query"))?;
    Ok(watershed_schema::introspect::text_rows(messages))
}

/// Preflight: reachable, allowed to create in the target schema, and what
/// the stored checkpoint says for `pipeline`.
pub async fn check(config: &PostgresConfig, pipeline: &str) -> Vec<Check> {
    let server = config
        .connection()
        .map(|c| describe(&c))
        .unwrap_or_else(|_| "?".into());
    let client = match connect(config).await {
        Ok(client) => client,
        Err(e) => {
            return vec![Check::fail(
                "sink reachable",
                e.to_string(),
                "check the sink url, that the server runs, and the user's password",
            )];
        }
    };
    let mut checks = vec![Check::ok(
        "sink reachable",
        format!("connected to {server}"),
    )];
    let schema = &config.schema;
    let writable = query_text(
        &client,
        &format!(
            "SELECT CASE WHEN to_regnamespace({literal}) IS NULL \
               THEN has_database_privilege(current_database(), 'CREATE') \
               ELSE has_schema_privilege({literal}, 'CREATE') END",
            literal = sql_literal(schema)
        ),
    )
    .await;
    checks.push(match writable.as_deref().map(first_cell) {
        Ok(Some("t")) => Check::ok(
            "sink writable",
            format!("may create tables in schema {schema}"),
        ),
        Ok(_) => Check::fail(
            "sink writable",
            format!("the user may not create tables in schema {schema}"),
            format!(
                "GRANT CREATE ON SCHEMA {} TO <user> (or on the database)",
                quote_ident(schema)
            ),
        ),
        Err(e) => Check::fail(
            "sink writable",
            e.to_string(),
            "check the user's privileges",
        ),
    });
    checks.push(match stored_position(&client, config, pipeline).await {
        Ok(Some(position)) => Check::ok("sink checkpoint", format!("resumes from {position}")),
        Ok(None) => Check::ok(
            "sink checkpoint",
            "no checkpoint yet: starts with a snapshot",
        ),
        Err(e) => Check::fail(
            "sink checkpoint",
            e.to_string(),
            "the checkpoint table was edited by hand",
        ),
    });
    checks
}

/// The checkpoint `pipeline` has stored in the target, if any (none also
/// when the checkpoint table does not exist yet).
pub async fn stored_position(
    client: &Client,
    config: &PostgresConfig,
    pipeline: &str,
) -> Result<Option<Position>, SinkError> {
    Ok(stored_checkpoint(client, config, pipeline)
        .await?
        .map(|(position, _)| position))
}

/// The stored checkpoint and how many seconds ago it was committed.
pub async fn stored_checkpoint(
    client: &Client,
    config: &PostgresConfig,
    pipeline: &str,
) -> Result<Option<(Position, f64)>, SinkError> {
    let rows = query_text(
        client,
        &format!(
            "SELECT position::text, extract(epoch FROM now() - committed_at)::float8::text \
             FROM {}._watershed_checkpoints WHERE pipeline = {}",
            quote_ident(&config.schema),
            sql_literal(pipeline)
        ),
    )
    .await;
    let Ok(rows) = rows else { return Ok(None) };
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let age = row
        .get(1)
        .cloned()
        .flatten()
        .and_then(|a| a.parse().ok())
        .unwrap_or(0.0);
    let Some(json) = row.first().cloned().flatten() else {
        return Ok(None);
    };
    let position = Position::from_json(&json).map_err(|source| SinkError::Checkpoint {
        location: format!("{}._watershed_checkpoints", config.schema),
        source,
    })?;
    Ok(Some((position, age)))
}

fn first_cell(rows: &[Vec<Option<String>>]) -> Option<&str> {
    rows.first()?.first()?.as_deref()
}

fn sql_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
