//! `file`: sets the mode and ownership of files, directories and links;
//! creates directories, symlinks, hard links and empty files; removes paths.
//!
//! Follows `ansible.builtin.file`: the default state is the path's current
//! one, `state: file` never creates, `directory` is `mkdir -p` giving every
//! directory it makes the mode and owner, `follow` (on by default) manages a
//! symlink's target. Differences, kept small on purpose: only `preserve` and
//! `now` are taken as times; with `recurse` symlinks inside the tree get
//! their owner changed but are not followed; a symlink where `state: hard`
//! wants a hard link is always replaced; chattr attributes and SELinux
//! contexts are refused rather than ignored.

use std::collections::{BTreeMap, BTreeSet};

use crate::mode;
use crate::probe::{self, FileKind, FileState};
use crate::shell::quote;
use crate::{
    Args, Controller, Diff, Kind, Map, Module, Observed, Param, ParamError, Plan, Step, StepOutput,
    Task, TaskError, Value,
};

pub struct FileModule;

const PARAMS: &[Param] = &[
    Param::new("path", Kind::Str)
        .required()
        .aliases(&["dest", "name"]),
    Param::new("state", Kind::Str).choices(&[
        "absent",
        "directory",
        "file",
        "hard",
        "link",
        "touch",
    ]),
    Param::new("mode", Kind::Mode),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
    Param::new("recurse", Kind::Bool),
    Param::new("src", Kind::Str),
    Param::new("force", Kind::Bool),
    Param::new("follow", Kind::Bool),
    Param::new("modification_time", Kind::Str),
    Param::new("modification_time_format", Kind::Str),
    Param::new("access_time", Kind::Str),
    Param::new("access_time_format", Kind::Str),
    Param::new("unsafe_writes", Kind::Bool),
    Param::new("attributes", Kind::Str).aliases(&["attr"]),
    Param::new("seuser", Kind::Str),
    Param::new("serole", Kind::Str),
    Param::new("setype", Kind::Str),
    Param::new("selevel", Kind::Str),
];

/// What the probe prints for each path: the shared probe's `stat` line,
/// then device, inode and link count, which hard links are judged by.
const FMT: &str = "stat %f %u %g %s %Y %U %G %d %i %h";

/// The characters a link's target may hold to be printed as it is.
const PLAIN: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/+@,:=-";

/// Prints the shell's umask as `umask 0022`.
const UMASK: &str = "printf 'umask '\numask\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Absent,
    Directory,
    File,
    Hard,
    Link,
    Touch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Time {
    Preserve,
    Now,
}

impl Module for FileModule {
    fn name(&self) -> &'static str {
        "file"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn prepare(&self, args: Args, _: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        for name in ["attributes", "seuser", "serole", "setype", "selevel"] {
            if args.str(name).is_some_and(|v| !v.is_empty()) {
                return Err(ParamError::new(
                    name,
                    format!("'{name}' is not supported by tend yet; remove it from the task"),
                ));
            }
        }
        let path = args.req_str("path")?.to_string();
        if path.is_empty() {
            return Err(ParamError::new("path", "path must not be empty"));
        }
        let state = match args.str("state") {
            None => None,
            Some("absent") => Some(State::Absent),
            Some("directory") => Some(State::Directory),
            Some("file") => Some(State::File),
            Some("hard") => Some(State::Hard),
            Some("link") => Some(State::Link),
            Some("touch") => Some(State::Touch),
            Some(other) => {
                return Err(ParamError::new("state", format!("unknown state '{other}'")));
            }
        };
        let given = |name: &str| args.string(name).filter(|v| !v.is_empty());
        let (src, recurse) = (given("src"), args.bool_or("recurse", false));
        if recurse && state.is_some_and(|s| s != State::Directory) {
            return Err(ParamError::new(
                "recurse",
                "recurse option requires state to be 'directory'",
            ));
        }
        if src.is_some() && state.is_some_and(|s| !matches!(s, State::Link | State::Hard)) {
            return Err(ParamError::new(
                "src",
                "src option requires state to be 'link' or 'hard'",
            ));
        }
        if state == Some(State::Hard) && src.is_none() {
            return Err(ParamError::new(
                "src",
                "src is required for creating new hardlinks",
            ));
        }
        let mode = given("mode");
        if let Some(m) = &mode {
            mode::resolve(m, 0, false).map_err(|e| ParamError::new("mode", e))?;
        }
        Ok(Box::new(FileTask {
            path,
            state,
            mode,
            owner: given("owner"),
            group: given("group"),
            recurse,
            src,
            force: args.bool_or("force", false),
            follow: args.bool_or("follow", true),
            mtime: time(&args, "modification_time")?,
            atime: time(&args, "access_time")?,
        }))
    }
}

fn time(args: &Args, name: &str) -> Result<Option<Time>, ParamError> {
    match args.str(name) {
        None => Ok(None),
        Some("preserve") => Ok(Some(Time::Preserve)),
        Some("now") => Ok(Some(Time::Now)),
        Some(other) => Err(ParamError::new(
            name,
            format!(
                "{name} '{other}': tend takes only 'preserve' or 'now' here, not explicit times yet"
            ),
        )),
    }
}

struct FileTask {
    path: String,
    state: Option<State>,
    mode: Option<String>,
    owner: Option<String>,
    group: Option<String>,
    recurse: bool,
    src: Option<String>,
    force: bool,
    follow: bool,
    mtime: Option<Time>,
    atime: Option<Time>,
}

impl Task for FileTask {
    fn probe(&self) -> Option<String> {
        Some(self.script())
    }
    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        let obs = observed.ok_or_else(|| TaskError::new("file: no probe output to plan from"))?;
        if obs.rc != 0 {
            let err = String::from_utf8_lossy(&obs.stderr);
            return Err(fail(
                &self.path,
                format!("could not inspect {}: {}", self.path, err.trim()),
            ));
        }
        self.decide(parse(&obs.stdout)?)
    }
    fn finish(&self, plan: &Plan, outputs: &[StepOutput]) -> Result<Map, TaskError> {
        let mut result = plan.result.clone();
        let text: String = outputs
            .iter()
            .map(|o| String::from_utf8_lossy(&o.stdout))
            .collect();
        if let Some(line) = text.lines().rev().find_map(|l| l.strip_prefix("report ")) {
            let (st, _, nlink) = parse_stat(line)?;
            result.extend(info(&st, nlink));
        }
        Ok(result)
    }
    /// Setting a time to `now` changes the path on every run.
    fn verify(&self) -> bool {
        let (m, a) = self.times(self.state.unwrap_or(State::File));
        m == Time::Preserve && a == Time::Preserve
    }

    /// A directory, no link to it and no tree under it: the step's umask
    /// and the stat it reports are all its probe prints.
    fn reports(&self, _: &Plan) -> bool {
        self.state == Some(State::Directory)
            && self.src.is_none()
            && !self.recurse
            && !self.path.starts_with('~')
    }

    fn reported(&self, plan: &Plan, outputs: &[StepOutput]) -> Option<Observed> {
        if !self.reports(plan) {
            return None;
        }
        let text = std::str::from_utf8(&outputs.last()?.stdout).ok()?;
        let umask = text.lines().find(|l| l.starts_with("umask "))?;
        let stat = text.lines().rev().find_map(|l| l.strip_prefix("report "))?;
        let (st, _, _) = parse_stat(stat).ok()?;
        if st.kind != Some(FileKind::Directory) {
            return None;
        }
        Some(Observed {
            rc: 0,
            stdout: format!("{umask}\npath {stat}\n").into_bytes(),
            stderr: Vec::new(),
        })
    }
}

/// A path as the probe saw it.
#[derive(Debug, Default)]
struct Node {
    /// Seen without following a final symlink; `kind` is `None` if absent.
    st: FileState,
    ino: (u64, u64),
    nlink: u64,
    /// For a symlink: its canonical target path and what is there.
    real: Option<String>,
    target: Option<(FileState, u64)>,
    nonempty: bool,
}

impl Node {
    fn is(&self, kind: FileKind) -> bool {
        self.st.kind == Some(kind)
    }
    /// Ansible's name for what is there (`get_state`).
    fn state_name(&self) -> &'static str {
        match self.st.kind {
            None => "absent",
            Some(FileKind::File | FileKind::Other) if self.nlink > 1 => "hard",
            Some(kind) => kind.state_name(),
        }
    }
}

/// One distinct (type, mode, owner) combination inside a recursed directory.
#[derive(Debug)]
struct Entry {
    dir: bool,
    link: bool,
    mode: u32,
    uid: u32,
    gid: u32,
    owner: String,
    group: String,
}

