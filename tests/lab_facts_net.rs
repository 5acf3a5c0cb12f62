//! Facts and the network modules on a real host (lab host h12, tests/lab):
//! gathered facts and the `setup` module against Ansible's own `setup` on
//! the same host; `uri` against a web server on the host (from the host,
//! with `until`/`retries`); `wait_for` on ports and paths; and `unarchive`
//! of a tar.gz made here, through the drift timeline (apply, apply again,
//! delete a file by hand, `--check --diff`, apply, back).

mod common;
mod oracle;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Run;
use common::lab::{self, Dir, Lab, Taken};
use serde_json::Value;

const HOST: &str = "h12";

/// The lab, h12 up and taken by this test (tests of this file share it).
fn h12(test: &str) -> Option<(Lab, Taken)> {
    let lab = lab::lab(test)?;
    lab.ensure_up(12);
    let taken = lab.take(HOST);
    Some((lab, taken))
}

/// The JSON document of a `--format json` run.
fn doc(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("one JSON document ({e}):\n{}\n{}", run.stdout, run.stderr))
}

/// The result of task `i` of the first play on h12.
fn task_result(doc: &Value, i: usize) -> &Value {
    &doc["plays"][0]["tasks"][i]["hosts"][HOST]
}

/// Ansible's `setup` on h12: its `ansible_facts`.
fn ansible_setup(dir: &Dir, inventory: &Path) -> Value {
    let ansible = oracle::ansible_playbook().with_file_name("ansible");
    let out = Command::new(ansible)
        .args([HOST, "-i"])
        .arg(inventory)
        .args(["-m", "setup"])
        .env("HOME", dir.home())
        // No ControlPersist master may outlive the test (tests/lab/README.md).
        .env("ANSIBLE_SSH_ARGS", "-o ControlMaster=no")
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("ansible runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let json = text.find('{').map(|i| &text[i..]).unwrap_or_else(|| {
        panic!(
            "ansible setup printed no result:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let v: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    v["ansible_facts"].clone()
}

#[test]
fn gathered_facts_and_setup_match_ansible_on_the_same_host() {
    let Some((lab, _h12)) = h12("gathered_facts_and_setup_match_ansible_on_the_same_host") else {
        return;
    };
    // A default route, as servers have (the lab has none), so that
    // default_ipv4 has something to compare.
    lab.ssh_ok(HOST, "ip -4 route replace default via 10.251.0.1");
    let dir = Dir::new("facts");
    let inv = dir.single_host_inventory(&lab, HOST);
    let pb = dir.write("site.yml", "- hosts: all\n  tasks:\n    - setup:\n");
    let run = dir.run_playbook(&pb, &inv, &["--format", "json"]);
    run.assert_ok();
    let answer = doc(&run);
    let gathered = &task_result(&answer, 0)["ansible_facts"];
    let setup = &task_result(&answer, 1)["ansible_facts"];
    let ansible = ansible_setup(&dir, &inv);
    for key in [
        "hostname",
        "nodename",
        "fqdn",
        "domain",
        "distribution",
        "distribution_release",
        "distribution_version",
        "distribution_major_version",
        "os_family",
        "architecture",
        "machine",
        "kernel",
        "kernel_version",
        "system",
        "machine_id",
        "default_ipv4",
        "default_ipv6",
        "all_ipv4_addresses",
        "processor_vcpus",
        "processor_nproc",
        "memtotal_mb",
        "swaptotal_mb",
        "service_mgr",
        "pkg_mgr",
        "user_id",
        "user_uid",
        "user_gid",
        "user_dir",
        "user_shell",
        "user_gecos",
        "real_user_id",
        "effective_group_id",
        "lo",
    ] {
        let name = format!("ansible_{key}");
        let mut want = ansible[&name].clone();
        let mut have = gathered[&name].clone();
        if key == "lo" {
            // Ansible adds ethtool features and such; compare what tend has.
            want =
                serde_json::json!({"ipv4": want["ipv4"], "mtu": want["mtu"], "type": want["type"]});
            have =
                serde_json::json!({"ipv4": have["ipv4"], "mtu": have["mtu"], "type": have["type"]});
        }
        assert_eq!(have, want, "{name}: tend (left) and Ansible (right)");
        assert_eq!(
            setup[&name], gathered[&name],
            "{name}: setup and gather_facts"
        );
    }
    assert!(gathered["ansible_default_ipv4"]["address"].is_string());
    let sorted = |v: &Value| {
        let mut names: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        sorted(&gathered["ansible_interfaces"]),
        sorted(&ansible["ansible_interfaces"])
    );
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&gathered["ansible_date_time"]),
        keys(&ansible["ansible_date_time"])
    );
    for var in ["HOME", "USER", "PATH", "SHELL", "LOGNAME"] {
        assert_eq!(
            gathered["ansible_env"][var], ansible["ansible_env"][var],
            "ansible_env.{var}"
        );
    }
    assert!(
        gathered.get("ansible_python").is_none(),
        "no Python facts: no Python needed"
    );
    assert_eq!(setup["module_setup"], true);
    // Gathering facts is one round trip.
    let empty = dir.write("empty.yml", "- hosts: all\n  tasks: []\n");
    let run = dir.run_playbook(&empty, &inv, &["--format", "json"]);
    run.assert_ok();
    assert_eq!(
        doc(&run)["tend"]["traffic"][HOST]["round_trips"],
        1,
        "{}",
        run.stdout
    );
}

