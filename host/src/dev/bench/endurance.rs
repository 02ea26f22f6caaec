//! The endurance benchmark (`lever-host bench --only endurance`): a thousand accounts over
//! several retention periods, compressed. The store is SQLite (the same engine, schema and
//! code as `serve`'s file) in memory, so a million deliveries fit in the five minutes the
//! benchmark may take on 2 cores; `--kv-file` puts it in a file instead (about three times
//! as long: every write is a WAL append).
//! The bulk of the deliveries runs through the logic compiled natively (the same code the
//! component is built from, on the same store) with every upstream answered in process, so
//! a million deliveries fit in minutes; the component serves deliveries over HTTP at the
//! start and at the end, and answers `list-connections`. The clock moves forward in steps;
//! after each step `tick` runs until its sweep has caught up, and the store is counted.
//!
//! What it shows: the store holds what the design bounds (not a record per delivery ever
//! made), a tick costs the same late as early, a purge costs what one connection holds
//! whatever the others hold, and delivery latency does not grow with the store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use lever_plugin::error::ConnectorError;
use lever_plugin::io::Env;
use lever_plugin::lever::OpportunityId;
use lever_plugin::secret::Secret;
use lever_plugin::store::index::{BUCKET_MS, SWEEP_GRACE_MS};
use lever_plugin::store::{keys, ConnectionId, InstalledWebhook, Store};
use serde_json::{json, Value};

use super::{load, loopback, opportunity_template, round, stub_answer, ONSITE, PHONE, STAGE_MAP};
use crate::runtime::Runtime;
use crate::server::Connector;
use crate::settings::{KvLocation, Settings};
use crate::sim::{partner, LeverSimOptions, Simulators};

/// How much the endurance run does.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// Connections (each its own Lever account as far as the store knows).
    pub connections: usize,
    /// Deliveries through the native build of the logic, spread over the timeline.
    pub deliveries: usize,
    /// Deliveries through the component over HTTP, half at the start, half at the end.
    pub component_deliveries: usize,
    /// Retention periods the clock crosses (24 h each, the default).
    pub periods: u32,
    /// Clock steps per retention period.
    pub steps_per_period: u32,
    /// Opportunities linked per connection.
    pub links: usize,
    /// Concurrent HTTP deliveries to the component.
    pub concurrency: usize,
}

impl Sizes {
    /// The README's run: 1,000 connections, a million deliveries, three days.
    pub fn full() -> Self {
        Self {
            connections: 1_000,
            deliveries: 1_000_000,
            component_deliveries: 20_000,
            periods: 3,
            steps_per_period: 16,
            links: 30,
            concurrency: 8,
        }
    }

    /// A short run (seconds).
    pub fn quick() -> Self {
        Self {
            connections: 50,
            deliveries: 20_000,
            component_deliveries: 2_000,
            periods: 3,
            steps_per_period: 6,
            links: 10,
            concurrency: 4,
        }
    }
}

const DAY_MS: u64 = 24 * 60 * 60 * 1000;
const BUCKET: &str = "default";

fn connection(i: usize) -> ConnectionId {
    ConnectionId::parse(&format!("customer-{i:04}")).unwrap_or_else(|_| unreachable!())
}

fn signature_token(i: usize) -> String {
    format!("endurance-signature-token-{i:04}")
}

fn opportunity(i: usize, j: usize) -> String {
    format!("endurance-opp-{i:04}-{j:03}")
}

/// The `k`th opportunity of connection `i` that the component's deliveries in `phase` move
/// (each moved once, so the start and the end do the same work: a first report).
fn component_opportunity(phase: usize, i: usize, k: usize) -> String {
    format!("endurance-component-{phase}-{i:04}-{k:05}")
}

/// Connections the component's deliveries go to.
const COMPONENT_CONNECTIONS: usize = 10;

/// A signed stage change for connection `i`'s `j`th opportunity at `at`.
fn delivery(i: usize, j: usize, at: u64, stage: &str) -> Vec<u8> {
    signed(i, &opportunity(i, j), at, stage)
}

