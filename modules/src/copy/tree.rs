//! `copy` of a directory from the controller, as Ansible's copy action
//! does it, but with one probe for the whole tree and one step for all
//! that changes (Ansible makes a round trip or two per file).
//!
//! Ansible's rules, followed here: `src: tree` lands in `dest/tree`,
//! `src: tree/` puts its contents in `dest`; a missing directory on the way
//! is created with `directory_mode`, owner and group; an existing
//! subdirectory of the source gets `directory_mode`, owner and group too,
//! while `dest` and the copied directory itself keep theirs; files get
//! `mode` (`preserve`: the source file's), owner and group, and with
//! `force: false` an existing file is left as it is. An empty source
//! directory copies nothing.

use std::path::Path;

use super::script::{self, PutOptions};
use super::source::{SourceFile, SourceTree, read_tree};
use crate::content::{self, Attrs, Sections};
use crate::probe::{FileKind, FileState};
use crate::{Args, Diff, Map, Observed, ParamError, Plan, Step, StepOutput, Task, TaskError};
use crate::{mode, shell::quote};

/// The mode a new directory gets before `directory_mode`, assuming umask 022.
const NEW_DIR_MODE: u32 = 0o755;

pub(crate) struct TreeTask {
    /// `dest` with a trailing slash, as Ansible reports it.
    dest: String,
    /// Where the source directory was found on the controller.
    src: String,
    /// The copied directory's name below `dest`; `None` when only its
    /// contents are copied (`src: tree/`).
    top: Option<String>,
    tree: SourceTree,
    sha1s: Vec<String>,
    attrs: Attrs,
    directory_mode: Option<String>,
    force: bool,
    backup: bool,
    validate: Option<String>,
}

/// What the plan found to do, gathered before it becomes one step.
#[derive(Default)]
struct Work {
    /// Missing directories, parents first.
    mkdirs: Vec<String>,
    /// Files to write: their index in the tree, path and octal mode.
    writes: Vec<(usize, String, Option<String>)>,
    /// chmod/chown scripts for files whose content is right.
    file_fixes: Vec<String>,
    /// chmod/chown scripts for existing directories.
    dir_fixes: Vec<String>,
    diffs: Vec<Diff>,
}

impl Work {
    fn changed(&self) -> bool {
        !(self.mkdirs.is_empty()
            && self.writes.is_empty()
            && self.file_fixes.is_empty()
            && self.dir_fixes.is_empty())
    }
}

impl TreeTask {
    /// The task that copies the directory `dir` (found for `src`).
    pub fn new(args: &Args, src: &str, dir: &Path) -> Result<TreeTask, ParamError> {
        if args.str("checksum").is_some_and(|c| !c.is_empty()) {
            return Err(ParamError::new(
                "checksum",
                format!("checksum is for a single file, but src '{src}' is a directory"),
            ));
        }
        let dest = args.req_str("dest")?;
        if dest.is_empty() {
            return Err(ParamError::new("dest", "dest must not be empty"));
        }
        let directory_mode = args.string("directory_mode").filter(|m| !m.is_empty());
        if let Some(m) = &directory_mode {
            mode::resolve(m, NEW_DIR_MODE, true)
                .map_err(|e| ParamError::new("directory_mode", e))?;
        }
        // Like rsync: a trailing slash copies the contents, none the directory.
        let top = (!src.ends_with('/'))
            .then(|| dir.file_name().and_then(|n| n.to_str()).map(str::to_string))
            .flatten();
        let tree = read_tree(dir, top.as_deref().unwrap_or(""))
            .map_err(|e| ParamError::new("src", format!("could not read src '{src}': {e}")))?;
        let mut found = dir.display().to_string();
        if src.ends_with('/') && !found.ends_with('/') {
            found.push('/');
        }
        Ok(TreeTask {
            dest: format!("{}/", dest.trim_end_matches('/')),
            src: found,
            top,
            sha1s: tree
                .files
                .iter()
                .map(|f| content::sha1_hex(&f.bytes))
                .collect(),
            tree,
            attrs: Attrs::from_args(args, true)?,
            directory_mode,
            force: args.bool_or("force", true),
            backup: args.bool_or("backup", false),
            validate: content::validate_arg(args)?,
        })
    }

    /// Where `rel` goes on the host.
    fn target(&self, rel: &str) -> String {
        format!("{}{rel}", self.dest)
    }

