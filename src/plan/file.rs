//! The plan file: what `tend plan -o` writes and `tend apply` reads. JSON,
//! with a format name and version first, so that a file that is not a
//! plan, or a plan from a newer tend, is told as such. Written atomically
//! (a temporary file beside it, renamed into place) and readable by its
//! owner only: it holds diffs and extra variables.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// The `format` field of every plan file.
pub const FORMAT: &str = "tend-plan";
/// The plan format this tend writes and reads. Old plans are not
/// migrated: a plan is short-lived, make a new one.
pub const VERSION: u32 = 1;
/// How every plan file starts (see [`PlanFile::save`]): lets the checksum
/// walk skip plan files lying beside the playbook.
pub const HEADER: &str = "{\n  \"format\": \"tend-plan\"";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFile {
    pub format: String,
    pub version: u32,
    /// The tend that made the plan; another one may probe differently.
    pub tend_version: String,
    /// When the plan was made, for people (`2024-05-01T12:00:00Z`).
    pub created: String,
    /// The same, in seconds since the Unix epoch, for `--max-age`.
    pub created_unix: u64,
    pub run: RunSpec,
    /// The playbook's and inventory's files as they were.
    pub files: Vec<FileSum>,
    pub hosts: Vec<HostPlan>,
    /// Tasks that failed and hosts that could not be reached while planning.
    #[serde(default)]
    pub problems: Vec<Problem>,
}

/// Everything that makes the run the same run again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Absolute, so that `tend apply` works from any directory.
    pub playbook: PathBuf,
    /// Absolute paths, or host lists as written.
    pub inventory: Vec<String>,
    /// As parsed: `-e @file` is read once, when planning.
    pub extra_vars: serde_json::Map<String, Value>,
    pub limit: Option<String>,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
}

/// One file and its digest: `sha256:<hex>`, or `size:<bytes>,mtime:<secs>`
/// for files too big to read (see checksums.rs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSum {
    pub path: String,
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostPlan {
    pub host: String,
    /// In the order they ran while planning.
    pub tasks: Vec<PlannedTask>,
}

/// One run of a module on a host (one loop item, one include), as planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedTask {
    /// Where the task is written: `file:line:col`, relative to the
    /// playbook's directory when it is inside it.
    pub at: String,
    /// The loop item's position, for a looped task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    /// The loop item as shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The how-manieth run of this task and item on this host (an
    /// `include_tasks` in a loop, a handler flushed twice), from 1.
    pub occurrence: u32,
    /// The task as shown (templated, with its role).
    pub task: String,
    /// The task's name as written, to tell tasks apart.
    pub name: String,
    pub module: String,
    pub action: Action,
    /// What the task's probe saw; none for tasks without a probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The module and its probe: which task this is (see fingerprint.rs).
    pub identity: String,
    /// The change it would make (see fingerprint.rs).
    pub intent: String,
    /// An earlier task on this host that would change it first: what this
    /// task saw may not be what it will see when applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Why it failed or what it depends on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Unified diffs; empty under `diff: false` or `no_log`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<String>,
}

/// What a task was going to do when the plan was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// It would change the host, as its diff shows.
    Change,
    /// A command (or another task that cannot predict its effect): it will run.
    Run,
    /// It could not be planned because an earlier change did not happen
    /// while planning (a service of a package still to be installed).
    Depends,
    /// It ran for real while planning (`check_mode: false`), and runs again.
    Ran,
    /// A command that only reads (`changed_when: false`): it runs, and
    /// changes nothing.
    Read,
    /// Nothing to change.
    Unchanged,
    /// The module skips it (`creates` exists, ...).
    Skip,
    /// It failed while planning.
    Fail,
}

impl Action {
    /// Whether applying the task changes (or may change) the host.
    pub fn changes(self) -> bool {
        matches!(self, Action::Change | Action::Run | Action::Depends)
    }

    /// Whether the task's steps run when applied.
    pub fn runs(self) -> bool {
        self.changes() || self == Action::Read
    }
}

/// A failure or an unreachable host while planning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub host: String,
    pub task: String,
    pub message: String,
}