#[test]
fn setup_facts_become_host_variables() {
    let Some((lab, _h12)) = h12("setup_facts_become_host_variables") else {
        return;
    };
    let dir = Dir::new("setup-vars");
    let inv = dir.single_host_inventory(&lab, HOST);
    let pb = dir.write(
        "site.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - assert: {that: [ansible_distribution is not defined]}
    - setup: {filter: "ansible_distribution*"}
    - assert:
        that:
          - ansible_distribution == 'Debian'
          - ansible_facts.distribution_major_version == '12'
          - ansible_facts['os_family'] is not defined
          - ansible_hostname is not defined
    - setup: {gather_subset: ["!all"]}
      check_mode: true
    - assert:
        that:
          - ansible_os_family == 'Debian'
          - ansible_facts.pkg_mgr == 'apt'
          - ansible_default_ipv4 is not defined
"#,
    );
    let run = dir.run_playbook(&pb, &inv, &[]);
    run.assert_ok();
    assert_eq!(run.recap(HOST)[..4], [5, 0, 0, 0], "{}", run.stdout);
}

/// A web server on h12: `python3 -m http.server PORT` in a transient
/// systemd unit, serving DIR. Stopped when dropped.
struct WebServer<'a> {
    lab: &'a Lab,
    unit: String,
}

