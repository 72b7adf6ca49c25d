//! Per-table control of a running pipeline: requests from outside the run
//! (the HTTP API that `watershed table …` calls) travel to the source task,
//! which hands them to the source between chunks; and the table states
//! that the last commit made durable, for status and metrics.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use watershed_events::{Position, TableAction, TableControl, TableName};
use watershed_sources::Source;

/// How long a request waits for the source to take it.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

struct Request {
    table: TableName,
    action: TableAction,
    reply: oneshot::Sender<Result<(), String>>,
}

/// The pipeline's per-table control desk.
pub struct TableControls {
    tx: mpsc::Sender<Request>,
    rx: tokio::sync::Mutex<mpsc::Receiver<Request>>,
    states: Mutex<BTreeMap<String, TableControl>>,
}

impl Default for TableControls {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(16);
        Self {
            tx,
            rx: tokio::sync::Mutex::new(rx),
            states: Mutex::new(BTreeMap::new()),
        }
    }
}

impl std::fmt::Debug for TableControls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableControls").finish_non_exhaustive()
    }
}

impl TableControls {
    /// Asks the running source for `action` on `table`; returns once the
    /// source accepted or refused it.
    pub async fn request(&self, table: TableName, action: TableAction) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            table,
            action,
            reply,
        };
        self.tx
            .send(request)
            .await
            .map_err(|_| "the pipeline is not running".to_owned())?;
        match tokio::time::timeout(REPLY_TIMEOUT, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("the pipeline stopped before taking the request".into()),
            Err(_) => Err(format!(
                "the source did not take the request within {} s (is it still snapshotting or retrying?)",
                REPLY_TIMEOUT.as_secs()
            )),
        }
    }

    /// The tables not applied live, as of the last commit.
    pub fn states(&self) -> BTreeMap<String, TableControl> {
        self.states.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Records the states `position` carries; returns true when they
    /// changed.
    pub(crate) fn committed(&self, position: &Position) -> bool {
        let empty = BTreeMap::new();
        let carried = match position {
            Position::MysqlFile(binlog) => &binlog.tables,
            Position::MysqlSnapshot(progress) => &progress.handover.tables,
            _ => &empty,
        };
        let Ok(mut states) = self.states.lock() else {
            return false;
        };
        if *states == *carried {
            return false;
        }
        *states = carried.clone();
        true
    }

    /// Hands waiting requests to `source` (called between chunks, so that
    /// no read is interrupted).
    pub(crate) async fn serve<S: Source>(&self, source: &mut S) {
        let Ok(mut rx) = self.rx.try_lock() else {
            return;
        };
        while let Ok(request) = rx.try_recv() {
            let result = source
                .control(&request.table, request.action)
                .await
                .map_err(|e| e.to_string());
            // The requester may have given up waiting: nothing to tell.
            let _ = request.reply.send(result);
        }
    }
}
