//! Fact gathering without Python: one read-only `/bin/sh` script collects
//! what Ansible's `setup` reports most (host names, distribution, kernel,
//! network, memory, CPUs, service and package managers, the login
//! environment, the user, the date) in one round trip, and `gather` turns
//! its output into facts named as Ansible names them, without the
//! `ansible_` prefix. Both `gather_facts` and the `setup` module use it.
//!
//! The script prints one `tag value` line per item; anything that may hold
//! odd bytes (files, the environment, `ip` output) travels as base64. What
//! a tool cannot tell (no `ip`, no `/proc`) is simply left out, as Ansible
//! leaves out what it cannot collect; what the host prints in a shape the
//! parser does not know is an error.

mod date;

/// The UTC calendar date of a Unix time: (year, month, day, hour, minute,
/// second). Also what the controller's date filters use.
pub use date::utc;
mod net;
mod os;

use std::collections::BTreeMap;

use crate::probe::decode;
use crate::{Map, TaskError, Value};

/// The fact-gathering script. Read-only; every tool it calls may be missing.
pub fn script() -> &'static str {
    SCRIPT
}

const SCRIPT: &str = r#"if command -v env >/dev/null && env -0 >/dev/null 2>&1; then printf 'env0 '; env -0 | base64 -w0; echo; else printf 'env '; env | base64 -w0; echo; fi
echo "nodename $(uname -n 2>/dev/null)"
echo "fqdn $(timeout 5 hostname -f 2>/dev/null)"
echo "kernel $(uname -r 2>/dev/null)"
echo "kernel_version $(uname -v 2>/dev/null)"
echo "machine $(uname -m 2>/dev/null)"
echo "system $(uname -s 2>/dev/null)"
for f in /etc/os-release /usr/lib/os-release; do if [ -r "$f" ]; then printf 'os_release '; base64 -w0 < "$f"; echo; break; fi; done
if [ -r /etc/debian_version ]; then echo "debian_version $(head -n1 /etc/debian_version)"; fi
if [ -r /etc/machine-id ]; then echo "machine_id $(head -n1 /etc/machine-id)"; fi
if [ -r /proc/meminfo ]; then grep -E '^(MemTotal|MemFree|SwapTotal|SwapFree):' /proc/meminfo | while read -r k v u; do echo "mem ${k%:} $v"; done; fi
if [ -r /proc/cpuinfo ]; then echo "cpus $(grep -c '^processor' /proc/cpuinfo)"; fi
if command -v nproc >/dev/null; then echo "nproc $(nproc)"; fi
if [ -r /proc/uptime ]; then echo "uptime $(cut -d' ' -f1 /proc/uptime)"; fi
if [ -r /proc/1/comm ]; then echo "init $(cat /proc/1/comm 2>/dev/null)"; fi
if [ -d /run/systemd/system ]; then echo "has run_systemd"; fi
if [ -e /sbin/openrc ]; then echo "has openrc"; fi
if [ -d /etc/init.d ]; then echo "has init_d"; fi
for p in /usr/bin/rpm-ostree /usr/bin/yum /usr/bin/dnf-3 /usr/bin/dnf /usr/bin/dnf5 /usr/bin/apt-get /usr/bin/zypper /usr/sbin/urpmi /usr/bin/pacman /bin/opkg /sbin/apk /usr/bin/emerge /usr/bin/xbps-install /usr/bin/swupd; do if [ -e "$p" ]; then echo "pkg $p"; fi; done
echo "ids $(id -u) $(id -g) $(id -ru) $(id -rg)"
echo "user $(id -un)"
printf 'passwd '; getent passwd "$(id -u)" 2>/dev/null | head -n1 | base64 -w0; echo
echo "date $(LC_ALL=C date '+%s %N %Y %m %d %H %M %S %w %W %z %A %Z')"
echo "tz_jan $(LC_ALL=C date -d @946684800 '+%z %Z' 2>/dev/null)"
echo "tz_jul $(LC_ALL=C date -d @962409600 '+%z %Z' 2>/dev/null)"
if command -v ip >/dev/null; then
  echo "route4 $(ip -4 route get 8.8.8.8 2>/dev/null | head -n1)"
  echo "route6 $(ip -6 route get 2404:6800:400a:800::1012 2>/dev/null | head -n1)"
  printf 'addr '; ip -o addr show 2>/dev/null | base64 -w0; echo
fi
for d in /sys/class/net/*; do
  [ -d "$d" ] || continue
  a=$(cat "$d/address" 2>/dev/null); m=$(cat "$d/mtu" 2>/dev/null); t=$(cat "$d/type" 2>/dev/null)
  o=$(cat "$d/operstate" 2>/dev/null); f=$(cat "$d/flags" 2>/dev/null); k=-
  if [ -d "$d/bridge" ]; then k=bridge; elif [ -d "$d/bonding" ]; then k=bonding; fi
  echo "iface ${d##*/} ${a:--} ${m:--} ${t:--} ${o:--} ${f:--} $k"
done
"#;

