//! Drift runs from cron (`tend run --drift`) on three real lab hosts
//! running `playbooks/web-service/site-tend.yml` (nginx, a service under
//! systemd, the firewall): a timeline of what cron would see. Converge;
//! drift runs stay silent and keep a report; hand-made drift on each host
//! (a managed file edited, the service stopped, a firewall rule deleted) is
//! named exactly and corrected; `--check` finds drift without correcting
//! it; two runs at once never overlap; a run killed mid-way leaves a lock
//! the next run takes over. A saved plan (`tend plan`, `tend apply`)
//! applies what it showed, and refuses a task whose host changed since.
//!
//! Hosts: h26-h28, started fresh.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Run;
use common::lab::{self, Dir, Lab, Taken};

struct Fleet {
    lab: Lab,
    dir: Dir,
    hosts: Vec<String>,
    inventory: PathBuf,
    state: PathBuf,
    _taken: Vec<Taken>,
}

const FIRST: u32 = 26;
const PAGE: &str = "the page it serves";
const SERVICE: &str = "the service runs and starts at boot";
const FIREWALL: &str = "the firewall lets in SSH and HTTP only";

impl Fleet {
    fn new(test: &str) -> Option<Fleet> {
        let lab = lab::lab(test)?;
        let hosts: Vec<String> = (FIRST..FIRST + 3).map(|n| format!("h{n}")).collect();
        let taken = hosts.iter().map(|h| lab.take(h)).collect();
        lab.fresh(FIRST, 3);
        let dir = Dir::new(test);
        let lines: Vec<String> = hosts.iter().map(|h| lab.host(h, h).line()).collect();
        let inventory = dir.write("inventory.ini", format!("[web]\n{}\n", lines.join("\n")));
        let state = dir.join("state");
        Some(Fleet {
            lab,
            dir,
            hosts,
            inventory,
            state,
            _taken: taken,
        })
    }

    fn args(&self, extra: &[&str]) -> Vec<String> {
        let playbook = common::root().join("playbooks/web-service/site-tend.yml");
        let mut args: Vec<String> = [
            "run",
            &playbook.display().to_string(),
            "-i",
            &self.inventory.display().to_string(),
            "--drift",
            "--state-dir",
            &self.state.display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    fn drift(&self, extra: &[&str]) -> Run {
        self.dir.tend(self.args(extra))
    }

    /// A drift run left running in the background.
    fn spawn(&self) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_tend"))
            .args(self.args(&[]))
            .current_dir(self.dir.path())
            .env("HOME", self.dir.home())
            .env_remove("SSH_AUTH_SOCK")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tend starts")
    }

    /// The one directory of this playbook and inventory in the state dir.
    fn run_dir(&self) -> PathBuf {
        let dirs: Vec<PathBuf> = std::fs::read_dir(&self.state)
            .expect("the state dir exists")
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(dirs.len(), 1, "{dirs:?}");
        dirs[0].clone()
    }

    fn last_run(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.run_dir().join("last-run.json"))
            .expect("last-run.json is written");
        serde_json::from_str(&text).expect("last-run.json is JSON")
    }

    fn reports(&self) -> usize {
        std::fs::read_dir(self.run_dir().join("reports"))
            .expect("reports dir")
            .count()
    }

    fn ssh(&self, host: &str, script: &str) -> String {
        self.lab.ssh_ok(host, script)
    }
}

fn show(run: &Run) -> String {
    format!("exit {}\n{}\n{}", run.code, run.stdout, run.stderr)
}

/// (host, status, task) of every task line of a drift summary.
fn named(summary: &str) -> Vec<(String, String, String)> {
    let mut host = String::new();
    let mut out = Vec::new();
    for line in summary.lines() {
        if let Some(h) = line.strip_suffix(':').filter(|_| !line.starts_with(' ')) {
            host = h.to_string();
        } else if let Some(rest) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')) {
            let (status, task) = rest.split_once(": ").expect("status: task");
            let task = task.split(": ").next().unwrap_or(task);
            out.push((host.clone(), status.to_string(), task.to_string()));
        }
    }
    out.sort();
    out
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn lock_names(lock: &Path, pid: u32) -> bool {
    std::fs::read_to_string(lock).is_ok_and(|s| s.starts_with(&format!("pid {pid} ")))
}

