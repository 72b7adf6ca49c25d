//! The DBML corpus in `examples/schema/corpus/`: realistic schemas from
//! several domains, each applied to fresh databases by the tests.

use std::path::{Path, PathBuf};

use watershed_schema::dbml::{self, Document};

/// Every `.dbml` file of the corpus, sorted by name.
pub fn files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/schema/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/schema/corpus is readable")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "dbml"))
        .collect();
    files.sort();
    files
}

/// The file's name without `.dbml`, for messages and database names.
pub fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The file, parsed and checked.
pub fn parse(path: &Path) -> Document {
    let text = std::fs::read_to_string(path).expect("corpus file is readable");
    dbml::parse(&path.display().to_string(), &text).unwrap_or_else(|e| panic!("{e}"))
}
