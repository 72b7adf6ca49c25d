//! From text to a validated [`PipelineConfig`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::env::{Environment, Override};
use super::error::{ConfigError, KeyPath, Location, Problem};
use watershed_sinks::jsonl::JsonlConfig;

use super::aggregates;
use super::model::{
    BatchOverrides, BufferConfig, DeadLetterConfig, OnTableError, PipelineConfig, RetryConfig,
    SchemaChanges, SinkConfig, SourceConfig, TableSettings,
};
use super::stale;
use super::transforms::{self, MaskKey};
use super::yaml::{self, LineIndex};

const TOP_LEVEL_KEYS: [&str; 13] = [
    "name",
    "source",
    "sink",
    "defaults",
    "schemas",
    "tables",
    "retry",
    "buffer",
    "dead_letter",
    "transforms",
    "mask_key",
    "aggregates",
    "stale",
];
const SOURCE_KINDS: &str = "generator, mysql, kafka";
const SINK_KINDS: &str = "sqlite, jsonl, postgres, kafka";
const DEAD_LETTER_KINDS: &str = "sink, postgres_table, kafka, jsonl";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    name: String,
    source: Value,
    sink: Value,
    #[serde(default)]
    defaults: TableSettings,
    #[serde(default)]
    schemas: BTreeMap<String, TableSettings>,
    #[serde(default)]
    tables: BTreeMap<String, TableSettings>,
    #[serde(default)]
    retry: RetryConfig,
    #[serde(default)]
    buffer: BufferConfig,
    #[serde(default)]
    dead_letter: Option<Value>,
    #[serde(default)]
    transforms: Option<Value>,
    #[serde(default)]
    mask_key: Option<String>,
    #[serde(default)]
    aggregates: Option<Value>,
    #[serde(default)]
    stale: Option<Value>,
}

/// `dead_letter: { kind: postgres_table }`: the sink's database unless
/// `url` names another.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPostgresTable {
    url: Option<String>,
    schema: Option<String>,
}

/// `dead_letter: { kind: kafka, brokers, topic }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKafkaTopic {
    brokers: String,
    topic: Option<String>,
    #[serde(default = "yes")]
    exactly_once: bool,
    #[serde(default = "one")]
    partitions: i32,
    #[serde(default = "one")]
    replication: i32,
    #[serde(default)]
    properties: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

fn one() -> i32 {
    1
}

/// Reads and resolves a pipeline file; relative paths in it are relative to
/// the file's folder.
pub fn load_file(file: &Path, env: &Environment) -> Result<PipelineConfig, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    let folder = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Absolute, so the printed plan says exactly which file is written.
    let base = std::path::absolute(&folder).unwrap_or(folder);
    load_str(&text, &base, env).map_err(|e| e.in_file(file.to_path_buf()))
}

/// Resolves pipeline text; `base` is the folder relative paths start from.
pub fn load_str(text: &str, base: &Path, env: &Environment) -> Result<PipelineConfig, ConfigError> {
    let (mut tree, lines, order) = yaml::parse(text, env)?;
    let overrides = env.overrides(&TOP_LEVEL_KEYS);
    let locate = Locator {
        lines: &lines,
        overrides: &overrides,
    };
    if !tree.is_object() {
        return Err(locate.error(
            vec![],
            "expected a mapping with `name`, `source` and `sink`".into(),
        ));
    }
    for o in &overrides {
        set_path(&mut tree, &o.path, yaml::plain_scalar(&o.value));
    }
    let raw: RawPipeline = deserialize(tree, &[]).map_err(|p| locate.problem(p))?;
    let sink = parse_sink(raw.sink).map_err(|p| locate.problem(p))?;
    let dead_letter = match raw.dead_letter {
        None | Some(Value::Null) => DeadLetterConfig::Sink,
        Some(value) => parse_dead_letter(value, &sink, &raw.name).map_err(|p| locate.problem(p))?,
    };
    let transforms = match raw.transforms {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => transforms::parse(value, &lines, &order).map_err(|p| locate.problem(p))?,
    };
    let aggregates = match raw.aggregates {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => aggregates::parse(value, &lines, &order).map_err(|p| locate.problem(p))?,
    };
    let stale = match raw.stale {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => stale::parse(value, &lines, &order).map_err(|p| locate.problem(p))?,
    };
    let mut config = PipelineConfig {
        source: parse_source(raw.source).map_err(|p| locate.problem(p))?,
        sink,
        dead_letter,
        name: raw.name,
        defaults: raw.defaults,
        schemas: raw.schemas,
        tables: raw.tables,
        retry: raw.retry,
        buffer: raw.buffer,
        transforms,
        mask_key: raw.mask_key.map(MaskKey),
        aggregates,
        stale,
    };
    resolve_paths(&mut config, base);
    match validate(&config).into_iter().next() {
        Some(problem) => Err(locate.problem(problem)),
        None => Ok(config),
    }
}

