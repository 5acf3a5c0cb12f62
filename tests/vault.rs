//! Ansible Vault, against ansible-vault itself: files and strings that
//! ansible-vault encrypted (format 1.1, and 1.2 with a vault id) decrypt in
//! tend, in `tend vault view` and in a playbook run (vars_files, inline
//! `!vault` values in group_vars, a vaulted `src` of copy); what tend
//! encrypts, ansible-vault decrypts; a wrong or missing password stops the
//! run before any host is touched; and no decrypted value ever appears in
//! what tend prints (human output with --diff and -v, JSON, errors).
//!
//! The test vectors are made by tests/compat/.venv/bin/ansible-vault
//! (ansible-core from PyPI, installed by tests/run) in each test's set-up.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Run, Scratch, tend};

const PASSWORD: &str = "correct horse battery staple";
const DEV_PASSWORD: &str = "dev-password-42";

/// The values the playbook's vaults hold: none may ever be printed.
const FILE_SECRET: &str = "Hunter2-from-a-vaulted-file";
const INLINE_SECRET: &str = "tok-inline-ansible-1234";
const DEV_SECRET: &str = "dev-label-secret-5678";
const SRC_LINES: [&str; 2] = [
    "api_key = src-secret-line-one",
    "signing = src-secret-line-two",
];

fn ansible_vault(cwd: &Path, args: &[&str]) -> String {
    let bin = common::root().join("tests/compat/.venv/bin/ansible-vault");
    assert!(
        bin.exists(),
        "{} is missing: these tests need ansible-vault to make their test vectors; \
         tests/run installs ansible-core into tests/compat/.venv",
        bin.display()
    );
    let out = Command::new(&bin)
        .args(args)
        .current_dir(cwd)
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("ansible-vault runs");
    assert!(
        out.status.success(),
        "ansible-vault {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn output(run: &Run) -> String {
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    )
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A scratch directory with the two password files: `pw` (the default
/// vault id) and `dev.sh`, an executable that prints the `dev` password.
fn scratch(name: &str) -> (Scratch, String, String) {
    let dir = Scratch::new(name);
    let pw = dir.path().join("pw");
    write(&pw, &format!("{PASSWORD}\n"));
    let dev = dir.path().join("dev.sh");
    write(&dev, &format!("#!/bin/sh\necho '{DEV_PASSWORD}'\n"));
    std::fs::set_permissions(&dev, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let pw = pw.display().to_string();
    let dev = dev.display().to_string();
    (dir, pw, dev)
}

#[test]
fn tend_reads_files_ansible_vault_encrypted() {
    let (dir, pw, dev) = scratch("vault-read");
    let plain = "db_password: s3cret\nusers:\n  - alice\n";
    let default_file = dir.path().join("default.yml");
    let dev_file = dir.path().join("dev.yml");
    write(&default_file, plain);
    write(&dev_file, plain);
    ansible_vault(
        dir.path(),
        &["encrypt", "--vault-password-file", &pw, "default.yml"],
    );
    ansible_vault(
        dir.path(),
        &["encrypt", "--vault-id", &format!("dev@{dev}"), "dev.yml"],
    );
    let header = std::fs::read_to_string(&dev_file).unwrap();
    assert!(
        header.starts_with("$ANSIBLE_VAULT;1.2;AES256;dev\n"),
        "{header}"
    );

    let view = tend([
        "vault",
        "view",
        "--vault-password-file",
        &pw,
        default_file.to_str().unwrap(),
    ]);
    assert_eq!(view.code, 0, "{}", output(&view));
    assert_eq!(view.stdout, plain);

    // Both ids given: the file's own label is tried first, either works.
    let dev_id = format!("dev@{dev}");
    let view = tend([
        "vault",
        "view",
        "--vault-password-file",
        &pw,
        "--vault-id",
        &dev_id,
        dev_file.to_str().unwrap(),
        default_file.to_str().unwrap(),
    ]);
    assert_eq!(view.code, 0, "{}", output(&view));
    assert_eq!(view.stdout, format!("{plain}{plain}"));
}

#[test]
fn ansible_vault_reads_what_tend_encrypted() {
    let (dir, pw, dev) = scratch("vault-write");
    let plain = "token: abc123\n";
    let file = dir.path().join("vars.yml");
    write(&file, plain);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let f = file.to_str().unwrap();

    let enc = tend(["vault", "encrypt", "--vault-password-file", &pw, f]);
    assert_eq!(enc.code, 0, "{}", output(&enc));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"), "{text}");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "encrypting in place keeps the mode");
    assert_eq!(
        ansible_vault(dir.path(), &["view", "--vault-password-file", &pw, f]),
        plain
    );

    let again = tend(["vault", "encrypt", "--vault-password-file", &pw, f]);
    assert_eq!(again.code, 1, "{}", output(&again));
    assert!(
        again.stderr.contains("already encrypted"),
        "{}",
        output(&again)
    );

    let dec = tend(["vault", "decrypt", "--vault-password-file", &pw, f]);
    assert_eq!(dec.code, 0, "{}", output(&dec));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), plain);

    // A label other than `default` writes the 1.2 header with it.
    let dev_id = format!("dev@{dev}");
    let enc = tend(["vault", "encrypt", "--vault-id", &dev_id, f]);
    assert_eq!(enc.code, 0, "{}", output(&enc));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("$ANSIBLE_VAULT;1.2;AES256;dev\n"),
        "{text}"
    );
    assert_eq!(
        ansible_vault(dir.path(), &["view", "--vault-id", &dev_id, f]),
        plain
    );

    // encrypt_string prints a `!vault |` block; its body is vault text.
    let s = tend([
        "vault",
        "encrypt_string",
        "--vault-password-file",
        &pw,
        "--name",
        "api_token",
        "string-from-tend",
    ]);
    assert_eq!(s.code, 0, "{}", output(&s));
    assert!(
        s.stdout
            .starts_with("api_token: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n")
    );
    let body: String = s
        .stdout
        .lines()
        .skip(1)
        .map(|l| format!("{}\n", l.trim()))
        .collect();
    let string_file = dir.path().join("string.vault");
    write(&string_file, &body);
    // `view` ends what it shows with a newline when the text has none.
    assert_eq!(
        ansible_vault(
            dir.path(),
            &[
                "view",
                "--vault-password-file",
                &pw,
                string_file.to_str().unwrap()
            ]
        )
        .trim_end(),
        "string-from-tend"
    );
}

