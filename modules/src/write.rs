//! Steps that write files atomically: content goes to a temporary file
//! beside the destination (created 0600), is validated, gets its mode and
//! owner, and is renamed into place. A cut connection or a failed validation
//! leaves the old file as it was and removes the temporary file.

use crate::Step;
use crate::shell::{EXIT_ON_SIGNALS, STDIN_VAR, quote};

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
    // into place. Where the transport gives stdin in a variable as well
    // (a resident shell: the request was parsed whole), the shell's own
    // printf writes it and no `cat` starts.
    let size = content.len().to_string();
    let fill = format!(
        "if [ \"${{{STDIN_VAR}+x}}\" ]; then printf '%s\\n' \"${STDIN_VAR}\"; else cat; fi"
    );
    Step::script(write_script(path, "", &fill, &size, opts)).with_stdin(content)
}

/// The step that copies the host's file `src` to `path` (`remote_src`).
pub fn atomic_copy(path: &str, src: &str, opts: &WriteOptions) -> Step {
    let source = format!("s={}\n", quote(src));
    Step::script(write_script(
        path,
        &source,
        "cat < \"$s\"",
        "$(stat -L -c %s -- \"$s\")",
        opts,
    ))
}

/// The stat of the written file that the step prints after the rename, as
/// `final <FINAL_STAT>`: its mode, owner and size as they came out; then
/// [`READABLE`] if the file is readable to the step's user, as a probe
/// run by that user would find it.
pub(crate) const FINAL_STAT: &str = "%f %u %g %s %Y %U %G";

/// The line after the final stat of a file readable to the step's user.
pub(crate) const READABLE: &str = "readable";

/// A line that prints [`READABLE`] if the file `word` (a shell word)
/// names is readable: a test, not a process.
pub(crate) fn print_readable(word: &str) -> String {
    format!("if [ -r {word} ]; then echo {READABLE}; fi\n")
}

/// The permission bits a new file can be created with, through the umask,
/// so that no `chmod` is needed: an octal mode without execute or special
/// bits (`open` never gives those), when nothing else about the file is
/// to change (no owner or group: until `chown`, the group that could read
/// it would be another; no validation: invalid content is seen by no one).
fn mode_at_creation(opts: &WriteOptions) -> Option<u32> {
    if opts.owner.is_some() || opts.group.is_some() || opts.validate.is_some() {
        return None;
    }
    let mode = crate::mode::octal(opts.mode.as_deref()?)?.ok()?;
    (mode & !0o666 == 0).then_some(mode)
}

