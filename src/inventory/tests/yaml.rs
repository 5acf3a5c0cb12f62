//! YAML inventories: `all` with hosts, vars and nested children; other
//! top-level groups; ranges and ports in host names; YAML typing.

use serde_json::json;

use super::{load_text, vars};

const INVENTORY: &str = "\
all:
  hosts:
    mail.example.com:
  vars:
    ntp: ntp.example.com
  children:
    web:
      hosts:
        web[1:2]:
          http_port: 80
        web3:2222:
      vars:
        tier: front
    db:
      children:
        primary:
          hosts:
            db1:
              ansible_host: 10.0.0.5
              enabled: yes
              mode: 0644
        replica:
          hosts: db2
";

#[test]
fn groups_hosts_and_children_come_out_in_file_order() {
    let inv = load_text("inv.yml", INVENTORY);
    assert_eq!(
        inv.hosts(),
        ["mail.example.com", "web1", "web2", "web3", "db1", "db2"]
    );
    assert_eq!(
        inv.groups(),
        ["all", "ungrouped", "web", "db", "primary", "replica"]
    );
    assert_eq!(inv.group_hosts("ungrouped"), ["mail.example.com"]);
    assert_eq!(inv.group_hosts("db"), ["db1", "db2"]);
    assert_eq!(inv.group_names("db1"), ["db", "primary"]);
}

#[test]
fn variables_keep_their_yaml_types() {
    let inv = load_text("inv.yaml", INVENTORY);
    let db1 = vars(&inv, "db1");
    assert_eq!(db1["ansible_host"], json!("10.0.0.5"));
    assert_eq!(db1["enabled"], json!(true), "YAML 1.1: yes is a boolean");
    assert_eq!(db1["mode"], json!(420), "YAML 1.1: 0644 is octal");
    assert_eq!(db1["ntp"], json!("ntp.example.com"));
    let web2 = vars(&inv, "web2");
    assert_eq!(web2["http_port"], json!(80));
    assert_eq!(web2["tier"], json!("front"));
    assert_eq!(vars(&inv, "web3")["ansible_port"], json!(2222));
}

#[test]
fn top_level_groups_other_than_all_are_children_of_all() {
    let inv = load_text(
        "inv.yml",
        "web:\n  hosts:\n    w1:\n  vars:\n    x: 1\ndb:\n  hosts:\n    d1:\nempty:\n",
    );
    assert_eq!(inv.groups(), ["all", "ungrouped", "web", "db", "empty"]);
    assert_eq!(inv.group_hosts("all"), ["w1", "d1"]);
    assert_eq!(vars(&inv, "w1")["x"], json!(1));
    assert!(inv.group_hosts("empty").is_empty());
}

#[test]
fn a_group_seen_twice_merges() {
    let inv = load_text(
        "inv.yml",
        "all:\n  children:\n    web:\n      hosts:\n        w1:\n    prod:\n      children:\n        web:\n          vars:\n            env: prod\n",
    );
    assert_eq!(inv.group_names("w1"), ["prod", "web"]);
    assert_eq!(vars(&inv, "w1")["env"], json!("prod"));
}

#[test]
fn a_file_without_extension_starting_with_a_mapping_is_yaml() {
    let inv = load_text(
        "hosts",
        "# comment\nall:\n  hosts:\n    h1:\n      x: [1, 2]\n",
    );
    assert_eq!(inv.hosts(), ["h1"]);
    assert_eq!(vars(&inv, "h1")["x"], json!([1, 2]));
}

#[test]
fn json_files_are_read_as_yaml() {
    let inv = load_text(
        "inv.json",
        r#"{"all": {"hosts": {"h1": {"port": 1}}, "children": {"g": {"hosts": {"h2": null}}}}}"#,
    );
    assert_eq!(inv.hosts(), ["h1", "h2"]);
    assert_eq!(vars(&inv, "h1")["port"], json!(1));
}

#[test]
fn an_empty_yaml_file_adds_nothing() {
    let inv = load_text("empty.yml", "# nothing yet\n");
    assert!(inv.hosts().is_empty());
    assert_eq!(inv.groups(), ["all", "ungrouped"]);
}
