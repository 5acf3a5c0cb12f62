//! The lab (tests/lab): real Debian hosts in containers, reached over real
//! SSH. Every test that needs it starts with
//!
//! ```ignore
//! let Some(lab) = lab::lab("my_test") else { return };
//! ```
//!
//! which reads `LAB_INVENTORY`, `LAB_SSH_CONFIG`, `LAB_SSH_KEY` and
//! `LAB_KNOWN_HOSTS` (`source tests/lab/hosts/env`). Without them the test
//! fails loudly, unless `TEND_SKIP_LAB=1` says to skip it.
//!
//! Hosts are shared by tests running in parallel: every test works under
//! its own paths. A test that breaks a host (stop, cut) takes it with
//! `Lab::take`, which holds a file lock on it and repairs it when dropped.
//! Host use: h1 and h2 are shared and never broken; h3 is stopped by
//! lab_faults; h4 sits behind h1; h5 and h6 are cut by lab_faults and
//! lab_regressions (started from inside those tests); h7-h12 belong to the
//! module tests (apt, systemd, iptables, nginx and users, facts and uri),
//! h13-h21 to lab_web_service, h22-h25 to lab_go_webapp, h26-h28 to
//! lab_drift; h29 and h31-h33 are broken by lab_faults (h30 is the
//! benchmark's scale host).

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Run;

pub const NEEDS_LAB: &str = "this test needs the lab: run tests/run (as root), or start it with \
     tests/lab/up.sh 3 and `source tests/lab/hosts/env`";

/// How long one `tend` run may take before the test gives up on it.
pub const TEND_DEADLINE: Duration = Duration::from_secs(180);

/// Paths of a running lab.
#[derive(Debug, Clone)]
pub struct Lab {
    pub inventory: PathBuf,
    pub ssh_config: PathBuf,
    pub key: PathBuf,
    pub known_hosts: PathBuf,
    /// tests/lab of the checkout that runs the lab (its scripts).
    pub dir: PathBuf,
}

/// The lab from the `LAB_*` variables. Panics when `LAB_INVENTORY` is
/// unset, unless `TEND_SKIP_LAB=1`: then it says the test is skipped and
/// returns `None`.
pub fn lab(test: &str) -> Option<Lab> {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let Some(inventory) = set("LAB_INVENTORY") else {
        if std::env::var("TEND_SKIP_LAB").as_deref() == Ok("1") {
            eprintln!("SKIPPED (TEND_SKIP_LAB=1): {test} needs the lab");
            return None;
        }
        panic!("\n\n{test}: {NEEDS_LAB}\n(or set TEND_SKIP_LAB=1 to skip the lab tests)\n");
    };
    let path = |name: &str| {
        let value = set(name).unwrap_or_else(|| {
            panic!("{test}: LAB_INVENTORY is set but {name} is not: {NEEDS_LAB}")
        });
        let path = PathBuf::from(value);
        assert!(
            path.exists(),
            "{test}: {name}={} does not exist: is the lab up? {NEEDS_LAB}",
            path.display()
        );
        path
    };
    let inventory = PathBuf::from(inventory);
    let lab = Lab {
        inventory: path("LAB_INVENTORY"),
        ssh_config: path("LAB_SSH_CONFIG"),
        key: path("LAB_SSH_KEY"),
        known_hosts: path("LAB_KNOWN_HOSTS"),
        // LAB_INVENTORY is <lab>/hosts/inventory.
        dir: inventory
            .parent()
            .and_then(Path::parent)
            .expect("LAB_INVENTORY is <lab>/hosts/inventory")
            .to_path_buf(),
    };
    Some(lab)
}

