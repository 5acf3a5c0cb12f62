//! The command line sent for one script: `/bin/sh -c '<script>'`, or the
//! same through sudo for `become` (with the become password fed on stdin,
//! never on the command line), and sudo's refusals turned into advice.

use std::time::Duration;

use super::settings::Secret;
use crate::transport::{Become, ExecOutput, with_become};

/// Seconds between timeout(1)'s TERM and its KILL, for a script that
/// ignores TERM.
pub(crate) const KILL_AFTER: u64 = 2;

/// What is sent for one script.
pub(crate) struct Command {
    /// The exec request, run by the login user's shell.
    pub line: String,
    /// Written before the step's stdin: the become password line, if sudo
    /// may need it. Never shown.
    secret_prefix: Option<Secret>,
    /// The sudo target, when the script runs through sudo.
    pub become_user: Option<String>,
}

impl Command {
    pub fn new(
        script: &str,
        become_: Option<&Become>,
        login_user: &str,
        password: Option<&Secret>,
    ) -> Command {
        let argv = with_become(script, become_, login_user);
        let become_user = become_
            .filter(|_| argv[0] == "sudo")
            .map(|b| b.user.clone());
        match (&become_user, password) {
            (Some(user), Some(password)) => {
                // sudo -S reads the password from stdin only when it asks for
                // one; with NOPASSWD (or a cached login) the password line
                // would reach the script. So ask sudo first, and in that case
                // drop the line ourselves. `read` takes one line, no more.
                let user = quote(user);
                let wrapper = format!(
                    "s={}; if sudo -n -u {user} -- /bin/sh -c : 2>/dev/null; then \
                     IFS= read -r _tend_unused; \
                     exec sudo -H -n -u {user} -- /bin/sh -c \"$s\"; fi; \
                     exec sudo -H -S -p '' -u {user} -- /bin/sh -c \"$s\"",
                    quote(script)
                );
                Command {
                    line: format!("/bin/sh -c {}", quote(&wrapper)),
                    secret_prefix: Some(Secret::new(format!("{}\n", password.expose()))),
                    become_user,
                }
            }
            _ => Command {
                line: argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" "),
                secret_prefix: None,
                become_user,
            },
        }
    }

    /// Has the host stop the script once `limit` has passed: timeout(1)
    /// signals the script's whole process group (what it started too) and
    /// exits 124. The channel closing would not stop it: without a
    /// terminal, nothing tells the processes their client is gone.
    pub fn within(mut self, limit: Option<Duration>) -> Command {
        if let Some(limit) = limit {
            self.line = format!(
                "timeout -k {KILL_AFTER} {:.3} {}",
                limit.as_secs_f64(),
                self.line
            );
        }
        self
    }

    /// What to write before the step's stdin.
    pub fn stdin_prefix(&self) -> &[u8] {
        self.secret_prefix
            .as_ref()
            .map_or(&[], |s| s.expose().as_bytes())
    }

    /// Bytes sent, for the traffic counters.
    pub fn sent_len(&self, stdin: &[u8]) -> usize {
        self.line.len() + self.stdin_prefix().len() + stdin.len()
    }
}

