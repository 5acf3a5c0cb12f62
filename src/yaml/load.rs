//! Builds the positioned YAML tree from saphyr-parser's events.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::Path;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::scalar::resolve_plain;
use super::{Loc, Node, NodeValue, Source};
use crate::error::Error;

/// More nodes than this (after expanding aliases) is refused, so that a
/// "billion laughs" file cannot exhaust memory.
const MAX_NODES: usize = 1_000_000;
/// Deeper nesting than this is refused, so that recursion stays bounded.
const MAX_DEPTH: usize = 200;
/// Larger files than this are refused before they are parsed: a playbook,
/// vars or inventory file is text a person wrote, and a path such as
/// `/dev/zero` must not be read until memory runs out.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Reads and parses a YAML file. An empty file is `Null`.
pub fn load_file(path: &Path) -> Result<Node, Error> {
    let bytes = read_bounded(path)?;
    load_bytes(path, bytes)
}

/// Parses the bytes of a YAML file read from `path`: they must be UTF-8.
pub fn load_bytes(path: &Path, bytes: Vec<u8>) -> Result<Node, Error> {
    let text = String::from_utf8(bytes).map_err(|e| Error::Plain {
        message: format!(
            "{}: the file is not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ),
    })?;
    load_str(path, text)
}

/// Parses YAML text that came from `path` (used in messages). A file
/// encrypted whole with Ansible Vault is decrypted first, and its values are
/// secrets from then on.
pub fn load_str(path: &Path, text: String) -> Result<Node, Error> {
    // Editors on Windows may start a file with a byte-order mark; it is no
    // part of the text, and positions count from after it.
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    };
    let (text, vaulted) = crate::vault::file_text(path, text)?;
    let node = parse(path, text)?;
    if vaulted {
        crate::redact::register_strings(&node.to_value());
    }
    Ok(node)
}

/// The bytes of `path`, refused past [`MAX_FILE_BYTES`].
pub fn read_bounded(path: &Path) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, &e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::plain(format!(
            "{}: the file is larger than {} MiB; tend refuses to load it",
            path.display(),
            MAX_FILE_BYTES >> 20
        )));
    }
    Ok(bytes)
}

fn parse(path: &Path, text: String) -> Result<Node, Error> {
    let source = Arc::new(Source {
        path: path.to_path_buf(),
        text,
    });
    let mut builder = Builder {
        source: source.clone(),
        anchors: HashMap::new(),
        nodes: 0,
        aliased: 0,
    };
    let text = source.text.as_str();
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    loop {
        let (event, _) = next(&mut parser, &source)?;
        match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                let (event, span) = next(&mut parser, &source)?;
                if matches!(event, Event::DocumentEnd) {
                    docs.push(Node {
                        value: NodeValue::Null,
                        loc: builder.loc(span),
                    });
                    continue;
                }
                docs.push(builder.node(&mut parser, event, span, 0)?);
            }
            _ => {}
        }
    }
    match docs.len() {
        0 => Ok(Node {
            value: NodeValue::Null,
            loc: Loc {
                source,
                line: 1,
                col: 1,
            },
        }),
        1 => Ok(docs.remove(0)),
        _ => Err(Error::at(
            &docs[1].loc,
            "this file holds more than one YAML document; tend reads one per file",
        )),
    }
}

type Events<'a> = Parser<'a, saphyr_parser::StrInput<'a>>;

fn next<'a>(parser: &mut Events<'a>, source: &Arc<Source>) -> Result<(Event<'a>, Span), Error> {
    match parser.next_event() {
        Some(Ok(pair)) => Ok(pair),
        Some(Err(e)) => {
            let m = e.marker();
            let loc = Loc {
                source: source.clone(),
                line: m.line(),
                col: m.col() + 1,
            };
            let mut message = format!("malformed YAML: {}", e.info());
            if source.line(m.line()).is_some_and(|l| l.contains('\t')) {
                message.push_str(" (this line has a tab; YAML indents with spaces only)");
            }
            Err(Error::at(&loc, message))
        }
        None => Ok((Event::StreamEnd, Span::default())),
    }
}

