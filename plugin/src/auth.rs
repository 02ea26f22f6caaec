//! Connecting a Lever account and authenticating each request: API keys, OAuth (authorize,
//! code exchange, single-flight refresh with rotated refresh tokens), and the scopes each
//! feature needs.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::audit;
use crate::config::{self, LeverEnvironment, OAuthClient};
use crate::crypto::Sealer;
use crate::error::{ConnectorError, Service};
use crate::io::{Env, Method, Request, Response, UnixMillis};
use crate::lever::{self, Credential, LeverApi, USER_AGENT};
use crate::secret::Secret;
use crate::store::{ConnStore, ConnectionId, Lease, OAuthState, Store, StoredAuth};

/// How long an OAuth `state` nonce is accepted.
pub const STATE_TTL_MS: u64 = 10 * 60 * 1000;
/// Refresh this long before the access token expires.
pub const REFRESH_MARGIN_MS: u64 = 60 * 1000;
/// How long the refresh lock holds if its holder dies.
const REFRESH_LEASE_MS: u64 = 10 * 1000;
/// How long a request waits for another instance's refresh.
const REFRESH_WAIT_MS: u64 = 20 * 1000;
const REFRESH_POLL_MS: u64 = 50;

/// The scopes the connector asks for, and the features that need each one.
pub const SCOPES: [(&str, &str); 10] = [
    ("offline_access", "token refresh"),
    (
        "opportunities:write:admin",
        "candidate upload and stage sync",
    ),
    ("contact:write:admin", "contact actions"),
    ("stages:read:admin", "stage map"),
    ("archive_reasons:read:admin", "archive sync"),
    ("users:read:admin", "perform-as"),
    ("postings:write:admin", "role links and posting actions"),
    ("notes:write:admin", "candidate notes"),
    ("files:write:admin", "resume upload"),
    ("webhooks:write:admin", "one-click webhooks"),
];

/// A scope the connector needs that Lever did not grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingScope {
    /// The scope.
    pub scope: String,
    /// What does not work without it.
    pub needed_for: String,
}

/// The scopes in `SCOPES` that `granted` does not cover (`x:write:admin` covers
/// `x:read:admin`).
pub fn missing_scopes(granted: &[String]) -> Vec<MissingScope> {
    SCOPES
        .iter()
        .filter(|(scope, _)| !covers(granted, scope))
        .map(|(scope, needed_for)| MissingScope {
            scope: (*scope).into(),
            needed_for: (*needed_for).into(),
        })
        .collect()
}

/// Whether `granted` includes `wanted` (`x:write:admin` covers `x:read:admin`).
pub fn covers(granted: &[String], wanted: &str) -> bool {
    granted.iter().any(|g| {
        g == wanted
            || (wanted.ends_with(":read:admin")
                && g.strip_suffix(":write:admin") == wanted.strip_suffix(":read:admin"))
    })
}

/// The scopes the authorize URL asks for: the connector's own, every action's (EEO ones
/// only when the deployment opts in with `lever_oauth_eeo`), without one a write scope
/// covers.
pub fn requested_scopes(env: &Env) -> Result<Vec<&'static str>, ConnectorError> {
    let eeo = config::oauth_eeo(env.config)?;
    let mut scopes: Vec<&'static str> = SCOPES.iter().map(|(scope, _)| *scope).collect();
    for endpoint in crate::ops::catalog::ENDPOINTS {
        if endpoint.scope.starts_with("eeo_") && !eeo {
            continue;
        }
        if !scopes.contains(&endpoint.scope) {
            scopes.push(endpoint.scope);
        }
    }
    let owned: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    Ok(scopes
        .into_iter()
        .filter(|s| {
            !(s.ends_with(":read:admin") && owned.contains(&s.replace(":read:", ":write:")))
        })
        .collect())
}

