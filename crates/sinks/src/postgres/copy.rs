//! Binary COPY of reduced rows into a table's staging table.
//!
//! The rows are encoded straight into one buffer in PostgreSQL's binary
//! COPY format and sent in large chunks. This is what
//! `tokio_postgres::binary_copy::BinaryCopyInWriter` does, written out
//! because the sink needs what that writer hides: which column a value
//! failed in (to name it), zero dates turned into NULL for nullable
//! columns (and counted), and chunks larger than its 4 KiB.

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::SinkExt;
use tokio_postgres::Client;
use watershed_events::{ChangeOp, Timestamp, Value};

use super::encode::{self, CellError};
use super::error::pg_err;
use super::kind::Kind;
use super::reduce::Outcome;
use super::table::{Source, StagedColumn, TableState};
use crate::sink::SinkError;

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";
/// Bytes buffered before a chunk goes to the connection.
const CHUNK_BYTES: usize = 256 * 1024;

/// Where and when a transaction committed, for the metadata columns.
#[derive(Debug, Clone, Default)]
pub(crate) struct TxInfo {
    /// The commit's position as text; `None` while the commit has not
    /// been seen (a transaction larger than a batch).
    pub position: Option<String>,
    pub commit_time: Option<Timestamp>,
}

/// Where a COPY goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Destination {
    /// The staging table, with the delete flag.
    Staging,
    /// The target itself, without it.
    Target,
}

/// Copies `outcomes` (each as many times as its count says); returns,
/// per staged column, how many zero dates were written as NULL.
pub(crate) async fn copy_outcomes(
    client: &Client,
    state: &TableState,
    destination: Destination,
    outcomes: &[&Outcome<'_>],
    txs: &[TxInfo],
) -> Result<Vec<u64>, SinkError> {
    let context = || format!("copy into {} ({destination:?})", state.target);
    let statement = match destination {
        Destination::Staging => &state.statements.copy,
        Destination::Target => &state.statements.copy_direct,
    };
    let sink = client
        .copy_in::<_, Bytes>(statement)
        .await
        .map_err(pg_err(context))?;
    let mut sink = std::pin::pin!(sink);
    let mut rows = Rows::new(state, txs, destination);
    for outcome in outcomes {
        for _ in 0..outcome.count.unsigned_abs() {
            rows.put(outcome)?;
            if rows.buf.len() >= CHUNK_BYTES {
                let chunk = rows.buf.split().freeze();
                sink.send(chunk).await.map_err(pg_err(context))?;
            }
        }
    }
    rows.buf.put_i16(-1);
    let chunk = rows.buf.split().freeze();
    sink.send(chunk).await.map_err(pg_err(context))?;
    sink.as_mut().finish().await.map_err(pg_err(context))?;
    Ok(rows.nulled)
}

/// The COPY stream being built.
struct Rows<'s> {
    state: &'s TableState,
    txs: &'s [TxInfo],
    /// The staged columns this COPY sends (all but the delete flag when
    /// copying into the target).
    columns: &'s [StagedColumn],
    buf: BytesMut,
    nulled: Vec<u64>,
}

