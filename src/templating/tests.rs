//! Ansible's Jinja tests (`x is changed`, `x is match(...)`, `v is
//! version('1.2', '>=')`...), registered on the minijinja environment.
//! The task-result tests read registered results as Ansible does; `file`,
//! `directory` and friends look at the controller's filesystem.

use std::cmp::Ordering;
use std::path::Path;

use minijinja::value::{Kwargs, Value as MjValue, ValueKind};
use minijinja::{Environment, Error, State};

use super::convert::{as_text, bool_word, need, op_err};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_test("changed", |r: &MjValue| result_flag("changed", r));
    env.add_test("failed", |r: &MjValue| result_flag("failed", r));
    env.add_test("succeeded", |r: &MjValue| {
        result_flag("failed", r).map(|f| !f)
    });
    env.add_test("success", |r: &MjValue| {
        result_flag("failed", r).map(|f| !f)
    });
    env.add_test("skipped", |r: &MjValue| result_flag("skipped", r));
    env.add_test("unreachable", |r: &MjValue| result_flag("unreachable", r));
    env.add_test("reachable", |r: &MjValue| {
        result_flag("unreachable", r).map(|f| !f)
    });
    // A result the task's `timeout` stopped carries `timedout.period`.
    env.add_test("timedout", |r: &MjValue| -> Result<bool, Error> {
        mapping("timedout", r)?;
        Ok(r.get_attr("timedout")
            .is_ok_and(|t| truthy(&t) && t.get_attr("period").is_ok_and(|p| truthy(&p))))
    });
    env.add_test("finished", |r: &MjValue| -> Result<bool, Error> {
        mapping("finished", r)?;
        Ok(r.get_attr("finished")
            .map_or(true, |f| f.is_undefined() || truthy(&f)))
    });
    env.add_test("match", |v: &MjValue, p: String, k: Kwargs| {
        regex_test("match", v, &p, k)
    });
    env.add_test("search", |v: &MjValue, p: String, k: Kwargs| {
        regex_test("search", v, &p, k)
    });
    env.add_test("regex", |v: &MjValue, p: String, k: Kwargs| {
        regex_test("regex", v, &p, k)
    });
    env.add_test(
        "contains",
        |seq: &MjValue, item: &MjValue| -> Result<bool, Error> {
            need(seq)?;
            Ok(seq
                .try_iter()
                .map_err(|e| op_err("contains", e))?
                .any(|x| &x == item))
        },
    );
    env.add_test("sequence", |v: &MjValue| {
        matches!(
            v.kind(),
            ValueKind::Seq | ValueKind::String | ValueKind::Map
        )
    });
    env.add_test("iterable", |v: &MjValue| {
        matches!(
            v.kind(),
            ValueKind::Seq | ValueKind::String | ValueKind::Map | ValueKind::Iterable
        )
    });
    env.add_test("truthy", |v: &MjValue, k: Kwargs| truth_test(v, k, true));
    env.add_test("falsy", |v: &MjValue, k: Kwargs| truth_test(v, k, false));
    env.add_test("version", version_test);
    env.add_test("version_compare", version_test);
    env.add_test("subset", |a: &MjValue, b: &MjValue| {
        set_test("subset", a, b)
    });
    env.add_test("superset", |a: &MjValue, b: &MjValue| {
        set_test("superset", b, a)
    });
    env.add_test("all", |v: &MjValue| -> Result<bool, Error> {
        Ok(v.try_iter()?.all(|x| x.is_true()))
    });
    env.add_test("any", |v: &MjValue| -> Result<bool, Error> {
        Ok(v.try_iter()?.any(|x| x.is_true()))
    });
    env.add_test("file", |p: &MjValue| path_test("file", p, |p| p.is_file()));
    env.add_test("directory", |p: &MjValue| {
        path_test("directory", p, |p| p.is_dir())
    });
    env.add_test("exists", |p: &MjValue| {
        path_test("exists", p, |p| p.exists())
    });
    env.add_test("link", |p: &MjValue| {
        path_test("link", p, |p| p.is_symlink())
    });
    env.add_test("abs", |p: &MjValue| {
        path_test("abs", p, |p| p.is_absolute())
    });
    env.add_test("vault_encrypted", |v: &MjValue| {
        v.as_str()
            .is_some_and(|s| s.trim_start().starts_with("$ANSIBLE_VAULT;"))
    });
}

/// Python truthiness, with Ansible's reading of boolean words in strings
/// (registered results sometimes carry "changed": "true").
fn truthy(v: &MjValue) -> bool {
    match v.as_str() {
        Some(s) => bool_word(s).unwrap_or(!s.is_empty()),
        None => v.is_true(),
    }
}

fn mapping(what: &str, r: &MjValue) -> Result<(), Error> {
    need(r)?;
    if r.kind() != ValueKind::Map {
        return Err(op_err(
            what,
            format!(
                "the '{what}' test expects a dictionary (a registered result), got {}",
                r.kind()
            ),
        ));
    }
    Ok(())
}

