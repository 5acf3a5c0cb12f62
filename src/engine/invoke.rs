//! One module run on one host: template the arguments, check them, probe,
//! plan, carry out the plan (unless in check mode), and prove idempotence by
//! probing again.

use std::sync::Arc;

use serde_json::Value;
use tend_modules::{Args, CheckMode, Kind, Module, Observed, Plan, Step, StepOutput};

use super::controller::TaskController;
use super::host::{HostRun, Scope};
use super::outcome::{Map, Outcome, Status};
use super::saved_plan::TaskAtHand;
use super::timeout::TaskClock;
use crate::playbook::{Keywords, Task, TaskAction};
use crate::templating::{OMIT_PLACEHOLDER, Vars};
use crate::transport::{Become, ExecOutput, OUTPUT_CAP, Transport};

/// A task ready to probe and plan.
pub(super) struct Prepared {
    pub module: &'static dyn Module,
    pub task: Box<dyn tend_modules::Task>,
    pub check: bool,
    pub diff: bool,
}

/// Where and how a task's scripts run.
pub(super) struct Target {
    pub transport: Arc<dyn Transport>,
    pub become_: Option<Become>,
    /// `export K=V` lines for `environment`.
    pub env: String,
    /// The task's `timeout`, shared by all of its scripts.
    pub clock: Option<TaskClock>,
}

/// Why a probe brought back nothing to plan with.
pub(super) enum Unobserved {
    /// The host could not be reached: it is unreachable.
    Unreachable(String),
    /// The host printed more than tend keeps ([`OUTPUT_CAP`]): a part of
    /// an answer is no answer, so the task fails.
    TooLarge(String),
}

impl Unobserved {
    fn outcome(self, module: &str) -> Outcome {
        match self {
            Unobserved::Unreachable(message) => unreachable(message),
            Unobserved::TooLarge(message) => Outcome::failed(format!("{module}: {message}")),
        }
    }

    fn message(self) -> String {
        match self {
            Unobserved::Unreachable(message) | Unobserved::TooLarge(message) => message,
        }
    }
}

/// Where a script runs: see `Transport`'s methods of the same names.
#[derive(Clone, Copy)]
enum Via {
    Within,
    Alone,
    Fresh,
}

impl Target {
    /// As [`Target::exec`], over a new connection (`Step::fresh_connection`).
    pub fn exec_fresh(&self, script: &str, stdin: Option<&[u8]>) -> Result<StepOutput, String> {
        self.run_via(script, stdin, Via::Fresh).map(step_output)
    }

    pub fn exec(&self, script: &str, stdin: Option<&[u8]>) -> Result<StepOutput, String> {
        self.run(script, stdin).map(step_output)
    }

    /// As [`Target::exec`], in a session of its own (`Step::own_channel`).
    pub fn exec_alone(&self, script: &str, stdin: Option<&[u8]>) -> Result<StepOutput, String> {
        self.run_via(script, stdin, Via::Alone).map(step_output)
    }

    /// Runs `script` within the task's `timeout`, and returns all the
    /// transport says, `truncated` too.
    pub fn run(&self, script: &str, stdin: Option<&[u8]>) -> Result<ExecOutput, String> {
        self.run_via(script, stdin, Via::Within)
    }

    fn run_via(&self, script: &str, stdin: Option<&[u8]>, via: Via) -> Result<ExecOutput, String> {
        let full = if self.env.is_empty() {
            script.to_string()
        } else {
            format!("{}{script}", self.env)
        };
        let limit = match &self.clock {
            Some(clock) => match clock.remaining() {
                Some(left) => Some(left),
                // Out of time: the task's outcome says so, not this script.
                None => {
                    return Ok(ExecOutput {
                        rc: 124,
                        timed_out: true,
                        ..ExecOutput::default()
                    });
                }
            },
            None => None,
        };
        let become_ = self.become_.as_ref();
        let transport = &self.transport;
        let out = match via {
            Via::Within => transport.exec_within(&full, stdin, become_, limit),
            Via::Alone => transport.exec_alone(&full, stdin, become_, limit),
            Via::Fresh => transport.exec_fresh(&full, stdin, become_, limit),
        }
        .map_err(|e| e.message)?;
        if out.timed_out {
            if let Some(clock) = &self.clock {
                clock.note_stopped();
            }
        }
        Ok(out)
    }

