//! A throwaway PostgreSQL server with `wal_level=logical`, trusting local
//! connections as the `postgres` superuser.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::Result;
use crate::error::TestkitError;
use crate::process::{self, SearchPath, SystemUser};
use crate::server::{ScratchDir, ServerProcess, StopSignal};

const HOST: &str = "127.0.0.1";
const USER: &str = "postgres";

/// Server settings: logical decoding for CDC tests, and no durability work
/// for a server that lives minutes.
const SETTINGS: &[&str] = &[
    "listen_addresses=127.0.0.1",
    "wal_level=logical",
    "max_replication_slots=20",
    "max_wal_senders=20",
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "shared_buffers=64MB",
];

/// The PostgreSQL programs a server needs, all of one version.
struct Binaries {
    initdb: PathBuf,
    server: PathBuf,
    isready: PathBuf,
    psql: PathBuf,
}

impl Binaries {
    fn find() -> Result<Self> {
        let mut extra = versioned_bin_dirs();
        extra.push(PathBuf::from("/usr/local/bin"));
        let search = SearchPath::new(extra, "PATH, /usr/lib/postgresql/*/bin, /usr/local/bin");
        let server = search.find(&["postgres"], "postgresql")?;
        // /usr/local/bin/postgres may be a link into a versioned directory:
        // take initdb and the clients from there, not another version's.
        let home = fs::canonicalize(&server)
            .ok()
            .and_then(|real| real.parent().map(Path::to_path_buf));
        let search = match home {
            Some(dir) => search.preferring(&dir),
            None => search,
        };
        Ok(Self {
            initdb: search.find(&["initdb"], "postgresql")?,
            isready: search.find(&["pg_isready"], "postgresql-client")?,
            psql: search.find(&["psql"], "postgresql-client")?,
            server,
        })
    }
}

/// `/usr/lib/postgresql/<N>/bin`, highest version first.
fn versioned_bin_dirs() -> Vec<PathBuf> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

/// A PostgreSQL server of its own on 127.0.0.1, with logical decoding on
/// and `trust` authentication (no password). Dropping it stops the server
/// and removes its directory.
pub struct Postgres {
    // Field order matters: the process stops before its directory goes.
    process: ServerProcess,
    dir: ScratchDir,
    binaries: Binaries,
    port: u16,
}

impl Postgres {
    /// Starts a new server (about a second: initdb, then start). As root,
    /// it runs as the `postgres` system user: PostgreSQL refuses root.
    pub fn start() -> Result<Self> {
        let binaries = Binaries::find()?;
        let run_as = server_user()?;
        let dir = ScratchDir::create("postgres", run_as)?;
        initdb(&binaries, dir.path(), run_as)?;
        let (process, port) =
            process::with_free_port(|port| launch(&binaries, dir.path(), run_as, port))?;
        Ok(Self {
            process,
            dir,
            binaries,
            port,
        })
    }

    /// One server for the whole test process, started on first use and
    /// cleaned up by its watchdog when the process exits.
    ///
    /// # Panics
    /// When the server cannot start, with the reason.
    pub fn shared() -> &'static Self {
        static SHARED: OnceLock<Result<Postgres, String>> = OnceLock::new();
        match SHARED.get_or_init(|| Self::start().map_err(|err| err.to_string())) {
            Ok(server) => server,
            Err(message) => panic!("the shared PostgreSQL server could not start: {message}"),
        }
    }

    /// Stops the server (fast shutdown) and starts it again on the same
    /// port and data, as an operator's restart would.
    pub fn restart(&mut self) -> Result<()> {
        self.process.stop();
        self.process = launch(&self.binaries, self.dir.path(), server_user()?, self.port)?;
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

    /// Always `postgres`, the superuser; it needs no password.
    pub fn user(&self) -> &'static str {
        USER
    }

    /// The directory holding the unix socket `.s.PGSQL.<port>`.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Process id of the postmaster.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// `postgres://postgres@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@{HOST}:{}/{database}", self.port)
    }

    /// Creates a database named [`unique_name`](crate::unique_name)`(prefix)`
    /// and returns that name.
    pub fn create_database(&self, prefix: &str) -> Result<String> {
        let name = crate::unique_name(prefix);
        self.sql("postgres", &format!("CREATE DATABASE \"{name}\""))?;
        Ok(name)
    }

    /// Runs `sql` (one or more statements, each in its own transaction
    /// unless it says otherwise) in `database` as `postgres`, stopping at
    /// the first error, and returns unaligned, tuples-only output (`|`
    /// between columns); an error carries psql's stderr.
    pub fn sql(&self, database: &str, sql: &str) -> Result<String> {
        let mut cmd = Command::new(&self.binaries.psql);
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-h", HOST])
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-U", USER, "-d", database, "-f", "-"]);
        process::run(&mut cmd, Some(sql))
    }
}

/// The user to run initdb and postgres as: `postgres` when we are root,
/// ourselves otherwise.
fn server_user() -> Result<Option<SystemUser>> {
    if process::effective_uid()? != 0 {
        return Ok(None);
    }
    match process::system_user(USER)? {
        Some(user) => Ok(Some(user)),
        None => Err(TestkitError::UserNotFound {
            user: USER.to_owned(),
            hint: "PostgreSQL refuses to run as root; install the Debian package postgresql \
                   (it creates the user) or run the tests as another user",
        }),
    }
}

/// A command that runs as `user` when one is given.
fn command_as(program: &Path, dir: &Path, user: Option<SystemUser>) -> Command {
    let mut cmd = Command::new(program);
    // A cwd the server user may not enter makes initdb complain.
    cmd.current_dir(dir);
    if let Some(user) = user {
        cmd.uid(user.uid).gid(user.gid);
    }
    cmd
}

fn initdb(binaries: &Binaries, dir: &Path, user: Option<SystemUser>) -> Result<()> {
    let mut cmd = command_as(&binaries.initdb, dir, user);
    cmd.arg("-D").arg(dir.join("data")).args([
        "-U",
        USER,
        "--auth=trust",
        "--no-sync",
        "-E",
        "UTF8",
        "--locale=C",
    ]);
    process::run(&mut cmd, None).map(drop)
}

/// Starts postgres on `port` and waits until it accepts connections.
fn launch(
    binaries: &Binaries,
    dir: &Path,
    user: Option<SystemUser>,
    port: u16,
) -> Result<ServerProcess> {
    let log = dir.join("postgres.log");
    let log_offset = process::log_len(&log);
    let mut cmd = command_as(&binaries.server, dir, user);
    cmd.arg("-D")
        .arg(dir.join("data"))
        .arg("-p")
        .arg(port.to_string())
        .arg("-k")
        .arg(dir);
    for setting in SETTINGS {
        cmd.args(["-c", setting]);
    }
    let mut server = ServerProcess::spawn(&mut cmd, &log, dir, StopSignal::Int)?;
    // Ask over our own socket: a TCP probe could be answered by whichever
    // server won a race for the port. postgres creates the socket only
    // after binding its TCP port.
    server.wait_ready("postgres", &log, log_offset, || {
        is_ready(&binaries.isready, dir, port)
    })?;
    Ok(server)
}

fn is_ready(isready: &Path, socket_dir: &Path, port: u16) -> bool {
    Command::new(isready)
        .arg("-q")
        .arg("-h")
        .arg(socket_dir)
        .arg("-p")
        .arg(port.to_string())
        // Without a user it probes as the OS user, and the server logs
        // "role root does not exist" on every poll.
        .args(["-U", USER, "-d", "postgres"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