impl<'a> WebServer<'a> {
    fn start(lab: &'a Lab, port: u16, dir: &str) -> WebServer<'a> {
        let unit = format!("tend-lab-http-{port}");
        lab.ssh(
            HOST,
            &format!(
                "systemctl stop {unit} 2>/dev/null; systemctl reset-failed {unit} 2>/dev/null"
            ),
        );
        lab.ssh_ok(
            HOST,
            &format!(
                "mkdir -p {dir} && systemd-run --unit={unit} python3 -m http.server {port} --bind 127.0.0.1 --directory {dir} \
                 && for i in $(seq 50); do bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}' 2>/dev/null && exit 0; sleep 0.1; done; exit 1"
            ),
        );
        WebServer { lab, unit }
    }

    fn stop(&self) {
        self.lab.ssh(HOST, &format!("systemctl stop {}", self.unit));
    }
}

impl Drop for WebServer<'_> {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn uri_checks_a_service_from_the_host_with_until_and_retries() {
    let Some((lab, _h12)) = h12("uri_checks_a_service_from_the_host_with_until_and_retries") else {
        return;
    };
    let www = format!("/tmp/tend-lab-uri-{}", std::process::id());
    let server = WebServer::start(&lab, 18080, &www);
    lab.ssh_ok(
        HOST,
        &format!("echo '{{\"ok\": true, \"n\": 3}}' > {www}/health.json && rm -f {www}/ready.txt"),
    );
    let dir = Dir::new("uri");
    let inv = dir.single_host_inventory(&lab, HOST);
    // ready.txt appears three seconds after the task before the check
    // schedules it, while the check retries.
    let pb = dir.write(
        "site.yml",
        format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - uri: {{url: "http://localhost:18080/health.json", return_content: true}}
      register: health
    - assert:
        that:
          - health.status == 200
          - health.json.ok
          - health.json.n == 3
          - health.content_type == 'application/json'
          - health.msg == 'OK (' ~ health.content_length ~ ' bytes)'
          - health.url == 'http://localhost:18080/health.json'
          - health.redirected == false
          - health is not changed
    - uri: {{url: "http://localhost:18080/missing", status_code: [200, 404]}}
      register: missing
    - assert: {{that: [missing.status == 404, "missing.msg == 'HTTP Error 404: File not found'"]}}
    - command: systemd-run --timer-property=AccuracySec=10ms --on-active=3 /bin/sh -c 'echo ready > {www}/ready.txt'
      changed_when: false
    - uri: {{url: "http://localhost:18080/ready.txt", return_content: true}}
      register: ready
      until: ready.status == 200
      retries: 10
      delay: 1
    - assert: {{that: [ready.attempts > 1, "ready.content == 'ready\n'"]}}
"#
        ),
    );
    let first = dir.run_playbook(&pb, &inv, &[]);
    first.assert_ok();
    assert_eq!(
        first.recap(HOST)[..4],
        [7, 0, 0, 0],
        "uri changes nothing:\n{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("FAILED - RETRYING"),
        "{}",
        first.stdout
    );
    lab.ssh_ok(HOST, &format!("rm {www}/ready.txt"));
    let again = dir.run_playbook(&pb, &inv, &[]);
    again.assert_ok();
    assert_eq!(again.changed(HOST), 0, "{}", again.stdout);

    // A wrong status fails with Ansible's message.
    let wrong = dir.write(
        "wrong.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - uri: {url: \"http://localhost:18080/missing\"}\n",
    );
    let run = dir.run_playbook(&wrong, &inv, &[]);
    assert_eq!(run.failed(HOST), 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("Status code was 404 and not [200]: HTTP Error 404: File not found"),
        "{}",
        run.stdout
    );
    // The service goes down: the check fails after its retries, as Ansible words it.
    server.stop();
    let down = dir.write(
        "down.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - uri: {url: \"http://localhost:18080/health.json\"}\n      register: r\n      until: r.status == 200\n      retries: 1\n      delay: 1\n",
    );
    let run = dir.run_playbook(&down, &inv, &[]);
    assert_eq!(run.failed(HOST), 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] Connection refused>"
        ),
        "{}",
        run.stdout
    );
    // Under --check, uri is skipped, as in Ansible.
    let check = dir.run_playbook(&wrong, &inv, &["--check"]);
    check.assert_ok();
    assert_eq!(
        check.recap(HOST)[4],
        1,
        "skipped under --check:\n{}",
        check.stdout
    );
    lab.ssh_ok(HOST, &format!("rm -rf {www}"));
}

