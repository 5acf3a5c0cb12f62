//! `tend plan` and `tend apply`: a check run saved as a plan, and a real
//! run that applies only what the plan shows (see src/plan).
//!
//! Exit codes. `tend plan`: 0 no changes, 2 changes planned, 4 added when a
//! task failed or a host was unreachable while planning (the plan is still
//! written), 1 invalid input. `tend apply`: as `tend run
//! --detailed-exitcodes`: 0 nothing changed, 2 changed, 4 a task failed, a
//! host was unreachable or the plan refused a task, 6 both; 1 when the
//! plan itself is refused (too old, other files, not a plan), before any
//! host is touched.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use crate::engine::{ConnectionOptions, Outcome, RunOptions, RunSummary, run_playbook};
use crate::error::Error;
use crate::inventory::Inventory;
use crate::plan::{self, Checker, PlanFile, PlanHook, Problem, Recorder, RunSpec, Survey};
use crate::report::{Human, Reporter};

use super::args::{ConnectionArgs, PlaybookArgs, SelectArgs};
use super::extra_vars;

#[derive(Args, Debug, Clone)]
pub struct PlanArgs {
    #[command(flatten)]
    pub common: PlaybookArgs,
    /// Write the plan to this file, for `tend apply`.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Args, Debug, Clone)]
pub struct ApplyArgs {
    /// The plan `tend plan -o FILE` wrote. It names the playbook,
    /// inventory, extra vars, limit and tags: nothing else is needed.
    pub plan: PathBuf,
    /// Refuse a plan older than this: 90s, 30m, 2h, 1d, 1h30m.
    #[arg(long, value_name = "DURATION", default_value = plan::DEFAULT_MAX_AGE)]
    pub max_age: String,
    /// Show changes as diffs.
    #[arg(short = 'D', long)]
    pub diff: bool,
    /// Hosts worked on at once (default: every host of the batch).
    #[arg(short = 'f', long, default_value_t = 0)]
    pub forks: usize,
    /// More detail (-v shows results, traffic per host).
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub vault: super::vault::VaultArgs,
}

pub fn plan(args: &PlanArgs) -> Result<u8, Error> {
    let common = &args.common;
    super::vault::unlock(&common.vault)?;
    let playbook =
        std::path::absolute(&common.playbook).map_err(|e| Error::io(&common.playbook, &e))?;
    if !playbook.is_file() {
        return Err(Error::io(
            &common.playbook,
            &std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    let spec = RunSpec {
        playbook,
        inventory: common
            .inventory
            .iter()
            .map(|s| absolute_source(s))
            .collect(),
        extra_vars: extra_vars::parse_all(&common.extra_vars)?,
        limit: common.limit.clone(),
        tags: super::run::split_list(&args.select.tags),
        skip_tags: super::run::split_list(&args.select.skip_tags),
    };
    if let Some(out) = &args.out {
        if out.exists() && !plan::is_plan_file(out) {
            return Err(Error::plain(format!(
                "-o {}: refusing to write the plan over a file that is not a plan",
                out.display()
            )));
        }
    }
    let files = plan::file_sums(playbook_dir(&spec.playbook), &spec.inventory)?;
    // A plan is as old as what it saw: dated before the first probe.
    let created = plan::now_unix();
    let recorder = Arc::new(Recorder::default());
    let mut problems = Problems::default();
    let summary = run_spec(
        &spec,
        Mode {
            check: true,
            diff: true,
            forks: args.select.forks,
            verbosity: 0,
            connection: super::connection::options(&args.connection)?,
            hook: recorder.clone(),
        },
        &mut problems,
    )?;
    let saved = PlanFile {
        format: plan::FORMAT.into(),
        version: plan::VERSION,
        tend_version: env!("CARGO_PKG_VERSION").into(),
        created: plan::rfc3339(created),
        created_unix: created,
        run: spec,
        files,
        hosts: recorder.hosts(),
        problems: problems.found,
    };
    print!("{}", plan::plan_text(&saved));
    match &args.out {
        Some(out) => {
            saved.save(out)?;
            println!(
                "\nSaved the plan to {}. Apply it with: tend apply {}",
                out.display(),
                out.display()
            );
        }
        None => println!("\nThe plan was not saved: `tend apply` needs one written with -o FILE."),
    }
    let (changes, _) = saved.counts();
    let trouble = summary.failed || summary.unreachable;
    Ok((if changes > 0 { 2 } else { 0 }) | (if trouble { 4 } else { 0 }))
}

pub fn apply(args: &ApplyArgs) -> Result<u8, Error> {
    super::vault::unlock(&args.vault)?;
    let max_age =
        plan::parse_duration(&args.max_age).map_err(|e| Error::plain(format!("--max-age {e}")))?;
    let saved = PlanFile::load(&args.plan)?;
    let refuse = |why: String| {
        Error::plain(format!(
            "{}: refused, nothing was applied: {why}",
            args.plan.display()
        ))
    };
    let this_tend = env!("CARGO_PKG_VERSION");
    if saved.tend_version != this_tend {
        return Err(refuse(format!(
            "the plan was made by tend {}, this is tend {this_tend}, which may look at hosts differently: make a new plan",
            saved.tend_version
        )));
    }
    plan::check_age(saved.created_unix, plan::now_unix(), max_age).map_err(refuse)?;
    let dir = playbook_dir(&saved.run.playbook);
    let files = plan::file_sums(dir, &saved.run.inventory)?;
    if let Some(what) = plan::first_difference(&saved.files, &files) {
        return Err(refuse(format!(
            "the plan was made from different playbook files ({what} since it was made): make a new plan"
        )));
    }
    if saved.counts().0 == 0 {
        println!("The plan has no changes: nothing to apply.");
        return Ok(0);
    }
    let connection = super::connection::options(&args.connection)?;
    let checker = Arc::new(Checker::new(&saved.hosts));
    // First a check run that only reads: how every task's probe sees the
    // hosts before this apply changes anything (see plan/verdict.rs).
    run_spec(
        &saved.run,
        Mode {
            check: true,
            diff: false,
            forks: args.forks,
            verbosity: 0,
            connection: connection.clone(),
            hook: Arc::new(Survey(checker.clone())),
        },
        &mut Problems::default(),
    )?;
    let mut reporter = Human::stdout(args.verbose);
    let summary = run_spec(
        &saved.run,
        Mode {
            check: false,
            diff: args.diff,
            forks: args.forks,
            verbosity: args.verbose,
            connection,
            hook: checker.clone(),
        },
        &mut reporter,
    )?;
    let report = checker.report();
    print!("{}", plan::apply_text(&report));
    let trouble = summary.failed || summary.unreachable || !report.refusals.is_empty();
    Ok((if summary.changed { 2 } else { 0 }) | (if trouble { 4 } else { 0 }))
}

/// How a plan's run goes, besides its spec.
struct Mode {
    check: bool,
    diff: bool,
    forks: usize,
    verbosity: u8,
    connection: ConnectionOptions,
    hook: Arc<dyn PlanHook>,
}

fn run_spec(spec: &RunSpec, mode: Mode, reporter: &mut dyn Reporter) -> Result<RunSummary, Error> {
    let inventory = Inventory::load(&spec.inventory)?;
    let playbook = crate::playbook::load_playbook(&spec.playbook)?;
    crate::validate::check(&playbook, &inventory)?;
    let opts = RunOptions {
        check: mode.check,
        diff: mode.diff,
        limit: spec.limit.clone(),
        tags: spec.tags.clone(),
        skip_tags: spec.skip_tags.clone(),
        forks: mode.forks,
        verbosity: mode.verbosity,
        force_handlers: false,
        extra_vars: spec.extra_vars.clone(),
        connection: mode.connection,
        plan_hook: Some(mode.hook),
    };
    run_playbook(&playbook, &inventory, &opts, reporter)
}

fn playbook_dir(playbook: &Path) -> &Path {
    playbook.parent().unwrap_or(Path::new("/"))
}

/// An inventory path made absolute, so that a plan applies from anywhere;
/// a host list (`web1,web2,`) as written.
fn absolute_source(source: &str) -> String {
    let path = Path::new(source);
    match std::path::absolute(path) {
        Ok(abs) if path.exists() => abs.display().to_string(),
        _ => source.to_string(),
    }
}

/// `tend plan`'s reporter: the task lines are left out (the plan says what
/// would change); failures and unreachable hosts are kept for the summary.
#[derive(Default)]
struct Problems {
    task: String,
    found: Vec<Problem>,
}

impl Reporter for Problems {
    fn play_start(&mut self, _name: &str) {}
    fn no_hosts(&mut self) {}
    fn task_start(&mut self, header: &str) {
        let title = header
            .split_once(" [")
            .map_or(header, |(_, rest)| rest.trim_end_matches(']'));
        self.task = title.to_string();
    }
    fn result(&mut self, host: &str, outcome: &Outcome) {
        if !outcome.is_failure() {
            return;
        }
        let what = match outcome.status {
            crate::engine::Status::Unreachable => "UNREACHABLE: ",
            _ => "",
        };
        self.found.push(Problem {
            host: host.to_string(),
            task: crate::redact::redact(&self.task).into_owned(),
            // Censored under `no_log`, secrets masked: problems go into
            // the plan file and onto the terminal.
            message: format!(
                "{what}{}",
                crate::report::shown_msg(outcome).unwrap_or_else(|| "failed".into())
            ),
        });
    }
    fn included(&mut self, _host: &str, _file: &str) {}
    fn retry(
        &mut self,
        _host: &str,
        _task: &str,
        _left: u32,
        _result: &serde_json::Map<String, serde_json::Value>,
    ) {
    }
    fn note(&mut self, _text: &str) {}
    /// A failure a `rescue` caught was no problem: only hosts that ended
    /// failed or unreachable keep theirs.
    fn recap(
        &mut self,
        stats: &[(String, crate::engine::HostStats)],
        _traffic: &[(String, (u64, u64, u64))],
    ) {
        self.found.retain(|p| {
            stats
                .iter()
                .any(|(host, s)| *host == p.host && (s.failed > 0 || s.unreachable > 0))
        });
    }
}
