//! The apt plan: the request against what the probe saw.
//!
//! Only package states decide whether a task changes anything, as in
//! Ansible: a cache update that comes with packages runs first, whenever
//! the lists are older than `cache_valid_time` (so `state: latest` sees
//! the new versions), and it never makes a task "changed" by itself. A task that asks for nothing but a cache update is changed
//! whenever the lists are stale (always, without `cache_valid_time`).
//! Ansible calls it changed only when the update moved the lists' time,
//! which is known only after the update; the engine decides "changed"
//! before the steps run, so tend counts every update it runs.

use std::cmp::Ordering;

use super::observe::{Observation, Policy, Status};
use super::request::{Pin, Request, Spec, State};
use super::steps;
use super::version::{compare, glob_match};
use crate::{Diff, Map, Plan, Step, TaskError, Value};

/// The header of the package diff.
const HEADER: &str = "packages";

/// One package that changes: the diff line and apt-get's argument.
struct Change {
    name: String,
    before: String,
    after: String,
    arg: String,
}

/// Whether the task updates the lists before it looks at the packages.
pub(crate) fn stale(req: &Request, obs: &Observation) -> bool {
    req.update_cache
        && (req.cache_valid_time == 0 || obs.cache_time + req.cache_valid_time < obs.now)
}

/// The packages of `req` want fresh lists first: outside check mode the
/// engine runs this update, probes again, and `plan_refreshed` decides. A
/// task that only updates the cache is planned as the update itself.
pub(crate) fn refresh(req: &Request, obs: &Observation) -> Option<Step> {
    (!req.cache_only() && stale(req, obs)).then(|| steps::update(req))
}

/// The plan once `refresh` updated the lists.
pub(crate) fn plan_refreshed(req: &Request, obs: &Observation) -> Result<Plan, TaskError> {
    let mut plan = plan_with(req, obs, false)?;
    if plan.result.contains_key("cache_updated") {
        plan.result
            .insert("cache_updated".into(), Value::Bool(true));
    }
    Ok(plan)
}

/// The plan from the lists as they are. Under check mode, stale lists are
/// not updated (as in Ansible): a package they do not know yet is shown as
/// `present`, and the update is the first step of the plan.
pub(crate) fn plan(req: &Request, obs: &Observation) -> Result<Plan, TaskError> {
    plan_with(req, obs, stale(req, obs))
}

fn plan_with(req: &Request, obs: &Observation, stale: bool) -> Result<Plan, TaskError> {
    let (changes, step) = changes(req, obs, stale)?;
    let update_now = stale && (!changes.is_empty() || req.cache_only());
    let mut result = Map::new();
    // Ansible returns the cache fields where it installs packages or only
    // updates the cache, not from remove, autoremove or a deb.
    let reports_cache = if req.cache_only() {
        req.update_cache
    } else {
        req.state != State::Absent && req.deb.is_none()
    };
    if reports_cache {
        result.insert("cache_updated".into(), Value::Bool(update_now));
        result.insert("cache_update_time".into(), Value::from(obs.cache_time));
    }
    let mut plan_steps = Vec::new();
    if update_now {
        plan_steps.push(steps::update(req));
    }
    if let (false, Some(step)) = (changes.is_empty(), step) {
        plan_steps.push(step);
    }
    if plan_steps.is_empty() {
        return Ok(Plan::unchanged(result));
    }
    let mut diff = Diff::new(HEADER, "", "");
    if update_now && req.cache_only() {
        diff.before.push_str(&format!(
            "package lists: {}\n",
            age(obs.now - obs.cache_time, obs.cache_time)
        ));
        diff.after.push_str("package lists: updated now\n");
    }
    for c in &changes {
        diff.before.push_str(&format!("{}: {}\n", c.name, c.before));
        diff.after.push_str(&format!("{}: {}\n", c.name, c.after));
    }
    Ok(Plan::change(plan_steps, result).with_diff(diff))
}

