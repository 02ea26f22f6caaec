//! Configuration keys and their typed values. Each flow reads the settings it needs once,
//! through these functions; a missing or invalid key becomes `NotConfigured(key)`.
//!
//! Keys are valid Spin variable names (lowercase letters, digits, single underscores), so
//! the same component reads them from `wasi:config` on Spin and in `lever-host`.

use std::collections::BTreeMap;

use crate::error::ConnectorError;
use crate::io::{Config, HttpUrl};
use crate::partner::WebhookSecret;
use crate::secret::Secret;

/// Lever API root, e.g. `https://api.lever.co/v1`.
pub const LEVER_API_BASE: &str = "lever_api_base";
/// Lever API key (HTTP Basic). Secret.
pub const LEVER_API_KEY: &str = "lever_api_key";
/// A Lever OAuth access token (Bearer), used when no API key is set. Secret.
pub const LEVER_ACCESS_TOKEN: &str = "lever_access_token";
/// The signature token for any Lever webhook without its own key below. Secret.
pub const LEVER_SIGNATURE_TOKEN: &str = "lever_signature_token";
/// Prefix of the per-event signature token keys, e.g.
/// `lever_signature_token_candidate_stage_change`. Secret.
pub const LEVER_SIGNATURE_TOKEN_PREFIX: &str = "lever_signature_token_";
/// How far `triggeredAt` may be from now, in seconds (default 300).
pub const LEVER_WEBHOOK_MAX_AGE_SECS: &str = "lever_webhook_max_age_secs";
/// The partner's callback URL for connector events.
pub const PARTNER_CALLBACK_URL: &str = "partner_callback_url";
/// The Standard Webhooks secret (`whsec_` + base64) for signing partner callbacks. Secret.
pub const PARTNER_WEBHOOK_SECRET: &str = "partner_webhook_secret";
/// JSON object mapping Lever stage ids to partner stage names.
pub const STAGE_MAP: &str = "stage_map";
/// The wasi:keyvalue bucket to open (default `default`).
pub const KV_BUCKET: &str = "kv_bucket";

/// The Lever webhook events, by name, and the suffix of their signature token key.
pub const LEVER_EVENTS: [(&str, &str); 10] = [
    ("applicationCreated", "application_created"),
    ("candidateHired", "candidate_hired"),
    ("candidateStageChange", "candidate_stage_change"),
    ("candidateArchiveChange", "candidate_archive_change"),
    ("candidateDeleted", "candidate_deleted"),
    ("interviewCreated", "interview_created"),
    ("interviewUpdated", "interview_updated"),
    ("interviewDeleted", "interview_deleted"),
    ("contactCreated", "contact_created"),
    ("contactUpdated", "contact_updated"),
];

/// The default freshness window for webhook deliveries.
pub const DEFAULT_MAX_AGE_SECS: u64 = 300;

/// Every key the connector reads, and whether its value is a secret.
pub fn all_keys() -> Vec<(String, bool)> {
    let mut keys: Vec<(String, bool)> = [
        (LEVER_API_BASE, false),
        (LEVER_API_KEY, true),
        (LEVER_ACCESS_TOKEN, true),
        (LEVER_SIGNATURE_TOKEN, true),
        (LEVER_WEBHOOK_MAX_AGE_SECS, false),
        (PARTNER_CALLBACK_URL, false),
        (PARTNER_WEBHOOK_SECRET, true),
        (STAGE_MAP, false),
        (KV_BUCKET, false),
    ]
    .iter()
    .map(|(k, s)| (k.to_string(), *s))
    .collect();
    keys.extend(
        LEVER_EVENTS
            .iter()
            .map(|(_, suffix)| (format!("{LEVER_SIGNATURE_TOKEN_PREFIX}{suffix}"), true)),
    );
    keys
}

/// How the connector authenticates to Lever.
#[derive(Debug, Clone)]
pub enum LeverAuth {
    /// HTTP Basic with the key as user name.
    ApiKey(Secret),
    /// OAuth bearer token.
    Bearer(Secret),
}

/// Where Lever is and how to call it.
#[derive(Debug, Clone)]
pub struct LeverSettings {
    /// API root, e.g. `https://api.lever.co/v1`.
    pub api_base: HttpUrl,
    /// Credentials.
    pub auth: LeverAuth,
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
        .map(|v| v.filter(|v| !v.trim().is_empty()))
        .map_err(|e| ConnectorError::Internal(format!("reading configuration key {key}: {e}")))
}

fn require(config: &dyn Config, key: &str) -> Result<String, ConnectorError> {
    read(config, key)?.ok_or_else(|| ConnectorError::NotConfigured(key.into()))
}

fn http_url(config: &dyn Config, key: &str) -> Result<HttpUrl, ConnectorError> {
    HttpUrl::parse(&require(config, key)?)
        .ok_or_else(|| ConnectorError::NotConfigured(format!("{key} (not an http(s) URL)")))
}