    pub fn probe(&self, script: &str) -> Result<Observed, Unobserved> {
        observed(self.run(script, None).map_err(Unobserved::Unreachable)?)
    }
}

/// A probe's answer, refused when the host printed more than tend keeps.
fn observed(out: ExecOutput) -> Result<Observed, Unobserved> {
    if out.truncated {
        return Err(Unobserved::TooLarge(format!(
            "the host answered this task's probe with more than {} MiB of output; \
             tend keeps no more than that of what a host prints, and does not plan from part of an answer",
            OUTPUT_CAP >> 20
        )));
    }
    Ok(Observed {
        rc: out.rc,
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

/// A step's output. Output past [`OUTPUT_CAP`] was dropped: the step's
/// stderr says so, after what it printed.
pub(super) fn step_output(out: ExecOutput) -> StepOutput {
    let mut stderr = out.stderr;
    if out.truncated {
        if !stderr.is_empty() && !stderr.ends_with(b"\n") {
            stderr.push(b'\n');
        }
        stderr.extend_from_slice(
            format!(
                "[tend: output truncated: only the first {} MiB of each of stdout and stderr were kept]\n",
                OUTPUT_CAP >> 20
            )
            .as_bytes(),
        );
    }
    StepOutput {
        rc: out.rc,
        stdout: out.stdout,
        stderr,
    }
}

impl HostRun<'_, '_> {
    /// Templates and checks a task's arguments and builds the module's task.
    pub(super) fn prepare(
        &self,
        task: &Task,
        kw: &Keywords,
        scope: &Scope,
        vars: &Vars,
    ) -> Result<Prepared, Box<Outcome>> {
        let TaskAction::Module {
            module,
            args,
            arg_locs,
            ..
        } = &task.action
        else {
            return Err(Box::new(Outcome::failed(
                "include_tasks cannot run as a module",
            )));
        };
        let at = |param: Option<&str>| {
            param
                .and_then(|p| arg_locs.iter().find(|(k, _)| k == p))
                .map_or_else(|| task.loc.to_string(), |(_, l)| l.to_string())
        };
        let rendered = self.render_args(*module, args, vars).map_err(|(key, e)| {
            let param = if key == "_raw_params" {
                "the command".to_string()
            } else {
                format!("'{key}'")
            };
            Box::new(Outcome::failed(format!(
                "{}: task '{}': {param} could not be templated: {e}",
                at(Some(&key)),
                task.display_name()
            )))
        })?;
        let checked = if module.params().is_empty() {
            Ok(Args::from_map(rendered))
        } else {
            Args::check(module.params(), &rendered, false)
        };
        let fail = |param: Option<&str>, message: &str| {
            Box::new(Outcome::failed(format!(
                "{}: {}: {message}",
                at(param),
                module.name()
            )))
        };
        let args = checked.map_err(|e| fail(e.param.as_deref(), &e.message))?;
        let check = self
            .flag(&kw.check_mode, vars)
            .unwrap_or(self.ctx.opts.check);
        let diff = self.flag(&kw.diff, vars).unwrap_or(self.ctx.opts.diff);
        let controller = TaskController::new(self.ctx, scope, vars, check);
        let prepared = module
            .prepare(args, &controller)
            .map_err(|e| fail(e.param.as_deref(), &e.message))?;
        Ok(Prepared {
            module: *module,
            task: prepared,
            check,
            diff,
        })
    }

    pub fn invoke(&mut self, task: &Task, kw: &Keywords, scope: &Scope, vars: &Vars) -> Outcome {
        let clock = match self.number(&kw.timeout, vars).map(TaskClock::start) {
            None => None,
            Some(Ok(clock)) => clock,
            Some(Err(msg)) => return Outcome::failed(msg),
        };
        let outcome = self.invoke_within(task, kw, scope, vars, clock.as_ref());
        match clock {
            Some(clock) if clock.expired() => clock.outcome(),
            _ => outcome,
        }
    }

    fn invoke_within(
        &mut self,
        task: &Task,
        kw: &Keywords,
        scope: &Scope,
        vars: &Vars,
        clock: Option<&TaskClock>,
    ) -> Outcome {
        let Prepared {
            module,
            task: prepared,
            check,
            diff,
        } = match self.prepare(task, kw, scope, vars) {
            Ok(p) => p,
            Err(outcome) => return *outcome,
        };
        if module.local() {
            return match prepared.plan(None) {
                Ok(mut plan) => {
                    if matches!(module.name(), "debug" | "assert") {
                        // Ansible always shows debug's result, not only under -v.
                        plan.result.insert(
                            "_verbose_always".into(),
                            Value::String(module.name().into()),
                        );
                    }
                    ok_outcome(plan, diff)
                }
                Err(e) => failed_outcome(e),
            };
        }
        let target = match self.target(kw, vars) {
            Ok(t) => Target {
                clock: clock.cloned(),
                ..t
            },
            Err(e) => return Outcome::failed(e),
        };
        let observe = |script: Option<String>| -> Result<Option<Observed>, Unobserved> {
            match script {
                Some(script) => target.probe(&script).map(Some),
                None => Ok(None),
            }
        };
        let observed = match prepared.probe() {
            Some(script) => match self.observe(task, &target, &script) {
                Ok(o) => Some(o),
                Err(e) => return e.outcome(module.name()),
            },
            None => None,
        };
        let at_hand = TaskAtHand {
            task,
            kw,
            scope,
            vars,
            module,
            prepared: prepared.as_ref(),
            target: &target,
            observed: observed.as_ref(),
            check,
            diff,
        };
        let judged = match self.judge_saved_plan(&at_hand) {
            Ok(judged) => judged,
            Err(refusal) => return *refusal,
        };
        let refresh = match check {
            false => prepared.refresh(observed.as_ref()),
            true => None,
        };
        let planned = match refresh {
            None => prepared.plan(observed.as_ref()),
            Some(step) => {
                self.prefetch.invalidate();
                match run_step(&target, &step) {
                    Ok(out) if out.rc != 0 => return step_failed(&out),
                    Ok(_) => {}
                    Err(e) => return unreachable(e),
                }
                let planned = match observe(prepared.probe()) {
                    Ok(o) => prepared.plan_refreshed(o.as_ref()),
                    Err(e) => return e.outcome(module.name()),
                };
                if let Some(seen) = &judged {
                    if let Some(refusal) = self.judge_refreshed(seen, &at_hand, &planned) {
                        return refusal;
                    }
                }
                planned
            }
        };
        let plan = match planned {
            Ok(p) => p,
            Err(e) => return self.check_mode_failure(check, failed_outcome(e)),
        };
        if let Some(msg) = &plan.skipped {
            return Outcome::skipped(msg, None);
        }
        if !plan.changed {
            return ok_outcome(plan, diff);
        }
        if check {
            if let CheckMode::Skip(msg) = prepared.check_mode() {
                return skipped_in_check_mode(&plan, msg);
            }
            self.mem
                .would_change
                .get_or_insert_with(|| task.display_name());
            return changed_outcome(&plan, plan.result.clone(), diff);
        }
        // A task that runs for real in a --check run (`check_mode: false`)
        // may fail only because an earlier change was not made.
        let forced = self.ctx.opts.check;
        let mut outputs = Vec::new();
        // Whatever the steps do, earlier observations of this host are stale,
        // unless the task says it changes nothing (`changed_when: false`,
        // the Ansible idiom for read-only commands).
        let read_only = kw
            .changed_when
            .as_ref()
            .is_some_and(|c| c.len() == 1 && matches!(c[0].as_str(), "False" | "false"));
        if !read_only {
            self.prefetch.invalidate();
        }
        // The last step carries the probe that verifies it (and the probes
        // of the tasks ahead): one round trip for the change and its proof.
        // Steps that report their own result need no verify probe.
        let reports = prepared.verify() && prepared.reports(&plan);
        let verify_probe = prepared.verify_probe().filter(|_| prepared.verify());
        let first = verify_probe.as_deref().filter(|_| !reports);
        let mut verified: Option<Observed> = None;
        for (i, step) in plan.steps.iter().enumerate() {
            let last = i + 1 == plan.steps.len();
            let ran = match last && !step.fresh_connection && (reports || first.is_some()) {
                true => {
                    self.step_then_observe(task, &target, step, first)
                        .map(|(out, observed)| {
                            verified = observed;
                            out
                        })
                }
                false => run_step(&target, step),
            };
            match ran {
                Ok(out) if step.check_rc && out.rc != 0 => {
                    return self.check_mode_failure(forced, step_failed(&out));
                }
                Ok(out) => outputs.push(out),
                Err(e) => return unreachable(e),
            }
        }
        let result = match prepared.finish(&plan, &outputs) {
            Ok(r) => r,
            Err(e) => {
                // A task that only looks (uri, wait_for) says changed: false.
                let changed = e.result.get("changed").cloned();
                let mut o = failed_outcome(e);
                o.result
                    .insert("changed".into(), changed.unwrap_or(Value::Bool(true)));
                return self.check_mode_failure(forced, o);
            }
        };
        // Steps that only look (uri, wait_for): the result says nothing changed.
        if result.get("changed") == Some(&Value::Bool(false)) {
            return ok_outcome(Plan { result, ..plan }, diff);
        }
        if prepared.verify() {
            let reported = match (&verified, reports) {
                (None, true) => prepared.reported(&plan, &outputs),
                _ => None,
            };
            let again = match verified.or(reported) {
                Some(o) => Ok(Some(o)),
                None => observe(verify_probe).map_err(Unobserved::message),
            }
            .and_then(|o| prepared.plan(o.as_ref()).map_err(|e| e.msg));
            match again {
                Ok(p) if p.changed => {
                    return Outcome::failed(format!(
                        "{}: the '{}' module is not idempotent here: after applying its change, it still finds a change to make. This is a bug in tend; please report it with this task.",
                        task.loc,
                        module.name()
                    ));
                }
                Ok(_) => {}
                Err(e) => {
                    return Outcome::failed(format!("the check after the change failed: {e}"));
                }
            }
        }
        changed_outcome(&plan, result, diff)
    }

    /// A failure under `--check` that follows a change that did not happen
    /// is reported as a change that depends on it, not as a failure.
    fn check_mode_failure(&self, check: bool, outcome: Outcome) -> Outcome {
        match (&self.mem.would_change, check) {
            (Some(first), true) => {
                let mut result = Map::new();
                result.insert("changed".into(), Value::Bool(true));
                // Not the task's own result: changed_when/failed_when do
                // not judge it, and the report always shows why.
                result.insert("_depends_on".into(), Value::String(first.clone()));
                let why = outcome.msg().unwrap_or("").to_string();
                result.insert(
                    "msg".into(),
                    Value::String(format!(
                        "would change; depends on '{first}', which would change first ({why})"
                    )),
                );
                Outcome::new(Status::Changed, result)
            }
            _ => outcome,
        }
    }

    /// The arguments with templates rendered; an error names the argument.
    fn render_args(
        &self,
        module: &dyn Module,
        args: &Map,
        vars: &Vars,
    ) -> Result<Map, (String, String)> {
        let mut out = Map::new();
        for (key, value) in args {
            let raw = module
                .params()
                .iter()
                .any(|p| p.answers_to(key) && p.kind == Kind::Raw);
            let rendered = if raw {
                value.clone()
            } else {
                self.ctx
                    .templar
                    .render_value(value, vars)
                    .map_err(|e| (key.clone(), e.to_string()))?
            };
            if rendered.as_str() == Some(OMIT_PLACEHOLDER) {
                continue;
            }
            out.insert(key.clone(), rendered);
        }
        Ok(out)
    }

    pub(super) fn target(&self, kw: &Keywords, vars: &Vars) -> Result<Target, String> {
        let transport: Arc<dyn Transport> = match &kw.delegate_to {
            Some(d) => {
                let host = self
                    .ctx
                    .templar
                    .render_str(d, vars)
                    .map_err(|e| e.to_string())?;
                self.ctx.transport_for(&host).ok_or_else(|| format!("cannot delegate to '{host}': tend delegates to localhost and inventory hosts"))?
            }
            None => self.mem.transport.clone(),
        };
        let become_ = match kw.become_ {
            Some(true) => {
                let user = match &kw.become_user {
                    Some(u) => self
                        .ctx
                        .templar
                        .render_str(u, vars)
                        .map_err(|e| e.to_string())?,
                    None => "root".into(),
                };
                Some(Become { user })
            }
            _ => None,
        };
        let env = match &kw.environment {
            Some(e) => environment_exports(
                self.ctx
                    .templar
                    .render_value(e, vars)
                    .map_err(|e| e.to_string())?,
            )?,
            None => String::new(),
        };
        Ok(Target {
            transport,
            become_,
            env,
            clock: None,
        })
    }
}

/// A task that cannot predict its effect, skipped under --check. It
/// registers what the module says a run that did not happen looks like
/// (a command's empty `stdout` and `rc` 0, as Ansible's), so that later
/// tasks reading it still render.
fn skipped_in_check_mode(plan: &Plan, msg: String) -> Outcome {
    let mut o = Outcome::skipped(&msg, None);
    for (k, v) in &plan.result {
        o.result.entry(k.clone()).or_insert_with(|| v.clone());
    }
    o.result.insert("msg".into(), Value::String(msg));
    o
}

/// The `export` lines for a rendered `environment`: one mapping, or the
/// layers of a play, block and task (a list, outermost first) merged so
/// that an inner layer's variable overrides an outer one's.
fn environment_exports(rendered: Value) -> Result<String, String> {
    let layers = match rendered {
        Value::Array(layers) => layers,
        other => vec![other],
    };
    let mut merged = serde_json::Map::new();
    for layer in layers {
        match layer {
            Value::Object(m) => merged.extend(m),
            Value::Null => {}
            other => return Err(format!("environment must be a mapping, got {other}")),
        }
    }
    let mut env = String::new();
    for (k, v) in merged {
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("environment: '{k}' is not a valid variable name"));
        }
        env.push_str(&format!(
            "export {k}={}\n",
            tend_modules::shell::quote(&tend_modules::display(&v))
        ));
    }
    Ok(env)
}

pub(super) fn run_step(target: &Target, step: &Step) -> Result<StepOutput, String> {
    if step.fresh_connection {
        return target.exec_fresh(&step.script, step.stdin.as_deref()).map_err(|e| {
            format!(
                "could not confirm the change over a new connection (if the change cut SSH, the host takes it back by itself): {e}"
            )
        });
    }
    if step.own_channel {
        return target.exec_alone(&step.script, step.stdin.as_deref());
    }
    target.exec(&step.script, step.stdin.as_deref())
}

/// A failed step: its message, with the step's exit code and output in the
/// result as Ansible's modules give them (`rc`, `stdout`, `stderr`, and
/// their `_lines`), so `register` and `-v` show what the host said.
fn step_failed(out: &StepOutput) -> Outcome {
    let mut o = Outcome::failed(step_error(out));
    o.result.insert("rc".into(), Value::from(out.rc));
    for (key, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim_end_matches('\n');
        let lines: Vec<Value> = text.lines().map(Value::from).collect();
        o.result.insert(key.into(), Value::from(text));
        o.result.insert(format!("{key}_lines"), Value::Array(lines));
    }
    o
}

fn step_error(out: &StepOutput) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stderr = tend_modules::clip_to(stderr.trim(), MAX_MESSAGE);
    let stderr = stderr.as_str();
    if stderr.is_empty() {
        format!("a step failed with exit code {}", out.rc)
    } else {
        format!("{stderr} (exit code {})", out.rc)
    }
}

