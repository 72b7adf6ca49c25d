//! A throwaway Kafka-protocol broker: tansu (a Kafka-compatible broker
//! written in Rust, installed with `cargo install tansu --locked
//! --features dynostore`) with in-memory storage, on a free port. Used for
//! what librdkafka's mock cluster does not do faithfully: consumer groups,
//! rebalances, and aborted transactions hidden from `read_committed`
//! consumers.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::Result;
use crate::error::TestkitError;
use crate::process;
use crate::server::{ScratchDir, ServerProcess, StopSignal};

const HOST: &str = "127.0.0.1";
const INSTALL: &str = "install it with `cargo install tansu --locked --features dynostore` \
                       (.ci/run does when it is missing)";

/// A broker of its own. Dropping it stops the broker; its data (in memory)
/// goes with it.
pub struct Kafka {
    // Field order matters: the process stops before its directory goes.
    process: ServerProcess,
    _dir: ScratchDir,
    port: u16,
}

impl Kafka {
    /// Starts a new broker (well under a second).
    pub fn start() -> Result<Self> {
        let binary = find()?;
        let dir = ScratchDir::create("kafka", None)?;
        let path = dir.path().to_path_buf();
        let (process, port) = process::with_free_port(|port| launch(&binary, &path, port))?;
        Ok(Self {
            process,
            _dir: dir,
            port,
        })
    }

    /// One broker for the whole test process, started on first use.
    ///
    /// # Panics
    /// When the broker cannot start, with the reason.
    pub fn shared() -> &'static Self {
        static SHARED: OnceLock<Result<Kafka, String>> = OnceLock::new();
        match SHARED.get_or_init(|| Self::start().map_err(|err| err.to_string())) {
            Ok(broker) => broker,
            Err(message) => panic!("the shared Kafka broker could not start: {message}"),
        }
    }

    /// `bootstrap.servers` for clients.
    pub fn brokers(&self) -> String {
        format!("{HOST}:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// tansu on PATH or in cargo's bin directory.
fn find() -> Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    dirs.extend(cargo_home.map(|home| home.join("bin")));
    dirs.iter()
        .map(|dir| dir.join("tansu"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| TestkitError::ToolNotFound {
            binary: "tansu",
            looked_in: "PATH and $CARGO_HOME/bin".into(),
            install: INSTALL,
        })
}

fn launch(binary: &PathBuf, dir: &std::path::Path, port: u16) -> Result<ServerProcess> {
    let log = dir.join("tansu.log");
    let log_offset = process::log_len(&log);
    let url = format!("tcp://{HOST}:{port}");
    let mut cmd = Command::new(binary);
    cmd.arg("broker")
        .arg("--listener-url")
        .arg(&url)
        .arg("--advertised-listener-url")
        .arg(&url)
        .arg("--storage-engine")
        .arg("memory://tansu/")
        .current_dir(dir);
    let mut server = ServerProcess::spawn(&mut cmd, &log, dir, StopSignal::Term)?;
    server.wait_ready("tansu", &log, log_offset, || {
        TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_millis(200),
        )
        .is_ok()
    })?;
    Ok(server)
}
