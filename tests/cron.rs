//! `tend cron install | remove` as a user runs them: the entry `--print`
//! shows, pinned in `tests/cron/NAME.expected` (this binary's path and the
//! project root redacted); the file it writes, checked against cron.d's
//! grammar; removal; and the refusals, each with its message and exit 1.
//!
//! After changing the entry on purpose, regenerate the snapshots with
//! `TEND_BLESS=1 cargo test --test cron`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Run, Scratch, tend};

const PLAYBOOK: &str = "tests/cron/site.yml";
const INVENTORY: &str = "tests/cron/inventory.ini";

fn output(run: &Run) -> String {
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    )
}

/// `out` with this binary's path and the project root made placeholders.
/// The binary goes first: it may live under a directory whose name starts
/// with the root's.
fn redact(out: &str) -> String {
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_tend")).expect("the binary");
    let root = std::fs::canonicalize(common::root()).expect("the root");
    out.replace(exe.to_str().expect("utf-8"), "<TEND>")
        .replace(root.to_str().expect("utf-8"), "<ROOT>")
}

fn install(extra: &[&str]) -> Run {
    let mut args = vec!["cron", "install", PLAYBOOK, "-i", INVENTORY];
    args.extend_from_slice(extra);
    tend(args)
}

// ------------------------------------------------------------- snapshots

