//! `iptables`: one rule, a chain's policy, a flush or a user chain, as
//! Ansible's module does it. The rule's words come from `netfilter::argv`,
//! Ansible's own order, and whether it is there is asked of iptables itself
//! (`iptables -C`), so a rule is never added twice. The probe also lists the
//! table (`iptables -S`) for policies, chains and flushes.
//!
//! Where tend differs, on purpose: `flush` reports a change only when the
//! chain (or table) has rules; `state: absent` removes every copy of the
//! rule, not one per run; a chain-only task (no rule words) without
//! `chain_management` fails instead of reporting a change it does not make;
//! `chain_management` also creates a missing chain before appending a rule.

use crate::netfilter::listing::Listing;
use crate::netfilter::{self, Tools, argv};
use crate::shell::quote;
use crate::{
    Args, Controller, Diff, Kind, Map, Module, Observed, Param, ParamError, Plan, Step, Task,
    TaskError, Value,
};

pub struct IptablesModule;

const PARAMS: &[Param] = &[
    Param::new("table", Kind::Str).choices(netfilter::TABLES),
    Param::new("state", Kind::Str).choices(&["present", "absent"]),
    Param::new("action", Kind::Str).choices(&["append", "insert"]),
    Param::new("ip_version", Kind::Str).choices(&["ipv4", "ipv6"]),
    Param::new("chain", Kind::Str),
    Param::new("rule_num", Kind::Str),
    Param::new("protocol", Kind::Str),
    Param::new("wait", Kind::Str),
    Param::new("source", Kind::Str),
    Param::new("to_source", Kind::Str),
    Param::new("destination", Kind::Str),
    Param::new("to_destination", Kind::Str),
    Param::new("match", Kind::List),
    Param::new("tcp_flags", Kind::Dict),
    Param::new("jump", Kind::Str),
    Param::new("gateway", Kind::Str),
    Param::new("log_prefix", Kind::Str),
    Param::new("log_level", Kind::Str).choices(&[
        "0", "1", "2", "3", "4", "5", "6", "7", "emerg", "alert", "crit", "error", "warning",
        "notice", "info", "debug",
    ]),
    Param::new("goto", Kind::Str),
    Param::new("in_interface", Kind::Str),
    Param::new("out_interface", Kind::Str),
    Param::new("fragment", Kind::Str),
    Param::new("source_port", Kind::Str),
    Param::new("destination_port", Kind::Str),
    Param::new("destination_ports", Kind::List),
    Param::new("to_ports", Kind::Str),
    Param::new("set_dscp_mark", Kind::Str),
    Param::new("set_dscp_mark_class", Kind::Str),
    Param::new("comment", Kind::Str),
    Param::new("ctstate", Kind::List),
    Param::new("src_range", Kind::Str),
    Param::new("dst_range", Kind::Str),
    Param::new("match_set", Kind::Str),
    Param::new("match_set_flags", Kind::Str)
        .choices(&["src", "dst", "src,dst", "dst,src", "src,src", "dst,dst"]),
    Param::new("limit", Kind::Str),
    Param::new("limit_burst", Kind::Str),
    Param::new("uid_owner", Kind::Str),
    Param::new("gid_owner", Kind::Str),
    Param::new("reject_with", Kind::Str),
    Param::new("icmp_type", Kind::Str),
    Param::new("syn", Kind::Str).choices(&["ignore", "match", "negate"]),
    Param::new("flush", Kind::Bool),
    Param::new("policy", Kind::Str).choices(&["ACCEPT", "DROP", "QUEUE", "RETURN"]),
    Param::new("chain_management", Kind::Bool),
    // Only changes how Ansible lists chains (`-L --numeric`); tend reads
    // `-S`, which never resolves names.
    Param::new("numeric", Kind::Bool),
];

impl Module for IptablesModule {
    fn name(&self) -> &'static str {
        "iptables"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn prepare(&self, args: Args, _: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        Ok(Box::new(Iptables::new(&args)?))
    }
}

/// What the task is about; Ansible picks the first that applies.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Flush,
    Policy(String),
    /// No rule words: the chain itself (`chain_management`).
    Chain {
        present: bool,
    },
    Rule {
        present: bool,
        insert: bool,
    },
}

#[derive(Debug)]
struct Iptables {
    tools: Tools,
    table: String,
    chain: Option<String>,
    op: Op,
    rule: Vec<String>,
    rule_num: Option<String>,
    wait: Option<String>,
    chain_management: bool,
    result: Map,
}

