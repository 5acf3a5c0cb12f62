//! The zero-downtime deployment of `playbooks/go-webapp/` on four real lab
//! hosts: h22 is the nginx load balancer, h23-h25 run goapp. One test, a
//! timeline: deploy v1; roll to v2 while a load generator sends requests
//! through the lb (none may fail, and afterwards every host serves v2);
//! roll to a v3 whose /healthz fails (the run fails, every host still
//! serves v2, again no request fails); deploy v2 again (nothing changes).
//! It prints each load's request count, failures and latency percentiles.
//!
//! The controller builds goapp with Go from Debian's packages, installed
//! here when missing.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::Run;
use common::lab::{self, Dir, Lab, Taken};
use common::load::{Load, Plan, Report};

const LB: &str = "h22";
const APPS: [&str; 3] = ["h23", "h24", "h25"];
const APP_PORT: u16 = 8080;

/// The load during a rollout: 40 requests a second from 4 threads, for
/// as long as the rollout takes, at most 150 s; each request gets 5 s.
const LOAD_RATE: usize = 40;
const LOAD_LIMIT: Duration = Duration::from_secs(150);
/// How long the load goes on after the rollout has finished.
const LOAD_TAIL: Duration = Duration::from_secs(2);

/// The lab hosts of the test, taken for it alone, and an inventory of
/// them: group `lb` and group `app`.
struct Fleet {
    lab: Lab,
    dir: Dir,
    inventory: PathBuf,
    _taken: Vec<Taken>,
}

impl Fleet {
    fn new(test: &str) -> Option<Fleet> {
        let lab = lab::lab(test)?;
        let taken = std::iter::once(LB)
            .chain(APPS)
            .map(|h| lab.take(h))
            .collect();
        lab.fresh(22, 4);
        let dir = Dir::new(test);
        let line = |h: &str| lab.host(h, h).line();
        let apps: Vec<String> = APPS.iter().map(|h| line(h)).collect();
        let inventory = dir.write(
            "inventory.ini",
            format!("[lb]\n{}\n\n[app]\n{}\n", line(LB), apps.join("\n")),
        );
        Some(Fleet {
            lab,
            dir,
            inventory,
            _taken: taken,
        })
    }

