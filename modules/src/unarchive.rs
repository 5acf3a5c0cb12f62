//! `unarchive` with the archive on the controller (`remote_src: false`,
//! the default): a tar or tar.gz from the playbook's `files/` is listed
//! here (`unarchive/tar.rs`), a read-only probe describes what is under
//! `dest` where its members go (one `find` over the archive's top-level
//! names), and the plan extracts only when a member is missing or differs
//! in type, size, mtime, link target, or — as root, or when asked for —
//! mode and owner (what GNU `tar --diff` reports to Ansible). The step
//! streams the archive on stdin into a temporary file (a cut transfer is
//! never extracted) and runs the host's `tar -x`, then applies `owner`,
//! `group` and `mode` to every member, as Ansible does.
//!
//! Differences from Ansible: `--check` tells what would change (Ansible
//! skips gzipped tars in check mode); file contents are not compared, only
//! their size and mtime; zip, bzip2, xz and zstd archives and
//! `remote_src: true` are not supported yet.

mod compare;
mod tar;

use crate::shell::EXIT_ON_SIGNALS;
use crate::shell::quote;
use crate::{
    Args, Controller, Kind, Map, Module, Observed, Param, ParamError, Plan, Step, Task, TaskError,
    Value,
};
use compare::Tree;
use tar::Format;

pub struct UnarchiveModule;

const PARAMS: &[Param] = &[
    Param::new("src", Kind::Str).required(),
    Param::new("dest", Kind::Str).required(),
    Param::new("remote_src", Kind::Bool),
    Param::new("copy", Kind::Bool),
    Param::new("creates", Kind::Str),
    Param::new("list_files", Kind::Bool),
    Param::new("keep_newer", Kind::Bool),
    Param::new("exclude", Kind::List),
    Param::new("include", Kind::List),
    Param::new("extra_opts", Kind::List),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
    Param::new("mode", Kind::Mode),
    Param::new("decrypt", Kind::Bool),
    Param::new("validate_certs", Kind::Bool),
    Param::new("io_buffer_size", Kind::Int),
];

impl Module for UnarchiveModule {
    fn name(&self) -> &'static str {
        "unarchive"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn prepare(&self, args: Args, ctx: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        Ok(Box::new(prepare(&args, ctx)?))
    }
}

/// A member as it should end up under `dest`.
pub(crate) struct Entry {
    /// Relative to `dest`, normalized (`.` is `dest` itself).
    rel: String,
    member: tar::Member,
}

struct Unarchive {
    src: String,
    dest: String,
    archive: Vec<u8>,
    format: Format,
    entries: Vec<Entry>,
    /// Archive names as stored, for `list_files`.
    names: Vec<String>,
    creates: Option<String>,
    list_files: bool,
    keep_newer: bool,
    exclude: Vec<String>,
    include: Vec<String>,
    extra_opts: Vec<String>,
    owner: Option<String>,
    group: Option<String>,
    mode: Option<String>,
}

