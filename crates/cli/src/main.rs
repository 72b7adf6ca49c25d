//! The `watershed` binary: parse the command line, set up logging, call the
//! library, turn the outcome into an exit code. No business logic here.

mod args;
mod commands;
mod exit;
mod logging;
mod output;
mod process;
mod serve;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    process::settle_allocator();
    let args = args::Cli::parse();
    let run_id = process::new_run_id();
    logging::init(args.global.log_format, &run_id);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return exit::report(exit::Failure::runtime(e.into())),
    };
    match runtime.block_on(commands::dispatch(args, run_id)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => exit::report(failure),
    }
}
