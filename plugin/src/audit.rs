//! The audit trail: every write the connector makes to Lever or the partner (any method but
//! GET), recorded per connection with when, what, the `perform_as` user and the event or call
//! that caused it, and listable (`GET /connections/{c}/audit`). A write can be rehearsed
//! instead (`lever-dry-run: true` on a partner call): the first write is not sent, and the
//! call answers the request that would have been, credentials and signatures masked.
//!
//! [`Recorder`] does both by wrapping a flow's [`Http`]; entries hold no secret (URLs carry
//! none: credentials travel in headers, which are not recorded).

use std::cell::{OnceCell, RefCell};

use serde::{Deserialize, Serialize};

use crate::config;
use crate::error::ConnectorError;
use crate::io::{Env, Http, Method, Request, Response, TransportError, UnixMillis};
use crate::store::{ConnectionId, Store};

/// How many entries a connection keeps.
pub const KEEP: u64 = crate::store::keys::AUDIT_KEEP;
/// The header that asks for a dry run.
pub const DRY_RUN_HEADER: &str = "lever-dry-run";
/// The largest body a dry run shows, in bytes.
const SHOWN_BODY_BYTES: usize = 16 * 1024;

/// One write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// When it was sent.
    pub at: UnixMillis,
    /// `lever`, `partner` or `other`.
    pub service: String,
    /// The method.
    pub method: String,
    /// The URL (no credentials are ever in one).
    pub url: String,
    /// The `perform_as` user it was attributed to in Lever, when any.
    pub perform_as: Option<String>,
    /// The status answered, when an answer came.
    pub status: Option<u16>,
    /// Why no answer came, when none did.
    pub error: Option<String>,
    /// The event or call that caused it.
    pub cause: String,
}

/// A write that was not sent (a dry run): what would have gone out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rehearsed {
    /// `lever`, `partner` or `other`.
    pub service: String,
    /// The method.
    pub method: String,
    /// The URL.
    pub url: String,
    /// The headers, credentials and signatures masked.
    pub headers: Vec<(String, String)>,
    /// The body as text (cut at 16 KiB), when it has one.
    pub body: Option<String>,
}

/// Where a flow's writes go, by URL prefix.
#[derive(Debug, Default)]
struct Services {
    lever: Vec<String>,
    partner: Option<String>,
    token_url: Option<String>,
}

/// Wraps a flow's HTTP: records its writes for a connection, or rehearses the first one.
/// Requests to Lever's OAuth token URL pass through: they authenticate the flow rather than
/// write anything, [`TokenCalls`] records them with their own cause, and a dry run must not
/// stop at one (nor show its body, which carries the client secret).
pub struct Recorder<'a> {
    env: &'a Env<'a>,
    connection: ConnectionId,
    cause: String,
    dry_run: bool,
    /// Lever's URL prefixes, the partner's and Lever's OAuth token URL, read from the
    /// configuration at the first write (most flows make one write or none).
    services: OnceCell<Services>,
    rehearsed: RefCell<Option<Rehearsed>>,
    /// Entries held for the caller to write with its own outcome (one store write for
    /// both); `None`: each is written as it happens.
    held: Option<RefCell<Vec<AuditEntry>>>,
}

impl std::fmt::Debug for Recorder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("connection", &self.connection)
            .field("cause", &self.cause)
            .finish_non_exhaustive()
    }
}

fn masked(name: &str, value: &str) -> String {
    let secret = matches!(
        name.to_ascii_lowercase().as_str(),
        "authorization" | "webhook-signature" | "cookie" | "x-api-key"
    );
    if !secret {
        return value.to_string();
    }
    match value.split_once(' ') {
        Some((scheme, _)) => format!("{scheme} ***"),
        None => "***".into(),
    }
}

impl<'a> Recorder<'a> {
    /// A recorder of `connection`'s writes caused by `cause`; with `dry_run`, the first
    /// write is rehearsed instead of sent.
    pub fn new(env: &'a Env<'a>, connection: &ConnectionId, cause: String, dry_run: bool) -> Self {
        Self {
            env,
            connection: connection.clone(),
            cause,
            dry_run,
            services: OnceCell::new(),
            rehearsed: RefCell::new(None),
            held: None,
        }
    }

