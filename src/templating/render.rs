//! Rendering primitives shared by `Templar` and lazy variable resolution:
//! telling templates from plain strings, keeping the type of a lone
//! `{{ expr }}`, and evaluating expressions strictly.

use minijinja::value::Value as MjValue;
use minijinja::{Environment, Error};

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
    match env.compile_expression_owned(strict(expr)) {
        Ok(compiled) => compiled.eval(ctx.clone()),
        // Report the syntax error of what the user wrote, not of our wrapper.
        Err(wrapped) => match env.compile_expression_owned(expr.to_string()) {
            Err(err) => Err(err),
            Ok(_) => Err(wrapped),
        },
    }
}

fn strict(expr: &str) -> String {
    format!("({expr}) | {STRICT_FILTER}")
}

/// Renders template text to a string.
pub(crate) fn render(
    env: &Environment<'static>,
    ctx: &MjValue,
    name: &str,
    text: &str,
) -> Result<String, Error> {
    env.render_named_str(name, text, ctx.clone())
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
        if let Ok(compiled) = env.compile_expression_owned(strict(expr)) {
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