#[test]
fn wait_for_ports_and_paths() {
    let Some((lab, _h12)) = h12("wait_for_ports_and_paths") else {
        return;
    };
    let www = format!("/tmp/tend-lab-wait-{}", std::process::id());
    let unit = "tend-lab-wait-http";
    lab.ssh(HOST, &format!("systemctl stop {unit} 2>/dev/null; systemctl reset-failed {unit} 2>/dev/null; mkdir -p {www}; rm -f {www}/app.log"));
    // The server starts two seconds from now; the log line comes after.
    // (Transient timers fire within a minute unless AccuracySec says otherwise.)
    lab.ssh_ok(
        HOST,
        &format!(
            "systemd-run --timer-property=AccuracySec=10ms --on-active=2 --unit={unit} python3 -m http.server 18081 --bind 127.0.0.1 --directory {www} \
             && systemd-run --timer-property=AccuracySec=10ms --on-active=3 /bin/sh -c 'echo \"listening on port 18081\" > {www}/app.log'"
        ),
    );
    let dir = Dir::new("wait-for");
    let inv = dir.single_host_inventory(&lab, HOST);
    let pb = dir.write(
        "site.yml",
        format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - wait_for: {{port: 18081, timeout: 20}}
      register: up
    - assert: {{that: [up.elapsed >= 1, up.port == 18081, up.state == 'started', up is not changed]}}
    - wait_for: {{path: "{www}/app.log", search_regex: 'port (\d+)', timeout: 20}}
      register: log
    - assert: {{that: ["log.match_groups == ['18081']", log.state == 'file']}}
    - command: systemd-run --timer-property=AccuracySec=10ms --on-active=2 systemctl stop {unit}
    - wait_for: {{port: 18081, state: stopped, timeout: 20}}
    - file: {{path: "{www}/app.log", state: absent}}
    - wait_for: {{path: "{www}/app.log", state: absent, timeout: 5}}
"#
        ),
    );
    let run = dir.run_playbook(&pb, &inv, &[]);
    run.assert_ok();
    assert_eq!(run.recap(HOST)[..4], [8, 2, 0, 0], "{}", run.stdout);
    // A port that never opens: Ansible's timeout message.
    let never = dir.write(
        "never.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - wait_for: {port: 18099, timeout: 2}\n",
    );
    let run = dir.run_playbook(&never, &inv, &[]);
    assert_eq!(run.failed(HOST), 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("Timeout when waiting for 127.0.0.1:18099"),
        "{}",
        run.stdout
    );
    let check = dir.run_playbook(&never, &inv, &["--check"]);
    check.assert_ok();
    assert_eq!(
        check.recap(HOST)[4],
        1,
        "skipped under --check:\n{}",
        check.stdout
    );
    lab.ssh(HOST, &format!("systemctl stop {unit}; rm -rf {www}"));
}

