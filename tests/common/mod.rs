//! A small builder for running the `tend` binary the way a user does, and
//! reading what it printed.
#![allow(dead_code)]

pub mod lab;
pub mod load;

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The PLAY RECAP line of a host, as `(ok, changed, unreachable, failed, skipped, rescued, ignored)`.
    pub fn recap(&self, host: &str) -> [u32; 7] {
        let line = self
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(host) && l.contains(" : ok="))
            .unwrap_or_else(|| {
                panic!(
                    "no recap line for {host} in:\n{}\n{}",
                    self.stdout, self.stderr
                )
            });
        let mut out = [0; 7];
        for (i, key) in [
            "ok",
            "changed",
            "unreachable",
            "failed",
            "skipped",
            "rescued",
            "ignored",
        ]
        .iter()
        .enumerate()
        {
            let field = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("no {key}= in {line}"));
            out[i] = field
                .parse()
                .unwrap_or_else(|_| panic!("bad {key} in {line}"));
        }
        out
    }

    pub fn changed(&self, host: &str) -> u32 {
        self.recap(host)[1]
    }

    pub fn failed(&self, host: &str) -> u32 {
        self.recap(host)[3]
    }

    pub fn assert_ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "tend failed:\nSTDOUT:\n{}\nSTDERR:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `tend` with `args` from the project root.
pub fn tend<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::new(env!("CARGO_BIN_EXE_tend"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("the tend binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A fresh, empty directory for one test, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("tend-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn str(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every regular file under `dir` with its content, sorted by path.
pub fn tree(dir: &Path) -> Vec<(String, String)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap_or(&p).display().to_string();
            let meta = std::fs::symlink_metadata(&p).expect("metadata");
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&p)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                out.push((
                    rel,
                    format!("-> {}", target.replace(base.to_str().unwrap_or(""), "BASE")),
                ));
            } else if meta.is_dir() {
                out.push((format!("{rel}/"), String::new()));
                walk(base, &p, out);
            } else {
                use std::os::unix::fs::PermissionsExt;
                let content = std::fs::read_to_string(&p).unwrap_or_else(|_| "<binary>".into());
                out.push((
                    rel,
                    format!("{:o} {content}", meta.permissions().mode() & 0o7777),
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
