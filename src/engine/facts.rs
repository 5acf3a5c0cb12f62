//! Fact gathering, small: one script, the facts playbooks use most
//! (host names, distribution, architecture, user). Ansible's `setup` has
//! hundreds; the rest come in a later issue.

use std::sync::Arc;

use serde_json::Value;

use super::host::{HostMemory, HostRun};
use super::outcome::{Map, Outcome, Status};

const SCRIPT: &str = r#"echo "hostname $(hostname 2>/dev/null || cat /etc/hostname)"
echo "fqdn $(hostname -f 2>/dev/null || hostname 2>/dev/null)"
if [ -r /etc/os-release ]; then . /etc/os-release; fi
echo "id ${ID:-unknown}"
echo "version_id ${VERSION_ID:-}"
echo "codename ${VERSION_CODENAME:-}"
echo "arch $(uname -m)"
echo "kernel $(uname -r)"
echo "system $(uname -s)"
echo "user $(id -un)"
echo "uid $(id -u)"
echo "gid $(id -g)"
echo "home ${HOME:-}"
"#;

impl HostRun<'_, '_> {
    pub fn gather_facts(&mut self) -> Outcome {
        let out = match self.mem.transport.exec(SCRIPT, None, None) {
            Ok(o) => o,
            Err(e) => {
                let mut result = Map::new();
                result.insert("unreachable".into(), Value::Bool(true));
                result.insert("msg".into(), Value::String(e.message));
                return Outcome::new(Status::Unreachable, result);
            }
        };
        let facts = parse(&String::from_utf8_lossy(&out.stdout));
        self.mem.set_facts(facts.clone());
        self.ctx.publish_hostvars(&self.mem.name, self.mem);
        let mut result = Map::new();
        result.insert("ansible_facts".into(), Value::Object(facts));
        result.insert("changed".into(), Value::Bool(false));
        Outcome::new(Status::Ok, result)
    }
}

impl HostMemory {
    /// Replaces the gathered facts: the layer holds `ansible_facts` and each
    /// fact again as `ansible_NAME`, as Ansible injects them.
    pub fn set_facts(&mut self, facts: Map) {
        let mut layer = Map::new();
        for (k, v) in &facts {
            layer.insert(format!("ansible_{k}"), v.clone());
        }
        layer.insert("ansible_facts".into(), Value::Object(facts));
        self.facts = Arc::new(layer);
    }

    pub fn facts_layer(&self) -> Arc<Map> {
        self.facts.clone()
    }
}

fn parse(text: &str) -> Map {
    let mut raw = std::collections::HashMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once(' ') {
            raw.insert(k.to_string(), v.trim().to_string());
        }
    }
    let get = |k: &str| raw.get(k).cloned().unwrap_or_default();
    let id = get("id");
    let distribution = match id.as_str() {
        "debian" => "Debian".to_string(),
        "ubuntu" => "Ubuntu".to_string(),
        "rhel" => "RedHat".to_string(),
        "centos" => "CentOS".to_string(),
        "fedora" => "Fedora".to_string(),
        "rocky" => "Rocky".to_string(),
        "almalinux" => "AlmaLinux".to_string(),
        "alpine" => "Alpine".to_string(),
        "arch" => "Archlinux".to_string(),
        other => capitalize(other),
    };
    let os_family = match id.as_str() {
        "debian" | "ubuntu" | "linuxmint" | "raspbian" => "Debian",
        "rhel" | "centos" | "fedora" | "rocky" | "almalinux" | "ol" | "amzn" => "RedHat",
        "alpine" => "Alpine",
        "arch" | "manjaro" => "Archlinux",
        "opensuse" | "sles" | "opensuse-leap" => "Suse",
        _ => distribution.as_str(),
    }
    .to_string();
    let version = get("version_id");
    let major = version.split('.').next().unwrap_or("").to_string();
    let hostname = get("hostname");
    let short = hostname.split('.').next().unwrap_or("").to_string();
    let mut f = Map::new();
    let mut put = |k: &str, v: Value| {
        f.insert(k.to_string(), v);
    };
    put("hostname", Value::String(short));
    put("nodename", Value::String(hostname));
    put("fqdn", Value::String(get("fqdn")));
    put("distribution", Value::String(distribution));
    put("distribution_version", Value::String(version));
    put("distribution_major_version", Value::String(major));
    put("distribution_release", Value::String(get("codename")));
    put("os_family", Value::String(os_family));
    put("architecture", Value::String(get("arch")));
    put("kernel", Value::String(get("kernel")));
    put("system", Value::String(get("system")));
    put("user_id", Value::String(get("user")));
    put(
        "user_uid",
        get("uid").parse::<i64>().map_or(Value::Null, Value::from),
    );
    put(
        "user_gid",
        get("gid").parse::<i64>().map_or(Value::Null, Value::from),
    );
    put("user_dir", Value::String(get("home")));
    f
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn debian_facts() {
        let f = super::parse(
            "hostname web1.lab\nid debian\nversion_id 12\ncodename bookworm\narch x86_64\nuid 0\n",
        );
        assert_eq!(f["distribution"], "Debian");
        assert_eq!(f["os_family"], "Debian");
        assert_eq!(f["distribution_major_version"], "12");
        assert_eq!(f["hostname"], "web1");
        assert_eq!(f["user_uid"], 0);
    }
}