/// The packages that change, and the step that changes them.
fn changes(
    req: &Request,
    obs: &Observation,
    stale: bool,
) -> Result<(Vec<Change>, Option<Step>), TaskError> {
    if req.deb.is_some() {
        return deb_changes(req, obs);
    }
    if req.specs.is_empty() {
        if !req.autoremove {
            return Ok((Vec::new(), None));
        }
        let changes = obs
            .autoremove
            .iter()
            .map(|(name, version)| Change {
                name: name.clone(),
                before: version.clone(),
                after: "absent".into(),
                arg: name.clone(),
            })
            .collect();
        return Ok((changes, Some(steps::autoremove(req))));
    }
    if req.state == State::Absent {
        let changes = absent_changes(req, obs);
        let names: Vec<String> = changes.iter().map(|c| c.arg.clone()).collect();
        let step = steps::remove(req, &names);
        return Ok((changes, Some(step)));
    }
    let changes = install_changes(req, obs, stale)?;
    let args: Vec<String> = changes.iter().map(|c| c.arg.clone()).collect();
    let step = steps::install(req, &args);
    Ok((changes, Some(step)))
}

/// How old the lists are, for the diff of a cache update.
fn age(seconds: i64, stamp: i64) -> String {
    if stamp <= 0 {
        return "never updated".into();
    }
    let s = seconds.max(0);
    let text = match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} days", s / 86400),
    };
    format!("updated {text} ago")
}

/// The package as dpkg sees it, for the `before` side of the diff.
fn shown(status: Option<&Status>) -> String {
    match status {
        Some(s) if s.installed() => s.version.clone(),
        Some(s) if s.config_files() => format!("absent (config files of {})", s.version),
        Some(s) if s.state == "not-installed" => "absent".into(),
        Some(s) => format!("{} {}", s.state, s.version),
        None => "absent".into(),
    }
}

fn install_changes(
    req: &Request,
    obs: &Observation,
    stale: bool,
) -> Result<Vec<Change>, TaskError> {
    let empty = Default::default();
    let policies = obs.policy.as_ref().unwrap_or(&empty);
    let mut changes = Vec::new();
    let mut missing = Vec::new();
    for spec in &req.specs {
        let status = obs.dpkg.get(&spec.name);
        let installed = status.filter(|s| s.installed()).map(|s| s.version.as_str());
        if installed.is_none() && req.only_upgrade {
            continue;
        }
        let policy = policies
            .get(&spec.query())
            .or_else(|| policies.get(&spec.name));
        let Some(policy) = policy else {
            if installed.is_some() && spec.pin.is_none() {
                continue;
            }
            if stale {
                // The package may come with the update; apt-get says so
                // if it does not.
                changes.push(Change {
                    name: spec.name.clone(),
                    before: shown(status),
                    after: "present".into(),
                    arg: spec.raw.clone(),
                });
            } else {
                missing.push(format!("'{}'", spec.name));
            }
            continue;
        };
        let Some(target) = target(req.state, spec, installed, policy)? else {
            continue;
        };
        if status.is_some_and(|s| s.want == "hold") && !req.allow_change_held {
            return Err(TaskError::new(format!(
                "{} is held at {} (apt-mark hold); set allow_change_held_packages: true to change it",
                spec.name,
                installed.unwrap_or("its version")
            )));
        }
        if let Some(have) = installed {
            if compare(&target, have) == Ordering::Less && !req.allow_downgrade {
                return Err(TaskError::new(format!(
                    "{}: installing {target} would downgrade it from {have}; set allow_downgrade: true to allow it",
                    spec.name
                )));
            }
        }
        let arg = if spec.pin.is_some() {
            format!("{}={target}", spec.query())
        } else {
            spec.query()
        };
        changes.push(Change {
            name: spec.name.clone(),
            before: shown(status),
            after: target,
            arg,
        });
    }
    if !missing.is_empty() {
        return Err(TaskError::new(format!(
            "No package matching {} is available",
            missing.join(", ")
        )));
    }
    Ok(changes)
}