/// Refuses a call whose OAuth scope `granted` lacks (an API key's permissions are Lever's
/// to check: it answers 403).
fn check_scope(
    connection: &ConnectionId,
    auth: &StoredAuth,
    scope: &str,
) -> Result<(), ConnectorError> {
    match auth {
        StoredAuth::Oauth { scopes, .. } if !covers(scopes, scope) => {
            Err(ConnectorError::Unauthorized(format!(
                "connection {connection}'s Lever grant does not include {scope}; connect it again to grant it"
            )))
        }
        _ => Ok(()),
    }
}

fn conn_store<'a>(env: &Env<'a>, connection: &ConnectionId) -> ConnStore<'a> {
    Store::new(env.kv).connection(connection)
}

fn hex_nonce(env: &Env) -> String {
    hex::encode(env.random.bytes(24))
}

// ---- API keys ----

/// Connects with a Lever API key after one cheap Lever call proves it works; a key Lever
/// rejects is `unauthorized` and nothing is stored.
pub fn connect_api_key(
    env: &Env,
    connection: &ConnectionId,
    api_key: &str,
) -> Result<(), ConnectorError> {
    let api_key = api_key.trim();
    if api_key.is_empty() || api_key.len() > 512 || api_key.chars().any(char::is_control) {
        return Err(ConnectorError::InvalidInput(
            "apiKey must be a non-empty Lever API key".into(),
        ));
    }
    let chosen = conn_store(env, connection).environment()?;
    let lever_env = config::lever_environment_for(env.config, chosen)?;
    let sealer = config::sealer(env.config)?;
    let key = Secret::new(api_key);
    let api = LeverApi::new(lever_env.api_base, Credential::ApiKey(key.clone()));
    let probe = api.request(Method::Get, &["stages"], &[("limit", "1")], None);
    match lever::interpret_body::<serde_json::Value>(lever::send(env, probe)?) {
        Ok(_) => {}
        Err(ConnectorError::Unauthorized(_)) => {
            return Err(ConnectorError::Unauthorized(
                "Lever rejected this API key; nothing was stored".into(),
            ))
        }
        Err(ConnectorError::Upstream { status: 403, .. }) => {
            return Err(ConnectorError::Unauthorized(
                "this API key may not read stages in Lever (403); nothing was stored".into(),
            ))
        }
        Err(e) => return Err(e),
    }
    conn_store(env, connection).set_auth(&StoredAuth::ApiKey {
        api_key: sealer.seal(env.random, connection.as_str(), "api_key", &key)?,
        connected_at: env.clock.now(),
        environment: Some(lever_env.tier.as_str().into()),
    })
}

// ---- OAuth ----

/// Begins OAuth for a connection: records a single-use `state` (10 minutes) and answers the
/// Lever authorize URL to send a Super Admin to.
pub fn begin_oauth(env: &Env, connection: &ConnectionId) -> Result<String, ConnectorError> {
    begin_oauth_from(env, connection, None)
}

/// [`begin_oauth`] for a connect-portal session: the callback returns the browser there.
pub fn begin_oauth_from(
    env: &Env,
    connection: &ConnectionId,
    portal_session: Option<&str>,
) -> Result<String, ConnectorError> {
    let chosen = conn_store(env, connection).environment()?;
    let lever_env = config::lever_environment_for(env.config, chosen)?;
    let client = config::oauth_client(env.config)?;
    config::sealer(env.config)?;
    let nonce = hex_nonce(env);
    Store::new(env.kv).put_oauth_state(
        &nonce,
        &OAuthState {
            connection: connection.clone(),
            expires_at: env.clock.now().saturating_add(STATE_TTL_MS),
            used: false,
            used_by: None,
            portal_session: portal_session.map(String::from),
            environment: Some(lever_env.tier.as_str().into()),
        },
    )?;
    let scope = requested_scopes(env)?.join(" ");
    let redirect = client.redirect_uri.to_string();
    let url = lever_env.authorize_url.join(
        &[],
        &[
            ("client_id", client.client_id.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("response_type", "code"),
            ("state", nonce.as_str()),
            ("audience", lever_env.audience.as_str()),
            ("scope", scope.as_str()),
            ("prompt", "consent"),
        ],
    );
    Ok(url.to_string())
}

/// The result of a finished OAuth round trip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Connected {
    /// The connection.
    pub connection: ConnectionId,
    /// Lever's account id, from the token.
    pub account_id: Option<String>,
    /// When the access token expires.
    pub expires_at: UnixMillis,
    /// What Lever did not grant.
    pub missing_scopes: Vec<MissingScope>,
}