impl Iptables {
    fn new(args: &Args) -> Result<Iptables, ParamError> {
        for pair in [
            ["set_dscp_mark", "set_dscp_mark_class"],
            ["flush", "policy"],
        ] {
            if pair.iter().all(|p| args.has(p)) {
                return Err(ParamError::general(format!(
                    "parameters are mutually exclusive: {}",
                    pair.join("|")
                )));
            }
        }
        for dscp in ["set_dscp_mark", "set_dscp_mark_class"] {
            if args.has(dscp) && !args.has("jump") {
                return Err(ParamError::new(
                    dscp,
                    format!("missing parameter(s) required by '{dscp}': jump"),
                ));
            }
        }
        let jump = argv::effective_jump(args)?;
        if jump
            .as_deref()
            .is_some_and(|j| j.eq_ignore_ascii_case("tee"))
            && !args.has("gateway")
        {
            return Err(ParamError::general(format!(
                "jump is {} but all of the following are missing: gateway",
                jump.as_deref().unwrap_or("")
            )));
        }
        let flush = args.bool_or("flush", false);
        let chain = args.string("chain").filter(|c| !c.is_empty());
        if !flush && chain.is_none() {
            return Err(ParamError::general(
                "flush is False but all of the following are missing: chain",
            ));
        }
        let tools = Tools::for_version(args.str("ip_version"));
        let table = args.str("table").unwrap_or("filter").to_string();
        let rule = argv::construct_rule(args, jump.as_deref(), tools.version)?;
        let present = args.str("state") != Some("absent");
        let op = match args.string("policy") {
            _ if flush => Op::Flush,
            Some(policy) => Op::Policy(policy),
            None if rule.is_empty() => Op::Chain { present },
            None => Op::Rule {
                present,
                insert: args.str("action") == Some("insert"),
            },
        };
        let wait = args.string("wait").filter(|w| !w.is_empty());
        let mut result = Map::new();
        result.insert("ip_version".into(), Value::from(tools.version));
        result.insert("table".into(), Value::from(table.as_str()));
        result.insert(
            "chain".into(),
            chain.as_deref().map_or(Value::Null, Value::from),
        );
        result.insert("flush".into(), Value::Bool(flush));
        result.insert("rule".into(), Value::from(rule.join(" ")));
        result.insert(
            "state".into(),
            Value::from(if present { "present" } else { "absent" }),
        );
        let chain_management = args.bool_or("chain_management", false);
        result.insert("chain_management".into(), Value::Bool(chain_management));
        result.insert(
            "wait".into(),
            wait.as_deref().map_or(Value::Null, Value::from),
        );
        Ok(Iptables {
            tools,
            table,
            chain,
            op,
            rule,
            rule_num: args.string("rule_num").filter(|n| !n.is_empty()),
            wait,
            chain_management,
            result,
        })
    }

    fn chain(&self) -> &str {
        self.chain.as_deref().unwrap_or("")
    }

    /// `iptables -t TABLE ACTION CHAIN [NUM] [-w WAIT] [RULE]`, quoted, in
    /// Ansible's `push_arguments` order.
    fn command(&self, action: &str, with_rule: bool) -> String {
        let mut words = vec![
            self.tools.iptables.to_string(),
            "-t".into(),
            self.table.clone(),
            action.into(),
        ];
        words.extend(self.chain.clone());
        if action == "-I" {
            words.extend(self.rule_num.clone());
        }
        if let Some(w) = &self.wait {
            words.extend(["-w".to_string(), w.clone()]);
        }
        if with_rule {
            words.extend(self.rule.iter().cloned());
        }
        words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
    }

    /// How the rule reads in `iptables -S`, for diffs.
    fn rule_line(&self) -> String {
        let mut words = vec!["-A".to_string(), self.chain().to_string()];
        // A bare `!` reads as iptables -S prints it; sh would take it too.
        words.extend(
            self.rule
                .iter()
                .map(|w| if w == "!" { w.clone() } else { quote(w) }),
        );
        format!("{}\n", words.join(" "))
    }

    fn header(&self) -> String {
        match &self.chain {
            Some(chain) => format!("{} -t {} {chain}", self.tools.iptables, self.table),
            None => format!("{} -t {}", self.tools.iptables, self.table),
        }
    }

    fn fail(&self, msg: impl Into<String>) -> TaskError {
        TaskError::with_result(msg, self.result.clone())
    }
}

