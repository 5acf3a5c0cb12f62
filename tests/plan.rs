//! `tend plan` and `tend apply`, run against the controller itself
//! (`ansible_connection=local`), with a temporary directory standing for
//! each host's root. A timeline per capability: the plan shows each change
//! with its diff and a count; apply applies it and a new plan shows
//! nothing; a file edited by hand after the plan makes apply refuse exactly
//! that task and apply the rest (in a later play too, after the first
//! play's changes); a task the plan does not have is refused; a host not
//! reached while planning is reported; a plan too old, made from other
//! playbook files, or no plan at all is refused before any host is
//! touched, and `-o` never writes over a file that is not a plan.
//!
//! Exit codes are API: `tend plan` 0/2 (+4 for problems), `tend apply` as
//! `--detailed-exitcodes` (0, 2, 4, 6), 1 when the plan itself is refused.

mod common;

use std::path::PathBuf;

use common::{Run, Scratch, tend};

const SITE: &str = r#"- hosts: all
  gather_facts: false
  tasks:
    - name: Make the data directory
      file:
        path: "{{ root }}/data"
        state: directory
    - name: Write the config
      copy:
        dest: "{{ root }}/data/app.conf"
        content: "port={{ port }}\n"
    - name: Write the motd
      template:
        src: motd.j2
        dest: "{{ root }}/motd"
    - name: Read the motd
      command: cat {{ root }}/motd
      register: motd
      changed_when: false
      failed_when: false
    - name: Run the migration
      command: touch {{ root }}/migrated
      args:
        creates: "{{ root }}/migrated"
"#;

/// A playbook directory (`project/`) with an inventory of two local hosts,
/// `web1` and `web2`, whose roots are `hosts/web1` and `hosts/web2` beside
/// it (not in it: every file in the playbook's directory is an input).
struct Project {
    dir: Scratch,
}

impl Project {
    fn new(name: &str, playbook: &str) -> Project {
        let dir = Scratch::new(&format!("plan-{name}"));
        let project = Project { dir };
        project.write("site.yml", playbook);
        project.write("templates/motd.j2", "Welcome to {{ inventory_hostname }}\n");
        let mut inventory = String::new();
        for (host, port) in [("web1", 80), ("web2", 81)] {
            let root = project.root(host);
            std::fs::create_dir_all(&root).unwrap();
            inventory.push_str(&format!(
                "{host} ansible_connection=local root={} port={port}\n",
                root.display()
            ));
        }
        project.write("inventory", &inventory);
        project
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.dir.path().join("project").join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn path(&self, rel: &str) -> String {
        self.dir
            .path()
            .join("project")
            .join(rel)
            .display()
            .to_string()
    }

    fn root(&self, host: &str) -> PathBuf {
        self.dir.path().join("hosts").join(host)
    }

    fn read(&self, host: &str, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.root(host).join(rel)).ok()
    }

    fn plan(&self) -> Run {
        tend([
            "plan",
            &self.path("site.yml"),
            "-i",
            &self.path("inventory"),
            "-o",
            &self.path("plan.json"),
        ])
    }

    fn apply(&self, extra: &[&str]) -> Run {
        let plan = self.path("plan.json");
        let mut args = vec!["apply", plan.as_str()];
        args.extend_from_slice(extra);
        tend(args)
    }

    /// The plan file as JSON, changed by `edit`.
    fn edit_plan(&self, edit: impl FnOnce(&mut serde_json::Value)) {
        let path = self.path("plan.json");
        let mut plan: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        edit(&mut plan);
        std::fs::write(&path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    }

    /// Output with the project's directory as `ROOT`.
    fn redact(&self, text: &str) -> String {
        text.replace(self.dir.str(), "ROOT")
    }

    fn untouched(&self) -> bool {
        ["web1", "web2"]
            .iter()
            .all(|h| std::fs::read_dir(self.root(h)).unwrap().next().is_none())
    }
}

fn show(run: &Run) -> String {
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    )
}

