//! What systemd says about one unit, shared by `service`, `systemd` and
//! `systemd_unit`: the read-only probe that asks it and the parser of the
//! answer.
//!
//! The probe is one `systemctl show NAME -p ...` for the unit's state, plus,
//! for a task that manages enablement or masking, `systemctl is-enabled`
//! on the unit's real name (`Id`): `show`'s `UnitFileState` is cached by
//! systemd until the next daemon-reload, so a symlink removed by hand
//! would go unnoticed, while `is-enabled` reads the disk as Ansible does.
//! `daemon_reload` adds a look at what systemd has not read yet (see
//! [`reload_script`]). Each `systemctl` costs the host about 4 ms of CPU,
//! its own and systemd's: a probe asks only what its task reads.
//! What the host prints is untrusted: anything unexpected is an error.

pub(crate) mod control;
pub(crate) mod unit_file;

use crate::shell::quote;
use crate::{Map, Observed, TaskError, Value};

/// The properties the probe asks for; they become the result's `status`.
const PROPERTIES: &[&str] = &[
    "Id",
    "Names",
    "Description",
    "LoadState",
    "LoadError",
    "ActiveState",
    "SubState",
    "UnitFileState",
    "UnitFilePreset",
    "FragmentPath",
    "NeedDaemonReload",
    "Type",
    "RemainAfterExit",
    "Result",
    "MainPID",
    "CanReload",
    "ActiveEnterTimestamp",
];

/// A unit as the probe saw it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct UnitState {
    /// `systemctl show`'s properties, in the order it printed them.
    pub props: Map,
    /// What `systemctl is-enabled` printed (`enabled`, `static`, `masked`,
    /// ...); `None` when it printed nothing (no unit file), or was not
    /// asked (see [`Ask`]).
    pub is_enabled: Option<String>,
    /// `systemctl status`'s lines, asked for after a change when the unit
    /// is `failed` (see [`Ask::status_if_failed`]).
    pub status: Option<String>,
}

impl UnitState {
    pub fn prop(&self, key: &str) -> &str {
        self.props.get(key).and_then(Value::as_str).unwrap_or("")
    }

    /// Whether systemd knows the unit at all (Ansible's `found`).
    pub fn found(&self) -> bool {
        self.prop("LoadState") != "not-found"
    }

    /// Ansible's `is_running_service`.
    pub fn running(&self) -> bool {
        matches!(self.prop("ActiveState"), "active" | "activating")
    }

    /// Ansible's reading of `is-enabled`: exit code 0 means enabled, except
    /// for `enabled-runtime`, `indirect` and `alias`.
    pub fn enabled(&self) -> bool {
        matches!(
            self.is_enabled.as_deref(),
            Some("enabled" | "static" | "generated" | "transient")
        )
    }

    /// A state `systemctl enable`/`disable` cannot change: there is no
    /// `[Install]` section to act on.
    pub fn fixed_enablement(&self) -> bool {
        matches!(
            self.is_enabled.as_deref(),
            Some("static" | "generated" | "transient")
        )
    }

    pub fn masked(&self) -> bool {
        self.is_enabled.as_deref() == Some("masked")
    }

    /// A `Type=oneshot` service without `RemainAfterExit`: it is never
    /// `active`; once started and done it is `inactive` again.
    pub fn oneshot(&self) -> bool {
        self.prop("Type") == "oneshot" && self.prop("RemainAfterExit") != "yes"
    }

    /// How the `enabled` line of a diff shows the current state.
    pub fn enabled_word(&self) -> &str {
        match self.is_enabled.as_deref() {
            Some(word) if !word.is_empty() => word,
            _ if self.found() => "disabled",
            _ => "not-found",
        }
    }
}

/// What a unit probe asks beyond `systemctl show`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ask {
    /// `systemctl is-enabled`: for a task that reads enablement or masking.
    pub is_enabled: bool,
    /// `systemctl status` when the unit is `failed`: after a change, so
    /// that the error for a unit that did not stay up shows why.
    pub status_if_failed: bool,
}

