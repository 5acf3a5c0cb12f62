//! What the `iptables` and `iptables_rules` modules share: the tables and
//! their built-in chains, the tools of each IP version, the argument list of
//! one rule (`argv`), `iptables -S` output (`listing`), iptables-save text
//! (`ruleset`), the dead-man timer that takes back a ruleset which cut SSH
//! (`deadman`), and the parser of what their probes print.

pub mod argv;
pub mod deadman;
pub mod listing;
pub mod ruleset;

use crate::TaskError;

/// The tables iptables knows, as Ansible's `table` choices.
pub const TABLES: &[&str] = &["filter", "nat", "mangle", "raw", "security"];

/// The built-in chains of `table`, in the order iptables-save lists them.
pub fn builtin_chains(table: &str) -> &'static [&'static str] {
    match table {
        "nat" => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        "mangle" => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
        "raw" => &["PREROUTING", "OUTPUT"],
        _ => &["INPUT", "FORWARD", "OUTPUT"],
    }
}

/// The programs of one IP version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tools {
    pub iptables: &'static str,
    pub save: &'static str,
    pub restore: &'static str,
    /// `ipv4` or `ipv6`, as the parameter says it.
    pub version: &'static str,
}

impl Tools {
    pub fn for_version(ip_version: Option<&str>) -> Tools {
        match ip_version {
            Some("ipv6") => Tools {
                iptables: "ip6tables",
                save: "ip6tables-save",
                restore: "ip6tables-restore",
                version: "ipv6",
            },
            _ => Tools {
                iptables: "iptables",
                save: "iptables-save",
                restore: "iptables-restore",
                version: "ipv4",
            },
        }
    }
}

/// The shell function probes use to print one section: a `TAG RC` line,
/// then each line of what the command printed behind a `|`, so that no
/// output can look like the next section. The shell does that itself (a
/// here-document, `read`, `printf`), with no process per section; but it
/// reads a byte at a time, so a long text (a big rule set) is sent as
/// `TAG RC BASE64` on one line instead.
pub const SECTION_FN: &str = "tend_sec() {\n  \
     if [ ${#3} -gt 4096 ]; then printf '%s %s %s\\n' \"$1\" \"$2\" \"$(printf '%s' \"$3\" | base64 -w0)\"; return; fi\n  \
     printf '%s %s\\n' \"$1\" \"$2\"\n  \
     while IFS= read -r __tend_l; do printf '|%s\\n' \"$__tend_l\"; done <<__TEND_SEC\n$3\n__TEND_SEC\n}\n";

/// One section of a probe's output: what a command printed and its status.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub tag: String,
    pub rc: i32,
    pub text: String,
}

/// What [`SECTION_FN`] prints for a command that printed `text` (without
/// trailing newlines, as `$(...)` keeps it) and exited `rc`.
#[cfg(test)]
pub fn section_text(tag: &str, rc: i32, text: &str) -> String {
    let mut out = format!("{tag} {rc}\n");
    for line in text.split('\n') {
        out.push_str(&format!("|{line}\n"));
    }
    out
}