#[test]
fn drift_runs_are_silent_in_sync_and_name_and_correct_exactly_the_drift() {
    let Some(fleet) =
        Fleet::new("drift_runs_are_silent_in_sync_and_name_and_correct_exactly_the_drift")
    else {
        return;
    };
    let first = fleet.drift(&[]);
    assert_eq!(first.code, 2, "the first run converges:\n{}", show(&first));
    assert!(
        first.stdout.starts_with("DRIFT [site-tend.yml]: "),
        "{}",
        show(&first)
    );

    // In sync: nothing printed at all, exit 0, and still a report.
    let quiet = fleet.drift(&[]);
    assert_eq!(
        (quiet.code, quiet.stdout.as_str(), quiet.stderr.as_str()),
        (0, "", ""),
        "a drift run in sync is silent"
    );
    let report = fleet.last_run();
    assert_eq!(report["exit_code"], 0);
    assert_eq!(report["drifted"].as_array().map(Vec::len), Some(0));
    assert_eq!(report["hosts"].as_object().map(|h| h.len()), Some(3));
    assert_eq!(fleet.reports(), 2);

    // Hand-made drift, a different kind on each host.
    let [a, b, c] = [&fleet.hosts[0], &fleet.hosts[1], &fleet.hosts[2]];
    fleet.ssh(a, "echo tampered > /srv/hello/index.html");
    fleet.ssh(b, "systemctl stop hello");
    fleet.ssh(c, "iptables -D INPUT -p tcp -m tcp --dport 80 -j ACCEPT");

    // --check finds it and corrects nothing.
    let found = fleet.drift(&["--check"]);
    assert_eq!(found.code, 2, "{}", show(&found));
    let want = vec![
        (a.clone(), "changed".to_string(), PAGE.to_string()),
        (b.clone(), "changed".to_string(), SERVICE.to_string()),
        (c.clone(), "changed".to_string(), FIREWALL.to_string()),
    ];
    assert_eq!(named(&found.stdout), want, "{}", show(&found));
    assert!(
        found
            .stdout
            .contains("would change (check mode: not corrected)")
    );
    assert!(
        found.stdout.contains("-tampered"),
        "the diff is shown: {}",
        found.stdout
    );
    assert_eq!(fleet.ssh(a, "cat /srv/hello/index.html"), "tampered\n");

    // The drift run names exactly those and corrects them.
    let fixed = fleet.drift(&["--metrics-file", "metrics.prom"]);
    assert_eq!(fixed.code, 2, "{}", show(&fixed));
    assert_eq!(named(&fixed.stdout), want, "{}", show(&fixed));
    assert_eq!(
        fleet.ssh(a, "cat /srv/hello/index.html"),
        format!("hello from {a}\n")
    );
    assert_eq!(fleet.ssh(b, "systemctl is-active hello"), "active\n");
    assert!(
        fleet
            .ssh(c, "iptables -S INPUT")
            .contains("--dport 80 -j ACCEPT")
    );
    let report = fleet.last_run();
    assert_eq!(report["exit_code"], 2);
    let drifted: Vec<(&str, &str)> = report["drifted"]
        .as_array()
        .expect("drifted")
        .iter()
        .map(|d| {
            (
                d["host"].as_str().unwrap_or(""),
                d["task"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(drifted.len(), 3, "{report}");
    assert!(drifted.contains(&(c.as_str(), FIREWALL)), "{report}");
    let metrics = std::fs::read_to_string(fleet.dir.join("metrics.prom")).expect("metrics");
    assert!(
        metrics.contains(&format!("host=\"{a}\"}} 1\n")),
        "per-host drift in the metrics:\n{metrics}"
    );

    let again = fleet.drift(&[]);
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, ""),
        "{}",
        show(&again)
    );
}

#[test]
fn drift_runs_never_overlap_and_a_killed_runs_lock_is_taken_over() {
    let Some(fleet) = Fleet::new("drift_runs_never_overlap_and_a_killed_runs_lock_is_taken_over")
    else {
        return;
    };
    assert_eq!(fleet.drift(&[]).code, 2);
    let lock = fleet.run_dir().join("lock");

    // A hung host keeps the first run going (sshd never answers).
    let hung = &fleet.hosts[2];
    fleet.lab.fault("freeze", hung);
    let mut first = fleet.spawn();
    wait_for("the first run takes the lock", || {
        lock_names(&lock, first.id())
    });
    let second = fleet.drift(&[]);
    assert_eq!(second.code, 75, "{}", show(&second));
    assert!(
        second
            .stderr
            .contains("another drift run of this playbook and inventory is still running"),
        "{}",
        show(&second)
    );
    assert!(second.stdout.is_empty());

    // Killed mid-run, like a reboot of the controller.
    first.kill().expect("kill");
    first.wait().expect("reaped");
    fleet.lab.fault("thaw", hung);
    let next = fleet.drift(&[]);
    assert_eq!(next.code, 0, "{}", show(&next));
    assert!(
        next.stderr.contains(&format!(
            "took over the lock of a drift run that did not finish (pid {} started",
            first.id()
        )),
        "{}",
        show(&next)
    );
    assert!(fleet.last_run()["stale_lock"].is_string());
    assert_eq!(
        std::fs::read_to_string(&lock).expect("lock file"),
        "",
        "a clean end leaves no holder"
    );
}

#[test]
fn apply_refuses_what_changed_since_the_plan_and_applies_the_rest() {
    let Some(fleet) = Fleet::new("apply_refuses_what_changed_since_the_plan_and_applies_the_rest")
    else {
        return;
    };
    assert_eq!(fleet.drift(&[]).code, 2);
    let [a, b, c] = [&fleet.hosts[0], &fleet.hosts[1], &fleet.hosts[2]];
    // Two changes to plan: a stopped service on one host, an edited page
    // on another.
    fleet.ssh(a, "systemctl stop hello");
    fleet.ssh(b, "echo tampered > /srv/hello/index.html");
    let mut args = fleet.args(&[]);
    args[0] = "plan".into();
    args.retain(|a| a != "--drift");
    let state_at = args
        .iter()
        .position(|a| a == "--state-dir")
        .expect("state dir");
    args.drain(state_at..state_at + 2);
    args.extend(["-o".to_string(), "plan.json".to_string()]);
    let plan = fleet.dir.tend(&args);
    assert_eq!(plan.code, 2, "{}", show(&plan));
    // The two changes, and the health check (uri), which runs when
    // applied: its effect cannot be shown, so it counts as a change.
    for (host, task) in [(a, SERVICE), (b, PAGE)] {
        assert!(
            plan.stdout.contains(&format!("{host}:\n  ~ {task} (")),
            "{}",
            show(&plan)
        );
    }
    assert!(
        plan.stdout.contains("Plan: 5 to change on 3 hosts."),
        "{}",
        show(&plan)
    );
    assert!(
        plan.stdout.contains("-tampered"),
        "the plan shows the diff:\n{}",
        show(&plan)
    );
    assert_eq!(
        fleet.ssh(a, "systemctl is-active hello || true"),
        "inactive\n",
        "a plan changes nothing"
    );

    // After the plan, someone edits the page again: that task is refused.
    fleet.ssh(b, "echo edited again > /srv/hello/index.html");
    let apply = fleet.dir.tend(["apply", "plan.json"]);
    assert_eq!(
        apply.code,
        6,
        "one change applied (2), one refused (4):\n{}",
        show(&apply)
    );
    let refusal = format!(
        "{b}: {PAGE}: the host changed since the plan (state fingerprint differs); refusing to apply; make a new plan"
    );
    assert!(apply.stdout.contains(&refusal), "{}", show(&apply));
    assert!(
        apply
            .stdout
            .contains("Apply: 4 of 5 planned changes went ahead, 1 refused."),
        "{}",
        show(&apply)
    );
    assert_eq!(fleet.ssh(a, "systemctl is-active hello"), "active\n");
    assert_eq!(fleet.ssh(b, "cat /srv/hello/index.html"), "edited again\n");
    assert_eq!(apply.changed(c), 0, "{}", show(&apply));
}
