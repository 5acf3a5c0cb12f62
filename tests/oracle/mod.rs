//! The oracle for differential tests: ansible-playbook (ansible-core from
//! PyPI, in tests/compat/.venv) runs the same playbook as tend, on the
//! local connection, each in its own `base` directory; after every round
//! the exit codes, the per-host PLAY RECAP stats and the files left under
//! `base` must be the same.
//!
//! A `Case` is one playbook with its inventory and its rounds: by default
//! two plain runs (converge, then converge again), or any list of extra
//! command-line arguments per round (`--tags`, `--check`, `-e`...).
//!
//! ansible-core is installed here when it is missing, so a differential
//! test never silently skips.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::{self, Scratch, tend, tree};

const ANSIBLE_CORE: &str = "ansible-core==2.19.14";

/// What one tool did in one round.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stats: serde_json::Value,
    pub output: String,
}

/// One playbook, run by both tools round after round.
pub struct Case {
    playbook: String,
    inventory: String,
    rounds: Vec<Vec<String>>,
    ansible_env: Vec<(String, String)>,
    repeat: usize,
}

impl Case {
    /// Two plain rounds: the first converges, the second must change what
    /// Ansible's second run changes (usually nothing).
    pub fn new(playbook: &str, inventory: &str) -> Case {
        Case {
            playbook: playbook.to_string(),
            inventory: inventory.to_string(),
            rounds: vec![Vec::new(), Vec::new()],
            ansible_env: Vec::new(),
            repeat: 1,
        }
    }

    /// The same extra arguments in every round.
    pub fn args(mut self, args: &[&str]) -> Case {
        for round in &mut self.rounds {
            round.extend(args.iter().map(|a| a.to_string()));
        }
        self
    }

    /// Explicit rounds, each with its own extra arguments, run in order on
    /// the same directories (so a round sees what the earlier ones left).
    pub fn rounds(mut self, rounds: &[&[&str]]) -> Case {
        self.rounds = rounds
            .iter()
            .map(|r| r.iter().map(|a| a.to_string()).collect())
            .collect();
        self
    }

    /// An environment variable for ansible-playbook only: used to configure
    /// the oracle the way the README says tend behaves on purpose.
    pub fn ansible_env(mut self, key: &str, value: &str) -> Case {
        self.ansible_env.push((key.to_string(), value.to_string()));
        self
    }

    /// Runs tend's rounds `n` times, each time from an empty directory,
    /// against one run of ansible-playbook: for differences that depend on
    /// timing, which one run may miss.
    pub fn repeat(mut self, n: usize) -> Case {
        self.repeat = n.max(1);
        self
    }

    /// Runs every round under both tools and panics at the first
    /// difference, saying which round and what differs.
    pub fn assert_same(self) {
        static CASES: AtomicUsize = AtomicUsize::new(0);
        let n = CASES.fetch_add(1, Ordering::Relaxed);
        let stem = Path::new(&self.playbook)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("case")
            .to_string();
        let a = Scratch::new(&format!("oracle-{stem}-{n}-ansible"));
        let t = Scratch::new(&format!("oracle-{stem}-{n}-tend"));
        let mut oracle: Vec<(Outcome, Vec<(String, String)>)> = Vec::new();
        for rep in 0..self.repeat {
            if rep > 0 {
                let _ = std::fs::remove_dir_all(t.path());
                std::fs::create_dir_all(t.path()).expect("scratch dir");
            }
            for (i, args) in self.rounds.iter().enumerate() {
                let what = format!(
                    "{} -i {} {} (round {}, tend run {} of {})",
                    self.playbook,
                    self.inventory,
                    args.join(" "),
                    i + 1,
                    rep + 1,
                    self.repeat
                );
                if oracle.len() <= i {
                    let outcome = run_ansible(&self, args, a.path());
                    oracle.push((outcome, redacted_tree(a.path())));
                }
                let (ansible, ansible_tree) = &oracle[i];
                let ours = run_tend(&self, args, t.path());
                assert_eq!(
                    ours.stats, ansible.stats,
                    "{what}: stats differ (left: tend, right: ansible-playbook)\n\
                     --- ansible-playbook output:\n{}\n--- tend output:\n{}",
                    ansible.output, ours.output
                );
                assert_eq!(
                    ours.code, ansible.code,
                    "{what}: exit codes differ (left: tend, right: ansible-playbook)\n\
                     --- ansible-playbook output:\n{}\n--- tend output:\n{}",
                    ansible.output, ours.output
                );
                assert_eq!(
                    &redacted_tree(t.path()),
                    ansible_tree,
                    "{what}: files differ (left: tend, right: ansible-playbook)"
                );
            }
        }
    }
}

