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

/// The shell function probes use to print one section: `TAG RC BASE64`.
/// Base64 keeps whatever a command printed on one line, so the parser never
/// has to guess where a section ends.
pub const SECTION_FN: &str =
    "tend_sec() { printf '%s %s %s\\n' \"$1\" \"$2\" \"$(printf '%s' \"$3\" | base64 -w0)\"; }\n";

/// One section of a probe's output: what a command printed and its status.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub tag: String,
    pub rc: i32,
    pub text: String,
}

/// Reads the `TAG RC BASE64` lines a probe printed. Anything else is an
/// error: the host's answer is untrusted.
pub fn sections(module: &str, out: &[u8]) -> Result<Vec<Section>, TaskError> {
    let bad = |what: String| {
        TaskError::new(format!(
            "{module}: could not read the host's answer to the probe: {}",
            crate::clip(&what)
        ))
    };
    let text = std::str::from_utf8(out).map_err(|_| bad("it is not UTF-8".into()))?;
    let mut found = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let mut words = line.split(' ');
        let (Some(tag), Some(rc), data, None) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            return Err(bad(format!("unexpected line {line:?}")));
        };
        let rc: i32 = rc
            .parse()
            .map_err(|_| bad(format!("unexpected line {line:?}")))?;
        let bytes = crate::probe::decode(data.unwrap_or(""))
            .map_err(|_| bad(format!("bad base64 in the {tag} section")))?;
        let text =
            String::from_utf8(bytes).map_err(|_| bad(format!("the {tag} section is not UTF-8")))?;
        found.push(Section {
            tag: tag.to_string(),
            rc,
            text,
        });
    }
    Ok(found)
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
    fn sections_are_decoded() {
        let s = sections("m", b"live 0 LVAgSU5QVVQgQUNDRVBU\ncheck 1 \n").unwrap();
        assert_eq!(s[0].text, "-P INPUT ACCEPT");
        assert_eq!(
            (s[1].tag.as_str(), s[1].rc, s[1].text.as_str()),
            ("check", 1, "")
        );
        assert!(section("m", &s, "nope").is_err());
    }

    #[test]
    fn garbage_is_an_error() {
        for junk in [
            &b"live x abc\n"[..],
            b"live 0 !!\n",
            b"\xff\n",
            b"a 0 b c\n",
            b"solo\n",
        ] {
            assert!(sections("m", junk).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn the_section_function_round_trips_through_sh() {
        let script = format!(
            "{SECTION_FN}o=$(printf 'a b\\n\\nc'); tend_sec x $? \"$o\"\ntend_sec y 3 ''\n"
        );
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        let s = sections("m", &out.stdout).unwrap();
        assert_eq!(s[0].text, "a b\n\nc");
        assert_eq!((s[1].rc, s[1].text.as_str()), (3, ""));
    }
}
