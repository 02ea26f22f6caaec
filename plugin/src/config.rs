//! Deployment-wide configuration (`wasi:config`): what is the same for every connection.
//! Everything per Lever account lives in the key-value store (see [`crate::store`]).
//!
//! Each flow reads the settings it needs through these functions; a missing or invalid key
//! becomes `NotConfigured(key)`. Keys are valid Spin variable names (lowercase letters,
//! digits, single underscores), so the same component reads them on Spin and in `lever-host`.

use base64::Engine as _;

use crate::crypto::Sealer;
use crate::error::ConnectorError;
use crate::io::{Config, HttpUrl};
use crate::partner::WebhookSecret;
use crate::secret::Secret;

/// `production` (default) or `sandbox`: Lever's API, authorize, token and audience hosts as
/// one unit.
pub const LEVER_ENVIRONMENT: &str = "lever_environment";
/// A custom Lever API root (a simulator, an EU host); needs [`LEVER_AUTH_BASE`] with it.
pub const LEVER_API_BASE: &str = "lever_api_base";
/// The OAuth server root of a custom environment (`/authorize`, `/oauth/token` below it).
pub const LEVER_AUTH_BASE: &str = "lever_auth_base";
/// The API root sandbox connections use instead of Lever's sandbox (a simulator); needs
/// [`LEVER_SANDBOX_AUTH_BASE`] with it.
pub const LEVER_SANDBOX_API_BASE: &str = "lever_sandbox_api_base";
/// The OAuth server root sandbox connections use instead of Lever's sandbox.
pub const LEVER_SANDBOX_AUTH_BASE: &str = "lever_sandbox_auth_base";
/// The OAuth client id of the partner's Lever app.
pub const OAUTH_CLIENT_ID: &str = "oauth_client_id";
/// The OAuth client secret. Secret.
pub const OAUTH_CLIENT_SECRET: &str = "oauth_client_secret";
/// The redirect URI registered with Lever (exact match); defaults to
/// `{public_base_url}/oauth/callback`.
pub const OAUTH_REDIRECT_URI: &str = "oauth_redirect_uri";
/// Where Lever and browsers reach this connector, e.g. `https://lever.partner.example`.
pub const PUBLIC_BASE_URL: &str = "public_base_url";
/// The partner's callback URL for connector events.
pub const PARTNER_CALLBACK_URL: &str = "partner_callback_url";
/// The Standard Webhooks secret (`whsec_` + base64) for signing partner callbacks. Secret.
pub const PARTNER_WEBHOOK_SECRET: &str = "partner_webhook_secret";
/// The bearer credential the partner presents on `/connections/...` routes. Secret.
pub const PARTNER_API_KEY: &str = "partner_api_key";
/// Base64 of 32 random bytes: the key that encrypts credentials at rest. Secret.
pub const ENCRYPTION_KEY: &str = "encryption_key";
/// How far `triggeredAt` may be from now, in seconds (default 300).
pub const LEVER_WEBHOOK_MAX_AGE_SECS: &str = "lever_webhook_max_age_secs";
/// How long a claim on work in progress holds before another request or instance may take
/// it over, in seconds (default 60): a delivery "processing", an outbox attempt, an upload
/// being created, a report to the partner.
pub const DELIVERY_LEASE_SECS: &str = "delivery_lease_secs";
/// The wasi:keyvalue bucket to open (default `default`).
pub const KV_BUCKET: &str = "kv_bucket";
/// The partner's name, the `source` of uploaded candidates in Lever (default `Partner`).
pub const PARTNER_NAME: &str = "partner_name";
/// Lever requests per second the connector keeps each connection under (default 9.5;
/// Lever allows 10). Raise it only if Lever raised your limit.
pub const LEVER_RATE_PER_SEC: &str = "lever_rate_per_sec";

/// `true` to ask Lever for the EEO scopes at OAuth (default `false`): the EEO actions need
/// them, and they show candidates' demographic answers.
pub const LEVER_OAUTH_EEO: &str = "lever_oauth_eeo";

/// How many attempts an accepted delivery gets before it moves to the dead letters
/// (default 8; the waits between them grow from 2 s to an hour).
pub const OUTBOX_MAX_ATTEMPTS: &str = "outbox_max_attempts";
/// The longest wait between two attempts, in seconds (default 3600).
pub const OUTBOX_MAX_BACKOFF_SECS: &str = "outbox_max_backoff_secs";
/// How long a delivery record (the replay guard) is kept, in seconds (default 86400); never
/// shorter than the freshness window plus the claim lease.
pub const DELIVERY_RETENTION_SECS: &str = "delivery_retention_secs";