/// Probe sections (`== unit`, then `== is-enabled` and `== status` when
/// asked) describing unit `name`.
pub(crate) fn probe_script(name: &str, ask: Ask) -> String {
    let props = PROPERTIES.join(",");
    let nl = "\n";
    let mut more = String::new();
    if ask.is_enabled {
        more.push_str(&format!(
            "\x20 case $o in Id=*) id=${{o#Id=}} ;; *\"{nl}Id=\"*) id=${{o#*\"{nl}Id=\"}} ;; *) id= ;; esac\n\
             \x20 id=${{id%%\"{nl}\"*}}\n\
             \x20 echo '== is-enabled'\n\
             \x20 systemctl is-enabled -- \"${{id:-$n}}\" 2>/dev/null || true\n"
        ));
    }
    if ask.status_if_failed {
        // Base64: what the unit logged could hold a line like `== x`.
        more.push_str(&format!(
            "\x20 case \"{nl}$o{nl}\" in *\"{nl}ActiveState=failed{nl}\"*) printf '== status\\n%s\\n' \"$(systemctl status --no-pager -l -n 20 -- \"$n\" 2>&1 | head -c {MAX_STATUS} | base64 -w0)\" ;; esac\n"
        ));
    }
    format!(
        "{COSTLY}echo '== unit'\n\
         n={q}\n\
         if ! command -v systemctl >/dev/null 2>&1; then echo no-systemctl\n\
         elif o=$(systemctl show --no-pager -p {props} -- \"$n\" 2>/dev/null); then\n\
         \x20 printf '%s\\n' \"$o\"\n\
         {more}\
         else\n\
         \x20 printf 'error %s\\n' \"$(systemctl show --no-pager -p Id -- \"$n\" 2>&1 >/dev/null | head -c 2000 | base64 -w0)\"\n\
         fi\n",
        q = quote(name),
        COSTLY = crate::probe::COSTLY,
    )
}

/// The most of `systemctl status` a probe brings back.
const MAX_STATUS: usize = 4000;

/// The probe section (`== reload`) saying what systemd has not read yet:
/// the paths modified after systemd last loaded its units (`file PATH` or
/// `dir PATH`; a directory's mtime is all a deleted file leaves) under the
/// unit directories, the generator directories, and the files the stock
/// generators read (`fstab`, `crypttab`, SysV scripts, `rc.local`); then
/// `end`. One `find` and one `tr`: the probe runs before every change of a
/// unit, and each process costs. The task's own unit adds its
/// `NeedDaemonReload`. Asking every loaded unit for its `NeedDaemonReload`
/// would catch a file written with an old mtime too, but costs a fifth of
/// a second per host on every run (`systemctl show '*'`), for a case
/// `find` misses only when mtimes are forged.
///
/// When systemd last loaded its units: each load (boot, daemon-reload,
/// daemon-reexec) first deletes [`GENERATED`] and has the generators
/// write it anew, then reads the units, so the directory's mtime is at or
/// a little before the load. `find -newer` it, without a `systemctl`
/// process. A file written in between counts as unread: one reload too
/// many, never one too few. Where it is missing (no generator wrote
/// anything), `UnitsLoadTimestamp` says when.
pub(crate) fn reload_script() -> String {
    let mut s = String::from(crate::probe::COSTLY);
    s.push_str(&format!(
    "echo '== reload'\n\
     if command -v systemctl >/dev/null 2>&1; then\n\
     \x20 d='/etc/systemd/system /run/systemd/system /usr/local/lib/systemd/system /usr/lib/systemd/system' &&\n\
     \x20 d=\"$d /etc/systemd/system-generators /usr/local/lib/systemd/system-generators /usr/lib/systemd/system-generators\" &&\n\
     \x20 d=\"$d /etc/fstab /etc/crypttab /etc/veritytab /etc/integritytab /etc/init.d /etc/rc.local\" &&\n\
     \x20 {{ [ -L /lib ] || d=\"$d /lib/systemd/system /lib/systemd/system-generators\"; }} &&\n\
     \x20 if [ -d {GENERATED} ]; then w=-newer t={GENERATED}; else\n\
     \x20   w=-newermt t=$(systemctl show --timestamp=us+utc -p UnitsLoadTimestamp --value 2>/dev/null || true); fi &&\n\
     \x20 if [ -n \"$t\" ]; then find $d \"$w\" \"$t\" \\( \\( -type d -printf 'dir %p\\0' \\) -o -printf 'file %p\\0' \\) 2>/dev/null | tr '\\n\\0' '?\\n'; fi &&\n\
     \x20 echo end\n\
     else echo no-systemctl; fi\n",
    ));
    s
}

