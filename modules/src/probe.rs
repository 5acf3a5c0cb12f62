//! The shared file probe: one shell snippet that describes a path, and the
//! parser of what it prints. What a host prints is untrusted: the parser
//! rejects anything it does not understand with an error, never a panic.

use crate::shell::quote;
use crate::{Observed, TaskError};

/// What kind of thing is at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Directory,
    Link,
    Other,
}

impl FileKind {
    /// Ansible's name for the state (`file`, `directory`, `link`).
    pub fn state_name(self) -> &'static str {
        match self {
            FileKind::File => "file",
            FileKind::Directory => "directory",
            FileKind::Link => "link",
            FileKind::Other => "file",
        }
    }
}

/// A path as the probe saw it. `kind` is `None` when nothing is there.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileState {
    pub kind: Option<FileKind>,
    /// Permission bits (`0o644`), without the file type.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub owner: String,
    pub group: String,
    pub size: u64,
    pub mtime: i64,
    /// Where a symlink points.
    pub link_target: Option<String>,
    /// SHA-1 of a regular file's content, as Ansible's `checksum`.
    pub sha1: Option<String>,
    /// The content, when the probe was asked for it and it is small enough.
    pub content: Option<Vec<u8>>,
}

impl FileState {
    pub fn exists(&self) -> bool {
        self.kind.is_some()
    }
}

/// The most file content a probe brings back for a diff or an edit.
pub const MAX_CONTENT: u64 = 8 * 1024 * 1024;

/// A line in a probe that asks a daemon (`systemctl`, `iptables`): a few
/// milliseconds of the host's CPU, where a file probe costs a fraction of
/// one. The engine sends such a probe ahead of its task only when the
/// host is in a stretch of tasks that change nothing (a batch has been
/// taken since the last change): on a host where every task changes
/// something, a probe sent ahead is thrown away unread at the next change.
pub const COSTLY: &str = "# tend: costly\n";

/// Whether `probe` contains [`COSTLY`].
pub fn is_costly(probe: &str) -> bool {
    probe.contains(COSTLY)
}

/// The first line of a probe that may run in the batch's own shell rather
/// than a subshell: it never exits, changes directory, options or traps,
/// and sets every variable before it reads it. A subshell is a fork, and on
/// a converged run most of a host's processes were these forks.
pub const INLINE: &str = "# tend: inline\n";

/// A script that prints the state of `path`. `follow` describes what a
/// symlink points to instead of the link itself. `content` says whether to
/// bring the file's bytes back (base64) for diffs and edits.
pub fn file_script(
    path: &str,
    follow: bool,
    want_content: bool,
    unless_sha1: Option<&str>,
) -> String {
    let p = quote(path);
    let stat = if follow { "stat -L" } else { "stat" };
    let test = if follow {
        "[ -e \"$p\" ]"
    } else {
        "{ [ -e \"$p\" ] || [ -L \"$p\" ]; }"
    };
    // A failed stat prints its own message on an `error` line: the probe
    // never exits, so it can run inline (see [`INLINE`]).
    let mut s = format!(
        "p={p}\nif {test}; then\n  if s=$({stat} -c '{STAT_FORMAT}' -- \"$p\" 2>&1); then echo \"$s\"; else echo \"error $s\"; fi\n"
    );
    if !follow {
        s.push_str("  if [ -L \"$p\" ]; then printf 'link %s\\n' \"$(readlink -n -- \"$p\" | base64 -w0)\"; fi\n");
    }
    let sum = "c=$(sha1sum < \"$p\") && c=${c%% *}\n    echo \"sha1 $c\"\n";
    s.push_str("  if [ -f \"$p\" ] && [ -r \"$p\" ]; then\n");
    if !want_content || unless_sha1.is_some() {
        s.push_str(&format!("    {sum}"));
    }
    if want_content {
        let cond = match unless_sha1 {
            Some(sum) => format!("[ \"$c\" != {} ] && ", quote(sum)),
            None => String::new(),
        };
        // The size is the stat line's fifth field; only a link not
        // followed needs its target's size from a second stat.
        let size = if follow {
            "z=${s#stat * * * }; z=${z%% *}"
        } else {
            "if [ -L \"$p\" ]; then z=$(stat -L -c %s -- \"$p\"); else z=${s#stat * * * }; z=${z%% *}; fi"
        };
        // Content always wanted: its sum is worked out from it (see
        // `parse_file`), and sha1sum runs only for a file too big to bring.
        let otherwise = match unless_sha1 {
            Some(_) => String::new(),
            None => format!("\n    else {sum}   "),
        };
        s.push_str(&format!(
            "    {size}\n    if {cond}[ \"$z\" -le {MAX_CONTENT} ]; then printf 'content '; base64 -w0 < \"$p\"; echo;{otherwise} fi\n"
        ));
    }
    s.push_str("  fi\nelse\n  echo absent\nfi\n");
    let query = FileQuery {
        path: path.to_string(),
        follow,
        want_content,
        unless_sha1: unless_sha1.map(str::to_string),
    };
    match query.batchable() {
        true => format!("{}{s}{QUERY_END}", query.marker()),
        false => s,
    }
}