/// A signed stage change of `opportunity` for connection `i` at `at`.
fn signed(i: usize, opportunity: &str, at: u64, stage: &str) -> Vec<u8> {
    crate::signing::lever_delivery(
        &signature_token(i),
        "candidateStageChange",
        json!({ "opportunityId": opportunity, "toStageId": stage }),
        at,
        &crate::signing::random_token(48),
    )
    .to_string()
    .into_bytes()
}

/// Runs `f` with the native build of the logic over the connector's store, configuration
/// and in-process upstreams, on a blocking thread.
async fn natively<T: Send + 'static>(
    connector: &Connector,
    f: impl FnOnce(&Env) -> Result<T, ConnectorError> + Send + 'static,
) -> anyhow::Result<T> {
    let env = connector.env().clone();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || crate::native::with_env(&env, handle, f))
        .await?
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// The median of `values` (0 for none).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// A deployment's configuration for the bench's in-process runs: Lever at `lever` (the API
/// under `/v1`), the partner callback at `partner` (`/hooks`), a fresh encryption key, and
/// the rate limit lifted (one account's limit is not what these runs measure).
pub(crate) fn lifted_config(lever: &str, partner_base: &str) -> BTreeMap<String, String> {
    [
        ("lever_api_base", format!("{lever}/v1")),
        ("lever_auth_base", lever.to_string()),
        ("public_base_url", "http://127.0.0.1:9".to_string()),
        ("partner_callback_url", format!("{partner_base}/hooks")),
        (
            "partner_webhook_secret",
            partner::DEFAULT_SECRET.to_string(),
        ),
        ("partner_api_key", partner::DEFAULT_API_KEY.to_string()),
        (
            "encryption_key",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                rand::random::<[u8; 32]>(),
            ),
        ),
        ("lever_rate_per_sec", "1000000".to_string()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value))
    .collect()
}

/// A connector with `config`, its state at `kv`, whose outbound requests are answered in
/// process from `template` (the stub's answers) and never dialled.
pub(crate) fn answered_connector(
    runtime: &Runtime,
    config: BTreeMap<String, String>,
    kv: KvLocation,
    template: Arc<String>,
) -> anyhow::Result<Connector> {
    let mut settings = Settings::in_process(config)?;
    settings.kv = kv;
    Ok(Connector::new(runtime.clone(), &settings)?.with_env(|env| {
        env.outbound = env.outbound.clone().answering(Arc::new(move |method, uri| {
            stub_answer(&template, method.as_str(), uri.path())
        }));
    }))
}

/// Connects `c` by API key (checked with Lever, answered in process), installs its
/// stage-change webhook with `token` sealed as its signature token, and sets the bench's
/// stage map: a connection as the partner API would leave it, without the round trips.
pub(crate) fn plant<'a>(
    io: &'a Env,
    c: &ConnectionId,
    token: &str,
) -> Result<lever_plugin::store::ConnStore<'a>, ConnectorError> {
    let sealer = lever_plugin::config::sealer(io.config)?;
    lever_plugin::auth::connect_api_key(io, c, "bench-api-key")?;
    let store = Store::new(io.kv).connection(c);
    store.set_webhook(&InstalledWebhook {
        id: format!("webhook-{c}"),
        event: "candidateStageChange".into(),
        url: format!("http://127.0.0.1:9/webhooks/lever/{c}"),
        signature_token: sealer.seal(
            io.random,
            c.as_str(),
            "signature_token/candidateStageChange",
            &Secret::new(token.to_string()),
        )?,
        created_at: io.clock.now(),
    })?;
    let map: BTreeMap<String, String> = STAGE_MAP
        .iter()
        .map(|(stage, partner)| (stage.to_string(), partner.to_string()))
        .collect();
    store.set_stage_map(&map)?;
    Ok(store)
}

