//! A whole playbook run: every play in order, hosts remembered across
//! plays, the recap at the end.

use std::sync::Arc;

use serde_json::Value;

use super::failures::Marked;
use super::host::HostMemory;
use super::hostvars::HostvarsTable;
use super::options::{ConnectionOptions, RunOptions};
use super::outcome::Map;
use super::play::{PlayEnd, PlayInput, run_play};
use crate::error::Error;
use crate::inventory::Inventory;
use crate::playbook::Playbook;
use crate::report::Reporter;
use crate::templating::Templar;
use crate::transport::{Local, Ssh, SshSettings, Transport, Unsupported};

/// How the run went, for the exit code.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunSummary {
    pub changed: bool,
    pub failed: bool,
    pub unreachable: bool,
}

pub fn run_playbook(
    playbook: &Playbook,
    inventory: &Inventory,
    opts: &RunOptions,
    reporter: &mut dyn Reporter,
) -> Result<RunSummary, Error> {
    if let Some(limit) = &opts.limit {
        if inventory.select(limit).is_empty() {
            return Err(Error::plain(format!(
                "--limit {limit}: the inventory, host pattern and --limit leave no hosts to target"
            )));
        }
    }
    let templar = Templar::new();
    let local = Arc::new(Local::new());
    let hostvars = Arc::new(HostvarsTable::with_extra_vars(opts.extra_vars.clone()));
    let mut names: Vec<String> = inventory.hosts().into_iter().map(str::to_string).collect();
    if !names.iter().any(|h| h == "localhost") {
        names.push("localhost".into());
    }
    let mut memories = Vec::new();
    // Connection variables: the inventory's, under extra vars (which win in Ansible too).
    let mut connection_vars = Vec::new();
    for name in names {
        let vars = inventory.host_vars(&name, std::slice::from_ref(&playbook.dir))?;
        let mut conn = vars.clone();
        conn.extend(opts.extra_vars.clone());
        let conn = templated(&templar, &conn);
        register_passwords(&conn);
        let transport = transport_for(&name, &conn, &opts.connection);
        connection_vars.push((conn, None::<String>));
        let mem = HostMemory {
            name: name.clone(),
            transport,
            inventory_vars: Arc::new(vars),
            facts: Arc::new(Map::new()),
            host_facts: Arc::new(Map::new()),
            stats: Default::default(),
            unreachable: false,
            failed: false,
            marked: Marked::No,
            would_change: None,
        };
        let mut view = (*mem.inventory_vars).clone();
        view.insert("inventory_hostname".into(), Value::String(name.clone()));
        hostvars.set(&name, Arc::new(view));
        memories.push(mem);
    }
    let mut touched = vec![false; memories.len()];
    for play in &playbook.plays {
        // A play's `remote_user` applies where the inventory names no user.
        for (mem, (conn, applied)) in memories.iter_mut().zip(connection_vars.iter_mut()) {
            let wanted = match conn.get("ansible_user") {
                Some(_) => None,
                None => play.keywords.remote_user.clone(),
            };
            if wanted != *applied {
                let mut vars = conn.clone();
                if let Some(user) = &wanted {
                    vars.insert("ansible_user".into(), Value::String(user.clone()));
                }
                mem.transport = transport_for(&mem.name, &vars, &opts.connection);
                *applied = wanted;
            }
        }
        let before: Vec<_> = memories.iter().map(|m| m.stats).collect();
        let end = run_play(
            PlayInput {
                play,
                playbook_dir: &playbook.dir,
                inventory,
                templar: &templar,
                opts,
                hostvars: hostvars.clone(),
                local: local.clone(),
            },
            &mut memories,
            reporter,
        )?;
        let stop = end == PlayEnd::StopRun;
        for (i, m) in memories.iter().enumerate() {
            if m.stats != before[i] {
                touched[i] = true;
            }
        }
        if stop {
            break;
        }
    }
    let shown: Vec<&HostMemory> = memories
        .iter()
        .zip(&touched)
        .filter(|(_, t)| **t)
        .map(|(m, _)| m)
        .collect();
    let stats: Vec<(String, super::HostStats)> =
        shown.iter().map(|m| (m.name.clone(), m.stats)).collect();
    let traffic: Vec<(String, (u64, u64, u64))> = shown
        .iter()
        .map(|m| (m.name.clone(), m.transport.counters().snapshot()))
        .collect();
    reporter.recap(&stats, &traffic);
    Ok(RunSummary {
        changed: stats.iter().any(|(_, s)| s.changed > 0),
        // A host failed by another's any_errors_fatal shows no failure, yet
        // fails Ansible's run once a later batch or play has started.
        failed: stats.iter().any(|(_, s)| s.failed > 0)
            || memories.iter().any(|m| m.marked == Marked::Carried),
        unreachable: stats.iter().any(|(_, s)| s.unreachable > 0),
    })
}

/// `ansible_connection: local` (and localhost) run here; everything else
/// goes over SSH. A host whose settings cannot be resolved gets a transport
/// that fails with the reason, so it ends UNREACHABLE and the others go on.
fn transport_for(name: &str, vars: &Map, opts: &ConnectionOptions) -> Arc<dyn Transport> {
    let connection = vars.get("ansible_connection").and_then(Value::as_str);
    match connection {
        // Each host gets its own local transport, so that its traffic is counted apart.
        Some("local") => Arc::new(Local::new()),
        None if matches!(name, "localhost" | "127.0.0.1" | "::1") => Arc::new(Local::new()),
        None | Some("ssh") | Some("smart") | Some("paramiko") => {
            match SshSettings::resolve(name, vars, opts.ssh_config.as_deref()) {
                Ok(mut settings) => {
                    if let Some(policy) = opts.host_key_checking {
                        settings.host_key_checking = policy;
                    }
                    if settings.key_passphrase.is_none() {
                        settings.key_passphrase = opts.key_passphrase.clone();
                    }
                    if settings.become_password.is_none() {
                        settings.become_password = opts.become_password.clone();
                    }
                    if let Some(secs) = opts.command_timeout {
                        settings.command_timeout = Some(std::time::Duration::from_secs(secs));
                    }
                    Arc::new(Ssh::new(settings))
                }
                Err(message) => Arc::new(Unsupported::with_message(format!(
                    "cannot reach {name}: {message}"
                ))),
            }
        }
        Some(other) => Arc::new(Unsupported::new(name, other)),
    }
}

/// Connection and become passwords never appear in output, whatever the
/// connection: a local host's `ansible_become_password` is a variable
/// like any other, which a task may print or a command may echo.
fn register_passwords(vars: &Map) {
    const PASSWORDS: &[&str] = &[
        "ansible_become_password",
        "ansible_become_pass",
        "ansible_sudo_password",
        "ansible_sudo_pass",
        "ansible_password",
        "ansible_ssh_pass",
        "ansible_ssh_password",
    ];
    for name in PASSWORDS {
        if let Some(Value::String(p)) = vars.get(*name) {
            crate::redact::register(p);
        }
    }
}

/// Inventory variables with their templates rendered (`ansible_host:
/// "{{ ip }}"`), for the connection settings. What cannot be rendered is
/// left as written; the run reports it when a task uses it.
fn templated(templar: &Templar, vars: &Map) -> Map {
    let mut scope = crate::templating::Vars::new();
    scope.push_layer(Arc::new(vars.clone()));
    let mut out = vars.clone();
    for (k, v) in vars {
        if k.starts_with("ansible_") {
            if let Ok(r) = templar.render_value(v, &scope) {
                out.insert(k.clone(), r);
            }
        }
    }
    out
}