fn unreachable(message: String) -> Outcome {
    let mut result = Map::new();
    result.insert("unreachable".into(), Value::Bool(true));
    result.insert("changed".into(), Value::Bool(false));
    result.insert("msg".into(), Value::String(message));
    Outcome::new(Status::Unreachable, result)
}

fn ok_outcome(plan: Plan, diff: bool) -> Outcome {
    let mut result = plan.result;
    result.entry("changed").or_insert(Value::Bool(false));
    let mut o = Outcome::new(Status::Ok, result);
    if diff {
        o.diffs = render_diffs(&plan.diff);
    }
    o
}

fn changed_outcome(plan: &Plan, mut result: Map, diff: bool) -> Outcome {
    result.insert("changed".into(), Value::Bool(true));
    let mut o = Outcome::new(Status::Changed, result);
    if diff && !plan.diff.is_empty() {
        o.diffs = render_diffs(&plan.diff);
        let entries: Vec<Value> = plan
            .diff
            .iter()
            .map(|d| {
                serde_json::json!({
                    "before": d.before, "after": d.after,
                    "before_header": d.before_header, "after_header": d.after_header,
                })
            })
            .collect();
        o.result.insert("diff".into(), Value::Array(entries));
    }
    o
}

/// Longest failure message kept whole. Modules quote what a host printed
/// (a tool's stderr) in their messages, and a host may print megabytes;
/// the full output stays in the result's `stdout` and `stderr`.
const MAX_MESSAGE: usize = 8 << 10;

