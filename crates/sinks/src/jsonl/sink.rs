//! The jsonl sink. For a file, exactly-once comes from a checkpoint file
//! beside it (`<path>.checkpoint`) holding the position and the file length
//! at the last flush: on open, anything after that length is an unflushed
//! tail from a killed process, and is cut off. Stdout has no checkpoint.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use watershed_events::{Check, Event, Position};

use super::config::JsonlConfig;
use crate::blocking::blocking;
use crate::json::JsonChange;
use crate::sink::{Sink, SinkError};

const BUFFER_BYTES: usize = 256 * 1024;

#[derive(Serialize, Deserialize)]
struct Checkpoint {
    pipeline: String,
    /// Bytes of the data file covered by `position`.
    bytes: u64,
    position: Option<serde_json::Value>,
}

enum Output {
    Stdout(BufWriter<std::io::Stdout>),
    File {
        writer: BufWriter<File>,
        written: u64,
    },
}

pub struct JsonlSink {
    config: JsonlConfig,
    pipeline: String,
    output: Option<Output>,
    line: Vec<u8>,
}

impl JsonlSink {
    pub fn new(config: JsonlConfig, pipeline: &str) -> Self {
        Self {
            config,
            pipeline: pipeline.to_owned(),
            output: None,
            line: Vec::new(),
        }
    }

    fn checkpoint_path(&self) -> PathBuf {
        let mut path = self.config.path.clone().into_os_string();
        path.push(".checkpoint");
        PathBuf::from(path)
    }