/// The script behind both steps: `{fill} > "$t"` fills the temporary file.
/// Every process it starts is one the write needs (`stat`, `mv`, and
/// `cat`, `chmod` where they cannot be helped): the temporary file's name
/// is found and created by the shell itself, a new file gets its mode as
/// it is created, and one `stat` both checks the size and reports the result.
fn write_script(path: &str, source: &str, fill: &str, size: &str, opts: &WriteOptions) -> String {
    let p = quote(path);
    let d = quote(&parent_dir(path));
    let at_creation = mode_at_creation(opts);
    // The temporary file is created with O_EXCL (`set -C`): never someone
    // else's file or link. Its mode is 0600 (umask 077), so that the
    // content (a secret, perhaps) is for no one else's eyes until it is
    // validated and given its mode; or, for a new file that needs nothing
    // but its mode, that mode at once: never more readable than the file
    // will be. A name left by a killed run is skipped. The EXIT trap
    // removes it whatever fails; a signal (the session hung up, the
    // command timed out) exits through it too, which /bin/sh as dash would
    // not do by itself.
    let mut s = format!(
        "set -e\np={p}\nd={d}\n{source}want={size}\nt=\"$d/.tend-$$\"\nn=0\n\
         while [ -e \"$t\" ] || [ -L \"$t\" ]; do n=$((n + 1)); t=\"$d/.tend-$$-$n\"; done\n\
         trap 'rm -f -- \"$t\"' EXIT\n{EXIT_ON_SIGNALS}"
    );
    match at_creation {
        // Nothing after the fill creates a file (a backup keeps its
        // original's mode): the umask can stay.
        Some(mode) => s.push_str(&format!(
            "if [ -e \"$p\" ]; then umask 077; else umask {:03o}; fi\nset -C\n{fill} > \"$t\"\nset +C\n",
            !mode & 0o777
        )),
        None => s.push_str(&format!("(umask 077; set -C; {fill} > \"$t\")\n")),
    }
    let incomplete = "echo \"incomplete transfer: $got of $want bytes arrived; $p was left as it was\" >&2; exit 1";
    // Validated while still 0600, and only once it is whole; owner, then
    // mode (chown clears setuid bits, so the mode comes last) just before
    // the rename.
    if let Some(validate) = &opts.validate {
        let cmd = validate.replace("%s", "\"$t\"");
        s.push_str(&format!(
            "got=$(stat -c %s -- \"$t\")\nif [ \"$got\" != \"$want\" ]; then {incomplete}; fi\n\
             if ! {cmd} >&2; then echo \"validation failed: {}\" >&2; exit 1; fi\n",
            validate.replace('"', "'").replace('$', "")
        ));
    }
    let owner = opts.owner.as_deref().unwrap_or("");
    let group = opts.group.as_deref().unwrap_or("");
    // An existing file's owner and group are kept unless others are asked.
    let keep_owner = "chown --reference=\"$p\" \"$t\" 2>/dev/null || true";
    if at_creation.is_some() {
        // A new file has its mode already; one that existed was made 0600.
        let mode = quote(opts.mode.as_deref().unwrap_or_default());
        s.push_str(&format!(
            "if [ -e \"$p\" ]; then {keep_owner}; chmod {mode} \"$t\"; fi\n"
        ));
    } else {
        if !owner.is_empty() || !group.is_empty() {
            let spec = if group.is_empty() {
                owner.to_string()
            } else {
                format!("{owner}:{group}")
            };
            s.push_str(&format!("chown {} \"$t\"\n", quote(&spec)));
        } else {
            s.push_str(&format!("if [ -e \"$p\" ]; then {keep_owner}; fi\n"));
        }
        match &opts.mode {
            Some(mode) => s.push_str(&format!("chmod {} \"$t\"\n", quote(mode))),
            None => s.push_str(
                "if [ -e \"$p\" ]; then chmod --reference=\"$p\" \"$t\"; else chmod $(printf '%o' $((0666 & ~$(umask)))) \"$t\"; fi\n",
            ),
        }
    }
    // The temporary file is the file that will be: its stat, taken now,
    // is the result's, and its size shows the transfer whole.
    let stat = format!("st=$(stat -c '%s {FINAL_STAT}' -- \"$t\")");
    s.push_str(&format!(
        "{stat}\ngot=${{st%% *}}\nif [ \"$got\" != \"$want\" ]; then {incomplete}; fi\n"
    ));
    if let (Some(mode), Some(bits)) = (&opts.mode, at_creation) {
        // A default ACL or an odd umask rule of the directory can give a
        // new file other bits than asked: then chmod after all.
        s.push_str(&format!(
            "case \"${{st#* }}\" in '{:x} '*) ;; *) chmod {} \"$t\"; {stat} ;; esac\n",
            0o100000 | bits,
            quote(mode)
        ));
    }
    if opts.backup {
        s.push_str(&backup_snippet());
    }
    s.push_str("mv -f -- \"$t\" \"$p\"\ntrap - EXIT\necho \"final ${st#* }\"\n");
    s.push_str(&print_readable("\"$p\""));
    s
}

