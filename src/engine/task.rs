//! Running one task on a host: conditions, loops, retries, the `*_when`
//! overrides, `register`, `set_fact` and `run_once`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::host::{HostRun, Scope};
use super::outcome::{ItemOutcome, Map, Outcome, Status};
use super::play::SitePath;
use super::run_once::Turn;
use super::saved_plan::REFUSED;
use crate::playbook::{Keywords, Task, TaskAction};
use crate::templating::Vars;

impl HostRun<'_, '_> {
    /// Runs a task (with its loop, if any) and returns its overall outcome.
    pub fn run_task(
        &mut self,
        task: &Task,
        kw: &Keywords,
        scope: &Scope,
        path: &SitePath,
    ) -> Outcome {
        let run_once = self
            .flag(&kw.run_once, &self.task_vars(scope, kw, None))
            .unwrap_or(false);
        if run_once {
            return match self.ctx.run_once.turn(self.index, path) {
                Turn::Run(cell) => {
                    let outcome = self.run_task_here(task, kw, scope);
                    let _ = cell.set(outcome.clone());
                    outcome
                }
                Turn::Wait(cell) => {
                    // The host that ran it applied register/set_fact to
                    // itself; this host takes the same result.
                    let mut outcome = cell.wait().clone();
                    self.apply_result(task, kw, &outcome);
                    outcome.borrowed = true;
                    outcome
                }
            };
        }
        self.run_task_here(task, kw, scope)
    }

    fn run_task_here(&mut self, task: &Task, kw: &Keywords, scope: &Scope) -> Outcome {
        let vars = self.task_vars(scope, kw, None);
        let mut outcome = match &kw.loop_items {
            None => match self.conditions_hold(kw, &vars) {
                Ok(None) => self.attempt(task, kw, scope, None),
                Ok(Some(cond)) => Outcome::skipped("Conditional result was False", Some(&cond)),
                Err(e) => Outcome::failed(format!("{}: {e}", task.loc)),
            },
            Some(items) => self.run_loop(task, kw, scope, items, &vars),
        };
        if outcome.status == Status::Failed && self.flag(&kw.ignore_errors, &vars).unwrap_or(false)
        {
            outcome.ignored = true;
        }
        if outcome.status == Status::Unreachable
            && self.flag(&kw.ignore_unreachable, &vars).unwrap_or(false)
        {
            outcome.ignored = true;
        }
        // A loop is hidden if any of its items is, as in Ansible; each
        // item was judged with its own variables.
        outcome.no_log = match outcome.items.is_empty() {
            true => self.no_log(kw, &vars),
            false => outcome.items.iter().any(|i| i.no_log),
        };
        self.apply_result(task, kw, &outcome);
        outcome
    }

    /// `register` and `set_fact` effects of an outcome on this host.
    fn apply_result(&mut self, task: &Task, kw: &Keywords, outcome: &Outcome) {
        if let Some(name) = &kw.register {
            let mut result = outcome.result.clone();
            result.retain(|k, _| !k.starts_with('_'));
            Arc::make_mut(&mut self.mem.host_facts).insert(name.clone(), Value::Object(result));
            // A registered result is a host variable other hosts can read.
            self.ctx.publish_hostvars(&self.mem.name, self.mem);
        }
        if outcome.status == Status::Skipped || outcome.is_failure() {
            return;
        }
        // Variables these modules set are host variables for the rest of
        // the play; other modules' facts go through merge_returned_facts.
        let is_set_fact = matches!(&task.action, TaskAction::Module { module, .. }
            if matches!(module.name(), "set_fact" | "include_vars"));
        let facts: Vec<Map> = if outcome.items.is_empty() {
            outcome
                .result
                .get("ansible_facts")
                .and_then(Value::as_object)
                .cloned()
                .into_iter()
                .collect()
        } else {
            outcome
                .items
                .iter()
                .filter_map(|i| {
                    i.result
                        .get("ansible_facts")
                        .and_then(Value::as_object)
                        .cloned()
                })
                .collect()
        };
        self.merge_returned_facts(task, &facts);
        if is_set_fact {
            let host_facts = Arc::make_mut(&mut self.mem.host_facts);
            for f in facts {
                host_facts.extend(f);
            }
            self.ctx.publish_hostvars(&self.mem.name, self.mem);
        }
    }

