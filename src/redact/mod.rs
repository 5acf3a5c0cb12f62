//! Secrets never leave tend: every value decrypted from a vault, every
//! vault password and the become password are registered here, and what
//! tend prints (reports, diffs, error messages) passes through [`redact`],
//! which writes `********` in place of any registered secret, with or
//! without `no_log`.
//!
//! The registry is process-wide because secrets are met wherever files are
//! read (the YAML loader, the controller reading `src` files, the command
//! line), and output leaves from a few places that should not need to be
//! handed a list. Only the text of a secret is recognized: a secret
//! transformed by a filter (`| b64encode`, `| upper`) is not.

mod writer;

pub use writer::Redacting;

use std::borrow::Cow;
use std::sync::{RwLock, RwLockReadGuard};

use serde_json::{Map, Value};

/// What a secret is replaced with.
pub const MASK: &str = "********";
/// Shorter values are not registered: masking every `a` or `80` would
/// leave the output unreadable and protect nothing worth protecting.
pub const MIN_LEN: usize = 3;

/// Longest first, so that a secret containing another is masked whole.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a secret: its whole text, each of its lines (diffs show files
/// line by line) and the forms JSON gives them (`"` and newlines escaped).
pub fn register(secret: &str) {
    let mut forms = vec![secret.to_string(), secret.trim().to_string()];
    if secret.contains('\n') {
        forms.extend(secret.lines().map(|l| l.trim().to_string()));
    }
    let escaped: Vec<String> = forms.iter().filter_map(|f| json_escaped(f)).collect();
    forms.extend(escaped);
    let mut list = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    for form in forms {
        if form.chars().count() >= MIN_LEN
            && !form.chars().all(|c| c == '*')
            && !list.contains(&form)
        {
            list.push(form);
        }
    }
    list.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Registers every string in a value (the values of a vaulted vars file).
pub fn register_strings(value: &Value) {
    match value {
        Value::String(s) => register(s),
        Value::Array(items) => items.iter().for_each(register_strings),
        Value::Object(map) => map.values().for_each(register_strings),
        _ => {}
    }
}

/// `text` with every registered secret replaced by [`MASK`].
pub fn redact(text: &str) -> Cow<'_, str> {
    let list = secrets();
    if !list.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for secret in list.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    Cow::Owned(out)
}

/// Redacts every string (and mapping key) inside a JSON value.
pub fn redact_value(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Cow::Owned(clean) = redact(s) {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        Value::Object(map) => redact_map(map),
        _ => {}
    }
}

/// Redacts the keys and values of a JSON object.
pub fn redact_map(map: &mut Map<String, Value>) {
    if secrets().is_empty() {
        return;
    }
    let entries = std::mem::take(map);
    for (key, mut value) in entries {
        redact_value(&mut value);
        map.insert(redact(&key).into_owned(), value);
    }
}

fn secrets() -> RwLockReadGuard<'static, Vec<String>> {
    SECRETS.read().unwrap_or_else(|e| e.into_inner())
}

/// The text as it appears inside a JSON string, when that differs.
fn json_escaped(text: &str) -> Option<String> {
    let quoted = serde_json::to_string(text).ok()?;
    let inner = &quoted[1..quoted.len() - 1];
    (inner != text).then(|| inner.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // The registry is shared by the whole test binary: each test uses
    // secrets of its own.

    #[test]
    fn a_registered_secret_is_masked_wherever_it_appears() {
        register("s3cret-one");
        assert_eq!(
            redact("pw=s3cret-one and s3cret-one"),
            "pw=******** and ********"
        );
        assert!(matches!(redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn each_line_of_a_multi_line_secret_is_masked_and_json_forms_too() {
        register("first-line-xyz\n  second \"line\"\n");
        assert_eq!(redact("+first-line-xyz"), "+********");
        assert_eq!(redact("+  second \"line\""), "+  ********");
        let mut v = json!({"msg": "a first-line-xyz\n  second \"line\"\n b"});
        redact_value(&mut v);
        assert_eq!(v, json!({"msg": "a ******** b"}));
        let text = serde_json::to_string(&json!({"m": "second \"line\""})).unwrap();
        assert_eq!(redact(&text), r#"{"m":"********"}"#);
    }

    #[test]
    fn short_values_are_not_registered() {
        register("ab");
        assert_eq!(redact("ab cab"), "ab cab");
    }

    #[test]
    fn keys_and_nested_values_of_json_are_masked() {
        register("k3y-secret");
        let mut v = json!({"k3y-secret": [1, {"x": "k3y-secret!"}]});
        redact_value(&mut v);
        assert_eq!(v, json!({"********": [1, {"x": "********!"}]}));
    }

    #[test]
    fn the_longest_secret_wins() {
        register("overlap");
        register("overlap-longer");
        assert_eq!(redact("overlap-longer"), "********");
    }
}