impl Lab {
    /// The address of lab host `hN`, as LAB_INVENTORY gives it.
    pub fn address(&self, host: &str) -> String {
        let text = std::fs::read_to_string(&self.inventory).expect("LAB_INVENTORY is readable");
        text.lines()
            .filter(|l| l.split_whitespace().next() == Some(host))
            .find_map(|l| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix("ansible_host="))
            })
            .map(str::to_string)
            .unwrap_or_else(|| {
                panic!(
                    "{host} is not in {}: start it with tests/lab/up.sh 1 {}",
                    self.inventory.display(),
                    &host[1..]
                )
            })
    }

    /// An inventory line for `name`, reaching lab host `lab_host` as root
    /// with the lab's key and known_hosts and strict host key checking.
    pub fn host(&self, name: &str, lab_host: &str) -> HostLine {
        HostLine {
            name: name.to_string(),
            address: self.address(lab_host),
            user: Some("root".into()),
            key: Some(self.key.clone()),
            known_hosts: Some(self.known_hosts.clone()),
            strict: Some("yes".into()),
            args: Vec::new(),
            vars: Vec::new(),
        }
    }

    /// Runs `script` on lab host `host` with the system ssh client (as
    /// root, through the lab's ssh_config), so a test can check what tend
    /// did without trusting tend.
    pub fn ssh(&self, host: &str, script: &str) -> Run {
        let mut cmd = Command::new("ssh");
        cmd.arg("-F")
            .arg(&self.ssh_config)
            .args(["-o", "ConnectTimeout=5", "-o", "ControlMaster=no", host])
            .arg(script);
        run_with_deadline(cmd, Duration::from_secs(60), &format!("ssh {host}"))
    }

    /// Like `ssh`, but the script must succeed; returns its stdout.
    pub fn ssh_ok(&self, host: &str, script: &str) -> String {
        let out = self.ssh(host, script);
        assert_eq!(
            out.code, 0,
            "ssh {host} {script:?} failed:\n{}\n{}",
            out.stdout, out.stderr
        );
        out.stdout
    }

    /// Runs a lab script (`fault.sh`, `up.sh`) and panics when it fails.
    fn script(&self, name: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(self.dir.join(name));
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = run_with_deadline(
            cmd,
            Duration::from_secs(150),
            &format!("{name} {}", args.join(" ")),
        );
        assert_eq!(
            out.code,
            0,
            "tests/lab/{name} {} failed:\n{}\n{}",
            args.join(" "),
            out.stdout,
            out.stderr
        );
        out
    }

    /// `tests/lab/fault.sh ACTION HOST`.
    pub fn fault(&self, action: &str, host: &str) {
        self.script("fault.sh", &[action, host], &[]);
    }

    /// `up`, `down`, `cut` or `frozen`; `absent` for a host never started.
    pub fn status(&self, host: &str) -> String {
        let mut cmd = Command::new(self.dir.join("fault.sh"));
        cmd.args(["status", host]);
        let out = run_with_deadline(cmd, Duration::from_secs(30), "fault.sh status");
        match out.code {
            0 => out.stdout.trim().to_string(),
            _ => "absent".to_string(),
        }
    }

    /// Starts lab host `hN` unless it is already up (`LAB_IF_UP=keep`).
    /// Tests that start the same host wait for each other: a second
    /// `up.sh` while the first still boots the host would find it neither
    /// absent nor ready.
    pub fn ensure_up(&self, n: u32) {
        let _starting = lock(&format!("up-h{n}"));
        self.script("up.sh", &["1", &n.to_string()], &[("LAB_IF_UP", "keep")]);
    }

    /// (Re)starts lab hosts `h<first>` .. `h<first+n-1>` on fresh overlays:
    /// whatever an earlier test or run did to them is gone.
    pub fn fresh(&self, first: u32, n: u32) {
        let _starting: Vec<_> = (first..first + n)
            .map(|h| lock(&format!("up-h{h}")))
            .collect();
        self.script("up.sh", &[&n.to_string(), &first.to_string()], &[]);
    }

    /// Starts hidden host `hN` behind `jump` unless it is already up.
    pub fn ensure_hidden(&self, jump: &str, n: u32) {
        // Two tests asking at once would both find it down and both start it.
        let _starting = lock(&format!("up-h{n}"));
        self.script(
            "up.sh",
            &["--behind", jump, "1", &n.to_string()],
            &[("LAB_IF_UP", "keep")],
        );
    }

    /// Takes lab host `host` for this test alone (a file lock, so tests that
    /// break the same host wait for each other, across test binaries too),
    /// repairs it if an earlier test left it broken, and repairs it again
    /// when the guard is dropped, even if the test panicked.
    pub fn take(&self, host: &str) -> Taken {
        let taken = Taken {
            lab: self.clone(),
            host: host.to_string(),
            _lock: lock(host),
        };
        taken.repair();
        taken
    }
}

