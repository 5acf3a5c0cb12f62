//! `copy`: puts a file on the host, from the controller (`src`, read from
//! the playbook's `files/`), from inline `content`, or from another file on
//! the host (`remote_src`). The file logic itself is shared with `template`
//! in `content.rs`; this file parses copy's parameters. A `src` directory
//! is copied as a whole tree by `copy/tree.rs`.

pub(crate) mod script;
mod source;
mod tree;

use crate::content::{self, ContentTask, Source};
use crate::{Args, Controller, Kind, Module, Param, ParamError, Task, Value};

pub struct CopyModule;

const PARAMS: &[Param] = &[
    Param::new("dest", Kind::Str).required(),
    Param::new("src", Kind::Str),
    Param::new("content", Kind::Any),
    Param::new("mode", Kind::Mode),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
    Param::new("backup", Kind::Bool),
    Param::new("force", Kind::Bool).aliases(&["thirsty"]),
    Param::new("validate", Kind::Str),
    Param::new("remote_src", Kind::Bool),
    Param::new("directory_mode", Kind::Mode),
    Param::new("follow", Kind::Bool),
    Param::new("local_follow", Kind::Bool),
    Param::new("unsafe_writes", Kind::Bool),
    Param::new("decrypt", Kind::Bool),
    Param::new("checksum", Kind::Str),
    Param::new("attributes", Kind::Str).aliases(&["attr"]),
    Param::new("seuser", Kind::Str),
    Param::new("serole", Kind::Str),
    Param::new("setype", Kind::Str),
    Param::new("selevel", Kind::Str),
];

/// File parameters accepted by name but not carried out yet.
pub(crate) const UNSUPPORTED: &[&str] = &["attributes", "seuser", "serole", "setype", "selevel"];

impl Module for CopyModule {
    fn name(&self) -> &'static str {
        "copy"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn prepare(&self, args: Args, ctx: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        content::reject_unsupported(&args, UNSUPPORTED)?;
        if args.bool("local_follow") == Some(false) {
            return Err(ParamError::new(
                "local_follow",
                "local_follow=false is not supported by tend yet",
            ));
        }
        let remote = args.bool_or("remote_src", false);
        let (source, basename) = match (args.str("src"), args.value("content")) {
            (Some(_), Some(_)) => {
                return Err(ParamError::general(
                    "src and content are mutually exclusive",
                ));
            }
            (None | Some(""), None) => {
                return Err(ParamError::general("src (or content) is required"));
            }
            (None, Some(_)) if remote => {
                return Err(ParamError::new(
                    "remote_src",
                    "remote_src needs src, not content",
                ));
            }
            (None, Some(value)) => (Source::Bytes(content_bytes(value)), None),
            (Some(src), None) => {
                if !remote {
                    if let Some(dir) = ctx.src_dir(src, "files") {
                        return Ok(Box::new(tree::TreeTask::new(&args, src, &dir)?));
                    }
                }
                file_source(src, remote, ctx)?
            }
        };
        if let (Some(want), Source::Bytes(bytes)) = (args.str("checksum"), &source) {
            let have = content::sha1_hex(bytes);
            if !want.eq_ignore_ascii_case(&have) {
                return Err(ParamError::new(
                    "checksum",
                    format!("checksum {want} does not match the source's SHA-1 {have}"),
                ));
            }
        }
        Ok(Box::new(ContentTask::new(&args, source, basename)?))
    }
}

/// A single file's source, and the name it takes inside a directory `dest`.
fn file_source(
    src: &str,
    remote: bool,
    ctx: &dyn Controller,
) -> Result<(Source, Option<String>), ParamError> {
    if remote && src.ends_with('/') {
        return Err(ParamError::new(
            "src",
            format!(
                "copying a directory with remote_src (src '{src}') is not supported by tend yet"
            ),
        ));
    }
    let base = src.rsplit('/').next().unwrap_or(src).to_string();
    let source = if remote {
        Source::Remote(src.to_string())
    } else {
        let bytes = ctx
            .read_src(src, "files")
            .map_err(|e| ParamError::new("src", format!("could not read src '{src}': {e}")))?;
        Source::Bytes(bytes)
    };
    Ok((source, Some(base)))
}