/// What Lever's redirect to `/oauth/callback` carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Callback {
    /// The authorization code.
    pub code: Option<String>,
    /// Our state nonce.
    pub state: Option<String>,
    /// `access_denied` and the like.
    pub error: Option<String>,
    /// Lever's explanation of `error`.
    pub error_description: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Lever's account id claim in its access tokens (a JWT).
const ACCOUNT_CLAIM: &str = "https://oauth.lever.co/accountId";

/// The account id carried by a Lever access token (read, not verified: the token came
/// straight from Lever's token endpoint over TLS).
pub fn account_id_from_jwt(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get(ACCOUNT_CLAIM)?.as_str().map(String::from)
}

fn token_request(
    lever_env: &LeverEnvironment,
    client: &OAuthClient,
    form: &[(&str, &str)],
) -> Request {
    let mut pairs = vec![
        ("client_id", client.client_id.as_str()),
        ("client_secret", client.client_secret.expose()),
    ];
    pairs.extend_from_slice(form);
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Request {
        method: Method::Post,
        url: lever_env.token_url.clone(),
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("accept".into(), "application/json".into()),
            ("user-agent".into(), USER_AGENT.into()),
        ],
        body: Some(body.into_bytes()),
        bucket: None,
        background: false,
    }
}

/// What the token endpoint answered.
enum TokenAnswer {
    Tokens(TokenResponse),
    InvalidGrant(String),
}

fn interpret_token(response: Response) -> Result<TokenAnswer, ConnectorError> {
    if (200..300).contains(&response.status) {
        return serde_json::from_slice(&response.body)
            .map(TokenAnswer::Tokens)
            .map_err(|e| ConnectorError::Upstream {
                service: Service::Lever,
                status: response.status,
                message: format!("unexpected token response: {e}"),
            });
    }
    if response.status == 429 {
        return Err(ConnectorError::RateLimited {
            retry_after_ms: lever::retry_after_ms(&response),
        });
    }
    match serde_json::from_slice::<OAuthErrorBody>(&response.body) {
        Ok(body) if body.error == "invalid_grant" => Ok(TokenAnswer::InvalidGrant(
            body.error_description.unwrap_or_default(),
        )),
        Ok(body) => Err(ConnectorError::Upstream {
            service: Service::Lever,
            status: response.status,
            message: format!(
                "{}: {}",
                body.error,
                body.error_description.unwrap_or_default()
            ),
        }),
        Err(_) => Err(lever::interpret_error(&response)),
    }
}

fn stored_tokens(
    env: &Env,
    sealer: &Sealer,
    connection: &ConnectionId,
    lever_env: &LeverEnvironment,
    tokens: TokenResponse,
    previous_refresh: Option<String>,
    connected_at: UnixMillis,
) -> Result<StoredAuth, ConnectorError> {
    let now = env.clock.now();
    let refresh_token = match tokens.refresh_token {
        Some(token) => Some(sealer.seal(
            env.random,
            connection.as_str(),
            "refresh_token",
            &Secret::new(token),
        )?),
        None => previous_refresh,
    };
    Ok(StoredAuth::Oauth {
        account_id: account_id_from_jwt(&tokens.access_token),
        access_token: sealer.seal(
            env.random,
            connection.as_str(),
            "access_token",
            &Secret::new(tokens.access_token),
        )?,
        refresh_token,
        expires_at: now.saturating_add(tokens.expires_in.unwrap_or(3600).saturating_mul(1000)),
        scopes: tokens
            .scope
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect(),
        environment: lever_env.tier.as_str().into(),
        reconnect_needed: false,
        connected_at,
    })
}