/// The version to install, or `None` when the installed one will do.
fn target(
    state: State,
    spec: &Spec,
    installed: Option<&str>,
    policy: &Policy,
) -> Result<Option<String>, TaskError> {
    let none = || {
        TaskError::new(format!(
            "no available installation candidate for {}",
            spec.raw
        ))
    };
    let latest = state == State::Latest;
    let newer = |v: &str| installed.is_some_and(|have| compare(v, have).is_gt());
    match &spec.pin {
        None => match (installed, &policy.candidate) {
            (Some(_), Some(c)) if latest && newer(c) => Ok(Some(c.clone())),
            (Some(_), _) => Ok(None),
            (None, Some(c)) => Ok(Some(c.clone())),
            (None, None) => Err(none()),
        },
        Some(Pin::Exact(pattern)) => {
            let matches = installed.is_some_and(|v| glob_match(pattern, v));
            let best = policy
                .versions
                .iter()
                .filter(|v| glob_match(pattern, v))
                .max_by(|a, b| compare(a, b))
                .cloned();
            match (matches, best) {
                (true, Some(b)) if latest && newer(&b) => Ok(Some(b)),
                (true, _) => Ok(None),
                (false, Some(b)) => Ok(Some(b)),
                (false, None) => Err(none()),
            }
        }
        Some(Pin::AtLeast(min)) => {
            let enough = installed.is_some_and(|v| compare(v, min).is_ge());
            let candidate = policy.candidate.clone().filter(|c| compare(c, min).is_ge());
            match (enough, candidate) {
                (true, Some(c)) if latest && newer(&c) => Ok(Some(c)),
                (true, _) => Ok(None),
                (false, Some(c)) => Ok(Some(c)),
                (false, None) => Err(none()),
            }
        }
    }
}

/// Installed packages (of the pinned version, if pinned) are removed;
/// with `purge`, so are the configuration files of removed ones.
fn absent_changes(req: &Request, obs: &Observation) -> Vec<Change> {
    let mut changes = Vec::new();
    for spec in &req.specs {
        let Some(status) = obs.dpkg.get(&spec.name) else {
            continue;
        };
        let pinned = match &spec.pin {
            None => true,
            Some(Pin::Exact(p)) => glob_match(p, &status.version),
            Some(Pin::AtLeast(min)) => compare(&status.version, min).is_ge(),
        };
        // Half-installed packages have files on disk too.
        let present = status.installed()
            || matches!(
                status.state.as_str(),
                "unpacked" | "half-configured" | "half-installed"
            );
        if (present && pinned) || (req.purge && status.config_files()) {
            changes.push(Change {
                name: spec.name.clone(),
                before: shown(Some(status)),
                after: "absent".into(),
                arg: spec.query(),
            });
        }
    }
    changes
}

/// A `.deb` is installed unless that very version is.
fn deb_changes(req: &Request, obs: &Observation) -> Result<(Vec<Change>, Option<Step>), TaskError> {
    let (Some(deb), Some(file)) = (&obs.deb, &req.deb) else {
        return Err(TaskError::new("the apt probe did not read the deb"));
    };
    let status = obs.dpkg.get(&deb.package);
    let installed = status.filter(|s| s.installed()).map(|s| s.version.as_str());
    let step = Some(steps::install_deb(req, file));
    match installed {
        Some(have) if compare(have, &deb.version) == Ordering::Equal => Ok((Vec::new(), step)),
        Some(have) if compare(have, &deb.version).is_gt() && !req.allow_downgrade => {
            Err(TaskError::new(format!(
                "A later version is already installed: {} {have} (the deb '{}' has {}); set allow_downgrade: true to install it",
                deb.package, file.src, deb.version
            )))
        }
        _ => Ok((
            vec![Change {
                name: deb.package.clone(),
                before: shown(status),
                after: deb.version.clone(),
                arg: file.file_name.clone(),
            }],
            step,
        )),
    }
}
