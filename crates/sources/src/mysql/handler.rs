//! Binlog events to change events, one function per event type,
//! dispatched by [`StreamState::handle`]. Tracks the binlog file, the GTID
//! state and the open transaction, so that every commit carries the exact
//! position after it. `Begin` is emitted lazily, with the first change of
//! a captured table: transactions that touch no captured table only move
//! the position, which is checkpointed now and then as an empty
//! transaction so that an idle pipeline's checkpoint keeps up.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mysql_async::binlog::events::{Event as BinlogEvent, RotateEvent};
use watershed_events::{Event, MysqlBinlogPosition, Position, Timestamp, TxBegin, TxCommit};

mod control;
mod query;
mod tables;

pub(crate) use control::Controls;

use super::conn::Collations;
use super::error::MysqlError;
use super::filter::TableFilter;
use super::gtid::{GtidSet, MariaGtid};
use super::plan::TableDecoder;
use super::rows::{self, RowsKind};
use super::schemas::Schemas;

/// Event type codes the stream acts on.
mod kind {
    pub const QUERY: u8 = 2;
    pub const ROTATE: u8 = 4;
    pub const FORMAT_DESCRIPTION: u8 = 15;
    pub const XID: u8 = 16;
    pub const TABLE_MAP: u8 = 19;
    pub const MYSQL_GTID: u8 = 33;
    pub const MYSQL_ANONYMOUS_GTID: u8 = 34;
    pub const MYSQL_PARTIAL_UPDATE_ROWS: u8 = 39;
    pub const MYSQL_TRANSACTION_PAYLOAD: u8 = 40;
    pub const MYSQL_GTID_TAGGED: u8 = 42;
    pub const MARIADB_GTID: u8 = 162;
    /// MariaDB's compressed query and rows events (`log_bin_compress`).
    pub const MARIADB_COMPRESSED: std::ops::RangeInclusive<u8> = 165..=171;
}

/// The transaction being read.
#[derive(Debug, Default)]
struct Tx {
    /// Between BEGIN (or a non-standalone GTID) and its commit.
    open: bool,
    /// `Begin` was emitted.
    begun: bool,
    /// MariaDB GTID (domain, server, seq) to record at commit.
    gtid: Option<(u32, u32, u64)>,
    /// Event time of the transaction's first event, seconds.
    time: u32,
}

/// Everything the stream keeps between events.
pub(crate) struct StreamState {
    checksum: bool,
    filter: TableFilter,
    collations: Collations,
    schemas: Schemas,
    /// Decoders per table id; `None`: a table that is not captured.
    tables: HashMap<u64, Option<Arc<TableDecoder>>>,
    /// The TABLE_MAP body each decoder was built from: a repeated TABLE_MAP
    /// (one per transaction) costs a comparison, not a rebuild.
    maps: HashMap<u64, Vec<u8>>,
    file: String,
    gtid: Option<GtidSet>,
    tx: Tx,
    seen_format: bool,
    /// The position after the last transaction that emitted nothing.
    skipped: Option<MysqlBinlogPosition>,
    last_commit: Instant,
    checkpoint_every: Duration,
    /// End of a MySQL compressed transaction payload being read.
    payload_end: Option<u64>,
    /// Rows pushed into the current chunk.
    pub(crate) rows: usize,
    controls: Controls,
    /// End offset, in `file`, of the last event read.
    at: u64,
    /// Coordinates just after the last transaction read (emitted or not).
    last: MysqlBinlogPosition,
}

/// What the stream needs to know when it starts.
pub(crate) struct StreamSetup {
    pub checksum: bool,
    pub filter: TableFilter,
    pub collations: Collations,
    pub schemas: Schemas,
    pub file: String,
    pub gtid: Option<GtidSet>,
    pub checkpoint_every: Duration,
    /// Where the stream starts (the resume position's coordinates).
    pub start: MysqlBinlogPosition,
    pub controls: Controls,
}

impl StreamState {
    pub(crate) fn new(setup: StreamSetup) -> Self {
        Self {
            checksum: setup.checksum,
            filter: setup.filter,
            collations: setup.collations,
            schemas: setup.schemas,
            tables: HashMap::new(),
            maps: HashMap::new(),
            file: setup.file,
            gtid: setup.gtid,
            tx: Tx::default(),
            seen_format: false,
            skipped: None,
            last_commit: Instant::now(),
            checkpoint_every: setup.checkpoint_every,
            payload_end: None,
            rows: 0,
            at: setup.start.offset,
            last: setup.start,
            controls: setup.controls,
        }
    }

