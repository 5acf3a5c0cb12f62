//! How the user asked the run to go.

use serde_json::Value;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub check: bool,
    pub diff: bool,
    pub limit: Option<String>,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    /// Hosts worked on at once; 0 means every host of the batch.
    pub forks: usize,
    pub verbosity: u8,
    /// `--force-handlers`: every play as if it said `force_handlers: true`.
    pub force_handlers: bool,
    pub extra_vars: serde_json::Map<String, Value>,
    pub connection: ConnectionOptions,
    /// A saved plan: every task is recorded (`tend plan`) or checked
    /// against it before it runs (`tend apply`).
    pub plan_hook: Option<std::sync::Arc<dyn crate::plan::PlanHook>>,
}

/// How to reach hosts over SSH, from the command line.
#[derive(Debug, Clone, Default)]
pub struct ConnectionOptions {
    /// An ssh config file to read instead of `~/.ssh/config`.
    pub ssh_config: Option<std::path::PathBuf>,
    /// Overrides the host key policy of the inventory and ssh config.
    pub host_key_checking: Option<crate::transport::HostKeyChecking>,
    /// For encrypted private keys.
    pub key_passphrase: Option<crate::transport::Secret>,
    /// For `become`, unless the inventory sets `ansible_become_password`.
    pub become_password: Option<crate::transport::Secret>,
    /// Limit for one script on a host, in seconds.
    pub command_timeout: Option<u64>,
}

impl RunOptions {
    /// Whether a task with these (inherited) tags runs, by Ansible's rules:
    /// `always` runs unless skipped by name, `never` only when asked for.
    pub fn tags_allow(&self, task_tags: &[String]) -> bool {
        let has = |t: &str| task_tags.iter().any(|x| x == t);
        let skip = |t: &str| self.skip_tags.iter().any(|x| x == t);
        if task_tags.iter().any(|t| skip(t))
            || (skip("tagged") && !task_tags.is_empty())
            || (skip("untagged") && task_tags.is_empty())
        {
            return false;
        }
        // A `never` task runs only when one of its own tags is asked for.
        if has("never") {
            return task_tags
                .iter()
                .any(|t| t != "never" && self.tags.contains(t))
                || self.tags.iter().any(|t| t == "never");
        }
        if self.tags.is_empty() || self.tags.iter().any(|t| t == "all") {
            return true;
        }
        if has("always") {
            return true;
        }
        self.tags.iter().any(|t| {
            (t == "tagged" && !task_tags.is_empty())
                || (t == "untagged" && task_tags.is_empty())
                || has(t)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::RunOptions;

    fn opts(tags: &[&str], skip: &[&str]) -> RunOptions {
        RunOptions {
            tags: tags.iter().map(|s| s.to_string()).collect(),
            skip_tags: skip.iter().map(|s| s.to_string()).collect(),
            ..RunOptions::default()
        }
    }

    fn t(tags: &[&str]) -> Vec<String> {
        tags.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ansible_tag_rules() {
        assert!(opts(&[], &[]).tags_allow(&t(&[])));
        assert!(!opts(&[], &[]).tags_allow(&t(&["never"])));
        assert!(opts(&["never"], &[]).tags_allow(&t(&["never"])));
        assert!(opts(&["web"], &[]).tags_allow(&t(&["web", "x"])));
        assert!(!opts(&["web"], &[]).tags_allow(&t(&["db"])));
        assert!(opts(&["web"], &[]).tags_allow(&t(&["always"])));
        assert!(!opts(&["web"], &["always"]).tags_allow(&t(&["always"])));
        assert!(!opts(&[], &["db"]).tags_allow(&t(&["db"])));
        assert!(opts(&["untagged"], &[]).tags_allow(&t(&[])));
        assert!(!opts(&["tagged"], &[]).tags_allow(&t(&[])));
        assert!(!opts(&["tagged"], &[]).tags_allow(&t(&["never", "debug"])));
        assert!(opts(&["debug"], &[]).tags_allow(&t(&["never", "debug"])));
    }
}