/// `changed`/`failed`/`skipped`/`unreachable` of a registered result. A
/// looped result without its own `changed` is changed if any item changed.
fn result_flag(key: &str, r: &MjValue) -> Result<bool, Error> {
    mapping(key, r)?;
    let flag = r.get_attr(key)?;
    if !flag.is_undefined() {
        return Ok(truthy(&flag));
    }
    if key == "changed" {
        if let Ok(results) = r.get_attr("results") {
            if results.kind() == ValueKind::Seq {
                return Ok(results
                    .try_iter()?
                    .any(|item| item.get_attr("changed").is_ok_and(|c| truthy(&c))));
            }
        }
    }
    Ok(false)
}

/// `match` (anchored at the start, as `re.match`), `search`, and `regex`
/// with `match_type`.
fn regex_test(what: &str, v: &MjValue, pattern: &str, kwargs: Kwargs) -> Result<bool, Error> {
    let text = as_text(what, v)?;
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    let default_type = if what == "match" { "match" } else { "search" };
    let match_type = kwargs
        .get::<Option<String>>("match_type")?
        .unwrap_or_else(|| default_type.into());
    kwargs.assert_all_used()?;
    let anchored = match match_type.as_str() {
        "match" => format!("\\A(?:{pattern})"),
        "fullmatch" => format!("\\A(?:{pattern})\\z"),
        "search" => pattern.to_string(),
        other => return Err(op_err(what, format!("unknown match_type '{other}'"))),
    };
    let re = regex::RegexBuilder::new(&anchored)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| op_err(what, format!("invalid regular expression '{pattern}': {e}")))?;
    Ok(re.is_match(&text))
}

fn truth_test(v: &MjValue, kwargs: Kwargs, want: bool) -> Result<bool, Error> {
    let convert_bool = kwargs.get::<Option<bool>>("convert_bool")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let truth = match v.as_str() {
        Some(s) if convert_bool => bool_word(s).unwrap_or(!s.is_empty()),
        _ => v.is_true(),
    };
    Ok(truth == want)
}

fn set_test(what: &str, small: &MjValue, big: &MjValue) -> Result<bool, Error> {
    need(small)?;
    need(big)?;
    let big: Vec<MjValue> = big.try_iter().map_err(|e| op_err(what, e))?.collect();
    Ok(small
        .try_iter()
        .map_err(|e| op_err(what, e))?
        .all(|x| big.contains(&x)))
}

fn path_test(what: &str, p: &MjValue, check: fn(&Path) -> bool) -> Result<bool, Error> {
    Ok(check(Path::new(&as_text(what, p)?)))
}

/// `version(other, operator='eq', strict=False, version_type=None)`,
/// comparing like Python's `LooseVersion`: runs of digits as numbers, runs
/// of letters as text, separators ignored.
fn version_test(
    _state: &State,
    v: &MjValue,
    other: &MjValue,
    op: Option<String>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let a = as_text("version", v)?;
    let b = as_text("version", other)?;
    let op = match op {
        Some(op) => op,
        None => kwargs
            .get::<Option<String>>("operator")?
            .unwrap_or_else(|| "eq".into()),
    };
    let _ = kwargs.get::<Option<bool>>("strict")?;
    let _ = kwargs.get::<Option<String>>("version_type")?;
    kwargs.assert_all_used()?;
    let ord = compare_versions(&a, &b);
    Ok(match op.as_str() {
        "==" | "=" | "eq" => ord == Ordering::Equal,
        "!=" | "<>" | "ne" => ord != Ordering::Equal,
        "<" | "lt" => ord == Ordering::Less,
        "<=" | "le" => ord != Ordering::Greater,
        ">" | "gt" => ord == Ordering::Greater,
        ">=" | "ge" => ord != Ordering::Less,
        other => {
            return Err(op_err(
                "version",
                format!(
                    "invalid operator '{other}' (use ==, !=, <, <=, >, >=, eq, ne, lt, le, gt, ge)"
                ),
            ));
        }
    })
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    // Numbers sort before text, so that "1.0" < "1.0a" < "1.0b".
    Num(u64),
    Text(String),
}

fn version_parts(v: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut chars = v.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            let mut digits = String::new();
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                digits.push(d);
            }
            parts.push(Part::Num(digits.parse().unwrap_or(u64::MAX)));
        } else if c.is_alphabetic() {
            let mut text = String::new();
            while let Some(l) = chars.next_if(|c| c.is_alphabetic()) {
                text.push(l);
            }
            parts.push(Part::Text(text));
        } else {
            chars.next();
        }
    }
    parts
}

pub(crate) fn compare_versions(a: &str, b: &str) -> Ordering {
    version_parts(a).cmp(&version_parts(b))
}
