//! Where change events go. The [`Sink`] trait is the contract the pipeline
//! runtime drives; each connector is a folder of its own.

mod blocking;
mod check;
pub mod json;
pub mod jsonl;
pub mod kafka;
mod offsets;
pub mod postgres;
mod sink;
pub mod sqlite;

pub use sink::{Sink, SinkError};
