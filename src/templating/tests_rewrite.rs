//! Tests of the source rewrites: Ansible's backslash rule (string literals
//! inside `{{ }}` of a playbook string keep their backslashes; statements,
//! comments, raw blocks, conditions and template files keep Jinja's
//! escapes) and Python's `%` formatting.

use serde_json::json;

use super::rewrite::{rewrite_expression, rewrite_template};
use super::tests_render::{render, vars};
use super::*;

#[test]
fn backreferences_in_regex_replace_swap_groups() {
    let out = render(
        r"{{ 'path/to' | regex_replace('^(\w+)/(\w+)$', '\2/\1') }}",
        json!({}),
    );
    assert_eq!(out, "to/path");
    let out = render(
        r#"{{ "db-01" | regex_replace("^(\w+)-(\d+)$", "\2-\1") }}"#,
        json!({}),
    );
    assert_eq!(out, "01-db");
}

#[test]
fn a_backslash_n_in_a_literal_is_two_characters() {
    assert_eq!(render(r"{{ 'a\nb' }}", json!({})), r"a\nb");
    assert_eq!(render(r"{{ 'a\nb' | length }}", json!({})), "4");
}

#[test]
fn a_lone_expression_keeps_backslashes_too() {
    let t = Templar::new();
    let v = t
        .render_value(&json!(r"{{ ['\d', 'x'] }}"), &vars(json!({})))
        .unwrap();
    assert_eq!(v, json!([r"\d", "x"]));
}

#[test]
fn an_escaped_quote_stays_in_the_literal() {
    assert_eq!(render(r"{{ 'it\'s' }}", json!({})), r"it\'s");
    assert_eq!(render(r#"{{ "a\\b" }}"#, json!({})), r"a\\b");
}

#[test]
fn statements_and_conditions_keep_jinja_escapes() {
    assert_eq!(render(r"{% set x = 'a\tb' %}{{ x }}", json!({})), "a\tb");
    let t = Templar::new();
    assert!(t.eval_bool(r"'a\tb' | length == 3", &Vars::new()).unwrap());
}

#[test]
fn template_files_keep_jinja_escapes() {
    let t = Templar::new();
    let out = t
        .render_file("f.j2", r"{{ 'a\tb' }}", &Vars::new())
        .unwrap();
    assert_eq!(out, "a\tb");
}

#[test]
fn only_literals_inside_expressions_are_rewritten() {
    assert_eq!(rewrite_template(r"a\b {{ 'x' }}", true), r"a\b {{ 'x' }}");
    assert_eq!(rewrite_template(r"{{ '\1' }} \1", true), r"{{ '\\1' }} \1");
    assert_eq!(
        rewrite_template(r"{# '\1' #}{% raw %}{{ '\1' }}{% endraw %}{{ '\1' }}", true),
        r"{# '\1' #}{% raw %}{{ '\1' }}{% endraw %}{{ '\\1' }}"
    );
    assert_eq!(
        rewrite_template(r"{% if x == '%}\1' %}{{ '\2' }}{% endif %}", true),
        r"{% if x == '%}\1' %}{{ '\\2' }}{% endif %}"
    );
}

#[test]
fn an_expression_ends_only_when_its_brackets_balance() {
    assert_eq!(
        rewrite_template(r"{{ {'a': {'b': '\1'}}}} '\2'", true),
        r"{{ {'a': {'b': '\\1'}}}} '\2'"
    );
    assert_eq!(rewrite_expression(r"x ~ '}}\1'", true), r"x ~ '}}\\1'");
}

#[test]
fn text_without_backslashes_is_borrowed() {
    assert!(matches!(
        rewrite_template("{{ 'x' }}", true),
        std::borrow::Cow::Borrowed(_)
    ));
}

#[test]
fn percent_formatting_of_a_literal_works_everywhere() {
    assert_eq!(render("{{ '%s:%d' % ('port', 80) }}", json!({})), "port:80");
    assert_eq!(
        render("{% set x = '%05.1f' % n %}{{ x }}", json!({"n": 4.56789})),
        "004.6"
    );
    assert_eq!(file_text("{{ '%-4s|' % name | upper }}"), "WEB |");
    let t = Templar::new();
    assert!(t.eval_bool("'%d%%' % 5 == '5%'", &Vars::new()).unwrap());
}

fn file_text(text: &str) -> String {
    Templar::new()
        .render_file("t.j2", text, &vars(json!({"name": "web"})))
        .unwrap()
}

#[test]
fn the_percent_operand_is_what_jinja_binds_to_it() {
    assert_eq!(
        rewrite_expression("'%s' % x.y[0] | upper ~ 'z'", false),
        "('%s' | __tend_percent(x.y[0] | upper)) ~ 'z'"
    );
    assert_eq!(
        rewrite_expression("'%s-%s' % (a, b) if c else d", false),
        "('%s-%s' | __tend_percent((a, b))) if c else d"
    );
    assert_eq!(
        rewrite_template("{% if x == '%' %}{{ y % 2 }}{% endif %}", false),
        "{% if x == '%' %}{{ y % 2 }}{% endif %}"
    );
    assert_eq!(
        rewrite_template(r"{{ '\d%s' % x }}", true),
        r"{{ ('\\d%s' | __tend_percent(x)) }}"
    );
}
