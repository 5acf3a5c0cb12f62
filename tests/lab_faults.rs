//! Hosts that fail under tend (the lab, tests/lab): a host down from the
//! start, and a host cut off the network in the middle of a run. The broken
//! host is reported (UNREACHABLE or failed, with a message that says why),
//! the other hosts finish, and no managed file is left half-written.
//!
//! Each test breaks a host of its own (h3, h5, h6), taken with `Lab::take`,
//! which repairs it afterwards; the hosts that keep working (h1, h2) are
//! shared with other tests.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::Run;
use common::lab::{self, Dir, Lab};

fn run(dir: &Dir, playbook: &Path, inventory: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "run",
        playbook.to_str().unwrap(),
        "-i",
        inventory.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    dir.tend(args)
}

#[test]
fn a_host_down_from_the_start_is_unreachable_and_the_others_converge() {
    let Some(lab) = lab::lab("a_host_down_from_the_start_is_unreachable_and_the_others_converge")
    else {
        return;
    };
    let h3 = lab.take("h3");
    lab.ensure_up(3);
    let dir = Dir::new("down");
    let path = format!("/tmp/tend-lab-down-{}", std::process::id());
    let playbook = dir.write(
        "site.yml",
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - file: {{path: \"{path}\", state: directory}}\n\
             \x20   - copy: {{content: \"{{{{ version }}}}\\n\", dest: \"{path}/file\"}}\n"
        ),
    );
    let inventory = dir.write(
        "inventory.ini",
        format!(
            "{}\n{}\n{}\n",
            lab.host("h1", "h1").line(),
            lab.host("h2", "h2").line(),
            lab.host("h3", "h3").line()
        ),
    );
    let address = lab.address("h3");
    lab.fault("stop", "h3");

    let started = Instant::now();
    let out = run(&dir, &playbook, &inventory, &["-e", "version=1"]);
    let took = started.elapsed();
    assert_eq!(
        out.code, 4,
        "exit code 4 (a host unreachable) without --detailed-exitcodes:\n{}\n{}",
        out.stdout, out.stderr
    );
    assert_eq!(out.recap("h3"), [0, 0, 1, 0, 0, 0, 0], "{}", out.stdout);
    let msg = lab::fatal_line(&out, "h3").expect("a fatal line for h3");
    assert!(
        msg.contains("UNREACHABLE")
            && msg.contains(&format!("cannot reach h3 (root@{address}:22)")),
        "{msg}"
    );
    for host in ["h1", "h2"] {
        assert_eq!(out.recap(host)[..4], [2, 2, 0, 0], "{}", out.stdout);
        assert_eq!(lab.ssh_ok(host, &format!("cat {path}/file")), "1\n");
    }
    // The connect timeout (10 s by default) bounds the wait for h3.
    assert!(took < Duration::from_secs(30), "took {took:?}");

    // A shorter connect timeout for h3 (ansible_ssh_timeout).
    let quick = dir.write(
        "quick.ini",
        format!(
            "{}\n{}\n{}\n",
            lab.host("h1", "h1").line(),
            lab.host("h2", "h2").line(),
            lab.host("h3", "h3").var("ansible_ssh_timeout", "3").line()
        ),
    );
    let started = Instant::now();
    let out = run(
        &dir,
        &playbook,
        &quick,
        &["-e", "version=2", "--detailed-exitcodes"],
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        out.code, 6,
        "--detailed-exitcodes: changed and unreachable:\n{}\n{}",
        out.stdout, out.stderr
    );
    assert_eq!(out.recap("h3")[2], 1, "{}", out.stdout);

    // Back up, h3 converges like the others.
    drop(h3);
    let out = run(&dir, &playbook, &inventory, &["-e", "version=2"]);
    out.assert_ok();
    assert_eq!(out.recap("h3")[..4], [2, 2, 0, 0], "{}", out.stdout);
    assert_eq!(out.changed("h1"), 0, "{}", out.stdout);
    for host in ["h1", "h2", "h3"] {
        assert_eq!(lab.ssh_ok(host, &format!("cat {path}/file")), "2\n");
        lab.ssh_ok(host, &format!("rm -rf {path}"));
    }
}

/// Files f1..f3 written before a `sleep 3`, g1..g3 after it: a cut during
/// the sleep must leave every file whole, old or new.
fn cut_playbook(dir: &Dir, path: &str) -> PathBuf {
    dir.write(
        "site.yml",
        format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - file: {{path: "{path}", state: directory}}
    - copy: {{content: "{{{{ version }}}}\n", dest: "{path}/f{{{{ item }}}}"}}
      loop: [1, 2, 3]
    - shell: sleep 3
      when: version == 'new'
    - copy: {{content: "{{{{ version }}}} second\n", dest: "{path}/g{{{{ item }}}}"}}
      loop: [1, 2, 3]
"#
        ),
    )
}

/// The managed files under `path` on `host` and their contents, once no
/// temporary file of tend is left (an interrupted write may need a moment
/// to be cleaned up after the link is back).
fn files_when_settled(lab: &Lab, host: &str, path: &str) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    // One line per file: its name, a space, its content with newlines
    // written as `\n` (one ssh call for all files).
    let script = format!(
        "cd {path} && for f in $(ls -A); do printf '%s ' \"$f\"; sed -z 's/\\n/\\\\n/g' \"$f\"; echo; done"
    );
    loop {
        let listing = lab.ssh_ok(host, &script);
        let files: Vec<(String, String)> = listing
            .lines()
            .map(|l| {
                let (name, content) = l.split_once(' ').unwrap_or((l, ""));
                (name.to_string(), content.replace("\\n", "\n"))
            })
            .collect();
        if files.iter().any(|(n, _)| n.starts_with(".tend-")) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        return files;
    }
}

