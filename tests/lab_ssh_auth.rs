//! Trust and login over real SSH (the lab, tests/lab): host keys that are
//! unknown, learned or changed, and keys that are wrong, missing or
//! encrypted. Every refusal leaves the host UNREACHABLE in the recap with a
//! message that says what to do.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Run;
use common::lab::{self, Dir, Lab};

/// A playbook that writes one file under `path` (nothing else), so a
/// refused host is visibly untouched.
fn playbook(dir: &Dir, path: &str) -> PathBuf {
    dir.write(
        "site.yml",
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - file: {{path: \"{path}\", state: directory}}\n\
             \x20   - copy: {{content: \"{{{{ inventory_hostname }}}}\\n\", dest: \"{path}/file\"}}\n"
        ),
    )
}

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

fn target(name: &str) -> String {
    format!("/tmp/tend-lab-{name}-{}", std::process::id())
}

/// The SHA256 fingerprint of `host`'s real key, from the lab's known_hosts.
fn fingerprint(lab: &Lab, address: &str) -> String {
    let out = Command::new("ssh-keygen")
        .args(["-l", "-F", address, "-f"])
        .arg(&lab.known_hosts)
        .output()
        .expect("ssh-keygen runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|w| w.starts_with("SHA256:"))
        .unwrap_or_else(|| panic!("no key for {address} in {}", lab.known_hosts.display()))
        .to_string()
}

/// The `<type> <base64>` of `address` in the lab's known_hosts.
fn lab_key(lab: &Lab, address: &str) -> String {
    let text = std::fs::read_to_string(&lab.known_hosts).unwrap();
    let line = text
        .lines()
        .find(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|names| names.split(',').any(|n| n == address))
        })
        .unwrap_or_else(|| panic!("{address} in {}", lab.known_hosts.display()));
    line.split_whitespace()
        .skip(1)
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn assert_unreachable(out: &Run, host: &str) {
    assert_eq!(
        out.code, 4,
        "exit code 4 for an unreachable host:\n{}\n{}",
        out.stdout, out.stderr
    );
    assert_eq!(
        out.recap(host),
        [0, 0, 1, 0, 0, 0, 0],
        "{host} is UNREACHABLE:\n{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("fatal: [{host}]: UNREACHABLE!")),
        "{}",
        out.stdout
    );
}

#[test]
fn an_unknown_host_key_is_refused_with_how_to_trust_it() {
    let Some(lab) = lab::lab("an_unknown_host_key_is_refused_with_how_to_trust_it") else {
        return;
    };
    let dir = Dir::new("unknown-key");
    let path = target("unknown-key");
    let playbook = playbook(&dir, &path);
    let empty = dir.write("known_hosts", "");
    let address = lab.address("h1");
    let inventory = dir.write(
        "inventory.ini",
        format!("{}\n", lab.host("h1", "h1").known_hosts(&empty).line()),
    );
    let out = run(&dir, &playbook, &inventory, &[]);
    assert_unreachable(&out, "h1");
    let msg = lab::fatal_line(&out, "h1").unwrap();
    for expected in [
        format!("the host key of {address} is not known"),
        fingerprint(&lab, &address),
        format!("ssh-keyscan -p 22 {address} >> {}", empty.display()),
        "--host-key-checking accept-new".to_string(),
    ] {
        assert!(msg.contains(&expected), "{expected:?} in:\n{msg}");
    }
    assert_eq!(
        std::fs::read_to_string(&empty).unwrap(),
        "",
        "nothing learned"
    );
    assert_ne!(
        lab.ssh("h1", &format!("test -e {path}")).code,
        0,
        "nothing was done on the refused host"
    );

    // The same with the known_hosts file named in an ssh config.
    let config = dir.write(
        "ssh_config",
        format!(
            "Host {address}\n  UserKnownHostsFile {}\n  StrictHostKeyChecking yes\n",
            empty.display()
        ),
    );
    let inventory = dir.write(
        "config.ini",
        format!(
            "h1 ansible_host={address} ansible_user=root ansible_ssh_private_key_file={}\n",
            lab.key.display()
        ),
    );
    let out = run(
        &dir,
        &playbook,
        &inventory,
        &["--ssh-config", config.to_str().unwrap()],
    );
    assert_unreachable(&out, "h1");
    let msg = lab::fatal_line(&out, "h1").unwrap();
    assert!(
        msg.contains("is not known") && msg.contains(&empty.display().to_string()),
        "{msg}"
    );
}

#[test]
fn accept_new_learns_an_unknown_host_key_and_the_run_succeeds() {
    let Some(lab) = lab::lab("accept_new_learns_an_unknown_host_key_and_the_run_succeeds") else {
        return;
    };
    let dir = Dir::new("accept-new");
    let path = target("accept-new");
    let playbook = playbook(&dir, &path);
    let file = dir.write("known_hosts", "");
    let address = lab.address("h1");
    let inventory = dir.write(
        "inventory.ini",
        format!(
            "{}\n",
            lab.host("h1", "h1").known_hosts(&file).strict(None).line()
        ),
    );
    let out = run(
        &dir,
        &playbook,
        &inventory,
        &["--host-key-checking", "accept-new"],
    );
    out.assert_ok();
    assert_eq!(out.changed("h1"), 2, "{}", out.stdout);
    let learned = std::fs::read_to_string(&file).unwrap();
    let key = lab_key(&lab, &address);
    assert!(
        learned
            .lines()
            .any(|l| l.starts_with(&format!("{address} ")) && l.ends_with(&key)),
        "the key of {address} ({key}) is learned:\n{learned}"
    );
    assert_eq!(lab.ssh_ok("h1", &format!("cat {path}/file")), "h1\n");

    // Now known: strict checking (the default) accepts it, and nothing is
    // added again.
    let again = run(&dir, &playbook, &inventory, &[]);
    again.assert_ok();
    assert_eq!(again.changed("h1"), 0, "{}", again.stdout);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), learned);
    lab.ssh_ok("h1", &format!("rm -rf {path}"));
}

