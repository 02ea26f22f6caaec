//! `lever-host serve` configuration: a TOML file plus `LEVER_CONNECTOR_<KEY>` environment
//! variables (the place for secrets).
//!
//! ```toml
//! [host]
//! listen = "127.0.0.1:8080"               # optional
//! kv_path = "lever-connector.sqlite"      # optional; ":memory:" keeps nothing
//! kv_buckets = ["default"]                # optional
//! allowed_outbound_hosts = []             # optional, beyond the hosts of the URLs below
//! request_timeout_secs = 30               # optional
//! max_memory_mib = 64                     # optional
//! reconcile_interval_secs = 300           # optional; 0 turns periodic reconciliation off
//! tick_interval_secs = 2                  # optional; how often the outbox is retried (0: never)
//! outbound_timeout_secs = 30              # optional; the longest wait for Lever or the partner to answer
//!
//! [connector]                             # handed to the component through wasi:config
//! lever_environment = "production"        # or "sandbox"
//! public_base_url = "https://lever.partner.example"
//! oauth_client_id = "..."
//! partner_callback_url = "https://partner.example/hooks/lever"
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use serde::Deserialize;

use crate::outbound::authority_of;
use crate::runtime::Limits;

/// The environment prefix for connector keys: `LEVER_CONNECTOR_LEVER_API_KEY` sets
/// `lever_api_key`.
pub const ENV_PREFIX: &str = "LEVER_CONNECTOR_";

/// The connector configuration as the component's `Config` trait sees it, so the host
/// derives the outbound hosts with the component's own parsing.
struct MapConfig<'a>(&'a BTreeMap<String, String>);

impl lever_plugin::io::Config for MapConfig<'_> {
    fn get(&self, key: &str) -> Result<Option<String>, lever_plugin::io::BackendError> {
        Ok(self.0.get(key).filter(|v| !v.trim().is_empty()).cloned())
    }
}

/// The `host:port` authorities the component's configuration makes it call: the API and
/// OAuth hosts of both Lever environments a connection may use (production and sandbox;
/// each connection's calls go to its own environment's only) and the partner's callback
/// host.
pub fn outbound_authorities(
    connector: &BTreeMap<String, String>,
) -> anyhow::Result<BTreeSet<String>> {
    let config = MapConfig(connector);
    let environments = lever_plugin::config::lever_environments(&config)
        .map_err(|e| anyhow::anyhow!("[connector] {e}"))?;
    let mut urls: Vec<String> = environments
        .iter()
        .flat_map(|lever| {
            [
                lever.api_base.to_string(),
                lever.authorize_url.to_string(),
                lever.token_url.to_string(),
            ]
        })
        .collect();
    if let Some(partner) = connector.get("partner_callback_url") {
        urls.push(partner.clone());
    }
    let mut allowed = BTreeSet::new();
    for raw in urls {
        let url: url::Url = raw
            .parse()
            .with_context(|| format!("[connector] {raw} is not a URL"))?;
        allowed
            .insert(authority_of(&url).with_context(|| format!("[connector] {raw} has no host"))?);
    }
    Ok(allowed)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    host: HostSection,
    #[serde(default)]
    connector: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostSection {
    listen: Option<SocketAddr>,
    kv_path: Option<String>,
    kv_buckets: Option<Vec<String>>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    request_timeout_secs: Option<u64>,
    max_memory_mib: Option<usize>,
    reconcile_interval_secs: Option<u64>,
    tick_interval_secs: Option<u64>,
    outbound_timeout_secs: Option<u64>,
}

/// Where the key-value data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvLocation {
    /// An SQLite file.
    File(PathBuf),
    /// Memory only.
    Memory,
}

/// Everything `serve` needs, parsed.
#[derive(Clone)]
pub struct Settings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Key-value storage.
    pub kv: KvLocation,
    /// Buckets the component may open.
    pub buckets: BTreeSet<String>,
    /// `host:port` authorities the component may call.
    pub allowed_outbound: BTreeSet<String>,
    /// Instance limits.
    pub limits: Limits,
    /// How often `serve` reconciles every connection (`None`: never).
    pub reconcile_every: Option<Duration>,
    /// How often `serve` retries what is due in the outbox (`None`: never).
    pub tick_every: Option<Duration>,
    /// The longest wait for an outbound response head (`None`: what the guest asks, 30 s).
    pub outbound_timeout: Option<Duration>,
    /// Values handed to the component through `wasi:config`.
    pub connector: BTreeMap<String, String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("kv", &self.kv)
            .field("buckets", &self.buckets)
            .field("allowed_outbound", &self.allowed_outbound)
            .field("limits", &self.limits)
            .field("reconcile_every", &self.reconcile_every)
            .field("tick_every", &self.tick_every)
            .field("outbound_timeout", &self.outbound_timeout)
            .field("connector", &redacted(&self.connector))
            .finish()
    }
}

/// Whether a connector key holds a secret (its value is never logged or printed).
pub fn is_secret_key(key: &str) -> bool {
    ["key", "secret", "token", "password"]
        .iter()
        .any(|word| key.split('_').any(|part| part == *word))
}

/// The connector values with every secret replaced, for logs.
pub fn redacted(values: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|(k, v)| {
            let shown = if is_secret_key(k) {
                "<redacted>".to_string()
            } else {
                v.clone()
            };
            (k.clone(), shown)
        })
        .collect()
}

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

