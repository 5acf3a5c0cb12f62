//! Tests of the `Templar` API: undefined variables, type preservation, omit,
//! whitespace, conditionals, syntax checks.

use std::sync::Arc;

use serde_json::json;

use super::*;

pub(super) fn vars(v: Value) -> Vars {
    let mut vars = Vars::new();
    if let Value::Object(map) = v {
        vars.push_layer(Arc::new(map));
    }
    vars
}

pub(super) fn render(text: &str, v: Value) -> String {
    match Templar::new().render_str(text, &vars(v)) {
        Ok(s) => s,
        Err(e) => panic!("render of {text:?} failed: {e}"),
    }
}

fn render_err(text: &str, v: Value) -> TemplateError {
    match Templar::new().render_str(text, &vars(v)) {
        Ok(s) => panic!("render of {text:?} should fail, got {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn plain_text_is_returned_untouched() {
    assert_eq!(render("no templates here", json!({})), "no templates here");
    assert_eq!(
        render("Hello {{ name }}!", json!({"name": "web"})),
        "Hello web!"
    );
}

#[test]
fn undefined_variable_is_an_error_naming_it() {
    let err = render_err("x = {{ nope }}", json!({}));
    assert_eq!(err.undefined.as_deref(), Some("nope"));
    assert_eq!(err.message, "'nope' is undefined");
    assert_eq!(err.to_string(), "'nope' is undefined");

    let err = render_err("{{ x.missing }}", json!({"x": {"a": 1}}));
    assert_eq!(err.undefined.as_deref(), Some("x.missing"));
    assert_eq!(err.undefined_variable(), Some("x"));
}

#[test]
fn undefined_error_has_the_line_in_multiline_templates() {
    let err = render_err("line one\nline two {{ nope }}\n", json!({}));
    assert_eq!(err.line, Some(2));
    assert_eq!(err.to_string(), "'nope' is undefined (line 2)");
}

#[test]
fn undefined_inside_filters_and_operations_is_an_error() {
    assert_eq!(
        render_err("{{ nope | upper }}", json!({}))
            .undefined
            .as_deref(),
        Some("nope")
    );
    assert_eq!(
        render_err("{{ nope + 1 }}", json!({})).undefined.as_deref(),
        Some("nope")
    );
    assert_eq!(
        render_err("{{ [1, nope] }}", json!({}))
            .undefined
            .as_deref(),
        Some("nope")
    );
    assert_eq!(
        render_err("{{ nope | length }}", json!({}))
            .undefined
            .as_deref(),
        Some("nope")
    );
}

#[test]
fn defaults_and_defined_tests_handle_undefined() {
    let v = json!({"x": {"y": 1}});
    assert_eq!(render("{{ nope | default(1) }}", v.clone()), "1");
    assert_eq!(render("{{ nope | d('a') }}", v.clone()), "a");
    assert_eq!(render("{{ x.missing | default('m') }}", v.clone()), "m");
    assert_eq!(
        render("{{ x.missing.deeper | default('m') }}", v.clone()),
        "m"
    );
    assert_eq!(render("{{ nope is defined }}", v.clone()), "False");
    assert_eq!(render("{{ x.y is undefined }}", v.clone()), "False");
    assert_eq!(render("{{ x.q is undefined }}", v.clone()), "True");
    assert_eq!(
        render("{% if nope is defined %}a{% else %}b{% endif %}", v),
        "b"
    );
}

#[test]
fn python_literals_and_methods_work() {
    assert_eq!(
        render("{{ True }} {{ False }} {{ None is none }}", json!({})),
        "True False True"
    );
    let v = json!({"s": " a,b ", "d": {"k": 1}});
    assert_eq!(
        render("{{ s.strip().split(',') }}", v.clone()),
        "['a', 'b']"
    );
    assert_eq!(render("{{ s.strip().startswith('a') }}", v.clone()), "True");
    assert_eq!(
        render("{{ s.upper() }}|{{ s.replace(',', ';') }}", v.clone()),
        " A,B | a;b "
    );
    assert_eq!(
        render("{{ d.get('k') }} {{ d.get('z', 5) }}", v.clone()),
        "1 5"
    );
    assert_eq!(
        render("{{ d.keys() | list }} {{ d.items() | list }}", v),
        "['k'] [('k', 1)]"
    );
}

#[test]
fn none_prints_as_empty_like_ansible() {
    assert_eq!(render("[{{ n }}]", json!({"n": null})), "[]");
}

#[test]
fn trailing_newline_is_kept_and_blocks_are_trimmed() {
    assert_eq!(render("a {{ 1 }}\n", json!({})), "a 1\n");
    let t = Templar::new();
    let out = t
        .render_file(
            "f.j2",
            "{% for i in [1, 2] %}\n{{ i }}\n{% endfor %}\n",
            &Vars::new(),
        )
        .unwrap();
    assert_eq!(out, "1\n2\n");
    let loose = Templar::with_whitespace(false, false);
    let out = loose
        .render_file("f.j2", "{% if true %}\nx\n{% endif %}\n", &Vars::new())
        .unwrap();
    // Jinja drops the template's last newline and Ansible adds back only
    // the newlines the output lacks: the one after `x` is enough.
    assert_eq!(out, "\nx\n");
}

#[test]
fn render_file_reports_lines() {
    let t = Templar::new();
    let err = t
        .render_file("site.conf.j2", "a\nb\n{{ port }}\n", &Vars::new())
        .unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("port"));
    assert_eq!(err.line, Some(3));
}

#[test]
fn render_value_keeps_the_type_of_a_lone_expression() {
    let t = Templar::new();
    let v = vars(json!({"ports": [80, 443], "n": 3, "flag": true, "cfg": {"a": 1}}));
    let input = json!({
        "list": "{{ ports }}",
        "num": "{{ n + 1 }}",
        "spaced": "  {{ flag }} ",
        "dict": "{{ cfg }}",
        "text": "port {{ ports[0] }}",
        "nested": ["{{ n }}", {"deep": "{{ ports | length }}"}],
        "plain": 7,
        "{{ 'key_' ~ n }}": "templated key",
        "trim": "{{- n -}}",
    });
    let out = t.render_value(&input, &v).unwrap();
    assert_eq!(
        out,
        json!({
            "list": [80, 443],
            "num": 4,
            "spaced": true,
            "dict": {"a": 1},
            "text": "port 80",
            "nested": [3, {"deep": 2}],
            "plain": 7,
            "key_3": "templated key",
            "trim": 3,
        })
    );
}

#[test]
fn render_value_of_an_undefined_is_an_error() {
    let t = Templar::new();
    let err = t
        .render_value(&json!({"a": "{{ nope }}"}), &Vars::new())
        .unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("nope"));
    let err = t
        .render_value(&json!("{{ [1, nope] }}"), &Vars::new())
        .unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("nope"));
    let err = t
        .render_value(&json!("{{ x.y }}"), &vars(json!({"x": {}})))
        .unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("x.y"));
}

