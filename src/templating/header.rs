//! The `#jinja2:` first line of a template file, which sets that template's
//! Jinja options (`#jinja2: trim_blocks: False, lstrip_blocks: True`) and is
//! not part of the output. Parsed as Ansible parses it: comma-separated
//! `key: value` pairs, each value a Python literal.

use minijinja::syntax::{SyntaxConfig, SyntaxConfigBuilder};

use super::TemplateError;

const HEADER: &str = "#jinja2:";

/// The options a `#jinja2:` line may set, with Ansible's defaults.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TemplateOptions {
    pub(crate) trim_blocks: bool,
    pub(crate) lstrip_blocks: bool,
    pub(crate) keep_trailing_newline: bool,
    pub(crate) newline_sequence: String,
    pub(crate) block: (String, String),
    pub(crate) variable: (String, String),
    pub(crate) comment: (String, String),
    pub(crate) line_statement_prefix: Option<String>,
    pub(crate) line_comment_prefix: Option<String>,
}

impl TemplateOptions {
    /// The options of a template without header, given the template
    /// module's `trim_blocks` and `lstrip_blocks`.
    pub(crate) fn new(trim_blocks: bool, lstrip_blocks: bool) -> TemplateOptions {
        TemplateOptions {
            trim_blocks,
            lstrip_blocks,
            keep_trailing_newline: false,
            newline_sequence: "\n".into(),
            block: ("{%".into(), "%}".into()),
            variable: ("{{".into(), "}}".into()),
            comment: ("{#".into(), "#}".into()),
            line_statement_prefix: None,
            line_comment_prefix: None,
        }
    }

    /// Whether tags are written `{{ }}`, `{% %}`, `{# #}`, without line
    /// statements or comments.
    pub(crate) fn default_delimiters(&self) -> bool {
        let defaults = TemplateOptions::new(self.trim_blocks, self.lstrip_blocks);
        (&self.block, &self.variable, &self.comment)
            == (&defaults.block, &defaults.variable, &defaults.comment)
            && self.line_statement_prefix.is_none()
            && self.line_comment_prefix.is_none()
    }

    /// minijinja's syntax for these options.
    pub(crate) fn syntax(&self) -> Result<SyntaxConfig, TemplateError> {
        let mut builder: SyntaxConfigBuilder = SyntaxConfig::builder();
        builder
            .block_delimiters(self.block.0.clone(), self.block.1.clone())
            .variable_delimiters(self.variable.0.clone(), self.variable.1.clone())
            .comment_delimiters(self.comment.0.clone(), self.comment.1.clone())
            .trim_blocks(self.trim_blocks)
            .lstrip_blocks(self.lstrip_blocks)
            .keep_trailing_newline(self.keep_trailing_newline);
        if let Some(prefix) = &self.line_statement_prefix {
            builder.line_statement_prefix(prefix.clone());
        }
        if let Some(prefix) = &self.line_comment_prefix {
            builder.line_comment_prefix(prefix.clone());
        }
        builder
            .build()
            .map_err(|e| TemplateError::new(format!("invalid Jinja options: {e}")))
    }

    /// Applies one `key: value` pair of a header.
    fn set(&mut self, key: &str, literal: &str) -> Result<(), TemplateError> {
        match key {
            "trim_blocks" => self.trim_blocks = bool_literal(key, literal)?,
            "lstrip_blocks" => self.lstrip_blocks = bool_literal(key, literal)?,
            "keep_trailing_newline" => self.keep_trailing_newline = bool_literal(key, literal)?,
            "newline_sequence" => self.newline_sequence = newline_literal(literal)?,
            "block_start_string" => self.block.0 = str_literal(key, literal)?,
            "block_end_string" => self.block.1 = str_literal(key, literal)?,
            "variable_start_string" => self.variable.0 = str_literal(key, literal)?,
            "variable_end_string" => self.variable.1 = str_literal(key, literal)?,
            "comment_start_string" => self.comment.0 = str_literal(key, literal)?,
            "comment_end_string" => self.comment.1 = str_literal(key, literal)?,
            "line_statement_prefix" => self.line_statement_prefix = optional_str(key, literal)?,
            "line_comment_prefix" => self.line_comment_prefix = optional_str(key, literal)?,
            _ => {
                return Err(TemplateError::new(format!(
                    "invalid '{HEADER}' override key '{key}'"
                )));
            }
        }
        Ok(())
    }
}

/// Splits a template into its options and the text to render: a first line
/// starting with `#jinja2:` overrides `defaults` and is dropped.
pub(crate) fn split_header<'t>(
    text: &'t str,
    defaults: &TemplateOptions,
) -> Result<(TemplateOptions, &'t str), TemplateError> {
    let Some(after) = text.strip_prefix(HEADER) else {
        return Ok((defaults.clone(), text));
    };
    let Some((line, body)) = after.split_once('\n') else {
        return Err(TemplateError::new(format!(
            "missing newline after '{HEADER}' override"
        )));
    };
    let mut options = defaults.clone();
    for pair in line.split(',') {
        if pair.trim().is_empty() {
            return Err(TemplateError::new(format!(
                "empty '{HEADER}' override pair not allowed"
            )));
        }
        let Some((key, literal)) = pair.split_once(':') else {
            return Err(TemplateError::new(format!(
                "missing key-value separator ':' in '{HEADER}' override pair '{pair}'"
            )));
        };
        options.set(key.trim(), literal.trim())?;
    }
    Ok((options, body))
}

/// A Python boolean literal (`True`/`False`; Ansible evaluates the value
/// with `ast.literal_eval`, so `true` is not one).
fn bool_literal(key: &str, literal: &str) -> Result<bool, TemplateError> {
    match literal {
        "True" => Ok(true),
        "False" => Ok(false),
        _ => Err(TemplateError::new(format!(
            "'{HEADER}' override '{key}' needs True or False, not '{literal}'"
        ))),
    }
}

/// A Python string literal in single or double quotes, with the escapes a
/// delimiter or newline may need.
fn str_literal(key: &str, literal: &str) -> Result<String, TemplateError> {
    let quoted = ['\'', '"']
        .iter()
        .find_map(|q| literal.strip_prefix(*q)?.strip_suffix(*q));
    match quoted {
        Some(inner) => Ok(unescape(inner)),
        None => Err(TemplateError::new(format!(
            "'{HEADER}' override '{key}' needs a quoted string, not '{literal}'"
        ))),
    }
}

/// The escapes a Python literal of a delimiter or newline may hold: `\n`,
/// `\r`, `\t`, and an escaped backslash or quote.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// `None` or a string.
fn optional_str(key: &str, literal: &str) -> Result<Option<String>, TemplateError> {
    if literal == "None" {
        return Ok(None);
    }
    str_literal(key, literal).map(Some)
}

fn newline_literal(literal: &str) -> Result<String, TemplateError> {
    let seq = str_literal("newline_sequence", literal)?;
    if matches!(seq.as_str(), "\n" | "\r" | "\r\n") {
        Ok(seq)
    } else {
        Err(TemplateError::new(
            "newline_sequence needs to be one of: \\n, \\r or \\r\\n",
        ))
    }
}
