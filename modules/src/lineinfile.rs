//! `lineinfile`: makes sure one line is in a file (replacing the last line
//! a `regexp` or `search_string` matches, or inserting it after/before a
//! marker), or that no matching line is. The edit follows Ansible's
//! `lineinfile.py` step by step, on bytes, so its quirks carry over; the one
//! exception is marked where it is made. Python regular expressions run on
//! the `regex` crate; `pyre` below translates the differences.

use crate::content::{self, Attrs, Sections};
use crate::probe::FileKind;
use crate::shell::quote;
use crate::write::{self, WriteOptions};
use crate::{
    Args, Controller, Diff, Kind, Map, Module, Observed, Param, ParamError, Plan, Step, StepOutput,
    Task, TaskError,
};
use regex::bytes::Regex;

pub struct LineinfileModule;

const PARAMS: &[Param] = &[
    Param::new("path", Kind::Str)
        .required()
        .aliases(&["dest", "destfile", "name"]),
    Param::new("state", Kind::Str).choices(&["present", "absent"]),
    Param::new("regexp", Kind::Str).aliases(&["regex"]),
    Param::new("search_string", Kind::Str),
    Param::new("line", Kind::Str).aliases(&["value"]),
    Param::new("insertafter", Kind::Str),
    Param::new("insertbefore", Kind::Str),
    Param::new("backrefs", Kind::Bool),
    Param::new("create", Kind::Bool),
    Param::new("backup", Kind::Bool),
    Param::new("firstmatch", Kind::Bool),
    Param::new("validate", Kind::Str),
    Param::new("mode", Kind::Mode),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
    Param::new("unsafe_writes", Kind::Bool),
    Param::new("attributes", Kind::Str).aliases(&["attr"]),
    Param::new("seuser", Kind::Str),
    Param::new("serole", Kind::Str),
    Param::new("setype", Kind::Str),
    Param::new("selevel", Kind::Str),
];

impl Module for LineinfileModule {
    fn name(&self) -> &'static str {
        "lineinfile"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn prepare(&self, args: Args, _: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        content::reject_unsupported(&args, crate::copy::UNSUPPORTED)?;
        for pair in [
            ["insertbefore", "insertafter"],
            ["regexp", "search_string"],
            ["backrefs", "search_string"],
        ] {
            // As in Ansible, giving both counts, even `backrefs: false`.
            if pair.iter().all(|p| args.has(p)) {
                return Err(ParamError::general(format!(
                    "parameters are mutually exclusive: {}",
                    pair.join("|")
                )));
            }
        }
        let regexp = args
            .str("regexp")
            .map(|r| pyre::compile("regexp", r))
            .transpose()?;
        let backrefs = args.bool_or("backrefs", false);
        let absent = args.str("state") == Some("absent");
        let line = args.string("line");
        let (insertafter, insertbefore) = (args.string("insertafter"), args.string("insertbefore"));
        let mut template = None;
        if absent {
            if line.is_none() && regexp.is_none() && !args.has("search_string") {
                return Err(ParamError::general(
                    "one of line, search_string, or regexp is required with state=absent",
                ));
            }
        } else {
            if backrefs && regexp.is_none() {
                return Err(ParamError::new(
                    "backrefs",
                    "regexp is required with backrefs=true",
                ));
            }
            let Some(line) = &line else {
                return Err(ParamError::new(
                    "line",
                    "line is required with state=present",
                ));
            };
            if let (true, Some(re)) = (backrefs, &regexp) {
                template = Some(
                    pyre::parse_template(line.as_bytes(), re)
                        .map_err(|e| ParamError::new("line", format!("line: {e}")))?,
                );
            }
        }
        // Ansible compiles the marker from insertafter unless it is BOF/EOF,
        // else from insertbefore unless it is BOF.
        let marker = match (&insertafter, &insertbefore) {
            (Some(a), _) if a != "BOF" && a != "EOF" => Some(pyre::compile("insertafter", a)?),
            (None, Some(b)) if b != "BOF" => Some(pyre::compile("insertbefore", b)?),
            _ => None,
        };
        Ok(Box::new(Lineinfile {
            path: args.req_str("path")?.to_string(),
            absent,
            search: args.string("search_string").map(String::into_bytes),
            line: line.map(String::into_bytes),
            template,
            insertafter,
            insertbefore,
            marker,
            regexp,
            create: args.bool_or("create", false),
            backrefs,
            firstmatch: args.bool_or("firstmatch", false),
            backup: args.bool_or("backup", false),
            validate: content::validate_arg(&args)?,
            attrs: Attrs::from_args(&args, false)?,
        }))
    }
}

