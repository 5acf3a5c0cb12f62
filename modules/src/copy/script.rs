//! The shell that copies a tree: one probe for every path, one step for
//! every change. Each is a few shell functions called once per path, so
//! the script grows by a line per file, not by a whole snippet.

use crate::probe::MAX_CONTENT;
use crate::shell::{EXIT_ON_SIGNALS, quote};
use crate::write;

/// The probe's functions. `d NAME PATH` describes a directory, following a
/// link as `mkdir -p` would; `f NAME PATH SHA1` describes a file without
/// following it, with its content (for the diff) only when it is not SHA1.
/// Each prints a `== NAME` section that `probe::parse_file` reads.
pub(crate) fn probe_functions() -> String {
    format!(
        r#"d() {{
  echo "== $1"
  if [ -e "$2" ]; then stat -L -c 'stat %f %u %g %s %Y %U %G' -- "$2" || exit 3; else echo absent; fi
}}
f() {{
  echo "== $1"
  if [ -e "$2" ] || [ -L "$2" ]; then
    stat -c 'stat %f %u %g %s %Y %U %G' -- "$2" || exit 3
    if [ -L "$2" ]; then printf 'link %s\n' "$(readlink -n -- "$2" | base64 -w0)"; fi
    if [ -f "$2" ] && [ -r "$2" ]; then
      c=$(sha1sum < "$2" | cut -d' ' -f1)
      echo "sha1 $c"
      if [ "$c" != "$3" ] && [ "$(stat -L -c %s -- "$2")" -le {MAX_CONTENT} ]; then printf 'content '; base64 -w0 < "$2"; echo; fi
    fi
  else
    echo absent
  fi
}}
"#
    )
}

/// A probe line for a directory.
pub(crate) fn probe_dir(name: &str, path: &str) -> String {
    format!("d {name} {}\n", quote(path))
}

/// A probe line for a file whose wanted content has SHA-1 `sha1`.
pub(crate) fn probe_file(name: &str, path: &str, sha1: &str) -> String {
    format!("f {name} {} {sha1}\n", quote(path))
}

/// `chown`'s argument for an owner and a group, either of which may be unset.
pub(crate) fn chown_spec(owner: Option<&str>, group: Option<&str>) -> Option<String> {
    match (owner, group) {
        (None, None) => None,
        (Some(o), None) => Some(o.to_string()),
        (None, Some(g)) => Some(format!(":{g}")),
        (Some(o), Some(g)) => Some(format!("{o}:{g}")),
    }
}

/// `mk PATH`: creates PATH and its missing parents, each with `mode`
/// (octal) and `chown` spec, as Ansible does for every directory it makes,
/// not only the last.
pub(crate) fn mkdir_function(mode: Option<&str>, chown: Option<&str>) -> String {
    let mut made = String::new();
    if let Some(m) = mode {
        made.push_str(&format!(" chmod {} \"$1\";", quote(m)));
    }
    if let Some(c) = chown {
        made.push_str(&format!(" chown {} -- \"$1\";", quote(c)));
    }
    // Another process (a second task, or a second host sharing the
    // filesystem) may make the directory between the test and `mkdir`: that
    // is success, and its maker sets its attributes. Any other failure is
    // reported by the second `mkdir`.
    format!(
        "mk() {{ if [ ! -d \"$1\" ]; then mk \"$(dirname -- \"$1\")\"; \
         if mkdir -- \"$1\" 2>/dev/null; then :;{made} elif [ ! -d \"$1\" ]; then mkdir -- \"$1\"; fi; fi; }}\n"
    )
}

/// How `put` treats every file it writes.
#[derive(Debug, Default)]
pub(crate) struct PutOptions<'a> {
    pub chown: Option<&'a str>,
    pub validate: Option<&'a str>,
    pub backup: bool,
}

