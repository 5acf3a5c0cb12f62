//! Converging real hosts over SSH (the lab, tests/lab): the compatibility
//! playbook on two hosts gives the same results as on the local connection,
//! a converged run costs a handful of round trips, and a host hidden behind
//! a jump host is reached through it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::lab::{self, Dir, Lab};
use common::{Run, Scratch, root, tree};

/// Where the compatibility playbook writes on the lab hosts (and, for its
/// `delegate_to: localhost` task, on this machine).
const BASE: &str = "/tmp/compat-ssh";

/// The compat inventory (tests/compat/inventory.ini) with alpha on h1 and
/// beta on h2, over SSH; group_vars and host_vars copied beside it.
fn compat_inventory(lab: &Lab, dir: &Dir) -> PathBuf {
    let alpha = lab.host("alpha", "h1");
    let beta = lab.host("beta", "h2").var("app_port", "9091");
    let inventory = dir.write(
        "inventory.ini",
        format!(
            "[app]\n{}\n{}\n\n[db]\nalpha\n\n[app:vars]\ntier=frontend\n",
            alpha.line(),
            beta.line()
        ),
    );
    let compat = root().join("tests/compat");
    for sub in ["group_vars", "host_vars"] {
        lab::copy_dir(&compat.join(sub), &dir.join(sub));
    }
    inventory
}

fn site() -> String {
    root().join("tests/compat/site.yml").display().to_string()
}

/// The files the playbook left under `<base>/<host>` on both hosts, fetched
/// with the system ssh and tar, paths as `alpha/...` and `beta/...`, with
/// the base directory written `BASE`.
fn remote_tree(lab: &Lab, scratch: &Path) -> Vec<(String, String)> {
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(scratch).unwrap();
    for (host, name) in [("h1", "alpha"), ("h2", "beta")] {
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ssh -F '{}' -o ControlMaster=no {host} tar -C {BASE} -cf - {name} | tar -C '{}' -xf -",
                lab.ssh_config.display(),
                scratch.display()
            ))
            .status()
            .unwrap();
        assert!(status.success(), "fetching {BASE}/{name} from {host}");
    }
    normalized(tree(scratch), BASE)
}

/// `tree` entries under alpha/ and beta/ with `base` replaced by `BASE`.
fn normalized(entries: Vec<(String, String)>, base: &str) -> Vec<(String, String)> {
    entries
        .into_iter()
        .filter(|(path, _)| path.starts_with("alpha/") || path.starts_with("beta/"))
        .map(|(path, content)| (path, content.replace(base, "BASE")))
        .collect()
}

fn recaps(run: &Run) -> [[u32; 7]; 2] {
    [run.recap("alpha"), run.recap("beta")]
}

