//! Few round trips: when a task needs to look at the host and nothing is
//! cached, the engine sends its probe together with the probes of every
//! later task whose parameters are already known, as one script on one
//! channel, and keeps the answers. An answer is used only while nothing has
//! changed on the host since it was taken: every step that runs clears the
//! cache, so a task is always planned against the state as it is.
//!
//! A change costs one round trip too: the last step of a task is sent with
//! the task's own probe (which proves the change took) and the probes of
//! the tasks after it, all run after the step, so their answers are fresh.
//! A step that reports its own result (a write prints its file's stat:
//! `Task::reports`) goes without the task's probe.
//!
//! A probe that asks a daemon (`probe::COSTLY`: systemctl, iptables) goes
//! ahead in a batch taken after a change (its window is short then), or
//! in one taken before a task once a batch has been taken since the last
//! change. The first batch of a fresh host, where every task changes
//! something, would otherwise send every such probe of the play ahead, to
//! be thrown away unread at the first change, and each costs the host
//! milliseconds of CPU where a file probe costs a fraction of one. A
//! converged run pays one round trip more, at the first task whose probe
//! is costly.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tend_modules::probe::{self, INLINE};
use tend_modules::{Observed, Step, StepOutput};

use super::file_facts::Queries;
use super::host::HostRun;
use super::invoke::{Target, Unobserved, step_output};
use crate::playbook::Task;

/// The most probes sent in one batch.
const MAX_BATCH: usize = 256;

#[derive(Default)]
pub struct Prefetch {
    /// (become user and environment, probe script) → what it printed.
    cache: HashMap<(String, String), Observed>,
    /// Probes the last batch carried but could not answer (see
    /// `file_facts`): they run alone, without fetching more.
    alone: HashSet<(String, String)>,
    /// Answers used from the current batch.
    hits: usize,
    /// How many probes ahead the next batch fetches: everything at first
    /// (a converged host then costs one round trip); after a change, as many
    /// as the last batch turned out to serve, so that a host where
    /// every task changes something is not sent the whole rest of the play
    /// again and again; everything again once a batch was used up with no
    /// change (the converged rest of a play after one change).
    window: Option<usize>,
    /// A batch has been taken since the host last changed: the tasks are
    /// in a stretch that changes nothing, and a batch taken before a task
    /// may send probes that ask a daemon ([`probe::COSTLY`]) ahead.
    quiet: bool,
}

impl Prefetch {
    /// The host is about to change: nothing seen so far can be trusted.
    pub fn invalidate(&mut self) {
        if !self.cache.is_empty() {
            self.window = Some(self.hits.max(1));
        }
        self.cache.clear();
        self.alone.clear();
        self.hits = 0;
        self.quiet = false;
    }
}

pub(super) fn target_key(target: &Target) -> String {
    format!(
        "{:?}\u{0}{}",
        target.become_.as_ref().map(|b| &b.user),
        target.env
    )
}

impl HostRun<'_, '_> {
    /// What `script` prints on the host now: from the last batch if the host
    /// has not changed since, otherwise from a new batch that also fetches
    /// the probes of the tasks after `task`.
    pub(super) fn observe(
        &mut self,
        task: &Task,
        target: &Target,
        script: &str,
    ) -> Result<Observed, Unobserved> {
        let key = target_key(target);
        let id = (key.clone(), script.to_string());
        if let Some(seen) = self.prefetch.cache.get(&id) {
            self.prefetch.hits += 1;
            return Ok(seen.clone());
        }
        if self.prefetch.alone.remove(&id) {
            return target.probe(script);
        }
        if !self.prefetch.cache.is_empty() {
            self.prefetch.window = None;
        }
        let costly = self.prefetch.quiet;
        let scripts = self.with_probes_ahead(Some(script), task, target, &key, costly);
        self.prefetch.quiet = true;
        if scripts.len() == 1 {
            return target.probe(script);
        }
        let nonce = crate::transport::marker_nonce();
        let (batch, queries) = batch_script(&scripts, &nonce);
        let out = target.run(&batch, None).map_err(Unobserved::Unreachable)?;
        let answers = whole_answers(&out.stdout, &out.stderr, &nonce, !out.truncated);
        // A batch the host answered in a way we cannot split: ask again,
        // alone. But a batch cut at the output cap (the probes together
        // may print much) still holds whole answers before the cut: those
        // are kept, so that the tasks after this one do not ask again.
        if answers.len() < scripts.len() && !out.truncated {
            return target.probe(script);
        }
        let answers = queries.answer(&out.stdout, &nonce, answers);
        self.keep(&key, scripts, answers);
        // Not answered by the batch: the probe runs alone.
        match self.prefetch.cache.get(&id) {
            Some(seen) => Ok(seen.clone()),
            None => target.probe(script),
        }
    }

