//! What `copy` and `template` share: a file on the host that should hold
//! given bytes (or, with `remote_src`, a copy of another file on the host),
//! with optional mode, owner and group; and the pieces `lineinfile` reuses:
//! file attributes, a probe of several paths in one round trip, and the
//! final stat that fills the result after a write.
//!
//! Ansible's copy semantics, followed here: a `dest` ending in `/`, or one
//! that is an existing directory, receives the file as `dest/basename(src)`;
//! a missing parent directory is an error unless `dest` ends in `/`, in
//! which case it is created (with `directory_mode`); `force: false` leaves an
//! existing file alone; equal content with different mode/owner/group is
//! fixed with chmod/chown, not rewritten; content is written atomically.

use crate::mode;
use crate::probe::{self, FileKind, FileState};
use crate::shell::quote;
use crate::write::{self, WriteOptions};
use crate::{Args, Diff, Map, Observed, ParamError, Plan, Step, StepOutput, Task, TaskError};

/// The mode a new file gets before any `mode` applies, assuming umask 022;
/// symbolic modes for new files are resolved against it.
const NEW_FILE_MODE: u32 = 0o644;

/// Mode, owner and group a file should have; `None` leaves them as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Attrs {
    pub mode: Option<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl Attrs {
    /// Reads `mode`, `owner` and `group`. `mode: preserve` is kept as it is
    /// when `preserve` allows it; the caller resolves it.
    pub fn from_args(args: &Args, preserve: bool) -> Result<Attrs, ParamError> {
        let mode = args.string("mode").filter(|m| !m.is_empty());
        if let Some(spec) = &mode {
            if spec == "preserve" && !preserve {
                return Err(ParamError::new(
                    "mode",
                    "mode=preserve is not supported here yet (only by copy with remote_src=true)",
                ));
            }
            if spec != "preserve" {
                mode::resolve(spec, NEW_FILE_MODE, false)
                    .map_err(|e| ParamError::new("mode", e))?;
            }
        }
        let word = |name| args.string(name).filter(|s: &String| !s.is_empty());
        Ok(Attrs {
            mode,
            owner: word("owner"),
            group: word("group"),
        })
    }

    /// The permission bits wanted for a file whose bits are `current`
    /// (`None` for a new file); `None` when `mode` is not given.
    pub fn wanted_mode(&self, current: Option<u32>) -> Result<Option<u32>, TaskError> {
        let Some(spec) = &self.mode else {
            return Ok(None);
        };
        mode::resolve(spec, current.unwrap_or(NEW_FILE_MODE), false)
            .map(Some)
            .map_err(TaskError::new)
    }

    /// How an existing file differs from these attributes: the step that
    /// fixes it and a diff headed `header`, or `None` when nothing differs.
    pub fn fix(
        &self,
        path: &str,
        header: &str,
        st: &FileState,
    ) -> Result<Option<(Step, Diff)>, TaskError> {
        let p = quote(path);
        let mut script = String::from("set -e\n");
        let (mut before, mut after) = (String::new(), String::new());
        if let Some(m) = self.wanted_mode(Some(st.mode))?.filter(|m| *m != st.mode) {
            script.push_str(&format!("chmod {} -- {p}\n", mode::format(m)));
            before.push_str(&format!("mode: {}\n", mode::format(st.mode)));
            after.push_str(&format!("mode: {}\n", mode::format(m)));
        }
        let owner = self
            .owner
            .as_deref()
            .filter(|o| !same_id(o, &st.owner, st.uid));
        let group = self
            .group
            .as_deref()
            .filter(|g| !same_id(g, &st.group, st.gid));
        if let Some(o) = owner {
            before.push_str(&format!("owner: {}\n", st.owner));
            after.push_str(&format!("owner: {o}\n"));
        }
        if let Some(g) = group {
            before.push_str(&format!("group: {}\n", st.group));
            after.push_str(&format!("group: {g}\n"));
        }
        if owner.is_some() || group.is_some() {
            let spec = match (owner, group) {
                (Some(o), Some(g)) => format!("{o}:{g}"),
                (Some(o), None) => o.to_string(),
                (None, g) => format!(":{}", g.unwrap_or_default()),
            };
            script.push_str(&format!("chown {} -- {p}\n", quote(&spec)));
        }
        if before.is_empty() {
            return Ok(None);
        }
        Ok(Some((
            Step::script(script),
            Diff::new(header, before, after),
        )))
    }

    /// Write options that give a rewritten file these attributes.
    pub fn write_options(&self, mode: Option<u32>) -> WriteOptions {
        WriteOptions {
            mode: mode.map(mode::format),
            owner: self.owner.clone(),
            group: self.group.clone(),
            ..WriteOptions::default()
        }
    }
}

