//! Tests of inventory reading, variables, patterns and output, on fixture
//! files written to a fresh temporary directory per test.

mod errors;
mod ini;
mod output;
mod patterns;
mod sources;
mod values;
mod vars;
mod yaml;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Inventory, Value};

/// A temporary directory holding a test's inventory files, removed on drop.
pub(super) struct Fixture {
    pub dir: PathBuf,
}

impl Fixture {
    pub fn new() -> Fixture {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("tend-inventory-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create fixture dir");
        Fixture { dir }
    }

    /// Writes a file (creating its directories) and returns its path as `-i` takes it.
    pub fn write(&self, relative: &str, text: &str) -> String {
        let path = self.dir.join(relative);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create dirs");
        std::fs::write(&path, text).expect("write fixture");
        path.display().to_string()
    }

    pub fn path(&self, relative: &str) -> String {
        self.dir.join(relative).display().to_string()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(super) fn load(sources: &[String]) -> Inventory {
    Inventory::load(sources).unwrap_or_else(|e| panic!("inventory should load, got:\n{e}"))
}

/// Loads one INI or YAML text written as `name` in a fresh fixture.
pub(super) fn load_text(name: &str, text: &str) -> Inventory {
    let fx = Fixture::new();
    let path = fx.write(name, text);
    load(&[path])
}

/// The rendered error of loading one text, for message checks.
pub(super) fn load_error(name: &str, text: &str) -> String {
    let fx = Fixture::new();
    let path = fx.write(name, text);
    match Inventory::load(&[path]) {
        Ok(_) => panic!("loading {name} should fail:\n{text}"),
        Err(e) => e.to_string(),
    }
}

pub(super) fn vars(inv: &Inventory, host: &str) -> Value {
    Value::Object(inv.host_vars(host, &[]).expect("host vars"))
}

pub(super) fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}
