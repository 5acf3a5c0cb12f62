//! The example of `playbooks/web-service/` on three real lab hosts each:
//! nginx installed from the lab's apt repository on hosts where it was
//! purged, a small service under systemd behind an nginx site, the firewall
//! down to SSH and HTTP. A test converges the hosts, reaches the service
//! through nginx with curl from this machine, runs again (0 changes), makes
//! a hand-made drift on one host that `--check --diff` reports without
//! touching it and a run corrects. `site.yml` (Ansible's builtin modules)
//! gives the same recap under ansible-playbook; `site-tend.yml` does the
//! same with tend's own modules.
//!
//! Hosts: h13-h15 (site.yml with tend), h16-h18 (ansible-playbook, then
//! tend), h19-h21 (site-tend.yml), each started fresh by its test.

mod common;
mod oracle;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::Run;
use common::lab::{self, Dir, Lab, Taken};

/// Three fresh lab hosts `h<first>`..`h<first+2>`, without nginx, taken by
/// the test, and an inventory of them in group `web`.
struct Web {
    lab: Lab,
    dir: Dir,
    hosts: Vec<String>,
    inventory: PathBuf,
    _taken: Vec<Taken>,
}

impl Web {
    fn new(test: &str, first: u32) -> Option<Web> {
        let lab = lab::lab(test)?;
        let hosts: Vec<String> = (first..first + 3).map(|n| format!("h{n}")).collect();
        let taken = hosts.iter().map(|h| lab.take(h)).collect();
        let dir = Dir::new(test);
        let mut web = Web {
            inventory: dir.join("inventory.ini"),
            lab,
            dir,
            hosts,
            _taken: taken,
        };
        web.fresh(first);
        let lines: Vec<String> = web
            .hosts
            .iter()
            .map(|h| web.lab.host(h, h).line())
            .collect();
        web.inventory = web
            .dir
            .write("inventory.ini", format!("[web]\n{}\n", lines.join("\n")));
        Some(web)
    }

    /// Restarts the hosts on fresh overlays and purges nginx, which the
    /// lab's image ships: the playbook installs it from the lab repository.
    fn fresh(&mut self, first: u32) {
        self.lab.fresh(first, 3);
        for h in &self.hosts {
            self.lab.ssh_ok(
                h,
                "apt-get -y -q purge nginx-light nginx nginx-common libnginx-mod-http-echo >/dev/null 2>&1 && \
                 ! dpkg-query -W -f '${Status}' nginx-light 2>/dev/null | grep -q 'ok installed'",
            );
        }
    }

