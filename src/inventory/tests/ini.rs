//! INI inventories: sections, hosts, ranges, ports, inline and `:vars`
//! variables with Ansible's typing, children, comments.

use serde_json::json;

use super::{load_text, vars};

#[test]
fn hosts_before_any_section_are_ungrouped_and_sections_are_groups() {
    let inv = load_text(
        "hosts",
        "mail.example.com\n\n[web]\nweb1\nweb2\n\n[db]\ndb1\n",
    );
    assert_eq!(inv.hosts(), ["mail.example.com", "web1", "web2", "db1"]);
    assert_eq!(inv.groups(), ["all", "ungrouped", "web", "db"]);
    assert_eq!(inv.group_hosts("ungrouped"), ["mail.example.com"]);
    assert_eq!(inv.group_hosts("web"), ["web1", "web2"]);
    assert_eq!(
        inv.group_hosts("all"),
        ["mail.example.com", "web1", "web2", "db1"]
    );
}

#[test]
fn numeric_and_letter_ranges_with_padding_and_stride() {
    let inv = load_text(
        "hosts",
        "[web]\nweb[01:03].example.com\n[db]\ndb-[a:c]\n[odd]\nnode[1:10:3]\n[grid]\nr[1:2]c[a:b]\n",
    );
    assert_eq!(
        inv.group_hosts("web"),
        [
            "web01.example.com",
            "web02.example.com",
            "web03.example.com"
        ]
    );
    assert_eq!(inv.group_hosts("db"), ["db-a", "db-b", "db-c"]);
    assert_eq!(
        inv.group_hosts("odd"),
        ["node1", "node4", "node7", "node10"]
    );
    assert_eq!(inv.group_hosts("grid"), ["r1ca", "r1cb", "r2ca", "r2cb"]);
}

#[test]
fn ports_become_ansible_port() {
    let inv = load_text(
        "hosts",
        "[web]\nweb1:2222\nweb[2:3]:2200 ansible_user=deploy\n[::1]:2022\n",
    );
    assert_eq!(vars(&inv, "web1")["ansible_port"], json!(2222));
    assert_eq!(vars(&inv, "web3")["ansible_port"], json!(2200));
    assert_eq!(vars(&inv, "web3")["ansible_user"], json!("deploy"));
    assert_eq!(vars(&inv, "::1")["ansible_port"], json!(2022));
}

#[test]
fn host_line_values_are_python_literals_after_shell_splitting() {
    let inv = load_text(
        "hosts",
        "[web]\nweb1 port=8080 debug=True off=False none=None yes=yes ratio=1.5 \
         name='quoted v' hex=0x10 mode=0644 list=\"[1, 'a']\" map=\"{'k': 2}\" \
         str_num='\"5\"' hash='a#b' cut=a#b\n",
    );
    let v = vars(&inv, "web1");
    assert_eq!(v["port"], json!(8080));
    assert_eq!(v["debug"], json!(true));
    assert_eq!(v["off"], json!(false));
    assert_eq!(v["none"], json!(null));
    assert_eq!(v["yes"], json!("yes"), "yes is not a Python literal");
    assert_eq!(v["ratio"], json!(1.5));
    assert_eq!(v["name"], json!("quoted v"));
    assert_eq!(v["hex"], json!(16));
    assert_eq!(
        v["mode"],
        json!("0644"),
        "a leading zero is not a Python 3 int"
    );
    assert_eq!(v["list"], json!([1, "a"]));
    assert_eq!(v["map"], json!({"k": 2}));
    assert_eq!(v["str_num"], json!("5"), "quoted twice stays a string");
    assert_eq!(v["hash"], json!("a#b"), "quotes protect a #");
    assert_eq!(v["cut"], json!("a"), "an unquoted # starts a comment");
}

#[test]
fn vars_sections_take_everything_after_the_equals_sign() {
    let inv = load_text(
        "hosts",
        "[web]\nweb1\n\n[web:vars]\nntp = ntp.example.com\nport=80\nflag=FALSE\ntrue_=True\n\
         msg = hello world\nquoted='8080'\nwith_comment = 5 # the port\neq=a=b\n",
    );
    let v = vars(&inv, "web1");
    assert_eq!(v["ntp"], json!("ntp.example.com"));
    assert_eq!(v["port"], json!(80));
    assert_eq!(v["flag"], json!("FALSE"), "Ansible's documented example");
    assert_eq!(v["true_"], json!(true));
    assert_eq!(v["msg"], json!("hello world"));
    assert_eq!(
        v["quoted"],
        json!("8080"),
        "quotes keep a number a string in :vars"
    );
    assert_eq!(v["with_comment"], json!(5));
    assert_eq!(v["eq"], json!("a=b"));
}

