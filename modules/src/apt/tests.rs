//! Fixture tests of the apt task: parameters and what the probe printed in,
//! the plan (steps, diff, result) out.

use super::deb::{base64, control_archive, testing::deb};
use super::*;
use crate::{Diff, Observed};
use serde_json::json;

/// A controller whose `files/` holds binary files.
pub(super) struct Files(Vec<(&'static str, Vec<u8>)>);

impl Controller for Files {
    fn read_src(&self, path: &str, subdir: &str) -> Result<Vec<u8>, String> {
        assert_eq!(subdir, "files");
        self.0
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, b)| b.clone())
            .ok_or_else(|| format!("could not find '{path}'"))
    }
    fn render(&self, text: &str) -> Result<String, String> {
        Ok(text.to_string())
    }
    fn eval(&self, _: &str) -> Result<Value, String> {
        Err("no expressions here".into())
    }
    fn check_mode(&self) -> bool {
        false
    }
}

pub(super) fn task(args: Value) -> Result<Box<dyn Task>, String> {
    let map: Map = args.as_object().cloned().unwrap_or_default();
    let args = Args::check(&PARAMS, &map, false).map_err(|e| e.message)?;
    let files = Files(vec![("lab-hello_1.1_all.deb", deb(b"CONTROL"))]);
    AptModule.prepare(args, &files).map_err(|e| e.message)
}

pub(super) fn run(args: Value, out: &str) -> Result<Plan, String> {
    let obs = Observed {
        stdout: out.as_bytes().to_vec(),
        ..Observed::default()
    };
    task(args)?.plan(Some(&obs)).map_err(|e| e.msg)
}

pub(super) const NOW: i64 = 1_700_010_000;
pub(super) const LISTS: i64 = 1_700_000_000;

/// A probe answer: dpkg lines, then apt-cache policy text (`None`: not
/// asked), then the cache times.
pub(super) fn seen(dpkg: &str, policy: Option<&str>) -> String {
    let mut s = format!("== dpkg\n{dpkg}== dpkg-rc 1\n");
    if let Some(p) = policy {
        s.push_str(&format!("== policy\n{p}== policy-rc 0\n"));
    }
    s.push_str(&format!("== cache\n{LISTS}\n{NOW}\n"));
    s
}

pub(super) fn policy(
    name: &str,
    installed: Option<&str>,
    candidate: &str,
    versions: &[&str],
) -> String {
    let mut s = format!(
        "{name}:\n  Installed: {}\n  Candidate: {candidate}\n  Version table:\n",
        installed.unwrap_or("(none)")
    );
    for v in versions {
        let mark = if Some(*v) == installed {
            " *** "
        } else {
            "     "
        };
        s.push_str(&format!(
            "{mark}{v} 500\n        500 http://10.251.0.1:8000 ./ Packages\n"
        ));
        if Some(*v) == installed {
            s.push_str("        100 /var/lib/dpkg/status\n");
        }
    }
    s
}

pub(super) fn hello(installed: Option<&str>) -> String {
    policy("lab-hello", installed, "1.1", &["1.1", "1.0"])
}

#[test]
fn a_pinned_version_is_installed() {
    let p = run(
        json!({"name": "lab-hello=1.0"}),
        &seen("", Some(&hello(None))),
    )
    .unwrap();
    assert!(p.changed);
    assert_eq!(p.steps.len(), 1);
    let s = &p.steps[0].script;
    assert!(s.contains("DEBIAN_FRONTEND=noninteractive"), "{s}");
    assert!(
        s.contains("apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o DPkg::Lock::Timeout=60 install lab-hello=1.0\n"),
        "{s}"
    );
    assert_eq!(
        p.diff[0],
        Diff::new("packages", "lab-hello: absent\n", "lab-hello: 1.0\n")
    );
    assert_eq!(p.result["cache_updated"], false);
    assert_eq!(p.result["cache_update_time"], LISTS);
}

