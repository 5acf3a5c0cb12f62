//! Fixture tests of the `iptables` module: parameters and probe output in,
//! plan, steps, diff and result out. The rule fixtures were printed by
//! Ansible's own `construct_rule` (ansible-core 2.19).

use super::*;
use serde_json::json;

fn task(params: Value) -> Result<Iptables, ParamError> {
    let args = Args::check(PARAMS, params.as_object().unwrap(), false)?;
    Iptables::new(&args)
}

/// Probe output: `iptables -S` printing `list`, and `-C` exiting `check`.
fn probe(list: &str, check: Option<(i32, &str)>) -> Observed {
    let mut out = netfilter::section_text("list", 0, list);
    if let Some((rc, text)) = check {
        out.push_str(&netfilter::section_text("check", rc, text));
    }
    Observed {
        rc: 0,
        stdout: out.into_bytes(),
        stderr: Vec::new(),
    }
}

const DEFAULT: &str = "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n";

fn plan(params: Value, observed: Observed) -> Result<Plan, TaskError> {
    task(params).unwrap().plan(Some(&observed))
}

fn scripts(plan: &Plan) -> Vec<&str> {
    plan.steps.iter().map(|s| s.script.as_str()).collect()
}

const HTTP: fn() -> Value =
    || json!({"chain": "INPUT", "protocol": "tcp", "destination_port": 80, "jump": "ACCEPT"});

