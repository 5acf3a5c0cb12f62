//! Tests of the filters against the outputs Ansible documents (or that
//! Ansible/Python produce for the same input).

use serde_json::json;

use super::tests_render::{render, vars};
use super::*;

pub(super) fn eval(expr: &str, v: Value) -> Value {
    match Templar::new().eval(expr, &vars(v)) {
        Ok(v) => v,
        Err(e) => panic!("eval of {expr:?} failed: {e}"),
    }
}

pub(super) fn eval_err(expr: &str, v: Value) -> TemplateError {
    match Templar::new().eval(expr, &vars(v)) {
        Ok(v) => panic!("eval of {expr:?} should fail, got {v}"),
        Err(e) => e,
    }
}

pub(super) fn e(expr: &str) -> Value {
    eval(expr, json!({}))
}

#[test]
fn default_with_boolean_argument() {
    assert_eq!(e("'' | default('x')"), json!(""));
    assert_eq!(e("'' | default('x', true)"), json!("x"));
    assert_eq!(e("0 | default(5, boolean=true)"), json!(5));
    assert_eq!(e("none | default('x', true)"), json!("x"));
    assert_eq!(e("nope | default"), json!(""));
    assert_eq!(e("nope | default(none)"), json!(null));
    assert_eq!(e("[1] | d([], true)"), json!([1]));
}

#[test]
fn mandatory_names_the_variable() {
    let err = eval_err("nope | mandatory", json!({}));
    assert_eq!(err.message, "Mandatory variable 'nope' not defined.");
    assert_eq!(err.undefined.as_deref(), Some("nope"));
    let err = eval_err("nope | mandatory('set nope first')", json!({}));
    assert_eq!(err.message, "set nope first");
    assert_eq!(e("1 | mandatory"), json!(1));
}

#[test]
fn bool_follows_ansible_not_python() {
    for (input, want) in [
        ("'yes'", true),
        ("'YES'", true),
        ("'on'", true),
        ("'1'", true),
        ("'True'", true),
        ("1", true),
        ("true", true),
        ("'no'", false),
        ("'off'", false),
        ("'0'", false),
        ("'false'", false),
        ("'n'", false),
        ("'anything'", false),
        ("0", false),
        ("2", false),
        ("none", false),
    ] {
        assert_eq!(e(&format!("{input} | bool")), json!(want), "{input}");
    }
}

#[test]
fn int_and_float_conversions() {
    assert_eq!(e("'08' | int"), json!(8));
    assert_eq!(e("'42' | int + 1"), json!(43));
    assert_eq!(e("'3.7' | int"), json!(3));
    assert_eq!(e("3.99 | int"), json!(3));
    assert_eq!(e("'-12' | int"), json!(-12));
    assert_eq!(e("'abc' | int"), json!(0));
    assert_eq!(e("'abc' | int(7)"), json!(7));
    assert_eq!(e("'abc' | int(default=9)"), json!(9));
    assert_eq!(e("'0x1A' | int(base=16)"), json!(26));
    assert_eq!(e("'755' | int(base=8)"), json!(493));
    assert_eq!(e("true | int"), json!(1));
    assert_eq!(e("' 5 ' | int"), json!(5));
    assert_eq!(e("'1.5' | float"), json!(1.5));
    assert_eq!(e("'x' | float"), json!(0.0));
    assert_eq!(e("3 | float"), json!(3.0));
    assert_eq!(e("42 | string"), json!("42"));
    assert_eq!(e("[1, 'a'] | string"), json!("[1, 'a']"));
}

