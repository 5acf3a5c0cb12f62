//! `nginx_site`, `user` and `group` on a real host (lab host h11, running
//! nginx-light under systemd), as drift timelines: apply, apply again
//! (nothing changes), change the host by hand, `--check --diff` reports it
//! and touches nothing, apply corrects it. For nginx also: the site serves
//! through a proxied backend, and a broken configuration is refused with
//! nginx's own message while the working site keeps serving.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::lab::{self, Dir};

const HOST: &str = "h11";

/// `curl` from this machine until `want` is in the answer (nginx applies a
/// reload a few ms after `systemctl reload` returns) or a second passes.
fn curl_until(url: &str, want: &str) -> String {
    let started = Instant::now();
    loop {
        let out = std::process::Command::new("curl")
            .args(["-s", "--max-time", "2", url])
            .output()
            .expect("curl");
        let body = String::from_utf8_lossy(&out.stdout).into_owned();
        if body.contains(want) || started.elapsed() > Duration::from_millis(1500) {
            return body;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

const SITE: &str = "/etc/nginx/sites-available/tend-lab";
const LINK: &str = "/etc/nginx/sites-enabled/tend-lab";

fn site_playbook(dir: &Dir, file: &str, address: &str, extra: &str) -> PathBuf {
    dir.write(
        file,
        format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - nginx_site:
        name: tend-lab
        enabled: "{{{{ site_enabled | default(true) }}}}"
        upstreams:
          backend:
            servers: ["127.0.0.1:8091"]
            keepalive: 4
        server:
          listen: 80
          server_name: "{address}"
          locations:
            - path: /
              proxy_pass: http://backend
              proxy_http_version: "1.1"
              proxy_set_header: {{Host: $host, Connection: '""'}}
              proxy_next_upstream: error timeout
            - path: = /health
              return: '200 "site ok\n"'
          extra: {extra}
"#
        ),
    )
}

#[test]
fn nginx_site_serves_corrects_drift_and_refuses_a_broken_config() {
    let Some(lab) = lab::lab("nginx_site_serves_corrects_drift_and_refuses_a_broken_config") else {
        return;
    };
    lab.ensure_up(11);
    let _host = lab.take(HOST);
    let address = lab.address(HOST);
    // A backend on h11 for the site to proxy to, and nginx running.
    lab.ssh_ok(
        HOST,
        "set -e; systemctl start nginx; rm -f /etc/nginx/sites-*/tend-lab; mkdir -p /srv/tend-backend; \
         echo 'backend says hi' > /srv/tend-backend/index.html; \
         systemctl stop tend-lab-backend 2>/dev/null || true; systemctl reset-failed tend-lab-backend 2>/dev/null || true; \
         systemd-run --unit tend-lab-backend python3 -m http.server 8091 --bind 127.0.0.1 --directory /srv/tend-backend >/dev/null",
    );
    let dir = Dir::new("nginx-site");
    let inv = dir.single_host_inventory(&lab, HOST);
    let good = site_playbook(&dir, "good.yml", &address, "[]");
    let url = format!("http://{address}/");

    let first = dir.run_playbook(&good, &inv, &["--diff"]);
    first.assert_ok();
    assert_eq!(first.changed(HOST), 1, "{}", first.stdout);
    assert!(
        first.stdout.contains("+    keepalive 4;"),
        "{}",
        first.stdout
    );
    assert!(first.stdout.contains("+enabled: true"), "{}", first.stdout);
    assert_eq!(
        lab.ssh_ok(HOST, &format!("readlink {LINK}")),
        "../sites-available/tend-lab\n"
    );
    assert!(curl_until(&url, "backend says hi").contains("backend says hi"));
    assert_eq!(curl_until(&format!("{url}health"), "site ok"), "site ok\n");

    let second = dir.run_playbook(&good, &inv, &[]);
    second.assert_ok();
    assert_eq!(second.changed(HOST), 0, "{}", second.stdout);

    // Drift: the file edited by hand. --check --diff shows it, changes nothing.
    lab.ssh_ok(
        HOST,
        &format!("sed -i 's/keepalive 4;/keepalive 9;/' {SITE}"),
    );
    let check = dir.run_playbook(&good, &inv, &["--check", "--diff"]);
    check.assert_ok();
    assert_eq!(check.changed(HOST), 1, "{}", check.stdout);
    assert!(
        check.stdout.contains("-    keepalive 9;"),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("+    keepalive 4;"),
        "{}",
        check.stdout
    );
    assert_eq!(
        lab.ssh_ok(HOST, &format!("grep -c 'keepalive 9;' {SITE}")),
        "1\n"
    );
    let fix = dir.run_playbook(&good, &inv, &[]);
    fix.assert_ok();
    assert_eq!(fix.changed(HOST), 1, "{}", fix.stdout);
    assert_eq!(
        lab.ssh_ok(HOST, &format!("grep -c 'keepalive 4;' {SITE}")),
        "1\n"
    );

    // A broken configuration: nginx's message, the working site untouched
    // and still serving.
    let before = lab.ssh_ok(
        HOST,
        &format!("sha1sum {SITE}; readlink {LINK}; ls -A /etc/nginx/sites-available"),
    );
    let broken = site_playbook(&dir, "broken.yml", &address, r#"["listen notaport;"]"#);
    let refused = dir.run_playbook(&broken, &inv, &[]);
    assert_eq!(refused.code, 2, "{}\n{}", refused.stdout, refused.stderr);
    assert_eq!(refused.failed(HOST), 1, "{}", refused.stdout);
    assert!(
        refused.stdout.contains("nginx -t rejected the configuration with site tend-lab")
            // nginx's own words, JSON-escaped in the failure line.
            && refused.stdout.contains(r#"\"notaport\" of the \"listen\" directive"#),
        "{}",
        refused.stdout
    );
    assert_eq!(
        lab.ssh_ok(
            HOST,
            &format!("sha1sum {SITE}; readlink {LINK}; ls -A /etc/nginx/sites-available")
        ),
        before,
        "the old file and link are back, and no backup is left"
    );
    assert!(curl_until(&url, "backend says hi").contains("backend says hi"));

    // Disabled: the link goes and the default site answers again.
    let off = dir.run_playbook(&good, &inv, &["-e", "site_enabled=false", "--diff"]);
    off.assert_ok();
    assert_eq!(off.changed(HOST), 1, "{}", off.stdout);
    assert!(off.stdout.contains("+enabled: false"), "{}", off.stdout);
    assert_eq!(lab.ssh(HOST, &format!("test -L {LINK}")).code, 1);
    assert!(!curl_until(&url, "Welcome to nginx").contains("backend says hi"));
    let again = dir.run_playbook(&good, &inv, &["-e", "site_enabled=false"]);
    assert_eq!(again.changed(HOST), 0, "{}", again.stdout);

    // Absent: file and link gone, once.
    let gone = dir.write(
        "absent.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - nginx_site: {name: tend-lab, state: absent}\n",
    );
    dir.run_playbook(&good, &inv, &[]).assert_ok();
    let removed = dir.run_playbook(&gone, &inv, &[]);
    removed.assert_ok();
    assert_eq!(removed.changed(HOST), 1, "{}", removed.stdout);
    assert_eq!(
        lab.ssh(HOST, &format!("test -e {SITE} || test -L {LINK}"))
            .code,
        1
    );
    let removed_again = dir.run_playbook(&gone, &inv, &[]);
    assert_eq!(removed_again.changed(HOST), 0, "{}", removed_again.stdout);

    lab.ssh_ok(
        HOST,
        "systemctl stop tend-lab-backend; rm -rf /srv/tend-backend",
    );
}

const HASH: &str = "$6$tendlabsalt$j6u8wCtW96KcGYI96yg4UW8.2IKWB2gGZM7g3k4XyyLj2OaWvSpgpdduE2XaK.0vFsnBoYf0nXG2DGBiU0oup.";

#[test]
fn users_and_groups_converge_and_come_back_after_drift() {
    let Some(lab) = lab::lab("users_and_groups_converge_and_come_back_after_drift") else {
        return;
    };
    lab.ensure_up(11);
    let _host = lab.take(HOST);
    lab.ssh_ok(
        HOST,
        "userdel -r tendlab-svc 2>/dev/null; groupdel tendlab-ops 2>/dev/null; groupdel tendlab-dev 2>/dev/null; rm -rf /srv/tendlab-svc; true",
    );
    let dir = Dir::new("users");
    let inv = dir.single_host_inventory(&lab, HOST);
    let site = dir.write(
        "users.yml",
        format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - group: {{name: tendlab-ops, gid: 4711}}
    - group: {{name: tendlab-dev, system: true}}
    - user:
        name: tendlab-svc
        system: true
        comment: Tend lab service
        home: /srv/tendlab-svc
        groups: [tendlab-ops, tendlab-dev]
        shell: /bin/bash
        password: "{HASH}"
      register: svc
    - assert:
        that:
          - svc.name == 'tendlab-svc'
          - svc.shell == '/bin/bash'
          - svc.home == '/srv/tendlab-svc'
          - svc.password == 'NOT_LOGGING_PASSWORD'
          - svc.uid < 1000
"#
        ),
    );
    let first = dir.run_playbook(&site, &inv, &["--diff"]);
    first.assert_ok();
    assert_eq!(first.changed(HOST), 3, "{}", first.stdout);
    let facts = lab.ssh_ok(
        HOST,
        "getent passwd tendlab-svc | cut -d: -f5-7; id -Gn tendlab-svc; getent group tendlab-ops | cut -d: -f3; \
         stat -c '%U %a' /srv/tendlab-svc; test -f /srv/tendlab-svc/.profile && echo skel; getent shadow tendlab-svc | cut -d: -f2",
    );
    assert_eq!(
        facts,
        format!(
            "Tend lab service:/srv/tendlab-svc:/bin/bash\ntendlab-svc tendlab-ops tendlab-dev\n4711\ntendlab-svc 755\nskel\n{HASH}\n"
        )
    );
    let uid: u32 = lab
        .ssh_ok(HOST, "id -u tendlab-svc")
        .trim()
        .parse()
        .unwrap();
    assert!(uid < 1000, "a system user: {uid}");

    let second = dir.run_playbook(&site, &inv, &[]);
    second.assert_ok();
    assert_eq!(second.changed(HOST), 0, "{}", second.stdout);

    // Drift: shell, gid, a supplementary group and the lock changed by hand.
    lab.ssh_ok(
        HOST,
        "usermod -s /bin/sh -L tendlab-svc && groupmod -g 4712 tendlab-ops && gpasswd -d tendlab-svc tendlab-dev >/dev/null",
    );
    let check = dir.run_playbook(&site, &inv, &["--check", "--diff"]);
    check.assert_ok();
    assert_eq!(check.changed(HOST), 2, "{}", check.stdout);
    for line in [
        "-shell: /bin/sh",
        "+shell: /bin/bash",
        "-gid: 4712",
        "+gid: 4711",
        "-groups: tendlab-ops",
        "+groups: tendlab-ops,tendlab-dev",
    ] {
        assert!(check.stdout.contains(line), "{line} in:\n{}", check.stdout);
    }
    assert_eq!(
        lab.ssh_ok(HOST, "getent passwd tendlab-svc | cut -d: -f7"),
        "/bin/sh\n"
    );
    let fix = dir.run_playbook(&site, &inv, &["--diff"]);
    fix.assert_ok();
    assert_eq!(fix.changed(HOST), 2, "{}", fix.stdout);
    assert_eq!(
        lab.ssh_ok(HOST, "getent passwd tendlab-svc | cut -d: -f7; id -Gn tendlab-svc; getent group tendlab-ops | cut -d: -f3"),
        "/bin/bash\ntendlab-svc tendlab-ops tendlab-dev\n4711\n"
    );
    // The lock was not asked for, so it stays (as in Ansible); the hash is
    // the same without its `!`.
    assert_eq!(
        lab.ssh_ok(HOST, "getent shadow tendlab-svc | cut -d: -f2"),
        format!("!{HASH}\n")
    );
    for run in [&first, &second, &check, &fix] {
        assert!(
            !run.stdout.contains(HASH) && !run.stdout.contains("tendlabsalt"),
            "{}",
            run.stdout
        );
    }

    // Removal: the user with its home, then the groups.
    let absent = dir.write(
        "absent.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - user: {name: tendlab-svc, state: absent, remove: true}\n    \
         - group: {name: tendlab-ops, state: absent}\n    - group: {name: tendlab-dev, state: absent}\n",
    );
    let removed = dir.run_playbook(&absent, &inv, &[]);
    removed.assert_ok();
    assert_eq!(removed.changed(HOST), 3, "{}", removed.stdout);
    assert_eq!(
        lab.ssh(HOST, "getent passwd tendlab-svc || getent group tendlab-ops || getent group tendlab-dev || test -e /srv/tendlab-svc").code,
        1
    );
    let again = dir.run_playbook(&absent, &inv, &[]);
    assert_eq!(again.changed(HOST), 0, "{}", again.stdout);
}
