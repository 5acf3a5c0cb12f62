//! Quoting for the `/bin/sh` scripts that probes and steps are made of.

/// Goes right after a script's `trap '...' EXIT`. dash runs no EXIT trap
/// when a signal kills it, and a script whose client has gone dies of
/// SIGPIPE at its next write to stderr: exiting on those signals runs the
/// EXIT trap, so temporary files go even then.
pub const EXIT_ON_SIGNALS: &str = "trap 'exit 1' HUP INT TERM PIPE\n";

/// The shell variable that holds a script's stdin, less its final newline,
/// where the transport can give it so (a resident shell, text stdin): a
/// script that only copies its stdin to a file can then do it with the
/// shell's own `printf`, not a `cat` process. Unset elsewhere: the script
/// reads its stdin as always.
pub const STDIN_VAR: &str = "_tend_in";

/// Quotes `s` as one shell word, safe whatever it holds.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn plain_words_stay_bare() {
        assert_eq!(quote("/etc/app.conf"), "/etc/app.conf");
    }

    #[test]
    fn specials_and_quotes_are_wrapped() {
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }
}
