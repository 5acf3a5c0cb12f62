//! Mistakes in inventories are errors that point at `file:line:col`, show
//! the line with a caret and, where it helps, say what to write instead.

use super::load_error;

#[track_caller]
fn assert_has(err: &str, parts: &[&str]) {
    for part in parts {
        assert!(err.contains(part), "expected {part:?} in:\n{err}");
    }
}

#[test]
fn a_word_that_is_not_key_value_on_a_host_line() {
    let err = load_error("hosts", "[web]\nweb1 ansible_user=deploy oops\n");
    assert_has(
        &err,
        &[
            "hosts:2:26: expected key=value after the host name, got 'oops'",
            "2 | web1",
            "^",
            "help:",
        ],
    );
    // The caret sits under the offending word.
    let caret_line = err.lines().find(|l| l.trim_end().ends_with('^')).unwrap();
    assert_eq!(
        caret_line.find('^'),
        err.lines()
            .find(|l| l.contains("| web1"))
            .unwrap()
            .find("oops")
    );
}

#[test]
fn an_unclosed_quote() {
    let err = load_error("hosts", "[web]\n  web1 msg='hello\n");
    assert_has(
        &err,
        &["hosts:2:3: cannot read this host line: no closing quotation"],
    );
}

#[test]
fn an_unknown_section_suffix() {
    let err = load_error("hosts", "[web]\nw1\n[web:var]\nx=1\n");
    assert_has(
        &err,
        &[
            "hosts:3:6: section [web:var] has unknown type 'var'",
            "[web:vars]",
        ],
    );
}

#[test]
fn a_section_header_with_spaces() {
    let err = load_error("hosts", "[web servers]\nw1\n");
    assert_has(&err, &["hosts:1:1: invalid section header [web servers]"]);
}

#[test]
fn a_vars_line_without_equals() {
    let err = load_error("hosts", "[web]\nw1\n[web:vars]\njust_a_word\n");
    assert_has(
        &err,
        &["hosts:4:1: expected key=value in [web:vars], got 'just_a_word'"],
    );
}

#[test]
fn a_group_that_is_its_own_child() {
    let err = load_error("hosts", "[web:children]\nweb\n");
    assert_has(
        &err,
        &["hosts:2:1: the group 'web' cannot be a child of itself"],
    );
}

#[test]
fn a_cycle_of_children_is_named() {
    let err = load_error(
        "hosts",
        "[a:children]\nb\n[b:children]\nc\n[c:children]\na\n",
    );
    assert_has(
        &err,
        &["hosts:6:1: making 'a' a child of 'c' creates a cycle: c -> a -> b -> c"],
    );
}

#[test]
fn a_two_group_cycle_through_a_later_declaration() {
    let err = load_error("hosts", "[a:children]\nb\n[b:children]\na\n");
    assert_has(
        &err,
        &["hosts:4:1: making 'a' a child of 'b' creates a cycle: b -> a -> b"],
    );
}

#[test]
fn a_child_group_never_declared() {
    let err = load_error("hosts", "[prod:children]\nweb\nmissing\n[web]\nw1\n");
    assert_has(
        &err,
        &[
            "hosts:3:1: section [prod:children] includes undefined group 'missing'",
            "help: declare it",
        ],
    );
}

#[test]
fn vars_for_a_group_never_declared() {
    let err = load_error("hosts", "[w]\nh\n[ghost:vars]\nx=1\n");
    assert_has(
        &err,
        &["hosts:3:1: section [ghost:vars] is for a group that is never declared"],
    );
}

#[test]
fn bad_ranges() {
    let cases = [
        ("web[1:3\n", "has a '[' without a closing ']'"),
        ("web[3:1]\n", "is empty: 3 is greater than 1"),
        ("web[1:]\n", "has no end"),
        ("web[1:2:3:4]\n", "must be [begin:end] or [begin:end:step]"),
        ("web[01:100]\n", "same number of digits"),
        ("web[1:5:0]\n", "step"),
        ("web[a:3]\n", "needs two numbers or two letters"),
        ("web[1:9999999]\n", "more than 100000 hosts"),
        ("web1:\n", "cannot end in ':'"),
        ("web1:99999\n", "out of range"),
    ];
    for (line, message) in cases {
        let err = load_error("hosts", &format!("[g]\n{line}"));
        assert_has(&err, &["hosts:2:1: ", message]);
    }
}

#[test]
fn yaml_hosts_as_a_list() {
    let err = load_error(
        "inv.yml",
        "all:\n  children:\n    web:\n      hosts:\n        - web1\n        - web2\n",
    );
    assert_has(
        &err,
        &[
            "inv.yml:5:9: the hosts of group 'web' must be a mapping of names, not a list",
            "web1:",
        ],
    );
}

#[test]
fn yaml_vars_not_a_mapping() {
    let err = load_error("inv.yml", "all:\n  vars:\n    - x\n");
    assert_has(
        &err,
        &["inv.yml:3:5: the vars of group 'all' must be a mapping of names to values, not a list"],
    );
}

#[test]
fn yaml_group_not_a_mapping_and_unknown_keys() {
    let err = load_error("inv.yml", "web: [w1, w2]\n");
    assert_has(
        &err,
        &["inv.yml:1:6: group 'web' must be a mapping with hosts, vars or children, not a list"],
    );
    let err = load_error("inv.yml", "all:\n  host:\n    w1:\n");
    assert_has(&err, &["inv.yml:2:3: unknown key 'host' in group 'all'"]);
    let err = load_error("inv.yml", "- a\n- b\n");
    assert_has(
        &err,
        &["inv.yml:1:1: a YAML inventory is a mapping of group names to groups, not a list"],
    );
}

#[test]
fn yaml_host_vars_not_a_mapping_and_bad_ranges_and_cycles() {
    let err = load_error("inv.yml", "all:\n  hosts:\n    w1: just a string\n");
    assert_has(
        &err,
        &["inv.yml:3:9: the variables of host 'w1' must be a mapping, not a string"],
    );
    let err = load_error("inv.yml", "all:\n  hosts:\n    web[3:1]:\n");
    assert_has(&err, &["inv.yml:3:5: host range [3:1] is empty"]);
    let err = load_error(
        "inv.yml",
        "a:\n  children:\n    b:\n      children:\n        a:\n",
    );
    assert_has(
        &err,
        &["inv.yml:3:5: making 'b' a child of 'a' creates a cycle: a -> b -> a"],
    );
}

#[test]
fn group_priority_must_be_an_integer() {
    let err = load_error("hosts", "[w]\nh\n[w:vars]\nansible_group_priority=high\n");
    assert_has(
        &err,
        &["hosts:4:1: ansible_group_priority of group 'w' must be an integer"],
    );
}