#[test]
fn the_pinned_version_installed_is_no_change() {
    let dpkg = "lab-hello install ok installed 1.0\n";
    let p = run(
        json!({"name": "lab-hello=1.0"}),
        &seen(dpkg, Some(&hello(Some("1.0")))),
    )
    .unwrap();
    assert!(
        !p.changed && p.steps.is_empty() && p.diff.is_empty(),
        "{p:?}"
    );
    // Present without a pin is content with any version.
    let p = run(
        json!({"name": "lab-hello"}),
        &seen(dpkg, Some(&hello(Some("1.0")))),
    )
    .unwrap();
    assert!(!p.changed);
    // A glob pin too.
    let p = run(
        json!({"name": "lab-hello=1.*"}),
        &seen(dpkg, Some(&hello(Some("1.0")))),
    )
    .unwrap();
    assert!(!p.changed);
}

#[test]
fn latest_upgrades_to_the_candidate() {
    let dpkg = "lab-hello install ok installed 1.0\n";
    let p = run(
        json!({"name": "lab-hello", "state": "latest"}),
        &seen(dpkg, Some(&hello(Some("1.0")))),
    )
    .unwrap();
    assert!(p.changed);
    assert!(p.steps[0].script.contains(" install lab-hello\n"));
    assert_eq!(
        p.diff[0],
        Diff::new("packages", "lab-hello: 1.0\n", "lab-hello: 1.1\n")
    );
    let dpkg = "lab-hello install ok installed 1.1\n";
    let p = run(
        json!({"name": "lab-hello", "state": "latest"}),
        &seen(dpkg, Some(&hello(Some("1.1")))),
    )
    .unwrap();
    assert!(!p.changed, "{p:?}");
    // latest with a glob pin takes the best match.
    let dpkg = "lab-hello install ok installed 1.0\n";
    let p = run(
        json!({"name": "lab-hello=1.*", "state": "latest"}),
        &seen(dpkg, Some(&hello(Some("1.0")))),
    )
    .unwrap();
    assert!(p.steps[0].script.contains(" install lab-hello=1.1\n"));
}

#[test]
fn a_pin_below_the_installed_version_needs_allow_downgrade() {
    let dpkg = "lab-hello install ok installed 1.1\n";
    let obs = seen(dpkg, Some(&hello(Some("1.1"))));
    let e = run(json!({"name": "lab-hello=1.0"}), &obs).unwrap_err();
    assert!(e.contains("would downgrade it from 1.1"), "{e}");
    let p = run(
        json!({"name": "lab-hello=1.0", "allow_downgrade": true}),
        &obs,
    )
    .unwrap();
    assert!(
        p.steps[0]
            .script
            .contains("--allow-downgrades install lab-hello=1.0")
    );
    assert_eq!(p.diff[0].before, "lab-hello: 1.1\n");
    let e = run(json!({"name": "lab-hello=2.0"}), &obs).unwrap_err();
    assert_eq!(e, "no available installation candidate for lab-hello=2.0");
}

#[test]
fn a_held_package_is_not_changed_behind_the_hold() {
    let dpkg = "lab-hello hold ok installed 1.0\n";
    let obs = seen(dpkg, Some(&hello(Some("1.0"))));
    let e = run(json!({"name": "lab-hello", "state": "latest"}), &obs).unwrap_err();
    assert!(e.contains("held at 1.0"), "{e}");
    let p = run(
        json!({"name": "lab-hello", "state": "latest", "allow_change_held_packages": true}),
        &obs,
    )
    .unwrap();
    assert!(p.steps[0].script.contains("--allow-change-held-packages"));
}

