//! The compatibility playbook (tests/compat/site.yml) on the local
//! connection: every feature of the core, with asserts on registered
//! results. First run passes; second run changes nothing; a dry run after a
//! variable change reports the change and leaves every file untouched.

mod common;

use common::{Scratch, tend, tree};

fn run(base: &str, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "run",
        "tests/compat/site.yml",
        "-i",
        "tests/compat/inventory.ini",
        "-e",
        base,
    ];
    args.extend_from_slice(extra);
    tend(args)
}

#[test]
fn compat_playbook_passes_is_idempotent_and_check_mode_is_honest() {
    let dir = Scratch::new("compat");
    let base = format!("base={}", dir.str());
    let first = run(&base, &[]);
    first.assert_ok();
    for host in ["alpha", "beta"] {
        assert_eq!(first.failed(host), 0, "{}", first.stdout);
        assert!(first.changed(host) > 5, "{}", first.stdout);
        assert_eq!(
            first.recap(host)[5],
            1,
            "one rescued block on {host}:\n{}",
            first.stdout
        );
        assert_eq!(
            first.recap(host)[6],
            1,
            "one ignored error on {host}:\n{}",
            first.stdout
        );
    }
    assert!(dir.path().join("alpha/handled").exists(), "the handler ran");
    assert!(dir.path().join("run-once.txt").exists());
    let conf =
        std::fs::read_to_string(dir.path().join("beta/etc/limits.conf")).expect("file written");
    assert_eq!(conf, "port = 9091\nmanaged = yes\nworkers = 4\n");

    let second = run(&base, &[]);
    second.assert_ok();
    for host in ["alpha", "beta"] {
        assert_eq!(
            second.changed(host),
            0,
            "second run must change nothing on {host}:\n{}",
            second.stdout
        );
    }

    let before = tree(dir.path());
    let check = run(&base, &["--check", "--diff", "-e", "site_name=renamed"]);
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
    assert!(check.changed("alpha") >= 1, "{}", check.stdout);
    assert!(
        check.stdout.contains("+# renamed on alpha"),
        "{}",
        check.stdout
    );
    assert_eq!(
        tree(dir.path()),
        before,
        "--check must leave every file untouched"
    );
}

#[test]
fn json_output_has_ansible_shaped_stats() {
    let dir = Scratch::new("compat-json");
    let base = format!("base={}", dir.str());
    let out = run(&base, &["--format", "json"]);
    out.assert_ok();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    let alpha = &doc["stats"]["alpha"];
    for key in [
        "ok",
        "changed",
        "failed",
        "skipped",
        "rescued",
        "ignored",
        "unreachable",
    ] {
        assert!(alpha[key].is_u64(), "stats.alpha.{key} in {alpha}");
    }
    assert_eq!(alpha["rescued"], 1);
    assert!(
        doc["plays"][1]["tasks"]
            .as_array()
            .is_some_and(|t| t.len() > 10)
    );
}
