//! A depth limit that minijinja's compiler lacks. minijinja 3.1 keeps a
//! recursion limit for brackets and blocks while parsing, but not for chains
//! of unary operators (`- - - x`, `not not x`) or of conditional expressions
//! (`a if b else c if d else ...`), and it compiles every chain, including
//! those it parses in a loop (`x | f | f | ...`, `1 + 1 + ...`, `x.a.a...`),
//! by recursing once per link. Some thousands of links overflow a host
//! thread's stack and abort the whole run, so text whose tags have that
//! many operators is refused here, before minijinja sees it. (Found by the
//! `template` fuzz target.)

use minijinja::{Error, ErrorKind};

use super::header::TemplateOptions;

/// More operators than this in one tag is refused. Written templates use a
/// handful; a debug build on a 2 MiB thread overflows from about 5,000.
const MAX_LINKS: usize = 1_000;

/// Bytes that start an operator: each may add a level to the expression.
const OPERATORS: &[u8] = b"-+*/%~|.[(=<>!";

/// Words that are operators.
const OPERATOR_WORDS: &[&[u8]] = &[b"not", b"and", b"or", b"if", b"else", b"is", b"in"];

/// Checks a bare expression (a `when:`), all of which minijinja parses.
pub(crate) fn check_expression(expr: &str) -> Result<(), Error> {
    let mut links = Links::default();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        i = links.step(bytes, i)?;
    }
    Ok(())
}

/// Checks the tags of a template written with `options`' delimiters: text
/// outside them is output, not parsed, so its dashes do not count.
pub(crate) fn check_template(text: &str, options: &TemplateOptions) -> Result<(), Error> {
    let tags: Vec<(&str, &str)> = [&options.variable, &options.block]
        .into_iter()
        .filter(|(open, close)| !open.is_empty() && !close.is_empty())
        .map(|(open, close)| (open.as_str(), close.as_str()))
        .collect();
    let line_prefix = options
        .line_statement_prefix
        .as_deref()
        .filter(|p| !p.is_empty());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let at_line_start = i == 0 || bytes[i - 1] == b'\n';
        let (open_len, close) = if let Some((open, close)) = tags
            .iter()
            .find(|(open, _)| rest.starts_with(open.as_bytes()))
        {
            (open.len(), close.as_bytes())
        } else if let Some(prefix) = line_prefix
            .filter(|p| at_line_start && rest.trim_ascii_start().starts_with(p.as_bytes()))
        {
            let indent = rest.len() - rest.trim_ascii_start().len();
            (indent + prefix.len(), &b"\n"[..])
        } else {
            i += 1;
            continue;
        };
        i += open_len;
        let mut links = Links::default();
        while i < bytes.len() && !(links.quote.is_none() && bytes[i..].starts_with(close)) {
            i = links.step(bytes, i)?;
        }
        i += close.len();
    }
    Ok(())
}

/// Counts the links of chains inside one tag, skipping string literals.
#[derive(Default)]
struct Links {
    count: usize,
    quote: Option<u8>,
}

impl Links {
    /// Reads the byte at `i` (or the word starting there) and returns where
    /// to read next.
    fn step(&mut self, bytes: &[u8], i: usize) -> Result<usize, Error> {
        let b = bytes[i];
        if let Some(q) = self.quote {
            if b == b'\\' {
                return Ok(i + 2);
            }
            if b == q {
                self.quote = None;
            }
            return Ok(i + 1);
        }
        if b == b'\'' || b == b'"' {
            self.quote = Some(b);
            return Ok(i + 1);
        }
        if !b.is_ascii_alphanumeric() && b != b'_' {
            if OPERATORS.contains(&b) {
                self.add()?;
            }
            return Ok(i + 1);
        }
        // A word, or a number: `1.5` is not an attribute lookup.
        let end = bytes[i..]
            .iter()
            .position(|c| !c.is_ascii_alphanumeric() && *c != b'_' && *c != b'.')
            .map_or(bytes.len(), |n| i + n);
        let word = &bytes[i..end];
        if word.first().is_some_and(u8::is_ascii_digit) {
            return Ok(end);
        }
        let name_end = word.iter().position(|c| *c == b'.').map_or(end, |n| i + n);
        if OPERATOR_WORDS.contains(&&bytes[i..name_end]) {
            self.add()?;
        }
        Ok(name_end)
    }

    fn add(&mut self) -> Result<(), Error> {
        self.count += 1;
        if self.count > MAX_LINKS {
            return Err(Error::new(
                ErrorKind::SyntaxError,
                format!(
                    "more than {MAX_LINKS} operators in one expression or tag; nesting this deep is refused"
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(text: &str) -> Result<(), Error> {
        check_template(text, &TemplateOptions::new(true, false))
    }

    #[test]
    fn long_chains_in_tags_are_refused() {
        for chain in [
            "-".repeat(1_001),
            "not ".repeat(1_001),
            "1 if x else ".repeat(1_001),
            "x|f".repeat(1_001),
            "1 + ".repeat(1_001),
            "x.a".repeat(1_001),
        ] {
            assert!(check_expression(&format!("{chain}x")).is_err());
            let e = template(&format!("a {{{{ {chain}x }}}} b")).unwrap_err();
            assert!(e.to_string().contains("more than 1000"), "{e}");
            assert!(template(&format!("{{% if {chain}x %}}{{% endif %}}")).is_err());
        }
    }

    #[test]
    fn text_strings_and_short_chains_are_fine() {
        let dashes = "-".repeat(5_000);
        assert!(template(&format!("{dashes}\n{{{{ x }}}}\n{dashes}\n")).is_ok());
        assert!(template(&format!("{{{{ '{dashes}' ~ \"{dashes}\\\"\" }}}}")).is_ok());
        assert!(check_expression(&format!("'{dashes}' and not x")).is_ok());
        let many_tags = "{{ not x - 1 if y else z }}".repeat(1_000);
        assert!(template(&many_tags).is_ok());
        let numbers = vec!["1.5"; 5_000].join(", ");
        assert!(template(&format!("{{{{ [{numbers}] }}}}")).is_ok());
    }

    #[test]
    fn custom_delimiters_and_line_statements_are_followed() {
        let mut options = TemplateOptions::new(true, false);
        options.variable = ("[[".into(), "]]".into());
        options.line_statement_prefix = Some("#".into());
        let chain = "-".repeat(1_001);
        assert!(check_template(&format!("{{{{ {chain} }}}}"), &options).is_ok());
        assert!(check_template(&format!("[[ {chain}x ]]"), &options).is_err());
        assert!(check_template(&format!("a\n  # if {chain}x\nb"), &options).is_err());
        assert!(check_template(&format!("a # {chain}\n"), &options).is_ok());
    }
}
