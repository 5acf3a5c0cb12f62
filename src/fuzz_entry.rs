//! What the fuzz targets (`fuzz/fuzz_targets/`) feed their bytes to, and
//! what `tests/fuzz_regressions.rs` feeds the inputs the fuzzer kept, so
//! that both exercise exactly the same code.
//!
//! Each entry takes untrusted bytes the way tend meets them: a playbook or
//! inventory file as read from disk, a template and its variables, or what
//! a host printed. It may fail with an error, as it would for a user;
//! only a panic, a hang or unbounded memory is a bug.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value, json};
use tend_modules::{Args, Controller, Observed, StepOutput, Task};

use crate::inventory::{Format, Inventory};
use crate::templating::{Templar, Vars};

/// A playbook file's bytes, loaded, checked and drawn as `tend validate`
/// and `tend graph` do. Imports resolve beside a path that does not exist,
/// so they fail instead of reading this machine's files.
pub fn playbook(data: &[u8]) {
    let path = Path::new("/nonexistent/tend-fuzz/playbook.yml");
    let Ok(book) = crate::playbook::load_playbook_bytes(path, data.to_vec()) else {
        return;
    };
    if let Ok(inventory) = Inventory::load(&[]) {
        let _ = crate::validate::check(&book, &inventory);
    }
    for play in &book.plays {
        let _ = crate::validate::count_tasks(play);
        if let Ok(graph) = crate::graph::TaskGraph::of_play(play) {
            let _ = graph.to_dot("fuzz");
        }
    }
}

/// An INI inventory file's bytes.
pub fn inventory_ini(data: &[u8]) {
    inventory(data, Format::Ini, "/nonexistent/tend-fuzz/hosts");
}

/// A YAML inventory file's bytes.
pub fn inventory_yaml(data: &[u8]) {
    inventory(data, Format::Yaml, "/nonexistent/tend-fuzz/hosts.yml");
}

/// How many hosts' variables and patterns are looked at, so that a valid
/// inventory of many hosts does not make one input slow.
const HOSTS_LOOKED_AT: usize = 20;

fn inventory(data: &[u8], format: Format, path: &str) {
    let Ok(inv) = Inventory::from_bytes(Path::new(path), data.to_vec(), format) else {
        return;
    };
    let _ = inv.to_list_json();
    let _ = inv.to_list_json_export();
    let _ = inv.to_graph();
    let _ = inv.groups_dict();
    for host in inv.hosts().into_iter().take(HOSTS_LOOKED_AT) {
        let _ = inv.host_json(host);
        let _ = inv.group_names(host);
        let _ = inv.select(host);
    }
    for group in inv.groups().into_iter().take(HOSTS_LOOKED_AT) {
        let _ = inv.select(&format!("{group}:!{group}:&all"));
        let _ = inv.group_hosts(group);
    }
}

/// A template, then optionally a NUL byte and a YAML mapping of variables
/// (play variables, so their strings are templated when read). The text is
/// rendered, evaluated and checked every way the engine uses templates,
/// with a few fixed variables beside the given ones. Lookups are sandboxed:
/// a random `lookup('pipe', ...)` must not run on this machine.
pub fn template(data: &[u8]) {
    let (text, vars_text) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let mut vars = Vars::new();
    vars.push_layer(Arc::new(fixed_vars()));
    if let Some(vars_text) = vars_text {
        let path = Path::new("/nonexistent/tend-fuzz/vars.yml");
        if let Ok(node) = crate::yaml::load_bytes(path, vars_text.to_vec()) {
            if let Value::Object(map) = node.to_value() {
                vars.push_layer(Arc::new(map));
            }
        }
    }
    vars.set("registered", json!({"stdout": text, "rc": 0}));
    let templar = templar();
    let _ = templar.check_syntax(text);
    let _ = templar.check_expr_syntax(text);
    let _ = templar.render_str(text, &vars);
    let _ = templar.eval(text, &vars);
    let _ = templar.eval_when(&Value::String(text.to_string()), &vars);
    let _ = templar.render_file("fuzz.j2", text, &vars);
    let _ = templar.render_value(&json!({ text: [text, {"k": text}] }), &vars);
}

fn templar() -> &'static Templar {
    static TEMPLAR: OnceLock<Templar> = OnceLock::new();
    TEMPLAR.get_or_init(Templar::sandboxed)
}

fn fixed_vars() -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("x".into(), json!(1));
    map.insert("s".into(), json!("text"));
    map.insert("list".into(), json!([1, "two", [3], {"four": 4}]));
    map.insert("d".into(), json!({"a": 1, "b": {"c": [1, 2]}, "e": null}));
    map.insert("t".into(), json!("{{ x + 1 }}"));
    map.insert("inventory_hostname".into(), json!("web1"));
    map
}

