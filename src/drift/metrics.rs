//! Prometheus textfile metrics of the last drift run, for node_exporter's
//! textfile collector (which reads `*.prom` files whole: hence the atomic
//! write by the caller).

use std::fmt::Write;

/// What the metrics say about one run.
pub struct RunMetrics<'a> {
    pub playbook: &'a str,
    pub finished_unix: f64,
    pub duration: f64,
    pub exit_code: u8,
    pub check: bool,
    /// Per host: tasks changed, tasks failed (or unreachable).
    pub hosts: Vec<(&'a str, u32, u32)>,
}

pub fn render(m: &RunMetrics) -> String {
    let pb = format!("playbook=\"{}\"", escape(m.playbook));
    let changed: u32 = m.hosts.iter().map(|h| h.1).sum();
    let failed: u32 = m.hosts.iter().map(|h| h.2).sum();
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, rows: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, value) in rows {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    };
    let one = |v: String| vec![(pb.clone(), v)];
    gauge(
        "tend_drift_last_run_timestamp_seconds",
        "When the last drift run finished (Unix time).",
        one(format!("{:.3}", m.finished_unix)),
    );
    gauge(
        "tend_drift_last_run_duration_seconds",
        "How long the last drift run took.",
        one(format!("{:.3}", m.duration)),
    );
    gauge(
        "tend_drift_last_run_exit_code",
        "0 in sync, 2 drift, 4 failures, 6 both.",
        one(m.exit_code.to_string()),
    );
    gauge(
        "tend_drift_last_run_check_mode",
        "1 when the last run only looked (--check).",
        one(u8::from(m.check).to_string()),
    );
    gauge(
        "tend_drift_last_run_hosts",
        "Hosts in the last drift run.",
        one(m.hosts.len().to_string()),
    );
    gauge(
        "tend_drift_last_run_changed_tasks",
        "Tasks that changed (or would change, in check mode) in the last run.",
        one(changed.to_string()),
    );
    gauge(
        "tend_drift_last_run_failed_tasks",
        "Tasks that failed or hosts that were unreachable in the last run.",
        one(failed.to_string()),
    );
    let per_host = |pick: fn(&(&str, u32, u32)) -> u32| {
        m.hosts
            .iter()
            .map(|h| {
                (
                    format!("{pb},host=\"{}\"", escape(h.0)),
                    pick(h).to_string(),
                )
            })
            .collect()
    };
    gauge(
        "tend_drift_host_changed_tasks",
        "Tasks that drifted on a host in the last run.",
        per_host(|h| h.1),
    );
    gauge(
        "tend_drift_host_failed_tasks",
        "Tasks that failed on a host in the last run.",
        per_host(|h| h.2),
    );
    out
}

/// A label value as the exposition format wants it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_has_help_type_and_escaped_labels() {
        let text = render(&RunMetrics {
            playbook: "/srv/a \"b\".yml",
            finished_unix: 1.5,
            duration: 2.25,
            exit_code: 2,
            check: false,
            hosts: vec![("h1", 2, 0), ("h2", 0, 1)],
        });
        assert!(text.contains(
            "tend_drift_host_changed_tasks{playbook=\"/srv/a \\\"b\\\".yml\",host=\"h1\"} 2\n"
        ));
        assert!(
            text.contains(
                "tend_drift_last_run_changed_tasks{playbook=\"/srv/a \\\"b\\\".yml\"} 2\n"
            )
        );
        assert!(
            text.contains(
                "tend_drift_last_run_failed_tasks{playbook=\"/srv/a \\\"b\\\".yml\"} 1\n"
            )
        );
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split('{').next().unwrap();
            assert!(text.contains(&format!("# TYPE {name} gauge")), "{line}");
            assert!(
                line.rsplit(' ').next().unwrap().parse::<f64>().is_ok(),
                "{line}"
            );
        }
    }
}
