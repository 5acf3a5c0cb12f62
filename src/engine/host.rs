//! One host's walk through a play: blocks with rescue and always, role
//! scopes, handlers at flush points. Each host walks on its own thread; what
//! it does goes to the play's printer as events, tagged with the task's
//! position so that output comes out in playbook order.

use std::sync::Arc;

use serde_json::Value;

use super::failures::{HostFailures, Marked};
use super::outcome::{Map, Outcome, Status};
use super::play::{Event, PlayCtx, SitePath};
use super::prefetch::Prefetch;
use super::saved_plan::{Invocation, only_refusals};
use super::stats::HostStats;
use crate::playbook::{Block, Item, Keywords, RoleScope, Task, TaskAction};
use crate::transport::Transport;

/// What a host keeps from one play to the next.
pub struct HostMemory {
    pub name: String,
    pub transport: Arc<dyn Transport>,
    /// Inventory variables (group and host vars), merged.
    pub inventory_vars: Arc<Map>,
    /// Facts from fact gathering, as a variable layer: `ansible_facts` and `ansible_*`.
    pub facts: Arc<Map>,
    /// `set_fact` and `register` results.
    pub host_facts: Arc<Map>,
    pub stats: HostStats,
    /// Unreachable hosts are left alone for the rest of the run.
    pub unreachable: bool,
    pub failed: bool,
    /// Failed by another host's `any_errors_fatal` (see failures.rs).
    pub marked: Marked,
    /// Under `--check`: the first task that would have changed something,
    /// so later failures caused by that missing change are told as such,
    /// in this play or a later one.
    pub would_change: Option<String>,
}

/// How a walk through a list of items ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// A task failed (and was not ignored): the enclosing block's rescue runs.
    Failed,
    /// `meta: end_host`, `end_play`, or the host became unreachable.
    Stop,
}

/// The keywords and scope a task inherits from its enclosing blocks.
#[derive(Clone, Default)]
pub struct Scope {
    pub keywords: Keywords,
    pub role: Option<Arc<RoleScope>>,
}

pub struct HostRun<'a, 'p> {
    pub ctx: &'a PlayCtx<'p>,
    pub index: usize,
    pub mem: &'a mut HostMemory,
    /// Handler names and `listen` topics notified since the last flush.
    pub notified: Vec<String>,
    /// The last failed result, for `ansible_failed_result` in a rescue.
    pub failed_result: Option<Map>,
    pub failed_task: Option<String>,
    /// The play's `vars_files`, read for this host.
    pub vars_files: Arc<Map>,
    /// Probes fetched ahead in one round trip, valid until the host changes.
    pub prefetch: Prefetch,
    /// The play's tasks in order (not handlers), for fetching probes ahead.
    pub upcoming: Vec<(&'p Task, Scope)>,
    /// How this host's failures reach the batch, and others' reach it.
    pub fail: HostFailures,
    /// The loop item and `until` attempt being run, for a saved plan.
    pub invocation: Invocation,
}

impl<'a, 'p> HostRun<'a, 'p> {
    pub fn new(ctx: &'a PlayCtx<'p>, index: usize, mem: &'a mut HostMemory) -> Self {
        HostRun {
            ctx,
            index,
            mem,
            notified: Vec::new(),
            failed_result: None,
            failed_task: None,
            vars_files: Arc::new(Map::new()),
            prefetch: Prefetch::default(),
            upcoming: Vec::new(),
            fail: HostFailures::default(),
            invocation: Invocation::default(),
        }
    }

