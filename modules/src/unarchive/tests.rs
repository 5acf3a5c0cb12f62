//! `unarchive` fixtures: archives written here (ustar, GNU long names, pax,
//! gzip), the member list, the probe's answer → plan; and the probe and
//! step run for real with /bin/sh and this machine's tar in a scratch dir.

use std::io::Write;

use super::*;
use crate::{Observed, StepOutput};
use serde_json::json;

/// One member for `tar_of`: name, type flag, content (or link target), mode.
type Spec<'a> = (&'a str, u8, &'a [u8], u32);

const MTIME: i64 = 1_700_000_000;

fn header(name: &str, flag: u8, size: usize, mode: u32, link: &str) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let octal = |h: &mut [u8; 512], at: usize, len: usize, v: u64| {
        let s = format!("{:0w$o}\0", v, w = len - 1);
        h[at..at + len].copy_from_slice(s.as_bytes());
    };
    octal(&mut h, 100, 8, u64::from(mode));
    octal(&mut h, 108, 8, 0);
    octal(&mut h, 116, 8, 0);
    octal(&mut h, 124, 12, size as u64);
    octal(&mut h, 136, 12, MTIME as u64);
    h[156] = flag;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[265..269].copy_from_slice(b"root");
    h[297..301].copy_from_slice(b"root");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

