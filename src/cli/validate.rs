//! `tend validate`: every check `tend run` makes before touching a host.

use crate::error::Error;
use crate::inventory::Inventory;

use super::args::PlaybookArgs;
use super::extra_vars;

pub fn validate(args: &PlaybookArgs) -> Result<u8, Error> {
    super::vault::unlock(&args.vault)?;
    let inventory = Inventory::load(&args.inventory)?;
    let playbook = crate::playbook::load_playbook(&args.playbook)?;
    extra_vars::parse_all(&args.extra_vars)?;
    crate::validate::check(&playbook, &inventory)?;
    let tasks: usize = playbook
        .plays
        .iter()
        .map(crate::validate::count_tasks)
        .sum();
    println!(
        "{}: {} play(s), {} task(s), {} host(s) in the inventory: OK",
        args.playbook.display(),
        playbook.plays.len(),
        tasks,
        inventory.hosts().len()
    );
    Ok(0)
}