#[derive(Debug, Default)]
struct Seen {
    path: Node,
    inner: Option<Node>,
    /// `src` as a hard link takes it (from the working directory) and as a
    /// symlink does (from the link's directory).
    src: Option<Node>,
    lsrc: Option<Node>,
    tree: Vec<Entry>,
    umask: u32,
    home: Option<String>,
}

/// Planned changes: shell commands plus the diff lines that explain them.
#[derive(Default)]
struct Change {
    before: String,
    after: String,
    cmds: Vec<String>,
    /// The object is being created: it has no "before" attributes.
    fresh: bool,
}

impl Change {
    fn note(&mut self, key: &str, before: impl std::fmt::Display, after: impl std::fmt::Display) {
        if !self.fresh {
            self.before.push_str(&format!("{key}: {before}\n"));
        }
        self.after.push_str(&format!("{key}: {after}\n"));
    }
}

impl FileTask {
    fn times(&self, state: State) -> (Time, Time) {
        let default = if state == State::Touch {
            Time::Now
        } else {
            Time::Preserve
        };
        (self.mtime.unwrap_or(default), self.atime.unwrap_or(default))
    }

    fn script(&self) -> String {
        let mut s = String::from(probe::INLINE);
        if self.path.starts_with('~') || self.src.as_deref().is_some_and(|s| s.starts_with('~')) {
            s.push_str("echo \"home $(printf %s \"$HOME\" | base64 -w0)\"\n");
        }
        let link = self.state == Some(State::Link);
        s.push_str(&format!("{UMASK}p={}\n", word(&self.path)));
        s.push_str(&describe("path", "p", link));
        if let Some(src) = &self.src {
            let w = word(src);
            if matches!(self.state, None | Some(State::Link)) {
                // A relative link target is read from the link's directory.
                s.push_str(&format!(
                    "case {w} in /*) a={w} ;; *) a=\"$(dirname -- \"$p\")\"/{w} ;; esac\n"
                ));
                s.push_str(&stat_target("lsrc", "\"$a\""));
            }
            if self.state != Some(State::Link) {
                s.push_str(&stat_target("src", &w));
                // As in Ansible, a hard link asked for at a directory goes inside it.
                let base = src.rsplit('/').next().unwrap_or("");
                if !base.is_empty() {
                    s.push_str(&format!(
                        "if [ -d \"$p\" ] && [ ! -L \"$p\" ]; then\ni=\"$p\"/{}\n",
                        quote(base)
                    ));
                    s.push_str(&describe("inner", "i", false));
                    s.push_str("fi\n");
                }
            }
        }
        if self.recurse && (self.mode.is_some() || self.owner.is_some() || self.group.is_some()) {
            // One line per distinct (type, mode, owner), however big the tree.
            s.push_str(
                "case $p in -*) f=./$p ;; *) f=$p ;; esac\n\
                 if [ -d \"$p\" ]; then\n  \
                 find -H \"$f\" -mindepth 1 -printf 'tree %y %m %U %G %u %g\\n' | LC_ALL=C sort -u\n\
                 fi\n",
            );
        }
        s
    }

    fn decide(&self, seen: Seen) -> Result<Plan, TaskError> {
        let home = seen.home.as_deref();
        let mut path = expand(&self.path, home);
        let src = self.src.as_deref().map(|s| expand(s, home));
        let mut node = seen.path;
        if let (Some(inner), Some(src)) = (seen.inner, &src) {
            path = format!(
                "{}/{}",
                path.trim_end_matches('/'),
                src.rsplit('/').next().unwrap_or("")
            );
            node = inner;
        }
        let state = self.state.unwrap_or(match node.st.kind {
            None if self.recurse => State::Directory,
            None => State::File,
            Some(FileKind::Link) => State::Link,
            Some(FileKind::Directory) => State::Directory,
            // A path with more than one hard link is Ansible's `hard`; with
            // no `src` there is nothing to link, so only attributes apply.
            Some(_) if src.is_some() && node.nlink > 1 => State::Hard,
            Some(_) => State::File,
        });
        if self.recurse && state != State::Directory {
            return Err(fail(
                &path,
                "recurse option requires state to be 'directory'",
            ));
        }
        if src.is_some() && !matches!(state, State::Link | State::Hard) {
            return Err(fail(
                &path,
                "src option requires state to be 'link' or 'hard'",
            ));
        }
        let none = Node::default();
        match state {
            State::Absent => Ok(self.absent(&path, &node)),
            State::File => self.file(&path, &node),
            State::Directory => self.directory(&path, &node, seen.umask, &seen.tree),
            State::Touch => self.touch(&path, &node, seen.umask),
            State::Link => {
                let target = seen.lsrc.as_ref().unwrap_or(&none);
                self.link(&path, &node, src.as_deref(), target)
            }
            State::Hard => {
                let target = seen.src.as_ref().unwrap_or(&none);
                self.hard(&path, &node, src.as_deref().unwrap_or(""), target)
            }
        }
    }

