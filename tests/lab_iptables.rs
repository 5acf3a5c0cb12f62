//! `iptables` and `iptables_rules` on real hosts (the lab, tests/lab), on
//! the nft-backed iptables of Debian 12. Each test follows the drift
//! timeline: apply, apply again (no change), change the firewall by hand,
//! `--check --diff` (reported, host untouched), apply (corrected). A ruleset
//! that locks SSH out is taken back by the dead-man timer on the host.
//!
//! Host use: h9 (iptables) and h10 (iptables_rules), each taken for the
//! whole test and put back to an open firewall at its start and end.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::Run;
use common::lab::{self, Dir, Lab};

/// An open filter table, no rules file, no dead-man state.
const RESET: &str = "iptables-restore <<'EOF'
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
EOF
rm -rf /etc/iptables /run/tend-iptables";

/// The lab host `n`, started if needed, taken, with an open firewall.
fn host(lab: &Lab, n: u32) -> lab::Taken {
    lab.ensure_up(n);
    let taken = lab.take(&format!("h{n}"));
    lab.ssh_ok(&format!("h{n}"), RESET);
    taken
}

fn inventory(lab: &Lab, dir: &Dir, host: &str) -> PathBuf {
    dir.write(
        "inventory",
        format!("[lab]\n{}\n", lab.host(host, host).line()),
    )
}