impl Settings {
    /// Reads `path` and the environment.
    pub fn load(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base, env).with_context(|| format!("in {}", path.display()))
    }

    /// Parses a configuration text; relative paths are taken from `base`.
    pub fn parse(
        text: &str,
        base: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let file: File = toml::from_str(text)?;
        let mut connector = BTreeMap::new();
        for (key, value) in file.connector {
            let value = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => bail!(
                    "[connector] {key}: expected a string, found {}",
                    other.type_str()
                ),
            };
            connector.insert(key, value);
        }
        for (name, value) in env {
            if let Some(key) = name.strip_prefix(ENV_PREFIX) {
                connector.insert(key.to_ascii_lowercase(), value);
            }
        }
        Self::build(file.host, connector, base)
    }

    fn build(
        host: HostSection,
        connector: BTreeMap<String, String>,
        base: &Path,
    ) -> anyhow::Result<Self> {
        let mut allowed_outbound = outbound_authorities(&connector)?;
        for entry in host.allowed_outbound_hosts {
            let authority = if entry.contains("://") {
                authority_of(&entry.parse()?)
            } else if entry.contains(':') {
                Some(entry.to_ascii_lowercase())
            } else {
                Some(format!("{}:443", entry.to_ascii_lowercase()))
            };
            allowed_outbound
                .insert(authority.with_context(|| format!("allowed_outbound_hosts: {entry}"))?);
        }
        let kv = match host.kv_path.as_deref() {
            Some(":memory:") => KvLocation::Memory,
            Some(path) => KvLocation::File(base.join(path)),
            None => KvLocation::File(base.join("lever-connector.sqlite")),
        };
        let mut limits = Limits::default();
        if let Some(secs) = host.request_timeout_secs {
            limits.request_timeout = Duration::from_secs(secs.max(1));
        }
        if let Some(mib) = host.max_memory_mib {
            limits.max_memory_bytes = mib.max(1) << 20;
        }
        Ok(Self {
            listen: host
                .listen
                .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default address")),
            kv,
            buckets: host
                .kv_buckets
                .unwrap_or_else(|| vec!["default".into()])
                .into_iter()
                .collect(),
            allowed_outbound,
            limits,
            reconcile_every: match host.reconcile_interval_secs {
                Some(0) => None,
                Some(secs) => Some(Duration::from_secs(secs)),
                None => Some(Duration::from_secs(300)),
            },
            tick_every: match host.tick_interval_secs {
                Some(0) => None,
                Some(secs) => Some(Duration::from_secs(secs)),
                None => Some(Duration::from_secs(2)),
            },
            outbound_timeout: host
                .outbound_timeout_secs
                .filter(|secs| *secs > 0)
                .map(Duration::from_secs),
            connector,
        })
    }

    /// Settings for an in-process connector (demo, tests): memory storage, the given values,
    /// outbound allowed to the hosts of their URLs.
    pub fn in_process(connector: BTreeMap<String, String>) -> anyhow::Result<Self> {
        let host = HostSection {
            listen: Some("127.0.0.1:0".parse()?),
            kv_path: Some(":memory:".into()),
            ..HostSection::default()
        };
        Self::build(host, connector, Path::new("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
        [host]
        listen = "127.0.0.1:9000"
        kv_path = "data/kv.sqlite"
        allowed_outbound_hosts = ["auth.lever.co"]

        [connector]
        lever_environment = "sandbox"
        partner_callback_url = "http://127.0.0.1:7000/hooks"
        oauth_client_secret = "planted-secret-key"
    "#;

    #[test]
    fn file_and_environment_are_merged_and_hosts_derived() {
        let settings = Settings::parse(
            FILE,
            Path::new("/etc/lever"),
            [
                (
                    "LEVER_CONNECTOR_PARTNER_WEBHOOK_SECRET".to_string(),
                    "whsec_eA==".to_string(),
                ),
                ("UNRELATED".to_string(), "x".to_string()),
            ],
        )
        .unwrap();
        assert_eq!(settings.listen.port(), 9000);
        assert_eq!(
            settings.kv,
            KvLocation::File("/etc/lever/data/kv.sqlite".into())
        );
        assert_eq!(settings.connector["partner_webhook_secret"], "whsec_eA==");
        assert!(!settings.connector.contains_key("unrelated"));
        let allowed: Vec<&str> = settings
            .allowed_outbound
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(
            allowed,
            [
                "127.0.0.1:7000",
                "api.lever.co:443",
                "api.sandbox.lever.co:443",
                "auth.lever.co:443",
                "sandbox-lever.auth0.com:443"
            ]
        );
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let settings = Settings::parse(FILE, Path::new("."), []).unwrap();
        let printed = format!("{settings:?}");
        assert!(!printed.contains("planted-secret-key"), "{printed}");
        assert!(printed.contains("api.sandbox.lever.co"));
        assert!(is_secret_key("encryption_key"));
        assert!(is_secret_key("partner_api_key"));
        assert!(is_secret_key("oauth_client_secret"));
        assert!(is_secret_key("partner_webhook_secret"));
        assert!(!is_secret_key("lever_api_base"));
    }

    #[test]
    fn the_example_configuration_parses_and_names_the_simulator_hosts() {
        let example = include_str!("../../examples/lever-host.toml");
        let settings = Settings::parse(example, Path::new("/srv"), []).unwrap();
        assert!(settings.allowed_outbound.contains("127.0.0.1:9100"));
        assert!(settings.allowed_outbound.contains("127.0.0.1:9200"));
        assert_eq!(
            settings.connector["public_base_url"],
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn unknown_host_keys_are_rejected() {
        assert!(Settings::parse("[host]\nlisten_port = 1\n", Path::new("."), []).is_err());
    }
}