impl Task for Iptables {
    fn probe(&self) -> Option<String> {
        let mut s = format!("{}{}", crate::probe::INLINE, crate::probe::COSTLY);
        s.push_str(netfilter::SECTION_FN);
        let mut list = format!("{} -t {}", self.tools.iptables, quote(&self.table));
        if let Some(w) = &self.wait {
            list.push_str(&format!(" -w {}", quote(w)));
        }
        // Probes only look, so a table's listing is the same for every rule
        // probed in one batch: the first probe keeps it in the batch's
        // shell for the others (a failed listing is not kept, so that each
        // probe has its own error).
        let memo = listing_variable(self.tools.iptables, &self.table);
        s.push_str(&format!(
            "if [ \"${{{memo}_rc:-1}}\" != 0 ]; then {memo}=$({list} -S); {memo}_rc=$?; fi\n\
             tend_sec list \"${memo}_rc\" \"${memo}\"\n"
        ));
        if matches!(self.op, Op::Rule { .. }) {
            s.push_str(&format!(
                "o=$({} 2>&1); tend_sec check $? \"$o\"\n",
                self.command("-C", true)
            ));
        }
        Some(s)
    }

    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        let obs =
            observed.ok_or_else(|| TaskError::new("iptables: no probe output to plan from"))?;
        let sections = netfilter::sections("iptables", &obs.stdout)?;
        let list = netfilter::section("iptables", &sections, "list")?;
        if list.rc != 0 {
            let err = String::from_utf8_lossy(&obs.stderr);
            return Err(self.fail(format!(
                "{} -t {} -S failed (exit code {}): {}",
                self.tools.iptables,
                self.table,
                list.rc,
                err.trim()
            )));
        }
        let listing = Listing::parse(&list.text).map_err(|e| {
            self.fail(format!(
                "iptables: could not read the host's `iptables -S`: {}",
                crate::clip(&e.to_string())
            ))
        })?;
        let chain = self.chain();
        let exists = self.chain.is_some() && listing.has_chain(&self.table, chain);
        let header = self.header();
        let unchanged = || Ok(Plan::unchanged(self.result.clone()));
        let change = |steps: Vec<Step>, before: String, after: String| {
            Ok(Plan::change(steps, self.result.clone())
                .with_diff(Diff::new(&header, before, after)))
        };
        match &self.op {
            Op::Flush => {
                if self.chain.is_some() && !exists {
                    return Err(self.fail(format!(
                        "chain {chain} does not exist in table {}",
                        self.table
                    )));
                }
                let rules: String = listing
                    .rules
                    .iter()
                    .filter(|(c, _)| self.chain.is_none() || c == chain)
                    .map(|(_, line)| format!("{line}\n"))
                    .collect();
                if rules.is_empty() {
                    return unchanged();
                }
                change(
                    vec![Step::script(self.command("-F", false))],
                    rules,
                    String::new(),
                )
            }
            Op::Policy(want) => {
                let Some((_, have)) = listing.policies.iter().find(|(c, _)| c == chain) else {
                    return Err(self.fail(if exists {
                        format!("Can't detect current policy: {chain} is a user chain; only built-in chains have a policy")
                    } else {
                        format!("Can't detect current policy: chain {chain} does not exist in table {}", self.table)
                    }));
                };
                if have == want {
                    return unchanged();
                }
                let step = Step::script(format!("{} {}", self.command("-P", false), quote(want)));
                change(
                    vec![step],
                    format!("policy: {have}\n"),
                    format!("policy: {want}\n"),
                )
            }
            Op::Chain { present } => {
                if exists == *present {
                    return unchanged();
                }
                if !self.chain_management {
                    return Err(self.fail(format!(
                        "chain {chain} {} in table {}; give rule options, or chain_management: true to {} the chain",
                        if exists { "exists" } else { "does not exist" },
                        self.table,
                        if exists { "delete" } else { "create" },
                    )));
                }
                let (action, before, after) = if *present {
                    ("-N", "absent", "present")
                } else {
                    ("-X", "present", "absent")
                };
                change(
                    vec![Step::script(self.command(action, false))],
                    format!("chain: {before}\n"),
                    format!("chain: {after}\n"),
                )
            }
            Op::Rule { present, insert } => {
                let check = netfilter::section("iptables", &sections, "check")?;
                let have = match check.rc {
                    0 => true,
                    1 => false,
                    rc => {
                        return Err(self.fail(format!(
                            "{} -C failed (exit code {rc}): {}",
                            self.tools.iptables,
                            check.text.trim()
                        )));
                    }
                };
                if have == *present {
                    return unchanged();
                }
                let line = self.rule_line();
                if !present {
                    // Every copy goes, so that the next probe finds none.
                    let script = format!(
                        "while {} 2>/dev/null; do {} || exit 1; done",
                        self.command("-C", true),
                        self.command("-D", true)
                    );
                    return change(vec![Step::script(script)], line, String::new());
                }
                let mut steps = Vec::new();
                if !exists {
                    if !self.chain_management {
                        return Err(self.fail(format!(
                            "chain {chain} does not exist in table {} (chain_management: true creates it)",
                            self.table
                        )));
                    }
                    steps.push(Step::script(self.command("-N", false)));
                }
                let action = if *insert { "-I" } else { "-A" };
                steps.push(Step::script(self.command(action, true)));
                change(steps, String::new(), line)
            }
        }
    }
}

/// The shell variable that holds `tool`'s listing of `table` for the rest
/// of a batch.
fn listing_variable(tool: &str, table: &str) -> String {
    let word: String = format!("{tool}_{table}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("__tend_listing_{word}")
}

#[cfg(test)]
#[path = "iptables_tests.rs"]
mod tests;
