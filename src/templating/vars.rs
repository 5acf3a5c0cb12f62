//! The variables a template sees: `Vars`, layers of variables that later
//! layers override, plus where `hostvars` comes from.
//!
//! The engine builds a `Vars` per host and task from shared layers (defaults,
//! inventory, play vars, registered results...), so building one must be
//! cheap: layers are `Arc`s and nothing is converted up front; `context.rs`
//! reads them lazily during a render.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

/// Where `hostvars` gets other hosts' variables from, on demand.
pub trait HostVars: Send + Sync {
    /// Every host name, for iterating over `hostvars`.
    fn host_names(&self) -> Vec<String>;
    /// The variables of one host, or `None` if there is no such host.
    fn host_vars(&self, host: &str) -> Option<Vars>;
}

/// `HostVars` from the host names and a function, for an engine that keeps
/// hosts' variables in its own structures.
pub struct HostVarsFn<F> {
    pub names: Vec<String>,
    pub get: F,
}

impl<F: Fn(&str) -> Option<Vars> + Send + Sync> HostVars for HostVarsFn<F> {
    fn host_names(&self) -> Vec<String> {
        self.names.clone()
    }
    fn host_vars(&self, host: &str) -> Option<Vars> {
        (self.get)(host)
    }
}

impl HostVars for BTreeMap<String, Vars> {
    fn host_names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
    fn host_vars(&self, host: &str) -> Option<Vars> {
        self.get(host).cloned()
    }
}

impl HostVars for HashMap<String, Vars> {
    fn host_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.keys().cloned().collect();
        names.sort();
        names
    }
    fn host_vars(&self, host: &str) -> Option<Vars> {
        self.get(host).cloned()
    }
}

impl HostVars for indexmap::IndexMap<String, Vars> {
    fn host_names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
    fn host_vars(&self, host: &str) -> Option<Vars> {
        self.get(host).cloned()
    }
}

#[derive(Clone)]
struct Layer {
    map: Arc<Map<String, Json>>,
    /// Whether strings in this layer are templates (play vars) or data
    /// (registered results, facts: Ansible marks those unsafe).
    templated: bool,
}

/// The variables of one host for one task: layers, later ones winning.
#[derive(Clone, Default)]
pub struct Vars {
    layers: Vec<Layer>,
    pub(super) hostvars: Option<Arc<dyn HostVars>>,
    pub(super) search_paths: Vec<PathBuf>,
}

impl Vars {
    /// No variables.
    pub fn new() -> Vars {
        Vars::default()
    }

    /// Adds a layer that wins over the earlier ones. Strings in it that contain
    /// `{{`/`{%` are templated when read, as Ansible does with play variables.
    pub fn push_layer(&mut self, layer: Arc<Map<String, Json>>) {
        self.layers.push(Layer {
            map: layer,
            templated: true,
        });
    }

    /// Adds a layer whose strings are data, never templated: registered
    /// results and facts, whose text may contain `{{` legitimately.
    pub fn push_unsafe_layer(&mut self, layer: Arc<Map<String, Json>>) {
        self.layers.push(Layer {
            map: layer,
            templated: false,
        });
    }

    /// Sets one variable verbatim (not templated) on top of every layer, e.g.
    /// the loop's `item`, whose value is already rendered.
    pub fn set(&mut self, name: impl Into<String>, value: Json) {
        let mut map = Map::new();
        map.insert(name.into(), value);
        self.push_unsafe_layer(Arc::new(map));
    }

    /// Where `hostvars[host]` finds other hosts' variables.
    pub fn set_hostvars(&mut self, hostvars: Arc<dyn HostVars>) {
        self.hostvars = Some(hostvars);
    }

    /// A controller directory where `lookup('file', ...)` and friends look for
    /// relative paths (a role's dir, the playbook's dir); each is also searched
    /// for a `files/` subdirectory, as Ansible does. Earlier paths win.
    pub fn add_search_path(&mut self, dir: impl Into<PathBuf>) {
        self.search_paths.push(dir.into());
    }

    /// The raw (untemplated) value of a variable.
    pub fn get(&self, name: &str) -> Option<Json> {
        self.find(name).map(|(v, _)| v.clone())
    }

    /// Whether any layer defines `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// Every variable name, each once.
    pub fn names(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        let mut names = Vec::new();
        for layer in self.layers.iter().rev() {
            for key in layer.map.keys() {
                if seen.insert(key.as_str()) {
                    names.push(key.clone());
                }
            }
        }
        names
    }

    /// The raw value and whether its layer is templated.
    fn find(&self, name: &str) -> Option<(&Json, bool)> {
        self.layers
            .iter()
            .rev()
            .find_map(|l| l.map.get(name).map(|v| (v, l.templated)))
    }

    /// The layer that defines `name`, and whether it is templated.
    pub(super) fn layer_of(&self, name: &str) -> Option<(&Arc<Map<String, Json>>, bool)> {
        self.layers
            .iter()
            .rev()
            .find(|l| l.map.contains_key(name))
            .map(|l| (&l.map, l.templated))
    }
}

impl fmt::Debug for Vars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vars")
            .field("layers", &self.layers.len())
            .field("hostvars", &self.hostvars.is_some())
            .field("search_paths", &self.search_paths)
            .finish()
    }
}