/// How many module cases a `probe_output` input's first byte chooses from
/// (modulo this); the selector `PROBE_FACTS` reads facts instead.
pub const PROBE_CASE_COUNT: u8 = PROBE_CASES.len() as u8;

/// The first byte of a `probe_output` input that reads facts, `setup`'s
/// parser, directly.
pub const PROBE_FACTS: u8 = u8::MAX;

/// What a host printed, as a module reads it. The first byte chooses a
/// module and its parameters (see `PROBE_CASES`) or facts, the second is the exit
/// code; the rest is the probe's output and, after the first `0xff 0xff`
/// if there is one, what the plan's steps printed (else the same bytes).
/// Each output is given as stdout and as stderr.
pub fn probe_output(data: &[u8]) {
    let [selector, rc, rest @ ..] = data else {
        return;
    };
    let (probe, steps) = match rest.windows(2).position(|w| w == [0xff, 0xff]) {
        Some(at) => (&rest[..at], &rest[at + 2..]),
        None => (rest, rest),
    };
    let rc = i32::from(*rc);
    if *selector == PROBE_FACTS {
        let _ = tend_modules::facts::gather(probe);
        return;
    }
    let (module, args) = PROBE_CASES[usize::from(*selector % PROBE_CASE_COUNT)];
    let Ok(task) = prepare(module, args, probe) else {
        return;
    };
    let observed = Observed {
        rc,
        stdout: probe.to_vec(),
        stderr: probe.to_vec(),
    };
    let observed = task.probe().map(|_| &observed);
    let Ok(plan) = task.plan(observed) else {
        return;
    };
    if task.refresh(observed).is_some() {
        let _ = task.plan_refreshed(observed);
    }
    let outputs: Vec<StepOutput> = plan
        .steps
        .iter()
        .map(|_| StepOutput {
            rc,
            stdout: steps.to_vec(),
            stderr: steps.to_vec(),
        })
        .collect();
    let _ = task.finish(&plan, &outputs);
}

/// A module's task as the engine prepares it for one host. `archive` is
/// what the controller's `files/fuzzed.tgz` holds.
fn prepare(module: &str, args: &str, archive: &[u8]) -> Result<Box<dyn Task>, String> {
    let module = tend_modules::lookup(module).ok_or_else(|| format!("no module {module}"))?;
    let Ok(Value::Object(given)) = serde_json::from_str::<Value>(args) else {
        return Err(format!("bad arguments {args}"));
    };
    let args = Args::check(module.params(), &given, false).map_err(|e| e.message)?;
    module
        .prepare(args, &FuzzController { archive })
        .map_err(|e| e.message)
}

