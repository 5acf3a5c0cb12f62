//! URL filters: Jinja2's `urlencode` (minijinja's writes a query string's
//! spaces as `%20`, Jinja2 as `+`) and Ansible's `urlsplit`, with Python's
//! `urllib.parse.urlsplit` semantics.

use minijinja::value::{Value as MjValue, ValueKind};
use minijinja::{Environment, Error};

use super::convert::{as_text, need, op_err};
use super::filters_jinja::py_str;

/// The components `urlsplit` knows, in the order Python's `dir()` lists
/// them (which is the order of the mapping it returns).
const COMPONENTS: [&str; 9] = [
    "fragment", "hostname", "netloc", "password", "path", "port", "query", "scheme", "username",
];

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("urlencode", urlencode);
    env.add_filter("urlsplit", urlsplit);
}

/// `urlsplit(query='')`: one component, or all of them as a mapping.
fn urlsplit(value: &MjValue, query: Option<String>) -> Result<MjValue, Error> {
    let url = as_text("urlsplit", value)?;
    let parts = UrlParts::split(&url);
    match query.as_deref() {
        None | Some("") => {
            let mut entries = Vec::new();
            for name in COMPONENTS {
                entries.push((MjValue::from(name), parts.component(name)?));
            }
            Ok(MjValue::from_pairs(entries))
        }
        Some(name) if COMPONENTS.contains(&name) => parts.component(name),
        Some(name) => Err(op_err("urlsplit", format!("unknown URL component: {name}"))),
    }
}

/// A URL split as Python's `urlsplit` splits it.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct UrlParts<'u> {
    pub(crate) scheme: String,
    pub(crate) netloc: &'u str,
    pub(crate) path: &'u str,
    pub(crate) query: &'u str,
    pub(crate) fragment: &'u str,
}

impl<'u> UrlParts<'u> {
    pub(crate) fn split(url: &'u str) -> UrlParts<'u> {
        let mut parts = UrlParts::default();
        let mut rest = url;
        if let Some((scheme, after)) = url.split_once(':') {
            if is_scheme(scheme) {
                parts.scheme = scheme.to_ascii_lowercase();
                rest = after;
            }
        }
        if let Some(after) = rest.strip_prefix("//") {
            let end = after.find(['/', '?', '#']).unwrap_or(after.len());
            parts.netloc = &after[..end];
            rest = &after[end..];
        }
        if let Some((before, fragment)) = rest.split_once('#') {
            parts.fragment = fragment;
            rest = before;
        }
        if let Some((before, query)) = rest.split_once('?') {
            parts.query = query;
            rest = before;
        }
        parts.path = rest;
        parts
    }

    /// The user info before `@` in the netloc.
    fn userinfo(&self) -> Option<&'u str> {
        self.netloc.rsplit_once('@').map(|(user, _)| user)
    }

    /// The host and port after any `@`.
    fn hostinfo(&self) -> &'u str {
        self.netloc
            .rsplit_once('@')
            .map_or(self.netloc, |(_, host)| host)
    }

    pub(crate) fn username(&self) -> Option<&'u str> {
        self.userinfo()
            .map(|u| u.split_once(':').map_or(u, |(name, _)| name))
    }

    pub(crate) fn password(&self) -> Option<&'u str> {
        self.userinfo()
            .and_then(|u| u.split_once(':'))
            .map(|(_, pw)| pw)
    }

    /// The host name, lower-cased, without IPv6 brackets.
    pub(crate) fn hostname(&self) -> Option<String> {
        let host = self.hostinfo();
        let name = match host.strip_prefix('[') {
            Some(v6) => v6.split_once(']').map_or(v6, |(addr, _)| addr),
            None => host.split_once(':').map_or(host, |(name, _)| name),
        };
        (!name.is_empty()).then(|| name.to_ascii_lowercase())
    }

    /// The port, when the netloc has one; an error when it is not a number
    /// in range, as Python raises.
    pub(crate) fn port(&self) -> Result<Option<u16>, String> {
        let host = self.hostinfo();
        let after_host = match host.strip_prefix('[') {
            Some(v6) => v6.split_once(']').map_or("", |(_, rest)| rest),
            None => host,
        };
        let Some((_, port)) = after_host.split_once(':') else {
            return Ok(None);
        };
        if port.is_empty() {
            return Ok(None);
        }
        if !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "Port could not be cast to integer value as '{port}'"
            ));
        }
        port.parse::<u16>()
            .map(Some)
            .map_err(|_| "Port out of range 0-65535".to_string())
    }

    fn component(&self, name: &str) -> Result<MjValue, Error> {
        let text = |s: &str| MjValue::from(s);
        let optional = |s: Option<&str>| s.map_or(MjValue::from(()), MjValue::from);
        Ok(match name {
            "scheme" => text(&self.scheme),
            "netloc" => text(self.netloc),
            "path" => text(self.path),
            "query" => text(self.query),
            "fragment" => text(self.fragment),
            "username" => optional(self.username()),
            "password" => optional(self.password()),
            "hostname" => optional(self.hostname().as_deref()),
            "port" => match self.port().map_err(|e| op_err("urlsplit", e))? {
                Some(port) => MjValue::from(port),
                None => MjValue::from(()),
            },
            _ => return Err(op_err("urlsplit", format!("unknown URL component: {name}"))),
        })
    }
}

/// Whether `s` is a URL scheme: a letter, then letters, digits, `+-.`.
fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// Jinja2's `urlencode`: a string is quoted as a URL path (`/` kept); a
/// mapping or a list of pairs becomes a query string, spaces as `+`.
fn urlencode(value: &MjValue) -> Result<String, Error> {
    need(value)?;
    if value.kind() == ValueKind::Map {
        let mut pairs = Vec::new();
        for key in value.try_iter()? {
            let item = value.get_item(&key)?;
            pairs.push(query_pair(&key, &item)?);
        }
        return Ok(pairs.join("&"));
    }
    if value.kind() == ValueKind::Seq {
        let mut pairs = Vec::new();
        for pair in value.try_iter()? {
            let (k, v) = (pair.get_item_by_index(0)?, pair.get_item_by_index(1)?);
            pairs.push(query_pair(&k, &v)?);
        }
        return Ok(pairs.join("&"));
    }
    Ok(url_quote(&py_str(value)?, "/"))
}

fn query_pair(key: &MjValue, value: &MjValue) -> Result<String, Error> {
    let quote = |v: &MjValue| -> Result<String, Error> {
        Ok(url_quote(&py_str(v)?, "").replace("%20", "+"))
    };
    Ok(format!("{}={}", quote(key)?, quote(value)?))
}

/// Python's `urllib.parse.quote(text, safe)`.
pub(crate) fn url_quote(text: &str, safe: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) || safe.as_bytes().contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
