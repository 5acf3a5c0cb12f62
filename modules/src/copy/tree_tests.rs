use std::path::PathBuf;

use serde_json::json;

use super::*;
use crate::content::testing::{TempDir, apply, plan, sh};
use crate::copy::CopyModule;
use crate::{Controller, Module, Value};

const TOP_SHA1: &str = "4dca56d05a21f0d018cd311f43e134e4501cf6d9"; // "top\n"
const NESTED_SHA1: &str = "54fe197ab272267d40af98424bd8369e27ef6ffe"; // "nested\n"
const DIR: &str = "stat 41ed 0 0 4096 1 root root\n";
const ABSENT: &str = "absent\n";

/// A controller whose `files/` is a scratch directory.
struct Files(PathBuf);

impl Controller for Files {
    fn read_src(&self, path: &str, _subdir: &str) -> Result<Vec<u8>, String> {
        std::fs::read(self.0.join(path)).map_err(|e| e.to_string())
    }
    fn src_dir(&self, path: &str, _subdir: &str) -> Option<PathBuf> {
        let p = self.0.join(path);
        p.is_dir().then_some(p)
    }
    fn render(&self, text: &str) -> Result<String, String> {
        Ok(text.to_string())
    }
    fn eval(&self, expr: &str) -> Result<Value, String> {
        Err(format!("'{expr}' is undefined"))
    }
    fn check_mode(&self) -> bool {
        false
    }
}

/// `files/tree/top.txt` and `files/tree/sub/nested.txt`, as in tests/compat.
fn files() -> TempDir {
    let dir = TempDir::new("copy-tree-src");
    std::fs::create_dir_all(dir.path("tree/sub")).unwrap();
    std::fs::write(dir.path("tree/top.txt"), "top\n").unwrap();
    std::fs::write(dir.path("tree/sub/nested.txt"), "nested\n").unwrap();
    dir
}

fn task(files: &TempDir, args: Value) -> Result<Box<dyn Task>, String> {
    let map = args.as_object().cloned().unwrap_or_default();
    let args = Args::check(CopyModule.params(), &map, false).map_err(|e| e.message)?;
    CopyModule
        .prepare(args, &Files(files.0.clone()))
        .map_err(|e| e.message)
}

/// A probe answer from `(section, body)` pairs.
fn answer(sections: &[(&str, &str)]) -> Observed {
    let mut out = String::new();
    for (name, body) in sections {
        out.push_str(&format!("== {name}\n{body}"));
    }
    Observed {
        stdout: out.into_bytes(),
        ..Observed::default()
    }
}

fn file(sha1: &str) -> String {
    format!("stat 81a4 0 0 4 1 root root\nsha1 {sha1}\n")
}

fn script(plan: &Plan) -> &str {
    &plan.steps[0].script
}

#[test]
fn the_directory_itself_goes_into_dest() {
    let src = files();
    let t = task(&src, json!({"src": "tree", "dest": "/srv"})).unwrap();
    let probe = t.probe().unwrap();
    assert!(probe.contains("d top /srv/tree\n"), "{probe}");
    assert!(probe.contains(&format!("f f0 /srv/tree/sub/nested.txt {NESTED_SHA1}\n")));
    let obs = answer(&[
        ("dest", DIR),
        ("top", ABSENT),
        ("d0", ABSENT),
        ("f0", ABSENT),
        ("f1", ABSENT),
    ]);
    let p = t.plan(Some(&obs)).unwrap();
    assert!(p.changed);
    assert_eq!(p.steps.len(), 1, "one step for the whole tree");
    let s = script(&p);
    assert!(
        s.contains("mk /srv/tree\nmk /srv/tree/sub\n") && !s.contains("mk /srv\n"),
        "{s}"
    );
    assert!(
        s.contains("put /srv/tree/sub/nested.txt 7 -\nput /srv/tree/top.txt 4 -\n"),
        "{s}"
    );
    assert_eq!(p.steps[0].stdin.as_deref(), Some(&b"nested\ntop\n"[..]));
    let headers: Vec<&str> = p.diff.iter().map(|d| d.before_header.as_str()).collect();
    assert_eq!(
        headers,
        [
            "/srv/tree",
            "/srv/tree/sub",
            "/srv/tree/sub/nested.txt",
            "/srv/tree/top.txt"
        ]
    );
    assert_eq!(p.diff[3].after, "top\n");
    assert_eq!(p.result["dest"], "/srv/");
    assert_eq!(p.result["src"], src.path("tree"));
    assert_eq!(p.result["changed"], true);
}

