//! `tend cron install | remove`: a cron.d entry that runs `tend run --drift`
//! on a schedule, so that a machine keeps its hosts converged and puts right
//! what was changed by hand.
//!
//! The entry is everything `tend run` needs, made absolute: this binary, the
//! playbook, the inventory files, the directory it was installed from. What
//! `tend run` would refuse is refused here, at install time, rather than
//! every half hour in a log nobody reads.

mod entry;
mod every;

use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args, Subcommand};

use crate::error::Error;
use crate::inventory::Inventory;

use super::args::PlaybookArgs;
use entry::{Entry, Log, MARKER};
use every::Every;

#[derive(Args, Debug, Clone)]
pub struct CronArgs {
    #[command(subcommand)]
    pub command: CronCommand,
}

#[derive(Subcommand, Debug, Clone)]
pub enum CronCommand {
    /// Write a cron.d entry that runs `tend run --drift` on a schedule.
    Install(Box<InstallArgs>),
    /// Delete an entry written by `tend cron install`.
    Remove(RemoveArgs),
}

#[derive(Args, Debug, Clone)]
pub struct InstallArgs {
    #[command(flatten)]
    pub common: PlaybookArgs,
    /// How often: minutes that divide an hour (30m), hours that divide a day
    /// (6h), or 1d. The minute it fires at is picked from the name.
    #[arg(long, value_name = "INTERVAL")]
    pub every: String,
    /// Only report drift, correct nothing (`tend run --check`).
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Wait up to this many seconds before each run (passed to `tend run`).
    #[arg(long, value_name = "SECONDS")]
    pub splay: Option<u64>,
    /// Passed to `tend run` (where it keeps its lock and reports).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Passed to `tend run` (where it writes metrics after each run).
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
    /// Append the output to this file instead of sending it to syslog.
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// The user the entry runs as.
    #[arg(long, default_value = "root")]
    pub user: String,
    /// The entry is /etc/cron.d/tend-NAME (default: from the playbook's file
    /// name, `site` for site.yml).
    #[arg(long)]
    pub name: Option<String>,
    /// Print the entry instead of writing it.
    #[arg(long)]
    pub print: bool,
    /// Where to write the entry.
    #[arg(long, value_name = "DIR", default_value = "/etc/cron.d")]
    pub cron_dir: PathBuf,
}

#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("entry").required(true).args(["playbook", "name"])))]
pub struct RemoveArgs {
    /// The playbook the entry was installed for (its name is taken from it).
    pub playbook: Option<PathBuf>,
    /// The entry's name, as given to `tend cron install --name`.
    #[arg(long)]
    pub name: Option<String>,
    /// Where the entry is.
    #[arg(long, value_name = "DIR", default_value = "/etc/cron.d")]
    pub cron_dir: PathBuf,
}

pub fn cron(args: &CronArgs) -> Result<u8, Error> {
    match &args.command {
        CronCommand::Install(a) => install(a),
        CronCommand::Remove(a) => remove(a),
    }
}

