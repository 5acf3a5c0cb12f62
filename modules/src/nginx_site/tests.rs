//! Fixture tests of `nginx_site` (parameters and probe output in, plan out)
//! and real-shell runs of its step against a stand-in `nginx` that rejects
//! any configuration containing `notaport`.

use super::*;
use crate::content::testing::{TempDir, sh};
use crate::debug::testing::FakeController;
use crate::diff::unified;
use serde_json::json;

fn task(args: Value) -> Result<Box<dyn Task>, String> {
    let mut files = Map::new();
    files.insert("site.j2".into(), "server { listen 8080; }\n".into());
    let ctx = FakeController {
        files,
        ..Default::default()
    };
    let map = args.as_object().cloned().unwrap_or_default();
    let args = Args::check(PARAMS, &map, false).map_err(|e| e.message)?;
    NginxSiteModule.prepare(args, &ctx).map_err(|e| e.message)
}

fn run(args: Value, out: &str) -> Result<Plan, String> {
    let obs = Observed {
        stdout: out.as_bytes().to_vec(),
        ..Observed::default()
    };
    task(args)?.plan(Some(&obs)).map_err(|e| e.msg)
}

const OK: &str =
    "server {\n    listen 80;\n\n    location / {\n        return 200 \"ok\";\n    }\n}\n";

fn structured() -> Value {
    json!({"name": "shop", "server": {"listen": 80, "locations": [{"path": "/", "return": "200 \"ok\""}]}})
}

/// A probe answer: the file's and the link's sections, both dirs present.
fn seen(file: &str, link: &str) -> String {
    format!("== file\n{file}== link\n{link}== dirs\ndir\ndir\n")
}

fn file_with(sha1: &str) -> String {
    format!("stat 81a4 0 0 10 1 root root\nsha1 {sha1}\n")
}

/// `../sites-available/shop`, base64, as the probe prints a link target.
const REL_LINK: &str = "stat a1ff 0 0 22 1 root root\nlink Li4vc2l0ZXMtYXZhaWxhYmxlL3Nob3A=\n";

fn sha1_of(text: &str) -> String {
    crate::content::sha1_hex(text.as_bytes())
}

#[test]
fn a_new_site_is_written_linked_tested_and_reloaded() {
    let p = run(structured(), &seen("absent\n", "absent\n")).unwrap();
    assert!(p.changed);
    assert_eq!(p.steps.len(), 1);
    let step = &p.steps[0];
    assert_eq!(step.stdin.as_deref(), Some(OK.as_bytes()));
    let s = &step.script;
    assert!(s.contains("a=/etc/nginx/sites-available/shop\ne=/etc/nginx/sites-enabled/shop\nt=../sites-available/shop\n"), "{s}");
    assert!(
        s.contains("ln -s -- \"$t\" \"$bk/new\" && mv -fT -- \"$bk/new\" \"$e\""),
        "{s}"
    );
    assert!(
        s.contains("if ! out=$(nginx -t 2>&1); then\n  restore\n"),
        "{s}"
    );
    assert!(s.contains("systemctl reload nginx"), "{s}");
    let d = &p.diff[0];
    assert!(unified(&d.before, &d.after, "a", "b").contains("+        return 200 \"ok\";\n"));
    assert_eq!(
        (p.diff[1].before.as_str(), p.diff[1].after.as_str()),
        ("enabled: false\n", "enabled: true\n")
    );
    assert_eq!(p.result["path"], "/etc/nginx/sites-available/shop");
    assert_eq!(p.result["link"], "/etc/nginx/sites-enabled/shop");
    assert_eq!(p.result["enabled"], true);
    assert_eq!(p.result["changed"], true);
    let out = StepOutput {
        stdout: b"reloaded\n".to_vec(),
        ..StepOutput::default()
    };
    assert_eq!(
        task(structured()).unwrap().finish(&p, &[out]).unwrap()["reloaded"],
        true
    );
}

