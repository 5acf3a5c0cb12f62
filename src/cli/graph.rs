//! `tend graph`: the task graph as Graphviz DOT.

use crate::error::Error;
use crate::graph::TaskGraph;
use crate::inventory::Inventory;

use super::args::GraphArgs;

pub fn graph(args: &GraphArgs) -> Result<u8, Error> {
    super::vault::unlock(&args.common.vault)?;
    let inventory = Inventory::load(&args.common.inventory)?;
    let playbook = crate::playbook::load_playbook(&args.common.playbook)?;
    crate::validate::check(&playbook, &inventory)?;
    if let Some(h) = &args.host {
        if !inventory.has_host(h) && !inventory.is_implicit_localhost(h) {
            return Err(Error::plain(format!(
                "--host {h}: no such host in the inventory"
            )));
        }
    }
    let plays: Vec<(usize, &crate::playbook::Play)> = playbook
        .plays
        .iter()
        .enumerate()
        .filter(|(_, play)| {
            let hosts = inventory.select(args.common.limit.as_deref().unwrap_or(&play.hosts));
            args.host.as_ref().is_none_or(|h| hosts.contains(h))
        })
        .collect();
    let title = |i: usize, play: &crate::playbook::Play| {
        let name = play
            .name
            .clone()
            .unwrap_or_else(|| format!("play {}", i + 1));
        match &args.host {
            Some(h) => format!("{name} ({h})"),
            None => name,
        }
    };
    if let [(i, play)] = plays[..] {
        print!("{}", TaskGraph::of_play(play)?.to_dot(&title(i, play)));
        return Ok(0);
    }
    // Several plays: one digraph, a cluster per play, so that
    // `tend graph ... | dot -Tsvg` still gives one picture.
    let mut dot = format!(
        "digraph \"{}\" {{\n  rankdir=TB;\n  node [shape=box];\n",
        args.common.playbook.display()
    );
    for (i, play) in plays {
        dot.push_str(&TaskGraph::of_play(play)?.to_dot_cluster(&format!("p{i}"), &title(i, play)));
    }
    dot.push_str("}\n");
    print!("{dot}");
    Ok(0)
}
