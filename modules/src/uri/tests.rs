//! `uri` fixtures: parameters → what is sent (curl config, raw request),
//! and what the host's client printed → the result or the failure.

use super::*;
use crate::debug::testing::FakeController;
use serde_json::json;

fn task(args: Value) -> Result<Box<dyn Task>, String> {
    let map = args.as_object().cloned().unwrap_or_default();
    let args = Args::check(PARAMS, &map, false).map_err(|e| e.message)?;
    UriModule
        .prepare(args, &FakeController::default())
        .map_err(|e| e.message)
}

/// The plan's one step and its stdin split in three: curl config, raw
/// request head, body.
fn sent(args: Value) -> (Step, String, String, Vec<u8>) {
    let plan = task(args).unwrap().plan(None).unwrap();
    assert!(plan.changed);
    let step = plan.steps[0].clone();
    let stdin = step.stdin.clone().unwrap();
    let mut parts = stdin.splitn(3, |b| *b == b'\n');
    let mut line = || {
        String::from_utf8(
            crate::probe::decode(std::str::from_utf8(parts.next().unwrap()).unwrap()).unwrap(),
        )
        .unwrap()
    };
    let (cfg, raw) = (line(), line());
    let body = parts.next().unwrap().to_vec();
    (step, cfg, raw, body)
}

/// The result for what the client printed.
fn finish(args: Value, printed: &str) -> Result<Map, TaskError> {
    let t = task(args).unwrap();
    let plan = t.plan(None).unwrap();
    let out = StepOutput {
        stdout: printed.as_bytes().to_vec(),
        ..StepOutput::default()
    };
    t.finish(&plan, &[out])
}

fn printed(client: &str, rc: i32, err: &str, url: &str, head: &str, resp: &str) -> String {
    format!(
        "client {client}\nrc {rc}\ntime 1000000000000000000 1000000002100000000\nerr {}\nurl {}\nhead {}\nresp {}\n",
        b64(err.as_bytes()),
        b64(url.as_bytes()),
        b64(head.as_bytes()),
        b64(resp.as_bytes())
    )
}

#[test]
fn a_get_sends_nothing_secret_on_the_command_line() {
    let (step, cfg, raw, body) = sent(json!({
        "url": "http://localhost:8080/health?token=s3cret",
        "headers": {"X-Api-Key": "k3y"},
        "url_username": "me", "url_password": "pw",
    }));
    assert!(!step.script.contains("s3cret") && !step.script.contains("k3y"));
    assert!(!step.script.contains("pw"));
    assert!(cfg.contains("url = \"http://localhost:8080/health?token=s3cret\"\n"));
    assert!(cfg.contains("header = \"X-Api-Key: k3y\"\n"));
    assert!(cfg.contains("user = \"me:pw\"\nanyauth\n"));
    assert!(cfg.contains("location\n") && cfg.contains("max-time = 30\n"));
    assert!(!cfg.contains("request ="));
    assert!(raw.starts_with("GET /health?token=s3cret HTTP/1.1\r\nHost: localhost:8080\r\n"));
    assert!(raw.contains("Authorization: Basic bWU6cHc=\r\n"));
    assert!(raw.ends_with("X-Api-Key: k3y\r\n\r\n"));
    assert!(body.is_empty());
    assert!(!step.script.contains("--data-binary"));
}

