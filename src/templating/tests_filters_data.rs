//! Tests of the data filters (combine, dict2items, flatten, set operations)
//! and of JSON/YAML conversions, against Python's and PyYAML's output.

use serde_json::json;

use super::tests_filters::{e, eval, eval_err};

#[test]
fn flatten_with_levels_and_nulls() {
    assert_eq!(e("[1, [2, [3, [4]]]] | flatten"), json!([1, 2, 3, 4]));
    assert_eq!(
        e("[1, [2, [3, [4]]]] | flatten(levels=1)"),
        json!([1, 2, [3, [4]]])
    );
    assert_eq!(e("[1, [2, [3]]] | flatten(1)"), json!([1, 2, [3]]));
    assert_eq!(e("[1, none, 'None', [2, 'null']] | flatten"), json!([1, 2]));
    assert_eq!(e("[1, none] | flatten(skip_nulls=false)"), json!([1, null]));
}

#[test]
fn set_operations() {
    assert_eq!(e("[1, 2, 2, 3] | union([3, 4])"), json!([1, 2, 3, 4]));
    assert_eq!(e("[1, 2, 3] | intersect([2, 3, 4])"), json!([2, 3]));
    assert_eq!(e("[1, 2, 3] | difference([2])"), json!([1, 3]));
    assert_eq!(
        e("[1, 2, 3] | symmetric_difference([2, 4])"),
        json!([1, 3, 4])
    );
}

#[test]
fn combine_dicts() {
    // The examples of the ansible.builtin.combine documentation.
    assert_eq!(
        e("{'a': 1, 'b': 2} | combine({'b': 3, 'c': 4})"),
        json!({"a": 1, "b": 3, "c": 4})
    );
    assert_eq!(
        e("{'a': 1} | combine({'b': 2}, {'c': 3}, {'a': 4})"),
        json!({"a": 4, "b": 2, "c": 3})
    );
    assert_eq!(
        e("{'a': 1} | combine([{'b': 2}, {'a': 3}])"),
        json!({"a": 3, "b": 2})
    );
    let v = json!({
        "default": {"a": {"x": "default", "y": "default"}, "b": "default", "c": "default",
                    "d": [1, 2], "e": [1, 2]},
        "patch": {"a": {"y": "patch", "z": "patch"}, "b": "patch", "d": [2, 3], "e": [3]},
    });
    assert_eq!(
        eval("default | combine(patch)", v.clone()),
        json!({"a": {"y": "patch", "z": "patch"}, "b": "patch", "c": "default", "d": [2, 3], "e": [3]})
    );
    assert_eq!(
        eval("default | combine(patch, recursive=True)", v.clone())["a"],
        json!({"x": "default", "y": "patch", "z": "patch"})
    );
    assert_eq!(
        eval("default | combine(patch, list_merge='keep')", v.clone())["d"],
        json!([1, 2])
    );
    assert_eq!(
        eval("default | combine(patch, list_merge='append')", v.clone())["d"],
        json!([1, 2, 2, 3])
    );
    assert_eq!(
        eval("default | combine(patch, list_merge='prepend')", v.clone())["d"],
        json!([2, 3, 1, 2])
    );
    assert_eq!(
        eval(
            "default | combine(patch, list_merge='append_rp')",
            v.clone()
        )["d"],
        json!([1, 2, 3])
    );
    assert_eq!(
        eval(
            "default | combine(patch, list_merge='prepend_rp')",
            v.clone()
        )["d"],
        json!([2, 3, 1])
    );
    assert!(
        eval_err("default | combine(patch, list_merge='bogus')", v)
            .message
            .contains("list_merge")
    );
    assert!(
        eval_err("{} | combine(1)", json!({}))
            .message
            .contains("expected dictionaries")
    );
}

#[test]
fn dict2items_and_items2dict() {
    assert_eq!(
        e("{'a': 1, 'b': 2} | dict2items"),
        json!([{"key": "a", "value": 1}, {"key": "b", "value": 2}])
    );
    assert_eq!(
        e("{'Env': 'prod'} | dict2items(key_name='k', value_name='v')"),
        json!([{"k": "Env", "v": "prod"}])
    );
    assert_eq!(
        e("[{'key': 'a', 'value': 1}] | items2dict"),
        json!({"a": 1})
    );
    assert_eq!(
        e(
            "[{'fruit': 'apple', 'color': 'red'}] | items2dict(key_name='fruit', value_name='color')"
        ),
        json!({"apple": "red"})
    );
    assert!(
        eval_err("[1] | dict2items", json!({}))
            .message
            .contains("requires a dictionary")
    );
    assert!(
        eval_err("[{'k': 1}] | items2dict", json!({}))
            .message
            .contains("'key'")
    );
}

