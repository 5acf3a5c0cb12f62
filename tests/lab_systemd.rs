//! `systemd_unit`, `systemd` and `service` on a real host with real systemd
//! (lab host h8), as drift timelines: apply, apply again (no change),
//! perturb the host by hand (stop the service, disable it, mask it, edit a
//! drop-in), `--check --diff` reports it and touches nothing, apply puts it
//! back. Also: a changed unit restarts the running service (its MainPID
//! changes), a unit systemd rejects fails the task and leaves the working
//! unit in place, a missing unit is a clear error, and so is a service that
//! fails right after its start, with its status lines.
//!
//! Every test takes h8 for itself (`Lab::take`): they share its systemd.

mod common;

use std::path::PathBuf;

use common::Run;
use common::lab::{self, Dir, Lab, Taken};

const HOST: &str = "h8";
const UNIT: &str = "tend-lab-web.service";
const UNIT_FILE: &str = "/etc/systemd/system/tend-lab-web.service";

/// h8, held for one test.
struct Host {
    lab: Lab,
    dir: Dir,
    inventory: PathBuf,
    _host: Taken,
}

impl Host {
    fn new(test: &str) -> Option<Host> {
        let lab = lab::lab(test)?;
        lab.ensure_up(8);
        let host = lab.take(HOST);
        let dir = Dir::new(&format!("systemd-{test}"));
        let inventory = dir.write(
            "inventory.ini",
            format!("{}\n", lab.host(HOST, HOST).line()),
        );
        Some(Host {
            lab,
            dir,
            inventory,
            _host: host,
        })
    }

    /// Runs `tasks` (YAML list items, indented 4) in a play on h8.
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

    /// `systemctl show -p PROP --value UNIT`.
    fn prop(&self, unit: &str, prop: &str) -> String {
        self.sh(&format!("systemctl show -p {prop} --value {unit}"))
            .trim()
            .to_string()
    }

    /// The run succeeded; how many tasks changed.
    fn changed(&self, run: &Run) -> u32 {
        assert_eq!(run.failed(HOST), 0, "{}\n{}", run.stdout, run.stderr);
        run.changed(HOST)
    }
}

/// The web service's unit: python3's http.server on `$PORT`.
fn web_unit(extra: &str) -> String {
    format!(
        r#"    - name: web unit
      systemd_unit:
        name: {UNIT}
        unit: {{Description: "tend lab web", After: network.target}}
        service:
          ExecStart: /usr/bin/python3 -m http.server ${{PORT}} --bind 127.0.0.1
          Environment: ["PORT={{{{ port | default(8181) }}}}", "PYTHONUNBUFFERED=1"]
          Restart: always
        install: {{WantedBy: multi-user.target}}
{extra}"#
    )
}

