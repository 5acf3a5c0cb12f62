//! Resolving a host's SSH settings the way `ansible` + OpenSSH would: the
//! ssh config is looked up with the name ssh is given (`ansible_host`, else
//! the inventory name), first match wins, and the inventory variables Ansible
//! passes on the command line (`ansible_port`, `ansible_user`, the key file,
//! extra `-o` options) win over the config.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};
use ssh2_config::{HostParams, ParseRule, SshConfig};

use super::common_args::CommonArgs;
use super::settings::{HostKeyChecking, Secret, SshSettings};

/// What resolution reads from the process environment, gathered in one
/// place so tests can supply their own.
#[derive(Debug, Clone)]
pub(crate) struct Env {
    pub home: Option<PathBuf>,
    pub local_user: String,
    /// `ANSIBLE_HOST_KEY_CHECKING`, which Ansible users set to `False` for labs.
    pub ansible_host_key_checking: Option<String>,
}

impl Env {
    pub fn from_process() -> Env {
        Env {
            home: std::env::home_dir(),
            local_user: crate::transport::local_user().to_string(),
            ansible_host_key_checking: std::env::var("ANSIBLE_HOST_KEY_CHECKING").ok(),
        }
    }
}

/// Read as well as the user's files, as OpenSSH does.
const GLOBAL_KNOWN_HOSTS: &str = "/etc/ssh/ssh_known_hosts";

/// Jump chains deeper than this are taken to be a loop in the ssh config.
const MAX_JUMP_DEPTH: usize = 8;

impl SshSettings {
    /// The settings for `inventory_hostname`, from its inventory variables
    /// (already templated) and an ssh config: `ssh_config_path` if given
    /// (like `ssh -F`), else `~/.ssh/config` when it exists.
    pub fn resolve(
        inventory_hostname: &str,
        vars: &Map<String, Value>,
        ssh_config_path: Option<&Path>,
    ) -> Result<SshSettings, String> {
        let env = Env::from_process();
        let config = load_config(ssh_config_path, env.home.as_deref())?;
        resolve_with(inventory_hostname, vars, config.as_ref(), &env)
    }
}

/// Parses an ssh config file; a missing `~/.ssh/config` is no config, a
/// missing explicit file is an error.
pub(crate) fn load_config(
    explicit: Option<&Path>,
    home: Option<&Path>,
) -> Result<Option<SshConfig>, String> {
    let path = match (explicit, home) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(h)) if h.join(".ssh/config").is_file() => h.join(".ssh/config"),
        (None, _) => return Ok(None),
    };
    let file = std::fs::File::open(&path)
        .map_err(|e| format!("cannot read ssh config {}: {e}", path.display()))?;
    let mut config = SshConfig::default();
    if let Some(h) = home {
        config = config.home_dir(h);
    }
    // Options ssh2-config does not model are kept (we read a few of them)
    // rather than rejected: a real ~/.ssh/config is full of them.
    config
        .parse(
            &mut BufReader::new(file),
            ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS,
        )
        .map(Some)
        .map_err(|e| format!("cannot parse ssh config {}: {e}", path.display()))
}