#[test]
fn list_filters() {
    let v = json!({"users": [
        {"name": "bob", "uid": 20, "admin": true},
        {"name": "al", "uid": 10, "admin": false},
    ]});
    assert_eq!(
        eval("users | map(attribute='name') | join(',')", v.clone()),
        json!("bob,al")
    );
    assert_eq!(
        eval(
            "users | selectattr('admin') | map(attribute='name') | list",
            v.clone()
        ),
        json!(["bob"])
    );
    assert_eq!(
        eval(
            "users | rejectattr('admin') | map(attribute='name') | list",
            v.clone()
        ),
        json!(["al"])
    );
    assert_eq!(
        eval(
            "users | sort(attribute='uid') | map(attribute='name') | list",
            v.clone()
        ),
        json!(["al", "bob"])
    );
    assert_eq!(
        eval(
            "users | sort(attribute='uid', reverse=true) | first",
            v.clone()
        )["name"],
        json!("bob")
    );
    assert_eq!(
        eval(
            "users | selectattr('uid', 'gt', 15) | list | length",
            v.clone()
        ),
        json!(1)
    );
    assert_eq!(
        eval("users | map(attribute='uid') | sum", v.clone()),
        json!(30)
    );
    assert_eq!(
        eval("users | map(attribute='uid') | max", v.clone()),
        json!(20)
    );
    assert_eq!(eval("(users | min(attribute='uid')).name", v), json!("al"));
    assert_eq!(e("['1', '2'] | map('int') | list"), json!([1, 2]));
    assert_eq!(e("['a', 'b'] | map('upper') | list"), json!(["A", "B"]));
    assert_eq!(
        e("['a1', 'b2'] | map('regex_replace', '\\\\d', '') | list"),
        json!(["a", "b"])
    );
    assert_eq!(e("[1, 2, 3, 4] | select('even') | list"), json!([2, 4]));
    assert_eq!(e("[1, 2, 3, 4] | reject('odd') | list"), json!([2, 4]));
    assert_eq!(e("['a', 'b', 'a'] | unique | list"), json!(["a", "b"]));
    assert_eq!(e("[3, 1, 2] | sort | list"), json!([1, 2, 3]));
    assert_eq!(e("[3, 1, 2] | first"), json!(3));
    assert_eq!(e("[3, 1, 2] | last"), json!(2));
    assert_eq!(e("[3, 1, 2] | length"), json!(3));
    assert_eq!(e("'abc' | count"), json!(3));
    assert_eq!(
        e("[1, 2] | zip(['a', 'b']) | list"),
        json!([[1, "a"], [2, "b"]])
    );
    assert_eq!(
        e("[1, 2, 3] | zip_longest(['a'], fillvalue='-')"),
        json!([[1, "a"], [2, "-"], [3, "-"]])
    );
    assert_eq!(
        e("{'b': 1, 'a': 2} | dictsort"),
        json!([["a", 2], ["b", 1]])
    );
    assert_eq!(e("-3 | abs"), json!(3));
    assert_eq!(e("2.567 | round(2)"), json!(2.57));
    assert_eq!(e("2.5 | round(0, 'floor')"), json!(2.0));
    assert_eq!(e("'a b' | urlencode"), json!("a%20b"));
}

#[test]
fn regex_filters_follow_python_re() {
    assert_eq!(
        e("'ansible' | regex_replace('^a.*i(.*)$', 'a\\\\1')"),
        json!("able")
    );
    assert_eq!(
        e("'foobar' | regex_replace('^f.*o(.*)$', '\\\\1')"),
        json!("bar")
    );
    assert_eq!(
        e(
            "'localhost:80' | regex_replace('^(?P<host>.+):(?P<port>\\\\d+)$', '\\\\g<host>, \\\\g<port>')"
        ),
        json!("localhost, 80")
    );
    assert_eq!(
        e("'AbC' | regex_replace('b', 'x', ignorecase=true)"),
        json!("AxC")
    );
    assert_eq!(
        e("'a.a.a' | regex_replace('a', 'b', count=2)"),
        json!("b.b.a")
    );
    assert_eq!(e("'cost' | regex_replace('cost', '$5')"), json!("$5"));
    assert_eq!(
        e("'foo\\nbar' | regex_replace('^b', 'B', multiline=true)"),
        json!("foo\nBar")
    );
    assert_eq!(
        e("'server1/database42' | regex_search('database[0-9]+')"),
        json!("database42")
    );
    assert_eq!(e("'foo' | regex_search('bar')"), json!(null));
    assert_eq!(
        e(
            "'server1/database42' | regex_search('server([0-9]+)/database([0-9]+)', '\\\\1', '\\\\2')"
        ),
        json!(["1", "42"])
    );
    assert_eq!(
        e(
            "'21/42' | regex_search('(?P<dividend>[0-9]+)/(?P<divisor>[0-9]+)', '\\\\g<dividend>', '\\\\g<divisor>')"
        ),
        json!(["21", "42"])
    );
    assert_eq!(
        e("'ansible' | regex_search('ANS', ignorecase=true)"),
        json!("ans")
    );
    assert_eq!(
        e("'a1 b2 c3' | regex_findall('[a-z]\\\\d')"),
        json!(["a1", "b2", "c3"])
    );
    assert_eq!(
        e("'a1 b2' | regex_findall('([a-z])\\\\d')"),
        json!(["a", "b"])
    );
    assert_eq!(
        e("'a1 b2' | regex_findall('([a-z])(\\\\d)')"),
        json!([["a", "1"], ["b", "2"]])
    );
    assert_eq!(
        e("'^f.*o(.*)$' | regex_escape"),
        json!("\\^f\\.\\*o\\(\\.\\*\\)\\$")
    );
    assert!(
        eval_err("'x' | regex_replace('(?=x)', '')", json!({}))
            .message
            .contains("look-around")
    );
}