/// An exclusive lock named `name`, shared by every test process of the
/// machine (`<tmp>/tend-lab-<name>.lock`); released when dropped.
pub fn lock(name: &str) -> std::fs::File {
    let path = std::env::temp_dir().join(format!("tend-lab-{name}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .expect("lock file");
    file.lock().expect("lock");
    file
}

/// A host held by one test; see `Lab::take`.
pub struct Taken {
    lab: Lab,
    host: String,
    _lock: std::fs::File,
}

impl Taken {
    /// Puts the host back on the network and running, whatever was done.
    pub fn repair(&self) {
        match self.lab.status(&self.host).as_str() {
            "cut" => self.lab.fault("restore", &self.host),
            "frozen" => self.lab.fault("thaw", &self.host),
            "down" => self.lab.fault("start", &self.host),
            _ => {}
        }
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        // Never panic while unwinding: a second panic would abort the run.
        let repair = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.repair()));
        if repair.is_err() {
            eprintln!(
                "could not repair {} (try tests/lab/fault.sh restore|start {})",
                self.host, self.host
            );
        }
    }
}

/// One INI inventory line for a lab host; see `Lab::host`.
#[derive(Debug, Clone)]
pub struct HostLine {
    name: String,
    address: String,
    user: Option<String>,
    key: Option<PathBuf>,
    known_hosts: Option<PathBuf>,
    strict: Option<String>,
    args: Vec<String>,
    vars: Vec<(String, String)>,
}

impl HostLine {
    pub fn user(mut self, user: &str) -> Self {
        self.user = Some(user.into());
        self
    }

    /// No `ansible_user`: the user comes from the ssh config, or is the
    /// local user.
    pub fn without_user(mut self) -> Self {
        self.user = None;
        self
    }

    /// The private key (`None`: no `ansible_ssh_private_key_file`).
    pub fn key(mut self, key: Option<&Path>) -> Self {
        self.key = key.map(Path::to_path_buf);
        self
    }

    /// `-o UserKnownHostsFile=` in `ansible_ssh_common_args`.
    pub fn known_hosts(mut self, file: &Path) -> Self {
        self.known_hosts = Some(file.to_path_buf());
        self
    }

    /// `-o StrictHostKeyChecking=` (`None`: not given).
    pub fn strict(mut self, value: Option<&str>) -> Self {
        self.strict = value.map(str::to_string);
        self
    }

    /// More `ansible_ssh_common_args` (no single quotes), e.g. `-J host`.
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Another host variable (the value must not contain spaces).
    pub fn var(mut self, key: &str, value: &str) -> Self {
        self.vars.push((key.into(), value.into()));
        self
    }

    /// Reached at `address` instead of the lab host's own (one of the
    /// extra addresses a load test gives a host).
    pub fn at(mut self, address: &str) -> Self {
        self.address = address.to_string();
        self
    }

    pub fn line(&self) -> String {
        let mut words = vec![self.name.clone(), format!("ansible_host={}", self.address)];
        if let Some(user) = &self.user {
            words.push(format!("ansible_user={user}"));
        }
        if let Some(key) = &self.key {
            words.push(format!("ansible_ssh_private_key_file={}", key.display()));
        }
        let mut args = Vec::new();
        if let Some(file) = &self.known_hosts {
            args.push(format!("-o UserKnownHostsFile={}", file.display()));
        }
        if let Some(strict) = &self.strict {
            args.push(format!("-o StrictHostKeyChecking={strict}"));
        }
        args.extend(self.args.iter().cloned());
        if !args.is_empty() {
            words.push(format!("ansible_ssh_common_args='{}'", args.join(" ")));
        }
        for (k, v) in &self.vars {
            words.push(format!("{k}={v}"));
        }
        words.join(" ")
    }
}