    /// A recorder of `connection`'s writes caused by `cause` that holds its entries until
    /// [`Recorder::take_held`] (whatever is still held when it is dropped is written then).
    pub fn holding(env: &'a Env<'a>, connection: &ConnectionId, cause: String) -> Self {
        let mut recorder = Self::new(env, connection, cause, false);
        recorder.held = Some(RefCell::new(Vec::new()));
        recorder
    }

    /// The entries held so far, for the caller to write.
    pub fn take_held(&self) -> Vec<AuditEntry> {
        self.held
            .as_ref()
            .map(|held| std::mem::take(&mut *held.borrow_mut()))
            .unwrap_or_default()
    }

    /// The environment to run the flow in: this recorder as its HTTP.
    pub fn env(&self) -> Env<'_> {
        self.env.with_http(self)
    }

    /// The write a dry run stopped at, if it did.
    pub fn rehearsed(&self) -> Option<Rehearsed> {
        self.rehearsed.borrow().clone()
    }

    fn services(&self) -> &Services {
        self.services.get_or_init(|| {
            let lever = config::lever_environment(self.env.config).ok();
            Services {
                lever: config::lever_environments(self.env.config)
                    .unwrap_or_default()
                    .iter()
                    .flat_map(|e| [e.api_base.to_string(), e.token_url.to_string()])
                    .collect(),
                partner: config::partner(self.env.config)
                    .ok()
                    .map(|p| p.callback_url.to_string()),
                token_url: lever.map(|e| e.token_url.to_string()),
            }
        })
    }

    fn service(&self, url: &str) -> &'static str {
        service_of(self.services(), url)
    }
}

fn service_of(services: &Services, url: &str) -> &'static str {
    if services.lever.iter().any(|p| url.starts_with(p.as_str())) {
        "lever"
    } else if services
        .partner
        .as_deref()
        .is_some_and(|p| url.starts_with(p))
    {
        "partner"
    } else {
        "other"
    }
}

/// Sends requests to Lever's OAuth token URL for a connection (a code exchange, a refresh)
/// and records each in the audit trail under its cause, the body never.
#[derive(Debug)]
pub struct TokenCalls<'a> {
    env: &'a Env<'a>,
    connection: ConnectionId,
    cause: &'static str,
}

impl<'a> TokenCalls<'a> {
    /// Token calls of `connection` for `cause`, sent through `env`.
    pub fn new(env: &'a Env<'a>, connection: &ConnectionId, cause: &'static str) -> Self {
        Self {
            env,
            connection: connection.clone(),
            cause,
        }
    }

    /// `env` with these token calls as its HTTP.
    pub fn env(&self) -> Env<'_> {
        self.env.with_http(self)
    }
}

impl Http for TokenCalls<'_> {
    fn send(&self, request: Request) -> Result<Response, TransportError> {
        send_recorded(
            self.env,
            &self.connection,
            request,
            "lever",
            None,
            self.cause,
        )
    }
}

impl Drop for Recorder<'_> {
    fn drop(&mut self) {
        let held = self.take_held();
        if !held.is_empty() {
            // Best effort, as every append: the writes happened whatever the log says.
            let _ = Store::new(self.env.kv)
                .connection(&self.connection)
                .append_logs(None, &held, Vec::new());
        }
    }
}

/// Sends `request` through `env` and appends what happened to `connection`'s trail.
fn send_recorded(
    env: &Env,
    connection: &ConnectionId,
    request: Request,
    service: &str,
    perform_as: Option<String>,
    cause: &str,
) -> Result<Response, TransportError> {
    let (result, entry) = send_described(env, request, service, perform_as, cause);
    // The write happened (or was tried) whatever the log says: a failed append must not turn
    // it into an error that would redo it.
    let _ = Store::new(env.kv)
        .connection(connection)
        .append_audit(&entry);
    result
}

/// Sends `request` through `env` and describes what happened.
fn send_described(
    env: &Env,
    request: Request,
    service: &str,
    perform_as: Option<String>,
    cause: &str,
) -> (Result<Response, TransportError>, AuditEntry) {
    let url = request.url.to_string();
    let method = request.method.as_str().to_string();
    let result = env.http.send(request);
    let entry = AuditEntry {
        at: env.clock.now(),
        service: service.to_string(),
        method,
        url,
        perform_as,
        status: result.as_ref().ok().map(|r| r.status),
        error: result.as_ref().err().map(ToString::to_string),
        cause: cause.to_string(),
    };
    (result, entry)
}