    /// `dest` itself, without its trailing slash (`/` stays `/`).
    fn root(&self) -> String {
        let root = self.dest.trim_end_matches('/');
        if root.is_empty() { "/" } else { root }.to_string()
    }

    /// The directories the copy may have to create but must not change:
    /// `dest`, and the copied directory itself.
    fn outer_dirs(&self) -> Vec<(&'static str, String)> {
        let mut dirs = vec![("dest", self.root())];
        if let Some(top) = &self.top {
            dirs.push(("top", self.target(top)));
        }
        dirs
    }

    fn is_empty(&self) -> bool {
        self.tree.dirs.is_empty() && self.tree.files.is_empty()
    }

    /// Missing `dest` and copied directory are made; anything else there is an error.
    fn plan_outer_dirs(&self, secs: &Sections, work: &mut Work) -> Result<(), TaskError> {
        for (name, path) in self.outer_dirs() {
            let st = dir_state(secs, name, &path)?;
            if !st.exists() {
                work.mkdirs.push(path.clone());
                work.diffs.push(new_dir_diff(&path));
            }
        }
        Ok(())
    }

    /// The source's subdirectories: made when missing, else given
    /// `directory_mode`, owner and group.
    fn plan_subdirs(&self, secs: &Sections, work: &mut Work) -> Result<(), TaskError> {
        for (i, rel) in self.tree.dirs.iter().enumerate() {
            let path = self.target(rel);
            let st = dir_state(secs, &format!("d{i}"), &path)?;
            if !st.exists() {
                work.mkdirs.push(path.clone());
                work.diffs.push(new_dir_diff(&path));
                continue;
            }
            let wanted = self.dir_attrs(Some(st.mode))?;
            if let Some((step, diff)) = wanted.fix(&path, &path, &st)? {
                work.dir_fixes.push(step.script);
                work.diffs.push(diff);
            }
        }
        Ok(())
    }

    /// Each file: written when its content differs, else given its mode,
    /// owner and group.
    fn plan_files(&self, secs: &Sections, work: &mut Work) -> Result<(), TaskError> {
        for (i, file) in self.tree.files.iter().enumerate() {
            let path = self.target(&file.rel);
            let (st, _) = secs.file(&format!("f{i}"))?;
            if st.exists() && !self.force {
                continue;
            }
            if st.kind == Some(FileKind::Directory) {
                return Err(TaskError::new(format!("Destination {path} is a directory")));
            }
            let attrs = self.file_attrs(file);
            let is_file = st.kind == Some(FileKind::File);
            if is_file && st.sha1.as_deref() == Some(self.sha1s[i].as_str()) {
                if let Some((step, diff)) = attrs.fix(&path, &path, &st)? {
                    work.file_fixes.push(step.script);
                    work.diffs.push(diff);
                }
                continue;
            }
            let mode = attrs.wanted_mode(is_file.then_some(st.mode))?;
            work.diffs
                .push(content::content_diff(&path, &st, &file.bytes));
            work.writes.push((i, path, mode.map(mode::format)));
        }
        Ok(())
    }

    /// A file's mode, owner and group: `mode: preserve` is the source's mode.
    fn file_attrs(&self, file: &SourceFile) -> Attrs {
        let mut attrs = self.attrs.clone();
        if attrs.mode.as_deref() == Some("preserve") {
            attrs.mode = Some(mode::format(file.mode));
        }
        attrs
    }

    /// A directory's mode (octal, resolved against `current`, since `X`
    /// means something else for a directory), owner and group.
    fn dir_attrs(&self, current: Option<u32>) -> Result<Attrs, TaskError> {
        let mode = match &self.directory_mode {
            Some(spec) => Some(
                mode::resolve(spec, current.unwrap_or(NEW_DIR_MODE), true)
                    .map_err(TaskError::new)?,
            ),
            None => None,
        };
        Ok(Attrs {
            mode: mode.map(mode::format),
            ..self.attrs.clone()
        })
    }

    fn chown(&self) -> Option<String> {
        script::chown_spec(self.attrs.owner.as_deref(), self.attrs.group.as_deref())
    }

