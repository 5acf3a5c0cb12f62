//! `nginx_site` (ours): one nginx site, `sites-available/NAME` plus its
//! `sites-enabled/NAME` link, kept in sync and never left broken.
//!
//! The site's text comes from `content`, a `template` rendered on the
//! controller, or the structured `upstreams` + `server` settings (see
//! `render.rs`). A change is carried out in one step on the host (see
//! `script.rs`): the new file is written atomically, the link made or
//! removed, `nginx -t` judges the result, and a rejected configuration is
//! rolled back to exactly what was there before, the task failing with
//! nginx's own message. nginx is reloaded only when what it serves changed:
//! not for a disabled site's file, never on a run that changes nothing.

mod render;
mod script;

use crate::content::{self, Sections};
use crate::probe::{FileKind, FileState};
use crate::{Args, Controller, Diff, Kind, Map, Module, Observed, Param, ParamError, Plan};
use crate::{StepOutput, Task, TaskError, Value};

pub struct NginxSiteModule;

const PARAMS: &[Param] = &[
    Param::new("name", Kind::Str).required(),
    Param::new("state", Kind::Str).choices(&["present", "absent"]),
    Param::new("enabled", Kind::Bool),
    Param::new("content", Kind::Str),
    Param::new("template", Kind::Str),
    Param::new("upstreams", Kind::Dict),
    Param::new("server", Kind::Any),
    Param::new("sites_available", Kind::Str),
    Param::new("sites_enabled", Kind::Str),
];

/// Where a site lives on the host.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub name: String,
    pub available_dir: String,
    pub enabled_dir: String,
    /// `sites-available/NAME`.
    pub file: String,
    /// `sites-enabled/NAME`.
    pub link: String,
    /// What the link holds: `../sites-available/NAME` when both
    /// directories share a parent, else the file's absolute path.
    pub target: String,
}

impl Paths {
    fn new(name: &str, available: &str, enabled: &str) -> Paths {
        let available = available.trim_end_matches('/').to_string();
        let enabled = enabled.trim_end_matches('/').to_string();
        let split = |p: &str| {
            p.rsplit_once('/')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        };
        let target = match (split(&available), split(&enabled)) {
            (Some((pa, base)), Some((pe, _))) if pa == pe => format!("../{base}/{name}"),
            _ => format!("{available}/{name}"),
        };
        Paths {
            name: name.to_string(),
            file: format!("{available}/{name}"),
            link: format!("{enabled}/{name}"),
            available_dir: available,
            enabled_dir: enabled,
            target,
        }
    }

    /// Whether a link holding `target` leads to the site's file.
    fn links_here(&self, target: &str) -> bool {
        target == self.target || target == self.file
    }
}

struct SiteTask {
    paths: Paths,
    /// The site's text; `None` for `state: absent`, or when only the link
    /// is managed (`link_only`).
    content: Option<Vec<u8>>,
    /// `enabled` without a source: the file stays as it is (Debian's
    /// `default` site, a site written by hand), only the link follows.
    link_only: bool,
    sha1: Option<String>,
    enabled: bool,
}

impl Module for NginxSiteModule {
    fn name(&self) -> &'static str {
        "nginx_site"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn prepare(&self, args: Args, ctx: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        let name = args.req_str("name")?;
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\n']) {
            return Err(ParamError::new(
                "name",
                format!("name must be a file name (no '/'), got {name:?}"),
            ));
        }
        let dir = |key: &str, default: &str| -> Result<String, ParamError> {
            let d = args.str(key).unwrap_or(default);
            if !d.starts_with('/') || d.trim_end_matches('/').is_empty() {
                return Err(ParamError::new(
                    key,
                    format!("{key} must be an absolute directory, got {d:?}"),
                ));
            }
            Ok(d.to_string())
        };
        let paths = Paths::new(
            name,
            &dir("sites_available", "/etc/nginx/sites-available")?,
            &dir("sites_enabled", "/etc/nginx/sites-enabled")?,
        );
        let present = args.str("state") != Some("absent");
        let sources: Vec<&str> = ["content", "template", "upstreams", "server"]
            .into_iter()
            .filter(|k| args.has(k))
            .collect();
        let structured = sources.iter().all(|s| ["upstreams", "server"].contains(s));
        if sources.len() > 1 && !structured {
            return Err(ParamError::general(format!(
                "parameters are mutually exclusive: {} (give content, template, or upstreams/server)",
                sources.join("|")
            )));
        }
        let link_only = present && sources.is_empty() && args.has("enabled");
        let content = match sources.first().copied() {
            _ if !present || link_only => None,
            None => {
                return Err(ParamError::general(
                    "state=present needs one of content, template, or upstreams/server (or only `enabled`, to link or unlink the file as it is)",
                ));
            }
            Some("content") => args.string("content").map(String::into_bytes),
            Some("template") => Some(template(&args, ctx)?),
            Some(_) => Some(structured_text(&args)?),
        };
        Ok(Box::new(SiteTask {
            sha1: content.as_deref().map(content::sha1_hex),
            content,
            link_only,
            enabled: args.bool_or("enabled", true),
            paths,
        }))
    }
}

