//! Ansible's string filters: regular expressions (Python `re` semantics on
//! the `regex` crate), base64, hashes, shell quoting (`shlex.quote`) and
//! `to_uuid`. Path filters are in `filters_path.rs`.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use minijinja::value::{Kwargs, Rest, Value as MjValue};
use minijinja::{Environment, Error};
use regex::{Regex, RegexBuilder};

use super::convert::{arg, as_text, op_err};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("regex_escape", |s: &MjValue| -> Result<String, Error> {
        Ok(regex_escape(&as_text("regex_escape", s)?))
    });
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter(
        "hash",
        |v: &MjValue, kind: Option<String>, kwargs: Kwargs| -> Result<String, Error> {
            let kind = arg(kind, &kwargs, "hashtype")?;
            kwargs.assert_all_used()?;
            hash(&as_text("hash", v)?, kind.as_deref().unwrap_or("sha1"))
        },
    );
    env.add_filter("checksum", |v: &MjValue| {
        hash(&as_text("checksum", v)?, "sha1")
    });
    env.add_filter("sha1", |v: &MjValue| hash(&as_text("sha1", v)?, "sha1"));
    env.add_filter("md5", |v: &MjValue| hash(&as_text("md5", v)?, "md5"));
    env.add_filter("quote", |v: &MjValue| -> Result<String, Error> {
        Ok(shell_quote(&as_text("quote", v)?))
    });
    env.add_filter(
        "to_uuid",
        |v: &MjValue, namespace: Option<String>, kwargs: Kwargs| -> Result<String, Error> {
            let namespace = arg(namespace, &kwargs, "namespace")?;
            kwargs.assert_all_used()?;
            to_uuid(&as_text("to_uuid", v)?, namespace.as_deref())
        },
    );
}

/// Compiles a Python-flavoured pattern with Python's flags.
fn compile(what: &str, pattern: &str, ignorecase: bool, multiline: bool) -> Result<Regex, Error> {
    RegexBuilder::new(pattern)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| {
            op_err(
                what,
                format!("invalid regular expression '{pattern}' (look-around and backreferences are not supported): {e}"),
            )
        })
}

fn flags(kwargs: &Kwargs) -> Result<(bool, bool), Error> {
    Ok((
        kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false),
        kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false),
    ))
}

/// `regex_replace(pattern, replacement, ignorecase=False, multiline=False, count=0)`.
fn regex_replace(
    value: &MjValue,
    pattern: String,
    replacement: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let text = as_text("regex_replace", value)?;
    let (ignorecase, multiline) = flags(&kwargs)?;
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let re = compile("regex_replace", &pattern, ignorecase, multiline)?;
    let replacement = python_replacement(replacement.as_deref().unwrap_or(""));
    Ok(re.replacen(&text, count, replacement.as_str()).into_owned())
}

