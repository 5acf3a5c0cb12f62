//! What a resident shell reads and prints. A resident shell is one
//! `/bin/sh -s` per host and user that runs script after script sent on its
//! stdin. Without it, every script costs an exec channel: an sshd session
//! process, the user's login shell and `/bin/sh`, about 4 ms of the host's
//! CPU and a network round trip more, 47 times per host in a cold run.
//!
//! The shell parses what it reads, so what we send must always parse as a
//! whole, whatever the script: the script goes in single quotes to `eval`
//! in a subshell (a syntax error or `exit` ends the subshell, not the
//! shell), with its stdin in a here-document or `/dev/null`, never the
//! shell's own stdin. After it, `_tend_end` prints a marker with the
//! request's nonce and the exit code on stdout, and a marker on stderr; a
//! marker starts with a newline of its own, which is taken off with it.
//! The request is one `{ ...; }` group, which the shell parses whole before
//! it runs any of it: a request cut short (the controller died while
//! sending) is a syntax error, never a script run on half its stdin.

use super::command::quote;
use crate::transport::{ExecOutput, OUTPUT_CAP};
use tend_modules::shell::STDIN_VAR;

/// The script of the channel that becomes a resident shell: `-s` reads
/// commands from stdin and runs each as soon as it is parsed.
pub(crate) const START: &str = "exec /bin/sh -s";

/// The most stdin sent to a resident shell; more goes on a channel of its
/// own, streamed to the script as it reads. The shell holds a
/// here-document whole before the script starts, and where `/bin/sh` is
/// bash it reads its input one byte at a time (it cannot give back what
/// it read too far): a here-document costs it a system call per byte.
pub(crate) const MAX_STDIN: usize = 64 << 10;

/// Sent once, before the first request. `_tend_end` also forgets the
/// request's stdin.
pub(crate) const PREAMBLE: &str = "_tend_end() { unset _tend_in; printf '\\n__TEND_%s_RC %s\\n' \"$1\" \"$2\"; \
                                   printf '\\n__TEND_%s_ERR\\n' \"$1\" >&2; }\n";

/// What to send to run `script` with `stdin`. Text that ends in a newline
/// (a here-document cannot hold a NUL, and adds a newline at its end) goes
/// once, quoted, into [`STDIN_VAR`], and the here-document that is the
/// script's stdin expands it (an expansion's result is not expanded
/// again); other stdin goes in base64 through `base64 -d`.
pub(crate) fn request(script: &str, stdin: &[u8], nonce: &str) -> Vec<u8> {
    let script = quote(script);
    let end = format!("_tend_end {nonce} $?; }}\n");
    if stdin.is_empty() {
        return format!("{{ ( eval {script} ) </dev/null; {end}").into_bytes();
    }
    let delimiter = format!("_TEND_{nonce}_IN");
    let mut out = Vec::with_capacity(stdin.len() * 4 / 3 + script.len() + 128);
    if let Some(text) = stdin.strip_suffix(b"\n").filter(|t| !t.contains(&0)) {
        out.extend_from_slice(format!("{{ {STDIN_VAR}=").as_bytes());
        quote_bytes(text, &mut out);
        out.extend_from_slice(
            format!("\n( eval {script} ) <<{delimiter}\n${{{STDIN_VAR}}}\n").as_bytes(),
        );
    } else {
        // base64's complaint about a script that stopped reading (a broken
        // pipe) is not the script's stderr.
        out.extend_from_slice(
            format!("{{ base64 -d 2>/dev/null <<'{delimiter}' | ( eval {script} )\n").as_bytes(),
        );
        out.extend_from_slice(base64_lines(stdin).as_bytes());
    }
    out.extend_from_slice(format!("{delimiter}\n{end}").as_bytes());
    out
}

/// `bytes` as one single-quoted shell word, appended to `out`.
fn quote_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'\'');
    for &b in bytes {
        match b {
            b'\'' => out.extend_from_slice(br"'\''"),
            _ => out.push(b),
        }
    }
    out.push(b'\'');
}

