//! `tend graph`: the task graph as Graphviz DOT.

use crate::error::Error;
use crate::graph::TaskGraph;
use crate::inventory::Inventory;

use super::args::GraphArgs;

pub fn graph(args: &GraphArgs) -> Result<u8, Error> {
    let inventory = Inventory::load(&args.common.inventory)?;
    let playbook = crate::playbook::load_playbook(&args.common.playbook)?;
    crate::validate::check(&playbook, &inventory)?;
    for (i, play) in playbook.plays.iter().enumerate() {
        let hosts = inventory.select(args.common.limit.as_deref().unwrap_or(&play.hosts));
        if let Some(h) = &args.host {
            if !hosts.contains(h) {
                continue;
            }
        }
        let title = match (&args.host, &play.name) {
            (Some(h), Some(n)) => format!("{n} ({h})"),
            (Some(h), None) => format!("play {} ({h})", i + 1),
            (None, Some(n)) => n.clone(),
            (None, None) => format!("play {}", i + 1),
        };
        print!("{}", TaskGraph::of_play(play)?.to_dot(&title));
    }
    Ok(0)
}
