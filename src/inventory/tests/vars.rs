//! Variable precedence: inline `all` < parent < child < host; then
//! `group_vars/` and `host_vars/` files beside the inventory and beside the
//! playbook, in Ansible's order.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{Fixture, load, load_text, vars};
use crate::inventory::Inventory;

const LAYERED: &str = "\
[web]
w1 level=host
w2
[prod:children]
web
[all:vars]
level=all
from_all=1
[prod:vars]
level=parent
from_parent=1
[web:vars]
level=child
";

#[test]
fn all_then_parent_then_child_then_host() {
    let inv = load_text("hosts", LAYERED);
    let w1 = vars(&inv, "w1");
    assert_eq!(w1["level"], json!("host"));
    assert_eq!(w1["from_all"], json!(1));
    assert_eq!(w1["from_parent"], json!(1));
    assert_eq!(vars(&inv, "w2")["level"], json!("child"));
}

#[test]
fn depth_is_the_longest_path_from_all() {
    // g is at depth 2 through p1 and at depth 3 through p3 -> p2: it counts
    // as 3, deeper than zz (2), so it wins although zz sorts after it.
    let inv = load_text(
        "hosts",
        "[p1:children]\ng\nzz\n[p3:children]\np2\n[p2:children]\ng\n[g]\nh\n[zz]\nh\n[g:vars]\nx=g\n[zz:vars]\nx=zz\n",
    );
    assert_eq!(vars(&inv, "h")["x"], json!("g"));
}

#[test]
fn same_depth_sorts_by_priority_then_name() {
    let inv = load_text(
        "hosts",
        "[b]\nh\n[a]\nh\n[c]\nh\n[a:vars]\nx=a\ny=a\n[b:vars]\nx=b\n[c:vars]\ny=c\nansible_group_priority=0\n",
    );
    let v = vars(&inv, "h");
    assert_eq!(v["x"], json!("b"), "b sorts after a");
    assert_eq!(
        v["y"],
        json!("a"),
        "c has a lower priority, so it is merged first"
    );
}

#[test]
fn group_vars_and_host_vars_files_beside_the_inventory() {
    let fx = Fixture::new();
    let inv_path = fx.write("inv/hosts", LAYERED);
    fx.write("inv/group_vars/all.yml", "level: gv_all\nfile_all: true\n");
    fx.write("inv/group_vars/web", "web_file: plain name\n");
    fx.write(
        "inv/group_vars/prod.json",
        "{\"level\": \"gv_prod\", \"json\": 1}\n",
    );
    fx.write(
        "inv/host_vars/w1/10-main.yml",
        "level: hv_w1\norder: first\n",
    );
    fx.write("inv/host_vars/w1/20-more.yaml", "order: second\n");
    fx.write("inv/host_vars/w1/sub/30.yml", "deep: true\n");
    fx.write("inv/host_vars/w1/ignored.txt", "order: ignored\n");
    fx.write("inv/host_vars/w1/.hidden.yml", "order: hidden\n");
    let inv = load(&[inv_path]);
    let w2 = vars(&inv, "w2");
    assert_eq!(
        w2["level"],
        json!("gv_prod"),
        "group_vars/prod beats inline [web:vars] and group_vars/all"
    );
    assert_eq!(w2["file_all"], json!(true));
    assert_eq!(w2["web_file"], json!("plain name"));
    assert_eq!(w2["json"], json!(1));
    let w1 = vars(&inv, "w1");
    assert_eq!(w1["level"], json!("hv_w1"));
    assert_eq!(w1["order"], json!("second"));
    assert_eq!(w1["deep"], json!(true));
}

#[test]
fn group_vars_all_beats_inline_group_vars_as_in_ansible() {
    let fx = Fixture::new();
    let path = fx.write("hosts", "[web]\nw1\n[web:vars]\nx=inline\n");
    fx.write("group_vars/all.yml", "x: file\n");
    let inv = load(&[path]);
    assert_eq!(vars(&inv, "w1")["x"], json!("file"));
}

#[test]
fn playbook_dirs_win_over_inventory_dirs_layer_by_layer() {
    let fx = Fixture::new();
    let path = fx.write("inv/hosts", "[web]\nw1\n");
    fx.write("inv/group_vars/all.yml", "a: inv\nb: inv\n");
    fx.write("inv/group_vars/web.yml", "b: inv_web\nc: inv_web\n");
    fx.write("inv/host_vars/w1.yml", "d: inv_host\n");
    fx.write("play/group_vars/all.yml", "a: play\nb: play\nc: play\n");
    fx.write("play/host_vars/w1.yml", "d: play_host\n");
    let inv = load(&[path]);
    let v = Value::Object(
        inv.host_vars("w1", &[PathBuf::from(fx.path("play"))])
            .unwrap(),
    );
    assert_eq!(v["a"], json!("play"));
    assert_eq!(
        v["b"],
        json!("inv_web"),
        "any group file beats group_vars/all, wherever it is"
    );
    assert_eq!(v["c"], json!("inv_web"));
    assert_eq!(v["d"], json!("play_host"));
    // The playbook beside the inventory: its files are read once, same result.
    let same = inv
        .host_vars("w1", &[PathBuf::from(fx.path("inv"))])
        .unwrap();
    assert_eq!(Value::Object(same), vars(&inv, "w1"));
}

#[test]
fn the_implicit_localhost_gets_all_vars_and_a_local_connection() {
    let fx = Fixture::new();
    let path = fx.write("hosts", "[web]\nw1\n[all:vars]\nx=1\n");
    fx.write("host_vars/localhost.yml", "y: 2\n");
    let inv = load(&[path]);
    assert!(inv.is_implicit_localhost("localhost"));
    let v = vars(&inv, "localhost");
    assert_eq!(v["x"], json!(1));
    assert_eq!(v["ansible_connection"], json!("local"));
    assert_eq!(inv.group_names("localhost"), Vec::<String>::new());
}

#[test]
fn unknown_hosts_and_bad_vars_files_are_errors() {
    let inv = load_text("hosts", "w1\n");
    let err = inv.host_vars("nope", &[]).unwrap_err().to_string();
    assert!(err.contains("'nope' is not a host"), "{err}");

    let fx = Fixture::new();
    let path = fx.write("hosts", "w1\n");
    fx.write("group_vars/all.yml", "- a\n- b\n");
    let err = Inventory::load(&[path]).unwrap_err().to_string();
    assert!(
        err.contains("group_vars/all.yml:1:1") && err.contains("must be a mapping"),
        "{err}"
    );

    let fx = Fixture::new();
    let path = fx.write("hosts", "w1\n");
    // Encrypted with a password no test gives: it cannot be decrypted.
    let vaulted = crate::vault::Keyring::new(vec![crate::vault::VaultSecret::new(
        "default",
        "a password no test uses",
    )])
    .encrypt(b"a: 1\n", None)
    .unwrap();
    fx.write("host_vars/w1.yml", &vaulted);
    let err = Inventory::load(&[path]).unwrap_err().to_string();
    assert!(
        err.contains("host_vars/w1.yml: ") && err.contains("vault"),
        "{err}"
    );
}
