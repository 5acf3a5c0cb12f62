//! The one step that changes a site on the host, so that nginx never runs a
//! configuration it rejected: back up what is there, write the file
//! (atomically, with `write::atomic_write`'s script), make or remove the
//! link, and if what nginx serves changed, run `nginx -t`: on failure put
//! the backups back (or remove what did not exist) and fail with nginx's
//! message; on success reload nginx — through systemd when systemd runs it,
//! else with `nginx -s reload`, and not at all when nginx is not running.
//!
//! Backups and the new link are made in a hidden directory inside
//! sites-available: nginx includes `sites-enabled/*`, never that, and a
//! rename from there into either directory stays on one filesystem.

use super::Paths;
use crate::Step;
use crate::shell::quote;
use crate::write::{self, WriteOptions};

/// What happens to the link in sites-enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Link {
    Keep,
    Make,
    Remove,
}

/// One change to a site.
#[derive(Debug, Clone)]
pub(super) struct Change {
    /// New content for the file, if it changes.
    pub write: Option<Vec<u8>>,
    /// The file goes (`state: absent`).
    pub remove_file: bool,
    pub link: Link,
    /// What nginx serves changes: test and reload.
    pub live: bool,
}

pub(super) fn step(p: &Paths, c: &Change) -> Step {
    let mut s = format!(
        "a={}\ne={}\nt={}\nbk=$(mktemp -d {}/.tend-prev-XXXXXXXX) || exit 1\n",
        quote(&p.file),
        quote(&p.link),
        quote(&p.target),
        quote(&p.available_dir),
    );
    for f in ["a", "e"] {
        s.push_str(&format!(
            "if [ -e \"${f}\" ] || [ -L \"${f}\" ]; then cp -P -p -- \"${f}\" \"$bk/{f}\" || {{ rm -rf -- \"$bk\"; exit 1; }}; fi\n"
        ));
    }
    // Puts back what the change touched: the backup, or nothing at all
    // where nothing was.
    s.push_str("restore() {\n  :\n");
    if c.write.is_some() || c.remove_file {
        s.push_str(
            "  if [ -e \"$bk/a\" ] || [ -L \"$bk/a\" ]; then mv -f -- \"$bk/a\" \"$a\"; else rm -f -- \"$a\"; fi\n",
        );
    }
    if c.link != Link::Keep {
        s.push_str(
            "  if [ -e \"$bk/e\" ] || [ -L \"$bk/e\" ]; then mv -fT -- \"$bk/e\" \"$e\"; else rm -f -- \"$e\"; fi\n",
        );
    }
    s.push_str("  rm -rf -- \"$bk\"\n}\n");
    let mut stdin = None;
    if let Some(content) = &c.write {
        let w = write::atomic_write(&p.file, content.clone(), &WriteOptions::default());
        // A subshell keeps the write script's `set -e`, trap and variables
        // to itself; the content arrives on the step's stdin. A failed
        // write leaves the file as it was.
        s.push_str(&format!(
            "(\n{})\nif [ $? -ne 0 ]; then rm -rf -- \"$bk\"; exit 1; fi\n",
            w.script
        ));
        stdin = w.stdin;
    }
    if c.remove_file {
        s.push_str("rm -f -- \"$a\" || { restore; exit 1; }\n");
    }
    match c.link {
        Link::Keep => {}
        // Made beside the backups, then renamed over whatever is there.
        Link::Make => s.push_str(
            "{ ln -s -- \"$t\" \"$bk/new\" && mv -fT -- \"$bk/new\" \"$e\"; } || { restore; exit 1; }\n",
        ),
        Link::Remove => s.push_str("rm -f -- \"$e\" || { restore; exit 1; }\n"),
    }
    if c.live {
        s.push_str(&format!(
            "if ! out=$(nginx -t 2>&1); then\n  restore\n  printf '%s\\n' {} \"$out\" >&2\n  exit 1\nfi\n",
            quote(&format!(
                "nginx -t rejected the configuration with site {}; the site was put back as it was:",
                p.name
            ))
        ));
    }
    s.push_str("rm -rf -- \"$bk\"\n");
    if c.live {
        s.push_str(
            "if [ -d /run/systemd/system ] && systemctl is-active --quiet nginx; then\n\
             \x20 systemctl reload nginx || exit 1\n  echo reloaded\n\
             elif [ -s /run/nginx.pid ] && kill -0 \"$(cat /run/nginx.pid)\" 2>/dev/null; then\n\
             \x20 nginx -s reload || exit 1\n  echo reloaded\n\
             else\n  echo 'nginx is not running: not reloaded'\nfi\n",
        );
    }
    let step = Step::script(s);
    match stdin {
        Some(bytes) => step.with_stdin(bytes),
        None => step,
    }
}
