//! `group`: manages a local group with groupadd, groupmod and groupdel, as
//! `ansible.builtin.group` does on Linux: `gid` is set on creation and
//! changed when it differs, `system` only matters on creation, `force`
//! deletes a group that is some user's primary group. The probe is one
//! `getent group NAME`.

use crate::shell::quote;
use crate::user::{self, check_name};
use crate::{Args, Controller, Diff, Kind, Map, Module, Observed, Param, ParamError, Plan, Step};
use crate::{StepOutput, Task, TaskError};

pub struct GroupModule;

const PARAMS: &[Param] = &[
    Param::new("name", Kind::Str).required(),
    Param::new("state", Kind::Str).choices(&["present", "absent"]),
    Param::new("gid", Kind::Int),
    Param::new("system", Kind::Bool),
    Param::new("force", Kind::Bool),
    Param::new("non_unique", Kind::Bool),
    Param::new("local", Kind::Bool),
];

struct GroupTask {
    name: String,
    present: bool,
    gid: Option<u32>,
    system: bool,
    force: bool,
    non_unique: bool,
}

impl Module for GroupModule {
    fn name(&self) -> &'static str {
        "group"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn prepare(&self, args: Args, _: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        if args.bool("local") == Some(true) {
            return Err(ParamError::new(
                "local",
                "parameter 'local' is not supported by tend yet",
            ));
        }
        let name = args.req_str("name")?.to_string();
        check_name("group", &name).map_err(|e| ParamError::new("name", e))?;
        let gid =
            match args.int("gid") {
                Some(n) => Some(u32::try_from(n).map_err(|_| {
                    ParamError::new("gid", format!("gid must be 0 or more, got {n}"))
                })?),
                None => None,
            };
        let non_unique = args.bool_or("non_unique", false);
        if non_unique && gid.is_none() {
            return Err(ParamError::general(
                "non_unique is True but all of the following are missing: gid",
            ));
        }
        Ok(Box::new(GroupTask {
            name,
            present: args.str("state") != Some("absent"),
            gid,
            system: args.bool_or("system", false),
            force: args.bool_or("force", false),
            non_unique,
        }))
    }
}

impl GroupTask {
    fn gid_flags(&self, gid: u32) -> String {
        if self.non_unique {
            format!("-g {gid} -o")
        } else {
            format!("-g {gid}")
        }
    }
}