#[test]
fn several_packages_one_query_each() {
    let t = task(json!({"name": ["hello", "tree"], "state": "latest"})).unwrap();
    let probe = t.probe().unwrap();
    assert_eq!(probe.matches("dpkg-query").count(), 1, "{probe}");
    assert!(probe.contains("-- hello tree 2>/dev/null"), "{probe}");
    assert_eq!(probe.matches("apt-cache").count(), 1, "{probe}");
    let pol = format!(
        "{}{}",
        policy("hello", Some("2.10-3"), "2.10-3", &["2.10-3"]),
        policy("tree", None, "2.1.0-1", &["2.1.0-1"])
    );
    let p = run(
        json!({"name": "hello,tree"}),
        &seen("hello install ok installed 2.10-3\n", Some(&pol)),
    )
    .unwrap();
    assert!(p.steps[0].script.ends_with(" install tree\n"));
    assert_eq!(
        p.diff[0],
        Diff::new("packages", "tree: absent\n", "tree: 2.1.0-1\n")
    );
    // Both missing: one step, both in the diff.
    let p = run(json!({"pkg": ["hello", "tree"]}), &seen("", Some(&pol))).unwrap();
    assert!(p.steps[0].script.ends_with(" install hello tree\n"));
    assert_eq!(p.diff[0].after, "hello: 2.10-3\ntree: 2.1.0-1\n");
}

#[test]
fn unknown_packages_are_named() {
    let e = run(
        json!({"name": ["nope", "lab-hello", "nada"]}),
        &seen("", Some(&hello(None))),
    )
    .unwrap_err();
    assert_eq!(e, "No package matching 'nope', 'nada' is available");
    // A package with no candidate (a virtual one, or one without a source).
    let pol = "mail-transport-agent:\n  Installed: (none)\n  Candidate: (none)\n  Version table:\n";
    let e = run(
        json!({"name": "mail-transport-agent"}),
        &seen("", Some(pol)),
    )
    .unwrap_err();
    assert_eq!(
        e,
        "no available installation candidate for mail-transport-agent"
    );
    // Removing an unknown package is nothing to do.
    let p = run(json!({"name": "nope", "state": "absent"}), &seen("", None)).unwrap();
    assert!(!p.changed);
}

#[test]
fn absent_removes_and_purges() {
    let dpkg = "lab-hello install ok installed 1.1\nold deinstall ok config-files 0.9\n";
    let p = run(
        json!({"name": ["lab-hello", "old"], "state": "absent"}),
        &seen(dpkg, None),
    )
    .unwrap();
    assert!(
        p.steps[0].script.ends_with(" remove lab-hello\n"),
        "{}",
        p.steps[0].script
    );
    assert_eq!(
        p.diff[0],
        Diff::new("packages", "lab-hello: 1.1\n", "lab-hello: absent\n")
    );
    assert!(!p.result.contains_key("cache_updated"));
    let p = run(
        json!({"name": ["lab-hello", "old"], "state": "removed", "purge": true, "autoremove": true}),
        &seen(dpkg, None),
    )
    .unwrap();
    assert!(
        p.steps[0]
            .script
            .ends_with(" --purge --auto-remove remove lab-hello old\n")
    );
    assert_eq!(
        p.diff[0].before,
        "lab-hello: 1.1\nold: absent (config files of 0.9)\n"
    );
    // A pinned removal only removes that version.
    let p = run(
        json!({"name": "lab-hello=1.0", "state": "absent"}),
        &seen(dpkg, None),
    )
    .unwrap();
    assert!(!p.changed);
    // The probe of a removal does not ask apt-cache.
    let probe = task(json!({"name": "x1", "state": "absent"}))
        .unwrap()
        .probe()
        .unwrap();
    assert!(!probe.contains("apt-cache"), "{probe}");
}

#[test]
fn autoremove_alone() {
    let t = task(json!({"autoremove": true, "purge": true})).unwrap();
    assert!(
        t.probe()
            .unwrap()
            .contains("apt-get -s -q --purge autoremove")
    );
    let out = format!(
        "== autoremove\nReading package lists...\nRemv libfoo1 [2.0-1]\n== autoremove-rc 0\n== cache\n{LISTS}\n{NOW}\n"
    );
    let p = run(json!({"autoremove": true, "purge": true}), &out).unwrap();
    assert!(p.steps[0].script.ends_with(" --purge autoremove\n"));
    assert_eq!(
        p.diff[0],
        Diff::new("packages", "libfoo1: 2.0-1\n", "libfoo1: absent\n")
    );
    let out = format!("== autoremove\n== autoremove-rc 0\n== cache\n{LISTS}\n{NOW}\n");
    assert!(!run(json!({"autoremove": true}), &out).unwrap().changed);
}

