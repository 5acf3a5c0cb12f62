//! Running one play: choose its hosts, cut them into `serial` batches, walk
//! every host of a batch on its own thread (up to `--forks` at once), and
//! print what they did in playbook order.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::batches::{BatchInput, batches};
use super::failures::{BatchFailures, Marked};
use super::host::{HostMemory, HostRun};
use super::hostvars::HostvarsTable;
use super::lockstep::Lockstep;
use super::options::RunOptions;
use super::outcome::{Map, Outcome};
use super::run_once::RunOnce;
use crate::error::Error;
use crate::inventory::Inventory;
use crate::playbook::{Item, Play, RoleScope};
use crate::report::Reporter;
use crate::templating::Templar;
use crate::transport::{Local, Transport};

/// A task's position in the play, compared in order: sections, list
/// indices, block parts, included files, handlers after their flush point.
pub type SitePath = Vec<u32>;

/// The stack of each host's thread: as large as the main thread's, since a
/// host's walk recurses through nested blocks and includes (bounded by
/// include.rs) and templates.
const HOST_STACK: usize = 8 << 20;

/// What host threads tell the printer.
pub enum Event {
    Result {
        host: usize,
        path: SitePath,
        header: String,
        outcome: Box<Outcome>,
    },
    Included {
        host: usize,
        path: SitePath,
        header: String,
        file: String,
    },
    Retry {
        host: usize,
        task: String,
        left: u32,
        result: Box<Map>,
    },
    HostDone {
        host: usize,
    },
}

/// What every host thread of a play shares.
pub struct PlayCtx<'p> {
    pub play: &'p Play,
    pub playbook_dir: PathBuf,
    pub inventory: &'p Inventory,
    pub templar: &'p Templar,
    pub opts: &'p RunOptions,
    pub play_vars: Arc<Map>,
    pub extra_vars: Arc<Map>,
    /// Magic variables that are the same for every host of the play.
    pub magic: Arc<Map>,
    pub hostvars: Arc<HostvarsTable>,
    pub events: Sender<Event>,
    pub local: Arc<Local>,
    pub transports: HashMap<String, Arc<dyn Transport>>,
    aborted: AtomicBool,
    /// The task where the play ended (the earliest, if several hosts
    /// ended it at once).
    aborted_at: Mutex<Option<SitePath>>,
    pub failures: BatchFailures,
    pub run_once: RunOnce,
    pub lockstep: Lockstep,
    includes: Mutex<HashMap<PathBuf, Arc<Vec<Item>>>>,
}

impl PlayCtx<'_> {
    pub fn aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }

    /// Ends the play at the task at `path`: as in Ansible, every host of
    /// the batch still finishes that task, and none starts a later one.
    pub fn abort_at(&self, path: &SitePath) {
        let mut at = self.aborted_at.lock().unwrap_or_else(|e| e.into_inner());
        if at.as_ref().is_none_or(|a| path < a) {
            *at = Some(path.clone());
        }
        self.aborted.store(true, Ordering::SeqCst);
    }

    /// Whether the play ended at a task before the one at `path`.
    pub fn aborted_before(&self, path: &SitePath) -> bool {
        if !self.aborted() {
            return false;
        }
        let at = self.aborted_at.lock().unwrap_or_else(|e| e.into_inner());
        at.as_ref().is_none_or(|a| a < path)
    }

    /// The transport for `delegate_to`: localhost, or an inventory host.
    pub fn transport_for(&self, host: &str) -> Option<Arc<dyn Transport>> {
        if matches!(host, "localhost" | "127.0.0.1" | "::1") {
            return Some(self.local.clone());
        }
        self.transports.get(host).cloned()
    }

    /// Makes a host's current variables visible to others as `hostvars[host]`.
    pub fn publish_hostvars(&self, host: &str, mem: &HostMemory) {
        let mut view = (*mem.inventory_vars).clone();
        view.extend(mem.facts.as_ref().clone());
        view.extend(mem.host_facts.as_ref().clone());
        view.insert("inventory_hostname".into(), Value::String(host.to_string()));
        self.hostvars.set(host, Arc::new(view));
    }

    /// An included task file, read once per play and shared by the hosts.
    pub fn load_include(
        &self,
        path: &Path,
        role: Option<Arc<RoleScope>>,
    ) -> Result<Arc<Vec<Item>>, String> {
        let mut cache = self.includes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(items) = cache.get(path) {
            return Ok(items.clone());
        }
        let items =
            Arc::new(crate::playbook::load_task_file(path, role).map_err(|e| e.to_string())?);
        cache.insert(path.to_path_buf(), items.clone());
        Ok(items)
    }
}