    /// Runs `step` (the last of `task`'s change), then, if it succeeded,
    /// `verify` (the task's probe, if it needs one) and the probes of the
    /// tasks after it, in one round trip. Returns the step's output and
    /// what `verify` printed; `None` when there was no `verify` or the
    /// host's answer could not be split (the caller then probes on its own).
    pub(super) fn step_then_observe(
        &mut self,
        task: &Task,
        target: &Target,
        step: &Step,
        verify: Option<&str>,
    ) -> Result<(StepOutput, Option<Observed>), String> {
        let key = target_key(target);
        // Taken after the change: the next task's probe is fresh when it
        // runs, and the window keeps the rest short after a change.
        let scripts = self.with_probes_ahead(verify, task, target, &key, true);
        if scripts.is_empty() {
            return super::invoke::run_step(target, step).map(|out| (out, None));
        }
        let nonce = crate::transport::marker_nonce();
        let (script, queries) = step_then_batch(&step.script, &scripts, &nonce);
        let mut out = target.run(&script, step.stdin.as_deref())?;
        let truncated = out.truncated;
        let batch_stderr = out
            .stderr
            .split_off(split_stderr(&out.stderr, &nonce).0.len());
        let out = step_output(out);
        let Some((stdout, rc, rest)) = split_step(&out.stdout, &nonce) else {
            return Ok((out, None));
        };
        let step_out = StepOutput {
            rc,
            stdout: stdout.to_vec(),
            stderr: out.stderr,
        };
        // The probes' answers are not trusted when part of the output was
        // dropped: the caller probes again.
        if rc != 0 || truncated {
            return Ok((step_out, None));
        }
        let answers = whole_answers(rest, &batch_stderr, &nonce, true);
        if answers.len() < scripts.len() {
            return Ok((step_out, None));
        }
        let answers = queries.answer(rest, &nonce, answers);
        let first = verify.and_then(|_| answers[0].clone());
        self.keep(&key, scripts, answers);
        Ok((step_out, first))
    }

    /// Keeps a batch's answers; a probe it could not answer is marked to
    /// run alone.
    fn keep(&mut self, key: &str, scripts: Vec<String>, answers: Vec<Option<Observed>>) {
        for (s, o) in scripts.into_iter().zip(answers) {
            let id = (key.to_string(), s);
            match o {
                Some(o) => {
                    self.prefetch.cache.insert(id, o);
                }
                None => {
                    self.prefetch.alone.insert(id);
                }
            }
        }
    }

    /// `first` if any, then the probes of the tasks after `task` (each
    /// once) when `target` is this host itself, not a delegate; `costly`
    /// ones too when `costly`.
    fn with_probes_ahead(
        &self,
        first: Option<&str>,
        task: &Task,
        target: &Target,
        key: &str,
        costly: bool,
    ) -> Vec<String> {
        let mut scripts: Vec<String> = first.map(str::to_string).into_iter().collect();
        if Arc::ptr_eq(&target.transport, &self.mem.transport) {
            for ahead in self.probes_ahead(task, key, costly) {
                if !scripts.contains(&ahead) {
                    scripts.push(ahead);
                }
            }
        }
        scripts
    }

