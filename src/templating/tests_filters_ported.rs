//! Tests of the filters and functions ported from Jinja2's and Ansible's
//! Python code; expected values are what Python 3.11 with Jinja2 3.1 and
//! ansible-core 2.19 produce for the same input.

use serde_json::json;

use super::percent::percent_format;
use super::tests_filters::{e, eval_err};
use super::tests_render::render;

#[test]
fn jinja_text_filters() {
    assert_eq!(
        render(
            "{{ 'abc' | center(8) }}|{{ 'ab' | center(7) }}|{{ 'hello world foo bar baz' | truncate(12) }}|{{ 'x_y z-é' | wordcount }}",
            json!({})
        ),
        "  abc   |   ab  |hello...|3"
    );
    assert_eq!(
        render(
            "{{ 'a long sentence here' | truncate(10, True, '...') }}",
            json!({})
        ),
        "a long ..."
    );
    assert_eq!(render("{{ 'short' | truncate(3) }}", json!({})), "short");
}

#[test]
fn filesizeformat_like_jinja() {
    assert_eq!(
        render(
            "{{ 999 | filesizeformat }}|{{ 1 | filesizeformat }}|{{ 2048 | filesizeformat(true) }}|{{ 1000000 | filesizeformat }}",
            json!({})
        ),
        "999 Bytes|1 Byte|2.0 KiB|1.0 MB"
    );
}

#[test]
fn replace_takes_a_count() {
    assert_eq!(e("'a-b-c' | replace('-', '+', 1)"), json!("a+b-c"));
    assert_eq!(e("'a-b-c' | replace('-', '+')"), json!("a+b+c"));
    assert_eq!(e("'a-b-c' | replace('-', '', count=2)"), json!("abc"));
}

#[test]
fn dict_from_pairs_mappings_and_keywords() {
    assert_eq!(e("dict(['x', 'y'] | zip([1, 2]))"), json!({"x": 1, "y": 2}));
    assert_eq!(e("dict({'a': 1}, b=2)"), json!({"a": 1, "b": 2}));
    assert_eq!(e("dict(a=1)"), json!({"a": 1}));
    let err = eval_err("dict([[1, 2, 3]])", json!({}));
    assert!(
        err.message.contains("has length 3; 2 is required"),
        "{}",
        err.message
    );
}

#[test]
fn urlencode_like_jinja() {
    assert_eq!(
        render(
            "{{ 'a b/c' | urlencode }}|{{ [('a', '1 2'), ('b', '&')] | urlencode }}|{{ {'b': 'x y'} | urlencode }}",
            json!({})
        ),
        "a%20b/c|a=1+2&b=%26|b=x+y"
    );
}

#[test]
fn urlsplit_like_python() {
    let url = "'HTTPS://user:pw@Example.COM:8443/p/a?q=1#frag'";
    assert_eq!(
        e(&format!("{url} | urlsplit")),
        json!({
            "fragment": "frag", "hostname": "example.com", "netloc": "user:pw@Example.COM:8443",
            "password": "pw", "path": "/p/a", "port": 8443, "query": "q=1", "scheme": "https",
            "username": "user"
        })
    );
    assert_eq!(
        e("'http://[::1]:80/x' | urlsplit('hostname')"),
        json!("::1")
    );
    assert_eq!(e("'/just/path' | urlsplit('hostname')"), json!(null));
    let err = eval_err("'http://h/' | urlsplit('nope')", json!({}));
    assert!(
        err.message.contains("unknown URL component: nope"),
        "{}",
        err.message
    );
}

#[test]
fn normpath_like_posixpath() {
    for (path, want) in [
        ("", "."),
        ("/..", "/"),
        ("//a//b/", "//a/b"),
        ("///a", "/a"),
        ("a/./b/../../..", ".."),
        ("./", "."),
        ("a/../b", "b"),
    ] {
        assert_eq!(e(&format!("'{path}' | normpath")), json!(want), "{path:?}");
    }
}

#[test]
fn comment_styles_and_overrides() {
    assert_eq!(e("'managed' | comment"), json!("#\n# managed\n#"));
    assert_eq!(e("'a\\nb' | comment('c')"), json!("//\n// a\n// b\n//"));
    assert_eq!(e("'x' | comment('cblock')"), json!("/*\n *\n * x\n *\n */"));
    assert_eq!(e("'x' | comment('xml')"), json!("<!--\n -\n - x\n -\n-->"));
    assert_eq!(e("'x' | comment(decoration='; ')"), json!(";\n; x\n;"));
    assert_eq!(
        e("'x' | comment(prefix_count=2, postfix='end')"),
        json!("#\n#\n# x\nend")
    );
    assert!(
        eval_err("'x' | comment('nope')", json!({}))
            .message
            .contains("Invalid style 'nope'")
    );
}