/// Everything a play needs from the run around it.
pub struct PlayInput<'p> {
    pub play: &'p Play,
    pub playbook_dir: &'p Path,
    pub inventory: &'p Inventory,
    pub templar: &'p Templar,
    pub opts: &'p RunOptions,
    pub hostvars: Arc<HostvarsTable>,
    pub local: Arc<Local>,
}

/// Runs a play on the hosts it selects. `memories` holds every host's
/// state across plays, in inventory order.
pub fn run_play(
    input: PlayInput<'_>,
    memories: &mut [HostMemory],
    reporter: &mut dyn Reporter,
) -> Result<PlayEnd, Error> {
    let PlayInput {
        play,
        playbook_dir,
        inventory,
        templar,
        opts,
        hostvars,
        local,
    } = input;
    let pattern = templar
        .render_str(&play.hosts, &extra_only(opts))
        .map_err(|e| Error::at(&play.loc, format!("hosts: {e}")))?;
    let (mut selected, warnings) = inventory.select_with_warnings(&pattern);
    for w in warnings {
        eprintln!("[WARNING]: {}", crate::redact::redact(&w));
    }
    if let Some(limit) = &opts.limit {
        let allowed = inventory.select(limit);
        selected.retain(|h| allowed.contains(h));
    }
    let name = play.name.clone().unwrap_or_else(|| pattern.clone());
    reporter.play_start(&name);
    let mut hosts: Vec<usize> = selected
        .iter()
        .filter_map(|h| memories.iter().position(|m| &m.name == h))
        .filter(|&i| !memories[i].unreachable && !memories[i].failed)
        .collect();
    hosts.sort_unstable();
    hosts.dedup();
    if hosts.is_empty() {
        reporter.no_hosts();
        return Ok(PlayEnd::Continue);
    }
    let play_names: Vec<Value> = hosts
        .iter()
        .map(|&i| Value::String(memories[i].name.clone()))
        .collect();
    let transports: HashMap<String, Arc<dyn Transport>> = memories
        .iter()
        .map(|m| (m.name.clone(), m.transport.clone()))
        .collect();
    let remaining = memories;
    let batches = batches(
        &BatchInput {
            play,
            playbook_dir,
            templar,
            extra_vars: &opts.extra_vars,
        },
        &hosts,
    )?;
    for batch in batches {
        // Ansible holds a host that another host's any_errors_fatal failed
        // as failed in every later batch and play: the run fails.
        for m in remaining.iter_mut() {
            if m.marked == Marked::Yes {
                m.marked = Marked::Carried;
            }
        }
        let mut magic = Map::new();
        magic.insert(
            "play_hosts".into(),
            Value::Array(
                batch
                    .iter()
                    .map(|&i| Value::String(remaining[i].name.clone()))
                    .collect(),
            ),
        );
        magic.insert("ansible_play_batch".into(), magic["play_hosts"].clone());
        magic.insert(
            "ansible_play_hosts".into(),
            Value::Array(play_names.clone()),
        );
        magic.insert(
            "ansible_play_hosts_all".into(),
            Value::Array(play_names.clone()),
        );
        magic.insert("ansible_play_name".into(), Value::String(name.clone()));
        magic.insert("ansible_check_mode".into(), Value::Bool(opts.check));
        magic.insert("ansible_diff_mode".into(), Value::Bool(opts.diff));
        magic.insert("ansible_verbosity".into(), Value::from(opts.verbosity));
        magic.insert("playbook_dir".into(), Value::String(absolute(playbook_dir)));
        magic.insert(
            "ansible_run_tags".into(),
            Value::from(if opts.tags.is_empty() {
                vec!["all".to_string()]
            } else {
                opts.tags.clone()
            }),
        );
        magic.insert(
            "ansible_skip_tags".into(),
            Value::from(opts.skip_tags.clone()),
        );
        magic.insert("groups".into(), groups_value(inventory));
        magic.insert("ansible_version".into(), ansible_version());
        let (tx, rx) = channel();
        let ctx = PlayCtx {
            play,
            playbook_dir: playbook_dir.to_path_buf(),
            inventory,
            templar,
            opts,
            play_vars: Arc::new(play.vars.clone()),
            extra_vars: Arc::new(opts.extra_vars.clone()),
            magic: Arc::new(magic),
            hostvars: hostvars.clone(),
            events: tx,
            local: local.clone(),
            transports: transports.clone(),
            aborted: AtomicBool::new(false),
            aborted_at: Mutex::new(None),
            failures: BatchFailures::new(
                batch.len(),
                play.max_fail_percentage,
                play.strategy.as_deref() != Some("free"),
            ),
            run_once: RunOnce::new(batch.len()),
            lockstep: Lockstep::new(
                batch.len(),
                if opts.forks == 0 {
                    batch.len()
                } else {
                    opts.forks
                },
                play.strategy.as_deref() != Some("free"),
            ),
            includes: Mutex::new(HashMap::new()),
        };
        // A thread per host: `--forks` limits how many run a task at once
        // (the lockstep's slots), not how many walk the play.
        let forks = batch.len();
        let mut refs: Vec<(usize, &mut HostMemory)> = remaining
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| batch.contains(i))
            .collect();
        let position: HashMap<usize, usize> =
            batch.iter().enumerate().map(|(pos, &i)| (i, pos)).collect();
        refs.sort_by_key(|(i, _)| position[i]);
        let names: Vec<String> = refs.iter().map(|(_, m)| m.name.clone()).collect();
        let queue = Mutex::new(
            refs.into_iter()
                .map(|(i, m)| (position[&i], m))
                .collect::<Vec<_>>(),
        );
        std::thread::scope(|s| {
            for _ in 0..forks {
                let host_thread = std::thread::Builder::new().stack_size(HOST_STACK);
                let spawned = host_thread.spawn_scoped(s, || {
                    loop {
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop();
                        let Some((pos, mem)) = next else { break };
                        HostRun::new(&ctx, pos, mem).run_play();
                        // However the walk ended, the printer and the
                        // run_once turns must know this host is done.
                        ctx.run_once.finish(pos);
                        ctx.lockstep.finish(pos);
                        let _ = ctx.events.send(Event::HostDone { host: pos });
                    }
                });
                // As `thread::scope`'s own spawn does: without threads
                // the printer would wait for hosts that never run.
                spawned.expect("the system starts a thread per host");
            }
            // Nothing else holds a sender once the hosts are done.
            print_in_order(&rx, &names, reporter);
        });
        let failed = batch
            .iter()
            .filter(|&&i| remaining[i].failed || remaining[i].unreachable)
            .count();
        // The run ends (no later batch, no later play) when a batch breaks
        // max_fail_percentage (counted task by task: a host whose failure
        // an `always` caught does not count), or fails entirely.
        if ctx.failures.breached() || failed == batch.len() || ctx.aborted() {
            if failed > 0 {
                reporter.note("NO MORE HOSTS LEFT");
                return Ok(PlayEnd::StopRun);
            }
            break;
        }
    }
    Ok(PlayEnd::Continue)
}