impl PlanFile {
    /// Reads a plan, refusing anything that is not a plan this tend reads.
    pub fn load(path: &Path) -> Result<PlanFile, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
        let refused = |e: String| Error::plain(format!("{}: {e}", path.display()));
        let text = String::from_utf8(bytes)
            .map_err(|_| refused("not a tend plan, or a damaged one: it is not text".into()))?;
        PlanFile::parse(&text).map_err(refused)
    }

    pub fn parse(text: &str) -> Result<PlanFile, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            format!("not a tend plan, or a damaged one: it is not valid JSON ({e})")
        })?;
        let format = value.get("format").and_then(Value::as_str);
        if format != Some(FORMAT) {
            return Err("not a tend plan: it has no \"format\": \"tend-plan\"; make one with `tend plan PLAYBOOK -i INVENTORY -o FILE`".into());
        }
        match value.get("version").and_then(Value::as_u64) {
            Some(v) if v == u64::from(VERSION) => {}
            Some(v) if v > u64::from(VERSION) => {
                return Err(format!(
                    "the plan has format version {v}, newer than this tend reads ({VERSION}): apply it with the tend that made it, or make a new plan"
                ));
            }
            Some(v) => {
                return Err(format!(
                    "the plan has format version {v}, which this tend no longer reads ({VERSION}): make a new plan"
                ));
            }
            None => return Err("not a tend plan: it has no format version".into()),
        }
        serde_json::from_value(value).map_err(|e| format!("a damaged tend plan: {e}"))
    }

    /// Writes the plan: to a temporary file beside `path` (mode 0600), then
    /// renamed over it, so that a reader never sees half a plan.
    /// An existing file is replaced only if it is a plan: `-o site.yml`
    /// by mistake must not eat the playbook.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        if path.exists() && !is_plan_file(path) {
            return Err(Error::plain(format!(
                "{}: refusing to write the plan over a file that is not a plan",
                path.display()
            )));
        }
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::plain(format!("could not write the plan: {e}")))?;
        text.push('\n');
        crate::atomic_file::write(path, text.as_bytes(), 0o600).map_err(|e| Error::io(path, &e))
    }

    /// Planned changes, and the hosts they are on.
    pub fn counts(&self) -> (usize, usize) {
        let changes = |h: &HostPlan| h.tasks.iter().filter(|t| t.action.changes()).count();
        let total = self.hosts.iter().map(changes).sum();
        let hosts = self.hosts.iter().filter(|h| changes(h) > 0).count();
        (total, hosts)
    }
}

/// Whether a file starts as every plan file does.
pub fn is_plan_file(path: &Path) -> bool {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = [0u8; HEADER.len()];
    file.read_exact(&mut head).is_ok() && head == HEADER.as_bytes()
}

/// A small plan for tests: one host, one change.
#[cfg(test)]
pub(crate) fn sample() -> PlanFile {
    PlanFile {
        format: FORMAT.into(),
        version: VERSION,
        tend_version: env!("CARGO_PKG_VERSION").into(),
        created: "2023-11-14T22:13:20Z".into(),
        created_unix: 1_700_000_000,
        run: RunSpec {
            playbook: "/srv/site.yml".into(),
            inventory: vec!["/srv/hosts".into()],
            extra_vars: serde_json::Map::new(),
            limit: None,
            tags: vec![],
            skip_tags: vec![],
        },
        files: vec![FileSum {
            path: "site.yml".into(),
            digest: "sha256:00".into(),
        }],
        hosts: vec![HostPlan {
            host: "web1".into(),
            tasks: vec![PlannedTask {
                at: "site.yml:4:7".into(),
                item: None,
                label: None,
                occurrence: 1,
                task: "Write the config".into(),
                name: "Write the config".into(),
                module: "copy".into(),
                action: Action::Change,
                fingerprint: Some("ab".into()),
                identity: "ef".into(),
                intent: "cd".into(),
                after: None,
                message: None,
                diff: vec!["--- before\n+++ after\n".into()],
            }],
        }],
        problems: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_survives_the_round_trip_and_starts_with_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let plan = sample();
        plan.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(HEADER), "{text}");
        assert_eq!(PlanFile::load(&path).unwrap(), plan);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Saved again over the old one; no temporary file is left.
        plan.save(&path).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        // But never over a file that is not a plan.
        let playbook = dir.path().join("site.yml");
        std::fs::write(&playbook, "- hosts: all\n").unwrap();
        let e = plan.save(&playbook).unwrap_err().to_string();
        assert!(
            e.ends_with("refusing to write the plan over a file that is not a plan"),
            "{e}"
        );
        assert_eq!(
            std::fs::read_to_string(&playbook).unwrap(),
            "- hosts: all\n"
        );
    }

    #[test]
    fn what_is_not_a_plan_says_so() {
        let err = |text: &str| PlanFile::parse(text).unwrap_err();
        assert!(
            err("garbage\u{0}")
                .starts_with("not a tend plan, or a damaged one: it is not valid JSON")
        );
        assert!(err("{\"format\": \"terraform\"}").starts_with("not a tend plan: it has no"));
        assert!(err("[1, 2]").starts_with("not a tend plan"));
        assert!(
            err("{\"format\": \"tend-plan\", \"version\": 99}").contains("newer than this tend")
        );
        assert!(
            err("{\"format\": \"tend-plan\", \"version\": 1, \"hosts\": 3}")
                .starts_with("a damaged tend plan: ")
        );
        let mut cut = serde_json::to_string_pretty(&sample()).unwrap();
        cut.truncate(cut.len() / 2);
        assert!(err(&cut).starts_with("not a tend plan, or a damaged one"));
    }

    #[test]
    fn counts_are_changes_and_the_hosts_they_are_on() {
        let mut plan = sample();
        assert_eq!(plan.counts(), (1, 1));
        let mut other = plan.hosts[0].clone();
        other.host = "web2".into();
        other.tasks[0].action = Action::Unchanged;
        plan.hosts.push(other);
        assert_eq!(plan.counts(), (1, 1));
        plan.hosts[1].tasks[0].action = Action::Run;
        assert_eq!(plan.counts(), (2, 2));
    }
}
