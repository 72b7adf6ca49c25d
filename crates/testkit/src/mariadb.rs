//! A throwaway MariaDB server with a ROW binlog carrying full metadata, and
//! a `watershed` user that may log in over TCP.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::process::{self, SearchPath};
use crate::server::{ScratchDir, ServerProcess, StopSignal};
use crate::{Result, TestkitError};

const HOST: &str = "127.0.0.1";
const USER: &str = "watershed";
const PASSWORD: &str = "watershed";

/// Keeps each server small; test data sets are small too, and durability
/// against an OS crash does not matter for a server that lives minutes.
const SMALL_FOOTPRINT: &[&str] = &[
    "--innodb-buffer-pool-size=64M",
    "--innodb-log-file-size=16M",
    "--innodb-flush-log-at-trx-commit=2",
    "--sync-binlog=0",
];

/// Written with `sql_log_bin=0` so the binlog a test reads holds only its
/// own changes. Anonymous users must go: they shadow `watershed@'%'` for
/// TCP logins from 127.0.0.1.
const SETUP_SQL: &str = "
SET sql_log_bin = 0;
DELETE FROM mysql.global_priv WHERE User = '';
CREATE USER 'watershed'@'%' IDENTIFIED BY 'watershed';
GRANT ALL PRIVILEGES ON *.* TO 'watershed'@'%' WITH GRANT OPTION;
CREATE USER 'watershed'@'localhost' IDENTIFIED BY 'watershed';
GRANT ALL PRIVILEGES ON *.* TO 'watershed'@'localhost' WITH GRANT OPTION;
FLUSH PRIVILEGES;
";

/// The MariaDB programs a server needs.
struct Binaries {
    install_db: PathBuf,
    server: PathBuf,
    admin: PathBuf,
    client: PathBuf,
}

impl Binaries {
    fn find() -> Result<Self> {
        let search = SearchPath::new(
            vec![PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")],
            "PATH, /usr/sbin, /usr/bin",
        );
        Ok(Self {
            install_db: search.find(
                &["mariadb-install-db", "mysql_install_db"],
                "mariadb-server",
            )?,
            server: search.find(&["mariadbd", "mysqld"], "mariadb-server")?,
            admin: search.find(&["mariadb-admin", "mysqladmin"], "mariadb-client")?,
            client: search.find(&["mariadb", "mysql"], "mariadb-client")?,
        })
    }
}

/// A MariaDB server of its own, listening on 127.0.0.1 and on a unix
/// socket, binlogging in ROW format with full row images and metadata.
/// Dropping it stops the server and removes its directory.
pub struct MariaDb {
    // Field order matters: the process stops before its directory goes.
    process: ServerProcess,
    dir: ScratchDir,
    binaries: Binaries,
    port: u16,
}

impl MariaDb {
    /// Starts a new server (about a second: install, start, create users).
    pub fn start() -> Result<Self> {
        let binaries = Binaries::find()?;
        let dir = ScratchDir::create("mariadb", None)?;
        // mariadbd refuses to run as root unless told to.
        let as_root = process::effective_uid()? == 0;
        install(&binaries, dir.path(), as_root)?;
        let (process, port) =
            process::with_free_port(|port| launch(&binaries, dir.path(), port, as_root))?;
        let server = Self {
            process,
            dir,
            binaries,
            port,
        };
        server.sql(SETUP_SQL)?;
        Ok(server)
    }

    /// One server for the whole test process, started on first use and
    /// cleaned up by its watchdog when the process exits.
    ///
    /// # Panics
    /// When the server cannot start, with the reason.
    pub fn shared() -> &'static Self {
        static SHARED: OnceLock<Result<MariaDb, String>> = OnceLock::new();
        match SHARED.get_or_init(|| Self::start().map_err(|err| err.to_string())) {
            Ok(server) => server,
            Err(message) => panic!("the shared MariaDB server could not start: {message}"),
        }
    }

    /// Stops the server gracefully and starts it again on the same port
    /// and data, as an operator's restart would.
    pub fn restart(&mut self) -> Result<()> {
        self.process.stop();
        let as_root = process::effective_uid()? == 0;
        self.process = launch(&self.binaries, self.dir.path(), self.port, as_root)?;
        Ok(())
    }