#[test]
fn omit_removes_entries_and_items() {
    let t = Templar::new();
    let input = json!({
        "mode": "{{ mode | default(omit) }}",
        "owner": "root",
        "list": ["a", "{{ omit }}", "b"],
    });
    let out = t.render_value(&input, &Vars::new()).unwrap();
    assert_eq!(out, json!({"owner": "root", "list": ["a", "b"]}));
    assert_eq!(
        t.render_str("{{ omit }}", &Vars::new()).unwrap(),
        OMIT_PLACEHOLDER
    );
}

#[test]
fn eval_returns_values_and_errors() {
    let t = Templar::new();
    let v = vars(json!({"x": 5, "items": ["a", "b"]}));
    assert_eq!(t.eval("x * 2", &v).unwrap(), json!(10));
    assert_eq!(t.eval("items", &v).unwrap(), json!(["a", "b"]));
    assert_eq!(t.eval("{{ items | first }}", &v).unwrap(), json!("a"));
    assert_eq!(
        t.eval("nope", &v).unwrap_err().undefined.as_deref(),
        Some("nope")
    );
    assert!(
        t.eval("x +", &v)
            .unwrap_err()
            .message
            .contains("syntax error")
    );
    assert!(t.eval("  ", &v).is_err());
}

#[test]
fn eval_bool_reads_conditionals_like_ansible() {
    let t = Templar::new();
    let v = vars(json!({
        "s_false": "false", "s_no": "no", "s_yes": "Yes", "s_zero": "0", "s_text": "hello",
        "t": true, "f": false, "n": 0, "list": [], "result": {"rc": 0}, "cond": "result.rc == 0",
        "empty": "",
    }));
    for (expr, want) in [
        ("s_false", false),
        ("s_no", false),
        ("s_yes", true),
        ("s_zero", false),
        ("s_text", true),
        ("t", true),
        ("f", false),
        ("n", false),
        ("list", false),
        ("empty", false),
        ("result.rc == 0", true),
        ("not t", false),
        ("t and not f", true),
        ("{{ t }}", true),
        ("{{ f }}", false),
        ("{{ cond }}", true),
        ("'yes' | bool", true),
        ("True", true),
        ("None", false),
    ] {
        assert_eq!(t.eval_bool(expr, &v).unwrap(), want, "{expr}");
    }
    assert_eq!(
        t.eval_bool("nope", &v).unwrap_err().undefined.as_deref(),
        Some("nope")
    );
    assert_eq!(
        t.eval_bool("result.missing", &v)
            .unwrap_err()
            .undefined
            .as_deref(),
        Some("result.missing")
    );
}

