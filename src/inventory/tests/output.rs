//! `ansible-inventory --list` and `--graph` shapes, and the `groups` map.

use serde_json::json;

use super::{Fixture, load, load_text};

const INI: &str = "\
bastion ansible_host=10.0.0.1
[web]
web2 http_port=80
web1
[db]
db1
[prod:children]
web
[empty]
[prod:vars]
env=prod
ansible_group_priority=5
";

#[test]
fn list_json_has_groups_children_and_merged_hostvars() {
    let fx = Fixture::new();
    let path = fx.write("hosts", INI);
    fx.write("group_vars/db.yml", "port: 5432\n");
    let inv = load(&[path]);
    let expected = json!({
        "_meta": {"hostvars": {
            "bastion": {"ansible_host": "10.0.0.1"},
            "db1": {"port": 5432},
            "web1": {"env": "prod"},
            "web2": {"env": "prod", "http_port": 80}
        }},
        "all": {"children": ["ungrouped", "db", "prod", "empty"]},
        "db": {"hosts": ["db1"]},
        "prod": {"children": ["web"]},
        "ungrouped": {"hosts": ["bastion"]},
        "web": {"hosts": ["web2", "web1"]}
    });
    assert_eq!(inv.to_list_json(), expected);
    let text = serde_json::to_string(&inv.to_list_json()).unwrap();
    assert!(
        text.starts_with("{\"_meta\""),
        "keys are sorted like sort_keys=True: {text}"
    );
}

#[test]
fn list_json_export_shows_group_vars_and_unmerged_host_vars() {
    let fx = Fixture::new();
    let path = fx.write("hosts", INI);
    fx.write("group_vars/db.yml", "port: 5432\n");
    let inv = load(&[path]);
    let export = inv.to_list_json_export();
    assert_eq!(
        export["prod"]["vars"],
        json!({"ansible_group_priority": 5, "env": "prod"})
    );
    assert_eq!(export["db"]["vars"], json!({"port": 5432}));
    assert_eq!(
        export["_meta"]["hostvars"]["web2"],
        json!({"http_port": 80})
    );
    assert!(export["_meta"]["hostvars"].get("web1").is_none());
}

#[test]
fn graph_lists_children_then_direct_hosts_in_definition_order() {
    let inv = load_text("hosts", INI);
    let expected = "\
@all:
  |--@ungrouped:
  |  |--bastion
  |--@db:
  |  |--db1
  |--@prod:
  |  |--@web:
  |  |  |--web2
  |  |  |--web1
  |--@empty:
";
    assert_eq!(inv.to_graph(), expected);
}

#[test]
fn graph_shows_an_empty_ungrouped() {
    let inv = load_text("hosts", "[web]\nw1\n");
    assert_eq!(
        inv.to_graph(),
        "@all:\n  |--@ungrouped:\n  |--@web:\n  |  |--w1\n"
    );
    assert_eq!(
        inv.to_list_json()["all"],
        json!({"children": ["ungrouped", "web"]})
    );
    assert!(inv.to_list_json().get("ungrouped").is_none());
}

#[test]
fn groups_dict_is_the_groups_magic_variable() {
    let inv = load_text("hosts", INI);
    let groups = serde_json::Value::Object(inv.groups_dict());
    assert_eq!(groups["all"], json!(["bastion", "web2", "web1", "db1"]));
    assert_eq!(groups["prod"], json!(["web2", "web1"]));
    assert_eq!(groups["empty"], json!([]));
    assert_eq!(groups["ungrouped"], json!(["bastion"]));
}

#[test]
fn host_json_is_ansible_inventory_host() {
    let inv = load_text("hosts", INI);
    assert_eq!(
        inv.host_json("web2").unwrap(),
        json!({"env": "prod", "http_port": 80})
    );
    assert!(inv.host_json("nope").is_err());
}
