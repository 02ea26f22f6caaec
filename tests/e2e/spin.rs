//! The same `.wasm` under a real Spin CLI (`SPIN_BIN`, else `spin` on PATH): a connection set
//! up through the partner API, and a Lever stage change passed through to the partner.

use std::process::Stdio;

use lever_host::partner_api::PartnerApi;
use lever_host::sim::lever::{ACME, DEFAULT_API_KEY};
use lever_host::sim::{partner, LeverSimOptions};
use serde_json::json;

use crate::harness::*;
use crate::wasm_hosts::{
    build_component, free_port, replay_concurrently, stage_change_reaches_partner, tool,
    HostProcess,
};

/// The Spin CLI to test with, or `None` (the test is then skipped, saying so).
pub(crate) fn spin_bin() -> Option<std::path::PathBuf> {
    tool("SPIN_BIN", "spin")
}

/// Starts `spin up` in `dir` (which holds the component and its manifest) on `port`,
/// configured for the simulators.
pub(crate) async fn start_spin(
    spin: &std::path::Path,
    dir: &std::path::Path,
    sims: &lever_host::sim::Simulators,
    config: &std::collections::BTreeMap<String, String>,
    port: u16,
    runtime_config: Option<&std::path::Path>,
) -> HostProcess {
    let lever_origin = format!("http://{}", sims.lever_addr);
    let partner_origin = format!("http://{}", sims.partner_addr);
    let mut command = tokio::process::Command::new(spin);
    command
        .current_dir(dir)
        .args([
            "up",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--from",
            "spin.toml",
        ])
        .args(["--state-dir", &format!(".spin-{port}")])
        .args(["--variable", &format!("lever_api_origin={lever_origin}")])
        .args(["--variable", &format!("lever_auth_origin={lever_origin}")])
        .args(["--variable", &format!("partner_origin={partner_origin}")]);
    for key in [
        "lever_api_base",
        "lever_auth_base",
        "partner_callback_url",
        "public_base_url",
        "oauth_client_id",
    ] {
        command.args(["--variable", &format!("{key}={}", config[key])]);
    }
    command
        // Secrets through the environment, as a deployment would.
        .env(
            "SPIN_VARIABLE_PARTNER_WEBHOOK_SECRET",
            partner::DEFAULT_SECRET,
        )
        .env("SPIN_VARIABLE_PARTNER_API_KEY", partner::DEFAULT_API_KEY)
        .env("SPIN_VARIABLE_ENCRYPTION_KEY", &config["encryption_key"])
        .env(
            "SPIN_VARIABLE_OAUTH_CLIENT_SECRET",
            &config["oauth_client_secret"],
        );
    if let Some(path) = runtime_config {
        command.arg("--runtime-config-file").arg(path);
    }
    HostProcess::start(command, "spin", "Serving http://", port).await
}

/// A directory with the component and the repository's `spin.toml` pointing at it.
pub(crate) fn app_dir() -> tempfile::TempDir {
    app_dir_for(lever_host::COMPONENT)
}

/// A directory with `wasm` as the component and the repository's `spin.toml` pointing at it.
fn app_dir_for(wasm_bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("lever_plugin.wasm");
    std::fs::write(&wasm, wasm_bytes).unwrap();
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/spin.toml"))
        .unwrap()
        .replace(
            "source = \"target/wasm32-wasip2/component/lever_plugin.wasm\"",
            &format!("source = {:?}", wasm.display().to_string()),
        );
    assert!(
        manifest.contains(&wasm.display().to_string()),
        "the manifest names its source"
    );
    std::fs::write(dir.path().join("spin.toml"), manifest).unwrap();
    dir
}

