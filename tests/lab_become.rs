//! `become: true` over real SSH (the lab, tests/lab): a non-root login user
//! writes root-owned files through sudo, with NOPASSWD (tester) or a sudo
//! password (pwuser, password `tend-test-pw`) from a file or the inventory;
//! without the password the task fails and says so.

mod common;

use std::path::{Path, PathBuf};

use common::Run;
use common::lab::{self, Dir, Lab};

const PASSWORD: &str = "tend-test-pw";

/// Writes a root-only file under `path` with become, and checks who ran
/// what: root with become, the login user without, and `become_user`.
fn playbook(dir: &Dir, path: &str) -> PathBuf {
    dir.write(
        "site.yml",
        format!(
            r#"- hosts: all
  gather_facts: false
  become: true
  tasks:
    - file: {{path: "{path}", state: directory, mode: "0700"}}
    - copy:
        content: "written by {{{{ ansible_user }}}} as root\n"
        dest: "{path}/secret"
        mode: "0600"
    - command: id -un
      register: as_root
      changed_when: false
    - command: id -un
      become: false
      register: as_login
      changed_when: false
    - command: id -un
      become_user: nobody
      register: as_nobody
      changed_when: false
    - assert:
        that:
          - as_root.stdout == 'root'
          - as_login.stdout == ansible_user
          - as_nobody.stdout == 'nobody'
"#
        ),
    )
}

fn target(name: &str) -> String {
    format!("/tmp/tend-lab-become-{name}-{}", std::process::id())
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

/// The run worked, the file is root's and mode 0600, and a second run
/// changes nothing.
fn assert_root_file(lab: &Lab, host: &str, user: &str, path: &str, runs: &dyn Fn() -> Run) {
    let first = runs();
    first.assert_ok();
    assert_eq!(first.recap(host)[..4], [6, 2, 0, 0], "{}", first.stdout);
    assert_eq!(
        lab.ssh_ok(host, &format!("stat -c '%U:%G %a' {path} {path}/secret")),
        "root:root 700\nroot:root 600\n"
    );
    assert_eq!(
        lab.ssh_ok(host, &format!("cat {path}/secret")),
        format!("written by {user} as root\n")
    );
    let second = runs();
    second.assert_ok();
    assert_eq!(second.changed(host), 0, "{}", second.stdout);
    for out in [&first, &second] {
        assert!(
            !out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD),
            "the become password is never printed:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
    lab.ssh_ok(host, &format!("rm -rf {path}"));
}

#[test]
fn a_nopasswd_sudo_user_writes_a_root_owned_file() {
    let Some(lab) = lab::lab("a_nopasswd_sudo_user_writes_a_root_owned_file") else {
        return;
    };
    let dir = Dir::new("become-tester");
    let path = target("tester");
    let playbook = playbook(&dir, &path);
    let inventory = dir.write(
        "inventory.ini",
        format!("{}\n", lab.host("h1", "h1").user("tester").line()),
    );
    assert_root_file(&lab, "h1", "tester", &path, &|| {
        run(&dir, &playbook, &inventory, &["-v"])
    });
}

#[test]
fn a_password_sudo_user_works_with_become_password_file() {
    let Some(lab) = lab::lab("a_password_sudo_user_works_with_become_password_file") else {
        return;
    };
    let dir = Dir::new("become-pwfile");
    let path = target("pwfile");
    let playbook = playbook(&dir, &path);
    let inventory = dir.write(
        "inventory.ini",
        format!("{}\n", lab.host("h2", "h2").user("pwuser").line()),
    );
    let password = dir.write("become-password", format!("{PASSWORD}\n"));
    let password = password.to_str().unwrap();
    assert_root_file(&lab, "h2", "pwuser", &path, &|| {
        run(
            &dir,
            &playbook,
            &inventory,
            &["-v", "--become-password-file", password],
        )
    });
}

#[test]
fn a_password_sudo_user_works_with_ansible_become_password() {
    let Some(lab) = lab::lab("a_password_sudo_user_works_with_ansible_become_password") else {
        return;
    };
    let dir = Dir::new("become-pwvar");
    let path = target("pwvar");
    let playbook = playbook(&dir, &path);
    let inventory = dir.write(
        "inventory.ini",
        format!(
            "{}\n",
            lab.host("h1", "h1")
                .user("pwuser")
                .var("ansible_become_password", PASSWORD)
                .line()
        ),
    );
    assert_root_file(&lab, "h1", "pwuser", &path, &|| {
        run(&dir, &playbook, &inventory, &["-v"])
    });
}

#[test]
fn a_password_sudo_user_without_a_password_fails_naming_the_become_password() {
    let Some(lab) =
        lab::lab("a_password_sudo_user_without_a_password_fails_naming_the_become_password")
    else {
        return;
    };
    let dir = Dir::new("become-nopw");
    let path = target("nopw");
    let playbook = playbook(&dir, &path);
    let address = lab.address("h2");
    let inventory = dir.write(
        "inventory.ini",
        format!("{}\n", lab.host("h2", "h2").user("pwuser").line()),
    );
    let out = run(&dir, &playbook, &inventory, &[]);
    assert_eq!(
        out.code, 2,
        "a failed host exits 2:\n{}\n{}",
        out.stdout, out.stderr
    );
    assert_eq!(out.recap("h2")[..4], [0, 0, 0, 1], "{}", out.stdout);
    let msg = lab::fatal_line(&out, "h2").unwrap();
    for expected in [
        format!("become (sudo to root) on h2 (pwuser@{address}:22) needs a password"),
        "ansible_become_password".to_string(),
        "sudo: a password is required".to_string(),
    ] {
        assert!(msg.contains(&expected), "{expected:?} in:\n{msg}");
    }
    assert_ne!(lab.ssh("h2", &format!("test -e {path}")).code, 0);

    // A wrong password is refused, and said to be the wrong one.
    let wrong = dir.write("wrong-password", "not-the-password\n");
    let out = run(
        &dir,
        &playbook,
        &inventory,
        &["--become-password-file", wrong.to_str().unwrap()],
    );
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let msg = lab::fatal_line(&out, "h2").unwrap();
    assert!(
        msg.contains("refused the become password for pwuser"),
        "{msg}"
    );
    assert!(!out.stdout.contains("not-the-password"), "{}", out.stdout);
    assert_ne!(lab.ssh("h2", &format!("test -e {path}")).code, 0);
}
