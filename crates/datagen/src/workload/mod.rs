//! `watershed gen workload`: a paced OLTP workload of inserts, updates and
//! deletes against live PostgreSQL or MySQL/MariaDB tables that keeps every
//! key valid. The key columns of all rows are read once at start and then
//! tracked as statements succeed (see [`state`]); statements are drawn by
//! [`ops`] with the same value rules as `gen data`.

mod config;
mod exec;
mod ops;
mod state;

use std::future::Future;
use std::time::{Duration, Instant};

use watershed_events::{TableSchema, redact_urls};
use watershed_schema::ddl::Dialect;

pub use config::{Mix, Op, WorkloadConfig, WorkloadSummary};

use crate::error::DatagenError;
use crate::kind::Kind;
use crate::output::{Conn, Target, connect};
use crate::plan::{Plan, Request};
use crate::rng::Rng;
use exec::Outcome;
use ops::{Change, Statement};
use state::{Live, read_cell};

/// Runs a workload against the database at `url` whose tables are
/// `tables`, until the duration passes or `stop` fires.
pub async fn run(
    tables: Vec<TableSchema>,
    url: &str,
    wait: Duration,
    config: &WorkloadConfig,
    stop: impl Future<Output = ()>,
) -> Result<WorkloadSummary, DatagenError> {
    let request = Request {
        seed: config.seed,
        infer_references: true,
        ..Request::default()
    };
    let mut plan = Plan::new(tables, &request)?;
    let chosen = chosen_tables(&plan, &config.tables)?;
    tracing::info!(url = %redact_urls(url), tables = chosen.len(), "starting workload");
    let target = Target {
        schema: None,
        url: url.to_owned(),
    };
    let mut conn = connect(&target, wait).await?;
    let mut live = read_live(&mut plan, &mut conn).await?;
    let mut runner = Runner {
        plan: &plan,
        chosen,
        rng: Rng::stream(config.seed, "workload"),
        dialect: exec::dialect(&conn),
        mix: config.mix,
        summary: WorkloadSummary::default(),
    };
    runner.paced(&mut conn, &mut live, config, stop).await?;
    if let Conn::Postgres(client) = &conn {
        for table in &plan.tables {
            crate::output::postgres::reset_sequences(client, table).await?;
        }
    }
    let summary = runner.summary;
    tracing::info!(
        inserts = summary.inserts,
        updates = summary.updates,
        deletes = summary.deletes,
        errors = summary.errors,
        "workload finished"
    );
    Ok(summary)
}

/// Plan positions of the tables that get statements.
fn chosen_tables(plan: &Plan, names: &[String]) -> Result<Vec<usize>, DatagenError> {
    if names.is_empty() {
        return Ok((0..plan.tables.len()).collect());
    }
    names
        .iter()
        .map(|name| {
            plan.tables
                .iter()
                .position(|t| t.schema.name.to_string() == *name || t.schema.name.name == *name)
                .ok_or_else(|| {
                    DatagenError::Invalid(format!(
                        "--tables names `{name}`, which is not a table of the schema"
                    ))
                })
        })
        .collect()
}

/// Reads every table's key columns, and moves sequences past their rows.
async fn read_live(plan: &mut Plan, conn: &mut Conn) -> Result<Live, DatagenError> {
    let mut live = Live::new(plan);
    for t in 0..plan.tables.len() {
        let sequence = plan.tables[t]
            .columns
            .iter()
            .position(|c| c.kind == Kind::Sequence);
        let mut columns = live.tables[t].tracked.clone();
        if let Some(c) = sequence.filter(|c| !columns.contains(c)) {
            columns.push(c);
        }
        let pk = live.tables[t].pk.clone();
        let rows = exec::read_rows(conn, &plan.tables[t], &columns, &pk).await?;
        let width = plan.tables[t].columns.len();
        let mut max = 0i64;
        for texts in rows {
            let mut row = vec![crate::cell::Cell::Null; width];
            for (c, text) in columns.iter().zip(texts) {
                row[*c] = read_cell(text, &plan.tables[t].schema.columns[*c].logical_type);
            }
            if let Some(crate::cell::Cell::Int(n)) = sequence.map(|c| &row[c]) {
                max = max.max(*n);
            }
            live.add(plan, t, row);
        }
        plan.tables[t].sequence_start = max + 1;
    }
    Ok(live)
}

