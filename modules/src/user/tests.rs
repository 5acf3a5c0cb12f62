//! Fixture tests of the user module: parameters and probe output in, plan,
//! steps, diff and result out.

use super::*;
use crate::content::sha1_hex;
use crate::content::testing::{TempDir, sh};
use crate::diff::unified;
use serde_json::json;

const HASH: &str = "$6$salt$Nf0c5bXmPJkbMbJSdp0VPLcYa5N8nRoUp0ZsFwyGbaH9Tm3u6x0qxqD/Dke7yZB0pE9Ju0QhBxVxbcM.QGDnY1";

fn task(args: Value) -> Result<UserTask, String> {
    let map = args.as_object().cloned().unwrap_or_default();
    let args = Args::check(PARAMS, &map, false).map_err(|e| e.message)?;
    UserTask::from_args(&args).map_err(|e| e.message)
}

fn run(args: Value, out: &str) -> Result<Plan, String> {
    let obs = Observed {
        stdout: out.as_bytes().to_vec(),
        ..Observed::default()
    };
    task(args)?.plan(Some(&obs)).map_err(|e| e.msg)
}

use crate::Value;

const GROUPS: &str = "group root:x:0:\ngroup adm:x:4:\ngroup sudo:x:27:tester\ngroup users:x:100:\ngroup app:x:997:\n";

/// The probe's answer for an existing `app` (uid 999, group app) with
/// shell /bin/sh, a home that exists and the given shadow line.
fn existing(extra_groups: &str, shadow: &str) -> String {
    format!(
        "passwd app:x:999:997:App:/srv/app:/bin/sh\nhomedir yes\n{shadow}{GROUPS}{extra_groups}end\n"
    )
}

fn shadow_of(hash: &str) -> String {
    let locked = if hash.starts_with('!') { "yes" } else { "no" };
    let bare = hash.trim_start_matches('!');
    let empty = if bare.is_empty() { "yes" } else { "no" };
    format!("shadow {locked} {empty} {}\n", sha1_hex(bare.as_bytes()))
}

fn diff_text(p: &Plan) -> String {
    let d = &p.diff[0];
    unified(&d.before, &d.after, &d.before_header, &d.after_header)
}

#[test]
fn creates_a_system_user_with_home_and_groups() {
    let p = run(
        json!({"name": "app", "system": true, "home": "/srv/app", "groups": ["sudo", "adm"], "shell": "/bin/bash", "comment": "The app"}),
        &format!("passwd-absent\nwanthome no\n{GROUPS}end\n").replace("group app:x:997:\n", ""),
    )
    .unwrap();
    assert!(p.changed);
    assert_eq!(p.steps.len(), 1);
    let s = &p.steps[0].script;
    assert!(s.contains("mkdir -p -- \"$(dirname -- /srv/app)\""), "{s}");
    assert!(
        s.contains("useradd -G sudo,adm -c 'The app' -d /srv/app -s /bin/bash -m -r -- app\n"),
        "{s}"
    );
    assert!(
        s.contains("printf 'final %s\\n' \"$(getent passwd -- app)\""),
        "{s}"
    );
    assert_eq!(p.diff[0].before, "state: absent\n");
    assert_eq!(
        p.diff[0].after,
        "state: present\ngroups: sudo,adm\ncomment: The app\nhome: /srv/app\nshell: /bin/bash\nsystem: true\n"
    );
    assert_eq!(p.result["system"], true);
    assert_eq!(p.result["create_home"], true);
    assert_eq!(p.result["groups"], "sudo,adm");
    assert_eq!(p.result["changed"], true);
    // The new account's ids come from the step's last line.
    let out = StepOutput {
        stdout: b"final app:x:999:997:The app:/srv/app:/bin/bash\n".to_vec(),
        ..StepOutput::default()
    };
    let r = task(json!({"name": "app"}))
        .unwrap()
        .finish(&p, &[out])
        .unwrap();
    assert_eq!(
        (r["uid"].clone(), r["group"].clone()),
        (json!(999), json!(997))
    );
    assert_eq!(r["home"], "/srv/app");
}

