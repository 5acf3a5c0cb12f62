//! Where an archive's members land under `dest` and whether what is there
//! matches them: the member list normalized as GNU tar extracts it
//! (leading `/` and `./` dropped, `--strip-components`, `exclude`,
//! `include`), the probe's `find` listing parsed, and the comparison.

use std::collections::{BTreeMap, BTreeSet};

use super::Entry;
use super::tar::{Kind, Member};
use crate::{Diff, Map, TaskError};

/// One `find -printf` record: type, size, mtime, mode, uid, gid, user,
/// group, links, link target, path; NUL-separated.
pub const FIND_FORMAT: &str = "%y\\0%s\\0%T@\\0%m\\0%U\\0%G\\0%u\\0%g\\0%n\\0%l\\0%p\\0";
const FIELDS: usize = 11;

/// `--strip-components=N` (or `--strip-components N`) among `extra_opts`;
/// options that rename members some other way are refused, since the
/// comparison could not find them.
pub fn strip_components(opts: &[String]) -> Result<usize, String> {
    let mut strip = 0;
    let mut iter = opts.iter();
    while let Some(o) = iter.next() {
        let value = if let Some(v) = o.strip_prefix("--strip-components=") {
            v.to_string()
        } else if o == "--strip-components" {
            iter.next().cloned().unwrap_or_default()
        } else {
            if o.starts_with("--transform")
                || o.starts_with("--xform")
                || o == "-C"
                || o.starts_with("--directory")
            {
                return Err(format!(
                    "extra_opts '{o}' is not supported by tend (it moves members where tend does not look)"
                ));
            }
            continue;
        };
        strip = value
            .parse()
            .map_err(|_| format!("bad --strip-components value '{value}'"))?;
    }
    Ok(strip)
}

/// The members tar extracts, each with where it lands. A name that climbs
/// out of `dest` (`..`) is refused, as GNU tar refuses it.
pub fn entries(
    members: Vec<Member>,
    strip: usize,
    exclude: &[String],
    include: &[String],
) -> Result<Vec<Entry>, String> {
    let include: Vec<String> = include.iter().map(|i| normalize(i)).collect();
    let mut by_path: BTreeMap<String, usize> = BTreeMap::new();
    let mut out: Vec<Entry> = Vec::new();
    for m in members {
        let norm = normalize(&m.name);
        if norm.split('/').any(|c| c == "..") {
            return Err(format!(
                "has a member that would land outside dest: '{}'",
                m.name
            ));
        }
        if m.name.contains('\n') {
            return Err(format!("has a member name with a line break: {:?}", m.name));
        }
        if excluded(&norm, exclude) {
            continue;
        }
        if !include.is_empty()
            && !include
                .iter()
                .any(|i| norm == *i || norm.starts_with(&format!("{i}/")))
        {
            continue;
        }
        let rel = if norm == "." {
            if strip > 0 {
                continue;
            }
            ".".to_string()
        } else {
            let parts: Vec<&str> = norm.split('/').collect();
            if parts.len() <= strip {
                continue;
            }
            parts[strip..].join("/")
        };
        // A later member of the same name replaces the earlier one.
        match by_path.get(&rel) {
            Some(&i) => out[i].member = m,
            None => {
                by_path.insert(rel.clone(), out.len());
                out.push(Entry { rel, member: m });
            }
        }
    }
    Ok(out)
}

/// `./a//b/` → `a/b`; the archive's root entry is `.`.
fn normalize(name: &str) -> String {
    let parts: Vec<&str> = name
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// tar's default exclusion: the pattern may match the whole name or any
/// part of it that starts after a `/`, and `*` matches `/` too.
fn excluded(norm: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|p| {
        let p = normalize(p);
        std::iter::once(0)
            .chain(norm.match_indices('/').map(|(i, _)| i + 1))
            .any(|start| {
                let tail = &norm[start..];
                crate::setup::glob(&p, tail)
                    || tail
                        .match_indices('/')
                        .any(|(i, _)| crate::setup::glob(&p, &tail[..i]))
            })
    })
}