/// What the probe's `stat` prints: the parser's `stat` line.
pub const STAT_FORMAT: &str = "stat %f %u %g %s %Y %U %G";

/// The first line of a file query in a probe script, and its last line. A
/// batch of probes (the engine's prefetch) may replace the lines between
/// them with one `stat` and one `sha1sum` for every path of the batch, and
/// answer each query with [`FileQuery::answer`]: a converged host then runs
/// a few processes instead of two per file.
pub const QUERY_START: &str = "# tend: file ";
pub const QUERY_END: &str = "# tend: file end\n";

/// What [`file_script`] was asked about one path.
#[derive(Debug, Clone, PartialEq)]
pub struct FileQuery {
    pub path: String,
    pub follow: bool,
    pub want_content: bool,
    pub unless_sha1: Option<String>,
}

impl FileQuery {
    /// Whether a batch can answer it: not when it always wants the content,
    /// nor for a path the host's shell would read differently from the
    /// controller (`~`).
    fn batchable(&self) -> bool {
        (!self.want_content || self.unless_sha1.is_some())
            && !self.path.is_empty()
            && !self.path.starts_with('~')
    }

    /// The query as the comment line that starts its script: the path in
    /// hex, so that nothing in it can break the line.
    fn marker(&self) -> String {
        let hex: String = self.path.bytes().map(|b| format!("{b:02x}")).collect();
        format!(
            "{QUERY_START}{hex} {} {} {}\n",
            if self.follow { "follow" } else { "nofollow" },
            if self.want_content { "content" } else { "-" },
            self.unless_sha1.as_deref().unwrap_or("-")
        )
    }