#[test]
fn a_plan_shows_each_change_with_its_diff_and_counts_them() {
    let p = Project::new("shows", SITE);
    let out = p.plan();
    assert_eq!(out.code, 2, "{}", show(&out));
    let host = |h: &str| {
        format!(
            "{h}:
  ~ Make the data directory (file, site.yml:4:7)
      --- before: ROOT/hosts/{h}/data
      +++ after: ROOT/hosts/{h}/data
      @@ -1 +1 @@
      -state: absent
      +state: directory
  ? Write the config (copy, site.yml:8:7): depends on 'Make the data directory', which changes the host first (Destination directory ROOT/hosts/{h}/data does not exist)
  ~ Write the motd (template, site.yml:12:7)
      (as seen before 'Make the data directory' changes the host)
      --- before: ROOT/hosts/{h}/motd
      +++ after: ROOT/hosts/{h}/motd
      @@ -0,0 +1 @@
      +Welcome to {h}
  > Run the migration (command, site.yml:21:7): runs when applied; what it changes cannot be shown

"
        )
    };
    assert_eq!(
        p.redact(&out.stdout),
        format!(
            "{}{}Plan: 8 to change on 2 hosts.\n\nSaved the plan to ROOT/project/plan.json. Apply it with: tend apply ROOT/project/plan.json\n",
            host("web1"),
            host("web2")
        ),
        "{}",
        show(&out)
    );
    assert!(p.untouched(), "a plan changes nothing");

    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("plan.json")).unwrap()).unwrap();
    assert_eq!(file["format"], "tend-plan");
    assert_eq!(file["version"], 1);
    assert_eq!(file["run"]["playbook"], p.path("site.yml"));
    assert_eq!(file["run"]["inventory"][0], p.path("inventory"));
    let actions: Vec<&str> = file["hosts"][0]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["change", "depends", "change", "read", "run"]);
    let first = &file["hosts"][0]["tasks"][0];
    assert_eq!(first["fingerprint"].as_str().unwrap().len(), 64);
    let files: Vec<&str> = file["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["inventory", "site.yml", "templates/motd.j2"]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(p.path("plan.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "a plan holds diffs: its owner's only");
}

#[test]
fn apply_applies_the_plan_and_a_new_plan_shows_no_change() {
    let p = Project::new("converge", SITE);
    assert_eq!(p.plan().code, 2);
    let out = p.apply(&[]);
    assert_eq!(out.code, 2, "{}", show(&out));
    assert!(
        out.stdout
            .ends_with("Apply: 8 of 8 planned changes went ahead, 0 refused.\n"),
        "{}",
        show(&out)
    );
    for (host, port) in [("web1", 80), ("web2", 81)] {
        assert_eq!(out.changed(host), 4, "{}", show(&out));
        assert_eq!(
            p.read(host, "data/app.conf"),
            Some(format!("port={port}\n"))
        );
        assert_eq!(p.read(host, "motd"), Some(format!("Welcome to {host}\n")));
        assert!(p.root(host).join("migrated").exists());
    }

    let again = p.plan();
    assert_eq!(again.code, 0, "{}", show(&again));
    assert!(
        again
            .stdout
            .starts_with("No changes. The hosts match the playbook.\n"),
        "{}",
        show(&again)
    );
    let noop = p.apply(&[]);
    assert_eq!(
        (noop.code, noop.stdout.as_str()),
        (0, "The plan has no changes: nothing to apply.\n"),
        "{}",
        show(&noop)
    );
}

