//! Host patterns, as a play's `hosts:` and `--limit` write them: `all`,
//! `*`, host and group names, globs (`web*`), regexes (`~web\d+`),
//! subscripts (`web[0]`, `web[1:3]`), unions (`a:b`, `a,b`),
//! intersections (`a:&b`) and exclusions (`a:!b`).
//!
//! Evaluated as Ansible's `InventoryManager` does: plain terms first, then
//! intersections, then exclusions, whatever order they were written in; a
//! pattern of only `&`/`!` terms starts from `all`. A name that matches
//! nothing is a warning, not an error. The result is in inventory order.

use std::collections::HashSet;

use indexmap::IndexSet;
use regex::Regex;

use super::{Inventory, LOCALHOST_NAMES};

impl Inventory {
    /// The hosts a pattern selects, in inventory order. Warnings (a name
    /// that matches nothing) are dropped; see `select_with_warnings`.
    pub fn select(&self, pattern: &str) -> Vec<String> {
        self.select_with_warnings(pattern).0
    }

    /// The hosts a pattern selects, in inventory order, and warnings to
    /// show, such as Ansible's "Could not match supplied host pattern".
    /// An undefined `localhost` is matched as the implicit localhost (see
    /// `is_implicit_localhost`); it never matches `all`.
    pub fn select_with_warnings(&self, pattern: &str) -> (Vec<String>, Vec<String>) {
        let mut warnings = Vec::new();
        let mut selected: IndexSet<String> = IndexSet::new();
        for term in order(split_pattern(pattern)) {
            if self.hosts.contains_key(term.as_str()) {
                selected.insert(term);
                continue;
            }
            let (op, expr) = match term.chars().next() {
                Some(c @ ('&' | '!')) => (c, &term[1..]),
                _ => (' ', term.as_str()),
            };
            let matched = self.match_one(expr, &mut warnings);
            match op {
                '&' => {
                    let matched: HashSet<&String> = matched.iter().collect();
                    selected.retain(|h| matched.contains(h));
                }
                '!' => {
                    let matched: HashSet<&String> = matched.iter().collect();
                    selected.retain(|h| !matched.contains(h));
                }
                _ => selected.extend(matched),
            }
        }
        let mut selected: Vec<String> = selected.into_iter().collect();
        // Implicit hosts are not in the inventory; they sort after it.
        selected.sort_by_key(|h| self.hosts.get_index_of(h.as_str()).unwrap_or(usize::MAX));
        (selected, warnings)
    }

    /// The hosts of one term without its `&`/`!`: groups it matches (with
    /// their descendants' hosts), and hosts it matches when it matched no
    /// group or is a glob or regex.
    fn match_one(&self, term: &str, warnings: &mut Vec<String>) -> Vec<String> {
        let (expr, subscript) = split_subscript(term);
        if expr.is_empty() {
            return Vec::new();
        }
        let matcher = match compile(expr) {
            Ok(m) => m,
            Err(e) => {
                warnings.push(format!("Invalid host pattern '{term}': {e}"));
                return Vec::new();
            }
        };
        let mut found = vec![false; self.hosts.len()];
        let groups: Vec<&String> = self.groups.keys().filter(|g| matcher.is_match(g)).collect();
        for group in &groups {
            for host in self.group_hosts(group) {
                if let Some(i) = self.hosts.get_index_of(host) {
                    found[i] = true;
                }
            }
        }
        let special = expr.starts_with('~') || expr.contains(['.', '?', '*', '[']);
        if groups.is_empty() || special {
            for (i, host) in self.hosts.keys().enumerate() {
                if matcher.is_match(host) {
                    found[i] = true;
                }
            }
        }
        let mut hosts: Vec<String> = self
            .hosts
            .keys()
            .zip(&found)
            .filter(|(_, f)| **f)
            .map(|(h, _)| h.clone())
            .collect();
        if hosts.is_empty() && LOCALHOST_NAMES.contains(&expr) {
            hosts.push(expr.to_string());
        }
        if hosts.is_empty() && groups.is_empty() && expr != "all" {
            warnings.push(format!(
                "Could not match supplied host pattern, ignoring: {expr}"
            ));
        }
        match subscript {
            None => hosts,
            Some(sub) => apply_subscript(hosts, sub, term, warnings),
        }
    }
}

