//! `lever-host bench`: what the sandbox costs, measured in one run on this machine.
//!
//! Everything runs on 127.0.0.1: the Lever simulator (for setting a connection up, and for
//! the bulk upload at Lever's real rate limit), a fast stub upstream (Lever's opportunity
//! endpoint and the partner callback answering at once, as the flow's upstreams in the
//! throughput runs), the connector (the component in `lever-host`, and the same logic
//! compiled natively behind the same server, store and outbound pool), and a bounded load
//! generator. It prints a table and writes the figures as JSON.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};

use crate::partner_api::PartnerApi;
use crate::runtime::{Allocation, Limits, Runtime};
use crate::server::{Connector, Served};
use crate::settings::Settings;
use crate::sim::lever::{ACME, DEFAULT_API_KEY};
use crate::sim::{partner, LeverSimOptions, Simulators};

pub mod endurance;
pub mod scale;
pub mod spin;

/// How much work each part does.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// Run only these parts (`e2e`, `health`, `decision`, `instantiate`, `restart`,
    /// `bulk`, `endurance`, and `scale`, which runs only when named); empty: all but
    /// `scale`.
    pub only: Vec<String>,
    /// Deliveries per throughput run (each mode).
    pub deliveries: usize,
    /// Concurrent requests the load generator keeps in flight.
    pub concurrency: usize,
    /// `/health` requests.
    pub health: usize,
    /// Calls in the in-process decision-path comparison (each side).
    pub decisions: usize,
    /// Fresh instances per allocation strategy.
    pub instances: usize,
    /// Candidate uploads against the rate-limited simulator (0: skip).
    pub uploads: usize,
    /// Keep the connector's state in this SQLite file (WAL), as `lever-host serve` does by
    /// default, instead of in memory (`None`), which leaves out the storage's cost.
    pub kv_file: Option<std::path::PathBuf>,
    /// The endurance run's sizes.
    pub endurance: endurance::Sizes,
}

impl Sizes {
    fn wants(&self, part: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| p == part)
    }

    /// The full run (the README's figures).
    pub fn full() -> Self {
        Self {
            only: Vec::new(),
            deliveries: 4000,
            concurrency: 8,
            health: 20_000,
            decisions: 2000,
            instances: 2000,
            uploads: 500,
            kv_file: None,
            endurance: endurance::Sizes::full(),
        }
    }

    /// A short run to check that everything works (seconds, not minutes).
    pub fn quick() -> Self {
        Self {
            only: Vec::new(),
            deliveries: 300,
            concurrency: 4,
            health: 1000,
            decisions: 200,
            instances: 200,
            uploads: 20,
            kv_file: None,
            endurance: endurance::Sizes::quick(),
        }
    }
}

/// The opportunity the stub answers for every id (the simulator's Ada, id replaced).
pub(crate) const TEMPLATE_ID: &str = "250d8f03-738a-4bba-a671-8a3d73477145";
/// Ada's stage in the simulator, which Acme's stage map maps.
pub(crate) const ONSITE: &str = "9f1c2a22-onsite";
pub(crate) const PHONE: &str = "9f1c2a21-phone";
pub(crate) const STAGE_MAP: [(&str, &str); 3] = [
    ("9f1c2a21-phone", "interviewing"),
    ("9f1c2a22-onsite", "onsite"),
    ("9f1c2a23-offer", "offer"),
];

