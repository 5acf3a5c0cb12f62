//! `command` and `shell`: run a program on the host, as Ansible's modules do.
//!
//! `command` never goes through a shell: its string is split into words here,
//! the way Python's `shlex.split` does, and each word is quoted for `/bin/sh`,
//! so pipes, `>`, `;` and globs reach the program literally. The one thing
//! Ansible does expand is `expand_argument_vars` (on by default): `$VAR` and
//! `${VAR}` when the variable is set on the host (left as written when not,
//! unlike a shell) and a leading `~`. Those values live on the host, so the
//! step script asks sh for exactly those and nothing else. `shell` hands its
//! string to `/bin/sh -c` (or `executable`).
//!
//! `creates`/`removes` (glob patterns, relative to `chdir`) are checked by a
//! read-only probe, so a converged host never runs the command. Ansible's
//! path parameters get `~`/`$VAR` expansion on the host too; here that
//! follows sh's idea of a set variable, which also counts sh's own (`$PWD`
//! after `chdir`, `$PPID`), a difference only a contrived task would notice.

use crate::shell::quote;
use crate::{
    Args, CheckMode, Controller, Kind, Map, Module, Observed, Param, ParamError, Plan, Step,
    StepOutput, Task, TaskError, Value,
};

pub struct CommandModule;
pub struct ShellModule;

const COMMAND_PARAMS: &[Param] = &[
    Param::new("_raw_params", Kind::Str),
    Param::new("cmd", Kind::Str),
    Param::new("argv", Kind::List),
    Param::new("chdir", Kind::Str),
    Param::new("creates", Kind::Str),
    Param::new("removes", Kind::Str),
    Param::new("stdin", Kind::Str),
    Param::new("stdin_add_newline", Kind::Bool),
    Param::new("strip_empty_ends", Kind::Bool),
    Param::new("expand_argument_vars", Kind::Bool),
    // Ansible still accepts it (the free-form `executable=` word) and
    // ignores it with a warning; rejecting it would break such playbooks.
    Param::new("executable", Kind::Str),
];

// Ansible's shell runs command's code, so it also takes `strip_empty_ends`;
// its action plugin rejects `expand_argument_vars`, and `argv` is not
// documented for it.
const SHELL_PARAMS: &[Param] = &[
    Param::new("_raw_params", Kind::Str),
    Param::new("cmd", Kind::Str),
    Param::new("chdir", Kind::Str),
    Param::new("creates", Kind::Str),
    Param::new("removes", Kind::Str),
    Param::new("executable", Kind::Str),
    Param::new("stdin", Kind::Str),
    Param::new("stdin_add_newline", Kind::Bool),
    Param::new("strip_empty_ends", Kind::Bool),
];

impl Module for CommandModule {
    fn name(&self) -> &'static str {
        "command"
    }
    fn params(&self) -> &'static [Param] {
        COMMAND_PARAMS
    }
    fn free_form(&self) -> bool {
        true
    }
    fn prepare(&self, args: Args, ctx: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        Ok(Box::new(CommandTask::new(&args, ctx, false)?))
    }
}

impl Module for ShellModule {
    fn name(&self) -> &'static str {
        "shell"
    }
    fn params(&self) -> &'static [Param] {
        SHELL_PARAMS
    }
    fn free_form(&self) -> bool {
        true
    }
    fn prepare(&self, args: Args, ctx: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        Ok(Box::new(CommandTask::new(&args, ctx, true)?))
    }
}

/// What runs: words exec'd without a shell, or a string for a shell.
#[derive(Debug)]
enum Program {
    Words { words: Vec<String>, expand: bool },
    Shell { script: String, executable: String },
}

impl Program {
    /// The program from exactly one of `_raw_params`, `cmd` and `argv`.
    fn from_args(args: &Args, shell: bool) -> Result<Program, ParamError> {
        let expand = args.bool_or("expand_argument_vars", true);
        let raw = args.str("_raw_params").map(|s| ("_raw_params", s));
        let cmd = args.str("cmd").map(|s| ("cmd", s));
        let (source, words) = match (raw, cmd, args.strings("argv")) {
            (Some((source, text)), None, None) | (None, Some((source, text)), None) => {
                if text.trim().is_empty() {
                    return Err(no_command(shell));
                }
                if shell {
                    let executable = args.str("executable").unwrap_or("/bin/sh");
                    return Ok(Program::Shell {
                        script: text.to_string(),
                        executable: executable.to_string(),
                    });
                }
                let words = shlex_split(text).map_err(|e| {
                    ParamError::new(source, format!("cannot split the command into words: {e}"))
                })?;
                (source, words)
            }
            (None, None, Some(argv)) if !argv.is_empty() => ("argv", argv),
            (None, None, _) => return Err(no_command(shell)),
            (_, _, argv) => {
                let which = if shell {
                    "a free-form command and 'cmd'"
                } else {
                    "a free-form command, 'cmd' and 'argv'"
                };
                return Err(ParamError::new(
                    if argv.is_some() { "argv" } else { "cmd" },
                    format!("only one of {which} can be given, not several"),
                ));
            }
        };
        // A program's arguments are C strings; Python refuses these too.
        if words.iter().any(|w| w.contains('\0')) {
            return Err(ParamError::new(source, "the command contains a NUL byte"));
        }
        Ok(Program::Words { words, expand })
    }
}

#[derive(Debug)]
struct CommandTask {
    program: Program,
    chdir: Option<String>,
    creates: Option<String>,
    removes: Option<String>,
    stdin: Option<Vec<u8>>,
    strip: bool,
    /// Ansible words its skip message "Would not run" under `--check`.
    check_run: bool,
    /// Fields every result carries: `cmd`, and `warnings` when there are any.
    base: Map,
}

