//! `iptables_rules` (ours): one whole table declared at once, loaded with
//! iptables-restore in one atomic step, persisted to a rules file
//! (`/etc/iptables/rules.v4`, which netfilter-persistent loads at boot).
//!
//! What the declared rules look like once loaded is asked of iptables
//! itself: the read-only probe loads them into a scratch network namespace
//! (`unshare --net`) and reads them back with iptables-save, so `--dport 22`
//! compares equal to the kernel's `-m tcp --dport 22` and a rule iptables
//! would refuse fails the task before anything changes. Both sides are then
//! normalised (`netfilter::ruleset`) and diffed.
//!
//! A new ruleset may lock tend out, so loading it arms a dead-man timer on
//! the host (`netfilter::deadman`): the change is confirmed over a new SSH
//! connection, or taken back after `timeout` seconds. The rules file is
//! written only once the change is confirmed.

use crate::netfilter::deadman::DeadMan;
use crate::netfilter::ruleset::{self, Ruleset};
use crate::netfilter::{self, Tools, builtin_chains};
use crate::shell::quote;
use crate::write::{WriteOptions, atomic_write};
use crate::{
    Args, Controller, Diff, Kind, Map, Module, Observed, Param, ParamError, Plan, Step, Task,
    TaskError, Value,
};

pub struct IptablesRulesModule;

const PARAMS: &[Param] = &[
    Param::new("table", Kind::Str).choices(netfilter::TABLES),
    Param::new("rules", Kind::Any),
    Param::new("content", Kind::Str),
    Param::new("policies", Kind::Dict),
    Param::new("chains", Kind::List),
    Param::new("persist", Kind::Bool),
    Param::new("path", Kind::Str),
    Param::new("ip_version", Kind::Str).choices(&["ipv4", "ipv6"]),
    Param::new("timeout", Kind::Int),
];

/// Seconds a new ruleset has to be confirmed before it is taken back.
const DEFAULT_TIMEOUT: i64 = 30;

impl Module for IptablesRulesModule {
    fn name(&self) -> &'static str {
        "iptables_rules"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn prepare(&self, args: Args, _: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        Ok(Box::new(IptablesRules::new(&args)?))
    }
}

#[derive(Debug)]
struct IptablesRules {
    tools: Tools,
    table: String,
    /// What iptables-restore is given in the scratch namespace.
    source: String,
    /// The rules file, when `persist`.
    path: Option<String>,
    deadman: DeadMan,
}

impl IptablesRules {
    fn new(args: &Args) -> Result<IptablesRules, ParamError> {
        let has_rules = args.value("rules").is_some();
        if has_rules == args.has("content") {
            return Err(ParamError::general(
                "one of rules or content is required, and not both",
            ));
        }
        for other in ["policies", "chains"] {
            if args.has("content") && args.has(other) {
                return Err(ParamError::general(format!(
                    "parameters are mutually exclusive: content|{other} (declare them in the content)"
                )));
            }
        }
        let tools = Tools::for_version(args.str("ip_version"));
        let timeout = args.int("timeout").unwrap_or(DEFAULT_TIMEOUT);
        if !(1..=86_400).contains(&timeout) {
            return Err(ParamError::new(
                "timeout",
                format!("timeout must be between 1 and 86400 seconds, got {timeout}"),
            ));
        }
        let (table, source) = match args.str("content") {
            Some(content) => content_source(args.str("table"), content)?,
            None => {
                let table = args.str("table").unwrap_or("filter");
                (table.to_string(), rules_source(args, table)?)
            }
        };
        let path = args.bool_or("persist", true).then(|| {
            args.string("path").unwrap_or_else(|| {
                let v = if tools.version == "ipv6" { "v6" } else { "v4" };
                format!("/etc/iptables/rules.{v}")
            })
        });
        Ok(IptablesRules {
            tools,
            deadman: DeadMan::new(tools, &table, timeout as u64),
            table,
            source,
            path,
        })
    }

    fn result(&self, want: Option<&Ruleset>) -> Map {
        let mut r = Map::new();
        r.insert("table".into(), Value::from(self.table.as_str()));
        r.insert("ip_version".into(), Value::from(self.tools.version));
        r.insert("persist".into(), Value::Bool(self.path.is_some()));
        r.insert(
            "path".into(),
            self.path.as_deref().map_or(Value::Null, Value::from),
        );
        if let Some(want) = want {
            r.insert("ruleset".into(), Value::from(want.render(false)));
        }
        r
    }

    fn fail(&self, msg: String) -> TaskError {
        TaskError::with_result(msg, self.result(None))
    }