    /// `tend run playbooks/go-webapp/site.yml` for release `version`, the
    /// binaries built in the test's directory rather than the checkout.
    fn deploy(&self, version: &str, extra: &[&str]) -> Run {
        let playbook = common::root().join("playbooks/go-webapp/site.yml");
        let build = self.dir.join("build");
        let mut args = vec![
            "-e".to_string(),
            format!("app_version={version}"),
            "-e".to_string(),
            format!("goapp_build_dir={}", build.display()),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.dir.run_playbook(&playbook, &self.inventory, &args)
    }

    /// `deploy` while the load generator sends requests through the lb.
    fn deploy_under_load(&self, version: &str, extra: &[&str]) -> (Run, Report) {
        let load = Load::start(Plan {
            target: self.lb(),
            path: "/".into(),
            threads: 4,
            requests: LOAD_RATE * LOAD_LIMIT.as_secs() as usize,
            over: LOAD_LIMIT,
            timeout: Duration::from_secs(5),
        });
        let run = self.deploy(version, extra);
        std::thread::sleep(LOAD_TAIL);
        assert!(
            !load.ran_out(),
            "the load ended before the rollout did: raise LOAD_LIMIT\n{}",
            show(&run)
        );
        let report = load.stop();
        println!("{}", report.summary(&format!("rollout to {version}")));
        (run, report)
    }

    fn lb(&self) -> SocketAddr {
        format!("{}:80", self.lab.address(LB))
            .parse()
            .expect("the lb's address")
    }

    /// What `path` of goapp answers on `host` itself (the lab hosts have
    /// no curl: bash's /dev/tcp).
    fn on_host(&self, host: &str, path: &str) -> String {
        let script = format!(
            "exec 3<>/dev/tcp/127.0.0.1/{APP_PORT} && \
             printf 'GET {path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && \
             sed -n '/^\\r$/,$p' <&3 | tail -n +2"
        );
        self.lab.ssh_ok(host, &script)
    }

    /// Every app host runs `version` and serves it, on the host and
    /// through the lb (each host seen there, no other version).
    fn assert_serves(&self, version: &str) {
        for h in APPS {
            assert_eq!(
                self.on_host(h, "/"),
                format!("goapp {version} on {h}\n"),
                "{h} serves {version} itself"
            );
            assert_eq!(
                self.lab
                    .ssh_ok(h, "readlink /opt/goapp/current; systemctl is-active goapp"),
                format!("/opt/goapp/releases/{version}\nactive\n"),
                "{h}'s current release"
            );
        }
        let load = Load::start(Plan {
            target: self.lb(),
            path: "/".into(),
            threads: 2,
            requests: 60,
            over: Duration::from_secs(3),
            timeout: Duration::from_secs(5),
        });
        let started = Instant::now();
        while !load.ran_out() && started.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let report = load.stop();
        let summary = report.summary(&format!("after the rollout to {version}"));
        println!("{summary}");
        assert!(report.failures().is_empty(), "{summary}");
        let mut bodies: Vec<String> = report.bodies().into_iter().map(|(b, _)| b).collect();
        bodies.sort();
        let want: Vec<String> = APPS
            .iter()
            .map(|h| format!("goapp {version} on {h}"))
            .collect();
        assert_eq!(bodies, want, "through the lb:\n{summary}");
    }
}

/// Go on the controller, from Debian's packages when it is missing.
fn ensure_go() {
    let _apt = lab::lock("controller-apt");
    let has_go = || {
        Command::new("go")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has_go() {
        return;
    }
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q", "golang-go"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    // A machine whose package lists were never fetched needs them first.
    if !install() {
        let updated = Command::new("apt-get")
            .args(["update", "-q"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            updated && install(),
            "could not install golang-go with apt-get"
        );
    }
    assert!(has_go(), "go is still missing after installing golang-go");
}

fn show(run: &Run) -> String {
    format!("exit {}\n{}\n{}", run.code, run.stdout, run.stderr)
}

#[test]
fn rolls_out_without_dropping_a_request_and_rolls_back_a_bad_release() {
    let Some(fleet) = Fleet::new("rolls_out_without_dropping_a_request") else {
        return;
    };
    ensure_go();

    let v1 = fleet.deploy("v1", &[]);
    assert_eq!(v1.code, 0, "v1 is deployed:\n{}", show(&v1));
    fleet.assert_serves("v1");

    let (v2, load) = fleet.deploy_under_load("v2", &[]);
    assert_eq!(v2.code, 0, "v2 is rolled out:\n{}", show(&v2));
    assert!(
        load.failures().is_empty(),
        "no request fails during the rollout:\n{}",
        load.summary("v1 → v2")
    );
    for h in APPS {
        assert!(v2.changed(h) > 0, "{h} was switched:\n{}", show(&v2));
    }
    fleet.assert_serves("v2");

    // v3's /healthz always fails: the first host tries it, gives it up,
    // and the run stops there.
    let (v3, load) = fleet.deploy_under_load("v3", &["-e", "goapp_healthy=false"]);
    assert_ne!(v3.code, 0, "the bad release fails the run:\n{}", show(&v3));
    // The last fatal line of h23: the play's own `fail`, after the failed
    // health checks.
    let failed = v3
        .stdout
        .lines()
        .any(|l| l.starts_with("fatal: [h23]") && l.contains("release v3 failed on h23"));
    assert!(
        failed,
        "the failure names the release and the host:\n{}",
        show(&v3)
    );
    assert!(
        load.failures().is_empty(),
        "no request fails during the attempt:\n{}",
        load.summary("v2 → v3 (bad)")
    );
    fleet.assert_serves("v2");
    fleet.lab.ssh_ok(
        APPS[0],
        "! systemctl is-active --quiet goapp-canary.service",
    );

    let again = fleet.deploy("v2", &["--detailed-exitcodes"]);
    assert_eq!(again.code, 0, "v2 again changes nothing:\n{}", show(&again));
    for h in std::iter::once(LB).chain(APPS) {
        assert_eq!(again.changed(h), 0, "{h}:\n{}", show(&again));
    }
    fleet.assert_serves("v2");
}