    /// True between transactions.
    pub(crate) fn idle(&self) -> bool {
        !self.tx.open && !self.tx.begun
    }

    /// Per-table work is waiting for a transaction boundary.
    pub(crate) fn has_control_work(&self) -> bool {
        self.controls.has_work()
    }

    /// Handles one binlog event, appending what it means to `out`.
    pub(crate) async fn handle(
        &mut self,
        event: &BinlogEvent,
        out: &mut Vec<Event>,
    ) -> Result<(), MysqlError> {
        let header = event.header();
        let event_type = header.event_type_raw();
        if header.log_pos() != 0 && event_type != kind::ROTATE {
            self.at = self.end_of(header.log_pos());
        }
        if let Some((rows_kind, v2)) = RowsKind::of(event_type) {
            return self.on_rows(event.data(), rows_kind, v2, out);
        }
        match event_type {
            kind::TABLE_MAP => self.on_table_map(event.data()).await,
            kind::XID => {
                self.on_commit(self.end_of(header.log_pos()), header.timestamp(), out);
                Ok(())
            }
            kind::MYSQL_TRANSACTION_PAYLOAD => {
                // The reader hands over the compressed events next; they
                // carry no positions of their own.
                self.payload_end = Some(u64::from(header.log_pos()));
                Ok(())
            }
            kind::MYSQL_PARTIAL_UPDATE_ROWS => Err(MysqlError::fatal(
                "binlog stream",
                "the binlog holds partial JSON updates (binlog_row_value_options=PARTIAL_JSON), which lack \
                 full row images; set binlog_row_value_options=''",
            )),
            kind::MARIADB_GTID => {
                self.on_mariadb_gtid(event.data(), header.server_id(), header.timestamp())
            }
            kind::MYSQL_GTID | kind::MYSQL_ANONYMOUS_GTID | kind::MYSQL_GTID_TAGGED => {
                self.tx = Tx {
                    time: header.timestamp(),
                    ..Tx::default()
                };
                Ok(())
            }
            kind::QUERY => self.on_query(event, out).await,
            kind::ROTATE => self.on_rotate(event),
            kind::FORMAT_DESCRIPTION => {
                self.seen_format = true;
                Ok(())
            }
            t if kind::MARIADB_COMPRESSED.contains(&t) => Err(MysqlError::fatal(
                "binlog stream",
                "the binlog is compressed (log_bin_compress=ON), which the source cannot read; turn it off",
            )),
            // Heartbeats, GTID lists, checkpoints, annotations, …
            _ => Ok(()),
        }
    }

    /// An event's end offset; events inside a compressed payload report
    /// none, and end where the payload ends.
    fn end_of(&self, log_pos: u32) -> u64 {
        match (log_pos, self.payload_end) {
            (0, Some(end)) => end,
            (pos, _) => u64::from(pos),
        }
    }

    fn on_mariadb_gtid(&mut self, data: &[u8], server: u32, time: u32) -> Result<(), MysqlError> {
        let gtid = MariaGtid::parse(data)
            .ok_or_else(|| MysqlError::fatal("binlog stream", "unreadable MariaDB GTID event"))?;
        self.tx = Tx {
            open: !gtid.standalone,
            begun: false,
            gtid: Some((gtid.domain, server, gtid.seq)),
            time,
        };
        Ok(())
    }

    fn on_rotate(&mut self, event: &BinlogEvent) -> Result<(), MysqlError> {
        let rotate: RotateEvent<'_> = event
            .read_event()
            .map_err(|_| MysqlError::fatal("binlog stream", "unreadable ROTATE event"))?;
        let mut name = rotate.name_raw().to_vec();
        // Before the first format description the reader does not know
        // that events end in a checksum; it is left on the name.
        if !self.seen_format && self.checksum && name.len() > 4 {
            name.truncate(name.len() - 4);
        }
        let name = String::from_utf8_lossy(&name).into_owned();
        if name != self.file {
            tracing::debug!(file = %name, "binlog file");
            self.file = name;
            // Table ids are re-mapped in every transaction; forgetting them
            // at a file boundary (never inside a transaction) keeps the
            // caches from growing with every ALTER for the life of the stream.
            self.tables.clear();
            self.maps.clear();
        }
        Ok(())
    }

