//! The argument list of one rule, built from the `iptables` module's
//! parameters exactly as Ansible's `construct_rule` builds it: the same
//! options in the same order, `!` before a value negating its option. The
//! order matters beyond looks: `iptables -C` compares the rule it is given
//! with the rules in the chain, and a rule Ansible added must be found by
//! tend and the other way round.

use crate::{Args, ParamError, Value};

/// The target a rule jumps to: `jump`, or `LOG` when only `log_prefix` or
/// `log_level` say so (as in Ansible, which refuses them with any other).
pub fn effective_jump(args: &Args) -> Result<Option<String>, ParamError> {
    let jump = args.string("jump");
    if args.has("log_prefix") || args.has("log_level") {
        return match jump.as_deref() {
            None => Ok(Some("LOG".into())),
            Some("LOG") => Ok(jump),
            Some(_) => Err(ParamError::general(
                "Logging options can only be used with the LOG jump target.",
            )),
        };
    }
    Ok(jump)
}

/// The rule's words, without the command, table and chain.
pub fn construct_rule(
    args: &Args,
    jump: Option<&str>,
    ip_version: &str,
) -> Result<Vec<String>, ParamError> {
    let mut r = Rule(Vec::new());
    let s = |name: &str| args.str(name).filter(|v| !v.is_empty());
    let matches = args.strings("match").unwrap_or_default();
    let has_match = |m: &str| matches.iter().any(|x| x == m);
    let ctstate = args.strings("ctstate").unwrap_or_default();
    let dports = args.strings("destination_ports").unwrap_or_default();

    r.param(s("protocol"), "-p");
    r.param(s("source"), "-s");
    r.param(s("destination"), "-d");
    for m in &matches {
        r.param(Some(m), "-m");
    }
    r.tcp_flags(args)?;
    r.param(jump, "-j");
    if jump.is_some_and(|j| j.eq_ignore_ascii_case("tee")) {
        r.param(s("gateway"), "--gateway");
    }
    r.param(s("log_prefix"), "--log-prefix");
    r.param(s("log_level"), "--log-level");
    r.param(s("to_destination"), "--to-destination");
    r.csv_with_match(&dports, "multiport", "--dports");
    r.param(s("to_source"), "--to-source");
    r.param(s("goto"), "-g");
    r.param(s("in_interface"), "-i");
    r.param(s("out_interface"), "-o");
    r.param(s("fragment"), "-f");
    r.param(s("source_port"), "--source-port");
    r.param(s("destination_port"), "--destination-port");
    r.param(s("to_ports"), "--to-ports");
    let dscp_jump = |r: &mut Rule, value: Option<&str>| {
        if value.is_some() && jump.is_some_and(|j| !j.eq_ignore_ascii_case("dscp")) {
            r.push(&["-j", "DSCP"]);
        }
    };
    r.param(s("set_dscp_mark"), "--set-dscp");
    dscp_jump(&mut r, s("set_dscp_mark"));
    r.param(s("set_dscp_mark_class"), "--set-dscp-class");
    dscp_jump(&mut r, s("set_dscp_mark_class"));
    match args.str("syn") {
        Some("match") => r.push(&["--syn"]),
        Some("negate") => r.push(&["!", "--syn"]),
        _ => {}
    }
    if has_match("conntrack") {
        r.csv(&ctstate, "--ctstate");
    } else if has_match("state") {
        r.csv(&ctstate, "--state");
    } else {
        r.csv_with_match(&ctstate, "conntrack", "--ctstate");
    }
    if !has_match("iprange") && (s("src_range").is_some() || s("dst_range").is_some()) {
        r.push(&["-m", "iprange"]);
    }
    r.param(s("src_range"), "--src-range");
    r.param(s("dst_range"), "--dst-range");
    if has_match("set") || s("match_set").is_some() {
        if !has_match("set") {
            r.push(&["-m", "set"]);
        }
        r.param(s("match_set"), "--match-set");
        if let Some(flags) = s("match_set_flags") {
            r.push(&[flags]);
        }
    }
    if s("limit").is_some() || s("limit_burst").is_some() {
        r.push(&["-m", "limit"]);
    }
    r.param(s("limit"), "--limit");
    r.param(s("limit_burst"), "--limit-burst");
    r.owner(s("uid_owner"), "--uid-owner");
    r.owner(s("gid_owner"), "--gid-owner");
    if jump.is_none() {
        for (name, target) in [
            ("reject_with", "REJECT"),
            ("set_dscp_mark_class", "DSCP"),
            ("set_dscp_mark", "DSCP"),
        ] {
            if s(name).is_some() {
                r.push(&["-j", target]);
            }
        }
    }
    r.param(s("reject_with"), "--reject-with");
    let icmp = if ip_version == "ipv6" {
        "--icmpv6-type"
    } else {
        "--icmp-type"
    };
    r.param(s("icmp_type"), icmp);
    if s("comment").is_some() {
        r.push(&["-m", "comment"]);
    }
    r.param(s("comment"), "--comment");
    Ok(r.0)
}

struct Rule(Vec<String>);

impl Rule {
    fn push(&mut self, words: &[&str]) {
        self.0.extend(words.iter().map(|w| w.to_string()));
    }

    /// Ansible's `append_param`: a leading `!` negates the option.
    fn param(&mut self, value: Option<&str>, flag: &str) {
        if let Some(v) = value {
            match v.strip_prefix('!') {
                Some(rest) => self.push(&["!", flag, rest]),
                None => self.push(&[flag, v]),
            }
        }
    }

    fn csv(&mut self, items: &[String], flag: &str) {
        if !items.is_empty() {
            self.push(&[flag, &items.join(",")]);
        }
    }

    fn csv_with_match(&mut self, items: &[String], module: &str, flag: &str) {
        if !items.is_empty() {
            self.push(&["-m", module]);
            self.csv(items, flag);
        }
    }

    /// `-m owner`, then (Ansible's quirk, kept for `-C`) the option once
    /// more for a value that is literally `match`/`negate`, then the value.
    fn owner(&mut self, value: Option<&str>, flag: &str) {
        if let Some(v) = value {
            self.push(&["-m", "owner"]);
            match v {
                "match" => self.push(&[flag]),
                "negate" => self.push(&["!", flag]),
                _ => {}
            }
            self.param(Some(v), flag);
        }
    }

    fn tcp_flags(&mut self, args: &Args) -> Result<(), ParamError> {
        let Some(map) = args.dict("tcp_flags") else {
            return Ok(());
        };
        if let Some(key) = map.keys().find(|k| *k != "flags" && *k != "flags_set") {
            return Err(ParamError::new(
                "tcp_flags",
                format!("tcp_flags: unknown key '{key}'; it takes: flags, flags_set"),
            ));
        }
        let list = |key: &str| -> Result<Option<String>, ParamError> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Array(items)) => Ok(Some(
                    items
                        .iter()
                        .map(crate::display)
                        .collect::<Vec<_>>()
                        .join(","),
                )),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ParamError::new(
                    "tcp_flags",
                    format!("tcp_flags: {key} must be a list"),
                )),
            }
        };
        if let (Some(flags), Some(set)) = (list("flags")?, list("flags_set")?) {
            self.push(&["--tcp-flags", &flags, &set]);
        }
        Ok(())
    }
}