/// Whether `want` (a name or a numeric id) names the observed user or group.
/// The host's answer to the file probe could not be read.
fn unreadable(what: &str) -> TaskError {
    TaskError::new(format!(
        "could not read the host's answer to the file probe: {}",
        crate::clip(what)
    ))
}

fn same_id(want: &str, name: &str, id: u32) -> bool {
    want == name || want.parse::<u32>().is_ok_and(|n| n == id)
}

/// Checks `validate` the way Ansible does: it must name the file as `%s`.
pub(crate) fn validate_arg(args: &Args) -> Result<Option<String>, ParamError> {
    match args.string("validate").filter(|v| !v.is_empty()) {
        Some(v) if !v.contains("%s") => Err(ParamError::new(
            "validate",
            format!("validate must contain %s: {v}"),
        )),
        v => Ok(v),
    }
}

/// Refuses file parameters tend does not carry out yet, rather than
/// silently ignoring them.
pub(crate) fn reject_unsupported(args: &Args, names: &[&str]) -> Result<(), ParamError> {
    match names
        .iter()
        .find(|n| args.str(n).is_some_and(|v| !v.is_empty()))
    {
        Some(n) => Err(ParamError::new(
            *n,
            format!("parameter '{n}' is not supported by tend yet"),
        )),
        None => Ok(()),
    }
}

/// SHA-1 as lowercase hex: Ansible's `checksum`.
pub(crate) fn sha1_hex(bytes: &[u8]) -> String {
    use sha1::Digest;
    sha1::Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A probe section describing `path`, headed `== name`. With `follow`, it
/// also prints where the path really leads when it is a symlink, because a
/// write through a symlink must rename onto the link's target, not replace
/// the link. A path that is no link needs no `readlink` (two processes):
/// a write through a linked directory lands in the same place as one to
/// its real path.
pub(crate) fn file_section(
    name: &str,
    path: &str,
    follow: bool,
    want_content: bool,
    unless_sha1: Option<&str>,
) -> String {
    let mut s = format!("echo '== {name}'\n");
    s.push_str(&probe::file_script(path, follow, want_content, unless_sha1));
    if follow {
        let p = quote(path);
        s.push_str(&format!(
            "if [ -L {p} ]; then printf 'real '; readlink -n -f -- {p} 2>/dev/null | base64 -w0; echo; fi\n"
        ));
    }
    s
}

/// A probe's output split at its `== name` lines, so one script can
/// describe several paths.
pub(crate) struct Sections(Vec<(String, String)>);

impl Sections {
    pub fn parse(observed: Option<&Observed>) -> Result<Sections, TaskError> {
        probe::sections(observed, "file").map(Sections)
    }

    fn body(&self, name: &str) -> Result<&str, TaskError> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_str())
            .ok_or_else(|| TaskError::new(format!("the file probe printed no '{name}' section")))
    }

    /// A path's state, and where it really leads when the section followed links.
    pub fn file(&self, name: &str) -> Result<(FileState, Option<String>), TaskError> {
        let body = self.body(name)?;
        let mut real = None;
        let mut rest = String::new();
        for line in body.lines() {
            match line.strip_prefix("real ") {
                Some(enc) => {
                    let path = String::from_utf8(probe::decode(enc)?)
                        .map_err(|_| unreadable("a real path is not UTF-8"))?;
                    real = Some(path).filter(|p| !p.is_empty());
                }
                None if line == "real" => {}
                None => {
                    rest.push_str(line);
                    rest.push('\n');
                }
            }
        }
        Ok((probe::parse_file(rest.as_bytes())?, real))
    }

    /// The whitespace-separated words of a section.
    pub fn words(&self, name: &str) -> Result<Vec<&str>, TaskError> {
        Ok(self.body(name)?.split_whitespace().collect())
    }
}

/// Appended to a step that changes a file's attributes, not its content
/// (a write step prints its own): the file's stat, read by
/// [`final_result`] so the result reports the mode the file really got.
pub(crate) fn final_stat(path: &str) -> String {
    let p = quote(path);
    format!(
        "stat -L -c 'final {}' -- {p}\n{}",
        write::FINAL_STAT,
        write::print_readable(&p),
    )
}