/// Converges `victim` and `other` to version "old", then runs version "new"
/// and cuts `victim` off about a second in (during the `sleep 3`). Returns
/// the run, for the caller to check the victim's error.
fn cut_mid_run(lab: &Lab, name: &str, victim: &str, other: &str, extra: &[&str]) -> Run {
    let dir = Dir::new(name);
    let path = format!("/tmp/tend-lab-{name}-{}", std::process::id());
    let playbook = cut_playbook(&dir, &path);
    let inventory = dir.write(
        "inventory.ini",
        format!(
            "{}\n{}\n",
            lab.host(victim, victim).line(),
            lab.host(other, other).line()
        ),
    );
    let mut old_args = vec!["-e", "version=old"];
    old_args.extend_from_slice(extra);
    run(&dir, &playbook, &inventory, &old_args).assert_ok();

    let cutter = {
        let lab = lab.clone();
        let victim = victim.to_string();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1000));
            lab.fault("cut", &victim);
        })
    };
    let started = Instant::now();
    let mut new_args = vec!["-e", "version=new"];
    new_args.extend_from_slice(extra);
    let out = run(&dir, &playbook, &inventory, &new_args);
    let took = started.elapsed();
    cutter.join().expect("the cut happened");
    lab.fault("restore", victim);

    // The other host finished everything.
    assert_eq!(out.recap(other)[1..4], [3, 0, 0], "{}", out.stdout);
    // The victim is reported, and the exit code says how.
    let [_, _, unreachable, failed, ..] = out.recap(victim);
    assert_eq!(
        unreachable + failed,
        1,
        "{victim} is unreachable or failed:\n{}",
        out.stdout
    );
    let code = if unreachable == 1 { 4 } else { 2 };
    assert_eq!(out.code, code, "{}\n{}", out.stdout, out.stderr);
    assert!(
        took < Duration::from_secs(40),
        "took {took:?}:\n{}",
        out.stdout
    );

    // Every managed file is whole: the old version or the new one.
    let on_victim = files_when_settled(lab, victim, &path);
    let names: Vec<&str> = on_victim.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["f1", "f2", "f3", "g1", "g2", "g3"], "{on_victim:?}");
    for (name, content) in &on_victim {
        let allowed = if name.starts_with('f') {
            ["old\n", "new\n"]
        } else {
            ["old second\n", "new second\n"]
        };
        assert!(
            allowed.contains(&content.as_str()),
            "{victim}:{path}/{name} is neither version: {content:?}"
        );
    }
    for (name, content) in files_when_settled(lab, other, &path) {
        assert!(
            content.starts_with("new"),
            "{other}:{path}/{name}: {content:?}"
        );
    }

    // With the link back, the next run converges the victim.
    let again = run(&dir, &playbook, &inventory, &new_args);
    again.assert_ok();
    assert_eq!(again.changed(other), 1, "only the sleep: {}", again.stdout);
    for (name, content) in files_when_settled(lab, victim, &path) {
        assert!(
            content.starts_with("new"),
            "{victim}:{path}/{name}: {content:?}"
        );
    }
    for host in [victim, other] {
        lab.ssh_ok(host, &format!("rm -rf {path}"));
    }
    out
}

#[test]
fn a_host_cut_off_mid_run_fails_by_command_timeout_and_keeps_files_whole() {
    let Some(lab) =
        lab::lab("a_host_cut_off_mid_run_fails_by_command_timeout_and_keeps_files_whole")
    else {
        return;
    };
    let h5 = lab.take("h5");
    lab.ensure_up(5);
    let out = cut_mid_run(&lab, "cut-timeout", "h5", "h2", &["--command-timeout", "5"]);
    let msg = lab::fatal_line(&out, "h5").expect("a fatal line for h5");
    assert!(
        msg.contains("command timeout")
            || msg.contains("connection was lost")
            || msg.contains("cannot reach h5"),
        "a clear error for h5: {msg}"
    );
    drop(h5);
}

#[test]
fn a_host_cut_off_mid_run_is_found_unreachable_by_keepalive() {
    let Some(lab) = lab::lab("a_host_cut_off_mid_run_is_found_unreachable_by_keepalive") else {
        return;
    };
    let h6 = lab.take("h6");
    lab.ensure_up(6);
    // No command timeout: only the keepalives (every second, from the ssh
    // config; three unanswered drop the connection) notice the cut.
    let config =
        std::env::temp_dir().join(format!("tend-lab-keepalive-{}.config", std::process::id()));
    std::fs::write(&config, "Host *\n  ServerAliveInterval 1\n").unwrap();
    let out = cut_mid_run(
        &lab,
        "cut-keepalive",
        "h6",
        "h1",
        &["--ssh-config", config.to_str().unwrap()],
    );
    let _ = std::fs::remove_file(&config);
    assert_eq!(out.recap("h6")[2], 1, "h6 is UNREACHABLE:\n{}", out.stdout);
    let msg = lab::fatal_line(&out, "h6").expect("a fatal line for h6");
    assert!(
        msg.contains("connection was lost") || msg.contains("cannot reach h6"),
        "a clear error for h6: {msg}"
    );
    drop(h6);
}
