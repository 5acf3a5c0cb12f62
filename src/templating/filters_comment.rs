//! Ansible's `comment` filter: text turned into a comment block of a
//! style (`plain` `#`, `erlang` `%`, `c` `//`, `cblock` `/* */`, `xml`
//! `<!-- -->`), every part of which a keyword may override.

use minijinja::value::{Kwargs, Value as MjValue};
use minijinja::{Environment, Error};

use super::convert::{as_text, op_err};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("comment", comment);
}

/// The parts of a comment block, as Ansible names its parameters.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CommentStyle {
    pub(crate) newline: String,
    pub(crate) beginning: String,
    pub(crate) prefix: String,
    pub(crate) prefix_count: usize,
    pub(crate) decoration: String,
    pub(crate) postfix: String,
    pub(crate) postfix_count: usize,
    pub(crate) end: String,
}

impl CommentStyle {
    /// A predefined style; `decoration` (the `decoration` keyword, if given)
    /// also makes the prefix and postfix lines.
    pub(crate) fn named(style: &str, decoration: Option<&str>) -> Result<CommentStyle, String> {
        let (beginning, style_decoration, end) = match style {
            "plain" => ("", "# ", ""),
            "erlang" => ("", "% ", ""),
            "c" => ("", "// ", ""),
            "cblock" => ("/*", " * ", " */"),
            "xml" => ("<!--", " - ", "-->"),
            _ => {
                return Err(format!(
                    "Invalid style '{style}'. Available styles: plain, erlang, c, cblock, xml"
                ));
            }
        };
        let framing = decoration
            .unwrap_or(style_decoration)
            .trim_end()
            .to_string();
        Ok(CommentStyle {
            newline: "\n".into(),
            beginning: beginning.into(),
            prefix: framing.clone(),
            prefix_count: 1,
            decoration: style_decoration.into(),
            postfix: framing,
            postfix_count: 1,
            end: end.into(),
        })
    }

    /// `text` as a comment block.
    pub(crate) fn apply(&self, text: &str) -> String {
        let nl = &self.newline;
        let mut out = String::new();
        if !self.beginning.is_empty() {
            out.push_str(&format!("{}{nl}", self.beginning));
        }
        if !self.prefix.is_empty() {
            let line = if self.prefix == *nl {
                nl.clone()
            } else {
                format!("{}{nl}", self.prefix)
            };
            out.push_str(&line.repeat(self.prefix_count));
        }
        let deco = &self.decoration;
        let body = format!(
            "{deco}{}",
            text.replace(nl.as_str(), &format!("{nl}{deco}"))
        );
        // A decoration alone on a line loses its trailing spaces.
        out.push_str(&body.replace(&format!("{deco}{nl}"), &format!("{}{nl}", deco.trim_end())));
        for _ in 0..self.postfix_count {
            out.push_str(nl);
            out.push_str(&self.postfix);
        }
        if !self.end.is_empty() {
            out.push_str(&format!("{nl}{}", self.end));
        }
        out
    }

    /// Applies the keyword overrides of the filter call.
    fn override_with(&mut self, kwargs: &Kwargs) -> Result<(), Error> {
        for (name, field) in [
            ("newline", &mut self.newline),
            ("beginning", &mut self.beginning),
            ("prefix", &mut self.prefix),
            ("decoration", &mut self.decoration),
            ("postfix", &mut self.postfix),
            ("end", &mut self.end),
        ] {
            if let Some(v) = kwargs.get::<Option<String>>(name)? {
                *field = v;
            }
        }
        if let Some(n) = kwargs.get::<Option<usize>>("prefix_count")? {
            self.prefix_count = n;
        }
        if let Some(n) = kwargs.get::<Option<usize>>("postfix_count")? {
            self.postfix_count = n;
        }
        Ok(())
    }
}

/// `comment(style='plain', **kw)`.
fn comment(value: &MjValue, style: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let text = as_text("comment", value)?;
    let style = style.unwrap_or_else(|| "plain".into());
    let decoration = kwargs.get::<Option<String>>("decoration")?;
    let mut parts =
        CommentStyle::named(&style, decoration.as_deref()).map_err(|e| op_err("comment", e))?;
    parts.override_with(&kwargs)?;
    kwargs.assert_all_used()?;
    Ok(parts.apply(&text))
}