#[test]
fn a_file_edited_after_the_plan_is_refused_and_the_rest_applied() {
    let p = Project::new("perturb", SITE);
    assert_eq!(p.plan().code, 2);
    // By hand, after the plan: web1's motd, a file the plan would write.
    std::fs::write(p.root("web1").join("motd"), "by hand\n").unwrap();
    let out = p.apply(&[]);
    // Changes made (2) and a task refused (4).
    assert_eq!(out.code, 6, "{}", show(&out));
    let refusal = "web1: Write the motd: the host changed since the plan (state fingerprint differs); refusing to apply; make a new plan";
    assert!(
        out.stdout.contains(&format!(
            "fatal: [web1]: FAILED! => {{\"failed\":true,\"msg\":\"{refusal}\",\"changed\":false}}"
        )),
        "{}",
        show(&out)
    );
    assert!(
        out.stdout.ends_with(&format!(
            "Refused (the host no longer matches the plan):\n  {refusal}\nApply: 7 of 8 planned changes went ahead, 1 refused.\n"
        )),
        "{}",
        show(&out)
    );
    assert_eq!(p.read("web1", "motd").as_deref(), Some("by hand\n"));
    // The rest of web1, before and after the refused task, and all of web2.
    assert_eq!(out.recap("web1")[..4], [4, 3, 0, 1], "{}", show(&out));
    assert_eq!(
        p.read("web1", "data/app.conf").as_deref(),
        Some("port=80\n")
    );
    assert!(p.root("web1").join("migrated").exists());
    assert_eq!(out.recap("web2")[..4], [5, 4, 0, 0], "{}", show(&out));
    assert_eq!(p.read("web2", "motd").as_deref(), Some("Welcome to web2\n"));

    // A new plan shows the one change left, against the file as it is.
    let again = p.plan();
    assert_eq!(again.code, 2, "{}", show(&again));
    assert!(
        again.stdout.contains("-by hand\n      +Welcome to web1\n"),
        "{}",
        show(&again)
    );
    assert!(
        again.stdout.contains("Plan: 1 to change on 1 host.\n"),
        "{}",
        show(&again)
    );
}

#[test]
fn a_task_that_is_not_in_the_plan_is_refused() {
    let p = Project::new(
        "unplanned",
        &format!(
            "{}{}",
            r#"- hosts: web1
  gather_facts: false
  tasks:
    - name: Look for the flag
      stat:
        path: "{{ root }}/flag"
      register: flag
    - name: Write the note
      copy:
        dest: "{{ root }}/note"
        content: "flagged\n"
      when: flag.stat.exists
"#,
            r#"    - name: Write the motd
      template:
        src: motd.j2
        dest: "{{ root }}/motd"
"#
        ),
    );
    assert_eq!(p.plan().code, 2);
    // The flag appears after the plan: the note, skipped then, would run.
    std::fs::write(p.root("web1").join("flag"), "").unwrap();
    let out = p.apply(&[]);
    assert_eq!(out.code, 6, "{}", show(&out));
    assert!(
        out.stdout.contains("  web1: Write the note: this task is not in the plan (it did not run on this host when the plan was made); refusing to apply; make a new plan\n"),
        "{}",
        show(&out)
    );
    assert_eq!(p.read("web1", "note"), None);
    assert_eq!(p.read("web1", "motd").as_deref(), Some("Welcome to web1\n"));
}

#[test]
fn a_loop_item_is_refused_on_its_own() {
    let p = Project::new(
        "loop",
        r#"- hosts: web1
  gather_facts: false
  tasks:
    - name: Write the files
      copy:
        dest: "{{ root }}/{{ item }}"
        content: "{{ item }}\n"
      loop: [a, b, c]
"#,
    );
    assert_eq!(p.plan().code, 2);
    std::fs::write(p.root("web1").join("b"), "by hand\n").unwrap();
    let out = p.apply(&[]);
    // A loop with a failed item counts as failed, not changed, as in Ansible.
    assert_eq!(out.code, 4, "{}", show(&out));
    assert!(
        out.stdout.contains("  web1: Write the files: the host changed since the plan (state fingerprint differs); refusing to apply; make a new plan\n"),
        "{}",
        show(&out)
    );
    assert!(
        out.stdout
            .ends_with("Apply: 2 of 3 planned changes went ahead, 1 refused.\n"),
        "{}",
        show(&out)
    );
    assert_eq!(p.read("web1", "a").as_deref(), Some("a\n"));
    assert_eq!(p.read("web1", "b").as_deref(), Some("by hand\n"));
    assert_eq!(p.read("web1", "c").as_deref(), Some("c\n"));
}

