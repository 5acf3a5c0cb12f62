//! The command line as a user sees it: `tend validate`, `tend graph`,
//! `tend inventory` (against what ansible-inventory prints), and `tend run`
//! with --limit, --tags/--skip-tags, --forks, --format json, -e in its three
//! forms, exit codes (plain and --detailed-exitcodes), run-time errors
//! (undefined variable, missing template) and hosts that cannot be reached.
//!
//! Exit codes and the JSON document are API (house style): these tests pin
//! them.

mod common;
mod oracle;

use std::collections::BTreeMap;
use std::process::Command;

use common::{Run, Scratch, tend};

const INVENTORY: &str = "tests/compat/inventory.ini";

fn run(args: &[&str]) -> Run {
    tend(args)
}

fn output(run: &Run) -> String {
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    )
}

// ---------------------------------------------------------------- validate

#[test]
fn validate_a_good_playbook_says_ok_and_touches_nothing() {
    let dir = Scratch::new("cli-validate");
    let base = format!("base={}/qs", dir.str());
    let out = run(&[
        "validate",
        "playbooks/quickstart.yml",
        "-i",
        "inventory.example",
        "-e",
        &base,
    ]);
    assert_eq!(out.code, 0, "{}", output(&out));
    assert_eq!(
        out.stdout,
        "playbooks/quickstart.yml: 1 play(s), 10 task(s), 1 host(s) in the inventory: OK\n",
        "{}",
        output(&out)
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "validate must not touch any host"
    );

    let site = run(&["validate", "tests/compat/site.yml", "-i", INVENTORY]);
    assert_eq!(site.code, 0, "{}", output(&site));
    assert!(
        site.stdout
            .starts_with("tests/compat/site.yml: 2 play(s), ")
            && site.stdout.ends_with(": OK\n"),
        "{}",
        output(&site)
    );
}

#[test]
fn validate_a_broken_playbook_exits_1_pointing_at_the_mistake() {
    let out = run(&[
        "validate",
        "tests/errors/unknown_module.yml",
        "-i",
        "tests/errors/inventory.ini",
    ]);
    assert_eq!(out.code, 1, "{}", output(&out));
    assert!(
        out.stderr
            .starts_with("error: tests/errors/unknown_module.yml:5:7: unknown module"),
        "{}",
        output(&out)
    );
    assert!(
        out.stderr.contains("did you mean 'lineinfile'?"),
        "{}",
        output(&out)
    );
    assert!(out.stdout.is_empty(), "{}", output(&out));
}

#[test]
fn validate_a_missing_playbook_exits_1() {
    let out = run(&[
        "validate",
        "tests/cli/no-such-playbook.yml",
        "-i",
        INVENTORY,
    ]);
    assert_eq!(out.code, 1, "{}", output(&out));
    assert!(
        out.stderr.contains("tests/cli/no-such-playbook.yml"),
        "{}",
        output(&out)
    );
}

// ------------------------------------------------------------------- graph

/// A DOT graph as tend prints it: its name, nodes with their labels, and
/// edges with their attributes.
#[derive(Debug, Default)]
struct Dot {
    name: String,
    nodes: BTreeMap<String, BTreeMap<String, String>>,
    edges: Vec<(String, String, BTreeMap<String, String>)>,
}

impl Dot {
    fn label(&self, id: &str) -> &str {
        self.nodes
            .get(id)
            .and_then(|a| a.get("label"))
            .map(String::as_str)
            .unwrap_or("")
    }