#[test]
fn rules_are_built_as_ansible_builds_them() {
    let cases: &[(&str, &[&str])] = &[
        (
            r#"{"chain":"INPUT","protocol":"tcp","destination_port":"80","jump":"ACCEPT"}"#,
            &["-p", "tcp", "-j", "ACCEPT", "--destination-port", "80"],
        ),
        (
            r#"{"table":"nat","chain":"PREROUTING","in_interface":"eth0","protocol":"tcp","match":["tcp"],"destination_port":"80","jump":"REDIRECT","to_ports":"8600","comment":"Redirect web traffic to port 8600"}"#,
            &[
                "-p",
                "tcp",
                "-m",
                "tcp",
                "-j",
                "REDIRECT",
                "-i",
                "eth0",
                "--destination-port",
                "80",
                "--to-ports",
                "8600",
                "-m",
                "comment",
                "--comment",
                "Redirect web traffic to port 8600",
            ],
        ),
        (
            r#"{"chain":"INPUT","ctstate":["ESTABLISHED","RELATED"],"jump":"ACCEPT"}"#,
            &[
                "-j",
                "ACCEPT",
                "-m",
                "conntrack",
                "--ctstate",
                "ESTABLISHED,RELATED",
            ],
        ),
        (
            r#"{"chain":"INPUT","protocol":"tcp","destination_port":"22","ctstate":["NEW"],"syn":"match","jump":"ACCEPT","comment":"Accept new SSH connections."}"#,
            &[
                "-p",
                "tcp",
                "-j",
                "ACCEPT",
                "--destination-port",
                "22",
                "--syn",
                "-m",
                "conntrack",
                "--ctstate",
                "NEW",
                "-m",
                "comment",
                "--comment",
                "Accept new SSH connections.",
            ],
        ),
        (
            r#"{"chain":"FORWARD","src_range":"192.168.1.100-192.168.1.199","dst_range":"10.0.0.1-10.0.0.50","jump":"ACCEPT"}"#,
            &[
                "-j",
                "ACCEPT",
                "-m",
                "iprange",
                "--src-range",
                "192.168.1.100-192.168.1.199",
                "--dst-range",
                "10.0.0.1-10.0.0.50",
            ],
        ),
        (
            r#"{"chain":"OUTPUT","jump":"DSCP","table":"mangle","set_dscp_mark":"8","protocol":"tcp"}"#,
            &["-p", "tcp", "-j", "DSCP", "--set-dscp", "8"],
        ),
        (
            r#"{"chain":"INPUT","protocol":"tcp","reject_with":"tcp-reset"}"#,
            &["-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"],
        ),
        (
            r#"{"chain":"OUTPUT","jump":"DROP","protocol":"tcp","tcp_flags":{"flags":["ALL"],"flags_set":["ACK","RST","SYN","FIN"]}}"#,
            &[
                "-p",
                "tcp",
                "--tcp-flags",
                "ALL",
                "ACK,RST,SYN,FIN",
                "-j",
                "DROP",
            ],
        ),
        (
            r#"{"chain":"LOGGING","limit":"2/second","limit_burst":"20","log_prefix":"IPTABLES:INFO: ","log_level":"info"}"#,
            &[
                "-j",
                "LOG",
                "--log-prefix",
                "IPTABLES:INFO: ",
                "--log-level",
                "info",
                "-m",
                "limit",
                "--limit",
                "2/second",
                "--limit-burst",
                "20",
            ],
        ),
        (
            r#"{"chain":"INPUT","source":"!10.0.0.0/8","protocol":"tcp","destination_ports":["80","443","8081:8083"],"match":["state"],"ctstate":["NEW"],"jump":"ACCEPT","uid_owner":"!1000","gid_owner":"match","icmp_type":"echo-request","in_interface":"!eth1","out_interface":"lo","goto":"x","to_source":"1.2.3.4","to_destination":"5.6.7.8","source_port":"1024:","fragment":"!","match_set":"admins","match_set_flags":"src"}"#,
            &[
                "-p",
                "tcp",
                "!",
                "-s",
                "10.0.0.0/8",
                "-m",
                "state",
                "-j",
                "ACCEPT",
                "--to-destination",
                "5.6.7.8",
                "-m",
                "multiport",
                "--dports",
                "80,443,8081:8083",
                "--to-source",
                "1.2.3.4",
                "-g",
                "x",
                "!",
                "-i",
                "eth1",
                "-o",
                "lo",
                "!",
                "-f",
                "",
                "--source-port",
                "1024:",
                "--state",
                "NEW",
                "-m",
                "set",
                "--match-set",
                "admins",
                "src",
                "-m",
                "owner",
                "!",
                "--uid-owner",
                "1000",
                "-m",
                "owner",
                "--gid-owner",
                "--gid-owner",
                "match",
                "--icmp-type",
                "echo-request",
            ],
        ),
        (
            r#"{"chain":"INPUT","ip_version":"ipv6","protocol":"ipv6-icmp","icmp_type":"128","syn":"negate","jump":"TEE","gateway":"fe80::1","match":["conntrack","iprange"],"ctstate":["NEW"],"src_range":"a-b"}"#,
            &[
                "-p",
                "ipv6-icmp",
                "-m",
                "conntrack",
                "-m",
                "iprange",
                "-j",
                "TEE",
                "--gateway",
                "fe80::1",
                "!",
                "--syn",
                "--ctstate",
                "NEW",
                "--src-range",
                "a-b",
                "--icmpv6-type",
                "128",
            ],
        ),
    ];
    for (params, want) in cases {
        let params: Value = serde_json::from_str(params).unwrap();
        let t = task(params.clone()).unwrap_or_else(|e| panic!("{params}: {e}"));
        assert_eq!(t.rule, *want, "{params}");
    }
}

#[test]
fn an_absent_rule_is_appended() {
    let t = task(HTTP()).unwrap();
    let probe_script = t.probe().unwrap();
    assert!(
        probe_script.contains("__tend_listing_iptables_filter=$(iptables -t filter -S);"),
        "{probe_script}"
    );
    assert!(
        probe_script.contains("o=$(iptables -t filter -C INPUT -p tcp -j ACCEPT --destination-port 80 2>&1); tend_sec check"),
        "{probe_script}"
    );
    let p = plan(HTTP(), probe(DEFAULT, Some((1, "iptables: Bad rule")))).unwrap();
    assert!(p.changed);
    assert_eq!(
        scripts(&p),
        ["iptables -t filter -A INPUT -p tcp -j ACCEPT --destination-port 80"]
    );
    assert_eq!(
        p.diff,
        vec![Diff::new(
            "iptables -t filter INPUT",
            "",
            "-A INPUT -p tcp -j ACCEPT --destination-port 80\n"
        )]
    );
    assert_eq!(p.result["rule"], "-p tcp -j ACCEPT --destination-port 80");
    assert_eq!(p.result["state"], "present");
    assert_eq!(p.result["chain"], "INPUT");
    assert_eq!(p.result["table"], "filter");
    assert_eq!(p.result["ip_version"], "ipv4");
    assert_eq!(p.result["wait"], Value::Null);
}