/// Whether the run goes on after a play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayEnd {
    Continue,
    StopRun,
}

/// Prints events per task position once every host has moved past it, so
/// that output reads like Ansible's: one header, then each host's line.
fn print_in_order(
    rx: &std::sync::mpsc::Receiver<Event>,
    names: &[String],
    reporter: &mut dyn Reporter,
) {
    let mut cursors: Vec<Option<SitePath>> = vec![Some(Vec::new()); names.len()];
    let mut pending: BTreeMap<SitePath, Vec<(usize, Pending)>> = BTreeMap::new();
    let mut done = 0;
    while done < names.len() {
        let Ok(event) = rx.recv() else { break };
        match event {
            Event::Result {
                host,
                path,
                header,
                outcome,
            } => {
                cursors[host] = Some(path.clone());
                pending
                    .entry(path)
                    .or_default()
                    .push((host, Pending::Result(header, outcome)));
            }
            Event::Included {
                host,
                path,
                header,
                file,
            } => {
                cursors[host] = Some(path.clone());
                pending
                    .entry(path)
                    .or_default()
                    .push((host, Pending::Included(header, file)));
            }
            Event::Retry {
                host,
                task,
                left,
                result,
            } => reporter.retry(&names[host], &task, left, &result),
            Event::HostDone { host } => {
                cursors[host] = None;
                done += 1;
            }
        }
        let min = cursors.iter().flatten().min().cloned();
        let ready: Vec<SitePath> = pending
            .keys()
            .filter(|p| min.as_ref().is_none_or(|m| *p <= m))
            .cloned()
            .collect();
        for path in ready {
            if let Some(mut entries) = pending.remove(&path) {
                flush(&mut entries, names, reporter);
            }
        }
    }
    for (_, mut entries) in std::mem::take(&mut pending) {
        flush(&mut entries, names, reporter);
    }
}