/// Quotes a word for a POSIX shell (bare when it is safe as it is).
pub(crate) fn quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:@,%+".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Rewrites sudo's refusals (rc 1, before the script ran) into what the
/// user has to do about them.
pub(crate) fn explain_sudo(
    out: &mut ExecOutput,
    command: &Command,
    login_user: &str,
    target: &str,
) {
    let Some(user) = &command.become_user else {
        return;
    };
    let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if out.rc != 1 || !said.lines().any(|l| l.starts_with("sudo:")) {
        return;
    }
    let advice = if said.contains("a password is required") {
        format!(
            "become (sudo to {user}) on {target} needs a password: set ansible_become_password \
             (or allow {login_user} NOPASSWD in sudoers)"
        )
    } else if said.contains("incorrect password") {
        format!("sudo on {target} refused the become password for {login_user}")
    } else if said.contains("not in the sudoers")
        || said.contains("is not allowed to")
        || said.contains("may not run sudo")
    {
        format!("{login_user} may not use sudo to become {user} on {target}")
    } else if said.contains("tty") {
        format!(
            "sudo on {target} requires a terminal (Defaults requiretty); tend runs without one: \
             remove requiretty for {login_user}"
        )
    } else {
        return;
    };
    out.stderr = format!("{advice}\nsudo said: {said}\n").into_bytes();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> Become {
        Become {
            user: "root".into(),
        }
    }

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(quote("/bin/sh"), "/bin/sh");
        assert_eq!(quote("echo 'hi' $x"), r"'echo '\''hi'\'' $x'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn plain_and_become_command_lines() {
        assert_eq!(
            Command::new("echo 'a'", None, "deploy", None).line,
            r"/bin/sh -c 'echo '\''a'\'''"
        );
        let c = Command::new("id -u", Some(&root()), "deploy", None);
        assert_eq!(c.line, "sudo -H -n -u root -- /bin/sh -c 'id -u'");
        assert_eq!(c.become_user.as_deref(), Some("root"));
        let same = Command::new("id -u", Some(&root()), "root", Some(&Secret::new("pw")));
        assert_eq!(
            (same.line.as_str(), same.secret_prefix.is_none()),
            ("/bin/sh -c 'id -u'", true)
        );
    }

    #[test]
    fn the_become_password_goes_on_stdin_never_on_the_command_line() {
        let c = Command::new(
            "cat > /etc/x",
            Some(&root()),
            "deploy",
            Some(&Secret::new("hunter2")),
        );
        assert!(!c.line.contains("hunter2"));
        assert!(c.line.contains("sudo -H -S -p"), "{}", c.line);
        assert_eq!(
            c.secret_prefix.as_ref().map(Secret::expose),
            Some("hunter2\n")
        );
        assert_eq!(c.sent_len(b"data"), c.line.len() + 8 + 4);
    }

    #[test]
    fn the_wrapper_runs_in_a_real_shell() {
        // With no sudo here (or no rights), the script must still be passed
        // intact: check the quoting by running the wrapper with a fake sudo.
        let dir = tempfile::tempdir().unwrap();
        let sudo = dir.path().join("sudo");
        // Refuses `-n` (a password is needed), else reads the password line
        // and runs the command.
        let fake = "#!/bin/sh
while [ \"$1\" != -- ]; do [ \"$1\" = -n ] && n=1; shift; done; shift
[ -n \"$n\" ] && exit 1
IFS= read -r pw; echo \"pw=$pw\" >&2; exec \"$@\"
";
        std::fs::write(&sudo, fake).unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&sudo)
            .status()
            .unwrap();
        let c = Command::new(
            "echo \"it's $((1+1))\"; cat",
            Some(&root()),
            "deploy",
            Some(&Secret::new("pw")),
        );
        let mut child = std::process::Command::new("/bin/sh")
            .args(["-c", &c.line])
            .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"pw\nstep data\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "it's 2\nstep data\n");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "pw=pw\n");
    }

    #[test]
    fn sudo_refusals_say_what_to_do() {
        let c = Command::new("true", Some(&root()), "deploy", None);
        let mut out = ExecOutput {
            rc: 1,
            stdout: vec![],
            stderr: b"sudo: a password is required\n".to_vec(),
            ..ExecOutput::default()
        };
        explain_sudo(&mut out, &c, "deploy", "web1");
        let text = String::from_utf8(out.stderr).unwrap();
        assert!(
            text.contains("needs a password") && text.contains("ansible_become_password"),
            "{text}"
        );
        let mut untouched = ExecOutput {
            rc: 1,
            stdout: vec![],
            stderr: b"grep: a password is required\n".to_vec(),
            ..ExecOutput::default()
        };
        explain_sudo(&mut untouched, &c, "deploy", "web1");
        assert_eq!(untouched.stderr, b"grep: a password is required\n");
    }
}