    fn on_rows(
        &mut self,
        data: &[u8],
        rows_kind: RowsKind,
        v2: bool,
        out: &mut Vec<Event>,
    ) -> Result<(), MysqlError> {
        let op = "decode rows";
        let event = rows::parse(data, rows_kind, v2)
            .map_err(|e| MysqlError::fatal(op, format!("unreadable rows event: {e}")))?;
        let decoder = match self.tables.get(&event.table_id) {
            Some(Some(decoder)) if self.controls.skips(&decoder.schema.name) => return Ok(()),
            Some(Some(decoder)) => decoder.clone(),
            Some(None) => return Ok(()),
            None => {
                return Err(MysqlError::fatal(
                    op,
                    format!(
                        "rows event for table id {} without a table map",
                        event.table_id
                    ),
                ));
            }
        };
        self.begin(out);
        self.schemas.announce(&decoder.schema, out);
        let first = out.len();
        let count = rows::decode(&event, &decoder, out).map_err(|e| {
            let column = decoder
                .schema
                .columns
                .get(e.column)
                .map_or("?", |c| c.name.as_str());
            MysqlError::fatal(op, e.error.to_string())
                .table(&decoder.schema.name)
                .column(column)
        })?;
        self.rows += count;
        if self.controls.has_work() {
            self.strike_changed(&decoder.schema.name, &out[first..]);
        }
        Ok(())
    }

    /// Strikes the keys these changes touch from a re-copy's open chunk.
    fn strike_changed(&mut self, table: &watershed_events::TableName, changes: &[Event]) {
        for event in changes {
            if let Event::Change(change) = event {
                for row in change.before.iter().chain(&change.after) {
                    self.controls.saw_change(table, &self.file, self.at, row);
                }
            }
        }
    }

    /// A statement outside BEGIN…COMMIT is its own transaction.
    fn end_statement(&mut self, log_pos: u64, time: u32, out: &mut Vec<Event>) {
        if !self.tx.open {
            self.on_commit(log_pos, time, out);
        }
    }

    fn begin(&mut self, out: &mut Vec<Event>) {
        if !self.tx.begun {
            self.tx.begun = true;
            let time = if self.tx.time == 0 {
                None
            } else {
                Some(seconds(self.tx.time))
            };
            out.push(Event::Begin(TxBegin { commit_time: time }));
        }
    }

    /// The transaction ends at `log_pos` in the current file.
    fn on_commit(&mut self, log_pos: u64, time: u32, out: &mut Vec<Event>) {
        // An unknown starting state is the empty state: no GTID before.
        if let Some((domain, server, seq)) = self.tx.gtid {
            self.gtid
                .get_or_insert_with(GtidSet::default)
                .update(domain, server, seq);
        }
        self.last = MysqlBinlogPosition::at(
            &self.file,
            log_pos,
            self.gtid
                .as_ref()
                .filter(|g| !g.is_empty())
                .map(ToString::to_string),
        );
        let position = self.position_at(self.last.clone());
        if self.tx.begun {
            out.push(Event::Commit(TxCommit {
                position: Position::MysqlFile(position),
                commit_time: seconds(time),
            }));
            self.skipped = None;
            self.last_commit = Instant::now();
        } else {
            self.skipped = Some(position);
        }
        self.tx = Tx::default();
        self.payload_end = None;
    }

    /// Between transactions, and when nothing was committed for a while,
    /// commits an empty transaction at the position skipped transactions
    /// reached, so the checkpoint (and binlog retention checks) keep up.
    pub(crate) fn checkpoint_skipped(&mut self, out: &mut Vec<Event>) {
        if self.tx.begun || self.tx.open || self.last_commit.elapsed() < self.checkpoint_every {
            return;
        }
        if let Some(position) = self.skipped.take() {
            out.push(Event::Begin(TxBegin { commit_time: None }));
            out.push(Event::Commit(TxCommit {
                position: Position::MysqlFile(position),
                commit_time: super::copy::now(),
            }));
            self.last_commit = Instant::now();
        }
    }
}

fn seconds(time: u32) -> Timestamp {
    Timestamp::from_micros(i64::from(time) * 1_000_000)
}