fn install(args: &InstallArgs) -> Result<u8, Error> {
    let common = &args.common;
    let name = entry_name(args.name.as_deref(), &common.playbook)?;
    let every = Every::parse(&args.every)?;
    check_user(&args.user)?;
    if !common.playbook.is_file() {
        return Err(Error::plain(format!(
            "the playbook '{}' does not exist; no cron entry written",
            common.playbook.display()
        )));
    }
    // cron has no terminal to ask a vault password on.
    let prompts = |id: &String| id == "prompt" || id.ends_with("@prompt");
    if common.vault.ask_vault_pass || common.vault.vault_ids.iter().any(prompts) {
        return Err(Error::plain(
            "a vault password prompt cannot work from cron (no terminal); give --vault-password-file FILE or --vault-id LABEL@FILE instead",
        ));
    }
    super::vault::unlock(&common.vault)?;
    // Everything `tend validate` checks: a playbook that cannot start would
    // fail on every tick.
    let inventory = Inventory::load(&common.inventory)?;
    let playbook = crate::playbook::load_playbook(&common.playbook)?;
    super::extra_vars::parse_all(&common.extra_vars)?;
    crate::validate::check(&playbook, &inventory)?;

    let dir = std::env::current_dir()
        .map_err(|e| Error::plain(format!("cannot read the current directory: {e}")))?;
    let argv = run_words(args)?;
    let log = match &args.log_file {
        Some(path) => Log::File(text(&absolute(path)?)?),
        None => Log::Syslog,
    };
    let content = Entry {
        name: name.clone(),
        every,
        user: args.user.clone(),
        dir: text(&dir)?,
        argv,
        log,
        check: args.check,
    }
    .render()?;

    if args.print {
        print!("{content}");
        return Ok(0);
    }
    let path = args.cron_dir.join(format!("tend-{name}"));
    refuse_foreign(&path, "replace")?;
    write_atomically(&path, &content)?;
    println!(
        "wrote {}: every {}, tend run --drift{} {}",
        path.display(),
        every.describe(),
        if args.check { " --check" } else { "" },
        common.playbook.display()
    );
    Ok(0)
}

/// The `tend run --drift ...` the entry runs, one word each, with this
/// binary, the playbook and the inventory files made absolute.
fn run_words(args: &InstallArgs) -> Result<Vec<String>, Error> {
    let common = &args.common;
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| Error::plain(format!("cannot find the tend binary: {e}")))?;
    let mut argv = vec![
        text(&exe)?,
        "run".into(),
        text(&canonical(&common.playbook)?)?,
    ];
    for source in &common.inventory {
        argv.push("-i".into());
        argv.push(if Path::new(source).exists() {
            text(&canonical(Path::new(source))?)?
        } else {
            source.clone()
        });
    }
    for spec in &common.extra_vars {
        argv.extend(["-e".into(), spec.clone()]);
    }
    if let Some(limit) = &common.limit {
        argv.extend(["-l".into(), limit.clone()]);
    }
    for id in &common.vault.vault_ids {
        // `label@file`: the file made absolute, like the playbook's.
        let id = match id.split_once('@') {
            Some((label, source)) if Path::new(source).exists() => {
                format!("{label}@{}", text(&canonical(Path::new(source))?)?)
            }
            _ => id.clone(),
        };
        argv.extend(["--vault-id".into(), id]);
    }
    for file in &common.vault.vault_password_files {
        argv.extend(["--vault-password-file".into(), text(&canonical(file)?)?]);
    }
    argv.push("--drift".into());
    if args.check {
        argv.push("--check".into());
    }
    if let Some(splay) = args.splay {
        argv.extend(["--splay".into(), splay.to_string()]);
    }
    if let Some(state_dir) = &args.state_dir {
        argv.extend(["--state-dir".into(), text(&absolute(state_dir)?)?]);
    }
    if let Some(metrics) = &args.metrics_file {
        argv.extend(["--metrics-file".into(), text(&absolute(metrics)?)?]);
    }
    Ok(argv)
}

fn remove(args: &RemoveArgs) -> Result<u8, Error> {
    // clap requires one of --name and PLAYBOOK.
    let playbook = args.playbook.as_deref().unwrap_or(Path::new(""));
    let name = entry_name(args.name.as_deref(), playbook)?;
    let path = args.cron_dir.join(format!("tend-{name}"));
    if !path.exists() {
        return Err(Error::plain(format!(
            "no cron entry {}: nothing to remove",
            path.display()
        )));
    }
    refuse_foreign(&path, "remove")?;
    std::fs::remove_file(&path).map_err(|e| write_error(&path, &e))?;
    println!("removed {}", path.display());
    Ok(0)
}

