//! The apt probe: one read-only script that asks dpkg about every package of
//! the task at once (one `dpkg-query` call), apt about candidates (one
//! `apt-cache policy` call, only when installing, and for a plain
//! `present` only when a package is not installed), and how old the
//! package lists are; and the strict parser of what it prints.

use std::collections::BTreeMap;

use super::deb::base64;
use super::request::{Request, State};
use super::steps::STAMP;
use crate::TaskError;
use crate::shell::quote;

/// What dpkg knows of one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    /// dpkg's package state: `installed`, `config-files`, `unpacked`, ...
    pub state: String,
    /// `hold` when the package is held.
    pub want: String,
    pub version: String,
}

impl Status {
    /// Installed and configured (pending triggers do not make it less so).
    pub(crate) fn installed(&self) -> bool {
        matches!(
            self.state.as_str(),
            "installed" | "triggers-pending" | "triggers-awaited"
        )
    }
    /// Removed, but its configuration files are still there.
    pub(crate) fn config_files(&self) -> bool {
        self.state == "config-files"
    }
}

/// What `apt-cache policy` says of one package.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Policy {
    pub candidate: Option<String>,
    /// Every version apt knows, from its version table.
    pub versions: Vec<String>,
}

/// The package file of a `deb:` task, as the host's dpkg-deb read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DebInfo {
    pub package: String,
    pub version: String,
    pub arch: String,
}

/// Everything the probe saw.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Observation {
    /// By package name (without an architecture qualifier).
    pub dpkg: BTreeMap<String, Status>,
    /// By the name apt printed (`foo`, or `foo:i386`); `None` when the
    /// probe did not ask.
    pub policy: Option<BTreeMap<String, Policy>>,
    pub deb: Option<DebInfo>,
    /// `apt-get -s autoremove`: packages and versions it would remove.
    pub autoremove: Vec<(String, String)>,
    /// When the lists were last updated (epoch seconds; 0 if never).
    pub cache_time: i64,
    /// The host's clock.
    pub now: i64,
}

const DPKG_FORMAT: &str = "${Package} ${Status} ${Version}\\n";

/// The probe of `req`. Its sections begin with `== name` lines; each
/// command's exit code follows on an `== name-rc N` line.
pub(crate) fn script(req: &Request) -> String {
    let names: Vec<String> = req.specs.iter().map(|s| quote(&s.query())).collect();
    let names = names.join(" ");
    let mut s = String::from("LC_ALL=C; export LC_ALL\n");
    match &req.deb {
        Some(deb) => {
            // dpkg-deb reads the cut-down package from stdin: nothing is
            // written on the host. Its first word is the package name.
            s.push_str(&format!(
                "info=$(printf %s {} | base64 -d | dpkg-deb --show --showformat='${{Package}} ${{Version}} ${{Architecture}}\\n' /dev/stdin 2>&1)\n\
                 rc=$?\necho '== deb'\nprintf '%s\\n' \"$info\"\necho \"== deb-rc $rc\"\n\
                 echo '== dpkg'\n\
                 if [ \"$rc\" = 0 ]; then set -- $info; dpkg-query -W -f='{DPKG_FORMAT}' -- \"$1\" 2>/dev/null; echo \"== dpkg-rc $?\"; else echo '== dpkg-rc 1'; fi\n",
                base64(&deb.control)
            ));
        }
        None if !names.is_empty() => s.push_str(&format!(
            "d=$(dpkg-query -W -f='{DPKG_FORMAT}' -- {names} 2>/dev/null)\nr=$?\n\
             echo '== dpkg'\nif [ -n \"$d\" ]; then printf '%s\\n' \"$d\"; fi\necho \"== dpkg-rc $r\"\n"
        )),
        None => {}
    }
    if !names.is_empty() && req.state != State::Absent {
        let release = match &req.default_release {
            Some(r) => format!(" -o APT::Default-Release={}", quote(r)),
            None => String::new(),
        };
        let policy = format!(
            "echo '== policy'\napt-cache{release} policy -- {names} 2>/dev/null\necho \"== policy-rc $?\"\n"
        );
        s.push_str(&match policy_only_if_missing(req) {
            // apt-cache loads apt's whole package cache: tens of ms of
            // the host's CPU, for a candidate no installed package needs.
            true => format!(
                "m=\nset -f\nfor n in {names}; do\n\
                 \x20 f=; o=$IFS; IFS='\n'\n\
                 \x20 for l in $d; do case $l in \"$n \"*\" ok installed \"*) f=1 ;; esac; done\n\
                 \x20 IFS=$o; [ -n \"$f\" ] || m=1\n\
                 done\nset +f\n\
                 if [ -n \"$m\" ]; then\n{policy}fi\n"
            ),
            false => policy,
        });
    }
    if req.autoremove && req.cache_only() {
        // A simulation: apt-get -s takes no lock and changes nothing.
        let purge = if req.purge { " --purge" } else { "" };
        s.push_str(&format!(
            "echo '== autoremove'\napt-get -s -q{purge} autoremove 2>&1\necho \"== autoremove-rc $?\"\n"
        ));
    }
    s.push_str(&format!(
        "echo '== cache'\n\
         if [ -e {STAMP} ]; then stat -c %Y {STAMP}\n\
         elif [ -e /var/lib/apt/lists ]; then stat -c %Y /var/lib/apt/lists\nelse echo 0; fi\n\
         date +%s\n"
    ));
    s
}