/// Deserialises `value`, reporting the key path of the first problem.
fn deserialize<T: DeserializeOwned>(value: Value, at: &[&str]) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut path: KeyPath = at.iter().map(|s| (*s).to_owned()).collect();
        path.extend(e.path().iter().filter_map(|segment| {
            use serde_path_to_error::Segment;
            match segment {
                Segment::Map { key } => Some(key.clone()),
                Segment::Seq { index } => Some(index.to_string()),
                Segment::Enum { .. } | Segment::Unknown => None,
            }
        }));
        (path, e.into_inner().to_string())
    })
}

/// Splits `{kind: …, rest}` and returns the kind and the rest.
fn split_kind(value: Value, section: &str, kinds: &str) -> Result<(String, Value), Problem> {
    let at = |key: Option<&str>| {
        let mut path = vec![section.to_owned()];
        path.extend(key.map(str::to_owned));
        path
    };
    let Value::Object(mut map) = value else {
        return Err((
            at(None),
            format!("expected a mapping with `kind` (one of: {kinds})"),
        ));
    };
    match map.remove("kind") {
        Some(Value::String(kind)) => Ok((kind, Value::Object(map))),
        Some(_) => Err((
            at(Some("kind")),
            format!("expected a string, one of: {kinds}"),
        )),
        None => Err((at(None), format!("missing key `kind` (one of: {kinds})"))),
    }
}

fn parse_source(value: Value) -> Result<SourceConfig, Problem> {
    let (kind, rest) = split_kind(value, "source", SOURCE_KINDS)?;
    match kind.as_str() {
        "generator" => deserialize(rest, &["source"]).map(SourceConfig::Generator),
        "mysql" => {
            let mysql: watershed_sources::mysql::MysqlConfig = deserialize(rest, &["source"])?;
            mysql
                .validate()
                .map_err(|message| (vec!["source".to_owned()], message))?;
            Ok(SourceConfig::Mysql(mysql))
        }
        "kafka" => {
            let kafka: watershed_sources::kafka::KafkaSourceConfig =
                deserialize(rest, &["source"])?;
            kafka
                .validate()
                .map_err(|message| (vec!["source".to_owned()], message))?;
            Ok(SourceConfig::Kafka(kafka))
        }
        other => Err((
            vec!["source".into(), "kind".into()],
            format!("unknown source kind `{other}`, expected one of: {SOURCE_KINDS}"),
        )),
    }
}

fn parse_sink(value: Value) -> Result<SinkConfig, Problem> {
    let (kind, rest) = split_kind(value, "sink", SINK_KINDS)?;
    match kind.as_str() {
        "sqlite" => deserialize(rest, &["sink"]).map(SinkConfig::Sqlite),
        "jsonl" => deserialize(rest, &["sink"]).map(SinkConfig::Jsonl),
        "postgres" => {
            let postgres: watershed_sinks::postgres::PostgresConfig = deserialize(rest, &["sink"])?;
            postgres
                .zero_date_substitute()
                .map_err(|message| (vec!["sink".to_owned()], message))?;
            Ok(SinkConfig::Postgres(postgres))
        }
        "kafka" => {
            let kafka: watershed_sinks::kafka::KafkaSinkConfig = deserialize(rest, &["sink"])?;
            kafka
                .validate()
                .map_err(|message| (vec!["sink".to_owned()], message))?;
            Ok(SinkConfig::Kafka(kafka))
        }
        other => Err((
            vec!["sink".into(), "kind".into()],
            format!("unknown sink kind `{other}`, expected one of: {SINK_KINDS}"),
        )),
    }
}

