//! Shell-style word splitting of INI host lines, as Python's
//! `shlex.split(line, comments=True)` does it for Ansible: `k='a b'` is the
//! one word `k=a b`, backslash escapes outside single quotes, and a `#`
//! outside quotes ends the line, even in the middle of a word.

/// One word and the byte offset in the line where it starts, so errors can
/// point at it.
#[derive(Debug, PartialEq)]
pub(super) struct Word {
    pub text: String,
    pub start: usize,
}

pub(super) fn split(line: &str) -> Result<Vec<Word>, String> {
    let mut words = Vec::new();
    let mut current: Option<Word> = None;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => words.extend(current.take()),
            '#' => break,
            '\'' => {
                let word = current.get_or_insert_with(|| Word {
                    text: String::new(),
                    start: i,
                });
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, ch)) => word.text.push(ch),
                        None => return Err("no closing quotation".into()),
                    }
                }
            }
            '"' => {
                let word = current.get_or_insert_with(|| Word {
                    text: String::new(),
                    start: i,
                });
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        // In double quotes a backslash escapes only `"` and
                        // itself; before anything else it stays.
                        Some((_, '\\')) => match chars.peek() {
                            Some(&(_, next @ ('"' | '\\'))) => {
                                word.text.push(next);
                                chars.next();
                            }
                            _ => word.text.push('\\'),
                        },
                        Some((_, ch)) => word.text.push(ch),
                        None => return Err("no closing quotation".into()),
                    }
                }
            }
            '\\' => {
                let word = current.get_or_insert_with(|| Word {
                    text: String::new(),
                    start: i,
                });
                match chars.next() {
                    Some((_, ch)) => word.text.push(ch),
                    None => return Err("no escaped character after the final backslash".into()),
                }
            }
            _ => current
                .get_or_insert_with(|| Word {
                    text: String::new(),
                    start: i,
                })
                .text
                .push(c),
        }
    }
    words.extend(current);
    Ok(words)
}
