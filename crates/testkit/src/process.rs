//! Plumbing around external programs: finding binaries, picking a free port,
//! knowing who we run as, and running a command to completion.

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;

use crate::Result;
use crate::error::TestkitError;

/// How many times a server start is retried when its port was taken.
const PORT_ATTEMPTS: usize = 3;

/// How many log lines an error message carries.
const LOG_TAIL_LINES: usize = 40;

/// A system account a server is run as instead of root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SystemUser {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// Where to look for binaries, and how to describe that in an error.
pub(crate) struct SearchPath {
    dirs: Vec<PathBuf>,
    described: String,
}

impl SearchPath {
    /// `PATH` followed by `extra` directories; `described` is what the
    /// "not found" error says was searched.
    pub(crate) fn new(extra: Vec<PathBuf>, described: &str) -> Self {
        let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).collect())
            .unwrap_or_default();
        dirs.extend(extra);
        Self {
            dirs,
            described: described.to_owned(),
        }
    }

    /// The same search, but trying `dir` first: tools of one PostgreSQL
    /// version must come from one directory.
    pub(crate) fn preferring(&self, dir: &Path) -> Self {
        let mut dirs = vec![dir.to_path_buf()];
        dirs.extend(self.dirs.iter().cloned());
        Self {
            dirs,
            described: self.described.clone(),
        }
    }

    /// The first executable named like one of `names` (earlier names win
    /// over later ones anywhere in the path).
    pub(crate) fn find(&self, names: &[&str], package: &'static str) -> Result<PathBuf> {
        names
            .iter()
            .flat_map(|name| self.dirs.iter().map(move |dir| dir.join(name)))
            .find(|candidate| is_executable(candidate))
            .ok_or_else(|| TestkitError::BinaryNotFound {
                binary: names.join(" or "),
                looked_in: self.described.clone(),
                package,
            })
    }
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// A port on 127.0.0.1 that was free a moment ago. Another process may take
/// it before the server binds it, which is why starts go through
/// [`with_free_port`].
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(|source| TestkitError::io("bind", "127.0.0.1:0", source))?;
    let port = listener
        .local_addr()
        .map_err(|source| TestkitError::io("read the address of", "127.0.0.1:0", source))?
        .port();
    Ok(port)
}

/// Runs `launch` on a fresh free port, again on another port when the
/// server lost a race for it.
pub(crate) fn with_free_port<T>(mut launch: impl FnMut(u16) -> Result<T>) -> Result<(T, u16)> {
    let mut attempt = 1;
    loop {
        let port = free_port()?;
        match launch(port) {
            Ok(value) => return Ok((value, port)),
            Err(err) if err.is_port_race() && attempt < PORT_ATTEMPTS => attempt += 1,
            Err(err) => return Err(err),
        }
    }
}

/// The effective uid of this process, read from `/proc` because unsafe code
/// (and so `libc::geteuid`) is forbidden in this workspace.
pub(crate) fn effective_uid() -> Result<u32> {
    let path = "/proc/self/status";
    let status =
        fs::read_to_string(path).map_err(|source| TestkitError::io("read", path, source))?;
    parse_effective_uid(&status).ok_or_else(|| {
        let source = std::io::Error::new(std::io::ErrorKind::InvalidData, "no Uid line");
        TestkitError::io("parse", path, source)
    })
}

fn parse_effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    // "Uid: real effective saved filesystem"
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Looks `name` up in `/etc/passwd`; `None` when there is no such user.
pub(crate) fn system_user(name: &str) -> Result<Option<SystemUser>> {
    let path = "/etc/passwd";
    let passwd =
        fs::read_to_string(path).map_err(|source| TestkitError::io("read", path, source))?;
    Ok(parse_passwd(&passwd, name))
}

fn parse_passwd(passwd: &str, name: &str) -> Option<SystemUser> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let uid = fields.nth(1)?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some(SystemUser { uid, gid })
    })
}

/// Gives `path` to `user` with the `chown` command (no libc: unsafe code is
/// forbidden).
pub(crate) fn chown(path: &Path, user: SystemUser) -> Result<()> {
    let owner = format!("{}:{}", user.uid, user.gid);
    run(Command::new("chown").arg(owner).arg(path), None).map(drop)
}