    /// The step that writes the rules file, its directory made if needed.
    fn write_file(&self, path: &str, content: String) -> Step {
        let mut step = atomic_write(path, content.into_bytes(), &WriteOptions::default());
        let dir = std::path::Path::new(path)
            .parent()
            .map(|d| d.to_string_lossy().into_owned())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "/".into());
        step.script = format!("mkdir -p -- {}\n{}", quote(&dir), step.script);
        step
    }
}

/// The table and restore text of `content`: raw iptables-restore text for
/// one table, with or without its `*table` line and COMMIT.
fn content_source(table: Option<&str>, content: &str) -> Result<(String, String), ParamError> {
    let headers: Vec<&str> = content
        .lines()
        .filter_map(|l| l.trim_end().strip_prefix('*'))
        .collect();
    match headers[..] {
        [] => {
            let table = table.unwrap_or("filter");
            let body = content.trim_end();
            Ok((table.to_string(), format!("*{table}\n{body}\nCOMMIT\n")))
        }
        [name] if table.is_none_or(|t| t == name) => {
            if !netfilter::TABLES.contains(&name) {
                return Err(ParamError::new(
                    "content",
                    format!("content: unknown table *{name}"),
                ));
            }
            Ok((name.to_string(), format!("{}\n", content.trim_end())))
        }
        [name] => Err(ParamError::new(
            "content",
            format!(
                "content is for table {name}, but table is {}",
                table.unwrap_or("")
            ),
        )),
        _ => Err(ParamError::new(
            "content",
            "content must hold one table: declare each table in its own task",
        )),
    }
}

