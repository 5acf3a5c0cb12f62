//! `package`: Ansible's generic package module. Ansible hands the task to
//! the host's package manager module with all its arguments; tend's hosts
//! are Debian, so this is `apt` (the same task, see `apt.rs`) plus `use`.

use crate::apt::{AptTask, PARAMS as APT_PARAMS};
use crate::{Args, Controller, Kind, Module, Param, ParamError, Task};

pub struct PackageModule;

/// apt's parameters and `use`.
const PARAMS: [Param; APT_PARAMS.len() + 1] = {
    let mut out = [Param::new("use", Kind::Str); APT_PARAMS.len() + 1];
    let mut i = 0;
    while i < APT_PARAMS.len() {
        out[i] = APT_PARAMS[i];
        i += 1;
    }
    out
};

impl Module for PackageModule {
    fn name(&self) -> &'static str {
        "package"
    }
    fn params(&self) -> &'static [Param] {
        &PARAMS
    }
    fn prepare(&self, args: Args, ctx: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        match args.str("use").unwrap_or("auto") {
            "auto" | "apt" | "ansible.builtin.apt" | "ansible.legacy.apt" => {}
            other => {
                return Err(ParamError::new(
                    "use",
                    format!(
                        "package manager '{other}' is not supported by tend: its hosts are Debian, managed with apt (use: auto or apt)"
                    ),
                ));
            }
        }
        Ok(Box::new(AptTask::new(&args, ctx)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debug::testing::FakeController;
    use crate::{Map, Observed};
    use serde_json::json;

    fn task(args: serde_json::Value) -> Result<Box<dyn Task>, String> {
        let map: Map = args.as_object().cloned().unwrap_or_default();
        let args = Args::check(&PARAMS, &map, false).map_err(|e| e.message)?;
        PackageModule
            .prepare(args, &FakeController::default())
            .map_err(|e| e.message)
    }

    #[test]
    fn it_is_apt() {
        let t =
            task(json!({"name": ["hello", "tree"], "state": "present", "use": "auto"})).unwrap();
        let probe = t.probe().unwrap();
        assert!(probe.contains("dpkg-query -W"), "{probe}");
        let out = "== dpkg\nhello install ok installed 2.10-3\n== dpkg-rc 1\n== policy\nhello:\n  Installed: 2.10-3\n  Candidate: 2.10-3\n  Version table:\n *** 2.10-3 500\n        500 http://repo ./ Packages\ntree:\n  Installed: (none)\n  Candidate: 2.1.0-1\n  Version table:\n     2.1.0-1 500\n        500 http://repo ./ Packages\n== policy-rc 0\n== cache\n100\n200\n";
        let obs = Observed {
            stdout: out.as_bytes().to_vec(),
            ..Observed::default()
        };
        let plan = t.plan(Some(&obs)).unwrap();
        assert!(plan.changed);
        assert_eq!(plan.diff[0].after, "tree: 2.1.0-1\n");
        assert!(
            plan.steps[0].script.contains("install tree\n"),
            "{}",
            plan.steps[0].script
        );
    }

    #[test]
    fn apt_parameters_pass_through_and_other_managers_are_refused() {
        assert!(
            task(json!({"name": "hello", "update_cache": true, "cache_valid_time": 60})).is_ok()
        );
        let e = task(json!({"name": "hello", "use": "dnf"})).err().unwrap();
        assert!(e.contains("'dnf' is not supported"), "{e}");
        let e = task(json!({"name": "hello", "colour": "red"}))
            .err()
            .unwrap();
        assert!(e.contains("unknown parameter 'colour'"), "{e}");
    }
}
