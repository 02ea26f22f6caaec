//! The connect portal: a setup page the partner's customer (a Lever admin) opens from the
//! partner platform, served by the component itself.
//!
//! Access: the partner asks `POST /connections/{c}/portal-link` for a URL carrying a token
//! (`base64url(v1:<connection>:<nonce>:<expiry ms>)` `.` `base64url(HMAC-SHA256)`, keyed by
//! a key derived from `encryption_key`). Its first load checks the signature, the connection
//! and the expiry, uses the link's record once (compare-and-swap), starts a session (a random
//! id in an `HttpOnly`, `SameSite=Lax` cookie scoped to `/portal/{c}`, `Secure` over https)
//! and redirects to the bare page, so the token leaves the address bar. Sessions live under
//! their connection's keys: one connection's cookie finds nothing under another's.
//!
//! Every form posts to `/portal/{c}/{action}` with the session's CSRF token and runs the same
//! function as the matching partner route; the result comes back as a one-time message on the
//! page (post/redirect/get).

mod page;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::auth;
use crate::config;
use crate::error::ConnectorError;
use crate::http_face::Reply;
use crate::io::{Env, HttpUrl, UnixMillis};
use crate::setup::{self, webhooks};
use crate::store::{ConnStore, ConnectionId, Flash, PartnerRole, PortalLink, PortalSession, Store};

/// How long a link opens, unless the partner asks otherwise.
pub const DEFAULT_LINK_TTL_SECS: u64 = 15 * 60;
/// The longest link lifetime a partner may ask for.
pub const MAX_LINK_TTL_SECS: u64 = 60 * 60;
/// How long a session lasts after the link opened.
pub const SESSION_TTL_MS: u64 = 60 * 60 * 1000;
/// The session cookie.
pub const COOKIE: &str = "lever_portal";
/// The largest form a portal action accepts.
pub const MAX_FORM_BYTES: usize = 16 * 1024;
const MAX_ROLES: usize = 200;
const MAX_PARTNER_STAGES: usize = 100;

/// A portal request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortalRoute {
    /// `GET /portal/{c}[?token=…]`.
    Page {
        /// The link's token (first load only).
        token: Option<String>,
    },
    /// `POST /portal/{c}/{action}`.
    Action(Action),
}

/// What a portal form does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Connect with a Lever API key.
    ApiKey,
    /// Start OAuth (connect or reconnect).
    OAuth,
    /// Choose the user writes are attributed to.
    PerformAs,
    /// Link (or unlink) one partner role to a posting.
    Role,
    /// Save the stage map and the upload stage.
    StageMap,
    /// Install or repair the webhooks.
    Webhooks,
    /// Disconnect.
    Disconnect,
}

impl Action {
    /// The action for a path segment.
    pub fn parse(segment: &str) -> Option<Self> {
        Some(match segment {
            "api-key" => Action::ApiKey,
            "oauth" => Action::OAuth,
            "perform-as" => Action::PerformAs,
            "role" => Action::Role,
            "stage-map" => Action::StageMap,
            "webhooks" => Action::Webhooks,
            "disconnect" => Action::Disconnect,
            _ => return None,
        })
    }

    fn segment(self) -> &'static str {
        match self {
            Action::ApiKey => "api-key",
            Action::OAuth => "oauth",
            Action::PerformAs => "perform-as",
            Action::Role => "role",
            Action::StageMap => "stage-map",
            Action::Webhooks => "webhooks",
            Action::Disconnect => "disconnect",
        }
    }

    /// The page section the action belongs to.
    fn anchor(self) -> &'static str {
        match self {
            Action::ApiKey | Action::OAuth => "lever",
            Action::PerformAs => "user",
            Action::Role => "roles",
            Action::StageMap => "stages",
            Action::Webhooks => "webhooks",
            Action::Disconnect => "disconnect",
        }
    }
}

/// The static files the page uses.
pub fn asset(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "portal.css" => Some(("text/css; charset=utf-8", include_str!("portal.css"))),
        "portal.js" => Some(("text/javascript; charset=utf-8", include_str!("portal.js"))),
        _ => None,
    }
}

