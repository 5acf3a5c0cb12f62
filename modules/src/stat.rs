//! `stat`: reports what is at a path, as `ansible.builtin.stat` does, in a
//! `stat` mapping (`exists`, `mode`, `isdir`, `checksum`, ...). It never
//! changes anything. `get_attributes` and `get_selinux_context` are
//! accepted and have no effect: their keys are not reported.

use crate::file::{expand, word};
use crate::probe::{self, FileKind};
use crate::{
    Args, Controller, Kind, Map, Module, Observed, Param, ParamError, Plan, Task, TaskError, Value,
};

pub struct StatModule;

const ALGORITHMS: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

const PARAMS: &[Param] = &[
    Param::new("path", Kind::Str)
        .required()
        .aliases(&["dest", "name"]),
    Param::new("follow", Kind::Bool),
    Param::new("get_checksum", Kind::Bool),
    Param::new("checksum_algorithm", Kind::Str)
        .aliases(&["checksum", "checksum_algo"])
        .choices(ALGORITHMS),
    Param::new("get_mime", Kind::Bool).aliases(&["mime", "mime_type", "mime-type"]),
    Param::new("get_attributes", Kind::Bool).aliases(&["attr", "attributes"]),
    Param::new("get_selinux_context", Kind::Bool),
];

impl Module for StatModule {
    fn name(&self) -> &'static str {
        "stat"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn prepare(&self, args: Args, _: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        let path = args.req_str("path")?.to_string();
        if path.is_empty() {
            return Err(ParamError::new("path", "path must not be empty"));
        }
        let algorithm = args.str("checksum_algorithm").unwrap_or("sha1");
        let Some(&algorithm) = ALGORITHMS.iter().find(|a| **a == algorithm) else {
            return Err(ParamError::new(
                "checksum_algorithm",
                format!("unsupported checksum algorithm '{algorithm}'"),
            ));
        };
        Ok(Box::new(StatTask {
            path,
            follow: args.bool_or("follow", false),
            checksum: args.bool_or("get_checksum", true).then_some(algorithm),
            mime: args.bool_or("get_mime", true),
        }))
    }
}

struct StatTask {
    path: String,
    follow: bool,
    /// The algorithm, when a checksum is wanted.
    checksum: Option<&'static str>,
    mime: bool,
}

impl Task for StatTask {
    fn probe(&self) -> Option<String> {
        Some(self.script())
    }
    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        let obs = observed.ok_or_else(|| TaskError::new("stat: no probe output to read"))?;
        if obs.rc != 0 {
            let err = String::from_utf8_lossy(&obs.stderr);
            return Err(TaskError::new(err.trim().to_string()));
        }
        let mut result = Map::new();
        result.insert("changed".into(), false.into());
        result.insert("stat".into(), Value::Object(self.read(&obs.stdout)?));
        Ok(Plan::unchanged(result))
    }
}

impl StatTask {
    fn script(&self) -> String {
        let l = if self.follow { " -L" } else { "" };
        let mut s = String::new();
        if self.path.starts_with('~') {
            s.push_str("echo \"home $(printf %s \"$HOME\" | base64 -w0)\"\n");
        }
        // Only a missing path is `exists: false`; any other failure to stat
        // (permission denied) fails the task, as in Ansible.
        s.push_str(&format!(
            "p={}\n\
             if ! x=$(LC_ALL=C stat{l} -c 'stat %f %u %g %s %Y %U %G' -- \"$p\" 2>&1); then\n  \
               case $x in *'No such file or directory'*) echo absent; exit 0 ;; esac\n  \
               printf '%s\\n' \"$x\" >&2; exit 3\n\
             fi\n\
             echo \"$x\"\n\
             stat{l} -c 'more %f %.9X %.9Y %.9Z %i %d %h %b %o %t %T' -- \"$p\" || exit 3\n\
             a=''; for t in r w x; do if [ -$t \"$p\" ]; then a=\"$a 1\"; else a=\"$a 0\"; fi; done\n\
             echo \"access$a\"\n",
            word(&self.path)
        ));
        if !self.follow {
            s.push_str(
                "if [ -L \"$p\" ]; then\n  \
                   echo \"link $(readlink -n -- \"$p\" | base64 -w0)\"\n  \
                   echo \"real $(readlink -n -m -- \"$p\" | base64 -w0)\"\n\
                 fi\n",
            );
        }
        if let Some(algo) = self.checksum {
            let regular = if self.follow {
                "[ -f \"$p\" ]"
            } else {
                "[ -f \"$p\" ] && [ ! -L \"$p\" ]"
            };
            s.push_str(&format!(
                "if {regular} && [ -r \"$p\" ]; then\n  \
                   c=$({algo}sum < \"$p\") || exit 3\n  \
                   echo \"sum ${{c%% *}}\"\n\
                 fi\n"
            ));
        }
        if self.mime {
            // Like Ansible: `file` on the path as given, "unknown" without it.
            s.push_str(
                "if command -v file >/dev/null 2>&1 && m=$(file -b --mime-type --mime-encoding -- \"$p\" 2>/dev/null); then\n  \
                   echo \"mime $m\"\n\
                 fi\n",
            );
        }
        s
    }

