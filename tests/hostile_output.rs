//! Remote output is never trusted: a host that prints bytes that are not
//! UTF-8, far too much, junk where a module expects `stat` or `systemctl`
//! output, or a directory holding a file name that is not UTF-8, gets a
//! clear failure for that task (naming the host and module), never a crash,
//! and the other hosts of the run carry on.
//!
//! The hosts are the controller itself (`ansible_connection=local`). A
//! "junk" host has a directory first on its PATH (through the play's
//! `environment`) whose `stat`, `systemctl`, `getent`, `dpkg-query`,
//! `iptables-save` ... print whatever `$JUNK_MODE` says; a "clean" host
//! beside it runs the same tasks with the real tools. Every task that could
//! change this machine runs in check mode.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::{Run, Scratch, tend};
use serde_json::Value;

/// The tools a junk host's PATH replaces: what the modules' probes run.
const JUNK_TOOLS: &[&str] = &[
    "stat",
    "sha1sum",
    "readlink",
    "dpkg-query",
    "apt-cache",
    "systemctl",
    "getent",
    "iptables",
    "ip6tables",
    "iptables-save",
    "ip6tables-save",
    "id",
    "uname",
    "ip",
];

/// Prints junk, whatever it is asked: binary bytes, a 1 MB line, NUL
/// bytes, nothing, 40 MB, or numbers out of every range.
const JUNK: &str = r#"#!/bin/sh
case "$JUNK_MODE" in
  binary) printf 'stat \377\376\375 \001\002\n\200\n' ;;
  long) head -c 1000000 /dev/zero | tr '\0' a; echo ;;
  nul) printf 'abc\000def\000\n\000' ;;
  empty) ;;
  huge) head -c 40000000 /dev/zero | tr '\0' z ;;
  numbers) echo "stat ffffffffffffffffffff -1 99999999999999999999999 -0 1e999 x y" ;;
esac
exit 0
"#;

/// A directory with an inventory of two local hosts, `clean` and `junk`.
struct Hosts {
    dir: Scratch,
}

impl Hosts {
    fn new(name: &str) -> Hosts {
        let dir = Scratch::new(&format!("hostile-{name}"));
        let hosts = Hosts { dir };
        let bin = hosts.path("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let junk = Path::new(&bin).join("junk");
        std::fs::write(&junk, JUNK).unwrap();
        make_executable(&junk);
        for tool in JUNK_TOOLS {
            std::os::unix::fs::symlink("junk", Path::new(&bin).join(tool)).unwrap();
        }
        let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
        hosts.write(
            "inventory",
            &format!(
                "clean ansible_connection=local path_dirs={path}\n\
                 junk ansible_connection=local path_dirs={bin}:{path}\n"
            ),
        );
        std::fs::write(hosts.dir.path().join("data"), "hello\n").unwrap();
        hosts
    }

    fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).display().to_string()
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.dir.path().join(rel), text).unwrap();
    }

    /// Writes a play of `tasks` (YAML list items, indented four spaces)
    /// for the hosts `pattern`, with the junk in `mode`.
    fn playbook(&self, pattern: &str, mode: &str, tasks: &str) {
        self.write(
            "site.yml",
            &format!(
                "- hosts: {pattern}\n  gather_facts: false\n  environment:\n    PATH: \"{{{{ path_dirs }}}}\"\n    JUNK_MODE: {mode}\n  tasks:\n{tasks}"
            ),
        );
    }

    fn args(&self) -> [String; 6] {
        [
            "run".into(),
            self.path("site.yml"),
            "-i".into(),
            self.path("inventory"),
            "--format".into(),
            "json".into(),
        ]
    }

    /// Runs the play (see `playbook`), as JSON.
    fn run(&self, pattern: &str, mode: &str, tasks: &str) -> Run {
        self.playbook(pattern, mode, tasks);
        tend(self.args())
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The result of task `name` on `host` in a JSON report.
fn result<'r>(report: &'r Value, name: &str, host: &str) -> &'r Value {
    report["plays"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["tasks"].as_array().into_iter().flatten())
        .find(|t| t["task"]["name"] == name)
        .map(|t| &t["hosts"][host])
        .unwrap_or_else(|| panic!("no task '{name}' in {report}"))
}

fn report(run: &Run) -> Value {
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("stack overflow"),
        "tend crashed:\n{}",
        run.stderr
    );
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", run.stdout, run.stderr))
}

/// Ansible replaces bytes that are not UTF-8 in a command's output; what
/// is registered stays usable by later tasks.
#[test]
fn a_command_printing_bytes_that_are_not_utf8_registers_usable_text() {
    let hosts = Hosts::new("utf8");
    let out = hosts.path("out.txt");
    let run = hosts.run(
        "clean",
        "empty",
        &format!(
            "    - name: junk bytes\n      shell: printf 'a\\377\\376b\\nline2\\n'; printf 'e\\377rr\\n' >&2\n      register: junk\n    - name: use them\n      copy:\n        dest: {out}\n        content: \"{{{{ junk.stdout }}}}|{{{{ junk.stderr }}}}|{{{{ junk.stdout_lines | length }}}}\"\n"
        ),
    );
    let report = report(&run);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let junk = result(&report, "junk bytes", "clean");
    assert_eq!(junk["stdout"], "a\u{fffd}\u{fffd}b\nline2");
    assert_eq!(junk["stderr"], "e\u{fffd}rr");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "a\u{fffd}\u{fffd}b\nline2|e\u{fffd}rr|2"
    );
}

