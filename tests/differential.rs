//! Differential tests: the same playbooks under ansible-playbook (the
//! oracle) and under tend, on the local connection, comparing per-host
//! stats and the files they leave, first run and second run.
//!
//! ansible-core comes from PyPI into tests/compat/.venv; `tests/run`
//! installs it, and this test installs it itself when it is missing, so it
//! never silently skips.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Scratch, tend, tree};

const ANSIBLE_CORE: &str = "ansible-core==2.19.14";

fn ansible_playbook() -> PathBuf {
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

struct AnsibleRun {
    stats: serde_json::Value,
    output: String,
}

fn run_ansible(playbook: &str, inventory: &str, base: &Path) -> AnsibleRun {
    let venv_python = common::root().join("tests/compat/.venv/bin/python");
    let out = Command::new(ansible_playbook())
        .args([playbook, "-i", inventory, "-e"])
        .arg(format!("base={}", base.display()))
        .arg("-e")
        .arg(format!(
            "ansible_python_interpreter={}",
            venv_python.display()
        ))
        .current_dir(common::root())
        .env("ANSIBLE_STDOUT_CALLBACK", "default")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_LOCALHOST_WARNING", "false")
        .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "false")
        .output()
        .expect("ansible-playbook runs");
    // ansible-core has no json callback (it lives in ansible.posix), so the
    // stats come from the PLAY RECAP lines of the default one.
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stats = recap_stats(&stdout);
    assert!(
        stats.as_object().is_some_and(|m| !m.is_empty()),
        "ansible-playbook printed no recap:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    AnsibleRun {
        stats,
        output: stdout,
    }
}

/// `host : ok=1 changed=0 ...` lines as `{"host": {"ok": 1, ...}}`.
fn recap_stats(output: &str) -> serde_json::Value {
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

fn run_tend(playbook: &str, inventory: &str, base: &Path) -> serde_json::Value {
    let run = tend([
        "run",
        playbook,
        "-i",
        inventory,
        "--format",
        "json",
        "-e",
        &format!("base={}", base.display()),
    ]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "tend printed no JSON ({e}):\n{}\n{}",
            run.stdout, run.stderr
        )
    });
    doc["stats"].clone()
}

fn compare(playbook: &str, inventory: &str) {
    // Tests run in parallel in one process: each playbook needs its own
    // directories, or one test removes the other's.
    let stem = Path::new(playbook)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("case");
    let a = Scratch::new(&format!("diff-{stem}-ansible"));
    let t = Scratch::new(&format!("diff-{stem}-tend"));
    for round in ["first run", "second run"] {
        let ansible = run_ansible(playbook, inventory, a.path());
        let ours = run_tend(playbook, inventory, t.path());
        assert_eq!(
            ours, ansible.stats,
            "{playbook}, {round}: stats differ (left: tend, right: ansible-playbook)\nansible output:\n{}",
            ansible.output
        );
        let rename = |v: Vec<(String, String)>, base: &Path| -> Vec<(String, String)> {
            let b = base.display().to_string();
            v.into_iter()
                .map(|(p, c)| (p, c.replace(&b, "BASE")))
                .collect()
        };
        assert_eq!(
            rename(tree(t.path()), t.path()),
            rename(tree(a.path()), a.path()),
            "{playbook}, {round}: files differ"
        );
    }
}

#[test]
fn compat_playbook_matches_ansible() {
    compare("tests/compat/site.yml", "tests/compat/inventory.ini");
}

/// copy of a directory from files/: `src: tree` copies the directory,
/// `src: tree/` its contents; new and existing directories get
/// `directory_mode`, `force: false` keeps a file, check mode writes
/// nothing, and a drifted file is put back.
#[test]
fn copy_copies_directories() {
    compare(
        "tests/compat/copy_directory.yml",
        "tests/compat/inventory.ini",
    );
}