/// Runs every benchmark and answers the figures (also written to `out`).
pub async fn run(wasm: &[u8], sizes: &Sizes, out: &Path, exe: &Path) -> anyhow::Result<Value> {
    let mut figures = BTreeMap::<&str, Value>::new();
    figures.insert("component_bytes", json!(wasm.len()));
    // Whether instances keep their pages between requests (see runtime.rs): it moves the
    // instantiation and /health figures.
    figures.insert(
        "pagemap_scan",
        json!(wasmtime::PoolingAllocationConfig::is_pagemap_scan_available()),
    );
    let sims = Simulators::start(
        LeverSimOptions::default(),
        partner::DEFAULT_SECRET,
        None,
        None,
    )
    .await?;
    let runtime = Runtime::new(wasm, Limits::default())?;

    // Calls from the component into the host in the throughput runs.
    let host_calls = Arc::new(std::sync::atomic::AtomicU64::new(0));
    // A deployment with Acme set up against the simulator.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let public = format!("http://{}", listener.local_addr()?);
    let connector_config = sims.connector_config(&public);
    let mut settings = Settings::in_process(connector_config.clone())?;
    if let Some(path) = &sizes.kv_file {
        settings.kv = crate::settings::KvLocation::File(path.clone());
    }
    let base = Connector::new(runtime.clone(), &settings)?;
    let served = base.spawn(listener)?;
    set_up(&PartnerApi::new(&served.url(), partner::DEFAULT_API_KEY)).await?;
    let template = opportunity_template(&sims).await?;
    let token = sims
        .lever
        .signature_token(ACME, "candidateStageChange")
        .context("the connector installed the stage-change webhook")?;

    // The same state, with the flow's upstreams answered by the fast stub.
    let stub = Stub::start(template.clone()).await?;
    let fast = base.with_env(|env| {
        env.config
            .insert("lever_api_base".into(), format!("{}/v1", stub.url()));
        env.config.insert(
            "partner_callback_url".into(),
            format!("{}/hooks", stub.url()),
        );
        // The stub has no rate limit; Lever's is measured by the bulk upload below.
        env.config
            .insert("lever_rate_per_sec".into(), "1000000".into());
        env.host_calls = Some(host_calls.clone());
        let mut allowed: Vec<String> = env.outbound.allowed().map(str::to_string).collect();
        allowed.push(stub.addr.to_string());
        env.outbound = crate::outbound::OutboundPolicy::new(allowed);
    });
    let wasm_served = fast.bind(loopback()).await?;
    let native_served = fast
        .clone()
        .with_native_http_face()
        .bind(loopback())
        .await?;
    // The hand-written Node.js handler of the same flow, when `node` is on PATH.
    let node_bin = if sizes.wants("e2e") {
        NodeHandler::find()
    } else {
        None
    };
    let spin_bin = if sizes.wants("e2e") {
        spin::find()
    } else {
        None
    };
    // Spin's default store writes each transaction through to disk: its side runs a quarter
    // of the deliveries, once, after the alternating rounds.
    let spin_deliveries = (sizes.deliveries / 4).max(sizes.concurrency);
    let sides = if node_bin.is_some() { 3 } else { 2 };
    let mut links = 0;
    if sizes.wants("e2e") {
        links += sides * (sizes.deliveries + sizes.concurrency * 2);
        if spin_bin.is_some() {
            links += spin_deliveries + sizes.concurrency * 2;
        }
    }
    if sizes.wants("decision") {
        links += 2 * sizes.decisions;
    }
    let links = links.max(64);
    link_candidates(&wasm_served, links, sizes.concurrency).await?;
    let node = match node_bin {
        Some(bin) => Some(NodeHandler::start(&bin, &stub, &token, links).await?),
        None => None,
    };
    // Spin starts with the same state (the connection and its links).
    let spin_app = match spin_bin {
        Some(bin) => Some(
            spin::SpinApp::start(
                &bin,
                wasm,
                spin::SpinStore::Sqlite(fast.kv(), "default"),
                &spin::SpinConfig {
                    stub: &stub.url(),
                    config: &connector_config,
                },
            )
            .await?,
        ),
        None => None,
    };
    let mut next_opportunity = 0;
    let mut deliveries = |count: usize| {
        assert!(
            next_opportunity + count <= links,
            "more deliveries than linked candidates"
        );
        let batch: Vec<Bytes> = (next_opportunity..next_opportunity + count)
            .map(|i| delivery(&token, &opportunity_id(i)))
            .collect();
        next_opportunity += count;
        batch
    };

    // 1. The full flow over loopback, component vs native, same server, store and stub.
    if sizes.wants("e2e") {
        eprintln!(
            "bench: stage flow over loopback ({} deliveries each)",
            sizes.deliveries
        );
        let warm = sizes.concurrency * 2;
        load(
            &wasm_served.url(),
            "/webhooks/lever/acme",
            deliveries(warm),
            sizes.concurrency,
            true,
        )
        .await?;
        load(
            &native_served.url(),
            "/webhooks/lever/acme",
            deliveries(warm),
            sizes.concurrency,
            true,
        )
        .await?;
        if let Some(node) = &node {
            load(
                &node.url(),
                "/webhooks/lever/acme",
                deliveries(warm),
                sizes.concurrency,
                true,
            )
            .await?;
        }
        let mut by_node = Load::default();
        // Alternating rounds (native first in even rounds, the component first in odd
        // ones): the store grows with every delivery and the machine's speed drifts, and
        // both then weigh on each side alike instead of on whichever ran second.
        let mut native = Load::default();
        let mut wasm = Load::default();
        // The store operations the component's rounds made (the store is shared, so only
        // between the start and the end of each of its rounds).
        let mut wasm_ops = crate::kv::OpCounts::default();
        let mut wasm_calls = 0u64;
        let per_round = sizes.deliveries.div_ceil(ROUNDS);
        let mut left = sizes.deliveries;
        for round in 0..ROUNDS {
            let count = per_round.min(left);
            left -= count;
            if count == 0 {
                break;
            }
            // Node.js, when there, goes last in even rounds and first in odd ones.
            let mut order: Vec<Side> = turns(round)
                .into_iter()
                .map(|native| if native { Side::Native } else { Side::Wasm })
                .collect();
            if node.is_some() {
                if round.is_multiple_of(2) {
                    order.push(Side::Node);
                } else {
                    order.insert(0, Side::Node);
                }
            }
            for side in order {
                let (url, into) = match (side, &node) {
                    (Side::Native, _) => (native_served.url(), &mut native),
                    (Side::Wasm, _) => (wasm_served.url(), &mut wasm),
                    (Side::Node, Some(node)) => (node.url(), &mut by_node),
                    (Side::Node, None) => continue,
                };
                let before = fast.kv().op_counts();
                let calls_before = host_calls.load(Ordering::Relaxed);
                let run = load(
                    &url,
                    "/webhooks/lever/acme",
                    deliveries(count),
                    sizes.concurrency,
                    true,
                )
                .await?;
                into.absorb(run);
                if side == Side::Wasm {
                    let after = fast.kv().op_counts();
                    wasm_ops.all += after.all - before.all;
                    wasm_ops.writes += after.writes - before.writes;
                    wasm_calls += host_calls.load(Ordering::Relaxed) - calls_before;
                }
            }
        }
        figures.insert("e2e_wasm_per_s", json!(round(wasm.per_s(), 1)));
        figures.insert("e2e_native_per_s", json!(round(native.per_s(), 1)));
        figures.insert("e2e_ratio", json!(round(wasm.per_s() / native.per_s(), 3)));
        figures.insert("p50_ms", json!(round(wasm.percentile_ms(0.50), 3)));
        figures.insert("p99_ms", json!(round(wasm.percentile_ms(0.99), 3)));
        figures.insert("native_p50_ms", json!(round(native.percentile_ms(0.50), 3)));
        figures.insert("native_p99_ms", json!(round(native.percentile_ms(0.99), 3)));
        let forwarded = wasm.latencies.len().max(1) as f64;
        figures.insert(
            "kv_ops_per_delivery",
            json!(round(wasm_ops.all as f64 / forwarded, 2)),
        );
        figures.insert(
            "kv_writes_per_delivery",
            json!(round(wasm_ops.writes as f64 / forwarded, 2)),
        );
        figures.insert(
            "host_calls_per_delivery",
            json!(round(wasm_calls as f64 / forwarded, 1)),
        );
        if let Some(app) = &spin_app {
            eprintln!("bench: the same flow under `spin up` ({spin_deliveries} deliveries)");
            let warm = sizes.concurrency * 2;
            load(
                &app.url(),
                "/webhooks/lever/acme",
                deliveries(warm),
                sizes.concurrency,
                true,
            )
            .await?;
            let by_spin = load(
                &app.url(),
                "/webhooks/lever/acme",
                deliveries(spin_deliveries),
                sizes.concurrency,
                true,
            )
            .await?;
            figures.insert("e2e_spin_per_s", json!(round(by_spin.per_s(), 1)));
            figures.insert("spin_p99_ms", json!(round(by_spin.percentile_ms(0.99), 3)));
        }
        if node.is_some() {
            figures.insert("e2e_node_per_s", json!(round(by_node.per_s(), 1)));
            figures.insert(
                "e2e_node_ratio",
                json!(round(wasm.per_s() / by_node.per_s(), 3)),
            );
            figures.insert("node_p99_ms", json!(round(by_node.percentile_ms(0.99), 3)));
        }
    }

    // 2. Instantiate and answer /health.
    if sizes.wants("health") {
        eprintln!("bench: /health ({} requests)", sizes.health);
        let health_bodies = vec![Bytes::new(); sizes.health];
        load(
            &wasm_served.url(),
            "/health",
            health_bodies.clone(),
            sizes.concurrency,
            false,
        )
        .await?;
        let health = load(
            &wasm_served.url(),
            "/health",
            health_bodies,
            sizes.concurrency,
            false,
        )
        .await?;
        figures.insert("health_per_s", json!(round(health.per_s(), 1)));
    }

    // 3. The decision path alone: the same deliveries, upstreams answered in process.
    if sizes.wants("decision") {
        eprintln!(
            "bench: decision path in process ({} calls each)",
            sizes.decisions
        );
        let responder_template = template.clone();
        let in_process = fast.with_env(|env| {
            env.outbound = env.outbound.clone().answering(Arc::new(move |method, uri| {
                stub_answer(&responder_template, method.as_str(), uri.path())
            }));
        });
        let (wasm_us, native_us) = decision_path(
            &in_process,
            deliveries(sizes.decisions),
            deliveries(sizes.decisions),
        )
        .await?;
        figures.insert("decision_wasm_us", json!(round(wasm_us, 2)));
        figures.insert("decision_native_us", json!(round(native_us, 2)));
        figures.insert("wasm_native_ratio", json!(round(wasm_us / native_us, 3)));
    }

    // 4. A fresh instance and one call, pooled and on-demand allocation.
    if sizes.wants("instantiate") {
        eprintln!("bench: instantiation ({} each)", sizes.instances);
        let (pooled_us, alone_us, peak) =
            instantiate(&runtime, &settings, &fast, sizes.instances).await?;
        let on_demand = Runtime::with_allocation(wasm, Limits::default(), Allocation::OnDemand)?;
        let (unpooled_us, _, _) =
            instantiate(&on_demand, &settings, &fast, sizes.instances).await?;
        figures.insert("instantiate_pooled_us", json!(round(pooled_us, 2)));
        figures.insert("instantiate_unpooled_us", json!(round(unpooled_us, 2)));
        figures.insert("instantiate_only_us", json!(round(alone_us, 2)));
        figures.insert("instance_memory_peak_bytes", json!(peak));
    }

    // 5. Restart: process start to serving, compiled component cached.
    if sizes.wants("restart") {
        eprintln!("bench: restart");
        let (cold_ms, restart_ms) = restart(exe).await?;
        figures.insert("cold_start_ms", json!(round(cold_ms, 1)));
        figures.insert("restart_ready_ms", json!(round(restart_ms, 1)));
    }

    // 6. Bulk upload at Lever's rate limit.
    if sizes.uploads > 0 && sizes.wants("bulk") {
        eprintln!(
            "bench: {} uploads against Lever's 10 requests/s",
            sizes.uploads
        );
        let (fraction, lost, rate, refused, uploads_per_s) =
            bulk(&served, &sims, sizes.uploads, sizes.concurrency).await?;
        figures.insert("bulk_rate_fraction", json!(round(fraction, 3)));
        figures.insert("bulk_uploads_per_s", json!(round(uploads_per_s, 2)));
        figures.insert("bulk_lost", json!(lost));
        figures.insert("bulk_lever_requests_per_s", json!(round(rate, 2)));
        figures.insert("bulk_lever_429", json!(refused));
    }

    // 7. A thousand accounts over several retention periods.
    if sizes.wants("endurance") {
        let file = sizes
            .kv_file
            .as_ref()
            .map(|path| PathBuf::from(format!("{}.endurance", path.display())));
        if let Some(path) = &file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        endurance::run(&runtime, &sizes.endurance, file.as_deref(), &mut figures).await?;
    }

    // 8. Scaled out (asked for by name only: it starts Redis and several hosts).
    if sizes.only.iter().any(|p| p == "scale") {
        scale::run(exe, wasm, &runtime, &mut figures).await?;
    }

    let results = json!({
        "machine": machine(),
        "sizes": {
            "deliveries": sizes.deliveries, "concurrency": sizes.concurrency,
            "health": sizes.health, "decisions": sizes.decisions,
            "instances": sizes.instances, "uploads": sizes.uploads,
            "kv": if sizes.kv_file.is_some() { "sqlite file (WAL)" } else { "memory" },
        },
        "figures": figures,
    });
    let mut flat = results["figures"].clone();
    flat["machine"] = results["machine"].clone();
    flat["sizes"] = results["sizes"].clone();
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(out, serde_json::to_string_pretty(&flat)?)?;
    drop((wasm_served, native_served, served, stub));
    Ok(flat)
}

