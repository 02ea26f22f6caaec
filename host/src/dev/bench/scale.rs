//! `bench --only scale`: one deployment scaled out, on the stores a user scales out with.
//!
//! Three set-ups serve the same state against one fast stub upstream (Lever's opportunity
//! read and the partner callback, which counts the events it receives by `webhook-id`): one
//! Spin instance on Redis, two Spin instances on the same Redis, and two `lever-host serve`
//! processes on one SQLite file. Each is loaded with 8 and with 32 concurrent stage changes
//! on one connection, and with 32 spread over 100 connections. Two instances are loaded in
//! turn (request by request). Reported per run: deliveries per second, the answers that
//! were not `forwarded`, the most Redis clients seen, and at the end the events the partner
//! never received (lost) or received twice (duplicated).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use lever_plugin::lever::OpportunityId;
use lever_plugin::store::ConnectionId;

use super::endurance::{answered_connector, lifted_config, plant};
use super::{loopback_port, opportunity_template, round, spin, tool, ProcessGroup, Stub};
use crate::runtime::Runtime;
use crate::settings::KvLocation;
use crate::sim::{partner, LeverSimOptions, Simulators};

/// Connections in the spread runs.
const CONNECTIONS: usize = 100;
/// Deliveries per run.
const DELIVERIES: usize = 1_200;
/// The runs of each set-up: (name, connections, concurrency).
const RUNS: [(&str, usize, usize); 3] = [
    ("one_c8", 1, 8),
    ("one_c32", 1, 32),
    ("spread_c32", CONNECTIONS, 32),
];

fn connection(i: usize) -> ConnectionId {
    ConnectionId::parse(&format!("scale-{i:03}")).expect("a valid id")
}

fn signature_token(i: usize) -> String {
    format!("scale-signature-token-{i:03}")
}

/// The `k`th opportunity linked on connection `i` for run `run` of set-up `setup`.
fn opportunity(setup: usize, run: usize, i: usize, k: usize) -> String {
    format!("5ca1e{setup:01}{run:01}{i:02x}-0000-4000-8000-{k:012}")
}

fn spawn(mut command: tokio::process::Command) -> anyhow::Result<ProcessGroup> {
    command.stdout(Stdio::null()).stderr(Stdio::null());
    Ok(ProcessGroup::spawn(command)?)
}

/// Sends one RESP command and reads its (single-line or bulk) reply.
async fn redis(stream: &mut tokio::net::TcpStream, args: &[&[u8]]) -> anyhow::Result<Vec<u8>> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    stream.write_all(&out).await?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf).await?;
        anyhow::ensure!(n > 0, "redis closed the connection");
        reply.extend_from_slice(&buf[..n]);
        if let Some(rest) = reply.strip_prefix(b"$") {
            let Some(end) = rest.iter().position(|b| *b == b'\r') else {
                continue;
            };
            let len: usize = std::str::from_utf8(&rest[..end])?.parse()?;
            if rest.len() >= end + 2 + len + 2 {
                return Ok(rest[end + 2..end + 2 + len].to_vec());
            }
        } else if reply.ends_with(b"\r\n") {
            return Ok(reply);
        }
    }
}

/// A Redis server of its own on 127.0.0.1, saving nothing.
struct RedisServer {
    _child: ProcessGroup,
    port: u16,
}

impl RedisServer {
    async fn start(bin: &Path) -> anyhow::Result<Self> {
        let port = loopback_port()?;
        let mut command = tokio::process::Command::new(bin);
        command.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
        command.args(["--save", "", "--appendonly", "no", "--maxclients", "10000"]);
        let child = spawn(command)?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                if redis(&mut stream, &[b"PING"]).await.is_ok() {
                    return Ok(Self {
                        _child: child,
                        port,
                    });
                }
            }
            anyhow::ensure!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn connect(&self) -> anyhow::Result<tokio::net::TcpStream> {
        Ok(tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?)
    }

    /// Empties it and copies bucket `default` of `kv` into it (Spin's Redis store keeps a
    /// key as it is; counters are decimal text, as `INCRBY` keeps them).
    async fn load(&self, kv: &crate::kv::KvStore) -> anyhow::Result<usize> {
        let mut stream = self.connect().await?;
        redis(&mut stream, &[b"FLUSHALL"]).await?;
        let mut cursor: Option<String> = None;
        let mut copied = 0;
        loop {
            let (keys, next) = kv
                .list_keys("default", cursor.as_deref())
                .map_err(anyhow::Error::msg)?;
            for key in &keys {
                if let Some(value) = kv.get("default", key).map_err(anyhow::Error::msg)? {
                    redis(&mut stream, &[b"SET", key.as_bytes(), &value]).await?;
                    copied += 1;
                }
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(copied),
            }
        }
    }

