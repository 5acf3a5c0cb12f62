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

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use tend_modules::probe::INLINE;
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
        let on_host = Arc::ptr_eq(&target.transport, &self.mem.transport);
        let mut scripts = vec![script.to_string()];
        if on_host {
            for ahead in self.probes_ahead(task, &key) {
                if !scripts.contains(&ahead) {
                    scripts.push(ahead);
                }
            }
        }
        if scripts.len() == 1 {
            return target.probe(script);
        }
        let nonce = nonce();
        let (batch, queries) = batch_script(&scripts, &nonce);
        let out = target.run(&batch, None).map_err(Unobserved::Unreachable)?;
        let answers = whole_answers(&out.stdout, &nonce);
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
    /// `verify` (the task's probe) and the probes of the tasks after it, in
    /// one round trip. Returns the step's output and what `verify` printed;
    /// `None` when the host's answer could not be split (the caller then
    /// probes on its own).
    pub(super) fn step_then_observe(
        &mut self,
        task: &Task,
        target: &Target,
        step: &Step,
        verify: &str,
    ) -> Result<(StepOutput, Option<Observed>), String> {
        let key = target_key(target);
        let mut scripts = vec![verify.to_string()];
        if Arc::ptr_eq(&target.transport, &self.mem.transport) {
            for ahead in self.probes_ahead(task, &key) {
                if !scripts.contains(&ahead) {
                    scripts.push(ahead);
                }
            }
        }
        let nonce = nonce();
        let (script, queries) = step_then_batch(&step.script, &scripts, &nonce);
        let out = target.run(&script, step.stdin.as_deref())?;
        let truncated = out.truncated;
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
        let answers = whole_answers(rest, &nonce);
        if answers.len() < scripts.len() {
            return Ok((step_out, None));
        }
        let answers = queries.answer(rest, &nonce, answers);
        let first = answers[0].clone();
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

    /// Probe scripts of the tasks after `task` that can be prepared now
    /// (their variables are known, their conditions hold) and run with the
    /// same privileges and environment.
    fn probes_ahead(&self, task: &Task, key: &str) -> Vec<String> {
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
                        scripts.push(script);
                    }
                }
            }
        }
        scripts
    }
}

/// A fresh marker per batch, so that no probe's output can look like one.
fn nonce() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{:x}{:x}{:x}",
        t,
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// One script that runs every probe and frames each one's stdout, exit
/// code and stderr (base64) with markers. A probe runs in its own subshell
/// unless it starts with [`INLINE`]: a subshell is a fork, and so is
/// `base64` of an empty stderr, which is skipped. A converged host's batch
/// of 40 probes is 80 forks fewer that way. The probes' file queries are
/// answered together, before them (see `file_facts`).
fn batch_script(scripts: &[String], nonce: &str) -> (String, Queries) {
    let (scripts, queries) = Queries::take(scripts, nonce);
    let mut s = queries.prelude(nonce);
    s.push_str("__tend_e=$(mktemp) || exit 125\n");
    for (i, probe) in scripts.iter().enumerate() {
        let (open, close) = match probe.starts_with(INLINE) {
            true => ("{", "}"),
            false => ("(", ")"),
        };
        s.push_str(&format!(
            "printf '%s\\n' '__TEND_{nonce}_{i}_OUT'\n{open}\n{probe}\n{close} 2>\"$__tend_e\" </dev/null\n__tend_rc=$?\nprintf '\\n%s %s\\n' '__TEND_{nonce}_{i}_ERR' \"$__tend_rc\"\n[ ! -s \"$__tend_e\" ] || base64 -w0 < \"$__tend_e\"\nprintf '\\n'\n"
        ));
    }
    s.push_str("rm -f \"$__tend_e\"\n");
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

/// Splits a batch's stdout back into one observation per probe, in order,
/// as far as the answers are whole: output cut short (or garbled) ends the
/// list early.
fn whole_answers(out: &[u8], nonce: &str) -> Vec<Observed> {
    let mut answers = Vec::new();
    let mut rest = out;
    while let Some((answer, after)) = split_answer(rest, answers.len(), nonce) {
        answers.push(answer);
        rest = after;
    }
    answers
}

/// The `i`th probe's answer at the start of `rest`, and what follows it.
fn split_answer<'o>(rest: &'o [u8], i: usize, nonce: &str) -> Option<(Observed, &'o [u8])> {
    let open = format!("__TEND_{nonce}_{i}_OUT\n");
    let close = format!("\n__TEND_{nonce}_{i}_ERR ");
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
    let tail = &tail[line_end + 1..];
    let err_end = find(tail, b"\n")?;
    let stderr = base64::engine::general_purpose::STANDARD
        .decode(&tail[..err_end])
        .ok()?;
    Some((Observed { rc, stdout, stderr }, &tail[err_end + 1..]))
}

pub(super) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// What `script` prints on stdout under /bin/sh.
    pub(in crate::engine) fn run(script: &str) -> Vec<u8> {
        std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .output()
            .expect("sh runs")
            .stdout
    }

    #[test]
    fn a_batch_splits_back_into_each_probe() {
        let probes = vec![
            "echo one".to_string(),
            "printf 'no newline'; echo oops >&2; exit 3".to_string(),
            "printf '__TEND_fake_0_OUT\\n'".to_string(),
            "true".to_string(),
        ];
        let out = run(&batch_script(&probes, "abc").0);
        let answers = whole_answers(&out, "abc");
        assert_eq!(answers.len(), probes.len());
        assert_eq!(answers[0].stdout, b"one\n");
        assert_eq!(
            (answers[1].stdout.as_slice(), answers[1].rc),
            (&b"no newline"[..], 3)
        );
        assert_eq!(answers[1].stderr, b"oops\n");
        assert_eq!(answers[2].stdout, b"__TEND_fake_0_OUT\n");
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
        let out = run(&step_then_batch(&step, &probes, "n1").0);
        let (stdout, rc, rest) = split_step(&out, "n1").expect("splits");
        assert_eq!((stdout, rc), (&b"no newline"[..], 0));
        let answers = whole_answers(rest, "n1");
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[0].stdout, b"changed");
        // Probes never read the step's stdin.
        assert_eq!(answers[1].stdout, b"[]\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_failed_step_runs_no_probe() {
        let out = run(&step_then_batch("echo partial; exit 7", &["echo probe".into()], "n2").0);
        let (stdout, rc, rest) = split_step(&out, "n2").expect("splits");
        assert_eq!((stdout, rc), (&b"partial\n"[..], 7));
        assert!(rest.is_empty());
    }

    #[test]
    fn an_inline_probe_runs_in_the_batch_shell_with_its_own_rc_and_stderr() {
        let probes = vec![
            format!("{INLINE}v=set; echo warn >&2; false"),
            // A plain probe still gets a subshell: its exit ends only itself.
            "echo \"[$v]\"; exit 4".to_string(),
            format!("{INLINE}echo \"$$\""),
        ];
        let out = run(&batch_script(&probes, "in").0);
        let answers = whole_answers(&out, "in");
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
        let out = run(&batch_script(&["echo a".into(), "echo b".into()], "n").0);
        assert_eq!(whole_answers(&out, "n").len(), 2);
        let second = find(&out, b"__TEND_n_1_OUT").unwrap();
        for cut in [second + 20, out.len() - 1] {
            let answers = whole_answers(&out[..cut], "n");
            assert_eq!(answers.len(), 1, "cut at {cut}");
            assert_eq!(answers[0].stdout, b"a\n");
        }
        assert!(whole_answers(&out[..second / 2], "n").is_empty());
    }
}
