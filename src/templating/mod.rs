//! Templates and expressions, with Ansible's filters and tests, on minijinja.
//!
//! `Templar` is what the engine calls: render a string, a whole parameter
//! value, a file template, or evaluate a `when:` condition, against `Vars`.
//! Ansible's semantics kept here: undefined variables are errors unless
//! tested or defaulted; a lone `{{ expr }}` keeps its type; `omit` removes a
//! parameter; variables are templated lazily when read; a template's
//! trailing newlines are kept but a value ending in one gets no second one,
//! and `trim_blocks` is on (both Ansible defaults); string literals in the
//! `{{ }}` of playbook strings keep their backslashes and `'fmt' % args`
//! formats as in Python (rewrite.rs); a template file's `#jinja2:` first line
//! sets its options (header.rs).

mod context;
mod convert;
mod datetime;
mod error;
mod filters;
mod filters_comment;
mod filters_data;
mod filters_jinja;
mod filters_path;
mod filters_random;
mod filters_serial;
mod filters_text;
mod filters_time;
mod filters_units;
mod filters_url;
mod header;
mod lazy;
mod lookups;
mod nesting;
mod omit;
mod percent;
mod pyjson;
mod render;
mod rewrite;
mod template_vars;
mod tests;
mod vars;
mod yaml_in;
mod yaml_out;

#[cfg(test)]
mod tests_files;
#[cfg(test)]
mod tests_filters;
#[cfg(test)]
mod tests_filters_data;
#[cfg(test)]
mod tests_filters_ported;
#[cfg(test)]
mod tests_jinja;
#[cfg(test)]
mod tests_render;
#[cfg(test)]
mod tests_rewrite;
#[cfg(test)]
mod tests_vars;

use std::sync::Arc;

use minijinja::value::Value as MjValue;
use minijinja::{AutoEscape, Environment, Output, State, UndefinedBehavior};

pub use error::TemplateError;
pub use template_vars::{TemplateSource, with_template_vars};
pub use vars::{HostVars, HostVarsFn, Vars};

use context::Ctx;
use convert::{bool_word, find_undefined, is_silent_undefined, mj_to_json, undefined_error};
use header::TemplateOptions;

/// The values the engine exchanges with templates.
pub type Value = serde_json::Value;

/// The value of the `omit` variable. A parameter whose rendered value is
/// exactly this is dropped by `render_value`.
pub const OMIT_PLACEHOLDER: &str = "__omit_place_holder__tend";

/// Whether `text` contains template syntax at all (`{{`, `{%` or `{#`);
/// other strings render to themselves.
pub fn is_template(text: &str) -> bool {
    render::is_template(text)
}

/// Renders templates and evaluates expressions. Cheap to clone and shareable
/// between threads; build one per run (or one per whitespace setting).
#[derive(Clone)]
pub struct Templar {
    env: Arc<Environment<'static>>,
    /// The options `env` renders with, which a template's `#jinja2:` line
    /// may override.
    options: Arc<TemplateOptions>,
}

impl Default for Templar {
    fn default() -> Templar {
        Templar::new()
    }
}

impl std::fmt::Debug for Templar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templar")
    }
}

impl Templar {
    /// A templar with Ansible's filters, tests and lookups, and Ansible's
    /// whitespace defaults (`trim_blocks` on, `lstrip_blocks` off).
    pub fn new() -> Templar {
        Templar::with_whitespace(true, false)
    }

    /// Like `new`, with the template module's `trim_blocks`/`lstrip_blocks`.
    pub fn with_whitespace(trim_blocks: bool, lstrip_blocks: bool) -> Templar {
        Templar::build(trim_blocks, lstrip_blocks, lookups::Reach::Controller)
    }

    /// Like `new`, but lookups cannot read the controller's files or run
    /// its commands (`pipe`, `file`... fail). For rendering templates that
    /// nobody wrote, as the fuzz targets do: a random `lookup('pipe', ...)`
    /// must not run.
    pub fn sandboxed() -> Templar {
        Templar::build(true, false, lookups::Reach::Sandboxed)
    }

    fn build(trim_blocks: bool, lstrip_blocks: bool, reach: lookups::Reach) -> Templar {
        let options = TemplateOptions::new(trim_blocks, lstrip_blocks);
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        // Debug mode is what lets minijinja name the undefined expression.
        env.set_debug(true);
        if let Ok(syntax) = options.syntax() {
            env.set_syntax(syntax);
        }
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.set_formatter(format_value);
        env.add_global("omit", omit::omit());
        filters::register(&mut env);
        tests::register(&mut env);
        lookups::register(&mut env, reach);
        Templar {
            env: Arc::new(env),
            options: Arc::new(options),
        }
    }

