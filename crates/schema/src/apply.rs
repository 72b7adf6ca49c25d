//! Making a live database match a schema: introspect the schemas the
//! target model names (and the default one), diff, and run the SQL.
//! Changes that drop or narrow run only when confirmed. A server that
//! cannot index expressions (MariaDB, MySQL before 8.0.13) gets the file
//! without its expression indexes, each skipped one noted in the plan.

use crate::ddl::Dialect;
use crate::dialect::defaults::expression_default;
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
    /// The SQL, in order, without trailing `;`; notes on skipped indexes
    /// come first, as `-- ` comments.
    pub statements: Vec<String>,
    /// Why parts of the target were left out (expression indexes on a
    /// server without them), one line each.
    pub skipped: Vec<String>,
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
    let mut target = target.clone();
    let mut skipped = if connection.expression_indexes() {
        Vec::new()
    } else {
        drop_expression_indexes(&mut target)
    };
    skipped.extend(defaults_for(&mut target, dialect));
    let scope = Scope::DefaultAnd(target.named_schemas());
    let mut live = connection.introspect(&scope).await?;
    restrict_to(&mut live, &target);
    let changes = diff(&live, &target, dialect);
    let mut statements: Vec<String> = skipped.iter().map(|note| format!("-- {note}")).collect();
    statements.extend(sql::statements(&changes, dialect, &target));
    tracing::info!(
        changes = changes.len(),
        statements = statements.len(),
        skipped = skipped.len(),
        "schema plan ready"
    );
    Ok(Migration {
        dialect,
        changes,
        statements,
        skipped,
    })
}

/// Removes the indexes with expression parts from `target`, for a server
/// that has none; returns a note for each.
pub fn drop_expression_indexes(target: &mut SchemaModel) -> Vec<String> {
    let mut notes = Vec::new();
    for table in target.tables.values_mut() {
        table.indexes.retain(|index| {
            if !index.has_expressions() {
                return true;
            }
            tracing::warn!(
                table = %table.name,
                index = %index.name,
                "the server cannot index expressions; index skipped"
            );
            notes.push(format!(
                "index {} on {} skipped: the server cannot index expressions (MariaDB, MySQL before 8.0.13)",
                index.name, table.name
            ));
            false
        });
    }
    notes
}

/// Spells every default of `target` as `dialect` does (`gen_random_uuid()`
/// is `uuid()` in MySQL) and removes those the dialect has no form for;
/// returns a note for each removed one, naming table and column.
pub fn defaults_for(target: &mut SchemaModel, dialect: Dialect) -> Vec<String> {
    let mut notes = Vec::new();
    for table in target.tables.values_mut() {
        for column in &mut table.columns {
            let Some(default) = &column.default else {
                continue;
            };
            match expression_default(dialect, default) {
                Ok(spelled) => column.default = Some(spelled),
                Err(missing) => {
                    tracing::warn!(
                        table = %table.name,
                        column = %column.name,
                        reason = %missing,
                        "default left out"
                    );
                    notes.push(format!(
                        "default of {}.{} left out: {missing}",
                        table.name, column.name
                    ));
                    column.default = None;
                }
            }
        }
    }
    notes
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
