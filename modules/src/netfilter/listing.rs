//! A table as `iptables -S` lists it: policies, user chains and rules, for
//! the `iptables` module's policy, chain and flush decisions.

use super::builtin_chains;

/// The table as `iptables -S` lists it.
pub struct Listing {
    pub policies: Vec<(String, String)>,
    pub user_chains: Vec<String>,
    /// `(chain, line)` of every `-A` line.
    pub rules: Vec<(String, String)>,
}

impl Listing {
    pub fn parse(text: &str) -> Result<Listing, String> {
        let mut l = Listing {
            policies: Vec::new(),
            user_chains: Vec::new(),
            rules: Vec::new(),
        };
        for line in text.lines().map(str::trim_end) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            match words[..] {
                ["-P", chain, policy] => l.policies.push((chain.into(), policy.into())),
                ["-N", chain] => l.user_chains.push(chain.into()),
                ["-A", chain, ..] => l.rules.push((chain.into(), line.into())),
                _ => return Err(format!("unexpected line {line:?}")),
            }
        }
        Ok(l)
    }

    /// Built-in chains count as there: iptables-nft lists them before
    /// the table was first used, iptables-legacy always has them.
    pub fn has_chain(&self, table: &str, chain: &str) -> bool {
        builtin_chains(table).contains(&chain)
            || self.policies.iter().any(|(c, _)| c == chain)
            || self.user_chains.iter().any(|c| c == chain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_policies_chains_and_rules() {
        let l =
            Listing::parse("-P INPUT DROP\n-N web\n-A web -p tcp -m tcp --dport 80 -j ACCEPT\n")
                .unwrap();
        assert_eq!(l.policies, [("INPUT".to_string(), "DROP".to_string())]);
        assert!(l.has_chain("filter", "web") && l.has_chain("filter", "FORWARD"));
        assert!(!l.has_chain("filter", "PREROUTING") && !l.has_chain("filter", "nope"));
        assert_eq!(l.rules[0].0, "web");
        assert!(Listing::parse("-X web\n").is_err());
        assert!(Listing::parse("-P INPUT\n").is_err());
    }
}