/// Splits on commas, then each part on colons outside brackets (so ranges
/// and subscripts such as `web[1:3]` stay whole). A part that is one address
/// (an IPv6 address, or `host:port`) is not split, as in Ansible.
fn split_pattern(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in pattern.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let is_ipv6 = super::range::is_ipv6(part);
        let has_port = !part.starts_with(['~', '!', '&'])
            && matches!(super::range::split_port(part), Ok((_, Some(_))));
        if is_ipv6 || has_port {
            out.push(part.to_string());
            continue;
        }
        let mut current = String::new();
        let mut depth = 0usize;
        for c in part.chars() {
            match c {
                '[' => depth += 1,
                ']' => depth = depth.saturating_sub(1),
                _ => {}
            }
            if c == ':' && depth == 0 {
                out.push(std::mem::take(&mut current));
            } else {
                current.push(c);
            }
        }
        out.push(current);
    }
    out.into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Plain terms, then `&` terms, then `!` terms; `all` if no plain term.
fn order(terms: Vec<String>) -> Vec<String> {
    let (mut plain, mut and, mut not) = (Vec::new(), Vec::new(), Vec::new());
    for t in terms {
        match t.chars().next() {
            Some('&') => and.push(t),
            Some('!') => not.push(t),
            _ => plain.push(t),
        }
    }
    if plain.is_empty() {
        plain.push("all".to_string());
    }
    plain.into_iter().chain(and).chain(not).collect()
}

#[derive(Debug, Clone, Copy)]
enum Subscript {
    Index(i64),
    /// Inclusive; `None` for "to the end".
    Range(usize, Option<usize>),
}

/// `web[0]`, `web[-1]`, `web[1:3]`, `web[2:]`. Regexes have none.
fn split_subscript(term: &str) -> (&str, Option<Subscript>) {
    if term.starts_with('~') || !term.ends_with(']') {
        return (term, None);
    }
    let Some(open) = term.rfind('[') else {
        return (term, None);
    };
    let (expr, body) = (&term[..open], &term[open + 1..term.len() - 1]);
    if expr.is_empty() {
        return (term, None);
    }
    if let Ok(i) = body.parse::<i64>() {
        return (expr, Some(Subscript::Index(i)));
    }
    let Some((start, end)) = body.split_once([':', '-']) else {
        return (term, None);
    };
    let Ok(start) = start.parse::<usize>() else {
        return (term, None);
    };
    match end {
        "" => (expr, Some(Subscript::Range(start, None))),
        _ => match end.parse::<usize>() {
            Ok(end) => (expr, Some(Subscript::Range(start, Some(end)))),
            Err(_) => (term, None),
        },
    }
}

fn apply_subscript(
    hosts: Vec<String>,
    sub: Subscript,
    term: &str,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    match sub {
        Subscript::Index(i) => {
            let index = if i < 0 { hosts.len() as i64 + i } else { i };
            match usize::try_from(index).ok().and_then(|i| hosts.get(i)) {
                Some(h) => vec![h.clone()],
                None => {
                    warnings.push(format!("No hosts matched the subscripted pattern '{term}'"));
                    Vec::new()
                }
            }
        }
        Subscript::Range(start, end) => {
            let end = end.map_or(hosts.len(), |e| (e + 1).min(hosts.len()));
            hosts
                .get(start..end.max(start))
                .map(<[String]>::to_vec)
                .unwrap_or_default()
        }
    }
}

/// `~regex` (matched from the start, like Python's `re.match`) or a shell
/// glob matched against the whole name (Python's `fnmatch`).
fn compile(expr: &str) -> Result<Regex, regex::Error> {
    match expr.strip_prefix('~') {
        Some(re) => Regex::new(&format!("^(?:{re})")),
        None => Regex::new(&glob_to_regex(expr)),
    }
}

/// Python's `fnmatch.translate`: `*`, `?`, `[abc]`, `[!abc]`; the rest literal.
fn glob_to_regex(glob: &str) -> String {
    let chars: Vec<char> = glob.chars().collect();
    let mut out = String::from("^(?s:");
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                while chars.get(i + 1) == Some(&'*') {
                    i += 1;
                }
                out.push_str(".*");
            }
            '?' => out.push('.'),
            '[' => {
                // A `]` right after `[` or `[!` is a member, not the end.
                let mut j = i + 1;
                if chars.get(j) == Some(&'!') {
                    j += 1;
                }
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str("\\[");
                } else {
                    out.push('[');
                    let mut body = &chars[i + 1..j];
                    if body.first() == Some(&'!') {
                        out.push('^');
                        body = &body[1..];
                    }
                    for &c in body {
                        if matches!(c, '\\' | '[' | ']' | '&' | '~' | '^') {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push(']');
                    i = j;
                }
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    out.push_str(")$");
    out
}