#[test]
fn compat_playbook_over_ssh_converges_like_the_local_connection() {
    let Some(lab) = lab::lab("compat_playbook_over_ssh_converges_like_the_local_connection") else {
        return;
    };
    // BASE is a fixed path: one test process at a time uses it.
    let _base = lab::lock("compat-ssh");
    let dir = Dir::new("compat-ssh");
    let inventory = compat_inventory(&lab, &dir);
    for host in ["h1", "h2"] {
        lab.ssh_ok(host, &format!("rm -rf {BASE}"));
    }
    // `delegate_to: localhost` writes BASE/delegated-<host> on this machine,
    // so BASE must exist here as it would for ansible-playbook.
    let _ = std::fs::remove_dir_all(BASE);
    std::fs::create_dir_all(BASE).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run".to_string(),
            site(),
            "-i".into(),
            inventory.display().to_string(),
            "-e".into(),
            format!("base={BASE}"),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        dir.tend(args)
    };

    // The same playbook on the local connection, twice, for the numbers.
    let local_dir = Scratch::new("compat-ssh-local");
    let local_base = format!("base={}", local_dir.str());
    let local_args = [
        "run",
        "tests/compat/site.yml",
        "-i",
        "tests/compat/inventory.ini",
        "-e",
        &local_base,
    ];
    let local_first = common::tend(local_args);
    local_first.assert_ok();
    let local_second = common::tend(local_args);
    local_second.assert_ok();

    let first = run(&[]);
    first.assert_ok();
    for host in ["alpha", "beta"] {
        assert_eq!(first.failed(host), 0, "{}", first.stdout);
        assert!(first.changed(host) > 5, "{}", first.stdout);
    }
    assert_eq!(
        recaps(&first),
        recaps(&local_first),
        "first run: the per-host stats over SSH (left) differ from the local run (right)\n\
         SSH:\n{}\nLOCAL:\n{}",
        first.stdout,
        local_first.stdout
    );
    let conf = lab.ssh_ok("h2", &format!("cat {BASE}/beta/etc/limits.conf"));
    assert_eq!(conf, "port = 9091\nmanaged = yes\nworkers = 4\n");
    lab.ssh_ok("h1", &format!("test -e {BASE}/alpha/handled"));
    let run_once = ["h1", "h2"]
        .iter()
        .filter(|h| lab.ssh(h, &format!("test -e {BASE}/run-once.txt")).code == 0)
        .count();
    assert_eq!(run_once, 1, "run_once wrote on exactly one host");
    for host in ["alpha", "beta"] {
        assert!(
            Path::new(BASE).join(format!("delegated-{host}")).exists(),
            "delegate_to: localhost ran here for {host}"
        );
    }
    // Every file the hosts got is the file the local run wrote.
    let fetched = dir.join("fetched");
    let remote = remote_tree(&lab, &fetched);
    let local = normalized(tree(local_dir.path()), local_dir.str());
    assert!(remote.len() > 20, "{remote:?}");
    assert_eq!(remote, local, "files over SSH (left) and local (right)");

    let second = run(&["-v"]);
    second.assert_ok();
    for host in ["alpha", "beta"] {
        assert_eq!(
            second.changed(host),
            0,
            "second run must change nothing on {host}:\n{}",
            second.stdout
        );
        let traffic = lab::traffic(&second, host);
        assert!(
            traffic.is_some_and(|(trips, sent, received)| trips > 0 && sent > 0 && received > 0),
            "-v prints the traffic of {host}:\n{}",
            second.stdout
        );
    }
    assert_eq!(
        recaps(&second),
        recaps(&local_second),
        "second run: SSH (left) and local (right)\nSSH:\n{}\nLOCAL:\n{}",
        second.stdout,
        local_second.stdout
    );

    // A dry run tells the truth over SSH too, and touches nothing.
    let check = run(&["--check", "--diff", "-e", "site_name=renamed"]);
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
    assert!(check.changed("alpha") >= 1, "{}", check.stdout);
    assert!(
        check.stdout.contains("+# renamed on alpha"),
        "{}",
        check.stdout
    );
    assert_eq!(
        remote_tree(&lab, &fetched),
        remote,
        "--check must leave every file untouched"
    );

    for host in ["h1", "h2"] {
        lab.ssh_ok(host, &format!("rm -rf {BASE}"));
    }
    let _ = std::fs::remove_dir_all(BASE);
}

/// A playbook of 40 tasks of the file-handling modules, all under `root`.
fn forty_tasks(root: &str) -> String {
    let mut text = format!(
        "- hosts: all\n  gather_facts: true\n  vars:\n    root: {root}\n  tasks:\n\
         \x20   - name: t0 root\n      file: {{path: \"{{{{ root }}}}\", state: directory}}\n"
    );
    for i in 1..40 {
        let task = match i % 6 {
            0 => {
                format!("file: {{path: \"{{{{ root }}}}/d{i}\", state: directory, mode: \"0750\"}}")
            }
            // `edit` changes the first copy alone: the "one change" run.
            1 => format!(
                "copy: {{content: \"line {i}{}\\n\", dest: \"{{{{ root }}}}/c{i}.txt\", mode: \"0640\"}}",
                if i == 1 {
                    "{{ edit | default('') }}"
                } else {
                    ""
                }
            ),
            2 => format!(
                "template: {{src: t.j2, dest: \"{{{{ root }}}}/t{i}.conf\"}}\n      vars: {{i: {i}}}"
            ),
            3 => format!(
                "lineinfile: {{path: \"{{{{ root }}}}/l{i}.txt\", line: \"extra {i}\", create: true}}"
            ),
            4 => format!(
                "stat: {{path: \"{{{{ root }}}}/c{}.txt\"}}\n      register: s{i}",
                i - 3
            ),
            _ => format!("command: touch {{{{ root }}}}/m{i} creates={{{{ root }}}}/m{i}"),
        };
        text.push_str(&format!("    - name: t{i}\n      {task}\n"));
    }
    text
}