#[test]
fn the_same_site_is_no_change_whichever_way_the_link_is_spelt() {
    let file = file_with(&sha1_of(OK));
    let p = run(structured(), &seen(&file, REL_LINK)).unwrap();
    assert!(
        !p.changed && p.steps.is_empty() && p.diff.is_empty(),
        "{p:?}"
    );
    assert_eq!(p.result["changed"], false);
    // Debian's own links are absolute: as good.
    let abs = "stat a1ff 0 0 34 1 root root\nlink L2V0Yy9uZ2lueC9zaXRlcy1hdmFpbGFibGUvc2hvcA==\n";
    assert!(!run(structured(), &seen(&file, abs)).unwrap().changed);
}

#[test]
fn drift_in_the_file_rewrites_it_and_reloads() {
    let old = format!(
        "{}content c2VydmVyIHsgbGlzdGVuIDgxOyB9Cg==\n",
        file_with("0000")
    );
    let p = run(structured(), &seen(&old, REL_LINK)).unwrap();
    assert!(p.changed);
    assert_eq!(p.diff.len(), 1, "the link is fine");
    let d = &p.diff[0];
    let text = unified(&d.before, &d.after, &d.before_header, &d.after_header);
    assert!(
        text.starts_with("--- /etc/nginx/sites-available/shop\n"),
        "{text}"
    );
    assert!(text.contains("-server { listen 81; }\n"), "{text}");
    let s = &p.steps[0].script;
    assert!(!s.contains("ln -s"), "{s}");
    assert!(s.contains("nginx -t") && s.contains("reload"), "{s}");
}

#[test]
fn disabling_and_disabled_sites() {
    let file = file_with(&sha1_of(OK));
    let mut args = structured();
    args["enabled"] = json!(false);
    let p = run(args.clone(), &seen(&file, REL_LINK)).unwrap();
    assert!(p.changed);
    assert_eq!(
        (p.diff[0].before.as_str(), p.diff[0].after.as_str()),
        ("enabled: true\n", "enabled: false\n")
    );
    assert!(
        p.steps[0]
            .script
            .contains("rm -f -- \"$e\" || { restore; exit 1; }")
    );
    assert!(p.steps[0].script.contains("nginx -t"));
    // A disabled site's file is not live: no test, no reload.
    let p = run(args.clone(), &seen(&file_with("0000"), "absent\n")).unwrap();
    assert!(p.changed);
    let s = &p.steps[0].script;
    assert!(!s.contains("nginx -t") && !s.contains("reload"), "{s}");
    assert!(!run(args, &seen(&file, "absent\n")).unwrap().changed);
    // A link elsewhere is replaced, and the diff says where it led.
    let other = "stat a1ff 0 0 4 1 root root\nlink L3RtcC94\n";
    let p = run(structured(), &seen(&file, other)).unwrap();
    assert_eq!(p.diff[0].before, "enabled: a link to /tmp/x\n");
}

#[test]
fn enabled_alone_only_moves_the_link() {
    let file = file_with("0123");
    let off = json!({"name": "shop", "enabled": false});
    let p = run(off.clone(), &seen(&file, REL_LINK)).unwrap();
    assert!(p.changed);
    assert_eq!(p.diff.len(), 1, "the file is not diffed: {p:?}");
    let s = &p.steps[0].script;
    assert!(
        s.contains("rm -f -- \"$e\"") && s.contains("nginx -t"),
        "{s}"
    );
    assert!(p.steps[0].stdin.is_none(), "nothing is written");
    assert!(!run(off, &seen(&file, "absent\n")).unwrap().changed);
    let on = json!({"name": "shop", "enabled": true});
    assert!(run(on.clone(), &seen(&file, "absent\n")).unwrap().changed);
    assert!(!run(on.clone(), &seen(&file, REL_LINK)).unwrap().changed);
    let e = run(on, &seen("absent\n", "absent\n")).unwrap_err();
    assert!(
        e.contains("/etc/nginx/sites-available/shop does not exist"),
        "{e}"
    );
}