/// `put PATH SIZE MODE`: writes the next SIZE bytes of stdin to PATH
/// atomically (a temporary file beside it, renamed into place), with MODE
/// (octal, or `-` to keep the old file's mode or give a new one the
/// umask's). `head -c` reads no more than it is asked for, so the files
/// follow each other on one stdin.
pub(crate) fn put_function(opts: &PutOptions) -> String {
    let mut s = String::from(
        r#"t=
trap 'if [ -n "$t" ]; then rm -f -- "$t"; fi' EXIT
"#,
    );
    s.push_str(EXIT_ON_SIGNALS);
    s.push_str(
        r#"put() {
  p=$1
  t=$(mktemp "$(dirname -- "$p")/.tend-XXXXXXXX")
  head -c "$2" > "$t"
  got=$(stat -c %s -- "$t")
  if [ "$got" != "$2" ]; then echo "incomplete transfer: $got of $2 bytes arrived for $p; it was left as it was" >&2; exit 1; fi
  if [ "$3" != - ]; then chmod "$3" "$t"; elif [ -e "$p" ]; then chmod --reference="$p" "$t"; else chmod $(printf '%o' $((0666 & ~$(umask)))) "$t"; fi
"#,
    );
    match opts.chown {
        Some(spec) => s.push_str(&format!("  chown {} \"$t\"\n", quote(spec))),
        None => s.push_str(
            "  if [ -e \"$p\" ]; then chown --reference=\"$p\" \"$t\" 2>/dev/null || true; fi\n",
        ),
    }
    if let Some(validate) = opts.validate {
        let cmd = validate.replace("%s", "\"$t\"");
        s.push_str(&format!(
            "  if ! {cmd} >&2; then echo \"validation failed for $p: {}\" >&2; exit 1; fi\n",
            validate.replace('"', "'").replace('$', "")
        ));
    }
    if opts.backup {
        s.push_str("  ");
        s.push_str(&write::backup_snippet());
    }
    s.push_str("  mv -f -- \"$t\" \"$p\"\n  t=\n}\n");
    s
}

/// A `put` call.
pub(crate) fn put(path: &str, size: usize, mode: Option<&str>) -> String {
    format!(
        "put {} {size} {}\n",
        quote(path),
        mode.map_or("-".into(), quote)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::testing::{TempDir, sh};

    #[test]
    fn put_writes_files_one_after_another_from_one_stdin() {
        let dir = TempDir::new("copy-put");
        std::fs::write(dir.path("old"), "was here\n").unwrap();
        let script = format!(
            "set -e\n{}{}{}{}",
            put_function(&PutOptions::default()),
            put(&dir.path("a b"), 3, Some("0600")),
            put(&dir.path("empty"), 0, None),
            put(&dir.path("old"), 4, None),
        );
        let out = sh(&script, Some(b"abcnew\n"));
        assert_eq!(out.rc, 0, "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(std::fs::read(dir.path("a b")).unwrap(), b"abc");
        assert_eq!(std::fs::read(dir.path("empty")).unwrap(), b"");
        assert_eq!(std::fs::read(dir.path("old")).unwrap(), b"new\n");
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| std::fs::metadata(dir.path(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("a b"), 0o600);
    }

    #[test]
    fn a_short_stdin_leaves_the_file_and_no_temporary() {
        let dir = TempDir::new("copy-put-short");
        std::fs::write(dir.path("f"), "old\n").unwrap();
        let script = format!(
            "set -e\n{}{}",
            put_function(&PutOptions::default()),
            put(&dir.path("f"), 10, None)
        );
        let out = sh(&script, Some(b"new"));
        assert_ne!(out.rc, 0);
        assert!(String::from_utf8_lossy(&out.stderr).contains("incomplete transfer: 3 of 10"));
        assert_eq!(std::fs::read(dir.path("f")).unwrap(), b"old\n");
        assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 1);
    }

    #[test]
    fn mk_gives_every_new_directory_the_mode() {
        let dir = TempDir::new("copy-mk");
        let script = format!(
            "set -e\n{}mk {}\n",
            mkdir_function(Some("0700"), None),
            quote(&dir.path("a/b"))
        );
        assert_eq!(sh(&script, None).rc, 0);
        use std::os::unix::fs::PermissionsExt;
        for d in ["a", "a/b"] {
            let mode = std::fs::metadata(dir.path(d)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{d}");
        }
    }
}
