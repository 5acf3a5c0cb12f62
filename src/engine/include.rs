//! `include_tasks`: a task file read when the task runs, for each host.

use std::path::Path;
use std::sync::Arc;

use super::host::{Flow, HostRun, Scope};
use super::outcome::{Map, Outcome};
use super::play::SitePath;
use crate::playbook::{Item, Keywords, RoleScope, Task};

/// What an `include_tasks` or `include_role` task includes.
pub struct Include<'t> {
    pub source: Source<'t>,
    pub apply: &'t Keywords,
}

pub enum Source<'t> {
    /// A task file, read when the task runs (its name may use variables).
    File {
        file: &'t str,
        base_dir: &'t Path,
        role: Option<Arc<RoleScope>>,
    },
    /// A role (its name) and its tasks, loaded with the playbook.
    Role(&'t str, Arc<Vec<Item>>),
}

/// How deep blocks and includes may nest, counted as positions in the
/// play (two per level). A file may include itself, as in Ansible, while a
/// `when` eventually stops it; without one it would recurse until the
/// thread's stack ran out, which aborts the whole run.
const MAX_NESTING: usize = 256;

impl HostRun<'_, '_> {
    pub fn include_tasks(
        &mut self,
        task: &Task,
        include: &Include,
        kw: &Keywords,
        path: &mut SitePath,
        scope: &Scope,
    ) -> Flow {
        let Include { source, apply } = include;
        let header = format!("TASK [{}]", self.task_title(task, scope));
        let ctx = self.ctx;
        let slot = ctx.lockstep.enter(self.index, path);
        // Another host failed an earlier task under any_errors_fatal.
        if self.take_fatal(path) {
            return Flow::Failed;
        }
        // The include's own failures (its loop, its condition, its file)
        // are hidden under its `no_log`.
        let hidden = self.no_log(kw, &self.task_vars(scope, kw, None));
        let failed = |e: String| {
            let mut o = Outcome::failed(e);
            o.no_log = hidden;
            o
        };
        // With a loop, the file is included once per item, with the loop
        // variable set for its tasks.
        let loop_sets: Vec<Option<Map>> = match &kw.loop_items {
            None => vec![None],
            Some(items) => match self.loop_values(kw, scope, items) {
                Ok(sets) => sets.into_iter().map(Some).collect(),
                Err(e) => {
                    drop(slot);
                    let e = format!("{}: {e}", task.loc);
                    return self.finish_task(task, kw, path.clone(), header, failed(e));
                }
            },
        };
        let mut includes = Vec::new();
        for loop_vars in loop_sets {
            let vars = self.task_vars(scope, kw, loop_vars.clone());
            match self.ctx_conditions(kw, &vars) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    drop(slot);
                    let e = format!("{}: {e}", task.loc);
                    return self.finish_task(task, kw, path.clone(), header, failed(e));
                }
            }
            let loaded = match source {
                Source::File {
                    file,
                    base_dir,
                    role,
                } => self
                    .ctx
                    .templar
                    .render_str(file, &vars)
                    .map_err(|e| format!("{}: {e}", task.loc))
                    .and_then(|name| {
                        let full = crate::playbook::resolve_task_file(base_dir, &name);
                        if !full.exists() {
                            let direct = base_dir.join(&name);
                            let looked = match direct == full {
                                true => full.display().to_string(),
                                false => format!("{} and {}", direct.display(), full.display()),
                            };
                            return Err(format!(
                                "{}: include_tasks: cannot find '{name}' (looked for {looked})",
                                task.loc
                            ));
                        }
                        self.ctx
                            .load_include(&full, role.clone())
                            .map(|items| (full.display().to_string(), items))
                    }),
                Source::Role(name, items) => Ok((name.to_string(), items.clone())),
            };
            match loaded {
                Ok((full, items)) => includes.push((full, items, loop_vars)),
                Err(e) => {
                    drop(slot);
                    return self.finish_task(task, kw, path.clone(), header, failed(e));
                }
            }
        }
        if includes.is_empty() {
            drop(slot);
            let outcome = Outcome::skipped("Conditional result was False", None);
            return self.finish_task(task, kw, path.clone(), header, outcome);
        }
        if path.len() >= MAX_NESTING {
            drop(slot);
            let full = &includes[0].0;
            let e = format!(
                "{}: includes nested more than {} levels deep: does '{full}' include itself with no `when` that ends the recursion?",
                task.loc,
                MAX_NESTING / 2
            );
            return self.finish_task(task, kw, path.clone(), header, Outcome::failed(e));
        }
        for (full, _, loop_vars) in &includes {
            // Ansible counts each include as an ok task of the host.
            self.mem.stats.ok += 1;
            let hidden = self.no_log(kw, &self.task_vars(scope, kw, loop_vars.clone()));
            let label = loop_vars
                .as_ref()
                .and_then(|m| m.get(kw.loop_var.as_deref().unwrap_or("item")))
                .map(|item| match item {
                    _ if hidden => format!(" => (item={})", crate::report::HIDDEN_ITEM),
                    serde_json::Value::String(s) => format!(" => (item={s})"),
                    other => format!(" => (item={other})"),
                })
                .unwrap_or_default();
            self.send(super::play::Event::Included {
                host: self.index,
                path: path.clone(),
                header: header.clone(),
                file: format!("{full}{label}"),
            });
        }
        drop(slot);
        for (k, (_, items, loop_vars)) in includes.into_iter().enumerate() {
            // The included tasks see the include's variables (its own and
            // the loop's) and what `apply` gives them; the include's other
            // keywords were for the include itself, as in Ansible.
            let mut outer = scope.keywords.clone();
            outer.vars = kw.vars.clone();
            outer.vars.extend(loop_vars.unwrap_or_default());
            let inner = Scope {
                keywords: apply.inherit(&outer),
                role: match source {
                    Source::File { role, .. } => role.clone().or_else(|| scope.role.clone()),
                    // The role's blocks carry their role.
                    Source::Role(..) => scope.role.clone(),
                },
            };
            path.push(1 + k as u32);
            let flow = self.run_items(&items, path, &inner);
            path.pop();
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    /// The loop variable sets of a looped task: `item` (or `loop_var`) and
    /// `index_var` for each item.
    pub(super) fn loop_values(
        &self,
        kw: &Keywords,
        scope: &Scope,
        items: &serde_json::Value,
    ) -> Result<Vec<Map>, String> {
        let vars = self.task_vars(scope, kw, None);
        let items = match self.ctx.templar.render_value(items, &vars) {
            Ok(serde_json::Value::Array(items)) => items,
            Ok(serde_json::Value::Null) => Vec::new(),
            Ok(other) => {
                return Err(format!(
                    "Invalid data passed to 'loop', it requires a list, got this instead: {other}"
                ));
            }
            Err(e) => return Err(format!("error while evaluating the loop: {e}")),
        };
        let name = kw.loop_var.clone().unwrap_or_else(|| "item".into());
        Ok(items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let mut m = Map::new();
                m.insert(name.clone(), item);
                if let Some(iv) = &kw.index_var {
                    m.insert(iv.clone(), serde_json::Value::from(i));
                }
                m
            })
            .collect())
    }

    fn ctx_conditions(
        &self,
        kw: &Keywords,
        vars: &crate::templating::Vars,
    ) -> Result<bool, String> {
        for cond in &kw.when {
            if !self
                .ctx
                .templar
                .eval_bool(cond, vars)
                .map_err(|e| format!("The conditional check '{cond}' failed. The error was: {e}"))?
            {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
