//! Lever's OAuth server, simulated: authorize (consent by redirect), the token endpoint
//! (authorization code and refresh, with refresh-token rotation and expiry), and JWT access
//! tokens carrying the account id.
//!
//! Choices where Lever is unconfirmed: a rotated refresh token stops working at once (the
//! strictest reading, so a connector that loses the new one is caught); codes live 10
//! minutes and are single use.

use std::collections::HashMap;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::signing::random_token;

/// The OAuth client the simulator knows.
pub const CLIENT_ID: &str = "sim-client-id";
/// Its secret.
pub const CLIENT_SECRET: &str = "sim-client-secret";
/// How long an access token lives unless told otherwise, seconds.
pub const ACCESS_TTL_SECS: u64 = 3600;
const CODE_TTL_MS: u64 = 10 * 60 * 1000;
const JWT_KEY: &[u8] = b"lever-sim-jwt-signing-key";

/// What a token was granted for.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The account.
    pub account: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The consenting user.
    pub user: String,
    /// When it stops working (ms).
    pub expires_at: u64,
}

#[derive(Debug, Clone)]
struct Code {
    grant: Grant,
    redirect_uri: String,
}

/// The OAuth server's state.
#[derive(Debug, Default)]
pub struct OAuth {
    codes: HashMap<String, Code>,
    /// Access token → grant.
    pub access: HashMap<String, Grant>,
    refresh: HashMap<String, Grant>,
    /// Refreshes answered successfully.
    pub refreshes: u64,
    /// Refresh attempts with a dead refresh token.
    pub rejected_refreshes: u64,
    /// TTLs (seconds) for the next issued access tokens, used first to last.
    pub next_ttls: Vec<u64>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWT like Lever's: HS256 over claims carrying the user, account and client ids.
pub fn jwt(grant: &Grant, now_ms: u64) -> String {
    let header = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = json!({
        "https://oauth.lever.co/userId": grant.user,
        "https://oauth.lever.co/accountId": grant.account,
        "https://oauth.lever.co/clientId": CLIENT_ID,
        "iat": now_ms / 1000,
        "exp": grant.expires_at / 1000,
        "scope": grant.scopes.join(" "),
        "jti": random_token(16),
    });
    let payload = b64(claims.to_string().as_bytes());
    let mut mac = Hmac::<Sha256>::new_from_slice(JWT_KEY).expect("any key length");
    mac.update(format!("{header}.{payload}").as_bytes());
    format!("{header}.{payload}.{}", b64(&mac.finalize().into_bytes()))
}

/// An OAuth error answer: `(status, {error, error_description})`.
pub fn oauth_error(status: u16, error: &str, description: &str) -> (u16, Value) {
    (
        status,
        json!({ "error": error, "error_description": description }),
    )
}

impl OAuth {
    /// Every access and refresh token issued so far.
    pub fn issued(&self) -> Vec<String> {
        self.access
            .keys()
            .chain(self.refresh.keys())
            .cloned()
            .collect()
    }

    /// Records consent and answers the code to redirect with.
    pub fn consent(&mut self, grant: Grant, redirect_uri: &str, now_ms: u64) -> String {
        let code = random_token(32);
        self.codes.insert(
            code.clone(),
            Code {
                grant: Grant {
                    expires_at: now_ms + CODE_TTL_MS,
                    ..grant
                },
                redirect_uri: redirect_uri.to_string(),
            },
        );
        code
    }

    fn issue(&mut self, grant: &Grant, now_ms: u64) -> Value {
        let ttl = if self.next_ttls.is_empty() {
            ACCESS_TTL_SECS
        } else {
            self.next_ttls.remove(0)
        };
        let access_grant = Grant {
            expires_at: now_ms + ttl * 1000,
            ..grant.clone()
        };
        let access = jwt(&access_grant, now_ms);
        self.access.insert(access.clone(), access_grant);
        let mut body = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": grant.scopes.join(" "),
        });
        if grant.scopes.iter().any(|s| s == "offline_access") {
            let refresh = random_token(40);
            self.refresh.insert(
                refresh.clone(),
                Grant {
                    // A refresh token dies a year after issue (and after 90 idle days).
                    expires_at: now_ms + 90 * 24 * 3600 * 1000,
                    ..grant.clone()
                },
            );
            body["refresh_token"] = json!(refresh);
        }
        body
    }

    /// The token endpoint, for a parsed form.
    pub fn token(&mut self, form: &HashMap<String, String>, now_ms: u64) -> (u16, Value) {
        let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
        if field("client_id") != CLIENT_ID || field("client_secret") != CLIENT_SECRET {
            return oauth_error(401, "invalid_client", "Unknown client or wrong secret");
        }
        match field("grant_type") {
            "authorization_code" => {
                let Some(code) = self.codes.remove(field("code")) else {
                    return oauth_error(403, "invalid_grant", "Invalid authorization code");
                };
                if code.grant.expires_at <= now_ms {
                    return oauth_error(403, "invalid_grant", "Authorization code expired");
                }
                if code.redirect_uri != field("redirect_uri") {
                    return oauth_error(403, "invalid_grant", "redirect_uri does not match");
                }
                (200, self.issue(&code.grant, now_ms))
            }
            "refresh_token" => {
                // Rotation: the presented refresh token is spent either way.
                match self.refresh.remove(field("refresh_token")) {
                    Some(grant) if grant.expires_at > now_ms => {
                        self.refreshes += 1;
                        (200, self.issue(&grant, now_ms))
                    }
                    _ => {
                        self.rejected_refreshes += 1;
                        oauth_error(403, "invalid_grant", "Unknown or expired refresh token")
                    }
                }
            }
            other => oauth_error(
                400,
                "unsupported_grant_type",
                &format!("grant_type {other:?}"),
            ),
        }
    }

    /// Kills every refresh token of `account` (an admin revoked the app).
    pub fn revoke(&mut self, account: &str) -> usize {
        let before = self.refresh.len();
        self.refresh.retain(|_, g| g.account != account);
        before - self.refresh.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn refresh_tokens_rotate_and_the_old_one_dies() {
        let mut oauth = OAuth::default();
        let grant = Grant {
            account: "a".into(),
            scopes: vec!["offline_access".into()],
            user: "u".into(),
            expires_at: 0,
        };
        let code = oauth.consent(grant, "https://cb", 0);
        let client = [("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)];
        let mut exchange = form(&client);
        exchange.extend(form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://cb"),
        ]));
        let (status, body) = oauth.token(&exchange, 1);
        assert_eq!(status, 200);
        let r1 = body["refresh_token"].as_str().unwrap().to_string();
        let mut refresh = form(&client);
        refresh.extend(form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r1),
        ]));
        let (status, body) = oauth.token(&refresh, 2);
        assert_eq!(status, 200);
        assert_ne!(body["refresh_token"].as_str().unwrap(), r1);
        assert_eq!(oauth.token(&refresh, 3).1["error"], "invalid_grant");
        // The code was single use.
        assert_eq!(oauth.token(&exchange, 4).1["error"], "invalid_grant");
    }
}