impl<'s> Rows<'s> {
    fn new(state: &'s TableState, txs: &'s [TxInfo], destination: Destination) -> Self {
        let columns = match destination {
            Destination::Staging => &state.layout[..],
            Destination::Target => &state.layout[..state.layout.len() - 1],
        };
        let mut buf = BytesMut::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 4);
        buf.put_slice(SIGNATURE);
        buf.put_i32(0); // flags
        buf.put_i32(0); // header extension length
        Self {
            state,
            txs,
            columns,
            buf,
            nulled: vec![0; state.layout.len()],
        }
    }

    fn put(&mut self, outcome: &Outcome<'_>) -> Result<(), SinkError> {
        let layout = self.columns;
        let keyed_delete = outcome.is_delete() && !self.state.key.is_empty();
        let tx = self.txs.get(outcome.tx as usize);
        self.buf.put_i16(layout.len() as i16);
        for (i, column) in layout.iter().enumerate() {
            let at = self.buf.len();
            let result = match column.source {
                // A keyed delete needs only its key; the rest may be absent
                // from the before image.
                Source::Column(_) if keyed_delete && !column.is_key => put_null(&mut self.buf),
                Source::Column(index) => put_value(&mut self.buf, outcome.row.get(index), column),
                _ => put_metadata(&mut self.buf, column, outcome, tx),
            };
            match result {
                Ok(()) => {}
                Err(CellError::ZeroDate) if self.state.zero_date.is_some() || column.nullable => {
                    self.buf.truncate(at);
                    let substitute = match (self.state.zero_date, &column.source) {
                        (Some(date), Source::Column(index)) => {
                            outcome.row.get(*index).and_then(|v| with_date(v, date))
                        }
                        _ => None,
                    };
                    match substitute {
                        Some(value) => put_value(&mut self.buf, Some(&value), column)
                            .map_err(|error| self.column_error(column, error))?,
                        None => self.buf.put_i32(-1),
                    }
                    self.nulled[i] += 1;
                }
                Err(error) => return Err(self.column_error(column, error)),
            }
        }
        Ok(())
    }

    fn column_error(&self, column: &StagedColumn, error: CellError) -> SinkError {
        SinkError::Column {
            table: self.state.target.to_string(),
            column: column.name.clone(),
            reason: error.to_string(),
        }
    }
}

/// `value` with its date replaced by `date` (a datetime keeps its time).
fn with_date(value: &Value, date: watershed_events::Date) -> Option<Value> {
    match value {
        Value::Date(_) => Some(Value::Date(date)),
        Value::DateTime(datetime) => Some(Value::DateTime(watershed_events::DateTime {
            date,
            time: datetime.time,
        })),
        _ => None,
    }
}

fn put_null(buf: &mut BytesMut) -> Result<(), CellError> {
    buf.put_i32(-1);
    Ok(())
}

fn put_value(
    buf: &mut BytesMut,
    value: Option<&Value>,
    column: &StagedColumn,
) -> Result<(), CellError> {
    encode::put_with_length(value.unwrap_or(&Value::Null), &column.kind, buf).map(drop)
}

fn put_metadata(
    buf: &mut BytesMut,
    column: &StagedColumn,
    outcome: &Outcome<'_>,
    tx: Option<&TxInfo>,
) -> Result<(), CellError> {
    let commit_time = tx.and_then(|tx| tx.commit_time);
    match column.source {
        Source::Op => put_text(buf, column, Some(op_name(outcome))),
        Source::Position => put_text(buf, column, tx.and_then(|tx| tx.position.as_deref())),
        Source::CommittedAt => put_instant(buf, column, commit_time),
        Source::DeletedAt if outcome.is_delete() => put_instant(buf, column, commit_time),
        Source::DeletedAt => put_null(buf),
        Source::DeleteFlag => {
            buf.put_i32(1);
            buf.put_u8(u8::from(outcome.is_delete()));
            Ok(())
        }
        Source::Column(_) => put_null(buf),
    }
}

/// The operation as stored in `_ws_op`: what the row's last change did.
fn op_name(outcome: &Outcome<'_>) -> &'static str {
    if outcome.is_delete() {
        ChangeOp::Delete.as_str()
    } else {
        outcome.op.as_str()
    }
}

fn put_text(
    buf: &mut BytesMut,
    column: &StagedColumn,
    text: Option<&str>,
) -> Result<(), CellError> {
    let Some(text) = text else {
        return put_null(buf);
    };
    if !matches!(column.kind, Kind::Text { .. }) {
        return Err(CellError::Mismatch {
            value: "text",
            column: column.kind.name(),
        });
    }
    buf.put_i32(text.len() as i32);
    buf.put_slice(text.as_bytes());
    Ok(())
}

fn put_instant(
    buf: &mut BytesMut,
    column: &StagedColumn,
    at: Option<Timestamp>,
) -> Result<(), CellError> {
    match at {
        Some(at) => encode::put_with_length(&Value::Timestamp(at), &column.kind, buf).map(drop),
        None => put_null(buf),
    }
}
