//! What `uri` sends, decided on the controller: the method, headers and
//! body as Ansible builds them, written twice — as a curl config (for hosts
//! with curl) and as a raw HTTP/1.1 request head (for the fallback).

use super::encode::{form_urlencoded, python_json};
use super::http::{Url, curl_quote};
use crate::{Args, ParamError, Value};

pub struct Request {
    pub url: Url,
    pub method: String,
    pub body: Option<Vec<u8>>,
    /// curl's config file: everything but the paths the script picks.
    pub curl_config: String,
    /// The request line and headers for the fallback, ending in a blank line.
    pub raw_head: String,
}

pub fn build(args: &Args, url_text: &str, url: Url) -> Result<Request, ParamError> {
    let method = args.str("method").unwrap_or("GET").to_string();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ParamError::new(
            "method",
            "Parameter 'method' needs to be a single word in uppercase, like GET or POST.",
        ));
    }
    let format = args
        .str("body_format")
        .unwrap_or("raw")
        .to_ascii_lowercase();
    let mut headers: Vec<(String, String)> = args
        .dict("headers")
        .map(|h| {
            h.iter()
                .map(|(k, v)| (k.clone(), crate::display(v)))
                .collect()
        })
        .unwrap_or_default();
    for (k, v) in &headers {
        if k.contains([':', '\r', '\n']) || v.contains(['\r', '\n']) {
            return Err(ParamError::new(
                "headers",
                format!("the header '{k}' has a line break or a colon in its name"),
            ));
        }
    }
    let has_type = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    let body = match args.value("body") {
        None => None,
        Some(body) => Some(match format.as_str() {
            "json" => {
                if !has_type {
                    headers.push(("Content-Type".into(), "application/json".into()));
                }
                match body {
                    Value::String(s) => s.clone(),
                    other => python_json(other),
                }
            }
            "form-urlencoded" => {
                if !has_type {
                    headers.push((
                        "Content-Type".into(),
                        "application/x-www-form-urlencoded".into(),
                    ));
                }
                match body {
                    Value::String(s) => s.clone(),
                    other => form_urlencoded(other).map_err(|e| {
                        ParamError::new(
                            "body",
                            format!("failed to parse body as form_urlencoded: {e}"),
                        )
                    })?,
                }
            }
            "form-multipart" => {
                return Err(ParamError::new(
                    "body_format",
                    "body_format form-multipart is not supported by tend yet",
                ));
            }
            _ => match body {
                Value::String(s) => s.clone(),
                other => python_json(other),
            },
        }),
    }
    .map(String::into_bytes);
    let user = args.str("url_username");
    let password = args.str("url_password").unwrap_or("");
    let force_basic = args.bool_or("force_basic_auth", false);
    let agent = args.str("http_agent").unwrap_or("ansible-httpget");
    let timeout = args.int("timeout").unwrap_or(30);
    let mut cfg = vec![
        format!("url = {}", curl_quote(url_text)),
        "silent".into(),
        "show-error".into(),
        format!("max-time = {timeout}"),
        format!("user-agent = {}", curl_quote(agent)),
    ];
    // curl keeps a method given with `request` across redirects; a POST with
    // a body is left implicit so that a 301/302/303 turns it into a GET, as
    // Python's urllib does.
    match (method.as_str(), body.is_some()) {
        ("GET", false) | ("POST", true) => {}
        ("HEAD", _) => cfg.push("head".into()),
        (m, _) => cfg.push(format!("request = {}", curl_quote(m))),
    }
    if follow(args)?.follows(&method) {
        cfg.push("location".into());
        cfg.push("max-redirs = 50".into());
    }
    if !args.bool_or("validate_certs", true) {
        cfg.push("insecure".into());
    }
    if let Some(user) = user {
        cfg.push(format!(
            "user = {}",
            curl_quote(&format!("{user}:{password}"))
        ));
        cfg.push(if force_basic { "basic" } else { "anyauth" }.into());
    }
    if !args.bool_or("use_proxy", true) {
        cfg.push("noproxy = \"*\"".into());
    }
    if args.bool_or("decompress", true) {
        cfg.push("compressed".into());
    }
    for (flag, param) in [
        ("cacert", "ca_path"),
        ("cert", "client_cert"),
        ("key", "client_key"),
        ("unix-socket", "unix_socket"),
    ] {
        if let Some(v) = args.str(param) {
            cfg.push(format!("{flag} = {}", curl_quote(v)));
        }
    }
    if let Some(ciphers) = args.strings("ciphers") {
        cfg.push(format!("ciphers = {}", curl_quote(&ciphers.join(":"))));
    }
    for (k, v) in &headers {
        cfg.push(format!("header = {}", curl_quote(&format!("{k}: {v}"))));
    }
    let mut raw = format!(
        "{method} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {agent}\r\nAccept-Encoding: identity\r\nConnection: close\r\n",
        url.target,
        url.host_header()
    );
    let credentials = match (user, &url.userinfo) {
        (Some(u), _) => Some(format!("{u}:{password}")),
        (None, Some(info)) => Some(info.clone()),
        (None, None) => None,
    };
    // Without curl there is no second try after a 401: the credentials go
    // with the first request, as with force_basic_auth.
    if let Some(c) = credentials {
        raw.push_str(&format!(
            "Authorization: Basic {}\r\n",
            super::b64(c.as_bytes())
        ));
    }
    if body.is_some() || matches!(method.as_str(), "POST" | "PUT" | "PATCH") {
        let len = body.as_ref().map_or(0, Vec::len);
        raw.push_str(&format!("Content-Length: {len}\r\n"));
    }
    for (k, v) in &headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    Ok(Request {
        url,
        method,
        body,
        curl_config: cfg.join("\n") + "\n",
        raw_head: raw,
    })
}

/// Ansible's `follow_redirects`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Follow {
    None,
    Safe,
    All,
}

impl Follow {
    pub fn follows(self, method: &str) -> bool {
        match self {
            Follow::None => false,
            Follow::Safe => matches!(method, "GET" | "HEAD"),
            Follow::All => true,
        }
    }
}

pub fn follow(args: &Args) -> Result<Follow, ParamError> {
    // YAML booleans arrive as booleans; Ansible's choices spell them yes/no.
    let value = match args.value("follow_redirects") {
        None => return Ok(Follow::Safe),
        Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.to_string(),
        Some(other) => crate::display(other).to_ascii_lowercase(),
    };
    Ok(match value.as_str() {
        "all" | "yes" | "true" => Follow::All,
        "safe" | "urllib2" => Follow::Safe,
        "none" | "no" | "false" => Follow::None,
        other => {
            return Err(ParamError::new(
                "follow_redirects",
                format!(
                    "value of 'follow_redirects' must be one of: all, no, none, safe, urllib2, yes; got: {other}"
                ),
            ));
        }
    })
}
