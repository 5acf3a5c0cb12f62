//! The command-line grammar.

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::plan::{ApplyArgs, PlanArgs};
use super::vault::{VaultArgs, VaultCommand};

#[derive(Parser, Debug)]
#[command(
    name = "tend",
    version,
    about = "Converge hosts with Ansible-style playbooks, agentless."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Converge the hosts of a playbook.
    Run(Box<RunArgs>),
    /// Check a playbook and inventory without contacting any host.
    Validate(PlaybookArgs),
    /// Print the task graph of a playbook as Graphviz DOT.
    Graph(GraphArgs),
    /// Show an inventory (`--list`, `--graph`, `--host H`).
    Inventory(InventoryArgs),
    /// Check what a playbook would change and save it as a plan.
    Plan(PlanArgs),
    /// Apply a saved plan, refusing what no longer matches the hosts.
    Apply(ApplyArgs),
    /// Encrypt and decrypt Ansible Vault files and strings.
    Vault(VaultCommand),
    /// Run a playbook from cron, correcting drift (`install`, `remove`).
    Cron(super::cron::CronArgs),
}

#[derive(Args, Debug, Clone)]
pub struct PlaybookArgs {
    /// The playbook file.
    pub playbook: std::path::PathBuf,
    /// Inventory file, directory, or comma-separated host list (repeatable).
    #[arg(short = 'i', long = "inventory")]
    pub inventory: Vec<String>,
    /// Extra variables: `key=value`, `@file.yml` or JSON (repeatable; highest precedence).
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,
    /// Only hosts matching this pattern.
    #[arg(short = 'l', long)]
    pub limit: Option<String>,
    #[command(flatten)]
    pub vault: VaultArgs,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: PlaybookArgs,
    /// Change nothing; report what would change.
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Show changes as diffs.
    #[arg(short = 'D', long)]
    pub diff: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Run notified handlers on a host even after it failed.
    #[arg(long)]
    pub force_handlers: bool,
    /// More detail (-v shows results, traffic per host).
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 0 when nothing changed, 2 when something changed, 4 when a host
    /// failed or was unreachable, 6 for both.
    #[arg(long)]
    pub detailed_exitcodes: bool,
    /// A drift run, for cron: one at a time (a lock), silent when in sync, a
    /// summary with diffs otherwise, a JSON report in the state directory.
    /// Implies --detailed-exitcodes; exits 75 if another run holds the lock.
    #[arg(long)]
    pub drift: bool,
    /// Where drift runs keep locks and reports (default: /var/lib/tend for
    /// root, $XDG_STATE_HOME/tend otherwise).
    #[arg(long, value_name = "DIR", requires = "drift")]
    pub state_dir: Option<std::path::PathBuf>,
    /// How many drift reports to keep.
    #[arg(long, value_name = "N", default_value_t = 50, requires = "drift")]
    pub keep_reports: usize,
    /// Write Prometheus textfile metrics of the drift run here.
    #[arg(long, value_name = "PATH", requires = "drift")]
    pub metrics_file: Option<std::path::PathBuf>,
    /// Wait a random time up to this many seconds before a drift run.
    #[arg(long, value_name = "SECONDS", default_value_t = 0, requires = "drift")]
    pub splay: u64,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Which tasks run, and on how many hosts at once: `run` and `plan`.
#[derive(Args, Debug, Clone)]
pub struct SelectArgs {
    /// Only tasks with these tags (comma-separated, repeatable).
    #[arg(short = 't', long = "tags")]
    pub tags: Vec<String>,
    /// Skip tasks with these tags (comma-separated, repeatable).
    #[arg(long = "skip-tags")]
    pub skip_tags: Vec<String>,
    /// Hosts worked on at once (default: every host of the batch).
    #[arg(short = 'f', long, default_value_t = 0)]
    pub forks: usize,
}

/// How to reach hosts over SSH.
#[derive(Args, Debug, Clone, Default)]
pub struct ConnectionArgs {
    /// Read this ssh config file instead of ~/.ssh/config.
    #[arg(long, value_name = "FILE")]
    pub ssh_config: Option<std::path::PathBuf>,
    /// Host key policy: strict (the default: unknown hosts are refused),
    /// accept-new (learn unknown hosts, refuse changed keys), or off.
    #[arg(long, value_name = "POLICY")]
    pub host_key_checking: Option<String>,
    /// Read the passphrase of encrypted private keys from this file.
    #[arg(long, value_name = "FILE")]
    pub private_key_passphrase_file: Option<std::path::PathBuf>,
    /// Ask for the become (sudo) password.
    #[arg(short = 'K', long)]
    pub ask_become_pass: bool,
    /// Read the become (sudo) password from this file.
    #[arg(long, value_name = "FILE")]
    pub become_password_file: Option<std::path::PathBuf>,
    /// Give up on a single command on a host after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub command_timeout: Option<u64>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct GraphArgs {
    #[command(flatten)]
    pub common: PlaybookArgs,
    /// The graph of this host only.
    #[arg(long)]
    pub host: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct InventoryArgs {
    #[arg(short = 'i', long = "inventory")]
    pub inventory: Vec<String>,
    /// Every group and host with their variables, as JSON.
    #[arg(long, group = "mode")]
    pub list: bool,
    /// The group tree.
    #[arg(long, group = "mode")]
    pub graph: bool,
    /// One host's variables, as JSON.
    #[arg(long, group = "mode")]
    pub host: Option<String>,
    #[command(flatten)]
    pub vault: VaultArgs,
}
