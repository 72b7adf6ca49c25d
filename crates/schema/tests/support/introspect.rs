//! What a PostgreSQL or MariaDB database holds, read from the catalogs
//! through the testkit's command-line clients: tables with their columns
//! (type, nullability, default), primary key, foreign keys and indexes.
//! Names the server makes up (index and constraint names) are left out,
//! so schemas made by different tools compare equal when they describe
//! the same thing.

use std::collections::{BTreeMap, BTreeSet};

use watershed_testkit::{MariaDb, Postgres};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// By `schema.table`.
    pub tables: BTreeMap<String, Table>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// In column order.
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    pub foreign_keys: BTreeSet<ForeignKey>,
    /// `UNIQUE (a, b)` / `INDEX (a, b)` / with the method, name-free.
    pub indexes: BTreeSet<String>,
    /// Unique constraints (PostgreSQL; MariaDB's are its unique indexes)
    /// and check constraints, as the server writes them, name-free.
    pub constraints: BTreeSet<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub data_type: String,
    pub nullable: bool,
    pub default: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub target: String,
    pub target_columns: Vec<String>,
    pub on_delete: String,
    pub on_update: String,
}

fn rows(output: &str, separator: char) -> Vec<Vec<String>> {
    output
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split(separator).map(str::to_owned).collect())
        .collect()
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|s| s.trim().trim_matches('"').to_owned())
        .collect()
}

const PG_COLUMNS: &str = "SELECT n.nspname || '.' || c.relname, a.attname, \
    format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, coalesce(pg_get_expr(d.adbin, d.adrelid), '') \
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
    JOIN pg_namespace n ON n.oid = c.relnamespace \
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
    WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped \
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' \
    ORDER BY 1, a.attnum;";

const PG_CONSTRAINTS: &str = "SELECT n.nspname || '.' || c.relname, con.contype, \
    pg_get_constraintdef(con.oid) \
    FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
    JOIN pg_namespace n ON n.oid = c.relnamespace \
    WHERE con.contype IN ('p', 'f', 'u', 'c') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
    ORDER BY 1, 2, 3;";

const PG_INDEXES: &str = "SELECT schemaname || '.' || tablename, indexdef FROM pg_indexes \
    WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2;";

/// Everything in PostgreSQL database `database` outside the system schemas.
pub fn postgres(server: &Postgres, database: &str) -> Schema {
    let query = |sql: &str| server.sql(database, sql).expect("catalog query runs");
    let mut schema = Schema::default();
    for row in rows(&query(PG_COLUMNS), '|') {
        let default = Some(row[4].clone()).filter(|d| !d.is_empty());
        schema
            .tables
            .entry(row[0].clone())
            .or_default()
            .columns
            .push(Column {
                name: row[1].clone(),
                data_type: row[2].clone(),
                nullable: row[3] == "t",
                default,
            });
    }
    for row in rows(&query(PG_CONSTRAINTS), '|') {
        let table = schema.tables.entry(row[0].clone()).or_default();
        match row[1].as_str() {
            "p" => table.primary_key = list(between(&row[2], "(", ")")),
            "u" | "c" => {
                table.constraints.insert(row[2].clone());
            }
            _ => {
                table.foreign_keys.insert(pg_foreign_key(&row[2]));
            }
        }
    }
    for row in rows(&query(PG_INDEXES), '|') {
        let table = schema.tables.entry(row[0].clone()).or_default();
        table.indexes.insert(pg_index(&row[1]));
    }
    schema
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text.find(open).map_or(0, |i| i + open.len());
    let end = text[start..].find(close).map_or(text.len(), |i| start + i);
    &text[start..end]
}

/// `FOREIGN KEY (a) REFERENCES s.t(b) ON DELETE CASCADE [DEFERRABLE]`.
fn pg_foreign_key(definition: &str) -> ForeignKey {
    let (local, remote) = definition
        .split_once(" REFERENCES ")
        .unwrap_or((definition, ""));
    let target = remote.split('(').next().unwrap_or_default();
    // Tables on the search path (`public`) are written without a schema.
    let target = if target.contains('.') {
        target.to_owned()
    } else {
        format!("public.{target}")
    };
    let action = |word: &str| {
        let marker = format!("ON {word} ");
        remote
            .find(&marker)
            .map(|i| &remote[i + marker.len()..])
            .map(|rest| {
                let end = [" ON ", " DEFERRABLE", " NOT VALID"]
                    .iter()
                    .filter_map(|m| rest.find(m))
                    .min()
                    .unwrap_or(rest.len());
                rest[..end].to_owned()
            })
            .unwrap_or_else(|| "NO ACTION".to_owned())
    };
    ForeignKey {
        columns: list(between(local, "(", ")")),
        target,
        target_columns: list(between(remote, "(", ")")),
        on_delete: action("DELETE"),
        on_update: action("UPDATE"),
    }
}

/// `CREATE UNIQUE INDEX name ON s.t USING btree (a)` → `UNIQUE btree (a)`.
fn pg_index(definition: &str) -> String {
    let unique = if definition.starts_with("CREATE UNIQUE") {
        "UNIQUE "
    } else {
        ""
    };
    let using = definition.split(" USING ").nth(1).unwrap_or(definition);
    format!("{unique}{using}")
}

/// Everything in the MariaDB databases `databases`, with `prefix` taken
/// off the database names (so `t1_auth.users` reads `auth.users`).
pub fn mariadb(server: &MariaDb, databases: &[String], prefix: &str) -> Schema {
    let names: Vec<String> = databases.iter().map(|d| format!("'{d}'")).collect();
    let reader = MariaDbReader {
        server,
        filter: format!("IN ({})", names.join(", ")),
        prefix,
    };
    let mut schema = Schema::default();
    reader.columns(&mut schema);
    reader.indexes(&mut schema);
    reader.foreign_keys(&mut schema);
    reader.checks(&mut schema);
    schema
}

