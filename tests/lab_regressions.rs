//! Lab tests (tests/lab) that guard bugs found on real hosts and fixed:
//! each test's comment tells what went wrong before.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::Run;
use common::lab::{self, Dir};

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

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Guards: a connection cut while `copy` streams a file's content installs a
/// truncated file once the link is back.
///
/// `modules/src/write.rs` (`atomic_write`) writes the content with
/// `cat > "$t"` into a temporary file and then renames it into place,
/// relying on a lost connection to kill the script. It does not: when the
/// link comes back, sshd sees the client gone (RST), closes the session's
/// pipes, `cat` reads EOF and exits 0, and `set -e` lets the script go on
/// to `chmod` and `mv -f "$t" "$p"`. Seen on the lab: a 100 MB copy cut
/// after about 2 MB left a 2,162,688-byte file as the destination (neither
/// the old nor the new content), with tend reporting the host failed by
/// command timeout. The write should check that it got every byte before
/// the rename (e.g. `head -c <size>` and compare the size, or a checksum
/// sent with the content).
#[test]
fn a_cut_during_a_large_copy_never_installs_a_partial_file() {
    let Some(lab) = lab::lab("a_cut_during_a_large_copy_never_installs_a_partial_file") else {
        return;
    };
    let h5 = lab.take("h5");
    lab.ensure_up(5);
    let dir = Dir::new("partial-copy");
    let path = format!("/tmp/tend-lab-partial-{}", std::process::id());
    let size: u64 = 100_000_000;

    // The old version, made on the host; the new one, here.
    let old = lab.ssh_ok(
        "h5",
        &format!(
            "rm -rf {path} && mkdir -p {path} && head -c {size} /dev/urandom > {path}/big.bin \
             && sha256sum {path}/big.bin"
        ),
    );
    let old = old.split_whitespace().next().unwrap().to_string();
    let mut content = Vec::with_capacity(size as usize);
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .take(size)
        .read_to_end(&mut content)
        .unwrap();
    let local = dir.write("files/big.bin", &content);
    drop(content);
    let new = sha256(&local);
    let playbook = dir.write(
        "site.yml",
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - copy: {{src: big.bin, dest: \"{path}/big.bin\"}}\n"
        ),
    );
    let inventory = dir.write(
        "inventory.ini",
        format!("{}\n", lab.host("h5", "h5").line()),
    );

    // Cut h5 off as soon as tend's temporary file appears: the content is
    // then on its way.
    let cutter = {
        let lab = lab.clone();
        let path = path.clone();
        std::thread::spawn(move || {
            let seen = lab.ssh(
                "h5",
                &format!(
                    "for i in $(seq 2000); do ls {path}/.tend-* >/dev/null 2>&1 && exit 0; \
                     sleep 0.01; done; exit 1"
                ),
            );
            if seen.code == 0 {
                lab.fault("cut", "h5");
            }
            seen.code == 0
        })
    };
    let out = run(&dir, &playbook, &inventory, &["--command-timeout", "5"]);
    let cut = cutter.join().unwrap();
    drop(h5); // the link is back
    assert!(
        cut,
        "the temporary file never appeared: {}\n{}",
        out.stdout, out.stderr
    );
    assert_ne!(
        out.code, 0,
        "the copy finished before the cut; the test proves nothing:\n{}",
        out.stdout
    );
    // Give the interrupted script on the host time to end, one way or the
    // other: its temporary file goes when it does.
    let deadline = Instant::now() + Duration::from_secs(20);
    while lab
        .ssh("h5", &format!("ls {path}/.tend-* >/dev/null 2>&1"))
        .code
        == 0
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(250));
    }
    std::thread::sleep(Duration::from_millis(500));
    let now = lab.ssh_ok(
        "h5",
        &format!("sha256sum {path}/big.bin; stat -c %s {path}/big.bin; ls -A {path}"),
    );
    lab.ssh_ok("h5", &format!("rm -rf {path}"));
    let sum = now.split_whitespace().next().unwrap_or_default();
    assert!(
        sum == old || sum == new,
        "after a cut mid-copy, {path}/big.bin on h5 is neither the old nor the new \
         version (a partial file was installed):\n{now}\ntend said:\n{}",
        out.stdout
    );
}