    /// A `set_fact` (or `include_vars`) item's variables, set before the
    /// next item runs: Ansible's loop updates the variables as it goes, so
    /// `acc: "{{ acc | default([]) + [item] }}"` accumulates.
    fn apply_item_facts(&mut self, task: &Task, outcome: &Outcome) {
        let sets_vars = matches!(&task.action, TaskAction::Module { module, .. }
            if matches!(module.name(), "set_fact" | "include_vars"));
        if !sets_vars || outcome.status == Status::Skipped || outcome.is_failure() {
            return;
        }
        if let Some(facts) = outcome
            .result
            .get("ansible_facts")
            .and_then(Value::as_object)
        {
            let host_facts = Arc::make_mut(&mut self.mem.host_facts);
            host_facts.extend(facts.clone());
        }
    }

    /// `None` when every condition holds, or the first one that does not.
    fn conditions_hold(&self, kw: &Keywords, vars: &Vars) -> Result<Option<String>, String> {
        for cond in &kw.when {
            match self.ctx.templar.eval_bool(cond, vars) {
                Ok(true) => {}
                Ok(false) => return Ok(Some(cond.clone())),
                Err(e) => {
                    return Err(format!(
                        "The conditional check '{cond}' failed. The error was: {e}"
                    ));
                }
            }
        }
        Ok(None)
    }