#[test]
fn syntax_checks_need_no_variables() {
    let t = Templar::new();
    assert!(
        t.check_syntax("{{ anything | upper }} {% if x %}y{% endif %}")
            .is_ok()
    );
    assert!(t.check_syntax("no template").is_ok());
    let err = t.check_syntax("{% if x %}never closed").unwrap_err();
    assert!(err.message.contains("syntax error"), "{}", err.message);
    assert!(t.check_syntax("a\n{{ x | }}").unwrap_err().line == Some(2));
    assert!(t.check_expr_syntax("x is defined and y | bool").is_ok());
    assert!(t.check_expr_syntax("x ==").is_err());
    assert!(t.check_expr_syntax("{{ x }}").is_ok());
}

#[test]
fn range_and_loops_work() {
    assert_eq!(
        render("{% for i in range(3) %}{{ i }}{% endfor %}", json!({})),
        "012"
    );
    assert_eq!(
        render(
            "{% for k, v in d | dictsort %}{{ k }}={{ v }};{% endfor %}",
            json!({"d": {"b": 2, "a": 1}})
        ),
        "a=1;b=2;"
    );
    assert_eq!(
        render(
            "{% for i in [1,2,3] %}{% if i == 2 %}{% continue %}{% endif %}{{ i }}{% endfor %}",
            json!({})
        ),
        "13"
    );
}

#[test]
fn eval_when_takes_yaml_conditions() {
    let t = Templar::new();
    let v = vars(json!({"x": 1, "flag": "no"}));
    assert!(t.eval_when(&json!(true), &v).unwrap());
    assert!(!t.eval_when(&json!(false), &v).unwrap());
    assert!(t.eval_when(&json!(null), &v).unwrap());
    assert!(t.eval_when(&json!(["x == 1", "x > 0"]), &v).unwrap());
    assert!(!t.eval_when(&json!(["x == 1", "flag"]), &v).unwrap());
    assert!(t.eval_when(&json!({"a": 1}), &v).is_err());
}

#[test]
fn templar_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Templar>();
    assert_send_sync::<Vars>();
}

#[test]
fn omit_is_a_value_of_its_own_dropped_inside_results() {
    let t = Templar::new();
    let v = Vars::new();
    assert_eq!(t.eval("omit is string", &v).unwrap(), json!(false));
    assert_eq!(t.eval("omit | type_debug", &v).unwrap(), json!("_OmitType"));
    assert_eq!(t.eval("{'k': omit, 'j': 1}", &v).unwrap(), json!({"j": 1}));
    assert_eq!(t.eval("[1, omit]", &v).unwrap(), json!([1]));
    assert_eq!(t.eval("[1, omit] | length", &v).unwrap(), json!(2));
}

#[test]
fn an_inline_if_without_else_prints_nothing_but_an_undefined_variable_fails() {
    let t = Templar::new();
    let v = vars(json!({"c": false}));
    assert_eq!(t.render_str("a{{ 'x' if c }}b", &v).unwrap(), "ab");
    assert_eq!(t.eval("('x' if c) is defined", &v).unwrap(), json!(false));
    let err = t.render_str("a{{ nope }}b", &v).unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("nope"));
    assert!(t.render_str("a{{ ('x' if c).y }}b", &v).is_err());
}