/// Whether apt's candidates matter only for packages dpkg does not have
/// installed: `present` with no version pin or architecture. The probe
/// then asks `apt-cache policy` only when one is missing.
fn policy_only_if_missing(req: &Request) -> bool {
    req.state == State::Present
        && req.deb.is_none()
        && req
            .specs
            .iter()
            .all(|s| s.pin.is_none() && s.arch.is_none())
}

fn bad(what: impl std::fmt::Display) -> TaskError {
    TaskError::new(format!(
        "could not read the host's answer to the apt probe: {}",
        crate::clip(&what.to_string())
    ))
}

/// Parses what `script` printed.
pub(crate) fn parse(out: &[u8]) -> Result<Observation, TaskError> {
    let text = std::str::from_utf8(out).map_err(|_| bad("output is not UTF-8"))?;
    let mut sections: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut codes: BTreeMap<&str, i32> = BTreeMap::new();
    let mut current: Option<&str> = None;
    for line in text.lines() {
        if let Some(head) = line.strip_prefix("== ") {
            match head.split_once("-rc ") {
                Some((name, rc)) => {
                    let rc = rc
                        .trim()
                        .parse()
                        .map_err(|_| bad(format!("line {line:?}")))?;
                    codes.insert(name, rc);
                    current = None;
                }
                None => {
                    sections.insert(head, Vec::new());
                    current = Some(head);
                }
            }
        } else if let Some(lines) = current.and_then(|c| sections.get_mut(c)) {
            lines.push(line);
        } else if !line.is_empty() {
            return Err(bad(format!("unexpected line {line:?}")));
        }
    }
    let mut obs = Observation::default();
    if let Some(lines) = sections.get("deb") {
        obs.deb = Some(parse_deb(lines, codes.get("deb").copied())?);
    }
    if let Some(lines) = sections.get("dpkg") {
        match codes.get("dpkg") {
            // 1: some package is unknown to dpkg, which is an answer too.
            Some(0 | 1) => {}
            Some(127) => return Err(not_debian("dpkg-query")),
            Some(rc) => return Err(bad(format!("dpkg-query exited with {rc}"))),
            None => return Err(bad("dpkg-query printed no exit code")),
        }
        obs.dpkg = parse_dpkg(lines)?;
    }
    if let Some(lines) = sections.get("policy") {
        match codes.get("policy") {
            Some(0) => {}
            Some(127) => return Err(not_debian("apt-cache")),
            Some(rc) => return Err(bad(format!("apt-cache policy exited with {rc}"))),
            None => return Err(bad("apt-cache policy printed no exit code")),
        }
        obs.policy = Some(parse_policy(lines)?);
    }
    if let Some(lines) = sections.get("autoremove") {
        if codes.get("autoremove") != Some(&0) {
            return Err(TaskError::new(format!(
                "apt-get -s autoremove failed: {}",
                lines.join("\n").trim()
            )));
        }
        obs.autoremove = lines
            .iter()
            .filter(|l| l.starts_with("Remv "))
            .map(|l| parse_remv(l))
            .collect::<Result<_, _>>()?;
    }
    let cache = sections
        .get("cache")
        .ok_or_else(|| bad("no cache section"))?;
    let [time, now] = cache[..] else {
        return Err(bad(format!("cache section {cache:?}")));
    };
    obs.cache_time = time
        .trim()
        .parse()
        .map_err(|_| bad(format!("cache time {time:?}")))?;
    obs.now = now
        .trim()
        .parse()
        .map_err(|_| bad(format!("clock {now:?}")))?;
    Ok(obs)
}