fn template(args: &Args, ctx: &dyn Controller) -> Result<Vec<u8>, ParamError> {
    let src = args.req_str("template")?;
    let bytes = ctx.read_src(src, "templates").map_err(|e| {
        ParamError::new("template", format!("could not read template '{src}': {e}"))
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| ParamError::new("template", format!("template '{src}' is not UTF-8")))?;
    ctx.render(&text)
        .map(String::into_bytes)
        .map_err(|e| ParamError::new("template", format!("template '{src}': {e}")))
}

fn structured_text(args: &Args) -> Result<Vec<u8>, ParamError> {
    let servers = match args.value("server") {
        None => Vec::new(),
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        Some(_) => {
            return Err(ParamError::new(
                "server",
                "server must be a mapping of settings (or a list of them)",
            ));
        }
    };
    let text = render::render(args.dict("upstreams"), &servers).map_err(|e| {
        ParamError::new(
            if servers.is_empty() {
                "upstreams"
            } else {
                "server"
            },
            e,
        )
    })?;
    Ok(text.into_bytes())
}

impl Task for SiteTask {
    fn probe(&self) -> Option<String> {
        let p = &self.paths;
        let mut s = content::file_section("file", &p.file, false, true, self.sha1.as_deref());
        s.push_str(&content::file_section("link", &p.link, false, false, None));
        s.push_str("echo '== dirs'\n");
        for d in [&p.available_dir, &p.enabled_dir] {
            let d = crate::shell::quote(d);
            s.push_str(&format!(
                "if [ -d {d} ]; then echo dir; elif [ -e {d} ]; then echo other; else echo none; fi\n"
            ));
        }
        Some(s)
    }

    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        let secs = Sections::parse(observed)?;
        let p = &self.paths;
        let (file, _) = secs.file("file")?;
        let (link, _) = secs.file("link")?;
        let dirs = secs.words("dirs")?;
        let [avail_dir, enabled_dir] = dirs[..] else {
            return Err(TaskError::new(
                "the nginx_site probe printed an incomplete 'dirs' section",
            ));
        };
        for (kind, path) in [(&file, &p.file), (&link, &p.link)] {
            if kind.kind == Some(FileKind::Directory) {
                return Err(TaskError::new(format!("{path} is a directory")));
            }
        }
        let linked = link.kind == Some(FileKind::Link)
            && link.link_target.as_deref().is_some_and(|t| p.links_here(t));
        let mut result = Map::new();
        result.insert("name".into(), p.name.clone().into());
        result.insert("path".into(), p.file.clone().into());
        result.insert("link".into(), p.link.clone().into());
        let header = format!("nginx_site {}", p.name);
        if self.link_only {
            return link_only(p, &file, &link, linked, self.enabled, result, &header);
        }
        let Some(content) = &self.content else {
            result.insert("state".into(), "absent".into());
            result.insert("enabled".into(), false.into());
            return Ok(absent(p, &file, &link, linked, result, &header));
        };
        result.insert("state".into(), "present".into());
        result.insert("enabled".into(), self.enabled.into());
        for (state, dir, needed) in [
            (avail_dir, &p.available_dir, true),
            (enabled_dir, &p.enabled_dir, self.enabled),
        ] {
            if needed && state != "dir" {
                return Err(TaskError::new(format!(
                    "{dir} is not a directory: is nginx installed (with Debian's sites-available/sites-enabled layout)?"
                )));
            }
        }
        let same = file.kind == Some(FileKind::File) && file.sha1 == self.sha1;
        let link_exists = link.exists();
        let relink = self.enabled && !linked;
        let unlink = !self.enabled && link_exists;
        let mut plan = Plan::unchanged(result);
        if !same {
            plan.diff
                .push(content::content_diff(&p.file, &file, content));
        }
        if relink || unlink {
            plan.diff.push(Diff::new(
                &header,
                format!("enabled: {}\n", describe_link(&link, linked)),
                format!("enabled: {}\n", self.enabled),
            ));
        }
        if !same || relink || unlink {
            let link = match (relink, unlink) {
                (true, _) => script::Link::Make,
                (_, true) => script::Link::Remove,
                _ => script::Link::Keep,
            };
            let change = script::Change {
                write: (!same).then(|| content.clone()),
                remove_file: false,
                link,
                live: relink || unlink || (self.enabled && !same),
            };
            plan.steps.push(script::step(p, &change));
            plan.changed = true;
        }
        plan.result.insert("changed".into(), plan.changed.into());
        Ok(plan)
    }

    fn finish(&self, plan: &Plan, outputs: &[StepOutput]) -> Result<Map, TaskError> {
        let mut result = plan.result.clone();
        let reloaded = outputs.iter().any(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l == "reloaded")
        });
        result.insert("reloaded".into(), reloaded.into());
        Ok(result)
    }
}

