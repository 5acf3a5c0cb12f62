//! Fixture tests of the unit control decisions: observed unit in,
//! systemctl lines, diff lines and result fields out.

use super::*;
use crate::unit_state::Sections;
use crate::unit_state::testing::*;

fn seen(show: &str, is_enabled: &str) -> UnitState {
    Sections::parse(Some(&observed(&unit(show, is_enabled))))
        .unwrap()
        .unit("app")
        .unwrap()
}

fn control(state: Option<Wanted>, enabled: Option<bool>) -> Control {
    Control {
        name: "app".into(),
        state,
        enabled,
        ..Control::default()
    }
}

fn decide(c: &Control, u: &UnitState) -> Decision {
    c.decide(u, Context::default()).unwrap()
}

#[test]
fn start_and_enable_a_stopped_disabled_unit() {
    let d = decide(
        &control(Some(Wanted::Started), Some(true)),
        &seen(STOPPED, "disabled"),
    );
    assert_eq!(d.before, "enabled: disabled\nactive: inactive\n");
    assert_eq!(d.after, "enabled: enabled\nactive: active\n");
    assert!(
        d.script
            .contains("tend_sc 'Unable to enable service app' enable -- app.service\n"),
        "{}",
        d.script
    );
    assert!(
        d.script
            .contains("tend_sc 'Unable to start service app' start -- app\n")
    );
    assert!(d.script.find("enable --").unwrap() < d.script.find("start --").unwrap());
    // Whether it stayed up is the check after the change (below).
    assert!(!d.script.contains("show"), "{}", d.script);
    assert_eq!(d.result["state"], "started");
    assert_eq!(d.result["enabled"], true);
}

#[test]
fn nothing_to_do_when_converged() {
    let d = decide(
        &control(Some(Wanted::Started), Some(true)),
        &seen(RUNNING, "enabled"),
    );
    assert!(!d.changed() && d.before.is_empty());
    assert_eq!(d.result["state"], "started");
    let d = decide(
        &control(Some(Wanted::Stopped), Some(false)),
        &seen(STOPPED, "disabled"),
    );
    assert!(!d.changed());
    assert_eq!(
        (d.result["state"].as_str(), &d.result["enabled"]),
        (Some("stopped"), &Value::Bool(false))
    );
    // A failed unit is not running: stopped already.
    let failed = STOPPED.replace("inactive", "failed");
    assert!(!decide(&control(Some(Wanted::Stopped), None), &seen(&failed, "")).changed());
}

#[test]
fn stop_disable_mask() {
    let mut c = control(Some(Wanted::Stopped), Some(false));
    c.masked = Some(true);
    c.force = true;
    let d = decide(&c, &seen(RUNNING, "enabled"));
    assert_eq!(d.before, "masked: no\nenabled: enabled\nactive: active\n");
    assert_eq!(
        d.after,
        "masked: yes\nenabled: disabled\nactive: inactive\n"
    );
    assert!(d.script.contains("--force mask -- app\n"), "{}", d.script);
    assert!(d.script.contains("stop -- app\n"));
    assert!(!d.script.contains("= failed ]"), "no start check for stop");
    let mut c = control(None, None);
    c.masked = Some(false);
    let d = decide(&c, &seen(&MISSING.replace("not-found", "masked"), "masked"));
    assert!(d.script.contains("unmask -- app"));
    // Deactivating counts as running for stop, as in Ansible.
    let d = decide(
        &control(Some(Wanted::Stopped), None),
        &seen(&RUNNING.replace("=active", "=deactivating"), ""),
    );
    assert!(d.script.contains("stop --"));
}

#[test]
fn restarted_and_reloaded_always_act_then_check_once_applied() {
    for (w, verb) in [(Wanted::Restarted, "restart"), (Wanted::Reloaded, "reload")] {
        let d = decide(&control(Some(w), None), &seen(RUNNING, "enabled"));
        assert!(d.script.contains(&format!("{verb} -- app")), "{}", d.script);
        assert_eq!(d.after, format!("active: {verb}ed\n"));
        assert_eq!(d.result["state"], "started");
        // A stopped unit is started instead.
        let d = decide(&control(Some(w), None), &seen(STOPPED, "enabled"));
        assert!(d.script.contains("start -- app"));
        let applied = Context {
            applied: true,
            ..Context::default()
        };
        let d = control(Some(w), None)
            .decide(&seen(RUNNING, "enabled"), applied)
            .unwrap();
        assert!(!d.changed(), "after the restart, running is enough");
    }
}

