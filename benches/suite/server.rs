//! The server under test as a real process, an HTTP client for it, and the
//! load runner that measures rates and latency percentiles.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_sportello");

/// The environment every `sportello` process of a run gets: the database, a
/// mail folder instead of SMTP, and limits that let a load generator through.
pub fn command(url: &str, mail_dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("SPORTELLO_DATABASE_URL", url)
        .env_remove("DATABASE_URL")
        .env("SPORTELLO_MAIL_DIR", mail_dir)
        .env("SPORTELLO_PUBLIC_RATE_PER_MINUTE", "100000000")
        .env("SPORTELLO_ACK_LIMIT_PER_HOUR", "100000000")
        .env("SPORTELLO_BUSINESS_HOURS", "24/7")
        .env("SPORTELLO_ITALIAN_HOLIDAYS", "false")
        .env("SPORTELLO_MAX_BODY_BYTES", "16777216")
        // Mail is sent every second, so that a phase's acknowledgements
        // go out during it and the outbox is found empty soon after.
        .env("SPORTELLO_OUTBOX_INTERVAL_SECS", "1")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    /// `sportello serve --demo` on a free port, once `/healthz` answers.
    pub async fn start(url: &str, mail_dir: &Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = command(url, mail_dir)
            .args(["serve", "--demo"])
            .env("SPORTELLO_BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the sportello binary starts");
        let server = Server { child, port };
        let api = Api::new(port);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok((200, _)) = api.call("GET", "/healthz", None, Body::None).await {
                break;
            }
            assert!(Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    /// Resident and peak resident memory in bytes (VmRSS, VmHWM).
    pub fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0)
                * 1024
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub enum Body {
    None,
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

/// A pooled keep-alive HTTP/1.1 client for the server's API.
#[derive(Clone)]
pub struct Api {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

impl Api {
    pub fn new(port: u16) -> Api {
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(256)
            // Below the server's 5 s keep-alive, so no request goes out on a
            // connection the server is closing.
            .pool_idle_timeout(Duration::from_secs(2))
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .build_http();
        Api {
            client,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Body,
    ) -> Result<(u16, Value), String> {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let bytes = match body {
            Body::None => Vec::new(),
            Body::Json(v) => {
                req = req.header("Content-Type", "application/json");
                v.to_string().into_bytes()
            }
            Body::Raw(ctype, b) => {
                req = req.header("Content-Type", ctype);
                b
            }
        };
        let req = req
            .body(Full::new(Bytes::from(bytes)))
            .map_err(|e| e.to_string())?;
        let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
    }

    /// Calls that must succeed (set-up, not measured).
    pub async fn ok(&self, method: &str, path: &str, token: Option<&str>, body: Body) -> Value {
        match self.call(method, path, token, body).await {
            Ok((s, v)) if (200..300).contains(&s) => v,
            other => panic!("{method} {path}: {other:?}"),
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let v = self
            .ok(
                "POST",
                "/api/v1/auth/token",
                None,
                Body::Json(json!({"email": email, "password": password})),
            )
            .await;
        v["token"].as_str().expect("a token").to_string()
    }
}

/// What one measured load produced.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub requests: usize,
    pub errors: usize,
    pub secs: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub first_error: Option<String>,
}

impl Stats {
    pub fn rate(&self) -> f64 {
        (self.requests - self.errors) as f64 / self.secs.max(1e-9)
    }

    pub fn json(&self) -> Value {
        json!({"requests": self.requests, "errors": self.errors, "seconds": self.secs,
            "per_second": self.rate(), "p50_ms": self.p50_ms, "p99_ms": self.p99_ms,
            "first_error": self.first_error})
    }
}

/// Where a load stops: after this many requests, or after this long.
#[derive(Clone, Copy)]
pub enum Until {
    Count(usize),
    Elapsed(Duration),
}

/// Runs `clients` concurrent loops calling `request(i)` with i = 0, 1, 2… across
/// them. A request fails when it returns `Err`; its latency still counts.
pub async fn load<F, Fut>(clients: usize, until: Until, request: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new((0usize, None::<String>)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (request, next, errors) = (request.clone(), next.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                match until {
                    Until::Count(n) if i >= n => break,
                    Until::Elapsed(d) if started.elapsed() >= d => break,
                    _ => {}
                }
                let t = Instant::now();
                let outcome = request(i).await;
                latencies.push(t.elapsed());
                if let Err(e) = outcome {
                    let mut errs = errors.lock().unwrap();
                    errs.0 += 1;
                    errs.1.get_or_insert(e);
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("a client loop"));
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let (errors, first_error) = errors.lock().unwrap().clone();
    Stats {
        requests: all.len(),
        errors,
        secs,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        first_error,
    }
}

/// A request that counts as done on any 2xx answer.
pub async fn expect_2xx(
    api: &Api,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Body,
) -> Result<Value, String> {
    match api.call(method, path, token, body).await? {
        (s, v) if (200..300).contains(&s) => Ok(v),
        (s, v) => Err(format!("{method} {path}: {s} {v}")),
    }
}