#[test]
fn absent_removes_file_and_link() {
    let gone = json!({"name": "shop", "state": "absent"});
    let file = format!("{}content eAo=\n", file_with("0000"));
    let p = run(gone.clone(), &seen(&file, REL_LINK)).unwrap();
    assert!(p.changed);
    let s = &p.steps[0].script;
    assert!(
        s.contains("rm -f -- \"$a\"") && s.contains("rm -f -- \"$e\"") && s.contains("nginx -t"),
        "{s}"
    );
    assert_eq!(p.diff[0].after, "");
    assert_eq!(p.diff[1].after, "enabled: false\n");
    assert_eq!(p.result["state"], "absent");
    // Not enabled: the file goes without a test.
    let p = run(gone.clone(), &seen(&file, "absent\n")).unwrap();
    assert!(!p.steps[0].script.contains("nginx -t"));
    assert!(!run(gone, &seen("absent\n", "absent\n")).unwrap().changed);
}

#[test]
fn content_template_and_overridden_directories() {
    let p = run(
        json!({"name": "raw", "content": "x\n", "sites_available": "/srv/ngx/avail/", "sites_enabled": "/srv/ngx/on"}),
        &seen("absent\n", "absent\n"),
    )
    .unwrap();
    assert!(
        p.steps[0].script.contains("t=../avail/raw\n"),
        "{}",
        p.steps[0].script
    );
    let p = run(
        json!({"name": "raw", "content": "x\n", "sites_available": "/a/avail", "sites_enabled": "/b/on"}),
        &seen("absent\n", "absent\n"),
    )
    .unwrap();
    assert!(
        p.steps[0].script.contains("t=/a/avail/raw\n"),
        "{}",
        p.steps[0].script
    );
    let p = run(
        json!({"name": "t", "template": "site.j2"}),
        &seen("absent\n", "absent\n"),
    )
    .unwrap();
    assert_eq!(
        p.steps[0].stdin.as_deref(),
        Some(&b"server { listen 8080; }\n"[..])
    );
}

#[test]
fn host_side_errors() {
    let missing = "== file\nabsent\n== link\nabsent\n== dirs\nnone\nnone\n";
    let e = run(structured(), missing).unwrap_err();
    assert!(
        e.contains("/etc/nginx/sites-available is not a directory: is nginx installed"),
        "{e}"
    );
    let dir = "stat 41ed 0 0 4096 1 root root\n";
    assert!(
        run(structured(), &seen("absent\n", dir))
            .unwrap_err()
            .contains("is a directory")
    );
    assert!(run(structured(), "garbage\n").is_err());
    assert!(
        run(
            structured(),
            "== file\nabsent\n== link\nabsent\n== dirs\ndir\n"
        )
        .is_err()
    );
    assert!(
        run(
            structured(),
            "== file\nstat zz\n== link\nabsent\n== dirs\ndir\ndir\n"
        )
        .is_err()
    );
}

#[test]
fn parameter_errors() {
    let err = |v| task(v).err().unwrap_or_default();
    assert!(
        err(json!({"name": "x", "content": "a", "template": "site.j2"}))
            .contains("mutually exclusive")
    );
    assert!(
        err(json!({"name": "x", "content": "a", "server": {"listen": 80}}))
            .contains("mutually exclusive")
    );
    assert!(err(json!({"name": "x"})).contains("needs one of content"));
    assert!(task(json!({"name": "x", "state": "absent"})).is_ok());
    assert!(err(json!({"name": "a/b", "content": "x"})).contains("file name"));
    assert!(err(json!({"name": "..", "content": "x"})).contains("file name"));
    assert!(err(json!({"name": "x", "content": "a", "sites_enabled": "rel"})).contains("absolute"));
    assert!(err(json!({"name": "x", "template": "nope.j2"})).contains("could not read template"));
    assert!(err(json!({"name": "x", "server": "listen 80"})).contains("server must be a mapping"));
    assert!(err(json!({"name": "x", "server": {"locations": [{}]}})).contains("'path'"));
    assert!(err(json!({"name": "x", "upstreams": {"app": {}}})).contains("'servers'"));
    assert!(
        err(json!({"name": "x", "content": "a", "enabeld": true})).contains("unknown parameter")
    );
}