#[test]
fn applied_start_that_failed_is_an_error_and_oneshot_is_done() {
    let applied = Context {
        applied: true,
        ..Context::default()
    };
    let failed = STOPPED.replace("inactive", "failed") + "\nResult=exit-code";
    let e = control(Some(Wanted::Started), None)
        .decide(&seen(&failed, "disabled"), applied)
        .unwrap_err();
    assert_eq!(
        e.msg,
        "app was started but is not running now (ActiveState=failed, Result=exit-code); see journalctl -u app"
    );
    // With the status lines the check after the change brought back.
    let mut unit = seen(&failed, "disabled");
    unit.status = Some("x app.service\n  Main process exited, status=1/FAILURE".into());
    let e = control(Some(Wanted::Started), None)
        .decide(&unit, applied)
        .unwrap_err();
    assert!(
        e.msg.ends_with(
            "see journalctl -u app\nx app.service\n  Main process exited, status=1/FAILURE"
        ),
        "{}",
        e.msg
    );
    let oneshot = STOPPED.replace("simple", "oneshot") + "\nResult=success";
    let d = control(Some(Wanted::Started), None)
        .decide(&seen(&oneshot, "static"), applied)
        .unwrap();
    assert!(!d.changed());
    // Before it ran, a oneshot service is started every time, as in Ansible.
    assert!(
        decide(
            &control(Some(Wanted::Started), None),
            &seen(&oneshot, "static")
        )
        .changed()
    );
}

#[test]
fn static_units_are_not_disabled_and_aliases_enable_the_real_unit() {
    let d = decide(&control(None, Some(false)), &seen(STOPPED, "static"));
    assert!(!d.changed());
    assert_eq!(d.result["enabled"], true);
    let d = decide(&control(None, Some(true)), &seen(STOPPED, "indirect"));
    assert!(d.script.contains("enable -- app.service"));
    assert_eq!(d.before, "enabled: indirect\n");
}

#[test]
fn restart_on_change_and_reenable() {
    let cx = Context {
        restart_if_running: true,
        reenable: true,
        applied: false,
        reload_after_files: false,
    };
    let d = control(None, Some(true))
        .decide(&seen(RUNNING, "enabled"), cx)
        .unwrap();
    assert!(d.script.contains("reenable -- app.service"), "{}", d.script);
    assert!(d.script.contains("restart -- app"));
    assert_eq!(d.after, "enabled: reenabled\nactive: restarted\n");
    // Not running: nothing to restart; stopped wins over restart.
    assert!(
        !control(None, None)
            .decide(&seen(STOPPED, ""), cx)
            .unwrap()
            .changed()
    );
    let d = control(Some(Wanted::Stopped), None)
        .decide(&seen(RUNNING, ""), cx)
        .unwrap();
    assert!(d.script.contains("stop -- app") && !d.script.contains("restart"));
    let applied = Context {
        applied: true,
        ..cx
    };
    assert!(
        !control(Some(Wanted::Started), Some(true))
            .decide(&seen(RUNNING, "enabled"), applied)
            .unwrap()
            .changed()
    );
}

#[test]
fn errors_missing_unit_and_load_error() {
    let e = control(Some(Wanted::Started), None)
        .decide(&seen(MISSING, ""), Context::default())
        .unwrap_err();
    assert_eq!(e.msg, "Could not find the requested service app: host");
    assert!(
        control(None, Some(true))
            .decide(&seen(MISSING, ""), Context::default())
            .is_err()
    );
    // Masking works on units that do not exist.
    let mut c = control(None, None);
    c.masked = Some(true);
    assert!(decide(&c, &seen(MISSING, "")).changed());
    let bad = format!("{STOPPED}\nLoadError=org.freedesktop.systemd1.BadUnitSetting \"Unit app.service has a bad unit file setting.\"").replace("LoadState=loaded", "LoadState=bad-setting");
    let e = control(Some(Wanted::Started), None)
        .decide(&seen(&bad, "disabled"), Context::default())
        .unwrap_err();
    assert!(
        e.msg
            .starts_with("Error loading unit file 'app': org.freedesktop"),
        "{e}"
    );
}

#[test]
fn no_block() {
    let mut c = control(Some(Wanted::Stopped), None);
    c.no_block = true;
    let d = decide(&c, &seen(RUNNING, ""));
    assert!(d.script.contains("--no-block stop -- app"));
    let deactivating = seen(&RUNNING.replace("=active", "=deactivating"), "");
    let applied = Context {
        applied: true,
        ..Context::default()
    };
    assert!(!c.decide(&deactivating, applied).unwrap().changed());
    c.state = Some(Wanted::Started);
    let d = decide(&c, &seen(STOPPED, ""));
    assert!(d.script.contains("--no-block start") && !d.script.contains("= failed ]"));
}