fn prepare(args: &Args, ctx: &dyn Controller) -> Result<Unarchive, ParamError> {
    let remote = match (args.bool("remote_src"), args.bool("copy")) {
        (Some(_), Some(_)) => {
            return Err(ParamError::general(
                "parameters are mutually exclusive: ('copy', 'remote_src')",
            ));
        }
        (Some(r), None) => r,
        (None, Some(copy)) => !copy,
        (None, None) => false,
    };
    if remote {
        return Err(ParamError::new(
            "remote_src",
            "remote_src: true (an archive already on the host) is not supported by tend yet",
        ));
    }
    if args.has("include") && args.has("exclude") {
        return Err(ParamError::general(
            "parameters are mutually exclusive: include|exclude",
        ));
    }
    let src = args.req_str("src")?.to_string();
    if src.contains("://") {
        return Err(ParamError::new(
            "src",
            format!(
                "Unsupported option, an URI src ({src}) is only supported when remote_src is True"
            ),
        ));
    }
    let dest = args.req_str("dest")?.trim_end_matches('/').to_string();
    let dest = if dest.is_empty() {
        "/".to_string()
    } else {
        dest
    };
    let archive = ctx
        .read_src(&src, "files")
        .map_err(|e| ParamError::new("src", format!("could not read src '{src}': {e}")))?;
    if archive.is_empty() {
        return Err(ParamError::new(
            "src",
            format!("Invalid archive '{src}', the file is 0 bytes"),
        ));
    }
    let no_handler = |why: String| {
        ParamError::new(
            "src",
            format!("Failed to find handler for \"{src}\": {why}"),
        )
    };
    let format = tar::detect(&archive).map_err(no_handler)?;
    let members = tar::list(&archive, format).map_err(no_handler)?;
    let extra_opts = args.strings("extra_opts").unwrap_or_default();
    let strip =
        compare::strip_components(&extra_opts).map_err(|e| ParamError::new("extra_opts", e))?;
    let exclude = args.strings("exclude").unwrap_or_default();
    let include = args.strings("include").unwrap_or_default();
    let names: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
    let entries = compare::entries(members, strip, &exclude, &include)
        .map_err(|e| ParamError::new("src", format!("the archive '{src}' {e}")))?;
    if entries.is_empty() {
        return Err(no_handler(
            "found no files in archive. Empty archive files are not supported.".into(),
        ));
    }
    Ok(Unarchive {
        src,
        dest,
        archive,
        format,
        entries,
        names,
        creates: args.string("creates").filter(|c| !c.is_empty()),
        list_files: args.bool_or("list_files", false),
        keep_newer: args.bool_or("keep_newer", false),
        exclude,
        include,
        extra_opts,
        owner: args.string("owner").filter(|o| !o.is_empty()),
        group: args.string("group").filter(|g| !g.is_empty()),
        mode: args.string("mode"),
    })
}

impl Task for Unarchive {
    fn probe(&self) -> Option<String> {
        let mut s = String::new();
        if let Some(c) = &self.creates {
            s.push_str(&format!(
                "if [ -e {} ]; then echo creates; exit 0; fi\n",
                quote(c)
            ));
        }
        let tops = compare::top_names(&self.entries)
            .iter()
            .map(|t| quote(&format!("./{t}")))
            .collect::<Vec<_>>()
            .join(" ");
        let fmt = compare::FIND_FORMAT;
        // dest itself, then everything under the archive's top-level names
        // (only those: dest may hold much else).
        let under = if tops.is_empty() {
            String::new()
        } else {
            format!(" find {tops} -printf '{fmt}';")
        };
        s.push_str(&format!(
            "cd -- {} 2>/dev/null && [ -d . ] || {{ echo nodest; exit 0; }}\n\
             echo \"who $(id -u) $(umask)\"\n\
             printf 'tree '; {{ find . -maxdepth 0 -printf '{fmt}';{under} }} 2>/dev/null | base64 -w0; echo\n",
            quote(&self.dest),
        ));
        Some(s)
    }

    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        let obs = observed.ok_or_else(|| TaskError::new("unarchive: no probe output to read"))?;
        let text = std::str::from_utf8(&obs.stdout).map_err(|_| {
            TaskError::new("could not read the host's answer to unarchive's probe: not UTF-8")
        })?;
        match text.lines().next() {
            Some("creates") => {
                let c = self.creates.as_deref().unwrap_or("");
                return Ok(Plan {
                    skipped: Some(format!("skipped, since {c} exists")),
                    ..Plan::default()
                });
            }
            Some("nodest") => {
                return Err(TaskError::new(format!(
                    "dest '{}' must be an existing dir",
                    self.dest
                )));
            }
            _ => {}
        }
        let tree = Tree::read(text)?;
        let expect = compare::Expect {
            root: tree.uid == 0,
            umask: tree.umask,
            owner: self.owner.as_deref(),
            group: self.group.as_deref(),
            mode: self.mode.as_deref(),
            keep_newer: self.keep_newer,
        };
        let differ = compare::differences(&self.entries, &tree, &expect).map_err(TaskError::new)?;
        let mut result = self.result();
        if let Some(info) = tree.get(".") {
            compare::dest_info(info, &mut result);
        }
        if differ.is_empty() {
            return Ok(Plan::unchanged(result));
        }
        let (cmd, step) = self.step();
        result.insert(
            "extract_results".into(),
            serde_json::json!({"cmd": cmd, "err": "", "out": "", "rc": 0}),
        );
        let diff = compare::diff(&self.dest, &differ);
        Ok(Plan::change(vec![step], result).with_diff(diff))
    }
}

