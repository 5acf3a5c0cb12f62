//! The two ways a module says no: bad parameters (before any host is
//! touched, where possible) and a failed task on a host.

use std::fmt;

/// A parameter problem, found while parsing a task's arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamError {
    /// The parameter at fault, when there is one: the engine points at it.
    pub param: Option<String>,
    pub message: String,
}

impl ParamError {
    pub fn new(param: impl Into<String>, message: impl Into<String>) -> Self {
        ParamError {
            param: Some(param.into()),
            message: message.into(),
        }
    }
    pub fn general(message: impl Into<String>) -> Self {
        ParamError {
            param: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParamError {}

/// A task that failed on a host; `result` carries Ansible-style extra fields
/// (`rc`, `stdout`, ...) that `register` keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskError {
    pub msg: String,
    pub result: crate::Map,
}

impl TaskError {
    pub fn new(msg: impl Into<String>) -> Self {
        TaskError {
            msg: msg.into(),
            result: crate::Map::new(),
        }
    }
    pub fn with_result(msg: impl Into<String>, result: crate::Map) -> Self {
        TaskError {
            msg: msg.into(),
            result,
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for TaskError {}

/// Longest quote of a host's answer kept in a message: what a host prints
/// is untrusted, and one line of it may be megabytes long.
const MAX_QUOTE: usize = 300;

/// `text` cut to [`MAX_QUOTE`] characters, saying how long it was, for
/// messages that quote what a host printed.
pub fn clip(text: &str) -> String {
    clip_to(text, MAX_QUOTE)
}

/// `text` cut to `max` characters, saying how long it was.
pub fn clip_to(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((end, _)) => format!("{}… ({} bytes in all)", &text[..end], text.len()),
    }
}

impl From<ParamError> for TaskError {
    fn from(e: ParamError) -> Self {
        TaskError::new(e.message)
    }
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn a_long_quote_is_clipped_on_a_character_boundary() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(1000);
        let clipped = clip(&long);
        assert!(clipped.starts_with(&"é".repeat(300)), "{clipped}");
        assert!(clipped.ends_with("… (2000 bytes in all)"), "{clipped}");
    }
}