/// Base64 in lines of 76 characters, as base64(1) prints it.
fn base64_lines(bytes: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(text.len() + text.len() / 76 + 1);
    for line in text.as_bytes().chunks(76) {
        // Base64 is ASCII, so every chunk is UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// The answer to one request, read as it comes.
pub(crate) struct Reply {
    stdout: Marked,
    stderr: Marked,
}

impl Reply {
    pub fn new(nonce: &str) -> Reply {
        Reply {
            stdout: Marked::new(format!("\n__TEND_{nonce}_RC ")),
            stderr: Marked::new(format!("\n__TEND_{nonce}_ERR")),
        }
    }

    pub fn take_stdout(&mut self, data: &[u8]) {
        self.stdout.take(data);
    }

    pub fn take_stderr(&mut self, data: &[u8]) {
        self.stderr.take(data);
    }

    /// Both markers came.
    pub fn complete(&self) -> bool {
        self.stdout.ended.is_some() && self.stderr.ended.is_some()
    }

    /// Something printed after a marker: a background process the script
    /// left holds the shell's output, and would mix into the next answer.
    pub fn overrun(&self) -> bool {
        self.stdout.overrun || self.stderr.overrun
    }

    /// The script's output and exit code, once [`Reply::complete`].
    pub fn output(self) -> ExecOutput {
        let rc = self
            .stdout
            .ended
            .as_ref()
            .and_then(|e| std::str::from_utf8(&e.tail).ok())
            .and_then(|rc| rc.trim().parse().ok())
            .unwrap_or(-1);
        self.unfinished(rc)
    }

    /// What came before the markers, or before the channel ended without
    /// them (the shell never started, say sudo refused: then everything,
    /// as a channel gives it), with `rc`.
    pub fn unfinished(self, rc: i32) -> ExecOutput {
        let (stdout, out_cut) = self.stdout.into_text();
        let (stderr, err_cut) = self.stderr.into_text();
        ExecOutput {
            rc,
            stdout,
            stderr,
            timed_out: false,
            truncated: out_cut || err_cut,
        }
    }
}

/// Output kept past the cap while the marker is looked for, so that a
/// marker split by the cut is still found.
const SEARCH_TAIL: usize = 64 << 10;

/// One stream, read until its marker and the end of the marker's line.
struct Marked {
    marker: Vec<u8>,
    bytes: Vec<u8>,
    cut: bool,
    /// Where the marker starts, once seen.
    found: Option<usize>,
    ended: Option<Ended>,
    overrun: bool,
}

struct Ended {
    /// The marker's position in `bytes`.
    at: usize,
    /// The rest of the marker's line.
    tail: Vec<u8>,
}

impl Marked {
    fn new(marker: String) -> Marked {
        Marked {
            marker: marker.into_bytes(),
            bytes: Vec::new(),
            cut: false,
            found: None,
            ended: None,
            overrun: false,
        }
    }

    fn take(&mut self, data: &[u8]) {
        if self.ended.is_some() {
            self.overrun |= !data.is_empty();
            return;
        }
        let before = self.bytes.len();
        self.bytes.extend_from_slice(data);
        if self.found.is_none() {
            let from = before.saturating_sub(self.marker.len());
            self.found = memchr::memmem::find(&self.bytes[from..], &self.marker).map(|i| from + i);
        }
        match self.found {
            Some(at) => {
                let rest = at + self.marker.len();
                if let Some(newline) = memchr::memchr(b'\n', &self.bytes[rest..]) {
                    let line_end = rest + newline;
                    self.overrun = line_end + 1 < self.bytes.len();
                    self.ended = Some(Ended {
                        at,
                        tail: self.bytes[rest..line_end].to_vec(),
                    });
                }
            }
            // Past the cap, only a tail is kept to find the marker in.
            None if self.bytes.len() > OUTPUT_CAP + 2 * SEARCH_TAIL => {
                let keep_from = self.bytes.len() - SEARCH_TAIL;
                self.bytes.drain(OUTPUT_CAP..keep_from);
                self.cut = true;
            }
            None => {}
        }
    }

    /// The script's part of the stream, at most [`OUTPUT_CAP`] bytes, and
    /// whether some was dropped.
    fn into_text(mut self) -> (Vec<u8>, bool) {
        let end = self.ended.as_ref().map_or(self.bytes.len(), |e| e.at);
        let keep = end.min(OUTPUT_CAP);
        let cut = self.cut || end > OUTPUT_CAP;
        self.bytes.truncate(keep);
        (self.bytes, cut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::process::{Child, Command, Stdio};

    /// A resident shell on this machine, fed the way a channel feeds one.
    struct Shell {
        child: Child,
        serial: u32,
    }

    /// The shells a host may have as `/bin/sh`: this machine's (dash, as
    /// on Debian), started as a channel starts it, and bash in POSIX mode
    /// (Red Hat's `/bin/sh`), which reads its input a byte at a time.
    const SHELLS: [(&str, Start); 2] = [("sh", Shell::start), ("bash", Shell::bash)];

    type Start = fn() -> Shell;

    impl Shell {
        fn start() -> Shell {
            Shell::spawn(Command::new("/bin/sh").args(["-c", START]))
        }

        fn bash() -> Shell {
            Shell::spawn(Command::new("bash").args(["--posix", "-s"]))
        }

        fn spawn(command: &mut Command) -> Shell {
            let mut child = command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .as_mut()
                .unwrap()
                .write_all(PREAMBLE.as_bytes())
                .unwrap();
            Shell { child, serial: 0 }
        }

        fn run(&mut self, script: &str, stdin: &[u8]) -> ExecOutput {
            self.serial += 1;
            let nonce = format!("t{}x{}", std::process::id(), self.serial);
            let input = self.child.stdin.as_mut().unwrap();
            input.write_all(&request(script, stdin, &nonce)).unwrap();
            input.flush().unwrap();
            let mut reply = Reply::new(&nonce);
            // Both markers come after the script ended: read stdout to its
            // marker, then stderr to its own.
            fn read_to_marker(pipe: &mut impl Read, marked: &mut Marked) {
                let mut chunk = [0u8; 4096];
                while marked.ended.is_none() {
                    let n = pipe.read(&mut chunk).unwrap();
                    assert!(n > 0, "the shell ended");
                    marked.take(&chunk[..n]);
                }
            }
            read_to_marker(self.child.stdout.as_mut().unwrap(), &mut reply.stdout);
            read_to_marker(self.child.stderr.as_mut().unwrap(), &mut reply.stderr);
            assert!(reply.complete() && !reply.overrun());
            reply.output()
        }
    }

    #[test]
    fn one_shell_runs_script_after_script_with_their_own_output_and_exit_codes() {
        for (name, start) in SHELLS {
            let mut sh = start();
            let out = sh.run("echo 'it''s'; echo warn >&2; exit 3", b"");
            assert_eq!(
                (out.rc, &out.stdout[..], &out.stderr[..]),
                (3, &b"its\n"[..], &b"warn\n"[..]),
                "{name}"
            );
            // No newline at the end of the output: none is added.
            let out = sh.run("printf x", b"");
            assert_eq!((out.rc, &out.stdout[..]), (0, &b"x"[..]), "{name}");
            // The shell's stdin is not the script's.
            let out = sh.run("cat; echo read", b"");
            assert_eq!(out.stdout, b"read\n", "{name}");
            // A variable or a cd of one script is not the next one's.
            sh.run("x=1; cd /", b"");
            let out = sh.run("echo \"[$x]\"; pwd", b"");
            assert_ne!(out.stdout, b"[1]\n/\n", "{name}");
            assert!(out.stdout.starts_with(b"[]\n"), "{name}: {out:?}");
        }
    }

    #[test]
    fn a_broken_script_ends_its_subshell_not_the_shell() {
        // What each shell says of an unterminated quote.
        for ((name, start), says) in SHELLS.into_iter().zip(["Unterminated", "unexpected EOF"]) {
            let mut sh = start();
            let out = sh.run("echo 'unterminated", b"");
            assert_eq!(out.rc, 2, "{name}");
            assert!(
                String::from_utf8_lossy(&out.stderr).contains(says),
                "{name}: {out:?}"
            );
            let out = sh.run("exec sh -c 'kill -TERM $$'", b"");
            assert_eq!(out.rc, 128 + 15, "{name}");
            assert_eq!(sh.run("echo alive", b"").stdout, b"alive\n", "{name}");
        }
    }

    #[test]
    fn stdin_arrives_byte_for_byte_as_text_or_as_base64() {
        let binary: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        for (name, start) in SHELLS {
            let mut sh = start();
            let text = b"line one\n_TEND_x_IN\n'quoted' $HOME `no`\n";
            assert_eq!(sh.run("cat", text).stdout, text, "{name}");
            assert_eq!(sh.run("cat", &binary).stdout, binary, "{name}");
            assert_eq!(sh.run("cat", b"no newline").stdout, b"no newline", "{name}");
            // A script that reads none of it does not leave it to the shell.
            let out = sh.run("echo skipped", &binary);
            assert_eq!(
                (out.rc, &out.stdout[..], &out.stderr[..]),
                (0, &b"skipped\n"[..], &b""[..]),
                "{name}"
            );
            assert_eq!(sh.run("echo next", b"").stdout, b"next\n", "{name}");
        }
    }

    #[test]
    fn text_stdin_is_also_in_a_variable_for_this_request_only() {
        assert!(PREAMBLE.contains(&format!("unset {STDIN_VAR};")));
        let show = format!("printf '[%s]' \"${{{STDIN_VAR}-unset}}\"");
        let text = b"a 'quoted' \\ $HOME `x`\n\xe9\n";
        for (name, start) in SHELLS {
            let mut sh = start();
            assert_eq!(
                sh.run(&show, text).stdout,
                &b"[a 'quoted' \\ $HOME `x`\n\xe9]"[..],
                "{name}"
            );
            assert_eq!(sh.run(&show, b"").stdout, b"[unset]", "{name}");
            assert_eq!(sh.run(&show, b"no newline").stdout, b"[unset]", "{name}");
            assert_eq!(sh.run(&show, b"nul\0\n").stdout, b"[unset]", "{name}");
        }
    }

    #[test]
    fn a_request_cut_short_runs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mark = dir.path().join("ran");
        let script = format!("cat > /dev/null; touch {}", mark.display());
        for ((name, start), stdin) in SHELLS
            .into_iter()
            .flat_map(|s| [(s, &b""[..]), (s, b"text\n"), (s, b"\0binary")])
        {
            let whole = request(&script, stdin, "cut");
            // Up to the group's closing brace, the shell has not run it.
            let brace = whole.iter().rposition(|&b| b == b'}').unwrap();
            for cut in (0..brace).step_by(5) {
                let mut sh = start();
                let mut input = sh.child.stdin.take().unwrap();
                input.write_all(&whole[..cut]).unwrap();
                drop(input);
                sh.child.wait().unwrap();
                assert!(
                    !mark.exists(),
                    "{name} ran it when cut after {cut} bytes: {:?}",
                    String::from_utf8_lossy(&whole[..cut])
                );
            }
        }
    }

    #[test]
    fn a_marker_split_across_reads_or_cut_by_the_cap_is_still_found() {
        let mut reply = Reply::new("n1");
        for byte in b"out\n__TEND_n1_RC 7\n" {
            reply.take_stdout(&[*byte]);
        }
        reply.take_stderr(b"\n__TEND_n1_ERR\n");
        assert!(reply.complete() && !reply.overrun());
        let out = reply.output();
        assert_eq!(
            (out.rc, &out.stdout[..], out.truncated),
            (7, &b"out"[..], false)
        );

        let mut reply = Reply::new("n2");
        let block = vec![b'a'; 1 << 20];
        for _ in 0..(OUTPUT_CAP >> 20) + 1 {
            reply.take_stdout(&block);
        }
        reply.take_stdout(b"\n__TEND_n2");
        reply.take_stdout(b"_RC 0\n");
        reply.take_stderr(b"\n__TEND_n2_ERR\nlate");
        assert!(reply.complete() && reply.overrun());
        let out = reply.output();
        assert_eq!((out.stdout.len(), out.truncated), (OUTPUT_CAP, true));
    }

    #[test]
    fn a_marker_without_this_requests_nonce_is_output() {
        let mut reply = Reply::new("right");
        reply.take_stdout(b"\n__TEND_wrong_RC 0\n");
        reply.take_stderr(b"\n__TEND_right_ERR\n");
        assert!(!reply.complete());
        reply.take_stdout(b"\n__TEND_right_RC 1\n");
        let out = reply.output();
        assert_eq!(
            (out.rc, &out.stdout[..]),
            (1, &b"\n__TEND_wrong_RC 0\n"[..])
        );
    }
}