impl Unarchive {
    fn result(&self) -> Map {
        let mut r = Map::new();
        r.insert("dest".into(), self.dest.clone().into());
        r.insert("src".into(), self.src.clone().into());
        r.insert("handler".into(), self.format.handler().into());
        if self.list_files {
            let files = self.names.iter().cloned().map(Value::String).collect();
            r.insert("files".into(), Value::Array(files));
        }
        r
    }

    /// The extraction step, and its tar command line as Ansible reports it.
    fn step(&self) -> (Vec<String>, Step) {
        let mut tar = vec![
            "tar".to_string(),
            "--extract".into(),
            "-C".into(),
            self.dest.clone(),
        ];
        if self.format == Format::Gzip {
            tar.push("-z".into());
        }
        if !self.extra_opts.is_empty() {
            tar.push("--show-transformed-names".into());
            tar.extend(self.extra_opts.iter().cloned());
        }
        if self.keep_newer {
            tar.push("--keep-newer-files".into());
        }
        tar.extend(self.exclude.iter().map(|e| format!("--exclude={e}")));
        tar.push("-f".into());
        let mut list = tar.clone();
        list[1] = "--list".into();
        list.push("\"$t\"".into());
        tar.push("\"$t\"".into());
        let include: Vec<String> = self.include.iter().map(|i| quote(i)).collect();
        let words = |cmd: &[String]| {
            cmd.iter()
                .map(|w| if w == "\"$t\"" { w.clone() } else { quote(w) })
                .chain(include.iter().cloned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut s = format!(
            "set -e\nt=$(mktemp)\ntrap 'rm -f \"$t\"' EXIT\n{EXIT_ON_SIGNALS}cat > \"$t\"\n\
             want={size}\ngot=$(stat -c %s -- \"$t\")\n\
             if [ \"$got\" != \"$want\" ]; then echo \"incomplete transfer: $got of $want bytes arrived; nothing was extracted\" >&2; exit 1; fi\n\
             {extract}\n",
            size = self.archive.len(),
            extract = words(&tar),
        );
        // owner, group and mode apply to every member, as Ansible's
        // set_fs_attributes_if_different does after extracting; symlinks
        // keep their mode (chmod would follow them).
        let listing = format!("{} --quoting-style=literal | sed 's#/$##'", words(&list));
        let owner = self.owner.as_deref().unwrap_or("");
        let group = self.group.as_deref().unwrap_or("");
        if !owner.is_empty() || !group.is_empty() {
            let spec = if group.is_empty() {
                owner.to_string()
            } else {
                format!("{owner}:{group}")
            };
            s.push_str(&format!(
                "cd -- {dest}\n{listing} | xargs -r -d '\\n' chown -h -- {spec}\n",
                dest = quote(&self.dest),
                spec = quote(&spec)
            ));
        }
        if let Some(mode) = &self.mode {
            s.push_str(&format!(
                "cd -- {dest}\n{listing} | while IFS= read -r f; do [ -L \"$f\" ] || printf '%s\\n' \"$f\"; done | xargs -r -d '\\n' chmod -- {mode}\n",
                dest = quote(&self.dest),
                mode = quote(mode)
            ));
        }
        let step = Step::script(s).with_stdin(self.archive.clone());
        let mut cmd = tar;
        let last = cmd.len() - 1;
        cmd[last] = self.src.clone();
        cmd.extend(self.include.iter().cloned());
        (cmd, step)
    }
}

#[cfg(test)]
mod tests;
