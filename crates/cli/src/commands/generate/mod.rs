//! `watershed gen`: test data, live workloads and event streams.

mod data;
mod events;
mod workload;

use crate::args::{GenCommand, GenEventsCommand, GlobalArgs};
use crate::exit::Failure;

pub async fn generate(command: &GenCommand, global: &GlobalArgs) -> Result<(), Failure> {
    match command {
        GenCommand::Data(args) => data::data(args, global).await,
        GenCommand::Workload(args) => workload::workload(args, global).await,
        GenCommand::Events {
            stream: GenEventsCommand::Heartbeat(args),
        } => events::heartbeat(args, global).await,
    }
}

/// Resolves on Ctrl-C (never, if the handler cannot be installed).
async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
