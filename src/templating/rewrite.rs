//! Source rewrites that make minijinja read templates as Ansible's Jinja2
//! reads them. minijinja has no lexer hook, so the text is rewritten before
//! compiling.
//!
//! Backslashes: in templates written in playbooks, a string literal inside
//! `{{ }}` keeps its backslashes instead of starting escape sequences, so
//! `regex_replace('(\w+)', '\1')` gets a backreference, not the byte 0x01,
//! and `'\n'` is two characters. YAML has already processed the backslashes
//! of a double-quoted scalar; if Jinja processed them again, authors would
//! need different escaping inside and outside `{{ }}`. Ansible (its
//! `AnsibleLexer`) therefore doubles the backslashes of every string token
//! of a `{{ }}` expression before Jinja unescapes it. Statements (`{% %}`),
//! comments, raw blocks, conditions and template files keep Jinja's escapes.
//! Here each backslash of such a literal is doubled, and a quote the author
//! escaped stays escaped, so that the literal ends where Jinja's lexer would
//! have ended it.
//!
//! Python's `%` formatting: `'fmt' % operand`, with a string literal on the
//! left, becomes `('fmt' | __tend_percent(operand))` (percent.rs). The
//! operand is what Jinja binds to `%`: a literal, a name or a bracketed
//! group, with its attributes, subscripts, calls and filters.

use std::borrow::Cow;

use super::percent::PERCENT_FILTER;

/// `text` (a template) as minijinja should read it: `'fmt' % x` rewritten
/// everywhere, and with `escape_backslashes` (templates from playbooks) the
/// string literals of its `{{ }}` expressions made backslash-literal.
pub(crate) fn rewrite_template(text: &str, escape_backslashes: bool) -> Cow<'_, str> {
    if !needs_rewrite(text, escape_backslashes) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(start) = next_tag(rest) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let used = if let Some(inner) = rest.strip_prefix("{{") {
            out.push_str("{{");
            2 + copy_expression(inner, Some("}}"), escape_backslashes, &mut out)
        } else if rest.starts_with("{#") {
            let used = rest.find("#}").map_or(rest.len(), |end| end + 2);
            out.push_str(&rest[..used]);
            used
        } else {
            copy_statement(rest, &mut out)
        };
        rest = &rest[used..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// `expr` (a bare expression, or the inside of a lone `{{ expr }}`) as
/// minijinja should read it.
pub(crate) fn rewrite_expression(expr: &str, escape_backslashes: bool) -> Cow<'_, str> {
    if !needs_rewrite(expr, escape_backslashes) {
        return Cow::Borrowed(expr);
    }
    let mut out = String::with_capacity(expr.len() + 16);
    copy_expression(expr, None, escape_backslashes, &mut out);
    Cow::Owned(out)
}

/// Whether the text may hold anything to rewrite; most does not.
fn needs_rewrite(text: &str, escape_backslashes: bool) -> bool {
    (escape_backslashes && text.contains('\\')) || has_percent_operator(text)
}

/// Whether a `%` in the text may be an operator (not a `{%`/`%}`
/// delimiter).
fn has_percent_operator(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%' && (i == 0 || bytes[i - 1] != b'{') && bytes.get(i + 1) != Some(&b'}')
    })
}

/// Where the next `{{`, `{%` or `{#` starts.
fn next_tag(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(1))
        .find(|&i| bytes[i] == b'{' && matches!(bytes[i + 1], b'{' | b'%' | b'#'))
}

/// Copies the `{% %}` statement at the start of `text` (`%` formatting
/// rewritten, backslashes kept), or a whole raw block verbatim. Returns the
/// bytes consumed.
fn copy_statement(text: &str, out: &mut String) -> usize {
    let mut tag = String::new();
    let len = 2 + copy_expression(&text[2..], Some("%}"), false, &mut tag);
    if tag_name(&text[..len]) != "raw" {
        out.push_str("{%");
        out.push_str(&tag);
        return len;
    }
    let len = match find_endraw(&text[len..]) {
        Some(end) => len + end,
        None => text.len(),
    };
    out.push_str(&text[..len]);
    len
}