#[test]
fn systemd_unit_drift_timeline() {
    let Some(h) = Host::new("systemd_unit_drift_timeline") else {
        return;
    };
    h.sh(&format!(
        "systemctl disable --now {UNIT} >/dev/null 2>&1; rm -f {UNIT_FILE}; systemctl daemon-reload; systemctl reset-failed {UNIT} 2>/dev/null; true"
    ));
    let tasks = web_unit("        state: started\n        enabled: true\n");

    // Apply: written, started, enabled.
    let first = h.run(&tasks, &["--diff"]);
    assert_eq!(h.changed(&first), 1, "{}", first.stdout);
    assert!(
        first.stdout.contains("+Environment=PORT=8181\n"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains(
            "-enabled: disabled\n-active: inactive\n+enabled: enabled\n+active: active\n"
        ),
        "{}",
        first.stdout
    );
    assert_eq!(h.prop(UNIT, "ActiveState"), "active");
    assert_eq!(
        h.sh(&format!("systemctl is-enabled {UNIT}")).trim(),
        "enabled"
    );
    assert!(
        h.sh(&format!("cat {UNIT_FILE}"))
            .contains("Environment=PORT=8181\n")
    );
    assert_eq!(h.sh(&format!("stat -c %a {UNIT_FILE}")).trim(), "644");

    // Again: nothing to do.
    let second = h.run(&tasks, &[]);
    assert_eq!(h.changed(&second), 0, "{}", second.stdout);

    // A changed Environment: unit diff, daemon-reload, restart (new MainPID).
    let pid = h.prop(UNIT, "MainPID");
    let changed = h.run(&tasks, &["--diff", "-e", "port=8282"]);
    assert_eq!(h.changed(&changed), 1, "{}", changed.stdout);
    assert!(
        changed
            .stdout
            .contains("-Environment=PORT=8181\n+Environment=PORT=8282\n"),
        "{}",
        changed.stdout
    );
    assert!(
        changed
            .stdout
            .contains("-active: active\n+active: restarted\n"),
        "{}",
        changed.stdout
    );
    assert_ne!(h.prop(UNIT, "MainPID"), pid, "the service was restarted");
    assert_eq!(
        h.prop(UNIT, "NeedDaemonReload"),
        "no",
        "systemd read the new file"
    );
    assert_eq!(h.prop(UNIT, "ActiveState"), "active");
    let port8282 = ["-e", "port=8282"];
    assert_eq!(h.changed(&h.run(&tasks, &port8282)), 0);

    // Drift: stopped by hand. --check reports it and leaves it stopped.
    h.sh(&format!("systemctl stop {UNIT}"));
    let check = h.run(&tasks, &["--check", "--diff", "-e", "port=8282"]);
    assert_eq!(h.changed(&check), 1, "{}", check.stdout);
    assert!(
        check
            .stdout
            .contains("-active: inactive\n+active: active\n"),
        "{}",
        check.stdout
    );
    assert_eq!(
        h.prop(UNIT, "ActiveState"),
        "inactive",
        "--check touched nothing"
    );
    assert_eq!(h.changed(&h.run(&tasks, &port8282)), 1);
    assert_eq!(h.prop(UNIT, "ActiveState"), "active");

    // Drift: disabled by hand, symlink removed without systemctl.
    h.sh(&format!(
        "rm /etc/systemd/system/multi-user.target.wants/{UNIT}"
    ));
    let check = h.run(&tasks, &["--check", "--diff", "-e", "port=8282"]);
    assert!(
        check
            .stdout
            .contains("-enabled: disabled\n+enabled: enabled\n"),
        "{}",
        check.stdout
    );
    assert_eq!(
        h.sh(&format!("systemctl is-enabled {UNIT} || true")).trim(),
        "disabled"
    );
    assert_eq!(h.changed(&h.run(&tasks, &port8282)), 1);
    assert_eq!(
        h.sh(&format!("systemctl is-enabled {UNIT}")).trim(),
        "enabled"
    );

    // Drift: the file edited by hand (no reload): rewritten, reloaded, restarted.
    let pid = h.prop(UNIT, "MainPID");
    h.sh(&format!("sed -i 's/PORT=8282/PORT=9999/' {UNIT_FILE}"));
    let fixed = h.run(&tasks, &["--diff", "-e", "port=8282"]);
    assert_eq!(h.changed(&fixed), 1);
    assert!(
        fixed
            .stdout
            .contains("-Environment=PORT=9999\n+Environment=PORT=8282\n"),
        "{}",
        fixed.stdout
    );
    assert_ne!(h.prop(UNIT, "MainPID"), pid);

    // A unit systemd rejects: a clear error, the working unit left in place.
    let pid = h.prop(UNIT, "MainPID");
    let before = h.sh(&format!("cat {UNIT_FILE}"));
    let broken = format!(
        "    - systemd_unit:\n        name: {UNIT}\n        service: {{ExecStart: relative/path}}\n        state: started\n"
    );
    let run = h.run(&broken, &[]);
    assert_ne!(run.code, 0);
    assert_eq!(run.failed(HOST), 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "systemd-analyze verify rejects the new {UNIT}; {UNIT_FILE} was not changed"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Neither a valid executable name nor an absolute path: relative/path"),
        "{}",
        run.stdout
    );
    assert_eq!(h.sh(&format!("cat {UNIT_FILE}")), before);
    assert_eq!(
        h.sh("ls -a /etc/systemd/system | grep -c '^.tend-' || true")
            .trim(),
        "0"
    );
    assert_eq!(
        h.prop(UNIT, "MainPID"),
        pid,
        "the running service was not touched"
    );

    // Absent: stopped, disabled, removed; then nothing to do.
    let absent = format!("    - systemd_unit: {{name: {UNIT}, state: absent}}\n");
    let gone = h.run(&absent, &["--diff"]);
    assert_eq!(h.changed(&gone), 1, "{}", gone.stdout);
    assert!(
        gone.stdout.contains("-Environment=PORT=8282\n"),
        "{}",
        gone.stdout
    );
    assert_eq!(h.lab.ssh(HOST, &format!("test -e {UNIT_FILE}")).code, 1);
    assert_eq!(h.prop(UNIT, "ActiveState"), "inactive");
    assert_eq!(h.prop(UNIT, "LoadState"), "not-found");
    assert_eq!(h.changed(&h.run(&absent, &[])), 0);
}

/// lab-hello (from the lab's repo: its unit in /lib/systemd/system runs
/// python3's http.server on 8081), installed and reset to disabled, stopped.
fn lab_hello(h: &Host) {
    h.sh(
        "apt-get install -y -q lab-hello >/dev/null 2>&1; systemctl unmask lab-hello >/dev/null 2>&1; \
         systemctl disable --now lab-hello >/dev/null 2>&1; rm -rf /etc/systemd/system/lab-hello.service.d; \
         systemctl daemon-reload; systemctl reset-failed lab-hello 2>/dev/null; true",
    );
    assert_eq!(
        h.prop("lab-hello", "LoadState"),
        "loaded",
        "lab-hello is installed"
    );
}

#[test]
fn service_and_systemd_drift_timeline() {
    let Some(h) = Host::new("service_and_systemd_drift_timeline") else {
        return;
    };
    lab_hello(&h);
    let tasks = "    - service: {name: lab-hello, state: started, enabled: true}\n      register: r\n    - assert:\n        that:\n          - r.name == 'lab-hello'\n          - r.state == 'started'\n          - r.enabled\n          - r.status.LoadState == 'loaded'\n";
    let first = h.run(tasks, &["--diff"]);
    assert_eq!(h.changed(&first), 1, "{}", first.stdout);
    assert!(
        first.stdout.contains(
            "-enabled: disabled\n-active: inactive\n+enabled: enabled\n+active: active\n"
        ),
        "{}",
        first.stdout
    );
    assert_eq!(h.prop("lab-hello", "ActiveState"), "active");
    assert_eq!(h.changed(&h.run(tasks, &[])), 0);

    // Drift: stopped by hand.
    h.sh("systemctl stop lab-hello");
    let check = h.run(tasks, &["--check", "--diff"]);
    assert_eq!(h.changed(&check), 1);
    assert!(
        check
            .stdout
            .contains("-active: inactive\n+active: active\n"),
        "{}",
        check.stdout
    );
    assert_eq!(
        h.prop("lab-hello", "ActiveState"),
        "inactive",
        "--check touched nothing"
    );
    assert_eq!(h.changed(&h.run(tasks, &[])), 1);
    assert_eq!(h.prop("lab-hello", "ActiveState"), "active");

    // restarted always acts (a new MainPID every run) and is checked after.
    let restart = "    - systemd_service: {name: lab-hello, state: restarted}\n";
    for _ in 0..2 {
        let pid = h.prop("lab-hello", "MainPID");
        assert_eq!(h.changed(&h.run(restart, &[])), 1);
        assert_ne!(h.prop("lab-hello", "MainPID"), pid);
    }

    // Stopped and disabled, then masked; unmasking and starting again.
    let stopped = "    - service: name=lab-hello state=stopped enabled=no\n";
    assert_eq!(h.changed(&h.run(stopped, &[])), 1);
    assert_eq!(h.prop("lab-hello", "ActiveState"), "inactive");
    assert_eq!(h.changed(&h.run(stopped, &[])), 0);
    let masked = "    - systemd: {name: lab-hello, masked: true}\n";
    let run = h.run(masked, &["--diff"]);
    assert_eq!(h.changed(&run), 1);
    assert!(
        run.stdout.contains("-masked: no\n+masked: yes\n"),
        "{}",
        run.stdout
    );
    assert_eq!(
        h.sh("systemctl is-enabled lab-hello || true").trim(),
        "masked"
    );
    assert_eq!(h.changed(&h.run(masked, &[])), 0);
    let unmasked = "    - systemd: {name: lab-hello, masked: false, state: started}\n";
    assert_eq!(h.changed(&h.run(unmasked, &[])), 1);
    assert_eq!(h.prop("lab-hello", "ActiveState"), "active");
    assert_eq!(h.changed(&h.run(unmasked, &[])), 0);

    // A missing unit is a clear error.
    let run = h.run(
        "    - systemd: {name: tend-no-such-unit, state: started}\n",
        &[],
    );
    assert_eq!(run.failed(HOST), 1);
    assert!(
        run.stdout
            .contains("Could not find the requested service tend-no-such-unit: host"),
        "{}",
        run.stdout
    );
    h.sh("systemctl disable --now lab-hello >/dev/null 2>&1; true");
}

#[test]
fn daemon_reload_alone_acts_only_when_a_unit_changed_on_disk() {
    let Some(h) = Host::new("daemon_reload_alone_acts_only_when_a_unit_changed_on_disk") else {
        return;
    };
    lab_hello(&h);
    let reload = "    - systemd: {daemon_reload: true}\n      register: r\n    - assert: {that: [\"r.name is none\", \"r.status == {}\"]}\n";
    // Whatever an earlier test left pending is reloaded first.
    h.run(reload, &[]);
    assert_eq!(h.changed(&h.run(reload, &[])), 0);
    // A drop-in added by hand to a running unit (systemd forgets stopped
    // units it does not need, and reads them afresh): not read yet.
    h.sh("systemctl start lab-hello");
    h.sh("mkdir -p /etc/systemd/system/lab-hello.service.d && printf '[Service]\\nEnvironment=X=1\\n' > /etc/systemd/system/lab-hello.service.d/tend.conf");
    let check = h.run(reload, &["--check", "--diff"]);
    assert!(
        check
            .stdout
            .contains("/etc/systemd/system/lab-hello.service.d/tend.conf")
            && check.stdout.contains("-daemon: needs reload (")
            && check.stdout.contains("+daemon: reloaded\n"),
        "{}",
        check.stdout
    );
    assert_eq!(
        h.prop("lab-hello", "Environment"),
        "",
        "--check touched nothing"
    );
    assert_eq!(h.changed(&h.run(reload, &[])), 1);
    assert_eq!(h.prop("lab-hello", "NeedDaemonReload"), "no");
    assert_eq!(h.prop("lab-hello", "Environment"), "X=1");
    assert_eq!(h.changed(&h.run(reload, &[])), 0);
    // A generator's input (fstab) newer than systemd's last load, which
    // the generators' directory dates.
    assert_eq!(
        h.sh("test -d /run/systemd/generator && echo yes").trim(),
        "yes"
    );
    // `touched` newer than the last load: --check says so, a run reloads.
    let reloads_after = |touched: &str| {
        h.sh(touched);
        let check = h.run(reload, &["--check", "--diff"]);
        assert!(
            check.stdout.contains("-daemon: needs reload (/etc/fstab)"),
            "{}",
            check.stdout
        );
        assert_eq!(h.changed(&h.run(reload, &[])), 1);
    };
    reloads_after("touch /etc/fstab");
    assert_eq!(h.changed(&h.run(reload, &[])), 0);
    // Without that directory, systemd's UnitsLoadTimestamp dates the load.
    reloads_after(
        "mv /run/systemd/generator /run/systemd/generator.tend-aside && touch /etc/fstab",
    );
    h.sh("rm -rf /run/systemd/generator.tend-aside");
    assert_eq!(h.changed(&h.run(reload, &[])), 0);
    // With nothing pending, a restart asked to reload does not: systemd's
    // last load stays where it was.
    let loaded = || h.sh("systemctl show -p UnitsLoadTimestamp --value");
    let before = loaded();
    let restart = "    - systemd: {name: lab-hello, state: restarted, daemon_reload: true}\n";
    assert_eq!(h.changed(&h.run(restart, &[])), 1);
    assert_eq!(loaded(), before);
    h.sh("systemctl stop lab-hello && rm -rf /etc/systemd/system/lab-hello.service.d && systemctl daemon-reload");
}

#[test]
fn a_service_that_fails_right_after_its_start_fails_the_task_with_its_status() {
    let Some(h) = Host::new("a_service_that_fails_right_after_its_start") else {
        return;
    };
    // While the unit is failed, systemd is `degraded`: the other tests'
    // check that h8 is up waits, as it would for a host being started.
    let _degraded = lab::lock(&format!("up-{HOST}"));
    // `Type=exec`: systemctl start returns once the program runs; it then
    // exits 1 at once, and the check after the change finds it failed.
    // When systemd sees it exit before it sees the exec succeed, the start
    // job itself fails instead: a clear error too, from systemctl.
    h.sh("printf '[Service]\\nType=exec\\nExecStart=/bin/false\\n' > /etc/systemd/system/tend-lab-fails.service && systemctl daemon-reload");
    let run = h.run(
        "    - systemd: {name: tend-lab-fails, state: started}\n",
        &[],
    );
    // Put h8 right before asserting: a failed assertion would leave it
    // degraded for the other tests.
    h.sh("rm -f /etc/systemd/system/tend-lab-fails.service && systemctl daemon-reload && systemctl reset-failed tend-lab-fails 2>/dev/null; true");
    assert_eq!(run.failed(HOST), 1, "{}", run.stdout);
    let checked = "the check after the change failed: tend-lab-fails was started but is not running now (ActiveState=failed, Result=exit-code); see journalctl -u tend-lab-fails";
    let parts: &[&str] = match run.stdout.contains(checked) {
        true => &["ExecStart=/bin/false (code=exited, status=1/FAILURE)"],
        false => &["Unable to start service tend-lab-fails: Job for tend-lab-fails.service failed"],
    };
    for part in parts {
        assert!(run.stdout.contains(part), "{part}\n{}", run.stdout);
    }
}