/// Resolves `dead_letter:` against the sink: a destination that is the
/// sink's own store becomes [`DeadLetterConfig::Sink`], so its dead letters
/// commit with the rows.
fn parse_dead_letter(
    value: Value,
    sink: &SinkConfig,
    pipeline: &str,
) -> Result<DeadLetterConfig, Problem> {
    let (kind, rest) = split_kind(value, "dead_letter", DEAD_LETTER_KINDS)?;
    let at = |key: &str| vec!["dead_letter".to_owned(), key.to_owned()];
    match kind.as_str() {
        "sink" => match rest.as_object().and_then(|m| m.keys().next()) {
            Some(key) => Err((at(key), "`kind: sink` takes no other keys".into())),
            None => Ok(DeadLetterConfig::Sink),
        },
        "postgres_table" => {
            let raw: RawPostgresTable = deserialize(rest, &["dead_letter"])?;
            let own = match sink {
                SinkConfig::Postgres(postgres) => Some(postgres),
                _ => None,
            };
            let url = match (raw.url, own) {
                (Some(url), _) => url,
                (None, Some(own)) => own.url.clone(),
                (None, None) => {
                    return Err((
                        at("url"),
                        "required: the sink is not postgres, so name the database the dead \
                         letters go to"
                            .into(),
                    ));
                }
            };
            let schema = raw
                .schema
                .or_else(|| own.map(|o| o.schema.clone()))
                .unwrap_or_else(|| "public".into());
            if own.is_some_and(|o| o.url == url && o.schema == schema) {
                return Ok(DeadLetterConfig::Sink);
            }
            let postgres = deserialize(
                serde_json::json!({ "url": url, "schema": schema }),
                &["dead_letter"],
            )?;
            Ok(DeadLetterConfig::PostgresTable(postgres))
        }
        "kafka" => {
            let raw: RawKafkaTopic = deserialize(rest, &["dead_letter"])?;
            let topic = raw
                .topic
                .unwrap_or_else(|| format!("{pipeline}._dead_letters"));
            if topic.is_empty()
                || !topic
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            {
                return Err((
                    at("topic"),
                    format!(
                        "`{topic}` is not a valid Kafka topic name (letters, digits, `.`, `_`, `-`)"
                    ),
                ));
            }
            let kafka: watershed_sinks::kafka::KafkaSinkConfig = deserialize(
                serde_json::json!({
                    "brokers": raw.brokers,
                    "topic_prefix": "watershed",
                    "schema_topic": "",
                    "dead_letter_topic": topic,
                    "exactly_once": raw.exactly_once,
                    "partitions": raw.partitions,
                    "replication": raw.replication,
                    "properties": raw.properties,
                }),
                &["dead_letter"],
            )?;
            kafka.validate().map_err(|message| {
                (
                    vec!["dead_letter".to_owned()],
                    message.replace("sink.", "dead_letter."),
                )
            })?;
            Ok(DeadLetterConfig::Kafka(kafka))
        }
        "jsonl" => {
            let jsonl: JsonlConfig = deserialize(rest, &["dead_letter"])?;
            Ok(DeadLetterConfig::Jsonl(jsonl))
        }
        other => Err((
            at("kind"),
            format!("unknown dead_letter kind `{other}`, expected one of: {DEAD_LETTER_KINDS}"),
        )),
    }
}

