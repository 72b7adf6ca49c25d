//! The binlog connection: registering as a replica, resuming by MariaDB
//! GTID or by file and offset, heartbeats, and reading events into chunks
//! that end when the server has nothing ready, when enough rows are in,
//! or after a heartbeat interval of silence.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_core::Stream;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest};
use watershed_events::Event;

use super::conn::{Flavor, connect};
use super::error::MysqlError;
use super::gtid::GtidSet;
use super::handler::StreamState;

const OP: &str = "binlog stream";

/// Where the stream starts.
#[derive(Debug, Clone)]
pub(crate) enum StreamStart {
    /// Just after this offset of this file.
    File { file: String, offset: u64 },
    /// Just after the transactions of this MariaDB GTID state.
    Gtid(GtidSet),
}

/// A replica connection reading the binlog.
pub(crate) struct BinlogReader {
    stream: BinlogStream,
    state: StreamState,
    chunk_rows: usize,
    wait: Duration,
}

impl BinlogReader {
    /// Connects and requests the binlog from `start`, asking for a
    /// heartbeat every `heartbeat` while the server is idle.
    pub(crate) async fn open(
        url: &str,
        server_id: u32,
        flavor: Flavor,
        start: &StreamStart,
        heartbeat: Duration,
        chunk_rows: usize,
        state: StreamState,
    ) -> Result<Self, MysqlError> {
        let mut conn = connect(url).await?;
        let run = |e| MysqlError::driver(OP, e);
        if flavor == Flavor::MariaDb {
            // Without it MariaDB rewrites GTID events into BEGIN queries
            // and dummy events.
            conn.query_drop("SET @mariadb_slave_capability = 4")
                .await
                .map_err(run)?;
        }
        let period_ns = heartbeat.as_nanos().max(1_000_000);
        conn.query_drop(format!("SET @master_heartbeat_period = {period_ns}"))
            .await
            .map_err(run)?;
        let request = BinlogStreamRequest::new(server_id);
        let request = match start {
            StreamStart::File { file, offset } => {
                request.with_filename(file.as_bytes()).with_pos(*offset)
            }
            StreamStart::Gtid(gtid) => {
                // The set's text is digits, dashes and commas only (see
                // GtidSet::parse), so it is safe inside the quotes.
                conn.query_drop(format!(
                    "SET @slave_connect_state = '{gtid}', @slave_gtid_strict_mode = 0, \
                     @slave_gtid_ignore_duplicates = 0"
                ))
                .await
                .map_err(run)?;
                request.with_filename(&[]).with_pos(4u64)
            }
        };
        let stream = conn.get_binlog_stream(request).await.map_err(run)?;
        tracing::info!(start = ?start, server_id, "binlog stream opened");
        Ok(Self {
            stream,
            state,
            chunk_rows,
            wait: heartbeat.min(Duration::from_secs(1)),
        })
    }

    /// The stream's state, for per-table requests.
    pub(crate) fn state_mut(&mut self) -> &mut StreamState {
        &mut self.state
    }

    /// Events until the server has nothing ready (after at least one), the
    /// chunk holds `chunk_rows` rows, or the wait passes in silence.
    pub(crate) async fn next_chunk(&mut self) -> Result<Vec<Event>, MysqlError> {
        let mut out = Vec::new();
        self.state.rows = 0;
        let deadline = Instant::now() + self.wait;
        loop {
            if self.state.idle() && self.state.has_control_work() {
                self.state.between_transactions(&mut out).await?;
                if self.state.rows >= self.chunk_rows {
                    break;
                }
            }
            let next = if out.is_empty() {
                let remaining = deadline.saturating_duration_since(Instant::now());
                tokio::time::timeout(remaining, next_event(&mut self.stream))
                    .await
                    .ok()
            } else {
                ready_event(&mut self.stream).await
            };
            let Some(next) = next else { break };
            let event = match next {
                Some(Ok(event)) => event,
                Some(Err(e)) => return Err(MysqlError::driver(OP, e)),
                None => {
                    return Err(MysqlError::retryable(
                        OP,
                        "the server closed the binlog stream",
                    ));
                }
            };
            self.state.handle(&event, &mut out).await?;
            if self.state.rows >= self.chunk_rows || Instant::now() >= deadline {
                break;
            }
        }
        self.state.checkpoint_skipped(&mut out);
        Ok(out)
    }
}

type Next = Option<Result<mysql_async::binlog::events::Event, mysql_async::Error>>;

/// Waits for the next event (cancel-safe: partial reads stay in the stream).
async fn next_event(stream: &mut BinlogStream) -> Next {
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

/// The next event if one is ready now.
async fn ready_event(stream: &mut BinlogStream) -> Option<Next> {
    poll_fn(|cx| match Pin::new(&mut *stream).poll_next(cx) {
        Poll::Ready(next) => Poll::Ready(Some(next)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}