    /// Reads a line [`FileQuery::marker`] wrote (without its newline).
    pub fn parse_marker(line: &str) -> Option<FileQuery> {
        let rest = line.strip_prefix(QUERY_START)?;
        let [hex, follow, content, unless] = rest.split(' ').collect::<Vec<_>>()[..] else {
            return None;
        };
        if hex.len() % 2 != 0 || !hex.is_ascii() {
            return None;
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        let unless = match unless {
            "-" => None,
            sum if sum.bytes().all(|b| b.is_ascii_hexdigit()) => Some(sum.to_string()),
            _ => return None,
        };
        Some(FileQuery {
            path: String::from_utf8(bytes).ok()?,
            follow: match follow {
                "follow" => true,
                "nofollow" => false,
                _ => return None,
            },
            want_content: match content {
                "content" => true,
                "-" => false,
                _ => return None,
            },
            unless_sha1: unless,
        })
    }

    /// What [`file_script`] would have printed, from the path's `stat`
    /// line (`None`: nothing there) and its SHA-1 (`None`: not a readable
    /// regular file). `None` when only the script itself can tell: a link
    /// not followed (its target), or content wanted.
    pub fn answer(&self, stat: Option<&str>, sha1: Option<&str>) -> Option<String> {
        let Some(stat) = stat else {
            return Some("absent\n".into());
        };
        let mut state = FileState::default();
        parse_stat(stat.strip_prefix("stat ")?, &mut state).ok()?;
        if state.kind == Some(FileKind::Link) {
            return None;
        }
        let mut out = format!("{stat}\n");
        if state.kind == Some(FileKind::File) {
            if let Some(sum) = sha1 {
                if self.want_content && self.unless_sha1.as_deref() != Some(sum) {
                    return None;
                }
                out.push_str(&format!("sha1 {sum}\n"));
            }
        }
        Some(out)
    }
}

/// Parses what `file_script` printed.
pub fn parse_file(out: &[u8]) -> Result<FileState, TaskError> {
    let text = std::str::from_utf8(out).map_err(|_| bad("output is not UTF-8"))?;
    let mut state = FileState::default();
    for line in text.lines() {
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        match tag {
            "absent" => return Ok(FileState::default()),
            "error" => return Err(bad(&format!("stat failed: {}", rest.trim()))),
            "stat" => parse_stat(rest, &mut state)?,
            "link" => state.link_target = Some(decode_text(rest)?),
            "sha1" => state.sha1 = Some(rest.trim().to_string()),
            "content" => state.content = Some(decode(rest)?),
            "" => {}
            _ => return Err(bad(&format!("unexpected line {line:?}"))),
        }
    }
    if state.kind.is_none() {
        return Err(bad("no stat line"));
    }
    if let (None, Some(content)) = (&state.sha1, &state.content) {
        state.sha1 = Some(crate::content::sha1_hex(content));
    }
    Ok(state)
}

fn parse_stat(rest: &str, state: &mut FileState) -> Result<(), TaskError> {
    let fields: Vec<&str> = rest.split(' ').collect();
    let [raw_mode, uid, gid, size, mtime, owner, group] = fields[..] else {
        return Err(bad(&format!("unexpected stat line {rest:?}")));
    };
    let raw = u32::from_str_radix(raw_mode, 16).map_err(|_| bad("bad mode"))?;
    state.kind = Some(match raw & 0o170000 {
        0o100000 => FileKind::File,
        0o040000 => FileKind::Directory,
        0o120000 => FileKind::Link,
        _ => FileKind::Other,
    });
    state.mode = raw & 0o7777;
    state.uid = uid.parse().map_err(|_| bad("bad uid"))?;
    state.gid = gid.parse().map_err(|_| bad("bad gid"))?;
    state.size = size.parse().map_err(|_| bad("bad size"))?;
    state.mtime = mtime.parse().map_err(|_| bad("bad mtime"))?;
    state.owner = owner.to_string();
    state.group = group.to_string();
    Ok(())
}

/// A probe's output split at its `== name` lines (name, body), so that one
/// script can describe several things. `what` names the probe in errors
/// (`file`, `unit`).
pub(crate) fn sections(
    observed: Option<&Observed>,
    what: &str,
) -> Result<Vec<(String, String)>, TaskError> {
    let obs = observed.ok_or_else(|| TaskError::new(format!("the {what} probe did not run")))?;
    if obs.rc != 0 {
        return Err(TaskError::new(format!(
            "the {what} probe failed (rc {}): {}",
            obs.rc,
            String::from_utf8_lossy(&obs.stderr).trim()
        )));
    }
    let unreadable = |why: String| {
        TaskError::new(format!(
            "could not read the host's answer to the {what} probe: {}",
            crate::clip(&why)
        ))
    };
    let text = std::str::from_utf8(&obs.stdout)
        .map_err(|_| unreadable("the output is not UTF-8".into()))?;
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("== ") {
            sections.push((name.to_string(), String::new()));
        } else if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
            body.push('\n');
        } else if !line.is_empty() {
            return Err(unreadable(format!("unexpected line {line:?}")));
        }
    }
    Ok(sections)
}

