//! SQL text for one target table: its staging table, the COPY into it, and
//! the statements that move staged rows into the target. Pure functions
//! of quoted names, so they are tested as strings.

use watershed_schema::dialect::postgres::quote_ident;

/// Marks staged rows that are deletes; only in the staging table.
pub(crate) const DELETE_FLAG: &str = "_ws_delete";
pub(crate) const OP: &str = "_ws_op";
pub(crate) const POSITION: &str = "_ws_position";
pub(crate) const COMMITTED_AT: &str = "_ws_committed_at";
pub(crate) const DELETED_AT: &str = "_ws_deleted_at";

/// The quoted names the statements of one table are built from.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    /// `"schema"."table"`.
    pub target: String,
    /// The session's temporary staging table, quoted.
    pub staging: String,
    /// Every staged column but the delete flag: source columns, then the
    /// metadata and soft-delete columns when configured.
    pub columns: Vec<String>,
    /// How many of `columns` are source columns (they come first).
    pub source_columns: usize,
    /// Primary key columns; empty for a keyless table.
    pub key: Vec<String>,
    pub metadata: bool,
    pub soft_deletes: bool,
}

impl Names {
    fn list(&self) -> String {
        self.columns.join(", ")
    }

    fn source_row(&self, alias: &str) -> String {
        let columns: Vec<String> = self.columns[..self.source_columns]
            .iter()
            .map(|c| format!("{alias}.{c}"))
            .collect();
        format!("ROW({})::text", columns.join(", "))
    }

    fn key_match(&self) -> String {
        let terms: Vec<String> = self.key.iter().map(|k| format!("t.{k} = s.{k}")).collect();
        terms.join(" AND ")
    }

    /// `, "_ws_op" = s."_ws_op", …` when metadata columns are on.
    fn metadata_from_staging(&self) -> String {
        if !self.metadata {
            return String::new();
        }
        [OP, POSITION, COMMITTED_AT]
            .iter()
            .map(|c| format!(", {0} = s.{0}", quote_ident(c)))
            .collect()
    }
}

/// An empty copy of the staged columns, without the target's NOT NULL
/// constraints (deletes stage only their key), emptied by every commit.
pub(crate) fn create_staging(names: &Names) -> String {
    format!(
        "CREATE TEMPORARY TABLE {} ON COMMIT DELETE ROWS AS SELECT {}, NULL::boolean AS {} \
         FROM {} WITH NO DATA",
        names.staging,
        names.list(),
        quote_ident(DELETE_FLAG),
        names.target
    )
}

pub(crate) fn drop_staging(staging: &str) -> String {
    format!("DROP TABLE IF EXISTS {staging}")
}

pub(crate) fn copy_into_staging(names: &Names) -> String {
    format!(
        "COPY {} ({}, {}) FROM STDIN (FORMAT binary)",
        names.staging,
        names.list(),
        quote_ident(DELETE_FLAG)
    )
}

/// COPY straight into the target: inserts that cannot conflict.
pub(crate) fn copy_into_target(names: &Names) -> String {
    format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary)",
        names.target,
        names.list()
    )
}

pub(crate) fn truncate(table: &str) -> String {
    format!("TRUNCATE {table}")
}

/// Deletes (or soft-deletes) the staged delete keys.
pub(crate) fn delete_keyed(names: &Names) -> String {
    let flag = quote_ident(DELETE_FLAG);
    if names.soft_deletes {
        let deleted_at = quote_ident(DELETED_AT);
        format!(
            "UPDATE {} t SET {deleted_at} = COALESCE(s.{deleted_at}, now()){} FROM {} s \
             WHERE s.{flag} AND {}",
            names.target,
            names.metadata_from_staging(),
            names.staging,
            names.key_match()
        )
    } else {
        format!(
            "DELETE FROM {} t USING {} s WHERE s.{flag} AND {}",
            names.target,
            names.staging,
            names.key_match()
        )
    }
}

/// Inserts the staged upserts, replacing rows whose key exists (a
/// snapshot may overlap rows already applied).
pub(crate) fn upsert_keyed(names: &Names) -> String {
    let updates: Vec<String> = names
        .columns
        .iter()
        .filter(|c| !names.key.contains(c))
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    let action = if updates.is_empty() {
        "NOTHING".to_owned()
    } else {
        format!("UPDATE SET {}", updates.join(", "))
    };
    format!(
        "{} ON CONFLICT ({}) DO {action}",
        insert_staged(names),
        names.key.join(", ")
    )
}

/// Inserts the staged rows that are not deletes.
fn insert_staged(names: &Names) -> String {
    let list = names.list();
    format!(
        "INSERT INTO {} ({list}) SELECT {list} FROM {} WHERE NOT {}",
        names.target,
        names.staging,
        quote_ident(DELETE_FLAG)
    )
}