    /// TCP port on [`host`](Self::host).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Always `127.0.0.1`.
    pub fn host(&self) -> &'static str {
        HOST
    }

    /// The user for clients under test; it holds all privileges.
    pub fn user(&self) -> &'static str {
        USER
    }

    /// The password of [`user`](Self::user).
    pub fn password(&self) -> &'static str {
        PASSWORD
    }

    /// The unix socket; root logs in there without a password.
    pub fn socket_path(&self) -> PathBuf {
        self.dir.path().join("mariadb.sock")
    }

    /// The server's data directory (its binlogs are there too).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Process id of the server.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// `mysql://watershed:watershed@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        format!("mysql://{USER}:{PASSWORD}@{HOST}:{}/{database}", self.port)
    }

    /// Creates a database named [`unique_name`](crate::unique_name)`(prefix)`
    /// and returns that name.
    pub fn create_database(&self, prefix: &str) -> Result<String> {
        let name = crate::unique_name(prefix);
        self.sql(&format!("CREATE DATABASE `{name}`"))?;
        Ok(name)
    }

    /// Runs `sql` (one or more `;`-separated statements) as root over the
    /// socket and returns the client's tab-separated output without column
    /// names; an SQL error is an error carrying the client's stderr.
    pub fn sql(&self, sql: &str) -> Result<String> {
        let mut cmd = Command::new(&self.binaries.client);
        cmd.arg("--no-defaults")
            .arg(format!("--socket={}", self.socket_path().display()))
            .args(["--user=root", "--batch", "--skip-column-names"])
            .arg("--default-character-set=utf8mb4");
        process::run(&mut cmd, Some(sql))
    }
}

/// Creates the system tables. Root gets a password-less `normal` login so
/// the socket works whoever we run as (`unix_socket` would only admit an OS
/// user named root).
fn install(binaries: &Binaries, dir: &Path, as_root: bool) -> Result<()> {
    let tmp = private_tmp(dir)?;
    let mut cmd = Command::new(&binaries.install_db);
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", dir.join("data").display()))
        .arg(format!("--tmpdir={}", tmp.display()))
        .args([
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
        ])
        .args(SMALL_FOOTPRINT)
        .current_dir(dir);
    if as_root {
        cmd.arg("--user=root");
    }
    process::run(&mut cmd, None).map(drop)
}

/// A temporary directory of the server's own: servers installing or
/// running side by side in the shared /tmp were seen to lose each other's
/// temporary tables ("Could not remove temporary table").
fn private_tmp(dir: &Path) -> Result<PathBuf> {
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).map_err(|source| TestkitError::io("create", &tmp, source))?;
    Ok(tmp)
}

/// Starts mariadbd on `port` and waits until it answers on its socket.
fn launch(binaries: &Binaries, dir: &Path, port: u16, as_root: bool) -> Result<ServerProcess> {
    let log = dir.join("mariadb.err");
    let log_offset = process::log_len(&log);
    let socket = dir.join("mariadb.sock");
    let tmp = private_tmp(dir)?;
    let mut cmd = Command::new(&binaries.server);
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", dir.join("data").display()))
        .arg(format!("--tmpdir={}", tmp.display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--port={port}"))
        .arg(format!("--bind-address={HOST}"))
        .args([
            "--log-bin=mysql-bin",
            "--binlog-format=ROW",
            "--binlog-row-image=FULL",
            "--binlog-row-metadata=FULL",
            "--server-id=1",
            // The modern default (MySQL 8 too): emoji need no per-table charset.
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
            "--skip-name-resolve",
        ])
        .arg(format!("--pid-file={}", dir.join("mariadb.pid").display()))
        .arg(format!("--log-error={}", log.display()))
        .args(SMALL_FOOTPRINT)
        .current_dir(dir);
    if as_root {
        cmd.arg("--user=root");
    }
    let mut server = ServerProcess::spawn(&mut cmd, &log, dir, StopSignal::Term)?;
    // The socket is ours alone, unlike the TCP port, and mariadbd creates
    // it only after binding the port.
    server.wait_ready("mariadbd", &log, log_offset, || {
        ping(&binaries.admin, &socket)
    })?;
    Ok(server)
}

fn ping(admin: &Path, socket: &Path) -> bool {
    Command::new(admin)
        .arg("--no-defaults")
        .arg(format!("--socket={}", socket.display()))
        .args(["--user=root", "ping"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
