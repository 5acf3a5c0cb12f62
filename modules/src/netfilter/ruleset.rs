//! One table of iptables-save text, normalised so that two rulesets that
//! iptables would load the same compare equal: no comment lines, no
//! counters, built-in chains that were never created stand at their
//! default (ACCEPT), chains in iptables-save's order (built-ins first, then
//! user chains by name) and rules grouped by chain, in their order within
//! the chain (the only order that matters). Also finds and replaces the
//! table's block in a rules file that holds several tables.

use super::builtin_chains;

/// One table, normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct Ruleset {
    pub table: String,
    /// `(name, policy)`; a user chain's policy is `-`.
    pub chains: Vec<(String, String)>,
    /// Whole `-A CHAIN ...` lines.
    pub rules: Vec<String>,
}

impl Ruleset {
    /// The table as a fresh kernel has it: built-in chains, ACCEPT, no rules.
    pub fn empty(table: &str) -> Ruleset {
        Ruleset {
            table: table.to_string(),
            chains: builtin_chains(table)
                .iter()
                .map(|c| (c.to_string(), "ACCEPT".to_string()))
                .collect(),
            rules: Vec::new(),
        }
    }

    /// Reads iptables-save (or iptables-restore) text of `table`: one
    /// `*table` block ended by COMMIT. Empty text (iptables-nft prints none
    /// for a table that was never used) is the empty table.
    pub fn parse(table: &str, text: &str) -> Result<Ruleset, String> {
        let mut set = Ruleset {
            table: table.to_string(),
            chains: Vec::new(),
            rules: Vec::new(),
        };
        let (mut header, mut committed) = (false, false);
        for line in text.lines().map(str::trim_end) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if committed {
                return Err(format!("unexpected line after COMMIT: {line:?}"));
            }
            if let Some(name) = line.strip_prefix('*') {
                if header {
                    return Err(format!("a second table header: {line:?}"));
                }
                if name != table {
                    return Err(format!("table {name:?} where {table:?} was expected"));
                }
                header = true;
                continue;
            }
            if !header {
                return Err(format!("unexpected line before *{table}: {line:?}"));
            }
            if line == "COMMIT" {
                committed = true;
            } else if let Some(rest) = line.strip_prefix(':') {
                let mut words = rest.split_whitespace();
                let (Some(name), Some(policy)) = (words.next(), words.next()) else {
                    return Err(format!("bad chain line {line:?}"));
                };
                if set.chains.iter().any(|(n, _)| n == name) {
                    return Err(format!("chain {name} is declared twice"));
                }
                set.chains.push((name.to_string(), policy.to_string()));
            } else if line.starts_with("-A ") {
                let chain = line.split_whitespace().nth(1).unwrap_or("");
                if !set.chains.iter().any(|(n, _)| n == chain) {
                    return Err(format!(
                        "a rule for the undeclared chain {chain:?}: {line:?}"
                    ));
                }
                set.rules.push(line.to_string());
            } else {
                return Err(format!("unexpected line {line:?}"));
            }
        }
        if header && !committed {
            return Err(format!("no COMMIT ends the *{table} block"));
        }
        set.normalise();
        Ok(set)
    }

    fn normalise(&mut self) {
        let builtins = builtin_chains(&self.table);
        for name in builtins {
            if !self.chains.iter().any(|(n, _)| n == name) {
                self.chains.push((name.to_string(), "ACCEPT".into()));
            }
        }
        let rank = |name: &str| match builtins.iter().position(|b| *b == name) {
            Some(i) => (i, String::new()),
            None => (builtins.len(), name.to_string()),
        };
        self.chains.sort_by_key(|(name, _)| rank(name));
        let order: Vec<String> = self.chains.iter().map(|(n, _)| n.clone()).collect();
        let chain_of = |rule: &String| {
            let name = rule.split_whitespace().nth(1).unwrap_or("");
            order.iter().position(|n| n == name).unwrap_or(order.len())
        };
        self.rules.sort_by_key(chain_of);
    }

    /// iptables-restore text; `counters` adds `[0:0]` to chain lines, as
    /// iptables-save writes them (files), or leaves them out (diffs).
    pub fn render(&self, counters: bool) -> String {
        let mut out = format!("*{}\n", self.table);
        for (name, policy) in &self.chains {
            let tail = if counters { " [0:0]" } else { "" };
            out.push_str(&format!(":{name} {policy}{tail}\n"));
        }
        for rule in &self.rules {
            out.push_str(rule);
            out.push('\n');
        }
        out.push_str("COMMIT\n");
        out
    }
}