fn resolve_paths(config: &mut PipelineConfig, base: &Path) {
    let sink = match &mut config.sink {
        SinkConfig::Sqlite(sqlite) => Some(&mut sqlite.path),
        SinkConfig::Jsonl(jsonl) if jsonl.is_stdout() => None,
        SinkConfig::Jsonl(jsonl) => Some(&mut jsonl.path),
        SinkConfig::Postgres(_) | SinkConfig::Kafka(_) => None,
    };
    if let Some(path) = sink {
        resolve_path(path, base);
    }
    if let DeadLetterConfig::Jsonl(jsonl) = &mut config.dead_letter
        && !jsonl.is_stdout()
    {
        resolve_path(&mut jsonl.path, base);
    }
}

fn resolve_path(path: &mut PathBuf, base: &Path) {
    if path.is_relative() {
        let within = path
            .components()
            .filter(|c| *c != std::path::Component::CurDir);
        *path = within.fold(base.to_path_buf(), |joined, part| joined.join(part));
    }
}

/// Checks that need no I/O; every problem names its key path.
fn validate(config: &PipelineConfig) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut report = |path: &[&str], message: String| {
        problems.push((path.iter().map(|s| (*s).to_owned()).collect(), message));
    };
    let name_ok = !config.name.is_empty()
        && config
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if !name_ok {
        report(
            &["name"],
            "must be non-empty letters, digits, `_`, `-` or `.`".into(),
        );
    }
    let mut check_batch = |path: Vec<&str>, batch: &BatchOverrides| {
        for (key, value) in [
            ("max_rows", batch.max_rows),
            ("max_bytes", batch.max_bytes),
            ("max_delay_ms", batch.max_delay_ms),
        ] {
            if value == Some(0) && key != "max_delay_ms" {
                let mut at = path.clone();
                at.extend(["batch", key]);
                report(&at, "must be at least 1".into());
            }
        }
    };
    check_batch(vec!["defaults"], &config.defaults.batch);
    for (name, settings) in &config.schemas {
        check_batch(vec!["schemas", name], &settings.batch);
    }
    for (name, settings) in &config.tables {
        check_batch(vec!["tables", name], &settings.batch);
    }
    let levels = std::iter::once((vec!["defaults"], &config.defaults))
        .chain(
            config
                .schemas
                .iter()
                .map(|(n, s)| (vec!["schemas", n.as_str()], s)),
        )
        .chain(
            config
                .tables
                .iter()
                .map(|(n, s)| (vec!["tables", n.as_str()], s)),
        );
    for (mut at, settings) in levels {
        for (key, problem) in policy_problems(config, settings) {
            at.push(key);
            report(&at, problem);
            at.pop();
        }
    }
    let retry = &config.retry;
    if retry.initial_backoff_ms == 0 || retry.initial_backoff_ms > retry.max_backoff_ms {
        problems.push((
            vec!["retry".into(), "initial_backoff_ms".into()],
            "must be at least 1 and at most retry.max_backoff_ms".into(),
        ));
    }
    if config.buffer.max_rows == 0 || config.buffer.max_bytes < 1024 {
        problems.push((
            vec!["buffer".into()],
            "needs max_rows ≥ 1 and max_bytes ≥ 1024".into(),
        ));
    }
    if let (DeadLetterConfig::Jsonl(letters), SinkConfig::Jsonl(sink)) =
        (&config.dead_letter, &config.sink)
        && letters.path == sink.path
        && !sink.is_stdout()
    {
        problems.push((
            vec!["dead_letter".into(), "path".into()],
            "is the sink's own file; leave `dead_letter` out to write dead letters there".into(),
        ));
    }
    if let SourceConfig::Generator(generator) = &config.source {
        for (key, problem) in generator.problems() {
            problems.push((vec!["source".into(), key.into()], problem));
        }
    }
    problems.extend(transform_problems(config));
    problems
}