    /// Polls `INFO clients` until `stop`, answering the most clients seen (this one not
    /// counted).
    fn watch_clients(&self, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
        let port = self.port;
        tokio::spawn(async move {
            let mut peak = 0;
            let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
                return 0;
            };
            while !stop.load(Ordering::Relaxed) {
                if let Ok(info) = redis(&mut stream, &[b"INFO", b"clients"]).await {
                    let text = String::from_utf8_lossy(&info);
                    if let Some(n) = text
                        .lines()
                        .find_map(|l| l.strip_prefix("connected_clients:"))
                        .and_then(|n| n.trim().parse::<u64>().ok())
                    {
                        peak = peak.max(n.saturating_sub(1));
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            peak
        })
    }
}

/// What one run measured.
struct Run {
    per_s: f64,
    forwarded: u64,
    other: u64,
}

/// Posts every `(url, body)` with `concurrency` in flight; counts `forwarded` answers and
/// the rest (an error answer or a refused connection counts, and the run goes on).
async fn load(targets: Vec<(hyper::Uri, Bytes)>, concurrency: usize) -> Run {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(concurrency)
        .build_http();
    let targets = Arc::new(targets);
    let next = Arc::new(AtomicUsize::new(0));
    let forwarded = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers = (0..concurrency).map(|_| {
        let (client, targets, next) = (client.clone(), targets.clone(), next.clone());
        let (forwarded, other) = (forwarded.clone(), other.clone());
        async move {
            while let Some((url, body)) = targets.get(next.fetch_add(1, Ordering::Relaxed)) {
                let Ok(request) = hyper::Request::post(url.clone())
                    .header("content-type", "application/json")
                    .body(Full::new(body.clone()))
                else {
                    other.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let ok = match client.request(request).await {
                    Ok(response) => {
                        let status = response.status();
                        let answer = response
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        status == 200 && super::contains(&answer, b"\"forwarded\"")
                    }
                    Err(_) => false,
                };
                if ok { &forwarded } else { &other }.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    futures::future::join_all(workers).await;
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    let forwarded = forwarded.load(Ordering::Relaxed);
    Run {
        per_s: forwarded as f64 / elapsed,
        forwarded,
        other: other.load(Ordering::Relaxed),
    }
}

/// Waits until `GET {url}/health` answers 200.
async fn healthy(url: &str) -> anyhow::Result<()> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let request = hyper::Request::get(format!("{url}/health")).body(Full::new(Bytes::new()))?;
        if let Ok(response) = client.request(request).await {
            if response.status() == 200 {
                return Ok(());
            }
        }
        anyhow::ensure!(Instant::now() < deadline, "{url} never answered /health");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `lever-host serve` on `port`, its store the SQLite file `kv`.
fn serve(
    exe: &Path,
    dir: &Path,
    port: u16,
    kv: &Path,
    config: &BTreeMap<String, String>,
) -> anyhow::Result<ProcessGroup> {
    let file = dir.join(format!("serve-{port}.toml"));
    let mut connector = String::new();
    for key in [
        "lever_api_base",
        "lever_auth_base",
        "partner_callback_url",
        "lever_rate_per_sec",
    ] {
        connector.push_str(&format!("{key} = {:?}\n", config[key]));
    }
    std::fs::write(
        &file,
        format!(
            "[host]\nlisten = \"127.0.0.1:{port}\"\nkv_path = {:?}\nreconcile_interval_secs = 0\n\n\
             [connector]\npublic_base_url = \"http://127.0.0.1:{port}\"\n{connector}",
            kv.display().to_string()
        ),
    )?;
    let mut command = tokio::process::Command::new(exe);
    command
        .args(["serve", "--config"])
        .arg(&file)
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .env("RUST_LOG", "error")
        .env("LEVER_CONNECTOR_ENCRYPTION_KEY", &config["encryption_key"])
        .env("LEVER_CONNECTOR_PARTNER_API_KEY", partner::DEFAULT_API_KEY)
        .env(
            "LEVER_CONNECTOR_PARTNER_WEBHOOK_SECRET",
            partner::DEFAULT_SECRET,
        );
    spawn(command)
}

/// Runs the scale-out measurements and adds their figures.
pub async fn run(
    exe: &Path,
    wasm: &[u8],
    runtime: &Runtime,
    figures: &mut BTreeMap<&'static str, Value>,
) -> anyhow::Result<()> {
    let spin_bin = spin::find();
    let redis_bin = tool("REDIS_SERVER_BIN", "redis-server");
    if redis_bin.is_none() {
        eprintln!("bench: scale: no redis-server on PATH: the Spin-on-Redis set-ups are skipped");
    }
    let sims = Simulators::start(
        LeverSimOptions::default(),
        partner::DEFAULT_SECRET,
        None,
        None,
    )
    .await?;
    let template = opportunity_template(&sims).await?;
    drop(sims);
    let stub = Stub::start(template.clone()).await?;
    let dir = tempfile::tempdir()?;
    let kv_file = dir.path().join("kv.sqlite");

    let config = lifted_config(&stub.url(), &stub.url());

    // The connections, planted through the logic compiled natively, in the SQLite file.
    eprintln!("bench: scale: setting up {CONNECTIONS} connections");
    let connector = answered_connector(
        runtime,
        config.clone(),
        KvLocation::File(kv_file.clone()),
        Arc::new(template),
    )?;
    let env = connector.env().clone();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        crate::native::with_env(&env, handle, |io| {
            for i in 0..CONNECTIONS {
                let store = plant(io, &connection(i), &signature_token(i))?;
                for setup in 0..3 {
                    for (run, (_, connections, _)) in RUNS.iter().enumerate() {
                        let here = if *connections == 1 {
                            if i == 0 {
                                DELIVERIES
                            } else {
                                0
                            }
                        } else {
                            DELIVERIES.div_ceil(CONNECTIONS)
                        };
                        for k in 0..here {
                            store.link(
                                &format!("cand-{setup}-{run}-{k}"),
                                &OpportunityId(opportunity(setup, run, i, k)),
                            )?;
                        }
                    }
                }
            }
            Ok(())
        })
    })
    .await?
    .map_err(|e| anyhow::anyhow!("{e}"))
    .context("setting the connections up")?;
    let kv = connector.kv().clone();
    drop(connector);

    let deliveries = |setup: usize, run: usize, connections: usize, urls: &[String]| {
        (0..DELIVERIES)
            .map(|k| {
                let i = k % connections;
                let j = k / connections;
                let url: hyper::Uri =
                    format!("{}/webhooks/lever/{}", urls[k % urls.len()], connection(i))
                        .parse()
                        .expect("a valid url");
                let body = super::delivery(&signature_token(i), &opportunity(setup, run, i, j));
                (url, body)
            })
            .collect::<Vec<_>>()
    };

    let mut forwarded_total = 0u64;
    let mut table = Vec::new();
    for (setup, name) in ["spin1_redis", "spin2_redis", "serve2_sqlite"]
        .iter()
        .enumerate()
    {
        let mut children: Vec<ProcessGroup> = Vec::new();
        let mut apps: Vec<spin::SpinApp> = Vec::new();
        let mut redis_server = None;
        let urls: Vec<String> = if setup < 2 {
            let (Some(spin_bin), Some(redis_bin)) = (&spin_bin, &redis_bin) else {
                continue;
            };
            let server = RedisServer::start(redis_bin).await?;
            server.load(&kv).await?;
            for _ in 0..=setup {
                apps.push(
                    spin::SpinApp::start(
                        spin_bin,
                        wasm,
                        spin::SpinStore::Redis(&server.url()),
                        &spin::SpinConfig {
                            stub: &stub.url(),
                            config: &config,
                        },
                    )
                    .await?,
                );
            }
            redis_server = Some(server);
            apps.iter().map(spin::SpinApp::url).collect()
        } else {
            let mut urls = Vec::new();
            for _ in 0..2 {
                let port = loopback_port()?;
                children.push(serve(exe, dir.path(), port, &kv_file, &config)?);
                let url = format!("http://127.0.0.1:{port}");
                healthy(&url).await?;
                urls.push(url);
            }
            urls
        };
        for (run, (label, connections, concurrency)) in RUNS.iter().enumerate() {
            eprintln!("bench: scale: {name} {label}");
            let stop = Arc::new(AtomicBool::new(false));
            let watcher = redis_server
                .as_ref()
                .map(|server| server.watch_clients(stop.clone()));
            let measured = load(deliveries(setup, run, *connections, &urls), *concurrency).await;
            stop.store(true, Ordering::Relaxed);
            let peak = match watcher {
                Some(watcher) => Some(watcher.await.unwrap_or(0)),
                None => None,
            };
            forwarded_total += measured.forwarded;
            table.push(json!({
                "setup": name,
                "run": label,
                "per_s": round(measured.per_s, 1),
                "forwarded": measured.forwarded,
                "not_forwarded": measured.other,
                "redis_clients_peak": peak,
            }));
        }
        drop(apps);
        drop(children);
    }
    // Every forwarded answer is one event the partner must have received once.
    let (received, duplicated) = stub.counts();
    figures.insert("scale_runs", Value::Array(table));
    figures.insert(
        "scale_lost",
        json!(forwarded_total.saturating_sub(received)),
    );
    figures.insert("scale_duplicated", json!(duplicated));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_run_of_every_set_up_moves_its_own_opportunities() {
        let mut seen = std::collections::BTreeSet::new();
        for setup in 0..3 {
            for run in 0..RUNS.len() {
                for i in [0, CONNECTIONS - 1] {
                    for k in [0, DELIVERIES - 1] {
                        assert!(seen.insert(opportunity(setup, run, i, k)));
                    }
                }
            }
        }
    }
}
