//! `watershed gen data`: read a schema (DBML file or live database), plan
//! the rows, and write them to files or load them into databases.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, anyhow};
use serde_json::json;
use watershed_datagen::{
    DatagenError, Existing, Format, Locale, Overrides, Plan, Request, TableSummary, Target,
};
use watershed_events::TableSchema;
use watershed_schema::SchemaModel;
use watershed_schema::dbml;
use watershed_schema::ddl::{DdlOptions, Dialect};
use watershed_schema::introspect;

use crate::args::{GenDataArgs, GenFormat, GlobalArgs, SqlDialect};
use crate::exit::Failure;

pub(super) fn failure(error: DatagenError) -> Failure {
    if error.is_usage() {
        Failure::usage(error.into())
    } else {
        Failure::runtime(error.into())
    }
}

pub(super) async fn data(args: &GenDataArgs, global: &GlobalArgs) -> Result<(), Failure> {
    let request = request(args)?;
    let tables = schema_tables(args).await?;
    let mut plan = Plan::new(tables, &request).map_err(failure)?;
    tracing::info!(
        tables = plan.tables.len(),
        rows = plan.total_rows(),
        seed = request.seed,
        "generation planned"
    );
    let progress = !global.json;
    let summary = match &args.out {
        Some(dir) => write_files(&plan, dir, args, progress)?,
        None => {
            let existing = existing(args)?;
            let targets: Vec<Target> = args.targets.iter().map(|t| Target::parse(t)).collect();
            watershed_datagen::load(&mut plan, &targets, existing, args.wait, progress)
                .await
                .map_err(failure)?
        }
    };
    report(&summary, global);
    Ok(())
}

fn write_files(
    plan: &Plan,
    dir: &Path,
    args: &GenDataArgs,
    progress: bool,
) -> Result<Vec<TableSummary>, Failure> {
    let format = match args.format {
        GenFormat::Csv => Format::Csv,
        GenFormat::Jsonl => Format::Jsonl,
        GenFormat::Sql => Format::Sql,
    };
    let dialect = match args.dialect {
        SqlDialect::Postgres => Dialect::Postgres,
        SqlDialect::Mysql => Dialect::Mysql,
    };
    tokio::task::block_in_place(|| {
        watershed_datagen::write_files(plan, dir, format, dialect, progress)
    })
    .map_err(failure)
}

fn existing(args: &GenDataArgs) -> Result<Existing, Failure> {
    match (args.append, args.truncate, args.confirm) {
        (true, _, _) => Ok(Existing::Append),
        (_, true, true) => Ok(Existing::Truncate),
        (_, true, false) => Err(Failure::usage(anyhow!(
            "--truncate empties the target tables: add --confirm to do it"
        ))),
        _ => Ok(Existing::Refuse),
    }
}

fn request(args: &GenDataArgs) -> Result<Request, Failure> {
    let locale = Locale::parse(&args.locale).ok_or_else(|| {
        Failure::usage(anyhow!(
            "unknown locale `{}`: use en_US or uk_UA",
            args.locale
        ))
    })?;
    let overrides = match &args.overrides {
        Some(path) => Overrides::read(path).map_err(failure)?,
        None => Overrides::default(),
    };
    Ok(Request {
        default_rows: args.rows.unwrap_or(0),
        rows: rows_per_table(args.rows_per_table.as_deref())?,
        seed: args.seed,
        locale,
        overrides,
        infer_references: !args.no_inferred_refs,
    })
}

fn rows_per_table(text: Option<&str>) -> Result<BTreeMap<String, u64>, Failure> {
    let mut out = BTreeMap::new();
    for part in text
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.trim().is_empty())
    {
        let parsed = part
            .split_once('=')
            .and_then(|(t, n)| Some((t.trim().to_owned(), n.trim().parse::<u64>().ok()?)));
        let (table, rows) = parsed.ok_or_else(|| {
            Failure::usage(anyhow!("--rows-per-table: expected TABLE=N, got `{part}`"))
        })?;
        out.insert(table, rows);
    }
    Ok(out)
}

async fn schema_tables(args: &GenDataArgs) -> Result<Vec<TableSchema>, Failure> {
    read_tables(args.schema.as_deref(), args.url.as_deref(), args.wait).await
}

/// The tables of the DBML `file`, else of the live database at `url`.
pub(super) async fn read_tables(
    file: Option<&Path>,
    url: Option<&str>,
    wait: std::time::Duration,
) -> Result<Vec<TableSchema>, Failure> {
    let model = match (file, url) {
        (Some(file), _) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))
                .map_err(Failure::usage)?;
            let doc = dbml::parse(&file.display().to_string(), &text).map_err(|errors| {
                eprintln!("{errors}");
                Failure::usage(anyhow!("{} has errors", file.display()))
            })?;
            SchemaModel::from_document(&doc, &DdlOptions::default())
        }
        (None, Some(url)) => {
            let mut conn = introspect::connect(url, wait)
                .await
                .map_err(|e| Failure::runtime(e.into()))?;
            let scope = conn.default_scope();
            conn.introspect(&scope)
                .await
                .map_err(|e| Failure::runtime(e.into()))?
        }
        (None, None) => return Err(Failure::usage(anyhow!("give --schema FILE or --url URL"))),
    };
    Ok(model.tables.into_values().collect())
}

fn report(summary: &[TableSummary], global: &GlobalArgs) {
    let rows: u64 = summary.iter().map(|s| s.rows).sum();
    if global.json {
        let tables: Vec<_> = summary
            .iter()
            .map(|s| json!({"table": s.table, "rows": s.rows, "rows_per_second": s.rows_per_second.round()}))
            .collect();
        println!("{}", json!({"tables": tables, "rows": rows}));
    } else {
        println!("generated {rows} rows in {} tables", summary.len());
    }
}