fn tar_of(members: &[Spec]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, flag, data, mode) in members {
        let (size, link) = match flag {
            b'2' | b'1' => (0, std::str::from_utf8(data).unwrap()),
            _ => (data.len(), ""),
        };
        out.extend_from_slice(&header(name, *flag, size, *mode, link));
        if size > 0 {
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

const APP: &[Spec] = &[
    ("./", b'5', b"", 0o755),
    ("./app/", b'5', b"", 0o750),
    ("./app/run.sh", b'0', b"#!/bin/sh\necho hi\n", 0o755),
    ("./app/current", b'2', b"run.sh", 0o777),
];

fn task(args: Value, archive: Vec<u8>) -> Result<Unarchive, String> {
    struct Files(Vec<u8>);
    impl Controller for Files {
        fn read_src(&self, path: &str, subdir: &str) -> Result<Vec<u8>, String> {
            assert_eq!((path, subdir), ("app.tgz", "files"));
            Ok(self.0.clone())
        }
        fn render(&self, t: &str) -> Result<String, String> {
            Ok(t.into())
        }
        fn eval(&self, _: &str) -> Result<Value, String> {
            Err("no".into())
        }
        fn check_mode(&self) -> bool {
            false
        }
    }
    let map = args.as_object().cloned().unwrap_or_default();
    let args = Args::check(PARAMS, &map, false).map_err(|e| e.message)?;
    prepare(&args, &Files(archive)).map_err(|e| e.message)
}

/// A probe answer: who, umask and a find listing of `(path, type, size, mode)`.
fn seen(uid: u32, entries: &[(&str, char, u64, u32)]) -> Observed {
    let mut listing = Vec::new();
    for (path, kind, size, mode) in entries {
        let link = if *kind == 'l' { "run.sh" } else { "" };
        let rec = format!(
            "{kind}\0{size}\0{MTIME}.0000000000\0{mode:o}\0{uid}\0{uid}\0root\0root\01\0{link}\0{path}\0"
        );
        listing.extend_from_slice(rec.as_bytes());
    }
    Observed {
        stdout: format!("who {uid} 0022\ntree {}\n", crate::uri::b64(&listing)).into_bytes(),
        ..Observed::default()
    }
}

fn converged() -> Vec<(&'static str, char, u64, u32)> {
    vec![
        (".", 'd', 4096, 0o755),
        ("./app", 'd', 4096, 0o750),
        ("./app/run.sh", 'f', 18, 0o755),
        ("./app/current", 'l', 6, 0o777),
    ]
}

#[test]
fn lists_ustar_gnu_and_pax_members() {
    let long = "d/".repeat(60) + "file.txt";
    let mut raw = Vec::new();
    raw.extend_from_slice(&header("././@LongLink", b'L', long.len() + 1, 0, ""));
    let mut name = long.clone().into_bytes();
    name.push(0);
    name.resize(512, 0);
    raw.extend_from_slice(&name);
    raw.extend_from_slice(&header("short", b'0', 0, 0o644, ""));
    let pax = "29 path=pax/renamed-file.txt\n12 size=600\n";
    raw.extend_from_slice(&header("PaxHeader", b'x', pax.len(), 0, ""));
    let mut p = pax.as_bytes().to_vec();
    p.resize(512, 0);
    raw.extend_from_slice(&p);
    raw.extend_from_slice(&header("ignored", b'0', 0, 0o600, ""));
    raw.extend_from_slice(&[b'x'; 1024]);
    raw.extend_from_slice(&[0u8; 1024]);
    let m = tar::list(&raw, tar::Format::Tar).unwrap();
    assert_eq!(m[0].name, long);
    assert_eq!(
        (m[1].name.as_str(), m[1].size, m[1].mtime),
        ("pax/renamed-file.txt", 600, MTIME)
    );
    assert_eq!(m.len(), 2);
    let packed = gz(&tar_of(APP));
    assert_eq!(tar::detect(&packed).unwrap(), tar::Format::Gzip);
    let m = tar::list(&packed, tar::Format::Gzip).unwrap();
    assert_eq!(m.len(), 4);
    assert_eq!(
        (m[2].kind, m[2].size, m[2].mode),
        (tar::Kind::File, 18, 0o755)
    );
    assert_eq!(
        (m[3].kind, m[3].link.as_str()),
        (tar::Kind::Symlink, "run.sh")
    );
}

#[test]
fn corrupt_and_foreign_archives_are_refused() {
    let mut bad = tar_of(APP);
    bad[0] = b'X';
    assert!(tar::detect(&bad).is_err());
    let mut bad_second = tar_of(APP);
    bad_second[512 + 10] ^= 1;
    assert!(
        tar::list(&bad_second, tar::Format::Tar)
            .unwrap_err()
            .contains("checksum")
    );
    let whole = tar_of(APP);
    assert!(
        tar::list(&whole[..1100], tar::Format::Tar)
            .unwrap_err()
            .contains("truncated")
    );
    assert!(tar::list(&gz(&whole)[..40], tar::Format::Gzip).is_err());
    for (magic, name) in [(&b"PK\x03\x04rest"[..], "zip"), (b"BZh91AY", "bzip2")] {
        assert!(tar::detect(magic).unwrap_err().starts_with(name));
    }
    let e = task(
        json!({"src": "app.tgz", "dest": "/srv"}),
        b"PK\x03\x04zz".to_vec(),
    )
    .err()
    .unwrap();
    assert!(
        e.starts_with("Failed to find handler for \"app.tgz\": zip archives"),
        "{e}"
    );
    let e = task(json!({"src": "app.tgz", "dest": "/srv"}), Vec::new())
        .err()
        .unwrap();
    assert_eq!(e, "Invalid archive 'app.tgz', the file is 0 bytes");
    let evil = tar_of(&[("../etc/passwd", b'0', b"x", 0o644)]);
    let e = task(json!({"src": "app.tgz", "dest": "/srv"}), evil)
        .err()
        .unwrap();
    assert!(e.contains("outside dest"), "{e}");
}

#[test]
fn bad_parameters() {
    let a = || gz(&tar_of(APP));
    for (args, want) in [
        (
            json!({"src": "app.tgz", "dest": "/x", "remote_src": true}),
            "not supported by tend yet",
        ),
        (
            json!({"src": "app.tgz", "dest": "/x", "copy": false}),
            "not supported by tend yet",
        ),
        (
            json!({"src": "app.tgz", "dest": "/x", "copy": true, "remote_src": false}),
            "mutually exclusive",
        ),
        (
            json!({"src": "app.tgz", "dest": "/x", "include": ["a"], "exclude": ["b"]}),
            "mutually exclusive",
        ),
        (
            json!({"src": "app.tgz", "dest": "/x", "extra_opts": ["--transform=s/a/b/"]}),
            "not supported by tend",
        ),
        (
            json!({"src": "app.tgz", "dest": "/x", "include": ["nothing"]}),
            "found no files in archive",
        ),
    ] {
        let e = task(args.clone(), a()).err().unwrap_or_default();
        assert!(e.contains(want), "{args}: {e}");
    }
}

#[test]
fn members_land_as_tar_puts_them() {
    let names = |args: Value| -> Vec<String> {
        let t = task(args, gz(&tar_of(APP))).unwrap();
        t.entries.iter().map(|e| e.rel.clone()).collect()
    };
    let base = json!({"src": "app.tgz", "dest": "/srv/"});
    assert_eq!(
        names(base.clone()),
        [".", "app", "app/run.sh", "app/current"]
    );
    let mut strip = base.clone();
    strip["extra_opts"] = json!(["--strip-components=1"]);
    assert_eq!(names(strip), ["run.sh", "current"]);
    let mut ex = base.clone();
    ex["exclude"] = json!(["*.sh"]);
    assert_eq!(names(ex), [".", "app", "app/current"]);
    let mut inc = base;
    inc["include"] = json!(["./app/run.sh"]);
    assert_eq!(names(inc), ["app/run.sh"]);
}

#[test]
fn a_converged_dest_needs_nothing() {
    let t = task(
        json!({"src": "app.tgz", "dest": "/srv/", "list_files": true}),
        gz(&tar_of(APP)),
    )
    .unwrap();
    let probe = t.probe().unwrap();
    assert!(probe.contains("cd -- /srv "), "{probe}");
    assert!(probe.contains("find ./app -printf"), "{probe}");
    let plan = t.plan(Some(&seen(0, &converged()))).unwrap();
    assert!(!plan.changed, "{:?}", plan.diff);
    assert_eq!(plan.result["handler"], "TgzArchive");
    assert_eq!(
        plan.result["files"],
        json!(["./", "./app/", "./app/run.sh", "./app/current"])
    );
    assert_eq!(
        (&plan.result["state"], &plan.result["mode"]),
        (&json!("directory"), &json!("0755"))
    );
}

#[test]
fn a_missing_or_different_member_means_extracting() {
    let t = task(json!({"src": "app.tgz", "dest": "/srv"}), gz(&tar_of(APP))).unwrap();
    let mut gone = converged();
    gone.remove(2);
    let plan = t.plan(Some(&seen(0, &gone))).unwrap();
    assert!(plan.changed);
    assert_eq!(plan.diff[0].before, "app/run.sh: absent\n");
    assert_eq!(
        plan.diff[0].after,
        format!("app/run.sh: file, 18 bytes, mtime {MTIME}, mode 0755, root:root\n")
    );
    let step = &plan.steps[0];
    assert_eq!(
        step.stdin.as_deref().map(<[u8]>::len),
        Some(t.archive.len())
    );
    assert!(
        step.script
            .contains("'tar' '--extract' '-C' /srv '-z' '-f' \"$t\"")
            || step.script.contains("tar --extract -C /srv -z -f \"$t\""),
        "{}",
        step.script
    );
    assert_eq!(
        plan.result["extract_results"]["cmd"],
        json!(["tar", "--extract", "-C", "/srv", "-z", "-f", "app.tgz"])
    );
    // A size, a mode (as root) or a link target that differs.
    let mut bigger = converged();
    bigger[2].2 = 19;
    assert!(t.plan(Some(&seen(0, &bigger))).unwrap().changed);
    let mut chmodded = converged();
    chmodded[1].3 = 0o777;
    assert!(t.plan(Some(&seen(0, &chmodded))).unwrap().changed);
    // Not root: modes and owners are the umask's and the user's business.
    assert!(!t.plan(Some(&seen(1000, &chmodded))).unwrap().changed);
}

#[test]
fn owner_and_mode_asked_for_are_checked_and_applied() {
    let t = task(
        json!({"src": "app.tgz", "dest": "/srv", "owner": "app", "mode": "u+rwX,go-rwx"}),
        gz(&tar_of(APP)),
    )
    .unwrap();
    let plan = t.plan(Some(&seen(0, &converged()))).unwrap();
    assert!(plan.changed, "owned by root, not app");
    let s = &plan.steps[0].script;
    assert!(s.contains("xargs -r -d '\\n' chown -h -- app"), "{s}");
    assert!(s.contains("chmod -- u+rwX,go-rwx"), "{s}");
}

#[test]
fn probe_answers_that_are_not_a_listing() {
    let t = task(
        json!({"src": "app.tgz", "dest": "/srv", "creates": "/srv/app"}),
        gz(&tar_of(APP)),
    )
    .unwrap();
    assert!(
        t.probe()
            .unwrap()
            .starts_with("if [ -e /srv/app ]; then echo creates; exit 0; fi\n")
    );
    let answer = |s: &str| Observed {
        stdout: s.as_bytes().to_vec(),
        ..Observed::default()
    };
    let plan = t.plan(Some(&answer("creates\n"))).unwrap();
    assert_eq!(
        plan.skipped.as_deref(),
        Some("skipped, since /srv/app exists")
    );
    assert_eq!(
        t.plan(Some(&answer("nodest\n"))).unwrap_err().msg,
        "dest '/srv' must be an existing dir"
    );
    for junk in [
        "",
        "who x 0022\ntree \n",
        "who 0 0022\ntree AAAA\n",
        "hello\n",
        "who 0 0022\n",
    ] {
        assert!(t.plan(Some(&answer(junk))).is_err(), "{junk:?}");
    }
}

#[test]
fn extracts_restores_and_converges_for_real() {
    // The probe and the step, run with /bin/sh and this machine's GNU tar.
    let dir = std::env::temp_dir().join(format!("tend-unarchive-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let dest = dir.to_str().unwrap().to_string();
    let t = task(json!({"src": "app.tgz", "dest": dest}), gz(&tar_of(APP))).unwrap();
    let sh = |script: &str, stdin: Option<&[u8]>| -> Vec<u8> {
        let mut child = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.unwrap_or(b""))
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let plan_now = || {
        let obs = Observed {
            stdout: sh(&t.probe().unwrap(), None),
            ..Observed::default()
        };
        t.plan(Some(&obs)).unwrap()
    };
    for _ in 0..2 {
        let plan = plan_now();
        assert!(plan.changed);
        let step = &plan.steps[0];
        let out = sh(&step.script, step.stdin.as_deref());
        let _ = t
            .finish(
                &plan,
                &[StepOutput {
                    stdout: out,
                    ..StepOutput::default()
                }],
            )
            .unwrap();
        assert!(!plan_now().changed, "converged after extracting");
        assert_eq!(
            std::fs::read_link(dir.join("app/current"))
                .unwrap()
                .to_str(),
            Some("run.sh")
        );
        std::fs::remove_file(dir.join("app/run.sh")).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
