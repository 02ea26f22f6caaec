//! The same component under a real Spin CLI (`SPIN_BIN`, else `spin` on PATH), with the
//! project's `spin.toml` and Spin's default key-value store (SQLite, beside the app), against
//! the bench's fast stub upstreams.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt as _, AsyncRead};

use crate::kv::KvStore;
use crate::sim::partner;

/// The Spin CLI to bench with (`SPIN_BIN`, else `spin` on PATH), or `None`, saying that the
/// Spin side is skipped.
pub fn find() -> Option<PathBuf> {
    let spin = super::tool("SPIN_BIN", "spin");
    if spin.is_none() {
        eprintln!(
            "bench: no Spin CLI (SPIN_BIN, or `spin` on PATH): the Spin side is skipped \
             (no e2e_spin_* figures)"
        );
    }
    spin
}

/// The settings `spin up` gets: the stub as Lever and the partner.
#[derive(Debug)]
pub struct SpinConfig<'a> {
    /// The stub's origin (`http://127.0.0.1:<port>`).
    pub stub: &'a str,
    /// The connector's configuration in the bench (encryption key, public URL...).
    pub config: &'a std::collections::BTreeMap<String, String>,
}

/// `spin up` serving the component; stopped (with what it started) when dropped.
#[derive(Debug)]
pub struct SpinApp {
    _child: super::ProcessGroup,
    port: u16,
    _dir: tempfile::TempDir,
}

/// Spin's key-value table, as its SQLite store creates it.
const SPIN_TABLE: &str = "CREATE TABLE IF NOT EXISTS spin_key_value (
    store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (store, key))";

