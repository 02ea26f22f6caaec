//! A Node.js platform embedding the typed face: `examples/node` transpiles the same `.wasm`
//! with jco (pinned in its package-lock.json), provides keyvalue and config in JavaScript,
//! sets a connection up, links a candidate and serves Lever's deliveries to
//! `webhooks.handle-lever-webhook`. Needs `node` and `npm ci` in `examples/node` (CI does
//! both); skipped, saying so, otherwise.

use std::path::Path;
use std::process::Stdio;

use lever_host::sim::lever::{ACME, DEFAULT_API_KEY};
use lever_host::sim::LeverSimOptions;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::harness::*;
use crate::wasm_hosts::{stage_change_reaches_partner, tool};

/// `npm ci` replaces `node_modules`, which the TypeScript check also runs jco from.
static NODE_MODULES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn example_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/node"))
}

/// `node`, if it is there and the example's packages are installed; otherwise says why the
/// test is skipped.
fn node_with_jco() -> Option<std::path::PathBuf> {
    let Some(node) = tool("NODE_BIN", "node") else {
        eprintln!("skipping: no `node` on PATH");
        return None;
    };
    if !example_dir()
        .join("node_modules/@bytecodealliance/jco")
        .is_dir()
    {
        eprintln!("skipping: run `npm ci` in examples/node first");
        return None;
    }
    Some(node)
}

/// Stops a process group when dropped (also when the test fails).
struct KillGroup(u32);

impl Drop for KillGroup {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0)])
            .status();
    }
}

/// The README's Node.js command (its "Where it runs" row), exactly as a user copies it.
fn readme_command() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let row = readme
        .lines()
        .find(|l| l.starts_with("| Node.js (jco) |"))
        .expect("the README's hosts table has a Node.js row");
    let command = row.split('`').nth(1).expect("the row gives a command");
    assert!(
        command.starts_with("cd examples/node && npm ci && npm run transpile && node embed.mjs"),
        "{command}"
    );
    command.to_string()
}

/// Puts the component where `cargo plugin` builds it, which is where the example's
/// `transpile` script reads it (the same package, target and profile as the embedded one).
fn place_component() {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/wasm32-wasip2/component"
    ));
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("lever_plugin.wasm");
    if std::fs::read(&path).ok().as_deref() != Some(lever_host::COMPONENT) {
        let staged = dir.join(format!("lever_plugin.wasm.{}", std::process::id()));
        std::fs::write(&staged, lever_host::COMPONENT).unwrap();
        std::fs::rename(&staged, &path).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_platform_embeds_the_typed_face_and_passes_a_webhook_through() {
    let Some(node) = node_with_jco() else {
        return;
    };
    let _node_modules = NODE_MODULES.lock().await;
    place_component();
    let sims = simulators(LeverSimOptions::default()).await;
    // The README's line, run by a shell from the repository root as a user would (`npm ci`,
    // the package's own `transpile` script, then the example), with `node` first on PATH.
    let mut command = tokio::process::Command::new("sh");
    let path = std::env::join_paths(std::iter::once(node.parent().unwrap().to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("-c")
        .arg(readme_command())
        .env("PATH", path)
        .env("npm_config_loglevel", "error")
        .env("CONNECTION", "acme")
        .env("LEVER_API_KEY", DEFAULT_API_KEY)
        .env("STAGE_MAP", acme_stage_map().to_string())
        .env("LINK", json!({ "cand-ada": ADA }).to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        // Its own process group: the shell's children (npm, node) are stopped with it.
        .process_group(0)
        .kill_on_drop(true);
    for (key, value) in sims.connector_config("http://unset.invalid") {
        command.env(
            format!("LEVER_CONNECTOR_{}", key.to_ascii_uppercase()),
            value,
        );
    }
    let mut child = command.spawn().expect("node starts");
    let _group = KillGroup(child.id().expect("running"));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // npm prints its own lines first; the example prints one JSON object per line. The first
    // waits for `npm ci` and the transpile as well.
    let mut first = true;
    let mut next = async || -> Value {
        let wait = if std::mem::take(&mut first) {
            std::time::Duration::from_secs(300)
        } else {
            WAIT
        };
        loop {
            let line = tokio::time::timeout(wait, lines.next_line())
                .await
                .expect("node printed in time")
                .unwrap()
                .expect("node is still running");
            if line.starts_with('{') {
                break serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            }
            eprintln!("{line}");
        }
    };

    // A wrong key: Lever refuses it and JavaScript gets the typed error.
    let wrong = next().await;
    assert_eq!(wrong["wrongKey"]["tag"], "unauthorized", "{wrong}");

    let ready = next().await;
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(ready["auth"], "api-key");
    assert_eq!(ready["mappedStages"], 3);
    let stages: Vec<&str> = ready["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(stages.contains(&"Phone interview"), "{stages:?}");
    let installed = ready["webhooks"].as_array().unwrap();
    assert_eq!(installed.len(), lever_plugin::store::WEBHOOK_EVENTS.len());
    assert!(installed.contains(&json!("candidateStageChange created")));

    // Lever delivers to the platform's server; the component forwards it to the partner.
    sims.lever.enable_webhooks(ACME, &[]);
    let url = ready["url"].as_str().unwrap();
    let events = stage_change_reaches_partner(&sims, url).await;
    assert_eq!(events.len(), 1);
    let receipt = next().await;
    assert_eq!(receipt["receipt"]["connection"], "acme", "{receipt}");
    assert_eq!(receipt["receipt"]["outcome"]["tag"], "forwarded");
    assert_eq!(
        receipt["receipt"]["outcome"]["val"]["partnerCandidateId"],
        "cand-ada"
    );
    let _ = child.start_kill();
}

#[test]
fn the_typescript_docs_are_what_jco_types_makes_of_the_wit() {
    let Some(node) = node_with_jco() else {
        return;
    };
    let _node_modules = NODE_MODULES.blocking_lock();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(&node)
        .current_dir(root)
        .arg(example_dir().join("node_modules/@bytecodealliance/jco/dist/jco.js"))
        .args(["types", "wit", "--world-name", "embedder", "-q", "-o"])
        .arg(out.path())
        .status()
        .expect("node runs jco");
    assert!(status.success());
    let checked_in = root.join("docs/typescript");
    let mut compared = 0;
    for entry in walk(out.path()) {
        let relative = entry.strip_prefix(out.path()).unwrap();
        let fresh = std::fs::read_to_string(&entry).unwrap();
        let kept = std::fs::read_to_string(checked_in.join(relative)).unwrap_or_default();
        assert!(
            fresh == kept,
            "docs/typescript/{} is stale: run `npm run types` in examples/node",
            relative.display()
        );
        compared += 1;
    }
    assert_eq!(
        compared,
        walk(&checked_in).len(),
        "extra files in docs/typescript"
    );
    assert!(compared >= 7);
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