struct Lineinfile {
    path: String,
    absent: bool,
    regexp: Option<Regex>,
    search: Option<Vec<u8>>,
    line: Option<Vec<u8>>,
    /// `line` parsed as a replacement template, with `backrefs`.
    template: Option<Vec<pyre::Piece>>,
    insertafter: Option<String>,
    insertbefore: Option<String>,
    marker: Option<Regex>,
    create: bool,
    backrefs: bool,
    firstmatch: bool,
    backup: bool,
    validate: Option<String>,
    attrs: Attrs,
}

/// The edit's outcome: the new lines, whether they differ, the message.
struct Edit {
    lines: Vec<Vec<u8>>,
    changed: bool,
    msg: String,
    found: Option<usize>,
}

/// A line without its `\n`: Python's `$` matches before a final newline,
/// the `regex` crate's only at the end, so patterns see the line without it.
fn body(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

/// Python's `line.rstrip(b'\r\n')`.
fn rstrip(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|b| *b != b'\n' && *b != b'\r')
        .map_or(0, |i| i + 1);
    &line[..end]
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

fn with_newline(mut line: Vec<u8>) -> Vec<u8> {
    if !line.ends_with(b"\n") {
        line.push(b'\n');
    }
    line
}

fn truthy(s: Option<&str>) -> bool {
    s.is_some_and(|s| !s.is_empty())
}

impl Lineinfile {
    fn present(&self, mut lines: Vec<Vec<u8>>) -> Edit {
        let line = self.line.as_deref().unwrap_or_default();
        let (after, before) = match (self.insertafter.as_deref(), self.insertbefore.as_deref()) {
            (None, None) => (Some("EOF"), None),
            pair => pair,
        };
        let mut index0 = None;
        let mut index1 = None;
        let mut matched = false;
        if let Some(re) = &self.regexp {
            for (i, l) in lines.iter().enumerate() {
                if re.is_match(body(l)) {
                    (index0, matched) = (Some(i), true);
                    if self.firstmatch {
                        break;
                    }
                }
            }
        }
        if let Some(s) = &self.search {
            for (i, l) in lines.iter().enumerate() {
                if contains(l, s) {
                    (index0, matched) = (Some(i), true);
                    if self.firstmatch {
                        break;
                    }
                }
            }
        }
        if !matched {
            for (i, l) in lines.iter().enumerate() {
                if rstrip(l) == line {
                    index0 = Some(i);
                } else if self.marker.as_ref().is_some_and(|m| m.is_match(body(l))) {
                    if truthy(after) {
                        index1 = Some(i + 1);
                        if self.firstmatch {
                            break;
                        }
                    }
                    if truthy(before) {
                        index1 = Some(i);
                        if self.firstmatch {
                            break;
                        }
                    }
                }
            }
        }
        let edit = |lines: Vec<Vec<u8>>, msg: &str| Edit {
            lines,
            changed: !msg.is_empty(),
            msg: msg.to_string(),
            found: None,
        };
        if let Some(i) = index0 {
            let new_line = match (&self.template, &self.regexp) {
                (Some(t), Some(re)) if matched => re
                    .captures(body(&lines[i]))
                    .map_or_else(|| line.to_vec(), |c| pyre::expand(t, &c)),
                _ => line.to_vec(),
            };
            let new_line = with_newline(new_line);
            if lines[i] == new_line {
                return edit(lines, "");
            }
            lines[i] = new_line;
            return edit(lines, "line replaced");
        }
        // With backrefs and no match there is nothing safe to write.
        if self.backrefs {
            return edit(lines, "");
        }
        let new_line = with_newline(line.to_vec());
        if before == Some("BOF") || after == Some("BOF") {
            lines.insert(0, new_line);
            return edit(lines, "line added");
        }
        let Some(i) = index1.filter(|_| after != Some("EOF")) else {
            end_with_newline(&mut lines);
            lines.push(new_line);
            return edit(lines, "line added");
        };
        if truthy(after) && i == lines.len() {
            if rstrip(&lines[i - 1]) == line {
                return edit(lines, "");
            }
            // Ansible appends here without first ending an unterminated last
            // line, which glues the two lines together and is not
            // idempotent; tend ends it first, as Ansible's EOF case does.
            end_with_newline(&mut lines);
            lines.push(new_line);
            return edit(lines, "line added");
        }
        if truthy(after) && rstrip(&lines[i]) == line {
            return edit(lines, "");
        }
        lines.insert(i, new_line);
        edit(lines, "line added")
    }

    fn absent(&self, mut lines: Vec<Vec<u8>>) -> Edit {
        let line = self.line.as_deref().unwrap_or_default();
        let mut found = 0;
        lines.retain(|l| {
            let hit = match (&self.regexp, &self.search) {
                (Some(re), _) => re.is_match(body(l)),
                (None, Some(s)) => contains(l, s),
                (None, None) => rstrip(l) == line,
            };
            found += usize::from(hit);
            !hit
        });
        Edit {
            lines,
            changed: found > 0,
            msg: if found > 0 {
                format!("{found} line(s) removed")
            } else {
                String::new()
            },
            found: Some(found),
        }
    }
}

/// Ends an unterminated last line, as Ansible does before appending.
fn end_with_newline(lines: &mut Vec<Vec<u8>>) {
    if lines
        .last()
        .is_some_and(|l| !l.ends_with(b"\n") && !l.ends_with(b"\r"))
    {
        lines.push(b"\n".to_vec());
    }
}

impl Task for Lineinfile {
    fn probe(&self) -> Option<String> {
        // Ansible reads through symlinks and writes to the real path.
        Some(format!(
            "{}{}",
            crate::probe::INLINE,
            content::file_section("path", &self.path, true, true, None)
        ))
    }

    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        let (st, real) = Sections::parse(observed)?.file("path")?;
        let path = &self.path;
        if st.kind == Some(FileKind::Directory) {
            return Err(TaskError::new(format!("Path {path} is a directory !")));
        }
        let mut result = Map::new();
        result.insert("backup".into(), "".into());
        let exists = st.exists();
        let lines: Vec<Vec<u8>> = match &st.content {
            Some(c) => c
                .split_inclusive(|b| *b == b'\n')
                .map(<[u8]>::to_vec)
                .collect(),
            None if exists => {
                return Err(TaskError::new(format!(
                    "cannot read {path}: not a readable regular file, or larger than 8 MiB"
                )));
            }
            None if self.absent => {
                result.insert("changed".into(), false.into());
                result.insert("msg".into(), "file not present".into());
                return Ok(Plan::unchanged(result));
            }
            None if !self.create => {
                return Err(TaskError::new(format!(
                    "Destination {path} does not exist !"
                )));
            }
            None => Vec::new(),
        };
        let before = lines.concat();
        let mut edit = if self.absent {
            self.absent(lines)
        } else {
            self.present(lines)
        };
        let after = edit.lines.concat();
        let target = real.unwrap_or_else(|| path.clone());
        let mut steps = Vec::new();
        let mut diffs = Vec::new();
        let attr_header = format!("{path} (file attributes)");
        let fix = if exists {
            self.attrs.fix(&target, &attr_header, &st)?
        } else {
            None
        };
        if edit.changed {
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            diffs.push(Diff::new(
                &format!("{path} (content)"),
                text(&before),
                text(&after),
            ));
            if !exists {
                steps.push(Step::script(format!(
                    "mkdir -p -- \"$(dirname -- {})\"\n",
                    quote(&target)
                )));
            }
            let mode = self.attrs.wanted_mode(exists.then_some(st.mode))?;
            let opts = WriteOptions {
                validate: self.validate.clone(),
                backup: self.backup,
                ..self.attrs.write_options(mode)
            };
            steps.push(write::atomic_write(&target, after, &opts));
        }
        // A new file starts with the default mode; `mode` then changes it.
        let new_mode =
            !exists && edit.changed && self.attrs.wanted_mode(None)?.is_some_and(|m| m != 0o644);
        if fix.is_some() || new_mode {
            if edit.changed {
                edit.msg.push_str(" and ");
            }
            edit.msg
                .push_str("ownership, perms or SE linux context changed");
            if let Some((step, diff)) = fix {
                if !edit.changed {
                    steps.push(step);
                }
                diffs.push(diff);
            }
            edit.changed = true;
        }
        result.insert("changed".into(), edit.changed.into());
        result.insert("msg".into(), edit.msg.into());
        if let Some(found) = edit.found {
            result.insert("found".into(), found.into());
        }
        let mut plan = if edit.changed {
            Plan::change(steps, result)
        } else {
            Plan::unchanged(result)
        };
        plan.diff = diffs;
        Ok(plan)
    }

    fn finish(&self, plan: &Plan, outputs: &[StepOutput]) -> Result<Map, TaskError> {
        let mut result = plan.result.clone();
        if let Some(b) = outputs.iter().find_map(|o| write::backup_path(&o.stdout)) {
            result.insert("backup".into(), b.into());
        }
        Ok(result)
    }
}