pub(crate) fn resolve_with(
    inventory_hostname: &str,
    vars: &Map<String, Value>,
    config: Option<&SshConfig>,
    env: &Env,
) -> Result<SshSettings, String> {
    let context = |e: String| format!("host {inventory_hostname}: {e}");
    let pattern = string_var(vars, &["ansible_host", "ansible_ssh_host"])
        .unwrap_or_else(|| inventory_hostname.to_string());
    let mut settings =
        from_config(inventory_hostname, &pattern, config, env, 0).map_err(context)?;

    let mut args = CommonArgs::default();
    for name in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
        if let Some(text) = string_var(vars, &[name]) {
            let more = CommonArgs::parse(&text).map_err(|e| context(format!("{name}: {e}")))?;
            args.proxy_jump = args.proxy_jump.or(more.proxy_jump);
            args.host_key_checking = args.host_key_checking.or(more.host_key_checking);
            args.known_hosts_files = args.known_hosts_files.or(more.known_hosts_files);
        }
    }
    if let Some(jump) = &args.proxy_jump {
        settings.proxy_jump = jump_chain(jump, config, env, 1).map_err(context)?;
    }

    if let Some(port) = port_var(vars).map_err(context)? {
        settings.port = port;
    }
    if let Some(user) = string_var(
        vars,
        &["ansible_user", "ansible_ssh_user", "ansible_remote_user"],
    ) {
        settings.user = user;
    }
    if let Some(key) = string_var(
        vars,
        &["ansible_ssh_private_key_file", "ansible_private_key_file"],
    ) {
        settings
            .identity_files
            .insert(0, expand_tilde(&key, env.home.as_deref()));
    }
    if let Some(secs) =
        seconds_var(vars, &["ansible_ssh_timeout", "ansible_timeout"]).map_err(context)?
    {
        settings.connect_timeout = secs;
    }
    let password = [
        "ansible_become_password",
        "ansible_become_pass",
        "ansible_sudo_password",
        "ansible_sudo_pass",
    ];
    settings.become_password = string_var(vars, &password).map(|p| {
        // A become password never appears in output, vaulted or not.
        crate::redact::register(&p);
        Secret::new(p)
    });

    // Ansible's host_key_checking=False becomes `-o StrictHostKeyChecking=no`
    // on ssh's command line, so it beats the ssh config, for jumps too.
    let from_ansible = match vars.get("ansible_host_key_checking") {
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(Value::String(s)) => Some(s.clone()),
        _ => env.ansible_host_key_checking.clone(),
    };
    let ansible_off =
        from_ansible.as_deref().and_then(HostKeyChecking::parse) == Some(HostKeyChecking::Off);
    let checking = args
        .host_key_checking
        .or(ansible_off.then_some(HostKeyChecking::Off));
    let files = args.known_hosts_files.map(|f| {
        f.iter()
            .map(String::as_str)
            .chain([GLOBAL_KNOWN_HOSTS])
            .map(|p| expand_tilde(p, env.home.as_deref()))
            .collect::<Vec<_>>()
    });
    let mut hop = Some(&mut settings);
    while let Some(s) = hop {
        if let Some(mode) = checking {
            s.host_key_checking = mode;
        }
        if let Some(files) = &files {
            s.known_hosts_files = files.clone();
        }
        hop = s.proxy_jump.as_deref_mut();
    }
    Ok(settings)
}

/// Settings for `pattern` from the ssh config alone.
fn from_config(
    name: &str,
    pattern: &str,
    config: Option<&SshConfig>,
    env: &Env,
    depth: usize,
) -> Result<SshSettings, String> {
    let home = env.home.as_deref();
    let mut s = SshSettings::new(name, pattern, 22, &env.local_user, home);
    let Some(params) = config.map(|c| c.query(pattern)) else {
        return Ok(s);
    };
    if let Some(host_name) = &params.host_name {
        s.host = host_name.replace("%h", pattern).replace("%%", "%");
    }
    s.port = params.port.unwrap_or(22);
    if let Some(user) = &params.user {
        s.user = user.clone();
    }
    s.identity_files = params.identity_file.clone().unwrap_or_default();
    if let Some(t) = params.connect_timeout {
        s.connect_timeout = t;
    }
    if let Some(t) = params.server_alive_interval {
        s.keepalive_interval = (!t.is_zero()).then_some(t);
    }
    if let Some(value) = unsupported(&params, "stricthostkeychecking") {
        s.host_key_checking = HostKeyChecking::parse(&value).ok_or_else(|| {
            format!(
                "ssh config StrictHostKeyChecking: expected yes, no or accept-new, got '{value}'"
            )
        })?;
    }
    let user_files = unsupported(&params, "userknownhostsfile");
    let global_files = unsupported(&params, "globalknownhostsfile");
    if user_files.is_some() || global_files.is_some() {
        let user_files =
            user_files.map_or_else(|| vec!["~/.ssh/known_hosts".to_string()], |f| words(&f));
        let global_files =
            global_files.map_or_else(|| vec![GLOBAL_KNOWN_HOSTS.to_string()], |f| words(&f));
        s.known_hosts_files = user_files
            .iter()
            .chain(&global_files)
            .map(|p| expand_tilde(p, home))
            .collect();
    }
    if let Some(command) =
        unsupported(&params, "proxycommand").filter(|c| !c.eq_ignore_ascii_case("none"))
    {
        return Err(format!(
            "ssh config for {pattern} has `ProxyCommand {command}`, which tend does not support; \
             use ProxyJump instead"
        ));
    }
    if let Some(hops) = &params.proxy_jump {
        s.proxy_jump = jump_chain(&hops.join(","), config, env, depth + 1)?;
    }
    Ok(s)
}