#[test]
fn human_sizes_like_ansible() {
    assert_eq!(e("1048576 | human_readable"), json!("1.00 MB"));
    assert_eq!(e("1536 | human_readable"), json!("1.50 KB"));
    assert_eq!(e("10 | human_readable"), json!("10.00 Bytes"));
    assert_eq!(e("1048576 | human_readable(isbits=True)"), json!("1.00 Mb"));
    assert_eq!(e("1048576 | human_readable(unit='K')"), json!("1024.00 KB"));
    assert_eq!(e("'1K' | human_to_bytes"), json!(1024));
    assert_eq!(e("'1.5M' | human_to_bytes"), json!(1_572_864));
    assert_eq!(e("'10 KB' | human_to_bytes"), json!(10_240));
    assert_eq!(e("'2' | human_to_bytes('K')"), json!(2048));
    assert_eq!(e("'1Mb' | human_to_bytes(isbits=True)"), json!(1_048_576));
    assert_eq!(e("'3kilobyte' | human_to_bytes"), json!(3072));
    assert!(
        eval_err("'1Mb' | human_to_bytes", json!({}))
            .message
            .contains("expect MB or M")
    );
    assert!(
        eval_err("'x' | human_to_bytes", json!({}))
            .message
            .contains("can't interpret")
    );
}

#[test]
fn product_is_the_cartesian_product() {
    assert_eq!(
        e("['a', 'b'] | product([1, 2]) | map('join', '-') | list"),
        json!(["a-1", "a-2", "b-1", "b-2"])
    );
    assert_eq!(e("[0, 1] | product(repeat=2) | length"), json!(4));
}

#[test]
fn random_picks_from_a_list_or_a_range() {
    assert_eq!(
        e("[1, 2, 3] | random(seed='x')"),
        e("[1, 2, 3] | random(seed='x')")
    );
    let n = e("10 | random(start=5, step=2)").as_i64().unwrap();
    assert!([5, 7, 9].contains(&n), "{n}");
    assert!(
        eval_err("[] | random", json!({}))
            .message
            .contains("empty sequence")
    );
    assert!(
        eval_err("[1] | random(start=1)", json!({}))
            .message
            .contains("integer values")
    );
}

#[test]
fn dates_and_now() {
    assert_eq!(
        e("'2024-01-02' | to_datetime('%Y-%m-%d')"),
        json!("2024-01-02 00:00:00")
    );
    assert_eq!(
        e("'2016-08-14 20:00:12' | to_datetime"),
        json!("2016-08-14 20:00:12")
    );
    assert!(
        eval_err("'2024' | to_datetime", json!({}))
            .message
            .contains("does not match format")
    );
    assert_eq!(
        e("'%Y-%m-%d %H:%M' | strftime(0)"),
        json!("1970-01-01 00:00")
    );
    assert_eq!(e("now(fmt='%Y') | length"), json!(4));
    assert_eq!(e("now() is string"), json!(true));
}

#[test]
fn percent_formatting_like_python() {
    let f = |fmt: &str, v: serde_json::Value| {
        let v = super::convert::json_to_mj(&v);
        percent_format(fmt, &v).unwrap()
    };
    assert_eq!(f("%5.2f|", json!(4.56789)), " 4.57|");
    assert_eq!(f("%-6d|", json!(42)), "42    |");
    assert_eq!(f("%+d", json!(5)), "+5");
    assert_eq!(
        f("%x %X %#x %o %#o", json!([255, 255, 255, 8, 8])),
        "ff FF 0xff 10 0o10"
    );
    assert_eq!(f("%e", json!(12345.678)), "1.234568e+04");
    assert_eq!(f("%g", json!(0.0001234)), "0.0001234");
    assert_eq!(f("%g", json!(123456789.0)), "1.23457e+08");
    assert_eq!(f("%g", json!(100.0)), "100");
    assert_eq!(f("%c", json!(65)), "A");
    assert_eq!(f("%r", json!("a")), "'a'");
    assert_eq!(f("%(a)s-%(b)03d", json!({"a": "x", "b": 7})), "x-007");
    assert_eq!(f("%.2s", json!("abc")), "ab");
    assert_eq!(f("%05d", json!(-42)), "-0042");
    assert_eq!(f("%10.3e", json!(1.5)), " 1.500e+00");
    assert_eq!(f("100%%", json!([])), "100%");
    let err = |fmt: &str, v: serde_json::Value| {
        percent_format(fmt, &super::convert::json_to_mj(&v)).unwrap_err()
    };
    assert_eq!(
        err("%s %s", json!("a")),
        "not enough arguments for format string"
    );
    assert_eq!(
        err("x", json!(5)),
        "not all arguments converted during string formatting"
    );
    // With one conversion a list is the argument (Jinja has no tuples).
    assert_eq!(f("%s", json!(["a", "b"])), "['a', 'b']");
    assert!(err("%d", json!("x")).contains("a real number is required"));
}
