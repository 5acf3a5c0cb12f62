//! `setup`: gathers facts on demand, the same facts as `gather_facts`
//! (see `facts.rs`), with Ansible's `gather_subset` and `filter`. The
//! result is `{"ansible_facts": {"ansible_hostname": ..., ...}}` as
//! Ansible returns it; the engine merges those facts into the host's.
//! Reading only, it also runs under `--check`.

use crate::facts;
use crate::{
    Args, Controller, Kind, Map, Module, Observed, Param, ParamError, Plan, Task, TaskError, Value,
};

pub struct SetupModule;

const PARAMS: &[Param] = &[
    Param::new("gather_subset", Kind::List).aliases(&["gather_subsets"]),
    Param::new("filter", Kind::List),
    Param::new("gather_timeout", Kind::Int),
    Param::new("fact_path", Kind::Str),
];

/// The subsets tend collects; `all` means these.
const COLLECTED: &[&str] = &[
    "date_time",
    "distribution",
    "env",
    "hardware",
    "network",
    "pkg_mgr",
    "platform",
    "service_mgr",
    "user",
];

/// Ansible's minimal subset: what is gathered even with `!all`.
const MINIMAL: &[&str] = &[
    "apparmor",
    "caps",
    "cmdline",
    "date_time",
    "distribution",
    "dns",
    "env",
    "fips",
    "local",
    "lsb",
    "pkg_mgr",
    "platform",
    "python",
    "selinux",
    "service_mgr",
    "ssh_pub_keys",
    "user",
];

/// Other subset names Ansible knows: accepted, and they add nothing here.
const OTHER: &[&str] = &[
    "chroot",
    "devices",
    "dmi",
    "facter",
    "hardware",
    "interfaces",
    "loadavg",
    "mounts",
    "network",
    "ohai",
    "system",
    "virtual",
];

impl Module for SetupModule {
    fn name(&self) -> &'static str {
        "setup"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn prepare(&self, args: Args, _: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        let subset = args
            .strings("gather_subset")
            .unwrap_or_else(|| vec!["all".to_string()]);
        let wanted = resolve(&subset).map_err(|e| ParamError::new("gather_subset", e))?;
        Ok(Box::new(SetupTask {
            subset,
            wanted,
            filter: args.strings("filter").unwrap_or_default(),
        }))
    }
}

/// Ansible's `get_collector_names`: the minimal subset, plus what is
/// asked for, less what is excluded (unless also asked for by name).
fn resolve(subset: &[String]) -> Result<Vec<&'static str>, String> {
    let valid: Vec<&str> = MINIMAL.iter().chain(OTHER).copied().collect();
    let find = |name: &str| valid.iter().copied().find(|v| *v == name);
    let mut add: Vec<&'static str> = Vec::new();
    let mut exclude: Vec<&'static str> = Vec::new();
    let mut explicit: Vec<&'static str> = Vec::new();
    for item in std::iter::once("min").chain(subset.iter().map(String::as_str)) {
        match item {
            "min" => add.extend(MINIMAL),
            "all" => add.extend(&valid),
            "!min" => exclude.extend(MINIMAL),
            "!all" => exclude.extend(valid.iter().filter(|v| !MINIMAL.contains(v))),
            neg if neg.starts_with('!') => {
                if let Some(name) = find(&neg[1..]) {
                    exclude.push(name);
                }
            }
            name => {
                let Some(name) = find(name) else {
                    let mut names = valid.clone();
                    names.sort_unstable();
                    names.dedup();
                    return Err(format!(
                        "Bad subset '{name}' given to Ansible. gather_subset options allowed: all, {}",
                        names.join(", ")
                    ));
                };
                explicit.push(name);
                add.push(name);
            }
        }
    }
    Ok(COLLECTED
        .iter()
        .copied()
        .filter(|c| add.contains(c) && (!exclude.contains(c) || explicit.contains(c)))
        .collect())
}

struct SetupTask {
    subset: Vec<String>,
    wanted: Vec<&'static str>,
    filter: Vec<String>,
}

impl Task for SetupTask {
    fn probe(&self) -> Option<String> {
        Some(facts::script().to_string())
    }

    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        let obs = observed.ok_or_else(|| TaskError::new("setup: no probe output to read"))?;
        let gathered = facts::gather(&obs.stdout)?;
        let mut out = Map::new();
        for (name, value) in gathered {
            if self.wanted.contains(&facts::subset_of(&name)) {
                out.insert(format!("ansible_{name}"), value);
            }
        }
        let subset = self.subset.iter().cloned().map(Value::String).collect();
        out.insert("gather_subset".into(), Value::Array(subset));
        out.insert("module_setup".into(), Value::Bool(true));
        if !self.filter.is_empty() {
            out.retain(|name, _| self.filter.iter().any(|g| glob(g, name)));
        }
        let mut result = Map::new();
        result.insert("ansible_facts".into(), Value::Object(out));
        result.insert("changed".into(), Value::Bool(false));
        Ok(Plan::unchanged(result))
    }
}

/// Python's `fnmatch`: `*`, `?`, `[abc]`, `[!abc]`, `[a-z]`.
pub(crate) fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    matches(&p, &n)
}