#[test]
fn a_deb_from_the_controller() {
    let t = task(json!({"deb": "lab-hello_1.1_all.deb"})).unwrap();
    let probe = t.probe().unwrap();
    let control = control_archive(&deb(b"CONTROL")).unwrap();
    assert!(probe.contains(&base64(&control)), "{probe}");
    assert!(probe.contains("dpkg-deb --show"));
    let answer = |dpkg: &str| {
        format!(
            "== deb\nlab-hello 1.1 all\n== deb-rc 0\n== dpkg\n{dpkg}== dpkg-rc 0\n== cache\n{LISTS}\n{NOW}\n"
        )
    };
    let p = run(
        json!({"deb": "lab-hello_1.1_all.deb"}),
        &answer("lab-hello install ok installed 1.0\n"),
    )
    .unwrap();
    assert_eq!(
        p.diff[0],
        Diff::new("packages", "lab-hello: 1.0\n", "lab-hello: 1.1\n")
    );
    let step = &p.steps[0];
    assert_eq!(step.stdin.as_deref(), Some(&deb(b"CONTROL")[..]));
    assert!(
        step.script.contains("f=\"$d\"/lab-hello_1.1_all.deb"),
        "{}",
        step.script
    );
    assert!(step.script.contains(" install \"$f\"\n"), "{}", step.script);
    let p = run(
        json!({"deb": "lab-hello_1.1_all.deb"}),
        &answer("lab-hello install ok installed 1.1\n"),
    )
    .unwrap();
    assert!(!p.changed);
    let e = run(
        json!({"deb": "lab-hello_1.1_all.deb"}),
        &answer("lab-hello install ok installed 2.0\n"),
    )
    .unwrap_err();
    assert!(e.starts_with("A later version is already installed"), "{e}");
    assert!(
        run(
            json!({"deb": "lab-hello_1.1_all.deb", "allow_downgrade": true}),
            &answer("lab-hello install ok installed 2.0\n")
        )
        .unwrap()
        .changed
    );
}

#[test]
fn parameter_errors() {
    for (args, want) in [
        (
            json!({"name": "hello", "state": "build-dep"}),
            "state=build-dep is not supported",
        ),
        (
            json!({"name": "hello", "state": "fixed"}),
            "state=fixed is not supported",
        ),
        (
            json!({"state": "present"}),
            "one of the following is required",
        ),
        (
            json!({"name": "hello", "deb": "lab-hello_1.1_all.deb"}),
            "mutually exclusive",
        ),
        (
            json!({"deb": "lab-hello_1.1_all.deb", "state": "absent"}),
            "deb only supports state=present",
        ),
        (
            json!({"deb": "missing.deb"}),
            "could not read deb 'missing.deb'",
        ),
        (
            json!({"name": "hello", "upgrade": "dist"}),
            "upgrade=dist is not supported",
        ),
        (json!({"name": "ngin*"}), "patterns"),
        (json!({"name": ["hello", "hello=1"]}), "named twice"),
        (
            json!({"name": "hello", "clean": true}),
            "clean is not supported",
        ),
        (
            json!({"name": "hello", "cache_valid_time": -1}),
            "must not be negative",
        ),
        (json!({"name": "hello", "state": "gone"}), "must be one of"),
    ] {
        let e = task(args.clone()).err().unwrap_or_default();
        assert!(e.contains(want), "{args}: {e:?}");
    }
    assert!(task(json!({"name": "hello", "upgrade": "no", "force_apt_get": true})).is_ok());
    assert!(task(json!({"name": "hello", "upgrade": false})).is_ok());
}

