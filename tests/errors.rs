//! Broken inputs, each pinned to the exact message tend prints: a clear
//! `file:line:col` with the line and a caret, exit code 1, no panic, and no
//! host contacted (these playbooks would write files if they ran).
//!
//! Each `tests/errors/NAME.yml` has its expected stderr in
//! `tests/errors/NAME.expected`. After changing a message on purpose,
//! regenerate them with `TEND_BLESS=1 cargo test --test errors`.

mod common;

use common::tend;

#[test]
fn every_broken_playbook_gets_its_pinned_message() {
    let dir = common::root().join("tests/errors");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/errors exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "the corpus is there");
    let bless = std::env::var_os("TEND_BLESS").is_some();
    let mut failures = Vec::new();
    for case in cases {
        let rel = case
            .strip_prefix(common::root())
            .expect("under root")
            .to_str()
            .expect("utf-8")
            .to_string();
        let run = tend(["run", &rel, "-i", "tests/errors/inventory.ini"]);
        let expected_path = case.with_extension("expected");
        if run.code != 1 || run.stderr.contains("panicked") {
            failures.push(format!(
                "{rel}: exit {} (want 1)\n{}{}",
                run.code, run.stdout, run.stderr
            ));
            continue;
        }
        if bless {
            std::fs::write(&expected_path, &run.stderr).expect("write expected");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if run.stderr != expected {
            failures.push(format!(
                "{rel}:\n--- expected\n{expected}\n--- got\n{}",
                run.stderr
            ));
        }
        assert!(
            !std::path::Path::new("/tmp/tend-errors-touched").exists(),
            "{rel} touched a host"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
