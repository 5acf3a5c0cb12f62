//! A play's hosts cut into `serial` batches. A templated `serial` is
//! rendered first, as Ansible renders it when the play starts: with the
//! play's `vars` and `vars_files` and the extra vars, and no host's
//! variables (not even the inventory's `all` group).

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::outcome::Map;
use crate::error::Error;
use crate::playbook::{Play, Serial, SerialSpec, rendered_sizes};
use crate::templating::{Templar, Vars};

/// What a play's batches are made from.
pub struct BatchInput<'p> {
    pub play: &'p Play,
    pub playbook_dir: &'p Path,
    pub templar: &'p Templar,
    pub extra_vars: &'p Map,
}

/// The play's hosts (inventory positions, in order) in batches.
pub fn batches(input: &BatchInput<'_>, hosts: &[usize]) -> Result<Vec<Vec<usize>>, Error> {
    let sizes = match &input.play.serial {
        SerialSpec::Sizes(sizes) => sizes.clone(),
        SerialSpec::Template { value, loc } => {
            let rendered = input
                .templar
                .render_value(value, &play_level_vars(input))
                .map_err(|e| Error::at(loc, format!("serial: {e}")))?;
            rendered_sizes(&rendered, value, loc)?
        }
    };
    Ok(cut(hosts, &sizes))
}

/// The play's `vars`, its `vars_files` and the extra vars, in Ansible's
/// order. A vars file whose name needs a host's variables, or that cannot
/// be read, is left out here: each host reads the play's vars files when
/// it starts, and reports what it cannot read.
fn play_level_vars(input: &BatchInput<'_>) -> Vars {
    let play_vars = Arc::new(input.play.vars.clone());
    let extra = Arc::new(input.extra_vars.clone());
    let layered = |files: &Map| {
        let mut vars = Vars::new();
        vars.push_layer(play_vars.clone());
        vars.push_layer(Arc::new(files.clone()));
        vars.push_layer(extra.clone());
        vars
    };
    let mut files = Map::new();
    for (name, _) in &input.play.vars_files {
        let Ok(file) = input.templar.render_str(name, &layered(&files)) else {
            continue;
        };
        let path = input.playbook_dir.join(file);
        if let Ok(node) = crate::yaml::load_file(&path) {
            if let Value::Object(m) = node.to_value() {
                files.extend(m);
            }
        }
    }
    layered(&files)
}

/// Hosts cut into batches of the given sizes (the last size repeats).
fn cut(hosts: &[usize], serial: &[Serial]) -> Vec<Vec<usize>> {
    if serial.is_empty() {
        return vec![hosts.to_vec()];
    }
    let total = hosts.len();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while start < total {
        let size = match &serial[i.min(serial.len() - 1)] {
            Serial::Count(n) => *n,
            Serial::Percent(p) => (total as f64 * p / 100.0) as usize,
            Serial::Rest => total - start,
        }
        .max(1);
        let end = (start + size).min(total);
        out.push(hosts[start..end].to_vec());
        start = end;
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_batches() {
        let hosts: Vec<usize> = (0..5).collect();
        assert_eq!(cut(&hosts, &[]), vec![hosts.clone()]);
        assert_eq!(
            cut(&hosts, &[Serial::Count(2)]),
            vec![vec![0, 1], vec![2, 3], vec![4]]
        );
        assert_eq!(
            cut(&hosts, &[Serial::Count(1), Serial::Percent(50.0)]),
            vec![vec![0], vec![1, 2], vec![3, 4]]
        );
        // A size of 0 or less (from a template) takes every host left.
        assert_eq!(
            cut(&hosts, &[Serial::Count(1), Serial::Rest]),
            vec![vec![0], vec![1, 2, 3, 4]]
        );
    }
}