/// The distinct first path components, where `find` starts.
pub fn top_names(entries: &[Entry]) -> Vec<String> {
    let set: BTreeSet<&str> = entries
        .iter()
        .filter(|e| e.rel != ".")
        .map(|e| e.rel.split('/').next().unwrap_or(""))
        .collect();
    set.into_iter().map(str::to_string).collect()
}

/// One path under `dest` as `find` described it.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub kind: char,
    pub size: u64,
    pub mtime: i64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub owner: String,
    pub group: String,
    pub link: String,
}

/// What the probe printed: who runs, their umask, and the tree.
pub struct Tree {
    pub uid: u64,
    pub umask: u32,
    paths: BTreeMap<String, Found>,
}

impl Tree {
    pub fn read(text: &str) -> Result<Tree, TaskError> {
        let bad = |what: &str| {
            TaskError::new(format!(
                "could not read the host's answer to unarchive's probe: {}",
                crate::clip(what)
            ))
        };
        let mut who = None;
        let mut tree = None;
        for line in text.lines() {
            let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
            match tag {
                "who" => {
                    let (uid, umask) = rest.split_once(' ').ok_or_else(|| bad(line))?;
                    let uid = uid.parse().map_err(|_| bad(line))?;
                    let umask = u32::from_str_radix(umask.trim(), 8).map_err(|_| bad(line))?;
                    who = Some((uid, umask));
                }
                "tree" => tree = Some(crate::probe::decode(rest)?),
                _ => return Err(bad(&format!("unexpected line {line:?}"))),
            }
        }
        let ((uid, umask), tree) = who.zip(tree).ok_or_else(|| bad("incomplete output"))?;
        let mut paths = BTreeMap::new();
        let fields: Vec<&[u8]> = tree.split(|b| *b == 0).collect();
        // The output ends with a NUL, so the last piece is empty.
        let records = fields.len().saturating_sub(1);
        if !records.is_multiple_of(FIELDS) || fields.last().is_some_and(|f| !f.is_empty()) {
            return Err(bad("a truncated find listing"));
        }
        for rec in fields[..records].chunks(FIELDS) {
            let s = |i: usize| String::from_utf8_lossy(rec[i]).into_owned();
            let num = |i: usize| {
                s(i).parse::<u64>()
                    .map_err(|_| bad("a bad number in the find listing"))
            };
            let mtime = s(2)
                .split('.')
                .next()
                .and_then(|t| t.parse::<i64>().ok())
                .ok_or_else(|| bad("a bad mtime in the find listing"))?;
            let found = Found {
                kind: s(0).chars().next().ok_or_else(|| bad("an empty type"))?,
                size: num(1)?,
                mtime,
                mode: u32::from_str_radix(&s(3), 8).map_err(|_| bad("a bad mode"))?,
                uid: num(4)?,
                gid: num(5)?,
                owner: s(6),
                group: s(7),
                link: s(9),
            };
            let path = s(10);
            let rel = path.strip_prefix("./").unwrap_or(&path).to_string();
            paths.insert(rel, found);
        }
        Ok(Tree { uid, umask, paths })
    }

    pub fn get(&self, rel: &str) -> Option<&Found> {
        self.paths.get(rel)
    }
}

/// What the comparison takes into account.
pub struct Expect<'a> {
    pub root: bool,
    pub umask: u32,
    pub owner: Option<&'a str>,
    pub group: Option<&'a str>,
    pub mode: Option<&'a str>,
    pub keep_newer: bool,
}

/// A member that is not as the archive has it: (path, what is there, what
/// the archive holds).
pub type Difference = (String, String, String);