    /// The one step that carries the work out: directories are made first,
    /// then files written and fixed, then existing directories fixed last
    /// (so a `directory_mode` without write access cannot stop the writes).
    fn step(&self, work: &Work) -> Result<Step, TaskError> {
        let chown = self.chown();
        let mut s = String::from("set -e\n");
        if !work.mkdirs.is_empty() {
            let mode = self.dir_attrs(None)?.mode;
            s.push_str(&script::mkdir_function(mode.as_deref(), chown.as_deref()));
            for dir in &work.mkdirs {
                s.push_str(&format!("mk {}\n", quote(dir)));
            }
        }
        let mut stdin = Vec::new();
        if !work.writes.is_empty() {
            s.push_str(&script::put_function(&PutOptions {
                chown: chown.as_deref(),
                validate: self.validate.as_deref(),
                backup: self.backup,
            }));
            for (i, path, mode) in &work.writes {
                let bytes = &self.tree.files[*i].bytes;
                s.push_str(&script::put(path, bytes.len(), mode.as_deref()));
                stdin.extend_from_slice(bytes);
            }
        }
        for fix in work.file_fixes.iter().chain(&work.dir_fixes) {
            s.push_str(fix);
        }
        if let Some(path) = self.single_file().map(|f| self.target(&f.rel)) {
            s.push_str(&content::final_stat(&path));
        }
        let step = Step::script(s);
        Ok(if work.writes.is_empty() {
            step
        } else {
            step.with_stdin(stdin)
        })
    }

    /// The one file of a tree that has nothing else: Ansible then reports
    /// that file's result rather than the directory's.
    fn single_file(&self) -> Option<&SourceFile> {
        match (&self.tree.files[..], self.tree.dirs.is_empty()) {
            ([file], true) => Some(file),
            _ => None,
        }
    }

    fn result(&self, changed: bool) -> Map {
        let mut result = Map::new();
        match self.single_file() {
            Some(file) => {
                result.insert("dest".into(), self.target(&file.rel).into());
                result.insert("src".into(), self.src.clone().into());
                result.insert("checksum".into(), self.sha1s[0].clone().into());
                result.insert("size".into(), file.bytes.len().into());
                result.insert("state".into(), "file".into());
            }
            None => {
                result.insert("dest".into(), self.dest.clone().into());
                result.insert("src".into(), self.src.clone().into());
            }
        }
        result.insert("changed".into(), changed.into());
        result
    }
}

/// A directory's state; anything but a directory there is an error.
fn dir_state(secs: &Sections, name: &str, path: &str) -> Result<FileState, TaskError> {
    let (st, _) = secs.file(name)?;
    match st.kind {
        None | Some(FileKind::Directory) => Ok(st),
        Some(_) => Err(TaskError::new(format!(
            "Destination {path} exists and is not a directory"
        ))),
    }
}

fn new_dir_diff(path: &str) -> Diff {
    Diff::new(path, "state: absent\n", "state: directory\n")
}

impl Task for TreeTask {
    fn probe(&self) -> Option<String> {
        let mut s = script::probe_functions();
        for (name, path) in self.outer_dirs() {
            s.push_str(&script::probe_dir(name, &path));
        }
        for (i, rel) in self.tree.dirs.iter().enumerate() {
            s.push_str(&script::probe_dir(&format!("d{i}"), &self.target(rel)));
        }
        for (i, file) in self.tree.files.iter().enumerate() {
            let path = self.target(&file.rel);
            s.push_str(&script::probe_file(&format!("f{i}"), &path, &self.sha1s[i]));
        }
        Some(s)
    }

    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        let secs = Sections::parse(observed)?;
        if self.is_empty() {
            return Ok(Plan::unchanged(self.result(false)));
        }
        let mut work = Work::default();
        self.plan_outer_dirs(&secs, &mut work)?;
        self.plan_subdirs(&secs, &mut work)?;
        self.plan_files(&secs, &mut work)?;
        if !work.changed() {
            return Ok(Plan::unchanged(self.result(false)));
        }
        let step = self.step(&work)?;
        let mut plan = Plan::change(vec![step], self.result(true));
        plan.diff = work.diffs;
        Ok(plan)
    }

    fn finish(&self, plan: &Plan, outputs: &[StepOutput]) -> Result<Map, TaskError> {
        let mut result = plan.result.clone();
        if self.single_file().is_some() {
            content::final_result(&mut result, outputs, "backup_file");
        }
        Ok(result)
    }
}

#[cfg(test)]
#[path = "tree_tests.rs"]
mod tests;