#[test]
fn host_key_checking_is_read_from_tend_cfg_and_ansible_cfg() {
    let Some(lab) = lab::lab("host_key_checking_is_read_from_tend_cfg_and_ansible_cfg") else {
        return;
    };
    for cfg in ["tend.cfg", "ansible.cfg"] {
        let dir = Dir::new(&format!("hkc-{cfg}"));
        let path = target(&format!("hkc-{cfg}"));
        let playbook = playbook(&dir, &path);
        let file = dir.write("known_hosts", "");
        let inventory = dir.write(
            "inventory.ini",
            format!(
                "{}\n",
                lab.host("h2", "h2").known_hosts(&file).strict(None).line()
            ),
        );
        // Without the setting: refused.
        assert_unreachable(&run(&dir, &playbook, &inventory, &[]), "h2");
        dir.write(cfg, "[defaults]\nhost_key_checking = accept-new\n");
        let out = run(&dir, &playbook, &inventory, &[]);
        out.assert_ok();
        assert!(
            std::fs::read_to_string(&file)
                .unwrap()
                .contains(&lab_key(&lab, &lab.address("h2"))),
            "{cfg}: the key is learned"
        );
        lab.ssh_ok("h2", &format!("rm -rf {path}"));
    }
}

#[test]
fn a_changed_host_key_is_refused_loudly_even_with_accept_new() {
    let Some(lab) = lab::lab("a_changed_host_key_is_refused_loudly_even_with_accept_new") else {
        return;
    };
    let dir = Dir::new("changed-key");
    let path = target("changed-key");
    let playbook = playbook(&dir, &path);
    let address = lab.address("h1");
    // A real ed25519 key, but not h1's: the client key of the lab.
    let other = std::fs::read_to_string(lab.key.with_extension("pub")).unwrap();
    let other: Vec<&str> = other.split_whitespace().take(2).collect();
    let recorded = format!("{address} {}\n", other.join(" "));
    let file = dir.write("known_hosts", &recorded);
    let inventory = dir.write(
        "inventory.ini",
        format!(
            "{}\n",
            lab.host("h1", "h1").known_hosts(&file).strict(None).line()
        ),
    );
    for policy in [&[][..], &["--host-key-checking", "accept-new"][..]] {
        let out = run(&dir, &playbook, &inventory, policy);
        assert_unreachable(&out, "h1");
        let msg = lab::fatal_line(&out, "h1").unwrap();
        for expected in [
            format!("the host key of {address} has CHANGED"),
            "possible man-in-the-middle attack".to_string(),
            fingerprint(&lab, &address),
            format!("{} line 1", file.display()),
            format!("ssh-keygen -R '{address}' -f {}", file.display()),
        ] {
            assert!(
                msg.contains(&expected),
                "{policy:?}: {expected:?} in:\n{msg}"
            );
        }
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            recorded,
            "the recorded key is left alone"
        );
    }
    assert_ne!(lab.ssh("h1", &format!("test -e {path}")).code, 0);
}