    fn open_sync(&mut self) -> Result<Option<Position>, SinkError> {
        self.output = None;
        if self.config.is_stdout() {
            self.output = Some(Output::Stdout(BufWriter::with_capacity(
                BUFFER_BYTES,
                std::io::stdout(),
            )));
            return Ok(None);
        }
        let path = self.config.path.clone();
        let checkpoint = self.read_checkpoint()?;
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| SinkError::Open {
                path: path.clone(),
                reason: e.into(),
            })?;
        let length = file.metadata().map_err(io_err("inspect", &path))?.len();
        let (bytes, position) = match checkpoint {
            Some(checkpoint) => (checkpoint.bytes, checkpoint.position),
            None if length == 0 => (0, None),
            None => {
                return Err(SinkError::Refused(format!(
                    "{} already holds data and has no checkpoint {}: it was not written by a \
                     watershed pipeline; choose another path or move the file away",
                    path.display(),
                    self.checkpoint_path().display()
                )));
            }
        };
        if length < bytes {
            return Err(SinkError::Refused(format!(
                "{} is shorter ({length} bytes) than its checkpoint says ({bytes} bytes): \
                 it was changed outside watershed; to write it again from the start, \
                 remove {} (and what is left of {})",
                path.display(),
                self.checkpoint_path().display(),
                path.display()
            )));
        }
        // Cut the tail a killed process wrote after its last flush.
        file.set_len(bytes).map_err(io_err("truncate", &path))?;
        let position = position
            .map(|value| Position::from_json(&value.to_string()))
            .transpose()
            .map_err(|source| SinkError::Checkpoint {
                location: self.checkpoint_path().display().to_string(),
                source,
            })?;
        let mut file = file;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0)).map_err(io_err("seek", &path))?;
        self.output = Some(Output::File {
            writer: BufWriter::with_capacity(BUFFER_BYTES, file),
            written: bytes,
        });
        if position.is_none() {
            self.write_checkpoint(bytes, None)?;
        }
        Ok(position)
    }

    fn read_checkpoint(&self) -> Result<Option<Checkpoint>, SinkError> {
        let path = self.checkpoint_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        let checkpoint: Checkpoint = serde_json::from_str(&text).map_err(|e| {
            SinkError::Refused(format!("checkpoint {} is unreadable: {e}", path.display()))
        })?;
        if checkpoint.pipeline != self.pipeline {
            return Err(SinkError::Refused(format!(
                "{} belongs to pipeline `{}`, not `{}`",
                self.config.path.display(),
                checkpoint.pipeline,
                self.pipeline
            )));
        }
        Ok(Some(checkpoint))
    }

    /// Replaces the checkpoint file atomically (write, then rename).
    fn write_checkpoint(&self, bytes: u64, position: Option<&Position>) -> Result<(), SinkError> {
        let path = self.checkpoint_path();
        let position = position.map(|p| serde_json::to_value(p).unwrap_or_default());
        let checkpoint = Checkpoint {
            pipeline: self.pipeline.clone(),
            bytes,
            position,
        };
        let text = serde_json::to_string(&checkpoint).unwrap_or_default();
        let mut temporary = path.clone().into_os_string();
        temporary.push(".tmp");
        std::fs::write(&temporary, text).map_err(io_err("write", &path))?;
        std::fs::rename(&temporary, &path).map_err(io_err("replace", &path))
    }

    fn write_sync(&mut self, events: &[Event]) -> Result<(), SinkError> {
        let path = self.config.path.clone();
        let Some(output) = self.output.as_mut() else {
            return Err(SinkError::Refused("jsonl sink used before open".into()));
        };
        for event in events {
            self.line.clear();
            match event {
                Event::Change(change) => serde_json::to_writer(&mut self.line, &JsonChange(change)),
                Event::DeadLetter(letter) => serde_json::to_writer(
                    &mut self.line,
                    &serde_json::json!({ "dead_letter": {
                        "topic": letter.origin,
                        "partition": letter.partition,
                        "offset": letter.offset,
                        "key": letter.key.as_deref().map(String::from_utf8_lossy),
                        "value": letter.value.as_deref().map(String::from_utf8_lossy),
                        "error": letter.error,
                    }}),
                ),
                Event::Begin(_) | Event::Commit(_) | Event::Schema(_) => continue,
                Event::State(state) => return Err(crate::sink::no_state(&state.scope)),
            }
            .map_err(|e| SinkError::Refused(format!("render change as JSON: {e}")))?;
            self.line.push(b'\n');
            let result = match output {
                Output::Stdout(writer) => writer.write_all(&self.line),
                Output::File { writer, written } => {
                    *written += self.line.len() as u64;
                    writer.write_all(&self.line)
                }
            };
            result.map_err(|source| SinkError::Io {
                context: "write",
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    fn flush_sync(&mut self, position: &Position) -> Result<(), SinkError> {
        let path = self.config.path.clone();
        match self.output.as_mut() {
            Some(Output::Stdout(writer)) => writer.flush().map_err(io_err("write", &path)),
            Some(Output::File { writer, written }) => {
                let written = *written;
                writer.flush().map_err(io_err("write", &path))?;
                writer
                    .get_ref()
                    .sync_data()
                    .map_err(io_err("sync", &path))?;
                self.write_checkpoint(written, Some(position))
            }
            None => Err(SinkError::Refused("jsonl sink used before open".into())),
        }
    }
}

impl JsonlSink {
    /// Preflight: the file can be written and its checkpoint is readable.
    pub fn check(&self) -> Vec<Check> {
        if self.config.is_stdout() {
            return vec![Check::ok("sink", "writes to stdout")];
        }
        let mut checks = vec![crate::check::folder_writable(
            "sink.path writable",
            &self.config.path,
        )];
        checks.push(match self.read_checkpoint() {
            Ok(Some(checkpoint)) => Check::ok(
                "sink checkpoint",
                format!("{} bytes committed", checkpoint.bytes),
            ),
            Ok(None) => Check::ok(
                "sink checkpoint",
                "no checkpoint yet: starts from the beginning",
            ),
            Err(e) => Check::fail(
                "sink checkpoint",
                e.to_string(),
                "move the file away or fix its checkpoint",
            ),
        });
        checks
    }
}

impl Sink for JsonlSink {
    async fn open(&mut self) -> Result<Option<Position>, SinkError> {
        blocking(|| self.open_sync())
    }

    async fn write(&mut self, events: &[Event]) -> Result<(), SinkError> {
        blocking(|| self.write_sync(events))
    }

    async fn flush(&mut self, position: &Position) -> Result<(), SinkError> {
        blocking(|| self.flush_sync(position))
    }
}

fn io_err(context: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SinkError {
    let path = path.to_path_buf();
    move |source| SinkError::Io {
        context,
        path,
        source,
    }
}
