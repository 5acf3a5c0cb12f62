//! `wait_for`: waits, on the managed host, for a port to open or close, a
//! path to appear (with text in it) or go away, or a port's connections to
//! drain, as Ansible's module does, without Python (see
//! `wait_for/script.rs`). It changes nothing and runs every time; a
//! timeout fails the task with Ansible's message. Like Ansible's, it does
//! not run under `--check`.

mod script;

use regex::RegexBuilder;

use crate::{
    Args, CheckMode, Controller, Kind, Map, Module, Observed, Param, ParamError, Plan, Step,
    StepOutput, Task, TaskError, Value,
};

pub struct WaitForModule;

const PARAMS: &[Param] = &[
    Param::new("host", Kind::Str),
    Param::new("port", Kind::Int),
    Param::new("path", Kind::Str),
    Param::new("search_regex", Kind::Str),
    Param::new("state", Kind::Str).choices(&["absent", "drained", "present", "started", "stopped"]),
    Param::new("delay", Kind::Int),
    Param::new("timeout", Kind::Int),
    Param::new("sleep", Kind::Int),
    Param::new("connect_timeout", Kind::Int),
    Param::new("msg", Kind::Str),
    Param::new("exclude_hosts", Kind::List),
    Param::new("active_connection_states", Kind::List),
];

/// Ansible's connection state names, as `ss` prints them.
const SS_STATES: &[(&str, &str)] = &[
    ("ESTABLISHED", "ESTAB"),
    ("SYN_SENT", "SYN-SENT"),
    ("SYN_RECV", "SYN-RECV"),
    ("FIN_WAIT1", "FIN-WAIT-1"),
    ("FIN_WAIT2", "FIN-WAIT-2"),
    ("TIME_WAIT", "TIME-WAIT"),
    ("CLOSE", "UNCONN"),
    ("CLOSE_WAIT", "CLOSE-WAIT"),
    ("LAST_ACK", "LAST-ACK"),
    ("LISTEN", "LISTEN"),
    ("CLOSING", "CLOSING"),
];

const ACTIVE: &[&str] = &[
    "ESTABLISHED",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "SYN_RECV",
    "SYN_SENT",
    "TIME_WAIT",
];

/// What is waited for.
enum Target {
    Sleep,
    Port {
        host: String,
        port: i64,
    },
    Path(String),
    Drained {
        host: String,
        port: i64,
        states: Vec<String>,
        exclude: Vec<String>,
    },
}

struct Wait {
    target: Target,
    state: String,
    /// Wait for the check to fail (stopped, absent) rather than pass.
    stop: bool,
    search_regex: Option<String>,
    delay: i64,
    timeout: i64,
    sleep: i64,
    connect_timeout: i64,
    msg: Option<String>,
    host: String,
    port: Option<i64>,
    path: Option<String>,
}

impl Module for WaitForModule {
    fn name(&self) -> &'static str {
        "wait_for"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn prepare(&self, args: Args, _: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        Ok(Box::new(prepare(&args)?))
    }
}