/// The Lever settings: `lever_api_base` and `lever_api_key` (or `lever_access_token`).
pub fn lever(config: &dyn Config) -> Result<LeverSettings, ConnectorError> {
    let api_base = http_url(config, LEVER_API_BASE)?;
    let auth = if let Some(key) = read(config, LEVER_API_KEY)? {
        LeverAuth::ApiKey(Secret::new(key))
    } else if let Some(token) = read(config, LEVER_ACCESS_TOKEN)? {
        LeverAuth::Bearer(Secret::new(token))
    } else {
        return Err(ConnectorError::NotConfigured(LEVER_API_KEY.into()));
    };
    Ok(LeverSettings { api_base, auth })
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

/// The freshness window for webhook deliveries, in milliseconds.
pub fn webhook_max_age_ms(config: &dyn Config) -> Result<u64, ConnectorError> {
    match read(config, LEVER_WEBHOOK_MAX_AGE_SECS)? {
        None => Ok(DEFAULT_MAX_AGE_SECS * 1000),
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(secs.saturating_mul(1000)),
            _ => Err(ConnectorError::NotConfigured(format!(
                "{LEVER_WEBHOOK_MAX_AGE_SECS} (expected a positive number of seconds)"
            ))),
        },
    }
}

/// The signature tokens a delivery of `event` may be signed with: the event's own key,
/// else `lever_signature_token`. For an event name Lever does not define, every configured
/// token is a candidate. Errors name the key to set when there is none.
pub fn signature_tokens(config: &dyn Config, event: &str) -> Result<Vec<Secret>, ConnectorError> {
    let fallback = read(config, LEVER_SIGNATURE_TOKEN)?;
    match LEVER_EVENTS.iter().find(|(name, _)| *name == event) {
        Some((_, suffix)) => {
            let key = format!("{LEVER_SIGNATURE_TOKEN_PREFIX}{suffix}");
            read(config, &key)?
                .or(fallback)
                .map(|token| vec![Secret::new(token)])
                .ok_or(ConnectorError::NotConfigured(key))
        }
        None => {
            let mut tokens = Vec::new();
            for (_, suffix) in LEVER_EVENTS {
                if let Some(token) =
                    read(config, &format!("{LEVER_SIGNATURE_TOKEN_PREFIX}{suffix}"))?
                {
                    tokens.push(Secret::new(token));
                }
            }
            tokens.extend(fallback.map(Secret::new));
            if tokens.is_empty() {
                return Err(ConnectorError::NotConfigured(LEVER_SIGNATURE_TOKEN.into()));
            }
            Ok(tokens)
        }
    }
}

/// The stage map from `stage_map` (a JSON object of Lever stage id → partner stage), if set.
pub fn stage_map(config: &dyn Config) -> Result<Option<BTreeMap<String, String>>, ConnectorError> {
    let Some(raw) = read(config, STAGE_MAP)? else {
        return Ok(None);
    };
    let map: BTreeMap<String, String> = serde_json::from_str(&raw).map_err(|_| {
        ConnectorError::NotConfigured(format!(
            "{STAGE_MAP} (expected a JSON object of Lever stage id to partner stage)"
        ))
    })?;
    Ok(Some(map))
}

/// The key-value bucket to open.
pub fn kv_bucket(config: &dyn Config) -> Result<String, ConnectorError> {
    Ok(read(config, KV_BUCKET)?.unwrap_or_else(|| "default".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
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
        for (key, _) in all_keys() {
            assert!(is_spin_variable_name(&key), "{key}");
        }
    }

    #[test]
    fn missing_lever_credentials_name_the_api_key() {
        let config = FakeConfig::from_pairs(&[(LEVER_API_BASE, "https://api.lever.co/v1")]);
        assert_eq!(
            lever(&config).unwrap_err(),
            ConnectorError::NotConfigured("lever_api_key".into())
        );
    }

    #[test]
    fn a_non_http_base_url_is_not_configured() {
        let config =
            FakeConfig::from_pairs(&[(LEVER_API_BASE, "ftp://example.com"), (LEVER_API_KEY, "k")]);
        assert!(
            matches!(lever(&config), Err(ConnectorError::NotConfigured(k)) if k.starts_with("lever_api_base"))
        );
    }

    #[test]
    fn per_event_token_wins_over_the_fallback() {
        let config = FakeConfig::from_pairs(&[
            (LEVER_SIGNATURE_TOKEN, "fallback"),
            ("lever_signature_token_candidate_stage_change", "own"),
        ]);
        let tokens = signature_tokens(&config, "candidateStageChange").unwrap();
        assert_eq!(tokens, vec![Secret::new("own")]);
        let tokens = signature_tokens(&config, "candidateHired").unwrap();
        assert_eq!(tokens, vec![Secret::new("fallback")]);
    }

    #[test]
    fn a_known_event_without_any_token_names_its_own_key() {
        let config = FakeConfig::default();
        assert_eq!(
            signature_tokens(&config, "candidateStageChange").unwrap_err(),
            ConnectorError::NotConfigured("lever_signature_token_candidate_stage_change".into())
        );
    }

    #[test]
    fn max_age_defaults_to_five_minutes_and_rejects_nonsense() {
        assert_eq!(webhook_max_age_ms(&FakeConfig::default()).unwrap(), 300_000);
        let bad = FakeConfig::from_pairs(&[(LEVER_WEBHOOK_MAX_AGE_SECS, "soon")]);
        assert!(webhook_max_age_ms(&bad).is_err());
    }

    #[test]
    fn stage_map_must_be_a_json_object_of_strings() {
        let good = FakeConfig::from_pairs(&[(STAGE_MAP, r#"{"lead-new":"sourced"}"#)]);
        assert_eq!(stage_map(&good).unwrap().unwrap()["lead-new"], "sourced");
        let bad = FakeConfig::from_pairs(&[(STAGE_MAP, "lead-new=sourced")]);
        assert!(matches!(
            stage_map(&bad),
            Err(ConnectorError::NotConfigured(_))
        ));
    }
}
