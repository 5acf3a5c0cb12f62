//! `wait_for` fixtures (parameters, the step's answer → result), and the
//! waiting script run for real on this machine with short timeouts.

use super::*;
use crate::debug::testing::FakeController;
use serde_json::json;

fn task(args: Value) -> Result<Box<dyn Task>, String> {
    let map = args.as_object().cloned().unwrap_or_default();
    let args = Args::check(PARAMS, &map, false).map_err(|e| e.message)?;
    WaitForModule
        .prepare(args, &FakeController::default())
        .map_err(|e| e.message)
}

fn finish(args: Value, printed: &str) -> Result<Map, TaskError> {
    let t = task(args).unwrap();
    let plan = t.plan(None).unwrap();
    let out = StepOutput {
        stdout: printed.as_bytes().to_vec(),
        ..StepOutput::default()
    };
    t.finish(&plan, &[out])
}

/// Runs the task's step with /bin/sh here and returns its result.
fn run(args: Value) -> Result<Map, TaskError> {
    let t = task(args).unwrap();
    let plan = t.plan(None).unwrap();
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(&plan.steps[0].script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = StepOutput {
        stdout: out.stdout,
        ..StepOutput::default()
    };
    t.finish(&plan, &[out])
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tend-wait-for-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn parameters_checked_as_ansible_does() {
    for (args, want) in [
        (
            json!({"port": 80, "path": "/x"}),
            "port and path parameter can not both be passed",
        ),
        (
            json!({"path": "/x", "state": "stopped"}),
            "state=stopped should only be used",
        ),
        (
            json!({"path": "/x", "state": "drained"}),
            "state=drained should only be used",
        ),
        (
            json!({"port": 80, "exclude_hosts": ["a"]}),
            "exclude_hosts should only be with state=drained",
        ),
        (
            json!({"port": 80, "state": "drained", "active_connection_states": ["BOGUS"]}),
            "unknown active_connection_state (BOGUS)",
        ),
        (
            json!({"path": "/x", "search_regex": "(unclosed"}),
            "Invalid regular expression",
        ),
        (json!({"port": 70000}), "not a TCP port"),
        (json!({"state": "drained"}), "needs a port"),
        (json!({"port": 80, "timeout": -1}), "must not be negative"),
    ] {
        let e = task(args.clone()).err().unwrap_or_default();
        assert!(e.contains(want), "{args}: {e}");
    }
    // Python-only regex syntax is left to grep -P.
    assert!(task(json!({"path": "/x", "search_regex": "a(?=b)"})).is_ok());
}

#[test]
fn runs_every_time_and_not_under_check() {
    let t = task(json!({"port": 22})).unwrap();
    assert!(!t.verify());
    assert!(t.plan(None).unwrap().changed);
    assert_eq!(
        t.check_mode(),
        CheckMode::Skip("remote module (wait_for) does not support check mode".into())
    );
}

#[test]
fn results_and_timeouts_as_ansible_words_them() {
    let r = finish(json!({"port": 8080}), "done 0\n").unwrap();
    assert_eq!(
        Value::Object(r),
        json!({"changed": false, "elapsed": 0, "match_groupdict": {}, "match_groups": [],
               "path": null, "port": 8080, "search_regex": null, "state": "started"})
    );
    let e = finish(json!({"port": 8089, "timeout": 2}), "timeout 2\n").unwrap_err();
    assert_eq!(e.msg, "Timeout when waiting for 127.0.0.1:8089");
    assert_eq!(e.result["elapsed"], 2);
    for (args, msg) in [
        (
            json!({"port": 80, "state": "stopped", "host": "db"}),
            "Timeout when waiting for db:80 to stop.",
        ),
        (
            json!({"path": "/x", "state": "absent"}),
            "Timeout when waiting for /x to be absent.",
        ),
        (json!({"path": "/x"}), "Timeout when waiting for file /x"),
        (
            json!({"path": "/x", "search_regex": "up"}),
            "Timeout when waiting for search string up in /x",
        ),
        (
            json!({"port": 22, "search_regex": "SSH"}),
            "Timeout when waiting for search string SSH in 127.0.0.1:22",
        ),
        (
            json!({"port": 80, "state": "drained"}),
            "Timeout when waiting for 127.0.0.1:80 to drain",
        ),
        (
            json!({"port": 80, "msg": "app did not start"}),
            "app did not start",
        ),
    ] {
        assert_eq!(finish(args, "timeout 1\n").unwrap_err().msg, msg);
    }
    let e = finish(json!({"path": "/root/x"}), "fail 0 RmFpbGVkIHRvIHN0YXQ=\n").unwrap_err();
    assert_eq!(e.msg, "Failed to stat");
    let e = finish(json!({"port": 1}), "client none\n").unwrap_err();
    assert!(e.msg.contains("needs bash or nc"), "{}", e.msg);
}

#[test]
fn groups_and_path_info() {
    let r = finish(
        json!({"path": "/tmp/www/index.html", "search_regex": "(?P<w>hel+)o"}),
        "done 0\ndata aGVsbG8K\nstat 0 0 644 6 1 regular file|root|root\n",
    )
    .unwrap();
    assert_eq!(r["match_groups"], json!(["hell"]));
    assert_eq!(r["match_groupdict"], json!({"w": "hell"}));
    assert_eq!(
        (&r["state"], &r["mode"], &r["owner"], &r["size"]),
        (&json!("file"), &json!("0644"), &json!("root"), &json!(6))
    );
    let gone = finish(json!({"path": "/x", "state": "absent"}), "done 1\n").unwrap();
    assert_eq!(gone["state"], "absent");
    for junk in [
        "",
        "done soon\n",
        "waiting 1\n",
        "done 0\nstat 1 2\n",
        // Found by the probe_output fuzz target: once a panic.
        "done 0\nstat\n",
        "\u{0}\n",
    ] {
        assert!(finish(json!({"path": "/x"}), junk).is_err(), "{junk:?}");
    }
}

#[test]
fn waits_for_a_path_for_real() {
    let dir = scratch("path");
    let file = dir.join("ready");
    let path = file.to_str().unwrap();
    let e = run(json!({"path": path, "timeout": 1})).unwrap_err();
    assert_eq!(e.msg, format!("Timeout when waiting for file {path}"));
    std::fs::write(&file, "status: up 42\n").unwrap();
    let r =
        run(json!({"path": path, "search_regex": "^status: (\\w+) (?P<n>\\d+)$", "timeout": 2}))
            .unwrap();
    assert_eq!(r["match_groups"], json!(["up", "42"]));
    assert_eq!(r["state"], "file");
    assert!(run(json!({"path": path, "search_regex": "down", "timeout": 1})).is_err());
    assert!(run(json!({"path": path, "state": "absent", "timeout": 1})).is_err());
    std::fs::remove_file(&file).unwrap();
    assert_eq!(
        run(json!({"path": path, "state": "absent", "timeout": 1})).unwrap()["state"],
        "absent"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn waits_for_a_port_for_real() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let r = run(json!({"port": port, "timeout": 2})).unwrap();
    assert_eq!(r["port"], port);
    let e = run(json!({"port": port, "state": "stopped", "timeout": 1})).unwrap_err();
    assert!(e.msg.ends_with("to stop."), "{}", e.msg);
    // A banner is read and searched as it arrives.
    // (Connections of the checks above wait in the backlog: every one
    // accepted for a while gets the banner.)
    let server = std::thread::spawn(move || {
        use std::io::Write;
        listener.set_nonblocking(true).unwrap();
        let until = std::time::Instant::now() + std::time::Duration::from_secs(3);
        let mut open = Vec::new();
        while std::time::Instant::now() < until {
            if let Ok((mut s, _)) = listener.accept() {
                let _ = s.write_all(b"SSH-2.0-Fake_1.0\r\n");
                open.push(s);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    });
    let r = run(json!({"port": port, "search_regex": "Fake_([0-9.]+)", "timeout": 5})).unwrap();
    assert_eq!(r["match_groups"], json!(["1.0"]));
    server.join().unwrap();
    let r = run(json!({"port": port, "state": "stopped", "timeout": 2})).unwrap();
    assert_eq!(r["state"], "stopped");
}
