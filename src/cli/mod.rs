//! The command line: `tend run | validate | graph | inventory | plan | apply | cron | vault`.

mod args;
mod connection;
mod cron;
mod extra_vars;
mod graph;
mod plan;
mod run;
mod validate;
mod vault;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command};

/// Exit code when the run could not start: usage, parse or validation error.
pub const EXIT_INVALID: u8 = 1;

pub fn main() -> ExitCode {
    // A usage error exits 1 like every other reason a run cannot start
    // (clap's own code, 2, would read as "a host failed").
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.use_stderr() {
                true => ExitCode::from(EXIT_INVALID),
                false => ExitCode::SUCCESS, // --help, --version
            };
        }
    };
    let result = match &cli.command {
        Command::Run(a) => run::run(a),
        Command::Validate(a) => validate::validate(a),
        Command::Graph(a) => graph::graph(a),
        Command::Inventory(a) => run::inventory(a),
        Command::Plan(a) => plan::plan(a),
        Command::Apply(a) => plan::apply(a),
        Command::Vault(a) => vault::vault(a),
        Command::Cron(a) => cron::cron(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", crate::redact::redact(&e.to_string()));
            ExitCode::from(EXIT_INVALID)
        }
    }
}
