//! The step that makes the request on the managed host, with what the host
//! has: `curl` when it is installed (redirects, TLS, authentication as
//! asked), else bash's `/dev/tcp` for `http://` or `openssl s_client` for
//! `https://`, fed a request written here. Secrets (the URL, headers,
//! credentials, the body) travel on stdin, never on a command line: line
//! one is curl's config, line two the raw request head, then the body.
//! The step prints what came back, base64-framed, for `finish` to read.

use crate::shell::EXIT_ON_SIGNALS;
use crate::shell::quote;

/// Bytes of a response body brought back at most.
pub const MAX_BODY: u64 = 16 * 1024 * 1024;

/// How the step reaches the server when curl is missing.
pub struct Fallback<'a> {
    pub https: bool,
    pub host: &'a str,
    pub port: u16,
    pub validate_certs: bool,
}

pub fn script(has_body: bool, timeout: i64, fb: &Fallback) -> String {
    let data = if has_body {
        " --data-binary @\"$d/body\""
    } else {
        ""
    };
    let host = quote(fb.host);
    let port = fb.port;
    let transport = if fb.https {
        let verify = if fb.validate_certs {
            let check = if fb.host.parse::<std::net::IpAddr>().is_ok() {
                "-verify_ip"
            } else {
                "-verify_hostname"
            };
            format!(" -verify_return_error {check} {host}")
        } else {
            String::new()
        };
        format!(
            "elif command -v openssl >/dev/null 2>&1; then\n  echo 'client tls'\n  \
             {{ printf '%s' \"$req\" | base64 -d; cat \"$d/body\"; }} | timeout {timeout} openssl s_client -quiet \
             -connect {host}:{port} -servername {host}{verify} > \"$d/resp\" 2> \"$d/err\"\n  rc=$?\n"
        )
    } else {
        format!(
            "elif command -v bash >/dev/null 2>&1; then\n  echo 'client tcp'\n  \
             {{ printf '%s' \"$req\" | base64 -d; cat \"$d/body\"; }} | timeout {timeout} bash -c \
             'exec 3<>\"/dev/tcp/$0/$1\" || exit 7; cat >&3; cat <&3' {host} {port} > \"$d/resp\" 2> \"$d/err\"\n  rc=$?\n"
        )
    };
    format!(
        "umask 077\nd=$(mktemp -d) || exit 1\ntrap 'rm -rf \"$d\"' EXIT\n{EXIT_ON_SIGNALS}\
         IFS= read -r cfg || exit 1\nIFS= read -r req || exit 1\ncat > \"$d/body\"\n\
         printf '%s' \"$cfg\" | base64 -d > \"$d/cfg\" || exit 1\n\
         t0=$(date +%s%N 2>/dev/null)\n\
         if command -v curl >/dev/null 2>&1; then\n  echo 'client curl'\n  \
         curl -K \"$d/cfg\" -D \"$d/head\" -o \"$d/resp\" -w '%{{url_effective}}'{data} > \"$d/url\" 2> \"$d/err\"\n  rc=$?\n\
         {transport}\
         else\n  echo 'client none'\n  exit 0\nfi\n\
         t1=$(date +%s%N 2>/dev/null)\necho \"rc $rc\"\necho \"time $t0 $t1\"\n\
         for f in err url head resp; do printf '%s ' \"$f\"; if [ -f \"$d/$f\" ]; then head -c {MAX_BODY} \"$d/$f\" | base64 -w0; fi; echo; done\n"
    )
}

/// What the step printed.
#[derive(Debug, Default, PartialEq)]
pub struct Output {
    pub client: String,
    pub rc: i32,
    /// Whole seconds the request took, when the host's clock could tell.
    pub elapsed: i64,
    pub err: Vec<u8>,
    pub url: Vec<u8>,
    pub head: Vec<u8>,
    pub resp: Vec<u8>,
}