    /// Probe scripts of the tasks after `task` that can be prepared now
    /// (their variables are known, their conditions hold) and run with the
    /// same privileges and environment.
    fn probes_ahead(&self, task: &Task, key: &str, costly: bool) -> Vec<String> {
        let Some(at) = self
            .upcoming
            .iter()
            .position(|(t, _)| std::ptr::eq(*t, task))
        else {
            return Vec::new();
        };
        let mut scripts = Vec::new();
        for (next, scope) in &self.upcoming[at + 1..] {
            if scripts.len() >= self.prefetch.window.unwrap_or(MAX_BATCH).min(MAX_BATCH) {
                break;
            }
            let kw = next.keywords.inherit(&scope.keywords);
            if kw.delegate_to.is_some() {
                continue;
            }
            let item_sets: Vec<Option<super::outcome::Map>> = match &kw.loop_items {
                None => vec![None],
                Some(items) => {
                    let vars = self.task_vars(scope, &kw, None);
                    let Ok(serde_json::Value::Array(items)) =
                        self.ctx.templar.render_value(items, &vars)
                    else {
                        continue;
                    };
                    let name = kw.loop_var.clone().unwrap_or_else(|| "item".into());
                    let items: Vec<_> = if kw.loop_flatten {
                        items
                            .into_iter()
                            .flat_map(|i| {
                                if let serde_json::Value::Array(inner) = i {
                                    inner
                                } else {
                                    vec![i]
                                }
                            })
                            .collect()
                    } else {
                        items
                    };
                    items
                        .into_iter()
                        .map(|item| {
                            let mut m = super::outcome::Map::new();
                            m.insert(name.clone(), item);
                            Some(m)
                        })
                        .collect()
                }
            };
            for loop_vars in item_sets {
                let vars = self.task_vars(scope, &kw, loop_vars);
                let holds = kw
                    .when
                    .iter()
                    .all(|c| self.ctx.templar.eval_bool(c, &vars).unwrap_or(false));
                if !holds {
                    continue;
                }
                let Ok(target) = self.target(&kw, &vars) else {
                    continue;
                };
                if target_key(&target) != key {
                    continue;
                }
                if let Ok(prepared) = self.prepare(next, &kw, scope, &vars) {
                    if let Some(script) = prepared.task.probe() {
                        if costly || !probe::is_costly(&script) {
                            scripts.push(script);
                        }
                    }
                }
            }
        }
        scripts
    }
}

/// One script that runs every probe and frames each one's stdout and exit
/// code with markers on stdout, and its stderr with a marker on stderr. A
/// probe runs in its own subshell unless it starts with [`INLINE`]: a
/// subshell is a fork. Nothing else starts a process: no temporary file
/// for the stderr, no encoding of it. The probes' file queries are
/// answered together, before them (see `file_facts`).
fn batch_script(scripts: &[String], nonce: &str) -> (String, Queries) {
    let (scripts, queries) = Queries::take(scripts, nonce);
    let mut s = queries.prelude(nonce);
    for (i, probe) in scripts.iter().enumerate() {
        let (open, close) = match probe.starts_with(INLINE) {
            true => ("{", "}"),
            false => ("(", ")"),
        };
        s.push_str(&format!(
            "printf '%s\\n' '__TEND_{nonce}_{i}_OUT'\nprintf '\\n%s\\n' '__TEND_{nonce}_{i}_ERR' >&2\n{open}\n{probe}\n{close} </dev/null\n__tend_rc=$?\nprintf '\\n%s %s\\n' '__TEND_{nonce}_{i}_RC' \"$__tend_rc\"\n"
        ));
    }
    (s, queries)
}

/// A step, then (only if it succeeded) a batch of probes. The step keeps its
/// stdin and its stderr; its stdout and exit code are framed.
fn step_then_batch(step: &str, probes: &[String], nonce: &str) -> (String, Queries) {
    let (batch, queries) = batch_script(probes, nonce);
    let script = format!(
        "(\n{step}\n)\n__tend_step_rc=$?\nprintf '\\n%s %s\\n' '__TEND_{nonce}_STEP' \"$__tend_step_rc\"\n[ \"$__tend_step_rc\" -eq 0 ] || exit \"$__tend_step_rc\"\n{batch}"
    );
    (script, queries)
}

/// The step's stdout and exit code, and the rest of the output (the batch).
fn split_step<'o>(out: &'o [u8], nonce: &str) -> Option<(&'o [u8], i32, &'o [u8])> {
    let mark = format!("\n__TEND_{nonce}_STEP ");
    let at = find(out, mark.as_bytes())?;
    let tail = &out[at + mark.len()..];
    let line_end = find(tail, b"\n")?;
    let rc = std::str::from_utf8(&tail[..line_end])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some((&out[..at], rc, &tail[line_end + 1..]))
}

