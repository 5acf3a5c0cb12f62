//! Tests of the Jinja tests (`is changed`, `is match(...)`, `is version(...)`)
//! with Ansible's semantics.

use serde_json::json;

use super::tests_render::vars;
use super::*;

fn is(expr: &str, v: Value) -> bool {
    match Templar::new().eval_bool(expr, &vars(v)) {
        Ok(b) => b,
        Err(e) => panic!("{expr:?} failed: {e}"),
    }
}

fn t(expr: &str) -> bool {
    is(expr, json!({}))
}

#[test]
fn result_tests_read_registered_results() {
    let v = json!({
        "ok": {"changed": false, "rc": 0},
        "chg": {"changed": true},
        "bad": {"failed": true, "msg": "boom"},
        "skip": {"skipped": true, "changed": false},
        "loop": {"results": [{"changed": false}, {"changed": true}]},
        "strflag": {"changed": "yes", "failed": "false"},
        "gone": {"unreachable": true},
    });
    for (expr, want) in [
        ("ok is changed", false),
        ("chg is changed", true),
        ("loop is changed", true),
        ("ok is failed", false),
        ("bad is failed", true),
        ("bad is succeeded", false),
        ("ok is succeeded", true),
        ("ok is success", true),
        ("skip is skipped", true),
        ("ok is skipped", false),
        ("bad is not skipped", true),
        ("strflag is changed", true),
        ("strflag is failed", false),
        ("gone is unreachable", true),
        ("ok is reachable", true),
        ("ok is finished", true),
    ] {
        assert_eq!(is(expr, v.clone()), want, "{expr}");
    }
    let err = Templar::new()
        .eval_bool("'text' is changed", &Vars::new())
        .unwrap_err();
    assert!(
        err.message.contains("expects a dictionary"),
        "{}",
        err.message
    );
    let err = Templar::new()
        .eval_bool("nope is failed", &Vars::new())
        .unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("nope"));
}

#[test]
fn regex_tests() {
    assert!(!t(
        "'http://example.com/users/1' is match('http://example.com/users/.*/')"
    ));
    assert!(t(
        "'http://example.com/users/1/' is match('http://example.com/users/.*/')"
    ));
    assert!(!t("'xhttp://a' is match('http')"));
    assert!(t("'xhttp://a' is search('http')"));
    assert!(t("'HTTP' is match('http', ignorecase=true)"));
    assert!(t("'a\\nfoo' is match('^foo', multiline=true) == false"));
    assert!(t("'a\\nfoo' is search('^foo', multiline=true)"));
    assert!(t("'abc' is regex('b')"));
    assert!(!t("'abc' is regex('b', match_type='match')"));
    assert!(t("'abc' is regex('a.c', match_type='fullmatch')"));
    assert!(t(
        "['a1', 'b', 'c2'] | select('match', '[a-z][0-9]') | list == ['a1', 'c2']"
    ));
    assert!(t("'abc' is not search('z')"));
}

#[test]
fn membership_and_type_tests() {
    assert!(t("2 in [1, 2]"));
    assert!(t("2 is in([1, 2])"));
    assert!(t("[1, 2] is contains(2)"));
    assert!(!t("[1, 2] is contains(3)"));
    assert!(t("'a' is string"));
    assert!(t("1 is number and 1.5 is number"));
    assert!(t("1 is integer and 1.5 is not integer"));
    assert!(t("1.5 is float"));
    assert!(t("{} is mapping and [] is not mapping"));
    assert!(t(
        "[] is sequence and 'abc' is sequence and 1 is not sequence"
    ));
    assert!(t("[] is iterable and 'x' is iterable and {} is iterable"));
    assert!(t("true is boolean and 'true' is not boolean"));
    assert!(t("none is none"));
    assert!(t("nope is undefined and nope is not defined"));
    assert!(t("[1, 2] is subset([1, 2, 3])"));
    assert!(!t("[1, 4] is subset([1, 2, 3])"));
    assert!(t("[1, 2, 3] is superset([3, 1])"));
    assert!(t(
        "[1, true] is all and [0, 1] is any and not ([0, false] is any)"
    ));
    assert!(t("4 is even and 3 is odd and 9 is divisibleby(3)"));
}

#[test]
fn truthy_and_falsy() {
    assert!(t(
        "'x' is truthy and '' is falsy and 0 is falsy and [1] is truthy"
    ));
    assert!(t("'false' is truthy"));
    assert!(t("'false' is falsy(convert_bool=true)"));
    assert!(t("'yes' is truthy(convert_bool=true)"));
}

#[test]
fn version_tests_compare_like_loose_version() {
    for (expr, want) in [
        ("'1.2.3' is version('1.2', '>=')", true),
        ("'1.2.3' is version('1.10', '<')", true),
        ("'1.10' is version('1.9', 'gt')", true),
        ("'2.0' is version('2.0', '==')", true),
        ("'2.0' is version('2.0', 'eq')", true),
        ("'2.0' is version('2.0')", true),
        ("'2.0' is version('2.1', '!=')", true),
        ("'1.0' is version('1.0a', '<')", true),
        ("'18.04' is version('16.04', operator='ge')", true),
        ("'3.9.7' is version_compare('3.10.0', '<')", true),
        ("'1.2.3' is version('1.2.3', 'lt')", false),
        ("'5.4.0-84-generic' is version('5.4', '>')", true),
    ] {
        assert_eq!(t(expr), want, "{expr}");
    }
    let err = Templar::new()
        .eval_bool("'1' is version('2', 'approx')", &Vars::new())
        .unwrap_err();
    assert!(err.message.contains("invalid operator"), "{}", err.message);
}

#[test]
fn path_tests_look_at_the_controller() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, "x").unwrap();
    let v = json!({"dir": dir.path().to_string_lossy(), "file": file.to_string_lossy()});
    assert!(is(
        "file is file and file is exists and file is not directory",
        v.clone()
    ));
    assert!(is(
        "dir is directory and dir is not file and dir is abs",
        v.clone()
    ));
    assert!(is(
        "(dir ~ '/missing') is not exists and 'rel/x' is not abs",
        v
    ));
}
