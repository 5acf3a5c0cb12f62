//! Fixture tests of `systemd_unit`: probe answers in, plans out; and the
//! step's shell run for real (`systemd-analyze` when this machine has it,
//! `systemctl` stubbed) to prove a rejected unit leaves the old file.

use super::*;
use crate::content::testing::{TempDir, sh};
use crate::debug::testing::FakeController;
use crate::unit_state::testing::*;
use serde_json::json;

const TEXT: &str = "[Unit]\nDescription=Shop\n\n[Service]\nExecStart=/opt/shop\nEnvironment=PORT=8080\n\n[Install]\nWantedBy=multi-user.target\n";

fn args() -> Value {
    json!({
        "name": "shop.service",
        "unit": {"Description": "Shop"},
        "service": {"ExecStart": "/opt/shop", "Environment": ["PORT=8080"]},
        "install": {"WantedBy": "multi-user.target"},
    })
}

fn with(extra: Value) -> Value {
    let mut a = args();
    for (k, v) in extra.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

fn task(args: Value) -> Result<UnitTask, String> {
    let map = args.as_object().cloned().unwrap_or_default();
    let args = Args::check(PARAMS, &map, false).map_err(|e| e.message)?;
    SystemdUnitModule
        .prepare(args, &FakeController::default())
        .map_err(|e| e.message)?;
    UnitTask::new(&Args::check(PARAMS, &map, false).unwrap()).map_err(|e| e.message)
}

/// The file section for a unit file holding `text`.
fn file(text: &str) -> String {
    let b64 = String::from_utf8(sh("base64 -w0", Some(text.as_bytes())).stdout).unwrap();
    format!(
        "stat 81a4 0 0 {} 1 root root\nsha1 {}\ncontent {b64}\n",
        text.len(),
        content::sha1_hex(text.as_bytes())
    )
}

fn answer(file: &str, show: &str, is_enabled: &str) -> String {
    format!("== file\n{file}== analyze\nyes\n{}", unit(show, is_enabled))
}

fn plan(t: &UnitTask, out: &str) -> Result<Plan, String> {
    t.plan(Some(&observed(out))).map_err(|e| e.msg)
}

#[test]
fn a_new_unit_is_verified_written_reloaded_enabled_and_started() {
    let t = task(with(json!({"state": "started", "enabled": true}))).unwrap();
    assert_eq!(t.text.as_deref(), Some(TEXT));
    let p = plan(&t, &answer("absent\n", MISSING, "")).unwrap();
    assert!(p.changed);
    assert_eq!(p.steps.len(), 1, "one step, one round trip");
    let s = &p.steps[0].script;
    assert_eq!(p.steps[0].stdin.as_deref(), Some(TEXT.as_bytes()));
    let order = [
        "tend_sc() {",
        "tend_verify() {",
        "p=/etc/systemd/system/shop.service",
        "if ! tend_verify \"$t\"",
        "mv -f",
        "daemon-reload",
        "enable -- app.service",
        "start -- shop.service",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|w| s.find(w).unwrap_or_else(|| panic!("{w} not in:\n{s}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{s}");
    assert_eq!(
        p.diff[0],
        Diff::new("/etc/systemd/system/shop.service", "", TEXT)
    );
    assert_eq!(
        p.diff[1],
        Diff::new(
            "shop.service",
            "enabled: disabled\nactive: inactive\n",
            "enabled: enabled\nactive: active\n"
        )
    );
    assert_eq!(p.result["state"], "started");
    assert_eq!(p.result["enabled"], true);
    assert_eq!(p.result["dest"], "/etc/systemd/system/shop.service");
    assert_eq!(p.result["status"]["LoadState"], "not-found");
    // Once applied, the re-probe of the converged unit plans nothing.
    t.finish(&p, &[]).unwrap();
    let again = plan(&t, &answer(&file(TEXT), RUNNING, "enabled")).unwrap();
    assert!(!again.changed, "{again:?}");
}

#[test]
fn converged_unit_is_no_change() {
    let t = task(with(json!({"state": "started", "enabled": true}))).unwrap();
    let p = plan(&t, &answer(&file(TEXT), RUNNING, "enabled")).unwrap();
    assert!(
        !p.changed && p.steps.is_empty() && p.diff.is_empty(),
        "{p:?}"
    );
    assert_eq!(p.result["changed"], false);
    assert_eq!(p.result["checksum"], content::sha1_hex(TEXT.as_bytes()));
    // The probe does not bring back content it already knows.
    assert!(
        t.probe()
            .unwrap()
            .contains(&content::sha1_hex(TEXT.as_bytes()))
    );
}

#[test]
fn a_changed_unit_is_reloaded_and_a_running_service_restarted() {
    let old = TEXT.replace("8080", "9090");
    let t = task(with(json!({"state": "started"}))).unwrap();
    let p = plan(&t, &answer(&file(&old), RUNNING, "enabled")).unwrap();
    let d = &p.diff[0];
    let text = crate::diff::unified(&d.before, &d.after, "a", "b");
    assert!(
        text.contains("-Environment=PORT=9090\n+Environment=PORT=8080\n"),
        "{text}"
    );
    assert_eq!(
        p.diff[1],
        Diff::new("shop.service", "active: active\n", "active: restarted\n")
    );
    let s = &p.steps[0].script;
    assert!(s.find("daemon-reload").unwrap() < s.find("restart -- shop.service").unwrap());
    // Stopped: the new file does not start it.
    let p = plan(
        &task(args()).unwrap(),
        &answer(&file(&old), STOPPED, "enabled"),
    )
    .unwrap();
    assert!(p.changed && p.diff.len() == 1 && !p.steps[0].script.contains("start"));
    // state: stopped stops it rather than restarting it.
    let p = plan(
        &task(with(json!({"state": "stopped"}))).unwrap(),
        &answer(&file(&old), RUNNING, "enabled"),
    )
    .unwrap();
    assert!(
        p.steps[0].script.contains("stop -- shop.service")
            && !p.steps[0].script.contains("restart")
    );
}

#[test]
fn a_unit_systemd_has_not_reloaded_yet_is_reloaded_and_restarted() {
    let stale = RUNNING.replace("NeedDaemonReload=no", "NeedDaemonReload=yes");
    let p = plan(
        &task(args()).unwrap(),
        &answer(&file(TEXT), &stale, "enabled"),
    )
    .unwrap();
    assert!(p.changed && !p.steps[0].script.contains("tend_verify"));
    assert_eq!(
        p.diff,
        vec![Diff::new(
            "shop.service",
            "daemon: needs reload\nactive: active\n",
            "daemon: reloaded\nactive: restarted\n"
        )]
    );
}

#[test]
fn install_changes_reenable_an_enabled_unit() {
    let old = TEXT.replace("multi-user.target", "default.target");
    let t = task(with(json!({"enabled": true}))).unwrap();
    let p = plan(&t, &answer(&file(&old), STOPPED, "enabled")).unwrap();
    assert!(
        p.steps[0].script.contains("reenable -- app.service"),
        "{}",
        p.steps[0].script
    );
    // A unit without [Install] is static: nothing to enable.
    let t = task(
        json!({"name": "shop.service", "content": "[Service]\nExecStart=/x\n", "enabled": true}),
    )
    .unwrap();
    let p = plan(&t, &answer("absent\n", MISSING, "")).unwrap();
    assert!(!p.steps[0].script.contains("enable"));
    assert_eq!(p.result["enabled"], true);
}

#[test]
fn sockets_and_targets_are_not_restarted_by_a_change() {
    let t = task(json!({"name": "shop.socket", "socket": {"ListenStream": 8080}})).unwrap();
    assert_eq!(t.text.as_deref(), Some("[Socket]\nListenStream=8080\n"));
    let p = plan(
        &t,
        &answer(&file("[Socket]\nListenStream=9090\n"), RUNNING, "enabled"),
    )
    .unwrap();
    assert!(p.changed && !p.steps[0].script.contains("restart"));
    let t = task(json!({"name": "shop.timer", "timer": {"OnCalendar": "daily"}, "install": {"WantedBy": "timers.target"}})).unwrap();
    let p = plan(
        &t,
        &answer(&file("[Timer]\nOnCalendar=hourly\n"), RUNNING, "enabled"),
    )
    .unwrap();
    assert!(p.steps[0].script.contains("restart -- shop.timer"));
}

#[test]
fn absent_stops_disables_and_removes() {
    let t = task(json!({"name": "shop.service", "state": "absent"})).unwrap();
    let p = plan(&t, &answer(&file(TEXT), RUNNING, "enabled")).unwrap();
    let s = &p.steps[0].script;
    for w in [
        "stop -- shop.service",
        "disable -- shop.service",
        "rm -f -- /etc/systemd/system/shop.service",
        "daemon-reload",
    ] {
        assert!(s.contains(w), "{w} not in {s}");
    }
    assert_eq!(
        p.diff[0],
        Diff::new("/etc/systemd/system/shop.service", TEXT, "")
    );
    assert_eq!(p.diff[1].after, "active: inactive\nenabled: disabled\n");
    assert_eq!(p.result["state"], "absent");
    let p = plan(&t, &answer("absent\n", MISSING, "")).unwrap();
    assert!(!p.changed);
}

#[test]
fn verification_can_be_off_or_unavailable() {
    let t = task(with(json!({"verify": false}))).unwrap();
    let p = plan(&t, &answer("absent\n", MISSING, "")).unwrap();
    assert!(!p.steps[0].script.contains("tend_verify"));
    let out = answer("absent\n", MISSING, "").replace("== analyze\nyes", "== analyze\nno");
    let p = plan(&task(args()).unwrap(), &out).unwrap();
    assert!(!p.steps[0].script.contains("tend_verify"));
}

#[test]
fn parameter_errors() {
    let err = |v| task(v).err().unwrap_or_default();
    assert!(
        err(json!({"name": "shop", "content": "x"}))
            .starts_with("name 'shop' must end in one of .service, .socket")
    );
    assert!(err(json!({"name": "a/b.service", "content": "x"})).contains("is not a unit name"));
    assert!(err(json!({"name": ".service", "content": "x"})).contains("is not a unit name"));
    assert_eq!(
        err(json!({"name": "a.socket", "service": {"ExecStart": "/x"}})),
        "a .socket unit has no [Service] section"
    );
    assert_eq!(
        err(json!({"name": "a.target", "timer": {"OnCalendar": "daily"}})),
        "a .target unit has no [Timer] section"
    );
    assert!(err(with(json!({"content": "x"}))).contains("mutually exclusive"));
    assert!(err(json!({"name": "a.service"})).contains("or content are required"));
    assert_eq!(
        err(json!({"name": "a.service", "state": "absent", "enabled": false})),
        "enabled cannot be used with state: absent"
    );
    assert!(err(with(json!({"dest": "etc"}))).contains("absolute"));
    assert!(
        err(json!({"name": "a.service", "service": {"Exec Start": "/x"}}))
            .contains("not a unit file key")
    );
    assert!(err(with(json!({"mdoe": 1}))).contains("unknown parameter"));
    assert!(task(json!({"name": "a.target", "unit": {"Description": "x"}, "dest": "/run/systemd/system/"})).is_ok());
}

#[test]
fn host_errors() {
    let t = task(args()).unwrap();
    let dir = answer("stat 41ed 0 0 4096 1 root root\n", MISSING, "");
    assert_eq!(
        plan(&t, &dir).unwrap_err(),
        "/etc/systemd/system/shop.service exists and is not a unit file"
    );
    assert!(plan(&t, "garbage").is_err());
    assert!(
        plan(
            &t,
            &answer("absent\n", MISSING, "").replace("== analyze\nyes", "== analyze\nmaybe")
        )
        .is_err()
    );
    let broken = format!("{RUNNING}\nLoadError=org.freedesktop.systemd1.BadUnitSetting \"bad\"")
        .replace("LoadState=loaded", "LoadState=bad-setting");
    let e = plan(
        &task(with(json!({"state": "started"}))).unwrap(),
        &answer(&file(TEXT), &broken, "disabled"),
    )
    .unwrap_err();
    assert!(
        e.starts_with("Error loading unit file 'shop.service'"),
        "{e}"
    );
}

/// Runs the plan's step in sh with `systemctl` stubbed (it logs its
/// arguments), against a unit directory under `dir`.
fn run_step(dir: &TempDir, p: &Plan) -> (crate::StepOutput, String) {
    let log = dir.path("systemctl.log");
    std::fs::create_dir_all(dir.path("bin")).unwrap();
    std::fs::write(
        dir.path("bin/systemctl"),
        format!("#!/bin/sh\necho \"$*\" >> '{log}'\n"),
    )
    .unwrap();
    sh(&format!("chmod +x '{}'", dir.path("bin/systemctl")), None);
    let script = format!(
        "PATH='{}':\"$PATH\"\n{}",
        dir.path("bin"),
        p.steps[0].script
    );
    let out = sh(&script, p.steps[0].stdin.as_deref());
    (out, std::fs::read_to_string(&log).unwrap_or_default())
}

#[test]
fn real_shell_a_rejected_unit_leaves_the_old_file() {
    if sh("command -v systemd-analyze", None).rc != 0 {
        eprintln!("skipped: no systemd-analyze on this machine");
        return;
    }
    let dir = TempDir::new("systemd-unit");
    let units = dir.path("units");
    std::fs::create_dir_all(&units).unwrap();
    let good = "[Service]\nExecStart=/bin/true\n".to_string();
    std::fs::write(format!("{units}/lab.service"), &good).unwrap();
    let t = task(
        json!({"name": "lab.service", "dest": units, "service": {"ExecStart": "relative/path"}}),
    )
    .unwrap();
    let p = plan(&t, &answer(&file(&good), STOPPED, "static")).unwrap();
    let (out, log) = run_step(&dir, &p);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.rc, 1, "{err}");
    assert!(err.contains(&format!("systemd-analyze verify rejects the new lab.service; {units}/lab.service was not changed:")), "{err}");
    assert!(
        err.contains(&format!(
            "{units}/lab.service:2: Neither a valid executable name nor an absolute path"
        )),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(format!("{units}/lab.service")).unwrap(),
        good
    );
    assert_eq!(log, "", "nothing reloaded");
    assert_eq!(
        std::fs::read_dir(&units).unwrap().count(),
        1,
        "no temporary file left"
    );
    // An unknown key is a diagnostic about the file: rejected too.
    let t = task(json!({"name": "lab.service", "dest": units, "service": {"ExecStart": "/bin/true", "Restrat": "always"}})).unwrap();
    let (out, _) = run_step(
        &dir,
        &plan(&t, &answer(&file(&good), STOPPED, "static")).unwrap(),
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Unknown key"),
        "{out:?}"
    );
    // A good unit is written, then systemd reloads.
    let t = task(
        json!({"name": "lab.service", "dest": units, "service": {"ExecStart": "/bin/sleep 1"}}),
    )
    .unwrap();
    let (out, log) = run_step(
        &dir,
        &plan(&t, &answer(&file(&good), STOPPED, "static")).unwrap(),
    );
    assert_eq!(out.rc, 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(format!("{units}/lab.service")).unwrap(),
        "[Service]\nExecStart=/bin/sleep 1\n"
    );
    assert_eq!(log, "daemon-reload\n");
}
