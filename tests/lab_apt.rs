//! `apt` and `package` on a real Debian host (lab host h7, packages from the
//! lab's local repository): pinned installs, upgrades to the latest version,
//! removal, several packages in one task, a missing package, a cache update,
//! a `.deb` from the controller, check mode, and drift timelines: apply,
//! apply again (no change), remove the package by hand, `--check --diff`
//! reports it and touches nothing, apply puts it back.
//!
//! Every test takes h7 for itself (`Lab::take`): dpkg has one database.

mod common;

use std::path::PathBuf;

use common::Run;
use common::lab::{self, Dir, Lab, Taken};

const HOST: &str = "h7";

/// h7, held for one test, with none of the test packages installed.
struct Apt {
    lab: Lab,
    dir: Dir,
    inventory: PathBuf,
    _host: Taken,
}

impl Apt {
    fn new(test: &str) -> Option<Apt> {
        let lab = lab::lab(test)?;
        lab.ensure_up(7);
        let host = lab.take(HOST);
        let dir = Dir::new(&format!("apt-{test}"));
        let inventory = dir.write(
            "inventory.ini",
            format!("{}\n", lab.host(HOST, HOST).line()),
        );
        let apt = Apt {
            lab,
            dir,
            inventory,
            _host: host,
        };
        apt.sh("apt-get -y -q purge lab-hello hello tree >/dev/null 2>&1; apt-mark unhold lab-hello >/dev/null 2>&1; true");
        Some(apt)
    }

