//! What `user` and `group` read from a host: passwd and group entries from
//! `getent`, a fingerprint of the shadow entry, and whether home directories
//! exist. One read-only script per task; its output is tagged lines ending
//! in `end`, so a cut-short answer is an error, not an empty database.
//!
//! The password hash never leaves the host: the probe prints the SHA-1 of
//! the hash (without its lock `!`s), and the plan compares it with the SHA-1
//! of the wanted hash.

use crate::TaskError;
use crate::shell::quote;

/// A `getent passwd` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Passwd {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub comment: String,
    pub home: String,
    pub shell: String,
}

/// A `getent group` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// The shadow password field, as the probe summarises it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shadow {
    /// The field starts with `!` (`usermod -L`).
    pub locked: bool,
    /// Nothing is left once the `!`s are taken off (`!` alone: no password).
    pub empty: bool,
    /// SHA-1 of the field without its leading `!`s.
    pub sha1: String,
}

/// Everything the user probe printed.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct UserFacts {
    pub passwd: Option<Passwd>,
    /// `None` when the shadow entry could not be read (not root).
    pub shadow: Option<Shadow>,
    /// Whether something exists at the current home directory's path.
    pub home_exists: bool,
    /// Whether something exists at the wanted home's path (when `home` is given).
    pub want_home_exists: bool,
    pub groups: Vec<Group>,
}

impl UserFacts {
    /// The group named `spec`, or numbered `spec` (as Ansible: a number is
    /// tried as a gid first).
    pub fn group(&self, spec: &str) -> Option<&Group> {
        let by_gid = spec
            .parse::<u32>()
            .ok()
            .and_then(|gid| self.groups.iter().find(|g| g.gid == gid));
        by_gid.or_else(|| self.groups.iter().find(|g| g.name == spec))
    }

    /// The name of group `gid`, or the number when it has none.
    pub fn group_name(&self, gid: u32) -> String {
        self.groups
            .iter()
            .find(|g| g.gid == gid)
            .map_or_else(|| gid.to_string(), |g| g.name.clone())
    }

    /// The groups that list `user` as a member, in database order.
    pub fn membership(&self, user: &str) -> Vec<String> {
        self.groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == user))
            .map(|g| g.name.clone())
            .collect()
    }
}

/// Checks a user or group name: it goes into the colon-separated databases
/// and into a comma-separated `-G` list.
pub(crate) fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("{what} name must not be empty"));
    }
    if name.starts_with('-')
        || name
            .chars()
            .any(|c| c == ':' || c == ',' || c.is_whitespace())
    {
        return Err(format!(
            "invalid {what} name '{name}': it must not start with '-' or contain ':', ',' or whitespace"
        ));
    }
    Ok(())
}

/// The probe for user `name`; `home` is the wanted home directory, if given.
pub(crate) fn user_script(name: &str, home: Option<&str>) -> String {
    let mut s = format!(
        "n={}\n\
         if e=$(getent passwd -- \"$n\"); then\n\
         \x20 printf 'passwd %s\\n' \"$e\"\n\
         \x20 h=$(printf '%s\\n' \"$e\" | cut -d: -f6)\n\
         \x20 if [ -e \"$h\" ]; then echo 'homedir yes'; else echo 'homedir no'; fi\n\
         \x20 if s=$(getent shadow -- \"$n\"); then\n\
         \x20   p=$(printf '%s\\n' \"$s\" | cut -d: -f2)\n\
         \x20   case $p in '!'*) l=yes ;; *) l=no ;; esac\n\
         \x20   q=$(printf '%s\\n' \"$p\" | sed 's/^!*//')\n\
         \x20   if [ -n \"$q\" ]; then m=no; else m=yes; fi\n\
         \x20   printf 'shadow %s %s %s\\n' \"$l\" \"$m\" \"$(printf '%s' \"$q\" | sha1sum | cut -d' ' -f1)\"\n\
         \x20 fi\n\
         else\n\
         \x20 r=$?\n\
         \x20 if [ \"$r\" != 2 ]; then echo \"getent passwd failed with exit code $r\" >&2; exit 3; fi\n\
         \x20 echo 'passwd-absent'\n\
         fi\n",
        quote(name)
    );
    if let Some(home) = home {
        s.push_str(&format!(
            "if [ -e {0} ]; then echo 'wanthome yes'; else echo 'wanthome no'; fi\n",
            quote(home)
        ));
    }
    s.push_str(
        "g=$(getent group) || { echo 'getent group failed' >&2; exit 3; }\n\
         printf '%s\\n' \"$g\" | sed 's/^/group /'\n\
         echo end\n",
    );
    s
}

