//! dbt output for a schema: a sources file with descriptions and tests,
//! and one staging model per table, under
//! `models/staging/<source>/` (see [`files`]). The same model always
//! gives the same files.
//!
//! A schema other than the default one becomes a dbt source of its own,
//! named `<source>_<schema>`; tables of the default schema belong to
//! `<source>`.

mod models;
mod sources;

use std::path::{Path, PathBuf};

use watershed_events::TableName;

use crate::error::SchemaError;
use crate::model::SchemaModel;

pub use models::{cast, snake_case};

/// What to call things in the dbt project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbtOptions {
    /// The source name, also the folder under `models/staging/`.
    pub source: String,
    /// The database schema of the default namespace (`public`, or the
    /// MySQL database), written as the source's `schema:`.
    pub default_schema: Option<String>,
}

/// One file to write, relative to the dbt project's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbtFile {
    pub path: PathBuf,
    pub contents: String,
}

/// The dbt source a table belongs to.
pub(crate) fn source_name(options: &DbtOptions, table: &TableName) -> String {
    match &table.schema {
        Some(schema) => format!("{}_{}", options.source, snake_case(schema)),
        None => options.source.clone(),
    }
}

/// The sources file and the staging models, sorted by path.
pub fn files(model: &SchemaModel, options: &DbtOptions) -> Vec<DbtFile> {
    let folder = PathBuf::from("models/staging").join(&options.source);
    let mut out = vec![DbtFile {
        path: folder.join(format!("_{}__sources.yml", options.source)),
        contents: sources::sources_yaml(model, options),
    }];
    for table in model.tables.values() {
        out.push(DbtFile {
            path: folder.join(format!(
                "stg_{}__{}.sql",
                source_name(options, &table.name),
                snake_case(&table.name.name)
            )),
            contents: models::staging_model(table, options),
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Writes `files` under `root`, creating folders as needed.
pub fn write(root: &Path, files: &[DbtFile]) -> Result<(), SchemaError> {
    for file in files {
        let path = root.join(&file.path);
        let error = |source| SchemaError::Write {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(error)?;
        }
        std::fs::write(&path, &file.contents).map_err(error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