    fn node(&self, label_start: &str) -> Option<&str> {
        self.nodes
            .keys()
            .find(|id| self.label(id).starts_with(label_start))
            .map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Id(String),
    Punct(&'static str),
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    None => return Err("unterminated string".into()),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some('"') => s.push('"'),
                        Some('\\') => s.push('\\'),
                        Some(other) => {
                            s.push('\\');
                            s.push(other);
                        }
                        None => return Err("unterminated string".into()),
                    },
                    Some(ch) => s.push(ch),
                }
            }
            toks.push(Tok::Id(s));
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            let mut s = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_alphanumeric() || ch == '_' || ch == '.' {
                    s.push(ch);
                    chars.next();
                } else {
                    break;
                }
            }
            toks.push(Tok::Id(s));
        } else if c == '-' {
            chars.next();
            if chars.next() != Some('>') {
                return Err("'-' not followed by '>'".into());
            }
            toks.push(Tok::Punct("->"));
        } else {
            chars.next();
            let p = match c {
                '{' => "{",
                '}' => "}",
                '[' => "[",
                ']' => "]",
                ';' => ";",
                '=' => "=",
                ',' => ",",
                other => return Err(format!("unexpected character {other:?}")),
            };
            toks.push(Tok::Punct(p));
        }
    }
    Ok(toks)
}

/// A recursive-descent reader of DOT's statements, subgraphs included.
struct DotParser {
    toks: Vec<Tok>,
    i: usize,
}

impl DotParser {
    fn is(&self, p: &str) -> bool {
        matches!(self.toks.get(self.i), Some(Tok::Punct(q)) if *q == p)
    }

    fn expect(&mut self, p: &str) -> Result<(), String> {
        if !self.is(p) {
            return Err(format!("expected {p:?} at token {}", self.i));
        }
        self.i += 1;
        Ok(())
    }

    fn id(&mut self) -> Result<String, String> {
        match self.toks.get(self.i) {
            Some(Tok::Id(s)) => {
                self.i += 1;
                Ok(s.clone())
            }
            other => Err(format!("expected an id at token {}, got {other:?}", self.i)),
        }
    }

    fn attrs(&mut self) -> Result<BTreeMap<String, String>, String> {
        let mut m = BTreeMap::new();
        if !self.is("[") {
            return Ok(m);
        }
        self.i += 1;
        while !self.is("]") {
            let k = self.id()?;
            self.expect("=")?;
            let v = self.id()?;
            m.insert(k, v);
            if self.is(",") || self.is(";") {
                self.i += 1;
            }
        }
        self.i += 1;
        Ok(m)
    }

    /// Statements up to the closing brace, which it consumes.
    fn stmts(&mut self, g: &mut Dot) -> Result<(), String> {
        while !self.is("}") {
            if self.i >= self.toks.len() {
                return Err("unterminated graph".into());
            }
            let first = self.id()?;
            if first == "subgraph" {
                if !self.is("{") {
                    self.id()?;
                }
                self.expect("{")?;
                self.stmts(g)?;
            } else if self.is("=") {
                self.i += 1;
                self.id()?;
            } else if ["graph", "node", "edge"].contains(&first.as_str()) {
                self.attrs()?;
            } else if self.is("->") {
                let mut ends = vec![first];
                while self.is("->") {
                    self.i += 1;
                    ends.push(self.id()?);
                }
                let a = self.attrs()?;
                for pair in ends.windows(2) {
                    g.edges.push((pair[0].clone(), pair[1].clone(), a.clone()));
                }
            } else {
                let a = self.attrs()?;
                g.nodes.insert(first, a);
            }
            if self.is(";") {
                self.i += 1;
            }
        }
        self.i += 1;
        Ok(())
    }
}

/// Parses DOT strictly enough to reject what `dot` would reject: tokens,
/// `digraph NAME { ... }` blocks with attribute, node, edge and subgraph
/// statements, and every edge's ends declared as nodes.
fn parse_dot(text: &str) -> Result<Vec<Dot>, String> {
    let mut p = DotParser {
        toks: tokenize(text)?,
        i: 0,
    };
    let mut graphs = Vec::new();
    while p.i < p.toks.len() {
        if p.id()? != "digraph" {
            return Err("a graph must start with 'digraph'".into());
        }
        let mut g = Dot::default();
        if !p.is("{") {
            g.name = p.id()?;
        }
        p.expect("{")?;
        p.stmts(&mut g)?;
        for (from, to, _) in &g.edges {
            for end in [from, to] {
                if !g.nodes.contains_key(end) {
                    return Err(format!("edge end {end} is not a declared node"));
                }
            }
        }
        graphs.push(g);
    }
    Ok(graphs)
}