    /// Renders `text` (may contain `{{ }}`, `{% %}`, `{# #}`) with `vars`.
    pub fn render_str(&self, text: &str, vars: &Vars) -> Result<String, TemplateError> {
        if !render::is_template(text) {
            return Ok(text.to_string());
        }
        let ctx = self.ctx(vars);
        render::render(&self.env, &ctx.value(), "<string>", text)
            .map_err(|e| explain(&ctx, &e, text))
    }

    /// Templates a whole value recursively (strings in lists and maps, keys
    /// too). A string that is only `{{ expr }}` keeps the expression's type.
    /// Entries and items whose value renders to the omit placeholder are
    /// removed.
    pub fn render_value(&self, value: &Value, vars: &Vars) -> Result<Value, TemplateError> {
        let ctx = self.ctx(vars);
        self.walk(&ctx, value)
    }

    /// Evaluates a bare expression, as in `when:`, `assert that:` or
    /// `debug var:`. A templated expression (`"{{ x }}"`) is rendered instead.
    pub fn eval(&self, expr: &str, vars: &Vars) -> Result<Value, TemplateError> {
        let ctx = self.ctx(vars);
        let value = self.eval_mj(&ctx, expr, false)?;
        mj_to_json(&value).map_err(|e| explain(&ctx, &e, expr))
    }

    /// `when:` truth. Strings are read as Ansible reads a conditional's text:
    /// "yes"/"true"/"on"/"1" (any case) are true, "no"/"false"/"off"/"0"/""
    /// are false, other non-empty strings are true.
    pub fn eval_bool(&self, expr: &str, vars: &Vars) -> Result<bool, TemplateError> {
        let ctx = self.ctx(vars);
        let value = self.eval_mj(&ctx, expr, true)?;
        Ok(match value.as_str() {
            Some(s) => bool_word(s).unwrap_or(!s.is_empty()),
            None => value.is_true(),
        })
    }

