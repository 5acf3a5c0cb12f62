//! The variables a task sees on a host, layered by Ansible's precedence
//! (lowest first): an empty `ansible_facts`, role defaults, inventory,
//! facts, play vars, vars_files, role vars and params, block and task vars,
//! set_fact and register, extra vars, then the magic variables and the loop
//! variable.

use std::sync::{Arc, LazyLock};

use serde_json::Value;

use super::host::{HostRun, Scope};
use super::outcome::Map;
use crate::playbook::Keywords;
use crate::templating::Vars;

/// `ansible_facts` before any are gathered: an empty mapping, as Ansible
/// defines it for every host.
static NO_FACTS: LazyLock<Arc<Map>> = LazyLock::new(|| {
    let mut layer = Map::new();
    layer.insert("ansible_facts".into(), Value::Object(Map::new()));
    Arc::new(layer)
});

impl HostRun<'_, '_> {
    pub fn task_vars(&self, scope: &Scope, keywords: &Keywords, loop_vars: Option<Map>) -> Vars {
        let ctx = self.ctx;
        let mut vars = Vars::new();
        vars.push_unsafe_layer(NO_FACTS.clone());
        if let Some(role) = &scope.role {
            vars.push_layer(Arc::new(role.defaults.clone()));
        }
        vars.push_layer(self.mem.inventory_vars.clone());
        vars.push_unsafe_layer(self.mem.facts_layer());
        vars.push_layer(ctx.play_vars.clone());
        vars.push_layer(self.vars_files.clone());
        if let Some(role) = &scope.role {
            let mut layer = role.vars.clone();
            layer.extend(role.params.clone());
            vars.push_layer(Arc::new(layer));
        }
        if !keywords.vars.is_empty() {
            vars.push_layer(Arc::new(keywords.vars.clone()));
        }
        vars.push_unsafe_layer(self.mem.host_facts.clone());
        vars.push_layer(ctx.extra_vars.clone());
        // The play's magic variables hold every host's name (`groups`,
        // `play_hosts`...): shared, never copied per host and task.
        vars.push_layer(ctx.magic.clone());
        vars.push_layer(Arc::new(self.magic_vars(scope)));
        for (name, value) in loop_vars.into_iter().flatten() {
            vars.set(name, value);
        }
        vars.set_hostvars(ctx.hostvars.clone());
        vars
    }

    /// This host's own magic variables, above the play's.
    fn magic_vars(&self, scope: &Scope) -> Map {
        let ctx = self.ctx;
        let name = &self.mem.name;
        let mut m = Map::new();
        m.insert("inventory_hostname".into(), Value::String(name.clone()));
        let short = name.split('.').next().unwrap_or(name);
        m.insert(
            "inventory_hostname_short".into(),
            Value::String(short.to_string()),
        );
        let groups: Vec<Value> = ctx
            .inventory
            .group_names(name)
            .into_iter()
            .map(Value::String)
            .collect();
        m.insert("group_names".into(), Value::Array(groups));
        if let Some(role) = &scope.role {
            m.insert("role_name".into(), Value::String(role.name.clone()));
            m.insert(
                "role_path".into(),
                Value::String(role.path.display().to_string()),
            );
        }
        if let Some(result) = &self.failed_result {
            m.insert(
                "ansible_failed_result".into(),
                Value::Object(result.clone()),
            );
        }
        if let Some(task) = &self.failed_task {
            let mut t = Map::new();
            t.insert("name".into(), Value::String(task.clone()));
            m.insert("ansible_failed_task".into(), Value::Object(t));
        }
        m
    }
}