/// A playbook project whose secrets were all encrypted by ansible-vault:
/// an inline value in group_vars for each vault id, a vaulted vars_files
/// file and a vaulted `src` file. The playbook shows them with debug,
/// writes them with copy, and fails on one with ignore_errors.
fn project(name: &str) -> (Scratch, String, String) {
    let (dir, pw, dev) = scratch(name);
    let root = dir.path();
    let inline = ansible_vault(
        root,
        &[
            "encrypt_string",
            "--vault-password-file",
            &pw,
            "--name",
            "api_token",
            INLINE_SECRET,
        ],
    );
    let dev_inline = ansible_vault(
        root,
        &[
            "encrypt_string",
            "--vault-id",
            &format!("dev@{dev}"),
            "--name",
            "dev_secret",
            DEV_SECRET,
        ],
    );
    assert!(
        dev_inline.contains("$ANSIBLE_VAULT;1.2;AES256;dev"),
        "{dev_inline}"
    );
    write(
        &root.join("group_vars/all.yml"),
        &format!("plain_setting: visible\n{inline}{dev_inline}"),
    );
    write(
        &root.join("secrets.yml"),
        &format!("db_password: {FILE_SECRET}\n"),
    );
    ansible_vault(
        root,
        &["encrypt", "--vault-password-file", &pw, "secrets.yml"],
    );
    write(
        &root.join("files/app.secret"),
        &format!("{}\n{}\n", SRC_LINES[0], SRC_LINES[1]),
    );
    ansible_vault(
        root,
        &["encrypt", "--vault-password-file", &pw, "files/app.secret"],
    );
    write(&root.join("hosts"), "controller ansible_connection=local\n");
    write(
        &root.join("site.yml"),
        r#"- hosts: all
  gather_facts: false
  vars_files:
    - secrets.yml
  tasks:
    - name: a place for the files
      file:
        path: "{{ playbook_dir }}/out"
        state: directory
    - name: show the secrets
      debug:
        msg: "db={{ db_password }} token={{ api_token }} dev={{ dev_secret }} {{ plain_setting }}"
    - name: write them
      copy:
        dest: "{{ playbook_dir }}/out/app.conf"
        content: "password={{ db_password }}\ntoken={{ api_token }}\ndev={{ dev_secret }}\n"
    - name: ship the vaulted file
      copy:
        src: app.secret
        dest: "{{ playbook_dir }}/out/app.secret"
    - name: fail with a secret in the message
      fail:
        msg: "refusing {{ db_password }}"
      ignore_errors: true
"#,
    );
    (dir, pw, dev)
}

