//! Secrets stay out of everything tend writes. A playbook run against the
//! controller itself (`ansible_connection=local`, a temporary directory as
//! the host's root) puts a secret in a `no_log` task's arguments, loop
//! items, result, failure messages and diff, and uses a vaulted value and
//! the become passwords (from the inventory and from
//! `--become-password-file`) in tasks without `no_log`; then every channel
//! is searched for each secret: stdout and stderr at default verbosity and
//! at -vvv, `--format json`, `--check --diff`, a drift run's report
//! directory, summary and metrics, and `tend plan`'s output and plan file,
//! then `tend apply`'s. Each run must also have written the secrets to
//! the host, so that a task doing nothing cannot pass for one that hid
//! what it did.
//!
//! Also: `no_log` set on a play reaches its roles and blocks, a task can
//! turn it off, a templated `no_log` is rendered per loop item, and one
//! that cannot be rendered hides (fail closed); and a file written with
//! `validate:` is validated while only its owner can read it (0600) and
//! leaves no temporary file behind when the validation fails.
//!
//! Not covered here: a become password really used by sudo, which needs a
//! host with sudo (tests/lab_become.rs); here the password is a variable a
//! task prints, which must come out masked all the same.

mod common;

use std::path::{Path, PathBuf};

use common::{Run, Scratch, tend};

/// Only `no_log` hides this one: it is a plain variable.
const NOLOG_SECRET: &str = "nolog-Secret-7Qx2w";
/// A vaulted variable, used in tasks without `no_log`.
const VAULT_SECRET: &str = "vault-Secret-9Kp4z";
/// `ansible_become_password` of the host, printed by a task.
const BECOME_SECRET: &str = "become-Secret-3Lm8v";
/// The password of `--become-password-file`, printed by a task.
const BECOME_FILE_SECRET: &str = "becomefile-Secret-5Rt1q";
const VAULT_PASSWORD: &str = "vault password for the no_log test";

const SECRETS: [&str; 4] = [
    NOLOG_SECRET,
    VAULT_SECRET,
    BECOME_SECRET,
    BECOME_FILE_SECRET,
];

const SITE: &str = r#"- hosts: all
  gather_facts: false
  vars:
    nolog_secret: NOLOG_SECRET
    vaulted: VAULTED
  tasks:
    - name: Write the secret
      copy:
        dest: "{{ root }}/nolog.conf"
        content: "password={{ nolog_secret }}\n"
        mode: "0600"
      no_log: true

    - name: Write the secret from a template
      template:
        src: secret.j2
        dest: "{{ root }}/template.conf"
      no_log: true

    - name: Write the secret in a loop
      copy:
        dest: "{{ root }}/item-{{ item.n }}.conf"
        content: "{{ item.pw }}\n"
      loop:
        - { n: 1, pw: "{{ nolog_secret }}" }
      no_log: true

    - name: Print the secret
      command: echo {{ nolog_secret }}
      changed_when: false
      no_log: true

    - name: Print the secret as debug does
      debug:
        msg: "{{ nolog_secret }}"
      no_log: true

    - name: Fail with the secret on stderr
      command: sh -c 'echo {{ nolog_secret }} >&2; exit 3'
      no_log: true
      ignore_errors: true

    - name: Fail one loop item with the secret
      command: sh -c 'echo {{ item }} >&2; exit 3'
      loop: ["{{ nolog_secret }}"]
      no_log: true
      ignore_errors: true

    - name: Retry with the secret
      command: echo {{ nolog_secret }}
      register: retried
      until: retried.stdout == 'never'
      retries: 1
      delay: 0
      changed_when: false
      no_log: true
      ignore_errors: true

    - name: A parameter error that names the secret
      file:
        path: "{{ root }}/odd"
        mode: "{{ nolog_secret }}"
      no_log: true
      ignore_errors: true

    - name: Write the vaulted value
      copy:
        dest: "{{ root }}/vault.conf"
        content: "token={{ vaulted }}\n"

    - name: Print the vaulted value
      command: echo {{ vaulted }}
      changed_when: false

    - name: Show the vaulted value
      debug:
        var: vaulted

    - name: Write the become passwords
      copy:
        dest: "{{ root }}/become.conf"
        content: "{{ ansible_become_password }} {{ lookup('file', become_file) }}\n"

    - name: Print the become passwords
      command: echo {{ ansible_become_password }} {{ lookup('file', become_file) }}
      changed_when: false

    - name: Fail at last, with the secret
      fail:
        msg: "{{ nolog_secret }}"
      no_log: true