/// The raw lines of the script's output, by tag.
#[derive(Debug, Default)]
pub(crate) struct Raw {
    one: BTreeMap<&'static str, String>,
    mem: BTreeMap<String, u64>,
    has: Vec<String>,
    pkgs: Vec<String>,
    ifaces: Vec<String>,
}

impl Raw {
    /// A single-valued item, `None` when the host printed nothing for it.
    pub(crate) fn get(&self, tag: &str) -> Option<&str> {
        self.one
            .get(tag)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

const SINGLE: &[&str] = &[
    "env0",
    "env",
    "nodename",
    "fqdn",
    "kernel",
    "kernel_version",
    "machine",
    "system",
    "os_release",
    "debian_version",
    "machine_id",
    "cpus",
    "nproc",
    "uptime",
    "init",
    "ids",
    "user",
    "passwd",
    "date",
    "tz_jan",
    "tz_jul",
    "route4",
    "route6",
    "addr",
];

fn read(out: &[u8]) -> Result<Raw, TaskError> {
    let text = std::str::from_utf8(out).map_err(|_| bad("the output is not UTF-8"))?;
    let mut raw = Raw::default();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (tag, value) = line.split_once(' ').unwrap_or((line, ""));
        match tag {
            "mem" => {
                let (key, kb) = value
                    .split_once(' ')
                    .ok_or_else(|| bad(&format!("unexpected line {line:?}")))?;
                let kb = kb
                    .trim()
                    .parse()
                    .map_err(|_| bad(&format!("unexpected line {line:?}")))?;
                raw.mem.insert(key.to_string(), kb);
            }
            "has" => raw.has.push(value.to_string()),
            "pkg" => raw.pkgs.push(value.to_string()),
            "iface" => raw.ifaces.push(value.to_string()),
            _ => {
                let Some(&tag) = SINGLE.iter().find(|t| **t == tag) else {
                    return Err(bad(&format!("unexpected line {line:?}")));
                };
                raw.one.insert(tag, value.trim_end().to_string());
            }
        }
    }
    if raw.get("system").is_none() {
        return Err(bad("no system name (uname -s) in the output"));
    }
    Ok(raw)
}

/// Facts from what `script()` printed, without the `ansible_` prefix.
pub fn gather(out: &[u8]) -> Result<Map, TaskError> {
    let raw = read(out)?;
    let mut f = Map::new();
    platform(&raw, &mut f)?;
    os::distribution(&raw, &mut f)?;
    hardware(&raw, &mut f)?;
    f.insert("service_mgr".into(), service_mgr(&raw).into());
    let family = f.get("os_family").and_then(Value::as_str).unwrap_or("");
    let major = f
        .get("distribution_major_version")
        .and_then(Value::as_str)
        .unwrap_or("");
    if let Some(pkg) = os::pkg_mgr(&raw.pkgs, family, major) {
        f.insert("pkg_mgr".into(), pkg.into());
    }
    if let Some(env) = environment(&raw)? {
        f.insert("env".into(), Value::Object(env));
    }
    user(&raw, &mut f)?;
    if let Some(dt) = date::date_time(&raw)? {
        f.insert("date_time".into(), Value::Object(dt));
    }
    net::network(&raw, &raw.ifaces, &mut f)?;
    Ok(f)
}

/// Which collector (Ansible's gather_subset name) a fact comes from.
pub fn subset_of(fact: &str) -> &'static str {
    match fact {
        "memtotal_mb" | "memfree_mb" | "swaptotal_mb" | "swapfree_mb" | "processor_vcpus"
        | "processor_nproc" | "uptime_seconds" => "hardware",
        "date_time" => "date_time",
        "env" => "env",
        "pkg_mgr" => "pkg_mgr",
        "service_mgr" => "service_mgr",
        f if f.starts_with("user_") || f.ends_with("_user_id") || f.ends_with("_group_id") => {
            "user"
        }
        f if f.starts_with("distribution") || f == "os_family" => "distribution",
        "hostname" | "nodename" | "fqdn" | "domain" | "kernel" | "kernel_version"
        | "architecture" | "machine" | "system" | "machine_id" | "userspace_bits" => "platform",
        // Interface facts (`eth0`), default routes and address lists.
        _ => "network",
    }
}

fn platform(raw: &Raw, f: &mut Map) -> Result<(), TaskError> {
    let node = raw.get("nodename").unwrap_or("");
    // Ansible: the short name is the node name up to the first dot; the
    // domain is what follows the first dot of the FQDN.
    f.insert(
        "hostname".into(),
        node.split('.').next().unwrap_or("").into(),
    );
    f.insert("nodename".into(), node.into());
    let fqdn = raw.get("fqdn").unwrap_or(node);
    f.insert("fqdn".into(), fqdn.into());
    f.insert(
        "domain".into(),
        fqdn.split_once('.').map_or("", |(_, d)| d).into(),
    );
    for (key, tag) in [
        ("kernel", "kernel"),
        ("kernel_version", "kernel_version"),
        ("system", "system"),
        ("machine_id", "machine_id"),
    ] {
        if let Some(v) = raw.get(tag) {
            f.insert(key.into(), v.into());
        }
    }
    if let Some(m) = raw.get("machine") {
        f.insert("machine".into(), m.into());
        // Ansible's names for the same machine: i386 for any x86 32-bit.
        let arch = match m {
            "i386" | "i486" | "i586" | "i686" => "i386",
            other => other,
        };
        f.insert("architecture".into(), arch.into());
    }
    Ok(())
}