#[test]
fn bodies_are_encoded_as_ansible_encodes_them() {
    let (step, cfg, raw, body) = sent(json!({
        "url": "http://h/api", "method": "POST", "body_format": "json",
        "body": {"name": "x", "n": 1}, "follow_redirects": "none",
    }));
    assert_eq!(body, br#"{"name": "x", "n": 1}"#);
    assert!(step.script.contains("--data-binary"));
    assert!(cfg.contains("header = \"Content-Type: application/json\"\n"));
    assert!(!cfg.contains("location"));
    assert!(raw.contains("Content-Length: 21\r\n"));
    let (_, cfg, _, body) = sent(json!({
        "url": "http://h/", "method": "PUT", "body_format": "form-urlencoded",
        "body": {"a": "b c"}, "headers": {"content-type": "text/x"},
    }));
    assert_eq!(body, b"a=b+c");
    assert!(cfg.contains("request = \"PUT\"\n"));
    assert!(!cfg.contains("application/x-www-form-urlencoded"));
    let (_, cfg, _, _) = sent(json!({"url": "https://h/", "method": "HEAD",
        "validate_certs": false, "force_basic_auth": true, "user": "u"}));
    assert!(cfg.contains("head\n") && cfg.contains("insecure\n") && cfg.contains("basic\n"));
}

#[test]
fn bad_parameters() {
    for (args, want) in [
        (json!({"url": "ftp://h/"}), "scheme 'ftp'"),
        (
            json!({"url": "http://h/", "method": "get"}),
            "single word in uppercase",
        ),
        (
            json!({"url": "http://h/", "status_code": ["ok"]}),
            "list of integers",
        ),
        (
            json!({"url": "http://h/", "dest": "/tmp/x"}),
            "not supported",
        ),
        (
            json!({"url": "http://h/", "follow_redirects": "maybe"}),
            "must be one of",
        ),
        (
            json!({"url": "http://h/", "body_format": "form-multipart", "body": {}}),
            "form-multipart",
        ),
        (
            json!({"url": "http://h/", "headers": {"A": "x\r\nB: y"}}),
            "line break",
        ),
    ] {
        let e = task(args.clone()).err().unwrap_or_default();
        assert!(e.contains(want), "{args}: {e}");
    }
}

#[test]
fn a_json_response_as_ansible_reports_it() {
    let head = "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6\r\nContent-Type: application/json\r\nContent-Length: 13\r\nSet-Cookie: a=1; Path=/\r\n\r\n";
    let r = finish(
        json!({"url": "http://localhost:8080/a.json"}),
        &printed(
            "curl",
            0,
            "",
            "http://localhost:8080/a.json",
            head,
            "{\"ok\": true}\n",
        ),
    )
    .unwrap();
    assert_eq!(
        Value::Object(r),
        json!({
            "changed": false, "elapsed": 2, "redirected": false,
            "server": "SimpleHTTP/0.6", "content_type": "application/json",
            "content_length": "13", "set_cookie": "a=1; Path=/",
            "cookies": {"a": "1"}, "cookies_string": "a=1",
            "json": {"ok": true}, "status": 200,
            "url": "http://localhost:8080/a.json", "msg": "OK (13 bytes)",
        })
    );
}

#[test]
fn a_wrong_status_fails_with_ansibles_message() {
    let raw = "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/html\r\nConnection: close\r\n\r\nbusy";
    let e = finish(
        json!({"url": "http://h:8080/", "status_code": [200, 201], "return_content": true}),
        &printed("tcp", 0, "", "", "", raw),
    )
    .unwrap_err();
    assert_eq!(
        e.msg,
        "Status code was 503 and not [200, 201]: HTTP Error 503: Service Unavailable"
    );
    assert_eq!(e.result["status"], 503);
    assert_eq!(e.result["content"], "busy");
    assert_eq!(e.result["connection"], "close");
    assert_eq!(e.result["changed"], false);
    assert!(e.result.get("cookies").is_none());
    // Asked for, the same status is a success.
    let ok = finish(
        json!({"url": "http://h:8080/", "status_code": "503"}),
        &printed("tcp", 0, "", "", "", raw),
    );
    assert_eq!(ok.unwrap()["msg"], "HTTP Error 503: Service Unavailable");
}

#[test]
fn no_connection_is_status_minus_one() {
    let curl_err =
        "curl: (7) Failed to connect to localhost port 8081 after 0 ms: Couldn't connect to server";
    let e = finish(
        json!({"url": "http://localhost:8081/"}),
        &printed("curl", 7, curl_err, "", "", ""),
    )
    .unwrap_err();
    assert_eq!(
        e.msg,
        "Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] Connection refused>"
    );
    assert_eq!(e.result["status"], -1);
    let bash_err = "bash: connect: Connection refused\nbash: line 1: /dev/tcp/localhost/8081: Connection refused";
    let e = finish(
        json!({"url": "http://localhost:8081/"}),
        &printed("tcp", 7, bash_err, "", "", ""),
    )
    .unwrap_err();
    assert!(
        e.msg.ends_with("[Errno 111] Connection refused>"),
        "{}",
        e.msg
    );
    let e = finish(
        json!({"url": "http://h/"}),
        &printed("tcp", 124, "", "", "", ""),
    )
    .unwrap_err();
    assert!(e.msg.ends_with("<urlopen error timed out>"), "{}", e.msg);
    let e = finish(json!({"url": "http://h/"}), "client none\n").unwrap_err();
    assert!(e.msg.contains("has no curl"), "{}", e.msg);
}

#[test]
fn redirects_location_and_garbage() {
    let head = "HTTP/1.1 302 Found\r\nLocation: /b\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";
    let r = finish(
        json!({"url": "http://h/a"}),
        &printed("curl", 0, "", "http://h/b", head, ""),
    )
    .unwrap();
    assert_eq!(
        (r["redirected"].clone(), r["url"].clone()),
        (json!(true), json!("http://h/b"))
    );
    assert_eq!(r["msg"], "OK (unknown bytes)");
    let raw = "HTTP/1.1 301 Moved Permanently\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n";
    let e = finish(
        json!({"url": "http://h/a"}),
        &printed("tcp", 0, "", "", "", raw),
    )
    .unwrap_err();
    assert_eq!(e.result["location"], "http://h/b");
    assert!(
        e.result["warnings"][0]
            .as_str()
            .unwrap()
            .contains("no curl")
    );
    for junk in [
        "",
        "client curl\nrc zero\n",
        "client curl\nrc 0\nhead !!\n",
        "client ftp\nrc 0\n",
    ] {
        assert!(
            finish(json!({"url": "http://h/"}), junk).is_err(),
            "{junk:?}"
        );
    }
    let garbled = printed("curl", 0, "", "", "SMTP ready\r\n\r\n", "");
    let e = finish(json!({"url": "http://h/"}), &garbled).unwrap_err();
    assert!(e.msg.starts_with("could not read"), "{}", e.msg);
}

#[test]
fn creates_and_removes_are_checked_first() {
    let t = task(json!({"url": "http://h/", "creates": "/tmp/done"})).unwrap();
    assert_eq!(
        t.probe().unwrap(),
        "if [ -e /tmp/done ]; then echo creates; fi\n"
    );
    let seen = |s: &str| Observed {
        stdout: s.as_bytes().to_vec(),
        ..Observed::default()
    };
    let plan = t.plan(Some(&seen("creates\n"))).unwrap();
    assert!(!plan.changed && plan.steps.is_empty());
    assert_eq!(plan.result["stdout"], "skipped, since '/tmp/done' exists");
    assert!(t.plan(Some(&seen(""))).unwrap().changed);
    assert!(t.plan(Some(&seen("what\n"))).is_err());
    assert!(task(json!({"url": "http://h/"})).unwrap().probe().is_none());
}

#[test]
fn runs_every_time_and_not_under_check() {
    let t = task(json!({"url": "http://h/"})).unwrap();
    assert!(!t.verify());
    assert_eq!(
        t.check_mode(),
        CheckMode::Skip("remote module (uri) does not support check mode".into())
    );
}

#[test]
fn base64() {
    assert_eq!(b64(b""), "");
    assert_eq!(b64(b"me:pw"), "bWU6cHc=");
    assert_eq!(b64(b"ab"), "YWI=");
    assert_eq!(
        crate::probe::decode(&b64(&[0, 255, 7, 8])).unwrap(),
        [0, 255, 7, 8]
    );
}
