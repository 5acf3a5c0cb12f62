//! The few lines a drift run prints when something drifted or failed, and
//! nothing at all otherwise: cron mails whatever a job prints.

use std::fmt::Write;

use super::record::Drifted;

pub fn render(playbook: &str, hosts: usize, check: bool, drifted: &[Drifted]) -> String {
    let changed = drifted.iter().filter(|d| !d.failed()).count();
    let failed = drifted.len() - changed;
    let mut seen: Vec<&str> = Vec::new();
    for d in drifted {
        if !seen.contains(&d.host.as_str()) {
            seen.push(&d.host);
        }
    }
    let verb = match check {
        true => "would change (check mode: not corrected)",
        false => "changed",
    };
    let mut out = format!(
        "DRIFT [{playbook}]: {changed} {task} {verb}, {failed} failed, on {} of {hosts} {host}\n",
        seen.len(),
        task = plural(changed, "task", "tasks"),
        host = plural(hosts, "host", "hosts"),
    );
    for host in seen {
        let _ = writeln!(out, "{host}:");
        for d in drifted.iter().filter(|d| d.host == host) {
            match &d.msg {
                Some(msg) => {
                    let _ = writeln!(out, "  {}: {}: {}", d.status, d.task, msg.trim());
                }
                None => {
                    let _ = writeln!(out, "  {}: {}", d.status, d.task);
                }
            }
            for diff in &d.diffs {
                for line in diff.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
    }
    out
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(host: &str, task: &str, status: &'static str, msg: Option<&str>, diff: &str) -> Drifted {
        Drifted {
            host: host.into(),
            task: task.into(),
            status,
            msg: msg.map(str::to_string),
            diffs: if diff.is_empty() {
                vec![]
            } else {
                vec![diff.into()]
            },
            seconds: 0.1,
        }
    }

    #[test]
    fn names_each_host_once_with_its_tasks_and_diffs() {
        let text = render(
            "site.yml",
            3,
            false,
            &[
                d("h1", "config", "changed", None, "-a\n+b"),
                d("h2", "firewall", "changed", None, ""),
                d("h1", "restart", "failed", Some("unit failed"), ""),
            ],
        );
        assert_eq!(
            text,
            "DRIFT [site.yml]: 2 tasks changed, 1 failed, on 2 of 3 hosts\n\
             h1:\n  changed: config\n    -a\n    +b\n  failed: restart: unit failed\n\
             h2:\n  changed: firewall\n"
        );
        assert!(render("s", 1, true, &[d("h", "t", "changed", None, "")])
            .starts_with("DRIFT [s]: 1 task would change (check mode: not corrected), 0 failed, on 1 of 1 host\n"));
    }
}
