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
}

impl HostvarsTable {
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
        Some(vars)
    }
}