fn not_debian(tool: &str) -> TaskError {
    TaskError::new(format!(
        "{tool} is not installed on the host: the apt module needs a Debian or Ubuntu host"
    ))
}

fn parse_deb(lines: &[&str], rc: Option<i32>) -> Result<DebInfo, TaskError> {
    if rc != Some(0) {
        return Err(TaskError::new(format!(
            "dpkg-deb could not read the package: {}",
            lines.join("\n").trim()
        )));
    }
    match lines.iter().filter(|l| !l.is_empty()).collect::<Vec<_>>()[..] {
        [line] => match line.split(' ').collect::<Vec<_>>()[..] {
            [p, v, a] if !p.is_empty() && !v.is_empty() => Ok(DebInfo {
                package: p.into(),
                version: v.into(),
                arch: a.into(),
            }),
            _ => Err(bad(format!("dpkg-deb line {line:?}"))),
        },
        _ => Err(bad(format!("dpkg-deb printed {lines:?}"))),
    }
}

/// `name want ok state [version]` lines. A name twice (two architectures)
/// keeps the installed one.
fn parse_dpkg(lines: &[&str]) -> Result<BTreeMap<String, Status>, TaskError> {
    let mut out: BTreeMap<String, Status> = BTreeMap::new();
    for line in lines.iter().filter(|l| !l.is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (name, want, state, version) = match words[..] {
            [n, w, _, s] => (n, w, s, ""),
            [n, w, _, s, v] => (n, w, s, v),
            _ => return Err(bad(format!("dpkg-query line {line:?}"))),
        };
        let status = Status {
            state: state.into(),
            want: want.into(),
            version: version.into(),
        };
        match out.get(name) {
            Some(old) if old.installed() => {}
            _ => {
                out.insert(name.into(), status);
            }
        }
    }
    Ok(out)
}

/// `apt-cache policy`: a `name:` line, `Installed:` and `Candidate:`
/// lines, and a version table whose version lines are indented 5 (or
/// marked ` *** `) and whose source lines are indented 8.
fn parse_policy(lines: &[&str]) -> Result<BTreeMap<String, Policy>, TaskError> {
    let mut out: BTreeMap<String, Policy> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in lines.iter().filter(|l| !l.trim().is_empty()) {
        let unexpected = || bad(format!("apt-cache policy line {line:?}"));
        if !line.starts_with(' ') {
            let name = line
                .strip_suffix(':')
                .filter(|n| !n.is_empty() && !n.contains(' '))
                .ok_or_else(unexpected)?;
            out.insert(name.to_string(), Policy::default());
            current = Some(name.to_string());
            continue;
        }
        let policy = current
            .as_ref()
            .and_then(|c| out.get_mut(c))
            .ok_or_else(unexpected)?;
        let trimmed = line.trim();
        if let Some(c) = trimmed.strip_prefix("Candidate:") {
            let c = c.trim();
            policy.candidate = (c != "(none)" && !c.is_empty()).then(|| c.to_string());
        } else if trimmed.starts_with("Installed:")
            || trimmed.starts_with("Package pin:")
            || trimmed == "Version table:"
            || line.starts_with("        ")
        {
            // Known lines that change nothing here; source lines are the
            // ones indented 8.
        } else if let Some(rest) = line
            .strip_prefix(" *** ")
            .or_else(|| line.strip_prefix("     ").filter(|r| !r.starts_with(' ')))
        {
            let version = rest.split_whitespace().next().ok_or_else(unexpected)?;
            policy.versions.push(version.to_string());
        } else {
            return Err(unexpected());
        }
    }
    Ok(out)
}