/// The restore text of `rules`, `policies` and `chains`. Built-in chains
/// get their policy (ACCEPT unless `policies` says otherwise); user chains
/// that `chains` lists or that rules append to are declared.
fn rules_source(args: &Args, table: &str) -> Result<String, ParamError> {
    let builtins = builtin_chains(table);
    let rules: Vec<String> = match args.value("rules") {
        None => Vec::new(),
        Some(Value::String(text)) => text.lines().map(str::to_string).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(ParamError::new(
                    "rules",
                    format!("rules: each rule must be a string, got {other}"),
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(ParamError::new(
                "rules",
                format!("rules must be a list of rule strings, got {other}"),
            ));
        }
    };
    let rules: Vec<String> = rules
        .iter()
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect();
    let mut policies = Vec::new();
    for (chain, policy) in args.dict("policies").into_iter().flatten() {
        if !builtins.contains(&chain.as_str()) {
            return Err(ParamError::new(
                "policies",
                format!(
                    "policies: {chain} is not a built-in chain of table {table} ({})",
                    builtins.join(", ")
                ),
            ));
        }
        let policy = crate::display(policy).to_ascii_uppercase();
        if policy != "ACCEPT" && policy != "DROP" {
            return Err(ParamError::new(
                "policies",
                format!("policies: {chain} must be ACCEPT or DROP, got {policy}"),
            ));
        }
        policies.push((chain.clone(), policy));
    }
    let mut user: Vec<String> = Vec::new();
    for chain in args.strings("chains").unwrap_or_default() {
        check_chain_name(&chain, builtins)?;
        if !user.contains(&chain) {
            user.push(chain);
        }
    }
    for rule in &rules {
        let words: Vec<&str> = rule.split_whitespace().collect();
        let (Some(&"-A"), Some(chain)) = (words.first(), words.get(1)) else {
            return Err(ParamError::new(
                "rules",
                format!(
                    "rules: each rule starts with -A CHAIN, as iptables-save prints it; got {rule:?}"
                ),
            ));
        };
        if !builtins.contains(chain) && !user.iter().any(|c| c == chain) {
            check_chain_name(chain, builtins)?;
            user.push(chain.to_string());
        }
    }
    let mut text = format!("*{table}\n");
    for chain in builtins {
        let policy = policies
            .iter()
            .find(|(c, _)| c == chain)
            .map_or("ACCEPT", |(_, p)| p.as_str());
        text.push_str(&format!(":{chain} {policy} [0:0]\n"));
    }
    for chain in &user {
        text.push_str(&format!(":{chain} - [0:0]\n"));
    }
    for rule in &rules {
        text.push_str(rule);
        text.push('\n');
    }
    text.push_str("COMMIT\n");
    Ok(text)
}

fn check_chain_name(name: &str, builtins: &[&str]) -> Result<(), ParamError> {
    let bad = name.is_empty()
        || name.len() > 28
        || name.starts_with(['-', '*', ':', '#', '!'])
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
        || builtins.contains(&name);
    if bad {
        return Err(ParamError::new(
            "chains",
            format!("{name:?} is not a valid user chain name"),
        ));
    }
    Ok(())
}

impl Task for IptablesRules {
    fn probe(&self) -> Option<String> {
        let (save, restore, t) = (self.tools.save, self.tools.restore, &self.table);
        // The declared rules go through a scratch network namespace, so
        // loading them changes nothing on the host; its stderr is asked for
        // only when it failed, to keep warnings out of the ruleset.
        let sandbox = format!(
            "printf '%s' {} | unshare --net sh -c '{restore} && {save} -t {t}'",
            quote(&self.source)
        );
        let mut s = format!("{}{}", crate::probe::COSTLY, netfilter::SECTION_FN);
        s.push_str(&format!("o=$({save} -t {t}); tend_sec live $? \"$o\"\n"));
        s.push_str(&format!(
            "if o=$({sandbox} 2>/dev/null); then tend_sec want 0 \"$o\"; else rc=$?; o=$({sandbox} 2>&1); tend_sec want $rc \"$o\"; fi\n"
        ));
        if let Some(path) = &self.path {
            let p = quote(path);
            // The dot keeps the file's trailing newlines from `$(...)`.
            s.push_str(&format!(
                "if [ -e {p} ]; then o=$(cat -- {p} && echo .); tend_sec file $? \"${{o%.}}\"; else tend_sec nofile 0 ''; fi\n"
            ));
        }
        Some(s)
    }

    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        let obs = observed
            .ok_or_else(|| TaskError::new("iptables_rules: no probe output to plan from"))?;
        let m = "iptables_rules";
        let sections = netfilter::sections(m, &obs.stdout)?;
        let live = netfilter::section(m, &sections, "live")?;
        if live.rc != 0 {
            let err = String::from_utf8_lossy(&obs.stderr);
            return Err(self.fail(format!(
                "{} -t {} failed (exit code {}): {} (iptables_rules needs root: become: true)",
                self.tools.save,
                self.table,
                live.rc,
                err.trim()
            )));
        }
        let want = netfilter::section(m, &sections, "want")?;
        if want.rc != 0 && want.text.contains("unshare") {
            return Err(self.fail(format!(
                "could not load the declared {} ruleset into a scratch network namespace to compare it: {} (iptables_rules needs root, become: true, and unshare from util-linux)",
                self.table,
                want.text.trim()
            )));
        }
        if want.rc != 0 {
            return Err(self.fail(format!(
                "the declared {} ruleset does not load: {} (run in a scratch network namespace with unshare --net) said: {}",
                self.table,
                self.tools.restore,
                want.text.trim()
            )));
        }
        let unreadable =
            |what: &str, e: String| self.fail(format!("{m}: could not read {what}: {e}"));
        let have = Ruleset::parse(&self.table, &live.text)
            .map_err(|e| unreadable("the live ruleset", e))?;
        let want = Ruleset::parse(&self.table, &want.text)
            .map_err(|e| unreadable("the declared ruleset as iptables-save prints it", e))?;
        let result = self.result(Some(&want));
        let mut file_change = None;
        if let Some(path) = &self.path {
            let old = match (
                sections.iter().find(|s| s.tag == "file"),
                sections.iter().find(|s| s.tag == "nofile"),
            ) {
                (Some(f), _) if f.rc == 0 => f.text.clone(),
                (Some(f), _) => {
                    let err = String::from_utf8_lossy(&obs.stderr);
                    return Err(self.fail(format!(
                        "could not read {path} (exit code {}): {}",
                        f.rc,
                        err.trim()
                    )));
                }
                (None, Some(_)) => String::new(),
                (None, None) => return Err(unreadable("the probe", "no file section".into())),
            };
            if !ruleset::file_has(&old, &want) {
                let new = ruleset::replace_block(&old, &self.table, &want.render(true));
                file_change = Some((path.clone(), old, new));
            }
        }
        let live_change = have != want;
        if !live_change && file_change.is_none() {
            return Ok(Plan::unchanged(result));
        }
        let mut diffs = Vec::new();
        if live_change {
            let header = format!("{} -t {}", self.tools.save, self.table);
            diffs.push(Diff::new(&header, have.render(false), want.render(false)));
        }
        let write = file_change.map(|(path, old, new)| {
            diffs.push(Diff::new(&path, old, new.clone()));
            self.write_file(&path, new)
        });
        let steps = if live_change {
            let empty = Ruleset::empty(&self.table).render(true);
            let apply = self.deadman.apply(&want.render(true), &empty);
            let mut confirm = Step::script(self.deadman.confirm()).on_fresh_connection();
            if let Some(write) = write {
                confirm.script.push_str(&write.script);
                confirm.stdin = write.stdin;
            }
            vec![apply, confirm]
        } else {
            write.into_iter().collect()
        };
        let mut plan = Plan::change(steps, result);
        plan.diff = diffs;
        Ok(plan)
    }
}

#[cfg(test)]
#[path = "iptables_rules_tests.rs"]
mod tests;