    /// The object whose attributes are managed: a followed symlink's target.
    fn subject<'n>(&self, path: &str, node: &'n Node) -> (String, &'n FileState, u64) {
        if let (true, Some(real), Some((st, nlink))) = (self.follow, &node.real, &node.target) {
            return (real.clone(), st, *nlink);
        }
        (path.to_string(), &node.st, node.nlink)
    }

    fn absent(&self, path: &str, node: &Node) -> Plan {
        let mut result = Map::new();
        result.insert("path".into(), path.into());
        result.insert("state".into(), "absent".into());
        if node.st.kind.is_none() {
            result.insert("changed".into(), false.into());
            return Plan::unchanged(result);
        }
        result.insert("changed".into(), true.into());
        let before = format!("state: {}\n", node.state_name());
        Plan::change(
            vec![step(&[format!("rm -rf -- {}", quote(path))], None)],
            result,
        )
        .with_diff(Diff::new(path, before, "state: absent\n"))
    }

    fn file(&self, path: &str, node: &Node) -> Result<Plan, TaskError> {
        let (path, st, nlink) = self.subject(path, node);
        let what = match st.kind {
            None => "absent",
            Some(FileKind::Directory) => "directory",
            Some(FileKind::Link) => "link",
            Some(_) => "",
        };
        if !what.is_empty() {
            return Err(fail(
                &path,
                format!("file ({path}) is {what}, cannot continue"),
            ));
        }
        let mut ch = Change::default();
        let after = self.attrs(&mut ch, &quote(&path), st)?;
        self.touch_times(&mut ch, &quote(&path), st, State::File);
        Ok(self.conclude(ch, "path", &path, Map::new(), (st, nlink), (&after, nlink)))
    }

    fn directory(
        &self,
        path: &str,
        node: &Node,
        umask: u32,
        tree: &[Entry],
    ) -> Result<Plan, TaskError> {
        let (path, st, nlink) = self.subject(path, node);
        match st.kind {
            None => {
                // `mkdir -p`, but every directory made gets the mode and owner.
                let mut ch = Change {
                    fresh: true,
                    ..Change::default()
                };
                ch.note("state", "", "directory");
                let made = fresh(FileKind::Directory, 0o777 & !umask);
                let after = self.attrs(&mut ch, "\"$d\"", &made)?;
                ch.before = "state: absent\n".into();
                let dirs: Vec<String> = prefixes(&path).iter().map(|d| quote(d)).collect();
                // A directory made by another process between the test and
                // `mkdir` is success; its maker sets its attributes.
                let mut body = format!(
                    "for d in {}; do\n  if [ ! -e \"$d\" ]; then\n    \
                     if ! mkdir -- \"$d\" 2>/dev/null; then [ -d \"$d\" ] && continue; mkdir -- \"$d\"; fi\n",
                    dirs.join(" ")
                );
                for cmd in &ch.cmds {
                    body.push_str(&format!("    {cmd}\n"));
                }
                body.push_str("  fi\ndone");
                let mut result = info(&after, 2);
                result.insert("path".into(), path.clone().into());
                result.insert("changed".into(), true.into());
                let diff = Diff::new(&path, ch.before, ch.after);
                return Ok(Plan::change(vec![step(&[body], Some(&path))], result).with_diff(diff));
            }
            Some(FileKind::Directory) => {}
            Some(_) => {
                let name = if node.st.kind == Some(FileKind::Link) && !self.follow {
                    "link"
                } else {
                    kind_name(st, nlink)
                };
                return Err(fail(&path, format!("{path} already exists as a {name}")));
            }
        }
        let mut ch = Change::default();
        let after = self.attrs(&mut ch, &quote(&path), st)?;
        self.touch_times(&mut ch, &quote(&path), st, State::Directory);
        if self.recurse {
            self.recurse(&mut ch, &path, tree)?;
        }
        Ok(self.conclude(ch, "path", &path, Map::new(), (st, nlink), (&after, nlink)))
    }

    /// Mode and ownership of everything below a directory. The probe reports
    /// each distinct (type, mode, owner) once; commands select by the same.
    fn recurse(&self, ch: &mut Change, path: &str, tree: &[Entry]) -> Result<(), TaskError> {
        let root = quote(&if path.starts_with('-') {
            format!("./{path}")
        } else {
            path.to_string()
        });
        let (owner, group) = (self.owner.as_deref(), self.group.as_deref());
        let strays: Vec<&Entry> = tree
            .iter()
            .filter(|e| {
                owner.is_some_and(|o| !names(o, &e.owner, e.uid))
                    || group.is_some_and(|g| !names(g, &e.group, e.gid))
            })
            .collect();
        if !strays.is_empty() {
            let mut tests = Vec::new();
            owner.inspect(|o| tests.push(format!("! -user {}", quote(o))));
            group.inspect(|g| tests.push(format!("! -group {}", quote(g))));
            // Ownership before modes: chown may clear set-id bits.
            ch.cmds.push(format!(
                "find {root} -mindepth 1 \\( {} \\) -exec chown -h -- {} {{}} +",
                tests.join(" -o "),
                quote(&chown_spec(owner, group))
            ));
            let was: BTreeSet<String> = strays
                .iter()
                .map(|e| format!("{}:{}", e.owner, e.group))
                .collect();
            let was: Vec<String> = was.into_iter().collect();
            ch.note("contents owner", was.join(", "), chown_spec(owner, group));
        }
        let Some(spec) = &self.mode else {
            return Ok(());
        };
        let mut modes = BTreeMap::new();
        for e in tree.iter().filter(|e| !e.link) {
            let want = mode::resolve(spec, e.mode, e.dir).map_err(TaskError::new)?;
            if want != e.mode {
                modes.insert((e.dir, e.mode), want);
            }
        }
        // Files before directories, and directories deepest first, so no
        // directory loses its search bit before what is inside it is done.
        for ((dir, from), to) in modes {
            let (select, what) = if dir {
                ("-depth -type d", "directories")
            } else {
                ("! -type d ! -type l", "files")
            };
            ch.cmds.push(format!(
                "find {root} -mindepth 1 {select} -perm {from:o} -exec chmod {} -- {{}} +",
                octal(to)
            ));
            ch.note(&format!("contents mode ({what})"), octal(from), octal(to));
        }
        Ok(())
    }

    fn touch(&self, path: &str, node: &Node, umask: u32) -> Result<Plan, TaskError> {
        let (spath, st, nlink) = self.subject(path, node);
        let w = quote(&spath);
        let mut ch = Change::default();
        let (st, after) = if st.kind.is_none() {
            ch.fresh = true;
            ch.note("state", "", "touch");
            ch.cmds.push(format!("touch -- {w}"));
            let made = fresh(FileKind::File, 0o666 & !umask);
            let after = self.attrs(&mut ch, &w, &made)?;
            ch.before = "state: absent\n".into();
            (made, after)
        } else {
            let after = self.attrs(&mut ch, &w, st)?;
            self.touch_times(&mut ch, &w, st, State::Touch);
            (st.clone(), after)
        };
        if spath != path {
            // Ansible describes `dest` as given: the link, not its target.
            let link = (&node.st, node.nlink);
            return Ok(self.conclude(ch, "dest", path, Map::new(), link, link));
        }
        Ok(self.conclude(ch, "dest", path, Map::new(), (&st, nlink), (&after, nlink)))
    }

    fn link(
        &self,
        path: &str,
        node: &Node,
        src: Option<&str>,
        src_node: &Node,
    ) -> Result<Plan, TaskError> {
        let mut ch = Change::default();
        let w = quote(path);
        let relink = match src {
            None if node.is(FileKind::Link) => None,
            None => return Err(fail(path, "src is required for creating new symlinks")),
            Some(src) => {
                let dir = path
                    .rfind('/')
                    .map_or("", |i| if i == 0 { "/" } else { &path[..i] });
                let absrc = if src.starts_with('/') || dir.is_empty() {
                    src.to_string()
                } else {
                    format!("{}/{src}", dir.trim_end_matches('/'))
                };
                if !self.force && src_node.st.kind.is_none() {
                    return Err(fail(
                        path,
                        format!(
                            "src file does not exist, use \"force=yes\" if you really want to create the link: {absrc}"
                        ),
                    ));
                }
                let prev = node.state_name();
                match node.st.kind {
                    Some(FileKind::Link) | None => {}
                    Some(_) if !self.force => {
                        return Err(fail(
                            path,
                            format!("refusing to convert from {prev} to symlink for {path}"),
                        ));
                    }
                    Some(FileKind::Directory) if node.nonempty => {
                        return Err(fail(
                            path,
                            format!("the directory {path} is not empty, refusing to convert it"),
                        ));
                    }
                    Some(_) => {}
                }
                let same = node.st.link_target.as_deref() == Some(src);
                (!same).then_some(src)
            }
        };
        if let Some(src) = relink {
            match &node.st.link_target {
                Some(old) => ch.note("src", old, src),
                None => ch.note("state", node.state_name(), "link"),
            }
            let s = quote(src);
            if node.st.kind.is_none() {
                ch.cmds.push(format!("ln -s -- {s} {w}"));
            } else {
                if node.is(FileKind::Directory) {
                    ch.cmds.push(format!("rmdir -- {w}"));
                }
                ch.cmds.push(replace(&w, &format!("ln -sfn -- {s}")));
            }
        }
        let link_now = if relink.is_some() {
            fresh(FileKind::Link, 0o777)
        } else {
            node.st.clone()
        };
        if self.follow {
            // Attributes go to the target; a dangling link has none to set.
            let target = if relink.is_some() {
                Some(&src_node.st)
            } else {
                node.target.as_ref().map(|t| &t.0)
            };
            if let Some(t) = target.filter(|t| t.kind.is_some()) {
                self.attrs(&mut ch, &w, t)?;
                self.touch_times(&mut ch, &w, t, State::Link);
            }
        } else {
            self.attrs_of(&mut ch, &w, &link_now, true)?;
        }
        let mut extra = Map::new();
        let shown = src
            .map(str::to_string)
            .or_else(|| node.st.link_target.clone());
        extra.insert("src".into(), shown.map_or(Value::Null, Value::String));
        let nlink = node.nlink.max(1);
        Ok(self.conclude(
            ch,
            "dest",
            path,
            extra,
            (&link_now, nlink),
            (&link_now, nlink),
        ))
    }

    fn hard(&self, path: &str, node: &Node, src: &str, src_node: &Node) -> Result<Plan, TaskError> {
        match src_node.st.kind {
            None => return Err(fail(path, format!("src does not exist: {src}"))),
            Some(FileKind::Directory) => {
                return Err(fail(path, format!("cannot hard link a directory: {src}")));
            }
            Some(_) => {}
        }
        let w = quote(path);
        let relink = match node.st.kind {
            None | Some(FileKind::Link) => true,
            Some(FileKind::Directory) => {
                return Err(fail(
                    path,
                    format!("refusing to replace the directory {path} with a hard link"),
                ));
            }
            Some(_) if node.ino == src_node.ino => false,
            Some(_) if !self.force && node.nlink > 1 => {
                return Err(fail(
                    path,
                    "Cannot link, different hard link exists at destination",
                ));
            }
            Some(_) if !self.force => {
                return Err(fail(path, "Cannot link, file exists at destination"));
            }
            Some(_) => true,
        };
        let mut ch = Change::default();
        if relink {
            ch.note("state", node.state_name(), "hard");
            let s = quote(src);
            if node.st.kind.is_none() {
                ch.cmds.push(format!("ln -L -- {s} {w}"));
            } else {
                ch.cmds.push(replace(&w, &format!("ln -fL -- {s}")));
            }
        }
        let (st, nlink) = if relink {
            (&src_node.st, src_node.nlink + 1)
        } else {
            (&node.st, node.nlink)
        };
        let after = self.attrs(&mut ch, &w, st)?;
        self.touch_times(&mut ch, &w, st, State::Hard);
        let mut extra = Map::new();
        extra.insert("src".into(), src.into());
        Ok(self.conclude(ch, "dest", path, extra, (st, nlink), (&after, nlink)))
    }

    fn attrs(&self, ch: &mut Change, w: &str, st: &FileState) -> Result<FileState, TaskError> {
        self.attrs_of(ch, w, st, false)
    }

    /// Plans mode and ownership of the object at shell word `w`, as `st`
    /// describes it, and returns how it will be. `link_itself` manages a
    /// symlink rather than its target: its owner only, as Linux gives
    /// symlinks no mode of their own.
    fn attrs_of(
        &self,
        ch: &mut Change,
        w: &str,
        st: &FileState,
        link_itself: bool,
    ) -> Result<FileState, TaskError> {
        let mut after = st.clone();
        let owner = self
            .owner
            .as_deref()
            .filter(|o| !names(o, &st.owner, st.uid));
        let group = self
            .group
            .as_deref()
            .filter(|g| !names(g, &st.group, st.gid));
        if owner.is_some() || group.is_some() {
            let h = if link_itself { " -h" } else { "" };
            ch.cmds.push(format!(
                "chown{h} -- {} {w}",
                quote(&chown_spec(owner, group))
            ));
            if let Some(o) = owner {
                ch.note("owner", &st.owner, o);
                set_id(&mut after.owner, &mut after.uid, o);
            }
            if let Some(g) = group {
                ch.note("group", &st.group, g);
                set_id(&mut after.group, &mut after.gid, g);
            }
        }
        if let (Some(spec), false) = (&self.mode, link_itself) {
            let want = mode::resolve(spec, st.mode, st.kind == Some(FileKind::Directory))
                .map_err(TaskError::new)?;
            if want != st.mode {
                ch.note("mode", octal(st.mode), octal(want));
            }
            // chown clears set-id bits, so they are set again after it.
            let reset = (owner.is_some() || group.is_some()) && want & 0o6000 != 0;
            if want != st.mode || reset {
                ch.cmds.push(format!("chmod {} -- {w}", octal(want)));
            }
            after.mode = want;
        }
        Ok(after)
    }

    fn touch_times(&self, ch: &mut Change, w: &str, st: &FileState, state: State) {
        let flag = match self.times(state) {
            (Time::Now, Time::Now) => "",
            (Time::Now, Time::Preserve) => " -m",
            (Time::Preserve, Time::Now) => " -a",
            (Time::Preserve, Time::Preserve) => return,
        };
        ch.cmds.push(format!("touch -c{flag} -- {w}"));
        if flag != " -a" {
            ch.note("mtime", st.mtime, "now");
        }
        if flag != " -m" {
            ch.after.push_str("atime: now\n");
        }
    }

    /// The plan from the planned changes: `key` (`path` or `dest`) names
    /// `path` in the result, described as it is now or will be.
    fn conclude(
        &self,
        ch: Change,
        key: &str,
        path: &str,
        extra: Map,
        now: (&FileState, u64),
        will: (&FileState, u64),
    ) -> Plan {
        let changed = !ch.cmds.is_empty();
        let (st, nlink) = if changed { will } else { now };
        let mut result = info(st, nlink);
        result.insert(key.into(), path.into());
        result.extend(extra);
        result.insert("changed".into(), changed.into());
        if !changed {
            return Plan::unchanged(result);
        }
        Plan::change(vec![step(&ch.cmds, Some(path))], result)
            .with_diff(Diff::new(path, ch.before, ch.after))
    }
}

