//! The small parsers on their own: Python literals, shell words, host
//! ranges and ports.

use serde_json::json;

use crate::inventory::literal::parse_value;
use crate::inventory::range::{HostSpec, parse_host_entry};
use crate::inventory::shlex::{Word, split};

#[test]
fn python_literals_as_literal_eval_reads_them() {
    let cases = [
        ("0", json!(0)),
        ("00", json!(0)),
        ("-12", json!(-12)),
        ("+7", json!(7)),
        ("1_000", json!(1000)),
        ("0o17", json!(15)),
        ("0b101", json!(5)),
        ("0xFF", json!(255)),
        ("18446744073709551615", json!(18446744073709551615u64)),
        ("1.5", json!(1.5)),
        (".5", json!(0.5)),
        ("5.", json!(5.0)),
        ("1e3", json!(1000.0)),
        ("-2.5e-1", json!(-0.25)),
        ("True", json!(true)),
        ("None", json!(null)),
        ("'single'", json!("single")),
        ("\"double\"", json!("double")),
        ("'a' \"b\"", json!("ab")),
        ("'tab\\there'", json!("tab\there")),
        ("'\\x41\\u00e9\\101'", json!("Aé\u{41}")),
        ("r'raw\\n'", json!("raw\\n")),
        ("b'bytes'", json!("bytes")),
        ("'''triple ' quote'''", json!("triple ' quote")),
        ("[1, 'two', [3]]", json!([1, "two", [3]])),
        ("[1, 2,]", json!([1, 2])),
        ("(1, 2)", json!([1, 2])),
        ("(1)", json!(1)),
        ("()", json!([])),
        ("1, 2", json!([1, 2])),
        (
            "{'a': 1, 2: [None], True: 'x'}",
            json!({"a": 1, "2": [null], "True": "x"}),
        ),
        ("{}", json!({})),
        ("{1, 2}", json!([1, 2])),
        ("  42  # comment", json!(42)),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_value(text), expected, "literal {text:?}");
    }
}

#[test]
fn anything_else_stays_the_text_itself() {
    for text in [
        "",
        "yes",
        "true",
        "FALSE",
        "null",
        "0644",
        "08",
        "1_",
        "1__0",
        "1.2.3",
        "1j",
        "inf",
        "nan",
        "--5",
        "-True",
        "foo bar",
        "web1",
        "10.0.0.1",
        "a=b",
        "'unclosed",
        "[1, 2",
        "{'a' 1}",
        "f'x'",
        "set()",
        "{[1]: 2}",
        "'\\x4'",
        "1 2",
        "~/.ssh/id_rsa",
        "/usr/bin/python3",
    ] {
        assert_eq!(parse_value(text), json!(text), "{text:?} is not a literal");
    }
}

fn words(line: &str) -> Vec<(String, usize)> {
    split(line)
        .unwrap()
        .into_iter()
        .map(|Word { text, start }| (text, start))
        .collect()
}

#[test]
fn shell_words_with_quotes_escapes_and_comments() {
    assert_eq!(
        words("h k='a b'  j=\"c d\""),
        [("h".into(), 0), ("k=a b".into(), 2), ("j=c d".into(), 11)]
    );
    assert_eq!(
        words(r#"a\ b "q\"x\n" 'it''s'"#),
        [("a b".into(), 0), ("q\"x\\n".into(), 5), ("its".into(), 14)]
    );
    assert_eq!(words("h x=1#c y=2"), [("h".into(), 0), ("x=1".into(), 2)]);
    assert_eq!(words("h '#' # rest"), [("h".into(), 0), ("#".into(), 2)]);
    assert_eq!(words("h ''"), [("h".into(), 0), ("".into(), 2)]);
    assert!(split("h 'open").is_err());
    assert!(split("h \"open").is_err());
    assert!(split("h trailing\\").is_err());
}

fn entry(text: &str) -> HostSpec {
    parse_host_entry(text).unwrap()
}

#[test]
fn host_entries_with_ports_ranges_and_addresses() {
    assert_eq!(
        entry("web1"),
        HostSpec {
            names: vec!["web1".into()],
            port: None
        }
    );
    assert_eq!(entry("web1:22").port, Some(22));
    assert_eq!(
        entry("10.0.0.1:2222"),
        HostSpec {
            names: vec!["10.0.0.1".into()],
            port: Some(2222)
        }
    );
    assert_eq!(
        entry("[::1]:22"),
        HostSpec {
            names: vec!["::1".into()],
            port: Some(22)
        }
    );
    assert_eq!(
        entry("[fe80::1]"),
        HostSpec {
            names: vec!["fe80::1".into()],
            port: None
        }
    );
    assert_eq!(entry("fe80::1").names, ["fe80::1"]);
    assert_eq!(
        entry("web[1:2]:8022"),
        HostSpec {
            names: vec!["web1".into(), "web2".into()],
            port: Some(8022)
        }
    );
    assert_eq!(
        entry("h[:2]").names,
        ["h0", "h1", "h2"],
        "an empty begin is 0"
    );
    assert_eq!(entry("h[08:10]").names, ["h08", "h09", "h10"]);
    assert_eq!(
        entry("h[y:B]").names,
        ["hy", "hz", "hA", "hB"],
        "letters run a-z then A-Z"
    );
    assert_eq!(entry("h[a:e:2]").names, ["ha", "hc", "he"]);
    assert_eq!(
        entry("10.0.[1:2].[5:6]").names,
        ["10.0.1.5", "10.0.1.6", "10.0.2.5", "10.0.2.6"]
    );
}
