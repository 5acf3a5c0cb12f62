//! Load: one controller against many hosts at once, every one in parallel
//! (`--forks` as many as there are hosts). No deadlock, no lost or mixed-up
//! result, and memory bounded.
//!
//! The hosts are cheap stand-ins, as in the benchmark's scale mode: lab
//! host h34 answers SSH on 300 addresses of its own (10.254.x.y, routed
//! through it), and each inventory host works in its own directory.
//! `TEND_LOAD_HOSTS=1000` runs it against more (the benchmark's largest
//! count; about three minutes of a debug build, too long for every CI run).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Run;
use common::lab::{self, Dir, Lab, TEND_DEADLINE};

/// Hosts unless `TEND_LOAD_HOSTS` says otherwise.
const HOSTS: usize = 300;

fn hosts() -> usize {
    std::env::var("TEND_LOAD_HOSTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| (1..=1000).contains(&n))
        .unwrap_or(HOSTS)
}
const NET: &str = "10.254.0.0/16";
/// What a controller may hold per host at most (the benchmark measures
/// about 0.6 MiB at 1,000 hosts), plus what it needs to start at all.
const MIB_PER_HOST: u64 = 1;
const MIB_BASE: u64 = 64;

fn address(i: usize) -> String {
    format!("10.254.{}.{}", i / 250, i % 250 + 1)
}

/// Gives h34 the addresses and room for that many SSH logins at once, and
/// routes the addresses through it; the route goes when this is dropped.
struct Stand {
    lab: Lab,
    hosts: usize,
}

impl Stand {
    fn up(lab: &Lab, hosts: usize) -> Stand {
        let adds: String = (0..hosts)
            .map(|i| format!("addr add {}/32 dev host0\n", address(i)))
            .collect();
        lab.ssh_ok(
            "h34",
            &format!(
                "ip -batch - <<'EOF'\n{adds}EOF\n\
                 printf 'MaxStartups {}:30:{}\\nMaxSessions 100\\n' > /etc/ssh/sshd_config.d/load.conf\n\
                 systemctl reload ssh",
                hosts * 2,
                hosts * 4
            ),
        );
        let via = lab.address("h34");
        let ok = Command::new("ip")
            .args(["route", "replace", NET, "via", &via])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "cannot route {NET} via h34 ({via})");
        Stand {
            lab: lab.clone(),
            hosts,
        }
    }

    fn inventory(&self, dir: &Dir) -> std::path::PathBuf {
        let key = std::fs::read_to_string(self.lab.dir.join("keys/hostkeys/h34_ed25519.pub"))
            .expect("h34's host key");
        let key: Vec<&str> = key.split_whitespace().take(2).collect();
        let known: String = (0..self.hosts)
            .map(|i| format!("{} {}\n", address(i), key.join(" ")))
            .collect();
        let known_hosts = dir.write("known_hosts", known);
        let lines: String = (0..self.hosts)
            .map(|i| {
                let line = self
                    .lab
                    .host(&format!("s{i:04}"), "h34")
                    .at(&address(i))
                    .known_hosts(&known_hosts)
                    // One sshd answers for every host: logins queue on it.
                    .var("ansible_ssh_timeout", "120")
                    .line();
                format!("{line}\n")
            })
            .collect();
        dir.write("inventory.ini", format!("[load]\n{lines}"))
    }
}

impl Drop for Stand {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["route", "del", NET]).status();
    }
}

/// Runs tend to the end, reading its peak memory (VmHWM) as it goes.
fn run_measured(dir: &Dir, playbook: &Path, inventory: &Path, forks: usize) -> (Run, u64) {
    let forks = forks.to_string();
    let mut child = dir
        .command([
            "run",
            playbook.to_str().expect("UTF-8"),
            "-i",
            inventory.to_str().expect("UTF-8"),
            "--forks",
            &forks,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tend starts");
    let stdout = lab::reader(child.stdout.take());
    let stderr = lab::reader(child.stderr.take());
    let status_file = format!("/proc/{}/status", child.id());
    let started = Instant::now();
    let mut peak_kib = 0;
    let status = loop {
        if let Ok(status) = std::fs::read_to_string(&status_file) {
            let hwm = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
            peak_kib = peak_kib.max(hwm.unwrap_or(0));
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > TEND_DEADLINE {
            let _ = child.kill();
            panic!(
                "tend did not finish within {TEND_DEADLINE:?} against {forks} hosts: a deadlock?"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    (run, peak_kib / 1024)
}

#[test]
fn one_controller_converges_hundreds_of_hosts_at_once_without_losing_a_result() {
    let Some(lab) =
        lab::lab("one_controller_converges_hundreds_of_hosts_at_once_without_losing_a_result")
    else {
        return;
    };
    let h34 = lab.take("h34");
    lab.fresh(34, 1);
    let hosts = hosts();
    let stand = Stand::up(&lab, hosts);
    let dir = Dir::new("load");
    let inventory = stand.inventory(&dir);
    // Each host writes and reads back what names it: a result given to
    // the wrong host, or lost, fails its assert.
    let playbook = dir.write(
        "site.yml",
        r#"- hosts: load
  gather_facts: false
  vars:
    root: /srv/load/{{ inventory_hostname }}
  tasks:
    - file: {path: "{{ root }}/conf.d", state: directory, mode: "0755"}
    - copy:
        content: "{{ inventory_hostname }} {{ item }}\n"
        dest: "{{ root }}/conf.d/{{ item }}.conf"
      loop: [a, b, c]
    - lineinfile: {path: "{{ root }}/env", line: "HOST={{ inventory_hostname }}", create: true}
    - copy: {content: "host {{ inventory_hostname }}\n", dest: "{{ root }}/managed"}
    - command: cat {{ root }}/managed {{ root }}/conf.d/a.conf
      register: back
      changed_when: false
    - assert:
        that: back.stdout_lines == ['host ' ~ inventory_hostname, inventory_hostname ~ ' a']
"#,
    );
    let limit = MIB_BASE + MIB_PER_HOST * hosts as u64;
    let (cold, cold_mib) = run_measured(&dir, &playbook, &inventory, hosts);
    let (converged, converged_mib) = run_measured(&dir, &playbook, &inventory, hosts);
    for (run, mib, what, changed) in [
        (&cold, cold_mib, "cold", 4),
        (&converged, converged_mib, "converged", 0),
    ] {
        assert_eq!(run.code, 0, "{what}:\n{}\n{}", run.stdout, run.stderr);
        for i in 0..hosts {
            let host = format!("s{i:04}");
            assert_eq!(
                run.recap(&host)[..4],
                [6, changed, 0, 0],
                "{what}: {host}'s recap (ok, changed, unreachable, failed)"
            );
        }
        assert!(
            mib > 0 && mib < limit,
            "{what}: peak memory {mib} MiB for {hosts} hosts (at most {limit})"
        );
    }
    // Every host's files are its own, checked on the host.
    let bad = lab.ssh_ok(
        "h34",
        "cd /srv/load && n=0; for h in *; do n=$((n+1)); \
         [ \"$(cat $h/managed)\" = \"host $h\" ] && [ \"$(cat $h/conf.d/c.conf)\" = \"$h c\" ] \
         || echo \"$h\"; done; echo \"$n hosts\"",
    );
    assert_eq!(bad, format!("{hosts} hosts\n"), "hosts with wrong files");
    eprintln!(
        "load: {hosts} hosts, peak memory cold {cold_mib} MiB, converged {converged_mib} MiB"
    );
    drop(stand);
    drop(h34);
}