/// `POST /connections/{c}/portal-link`: what the partner sends.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkRequest {
    /// The partner's roles the admin links to Lever postings.
    #[serde(default)]
    pub roles: Vec<PartnerRole>,
    /// The partner's stages the admin maps Lever stages to.
    #[serde(default)]
    pub partner_stages: Vec<String>,
    /// Link lifetime in seconds (default 900, at most 3600).
    #[serde(default)]
    pub expires_in_secs: Option<u64>,
}

/// The answer: the URL to send the admin to, and until when it opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortalLinkAnswer {
    /// The link (single use).
    pub url: String,
    /// When it stops opening.
    pub expires_at: UnixMillis,
}

fn base_url(env: &Env) -> Result<HttpUrl, ConnectorError> {
    config::public_base_url(env.config)
}

fn sign(key: &[u8; 32], payload: &[u8]) -> Result<Vec<u8>, ConnectorError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .map_err(|_| ConnectorError::Internal("portal key".into()))?;
    mac.update(payload);
    Ok(mac.finalize().into_bytes().to_vec())
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Creates a single-use portal link for a connection.
pub fn create_link(
    env: &Env,
    connection: &ConnectionId,
    request: &LinkRequest,
) -> Result<PortalLinkAnswer, ConnectorError> {
    if request.roles.len() > MAX_ROLES || request.partner_stages.len() > MAX_PARTNER_STAGES {
        return Err(ConnectorError::InvalidInput(format!(
            "at most {MAX_ROLES} roles and {MAX_PARTNER_STAGES} partner stages"
        )));
    }
    for role in &request.roles {
        setup::require_id("role id", &role.id)?;
        if role.title.len() > 256 {
            return Err(ConnectorError::InvalidInput(
                "a role title is at most 256 characters".into(),
            ));
        }
    }
    for stage in &request.partner_stages {
        setup::require_id("partner stage", stage)?;
    }
    let ttl = request.expires_in_secs.unwrap_or(DEFAULT_LINK_TTL_SECS);
    if ttl == 0 || ttl > MAX_LINK_TTL_SECS {
        return Err(ConnectorError::InvalidInput(format!(
            "expiresInSecs must be 1 to {MAX_LINK_TTL_SECS}"
        )));
    }
    let key = config::portal_key(env.config)?;
    let base = base_url(env)?;
    let expires_at = env.clock.now().saturating_add(ttl * 1000);
    let nonce = hex::encode(env.random.bytes(16));
    Store::new(env.kv).connection(connection).put_portal_link(
        &nonce,
        &PortalLink {
            expires_at,
            roles: request.roles.clone(),
            partner_stages: request.partner_stages.clone(),
            used: false,
            used_by: None,
        },
    )?;
    let payload = format!("v1:{connection}:{nonce}:{expires_at}");
    let token = format!(
        "{}.{}",
        b64(payload.as_bytes()),
        b64(&sign(&key, payload.as_bytes())?)
    );
    let url = base.join(
        &["portal", connection.as_str()],
        &[("token", token.as_str())],
    );
    Ok(PortalLinkAnswer {
        url: url.to_string(),
        expires_at,
    })
}

/// Why a link does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// Not a token we signed (or for another connection).
    Forged,
    /// Past its expiry.
    Expired,
    /// Opened before.
    Used,
}

/// Checks a token's signature, connection and expiry; the nonce when it holds.
pub fn check_token(
    key: &[u8; 32],
    connection: &ConnectionId,
    token: &str,
    now: UnixMillis,
) -> Result<String, LinkRefusal> {
    let decode = |part: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| LinkRefusal::Forged)
    };
    let (payload, signature) = token.split_once('.').ok_or(LinkRefusal::Forged)?;
    let payload = decode(payload)?;
    let signature = decode(signature)?;
    let expected = sign(key, &payload).map_err(|_| LinkRefusal::Forged)?;
    if !bool::from(expected.ct_eq(&signature)) {
        return Err(LinkRefusal::Forged);
    }
    let payload = String::from_utf8(payload).map_err(|_| LinkRefusal::Forged)?;
    let mut parts = payload.split(':');
    let (Some("v1"), Some(c), Some(nonce), Some(expires_at), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(LinkRefusal::Forged);
    };
    if c != connection.as_str() {
        return Err(LinkRefusal::Forged);
    }
    let expires_at: UnixMillis = expires_at.parse().map_err(|_| LinkRefusal::Forged)?;
    if expires_at <= now {
        return Err(LinkRefusal::Expired);
    }
    Ok(nonce.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The session ids the request's cookies carry.
fn session_ids(headers: &[(String, String)]) -> Vec<String> {
    header(headers, "cookie")
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE && !value.is_empty() && value.len() <= 128).then(|| value.to_string())
        })
        .collect()
}