    /// Runs `tasks` (YAML list items, indented 4) in a play on h7.
    fn run(&self, tasks: &str, extra: &[&str]) -> Run {
        let play = self.dir.write(
            "site.yml",
            format!("- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}"),
        );
        let mut args = vec![
            "run",
            play.to_str().unwrap(),
            "-i",
            self.inventory.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        self.dir.tend(args)
    }

    fn sh(&self, script: &str) -> String {
        self.lab.ssh_ok(HOST, script)
    }

    /// The installed version of `pkg`, or `None`.
    fn version(&self, pkg: &str) -> Option<String> {
        let out = self.sh(&format!(
            "dpkg-query -W -f='${{Status}} ${{Version}}' {pkg} 2>/dev/null || true"
        ));
        out.strip_prefix("install ok installed ")
            .map(str::to_string)
    }

    fn changed(&self, run: &Run) -> u32 {
        assert_eq!(run.failed(HOST), 0, "{}\n{}", run.stdout, run.stderr);
        run.changed(HOST)
    }
}

fn apt_task(args: &str) -> String {
    format!("    - name: packages\n      apt: {args}\n")
}

#[test]
fn pinned_install_then_latest_then_absent_with_drift() {
    let Some(h) = Apt::new("pinned_install_then_latest_then_absent_with_drift") else {
        return;
    };
    let pinned = apt_task("{name: lab-hello=1.0}");

    let first = h.run(&pinned, &["--diff"]);
    assert_eq!(h.changed(&first), 1, "{}", first.stdout);
    assert!(first.stdout.contains("+lab-hello: 1.0"), "{}", first.stdout);
    assert_eq!(h.version("lab-hello").as_deref(), Some("1.0"));
    assert_eq!(h.sh("lab-hello"), "lab-hello 1.0\n");
    let again = h.run(&pinned, &[]);
    assert_eq!(h.changed(&again), 0, "{}", again.stdout);

    // Drift: removed by hand. --check tells, and leaves it removed.
    h.sh("DEBIAN_FRONTEND=noninteractive apt-get -y -q remove lab-hello >/dev/null");
    let check = h.run(&pinned, &["--check", "--diff"]);
    assert_eq!(h.changed(&check), 1, "{}", check.stdout);
    assert!(
        check.stdout.contains("-lab-hello: absent"),
        "{}",
        check.stdout
    );
    assert!(check.stdout.contains("+lab-hello: 1.0"), "{}", check.stdout);
    assert_eq!(h.version("lab-hello"), None, "--check installed nothing");
    let fixed = h.run(&pinned, &[]);
    assert_eq!(h.changed(&fixed), 1, "{}", fixed.stdout);
    assert_eq!(h.version("lab-hello").as_deref(), Some("1.0"));

    // latest: 1.0 -> 1.1, then nothing to do.
    let latest = apt_task("{name: lab-hello, state: latest}");
    let up = h.run(&latest, &["--diff"]);
    assert_eq!(h.changed(&up), 1, "{}", up.stdout);
    assert!(up.stdout.contains("-lab-hello: 1.0"), "{}", up.stdout);
    assert!(up.stdout.contains("+lab-hello: 1.1"), "{}", up.stdout);
    assert_eq!(h.sh("lab-hello"), "lab-hello 1.1\n");
    assert_eq!(h.changed(&h.run(&latest, &[])), 0);

    // The old pin now asks for a downgrade, which needs allow_downgrade.
    let refused = h.run(&pinned, &[]);
    assert_eq!(refused.failed(HOST), 1, "{}", refused.stdout);
    let msg = lab::fatal_line(&refused, HOST).unwrap_or_default();
    assert!(msg.contains("would downgrade it from 1.1"), "{msg}");
    assert_eq!(h.version("lab-hello").as_deref(), Some("1.1"));

    // absent removes it; then nothing to do.
    let absent = apt_task("{name: lab-hello, state: absent}");
    let gone = h.run(&absent, &["--diff"]);
    assert_eq!(h.changed(&gone), 1, "{}", gone.stdout);
    assert!(
        gone.stdout.contains("+lab-hello: absent"),
        "{}",
        gone.stdout
    );
    assert_eq!(h.version("lab-hello"), None);
    assert_eq!(h.changed(&h.run(&absent, &[])), 0);
}

#[test]
fn two_packages_in_one_task_with_check_mode_first() {
    let Some(h) = Apt::new("two_packages_in_one_task_with_check_mode_first") else {
        return;
    };
    // The generic `package` module, on apt.
    let both = "    - package:\n        name: [hello, tree]\n        state: present\n";

    let check = h.run(both, &["--check", "--diff"]);
    assert_eq!(h.changed(&check), 1, "{}", check.stdout);
    for line in [
        "-hello: absent",
        "+hello: 2.10-3",
        "-tree: absent",
        "+tree: 2.1.0-1",
    ] {
        assert!(check.stdout.contains(line), "{line} in:\n{}", check.stdout);
    }
    assert_eq!((h.version("hello"), h.version("tree")), (None, None));

    let first = h.run(both, &[]);
    assert_eq!(h.changed(&first), 1, "{}", first.stdout);
    assert!(h.version("hello").is_some() && h.version("tree").is_some());
    assert_eq!(h.changed(&h.run(both, &[])), 0);

    // Drift on one of the two: only it comes back.
    h.sh("DEBIAN_FRONTEND=noninteractive apt-get -y -q remove tree >/dev/null");
    let check = h.run(both, &["--check", "--diff"]);
    assert_eq!(h.changed(&check), 1, "{}", check.stdout);
    assert!(check.stdout.contains("+tree: 2.1.0-1"), "{}", check.stdout);
    assert!(!check.stdout.contains("hello: 2.10-3"), "{}", check.stdout);
    assert_eq!(h.version("tree"), None);
    assert_eq!(h.changed(&h.run(both, &[])), 1);
    assert!(h.version("tree").is_some());

    let remove = "    - package: {name: [hello, tree], state: absent, purge: true}\n";
    assert_eq!(h.changed(&h.run(remove, &[])), 1);
    assert_eq!((h.version("hello"), h.version("tree")), (None, None));
    assert_eq!(h.changed(&h.run(remove, &[])), 0);
}

#[test]
fn a_missing_package_is_a_clear_error() {
    let Some(h) = Apt::new("a_missing_package_is_a_clear_error") else {
        return;
    };
    let out = h.run(&apt_task("{name: [no-such-pkg, hello]}"), &[]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let msg = lab::fatal_line(&out, HOST).unwrap_or_default();
    assert!(
        msg.contains("No package matching 'no-such-pkg' is available"),
        "{msg}"
    );
    assert_eq!(h.version("hello"), None, "nothing was installed");

    // The lists are updated first, then judged: the same message, as
    // Ansible gives it after its update.
    let stamp = "stat -c %Y /var/lib/apt/periodic/update-success-stamp 2>/dev/null || echo 0";
    let before = h.lab.ssh_ok(HOST, stamp);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = h.run(&apt_task("{name: no-such-pkg, update_cache: true}"), &[]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let msg = lab::fatal_line(&out, HOST).unwrap_or_default();
    assert!(
        msg.contains("No package matching 'no-such-pkg' is available"),
        "{msg}"
    );
    assert_ne!(h.lab.ssh_ok(HOST, stamp), before, "the lists were updated");
}

#[test]
fn cache_updates_and_idempotence() {
    let Some(h) = Apt::new("cache_updates_and_idempotence") else {
        return;
    };
    let stamp = "/var/lib/apt/periodic/update-success-stamp";
    h.sh(&format!(
        "mkdir -p /var/lib/apt/periodic && touch -d '2 hours ago' {stamp}"
    ));
    let valid = "    - apt: {update_cache: true, cache_valid_time: 3600}\n      register: r\n    - assert: {that: [r.cache_updated, r.cache_update_time > 0]}\n";
    let first = h.run(valid, &[]);
    assert_eq!(h.changed(&first), 1, "{}", first.stdout);
    let age = h.sh(&format!("echo $(( $(date +%s) - $(stat -c %Y {stamp}) ))"));
    assert!(age.trim().parse::<i64>().unwrap() < 600, "stamp age {age}");
    let fresh = "    - apt: {update_cache: true, cache_valid_time: 3600}\n      register: r\n    - assert: {that: [not r.cache_updated]}\n";
    assert_eq!(h.changed(&h.run(fresh, &[])), 0);

    // With a package that is installed already, a cache update changes
    // nothing (and is not even run).
    assert_eq!(h.changed(&h.run(&apt_task("{name: hello}"), &[])), 1);
    let with = apt_task("{name: hello, update_cache: true}");
    assert_eq!(h.changed(&h.run(&with, &[])), 0);
    // A stale cache with something to install: updated first, then installed.
    h.sh(&format!("touch -d '2 hours ago' {stamp}"));
    let tree = "    - apt: {name: tree, update_cache: true, cache_valid_time: 60}\n      register: r\n    - assert: {that: [r.cache_updated, \"'Setting up tree' in r.stdout\"]}\n";
    assert_eq!(h.changed(&h.run(tree, &[])), 1);
    assert!(h.version("tree").is_some());
}

#[test]
fn a_deb_from_the_controller() {
    let Some(h) = Apt::new("a_deb_from_the_controller") else {
        return;
    };
    let deb = h.lab.dir.join("images/repo/lab-hello_1.1_all.deb");
    let bytes = std::fs::read(&deb).unwrap_or_else(|e| panic!("{}: {e}", deb.display()));
    h.dir.write("files/lab-hello_1.1_all.deb", bytes);
    let task = apt_task("{deb: lab-hello_1.1_all.deb}");

    let check = h.run(&task, &["--check", "--diff"]);
    assert_eq!(h.changed(&check), 1, "{}", check.stdout);
    assert!(check.stdout.contains("+lab-hello: 1.1"), "{}", check.stdout);
    assert_eq!(h.version("lab-hello"), None);
    assert_eq!(h.changed(&h.run(&task, &[])), 1);
    assert_eq!(h.sh("lab-hello"), "lab-hello 1.1\n");
    assert_eq!(h.changed(&h.run(&task, &[])), 0);
    h.sh("DEBIAN_FRONTEND=noninteractive apt-get -y -q remove lab-hello >/dev/null");
    assert_eq!(h.changed(&h.run(&task, &[])), 1);
    assert_eq!(h.version("lab-hello").as_deref(), Some("1.1"));
    assert_eq!(
        h.sh("ls /tmp | grep -c tend-deb || true"),
        "0\n",
        "no leftovers"
    );
}