/// Finishes OAuth: checks the `state` (known, unused, not expired), exchanges the code and
/// stores the tokens sealed, with Lever's account id and the granted scopes.
pub fn complete_oauth(env: &Env, callback: &Callback) -> Result<Connected, ConnectorError> {
    complete_oauth_from(env, callback).1
}

/// [`complete_oauth`], also answering the connection and connect-portal session the round
/// trip began in (when it began in the portal and its state was valid), success or not.
pub fn complete_oauth_from(
    env: &Env,
    callback: &Callback,
) -> (
    Option<(ConnectionId, String)>,
    Result<Connected, ConnectorError>,
) {
    let mut portal = None;
    let result = finish_oauth(env, callback, &mut portal);
    (portal, result)
}

fn finish_oauth(
    env: &Env,
    callback: &Callback,
    portal: &mut Option<(ConnectionId, String)>,
) -> Result<Connected, ConnectorError> {
    let nonce = callback
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ConnectorError::InvalidInput("the callback has no state".into()))?;
    let client = config::oauth_client(env.config)?;
    let sealer = config::sealer(env.config)?;
    config::lever_environment(env.config)?;
    let state = Store::new(env.kv)
        .take_oauth_state(nonce, &hex_nonce(env))?
        .ok_or_else(|| {
            ConnectorError::Unauthorized(
                "unknown or already used OAuth state; start the connection again".into(),
            )
        })?;
    if let Some(session) = &state.portal_session {
        *portal = Some((state.connection.clone(), session.clone()));
    }
    // The environment the consent was asked in.
    let tier = state.environment.as_deref().map(config::Tier::from_stored);
    let lever_env = config::lever_environment_for(env.config, tier)?;
    let now = env.clock.now();
    if state.expires_at <= now {
        return Err(ConnectorError::Unauthorized(
            "the OAuth state expired (10 minutes); start the connection again".into(),
        ));
    }
    if let Some(error) = &callback.error {
        return Err(ConnectorError::Unauthorized(format!(
            "Lever did not grant access: {error}{}",
            callback
                .error_description
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        )));
    }
    let code = callback
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ConnectorError::InvalidInput("the callback has no code".into()))?;
    let redirect = client.redirect_uri.to_string();
    let request = token_request(
        &lever_env,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect.as_str()),
        ],
    );
    let calls = audit::TokenCalls::new(env, &state.connection, "OAuth code exchange");
    let tokens = match interpret_token(lever::send(&calls.env(), request)?)? {
        TokenAnswer::Tokens(tokens) => tokens,
        TokenAnswer::InvalidGrant(description) => {
            return Err(ConnectorError::Unauthorized(format!(
                "Lever refused the authorization code (invalid_grant{}); start the connection again",
                if description.is_empty() { String::new() } else { format!(": {description}") }
            )))
        }
    };
    let auth = stored_tokens(
        env,
        &sealer,
        &state.connection,
        &lever_env,
        tokens,
        None,
        now,
    )?;
    let StoredAuth::Oauth {
        account_id,
        expires_at,
        scopes,
        ..
    } = &auth
    else {
        return Err(ConnectorError::Internal(
            "unexpected credential kind".into(),
        ));
    };
    let connected = Connected {
        connection: state.connection.clone(),
        account_id: account_id.clone(),
        expires_at: *expires_at,
        missing_scopes: missing_scopes(scopes),
    };
    conn_store(env, &state.connection).set_auth(&auth)?;
    Ok(connected)
}

// ---- per-request credentials ----

/// The message of every call on a connection with no credentials.
pub fn not_connected(connection: &ConnectionId) -> ConnectorError {
    ConnectorError::NotConfigured(format!(
        "connection {connection} is not connected to Lever (connect it with an API key or OAuth)"
    ))
}

