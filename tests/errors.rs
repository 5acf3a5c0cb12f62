//! Broken inputs, each pinned to the exact message tend prints: a clear
//! `file:line:col` with the line and a caret, exit code 1, no panic, and no
//! host contacted (these playbooks would write files if they ran).
//!
//! Each `tests/errors/NAME.yml` has its expected stderr in
//! `tests/errors/NAME.expected`. It runs with `tests/errors/inventory.ini`,
//! or with its own inventory when there is one beside it: `NAME.ini` or
//! `NAME.inventory.yml` (the broken inventories are cases of their own).
//! Task files and roles the cases use live under `tasks/` and `roles/`.
//!
//! What can only fail while the play runs (a variable or a file that an
//! earlier task might have provided) is in `tests/errors/runtime/`: exit
//! code 2, the failed task's `file:line:col` in its message, and stdout and
//! stderr pinned together in `NAME.expected`.
//!
//! Inputs too large to commit (a 50 MB playbook, 100,000 nested brackets)
//! are made by the tests below at run time.
//!
//! After changing a message on purpose, regenerate the `.expected` files
//! with `TEND_BLESS=1 cargo test --test errors`.

mod common;

use std::path::{Path, PathBuf};

use common::{Run, Scratch, tend};

/// Written by the corpus' playbooks if a task ever ran.
const TOUCHED: &str = "/tmp/tend-errors-touched";

fn cases(dir: &str) -> Vec<PathBuf> {
    let dir = common::root().join(dir);
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .expect("the corpus directory exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".yml") && !name.ends_with(".inventory.yml")
        })
        .collect();
    cases.sort();
    cases
}

fn relative(path: &Path) -> String {
    path.strip_prefix(common::root())
        .expect("under root")
        .to_str()
        .expect("utf-8")
        .to_string()
}

/// The inventory a case runs with: its own, or the shared one.
fn inventory(case: &Path) -> String {
    let own = [
        case.with_extension("ini"),
        case.with_extension("inventory.yml"),
    ];
    match own.iter().find(|p| p.exists()) {
        Some(path) => relative(path),
        None => "tests/errors/inventory.ini".to_string(),
    }
}

/// Compares `got` with the case's `.expected` file (or writes it, when
/// blessing) and says what differs.
fn pinned(case: &Path, rel: &str, got: &str) -> Option<String> {
    let expected_path = case.with_extension("expected");
    if std::env::var_os("TEND_BLESS").is_some() {
        std::fs::write(&expected_path, got).expect("write expected");
        return None;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    (got != expected).then(|| format!("{rel}:\n--- expected\n{expected}\n--- got\n{got}"))
}

#[test]
fn every_broken_playbook_gets_its_pinned_message() {
    let cases = cases("tests/errors");
    assert!(cases.len() >= 10, "the corpus is there");
    let mut failures = Vec::new();
    for case in cases {
        let rel = relative(&case);
        let run = tend(["run", &rel, "-i", &inventory(&case)]);
        if run.code != 1 || run.stderr.contains("panicked") {
            failures.push(format!(
                "{rel}: exit {} (want 1)\n{}{}",
                run.code, run.stdout, run.stderr
            ));
            continue;
        }
        failures.extend(pinned(&case, &rel, &run.stderr));
        assert!(!Path::new(TOUCHED).exists(), "{rel} touched a host");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_failure_at_run_time_names_its_task_and_stops_there() {
    let cases = cases("tests/errors/runtime");
    assert!(cases.len() >= 5, "the corpus is there");
    let mut failures = Vec::new();
    for case in cases {
        let rel = relative(&case);
        let run = tend(["run", &rel, "-i", "tests/errors/inventory.ini"]);
        if run.code != 2 || run.stderr.contains("panicked") {
            failures.push(format!(
                "{rel}: exit {} (want 2)\n{}{}",
                run.code, run.stdout, run.stderr
            ));
            continue;
        }
        let got = format!("{}--- stderr\n{}", run.stdout, run.stderr);
        failures.extend(pinned(&case, &rel, &got));
        assert!(
            !Path::new(TOUCHED).exists(),
            "{rel} ran a task after the failure"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_missing_playbook_or_inventory_is_named() {
    let run = tend([
        "run",
        "tests/errors/nosuch.yml",
        "-i",
        "tests/errors/inventory.ini",
    ]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "error: tests/errors/nosuch.yml: no such file or directory\n"
        )
    );
    let run = tend([
        "run",
        "tests/errors/no_hosts.yml",
        "-i",
        "tests/errors/nosuch.ini",
    ]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "error: inventory source 'tests/errors/nosuch.ini' not found: it is not a file, a directory or a comma-separated host list (such as 'web1,web2,')\n"
        )
    );
    let run = tend(["run", "tests/errors", "-i", "tests/errors/inventory.ini"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: tests/errors: ") && !run.stderr.contains("panicked"),
        "{}",
        run.stderr
    );
}

/// A playbook written at run time into a scratch directory, run with the
/// corpus' inventory; the scratch path reads `TMP` in what it printed.
struct Generated {
    dir: Scratch,
}

impl Generated {
    fn new(name: &str) -> Generated {
        Generated {
            dir: Scratch::new(&format!("errors-{name}")),
        }
    }

    fn run(&self, name: &str, text: &[u8]) -> Run {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write the generated playbook");
        let path = path.display().to_string();
        self.run_path(&path)
    }

    fn run_path(&self, path: &str) -> Run {
        let mut run = tend(["run", path, "-i", "tests/errors/inventory.ini"]);
        run.stdout = run.stdout.replace(self.dir.str(), "TMP");
        run.stderr = run.stderr.replace(self.dir.str(), "TMP");
        assert!(
            !run.stderr.contains("panicked") && !run.stderr.contains("overflow"),
            "{path} crashed tend:\n{}",
            run.stderr
        );
        assert!(!Path::new(TOUCHED).exists(), "{path} touched a host");
        run
    }
}

const TOUCH: &str = "    - file: path=/tmp/tend-errors-touched state=touch\n";

fn play(tasks: &str) -> String {
    format!("- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}")
}

/// A 50 MB playbook is refused by its size in values, before any host is
/// contacted, with memory bounded by that limit.
#[test]
fn a_huge_playbook_is_refused_clearly() {
    let g = Generated::new("huge");
    let task = "    - debug: msg=hello\n";
    let text = play(TOUCH) + &task.repeat(50_000_000 / task.len());
    let run = g.run("huge.yml", text.as_bytes());
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "error: TMP/huge.yml:333334:14: this YAML holds more than 1000000 values; refusing to load a file this large
       |
333334 |     - debug: msg=hello
       |              ^
"
        )
    );
}

/// A file larger than tend reads at all (or one that never ends) is
/// refused before it is parsed.
#[test]
fn a_file_past_the_size_limit_is_refused_unread() {
    let g = Generated::new("too-large");
    let mut text = play(TOUCH).into_bytes();
    text.extend(b"# ".iter().chain(&vec![b'x'; 65 << 20]));
    let run = g.run("large.yml", &text);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "error: TMP/large.yml: the file is larger than 64 MiB; tend refuses to load it\n"
        )
    );
    let run = g.run_path("/dev/zero");
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "error: /dev/zero: the file is larger than 64 MiB; tend refuses to load it\n"
        )
    );
}

