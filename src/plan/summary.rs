//! What `tend plan` and `tend apply` print for people: per host, each
//! task that would change with its diff, then one line with the count,
//! as Terraform does.

use super::checker::ApplyReport;
use super::file::{Action, PlanFile, PlannedTask};

/// The plan, host by host, ending with `Plan: N to change on M hosts.`
pub fn plan_text(plan: &PlanFile) -> String {
    let mut out = String::new();
    for host in &plan.hosts {
        let shown: Vec<&PlannedTask> = host.tasks.iter().filter(|t| t.action.changes()).collect();
        if shown.is_empty() {
            continue;
        }
        out.push_str(&format!("{}:\n", host.host));
        for task in shown {
            out.push_str(&task_lines(task));
        }
        out.push('\n');
    }
    if !plan.problems.is_empty() {
        out.push_str(
            "Problems while planning (what a host did not reach is not in the plan; apply refuses it):\n",
        );
        for p in &plan.problems {
            out.push_str(&format!("  {}: {}: {}\n", p.host, p.task, p.message));
        }
        out.push('\n');
    }
    let (changes, hosts) = plan.counts();
    if changes == 0 {
        out.push_str("No changes. The hosts match the playbook.\n");
    } else {
        out.push_str(&format!(
            "Plan: {changes} to change on {hosts} {}.\n",
            if hosts == 1 { "host" } else { "hosts" }
        ));
    }
    // Printed as it is: masked here (a plan file is read from disk).
    crate::redact::redact(&out).into_owned()
}

/// `  ~ task (module, at)` and its diff, indented; a command says it runs.
fn task_lines(task: &PlannedTask) -> String {
    let item = task
        .label
        .as_ref()
        .map(|l| format!(" (item={l})"))
        .unwrap_or_default();
    let (mark, note) = match task.action {
        Action::Run => (
            ">",
            ": runs when applied; what it changes cannot be shown".to_string(),
        ),
        Action::Depends => (
            "?",
            format!(
                ": {}",
                task.message
                    .as_deref()
                    .unwrap_or("depends on an earlier change")
            ),
        ),
        _ => ("~", String::new()),
    };
    let mut out = format!(
        "  {mark} {}{item} ({}, {}){note}\n",
        task.task, task.module, task.at
    );
    if let Some(first) = &task.after {
        if task.action == Action::Change {
            out.push_str(&format!(
                "      (as seen before '{first}' changes the host)\n"
            ));
        }
    }
    for diff in &task.diff {
        for line in diff.trim_end().lines() {
            out.push_str(&format!("      {line}\n"));
        }
    }
    out
}

/// After an apply: refusals and planned changes not reached, then one line.
pub fn apply_text(report: &ApplyReport) -> String {
    let mut out = String::new();
    if !report.refusals.is_empty() {
        out.push_str("Refused (the host no longer matches the plan):\n");
        for r in &report.refusals {
            out.push_str(&format!("  {}\n", r.message()));
        }
    }
    if !report.unreached.is_empty() {
        out.push_str("Planned changes not reached (a failure before them, or a condition no longer holds):\n");
        for (host, task) in &report.unreached {
            out.push_str(&format!("  {host}: {task}\n"));
        }
    }
    out.push_str(&format!(
        "Apply: {} of {} planned {} went ahead, {} refused.\n",
        report.went_ahead,
        report.planned,
        if report.planned == 1 {
            "change"
        } else {
            "changes"
        },
        report.refusals.len()
    ));
    crate::redact::redact(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::checker::Refusal;
    use crate::plan::file::{Problem, sample};

    #[test]
    fn a_plan_reads_like_terraforms() {
        let mut plan = sample();
        let mut web2 = plan.hosts[0].clone();
        web2.host = "web2".into();
        web2.tasks[0].action = Action::Run;
        web2.tasks[0].module = "command".into();
        web2.tasks[0].task = "Migrate".into();
        web2.tasks[0].diff.clear();
        let mut quiet = web2.clone();
        quiet.host = "web3".into();
        quiet.tasks[0].action = Action::Unchanged;
        plan.hosts.push(web2);
        plan.hosts.push(quiet);
        assert_eq!(
            plan_text(&plan),
            "web1:\n  ~ Write the config (copy, site.yml:4:7)\n      --- before\n      +++ after\n\n\
             web2:\n  > Migrate (command, site.yml:4:7): runs when applied; what it changes cannot be shown\n\n\
             Plan: 2 to change on 2 hosts.\n"
        );
    }

    #[test]
    fn no_changes_and_problems_are_said() {
        let mut plan = sample();
        plan.hosts[0].tasks[0].action = Action::Unchanged;
        plan.problems.push(Problem {
            host: "db1".into(),
            task: "Gathering Facts".into(),
            message: "UNREACHABLE: no route to host".into(),
        });
        let text = plan_text(&plan);
        assert!(text.starts_with("Problems while planning"), "{text}");
        assert!(text.contains("  db1: Gathering Facts: UNREACHABLE: no route to host\n"));
        assert!(
            text.ends_with("No changes. The hosts match the playbook.\n"),
            "{text}"
        );
    }

    #[test]
    fn an_apply_names_its_refusals() {
        let report = ApplyReport {
            planned: 3,
            went_ahead: 2,
            refusals: vec![Refusal {
                host: "web1".into(),
                task: "Write the config".into(),
                reason: "the host changed since the plan".into(),
            }],
            unreached: vec![],
        };
        assert_eq!(
            apply_text(&report),
            "Refused (the host no longer matches the plan):\n  web1: Write the config: the host changed since the plan\n\
             Apply: 2 of 3 planned changes went ahead, 1 refused.\n"
        );
    }
}
