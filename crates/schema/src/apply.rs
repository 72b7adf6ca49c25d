//! Making a live database match a schema: introspect the schemas the
//! target model names (and the default one), diff, and run the SQL.
//! Changes that drop or narrow run only when confirmed.

use crate::ddl::Dialect;
use crate::diff::{Change, diff, restrict_to};
use crate::error::SchemaError;
use crate::introspect::{Connection, Scope};
use crate::model::SchemaModel;
use crate::sql;

/// What applying a model to a database would do.
#[derive(Debug, Clone)]
pub struct Migration {
    pub dialect: Dialect,
    pub changes: Vec<Change>,
    /// The SQL, in order, without trailing `;`.
    pub statements: Vec<String>,
}

impl Migration {
    /// Nothing to do: the database already matches.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The changes that need confirming.
    pub fn destructive(&self) -> Vec<&Change> {
        self.changes.iter().filter(|c| c.is_destructive()).collect()
    }

    /// The SQL as a script.
    pub fn script(&self) -> String {
        sql::script(&self.statements)
    }
}

/// The changes that make the database behind `connection` match
/// `target`. Namespaces `target` does not use are left alone (see
/// [`restrict_to`]).
pub async fn plan(
    connection: &mut Connection,
    target: &SchemaModel,
) -> Result<Migration, SchemaError> {
    let dialect = connection.dialect();
    let unqualified = target.tables.keys().find(|n| n.schema.is_none());
    if let (Some(table), false) = (unqualified, connection.has_default_schema()) {
        return Err(SchemaError::Url {
            url: "the MySQL url".into(),
            reason: format!(
                "it names no database, and table `{table}` has no schema: add /DATABASE to the url"
            ),
        });
    }
    let scope = Scope::DefaultAnd(target.named_schemas());
    let mut live = connection.introspect(&scope).await?;
    restrict_to(&mut live, target);
    let changes = diff(&live, target, dialect);
    let statements = sql::statements(&changes, dialect, target);
    tracing::info!(
        changes = changes.len(),
        statements = statements.len(),
        "schema plan ready"
    );
    Ok(Migration {
        dialect,
        changes,
        statements,
    })
}

/// Runs `migration` (PostgreSQL: in one transaction). Refuses destructive
/// changes unless `confirm`, and changes SQL cannot make in place.
pub async fn run(
    connection: &mut Connection,
    migration: &Migration,
    confirm: bool,
) -> Result<(), SchemaError> {
    let destructive = migration.destructive().len();
    if destructive > 0 && !confirm {
        return Err(SchemaError::NeedsConfirm { count: destructive });
    }
    let unsupported = migration.changes.iter().find(|c| {
        migration.dialect == Dialect::Postgres && matches!(c, Change::DropEnumValues { .. })
    });
    if let Some(change) = unsupported {
        return Err(SchemaError::Unsupported(
            change.to_string().trim().to_owned(),
        ));
    }
    connection.execute(&migration.statements).await
}