    /// A `when:` (or `failed_when:`, `until:`...) as written in YAML: a
    /// boolean, an expression, or a list of them that must all hold. An empty
    /// condition holds, as in Ansible.
    pub fn eval_when(&self, when: &Value, vars: &Vars) -> Result<bool, TemplateError> {
        match when {
            Value::Null => Ok(true),
            Value::Bool(b) => Ok(*b),
            Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
            Value::String(s) if s.trim().is_empty() => Ok(true),
            Value::String(s) => self.eval_bool(s, vars),
            Value::Array(items) => {
                for item in items {
                    if !self.eval_when(item, vars)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Value::Object(_) => Err(TemplateError::new(
                "a condition must be an expression or a list of expressions, not a mapping",
            )),
        }
    }

    /// Checks template syntax only; no variables needed.
    pub fn check_syntax(&self, text: &str) -> Result<(), TemplateError> {
        if !render::is_template(text) {
            return Ok(());
        }
        nesting::check_template(text, &render::DEFAULT_TAGS)
            .and_then(|()| {
                self.env
                    .template_from_named_str("<string>", text)
                    .map(|_| ())
            })
            .map_err(|e| TemplateError::from_minijinja(&e, text.contains('\n')))
    }

    /// Checks the syntax of a bare expression (or of a templated one).
    pub fn check_expr_syntax(&self, expr: &str) -> Result<(), TemplateError> {
        if render::is_template(expr) {
            return self.check_syntax(expr);
        }
        if expr.trim().is_empty() {
            return Err(TemplateError::new("empty expression"));
        }
        nesting::check_expression(expr)
            .and_then(|()| {
                self.env
                    .compile_expression_owned(expr.to_string())
                    .map(|_| ())
            })
            .map_err(|e| TemplateError::from_minijinja(&e, expr.contains('\n')))
    }

    /// Renders a file template; `name` appears in minijinja's own messages.
    /// A first line `#jinja2: key: value, ...` sets this template's options
    /// and is not output. The trailing newline is kept, as Ansible keeps it.
    pub fn render_file(
        &self,
        name: &str,
        text: &str,
        vars: &Vars,
    ) -> Result<String, TemplateError> {
        let (options, body) = header::split_header(text, &self.options)?;
        let env = self.env_for(&options)?;
        // Variables read by the template are still templated with the
        // default options, as in Ansible, hence `self`'s context.
        let ctx = self.ctx(vars);
        let rendered =
            render::render_file(&env, &ctx.value(), name, body, &options).map_err(|e| {
                let mut err = TemplateError::from_minijinja(&e, true);
                ctx.explain(&mut err, e.kind() == minijinja::ErrorKind::UndefinedError);
                // Lines count from the file's first line, header included.
                if body.len() != text.len() {
                    err.line = err.line.map(|l| l + 1);
                }
                err
            })?;
        Ok(match options.newline_sequence.as_str() {
            "\n" => rendered,
            sequence => rendered.replace('\n', sequence),
        })
    }

    /// The environment for a template with `options`: this templar's own,
    /// or a copy with another syntax when a `#jinja2:` line changed them.
    fn env_for(
        &self,
        options: &TemplateOptions,
    ) -> Result<Arc<Environment<'static>>, TemplateError> {
        if *options == *self.options {
            return Ok(self.env.clone());
        }
        let mut env = (*self.env).clone();
        env.set_syntax(options.syntax()?);
        Ok(Arc::new(env))
    }

    fn ctx(&self, vars: &Vars) -> Arc<Ctx> {
        Ctx::new(self.env.clone(), vars.clone())
    }

    /// Evaluates `expr`. In a `conditional`, a templated expression whose
    /// result is text is evaluated again as an expression (`when: "{{ c }}"`
    /// with `c: "x == 1"`), as Ansible does.
    fn eval_mj(
        &self,
        ctx: &Arc<Ctx>,
        expr: &str,
        conditional: bool,
    ) -> Result<MjValue, TemplateError> {
        if expr.trim().is_empty() {
            return Err(TemplateError::new("empty expression"));
        }
        let cv = ctx.value();
        if render::is_template(expr) {
            let value = render::template_string(&self.env, &cv, expr)
                .map_err(|e| explain(ctx, &e, expr))?;
            return match value.as_str() {
                Some(text)
                    if conditional && !text.trim().is_empty() && bool_word(text).is_none() =>
                {
                    render::eval(&self.env, &cv, text).map_err(|e| explain(ctx, &e, text))
                }
                _ => Ok(value),
            };
        }
        render::eval(&self.env, &cv, expr).map_err(|e| explain(ctx, &e, expr))
    }

    fn walk(&self, ctx: &Arc<Ctx>, value: &Value) -> Result<Value, TemplateError> {
        Ok(match value {
            Value::String(s) if render::is_template(s) => {
                let v = render::template_string(&self.env, &ctx.value(), s)
                    .map_err(|e| explain(ctx, &e, s))?;
                mj_to_json(&v).map_err(|e| explain(ctx, &e, s))?
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let v = self.walk(ctx, item)?;
                    if !is_omit(&v) {
                        out.push(v);
                    }
                }
                Value::Array(out)
            }
            Value::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (k, v) in map {
                    let v = self.walk(ctx, v)?;
                    if is_omit(&v) {
                        continue;
                    }
                    let key = if render::is_template(k) {
                        render::render(&self.env, &ctx.value(), "<string>", k)
                            .map_err(|e| explain(ctx, &e, k))?
                    } else {
                        k.clone()
                    };
                    out.insert(key, v);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }
}

fn is_omit(v: &Value) -> bool {
    v.as_str() == Some(OMIT_PLACEHOLDER)
}

fn explain(ctx: &Ctx, err: &minijinja::Error, source: &str) -> TemplateError {
    let mut out = TemplateError::from_minijinja(err, source.contains('\n'));
    ctx.explain(&mut out, err.kind() == minijinja::ErrorKind::UndefinedError);
    out
}

/// Prints values into templates: undefined values (also inside lists and
/// maps) are errors naming the variable, and none prints as "", as in Ansible.
fn format_value(
    out: &mut Output,
    state: &mut State,
    value: &MjValue,
) -> Result<(), minijinja::Error> {
    if let Some(undefined) = find_undefined(value) {
        // `{{ 'x' if cond }}` with a false cond prints nothing, as in Jinja2.
        if value.is_undefined() && is_silent_undefined(value) {
            return Ok(());
        }
        return Err(undefined_error(&undefined));
    }
    if value.is_none() {
        return Ok(());
    }
    minijinja::escape_formatter(out, state, value)
}