/// The default freshness window for webhook deliveries.
pub const DEFAULT_MAX_AGE_SECS: u64 = 300;
/// The default delivery claim lease.
pub const DEFAULT_LEASE_SECS: u64 = 60;

/// Every key the connector reads, and whether its value is a secret.
pub const ALL_KEYS: [(&str, bool); 19] = [
    (LEVER_ENVIRONMENT, false),
    (LEVER_API_BASE, false),
    (LEVER_AUTH_BASE, false),
    (OAUTH_CLIENT_ID, false),
    (OAUTH_CLIENT_SECRET, true),
    (OAUTH_REDIRECT_URI, false),
    (PUBLIC_BASE_URL, false),
    (PARTNER_CALLBACK_URL, false),
    (PARTNER_WEBHOOK_SECRET, true),
    (PARTNER_API_KEY, true),
    (ENCRYPTION_KEY, true),
    (LEVER_WEBHOOK_MAX_AGE_SECS, false),
    (DELIVERY_LEASE_SECS, false),
    (KV_BUCKET, false),
    (PARTNER_NAME, false),
    (LEVER_RATE_PER_SEC, false),
    (OUTBOX_MAX_ATTEMPTS, false),
    (OUTBOX_MAX_BACKOFF_SECS, false),
    (DELIVERY_RETENTION_SECS, false),
];

/// Lever's hosts for one environment; never mixed with another environment's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeverEnvironment {
    /// `production`, `sandbox` or `custom`.
    pub name: &'static str,
    /// Whether it is the production or the sandbox side (a custom environment set with
    /// `lever_api_base` is the production side).
    pub tier: Tier,
    /// API root, e.g. `https://api.lever.co/v1`.
    pub api_base: HttpUrl,
    /// OAuth authorize endpoint.
    pub authorize_url: HttpUrl,
    /// OAuth token endpoint.
    pub token_url: HttpUrl,
    /// OAuth `audience`: the API root with a trailing slash.
    pub audience: String,
}

/// The OAuth client of the partner's Lever app.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: Secret,
    /// Redirect URI.
    pub redirect_uri: HttpUrl,
}

/// Where and how to send partner callbacks.
#[derive(Debug, Clone)]
pub struct PartnerSettings {
    /// The callback URL.
    pub callback_url: HttpUrl,
    /// The signing secret.
    pub secret: WebhookSecret,
}

fn read(config: &dyn Config, key: &str) -> Result<Option<String>, ConnectorError> {
    config
        .get(key)
        .map(|v| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()))
        .map_err(|e| ConnectorError::Internal(format!("reading configuration key {key}: {e}")))
}

fn require(config: &dyn Config, key: &str) -> Result<String, ConnectorError> {
    read(config, key)?.ok_or_else(|| ConnectorError::NotConfigured(key.into()))
}

fn parse_url(key: &str, raw: &str) -> Result<HttpUrl, ConnectorError> {
    HttpUrl::parse(raw)
        .ok_or_else(|| ConnectorError::NotConfigured(format!("{key} (not an http(s) URL)")))
}

fn http_url(config: &dyn Config, key: &str) -> Result<HttpUrl, ConnectorError> {
    parse_url(key, &require(config, key)?)
}

/// Which of Lever's two environments a connection uses: a customer may connect its sandbox
/// account beside its production one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Lever's production (or the deployment's custom API root).
    Production,
    /// Lever's sandbox (or `lever_sandbox_api_base`).
    Sandbox,
}

impl Tier {
    /// `production` or `sandbox`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Production => "production",
            Tier::Sandbox => "sandbox",
        }
    }

    /// The tier a stored name means (`custom`, written before connections had tiers, is
    /// the production side).
    pub fn from_stored(name: &str) -> Self {
        if name == "sandbox" {
            Tier::Sandbox
        } else {
            Tier::Production
        }
    }

    /// Parses `production` or `sandbox`.
    pub fn parse(name: &str) -> Result<Self, ConnectorError> {
        match name {
            "production" => Ok(Tier::Production),
            "sandbox" => Ok(Tier::Sandbox),
            other => Err(ConnectorError::InvalidInput(format!(
                "environment {other:?}: production or sandbox"
            ))),
        }
    }
}

