//! Property test of the DBML round trip: a random [`SchemaModel`] (tables
//! with columns of many types, nullability, defaults, notes, primary keys,
//! unique, composite, hash and expression indexes, foreign keys between the generated
//! tables with actions, enums, schemas, names that need quoting or look
//! like DBML keywords) is written as DBML by [`crate::pull::to_dbml`],
//! parsed, checked and converted back, and must be the same model once
//! both are in a normal form (PostgreSQL's canonical spelling; index and
//! constraint names left out, since DBML names unnamed ones itself).

use std::collections::BTreeMap;

use proptest::prelude::*;
use watershed_events::{Column, ForeignKey, Index, LogicalType, TableName, TableSchema};

use crate::ddl::{DdlOptions, Dialect};
use crate::diff::canonical;
use crate::model::{EnumType, SchemaModel};
use crate::pull::to_dbml;

/// A tiny deterministic generator: proptest draws the seed, the model is
/// built from it (so a failing case prints the seed and the DBML text).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Name endings: plain words, DBML keywords, and names that need quotes.
const WORDS: &[&str] = &[
    "id",
    "name",
    "note",
    "Note",
    "indexes",
    "ref",
    "pk",
    "enum",
    "table",
    "default",
    "unique",
    "as",
    "null",
    "Ref",
    "Table",
    "headercolor",
    "order items",
    "e-mail",
    "naïve",
    "x1",
];

const ENUM_LABELS: &[&str] = &[
    "new",
    "active",
    "gift card",
    "on-hold",
    "null",
    "Table",
    "ok",
    "été",
];

/// Builds a model of up to six tables from `rng`; `notes` supplies the
/// note texts (proptest-generated, so they shrink).
fn model(rng: &mut Rng, notes: &[String]) -> SchemaModel {
    let mut model = SchemaModel::default();
    let enum_count = rng.below(3);
    for n in 0..enum_count {
        let name = TableName::new(schema(rng).as_deref(), &format!("e{n}_{}", rng.pick(WORDS)));
        let count = 1 + rng.below(4);
        let labels = ENUM_LABELS[..count.min(ENUM_LABELS.len())]
            .iter()
            .map(|l| (*l).to_owned())
            .collect();
        model.enums.insert(name.clone(), EnumType { name, labels });
    }
    let enums: Vec<EnumType> = model.enums.values().cloned().collect();
    let mut built: Vec<TableSchema> = Vec::new();
    for n in 0..1 + rng.below(6) {
        let table = table(rng, n, notes, &enums, &built, &mut model);
        built.push(table);
    }
    for table in built {
        if let Some(schema) = &table.name.schema {
            model.schemas.insert(schema.clone());
        }
        model.tables.insert(table.name.clone(), table);
    }
    for found in model.enums.values() {
        if let Some(schema) = &found.name.schema {
            model.schemas.insert(schema.clone());
        }
    }
    model
}

fn schema(rng: &mut Rng) -> Option<String> {
    rng.pick(&[None, None, Some("sales"), Some("my schema")])
        .map(str::to_owned)
}

fn note(rng: &mut Rng, notes: &[String]) -> Option<String> {
    if notes.is_empty() || rng.chance(50) {
        None
    } else {
        Some(rng.pick(notes).clone())
    }
}

fn table(
    rng: &mut Rng,
    n: usize,
    notes: &[String],
    enums: &[EnumType],
    earlier: &[TableSchema],
    model: &mut SchemaModel,
) -> TableSchema {
    let word = rng.pick(WORDS);
    let name = if rng.chance(30) && !earlier.iter().any(|t| t.name.name == *word) {
        (*word).to_owned()
    } else {
        format!("t{n}_{word}")
    };
    let name = TableName::new(schema(rng).as_deref(), &name);
    let mut columns: Vec<Column> = Vec::new();
    for c in 0..1 + rng.below(6) {
        let mut found = column(rng, c, notes, enums, &name, model);
        // Now and then a bare word (`indexes`, `Note`, `pk`, …) as the
        // whole name, where the table has no column of that name yet.
        let word = found.name.split_once('_').map_or("", |(_, w)| w).to_owned();
        if rng.chance(30) && !columns.iter().any(|c| c.name == word) {
            if let Some(key) = model
                .enum_columns
                .remove(&(name.clone(), found.name.clone()))
            {
                model.enum_columns.insert((name.clone(), word.clone()), key);
            }
            found.name = word;
        }
        columns.push(found);
    }
    let primary_key = primary_key(rng, &mut columns);
    let mut table = TableSchema {
        name,
        columns,
        primary_key,
        indexes: Vec::new(),
        version: 1,
        foreign_keys: Vec::new(),
        comment: note(rng, notes),
    };
    table.indexes = indexes(rng, &table);
    if let Some(target) = (!earlier.is_empty()).then(|| rng.pick(earlier))
        && !target.primary_key.is_empty()
        && rng.chance(70)
    {
        add_foreign_key(rng, &mut table, target, model);
    }
    table
}

