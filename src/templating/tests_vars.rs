//! Tests of variables: layers, lazy templating of variables that refer to
//! variables (and loops among them), hostvars, and lookups.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;

use super::tests_render::vars;
use super::*;

#[test]
fn variables_referring_to_variables_are_templated_lazily() {
    let t = Templar::new();
    let v = vars(json!({
        "app": "shop",
        "dir": "/srv/{{ app }}",
        "bin": "{{ dir }}/bin",
        "ports": "{{ [80, 443] }}",
        "cfg": {"url": "http://{{ app }}:{{ ports[0] }}", "list": ["{{ app }}"]},
        "maybe": "{{ nothing_here }}",
    }));
    assert_eq!(t.render_str("{{ bin }}", &v).unwrap(), "/srv/shop/bin");
    assert_eq!(
        t.render_str("{{ bin | upper }}", &v).unwrap(),
        "/SRV/SHOP/BIN"
    );
    assert_eq!(t.eval("ports | length", &v).unwrap(), json!(2));
    assert_eq!(
        t.eval("cfg", &v).unwrap(),
        json!({"url": "http://shop:80", "list": ["shop"]})
    );
    assert_eq!(
        t.render_value(&json!("{{ bin }}"), &v).unwrap(),
        json!("/srv/shop/bin")
    );
    // A variable whose template is undefined behaves as undefined...
    assert_eq!(t.render_str("{{ maybe | default('d') }}", &v).unwrap(), "d");
    assert!(!t.eval_bool("maybe is defined", &v).unwrap());
    // ...and printing it names the variable really missing.
    let err = t.render_str("{{ maybe }}", &v).unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("nothing_here"));
    assert!(
        err.message.contains("'nothing_here' is undefined"),
        "{}",
        err.message
    );
    assert!(err.message.contains("maybe"), "{}", err.message);
}

#[test]
fn a_recursive_loop_is_an_error_not_a_stack_overflow() {
    let t = Templar::new();
    let v = vars(json!({"a": "{{ b }}", "b": "x{{ c }}", "c": "{{ a }}", "self": "{{ self }}/x"}));
    let err = t.render_str("{{ a }}", &v).unwrap_err();
    assert!(
        err.message.contains("recursive loop detected"),
        "{}",
        err.message
    );
    assert!(err.message.contains("a -> b -> c -> a"), "{}", err.message);
    let err = t.render_value(&json!({"p": "{{ self }}"}), &v).unwrap_err();
    assert!(err.message.contains("recursive loop"), "{}", err.message);
}

#[test]
fn deep_chains_stop_at_the_depth_limit_on_a_small_stack() {
    // tokio worker threads have 2 MiB stacks; a long chain must fail cleanly.
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let mut map = serde_json::Map::new();
            for i in 0..100 {
                map.insert(format!("v{i}"), json!(format!("{{{{ v{} }}}}", i + 1)));
            }
            map.insert("v100".into(), json!("end"));
            let t = Templar::new();
            let v = vars(Value::Object(map));
            (t.render_str("{{ v90 }}", &v), t.render_str("{{ v0 }}", &v))
        })
        .unwrap();
    let (short, long) = handle.join().unwrap();
    assert_eq!(short.unwrap(), "end");
    assert!(long.unwrap_err().message.contains("levels deep"));
}

#[test]
fn unsafe_layers_and_set_are_not_templated() {
    let t = Templar::new();
    let mut v = Vars::new();
    v.push_layer(Arc::new(
        json!({"a": "{{ 1 + 1 }}"}).as_object().unwrap().clone(),
    ));
    v.push_unsafe_layer(Arc::new(
        json!({"out": "{{ raw }}"}).as_object().unwrap().clone(),
    ));
    v.set("item", json!("{{ literal }}"));
    assert_eq!(
        t.render_str("{{ a }} {{ out }} {{ item }}", &v).unwrap(),
        "2 {{ raw }} {{ literal }}"
    );
}