#[test]
fn a_wrong_key_is_an_authentication_error_naming_user_host_and_methods() {
    let Some(lab) = lab::lab("a_wrong_key_is_an_authentication_error_naming_user_host_and_methods")
    else {
        return;
    };
    let dir = Dir::new("wrong-key");
    let path = target("wrong-key");
    let playbook = playbook(&dir, &path);
    let wrong = dir.join("wrong_ed25519");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&wrong)
        .status()
        .expect("ssh-keygen runs");
    assert!(made.success());
    let address = lab.address("h1");
    // h2 has the right key and must be unaffected by h1's refusal.
    let inventory = dir.write(
        "inventory.ini",
        format!(
            "{}\n{}\n",
            lab.host("h1", "h1").user("tester").key(Some(&wrong)).line(),
            lab.host("h2", "h2").user("tester").line()
        ),
    );
    let out = run(&dir, &playbook, &inventory, &[]);
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.recap("h1"), [0, 0, 1, 0, 0, 0, 0], "{}", out.stdout);
    assert_eq!(out.recap("h2")[1..4], [2, 0, 0], "{}", out.stdout);
    let msg = lab::fatal_line(&out, "h1").unwrap();
    for expected in [
        format!("cannot log in to h1 (tester@{address}:22) as tester: permission denied"),
        format!("tried key {} (refused)", wrong.display()),
    ] {
        assert!(msg.contains(&expected), "{expected:?} in:\n{msg}");
    }
    assert_ne!(lab.ssh("h1", &format!("test -e {path}")).code, 0);
    lab.ssh_ok("h2", &format!("rm -rf {path}"));
}

#[test]
fn no_key_at_all_is_an_authentication_error_saying_where_keys_were_looked_for() {
    let Some(lab) =
        lab::lab("no_key_at_all_is_an_authentication_error_saying_where_keys_were_looked_for")
    else {
        return;
    };
    let dir = Dir::new("no-key");
    let playbook = playbook(&dir, &target("no-key"));
    let address = lab.address("h2");
    // No key in the inventory, an empty $HOME, no ssh-agent.
    let inventory = dir.write(
        "inventory.ini",
        format!("{}\n", lab.host("h2", "h2").user("pwuser").key(None).line()),
    );
    let out = run(&dir, &playbook, &inventory, &[]);
    assert_unreachable(&out, "h2");
    let msg = lab::fatal_line(&out, "h2").unwrap();
    for expected in [
        format!("cannot log in to h2 (pwuser@{address}:22) as pwuser: permission denied"),
        "no identity file is set for the host".to_string(),
        "no ssh-agent is running".to_string(),
        "~/.ssh/id_ed25519".to_string(),
    ] {
        assert!(msg.contains(&expected), "{expected:?} in:\n{msg}");
    }

    // A named key file that does not exist is named too.
    let missing = dir.join("no-such-key");
    let inventory = dir.write(
        "missing.ini",
        format!(
            "{}\n",
            lab.host("h2", "h2")
                .user("pwuser")
                .key(Some(&missing))
                .line()
        ),
    );
    let out = run(&dir, &playbook, &inventory, &[]);
    assert_unreachable(&out, "h2");
    let msg = lab::fatal_line(&out, "h2").unwrap();
    assert!(
        msg.contains(&format!("key {} does not exist", missing.display())),
        "{msg}"
    );
}

#[test]
fn an_encrypted_key_needs_its_passphrase_file() {
    let Some(lab) = lab::lab("an_encrypted_key_needs_its_passphrase_file") else {
        return;
    };
    let dir = Dir::new("encrypted-key");
    let path = target("encrypted-key");
    let playbook = playbook(&dir, &path);
    let key = dir.join("enc_ed25519");
    let comment = format!("tend-lab-encrypted-{}", std::process::id());
    let made = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "correct horse",
            "-C",
            &comment,
            "-f",
        ])
        .arg(&key)
        .status()
        .expect("ssh-keygen runs");
    assert!(made.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    // tester also accepts this key (authorized_keys2, which only this test
    // writes; the line is removed at the end).
    let keys2 = "/home/tester/.ssh/authorized_keys2";
    lab.ssh_ok(
        "h2",
        &format!(
            "echo '{}' >> {keys2} && chown tester: {keys2} && chmod 600 {keys2}",
            public.trim()
        ),
    );
    let inventory = dir.write(
        "inventory.ini",
        format!(
            "{}\n",
            lab.host("h2", "h2").user("tester").key(Some(&key)).line()
        ),
    );

    let out = run(&dir, &playbook, &inventory, &[]);
    assert_unreachable(&out, "h2");
    let msg = lab::fatal_line(&out, "h2").unwrap();
    assert!(
        msg.contains(&format!(
            "key {} is encrypted and no passphrase was given",
            key.display()
        )),
        "{msg}"
    );

    let passphrase = dir.write("passphrase", "correct horse\n");
    let out = run(
        &dir,
        &playbook,
        &inventory,
        &[
            "--private-key-passphrase-file",
            passphrase.to_str().unwrap(),
        ],
    );
    out.assert_ok();
    assert_eq!(lab.ssh_ok("h2", &format!("cat {path}/file")), "h2\n");
    assert!(
        !out.stdout.contains("correct horse") && !out.stderr.contains("correct horse"),
        "the passphrase is never printed"
    );
    lab.ssh_ok(
        "h2",
        &format!("rm -rf {path}; sed -i '/{comment}/d' {keys2}"),
    );
}