    /// Walks the whole play for this host.
    pub fn run_play(&mut self) {
        let play = self.ctx.play;
        let scope = Scope {
            keywords: play.keywords.clone(),
            role: None,
        };
        if let Err(e) = self.load_vars_files(&scope) {
            self.report(vec![0], "TASK [vars_files]".into(), Outcome::failed(e));
            self.mem.failed = true;
            return;
        }
        if play.gather_facts && self.ctx.opts.tags_allow(&["always".to_string()]) {
            let ctx = self.ctx;
            let outcome = {
                let _slot = ctx.lockstep.enter(self.index, &vec![0]);
                self.gather_facts()
            };
            let failed = outcome.is_failure();
            let unreachable = outcome.status == Status::Unreachable;
            self.report(vec![0], "TASK [Gathering Facts]".into(), outcome);
            if failed {
                if unreachable {
                    self.mem.unreachable = true;
                } else {
                    self.mem.failed = true;
                }
                self.failed_at(&scope.keywords, &vec![0], true);
                return;
            }
            if self.fatal_after(&scope.keywords, &vec![0]) {
                return;
            }
        }
        for items in [&play.pre_tasks, &play.tasks, &play.post_tasks] {
            flatten(items, &scope, &mut self.upcoming);
        }
        let sections: [(&[Item], u32); 3] = [
            (&play.pre_tasks, 1),
            (&play.tasks, 3),
            (&play.post_tasks, 5),
        ];
        for (items, section) in sections {
            if self.stopped() {
                break;
            }
            let flow = self.run_items(items, &mut vec![section], &scope);
            if flow == Flow::Stop || self.mem.failed {
                self.forced_handlers(vec![section + 1]);
                break;
            }
            self.flush_handlers(vec![section + 1]);
        }
        // Ansible holds a host that another host's any_errors_fatal failed
        // as failed, even if it rescued and went on.
        if self.mem.marked == Marked::Yes {
            self.mem.failed = true;
        }
    }

    /// With `force_handlers`, a host that failed still runs the handlers
    /// it notified, where the others run theirs; it stays failed.
    fn forced_handlers(&mut self, at: SitePath) {
        let forced = self.ctx.play.force_handlers || self.ctx.opts.force_handlers;
        if !forced || !self.mem.failed || self.mem.unreachable {
            return;
        }
        self.mem.failed = false;
        self.flush_handlers(at);
        self.mem.failed = true;
    }

    /// Reads the play's `vars_files` (names may use this host's variables).
    fn load_vars_files(&mut self, scope: &Scope) -> Result<(), String> {
        let mut merged = Map::new();
        for (name, loc) in &self.ctx.play.vars_files {
            let vars = self.task_vars(scope, &scope.keywords, None);
            let file = self
                .ctx
                .templar
                .render_str(name, &vars)
                .map_err(|e| format!("{loc}: vars_files: {e}"))?;
            let path = self.ctx.playbook_dir.join(&file);
            let node =
                crate::yaml::load_file(&path).map_err(|e| format!("{loc}: vars_files: {e}"))?;
            match node.to_value() {
                Value::Object(m) => merged.extend(m),
                Value::Null => {}
                _ => {
                    return Err(format!(
                        "{}: a vars file must hold a mapping",
                        path.display()
                    ));
                }
            }
            self.vars_files = Arc::new(merged.clone());
        }
        Ok(())
    }

    fn stopped(&self) -> bool {
        self.mem.failed || self.mem.unreachable || self.ctx.aborted()
    }

