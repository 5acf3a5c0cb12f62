//! `tend run` and `tend inventory`.

use crate::drift::{DriftOptions, DriftRun};
use crate::engine::{RunOptions, run_playbook};
use crate::error::Error;
use crate::inventory::Inventory;
use crate::report::{Human, Json, Reporter};

use super::args::{Format, InventoryArgs, RunArgs};
use super::extra_vars;

pub fn run(args: &RunArgs) -> Result<u8, Error> {
    let common = &args.common;
    super::vault::unlock(&common.vault)?;
    let inventory = Inventory::load(&common.inventory)?;
    let playbook = crate::playbook::load_playbook(&common.playbook)?;
    crate::validate::check(&playbook, &inventory)?;
    let opts = RunOptions {
        check: args.check,
        // A drift run's summary shows what drifted as diffs.
        diff: args.diff || args.drift,
        limit: common.limit.clone(),
        tags: split_list(&args.select.tags),
        skip_tags: split_list(&args.select.skip_tags),
        forks: args.select.forks,
        verbosity: args.verbose,
        force_handlers: args.force_handlers,
        extra_vars: extra_vars::parse_all(&common.extra_vars)?,
        connection: super::connection::options(&args.connection)?,
        plan_hook: None,
    };
    if args.drift {
        let what = DriftRun {
            playbook: &common.playbook,
            inventories: &common.inventory,
            check: args.check,
        };
        let drift = DriftOptions {
            state_dir: args.state_dir.clone(),
            keep_reports: args.keep_reports,
            metrics_file: args.metrics_file.clone(),
            splay: args.splay,
        };
        return crate::drift::run(&what, &drift, |reporter| {
            run_playbook(&playbook, &inventory, &opts, reporter)
        });
    }
    let mut reporter: Box<dyn Reporter> = match args.format {
        Format::Human => Box::new(Human::stdout(args.verbose)),
        Format::Json => Box::new(Json::default()),
    };
    let summary = run_playbook(&playbook, &inventory, &opts, reporter.as_mut())?;
    let trouble = summary.failed || summary.unreachable;
    Ok(if args.detailed_exitcodes {
        (if summary.changed { 2 } else { 0 }) | (if trouble { 4 } else { 0 })
    } else if summary.failed {
        2
    } else if summary.unreachable {
        4
    } else {
        0
    })
}

pub fn inventory(args: &InventoryArgs) -> Result<u8, Error> {
    super::vault::unlock(&args.vault)?;
    let inventory = Inventory::load(&args.inventory)?;
    if let Some(host) = &args.host {
        if !inventory.hosts().contains(&host.as_str()) {
            return Err(Error::plain(format!(
                "the host '{host}' is not in the inventory"
            )));
        }
        let mut vars = inventory.host_json(host)?;
        // Vault values show masked, as ansible-inventory hides them too.
        crate::redact::redact_value(&mut vars);
        println!(
            "{}",
            serde_json::to_string_pretty(&vars).unwrap_or_default()
        );
    } else if args.graph {
        print!("{}", inventory.to_graph());
    } else {
        let mut list = inventory.to_list_json();
        crate::redact::redact_value(&mut list);
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
    }
    Ok(0)
}

/// Comma-separated values given once or repeated (`-t a,b -t c`).
pub(super) fn split_list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|t| t.split(','))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}