#[test]
fn a_trailing_slash_copies_the_contents_and_makes_dest() {
    let src = files();
    let t = task(&src, json!({"src": "tree/", "dest": "/srv/new"})).unwrap();
    assert!(!t.probe().unwrap().contains("d top"));
    let obs = answer(&[
        ("dest", ABSENT),
        ("d0", ABSENT),
        ("f0", ABSENT),
        ("f1", ABSENT),
    ]);
    let p = t.plan(Some(&obs)).unwrap();
    let s = script(&p);
    assert!(s.contains("mk /srv/new\nmk /srv/new/sub\n"), "{s}");
    assert!(s.contains("put /srv/new/top.txt 4 -"), "{s}");
    assert_eq!(p.result["dest"], "/srv/new/");
    assert_eq!(p.result["src"], format!("{}/", src.path("tree")));
}

#[test]
fn the_same_tree_is_no_change() {
    let src = files();
    let t = task(
        &src,
        json!({"src": "tree/", "dest": "/srv/", "mode": "0644"}),
    )
    .unwrap();
    let obs = answer(&[
        ("dest", DIR),
        ("d0", DIR),
        ("f0", &file(NESTED_SHA1)),
        ("f1", &file(TOP_SHA1)),
    ]);
    let p = t.plan(Some(&obs)).unwrap();
    assert!(
        !p.changed && p.steps.is_empty() && p.diff.is_empty(),
        "{p:?}"
    );
    assert_eq!(p.result["changed"], false);
}

#[test]
fn one_changed_file_is_the_only_one_written() {
    let src = files();
    let t = task(&src, json!({"src": "tree/", "dest": "/srv"})).unwrap();
    let old = format!("{}content b2xkCg==\n", file("0000"));
    let obs = answer(&[
        ("dest", DIR),
        ("d0", DIR),
        ("f0", &file(NESTED_SHA1)),
        ("f1", &old),
    ]);
    let p = t.plan(Some(&obs)).unwrap();
    assert!(p.changed);
    assert!(!script(&p).contains("nested"), "{}", script(&p));
    assert_eq!(p.steps[0].stdin.as_deref(), Some(&b"top\n"[..]));
    assert_eq!(p.diff.len(), 1);
    assert_eq!(
        (p.diff[0].before.as_str(), p.diff[0].after.as_str()),
        ("old\n", "top\n")
    );
}

#[test]
fn modes_fix_files_and_subdirectories_but_not_dest_or_the_top() {
    let src = files();
    let args = json!({"src": "tree", "dest": "/srv", "mode": "0600", "directory_mode": "0700"});
    let t = task(&src, args).unwrap();
    let obs = answer(&[
        ("dest", DIR),
        ("top", DIR),
        ("d0", DIR),
        ("f0", &file(NESTED_SHA1)),
        ("f1", &file(TOP_SHA1)),
    ]);
    let p = t.plan(Some(&obs)).unwrap();
    let s = script(&p);
    assert!(
        s.contains("chmod 0600 -- /srv/tree/top.txt") && s.contains("chmod 0700 -- /srv/tree/sub"),
        "{s}"
    );
    assert!(!s.contains("-- /srv/tree\n"), "{s}");
    assert!(p.steps[0].stdin.is_none(), "nothing to send");
    // Subdirectories are fixed after the files are written.
    assert!(s.find("tree/sub\n") > s.find("top.txt\n"), "{s}");
    // New directories get directory_mode as they are made, new files mode.
    let obs = answer(&[
        ("dest", DIR),
        ("top", ABSENT),
        ("d0", ABSENT),
        ("f0", ABSENT),
        ("f1", ABSENT),
    ]);
    let s = script(&t.plan(Some(&obs)).unwrap()).to_string();
    assert!(
        s.contains("if mkdir -- \"$1\" 2>/dev/null; then :; chmod 0700 \"$1\";"),
        "{s}"
    );
    assert!(s.contains("put /srv/tree/top.txt 4 0600"), "{s}");
}

#[test]
fn symbolic_directory_mode_uses_x_as_for_a_directory() {
    let src = files();
    let args = json!({"src": "tree/", "dest": "/srv", "directory_mode": "u=rwX,go=rX"});
    let t = task(&src, args).unwrap();
    let obs = answer(&[
        ("dest", DIR),
        ("d0", "stat 41c0 0 0 4096 1 root root\n"),
        ("f0", &file(NESTED_SHA1)),
        ("f1", &file(TOP_SHA1)),
    ]);
    let p = t.plan(Some(&obs)).unwrap();
    assert!(
        script(&p).contains("chmod 0755 -- /srv/sub"),
        "{}",
        script(&p)
    );
}

#[test]
fn force_false_leaves_existing_files_alone() {
    let src = files();
    let t = task(
        &src,
        json!({"src": "tree/", "dest": "/srv", "force": false}),
    )
    .unwrap();
    let obs = answer(&[
        ("dest", DIR),
        ("d0", DIR),
        ("f0", &file("0000")),
        ("f1", ABSENT),
    ]);
    let p = t.plan(Some(&obs)).unwrap();
    assert!(!script(&p).contains("nested"));
    assert!(script(&p).contains("put /srv/top.txt 4 -"));
}

