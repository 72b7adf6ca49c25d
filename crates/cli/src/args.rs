//! The command line. Doc comments here are the `--help` text.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Watershed: change data capture and streaming ETL in one binary.
///
/// Exit codes: 0 success; 1 failure at run time (a path, a port, a
/// connection); 2 usage or configuration error, found before any I/O.
#[derive(Debug, Parser)]
#[command(name = "watershed", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts, before or after the command name.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "WATERSHED_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Address of the HTTP endpoints (/health, /ready, /metrics) while a
    /// pipeline runs; port 0 picks a free port.
    #[arg(
        long,
        global = true,
        default_value = "127.0.0.1:9187",
        env = "WATERSHED_LISTEN"
    )]
    pub listen: SocketAddr,
    /// Print results as JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

/// `watershed table …`: what to do, to which table, of which pipeline.
#[derive(Debug, Subcommand)]
pub enum TableCommand {
    /// Stop applying the table's changes; the others go on.
    Pause(TableTarget),
    /// Apply the table again; it is re-copied, since changes were skipped.
    Resume(TableTarget),
    /// Re-copy the table while streaming continues (DBLog watermarks).
    Resync(TableTarget),
}

#[derive(Debug, Args)]
pub struct TableTarget {
    /// The pipeline file (YAML).
    #[arg(short = 'c', long = "config")]
    pub config: PathBuf,
    /// The source table, as `schema.table`.
    pub table: String,
    /// The running pipeline's HTTP address (default: http:// + --listen).
    #[arg(long)]
    pub url: Option<String>,
}

impl TableCommand {
    pub fn target(&self) -> &TableTarget {
        match self {
            TableCommand::Pause(t) | TableCommand::Resume(t) | TableCommand::Resync(t) => t,
        }
    }

    pub fn word(&self) -> &'static str {
        match self {
            TableCommand::Pause(_) => "pause",
            TableCommand::Resume(_) => "resume",
            TableCommand::Resync(_) => "resync",
        }
    }
}

/// `watershed schema …`.
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Print the DDL that creates the DBML file's schema: schemas, enums,
    /// tables in dependency order, indexes, comments, then foreign keys.
    Sql {
        /// The DBML file.
        file: PathBuf,
        /// The SQL dialect; default: the Project's `database_type`.
        #[arg(long, value_enum)]
        dialect: Option<SqlDialect>,
        /// Write refs between tables of different schemas (databases) as
        /// comments, not constraints (also: Project setting
        /// `no_cross_schema_fks: 'true'`).
        #[arg(long)]
        no_cross_schema_fks: bool,
    },
    /// Check a DBML file: syntax, unknown references, duplicate names
    /// (errors), and missing primary keys, unknown types, varchar without
    /// a length, money as float, UUIDs stored two ways (warnings).
    Lint {
        /// The DBML file.
        file: PathBuf,
    },
    /// Make a live database match a DBML file: create what is missing and
    /// make additive changes (new columns, wider types, new enum values,
    /// indexes, foreign keys). Changes that drop or narrow are printed
    /// and need --confirm (exit 1 without it). Running it twice changes
    /// nothing the second time. PostgreSQL runs it in one transaction.
    Apply {
        /// The DBML file.
        file: PathBuf,
        /// The database: postgres://… or mysql://… (mariadb://…).
        #[arg(long)]
        url: String,
        /// Print the plan and the exact SQL; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also make the changes that drop or narrow.
        #[arg(long)]
        confirm: bool,
        /// Keep refs between schemas out of the database (see `sql`).
        #[arg(long)]
        no_cross_schema_fks: bool,
        /// How long to keep retrying to connect (a database that is still
        /// starting), e.g. 30s.
        #[arg(long, value_parser = parse_duration, default_value = "30s")]
        wait: Duration,
    },
    /// Print a live database's schema as DBML (sorted, so the same
    /// database always gives the same text).
    Pull {
        /// The database: postgres://… or mysql://… (mariadb://…).
        #[arg(long)]
        url: String,
        /// Only this schema (MySQL: database); default: every schema
        /// (MySQL: the URL's database, or every database without one).
        #[arg(long)]
        schema: Option<String>,
        /// How long to keep retrying to connect, e.g. 30s.
        #[arg(long, value_parser = parse_duration, default_value = "30s")]
        wait: Duration,
    },
    /// List the changes from schema A to schema B (DBML files or database
    /// URLs) and print the SQL that makes them. Exit 0 when they are the
    /// same, 1 when they differ, 2 on errors.
    Diff {
        /// A DBML file or a database URL.
        from: String,
        /// A DBML file or a database URL.
        to: String,
        /// The SQL dialect; default: B's when B is a URL, else the
        /// Project's database_type.
        #[arg(long, value_enum)]
        dialect: Option<SqlDialect>,
        /// How long to keep retrying to connect, e.g. 30s.
        #[arg(long, value_parser = parse_duration, default_value = "30s")]
        wait: Duration,
    },
    /// Write dbt sources (with tests) and one staging model per table for
    /// a DBML file or a live database, under
    /// DIR/models/staging/<source>/.
    Dbt {
        /// The DBML file (or give --url).
        #[arg(required_unless_present = "url", conflicts_with = "url")]
        file: Option<PathBuf>,
        /// A database to read instead of a file.
        #[arg(long)]
        url: Option<String>,
        /// The dbt project folder to write into.
        #[arg(long)]
        out: PathBuf,
        /// The dbt source name; default: the Project's name, else the
        /// database's, else `raw`.
        #[arg(long)]
        source_name: Option<String>,
        /// How long to keep retrying to connect, e.g. 30s.
        #[arg(long, value_parser = parse_duration, default_value = "30s")]
        wait: Duration,
    },
}

