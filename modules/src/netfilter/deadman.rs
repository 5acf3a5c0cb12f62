//! The dead-man timer that takes back a ruleset which cut SSH.
//!
//! Step 1 (on the run's connection) saves the live table, arms a revert
//! that restores it after `timeout` seconds, and loads the new ruleset.
//! Step 2 runs over a NEW connection: if the new ruleset keeps SSH out, it
//! never connects and the revert fires; if it connects, it cancels the
//! revert. Both the revert and the confirmation first `mkdir` the same
//! `claimed` directory, which only one of them can do, so a confirmation
//! that arrives late (its connection got through only after the revert)
//! knows it lost and says so instead of persisting rules that are gone.
//!
//! The revert is a transient systemd timer (`systemd-run --on-active`)
//! where systemd runs the host, so it outlives the SSH session whatever
//! logind's KillUserProcesses says; elsewhere a `setsid` sleeper. The
//! timer's AccuracySec is tightened: systemd's default (a minute) would let
//! a 5 s revert fire half a minute late.

use super::Tools;
use crate::Step;
use crate::shell::quote;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where a revert's state lives on the host (the saved ruleset, the claim).
pub const BASE: &str = "/run/tend-iptables";

/// One armed revert.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadMan {
    /// Unique per task run: names the state directory and the systemd unit.
    pub id: String,
    pub timeout: u64,
    pub tools: Tools,
    pub table: String,
    /// `BASE`, or a scratch directory in tests.
    pub base: String,
}