/// One step running `cmds`, then printing the state of `report` for the
/// result; before them, the umask, as the probe prints it.
fn step(cmds: &[String], report: Option<&str>) -> Step {
    let mut s = String::from("set -e\n");
    if report.is_some() {
        s.push_str(UMASK);
    }
    for cmd in cmds {
        s.push_str(cmd);
        s.push('\n');
    }
    if let Some(path) = report {
        s.push_str(&format!(
            "x=$(stat -c '{FMT}' -- {})\necho \"report $x\"\n",
            quote(path)
        ));
    }
    Step::script(s)
}

/// Runs `make "$t"` to build a link beside `w`, then renames it over `w`,
/// so the path is never missing.
fn replace(w: &str, make: &str) -> String {
    format!(
        "t=\"$(dirname -- {w})/.tend-link.$$\"\n\
         {make} \"$t\"\n\
         mv -Tf -- \"$t\" {w} || {{ rm -f -- \"$t\"; exit 1; }}"
    )
}

/// The probe of one path held in shell variable `var`, lines tagged `tag`.
fn describe(tag: &str, var: &str, emptiness: bool) -> String {
    let v = format!("\"${var}\"");
    // A link's target and real path as they are (`link-text`), or in
    // base64 when they hold anything but plain path characters (listed
    // one by one: a range's letters depend on the locale): a base64 costs
    // a pipeline of two more processes.
    let print = |key: &str| {
        format!(
            "case $l in *[!{PLAIN}]*|'') echo \"{tag} {key} $(printf %s \"$l\" | base64 -w0)\" ;; *) echo \"{tag} {key}-text $l\" ;; esac\n    "
        )
    };
    let mut s = format!(
        "if [ -e {v} ] || [ -L {v} ]; then\n  \
           if x=$(stat -c '{FMT}' -- {v} 2>&1); then echo \"{tag} $x\"; else echo \"{tag} error $x\"; fi\n  \
           if [ -L {v} ]; then\n    \
             l=$(readlink -n -- {v}; echo .); l=${{l%.}}\n    \
             {link}\
             l=$(readlink -n -m -- {v}; echo .); l=${{l%.}}\n    \
             {real}\
             if x=$(stat -L -c '{FMT}' -- {v} 2>/dev/null); then echo \"{tag} target $x\"\n    \
             else echo '{tag} target absent'; fi\n",
        link = print("link"),
        real = print("real"),
    );
    if emptiness {
        s.push_str(&format!(
            "  elif [ -d {v} ] && [ -n \"$(ls -A -- {v} | head -n 1)\" ]; then\n    \
               echo '{tag} nonempty'\n"
        ));
    }
    s.push_str(&format!("  fi\nelse\n  echo '{tag} absent'\nfi\n"));
    s
}

/// The probe of a link's or hard link's source, following symlinks.
fn stat_target(tag: &str, w: &str) -> String {
    format!(
        "if x=$(stat -L -c '{FMT}' -- {w} 2>/dev/null); then echo \"{tag} $x\"\n\
         else echo '{tag} absent'; fi\n"
    )
}

/// A path as a shell word, with a leading `~` left for the shell to expand.
pub(crate) fn word(path: &str) -> String {
    match path.strip_prefix('~') {
        Some("") => "\"$HOME\"".into(),
        Some(rest) if rest.starts_with('/') => format!("\"$HOME\"{}", quote(rest)),
        _ => quote(path),
    }
}

/// `path` with a leading `~` replaced by the host's `$HOME`, as the probe
/// printed it; Ansible expands `~` in paths the same way.
pub(crate) fn expand(path: &str, home: Option<&str>) -> String {
    match (path.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{home}{rest}")
        }
        _ => path.to_string(),
    }
}

/// `/a/b/c` → `/a`, `/a/b`, `/a/b/c`: the directories `mkdir -p` makes.
fn prefixes(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = if path.starts_with('/') {
        String::from("/")
    } else {
        String::new()
    };
    for part in path.split('/').filter(|p| !p.is_empty()) {
        if !cur.is_empty() && !cur.ends_with('/') {
            cur.push('/');
        }
        cur.push_str(part);
        out.push(cur.clone());
    }
    out
}

/// Whether `given` (a name or a numeric id) names `name`/`id`.
fn names(given: &str, name: &str, id: u32) -> bool {
    given == name || given.parse::<u32>() == Ok(id)
}

fn set_id(name: &mut String, id: &mut u32, given: &str) {
    *name = given.to_string();
    if let Ok(n) = given.parse() {
        *id = n;
    }
}

fn chown_spec(owner: Option<&str>, group: Option<&str>) -> String {
    match group {
        Some(g) => format!("{}:{g}", owner.unwrap_or("")),
        None => owner.unwrap_or("").to_string(),
    }
}

/// An object about to be created: its mode from the umask, owner unknown.
fn fresh(kind: FileKind, mode: u32) -> FileState {
    FileState {
        kind: Some(kind),
        mode,
        uid: u32::MAX,
        gid: u32::MAX,
        ..FileState::default()
    }
}

/// A mode as Ansible's file module reports it (`0644`, `04755`).
fn octal(mode: u32) -> String {
    format!("0{:03o}", mode & 0o7777)
}

fn kind_name(st: &FileState, nlink: u64) -> &'static str {
    Node {
        st: st.clone(),
        nlink,
        ..Node::default()
    }
    .state_name()
}

/// Ansible's path information in a result (`add_path_info`).
fn info(st: &FileState, nlink: u64) -> Map {
    let mut m = Map::new();
    if st.kind.is_none() {
        return m;
    }
    m.insert("state".into(), kind_name(st, nlink).into());
    m.insert("mode".into(), octal(st.mode).into());
    // Unknown for an object not made yet, unless the task names them.
    if !st.owner.is_empty() {
        m.insert("owner".into(), st.owner.clone().into());
    }
    if !st.group.is_empty() {
        m.insert("group".into(), st.group.clone().into());
    }
    if st.uid != u32::MAX {
        m.insert("uid".into(), st.uid.into());
    }
    if st.gid != u32::MAX {
        m.insert("gid".into(), st.gid.into());
    }
    m.insert("size".into(), st.size.into());
    m
}