#[test]
fn a_user_whose_group_exists_joins_the_default_group() {
    let p = run(
        json!({"name": "app", "create_home": false, "uid": 1500, "non_unique": true}),
        &format!("passwd-absent\n{GROUPS}end\n"),
    )
    .unwrap();
    assert!(
        p.steps[0]
            .script
            .contains("useradd -u 1500 -o -N -M -- app\n"),
        "{}",
        p.steps[0].script
    );
    let e = run(
        json!({"name": "app", "group": "nope"}),
        &format!("passwd-absent\n{GROUPS}end\n"),
    )
    .unwrap_err();
    assert_eq!(e, "Group nope does not exist");
}

#[test]
fn nothing_to_do_is_no_change() {
    let args = json!({"name": "app", "uid": 999, "group": "app", "groups": ["sudo"], "shell": "/bin/sh", "home": "/srv/app", "comment": "App", "password": HASH, "password_lock": false});
    let out = existing("", &shadow_of(HASH))
        .replace("homedir yes\n", "homedir yes\nwanthome yes\n")
        .replace("tester\n", "tester,app\n");
    let p = run(args, &out).unwrap();
    assert!(!p.changed, "{p:?}");
    assert!(p.steps.is_empty() && p.diff.is_empty());
    assert_eq!(p.result["uid"], 999);
    assert_eq!(p.result["group"], 997);
    assert_eq!(p.result["password"], "NOT_LOGGING_PASSWORD");
    assert_eq!(p.result["changed"], false);
    // Absent and already gone: nothing to do either.
    let p = run(
        json!({"name": "app", "state": "absent"}),
        &format!("passwd-absent\n{GROUPS}end\n"),
    )
    .unwrap();
    assert!(!p.changed);
}

#[test]
fn a_changed_shell_is_a_usermod_and_a_diff_line() {
    let p = run(
        json!({"name": "app", "shell": "/bin/bash"}),
        &existing("", ""),
    )
    .unwrap();
    assert!(p.changed);
    assert_eq!(p.steps[0].script, "set -e\nusermod -s /bin/bash -- app\n");
    assert_eq!(
        diff_text(&p),
        "--- user app\n+++ user app\n@@ -1 +1 @@\n-shell: /bin/sh\n+shell: /bin/bash\n"
    );
    assert_eq!(p.result["shell"], "/bin/bash");
    assert_eq!(p.result["append"], false);
}

#[test]
fn uid_group_comment_and_home_moves() {
    let p = run(
        json!({"name": "app", "uid": 1200, "group": "100", "comment": "x", "home": "/home/app", "move_home": true}),
        &existing("", "").replace("homedir yes\n", "homedir yes\nwanthome no\n"),
    )
    .unwrap();
    assert_eq!(
        p.steps[0].script, "set -e\nusermod -u 1200 -g 100 -c x -d /home/app -m -- app\n",
        "the moved home is not made again"
    );
    assert_eq!(
        p.diff[0].after,
        "uid: 1200\ngroup: users\ncomment: x\nhome: /home/app\n"
    );
}

#[test]
fn groups_replace_append_and_empty() {
    let out = existing("", "").replace("group adm:x:4:\n", "group adm:x:4:app\n");
    // Replace: adm goes, sudo comes.
    let p = run(json!({"name": "app", "groups": "sudo"}), &out).unwrap();
    assert!(p.steps[0].script.contains("usermod -G sudo -- app"));
    assert_eq!(
        diff_text(&p).lines().skip(3).collect::<Vec<_>>(),
        ["-groups: adm", "+groups: sudo"]
    );
    // Append: adm stays.
    let p = run(
        json!({"name": "app", "groups": ["sudo"], "append": true}),
        &out,
    )
    .unwrap();
    assert!(p.steps[0].script.contains("usermod -a -G sudo -- app"));
    assert_eq!(p.diff[0].after, "groups: adm,sudo\n");
    // Append of a group the user is already in: nothing.
    assert!(
        !run(
            json!({"name": "app", "groups": ["4"], "append": true}),
            &out
        )
        .unwrap()
        .changed
    );
    // Empty: every supplementary group goes.
    let p = run(json!({"name": "app", "groups": ""}), &out).unwrap();
    assert!(
        p.steps[0].script.contains("usermod -G '' -- app"),
        "{}",
        p.steps[0].script
    );
    assert!(
        !run(json!({"name": "app", "groups": []}), &existing("", ""))
            .unwrap()
            .changed
    );
    let e = run(json!({"name": "app", "groups": ["sudo", "wheel"]}), &out).unwrap_err();
    assert_eq!(e, "Group wheel does not exist");
}

