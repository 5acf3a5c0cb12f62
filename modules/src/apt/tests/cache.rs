//! Fixture tests of the apt task's cache updates and of what `finish`
//! reports.

use super::*;

#[test]
fn with_update_cache_an_unknown_package_is_left_to_apt() {
    let p = run(
        json!({"name": "nope", "update_cache": true}),
        &seen("", Some("")),
    )
    .unwrap();
    assert!(p.changed);
    assert_eq!(p.steps.len(), 2);
    assert!(
        p.steps[0].script.contains(" update 2>&1"),
        "{}",
        p.steps[0].script
    );
    assert!(p.steps[1].script.ends_with(" install nope\n"));
    assert_eq!(
        p.diff[0],
        Diff::new("packages", "nope: absent\n", "nope: present\n")
    );
    assert_eq!(p.result["cache_updated"], true);
}

#[test]
fn update_cache_with_nothing_to_install_changes_nothing() {
    let dpkg = "lab-hello install ok installed 1.1\n";
    let obs = seen(dpkg, Some(&hello(Some("1.1"))));
    let p = run(json!({"name": "lab-hello", "update_cache": true}), &obs).unwrap();
    assert!(!p.changed && p.steps.is_empty(), "{p:?}");
    assert_eq!(p.result["cache_updated"], false);
    assert!(
        task(json!({"name": "lab-hello", "update_cache": true}))
            .unwrap()
            .verify()
    );
    // Something to install: the update comes first.
    let p = run(
        json!({"name": "lab-hello", "state": "latest", "update_cache": true}),
        &seen(
            "lab-hello install ok installed 1.0\n",
            Some(&hello(Some("1.0"))),
        ),
    )
    .unwrap();
    assert_eq!(p.steps.len(), 2);
    assert!(
        p.steps[0]
            .script
            .contains("touch /var/lib/apt/periodic/update-success-stamp")
    );
    // A fresh cache (cache_valid_time) is not updated first.
    let p = run(
        json!({"name": "lab-hello", "state": "latest", "cache_valid_time": 86400}),
        &seen(
            "lab-hello install ok installed 1.0\n",
            Some(&hello(Some("1.0"))),
        ),
    )
    .unwrap();
    assert_eq!(p.steps.len(), 1);
}

#[test]
fn update_cache_alone() {
    let only = seen("", None).replace("== dpkg\n== dpkg-rc 1\n", "");
    // Without cache_valid_time: every run, as in Ansible, and not re-checked.
    let t = task(json!({"update_cache": true})).unwrap();
    assert!(!t.probe().unwrap().contains("dpkg-query"));
    assert!(!t.verify());
    let p = run(json!({"update_cache": true}), &only).unwrap();
    assert!(p.changed && p.steps.len() == 1);
    assert_eq!(p.diff[0].before, "package lists: updated 2 h 46 min ago\n");
    assert_eq!(p.diff[0].after, "package lists: updated now\n");
    assert_eq!(p.result["cache_updated"], true);
    // With cache_valid_time: only when older, and re-checked.
    let t = task(json!({"cache_valid_time": 3600})).unwrap();
    assert!(t.verify());
    let p = run(json!({"cache_valid_time": 3600}), &only).unwrap();
    assert!(p.changed);
    let p = run(
        json!({"update_cache": true, "cache_valid_time": 86400}),
        &only,
    )
    .unwrap();
    assert!(!p.changed, "{p:?}");
    assert_eq!(p.result["cache_updated"], false);
    assert_eq!(p.result["cache_update_time"], LISTS);
}

#[test]
fn finish_reports_the_update_and_apt_output() {
    let t = task(json!({"name": "nope", "update_cache": true})).unwrap();
    let obs = Observed {
        stdout: seen("", Some("")).into_bytes(),
        ..Observed::default()
    };
    let plan = t.plan(Some(&obs)).unwrap();
    let outputs = [
        StepOutput {
            rc: 0,
            stdout: b"cache_update_time 1700020000\n".to_vec(),
            stderr: Vec::new(),
        },
        StepOutput {
            rc: 0,
            stdout: b"Reading package lists...\nSetting up nope (1) ...\n".to_vec(),
            stderr: b"debconf: delaying package configuration\n".to_vec(),
        },
    ];
    let r = t.finish(&plan, &outputs).unwrap();
    assert_eq!(r["cache_updated"], true);
    assert_eq!(r["cache_update_time"], 1_700_020_000);
    assert_eq!(r["stdout_lines"][1], "Setting up nope (1) ...");
    assert_eq!(r["stderr"], "debconf: delaying package configuration\n");
    let mut bad = outputs.clone();
    bad[0].stdout = b"hmm\n".to_vec();
    assert!(t.finish(&plan, &bad).is_err());
}

#[test]
fn stale_lists_are_refreshed_before_the_packages_are_judged() {
    // Installed 1.0, and the stale lists know nothing newer.
    let stale_policy = policy("lab-hello", Some("1.0"), "1.0", &["1.0"]);
    let before = seen("lab-hello install ok installed 1.0\n", Some(&stale_policy));
    let t = task(json!({"name": "lab-hello", "state": "latest", "update_cache": true})).unwrap();
    let obs = |text: &str| Observed {
        stdout: text.as_bytes().to_vec(),
        ..Observed::default()
    };
    // From the stale lists alone (check mode): nothing to do.
    assert!(!t.plan(Some(&obs(&before))).unwrap().changed);
    // Outside check mode the engine updates first...
    let refresh = t.refresh(Some(&obs(&before))).expect("a refresh step");
    assert!(
        refresh.script.contains(" update 2>&1"),
        "{}",
        refresh.script
    );
    // ...and the fresh lists show 1.1: one step, the install.
    let after = seen(
        "lab-hello install ok installed 1.0\n",
        Some(&hello(Some("1.0"))),
    );
    let p = t.plan_refreshed(Some(&obs(&after))).unwrap();
    assert!(p.changed && p.steps.len() == 1, "{p:?}");
    assert!(p.steps[0].script.ends_with(" install lab-hello\n"));
    assert_eq!(p.result["cache_updated"], true);
    // Fresh lists (cache_valid_time) or no packages: no refresh step.
    let fresh = task(json!({"name": "lab-hello", "cache_valid_time": 86400})).unwrap();
    assert!(fresh.refresh(Some(&obs(&before))).is_none());
    let only = task(json!({"update_cache": true})).unwrap();
    assert!(only.refresh(Some(&obs(&before))).is_none());
}