#[test]
fn a_later_play_is_compared_with_the_host_as_it_was_before_the_apply() {
    let p = Project::new(
        "plays",
        r#"- name: Prepare
  hosts: all
  gather_facts: false
  tasks:
    - name: The app directory
      file:
        path: "{{ root }}/app"
        state: directory
- name: Deploy
  hosts: all
  gather_facts: false
  tasks:
    - name: The config
      copy:
        dest: "{{ root }}/app/app.conf"
        content: "port={{ port }}\n"
    - name: The motd
      template:
        src: motd.j2
        dest: "{{ root }}/motd"
"#,
    );
    assert_eq!(p.plan().code, 2);
    std::fs::write(p.root("web2").join("motd"), "by hand\n").unwrap();
    let out = p.apply(&[]);
    assert_eq!(out.code, 6, "{}", show(&out));
    // Both tasks of the second play run after the first play's change and
    // are judged on the host as it was before the apply (tend reads every
    // host first): only web2's edited motd is refused.
    assert!(
        out.stdout.ends_with("Refused (the host no longer matches the plan):\n  web2: The motd: the host changed since the plan (state fingerprint differs); refusing to apply; make a new plan\nApply: 5 of 6 planned changes went ahead, 1 refused.\n"),
        "{}",
        show(&out)
    );
    assert_eq!(p.read("web1", "app/app.conf").as_deref(), Some("port=80\n"));
    assert_eq!(p.read("web1", "motd").as_deref(), Some("Welcome to web1\n"));
    assert_eq!(p.read("web2", "app/app.conf").as_deref(), Some("port=81\n"));
    assert_eq!(p.read("web2", "motd").as_deref(), Some("by hand\n"));
}

#[test]
fn a_plan_older_than_max_age_is_refused_before_any_host_is_touched() {
    let p = Project::new("age", SITE);
    assert_eq!(p.plan().code, 2);
    p.edit_plan(|plan| {
        let made = plan["created_unix"].as_u64().unwrap();
        plan["created_unix"] = (made - 2 * 3600).into();
    });
    let out = p.apply(&["--max-age", "1h"]);
    assert_eq!(out.code, 1, "{}", show(&out));
    assert!(
        p.redact(&out.stderr).starts_with(
            "error: ROOT/project/plan.json: refused, nothing was applied: the plan is 2h old (made "
        ) && out
            .stderr
            .ends_with(", older than --max-age 1h: make a new plan\n"),
        "{}",
        show(&out)
    );
    assert!(p.untouched());

    // The default limit is a day.
    p.edit_plan(|plan| {
        let made = plan["created_unix"].as_u64().unwrap();
        plan["created_unix"] = (made - 23 * 3600).into();
    });
    let out = p.apply(&[]);
    assert_eq!(out.code, 1, "{}", show(&out));
    assert!(
        out.stderr.contains("the plan is 1d 1h old"),
        "{}",
        show(&out)
    );
    assert!(
        out.stderr.contains("older than --max-age 1d"),
        "{}",
        show(&out)
    );
    assert!(p.untouched());

    let out = p.apply(&["--max-age", "30"]);
    assert_eq!(out.code, 1, "{}", show(&out));
    assert!(
        out.stderr
            .starts_with("error: --max-age '30' is not a duration"),
        "{}",
        show(&out)
    );
}

#[test]
fn a_plan_made_from_other_playbook_files_is_refused() {
    let p = Project::new("files", SITE);
    assert_eq!(p.plan().code, 2);
    // A second plan beside the playbook is no input of the run.
    let other = tend([
        "plan",
        &p.path("site.yml"),
        "-i",
        &p.path("inventory"),
        "-o",
        &p.path("plan-2.json"),
    ]);
    assert_eq!(other.code, 2, "{}", show(&other));
    p.write("templates/motd.j2", "Hello from {{ inventory_hostname }}\n");
    let out = p.apply(&[]);
    assert_eq!(out.code, 1, "{}", show(&out));
    assert_eq!(
        p.redact(&out.stderr),
        "error: ROOT/project/plan.json: refused, nothing was applied: the plan was made from different playbook files (templates/motd.j2 has changed since it was made): make a new plan\n",
        "{}",
        show(&out)
    );
    assert!(p.untouched());

    p.write("templates/motd.j2", "Welcome to {{ inventory_hostname }}\n");
    p.write("vars.yml", "extra: 1\n");
    let out = p.apply(&[]);
    assert_eq!(out.code, 1, "{}", show(&out));
    assert!(
        out.stderr.contains("(vars.yml is new since it was made)"),
        "{}",
        show(&out)
    );
    assert!(p.untouched());
}

