//! The user module's decisions: what the account lacks compared with the
//! task, as a useradd/usermod/userdel step and `key: value` diff lines.

use super::UserTask;
use super::accounts::{self, Passwd, UserFacts};
use crate::content::sha1_hex;
use crate::shell::quote;
use crate::{Diff, Map, Plan, Step, StepOutput, TaskError, Value};

/// What Ansible puts in place of a password in results.
const HIDDEN: &str = "NOT_LOGGING_PASSWORD";
/// How a password shows in a diff: never the hash itself.
const MASK: &str = "********";

pub(super) fn plan(t: &UserTask, f: &UserFacts) -> Result<Plan, TaskError> {
    let mut result = Map::new();
    result.insert("name".into(), t.name.clone().into());
    let state = if t.present { "present" } else { "absent" };
    result.insert("state".into(), state.into());
    let mut plan = match (t.present, &f.passwd) {
        (false, None) => Plan::unchanged(result),
        (false, Some(_)) => remove(t, result),
        (true, None) => create(t, f, result)?,
        (true, Some(pw)) => modify(t, f, pw, result)?,
    };
    if t.present && t.password.is_some() {
        plan.result.insert("password".into(), HIDDEN.into());
    }
    plan.result.insert("changed".into(), plan.changed.into());
    Ok(plan)
}