/// `Remv name [version]` from a simulated apt-get run.
fn parse_remv(line: &str) -> Result<(String, String), TaskError> {
    let rest = line.strip_prefix("Remv ").unwrap_or(line);
    let (name, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let version = rest
        .strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .map(|(v, _)| v)
        .unwrap_or("");
    if name.is_empty() {
        return Err(bad(format!("apt-get -s line {line:?}")));
    }
    Ok((name.to_string(), version.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "lab-hello:\n  Installed: 1.0\n  Candidate: 1.1\n  Version table:\n     1.1 500\n        500 http://10.251.0.1:8000 ./ Packages\n *** 1.0 500\n        500 http://10.251.0.1:8000 ./ Packages\n        100 /var/lib/dpkg/status\nvirtual:\n  Installed: (none)\n  Candidate: (none)\n  Version table:\n";

    #[test]
    fn a_full_answer() {
        let out = format!(
            "== dpkg\nlab-hello install ok installed 1.0\nold deinstall ok config-files 0.9\nnew install ok not-installed \n== dpkg-rc 1\n== policy\n{POLICY}== policy-rc 0\n== cache\n1700000000\n1700003600\n"
        );
        let o = parse(out.as_bytes()).unwrap();
        assert!(o.dpkg["lab-hello"].installed());
        assert_eq!(o.dpkg["lab-hello"].version, "1.0");
        assert!(o.dpkg["old"].config_files());
        assert!(!o.dpkg["new"].installed());
        let p = o.policy.unwrap();
        assert_eq!(p["lab-hello"].candidate.as_deref(), Some("1.1"));
        assert_eq!(p["lab-hello"].versions, ["1.1", "1.0"]);
        assert_eq!(p["virtual"], Policy::default());
        assert_eq!((o.cache_time, o.now), (1700000000, 1700003600));
    }

    #[test]
    fn deb_and_autoremove() {
        let out = "== deb\nlab-hello 1.1 all\n== deb-rc 0\n== dpkg\n== dpkg-rc 1\n== autoremove\nNOTE: This is only a simulation!\nRemv libfoo1 [2.0-1] [bar:amd64 ]\n== autoremove-rc 0\n== cache\n0\n5\n";
        let o = parse(out.as_bytes()).unwrap();
        assert_eq!(o.deb.unwrap().version, "1.1");
        assert_eq!(o.autoremove, [("libfoo1".to_string(), "2.0-1".to_string())]);
        let e = parse(
            b"== deb\ndpkg-deb: error: not a debian format archive\n== deb-rc 2\n== cache\n0\n5\n",
        )
        .unwrap_err();
        assert!(e.msg.contains("not a debian format archive"), "{e}");
        let e =
            parse(b"== autoremove\nE: broken\n== autoremove-rc 100\n== cache\n0\n5\n").unwrap_err();
        assert_eq!(e.msg, "apt-get -s autoremove failed: E: broken");
    }

    #[test]
    fn no_dpkg_is_not_debian() {
        let e = parse(b"== dpkg\n== dpkg-rc 127\n== cache\n0\n1\n").unwrap_err();
        assert!(e.msg.contains("needs a Debian or Ubuntu host"), "{e}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for junk in [
            &b""[..],
            b"\xff\xfe",
            b"hello\n",
            b"== cache\nsoon\n1\n",
            b"== cache\n1\n",
            b"== dpkg\nfoo\n== dpkg-rc 0\n== cache\n0\n1\n",
            b"== dpkg\n== dpkg-rc x\n== cache\n0\n1\n",
            b"== dpkg\n== dpkg-rc 2\n== cache\n0\n1\n",
            b"== policy\n  Candidate: 1\n== policy-rc 0\n== cache\n0\n1\n",
            b"== policy\nfoo:\nrandom words\n== policy-rc 0\n== cache\n0\n1\n",
            b"== deb\na b\n== deb-rc 0\n== cache\n0\n1\n",
        ] {
            assert!(parse(junk).is_err(), "{:?}", String::from_utf8_lossy(junk));
        }
    }
}
