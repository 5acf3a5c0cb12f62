//! Steps that write files atomically: content goes to a temporary file
//! beside the destination (created 0600), is validated, gets its mode and
//! owner, and is renamed into place. A cut connection or a failed validation
//! leaves the old file as it was and removes the temporary file.

use crate::Step;
use crate::shell::EXIT_ON_SIGNALS;
use crate::shell::quote;

/// How a file should end up, beyond its content.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteOptions {
    /// Octal mode (`0o644`) or a symbolic mode for chmod; `None` keeps the
    /// existing file's mode, or gives a new file 0644 less the umask.
    pub mode: Option<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// A command with `%s` for the temporary file, run before the rename.
    pub validate: Option<String>,
    /// Keep a timestamped copy of the old file; its path is printed as
    /// `backup <path>`.
    pub backup: bool,
}

/// The step that writes `content` (sent on stdin) to `path`.
pub fn atomic_write(path: &str, content: Vec<u8>, opts: &WriteOptions) -> Step {
    // A connection cut mid-transfer ends stdin early and `cat` succeeds on
    // what it got: the size check keeps a truncated file from being renamed
    // into place.
    let size = content.len().to_string();
    Step::script(write_script(path, "cat > \"$t\"", &size, opts)).with_stdin(content)
}

/// The step that copies the host's file `src` to `path` (`remote_src`).
pub fn atomic_copy(path: &str, src: &str, opts: &WriteOptions) -> Step {
    let fill = format!("s={}\ncat < \"$s\" > \"$t\"", quote(src));
    Step::script(write_script(
        path,
        &fill,
        "$(stat -L -c %s -- \"$s\")",
        opts,
    ))
}

fn write_script(path: &str, fill: &str, size: &str, opts: &WriteOptions) -> String {
    let p = quote(path);
    let mut s = format!(
        "set -e\np={p}\nd=$(dirname -- \"$p\")\nt=$(mktemp \"$d/.tend-XXXXXXXX\")\ntrap 'rm -f -- \"$t\"' EXIT\n{EXIT_ON_SIGNALS}{fill}\n\
         want={size}\ngot=$(stat -c %s -- \"$t\")\nif [ \"$got\" != \"$want\" ]; then echo \"incomplete transfer: $got of $want bytes arrived; $p was left as it was\" >&2; exit 1; fi\n"
    );
    match &opts.mode {
        Some(mode) => s.push_str(&format!("chmod {} \"$t\"\n", quote(mode))),
        None => s.push_str(
            "if [ -e \"$p\" ]; then chmod --reference=\"$p\" \"$t\"; else chmod $(printf '%o' $((0666 & ~$(umask)))) \"$t\"; fi\n",
        ),
    }
    let owner = opts.owner.as_deref().unwrap_or("");
    let group = opts.group.as_deref().unwrap_or("");
    if !owner.is_empty() || !group.is_empty() {
        let spec = if group.is_empty() {
            owner.to_string()
        } else {
            format!("{owner}:{group}")
        };
        s.push_str(&format!("chown {} \"$t\"\n", quote(&spec)));
    } else {
        s.push_str(
            "if [ -e \"$p\" ]; then chown --reference=\"$p\" \"$t\" 2>/dev/null || true; fi\n",
        );
    }
    if let Some(validate) = &opts.validate {
        let cmd = validate.replace("%s", "\"$t\"");
        s.push_str(&format!(
            "if ! {cmd} >&2; then echo \"validation failed: {}\" >&2; exit 1; fi\n",
            validate.replace('"', "'").replace('$', "")
        ));
    }
    if opts.backup {
        s.push_str(&backup_snippet());
    }
    s.push_str("mv -f -- \"$t\" \"$p\"\ntrap - EXIT\n");
    s
}

/// Copies `$p` to a timestamped backup beside it, if it exists, and prints
/// `backup <path>`. Ansible's name format: `file.12345.2024-01-31@12:00:00~`.
pub fn backup_snippet() -> String {
    "if [ -f \"$p\" ]; then b=\"$p.$$.$(date +%Y-%m-%d@%H:%M:%S)~\"; cp -p -- \"$p\" \"$b\"; echo \"backup $b\"; fi\n"
        .to_string()
}

/// Finds the backup path a step printed.
pub fn backup_path(stdout: &[u8]) -> Option<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .find_map(|l| l.strip_prefix("backup ").map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_beside_the_destination_and_renames() {
        let step = atomic_write("/etc/my app.conf", b"x".to_vec(), &WriteOptions::default());
        assert!(step.script.contains("p='/etc/my app.conf'"));
        assert!(step.script.contains("mktemp \"$d/.tend-XXXXXXXX\""));
        assert!(step.script.contains("mv -f -- \"$t\" \"$p\""));
        assert_eq!(step.stdin.as_deref(), Some(&b"x"[..]));
    }

    #[test]
    fn mode_owner_validate() {
        let opts = WriteOptions {
            mode: Some("0640".into()),
            owner: Some("app".into()),
            group: Some("adm".into()),
            validate: Some("visudo -cf %s".into()),
            backup: true,
        };
        let s = atomic_write("/etc/sudoers", vec![], &opts).script;
        assert!(s.contains("chmod 0640 \"$t\""));
        assert!(s.contains("chown app:adm \"$t\""));
        assert!(s.contains("if ! visudo -cf \"$t\""));
        assert!(s.contains("backup $b"));
    }

    #[test]
    fn a_truncated_transfer_is_not_renamed_into_place() {
        let dir = std::env::temp_dir().join(format!("tend-write-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("f");
        std::fs::write(&dest, "old\n").unwrap();
        let step = atomic_write(
            dest.to_str().unwrap(),
            b"new content\n".to_vec(),
            &WriteOptions::default(),
        );
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&step.script)
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                // Only part of the content arrives, then stdin closes.
                child.stdin.take().unwrap().write_all(b"new c")?;
                child.wait_with_output()
            })
            .unwrap();
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("incomplete transfer: 5 of 12 bytes")
        );
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old\n");
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(leftovers, 1, "the temporary file is removed");
    }

    #[test]
    fn finds_backup_path() {
        assert_eq!(
            backup_path(b"backup /x.1.2024~\n").as_deref(),
            Some("/x.1.2024~")
        );
        assert_eq!(backup_path(b""), None);
    }
}