    fn tend(&self, playbook: &str, extra: &[&str]) -> Run {
        let playbook = common::root().join("playbooks/web-service").join(playbook);
        let mut args = vec![
            "run".to_string(),
            playbook.display().to_string(),
            "-i".to_string(),
            self.inventory.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        self.dir.tend(args)
    }

    /// `curl http://hN/` from this machine, through the host's firewall and
    /// nginx; retried for a few seconds (nginx reloads asynchronously).
    fn curl(&self, host: &str, want: &str) -> String {
        let url = format!("http://{}/", self.lab.address(host));
        let started = Instant::now();
        loop {
            let out = Command::new("curl")
                .args(["-s", "--max-time", "2", &url])
                .output()
                .expect("curl runs");
            let body = String::from_utf8_lossy(&out.stdout).into_owned();
            if body == want || started.elapsed() > Duration::from_secs(5) {
                return body;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn assert_serves(&self) {
        for h in &self.hosts {
            let want = format!("hello from {h}\n");
            assert_eq!(
                self.curl(h, &want),
                want,
                "{h} serves its page through nginx"
            );
        }
    }

    fn assert_firewall(&self) {
        for h in &self.hosts {
            let rules = self.lab.ssh_ok(h, "iptables -S INPUT");
            assert!(rules.starts_with("-P INPUT DROP\n"), "{h}: {rules}");
            for port in ["22", "80"] {
                assert!(
                    rules.contains(&format!("--dport {port} -j ACCEPT")),
                    "{h} lets in {port}: {rules}"
                );
            }
        }
    }

    fn assert_nginx_from_the_repo(&self) {
        for h in &self.hosts {
            let v = self
                .lab
                .ssh_ok(h, "dpkg-query -W -f '${Status} ${Version}' nginx-light");
            assert!(v.starts_with("install ok installed 1.22"), "{h}: {v}");
        }
    }

    /// ansible-playbook with the same playbook and inventory.
    fn ansible(&self, playbook: &str) -> (i32, serde_json::Value, String) {
        let playbook = common::root().join("playbooks/web-service").join(playbook);
        let out = Command::new(oracle::ansible_playbook())
            .arg(&playbook)
            .arg("-i")
            .arg(&self.inventory)
            .current_dir(self.dir.path())
            .env("HOME", self.dir.home())
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_STDOUT_CALLBACK", "default")
            .env("ANSIBLE_PYTHON_INTERPRETER", "auto_silent")
            .env("ANSIBLE_RETRY_FILES_ENABLED", "false")
            // No ControlPersist master may outlive the test.
            .env("ANSIBLE_SSH_ARGS", "-o ControlMaster=no")
            .env_remove("ANSIBLE_CONFIG")
            .output()
            .expect("ansible-playbook runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let stats = oracle::recap_stats(&String::from_utf8_lossy(&out.stdout));
        (out.status.code().unwrap_or(-1), stats, text)
    }
}

/// A run's recap as `oracle::recap_stats` reads Ansible's.
fn stats(run: &Run) -> serde_json::Value {
    oracle::recap_stats(&run.stdout)
}

fn show(run: &Run) -> String {
    format!("exit {}\n{}\n{}", run.code, run.stdout, run.stderr)
}

#[test]
fn site_converges_serves_and_corrects_drift() {
    let Some(web) = Web::new("site_converges_serves_and_corrects_drift", 13) else {
        return;
    };
    let first = web.tend("site.yml", &["--detailed-exitcodes"]);
    assert_eq!(first.code, 2, "changes on the first run:\n{}", show(&first));
    for h in &web.hosts {
        assert_eq!(first.failed(h), 0, "{}", show(&first));
        assert!(first.changed(h) >= 10, "{h} was set up:\n{}", show(&first));
    }
    web.assert_nginx_from_the_repo();
    web.assert_serves();
    web.assert_firewall();

    let again = web.tend("site.yml", &["--detailed-exitcodes"]);
    assert_eq!(again.code, 0, "nothing to change:\n{}", show(&again));
    for h in &web.hosts {
        assert_eq!(again.changed(h), 0, "{}", show(&again));
    }

    // Drift by hand on h14: the page edited, the service stopped, port 80
    // closed.
    let h14 = "h14";
    web.lab.ssh_ok(
        h14,
        "echo tampered > /srv/hello/index.html && systemctl stop hello && \
         iptables -D INPUT -p tcp -m tcp --dport 80 -j ACCEPT",
    );
    let check = web.tend("site.yml", &["--check", "--diff", "--detailed-exitcodes"]);
    assert_eq!(check.code, 2, "drift found:\n{}", show(&check));
    assert_eq!(check.changed(h14), 3, "{}", show(&check));
    for h in ["h13", "h15"] {
        assert_eq!(check.changed(h), 0, "{}", show(&check));
    }
    for line in [
        "-tampered\n+hello from h14\n",
        "-active: inactive\n",
        "+active: active\n",
    ] {
        assert!(
            check.stdout.contains(line),
            "the diff shows {line:?}:\n{}",
            show(&check)
        );
    }
    assert_eq!(
        web.lab.ssh_ok(
            h14,
            "cat /srv/hello/index.html; systemctl is-active hello || true"
        ),
        "tampered\ninactive\n",
        "--check changes nothing"
    );

    let fix = web.tend("site.yml", &["--detailed-exitcodes"]);
    assert_eq!(fix.code, 2, "{}", show(&fix));
    assert_eq!(fix.changed(h14), 3, "{}", show(&fix));
    web.assert_serves();
    web.assert_firewall();
    let last = web.tend("site.yml", &["--detailed-exitcodes"]);
    assert_eq!(last.code, 0, "converged again:\n{}", show(&last));
}

#[test]
fn site_gives_the_same_results_under_ansible_playbook() {
    let Some(mut web) = Web::new("site_gives_the_same_results_under_ansible_playbook", 16) else {
        return;
    };
    let (code, ansible_first, text) = web.ansible("site.yml");
    assert_eq!(code, 0, "ansible-playbook converges the hosts:\n{text}");
    web.assert_serves();
    let (code, ansible_again, text) = web.ansible("site.yml");
    assert_eq!(code, 0, "{text}");

    web.fresh(16);
    let first = web.tend("site.yml", &[]);
    first.assert_ok();
    web.assert_serves();
    web.assert_firewall();
    assert_eq!(
        stats(&first),
        ansible_first,
        "first run: tend's recap, then Ansible's:\n{}",
        show(&first)
    );
    let again = web.tend("site.yml", &[]);
    assert_eq!(
        stats(&again),
        ansible_again,
        "second run:\n{}",
        show(&again)
    );
}

#[test]
fn site_tend_converges_with_tends_own_modules() {
    let Some(web) = Web::new("site_tend_converges_with_tends_own_modules", 19) else {
        return;
    };
    let first = web.tend("site-tend.yml", &["--detailed-exitcodes"]);
    assert_eq!(first.code, 2, "{}", show(&first));
    web.assert_nginx_from_the_repo();
    web.assert_serves();
    web.assert_firewall();
    let h = "h20";
    assert!(
        web.lab
            .ssh_ok(h, "cat /etc/iptables/rules.v4")
            .contains("--dport 80 -j ACCEPT"),
        "the rules are persisted"
    );
    let again = web.tend("site-tend.yml", &["--detailed-exitcodes"]);
    assert_eq!(again.code, 0, "{}", show(&again));

    web.lab.ssh_ok(
        h,
        "systemctl stop hello && iptables -D INPUT -p tcp -m tcp --dport 80 -j ACCEPT",
    );
    let check = web.tend(
        "site-tend.yml",
        &["--check", "--diff", "--detailed-exitcodes"],
    );
    assert_eq!(check.code, 2, "{}", show(&check));
    assert_eq!(check.changed(h), 2, "{}", show(&check));
    assert!(
        check
            .stdout
            .contains("+-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT"),
        "the ruleset diff:\n{}",
        show(&check)
    );
    let fix = web.tend("site-tend.yml", &["--detailed-exitcodes"]);
    assert_eq!(fix.changed(h), 2, "{}", show(&fix));
    web.assert_serves();
}