fn prepare(args: &Args) -> Result<Wait, ParamError> {
    let state = args.str("state").unwrap_or("started").to_string();
    let host = args.str("host").unwrap_or("127.0.0.1").to_string();
    let port = args.int("port");
    let path = args.string("path").filter(|p| !p.is_empty());
    let fail = |m: &str| Err(ParamError::general(m));
    if port.is_some() && path.is_some() {
        return fail("port and path parameter can not both be passed to wait_for");
    }
    if path.is_some() && state == "stopped" {
        return fail(
            "state=stopped should only be used for checking a port in the wait_for module",
        );
    }
    if path.is_some() && state == "drained" {
        return fail(
            "state=drained should only be used for checking a port in the wait_for module",
        );
    }
    if args.has("exclude_hosts") && state != "drained" {
        return fail("exclude_hosts should only be with state=drained");
    }
    let mut states = Vec::new();
    for name in args
        .strings("active_connection_states")
        .unwrap_or_else(|| ACTIVE.iter().map(|s| s.to_string()).collect())
    {
        match SS_STATES.iter().find(|(a, _)| *a == name) {
            Some((_, ss)) => states.push(ss.to_string()),
            None => return fail(&format!("unknown active_connection_state ({name}) defined")),
        }
    }
    let search_regex = args.string("search_regex");
    if let Some(re) = &search_regex {
        // Python's and Rust's dialects differ in what only Python has
        // (look-around, back-references): those are left to grep -P.
        if let Err(e) = RegexBuilder::new(re).build() {
            let e = e.to_string();
            if !e.contains("not supported") {
                return fail(&format!("Invalid regular expression: {e}"));
            }
        }
    }
    if let Some(p) = port {
        if !(1..=65535).contains(&p) {
            return Err(ParamError::new(
                "port",
                format!("port {p} is not a TCP port"),
            ));
        }
    }
    let target = match (&path, port, state.as_str()) {
        (Some(p), _, _) => Target::Path(p.clone()),
        (None, Some(port), "drained") => Target::Drained {
            host: host.clone(),
            port,
            states,
            exclude: args.strings("exclude_hosts").unwrap_or_default(),
        },
        (None, None, "drained") => return fail("state=drained needs a port to watch"),
        (None, Some(port), _) => Target::Port {
            host: host.clone(),
            port,
        },
        (None, None, _) => Target::Sleep,
    };
    let number = |name: &str, default: i64| -> Result<i64, ParamError> {
        let v = args.int(name).unwrap_or(default);
        if v < 0 {
            return Err(ParamError::new(
                name,
                format!("{name} must not be negative"),
            ));
        }
        Ok(v)
    };
    Ok(Wait {
        target,
        stop: matches!(state.as_str(), "stopped" | "absent"),
        state,
        search_regex,
        delay: number("delay", 0)?,
        timeout: number("timeout", 300)?,
        sleep: number("sleep", 1)?.max(1),
        connect_timeout: number("connect_timeout", 5)?.max(1),
        msg: args.string("msg"),
        host,
        port,
        path,
    })
}

impl Task for Wait {
    fn plan(&self, _: Option<&Observed>) -> Result<Plan, TaskError> {
        Ok(Plan::change(
            vec![Step::script(script::script(self))],
            Map::new(),
        ))
    }

    fn finish(&self, _: &Plan, outputs: &[StepOutput]) -> Result<Map, TaskError> {
        let out = outputs
            .first()
            .ok_or_else(|| TaskError::new("wait_for: the waiting step did not run"))?;
        let seen = read(&out.stdout).map_err(|e| {
            TaskError::new(format!("could not read the host's answer to wait_for: {e}"))
        })?;
        let mut result = Map::new();
        result.insert("changed".into(), false.into());
        result.insert("elapsed".into(), seen.elapsed.into());
        match seen.outcome.as_str() {
            "done" => {}
            "timeout" => return Err(TaskError::with_result(self.timeout_msg(), result)),
            "fail" => {
                let msg = self.msg.clone().unwrap_or(seen.message);
                return Err(TaskError::with_result(msg, result));
            }
            _ => {
                let what = match self.target {
                    Target::Drained { .. } => "ss (iproute2)",
                    _ => "bash or nc",
                };
                return Err(TaskError::with_result(
                    format!("wait_for needs {what} on the host to watch a port"),
                    result,
                ));
            }
        }
        let (groups, named) = match (&self.search_regex, &seen.data) {
            (Some(re), Some(data)) => match_groups(re, data),
            _ => (Vec::new(), Map::new()),
        };
        result.insert("match_groupdict".into(), Value::Object(named));
        result.insert("match_groups".into(), Value::Array(groups));
        let null_or = |v: Option<Value>| v.unwrap_or(Value::Null);
        result.insert("path".into(), null_or(self.path.clone().map(Value::from)));
        result.insert("port".into(), null_or(self.port.map(Value::from)));
        result.insert(
            "search_regex".into(),
            null_or(self.search_regex.clone().map(Value::from)),
        );
        result.insert("state".into(), self.state.clone().into());
        if self.path.is_some() {
            // Ansible describes the path it returns, as for file modules.
            path_info(seen.stat.as_deref(), &mut result)?;
        }
        Ok(result)
    }

    fn check_mode(&self) -> CheckMode {
        CheckMode::Skip("remote module (wait_for) does not support check mode".into())
    }

    fn verify(&self) -> bool {
        false
    }
}

