//! `schema dbt`: dbt sources and staging models for a DBML file or a
//! live database.

use std::path::Path;
use std::time::Duration;

use anyhow::anyhow;
use serde_json::json;
use watershed_schema::dbt::{self, DbtOptions};
use watershed_schema::ddl::{DdlOptions, Dialect};
use watershed_schema::introspect;
use watershed_schema::{SchemaModel, dbml::DEFAULT_SCHEMA};

use super::load;
use crate::args::GlobalArgs;
use crate::exit::Failure;

pub async fn dbt(
    file: Option<&Path>,
    url: Option<&str>,
    out: &Path,
    source_name: Option<&str>,
    wait: Duration,
    global: &GlobalArgs,
) -> Result<(), Failure> {
    let (model, named, default_schema) = match (file, url) {
        (Some(file), _) => {
            let doc = load(file)?;
            let name = doc.project.as_ref().and_then(|p| p.name.clone());
            let model = SchemaModel::from_document(&doc, &DdlOptions::default());
            (model, name, Some(DEFAULT_SCHEMA.to_owned()))
        }
        (None, Some(url)) => {
            let runtime = |e: watershed_schema::SchemaError| Failure::runtime(e.into());
            let mut connection = introspect::connect(url, wait).await.map_err(runtime)?;
            let model = connection
                .introspect(&connection.default_scope())
                .await
                .map_err(runtime)?;
            let database = database_name(url);
            let default_schema = match connection.dialect() {
                Dialect::Postgres => Some(DEFAULT_SCHEMA.to_owned()),
                Dialect::Mysql => database.clone(),
            };
            (model, database, default_schema)
        }
        (None, None) => return Err(Failure::usage(anyhow!("give a DBML file or --url"))),
    };
    let source = source_name
        .map(str::to_owned)
        .or(named)
        .map(|n| dbt::snake_case(&n))
        .unwrap_or_else(|| "raw".to_owned());
    let options = DbtOptions {
        source,
        default_schema,
    };
    let files = dbt::files(&model, &options);
    dbt::write(out, &files).map_err(|e| Failure::runtime(e.into()))?;
    let paths: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
    if global.json {
        println!(
            "{}",
            json!({ "out": out.display().to_string(), "files": paths })
        );
    } else {
        for path in &paths {
            println!("wrote {}", out.join(path).display());
        }
    }
    Ok(())
}

/// The database named in a URL's path, if any.
fn database_name(url: &str) -> Option<String> {
    let after_scheme = url.split_once("://")?.1;
    let path = after_scheme.split_once('/')?.1;
    let name = path.split(['?', '#']).next()?;
    (!name.is_empty()).then(|| name.to_owned())
}
