//! The render context: a minijinja `Object` that answers lookups from `Vars`
//! layer by layer, converting only the variables a template touches, once per
//! render, and `hostvars`, which builds other hosts' contexts on demand.
//!
//! Like Ansible, variables are templated lazily: a variable whose value is
//! `"{{ other }}"` is rendered when it is read, in the same context, with a
//! stack of the variables being resolved so that a loop (`a: "{{ b }}"`,
//! `b: "{{ a }}"`) is an error rather than a stack overflow. Lists and maps
//! are handed out as `LazyJson` (lazy.rs), templated key by key.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use minijinja::value::{Enumerator, Object, Value as MjValue};
use minijinja::{Environment, Error, ErrorKind};
use serde_json::Value as Json;

use super::convert::json_to_mj;
use super::error::{TemplateError, root_variable, undefined_name};
use super::lazy::LazyJson;
use super::render;
use super::vars::{HostVars, Vars};

/// The hidden variable through which lookups find the search paths.
pub(crate) const SEARCH_PATHS_VAR: &str = "__tend_search_paths";

/// How deep variables may refer to variables before we call it a loop. Each
/// level is a nested render on the Rust stack, and tokio worker threads have
/// small stacks, so this stays modest; real playbooks rarely go past 5.
const MAX_DEPTH: usize = 32;

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Whether `v` is a whole context (`vars`, `hostvars`): walking those means
/// resolving every variable, so deep checks skip them.
pub(crate) fn is_lazy(v: &MjValue) -> bool {
    v.downcast_object_ref::<Ctx>().is_some() || v.downcast_object_ref::<HostVarsObj>().is_some()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The render context: answers lookups from `Vars`, resolving lazily.
pub(crate) struct Ctx {
    env: Arc<Environment<'static>>,
    vars: Vars,
    cache: Mutex<HashMap<String, MjValue>>,
    resolving: Mutex<Vec<String>>,
    /// Variables that resolved to undefined, and the undefined name inside
    /// them, so that the final error names the real culprit.
    undefined_in: Mutex<Vec<(String, String)>>,
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx").field("vars", &self.vars).finish()
    }
}

