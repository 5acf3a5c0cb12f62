//! What `-i` accepts: files, directories, host lists, several sources, none.

use serde_json::json;

use super::{Fixture, load, strs, vars};
use crate::inventory::Inventory;

#[test]
fn no_source_gives_a_local_localhost() {
    let inv = Inventory::load(&[]).unwrap();
    assert_eq!(inv.hosts(), ["localhost"]);
    assert!(!inv.is_implicit_localhost("localhost"));
    assert_eq!(
        vars(&inv, "localhost")["ansible_connection"],
        json!("local")
    );
    assert_eq!(inv.select("all"), ["localhost"]);
}

#[test]
fn a_host_list_has_ungrouped_hosts_with_ports() {
    let inv = load(&strs(&["web1,web2:2222, 10.0.0.3 ,"]));
    assert_eq!(inv.hosts(), ["web1", "web2", "10.0.0.3"]);
    assert_eq!(inv.group_hosts("ungrouped"), ["web1", "web2", "10.0.0.3"]);
    assert_eq!(vars(&inv, "web2")["ansible_port"], json!(2222));
    assert_eq!(vars(&inv, "web1")["inventory_file"], json!(null));
    let single = load(&strs(&["localhost,"]));
    assert_eq!(single.hosts(), ["localhost"]);
}

#[test]
fn a_directory_reads_its_files_in_name_order_and_skips_what_ansible_skips() {
    let fx = Fixture::new();
    fx.write("inv/02-web.yml", "web:\n  hosts:\n    w1:\n");
    fx.write("inv/01-base", "[base]\nb1\n");
    fx.write("inv/sub/03-db", "[db]\nd1\n");
    for skipped in [
        "old.retry",
        "hosts.orig",
        "hosts~",
        ".hidden",
        "notes.md",
        "hosts.ini",
        "ansible.cfg",
    ] {
        fx.write(&format!("inv/{skipped}"), "[skipped]\nnope\n");
    }
    fx.write("inv/group_vars/all.yml", "x: 1\n");
    fx.write("inv/host_vars/w1.yml", "y: 2\n");
    let inv = load(&[fx.path("inv")]);
    assert_eq!(
        inv.hosts(),
        ["b1", "w1", "d1"],
        "01-base, 02-web.yml, then sub/ (sorted by entry name)"
    );
    assert!(!inv.has_group("skipped"));
    assert_eq!(
        vars(&inv, "w1")["x"],
        json!(1),
        "group_vars inside the directory"
    );
    assert_eq!(
        vars(&inv, "w1")["y"],
        json!(2),
        "host_vars inside the directory"
    );
}

#[test]
fn several_sources_add_up_and_later_ones_see_earlier_groups() {
    let fx = Fixture::new();
    let a = fx.write("a/hosts", "[web]\nw1 x=1\n");
    let b = fx.write(
        "b/hosts",
        "[prod:children]\nweb\n[prod:vars]\nenv=prod\n[web]\nw1 x=2\nw2\n",
    );
    let inv = load(&[a, b, "extra1,".to_string()]);
    assert_eq!(inv.hosts(), ["w1", "w2", "extra1"]);
    assert_eq!(inv.group_hosts("prod"), ["w1", "w2"]);
    assert_eq!(
        vars(&inv, "w1")["x"],
        json!(2),
        "a later source redefines the variable"
    );
    assert_eq!(vars(&inv, "w2")["env"], json!("prod"));
}

#[test]
fn a_missing_source_without_a_comma_is_an_error() {
    let err = Inventory::load(&strs(&["/no/such/inventory"]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/no/such/inventory") && err.contains("not found"),
        "{err}"
    );
}

#[test]
fn a_dynamic_inventory_script_is_refused_with_a_reason() {
    let fx = Fixture::new();
    let path = fx.write("inv.py", "#!/usr/bin/env python3\nprint('{}')\n");
    let err = Inventory::load(&[path]).unwrap_err().to_string();
    assert!(err.contains("dynamic inventory script"), "{err}");
}

#[test]
fn yaml_detection_does_not_mistake_ini_lines() {
    use crate::inventory::source::looks_like_yaml;
    assert!(looks_like_yaml("all:\n  hosts:\n"));
    assert!(looks_like_yaml("---\nweb:\n"));
    assert!(looks_like_yaml("# c\nweb: {hosts: {a: }}\n"));
    assert!(!looks_like_yaml("web1:2222\n"));
    assert!(!looks_like_yaml("web1 ansible_host=a:b\n"));
    assert!(!looks_like_yaml("[web]\nw1\n"));
    assert!(!looks_like_yaml("w1\n"));
    assert!(!looks_like_yaml(""));
}