fn run_project(dir: &Scratch, extra: &[&str]) -> Run {
    let playbook = dir.path().join("site.yml");
    let hosts = dir.path().join("hosts");
    let mut args = vec![
        "run".to_string(),
        playbook.display().to_string(),
        "-i".to_string(),
        hosts.display().to_string(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    tend(args)
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [
        FILE_SECRET,
        INLINE_SECRET,
        DEV_SECRET,
        PASSWORD,
        DEV_PASSWORD,
    ]
    .iter()
    .chain(SRC_LINES.iter())
    {
        assert!(
            !text.contains(secret),
            "{what} shows the secret {secret:?}:\n{text}"
        );
    }
}

#[test]
fn a_playbook_uses_vaulted_values_and_never_prints_them() {
    let (dir, pw, dev) = project("vault-run");
    let dev_id = format!("dev@{dev}");
    let secrets = [
        "--vault-password-file",
        pw.as_str(),
        "--vault-id",
        dev_id.as_str(),
    ];
    let out = dir.path().join("out");

    let mut args = secrets.to_vec();
    args.extend(["--diff", "-v"]);
    let human = run_project(&dir, &args);
    assert_eq!(human.code, 0, "{}", output(&human));
    assert_eq!(
        std::fs::read_to_string(out.join("app.conf")).unwrap(),
        format!("password={FILE_SECRET}\ntoken={INLINE_SECRET}\ndev={DEV_SECRET}\n"),
        "the values decrypt to what ansible-vault encrypted"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("app.secret")).unwrap(),
        format!("{}\n{}\n", SRC_LINES[0], SRC_LINES[1]),
        "a vaulted src is decrypted on the controller"
    );
    let shown = output(&human);
    assert_no_secret("the human output", &shown);
    assert!(
        shown.contains("\"msg\": \"db=******** token=******** dev=******** visible\""),
        "{shown}"
    );
    assert!(
        shown.contains("+password=********"),
        "the diff is redacted:\n{shown}"
    );
    assert!(
        shown.contains("+********"),
        "the vaulted src's diff is redacted:\n{shown}"
    );
    assert!(shown.contains("refusing ********"), "{shown}");

    // Again from scratch, as JSON: results and diffs are redacted there too.
    std::fs::remove_dir_all(&out).unwrap();
    let mut args = secrets.to_vec();
    args.extend(["--diff", "--format", "json"]);
    let json = run_project(&dir, &args);
    assert_eq!(json.code, 0, "{}", output(&json));
    assert_no_secret("the JSON output", &output(&json));
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON output");
    let task = |i: usize| &doc["plays"][0]["tasks"][i]["hosts"]["controller"];
    assert_eq!(
        task(1)["msg"],
        "db=******** token=******** dev=******** visible"
    );
    assert_eq!(
        task(2)["diff"][0]["after"],
        "password=********\ntoken=********\ndev=********\n"
    );
    assert_eq!(task(4)["msg"], "refusing ********");
}

#[test]
fn a_wrong_or_missing_password_stops_before_any_host_is_touched() {
    let (dir, _pw, dev) = project("vault-wrong");
    let wrong = dir.path().join("wrong");
    write(&wrong, "not the password\n");
    let dev_id = format!("dev@{dev}");
    let out = dir.path().join("out");

    let run = run_project(
        &dir,
        &[
            "--vault-password-file",
            wrong.to_str().unwrap(),
            "--vault-id",
            &dev_id,
        ],
    );
    assert_eq!(run.code, 1, "{}", output(&run));
    let all = dir.path().join("group_vars/all.yml");
    assert!(
        run.stderr
            .starts_with(&format!("error: {}:2:12: ", all.display())),
        "the error points at the inline value:\n{}",
        output(&run)
    );
    assert!(
        run.stderr
            .contains("no vault secret matched (tried vault ids: dev, default)"),
        "{}",
        output(&run)
    );
    assert!(!run.stderr.contains("panicked"), "{}", output(&run));
    assert!(!out.exists(), "no host is touched");

    let run = run_project(&dir, &[]);
    assert_eq!(run.code, 1, "{}", output(&run));
    assert!(
        run.stderr.contains("no vault password was given")
            && run.stderr.contains("--vault-password-file"),
        "{}",
        output(&run)
    );
    assert!(!out.exists(), "no host is touched");

    let view = tend([
        "vault",
        "view",
        "--vault-password-file",
        wrong.to_str().unwrap(),
        dir.path().join("secrets.yml").to_str().unwrap(),
    ]);
    assert_eq!(view.code, 1, "{}", output(&view));
    assert!(
        view.stderr
            .contains("secrets.yml: decryption failed: no vault secret matched"),
        "{}",
        output(&view)
    );
}

#[test]
fn a_missing_password_file_is_named() {
    let missing = PathBuf::from("/nonexistent/tend-vault-password");
    let run = tend([
        "vault",
        "view",
        "--vault-password-file",
        missing.to_str().unwrap(),
        "whatever.yml",
    ]);
    assert_eq!(run.code, 1, "{}", output(&run));
    assert!(
        run.stderr
            .contains("the vault password file /nonexistent/tend-vault-password was not found"),
        "{}",
        output(&run)
    );
}