/// `--name` as given, or a slug of the playbook's file stem: cron ignores
/// files in cron.d whose names hold anything but `A-Za-z0-9_-` (Debian's
/// run-parts rule), a dot included.
fn entry_name(given: Option<&str>, playbook: &Path) -> Result<String, Error> {
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if let Some(name) = given {
        if name.is_empty() || !name.chars().all(valid) {
            return Err(Error::plain(format!(
                "--name '{name}': only letters, digits, '_' and '-' are allowed \
                 (cron ignores other file names in cron.d)"
            )));
        }
        return Ok(name.to_string());
    }
    let stem = playbook
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut slug = String::new();
    for c in stem.chars() {
        if valid(c) {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-');
    if slug.is_empty() {
        return Err(Error::plain(format!(
            "cannot make a cron entry name from '{}'; give one with --name",
            playbook.display()
        )));
    }
    Ok(slug.to_string())
}

/// cron.d's user field is one word; a user name that is not one would
/// break the line.
fn check_user(user: &str) -> Result<(), Error> {
    let ok = !user.is_empty()
        && !user.starts_with('-')
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::plain(format!(
            "--user '{user}': not a user name (letters, digits, '.', '_' and '-')"
        )))
    }
}

/// Refuses to touch a file tend did not write.
fn refuse_foreign(path: &Path, verb: &str) -> Result<(), Error> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.starts_with(MARKER) => Err(Error::plain(format!(
            "{} was not written by `tend cron install`; not going to {verb} it",
            path.display()
        ))),
        _ => Ok(()),
    }
}

/// Written whole, so that cron never reads half a file (the temporary
/// name starts with a dot, which cron ignores).
fn write_atomically(path: &Path, content: &str) -> Result<(), Error> {
    crate::atomic_file::write(path, content.as_bytes(), 0o644).map_err(|e| write_error(path, &e))
}

fn write_error(path: &Path, err: &std::io::Error) -> Error {
    let dir = path.parent().unwrap_or(Path::new("."));
    let why = match err.kind() {
        std::io::ErrorKind::NotFound if !dir.is_dir() => format!(
            "{} does not exist (is cron installed? --print shows the entry without writing it)",
            dir.display()
        ),
        std::io::ErrorKind::PermissionDenied => {
            "permission denied (run it as root, or use --print)".to_string()
        }
        _ => err.to_string(),
    };
    Error::plain(format!("cannot write {}: {why}", path.display()))
}

fn canonical(path: &Path) -> Result<PathBuf, Error> {
    std::fs::canonicalize(path).map_err(|e| Error::io(path, &e))
}

fn absolute(path: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(path).map_err(|e| Error::io(path, &e))
}

fn text(path: &Path) -> Result<String, Error> {
    path.to_str().map(str::to_string).ok_or_else(|| {
        Error::plain(format!(
            "{}: a path that is not UTF-8 cannot go in a cron entry",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{check_user, entry_name};

    #[test]
    fn the_name_is_a_slug_of_the_playbook_stem() {
        let name = |p: &str| entry_name(None, Path::new(p)).unwrap();
        assert_eq!(name("site.yml"), "site");
        assert_eq!(name("/srv/infra/web-service/site_v2.yaml"), "site_v2");
        assert_eq!(name("my site.v2.yml"), "my-site-v2");
        assert_eq!(name("-odd name!.yml"), "odd-name");
        assert_eq!(name("keep--dashes.yml"), "keep--dashes");
        assert!(entry_name(None, Path::new("..yml")).is_err());
    }

    #[test]
    fn a_given_name_must_be_a_valid_cron_d_file_name() {
        assert_eq!(
            entry_name(Some("web_1-a"), Path::new("x.yml")).unwrap(),
            "web_1-a"
        );
        for bad in ["", "web.prod", "a b", "../etc", "näme"] {
            let msg = entry_name(Some(bad), Path::new("x.yml"))
                .unwrap_err()
                .to_string();
            assert!(
                msg.starts_with(&format!("--name '{bad}': only letters")),
                "{msg}"
            );
        }
    }

    #[test]
    fn the_user_field_is_one_word() {
        assert!(check_user("root").is_ok());
        assert!(check_user("deploy.bot_1").is_ok());
        for bad in ["", "a b", "-x", "root\n"] {
            assert!(check_user(bad).is_err(), "{bad:?}");
        }
    }
}