/// Decodes base64 as the probe printed it.
pub fn decode(text: &str) -> Result<Vec<u8>, TaskError> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    for &b in text.trim().as_bytes() {
        if b == b'=' {
            break;
        }
        let v = ALPHABET
            .iter()
            .position(|&a| a == b)
            .ok_or_else(|| bad("bad base64"))? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

fn decode_text(text: &str) -> Result<String, TaskError> {
    String::from_utf8(decode(text)?).map_err(|_| bad("a link target is not UTF-8"))
}

fn bad(what: &str) -> TaskError {
    TaskError::new(format!(
        "could not read the host's answer to a file probe: {}",
        crate::clip(what)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_path() {
        assert_eq!(parse_file(b"absent\n").unwrap(), FileState::default());
    }

    #[test]
    fn regular_file_with_content() {
        let out = b"stat 81a4 0 0 6 1700000000 root root\nsha1 abc\ncontent aGVsbG8K\n";
        let s = parse_file(out).unwrap();
        assert_eq!(s.kind, Some(FileKind::File));
        assert_eq!(s.mode, 0o644);
        assert_eq!(s.owner, "root");
        assert_eq!(s.sha1.as_deref(), Some("abc"));
        assert_eq!(s.content.as_deref(), Some(&b"hello\n"[..]));
    }

    #[test]
    fn symlink_and_directory() {
        let s = parse_file(b"stat a1ff 0 0 4 1 root root\nlink L2V0Yw==\n").unwrap();
        assert_eq!(s.kind, Some(FileKind::Link));
        assert_eq!(s.link_target.as_deref(), Some("/etc"));
        let d = parse_file(b"stat 41ed 1000 1000 4096 1 app app\n").unwrap();
        assert_eq!((d.kind, d.mode), (Some(FileKind::Directory), 0o755));
    }

    fn sh(script: &str) -> Vec<u8> {
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .output()
            .expect("sh runs");
        assert!(out.status.success(), "{script}");
        out.stdout
    }

    /// The probe runs inline (no exit) and checks the content limit against
    /// the size of what it reads, following links or not.
    #[test]
    fn the_probe_never_exits_and_brings_content_back() {
        let dir = std::env::temp_dir().join(format!("tend-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        std::fs::write(&file, "hello\n").unwrap();
        let link = dir.join("l");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&file, &link).unwrap();
        for (path, follow) in [(&file, false), (&file, true), (&link, true), (&link, false)] {
            let script = file_script(&path.display().to_string(), follow, true, None);
            assert!(!script.contains("exit"), "{script}");
            let out = sh(&script);
            let st = parse_file(&out).unwrap();
            // Not following, a link's size is the link's: the limit then
            // needs the target's own.
            assert_eq!(
                st.content.as_deref(),
                Some(&b"hello\n"[..]),
                "{path:?} {follow}"
            );
            // The sum comes from the content, not from a sha1sum.
            let hello = "f572d396fae9206628714fb2ce00f72e94f2258f";
            assert_eq!(st.sha1.as_deref(), Some(hello));
            assert!(!String::from_utf8_lossy(&out).contains("sha1 "));
        }
        // Too big to bring: its sum, from sha1sum, and no content.
        let big = dir.join("big");
        std::fs::write(&big, vec![b'x'; MAX_CONTENT as usize + 1]).unwrap();
        let out = sh(&file_script(&big.display().to_string(), true, true, None));
        let st = parse_file(&out).unwrap();
        assert!(st.content.is_none());
        assert!(st.sha1.is_some_and(|s| s.len() == 40));
        assert!(String::from_utf8_lossy(&out).contains("sha1 "));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_stat_is_an_error_naming_why() {
        let e = parse_file(b"error stat: cannot stat '/x': Permission denied\n").unwrap_err();
        assert!(
            e.msg
                .contains("stat failed: stat: cannot stat '/x': Permission denied")
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for junk in [
            &b"stat x y\n"[..],
            b"\xff\xfe",
            b"hello\n",
            b"",
            b"stat 81a4 0 0 6 1 root\n",
        ] {
            assert!(parse_file(junk).is_err(), "{junk:?}");
        }
    }
}