#[test]
fn the_dot_checker_rejects_what_dot_would_reject() {
    assert!(
        parse_dot("digraph g { a -> b; }").is_err(),
        "undeclared nodes"
    );
    assert!(
        parse_dot("digraph g { a; b; a -> b").is_err(),
        "unterminated"
    );
    assert!(parse_dot("graph g { a; }").is_err(), "not a digraph");
    assert!(
        parse_dot("digraph g { a [label=\"x]; }").is_err(),
        "open string"
    );
    let ok = parse_dot(
        "digraph \"g\" { node [shape=box]; a [label=\"x\\n(y)\"]; b; a -> b [label=\"notify\"]; }",
    )
    .expect("valid");
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].edges.len(), 1);
    let nested = parse_dot(
        "digraph g { subgraph \"cluster_0\" { label=\"p\"; a; } subgraph c1 { b; } a -> b; }",
    )
    .expect("valid");
    assert_eq!(nested[0].nodes.len(), 2);
    assert!(
        parse_dot("digraph g { subgraph c { a; }").is_err(),
        "unterminated"
    );
}

#[test]
fn graph_prints_valid_dot_with_the_tasks_and_the_notify_edge() {
    let out = run(&[
        "graph",
        "tests/cli/graph.yml",
        "-i",
        INVENTORY,
        "--host",
        "alpha",
    ]);
    assert_eq!(out.code, 0, "{}", output(&out));
    let graphs = parse_dot(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", out.stdout));
    assert_eq!(graphs.len(), 1, "{}", out.stdout);
    let g = &graphs[0];
    assert_eq!(g.name, "Graph (alpha)");
    for task in [
        "write the config",
        "read it back",
        "show it",
        "reload service",
        "audit",
    ] {
        assert!(
            g.node(task).is_some(),
            "no node for {task:?}:\n{}",
            out.stdout
        );
    }
    let write = g.node("write the config").unwrap();
    let read = g.node("read it back").unwrap();
    let show = g.node("show it").unwrap();
    let reload = g.node("reload service").unwrap();
    let has_edge = |from: &str, to: &str, label: Option<&str>| {
        g.edges.iter().any(|(f, t, a)| {
            f == from
                && t == to
                && label.is_none_or(|l| a.get("label").map(String::as_str) == Some(l))
        })
    };
    assert!(has_edge(write, read, None), "order edge:\n{}", out.stdout);
    assert!(has_edge(read, show, None), "order edge:\n{}", out.stdout);
    assert!(
        has_edge(write, reload, Some("notify")),
        "notify edge:\n{}",
        out.stdout
    );
    assert!(
        has_edge(read, show, Some("uses")),
        "register -> use edge:\n{}",
        out.stdout
    );
    dot_accepts(&out.stdout);
}

/// When Graphviz is installed, `dot -Tsvg` accepts the text too (the
/// parser above is the check that always runs).
fn dot_accepts(text: &str) {
    if !which("dot") {
        return;
    }
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("dot runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "dot rejects:\n{text}");
}

/// README: `tend graph site.yml -i inventory --host web1 | dot -Tsvg >
/// graph.svg`: a playbook of several plays is still one graph (one
/// cluster per play), or dot writes several SVG documents into one file.
#[test]
fn graph_of_a_two_play_playbook_is_one_dot_graph() {
    let out = run(&[
        "graph",
        "tests/compat/handlers.yml",
        "-i",
        INVENTORY,
        "--host",
        "alpha",
    ]);
    assert_eq!(out.code, 0, "{}", output(&out));
    let graphs = parse_dot(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", out.stdout));
    assert_eq!(graphs.len(), 1, "{}", out.stdout);
    for task in [
        "root directory",
        "the log exists only when something changed",
    ] {
        assert!(
            graphs[0].node(task).is_some(),
            "no {task:?}:\n{}",
            out.stdout
        );
    }
    dot_accepts(&out.stdout);
}

/// Notify edges go to handlers named in `notify`, to handlers that
/// `listen` to the notified topic, and to a role's own handlers.
#[test]
fn graph_has_notify_edges_for_listen_topics_and_role_handlers() {
    for (playbook, from, to) in [
        ("tests/cli/graph.yml", "show it\\n", "audit\\n"),
        (
            "tests/compat/handlers.yml",
            "proxy : proxy config\\n",
            "proxy : restart proxy\\n",
        ),
        (
            "tests/compat/handlers.yml",
            "files from a loop notify a topic\\n",
            "rebuild site index\\n",
        ),
        (
            "tests/compat/handlers.yml",
            "proxy : proxy config notifies a play handler too\\n",
            "purge cache\\n",
        ),
    ] {
        let out = run(&["graph", playbook, "-i", INVENTORY, "--host", "alpha"]);
        assert_eq!(out.code, 0, "{}", output(&out));
        let graphs = parse_dot(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", out.stdout));
        let g = &graphs[0];
        let a = g
            .node(from)
            .unwrap_or_else(|| panic!("{from}:\n{}", out.stdout));
        let b = g
            .node(to)
            .unwrap_or_else(|| panic!("{to}:\n{}", out.stdout));
        assert!(
            g.edges.iter().any(|(f, t, attrs)| f == a
                && t == b
                && attrs.get("label").map(String::as_str) == Some("notify")),
            "{playbook}: no notify edge {from} -> {to}:\n{}",
            out.stdout
        );
    }
}

#[test]
fn graph_of_an_unknown_host_is_a_usage_error() {
    let out = run(&[
        "graph",
        "tests/cli/graph.yml",
        "-i",
        INVENTORY,
        "--host",
        "nosuchhost",
    ]);
    assert_eq!(out.code, 1, "{}", output(&out));
    assert!(out.stderr.contains("nosuchhost"), "{}", output(&out));
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
}

// --------------------------------------------------------------- inventory

fn ansible_inventory(args: &[&str]) -> String {
    oracle::ansible_playbook(); // installs ansible-core when missing
    let bin = common::root().join("tests/compat/.venv/bin/ansible-inventory");
    let out = Command::new(bin)
        .args(args)
        .current_dir(common::root())
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "false")
        .output()
        .expect("ansible-inventory runs");
    assert!(
        out.status.success(),
        "ansible-inventory {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const INVENTORIES: &[&str] = &[
    "tests/compat/inventory.ini",
    "tests/compat/fleet.ini",
    "tests/compat/precedence.ini",
    "tests/cli/inventory.yml",
];

#[test]
fn inventory_graph_is_what_ansible_inventory_prints() {
    for inv in INVENTORIES {
        let ours = run(&["inventory", "-i", inv, "--graph"]);
        assert_eq!(ours.code, 0, "{inv}: {}", output(&ours));
        let theirs = ansible_inventory(&["-i", inv, "--graph"]);
        assert_eq!(ours.stdout, theirs, "{inv}: --graph (left: tend)");
    }
}

#[test]
fn inventory_list_is_what_ansible_inventory_prints() {
    for inv in INVENTORIES {
        let ours = run(&["inventory", "-i", inv, "--list"]);
        assert_eq!(ours.code, 0, "{inv}: {}", output(&ours));
        let ours: serde_json::Value = serde_json::from_str(&ours.stdout).expect("JSON");
        let mut theirs: serde_json::Value =
            serde_json::from_str(&ansible_inventory(&["-i", inv, "--list"])).expect("JSON");
        // ansible-core 2.19 names its variable-loading profile; not inventory data.
        theirs["_meta"]
            .as_object_mut()
            .expect("_meta")
            .remove("profile");
        assert_eq!(ours, theirs, "{inv}: --list (left: tend)");
    }
}

#[test]
fn inventory_host_is_what_ansible_inventory_prints() {
    for (inv, host) in [
        ("tests/compat/inventory.ini", "alpha"),
        ("tests/compat/inventory.ini", "beta"),
        ("tests/compat/precedence.ini", "alpha"),
        ("tests/cli/inventory.yml", "web01"),
        ("tests/cli/inventory.yml", "lonely"),
    ] {
        let ours = run(&["inventory", "-i", inv, "--host", host]);
        assert_eq!(ours.code, 0, "{inv} {host}: {}", output(&ours));
        let ours: serde_json::Value = serde_json::from_str(&ours.stdout).expect("JSON");
        let theirs: serde_json::Value =
            serde_json::from_str(&ansible_inventory(&["-i", inv, "--host", host])).expect("JSON");
        assert_eq!(ours, theirs, "{inv} --host {host} (left: tend)");
    }
}

// --------------------------------------------------------------------- run

fn recap_hosts(run: &Run) -> Vec<String> {
    let recap = run.stdout.split("PLAY RECAP").nth(1).unwrap_or("");
    let mut hosts: Vec<String> = recap
        .lines()
        .filter(|l| l.contains(" : ok="))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    hosts.sort();
    hosts
}

#[test]
fn limit_selects_hosts_by_name_group_and_pattern() {
    for (limit, want) in [
        ("beta", &["beta"][..]),
        ("alpha,beta", &["alpha", "beta"]),
        ("db", &["alpha"]),
        ("app:!db", &["beta"]),
        ("app:&db", &["alpha"]),
        ("b*", &["beta"]),
    ] {
        let out = run(&[
            "run",
            "tests/cli/exitcodes.yml",
            "-i",
            INVENTORY,
            "--limit",
            limit,
        ]);
        assert_eq!(out.code, 0, "--limit {limit}: {}", output(&out));
        assert_eq!(recap_hosts(&out), want, "--limit {limit}: {}", out.stdout);
    }
}

/// ansible-playbook: "Specified inventory, host pattern and/or --limit
/// leaves us with no hosts to target.", exit 1; a typo in a cron job's
/// --limit must not pass for a quiet success.
#[test]
fn a_limit_that_matches_no_host_is_an_error() {
    let out = run(&[
        "run",
        "tests/cli/exitcodes.yml",
        "-i",
        INVENTORY,
        "--limit",
        "nosuchhost",
    ]);
    assert_eq!(out.code, 1, "{}", output(&out));
    assert!(out.stderr.contains("nosuchhost"), "{}", output(&out));
    assert!(!out.stdout.contains("PLAY ["), "{}", output(&out));
}

fn tasks_run(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("TASK ["))
        .filter_map(|l| l.split_once(']').map(|(name, _)| name.to_string()))
        .collect()
}

#[test]
fn tags_and_skip_tags_choose_the_tasks() {
    let dir = Scratch::new("cli-tags");
    let base = format!("base={}", dir.str());
    let tagged = run(&[
        "run",
        "tests/compat/roles_tags.yml",
        "-i",
        INVENTORY,
        "-e",
        &base,
        "--tags",
        "deploy",
    ]);
    assert_eq!(tagged.code, 0, "{}", output(&tagged));
    assert_eq!(
        tasks_run(&tagged),
        [
            "host directory",
            "deployment steps, tagged when applied",
            "deploy step one",
            "deploy step two",
            "always runs",
        ],
        "{}",
        tagged.stdout
    );

    let skipped = run(&[
        "run",
        "tests/compat/roles_tags.yml",
        "-i",
        INVENTORY,
        "-e",
        &base,
        "--skip-tags",
        "config,deploy,block_tag",
        "--skip-tags",
        "second_play",
    ]);
    assert_eq!(skipped.code, 0, "{}", output(&skipped));
    assert_eq!(
        tasks_run(&skipped),
        [
            "host directory",
            "base : base motd",
            "app_server : app directory",
            "app_server : app config",
            "app_server : app unit, tagged unit",
            "untagged task",
            "always runs"
        ],
        "{}",
        skipped.stdout
    );
}

#[test]
fn forks_1_gives_the_same_result_as_all_at_once() {
    let a = Scratch::new("cli-forks-1");
    let b = Scratch::new("cli-forks-all");
    let one = run(&[
        "run",
        "tests/compat/handlers.yml",
        "-i",
        INVENTORY,
        "-e",
        &format!("base={}", a.str()),
        "--forks",
        "1",
    ]);
    let all = run(&[
        "run",
        "tests/compat/handlers.yml",
        "-i",
        INVENTORY,
        "-e",
        &format!("base={}", b.str()),
    ]);
    assert_eq!(one.code, all.code, "{}\n{}", output(&one), output(&all));
    for host in ["alpha", "beta"] {
        assert_eq!(one.recap(host), all.recap(host), "{}", one.stdout);
    }
    assert_eq!(
        oracle::redacted_tree(a.path()),
        oracle::redacted_tree(b.path())
    );
}

#[test]
fn json_format_is_one_document_in_ansibles_json_callback_shape() {
    for (extra, code) in [(&[][..], 0), (&["-e", "fail=true"][..], 2)] {
        let mut args = vec![
            "run",
            "tests/cli/exitcodes.yml",
            "-i",
            INVENTORY,
            "--format",
            "json",
            "-e",
            "change=true",
        ];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert_eq!(out.code, code, "{}", output(&out));
        let doc: serde_json::Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", out.stdout));
        let keys: Vec<&str> = doc
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        for key in ["custom_stats", "global_custom_stats", "plays", "stats"] {
            assert!(keys.contains(&key), "no {key} in {keys:?}");
        }
        let play = &doc["plays"][0];
        assert_eq!(play["play"]["name"], "Exit codes");
        let tasks = play["tasks"].as_array().expect("tasks");
        assert_eq!(tasks.len(), 3, "{}", out.stdout);
        assert_eq!(tasks[0]["task"]["name"], "maybe a change");
        for host in ["alpha", "beta"] {
            let result = &tasks[0]["hosts"][host];
            assert_eq!(result["changed"], true, "{result}");
            assert_eq!(result["rc"], 0, "{result}");
            let stats = &doc["stats"][host];
            for key in [
                "ok",
                "changed",
                "unreachable",
                "failed",
                "skipped",
                "rescued",
                "ignored",
            ] {
                assert!(stats[key].is_u64(), "stats.{host}.{key} in {stats}");
            }
        }
        if code == 2 {
            assert_eq!(tasks[1]["hosts"]["beta"]["failed"], true);
            assert_eq!(tasks[1]["hosts"]["beta"]["msg"], "asked to fail");
            assert_eq!(tasks[1]["hosts"]["alpha"]["skipped"], true);
            assert_eq!(doc["stats"]["beta"]["failed"], 1);
        }
    }
}

#[test]
fn exit_codes_plain_and_detailed() {
    for (extra, plain, detailed) in [
        (&[][..], 0, 0),
        (&["-e", "change=true"][..], 0, 2),
        (&["-e", "fail=true"][..], 2, 4),
        (&["-e", "change=true", "-e", "fail=true"][..], 2, 6),
    ] {
        let mut args = vec!["run", "tests/cli/exitcodes.yml", "-i", INVENTORY];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert_eq!(out.code, plain, "{extra:?}: {}", output(&out));
        args.push("--detailed-exitcodes");
        let out = run(&args);
        assert_eq!(
            out.code,
            detailed,
            "{extra:?} --detailed-exitcodes: {}",
            output(&out)
        );
    }
}

#[test]
fn detailed_exitcodes_count_would_be_changes_under_check() {
    let out = run(&[
        "run",
        "tests/cli/exitcodes.yml",
        "-i",
        INVENTORY,
        "--check",
        "--detailed-exitcodes",
        "-e",
        "change=true",
    ]);
    // A command is skipped under --check, so nothing would change.
    assert_eq!(out.code, 0, "{}", output(&out));
    let dir = Scratch::new("cli-check-exit");
    let out = run(&[
        "run",
        "tests/compat/check_mode.yml",
        "-i",
        INVENTORY,
        "-e",
        &format!("base={}", dir.str()),
        "--check",
        "--detailed-exitcodes",
        "--limit",
        "alpha",
    ]);
    // On an empty directory, the first tasks would change things.
    assert!(out.code == 2 || out.code == 6, "{}", output(&out));
}

#[test]
fn extra_vars_from_a_file_from_json_and_key_value_keep_their_types() {
    let out = run(&[
        "run",
        "tests/cli/extra_vars.yml",
        "-i",
        INVENTORY,
        "-e",
        "@tests/cli/extra_vars_file.yml",
        "-e",
        r#"{"as_json": 1, "nested": {"deep": {"value": true}}}"#,
        "-e",
        "as_text=1",
        "-e",
        r#"{"app_port": 7000}"#,
    ]);
    assert_eq!(out.code, 0, "{}", output(&out));
    assert_eq!(out.recap("alpha"), [1, 0, 0, 0, 0, 0, 0], "{}", out.stdout);
}

#[test]
fn extra_vars_file_that_does_not_exist_exits_1() {
    let out = run(&[
        "run",
        "tests/cli/extra_vars.yml",
        "-i",
        INVENTORY,
        "-e",
        "@tests/cli/no-such-vars.yml",
    ]);
    assert_eq!(out.code, 1, "{}", output(&out));
    assert!(out.stderr.contains("no-such-vars.yml"), "{}", output(&out));
}

#[test]
fn undefined_variable_names_the_variable_the_task_and_the_host() {
    let out = run(&["run", "tests/cli/undefined.yml", "-i", INVENTORY]);
    assert_eq!(out.code, 2, "{}", output(&out));
    for host in ["alpha", "beta"] {
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("fatal: [{host}]: FAILED!")))
            .unwrap_or_else(|| panic!("no failure for {host}:\n{}", out.stdout));
        assert!(line.contains("'release_version' is undefined"), "{line}");
        assert!(line.contains("tests/cli/undefined.yml:17:9"), "{line}");
        assert!(line.contains("uses an undefined variable"), "{line}");
        assert_eq!(out.recap(host), [2, 0, 0, 1, 0, 0, 0], "{}", out.stdout);
    }
}

/// In `when` and `loop` too, the message names the variable and points at
/// the task (as ansible-playbook's "Origin:" does).
#[test]
fn undefined_variable_in_when_or_loop_names_the_task_location() {
    let out = run(&["run", "tests/cli/undefined_when.yml", "-i", INVENTORY]);
    assert_eq!(out.code, 0, "{}", output(&out));
    let fatal: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("fatal: [alpha]: FAILED!"))
        .collect();
    assert_eq!(fatal.len(), 2, "{}", out.stdout);
    assert!(
        fatal[0].contains("'deploy_enabled' is undefined"),
        "{}",
        fatal[0]
    );
    assert!(
        fatal[0].contains("tests/cli/undefined_when.yml:7:7"),
        "{}",
        fatal[0]
    );
    assert!(
        fatal[1].contains("'release_hosts' is undefined"),
        "{}",
        fatal[1]
    );
    assert!(
        fatal[1].contains("tests/cli/undefined_when.yml:13:7"),
        "{}",
        fatal[1]
    );
    assert_eq!(out.recap("alpha")[6], 2, "{}", out.stdout);
}