/// Sets Acme up through `api` (API key, webhooks enabled, stage map, Ada linked).
pub(crate) async fn set_up_acme(api: &PartnerApi, sims: &lever_host::sim::Simulators) {
    api.ok(
        "POST",
        "/connections/acme/api-key",
        Some(json!({ "apiKey": DEFAULT_API_KEY })),
    )
    .await
    .unwrap();
    let installed = api
        .ok("POST", "/connections/acme/webhooks", None)
        .await
        .unwrap();
    assert_eq!(
        installed["webhooks"].as_array().unwrap().len(),
        lever_plugin::store::WEBHOOK_EVENTS.len()
    );
    sims.lever.enable_webhooks(ACME, &[]);
    api.ok("PUT", "/connections/acme/stage-map", Some(acme_stage_map()))
        .await
        .unwrap();
    api.ok(
        "PUT",
        "/connections/acme/candidates/cand-ada/link",
        Some(json!({ "opportunityId": ADA })),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn spin_runs_the_same_component_and_passes_a_signed_webhook_to_the_partner() {
    let Some(spin) = spin_bin() else {
        eprintln!("skipping: no Spin CLI (set SPIN_BIN or put `spin` on PATH)");
        return;
    };
    let sims = simulators(LeverSimOptions::default()).await;
    let dir = app_dir();
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let config = sims.connector_config(&public);
    let app = start_spin(&spin, dir.path(), &sims, &config, port, None).await;
    let api = PartnerApi::new(&app.url, partner::DEFAULT_API_KEY);
    set_up_acme(&api, &sims).await;
    let events = stage_change_reaches_partner(&sims, &public).await;
    assert_eq!(events.len(), 1);
    // Spin's key-value store kept the connection: its status reads back.
    let status = api.ok("GET", "/connections/acme", None).await.unwrap();
    assert_eq!(status["auth"], "api-key");
}

/// A `redis-server` on a free loopback port, stopped when dropped.
struct Redis {
    child: std::process::Child,
    url: String,
}

impl Redis {
    fn start() -> Option<Self> {
        let port = free_port();
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        // Ready when it accepts connections.
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Self {
                    child,
                    url: format!("redis://127.0.0.1:{port}"),
                });
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        None
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_spin_instances_on_one_redis_share_connections_claims_and_token_refreshes() {
    let Some(spin) = spin_bin() else {
        eprintln!("skipping: no Spin CLI (set SPIN_BIN or put `spin` on PATH)");
        return;
    };
    let Some(redis) = Redis::start() else {
        eprintln!("skipping: no redis-server (apt-get install redis-server)");
        return;
    };
    let sims = simulators(LeverSimOptions::default()).await;
    let dir = app_dir();
    let runtime_config = dir.path().join("runtime-config.toml");
    std::fs::write(
        &runtime_config,
        format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n",
            redis.url
        ),
    )
    .unwrap();
    let (port_a, port_b) = (free_port(), free_port());
    // Lever delivers to the first; both serve the partner.
    let config = sims.connector_config(&format!("http://127.0.0.1:{port_a}"));
    let a = start_spin(
        &spin,
        dir.path(),
        &sims,
        &config,
        port_a,
        Some(&runtime_config),
    )
    .await;
    let b = start_spin(
        &spin,
        dir.path(),
        &sims,
        &config,
        port_b,
        Some(&runtime_config),
    )
    .await;
    let api_a = PartnerApi::new(&a.url, partner::DEFAULT_API_KEY);
    let api_b = PartnerApi::new(&b.url, partner::DEFAULT_API_KEY);

    // Set up through one, served by the other.
    set_up_acme(&api_a, &sims).await;
    let status = api_b.ok("GET", "/connections/acme", None).await.unwrap();
    assert_eq!(status["auth"], "api-key");
    assert_eq!(status["mappedStages"].as_array().unwrap().len(), 3);

    // Concurrent replays of one delivery, spread over both instances: the partner hears once.
    let (forwarded, duplicates, answers) = replay_concurrently(&sims, &[&a.url, &b.url], 16).await;
    assert_eq!((forwarded, duplicates), (1, 15), "{answers:?}");
    assert_eq!(sims.partner.received().len(), 1);

    // An OAuth token about to expire, raced from both instances: one refresh.
    sims.lever.set_next_token_ttls(60, 1);
    let started = api_a
        .ok("POST", "/connections/globex/oauth/start", None)
        .await
        .unwrap();
    let authorize = started["authorizeUrl"].as_str().unwrap();
    let client = lever_host::http_util::HttpClient::default();
    let consent = client
        .get(&format!("{authorize}&account=acct-globex"), &[])
        .await
        .unwrap();
    let callback = client.get(&consent.headers["location"], &[]).await.unwrap();
    assert_eq!(callback.status, 200, "{}", callback.text());
    let calls = (0..8).map(|i| {
        let api = if i % 2 == 0 {
            api_a.clone()
        } else {
            api_b.clone()
        };
        async move {
            api.call("GET", "/connections/globex/lever/stages", None)
                .await
                .unwrap()
        }
    });
    for answer in futures::future::join_all(calls).await {
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    assert_eq!(sims.lever.refreshes(), (1, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn spin_runs_the_wasip3_build_through_the_same_flow() {
    let Some(spin) = spin_bin() else {
        eprintln!("skipping: no Spin CLI (set SPIN_BIN or put `spin` on PATH)");
        return;
    };
    let wasm = build_component("lever-plugin", &["p3"], "plugin-p3");
    let wasm = std::fs::read(wasm).unwrap();
    // Its HTTP face is the 0.3 handler, not the 0.2 incoming-handler.
    let names = |needle: &str| wasm.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(names("wasi:http/handler@0.3.0"));
    assert!(!names("wasi:http/incoming-handler@"));
    let sims = simulators(LeverSimOptions::default()).await;
    let dir = app_dir_for(&wasm);
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let config = sims.connector_config(&public);
    let app = start_spin(&spin, dir.path(), &sims, &config, port, None).await;
    let api = PartnerApi::new(&app.url, partner::DEFAULT_API_KEY);
    set_up_acme(&api, &sims).await;
    let (forwarded, duplicates, answers) = replay_concurrently(&sims, &[&app.url], 8).await;
    assert_eq!((forwarded, duplicates), (1, 7), "{answers:?}");
    let events = stage_change_reaches_partner(&sims, &public).await;
    assert_eq!(events.len(), 2);
    // Typed errors keep their statuses: a forged delivery is refused.
    let client = lever_host::http_util::HttpClient::default();
    let forged = client
        .post_json(
            &format!("{}/webhooks/lever/acme", app.url),
            &[],
            &json!({ "event": "candidateStageChange", "signature": "00", "token": "t", "triggeredAt": 1 }),
        )
        .await
        .unwrap();
    assert_eq!(forged.status, 401, "{}", forged.text());
}
