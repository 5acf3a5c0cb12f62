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
                    let caret_pad: String = line
                        .chars()
                        .take(loc.col.saturating_sub(1))
                        .map(|c| if c == '\t' { '\t' } else { ' ' })
                        .collect();
                    write!(f, "\n{pad} |\n{number} | {line}\n{pad} | {caret_pad}^")?;
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