#[test]
fn missing_template_names_the_file_and_where_it_was_looked_for() {
    let dir = Scratch::new("cli-missing-template");
    let out = run(&[
        "run",
        "tests/cli/missing_template.yml",
        "-i",
        INVENTORY,
        "-e",
        &format!("base={}", dir.str()),
    ]);
    assert_eq!(out.code, 2, "{}", output(&out));
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("fatal: [alpha]: FAILED!"))
        .unwrap_or_else(|| panic!("no failure:\n{}", out.stdout));
    assert!(
        line.contains("tests/cli/missing_template.yml:8:9"),
        "{line}"
    );
    assert!(line.contains("no-such-template.j2"), "{line}");
    assert!(
        line.contains("tests/cli/templates/no-such-template.j2"),
        "{line}"
    );
    assert!(!dir.path().join("out.conf").exists());
}

#[test]
fn an_unreachable_host_ends_unreachable_while_the_others_finish() {
    let out = run(&[
        "run",
        "tests/cli/exitcodes.yml",
        "-i",
        "tests/cli/unreachable.ini",
    ]);
    assert_eq!(out.code, 4, "{}", output(&out));
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("fatal: [ghost]: UNREACHABLE!") && l.contains("127.0.0.1")),
        "{}",
        out.stdout
    );
    assert_eq!(out.recap("ghost"), [0, 0, 1, 0, 0, 0, 0], "{}", out.stdout);
    for host in ["alpha", "beta"] {
        assert_eq!(out.recap(host), [2, 0, 0, 0, 1, 0, 0], "{}", out.stdout);
    }
    assert!(
        out.stdout
            .contains("ok: [beta] => {\n    \"msg\": \"beta goes on\"")
    );

    let detailed = run(&[
        "run",
        "tests/cli/exitcodes.yml",
        "-i",
        "tests/cli/unreachable.ini",
        "-e",
        "change=true",
        "--detailed-exitcodes",
    ]);
    assert_eq!(detailed.code, 6, "{}", output(&detailed));
}