/// The stderr of what ran before the batch (the step), and the stderr of
/// each probe, split at the markers the batch printed there.
fn split_stderr<'e>(err: &'e [u8], nonce: &str) -> (&'e [u8], Vec<&'e [u8]>) {
    let mark = |i: usize| format!("\n__TEND_{nonce}_{i}_ERR\n");
    let Some(first) = find(err, mark(0).as_bytes()) else {
        return (err, Vec::new());
    };
    let mut sections = Vec::new();
    let mut rest = &err[first + mark(0).len()..];
    loop {
        let next = mark(sections.len() + 1);
        match find(rest, next.as_bytes()) {
            Some(at) => {
                sections.push(&rest[..at]);
                rest = &rest[at + next.len()..];
            }
            None => {
                sections.push(rest);
                return (&err[..first], sections);
            }
        }
    }
}

/// Splits a batch's output back into one observation per probe, in order,
/// as far as the answers are whole: output cut short (or garbled) ends the
/// list early. `whole_stderr` says the stderr was not cut: if it was, the
/// last probe's stderr may be missing its end, and that answer is dropped.
fn whole_answers(out: &[u8], err: &[u8], nonce: &str, whole_stderr: bool) -> Vec<Observed> {
    let (_, errs) = split_stderr(err, nonce);
    let mut answers = Vec::new();
    let mut rest = out;
    while let Some((answer, after)) = split_answer(rest, answers.len(), nonce) {
        answers.push(answer);
        rest = after;
    }
    let complete = match whole_stderr {
        true => errs.len(),
        false => errs.len().saturating_sub(1),
    };
    answers.truncate(complete);
    for (answer, stderr) in answers.iter_mut().zip(errs) {
        answer.stderr = stderr.to_vec();
    }
    answers
}

/// The `i`th probe's stdout and exit code at the start of `rest`, and what
/// follows it.
fn split_answer<'o>(rest: &'o [u8], i: usize, nonce: &str) -> Option<(Observed, &'o [u8])> {
    let open = format!("__TEND_{nonce}_{i}_OUT\n");
    let close = format!("\n__TEND_{nonce}_{i}_RC ");
    let body = &rest[find(rest, open.as_bytes())? + open.len()..];
    let end = find(body, close.as_bytes())?;
    let stdout = body[..end].to_vec();
    let tail = &body[end + close.len()..];
    let line_end = find(tail, b"\n")?;
    let rc: i32 = std::str::from_utf8(&tail[..line_end])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let answer = Observed {
        rc,
        stdout,
        stderr: Vec::new(),
    };
    Some((answer, &tail[line_end + 1..]))
}