/// Python regular expressions and replacement templates on the `regex`
/// crate: Ansible compiles `regexp` with Python's `re` on bytes, so `\w`
/// and friends are ASCII-only and `.` matches any byte but `\n`.
mod pyre {
    use crate::ParamError;
    use regex::bytes::{Captures, Regex, RegexBuilder};

    pub fn compile(param: &str, pattern: &str) -> Result<Regex, ParamError> {
        RegexBuilder::new(&translate(pattern))
            .unicode(false)
            .build()
            .map_err(|e| ParamError::new(param, format!("{param} '{pattern}' cannot be used: {e}")))
    }

    /// Rewrites the spellings Python reads differently: a `{` that starts no
    /// quantifier is a literal, `{,n}` means `{0,n}`, `\Z` is the end, `\<`
    /// and `\>` are literals, and `[`, `&`, `~` inside a class are literals.
    fn translate(p: &str) -> String {
        let chars: Vec<char> = p.chars().collect();
        let mut out = String::new();
        let mut in_class = false;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '\\' => {
                    match chars.get(i + 1) {
                        Some('Z') => out.push_str(r"\z"),
                        Some(&n @ ('<' | '>')) => out.push(n),
                        Some(&n) => {
                            out.push('\\');
                            out.push(n);
                        }
                        None => out.push('\\'),
                    }
                    i += 2;
                    continue;
                }
                '[' if in_class => out.push_str(r"\["),
                '[' => {
                    in_class = true;
                    out.push('[');
                    if chars.get(i + 1) == Some(&'^') {
                        out.push('^');
                        i += 1;
                    }
                    if chars.get(i + 1) == Some(&']') {
                        out.push_str(r"\]");
                        i += 1;
                    }
                }
                ']' if in_class => {
                    in_class = false;
                    out.push(']');
                }
                '&' | '~' if in_class => {
                    out.push('\\');
                    out.push(c);
                }
                '{' if !in_class => match quantifier(&chars[i..]) {
                    Some((q, len)) => {
                        out.push_str(&q);
                        i += len;
                        continue;
                    }
                    None => out.push_str(r"\{"),
                },
                '}' if !in_class => out.push_str(r"\}"),
                c => out.push(c),
            }
            i += 1;
        }
        out
    }

    /// A `{m,n}` quantifier at the start of `rest`, as Python's parser
    /// reads one, and its length.
    fn quantifier(rest: &[char]) -> Option<(String, usize)> {
        let end = rest.iter().position(|&c| c == '}')?;
        let inner: String = rest[1..end].iter().collect();
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        let q = match inner.split_once(',') {
            Some((lo, hi)) if digits(lo) && digits(hi) => {
                let lo = if lo.is_empty() { "0" } else { lo };
                format!("{{{lo},{hi}}}")
            }
            None if !inner.is_empty() && digits(&inner) => format!("{{{inner}}}"),
            _ => return None,
        };
        Some((q, end + 1))
    }

    /// A piece of a replacement template.
    #[derive(Debug, PartialEq)]
    pub enum Piece {
        Byte(u8),
        Group(usize),
    }

    /// Parses `line` as Python's `match.expand` does: `\1`..`\99` and
    /// `\g<name>` are groups, `\n` and friends are escapes, `\0` and three
    /// octal digits are octal, other escapes of punctuation stay as written.
    pub fn parse_template(t: &[u8], re: &Regex) -> Result<Vec<Piece>, String> {
        let octal = |b: Option<&u8>| b.is_some_and(|b| (b'0'..=b'7').contains(b));
        let group = |n: usize| {
            if n < re.captures_len() {
                Ok(Piece::Group(n))
            } else {
                Err(format!("invalid group reference {n}"))
            }
        };
        let mut out = Vec::new();
        let mut i = 0;
        while i < t.len() {
            if t[i] != b'\\' {
                out.push(Piece::Byte(t[i]));
                i += 1;
                continue;
            }
            let Some(&c) = t.get(i + 1) else {
                return Err("bad escape (end of pattern)".into());
            };
            i += 2;
            let byte = match c {
                b'g' => {
                    let rest = t.get(i..).unwrap_or_default();
                    let (Some(b'<'), Some(end)) =
                        (rest.first(), rest.iter().position(|&b| b == b'>'))
                    else {
                        return Err("missing group name in \\g<...>".into());
                    };
                    let name = String::from_utf8_lossy(&rest[1..end]).into_owned();
                    i += end + 1;
                    let ident = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    let n = if ident {
                        re.capture_names()
                            .position(|n| n == Some(name.as_str()))
                            .ok_or_else(|| format!("unknown group name '{name}'"))?
                    } else {
                        name.parse()
                            .map_err(|_| format!("bad character in group name '{name}'"))?
                    };
                    out.push(group(n)?);
                    continue;
                }
                b'0' => {
                    let mut v = 0u32;
                    for _ in 0..2 {
                        if !octal(t.get(i)) {
                            break;
                        }
                        v = v * 8 + u32::from(t[i] - b'0');
                        i += 1;
                    }
                    v as u8
                }
                b'1'..=b'9' => {
                    let mut n = usize::from(c - b'0');
                    if let Some(&d) = t.get(i).filter(|b| b.is_ascii_digit()) {
                        i += 1;
                        if c <= b'7' && d <= b'7' && octal(t.get(i)) {
                            let v = (u32::from(c - b'0') * 8 + u32::from(d - b'0')) * 8
                                + u32::from(t[i] - b'0');
                            i += 1;
                            let byte = u8::try_from(v).map_err(|_| {
                                format!("octal escape value \\{v:o} outside of range 0-0o377")
                            })?;
                            out.push(Piece::Byte(byte));
                            continue;
                        }
                        n = n * 10 + usize::from(d - b'0');
                    }
                    out.push(group(n)?);
                    continue;
                }
                b'a' => 7,
                b'b' => 8,
                b'f' => 12,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'v' => 11,
                b'\\' => b'\\',
                c if c.is_ascii_alphabetic() => {
                    return Err(format!("bad escape \\{}", c as char));
                }
                c => {
                    out.push(Piece::Byte(b'\\'));
                    c
                }
            };
            out.push(Piece::Byte(byte));
        }
        Ok(out)
    }

    /// The template with the match's groups filled in; a group that did
    /// not take part in the match is empty, as in Python 3.5+.
    pub fn expand(t: &[Piece], caps: &Captures) -> Vec<u8> {
        let mut out = Vec::new();
        for piece in t {
            match piece {
                Piece::Byte(b) => out.push(*b),
                Piece::Group(n) => {
                    out.extend_from_slice(caps.get(*n).map_or(&[][..], |m| m.as_bytes()))
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::testing::{TempDir, apply, plan, sh};
    use crate::debug::testing::FakeController;
    use crate::{Value, diff};
    use serde_json::json;

    fn task(args: Value) -> Result<Box<dyn Task>, String> {
        let map = args.as_object().cloned().unwrap_or_default();
        let args = Args::check(PARAMS, &map, false).map_err(|e| e.message)?;
        LineinfileModule
            .prepare(args, &FakeController::default())
            .map_err(|e| e.message)
    }

    fn b64(data: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..4 {
                let c = A[(n >> (18 - 6 * i) & 63) as usize] as char;
                out.push(if i <= chunk.len() { c } else { '=' });
            }
        }
        out
    }

    /// The probe's answer for a file holding `text` (mode 0644), or absent.
    fn seen(text: Option<&str>) -> String {
        match text {
            None => "== path\nabsent\nreal \n".into(),
            Some(t) => format!(
                "== path\nstat 81a4 0 0 {} 1 root root\nsha1 x\ncontent {}\nreal {}\n",
                t.len(),
                b64(t.as_bytes()),
                b64(b"/f")
            ),
        }
    }

    fn run(args: Value, text: Option<&str>) -> Result<Plan, String> {
        let obs = Observed {
            stdout: seen(text).into_bytes(),
            ..Observed::default()
        };
        task(args)?.plan(Some(&obs)).map_err(|e| e.msg)
    }

    /// The file's content after the plan (None if unchanged) and its message.
    fn edit(args: Value, text: &str) -> (Option<String>, String) {
        let p = run(args, Some(text)).unwrap();
        let after = p.steps.last().and_then(|s| s.stdin.clone());
        assert_eq!(p.changed, after.is_some(), "{p:?}");
        let msg = p.result["msg"].as_str().unwrap_or_default().to_string();
        (after.map(|a| String::from_utf8(a).unwrap()), msg)
    }

    fn added(text: &str) -> (Option<String>, String) {
        (Some(text.to_string()), "line added".to_string())
    }

    #[test]
    fn present_cases() {
        let same = || (None, String::new());
        let replaced = |t: &str| (Some(t.to_string()), "line replaced".to_string());
        let cases = [
            (json!({"line": "c"}), "a\nb\n", added("a\nb\nc\n")),
            (json!({"line": "b"}), "a\nb\n", same()),
            (json!({"line": "c"}), "a\nb", added("a\nb\nc\n")),
            (json!({"line": "c"}), "", added("c\n")),
            // The last match is replaced, or the first with firstmatch.
            (
                json!({"regexp": "^x=", "line": "x=3"}),
                "x=1\ny\nx=2\n",
                replaced("x=1\ny\nx=3\n"),
            ),
            (
                json!({"regexp": "^x=", "line": "x=3", "firstmatch": true}),
                "x=1\ny\nx=2\n",
                replaced("x=3\ny\nx=2\n"),
            ),
            (json!({"regexp": "^x=", "line": "x=3"}), "x=3\n", same()),
            (
                json!({"regexp": "^x=", "line": "x=3"}),
                "a\nx=1",
                replaced("a\nx=3\n"),
            ),
            (
                json!({"regexp": "^x=", "line": "x=3"}),
                "a\n",
                added("a\nx=3\n"),
            ),
            // Python's `$` matches before the newline; a bare `{` is a literal.
            (
                json!({"regexp": "^x$", "line": "y"}),
                "x\n",
                replaced("y\n"),
            ),
            (
                json!({"regexp": "^server {$", "line": "server { # main"}),
                "server {\n}\n",
                replaced("server { # main\n}\n"),
            ),
            // An unmatched regexp, but the line is already there: no change.
            (json!({"regexp": "^nomatch", "line": "b"}), "a\nb\n", same()),
            (
                json!({"search_string": "x=", "line": "x=3"}),
                "x=1\nx=2\n",
                replaced("x=1\nx=3\n"),
            ),
            (
                json!({"search_string": "x=", "line": "x=3", "firstmatch": true}),
                "x=1\nx=2\n",
                replaced("x=3\nx=2\n"),
            ),
            (
                json!({"insertafter": "^#", "line": "n"}),
                "#1\na\n#2\nb\n",
                added("#1\na\n#2\nn\nb\n"),
            ),
            (
                json!({"insertafter": "^#", "line": "n", "firstmatch": true}),
                "#1\na\n#2\nb\n",
                added("#1\nn\na\n#2\nb\n"),
            ),
            (
                json!({"insertafter": "^#", "line": "n"}),
                "a\n#2\n",
                added("a\n#2\nn\n"),
            ),
            (
                json!({"insertafter": "^#", "line": "n"}),
                "a\n#2",
                added("a\n#2\nn\n"),
            ),
            (
                json!({"insertafter": "^nomatch", "line": "n"}),
                "a\n",
                added("a\nn\n"),
            ),
            (json!({"insertafter": "^#", "line": "n"}), "#\nn\n", same()),
            (
                json!({"insertafter": "EOF", "line": "n"}),
                "a\n",
                added("a\nn\n"),
            ),
            (
                json!({"insertafter": "BOF", "line": "n"}),
                "a\n",
                added("n\na\n"),
            ),
            (
                json!({"insertbefore": "BOF", "line": "n"}),
                "a\n",
                added("n\na\n"),
            ),
            (
                json!({"insertbefore": "^#", "line": "n"}),
                "#1\na\n#2\n",
                added("#1\na\nn\n#2\n"),
            ),
            (
                json!({"insertbefore": "^#", "line": "n", "firstmatch": true}),
                "#1\na\n#2\n",
                added("n\n#1\na\n#2\n"),
            ),
            (
                json!({"insertbefore": "^nomatch", "line": "n"}),
                "a\n",
                added("a\nn\n"),
            ),
            // insertafter is only used when regexp finds nothing.
            (
                json!({"regexp": "^x=", "insertafter": "^#", "line": "x=2"}),
                "#\nx=1\n",
                replaced("#\nx=2\n"),
            ),
            (
                json!({"regexp": "^x=", "insertbefore": "^#", "line": "x=2"}),
                "a\n#\n",
                added("a\nx=2\n#\n"),
            ),
            // Backrefs: expanded from the match; no match means no change.
            (
                json!({"regexp": "^(host=).*", "line": "\\g<1>web", "backrefs": true}),
                "host=db\n",
                replaced("host=web\n"),
            ),
            (
                json!({"regexp": "^(?P<k>\\w+)=(\\d+)", "line": "\\g<k>: \\2\\t", "backrefs": true}),
                "port=80\n",
                replaced("port: 80\t\n"),
            ),
            (
                json!({"regexp": "^(host=).*", "line": "\\1web", "backrefs": true}),
                "other\n",
                same(),
            ),
            (
                json!({"regexp": "^(a)(x)?", "line": "\\1[\\2]", "backrefs": true}),
                "a\n",
                replaced("a[]\n"),
            ),
            // Without backrefs the line is literal.
            (
                json!({"regexp": "^host=", "line": "\\1web"}),
                "host=db\n",
                replaced("\\1web\n"),
            ),
            // Ansible rewrites a CRLF line that matches as a plain LF line.
            (json!({"line": "a"}), "a\r\nb\r\n", replaced("a\nb\r\n")),
        ];
        for (args, before, want) in cases {
            let mut args = args;
            args["path"] = json!("/f");
            assert_eq!(edit(args.clone(), before), want, "{args} on {before:?}");
        }
    }

    #[test]
    fn absent_cases() {
        let cases = [
            (json!({"regexp": "^x="}), "x=1\ny\nx=2\n", Some("y\n"), 2),
            (json!({"line": "y"}), "x\ny\ny\r\n", Some("x\n"), 2),
            (
                json!({"search_string": "=1"}),
                "x=1\ny=12\nz\n",
                Some("z\n"),
                2,
            ),
            (json!({"regexp": "^q"}), "x\n", None, 0),
        ];
        for (mut args, before, want, found) in cases {
            args["path"] = json!("/f");
            args["state"] = json!("absent");
            let p = run(args.clone(), Some(before)).unwrap();
            assert_eq!(p.result["found"], found, "{args}");
            let after = p.steps.last().and_then(|s| s.stdin.clone());
            assert_eq!(
                after.map(|a| String::from_utf8(a).unwrap()).as_deref(),
                want,
                "{args}"
            );
            if found > 0 {
                assert_eq!(p.result["msg"], format!("{found} line(s) removed"));
            }
        }
        let p = run(json!({"path": "/f", "state": "absent", "line": "x"}), None).unwrap();
        assert!(!p.changed);
        assert_eq!(p.result["msg"], "file not present");
    }

    #[test]
    fn missing_file_create_and_directory() {
        let e = run(json!({"path": "/f", "line": "x"}), None).unwrap_err();
        assert_eq!(e, "Destination /f does not exist !");
        let p = run(
            json!({"path": "/d/f", "line": "x", "create": true, "mode": "0600"}),
            None,
        )
        .unwrap();
        assert_eq!(p.steps.len(), 2);
        assert!(p.steps[0].script.contains("mkdir -p"));
        assert_eq!(p.steps[1].stdin.as_deref(), Some(&b"x\n"[..]));
        assert_eq!(
            p.result["msg"],
            "line added and ownership, perms or SE linux context changed"
        );
        // With backrefs and nothing to match, even create writes nothing.
        let p = run(
            json!({"path": "/f", "line": "x", "create": true, "regexp": "(x)", "backrefs": true}),
            None,
        )
        .unwrap();
        assert!(!p.changed);
        let obs = Observed {
            stdout: b"== path\nstat 41ed 0 0 4096 1 root root\n".to_vec(),
            ..Observed::default()
        };
        let e = task(json!({"path": "/etc", "line": "x"}))
            .unwrap()
            .plan(Some(&obs))
            .unwrap_err();
        assert_eq!(e.msg, "Path /etc is a directory !");
    }

    #[test]
    fn diff_backup_and_attributes() {
        let p = run(
            json!({"path": "/f", "line": "c", "backup": true}),
            Some("a\n"),
        )
        .unwrap();
        let d = &p.diff[0];
        let text = diff::unified(&d.before, &d.after, &d.before_header, &d.after_header);
        assert_eq!(
            text,
            "--- /f (content)\n+++ /f (content)\n@@ -1 +1,2 @@\n a\n+c\n"
        );
        assert!(p.steps[0].script.contains("backup $b"));
        assert_eq!(p.result["backup"], "");
        let mut outputs = vec![StepOutput::default()];
        outputs[0].stdout = b"backup /f.1.2024~\n".to_vec();
        let result = task(json!({"path": "/f", "line": "c"}))
            .unwrap()
            .finish(&p, &outputs)
            .unwrap();
        assert_eq!(result["backup"], "/f.1.2024~");
        // Mode alone: a chmod, no rewrite.
        let p = run(
            json!({"path": "/f", "line": "a", "mode": "0600", "owner": "root"}),
            Some("a\n"),
        )
        .unwrap();
        assert!(p.changed);
        assert_eq!(
            p.result["msg"],
            "ownership, perms or SE linux context changed"
        );
        assert!(p.steps[0].script.contains("chmod 0600 -- /f") && p.steps[0].stdin.is_none());
        assert_eq!(p.diff[0].before_header, "/f (file attributes)");
        let p = run(
            json!({"path": "/f", "line": "b", "mode": "0600"}),
            Some("a\n"),
        )
        .unwrap();
        assert_eq!(
            p.result["msg"],
            "line added and ownership, perms or SE linux context changed"
        );
        assert_eq!(p.steps.len(), 1);
        assert!(p.steps[0].script.contains("chmod 0600 \"$t\""));
    }

    #[test]
    fn parameter_errors() {
        let err = |v: Value| task(v).err().unwrap_or_default();
        assert_eq!(
            err(json!({"line": "x"})),
            "missing required parameter 'path'"
        );
        assert_eq!(
            err(json!({"dest": "/f"})),
            "line is required with state=present"
        );
        assert_eq!(
            err(json!({"path": "/f", "state": "absent"})),
            "one of line, search_string, or regexp is required with state=absent"
        );
        assert_eq!(
            err(json!({"path": "/f", "line": "x", "backrefs": true})),
            "regexp is required with backrefs=true"
        );
        assert_eq!(
            err(json!({"path": "/f", "line": "x", "insertafter": "a", "insertbefore": "b"})),
            "parameters are mutually exclusive: insertbefore|insertafter"
        );
        assert_eq!(
            err(json!({"path": "/f", "line": "x", "regexp": "a", "search_string": "b"})),
            "parameters are mutually exclusive: regexp|search_string"
        );
        assert_eq!(
            err(json!({"path": "/f", "line": "x", "search_string": "a", "backrefs": false})),
            "parameters are mutually exclusive: backrefs|search_string"
        );
        assert!(
            err(json!({"path": "/f", "line": "x", "regexp": "(a"}))
                .starts_with("regexp '(a' cannot be used")
        );
        assert!(
            err(json!({"path": "/f", "line": "x", "insertafter": "(?<=a)b"}))
                .starts_with("insertafter")
        );
        assert_eq!(
            err(json!({"path": "/f", "line": "\\2", "regexp": "(a)", "backrefs": true})),
            "line: invalid group reference 2"
        );
        assert_eq!(
            err(json!({"path": "/f", "line": "\\q", "regexp": "(a)", "backrefs": true})),
            "line: bad escape \\q"
        );
        assert!(
            err(json!({"path": "/f", "line": "x", "validate": "true"}))
                .contains("validate must contain %s")
        );
        assert!(
            err(json!({"path": "/f", "line": "x", "state": "gone"})).contains("must be one of")
        );
        assert!(
            task(json!({"name": "/f", "value": "x", "regex": "^x", "backrefs": false, "firstmatch": true})).is_ok()
        );
    }

    #[test]
    fn python_regex_translation() {
        let m = |p: &str, s: &str| pyre::compile("regexp", p).unwrap().is_match(s.as_bytes());
        assert!(m("a{", "a{") && m("^x{2}$", "xx") && m("^x{,2}$", "xx") && m("{}", "{}"));
        assert!(m("a\\Z", "a") && !m("a\\Z", "ab") && m("\\<a\\>", "<a>"));
        assert!(m("[[]", "[") && m("[]a]", "]") && m("[&~]", "~") && m("é", "é"));
        assert!(!m("^\\w$", "é"), "\\w is ASCII-only on bytes, as in Python");
        let re = pyre::compile("regexp", "(a)").unwrap();
        let t = pyre::parse_template(b"\\0\\101\\.\\\\\\g<0>", &re).unwrap();
        let caps = re.captures(b"a").unwrap();
        assert_eq!(pyre::expand(&t, &caps), b"\0A\\.\\a");
    }

    #[test]
    fn real_shell_edits_are_idempotent() {
        let dir = TempDir::new("lineinfile");
        let path = dir.path("sub/app.conf");
        let t = task(json!({"path": path, "line": "port=8080", "regexp": "^port=", "create": true, "mode": "0640", "backup": true})).unwrap();
        let (p, result) = apply(t.as_ref());
        assert!(p.changed);
        assert_eq!(result["backup"], "", "nothing to back up in a new file");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "port=8080\n");
        assert!(!plan(t.as_ref()).changed);
        std::fs::write(&path, "# app\nport=80\nhost=a\n").unwrap();
        let (p, result) = apply(t.as_ref());
        assert_eq!(p.result["msg"], "line replaced");
        let backup = result["backup"].as_str().unwrap().to_string();
        assert_eq!(
            std::fs::read_to_string(backup).unwrap(),
            "# app\nport=80\nhost=a\n"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "# app\nport=8080\nhost=a\n"
        );
        assert!(!plan(t.as_ref()).changed);
        let mode = sh(&format!("stat -c %a '{path}'"), None).stdout;
        assert_eq!(String::from_utf8_lossy(&mode).trim(), "640");
        // Removal, through a symlink that stays a symlink.
        let link = dir.path("link.conf");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let t = task(json!({"path": link, "regexp": "^(port|host)=", "state": "absent"})).unwrap();
        let (p, _) = apply(t.as_ref());
        assert_eq!(p.result["found"], 2);
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# app\n");
        let p = plan(t.as_ref());
        assert!(!p.changed && p.result["found"] == 0);
        // Through a linked directory: the file in the real one is edited,
        // and the link stays a link.
        let linked = dir.path("linked");
        std::os::unix::fs::symlink(dir.path("sub"), &linked).unwrap();
        let t = task(json!({"path": format!("{linked}/app.conf"), "line": "x=1"})).unwrap();
        assert!(apply(t.as_ref()).0.changed);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# app\nx=1\n");
        assert!(std::fs::symlink_metadata(&linked).unwrap().is_symlink());
        assert!(!plan(t.as_ref()).changed);
    }
}