fn column(
    rng: &mut Rng,
    n: usize,
    notes: &[String],
    enums: &[EnumType],
    table: &TableName,
    model: &mut SchemaModel,
) -> Column {
    let name = format!("c{n}_{}", rng.pick(WORDS));
    let (logical, default) = typed_default(rng);
    let mut column = Column::new(&name, logical, rng.chance(50));
    column.default = default;
    if !enums.is_empty() && rng.chance(20) {
        let found = rng.pick(enums);
        column.logical_type = LogicalType::Enum {
            labels: found.labels.clone(),
        };
        column.default = rng
            .chance(50)
            .then(|| format!("'{}'", found.labels[0].replace('\'', "''")));
        model
            .enum_columns
            .insert((table.clone(), name), found.name.clone());
    }
    column.comment = note(rng, notes);
    column
}

/// A type and a default the type can hold, as SQL text.
fn typed_default(rng: &mut Rng) -> (LogicalType, Option<String>) {
    use LogicalType::*;
    let with = |rng: &mut Rng, value: &str| rng.chance(50).then(|| value.to_owned());
    match rng.below(14) {
        0 => {
            let value = *rng.pick(&["true", "false"]);
            (Bool, with(rng, value))
        }
        1 => (Int16, with(rng, "-1")),
        2 => (Int32, with(rng, "42")),
        3 => (Int64, with(rng, "0")),
        4 => (Float32, with(rng, "1.5")),
        5 => (Float64, with(rng, "-0.25")),
        6 => (
            Decimal {
                precision: Some(1 + rng.below(30) as u16),
                scale: Some(rng.below(2) as u16),
            },
            with(rng, "12.50"),
        ),
        7 => (
            Varchar {
                length: Some(1 + rng.below(500) as u32),
                charset: None,
            },
            with(rng, "'it''s a \\ \"string\"'"),
        ),
        8 => (
            Char {
                length: Some(1 + rng.below(40) as u32),
                charset: None,
            },
            with(rng, "'x'"),
        ),
        9 => (Text { charset: None }, with(rng, "''")),
        10 => (Date, with(rng, "'2026-11-26'")),
        11 => (
            DateTime {
                fsp: rng.below(7) as u8,
            },
            Some(rng.pick(&["now()", "CURRENT_TIMESTAMP"]).to_string()),
        ),
        12 => (Timestamp { fsp: 6 }, with(rng, "now()")),
        _ => (rng.pick(&[Json, Uuid, Blob, Time { fsp: 0 }]).clone(), None),
    }
}

/// No key, one column (an integer one may be auto-increment), or several.
fn primary_key(rng: &mut Rng, columns: &mut [Column]) -> Vec<String> {
    let count = rng.below(columns.len().min(3) + 1);
    let key: Vec<String> = columns[..count].iter().map(|c| c.name.clone()).collect();
    for column in columns[..count].iter_mut() {
        column.nullable = false;
    }
    if let [only] = &mut columns[..count] {
        let integer = matches!(only.logical_type, LogicalType::Int32 | LogicalType::Int64);
        if integer && rng.chance(50) {
            only.auto_increment = true;
            only.default = None;
        }
    }
    key
}

/// Up to three indexes on the table's columns: unique or not, B-tree or
/// hash (PostgreSQL has no unique hash indexes).
fn indexes(rng: &mut Rng, table: &TableSchema) -> Vec<Index> {
    let mut out = Vec::new();
    for n in 0..rng.below(4) {
        let start = rng.below(table.columns.len());
        let count = 1 + rng.below(table.columns.len() - start);
        let mut columns: Vec<String> = table.columns[start..start + count]
            .iter()
            .map(|c| c.name.clone())
            .collect();
        if columns == table.primary_key {
            // The primary key already makes these unique.
            continue;
        }
        let mut expression_parts = Vec::new();
        if rng.chance(25) {
            let k = rng.below(columns.len());
            columns[k] = expression(rng, &columns[k]);
            expression_parts.push(k);
        }
        let unique = rng.chance(40);
        let method = (!unique && rng.chance(30)).then(|| "hash".to_owned());
        let same = |i: &Index| {
            i.columns == columns
                && i.unique == unique
                && i.method == method
                && i.expression_parts == expression_parts
        };
        if out.iter().any(same) {
            // Two equal indexes: pull writes one (a database would not
            // keep both either).
            continue;
        }
        out.push(Index {
            name: format!("{}_i{n}", table.name.name),
            columns,
            unique,
            method,
            expression_parts,
        });
    }
    out
}