fn hardware(raw: &Raw, f: &mut Map) -> Result<(), TaskError> {
    for (key, fact) in [
        ("MemTotal", "memtotal_mb"),
        ("MemFree", "memfree_mb"),
        ("SwapTotal", "swaptotal_mb"),
        ("SwapFree", "swapfree_mb"),
    ] {
        if let Some(kb) = raw.mem.get(key) {
            f.insert(fact.into(), Value::from(kb / 1024));
        }
    }
    let nproc = raw.get("nproc").map(|n| number(n, "nproc")).transpose()?;
    // Every logical CPU the kernel lists (Ansible counts /proc/cpuinfo);
    // nproc counts those this process may use.
    let cpus = raw
        .get("cpus")
        .map(|n| number(n, "cpus"))
        .transpose()?
        .filter(|n| *n > 0);
    if let Some(v) = cpus.or(nproc) {
        f.insert("processor_vcpus".into(), Value::from(v));
    }
    if let Some(n) = nproc.or(cpus) {
        f.insert("processor_nproc".into(), Value::from(n));
    }
    if let Some(up) = raw.get("uptime") {
        let secs = up
            .split('.')
            .next()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| bad(&format!("bad uptime {up:?}")))?;
        f.insert("uptime_seconds".into(), Value::from(secs));
    }
    Ok(())
}

/// Ansible's rules: PID 1's name unless it is a generic `init` or a shell,
/// then what the file system shows.
fn service_mgr(raw: &Raw) -> String {
    let has = |what: &str| raw.has.iter().any(|h| h == what);
    if let Some(comm) = raw.get("init") {
        if comm != "init" && !comm.ends_with("sh") {
            return match comm {
                "procd" => "openwrt_init",
                "runit-init" => "runit",
                "svscan" => "svc",
                other => other,
            }
            .to_string();
        }
    }
    if has("run_systemd") {
        "systemd"
    } else if has("openrc") {
        "openrc"
    } else if has("init_d") {
        "sysvinit"
    } else {
        "service"
    }
    .to_string()
}

/// The login environment, from `env -0` (or plain `env` where `-0` is
/// missing: a value with a newline then cannot be told apart).
fn environment(raw: &Raw) -> Result<Option<Map>, TaskError> {
    let (bytes, sep) = match (raw.get("env0"), raw.get("env")) {
        (Some(b), _) => (decode(b)?, '\0'),
        (None, Some(b)) => (decode(b)?, '\n'),
        (None, None) => return Ok(None),
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut env = Map::new();
    for entry in text.split(sep).filter(|e| !e.is_empty()) {
        if let Some((k, v)) = entry.split_once('=') {
            env.insert(k.to_string(), v.into());
        }
    }
    Ok(Some(env))
}

fn user(raw: &Raw, f: &mut Map) -> Result<(), TaskError> {
    if let Some(name) = raw.get("user") {
        f.insert("user_id".into(), name.into());
    }
    if let Some(ids) = raw.get("ids") {
        let ids: Vec<u64> = ids
            .split(' ')
            .map(|n| number(n, "ids"))
            .collect::<Result<_, _>>()?;
        let [uid, gid, ruid, rgid] = ids[..] else {
            return Err(bad("the ids line needs four numbers"));
        };
        f.insert("user_uid".into(), uid.into());
        f.insert("user_gid".into(), gid.into());
        f.insert("effective_user_id".into(), uid.into());
        f.insert("effective_group_id".into(), gid.into());
        f.insert("real_user_id".into(), ruid.into());
        f.insert("real_group_id".into(), rgid.into());
    }
    if let Some(b) = raw.get("passwd") {
        let entry = String::from_utf8(decode(b)?).map_err(|_| bad("passwd is not UTF-8"))?;
        let fields: Vec<&str> = entry.trim_end_matches('\n').split(':').collect();
        let [_, _, _, _, gecos, dir, shell] = fields[..] else {
            return Err(bad(&format!("unexpected passwd entry {entry:?}")));
        };
        f.insert("user_gecos".into(), gecos.into());
        f.insert("user_dir".into(), dir.into());
        f.insert("user_shell".into(), shell.into());
    }
    Ok(())
}

fn number(text: &str, what: &str) -> Result<u64, TaskError> {
    text.trim()
        .parse()
        .map_err(|_| bad(&format!("{what}: {text:?} is not a number")))
}

pub(crate) fn bad(what: &str) -> TaskError {
    TaskError::new(format!(
        "could not read the host's answer to fact gathering: {}",
        crate::clip(what)
    ))
}

#[cfg(test)]
pub(crate) mod tests;
