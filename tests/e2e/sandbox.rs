//! The sandbox holds against a misbehaving component (`tests/probe`, built here): one that
//! loops forever is stopped at its time limit, one that allocates without bound at its
//! memory limit, and a call to a host the deployment did not name is refused, each with a
//! clear error, while the host keeps serving other requests.

use std::path::Path;
use std::time::{Duration, Instant};

use lever_host::runtime::{Limits, Runtime};

use crate::harness::*;

/// Builds the probe component (a small crate of its own) and answers its bytes.
fn probe() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target_dir = root.join("target/probe");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--locked",
            "--release",
            "--target",
            "wasm32-wasip2",
        ])
        .arg("--manifest-path")
        .arg(root.join("tests/probe/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the probe component");
    std::fs::read(target_dir.join("wasm32-wasip2/release/sandbox_probe.wasm")).unwrap()
}

// One thread for the server, the clients and the looping component: the others are
// answered only because a running component yields its thread at every epoch tick.
#[tokio::test(flavor = "current_thread")]
async fn a_misbehaving_component_is_stopped_and_the_host_keeps_serving() {
    let limits = Limits {
        max_memory_bytes: 32 << 20,
        request_timeout: Duration::from_secs(5),
    };
    let runtime = Runtime::new(&probe(), limits).expect("the probe compiles and links");
    let world = World::bare_on(runtime, |_| {}).await;
    let url = world.served.url();
    let get = |path: &'static str| {
        let client = world.client.clone();
        let url = url.clone();
        async move { client.get(&format!("{url}{path}"), &[]).await.unwrap() }
    };

    // A request that never ends, and others sent meanwhile: they are answered while it
    // still runs, and it is stopped at its limit.
    let started = Instant::now();
    let looping = tokio::spawn(get("/loop"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let others: Vec<_> = (0..5).map(|_| tokio::spawn(get("/ok"))).collect();
    for other in others {
        let ok = other.await.unwrap();
        assert_eq!(ok.status, 200, "{}", ok.text());
    }
    assert!(
        !looping.is_finished(),
        "the others were answered only after the looping component was stopped ({:?})",
        started.elapsed()
    );
    let stopped = looping.await.unwrap();
    assert_eq!(stopped.status, 504, "{}", stopped.text());
    assert!(
        stopped.text().contains("time limit (5s)"),
        "{}",
        stopped.text()
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped at its limit"
    );

    let hoarder = get("/alloc").await;
    assert_eq!(hoarder.status, 500, "{}", hoarder.text());
    assert!(
        hoarder.text().contains("memory limit (32 MiB)"),
        "{}",
        hoarder.text()
    );

    let forbidden = get("/forbidden").await;
    assert_eq!(forbidden.status, 502, "{}", forbidden.text());
    assert!(
        forbidden.text().contains("HttpRequestDenied"),
        "{}",
        forbidden.text()
    );

    let ok = get("/ok").await;
    assert_eq!(ok.status, 200, "still serving");
}