#[test]
fn later_layers_win_and_vars_is_the_whole_context() {
    let t = Templar::new();
    let mut v = Vars::new();
    v.push_layer(Arc::new(
        json!({"x": 1, "y": 1}).as_object().unwrap().clone(),
    ));
    v.push_layer(Arc::new(
        json!({"x": 2, "name_web": "w"})
            .as_object()
            .unwrap()
            .clone(),
    ));
    assert_eq!(v.get("x"), Some(json!(2)));
    assert!(v.contains("y") && !v.contains("z"));
    assert_eq!(
        t.render_str("{{ x }}{{ y }} {{ vars['name_' ~ 'web'] }}", &v)
            .unwrap(),
        "21 w"
    );
}

#[test]
fn hostvars_are_resolved_per_host_on_demand() {
    let t = Templar::new();
    let mut hosts = BTreeMap::new();
    hosts.insert(
        "web1".to_string(),
        vars(json!({"ip": "10.0.0.1", "url": "http://{{ ip }}"})),
    );
    hosts.insert(
        "web2".to_string(),
        vars(json!({"ip": "10.0.0.2", "url": "http://{{ ip }}"})),
    );
    let mut v = vars(json!({"groups": {"web": ["web1", "web2"]}}));
    v.set_hostvars(Arc::new(hosts));
    let out = t
        .render_str(
            "{% for h in groups.web %}{{ hostvars[h].url }} {% endfor %}",
            &v,
        )
        .unwrap();
    assert_eq!(out, "http://10.0.0.1 http://10.0.0.2 ");
    let ips = t
        .eval("groups.web | map('extract', hostvars, 'ip') | list", &v)
        .unwrap();
    assert_eq!(ips, json!(["10.0.0.1", "10.0.0.2"]));
    assert_eq!(
        t.eval("hostvars | list", &v).unwrap(),
        json!(["web1", "web2"])
    );
    assert!(t.eval_bool("hostvars['nohost'] is undefined", &v).unwrap());

    let mut v = Vars::new();
    v.set_hostvars(Arc::new(HostVarsFn {
        names: vec!["db".to_string()],
        get: |host: &str| (host == "db").then(|| vars(json!({"port": 5432}))),
    }));
    assert_eq!(t.eval("hostvars.db.port", &v).unwrap(), json!(5432));
}

#[test]
fn lookup_file_env_and_query() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("files")).unwrap();
    std::fs::write(dir.path().join("files/motd"), "hello\n\n").unwrap();
    std::fs::write(dir.path().join("tpl.j2"), "v={{ x }}").unwrap();
    let t = Templar::new();
    let mut v = vars(json!({"x": 3}));
    v.add_search_path(dir.path());
    assert_eq!(
        t.render_str("{{ lookup('file', 'motd') }}", &v).unwrap(),
        "hello"
    );
    assert_eq!(
        t.render_str("{{ lookup('ansible.builtin.template', 'tpl.j2') }}", &v)
            .unwrap(),
        "v=3"
    );
    let home = std::env::var("HOME").unwrap_or_default();
    assert_eq!(
        t.render_str("{{ lookup('env', 'HOME') }}", &v).unwrap(),
        home
    );
    assert_eq!(
        t.render_str("{{ lookup('env', 'TEND_NO_SUCH_VAR', default='d') }}", &v)
            .unwrap(),
        "d"
    );
    assert_eq!(
        t.eval("query('items', [1, [2, 3]])", &v).unwrap(),
        json!([1, 2, 3])
    );
    assert_eq!(
        t.eval("q('list', ['a', 'b'])", &v).unwrap(),
        json!(["a", "b"])
    );
    assert_eq!(
        t.eval("lookup('items', ['a', 'b'])", &v).unwrap(),
        json!("a,b")
    );
    assert_eq!(
        t.eval("lookup('pipe', 'echo hi')", &v).unwrap(),
        json!("hi")
    );
    assert_eq!(
        t.eval("query('dict', {'a': 1})", &v).unwrap(),
        json!([{"key": "a", "value": 1}])
    );
    assert_eq!(t.eval("lookup('vars', 'x')", &v).unwrap(), json!(3));
    let found = t
        .eval("lookup('first_found', ['nothere', 'motd'])", &v)
        .unwrap();
    assert!(found.as_str().unwrap().ends_with("files/motd"), "{found}");
    let globbed = t.eval("query('fileglob', '*')", &v).unwrap();
    assert_eq!(globbed.as_array().map(Vec::len), Some(1));
    let err = t
        .render_str("{{ lookup('file', 'missing.txt') }}", &v)
        .unwrap_err();
    assert!(
        err.message.contains("could not locate file"),
        "{}",
        err.message
    );
    assert_eq!(
        t.eval("lookup('file', 'missing.txt', errors='ignore')", &v)
            .unwrap(),
        json!("")
    );
}