fn fail(path: &str, msg: impl Into<String>) -> TaskError {
    let mut result = Map::new();
    result.insert("path".into(), path.into());
    TaskError::with_result(msg, result)
}

fn bad(what: impl std::fmt::Display) -> TaskError {
    TaskError::new(format!(
        "could not read the host's answer to the file probe: {}",
        crate::clip(&what.to_string())
    ))
}

fn decode_text(b64: &str) -> Result<String, TaskError> {
    String::from_utf8(probe::decode(b64)?).map_err(|_| bad("a path is not UTF-8"))
}

/// Parses one `FMT` line (after `stat `): the shared stat fields, then
/// device and inode, then the link count.
fn parse_stat(line: &str) -> Result<(FileState, (u64, u64), u64), TaskError> {
    let fields: Vec<&str> = line
        .strip_prefix("stat ")
        .unwrap_or(line)
        .split(' ')
        .collect();
    let [base @ .., dev, ino, nlink] = &fields[..] else {
        return Err(bad("empty stat line"));
    };
    let st = probe::parse_file(format!("stat {}\n", base.join(" ")).as_bytes())?;
    let num = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| bad(format!("bad number {s:?}")))
    };
    Ok((st, (num(dev)?, num(ino)?), num(nlink)?))
}

fn parse(out: &[u8]) -> Result<Seen, TaskError> {
    let text = std::str::from_utf8(out).map_err(|_| bad("output is not UTF-8"))?;
    let mut seen = Seen::default();
    let mut described = false;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        let node = match tag {
            "umask" => {
                seen.umask = u32::from_str_radix(rest.trim(), 8).map_err(|_| bad("bad umask"))?;
                continue;
            }
            "home" => {
                seen.home = Some(decode_text(rest)?);
                continue;
            }
            "tree" => {
                seen.tree.push(parse_entry(rest)?);
                continue;
            }
            "path" => {
                described = true;
                &mut seen.path
            }
            "inner" => seen.inner.get_or_insert_with(Node::default),
            "src" => seen.src.get_or_insert_with(Node::default),
            "lsrc" => seen.lsrc.get_or_insert_with(Node::default),
            _ => return Err(bad(format!("unexpected line {line:?}"))),
        };
        let (what, value) = rest.split_once(' ').unwrap_or((rest, ""));
        match what {
            "absent" => {}
            "stat" => (node.st, node.ino, node.nlink) = parse_stat(value)?,
            "link" => node.st.link_target = Some(decode_text(value)?),
            "link-text" => node.st.link_target = Some(value.to_string()),
            "real" => node.real = Some(decode_text(value)?),
            "real-text" => node.real = Some(value.to_string()),
            "target" if value == "absent" => node.target = Some((FileState::default(), 0)),
            "target" => node.target = parse_stat(value).map(|(st, _, n)| Some((st, n)))?,
            "nonempty" => node.nonempty = true,
            "error" => return Err(bad(format!("stat failed: {value}"))),
            _ => return Err(bad(format!("unexpected line {line:?}"))),
        }
    }
    if !described {
        return Err(bad("the path was not described"));
    }
    Ok(seen)
}