/// A directory for one test: `<tmp>/tend-test-lab-<name>-<pid>`, with an empty
/// `home/` for `$HOME`. Removed when dropped.
pub struct Dir(super::Scratch);

impl Dir {
    pub fn new(name: &str) -> Dir {
        let dir = Dir(super::Scratch::new(&format!("lab-{name}")));
        std::fs::create_dir_all(dir.home()).expect("home dir");
        dir
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.0.path().join(rel)
    }

    pub fn home(&self) -> PathBuf {
        self.0.path().join("home")
    }

    /// Writes `rel` (creating its directory) and returns its path.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("dir");
        }
        std::fs::write(&path, content).expect("write");
        path
    }

    /// `tend run PLAYBOOK -i INVENTORY EXTRA...` (see `tend`).
    pub fn run_playbook(&self, playbook: &Path, inventory: &Path, extra: &[&str]) -> Run {
        let mut args = vec![
            "run",
            playbook.to_str().expect("UTF-8 path"),
            "-i",
            inventory.to_str().expect("UTF-8 path"),
        ];
        args.extend_from_slice(extra);
        self.tend(args)
    }

    /// An inventory of lab host `host` alone (see `Lab::host`), written
    /// here as `inventory.ini`.
    pub fn single_host_inventory(&self, lab: &Lab, host: &str) -> PathBuf {
        self.write(
            "inventory.ini",
            format!("{}\n", lab.host(host, host).line()),
        )
    }

    /// Runs `tend` with this directory as the working directory and `home/`
    /// as `$HOME`, with no ssh-agent and no `ANSIBLE_*` settings, so that
    /// nothing of the machine's own SSH setup leaks in.
    pub fn tend<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let what = format!("tend {}", args.join(OsStr::new(" ")).to_string_lossy());
        run_with_deadline(self.command(args), TEND_DEADLINE, &what)
    }

    /// The command `tend` above runs, for a test that starts (and maybe
    /// kills) it itself.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tend"));
        cmd.args(args)
            .current_dir(self.path())
            .env("HOME", self.home())
            .env("NO_COLOR", "1")
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("ANSIBLE_HOST_KEY_CHECKING")
            .env_remove("ANSIBLE_CONFIG");
        cmd
    }
}

/// Runs `cmd` to the end, or kills it after `deadline` and panics with what
/// it printed so far (a hung tend must fail the test, not hang it).
pub fn run_with_deadline(mut cmd: Command, deadline: Duration, what: &str) -> Run {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > deadline {
            kill(&mut child);
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        code: status.and_then(|s| s.code()).unwrap_or(-1),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    if status.is_none() {
        panic!(
            "{what} did not finish within {deadline:?}; it printed:\nSTDOUT:\n{}\nSTDERR:\n{}",
            run.stdout, run.stderr
        );
    }
    run
}

pub fn reader(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut text);
        }
        String::from_utf8_lossy(&text).into_owned()
    })
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Copies a directory tree (regular files and directories).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The `-v` traffic line of `host` (`h1: 3 round trips, ...`), as
/// `(round_trips, bytes_sent, bytes_received)`.
pub fn traffic(run: &Run, host: &str) -> Option<(u64, u64, u64)> {
    let line = run
        .stdout
        .lines()
        .chain(run.stderr.lines())
        .find(|l| l.starts_with(&format!("{host}: ")) && l.contains(" round trips, "))?;
    let numbers: Vec<u64> = line[host.len() + 1..]
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    match numbers[..] {
        [trips, sent, received] => Some((trips, sent, received)),
        _ => None,
    }
}

/// A message of the run about `host` (the `msg` of a fatal line), for
/// assertion messages.
pub fn fatal_line<'a>(run: &'a Run, host: &str) -> Option<&'a str> {
    run.stdout
        .lines()
        .find(|l| l.starts_with(&format!("fatal: [{host}]")))
}
