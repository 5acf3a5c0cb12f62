//! Tests of template files as the template module renders them: trailing
//! newlines, the `#jinja2:` header line, the template variables, and the
//! dates they show.

use std::sync::Arc;

use serde_json::json;

use super::datetime::DateTime;
use super::header::{TemplateOptions, split_header};
use super::template_vars::user_with_uid;
use super::tests_render::{render, vars};
use super::*;

fn file(text: &str, v: Value) -> String {
    match Templar::new().render_file("t.j2", text, &vars(v)) {
        Ok(s) => s,
        Err(e) => panic!("render of {text:?} failed: {e}"),
    }
}

#[test]
fn a_value_ending_in_a_newline_gets_no_second_one() {
    let v = json!({"lines": "a;\nb;\n"});
    assert_eq!(file("# x\n{{ lines }}\n", v.clone()), "# x\na;\nb;\n");
    assert_eq!(render("{{ lines }}\n", v.clone()), "a;\nb;\n");
    // The template's newlines that the output lacks are still added.
    assert_eq!(file("{{ lines }}\n\n\n", v), "a;\nb;\n\n\n");
    assert_eq!(file("x\n\n", json!({})), "x\n\n");
    assert_eq!(file("x", json!({})), "x");
}

#[test]
fn a_jinja2_header_sets_the_options_and_is_not_output() {
    let text = "#jinja2: trim_blocks: False, lstrip_blocks: True\n[main]\n  {% if on %}\nenabled = yes\n  {% endif %}\nend\n";
    assert_eq!(
        file(text, json!({"on": true})),
        "[main]\n\nenabled = yes\n\nend\n"
    );
}

#[test]
fn a_jinja2_header_may_change_delimiters_and_newlines() {
    let text = "#jinja2: variable_start_string: '[%', variable_end_string: '%]', newline_sequence: '\\r\\n'\n[% x %] {{ y }}\n";
    assert_eq!(file(text, json!({"x": 1})), "1 {{ y }}\r\n");
}

#[test]
fn a_bad_jinja2_header_is_an_error() {
    let defaults = TemplateOptions::new(true, false);
    for (text, why) in [
        ("#jinja2: trim_blocks: False", "missing newline"),
        (
            "#jinja2: nope: True\n",
            "invalid '#jinja2:' override key 'nope'",
        ),
        ("#jinja2: trim_blocks\n", "missing key-value separator"),
        ("#jinja2: trim_blocks: yes\n", "needs True or False"),
        (
            "#jinja2: trim_blocks: True,\n",
            "empty '#jinja2:' override pair",
        ),
    ] {
        let err = split_header(text, &defaults).unwrap_err();
        assert!(err.message.contains(why), "{text:?}: {}", err.message);
    }
    let (options, body) = split_header("no header\n", &defaults).unwrap();
    assert_eq!((options, body), (defaults, "no header\n"));
}

#[test]
fn errors_after_a_header_count_lines_from_the_file_start() {
    let err = Templar::new()
        .render_file(
            "t.j2",
            "#jinja2: lstrip_blocks: True\na\n{{ nope }}\n",
            &Vars::new(),
        )
        .unwrap_err();
    assert_eq!(err.line, Some(3));
}

#[test]
fn templates_see_the_template_variables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("motd.j2");
    std::fs::write(&path, "x").unwrap();
    let source = TemplateSource {
        src: "motd.j2",
        fullpath: &path,
        dest: "/etc/motd",
    };
    let v = with_template_vars(&vars(json!({"name": "web"})), &source);
    let out = Templar::new()
        .render_file(
            "t.j2",
            "{{ ansible_managed }}|{{ template_path }}|{{ template_destpath }}|{{ template_fullpath == full }}|{{ template_host | length > 0 }}|{{ template_run_date is string }}|{{ name }}",
            &{
                let mut v = v;
                v.set("full", json!(path.display().to_string()));
                v
            },
        )
        .unwrap();
    assert_eq!(out, "Ansible managed|motd.j2|/etc/motd|True|True|True|web");
}

#[test]
fn a_play_s_ansible_managed_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.j2");
    std::fs::write(&path, "x").unwrap();
    let source = TemplateSource {
        src: "t.j2",
        fullpath: &path,
        dest: "/d",
    };
    let mut base = Vars::new();
    base.push_layer(Arc::new(
        json!({"ansible_managed": "by {{ who }}", "who": "ops"})
            .as_object()
            .cloned()
            .unwrap(),
    ));
    let v = with_template_vars(&base, &source);
    let out = Templar::new()
        .render_file("t.j2", "{{ ansible_managed }}", &v)
        .unwrap();
    assert_eq!(out, "by ops");
}

#[test]
fn the_owner_is_read_from_passwd() {
    let passwd = "root:x:0:0:root:/root:/bin/bash\nops:x:1000:1000::/home/ops:/bin/sh\n";
    assert_eq!(user_with_uid(passwd, 1000).as_deref(), Some("ops"));
    assert_eq!(user_with_uid(passwd, 0).as_deref(), Some("root"));
    assert_eq!(user_with_uid(passwd, 7), None);
}

#[test]
fn dates_print_as_python_datetimes() {
    let dt = DateTime::from_unix(1_704_164_645, 0);
    assert_eq!(dt.to_string(), "2024-01-02 03:04:05");
    assert_eq!(
        DateTime::from_unix(0, 120).to_string(),
        "1970-01-01 00:00:00.000120"
    );
    assert_eq!(dt.unix(), 1_704_164_645);
    assert_eq!(
        dt.format("%Y/%m/%d %H:%M:%S %j %b %B %%"),
        "2024/01/02 03:04:05 002 Jan January %"
    );
}

#[test]
fn dates_parse_like_strptime() {
    let dt = DateTime::parse("2024-01-02", "%Y-%m-%d").unwrap();
    assert_eq!(dt.to_string(), "2024-01-02 00:00:00");
    let dt = DateTime::parse("29 Feb 2024 10:11:12.5", "%d %b %Y %H:%M:%S.%f").unwrap();
    assert_eq!(dt.to_string(), "2024-02-29 10:11:12.500000");
    assert!(DateTime::parse("2023-02-29", "%Y-%m-%d").is_err());
    assert!(DateTime::parse("2024-01-02 x", "%Y-%m-%d").is_err());
    assert!(DateTime::parse("2024/01/02", "%Y-%m-%d").is_err());
}