    /// The `stat` mapping from what the probe printed.
    fn read(&self, out: &[u8]) -> Result<Map, TaskError> {
        let text = std::str::from_utf8(out).map_err(|_| bad("output is not UTF-8"))?;
        let mut m = Map::new();
        let mut shared = String::new();
        let (mut home, mut mime) = (None, None);
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
            match tag {
                "absent" => {
                    m.insert("exists".into(), false.into());
                    return Ok(m);
                }
                // The lines the shared file probe also prints.
                "stat" | "link" => {
                    shared.push_str(line);
                    shared.push('\n');
                }
                "home" => home = Some(text_of(rest)?),
                "more" => more(rest, &mut m)?,
                "access" => {
                    let bits: Vec<&str> = rest.split(' ').collect();
                    let [r, w, x] = bits[..] else {
                        return Err(bad(format!("bad access line {rest:?}")));
                    };
                    m.insert("readable".into(), (r == "1").into());
                    m.insert("writeable".into(), (w == "1").into());
                    m.insert("executable".into(), (x == "1").into());
                }
                "real" => {
                    m.insert("lnk_source".into(), text_of(rest)?.into());
                }
                "sum" if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    m.insert("checksum".into(), rest.into());
                }
                "mime" => mime = Some(rest.to_string()),
                _ => return Err(bad(format!("unexpected line {line:?}"))),
            }
        }
        let st = probe::parse_file(shared.as_bytes())?;
        if !m.contains_key("inode") || !m.contains_key("readable") {
            return Err(bad("incomplete answer"));
        }
        m.insert("exists".into(), true.into());
        m.insert("path".into(), expand(&self.path, home.as_deref()).into());
        m.insert("mode".into(), crate::mode::format(st.mode).into());
        m.insert("uid".into(), st.uid.into());
        m.insert("gid".into(), st.gid.into());
        m.insert("size".into(), st.size.into());
        // stat prints UNKNOWN for an id with no name; Ansible leaves it out.
        if st.owner != "UNKNOWN" {
            m.insert("pw_name".into(), st.owner.clone().into());
        }
        if st.group != "UNKNOWN" {
            m.insert("gr_name".into(), st.group.clone().into());
        }
        for (key, mask) in [
            ("rusr", 0o400),
            ("wusr", 0o200),
            ("xusr", 0o100),
            ("rgrp", 0o040),
            ("wgrp", 0o020),
            ("xgrp", 0o010),
            ("roth", 0o004),
            ("woth", 0o002),
            ("xoth", 0o001),
            ("isuid", 0o4000),
            ("isgid", 0o2000),
        ] {
            m.insert(key.into(), (st.mode & mask != 0).into());
        }
        if st.kind == Some(FileKind::Link) {
            m.insert("lnk_target".into(), st.link_target.clone().into());
        }
        if let Some(text) = mime.or_else(|| self.mime.then(String::new)) {
            // `file` prints "text/plain; charset=us-ascii".
            let (kind, charset) = text.split_once(';').unwrap_or((&text, ""));
            let charset = charset.trim().strip_prefix("charset=").unwrap_or("");
            let or_unknown = |s: &str| if s.is_empty() { "unknown" } else { s }.to_string();
            m.insert("mimetype".into(), or_unknown(kind.trim()).into());
            m.insert("charset".into(), or_unknown(charset).into());
        }
        Ok(m)
    }
}