/// The Lever environment of `tier`, or the deployment's when `None`: the deployment's own
/// when it is that tier, else Lever's hosts for it (for the sandbox,
/// `lever_sandbox_api_base` and `lever_sandbox_auth_base` when set).
pub fn lever_environment_for(
    config: &dyn Config,
    tier: Option<Tier>,
) -> Result<LeverEnvironment, ConnectorError> {
    let deployment = lever_environment(config)?;
    match tier {
        None => Ok(deployment),
        Some(tier) if tier == deployment.tier && tier == Tier::Production => Ok(deployment),
        Some(Tier::Sandbox) => {
            match (
                read(config, LEVER_SANDBOX_API_BASE)?,
                read(config, LEVER_SANDBOX_AUTH_BASE)?,
            ) {
                (Some(api), Some(auth)) => fixed("sandbox", &api, &auth),
                (None, None) if deployment.tier == Tier::Sandbox => Ok(deployment),
                (None, None) => fixed(
                    "sandbox",
                    "https://api.sandbox.lever.co/v1",
                    "https://sandbox-lever.auth0.com",
                ),
                _ => Err(ConnectorError::NotConfigured(format!(
                    "{LEVER_SANDBOX_API_BASE} and {LEVER_SANDBOX_AUTH_BASE} (set both or neither)"
                ))),
            }
        }
        Some(Tier::Production) => fixed(
            "production",
            "https://api.lever.co/v1",
            "https://auth.lever.co",
        ),
    }
}

/// Every Lever environment a connection of this deployment may use (production and
/// sandbox), for the allow-list and to tell Lever's URLs from the partner's.
pub fn lever_environments(config: &dyn Config) -> Result<Vec<LeverEnvironment>, ConnectorError> {
    Ok(vec![
        lever_environment_for(config, Some(Tier::Production))?,
        lever_environment_for(config, Some(Tier::Sandbox))?,
    ])
}

fn fixed(name: &'static str, api: &str, auth: &str) -> Result<LeverEnvironment, ConnectorError> {
    let api_base = parse_url(LEVER_API_BASE, api)?;
    let auth_base = parse_url(LEVER_AUTH_BASE, auth)?;
    Ok(LeverEnvironment {
        name,
        tier: if name == "sandbox" {
            Tier::Sandbox
        } else {
            Tier::Production
        },
        audience: format!("{}/", api.trim_end_matches('/')),
        authorize_url: auth_base.join(&["authorize"], &[]),
        token_url: auth_base.join(&["oauth", "token"], &[]),
        api_base,
    })
}

/// The Lever environment: `lever_environment` (production, the default, or sandbox), or a
/// custom one given by `lever_api_base` and `lever_auth_base` together.
pub fn lever_environment(config: &dyn Config) -> Result<LeverEnvironment, ConnectorError> {
    let named = read(config, LEVER_ENVIRONMENT)?;
    let api = read(config, LEVER_API_BASE)?;
    let auth = read(config, LEVER_AUTH_BASE)?;
    match (named.as_deref(), api, auth) {
        (None | Some("custom"), Some(api), Some(auth)) => fixed("custom", &api, &auth),
        (None | Some("custom"), Some(_), None) => {
            Err(ConnectorError::NotConfigured(format!(
                "{LEVER_AUTH_BASE} (a custom {LEVER_API_BASE} needs its OAuth host too)"
            )))
        }
        (None | Some("custom"), None, Some(_)) => Err(ConnectorError::NotConfigured(format!(
            "{LEVER_API_BASE} (a custom {LEVER_AUTH_BASE} needs its API root too)"
        ))),
        (Some("custom"), None, None) => Err(ConnectorError::NotConfigured(LEVER_API_BASE.into())),
        (None | Some("production"), None, None) => fixed(
            "production",
            "https://api.lever.co/v1",
            "https://auth.lever.co",
        ),
        (Some("sandbox"), None, None) => fixed(
            "sandbox",
            "https://api.sandbox.lever.co/v1",
            "https://sandbox-lever.auth0.com",
        ),
        (Some("production" | "sandbox"), _, _) => Err(ConnectorError::NotConfigured(format!(
            "{LEVER_ENVIRONMENT} (a named environment cannot be mixed with {LEVER_API_BASE} or {LEVER_AUTH_BASE})"
        ))),
        (Some(_), _, _) => Err(ConnectorError::NotConfigured(format!(
            "{LEVER_ENVIRONMENT} (expected production or sandbox)"
        ))),
    }
}