#[test]
fn a_present_rule_is_left_alone_even_when_inserting() {
    let p = plan(HTTP(), probe(DEFAULT, Some((0, "")))).unwrap();
    assert!(!p.changed && p.steps.is_empty() && p.diff.is_empty());
    let mut insert = HTTP();
    insert["action"] = json!("insert");
    insert["rule_num"] = json!(2);
    assert!(!plan(insert, probe(DEFAULT, Some((0, "")))).unwrap().changed);
}

#[test]
fn insert_at_a_rule_number_and_wait() {
    let mut params = HTTP();
    params["action"] = json!("insert");
    params["rule_num"] = json!(2);
    params["wait"] = json!(5);
    params["comment"] = json!("web it's");
    let p = plan(params, probe(DEFAULT, Some((1, "")))).unwrap();
    assert_eq!(
        scripts(&p),
        [
            "iptables -t filter -I INPUT 2 -w 5 -p tcp -j ACCEPT --destination-port 80 -m comment --comment 'web it'\\''s'"
        ]
    );
}

#[test]
fn absent_removes_every_copy() {
    let mut params = HTTP();
    params["state"] = json!("absent");
    let p = plan(params.clone(), probe(DEFAULT, Some((0, "")))).unwrap();
    let rule = "-p tcp -j ACCEPT --destination-port 80";
    assert_eq!(
        scripts(&p),
        [format!(
            "while iptables -t filter -C INPUT {rule} 2>/dev/null; do iptables -t filter -D INPUT {rule} || exit 1; done"
        )]
    );
    assert_eq!(p.diff[0].before, format!("-A INPUT {rule}\n"));
    assert_eq!(p.diff[0].after, "");
    assert!(!plan(params, probe(DEFAULT, Some((1, "")))).unwrap().changed);
}

#[test]
fn a_failing_check_is_an_error_with_its_message() {
    let mut params = HTTP();
    params["jump"] = json!("NOPE");
    let e = plan(
        params,
        probe(
            DEFAULT,
            Some((
                2,
                "iptables v1.8.9 (nf_tables): Chain 'NOPE' does not exist",
            )),
        ),
    )
    .unwrap_err();
    assert!(e.msg.contains("iptables -C failed (exit code 2)"), "{e}");
    assert!(e.msg.contains("Chain 'NOPE' does not exist"), "{e}");
    assert_eq!(e.result["rule"], "-p tcp -j NOPE --destination-port 80");
}

#[test]
fn a_rule_for_a_missing_chain() {
    let params = json!({"chain": "web", "jump": "ACCEPT", "protocol": "tcp"});
    let e = plan(params.clone(), probe(DEFAULT, Some((1, "")))).unwrap_err();
    assert!(
        e.msg.contains(
            "chain web does not exist in table filter (chain_management: true creates it)"
        ),
        "{e}"
    );
    let mut managed = params;
    managed["chain_management"] = json!(true);
    let p = plan(managed.clone(), probe(DEFAULT, Some((1, "")))).unwrap();
    assert_eq!(
        scripts(&p),
        [
            "iptables -t filter -N web",
            "iptables -t filter -A web -p tcp -j ACCEPT"
        ]
    );
    let listed = format!("{DEFAULT}-N web\n");
    let p = plan(managed, probe(&listed, Some((1, "")))).unwrap();
    assert_eq!(scripts(&p), ["iptables -t filter -A web -p tcp -j ACCEPT"]);
}

