//! The same `.wasm` under a real Spin CLI (`SPIN_BIN`, else `spin` on PATH): a connection set
//! up through the partner API, and a Lever stage change passed through to the partner.

use std::process::Stdio;

use lever_host::partner_api::PartnerApi;
use lever_host::sim::lever::{ACME, DEFAULT_API_KEY};
use lever_host::sim::{partner, LeverSimOptions};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::harness::*;

/// The Spin CLI to test with, or `None` (the test is then skipped, saying so).
fn spin_bin() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("SPIN_BIN") {
        return Some(path.into());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("spin"))
            .find(|candidate| candidate.is_file())
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn spin_runs_the_same_component_and_passes_a_signed_webhook_to_the_partner() {
    let Some(spin) = spin_bin() else {
        eprintln!("skipping: no Spin CLI (set SPIN_BIN or put `spin` on PATH)");
        return;
    };
    let sims = simulators(LeverSimOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("lever_plugin.wasm");
    std::fs::write(&wasm, lever_host::COMPONENT).unwrap();
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
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let public = format!("http://127.0.0.1:{port}");
    let lever_origin = format!("http://{}", sims.lever_addr);
    let partner_origin = format!("http://{}", sims.partner_addr);
    let config = sims.connector_config(&public);
    let mut command = tokio::process::Command::new(&spin);
    command
        .current_dir(dir.path())
        .args([
            "up",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--from",
            "spin.toml",
        ])
        .args([
            "--variable",
            &format!("lever_api_base={}", config["lever_api_base"]),
        ])
        .args([
            "--variable",
            &format!("lever_auth_base={}", config["lever_auth_base"]),
        ])
        .args(["--variable", &format!("lever_api_origin={lever_origin}")])
        .args(["--variable", &format!("lever_auth_origin={lever_origin}")])
        .args(["--variable", &format!("partner_origin={partner_origin}")])
        .args([
            "--variable",
            &format!("partner_callback_url={}", config["partner_callback_url"]),
        ])
        .args(["--variable", &format!("public_base_url={public}")])
        .args([
            "--variable",
            &format!("oauth_client_id={}", config["oauth_client_id"]),
        ])
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
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("spin starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(std::time::Duration::from_secs(120), async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if line.contains("Serving http://") {
                return true;
            }
        }
        false
    })
    .await;
    if !matches!(ready, Ok(true)) {
        let _ = child.start_kill();
        let output = child.wait_with_output().await.unwrap();
        panic!(
            "spin did not start: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let api = PartnerApi::new(&public, partner::DEFAULT_API_KEY);
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
    assert_eq!(installed["webhooks"].as_array().unwrap().len(), 7);
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
    let mut deliveries = sims.lever.subscribe();
    sims.lever.move_stage(ADA, PHONE);
    let delivery = tokio::time::timeout(WAIT, deliveries.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivery.status, Some(200), "{}", delivery.response);
    assert_eq!(delivery.url, format!("{public}/webhooks/lever/acme"));
    let events: Vec<_> = sims
        .partner
        .received()
        .into_iter()
        .filter(|e| e.verified)
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].body["connectionId"], "acme");
    assert_eq!(events[0].body["data"]["stage"], "interviewing");
    // Spin's key-value store kept the connection: its status reads back.
    let status = api.ok("GET", "/connections/acme", None).await.unwrap();
    assert_eq!(status["auth"], "api-key");
    let _ = child.start_kill();
}