impl CommandTask {
    fn new(args: &Args, ctx: &dyn Controller, shell: bool) -> Result<CommandTask, ParamError> {
        let program = Program::from_args(args, shell)?;
        let mut base = Map::new();
        match &program {
            Program::Words { words, .. } => {
                let cmd = words.iter().cloned().map(Value::String).collect();
                base.insert("cmd".into(), Value::Array(cmd));
                if let Some(exe) = args.str("executable") {
                    let warning = format!(
                        "As of Ansible 2.4, the parameter 'executable' is no longer \
                         supported with the 'command' module. Not using '{exe}'."
                    );
                    base.insert("warnings".into(), Value::Array(vec![warning.into()]));
                }
            }
            Program::Shell { script, .. } => {
                base.insert("cmd".into(), Value::String(script.clone()));
            }
        }
        // Ansible sends stdin only when it is non-empty.
        let stdin = args.str("stdin").filter(|s| !s.is_empty()).map(|s| {
            let mut bytes = s.as_bytes().to_vec();
            if args.bool_or("stdin_add_newline", true) {
                bytes.push(b'\n');
            }
            bytes
        });
        // Ansible tests these with `if creates:`, so an empty string is unset.
        let path = |name: &str| args.string(name).filter(|s| !s.is_empty());
        Ok(CommandTask {
            program,
            chdir: path("chdir"),
            creates: path("creates"),
            removes: path("removes"),
            stdin,
            strip: args.bool_or("strip_empty_ends", true),
            check_run: ctx.check_mode(),
            base,
        })
    }

    fn step(&self) -> Step {
        let mut script = String::new();
        if let Some(dir) = &self.chdir {
            script.push_str(&format!("cd -- {} && ", sh_word(dir, true, false)));
        }
        script.push_str("exec ");
        match &self.program {
            Program::Words { words, expand } => {
                let words: Vec<String> = words.iter().map(|w| sh_word(w, *expand, false)).collect();
                script.push_str(&words.join(" "));
            }
            Program::Shell {
                script: s,
                executable,
            } => {
                script.push_str(&format!("{} -c {}", quote(executable), quote(s)));
            }
        }
        match &self.stdin {
            Some(bytes) => Step::script(script).with_stdin(bytes.clone()),
            // Ansible's command reads an empty, closed stdin; without this a
            // `cat` would wait on whatever the engine's channel holds.
            None => Step::script(script + " </dev/null"),
        }
        .unchecked()
        .on_own_channel()
    }

    /// The result of a run that did not happen, with Ansible's fields.
    fn not_run(&self, stdout: String, msg: String) -> Map {
        let mut result = self.base.clone();
        result.insert("rc".into(), Value::from(0));
        result.insert("stdout_lines".into(), lines_value(&stdout));
        result.insert("stdout".into(), Value::String(stdout));
        result.insert("stderr".into(), Value::String(String::new()));
        result.insert("stderr_lines".into(), Value::Array(Vec::new()));
        result.insert("msg".into(), Value::String(msg));
        result
    }

    /// Ansible's command module runs the program itself: one that cannot be
    /// started (missing, not executable) is an error that changed nothing,
    /// rc 2, not a run that exited non-zero.
    fn could_not_execute(&self, mut result: Map) -> TaskError {
        let msg = "Error executing command.";
        result.insert("rc".into(), Value::from(2));
        for key in ["stdout", "stderr"] {
            result.insert(key.into(), Value::String(String::new()));
            result.insert(format!("{key}_lines"), Value::Array(Vec::new()));
        }
        result.insert("msg".into(), Value::String(msg.into()));
        result.insert("changed".into(), Value::Bool(false));
        TaskError::with_result(msg, result)
    }

    /// Reads the probe: `Some(plan)` when creates/removes say not to run.
    fn skip_plan(&self, observed: &Observed) -> Result<Option<Plan>, TaskError> {
        let seen = Seen::parse(&observed.stdout_str())?;
        if seen.chdir_failed {
            let why = String::from_utf8_lossy(&observed.stderr).trim().to_string();
            let why = if why.is_empty() {
                self.chdir.clone().unwrap_or_default()
            } else {
                why
            };
            let mut result = self.base.clone();
            result.insert("rc".into(), Value::Null);
            result.insert("stdout".into(), Value::String(String::new()));
            result.insert("stderr".into(), Value::String(String::new()));
            let msg = format!("Unable to change directory before execution: {why}");
            result.insert("msg".into(), Value::String(msg.clone()));
            return Err(TaskError::with_result(msg, result));
        }
        let shoulda = if self.check_run { "Would" } else { "Did" };
        // Ansible checks creates first; removes only when creates let it run.
        if let Some(creates) = &self.creates
            && seen.creates.ok_or_else(|| bad_probe("no creates line"))?
        {
            return Ok(Some(Plan::unchanged(self.not_run(
                format!("skipped, since {creates} exists"),
                format!("{shoulda} not run command since '{creates}' exists"),
            ))));
        }
        if let Some(removes) = &self.removes
            && !seen.removes.ok_or_else(|| bad_probe("no removes line"))?
        {
            return Ok(Some(Plan::unchanged(self.not_run(
                format!("skipped, since {removes} does not exist"),
                format!("{shoulda} not run command since '{removes}' does not exist"),
            ))));
        }
        Ok(None)
    }
}