#[test]
fn policy_changes_only_when_it_differs() {
    let params = json!({"chain": "INPUT", "policy": "DROP"});
    let t = task(params.clone()).unwrap();
    assert!(!t.probe().unwrap().contains(" -C "), "no rule to check");
    let p = plan(params.clone(), probe(DEFAULT, None)).unwrap();
    assert_eq!(scripts(&p), ["iptables -t filter -P INPUT DROP"]);
    assert_eq!(
        p.diff,
        vec![Diff::new(
            "iptables -t filter INPUT",
            "policy: ACCEPT\n",
            "policy: DROP\n"
        )]
    );
    let dropped = DEFAULT.replace("INPUT ACCEPT", "INPUT DROP");
    assert!(!plan(params, probe(&dropped, None)).unwrap().changed);
    let v6 = json!({"chain": "FORWARD", "policy": "DROP", "ip_version": "ipv6", "wait": "3"});
    let p = plan(v6, probe(DEFAULT, None)).unwrap();
    assert_eq!(scripts(&p), ["ip6tables -t filter -P FORWARD -w 3 DROP"]);
    assert!(
        task(json!({"chain": "INPUT", "policy": "DROP", "wait": 3}))
            .unwrap()
            .probe()
            .unwrap()
            .contains("iptables -t filter -w 3 -S")
    );
}

#[test]
fn policy_of_a_user_or_missing_chain_is_an_error() {
    let listed = format!("{DEFAULT}-N web\n");
    let e = plan(
        json!({"chain": "web", "policy": "DROP"}),
        probe(&listed, None),
    )
    .unwrap_err();
    assert!(e.msg.contains("only built-in chains have a policy"), "{e}");
    let e = plan(
        json!({"chain": "nope", "policy": "DROP"}),
        probe(&listed, None),
    )
    .unwrap_err();
    assert!(
        e.msg.contains("chain nope does not exist in table filter"),
        "{e}"
    );
}

#[test]
fn flush_changes_only_when_there_are_rules() {
    let listed =
        format!("{DEFAULT}-N web\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A web -j RETURN\n");
    let p = plan(
        json!({"chain": "INPUT", "flush": true}),
        probe(&listed, None),
    )
    .unwrap();
    assert_eq!(scripts(&p), ["iptables -t filter -F INPUT"]);
    assert_eq!(
        p.diff[0].before,
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
    );
    let p = plan(
        json!({"flush": true, "table": "filter"}),
        probe(&listed, None),
    )
    .unwrap();
    assert_eq!(scripts(&p), ["iptables -t filter -F"]);
    assert_eq!(p.diff[0].before.lines().count(), 2);
    assert_eq!(p.result["chain"], Value::Null);
    assert!(
        !plan(
            json!({"chain": "OUTPUT", "flush": true}),
            probe(&listed, None)
        )
        .unwrap()
        .changed
    );
    assert!(
        plan(
            json!({"chain": "nope", "flush": true}),
            probe(&listed, None)
        )
        .is_err()
    );
}

#[test]
fn chain_management_creates_and_deletes() {
    let create = json!({"chain": "ALLOWLIST", "chain_management": true});
    let p = plan(create.clone(), probe(DEFAULT, None)).unwrap();
    assert_eq!(scripts(&p), ["iptables -t filter -N ALLOWLIST"]);
    assert_eq!(p.diff[0].before, "chain: absent\n");
    let listed = format!("{DEFAULT}-N ALLOWLIST\n");
    assert!(!plan(create, probe(&listed, None)).unwrap().changed);
    let delete = json!({"chain": "ALLOWLIST", "chain_management": true, "state": "absent"});
    let p = plan(delete.clone(), probe(&listed, None)).unwrap();
    assert_eq!(scripts(&p), ["iptables -t filter -X ALLOWLIST"]);
    assert!(!plan(delete, probe(DEFAULT, None)).unwrap().changed);
    let e = plan(json!({"chain": "ALLOWLIST"}), probe(DEFAULT, None)).unwrap_err();
    assert!(
        e.msg.contains("chain_management: true to create the chain"),
        "{e}"
    );
}