/// Runs the endurance benchmark and adds its figures.
pub async fn run(
    runtime: &Runtime,
    sizes: &Sizes,
    file: Option<&std::path::Path>,
    figures: &mut BTreeMap<&'static str, Value>,
) -> anyhow::Result<()> {
    let sims = Simulators::start(
        LeverSimOptions::default(),
        partner::DEFAULT_SECRET,
        None,
        None,
    )
    .await?;
    let template = Arc::new(opportunity_template(&sims).await?);
    drop(sims);
    // Every upstream is answered in process; this address is never dialled.
    let config = lifted_config("http://127.0.0.1:9", "http://127.0.0.1:9");
    let kv_at = match file {
        Some(path) => KvLocation::File(path.to_path_buf()),
        None => KvLocation::Memory,
    };
    let connector = answered_connector(runtime, config, kv_at, template.clone())?;
    let kv = connector.kv().clone();
    let count = move || kv.count(BUCKET).map_err(|e| anyhow::anyhow!(e));

    // 1. The connections: connected by API key (checked with Lever, answered in process),
    //    a stage-change webhook with its sealed signature token, a stage map, links.
    eprintln!(
        "bench: endurance: setting up {} connections",
        sizes.connections
    );
    let (n, links) = (sizes.connections, sizes.links);
    let per_connection = (sizes.component_deliveries / 2).div_ceil(n.min(COMPONENT_CONNECTIONS));
    let per_connection_component = per_connection;
    natively(&connector, move |io| {
        for i in 0..n {
            let c = connection(i);
            let store = plant(io, &c, &signature_token(i))?;
            for j in 0..links {
                store.link(&format!("cand-{j}"), &OpportunityId(opportunity(i, j)))?;
            }
            if i < COMPONENT_CONNECTIONS {
                for phase in 0..2 {
                    for k in 0..per_connection {
                        store.link(
                            &format!("cand-component-{phase}-{k}"),
                            &OpportunityId(component_opportunity(phase, i, k)),
                        )?;
                    }
                }
            }
        }
        Ok(())
    })
    .await
    .context("setting the connections up")?;

    // 2. Deliveries through the component at the start.
    let mut lost = 0u64;
    let mut component_done = 0usize;
    let served = connector.bind(loopback()).await?;
    let path_of = |i: usize| format!("/webhooks/lever/{}", connection(i));
    let through_component = |connector: &Connector, phase: usize| {
        let shift = connector.env().clock_shift.get();
        let at = crate::http_util::now_ms() + u64::try_from(shift.as_millis()).unwrap_or(0);
        // Grouped per connection (the load generator posts to one URL per run).
        (0..n.min(COMPONENT_CONNECTIONS))
            .map(|i| {
                let bodies: Vec<Bytes> = (0..per_connection)
                    .map(|k| {
                        Bytes::from(signed(i, &component_opportunity(phase, i, k), at, ONSITE))
                    })
                    .collect();
                (i, bodies)
            })
            .collect::<Vec<_>>()
    };
    // Warm the instance pool and the connections first (not counted).
    let warm: Vec<Bytes> = (0..sizes.concurrency * 25)
        .map(|k| {
            let at = crate::http_util::now_ms();
            Bytes::from(delivery(0, k % links, at, ONSITE))
        })
        .collect();
    component_done += warm.len();
    load(&served.url(), &path_of(0), warm, sizes.concurrency, false).await?;
    let mut first = super::Load::default();
    for (i, bodies) in through_component(&connector, 0) {
        component_done += bodies.len();
        first.absorb(load(&served.url(), &path_of(i), bodies, sizes.concurrency, true).await?);
    }

    // 3. The timeline: the clock moves a step at a time across the retention periods;
    //    each step's deliveries go through the native logic, then ticks sweep.
    let steps = (sizes.periods * sizes.steps_per_period).max(1);
    let step_ms = DAY_MS * u64::from(sizes.periods) / u64::from(steps);
    let per_step = sizes.deliveries.div_ceil(steps as usize);
    eprintln!(
        "bench: endurance: {} deliveries over {} days in {steps} steps",
        sizes.deliveries, sizes.periods
    );
    let mut made = 0usize;
    let mut keys_peak = count()?;
    let mut sweeping_ticks: Vec<(u32, f64)> = Vec::new();
    let mut idle_ticks: Vec<(u32, f64)> = Vec::new();
    let mut per_step_made: Vec<usize> = Vec::new();
    let mut recent: Vec<(usize, Vec<u8>)> = Vec::new();
    for step in 0..steps {
        connector.advance_clock(Duration::from_millis(step_ms));
        let batch = per_step.min(sizes.deliveries - made);
        let start = made;
        let keep_tail = step + 1 == steps;
        let (failed, tail) = natively(&connector, move |io| {
            let mut failed = 0u64;
            let mut tail = Vec::new();
            for k in start..start + batch {
                let (i, j) = (k % n, (k / n) % links);
                let stage = if (k / (n * links)) % 2 == 0 {
                    PHONE
                } else {
                    ONSITE
                };
                let body = delivery(i, j, io.clock.now(), stage);
                if lever_plugin::sync::stage::handle_lever_webhook(io, &connection(i), &body)
                    .is_err()
                {
                    failed += 1;
                }
                if keep_tail && start + batch - k <= 1_000 {
                    tail.push((i, body));
                }
            }
            Ok((failed, tail))
        })
        .await?;
        if keep_tail {
            recent = tail;
        }
        lost += failed;
        made += batch;
        per_step_made.push(batch);
        keys_peak = keys_peak.max(count()?);
        for _ in 0..10_000 {
            let started = Instant::now();
            let report = natively(&connector, lever_plugin::outbox::tick).await?;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            if report.swept == 0 {
                idle_ticks.push((step, ms));
                break;
            }
            sweeping_ticks.push((step, ms));
        }
        eprintln!(
            "bench: endurance: day {:.1}: {made} deliveries, {} keys",
            f64::from(step + 1) * step_ms as f64 / DAY_MS as f64,
            count()?
        );
    }
    let keys_end = count()?;

    // 4. Deliveries through the component at the end, on the aged store.
    let mut last = super::Load::default();
    for (i, bodies) in through_component(&connector, 1) {
        component_done += bodies.len();
        last.absorb(load(&served.url(), &path_of(i), bodies, sizes.concurrency, true).await?);
    }

    // 5. The last thousand deliveries, replayed: each is still refused as a replay (its
    //    record was kept through the sweeps).
    let replays_missed = natively(&connector, move |io| {
        let mut missed = 0u64;
        for (i, body) in recent {
            let again = lever_plugin::sync::stage::handle_lever_webhook(io, &connection(i), &body)?;
            if !matches!(
                again.outcome,
                lever_plugin::sync::stage::Outcome::Duplicate(_)
            ) {
                missed += 1;
            }
        }
        Ok(missed)
    })
    .await?;
    lost += replays_missed;

    // 6. list-connections through the component, and a purge with the rest in the store.
    let mut listing = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let listed = connector.list_connections().await?;
        listing.push(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(
            listed.len() == n,
            "listed {} of {n} connections",
            listed.len()
        );
    }
    let keys_before_purge = count()?;
    // A typical connection (not one of those the component's deliveries also went to).
    let purged = natively(&connector, move |io| {
        let started = Instant::now();
        let report = lever_plugin::setup::disconnect(io, &connection(n - 1), true)?;
        Ok((started.elapsed().as_secs_f64() * 1000.0, report.purged))
    })
    .await?;
    anyhow::ensure!(purged.1, "the purge ran");
    let keys_after_purge = count()?;

    // The bound the design gives for these live objects (see README, "Bounded state").
    let retention_ms = DAY_MS;
    let window_ms = retention_ms + BUCKET_MS + SWEEP_GRACE_MS + step_ms;
    let window_steps = window_ms.div_ceil(step_ms) as usize;
    let guards_in_window: usize =
        per_step_made.iter().rev().take(window_steps).sum::<usize>() + component_done;
    let buckets = window_ms.div_ceil(BUCKET_MS) + 1;
    let plain_fixed = keys::CONNECTION_KEYS
        .iter()
        .filter(|spec| spec.found == keys::Found::Fixed && !spec.pattern.contains('<'))
        .count() as u64;
    let per_connection = plain_fixed
        + 2 * 7 // webhooks and their last-seen times
        + keys::AUDIT_KEEP
        + keys::ACTIVITY_KEEP
        + 7 * links as u64 // a link's keys and its index entry
        + buckets; // a counter per expiry bucket
    let component_links = 2 * per_connection_component as u64 * n.min(COMPONENT_CONNECTIONS) as u64;
    let keys_bound = n as u64 * per_connection
        + 7 * component_links // the opportunities the component's deliveries move
        + 2 * guards_in_window as u64 // a record and its index entry
        + buckets // the sweep schedule
        + 32; // the registry, the cursors, the layout
    let mut first_sweeps: Vec<f64> = Vec::new();
    let mut last_sweeps: Vec<f64> = Vec::new();
    if let (Some(&(first_step, _)), Some(&(last_step, _))) =
        (sweeping_ticks.first(), sweeping_ticks.last())
    {
        first_sweeps = sweeping_ticks
            .iter()
            .filter(|(s, _)| *s == first_step)
            .map(|(_, ms)| *ms)
            .collect();
        last_sweeps = sweeping_ticks
            .iter()
            .filter(|(s, _)| *s == last_step)
            .map(|(_, ms)| *ms)
            .collect();
    }
    let mut idle_first: Vec<f64> = idle_ticks.iter().take(3).map(|(_, ms)| *ms).collect();
    let mut idle_last: Vec<f64> = idle_ticks.iter().rev().take(3).map(|(_, ms)| *ms).collect();

    figures.insert("endurance_connections", json!(n));
    figures.insert(
        "endurance_kv",
        json!(if file.is_some() {
            "sqlite file (WAL)"
        } else {
            "sqlite in memory"
        }),
    );
    figures.insert("endurance_deliveries", json!(made + component_done));
    figures.insert("endurance_component_deliveries", json!(component_done));
    figures.insert("endurance_days", json!(sizes.periods));
    figures.insert("endurance_keys_peak", json!(keys_peak));
    figures.insert("endurance_keys_end", json!(keys_end));
    figures.insert("endurance_keys_bound", json!(keys_bound));
    figures.insert(
        "endurance_tick_ms_first",
        json!(round(median(&mut first_sweeps), 2)),
    );
    figures.insert(
        "endurance_tick_ms_last",
        json!(round(median(&mut last_sweeps), 2)),
    );
    figures.insert(
        "endurance_idle_tick_ms_first",
        json!(round(median(&mut idle_first), 2)),
    );
    figures.insert(
        "endurance_idle_tick_ms_last",
        json!(round(median(&mut idle_last), 2)),
    );
    figures.insert(
        "endurance_list_connections_ms",
        json!(round(median(&mut listing), 2)),
    );
    figures.insert("endurance_disconnect_ms", json!(round(purged.0, 2)));
    figures.insert("endurance_disconnect_store_keys", json!(keys_before_purge));
    figures.insert(
        "endurance_disconnect_deleted_keys",
        json!(keys_before_purge.saturating_sub(keys_after_purge)),
    );
    figures.insert(
        "endurance_p99_ms_first",
        json!(round(first.percentile_ms(0.99), 2)),
    );
    figures.insert(
        "endurance_p99_ms_last",
        json!(round(last.percentile_ms(0.99), 2)),
    );
    figures.insert(
        "endurance_p50_ms_first",
        json!(round(first.percentile_ms(0.50), 2)),
    );
    figures.insert(
        "endurance_p50_ms_last",
        json!(round(last.percentile_ms(0.50), 2)),
    );
    figures.insert("endurance_per_s_first", json!(round(first.per_s(), 1)));
    figures.insert("endurance_per_s_last", json!(round(last.per_s(), 1)));
    figures.insert("endurance_lost", json!(lost));
    Ok(())
}
