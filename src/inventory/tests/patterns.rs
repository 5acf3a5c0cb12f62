//! Host patterns: every form, their evaluation order, the result order and
//! the implicit localhost.

use super::load_text;
use crate::inventory::Inventory;

fn inventory() -> Inventory {
    load_text(
        "hosts",
        "bastion\n\
         [web]\nweb1\nweb2\nweb10.example.com\n\
         [db]\ndb1\ndb2\n\
         [staging]\nweb2\ndb2\n\
         [prod:children]\nweb\ndb\n",
    )
}

fn sel(inv: &Inventory, pattern: &str) -> Vec<String> {
    inv.select(pattern)
}

#[test]
fn all_star_names_and_groups() {
    let inv = inventory();
    let everyone = ["bastion", "web1", "web2", "web10.example.com", "db1", "db2"];
    assert_eq!(sel(&inv, "all"), everyone);
    assert_eq!(sel(&inv, "*"), everyone);
    assert_eq!(sel(&inv, "web1"), ["web1"]);
    assert_eq!(sel(&inv, "db"), ["db1", "db2"]);
    assert_eq!(
        sel(&inv, "prod"),
        ["web1", "web2", "web10.example.com", "db1", "db2"]
    );
    assert_eq!(sel(&inv, "ungrouped"), ["bastion"]);
}

#[test]
fn globs_and_regexes_match_groups_and_hosts() {
    let inv = inventory();
    assert_eq!(sel(&inv, "web*"), ["web1", "web2", "web10.example.com"]);
    assert_eq!(sel(&inv, "*.example.com"), ["web10.example.com"]);
    assert_eq!(sel(&inv, "db?"), ["db1", "db2"]);
    assert_eq!(
        sel(&inv, "web[!1]"),
        ["web2"],
        "a glob class, not a subscript"
    );
    assert_eq!(sel(&inv, "~web\\d$"), ["web1", "web2"]);
    assert_eq!(
        sel(&inv, "~(db|bast)"),
        ["bastion", "db1", "db2"],
        "a regex matches from the start"
    );
    assert_eq!(sel(&inv, "~d"), ["db1", "db2"], "the db group matches too");
}

#[test]
fn unions_with_colons_and_commas_come_out_in_inventory_order() {
    let inv = inventory();
    assert_eq!(sel(&inv, "db:web1"), ["web1", "db1", "db2"]);
    assert_eq!(sel(&inv, "db, web1"), ["web1", "db1", "db2"]);
    assert_eq!(sel(&inv, "db1:db1:db"), ["db1", "db2"], "deduplicated");
}

#[test]
fn intersections_and_exclusions_apply_after_unions_whatever_their_place() {
    let inv = inventory();
    assert_eq!(sel(&inv, "prod:&staging"), ["web2", "db2"]);
    assert_eq!(
        sel(&inv, "prod:!staging"),
        ["web1", "web10.example.com", "db1"]
    );
    assert_eq!(sel(&inv, "!staging:web"), ["web1", "web10.example.com"]);
    assert_eq!(sel(&inv, "&staging:web:!web2"), Vec::<String>::new());
    assert_eq!(sel(&inv, "web:db:&staging:!db2"), ["web2"]);
    assert_eq!(
        sel(&inv, "!web"),
        ["bastion", "db1", "db2"],
        "only exclusions start from all"
    );
    assert_eq!(sel(&inv, "all,!web*"), ["bastion", "db1", "db2"]);
}

#[test]
fn subscripts_pick_by_position() {
    let inv = inventory();
    assert_eq!(sel(&inv, "web[0]"), ["web1"]);
    assert_eq!(sel(&inv, "web[-1]"), ["web10.example.com"]);
    assert_eq!(sel(&inv, "web[1:2]"), ["web2", "web10.example.com"]);
    assert_eq!(sel(&inv, "prod[3:]"), ["db1", "db2"]);
    let (hosts, warnings) = inv.select_with_warnings("web[7]");
    assert!(hosts.is_empty());
    assert!(warnings[0].contains("subscripted"), "{warnings:?}");
}

#[test]
fn unknown_names_match_nothing_with_a_warning() {
    let inv = inventory();
    let (hosts, warnings) = inv.select_with_warnings("nope:web1");
    assert_eq!(hosts, ["web1"]);
    assert_eq!(
        warnings,
        ["Could not match supplied host pattern, ignoring: nope"]
    );
    let (hosts, warnings) = inv.select_with_warnings("~(unclosed");
    assert!(hosts.is_empty());
    assert!(warnings[0].contains("Invalid host pattern"), "{warnings:?}");
}

#[test]
fn localhost_matches_implicitly_but_not_through_all() {
    let inv = inventory();
    let (hosts, warnings) = inv.select_with_warnings("localhost");
    assert_eq!(hosts, ["localhost"]);
    assert!(warnings.is_empty());
    assert!(inv.is_implicit_localhost("localhost"));
    assert!(!sel(&inv, "all").contains(&"localhost".to_string()));
    assert_eq!(sel(&inv, "db1:localhost"), ["db1", "localhost"]);
    assert!(
        sel(&inv, "local*").is_empty(),
        "only the exact name is implicit"
    );

    let explicit = load_text("hosts", "[local]\nlocalhost ansible_connection=local\n");
    assert!(!explicit.is_implicit_localhost("localhost"));
    assert_eq!(explicit.select("all"), ["localhost"]);
}

#[test]
fn addresses_with_colons_are_single_patterns() {
    let inv = load_text("hosts", "[v6]\nfe80::1\n2001:db8::2\n");
    assert_eq!(inv.select("fe80::1"), ["fe80::1"]);
    assert_eq!(
        inv.select("fe80::1,2001:db8::2"),
        ["fe80::1", "2001:db8::2"]
    );
}