pub(super) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// What `script` prints on stdout under /bin/sh.
    pub(in crate::engine) fn run(script: &str) -> Vec<u8> {
        run_both(script).0
    }

    /// What `script` prints on stdout and on stderr under /bin/sh.
    fn run_both(script: &str) -> (Vec<u8>, Vec<u8>) {
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .output()
            .expect("sh runs");
        (out.stdout, out.stderr)
    }

    /// A batch's answers, as the host would give them.
    fn answers_of(scripts: &[String], nonce: &str) -> Vec<Observed> {
        let (out, err) = run_both(&batch_script(scripts, nonce).0);
        whole_answers(&out, &err, nonce, true)
    }

    #[test]
    fn a_batch_splits_back_into_each_probe() {
        let probes = vec![
            "echo one".to_string(),
            "printf 'no newline'; echo oops >&2; exit 3".to_string(),
            "printf '__TEND_fake_0_OUT\\n'".to_string(),
            "true".to_string(),
        ];
        let answers = answers_of(&probes, "abc");
        assert_eq!(answers.len(), probes.len());
        assert_eq!(answers[0].stdout, b"one\n");
        assert_eq!(
            (answers[1].stdout.as_slice(), answers[1].rc),
            (&b"no newline"[..], 3)
        );
        assert_eq!(answers[1].stderr, b"oops\n");
        assert_eq!(answers[2].stdout, b"__TEND_fake_0_OUT\n");
        assert!(answers[0].stderr.is_empty() && answers[3].stderr.is_empty());
        assert_eq!((answers[3].stdout.as_slice(), answers[3].rc), (&b""[..], 0));
    }

    #[test]
    fn a_step_keeps_its_output_and_the_probes_after_it_see_its_change() {
        let dir = std::env::temp_dir().join(format!("tend-step-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let file = dir.join("f");
        let step = format!(
            "mkdir -p {d} && printf changed > {f} && printf 'no newline'",
            d = dir.display(),
            f = file.display()
        );
        let probes = vec![
            format!("cat {}", file.display()),
            "read x; echo \"[$x]\"".into(),
        ];
        let step = format!("{step}; printf 'step warns' >&2");
        let (out, err) = run_both(&step_then_batch(&step, &probes, "n1").0);
        let (stdout, rc, rest) = split_step(&out, "n1").expect("splits");
        assert_eq!((stdout, rc), (&b"no newline"[..], 0));
        let (step_err, _) = split_stderr(&err, "n1");
        assert_eq!(step_err, b"step warns");
        let answers = whole_answers(rest, &err, "n1", true);
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[0].stdout, b"changed");
        assert!(answers[0].stderr.is_empty());
        // Probes never read the step's stdin.
        assert_eq!(answers[1].stdout, b"[]\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_failed_step_runs_no_probe() {
        let script = step_then_batch(
            "echo partial; echo why >&2; exit 7",
            &["echo probe".into()],
            "n2",
        );
        let (out, err) = run_both(&script.0);
        let (stdout, rc, rest) = split_step(&out, "n2").expect("splits");
        assert_eq!((stdout, rc), (&b"partial\n"[..], 7));
        assert!(rest.is_empty());
        assert_eq!(split_stderr(&err, "n2"), (&b"why\n"[..], Vec::new()));
    }

    #[test]
    fn an_inline_probe_runs_in_the_batch_shell_with_its_own_rc_and_stderr() {
        let probes = vec![
            format!("{INLINE}v=set; echo warn >&2; false"),
            // A plain probe still gets a subshell: its exit ends only itself.
            "echo \"[$v]\"; exit 4".to_string(),
            format!("{INLINE}echo \"$$\""),
        ];
        let answers = answers_of(&probes, "in");
        assert_eq!(answers.len(), 3);
        assert_eq!(
            (answers[0].rc, answers[0].stderr.as_slice()),
            (1, &b"warn\n"[..])
        );
        assert_eq!(
            (answers[1].stdout.as_slice(), answers[1].rc),
            (&b"[set]\n"[..], 4)
        );
        assert_eq!(answers[2].rc, 0);
    }

    #[test]
    fn output_cut_short_keeps_only_the_whole_answers_before_the_cut() {
        let probes = [
            "echo a; echo x >&2".to_string(),
            "echo b; echo y >&2".to_string(),
        ];
        let (out, err) = run_both(&batch_script(&probes, "n").0);
        assert_eq!(whole_answers(&out, &err, "n", true).len(), 2);
        let second = find(&out, b"__TEND_n_1_OUT").unwrap();
        for cut in [second + 20, out.len() - 1] {
            let answers = whole_answers(&out[..cut], &err, "n", false);
            assert_eq!(answers.len(), 1, "cut at {cut}");
            assert_eq!(
                (&answers[0].stdout[..], &answers[0].stderr[..]),
                (&b"a\n"[..], &b"x\n"[..])
            );
        }
        assert!(whole_answers(&out[..second / 2], &err, "n", false).is_empty());
        // A cut stderr: the last section may lack its end, so its answer goes.
        let answers = whole_answers(&out, &err[..err.len() - 1], "n", false);
        assert_eq!(answers.len(), 1);
        let second_err = find(&err, b"__TEND_n_1_ERR").unwrap();
        assert_eq!(whole_answers(&out, &err[..second_err], "n", false).len(), 0);
    }

    #[test]
    fn a_probe_cannot_fake_another_probes_stderr_marker_without_the_nonce() {
        let probes = [
            "printf '\\n__TEND_fake_1_ERR\\n' >&2".to_string(),
            "echo real >&2".to_string(),
        ];
        let answers = answers_of(&probes, "n3");
        assert_eq!(answers[0].stderr, b"\n__TEND_fake_1_ERR\n");
        assert_eq!(answers[1].stderr, b"real\n");
    }
}