impl DeadMan {
    pub fn new(tools: Tools, table: &str, timeout: u64) -> DeadMan {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let id = format!(
            "{table}-{}-{:x}-{:x}-{}",
            tools.version,
            nanos,
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        DeadMan {
            id,
            timeout,
            tools,
            table: table.to_string(),
            base: BASE.to_string(),
        }
    }

    pub fn dir(&self) -> String {
        format!("{}/{}", self.base, self.id)
    }

    pub fn unit(&self) -> String {
        format!("tend-iptables-revert-{}", self.id)
    }

    fn vars(&self) -> String {
        format!("d={}\nu={}\n", quote(&self.dir()), quote(&self.unit()))
    }

    /// Stops the revert, whichever way it was armed; harmless once it ran.
    fn cancel(&self) -> String {
        format!(
            "systemctl stop \"$u.timer\" >/dev/null 2>&1\n\
             if [ -f \"$d/pid\" ]; then pid=$(cat \"$d/pid\"); \
             if grep -qF {id} \"/proc/$pid/cmdline\" 2>/dev/null; then kill -- \"-$pid\" 2>/dev/null; fi; fi\n",
            id = quote(&self.id)
        )
    }

    /// Step 1: save the live table, arm the revert, load the new ruleset
    /// (fed on stdin). `empty` is the table as a fresh kernel has it: what
    /// the revert restores when iptables-save printed nothing (iptables-nft
    /// before the table was first used).
    pub fn apply(&self, new: &str, empty: &str) -> Step {
        let t = &self.table;
        let dir = self.dir();
        // The saved table stays until the revert or the confirmation:
        // in a directory only root reads, not a temporary file.
        // No `$` or `%` in what systemd runs: systemd would expand them.
        let revert = format!(
            "mkdir {dir}/claimed 2>/dev/null || exit 0; {restore} < {dir}/saved && touch {dir}/reverted \
             && echo 'tend: restored the previous {t} ruleset: the new one was not confirmed within {n} s'",
            restore = self.tools.restore,
            n = self.timeout,
        );
        let script = format!(
            "{vars}mkdir -p -m 0700 \"$d\" || exit 1\n\
             if ! {save} -t {t} > \"$d/saved\"; then echo 'could not save the current {t} table; nothing was changed' >&2; rm -rf \"$d\"; exit 1; fi\n\
             grep -q '^\\*{t}' \"$d/saved\" || printf '%s' {empty} > \"$d/saved\"\n\
             revert={revert}\n\
             if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then\n\
             \x20 if ! systemd-run --quiet --collect --unit=\"$u\" --on-active={n} --timer-property=AccuracySec=100ms --description={desc} /bin/sh -c \"$revert\" >&2; then\n\
             \x20   echo 'could not arm the dead-man timer with systemd-run; nothing was changed' >&2; rm -rf \"$d\"; exit 1\n\
             \x20 fi\n\
             else\n\
             \x20 setsid /bin/sh -c \"sleep {n}; $revert\" </dev/null >/dev/null 2>&1 &\n\
             \x20 echo $! > \"$d/pid\"\n\
             fi\n\
             if ! {restore}; then\n\
             \x20 mkdir \"$d/claimed\" 2>/dev/null\n\
             {cancel}\
             \x20 rm -rf \"$d\"\n\
             \x20 echo '{restore} refused the new {t} ruleset; nothing was changed' >&2; exit 1\n\
             fi\n",
            vars = self.vars(),
            save = self.tools.save,
            restore = self.tools.restore,
            empty = quote(empty),
            revert = quote(&revert),
            n = self.timeout,
            cancel = self.cancel(),
            desc = quote(&format!(
                "tend: take back the new {t} ruleset unless confirmed within {} s",
                self.timeout
            )),
        );
        Step::script(script).with_stdin(new.as_bytes().to_vec())
    }

    /// The start of step 2 (on a new connection): win the claim and cancel
    /// the revert, or fail saying the revert already took the ruleset back.
    pub fn confirm(&self) -> String {
        format!(
            "{vars}if ! mkdir \"$d/claimed\" 2>/dev/null; then\n\
             \x20 if [ -d \"$d\" ]; then\n\
             \x20   i=0; while [ ! -e \"$d/reverted\" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done\n\
             \x20   if [ -e \"$d/reverted\" ]; then\n\
             \x20     rm -rf \"$d\"\n\
             \x20     echo 'the new {t} ruleset was taken back: it was not confirmed over a new SSH connection within {n} s, so the dead-man timer restored the previous one. Does the new ruleset let SSH in?' >&2\n\
             \x20   else\n\
             \x20     echo 'the new {t} ruleset was not confirmed within {n} s, and the dead-man timer could not restore the previous one: it is kept in {dir}/saved' >&2\n\
             \x20   fi\n\
             \x20 else\n\
             \x20   echo 'could not confirm the new {t} ruleset: the dead-man state {dir} is gone (did the host reboot?)' >&2\n\
             \x20 fi\n\
             \x20 exit 1\n\
             fi\n\
             {cancel}rm -rf \"$d\"\n",
            vars = self.vars(),
            t = self.table,
            n = self.timeout,
            dir = self.dir(),
            cancel = self.cancel(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::time::Duration;

    #[test]
    fn the_revert_survives_no_dollar_for_systemd() {
        let dm = DeadMan::new(Tools::for_version(None), "filter", 30);
        assert!(dm.id.starts_with("filter-ipv4-"));
        let step = dm.apply("*filter\nCOMMIT\n", "*filter\nCOMMIT\n");
        let revert_line = step
            .script
            .lines()
            .find(|l| l.starts_with("revert="))
            .unwrap();
        assert!(
            !revert_line.contains('$') && !revert_line.contains('%'),
            "{revert_line}"
        );
        assert!(
            step.script
                .contains("--on-active=30 --timer-property=AccuracySec=100ms ")
        );
        assert_ne!(DeadMan::new(dm.tools, "filter", 30).id, dm.id);
    }

    /// A scratch host: fake iptables-save/-restore on PATH that read and
    /// write `live` in a temporary directory, and the dead-man's state there.
    struct Fake {
        dir: PathBuf,
        dm: DeadMan,
    }

    impl Fake {
        fn new(name: &str, timeout: u64) -> Fake {
            let dir =
                std::env::temp_dir().join(format!("tend-deadman-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("bin")).unwrap();
            let live = dir.join("live");
            std::fs::write(&live, "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n").unwrap();
            for (tool, body) in [
                ("iptables-save", format!("cat {}", live.display())),
                (
                    "iptables-restore",
                    format!(
                        "t=$(cat); case \"$t\" in *bad*) echo 'line 2 failed' >&2; exit 1;; esac; printf '%s\\n' \"$t\" > {}",
                        live.display()
                    ),
                ),
            ] {
                let path = dir.join("bin").join(tool);
                std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
                Command::new("chmod").arg("+x").arg(&path).status().unwrap();
            }
            let mut dm = DeadMan::new(Tools::for_version(None), "filter", timeout);
            dm.base = dir.join("state").display().to_string();
            Fake { dir, dm }
        }

        fn run(&self, script: &str, stdin: &[u8]) -> (i32, String) {
            use std::io::Write;
            let path = format!(
                "{}:{}",
                self.dir.join("bin").display(),
                std::env::var("PATH").unwrap()
            );
            let mut child = Command::new("/bin/sh")
                .arg("-c")
                .arg(script)
                .env("PATH", path)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(stdin).unwrap();
            let out = child.wait_with_output().unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }

        fn live(&self) -> String {
            std::fs::read_to_string(self.dir.join("live")).unwrap()
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn apply(fake: &Fake, new: &str) -> (i32, String) {
        let step = fake.dm.apply(new, "*filter\nCOMMIT\n");
        fake.run(&step.script, step.stdin.as_deref().unwrap())
    }

    #[test]
    fn a_confirmed_ruleset_stays() {
        let fake = Fake::new("confirmed", 1);
        assert_eq!(apply(&fake, "*filter\nNEW\nCOMMIT").0, 0);
        assert!(fake.live().contains("NEW"));
        assert_eq!(fake.run(&fake.dm.confirm(), b""), (0, String::new()));
        std::thread::sleep(Duration::from_millis(1600));
        assert!(fake.live().contains("NEW"), "the revert was cancelled");
        assert!(
            !Path::new(&fake.dm.dir()).exists(),
            "the state is cleaned up"
        );
    }

    #[test]
    fn an_unconfirmed_ruleset_is_taken_back_and_a_late_confirmation_fails() {
        let fake = Fake::new("reverted", 1);
        assert_eq!(apply(&fake, "*filter\nNEW\nCOMMIT").0, 0);
        assert!(fake.live().contains("NEW"));
        std::thread::sleep(Duration::from_millis(1800));
        assert_eq!(fake.live(), "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n");
        let (rc, err) = fake.run(&fake.dm.confirm(), b"");
        assert_eq!(rc, 1);
        assert!(
            err.contains("the new filter ruleset was taken back"),
            "{err}"
        );
        assert!(err.contains("within 1 s"), "{err}");
        assert!(
            !Path::new(&fake.dm.dir()).exists(),
            "nothing is left to recover"
        );
    }

    #[test]
    fn a_revert_that_fails_is_reported_with_the_saved_rules() {
        let fake = Fake::new("revert-fails", 1);
        // The fake restore refuses anything with "bad" in it: the old rules.
        std::fs::write(fake.dir.join("live"), "*filter\nbad\nCOMMIT\n").unwrap();
        assert_eq!(apply(&fake, "*filter\nNEW\nCOMMIT").0, 0);
        std::thread::sleep(Duration::from_millis(1600));
        let (rc, err) = fake.run(&fake.dm.confirm(), b"");
        assert_eq!(rc, 1);
        assert!(
            err.contains("could not restore the previous one: it is kept in"),
            "{err}"
        );
        assert!(Path::new(&fake.dm.dir()).join("saved").exists());
    }

    #[test]
    fn a_refused_ruleset_disarms_the_revert() {
        let fake = Fake::new("refused", 1);
        let (rc, err) = apply(&fake, "*filter\nbad\nCOMMIT");
        assert_eq!(rc, 1);
        assert!(
            err.contains("line 2 failed") && err.contains("nothing was changed"),
            "{err}"
        );
        assert!(!Path::new(&fake.dm.dir()).exists());
        std::fs::write(fake.dir.join("live"), "by hand\n").unwrap();
        std::thread::sleep(Duration::from_millis(1600));
        assert_eq!(fake.live(), "by hand\n", "no revert fired");
    }
}
