//! Rendering primitives shared by `Templar` and lazy variable resolution:
//! telling templates from plain strings, keeping the type of a lone
//! `{{ expr }}`, evaluating expressions strictly, and reading templates as
//! Ansible's Jinja2 does: its backslash rule and `%` formatting
//! (rewrite.rs), its trailing newlines.

use std::borrow::Cow;
use std::sync::LazyLock;

use minijinja::value::Value as MjValue;
use minijinja::{Environment, Error};

use super::header::TemplateOptions;
use super::nesting;
use super::rewrite::{rewrite_expression, rewrite_template};

/// The tags of playbook strings and of templates without a `#jinja2:` line.
pub(crate) static DEFAULT_TAGS: LazyLock<TemplateOptions> =
    LazyLock::new(|| TemplateOptions::new(true, false));

/// The filter appended to evaluated expressions: it fails on undefined values
/// (also inside lists and maps) from within the VM, where minijinja can still
/// say which expression was undefined.
pub(crate) const STRICT_FILTER: &str = "__tend_strict";

/// Whether `s` needs templating at all; most strings in a playbook do not.
pub(crate) fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// The expression inside a string that is only `{{ expr }}` (whitespace and
/// `-`/`+` whitespace control allowed), whose value keeps its type.
/// Whether it really is one expression (`{{ a }} {{ b }}` is not) is decided
/// by compiling it.
pub(crate) fn lone_expression(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
    let inner = inner.strip_suffix(['-', '+']).unwrap_or(inner);
    if inner.trim().is_empty() {
        return None;
    }
    Some(inner)
}

/// Evaluates an expression; an undefined result is an error naming it.
pub(crate) fn eval(
    env: &Environment<'static>,
    ctx: &MjValue,
    expr: &str,
) -> Result<MjValue, Error> {
    nesting::check_expression(expr)?;
    // Conditions keep Jinja's escapes, as in Ansible.
    let expr = rewrite_expression(expr, false);
    match env.compile_expression_owned(strict(&expr)) {
        Ok(compiled) => compiled.eval(ctx.clone()),
        // Report the syntax error of what the user wrote, not of our wrapper.
        Err(wrapped) => match env.compile_expression_owned(expr.into_owned()) {
            Err(err) => Err(err),
            Ok(_) => Err(wrapped),
        },
    }
}

fn strict(expr: &str) -> String {
    format!("({expr}) | {STRICT_FILTER}")
}

/// Renders template text from a playbook (a parameter, a variable) to a
/// string: string literals inside `{{ }}` keep their backslashes.
pub(crate) fn render(
    env: &Environment<'static>,
    ctx: &MjValue,
    name: &str,
    text: &str,
) -> Result<String, Error> {
    nesting::check_template(text, &DEFAULT_TAGS)?;
    let rendered = env.render_named_str(name, &rewrite_template(text, true), ctx.clone())?;
    Ok(restore_trailing_newlines(text, rendered))
}

/// Renders a template file's text, written with `options`' delimiters, to
/// a string, with Jinja's own escapes.
pub(crate) fn render_file(
    env: &Environment<'static>,
    ctx: &MjValue,
    name: &str,
    text: &str,
    options: &TemplateOptions,
) -> Result<String, Error> {
    nesting::check_template(text, options)?;
    // The `%` formatting rewrite looks for the default delimiters.
    let source = if options.default_delimiters() {
        rewrite_template(text, false)
    } else {
        Cow::Borrowed(text)
    };
    let rendered = env.render_named_str(name, &source, ctx.clone())?;
    Ok(restore_trailing_newlines(text, rendered))
}

/// Jinja drops a template's last newline; Ansible then appends the newlines
/// the output lacks compared with the template's text, so that a template
/// ending with a value that ends with a newline gets no second one.
/// (Other newline sequences are applied by the caller, to the whole text.)
fn restore_trailing_newlines(template: &str, mut rendered: String) -> String {
    let wanted = trailing_newlines(template);
    let have = trailing_newlines(&rendered);
    for _ in have..wanted {
        rendered.push('\n');
    }
    rendered
}

fn trailing_newlines(text: &str) -> usize {
    text.bytes().rev().take_while(|&b| b == b'\n').count()
}

/// Templates one string value: a lone `{{ expr }}` keeps its type, anything
/// else renders to a string, and a plain string is returned as is.
pub(crate) fn template_string(
    env: &Environment<'static>,
    ctx: &MjValue,
    s: &str,
) -> Result<MjValue, Error> {
    if !is_template(s) {
        return Ok(MjValue::from(s));
    }
    if let Some(expr) = lone_expression(s) {
        nesting::check_expression(expr)?;
        if let Ok(compiled) = env.compile_expression_owned(strict(&rewrite_expression(expr, true)))
        {
            let value = compiled.eval(ctx.clone())?;
            // With text around the braces (`"{{ x }}\n"`), Ansible keeps a
            // string's whitespace but still turns a number or list back
            // into itself (its literal_eval of the rendered text).
            if s.trim() == s || value.as_str().is_none() {
                return Ok(value);
            }
        }
    }
    render(env, ctx, "<string>", s).map(MjValue::from)
}
