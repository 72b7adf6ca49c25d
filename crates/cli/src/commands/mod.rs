//! One function per command; each returns a [`Failure`] that carries its
//! exit code.

mod check;
mod demo;
mod generate;
mod http;
mod pipeline;
mod run;
mod schema;
mod status;
mod table;
mod validate;
mod verify;

use crate::args::{Cli, Command};
use crate::exit::Failure;

pub async fn dispatch(cli: Cli, run_id: String) -> Result<(), Failure> {
    match cli.command {
        Command::Run { config, dry_run } => run::run(&config, dry_run, &cli.global, &run_id).await,
        Command::Check { config } => check::check(&config, &cli.global).await,
        Command::Verify { config } => verify::verify(&config, &cli.global).await,
        Command::Status { url } => status::status(url.as_deref(), &cli.global).await,
        Command::Validate { config } => validate::validate(&config, &cli.global),
        Command::Table { command } => {
            let target = command.target();
            table::table(
                &command,
                &target.config,
                &target.table,
                target.url.as_deref(),
                &cli.global,
            )
            .await
        }
        Command::Schema { command } => schema::schema(&command, &cli.global),
        Command::Gen { command } => generate::generate(&command, &cli.global).await,
        Command::Demo {
            duration,
            rate,
            sqlite_path,
        } => demo::demo(duration, &rate, &sqlite_path, &cli.global, &run_id).await,
    }
}
