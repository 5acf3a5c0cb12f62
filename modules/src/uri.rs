//! `uri`: an HTTP request made FROM the managed host, as Ansible's module
//! makes it, so `uri: url=http://localhost:8080/health` checks the service
//! on that host. No Python: the host's curl (or bash's `/dev/tcp` and
//! `openssl`, see `uri/client.rs`) carries the request; the response is
//! read here and reported as Ansible does (`status`, `url`, `msg`,
//! `elapsed`, headers lowercased with `_` as keys, `json` for a JSON body,
//! `content` with `return_content`). It runs every time and changes
//! nothing (`changed: false`), and a status outside `status_code` fails
//! the task with Ansible's message, so it works under `until`/`retries`.
//! Like Ansible's, it does not run under `--check`.

mod client;
pub(crate) mod encode;
mod http;
mod request;

use crate::shell::quote;
use crate::{
    Args, CheckMode, Controller, Kind, Map, Module, Observed, Param, ParamError, Plan, Step,
    StepOutput, Task, TaskError, Value,
};
use http::Url;
use request::Request;

pub struct UriModule;

const PARAMS: &[Param] = &[
    Param::new("url", Kind::Str).required(),
    Param::new("method", Kind::Str),
    Param::new("body", Kind::Any),
    Param::new("body_format", Kind::Str).choices(&[
        "form-urlencoded",
        "json",
        "raw",
        "form-multipart",
    ]),
    Param::new("status_code", Kind::List),
    Param::new("return_content", Kind::Bool),
    Param::new("headers", Kind::Dict),
    Param::new("timeout", Kind::Int),
    Param::new("follow_redirects", Kind::Any),
    Param::new("url_username", Kind::Str).aliases(&["user"]),
    Param::new("url_password", Kind::Str).aliases(&["password"]),
    Param::new("force_basic_auth", Kind::Bool),
    Param::new("validate_certs", Kind::Bool),
    Param::new("creates", Kind::Str),
    Param::new("removes", Kind::Str),
    Param::new("http_agent", Kind::Str),
    Param::new("use_proxy", Kind::Bool),
    Param::new("decompress", Kind::Bool),
    Param::new("ca_path", Kind::Str),
    Param::new("client_cert", Kind::Str),
    Param::new("client_key", Kind::Str),
    Param::new("unix_socket", Kind::Str),
    Param::new("ciphers", Kind::List),
    Param::new("unredirected_headers", Kind::List),
    Param::new("use_netrc", Kind::Bool),
    Param::new("use_gssapi", Kind::Bool),
    Param::new("force", Kind::Bool),
    Param::new("dest", Kind::Str),
    Param::new("src", Kind::Str),
    Param::new("remote_src", Kind::Bool),
];

impl Module for UriModule {
    fn name(&self) -> &'static str {
        "uri"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn prepare(&self, args: Args, _: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        for unsupported in ["dest", "src", "remote_src"] {
            if args.has(unsupported) {
                return Err(ParamError::new(
                    unsupported,
                    format!("uri's '{unsupported}' is not supported by tend yet"),
                ));
            }
        }
        if args.bool_or("use_gssapi", false) {
            return Err(ParamError::new(
                "use_gssapi",
                "GSSAPI authentication is not supported by tend",
            ));
        }
        let url_text = args.req_str("url")?.to_string();
        let url = Url::parse(&url_text).map_err(|e| ParamError::new("url", e))?;
        let status_codes = match args.list("status_code") {
            None => vec![200],
            Some(items) => items
                .iter()
                .map(|v| match v {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                })
                .collect::<Option<Vec<i64>>>()
                .ok_or_else(|| {
                    ParamError::new("status_code", "status_code must be a list of integers")
                })?,
        };
        let timeout = args.int("timeout").unwrap_or(30);
        if timeout <= 0 {
            return Err(ParamError::new(
                "timeout",
                "timeout must be a positive number of seconds",
            ));
        }
        let follow = request::follow(&args)?;
        let req = request::build(&args, &url_text, url)?;
        Ok(Box::new(UriTask {
            follows: follow.follows(&req.method),
            url_text,
            req,
            status_codes,
            return_content: args.bool_or("return_content", false),
            timeout,
            validate_certs: args.bool_or("validate_certs", true),
            creates: args.string("creates").filter(|s| !s.is_empty()),
            removes: args.string("removes").filter(|s| !s.is_empty()),
        }))
    }
}

struct UriTask {
    url_text: String,
    req: Request,
    status_codes: Vec<i64>,
    return_content: bool,
    timeout: i64,
    validate_certs: bool,
    follows: bool,
    creates: Option<String>,
    removes: Option<String>,
}

impl Task for UriTask {
    /// Only `creates`/`removes` need a look at the host first.
    fn probe(&self) -> Option<String> {
        if self.creates.is_none() && self.removes.is_none() {
            return None;
        }
        let mut s = String::new();
        if let Some(c) = &self.creates {
            s.push_str(&format!("if [ -e {} ]; then echo creates; fi\n", quote(c)));
        }
        if let Some(r) = &self.removes {
            s.push_str(&format!(
                "if [ ! -e {} ]; then echo removes; fi\n",
                quote(r)
            ));
        }
        Some(s)
    }

    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        if let Some(obs) = observed {
            let seen = obs.stdout_str();
            let skip = match (seen.lines().next(), &self.creates, &self.removes) {
                (Some("creates"), Some(c), _) => Some(format!("skipped, since '{c}' exists")),
                (Some("removes"), _, Some(r)) => {
                    Some(format!("skipped, since '{r}' does not exist"))
                }
                (None, _, _) => None,
                (Some(other), _, _) => {
                    return Err(TaskError::new(format!(
                        "could not read the host's answer to uri's creates/removes check: {other:?}"
                    )));
                }
            };
            if let Some(msg) = skip {
                let mut result = Map::new();
                result.insert("stdout".into(), msg.into());
                result.insert("changed".into(), false.into());
                return Ok(Plan::unchanged(result));
            }
        }
        let mut stdin = format!(
            "{}\n{}\n",
            b64(self.req.curl_config.as_bytes()),
            b64(self.req.raw_head.as_bytes())
        )
        .into_bytes();
        if let Some(body) = &self.req.body {
            stdin.extend_from_slice(body);
        }
        let fallback = client::Fallback {
            https: self.req.url.https,
            host: &self.req.url.host,
            port: self.req.url.port,
            validate_certs: self.validate_certs,
        };
        let script = client::script(self.req.body.is_some(), self.timeout, &fallback);
        let mut result = Map::new();
        result.insert("url".into(), self.url_text.clone().into());
        Ok(Plan::change(
            vec![Step::script(script).with_stdin(stdin)],
            result,
        ))
    }

    fn finish(&self, _: &Plan, outputs: &[StepOutput]) -> Result<Map, TaskError> {
        let out = outputs
            .first()
            .ok_or_else(|| TaskError::new("uri: the request step did not run"))?;
        let out = client::read(&out.stdout).map_err(|e| {
            TaskError::new(format!(
                "could not read the host's answer to the request: {e}"
            ))
        })?;
        response::result(self, &out)
    }

    fn check_mode(&self) -> CheckMode {
        CheckMode::Skip("remote module (uri) does not support check mode".into())
    }

    /// Nothing to converge: it asks again every time.
    fn verify(&self) -> bool {
        false
    }
}

mod response;

/// Standard base64, for what travels to the host on stdin.
pub(crate) fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