#[test]
fn string_filters() {
    assert_eq!(e("'hello world' | upper"), json!("HELLO WORLD"));
    assert_eq!(e("'HeLLo' | lower"), json!("hello"));
    assert_eq!(e("'hello WORLD' | capitalize"), json!("Hello world"));
    assert_eq!(e("'hello world' | title"), json!("Hello World"));
    assert_eq!(e("'  x  ' | trim"), json!("x"));
    assert_eq!(e("'a-b-c' | replace('-', '+')"), json!("a+b+c"));
    assert_eq!(e("'a,b,c' | split(',')"), json!(["a", "b", "c"]));
    assert_eq!(e("'a b  c' | split"), json!(["a", "b", "c"]));
    assert_eq!(e("['a', 'b'] | join('-')"), json!("a-b"));
    assert_eq!(e("'yes' | ternary('on', 'off')"), json!("on"));
    assert_eq!(e("false | ternary('on', 'off')"), json!("off"));
    assert_eq!(e("none | ternary('on', 'off', 'unset')"), json!("unset"));
    assert_eq!(e("'x' | type_debug"), json!("str"));
    assert_eq!(e("{} | type_debug"), json!("dict"));
    assert_eq!(e("8 | log(2)"), json!(3.0));
    assert_eq!(e("2 | pow(3)"), json!(8.0));
    assert_eq!(e("9 | root"), json!(3.0));
}

#[test]
fn path_filters() {
    assert_eq!(e("'/etc/asdf/foo.txt' | basename"), json!("foo.txt"));
    assert_eq!(e("'/etc/asdf/' | basename"), json!(""));
    assert_eq!(e("'/etc/asdf/foo.txt' | dirname"), json!("/etc/asdf"));
    assert_eq!(e("'/etc/asdf/' | dirname"), json!("/etc/asdf"));
    assert_eq!(e("'foo' | dirname"), json!(""));
    assert_eq!(e("'/foo' | dirname"), json!("/"));
    assert_eq!(
        e("'/nonexistent/a/../b/./c' | realpath"),
        json!("/nonexistent/b/c")
    );
    let home = std::env::var("HOME").unwrap_or_default();
    if !home.is_empty() {
        assert_eq!(
            e("'~/x' | expanduser"),
            json!(format!("{}/x", home.trim_end_matches('/')))
        );
    }
    assert_eq!(e("'~other/x' | expanduser"), json!("~other/x"));
    assert_eq!(
        e("['/etc', 'apt', 'sources.list'] | path_join"),
        json!("/etc/apt/sources.list")
    );
    assert_eq!(e("['a', '/abs', 'b'] | path_join"), json!("/abs/b"));
    assert_eq!(e("'/a/b.tar.gz' | splitext"), json!(["/a/b.tar", ".gz"]));
    assert_eq!(e("'.bashrc' | splitext"), json!([".bashrc", ""]));
}

#[test]
fn encoding_and_hash_filters() {
    assert_eq!(e("'Hello' | b64encode"), json!("SGVsbG8="));
    assert_eq!(e("'SGVsbG8=' | b64decode"), json!("Hello"));
    assert_eq!(e("'SGVsbG8' | b64decode"), json!("Hello"));
    assert_eq!(
        e("'ab' | b64encode(encoding='utf-16-le')"),
        json!("YQBiAA==")
    );
    assert_eq!(
        e("'YQBiAA==' | b64decode(encoding='utf-16-le')"),
        json!("ab")
    );
    assert_eq!(
        e("'test1' | hash('sha1')"),
        json!("b444ac06613fc8d63795be9ad0beaf55011936ac")
    );
    assert_eq!(
        e("'test1' | hash"),
        json!("b444ac06613fc8d63795be9ad0beaf55011936ac")
    );
    assert_eq!(
        e("'test1' | checksum"),
        json!("b444ac06613fc8d63795be9ad0beaf55011936ac")
    );
    assert_eq!(
        e("'test1' | hash('md5')"),
        json!("5a105e8b9d40e1329780d62ea2265d8a")
    );
    assert_eq!(
        e("'test1' | md5"),
        json!("5a105e8b9d40e1329780d62ea2265d8a")
    );
    assert_eq!(
        e("'abc' | hash('sha256')"),
        json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    assert_eq!(e("'abc' | hash('sha512') | length"), json!(128));
    assert!(
        eval_err("'x' | hash('crc')", json!({}))
            .message
            .contains("unsupported hash type")
    );
    assert_eq!(e("'simple' | quote"), json!("simple"));
    assert_eq!(e("'two words' | quote"), json!("'two words'"));
    assert_eq!(e("\"it's\" | quote"), json!("'it'\"'\"'s'"));
    assert_eq!(e("'' | quote"), json!("''"));
    assert_eq!(
        e("'www.example.com' | to_uuid"),
        json!("69680a13-a686-5d20-a166-0e7b3b17ef84")
    );
}

#[test]
fn filters_reject_undefined_input() {
    for filter in [
        "upper",
        "b64encode",
        "to_json",
        "bool",
        "int",
        "basename",
        "quote",
        "flatten",
        "dict2items",
    ] {
        let err = eval_err(&format!("nope | {filter}"), json!({}));
        assert_eq!(
            err.undefined.as_deref(),
            Some("nope"),
            "{filter}: {}",
            err.message
        );
    }
}

#[test]
fn filters_inside_templates() {
    let v = json!({"pkgs": ["nginx", "curl"]});
    assert_eq!(
        render("{{ pkgs | join(' ') | upper }}", v.clone()),
        "NGINX CURL"
    );
    assert_eq!(render("{{ pkgs | to_json }}", v), "[\"nginx\", \"curl\"]");
}