/// A tar.gz made here with the system tar: `app/` with a script, a config,
/// a nested directory and a symlink.
fn make_archive(dir: &Dir) -> PathBuf {
    let src = dir.join("src");
    let app = src.join("app");
    std::fs::create_dir_all(app.join("conf.d")).unwrap();
    std::fs::write(app.join("run.sh"), "#!/bin/sh\necho running\n").unwrap();
    std::fs::set_permissions(
        app.join("run.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(app.join("conf.d/app.ini"), "[app]\nport = 8080\n").unwrap();
    std::fs::write(app.join("VERSION"), "1.4.2\n").unwrap();
    std::os::unix::fs::symlink("run.sh", app.join("start")).unwrap();
    let files = dir.join("files");
    std::fs::create_dir_all(&files).unwrap();
    let archive = files.join("app.tgz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(&src)
        .arg("app")
        .status()
        .unwrap();
    assert!(status.success());
    archive
}

#[test]
fn unarchive_drift_timeline() {
    let Some((lab, _h12)) = h12("unarchive_drift_timeline") else {
        return;
    };
    let dir = Dir::new("unarchive");
    make_archive(&dir);
    let inv = dir.single_host_inventory(&lab, HOST);
    let dest = format!("/srv/tend-lab-unarchive-{}", std::process::id());
    let pb = dir.write(
        "site.yml",
        format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - file: {{path: "{dest}", state: directory}}
    - unarchive: {{src: app.tgz, dest: "{dest}", owner: tester, mode: "u+rwX,g+rX,o-rwx", list_files: true}}
      register: x
    - assert: {{that: ["'app/run.sh' in x.files", x.handler == 'TgzArchive']}}
"#
        ),
    );
    let check_tree = || {
        assert_eq!(
            lab.ssh_ok(
                HOST,
                &format!("cd {dest} && cat app/VERSION app/conf.d/app.ini && readlink app/start && stat -c '%U %a %n' app app/run.sh app/conf.d/app.ini")
            ),
            "1.4.2\n[app]\nport = 8080\nrun.sh\ntester 750 app\ntester 750 app/run.sh\ntester 640 app/conf.d/app.ini\n"
        );
    };
    let first = dir.run_playbook(&pb, &inv, &[]);
    first.assert_ok();
    assert_eq!(first.changed(HOST), 2, "{}", first.stdout);
    check_tree();
    let second = dir.run_playbook(&pb, &inv, &[]);
    second.assert_ok();
    assert_eq!(second.changed(HOST), 0, "{}", second.stdout);

    // Drift: a file deleted by hand.
    lab.ssh_ok(HOST, &format!("rm {dest}/app/conf.d/app.ini"));
    let check = dir.run_playbook(&pb, &inv, &["--check", "--diff"]);
    check.assert_ok();
    assert_eq!(check.changed(HOST), 1, "{}", check.stdout);
    assert!(
        check.stdout.contains("-app/conf.d/app.ini: absent"),
        "{}",
        check.stdout
    );
    assert_eq!(
        lab.ssh(HOST, &format!("test -e {dest}/app/conf.d/app.ini"))
            .code,
        1,
        "--check left the host alone"
    );
    let fix = dir.run_playbook(&pb, &inv, &[]);
    fix.assert_ok();
    assert_eq!(fix.changed(HOST), 1, "{}", fix.stdout);
    check_tree();
    let last = dir.run_playbook(&pb, &inv, &[]);
    last.assert_ok();
    assert_eq!(last.changed(HOST), 0, "{}", last.stdout);
    lab.ssh_ok(HOST, &format!("rm -rf {dest}"));
}

/// A web server on this machine, for the local connection; killed (by its
/// own process id) when dropped.
struct LocalServer(std::process::Child);

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn uri_through_curl_follows_redirects_and_posts_json() {
    // The lab hosts have no curl (uri uses bash's /dev/tcp there); this
    // machine has, so the curl route is tested on the local connection.
    let has = |tool: &str| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has("curl") || !has("python3") {
        eprintln!(
            "SKIPPED: uri_through_curl_follows_redirects_and_posts_json needs curl and python3 here"
        );
        return;
    }
    let dir = Dir::new("uri-curl");
    let www = dir.join("www");
    std::fs::create_dir_all(www.join("sub")).unwrap();
    std::fs::write(www.join("sub/index.html"), "inside\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = LocalServer(
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(&www)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 starts"),
    );
    let inv = dir.write("local.ini", "localhost ansible_connection=local\n");
    let pb = dir.write(
        "site.yml",
        format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - wait_for: {{port: {port}, timeout: 10}}
    - uri: {{url: "http://127.0.0.1:{port}/sub", return_content: true}}
      register: followed
    - assert:
        that:
          - followed.status == 200
          - followed.redirected
          - followed.url == 'http://127.0.0.1:{port}/sub/'
          - "followed.content == 'inside\n'"
    - uri: {{url: "http://127.0.0.1:{port}/sub", follow_redirects: none, status_code: 301}}
      register: moved
    - assert: {{that: ["moved.location == 'http://127.0.0.1:{port}/sub/'", not moved.redirected]}}
    - uri:
        url: "http://127.0.0.1:{port}/api"
        method: POST
        body_format: json
        body: {{name: tend}}
        status_code: 501
      register: posted
    - assert: {{that: ["posted.msg is match('HTTP Error 501: Unsupported method')"]}}
"#
        ),
    );
    let run = dir.run_playbook(&pb, &inv, &[]);
    run.assert_ok();
    assert_eq!(run.recap("localhost")[..4], [7, 0, 0, 0], "{}", run.stdout);
}
