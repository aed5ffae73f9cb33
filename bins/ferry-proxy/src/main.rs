//! `ferry-proxy`: the dual-write proxy's command line. See `--help` and
//! docs/proxy.md.

mod cli;
mod commands;
mod settings;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferry-proxy: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            None => commands::run_proxy(cli.proxy).await,
            Some(Command::Replay(args)) => commands::replay(*args).await,
            Some(Command::Dump { log }) => commands::dump(&log),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ferry-proxy: {e:#}");
            ExitCode::from(2)
        }
    }
}