fn matches(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len()).any(|i| matches(&p[1..], &n[i..])),
        Some('?') => !n.is_empty() && matches(&p[1..], &n[1..]),
        Some('[') => {
            let Some(close) = p.iter().skip(2).position(|c| *c == ']').map(|i| i + 2) else {
                return n.first() == Some(&'[') && matches(&p[1..], &n[1..]);
            };
            let Some(&c) = n.first() else { return false };
            let (negate, set) = match p[1] {
                '!' => (true, &p[2..close]),
                _ => (false, &p[1..close]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == '-' {
                    hit |= set[i] <= c && c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != negate && matches(&p[close + 1..], &n[1..])
        }
        Some(c) => n.first() == Some(c) && matches(&p[1..], &n[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debug::testing::FakeController;
    use serde_json::json;

    const LAB: &str = include_str!("facts/lab_host.txt");

    fn run(args: Value) -> Result<Map, String> {
        let map = args.as_object().cloned().unwrap_or_default();
        let args = Args::check(PARAMS, &map, false).map_err(|e| e.message)?;
        let task = SetupModule
            .prepare(args, &FakeController::default())
            .map_err(|e| e.message)?;
        assert_eq!(task.probe().as_deref(), Some(facts::script()));
        let obs = Observed {
            stdout: LAB.as_bytes().to_vec(),
            ..Observed::default()
        };
        let plan = task.plan(Some(&obs)).map_err(|e| e.msg)?;
        assert!(!plan.changed && plan.steps.is_empty());
        Ok(plan.result)
    }

    fn facts(result: &Map) -> &Map {
        result["ansible_facts"].as_object().unwrap()
    }

    #[test]
    fn all_facts_are_prefixed_as_ansible_returns_them() {
        let r = run(json!({})).unwrap();
        assert_eq!(r["changed"], false);
        let f = facts(&r);
        assert_eq!(f["ansible_hostname"], "h12");
        assert_eq!(f["ansible_distribution"], "Debian");
        assert_eq!(f["ansible_memtotal_mb"], 24105);
        assert_eq!(f["ansible_default_ipv4"]["address"], "10.251.0.22");
        assert_eq!(f["gather_subset"], json!(["all"]));
        assert_eq!(f["module_setup"], true);
        assert!(!f.contains_key("ansible_python"));
    }

    #[test]
    fn filter_globs_on_the_prefixed_names() {
        let r = run(json!({"filter": ["ansible_distribution*", "ansible_?ostname"]})).unwrap();
        let mut names: Vec<&String> = facts(&r).keys().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "ansible_distribution",
                "ansible_distribution_major_version",
                "ansible_distribution_minor_version",
                "ansible_distribution_release",
                "ansible_distribution_version",
                "ansible_hostname",
            ]
        );
        let r = run(json!({"filter": "ansible_[dk]e*"})).unwrap();
        let names: Vec<&String> = facts(&r).keys().collect();
        assert_eq!(
            names,
            [
                "ansible_kernel",
                "ansible_kernel_version",
                "ansible_default_ipv4",
                "ansible_default_ipv6"
            ]
        );
    }

    #[test]
    fn gather_subset_as_ansible_resolves_it() {
        let min = run(json!({"gather_subset": ["!all"]})).unwrap();
        let f = facts(&min);
        assert!(f.contains_key("ansible_distribution") && f.contains_key("ansible_env"));
        assert!(!f.contains_key("ansible_memtotal_mb"));
        assert!(!f.contains_key("ansible_default_ipv4"));
        let net = run(json!({"gather_subset": ["!all", "network"]})).unwrap();
        assert!(facts(&net).contains_key("ansible_default_ipv4"));
        assert!(!facts(&net).contains_key("ansible_memtotal_mb"));
        // As in Ansible, an exclusion alone leaves the minimal subset.
        let no_hw = run(json!({"gather_subset": "!hardware"})).unwrap();
        assert!(!facts(&no_hw).contains_key("ansible_host0"));
        assert!(!facts(&no_hw).contains_key("ansible_processor_vcpus"));
        let all_but_hw = run(json!({"gather_subset": ["all", "!hardware"]})).unwrap();
        assert!(facts(&all_but_hw).contains_key("ansible_host0"));
        assert!(!facts(&all_but_hw).contains_key("ansible_processor_vcpus"));
        let e = run(json!({"gather_subset": ["bogus"]})).unwrap_err();
        assert!(e.starts_with("Bad subset 'bogus' given to Ansible"), "{e}");
    }

    #[test]
    fn garbage_output_is_an_error() {
        let task = SetupModule
            .prepare(Args::from_map(Map::new()), &FakeController::default())
            .unwrap();
        for junk in [&b"hello world\n"[..], b"\xff\xfe", b""] {
            let obs = Observed {
                stdout: junk.to_vec(),
                ..Observed::default()
            };
            assert!(task.plan(Some(&obs)).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn fnmatch() {
        assert!(glob("ansible_*", "ansible_env"));
        assert!(!glob("ansible_*", "module_setup"));
        assert!(glob("a[!b]c", "axc") && !glob("a[!b]c", "abc"));
        assert!(glob("x[0-9]", "x5") && !glob("x[0-9]", "xa"));
        assert!(glob("[", "[") && !glob("a?", "a"));
    }
}
