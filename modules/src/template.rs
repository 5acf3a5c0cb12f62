//! `template`: renders a Jinja2 template from the playbook's `templates/`
//! on the controller, with the host's variables, and puts the result on the
//! host exactly as `copy` with `content` would (`content.rs`), except that a
//! directory `dest` receives the file under the template's name.

use crate::content::{self, ContentTask, Source};
use crate::{Args, Controller, Kind, Module, Param, ParamError, Task, TemplateFile};

pub struct TemplateModule;

const PARAMS: &[Param] = &[
    Param::new("src", Kind::Str).required(),
    Param::new("dest", Kind::Str).required(),
    Param::new("mode", Kind::Mode),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
    Param::new("backup", Kind::Bool),
    Param::new("force", Kind::Bool),
    Param::new("validate", Kind::Str),
    Param::new("follow", Kind::Bool),
    Param::new("unsafe_writes", Kind::Bool),
    Param::new("newline_sequence", Kind::Str),
    Param::new("trim_blocks", Kind::Bool),
    Param::new("lstrip_blocks", Kind::Bool),
    Param::new("output_encoding", Kind::Str),
    Param::new("variable_start_string", Kind::Str),
    Param::new("variable_end_string", Kind::Str),
    Param::new("block_start_string", Kind::Str),
    Param::new("block_end_string", Kind::Str),
    Param::new("comment_start_string", Kind::Str),
    Param::new("comment_end_string", Kind::Str),
    Param::new("attributes", Kind::Str).aliases(&["attr"]),
    Param::new("seuser", Kind::Str),
    Param::new("serole", Kind::Str),
    Param::new("setype", Kind::Str),
    Param::new("selevel", Kind::Str),
];

/// Jinja settings tend renders with: Ansible's defaults. Other values are
/// refused rather than silently rendered differently.
const DEFAULT_STRINGS: &[(&str, &str)] = &[
    ("variable_start_string", "{{"),
    ("variable_end_string", "}}"),
    ("block_start_string", "{%"),
    ("block_end_string", "%}"),
    ("comment_start_string", "{#"),
    ("comment_end_string", "#}"),
];

impl Module for TemplateModule {
    fn name(&self) -> &'static str {
        "template"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn prepare(&self, args: Args, ctx: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        content::reject_unsupported(&args, crate::copy::UNSUPPORTED)?;
        for (name, default) in DEFAULT_STRINGS {
            if args.str(name).is_some_and(|v| v != *default) {
                return Err(unsupported(name, &format!("other than '{default}'")));
            }
        }
        if args.bool("trim_blocks") == Some(false) {
            return Err(unsupported("trim_blocks", "false"));
        }
        if args.bool("lstrip_blocks") == Some(true) {
            return Err(unsupported("lstrip_blocks", "true"));
        }
        if let Some(enc) = args.str("output_encoding") {
            let norm = enc.to_ascii_lowercase().replace(['-', '_'], "");
            if norm != "utf8" {
                return Err(unsupported("output_encoding", enc));
            }
        }
        let newline = newline_sequence(args.str("newline_sequence"))?;
        let src = args.req_str("src")?;
        let raw = ctx
            .read_src(src, "templates")
            .map_err(|e| ParamError::new("src", format!("could not read template '{src}': {e}")))?;
        let text = String::from_utf8(raw)
            .map_err(|_| ParamError::new("src", format!("template '{src}' is not UTF-8")))?;
        // Jinja turns every newline of the template's text into
        // `newline_sequence`; tend renders with `\n` and converts after.
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let dest = args.req_str("dest")?;
        let file = TemplateFile {
            src,
            dest,
            text: &text,
        };
        let mut rendered = ctx.render_template(&file).map_err(|e| {
            ParamError::new("src", format!("could not render template '{src}': {e}"))
        })?;
        if newline != "\n" {
            rendered = rendered.replace('\n', newline);
        }
        let basename = src.rsplit('/').next().unwrap_or(src).to_string();
        let source = Source::Bytes(rendered.into_bytes());
        Ok(Box::new(ContentTask::new(&args, source, Some(basename))?))
    }
}