fn whoami_playbook(dir: &Dir, header: &str) -> PathBuf {
    dir.write(
        "site.yml",
        format!(
            "- hosts: all\n  gather_facts: false\n{header}  tasks:\n\
             \x20   - command: id -un\n      register: who\n      changed_when: false\n\
             \x20   - assert:\n        that: who.stdout == 'tester'\n        \
             fail_msg: \"logged in as {{{{ who.stdout }}}}, not tester\"\n"
        ),
    )
}

/// Guards: `-e ansible_user=tester` is ignored; tend logs in as the
/// inventory's `ansible_user` (root).
///
/// `src/engine/run.rs` builds each host's transport once, from its
/// inventory variables only (`transport_for(&name, &templated(.., &vars))`),
/// so connection variables given as extra vars (`ansible_user`,
/// `ansible_port`, `ansible_ssh_timeout`, `ansible_become_password`, ...)
/// never reach it. In Ansible, extra vars win over the inventory for
/// connection variables too; `-e ansible_user=...` is a common way to run
/// as someone else.
#[test]
fn extra_vars_set_the_connection_user() {
    let Some(lab) = lab::lab("extra_vars_set_the_connection_user") else {
        return;
    };
    let dir = Dir::new("extra-user");
    let playbook = whoami_playbook(&dir, "");
    let inventory = dir.write(
        "inventory.ini",
        format!("{}\n", lab.host("h1", "h1").line()),
    );
    let out = run(&dir, &playbook, &inventory, &["-e", "ansible_user=tester"]);
    out.assert_ok();
}

/// Guards: the play keyword `remote_user` is accepted and silently ignored
/// (`src/playbook/keywords.rs` lists it among the keywords that do nothing),
/// so with no `ansible_user` in the inventory tend logs in as the local user
/// (here root) instead of `tester`. Ansible logs in as `remote_user` when
/// the inventory does not set `ansible_user`.
#[test]
fn the_play_keyword_remote_user_sets_the_connection_user() {
    let Some(lab) = lab::lab("the_play_keyword_remote_user_sets_the_connection_user") else {
        return;
    };
    let dir = Dir::new("remote-user");
    let playbook = whoami_playbook(&dir, "  remote_user: tester\n");
    let inventory = dir.write(
        "inventory.ini",
        format!("{}\n", lab.host("h1", "h1").without_user().line()),
    );
    let out = run(&dir, &playbook, &inventory, &[]);
    out.assert_ok();
}

/// Guards: tend's own scripts run one after another in a shell kept open
/// on the host (`src/transport/ssh/resident.rs`). A `shell` task that
/// leaves a job in the background holding its output must not return while
/// the job can still print: in the kept shell it did, and the job's late
/// line landed in the next task's probe answer. As on Ansible, the task
/// waits until its output is closed, and has the job's line in `stdout`.
#[test]
fn a_background_job_of_a_shell_task_prints_into_no_later_task() {
    let Some(lab) = lab::lab("a_background_job_of_a_shell_task_prints_into_no_later_task") else {
        return;
    };
    let dir = Dir::new("background-job");
    let path = format!("/tmp/tend-lab-background-{}", std::process::id());
    let playbook = dir.write(
        "site.yml",
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - shell: \"(sleep 1; echo late) &\"\n      register: job\n\
             \x20   - copy: {{content: \"x\\n\", dest: {path}}}\n\
             \x20   - file: {{path: {path}, mode: \"0600\"}}\n\
             \x20   - assert: {{that: [\"job.stdout == 'late'\"]}}\n"
        ),
    );
    let inventory = dir.write(
        "inventory.ini",
        format!("{}\n", lab.host("h1", "h1").line()),
    );
    let out = run(&dir, &playbook, &inventory, &[]);
    out.assert_ok();
    assert_eq!(out.changed("h1"), 3, "{}", out.stdout);
    lab.ssh_ok("h1", &format!("rm -f {path}"));
}