/// Only the link follows `enabled`; the file is not touched, and must
/// exist to be enabled. nginx is tested and reloaded when the link changes.
fn link_only(
    p: &Paths,
    file: &FileState,
    link: &FileState,
    linked: bool,
    enabled: bool,
    mut result: Map,
    header: &str,
) -> Result<Plan, TaskError> {
    result.insert("state".into(), "present".into());
    result.insert("enabled".into(), enabled.into());
    if enabled && file.kind != Some(FileKind::File) {
        return Err(TaskError::new(format!(
            "{} does not exist: give content, template or upstreams/server to write it",
            p.file
        )));
    }
    let link_step = match (enabled, linked, link.exists()) {
        (true, false, _) => script::Link::Make,
        (false, _, true) => script::Link::Remove,
        _ => {
            result.insert("changed".into(), false.into());
            return Ok(Plan::unchanged(result));
        }
    };
    let mut plan = Plan::unchanged(result).with_diff(Diff::new(
        header,
        format!("enabled: {}\n", describe_link(link, linked)),
        format!("enabled: {enabled}\n"),
    ));
    let change = script::Change {
        write: None,
        remove_file: false,
        link: link_step,
        live: true,
    };
    plan.steps.push(script::step(p, &change));
    plan.changed = true;
    plan.result.insert("changed".into(), true.into());
    Ok(plan)
}

/// `state: absent`: the file and the link go; nginx is tested and reloaded
/// only if the site was live.
fn absent(
    p: &Paths,
    file: &FileState,
    link: &FileState,
    linked: bool,
    mut result: Map,
    header: &str,
) -> Plan {
    if !file.exists() && !link.exists() {
        result.insert("changed".into(), false.into());
        return Plan::unchanged(result);
    }
    let mut plan = Plan::unchanged(result);
    if file.exists() {
        plan.diff.push(content::content_diff(&p.file, file, b""));
    }
    if link.exists() {
        plan.diff.push(Diff::new(
            header,
            format!("enabled: {}\n", describe_link(link, linked)),
            "enabled: false\n",
        ));
    }
    let link_step = if link.exists() {
        script::Link::Remove
    } else {
        script::Link::Keep
    };
    let change = script::Change {
        write: None,
        remove_file: file.exists(),
        link: link_step,
        live: link.exists(),
    };
    plan.steps.push(script::step(p, &change));
    plan.changed = true;
    plan.result.insert("changed".into(), true.into());
    plan
}

/// How the `enabled` line shows what is at the link's path now.
fn describe_link(link: &FileState, linked: bool) -> String {
    match (link.kind, &link.link_target) {
        (None, _) => "false".into(),
        _ if linked => "true".into(),
        (Some(FileKind::Link), Some(t)) => format!("a link to {t}"),
        _ => "a file, not a link".into(),
    }
}

#[cfg(test)]
mod tests;