impl Task for CommandTask {
    fn probe(&self) -> Option<String> {
        if self.chdir.is_none() && self.creates.is_none() && self.removes.is_none() {
            return None;
        }
        // Each pattern is globbed in the caller and tested in a subshell, so
        // the loop variable never shadows a `$f` in the next pattern. `-L`
        // counts dangling links, as Python's glob does.
        let mut s = String::from(
            "found() { for f in \"$@\"; do if [ -e \"$f\" ] || [ -L \"$f\" ]; then \
             echo present; return; fi; done; echo absent; }\n",
        );
        if let Some(dir) = &self.chdir {
            // The patterns are relative to chdir, as in Ansible, and a
            // missing directory fails the task before anything runs.
            s.push_str(&format!(
                "cd -- {} || {{ echo chdir-failed; exit 0; }}\n",
                sh_word(dir, true, false)
            ));
        }
        for (tag, pattern) in [("creates", &self.creates), ("removes", &self.removes)] {
            if let Some(p) = pattern {
                s.push_str(&format!(
                    "echo \"{tag} $(found {})\"\n",
                    sh_word(p, true, true)
                ));
            }
        }
        Some(s)
    }

    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        match (observed, self.probe().is_some()) {
            (Some(observed), true) => {
                if let Some(plan) = self.skip_plan(observed)? {
                    return Ok(plan);
                }
            }
            (None, true) => return Err(bad_probe("the probe did not run")),
            _ => {}
        }
        // What check mode reports when creates/removes say it would run.
        let result = self.not_run(
            String::new(),
            "Command would have run if not in check mode".into(),
        );
        Ok(Plan::change(vec![self.step()], result))
    }

    fn finish(&self, plan: &Plan, outputs: &[StepOutput]) -> Result<Map, TaskError> {
        let Some(out) = outputs.first() else {
            return Ok(plan.result.clone());
        };
        let stdout = output_text(&out.stdout, self.strip);
        let stderr = output_text(&out.stderr, self.strip);
        let mut result = self.base.clone();
        if matches!(self.program, Program::Words { .. }) && exec_failed(out.rc, &stderr) {
            return Err(self.could_not_execute(result));
        }
        result.insert("rc".into(), Value::from(out.rc));
        result.insert("stdout_lines".into(), lines_value(&stdout));
        result.insert("stderr_lines".into(), lines_value(&stderr));
        result.insert("stdout".into(), Value::String(stdout));
        result.insert("stderr".into(), Value::String(stderr));
        if out.rc != 0 {
            let msg = "non-zero return code";
            result.insert("msg".into(), Value::String(msg.into()));
            return Err(TaskError::with_result(msg, result));
        }
        result.insert("msg".into(), Value::String(String::new()));
        Ok(result)
    }

    fn check_mode(&self) -> CheckMode {
        // Only creates/removes let a command predict anything; otherwise
        // Ansible skips it under --check.
        if self.creates.is_some() || self.removes.is_some() {
            CheckMode::Full
        } else {
            CheckMode::Skip("Command would have run if not in check mode".into())
        }
    }

    fn verify(&self) -> bool {
        false
    }
}

/// Whether sh's `exec` could not start the program: it exits 127 (not
/// found) or 126 (not executable) with one line like
/// `sh: 1: exec: /x: not found` (dash, bash and busybox all say `exec: `).
fn exec_failed(rc: i32, stderr: &str) -> bool {
    let line = stderr.trim();
    (rc == 126 || rc == 127)
        && !line.contains('\n')
        && line.contains("exec: ")
        && (line.ends_with(": not found")
            || line.ends_with(": Permission denied")
            || line.ends_with(": No such file or directory"))
}

fn no_command(shell: bool) -> ParamError {
    ParamError::general(if shell {
        "no command given: give a free-form command or 'cmd'"
    } else {
        "no command given: give a free-form command, 'cmd' or 'argv'"
    })
}

fn bad_probe(why: &str) -> TaskError {
    TaskError::new(format!(
        "unexpected output from the creates/removes probe: {}",
        crate::clip(why)
    ))
}

/// What the probe printed.
#[derive(Debug, Default)]
struct Seen {
    chdir_failed: bool,
    creates: Option<bool>,
    removes: Option<bool>,
}

impl Seen {
    fn parse(text: &str) -> Result<Seen, TaskError> {
        let mut seen = Seen::default();
        for line in text.lines() {
            let present = |v: &str| match v {
                "present" => Ok(true),
                "absent" => Ok(false),
                _ => Err(bad_probe(&format!("{line:?}"))),
            };
            match line.split_once(' ') {
                _ if line == "chdir-failed" => seen.chdir_failed = true,
                Some(("creates", v)) => seen.creates = Some(present(v)?),
                Some(("removes", v)) => seen.removes = Some(present(v)?),
                _ if line.trim().is_empty() => {}
                _ => return Err(bad_probe(&format!("{line:?}"))),
            }
        }
        Ok(seen)
    }
}