#[test]
fn parameter_errors() {
    for (params, want) in [
        (
            json!({"chain": "INPUT", "flush": true, "policy": "DROP"}),
            "mutually exclusive: flush|policy",
        ),
        (json!({"protocol": "tcp"}), "missing: chain"),
        (
            json!({"chain": "INPUT", "log_prefix": "x", "jump": "ACCEPT"}),
            "only be used with the LOG jump",
        ),
        (json!({"chain": "INPUT", "jump": "TEE"}), "missing: gateway"),
        (
            json!({"chain": "OUTPUT", "set_dscp_mark": "8"}),
            "required by 'set_dscp_mark': jump",
        ),
        (
            json!({"chain": "OUTPUT", "tcp_flags": {"flag": ["ALL"]}}),
            "unknown key 'flag'",
        ),
        (
            json!({"chain": "INPUT", "policy": "drop"}),
            "must be one of",
        ),
        (
            json!({"chain": "INPUT", "ip_version": "both"}),
            "must be one of",
        ),
    ] {
        let e = task(params.clone()).unwrap_err();
        assert!(e.message.contains(want), "{params}: {e}");
    }
}

#[test]
fn garbage_probe_output_is_an_error() {
    let t = task(HTTP()).unwrap();
    let obs = |out: &str| Observed {
        rc: 0,
        stdout: out.as_bytes().to_vec(),
        stderr: b"iptables: Permission denied (you must be root)\n".to_vec(),
    };
    for out in [
        String::new(),
        "list 0 !!!\n".into(),
        netfilter::section_text("list", 0, "-X what\n"),
        netfilter::section_text("list", 0, DEFAULT),
        format!(
            "{}check x\n|\n",
            netfilter::section_text("list", 0, DEFAULT)
        ),
        "\u{0}\u{1}".into(),
    ] {
        assert!(t.plan(Some(&obs(&out))).is_err(), "{out:?}");
    }
    let e = t
        .plan(Some(&obs(&netfilter::section_text("list", 4, ""))))
        .unwrap_err();
    assert!(
        e.msg.contains("iptables -t filter -S failed (exit code 4)"),
        "{e}"
    );
    assert!(e.msg.contains("you must be root"), "{e}");
    assert!(t.plan(None).is_err());
}

#[test]
fn rules_probed_in_one_batch_share_one_listing_of_their_table() {
    let dir = crate::content::testing::TempDir::new("iptables-listing");
    let calls = dir.0.join("calls");
    // Lists the table (or fails to, when told), counts each listing; no
    // rule is in it.
    let fake = format!(
        "#!/bin/sh\ncase \" $* \" in *' -S '*) echo S >> {calls}; [ -e {fail} ] && exit 4; echo '-P INPUT ACCEPT';; *) exit 1;; esac\n",
        calls = calls.display(),
        fail = dir.path("fail"),
    );
    std::fs::write(dir.path("iptables"), fake).unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(dir.path("iptables"))
        .status()
        .unwrap();
    let probes: Vec<String> = [
        HTTP(),
        json!({"chain": "INPUT", "in_interface": "lo", "jump": "ACCEPT"}),
    ]
    .into_iter()
    .map(|p| task(p).unwrap().probe().unwrap())
    .collect();
    assert!(probes.iter().all(|p| p.starts_with(crate::probe::INLINE)));
    // As a batch runs inline probes: one after the other in one shell.
    let batch = format!("{{\n{}\n}}\necho ==\n{{\n{}\n}}\n", probes[0], probes[1]);
    let run = || {
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&batch)
            .env("PATH", format!("{}:/usr/bin:/bin", dir.0.display()))
            .output()
            .unwrap();
        let calls = std::fs::read_to_string(&calls).unwrap_or_default();
        (
            String::from_utf8(out.stdout).unwrap(),
            calls.lines().count(),
        )
    };
    let (out, listings) = run();
    assert_eq!(listings, 1, "{out}");
    for answer in out.split("==\n") {
        let want = netfilter::section_text("list", 0, "-P INPUT ACCEPT");
        assert!(answer.starts_with(&want), "{answer:?}");
    }
    // A failed listing is not kept: each probe gets its own error.
    std::fs::write(dir.path("fail"), "").unwrap();
    std::fs::remove_file(&calls).unwrap();
    let (out, listings) = run();
    assert_eq!(listings, 2, "{out}");
    assert_eq!(out.matches("list 4\n").count(), 2, "{out}");
}
