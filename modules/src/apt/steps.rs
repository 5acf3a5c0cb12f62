//! The scripts that change a host: `apt-get update`, `apt-get install`,
//! `remove` and `autoremove`, and a `.deb` sent on stdin. Every apt-get run
//! is non-interactive, keeps changed configuration files
//! (`--force-confdef --force-confold` by default) and waits for the dpkg
//! lock (`DPkg::Lock::Timeout`) instead of failing when another apt run
//! holds it, so two runs on one host never overlap.

use super::deb::DebFile;
use super::request::Request;
use crate::Step;
use crate::shell::EXIT_ON_SIGNALS;
use crate::shell::quote;

const ENV: &str = "LC_ALL=C DEBIAN_FRONTEND=noninteractive DEBIAN_PRIORITY=critical; export LC_ALL DEBIAN_FRONTEND DEBIAN_PRIORITY\n";

/// Where the update step records a successful update, as Debian's daily
/// apt job and Ansible read it: without it `cache_valid_time` could only
/// go by the lists directory, whose time does not move when nothing in
/// the lists changed.
pub(crate) const STAMP: &str = "/var/lib/apt/periodic/update-success-stamp";

/// `apt-get -y -q` with the options every command of `req` shares.
fn apt_get(req: &Request) -> String {
    let mut cmd = String::from("apt-get -y -q");
    for opt in &req.dpkg_options {
        cmd.push_str(&format!(" -o Dpkg::Options::=--{opt}"));
    }
    cmd.push_str(&format!(" -o DPkg::Lock::Timeout={}", req.lock_timeout));
    if req.force {
        // Ansible's `--force-yes`, spelled as apt 2 wants it.
        cmd.push_str(" --allow-remove-essential");
    }
    if req.allow_change_held || req.force {
        cmd.push_str(" --allow-change-held-packages");
    }
    cmd
}

/// `apt-get update`, retried with a growing delay as Ansible does, then
/// the stamp. Prints `cache_update_time N`. apt-get update exits 0 when a
/// source fails; `Error-Mode=any` makes that a failure, as python-apt's
/// update is for Ansible.
pub(crate) fn update(req: &Request) -> Step {
    Step::script(format!(
        "{ENV}i=0\nwhile :; do\n  \
           if err=$(apt-get -q -o APT::Update::Error-Mode=any -o DPkg::Lock::Timeout={lock} update 2>&1 >/dev/null); then break; fi\n  \
           i=$((i + 1))\n  \
           if [ \"$i\" -ge {retries} ]; then printf 'Failed to update apt cache after %s retries: %s\\n' \"$i\" \"$err\" >&2; exit 1; fi\n  \
           d=$((1 << i)); if [ \"$d\" -gt {max} ]; then d={max}; fi\n  \
           sleep \"$d\"\n\
         done\n\
         mkdir -p /var/lib/apt/periodic && touch {STAMP} || exit 1\n\
         printf 'cache_update_time %s\\n' \"$(stat -c %Y {STAMP})\"\n",
        lock = req.lock_timeout,
        retries = req.update_retries,
        max = req.update_max_delay,
    ))
}

/// `apt-get install` of `args` (`name` or `name=version`).
pub(crate) fn install(req: &Request, args: &[String]) -> Step {
    let mut cmd = apt_get(req);
    cmd.push_str(&install_flags(req));
    cmd.push_str(" install");
    for arg in args {
        cmd.push(' ');
        cmd.push_str(&quote(arg));
    }
    Step::script(format!("{ENV}{cmd}\n"))
}

fn install_flags(req: &Request) -> String {
    let mut s = String::new();
    match req.install_recommends {
        Some(true) => s.push_str(" -o APT::Install-Recommends=yes"),
        Some(false) => s.push_str(" -o APT::Install-Recommends=no"),
        None => {}
    }
    if let Some(release) = &req.default_release {
        s.push_str(&format!(" -t {}", quote(release)));
    }
    if req.allow_downgrade {
        s.push_str(" --allow-downgrades");
    }
    if req.allow_unauthenticated {
        s.push_str(" --allow-unauthenticated");
    }
    if req.only_upgrade {
        s.push_str(" --only-upgrade");
    }
    if req.fail_on_autoremove {
        s.push_str(" --no-remove");
    }
    if req.autoremove {
        s.push_str(" --auto-remove");
    }
    s
}

/// `apt-get remove` (or `--purge`) of `names`.
pub(crate) fn remove(req: &Request, names: &[String]) -> Step {
    let mut cmd = apt_get(req);
    if req.purge {
        cmd.push_str(" --purge");
    }
    if req.autoremove {
        cmd.push_str(" --auto-remove");
    }
    cmd.push_str(" remove");
    for name in names {
        cmd.push(' ');
        cmd.push_str(&quote(name));
    }
    Step::script(format!("{ENV}{cmd}\n"))
}

/// `apt-get autoremove` on its own.
pub(crate) fn autoremove(req: &Request) -> Step {
    let purge = if req.purge { " --purge" } else { "" };
    Step::script(format!("{ENV}{}{purge} autoremove\n", apt_get(req)))
}

/// Receives the `.deb` on stdin into a private directory and installs it
/// with apt-get, which brings its dependencies from the repositories too.
/// A cut connection leaves a short file, which is refused.
pub(crate) fn install_deb(req: &Request, deb: &DebFile) -> Step {
    let mut cmd = apt_get(req);
    cmd.push_str(&install_flags(req));
    Step::script(format!(
        "{ENV}set -e\nd=$(mktemp -d /tmp/tend-deb.XXXXXXXX)\ntrap 'rm -rf -- \"$d\"' EXIT\n{EXIT_ON_SIGNALS}\
         f=\"$d\"/{name}\ncat > \"$f\"\n\
         got=$(stat -c %s -- \"$f\")\n\
         if [ \"$got\" != {size} ]; then echo \"incomplete transfer: $got of {size} bytes of {name} arrived\" >&2; exit 1; fi\n\
         chmod 755 \"$d\"\nchmod 644 \"$f\"\n\
         {cmd} install \"$f\"\n",
        name = quote(&deb.file_name),
        size = deb.bytes.len(),
    ))
    .with_stdin(deb.bytes.clone())
}
