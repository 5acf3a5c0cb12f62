//! HTTP pieces `uri` needs on the controller: URLs taken apart and joined,
//! and responses read back: the status line and headers of the last
//! response, and a body whose chunked framing is removed.

use crate::Map;

/// The parts of an `http://` or `https://` URL the request needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Url {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, at least `/`.
    pub target: String,
    /// `user:password` written into the URL.
    pub userinfo: Option<String>,
}

impl Url {
    pub fn parse(url: &str) -> Result<Url, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("'{url}' is not an http or https URL"))?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            other => {
                return Err(format!(
                    "the URL scheme '{other}' is not supported (http, https)"
                ));
            }
        };
        let rest = rest.split('#').next().unwrap_or("");
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h),
            None => (None, authority),
        };
        let default = if https { 443 } else { 80 };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("bad host in '{url}'"))?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        let port = match port {
            Some("") | None => default,
            Some(p) => p.parse().map_err(|_| format!("bad port in '{url}'"))?,
        };
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
            return Err(format!("no host in '{url}'"));
        }
        if target.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(format!("'{url}' contains spaces or control characters"));
        }
        Ok(Url {
            https,
            host,
            port,
            target,
            userinfo,
        })
    }

    /// `Host:` as a request sends it: the port only when it is not the default.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == if self.https { 443 } else { 80 } {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Python's `urljoin` for a `Location`: absolute URLs as they are,
/// `//host/..`, `/path` and relative paths resolved against `base`.
pub fn join(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let Some((scheme, rest)) = base.split_once("://") else {
        return location.to_string();
    };
    if let Some(net) = location.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let origin = format!("{scheme}://{}", &rest[..authority_end]);
    if location.starts_with('/') {
        return format!("{origin}{location}");
    }
    let path = rest[authority_end..].split(['?', '#']).next().unwrap_or("");
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    format!("{origin}{dir}{location}")
}