#[test]
fn a_host_that_cannot_be_reached_while_planning_is_reported_and_left_out() {
    let p = Project::new("unreachable", SITE);
    let inventory = std::fs::read_to_string(p.path("inventory")).unwrap();
    p.write(
        "inventory",
        &format!("{inventory}web3 ansible_connection=nonesuch root=/nonexistent port=1\n"),
    );
    let out = p.plan();
    // Changes planned (2) and a host not reached (4): the plan is written.
    assert_eq!(out.code, 6, "{}", show(&out));
    assert!(
        out.stdout.contains("Problems while planning (what a host did not reach is not in the plan; apply refuses it):\n  web3: Make the data directory: UNREACHABLE: cannot reach web3: "),
        "{}",
        show(&out)
    );
    assert!(
        out.stdout.contains("Plan: 8 to change on 2 hosts.\n"),
        "{}",
        show(&out)
    );
    let out = p.apply(&[]);
    assert_eq!(out.code, 6, "{}", show(&out));
    assert_eq!(out.recap("web3")[2], 1, "{}", show(&out));
    assert!(
        out.stdout
            .ends_with("Apply: 8 of 8 planned changes went ahead, 0 refused.\n"),
        "{}",
        show(&out)
    );
}

#[test]
fn a_plan_is_never_written_over_a_file_that_is_not_one() {
    let p = Project::new("overwrite", SITE);
    let out = tend([
        "plan",
        &p.path("site.yml"),
        "-i",
        &p.path("inventory"),
        "-o",
        &p.path("site.yml"),
    ]);
    assert_eq!(out.code, 1, "{}", show(&out));
    assert_eq!(
        p.redact(&out.stderr),
        "error: -o ROOT/project/site.yml: refusing to write the plan over a file that is not a plan\n"
    );
    assert_eq!(std::fs::read_to_string(p.path("site.yml")).unwrap(), SITE);
    assert!(p.untouched());
}

#[test]
fn what_is_not_a_plan_gets_a_clear_error_and_no_panic() {
    let p = Project::new("garbage", SITE);
    assert_eq!(p.plan().code, 2);
    let good = std::fs::read_to_string(p.path("plan.json")).unwrap();
    let cases: [(&str, &[u8], &str); 6] = [
        (
            "binary.json",
            b"\x00\xff\xfe garbage",
            "not a tend plan, or a damaged one: it is not text",
        ),
        (
            "empty.json",
            b"",
            "not a tend plan, or a damaged one: it is not valid JSON",
        ),
        (
            "other.json",
            b"{\"terraform\": true}",
            "not a tend plan: it has no \"format\": \"tend-plan\"",
        ),
        (
            "cut.json",
            &good.as_bytes()[..good.len() / 2],
            "not a tend plan, or a damaged one",
        ),
        (
            "future.json",
            br#"{"format": "tend-plan", "version": 7}"#,
            "the plan has format version 7, newer than this tend reads (1)",
        ),
        (
            "damaged.json",
            br#"{"format": "tend-plan", "version": 1, "hosts": "all"}"#,
            "a damaged tend plan: ",
        ),
    ];
    for (name, bytes, expected) in cases {
        p.write(name, "");
        std::fs::write(p.path(name), bytes).unwrap();
        let out = tend(["apply", &p.path(name)]);
        assert_eq!(out.code, 1, "{name}: {}", show(&out));
        assert!(
            out.stderr
                .starts_with(&format!("error: {}: ", p.path(name)))
                && out.stderr.contains(expected)
                && !out.stderr.contains("panicked"),
            "{name}: {}",
            show(&out)
        );
    }
    let missing = tend(["apply", &p.path("missing.json")]);
    assert_eq!(missing.code, 1, "{}", show(&missing));
    assert_eq!(
        p.redact(&missing.stderr),
        "error: ROOT/project/missing.json: no such file or directory\n"
    );
    assert!(p.untouched());
}
