//! The MySQL/MariaDB source as a [`Source`]: decides at `open` whether to
//! copy (or continue copying) the tables or to stream the binlog from the
//! checkpoint, then moves from the copy to the stream at the handover
//! position.

use std::time::Duration;

use std::collections::BTreeMap;

use mysql_async::Conn;
use watershed_events::{
    Event, MysqlBinlogPosition, Position, TableAction, TableControl, TableName,
};

use super::catalog::list_tables;
use super::config::{MysqlConfig, SnapshotMode};
use super::conn::{Collations, Flavor, ServerInfo, binlog_end, check_server, connect, gtid_at};
use super::copy::{CopySetup, SnapshotCopy};
use super::error::MysqlError;
use super::filter::TableFilter;
use super::gtid::GtidSet;
use super::handler::{Controls, StreamSetup, StreamState};
use super::schemas::Schemas;
use super::stream::{BinlogReader, StreamStart};
use crate::source::{ControlError, Source, SourceError};

/// Reads a MySQL or MariaDB server: an initial snapshot in primary-key
/// chunks, then the row-format binlog as a replica.
pub struct MysqlSource {
    config: MysqlConfig,
    phase: Phase,
    acked: Option<Position>,
}

enum Phase {
    Closed,
    Copy(Box<Copying>),
    Stream(Box<BinlogReader>),
    /// `snapshot: only` has copied everything.
    Done,
}

/// A copy and what the stream after it needs.
struct Copying {
    copy: SnapshotCopy,
    server: Server,
}

/// What `open` learned about the server.
#[derive(Clone)]
struct Server {
    info: ServerInfo,
    filter: TableFilter,
    collations: Collations,
}

impl MysqlSource {
    /// A source for `config`; nothing connects before [`Source::open`].
    pub fn new(config: MysqlConfig) -> Self {
        Self {
            config,
            phase: Phase::Closed,
            acked: None,
        }
    }

    /// The latest position the sink made durable (for lag and binlog
    /// retention checks; the binlog itself is not consumed).
    pub fn acked_position(&self) -> Option<&Position> {
        self.acked.as_ref()
    }

    fn wait(&self) -> Duration {
        Duration::from_millis(self.config.heartbeat_ms).min(Duration::from_secs(1))
    }

    async fn start_copy(
        &mut self,
        conn: Conn,
        server: Server,
        resume: Option<watershed_events::MysqlSnapshotProgress>,
    ) -> Result<(), MysqlError> {
        let setup = CopySetup {
            url: &self.config.url,
            flavor: server.info.flavor,
            filter: &server.filter,
            chunk_rows: self.config.chunk_rows,
            workers: self.config.snapshot_workers,
            wait: self.wait(),
        };
        let copy = SnapshotCopy::start(conn, setup, resume)
            .await?
            .recording_filter(self.config.tables.clone());
        self.phase = Phase::Copy(Box::new(Copying { copy, server }));
        Ok(())
    }

    async fn start_stream(
        &mut self,
        server: Server,
        from: StreamFrom,
        announced: &[std::sync::Arc<watershed_events::TableSchema>],
    ) -> Result<(), MysqlError> {
        let flavor = server.info.flavor;
        let (states, added) = match &from {
            StreamFrom::Position(position) => self.carried_states(&server, position).await?,
            StreamFrom::Gtid(_) => Default::default(),
        };
        let start_coords = match &from {
            StreamFrom::Position(p) => {
                MysqlBinlogPosition::at(&p.file, p.offset, p.gtid_set.clone())
            }
            StreamFrom::Gtid(set) => MysqlBinlogPosition::at("", 4, Some(set.clone())),
        };
        let (start, file, gtid) = stream_start(&self.config.url, flavor, from).await?;
        let controls = Controls::new(
            self.config.url.clone(),
            flavor,
            self.config.chunk_rows,
            self.config.tables.clone().into(),
            states,
        );
        let mut state = StreamState::new(StreamSetup {
            checksum: server.info.checksum,
            filter: server.filter,
            collations: server.collations,
            schemas: Schemas::new(self.config.url.clone(), flavor, announced),
            file,
            gtid,
            checkpoint_every: Duration::from_millis(self.config.heartbeat_ms),
            start: start_coords,
            controls,
        });
        for table in added {
            tracing::info!(table = %table, "table added to the filter: copying it while streaming");
            state
                .request(table, TableAction::Resync)
                .await
                .unwrap_or_else(|e| tracing::warn!(error = %e, "added table not copied"));
        }
        let reader = BinlogReader::open(
            &self.config.url,
            self.config.server_id,
            flavor,
            &start,
            Duration::from_millis(self.config.heartbeat_ms),
            self.config.chunk_rows,
            state,
        )
        .await?;
        self.phase = Phase::Stream(Box::new(reader));
        Ok(())
    }