impl Http for Recorder<'_> {
    fn send(&self, request: Request) -> Result<Response, TransportError> {
        if request.method == Method::Get {
            return self.env.http.send(request);
        }
        let url = request.url.to_string();
        if self
            .services()
            .token_url
            .as_deref()
            .is_some_and(|token_url| url == token_url)
        {
            return self.env.http.send(request);
        }
        let service = self.service(&url).to_string();
        if self.dry_run {
            let body = request.body.as_ref().map(|b| {
                let shown = b.get(..SHOWN_BODY_BYTES).unwrap_or(b);
                String::from_utf8_lossy(shown).into_owned()
            });
            self.rehearsed.borrow_mut().get_or_insert(Rehearsed {
                service,
                method: request.method.as_str().into(),
                url,
                headers: request
                    .headers
                    .iter()
                    .map(|(n, v)| (n.clone(), masked(n, v)))
                    .collect(),
                body,
            });
            return Err(TransportError::Failed(
                "dry run: the write was not sent".into(),
            ));
        }
        let perform_as = form_urlencoded::parse(request.url.query().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "perform_as")
            .map(|(_, v)| v.into_owned());
        match &self.held {
            Some(held) => {
                let (result, entry) =
                    send_described(self.env, request, &service, perform_as, &self.cause);
                held.borrow_mut().push(entry);
                result
            }
            None => send_recorded(
                self.env,
                &self.connection,
                request,
                &service,
                perform_as,
                &self.cause,
            ),
        }
    }
}

/// A connection's last `max` writes, newest first.
pub fn recent(
    env: &Env,
    connection: &ConnectionId,
    max: u64,
) -> Result<Vec<AuditEntry>, ConnectorError> {
    Store::new(env.kv).connection(connection).recent_audit(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::fake::{FakeConfig, World};

    fn world() -> World {
        World::new(
            FakeConfig::from_pairs(&[
                ("lever_api_base", "http://lever.test/v1"),
                ("lever_auth_base", "http://auth.test"),
            ]),
            1_000,
        )
    }

    fn request(method: Method, url: &str) -> Request {
        Request {
            method,
            url: crate::io::HttpUrl::parse(url).unwrap(),
            headers: vec![
                ("authorization".into(), "Basic c2VjcmV0Og==".into()),
                ("content-type".into(), "application/json".into()),
            ],
            body: Some(br#"{"stage":"x"}"#.to_vec()),
            bucket: None,
            background: false,
        }
    }

    #[test]
    fn writes_are_recorded_per_connection_with_cause_and_user_reads_are_not() {
        let world = world();
        let env = world.env();
        let acme = ConnectionId::parse("acme").unwrap();
        let recorder = Recorder::new(&env, &acme, "partner call X".into(), false);
        world.http.respond(200, "{}");
        world.http.respond(200, "{}");
        let _ = recorder.send(request(
            Method::Get,
            "http://lever.test/v1/opportunities/o1",
        ));
        let _ = recorder.send(request(
            Method::Put,
            "http://lever.test/v1/opportunities/o1/stage?perform_as=user-1",
        ));
        let entries = recent(&env, &acme, 10).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].service, "lever");
        assert_eq!(entries[0].method, "PUT");
        assert_eq!(entries[0].perform_as.as_deref(), Some("user-1"));
        assert_eq!(entries[0].status, Some(200));
        assert_eq!(entries[0].cause, "partner call X");
        let globex = ConnectionId::parse("globex").unwrap();
        assert!(recent(&env, &globex, 10).unwrap().is_empty());
    }

    #[test]
    fn a_dry_run_sends_no_write_and_masks_credentials() {
        let world = world();
        let env = world.env();
        let acme = ConnectionId::parse("acme").unwrap();
        let recorder = Recorder::new(&env, &acme, "dry".into(), true);
        let result = recorder.send(request(Method::Post, "http://lever.test/v1/opportunities"));
        assert!(result.is_err());
        assert!(world.http.sent.borrow().is_empty(), "nothing went out");
        let rehearsed = recorder.rehearsed().unwrap();
        assert_eq!(rehearsed.method, "POST");
        assert!(rehearsed
            .headers
            .contains(&("authorization".to_string(), "Basic ***".to_string())));
        assert!(!format!("{rehearsed:?}").contains("c2VjcmV0"));
        assert_eq!(rehearsed.body.as_deref(), Some(r#"{"stage":"x"}"#));
        assert!(recent(&env, &acme, 10).unwrap().is_empty());
    }
}