fn reconnect_needed(connection: &ConnectionId) -> ConnectorError {
    ConnectorError::Unauthorized(format!(
        "connection {connection} needs to be reconnected: Lever refused its refresh token (invalid_grant)"
    ))
}

/// A Lever client for the connection, refreshing its OAuth token first when it is about to
/// expire (exactly one instance refreshes; the others wait for and re-read its result).
pub fn lever_api(env: &Env, connection: &ConnectionId) -> Result<LeverApi, ConnectorError> {
    lever_api_for(env, connection, None)
}

/// [`lever_api`] for calls that need an OAuth `scope`: an OAuth connection whose grant lacks
/// it is refused (`unauthorized`, naming it) from the same read of its credentials.
pub fn lever_api_for(
    env: &Env,
    connection: &ConnectionId,
    scope: Option<&str>,
) -> Result<LeverApi, ConnectorError> {
    let sealer = config::sealer(env.config)?;
    let (credential, lever_env) = credential(env, &sealer, connection, scope)?;
    Ok(LeverApi::new(lever_env.api_base, credential).throttled(connection.as_str()))
}

/// The Lever environment stored credentials belong to (none: the deployment's).
pub fn stored_tier(auth: &StoredAuth) -> Option<config::Tier> {
    match auth {
        StoredAuth::ApiKey { environment, .. } => {
            environment.as_deref().map(config::Tier::from_stored)
        }
        StoredAuth::Oauth { environment, .. } => Some(config::Tier::from_stored(environment)),
    }
}

/// Chooses a connection's Lever environment: only before it is connected, or to the one
/// it is connected to (credentials belong to one environment).
pub fn set_environment(
    env: &Env,
    connection: &ConnectionId,
    tier: config::Tier,
) -> Result<LeverEnvironment, ConnectorError> {
    let store = conn_store(env, connection);
    if let Some(auth) = store.auth()? {
        let current = config::lever_environment_for(env.config, stored_tier(&auth.value))?;
        if current.tier != tier {
            return Err(ConnectorError::Conflict(format!(
                "connection {connection} is connected to Lever's {}; disconnect it before choosing {}",
                current.tier.as_str(),
                tier.as_str()
            )));
        }
    }
    let chosen = config::lever_environment_for(env.config, Some(tier))?;
    store.set_environment(tier)?;
    Ok(chosen)
}

fn credential(
    env: &Env,
    sealer: &Sealer,
    connection: &ConnectionId,
    scope: Option<&str>,
) -> Result<(Credential, LeverEnvironment), ConnectorError> {
    let store = conn_store(env, connection);
    let deadline = env.clock.now().saturating_add(REFRESH_WAIT_MS);
    // Before a refresh, a token about to expire is refreshed early; after this request
    // refreshed it, any unexpired token is used (Lever may issue short-lived ones).
    let mut margin = REFRESH_MARGIN_MS;
    loop {
        let versioned = store.auth()?.ok_or_else(|| not_connected(connection))?;
        if let Some(scope) = scope {
            check_scope(connection, &versioned.value, scope)?;
        }
        let lever_env = config::lever_environment_for(env.config, stored_tier(&versioned.value))?;
        match &versioned.value {
            StoredAuth::ApiKey { api_key, .. } => {
                return Ok((
                    Credential::ApiKey(sealer.open(connection.as_str(), "api_key", api_key)?),
                    lever_env,
                ))
            }
            StoredAuth::Oauth {
                reconnect_needed: true,
                ..
            } => return Err(reconnect_needed(connection)),
            StoredAuth::Oauth {
                access_token,
                expires_at,
                ..
            } if expires_at.saturating_sub(margin) > env.clock.now() => {
                return Ok((
                    Credential::Bearer(sealer.open(
                        connection.as_str(),
                        "access_token",
                        access_token,
                    )?),
                    lever_env,
                ))
            }
            StoredAuth::Oauth { .. } => {}
        }
        // Expired (or about to): one instance refreshes, the others wait and re-read.
        let lease = Lease {
            holder: hex_nonce(env),
            expires_at: env.clock.now().saturating_add(REFRESH_LEASE_MS),
        };
        if store.acquire_refresh_lock(&lease, env.clock.now())? {
            if margin == 0 {
                store.release_refresh_lock(&lease)?;
                return Err(ConnectorError::Upstream {
                    service: Service::Lever,
                    status: 200,
                    message:
                        "Lever's token endpoint issued an access token that had already expired"
                            .into(),
                });
            }
            let result = refresh(env, sealer, &lever_env, connection, &store);
            store.release_refresh_lock(&lease)?;
            result?;
            margin = 0;
            continue;
        }
        if env.clock.now() >= deadline {
            return Err(ConnectorError::Conflict(format!(
                "waited {}s for another request to refresh the Lever token of connection {connection}; retry",
                REFRESH_WAIT_MS / 1000
            )));
        }
        env.clock.sleep_ms(REFRESH_POLL_MS);
    }
}

