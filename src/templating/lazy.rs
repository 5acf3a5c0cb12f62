//! `LazyJson`: a list or map from a variable layer, shown to templates
//! without converting it. Items are converted when read, and in templated
//! layers their strings are rendered when read, key by key (as Ansible 2.19
//! does). So `app: {name: shop, dir: "/srv/{{ app.name }}"}` works, an
//! undefined in one key does not break the others, and reading one fact out
//! of a host's `ansible_facts` does not convert them all.

use std::fmt;
use std::sync::{Arc, Weak};

use minijinja::value::{Enumerator, Object, ObjectRepr, Value as MjValue};
use minijinja::{Error, ErrorKind};
use serde_json::{Map, Value as Json};

use super::context::Ctx;

#[derive(Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

pub(crate) struct LazyJson {
    /// Weak: the context caches its variables, which would make a cycle.
    /// Values never outlive the render that produced them.
    ctx: Weak<Ctx>,
    layer: Arc<Map<String, Json>>,
    var: String,
    path: Vec<Seg>,
    templated: bool,
}

impl LazyJson {
    pub(crate) fn new(
        ctx: &Arc<Ctx>,
        layer: Arc<Map<String, Json>>,
        var: &str,
        templated: bool,
    ) -> LazyJson {
        LazyJson {
            ctx: Arc::downgrade(ctx),
            layer,
            var: var.to_string(),
            path: Vec::new(),
            templated,
        }
    }

    fn node(&self) -> Option<&Json> {
        let mut node = self.layer.get(&self.var)?;
        for seg in &self.path {
            node = match seg {
                Seg::Key(k) => node.get(k)?,
                Seg::Index(i) => node.get(*i)?,
            };
        }
        Some(node)
    }

    fn child(&self, seg: Seg) -> Option<MjValue> {
        let json = match (self.node()?, &seg) {
            (Json::Object(map), Seg::Key(k)) => map.get(k)?,
            (Json::Array(items), Seg::Index(i)) => items.get(*i)?,
            _ => return None,
        };
        let Some(ctx) = self.ctx.upgrade() else {
            return Some(MjValue::from(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "'{}' was used after its template finished rendering",
                    self.var
                ),
            )));
        };
        let mut path = self.path.clone();
        path.push(seg);
        let display = display_name(&self.var, &path);
        let lazy = || LazyJson {
            ctx: self.ctx.clone(),
            layer: self.layer.clone(),
            var: self.var.clone(),
            path,
            templated: self.templated,
        };
        match ctx.value_of(json, self.templated, &display, lazy) {
            // Missing rather than undefined, so that minijinja names it.
            Ok(v) if v.is_undefined() => None,
            Ok(v) => Some(v),
            Err(err) => Some(MjValue::from(err)),
        }
    }
}

/// The name minijinja would print for this part of a variable: `app.dir`,
/// `ports[0]`, `x['a b']`.
fn display_name(var: &str, path: &[Seg]) -> String {
    let mut out = var.to_string();
    for seg in path {
        match seg {
            Seg::Key(k) if is_identifier(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Key(k) => out.push_str(&format!("['{k}']")),
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

impl fmt::Debug for LazyJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LazyJson({})", display_name(&self.var, &self.path))
    }
}

impl Object for LazyJson {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        match self.node() {
            Some(Json::Array(_)) => ObjectRepr::Seq,
            _ => ObjectRepr::Map,
        }
    }

    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        match self.node()? {
            Json::Array(items) => {
                let i = key.as_i64()?;
                let i = if i < 0 { i + items.len() as i64 } else { i };
                self.child(Seg::Index(usize::try_from(i).ok()?))
            }
            // YAML keys such as `80:` arrive as strings; let `d[80]` find them.
            Json::Object(_) => match key.as_str() {
                Some(k) => self.child(Seg::Key(k.to_string())),
                None if key.is_number() => self.child(Seg::Key(key.to_string())),
                None => None,
            },
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.node() {
            Some(Json::Array(items)) => Enumerator::Seq(items.len()),
            Some(Json::Object(map)) => {
                Enumerator::Values(map.keys().map(|k| MjValue::from(k.as_str())).collect())
            }
            _ => Enumerator::Empty,
        }
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        match self.node() {
            Some(Json::Array(items)) => Some(items.len()),
            Some(Json::Object(map)) => Some(map.len()),
            _ => Some(0),
        }
    }
}