/// Reads the sections a probe printed with [`SECTION_FN`]. Anything else
/// is an error: the host's answer is untrusted.
pub fn sections(module: &str, out: &[u8]) -> Result<Vec<Section>, TaskError> {
    let bad = |what: String| {
        TaskError::new(format!(
            "{module}: could not read the host's answer to the probe: {}",
            crate::clip(&what)
        ))
    };
    let text = std::str::from_utf8(out).map_err(|_| bad("it is not UTF-8".into()))?;
    // Each section, and whether its text is still to come line by line
    // (`Some(lines so far)`) or came whole, in base64 (`None`).
    let mut found: Vec<(Section, Option<usize>)> = Vec::new();
    let unfinished = |found: &[(Section, Option<usize>)]| match found.last() {
        Some((section, Some(0))) => Err(bad(format!("the {} section has no text", section.tag))),
        _ => Ok(()),
    };
    for line in text.lines() {
        if let Some(body) = line.strip_prefix('|') {
            let Some((section, Some(lines))) = found.last_mut() else {
                return Err(bad(format!("unexpected line {line:?}")));
            };
            if *lines > 0 {
                section.text.push('\n');
            }
            section.text.push_str(body);
            *lines += 1;
            continue;
        }
        unfinished(&found)?;
        let mut words = line.split(' ');
        let (Some(tag), Some(rc), data, None) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            return Err(bad(format!("unexpected line {line:?}")));
        };
        let rc: i32 = rc
            .parse()
            .map_err(|_| bad(format!("unexpected line {line:?}")))?;
        let text = match data {
            None => String::new(),
            Some(data) => {
                let bytes = crate::probe::decode(data)
                    .map_err(|_| bad(format!("bad base64 in the {tag} section")))?;
                String::from_utf8(bytes)
                    .map_err(|_| bad(format!("the {tag} section is not UTF-8")))?
            }
        };
        let lines = data.is_none().then_some(0);
        let tag = tag.to_string();
        found.push((Section { tag, rc, text }, lines));
    }
    unfinished(&found)?;
    Ok(found.into_iter().map(|(s, _)| s).collect())
}

/// The section tagged `tag`, which the probe always prints.
pub fn section<'a>(module: &str, all: &'a [Section], tag: &str) -> Result<&'a Section, TaskError> {
    all.iter().find(|s| s.tag == tag).ok_or_else(|| {
        TaskError::new(format!(
            "{module}: could not read the host's answer to the probe: no {tag} section"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_read() {
        let out = format!(
            "{}{}",
            section_text("live", 0, "-P INPUT ACCEPT\n|x"),
            section_text("check", 1, "")
        );
        let s = sections("m", out.as_bytes()).unwrap();
        assert_eq!(s[0].text, "-P INPUT ACCEPT\n|x");
        assert_eq!(
            (s[1].tag.as_str(), s[1].rc, s[1].text.as_str()),
            ("check", 1, "")
        );
        assert!(section("m", &s, "nope").is_err());
    }

    #[test]
    fn garbage_is_an_error() {
        for junk in [
            &b"live x\n|abc\n"[..],
            b"live 0\n",
            b"|text before any section\n",
            b"live 0\n|a\ncheck 1\n",
            b"\xff\n",
            b"a 0 b\n|c\n",
            b"solo\n",
            b"\n",
        ] {
            assert!(sections("m", junk).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn the_section_function_round_trips_through_sh() {
        let script = format!(
            "{SECTION_FN}o=$(printf 'a b\\n\\nc\\\\ d '); tend_sec x $? \"$o\"\ntend_sec y 3 ''\n\
             o=$(printf '\\n|z\\n__TEND_SEC\\ny 0\\n\\n' && echo .); tend_sec z 0 \"${{o%.}}\"\n"
        );
        let out = crate::content::testing::sh(&script, None);
        let s = sections("m", &out.stdout).unwrap();
        assert_eq!(s[0].text, "a b\n\nc\\ d ");
        assert_eq!((s[1].rc, s[1].text.as_str()), (3, ""));
        assert_eq!(s[2].text, "\n|z\n__TEND_SEC\ny 0\n\n");
        assert_eq!(s.len(), 3);
        // A long text comes whole, in base64; no text line may follow it.
        let long = "-A INPUT -j ACCEPT\n".repeat(300);
        let script = format!("{SECTION_FN}tend_sec big 0 '{long}'\ntend_sec after 1 x\n");
        let out = crate::content::testing::sh(&script, None);
        let s = sections("m", &out.stdout).unwrap();
        assert_eq!(
            (s[0].text.as_str(), s[1].text.as_str()),
            (long.as_str(), "x")
        );
        assert!(out.stdout.split(|b| *b == b'\n').count() < 5);
        assert!(sections("m", b"big 0 YQ==\n|b\n").is_err());
    }
}