/// `transforms:` checked as far as the file allows: `hash` needs
/// `mask_key`, and where the source declares its tables without I/O, every
/// transform must name one and every chain must type-check.
fn transform_problems(config: &PipelineConfig) -> Vec<Problem> {
    let mut problems = Vec::new();
    if config.mask_key.as_ref().is_some_and(|k| k.0.is_empty()) {
        problems.push((
            vec!["mask_key".into()],
            "is empty (is the environment variable set?)".into(),
        ));
    }
    if config.mask_key.is_none() {
        for transform in &config.transforms {
            for step in &transform.steps {
                let watershed_transforms::chain::StepSpec::Mask(columns) = step else {
                    continue;
                };
                for (column, mask) in columns {
                    use watershed_transforms::mask::Mask;
                    let keyed = match Mask::parse(mask) {
                        Ok(Mask::Hash) => "hash",
                        Ok(Mask::Fake) => "fake",
                        _ => continue,
                    };
                    {
                        problems.push((
                            vec![
                                "transforms".into(),
                                transform.index.to_string(),
                                "mask".into(),
                                column.clone(),
                            ],
                            format!(
                                "`{keyed}` needs a top-level `mask_key` \
                                 (e.g. mask_key: ${{WATERSHED_MASK_KEY}})"
                            ),
                        ));
                    }
                }
            }
        }
    }
    let keeps_state = matches!(config.sink, SinkConfig::Postgres(_) | SinkConfig::Sqlite(_));
    for (key, used) in [
        ("aggregates", !config.aggregates.is_empty()),
        ("stale", !config.stale.is_empty()),
    ] {
        if used && !keeps_state {
            problems.push((
                vec![key.into()],
                format!(
                    "{key} keep their state in the sink, beside their rows: use a postgres or \
                     sqlite sink"
                ),
            ));
        }
    }
    if let SourceConfig::Mysql(mysql) = &config.source
        && let Ok(filter) = watershed_sources::mysql::TableFilter::parse(&mysql.tables)
    {
        // Names without globs must be among the captured tables.
        for transform in &config.transforms {
            let name = &transform.table;
            let captured = match name.split_once('.') {
                _ if name.contains('*') => true,
                Some((schema, table)) => filter.matches(schema, table),
                None => true,
            };
            if !captured {
                problems.push((
                    vec![
                        "transforms".into(),
                        transform.index.to_string(),
                        "table".into(),
                    ],
                    format!(
                        "`{name}` is not among the tables the source captures (source.tables: {})",
                        mysql.tables.join(", ")
                    ),
                ));
            }
        }
    }
    let nothing_to_check =
        config.transforms.is_empty() && config.aggregates.is_empty() && config.stale.is_empty();
    if nothing_to_check || !problems.is_empty() {
        return problems;
    }
    match config.source.declared_tables() {
        None => {}
        Some(Err(message)) => problems.push((vec!["source".into()], message)),
        Some(Ok(tables)) => {
            problems.extend(transforms::check_against(
                &config.transforms,
                &tables,
                config.mask_key.as_ref(),
            ));
            if problems.is_empty() {
                let transformed = transformed(config, &tables);
                problems.extend(aggregate_problems(config, &transformed));
                problems.extend(stale_problems(config, &transformed));
            }
        }
    }
    problems
}

/// The declared tables as the transforms leave them (named by `to:`):
/// what aggregates and watches read.
fn transformed(
    config: &PipelineConfig,
    tables: &[watershed_events::TableSchema],
) -> Vec<watershed_events::TableSchema> {
    tables
        .iter()
        .map(|table| {
            match transforms::chain_for(&config.transforms, table, config.mask_key.as_ref()) {
                Ok(Some(chain)) => chain.output().as_ref().clone(),
                _ => table.clone(),
            }
        })
        .collect()
}

