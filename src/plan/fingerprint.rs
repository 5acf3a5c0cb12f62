//! Digests that let `tend apply` tell whether a task still sees what the
//! plan saw and would still make the change the plan shows.
//!
//! Every digest hashes its fields with their lengths in front, so that no
//! two different field lists can hash the same bytes ("ab" + "c" is not
//! "a" + "bc").

use sha2::{Digest, Sha256};
use tend_modules::Plan;

struct Fields(Sha256);

impl Fields {
    fn new(kind: &str) -> Fields {
        Fields(Sha256::new()).field(kind.as_bytes())
    }

    fn field(mut self, bytes: &[u8]) -> Fields {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    fn hex(self) -> String {
        self.0
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Where and how a probe runs: the privileges and environment it runs with
/// (and the host, when delegated), and the script itself. The same script
/// run as another user may see another state.
pub fn state_key(target: &str, script: &str) -> String {
    Fields::new("state-key")
        .field(target.as_bytes())
        .field(script.as_bytes())
        .hex()
}

/// What a probe saw: its exit code and stdout. Stderr is left out: it
/// carries warnings, not state.
pub fn fingerprint(state_key: &str, rc: i32, stdout: &[u8]) -> String {
    Fields::new("fingerprint")
        .field(state_key.as_bytes())
        .field(&rc.to_le_bytes())
        .field(stdout)
        .hex()
}

/// Which task this is, as far as its parameters show: the module and the
/// probe built from them.
pub fn identity(module: &str, probe: Option<&str>) -> String {
    Fields::new("identity")
        .field(module.as_bytes())
        .field(probe.unwrap_or("").as_bytes())
        .hex()
}

/// The change a task would make: whether it changes anything and what each
/// diff ends as. The "before" side is left out on purpose: after an earlier
/// change of the same apply (a directory created, a package installed), the
/// before side may differ from the plan's while the planned result is the
/// same. With `steps`, the scripts are part of it too: for tasks whose
/// effect no diff shows (`command`, `shell`), the command is the change.
pub fn intent(identity: &str, plan: &Plan, steps: bool) -> String {
    let changed = plan.changed && plan.skipped.is_none();
    let mut f = Fields::new("intent")
        .field(identity.as_bytes())
        .field(&[u8::from(changed), u8::from(plan.skipped.is_some())]);
    for d in &plan.diff {
        f = f.field(d.after_header.as_bytes()).field(d.after.as_bytes());
    }
    if steps {
        for s in &plan.steps {
            f = f
                .field(s.script.as_bytes())
                .field(s.stdin.as_deref().unwrap_or(b""));
        }
    }
    f.hex()
}

/// The change a `no_log` task would make, sealed: whether it changes
/// anything, which files and how many steps, but nothing of the content
/// or the commands. A digest of a secret lets whoever reads the plan test
/// guesses of it; so `tend apply` holds such a task to its inputs (the
/// playbook's files, whose checksums the plan keeps) and to the state its
/// probe saw, not to the content it writes.
pub fn sealed_intent(identity: &str, plan: &Plan) -> String {
    let changed = plan.changed && plan.skipped.is_none();
    let mut f = Fields::new("sealed-intent")
        .field(identity.as_bytes())
        .field(&[u8::from(changed), u8::from(plan.skipped.is_some())])
        .field(&(plan.steps.len() as u64).to_le_bytes());
    for d in &plan.diff {
        f = f.field(d.after_header.as_bytes());
    }
    f.hex()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tend_modules::{Diff, Map, Step};

    fn change(after: &str, before: &str) -> Plan {
        Plan::change(vec![Step::script("write")], Map::new()).with_diff(Diff::new(
            "/etc/app.conf",
            before,
            after,
        ))
    }

    #[test]
    fn a_fingerprint_follows_the_state_and_nothing_else() {
        let key = state_key("None\0", "cat /etc/app.conf");
        let a = fingerprint(&key, 0, b"port=80\n");
        assert_eq!(a, fingerprint(&key, 0, b"port=80\n"));
        assert_ne!(a, fingerprint(&key, 0, b"port=81\n"));
        assert_ne!(a, fingerprint(&key, 1, b"port=80\n"));
        let root = state_key("Some(\"root\")\0", "cat /etc/app.conf");
        assert_ne!(a, fingerprint(&root, 0, b"port=80\n"));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn fields_cannot_run_into_each_other() {
        assert_ne!(state_key("ab", "c"), state_key("a", "bc"));
        assert_ne!(identity("copyx", Some("y")), identity("copy", Some("xy")));
    }

    #[test]
    fn an_intent_is_the_result_not_the_starting_point() {
        let id = identity("copy", Some("stat /etc/app.conf"));
        let planned = intent(&id, &change("port=80\n", ""), false);
        // Same result from another starting point: the same change.
        assert_eq!(
            planned,
            intent(&id, &change("port=80\n", "port=1\n"), false)
        );
        assert_ne!(planned, intent(&id, &change("port=81\n", ""), false));
        assert_ne!(
            planned,
            intent(
                &identity("copy", Some("stat /x")),
                &change("port=80\n", ""),
                false
            )
        );
        let unchanged = Plan::unchanged(Map::new());
        assert_ne!(planned, intent(&id, &unchanged, false));
    }

    #[test]
    fn a_commands_intent_is_its_script() {
        let id = identity("command", None);
        let run = |script: &str| Plan::change(vec![Step::script(script)], Map::new());
        assert_eq!(
            intent(&id, &run("migrate --up"), true),
            intent(&id, &run("migrate --up"), true)
        );
        assert_ne!(
            intent(&id, &run("migrate --up"), true),
            intent(&id, &run("migrate --down"), true)
        );
        // Without steps, the two would look alike.
        assert_eq!(
            intent(&id, &run("migrate --up"), false),
            intent(&id, &run("migrate --down"), false)
        );
    }

    #[test]
    fn a_sealed_intent_holds_nothing_of_the_content_or_the_commands() {
        let id = identity("copy", Some("stat /etc/app.conf"));
        let secret =
            |pw: &str| {
                Plan::change(vec![Step::script(format!("echo {pw}"))], Map::new())
                    .with_diff(Diff::new("/etc/app.conf", "", format!("pw={pw}\n")))
            };
        assert_eq!(
            sealed_intent(&id, &secret("hunter2")),
            sealed_intent(&id, &secret("hunter3"))
        );
        assert_ne!(
            sealed_intent(&id, &secret("hunter2")),
            sealed_intent(&id, &Plan::unchanged(Map::new()))
        );
        assert_ne!(
            sealed_intent(&id, &secret("hunter2")),
            intent(&id, &secret("hunter2"), true)
        );
    }
}