/// `watershed gen …`.
#[derive(Debug, Subcommand)]
pub enum GenCommand {
    /// Generate rows for every table: foreign keys point at real parents
    /// (parents first; self-references as trees), primary keys and unique
    /// indexes hold, lengths, precision, enums and NOT NULL are respected,
    /// and values fit each column's name and type. The same --seed and
    /// schema give the same bytes. Unsatisfiable requests fail before
    /// anything is written.
    Data(GenDataArgs),
    /// Run a continuous OLTP workload (inserts, updates, deletes) against
    /// live tables, keeping every key valid: inserts point at existing
    /// parents and keep uniques unique, updates change plain columns and
    /// move updated_at forward, deletes take rows nothing points at.
    /// Reports the achieved rate and the statements per operation.
    Workload(GenWorkloadArgs),
    /// Write a paced stream of synthetic events.
    Events {
        #[command(subcommand)]
        stream: GenEventsCommand,
    },
}

/// Flags of `watershed gen workload`.
#[derive(Debug, Args)]
pub struct GenWorkloadArgs {
    /// The database to run against (PostgreSQL or MySQL/MariaDB).
    #[arg(long)]
    pub url: String,
    /// Read table names, keys and notes from this DBML file instead of
    /// the live database.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Statements per second.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// How long to run, e.g. 30s or 5m (Ctrl-C stops sooner).
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub duration: Duration,
    /// Shares of the operations: `insert=70,update=20,delete=10`.
    #[arg(long, default_value = "insert=70,update=20,delete=10")]
    pub mix: String,
    /// The random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only these tables get statements: `users,orders.orders`.
    #[arg(long, value_delimiter = ',')]
    pub tables: Vec<String>,
    /// How long to keep retrying to connect, e.g. 30s.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub wait: Duration,
}

/// `watershed gen events …`.
#[derive(Debug, Subcommand)]
pub enum GenEventsCommand {
    /// Heart-rate readings (event_id, customer_id, ts, heart_rate): each
    /// customer has a resting rate of 55-84 bpm with slow drift and noise;
    /// --invalid-fraction of them are out of range, miss a field or carry
    /// a future timestamp. The same model as the pipeline's generator
    /// source (`stream: heartbeat`).
    Heartbeat(GenHeartbeatArgs),
}

/// Flags of `watershed gen events heartbeat`.
#[derive(Debug, Args)]
pub struct GenHeartbeatArgs {
    /// Readings per second.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// How long to run, e.g. 30s (Ctrl-C stops sooner).
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub duration: Duration,
    /// Customer ids run from 1 to N.
    #[arg(long, default_value_t = 1000)]
    pub customers: u64,
    /// The share of invalid readings, 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    pub invalid_fraction: f64,
    /// `jsonl:PATH`, `postgres:URL`, or `kafka` (with --brokers, --topic).
    #[arg(long)]
    pub to: String,
    /// The table for `postgres:URL` (created if missing).
    #[arg(long, default_value = "heartbeat")]
    pub table: String,
    /// `--to kafka`: the brokers, host:port[,host:port…].
    #[arg(long)]
    pub brokers: Option<String>,
    /// `--to kafka`: the topic (created if missing); records are keyed by
    /// customer.
    #[arg(long, default_value = "heartbeats")]
    pub topic: String,
    /// `--to kafka`: partitions of a topic created here.
    #[arg(long, default_value_t = 6)]
    pub partitions: i32,
    /// The timestamp of the first reading: RFC 3339, or `now`.
    #[arg(long, default_value = "now")]
    pub start: String,
    /// The random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How long to keep retrying to connect, e.g. 30s.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub wait: Duration,
}

