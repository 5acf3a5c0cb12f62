//! `TemplateError`: why a template or expression could not be rendered, reduced
//! to what a playbook author can act on — the message, the variable that was
//! undefined (when that is the cause) and the line within the template text.
//!
//! minijinja reports undefined values as "`name` is undefined" inside its error
//! detail (in debug mode); we read the name back from there, because Ansible
//! users expect "'name' is undefined" and the engine wants the name itself.

use std::fmt;
use std::sync::OnceLock;

use regex::Regex;

/// An error from rendering a template or evaluating an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// What went wrong, e.g. `'nope' is undefined`.
    pub message: String,
    /// The undefined expression when that is the cause, as written in the
    /// template: `nope`, or `x.missing` for a missing key of a defined `x`.
    pub undefined: Option<String>,
    /// The 1-based line within the template text, for multi-line templates.
    pub line: Option<usize>,
}

impl TemplateError {
    /// An error with only a message.
    pub fn new(message: impl Into<String>) -> TemplateError {
        TemplateError {
            message: message.into(),
            undefined: None,
            line: None,
        }
    }

    /// The error for an undefined expression, worded as Ansible words it.
    pub fn undefined(name: &str) -> TemplateError {
        TemplateError {
            message: format!("'{name}' is undefined"),
            undefined: Some(name.to_string()),
            line: None,
        }
    }

    /// The variable at the root of the undefined expression: `x` for `x.missing`
    /// or `x['k']`. This is the name to look for among the play's variables.
    pub fn undefined_variable(&self) -> Option<&str> {
        self.undefined.as_deref().map(root_variable)
    }

    /// Translates a minijinja error. `multiline` says whether the template text
    /// has more than one line; a line number is only worth showing then.
    pub(crate) fn from_minijinja(err: &minijinja::Error, multiline: bool) -> TemplateError {
        let line = if multiline { err.line() } else { None };
        let mut mandatory = None;
        let mut undefined = None;
        let mut detail = None;
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = current {
            if let Some(m) = e.downcast_ref::<Mandatory>() {
                mandatory.get_or_insert_with(|| m.0.clone());
            }
            if let Some(mj) = e.downcast_ref::<minijinja::Error>() {
                if let Some(d) = mj.detail() {
                    if undefined.is_none() {
                        undefined = undefined_name(d);
                    }
                    detail.get_or_insert_with(|| (mj.kind(), d.to_string()));
                }
            } else if detail.is_none() && mandatory.is_none() {
                detail = Some((err.kind(), e.to_string()));
            }
            current = e.source();
        }
        let message = match (&mandatory, &undefined) {
            (Some(Some(msg)), _) => msg.clone(),
            (Some(None), Some(name)) => format!("Mandatory variable '{name}' not defined."),
            (Some(None), None) => "Mandatory variable not defined.".to_string(),
            (None, Some(name)) => format!("'{name}' is undefined"),
            (None, None) => match (err.kind(), detail) {
                (minijinja::ErrorKind::UndefinedError, _) => {
                    "a value in the template is undefined (an inline `if` without `else`?)"
                        .to_string()
                }
                (_, Some((kind, d))) => format!("{kind}: {d}"),
                (kind, None) => kind.to_string(),
            },
        };
        TemplateError {
            message,
            undefined,
            line,
        }
    }
}

/// The variable an expression starts from: `x` for `x.y[0]`.
pub(crate) fn root_variable(expr: &str) -> &str {
    let end = expr.find(['.', '[', ' ', '(']).unwrap_or(expr.len());
    &expr[..end]
}

/// Reads the undefined expression out of a minijinja error detail.
pub(crate) fn undefined_name(detail: &str) -> Option<String> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let re = RE
        .get_or_init(|| Regex::new(r"`([^`]+)` is undefined").ok())
        .as_ref()?;
    re.captures(detail).map(|c| c[1].to_string())
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

impl std::error::Error for TemplateError {}

/// Marks an error raised by the `mandatory` filter, with its custom message.
/// It travels as the source of a minijinja undefined error so that the
/// undefined expression's name is still resolved by minijinja.
#[derive(Debug)]
pub(crate) struct Mandatory(pub Option<String>);

impl fmt::Display for Mandatory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(msg) => f.write_str(msg),
            None => f.write_str("mandatory variable not defined"),
        }
    }
}

impl std::error::Error for Mandatory {}
