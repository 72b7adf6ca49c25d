//! Connections and what the source asks the server about itself: version
//! and flavour, the binlog settings it needs, the binlog's current end and
//! the character sets behind collation ids.

use std::collections::HashMap;
use std::sync::Arc;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Row};
use watershed_events::MysqlBinlogPosition;

use super::config::redact_url;
use super::error::MysqlError;

/// MariaDB and MySQL differ in GTIDs, snapshot positions and JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    MariaDb,
    Mysql,
}

/// What the source learned about the server at open.
#[derive(Debug, Clone)]
pub(crate) struct ServerInfo {
    pub flavor: Flavor,
    /// The server sends a CRC32 after every binlog event.
    pub checksum: bool,
}

/// Opens a connection for queries, with results in UTC and utf8mb4.
pub(crate) async fn connect(url: &str) -> Result<Conn, MysqlError> {
    let opts = Opts::from_url(url).map_err(|e| {
        MysqlError::fatal(
            "connect",
            format!("invalid source url {}: {e}", redact_url(url)),
        )
    })?;
    let mut conn = Conn::new(opts)
        .await
        .map_err(|e| MysqlError::driver("connect", e))?;
    // TIMESTAMP values then arrive in UTC, and text in one encoding
    // whatever each column's charset is.
    conn.query_drop("SET time_zone = '+00:00', NAMES utf8mb4")
        .await
        .map_err(|e| MysqlError::driver("connect", e))?;
    Ok(conn)
}

/// Reads the server's flavour and checks that its binlog carries what the
/// source needs, failing with the fix otherwise.
pub(crate) async fn check_server(conn: &mut Conn) -> Result<ServerInfo, MysqlError> {
    let op = "check binlog settings";
    let row: Option<Row> = conn
        .query_first(
            "SELECT @@version, CAST(@@log_bin AS CHAR), @@binlog_format, @@binlog_row_image, \
             CAST(@@binlog_checksum AS CHAR)",
        )
        .await
        .map_err(|e| MysqlError::driver(op, e))?;
    let row = row.ok_or_else(|| MysqlError::fatal(op, "the server returned no settings"))?;
    let text = |i: usize| string_at(&row, i).unwrap_or_default();
    let flavor = if text(0).contains("MariaDB") {
        Flavor::MariaDb
    } else {
        Flavor::Mysql
    };
    if !matches!(text(1).as_str(), "1" | "ON") {
        return Err(MysqlError::fatal(
            op,
            "binary logging is off: start the server with log_bin (e.g. --log-bin=mysql-bin), \
             binlog_format=ROW and binlog_row_image=FULL",
        ));
    }
    let format = text(2);
    if !format.eq_ignore_ascii_case("ROW") {
        return Err(MysqlError::fatal(
            op,
            format!(
                "binlog_format is {format}, the source needs ROW: run SET GLOBAL binlog_format = 'ROW' \
                 and set binlog_format=ROW in the server's configuration (sessions already open keep their format)"
            ),
        ));
    }
    let image = text(3);
    if !image.eq_ignore_ascii_case("FULL") {
        return Err(MysqlError::fatal(
            op,
            format!(
                "binlog_row_image is {image}, the source needs FULL: run SET GLOBAL binlog_row_image = 'FULL' \
                 and set binlog_row_image=FULL in the server's configuration"
            ),
        ));
    }
    let checksum = !text(4).eq_ignore_ascii_case("NONE");
    warn_unless_full_metadata(conn).await?;
    Ok(ServerInfo { flavor, checksum })
}

/// Warns when `binlog_row_metadata` (MariaDB ≥ 10.5, MySQL ≥ 8.0.1) is
/// not FULL: the stream then falls back to `information_schema`.
async fn warn_unless_full_metadata(conn: &mut Conn) -> Result<(), MysqlError> {
    let op = "check binlog settings";
    match conn
        .query_first::<String, _>("SELECT @@binlog_row_metadata")
        .await
    {
        Ok(setting) => {
            let setting = setting.unwrap_or_default();
            if !setting.eq_ignore_ascii_case("FULL") {
                tracing::warn!(
                    setting = %setting,
                    "binlog_row_metadata is not FULL: table maps lack column names and enum labels, so the source \
                     reads them from information_schema, which is wrong for events older than a later ALTER TABLE; \
                     set binlog_row_metadata=FULL"
                );
            }
            Ok(())
        }
        Err(mysql_async::Error::Server(e)) if e.code == 1193 => Ok(()),
        Err(e) => Err(MysqlError::driver(op, e)),
    }
}