/// The directory systemd's generators write into, made anew at each load
/// of the units.
const GENERATED: &str = "/run/systemd/generator";

/// The most paths a [`Pending`] names.
const MAX_PENDING_PATHS: usize = 5;

/// What systemd has not read yet, from the `reload` section.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Pending {
    pub units: Vec<String>,
    pub files: Vec<String>,
}

impl Pending {
    pub fn any(&self) -> bool {
        !self.units.is_empty() || !self.files.is_empty()
    }

    /// For a diff line: the units, then the paths.
    pub fn describe(&self) -> String {
        let all: Vec<&str> = self
            .units
            .iter()
            .chain(&self.files)
            .map(String::as_str)
            .collect();
        all.join(", ")
    }
}

/// A probe's output split at its `== name` lines.
pub(crate) struct Sections(Vec<(String, String)>);

impl Sections {
    pub fn parse(observed: Option<&Observed>) -> Result<Sections, TaskError> {
        crate::probe::sections(observed, "unit").map(Sections)
    }

    /// The body of section `name`, `None` when it is missing.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_str())
    }

    pub fn body(&self, name: &str) -> Result<&str, TaskError> {
        self.get(name)
            .ok_or_else(|| bad(format!("no '{name}' section")))
    }

    /// The unit described by the `unit` section, and the `is-enabled` and
    /// `status` sections where the probe asked for them.
    pub fn unit(&self, name: &str) -> Result<UnitState, TaskError> {
        let body = self.body("unit")?;
        let first = body.lines().next().unwrap_or("");
        if first == "no-systemctl" {
            return Err(no_systemctl());
        }
        if let Some(encoded) = first.strip_prefix("error ") {
            let why = crate::probe::decode(encoded)?;
            return Err(TaskError::new(format!(
                "systemctl show {name} failed: {}",
                String::from_utf8_lossy(&why).trim()
            )));
        }
        let mut props = Map::new();
        for line in body.lines().filter(|l| !l.is_empty()) {
            let (key, value) = line
                .split_once('=')
                .filter(|(k, _)| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric()))
                .ok_or_else(|| bad(format!("unexpected line from systemctl show: {line:?}")))?;
            props.insert(key.to_string(), Value::String(value.to_string()));
        }
        for key in ["LoadState", "ActiveState"] {
            if !props.contains_key(key) {
                return Err(bad(format!("systemctl show printed no {key}")));
            }
        }
        let words: Vec<&str> = self
            .get("is-enabled")
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let is_enabled = match words[..] {
            [] => None,
            [word] if word.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') => {
                Some(word.to_string())
            }
            _ => return Err(bad(format!("unexpected is-enabled answer {words:?}"))),
        };
        let status = match self.get("status") {
            Some(encoded) => Some(
                String::from_utf8_lossy(&crate::probe::decode(encoded)?)
                    .trim_end()
                    .to_string(),
            ),
            None => None,
        };
        Ok(UnitState {
            props,
            is_enabled,
            status,
        })
    }

    /// What systemd has not read yet, from the `reload` section.
    pub fn reload(&self) -> Result<Pending, TaskError> {
        let mut pending = Pending::default();
        let mut dirs = Vec::new();
        let mut ended = false;
        for line in self.body("reload")?.lines() {
            let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
            match (tag, rest.is_empty() || ended) {
                ("no-systemctl", _) => return Err(no_systemctl()),
                ("end", true) if !ended => ended = true,
                ("unit", false) => pending.units.push(rest.to_string()),
                ("file", false) => pending.files.push(rest.to_string()),
                ("dir", false) => dirs.push(rest.to_string()),
                _ => return Err(bad(format!("unexpected line {line:?} in the reload list"))),
            }
        }
        if !ended {
            return Err(bad("the list of units to reload is incomplete".into()));
        }
        // A few paths tell the reader why; files first, as they say more.
        pending.files.extend(dirs);
        pending.files.truncate(MAX_PENDING_PATHS);
        Ok(pending)
    }
}

