//! `schema apply`, `schema pull` and `schema diff`: the commands that
//! read (and, for apply, change) live databases. URLs are printed with
//! the password replaced.

use std::path::Path;
use std::time::Duration;

use anyhow::anyhow;
use serde_json::json;
use watershed_events::redact_urls;
use watershed_schema::ddl::{DdlOptions, Dialect};
use watershed_schema::introspect::{self, Scope};
use watershed_schema::{SchemaError, SchemaModel, apply, diff as differ, pull as puller, sql};

use super::{database_type, load};
use crate::args::{GlobalArgs, SqlDialect};
use crate::exit::Failure;

/// How `schema apply` runs.
pub struct ApplyArgs {
    pub dry_run: bool,
    pub confirm: bool,
    pub no_cross_schema_fks: bool,
    pub wait: Duration,
}

fn runtime(error: SchemaError) -> Failure {
    Failure::runtime(error.into())
}

fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "postgres",
        Dialect::Mysql => "mysql",
    }
}

pub async fn apply(
    file: &Path,
    url: &str,
    args: &ApplyArgs,
    global: &GlobalArgs,
) -> Result<(), Failure> {
    let doc = load(file)?;
    let options = DdlOptions {
        no_cross_schema_fks: args.no_cross_schema_fks,
        ..DdlOptions::default()
    };
    let target = SchemaModel::from_document(&doc, &options);
    let shown = redact_urls(url);
    let mut connection = introspect::connect(url, args.wait).await.map_err(runtime)?;
    let migration = apply::plan(&mut connection, &target)
        .await
        .map_err(runtime)?;
    let destructive = migration.destructive().len();
    let refused = destructive > 0 && !args.confirm && !args.dry_run;
    let will_apply = !migration.is_empty() && !args.dry_run && !refused;
    if will_apply {
        apply::run(&mut connection, &migration, args.confirm)
            .await
            .map_err(runtime)?;
    }
    if global.json {
        println!(
            "{}",
            json!({
                "url": shown,
                "up_to_date": migration.is_empty(),
                "changes": migration.changes,
                "sql": migration.script(),
                "applied": will_apply,
            })
        );
    } else if migration.is_empty() {
        println!("up to date: {shown} matches {}", file.display());
    } else {
        print_plan(&shown, &migration);
        if will_apply {
            println!("\napplied {} change(s) to {shown}", migration.changes.len());
        } else if args.dry_run {
            println!("\n(dry run: nothing was changed)");
        }
    }
    if refused {
        return Err(runtime(SchemaError::NeedsConfirm { count: destructive }));
    }
    Ok(())
}

fn print_plan(shown: &str, migration: &apply::Migration) {
    println!(
        "Plan for {shown}: {} change(s), {} marked ! drop or narrow",
        migration.changes.len(),
        migration.destructive().len()
    );
    for change in &migration.changes {
        println!("{change}");
    }
    println!("\n-- SQL ({})", dialect_name(migration.dialect));
    print!("{}", migration.script());
}

pub async fn pull(
    url: &str,
    schema: Option<&str>,
    wait: Duration,
    global: &GlobalArgs,
) -> Result<(), Failure> {
    let mut connection = introspect::connect(url, wait).await.map_err(runtime)?;
    let scope = match schema {
        Some(schema) => Scope::Only(schema.to_owned()),
        None => connection.default_scope(),
    };
    let model = connection.introspect(&scope).await.map_err(runtime)?;
    let text = puller::to_dbml(&model, connection.dialect());
    if global.json {
        println!("{}", json!({ "dbml": text }));
    } else {
        print!("{text}");
    }
    Ok(())
}

/// One side of a diff, before URLs are read.
enum Side {
    File(SchemaModel, Option<Dialect>),
    Url(String),
}

fn side(text: &str) -> Result<Side, Failure> {
    if introspect::is_url(text) {
        return Ok(Side::Url(text.to_owned()));
    }
    let doc = load(Path::new(text)).map_err(|f| match f {
        Failure::Runtime(e) | Failure::Usage(e) => Failure::usage(e),
    })?;
    let model = SchemaModel::from_document(&doc, &DdlOptions::default());
    Ok(Side::File(model, database_type(&doc).ok()))
}

/// The model of a side; a URL is read in the schemas `other` names when
/// `other` is a file, else in its default scope.
async fn resolve(
    side: &Side,
    other: &Side,
    wait: Duration,
) -> Result<(SchemaModel, Option<Dialect>), Failure> {
    match side {
        Side::File(model, dialect) => Ok((model.clone(), *dialect)),
        Side::Url(url) => {
            let usage = |e: SchemaError| Failure::usage(e.into());
            let mut connection = introspect::connect(url, wait).await.map_err(usage)?;
            let scope = match other {
                Side::File(model, _) => Scope::DefaultAnd(model.named_schemas()),
                Side::Url(_) => connection.default_scope(),
            };
            let mut model = connection.introspect(&scope).await.map_err(usage)?;
            if let Side::File(target, _) = other {
                differ::restrict_to(&mut model, target);
            }
            Ok((model, Some(connection.dialect())))
        }
    }
}

pub async fn diff(
    from: &str,
    to: &str,
    dialect: Option<SqlDialect>,
    wait: Duration,
    global: &GlobalArgs,
) -> Result<(), Failure> {
    let (a, b) = (side(from)?, side(to)?);
    let (from_model, from_dialect) = resolve(&a, &b, wait).await?;
    let (to_model, to_dialect) = resolve(&b, &a, wait).await?;
    let dialect = match dialect {
        Some(SqlDialect::Postgres) => Dialect::Postgres,
        Some(SqlDialect::Mysql) => Dialect::Mysql,
        None => to_dialect.or(from_dialect).ok_or_else(|| {
            Failure::usage(anyhow!(
                "no --dialect given and neither side names one (a URL, or a Project database_type): say --dialect postgres or --dialect mysql"
            ))
        })?,
    };
    let mut to_model = to_model;
    let left_out = apply::defaults_for(&mut to_model, dialect);
    let changes = differ::diff(&from_model, &to_model, dialect);
    let mut statements: Vec<String> = left_out.iter().map(|n| format!("-- {n}")).collect();
    statements.extend(sql::statements(&changes, dialect, &to_model));
    if global.json {
        println!(
            "{}",
            json!({
                "dialect": dialect_name(dialect),
                "equal": changes.is_empty(),
                "changes": changes,
                "sql": sql::script(&statements),
            })
        );
    } else if !changes.is_empty() {
        for change in &changes {
            println!("{change}");
        }
        println!("\n-- SQL ({})", dialect_name(dialect));
        print!("{}", sql::script(&statements));
    }
    if changes.is_empty() {
        return Ok(());
    }
    Err(Failure::runtime(anyhow!(
        "the schemas differ: {} change(s)",
        changes.len()
    )))
}