/// The directory `dirname` would print for `path`, worked out here rather
/// than by one more process on the host.
fn parent_dir(path: &str) -> String {
    match std::path::Path::new(path).parent() {
        None => "/".into(),
        Some(d) if d.as_os_str().is_empty() => ".".into(),
        Some(d) => d.display().to_string(),
    }
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
    fn the_parent_directory_is_what_dirname_prints() {
        for path in [
            "/etc/app.conf",
            "app.conf",
            "/app",
            "/a/b/",
            "a/b",
            "/",
            "./x",
        ] {
            let out = std::process::Command::new("dirname")
                .arg("--")
                .arg(path)
                .output()
                .unwrap();
            let want = String::from_utf8(out.stdout).unwrap();
            assert_eq!(parent_dir(path), want.trim_end(), "{path}");
        }
    }

    #[test]
    fn writes_beside_the_destination_and_renames() {
        let step = atomic_write("/etc/my app.conf", b"x".to_vec(), &WriteOptions::default());
        assert!(step.script.contains("p='/etc/my app.conf'"));
        assert!(step.script.contains("t=\"$d/.tend-$$\""));
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

    /// Runs a write step with `/bin/sh`, its content on stdin.
    fn run(step: &Step) -> std::process::Output {
        use std::io::Write;
        let mut child = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&step.script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = step.stdin.clone().unwrap_or_default();
        child.stdin.take().unwrap().write_all(&stdin).unwrap();
        child.wait_with_output().unwrap()
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("tend-write-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn names_taken_by_others_are_skipped_and_never_written_through() {
        let dir = scratch("taken");
        let dest = dir.join("app.conf");
        let victim = dir.join("victim");
        std::fs::write(&victim, "victim\n").unwrap();
        let mut step = atomic_write(
            dest.to_str().unwrap(),
            b"new\n".to_vec(),
            &WriteOptions {
                mode: Some("0640".into()),
                ..WriteOptions::default()
            },
        );
        // The same shell runs the write: `$$` is the name it tries first.
        step.script = format!(
            "d={d}; ln -s {v} \"$d/.tend-$$\"; echo other > \"$d/.tend-$$-1\"\n{}",
            step.script,
            d = dir.display(),
            v = victim.display()
        );
        let out = run(&step);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "new\n");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "victim\n");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names.len(),
            4,
            "{names:?}: the write's own temporary file is gone"
        );
        // The stat it prints is the written file's, which it can read.
        let stdout = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<_> = stdout.lines().collect();
        let words: Vec<_> = lines[0].split_whitespace().collect();
        assert_eq!(
            (words[0], words[1], words[4], &lines[1..]),
            ("final", "81a0", "4", &[READABLE][..]),
            "{stdout}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn content_is_validated_while_only_its_owner_reads_it_and_gets_its_mode_after() {
        let s = atomic_write(
            "/etc/app.conf",
            b"pw=x\n".to_vec(),
            &WriteOptions {
                mode: Some("0644".into()),
                owner: Some("app".into()),
                validate: Some("check %s".into()),
                ..WriteOptions::default()
            },
        )
        .script;
        let at = |needle: &str| s.find(needle).unwrap_or_else(|| panic!("{needle} in {s}"));
        assert!(at("(umask 077; set -C; ") < at("check \"$t\""));
        assert!(at("check \"$t\"") < at("chown app"));
        // chown clears setuid bits: the mode comes after it.
        assert!(at("chown app") < at("chmod 0644"));
        assert!(at("chmod 0644") < at("mv -f"));
    }

    #[test]
    fn a_new_file_gets_a_plain_mode_as_it_is_created() {
        let mode = |m: &str| WriteOptions {
            mode: Some(m.into()),
            ..WriteOptions::default()
        };
        assert_eq!(mode_at_creation(&mode("0640")), Some(0o640));
        assert_eq!(mode_at_creation(&mode("444")), Some(0o444));
        // Bits that open(2) does not give, or a mode chmod must work out.
        for m in ["0755", "04644", "u=rw,g=r", "", "0x"] {
            assert_eq!(mode_at_creation(&mode(m)), None, "{m}");
        }
        let owned = WriteOptions {
            owner: Some("app".into()),
            ..mode("0640")
        };
        assert_eq!(mode_at_creation(&owned), None);
        assert_eq!(mode_at_creation(&WriteOptions::default()), None);

        let dir = scratch("creation");
        let dest = dir.join("new.conf");
        let step = atomic_write(dest.to_str().unwrap(), b"a=1\n".to_vec(), &mode("0640"));
        let out = run(&step);
        assert!(out.status.success(), "{out:?}");
        let meta = std::fs::metadata(&dest).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("final 81a0 "));
        // An existing file keeps its owner and still gets the mode asked.
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600)).unwrap();
        let out = run(&atomic_write(
            dest.to_str().unwrap(),
            b"a=2\n".to_vec(),
            &mode("0644"),
        ));
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777,
            0o644
        );
        assert_eq!(std::fs::read(&dest).unwrap(), b"a=2\n");
        // The directory gave other bits than the umask asked (as a default
        // ACL does; here a umask that ignores the script's): chmod after all.
        let other = dir.join("other.conf");
        let step = atomic_write(other.to_str().unwrap(), b"b\n".to_vec(), &mode("0640"));
        let out = run(&Step {
            script: format!("umask() {{ command umask 022; }}\n{}", step.script),
            ..step
        });
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            std::fs::metadata(&other).unwrap().permissions().mode() & 0o7777,
            0o640
        );
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("final 81a0 "));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn content_in_the_stdin_variable_is_written_by_the_shell_itself() {
        let dir = scratch("variable");
        let dest = dir.join("f");
        let content = b"x 'y' \\ $HOME\n\nlast\n".to_vec();
        let step = atomic_write(
            dest.to_str().unwrap(),
            content.clone(),
            &WriteOptions::default(),
        );
        // As a resident shell gives it: the variable holds the text less its
        // last newline; stdin is empty here, so only the variable can fill it.
        let var = String::from_utf8(content[..content.len() - 1].to_vec()).unwrap();
        let script = format!("{STDIN_VAR}={}\n{}", quote(&var), step.script);
        // dash (this machine's /bin/sh) and bash as Red Hat's /bin/sh.
        for shell in [&["/bin/sh"][..], &["bash", "--posix"]] {
            let _ = std::fs::remove_file(&dest);
            let out = std::process::Command::new(shell[0])
                .args(&shell[1..])
                .arg("-c")
                .arg(&script)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            assert!(out.status.success(), "{shell:?}: {out:?}");
            assert_eq!(std::fs::read(&dest).unwrap(), content, "{shell:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_validation_leaves_the_file_and_no_temporary_and_saw_mode_0600() {
        let dir = scratch("validate");
        let dest = dir.join("app.conf");
        std::fs::write(&dest, "old\n").unwrap();
        let opts = WriteOptions {
            mode: Some("0644".into()),
            validate: Some("sh -c 'stat -c \"mode %a\" \"$0\"; exit 1' %s".into()),
            ..WriteOptions::default()
        };
        let out = run(&atomic_write(
            dest.to_str().unwrap(),
            b"pw=s3cret\n".to_vec(),
            &opts,
        ));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains("mode 600"), "{stderr}");
        assert!(stderr.contains("validation failed"), "{stderr}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old\n");
        let left = std::fs::read_dir(&dir).unwrap().count();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(left, 1, "the temporary file is removed");
    }

    #[test]
    fn a_signal_mid_write_still_removes_the_temporary_file() {
        // /bin/sh as dash runs no EXIT trap when a signal ends it: the
        // script turns the signal into an exit.
        let dir = scratch("signal");
        let dest = dir.join("app.conf");
        let opts = WriteOptions {
            validate: Some("sh -c 'kill -TERM $PPID' %s".into()),
            ..WriteOptions::default()
        };
        let out = run(&atomic_write(dest.to_str().unwrap(), b"x".to_vec(), &opts));
        assert!(!out.status.success());
        let left = std::fs::read_dir(&dir).unwrap().count();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(left, 0, "neither the file nor a temporary one");
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