"#;

/// A playbook directory (`project/`) with an inventory of one local host
/// whose root is `host/` beside it, and the password files in `secrets/`.
struct Project {
    dir: Scratch,
}

impl Project {
    fn new(name: &str, playbook: &str) -> Project {
        let dir = Scratch::new(&format!("no-log-{name}"));
        let project = Project { dir };
        std::fs::create_dir_all(project.root()).unwrap();
        project.write("secrets/vault-pw", &format!("{VAULT_PASSWORD}\n"));
        project.write("secrets/become-pw", &format!("{BECOME_FILE_SECRET}\n"));
        project.write("project/templates/secret.j2", "secret={{ nolog_secret }}\n");
        project.write(
            "project/inventory",
            &format!(
                "h1 ansible_connection=local root={} ansible_become_password={BECOME_SECRET} become_file={}\n",
                project.root().display(),
                project.path("secrets/become-pw")
            ),
        );
        project.write("project/site.yml", playbook);
        project
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).display().to_string()
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("host")
    }

    /// The host as it was before any run: every run changes it again.
    fn fresh_root(&self) {
        let _ = std::fs::remove_dir_all(self.root());
        std::fs::create_dir_all(self.root()).unwrap();
    }

    /// `tend <command> <playbook-or-plan> <extra...>` with the inventory,
    /// vault and become password files.
    fn tend(&self, command: &str, target: &str, extra: &[&str]) -> Run {
        let mut args = vec![command.to_string(), self.path(target)];
        if command != "apply" {
            args.extend(["-i".into(), self.path("project/inventory")]);
        }
        args.extend([
            "--vault-password-file".into(),
            self.path("secrets/vault-pw"),
            "--become-password-file".into(),
            self.path("secrets/become-pw"),
        ]);
        args.extend(extra.iter().map(|s| s.to_string()));
        tend(args)
    }

    /// The playbook with the vaulted value made by `tend vault encrypt_string`.
    fn vault_playbook(&self, playbook: &str) -> String {
        let out = tend([
            "vault",
            "encrypt_string",
            "--vault-password-file",
            &self.path("secrets/vault-pw"),
            VAULT_SECRET,
        ]);
        assert_eq!(out.code, 0, "{}", show(&out));
        // `!vault |` and its lines, indented under `vaulted:`.
        let block = out
            .stdout
            .trim_end()
            .lines()
            .map(|l| format!("      {}", l.trim()))
            .collect::<Vec<_>>()
            .join("\n");
        playbook.replace("VAULTED", block.trim_start())
    }

    /// Asserts that the run reached the host: each secret is in its file.
    fn assert_written(&self, what: &str, run: &Run) {
        let read = |rel: &str| std::fs::read_to_string(self.root().join(rel)).unwrap_or_default();
        let wanted = [
            ("nolog.conf", format!("password={NOLOG_SECRET}\n")),
            ("template.conf", format!("secret={NOLOG_SECRET}\n")),
            ("item-1.conf", format!("{NOLOG_SECRET}\n")),
            ("vault.conf", format!("token={VAULT_SECRET}\n")),
            (
                "become.conf",
                format!("{BECOME_SECRET} {BECOME_FILE_SECRET}\n"),
            ),
        ];
        for (file, content) in wanted {
            assert_eq!(read(file), content, "{what}: {file}\n{}", show(run));
        }
    }
}