impl Task for GroupTask {
    fn probe(&self) -> Option<String> {
        Some(user::group_script(&self.name))
    }

    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        let obs = observed.ok_or_else(|| TaskError::new("the group probe did not run"))?;
        if obs.rc != 0 {
            return Err(TaskError::new(format!(
                "the group probe failed (rc {}): {}",
                obs.rc,
                String::from_utf8_lossy(&obs.stderr).trim()
            )));
        }
        let found = user::parse_group_probe(&self.name, &obs.stdout)?;
        let mut result = Map::new();
        result.insert("name".into(), self.name.clone().into());
        let state = if self.present { "present" } else { "absent" };
        result.insert("state".into(), state.into());
        let header = format!("group {}", self.name);
        let n = quote(&self.name);
        let mut plan = match (self.present, found) {
            (false, None) => Plan::unchanged(result),
            (false, Some(_)) => {
                let force = if self.force { "-f " } else { "" };
                let step = Step::script(format!("groupdel {force}-- {n}\n"));
                Plan::change(vec![step], result).with_diff(Diff::new(
                    &header,
                    "state: present\n",
                    "state: absent\n",
                ))
            }
            (true, None) => {
                let mut flags = String::new();
                let mut after = String::from("state: present\n");
                if let Some(gid) = self.gid {
                    flags.push_str(&self.gid_flags(gid));
                    flags.push(' ');
                    after.push_str(&format!("gid: {gid}\n"));
                }
                if self.system {
                    flags.push_str("-r ");
                    after.push_str("system: true\n");
                }
                result.insert("system".into(), self.system.into());
                let step = Step::script(format!(
                    "set -e\ngroupadd {flags}-- {n}\nprintf 'final %s\\n' \"$(getent group -- {n})\"\n"
                ));
                Plan::change(vec![step], result).with_diff(Diff::new(
                    &header,
                    "state: absent\n",
                    after,
                ))
            }
            (true, Some(g)) => {
                result.insert("system".into(), self.system.into());
                match self.gid.filter(|gid| *gid != g.gid) {
                    None => {
                        result.insert("gid".into(), g.gid.into());
                        Plan::unchanged(result)
                    }
                    Some(gid) => {
                        result.insert("gid".into(), gid.into());
                        let step =
                            Step::script(format!("groupmod {} -- {n}\n", self.gid_flags(gid)));
                        Plan::change(vec![step], result).with_diff(Diff::new(
                            &header,
                            format!("gid: {}\n", g.gid),
                            format!("gid: {gid}\n"),
                        ))
                    }
                }
            }
        };
        plan.result.insert("changed".into(), plan.changed.into());
        Ok(plan)
    }

    /// A new group's gid comes from the step's last line.
    fn finish(&self, plan: &Plan, outputs: &[StepOutput]) -> Result<Map, TaskError> {
        let mut result = plan.result.clone();
        for out in outputs {
            let text = String::from_utf8_lossy(&out.stdout);
            let line = text.lines().find_map(|l| l.strip_prefix("final "));
            let probe = line.map(|l| format!("group {l}\nend\n"));
            if let Some(Some(g)) =
                probe.and_then(|p| user::parse_group_probe(&self.name, p.as_bytes()).ok())
            {
                result.insert("gid".into(), g.gid.into());
            }
            let err = String::from_utf8_lossy(&out.stderr);
            if !err.trim().is_empty() {
                result.insert("stderr".into(), err.trim_end().to_string().into());
            }
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;
    use serde_json::json;

    fn task(args: Value) -> Result<Box<dyn Task>, String> {
        let map = args.as_object().cloned().unwrap_or_default();
        let args = Args::check(PARAMS, &map, false).map_err(|e| e.message)?;
        let ctx = crate::debug::testing::FakeController::default();
        GroupModule.prepare(args, &ctx).map_err(|e| e.message)
    }

    fn run(args: Value, out: &str) -> Result<Plan, String> {
        let obs = Observed {
            stdout: out.as_bytes().to_vec(),
            ..Observed::default()
        };
        task(args)?.plan(Some(&obs)).map_err(|e| e.msg)
    }

    #[test]
    fn creates_a_system_group_with_a_gid() {
        let p = run(json!({"name": "web", "gid": 1500, "system": true}), "end\n").unwrap();
        assert!(p.changed);
        assert!(
            p.steps[0].script.contains("groupadd -g 1500 -r -- web\n"),
            "{}",
            p.steps[0].script
        );
        assert_eq!(p.diff[0].before, "state: absent\n");
        assert_eq!(p.diff[0].after, "state: present\ngid: 1500\nsystem: true\n");
        assert_eq!(p.result["system"], true);
        let out = StepOutput {
            stdout: b"final web:x:1500:\n".to_vec(),
            ..StepOutput::default()
        };
        let t = task(json!({"name": "web"})).unwrap();
        assert_eq!(t.finish(&p, &[out]).unwrap()["gid"], 1500);
    }

    #[test]
    fn same_gid_is_no_change_and_another_is_groupmod() {
        let p = run(
            json!({"name": "web", "gid": 1500}),
            "group web:x:1500:a\nend\n",
        )
        .unwrap();
        assert!(!p.changed);
        assert_eq!(p.result["gid"], 1500);
        assert_eq!(p.result["changed"], false);
        assert!(
            !run(json!({"name": "web"}), "group web:x:1500:\nend\n")
                .unwrap()
                .changed
        );
        let p = run(
            json!({"name": "web", "gid": 1600, "non_unique": true}),
            "group web:x:1500:\nend\n",
        )
        .unwrap();
        assert_eq!(p.steps[0].script, "groupmod -g 1600 -o -- web\n");
        assert_eq!(
            (p.diff[0].before.as_str(), p.diff[0].after.as_str()),
            ("gid: 1500\n", "gid: 1600\n")
        );
    }

    #[test]
    fn removes_a_group() {
        let p = run(
            json!({"name": "web", "state": "absent", "force": true}),
            "group web:x:1500:\nend\n",
        )
        .unwrap();
        assert_eq!(p.steps[0].script, "groupdel -f -- web\n");
        assert!(
            !run(json!({"name": "web", "state": "absent"}), "end\n")
                .unwrap()
                .changed
        );
    }

    #[test]
    fn errors() {
        let err = |v| task(v).err().unwrap_or_default();
        assert!(err(json!({"name": "web", "local": true})).contains("not supported"));
        assert!(err(json!({"name": "web", "non_unique": true})).contains("gid"));
        assert!(err(json!({"name": "a b"})).contains("invalid group name"));
        assert!(err(json!({"name": "web", "gid": -5})).contains("gid must be"));
        assert!(run(json!({"name": "web"}), "group web:x:abc:\nend\n").is_err());
        assert!(run(json!({"name": "web"}), "group web:x:1:\n").is_err());
        assert!(run(json!({"name": "web"}), "what\nend\n").is_err());
    }
}
