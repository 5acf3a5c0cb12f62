//! `tend run --drift`: the run cron makes every half hour. One run at a
//! time per playbook and inventory (a lock), silence when the hosts are in
//! sync, a short summary with diffs when they were not, a JSON report of
//! every run kept in the state directory, and optional Prometheus metrics.

mod clock;
mod lock;
mod metrics;
mod record;
mod state;
mod summary;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::engine::RunSummary;
use crate::error::Error;
use crate::report::Reporter;

pub use record::Recorder;

/// Exit code when another drift run holds the lock (EX_TEMPFAIL: try again
/// later); distinct from the detailed codes 0, 2, 4 and 6.
pub const EXIT_LOCKED: u8 = 75;

/// The settings of a drift run.
pub struct DriftOptions {
    pub state_dir: Option<PathBuf>,
    pub keep_reports: usize,
    pub metrics_file: Option<PathBuf>,
    pub splay: u64,
}

/// What is being run, for the lock, the report and the metrics.
pub struct DriftRun<'a> {
    pub playbook: &'a Path,
    pub inventories: &'a [String],
    pub check: bool,
}

/// Runs `go` as a drift run: waits the splay, takes the lock, records
/// instead of printing, then writes the report (and metrics) and prints a
/// summary only if something drifted or failed. Returns the detailed exit
/// code, or `EXIT_LOCKED`.
pub fn run(
    what: &DriftRun,
    opts: &DriftOptions,
    go: impl FnOnce(&mut dyn Reporter) -> Result<RunSummary, Error>,
) -> Result<u8, Error> {
    if opts.splay > 0 {
        std::thread::sleep(Duration::from_millis(random_below(opts.splay * 1000)));
    }
    let state = state::state_dir(opts.state_dir.as_deref()).map_err(Error::plain)?;
    let dir = state::run_dir(&state, what.playbook, what.inventories);
    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports).map_err(|e| {
        Error::plain(format!(
            "cannot create the state directory {}: {e} (choose another with --state-dir)",
            reports.display()
        ))
    })?;
    let started = SystemTime::now();
    let lock = match lock::RunLock::acquire(&dir.join("lock"), &clock::rfc3339(started)) {
        Ok(l) => l,
        Err(lock::LockError::Held { path, holder }) => {
            eprintln!(
                "tend: another drift run of this playbook and inventory is still running ({}; lock {}); not starting a second one",
                if holder.is_empty() {
                    "starting"
                } else {
                    &holder
                },
                path.display()
            );
            return Ok(EXIT_LOCKED);
        }
        Err(lock::LockError::Io(e)) => {
            return Err(Error::plain(format!("cannot take the lock: {e}")));
        }
    };
    if let Some(dead) = &lock.stale {
        eprintln!("tend: took over the lock of a drift run that did not finish ({dead})");
    }
    let clock_start = Instant::now();
    let mut recorder = Recorder::default();
    let summary = go(&mut recorder)?;
    let finished = SystemTime::now();
    let duration = clock_start.elapsed().as_secs_f64();
    let trouble = summary.failed || summary.unreachable;
    let code = (if summary.changed { 2 } else { 0 }) | (if trouble { 4 } else { 0 });

    let playbook = std::fs::canonicalize(what.playbook).unwrap_or_else(|_| what.playbook.into());
    let mut report = json!({
        "tend_version": env!("CARGO_PKG_VERSION"),
        "playbook": playbook.display().to_string(),
        "playbook_sha256": sha256_file(what.playbook),
        "inventory": what.inventories,
        "check": what.check,
        "started": clock::rfc3339(started),
        "finished": clock::rfc3339(finished),
        "duration_seconds": (duration * 1000.0).round() / 1000.0,
        "exit_code": code,
        "stale_lock": lock.stale,
        "hosts": recorder.stats.iter().map(|(h, s)| (h.clone(), json!(s))).collect::<serde_json::Map<_, _>>(),
        "drifted": recorder.drifted.iter().map(|d| d.to_json()).collect::<Vec<_>>(),
        "notes": recorder.notes,
    });
    // Results and diffs were censored and masked when recorded; task
    // names and notes may hold a registered secret too.
    crate::redact::redact_value(&mut report);
    let text = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
    let name = format!("{}-{}.json", clock::compact(started), std::process::id());
    let report_path = reports.join(name);
    write_atomically(&report_path, text.as_bytes())?;
    write_atomically(&dir.join("last-run.json"), text.as_bytes())?;
    prune(&reports, opts.keep_reports.max(1));

    if let Some(path) = &opts.metrics_file {
        let hosts = recorder
            .stats
            .iter()
            .map(|(h, _)| {
                let mine = recorder.drifted.iter().filter(|d| &d.host == h);
                let failed = mine.clone().filter(|d| d.failed()).count() as u32;
                (h.as_str(), mine.count() as u32 - failed, failed)
            })
            .collect();
        let text = metrics::render(&metrics::RunMetrics {
            playbook: &playbook.display().to_string(),
            finished_unix: clock::unix_seconds(finished),
            duration,
            exit_code: code,
            check: what.check,
            hosts,
        });
        write_atomically(path, text.as_bytes())?;
    }
    if !recorder.drifted.is_empty() {
        let name = what
            .playbook
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        let text = summary::render(&name, recorder.stats.len(), what.check, &recorder.drifted);
        println!(
            "{}report: {}",
            crate::redact::redact(&text),
            report_path.display()
        );
    }
    drop(lock);
    Ok(code)
}

/// Written whole: a reader (node_exporter, a monitor reading
/// last-run.json) never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    crate::atomic_file::write(path, bytes, 0o644)
        .map_err(|e| Error::plain(format!("cannot write {}: {e}", path.display())))
}

/// Keeps the newest `keep` reports (their names sort in time order).
fn prune(reports: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(reports) else {
        return;
    };
    let mut names: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    let excess = names.len().saturating_sub(keep);
    for old in &names[..excess] {
        let _ = std::fs::remove_file(old);
    }
}

fn sha256_file(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| {
            Sha256::digest(&b)
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect()
        })
        .unwrap_or_default()
}

/// A random number below `n`: enough for a splay.
fn random_below(n: u64) -> u64 {
    let mut buf = [0u8; 8];
    let _ = getrandom::fill(&mut buf);
    u64::from_le_bytes(buf) % n.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            "20260101T000000Z-1",
            "20260102T000000Z-1",
            "20260103T000000Z-1",
        ] {
            std::fs::write(dir.path().join(format!("{n}.json")), "{}").unwrap();
        }
        prune(dir.path(), 2);
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["20260102T000000Z-1.json", "20260103T000000Z-1.json"]);
    }
}
