//! Which distribution a host runs and which package manager it has, named
//! as Ansible names them (`Debian`, `RedHat`, `apt`, `dnf`, ...).

use super::{Raw, bad};
use crate::probe::decode;
use crate::{Map, TaskError};

/// `distribution*` and `os_family` from `/etc/os-release` (and, on Debian,
/// `/etc/debian_version`, whose point release Ansible reports).
pub(super) fn distribution(raw: &Raw, f: &mut Map) -> Result<(), TaskError> {
    let release = match raw.get("os_release") {
        Some(b) => {
            String::from_utf8(decode(b)?).map_err(|_| bad("/etc/os-release is not UTF-8"))?
        }
        None => String::new(),
    };
    let fields = parse_os_release(&release);
    let get = |k: &str| {
        fields
            .iter()
            .find(|(key, _)| key == k)
            .map_or("", |(_, v)| v.as_str())
    };
    let id = get("ID");
    let system = raw.get("system").unwrap_or("");
    let name = if id.is_empty() {
        system.to_string()
    } else {
        distribution_name(id)
    };
    let mut version = get("VERSION_ID").to_string();
    if id == "debian" {
        // Ansible reports Debian's point release (12.5), not VERSION_ID (12).
        if let Some(dv) = raw.get("debian_version") {
            if dv
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            {
                version = dv.to_string();
            }
        }
    }
    let mut parts = version.split('.');
    let major = parts.next().unwrap_or("").to_string();
    let minor = parts.next();
    let family = os_family(id, get("ID_LIKE"), &name);
    f.insert("distribution".into(), name.into());
    f.insert("distribution_version".into(), version.clone().into());
    f.insert("distribution_major_version".into(), major.into());
    if let Some(minor) = minor {
        f.insert("distribution_minor_version".into(), minor.into());
    }
    f.insert(
        "distribution_release".into(),
        get("VERSION_CODENAME").into(),
    );
    f.insert("os_family".into(), family.into());
    Ok(())
}

/// `KEY=value` lines, values unquoted as the shell would.
fn parse_os_release(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = if v.len() >= 2
            && ((v.starts_with('"') && v.ends_with('"'))
                || (v.starts_with('\'') && v.ends_with('\'')))
        {
            v[1..v.len() - 1]
                .replace("\\\"", "\"")
                .replace("\\$", "$")
                .replace("\\`", "`")
                .replace("\\\\", "\\")
        } else {
            v.to_string()
        };
        out.push((k.trim().to_string(), v));
    }
    out
}

fn distribution_name(id: &str) -> String {
    match id {
        "debian" => "Debian",
        "ubuntu" => "Ubuntu",
        "raspbian" => "Debian",
        "linuxmint" => "Linux Mint",
        "rhel" => "RedHat",
        "centos" => "CentOS",
        "fedora" => "Fedora",
        "rocky" => "Rocky",
        "almalinux" => "AlmaLinux",
        "ol" => "OracleLinux",
        "amzn" => "Amazon",
        "alpine" => "Alpine",
        "arch" => "Archlinux",
        "manjaro" => "Manjaro",
        "opensuse-leap" => "openSUSE Leap",
        "opensuse-tumbleweed" => "openSUSE Tumbleweed",
        "sles" => "SLES",
        "gentoo" => "Gentoo",
        "void" => "Void",
        other => return capitalize(other),
    }
    .to_string()
}

fn os_family(id: &str, id_like: &str, name: &str) -> String {
    let known = |id: &str| -> Option<&'static str> {
        Some(match id {
            "debian" | "ubuntu" | "linuxmint" | "raspbian" | "pop" | "kali" | "devuan" => "Debian",
            "rhel" | "centos" | "fedora" | "rocky" | "almalinux" | "ol" | "amzn" => "RedHat",
            "alpine" => "Alpine",
            "arch" | "manjaro" => "Archlinux",
            "opensuse-leap" | "opensuse-tumbleweed" | "sles" | "opensuse" | "suse" => "Suse",
            "gentoo" => "Gentoo",
            _ => return None,
        })
    };
    known(id)
        .or_else(|| id_like.split_whitespace().find_map(known))
        .map_or_else(|| name.to_string(), str::to_string)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Ansible's `pkg_mgr`: the last of its known tools that exists, except on
/// the RedHat family, where the release decides between yum and dnf.
pub(super) fn pkg_mgr(found: &[String], family: &str, major: &str) -> Option<&'static str> {
    let has = |p: &str| found.iter().any(|f| f == p);
    if family == "RedHat" && !has("/usr/bin/rpm-ostree") {
        let old = major.parse::<u32>().is_ok_and(|m| m < 8) && !has("/usr/bin/dnf");
        if has("/usr/bin/dnf5") {
            return Some("dnf5");
        }
        if has("/usr/bin/dnf") || has("/usr/bin/dnf-3") || (has("/usr/bin/yum") && !old) {
            return Some("dnf");
        }
        if has("/usr/bin/yum") {
            return Some("yum");
        }
    }
    found
        .iter()
        .filter_map(|p| {
            Some(match p.as_str() {
                "/usr/bin/rpm-ostree" => "atomic_container",
                "/usr/bin/yum" | "/usr/bin/dnf-3" | "/usr/bin/dnf" => "dnf",
                "/usr/bin/dnf5" => "dnf5",
                "/usr/bin/apt-get" => "apt",
                "/usr/bin/zypper" => "zypper",
                "/usr/sbin/urpmi" => "urpmi",
                "/usr/bin/pacman" => "pacman",
                "/bin/opkg" => "opkg",
                "/sbin/apk" => "apk",
                "/usr/bin/emerge" => "portage",
                "/usr/bin/xbps-install" => "xbps",
                "/usr/bin/swupd" => "swupd",
                _ => return None,
            })
        })
        .next_back()
}
