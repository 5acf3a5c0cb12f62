//! Hosts that fail under tend (the lab, tests/lab): a host down from the
//! start, and a host cut off the network in the middle of a run. The broken
//! host is reported (UNREACHABLE or failed, with a message that says why),
//! the other hosts finish, and no managed file is left half-written.
//!
//! Each test breaks a host of its own (h3, h5, h6), taken with `Lab::take`,
//! which repairs it afterwards; the hosts that keep working (h1, h2) are
//! shared with other tests.

mod common;

use std::io::Read;
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

/// A fault done to a host in the middle of a run, and how to undo it.
struct Fault<'a> {
    /// For the test's names and paths.
    name: &'a str,
    /// Breaks the host, about a second into the run (during the `sleep 3`).
    during: &'a (dyn Fn(&Lab, &str) + Sync),
    /// Repairs it after the run.
    after: &'a dyn Fn(&Lab, &str),
}

/// Converges `victim` and `other` to version "old", then runs version "new"
/// and does `fault` to `victim` about a second in (during the `sleep 3`).
/// Checks that the other host finished, that the victim is reported, that
/// every managed file on it is whole, and that a re-run converges it.
/// Returns the run, for the caller to check the victim's error.
fn fault_mid_run(lab: &Lab, fault: &Fault, victim: &str, other: &str, extra: &[&str]) -> Run {
    let name = fault.name;
    let dir = Dir::new(name);
    // Not /tmp: a rebooted host empties it.
    let path = format!("/var/lib/tend-lab-{name}-{}", std::process::id());
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

    let started = Instant::now();
    let mut new_args = vec!["-e", "version=new"];
    new_args.extend_from_slice(extra);
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(1000));
            (fault.during)(lab, victim);
        });
        run(&dir, &playbook, &inventory, &new_args)
    });
    let took = started.elapsed();
    (fault.after)(lab, victim);

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

    // Repaired, the next run converges the victim.
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

