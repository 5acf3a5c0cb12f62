//! What an `apt` (or `package`) task asks for, parsed and checked before any
//! host is contacted: package specs with their pins, the state, and the
//! options that end up on apt-get's command line.

use super::deb::DebFile;
use crate::{Args, Controller, ParamError};

/// The state a task wants its packages in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Present,
    Absent,
    Latest,
}

/// A version constraint from the name (`foo=1.0`, `foo=1.0*`, `foo>=1.0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pin {
    /// A version or a version glob.
    Exact(String),
    AtLeast(String),
}

/// One package of the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    pub name: String,
    /// `foo:i386`: the architecture qualifier.
    pub arch: Option<String>,
    pub pin: Option<Pin>,
    /// As written, for messages.
    pub raw: String,
}

impl Spec {
    /// The name as dpkg and apt are asked about it (`foo` or `foo:i386`).
    pub(crate) fn query(&self) -> String {
        match &self.arch {
            Some(arch) => format!("{}:{arch}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A whole task's request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    pub specs: Vec<Spec>,
    pub state: State,
    /// `update_cache`, or implied by `cache_valid_time`.
    pub update_cache: bool,
    /// Seconds; 0 updates whenever asked.
    pub cache_valid_time: i64,
    pub update_retries: i64,
    pub update_max_delay: i64,
    pub install_recommends: Option<bool>,
    pub deb: Option<DebFile>,
    pub purge: bool,
    pub autoremove: bool,
    pub force: bool,
    pub allow_downgrade: bool,
    pub allow_change_held: bool,
    pub allow_unauthenticated: bool,
    pub fail_on_autoremove: bool,
    pub only_upgrade: bool,
    pub default_release: Option<String>,
    /// `force-confdef`, `force-confold`: each becomes `-o Dpkg::Options::=--X`.
    pub dpkg_options: Vec<String>,
    pub lock_timeout: i64,
}

impl Request {
    pub(crate) fn new(args: &Args, ctx: &dyn Controller) -> Result<Request, ParamError> {
        refuse_unsupported(args)?;
        let specs = match args.strings("name") {
            Some(names) => names
                .iter()
                .map(|n| parse_spec(n.trim()))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let state = match args.str("state").unwrap_or("present") {
            "present" | "installed" => State::Present,
            "absent" | "removed" => State::Absent,
            "latest" => State::Latest,
            other => {
                return Err(ParamError::new(
                    "state",
                    format!("state={other} is not supported by tend yet"),
                ));
            }
        };
        let cache_valid_time = args.int("cache_valid_time").unwrap_or(0);
        if cache_valid_time < 0 {
            return Err(ParamError::new(
                "cache_valid_time",
                "cache_valid_time must not be negative",
            ));
        }
        let deb = match args.str("deb") {
            Some(src) => {
                let bytes = ctx.read_src(src, "files").map_err(|e| {
                    ParamError::new("deb", format!("could not read deb '{src}': {e}"))
                })?;
                Some(
                    DebFile::new(src, bytes)
                        .map_err(|e| ParamError::new("deb", format!("deb '{src}': {e}")))?,
                )
            }
            None => None,
        };
        let force = args.bool_or("force", false);
        let req = Request {
            specs,
            state,
            update_cache: args.bool_or("update_cache", false) || cache_valid_time > 0,
            cache_valid_time,
            update_retries: args.int("update_cache_retries").unwrap_or(5).max(1),
            update_max_delay: args
                .int("update_cache_retry_max_delay")
                .unwrap_or(12)
                .max(0),
            install_recommends: args.bool("install_recommends"),
            deb,
            purge: args.bool_or("purge", false),
            autoremove: args.bool_or("autoremove", false),
            force,
            allow_downgrade: args.bool_or("allow_downgrade", false) || force,
            allow_change_held: args.bool_or("allow_change_held_packages", false),
            allow_unauthenticated: args.bool_or("allow_unauthenticated", false) || force,
            fail_on_autoremove: args.bool_or("fail_on_autoremove", false),
            only_upgrade: args.bool_or("only_upgrade", false),
            default_release: args.string("default_release"),
            dpkg_options: dpkg_options(args.str("dpkg_options"))?,
            lock_timeout: args.int("lock_timeout").unwrap_or(60).max(0),
        };
        req.check()?;
        Ok(req)
    }

    /// The combinations Ansible refuses, refused the same way.
    fn check(&self) -> Result<(), ParamError> {
        if self.deb.is_some() && !self.specs.is_empty() {
            return Err(ParamError::general(
                "parameters are mutually exclusive: deb|name",
            ));
        }
        if self.deb.is_some() && self.state != State::Present {
            return Err(ParamError::new("state", "deb only supports state=present"));
        }
        if self.specs.is_empty() && self.deb.is_none() && !self.update_cache && !self.autoremove {
            return Err(ParamError::general(
                "one of the following is required: autoremove, deb, name, update_cache",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for spec in &self.specs {
            if !seen.insert(spec.name.as_str()) {
                return Err(ParamError::new(
                    "name",
                    format!("package '{}' is named twice", spec.name),
                ));
            }
        }
        Ok(())
    }

    /// No packages and no deb: a cache update, an autoremove, or both.
    pub(crate) fn cache_only(&self) -> bool {
        self.specs.is_empty() && self.deb.is_none()
    }
}

/// Ansible parameters tend accepts by name but does not carry out: they
/// are refused when they would make a difference, never silently ignored.
fn refuse_unsupported(args: &Args) -> Result<(), ParamError> {
    for name in ["clean", "autoclean"] {
        if args.bool_or(name, false) {
            return Err(ParamError::new(
                name,
                format!("{name} is not supported by tend yet"),
            ));
        }
    }
    if let Some(up) = args
        .value("upgrade")
        .filter(|v| crate::to_bool(v) != Some(false))
    {
        return Err(ParamError::new(
            "upgrade",
            format!(
                "upgrade={} is not supported by tend yet; name the packages with state: latest",
                crate::display(up)
            ),
        ));
    }
    if args.has("policy_rc_d") {
        return Err(ParamError::new(
            "policy_rc_d",
            "policy_rc_d is not supported by tend yet",
        ));
    }
    Ok(())
}

/// `dpkg_options` as Ansible reads it: comma-separated dpkg flags without
/// their leading dashes.
fn dpkg_options(text: Option<&str>) -> Result<Vec<String>, ParamError> {
    let text = text.unwrap_or("force-confdef,force-confold");
    let mut out = Vec::new();
    for opt in text.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let opt = opt.trim_start_matches('-');
        if !opt
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-=_".contains(&b))
        {
            return Err(ParamError::new(
                "dpkg_options",
                format!("'{opt}' is not a dpkg option"),
            ));
        }
        out.push(opt.to_string());
    }
    Ok(out)
}

/// `foo`, `foo:i386`, `foo=1.0`, `foo=1.0*`, `foo>=1.0`.
pub(crate) fn parse_spec(raw: &str) -> Result<Spec, ParamError> {
    let bad = |why: &str| ParamError::new("name", format!("invalid package spec '{raw}': {why}"));
    if raw.matches('=').count() > 1 {
        return Err(ParamError::new(
            "name",
            format!("invalid package spec: {raw}"),
        ));
    }
    let (name_part, pin) = if let Some((n, v)) = raw.split_once(">=") {
        (n, Some(Pin::AtLeast(v.to_string())))
    } else if let Some((n, v)) = raw.split_once('=') {
        (n, Some(Pin::Exact(v.to_string())))
    } else {
        (raw, None)
    };
    if name_part.bytes().any(|b| b"*?[]!".contains(&b)) {
        return Err(ParamError::new(
            "name",
            format!(
                "package name patterns ('{raw}') are not supported by tend yet; name the packages"
            ),
        ));
    }
    let (name, arch) = match name_part.split_once(':') {
        Some((n, a)) => (n, Some(a.to_string())),
        None => (name_part, None),
    };
    let name_ok = name.len() >= 2
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+.-".contains(&b));
    if !name_ok {
        return Err(bad("not a Debian package name"));
    }
    if let Some(arch) = &arch {
        if arch.is_empty() || !arch.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(bad("not an architecture"));
        }
    }
    if let Some(Pin::Exact(v) | Pin::AtLeast(v)) = &pin {
        let ok = !v.is_empty()
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".+~:-*?".contains(&b));
        if !ok {
            return Err(bad("not a Debian version"));
        }
        if matches!(pin, Some(Pin::AtLeast(_))) && v.contains(['*', '?']) {
            return Err(bad("a >= version cannot be a pattern"));
        }
    }
    Ok(Spec {
        name: name.to_string(),
        arch,
        pin,
        raw: raw.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        let s = parse_spec("lab-hello=1.0").unwrap();
        assert_eq!(
            (s.name.as_str(), s.pin),
            ("lab-hello", Some(Pin::Exact("1.0".into())))
        );
        let s = parse_spec("libc6:i386>=2.36").unwrap();
        assert_eq!(s.query(), "libc6:i386");
        assert_eq!(s.pin, Some(Pin::AtLeast("2.36".into())));
        let s = parse_spec("nginx-light").unwrap();
        assert_eq!((s.arch, s.pin), (None, None));
        assert_eq!(parse_spec("g++=4:12.2.0-3").unwrap().name, "g++");
    }

    #[test]
    fn bad_specs() {
        for (raw, why) in [
            ("a=b=c", "invalid package spec"),
            ("nginx*", "patterns"),
            ("Nginx", "not a Debian package name"),
            ("foo bar", "not a Debian package name"),
            ("x", "not a Debian package name"),
            ("foo=", "not a Debian version"),
            ("foo=1.0;rm", "not a Debian version"),
            ("foo>=1.*", "pattern"),
            ("foo:", "not an architecture"),
        ] {
            let e = parse_spec(raw).unwrap_err();
            assert!(e.message.contains(why), "{raw}: {e}");
            assert_eq!(e.param.as_deref(), Some("name"));
        }
    }

    #[test]
    fn dpkg_options_are_checked() {
        assert_eq!(
            dpkg_options(None).unwrap(),
            ["force-confdef", "force-confold"]
        );
        assert_eq!(
            dpkg_options(Some("--force-confnew")).unwrap(),
            ["force-confnew"]
        );
        assert!(dpkg_options(Some("force-confnew;reboot")).is_err());
    }
}