#[test]
fn passwords_are_compared_by_fingerprint_and_never_shown() {
    let old = shadow_of("$6$old$x");
    let p = run(
        json!({"name": "app", "password": HASH}),
        &existing("", &old),
    )
    .unwrap();
    assert!(p.changed);
    let step = &p.steps[0];
    assert_eq!(step.script, "set -e\nchpasswd -e\n");
    assert_eq!(
        step.stdin.as_deref(),
        Some(format!("app:{HASH}\n").as_bytes())
    );
    let shown = format!("{}{:?}", diff_text(&p), p.result);
    assert!(!shown.contains(HASH) && !shown.contains("salt"), "{shown}");
    assert_eq!(p.diff[0].after, "password: ******** (changed)\n");
    assert_eq!(p.result["password"], "NOT_LOGGING_PASSWORD");
    // The same hash, locked: equal, as Ansible compares without the `!`.
    let locked = shadow_of(&format!("!{HASH}"));
    assert!(
        !run(
            json!({"name": "app", "password": HASH}),
            &existing("", &locked)
        )
        .unwrap()
        .changed
    );
    // update_password: on_create leaves an existing password alone.
    let p = run(
        json!({"name": "app", "password": HASH, "update_password": "on_create"}),
        &existing("", &old),
    )
    .unwrap();
    assert!(!p.changed);
    // A new hash with password_lock: set locked in one go.
    let p = run(
        json!({"name": "app", "password": HASH, "password_lock": true}),
        &existing("", &old),
    )
    .unwrap();
    assert_eq!(
        p.steps[0].stdin.as_deref(),
        Some(format!("app:!{HASH}\n").as_bytes())
    );
    assert_eq!(
        p.diff[0].after,
        "password: ******** (changed)\npassword_lock: locked\n"
    );
    // Without root the shadow entry is unreadable: say so.
    let e = run(json!({"name": "app", "password": HASH}), &existing("", "")).unwrap_err();
    assert!(e.contains("become: true"), "{e}");
}

#[test]
fn password_lock_and_unlock() {
    let open = shadow_of(HASH);
    let p = run(
        json!({"name": "app", "password_lock": true}),
        &existing("", &open),
    )
    .unwrap();
    assert_eq!(p.steps[0].script, "set -e\nusermod -L -- app\n");
    assert_eq!(p.diff[0].before, "password_lock: unlocked\n");
    let locked = shadow_of(&format!("!{HASH}"));
    assert!(
        !run(
            json!({"name": "app", "password_lock": true}),
            &existing("", &locked)
        )
        .unwrap()
        .changed
    );
    let p = run(
        json!({"name": "app", "password_lock": false}),
        &existing("", &locked),
    )
    .unwrap();
    assert_eq!(p.steps[0].script, "set -e\nusermod -U -- app\n");
    // `!` alone is no password: usermod would refuse to unlock it.
    assert!(
        !run(
            json!({"name": "app", "password_lock": false}),
            &existing("", &shadow_of("!"))
        )
        .unwrap()
        .changed
    );
    // Creating a locked user without a password locks it after useradd.
    let p = run(
        json!({"name": "new", "password_lock": true}),
        &format!("passwd-absent\n{GROUPS}end\n"),
    )
    .unwrap();
    assert!(
        p.steps[0]
            .script
            .contains("useradd -m -- new\nusermod -L -- new\n"),
        "{}",
        p.steps[0].script
    );
    // `password: '!'` keeps its `!`: never an empty password.
    let p = run(
        json!({"name": "new", "password": "!"}),
        &format!("passwd-absent\n{GROUPS}end\n"),
    )
    .unwrap();
    assert_eq!(p.steps[0].stdin.as_deref(), Some(&b"new:!\n"[..]));
}

#[test]
fn a_missing_home_directory_is_made() {
    let out = existing("", "").replace("homedir yes", "homedir no");
    let p = run(json!({"name": "app"}), &out).unwrap();
    assert!(p.changed);
    let s = &p.steps[0].script;
    assert!(
        s.contains("h=/srv/app\n") && s.contains("cp -R -P -p -- /etc/skel \"$h\""),
        "{s}"
    );
    assert!(s.contains("chown -R -- app: \"$h\""), "{s}");
    assert_eq!(p.diff[0].after, "home_dir: present\n");
    assert!(
        !run(json!({"name": "app", "create_home": false}), &out)
            .unwrap()
            .changed
    );
}