#[test]
fn the_printed_entry_is_pinned() {
    let cases: &[(&str, &[&str])] = &[
        ("every_30m", &["--every", "30m", "--print"]),
        ("daily", &["--every", "1d", "--print"]),
        (
            "every_option",
            &[
                "-i",
                "db1,db2,",
                "-e",
                "pct=50%",
                "-e",
                r#"{"greeting": "it's me"}"#,
                "-l",
                "web:&prod",
                "--every",
                "15m",
                "--check",
                "--splay",
                "300",
                "--state-dir",
                "/var/lib/tend",
                "--metrics-file",
                "/var/lib/node_exporter/tend.prom",
                "--log-file",
                "/var/log/tend web.log",
                "--user",
                "deploy",
                "--name",
                "web_prod",
                "--print",
            ],
        ),
    ];
    let bless = std::env::var_os("TEND_BLESS").is_some();
    let mut failures = Vec::new();
    for (name, args) in cases {
        let run = install(args);
        assert_eq!(run.code, 0, "{name}: {}", output(&run));
        assert_eq!(run.stderr, "", "{name}");
        validate_cron_d(&run.stdout).unwrap_or_else(|e| panic!("{name}: {e}\n{}", run.stdout));
        let got = redact(&run.stdout);
        let path = common::root().join(format!("tests/cron/{name}.expected"));
        if bless {
            std::fs::write(&path, &got).expect("write expected");
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if got != expected {
            failures.push(format!("{name}:\n--- expected\n{expected}--- got\n{got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ------------------------------------------------------ install / remove

#[test]
fn install_writes_a_valid_cron_d_file_that_remove_deletes() {
    let dir = Scratch::new("cron-install");
    let printed = install(&["--every", "30m", "--print"]);
    let run = install(&["--every", "30m", "--cron-dir", dir.str()]);
    assert_eq!(run.code, 0, "{}", output(&run));
    let file = dir.path().join("tend-site");
    assert_eq!(
        run.stdout,
        format!(
            "wrote {}: every 30 minutes, tend run --drift {PLAYBOOK}\n",
            file.display()
        )
    );
    let content = std::fs::read_to_string(&file).expect("the entry is written");
    assert_eq!(content, printed.stdout, "the file is what --print shows");
    validate_cron_d(&content).unwrap_or_else(|e| panic!("{e}\n{content}"));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o644, "cron skips group- or world-writable files");
    assert_eq!(entries(dir.path()), ["tend-site"], "no temporary file left");

    // Installing again replaces the entry.
    let again = install(&["--every", "1h", "--cron-dir", dir.str()]);
    assert_eq!(again.code, 0, "{}", output(&again));
    let content = std::fs::read_to_string(&file).unwrap();
    assert!(content.contains("\n# Every hour, "), "{content}");
    assert_eq!(entries(dir.path()), ["tend-site"]);

    let removed = tend(["cron", "remove", "--name", "site", "--cron-dir", dir.str()]);
    assert_eq!(removed.code, 0, "{}", output(&removed));
    assert_eq!(removed.stdout, format!("removed {}\n", file.display()));
    assert!(entries(dir.path()).is_empty());

    let twice = tend(["cron", "remove", "--name", "site", "--cron-dir", dir.str()]);
    assert_eq!(twice.code, 1, "{}", output(&twice));
    assert_eq!(
        twice.stderr,
        format!(
            "error: no cron entry {}: nothing to remove\n",
            file.display()
        )
    );
}

#[test]
fn remove_finds_the_entry_from_the_playbook_too() {
    let dir = Scratch::new("cron-remove-playbook");
    let run = install(&["--every", "6h", "--cron-dir", dir.str()]);
    assert_eq!(run.code, 0, "{}", output(&run));
    let removed = tend(["cron", "remove", PLAYBOOK, "--cron-dir", dir.str()]);
    assert_eq!(removed.code, 0, "{}", output(&removed));
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn a_file_tend_did_not_write_is_neither_replaced_nor_removed() {
    let dir = Scratch::new("cron-foreign");
    let file = dir.path().join("tend-site");
    std::fs::write(&file, "0 * * * * root backup\n").unwrap();
    let run = install(&["--every", "30m", "--cron-dir", dir.str()]);
    assert_eq!(run.code, 1, "{}", output(&run));
    let message = format!(
        "error: {} was not written by `tend cron install`; not going to replace it\n",
        file.display()
    );
    assert_eq!(run.stderr, message);
    let removed = tend(["cron", "remove", "--name", "site", "--cron-dir", dir.str()]);
    assert_eq!(removed.code, 1, "{}", output(&removed));
    assert_eq!(removed.stderr, message.replace("replace", "remove"));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "0 * * * * root backup\n"
    );
}

// -------------------------------------------------------------- refusals

/// Each refused install: exit 1, exactly this message, nothing written.
#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let dir = Scratch::new("cron-refusals");
    let accepted = "use minutes that divide an hour (1m 2m 3m 4m 5m 6m 10m 12m 15m 20m 30m 60m), \
                    hours that divide a day (1h 2h 3h 4h 6h 8h 12h 24h), or 1d";
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec![PLAYBOOK, "--every", "7m"],
            format!("--every '7m': cron cannot run a job every 7 minutes evenly; {accepted}"),
        ),
        (
            vec![PLAYBOOK, "--every", "5h"],
            format!("--every '5h': cron cannot run a job every 5 hours evenly; {accepted}"),
        ),
        (
            vec![PLAYBOOK, "--every", "2d"],
            format!("--every '2d': cron cannot run a job every 2 days evenly; {accepted}"),
        ),
        (
            vec![PLAYBOOK, "--every", "30"],
            format!("--every '30': not an interval; {accepted}"),
        ),
        (
            vec![PLAYBOOK, "--every", "1w"],
            format!("--every '1w': not an interval; {accepted}"),
        ),
        (
            vec!["tests/cron/nope.yml", "--every", "30m"],
            "the playbook 'tests/cron/nope.yml' does not exist; no cron entry written".into(),
        ),
        (
            vec![PLAYBOOK, "--every", "30m", "--name", "site.prod"],
            "--name 'site.prod': only letters, digits, '_' and '-' are allowed \
             (cron ignores other file names in cron.d)"
                .into(),
        ),
        (
            vec![PLAYBOOK, "--every", "30m", "--user", "root admin"],
            "--user 'root admin': not a user name (letters, digits, '.', '_' and '-')".into(),
        ),
        (
            vec![
                PLAYBOOK,
                "--every",
                "30m",
                "--log-file",
                "/var/log/a\nb.log",
            ],
            r#""/var/log/a\nb.log": a cron line cannot hold a line break"#.into(),
        ),
        (
            vec![PLAYBOOK, "-i", "tests/cron/missing.ini", "--every", "30m"],
            "inventory source 'tests/cron/missing.ini' not found: it is not a file, \
             a directory or a comma-separated host list (such as 'web1,web2,')"
                .into(),
        ),
    ];
    let mut failures = Vec::new();
    for (args, message) in cases {
        let mut full = vec!["cron", "install", "-i", INVENTORY, "--cron-dir", dir.str()];
        full.extend(&args);
        let run = tend(&full);
        if run.code != 1 || run.stderr != format!("error: {message}\n") || !run.stdout.is_empty() {
            failures.push(format!("{args:?}: want `{message}`\n{}", output(&run)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(entries(dir.path()).is_empty(), "nothing was written");
}

#[test]
fn a_playbook_tend_run_would_refuse_is_refused_at_install() {
    let run = tend([
        "cron",
        "install",
        "tests/errors/unknown_module.yml",
        "-i",
        "tests/errors/inventory.ini",
        "--every",
        "30m",
        "--print",
    ]);
    assert_eq!(run.code, 1, "{}", output(&run));
    assert!(
        run.stderr
            .starts_with("error: tests/errors/unknown_module.yml:5:7: unknown module"),
        "{}",
        output(&run)
    );
}

#[test]
fn a_missing_cron_dir_is_named() {
    let dir = Scratch::new("cron-no-dir");
    let missing = dir.path().join("cron.d");
    let run = install(&["--every", "30m", "--cron-dir", missing.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", output(&run));
    assert_eq!(
        run.stderr,
        format!(
            "error: cannot write {}/tend-site: {} does not exist \
             (is cron installed? --print shows the entry without writing it)\n",
            missing.display(),
            missing.display()
        )
    );
}

#[test]
fn remove_needs_a_name_or_a_playbook() {
    let run = tend(["cron", "remove"]);
    assert_ne!(run.code, 0, "{}", output(&run));
    assert!(run.stderr.contains("--name <NAME>"), "{}", output(&run));
}

// ---------------------------------------------------- the cron.d grammar

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the cron dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Checks `text` as cron reads a file in /etc/cron.d: comments, blank lines,
/// `NAME=value` settings, and job lines of five schedule fields, a user and
/// a command in which every `%` is escaped (cron makes the first unescaped
/// one a newline, the rest stdin). Independent of the code under test.
fn validate_cron_d(text: &str) -> Result<(), String> {
    if !text.ends_with('\n') {
        return Err("cron ignores a last line without a newline".into());
    }
    let mut jobs = 0;
    for (i, line) in text.lines().enumerate() {
        let at = |what: String| format!("line {}: {what}: {line}", i + 1);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some((name, _)) = trimmed.split_once('=') {
            let name = name.trim_end();
            if !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
            {
                continue;
            }
        }
        let mut rest = trimmed;
        let mut word = || {
            let w = rest.split_whitespace().next().unwrap_or("");
            rest = rest[rest.find(w).unwrap_or(0) + w.len()..].trim_start();
            w.to_string()
        };
        let fields: Vec<String> = (0..5).map(|_| word()).collect();
        let user = word();
        let command = rest;
        for (field, (name, lo, hi)) in fields.iter().zip([
            ("minute", 0, 59),
            ("hour", 0, 23),
            ("day of month", 1, 31),
            ("month", 1, 12),
            ("day of week", 0, 7),
        ]) {
            if !field_ok(field, lo, hi) {
                return Err(at(format!("bad {name} field {field:?}")));
            }
        }
        if user.is_empty()
            || !user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(at(format!("bad user field {user:?}")));
        }
        if command.is_empty() {
            return Err(at("no command".into()));
        }
        // Vixie cron's scan: a backslash escapes the next character; a `%`
        // not escaped ends the command.
        let mut escaped = false;
        for c in command.chars() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '%' {
                return Err(at("unescaped % in the command".into()));
            }
        }
        jobs += 1;
    }
    if jobs == 1 {
        Ok(())
    } else {
        Err(format!("{jobs} job lines, want 1"))
    }
}

/// `*`, `N` or `N-M`, optionally `/STEP`, in a comma-separated list, every
/// number within `lo..=hi`.
fn field_ok(field: &str, lo: u32, hi: u32) -> bool {
    let number = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
            .filter(|n| (lo..=hi).contains(n))
    };
    !field.is_empty()
        && field.split(',').all(|item| {
            let (range, step) = match item.split_once('/') {
                Some((range, step)) => (range, Some(step)),
                None => (item, None),
            };
            let step_ok = step.is_none_or(|s| {
                !s.is_empty()
                    && s.bytes().all(|b| b.is_ascii_digit())
                    && s.parse::<u32>().is_ok_and(|n| n >= 1)
            });
            let range_ok = range == "*"
                || match range.split_once('-') {
                    Some((a, b)) => matches!((number(a), number(b)), (Some(a), Some(b)) if a <= b),
                    None => number(range).is_some(),
                };
            step_ok && range_ok
        })
}

#[test]
fn the_validator_itself_tells_good_lines_from_bad() {
    let ok = "# c\nSHELL=/bin/sh\n17-59/30 * * * * root echo 50\\%\n";
    assert_eq!(validate_cron_d(ok), Ok(()));
    for bad in [
        "*/30 * * * root echo\n",
        "60 * * * * root echo\n",
        "*/0 * * * * root echo\n",
        "5-1 * * * * root echo\n",
        "* * * * * root echo 50%\n",
        "* * * * * root echo \\\\%\n",
        "* * * * * root\n",
        "* * * * * root echo",
    ] {
        assert!(validate_cron_d(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn vault_passwords_come_from_files_in_the_entry_never_from_a_prompt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pass = dir.path().join("vault-pass");
    std::fs::write(&pass, "hunter2\n").expect("write");
    let pass = pass.to_str().expect("utf-8");
    let out = install(&["--every", "30m", "--print", "--vault-password-file", pass]);
    assert_eq!(out.code, 0, "{}", output(&out));
    let abs = std::fs::canonicalize(pass).expect("abs");
    assert!(
        out.stdout
            .contains(&format!("--vault-password-file {} --drift", abs.display())),
        "{}",
        output(&out)
    );
    for ask in [&["--ask-vault-pass"][..], &["--vault-id", "dev@prompt"]] {
        let mut args = vec!["--every", "30m", "--print"];
        args.extend_from_slice(ask);
        let out = install(&args);
        assert_eq!(out.code, 1, "{}", output(&out));
        assert!(
            out.stderr.contains("cannot work from cron"),
            "{}",
            output(&out)
        );
    }
}