/// An ssh config option that ssh2-config keeps unparsed, as one string.
fn unsupported(params: &HostParams, key: &str) -> Option<String> {
    params
        .unsupported_fields
        .get(key)
        .map(|args| args.join(" "))
}

/// `ProxyJump a,b`: reach `b` through `a`, then the target through `b`.
fn jump_chain(
    spec: &str,
    config: Option<&SshConfig>,
    env: &Env,
    depth: usize,
) -> Result<Option<Box<SshSettings>>, String> {
    if depth > MAX_JUMP_DEPTH {
        return Err(format!(
            "ProxyJump chain is longer than {MAX_JUMP_DEPTH} hops (a loop in the ssh config?)"
        ));
    }
    let spec = spec.trim();
    if spec.is_empty() || spec.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let (earlier, last) = match spec.rsplit_once(',') {
        Some((earlier, last)) => (Some(earlier), last.trim()),
        None => (None, spec),
    };
    let (user, host, port) = parse_jump(last)?;
    let mut hop = from_config(last, &host, config, env, depth)?;
    if let Some(earlier) = earlier {
        // As with `ssh -J a,b`, the list replaces b's own ProxyJump.
        hop.proxy_jump = jump_chain(earlier, config, env, depth + 1)?;
    }
    if let Some(user) = user {
        hop.user = user;
    }
    if let Some(port) = port {
        hop.port = port;
    }
    Ok(Some(Box::new(hop)))
}

/// `[user@]host[:port]` or `ssh://[user@]host[:port]`; IPv6 in brackets.
pub(crate) fn parse_jump(spec: &str) -> Result<(Option<String>, String, Option<u16>), String> {
    let rest = spec.strip_prefix("ssh://").unwrap_or(spec);
    let (user, rest) = match rest.rsplit_once('@') {
        Some((u, r)) => (Some(u.to_string()), r),
        None => (None, rest),
    };
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or_else(|| format!("bad jump host '{spec}': missing ']'"))?;
        (host, after.strip_prefix(':'))
    } else if rest.matches(':').count() == 1 {
        let (h, p) = rest.split_once(':').unwrap_or((rest, ""));
        (h, Some(p))
    } else {
        (rest, None)
    };
    let port = port
        .map(|p| {
            p.parse::<u16>()
                .map_err(|_| format!("bad jump host '{spec}': '{p}' is not a port number"))
        })
        .transpose()?;
    if host.is_empty() {
        return Err(format!("bad jump host '{spec}': no host name"));
    }
    Ok((user, host.to_string(), port))
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

fn expand_tilde(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix('~'), home) {
        (Some(""), Some(h)) => h.to_path_buf(),
        (Some(rest), Some(h)) if rest.starts_with('/') => h.join(&rest[1..]),
        _ => PathBuf::from(path),
    }
}

/// The first of `names` that is set, as text (Ansible allows `2222` and
/// `"2222"` alike).
fn string_var(vars: &Map<String, Value>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| match vars.get(*n)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

fn port_var(vars: &Map<String, Value>) -> Result<Option<u16>, String> {
    let Some(text) = string_var(vars, &["ansible_port", "ansible_ssh_port"]) else {
        return Ok(None);
    };
    match text.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(Some(p)),
        _ => Err(format!(
            "ansible_port must be a port number (1-65535), got '{text}'"
        )),
    }
}

fn seconds_var(vars: &Map<String, Value>, names: &[&str]) -> Result<Option<Duration>, String> {
    let Some(text) = string_var(vars, names) else {
        return Ok(None);
    };
    match text.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() => Ok(Some(Duration::from_secs_f64(s))),
        _ => Err(format!(
            "{}: expected a number of seconds, got '{text}'",
            names[0]
        )),
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