/// Copies an expression into `out`, rewritten, up to and including `end`
/// when it is met outside brackets (as Jinja's lexer only ends a `{{ }}`
/// when its brackets balance). Returns the bytes consumed.
fn copy_expression(text: &str, end: Option<&str>, escape: bool, out: &mut String) -> usize {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        if let Some(end) = end
            && depth == 0
            && text[i..].starts_with(end)
        {
            out.push_str(end);
            return i + end.len();
        }
        match c {
            '\'' | '"' => {
                i = copy_literal_and_percent(text, i, escape, out);
                continue;
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        out.push(c);
        i += c.len_utf8();
    }
    text.len()
}

/// Copies the string literal at `start`, and when `%` follows it, the
/// operand too, as a call of the formatting filter. Returns where copying
/// stopped.
fn copy_literal_and_percent(text: &str, start: usize, escape: bool, out: &mut String) -> usize {
    let mut literal = String::new();
    let after = start + copy_string_literal(&text[start..], escape, &mut literal);
    let Some((from, to)) = percent_operand(text, after) else {
        out.push_str(&literal);
        return after;
    };
    out.push('(');
    out.push_str(&literal);
    out.push_str(" | ");
    out.push_str(PERCENT_FILTER);
    out.push('(');
    copy_expression(&text[from..to], None, escape, out);
    out.push_str("))");
    to
}

/// Copies the string literal at the start of `text` (quotes included),
/// with its backslashes doubled when `escape`. Returns the bytes consumed;
/// an unterminated literal takes the rest of the text, for Jinja to report.
fn copy_string_literal(text: &str, escape: bool, out: &mut String) -> usize {
    let len = string_literal_len(text);
    let literal = &text[..len];
    if !escape {
        out.push_str(literal);
        return len;
    }
    let quote = literal.chars().next().unwrap_or('\'');
    let mut chars = literal.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push_str("\\\\");
        match chars.next() {
            // The author's escaped quote: still inside the literal.
            Some(q) if q == quote => {
                out.push('\\');
                out.push(q);
            }
            Some('\\') => out.push_str("\\\\"),
            Some(other) => out.push(other),
            None => {}
        }
    }
    len
}

/// The length of the string literal at the start of `text`, as Jinja's
/// lexer delimits it (a backslash escapes the next character).
fn string_literal_len(text: &str) -> usize {
    let mut chars = text.char_indices();
    let Some((_, quote)) = chars.next() else {
        return 0;
    };
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == quote {
            return i + c.len_utf8();
        }
    }
    text.len()
}

/// When a `%` operator follows at `at` (after optional whitespace), the
/// span of its operand.
fn percent_operand(text: &str, at: usize) -> Option<(usize, usize)> {
    let op = skip_spaces(text, at);
    let rest = &text[op..];
    if !rest.starts_with('%') || rest.starts_with("%}") {
        return None;
    }
    let from = skip_spaces(text, op + 1);
    let to = operand_end(text, from)?;
    Some((from, to))
}

/// The end of the operand starting at `from`: a primary, then postfixes.
fn operand_end(text: &str, from: usize) -> Option<usize> {
    let mut end = primary_end(text, from)?;
    while let Some(next) = postfix_end(text, end) {
        end = next;
    }
    Some(end)
}

fn primary_end(text: &str, from: usize) -> Option<usize> {
    let c = text[from..].chars().next()?;
    match c {
        '(' | '[' | '{' => group_end(text, from),
        '\'' | '"' => Some(from + string_literal_len(&text[from..])),
        '-' | '+' => primary_end(text, skip_spaces(text, from + 1)),
        c if is_name_char(c) => Some(name_end(text, from)).filter(|&e| e > from),
        _ => None,
    }
}

/// The end of one `.attr`, `[key]`, `(args)` or `| filter(args)` after
/// `at`, if one follows.
fn postfix_end(text: &str, at: usize) -> Option<usize> {
    let at_char = skip_spaces(text, at);
    match text[at_char..].chars().next()? {
        '.' => Some(name_end(text, at_char + 1)).filter(|&e| e > at_char + 1),
        '[' | '(' => group_end(text, at_char),
        '|' => {
            let name_start = skip_spaces(text, at_char + 1);
            let mut end = name_end(text, name_start);
            while text[end..].starts_with('.') {
                end = name_end(text, end + 1);
            }
            if end == name_start {
                return None;
            }
            let args = skip_spaces(text, end);
            if text[args..].starts_with('(') {
                group_end(text, args)
            } else {
                Some(end)
            }
        }
        _ => None,
    }
}

/// The end of the bracketed group opening at `from`, strings skipped.
fn group_end(text: &str, from: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = from;
    while let Some(c) = text[i..].chars().next() {
        match c {
            '\'' | '"' => {
                i += string_literal_len(&text[i..]);
                continue;
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += c.len_utf8();
    }
    None
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn name_end(text: &str, from: usize) -> usize {
    text[from..]
        .find(|c: char| !is_name_char(c))
        .map_or(text.len(), |n| from + n)
}

fn skip_spaces(text: &str, from: usize) -> usize {
    text[from..]
        .find(|c: char| !c.is_whitespace())
        .map_or(text.len(), |n| from + n)
}

/// The end of the `{% endraw %}` tag in `text`, if any.
fn find_endraw(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(pos) = text[from..].find("{%") {
        let start = from + pos;
        let end = text[start..].find("%}").map(|e| start + e + 2)?;
        if tag_name(&text[start..end]) == "endraw" {
            return Some(end);
        }
        from = start + 2;
    }
    None
}

/// The word inside a `{% word %}` tag, without whitespace control.
fn tag_name(tag: &str) -> &str {
    let inner = tag.trim_start_matches("{%").trim_end_matches("%}");
    inner.trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace())
}