fn run(dir: &Dir, playbook: &str, inventory: &Path, extra: &[&str]) -> Run {
    let play = dir.write("site.yml", playbook);
    let mut args = vec![
        "run".to_string(),
        play.display().to_string(),
        "-i".into(),
        inventory.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    dir.tend(args)
}

fn changed(run: &Run, host: &str) -> u32 {
    run.assert_ok();
    run.changed(host)
}

const RULES: &str = r#"- hosts: all
  gather_facts: false
  tasks:
    - iptables: {chain: INPUT, protocol: tcp, destination_port: 8080, jump: ACCEPT, comment: tend web}
    - iptables: {chain: INPUT, protocol: tcp, destination_port: 8443, jump: ACCEPT, action: insert, rule_num: 1}
    - iptables: {chain: FORWARD, policy: DROP}
    - iptables: {chain: ALLOWLIST, chain_management: true}
    - iptables: {chain: ALLOWLIST, source: 10.0.0.0/8, jump: ACCEPT}
    - iptables: {chain: INPUT, protocol: tcp, destination_port: 9999, jump: DROP, state: absent}
"#;

const RULES_LIVE: &str = "-P INPUT ACCEPT
-P FORWARD DROP
-P OUTPUT ACCEPT
-N ALLOWLIST
-A INPUT -p tcp -m tcp --dport 8443 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 7000 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8080 -m comment --comment \"tend web\" -j ACCEPT
-A ALLOWLIST -s 10.0.0.0/8 -j ACCEPT
";

#[test]
fn iptables_module_rules_policies_and_chains_converge_and_drift_is_corrected() {
    let Some(lab) =
        lab::lab("iptables_module_rules_policies_and_chains_converge_and_drift_is_corrected")
    else {
        return;
    };
    let _h9 = host(&lab, 9);
    let dir = Dir::new("iptables");
    let inv = inventory(&lab, &dir, "h9");
    // A rule the playbook says must go, and one that must be inserted
    // before it (rule_num 1).
    lab.ssh_ok(
        "h9",
        "iptables -A INPUT -p tcp --dport 9999 -j DROP && iptables -A INPUT -p tcp --dport 7000 -j ACCEPT",
    );

    let first = run(&dir, RULES, &inv, &[]);
    assert_eq!(changed(&first, "h9"), 6, "{}", first.stdout);
    let live = lab.ssh_ok("h9", "iptables -S");
    assert_eq!(
        live, RULES_LIVE,
        "8443 inserted first, 8080 appended after the rule already there, 9999 gone"
    );

    let second = run(&dir, RULES, &inv, &[]);
    assert_eq!(changed(&second, "h9"), 0, "{}", second.stdout);
    assert_eq!(lab.ssh_ok("h9", "iptables -S"), live, "no rule twice");

    // Drift: a rule deleted and a policy changed by hand.
    lab.ssh_ok(
        "h9",
        "iptables -D INPUT -p tcp --dport 8080 -m comment --comment 'tend web' -j ACCEPT && iptables -P FORWARD ACCEPT",
    );
    let drifted = lab.ssh_ok("h9", "iptables -S");
    let check = run(&dir, RULES, &inv, &["--check", "--diff"]);
    assert_eq!(changed(&check, "h9"), 2, "{}", check.stdout);
    assert!(
        check.stdout.contains(
            "+-A INPUT -p tcp -j ACCEPT --destination-port 8080 -m comment --comment 'tend web'\n"
        ),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("-policy: ACCEPT\n+policy: DROP\n"),
        "{}",
        check.stdout
    );
    assert_eq!(
        lab.ssh_ok("h9", "iptables -S"),
        drifted,
        "--check changed nothing"
    );

    let fixed = run(&dir, RULES, &inv, &[]);
    assert_eq!(changed(&fixed, "h9"), 2, "{}", fixed.stdout);
    let back = lab.ssh_ok("h9", "iptables -S");
    assert!(back.contains("-P FORWARD DROP\n"), "{back}");
    assert!(
        back.contains("--dport 8080 -m comment --comment \"tend web\" -j ACCEPT\n"),
        "{back}"
    );
    assert_eq!(changed(&run(&dir, RULES, &inv, &[]), "h9"), 0);

    // Removing what the playbook made: the rule, then the emptied chain.
    let remove = r#"- hosts: all
  gather_facts: false
  tasks:
    - iptables: {chain: ALLOWLIST, source: 10.0.0.0/8, jump: ACCEPT, state: absent}
    - iptables: {chain: ALLOWLIST, chain_management: true, state: absent}
"#;
    assert_eq!(changed(&run(&dir, remove, &inv, &[]), "h9"), 2);
    assert!(!lab.ssh_ok("h9", "iptables -S").contains("ALLOWLIST"));
    lab.ssh_ok("h9", RESET);
}

const TABLE: &str = r#"- hosts: all
  gather_facts: false
  tasks:
    - iptables_rules:
        rules:
          - -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
          - -A INPUT -i lo -j ACCEPT
          - -A INPUT -p tcp --dport 22 -j ACCEPT
          - -A INPUT -p tcp --dport 80 -j web
          - -A web -s 10.251.0.0/24 -m comment --comment "lab only" -j ACCEPT
        policies: {INPUT: DROP}
        timeout: 5
"#;

const TABLE_SAVED: &str = "*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:web - [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j web
-A web -s 10.251.0.0/24 -m comment --comment \"lab only\" -j ACCEPT
COMMIT
";

/// `iptables-save -t filter` without comment lines and counters.
const SAVE: &str = "iptables-save -t filter | grep -v '^#' | sed 's/ \\[[0-9]*:[0-9]*\\]$/ [0:0]/'";

#[test]
fn a_whole_table_is_loaded_persisted_and_drift_is_corrected() {
    let Some(lab) = lab::lab("a_whole_table_is_loaded_persisted_and_drift_is_corrected") else {
        return;
    };
    let _h10 = host(&lab, 10);
    let dir = Dir::new("iptables-rules");
    let inv = inventory(&lab, &dir, "h10");

    let first = run(&dir, TABLE, &inv, &["--diff"]);
    assert_eq!(changed(&first, "h10"), 1, "{}", first.stdout);
    assert!(first.stdout.contains("+:INPUT DROP\n"), "{}", first.stdout);
    assert_eq!(lab.ssh_ok("h10", SAVE), TABLE_SAVED);
    assert_eq!(lab.ssh_ok("h10", "cat /etc/iptables/rules.v4"), TABLE_SAVED);
    assert_eq!(
        lab.ssh_ok(
            "h10",
            "ls -A /run/tend-iptables; systemctl list-units --all --no-legend 'tend-*'"
        ),
        "",
        "the dead-man timer was cancelled and its state removed"
    );

    let second = run(&dir, TABLE, &inv, &[]);
    assert_eq!(changed(&second, "h10"), 0, "{}", second.stdout);

    // Drift: a rule deleted by hand.
    lab.ssh_ok("h10", "iptables -D INPUT -p tcp --dport 80 -j web");
    let drifted = lab.ssh_ok("h10", SAVE);
    let check = run(&dir, TABLE, &inv, &["--check", "--diff"]);
    assert_eq!(changed(&check, "h10"), 1, "{}", check.stdout);
    assert!(
        check
            .stdout
            .contains("--- before: iptables-save -t filter\n")
            && check
                .stdout
                .contains("\n+-A INPUT -p tcp -m tcp --dport 80 -j web\n"),
        "{}",
        check.stdout
    );
    assert!(
        !check.stdout.contains("rules.v4"),
        "the file is right: {}",
        check.stdout
    );
    assert_eq!(lab.ssh_ok("h10", SAVE), drifted, "--check changed nothing");

    let fixed = run(&dir, TABLE, &inv, &[]);
    assert_eq!(changed(&fixed, "h10"), 1, "{}", fixed.stdout);
    assert_eq!(lab.ssh_ok("h10", SAVE), TABLE_SAVED);

    // Drift of the file alone: rewritten, the live rules left alone.
    lab.ssh_ok("h10", "printf '*nat\\nCOMMIT\\n' > /etc/iptables/rules.v4");
    let file = run(&dir, TABLE, &inv, &["--diff"]);
    assert_eq!(changed(&file, "h10"), 1, "{}", file.stdout);
    assert!(
        file.stdout.contains("--- before: /etc/iptables/rules.v4"),
        "{}",
        file.stdout
    );
    assert_eq!(
        lab.ssh_ok("h10", "cat /etc/iptables/rules.v4"),
        format!("*nat\nCOMMIT\n{TABLE_SAVED}"),
        "other tables in the file are kept"
    );
    assert_eq!(changed(&run(&dir, TABLE, &inv, &[]), "h10"), 0);

    // A rule iptables refuses fails the task before anything changes.
    let broken = TABLE.replace("--dport 80 -j web", "--dportx 80 -j web");
    let refused = run(&dir, &broken, &inv, &[]);
    assert_eq!(refused.failed("h10"), 1, "{}", refused.stdout);
    assert!(
        refused
            .stdout
            .contains("the declared filter ruleset does not load")
            && refused.stdout.contains("--dportx"),
        "{}",
        refused.stdout
    );
    assert_eq!(lab.ssh_ok("h10", SAVE), TABLE_SAVED);
    lab.ssh_ok("h10", RESET);
}

#[test]
fn a_ruleset_that_locks_ssh_out_is_taken_back() {
    let Some(lab) = lab::lab("a_ruleset_that_locks_ssh_out_is_taken_back") else {
        return;
    };
    let _h10 = host(&lab, 10);
    let dir = Dir::new("iptables-lockout");
    let inv = inventory(&lab, &dir, "h10");
    let good = run(&dir, TABLE, &inv, &[]);
    assert_eq!(changed(&good, "h10"), 1, "{}", good.stdout);

    let lockout = TABLE.replace("--dport 22 -j ACCEPT", "--dport 22 -j DROP");
    let started = Instant::now();
    let cut = run(&dir, &lockout, &inv, &[]);
    let took = started.elapsed();
    assert_ne!(cut.code, 0, "{}", cut.stdout);
    let [_, changes, unreachable, failed, ..] = cut.recap("h10");
    assert_eq!((changes, unreachable + failed), (0, 1), "{}", cut.stdout);
    // The confirmation's new connection got through only after the revert
    // (the kernel retries a SYN at 1, 3 and 7 s), or not within the connect
    // timeout: either way the task says the host was lost.
    assert!(
        cut.stdout.contains("the new filter ruleset was taken back")
            || cut.stdout.contains("UNREACHABLE"),
        "{}",
        cut.stdout
    );
    assert!(took < Duration::from_secs(60), "took {took:?}");

    let deadline = Instant::now() + Duration::from_secs(30);
    while lab.ssh("h10", "true").code != 0 {
        assert!(
            Instant::now() < deadline,
            "h10 is still cut off 30 s after the run"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        lab.ssh_ok("h10", SAVE),
        TABLE_SAVED,
        "the previous rules are back"
    );
    assert_eq!(
        lab.ssh_ok("h10", "cat /etc/iptables/rules.v4"),
        TABLE_SAVED,
        "the rules file never got the ruleset that cut SSH"
    );
    assert_eq!(changed(&run(&dir, TABLE, &inv, &[]), "h10"), 0);
    lab.ssh_ok("h10", RESET);
}
