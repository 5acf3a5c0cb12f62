//! Ansible's splitting of a free-form module string (`shell: |` with a
//! script, `command: ls -l chdir=/`) into words that keep the original
//! whitespace: a multi-line script must reach the shell with its newlines
//! and its runs of spaces, as ansible.parsing.splitter.split_args and
//! join_args give it.

/// Splits `text` into words the way Ansible's `split_args` does: on single
/// spaces and newlines, except inside quotes and Jinja2 blocks. A word
/// keeps the extra spaces that follow it and the newline that ends its
/// line, so `join_args` rebuilds the original layout.
pub fn split_keeping_layout(text: &str) -> Result<Vec<String>, String> {
    let mut params: Vec<String> = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut quote: Option<char> = None;
    let mut depth = Depths::default();
    for (line_no, line) in lines.iter().enumerate() {
        let mut continuation = false;
        for (idx, token) in line.split(' ').enumerate() {
            if token.is_empty() && idx != 0 {
                last(&mut params).push(' ');
                continue;
            }
            if token == "\\" && quote.is_none() {
                continuation = true;
                continue;
            }
            let was_quoted = quote.is_some();
            quote = quote_state(token, quote);
            let quoted = quote.is_some();
            let mut appended = false;
            if quoted && !was_quoted && !depth.inside() {
                params.push(token.to_string());
                appended = true;
            } else if depth.inside() || quoted || was_quoted {
                let spacer = if idx == 0 && was_quoted {
                    ""
                } else if idx > 0 {
                    " "
                } else {
                    ""
                };
                let tail = last(&mut params);
                tail.push_str(spacer);
                tail.push_str(token);
                appended = true;
            }
            if depth.count(token) && !appended {
                params.push(token.to_string());
                appended = true;
            }
            if !depth.inside() && !quoted && !appended && !token.is_empty() {
                params.push(token.to_string());
            }
        }
        if lines.len() > 1 && line_no != lines.len() - 1 && !continuation {
            last(&mut params).push('\n');
        }
    }
    if depth.inside() || quote.is_some() {
        return Err(format!("unbalanced quotes or Jinja2 block in: {text}"));
    }
    Ok(params)
}

/// Joins words from `split_keeping_layout` back: a space between words,
/// none after a word that ends its line.
pub fn join_args(words: &[String]) -> String {
    let mut out = String::new();
    for w in words {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// The last word, created empty when there is none yet (leading spaces or
/// an empty first line still have to be kept somewhere).
fn last(params: &mut Vec<String>) -> &mut String {
    if params.is_empty() {
        params.push(String::new());
    }
    let n = params.len() - 1;
    &mut params[n]
}

/// The quote still open after `token`, given the one open before it; a
/// quote preceded by a backslash does not count.
fn quote_state(token: &str, mut open: Option<char>) -> Option<char> {
    let mut prev: Option<char> = None;
    for c in token.chars() {
        if (c == '"' || c == '\'') && prev != Some('\\') {
            match open {
                Some(q) if q == c => open = None,
                Some(_) => {}
                None => open = Some(c),
            }
        }
        prev = Some(c);
    }
    open
}

/// How deep the words so far are inside `{{ }}`, `{% %}` and `{# #}`.
#[derive(Default)]
struct Depths {
    print: usize,
    block: usize,
    comment: usize,
}

impl Depths {
    fn inside(&self) -> bool {
        self.print > 0 || self.block > 0 || self.comment > 0
    }

    /// Counts the blocks `token` opens and closes; true when any depth
    /// changed (the token then starts a word of its own).
    fn count(&mut self, token: &str) -> bool {
        let mut changed = false;
        for (depth, open, close) in [
            (&mut self.print, "{{", "}}"),
            (&mut self.block, "{%", "%}"),
            (&mut self.comment, "{#", "#}"),
        ] {
            let opened = token.matches(open).count();
            let closed = token.matches(close).count();
            if opened != closed {
                *depth = (*depth + opened).saturating_sub(closed);
                changed = true;
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        join_args(&split_keeping_layout(text).unwrap())
    }

    #[test]
    fn a_multi_line_script_keeps_its_newlines() {
        let script = "n=$(cat f || echo 0)\nn=$((n + 1))\n[ \"$n\" -ge 3 ]\n";
        assert_eq!(round_trip(script), script);
        assert_eq!(
            split_keeping_layout("a b\nc").unwrap(),
            vec!["a", "b\n", "c"]
        );
    }

    #[test]
    fn runs_of_spaces_are_kept() {
        assert_eq!(round_trip("echo a   b"), "echo a   b");
        assert_eq!(round_trip("  indented"), "  indented");
    }

    #[test]
    fn quotes_and_jinja_blocks_hold_words_together() {
        assert_eq!(
            split_keeping_layout("echo 'a b' {{ x | default('c d') }} z").unwrap(),
            vec!["echo", "'a b'", "{{ x | default('c d') }}", "z"]
        );
        assert_eq!(
            split_keeping_layout("printf \"x\ny\" done").unwrap(),
            vec!["printf", "\"x\ny\"", "done"]
        );
    }

    #[test]
    fn a_backslash_alone_continues_the_line() {
        assert_eq!(round_trip("ls \\\n-l"), "ls -l");
    }

    #[test]
    fn unbalanced_quotes_are_an_error() {
        assert!(split_keeping_layout("echo 'a").is_err());
        assert!(split_keeping_layout("echo {{ a").is_err());
    }
}