/// Draws and runs statements.
struct Runner<'p> {
    plan: &'p Plan,
    chosen: Vec<usize>,
    rng: Rng,
    dialect: Dialect,
    mix: Mix,
    summary: WorkloadSummary,
}

impl Runner<'_> {
    /// Runs statements at the configured rate (several per tick when the
    /// rate needs it) until the duration passes or `stop` fires.
    async fn paced(
        &mut self,
        conn: &mut Conn,
        live: &mut Live,
        config: &WorkloadConfig,
        stop: impl Future<Output = ()>,
    ) -> Result<(), DatagenError> {
        let started = Instant::now();
        let deadline = started + config.duration;
        let mut interval = tokio::time::interval(Duration::from_millis(20));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        let mut attempted = 0u64;
        while Instant::now() < deadline {
            tokio::select! {
                () = &mut stop => break,
                _ = interval.tick() => {}
            }
            let due = (started.elapsed().as_secs_f64() * config.rate) as u64;
            while attempted < due && Instant::now() < deadline {
                self.step(conn, live).await?;
                attempted += 1;
            }
        }
        self.summary.seconds = started
            .elapsed()
            .as_secs_f64()
            .min(config.duration.as_secs_f64().max(1e-9));
        Ok(())
    }

    fn pick_op(&mut self) -> Op {
        let Mix {
            insert,
            update,
            delete,
        } = self.mix;
        let point = self.rng.unit() * (insert + update + delete);
        if point < insert {
            Op::Insert
        } else if point < insert + update {
            Op::Update
        } else {
            Op::Delete
        }
    }

    /// A statement of `op` on one of the chosen tables, if one can be drawn.
    fn draw(&mut self, op: Op, live: &Live) -> Option<Statement> {
        for _ in 0..16 {
            let t = self.chosen[self.rng.index(self.chosen.len())];
            let statement = match op {
                Op::Insert => ops::insert(self.plan, live, t, &mut self.rng, self.dialect),
                Op::Update => ops::update(self.plan, live, t, &mut self.rng, self.dialect),
                Op::Delete => ops::delete(self.plan, live, t, &mut self.rng, self.dialect),
            };
            if statement.is_some() {
                return statement;
            }
        }
        None
    }

    /// One statement: the drawn operation, else any that can run.
    async fn step(&mut self, conn: &mut Conn, live: &mut Live) -> Result<(), DatagenError> {
        let wanted = self.pick_op();
        let mut drawn = self.draw(wanted, live).map(|s| (wanted, s));
        if drawn.is_none() {
            self.summary.skipped += 1;
            drawn = [Op::Insert, Op::Update, Op::Delete]
                .into_iter()
                .find_map(|op| self.draw(op, live).map(|s| (op, s)));
        }
        let Some((op, statement)) = drawn else {
            return Ok(());
        };
        match exec::execute(conn, &statement.sql).await? {
            Outcome::Done => {
                self.summary.count(op);
                self.record(live, statement);
            }
            Outcome::Refused(kind) => {
                let table = &self.plan.tables[statement.table].schema.name;
                tracing::warn!(table = %table, op = op.name(), error = %kind, "statement refused");
                self.summary.errors += 1;
                *self.summary.error_kinds.entry(kind).or_default() += 1;
            }
        }
        Ok(())
    }

    fn record(&mut self, live: &mut Live, statement: Statement) {
        let t = statement.table;
        match statement.change {
            Change::Insert(row) => {
                live.tables[t].inserted += 1;
                live.add(self.plan, t, row);
            }
            Change::Update => {}
            Change::Delete(at) => live.remove(self.plan, t, at),
        }
    }
}