/// The connector's public root URL.
pub fn public_base_url(config: &dyn Config) -> Result<HttpUrl, ConnectorError> {
    http_url(config, PUBLIC_BASE_URL)
}

/// The OAuth client; the redirect URI defaults to `{public_base_url}/oauth/callback`.
pub fn oauth_client(config: &dyn Config) -> Result<OAuthClient, ConnectorError> {
    let client_id = require(config, OAUTH_CLIENT_ID)?;
    let client_secret = Secret::new(require(config, OAUTH_CLIENT_SECRET)?);
    let redirect_uri = match read(config, OAUTH_REDIRECT_URI)? {
        Some(raw) => parse_url(OAUTH_REDIRECT_URI, &raw)?,
        None => public_base_url(config)
            .map_err(|_| ConnectorError::NotConfigured(OAUTH_REDIRECT_URI.into()))?
            .join(&["oauth", "callback"], &[]),
    };
    Ok(OAuthClient {
        client_id,
        client_secret,
        redirect_uri,
    })
}

/// The partner settings: `partner_callback_url` and `partner_webhook_secret`.
pub fn partner(config: &dyn Config) -> Result<PartnerSettings, ConnectorError> {
    let callback_url = http_url(config, PARTNER_CALLBACK_URL)?;
    let secret =
        WebhookSecret::parse(&require(config, PARTNER_WEBHOOK_SECRET)?).ok_or_else(|| {
            ConnectorError::NotConfigured(format!(
                "{PARTNER_WEBHOOK_SECRET} (expected whsec_ followed by base64)"
            ))
        })?;
    Ok(PartnerSettings {
        callback_url,
        secret,
    })
}

/// The credential the partner must present on `/connections/...` routes.
pub fn partner_api_key(config: &dyn Config) -> Result<Secret, ConnectorError> {
    require(config, PARTNER_API_KEY).map(Secret::new)
}

/// The at-rest encryption of credentials, from `encryption_key`.
pub fn sealer(config: &dyn Config) -> Result<Sealer, ConnectorError> {
    let raw = require(config, ENCRYPTION_KEY)?;
    base64::engine::general_purpose::STANDARD
        .decode(raw.as_bytes())
        .ok()
        .and_then(|bytes| Sealer::new(&bytes))
        .ok_or_else(|| {
            ConnectorError::NotConfigured(format!(
                "{ENCRYPTION_KEY} (expected base64 of 32 random bytes: `openssl rand -base64 32`)"
            ))
        })
}

/// The key that signs connect-portal links: derived from `encryption_key` (HMAC-SHA256 of
/// a fixed label), so one secret serves both and neither use can stand in for the other.
pub fn portal_key(config: &dyn Config) -> Result<[u8; 32], ConnectorError> {
    use hmac::{Hmac, Mac};
    let raw = require(config, ENCRYPTION_KEY)?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(raw.as_bytes())
        .ok()
        .filter(|bytes| bytes.len() == 32)
        .ok_or_else(|| {
            ConnectorError::NotConfigured(format!(
                "{ENCRYPTION_KEY} (expected base64 of 32 random bytes: `openssl rand -base64 32`)"
            ))
        })?;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key)
        .map_err(|_| ConnectorError::Internal("deriving the portal key".into()))?;
    mac.update(b"lever-connector portal links v1");
    Ok(mac.finalize().into_bytes().into())
}

/// Whether the OAuth consent asks for the EEO scopes.
pub fn oauth_eeo(config: &dyn Config) -> Result<bool, ConnectorError> {
    match read(config, LEVER_OAUTH_EEO)?.as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ConnectorError::NotConfigured(format!(
            "{LEVER_OAUTH_EEO} (expected true or false)"
        ))),
    }
}

/// The longest wait between two outbox attempts, in milliseconds.
pub fn outbox_max_backoff_ms(config: &dyn Config) -> Result<u64, ConnectorError> {
    seconds(config, OUTBOX_MAX_BACKOFF_SECS, 3600)
}