/// The request's live session on this connection.
fn session(
    env: &Env,
    store: &ConnStore,
    headers: &[(String, String)],
) -> Result<Option<(String, PortalSession)>, ConnectorError> {
    let now = env.clock.now();
    for id in session_ids(headers) {
        if let Some(session) = store.portal_session(&id)? {
            if session.expires_at > now {
                return Ok(Some((id, session)));
            }
        }
    }
    Ok(None)
}

/// The HTML headers every portal page carries.
fn html_reply(env: &Env, status: u16, body: String) -> Reply {
    let form_action: String = config::lever_environments(env.config)
        .unwrap_or_default()
        .iter()
        .map(|e| {
            format!(
                " {}://{}",
                e.authorize_url.scheme(),
                e.authorize_url.authority()
            )
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    Reply {
        status,
        headers: vec![
            ("content-type".into(), "text/html; charset=utf-8".into()),
            ("cache-control".into(), "no-store".into()),
            (
                "content-security-policy".into(),
                format!(
                    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                     form-action 'self'{form_action}; frame-ancestors 'none'; base-uri 'none'"
                ),
            ),
            ("x-content-type-options".into(), "nosniff".into()),
            ("referrer-policy".into(), "no-referrer".into()),
            ("x-frame-options".into(), "DENY".into()),
        ],
        body: body.into_bytes(),
    }
}

fn redirect(env: &Env, status: u16, location: &str, cookie: Option<String>) -> Reply {
    let mut reply = html_reply(env, status, String::new());
    reply.headers.push(("location".into(), location.into()));
    if let Some(cookie) = cookie {
        reply.headers.push(("set-cookie".into(), cookie));
    }
    reply
}

/// A page that says why the portal does not open, and nothing else.
fn refusal(env: &Env, status: u16, title: &str, text: &str) -> Reply {
    let partner = config::partner_name(env.config).unwrap_or_else(|_| "the partner".into());
    html_reply(env, status, page::refusal(title, text, &partner))
}

fn error_page(env: &Env, error: &ConnectorError) -> Reply {
    refusal(
        env,
        error.http_status(),
        "The Lever settings cannot open",
        &plain_words(error),
    )
}

/// An error in plain words for an admin.
pub fn plain_words(error: &ConnectorError) -> String {
    match error {
        ConnectorError::InvalidInput(m) => format!("That was not accepted: {m}."),
        ConnectorError::Unauthorized(m) => format!("Lever did not accept it: {m}."),
        ConnectorError::NotFound(m) => format!("Not found: {m}."),
        ConnectorError::Conflict(m) => {
            format!("Something changed at the same time ({m}); try again.")
        }
        ConnectorError::TooLarge(limit) => format!("The form is larger than {limit} bytes."),
        ConnectorError::RateLimited { .. } => {
            "Lever is limiting requests right now; wait a few seconds and try again.".into()
        }
        ConnectorError::Upstream { status: 0, .. } => {
            "Lever could not be reached; try again in a minute.".into()
        }
        ConnectorError::Upstream {
            status, message, ..
        } => {
            format!("Lever answered with an error ({status}): {message}.")
        }
        ConnectorError::NotConfigured(key) => {
            format!(
                "This connector is not fully set up by the partner yet (missing setting: {key})."
            )
        }
        ConnectorError::Unsupported(m) => format!("Not supported yet: {m}."),
        ConnectorError::Internal(_) => {
            "Something went wrong on our side; try again, and tell the partner if it persists."
                .into()
        }
    }
}

/// Answers a portal request.
pub fn respond(
    env: &Env,
    connection: &ConnectionId,
    route: PortalRoute,
    headers: &[(String, String)],
    body: &[u8],
) -> Reply {
    let result = match route {
        PortalRoute::Page { token: Some(token) } => open_link(env, connection, &token),
        PortalRoute::Page { token: None } => show(env, connection, headers),
        PortalRoute::Action(action) => act(env, connection, action, headers, body),
    };
    result.unwrap_or_else(|error| error_page(env, &error))
}

fn page_url(env: &Env, connection: &ConnectionId) -> Result<HttpUrl, ConnectorError> {
    Ok(base_url(env)?.join(&["portal", connection.as_str()], &[]))
}

fn session_cookie(
    env: &Env,
    connection: &ConnectionId,
    value: &str,
    max_age_secs: u64,
) -> Result<String, ConnectorError> {
    let url = page_url(env, connection)?;
    let path = url
        .path_and_query()
        .split('?')
        .next()
        .unwrap_or("/")
        .to_string();
    let secure = if url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    Ok(format!(
        "{COOKIE}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}"
    ))
}

fn open_link(env: &Env, connection: &ConnectionId, token: &str) -> Result<Reply, ConnectorError> {
    let key = config::portal_key(env.config)?;
    let now = env.clock.now();
    let store = Store::new(env.kv).connection(connection);
    let nonce = match check_token(&key, connection, token, now) {
        Ok(nonce) => nonce,
        Err(refused) => return Ok(link_refused(env, refused)),
    };
    let link = match store.take_portal_link(&nonce, &hex::encode(env.random.bytes(8)))? {
        Ok(link) => link,
        Err(true) => return Ok(link_refused(env, LinkRefusal::Used)),
        Err(false) => return Ok(link_refused(env, LinkRefusal::Forged)),
    };
    if link.expires_at <= now {
        return Ok(link_refused(env, LinkRefusal::Expired));
    }
    let id = hex::encode(env.random.bytes(32));
    store.start_portal_session(
        &id,
        &PortalSession {
            expires_at: now.saturating_add(SESSION_TTL_MS),
            roles: link.roles,
            partner_stages: link.partner_stages,
            csrf: hex::encode(env.random.bytes(32)),
            flash: None,
        },
    )?;
    let cookie = session_cookie(env, connection, &id, SESSION_TTL_MS / 1000)?;
    Ok(redirect(
        env,
        303,
        &page_url(env, connection)?.to_string(),
        Some(cookie),
    ))
}

fn link_refused(env: &Env, refused: LinkRefusal) -> Reply {
    match refused {
        LinkRefusal::Forged => refusal(
            env,
            403,
            "This link is not valid",
            "The link is damaged or was not made for this account. Open the Lever settings again from the partner platform.",
        ),
        LinkRefusal::Expired => refusal(
            env,
            410,
            "This link has expired",
            "Links to the Lever settings work for a short time only. Open the Lever settings again from the partner platform to get a fresh one.",
        ),
        LinkRefusal::Used => refusal(
            env,
            410,
            "This link was already used",
            "Each link opens the Lever settings once. Open the Lever settings again from the partner platform to get a fresh one.",
        ),
    }
}

fn session_ended(env: &Env) -> Reply {
    refusal(
        env,
        401,
        "Your session has ended",
        "Open the Lever settings again from the partner platform.",
    )
}

fn show(
    env: &Env,
    connection: &ConnectionId,
    headers: &[(String, String)],
) -> Result<Reply, ConnectorError> {
    let store = Store::new(env.kv).connection(connection);
    let Some((id, mut session)) = session(env, &store, headers)? else {
        return Ok(session_ended(env));
    };
    let flash = session.flash.take();
    if flash.is_some() {
        store.set_portal_session(&id, &session)?;
    }
    let view = page::View::gather(env, connection, &session, flash)?;
    Ok(html_reply(env, 200, page::render(&view)))
}

/// Leaves a message for the session's next page.
pub fn set_flash(
    env: &Env,
    connection: &ConnectionId,
    session_id: &str,
    flash: Flash,
) -> Result<(), ConnectorError> {
    let store = Store::new(env.kv).connection(connection);
    if let Some(mut session) = store.portal_session(session_id)? {
        session.flash = Some(flash);
        store.set_portal_session(session_id, &session)?;
    }
    Ok(())
}

/// Where the OAuth callback sends a browser that began in the portal, with the outcome as
/// the page's message.
pub fn oauth_returned(
    env: &Env,
    connection: &ConnectionId,
    session_id: &str,
    result: &Result<auth::Connected, ConnectorError>,
) -> Reply {
    let flash = match result {
        Ok(connected) => Flash {
            ok: true,
            text: match &connected.account_id {
                Some(account) => format!("Connected to Lever (account {account})."),
                None => "Connected to Lever.".into(),
            },
            section: "lever".into(),
        },
        Err(error) => Flash {
            ok: false,
            text: format!("Connecting to Lever failed. {}", plain_words(error)),
            section: "lever".into(),
        },
    };
    match set_flash(env, connection, session_id, flash).and_then(|()| page_url(env, connection)) {
        Ok(url) => redirect(env, 303, &format!("{url}#lever"), None),
        Err(error) => error_page(env, &error),
    }
}

/// A portal form (`application/x-www-form-urlencoded`) as name/value pairs, in order.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn act(
    env: &Env,
    connection: &ConnectionId,
    action: Action,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Reply, ConnectorError> {
    let store = Store::new(env.kv).connection(connection);
    let Some((id, session)) = session(env, &store, headers)? else {
        return Ok(session_ended(env));
    };
    let form = parse_form(body);
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let presented = field("csrf");
    if !bool::from(presented.as_bytes().ct_eq(session.csrf.as_bytes())) {
        return Ok(refusal(
            env,
            403,
            "This form is out of date",
            "The form did not come from this page. Reload the Lever settings and try again.",
        ));
    }
    let recorder = crate::audit::Recorder::new(
        env,
        connection,
        format!("connect portal: {}", action.segment()),
        false,
    );
    let env = &recorder.env();
    let outcome: Result<String, ConnectorError> = match action {
        Action::OAuth => {
            let url = auth::begin_oauth_from(env, connection, Some(&id))?;
            return Ok(redirect(env, 303, &url, None));
        }
        Action::ApiKey => auth::connect_api_key(env, connection, &field("api_key"))
            .map(|()| "Connected to Lever with the API key.".to_string()),
        Action::PerformAs => setup::set_perform_as(env, connection, &field("user_id"))
            .map(|user| format!("Changes in Lever are now made as {}.", user.name)),
        Action::Role => {
            let role = field("role");
            let posting = field("posting_id");
            let name = session
                .roles
                .iter()
                .find(|r| r.id == role && !r.title.is_empty())
                .map_or_else(|| role.clone(), |r| r.title.clone());
            if posting.is_empty() {
                setup::unlink_role(env, connection, &role)
                    .map(|()| format!("{name} is no longer linked to a posting."))
            } else {
                setup::link_role(env, connection, &role, &posting)
                    .map(|p| format!("{name} is linked to \"{}\".", p.text))
            }
        }
        Action::StageMap => save_stage_map(env, connection, &form, &field("upload_stage")),
        Action::Webhooks => webhooks::install(env, connection).map(|report| {
            format!(
                "Webhooks are installed ({} in Lever). A Lever Super Admin still has to switch on any that await enablement.",
                report.webhooks.len()
            )
        }),
        Action::Disconnect => {
            if field("confirm") != "yes" {
                Err(ConnectorError::InvalidInput(
                    "tick the box to confirm the disconnection".into(),
                ))
            } else {
                setup::disconnect(env, connection, false).map(|d| {
                    format!(
                        "Disconnected from Lever; {} webhook(s) removed. Role links and the stage map are kept for a reconnect.",
                        d.removed_webhooks.len()
                    )
                })
            }
        }
    };
    let (ok, text) = match outcome {
        Ok(text) => (true, text),
        Err(error) => (false, plain_words(&error)),
    };
    let flash = Flash {
        ok,
        text,
        section: action.anchor().into(),
    };
    set_flash(env, connection, &id, flash)?;
    let url = page_url(env, connection)?;
    Ok(redirect(
        env,
        303,
        &format!("{url}#{}", action.anchor()),
        None,
    ))
}

/// The stage map form: `stage.<lever stage id>` = partner stage (empty: unmapped), and the
/// upload stage (empty: the default rule).
fn save_stage_map(
    env: &Env,
    connection: &ConnectionId,
    form: &[(String, String)],
    upload_stage: &str,
) -> Result<String, ConnectorError> {
    let pairs: Vec<(String, String)> = form
        .iter()
        .filter_map(|(k, v)| {
            let stage = k.strip_prefix("stage.")?;
            let partner = v.trim();
            (!partner.is_empty()).then(|| (stage.to_string(), partner.to_string()))
        })
        .collect();
    let map = setup::set_stage_map(env, connection, &pairs)?;
    let upload = setup::set_upload_stage(
        env,
        connection,
        (!upload_stage.is_empty()).then_some(upload_stage),
    )?;
    Ok(format!(
        "Stage mapping saved: {} Lever stage(s) mapped; new candidates go to {}.",
        map.len(),
        match upload {
            Some(stage) => format!("\"{}\"", stage.text),
            None => "the default stage".into(),
        }
    ))
}

/// The form action URL of `action` on a connection's page.
fn action_url(base: &HttpUrl, connection: &ConnectionId, action: Action) -> String {
    base.join(&["portal", connection.as_str(), action.segment()], &[])
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acme() -> ConnectionId {
        ConnectionId::parse("acme").unwrap()
    }

    fn token_for(key: &[u8; 32], payload: &str) -> String {
        format!(
            "{}.{}",
            b64(payload.as_bytes()),
            b64(&sign(key, payload.as_bytes()).unwrap())
        )
    }

    #[test]
    fn tokens_hold_only_for_their_connection_until_they_expire() {
        let key = [7u8; 32];
        let token = token_for(&key, "v1:acme:abcd:2000");
        assert_eq!(check_token(&key, &acme(), &token, 1999), Ok("abcd".into()));
        assert_eq!(
            check_token(&key, &acme(), &token, 2000),
            Err(LinkRefusal::Expired)
        );
        let globex = ConnectionId::parse("globex").unwrap();
        assert_eq!(
            check_token(&key, &globex, &token, 0),
            Err(LinkRefusal::Forged)
        );
        assert_eq!(
            check_token(&[8u8; 32], &acme(), &token, 0),
            Err(LinkRefusal::Forged)
        );
        // A payload edited after signing (a later expiry) fails the signature.
        let (_, signature) = token.split_once('.').unwrap();
        let edited = format!("{}.{signature}", b64(b"v1:acme:abcd:9999"));
        assert_eq!(
            check_token(&key, &acme(), &edited, 0),
            Err(LinkRefusal::Forged)
        );
        for junk in ["", ".", "abc", "a.b.c", &token_for(&key, "v1:acme:abcd")] {
            assert_eq!(
                check_token(&key, &acme(), junk, 0),
                Err(LinkRefusal::Forged),
                "{junk}"
            );
        }
    }

    #[test]
    fn cookies_are_read_by_name_only() {
        let headers = vec![(
            "cookie".to_string(),
            "other=1; lever_portal=abc; x=lever_portal=zzz".to_string(),
        )];
        assert_eq!(session_ids(&headers), ["abc"]);
        assert!(session_ids(&[]).is_empty());
    }

    #[test]
    fn actions_round_trip_their_segments() {
        for action in [
            Action::ApiKey,
            Action::OAuth,
            Action::PerformAs,
            Action::Role,
            Action::StageMap,
            Action::Webhooks,
            Action::Disconnect,
        ] {
            assert_eq!(Action::parse(action.segment()), Some(action));
        }
        assert_eq!(Action::parse("settings"), None);
    }
}