#[test]
fn a_converged_forty_task_run_costs_few_round_trips() {
    let Some(lab) = lab::lab("a_converged_forty_task_run_costs_few_round_trips") else {
        return;
    };
    let dir = Dir::new("round-trips");
    let target = format!("/tmp/tend-lab-round-trips-{}", std::process::id());
    lab.ssh_ok("h1", &format!("rm -rf {target}"));
    dir.write(
        "templates/t.j2",
        "name={{ inventory_hostname }} i={{ i }}\n",
    );
    let playbook = dir.write("site.yml", forty_tasks(&target));
    let inventory = dir.write(
        "inventory.ini",
        format!("{}\n", lab.host("h1", "h1").line()),
    );
    let args = |extra: &[&str]| {
        let mut a = vec![
            "run".to_string(),
            playbook.display().to_string(),
            "-i".into(),
            inventory.display().to_string(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };

    let first = dir.tend(args(&["-v"]));
    first.assert_ok();
    assert!(first.changed("h1") >= 30, "{}", first.stdout);
    assert_eq!(
        first.recap("h1")[0],
        41,
        "40 tasks and the facts: {}",
        first.stdout
    );
    let (unconverged, _, _) = lab::traffic(&first, "h1").expect("-v prints the traffic");

    let second = dir.tend(args(&["--format", "json"]));
    second.assert_ok();
    let doc: serde_json::Value = serde_json::from_str(&second.stdout)
        .unwrap_or_else(|e| panic!("one JSON document ({e}):\n{}", second.stdout));
    assert_eq!(doc["stats"]["h1"]["changed"], 0, "{}", second.stdout);
    assert_eq!(doc["stats"]["h1"]["ok"], 41, "{}", second.stdout);
    let trips = doc["tend"]["traffic"]["h1"]["round_trips"]
        .as_u64()
        .unwrap_or_else(|| panic!("tend.traffic.h1.round_trips in {}", doc["tend"]));
    eprintln!(
        "round trips for 40 tasks on one host: {unconverged} converging, {trips} when converged"
    );
    assert!(
        trips <= 6,
        "a converged 40-task run took {trips} round trips (at most 6 expected: \
         connection, facts, one batched probe round)"
    );
    assert!(
        doc["tend"]["traffic"]["h1"]["bytes_sent"].as_u64() > Some(0),
        "{}",
        doc["tend"]
    );

    // One change early in the play: its probe (which wants the old
    // content) runs alone, its step brings the next probes, and the
    // converged rest is one more batch, not a round trip per few tasks.
    let third = dir.tend(args(&["-v", "-e", "edit=x"]));
    third.assert_ok();
    assert_eq!(third.changed("h1"), 1, "{}", third.stdout);
    let (one_change, _, _) = lab::traffic(&third, "h1").expect("-v prints the traffic");
    eprintln!("round trips with one change: {one_change}");
    assert!(
        one_change <= trips + 3,
        "one change took {one_change} round trips, converged {trips}"
    );
    lab.ssh_ok("h1", &format!("rm -rf {target}"));
}

/// On a fresh host every task changes something, and every change makes
/// the answers of probes taken before it stale: a probe that asks a daemon
/// (`systemctl`, `iptables`) is then not sent ahead of its task, where it
/// would be thrown away unread, but asked by its own task. Counted with a
/// `systemctl` that logs its calls, first on the play's PATH.
#[test]
fn a_probe_that_asks_a_daemon_waits_for_its_task_while_tasks_change() {
    let Some(lab) = lab::lab("a_probe_that_asks_a_daemon_waits_for_its_task_while_tasks_change")
    else {
        return;
    };
    let dir = Dir::new("costly-ahead");
    let id = std::process::id();
    let (unit, base) = (
        format!("tend-quiet-{id}"),
        format!("/tmp/tend-lab-costly-{id}"),
    );
    let (wrap, log) = (format!("{base}-bin"), format!("{base}.log"));
    let unit_file = format!("/etc/systemd/system/{unit}.service");
    lab.ssh_ok(
        "h1",
        &format!(
            "rm -rf {base}* && mkdir -p {wrap} && \
             printf '#!/bin/sh\\necho \"$*\" >> {log}\\nexec /usr/bin/systemctl \"$@\"\\n' > {wrap}/systemctl && \
             chmod +x {wrap}/systemctl && \
             printf '[Service]\\nType=oneshot\\nRemainAfterExit=yes\\nExecStart=/bin/true\\n' > {unit_file} && \
             systemctl daemon-reload"
        ),
    );
    let copies: String = (1..=5)
        .map(|i| format!("    - copy: {{content: \"{i}\\n\", dest: \"{base}-{i}\"}}\n"))
        .collect();
    let playbook = dir.write(
        "site.yml",
        format!(
            "- hosts: all\n  gather_facts: false\n  environment:\n    PATH: \"{wrap}:/usr/sbin:/usr/bin:/sbin:/bin\"\n  tasks:\n{copies}\
             \x20   - systemd: {{name: {unit}, state: started}}\n"
        ),
    );
    let inventory = dir.write(
        "inventory.ini",
        format!("{}\n", lab.host("h1", "h1").line()),
    );
    let run = || {
        let run = dir.tend([
            "run",
            playbook.to_str().unwrap(),
            "-i",
            inventory.to_str().unwrap(),
        ]);
        run.assert_ok();
        run
    };
    // The unit's probe is its `systemctl show --no-pager`.
    let probes = || {
        lab.ssh_ok("h1", &format!("cat {log}"))
            .lines()
            .filter(|l| l.contains("--no-pager") && l.contains(&unit))
            .count()
    };
    assert_eq!(run().changed("h1"), 6);
    assert_eq!(
        probes(),
        2,
        "the task's probe and the one that verifies its start"
    );
    // Converged: the probe comes in a batch of its own once the copies
    // are seen to change nothing, and only once.
    assert_eq!(run().changed("h1"), 0);
    assert_eq!(probes(), 3);
    lab.ssh_ok(
        "h1",
        &format!("systemctl stop {unit}; rm -rf {base}* {unit_file}; systemctl daemon-reload"),
    );
}

fn one_file_playbook(dir: &Dir, path: &str) -> PathBuf {
    dir.write(
        "site.yml",
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - file: {{path: \"{path}\", state: directory}}\n\
             \x20   - copy: {{content: \"written on {{{{ inventory_hostname }}}}\\n\", dest: \"{path}/file\"}}\n\
             \x20   - command: hostname\n      register: name\n      changed_when: false\n\
             \x20   - assert: {{that: \"name.stdout == 'h4'\"}}\n"
        ),
    )
}

#[test]
fn a_hidden_host_is_reached_through_proxy_jump_from_the_ssh_config() {
    let Some(lab) = lab::lab("a_hidden_host_is_reached_through_proxy_jump_from_the_ssh_config")
    else {
        return;
    };
    lab.ensure_hidden("h1", 4);
    let dir = Dir::new("jump-config");
    let target = format!("/tmp/tend-lab-jump-config-{}", std::process::id());
    let playbook = one_file_playbook(&dir, &target);
    // Nothing but the name: address, user, key, known_hosts and the jump
    // host all come from the ssh config.
    let inventory = dir.write("inventory.ini", "[hidden]\nh4\n");
    let ssh_config = lab.ssh_config.display().to_string();
    let run = || {
        dir.tend([
            "run",
            playbook.to_str().unwrap(),
            "-i",
            inventory.to_str().unwrap(),
            "--ssh-config",
            &ssh_config,
        ])
    };
    let first = run();
    first.assert_ok();
    assert_eq!(first.changed("h4"), 2, "{}", first.stdout);
    assert_eq!(
        lab.ssh_ok("h4", &format!("cat {target}/file")),
        "written on h4\n"
    );
    let second = run();
    second.assert_ok();
    assert_eq!(second.changed("h4"), 0, "{}", second.stdout);

    // Without the jump host, h4 cannot be reached at all.
    let direct = dir.write(
        "direct.ini",
        format!(
            "{}\n",
            lab.host("h4", "h4").var("ansible_ssh_timeout", "3").line()
        ),
    );
    let out = dir.tend([
        "run",
        playbook.to_str().unwrap(),
        "-i",
        direct.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.recap("h4")[2], 1, "{}", out.stdout);
    lab.ssh_ok("h4", &format!("rm -rf {target}"));
}

#[test]
fn a_hidden_host_is_reached_through_dash_j_in_ssh_common_args() {
    let Some(lab) = lab::lab("a_hidden_host_is_reached_through_dash_j_in_ssh_common_args") else {
        return;
    };
    lab.ensure_hidden("h1", 4);
    let dir = Dir::new("jump-args");
    let target = format!("/tmp/tend-lab-jump-args-{}", std::process::id());
    let playbook = one_file_playbook(&dir, &target);
    // The jump host gets no key from the inventory: like ssh -J, tend logs in
    // to it with the default key, ~/.ssh/id_ed25519.
    std::fs::create_dir_all(dir.home().join(".ssh")).unwrap();
    std::fs::copy(&lab.key, dir.home().join(".ssh/id_ed25519")).unwrap();
    let jump = format!("-J root@{}", lab.address("h1"));
    let inventory = dir.write(
        "inventory.ini",
        format!("{}\n", lab.host("h4", "h4").arg(&jump).line()),
    );
    let out = dir.tend([
        "run",
        playbook.to_str().unwrap(),
        "-i",
        inventory.to_str().unwrap(),
    ]);
    out.assert_ok();
    assert_eq!(out.changed("h4"), 2, "{}", out.stdout);
    assert_eq!(
        lab.ssh_ok("h4", &format!("cat {target}/file")),
        "written on h4\n"
    );
    lab.ssh_ok("h4", &format!("rm -rf {target}"));
}