/// The fields only `stat` reports: file type, times, inode, device, links
/// and blocks.
fn more(rest: &str, m: &mut Map) -> Result<(), TaskError> {
    let f: Vec<&str> = rest.split(' ').collect();
    let [
        raw,
        atime,
        mtime,
        ctime,
        inode,
        dev,
        nlink,
        blocks,
        blksize,
        major,
        minor,
    ] = f[..]
    else {
        return Err(bad(format!("bad stat line {rest:?}")));
    };
    let raw = u32::from_str_radix(raw, 16).map_err(|_| bad("bad mode"))?;
    for (key, kind) in [
        ("isdir", 0o040000),
        ("ischr", 0o020000),
        ("isblk", 0o060000),
        ("isreg", 0o100000),
        ("isfifo", 0o010000),
        ("islnk", 0o120000),
        ("issock", 0o140000),
    ] {
        m.insert(key.into(), (raw & 0o170000 == kind).into());
    }
    for (key, value) in [("atime", atime), ("mtime", mtime), ("ctime", ctime)] {
        let t: f64 = value
            .parse()
            .map_err(|_| bad(format!("bad time {value:?}")))?;
        m.insert(key.into(), t.into());
    }
    for (key, value) in [
        ("inode", inode),
        ("dev", dev),
        ("nlink", nlink),
        ("blocks", blocks),
        ("block_size", blksize),
    ] {
        let n: u64 = value
            .parse()
            .map_err(|_| bad(format!("bad number {value:?}")))?;
        m.insert(key.into(), n.into());
    }
    let hex = |s: &str| u64::from_str_radix(s, 16).map_err(|_| bad("bad device number"));
    let (major, minor) = (hex(major)?, hex(minor)?);
    // st_rdev as glibc's makedev encodes it, which Ansible reports.
    let rdev = (minor & 0xff)
        | ((major & 0xfff) << 8)
        | ((minor & !0xff) << 12)
        | ((major & !0xfff) << 32);
    m.insert("device_type".into(), rdev.into());
    Ok(())
}

fn text_of(b64: &str) -> Result<String, TaskError> {
    String::from_utf8(probe::decode(b64)?).map_err(|_| bad("a path is not UTF-8"))
}