/// A network partition: the link goes down, and comes back after the run.
fn cut(name: &str) -> Fault<'_> {
    Fault {
        name,
        during: &|lab, host| lab.fault("cut", host),
        after: &|lab, host| lab.fault("restore", host),
    }
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
    let out = fault_mid_run(
        &lab,
        &cut("cut-timeout"),
        "h5",
        "h2",
        &["--command-timeout", "5"],
    );
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
    let out = fault_mid_run(
        &lab,
        &cut("cut-keepalive"),
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

/// Waits until `host`'s sshd answers again (systemd restarts it).
fn wait_for_sshd(lab: &Lab, host: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while lab.ssh(host, "true").code != 0 {
        assert!(Instant::now() < deadline, "{host}: sshd did not come back");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn sshd_killed_mid_task_fails_that_host_and_a_rerun_converges_it() {
    let Some(lab) = lab::lab("sshd_killed_mid_task_fails_that_host_and_a_rerun_converges_it")
    else {
        return;
    };
    let h29 = lab.take("h29");
    lab.ensure_up(29);
    let fault = Fault {
        name: "sshd-killed",
        // Every sshd of the host: the listener and the sessions, tend's
        // among them. systemd starts the listener again (Debian's
        // ssh.service has Restart=on-failure).
        during: &|lab, host| {
            lab.ssh(host, "pkill -KILL -x sshd");
        },
        after: &wait_for_sshd,
    };
    let out = fault_mid_run(&lab, &fault, "h29", "h2", &[]);
    let msg = lab::fatal_line(&out, "h29").expect("a fatal line for h29");
    assert!(msg.contains("connection was lost"), "a clear error: {msg}");
    drop(h29);
}

#[test]
fn a_host_powered_off_mid_run_is_reported_and_converges_after_its_reboot() {
    let Some(lab) =
        lab::lab("a_host_powered_off_mid_run_is_reported_and_converges_after_its_reboot")
    else {
        return;
    };
    let h31 = lab.take("h31");
    lab.ensure_up(31);
    let fault = Fault {
        name: "powered-off",
        // SIGKILL to the container: no shutdown, no goodbye to tend.
        during: &|lab, host| lab.fault("kill", host),
        after: &|lab, host| lab.fault("start", host),
    };
    let out = fault_mid_run(&lab, &fault, "h31", "h1", &["--command-timeout", "5"]);
    let msg = lab::fatal_line(&out, "h31").expect("a fatal line for h31");
    assert!(
        msg.contains("command timeout")
            || msg.contains("connection was lost")
            || msg.contains("cannot reach h31"),
        "a clear error: {msg}"
    );
    drop(h31);
}

#[test]
fn a_full_disk_fails_the_write_and_leaves_the_old_file_whole() {
    let Some(lab) = lab::lab("a_full_disk_fails_the_write_and_leaves_the_old_file_whole") else {
        return;
    };
    let h32 = lab.take("h32");
    lab.ensure_up(32);
    let dir = Dir::new("full-disk");
    let path = format!("/srv/tend-full-{}", std::process::id());
    // On h32 the directory is a 64 KiB file system; on h1 it has room.
    lab.ssh_ok(
        "h32",
        &format!("mkdir -p {path} && mount -t tmpfs -o size=64k tmpfs {path}"),
    );
    let playbook = dir.write(
        "site.yml",
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - file: {{path: \"{path}\", state: directory}}\n\
             \x20   - copy: {{src: data, dest: \"{path}/data\"}}\n\
             \x20   - copy: {{content: \"after\\n\", dest: \"{path}/after\"}}\n"
        ),
    );
    let inventory = dir.write(
        "inventory.ini",
        format!(
            "{}\n{}\n",
            lab.host("h32", "h32").line(),
            lab.host("h1", "h1").line()
        ),
    );
    let small = "small\n".repeat(100);
    dir.write("files/data", &small);
    run(&dir, &playbook, &inventory, &[]).assert_ok();

    let big = "0123456789abcdef".repeat(16 * 1024); // 256 KiB
    dir.write("files/data", &big);
    let out = run(&dir, &playbook, &inventory, &[]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.recap("h32")[3], 1, "h32 failed: {}", out.stdout);
    let msg = lab::fatal_line(&out, "h32").expect("a fatal line for h32");
    assert!(msg.contains("No space left on device"), "{msg}");
    assert_eq!(out.recap("h1")[..4], [3, 1, 0, 0], "{}", out.stdout);
    // The old content stays, and no temporary file is left behind.
    assert_eq!(
        lab.ssh_ok("h32", &format!("cat {path}/data; ls -A {path}")),
        format!("{small}after\ndata\n")
    );

    // With room again, a re-run converges it.
    lab.ssh_ok("h32", &format!("mount -o remount,size=2m {path}"));
    let again = run(&dir, &playbook, &inventory, &[]);
    again.assert_ok();
    assert_eq!(again.changed("h32"), 1, "{}", again.stdout);
    assert_eq!(again.changed("h1"), 0, "{}", again.stdout);
    assert_eq!(
        lab.ssh_ok("h32", &format!("sha1sum < {path}/data")),
        lab.ssh_ok("h1", &format!("sha1sum < {path}/data"))
    );
    lab.ssh_ok("h32", &format!("umount {path} && rm -rf {path}"));
    lab.ssh_ok("h1", &format!("rm -rf {path}"));
    drop(h32);
}

#[test]
fn a_hanging_command_is_stopped_by_the_tasks_timeout_and_the_others_finish() {
    let Some(lab) =
        lab::lab("a_hanging_command_is_stopped_by_the_tasks_timeout_and_the_others_finish")
    else {
        return;
    };
    let dir = Dir::new("hang");
    let path = format!("/tmp/tend-lab-hang-{}", std::process::id());
    // 617: a duration no other test sleeps, to find the process by.
    let playbook = dir.write(
        "site.yml",
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - file: {{path: \"{path}\", state: directory}}\n\
             \x20   - command: sleep 617\n\
             \x20     when: hang | bool and inventory_hostname == 'h2'\n\
             \x20     timeout: 3\n\
             \x20   - copy: {{content: \"after\\n\", dest: \"{path}/after\"}}\n"
        ),
    );
    let inventory = dir.write(
        "inventory.ini",
        format!(
            "{}\n{}\n",
            lab.host("h1", "h1").line(),
            lab.host("h2", "h2").line()
        ),
    );
    let out = run(&dir, &playbook, &inventory, &["-e", "hang=true"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.recap("h1")[..4], [2, 2, 0, 0], "{}", out.stdout);
    assert_eq!(out.recap("h2")[3], 1, "{}", out.stdout);
    let msg = lab::fatal_line(&out, "h2").expect("a fatal line for h2");
    assert!(msg.contains("Timed out after 3 seconds"), "{msg}");
    assert_eq!(lab.ssh_ok("h1", &format!("cat {path}/after")), "after\n");
    // The hanging command does not outlive its task.
    let deadline = Instant::now() + Duration::from_secs(10);
    while lab.ssh("h2", "pgrep -f 'sleep 617'").code == 0 {
        assert!(
            Instant::now() < deadline,
            "the command still runs on h2 after its task timed out"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let again = run(&dir, &playbook, &inventory, &["-e", "hang=false"]);
    again.assert_ok();
    assert_eq!(again.changed("h2"), 1, "{}", again.stdout);
    assert_eq!(lab.ssh_ok("h2", &format!("cat {path}/after")), "after\n");
    for host in ["h1", "h2"] {
        lab.ssh_ok(host, &format!("rm -rf {path}"));
    }
}

#[test]
fn a_controller_killed_mid_transfer_leaves_every_file_whole_and_its_lock_is_taken_over() {
    let Some(lab) = lab::lab(
        "a_controller_killed_mid_transfer_leaves_every_file_whole_and_its_lock_is_taken_over",
    ) else {
        return;
    };
    let h33 = lab.take("h33");
    lab.ensure_up(33);
    let dir = Dir::new("controller-killed");
    let path = format!("/var/lib/tend-lab-killed-{}", std::process::id());
    let size: u64 = 50_000_000;
    let sha256 = |host: &str| {
        let out = lab.ssh_ok(host, &format!("sha256sum < {path}/big.bin"));
        out.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    lab.ssh_ok(
        "h33",
        &format!("mkdir -p {path} && head -c {size} /dev/urandom > {path}/big.bin"),
    );
    let old = sha256("h33");
    let mut content = Vec::with_capacity(size as usize);
    std::fs::File::open("/dev/urandom")
        .and_then(|f| f.take(size).read_to_end(&mut content))
        .expect("random content");
    dir.write("files/big.bin", &content);
    drop(content);
    let playbook = dir.write(
        "site.yml",
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - copy: {{src: big.bin, dest: \"{path}/big.bin\"}}\n"
        ),
    );
    let inventory = dir.single_host_inventory(&lab, "h33");
    let state = dir.join("state");
    let args = [
        "run",
        playbook.to_str().expect("UTF-8"),
        "-i",
        inventory.to_str().expect("UTF-8"),
        "--drift",
        "--state-dir",
        state.to_str().expect("UTF-8"),
    ];

    // SIGKILL to tend as soon as its temporary file appears on the host:
    // the content is then on its way.
    let mut first = dir
        .command(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tend starts");
    let seen = lab.ssh(
        "h33",
        &format!(
            "for i in $(seq 3000); do for f in {path}/.tend-*; do \
             [ -e \"$f\" ] && stat -c %a \"$f\" && exit 0; done; sleep 0.01; done; exit 1"
        ),
    );
    first.kill().expect("kill");
    first.wait().expect("reaped");
    assert_eq!(seen.code, 0, "the temporary file never appeared");
    assert_eq!(
        seen.stdout.trim(),
        "600",
        "content on its way is readable by its owner alone"
    );

    // The orphaned script on the host ends, with its temporary file; the
    // old content stays.
    let deadline = Instant::now() + Duration::from_secs(20);
    while lab.ssh("h33", &format!("ls {path}/.tend-*")).code == 0 {
        assert!(
            Instant::now() < deadline,
            "tend's temporary file outlives it"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(sha256("h33"), old, "the old file is whole");

    // The next drift run takes over the dead run's lock and converges.
    let next = dir.tend(args);
    assert_eq!(next.code, 2, "{}\n{}", next.stdout, next.stderr);
    assert!(
        next.stderr.contains(&format!(
            "took over the lock of a drift run that did not finish (pid {} started",
            first.id()
        )),
        "{}",
        next.stderr
    );
    let new = std::process::Command::new("sha256sum")
        .arg(dir.join("files/big.bin"))
        .output()
        .expect("sha256sum");
    let new = String::from_utf8_lossy(&new.stdout);
    assert_eq!(Some(sha256("h33").as_str()), new.split_whitespace().next());
    lab.ssh_ok("h33", &format!("rm -rf {path}"));
    drop(h33);
}