fn show(run: &Run) -> String {
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    )
}

/// Fails naming the channel and the secret if any secret is in `text`.
fn assert_clean(channel: &str, text: &str) {
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "{channel} shows the secret {secret}:\n{text}"
        );
    }
}

/// Every regular file under `dir`, with its path.
fn files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push((p.clone(), std::fs::read_to_string(&p).unwrap_or_default()));
        }
    }
    out
}

#[test]
fn no_secret_reaches_any_output_channel_while_every_one_reaches_the_host() {
    let project = Project::new("channels", "");
    project.write(
        "project/site.yml",
        &project
            .vault_playbook(SITE)
            .replace("NOLOG_SECRET", NOLOG_SECRET),
    );
    let site = "project/site.yml";
    let censored = "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

    // A saved plan first, on the host as it was: every change and its
    // diff, the vaulted one included.
    let plan = project.tend("plan", site, &["-o", &project.path("plan.json")]);
    assert_clean("tend plan", &show(&plan));
    assert!(
        plan.stdout.contains("Write the vaulted value"),
        "{}",
        show(&plan)
    );
    assert!(plan.stdout.contains("+token=********"), "{}", show(&plan));
    assert!(plan.stdout.contains("(item=None)"), "{}", show(&plan));
    let plan_file = std::fs::read_to_string(project.path("plan.json")).unwrap();
    assert_clean("the plan file", &plan_file);
    assert!(plan_file.contains(censored), "{plan_file}");
    let apply = project.tend("apply", "plan.json", &["--diff", "-vvv"]);
    assert_clean("tend apply", &show(&apply));
    project.assert_written("tend apply", &apply);

    let runs: [(&str, &[&str]); 5] = [
        ("run --diff", &["--diff"]),
        ("run --diff -vvv", &["--diff", "-vvv"]),
        ("run --check --diff -vvv", &["--check", "--diff", "-vvv"]),
        ("run --format json", &["--diff", "--format", "json"]),
        (
            "run --drift",
            &[
                "--drift",
                "--diff",
                "--state-dir",
                &project.path("state"),
                "--metrics-file",
                &project.path("metrics.prom"),
            ],
        ),
    ];
    for (what, args) in runs {
        project.fresh_root();
        let run = project.tend("run", site, args);
        assert_clean(what, &show(&run));
        if what.contains("--check") {
            assert!(std::fs::read_dir(project.root()).unwrap().next().is_none());
            continue;
        }
        project.assert_written(what, &run);
        // The last task failed, and said nothing but Ansible's message
        // (the drift run in its summary).
        assert!(run.stdout.contains(censored), "{what}:\n{}", show(&run));
    }

    project.fresh_root();
    let human = project.tend("run", site, &["--diff", "-vvv"]);
    let out = &human.stdout;
    assert!(
        out.contains("changed: [h1] => (item=None) => {\"censored\""),
        "{out}"
    );
    assert!(
        out.contains("failed: [h1] (item=None) => {\"censored\""),
        "{out}"
    );
    assert!(
        out.contains("FAILED - RETRYING: [h1]: Retry with the secret (1 retries left).Result was: {\"censored\""),
        "{out}"
    );
    assert!(out.contains("\"vaulted\": \"********\""), "{out}");
    assert!(out.contains("\"stdout\":\"******** ********\""), "{out}");

    let reports = files(&project.dir.path().join("state"));
    assert!(
        reports.len() >= 2,
        "a report and last-run.json: {reports:?}"
    );
    for (path, text) in &reports {
        assert_clean(&path.display().to_string(), text);
    }
    let last = reports
        .iter()
        .find(|(p, _)| p.ends_with("last-run.json"))
        .map(|(_, t)| t.clone())
        .unwrap_or_default();
    assert!(last.contains(censored), "{last}");
    assert!(last.contains("Write the vaulted value"), "{last}");
    let metrics = std::fs::read_to_string(project.path("metrics.prom")).unwrap();
    assert_clean("the metrics file", &metrics);
    assert!(
        metrics.contains("tend_drift_last_run_failed_tasks"),
        "{metrics}"
    );
}

