//! A small, bounded HTTP load generator for the lab tests: a few threads
//! send plain HTTP/1.1 GET requests (std's `TcpStream`, a new connection
//! each, `Connection: close`) at an even pace, each with a timeout, and
//! record every answer's status, first body line and latency.
//!
//! It is bounded both ways: at most `requests` requests, spread over
//! `over`, so a test can never turn it into an unbounded flood; a test that
//! only needs it while something else runs stops it early with
//! `Load::stop`. Only the lab's own addresses are meant as targets.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How much load, and how patient each request is.
#[derive(Debug, Clone)]
pub struct Plan {
    pub target: SocketAddr,
    pub path: String,
    pub threads: usize,
    /// At most this many requests...
    pub requests: usize,
    /// ...spread evenly over this long.
    pub over: Duration,
    /// For connecting, and again for the whole answer.
    pub timeout: Duration,
}

/// One request's outcome.
#[derive(Debug, Clone)]
pub struct Sample {
    pub latency: Duration,
    /// The status code, or why there is none.
    pub status: Result<u16, String>,
    /// The body's first line.
    pub body: String,
}

impl Sample {
    pub fn ok(&self) -> bool {
        self.status == Ok(200)
    }
}

/// A load running in the background.
pub struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<Vec<Sample>>>,
    started: Instant,
    plan: Plan,
}

impl Load {
    pub fn start(plan: Plan) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let interval = plan.over / plan.requests.max(1) as u32;
        let threads = (0..plan.threads.max(1))
            .map(|_| {
                let (stop, next, plan) = (stop.clone(), next.clone(), plan.clone());
                std::thread::spawn(move || {
                    let mut samples = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= plan.requests {
                            break;
                        }
                        let due = started + interval * i as u32;
                        while Instant::now() < due && !stop.load(Ordering::SeqCst) {
                            let left = due.saturating_duration_since(Instant::now());
                            std::thread::sleep(left.min(Duration::from_millis(50)));
                        }
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        samples.push(get(&plan));
                    }
                    samples
                })
            })
            .collect();
        Load {
            stop,
            threads,
            started,
            plan,
        }
    }

    /// Whether every planned request has been sent (the load ran out on its
    /// own rather than being stopped).
    pub fn ran_out(&self) -> bool {
        self.threads.iter().all(|t| t.is_finished())
    }

    /// Stops sending, waits for the requests in flight, and reports.
    pub fn stop(self) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        let mut samples = Vec::new();
        for t in self.threads {
            samples.extend(t.join().expect("a load thread panicked"));
        }
        Report {
            samples,
            elapsed: self.started.elapsed(),
            plan: self.plan,
        }
    }
}

/// One GET: connect, send, read to the end; never longer than about twice
/// the timeout.
fn get(plan: &Plan) -> Sample {
    let start = Instant::now();
    let answer = exchange(plan);
    let latency = start.elapsed();
    match answer {
        Ok(text) => {
            let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
            let status = head
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("HTTP/1.1 ").or(l.strip_prefix("HTTP/1.0 ")))
                .and_then(|l| l.get(..3))
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| format!("not an HTTP answer: {:?}", head.lines().next()));
            Sample {
                latency,
                status,
                body: body.lines().next().unwrap_or("").to_string(),
            }
        }
        Err(e) => Sample {
            latency,
            status: Err(e),
            body: String::new(),
        },
    }
}

fn exchange(plan: &Plan) -> Result<String, String> {
    let mut conn = TcpStream::connect_timeout(&plan.target, plan.timeout)
        .map_err(|e| format!("connect: {e}"))?;
    let deadline = Instant::now() + plan.timeout;
    conn.set_write_timeout(Some(plan.timeout))
        .and_then(|()| conn.set_read_timeout(Some(plan.timeout)))
        .map_err(|e| format!("socket: {e}"))?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: tend-lab-load\r\nConnection: close\r\n\r\n",
        plan.path, plan.target
    );
    conn.write_all(request.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if Instant::now() > deadline {
            return Err(format!("no complete answer within {:?}", plan.timeout));
        }
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("receive: {e}")),
        }
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// What a load saw.
pub struct Report {
    pub samples: Vec<Sample>,
    pub elapsed: Duration,
    pub plan: Plan,
}

impl Report {
    pub fn failures(&self) -> Vec<&Sample> {
        self.samples.iter().filter(|s| !s.ok()).collect()
    }

    /// The latency below which `p` (0..=1) of the requests finished.
    pub fn percentile(&self, p: f64) -> Duration {
        let mut all: Vec<Duration> = self.samples.iter().map(|s| s.latency).collect();
        all.sort_unstable();
        let rank = ((p * all.len() as f64).ceil() as usize).clamp(1, all.len().max(1));
        all.get(rank - 1).copied().unwrap_or_default()
    }

    /// How many answers had each first body line, most frequent first.
    pub fn bodies(&self) -> Vec<(String, usize)> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for s in self.samples.iter().filter(|s| s.ok()) {
            match counts.iter_mut().find(|(b, _)| *b == s.body) {
                Some((_, n)) => *n += 1,
                None => counts.push((s.body.clone(), 1)),
            }
        }
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        counts
    }

    /// A few lines for the test's output: counts, failures (the first
    /// few, with why), latency percentiles, and what answered.
    pub fn summary(&self, what: &str) -> String {
        let failures = self.failures();
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        let mut out = format!(
            "{what}: {} requests to http://{}{} in {:.1} s, {} failed; latency p50 {} p90 {} p99 {}\n",
            self.samples.len(),
            self.plan.target,
            self.plan.path,
            self.elapsed.as_secs_f64(),
            failures.len(),
            ms(self.percentile(0.50)),
            ms(self.percentile(0.90)),
            ms(self.percentile(0.99)),
        );
        for f in failures.iter().take(5) {
            out.push_str(&format!(
                "  failed after {}: {:?} {}\n",
                ms(f.latency),
                f.status,
                f.body
            ));
        }
        for (body, n) in self.bodies() {
            out.push_str(&format!("  {n:>6} × {body}\n"));
        }
        out
    }
}