/// Modules and parameters whose probes and steps print something the module
/// parses. Together they reach every builtin module that talks to a host.
/// A case's index is its selector in the kept inputs: add new cases at the
/// end (fewer than 255 in all).
const PROBE_CASES: &[(&str, &str)] = &[
    ("apt", r#"{"name": "hello"}"#),
    (
        "apt",
        r#"{"name": ["lab-hello=1.0", "tree"], "state": "latest", "update_cache": true}"#,
    ),
    (
        "apt",
        r#"{"name": "hello", "state": "absent", "purge": true}"#,
    ),
    ("apt", r#"{"autoremove": true, "cache_valid_time": 3600}"#),
    ("command", r#"{"cmd": "x", "creates": "/a"}"#),
    ("command", r#"{"cmd": "x", "removes": "/a", "chdir": "/d"}"#),
    ("command", r#"{"cmd": "echo hi"}"#),
    ("shell", r#"{"cmd": "echo hi >&2; exit 3"}"#),
    (
        "copy",
        r#"{"dest": "/etc/motd", "content": "hello\n", "mode": "0644", "owner": "app", "group": "adm"}"#,
    ),
    (
        "copy",
        r#"{"src": "app.conf", "dest": "/etc/", "backup": true, "mode": "0600"}"#,
    ),
    (
        "copy",
        r#"{"src": "tree/", "dest": "/srv", "directory_mode": "u=rwX,go=rX"}"#,
    ),
    ("copy", r#"{"src": "tree", "dest": "/srv", "force": false}"#),
    ("file", r#"{"path": "/f", "state": "file", "mode": "u+x"}"#),
    (
        "file",
        r#"{"path": "/d", "state": "directory", "owner": "app", "mode": "0755"}"#,
    ),
    ("file", r#"{"path": "/l", "src": "/t", "state": "link"}"#),
    ("file", r#"{"path": "/h", "src": "/t", "state": "hard"}"#),
    (
        "file",
        r#"{"path": "/t", "state": "touch", "modification_time": "now"}"#,
    ),
    ("file", r#"{"path": "/a", "state": "absent"}"#),
    (
        "file",
        r#"{"path": "/srv", "state": "directory", "recurse": true, "group": "adm"}"#,
    ),
    ("group", r#"{"name": "web", "gid": 1500, "system": true}"#),
    ("group", r#"{"name": "web", "state": "absent"}"#),
    (
        "iptables",
        r#"{"chain": "INPUT", "protocol": "tcp", "destination_port": 80, "jump": "ACCEPT", "comment": "web"}"#,
    ),
    (
        "iptables",
        r#"{"chain": "INPUT", "action": "insert", "rule_num": 2, "source": "10.0.0.0/8", "jump": "DROP"}"#,
    ),
    (
        "iptables",
        r#"{"chain": "web", "state": "absent", "jump": "ACCEPT", "protocol": "udp"}"#,
    ),
    ("iptables", r#"{"chain": "INPUT", "policy": "DROP"}"#),
    ("iptables", r#"{"chain": "INPUT", "flush": true}"#),
    (
        "iptables_rules",
        r#"{"rules": ["-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT", "-A INPUT -p tcp --dport 22 -j ACCEPT", "-A INPUT -p tcp --dport 80 -j web"], "policies": {"INPUT": "drop"}, "chains": ["web", "logs"]}"#,
    ),
    ("lineinfile", r#"{"path": "/f", "line": "x"}"#),
    (
        "lineinfile",
        r#"{"path": "/f", "regexp": "^port=", "line": "port=1", "create": true, "backup": true}"#,
    ),
    (
        "lineinfile",
        r#"{"path": "/f", "state": "absent", "regexp": "^x"}"#,
    ),
    (
        "lineinfile",
        r#"{"path": "/f", "regexp": "^(a)=(.*)$", "line": "\\1=z\\2", "backrefs": true}"#,
    ),
    (
        "lineinfile",
        r#"{"path": "/f", "line": "x", "insertafter": "^a", "firstmatch": true}"#,
    ),
    (
        "lineinfile",
        r#"{"path": "/f", "line": "x", "insertbefore": "BOF"}"#,
    ),
    (
        "nginx_site",
        r#"{"name": "shop", "server": {"listen": 80, "locations": [{"path": "/", "return": "200 \"ok\""}]}}"#,
    ),
    (
        "nginx_site",
        r#"{"name": "shop", "content": "server { listen 80; }\n", "enabled": false}"#,
    ),
    ("nginx_site", r#"{"name": "shop", "state": "absent"}"#),
    ("package", r#"{"name": "hello"}"#),
    (
        "package",
        r#"{"name": ["hello", "tree"], "state": "absent"}"#,
    ),
    (
        "service",
        r#"{"name": "app", "state": "started", "enabled": true}"#,
    ),
    ("service", r#"{"name": "app", "state": "restarted"}"#),
    ("setup", r#"{}"#),
    ("setup", r#"{"gather_subset": ["!all", "network"]}"#),
    ("setup", r#"{"filter": "ansible_[dk]e*"}"#),
    ("stat", r#"{"path": "/f"}"#),
    (
        "stat",
        r#"{"path": "/f", "follow": true, "checksum_algorithm": "md5", "get_mime": true}"#,
    ),
    (
        "systemd",
        r#"{"name": "app", "state": "started", "enabled": true, "daemon_reload": true}"#,
    ),
    ("systemd", r#"{"name": "app", "masked": true}"#),
    ("systemd", r#"{"name": "app.socket", "state": "reloaded"}"#),
    (
        "systemd_unit",
        r#"{"name": "shop.service", "unit": {"Description": "Shop"}, "service": {"ExecStart": "/opt/shop", "Environment": ["PORT=8080"]}, "install": {"WantedBy": "multi-user.target"}, "state": "started", "enabled": true}"#,
    ),
    (
        "systemd_unit",
        r#"{"name": "shop.timer", "timer": {"OnCalendar": "daily"}}"#,
    ),
    (
        "systemd_unit",
        r#"{"name": "shop.service", "state": "absent"}"#,
    ),
    (
        "template",
        r#"{"src": "motd.j2", "dest": "/etc/motd", "mode": "0644", "owner": "root"}"#,
    ),
    ("unarchive", r#"{"src": "app.tar", "dest": "/srv"}"#),
    (
        "unarchive",
        r#"{"src": "app.tar", "dest": "/srv", "list_files": true, "keep_newer": true, "exclude": ["app/x"]}"#,
    ),
    ("unarchive", r#"{"src": "fuzzed.tgz", "dest": "/srv"}"#),
    ("uri", r#"{"url": "http://h/"}"#),
    (
        "uri",
        r#"{"url": "https://h/x", "method": "POST", "body_format": "json", "body": {"a": 1}, "return_content": true, "status_code": [200, 201]}"#,
    ),
    ("uri", r#"{"url": "http://h/", "creates": "/tmp/done"}"#),
    ("user", r#"{"name": "app"}"#),
    (
        "user",
        r#"{"name": "app", "uid": 999, "group": "app", "groups": ["sudo", "wheel"], "append": true, "shell": "/bin/sh", "home": "/srv/app", "comment": "App", "password": "$6$salt$Nf0c5bXmPJkbMbJSdp0VPLcYa5N8nRoUp0ZsFwyGbaH9Tm3u6x0qxqD/Dke7yZB0pE9Ju0QhBxVxbcM.QGDnY1"}"#,
    ),
    (
        "user",
        r#"{"name": "app", "state": "absent", "remove": true}"#,
    ),
    (
        "user",
        r#"{"name": "app", "groups": "", "create_home": false}"#,
    ),
    ("wait_for", r#"{"port": 8080, "timeout": 2}"#),
    (
        "wait_for",
        r#"{"path": "/x", "search_regex": "^status: (\\w+) (?P<n>\\d+)$"}"#,
    ),
    ("wait_for", r#"{"path": "/x", "state": "absent"}"#),
    ("wait_for", r#"{"port": 80, "state": "drained"}"#),
];

/// The controller a fuzzed task is prepared with: fixed `files/` and
/// `templates/` (a one-file tar as `app.tar`, a small tree as `tree/`),
/// except `files/fuzzed.tgz`, which holds the fuzzer's bytes; templates
/// render to themselves.
struct FuzzController<'a> {
    archive: &'a [u8],
}

impl Controller for FuzzController<'_> {
    fn read_src(&self, path: &str, _subdir: &str) -> Result<Vec<u8>, String> {
        match path {
            "fuzzed.tgz" => Ok(self.archive.to_vec()),
            "app.tar" => Ok(small_tar()),
            "motd.j2" => Ok(b"hello {{ x }}\n".to_vec()),
            "app.conf" => Ok(b"port=80\n".to_vec()),
            _ => Err(format!("could not find '{path}'")),
        }
    }
    fn src_dir(&self, path: &str, _subdir: &str) -> Option<std::path::PathBuf> {
        if path.starts_with("tree") {
            tree_dir().clone()
        } else {
            None
        }
    }
    fn render(&self, text: &str) -> Result<String, String> {
        Ok(text.to_string())
    }
    fn eval(&self, expr: &str) -> Result<Value, String> {
        Err(format!("'{expr}' is undefined"))
    }
    fn check_mode(&self) -> bool {
        false
    }
}

/// A directory `tree/` with `top.txt` and `sub/nested.txt`, made once per
/// process in the temporary directory; `None` if it cannot be made.
fn tree_dir() -> &'static Option<std::path::PathBuf> {
    static TREE: OnceLock<Option<std::path::PathBuf>> = OnceLock::new();
    TREE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("tend-fuzz-tree-{}/tree", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).ok()?;
        std::fs::write(dir.join("top.txt"), "top\n").ok()?;
        std::fs::write(dir.join("sub/nested.txt"), "nested\n").ok()?;
        Some(dir)
    })
}

/// A ustar archive holding the directory `app/` and the file `app/run.sh`.
fn small_tar() -> Vec<u8> {
    let mut out = Vec::new();
    for (name, flag, data, mode) in [
        ("app/", b'5', &b""[..], 0o755),
        ("app/run.sh", b'0', &b"#!/bin/sh\necho hi\n"[..], 0o755),
    ] {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        let fields: [(usize, usize, u64); 5] = [
            (100, 8, mode),
            (108, 8, 0),
            (116, 8, 0),
            (124, 12, data.len() as u64),
            (136, 12, 1_700_000_000),
        ];
        for (at, len, value) in fields {
            let text = format!("{value:0w$o}\0", w = len - 1);
            h[at..at + len].copy_from_slice(text.as_bytes());
        }
        h[156] = flag;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A case whose parameters are refused would never reach its module's
    /// parser, and the fuzzer would silently cover less.
    #[test]
    fn every_probe_case_prepares() {
        let refused: Vec<String> = PROBE_CASES
            .iter()
            .filter(|(_, args)| !args.contains("fuzzed.tgz"))
            .filter_map(|(module, args)| {
                let e = prepare(module, args, b"").err()?;
                Some(format!("{module} {args}: {e}"))
            })
            .collect();
        assert!(refused.is_empty(), "{}", refused.join("\n"));
    }

    /// Every builtin module that probes a host or reads its output is
    /// among the cases.
    #[test]
    fn every_module_that_talks_to_a_host_has_a_case() {
        for name in tend_modules::names() {
            let Some(module) = tend_modules::lookup(name) else {
                continue;
            };
            if module.local() || name == "include_vars" {
                continue;
            }
            assert!(
                PROBE_CASES.iter().any(|(m, _)| *m == name),
                "no fuzz case for {name}"
            );
        }
    }
}
