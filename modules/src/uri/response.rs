//! `uri`'s result from what the host's client brought back, shaped as
//! Ansible's: headers lowercased with `-` as `_`, `msg` as urllib words it,
//! `json` for a JSON body, and the failure messages playbooks match on
//! (`Status code was 503 and not [200]: HTTP Error 503: ...`).

use super::UriTask;
use super::client::Output;
use super::http::{self, Head};
use crate::{Map, TaskError, Value};

pub(super) fn result(t: &UriTask, out: &Output) -> Result<Map, TaskError> {
    let got = match out.client.as_str() {
        "curl" if out.rc == 0 => match http::last_head(&out.head) {
            Ok(Some(head)) => Ok((head, out.resp.clone())),
            Ok(None) => Err("Request failed: <urlopen error no response>".to_string()),
            Err(e) => return Err(unreadable(&e)),
        },
        "curl" => Err(request_failed(out)),
        "tcp" | "tls" if out.resp.is_empty() => Err(request_failed(out)),
        "tcp" | "tls" => match http::split_response(&out.resp) {
            Ok(pair) => Ok(pair),
            Err(e) => Err(format!("Request failed: <urlopen error {e}>")),
        },
        "none" => Err(
            "Request failed: the host has no curl, and no bash (for http://) or openssl \
             (for https://) to make the request with"
                .to_string(),
        ),
        other => return Err(unreadable(&format!("unknown client {other:?}"))),
    };
    let final_url = match out.client.as_str() {
        "curl" if !out.url.is_empty() => String::from_utf8_lossy(&out.url).into_owned(),
        _ => t.url_text.clone(),
    };
    let mut r = Map::new();
    r.insert("changed".into(), false.into());
    r.insert("elapsed".into(), out.elapsed.into());
    r.insert("redirected".into(), (final_url != t.url_text).into());
    let (head, body) = match got {
        Ok(pair) => pair,
        Err(msg) => {
            r.insert("status".into(), (-1).into());
            r.insert("url".into(), final_url.into());
            return finish(t, r, -1, msg, None);
        }
    };
    for (k, v) in &head.headers {
        let key = k.to_ascii_lowercase().replace('-', "_");
        if is_own(&key) {
            continue;
        }
        // Repeated headers are joined, as Python's dict of a message does.
        let value = match r.get(&key).and_then(Value::as_str) {
            Some(prev) => format!("{prev}, {v}"),
            None => v.clone(),
        };
        r.insert(key, value.into());
    }
    if let Some(loc) = head.header("location") {
        r.insert("location".into(), http::join(&t.url_text, loc).into());
    }
    let msg = if head.status >= 300 {
        format!("HTTP Error {}: {}", head.status, head.reason)
    } else {
        let len = head.header("content-length").unwrap_or("unknown");
        format!("OK ({len} bytes)")
    };
    if head.status < 400 {
        let (cookies, string) = http::cookies(&head);
        r.insert("cookies".into(), Value::Object(cookies));
        r.insert("cookies_string".into(), string.into());
    }
    if (300..400).contains(&head.status) && t.follows && out.client != "curl" {
        r.insert(
            "warnings".into(),
            Value::Array(vec![
                "the host has no curl: tend did not follow this redirect".into(),
            ]),
        );
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    if is_json(&head) {
        if let Ok(json) = serde_json::from_str::<Value>(&text) {
            r.insert("json".into(), json);
        }
    }
    r.insert("status".into(), head.status.into());
    r.insert("url".into(), final_url.into());
    finish(t, r, head.status, msg, Some(text))
}

/// Keys of the result that a header of the same name must not replace.
fn is_own(key: &str) -> bool {
    matches!(
        key,
        "changed" | "elapsed" | "redirected" | "status" | "url" | "msg" | "json" | "content"
    )
}

fn finish(
    t: &UriTask,
    mut r: Map,
    status: i64,
    msg: String,
    content: Option<String>,
) -> Result<Map, TaskError> {
    if t.return_content {
        r.insert("content".into(), content.unwrap_or_default().into());
    }
    if t.status_codes.contains(&status) {
        r.insert("msg".into(), msg.into());
        return Ok(r);
    }
    let codes: Vec<String> = t.status_codes.iter().map(i64::to_string).collect();
    let msg = format!(
        "Status code was {status} and not [{}]: {msg}",
        codes.join(", ")
    );
    r.insert("msg".into(), msg.clone().into());
    Err(TaskError::with_result(msg, r))
}

/// Ansible's test: a `json` or `javascript` subtype, or a `+json` suffix.
fn is_json(head: &Head) -> bool {
    let Some(ct) = head.header("content-type") else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let sub = mime.split_once('/').map_or("", |(_, s)| s);
    let sub = sub.rsplit_once('+').map_or(sub, |(_, suffix)| suffix);
    matches!(sub, "json" | "javascript")
}

/// What urllib would have said about a request that got no response.
fn request_failed(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.err);
    let err = err.trim();
    let curl = out.client == "curl";
    let why = if err.contains("Connection refused") || (curl && out.rc == 7) {
        "[Errno 111] Connection refused".to_string()
    } else if out.rc == 124 || (curl && out.rc == 28) {
        "timed out".to_string()
    } else if (curl && out.rc == 6) || err.contains("Name or service not known") {
        "[Errno -2] Name or service not known".to_string()
    } else if err.is_empty() {
        format!("the request failed (exit code {})", out.rc)
    } else {
        err.lines().last().unwrap_or(err).to_string()
    };
    format!("Request failed: <urlopen error {why}>")
}

fn unreadable(what: &str) -> TaskError {
    TaskError::new(format!(
        "could not read the host's answer to the request: {what}"
    ))
}