struct Builder {
    source: Arc<Source>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    /// How many of `nodes` came from expanding aliases.
    aliased: usize,
}

impl Builder {
    fn loc(&self, span: Span) -> Loc {
        Loc {
            source: self.source.clone(),
            line: span.start.line(),
            col: span.start.col() + 1,
        }
    }

    fn count(&mut self, n: usize, loc: &Loc) -> Result<(), Error> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            let message = if self.aliased > 0 {
                format!(
                    "this YAML expands to more than {MAX_NODES} values through its aliases (aliases repeated too often?); refusing to load it"
                )
            } else {
                format!(
                    "this YAML holds more than {MAX_NODES} values; refusing to load a file this large"
                )
            };
            return Err(Error::at(loc, message));
        }
        Ok(())
    }

    fn node<'a>(
        &mut self,
        parser: &mut Events<'a>,
        event: Event<'a>,
        span: Span,
        depth: usize,
    ) -> Result<Node, Error> {
        let loc = self.loc(span);
        if depth > MAX_DEPTH {
            return Err(Error::at(
                &loc,
                format!("YAML nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.count(1, &loc)?;
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let forced_str = tag
                    .as_ref()
                    .is_some_and(|t| t.suffix == "str" || t.handle == "!");
                let vaulted = tag.as_ref().is_some_and(|t| {
                    t.handle == "!" && matches!(t.suffix.as_str(), "vault" | "vault-encrypted")
                });
                let value = if vaulted {
                    NodeValue::Str(crate::vault::inline_value(&loc, &text)?)
                } else if style == ScalarStyle::Plain && !forced_str {
                    resolve_plain(&text)
                } else {
                    NodeValue::Str(text.into_owned())
                };
                (Node { value, loc }, anchor)
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id).cloned() else {
                    return Err(Error::at(
                        &loc,
                        "this alias refers to an anchor that is not defined before it",
                    ));
                };
                let n = size(&target);
                self.aliased += n;
                self.count(n, &loc)?;
                return Ok(target);
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (event, span) = next(parser, &self.source)?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(parser, event, span, depth + 1)?);
                }
                (
                    Node {
                        value: NodeValue::Seq(items),
                        loc,
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, _) => {
                // A replaced entry leaves `None` behind, and `index` finds
                // each key's entry: a mapping of many keys loads in linear
                // time, not quadratic.
                let mut entries: Vec<Option<(Node, Node)>> = Vec::new();
                let mut index: HashMap<String, usize> = HashMap::new();
                let mut merged: Vec<(Node, Node)> = Vec::new();
                loop {
                    let (event, span) = next(parser, &self.source)?;
                    if matches!(event, Event::MappingEnd) {
                        break;
                    }
                    let key = self.node(parser, event, span, depth + 1)?;
                    let (event, span) = next(parser, &self.source)?;
                    let value = self.node(parser, event, span, depth + 1)?;
                    if key.as_str() == Some("<<") {
                        merged.extend(merge_source(&value)?);
                        continue;
                    }
                    let text = key.key_text();
                    if let Some(&i) = index.get(&text) {
                        if let Some((first, _)) = entries[i].take() {
                            eprintln!(
                                "[WARNING]: {}: duplicate key '{text}' (first at line {}); the last one wins, as in Ansible",
                                key.loc, first.loc.line
                            );
                        }
                    }
                    index.insert(text, entries.len());
                    entries.push(Some((key, value)));
                }
                for (k, v) in merged {
                    if let Entry::Vacant(slot) = index.entry(k.key_text()) {
                        slot.insert(entries.len());
                        entries.push(Some((k, v)));
                    }
                }
                (
                    Node {
                        value: NodeValue::Map(entries.into_iter().flatten().collect()),
                        loc,
                    },
                    anchor,
                )
            }
            other => {
                return Err(Error::at(&loc, format!("unexpected YAML event {other:?}")));
            }
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }
}

/// The entries a `<<:` merge key brings in: one mapping or a list of them.
fn merge_source(value: &Node) -> Result<Vec<(Node, Node)>, Error> {
    match &value.value {
        NodeValue::Map(entries) => Ok(entries.clone()),
        NodeValue::Seq(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(merge_source(item)?);
            }
            Ok(out)
        }
        _ => Err(Error::at(
            &value.loc,
            "a merge key (<<) needs a mapping or a list of mappings",
        )),
    }
}