/// Every file under `base` with its mode and content, `base` itself
/// written as BASE so that the two tools' trees compare.
pub fn redacted_tree(base: &Path) -> Vec<(String, String)> {
    let b = base.display().to_string();
    tree(base)
        .into_iter()
        .map(|(p, c)| (p, c.replace(&b, "BASE")))
        .collect()
}

pub fn ansible_playbook() -> PathBuf {
    if let Some(p) = std::env::var_os("TEND_ANSIBLE_PLAYBOOK") {
        return PathBuf::from(p);
    }
    let venv = common::root().join("tests/compat/.venv");
    let bin = venv.join("bin/ansible-playbook");
    if !bin.exists() {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", ANSIBLE_CORE])
                .status()
                .is_ok_and(|s| s.success());
        assert!(
            ok,
            "could not install {ANSIBLE_CORE} into {} (PyPI must be reachable)",
            venv.display()
        );
    }
    bin
}

fn run_ansible(case: &Case, args: &[String], base: &Path) -> Outcome {
    let venv_python = common::root().join("tests/compat/.venv/bin/python");
    let mut cmd = Command::new(ansible_playbook());
    cmd.args([&case.playbook, "-i", &case.inventory, "-e"])
        .arg(format!("base={}", base.display()))
        .arg("-e")
        .arg(format!(
            "ansible_python_interpreter={}",
            venv_python.display()
        ))
        .args(args)
        .current_dir(common::root())
        .env("ANSIBLE_STDOUT_CALLBACK", "default")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_LOCALHOST_WARNING", "false")
        .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "false")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "false");
    for (k, v) in &case.ansible_env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("ansible-playbook runs");
    // ansible-core has no json callback (it lives in ansible.posix), so the
    // stats come from the PLAY RECAP lines of the default one.
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stats = recap_stats(&stdout);
    assert!(
        stats.as_object().is_some_and(|m| !m.is_empty()),
        "ansible-playbook printed no recap:\n{stdout}\n{stderr}"
    );
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stats,
        output: format!("{stdout}{stderr}"),
    }
}

/// `host : ok=1 changed=0 ...` lines as `{"host": {"ok": 1, ...}}`.
pub fn recap_stats(output: &str) -> serde_json::Value {
    let mut stats = serde_json::Map::new();
    let recap = output.split("PLAY RECAP").nth(1).unwrap_or("");
    for line in recap.lines() {
        let Some((host, counts)) = line.split_once(" : ") else {
            continue;
        };
        let mut m = serde_json::Map::new();
        for word in counts.split_whitespace() {
            if let Some((k, v)) = word.split_once('=') {
                m.insert(
                    k.to_string(),
                    serde_json::Value::from(v.parse::<u64>().unwrap_or(u64::MAX)),
                );
            }
        }
        stats.insert(host.trim().to_string(), serde_json::Value::Object(m));
    }
    serde_json::Value::Object(stats)
}

fn run_tend(case: &Case, args: &[String], base: &Path) -> Outcome {
    let mut all = vec![
        "run".to_string(),
        case.playbook.clone(),
        "-i".to_string(),
        case.inventory.clone(),
        "--format".to_string(),
        "json".to_string(),
        "-e".to_string(),
        format!("base={}", base.display()),
    ];
    all.extend(args.iter().cloned());
    let run = tend(&all);
    // A run that could not start (exit 1) prints its error on stderr and no
    // JSON: its stats are null, and the comparison shows that output.
    let stats = serde_json::from_str::<serde_json::Value>(&run.stdout)
        .map(|doc| doc["stats"].clone())
        .unwrap_or(serde_json::Value::Null);
    Outcome {
        code: run.code,
        stats,
        output: format!("{}{}", run.stdout, run.stderr),
    }
}
