//! Fact gathering: the "Gathering Facts" task runs the `setup` module's
//! script (`tend_modules::facts`) in one round trip, so `gather_facts` and
//! `setup` give the same facts. Facts live in their own variable layer:
//! `ansible_facts.NAME` and `ansible_NAME`, as Ansible injects them.

use std::sync::Arc;

use serde_json::Value;

use super::host::{HostMemory, HostRun};
use super::outcome::{Map, Outcome, Status};
use crate::playbook::{Task, TaskAction};

impl HostRun<'_, '_> {
    pub fn gather_facts(&mut self) -> Outcome {
        let out = match self
            .mem
            .transport
            .exec(tend_modules::facts::script(), None, None)
        {
            Ok(o) => o,
            Err(e) => {
                let mut result = Map::new();
                result.insert("unreachable".into(), Value::Bool(true));
                result.insert("msg".into(), Value::String(e.message));
                return Outcome::new(Status::Unreachable, result);
            }
        };
        if out.truncated {
            return Outcome::failed(format!(
                "the host answered fact gathering with more than {} MiB of output; tend does not read facts from part of an answer",
                crate::transport::OUTPUT_CAP >> 20
            ));
        }
        let facts = match tend_modules::facts::gather(&out.stdout) {
            Ok(f) => f,
            Err(e) => return Outcome::failed(e.msg),
        };
        // The task's result is what Ansible's setup returns: prefixed names.
        let mut returned: Map = facts
            .iter()
            .map(|(k, v)| (format!("ansible_{k}"), v.clone()))
            .collect();
        returned.insert("gather_subset".into(), Value::from(vec!["all"]));
        returned.insert("module_setup".into(), Value::Bool(true));
        self.mem.set_facts(facts);
        self.ctx.publish_hostvars(&self.mem.name, self.mem);
        let mut result = Map::new();
        result.insert("ansible_facts".into(), Value::Object(returned));
        result.insert("changed".into(), Value::Bool(false));
        Outcome::new(Status::Ok, result)
    }

    /// Facts a module returned (`setup`'s `ansible_facts`) join the
    /// gathered ones, as in Ansible; `set_fact` sets host variables
    /// instead, and `debug` of `ansible_facts` only shows them.
    pub(super) fn merge_returned_facts(&mut self, task: &Task, facts: &[Map]) {
        let TaskAction::Module { module, .. } = &task.action else {
            return;
        };
        if facts.is_empty() || matches!(module.name(), "set_fact" | "debug") {
            return;
        }
        for f in facts {
            self.mem.merge_facts(f);
        }
        self.ctx.publish_hostvars(&self.mem.name, self.mem);
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

    /// Adds facts as a module returns them (`ansible_hostname`,
    /// `module_setup`): each is a variable under its own name, and under
    /// `ansible_facts` without the `ansible_` prefix. Later facts win.
    pub fn merge_facts(&mut self, returned: &Map) {
        let mut layer = (*self.facts).clone();
        let mut ns = layer
            .get("ansible_facts")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (k, v) in returned {
            let short = k.strip_prefix("ansible_").unwrap_or(k);
            ns.insert(short.to_string(), v.clone());
            layer.insert(k.clone(), v.clone());
        }
        layer.insert("ansible_facts".into(), Value::Object(ns));
        self.facts = Arc::new(layer);
    }

    pub fn facts_layer(&self) -> Arc<Map> {
        self.facts.clone()
    }
}