/// Fills `result` from what the steps printed: the backup's path (under
/// `backup_key`) and the final stat.
pub(crate) fn final_result(result: &mut Map, outputs: &[StepOutput], backup_key: &str) {
    for out in outputs {
        if let Some(b) = write::backup_path(&out.stdout) {
            result.insert(backup_key.into(), b.into());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let stat = final_line(&text);
        if let Some(st) = stat.and_then(|s| probe::parse_file(format!("stat {s}").as_bytes()).ok())
        {
            insert_stat(result, &st);
        }
    }
}

/// The fields of the `final` stat line a step printed.
fn final_line(text: &str) -> Option<&str> {
    text.lines().find_map(|l| l.strip_prefix("final "))
}

fn insert_stat(result: &mut Map, st: &FileState) {
    result.insert("mode".into(), mode::format(st.mode).into());
    result.insert("uid".into(), st.uid.into());
    result.insert("gid".into(), st.gid.into());
    result.insert("owner".into(), st.owner.clone().into());
    result.insert("group".into(), st.group.clone().into());
}

/// A content diff of `before` (the observed file) and `after`.
pub(crate) fn content_diff(header: &str, st: &FileState, after: &[u8]) -> Diff {
    let before = match (&st.kind, &st.content) {
        (None, _) => Some(&[][..]),
        (_, Some(c)) => Some(c.as_slice()),
        _ => None,
    };
    let Some(before) = before else {
        return Diff::new(
            header,
            "",
            "(current content not shown: not a readable file, or over 8 MiB)\n",
        );
    };
    match (std::str::from_utf8(before), std::str::from_utf8(after)) {
        (Ok(b), Ok(a)) => Diff::new(header, b, a),
        _ => Diff::new(header, "", "Binary files differ\n"),
    }
}

/// Where the file's bytes come from.
pub(crate) enum Source {
    /// Bytes known on the controller (`content`, `src`, a rendered template).
    Bytes(Vec<u8>),
    /// A file on the host (`remote_src: true`).
    Remote(String),
}

/// A file that should hold a source's bytes: `copy` and `template`.
pub(crate) struct ContentTask {
    dest: String,
    source: Source,
    /// The name the file takes inside a directory `dest`; `None` for
    /// `content`, which cannot go into a directory.
    basename: Option<String>,
    src: Option<String>,
    sha1: Option<String>,
    attrs: Attrs,
    backup: bool,
    force: bool,
    validate: Option<String>,
    follow: bool,
    directory_mode: Option<String>,
}

impl ContentTask {
    pub fn new(args: &Args, source: Source, basename: Option<String>) -> Result<Self, ParamError> {
        let dest = args.req_str("dest")?.to_string();
        if dest.is_empty() {
            return Err(ParamError::new("dest", "dest must not be empty"));
        }
        if dest.ends_with('/') && basename.is_none() {
            return Err(ParamError::new(
                "dest",
                "dest must be a file if content is defined",
            ));
        }
        let remote = matches!(source, Source::Remote(_));
        let directory_mode = args.string("directory_mode");
        if let Some(m) = &directory_mode {
            mode::resolve(m, 0o755, true).map_err(|e| ParamError::new("directory_mode", e))?;
        }
        Ok(ContentTask {
            sha1: match &source {
                Source::Bytes(b) => Some(sha1_hex(b)),
                Source::Remote(_) => None,
            },
            dest,
            source,
            basename,
            src: args.string("src"),
            attrs: Attrs::from_args(args, remote)?,
            backup: args.bool_or("backup", false),
            force: args.bool_or("force", true),
            validate: validate_arg(args)?,
            follow: args.bool_or("follow", false),
            directory_mode,
        })
    }

    /// `dest/basename`, when the file may go inside `dest`.
    fn inner(&self) -> Option<String> {
        let base = self.basename.as_deref()?;
        Some(format!("{}/{base}", self.dest.trim_end_matches('/')))
    }

    /// The directory that holds `dest` when `dest` names the file itself.
    fn parent(&self) -> String {
        let trimmed = self.dest.trim_end_matches('/');
        match trimmed.rfind('/') {
            Some(0) => "/".into(),
            Some(i) => trimmed[..i].into(),
            None if self.dest.starts_with('/') => "/".into(),
            None => ".".into(),
        }
    }

    /// Where the file goes, what is there now and where it really leads,
    /// and whether the directory must be created first.
    fn locate(
        &self,
        secs: &Sections,
    ) -> Result<(String, FileState, Option<String>, bool), TaskError> {
        let dirs = secs.words("dirs")?;
        let (Some(dest_kind), Some(parent_kind)) = (dirs.first(), dirs.get(1)) else {
            return Err(TaskError::new(
                "the file probe printed an incomplete 'dirs' section",
            ));
        };
        let inner = self.inner();
        if self.dest.ends_with('/') || *dest_kind == "dir" {
            let Some(inner) = inner else {
                return Err(TaskError::new("can not use content with a dir as dest"));
            };
            if *dest_kind == "other" {
                return Err(TaskError::new(format!(
                    "Destination {} is not a directory",
                    self.dest
                )));
            }
            let (st, real) = secs.file("inner")?;
            return Ok((inner, st, real, *dest_kind == "none"));
        }
        if *parent_kind != "dir" {
            return Err(TaskError::new(format!(
                "Destination directory {} does not exist",
                self.parent()
            )));
        }
        let (st, real) = secs.file("dest")?;
        Ok((self.dest.clone(), st, real, false))
    }

    fn mkdir_step(&self) -> Step {
        let dir = quote(self.dest.trim_end_matches('/'));
        match &self.directory_mode {
            None => Step::script(format!("mkdir -p -- {dir}\n")),
            // Every directory created gets the mode, as Ansible does, not only the last.
            Some(m) => Step::script(format!(
                "set -e\n{}mk {dir}\n",
                crate::copy::script::mkdir_function(Some(m), None)
            )),
        }
    }
}

impl Task for ContentTask {
    fn probe(&self) -> Option<String> {
        let bytes = matches!(self.source, Source::Bytes(_));
        let sum = self.sha1.as_deref();
        let mut s = String::from(probe::INLINE);
        if !self.dest.ends_with('/') {
            s.push_str(&file_section("dest", &self.dest, self.follow, bytes, sum));
        }
        if let Some(inner) = self.inner() {
            s.push_str(&file_section("inner", &inner, self.follow, bytes, sum));
        }
        s.push_str("echo '== dirs'\n");
        for d in [self.dest.trim_end_matches('/'), &self.parent()] {
            let d = quote(if d.is_empty() { "/" } else { d });
            s.push_str(&format!(
                "if [ -d {d} ]; then echo dir; elif [ -e {d} ]; then echo other; else echo none; fi\n"
            ));
        }
        if let Source::Remote(src) = &self.source {
            s.push_str(&file_section("src", src, true, false, None));
        }
        Some(s)
    }

    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        let secs = Sections::parse(observed)?;
        let (sum, size, src_mode) = match &self.source {
            Source::Bytes(b) => (self.sha1.clone().unwrap_or_default(), b.len() as u64, None),
            Source::Remote(src) => remote_source(src, &secs.file("src")?.0)?,
        };
        let (target, st, real, mkdir) = self.locate(&secs)?;
        let mut result = Map::new();
        result.insert("dest".into(), target.clone().into());
        if let Some(src) = &self.src {
            result.insert("src".into(), src.clone().into());
        }
        if st.exists() && !self.force {
            result.insert("changed".into(), false.into());
            return Ok(Plan::unchanged(result));
        }
        if st.kind == Some(FileKind::Directory) {
            return Err(TaskError::new(format!(
                "Destination {target} is a directory"
            )));
        }
        let mut attrs = self.attrs.clone();
        if attrs.mode.as_deref() == Some("preserve") {
            attrs.mode = src_mode.map(mode::format);
        }
        let path = if self.follow {
            real.unwrap_or_else(|| target.clone())
        } else {
            target.clone()
        };
        let is_file = st.kind == Some(FileKind::File);
        let same = is_file && st.sha1.as_deref() == Some(sum.as_str());
        let mode = attrs.wanted_mode(is_file.then_some(st.mode))?;
        result.insert("checksum".into(), sum.into());
        result.insert("size".into(), size.into());
        result.insert("state".into(), "file".into());
        if is_file {
            insert_stat(&mut result, &st);
        }
        if let Some(m) = mode {
            result.insert("mode".into(), mode::format(m).into());
        }
        let mut plan = if same {
            match attrs.fix(&path, &target, &st)? {
                Some((mut step, diff)) => {
                    step.script.push_str(&final_stat(&path));
                    Plan::change(vec![step], result).with_diff(diff)
                }
                None => Plan::unchanged(result),
            }
        } else {
            let mut steps = Vec::new();
            if mkdir {
                steps.push(self.mkdir_step());
            }
            let opts = WriteOptions {
                validate: self.validate.clone(),
                backup: self.backup,
                ..attrs.write_options(mode)
            };
            let diff = match &self.source {
                Source::Bytes(bytes) => {
                    steps.push(write::atomic_write(&path, bytes.clone(), &opts));
                    Some(content_diff(&target, &st, bytes))
                }
                Source::Remote(src) => {
                    // The write step reads the file's bytes from stdin: point
                    // stdin at the source on the host instead.
                    steps.push(write::atomic_copy(&path, src, &opts));
                    None
                }
            };
            let plan = Plan::change(steps, result);
            match diff {
                Some(d) => plan.with_diff(d),
                None => plan,
            }
        };
        plan.result.insert("changed".into(), plan.changed.into());
        Ok(plan)
    }

    fn finish(&self, plan: &Plan, outputs: &[StepOutput]) -> Result<Map, TaskError> {
        let mut result = plan.result.clone();
        final_result(&mut result, outputs, "backup_file");
        Ok(result)
    }

    /// A write (or a fix of mode and owner) of `dest` itself, not through
    /// a link, with bytes known here: the step's final stat and the bytes'
    /// sum are what the probe would find.
    fn reports(&self, plan: &Plan) -> bool {
        matches!(self.source, Source::Bytes(_))
            && !self.follow
            && !self.dest.ends_with('/')
            && plan.result.get("dest").and_then(|d| d.as_str()) == Some(self.dest.as_str())
    }

    fn reported(&self, plan: &Plan, outputs: &[StepOutput]) -> Option<Observed> {
        if !self.reports(plan) {
            return None;
        }
        let text = String::from_utf8_lossy(&outputs.last()?.stdout).into_owned();
        let stat = final_line(&text)?;
        let st = probe::parse_file(format!("stat {stat}").as_bytes()).ok()?;
        if st.kind != Some(FileKind::File) {
            return None;
        }
        // As the probe prints it: the file (its sum if readable), nothing
        // inside it, and `dest` now a file ("other") in a directory.
        let mut out = format!("== dest\nstat {stat}\n");
        if text.lines().any(|l| l == write::READABLE) {
            out.push_str(&format!("sha1 {}\n", self.sha1.as_deref()?));
        }
        if self.inner().is_some() {
            out.push_str("== inner\nabsent\n");
        }
        out.push_str("== dirs\nother\ndir\n");
        Some(Observed {
            rc: 0,
            stdout: out.into_bytes(),
            stderr: Vec::new(),
        })
    }
}

