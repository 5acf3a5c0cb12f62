//! The waiting loop, run on the managed host as one `/bin/sh` step: a port
//! is tried with bash's `/dev/tcp` (or `nc -z`), a path with `test -e`,
//! text with `grep -P` (Python's regex dialect is close to PCRE; plain
//! `grep -E` where grep has no `-P`), connections with `ss`. It prints
//! `done N`, `timeout N` or `fail N <base64 message>` (N: seconds waited),
//! and for a search what matched, for the match groups.

use super::{Target, Wait};
use crate::shell::EXIT_ON_SIGNALS;
use crate::shell::quote;

/// The most text brought back for match groups.
const MAX_DATA: u32 = 1024 * 1024;

pub(super) fn script(w: &Wait) -> String {
    let mut s = format!(
        "start=$(date +%s)\nend=$((start + {timeout}))\nif [ {delay} -gt 0 ]; then sleep {delay}; fi\n\
         elapsed() {{ echo $(( $(date +%s) - start )); }}\n\
         left() {{ l=$((end - $(date +%s))); if [ \"$l\" -lt 1 ]; then l=1; fi; echo \"$l\"; }}\n",
        timeout = w.timeout,
        delay = w.delay,
    );
    if let Some(re) = &w.search_regex {
        // grep -P with -z reads the whole text as one record; (?m) gives
        // Python's MULTILINE anchors.
        s.push_str(&format!(
            "re={}\nif printf 'a' | grep -Pq 'a' 2>/dev/null; then g='grep -Pzq'; re=\"(?m)$re\"; else g='grep -Eq'; fi\n",
            quote(re)
        ));
    }
    let ct = w.connect_timeout;
    let check = match &w.target {
        Target::Sleep => {
            // Neither port nor path: Ansible sleeps for the whole timeout.
            s.push_str(&format!("sleep {}\necho \"done $(elapsed)\"\n", w.timeout));
            return s;
        }
        Target::Port { host, port } => {
            let (h, p) = (quote(host), port);
            s.push_str(&format!(
                "if command -v bash >/dev/null 2>&1; then\n  \
                 conn() {{ timeout \"$1\" bash -c 'exec 3<>\"/dev/tcp/$0/$1\"' {h} {p} 2>/dev/null; }}\n\
                 elif command -v nc >/dev/null 2>&1; then\n  conn() {{ nc -z -w \"$1\" {h} {p} 2>/dev/null; }}\n\
                 else\n  echo 'client none'\n  exit 0\nfi\n\
                 ct() {{ l=$(left); if [ \"$l\" -gt {ct} ]; then echo {ct}; else echo \"$l\"; fi; }}\n"
            ));
            if w.search_regex.is_some() {
                // Read what the server says, a second at a time, until the
                // text matches, the server closes, or time runs out.
                s.push_str(&format!(
                    "d=$(mktemp) || exit 1\ntrap 'rm -f \"$d\"' EXIT\n{EXIT_ON_SIGNALS}\
                     readmatch() {{ timeout \"$(left)\" bash -c 'exec 3<>\"/dev/tcp/$0/$1\" || exit 2; : > \"$2\"\n\
                     while :; do line=; IFS= read -r -t 1 -u 3 line; rc=$?\n\
                     if [ $rc -eq 0 ]; then printf \"%s\\n\" \"$line\" >> \"$2\"; else printf \"%s\" \"$line\" >> \"$2\"; fi\n\
                     if $3 -- \"$4\" \"$2\"; then exit 0; fi\n\
                     if [ $rc -ne 0 ] && [ $rc -le 128 ]; then exit 1; fi; done' {h} {p} \"$d\" \"$g\" \"$re\" 2>/dev/null; }}\n"
                ));
                "readmatch"
            } else {
                "conn \"$(ct)\""
            }
        }
        Target::Path(path) => {
            s.push_str(&format!(
                "p={}\n\
                 present() {{ if [ -e \"$p\" ]; then return 0; fi\n  \
                 e=$(LC_ALL=C stat -L -- \"$p\" 2>&1 >/dev/null)\n  \
                 case $e in *'No such file'*|*'Not a directory'*|'') return 1;; esac\n  \
                 printf 'fail %s ' \"$(elapsed)\"; printf 'Failed to stat %s, %s' \"$p\" \"${{e##*: }}\" | base64 -w0; echo; exit 0; }}\n",
                quote(path)
            ));
            if w.search_regex.is_some() {
                "{ present && $g -- \"$re\" \"$p\" 2>/dev/null; }"
            } else {
                "present"
            }
        }
        Target::Drained {
            host,
            port,
            states,
            exclude,
        } => {
            let states = states.join(" ");
            let exclude = exclude.join(" ");
            s.push_str(&format!(
                "command -v ss >/dev/null 2>&1 || {{ echo 'client none'; exit 0; }}\n\
                 active() {{ ss -Htan 2>/dev/null | awk -v port={port} -v host={h} -v states={st} -v ex={ex} '\n\
                 BEGIN {{ n = split(states, s, \" \"); for (i = 1; i <= n; i++) want[s[i]] = 1; m = split(ex, x, \" \"); for (i = 1; i <= m; i++) skip[x[i]] = 1 }}\n\
                 function ip(a) {{ sub(/:[0-9*]+$/, \"\", a); gsub(/[][]/, \"\", a); sub(/^::ffff:/, \"\", a); sub(/%.*/, \"\", a); return a }}\n\
                 function prt(a) {{ sub(/.*:/, \"\", a); return a }}\n\
                 want[$1] && prt($4) == port && !skip[ip($5)] && (host == \"0.0.0.0\" || host == \"::\" || ip($4) == host) {{ c++ }}\n\
                 END {{ exit c > 0 ? 0 : 1 }}'; }}\n",
                h = quote(host),
                st = quote(&states),
                ex = quote(&exclude),
            ));
            "! active"
        }
    };
    // started/present wait for the check to pass, stopped/absent for it to fail.
    let negate = if w.stop { "!" } else { "" };
    s.push_str(&format!(
        "while :; do\n  if {negate} {check}; then break; fi\n  \
         if [ \"$(date +%s)\" -ge \"$end\" ]; then echo \"timeout $(elapsed)\"; exit 0; fi\n  \
         sleep {sleep}\n  \
         if [ \"$(date +%s)\" -ge \"$end\" ]; then echo \"timeout $(elapsed)\"; exit 0; fi\ndone\n\
         echo \"done $(elapsed)\"\n",
        sleep = w.sleep,
    ));
    if w.search_regex.is_some() {
        let source = match &w.target {
            Target::Path(_) => "\"$p\"",
            _ => "\"$d\"",
        };
        s.push_str(&format!(
            "printf 'data '; head -c {MAX_DATA} {source} 2>/dev/null | base64 -w0; echo\n"
        ));
    }
    if let Target::Path(_) = &w.target {
        s.push_str(
            "if [ -e \"$p\" ] || [ -L \"$p\" ]; then printf 'stat '; stat -c '%u %g %a %s %h %F|%U|%G' -- \"$p\" 2>/dev/null; fi\n",
        );
    }
    s
}