pub fn read(stdout: &[u8]) -> Result<Output, String> {
    let text = std::str::from_utf8(stdout).map_err(|_| "the output is not UTF-8".to_string())?;
    let mut out = Output::default();
    let mut seen_client = false;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (tag, value) = line.split_once(' ').unwrap_or((line, ""));
        let decode = |v: &str| crate::probe::decode(v).map_err(|e| e.msg);
        match tag {
            "client" => {
                out.client = value.to_string();
                seen_client = true;
            }
            "rc" => out.rc = value.parse().map_err(|_| format!("bad rc {value:?}"))?,
            "time" => out.elapsed = elapsed(value),
            "err" => out.err = decode(value)?,
            "url" => out.url = decode(value)?,
            "head" => out.head = decode(value)?,
            "resp" => out.resp = decode(value)?,
            _ => return Err(format!("unexpected line {line:?}")),
        }
    }
    if !seen_client {
        return Err("no client line".into());
    }
    Ok(out)
}

/// Seconds between two `date +%s%N` readings (or `%s`, where `%N` is not
/// known), rounded down as Ansible's `timedelta.seconds`.
fn elapsed(value: &str) -> i64 {
    let mut words = value.split(' ');
    let (Some(a), Some(b)) = (words.next(), words.next()) else {
        return 0;
    };
    match (a.parse::<i128>(), b.parse::<i128>()) {
        (Ok(a), Ok(b)) if a.to_string().len() > 12 => ((b - a) / 1_000_000_000).max(0) as i64,
        (Ok(a), Ok(b)) => (b - a).max(0) as i64,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_keeps_secrets_off_the_command_line() {
        let fb = Fallback {
            https: false,
            host: "localhost",
            port: 8080,
            validate_certs: true,
        };
        let s = script(true, 30, &fb);
        assert!(s.contains("curl -K \"$d/cfg\""));
        assert!(s.contains("--data-binary @\"$d/body\""));
        assert!(s.contains("timeout 30 bash -c"));
        assert!(s.contains("localhost 8080"));
        let tls = script(
            false,
            5,
            &Fallback {
                https: true,
                host: "10.0.0.1",
                port: 443,
                validate_certs: true,
            },
        );
        assert!(tls.contains("-verify_return_error -verify_ip 10.0.0.1"));
        assert!(!tls.contains("--data-binary"));
    }

    #[test]
    fn reads_the_framed_output() {
        let o = read(b"client curl\nrc 0\ntime 1700000000000000000 1700000001500000000\nerr \nurl aHR0cDovL2gv\nhead \nresp aGk=\n").unwrap();
        assert_eq!((o.client.as_str(), o.rc, o.elapsed), ("curl", 0, 1));
        assert_eq!(
            (o.url.as_slice(), o.resp.as_slice()),
            (&b"http://h/"[..], &b"hi"[..])
        );
        assert_eq!(read(b"client tcp\ntime 10 12\n").unwrap().elapsed, 2);
        for junk in [
            &b"rc 0\n"[..],
            b"client curl\nrc x\n",
            b"client curl\nwho 1\n",
            b"\xff",
        ] {
            assert!(read(junk).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn runs_against_a_local_socket() {
        // The fallback transport, end to end, on this machine: a one-shot
        // server answers the request the step sends.
        if std::process::Command::new("bash")
            .arg("-c")
            .arg("true")
            .status()
            .is_err()
        {
            return;
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap();
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
            req
        });
        let fb = Fallback {
            https: false,
            host: "127.0.0.1",
            port,
            validate_certs: true,
        };
        // Without curl on PATH, the step takes the bash route.
        let s = script(false, 5, &fb).replace("command -v curl", "false");
        let req = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let stdin = format!("\n{}\n", crate::uri::b64(req.as_bytes()));
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&s)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(stdin.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        let o = read(&out.stdout).unwrap();
        assert_eq!((o.client.as_str(), o.rc), ("tcp", 0));
        assert!(o.resp.ends_with(b"\r\n\r\nok"));
        assert!(server.join().unwrap().starts_with("GET / HTTP/1.1\r\n"));
    }
}