impl Wait {
    fn timeout_msg(&self) -> String {
        if let Some(m) = &self.msg {
            return m.clone();
        }
        let hp = format!("{}:{}", self.host, self.port.unwrap_or(0));
        match (&self.target, &self.search_regex, self.stop) {
            (Target::Port { .. }, _, true) => format!("Timeout when waiting for {hp} to stop."),
            (Target::Port { .. }, Some(re), false) => {
                format!("Timeout when waiting for search string {re} in {hp}")
            }
            (Target::Port { .. }, None, false) => format!("Timeout when waiting for {hp}"),
            (Target::Path(p), _, true) => format!("Timeout when waiting for {p} to be absent."),
            (Target::Path(p), Some(re), false) => {
                format!("Timeout when waiting for search string {re} in {p}")
            }
            (Target::Path(p), None, false) => format!("Timeout when waiting for file {p}"),
            (Target::Drained { .. }, _, _) => format!("Timeout when waiting for {hp} to drain"),
            (Target::Sleep, _, _) => "Timeout".into(),
        }
    }
}

/// What the waiting step printed.
#[derive(Debug, Default)]
struct Seen {
    outcome: String,
    elapsed: i64,
    message: String,
    data: Option<Vec<u8>>,
    stat: Option<String>,
}

fn read(stdout: &[u8]) -> Result<Seen, String> {
    let text = std::str::from_utf8(stdout).map_err(|_| "the output is not UTF-8".to_string())?;
    let mut seen = Seen::default();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let mut words = line.splitn(3, ' ');
        let tag = words.next().unwrap_or("");
        let (a, b) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let decode = |v: &str| crate::probe::decode(v).map_err(|e| e.msg);
        match tag {
            "done" | "timeout" | "fail" => {
                seen.outcome = tag.to_string();
                seen.elapsed = a
                    .parse()
                    .map_err(|_| format!("bad elapsed time in {line:?}"))?;
                if tag == "fail" {
                    seen.message = String::from_utf8_lossy(&decode(b)?).into_owned();
                }
            }
            "client" if a == "none" => seen.outcome = "none".into(),
            "data" => seen.data = Some(decode(a)?),
            // The rest of the line; a bare `stat` (no field) is empty, not
            // a slice past the line's end.
            "stat" => seen.stat = Some(line.split_once(' ').map_or("", |(_, r)| r).to_string()),
            _ => return Err(format!("unexpected line {line:?}")),
        }
    }
    if seen.outcome.is_empty() {
        return Err("no outcome line".into());
    }
    Ok(seen)
}

/// Python's `match.groups()` and `match.groupdict()` of the first match.
fn match_groups(re: &str, data: &[u8]) -> (Vec<Value>, Map) {
    let Ok(re) = regex::bytes::RegexBuilder::new(re).multi_line(true).build() else {
        return (Vec::new(), Map::new());
    };
    let Some(caps) = re.captures(data) else {
        return (Vec::new(), Map::new());
    };
    let text = |m: Option<regex::bytes::Match>| {
        m.map_or(Value::Null, |m| {
            String::from_utf8_lossy(m.as_bytes()).into_owned().into()
        })
    };
    let groups = (1..caps.len()).map(|i| text(caps.get(i))).collect();
    let named = re
        .capture_names()
        .flatten()
        .map(|n| (n.to_string(), text(caps.name(n))))
        .collect();
    (groups, named)
}

/// `uid gid mode size nlink type|owner|group` of `stat -c` → Ansible's path info.
fn path_info(stat: Option<&str>, result: &mut Map) -> Result<(), TaskError> {
    let Some(line) = stat else {
        result.insert("state".into(), "absent".into());
        return Ok(());
    };
    let bad = || {
        TaskError::new(format!(
            "could not read the host's answer to wait_for: stat {line:?}"
        ))
    };
    let w: Vec<&str> = line.splitn(6, ' ').collect();
    let [uid, gid, mode, size, nlink, rest] = w[..] else {
        return Err(bad());
    };
    let parts: Vec<&str> = rest.split('|').collect();
    let [kind, owner, group] = parts[..] else {
        return Err(bad());
    };
    let num = |s: &str| s.parse::<u64>().map_err(|_| bad());
    let mode = u32::from_str_radix(mode, 8).map_err(|_| bad())?;
    let state = match kind {
        "directory" => "directory",
        _ if num(nlink)? > 1 => "hard",
        "symbolic link" => "link",
        _ => "file",
    };
    result.insert("gid".into(), num(gid)?.into());
    result.insert("group".into(), group.into());
    result.insert("mode".into(), format!("{mode:04o}").into());
    result.insert("owner".into(), owner.into());
    result.insert("size".into(), num(size)?.into());
    result.insert("state".into(), state.into());
    result.insert("uid".into(), num(uid)?.into());
    Ok(())
}

#[cfg(test)]
mod tests;