#[test]
fn options_reach_apt_get() {
    let p = run(
        json!({"name": "hello", "install_recommends": false, "dpkg_options": "force-confnew",
               "default_release": "bookworm", "force": true, "lock_timeout": 5}),
        &seen("", Some(&policy("hello", None, "2.10-3", &["2.10-3"]))),
    )
    .unwrap();
    let s = &p.steps[0].script;
    for want in [
        "-o Dpkg::Options::=--force-confnew -o DPkg::Lock::Timeout=5",
        "-o APT::Install-Recommends=no -t bookworm --allow-downgrades --allow-unauthenticated",
        "--allow-remove-essential --allow-change-held-packages",
    ] {
        assert!(s.contains(want), "{want} in {s}");
    }
    assert!(!s.contains("force-confold"));
    let probe = task(json!({"name": "hello", "default_release": "bookworm"}))
        .unwrap()
        .probe()
        .unwrap();
    assert!(
        probe.contains("apt-cache -o APT::Default-Release=bookworm policy -- hello"),
        "{probe}"
    );
}

#[test]
fn the_probe_asks_apt_cache_only_when_a_plain_present_package_is_missing() {
    // Scripts on PATH stand in for dpkg-query (printing what `$DPKG`
    // holds) and apt-cache; the probe is the real script under /bin/sh.
    let bin = crate::content::testing::TempDir::new("apt-fakes");
    for (name, body) in [
        ("dpkg-query", "printf \"$DPKG\""),
        ("apt-cache", "echo 'asked apt-cache'"),
    ] {
        let path = bin.path(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        let made = crate::content::testing::sh(&format!("chmod +x '{path}'"), None);
        assert_eq!(made.rc, 0);
    }
    let probe = |args: Value, dpkg: &str| {
        let script = task(args).unwrap().probe().unwrap();
        let out = crate::content::testing::sh(
            &format!(
                "PATH='{}':$PATH DPKG='{dpkg}'; export PATH DPKG\n{script}",
                bin.0.display()
            ),
            None,
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let both = json!({"name": ["hello", "tree"]});
    let hello = "hello install ok installed 2.10-3\\n";
    let tree = "tree hold ok installed 2.1.0-1\\n";
    let out = probe(both.clone(), &format!("{hello}{tree}"));
    assert!(!out.contains("apt-cache"), "{out}");
    assert!(
        out.starts_with("== dpkg\nhello install ok installed 2.10-3\ntree hold ok installed 2.1.0-1\n== dpkg-rc 0\n"),
        "{out}"
    );
    // One removed, one unknown, one only unpacked: apt is asked.
    for dpkg in [
        format!("{hello}tree deinstall ok config-files 2.1.0-1\\n"),
        hello.to_string(),
        format!("{hello}tree install ok unpacked 2.1.0-1\\n"),
        // A line that only looks like the other package's.
        format!("{hello}xtree install ok installed 1\\n"),
    ] {
        assert!(
            probe(both.clone(), &dpkg).contains("== policy\nasked apt-cache\n"),
            "{dpkg}"
        );
    }
    // Pins, latest, architectures: apt always tells the candidates.
    for args in [
        json!({"name": "hello=2.10-3"}),
        json!({"name": "hello", "state": "latest"}),
        json!({"name": "hello:amd64"}),
    ] {
        assert!(
            probe(args.clone(), hello).contains("asked apt-cache"),
            "{args}"
        );
    }
}

#[test]
fn garbage_probe_output_is_an_error() {
    for junk in [
        "",
        "nonsense\n",
        "== dpkg\nhello\n== dpkg-rc 1\n== cache\n1\n2\n",
    ] {
        assert!(run(json!({"name": "hello"}), junk).is_err(), "{junk:?}");
    }
    let t = task(json!({"name": "hello"})).unwrap();
    assert!(t.plan(None).is_err());
}

mod cache;