fn parse_entry(rest: &str) -> Result<Entry, TaskError> {
    let f: Vec<&str> = rest.split(' ').collect();
    let [kind, mode, uid, gid, owner, group] = f[..] else {
        return Err(bad(format!("bad tree line {rest:?}")));
    };
    let num = |s: &str| {
        s.parse::<u32>()
            .map_err(|_| bad(format!("bad number {s:?}")))
    };
    Ok(Entry {
        dir: kind == "d",
        link: kind == "l",
        mode: u32::from_str_radix(mode, 8).map_err(|_| bad("bad mode"))?,
        uid: num(uid)?,
        gid: num(gid)?,
        owner: owner.into(),
        group: group.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debug::testing::FakeController;
    use serde_json::json;

    fn task(args: Value) -> Result<Box<dyn Task>, ParamError> {
        let args = Args::check(PARAMS, args.as_object().unwrap(), false)?;
        FileModule.prepare(args, &FakeController::default())
    }

    fn plan(args: Value, probe: &str) -> Result<Plan, TaskError> {
        let out = Observed {
            stdout: probe.as_bytes().to_vec(),
            ..Observed::default()
        };
        task(args).unwrap().plan(Some(&out))
    }

    fn err(args: Value, probe: &str) -> String {
        plan(args, probe).unwrap_err().msg
    }

    fn script(p: &Plan) -> &str {
        &p.steps[0].script
    }

    const DIR: &str = "umask 0022\npath stat 41ed 0 0 4096 1700000000 root root 2049 10 2\n";
    const FILE: &str = "umask 0022\npath stat 81a4 1000 1000 6 1700000000 app app 2049 11 1\n";
    const HARD: &str = "umask 0022\npath stat 81a4 0 0 6 1700000000 root root 2049 12 2\n";
    const ABSENT: &str = "umask 0022\npath absent\n";
    // /srv/current -> releases/1 (base64 of "releases/1"), a directory.
    const LINK: &str = "umask 0022\npath stat a1ff 0 0 10 1700000000 root root 2049 13 1\npath link cmVsZWFzZXMvMQ==\npath real L3Nydi9yZWxlYXNlcy8x\npath target stat 41ed 0 0 4096 1 root root 2049 14 2\n";
    const DANGLING: &str = "umask 0022\npath stat a1ff 0 0 4 1 root root 2049 13 1\npath link L25vbmU=\npath real L25vbmU=\npath target absent\n";

    #[test]
    fn parameter_errors() {
        let e = |v: Value| task(v).err().unwrap().message;
        assert!(e(json!({"path": "/x", "state": "dir"})).contains("must be one of"));
        assert!(e(json!({"state": "file"})).contains("missing required parameter 'path'"));
        assert_eq!(
            e(json!({"path": "/x", "state": "file", "recurse": true})),
            "recurse option requires state to be 'directory'"
        );
        assert_eq!(
            e(json!({"path": "/x", "state": "directory", "src": "/y"})),
            "src option requires state to be 'link' or 'hard'"
        );
        assert_eq!(
            e(json!({"path": "/x", "state": "hard"})),
            "src is required for creating new hardlinks"
        );
        assert!(e(json!({"path": "/x", "mode": "rwx"})).contains("neither octal nor symbolic"));
        assert!(
            e(json!({"path": "/x", "attributes": "+i"})).contains("'attributes' is not supported")
        );
        assert!(
            e(json!({"path": "/x", "setype": "httpd_t"})).contains("'setype' is not supported")
        );
        assert!(
            e(json!({"path": "/x", "modification_time": "202401011200.00"}))
                .contains("'preserve' or 'now'")
        );
        assert!(
            task(json!({"dest": "/x", "unsafe_writes": true, "access_time": "preserve"})).is_ok()
        );
    }

    #[test]
    fn probe_quotes_the_path_and_expands_home() {
        let t = task(json!({"path": "/tmp/a b'c", "state": "directory"})).unwrap();
        assert!(t.probe().unwrap().contains(r"p='/tmp/a b'\''c'"));
        let t = task(json!({"path": "~/.ssh", "state": "directory", "mode": "0700"})).unwrap();
        assert!(t.probe().unwrap().contains("p=\"$HOME\"/.ssh"));
        let home = format!("home {}\n{ABSENT}", "L3Jvb3Q="); // "/root"
        let p = plan(json!({"path": "~/.ssh", "state": "directory"}), &home).unwrap();
        assert_eq!(p.result["path"], "/root/.ssh");
        assert!(script(&p).contains("for d in /root /root/.ssh; do"));
    }

    #[test]
    fn file_state_never_creates() {
        assert_eq!(
            err(json!({"path": "/etc/x", "state": "file"}), ABSENT),
            "file (/etc/x) is absent, cannot continue"
        );
        assert_eq!(
            err(json!({"path": "/etc/x", "state": "file"}), DIR),
            "file (/etc/x) is directory, cannot continue"
        );
        // No state and nothing there means `file`, as in Ansible.
        assert_eq!(
            err(json!({"path": "/etc/x", "mode": "0644"}), ABSENT),
            "file (/etc/x) is absent, cannot continue"
        );
        let e = plan(json!({"path": "/l", "state": "file"}), DANGLING).unwrap_err();
        assert_eq!(e.msg, "file (/none) is absent, cannot continue");
        assert_eq!(e.result["path"], "/none");
        assert_eq!(
            err(
                json!({"path": "/l", "state": "file", "follow": false}),
                DANGLING
            ),
            "file (/l) is link, cannot continue"
        );
    }

    #[test]
    fn file_attributes_change_and_do_not() {
        let args = json!({"path": "/etc/app.conf", "state": "file", "mode": "0640", "owner": "root", "group": "0"});
        let p = plan(args, FILE).unwrap();
        assert!(p.changed);
        let s = script(&p);
        assert!(
            s.contains("chown -- root:0 /etc/app.conf\nchmod 0640 -- /etc/app.conf\n"),
            "{s}"
        );
        assert!(s.contains("echo \"report $x\""));
        assert_eq!(p.diff[0].before_header, "/etc/app.conf");
        assert_eq!(p.diff[0].before, "owner: app\ngroup: app\nmode: 0644\n");
        assert_eq!(p.diff[0].after, "owner: root\ngroup: 0\nmode: 0640\n");
        assert_eq!(p.result["mode"], "0640");
        assert_eq!(p.result["owner"], "root");
        assert_eq!(p.result["gid"], 0);
        // Names and numeric ids both match what is there.
        for args in [
            json!({"path": "/etc/app.conf", "mode": "0644", "owner": "app", "group": "app"}),
            json!({"path": "/etc/app.conf", "mode": "644", "owner": "1000", "group": "1000"}),
            json!({"path": "/etc/app.conf", "mode": "u=rw,g=r,o=r"}),
            json!({"path": "/etc/app.conf", "state": "file"}),
        ] {
            let p = plan(args.clone(), FILE).unwrap();
            assert!(
                !p.changed && p.steps.is_empty() && p.diff.is_empty(),
                "{args}"
            );
            assert_eq!(p.result["state"], "file");
            assert_eq!(p.result["mode"], "0644");
            assert_eq!(p.result["uid"], 1000);
            assert_eq!(p.result["size"], 6);
            assert_eq!(p.result["path"], "/etc/app.conf");
            assert_eq!(p.result["changed"], false);
        }
        let p = plan(json!({"path": "/etc/app.conf", "mode": "a+x"}), FILE).unwrap();
        assert!(script(&p).contains("chmod 0755 -- /etc/app.conf"));
        assert!(!script(&p).contains("chown"));
    }

    #[test]
    fn file_follows_links_to_their_target() {
        // /srv/current -> /srv/releases/1, which is a directory: state=file fails on it.
        let e = err(json!({"path": "/srv/current", "state": "file"}), LINK);
        assert_eq!(e, "file (/srv/releases/1) is directory, cannot continue");
        let p = plan(
            json!({"path": "/srv/current", "state": "directory", "mode": "0700"}),
            LINK,
        )
        .unwrap();
        assert!(script(&p).contains("chmod 0700 -- /srv/releases/1\n"));
        assert_eq!(p.result["path"], "/srv/releases/1");
        let p = plan(
            json!({"path": "/srv/current", "state": "directory", "mode": "0755"}),
            LINK,
        )
        .unwrap();
        assert!(!p.changed);
        let e = err(
            json!({"path": "/srv/current", "state": "directory", "follow": false}),
            LINK,
        );
        assert_eq!(e, "/srv/current already exists as a link");
    }

    #[test]
    fn set_id_bits_survive_a_chown() {
        let probe = "umask 0022\npath stat 89ed 1000 1000 6 1 app app 1 2 1\n"; // 04755
        let p = plan(
            json!({"path": "/usr/bin/x", "owner": "root", "mode": "04755"}),
            probe,
        )
        .unwrap();
        assert!(script(&p).contains("chown -- root /usr/bin/x\nchmod 04755 -- /usr/bin/x\n"));
        assert!(!p.diff[0].after.contains("mode"));
    }

    #[test]
    fn times() {
        let p = plan(json!({"path": "/f", "modification_time": "now"}), FILE).unwrap();
        assert!(p.changed);
        assert!(script(&p).contains("touch -c -m -- /f"));
        assert_eq!(p.diff[0].after, "mtime: now\n");
        assert!(
            !task(json!({"path": "/f", "modification_time": "now"}))
                .unwrap()
                .verify()
        );
        let p = plan(
            json!({"path": "/f", "modification_time": "preserve", "access_time": "now"}),
            FILE,
        )
        .unwrap();
        assert!(script(&p).contains("touch -c -a -- /f"));
        assert!(
            task(json!({"path": "/f", "state": "file"}))
                .unwrap()
                .verify()
        );
    }

    #[test]
    fn directory_is_created_with_parents_mode_and_owner() {
        let p = plan(
            json!({"path": "/srv/app/data", "state": "directory", "mode": "0750", "owner": "app"}),
            ABSENT,
        )
        .unwrap();
        assert!(p.changed);
        let s = script(&p);
        assert!(s.contains("for d in /srv /srv/app /srv/app/data; do\n  if [ ! -e \"$d\" ]; then\n    if ! mkdir -- \"$d\" 2>/dev/null; then [ -d \"$d\" ] && continue; mkdir -- \"$d\"; fi\n    chown -- app \"$d\"\n    chmod 0750 -- \"$d\"\n"), "{s}");
        assert_eq!(p.diff[0].before, "state: absent\n");
        assert_eq!(
            p.diff[0].after,
            "state: directory\nowner: app\nmode: 0750\n"
        );
        assert_eq!(
            (&p.result["state"], &p.result["mode"]),
            (&json!("directory"), &json!("0750"))
        );
        // The umask's mode needs no chmod; a relative path stays relative.
        let p = plan(
            json!({"path": "a/b", "state": "directory", "mode": "0755"}),
            ABSENT,
        )
        .unwrap();
        assert!(script(&p).contains("for d in a a/b; do") && !script(&p).contains("chmod"));
        assert_eq!(p.diff[0].after, "state: directory\n");
        // A symbolic mode is resolved against what mkdir gives (0777 less umask).
        let p = plan(
            json!({"path": "/d", "state": "directory", "mode": "g+w"}),
            ABSENT,
        )
        .unwrap();
        assert!(script(&p).contains("chmod 0775 -- \"$d\""));
        // With no state, `recurse` means directory.
        let p = plan(json!({"path": "/d", "recurse": true}), ABSENT).unwrap();
        assert_eq!(p.result["state"], "directory");
    }

    #[test]
    fn directory_existing() {
        assert!(
            !plan(json!({"path": "/srv", "state": "directory"}), DIR)
                .unwrap()
                .changed
        );
        assert!(
            !plan(
                json!({"path": "/srv", "state": "directory", "mode": "0755", "owner": "root"}),
                DIR
            )
            .unwrap()
            .changed
        );
        let p = plan(
            json!({"path": "/srv", "state": "directory", "mode": "u=rwx,go="}),
            DIR,
        )
        .unwrap();
        assert!(script(&p).contains("chmod 0700 -- /srv"));
        assert_eq!(p.diff[0].before, "mode: 0755\n");
        let e = plan(json!({"path": "/srv", "state": "directory"}), FILE).unwrap_err();
        assert_eq!(e.msg, "/srv already exists as a file");
        assert_eq!(
            err(json!({"path": "/srv", "state": "directory"}), HARD),
            "/srv already exists as a hard"
        );
    }

    #[test]
    fn recurse_plans_from_the_tree_summary() {
        let tree = format!(
            "{DIR}tree d 755 0 0 root root\ntree f 644 0 0 root root\ntree f 600 1000 1000 app app\ntree l 777 0 0 root root\n"
        );
        let args = json!({"path": "/srv", "state": "directory", "recurse": true, "owner": "root", "mode": "u=rwX,g=rX,o="});
        let p = plan(args, &tree).unwrap();
        let s = script(&p);
        assert!(s.contains("chmod 0750 -- /srv\n"), "{s}");
        let chown = "find /srv -mindepth 1 \\( ! -user root \\) -exec chown -h -- root {} +";
        let files = "find /srv -mindepth 1 ! -type d ! -type l -perm 644 -exec chmod 0640 -- {} +";
        let f600 = "find /srv -mindepth 1 ! -type d ! -type l -perm 600 -exec chmod 0640 -- {} +";
        let dirs = "find /srv -mindepth 1 -depth -type d -perm 755 -exec chmod 0750 -- {} +";
        let at = |needle: &str| {
            s.find(needle)
                .unwrap_or_else(|| panic!("{needle} not in {s}"))
        };
        assert!(at(chown) < at(f600) && at(f600) < at(files) && at(files) < at(dirs));
        assert!(p.diff[0].after.contains("contents owner: root\n"));
        assert!(p.diff[0].before.contains("contents owner: app:app\n"));
        // Once everything matches, nothing to do.
        let done = "umask 0022\npath stat 41e8 0 0 4096 1 root root 1 2 3\ntree d 750 0 0 root root\ntree f 640 0 0 root root\ntree l 777 0 0 root root\n";
        let args = json!({"path": "/srv", "state": "directory", "recurse": true, "owner": "root", "mode": "u=rwX,g=rX,o="});
        assert!(!plan(args, done).unwrap().changed);
        // The probe only lists the tree when there is something to compare.
        assert!(
            task(json!({"path": "/srv", "recurse": true, "group": "adm"}))
                .unwrap()
                .probe()
                .unwrap()
                .contains("find -H")
        );
        assert!(
            !task(json!({"path": "/srv", "recurse": true}))
                .unwrap()
                .probe()
                .unwrap()
                .contains("find")
        );
    }

    #[test]
    fn absent() {
        for (probe, was) in [
            (DIR, "directory"),
            (FILE, "file"),
            (HARD, "hard"),
            (LINK, "link"),
        ] {
            let p = plan(json!({"path": "/srv/x y", "state": "absent"}), probe).unwrap();
            assert!(p.changed);
            assert!(script(&p).contains("rm -rf -- '/srv/x y'"));
            assert_eq!(
                p.diff[0],
                Diff::new("/srv/x y", format!("state: {was}\n"), "state: absent\n")
            );
            assert_eq!(p.result["state"], "absent");
        }
        let p = plan(json!({"path": "/srv/x", "state": "absent"}), ABSENT).unwrap();
        assert!(!p.changed && p.steps.is_empty());
        assert_eq!(p.result["path"], "/srv/x");
        assert_eq!(p.result["changed"], false);
    }

    #[test]
    fn touch() {
        let p = plan(
            json!({"path": "/t", "state": "touch", "mode": "0600"}),
            ABSENT,
        )
        .unwrap();
        assert!(script(&p).contains("touch -- /t\nchmod 0600 -- /t\n"));
        assert_eq!(p.diff[0].before, "state: absent\n");
        assert_eq!(p.diff[0].after, "state: touch\nmode: 0600\n");
        assert_eq!(p.result["dest"], "/t");
        // An existing file's times are set to now: changed every time.
        let p = plan(json!({"path": "/t", "state": "touch"}), FILE).unwrap();
        assert!(p.changed && script(&p).contains("touch -c -- /t"));
        assert!(
            !task(json!({"path": "/t", "state": "touch"}))
                .unwrap()
                .verify()
        );
        let args = json!({"path": "/t", "state": "touch", "modification_time": "preserve", "access_time": "preserve"});
        assert!(!plan(args.clone(), FILE).unwrap().changed);
        assert!(task(args).unwrap().verify());
    }

    fn with_src(probe: &str, tag: &str, line: &str) -> String {
        format!("{probe}{tag} {line}\n")
    }

    #[test]
    fn link_created_replaced_or_kept() {
        let src_dir = "stat 41ed 0 0 4096 1 root root 2049 14 2";
        let args = json!({"path": "/srv/current", "src": "releases/1", "state": "link"});
        // Already pointing there.
        let p = plan(args.clone(), &with_src(LINK, "lsrc", src_dir)).unwrap();
        assert!(!p.changed);
        assert_eq!(
            (&p.result["dest"], &p.result["src"], &p.result["state"]),
            (&json!("/srv/current"), &json!("releases/1"), &json!("link"))
        );
        // Pointing elsewhere: replaced by rename.
        let args2 = json!({"path": "/srv/current", "src": "releases/2", "state": "link"});
        let p = plan(args2, &with_src(LINK, "lsrc", src_dir)).unwrap();
        assert!(script(&p).contains("ln -sfn -- releases/2 \"$t\"\nmv -Tf -- \"$t\" /srv/current"));
        assert_eq!(
            p.diff[0],
            Diff::new("/srv/current", "src: releases/1\n", "src: releases/2\n")
        );
        // Absent: made directly.
        let p = plan(args.clone(), &with_src(ABSENT, "lsrc", src_dir)).unwrap();
        assert!(script(&p).contains("ln -s -- releases/1 /srv/current\n"));
        assert_eq!(
            p.diff[0],
            Diff::new("/srv/current", "state: absent\n", "state: link\n")
        );
        // The probe reads a relative src from the link's directory.
        assert!(
            task(args)
                .unwrap()
                .probe()
                .unwrap()
                .contains("a=\"$(dirname -- \"$p\")\"/releases/1")
        );
    }

    #[test]
    fn link_refusals_and_force() {
        let args = json!({"path": "/srv/current", "src": "/srv/releases/9", "state": "link"});
        assert_eq!(
            err(args, &with_src(ABSENT, "lsrc", "absent")),
            "src file does not exist, use \"force=yes\" if you really want to create the link: /srv/releases/9"
        );
        let args = json!({"path": "/srv/current", "src": "r", "state": "link"});
        assert_eq!(
            err(args, &with_src(ABSENT, "lsrc", "absent")),
            "src file does not exist, use \"force=yes\" if you really want to create the link: /srv/r"
        );
        let src = "stat 81a4 0 0 1 1 root root 1 5 1";
        let args = json!({"path": "/p", "src": "/s", "state": "link"});
        assert_eq!(
            err(args.clone(), &with_src(FILE, "lsrc", src)),
            "refusing to convert from file to symlink for /p"
        );
        assert_eq!(
            err(args.clone(), &with_src(HARD, "lsrc", src)),
            "refusing to convert from hard to symlink for /p"
        );
        assert_eq!(
            err(args, &with_src(DIR, "lsrc", src)),
            "refusing to convert from directory to symlink for /p"
        );
        let forced = json!({"path": "/p", "src": "/s", "state": "link", "force": true});
        let full = format!("{DIR}path nonempty\nlsrc {src}\n");
        assert_eq!(
            err(forced.clone(), &full),
            "the directory /p is not empty, refusing to convert it"
        );
        let p = plan(forced.clone(), &with_src(DIR, "lsrc", src)).unwrap();
        assert!(script(&p).contains("rmdir -- /p\nt="));
        let p = plan(forced.clone(), &with_src(FILE, "lsrc", src)).unwrap();
        assert_eq!(p.diff[0].after, "state: link\n");
        // force links to a src that is not there (yet).
        assert!(
            plan(forced, &with_src(ABSENT, "lsrc", "absent"))
                .unwrap()
                .changed
        );
        assert_eq!(
            err(json!({"path": "/p", "state": "link"}), ABSENT),
            "src is required for creating new symlinks"
        );
    }

    #[test]
    fn link_attributes_go_to_target_or_link() {
        let args = json!({"path": "/srv/current", "state": "link", "owner": "app", "mode": "0750"});
        let p = plan(args, LINK).unwrap();
        let s = script(&p);
        assert!(
            s.contains("chown -- app /srv/current\nchmod 0750 -- /srv/current\n"),
            "{s}"
        );
        assert_eq!(p.result["src"], "releases/1");
        let args = json!({"path": "/srv/current", "state": "link", "owner": "app", "mode": "0750", "follow": false});
        let p = plan(args, LINK).unwrap();
        assert!(
            script(&p).contains("chown -h -- app /srv/current\n") && !script(&p).contains("chmod")
        );
        // A dangling link has no target to set attributes on.
        assert!(
            !plan(
                json!({"path": "/l", "state": "link", "mode": "0600"}),
                DANGLING
            )
            .unwrap()
            .changed
        );
        // No state on a link: it stays as it is.
        assert!(!plan(json!({"path": "/srv/current"}), LINK).unwrap().changed);
    }

    #[test]
    fn hard_links() {
        let src = "src stat 81a4 0 0 6 1 root root 2049 12 2\n";
        let args = json!({"path": "/h", "src": "/s", "state": "hard"});
        // Same inode: already linked.
        let p = plan(args.clone(), &format!("{HARD}{src}")).unwrap();
        assert!(!p.changed);
        assert_eq!(
            (&p.result["state"], &p.result["dest"]),
            (&json!("hard"), &json!("/h"))
        );
        let p = plan(args.clone(), &format!("{ABSENT}{src}")).unwrap();
        assert!(script(&p).contains("ln -L -- /s /h\n"));
        assert_eq!(p.diff[0].after, "state: hard\n");
        assert_eq!(p.result["state"], "hard");
        assert_eq!(
            err(args.clone(), &format!("{FILE}{src}")),
            "Cannot link, file exists at destination"
        );
        let other = "umask 0022\npath stat 81a4 0 0 6 1 root root 2049 99 2\n";
        assert_eq!(
            err(args.clone(), &format!("{other}{src}")),
            "Cannot link, different hard link exists at destination"
        );
        assert_eq!(
            err(args.clone(), &format!("{ABSENT}src absent\n")),
            "src does not exist: /s"
        );
        let forced = json!({"path": "/h", "src": "/s", "state": "hard", "force": true});
        assert!(
            script(&plan(forced, &format!("{FILE}{src}")).unwrap())
                .contains("ln -fL -- /s \"$t\"\nmv -Tf")
        );
        // At a directory, the link goes inside it, named after src.
        let inner = format!("{DIR}{src}inner absent\n");
        let p = plan(args.clone(), &inner).unwrap();
        assert!(script(&p).contains("ln -L -- /s /h/s\n"));
        assert_eq!(p.result["dest"], "/h/s");
        let t = task(args).unwrap();
        assert!(t.probe().unwrap().contains("i=\"$p\"/s"));
    }

    #[test]
    fn finish_reports_the_state_after_the_change() {
        let t = task(json!({"path": "/d", "state": "directory", "owner": "app"})).unwrap();
        let p = t
            .plan(Some(&Observed {
                stdout: ABSENT.into(),
                ..Observed::default()
            }))
            .unwrap();
        let out = StepOutput {
            stdout: b"report stat 41ed 1000 1000 4096 1 app app 2049 3 2\n".to_vec(),
            ..StepOutput::default()
        };
        let r = t.finish(&p, &[out]).unwrap();
        assert_eq!(
            (&r["uid"], &r["owner"], &r["mode"], &r["path"]),
            (&json!(1000), &json!("app"), &json!("0755"), &json!("/d"))
        );
        let bad = StepOutput {
            stdout: b"report stat x\n".to_vec(),
            ..StepOutput::default()
        };
        assert!(t.finish(&p, &[bad]).is_err());
    }

    #[test]
    fn probe_failures_and_garbage_are_errors() {
        let t = task(json!({"path": "/x"})).unwrap();
        let failed = Observed {
            rc: 3,
            stderr: b"stat: Permission denied\n".to_vec(),
            ..Observed::default()
        };
        assert_eq!(
            t.plan(Some(&failed)).unwrap_err().msg,
            "could not inspect /x: stat: Permission denied"
        );
        for junk in [
            "",
            "umask 0022\n",
            "path stat 41ed\n",
            "path what\n",
            "bogus\n",
            "path link !!\n",
            "umask x\npath absent\n",
        ] {
            let out = Observed {
                stdout: junk.into(),
                ..Observed::default()
            };
            assert!(t.plan(Some(&out)).is_err(), "{junk:?}");
        }
        assert!(t.plan(None).is_err());
    }

    /// Real files under a fresh temporary directory, removed on drop.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let dir = std::env::temp_dir()
                .join(format!("tend-file-{name}-{}-{nanos}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
        fn path(&self, rel: &str) -> String {
            self.0.join(rel).to_str().unwrap().to_string()
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::process::Command::new("chmod")
                .arg("-R")
                .arg("u+rwx")
                .arg(&self.0)
                .status();
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn sh(script: &str) -> (i32, Vec<u8>, Vec<u8>) {
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), out.stdout, out.stderr)
    }

    fn observe(t: &dyn Task) -> Observed {
        let (rc, stdout, stderr) = sh(&t.probe().unwrap());
        Observed { rc, stdout, stderr }
    }

    /// Probes, applies the plan with a real shell, and checks that a second
    /// probe finds nothing left to do. Returns the finished result.
    fn converge(args: Value) -> Map {
        let t = task(args.clone()).unwrap();
        let p = t.plan(Some(&observe(&*t))).unwrap();
        assert!(p.changed, "{args}: expected a change");
        let mut outputs = Vec::new();
        for step in &p.steps {
            let (rc, stdout, stderr) = sh(&step.script);
            assert_eq!(
                rc,
                0,
                "{}\n{}",
                step.script,
                String::from_utf8_lossy(&stderr)
            );
            outputs.push(StepOutput { rc, stdout, stderr });
        }
        let seen = observe(&*t);
        let again = t.plan(Some(&seen)).unwrap();
        assert!(!again.changed, "{args}: not idempotent: {:?}", again.steps);
        let result = t.finish(&p, &outputs).unwrap();
        // A step that reports its result reports what the probe now finds.
        if t.reports(&p) {
            let reported = t.reported(&p, &outputs).expect("the step reports");
            assert_eq!(
                String::from_utf8_lossy(&reported.stdout),
                String::from_utf8_lossy(&seen.stdout),
                "{args}"
            );
        }
        result
    }

    fn mode_of(path: &str) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    #[test]
    fn real_directory_mode_and_absent() {
        let s = Scratch::new("dir");
        let d = s.path("a b/c'd");
        let r = converge(json!({"path": d, "state": "directory", "mode": "0750"}));
        assert_eq!(
            (&r["state"], &r["mode"], &r["path"]),
            (&json!("directory"), &json!("0750"), &json!(d))
        );
        assert_eq!(mode_of(&s.path("a b")), 0o750, "parents get the mode too");
        converge(json!({"path": d, "state": "directory", "mode": "u=rwx,g=,o="}));
        assert_eq!(mode_of(&d), 0o700);
        let t = task(json!({"path": d, "state": "directory"})).unwrap();
        assert!(t.reports(&t.plan(Some(&observe(&*t))).unwrap()));
        std::fs::write(s.path("a b/c'd/f"), "x").unwrap();
        converge(json!({"path": s.path("a b"), "state": "absent"}));
        assert!(!std::path::Path::new(&s.path("a b")).exists());
    }

    #[test]
    fn real_recurse_and_owner() {
        let s = Scratch::new("recurse");
        let d = s.path("tree");
        for sub in ["x/y", "z"] {
            std::fs::create_dir_all(format!("{d}/{sub}")).unwrap();
        }
        std::fs::write(format!("{d}/x/y/f"), "f").unwrap();
        std::fs::write(format!("{d}/g"), "g").unwrap();
        std::os::unix::fs::symlink("x", format!("{d}/lnk")).unwrap();
        let me = sh("id -u").1;
        let uid = String::from_utf8_lossy(&me).trim().to_string();
        converge(
            json!({"path": d, "state": "directory", "recurse": true, "mode": "u=rwX,g=rX,o=", "owner": uid}),
        );
        assert_eq!(mode_of(&format!("{d}/x/y")), 0o750);
        assert_eq!(mode_of(&format!("{d}/x/y/f")), 0o640);
        converge(json!({"path": d, "state": "directory", "recurse": true, "mode": "0700"}));
        assert_eq!(mode_of(&format!("{d}/x/y/f")), 0o700);
        assert_eq!(mode_of(&format!("{d}/lnk")), 0o777, "links are left alone");
    }

    #[test]
    fn real_links_touch_and_file() {
        let s = Scratch::new("link");
        let target = s.path("rel 1");
        std::fs::create_dir(&target).unwrap();
        let link = s.path("current");
        let r = converge(json!({"path": link, "src": "rel 1", "state": "link"}));
        assert_eq!((&r["state"], &r["src"]), (&json!("link"), &json!("rel 1")));
        assert_eq!(std::fs::read_link(&link).unwrap().to_str(), Some("rel 1"));
        std::fs::create_dir(s.path("rel 2")).unwrap();
        converge(json!({"path": link, "src": "rel 2", "state": "link", "mode": "0701"}));
        assert_eq!(mode_of(&s.path("rel 2")), 0o701, "mode goes to the target");
        // Plain path characters come back as text, others in base64: both
        // read the same, and the link converges either way.
        std::fs::create_dir(s.path("rel_3")).unwrap();
        converge(json!({"path": link, "src": "rel_3", "state": "link"}));
        let t = task(json!({"path": link, "src": "rel_3", "state": "link"})).unwrap();
        let seen = String::from_utf8(observe(&*t).stdout).unwrap();
        assert!(seen.contains("path link-text rel_3\n"), "{seen}");
        assert_eq!(std::fs::read_link(&link).unwrap().to_str(), Some("rel_3"));
        let f = s.path("-touched");
        let r = converge(
            json!({"path": f, "state": "touch", "mode": "0600", "modification_time": "preserve", "access_time": "preserve"}),
        );
        assert_eq!(
            (&r["state"], &r["mode"], &r["size"]),
            (&json!("file"), &json!("0600"), &json!(0))
        );
        converge(json!({"path": f, "state": "file", "mode": "go+r"}));
        assert_eq!(mode_of(&f), 0o644);
        let h = s.path("hard");
        let r = converge(json!({"path": h, "src": f, "state": "hard"}));
        assert_eq!(r["state"], "hard");
        converge(json!({"path": link, "state": "absent"}));
        assert!(std::fs::symlink_metadata(&link).is_err());
    }
}