/// Copies bucket `bucket` of `kv` into a Spin SQLite key-value database at `path` (store
/// `default`), so Spin starts with the connection the bench set up. Counters (keys ending in
/// `/n`, written by `atomics.increment`) are converted to the 8 little-endian bytes Spin's
/// store keeps them as.
pub fn export_state(kv: &KvStore, bucket: &str, path: &Path) -> anyhow::Result<usize> {
    let db = rusqlite::Connection::open(path)?;
    db.execute_batch(SPIN_TABLE)?;
    let tx = db.unchecked_transaction()?;
    let mut cursor: Option<String> = None;
    let mut copied = 0;
    loop {
        let (keys, next) = kv
            .list_keys(bucket, cursor.as_deref())
            .map_err(anyhow::Error::msg)?;
        for key in &keys {
            let Some(mut value) = kv.get(bucket, key).map_err(anyhow::Error::msg)? else {
                continue;
            };
            if key.ends_with("/n") {
                let n: i64 = std::str::from_utf8(&value)?
                    .trim()
                    .parse()
                    .with_context(|| format!("counter {key}"))?;
                value = n.to_le_bytes().to_vec();
            }
            tx.execute(
                "INSERT INTO spin_key_value (store, key, value) VALUES ('default', ?1, ?2)",
                rusqlite::params![key, value],
            )?;
            copied += 1;
        }
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    tx.commit()?;
    Ok(copied)
}

/// Where a Spin app keeps its `default` store.
#[derive(Debug)]
pub enum SpinStore<'a> {
    /// Spin's default SQLite store, filled from bucket `.1` of `.0` first.
    Sqlite(&'a KvStore, &'a str),
    /// A Redis server (its URL), through a runtime configuration file.
    Redis(&'a str),
}

impl SpinApp {
    /// Starts `spin` with the repository's `spin.toml` pointing at `wasm`, its `default`
    /// store as `store` says, configured by `settings`.
    pub async fn start(
        spin: &Path,
        wasm: &[u8],
        store: SpinStore<'_>,
        settings: &SpinConfig<'_>,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let component = dir.path().join("lever_plugin.wasm");
        std::fs::write(&component, wasm)?;
        let manifest = include_str!("../../../../spin.toml").replace(
            "source = \"target/wasm32-wasip2/component/lever_plugin.wasm\"",
            &format!("source = {:?}", component.display().to_string()),
        );
        anyhow::ensure!(
            manifest.contains(&component.display().to_string()),
            "spin.toml no longer names its source as the bench expects"
        );
        std::fs::write(dir.path().join("spin.toml"), manifest)?;
        let state = dir.path().join(".spin");
        std::fs::create_dir_all(&state)?;
        let runtime_config = match store {
            SpinStore::Sqlite(kv, bucket) => {
                export_state(kv, bucket, &state.join("sqlite_key_value.db"))?;
                None
            }
            SpinStore::Redis(url) => {
                let path = dir.path().join("runtime-config.toml");
                std::fs::write(
                    &path,
                    format!("[key_value_store.default]\ntype = \"redis\"\nurl = {url:?}\n"),
                )?;
                Some(path)
            }
        };

        let port = super::loopback_port()?;
        let config = settings.config;
        let mut command = tokio::process::Command::new(spin);
        command
            .current_dir(dir.path())
            .args(["up", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--from", "spin.toml", "--state-dir", ".spin"]);
        if let Some(path) = &runtime_config {
            command.arg("--runtime-config-file").arg(path);
        }
        let variables = [
            ("lever_api_base", format!("{}/v1", settings.stub)),
            ("lever_auth_base", settings.stub.to_string()),
            ("lever_api_origin", settings.stub.to_string()),
            ("lever_auth_origin", settings.stub.to_string()),
            ("partner_origin", settings.stub.to_string()),
            ("partner_callback_url", format!("{}/hooks", settings.stub)),
            ("public_base_url", config["public_base_url"].clone()),
            // The stub has no rate limit, as in the other sides' runs.
            ("lever_rate_per_sec", "1000000".to_string()),
        ];
        for (key, value) in variables {
            command.args(["--variable", &format!("{key}={value}")]);
        }
        command
            .env(
                "SPIN_VARIABLE_PARTNER_WEBHOOK_SECRET",
                partner::DEFAULT_SECRET,
            )
            .env("SPIN_VARIABLE_PARTNER_API_KEY", partner::DEFAULT_API_KEY)
            .env("SPIN_VARIABLE_ENCRYPTION_KEY", &config["encryption_key"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = super::ProcessGroup::spawn(command).context("starting spin")?;
        let (ready_tx, mut ready) = tokio::sync::mpsc::channel(2);
        watch(
            child.0.stdout.take().context("spin's stdout")?,
            ready_tx.clone(),
        );
        watch(child.0.stderr.take().context("spin's stderr")?, ready_tx);
        let app = Self {
            _child: child,
            port,
            _dir: dir,
        };
        tokio::time::timeout(Duration::from_secs(120), ready.recv())
            .await
            .context("spin did not start serving")?
            .context("spin exited")?;
        Ok(app)
    }

    /// Where it serves.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Reads `stream` to its end (printing lines that report an error), and sends on `ready`
/// once a line says Spin is serving.
fn watch(stream: impl AsyncRead + Unpin + Send + 'static, ready: tokio::sync::mpsc::Sender<()>) {
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("Serving http://") {
                let _ = ready.try_send(());
            } else if line.to_ascii_lowercase().contains("error") {
                eprintln!("spin: {line}");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exported_state_has_spins_table_and_counters_in_its_form() {
        let kv = KvStore::in_memory().unwrap();
        kv.set("default", "conn/acme/auth", b"{}").unwrap();
        kv.increment("default", "conn/acme/logs/n", 258).unwrap();
        kv.set("other", "x", b"1").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        assert_eq!(export_state(&kv, "default", &path).unwrap(), 2);
        let db = rusqlite::Connection::open(&path).unwrap();
        let counter: Vec<u8> = db
            .query_row(
                "SELECT value FROM spin_key_value WHERE store = 'default' AND key = ?1",
                ["conn/acme/logs/n"],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(counter, 258i64.to_le_bytes());
    }
}