/// Where the blocks of `table` are in `lines`: from `*table` to its COMMIT,
/// or to the next table or the end when COMMIT is missing.
fn blocks(lines: &[&str], table: &str) -> Vec<(usize, usize)> {
    let header = format!("*{table}");
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() != header {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < lines.len() {
            let line = lines[end].trim_end();
            if line == "COMMIT" {
                break;
            }
            if line.starts_with('*') {
                end -= 1;
                break;
            }
            end += 1;
        }
        let end = end.min(lines.len() - 1);
        found.push((i, end));
        i = end + 1;
    }
    found
}

/// Whether a rules file already holds `want` as its one block of the table.
pub fn file_has(text: &str, want: &Ruleset) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    match blocks(&lines, &want.table)[..] {
        [(start, end)] => {
            let block = lines[start..=end].join("\n");
            Ruleset::parse(&want.table, &block).is_ok_and(|have| &have == want)
        }
        _ => false,
    }
}

/// The rules file with the table's block replaced by `block` (where the
/// first one was; others of the same table are dropped, since
/// iptables-restore would load the last), or appended. Other tables and
/// lines stay as they are.
pub fn replace_block(text: &str, table: &str, block: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let found = blocks(&lines, table);
    let mut out = String::new();
    let mut placed = false;
    let mut i = 0;
    while i < lines.len() {
        if let Some(&(_, end)) = found.iter().find(|(start, _)| *start == i) {
            if !placed {
                out.push_str(block);
                placed = true;
            }
            i = end + 1;
            continue;
        }
        out.push_str(lines[i]);
        out.push('\n');
        i += 1;
    }
    if !placed {
        out.push_str(block);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAVED: &str =
        "# Generated by iptables-save v1.8.9 (nf_tables) on Wed Nov 25 16:46:56 2026
*filter
:INPUT DROP [12:3400]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [9:1000]
:zz - [0:0]
:aa - [0:0]
-A zz -j RETURN
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A aa -j ACCEPT
-A INPUT -m comment --comment \"two words\" -j zz
COMMIT
# Completed on Wed Nov 25 16:46:56 2026
";

    #[test]
    fn normalises_counters_comments_and_order() {
        let set = Ruleset::parse("filter", SAVED).unwrap();
        assert_eq!(
            set.render(false),
            "*filter\n:INPUT DROP\n:FORWARD ACCEPT\n:OUTPUT ACCEPT\n:aa -\n:zz -\n\
             -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n\
             -A INPUT -m comment --comment \"two words\" -j zz\n-A aa -j ACCEPT\n-A zz -j RETURN\nCOMMIT\n"
        );
        assert!(
            set.render(true)
                .contains(":INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n")
        );
    }

    #[test]
    fn missing_builtins_and_empty_text_are_the_defaults() {
        assert_eq!(Ruleset::parse("nat", "").unwrap(), Ruleset::empty("nat"));
        let set = Ruleset::parse("filter", "*filter\n:INPUT DROP [0:0]\nCOMMIT\n").unwrap();
        assert_eq!(set.chains[1], ("FORWARD".to_string(), "ACCEPT".to_string()));
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in [
            "*nat\nCOMMIT\n",
            "*filter\n-A INPUT -j ACCEPT\nCOMMIT\n",
            "*filter\n:INPUT ACCEPT\n",
            "hello\n",
            "*filter\n:INPUT\nCOMMIT\n",
            "*filter\n:INPUT ACCEPT\n:INPUT ACCEPT\nCOMMIT\n",
            "*filter\nCOMMIT\n*filter\nCOMMIT\n",
            "*filter\n-I INPUT -j ACCEPT\nCOMMIT\n",
        ] {
            assert!(Ruleset::parse("filter", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn file_blocks_are_found_and_replaced() {
        let want = Ruleset::parse("filter", SAVED).unwrap();
        let block = want.render(true);
        let file = format!("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n{SAVED}");
        assert!(file_has(&file, &want));
        assert!(!file_has("*nat\nCOMMIT\n", &want));
        let doubled = format!("{file}{block}");
        assert!(!file_has(&doubled, &want), "two filter blocks");
        let replaced = replace_block(&doubled, "filter", &block);
        assert!(file_has(&replaced, &want));
        assert!(replaced.starts_with("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n# Generated"));
        assert_eq!(replaced.matches("*filter").count(), 1);
        assert_eq!(replace_block("", "filter", &block), block);
        let broken = replace_block("*filter\n-A INPUT\n*nat\nCOMMIT\n", "filter", &block);
        assert_eq!(broken, format!("{block}*nat\nCOMMIT\n"));
    }
}
