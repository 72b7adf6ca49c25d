//! Where change events come from. The [`Source`] trait is the contract the
//! pipeline runtime drives; each connector is a folder of its own.

pub mod generator;
pub mod kafka;
pub mod mysql;
mod source;

pub use source::{ControlError, Source, SourceError};