#[test]
fn removes_a_user() {
    let p = run(
        json!({"name": "app", "state": "absent", "remove": true, "force": "yes"}),
        &existing("", ""),
    )
    .unwrap();
    assert_eq!(p.steps[0].script, "userdel -f -r -- app\n");
    assert_eq!(
        (p.diff[0].before.as_str(), p.diff[0].after.as_str()),
        ("state: present\n", "state: absent\n")
    );
    assert_eq!(p.result["remove"], true);
    assert!(p.result.get("uid").is_none());
    let warn = StepOutput {
        stderr: b"userdel: app mail spool (/var/mail/app) not found\n".to_vec(),
        ..StepOutput::default()
    };
    let r = task(json!({"name": "app"}))
        .unwrap()
        .finish(&p, &[warn])
        .unwrap();
    assert_eq!(
        r["stderr"],
        "userdel: app mail spool (/var/mail/app) not found"
    );
}

#[test]
fn parameter_errors() {
    let err = |v| task(v).err().unwrap_or_default();
    assert!(err(json!({"name": "app", "generate_ssh_key": true})).contains("not supported"));
    assert!(task(json!({"name": "app", "generate_ssh_key": false})).is_ok());
    assert!(err(json!({"name": "app", "expires": 1})).contains("not supported"));
    assert!(err(json!({"name": "a:b"})).contains("invalid user name"));
    assert!(err(json!({"name": "app", "groups": ["a b"]})).contains("invalid group name"));
    assert!(err(json!({"name": "app", "uid": -1})).contains("uid must be 0 or more"));
    assert!(err(json!({"name": "app", "umask": "99"})).contains("octal"));
    assert!(err(json!({"name": "app", "shell": "a\nb"})).contains("newline"));
    assert!(err(json!({"name": "app", "state": "gone"})).contains("must be one of"));
    assert!(err(json!({"user": "app", "shel": "/bin/sh"})).contains("unknown parameter"));
    assert!(err(json!({"shell": "/bin/sh"})).contains("missing required parameter 'name'"));
}

#[test]
fn garbage_or_a_failed_probe_is_an_error() {
    assert!(run(json!({"name": "app"}), "passwd app:x\nend\n").is_err());
    assert!(run(json!({"name": "app"}), "passwd-absent\n").is_err());
    let obs = Observed {
        rc: 3,
        stderr: b"getent group failed".to_vec(),
        ..Observed::default()
    };
    let e = task(json!({"name": "app"}))
        .unwrap()
        .plan(Some(&obs))
        .unwrap_err();
    assert!(e.msg.contains("getent group failed"), "{}", e.msg);
}

#[test]
fn real_shell_make_home_copies_the_skeleton_with_the_login_defs_mode() {
    let dir = TempDir::new("user-home");
    std::fs::create_dir_all(dir.path("skel")).unwrap();
    std::fs::write(dir.path("skel/.profile"), "# hi\n").unwrap();
    let me = String::from_utf8(sh("id -un", None).stdout).unwrap();
    let home = dir.path("a/home");
    let p = run(
        json!({"name": me.trim(), "home": home, "skeleton": dir.path("skel")}),
        &format!(
            "passwd {}:x:0:0::{home}:/bin/sh\nhomedir no\nwanthome no\n{GROUPS}end\n",
            me.trim()
        ),
    )
    .unwrap();
    let out = sh(&p.steps[0].script, None);
    assert_eq!(out.rc, 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(format!("{home}/.profile")).unwrap(),
        "# hi\n"
    );
    let mode = sh(&format!("stat -c %a '{home}'"), None).stdout;
    // login.defs' HOME_MODE, or what its UMASK (022 when absent) leaves.
    let want = sh(
        "m=$(sed -n 's/^HOME_MODE[[:space:]]*\\([0-7]*\\)$/\\1/p' /etc/login.defs 2>/dev/null); echo ${m:-?}",
        None,
    );
    let want = String::from_utf8_lossy(&want.stdout).trim().to_string();
    let mode = String::from_utf8_lossy(&mode).trim().to_string();
    if want == "?" {
        assert_eq!(mode, "755");
    } else {
        assert_eq!(mode, want.trim_start_matches('0'));
    }
}