/// Every aggregate reads a table the transforms produce and compiles
/// against its shape.
fn aggregate_problems(
    config: &PipelineConfig,
    tables: &[watershed_events::TableSchema],
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for aggregate in &config.aggregates {
        let at = |key: &str| -> Vec<String> {
            let mut path = vec!["aggregates".to_owned(), aggregate.spec.name.clone()];
            path.extend(key.split('.').filter(|k| !k.is_empty()).map(str::to_owned));
            path
        };
        let Some(table) = tables.iter().find(|t| aggregate.reads(&t.name)) else {
            problems.push((at("from"), no_table(&aggregate.from, tables)));
            continue;
        };
        if let Err(e) = watershed_transforms::aggregate::Aggregate::compile(&aggregate.spec, table)
        {
            problems.push((at(&e.key), format!("table {}: {}", table.name, e.message)));
        }
    }
    problems
}

/// Every watch reads a table the transforms produce and finds its
/// columns there.
fn stale_problems(
    config: &PipelineConfig,
    tables: &[watershed_events::TableSchema],
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for watch in &config.stale {
        let at = |key: &str| -> Vec<String> {
            let mut path = vec!["stale".to_owned(), watch.from.clone()];
            if !key.is_empty() {
                path.push(key.to_owned());
            }
            path
        };
        let Some(table) = tables.iter().find(|t| watch.watches(&t.name)) else {
            problems.push((at(""), no_table(&watch.from, tables)));
            continue;
        };
        if let Err(e) = watershed_transforms::stale::Watch::compile(&watch.spec(), table) {
            problems.push((at(&e.key), format!("table {}: {}", table.name, e.message)));
        }
    }
    problems
}

fn no_table(name: &str, tables: &[watershed_events::TableSchema]) -> String {
    let names: Vec<String> = tables.iter().map(|t| t.name.to_string()).collect();
    format!(
        "`{name}` names no table the transforms produce (they produce: {})",
        names.join(", ")
    )
}

/// Policies the configured source or sink cannot carry out: isolating a
/// table needs a source with per-table control (mysql), and refusing
/// schema changes needs a sink that checks them (postgres).
fn policy_problems(
    config: &PipelineConfig,
    settings: &TableSettings,
) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let isolates = settings.on_table_error == Some(OnTableError::Isolate)
        || settings.schema_changes == Some(SchemaChanges::Quarantine);
    if isolates && !matches!(config.source, SourceConfig::Mysql(_)) {
        let key = if settings.on_table_error == Some(OnTableError::Isolate) {
            "on_table_error"
        } else {
            "schema_changes"
        };
        problems.push((key, "isolating a table needs a mysql source".into()));
    }
    let guards = matches!(
        settings.schema_changes,
        Some(SchemaChanges::Freeze | SchemaChanges::Quarantine)
    );
    if guards && !matches!(config.sink, SinkConfig::Postgres(_)) {
        problems.push((
            "schema_changes",
            "freeze and quarantine are carried out by the postgres sink only; use evolve".into(),
        ));
    }
    problems
}

fn set_path(tree: &mut Value, path: &[String], value: Value) {
    let mut node = tree;
    for key in path {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let Value::Object(map) = node else { return };
        node = map.entry(key.clone()).or_insert(Value::Null);
    }
    *node = value;
}

/// Finds where a key path was written: a `WATERSHED_…` override, or the
/// line of the nearest key that was written in the file.
struct Locator<'a> {
    lines: &'a LineIndex,
    overrides: &'a [Override],
}

impl Locator<'_> {
    fn locate(&self, path: &[String]) -> Location {
        let from_override = |o: &&Override| {
            path.starts_with(&o.path)
                || (o.path.starts_with(path) && !self.lines.contains_key(path))
        };
        if let Some(o) = self.overrides.iter().find(from_override) {
            return Location::Env(o.variable.clone());
        }
        (0..=path.len())
            .rev()
            .find_map(|n| self.lines.get(&path[..n]))
            .map_or(Location::Unknown, |&line| Location::Line(line))
    }

    fn error(&self, path: KeyPath, message: String) -> ConfigError {
        ConfigError::Key {
            location: self.locate(&path),
            path,
            message,
        }
    }

    fn problem(&self, (path, message): Problem) -> ConfigError {
        self.error(path, message)
    }
}

#[cfg(test)]
mod tests;