/// The probe for group `name`.
pub(crate) fn group_script(name: &str) -> String {
    format!(
        "n={}\n\
         if e=$(getent group -- \"$n\"); then printf 'group %s\\n' \"$e\"\n\
         else\n\
         \x20 r=$?\n\
         \x20 if [ \"$r\" != 2 ]; then echo \"getent group failed with exit code $r\" >&2; exit 3; fi\n\
         fi\n\
         echo end\n",
        quote(name)
    )
}

/// Parses what `user_script` printed about user `name`.
pub(crate) fn parse_user(name: &str, out: &[u8]) -> Result<UserFacts, TaskError> {
    let mut facts = UserFacts::default();
    for (tag, rest) in tagged_lines(out)? {
        match tag {
            "passwd" => {
                let entry = parse_passwd(rest)?;
                // `getent passwd 0` answers for uid 0: a numeric name that
                // is not a user's name is not that user.
                if entry.name == name {
                    facts.passwd = Some(entry);
                }
            }
            "passwd-absent" => {}
            "homedir" => facts.home_exists = yes_no(rest)?,
            "wanthome" => facts.want_home_exists = yes_no(rest)?,
            "shadow" => facts.shadow = Some(parse_shadow(rest)?),
            "group" => facts.groups.push(parse_group(rest)?),
            _ => return Err(bad(&format!("unexpected line {tag:?}"))),
        }
    }
    Ok(facts)
}

/// Parses what `group_script` printed about group `name`.
pub(crate) fn parse_group_probe(name: &str, out: &[u8]) -> Result<Option<Group>, TaskError> {
    let mut found = None;
    for (tag, rest) in tagged_lines(out)? {
        match tag {
            "group" => {
                let g = parse_group(rest)?;
                if g.name == name {
                    found = Some(g);
                }
            }
            _ => return Err(bad(&format!("unexpected line {tag:?}"))),
        }
    }
    Ok(found)
}

/// The `tag rest` lines of a probe's output, which must end with `end`.
fn tagged_lines(out: &[u8]) -> Result<Vec<(&str, &str)>, TaskError> {
    let text = std::str::from_utf8(out).map_err(|_| bad("the output is not UTF-8"))?;
    let mut lines: Vec<&str> = text.lines().collect();
    if lines.pop() != Some("end") {
        return Err(bad("the output is incomplete (no 'end' line)"));
    }
    Ok(lines
        .into_iter()
        .filter(|l| !l.is_empty())
        .map(|l| l.split_once(' ').unwrap_or((l, "")))
        .collect())
}

/// A `getent passwd` line: `name:x:uid:gid:gecos:home:shell`.
pub(crate) fn parse_passwd(line: &str) -> Result<Passwd, TaskError> {
    let f: Vec<&str> = line.split(':').collect();
    let [name, _, uid, gid, comment, home, shell] = f[..] else {
        return Err(bad(&format!("unexpected passwd entry {line:?}")));
    };
    Ok(Passwd {
        name: name.into(),
        uid: id(uid)?,
        gid: id(gid)?,
        comment: comment.into(),
        home: home.into(),
        shell: shell.into(),
    })
}