/// Splits `s` into words as Python's `shlex.split(s)` does (POSIX mode, no
/// comments), with its error messages.
fn shlex_split(s: &str) -> Result<Vec<String>, &'static str> {
    const NO_CLOSING: &str = "No closing quotation";
    let mut words = Vec::new();
    let mut word = String::new();
    // `''` is a word of its own, so being in a word is not `!word.is_empty()`.
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                continue;
            }
            '\\' => word.push(chars.next().ok_or("No escaped character")?),
            '\'' => loop {
                match chars.next().ok_or(NO_CLOSING)? {
                    '\'' => break,
                    ch => word.push(ch),
                }
            },
            // Inside double quotes a backslash escapes only `"` and `\`.
            '"' => loop {
                match chars.next().ok_or(NO_CLOSING)? {
                    '"' => break,
                    '\\' => match chars.next().ok_or("No escaped character")? {
                        e @ ('"' | '\\') => word.push(e),
                        e => {
                            word.push('\\');
                            word.push(e);
                        }
                    },
                    ch => word.push(ch),
                }
            },
            _ => word.push(c),
        }
        in_word = true;
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// One `/bin/sh` word that becomes `word` on the host. With `vars`, Ansible's
/// expansions happen there: a leading `~`/`~user`, and `$NAME`/`${NAME}`
/// where set (else kept as written, as Python's `os.path.expandvars` does).
/// With `glob`, `*?[]` stay unquoted so sh globs them; all else is literal.
fn sh_word(word: &str, vars: bool, glob: bool) -> String {
    let mut out = String::new();
    let mut literal = String::new();
    let mut rest = word;
    if vars && let Some(after) = word.strip_prefix('~') {
        let end = after.find('/').unwrap_or(after.len());
        let user = &after[..end];
        // Only a plain user name may stay unquoted; anything else would not
        // name a user in Python either, and stays literal.
        if user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            out.push('~');
            out.push_str(user);
            rest = &after[end..];
            // The slash ends the tilde-prefix only when it is unquoted.
            if let Some(tail) = rest.strip_prefix('/') {
                out.push('/');
                rest = tail;
            }
        }
    }
    let flush = |out: &mut String, literal: &mut String| {
        if !literal.is_empty() {
            out.push_str(&quote(literal));
            literal.clear();
        }
    };
    let mut i = 0;
    while let Some(c) = rest[i..].chars().next() {
        if vars
            && c == '$'
            && let Some((len, expansion)) = var_ref(&rest[i..])
        {
            match expansion {
                Some(expansion) => {
                    flush(&mut out, &mut literal);
                    out.push_str(&expansion);
                }
                None => literal.push_str(&rest[i..i + len]),
            }
            i += len;
            continue;
        }
        // `!` and `-` matter only inside brackets, but a quoted one there
        // would be a literal member, not negation or a range.
        if glob && matches!(c, '*' | '?' | '[' | ']' | '!' | '-') {
            flush(&mut out, &mut literal);
            out.push(c);
        } else {
            literal.push(c);
        }
        i += c.len_utf8();
    }
    flush(&mut out, &mut literal);
    if out.is_empty() {
        out.push_str("''");
    }
    out
}

/// The `$NAME` or `${NAME}` at the start of `s`, as Python's
/// `os.path.expandvars` matches it (`\$(\w+|\{[^}]*\})`, ASCII): its length
/// and, when sh can look the name up, the sh text that expands it if set and
/// gives back the reference as written if not.
fn var_ref(s: &str) -> Option<(usize, Option<String>)> {
    let after = s.strip_prefix('$')?;
    if let Some(inner) = after.strip_prefix('{') {
        let name = &inner[..inner.find('}')?];
        let sh = is_name(name).then(|| format!("\"${{{name}-\\${{{name}\\}}}}\""));
        return Some((name.len() + 3, sh));
    }
    let len = after
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    let name = &after[..len];
    (len > 0).then(|| {
        (
            len + 1,
            is_name(name).then(|| format!("\"${{{name}-\\${name}}}\"")),
        )
    })
}

/// Whether `s` is a sh variable name (`$1` is a positional, never env).
fn is_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Output as Ansible returns it: text (bytes that are not UTF-8 replaced),
/// with trailing newlines stripped when `strip_empty_ends` is on.
fn output_text(bytes: &[u8], strip: bool) -> String {
    let text = String::from_utf8_lossy(bytes);
    if strip {
        text.trim_end_matches(['\r', '\n']).to_string()
    } else {
        text.into_owned()
    }
}