/// Keyless tables: deletes one target row per staged delete row with the
/// same values (NULLs equal). Rows are matched by their text form, which
/// is hashable and tells NULL from empty; `row_number` picks as many
/// copies of a duplicated row as the batch deletes.
pub(crate) fn delete_keyless(names: &Names) -> String {
    let live = if names.soft_deletes {
        format!(" AND {} IS NULL", quote_ident(DELETED_AT))
    } else {
        String::new()
    };
    let (s_row, t_row) = (names.source_row("s"), names.source_row("t"));
    let victims = format!(
        "WITH s AS (SELECT {s_row} AS r, count(*) AS n FROM {} s WHERE s.{} GROUP BY 1), \
         t AS (SELECT t.ctid AS id, row_number() OVER (PARTITION BY {t_row}) AS rn, {t_row} AS r \
         FROM {} t WHERE {t_row} IN (SELECT r FROM s){live})",
        names.staging,
        quote_ident(DELETE_FLAG),
        names.target,
    );
    let chosen = "SELECT t.id FROM t JOIN s USING (r) WHERE t.rn <= s.n";
    if names.soft_deletes {
        format!(
            "{victims} UPDATE {} SET {} = now() WHERE ctid IN ({chosen})",
            names.target,
            quote_ident(DELETED_AT)
        )
    } else {
        format!(
            "{victims} DELETE FROM {} WHERE ctid IN ({chosen})",
            names.target
        )
    }
}

/// Updates one row by key, setting the given columns from `$1…` and the
/// key from the parameters after them: for rows whose other values the
/// source did not send (TOAST).
pub(crate) fn update_columns(names: &Names, columns: &[&str]) -> String {
    let sets: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect();
    let keys: Vec<String> = names
        .key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k} = ${}", columns.len() + i + 1))
        .collect();
    format!(
        "UPDATE {} SET {} WHERE {}",
        names.target,
        sets.join(", "),
        keys.join(" AND ")
    )
}

/// Truncate under soft deletes: every live row is marked deleted at `$1`
/// (the commit time, or now when unknown).
pub(crate) fn soft_truncate(names: &Names) -> String {
    let deleted_at = quote_ident(DELETED_AT);
    let op = if names.metadata {
        format!(", {} = 'truncate'", quote_ident(OP))
    } else {
        String::new()
    };
    format!(
        "UPDATE {} SET {deleted_at} = COALESCE($1::timestamptz, now()){op} \
         WHERE {deleted_at} IS NULL",
        names.target
    )
}

/// Metadata for rows staged before their transaction's commit was seen.
pub(crate) fn fill_position(target: &str) -> String {
    format!(
        "UPDATE {target} SET {0} = $1::text, {1} = COALESCE({1}, $2::timestamptz, now()) \
         WHERE {0} IS NULL",
        quote_ident(POSITION),
        quote_ident(COMMITTED_AT)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(key: &[&str], soft_deletes: bool) -> Names {
        Names {
            target: r#""raw"."t""#.into(),
            staging: r#""ws_stage_1""#.into(),
            columns: vec![r#""id""#.into(), r#""v""#.into()],
            source_columns: 2,
            key: key.iter().map(|k| quote_ident(k)).collect(),
            metadata: false,
            soft_deletes,
        }
    }

    #[test]
    fn staging_copies_the_column_types_without_constraints() {
        assert_eq!(
            create_staging(&names(&["id"], false)),
            r#"CREATE TEMPORARY TABLE "ws_stage_1" ON COMMIT DELETE ROWS AS SELECT "id", "v", NULL::boolean AS "_ws_delete" FROM "raw"."t" WITH NO DATA"#
        );
        assert_eq!(
            copy_into_staging(&names(&["id"], false)),
            r#"COPY "ws_stage_1" ("id", "v", "_ws_delete") FROM STDIN (FORMAT binary)"#
        );
    }

    #[test]
    fn keyed_rows_are_deleted_then_upserted() {
        let keyed = names(&["id"], false);
        assert_eq!(
            delete_keyed(&keyed),
            r#"DELETE FROM "raw"."t" t USING "ws_stage_1" s WHERE s."_ws_delete" AND t."id" = s."id""#
        );
        assert_eq!(
            upsert_keyed(&keyed),
            r#"INSERT INTO "raw"."t" ("id", "v") SELECT "id", "v" FROM "ws_stage_1" WHERE NOT "_ws_delete" ON CONFLICT ("id") DO UPDATE SET "v" = EXCLUDED."v""#
        );
        let mut key_only = keyed.clone();
        key_only.columns.truncate(1);
        assert!(upsert_keyed(&key_only).ends_with("DO NOTHING"));
    }

    #[test]
    fn soft_deletes_stamp_the_row() {
        assert_eq!(
            delete_keyed(&names(&["id"], true)),
            r#"UPDATE "raw"."t" t SET "_ws_deleted_at" = COALESCE(s."_ws_deleted_at", now()) FROM "ws_stage_1" s WHERE s."_ws_delete" AND t."id" = s."id""#
        );
    }

    #[test]
    fn keyless_deletes_pick_one_row_per_staged_row() {
        let sql = delete_keyless(&names(&[], false));
        assert_eq!(
            sql,
            r#"WITH s AS (SELECT ROW(s."id", s."v")::text AS r, count(*) AS n FROM "ws_stage_1" s WHERE s."_ws_delete" GROUP BY 1), t AS (SELECT t.ctid AS id, row_number() OVER (PARTITION BY ROW(t."id", t."v")::text) AS rn, ROW(t."id", t."v")::text AS r FROM "raw"."t" t WHERE ROW(t."id", t."v")::text IN (SELECT r FROM s)) DELETE FROM "raw"."t" WHERE ctid IN (SELECT t.id FROM t JOIN s USING (r) WHERE t.rn <= s.n)"#
        );
    }

    #[test]
    fn partial_updates_set_only_sent_columns() {
        assert_eq!(
            update_columns(&names(&["id"], false), &[r#""v""#]),
            r#"UPDATE "raw"."t" SET "v" = $1 WHERE "id" = $2"#
        );
    }
}