#[test]
fn no_log_reaches_roles_and_blocks_from_the_play_and_is_rendered_per_item() {
    let project = Project::new("inherit", "");
    project.write(
        "project/roles/keeper/tasks/main.yml",
        "- name: Role task\n  debug:\n    msg: \"role {{ nolog_secret }}\"\n",
    );
    project.write(
        "project/site.yml",
        &r#"- hosts: all
  gather_facts: false
  no_log: true
  vars:
    nolog_secret: NOLOG_SECRET
  roles:
    - keeper
  tasks:
    - block:
        - name: Block task
          debug:
            msg: "block {{ nolog_secret }}"
    - name: Play task
      command: echo {{ nolog_secret }}
      changed_when: false
    - name: Shown on purpose
      debug:
        msg: "visible-{{ 6 * 7 }}"
      no_log: false

- hosts: all
  gather_facts: false
  vars:
    nolog_secret: NOLOG_SECRET
    hide: true
  tasks:
    - name: Templated
      debug:
        msg: "{{ nolog_secret }}"
      no_log: "{{ hide }}"
    - name: Per item
      debug:
        msg: "{{ item.v }}"
      loop:
        - { v: "{{ nolog_secret }}", hide: true }
        - { v: "visible-item", hide: false }
      no_log: "{{ item.hide }}"
    - name: Not a boolean
      debug:
        msg: "{{ nolog_secret }}"
      no_log: "{{ no_such_variable }}"
"#
        .replace("NOLOG_SECRET", NOLOG_SECRET),
    );
    let run = project.tend("run", "project/site.yml", &["-vvv"]);
    assert_eq!(run.code, 0, "{}", show(&run));
    assert_clean("a run with inherited no_log", &show(&run));
    let out = &run.stdout;
    assert!(out.contains("\"msg\": \"visible-42\""), "{out}");
    assert!(out.contains("ok: [h1] => (item=None)"), "{out}");
    // The item whose `no_log` is false is shown.
    assert!(out.contains("\"msg\":\"visible-item\""), "{out}");
    assert_eq!(
        out.matches("the output has been hidden").count(),
        6,
        "role, block, play, templated, one item, not a boolean:\n{out}"
    );
    let json = project.tend("run", "project/site.yml", &["--format", "json"]);
    assert_clean("JSON with inherited no_log", &show(&json));
}

#[test]
fn a_failed_validation_leaves_no_temporary_file_and_saw_only_mode_0600() {
    let project = Project::new("validate", "");
    let seen = project.root().join("mode-seen");
    project.write(
        "project/site.yml",
        &format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - name: Write a secret that does not validate
      copy:
        dest: "{{{{ root }}}}/app.conf"
        content: "password={NOLOG_SECRET}\n"
        mode: "0644"
        validate: "sh -c 'stat -c %a \"$0\" > {seen}; echo {NOLOG_SECRET} >&2; exit 1' %s"
      no_log: true
"#,
            seen = seen.display()
        ),
    );
    std::fs::write(project.root().join("app.conf"), "old\n").unwrap();
    for verbosity in ["-v", "-vvv"] {
        let run = project.tend("run", "project/site.yml", &[verbosity]);
        assert_ne!(run.code, 0, "{}", show(&run));
        assert_clean("a failed validation", &show(&run));
        assert!(
            run.stdout.contains("fatal: [h1]: FAILED! => {\"censored\""),
            "{}",
            show(&run)
        );
        // The content was there, readable by its owner only.
        assert_eq!(std::fs::read_to_string(&seen).unwrap().trim(), "600");
        let mut names: Vec<String> = std::fs::read_dir(project.root())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["app.conf", "mode-seen"], "no .tend-* file is left");
        assert_eq!(
            std::fs::read_to_string(project.root().join("app.conf")).unwrap(),
            "old\n"
        );
    }
}
