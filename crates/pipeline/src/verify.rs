//! `watershed verify`: compare every captured table on both sides by row
//! count and an order-independent checksum computed inside each database
//! (see `watershed_schema::digest`), and name a sample of differing keys.

use std::collections::BTreeMap;

use serde::Serialize;
use watershed_events::TableSchema;
use watershed_schema::dialect::{mysql as my, postgres as pg};
use watershed_schema::digest::{Side, bucket_digest_sql, bucket_rows_sql};
use watershed_sinks::postgres::{self as pg_sink, PostgresConfig};
use watershed_sources::mysql as my_source;

use crate::config::{PipelineConfig, SinkConfig, SourceConfig};
use crate::error::PipelineError;

/// Buckets whose rows are fetched to name differing keys.
const SAMPLE_BUCKETS: usize = 3;
/// Keys named per table at most.
const SAMPLE_KEYS: usize = 10;

/// How one table compares.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub table: String,
    pub target: String,
    pub source_rows: u64,
    pub target_rows: u64,
    pub equal: bool,
    /// Keys (as `length:text` cells) whose rows differ or exist on one side.
    pub differing_keys: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Why the table was not compared (its rows are transformed on the
    /// way, so the target is not meant to equal the source).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

type Digest = BTreeMap<u32, (u64, String)>;

/// Compares every table the source captures with its target table.
pub async fn verify(config: &PipelineConfig) -> Result<Vec<TableReport>, PipelineError> {
    let (SourceConfig::Mysql(source), SinkConfig::Postgres(sink)) = (&config.source, &config.sink)
    else {
        return Err(PipelineError::Unsupported(
            "verify compares a mysql source with a postgres sink".into(),
        ));
    };
    let mut mysql = my_source::Inspector::connect(source).await?;
    let postgres = pg_sink::connect(sink).await?;
    let mut reports = Vec::new();
    for schema in mysql.captured_tables().await? {
        let transformed: Vec<String> = config
            .transforms
            .iter()
            .filter(|t| t.applies_to(&schema.name))
            .map(|t| format!("transforms.{}", t.index))
            .collect();
        if !transformed.is_empty() {
            reports.push(TableReport {
                table: schema.name.to_string(),
                target: String::new(),
                source_rows: 0,
                target_rows: 0,
                equal: true,
                differing_keys: Vec::new(),
                problem: None,
                skipped: Some(format!(
                    "transformed on the way ({}): not compared",
                    transformed.join(", ")
                )),
            });
            continue;
        }
        reports.push(compare(&mut mysql, &postgres, sink, &schema).await?);
    }
    Ok(reports)
}

async fn compare(
    mysql: &mut my_source::Inspector,
    postgres: &tokio_postgres::Client,
    sink: &PostgresConfig,
    schema: &TableSchema,
) -> Result<TableReport, PipelineError> {
    let source_name = my::quote_ident(schema.name.schema.as_deref().unwrap_or_default())
        + "."
        + &my::quote_ident(&schema.name.name);
    let target = sink.target_table(&schema.name);
    let target_name = pg::qualified_name(&sink.schema, &target);
    // The target holds the sink's substitute for a zero date, if it has one.
    let zero = sink
        .zero_date_substitute()
        .map_err(PipelineError::Unsupported)?;
    let source_digest = digest(
        mysql
            .query_text(&bucket_digest_sql(Side::Mysql, schema, &source_name, zero))
            .await?,
    )?;
    let target_rows = pg_sink::query_text(
        postgres,
        &bucket_digest_sql(Side::Postgres, schema, &target_name, zero),
    )
    .await;
    let mut report = TableReport {
        table: schema.name.to_string(),
        target: format!("{}.{target}", sink.schema),
        source_rows: total(&source_digest),
        target_rows: 0,
        equal: false,
        differing_keys: Vec::new(),
        problem: None,
        skipped: None,
    };
    let target_digest = match target_rows {
        Ok(rows) => digest(rows)?,
        Err(e) => {
            report.problem = Some(e.to_string());
            return Ok(report);
        }
    };
    report.target_rows = total(&target_digest);
    let differing: Vec<u32> = source_digest
        .keys()
        .chain(target_digest.keys())
        .copied()
        .collect::<std::collections::BTreeSet<u32>>()
        .into_iter()
        .filter(|b| source_digest.get(b) != target_digest.get(b))
        .collect();
    report.equal = differing.is_empty();
    for bucket in differing.into_iter().take(SAMPLE_BUCKETS) {
        let left = keyed(
            mysql
                .query_text(&bucket_rows_sql(
                    Side::Mysql,
                    schema,
                    &source_name,
                    bucket,
                    zero,
                ))
                .await?,
        );
        let right = keyed(
            pg_sink::query_text(
                postgres,
                &bucket_rows_sql(Side::Postgres, schema, &target_name, bucket, zero),
            )
            .await?,
        );
        let keys = left
            .keys()
            .chain(right.keys())
            .collect::<std::collections::BTreeSet<_>>();
        for key in keys {
            if left.get(key) != right.get(key) && report.differing_keys.len() < SAMPLE_KEYS {
                report.differing_keys.push(key.clone());
            }
        }
    }
    Ok(report)
}

fn digest(rows: Vec<Vec<Option<String>>>) -> Result<Digest, PipelineError> {
    let bad = || PipelineError::Unsupported("a digest query returned an unexpected row".into());
    rows.into_iter()
        .map(|row| {
            let cell = |i: usize| row.get(i).cloned().flatten();
            let bucket = cell(0).and_then(|b| b.parse().ok()).ok_or_else(bad)?;
            let count = cell(1).and_then(|c| c.parse().ok()).ok_or_else(bad)?;
            // Sums are compared as exact decimal text: trim a `.0` MySQL may add.
            let sum = cell(2).unwrap_or_default();
            let sum = sum.split('.').next().unwrap_or_default().to_owned();
            Ok((bucket, (count, sum)))
        })
        .collect()
}

fn keyed(rows: Vec<Vec<Option<String>>>) -> BTreeMap<String, Option<String>> {
    rows.into_iter()
        .map(|mut row| {
            let hash = row.get_mut(1).and_then(Option::take);
            let key = row.get_mut(0).and_then(Option::take).unwrap_or_default();
            (key, hash)
        })
        .collect()
}

fn total(digest: &Digest) -> u64 {
    // Counts come from the servers' replies: never overflow on them.
    digest
        .values()
        .fold(0u64, |sum, (count, _)| sum.saturating_add(*count))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn cells() -> impl Strategy<Value = Vec<Vec<Option<String>>>> {
        let cell = proptest::option::of(prop_oneof![
            "[0-9]{0,25}(\\.[0-9]{0,5})?",
            "-?[0-9]{1,20}",
            "\\PC{0,12}",
        ]);
        proptest::collection::vec(proptest::collection::vec(cell, 0..5), 0..20)
    }

    proptest! {
        /// Whatever rows a server sends back, reading them gives a digest
        /// or an error that says the row was unexpected.
        #[test]
        fn digest_replies_are_read_or_refused(rows in cells()) {
            match digest(rows.clone()) {
                Ok(found) => {
                    let _ = total(&found);
                }
                Err(error) => prop_assert!(error.to_string().contains("unexpected row")),
            }
            let _ = keyed(rows);
        }
    }

    #[test]
    fn counts_at_their_limit_add_up_without_overflow() {
        let max = u64::MAX.to_string();
        let rows = vec![
            vec![Some("1".into()), Some(max.clone()), Some("0".into())],
            vec![Some("2".into()), Some(max), Some("0".into())],
        ];
        assert_eq!(total(&digest(rows).expect("a digest")), u64::MAX);
    }
}