/// The stand-in nginx: `-t` fails, with nginx's wording, when an enabled
/// site contains `notaport`; `-s reload` is never reached here (no pid file).
fn fake_nginx(dir: &TempDir) -> String {
    let bin = dir.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(
        format!("{bin}/nginx"),
        format!(
            "#!/bin/sh\nif grep -qs notaport {}/*; then echo 'nginx: [emerg] host not found in \"notaport\" of the \"listen\" directive' >&2; exit 1; fi\necho 'nginx: configuration file test is successful' >&2\n",
            dir.path("on")
        ),
    )
    .unwrap();
    sh(&format!("chmod +x '{bin}/nginx'"), None);
    bin
}

fn apply(t: &dyn Task, bin: &str) -> Result<Plan, String> {
    let plan = crate::content::testing::plan(t);
    for step in &plan.steps {
        let out = sh(
            &format!("PATH='{bin}':$PATH\n{}", step.script),
            step.stdin.as_deref(),
        );
        if out.rc != 0 {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
    }
    Ok(plan)
}

#[test]
fn real_shell_a_broken_site_never_replaces_a_working_one() {
    let dir = TempDir::new("nginx-site");
    std::fs::create_dir_all(dir.path("avail")).unwrap();
    std::fs::create_dir_all(dir.path("on")).unwrap();
    let bin = fake_nginx(&dir);
    let site = |server: Value, extra: Value| {
        let mut args = json!({"name": "shop", "sites_available": dir.path("avail"), "sites_enabled": dir.path("on"), "server": server});
        if let Value::Object(m) = extra {
            args.as_object_mut().unwrap().extend(m);
        }
        task(args).unwrap()
    };
    let good = site(json!({"listen": 80}), json!({}));
    assert!(apply(good.as_ref(), &bin).unwrap().changed);
    assert_eq!(
        std::fs::read_link(dir.path("on/shop")).unwrap().to_str(),
        Some("../avail/shop")
    );
    assert!(!crate::content::testing::plan(good.as_ref()).changed);
    // A broken change is refused with nginx's words; the old site stays.
    let broken = site(
        json!({"listen": 80, "extra": ["listen notaport;"]}),
        json!({}),
    );
    let e = apply(broken.as_ref(), &bin).unwrap_err();
    assert!(
        e.contains("nginx -t rejected the configuration with site shop"),
        "{e}"
    );
    assert!(e.contains("host not found in \"notaport\""), "{e}");
    assert_eq!(
        std::fs::read_to_string(dir.path("avail/shop")).unwrap(),
        "server {\n    listen 80;\n}\n"
    );
    assert!(std::fs::read_link(dir.path("on/shop")).is_ok());
    assert_eq!(
        std::fs::read_dir(dir.path("avail")).unwrap().count(),
        1,
        "no backup is left behind"
    );
    // A broken new site leaves nothing behind at all.
    let fresh = task(json!({"name": "new", "sites_available": dir.path("avail"), "sites_enabled": dir.path("on"), "content": "listen notaport;\n"})).unwrap();
    assert!(apply(fresh.as_ref(), &bin).is_err());
    assert!(!std::path::Path::new(&dir.path("avail/new")).exists());
    assert!(std::fs::symlink_metadata(dir.path("on/new")).is_err());
    // Disabled, then absent.
    let off = site(json!({"listen": 80}), json!({"enabled": false}));
    assert!(apply(off.as_ref(), &bin).unwrap().changed);
    assert!(std::fs::symlink_metadata(dir.path("on/shop")).is_err());
    assert!(!crate::content::testing::plan(off.as_ref()).changed);
    let gone = task(json!({"name": "shop", "state": "absent", "sites_available": dir.path("avail"), "sites_enabled": dir.path("on")})).unwrap();
    assert!(apply(gone.as_ref(), &bin).unwrap().changed);
    assert_eq!(std::fs::read_dir(dir.path("avail")).unwrap().count(), 0);
    assert!(!crate::content::testing::plan(gone.as_ref()).changed);
}