/// The result once the steps ran: a new account's ids, and what the
/// commands said on stderr (userdel's warnings), as Ansible returns them.
pub(super) fn finish(plan: &Plan, outputs: &[StepOutput]) -> Map {
    let mut result = plan.result.clone();
    let mut stderr = String::new();
    for out in outputs {
        let text = String::from_utf8_lossy(&out.stdout);
        if let Some(pw) = text
            .lines()
            .find_map(|l| l.strip_prefix("final "))
            .and_then(|l| accounts::parse_passwd(l).ok())
        {
            insert_passwd(&mut result, &pw);
        }
        stderr.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    if !stderr.trim().is_empty() {
        result.insert("stderr".into(), stderr.trim_end().to_string().into());
    }
    result
}

fn header(t: &UserTask) -> String {
    format!("user {}", t.name)
}

fn remove(t: &UserTask, mut result: Map) -> Plan {
    let mut cmd = String::from("userdel");
    if t.force {
        cmd.push_str(" -f");
    }
    if t.remove {
        cmd.push_str(" -r");
    }
    result.insert("force".into(), t.force.into());
    result.insert("remove".into(), t.remove.into());
    let step = Step::script(format!("{cmd} -- {}\n", quote(&t.name)));
    Plan::change(vec![step], result).with_diff(Diff::new(
        &header(t),
        "state: present\n",
        "state: absent\n",
    ))
}

fn create(t: &UserTask, f: &UserFacts, mut result: Map) -> Result<Plan, TaskError> {
    let mut args: Vec<String> = Vec::new();
    let mut after = String::from("state: present\n");
    if let Some(uid) = t.uid {
        args.extend(["-u".into(), uid.to_string()]);
        if t.non_unique {
            args.push("-o".into());
        }
        after.push_str(&format!("uid: {uid}\n"));
    }
    if let Some(g) = &t.group {
        let group = f.group(g).ok_or_else(|| missing_group(g))?;
        args.extend(["-g".into(), g.clone()]);
        after.push_str(&format!("group: {}\n", group.name));
    } else if f.group(&t.name).is_some() {
        // useradd would try to make the user's own group and fail: join
        // the default group instead, as Ansible does.
        args.push("-N".into());
    }
    if let Some(groups) = t.groups.as_ref().filter(|g| !g.is_empty()) {
        let names = resolve(f, groups)?;
        args.extend(["-G".into(), groups.join(",")]);
        after.push_str(&format!("groups: {}\n", names.join(",")));
    }
    for (flag, key, value) in [
        ("-c", "comment", &t.comment),
        ("-d", "home", &t.home),
        ("-s", "shell", &t.shell),
    ] {
        if let Some(v) = value {
            args.extend([flag.into(), v.clone()]);
            after.push_str(&format!("{key}: {v}\n"));
        }
    }
    if t.create_home {
        args.push("-m".into());
        if let Some(skel) = &t.skeleton {
            args.extend(["-k".into(), skel.clone()]);
        }
        if let Some(umask) = &t.umask {
            args.extend(["-K".into(), format!("UMASK={umask}")]);
        }
    } else {
        args.push("-M".into());
    }
    if t.system {
        args.push("-r".into());
        after.push_str("system: true\n");
    }
    let n = quote(&t.name);
    let mut script = String::from("set -e\n");
    if let (Some(home), true) = (&t.home, t.create_home) {
        // useradd makes the home directory but not its parents.
        script.push_str(&format!("mkdir -p -- \"$(dirname -- {})\"\n", quote(home)));
    }
    script.push_str(&format!("useradd {} -- {n}\n", words(&args)));
    let mut stdin = None;
    if let Some(pw) = &t.password {
        stdin = Some(password_line(
            t,
            pw,
            t.password_lock.unwrap_or(pw.starts_with('!')),
        ));
        script.push_str("chpasswd -e\n");
        after.push_str(&format!("password: {MASK}\n"));
    } else if t.password_lock == Some(true) {
        script.push_str(&format!("usermod -L -- {n}\n"));
    }
    if t.password_lock == Some(true) {
        after.push_str("password_lock: locked\n");
    }
    script.push_str(&final_line(&t.name));
    result.insert("system".into(), t.system.into());
    result.insert("create_home".into(), t.create_home.into());
    insert_wanted(&mut result, t);
    let mut step = Step::script(script);
    if let Some(input) = stdin {
        step = step.with_stdin(input);
    }
    Ok(Plan::change(vec![step], result).with_diff(Diff::new(&header(t), "state: absent\n", after)))
}

fn modify(t: &UserTask, f: &UserFacts, cur: &Passwd, mut result: Map) -> Result<Plan, TaskError> {
    let mut args: Vec<String> = Vec::new();
    let (mut before, mut after) = (String::new(), String::new());
    let mut line = |key: &str, b: &str, a: &str| {
        before.push_str(&format!("{key}: {b}\n"));
        after.push_str(&format!("{key}: {a}\n"));
    };
    let mut now = cur.clone();
    if let Some(uid) = t.uid.filter(|u| *u != cur.uid) {
        args.extend(["-u".into(), uid.to_string()]);
        if t.non_unique {
            args.push("-o".into());
        }
        line("uid", &cur.uid.to_string(), &uid.to_string());
        now.uid = uid;
    }
    if let Some(g) = &t.group {
        let group = f.group(g).ok_or_else(|| missing_group(g))?;
        if group.gid != cur.gid {
            args.extend(["-g".into(), group.gid.to_string()]);
            line("group", &f.group_name(cur.gid), &group.name);
            now.gid = group.gid;
        }
    }
    if let Some(groups) = &t.groups {
        let current = f.membership(&t.name);
        let wanted = resolve(f, groups)?;
        let missing: Vec<&String> = wanted.iter().filter(|w| !current.contains(w)).collect();
        let extra = current.iter().any(|c| !wanted.contains(c));
        let new = if t.append {
            (!missing.is_empty()).then(|| {
                let mut all = current.clone();
                all.extend(missing.iter().map(|m| m.to_string()));
                (vec!["-a".to_string(), "-G".into(), wanted.join(",")], all)
            })
        } else {
            (!missing.is_empty() || extra).then(|| (vec!["-G".into(), wanted.join(",")], wanted))
        };
        if let Some((flags, all)) = new {
            args.extend(flags);
            line("groups", &current.join(","), &all.join(","));
        }
    }
    for (flag, key, want, have) in [
        ("-c", "comment", &t.comment, &mut now.comment),
        ("-d", "home", &t.home, &mut now.home),
        ("-s", "shell", &t.shell, &mut now.shell),
    ] {
        if let Some(v) = want.as_ref().filter(|v| v.as_str() != have.as_str()) {
            args.extend([flag.into(), v.clone()]);
            if flag == "-d" && t.move_home {
                args.push("-m".into());
            }
            line(key, have, v);
            *have = v.clone();
        }
    }
    let stdin = password(t, f, &mut args, &mut line)?;
    let mut script = String::from("set -e\n");
    let n = quote(&t.name);
    if !args.is_empty() {
        script.push_str(&format!("usermod {} -- {n}\n", words(&args)));
    }
    if stdin.is_some() {
        script.push_str("chpasswd -e\n");
    }
    // As Ansible: a missing home directory is made whenever create_home is
    // on, unless usermod just moved the old one there.
    let exists = if t.home.is_some() {
        f.want_home_exists
    } else {
        f.home_exists
    };
    let moved = t.move_home && now.home != cur.home && f.home_exists;
    if t.create_home && !exists && !moved {
        script.push_str(&make_home(&t.name, &now.home, t.skeleton.as_deref()));
        line("home_dir", "absent", "present");
    }
    result.insert("append".into(), t.append.into());
    result.insert("move_home".into(), t.move_home.into());
    insert_passwd(&mut result, &now);
    insert_wanted(&mut result, t);
    if before.is_empty() {
        return Ok(Plan::unchanged(result));
    }
    let mut step = Step::script(script);
    if let Some(input) = stdin {
        step = step.with_stdin(input);
    }
    Ok(Plan::change(vec![step], result).with_diff(Diff::new(&header(t), before, after)))
}

/// Adds the usermod flags for `password` and `password_lock`; returns the
/// `chpasswd -e` input when the hash changes.
fn password(
    t: &UserTask,
    f: &UserFacts,
    args: &mut Vec<String>,
    line: &mut dyn FnMut(&str, &str, &str),
) -> Result<Option<Vec<u8>>, TaskError> {
    let wanted = t.password.as_ref().filter(|_| t.update_password);
    if wanted.is_none() && t.password_lock.is_none() {
        return Ok(None);
    }
    let Some(sh) = &f.shadow else {
        return Err(TaskError::new(format!(
            "cannot read the shadow entry of user {} to compare its password (become: true is needed)",
            t.name
        )));
    };
    let lock_word = |locked: bool| if locked { "locked" } else { "unlocked" };
    if let Some(pw) = wanted.filter(|pw| sha1_hex(pw.trim_start_matches('!').as_bytes()) != sh.sha1)
    {
        // The new hash decides the lock too, as usermod -p does in Ansible.
        let locked = t.password_lock.unwrap_or(pw.starts_with('!'));
        line("password", MASK, &format!("{MASK} (changed)"));
        if locked != sh.locked {
            line("password_lock", lock_word(sh.locked), lock_word(locked));
        }
        return Ok(Some(password_line(t, pw, locked)));
    }
    match t.password_lock {
        Some(true) if !sh.locked => {
            args.push("-L".into());
            line("password_lock", "unlocked", "locked");
        }
        // A `!` with nothing after it is an account without a password:
        // usermod refuses to unlock it, so there is nothing to unlock.
        Some(false) if sh.locked && !sh.empty => {
            args.push("-U".into());
            line("password_lock", "locked", "unlocked");
        }
        _ => {}
    }
    Ok(None)
}

/// `name:hash` for `chpasswd -e`, with the lock `!` when wanted. A hash
/// that is only `!`s is set as given: taking them off would leave an
/// account without a password.
fn password_line(t: &UserTask, pw: &str, locked: bool) -> Vec<u8> {
    let hash = pw.trim_start_matches('!');
    let field = match (hash.is_empty(), locked) {
        (true, _) => pw.to_string(),
        (false, true) => format!("!{hash}"),
        (false, false) => hash.to_string(),
    };
    format!("{}:{field}\n", t.name).into_bytes()
}

/// Makes a missing home directory as Ansible does: a copy of the skeleton
/// (or an empty directory), owned by the user, with login.defs' HOME_MODE
/// or the mode its UMASK leaves.
fn make_home(name: &str, home: &str, skel: Option<&str>) -> String {
    format!(
        "h={}\nmkdir -p -- \"$(dirname -- \"$h\")\"\n\
         if [ -d {skel} ]; then cp -R -P -p -- {skel} \"$h\"; else mkdir -- \"$h\"; fi\n\
         chown -R -- {}: \"$h\"\n\
         m=$(sed -n 's/^HOME_MODE[[:space:]]\\{{1,\\}}\\([0-7]\\{{1,4\\}}\\)[[:space:]]*$/\\1/p' /etc/login.defs 2>/dev/null | head -n1)\n\
         if [ -z \"$m\" ]; then\n\
         \x20 u=$(sed -n 's/^UMASK[[:space:]]\\{{1,\\}}\\([0-7]\\{{1,4\\}}\\)[[:space:]]*$/\\1/p' /etc/login.defs 2>/dev/null | tail -n1)\n\
         \x20 m=$(printf '%o' $((0777 & ~0${{u:-022}})))\n\
         fi\n\
         chmod \"$m\" \"$h\"\n",
        quote(home),
        quote(name),
        skel = quote(skel.unwrap_or("/etc/skel")),
    )
}

/// The names of `groups` (given as names or gids); each must exist.
fn resolve(f: &UserFacts, groups: &[String]) -> Result<Vec<String>, TaskError> {
    let mut names: Vec<String> = Vec::new();
    for g in groups {
        let name = f.group(g).ok_or_else(|| missing_group(g))?.name.clone();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

fn missing_group(g: &str) -> TaskError {
    TaskError::new(format!("Group {g} does not exist"))
}

fn words(args: &[String]) -> String {
    args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

fn final_line(name: &str) -> String {
    format!(
        "printf 'final %s\\n' \"$(getent passwd -- {})\"\n",
        quote(name)
    )
}

fn insert_passwd(result: &mut Map, pw: &Passwd) {
    result.insert("uid".into(), pw.uid.into());
    result.insert("group".into(), pw.gid.into());
    result.insert("comment".into(), pw.comment.clone().into());
    result.insert("home".into(), pw.home.clone().into());
    result.insert("shell".into(), pw.shell.clone().into());
}

/// The fields Ansible returns from the parameters themselves.
fn insert_wanted(result: &mut Map, t: &UserTask) {
    if let Some(groups) = &t.groups {
        result.insert("groups".into(), Value::String(groups.join(",")));
    }
}