#[test]
fn children_sections_nest_groups_even_when_declared_later() {
    let inv = load_text(
        "hosts",
        "[usa:children]\nsoutheast\nnorthwest  # comment\n\n[southeast:children]\natlanta\n\n\
         [atlanta]\nhost1\n\n[northwest]\nhost2\n",
    );
    assert_eq!(inv.group_hosts("usa"), ["host1", "host2"]);
    assert_eq!(inv.group_hosts("southeast"), ["host1"]);
    assert_eq!(inv.group_names("host1"), ["atlanta", "southeast", "usa"]);
    assert_eq!(inv.group_names("host2"), ["northwest", "usa"]);
}

#[test]
fn a_host_in_several_groups_merges_its_vars() {
    let inv = load_text("hosts", "[a]\nh1 x=1 y=1\n[b]\nh1 y=2 z=2\n");
    let v = vars(&inv, "h1");
    assert_eq!(
        (v["x"].clone(), v["y"].clone(), v["z"].clone()),
        (json!(1), json!(2), json!(2))
    );
    assert_eq!(inv.hosts(), ["h1"]);
    assert_eq!(inv.group_names("h1"), ["a", "b"]);
}

#[test]
fn comments_blank_lines_and_section_comments_are_ignored() {
    let inv = load_text(
        "hosts",
        "# a comment\n; another\n\n[web] # trailing comment\n  web1   # indented host\n\t\n[all:vars]\n# x=1\nx=2\n",
    );
    assert_eq!(inv.hosts(), ["web1"]);
    assert_eq!(vars(&inv, "web1")["x"], json!(2));
}

#[test]
fn a_host_listed_ungrouped_and_in_a_group_is_not_ungrouped() {
    let inv = load_text("hosts", "h1\nh2\n[web]\nh1\n");
    assert_eq!(inv.group_hosts("ungrouped"), ["h2"]);
    assert_eq!(inv.group_names("h1"), ["web"]);
    assert_eq!(inv.group_names("h2"), ["ungrouped"]);
}

#[test]
fn the_all_and_ungrouped_sections_work_like_in_ansible() {
    let inv = load_text("hosts", "[all]\nh1\n[ungrouped]\nh2\n[all:vars]\nv=1\n");
    assert_eq!(inv.group_hosts("ungrouped"), ["h1", "h2"]);
    assert_eq!(vars(&inv, "h2")["v"], json!(1));
}

#[test]
fn group_priority_is_read_from_vars_not_kept_as_a_var() {
    let inv = load_text(
        "hosts",
        "[a]\nh1\n[b]\nh1\n[a:vars]\nansible_group_priority=10\nx=a\n[b:vars]\nx=b\n",
    );
    let v = vars(&inv, "h1");
    assert_eq!(
        v["x"],
        json!("a"),
        "a higher priority wins at the same depth"
    );
    assert!(v.get("ansible_group_priority").is_none());
}

#[test]
fn inventory_file_and_dir_are_host_vars() {
    let fx = super::Fixture::new();
    let path = fx.write("inv/hosts", "h1\n");
    let inv = super::load(std::slice::from_ref(&path));
    let v = vars(&inv, "h1");
    let abs = std::path::absolute(&path).unwrap();
    assert_eq!(v["inventory_file"], json!(abs.display().to_string()));
    assert_eq!(
        v["inventory_dir"],
        json!(abs.parent().unwrap().display().to_string())
    );
    assert_eq!(inv.inventory_file("h1"), Some(abs.as_path()));
}

#[test]
fn a_byte_order_mark_and_crlf_line_ends_are_fine() {
    let inv = load_text(
        "hosts",
        "\u{feff}[web]\r\nweb1 x=1\r\n[web:vars]\r\ny=2\r\n",
    );
    assert_eq!(inv.group_hosts("web"), ["web1"]);
    assert_eq!(vars(&inv, "web1")["x"], json!(1));
    assert_eq!(vars(&inv, "web1")["y"], json!(2));
}