/// The binlog's current end: where a stream that starts now begins.
pub(crate) async fn binlog_end(
    conn: &mut Conn,
    flavor: Flavor,
) -> Result<MysqlBinlogPosition, MysqlError> {
    let op = "read the binlog position";
    let row: Option<Row> = match conn.query_first("SHOW MASTER STATUS").await {
        Ok(row) => row,
        // MySQL 8.4 renamed the statement.
        Err(mysql_async::Error::Server(e)) if e.code == 1064 => conn
            .query_first("SHOW BINARY LOG STATUS")
            .await
            .map_err(|e| MysqlError::driver(op, e))?,
        Err(e) => return Err(MysqlError::driver(op, e)),
    };
    let row =
        row.ok_or_else(|| MysqlError::fatal(op, "the server reports no binlog: is log_bin on?"))?;
    let file = string_at(&row, 0).unwrap_or_default();
    let offset = string_at(&row, 1).and_then(|p| p.parse().ok()).unwrap_or(4);
    let gtid_set = gtid_at(conn, flavor, &file, offset).await?;
    Ok(MysqlBinlogPosition {
        file,
        offset,
        gtid_set,
        ..MysqlBinlogPosition::default()
    })
}

/// MariaDB's GTID state at a binlog file and offset (`BINLOG_GTID_POS`),
/// so that a file position read consistently (e.g. a snapshot's) gets the
/// matching GTID set. `None` on MySQL or before the first GTID.
pub(crate) async fn gtid_at(
    conn: &mut Conn,
    flavor: Flavor,
    file: &str,
    offset: u64,
) -> Result<Option<String>, MysqlError> {
    if flavor != Flavor::MariaDb {
        return Ok(None);
    }
    let gtid: Option<Option<String>> = conn
        .exec_first("SELECT BINLOG_GTID_POS(?, ?)", (file, offset))
        .await
        .map_err(|e| MysqlError::driver("read the gtid position", e))?;
    Ok(gtid.flatten().filter(|g| !g.is_empty()))
}

/// Character set and its longest character in bytes, per collation id.
#[derive(Debug, Clone, Default)]
pub(crate) struct Collations(HashMap<u16, (Arc<str>, u8)>);

impl Collations {
    pub(crate) async fn load(conn: &mut Conn) -> Result<Self, MysqlError> {
        let rows: Vec<(Option<u64>, String, u64)> = conn
            .query(
                "SELECT c.ID, c.CHARACTER_SET_NAME, s.MAXLEN FROM information_schema.COLLATIONS c \
                 JOIN information_schema.CHARACTER_SETS s ON s.CHARACTER_SET_NAME = c.CHARACTER_SET_NAME",
            )
            .await
            .map_err(|e| MysqlError::driver("read collations", e))?;
        let map = rows
            .into_iter()
            .filter_map(|(id, charset, maxlen)| {
                Some((u16::try_from(id?).ok()?, (Arc::from(charset), maxlen as u8)))
            })
            .collect();
        Ok(Self(map))
    }

    /// Collations `(id, charset, longest character)` without a server.
    #[cfg(test)]
    pub(crate) fn for_tests(entries: &[(u16, &str, u8)]) -> Self {
        let map = entries
            .iter()
            .map(|(id, charset, max)| (*id, (Arc::from(*charset), *max)))
            .collect();
        Self(map)
    }

    /// Character set name and its longest character, for a collation id.
    pub(crate) fn charset(&self, collation: u16) -> Option<(&Arc<str>, u8)> {
        self.0.get(&collation).map(|(name, max)| (name, *max))
    }
}

/// Column `i` of a text-protocol row as a string (numbers included).
pub(crate) fn string_at(row: &Row, i: usize) -> Option<String> {
    match row.as_ref(i)? {
        mysql_async::Value::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        mysql_async::Value::Int(n) => Some(n.to_string()),
        mysql_async::Value::UInt(n) => Some(n.to_string()),
        _ => None,
    }
}