enum Pending {
    Result(String, Box<Outcome>),
    Included(String, String),
}

fn flush(entries: &mut [(usize, Pending)], names: &[String], reporter: &mut dyn Reporter) {
    entries.sort_by_key(|(h, _)| *h);
    let header = match &entries[0].1 {
        Pending::Result(h, _) | Pending::Included(h, _) => h.clone(),
    };
    reporter.task_start(&header);
    for (host, entry) in entries.iter() {
        match entry {
            Pending::Result(_, outcome) => reporter.result(&names[*host], outcome),
            Pending::Included(_, file) => reporter.included(&names[*host], file),
        }
    }
}

fn groups_value(inventory: &Inventory) -> Value {
    let mut m = Map::new();
    for g in inventory.groups() {
        m.insert(
            g.to_string(),
            Value::from(
                inventory
                    .group_hosts(g)
                    .into_iter()
                    .map(str::to_string)
                    .collect::<Vec<_>>(),
            ),
        );
    }
    Value::Object(m)
}

fn extra_only(opts: &RunOptions) -> crate::templating::Vars {
    let mut v = crate::templating::Vars::new();
    v.push_layer(Arc::new(opts.extra_vars.clone()));
    v
}

fn absolute(p: &Path) -> String {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// The Ansible release whose behaviour tend follows: `ansible_version`
/// reports it, so that playbooks that gate on Ansible's version
/// (`ansible_version.full is version('2.9', '>=')`) keep working.
const ANSIBLE_COMPAT: (u64, u64, u64) = (2, 19, 14);

/// `ansible_version`, with the fields Ansible gives, plus tend's own.
fn ansible_version() -> Value {
    let (major, minor, revision) = ANSIBLE_COMPAT;
    let full = format!("{major}.{minor}.{revision}");
    serde_json::json!({
        "full": full,
        "string": full,
        "major": major,
        "minor": minor,
        "revision": revision,
        "tend": env!("CARGO_PKG_VERSION"),
    })
}