fn failed_outcome(e: tend_modules::TaskError) -> Outcome {
    let mut result = e.result;
    result.insert("failed".into(), Value::Bool(true));
    result.insert(
        "msg".into(),
        Value::String(tend_modules::clip_to(&e.msg, MAX_MESSAGE)),
    );
    result.entry("changed").or_insert(Value::Bool(false));
    Outcome::new(Status::Failed, result)
}

pub(super) fn render_diffs(diffs: &[tend_modules::Diff]) -> Vec<String> {
    diffs
        .iter()
        .map(|d| {
            tend_modules::diff::unified(
                &d.before,
                &d.after,
                &format!("before: {}", d.before_header),
                &format!("after: {}", d.after_header),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_check_mode_skip_registers_the_modules_not_run_result() {
        let mut result = Map::new();
        result.insert("rc".into(), json!(0));
        result.insert("stdout".into(), json!(""));
        result.insert("changed".into(), json!(true));
        let plan = Plan::change(Vec::new(), result);
        let o = skipped_in_check_mode(&plan, "Command would have run".into());
        assert_eq!(o.status, Status::Skipped);
        assert_eq!(o.result["stdout"], "");
        assert_eq!(o.result["rc"], 0);
        assert_eq!(o.result["changed"], false);
        assert_eq!(o.result["skipped"], true);
        assert_eq!(o.result["msg"], "Command would have run");
    }

    #[test]
    fn an_inner_environment_layer_overrides_an_outer_one() {
        let env = environment_exports(json!([
            {"DEPLOY_ENV": "staging", "APP_MODE": "normal"},
            null,
            {"APP_MODE": "maintenance"}
        ]))
        .unwrap();
        assert!(env.contains("export DEPLOY_ENV=staging\n"), "{env}");
        assert!(env.contains("export APP_MODE=maintenance\n"), "{env}");
        assert!(!env.contains("normal"), "{env}");
    }

    #[test]
    fn an_environment_must_be_mappings_of_shell_names() {
        assert!(environment_exports(json!("A=1")).is_err());
        assert!(environment_exports(json!([{"A": 1}, "B=2"])).is_err());
        assert!(environment_exports(json!({"NOT-A-NAME": 1})).is_err());
        assert_eq!(environment_exports(json!(null)).unwrap(), "");
    }
}