/// Prints `results` as a table.
pub fn print_table(results: &Value, out: &Path) {
    let rows: [(&str, &str, Option<&str>); 24] = [
        (
            "wasm_native_ratio",
            "decision path, component ÷ native time",
            Some("≤ 1.3"),
        ),
        ("decision_wasm_us", "  component, µs per delivery", None),
        ("decision_native_us", "  native, µs per delivery", None),
        (
            "e2e_ratio",
            "full flow, component ÷ native throughput",
            Some("≥ 0.7"),
        ),
        ("e2e_wasm_per_s", "  component, deliveries/s", None),
        ("e2e_native_per_s", "  native, deliveries/s", None),
        (
            "e2e_node_ratio",
            "full flow, component ÷ hand-written Node.js",
            Some("≥ 1.0"),
        ),
        ("e2e_node_per_s", "  Node.js, deliveries/s", None),
        (
            "e2e_spin_per_s",
            "full flow under `spin up` (SQLite), deliveries/s",
            Some("≥ 500"),
        ),
        ("spin_p99_ms", "  Spin p99, ms", None),
        (
            "host_calls_per_delivery",
            "host calls per forwarded delivery",
            None,
        ),
        (
            "kv_ops_per_delivery",
            "key-value operations per forwarded delivery",
            Some("≤ 12"),
        ),
        (
            "kv_writes_per_delivery",
            "  of which writes (transactions)",
            Some("≤ 3"),
        ),
        ("p50_ms", "  component p50, ms", None),
        ("p99_ms", "  component p99, ms", None),
        ("health_per_s", "instantiate + /health, requests/s", None),
        (
            "instantiate_pooled_us",
            "fresh instance + one call, pooled, µs",
            Some("≤ 10"),
        ),
        (
            "instantiate_unpooled_us",
            "  on-demand allocation, µs",
            None,
        ),
        (
            "instantiate_only_us",
            "  pooled, instance alone (no call), µs",
            None,
        ),
        (
            "restart_ready_ms",
            "restart to serving, cached, ms",
            Some("≤ 100"),
        ),
        ("cold_start_ms", "  first start (compiles), ms", None),
        ("component_bytes", "component size, bytes", Some("≤ 524288")),
        (
            "instance_memory_peak_bytes",
            "instance linear memory peak, bytes",
            None,
        ),
        (
            "bulk_rate_fraction",
            "bulk upload, achieved ÷ allowed rate",
            Some("≥ 0.95"),
        ),
    ];
    println!("{:<44} {:>14}  target", "measure", "value");
    for (key, label, target) in rows {
        let value = match &results[key] {
            Value::Null => "-".to_string(),
            v => v.to_string(),
        };
        println!("{label:<44} {value:>14}  {}", target.unwrap_or(""));
    }
    if let Some(lost) = results.get("bulk_lost") {
        println!("{:<44} {:>14}  = 0", "  uploads lost", lost.to_string());
    }
    if let Some(uploads) = results.get("bulk_uploads_per_s") {
        println!(
            "{:<44} {:>14}",
            "  uploads landed per second",
            uploads.to_string()
        );
    }
    if let Some(refused) = results.get("bulk_lever_429") {
        println!(
            "{:<44} {:>14}",
            "  requests Lever refused (429)",
            refused.to_string()
        );
    }
    if let Some(Value::Array(runs)) = results.get("scale_runs") {
        println!(
            "{:<16} {:<11} {:>10} {:>10} {:>8} {:>14}",
            "scale-out", "run", "per s", "forwarded", "other", "redis clients"
        );
        for run in runs {
            println!(
                "{:<16} {:<11} {:>10} {:>10} {:>8} {:>14}",
                run["setup"].as_str().unwrap_or(""),
                run["run"].as_str().unwrap_or(""),
                run["per_s"].to_string(),
                run["forwarded"].to_string(),
                run["not_forwarded"].to_string(),
                match &run["redis_clients_peak"] {
                    Value::Null => "-".to_string(),
                    v => v.to_string(),
                }
            );
        }
        for key in ["scale_lost", "scale_duplicated"] {
            if let Some(v) = results.get(key) {
                println!("{key:<44} {:>14}  = 0", v.to_string());
            }
        }
    }
    let endurance: [(&str, &str, Option<&str>); 12] = [
        ("endurance_connections", "endurance: connections", None),
        ("endurance_deliveries", "  deliveries", None),
        ("endurance_keys_peak", "  store keys, peak", None),
        ("endurance_keys_end", "  store keys, end", Some("≤ bound")),
        ("endurance_keys_bound", "  bound for these objects", None),
        (
            "endurance_tick_ms_first",
            "  sweeping tick, first day it sweeps, ms",
            None,
        ),
        (
            "endurance_tick_ms_last",
            "  sweeping tick, last day, ms",
            Some("≤ 1.5 × first"),
        ),
        (
            "endurance_list_connections_ms",
            "  list-connections, ms",
            None,
        ),
        (
            "endurance_disconnect_ms",
            "  purge among ≥ 1 M keys, ms",
            Some("≤ 50"),
        ),
        (
            "endurance_p99_ms_first",
            "  delivery p99 at the start, ms",
            None,
        ),
        (
            "endurance_p99_ms_last",
            "  delivery p99 at the end, ms",
            Some("≤ 1.5 × first"),
        ),
        ("endurance_lost", "  deliveries lost", Some("= 0")),
    ];
    for (key, label, target) in endurance {
        if let Some(value) = results.get(key) {
            println!(
                "{label:<44} {:>14}  {}",
                value.to_string(),
                target.unwrap_or("")
            );
        }
    }
    if let Some(kv) = results["sizes"].get("kv").and_then(Value::as_str) {
        println!("{:<44} {:>14}", "connector state kept in", kv);
    }
    println!("\nwritten to {}", out.display());
}

