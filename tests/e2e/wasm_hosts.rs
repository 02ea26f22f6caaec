//! Running the component under other wasm hosts' CLIs (Spin, `wasmtime serve`): finding the
//! binary, a free loopback port, and a served process that is killed when dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use lever_host::sim::Simulators;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use crate::harness::{stage_change_delivery, ADA, ONSITE, PHONE};

/// The CLI named by `env_var`, else `name` on PATH, else `None` (the test then says it is
/// skipped).
pub fn tool(env_var: &str, name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var) {
        return Some(path.into());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

pub fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// A host process serving the component; killed when dropped.
pub struct HostProcess {
    child: tokio::process::Child,
    pub url: String,
}

/// Forwards every line of `stream` to the test's output, prefixed with `label`, and sends
/// `true` on `ready` once a line contains `marker`.
fn drain(
    stream: impl AsyncRead + Unpin + Send + 'static,
    label: &'static str,
    marker: &'static str,
    ready: tokio::sync::mpsc::Sender<()>,
) {
    // Keep reading to the end: a closed or full pipe would make the host's next print fail.
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains(marker) {
                let _ = ready.try_send(());
            }
            eprintln!("{label}: {line}");
        }
    });
}

impl HostProcess {
    /// Spawns `command` and waits until it prints `marker` (on stdout or stderr); `port` is
    /// where it listens on 127.0.0.1.
    pub async fn start(
        mut command: tokio::process::Command,
        label: &'static str,
        marker: &'static str,
        port: u16,
    ) -> Self {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so stopping it stops what it starts too (`spin up`
            // runs the server as a child process, which outlives a killed parent).
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{label} starts: {e}"));
        let (ready_tx, mut ready) = tokio::sync::mpsc::channel(2);
        drain(
            child.stdout.take().unwrap(),
            label,
            marker,
            ready_tx.clone(),
        );
        drain(child.stderr.take().unwrap(), label, marker, ready_tx);
        let started = tokio::time::timeout(Duration::from_secs(120), ready.recv()).await;
        if !matches!(started, Ok(Some(()))) {
            let _ = child.start_kill();
            panic!("{label} did not start serving (its output is above)");
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl HostProcess {
    /// The executable the host process runs (wrapper scripts `exec` the real binary).
    pub fn executable(&self) -> PathBuf {
        let pid = self.child.id().expect("still running");
        std::fs::read_link(format!("/proc/{pid}/exe")).expect("the process's executable")
    }
}

/// The `wasi:http` 0.2 patch versions an executable names (the WIT interfaces it was built
/// to provide), read from the strings in its binary (two digits at most: string tables run
/// names together).
pub fn wasi_http_patches(executable: &Path) -> std::collections::BTreeSet<u32> {
    let bytes = std::fs::read(executable).expect("the executable reads");
    let needle = b"wasi:http/outgoing-handler@0.2.";
    let mut patches = std::collections::BTreeSet::new();
    let mut rest = &bytes[..];
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        let digits: Vec<u8> = rest[at + needle.len()..]
            .iter()
            .take(2)
            .take_while(|b| b.is_ascii_digit())
            .copied()
            .collect();
        if let Ok(patch) = String::from_utf8(digits).unwrap().parse() {
            patches.insert(patch);
        }
        rest = &rest[at + needle.len()..];
    }
    patches
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.start_kill();
    }
}

/// Builds a workspace package for wasm32-wasip2 with the `component` profile and `features`
/// (in `target/{target_dir}`, beside the host build script's `target/plugin`) and answers the
/// `.wasm`'s path.
pub fn build_component(package: &str, features: &[&str], target_dir: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target_dir = root.join("target").join(target_dir);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command
        .current_dir(root)
        .args([
            "build",
            "--locked",
            "--package",
            package,
            "--profile",
            "component",
        ])
        .args(["--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    if !features.is_empty() {
        command.args(["--features", &features.join(",")]);
    }
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "building {package} for wasm32-wasip2");
    target_dir
        .join("wasm32-wasip2/component")
        .join(format!("{}.wasm", package.replace('-', "_")))
}

/// Moves Ada to the phone screen in Lever; checks the host at `public` took the delivery and
/// answers the verified events the partner has received so far.
pub async fn stage_change_reaches_partner(
    sims: &Simulators,
    public: &str,
) -> Vec<lever_host::sim::partner::ReceivedEvent> {
    let mut deliveries = sims.lever.subscribe();
    sims.lever.move_stage(ADA, PHONE);
    let delivery = stage_change_delivery(&mut deliveries, ADA, PHONE).await;
    assert_eq!(delivery.status, Some(200), "{}", delivery.response);
    assert_eq!(delivery.url, format!("{public}/webhooks/lever/acme"));
    let events: Vec<_> = sims
        .partner
        .received()
        .into_iter()
        .filter(|e| e.verified)
        .collect();
    let last = events
        .last()
        .expect("the partner received the stage change");
    assert_eq!(last.body["connectionId"], "acme");
    assert_eq!(last.body["data"]["stage"], "interviewing");
    events
}

/// Posts one signed Acme delivery (Ada to onsite) `copies` times at once, spread over the
/// hosts at `urls` in turn; answers how many were forwarded and how many were duplicates,
/// with every answer's text.
pub async fn replay_concurrently(
    sims: &Simulators,
    urls: &[&str],
    copies: usize,
) -> (usize, usize, Vec<String>) {
    let token = sims
        .lever
        .signature_token(lever_host::sim::lever::ACME, "candidateStageChange")
        .unwrap();
    let delivery = lever_host::signing::lever_delivery(
        &token,
        "candidateStageChange",
        serde_json::json!({ "opportunityId": ADA, "toStageId": ONSITE }),
        lever_host::http_util::now_ms(),
        &lever_host::signing::random_token(48),
    );
    let client = lever_host::http_util::HttpClient::default();
    let posts = (0..copies).map(|i| {
        let url = format!("{}/webhooks/lever/acme", urls[i % urls.len()]);
        let (client, delivery) = (client.clone(), delivery.clone());
        async move { client.post_json(&url, &[], &delivery).await.unwrap() }
    });
    let answers = futures::future::join_all(posts).await;
    let count = |field: &str| {
        answers
            .iter()
            .filter(|r| r.json().get(field).is_some())
            .count()
    };
    (
        count("forwarded"),
        count("duplicate"),
        answers.iter().map(|r| r.text()).collect(),
    )
}
