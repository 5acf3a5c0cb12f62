//! `hostvars`: every host's variables, readable from any host's templates.
//! Hosts publish their view (inventory vars, facts, set_fact and register
//! results) as it changes; readers see the latest.

use std::sync::{Arc, RwLock};

use indexmap::IndexMap;

use super::outcome::Map;
use crate::templating::{HostVars, Vars};

#[derive(Default)]
pub struct HostvarsTable {
    hosts: RwLock<IndexMap<String, Arc<Map>>>,
    /// `-e` variables: they win over every host's own, in `hostvars` too.
    extra_vars: Arc<Map>,
}

impl HostvarsTable {
    pub fn with_extra_vars(extra_vars: Map) -> Self {
        HostvarsTable {
            hosts: RwLock::default(),
            extra_vars: Arc::new(extra_vars),
        }
    }

    pub fn set(&self, host: &str, vars: Arc<Map>) {
        let mut hosts = self.hosts.write().unwrap_or_else(|e| e.into_inner());
        hosts.insert(host.to_string(), vars);
    }
}

impl HostVars for HostvarsTable {
    fn host_names(&self) -> Vec<String> {
        self.hosts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    fn host_vars(&self, host: &str) -> Option<Vars> {
        let layer = self
            .hosts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
            .cloned()?;
        let mut vars = Vars::new();
        vars.push_layer(layer);
        vars.push_layer(self.extra_vars.clone());
        Some(vars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extra_vars_win_over_a_hosts_own_in_hostvars() {
        let mut extra = Map::new();
        extra.insert("http_port".into(), json!(9000));
        let table = HostvarsTable::with_extra_vars(extra);
        let mut own = Map::new();
        own.insert("http_port".into(), json!(8081));
        own.insert("role".into(), json!("web"));
        table.set("web2", Arc::new(own));
        let vars = table.host_vars("web2").expect("web2 is known");
        assert_eq!(vars.get("http_port"), Some(json!(9000)));
        assert_eq!(vars.get("role"), Some(json!("web")));
        assert!(table.host_vars("nohost").is_none());
    }
}