/// A `getent group` line: `name:x:gid:member,member`.
fn parse_group(line: &str) -> Result<Group, TaskError> {
    let f: Vec<&str> = line.split(':').collect();
    let [name, _, gid, members] = f[..] else {
        return Err(bad(&format!("unexpected group entry {line:?}")));
    };
    Ok(Group {
        name: name.into(),
        gid: id(gid)?,
        members: members
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

fn parse_shadow(rest: &str) -> Result<Shadow, TaskError> {
    let f: Vec<&str> = rest.split(' ').collect();
    let [locked, empty, sha1] = f[..] else {
        return Err(bad(&format!("unexpected shadow line {rest:?}")));
    };
    if sha1.len() != 40 || !sha1.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("the shadow fingerprint is not a SHA-1"));
    }
    Ok(Shadow {
        locked: yes_no(locked)?,
        empty: yes_no(empty)?,
        sha1: sha1.to_ascii_lowercase(),
    })
}

fn yes_no(word: &str) -> Result<bool, TaskError> {
    match word {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(bad(&format!("expected yes or no, got {word:?}"))),
    }
}

fn id(text: &str) -> Result<u32, TaskError> {
    text.parse()
        .map_err(|_| bad(&format!("{text:?} is not a numeric id")))
}

fn bad(what: &str) -> TaskError {
    TaskError::new(format!(
        "could not read the host's account database: {}",
        crate::clip(what)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";

    #[test]
    fn a_user_with_shadow_home_and_groups() {
        let out = format!(
            "passwd app:x:999:997:App:/srv/app:/bin/sh\nhomedir yes\nshadow yes no {SHA}\n\
             wanthome no\ngroup root:x:0:\ngroup sudo:x:27:tester,app\ngroup app:x:997:\nend\n"
        );
        let f = parse_user("app", out.as_bytes()).unwrap();
        let p = f.passwd.as_ref().unwrap();
        assert_eq!((p.uid, p.gid, p.home.as_str()), (999, 997, "/srv/app"));
        assert!(f.home_exists && !f.want_home_exists);
        assert_eq!(
            f.shadow,
            Some(Shadow {
                locked: true,
                empty: false,
                sha1: SHA.into()
            })
        );
        assert_eq!(f.membership("app"), vec!["sudo"]);
        assert_eq!(f.group("997").unwrap().name, "app");
        assert_eq!(f.group("sudo").unwrap().gid, 27);
        assert_eq!(f.group_name(12345), "12345");
    }

    #[test]
    fn a_numeric_name_answered_by_uid_is_not_that_user() {
        let f = parse_user(
            "0",
            b"passwd root:x:0:0:root:/root:/bin/bash\nhomedir yes\nend\n",
        )
        .unwrap();
        assert_eq!(f.passwd, None);
    }

    #[test]
    fn group_probe() {
        let g = parse_group_probe("web", b"group web:x:1500:a,b\nend\n").unwrap();
        assert_eq!(g.unwrap().members, vec!["a", "b"]);
        assert_eq!(parse_group_probe("web", b"end\n").unwrap(), None);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for junk in [
            &b""[..],
            b"passwd-absent\n",
            b"passwd a:x:1:2\nend\n",
            b"passwd a:x:one:2:c:/h:/s\nend\n",
            b"shadow yes no abc\nend\n",
            b"homedir maybe\nend\n",
            b"group g:x:-1:\nend\n",
            b"hello\nend\n",
            b"\xff\nend\n",
        ] {
            assert!(parse_user("a", junk).is_err(), "{junk:?}");
        }
        assert!(parse_group_probe("g", b"group g:x\nend\n").is_err());
        assert!(parse_group_probe("g", b"group g:x:1:\n").is_err());
    }

    #[test]
    fn names() {
        assert!(check_name("user", "app-1.x_y").is_ok());
        for bad in ["", "-x", "a:b", "a,b", "a b", "a\nb"] {
            assert!(check_name("user", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn real_shell_probe_of_root() {
        let out = crate::content::testing::sh(&user_script("root", Some("/")), None);
        assert_eq!(out.rc, 0, "{}", String::from_utf8_lossy(&out.stderr));
        let f = parse_user("root", &out.stdout).unwrap();
        assert_eq!(f.passwd.as_ref().map(|p| p.uid), Some(0));
        assert!(f.want_home_exists);
        assert!(f.group("0").is_some());
        let out = crate::content::testing::sh(&group_script("tend-no-such-group"), None);
        assert_eq!(
            parse_group_probe("tend-no-such-group", &out.stdout).unwrap(),
            None
        );
    }
}