/// `stdout_lines`: Python's `str.splitlines()`, which also breaks on `\r`,
/// form feeds and the Unicode line separators.
fn lines_value(text: &str) -> Value {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                lines.push(Value::String(std::mem::take(&mut line)));
            }
            '\n' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => lines.push(Value::String(std::mem::take(&mut line))),
            _ => line.push(c),
        }
    }
    if !line.is_empty() {
        lines.push(Value::String(line));
    }
    Value::Array(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debug::testing::FakeController;
    use serde_json::json;

    fn task_in(module: &dyn Module, args: Value, check: bool) -> Result<Box<dyn Task>, ParamError> {
        struct Ctx(FakeController, bool);
        impl Controller for Ctx {
            fn read_src(&self, path: &str, subdir: &str) -> Result<Vec<u8>, String> {
                self.0.read_src(path, subdir)
            }
            fn render(&self, text: &str) -> Result<String, String> {
                self.0.render(text)
            }
            fn eval(&self, expr: &str) -> Result<Value, String> {
                self.0.eval(expr)
            }
            fn check_mode(&self) -> bool {
                self.1
            }
        }
        let map = args.as_object().expect("test args are a mapping");
        let args = Args::check(module.params(), map, false)?;
        module.prepare(args, &Ctx(FakeController::default(), check))
    }

    fn task(module: &dyn Module, args: Value) -> Result<Box<dyn Task>, ParamError> {
        task_in(module, args, false)
    }

    fn perr(module: &dyn Module, args: Value) -> ParamError {
        match task(module, args) {
            Ok(_) => panic!("expected a parameter error"),
            Err(e) => e,
        }
    }

    fn err(module: &dyn Module, args: Value) -> String {
        perr(module, args).message
    }

    /// The single step a task plans when nothing stops it (a chdir probe,
    /// if any, found the directory).
    fn step(module: &dyn Module, args: Value) -> Step {
        let t = task(module, args).unwrap();
        let seen = t.probe().map(|_| observed(""));
        let plan = t.plan(seen.as_ref()).unwrap();
        assert!(plan.changed);
        assert_eq!(plan.steps.len(), 1);
        plan.steps[0].clone()
    }

    fn script(module: &dyn Module, args: Value) -> String {
        step(module, args).script
    }

    fn observed(stdout: &str) -> Observed {
        Observed {
            rc: 0,
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
        }
    }

    fn output(rc: i32, stdout: &[u8], stderr: &[u8]) -> StepOutput {
        StepOutput {
            rc,
            stdout: stdout.to_vec(),
            stderr: stderr.to_vec(),
        }
    }

    #[test]
    fn command_words_are_quoted_and_execd_without_a_shell() {
        let s = script(
            &CommandModule,
            json!({"_raw_params": "echo 'hello world' | wc > out"}),
        );
        assert_eq!(s, "exec echo 'hello world' '|' wc '>' out </dev/null");
        let s = script(&CommandModule, json!({"cmd": "ls -l *.txt; rm"}));
        assert_eq!(s, "exec ls -l '*.txt;' rm </dev/null");
    }

    #[test]
    fn argv_words_are_taken_as_they_are() {
        let s = script(
            &CommandModule,
            json!({"argv": ["/usr/bin/make_database.sh", "user name", "it's", 5]}),
        );
        assert_eq!(
            s,
            r"exec /usr/bin/make_database.sh 'user name' 'it'\''s' 5 </dev/null"
        );
    }

    #[test]
    fn chdir_comes_first() {
        let s = script(
            &CommandModule,
            json!({"cmd": "make", "chdir": "/srv/my app"}),
        );
        assert_eq!(s, "cd -- '/srv/my app' && exec make </dev/null");
    }

    #[test]
    fn set_variables_and_tilde_expand_on_the_host() {
        let s = script(
            &CommandModule,
            json!({"_raw_params": "echo $HOME/x ${USER}. ~ ~deploy/a b~ ~a$b"}),
        );
        assert_eq!(
            s,
            r#"exec echo "${HOME-\$HOME}"/x "${USER-\${USER\}}". ~ ~deploy/a 'b~' '~a'"${b-\$b}" </dev/null"#
        );
        // In `~a$b` only the variable expands: a tilde-prefix must be a plain
        // user name (Python would try the user `a` + $b's value).
    }

    #[test]
    fn references_sh_cannot_name_stay_literal() {
        let s = script(
            &CommandModule,
            json!({"argv": ["$1", "${a b}", "${a$HOME}", "$", "${x", "$-x", "a$"]}),
        );
        assert_eq!(
            s,
            r#"exec '$1' '${a b}' '${a$HOME}' '$' '${x' '$-x' 'a$' </dev/null"#
        );
    }

    #[test]
    fn expand_argument_vars_off_keeps_everything_literal() {
        let s = script(
            &CommandModule,
            json!({"cmd": "echo $HOME ~/x", "expand_argument_vars": false, "chdir": "~/d"}),
        );
        // chdir is a path: Ansible expands it whatever this option says.
        assert_eq!(s, "cd -- ~/d && exec echo '$HOME' '~/x' </dev/null");
    }

    #[test]
    fn shell_hands_the_string_to_sh() {
        let s = script(
            &ShellModule,
            json!({"_raw_params": "echo $HOME | wc -c > 'out file'", "chdir": "/tmp"}),
        );
        assert_eq!(
            s,
            r"cd -- /tmp && exec /bin/sh -c 'echo $HOME | wc -c > '\''out file'\''' </dev/null"
        );
        let s = script(
            &ShellModule,
            json!({"cmd": "set -o pipefail", "executable": "/bin/bash"}),
        );
        assert_eq!(s, "exec /bin/bash -c 'set -o pipefail' </dev/null");
    }

    #[test]
    fn stdin_gets_a_newline_unless_told_not_to() {
        let st = step(&CommandModule, json!({"cmd": "cat", "stdin": "hi"}));
        assert_eq!(st.script, "exec cat");
        assert_eq!(st.stdin.as_deref(), Some(&b"hi\n"[..]));
        assert!(!st.check_rc, "the module judges rc itself");
        let st = step(
            &ShellModule,
            json!({"cmd": "cat", "stdin": "hi", "stdin_add_newline": false}),
        );
        assert_eq!(st.stdin.as_deref(), Some(&b"hi"[..]));
        // Ansible sends no data for an empty stdin.
        let st = step(&CommandModule, json!({"cmd": "cat", "stdin": ""}));
        assert_eq!(
            (st.stdin, st.script.as_str()),
            (None, "exec cat </dev/null")
        );
    }

    #[test]
    fn a_program_that_cannot_start_is_told_from_one_that_fails() {
        assert!(exec_failed(127, "sh: 1: exec: /x/warm: not found"));
        assert!(exec_failed(
            126,
            "/bin/sh: 2: exec: /tmp: Permission denied\n"
        ));
        assert!(exec_failed(127, "bash: line 1: exec: nope: not found"));
        assert!(!exec_failed(127, "grep: pattern not found"));
        assert!(!exec_failed(1, "sh: 1: exec: /x: not found"));
        assert!(!exec_failed(127, "exec: a: not found\nexec: b: not found"));
    }

    #[test]
    fn a_missing_program_changes_nothing_and_says_so() {
        let t = task(&CommandModule, json!({"_raw_params": "/no/such/prog"})).expect("valid args");
        let out = output(127, b"", b"sh: 1: exec: /no/such/prog: not found\n");
        let plan = t.plan(None).unwrap();
        let err = t.finish(&plan, &[out]).unwrap_err();
        let result = err.result;
        assert_eq!(result["rc"], 2);
        assert_eq!(result["changed"], false);
        assert_eq!(result["msg"], "Error executing command.");
        assert_eq!(result["stderr"], "");
    }

    #[test]
    fn shlex_splitting() {
        let ok = |s: &str| shlex_split(s).unwrap();
        assert_eq!(ok("  a  b\tc\n"), ["a", "b", "c"]);
        assert_eq!(ok(r#"a"b c"d 'e f' '' x"#), ["ab cd", "e f", "", "x"]);
        assert_eq!(ok(r"a\ b \'c \\"), ["a b", "'c", "\\"]);
        assert_eq!(ok(r#""\"q\" \\ \n \$""#), [r#""q" \ \n \$"#]);
        assert_eq!(
            ok(r"'a\b' # not a comment"),
            [r"a\b", "#", "not", "a", "comment"]
        );
        assert_eq!(ok("é'ü'"), ["éü"]);
        assert!(ok("   ").is_empty());
        assert_eq!(shlex_split("echo 'oops"), Err("No closing quotation"));
        assert_eq!(shlex_split("echo \"oops"), Err("No closing quotation"));
        assert_eq!(shlex_split("echo oops\\"), Err("No escaped character"));
    }

    #[test]
    fn unsplittable_command_is_a_parameter_error() {
        let e = perr(&CommandModule, json!({"cmd": "echo 'oops"}));
        assert_eq!(e.param.as_deref(), Some("cmd"));
        assert_eq!(
            e.message,
            "cannot split the command into words: No closing quotation"
        );
        // shell does not split: sh reports its own syntax errors.
        assert!(task(&ShellModule, json!({"cmd": "echo 'oops"})).is_ok());
    }

    #[test]
    fn exactly_one_way_of_giving_the_command() {
        assert!(err(&CommandModule, json!({})).starts_with("no command given"));
        assert!(err(&CommandModule, json!({"_raw_params": "  "})).starts_with("no command given"));
        assert!(err(&CommandModule, json!({"argv": []})).starts_with("no command given"));
        assert!(err(&ShellModule, json!({"chdir": "/"})).starts_with("no command given"));
        let e = perr(&CommandModule, json!({"_raw_params": "ls", "argv": ["ls"]}));
        assert_eq!(e.param.as_deref(), Some("argv"));
        assert_eq!(
            e.message,
            "only one of a free-form command, 'cmd' and 'argv' can be given, not several"
        );
        let e = perr(&CommandModule, json!({"_raw_params": "ls", "cmd": "ls"}));
        assert_eq!(e.param.as_deref(), Some("cmd"));
        let e = perr(&ShellModule, json!({"_raw_params": "ls", "cmd": "ls"}));
        assert_eq!(
            e.message,
            "only one of a free-form command and 'cmd' can be given, not several"
        );
    }

    #[test]
    fn parameters_the_other_module_has_are_unknown() {
        assert!(err(&ShellModule, json!({"argv": ["ls"]})).contains("unknown parameter 'argv'"));
        let e = err(
            &ShellModule,
            json!({"cmd": "ls", "expand_argument_vars": false}),
        );
        assert!(
            e.contains("unknown parameter 'expand_argument_vars'"),
            "{e}"
        );
        assert!(err(&CommandModule, json!({"cmd": "ls", "warn": true})).contains("'warn'"));
    }

    #[test]
    fn nul_bytes_cannot_be_passed() {
        let e = err(&CommandModule, json!({"argv": ["echo", "a\u{0}b"]}));
        assert_eq!(e, "the command contains a NUL byte");
    }

    #[test]
    fn executable_is_ignored_by_command_with_ansibles_warning() {
        let t = task(
            &CommandModule,
            json!({"cmd": "ls", "executable": "/bin/bash"}),
        )
        .unwrap();
        let plan = t.plan(None).unwrap();
        assert_eq!(plan.steps[0].script, "exec ls </dev/null");
        let warning = plan.result["warnings"][0].as_str().unwrap();
        assert!(warning.contains("Not using '/bin/bash'"), "{warning}");
    }

    #[test]
    fn no_probe_without_creates_removes_or_chdir() {
        let t = task(&CommandModule, json!({"cmd": "ls"})).unwrap();
        assert_eq!(t.probe(), None);
        assert!(!t.verify());
    }

    #[test]
    fn probe_globs_creates_and_removes_after_chdir() {
        let t = task(
            &CommandModule,
            json!({"cmd": "make", "chdir": "/srv", "creates": "build/*.o",
                   "removes": "$HOME/my [ab]?!x-1"}),
        )
        .unwrap();
        let probe = t.probe().unwrap();
        let lines: Vec<&str> = probe.lines().skip(1).collect();
        assert_eq!(
            lines,
            [
                "cd -- /srv || { echo chdir-failed; exit 0; }",
                r#"echo "creates $(found build/*.o)""#,
                r#"echo "removes $(found "${HOME-\$HOME}"'/my '[ab]?!x-1)""#,
            ]
        );
    }

    #[test]
    fn creates_that_exists_skips_the_command() {
        let t = task(
            &CommandModule,
            json!({"cmd": "make db", "creates": "/var/db"}),
        )
        .unwrap();
        let plan = t.plan(Some(&observed("creates present\n"))).unwrap();
        assert!(!plan.changed && plan.steps.is_empty());
        assert_eq!(
            Value::Object(plan.result),
            json!({
                "cmd": ["make", "db"], "rc": 0,
                "stdout_lines": ["skipped, since /var/db exists"],
                "stdout": "skipped, since /var/db exists",
                "stderr": "", "stderr_lines": [],
                "msg": "Did not run command since '/var/db' exists",
            })
        );
        let plan = t.plan(Some(&observed("creates absent\n"))).unwrap();
        assert!(plan.changed);
        assert_eq!(plan.steps[0].script, "exec make db </dev/null");
    }

    #[test]
    fn removes_that_is_missing_skips_the_command() {
        let t = task(
            &ShellModule,
            json!({"cmd": "rm /tmp/x", "removes": "/tmp/x"}),
        )
        .unwrap();
        let plan = t.plan(Some(&observed("removes absent\n"))).unwrap();
        assert!(!plan.changed);
        assert_eq!(
            plan.result["stdout"],
            "skipped, since /tmp/x does not exist"
        );
        assert_eq!(
            plan.result["msg"],
            "Did not run command since '/tmp/x' does not exist"
        );
        assert_eq!(plan.result["cmd"], "rm /tmp/x");
        assert!(
            t.plan(Some(&observed("removes present\n")))
                .unwrap()
                .changed
        );
    }

    #[test]
    fn creates_is_checked_before_removes() {
        let t = task(
            &CommandModule,
            json!({"cmd": "x", "creates": "/a", "removes": "/b"}),
        )
        .unwrap();
        let plan = t
            .plan(Some(&observed("creates present\nremoves absent\n")))
            .unwrap();
        assert_eq!(plan.result["msg"], "Did not run command since '/a' exists");
        let plan = t
            .plan(Some(&observed("creates absent\nremoves absent\n")))
            .unwrap();
        assert_eq!(
            plan.result["msg"],
            "Did not run command since '/b' does not exist"
        );
        assert!(
            t.plan(Some(&observed("creates absent\nremoves present\n")))
                .unwrap()
                .changed
        );
    }

    #[test]
    fn check_mode_words_and_behaviour() {
        let t = task_in(&CommandModule, json!({"cmd": "x", "creates": "/a"}), true).unwrap();
        assert_eq!(t.check_mode(), CheckMode::Full);
        let plan = t.plan(Some(&observed("creates present\n"))).unwrap();
        assert_eq!(
            plan.result["msg"],
            "Would not run command since '/a' exists"
        );
        let plan = t.plan(Some(&observed("creates absent\n"))).unwrap();
        assert!(plan.changed);
        assert_eq!(
            plan.result["msg"],
            "Command would have run if not in check mode"
        );
        let t = task_in(&ShellModule, json!({"cmd": "x", "chdir": "/a"}), true).unwrap();
        assert_eq!(
            t.check_mode(),
            CheckMode::Skip("Command would have run if not in check mode".into())
        );
    }

    #[test]
    fn missing_chdir_fails_before_running() {
        let t = task(&CommandModule, json!({"cmd": "ls", "chdir": "/nope"})).unwrap();
        let obs = Observed {
            rc: 0,
            stdout: b"chdir-failed\n".to_vec(),
            stderr: b"sh: 1: cd: can't cd to /nope\n".to_vec(),
        };
        let e = t.plan(Some(&obs)).unwrap_err();
        assert_eq!(
            e.msg,
            "Unable to change directory before execution: sh: 1: cd: can't cd to /nope"
        );
        assert_eq!(e.result["cmd"], json!(["ls"]));
        assert!(t.plan(Some(&observed(""))).unwrap().changed);
    }

    #[test]
    fn unreadable_probe_output_is_an_error_not_a_guess() {
        let t = task(&CommandModule, json!({"cmd": "x", "creates": "/a"})).unwrap();
        for out in ["", "creates maybe\n", "garbage\n", "removes absent\n"] {
            let e = t.plan(Some(&observed(out))).unwrap_err();
            assert!(e.msg.starts_with("unexpected output"), "{out:?}: {e}");
        }
        assert!(t.plan(None).is_err());
    }

    #[test]
    fn finish_reports_output_like_ansible() {
        let t = task(&CommandModule, json!({"cmd": "echo hi"})).unwrap();
        let plan = t.plan(None).unwrap();
        let out = output(0, b"one\r\ntwo\n\n\n", b"warn\n");
        assert_eq!(
            Value::Object(t.finish(&plan, &[out]).unwrap()),
            json!({
                "cmd": ["echo", "hi"], "rc": 0,
                "stdout_lines": ["one", "two"], "stderr_lines": ["warn"],
                "stdout": "one\r\ntwo", "stderr": "warn", "msg": "",
            })
        );
    }

    #[test]
    fn non_zero_rc_fails_with_the_whole_result() {
        let t = task(&ShellModule, json!({"cmd": "false"})).unwrap();
        let plan = t.plan(None).unwrap();
        let e = t.finish(&plan, &[output(2, b"", b"boom\n")]).unwrap_err();
        assert_eq!(e.msg, "non-zero return code");
        assert_eq!(e.result["rc"], 2);
        assert_eq!(e.result["stderr"], "boom");
        assert_eq!(e.result["stderr_lines"], json!(["boom"]));
        assert_eq!(e.result["msg"], "non-zero return code");
        assert_eq!(e.result["cmd"], "false");
    }

    #[test]
    fn output_that_is_not_utf8_is_replaced_not_a_panic() {
        let t = task(&CommandModule, json!({"cmd": "cat bin"})).unwrap();
        let plan = t.plan(None).unwrap();
        let r = t.finish(&plan, &[output(0, b"a\xff\xfeb\n", b"")]).unwrap();
        assert_eq!(r["stdout"], "a\u{fffd}\u{fffd}b");
    }

    #[test]
    fn strip_empty_ends_off_keeps_the_output_whole() {
        let t = task(
            &CommandModule,
            json!({"cmd": "x", "strip_empty_ends": false}),
        )
        .unwrap();
        let plan = t.plan(None).unwrap();
        let r = t.finish(&plan, &[output(0, b"a\n\n", b"e\n")]).unwrap();
        assert_eq!(r["stdout"], "a\n\n");
        assert_eq!(r["stdout_lines"], json!(["a", ""]));
        assert_eq!(r["stderr"], "e\n");
    }

    #[test]
    fn lines_split_as_python_does() {
        assert_eq!(lines_value(""), json!([]));
        assert_eq!(
            lines_value("a\rb\x0cc\u{2028}d\n"),
            json!(["a", "b", "c", "d"])
        );
        assert_eq!(lines_value("\n\nx"), json!(["", "", "x"]));
    }

    #[test]
    fn without_outputs_finish_returns_the_plan() {
        let t = task(&CommandModule, json!({"cmd": "x", "creates": "/a"})).unwrap();
        let plan = t.plan(Some(&observed("creates present\n"))).unwrap();
        assert_eq!(t.finish(&plan, &[]).unwrap(), plan.result);
    }

    /// Runs a script with the real `/bin/sh`, as the engine would on a host.
    fn run_sh(script: &str, stdin: Option<&[u8]>, home: &std::path::Path) -> StepOutput {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .env("HOME", home)
            .env("TEND_TEST_EMPTY", "")
            .env_remove("TEND_TEST_UNSET")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("/bin/sh runs");
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(stdin.unwrap_or_default())
            .expect("stdin is written");
        drop(pipe);
        let out = child.wait_with_output().expect("/bin/sh finishes");
        StepOutput {
            rc: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        }
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("tend-command-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn real_sh_passes_every_word_through_intact() {
        let home = scratch("words");
        let argv = json!([
            "printf",
            "%s|",
            "a b",
            "it's",
            "$HOME",
            "${HOME}x",
            "~/d",
            "$TEND_TEST_UNSET",
            "${TEND_TEST_UNSET}",
            "$TEND_TEST_EMPTY",
            "*",
            ">",
            "|",
            "$(id)",
            "`id`",
            "a;b",
            "\\",
            "\"",
            "",
            "$1"
        ]);
        let st = step(&CommandModule, json!({"argv": argv}));
        let out = run_sh(&st.script, None, &home);
        let h = home.display();
        assert_eq!(
            (out.rc, String::from_utf8_lossy(&out.stdout).into_owned()),
            (
                0,
                format!(
                    "a b|it's|{h}|{h}x|{h}/d|$TEND_TEST_UNSET|${{TEND_TEST_UNSET}}||*|>|||$(id)|`id`|a;b|\\|\"||$1|"
                )
            )
        );
        let st = step(
            &CommandModule,
            json!({"cmd": "printf %s| $HOME ~ 'a b'", "expand_argument_vars": false}),
        );
        let out = run_sh(&st.script, None, &home);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "$HOME|~|a b|");
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn real_sh_runs_shell_with_chdir_and_stdin() {
        let home = scratch("shell");
        std::fs::create_dir(home.join("sub dir")).expect("sub dir");
        let t = task(
            &ShellModule,
            json!({"cmd": "tr a-z A-Z; pwd | sed 's|.*/||'", "chdir": "~/sub dir", "stdin": "it's"}),
        )
        .unwrap();
        let plan = t.plan(Some(&observed("\n"))).unwrap();
        let st = &plan.steps[0];
        let out = run_sh(&st.script, st.stdin.as_deref(), &home);
        let r = t.finish(&plan, &[out]).unwrap();
        assert_eq!(r["stdout_lines"], json!(["IT'S", "sub dir"]));
        let t = task(&ShellModule, json!({"cmd": "echo no >&2; exit 3"})).unwrap();
        let plan = t.plan(None).unwrap();
        let out = run_sh(&plan.steps[0].script, None, &home);
        let e = t.finish(&plan, &[out]).unwrap_err();
        assert_eq!(
            (e.result["rc"].clone(), e.result["stderr"].clone()),
            (json!(3), json!("no"))
        );
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn real_sh_probe_globs_relative_to_chdir() {
        let home = scratch("probe");
        std::fs::create_dir(home.join("d")).expect("d");
        std::fs::write(home.join("d/a.done"), "").expect("a.done");
        std::os::unix::fs::symlink("/nonexistent", home.join("d/dangling")).expect("link");
        let probe = |args: Value| {
            let t = task(&CommandModule, args).unwrap();
            let obs = run_sh(&t.probe().unwrap(), None, &home);
            let obs = Observed {
                rc: obs.rc,
                stdout: obs.stdout,
                stderr: obs.stderr,
            };
            t.plan(Some(&obs))
        };
        let plan = probe(json!({"cmd": "x", "chdir": "~/d", "creates": "*.done"})).unwrap();
        assert!(!plan.changed, "{plan:?}");
        let plan = probe(json!({"cmd": "x", "chdir": "~/d", "creates": "*.[!d]one"})).unwrap();
        assert!(plan.changed, "{plan:?}");
        let plan = probe(json!({"cmd": "x", "creates": "$HOME/d/dangl?ng"})).unwrap();
        assert!(!plan.changed, "a dangling link counts, as in Python's glob");
        let plan = probe(json!({"cmd": "x", "removes": "~/d/*.gone"})).unwrap();
        assert_eq!(
            plan.result["msg"],
            "Did not run command since '~/d/*.gone' does not exist"
        );
        let plan =
            probe(json!({"cmd": "x", "removes": "~/d/a.done", "creates": "~/d/b*"})).unwrap();
        assert!(plan.changed);
        let e = probe(json!({"cmd": "x", "chdir": "~/missing"})).unwrap_err();
        assert!(
            e.msg
                .starts_with("Unable to change directory before execution: "),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&home);
    }
}