    /// Walks a list of items; `path` is the list's position in the play.
    pub fn run_items(&mut self, items: &[Item], path: &mut SitePath, scope: &Scope) -> Flow {
        for (i, item) in items.iter().enumerate() {
            path.push(i as u32);
            if self.ctx.aborted_before(path) {
                path.pop();
                return Flow::Stop;
            }
            let flow = match item {
                Item::Task(task) => self.run_task_item(task, path, scope),
                Item::Block(block) => self.run_block(block, path, scope),
            };
            path.pop();
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    fn run_block(&mut self, block: &Block, path: &mut SitePath, scope: &Scope) -> Flow {
        let inner = Scope {
            keywords: block.keywords.inherit(&scope.keywords),
            role: block.role.clone().or_else(|| scope.role.clone()),
        };
        // Whether a failure in the block, then in the rescue, is caught
        // here: Ansible counts it against max_fail_percentage only if not.
        let in_block = usize::from(!block.rescue.is_empty() || !block.always.is_empty());
        let in_rescue = usize::from(!block.always.is_empty());
        path.push(0);
        self.fail.catchers += in_block;
        let mut flow = self.run_items(&block.block, path, &inner);
        self.fail.catchers -= in_block;
        path.pop();
        if flow == Flow::Failed && !block.rescue.is_empty() {
            // A failure another host's any_errors_fatal caused is no
            // failure of this host's, and its rescue counts nothing.
            if !self.fail.quiet {
                self.mem.stats.rescue();
            }
            self.mem.failed = false;
            path.push(1);
            self.fail.catchers += in_rescue;
            flow = self.run_items(&block.rescue, path, &inner);
            self.fail.catchers -= in_rescue;
            path.pop();
        }
        if !block.always.is_empty() && flow != Flow::Stop {
            let was_failed = self.mem.failed;
            self.mem.failed = false;
            path.push(2);
            let always = self.run_items(&block.always, path, &inner);
            path.pop();
            self.mem.failed = was_failed || always == Flow::Failed;
            if always != Flow::Continue {
                flow = always;
            }
        }
        flow
    }

    fn run_task_item(&mut self, task: &Task, path: &mut SitePath, scope: &Scope) -> Flow {
        let keywords = task.keywords.inherit(&scope.keywords);
        if !self.ctx.opts.tags_allow(&keywords.tags) {
            return Flow::Continue;
        }
        if let TaskAction::IncludeTasks {
            file,
            base_dir,
            role,
            apply,
        } = &task.action
        {
            let include = super::include::Include {
                source: super::include::Source::File {
                    file,
                    base_dir,
                    role: role.clone(),
                },
                apply,
            };
            return self.include_tasks(task, &include, &keywords, path, scope);
        }
        if let TaskAction::IncludeRole { name, items, apply } = &task.action {
            let include = super::include::Include {
                source: super::include::Source::Role(name, items.clone()),
                apply,
            };
            return self.include_tasks(task, &include, &keywords, path, scope);
        }
        let ctx = self.ctx;
        let outcome = {
            let _slot = ctx.lockstep.enter(self.index, path);
            // The play may have ended (any_errors_fatal, max_fail_percentage)
            // at an earlier task while this host waited for the others.
            if ctx.aborted_before(path) {
                return Flow::Stop;
            }
            // Or another host failed a task under any_errors_fatal that
            // this host did not run (it was elsewhere in the play).
            if self.take_fatal(path) {
                return Flow::Failed;
            }
            self.run_task(task, &keywords, scope, path)
        };
        let header = format!("TASK [{}]", self.task_title(task, scope));
        self.finish_task(task, &keywords, path.clone(), header, outcome)
    }

    /// Name shown for a task: role tasks are prefixed with the role's name.
    /// Name shown for a task: templated when it can be (Ansible shows
    /// `{{ x }}` in a name resolved), prefixed with its role's name.
    pub fn task_title(&self, task: &Task, scope: &Scope) -> String {
        let mut name = task.display_name();
        if name.contains("{{") {
            let vars = self.task_vars(scope, &task.keywords.inherit(&scope.keywords), None);
            if let Ok(rendered) = self.ctx.templar.render_str(&name, &vars) {
                name = rendered;
            }
        }
        match &scope.role {
            Some(role) => format!("{} : {name}", role.name),
            None => name,
        }
    }

    /// Reports an outcome and applies its effects: notify, failure flow.
    pub fn finish_task(
        &mut self,
        task: &Task,
        keywords: &Keywords,
        path: SitePath,
        header: String,
        outcome: Outcome,
    ) -> Flow {
        if outcome.borrowed {
            return if outcome.is_failure() {
                Flow::Failed
            } else {
                Flow::Continue
            };
        }
        let meta = outcome
            .result
            .get("_meta")
            .and_then(Value::as_str)
            .map(str::to_string);
        if outcome.changed() && outcome.status != Status::Skipped {
            for name in &keywords.notify {
                if !self.notified.contains(name) {
                    self.notified.push(name.clone());
                }
            }
        }
        let failed = outcome.is_failure();
        // A task a saved plan refused ran nothing: the host goes on, and
        // each later task is checked against the plan on its own.
        let refused = failed && only_refusals(&outcome);
        let unreachable = outcome.status == Status::Unreachable && !outcome.ignored;
        if failed {
            self.failed_result = Some(outcome.result.clone());
            self.failed_task = Some(task.display_name());
        }
        // Ansible shows and counts no `meta` task, unless it failed.
        if task.module_name() != "meta" || failed {
            self.report(path.clone(), header, outcome);
        }
        if unreachable {
            self.mem.unreachable = true;
            self.failed_at(keywords, &path, false);
            return Flow::Stop;
        }
        if failed && !refused {
            self.mem.failed = true;
            self.failed_at(keywords, &path, true);
            return Flow::Failed;
        }
        if self.fatal_after(keywords, &path) {
            return Flow::Failed;
        }
        match meta.as_deref() {
            Some("flush_handlers") => {
                self.flush_handlers(path);
                Flow::Continue
            }
            Some("end_host") => Flow::Stop,
            Some("end_play") | Some("end_batch") => {
                // At once: no other host finishes this task.
                self.ctx.abort_at(&Vec::new());
                Flow::Stop
            }
            Some("clear_host_errors") => {
                self.mem.failed = false;
                Flow::Continue
            }
            Some("clear_facts") => {
                self.mem.facts = Arc::new(Map::new());
                Flow::Continue
            }
            _ => Flow::Continue,
        }
    }

    /// Runs the handlers notified so far, in the order the play lists them.
    pub fn flush_handlers(&mut self, at: SitePath) {
        if self.notified.is_empty() || self.mem.unreachable {
            return;
        }
        let notified = std::mem::take(&mut self.notified);
        let mut handlers = Vec::new();
        collect_handlers(
            &self.ctx.play.handlers,
            &Scope {
                keywords: self.ctx.play.keywords.clone(),
                role: None,
            },
            &mut handlers,
        );
        // A handler answers to its name and its title (`role : name`).
        let names: Vec<(Option<&String>, String)> = handlers
            .iter()
            .map(|(handler, scope)| (handler.name.as_ref(), self.task_title(handler, scope)))
            .collect();
        let named = |i: usize, n: &String| names[i].0 == Some(n) || names[i].1 == *n;
        for (i, (handler, scope)) in handlers.iter().enumerate() {
            // Handler names are global, as in Ansible: of handlers with one
            // name (a role applied twice), the last one answers.
            let last_named = |n: &String| named(i, n) && !(i + 1..names.len()).any(|j| named(j, n));
            let wanted = notified
                .iter()
                .any(|n| last_named(n) || handler.listen.contains(n));
            let title = names[i].1.clone();
            if !wanted {
                continue;
            }
            let mut path = at.clone();
            path.push(i as u32);
            let keywords = handler.keywords.inherit(&scope.keywords);
            let ctx = self.ctx;
            let outcome = {
                let _slot = ctx.lockstep.enter(self.index, &path);
                self.run_task(handler, &keywords, scope, &path)
            };
            let flow = self.finish_task(
                handler,
                &keywords,
                path,
                format!("RUNNING HANDLER [{title}]"),
                outcome,
            );
            if flow != Flow::Continue {
                break;
            }
        }
    }

    pub fn report(&mut self, path: SitePath, header: String, outcome: Outcome) {
        self.mem.stats.count(&outcome);
        self.ctx.run_once.advance(self.index, &path);
        self.send(Event::Result {
            host: self.index,
            path,
            header,
            outcome: Box::new(outcome),
        });
    }

    pub fn send(&self, event: Event) {
        // The printer only stops when the play is over; a send error means
        // nobody is listening any more, and there is nothing left to tell.
        let _ = self.ctx.events.send(event);
    }
}

/// Tasks in the order they usually run: blocks and `always` sections, not
/// `rescue` (it runs only after a failure).
fn flatten<'t>(items: &'t [Item], scope: &Scope, out: &mut Vec<(&'t Task, Scope)>) {
    for item in items {
        match item {
            Item::Task(task) => out.push((task, scope.clone())),
            Item::Block(block) => {
                let inner = Scope {
                    keywords: block.keywords.inherit(&scope.keywords),
                    role: block.role.clone().or_else(|| scope.role.clone()),
                };
                flatten(&block.block, &inner, out);
                flatten(&block.always, &inner, out);
            }
        }
    }
}

/// Handlers in play order, each with the scope (role) it belongs to.
fn collect_handlers<'t>(items: &'t [Item], scope: &Scope, out: &mut Vec<(&'t Task, Scope)>) {
    for item in items {
        match item {
            Item::Task(task) => out.push((task, scope.clone())),
            Item::Block(block) => {
                let inner = Scope {
                    keywords: block.keywords.inherit(&scope.keywords),
                    role: block.role.clone().or_else(|| scope.role.clone()),
                };
                collect_handlers(&block.block, &inner, out);
            }
        }
    }
}