/// How many attempts an accepted delivery gets (at least 1).
pub fn outbox_max_attempts(config: &dyn Config) -> Result<u32, ConnectorError> {
    match read(config, OUTBOX_MAX_ATTEMPTS)? {
        None => Ok(8),
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(ConnectorError::NotConfigured(format!(
                "{OUTBOX_MAX_ATTEMPTS} (expected a number from 1 to 100)"
            ))),
        },
    }
}

fn seconds(config: &dyn Config, key: &str, default: u64) -> Result<u64, ConnectorError> {
    match read(config, key)? {
        None => Ok(default * 1000),
        Some(raw) => match raw.parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(secs.saturating_mul(1000)),
            _ => Err(ConnectorError::NotConfigured(format!(
                "{key} (expected a positive number of seconds)"
            ))),
        },
    }
}

/// The freshness window for webhook deliveries, in milliseconds.
pub fn webhook_max_age_ms(config: &dyn Config) -> Result<u64, ConnectorError> {
    seconds(config, LEVER_WEBHOOK_MAX_AGE_SECS, DEFAULT_MAX_AGE_SECS)
}

/// How long a "processing" delivery claim holds, in milliseconds.
pub fn delivery_lease_ms(config: &dyn Config) -> Result<u64, ConnectorError> {
    seconds(config, DELIVERY_LEASE_SECS, DEFAULT_LEASE_SECS)
}

/// The default retention of delivery records: a day.
pub const DEFAULT_RETENTION_SECS: u64 = 24 * 60 * 60;

/// How long a delivery record is kept after its delivery was handled, in milliseconds. A
/// replay is refused by its record while its `triggeredAt` is fresh, so the record must
/// outlive the freshness window and a claim's lease: a shorter setting is refused.
pub fn delivery_retention_ms(config: &dyn Config) -> Result<u64, ConnectorError> {
    let retention = seconds(config, DELIVERY_RETENTION_SECS, DEFAULT_RETENTION_SECS)?;
    let floor = webhook_max_age_ms(config)?.saturating_add(delivery_lease_ms(config)?);
    if retention < floor {
        return Err(ConnectorError::NotConfigured(format!(
            "{DELIVERY_RETENTION_SECS} (at least {} seconds: {LEVER_WEBHOOK_MAX_AGE_SECS} plus {DELIVERY_LEASE_SECS}, so a replay inside the freshness window is still refused)",
            floor / 1000
        )));
    }
    Ok(retention)
}

/// The default steady rate per connection: 95% of Lever's 10 per second.
pub const DEFAULT_RATE_PER_SEC: f64 = 9.5;
/// A connection's burst, in seconds of its steady rate: 1.6 s, so the default bursts to
/// 15 of Lever's 20 and leaves the rest for requests that arrive closer together than they
/// were sent.
pub const BURST_SECONDS: f64 = 1.6;

/// The token bucket each connection's Lever requests go through.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Steady requests per second.
    pub per_sec: f64,
    /// Most requests at once.
    pub burst: f64,
}

impl RateLimit {
    /// `per_sec` with its burst.
    pub fn per_second(per_sec: f64) -> Self {
        Self {
            per_sec,
            burst: (per_sec * BURST_SECONDS).max(1.0),
        }
    }
}

/// The per-connection rate limit for Lever requests.
pub fn lever_rate(config: &dyn Config) -> Result<RateLimit, ConnectorError> {
    match read(config, LEVER_RATE_PER_SEC)? {
        None => Ok(RateLimit::per_second(DEFAULT_RATE_PER_SEC)),
        Some(raw) => match raw.parse::<f64>() {
            Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(RateLimit::per_second(rate)),
            _ => Err(ConnectorError::NotConfigured(format!(
                "{LEVER_RATE_PER_SEC} (expected a positive number of requests per second)"
            ))),
        },
    }
}

/// The partner's name as uploaded candidates' source.
pub fn partner_name(config: &dyn Config) -> Result<String, ConnectorError> {
    Ok(read(config, PARTNER_NAME)?.unwrap_or_else(|| "Partner".into()))
}