/// Output past 16 MiB per stream is read and dropped: the command runs to
/// its end, its result keeps the first 16 MiB and says it was cut, and the
/// controller's memory does not grow with what the host prints.
#[test]
fn an_enormous_output_is_cut_at_the_cap_and_memory_stays_bounded() {
    let hosts = Hosts::new("enormous");
    hosts.playbook(
        "clean",
        "empty",
        "    - name: print 200 MB\n      shell: head -c 200000000 /dev/zero | tr '\\0' x; head -c 100000000 /dev/zero | tr '\\0' y >&2\n      register: big\n    - name: look at it\n      assert:\n        that:\n          - big.stdout | length == 16777216\n          - big.rc == 0\n          - \"'output truncated' in big.stderr\"\n",
    );
    let time = Path::new("/usr/bin/time");
    let rss_file = hosts.path("rss");
    let run = if time.exists() {
        let out = std::process::Command::new(time)
            .args(["-f", "%M", "-o", &rss_file, env!("CARGO_BIN_EXE_tend")])
            .args(hosts.args())
            .env("NO_COLOR", "1")
            .output()
            .expect("/usr/bin/time runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    } else {
        tend(hosts.args())
    };
    let report = report(&run);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let big = result(&report, "print 200 MB", "clean");
    assert_eq!(big["rc"], 0);
    let stderr = big["stderr"].as_str().unwrap();
    assert!(
        stderr.ends_with(
            "[tend: output truncated: only the first 16 MiB of each of stdout and stderr were kept]"
        ),
        "{}",
        &stderr[stderr.len().saturating_sub(200)..]
    );
    assert_eq!(
        result(&report, "look at it", "clean")["failed"],
        Value::Null
    );
    match std::fs::read_to_string(&rss_file) {
        Ok(kib) => {
            let kib: u64 = kib.trim().lines().last().unwrap().parse().unwrap();
            // All 300 MB kept (and copied into the result) took 1.5 GB.
            assert!(kib < 400 << 10, "peak RSS {} MiB", kib >> 10);
        }
        Err(_) => eprintln!("no /usr/bin/time: peak memory not checked"),
    }
}

/// A probe that prints more than tend keeps is no answer: that task fails
/// on that host, the others go on.
#[test]
fn a_probe_answering_with_too_much_fails_its_task_only() {
    let hosts = Hosts::new("too-much");
    let data = hosts.path("data");
    let run = hosts.run(
        "all",
        "huge",
        &format!(
            "    - name: stat\n      stat:\n        path: {data}\n    - name: done\n      debug:\n        msg: done\n"
        ),
    );
    let report = report(&run);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(result(&report, "stat", "clean")["stat"]["exists"], true);
    let failed = result(&report, "stat", "junk");
    assert_eq!(failed["failed"], true);
    assert_eq!(
        failed["msg"],
        "stat: the host answered this task's probe with more than 16 MiB of output; tend keeps no more than that of what a host prints, and does not plan from part of an answer"
    );
    assert_eq!(result(&report, "done", "clean")["msg"], "done");
    assert_eq!(report["stats"]["junk"]["failed"], 1);
    assert_eq!(report["stats"]["clean"]["failed"], 0);
}

/// Every module that parses a tool's output, fed junk in every shape: a
/// clear, short failure for that task on the junk host; the clean host and
/// the junk host's later tasks carry on.
#[test]
fn junk_from_the_tools_a_probe_runs_is_a_clear_failure_of_that_task() {
    let hosts = Hosts::new("junk");
    let data = hosts.path("data");
    let tasks: Vec<(&str, String)> = vec![
        (
            "stat",
            format!("stat: {{path: {data}, get_checksum: true}}"),
        ),
        ("file", format!("file: {{path: {data}, mode: \"0644\"}}")),
        (
            "copy",
            format!("copy: {{dest: {data}, content: \"hello\\n\"}}"),
        ),
        (
            "lineinfile",
            format!("lineinfile: {{path: {data}, line: hello}}"),
        ),
        ("apt", "apt: {name: coreutils}".into()),
        ("service", "service: {name: cron, state: started}".into()),
        ("systemd", "systemd: {name: cron, enabled: true}".into()),
        ("user", "user: {name: root}".into()),
        ("group", "group: {name: root}".into()),
        (
            "iptables",
            "iptables: {chain: INPUT, protocol: tcp, destination_port: \"22\", jump: ACCEPT}"
                .into(),
        ),
        (
            "iptables_rules",
            "iptables_rules: {rules: [\"-A INPUT -p tcp --dport 22 -j ACCEPT\"]}".into(),
        ),
        ("setup", "setup: {}".into()),
    ];
    let mut playbook = String::new();
    for (name, task) in &tasks {
        playbook.push_str(&format!(
            "    - name: {name}\n      {task}\n      check_mode: true\n      ignore_errors: true\n"
        ));
    }
    playbook.push_str("    - name: done\n      debug:\n        msg: done\n");
    for mode in ["binary", "long", "nul", "empty", "numbers"] {
        let run = hosts.run("all", mode, &playbook);
        let report = report(&run);
        assert_eq!(run.code, 0, "{mode}: {}", run.stderr);
        for (name, _) in &tasks {
            let got = result(&report, name, "junk");
            let msg = got["msg"].as_str().unwrap_or_default();
            // Some junk happens to read as an answer (`empty` from
            // iptables -S is an empty chain list); none is a crash, and
            // none is quoted at length.
            assert!(
                got["failed"] == true || got["changed"].is_boolean(),
                "{mode}: {name}: {got}"
            );
            if got["failed"] == true {
                assert!(!msg.is_empty(), "{mode}: {name}: {got}");
            }
            assert!(msg.len() < 10_000, "{mode}: {name}: {} bytes", msg.len());
        }
        // The probes' own parsers refuse the junk with messages that say
        // whose answer they could not read.
        for (name, says) in [
            ("stat", "could not read the host's answer to the stat probe"),
            ("file", "file probe"),
            ("copy", "file probe"),
            ("user", "could not read the host's account database"),
            ("group", "could not read the host's account database"),
        ] {
            let got = result(&report, name, "junk");
            assert_eq!(got["failed"], true, "{mode}: {name}: {got}");
            let msg = got["msg"].as_str().unwrap();
            assert!(msg.contains(says), "{mode}: {name}: {msg}");
        }
        for host in ["clean", "junk"] {
            assert_eq!(result(&report, "done", host)["msg"], "done", "{mode}");
        }
    }
}

/// File names are bytes: a tree holding one that is not UTF-8 is walked
/// (recursive modes, removal) or refused with the path named (a copy from
/// the controller; a link pointing at it), never a crash.
#[test]
fn a_file_name_that_is_not_utf8_is_handled_or_refused_clearly() {
    let hosts = Hosts::new("names");
    let tree = hosts.dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    let bad = tree.join(std::ffi::OsStr::from_bytes(b"bad\xff\xfename"));
    std::fs::write(&bad, "x").unwrap();
    std::fs::write(tree.join("sub/ok.txt"), "y").unwrap();
    let link = hosts.dir.path().join("link");
    std::os::unix::fs::symlink(&bad, &link).unwrap();
    let copy = hosts.dir.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::write(copy.join(std::ffi::OsStr::from_bytes(b"gone\xff")), "z").unwrap();
    let t = tree.display();
    let l = link.display();
    let c = copy.display();
    let d = hosts.dir.path().join("dest").display().to_string();
    let tasks = format!(
        "    - name: list it
      command: ls {t}
      register: listing
    - name: stat the directory
      stat: {{path: {t}}}
    - name: modes down the tree
      file: {{path: {t}, state: directory, recurse: true, mode: u+rwX}}
    - name: remove a tree holding one
      file: {{path: {c}, state: absent}}
    - name: copy the tree from the controller
      copy: {{src: {t}/, dest: {d}/}}
      ignore_errors: true
    - name: stat a link to it
      stat: {{path: {l}}}
      ignore_errors: true
    - name: replace a link to it
      file: {{path: {l}, src: /etc/hostname, state: link}}
      check_mode: true
      ignore_errors: true
    - name: done
      debug: {{msg: done}}
"
    );
    let run = hosts.run("clean", "empty", &tasks);
    let report = report(&run);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        result(&report, "list it", "clean")["stdout_lines"],
        serde_json::json!(["bad\u{fffd}\u{fffd}name", "sub"])
    );
    let at = |name: &str| result(&report, name, "clean");
    assert_eq!(at("stat the directory")["stat"]["isdir"], true);
    assert_eq!(at("modes down the tree")["failed"], Value::Null);
    assert_eq!(at("remove a tree holding one")["changed"], true);
    assert!(!copy.exists());
    let refused = at("copy the tree from the controller");
    assert_eq!(refused["failed"], true);
    assert!(
        refused["msg"]
            .as_str()
            .unwrap()
            .ends_with("/tree/bad\u{fffd}\u{fffd}name': the name is not UTF-8"),
        "{refused}"
    );
    for name in ["stat a link to it", "replace a link to it"] {
        let got = at(name);
        assert_eq!(got["failed"], true, "{name}: {got}");
        assert!(
            got["msg"].as_str().unwrap().contains("not UTF-8"),
            "{name}: {got}"
        );
    }
    assert_eq!(at("done")["msg"], "done");
}