pub fn differences(entries: &[Entry], tree: &Tree, x: &Expect) -> Result<Vec<Difference>, String> {
    let mut out = Vec::new();
    for e in entries {
        let m = &e.member;
        let want = describe_member(m);
        let Some(f) = tree.get(&e.rel) else {
            out.push((e.rel.clone(), "absent".into(), want));
            continue;
        };
        let kind_ok = match m.kind {
            Kind::File | Kind::Hardlink => f.kind == 'f',
            Kind::Dir => f.kind == 'd',
            Kind::Symlink => f.kind == 'l' && f.link == m.link,
            Kind::Other => true,
        };
        let newer = x.keep_newer && f.mtime > m.mtime;
        let content_ok = m.kind != Kind::File || newer || (f.size == m.size && f.mtime == m.mtime);
        // As root tar restores modes and owners; otherwise the umask applies.
        let base = if x.root { m.mode } else { m.mode & !x.umask };
        let mode_ok = match (x.mode, m.kind) {
            (_, Kind::Symlink) => true,
            (Some(spec), _) => {
                let want = crate::mode::resolve(spec, base, m.kind == Kind::Dir)?;
                f.mode == want
            }
            (None, _) => !x.root || f.mode == m.mode,
        };
        let same = |name: &str, have_name: &str, have_id: u64| {
            name == have_name || name.parse::<u64>().is_ok_and(|n| n == have_id)
        };
        let owner_ok = match x.owner {
            Some(o) => same(o, &f.owner, f.uid),
            None => !x.root || f.uid == m.uid || (!m.uname.is_empty() && f.owner == m.uname),
        };
        let group_ok = match x.group {
            Some(g) => same(g, &f.group, f.gid),
            None => !x.root || f.gid == m.gid || (!m.gname.is_empty() && f.group == m.gname),
        };
        if !(kind_ok && content_ok && mode_ok && owner_ok && group_ok) {
            out.push((e.rel.clone(), describe_found(f), want));
        }
    }
    Ok(out)
}

fn describe_member(m: &Member) -> String {
    let who = format!("{}:{}", name_or(&m.uname, m.uid), name_or(&m.gname, m.gid));
    match m.kind {
        Kind::File => format!(
            "file, {} bytes, mtime {}, mode {:04o}, {who}",
            m.size, m.mtime, m.mode
        ),
        Kind::Dir => format!("directory, mode {:04o}, {who}", m.mode),
        Kind::Symlink => format!("link to {}", m.link),
        Kind::Hardlink => format!("hard link to {}", m.link),
        Kind::Other => "special file".into(),
    }
}

fn describe_found(f: &Found) -> String {
    let who = format!("{}:{}", f.owner, f.group);
    match f.kind {
        'f' => format!(
            "file, {} bytes, mtime {}, mode {:04o}, {who}",
            f.size, f.mtime, f.mode
        ),
        'd' => format!("directory, mode {:04o}, {who}", f.mode),
        'l' => format!("link to {}", f.link),
        _ => "special file".into(),
    }
}

fn name_or(name: &str, id: u64) -> String {
    if name.is_empty() {
        id.to_string()
    } else {
        name.to_string()
    }
}

/// The most members a diff lists one by one.
const DIFF_LINES: usize = 50;

pub fn diff(dest: &str, differ: &[Difference]) -> Diff {
    let (mut before, mut after) = (String::new(), String::new());
    for (path, have, want) in differ.iter().take(DIFF_LINES) {
        before.push_str(&format!("{path}: {have}\n"));
        after.push_str(&format!("{path}: {want}\n"));
    }
    if differ.len() > DIFF_LINES {
        let more = format!("... and {} more\n", differ.len() - DIFF_LINES);
        before.push_str(&more);
        after.push_str(&more);
    }
    Diff::new(dest, before, after)
}

/// Ansible adds the path's attributes to the result, for `dest`.
pub fn dest_info(f: &Found, r: &mut Map) {
    r.insert("gid".into(), f.gid.into());
    r.insert("group".into(), f.group.clone().into());
    r.insert("mode".into(), format!("{:04o}", f.mode).into());
    r.insert("owner".into(), f.owner.clone().into());
    r.insert("size".into(), f.size.into());
    r.insert(
        "state".into(),
        if f.kind == 'd' { "directory" } else { "file" }.into(),
    );
    r.insert("uid".into(), f.uid.into());
}