/// The key-value bucket to open.
pub fn kv_bucket(config: &dyn Config) -> Result<String, ConnectorError> {
    Ok(read(config, KV_BUCKET)?.unwrap_or_else(|| "default".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retention_shorter_than_the_freshness_window_and_lease_is_refused() {
        let default = FakeConfig::from_pairs(&[]);
        assert_eq!(delivery_retention_ms(&default).unwrap(), 86_400_000);
        let short = FakeConfig::from_pairs(&[(DELIVERY_RETENTION_SECS, "300")]);
        let error = delivery_retention_ms(&short).unwrap_err();
        assert!(
            matches!(&error, ConnectorError::NotConfigured(m) if m.starts_with(DELIVERY_RETENTION_SECS) && m.contains("360")),
            "{error:?}"
        );
        let enough = FakeConfig::from_pairs(&[(DELIVERY_RETENTION_SECS, "360")]);
        assert_eq!(delivery_retention_ms(&enough).unwrap(), 360_000);
    }
    use crate::io::fake::FakeConfig;

    fn is_spin_variable_name(key: &str) -> bool {
        key.starts_with(|c: char| c.is_ascii_lowercase())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !key.contains("__")
            && !key.ends_with('_')
    }

    #[test]
    fn every_key_is_a_valid_spin_variable_name() {
        for (key, _) in ALL_KEYS {
            assert!(is_spin_variable_name(key), "{key}");
        }
    }

    #[test]
    fn environments_are_one_unit_of_hosts() {
        let production = lever_environment(&FakeConfig::default()).unwrap();
        assert_eq!(production.api_base.to_string(), "https://api.lever.co/v1");
        assert_eq!(
            production.authorize_url.to_string(),
            "https://auth.lever.co/authorize"
        );
        assert_eq!(
            production.token_url.to_string(),
            "https://auth.lever.co/oauth/token"
        );
        assert_eq!(production.audience, "https://api.lever.co/v1/");
        let sandbox =
            lever_environment(&FakeConfig::from_pairs(&[(LEVER_ENVIRONMENT, "sandbox")])).unwrap();
        assert_eq!(sandbox.audience, "https://api.sandbox.lever.co/v1/");
        assert_eq!(
            sandbox.token_url.to_string(),
            "https://sandbox-lever.auth0.com/oauth/token"
        );
        // Mixing a named environment with a custom host is refused, as is half a custom one.
        for pairs in [
            vec![
                (LEVER_ENVIRONMENT, "sandbox"),
                (LEVER_API_BASE, "https://api.lever.co/v1"),
            ],
            vec![(LEVER_API_BASE, "http://127.0.0.1:9/v1")],
            vec![(LEVER_ENVIRONMENT, "staging")],
        ] {
            assert!(matches!(
                lever_environment(&FakeConfig::from_pairs(&pairs)),
                Err(ConnectorError::NotConfigured(_))
            ));
        }
        let custom = lever_environment(&FakeConfig::from_pairs(&[
            (LEVER_API_BASE, "http://127.0.0.1:9/v1"),
            (LEVER_AUTH_BASE, "http://127.0.0.1:9"),
        ]))
        .unwrap();
        assert_eq!(custom.name, "custom");
        assert_eq!(custom.audience, "http://127.0.0.1:9/v1/");
    }

    #[test]
    fn the_redirect_uri_defaults_to_the_public_callback() {
        let config = FakeConfig::from_pairs(&[
            (OAUTH_CLIENT_ID, "client"),
            (OAUTH_CLIENT_SECRET, "s"),
            (PUBLIC_BASE_URL, "https://lever.partner.example/"),
        ]);
        assert_eq!(
            oauth_client(&config).unwrap().redirect_uri.to_string(),
            "https://lever.partner.example/oauth/callback"
        );
    }

    #[test]
    fn the_encryption_key_must_be_32_bytes_of_base64() {
        assert!(sealer(&FakeConfig::from_pairs(&[(ENCRYPTION_KEY, "c2hvcnQ=")])).is_err());
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(sealer(&FakeConfig::from_pairs(&[(ENCRYPTION_KEY, &key)])).is_ok());
        assert_eq!(
            sealer(&FakeConfig::default()).unwrap_err(),
            ConnectorError::NotConfigured("encryption_key".into())
        );
    }

    #[test]
    fn durations_default_and_reject_nonsense() {
        assert_eq!(webhook_max_age_ms(&FakeConfig::default()).unwrap(), 300_000);
        assert_eq!(delivery_lease_ms(&FakeConfig::default()).unwrap(), 60_000);
        let bad = FakeConfig::from_pairs(&[(LEVER_WEBHOOK_MAX_AGE_SECS, "soon")]);
        assert!(webhook_max_age_ms(&bad).is_err());
    }
}