fn size(node: &Node) -> usize {
    match &node.value {
        NodeValue::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        NodeValue::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| size(k) + size(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(text: &str) -> Result<Node, Error> {
        load_str(Path::new("t.yml"), text.to_string())
    }

    #[test]
    fn positions_are_one_based() {
        let n = load("- name: x\n  file:\n    path: /a\n").unwrap();
        let task = &n.as_seq().unwrap()[0];
        let path = task.get("file").unwrap().get("path").unwrap();
        assert_eq!((path.loc.line, path.loc.col), (3, 11));
    }

    #[test]
    fn ansible_scalars() {
        let n = load("a: yes\nb: 0644\nc: '0644'\nd: ~\ne: \"on\"\n").unwrap();
        assert_eq!(
            n.to_value(),
            json!({"a": true, "b": 420, "c": "0644", "d": null, "e": "on"})
        );
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let n = load("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: [*b]\n").unwrap();
        assert_eq!(n.to_value()["other"], json!({"y": 3, "x": 1}));
        assert_eq!(n.to_value()["list"], json!([{"x": 1, "y": 2}]));
    }

    #[test]
    fn a_duplicate_key_keeps_the_last_value_in_the_last_place() {
        let n = load("a: 1\nb: 2\na: 3\n<<: {a: 4, c: 5}\n").unwrap();
        let keys: Vec<String> = n
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, _)| k.key_text())
            .collect();
        assert_eq!(keys, ["b", "a", "c"]);
        assert_eq!(n.to_value(), json!({"b": 2, "a": 3, "c": 5}));
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut text = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
        let mut prev = 'a';
        for name in 'b'..='j' {
            text.push_str(&format!("{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
            prev = name;
        }
        let e = load(&text).unwrap_err().to_string();
        assert!(e.contains("more than"), "{e}");
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = load("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.to_string().contains("t.yml:"), "{e}");
        let e = load("a:\n\t- b\n").unwrap_err().to_string();
        assert!(e.contains("tab"), "{e}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(500) + &"]".repeat(500);
        assert!(load(&text).is_err());
    }

    #[test]
    fn vault_values_and_vaulted_files_are_decrypted_and_become_secrets() {
        use crate::vault::{Keyring, VaultSecret, install, installed};
        install(Keyring::new(vec![VaultSecret::new(
            "default",
            "unit-tests",
        )]));
        let ring = installed();
        let inline = ring.encrypt(b"s3cret-inline-unit", None).unwrap();
        let block: String = inline.lines().map(|l| format!("  {l}\n")).collect();
        let n = load(&format!(
            "a: !vault |\n{block}b: !vault-encrypted |\n{block}c: 1\n"
        ))
        .unwrap();
        assert_eq!(
            n.to_value(),
            json!({"a": "s3cret-inline-unit", "b": "s3cret-inline-unit", "c": 1})
        );
        assert_eq!(crate::redact::redact("x s3cret-inline-unit"), "x ********");

        let file = ring
            .encrypt(b"db: s3cret-file-unit\nport: 5432\n", None)
            .unwrap();
        let n = load(&file).unwrap();
        assert_eq!(
            n.to_value(),
            json!({"db": "s3cret-file-unit", "port": 5432})
        );
        assert_eq!(crate::redact::redact("s3cret-file-unit"), "********");

        let wrong = Keyring::new(vec![VaultSecret::new("default", "other")])
            .encrypt(b"x", None)
            .unwrap();
        let block: String = wrong.lines().map(|l| format!("  {l}\n")).collect();
        let e = load(&format!("ok: 1\nkey: !vault |\n{block}"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.yml:2:6: cannot decrypt this !vault value: decryption failed"),
            "{e}"
        );
    }

    #[test]
    fn empty_file_is_null() {
        assert!(load("").unwrap().is_null());
        assert!(load("# only a comment\n").unwrap().is_null());
    }
}