    /// The per-table states the checkpoint carries, minus tables the
    /// filter no longer captures; and the existing tables that the filter
    /// captures now but did not when the checkpoint was written.
    async fn carried_states(
        &self,
        server: &Server,
        position: &MysqlBinlogPosition,
    ) -> Result<(BTreeMap<String, TableControl>, Vec<TableName>), MysqlError> {
        let captured = |name: &str| {
            let table = TableName::parse(name);
            server
                .filter
                .matches(table.schema.as_deref().unwrap_or_default(), &table.name)
        };
        let states = position
            .tables
            .iter()
            .filter(|(name, _)| captured(name))
            .map(|(name, state)| (name.clone(), state.clone()))
            .collect();
        if position.filter.is_empty() || *position.filter == *self.config.tables {
            return Ok((states, Vec::new()));
        }
        let before = TableFilter::parse(&position.filter).map_err(|e| {
            MysqlError::fatal("open", format!("the checkpoint's table filter: {e}"))
        })?;
        let mut conn = connect(&self.config.url).await?;
        let now = list_tables(&mut conn, &server.filter).await?;
        let added = now
            .into_iter()
            .filter(|t| !before.matches(t.schema.as_deref().unwrap_or_default(), &t.name))
            .collect();
        Ok((states, added))
    }

    async fn open_phase(&mut self, resume: Option<&Position>) -> Result<(), SourceError> {
        if let Some(other) = resume.filter(|p| !is_mysql(p)) {
            return Err(SourceError::ForeignPosition {
                position: Box::new(other.clone()),
                source_kind: "mysql",
            });
        }
        self.config
            .validate()
            .map_err(|e| MysqlError::fatal("open", e))?;
        let filter =
            TableFilter::parse(&self.config.tables).map_err(|e| MysqlError::fatal("open", e))?;
        let mut conn = connect(&self.config.url).await?;
        let info = check_server(&mut conn).await?;
        let collations = Collations::load(&mut conn).await?;
        let server = Server {
            info,
            filter,
            collations,
        };
        match resume {
            None => match self.config.snapshot {
                SnapshotMode::Never => {
                    let end = binlog_end(&mut conn, server.info.flavor).await?;
                    self.start_stream(server, StreamFrom::Position(end), &[])
                        .await?;
                }
                SnapshotMode::Initial | SnapshotMode::Only => {
                    self.start_copy(conn, server, None).await?;
                }
            },
            Some(Position::MysqlSnapshot(progress)) => {
                self.start_copy(conn, server, Some(progress.clone()))
                    .await?;
            }
            Some(Position::MysqlFile(_) | Position::MysqlGtid { .. })
                if self.config.snapshot == SnapshotMode::Only =>
            {
                self.phase = Phase::Done;
            }
            Some(Position::MysqlFile(position)) => {
                self.start_stream(server, StreamFrom::Position(position.clone()), &[])
                    .await?;
            }
            Some(Position::MysqlGtid { gtid_set }) => {
                self.start_stream(server, StreamFrom::Gtid(gtid_set.clone()), &[])
                    .await?;
            }
            // Refused before connecting, above.
            Some(_) => {}
        }
        Ok(())
    }
}

fn is_mysql(position: &Position) -> bool {
    matches!(
        position,
        Position::MysqlFile(_) | Position::MysqlGtid { .. } | Position::MysqlSnapshot(_)
    )
}

/// Where streaming resumes, as the checkpoint says.
enum StreamFrom {
    Position(MysqlBinlogPosition),
    Gtid(String),
}