/// The bytes `content` stands for. A mapping or list is written as JSON,
/// spelled as Python's `json.dumps` spells it, as Ansible does.
fn content_bytes(value: &Value) -> Vec<u8> {
    match value {
        Value::Object(_) | Value::Array(_) => crate::uri::encode::python_json(value).into_bytes(),
        other => crate::args::display(other).into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::testing::{TempDir, apply, plan};
    use crate::debug::testing::FakeController;
    use crate::diff::unified;
    use crate::{Map, Observed, Plan};
    use serde_json::json;

    const HELLO_SHA1: &str = "f572d396fae9206628714fb2ce00f72e94f2258f"; // "hello\n"

    fn task(args: Value) -> Result<Box<dyn Task>, String> {
        let mut files = Map::new();
        files.insert("app.conf".into(), "hello\n".into());
        let ctx = FakeController {
            files,
            ..Default::default()
        };
        let map = args.as_object().cloned().unwrap_or_default();
        let args = Args::check(PARAMS, &map, false).map_err(|e| e.message)?;
        CopyModule.prepare(args, &ctx).map_err(|e| e.message)
    }

    fn run(args: Value, out: &str) -> Result<Plan, String> {
        let obs = Observed {
            stdout: out.as_bytes().to_vec(),
            ..Observed::default()
        };
        task(args)?.plan(Some(&obs)).map_err(|e| e.msg)
    }

    /// A probe answer: `dest` as a section, then the `dirs` words.
    fn seen(dest: &str, dirs: &str) -> String {
        format!("== dest\n{dest}== dirs\n{dirs}")
    }

    const FILE: &str =
        "stat 81a4 0 0 6 1700000000 root root\nsha1 f572d396fae9206628714fb2ce00f72e94f2258f\n";

    fn diff_text(plan: &Plan) -> String {
        let d = &plan.diff[0];
        unified(&d.before, &d.after, &d.before_header, &d.after_header)
    }

    /// Plans `args` against the real files, runs the steps with /bin/sh,
    /// and returns what the task reports after them and what its probe
    /// prints then.
    fn reported_and_probed(args: Value) -> (Option<Observed>, Vec<u8>) {
        let t = task(args).unwrap();
        let p = plan(t.as_ref());
        assert!(p.changed && t.reports(&p));
        let outputs: Vec<_> = p
            .steps
            .iter()
            .map(|s| crate::content::testing::sh(&s.script, s.stdin.as_deref()))
            .collect();
        assert!(outputs.iter().all(|o| o.rc == 0));
        t.finish(&p, &outputs).unwrap();
        let probed = crate::content::testing::sh(&t.probe().unwrap(), None).stdout;
        (t.reported(&p, &outputs), probed)
    }

    #[test]
    fn after_a_write_the_step_reports_what_the_probe_finds() {
        let dir = TempDir::new("reported");
        let dest = dir.path("app.conf");
        for args in [
            // New, with a mode set at creation; then rewritten; then only
            // its mode fixed; then with a backup and a mode chmod sets.
            json!({"dest": dest, "content": "one\n", "mode": "0640"}),
            json!({"dest": dest, "content": "two\n", "mode": "0640"}),
            json!({"dest": dest, "content": "two\n", "mode": "0600"}),
            json!({"dest": dest, "content": "three\n", "mode": "u=rwx", "backup": true}),
            // A file its reader cannot read (as root, every file is).
            json!({"dest": dest, "content": "four\n", "mode": "0000"}),
            // With `src`, a file that could have gone into a directory.
            json!({"dest": dest, "src": "app.conf"}),
        ] {
            let (reported, probed) = reported_and_probed(args.clone());
            let reported = reported.expect("the step reports");
            assert_eq!(
                String::from_utf8_lossy(&reported.stdout),
                String::from_utf8_lossy(&probed),
                "{args}"
            );
        }
        // Through a link, or into a directory, the probe is asked.
        let t = task(json!({"dest": dest, "content": "x\n", "follow": true})).unwrap();
        assert!(!t.reports(&plan(t.as_ref())));
        let t = task(json!({"dest": dir.path(""), "src": "app.conf"})).unwrap();
        assert!(!t.reports(&plan(t.as_ref())));
    }

    #[test]
    fn new_file_from_content() {
        let p = run(
            json!({"dest": "/etc/motd", "content": "hello\n"}),
            &seen("absent\n", "none\ndir\n"),
        )
        .unwrap();
        assert!(p.changed);
        assert_eq!(p.steps.len(), 1);
        assert_eq!(p.steps[0].stdin.as_deref(), Some(&b"hello\n"[..]));
        assert!(diff_text(&p).contains("+hello\n"), "{}", diff_text(&p));
        assert_eq!(p.diff[0].before, "");
        assert_eq!(p.diff[0].before_header, "/etc/motd");
        assert_eq!(p.result["checksum"], HELLO_SHA1);
        assert_eq!(p.result["size"], 6);
        assert_eq!(p.result["state"], "file");
        assert_eq!(p.result["changed"], true);
    }

    #[test]
    fn same_content_is_no_change() {
        let p = run(
            json!({"dest": "/etc/motd", "content": "hello\n", "mode": "0644", "owner": "root"}),
            &seen(FILE, "none\ndir\n"),
        )
        .unwrap();
        assert!(!p.changed, "{p:?}");
        assert!(p.steps.is_empty() && p.diff.is_empty());
        assert_eq!(p.result["mode"], "0644");
        assert_eq!(p.result["owner"], "root");
        // The probe does not bring back content it already knows.
        let probe = task(json!({"dest": "/etc/motd", "content": "hello\n"}))
            .unwrap()
            .probe()
            .unwrap();
        assert!(probe.contains(HELLO_SHA1), "{probe}");
    }

    #[test]
    fn changed_content_diff_and_backup() {
        let old = format!("{FILE}content b2xkCg==\n").replace(HELLO_SHA1, "0000");
        let p = run(
            json!({"dest": "/etc/motd", "content": "hello\n", "backup": true}),
            &seen(&old, "none\ndir\n"),
        )
        .unwrap();
        assert!(p.changed);
        assert_eq!(
            diff_text(&p),
            "--- /etc/motd\n+++ /etc/motd\n@@ -1 +1 @@\n-old\n+hello\n"
        );
        assert!(p.steps[0].script.contains("backup $b"));
    }

    #[test]
    fn mode_and_owner_alone_are_chmod_and_chown() {
        let p = run(json!({"dest": "/etc/motd", "content": "hello\n", "mode": "u=rw,g=r,o=", "owner": "app", "group": 0}), &seen(FILE, "none\ndir\n")).unwrap();
        assert!(p.changed);
        assert_eq!(p.steps.len(), 1);
        let s = &p.steps[0].script;
        assert!(
            s.contains("chmod 0640 -- /etc/motd") && s.contains("chown app -- /etc/motd"),
            "{s}"
        );
        assert!(p.steps[0].stdin.is_none());
        assert_eq!(p.diff[0].before, "mode: 0644\nowner: root\n");
        assert_eq!(p.diff[0].after, "mode: 0640\nowner: app\n");
    }

    #[test]
    fn src_into_a_directory_takes_its_basename() {
        let out = "== dest\nstat 41ed 0 0 4096 1 root root\n== inner\nabsent\n== dirs\ndir\ndir\n";
        let p = run(json!({"src": "app.conf", "dest": "/etc"}), out).unwrap();
        assert!(p.changed);
        assert_eq!(p.result["dest"], "/etc/app.conf");
        assert_eq!(p.result["src"], "app.conf");
        assert!(p.steps[0].script.contains("p=/etc/app.conf"));
        // With a trailing slash the directory is created when missing.
        let out = "== inner\nabsent\n== dirs\nnone\ndir\n";
        let p = run(
            json!({"src": "app.conf", "dest": "/opt/app/", "directory_mode": "0750"}),
            out,
        )
        .unwrap();
        assert_eq!(p.steps.len(), 2);
        assert!(
            p.steps[0].script.contains("chmod 0750 \"$1\""),
            "{}",
            p.steps[0].script
        );
        assert!(p.steps[1].script.contains("p=/opt/app/app.conf"));
    }

    #[test]
    fn force_false_leaves_an_existing_file() {
        let old = FILE.replace(HELLO_SHA1, "0000");
        let p = run(
            json!({"dest": "/etc/motd", "content": "hello\n", "force": false, "mode": "0600"}),
            &seen(&old, "none\ndir\n"),
        )
        .unwrap();
        assert!(!p.changed && p.steps.is_empty());
        let p = run(
            json!({"dest": "/etc/motd", "content": "x", "force": "no"}),
            &seen("absent\n", "none\ndir\n"),
        )
        .unwrap();
        assert!(p.changed);
    }

    #[test]
    fn host_side_errors() {
        let e = run(
            json!({"dest": "/nope/motd", "content": "x"}),
            &seen("absent\n", "none\nnone\n"),
        )
        .unwrap_err();
        assert_eq!(e, "Destination directory /nope does not exist");
        let dir = "== dest\nstat 41ed 0 0 4096 1 root root\n== dirs\ndir\ndir\n";
        let e = run(json!({"dest": "/etc", "content": "x"}), dir).unwrap_err();
        assert_eq!(e, "can not use content with a dir as dest");
        let e = run(
            json!({"dest": "/x", "src": "/tmp/s", "remote_src": true}),
            &format!("{}== src\nabsent\n", seen("absent\n", "none\ndir\n")),
        )
        .unwrap_err();
        assert_eq!(e, "Source /tmp/s not found");
        assert!(run(json!({"dest": "/x", "content": "x"}), "garbage\n").is_err());
    }

    #[test]
    fn binary_content_diff() {
        let p = task(json!({"dest": "/x", "content": "x"})).unwrap();
        let obs = Observed {
            stdout: seen(
                "stat 81a4 0 0 2 1 root root\nsha1 00\ncontent //4=\n",
                "none\ndir\n",
            )
            .into_bytes(),
            ..Observed::default()
        };
        let p = p.plan(Some(&obs)).unwrap();
        assert_eq!(p.diff[0].after, "Binary files differ\n");
    }

    #[test]
    fn parameter_errors() {
        let err = |v| task(v).err().unwrap_or_default();
        assert_eq!(err(json!({"dest": "/x"})), "src (or content) is required");
        assert_eq!(
            err(json!({"dest": "/x", "src": "app.conf", "content": "a"})),
            "src and content are mutually exclusive"
        );
        assert_eq!(
            err(json!({"dest": "/x/", "content": "a"})),
            "dest must be a file if content is defined"
        );
        assert!(
            err(json!({"dest": "/x", "src": "missing"})).contains("could not read src 'missing'")
        );
        assert!(err(json!({"dest": "/x", "src": "dir/"})).contains("could not read src 'dir/'"));
        assert!(
            err(json!({"dest": "/x", "src": "dir/", "remote_src": true})).contains("not supported")
        );
        assert_eq!(
            err(json!({"dest": "/x", "src": ""})),
            "src (or content) is required"
        );
        assert_eq!(
            err(json!({"dest": "/x", "content": "a", "validate": "visudo -c"})),
            "validate must contain %s: visudo -c"
        );
        assert!(
            err(json!({"dest": "/x", "content": "a", "mode": "rwx"}))
                .contains("neither octal nor symbolic")
        );
        assert!(
            err(json!({"dest": "/x", "content": "a", "mode": "preserve"})).contains("remote_src")
        );
        assert!(
            err(json!({"dest": "/x", "content": "a", "checksum": "abc"}))
                .contains("does not match")
        );
        assert!(
            err(json!({"dest": "/x", "content": "a", "setype": "etc_t"})).contains("not supported")
        );
        assert!(
            err(json!({"dest": "/x", "content": "a", "mdoe": "0644"}))
                .contains("unknown parameter")
        );
        assert!(task(json!({"dest": "/x", "content": "hello\n", "checksum": HELLO_SHA1})).is_ok());
    }

    #[test]
    fn structured_content_is_python_json() {
        let v = json!({"a": [1, true, null], "b": "é\"\n"});
        assert_eq!(
            String::from_utf8(content_bytes(&v)).unwrap(),
            r#"{"a": [1, true, null], "b": "\u00e9\"\n"}"#
        );
        assert_eq!(content_bytes(&json!(42)), b"42");
    }

    #[test]
    fn real_shell_copy_then_idempotent() {
        let dir = TempDir::new("copy");
        let dest = dir.path("motd");
        let args = json!({"dest": dest, "content": "hello\n", "mode": "0600", "backup": true});
        let t = task(args.clone()).unwrap();
        let (p, result) = apply(t.as_ref());
        assert!(p.changed);
        assert_eq!(std::fs::read(&dest).unwrap(), b"hello\n");
        assert_eq!(result["mode"], "0600");
        assert!(
            result.get("backup_file").is_none(),
            "nothing to back up yet"
        );
        assert!(!plan(t.as_ref()).changed);
        // Change the content and the mode on the host: both come back, with a backup.
        std::fs::write(&dest, "drift\n").unwrap();
        let (p, result) = apply(t.as_ref());
        assert!(p.changed);
        let backup = result["backup_file"].as_str().unwrap().to_string();
        assert_eq!(std::fs::read(backup).unwrap(), b"drift\n");
        assert!(!plan(t.as_ref()).changed);
        // Mode alone.
        assert!(crate::content::testing::sh(&format!("chmod 0644 '{dest}'"), None).rc == 0);
        let (p, _) = apply(t.as_ref());
        assert!(p.changed && p.steps[0].stdin.is_none());
        assert!(!plan(t.as_ref()).changed);
    }

    #[test]
    fn real_shell_into_new_directory_and_remote_src() {
        let dir = TempDir::new("copy-dir");
        let dest = format!("{}/", dir.path("a/b"));
        let t = task(json!({"src": "app.conf", "dest": dest, "directory_mode": "0700"})).unwrap();
        assert!(apply(t.as_ref()).0.changed);
        assert_eq!(std::fs::read(dir.path("a/b/app.conf")).unwrap(), b"hello\n");
        assert!(!plan(t.as_ref()).changed);
        // remote_src copies the file on the host; dest is now a directory.
        let t = task(json!({"src": dir.path("a/b/app.conf"), "dest": dir.path("a"), "remote_src": true, "mode": "preserve"})).unwrap();
        let (p, result) = apply(t.as_ref());
        assert!(p.changed);
        assert_eq!(result["dest"], dir.path("a/app.conf"));
        assert_eq!(std::fs::read(dir.path("a/app.conf")).unwrap(), b"hello\n");
        assert!(!plan(t.as_ref()).changed);
    }

    #[test]
    fn real_shell_follow_writes_through_a_link() {
        let dir = TempDir::new("copy-link");
        std::fs::write(dir.path("target"), "old\n").unwrap();
        std::os::unix::fs::symlink(dir.path("target"), dir.path("link")).unwrap();
        let t =
            task(json!({"dest": dir.path("link"), "content": "new\n", "follow": true})).unwrap();
        assert!(apply(t.as_ref()).0.changed);
        assert!(
            std::fs::symlink_metadata(dir.path("link"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(dir.path("target")).unwrap(), b"new\n");
        assert!(!plan(t.as_ref()).changed);
        // Without follow, the link itself is replaced by a file, as Ansible does.
        let t = task(json!({"dest": dir.path("link"), "content": "mine\n"})).unwrap();
        assert!(apply(t.as_ref()).0.changed);
        assert!(
            std::fs::symlink_metadata(dir.path("link"))
                .unwrap()
                .is_file()
        );
        assert_eq!(std::fs::read(dir.path("target")).unwrap(), b"new\n");
        assert!(!plan(t.as_ref()).changed);
    }
}
