//! The same `.wasm` under the upstream `wasmtime serve` (`WASMTIME_BIN`, else `wasmtime` on
//! PATH), composed by `wac plug` (`WAC_BIN`, else `wac` on PATH) with our adapter component,
//! which provides the key-value and config drafts the connector imports on top of the
//! filesystem and environment that `wasmtime serve` has.

use lever_host::partner_api::PartnerApi;
use lever_host::sim::{partner, LeverSimOptions, Simulators};

use crate::harness::*;
use crate::spin::set_up_acme;
use crate::wasm_hosts::{
    build_component, free_port, replay_concurrently, stage_change_reaches_partner, tool,
    HostProcess,
};

/// The connector composed with the adapter, written into `dir`.
pub(crate) fn compose(wac: &std::path::Path, dir: &std::path::Path) -> std::path::PathBuf {
    let connector = dir.join("lever_plugin.wasm");
    std::fs::write(&connector, lever_host::COMPONENT).unwrap();
    let adapter = build_component("lever-serve-adapter", &[], "plugin");
    let composed = dir.join("lever-serve.wasm");
    let output = std::process::Command::new(wac)
        .arg("plug")
        .arg(&connector)
        .arg("--plug")
        .arg(&adapter)
        .arg("-o")
        .arg(&composed)
        .output()
        .expect("wac runs");
    assert!(
        output.status.success(),
        "wac plug: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    composed
}

/// `wasmtime serve` of `wasm` on `port`, its state in `state`, configured for the simulators
/// through `LEVER_CONNECTOR_*` variables (secrets inherited from the environment, not put
/// on the command line).
pub(crate) async fn start_serve(
    wasmtime: &std::path::Path,
    wasm: &std::path::Path,
    state: &std::path::Path,
    config: &std::collections::BTreeMap<String, String>,
    port: u16,
) -> HostProcess {
    const SECRETS: [&str; 4] = [
        "partner_webhook_secret",
        "partner_api_key",
        "encryption_key",
        "oauth_client_secret",
    ];
    let mut command = tokio::process::Command::new(wasmtime);
    command
        .args(["serve", "-Scli", "-Shttp", "--addr"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--dir")
        .arg(format!("{}::/state", state.display()));
    for (key, value) in config {
        let name = format!("LEVER_CONNECTOR_{}", key.to_ascii_uppercase());
        if SECRETS.contains(&key.as_str()) {
            command.arg("--env").arg(&name).env(&name, value);
        } else {
            command.arg("--env").arg(format!("{name}={value}"));
        }
    }
    command.arg(wasm);
    HostProcess::start(command, "wasmtime serve", "Serving HTTP on", port).await
}

struct Setup {
    wasmtime: std::path::PathBuf,
    dir: tempfile::TempDir,
    wasm: std::path::PathBuf,
    sims: Simulators,
}

async fn setup() -> Option<Setup> {
    let Some(wasmtime) = tool("WASMTIME_BIN", "wasmtime") else {
        eprintln!("skipping: no Wasmtime CLI (set WASMTIME_BIN or put `wasmtime` on PATH)");
        return None;
    };
    let Some(wac) = tool("WAC_BIN", "wac") else {
        eprintln!("skipping: no `wac` (cargo install wac-cli; or set WAC_BIN)");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let wasm = compose(&wac, dir.path());
    let sims = simulators(LeverSimOptions::default()).await;
    Some(Setup {
        wasmtime,
        dir,
        wasm,
        sims,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn wasmtime_serve_runs_the_composed_component_and_keeps_state_across_requests() {
    let Some(Setup {
        wasmtime,
        dir,
        wasm,
        sims,
    }) = setup().await
    else {
        return;
    };
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let config = sims.connector_config(&public);
    let served = start_serve(&wasmtime, &wasm, &state, &config, port).await;
    let api = PartnerApi::new(&served.url, partner::DEFAULT_API_KEY);

    // Every request is a fresh instance: what one stored, the next reads.
    set_up_acme(&api, &sims).await;
    // Concurrent replays of one delivery (instances running at once): one reaches the partner.
    let (forwarded, _, answers) = replay_concurrently(&sims, &[&served.url], 12).await;
    assert_eq!(forwarded, 1, "{answers:?}");
    assert_eq!(sims.partner.received().len(), 1);

    // A stage change in Lever, delivered and passed through to the partner.
    let events = stage_change_reaches_partner(&sims, &public).await;
    assert_eq!(events.len(), 2);

    // The state is files in the directory: a restarted server still has the connection.
    drop(served);
    let port = free_port();
    let served = start_serve(&wasmtime, &wasm, &state, &config, port).await;
    let api = PartnerApi::new(&served.url, partner::DEFAULT_API_KEY);
    let status = api.ok("GET", "/connections/acme", None).await.unwrap();
    assert_eq!(status["auth"], "api-key");
    assert_eq!(status["mappedStages"].as_array().unwrap().len(), 3);
    // Credentials are sealed at rest: the key is nowhere in the files.
    for entry in std::fs::read_dir(state.join("default")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(lever_host::sim::lever::DEFAULT_API_KEY));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wasmtime_serve_without_the_state_directory_answers_a_clear_error() {
    let Some(Setup {
        wasmtime,
        dir,
        wasm,
        sims,
    }) = setup().await
    else {
        return;
    };
    let port = free_port();
    let config = sims.connector_config(&format!("http://127.0.0.1:{port}"));
    let mut command = tokio::process::Command::new(&wasmtime);
    command
        .args(["serve", "-Scli", "-Shttp", "--addr"])
        .arg(format!("127.0.0.1:{port}"));
    for (key, value) in &config {
        command.arg("--env").arg(format!(
            "LEVER_CONNECTOR_{}={value}",
            key.to_ascii_uppercase()
        ));
    }
    command.arg(&wasm);
    let served = HostProcess::start(command, "wasmtime serve", "Serving HTTP on", port).await;
    let api = PartnerApi::new(&served.url, partner::DEFAULT_API_KEY);
    let answer = api.call("GET", "/connections/acme", None).await.unwrap();
    assert_eq!(answer.status, 500, "{}", answer.text());
    assert!(
        answer.text().contains("--dir ./state::/state"),
        "{}",
        answer.text()
    );
    drop(dir);
}