pub(crate) fn round(value: f64, places: i32) -> f64 {
    let factor = 10f64.powi(places);
    (value * factor).round() / factor
}

pub(crate) fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A port on 127.0.0.1 free right now, for a server another process starts.
pub(crate) fn loopback_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind(loopback())?
        .local_addr()?
        .port())
}

fn opportunity_id(i: usize) -> String {
    format!("bench-opp-{i:06}")
}

fn delivery(token: &str, opportunity: &str) -> Bytes {
    let body = crate::signing::lever_delivery(
        token,
        "candidateStageChange",
        json!({ "opportunityId": opportunity, "toStageId": ONSITE, "fromStageId": PHONE }),
        crate::http_util::now_ms(),
        &crate::signing::random_token(48),
    );
    Bytes::from(body.to_string())
}

async fn set_up(api: &PartnerApi) -> anyhow::Result<()> {
    api.ok(
        "POST",
        "/connections/acme/api-key",
        Some(json!({ "apiKey": DEFAULT_API_KEY })),
    )
    .await?;
    api.ok("POST", "/connections/acme/webhooks", None).await?;
    let map: serde_json::Map<String, Value> = STAGE_MAP
        .iter()
        .map(|(stage, partner)| (stage.to_string(), json!(partner)))
        .collect();
    api.ok(
        "PUT",
        "/connections/acme/stage-map",
        Some(Value::Object(map)),
    )
    .await?;
    Ok(())
}