#[test]
fn json_filters_match_python() {
    let v = json!({"d": {"b": [1, 2], "a": "é", "c": {"x": null, "f": 1.5}}});
    assert_eq!(
        eval("d | to_json", v.clone()),
        json!(r#"{"b": [1, 2], "a": "\u00e9", "c": {"x": null, "f": 1.5}}"#)
    );
    assert_eq!(
        eval("d | to_nice_json", v.clone()),
        json!(
            "{\n    \"a\": \"\\u00e9\",\n    \"b\": [\n        1,\n        2\n    ],\n    \"c\": {\n        \"f\": 1.5,\n        \"x\": null\n    }\n}"
        )
    );
    assert_eq!(
        eval("d.b | to_nice_json(indent=2)", v.clone()),
        json!("[\n  1,\n  2\n]")
    );
    assert_eq!(eval("d.a | to_json(ensure_ascii=false)", v), json!("\"é\""));
    assert_eq!(
        e("'{\"a\": [1, true]}' | from_json"),
        json!({"a": [1, true]})
    );
    assert!(
        eval_err("'{' | from_json", json!({}))
            .message
            .contains("from_json")
    );
    assert_eq!(e("{} | to_json"), json!("{}"));
}

#[test]
fn yaml_filters_match_pyyaml() {
    let v = json!({"d": {"name": "web", "ports": [80, 443], "env": {"A": "yes", "B": "1"}, "users": [{"n": "a", "g": ["x"]}]}});
    assert_eq!(
        eval("d | to_yaml", v.clone()),
        json!("env: {A: 'yes', B: '1'}\nname: web\nports: [80, 443]\nusers:\n- g: [x]\n  n: a\n")
    );
    assert_eq!(
        eval("d | to_nice_yaml", v.clone()),
        json!(
            "env:\n    A: 'yes'\n    B: '1'\nname: web\nports:\n- 80\n- 443\nusers:\n-   g:\n    - x\n    n: a\n"
        )
    );
    assert_eq!(
        eval("d | to_nice_yaml(indent=2)", v),
        json!(
            "env:\n  A: 'yes'\n  B: '1'\nname: web\nports:\n- 80\n- 443\nusers:\n- g:\n  - x\n  n: a\n"
        )
    );
    assert_eq!(e("'abc' | to_yaml"), json!("abc\n"));
    assert_eq!(e("'yes' | to_yaml"), json!("'yes'\n"));
    assert_eq!(
        e("[[1, 2], [3]] | to_nice_yaml"),
        json!("-   - 1\n    - 2\n-   - 3\n")
    );
    assert_eq!(
        e(
            "{'a': 'x: y', 'b': '', 'c': 'multi\\nline', 'd': \"it's\", 'e': '#c', 'f': 1.0} | to_yaml"
        ),
        json!("{a: 'x: y', b: '', c: \"multi\\nline\", d: it's, e: '#c', f: 1.0}\n")
    );
    assert_eq!(
        e("{'a': {}, 'b': []} | to_nice_yaml"),
        json!("a: {}\nb: []\n")
    );
    assert_eq!(
        e("{'z': 1, 'a': 2} | to_nice_yaml(sort_keys=false)"),
        json!("z: 1\na: 2\n")
    );
    // Expected outputs below are PyYAML 6's, as Ansible calls it.
    assert_eq!(e("none | to_yaml"), json!("null\n"));
    assert_eq!(e("1e16 | to_yaml"), json!("1.0e+16\n"));
    assert_eq!(
        e("[{'a': 1, 'b': {'c': 2}}] | to_yaml"),
        json!("- a: 1\n  b: {c: 2}\n")
    );
    assert_eq!(
        e("[{'a': 1, 'b': {'c': [1, {'d': 2}]}}] | to_nice_yaml"),
        json!("-   a: 1\n    b:\n        c:\n        - 1\n        -   d: 2\n")
    );
    assert_eq!(
        e("{'k': ['a,b', 'c:d', '-x', '- y', '?q', 'a #b', 'on', '0755', '08', '1e3']} | to_yaml"),
        json!("k: ['a,b', 'c:d', -x, '- y', '?q', 'a #b', 'on', '0755', 08, 1e3]\n")
    );
    assert_eq!(
        e(
            "{'k': ['1.5', '2001-01-01', 'null', '~', 'x y', ' lead', 'trail ', 'tab\\there', '@at', 'é']} | to_yaml"
        ),
        json!(
            "k: ['1.5', '2001-01-01', 'null', '~', x y, ' lead', 'trail ', \"tab\\there\", '@at', é]\n"
        )
    );
    assert_eq!(
        e("{'k': [none, true, 1.5, -0.0]} | to_yaml"),
        json!("k: [null, true, 1.5, -0.0]\n")
    );
}

#[test]
fn from_yaml_reads_yaml_1_1_scalars() {
    let text = "a: yes\nb: 'yes'\nc: 0755\nd: 1.5\ne: ~\nf: [x, 2]\ng:\n  - k: v\nh: &anchor {x: 1}\ni:\n  <<: *anchor\n  y: 2\n";
    let v = json!({"text": text});
    assert_eq!(
        eval("text | from_yaml", v),
        json!({"a": true, "b": "yes", "c": 493, "d": 1.5, "e": null, "f": ["x", 2], "g": [{"k": "v"}],
               "h": {"x": 1}, "i": {"x": 1, "y": 2}})
    );
    assert_eq!(
        e("'---\\na: 1\\n---\\nb: 2\\n' | from_yaml_all"),
        json!([{"a": 1}, {"b": 2}])
    );
    assert_eq!(e("'' | from_yaml"), json!(null));
    assert!(
        eval_err("'a: [1' | from_yaml", json!({}))
            .message
            .contains("from_yaml")
    );
    // Round trip through our own emitter.
    let data = json!({"s": "on", "n": "12", "l": ["- x", "a: b"], "m": {"k": "#v"}});
    assert_eq!(
        eval("d | to_nice_yaml | from_yaml", json!({"d": data.clone()})),
        data
    );
    assert_eq!(
        eval("d | to_yaml | from_yaml", json!({"d": data.clone()})),
        data
    );
}