/// Flags of `watershed gen data`.
#[derive(Debug, Args)]
pub struct GenDataArgs {
    /// The DBML file to read the schema from.
    #[arg(long, required_unless_present = "url", conflicts_with = "url")]
    pub schema: Option<PathBuf>,
    /// Read the schema from this live database instead.
    #[arg(long)]
    pub url: Option<String>,
    /// Rows per table (tables not named in --rows-per-table).
    #[arg(long, required_unless_present = "rows_per_table")]
    pub rows: Option<u64>,
    /// Rows for some tables: `users=1000,orders.orders=5000`.
    #[arg(long)]
    pub rows_per_table: Option<String>,
    /// The random seed; the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The locale of names, cities and phones: en_US or uk_UA.
    #[arg(long, default_value = "en_US")]
    pub locale: String,
    /// A database to load: `URL`, or `SCHEMA=URL` to send one DBML
    /// schema's tables there (repeat for database-per-service).
    #[arg(
        long = "target",
        required_unless_present = "out",
        conflicts_with = "out"
    )]
    pub targets: Vec<String>,
    /// Write one file per table into this folder instead.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The file format with --out.
    #[arg(long, value_enum, default_value_t = GenFormat::Csv)]
    pub format: GenFormat,
    /// The SQL dialect of --format sql.
    #[arg(long, value_enum, default_value_t = SqlDialect::Postgres)]
    pub dialect: SqlDialect,
    /// Add to tables that already hold rows.
    #[arg(long, conflicts_with = "truncate")]
    pub append: bool,
    /// Empty the target tables first (needs --confirm).
    #[arg(long)]
    pub truncate: bool,
    /// Confirms --truncate.
    #[arg(long)]
    pub confirm: bool,
    /// Per-column overrides (YAML): value lists with weights, ranges,
    /// distributions, NULL shares, patterns; also time_range and
    /// tree_depth.
    #[arg(long)]
    pub overrides: Option<PathBuf>,
    /// Do not treat `<name>_id` columns without a foreign key as
    /// references to the `<name>s` table.
    #[arg(long)]
    pub no_inferred_refs: bool,
    /// How long to keep retrying to connect, e.g. 30s.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub wait: Duration,
}

/// A file format for `gen data --out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GenFormat {
    Csv,
    Jsonl,
    Sql,
}

/// A SQL dialect for `schema sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqlDialect {
    Postgres,
    /// MySQL 8 and MariaDB.
    #[value(alias = "mariadb")]
    Mysql,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline until its source ends or it is stopped (Ctrl-C or
    /// SIGTERM commit the batch in flight, then exit 0).
    Run {
        /// The pipeline file (YAML).
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
        /// Check the file and print the plan, but move no data.
        #[arg(long)]
        dry_run: bool,
    },
    /// Smoke-test a pipeline's endpoints: reach the source and the sink,
    /// check server settings and the stored checkpoint. One line per
    /// check; exit 1 if any fails.
    Check {
        /// The pipeline file (YAML).
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
    },
    /// Compare source and target per table: row count and an
    /// order-independent checksum over all columns, computed in the
    /// databases. Exit 1 on any difference, naming the table and keys.
    Verify {
        /// The pipeline file (YAML).
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
    },
    /// Ask a running pipeline how it is doing: readiness, rows, lag, and
    /// the tables it does not apply live (paused, isolated, re-copying).
    Status {
        /// The pipeline's HTTP address (default: http:// + --listen).
        #[arg(long)]
        url: Option<String>,
    },
    /// Act on one table of a running pipeline: pause it (its changes are
    /// skipped), resume it (re-copied, since changes were skipped), or
    /// resync it (re-copied in key chunks while streaming continues).
    Table {
        #[command(subcommand)]
        command: TableCommand,
    },
    /// Schema as code: lint DBML, write its SQL, apply it to a live
    /// database, pull DBML from one, diff two schemas, emit dbt sources and
    /// staging models. Diagnostics go to stderr.
    Schema {
        #[command(subcommand)]
        command: SchemaCommand,
    },
    /// Test data: fill files or databases with realistic, deterministic
    /// rows from a DBML file or a live database's schema.
    Gen {
        #[command(subcommand)]
        command: GenCommand,
    },
    /// Parse and check a pipeline file, and print the resolved plan.
    Validate {
        /// The pipeline file (YAML).
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
    },
    /// The whole system on one machine, no server needed: a generated
    /// heart-rate stream into SQLite, with the HTTP endpoints up.
    Demo {
        /// Stop after this long (e.g. 5s, 2m); default: until Ctrl-C.
        #[arg(long, value_parser = parse_duration)]
        duration: Option<Duration>,
        /// Events per second (`N/s`, `N/min`) or `unbounded`.
        #[arg(long, default_value = "10000/s")]
        rate: String,
        /// The SQLite file to write; replaced at start.
        #[arg(long, default_value = "watershed-demo.db")]
        sqlite_path: PathBuf,
    },
}

/// `500ms`, `5s`, `2m`, `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration `{text}`: expected e.g. 500ms, 5s, 2m, 1h"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" | "" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "invalid duration `{text}`: the unit must be ms, s, m or h"
            ));
        }
    };
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("5 days").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn global_flags_are_accepted_after_the_command() {
        let cli = Cli::try_parse_from([
            "watershed",
            "validate",
            "-c",
            "x.yaml",
            "--json",
            "--log-format",
            "json",
        ])
        .expect("parses");
        assert!(cli.global.json);
        assert_eq!(cli.global.log_format, LogFormat::Json);
    }
}
