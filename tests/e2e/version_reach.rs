//! WASI version reach: the component imports `wasi:http@0.2.12`; each host it is tested on
//! vendors its own 0.2 patches. This states which patches each host names and shows the
//! same component linking and answering there.

use crate::harness::*;
use crate::wasm_hosts::{free_port, tool, wasi_http_patches, HostProcess};

/// The wasi:http patch the component imports.
fn imported_patch() -> u32 {
    let imports = runtime().imports();
    let http: Vec<_> = imports
        .iter()
        .filter_map(|i| i.strip_prefix("wasi:http/outgoing-handler@0.2."))
        .collect();
    assert_eq!(http.len(), 1, "{imports:?}");
    http[0].parse().unwrap()
}

async fn health(served: &HostProcess) -> u16 {
    let client = lever_host::http_util::HttpClient::default();
    client
        .get(&format!("{}/health", served.url), &[])
        .await
        .unwrap()
        .status
}

fn report(host: &str, patches: &std::collections::BTreeSet<u32>, imported: u32) {
    let list: Vec<String> = patches.iter().map(|p| format!("0.2.{p}")).collect();
    println!(
        "version reach: {host} names wasi:http {}; the component imports 0.2.{imported} and links",
        list.join(", ")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn each_tested_host_names_its_wasi_http_patches_and_links_the_component() {
    let imported = imported_patch();
    assert_eq!(
        imported, 12,
        "the component's wasi:http patch changed; update the README"
    );

    // lever-host: wasmtime-wasi-http, linked into this very test binary.
    let own = wasi_http_patches(&std::env::current_exe().unwrap());
    assert!(own.contains(&imported), "lever-host names {own:?}");
    let world = World::bare().await;
    let answer = world
        .client
        .get(&format!("{}/health", world.served.url()), &[])
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    report("lever-host", &own, imported);

    let sims = &world.sims;
    if let Some(spin) = crate::spin::spin_bin() {
        let dir = crate::spin::app_dir();
        let port = free_port();
        let config = sims.connector_config(&format!("http://127.0.0.1:{port}"));
        let served = crate::spin::start_spin(&spin, dir.path(), sims, &config, port, None).await;
        let patches = wasi_http_patches(&served.executable());
        assert!(!patches.is_empty(), "Spin names no wasi:http 0.2 patch");
        assert_eq!(health(&served).await, 200);
        report("Spin", &patches, imported);
    } else {
        println!("version reach: Spin skipped (no SPIN_BIN, no `spin` on PATH)");
    }

    match (tool("WASMTIME_BIN", "wasmtime"), tool("WAC_BIN", "wac")) {
        (Some(wasmtime), Some(wac)) => {
            let dir = tempfile::tempdir().unwrap();
            let wasm = crate::wasmtime_serve::compose(&wac, dir.path());
            let state = dir.path().join("state");
            std::fs::create_dir(&state).unwrap();
            let port = free_port();
            let config = sims.connector_config(&format!("http://127.0.0.1:{port}"));
            let served =
                crate::wasmtime_serve::start_serve(&wasmtime, &wasm, &state, &config, port).await;
            let patches = wasi_http_patches(&served.executable());
            assert!(!patches.is_empty(), "wasmtime names no wasi:http 0.2 patch");
            assert_eq!(health(&served).await, 200);
            report("wasmtime serve", &patches, imported);
        }
        _ => println!(
            "version reach: wasmtime serve skipped (needs WASMTIME_BIN/wasmtime and WAC_BIN/wac)"
        ),
    }
}