/// Refreshes the access token while holding the refresh lock. Lever rotates the refresh
/// token, so the new one is stored (compare-and-swap) before anything uses it.
fn refresh(
    env: &Env,
    sealer: &Sealer,
    lever_env: &LeverEnvironment,
    connection: &ConnectionId,
    store: &ConnStore,
) -> Result<(), ConnectorError> {
    // Re-read under the lock: another instance may have refreshed in the meantime.
    let versioned = store.auth()?.ok_or_else(|| not_connected(connection))?;
    let StoredAuth::Oauth {
        refresh_token,
        expires_at,
        connected_at,
        ..
    } = &versioned.value
    else {
        return Ok(());
    };
    if expires_at.saturating_sub(REFRESH_MARGIN_MS) > env.clock.now() {
        return Ok(());
    }
    let Some(sealed_refresh) = refresh_token else {
        return Err(ConnectorError::Unauthorized(format!(
            "connection {connection}'s access token expired and Lever issued no refresh token (offline_access was not granted); connect it again"
        )));
    };
    let client = config::oauth_client(env.config)?;
    let refresh_secret = sealer.open(connection.as_str(), "refresh_token", sealed_refresh)?;
    let request = token_request(
        lever_env,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_secret.expose()),
        ],
    );
    let calls = audit::TokenCalls::new(env, connection, "OAuth token refresh");
    match interpret_token(lever::send(&calls.env(), request)?)? {
        TokenAnswer::Tokens(tokens) => {
            let auth = stored_tokens(
                env,
                sealer,
                connection,
                lever_env,
                tokens,
                Some(sealed_refresh.clone()),
                *connected_at,
            )?;
            if !store.swap_auth(&versioned.raw, &auth)? {
                return Err(ConnectorError::Conflict(format!(
                    "connection {connection}'s credentials changed during the token refresh; retry"
                )));
            }
            Ok(())
        }
        TokenAnswer::InvalidGrant(_) => {
            let mut marked = versioned.value.clone();
            if let StoredAuth::Oauth {
                reconnect_needed, ..
            } = &mut marked
            {
                *reconnect_needed = true;
            }
            store.swap_auth(&versioned.raw, &marked)?;
            Err(reconnect_needed(connection))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::fake::{FakeConfig, World};
    use crate::io::Clock as _;

    const NOW: u64 = 1_800_000_000_000;

    fn config() -> FakeConfig {
        FakeConfig::from_pairs(&[
            ("lever_api_base", "http://lever.test/v1"),
            ("lever_auth_base", "http://auth.test"),
            ("oauth_client_id", "client-1"),
            ("oauth_client_secret", "planted-client-secret"),
            ("public_base_url", "https://connector.test"),
            (
                "encryption_key",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
        ])
    }

    fn jwt(account: &str) -> String {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!(r#"{{"{ACCOUNT_CLAIM}":"{account}"}}"#));
        format!("eyJhbGciOiJub25lIn0.{payload}.sig")
    }

    fn connection() -> ConnectionId {
        ConnectionId::parse("acme").unwrap()
    }

    fn state_of(url: &str) -> String {
        let query = url.split_once('?').unwrap().1;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned()
    }

    #[test]
    fn missing_scopes_know_write_covers_read() {
        let granted: Vec<String> = SCOPES.iter().map(|(s, _)| s.to_string()).collect();
        assert!(missing_scopes(&granted).is_empty());
        let mut partial: Vec<String> = granted
            .iter()
            .filter(|s| !s.starts_with("webhooks") && !s.starts_with("stages"))
            .cloned()
            .collect();
        partial.push("stages:write:admin".into());
        let missing = missing_scopes(&partial);
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].scope, "webhooks:write:admin");
    }

    #[test]
    fn the_authorize_url_carries_audience_scopes_and_a_fresh_state() {
        let world = World::new(config(), NOW);
        let url = begin_oauth(&world.env(), &connection()).unwrap();
        assert!(url.starts_with("http://auth.test/authorize?client_id=client-1&redirect_uri=https%3A%2F%2Fconnector.test%2Foauth%2Fcallback&response_type=code&state="), "{url}");
        assert!(
            url.contains("audience=http%3A%2F%2Flever.test%2Fv1%2F"),
            "{url}"
        );
        assert!(url.contains("offline_access"), "{url}");
        assert_ne!(
            state_of(&url),
            state_of(&begin_oauth(&world.env(), &connection()).unwrap())
        );
    }

    #[test]
    fn the_callback_exchanges_the_code_once_and_stores_sealed_tokens() {
        let world = World::new(config(), NOW);
        let url = begin_oauth(&world.env(), &connection()).unwrap();
        let callback = Callback {
            code: Some("code-1".into()),
            state: Some(state_of(&url)),
            ..Callback::default()
        };
        world.http.respond(
            200,
            &format!(
                r#"{{"access_token":"{}","refresh_token":"planted-refresh","token_type":"Bearer","expires_in":3600,"scope":"offline_access webhooks:write:admin"}}"#,
                jwt("acct-1")
            ),
        );
        let connected = complete_oauth(&world.env(), &callback).unwrap();
        assert_eq!(connected.account_id.as_deref(), Some("acct-1"));
        assert!(connected
            .missing_scopes
            .iter()
            .any(|m| m.scope == "stages:read:admin"));
        let sent = world.http.sent.borrow();
        let body = String::from_utf8(sent[0].body.clone().unwrap()).unwrap();
        assert!(body.contains("grant_type=authorization_code"), "{body}");
        assert!(body.contains("code=code-1"), "{body}");
        let stored: String = world
            .kv
            .0
            .borrow()
            .values()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        assert!(!stored.contains("planted-refresh"));
        drop(sent);
        // The same state again is refused.
        assert!(matches!(
            complete_oauth(&world.env(), &callback),
            Err(ConnectorError::Unauthorized(_))
        ));
    }

    #[test]
    fn an_expired_state_is_refused() {
        let world = World::new(config(), NOW);
        let url = begin_oauth(&world.env(), &connection()).unwrap();
        world.clock.sleep_ms(STATE_TTL_MS + 1);
        let error = complete_oauth(
            &world.env(),
            &Callback {
                code: Some("c".into()),
                state: Some(state_of(&url)),
                ..Callback::default()
            },
        )
        .unwrap_err();
        assert!(
            matches!(&error, ConnectorError::Unauthorized(m) if m.contains("expired")),
            "{error:?}"
        );
        assert!(world.http.sent.borrow().is_empty());
    }

    fn connect(world: &World) {
        let url = begin_oauth(&world.env(), &connection()).unwrap();
        world.http.respond(
            200,
            &format!(
                r#"{{"access_token":"{}","refresh_token":"r1","expires_in":3600,"scope":"offline_access"}}"#,
                jwt("acct-1")
            ),
        );
        complete_oauth(
            &world.env(),
            &Callback {
                code: Some("c".into()),
                state: Some(state_of(&url)),
                ..Callback::default()
            },
        )
        .unwrap();
    }

    #[test]
    fn an_expired_token_is_refreshed_and_the_rotated_refresh_token_kept() {
        let world = World::new(config(), NOW);
        connect(&world);
        world.clock.sleep_ms(3600 * 1000);
        world.http.respond(
            200,
            &format!(
                r#"{{"access_token":"{}","refresh_token":"r2","expires_in":3600}}"#,
                jwt("acct-1")
            ),
        );
        let api = lever_api(&world.env(), &connection()).unwrap();
        let request = api.request(Method::Get, &["stages"], &[], None);
        assert!(request
            .header("authorization")
            .unwrap()
            .starts_with("Bearer eyJ"));
        let sent = world.http.sent.borrow();
        let body = String::from_utf8(sent[1].body.clone().unwrap()).unwrap();
        assert!(
            body.contains("grant_type=refresh_token&refresh_token=r1"),
            "{body}"
        );
        drop(sent);
        // The next refresh uses the rotated token.
        world.clock.sleep_ms(3600 * 1000);
        world.http.respond(
            200,
            r#"{"access_token":"a3","refresh_token":"r3","expires_in":3600}"#,
        );
        lever_api(&world.env(), &connection()).unwrap();
        let body = String::from_utf8(world.http.sent.borrow()[2].body.clone().unwrap()).unwrap();
        assert!(body.contains("refresh_token=r2"), "{body}");
    }

    #[test]
    fn invalid_grant_marks_the_connection_for_reconnect() {
        let world = World::new(config(), NOW);
        connect(&world);
        world.clock.sleep_ms(3600 * 1000);
        world.http.respond(
            400,
            r#"{"error":"invalid_grant","error_description":"revoked"}"#,
        );
        let error = lever_api(&world.env(), &connection()).unwrap_err();
        assert!(matches!(&error, ConnectorError::Unauthorized(m) if m.contains("reconnected")));
        // No second refresh attempt: the connection is marked.
        assert!(lever_api(&world.env(), &connection()).is_err());
        assert_eq!(world.http.sent.borrow().len(), 2);
    }

    #[test]
    fn a_short_lived_refreshed_token_is_used_not_refreshed_again() {
        let world = World::new(config(), NOW);
        connect(&world);
        world.clock.sleep_ms(3600 * 1000);
        world.http.respond(
            200,
            r#"{"access_token":"a2","refresh_token":"r2","expires_in":30}"#,
        );
        let api = lever_api(&world.env(), &connection()).unwrap();
        let request = api.request(Method::Get, &["stages"], &[], None);
        assert_eq!(request.header("authorization"), Some("Bearer a2"));
        assert_eq!(
            world.http.sent.borrow().len(),
            2,
            "one exchange, one refresh"
        );
    }

    #[test]
    fn a_held_refresh_lock_makes_others_wait_for_its_result() {
        let world = World::new(config(), NOW);
        connect(&world);
        world.clock.sleep_ms(3600 * 1000);
        let store = conn_store(&world.env(), &connection());
        let lease = Lease {
            holder: "other".into(),
            expires_at: world.clock.now() + REFRESH_LEASE_MS,
        };
        assert!(store
            .acquire_refresh_lock(&lease, world.clock.now())
            .unwrap());
        // The other holder never finishes: after its lease lapses this request refreshes.
        world.http.respond(
            200,
            r#"{"access_token":"a2","refresh_token":"r2","expires_in":3600}"#,
        );
        lever_api(&world.env(), &connection()).unwrap();
        assert_eq!(world.http.sent.borrow().len(), 2);
        assert!(world.clock.now() >= lease.expires_at);
    }
}