impl Ctx {
    pub(crate) fn new(env: Arc<Environment<'static>>, vars: Vars) -> Arc<Ctx> {
        Arc::new(Ctx {
            env,
            vars,
            cache: Mutex::new(HashMap::new()),
            resolving: Mutex::new(Vec::new()),
            undefined_in: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn value(self: &Arc<Self>) -> MjValue {
        MjValue::from_dyn_object(self.clone())
    }

    /// Points an undefined-variable error at the variable that was really
    /// missing when the named one was a template referring to it. Without a
    /// name (an undefined nested in a variable's list or map), the variable
    /// that came out undefined last is the best guess.
    pub(crate) fn explain(&self, err: &mut TemplateError, undefined_kind: bool) {
        let records = lock(&self.undefined_in);
        let inner_of = |name: &str| {
            records
                .iter()
                .rev()
                .find(|(var, _)| var == name)
                .map(|(_, inner)| inner.clone())
        };
        let mut name = match (&err.undefined, records.last()) {
            (Some(name), _) => name.clone(),
            (None, Some((var, _))) if undefined_kind => var.clone(),
            _ => return,
        };
        let mut via = None;
        for _ in 0..MAX_DEPTH {
            match inner_of(&name).or_else(|| inner_of(root_variable(&name))) {
                Some(inner) => {
                    via.get_or_insert_with(|| name.clone());
                    name = inner;
                }
                None => break,
            }
        }
        if let Some(via) = via {
            err.message = format!("'{name}' is undefined (used by variable '{via}')");
            err.undefined = Some(name);
        }
    }

    fn lookup(self: &Arc<Self>, name: &str) -> Option<MjValue> {
        if let Some(v) = lock(&self.cache).get(name) {
            return Some(v.clone()).filter(|v| !v.is_undefined());
        }
        let value = match self.vars.layer_of(name) {
            Some((layer, templated)) => {
                let json = layer.get(name)?;
                let lazy = || LazyJson::new(self, layer.clone(), name, templated);
                // Errors are cached too: minijinja looks referenced names up
                // again to describe an error, which would redo a failing chain
                // at every level (exponential in its depth).
                self.value_of(json, templated, name, lazy)
                    .unwrap_or_else(MjValue::from)
            }
            None => match name {
                // The context itself is `vars`; not cached, which would be a cycle.
                "vars" => return Some(self.value()),
                "hostvars" => MjValue::from_object(HostVarsObj {
                    env: self.env.clone(),
                    source: self.vars.hostvars.clone()?,
                    hosts: Mutex::new(HashMap::new()),
                }),
                SEARCH_PATHS_VAR => MjValue::from(
                    self.vars
                        .search_paths
                        .iter()
                        .map(|p| MjValue::from(p.to_string_lossy().into_owned()))
                        .collect::<Vec<_>>(),
                ),
                _ => return None,
            },
        };
        lock(&self.cache).insert(name.to_string(), value.clone());
        // A variable whose template came out undefined is reported as missing,
        // so that minijinja's undefined value carries its name.
        Some(value).filter(|v| !v.is_undefined())
    }

    /// What a template sees for a variable, or part of one, named `display`:
    /// lists and maps stay lazy, strings of templated layers are rendered.
    pub(crate) fn value_of(
        self: &Arc<Self>,
        json: &Json,
        templated: bool,
        display: &str,
        lazy: impl FnOnce() -> LazyJson,
    ) -> Result<MjValue, Error> {
        match json {
            Json::String(s) if templated && render::is_template(s) => self.resolve(display, s),
            Json::Array(_) | Json::Object(_) => Ok(MjValue::from_object(lazy())),
            other => Ok(json_to_mj(other)),
        }
    }

    /// Renders a variable's template, guarding against loops. A template that
    /// comes out undefined gives undefined, not an error yet: `x | default`
    /// and `x is defined` must still work, as in Ansible.
    fn resolve(self: &Arc<Self>, name: &str, text: &str) -> Result<MjValue, Error> {
        {
            let mut stack = lock(&self.resolving);
            if stack.iter().any(|n| n == name) {
                let chain = stack.join(" -> ");
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("recursive loop detected in template: {chain} -> {name}"),
                ));
            }
            stack.push(name.to_string());
        }
        let depth = DEPTH.with(|d| {
            d.set(d.get() + 1);
            d.get()
        });
        let result = if depth > MAX_DEPTH {
            Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "variables refer to variables more than {MAX_DEPTH} levels deep \
                     (at '{name}'); is there a recursive loop?"
                ),
            ))
        } else {
            render::template_string(&self.env, &self.value(), text)
        };
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
        lock(&self.resolving).pop();
        match result {
            Err(err) if err.kind() == ErrorKind::UndefinedError => {
                if let Some(inner) = err.detail().and_then(undefined_name) {
                    lock(&self.undefined_in).push((name.to_string(), inner));
                }
                Ok(MjValue::UNDEFINED)
            }
            Err(err) => Err(in_variable(err, name)),
            ok => ok,
        }
    }
}

/// Says which variable an error happened in (once, at the innermost level).
fn in_variable(err: Error, name: &str) -> Error {
    let text = err
        .detail()
        .map(str::to_string)
        .unwrap_or_else(|| err.kind().to_string());
    let text = if text.contains("while templating variable") || text.contains("recursive loop") {
        text
    } else {
        format!("{text} (while templating variable '{name}')")
    };
    Error::new(err.kind(), text).with_source(err)
}

impl Object for Ctx {
    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        self.lookup(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<MjValue> {
        self.lookup(key)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.vars.names().into_iter().map(MjValue::from).collect())
    }
}

/// `hostvars`: other hosts' variables, each host's resolved in its own context.
struct HostVarsObj {
    env: Arc<Environment<'static>>,
    source: Arc<dyn HostVars>,
    hosts: Mutex<HashMap<String, MjValue>>,
}

impl fmt::Debug for HostVarsObj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("hostvars")
    }
}

impl Object for HostVarsObj {
    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        let host = key.as_str()?;
        if let Some(v) = lock(&self.hosts).get(host) {
            return Some(v.clone());
        }
        let mut vars = self.source.host_vars(host)?;
        if vars.hostvars.is_none() {
            vars.hostvars = Some(self.source.clone());
        }
        let value = Ctx::new(self.env.clone(), vars).value();
        lock(&self.hosts).insert(host.to_string(), value.clone());
        Some(value)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            self.source
                .host_names()
                .into_iter()
                .map(MjValue::from)
                .collect(),
        )
    }
}
