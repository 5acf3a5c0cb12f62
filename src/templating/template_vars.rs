//! What the template module tells a template about itself, as Ansible's
//! `generate_ansible_template_vars` does: `template_path` (the task's
//! `src`), `template_fullpath`, `template_destpath`, `template_host` (the
//! controller's name), `template_uid` (the file's owner), `template_mtime`,
//! `template_run_date`, and `ansible_managed` unless the play sets it.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::Vars;
use super::datetime::DateTime;

/// Ansible's default `ansible_managed` (the `DEFAULT_MANAGED_STR` setting).
const ANSIBLE_MANAGED: &str = "Ansible managed";

/// A template file being rendered by the template module.
#[derive(Clone, Copy, Debug)]
pub struct TemplateSource<'a> {
    /// `src` as the task gave it.
    pub src: &'a str,
    /// Where `src` was found on the controller.
    pub fullpath: &'a Path,
    /// `dest` as the task gave it.
    pub dest: &'a str,
}

/// `vars` plus the template variables of `source`, which win over every
/// other variable (Ansible adds them to a copy of the task's variables).
pub fn with_template_vars(vars: &Vars, source: &TemplateSource<'_>) -> Vars {
    let mut out = vars.clone();
    out.push_unsafe_layer(Arc::new(template_vars(source)));
    if !vars.contains("ansible_managed") {
        // A template in Ansible (it may name {{ template_host }}...).
        let mut managed = Map::new();
        managed.insert("ansible_managed".into(), Json::from(ANSIBLE_MANAGED));
        out.push_layer(Arc::new(managed));
    }
    out
}

fn template_vars(source: &TemplateSource<'_>) -> Map<String, Json> {
    let meta = std::fs::metadata(source.fullpath).ok();
    let mut m = Map::new();
    m.insert("template_host".into(), Json::from(controller_name()));
    m.insert("template_path".into(), Json::from(source.src));
    m.insert(
        "template_fullpath".into(),
        Json::from(source.fullpath.display().to_string()),
    );
    m.insert("template_destpath".into(), Json::from(source.dest));
    if let Some(meta) = &meta {
        m.insert("template_uid".into(), owner_name(meta));
        if let Ok(mtime) = meta.modified() {
            let mtime = DateTime::from_system(mtime).to_string();
            m.insert("template_mtime".into(), Json::from(mtime));
        }
    }
    m.insert(
        "template_run_date".into(),
        Json::from(DateTime::now().to_string()),
    );
    m
}

/// The controller's host name, as Python's `os.uname()[1]`.
fn controller_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// The file owner's user name, or the uid when no user has it (as Ansible).
fn owner_name(meta: &std::fs::Metadata) -> Json {
    use std::os::unix::fs::MetadataExt;
    let uid = meta.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    user_with_uid(&passwd, uid).map_or_else(|| Json::from(uid), Json::from)
}

/// The name of the user with `uid` in an `/etc/passwd` text.
pub(crate) fn user_with_uid(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?;
        (id.parse() == Ok(uid)).then(|| name.to_string())
    })
}