fn no_systemctl() -> TaskError {
    TaskError::new(
        "systemctl was not found on the host: tend manages services through systemd only",
    )
}

fn bad(what: String) -> TaskError {
    TaskError::new(format!(
        "could not read the host's answer to the unit probe: {}",
        crate::clip(&what)
    ))
}

#[cfg(test)]
pub(crate) mod testing {
    //! Probe answers for the tests of the modules that use units.
    use crate::Observed;

    /// A probe answer: `systemctl show`'s lines, then `is-enabled`'s word.
    pub fn unit(show: &str, is_enabled: &str) -> String {
        format!("== unit\nId=app.service\nLoadError=\n{show}\n== is-enabled\n{is_enabled}\n")
    }

    pub const RUNNING: &str =
        "LoadState=loaded\nActiveState=active\nSubState=running\nNeedDaemonReload=no\nType=simple";
    pub const STOPPED: &str =
        "LoadState=loaded\nActiveState=inactive\nSubState=dead\nNeedDaemonReload=no\nType=simple";
    pub const MISSING: &str =
        "LoadState=not-found\nActiveState=inactive\nSubState=dead\nNeedDaemonReload=no";

    pub fn observed(text: &str) -> Observed {
        Observed {
            stdout: text.as_bytes().to_vec(),
            ..Observed::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    fn parse(text: &str) -> Result<UnitState, String> {
        Sections::parse(Some(&observed(text)))
            .and_then(|s| s.unit("app"))
            .map_err(|e| e.msg)
    }

    #[test]
    fn reads_show_and_is_enabled() {
        let u = parse(&unit(RUNNING, "enabled")).unwrap();
        assert!(u.found() && u.running() && u.enabled() && !u.masked());
        assert_eq!(u.prop("SubState"), "running");
        assert_eq!(u.props["Id"], "app.service");
        let u = parse(&unit(MISSING, "")).unwrap();
        assert!(!u.found() && !u.running() && !u.enabled());
        assert_eq!(
            (u.is_enabled.as_deref(), u.enabled_word()),
            (None, "not-found")
        );
        let u = parse(&unit(STOPPED, "static")).unwrap();
        assert!(u.enabled() && u.fixed_enablement());
        for word in ["indirect", "alias", "enabled-runtime", "disabled", "masked"] {
            assert!(!parse(&unit(STOPPED, word)).unwrap().enabled(), "{word}");
        }
    }

    const ALL: Ask = Ask {
        is_enabled: true,
        status_if_failed: true,
    };

    #[test]
    fn probe_asks_one_show_and_is_enabled_on_the_real_name() {
        let p = probe_script("my app", ALL);
        assert_eq!(
            p.matches("systemctl show").count(),
            2,
            "one on success, one for the error"
        );
        assert!(p.contains("-p Id,Names,"), "{p}");
        assert!(p.contains("n='my app'\n"), "{p}");
        assert!(p.contains("is-enabled -- \"${id:-$n}\""), "{p}");
        let plain = probe_script("my app", Ask::default());
        assert!(!plain.contains("is-enabled") && !plain.contains("systemctl status"));
    }

    #[test]
    fn a_unit_without_is_enabled_was_not_asked_about_it() {
        let u = parse("== unit\nLoadState=loaded\nActiveState=active\n").unwrap();
        assert!(u.running() && u.is_enabled.is_none() && u.status.is_none());
    }

    #[test]
    fn a_failed_unit_brings_its_status_lines_back_whatever_they_hold() {
        // A shell function stands in for systemctl.
        let run = |active: &str| {
            let fake = format!(
                "systemctl() {{ case $1 in show) printf 'Id=web.service\\nLoadState=loaded\\nActiveState={active}\\n' ;; is-enabled) echo enabled ;; status) printf '%s\\n' '* web.service' '== not a section' 'Main process exited, code=exited, status=1/FAILURE' ;; esac; }}\n"
            );
            let out =
                crate::content::testing::sh(&format!("{fake}{}", probe_script("web", ALL)), None);
            Sections::parse(Some(&observed(&String::from_utf8_lossy(&out.stdout))))
                .and_then(|s| s.unit("web"))
                .unwrap()
        };
        let failed = run("failed");
        assert_eq!(failed.is_enabled.as_deref(), Some("enabled"));
        assert_eq!(
            failed.status.as_deref(),
            Some(
                "* web.service\n== not a section\nMain process exited, code=exited, status=1/FAILURE"
            )
        );
        assert_eq!(run("active").status, None);
        assert_eq!(run("inactive").status, None);
    }

    #[test]
    fn host_errors_and_garbage() {
        let e = parse("== unit\nno-systemctl\n").unwrap_err();
        assert!(e.contains("systemctl was not found"), "{e}");
        let e = parse("== unit\nerror U3lzdGVtIGhhcyBub3QgYmVlbiBib290ZWQ=\n").unwrap_err();
        assert_eq!(e, "systemctl show app failed: System has not been booted");
        for junk in [
            "",
            "garbage\n",
            "== unit\nLoadState=loaded\n== is-enabled\nenabled\n",
            "== unit\nnot a property\n== is-enabled\n\n",
            "== unit\nLoadState=loaded\nActiveState=active\n== status\n!!\n",
            "== unit\nLoadState=loaded\nActiveState=active\n== is-enabled\nen abled\n",
            "== unit\nLoadState=loaded\nActiveState=active\n== is-enabled\n<b>\n",
        ] {
            assert!(parse(junk).is_err(), "{junk:?}");
        }
        let failed = Observed {
            rc: 2,
            stderr: b"boom".to_vec(),
            ..Observed::default()
        };
        assert!(Sections::parse(Some(&failed)).is_err());
        assert!(Sections::parse(None).is_err());
    }

    #[test]
    fn reload_list() {
        let s = |t: &str| Sections::parse(Some(&observed(t))).unwrap().reload();
        assert_eq!(s("== reload\nend\n").unwrap(), Pending::default());
        assert!(!s("== reload\nend\n").unwrap().any());
        let p = s("== reload\nunit a.service\nunit b.timer\nfile /etc/systemd/system/a.service.d/x.conf\nend\n").unwrap();
        assert!(p.any());
        assert_eq!(p.units, ["a.service", "b.timer"]);
        assert_eq!(
            p.describe(),
            "a.service, b.timer, /etc/systemd/system/a.service.d/x.conf"
        );
        assert!(
            s("== reload\nunit a.service\n").is_err(),
            "no end: cut short"
        );
        for junk in [
            "foo\nend",
            "unit\nend",
            "end\nend",
            "end\nunit a",
            "no-systemctl",
        ] {
            assert!(s(&format!("== reload\n{junk}\n")).is_err(), "{junk}");
        }
        assert!(s("== unit\n").is_err());
    }

    #[test]
    fn is_enabled_asks_about_the_id_wherever_show_prints_it() {
        for (show, asked) in [
            ("Id=app.service\nLoadState=loaded", "app.service"),
            (
                "Names=app.service web.service\nId=web.service\nLoadState=loaded",
                "web.service",
            ),
            ("LoadState=loaded\nId=a.service", "a.service"),
            ("LoadState=loaded\nXId=b.service", "web"),
        ] {
            // A shell function stands in for systemctl; `show`'s lines
            // are quoted as they are, newlines and all.
            let fake = format!(
                "systemctl() {{ case $1 in show) printf '%s\\n' '{show}' ;; is-enabled) echo \"asked $3\" ;; esac; }}\n"
            );
            let out =
                crate::content::testing::sh(&format!("{fake}{}", probe_script("web", ALL)), None);
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains(&format!("== is-enabled\nasked {asked}\n")),
                "{show:?}: {text}"
            );
        }
    }

    #[test]
    fn the_reload_list_puts_files_before_directories_and_names_a_few() {
        let mut text = String::from("== reload\n");
        for i in 0..4 {
            text.push_str(&format!(
                "dir /etc/systemd/system/d{i}\nfile /etc/systemd/system/f{i}.service\n"
            ));
        }
        text.push_str("end\n");
        let pending = Sections::parse(Some(&observed(&text)))
            .unwrap()
            .reload()
            .unwrap();
        assert_eq!(pending.files.len(), MAX_PENDING_PATHS);
        assert_eq!(pending.files[3], "/etc/systemd/system/f3.service");
        assert_eq!(pending.files[4], "/etc/systemd/system/d0");
    }

    #[test]
    fn the_reload_list_names_only_what_is_newer_than_the_last_load() {
        let list = |script: String| {
            let out = crate::content::testing::sh(&script, None);
            Sections::parse(Some(&observed(&String::from_utf8_lossy(&out.stdout))))
                .unwrap()
                .reload()
                .unwrap()
        };
        // The units were "loaded" tomorrow: nothing on this machine is
        // newer; and a century ago: everything under /etc/systemd/system is.
        let system = std::path::Path::new("/etc/systemd/system").is_dir();
        // From the generators' directory, here a stand-in with that mtime.
        let dir = std::env::temp_dir().join(format!("tend-generated-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let from_dir = |days: i32| {
            let touched = std::process::Command::new("touch")
                .arg("-d")
                .arg(format!("{days} days"))
                .arg(&dir)
                .status()
                .unwrap();
            assert!(touched.success());
            list(reload_script().replace(GENERATED, &dir.display().to_string()))
        };
        assert_eq!(from_dir(1), Pending::default());
        if system {
            let all = from_dir(-36500).files;
            assert!(!all.is_empty() && all.len() <= MAX_PENDING_PATHS, "{all:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
        // Without that directory, from systemctl's UnitsLoadTimestamp.
        let from_systemctl = |days: i32| {
            let fake = format!(
                "systemctl() {{ date -u -d '{days} days' '+%a %Y-%m-%d %H:%M:%S UTC'; }}\n"
            );
            let script = reload_script().replace(GENERATED, "/nonexistent/tend-generated");
            list(format!("{fake}{script}"))
        };
        assert_eq!(from_systemctl(1), Pending::default());
        if system {
            let all = from_systemctl(-36500).files;
            assert!(!all.is_empty() && all.len() <= MAX_PENDING_PATHS, "{all:?}");
        }
    }

    #[test]
    fn the_probe_runs_in_sh_without_systemctl() {
        // Whatever this machine has, the script is valid sh and prints its
        // sections; without systemd it says so instead of failing.
        let out = crate::content::testing::sh(
            &format!(
                "{}{}",
                probe_script("nosuch-tend-unit", ALL),
                reload_script()
            ),
            None,
        );
        assert_eq!(out.rc, 0, "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("== unit\n"), "{text}");
        assert!(text.contains("== reload\n"), "{text}");
    }
}
