//! The cron.d file `tend cron install` writes: a header saying where it
//! came from, the environment, and one line that runs `tend run --drift`.
//!
//! The command part of a cron line is not plain shell: cron turns every
//! unescaped `%` into a newline (and stdin), and a line cannot hold a
//! newline at all. [`word`] quotes for both.

use tend_modules::shell::quote;

use crate::error::Error;

use super::every::Every;

/// How the first line of every file tend writes starts: `install` replaces
/// and `remove` deletes only files that carry it.
pub const MARKER: &str = "# Written by `tend cron install`";

/// cron's own default PATH is `/usr/bin:/bin`; playbooks that run commands
/// on this machine expect the usual one.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Vixie cron (Debian's cron) reads at most 999 bytes of a line's command
/// and silently runs what it cut.
const MAX_COMMAND: usize = 999;

/// Where the output of a run goes.
#[derive(Debug, Clone)]
pub enum Log {
    /// `logger -t tend-NAME`: syslog, or the journal.
    Syslog,
    /// Appended to this file.
    File(String),
}

/// One cron.d entry, ready to render.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The name after `tend-`, valid in a cron.d file name.
    pub name: String,
    pub every: Every,
    /// The user the command runs as (cron.d's sixth field).
    pub user: String,
    /// The directory the command starts in, where `tend cron install` ran:
    /// `./tend.cfg` and relative `-e @file` paths mean the same there.
    pub dir: String,
    /// `tend run ...`, one word each, unquoted.
    pub argv: Vec<String>,
    pub log: Log,
    /// The run only reports drift (`--check`).
    pub check: bool,
}

impl Entry {
    /// The whole file.
    pub fn render(&self) -> Result<String, Error> {
        let command = self.command()?;
        let what = if self.check {
            "`tend run --drift --check` reports how the hosts drifted\n\
             # from the playbook below, changing nothing"
        } else {
            "`tend run --drift` puts the hosts back in line with\n\
             # the playbook below"
        };
        let log = match &self.log {
            Log::Syslog => format!(
                "goes to syslog\n# with the tag tend-{0} (journalctl -t tend-{0})",
                self.name
            ),
            Log::File(path) => format!("is appended to\n# {path}"),
        };
        let schedule = self.every.schedule(super::every::minute_of(&self.name));
        Ok(format!(
            "{MARKER}; edits here are lost when it runs again.\n\
             # Every {every}, {what}.\n\
             # Output (none unless something drifted or failed) {log}.\n\
             # Remove with: tend cron remove --name {name}\n\
             SHELL=/bin/sh\n\
             PATH={PATH}\n\
             {schedule} {user} {command}\n",
            every = self.every.describe(),
            name = self.name,
            user = self.user,
        ))
    }

    /// The command part of the line.
    fn command(&self) -> Result<String, Error> {
        let words = self
            .argv
            .iter()
            .map(|w| word(w))
            .collect::<Result<Vec<_>, _>>()?;
        let mut command = format!("cd {} && {}", word(&self.dir)?, words.join(" "));
        match &self.log {
            Log::Syslog => command.push_str(&format!(" 2>&1 | logger -t tend-{}", self.name)),
            Log::File(path) => command.push_str(&format!(" >> {} 2>&1", word(path)?)),
        }
        if command.len() > MAX_COMMAND {
            return Err(Error::plain(format!(
                "the cron command would be {} bytes long, and cron cuts commands at {MAX_COMMAND}; \
                 move extra variables into a file (-e @vars.yml) or shorten the paths",
                command.len()
            )));
        }
        Ok(command)
    }
}

/// `s` as one shell word in the command part of a cron line: shell-quoted,
/// with `%` escaped as `\%` (cron drops the backslash). A newline cannot be
/// written in a cron line at all, nor a `\%` (cron would keep one backslash
/// of `\\%` and cut the line at the `%`): both are refused.
pub fn word(s: &str) -> Result<String, Error> {
    if s.contains(['\n', '\r']) {
        return Err(Error::plain(format!(
            "{s:?}: a cron line cannot hold a line break"
        )));
    }
    if s.contains("\\%") {
        return Err(Error::plain(format!(
            "{s:?}: cron cannot pass a backslash followed by '%' to a command"
        )));
    }
    Ok(quote(s).replace('%', "\\%"))
}

#[cfg(test)]
mod tests {
    use super::{Entry, Every, Log, word};

    #[test]
    fn words_are_shell_quoted_and_percent_is_escaped_for_cron() {
        assert_eq!(word("/srv/infra/site.yml").unwrap(), "/srv/infra/site.yml");
        assert_eq!(word("my site.yml").unwrap(), "'my site.yml'");
        assert_eq!(word("it's").unwrap(), r"'it'\''s'");
        assert_eq!(word("$(reboot)").unwrap(), "'$(reboot)'");
        assert_eq!(word("web1,web2,").unwrap(), "web1,web2,");
        assert_eq!(word("pct=50%").unwrap(), r"pct=50\%");
        assert_eq!(word("a b%c").unwrap(), r"'a b\%c'");
        assert_eq!(word("").unwrap(), "''");
    }

    #[test]
    fn what_a_cron_line_cannot_carry_is_refused() {
        let msg = word("a\nb").unwrap_err().to_string();
        assert_eq!(msg, r#""a\nb": a cron line cannot hold a line break"#);
        assert!(word("a\rb").is_err());
        let msg = word(r"C:\%x").unwrap_err().to_string();
        assert!(msg.contains("backslash followed by '%'"), "{msg}");
        assert_eq!(word(r"a\b").unwrap(), r"'a\b'");
    }

    fn entry(argv: &[&str], log: Log) -> Entry {
        Entry {
            name: "site".into(),
            every: Every::parse("1h").unwrap(),
            user: "root".into(),
            dir: "/srv/infra".into(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            log,
            check: false,
        }
    }

    #[test]
    fn the_line_runs_in_the_install_directory_and_logs_where_asked() {
        let text = entry(&["/bin/tend", "run", "s.yml", "--drift"], Log::Syslog)
            .render()
            .unwrap();
        let line = text.lines().last().unwrap();
        assert!(
            line.ends_with(
                " root cd /srv/infra && /bin/tend run s.yml --drift 2>&1 | logger -t tend-site"
            ),
            "{line}"
        );
        let text = entry(&["/bin/tend"], Log::File("/var/log/t 50%.log".into()))
            .render()
            .unwrap();
        assert!(
            text.ends_with(" root cd /srv/infra && /bin/tend >> '/var/log/t 50\\%.log' 2>&1\n"),
            "{text}"
        );
    }

    #[test]
    fn a_command_cron_would_cut_is_refused() {
        let long = "x".repeat(1000);
        let msg = entry(&["/bin/tend", &long], Log::Syslog)
            .render()
            .unwrap_err()
            .to_string();
        assert!(msg.contains("cron cuts commands at 999"), "{msg}");
    }
}