fn bad(what: impl std::fmt::Display) -> TaskError {
    TaskError::new(format!(
        "could not read the host's answer to the stat probe: {}",
        crate::clip(&what.to_string())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debug::testing::FakeController;
    use serde_json::json;

    fn task(args: Value) -> Result<Box<dyn Task>, ParamError> {
        let args = Args::check(PARAMS, args.as_object().unwrap(), false)?;
        StatModule.prepare(args, &FakeController::default())
    }

    fn stat(args: Value, probe: &str) -> Result<Map, TaskError> {
        let out = Observed {
            stdout: probe.as_bytes().to_vec(),
            ..Observed::default()
        };
        let plan = task(args).unwrap().plan(Some(&out))?;
        assert!(!plan.changed && plan.steps.is_empty());
        assert_eq!(plan.result["changed"], false);
        Ok(plan.result["stat"].as_object().unwrap().clone())
    }

    const FILE: &str = "stat 81a4 0 0 6 1700000000 root root\n\
        more 81a4 1700000001.5 1700000000.25 1700000002.000000000 131 2049 1 8 4096 0 0\n\
        access 1 1 0\n\
        sum f572d396fae9206628714fb2ce00f72e94f2258f\n\
        mime text/plain; charset=us-ascii\n";

    #[test]
    fn regular_file() {
        let s = stat(json!({"path": "/etc/motd"}), FILE).unwrap();
        let want = json!({
            "exists": true, "path": "/etc/motd", "mode": "0644", "isdir": false, "isreg": true,
            "islnk": false, "ischr": false, "isblk": false, "isfifo": false, "issock": false,
            "uid": 0, "gid": 0, "pw_name": "root", "gr_name": "root", "size": 6,
            "mtime": 1700000000.25, "atime": 1700000001.5, "ctime": 1700000002.0,
            "inode": 131, "dev": 2049, "nlink": 1, "blocks": 8, "block_size": 4096,
            "device_type": 0, "readable": true, "writeable": true, "executable": false,
            "rusr": true, "wusr": true, "xusr": false, "rgrp": true, "wgrp": false,
            "xgrp": false, "roth": true, "woth": false, "xoth": false, "isuid": false,
            "isgid": false, "checksum": "f572d396fae9206628714fb2ce00f72e94f2258f",
            "mimetype": "text/plain", "charset": "us-ascii",
        });
        for (key, value) in want.as_object().unwrap() {
            assert_eq!(s.get(key), Some(value), "{key}");
        }
        assert!(!s.contains_key("lnk_target") && !s.contains_key("lnk_source"));
    }

    #[test]
    fn missing_path() {
        let s = stat(json!({"path": "/nope"}), "absent\n").unwrap();
        assert_eq!(Value::Object(s), json!({"exists": false}));
    }

    #[test]
    fn symlink_not_followed() {
        let probe = "stat a1ff 0 0 4 1 root root\n\
            more a1ff 1 1 1 7 2049 1 0 4096 0 0\n\
            access 1 1 1\n\
            link L2V0Yw==\n\
            real L2V0Yw==\n\
            mime inode/symlink; charset=binary\n";
        let s = stat(json!({"path": "/lnk"}), probe).unwrap();
        assert_eq!(
            (&s["islnk"], &s["isreg"], &s["mode"]),
            (&json!(true), &json!(false), &json!("0777"))
        );
        assert_eq!(
            (&s["lnk_target"], &s["lnk_source"]),
            (&json!("/etc"), &json!("/etc"))
        );
        assert_eq!(s["mimetype"], "inode/symlink");
    }

    #[test]
    fn devices_set_id_bits_and_unknown_owner() {
        // /dev/sda: block device 8,0, owned by an id with no name.
        let probe = "stat 61b0 4242 6 0 1 UNKNOWN disk\n\
            more 61b0 1 1 1 9 5 1 0 4096 8 0\n\
            access 1 0 0\n";
        let s = stat(json!({"path": "/dev/sda", "get_mime": false}), probe).unwrap();
        assert_eq!(
            (&s["isblk"], &s["device_type"], &s["mode"]),
            (&json!(true), &json!(2048), &json!("0660"))
        );
        assert!(!s.contains_key("pw_name"));
        assert_eq!(s["gr_name"], "disk");
        assert!(!s.contains_key("mimetype") && !s.contains_key("checksum"));
        let probe = "stat 8ded 0 0 1 1 root root\nmore 8ded 1 1 1 9 5 1 0 4096 0 0\naccess 1 1 1\n";
        let s = stat(json!({"path": "/usr/bin/x"}), probe).unwrap();
        assert_eq!(
            (&s["mode"], &s["isuid"], &s["isgid"]),
            (&json!("6755"), &json!(true), &json!(true))
        );
        // get_mime without a `file` command: unknown, as in Ansible.
        assert_eq!(
            (&s["mimetype"], &s["charset"]),
            (&json!("unknown"), &json!("unknown"))
        );
    }

    #[test]
    fn probe_follows_and_checksums_as_asked() {
        let p = |args: Value| task(args).unwrap().probe().unwrap();
        let plain = p(json!({"path": "/a b"}));
        assert!(plain.contains("p='/a b'"));
        assert!(plain.contains("LC_ALL=C stat -c 'stat"));
        assert!(plain.contains("sha1sum < \"$p\"") && plain.contains("[ ! -L \"$p\" ]"));
        assert!(plain.contains("readlink -n -- \"$p\""));
        let followed = p(json!({"path": "/a", "follow": true, "checksum_algorithm": "sha256"}));
        assert!(followed.contains("stat -L -c 'stat") && followed.contains("sha256sum"));
        assert!(!followed.contains("readlink"));
        let bare = p(json!({"path": "/a", "get_checksum": false, "get_mime": false}));
        assert!(!bare.contains("sum <") && !bare.contains("file -b"));
        assert!(p(json!({"path": "~/x"})).contains("p=\"$HOME\"/x"));
        let home = format!("home L2hvbWUvYXBw\n{FILE}"); // "/home/app"
        assert_eq!(
            stat(json!({"path": "~/x"}), &home).unwrap()["path"],
            "/home/app/x"
        );
    }

    #[test]
    fn parameters() {
        assert!(task(json!({"dest": "/x", "checksum": "md5", "attr": true, "mime": "no"})).is_ok());
        assert!(task(json!({"path": "/x", "get_selinux_context": false})).is_ok());
        let e = task(json!({"path": "/x", "checksum_algorithm": "crc32"}))
            .err()
            .unwrap();
        assert!(e.message.contains("must be one of"), "{e}");
        let e = task(json!({"follow": true})).err().unwrap();
        assert_eq!(e.message, "missing required parameter 'path'");
    }

    #[test]
    fn failures_and_garbage() {
        let t = task(json!({"path": "/root/x"})).unwrap();
        let denied = Observed {
            rc: 3,
            stderr: b"stat: cannot statx '/root/x': Permission denied\n".to_vec(),
            ..Observed::default()
        };
        assert!(
            t.plan(Some(&denied))
                .unwrap_err()
                .msg
                .contains("Permission denied")
        );
        for junk in [
            "",
            "stat 81a4 0 0 6 1 root root\n",
            "hello\n",
            "more 1 2\n",
            "stat 81a4 0 0 6 1 root root\nmore 81a4 1 1 1 9 5 1 0 4096 0 0\naccess 1 1\n",
        ] {
            let out = Observed {
                stdout: junk.into(),
                ..Observed::default()
            };
            assert!(t.plan(Some(&out)).is_err(), "{junk:?}");
        }
        assert!(t.plan(None).is_err());
    }

    fn run(args: Value) -> Map {
        let t = task(args).unwrap();
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(t.probe().unwrap())
            .output()
            .unwrap();
        let observed = Observed {
            rc: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        };
        let plan = t.plan(Some(&observed)).unwrap();
        plan.result["stat"].as_object().unwrap().clone()
    }

    #[test]
    fn real_files() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("tend-stat-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("it's here");
        std::fs::write(&file, "hello\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.join("lnk");
        std::os::unix::fs::symlink("it's here", &link).unwrap();
        let path = |p: &std::path::Path| p.to_str().unwrap().to_string();
        let meta = std::fs::metadata(&file).unwrap();

        let s = run(json!({"path": path(&file)}));
        assert_eq!(
            (&s["exists"], &s["isreg"], &s["mode"]),
            (&json!(true), &json!(true), &json!("0640"))
        );
        assert_eq!(s["checksum"], "f572d396fae9206628714fb2ce00f72e94f2258f");
        assert_eq!(
            (&s["inode"], &s["size"], &s["uid"]),
            (&json!(meta.ino()), &json!(6), &json!(meta.uid()))
        );
        assert_eq!(s["mtime"].as_f64().map(|t| t as i64), Some(meta.mtime()));
        assert_eq!(s["readable"], true);
        let s = run(json!({"path": path(&file), "checksum_algorithm": "md5"}));
        assert_eq!(s["checksum"], "b1946ac92492d2347c6235b4d2611184");

        let s = run(json!({"path": path(&link)}));
        assert_eq!(
            (&s["islnk"], &s["lnk_target"]),
            (&json!(true), &json!("it's here"))
        );
        assert_eq!(s["lnk_source"], path(&file));
        assert!(!s.contains_key("checksum"));
        let s = run(json!({"path": path(&link), "follow": true}));
        assert_eq!(
            (&s["islnk"], &s["isreg"], &s["mode"]),
            (&json!(false), &json!(true), &json!("0640"))
        );
        assert!(s.contains_key("checksum"));

        let s = run(json!({"path": path(&dir)}));
        assert_eq!(
            (&s["isdir"], &s["executable"]),
            (&json!(true), &json!(true))
        );
        let s = run(json!({"path": path(&dir.join("missing"))}));
        assert_eq!(Value::Object(s), json!({"exists": false}));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