/// One 20 MB scalar is a large value, not an error: the play runs.
#[test]
fn a_twenty_megabyte_scalar_works() {
    let g = Generated::new("scalar");
    let text = format!(
        "- hosts: all\n  gather_facts: false\n  vars:\n    big: \"{}\"\n  tasks:\n    - assert:\n        that: big | length == 20000000\n",
        "x".repeat(20_000_000)
    );
    let run = g.run("scalar.yml", text.as_bytes());
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

/// Nesting past the loaders' limits is an error at its place, never a
/// stack overflow (which would abort the process); the snippet of a line
/// of 100,000 brackets is cut to the part around the column.
#[test]
fn deep_nesting_is_refused_at_its_place() {
    let g = Generated::new("deep");
    let dots = "…";
    let run = g.run("brackets.yml", "[".repeat(100_000).as_bytes());
    let window = "[".repeat(120);
    let pad = " ".repeat(41);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            format!(
                "error: TMP/brackets.yml:1:256: malformed YAML: recursion limit exceeded\n  |\n1 | {dots}{window}{dots}\n  | {pad}^\n"
            )
            .as_str()
        )
    );

    let mapping: String = (0..5_000)
        .map(|i| format!("{}a:\n", "  ".repeat(i)))
        .collect();
    let run = g.run("mappings.yml", mapping.as_bytes());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: TMP/mappings.yml:201:401: YAML nested deeper than 200 levels\n"),
        "{}",
        run.stderr
    );

    let parens = format!(
        "{}    - debug:\n        msg: \"{{{{ {}1{} }}}}\"\n",
        play(""),
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let run = g.run("parens.yml", parens.as_bytes());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(
            "error: TMP/parens.yml:5:9: msg: template error: syntax error: more than 1000 operators in one expression or tag; nesting this deep is refused\n"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.len() < 1_000, "{}", run.stderr);

    let ifs = format!(
        "{}    - debug:\n        msg: \"{}x{}\"\n",
        play(""),
        "{% if true %}".repeat(10_000),
        "{% endif %}".repeat(10_000)
    );
    let run = g.run("ifs.yml", ifs.as_bytes());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("template exceeds maximum recursion limits"),
        "{}",
        run.stderr
    );
}

/// A task file may include itself, as in Ansible, while a `when` ends the
/// recursion; one that never ends fails that task when the includes nest
/// 128 deep, instead of overflowing the stack (which aborts the process).
#[test]
fn include_recursion_ends_or_is_stopped() {
    let run = tend([
        "run",
        "tests/errors/recursion/countdown.yml",
        "-i",
        "tests/errors/inventory.ini",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout.matches("included: ").count(),
        5,
        "{}",
        run.stdout
    );

    let run = tend([
        "run",
        "tests/errors/recursion/forever.yml",
        "-i",
        "tests/errors/inventory.ini",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!run.stderr.contains("overflow"), "{}", run.stderr);
    let fatal: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("fatal:"))
        .collect();
    assert_eq!(
        fatal,
        [
            "fatal: [localhost]: FAILED! => {\"failed\":true,\"msg\":\"tests/errors/recursion/forever_tasks.yml:2:3: includes nested more than 128 levels deep: does 'tests/errors/recursion/forever_tasks.yml' include itself with no `when` that ends the recursion?\"}"
        ]
    );
    assert!(!Path::new(TOUCHED).exists(), "a task ran after the failure");
}

/// A role that imports another of its own task files (`tasks_from`) is no
/// cycle: only the same role and file again is.
#[test]
fn a_role_may_import_its_own_other_task_files() {
    let run = tend([
        "run",
        "tests/errors/recursion/own_files.yml",
        "-i",
        "tests/errors/inventory.ini",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("\"msg\": \"main\"") && run.stdout.contains("\"msg\": \"extra\""),
        "{}",
        run.stdout
    );
}