/// An index expression on `column` (quoted as PostgreSQL wants it).
fn expression(rng: &mut Rng, column: &str) -> String {
    let quoted = crate::dialect::postgres::quote_ident(column);
    match rng.below(3) {
        0 => format!("lower({quoted}::text)"),
        1 => format!("({quoted}::text || 'a b''c')"),
        _ => format!("md5({quoted}::text)"),
    }
}

/// Adds columns of the same types as `target`'s key and a foreign key on
/// them.
fn add_foreign_key(
    rng: &mut Rng,
    table: &mut TableSchema,
    target: &TableSchema,
    model: &mut SchemaModel,
) {
    let mut columns = Vec::new();
    for (n, key) in target.primary_key.iter().enumerate() {
        let Some(found) = target.columns.iter().find(|c| &c.name == key) else {
            return;
        };
        let name = format!("fk{n}_{}", rng.pick(WORDS));
        let mut column = Column::new(&name, found.logical_type.clone(), true);
        column.comment = None;
        if let Some(found) = model.enum_of(&target.name, key).cloned() {
            model
                .enum_columns
                .insert((table.name.clone(), name.clone()), found);
        }
        table.columns.push(column);
        columns.push(name);
    }
    let actions = [None, Some("cascade"), Some("restrict"), Some("set null")];
    table.foreign_keys.push(ForeignKey {
        name: None,
        columns,
        referenced: target.name.clone(),
        referenced_columns: target.primary_key.clone(),
        on_delete: rng.pick(&actions).map(str::to_owned),
        on_update: rng.pick(&actions).map(str::to_owned),
    });
}

/// A table in normal form: PostgreSQL's canonical spelling, no index or
/// constraint names, indexes and keys sorted.
type Normal = BTreeMap<TableName, TableSchema>;

fn normal(model: &SchemaModel) -> (Normal, SchemaModel) {
    let mut model = canonical(model, Dialect::Postgres);
    for table in model.tables.values_mut() {
        for index in &mut table.indexes {
            index.name.clear();
        }
        for key in &mut table.foreign_keys {
            key.name = None;
        }
        table
            .indexes
            .sort_by(|a, b| (&a.columns, a.unique).cmp(&(&b.columns, b.unique)));
        table.foreign_keys.sort_by(|a, b| a.columns.cmp(&b.columns));
    }
    let tables = std::mem::take(&mut model.tables);
    (tables, model)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_random_model_written_as_dbml_parses_back_to_the_same_model(
        seed in any::<u64>(),
        notes in proptest::collection::vec("[a-zA-Z0-9 '\"`\\\\{}\\[\\]:#é→\n\t]{0,24}", 0..6),
    ) {
        let mut rng = Rng(seed | 1);
        let original = model(&mut rng, &notes);
        let text = to_dbml(&original, Dialect::Postgres);
        let doc = match super::parse("random.dbml", &text) {
            Ok(doc) => doc,
            Err(errors) => panic!("{errors}\n{text}"),
        };
        let back = SchemaModel::from_document(&doc, &DdlOptions::default());
        let (want_tables, want_rest) = normal(&original);
        let (got_tables, got_rest) = normal(&back);
        prop_assert_eq!(got_tables.keys().collect::<Vec<_>>(), want_tables.keys().collect::<Vec<_>>());
        for (name, want) in &want_tables {
            let got = &got_tables[name];
            prop_assert_eq!(&got.columns, &want.columns, "columns of {}, from:\n{}", name, text);
            prop_assert_eq!(&got.primary_key, &want.primary_key, "key of {}", name);
            prop_assert_eq!(&got.indexes, &want.indexes, "indexes of {}, from:\n{}", name, text);
            prop_assert_eq!(&got.foreign_keys, &want.foreign_keys, "refs of {}, from:\n{}", name, text);
            prop_assert_eq!(&got.comment, &want.comment, "note of {}", name);
        }
        prop_assert_eq!(got_rest.enums, want_rest.enums, "enums, from:\n{}", text);
        prop_assert_eq!(got_rest.enum_columns, want_rest.enum_columns, "enum columns");
        prop_assert_eq!(got_rest.schemas, want_rest.schemas, "schemas");
    }
}