/// One response: status, reason and headers as received.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Head {
    pub status: i64,
    pub reason: String,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The last final (non-1xx) response among header blocks (curl writes one
/// per redirect), or `None` when there is none.
pub fn last_head(raw: &[u8]) -> Result<Option<Head>, String> {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let mut last = None;
    for block in text.split("\n\n") {
        let mut lines = block.lines().filter(|l| !l.is_empty());
        let Some(status_line) = lines.next() else {
            continue;
        };
        let mut words = status_line.splitn(3, ' ');
        let (Some(proto), Some(code)) = (words.next(), words.next()) else {
            return Err(format!("unexpected status line {status_line:?}"));
        };
        if !proto.starts_with("HTTP/") {
            return Err(format!("unexpected status line {status_line:?}"));
        }
        let status: i64 = code
            .parse()
            .map_err(|_| format!("unexpected status line {status_line:?}"))?;
        let reason = words.next().unwrap_or("").trim().to_string();
        let mut headers = Vec::new();
        for line in lines {
            match line.split_once(':') {
                Some((k, v)) => headers.push((k.trim().to_string(), v.trim().to_string())),
                None => return Err(format!("unexpected header line {line:?}")),
            }
        }
        if !(100..200).contains(&status) {
            last = Some(Head {
                status,
                reason,
                headers,
            });
        }
    }
    Ok(last)
}

/// Splits a raw response (as read from a socket) into its head and body,
/// skipping `100 Continue` and undoing chunked transfer encoding.
pub fn split_response(raw: &[u8]) -> Result<(Head, Vec<u8>), String> {
    let mut rest = raw;
    loop {
        let end = find(rest, b"\r\n\r\n")
            .map(|i| (i, 4))
            .or_else(|| find(rest, b"\n\n").map(|i| (i, 2)))
            .ok_or("the response ended before its headers did")?;
        let head = last_head(&rest[..end.0])?.filter(|h| !(100..200).contains(&h.status));
        rest = &rest[end.0 + end.1..];
        let Some(head) = head else { continue };
        let chunked = head
            .header("transfer-encoding")
            .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
        let body = if chunked {
            dechunk(rest)?
        } else {
            match head
                .header("content-length")
                .and_then(|l| l.parse::<usize>().ok())
            {
                Some(len) if len <= rest.len() => rest[..len].to_vec(),
                _ => rest.to_vec(),
            }
        };
        return Ok((head, body));
    }
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = find(data, b"\n").ok_or("a chunk size line is missing")?;
        let line = String::from_utf8_lossy(&data[..eol]);
        let size_text = line.trim().split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        data = &data[eol + 1..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size {
            return Err("the response ended inside a chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size..];
        data = data
            .strip_prefix(b"\r\n")
            .or_else(|| data.strip_prefix(b"\n"))
            .unwrap_or(data);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Set-Cookie headers as Ansible's `cookies` mapping and `cookies_string`.
pub fn cookies(head: &Head) -> (Map, String) {
    let mut map = Map::new();
    for (k, v) in &head.headers {
        if k.eq_ignore_ascii_case("set-cookie") {
            let pair = v.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                map.insert(name.trim().to_string(), value.trim().into());
            }
        }
    }
    let string = map
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect::<Vec<_>>()
        .join("; ");
    (map, string)
}

/// A value for a curl config file line (`name = "value"`).
pub fn curl_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn urls() {
        let u = Url::parse("http://localhost:8080/health?x=1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("localhost", 8080, "/health?x=1")
        );
        let u = Url::parse("HTTPS://me:pw@[::1]/").unwrap();
        assert!(u.https);
        assert_eq!(
            (u.host.as_str(), u.port, u.userinfo.as_deref()),
            ("::1", 443, Some("me:pw"))
        );
        assert_eq!(u.host_header(), "[::1]");
        assert_eq!(Url::parse("http://h?q").unwrap().target, "/?q");
        assert_eq!(Url::parse("http://h:81").unwrap().host_header(), "h:81");
        for bad in [
            "ftp://h/",
            "h/path",
            "http:///x",
            "http://h:99999/",
            "http://h/a b",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn joins_locations_as_urljoin() {
        let base = "http://h:1/a/b?x";
        assert_eq!(join(base, "/c"), "http://h:1/c");
        assert_eq!(join(base, "c"), "http://h:1/a/c");
        assert_eq!(join(base, "https://o/"), "https://o/");
        assert_eq!(join(base, "//o/p"), "http://o/p");
    }

    #[test]
    fn the_last_of_several_header_blocks() {
        let raw = b"HTTP/1.1 301 Moved\r\nLocation: /b\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: 1\r\n\r\n";
        let h = last_head(raw).unwrap().unwrap();
        assert_eq!((h.status, h.reason.as_str()), (200, "OK"));
        assert_eq!(h.header("content-type"), Some("text/plain"));
        assert_eq!(last_head(b"").unwrap(), None);
        assert!(last_head(b"garbage\r\n\r\n").is_err());
        assert!(last_head(b"HTTP/1.1 abc\r\n").is_err());
        assert!(last_head(b"HTTP/1.1 200 OK\r\nno colon\r\n").is_err());
    }

    #[test]
    fn raw_responses_plain_and_chunked() {
        let (h, body) =
            split_response(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello, and more").unwrap();
        assert_eq!((h.status, body.as_slice()), (200, &b"hello"[..]));
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbusy\r\n3;x=y\r\n!!!\r\n0\r\n\r\n";
        let (h, body) = split_response(raw).unwrap();
        assert_eq!((h.status, h.reason.as_str()), (503, "Service Unavailable"));
        assert_eq!(body, b"busy!!!");
        assert!(split_response(b"HTTP/1.1 200 OK\r\nContent-Length: 1").is_err());
        let truncated = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nab";
        assert!(split_response(truncated).is_err());
    }

    #[test]
    fn cookies_and_curl_quoting() {
        let h = Head {
            status: 200,
            reason: "OK".into(),
            headers: vec![
                ("Set-Cookie".into(), "SID=abc; Path=/".into()),
                ("set-cookie".into(), "lang=en".into()),
            ],
        };
        let (map, s) = cookies(&h);
        assert_eq!(
            serde_json::Value::Object(map),
            json!({"SID": "abc", "lang": "en"})
        );
        assert_eq!(s, "SID=abc; lang=en");
        assert_eq!(curl_quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
    }
}