/// Python's `re.sub` template (`\1`, `\g<name>`, `\n`) in the regex crate's
/// syntax (`${1}`, `${name}`, `$$` for a literal dollar).
fn python_replacement(repl: &str) -> String {
    let mut out = String::with_capacity(repl.len());
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.next() {
                Some(d) if d.is_ascii_digit() => {
                    let mut group = d.to_string();
                    if let Some(&d2) = chars.peek().filter(|c| c.is_ascii_digit()) {
                        group.push(d2);
                        chars.next();
                    }
                    out.push_str(&format!("${{{group}}}"));
                }
                Some('g') if chars.peek() == Some(&'<') => {
                    chars.next();
                    let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                    out.push_str(&format!("${{{name}}}"));
                }
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

/// `regex_search(pattern, '\\1', '\\g<name>', ignorecase=, multiline=)`: the
/// first match, or with group arguments the list of those groups; None if no
/// match.
fn regex_search(
    value: &MjValue,
    pattern: String,
    groups: Rest<MjValue>,
    kwargs: Kwargs,
) -> Result<MjValue, Error> {
    let text = as_text("regex_search", value)?;
    let (ignorecase, multiline) = flags(&kwargs)?;
    kwargs.assert_all_used()?;
    let re = compile("regex_search", &pattern, ignorecase, multiline)?;
    let Some(caps) = re.captures(&text) else {
        return Ok(MjValue::from(()));
    };
    if groups.is_empty() {
        return Ok(MjValue::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    let mut out = Vec::new();
    for g in groups.iter() {
        let g = g.as_str().unwrap_or_default();
        let m = if let Some(name) = g.strip_prefix("\\g<").and_then(|r| r.strip_suffix('>')) {
            caps.name(name)
        } else if let Some(n) = g.strip_prefix('\\').and_then(|n| n.parse::<usize>().ok()) {
            caps.get(n)
        } else {
            return Err(op_err(
                "regex_search",
                format!("unknown argument '{g}' (expected '\\\\N' or '\\\\g<name>')"),
            ));
        };
        out.push(m.map_or(MjValue::from(()), |m| MjValue::from(m.as_str())));
    }
    Ok(MjValue::from(out))
}

/// `regex_findall(pattern, multiline=False, ignorecase=False)`, as `re.findall`:
/// whole matches without groups, the group with one, lists with several.
fn regex_findall(value: &MjValue, pattern: String, kwargs: Kwargs) -> Result<MjValue, Error> {
    let text = as_text("regex_findall", value)?;
    let (ignorecase, multiline) = flags(&kwargs)?;
    kwargs.assert_all_used()?;
    let re = compile("regex_findall", &pattern, ignorecase, multiline)?;
    let text_of = |m: Option<regex::Match<'_>>| MjValue::from(m.map_or("", |m| m.as_str()));
    let out: Vec<MjValue> = re
        .captures_iter(&text)
        .map(|caps| match caps.len() {
            1 => text_of(caps.get(0)),
            2 => text_of(caps.get(1)),
            n => MjValue::from((1..n).map(|i| text_of(caps.get(i))).collect::<Vec<_>>()),
        })
        .collect();
    Ok(MjValue::from(out))
}

/// Python 3.7+ `re.escape`: only regex-special characters and whitespace.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\u{0b}\u{0c}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn b64encode(value: &MjValue, encoding: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let encoding = arg(encoding, &kwargs, "encoding")?;
    kwargs.assert_all_used()?;
    let text = as_text("b64encode", value)?;
    let bytes = encode(&text, encoding.as_deref())?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn b64decode(value: &MjValue, encoding: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let encoding = arg(encoding, &kwargs, "encoding")?;
    kwargs.assert_all_used()?;
    let text = as_text("b64decode", value)?;
    let engine = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = engine
        .decode(cleaned.as_bytes())
        .map_err(|e| op_err("b64decode", e))?;
    match encoding.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("utf-16-le" | "utf-16le") => {
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|c| {
                    u16::from_le_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ])
                })
                .collect();
            Ok(String::from_utf16_lossy(&units))
        }
        None | Some("utf-8" | "utf8") => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Some(other) => Err(op_err(
            "b64decode",
            format!("unsupported encoding '{other}'"),
        )),
    }
}

fn encode(text: &str, encoding: Option<&str>) -> Result<Vec<u8>, Error> {
    match encoding.map(str::to_ascii_lowercase).as_deref() {
        None | Some("utf-8" | "utf8") => Ok(text.as_bytes().to_vec()),
        Some("utf-16-le" | "utf-16le") => {
            Ok(text.encode_utf16().flat_map(u16::to_le_bytes).collect())
        }
        Some(other) => Err(op_err(
            "b64encode",
            format!("unsupported encoding '{other}'"),
        )),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash(text: &str, kind: &str) -> Result<String, Error> {
    use sha2::Digest;
    let data = text.as_bytes();
    Ok(match kind {
        "sha1" => hex(&sha1::Sha1::digest(data)),
        "md5" => hex(&md5::Md5::digest(data)),
        "sha224" => hex(&sha2::Sha224::digest(data)),
        "sha256" => hex(&sha2::Sha256::digest(data)),
        "sha384" => hex(&sha2::Sha384::digest(data)),
        "sha512" => hex(&sha2::Sha512::digest(data)),
        other => {
            return Err(op_err(
                "hash",
                format!(
                    "unsupported hash type '{other}' (md5, sha1, sha224, sha256, sha384, sha512)"
                ),
            ));
        }
    })
}

/// Python's `shlex.quote`.
pub(crate) fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    let safe = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\"'\"'"))
    }
}

/// `to_uuid`: a version-5 UUID in Ansible's namespace (or the given one).
fn to_uuid(name: &str, namespace: Option<&str>) -> Result<String, Error> {
    use sha1::Digest;
    let ns = namespace.unwrap_or("361E6D51-FAEC-444A-9079-341386DA8E2E");
    let ns_hex: String = ns.chars().filter(|c| *c != '-').collect();
    if ns_hex.len() != 32 || !ns_hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(op_err("to_uuid", format!("invalid namespace UUID '{ns}'")));
    }
    let mut data = Vec::with_capacity(16 + name.len());
    for i in 0..16 {
        data.push(
            u8::from_str_radix(&ns_hex[2 * i..2 * i + 2], 16).map_err(|e| op_err("to_uuid", e))?,
        );
    }
    data.extend_from_slice(name.as_bytes());
    let digest = sha1::Sha1::digest(&data);
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}