/// Runs `cmd` to completion, feeding it `input` on stdin, and returns its
/// stdout; a non-zero exit is an error carrying its stderr.
pub(crate) fn run(cmd: &mut Command, input: Option<&str>) -> Result<String> {
    let command = describe(cmd);
    let stdin = if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    };
    cmd.stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| TestkitError::Spawn {
        command: command.clone(),
        source,
    })?;
    let output = thread::scope(|scope| {
        // Write from another thread: a client may fill its stdout pipe
        // before it has read all of its input.
        if let (Some(mut pipe), Some(text)) = (child.stdin.take(), input) {
            // A failed write shows up as the command's own failure.
            scope.spawn(move || pipe.write_all(text.as_bytes()));
        }
        child.wait_with_output()
    })
    .map_err(|source| TestkitError::Spawn {
        command: command.clone(),
        source,
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        let output_text = if stderr.is_empty() {
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        } else {
            stderr
        };
        return Err(TestkitError::CommandFailed {
            command,
            status: output.status,
            output: output_text,
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The program and its arguments, for error messages.
pub(crate) fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last lines of a log file written after `offset`, so an error shows
/// this attempt's complaint rather than an earlier one's.
pub(crate) fn log_tail(path: &Path, offset: u64) -> String {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => return format!("(could not read {}: {err})", path.display()),
    };
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    let text = String::from_utf8_lossy(&bytes[start..]);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}

/// The current length of a log file: where the next attempt's lines begin.
pub(crate) fn log_len(path: &Path) -> u64 {
    fs::metadata(path).map_or(0, |meta| meta.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_uid_is_the_second_number_of_the_uid_line() {
        let status = "Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t5\t5\t5\t5\n";
        assert_eq!(parse_effective_uid(status), Some(0));
        assert_eq!(parse_effective_uid("Name:\tx\n"), None);
    }

    #[test]
    fn passwd_lookup_reads_uid_and_gid_of_the_named_user() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n";
        assert_eq!(
            parse_passwd(passwd, "postgres"),
            Some(SystemUser { uid: 101, gid: 104 })
        );
        assert_eq!(parse_passwd(passwd, "post"), None);
    }

    #[test]
    fn a_missing_binary_names_itself_and_its_debian_package() {
        let search = SearchPath {
            dirs: vec![PathBuf::from("/nonexistent")],
            described: "PATH, /usr/sbin".to_owned(),
        };
        let err = search
            .find(&["mariadbd", "mysqld"], "mariadb-server")
            .expect_err("no binary in /nonexistent");
        assert_eq!(
            err.to_string(),
            "mariadbd or mysqld not found (looked in PATH, /usr/sbin): \
             install the Debian package mariadb-server"
        );
    }

    #[test]
    fn a_failing_command_reports_its_stderr() {
        let err = run(
            Command::new("sh").args(["-c", "echo boom >&2; exit 3"]),
            None,
        )
        .expect_err("exit 3 is a failure");
        let message = err.to_string();
        assert!(message.starts_with("sh -c echo boom"), "{message}");
        assert!(message.ends_with(": boom"), "{message}");
    }

    fn exited(log_tail: &str) -> TestkitError {
        use std::os::unix::process::ExitStatusExt;
        TestkitError::ServerExited {
            server: "mariadbd",
            status: std::process::ExitStatus::from_raw(1 << 8),
            log_tail: log_tail.to_owned(),
        }
    }

    #[test]
    fn a_lost_port_race_is_retried_on_another_port_up_to_three_times() {
        let mut ports = Vec::new();
        let err = with_free_port(|port| -> Result<()> {
            ports.push(port);
            Err(exited(
                "Bind on TCP/IP port. Got error: 98: Address already in use",
            ))
        })
        .expect_err("every attempt loses");
        assert!(err.is_port_race());
        assert_eq!(ports.len(), PORT_ATTEMPTS);

        let mut attempts = 0;
        let (value, _) = with_free_port(|_| {
            attempts += 1;
            match attempts {
                1 => Err(exited("Address already in use")),
                _ => Ok("started"),
            }
        })
        .expect("second attempt wins");
        assert_eq!((value, attempts), ("started", 2));
    }

    #[test]
    fn other_start_failures_are_not_retried() {
        let mut attempts = 0;
        let err = with_free_port(|_| -> Result<()> {
            attempts += 1;
            Err(exited("[ERROR] Aborting"))
        })
        .expect_err("fails");
        assert!(!err.is_port_race());
        assert_eq!(attempts, 1);
    }

    #[test]
    fn run_feeds_stdin_and_returns_stdout() {
        let out = run(&mut Command::new("cat"), Some("hello\n")).expect("cat runs");
        assert_eq!(out, "hello\n");
    }
}