struct MariaDbReader<'a> {
    server: &'a MariaDb,
    /// `IN ('db1', 'db2')`.
    filter: String,
    prefix: &'a str,
}

impl MariaDbReader<'_> {
    fn query(&self, sql: &str) -> Vec<Vec<String>> {
        rows(&self.server.sql(sql).expect("catalog query runs"), '\t')
    }

    fn table<'s>(&self, schema: &'s mut Schema, db: &str, table: &str) -> &'s mut Table {
        let db = db.strip_prefix(self.prefix).unwrap_or(db);
        schema.tables.entry(format!("{db}.{table}")).or_default()
    }

    fn columns(&self, schema: &mut Schema) {
        let sql = format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, \
             IFNULL(COLUMN_DEFAULT, '') FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA {} ORDER BY 1, 2, ORDINAL_POSITION",
            self.filter
        );
        for row in self.query(&sql) {
            let default = Some(row[5].clone()).filter(|d| !d.is_empty() && d != "NULL");
            self.table(schema, &row[0], &row[1]).columns.push(Column {
                name: row[2].clone(),
                data_type: row[3].clone(),
                nullable: row[4] == "YES",
                default,
            });
        }
    }

    fn indexes(&self, schema: &mut Schema) {
        let sql = format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE, INDEX_TYPE, \
             GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA {} GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3",
            self.filter
        );
        for row in self.query(&sql) {
            let table = self.table(schema, &row[0], &row[1]);
            if row[2] == "PRIMARY" {
                table.primary_key = list(&row[5]);
            }
            let unique = if row[3] == "0" { "UNIQUE " } else { "" };
            table
                .indexes
                .insert(format!("{unique}{} ({})", row[4], row[5]));
        }
    }

    fn foreign_keys(&self, schema: &mut Schema) {
        let sql = format!(
            "SELECT k.TABLE_SCHEMA, k.TABLE_NAME, \
             GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION), \
             k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, \
             GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION), \
             r.DELETE_RULE, r.UPDATE_RULE \
             FROM information_schema.KEY_COLUMN_USAGE k \
             JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
             ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
             AND r.TABLE_NAME = k.TABLE_NAME WHERE k.TABLE_SCHEMA {} \
             GROUP BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.REFERENCED_TABLE_SCHEMA, \
             k.REFERENCED_TABLE_NAME, r.DELETE_RULE, r.UPDATE_RULE",
            self.filter
        );
        for row in self.query(&sql) {
            let target_db = row[3].strip_prefix(self.prefix).unwrap_or(&row[3]);
            let key = ForeignKey {
                columns: list(&row[2]),
                target: format!("{target_db}.{}", row[4]),
                target_columns: list(&row[5]),
                on_delete: mysql_action(&row[6]),
                on_update: mysql_action(&row[7]),
            };
            self.table(schema, &row[0], &row[1])
                .foreign_keys
                .insert(key);
        }
    }
}

impl MariaDbReader<'_> {
    fn checks(&self, schema: &mut Schema) {
        let sql = format!(
            "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE \
             FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA {} ORDER BY 1, 2, 3",
            self.filter
        );
        for row in self.query(&sql) {
            self.table(schema, &row[0], &row[1])
                .constraints
                .insert(format!("CHECK ({})", row[2]));
        }
    }
}

/// MariaDB reports `RESTRICT` for a rule that was not given; PostgreSQL
/// and the DBML call that `NO ACTION` (InnoDB treats them alike).
fn mysql_action(rule: &str) -> String {
    match rule {
        "RESTRICT" => "NO ACTION".to_owned(),
        other => other.to_owned(),
    }
}

/// What differs between `ours` and `theirs`, one line per difference
/// (empty when they are equal): short enough to read for a whole corpus.
pub fn differences(ours: &Schema, theirs: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    let names: BTreeSet<&String> = ours.tables.keys().chain(theirs.tables.keys()).collect();
    for name in names {
        match (ours.tables.get(name), theirs.tables.get(name)) {
            (Some(a), Some(b)) if a != b => out.extend(table_differences(name, a, b)),
            (Some(_), None) => out.push(format!("{name}: only ours has it")),
            (None, Some(_)) => out.push(format!("{name}: only theirs has it")),
            _ => {}
        }
    }
    out
}

fn table_differences(name: &str, ours: &Table, theirs: &Table) -> Vec<String> {
    let mut out = Vec::new();
    let columns = ours.columns.len().max(theirs.columns.len());
    for n in 0..columns {
        let (a, b) = (ours.columns.get(n), theirs.columns.get(n));
        if a != b {
            out.push(format!("{name}: column ours {a:?} theirs {b:?}"));
        }
    }
    if ours.primary_key != theirs.primary_key {
        out.push(format!(
            "{name}: primary key ours {:?} theirs {:?}",
            ours.primary_key, theirs.primary_key
        ));
    }
    for key in ours.foreign_keys.symmetric_difference(&theirs.foreign_keys) {
        let whose = if ours.foreign_keys.contains(key) {
            "ours"
        } else {
            "theirs"
        };
        out.push(format!("{name}: only {whose} has {key:?}"));
    }
    for index in ours.indexes.symmetric_difference(&theirs.indexes) {
        let whose = if ours.indexes.contains(index) {
            "ours"
        } else {
            "theirs"
        };
        out.push(format!("{name}: only {whose} has index {index}"));
    }
    for constraint in ours.constraints.symmetric_difference(&theirs.constraints) {
        let whose = if ours.constraints.contains(constraint) {
            "ours"
        } else {
            "theirs"
        };
        out.push(format!("{name}: only {whose} has {constraint}"));
    }
    out
}