#[test]
fn an_unsupported_connection_is_unreachable_and_says_why() {
    let out = run(&[
        "run",
        "tests/cli/exitcodes.yml",
        "-i",
        "tests/cli/unsupported.ini",
    ]);
    assert_eq!(out.code, 4, "{}", output(&out));
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("fatal: [win]: UNREACHABLE!") && l.contains("'winrm'")),
        "{}",
        out.stdout
    );
    assert_eq!(out.recap("win"), [0, 0, 1, 0, 0, 0, 0], "{}", out.stdout);
    assert_eq!(out.recap("alpha"), [2, 0, 0, 0, 1, 0, 0], "{}", out.stdout);
}

/// README: "Under --check, a task that fails because an earlier task's
/// change did not happen is reported as 'would change; depends on …', not
/// as a failure": here a `check_mode: false` command reading the file the
/// previous task would write (Ansible fails it: `cat: No such file`).
#[test]
fn check_mode_reports_a_command_that_depends_on_a_skipped_change() {
    let dir = Scratch::new("known-check-depends");
    let out = run(&[
        "run",
        "tests/compat/check_depends.yml",
        "-i",
        INVENTORY,
        "-e",
        &format!("base={}", dir.str()),
        "--check",
    ]);
    assert!(
        out.stdout
            .contains("would change; depends on 'the release file'"),
        "{}",
        output(&out)
    );
    assert_eq!(out.failed("alpha"), 0, "{}", output(&out));
    assert_eq!(out.code, 0, "{}", output(&out));
    assert!(!dir.path().join("release").exists());
}

#[test]
fn usage_errors_exit_1_and_drift_options_need_drift() {
    let unknown = run(&["run", "tests/compat/site.yml", "--bogus"]);
    assert_eq!(unknown.code, 1, "{}", output(&unknown));
    assert!(unknown.stderr.contains("unexpected argument '--bogus'"));
    let splay = run(&["run", "tests/compat/site.yml", "-i", "x,", "--splay", "5"]);
    assert_eq!(splay.code, 1, "{}", output(&splay));
    assert!(splay.stderr.contains("--drift"), "{}", output(&splay));
    let help = run(&["run", "--help"]);
    assert_eq!(help.code, 0, "{}", output(&help));
    assert!(help.stdout.contains("--drift"));
}