#[test]
fn preserve_takes_each_source_file_mode() {
    let src = files();
    use std::os::unix::fs::PermissionsExt;
    let exec = std::fs::Permissions::from_mode(0o750);
    std::fs::set_permissions(src.path("tree/top.txt"), exec).unwrap();
    let t = task(
        &src,
        json!({"src": "tree/", "dest": "/srv", "mode": "preserve"}),
    )
    .unwrap();
    let obs = answer(&[("dest", DIR), ("d0", DIR), ("f0", ABSENT), ("f1", ABSENT)]);
    let s = script(&t.plan(Some(&obs)).unwrap()).to_string();
    assert!(s.contains("put /srv/top.txt 4 0750"), "{s}");
    assert!(s.contains("put /srv/sub/nested.txt 7 0644"), "{s}");
}

#[test]
fn a_lone_file_reports_its_own_result() {
    let src = TempDir::new("copy-tree-lone");
    std::fs::create_dir_all(src.path("one")).unwrap();
    std::fs::write(src.path("one/top.txt"), "top\n").unwrap();
    let t = task(&src, json!({"src": "one", "dest": "/srv"})).unwrap();
    let obs = answer(&[("dest", DIR), ("top", DIR), ("f0", ABSENT)]);
    let p = t.plan(Some(&obs)).unwrap();
    assert_eq!(p.result["dest"], "/srv/one/top.txt");
    assert_eq!(p.result["checksum"], TOP_SHA1);
    assert_eq!(p.result["state"], "file");
    assert!(script(&p).contains("final "));
}

#[test]
fn an_empty_directory_copies_nothing() {
    let src = TempDir::new("copy-tree-empty");
    std::fs::create_dir_all(src.path("empty")).unwrap();
    let t = task(&src, json!({"src": "empty", "dest": "/srv"})).unwrap();
    let p = t
        .plan(Some(&answer(&[("dest", ABSENT), ("top", ABSENT)])))
        .unwrap();
    assert!(!p.changed);
}

#[test]
fn errors_name_the_path() {
    let src = files();
    let t = task(&src, json!({"src": "tree/", "dest": "/srv"})).unwrap();
    let at_dest = |dest: &str, f0: &str| {
        let obs = answer(&[("dest", dest), ("d0", DIR), ("f0", f0), ("f1", ABSENT)]);
        t.plan(Some(&obs)).unwrap_err().msg
    };
    assert_eq!(
        at_dest(&file("00"), ABSENT),
        "Destination /srv exists and is not a directory"
    );
    assert_eq!(
        at_dest(DIR, DIR),
        "Destination /srv/sub/nested.txt is a directory"
    );
    let missing = t.plan(Some(&answer(&[("dest", DIR)]))).unwrap_err().msg;
    assert!(missing.contains("no 'd0' section"), "{missing}");
    let garbage = answer(&[("dest", "nonsense\n")]);
    assert!(t.plan(Some(&garbage)).is_err());
    let e = task(
        &src,
        json!({"src": "tree", "dest": "/srv", "checksum": "ab"}),
    )
    .err();
    assert!(e.unwrap_or_default().contains("is a directory"));
}

#[test]
fn real_shell_copy_then_idempotent_then_one_change() {
    let src = files();
    let host = TempDir::new("copy-tree-host");
    let dest = host.path("deep/dest");
    let args = json!({"src": "tree", "dest": dest, "directory_mode": "0750", "mode": "0640"});
    let t = task(&src, args).unwrap();
    let (p, result) = apply(t.as_ref());
    assert!(p.changed);
    assert_eq!(result["dest"], format!("{dest}/"));
    assert_eq!(
        std::fs::read(host.path("deep/dest/tree/sub/nested.txt")).unwrap(),
        b"nested\n"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &str| {
        std::fs::metadata(host.path(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    for d in ["deep", "deep/dest", "deep/dest/tree", "deep/dest/tree/sub"] {
        assert_eq!(mode(d), 0o750, "{d}");
    }
    assert_eq!(mode("deep/dest/tree/top.txt"), 0o640);
    assert!(!plan(t.as_ref()).changed, "second run: no change");
    // Drift: one file's content, the subdirectory's mode.
    std::fs::write(host.path("deep/dest/tree/top.txt"), "drift\n").unwrap();
    assert_eq!(sh(&format!("chmod 0755 '{dest}/tree/sub'"), None).rc, 0);
    let (p, _) = apply(t.as_ref());
    assert!(p.changed);
    assert_eq!(p.diff.len(), 2, "{:?}", p.diff);
    assert_eq!(
        std::fs::read(host.path("deep/dest/tree/top.txt")).unwrap(),
        b"top\n"
    );
    assert_eq!(mode("deep/dest/tree/sub"), 0o750);
    assert!(!plan(t.as_ref()).changed);
}