#[test]
fn nested_values_are_templated_key_by_key() {
    let t = Templar::new();
    let v = vars(json!({
        "app": {"name": "shop", "dir": "/srv/{{ app.name }}", "port": "{{ port }}", "list": ["{{ app.name }}", 2]},
        "port_in": {"port": "{{ 8000 + 80 }}"},
    }));
    // A key may refer to a sibling, as in Ansible 2.19.
    assert_eq!(t.render_str("{{ app.dir }}", &v).unwrap(), "/srv/shop");
    assert_eq!(t.eval("app.list", &v).unwrap(), json!(["shop", 2]));
    assert_eq!(t.eval("app.list[-1]", &v).unwrap(), json!(2));
    assert_eq!(t.eval("port_in.port", &v).unwrap(), json!(8080));
    // An undefined key does not break the others, and can be defaulted.
    assert_eq!(
        t.render_str("{{ app.port | default(80) }}", &v).unwrap(),
        "80"
    );
    assert!(t.eval_bool("app.port is undefined", &v).unwrap());
    let err = t.render_str("{{ app.port }}", &v).unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("port"));
    assert!(
        err.message.contains("used by variable 'app.port'"),
        "{}",
        err.message
    );
    // Using the whole map needs every key.
    let err = t.render_value(&json!({"u": "{{ app }}"}), &v).unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("port"));
    let err = t.render_str("{{ app }}", &v).unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("port"));
}

#[test]
fn lazy_lists_and_maps_behave_like_plain_ones() {
    let t = Templar::new();
    let v = vars(json!({
        "l": [3, 1, 2], "m": {"b": 2, "a": 1}, "users": [{"n": "x", "g": ["a"]}], "empty": [], "e2": {},
        "ports": {"80": "http"},
    }));
    for (expr, want) in [
        ("l | sort", json!([1, 2, 3])),
        ("l | length", json!(3)),
        ("l + [4]", json!([3, 1, 2, 4])),
        ("l[1:]", json!([1, 2])),
        ("l | reverse | list", json!([2, 1, 3])),
        ("2 in l", json!(true)),
        ("l == [3, 1, 2]", json!(true)),
        ("m == {'b': 2, 'a': 1}", json!(true)),
        ("'a' in m", json!(true)),
        ("m | dictsort", json!([["a", 1], ["b", 2]])),
        ("m.items() | list", json!([["b", 2], ["a", 1]])),
        (
            "m | dict2items | map(attribute='key') | list",
            json!(["b", "a"]),
        ),
        ("m | combine({'c': 3})", json!({"b": 2, "a": 1, "c": 3})),
        ("m | to_json", json!("{\"b\": 2, \"a\": 1}")),
        ("users | map(attribute='n') | list", json!(["x"])),
        ("users[0].g | first", json!("a")),
        (
            "users | subelements('g')",
            json!([[{"n": "x", "g": ["a"]}, "a"]]),
        ),
        ("empty | default('d', true)", json!("d")),
        ("e2 is mapping", json!(true)),
        ("l is sequence", json!(true)),
        ("ports[80]", json!("http")),
        ("m.keys() | list", json!(["b", "a"])),
        ("m.get('z', 0)", json!(0)),
    ] {
        assert_eq!(t.eval(expr, &v).unwrap(), want, "{expr}");
    }
    assert_eq!(
        t.render_str("{{ m }} {{ l }} {{ empty }}", &v).unwrap(),
        "{'b': 2, 'a': 1} [3, 1, 2] []"
    );
    assert_eq!(
        t.render_str(
            "{% for k, val in m.items() %}{{ k }}{{ val }}{% endfor %}",
            &v
        )
        .unwrap(),
        "b2a1"
    );
    assert!(!t.eval_bool("empty", &v).unwrap());
    assert!(t.eval_bool("l", &v).unwrap());
}