/// The checksum, size and mode of a `remote_src` source, which must be a
/// readable regular file.
fn remote_source(src: &str, st: &FileState) -> Result<(String, u64, Option<u32>), TaskError> {
    match (st.kind, &st.sha1) {
        (None, _) => Err(TaskError::new(format!("Source {src} not found"))),
        (Some(FileKind::Directory), _) => Err(TaskError::new(format!(
            "copying a directory with remote_src ({src}) is not supported yet"
        ))),
        (_, None) => Err(TaskError::new(format!("Source {src} not readable"))),
        (_, Some(sum)) => Ok((sum.clone(), st.size, Some(st.mode))),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Runs probes and steps with the real `/bin/sh` on real files, the way
    //! the engine does, to prove that a plan is empty once carried out.
    use crate::{Map, Observed, Plan, StepOutput, Task};
    use std::io::Write;
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A scratch directory, removed when dropped.
    pub struct TempDir(pub std::path::PathBuf);

    impl TempDir {
        pub fn new(tag: &str) -> TempDir {
            static N: AtomicUsize = AtomicUsize::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("tend-{tag}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("create temp dir");
            TempDir(dir)
        }
        pub fn path(&self, name: &str) -> String {
            self.0.join(name).to_string_lossy().into_owned()
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    pub fn sh(script: &str, stdin: Option<&[u8]>) -> StepOutput {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn /bin/sh");
        let mut input = child.stdin.take().expect("stdin");
        input
            .write_all(stdin.unwrap_or_default())
            .expect("write stdin");
        drop(input);
        let out = child.wait_with_output().expect("wait for /bin/sh");
        StepOutput {
            rc: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        }
    }

    pub fn plan(task: &dyn Task) -> Plan {
        let out = task.probe().map(|p| sh(&p, None));
        let obs = out.map(|o| Observed {
            rc: o.rc,
            stdout: o.stdout,
            stderr: o.stderr,
        });
        task.plan(obs.as_ref()).expect("plan")
    }

    /// Probes, plans and runs the steps; returns the plan and the result.
    pub fn apply(task: &dyn Task) -> (Plan, Map) {
        let plan = plan(task);
        let mut outputs = Vec::new();
        if plan.changed {
            for step in &plan.steps {
                let out = sh(&step.script, step.stdin.as_deref());
                assert!(
                    out.rc == 0 || !step.check_rc,
                    "step failed: {}\n{}",
                    String::from_utf8_lossy(&out.stderr),
                    step.script
                );
                outputs.push(out);
            }
        }
        let result = task.finish(&plan, &outputs).expect("finish");
        (plan, result)
    }
}