fn unsupported(name: &str, value: &str) -> ParamError {
    ParamError::new(name, format!("{name} {value} is not supported by tend yet"))
}

/// Ansible accepts the sequence itself or its escaped spelling (`'\r\n'`
/// in single quotes, as most playbooks write it).
fn newline_sequence(given: Option<&str>) -> Result<&'static str, ParamError> {
    match given {
        None | Some("\n") | Some("\\n") => Ok("\n"),
        Some("\r") | Some("\\r") => Ok("\r"),
        Some("\r\n") | Some("\\r\\n") => Ok("\r\n"),
        Some(_) => Err(ParamError::new(
            "newline_sequence",
            "newline_sequence needs to be one of: \\n, \\r or \\r\\n",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::testing::{TempDir, apply, plan};
    use crate::{Controller, Map, Observed, Value};
    use serde_json::json;

    /// Renders `{{ name }}` from its variables, and a template file's
    /// `{{ template_path }}`/`{{ template_destpath }}`, enough to see
    /// rendering happen.
    struct Ctl(Map);

    impl Controller for Ctl {
        fn read_src(&self, path: &str, subdir: &str) -> Result<Vec<u8>, String> {
            assert_eq!(subdir, "templates");
            self.0
                .get(path)
                .and_then(Value::as_str)
                .map(|s| s.as_bytes().to_vec())
                .ok_or_else(|| format!("could not find '{path}'"))
        }
        fn render(&self, text: &str) -> Result<String, String> {
            if text.contains("{{ broken") {
                return Err("unexpected end of template".into());
            }
            Ok(text.replace("{{ name }}", "web1"))
        }
        fn render_template(&self, file: &TemplateFile<'_>) -> Result<String, String> {
            Ok(self
                .render(file.text)?
                .replace("{{ template_path }}", file.src)
                .replace("{{ template_destpath }}", file.dest))
        }
        fn eval(&self, _: &str) -> Result<Value, String> {
            Err("unused".into())
        }
        fn check_mode(&self) -> bool {
            false
        }
    }

    fn task(args: Value) -> Result<Box<dyn Task>, String> {
        let files = json!({
            "motd.j2": "host {{ name }}\r\n",
            "bad.j2": "{{ broken",
            "bin.j2": "x",
            "where.j2": "{{ template_path }} to {{ template_destpath }}\n",
        });
        let ctx = Ctl(files.as_object().cloned().unwrap_or_default());
        let map = args.as_object().cloned().unwrap_or_default();
        let args = Args::check(PARAMS, &map, false).map_err(|e| e.message)?;
        TemplateModule.prepare(args, &ctx).map_err(|e| e.message)
    }

    fn run(args: Value, out: &str) -> crate::Plan {
        let obs = Observed {
            stdout: out.as_bytes().to_vec(),
            ..Observed::default()
        };
        task(args).unwrap().plan(Some(&obs)).unwrap()
    }

    #[test]
    fn renders_and_writes_like_copy() {
        let p = run(
            json!({"src": "motd.j2", "dest": "/etc/motd", "mode": "0644"}),
            "== dest\nabsent\n== inner\nabsent\n== dirs\nnone\ndir\n",
        );
        assert!(p.changed);
        assert_eq!(p.steps[0].stdin.as_deref(), Some(&b"host web1\n"[..]));
        assert_eq!(p.diff[0].after, "host web1\n");
        assert_eq!(p.result["checksum"], content::sha1_hex(b"host web1\n"));
        assert!(p.steps[0].script.contains("chmod 0644 \"$t\""));
    }

    #[test]
    fn unchanged_when_rendered_content_is_there() {
        let sum = content::sha1_hex(b"host web1\n");
        let out = format!(
            "== dest\nstat 81a4 0 0 10 1 root root\nsha1 {sum}\n== inner\nabsent\n== dirs\nnone\ndir\n"
        );
        let p = run(json!({"src": "motd.j2", "dest": "/etc/motd"}), &out);
        assert!(!p.changed && p.steps.is_empty());
        assert_eq!(p.result["dest"], "/etc/motd");
    }

    #[test]
    fn the_template_is_told_its_src_and_dest() {
        let p = run(
            json!({"src": "where.j2", "dest": "/etc/where"}),
            "== dest\nabsent\n== inner\nabsent\n== dirs\nnone\ndir\n",
        );
        assert_eq!(p.diff[0].after, "where.j2 to /etc/where\n");
    }

    #[test]
    fn directory_dest_gets_the_template_name() {
        let out = "== dest\nstat 41ed 0 0 4096 1 root root\n== inner\nabsent\n== dirs\ndir\ndir\n";
        let p = run(json!({"src": "motd.j2", "dest": "/etc"}), out);
        assert_eq!(p.result["dest"], "/etc/motd.j2");
    }

    #[test]
    fn newline_sequence_crlf() {
        let p = run(
            json!({"src": "motd.j2", "dest": "/m", "newline_sequence": "\\r\\n"}),
            "== dest\nabsent\n== inner\nabsent\n== dirs\nnone\ndir\n",
        );
        assert_eq!(p.steps[0].stdin.as_deref(), Some(&b"host web1\r\n"[..]));
    }

    #[test]
    fn parameter_errors() {
        let err = |v| task(v).err().unwrap_or_default();
        assert_eq!(
            err(json!({"dest": "/m"})),
            "missing required parameter 'src'"
        );
        assert!(
            err(json!({"src": "nope.j2", "dest": "/m"}))
                .contains("could not read template 'nope.j2'")
        );
        assert!(
            err(json!({"src": "bad.j2", "dest": "/m"}))
                .contains("could not render template 'bad.j2'")
        );
        assert!(
            err(json!({"src": "motd.j2", "dest": "/m", "lstrip_blocks": true}))
                .contains("not supported")
        );
        assert!(
            err(json!({"src": "motd.j2", "dest": "/m", "trim_blocks": false}))
                .contains("not supported")
        );
        assert!(
            err(json!({"src": "motd.j2", "dest": "/m", "variable_start_string": "[%"}))
                .contains("not supported")
        );
        assert!(
            err(json!({"src": "motd.j2", "dest": "/m", "output_encoding": "latin-1"}))
                .contains("not supported")
        );
        assert!(
            err(json!({"src": "motd.j2", "dest": "/m", "newline_sequence": "x"}))
                .contains("newline_sequence")
        );
        assert!(err(json!({"src": "motd.j2", "dest": "/m", "validate": "true"})).contains("%s"));
        assert!(task(json!({"src": "motd.j2", "dest": "/m", "trim_blocks": true, "output_encoding": "UTF-8", "variable_start_string": "{{"})).is_ok());
    }

    #[test]
    fn real_shell_template_then_idempotent() {
        let dir = TempDir::new("template");
        let dest = dir.path("motd");
        let t = task(json!({"src": "motd.j2", "dest": dest, "owner": whoami(), "validate": "grep -q web1 %s"})).unwrap();
        let (p, result) = apply(t.as_ref());
        assert!(p.changed);
        assert_eq!(std::fs::read(&dest).unwrap(), b"host web1\n");
        assert_eq!(result["owner"], whoami());
        assert!(!plan(t.as_ref()).changed);
        // A failing validation leaves the file as it was.
        std::fs::write(&dest, "before\n").unwrap();
        let t = task(json!({"src": "motd.j2", "dest": dest, "validate": "false %s"})).unwrap();
        let p = plan(t.as_ref());
        let out = crate::content::testing::sh(&p.steps[0].script, p.steps[0].stdin.as_deref());
        assert_ne!(out.rc, 0);
        assert_eq!(std::fs::read(&dest).unwrap(), b"before\n");
    }

    fn whoami() -> String {
        let out = crate::content::testing::sh("id -un", None);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}
