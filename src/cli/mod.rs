//! The command line: `tend run | validate | graph | inventory`.

mod args;
mod connection;
mod extra_vars;
mod graph;
mod run;
mod validate;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command};

/// Exit code when the run could not start: usage, parse or validation error.
pub const EXIT_INVALID: u8 = 1;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run(a) => run::run(a),
        Command::Validate(a) => validate::validate(a),
        Command::Graph(a) => graph::graph(a),
        Command::Inventory(a) => run::inventory(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}