/// Prefers MariaDB GTID resumption (it survives binlog renames and
/// failover); otherwise file and offset, with the GTID state at that
/// offset so that later positions carry it.
async fn stream_start(
    url: &str,
    flavor: Flavor,
    from: StreamFrom,
) -> Result<(StreamStart, String, Option<GtidSet>), MysqlError> {
    let op = "open binlog stream";
    let parse = |text: &str| {
        GtidSet::parse(text).ok_or_else(|| {
            MysqlError::fatal(
                op,
                format!("unreadable GTID set `{text}` in the checkpoint"),
            )
        })
    };
    match (from, flavor) {
        (StreamFrom::Gtid(text), Flavor::MariaDb) => {
            let set = parse(&text)?;
            Ok((StreamStart::Gtid(set.clone()), String::new(), Some(set)))
        }
        (StreamFrom::Gtid(_), Flavor::Mysql) => Err(MysqlError::fatal(
            op,
            "resuming MySQL from a GTID set is not supported yet: checkpoint a binlog file position",
        )),
        (StreamFrom::Position(position), Flavor::MariaDb) => {
            let known = match &position.gtid_set {
                Some(text) => Some(parse(text)?),
                None => {
                    let mut conn = connect(url).await?;
                    gtid_at(&mut conn, flavor, &position.file, position.offset)
                        .await?
                        .map(|t| parse(&t))
                        .transpose()?
                }
            };
            match known {
                Some(set) if !set.is_empty() => {
                    Ok((StreamStart::Gtid(set.clone()), position.file, Some(set)))
                }
                _ => Ok((
                    StreamStart::File {
                        file: position.file.clone(),
                        offset: position.offset,
                    },
                    position.file,
                    None,
                )),
            }
        }
        (StreamFrom::Position(position), Flavor::Mysql) => Ok((
            StreamStart::File {
                file: position.file.clone(),
                offset: position.offset,
            },
            position.file,
            None,
        )),
    }
}

impl Source for MysqlSource {
    async fn open(&mut self, resume: Option<&Position>) -> Result<(), SourceError> {
        // Drop whatever ran before: its connections close.
        self.phase = Phase::Closed;
        self.open_phase(resume).await
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<Event>>, SourceError> {
        match &mut self.phase {
            Phase::Closed => Err(MysqlError::fatal("read", "the source is not open").into()),
            Phase::Done => Ok(None),
            Phase::Stream(reader) => Ok(Some(reader.next_chunk().await?)),
            Phase::Copy(copying) => match copying.copy.next_events().await? {
                Some(events) => Ok(Some(events)),
                None => {
                    let Phase::Copy(copying) = std::mem::replace(&mut self.phase, Phase::Closed)
                    else {
                        return Ok(Some(Vec::new()));
                    };
                    if self.config.snapshot == SnapshotMode::Only {
                        self.phase = Phase::Done;
                        return Ok(None);
                    }
                    let handover = copying.copy.handover().clone();
                    let schemas = copying.copy.schemas().to_vec();
                    let server = copying.server.clone();
                    drop(copying);
                    self.start_stream(server, StreamFrom::Position(handover), &schemas)
                        .await?;
                    Ok(Some(Vec::new()))
                }
            },
        }
    }

    async fn ack(&mut self, position: &Position) -> Result<(), SourceError> {
        // The binlog is not consumed: remember how far the sink got.
        self.acked = Some(position.clone());
        Ok(())
    }

    async fn control(
        &mut self,
        table: &TableName,
        action: TableAction,
    ) -> Result<(), ControlError> {
        match &mut self.phase {
            Phase::Stream(reader) => reader.state_mut().request(table.clone(), action).await,
            Phase::Copy(copying) => match action {
                TableAction::Isolate { reason } => copying
                    .copy
                    .isolate(table, reason)
                    .map_err(ControlError::Refused),
                _ => Err(ControlError::Refused(
                    "the initial snapshot is still running: pause, resume and resync start with \
                     streaming"
                        .into(),
                )),
            },
            Phase::Closed | Phase::Done => {
                Err(ControlError::Refused("the source is not streaming".into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_foreign_checkpoint_is_refused_before_connecting() {
        let mut source = MysqlSource::new(MysqlConfig {
            url: "mysql://u:p@127.0.0.1:1".into(),
            server_id: 7,
            tables: vec!["shop.*".into()],
            snapshot: SnapshotMode::Initial,
            chunk_rows: 10,
            heartbeat_ms: 100,
            snapshot_workers: 2,
            lag_alert_s: None,
        });
        let err = source
            .open(Some(&Position::PgLsn { lsn: 1 }))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("not written by a mysql source"),
            "{err}"
        );
        assert!(source.next_chunk().await.is_err(), "not open");
    }
}
