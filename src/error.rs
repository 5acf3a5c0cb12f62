//! The one error type of tend's front end, rendered in one place.
//!
//! A problem in a user's file points at it: `file:line:col`, the line
//! itself and a caret under the column, and, where we know one, what to do.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::yaml::Loc;

#[derive(Debug)]
pub enum Error {
    /// A problem at a place in a user's file.
    At {
        loc: Loc,
        message: String,
        help: Option<String>,
    },
    /// A file that could not be read.
    Io { path: PathBuf, message: String },
    /// Anything else that stops the run before it starts.
    Plain { message: String },
}

impl Error {
    pub fn at(loc: &Loc, message: impl Into<String>) -> Error {
        Error::At {
            loc: loc.clone(),
            message: message.into(),
            help: None,
        }
    }

    pub fn io(path: &Path, err: &std::io::Error) -> Error {
        let message = match err.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            _ => err.to_string(),
        };
        Error::Io {
            path: path.to_path_buf(),
            message,
        }
    }

    pub fn plain(message: impl Into<String>) -> Error {
        Error::Plain {
            message: message.into(),
        }
    }

    /// Says which keyword the problem is with: `register: expected a
    /// string, not a list`.
    pub fn context(self, what: &str) -> Error {
        match self {
            Error::At { loc, message, help } => Error::At {
                loc,
                message: format!("{what}: {message}"),
                help,
            },
            other => other,
        }
    }

    /// Adds advice on what to do.
    pub fn help(self, text: impl Into<String>) -> Error {
        match self {
            Error::At { loc, message, .. } => Error::At {
                loc,
                message,
                help: Some(text.into()),
            },
            other => other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::At { loc, message, help } => {
                write!(f, "{loc}: {message}")?;
                if let Some(line) = loc.source.line(loc.line) {
                    let number = loc.line.to_string();
                    let pad = " ".repeat(number.len());
                    let (shown, caret_pad) = snippet(line, loc.col);
                    write!(f, "\n{pad} |\n{number} | {shown}\n{pad} | {caret_pad}^")?;
                }
                if let Some(help) = help {
                    write!(f, "\n  = help: {help}")?;
                }
                Ok(())
            }
            Error::Io { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Plain { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// Longest part of a source line shown under a message. A longer line (a
/// minified or generated file, one huge scalar) is cut to a window around
/// the column, so that an error never prints megabytes.
const SNIPPET_WIDTH: usize = 120;

/// The part of `line` to show and the padding that puts a caret under
/// 1-based column `col`. Control characters are shown as U+FFFD: the line
/// comes from a user's file and must not drive the terminal.
fn snippet(line: &str, col: usize) -> (String, String) {
    let len = line.chars().count();
    let at = col.saturating_sub(1).min(len);
    let (start, end) = if len <= SNIPPET_WIDTH {
        (0, len)
    } else {
        let start = at.saturating_sub(SNIPPET_WIDTH / 3);
        let end = (start + SNIPPET_WIDTH).min(len);
        (end.saturating_sub(SNIPPET_WIDTH).min(start), end)
    };
    let visible = |c: char| {
        if c.is_control() && c != '\t' {
            '\u{fffd}'
        } else {
            c
        }
    };
    let mut shown = String::new();
    let mut caret_pad = String::new();
    if start > 0 {
        shown.push('…');
        caret_pad.push(' ');
    }
    for (i, c) in line.chars().enumerate().skip(start).take(end - start) {
        shown.push(visible(c));
        if i < at {
            caret_pad.push(if c == '\t' { '\t' } else { ' ' });
        }
    }
    if end < len {
        shown.push('…');
    }
    (shown, caret_pad)
}

#[cfg(test)]
mod tests {
    use super::snippet;

    #[test]
    fn a_short_line_is_shown_whole() {
        assert_eq!(
            snippet("\tkey: value", 7),
            ("\tkey: value".to_string(), "\t     ".to_string())
        );
    }

    #[test]
    fn a_huge_line_is_cut_around_the_column() {
        let line = format!("{}X{}", "a".repeat(100_000), "b".repeat(100_000));
        let (shown, pad) = snippet(&line, 100_001);
        assert!(shown.chars().count() <= super::SNIPPET_WIDTH + 2, "{shown}");
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(shown.chars().nth(pad.chars().count()), Some('X'));
    }

    #[test]
    fn control_characters_are_not_sent_to_the_terminal() {
        assert_eq!(snippet("a\u{1b}[2Jb", 1).0, "a\u{fffd}[2Jb");
    }
}
