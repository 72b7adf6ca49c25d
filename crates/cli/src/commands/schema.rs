//! `watershed schema`: lint a DBML file, print the DDL it describes, and
//! (in [`live`] and [`dbt`]) apply it to a database, pull a database as
//! DBML, diff two schemas, and write dbt sources and staging models.

mod dbt;
mod live;

use std::future::Future;
use std::path::Path;

use anyhow::{Context, anyhow};
use serde_json::json;
use watershed_schema::dbml::{self, lint::Severity};
use watershed_schema::ddl::{self, DdlOptions, Dialect};

use crate::args::{GlobalArgs, SchemaCommand, SqlDialect};
use crate::exit::Failure;

pub fn schema(command: &SchemaCommand, global: &GlobalArgs) -> Result<(), Failure> {
    match command {
        SchemaCommand::Sql {
            file,
            dialect,
            no_cross_schema_fks,
        } => sql(file, *dialect, *no_cross_schema_fks, global),
        SchemaCommand::Lint { file } => lint(file, global),
        SchemaCommand::Apply {
            file,
            url,
            dry_run,
            confirm,
            no_cross_schema_fks,
            wait,
        } => {
            let options = live::ApplyArgs {
                dry_run: *dry_run,
                confirm: *confirm,
                no_cross_schema_fks: *no_cross_schema_fks,
                wait: *wait,
            };
            block_on(live::apply(file, url, &options, global))
        }
        SchemaCommand::Pull { url, schema, wait } => {
            block_on(live::pull(url, schema.as_deref(), *wait, global))
        }
        SchemaCommand::Diff {
            from,
            to,
            dialect,
            wait,
        } => block_on(live::diff(from, to, *dialect, *wait, global)),
        SchemaCommand::Dbt {
            file,
            url,
            out,
            source_name,
            wait,
        } => block_on(dbt::dbt(
            file.as_deref(),
            url.as_deref(),
            out,
            source_name.as_deref(),
            *wait,
            global,
        )),
    }
}

/// Runs `future` to completion on the command's runtime (the dispatcher
/// calls `schema` as a plain function).
fn block_on<F: Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

/// Reads and parses a DBML file; errors go to stderr with their positions.
fn load(file: &Path) -> Result<dbml::Document, Failure> {
    let text = read(file)?;
    dbml::parse(&file.display().to_string(), &text).map_err(|errors| {
        eprintln!("{errors}");
        let count = errors.diagnostics.len();
        Failure::runtime(anyhow!("{} has {count} error(s)", file.display()))
    })
}

fn read(file: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(file)
        .with_context(|| format!("cannot read {}", file.display()))
        .map_err(Failure::runtime)
}

fn sql(
    file: &Path,
    dialect: Option<SqlDialect>,
    no_cross_schema_fks: bool,
    global: &GlobalArgs,
) -> Result<(), Failure> {
    let doc = load(file)?;
    let dialect = match dialect {
        Some(SqlDialect::Postgres) => Dialect::Postgres,
        Some(SqlDialect::Mysql) => Dialect::Mysql,
        None => project_dialect(&doc)?,
    };
    let options = DdlOptions {
        no_cross_schema_fks,
        ..DdlOptions::default()
    };
    let sql = ddl::generate(&doc, dialect, &options);
    for note in ddl::left_out_defaults(&doc, dialect) {
        tracing::warn!(what = %note, "schema sql leaves a default out");
    }
    if global.json {
        let name = match dialect {
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
        };
        println!("{}", json!({ "dialect": name, "sql": sql }));
    } else {
        print!("{sql}");
    }
    Ok(())
}

/// The dialect the Project's `database_type` names.
fn project_dialect(doc: &dbml::Document) -> Result<Dialect, Failure> {
    database_type(doc).map_err(|other| {
        Failure::usage(anyhow!(
            "no --dialect given and the Project's database_type is {}: say --dialect postgres or --dialect mysql",
            other.map_or("not set".to_owned(), |t| format!("`{t}`"))
        ))
    })
}

/// The Project's `database_type` as a dialect, or what it says instead.
fn database_type(doc: &dbml::Document) -> Result<Dialect, Option<String>> {
    match doc
        .project_setting("database_type")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("postgresql" | "postgres") => Ok(Dialect::Postgres),
        Some("mysql" | "mariadb") => Ok(Dialect::Mysql),
        other => Err(other.map(str::to_owned)),
    }
}

fn lint(file: &Path, global: &GlobalArgs) -> Result<(), Failure> {
    let text = read(file)?;
    let findings = dbml::lint::lint(&file.display().to_string(), &text);
    if global.json {
        println!("{}", serde_json::to_string(&findings).unwrap_or_default());
    } else {
        for finding in &findings {
            println!("{finding}");
        }
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if errors > 0 {
        return Err(Failure::runtime(anyhow!(
            "{} has {errors} error(s)",
            file.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Command};

    #[test]
    fn schema_sql_takes_a_file_a_dialect_and_the_cross_schema_flag() {
        let cli = Cli::try_parse_from([
            "watershed",
            "schema",
            "sql",
            "shop.dbml",
            "--dialect",
            "mariadb",
            "--no-cross-schema-fks",
        ])
        .expect("parses");
        let Command::Schema {
            command:
                SchemaCommand::Sql {
                    dialect,
                    no_cross_schema_fks,
                    ..
                },
        } = cli.command
        else {
            panic!("not schema sql: {:?}", cli.command);
        };
        assert_eq!(dialect, Some(SqlDialect::Mysql));
        assert!(no_cross_schema_fks);
    }

    #[test]
    fn without_a_dialect_the_project_database_type_decides() {
        let doc =
            dbml::parse("t.dbml", "Project p {\n  database_type: 'MySQL'\n}\n").expect("parses");
        assert!(matches!(project_dialect(&doc), Ok(Dialect::Mysql)));
        let bare = dbml::parse("t.dbml", "Table t {\n  id int\n}\n").expect("parses");
        assert!(matches!(project_dialect(&bare), Err(Failure::Usage(_))));
    }
}