    fn run_loop(
        &mut self,
        task: &Task,
        kw: &Keywords,
        scope: &Scope,
        items: &Value,
        vars: &Vars,
    ) -> Outcome {
        let items = match self.ctx.templar.render_value(items, vars) {
            Ok(Value::Array(items)) => items,
            Ok(Value::Null) => Vec::new(),
            // `with_dict`: one item per entry, as `{key, value}`.
            Ok(Value::Object(map)) if kw.loop_dict => map
                .into_iter()
                .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
                .collect(),
            Ok(other) => {
                return Outcome::failed(format!(
                    "{}: Invalid data passed to 'loop', it requires a list, got this instead: {other}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup.",
                    task.loc
                ));
            }
            Err(e) => {
                return Outcome::failed(format!(
                    "{}: error while evaluating the loop: {e}",
                    task.loc
                ));
            }
        };
        let items: Vec<Value> = if kw.loop_flatten {
            items
                .into_iter()
                .flat_map(|i| {
                    if let Value::Array(inner) = i {
                        inner
                    } else {
                        vec![i]
                    }
                })
                .collect()
        } else {
            items
        };
        let loop_var = kw.loop_var.clone().unwrap_or_else(|| "item".into());
        let mut outcomes = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let mut lv = Map::new();
            lv.insert(loop_var.clone(), item.clone());
            lv.insert("ansible_loop_var".into(), Value::String(loop_var.clone()));
            if let Some(iv) = &kw.index_var {
                lv.insert(iv.clone(), Value::from(index));
            }
            if kw.loop_extended {
                let n = items.len();
                lv.insert(
                    "ansible_loop".into(),
                    serde_json::json!({
                        "index": index + 1, "index0": index,
                        "revindex": n - index, "revindex0": n - index - 1,
                        "first": index == 0, "last": index + 1 == n, "length": n,
                        "allitems": items,
                        "previtem": if index > 0 { items[index - 1].clone() } else { Value::Null },
                        "nextitem": items.get(index + 1).cloned().unwrap_or(Value::Null),
                    }),
                );
            }
            let item_vars = self.task_vars(scope, kw, Some(lv.clone()));
            let label = match &kw.loop_label {
                Some(l) => self
                    .ctx
                    .templar
                    .render_value(l, &item_vars)
                    .map(|v| display(&v))
                    .unwrap_or_else(|_| display(item)),
                None => display(item),
            };
            // A hidden item is labelled as Ansible labels it, here at the
            // source, so that no report or saved plan gets the real label.
            let hidden = self.no_log(kw, &item_vars);
            let label = match hidden {
                true => crate::report::HIDDEN_ITEM.to_string(),
                false => label,
            };
            self.invocation.item = Some((index, label.clone()));
            let mut outcome = match self.conditions_hold(kw, &item_vars) {
                Ok(None) => self.attempt(task, kw, scope, Some(lv)),
                Ok(Some(cond)) => Outcome::skipped("Conditional result was False", Some(&cond)),
                Err(e) => Outcome::failed(format!("{}: {e}", task.loc)),
            };
            self.apply_item_facts(task, &outcome);
            outcome.result.insert(loop_var.clone(), item.clone());
            outcome
                .result
                .insert("ansible_loop_var".into(), Value::String(loop_var.clone()));
            outcomes.push(ItemOutcome {
                status: outcome.status,
                label,
                diffs: outcome.diffs,
                result: outcome.result,
                no_log: hidden,
            });
        }
        self.invocation.item = None;
        combine_items(outcomes)
    }

    /// One run of the module for one item, with `until`/`retries`, then the
    /// `changed_when`/`failed_when` overrides and `ignore_errors`.
    fn attempt(
        &mut self,
        task: &Task,
        kw: &Keywords,
        scope: &Scope,
        loop_vars: Option<Map>,
    ) -> Outcome {
        let vars = self.task_vars(scope, kw, loop_vars.clone());
        let retries = match &kw.until {
            Some(_) => self.number(&kw.retries, &vars).unwrap_or(3).max(0) as u32,
            None => 0,
        };
        let delay = self.number(&kw.delay, &vars).unwrap_or(5).max(0) as u64;
        let mut attempts = 0;
        loop {
            attempts += 1;
            self.invocation.attempt = attempts;
            let mut outcome = self.invoke(task, kw, scope, &vars);
            self.apply_overrides(kw, &vars, &mut outcome);
            let Some(until) = &kw.until else {
                return outcome;
            };
            // A task a saved plan refused is not tried again.
            if matches!(outcome.status, Status::Unreachable | Status::Skipped)
                || outcome.result.contains_key(REFUSED)
            {
                return outcome;
            }
            let mut check_vars = vars.clone();
            let mut layer = Map::new();
            if let Some(reg) = &kw.register {
                layer.insert(reg.clone(), Value::Object(outcome.result.clone()));
            }
            check_vars.push_layer(Arc::new(layer));
            let done = self
                .ctx
                .templar
                .eval_bool(until, &check_vars)
                .unwrap_or(false);
            outcome
                .result
                .insert("attempts".into(), Value::from(attempts));
            if done {
                outcome
                    .result
                    .insert("failed".into(), Value::Bool(outcome.is_failure()));
                return outcome;
            }
            if attempts > retries {
                outcome.status = Status::Failed;
                outcome.result.insert("failed".into(), Value::Bool(true));
                outcome
                    .result
                    .entry("msg")
                    .or_insert_with(|| Value::String("Retried out".into()));
                return outcome;
            }
            self.send(super::play::Event::Retry {
                host: self.index,
                // Templated with the task's variables, as the header is.
                task: self
                    .ctx
                    .templar
                    .render_str(&task.display_name(), &vars)
                    .unwrap_or_else(|_| task.display_name()),
                left: retries + 1 - attempts,
                result: Box::new(crate::report::shown_map(
                    &outcome.result,
                    self.no_log(kw, &vars),
                )),
            });
            std::thread::sleep(Duration::from_secs(delay));
        }
    }

    fn apply_overrides(&self, kw: &Keywords, vars: &Vars, outcome: &mut Outcome) {
        if outcome.status == Status::Skipped
            || outcome.status == Status::Unreachable
            || outcome.result.contains_key("_depends_on")
            || outcome.result.contains_key(REFUSED)
        {
            return;
        }
        let with_result = |outcome: &Outcome| {
            let mut v = vars.clone();
            let mut layer = outcome.result.clone();
            if let Some(reg) = &kw.register {
                layer.insert(reg.clone(), Value::Object(outcome.result.clone()));
            }
            v.push_layer(Arc::new(layer));
            v
        };
        if let Some(conds) = &kw.changed_when {
            let v = with_result(outcome);
            match self.all_hold(conds, &v) {
                Ok(changed) => {
                    outcome
                        .result
                        .insert("changed".into(), Value::Bool(changed));
                    if outcome.status != Status::Failed {
                        outcome.status = if changed { Status::Changed } else { Status::Ok };
                    }
                }
                Err(e) => *outcome = Outcome::failed(e),
            }
        }
        if let Some(conds) = &kw.failed_when {
            let v = with_result(outcome);
            match self.all_hold(conds, &v) {
                Ok(failed) => {
                    outcome
                        .result
                        .insert("failed_when_result".into(), Value::Bool(failed));
                    outcome.result.insert("failed".into(), Value::Bool(failed));
                    if failed {
                        outcome.status = Status::Failed;
                    } else if outcome.status == Status::Failed {
                        outcome.status = if outcome.changed() {
                            Status::Changed
                        } else {
                            Status::Ok
                        };
                        outcome.result.remove("msg");
                    }
                }
                Err(e) => *outcome = Outcome::failed(e),
            }
        }
    }

    fn all_hold(&self, conds: &[String], vars: &Vars) -> Result<bool, String> {
        for c in conds {
            if !self
                .ctx
                .templar
                .eval_bool(c, vars)
                .map_err(|e| format!("The conditional check '{c}' failed. The error was: {e}"))?
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A keyword that may be a boolean or a template of one.
    pub fn flag(&self, value: &Option<Value>, vars: &Vars) -> Option<bool> {
        let v = value.as_ref()?;
        let rendered = self.ctx.templar.render_value(v, vars).ok()?;
        tend_modules::to_bool(&rendered)
    }

    /// Whether `no_log` hides a task's (or a loop item's) output. A value
    /// that cannot be rendered, or is not a boolean, hides it: in doubt,
    /// tell nothing.
    pub fn no_log(&self, kw: &Keywords, vars: &Vars) -> bool {
        let Some(value) = &kw.no_log else {
            return false;
        };
        self.ctx
            .templar
            .render_value(value, vars)
            .ok()
            .and_then(|v| tend_modules::to_bool(&v))
            .unwrap_or(true)
    }

    pub(super) fn number(&self, value: &Option<Value>, vars: &Vars) -> Option<i64> {
        let v = value.as_ref()?;
        match self.ctx.templar.render_value(v, vars).ok()? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// A loop's overall outcome from its items, as Ansible sums them up.
fn combine_items(items: Vec<ItemOutcome>) -> Outcome {
    let changed = items.iter().any(|i| {
        i.result
            .get("changed")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    });
    let failed = items.iter().any(|i| i.status == Status::Failed);
    let unreachable = items.iter().any(|i| i.status == Status::Unreachable);
    let all_skipped = !items.is_empty() && items.iter().all(|i| i.status == Status::Skipped);
    let mut result = Map::new();
    result.insert("changed".into(), Value::Bool(changed));
    result.insert(
        "msg".into(),
        Value::String(if failed {
            "One or more items failed".into()
        } else {
            "All items completed".into()
        }),
    );
    if failed {
        result.insert("failed".into(), Value::Bool(true));
    }
    if all_skipped || items.is_empty() {
        result.insert("skipped".into(), Value::Bool(true));
        if items.is_empty() {
            result.insert(
                "skipped_reason".into(),
                Value::String("No items in the list".into()),
            );
        }
    }
    result.insert(
        "results".into(),
        Value::Array(
            items
                .iter()
                .map(|i| Value::Object(i.result.clone()))
                .collect(),
        ),
    );
    let status = if unreachable {
        Status::Unreachable
    } else if failed {
        Status::Failed
    } else if all_skipped || items.is_empty() {
        Status::Skipped
    } else if changed {
        Status::Changed
    } else {
        Status::Ok
    };
    let mut outcome = Outcome::new(status, result);
    outcome.diffs = items.iter().flat_map(|i| i.diffs.clone()).collect();
    outcome.items = items;
    outcome
}

/// How a loop item is labelled in output: strings bare, the rest as JSON.
fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