/// The simulator's opportunity as Lever returns it, the stub's answer for every id.
pub(crate) async fn opportunity_template(sims: &Simulators) -> anyhow::Result<String> {
    let opportunity = sims
        .lever
        .opportunity(TEMPLATE_ID)
        .context("the simulator has the template opportunity")?;
    Ok(json!({ "data": opportunity }).to_string())
}

/// What the stub answers: the template for an opportunity (its id swapped in), `{}` for
/// anything else.
pub(crate) fn stub_answer(template: &str, method: &str, path: &str) -> (u16, Bytes) {
    if method == "GET" {
        if let Some(id) = path.strip_prefix("/v1/opportunities/") {
            return (200, Bytes::from(template.replace(TEMPLATE_ID, id)));
        }
    }
    (200, Bytes::from_static(b"{}"))
}

/// The hand-written Node.js handler (`node_handler.mjs`), run with the `node` on PATH
/// against the same stub upstreams; stopped when dropped.
struct NodeHandler {
    child: tokio::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl NodeHandler {
    /// `node` (`NODE_BIN`, else on PATH), or `None`, saying that the handler is skipped.
    fn find() -> Option<std::ffi::OsString> {
        let node = std::env::var_os("NODE_BIN").unwrap_or_else(|| "node".into());
        let present = std::process::Command::new(&node)
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !present {
            eprintln!(
                "bench: no `node` on PATH: the Node.js handler is skipped (no e2e_node_* figures)"
            );
        }
        present.then_some(node)
    }

    /// Starts it with the first `links` bench opportunities linked, as the connector's are.
    async fn start(
        node: &std::ffi::OsStr,
        stub: &Stub,
        signature_token: &str,
        links: usize,
    ) -> anyhow::Result<Self> {
        use tokio::io::AsyncBufReadExt as _;
        let dir = tempfile::tempdir()?;
        let script = dir.path().join("handler.mjs");
        std::fs::write(&script, include_str!("node_handler.mjs"))?;
        let linked: serde_json::Map<String, Value> = (0..links)
            .map(|i| (opportunity_id(i), json!(format!("bench-cand-{i:06}"))))
            .collect();
        std::fs::write(
            dir.path().join("links.json"),
            Value::Object(linked).to_string(),
        )?;
        let map: serde_json::Map<String, Value> = STAGE_MAP
            .iter()
            .map(|(stage, partner)| (stage.to_string(), json!(partner)))
            .collect();
        let mut child = tokio::process::Command::new(node)
            .arg(&script)
            .env("LEVER_API_BASE", format!("{}/v1", stub.url()))
            .env("LEVER_API_KEY", DEFAULT_API_KEY)
            .env("SIGNATURE_TOKEN", signature_token)
            .env("PARTNER_CALLBACK_URL", format!("{}/hooks", stub.url()))
            .env("PARTNER_SECRET", partner::DEFAULT_SECRET)
            .env("STAGE_MAP", Value::Object(map).to_string())
            .env("LINKS_FILE", dir.path().join("links.json"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().context("node's stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .context("node did not start")??
            .context("node exited")?;
        let port = line
            .strip_prefix("listening ")
            .and_then(|p| p.trim().parse().ok())
            .with_context(|| format!("node printed {line:?}"))?;
        Ok(Self {
            child,
            port,
            _dir: dir,
        })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for NodeHandler {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// A fast stub upstream on 127.0.0.1: Lever's opportunity reads and the partner callback,
/// answered at once; it counts the partner events it receives by `webhook-id`.
pub(crate) struct Stub {
    addr: SocketAddr,
    seen: Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Stub {
    pub(crate) async fn start(template: String) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(loopback()).await?;
        let addr = listener.local_addr()?;
        let template = Arc::new(template);
        let seen: Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>> = Arc::default();
        let counted = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (template, counted) = (template.clone(), counted.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |request: hyper::Request<hyper::body::Incoming>| {
                            let (template, counted) = (template.clone(), counted.clone());
                            async move {
                                let (parts, body) = request.into_parts();
                                // Read the request to its end, as a real upstream does (a sender
                                // may fail when the answer comes before its body is taken).
                                let _ = body.collect().await;
                                if let Some(id) = parts.headers.get("webhook-id") {
                                    let id = String::from_utf8_lossy(id.as_bytes()).into_owned();
                                    if let Ok(mut seen) = counted.lock() {
                                        *seen.entry(id).or_default() += 1;
                                    }
                                }
                                let (status, body) =
                                    stub_answer(&template, parts.method.as_str(), parts.uri.path());
                                let mut response = hyper::Response::new(Full::new(body));
                                *response.status_mut() = hyper::StatusCode::from_u16(status)
                                    .unwrap_or(hyper::StatusCode::OK);
                                Ok::<_, Infallible>(response)
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr, seen, task })
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Partner events received (each once), and the extra copies of events received more
    /// than once.
    pub(crate) fn counts(&self) -> (u64, u64) {
        let seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        let once = seen.len() as u64;
        let extra = seen.values().map(|n| u64::from(n.saturating_sub(1))).sum();
        (once, extra)
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A tool named by `env_var`, else `name` on PATH; `None` when neither names a file.
pub(crate) fn tool(env_var: &str, name: &str) -> Option<PathBuf> {
    std::env::var_os(env_var)
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|candidate| candidate.is_file())
            })
        })
        .filter(|path| path.is_file())
}

/// A child process in its own process group (so what it starts goes with it), killed
/// with its group when dropped.
#[derive(Debug)]
pub(crate) struct ProcessGroup(pub(crate) tokio::process::Child);

impl ProcessGroup {
    /// Spawns `command` in its own group, its stdin closed.
    pub(crate) fn spawn(mut command: tokio::process::Command) -> std::io::Result<Self> {
        command
            .stdin(std::process::Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        Ok(Self(command.spawn()?))
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(pid) = self.0.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(std::process::Stdio::null())
                .status();
        }
        let _ = self.0.start_kill();
    }
}

/// Links partner candidates `bench-cand-{i}` to the stub's opportunities.
async fn link_candidates(served: &Served, count: usize, concurrency: usize) -> anyhow::Result<()> {
    let api = PartnerApi::new(&served.url(), partner::DEFAULT_API_KEY);
    let next = Arc::new(AtomicUsize::new(0));
    let workers = (0..concurrency).map(|_| {
        let (api, next) = (api.clone(), next.clone());
        async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return anyhow::Ok(());
                }
                api.ok(
                    "PUT",
                    &format!("/connections/acme/candidates/bench-cand-{i:06}/link"),
                    Some(json!({ "opportunityId": opportunity_id(i) })),
                )
                .await?;
            }
        }
    });
    for result in futures::future::join_all(workers).await {
        result?;
    }
    Ok(())
}

/// One side of the full-flow comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Native,
    Wasm,
    Node,
}

/// Rounds each side of a comparison is split into, alternating (see [`turns`]).
const ROUNDS: usize = 8;

/// Which side goes first in `round`: `true` is native. Even rounds run native first, odd
/// rounds the component first, so neither always meets the larger store or the later
/// (hotter, or busier) machine.
fn turns(round: usize) -> [bool; 2] {
    let native_first = round.is_multiple_of(2);
    [native_first, !native_first]
}

/// Latencies and time spent over one or more load runs.
#[derive(Debug, Default)]
pub(crate) struct Load {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Load {
    /// Adds another run's requests and time.
    fn absorb(&mut self, other: Load) {
        self.latencies.extend(other.latencies);
        self.latencies.sort();
        self.elapsed += other.elapsed;
    }

    pub(crate) fn per_s(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p` quantile (0 to 1) of the latencies, in ms.
    pub(crate) fn percentile_ms(&self, p: f64) -> f64 {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies
            .get(index)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}

/// Sends every body (POST, or GET when empty) to `base` + `path`, `concurrency` at a time
/// over kept-alive connections; every answer must be 200 (and, for deliveries, forwarded).
pub(crate) async fn load(
    base: &str,
    path: &str,
    bodies: Vec<Bytes>,
    concurrency: usize,
    must_forward: bool,
) -> anyhow::Result<Load> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(concurrency)
        .build_http();
    let url: hyper::Uri = format!("{base}{path}").parse()?;
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers = (0..concurrency).map(|_| {
        let (client, url, bodies, next) =
            (client.clone(), url.clone(), bodies.clone(), next.clone());
        async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else {
                    return anyhow::Ok(latencies);
                };
                let request = if body.is_empty() {
                    hyper::Request::get(url.clone()).body(Full::new(Bytes::new()))?
                } else {
                    hyper::Request::post(url.clone())
                        .header("content-type", "application/json")
                        .body(Full::new(body.clone()))?
                };
                let sent = Instant::now();
                let response = client.request(request).await?;
                let status = response.status();
                let answer = response.into_body().collect().await?.to_bytes();
                latencies.push(sent.elapsed());
                if status != 200 || (must_forward && !contains(&answer, b"\"forwarded\"")) {
                    anyhow::bail!(
                        "{url} answered {status}: {}",
                        String::from_utf8_lossy(&answer)
                    );
                }
            }
        }
    });
    let mut latencies = Vec::new();
    for result in futures::future::join_all(workers).await {
        latencies.extend(result?);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Ok(Load { latencies, elapsed })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Mean µs per delivery of `handle-lever-webhook`, in one component instance and natively,
/// with every upstream answered in process: parsing, verifying, claiming, reading the
/// connection, mapping, signing the partner event, recording.
///
/// Both sides run on one thread with a single-threaded runtime, in alternating rounds. On
/// the multi-threaded runtime a sequential run wakes an idle worker for each task that
/// `wasi:http` spawns (two per outbound request) and measures those wake-ups rather than
/// the component; under load (the full-flow figures) the workers are busy and do not pay
/// them.
async fn decision_path(
    connector: &Connector,
    for_wasm: Vec<Bytes>,
    for_native: Vec<Bytes>,
) -> anyhow::Result<(f64, f64)> {
    let connector = connector.clone();
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let connection =
            lever_plugin::store::ConnectionId::parse("acme").map_err(|e| anyhow::anyhow!("{e}"))?;
        let (mut store, webhooks) = runtime.block_on(connector.webhooks())?;
        let wasm_connection = connection.as_str().to_string();
        let (mut wasm_time, mut native_time) = (Duration::ZERO, Duration::ZERO);
        let per_round = for_wasm.len().max(for_native.len()).div_ceil(ROUNDS).max(1);
        let (mut wasm_chunks, mut native_chunks) =
            (for_wasm.chunks(per_round), for_native.chunks(per_round));
        // Alternating rounds, as in the full flow: the store grows with every delivery.
        for round in 0..ROUNDS {
            for native_turn in turns(round) {
                if native_turn {
                    let Some(chunk) = native_chunks.next() else {
                        continue;
                    };
                    native_time += crate::native::with_env(
                        connector.env(),
                        runtime.handle().clone(),
                        |io| {
                            let started = Instant::now();
                            for body in chunk {
                                let receipt = lever_plugin::sync::stage::handle_lever_webhook(
                                    io,
                                    &connection,
                                    body,
                                )?;
                                if !matches!(
                                    receipt.outcome,
                                    lever_plugin::sync::stage::Outcome::Forwarded(_)
                                ) {
                                    return Err(lever_plugin::error::ConnectorError::Internal(
                                        format!("not forwarded: {:?}", receipt.outcome),
                                    ));
                                }
                            }
                            Ok(started.elapsed())
                        },
                    )
                    .map_err(|e| anyhow::anyhow!("native decision path: {e}"))?;
                } else {
                    let Some(chunk) = wasm_chunks.next() else {
                        continue;
                    };
                    wasm_time += runtime.block_on(async {
                        let started = Instant::now();
                        for body in chunk {
                            let receipt = webhooks
                                .call_handle_lever_webhook(&mut store, &wasm_connection, body)
                                .await?;
                            match receipt {
                                Ok(r) if matches!(
                                    r.outcome,
                                    crate::runtime::bindings::exports::lever::connector::webhooks::WebhookOutcome::Forwarded(_)
                                ) => {}
                                other => anyhow::bail!("the component did not forward: {other:?}"),
                            }
                        }
                        anyhow::Ok(started.elapsed())
                    })?;
                }
            }
        }
        let wasm_us = wasm_time.as_secs_f64() * 1e6 / for_wasm.len().max(1) as f64;
        let native_us = native_time.as_secs_f64() * 1e6 / for_native.len().max(1) as f64;
        Ok((wasm_us, native_us))
    })
    .await?
}

/// Mean µs for a fresh instance plus one call (`get-linked-candidate`), for a fresh
/// instance alone, and the largest linear memory an instance reached.
async fn instantiate(
    runtime: &Runtime,
    settings: &Settings,
    state_from: &Connector,
    count: usize,
) -> anyhow::Result<(f64, f64, usize)> {
    let connector = Connector::new(runtime.clone(), settings)?.with_env(|env| {
        *env = (**state_from.env()).clone();
    });
    for _ in 0..16 {
        let _warm = connector
            .linked_candidate("acme", &opportunity_id(0))
            .await?;
    }
    let started = Instant::now();
    let mut peak = 0;
    for i in 0..count {
        let (linked, memory) = connector
            .linked_candidate("acme", &opportunity_id(i % 64))
            .await?;
        anyhow::ensure!(
            matches!(linked, Ok(Some(_))),
            "get-linked-candidate answered {linked:?}"
        );
        peak = peak.max(memory);
    }
    let with_call = started.elapsed().as_secs_f64() * 1e6 / count as f64;
    let started = Instant::now();
    for _ in 0..count {
        let (store, face) = connector.partner().await?;
        drop((face, store));
    }
    let alone = started.elapsed().as_secs_f64() * 1e6 / count as f64;
    Ok((with_call, alone, peak))
}

/// Starts `lever-host serve` twice with an empty compile cache: the first start compiles
/// (and caches), the second loads. Answers both times to a `/health` answer, in ms.
async fn restart(exe: &Path) -> anyhow::Result<(f64, f64)> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("lever-host.toml");
    std::fs::write(
        &config,
        "[host]\nkv_path = \"kv.sqlite\"\n\n[connector]\nlever_environment = \"sandbox\"\n",
    )?;
    let cache = dir.path().join("cache");
    let mut times = Vec::new();
    for _ in 0..3 {
        let port = std::net::TcpListener::bind(loopback())?
            .local_addr()?
            .port();
        let started = Instant::now();
        let mut child = tokio::process::Command::new(exe)
            .args(["serve", "--config"])
            .arg(&config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--cache-dir")
            .arg(&cache)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let url = format!("http://127.0.0.1:{port}/health");
        let client = crate::http_util::HttpClient::default();
        loop {
            if let Ok(answer) = client.get(&url, &[]).await {
                anyhow::ensure!(answer.status == 200, "/health answered {}", answer.status);
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(120),
                "lever-host serve did not start"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        child.kill().await?;
    }
    // The first start compiled; the later ones loaded (the best of them: the machine is
    // shared with nothing else here, so the minimum is the least noisy).
    Ok((times[0], times[1].min(times[2])))
}

/// Uploads `count` candidates through the partner API against the simulator (Lever's 10
/// requests/s per key): the rate of admitted Lever requests over the allowed rate, how many
/// uploads did not land, the admitted rate, how many requests Lever refused (429), and uploads
/// landed per second.
async fn bulk(
    served: &Served,
    sims: &Simulators,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<(f64, usize, f64, u64, f64)> {
    let api = PartnerApi::new(&served.url(), partner::DEFAULT_API_KEY);
    api.ok(
        "PUT",
        "/connections/acme/perform-as",
        Some(json!({ "userId": "user-0001" })),
    )
    .await?;
    api.ok(
        "PUT",
        "/connections/acme/roles/role-rust",
        Some(json!({ "postingId": "f2f01e16-27f8-4711-a728-7d49499795a0" })),
    )
    .await?;
    // Let the bucket refill from the setup calls, so the run starts as a fresh burst.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let admitted_before = sims.lever.admitted_for(ACME);
    let refused_before = sims.lever.rate_limited_for(ACME);
    let before = sims.lever.opportunities(ACME).len();
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers = (0..concurrency).map(|_| {
        let (api, next, failures) = (api.clone(), next.clone(), failures.clone());
        async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return;
                }
                let submission = json!({
                    "partnerCandidateId": format!("bulk-{i:05}"),
                    "partnerRoleId": "role-rust",
                    "name": format!("Bulk Candidate {i}"),
                    "emails": [format!("bulk{i}@example.com")],
                });
                // A rate-limited answer is retried after the time it names, as a partner would.
                loop {
                    match api
                        .call(
                            "POST",
                            "/connections/acme/candidates",
                            Some(submission.clone()),
                        )
                        .await
                    {
                        Ok(answer) if answer.status == 429 || answer.status == 503 => {
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                        Ok(answer) if (200..300).contains(&answer.status) => break,
                        _ => {
                            failures.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                }
            }
        }
    });
    futures::future::join_all(workers).await;
    let elapsed = started.elapsed().as_secs_f64();
    let admitted = sims.lever.admitted_for(ACME) - admitted_before;
    let refused = sims.lever.rate_limited_for(ACME) - refused_before;
    let landed = sims.lever.opportunities(ACME).len() - before;
    let rate = admitted as f64 / elapsed;
    let allowed = LeverSimOptions::default().rate_per_sec;
    let failed = failures.load(Ordering::Relaxed);
    if failed > 0 {
        eprintln!("bench: {failed} uploads were refused");
    }
    Ok((
        rate / allowed,
        count.saturating_sub(landed),
        rate,
        refused,
        landed as f64 / elapsed,
    ))
}

fn machine() -> Value {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_default();
    json!({ "cores": cores, "cpu": cpu, "os": std::env::consts::OS, "arch": std::env::consts::ARCH })
}

/// `target/bench/results.json` under the current directory.
pub fn default_out() -> PathBuf {
    PathBuf::from("target").join("bench").join("results.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_alternate_which_side_goes_first() {
        let firsts: Vec<bool> = (0..ROUNDS).map(|round| turns(round)[0]).collect();
        assert_eq!(firsts.iter().filter(|native| **native).count(), ROUNDS / 2);
        for round in 0..ROUNDS {
            let [first, second] = turns(round);
            assert_ne!(first, second, "each side runs once per round");
            if round > 0 {
                assert_ne!(first, turns(round - 1)[0]);
            }
        }
    }

    #[test]
    fn rounds_pool_their_requests_and_time() {
        let ms = Duration::from_millis;
        let mut pooled = Load::default();
        pooled.absorb(Load {
            latencies: vec![ms(1), ms(3)],
            elapsed: ms(500),
        });
        pooled.absorb(Load {
            latencies: vec![ms(2), ms(9)],
            elapsed: ms(1500),
        });
        // 4 requests in 2 s of running, whatever happened between the rounds.
        assert_eq!(pooled.per_s(), 2.0);
        assert_eq!(pooled.percentile_ms(0.0), 1.0);
        assert_eq!(pooled.percentile_ms(0.5), 3.0);
        assert_eq!(pooled.percentile_ms(1.0), 9.0);
    }
}
