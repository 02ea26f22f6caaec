//! A Lever API v1 simulator serving several Lever accounts at once, with Lever's shapes
//! (`tests/fixtures/lever/recorded/`): API keys (Basic) and OAuth (authorize, token, refresh
//! with rotation, JWT access tokens) where each credential sees only its own account;
//! scopes on OAuth tokens; `perform_as` on the writes that require it; stages, users
//! (deactivated hidden), postings in several states, opportunities (get, list, create with
//! email dedupe and posting tags, stage change); the webhook management API (`GET/POST/PUT
//! /webhooks`, `DELETE /webhooks/:id`, the signature token returned only at creation);
//! Lever-shaped errors and pagination; a token-bucket rate limit per credential; and signed
//! webhook deliveries, only for events a Super Admin enabled, retried like Lever (5 more
//! times, a new token each time).
//!
//! Where Lever's behaviour is unconfirmed, the choice is a named constant or documented
//! here so it is easy to change.

pub mod multipart;
pub mod oauth;
mod records;
mod resources;
pub mod seed;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::http_util::{now_ms, HttpClient, SimRequest, SimResponse};
use crate::signing::{lever_delivery, random_token};
use oauth::{Grant, OAuth};
pub use seed::Seed;

/// Lever's ten webhook events.
pub const EVENTS: [&str; 10] = [
    "applicationCreated",
    "candidateHired",
    "candidateStageChange",
    "candidateArchiveChange",
    "candidateDeleted",
    "interviewCreated",
    "interviewUpdated",
    "interviewDeleted",
    "contactCreated",
    "contactUpdated",
];

/// Lever's candidate origins; a webhook without origin conditions covers them all.
pub const ORIGINS: [&str; 6] = [
    "applied",
    "sourced",
    "referred",
    "university",
    "internal",
    "agency",
];

/// Error `code`s the simulator answers with (only `ResourceNotFound` is documented; the
/// others are our choice, kept here).
mod code {
    pub const NOT_FOUND: &str = "ResourceNotFound";
    pub const BAD_REQUEST: &str = "BadRequestError";
    pub const UNAUTHORIZED: &str = "UnauthorizedError";
    pub const FORBIDDEN: &str = "ForbiddenError";
    pub const TOO_MANY: &str = "TooManyRequestsError";
}

/// Acme's API key (the first account).
pub const DEFAULT_API_KEY: &str = "sim-api-key";
/// Globex's API key (the second account).
pub const GLOBEX_API_KEY: &str = "sim-api-key-globex";
/// Acme's account id.
pub const ACME: &str = "acct-acme";
/// Globex's account id.
pub const GLOBEX: &str = "acct-globex";

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct LeverSimOptions {
    /// The accounts, each with its API key.
    pub accounts: Vec<Seed>,
    /// Steady rate per credential, requests per second.
    pub rate_per_sec: f64,
    /// Burst size per credential.
    pub burst: f64,
    /// Extra delivery attempts after a failed webhook delivery (Lever: 5).
    pub webhook_retries: u32,
    /// The wait before the first retry; it doubles each time (Lever's schedule is
    /// unconfirmed; this keeps local runs fast).
    pub webhook_retry_base: Duration,
}

impl Default for LeverSimOptions {
    fn default() -> Self {
        Self {
            accounts: vec![seed::acme(), seed::globex()],
            rate_per_sec: 10.0,
            burst: 20.0,
            webhook_retries: 5,
            webhook_retry_base: Duration::from_millis(100),
        }
    }
}

/// One webhook delivery attempt the simulator made.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    /// The account.
    pub account: String,
    /// The webhook's id.
    pub webhook_id: String,
    /// Where it went.
    pub url: String,
    /// The event.
    pub event: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The status received; `None` when the request failed.
    pub status: Option<u16>,
    /// The response body (or the transport error).
    pub response: String,
    /// The body delivered.
    pub body: Value,
}

#[derive(Debug, Clone)]
struct Webhook {
    id: String,
    url: String,
    event: String,
    signature_token: String,
    origins: Value,
    created_at: u64,
    updated_at: u64,
}

impl Webhook {
    fn public(&self, with_token: bool) -> Value {
        let mut configuration = json!({ "conditions": { "origins": self.origins } });
        if with_token {
            configuration["signatureToken"] = json!(self.signature_token);
        }
        json!({
            "id": self.id,
            "event": self.event,
            "url": self.url,
            "configuration": configuration,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        })
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug, Default)]
struct Account {
    stages: Vec<Value>,
    users: Vec<Value>,
    postings: Vec<Value>,
    opportunities: Vec<Value>,
    archive_reasons: Vec<Value>,
    notes: Vec<Value>,
    webhooks: Vec<Webhook>,
    /// Events a Super Admin switched on; only these are delivered.
    enabled: BTreeSet<String>,
    /// The next creates make the opportunity, then answer 500 (Lever did the work but the
    /// caller never learns it).
    fail_after_create: u32,
    /// Contacts changed through `PUT /contacts/:id` (the rest derive from opportunities).
    contacts: HashMap<String, Value>,
    /// Interviews, panels, feedback, requisitions, ...: see [`records`].
    records: BTreeMap<&'static str, Vec<Value>>,
    /// Offset tokens carry the generation they were issued in; older ones are invalid
    /// (Lever's tokens expire; when is unconfirmed).
    offset_generation: u64,
}

#[derive(Debug, Default)]
struct State {
    accounts: BTreeMap<String, Account>,
    api_keys: HashMap<String, String>,
    oauth: OAuth,
    deliveries: Vec<DeliveryAttempt>,
    buckets: HashMap<String, Bucket>,
    limited: u64,
    limited_by_account: HashMap<String, u64>,
    admitted_by_account: HashMap<String, u64>,
    /// Every credential presented to the API (`Basic` keys decoded, `Bearer` tokens), in
    /// order: which secrets reached this host.
    presented: Vec<String>,
}

/// Who is calling: the account a credential belongs to, and its scopes (OAuth only).
#[derive(Debug, Clone)]
struct Principal {
    account: String,
    credential: String,
    scopes: Option<Vec<String>>,
}

/// A pending webhook event produced by a change.
#[derive(Debug, Clone)]
struct Fire {
    account: String,
    event: &'static str,
    data: Value,
}

/// The Lever simulator. Cheap to clone; all clones share state.
#[derive(Clone, Debug)]
pub struct LeverSim {
    state: Arc<Mutex<State>>,
    options: Arc<LeverSimOptions>,
    deliveries: broadcast::Sender<DeliveryAttempt>,
    client: HttpClient,
    faults: crate::sim::faults::Faults,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

/// Counts a webhook delivery (with its retries) as in flight until dropped.
struct InFlight(Arc<std::sync::atomic::AtomicUsize>);

impl InFlight {
    fn start(counter: &Arc<std::sync::atomic::AtomicUsize>) -> Self {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Self(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn error(status: u16, code: &str, message: impl Into<String>) -> SimResponse {
    SimResponse::json(status, json!({ "code": code, "message": message.into() }))
}

/// A random UUID v4 string.
pub fn uuid() -> String {
    let bytes: [u8; 16] = rand::random();
    let h = hex::encode(bytes);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// The scope resource a path needs (`/opportunities/:id/notes` needs notes, and so on).
fn scope_resource<'a>(path: &[&'a str]) -> &'a str {
    match path {
        ["opportunities", _, sub, ..]
            if [
                "notes",
                "files",
                "interviews",
                "panels",
                "feedback",
                "offers",
                "referrals",
                "resumes",
                "applications",
            ]
            .contains(sub) =>
        {
            sub
        }
        ["eeo", "responses", "pii"] => "eeo_responses_pii",
        ["eeo", ..] => "eeo_responses",
        ["disposition_stages"] => "stages",
        ["contacts", ..] => "contact",
        [first, ..] => first,
        [] => "",
    }
}

impl LeverSim {
    /// A simulator for the accounts in `options`.
    pub fn new(options: LeverSimOptions) -> Self {
        let mut state = State::default();
        for seed in &options.accounts {
            state
                .api_keys
                .insert(seed.api_key.clone(), seed.account_id.clone());
            state.accounts.insert(
                seed.account_id.clone(),
                Account {
                    stages: seed.stages.clone(),
                    users: seed.users.iter().cloned().map(seed::user).collect(),
                    postings: seed.postings.iter().cloned().map(seed::posting).collect(),
                    opportunities: seed
                        .opportunities
                        .iter()
                        .cloned()
                        .map(seed::opportunity)
                        .collect(),
                    archive_reasons: seed.archive_reasons.clone(),
                    ..Account::default()
                },
            );
            if let Some(account) = state.accounts.get_mut(&seed.account_id) {
                records::seed(account);
            }
        }
        let (deliveries, _) = broadcast::channel(256);
        Self {
            state: Arc::new(Mutex::new(state)),
            options: Arc::new(options),
            deliveries,
            client: HttpClient::default(),
            faults: crate::sim::faults::Faults::default(),
            in_flight: Arc::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every API key and access token presented to this simulator's API, in order.
    pub fn credentials_presented(&self) -> Vec<String> {
        self.state().presented.clone()
    }

    /// The accounts' ids and API keys, in order.
    pub fn api_keys(&self) -> Vec<(String, String)> {
        self.options
            .accounts
            .iter()
            .map(|s| (s.account_id.clone(), s.api_key.clone()))
            .collect()
    }

    /// Every webhook delivery attempt so far.
    pub fn deliveries(&self) -> Vec<DeliveryAttempt> {
        self.state().deliveries.clone()
    }

    /// Receives each delivery attempt as it completes.
    pub fn subscribe(&self) -> broadcast::Receiver<DeliveryAttempt> {
        self.deliveries.subscribe()
    }

    /// An opportunity as stored, in whichever account holds it.
    pub fn opportunity(&self, id: &str) -> Option<Value> {
        self.state()
            .accounts
            .values()
            .flat_map(|a| a.opportunities.iter())
            .find(|o| o["id"] == id)
            .map(public_opportunity)
    }

    /// The webhooks of an account as `GET /webhooks` shows them.
    pub fn webhooks(&self, account: &str) -> Vec<Value> {
        self.state()
            .accounts
            .get(account)
            .map(|a| a.webhooks.iter().map(|w| w.public(false)).collect())
            .unwrap_or_default()
    }

    /// The signature token of an account's first webhook for `event` (what Lever signs its
    /// deliveries with), for tests that play Lever by hand.
    pub fn signature_token(&self, account: &str, event: &str) -> Option<String> {
        self.state()
            .accounts
            .get(account)?
            .webhooks
            .iter()
            .find(|w| w.event == event)
            .map(|w| w.signature_token.clone())
    }

    /// Registers a webhook as a Lever admin would in the UI (its event is switched on too)
    /// and returns its id.
    pub fn add_webhook(
        &self,
        account: &str,
        event: &str,
        url: &str,
        signature_token: &str,
    ) -> String {
        let now = now_ms();
        let webhook = Webhook {
            id: uuid(),
            url: url.into(),
            event: event.into(),
            signature_token: signature_token.into(),
            origins: json!(ORIGINS),
            created_at: now,
            updated_at: now,
        };
        let id = webhook.id.clone();
        let mut state = self.state();
        if let Some(a) = state.accounts.get_mut(account) {
            a.webhooks.push(webhook);
            a.enabled.insert(event.into());
        }
        id
    }

    /// A Super Admin switches `events` on (all ten when empty) for an account.
    pub fn enable_webhooks(&self, account: &str, events: &[&str]) {
        let mut state = self.state();
        if let Some(a) = state.accounts.get_mut(account) {
            let events: Vec<&str> = if events.is_empty() {
                EVENTS.to_vec()
            } else {
                events.to_vec()
            };
            a.enabled.extend(events.into_iter().map(String::from));
        }
    }

    /// Changes a webhook's URL directly (someone edited it in Lever).
    pub fn set_webhook_url(&self, webhook_id: &str, url: &str) {
        let mut state = self.state();
        for a in state.accounts.values_mut() {
            for w in a.webhooks.iter_mut().filter(|w| w.id == webhook_id) {
                w.url = url.into();
            }
        }
    }

    /// Deletes a webhook directly (someone deleted it in Lever).
    pub fn delete_webhook(&self, webhook_id: &str) {
        let mut state = self.state();
        for a in state.accounts.values_mut() {
            a.webhooks.retain(|w| w.id != webhook_id);
        }
    }

    /// Every OAuth token issued so far (tests look for them where they must not be).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state().oauth.issued()
    }

    /// How many requests were answered 429 so far.
    pub fn rate_limited(&self) -> u64 {
        self.state().limited
    }

    /// How many of an account's requests were answered 429 so far.
    pub fn rate_limited_for(&self, account: &str) -> u64 {
        self.state()
            .limited_by_account
            .get(account)
            .copied()
            .unwrap_or(0)
    }

    /// How many of an account's API requests got past the rate limit so far.
    pub fn admitted_for(&self, account: &str) -> u64 {
        self.state()
            .admitted_by_account
            .get(account)
            .copied()
            .unwrap_or(0)
    }

    /// Successful refreshes so far, and refreshes refused.
    pub fn refreshes(&self) -> (u64, u64) {
        let state = self.state();
        (state.oauth.refreshes, state.oauth.rejected_refreshes)
    }

    /// The next `count` access tokens issued live `seconds` (then the default again).
    pub fn set_next_token_ttls(&self, seconds: u64, count: usize) {
        self.state().oauth.next_ttls = vec![seconds; count];
    }

    /// An admin revokes the app: every refresh token of `account` dies.
    pub fn revoke_refresh_tokens(&self, account: &str) -> usize {
        self.state().oauth.revoke(account)
    }

    /// Every opportunity of an account, as Lever shows them.
    pub fn opportunities(&self, account: &str) -> Vec<Value> {
        self.state()
            .accounts
            .get(account)
            .map(|a| a.opportunities.iter().map(public_opportunity).collect())
            .unwrap_or_default()
    }

    /// The resume uploaded with an opportunity: `{name, contentType, size, sha256}`.
    pub fn resume(&self, opportunity: &str) -> Option<Value> {
        self.state()
            .accounts
            .values()
            .flat_map(|a| a.opportunities.iter())
            .find(|o| o["id"] == opportunity)
            .map(|o| o["_resume"].clone())
            .filter(|r| !r.is_null())
    }

    /// The notes on an opportunity.
    pub fn notes(&self, opportunity: &str) -> Vec<Value> {
        self.state()
            .accounts
            .values()
            .flat_map(|a| a.notes.iter())
            .filter(|n| n["_opportunityId"] == opportunity)
            .map(public_opportunity)
            .collect()
    }

    /// Adds `count` opportunities (and their contacts) to an account, for pagination tests;
    /// answers their ids.
    pub fn seed_opportunities(&self, account: &str, count: usize) -> Vec<String> {
        let mut state = self.state();
        let Some(a) = state.accounts.get_mut(account) else {
            return Vec::new();
        };
        let stage = a
            .stages
            .first()
            .map(|s| s["id"].clone())
            .unwrap_or(json!("lead-new"));
        let base = now_ms().saturating_sub(count as u64 * 1000);
        (0..count)
            .map(|i| {
                let id = uuid();
                let at = base + i as u64 * 1000;
                a.opportunities.push(seed::opportunity(json!({
                    "id": id,
                    "name": format!("Seeded Candidate {i}"),
                    "contact": uuid(),
                    "emails": [format!("seeded-{i}@example.com")],
                    "stage": stage,
                    "createdAt": at,
                    "updatedAt": at,
                })));
                id
            })
            .collect()
    }

    /// Every offset token issued so far stops working (Lever's expire).
    pub fn expire_offset_tokens(&self, account: &str) {
        if let Some(a) = self.state().accounts.get_mut(account) {
            a.offset_generation += 1;
        }
    }

    /// A posting as stored.
    pub fn posting(&self, id: &str) -> Option<Value> {
        self.state()
            .accounts
            .values()
            .flat_map(|a| a.postings.iter())
            .find(|p| p["id"] == id)
            .cloned()
    }

    /// An admin renames a stage in Lever's settings.
    pub fn rename_stage(&self, account: &str, stage: &str, text: &str) {
        if let Some(a) = self.state().accounts.get_mut(account) {
            for s in a.stages.iter_mut().filter(|s| s["id"] == stage) {
                s["text"] = json!(text);
            }
        }
    }

    /// An admin removes a stage from the pipeline.
    pub fn remove_stage(&self, account: &str, stage: &str) {
        if let Some(a) = self.state().accounts.get_mut(account) {
            a.stages.retain(|s| s["id"] != stage);
        }
    }

    /// The next `count` opportunity creates in `account` succeed in Lever but answer 500.
    pub fn fail_after_create(&self, account: &str, count: u32) {
        if let Some(a) = self.state().accounts.get_mut(account) {
            a.fail_after_create = count;
        }
    }

    fn with_owner<T>(
        &self,
        opportunity: &str,
        f: impl FnOnce(&str, &mut Account) -> (T, Vec<Fire>),
    ) -> Option<T> {
        let (result, fires) = {
            let mut state = self.state();
            let account = state
                .accounts
                .iter()
                .find(|(_, a)| a.opportunities.iter().any(|o| o["id"] == opportunity))
                .map(|(id, _)| id.clone())?;
            let a = state.accounts.get_mut(&account)?;
            f(&account, a)
        };
        for fire in fires {
            self.fire(fire);
        }
        Some(result)
    }

    /// A recruiter archives (`Some(reason)`) or unarchives (`None`) an opportunity in Lever's
    /// UI; fires `candidateArchiveChange`, and `candidateHired` for a hired reason.
    pub fn archive(&self, opportunity: &str, reason: Option<&str>) -> SimResponse {
        self.with_owner(opportunity, |account, a| {
            set_archived(account, a, opportunity, &json!({ "reason": reason }), None)
        })
        .unwrap_or_else(|| error(404, code::NOT_FOUND, "Opportunity not found"))
    }

    /// A recruiter deletes an opportunity in Lever's UI; fires `candidateDeleted`.
    pub fn delete_opportunity(&self, opportunity: &str) -> bool {
        self.with_owner(opportunity, |account, a| {
            let Some(index) = a.opportunities.iter().position(|o| o["id"] == opportunity) else {
                return (false, vec![]);
            };
            let removed = a.opportunities.remove(index);
            let deleted_by = a
                .users
                .first()
                .map(|u| u["id"].clone())
                .unwrap_or(Value::Null);
            let fire = Fire {
                account: account.to_string(),
                event: "candidateDeleted",
                data: json!({
                    "opportunityId": opportunity,
                    "candidateId": opportunity,
                    "contactId": removed["contact"],
                    "deletedBy": deleted_by,
                }),
            };
            (true, vec![fire])
        })
        .unwrap_or(false)
    }

    /// A recruiter moves an opportunity in Lever's UI; fires `candidateStageChange`.
    pub fn move_stage(&self, opportunity: &str, stage: &str) -> SimResponse {
        let (response, fires) = {
            let mut state = self.state();
            let Some(account) = state
                .accounts
                .iter()
                .find(|(_, a)| a.opportunities.iter().any(|o| o["id"] == opportunity))
                .map(|(id, _)| id.clone())
            else {
                return error(404, code::NOT_FOUND, "Opportunity not found");
            };
            let a = state.accounts.get_mut(&account).expect("found above");
            change_stage(&account, a, opportunity, &json!({ "stage": stage }), None)
        };
        for fire in fires {
            self.fire(fire);
        }
        response
    }

    /// Handles one request (the HTTP server calls this), through the fault plan for API
    /// requests.
    pub async fn handle(&self, request: SimRequest) -> SimResponse {
        let fault = if request.path.starts_with("/v1/") {
            self.faults.pick()
        } else {
            None
        };
        if let Some(answer) = fault.and_then(SimResponse::for_fault) {
            return answer;
        }
        let (response, fires) = self.answer(&request);
        for fire in fires {
            self.fire(fire);
        }
        if let Some(crate::sim::faults::Fault::Slow(delay)) = fault {
            tokio::time::sleep(delay).await;
        }
        response
    }

    /// The fault plan for API requests (off until set).
    pub fn faults(&self) -> &crate::sim::faults::Faults {
        &self.faults
    }

    fn answer(&self, request: &SimRequest) -> (SimResponse, Vec<Fire>) {
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        match segments.as_slice() {
            ["_sim", rest @ ..] => return self.admin(request, rest),
            ["authorize"] => return (self.authorize(request), vec![]),
            ["oauth", "token"] => return (self.token(request), vec![]),
            ["v1", ..] => {}
            _ => return (error(404, code::NOT_FOUND, "Not found"), vec![]),
        }
        let principal = match self.authenticate(request) {
            Ok(p) => p,
            Err(response) => return (response, vec![]),
        };
        if let Some(limited) = self.rate_limit(&principal.credential) {
            *self
                .state()
                .limited_by_account
                .entry(principal.account.clone())
                .or_default() += 1;
            return (limited, vec![]);
        }
        *self
            .state()
            .admitted_by_account
            .entry(principal.account.clone())
            .or_default() += 1;
        let path = &segments[1..];
        if let Some(scopes) = &principal.scopes {
            let resource = scope_resource(path);
            let write = format!("{resource}:write:admin");
            let read = format!("{resource}:read:admin");
            let ok = scopes.contains(&write) || (request.method == "GET" && scopes.contains(&read));
            if !ok {
                let needed = if request.method == "GET" { read } else { write };
                return (
                    error(
                        403,
                        code::FORBIDDEN,
                        format!("Insufficient scope: {needed} is required"),
                    ),
                    vec![],
                );
            }
        }
        let mut state = self.state();
        let Some(account) = state.accounts.get_mut(&principal.account) else {
            return (error(401, code::UNAUTHORIZED, "Unknown account"), vec![]);
        };
        api(&principal.account, account, request, path)
    }

    fn authenticate(&self, request: &SimRequest) -> Result<Principal, SimResponse> {
        let unauthorized = || error(401, code::UNAUTHORIZED, "Invalid or missing credentials");
        let header = request
            .headers
            .get("authorization")
            .ok_or_else(unauthorized)?;
        let mut state = self.state();
        let presented = match header.strip_prefix("Basic ") {
            Some(encoded) => base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .map(|d| d.split(':').next().unwrap_or_default().to_string())
                .unwrap_or_default(),
            None => header.trim_start_matches("Bearer ").trim().to_string(),
        };
        state.presented.push(presented);
        if let Some(encoded) = header.strip_prefix("Basic ") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .ok_or_else(unauthorized)?;
            let (key, _password) = decoded.split_once(':').ok_or_else(unauthorized)?;
            let account = state.api_keys.get(key).ok_or_else(unauthorized)?;
            return Ok(Principal {
                account: account.clone(),
                credential: format!("key:{key}"),
                scopes: None,
            });
        }
        let token = header
            .strip_prefix("Bearer ")
            .ok_or_else(unauthorized)?
            .trim();
        let grant: &Grant = state.oauth.access.get(token).ok_or_else(unauthorized)?;
        if grant.expires_at <= now_ms() {
            return Err(error(401, code::UNAUTHORIZED, "The access token expired"));
        }
        Ok(Principal {
            account: grant.account.clone(),
            credential: format!("token:{token}"),
            scopes: Some(grant.scopes.clone()),
        })
    }

    /// Token bucket per credential; every other 429 carries `Retry-After` (Lever does not
    /// document it, so clients must handle both).
    fn rate_limit(&self, credential: &str) -> Option<SimResponse> {
        let mut state = self.state();
        let now = Instant::now();
        let (rate, burst) = (self.options.rate_per_sec, self.options.burst);
        let bucket = state
            .buckets
            .entry(credential.to_string())
            .or_insert(Bucket {
                tokens: burst,
                at: now,
            });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return None;
        }
        let wait = ((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64;
        state.limited += 1;
        let response = error(429, code::TOO_MANY, "Rate limit exceeded");
        Some(if state.limited % 2 == 1 {
            response.with_header("retry-after", wait.to_string())
        } else {
            response
        })
    }

    /// `GET /authorize`: the Super Admin of an account consents (`account` picks which;
    /// default the first), or refuses (`deny=true`), or grants fewer scopes (`grant`), and
    /// the browser is redirected back with `code` and `state` (or `error`).
    fn authorize(&self, request: &SimRequest) -> SimResponse {
        let q = |k: &str| request.query(k).unwrap_or_default();
        if request.method != "GET" {
            return error(405, code::BAD_REQUEST, "GET only");
        }
        if q("client_id") != oauth::CLIENT_ID {
            return error(400, code::BAD_REQUEST, "Unknown client_id");
        }
        if q("response_type") != "code" || q("state").is_empty() || q("redirect_uri").is_empty() {
            return error(
                400,
                code::BAD_REQUEST,
                "response_type=code, state and redirect_uri are required",
            );
        }
        let host = request.headers.get("host").cloned().unwrap_or_default();
        let audience = format!("http://{host}/v1/");
        if q("audience") != audience {
            return error(
                400,
                code::BAD_REQUEST,
                format!("audience must be {audience}"),
            );
        }
        let Ok(mut redirect) = url::Url::parse(q("redirect_uri")) else {
            return error(400, code::BAD_REQUEST, "redirect_uri is not a URL");
        };
        if q("deny") == "true" {
            redirect
                .query_pairs_mut()
                .append_pair("error", "access_denied")
                .append_pair("error_description", "The user denied access")
                .append_pair("state", q("state"));
            return SimResponse::empty(302).with_header("location", redirect.to_string());
        }
        let account = match request.query("account") {
            Some(a) => a.to_string(),
            None => self
                .options
                .accounts
                .first()
                .map(|s| s.account_id.clone())
                .unwrap_or_default(),
        };
        let mut state = self.state();
        let Some(user) = state
            .accounts
            .get(&account)
            .and_then(|a| a.users.first())
            .and_then(|u| u["id"].as_str().map(String::from))
        else {
            return error(400, code::BAD_REQUEST, format!("Unknown account {account}"));
        };
        let requested: Vec<String> = q("scope").split_whitespace().map(String::from).collect();
        let scopes = match request.query("grant") {
            Some(grant) => grant
                .split_whitespace()
                .filter(|s| requested.iter().any(|r| r == s))
                .map(String::from)
                .collect(),
            None => requested,
        };
        let code = state.oauth.consent(
            Grant {
                account,
                scopes,
                user,
                expires_at: 0,
            },
            q("redirect_uri"),
            now_ms(),
        );
        redirect
            .query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", q("state"));
        SimResponse::empty(302).with_header("location", redirect.to_string())
    }

    /// `POST /oauth/token` (form-encoded).
    fn token(&self, request: &SimRequest) -> SimResponse {
        if request.method != "POST" {
            return error(405, code::BAD_REQUEST, "POST only");
        }
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let (status, body) = self.state().oauth.token(&form, now_ms());
        SimResponse::json(status, body)
    }

    fn admin(&self, request: &SimRequest, path: &[&str]) -> (SimResponse, Vec<Fire>) {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let ok = |v: Value| (SimResponse::json(200, v), vec![]);
        match (request.method.as_str(), path) {
            ("GET", ["deliveries"]) => ok(json!({ "data": self.state().deliveries })),
            // "A recruiter moves the candidate in Lever's UI": no API credentials needed.
            ("POST", ["opportunities", id, "stage"]) => match body["stage"].as_str() {
                Some(stage) => (self.move_stage(id, stage), vec![]),
                None => (error(400, code::BAD_REQUEST, "stage is required"), vec![]),
            },
            ("POST", ["opportunities", id, "archive"]) => {
                (self.archive(id, body["reason"].as_str()), vec![])
            }
            ("POST", ["opportunities", id, "delete"]) => {
                if self.delete_opportunity(id) {
                    ok(json!({ "deleted": id }))
                } else {
                    (error(404, code::NOT_FOUND, "Opportunity not found"), vec![])
                }
            }
            // "A Super Admin switches webhook events on."
            ("POST", ["accounts", account, "webhooks", "enable"]) => {
                let events: Vec<&str> = body["events"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                self.enable_webhooks(account, &events);
                ok(json!({ "enabled": true }))
            }
            ("POST", ["oauth", "revoke"]) => {
                let revoked =
                    self.revoke_refresh_tokens(body["account"].as_str().unwrap_or_default());
                ok(json!({ "revoked": revoked }))
            }
            ("POST", ["oauth", "ttl"]) => {
                self.set_next_token_ttls(
                    body["seconds"].as_u64().unwrap_or(oauth::ACCESS_TTL_SECS),
                    body["count"].as_u64().unwrap_or(1) as usize,
                );
                ok(json!({ "ok": true }))
            }
            ("GET", ["oauth", "stats"]) => {
                let (refreshes, rejected) = self.refreshes();
                ok(json!({ "refreshes": refreshes, "rejectedRefreshes": rejected }))
            }
            _ => (
                error(404, code::NOT_FOUND, "No such simulator route"),
                vec![],
            ),
        }
    }

    /// Delivers `fire` to every webhook of its account for its event, if a Super Admin
    /// enabled that event; failures are retried in the background.
    fn fire(&self, fire: Fire) {
        let hooks: Vec<Webhook> = self
            .state()
            .accounts
            .get(&fire.account)
            .filter(|a| a.enabled.contains(fire.event))
            .map(|a| {
                a.webhooks
                    .iter()
                    .filter(|w| w.event == fire.event)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for hook in hooks {
            let sim = self.clone();
            let data = fire.data.clone();
            let account = fire.account.clone();
            let in_flight = InFlight::start(&self.in_flight);
            tokio::spawn(async move {
                sim.deliver(account, hook, data).await;
                drop(in_flight);
            });
        }
    }

    /// Webhook deliveries still being attempted (first tries and retries).
    pub fn deliveries_in_flight(&self) -> usize {
        self.in_flight.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn deliver(&self, account: String, hook: Webhook, data: Value) {
        let mut wait = self.options.webhook_retry_base;
        for attempt in 1..=self.options.webhook_retries + 1 {
            let body = lever_delivery(
                &hook.signature_token,
                &hook.event,
                data.clone(),
                now_ms(),
                &random_token(48),
            );
            let result = self
                .client
                .post_json(&hook.url, &[("user-agent", "Lever-Webhooks")], &body)
                .await;
            let (status, response) = match &result {
                Ok(r) => (Some(r.status), r.text()),
                Err(e) => (None, format!("{e:#}")),
            };
            let record = DeliveryAttempt {
                account: account.clone(),
                webhook_id: hook.id.clone(),
                url: hook.url.clone(),
                event: hook.event.clone(),
                attempt,
                status,
                response,
                body,
            };
            self.state().deliveries.push(record.clone());
            let _ = self.deliveries.send(record);
            if status.is_some_and(|s| (200..300).contains(&s)) {
                return;
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
}

/// Routes one authenticated API request within the caller's account.
fn api(
    account_id: &str,
    a: &mut Account,
    request: &SimRequest,
    path: &[&str],
) -> (SimResponse, Vec<Fire>) {
    let method = request.method.as_str();
    let none = |r| (r, vec![]);
    if let ["opportunities" | "postings", "deleted"] = path {
        if let Some(answer) = records::route(account_id, a, request, path) {
            return answer;
        }
    }
    match (method, path) {
        ("GET", ["stages"]) => none(list(request, a.stages.clone(), a.offset_generation)),
        ("GET", ["stages", id]) => none(one(a.stages.iter().find(|x| x["id"] == *id), "Stage")),
        ("GET", ["users"]) => {
            let all = request.query("includeDeactivated") == Some("true");
            let users = a
                .users
                .iter()
                .filter(|u| all || u["deactivatedAt"].is_null())
                .cloned()
                .collect();
            none(list(request, users, a.offset_generation))
        }
        ("GET", ["users", id]) => none(one(a.users.iter().find(|x| x["id"] == *id), "User")),
        ("GET", ["postings"]) => none(resources::list_postings(a, request)),
        ("POST", ["postings"]) => none(resources::create_posting(a, request)),
        ("POST", ["postings", id]) => none(resources::update_posting(a, id, request)),
        ("GET", ["contacts", id]) => none(resources::get_contact(a, id)),
        ("PUT", ["contacts", id]) => none(resources::update_contact(a, id, request)),
        ("GET", ["postings", id]) => {
            none(one(a.postings.iter().find(|x| x["id"] == *id), "Posting"))
        }
        ("GET", ["opportunities"]) => none(list_opportunities(a, request)),
        ("GET", ["opportunities", id]) => none(one(
            a.opportunities
                .iter()
                .find(|x| x["id"] == *id)
                .map(public_opportunity)
                .as_ref(),
            "Opportunity",
        )),
        ("POST", ["opportunities"]) => create_opportunity(account_id, a, request),
        ("PUT", ["opportunities", id, "archived"]) => {
            let perform_as = request.query("perform_as").map(String::from);
            match serde_json::from_slice::<Value>(&request.body) {
                Ok(body) => set_archived(account_id, a, id, &body, perform_as.as_deref()),
                Err(_) => none(error(400, code::BAD_REQUEST, "Body must be JSON")),
            }
        }
        ("GET", ["archive_reasons"]) => none(list(
            request,
            a.archive_reasons.clone(),
            a.offset_generation,
        )),
        ("GET", ["archive_reasons", id]) => none(one(
            a.archive_reasons.iter().find(|x| x["id"] == *id),
            "Archive reason",
        )),
        ("PUT", ["opportunities", id, "stage"]) => {
            let perform_as = request.query("perform_as").map(String::from);
            match serde_json::from_slice::<Value>(&request.body) {
                Ok(body) => change_stage(account_id, a, id, &body, perform_as.as_deref()),
                Err(_) => none(error(400, code::BAD_REQUEST, "Body must be JSON")),
            }
        }
        ("GET", ["webhooks"]) => {
            let data: Vec<Value> = a.webhooks.iter().map(|w| w.public(false)).collect();
            none(SimResponse::json(
                200,
                json!({ "data": data, "hasNext": false }),
            ))
        }
        ("POST", ["webhooks"]) => none(create_webhook(a, request)),
        ("PUT", ["webhooks"]) => none(update_webhooks(a, request)),
        ("DELETE", ["webhooks", id]) => {
            let before = a.webhooks.len();
            a.webhooks.retain(|w| w.id != *id);
            none(if a.webhooks.len() < before {
                SimResponse::empty(204)
            } else {
                error(404, code::NOT_FOUND, "Webhook not found")
            })
        }
        _ => records::route(account_id, a, request, path).unwrap_or_else(|| {
            none(error(
                404,
                code::NOT_FOUND,
                format!("No route for {method} /v1/{}", path.join("/")),
            ))
        }),
    }
}

fn one(found: Option<&Value>, what: &str) -> SimResponse {
    match found {
        Some(data) => SimResponse::json(200, json!({ "data": data })),
        None => error(404, code::NOT_FOUND, format!("{what} not found")),
    }
}

/// Lever's list envelope: `limit` 1–100 (default 100), `offset` = the opaque `next`.
fn list(request: &SimRequest, all: Vec<Value>, generation: u64) -> SimResponse {
    let limit = match request.query("limit").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return error(400, code::BAD_REQUEST, "limit must be between 1 and 100"),
    };
    let start = match request.query("offset") {
        None => 0,
        Some(token) => match decode_offset(token, generation) {
            Some(n) => n,
            None => return error(400, code::BAD_REQUEST, "Invalid offset token"),
        },
    };
    let page: Vec<Value> = all.iter().skip(start).take(limit).cloned().collect();
    let end = start + page.len();
    let mut body = json!({ "data": page, "hasNext": end < all.len() });
    if end < all.len() {
        body["next"] = json!(encode_offset(end, generation));
    }
    SimResponse::json(200, body)
}

fn list_opportunities(a: &Account, request: &SimRequest) -> SimResponse {
    let email = request.query("email").map(str::to_ascii_lowercase);
    let stage = request.query("stage_id");
    let contact = request.query("contact_id");
    let posting = request.query("posting_id");
    let tags = request.query_all("tag");
    let archived = request.query("archived").map(|v| v == "true");
    let number = |key: &str| request.query(key).and_then(|v| v.parse::<u64>().ok());
    let updated_start = number("updated_at_start");
    let updated_end = number("updated_at_end");
    let created_start = number("created_at_start");
    let created_end = number("created_at_end");
    let origin = request.query("origin");
    let confidential = request.query("confidentiality") == Some("all");
    let found = a
        .opportunities
        .iter()
        .filter(|o| confidential || o["confidentiality"] != "confidential")
        .filter(|o| {
            email.as_ref().is_none_or(|e| {
                o["emails"].as_array().is_some_and(|a| {
                    a.iter()
                        .any(|x| x.as_str().map(str::to_ascii_lowercase).as_ref() == Some(e))
                })
            })
        })
        .filter(|o| stage.is_none_or(|s| o["stage"] == s))
        .filter(|o| contact.is_none_or(|c| o["contact"] == c))
        .filter(|o| posting.is_none_or(|p| o["_postingId"] == p))
        .filter(|o| {
            tags.is_empty()
                || tags.iter().any(|t| {
                    o["tags"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x == *t))
                })
        })
        .filter(|o| archived.is_none_or(|a| o["archived"].is_null() != a))
        .filter(|o| updated_start.is_none_or(|t| o["updatedAt"].as_u64().unwrap_or(0) >= t))
        .filter(|o| updated_end.is_none_or(|t| o["updatedAt"].as_u64().unwrap_or(0) <= t))
        .filter(|o| created_start.is_none_or(|t| o["createdAt"].as_u64().unwrap_or(0) >= t))
        .filter(|o| created_end.is_none_or(|t| o["createdAt"].as_u64().unwrap_or(0) <= t))
        .filter(|o| origin.is_none_or(|x| o["origin"] == x))
        .map(public_opportunity)
        .collect();
    list(request, found, a.offset_generation)
}

fn active_user(a: &Account, perform_as: Option<&str>) -> Result<String, SimResponse> {
    let Some(user) = perform_as else {
        return Err(error(
            400,
            code::BAD_REQUEST,
            "perform_as is required for this request",
        ));
    };
    match a.users.iter().find(|u| u["id"] == user) {
        Some(u) if u["deactivatedAt"].is_null() => Ok(user.to_string()),
        Some(_) => Err(error(
            400,
            code::BAD_REQUEST,
            "perform_as user is deactivated",
        )),
        None => Err(error(400, code::BAD_REQUEST, "perform_as user not found")),
    }
}

/// Lever's resume file types and size limit.
const RESUME_TYPES: [&str; 6] = ["pdf", "doc", "docx", "txt", "png", "jpg"];
const MAX_FILE_BYTES: usize = 30 * 1024 * 1024;

/// A create body: JSON, or `multipart/form-data` with arrays as repeated `key[]` fields,
/// phones as `phones[N][type|value]` (the encoding Lever's docs leave open; our pick) and
/// at most one `resumeFile`.
fn create_body(request: &SimRequest) -> Result<(Value, Option<Value>), SimResponse> {
    let content_type = request
        .headers
        .get("content-type")
        .map(String::as_str)
        .unwrap_or_default();
    let Some(boundary) = multipart::boundary(content_type) else {
        return serde_json::from_slice::<Value>(&request.body)
            .map(|body| (body, None))
            .map_err(|_| error(400, code::BAD_REQUEST, "Body must be JSON"));
    };
    let parts = multipart::parse(&request.body, &boundary).map_err(|e| {
        error(
            400,
            code::BAD_REQUEST,
            format!("Malformed multipart body: {e}"),
        )
    })?;
    let mut body = json!({});
    let mut phones: BTreeMap<usize, Value> = BTreeMap::new();
    let mut resume = None;
    for part in parts {
        if part.name == "resumeFile" {
            if resume.is_some() {
                return Err(error(400, code::BAD_REQUEST, "At most one resumeFile"));
            }
            let name = part.filename.clone().unwrap_or_default();
            let ext = name
                .rsplit_once('.')
                .map(|(_, e)| e.to_ascii_lowercase())
                .unwrap_or_default();
            if !RESUME_TYPES.contains(&ext.as_str()) {
                return Err(error(
                    422,
                    code::BAD_REQUEST,
                    format!("Unsupported file type {ext:?}"),
                ));
            }
            if part.body.len() > MAX_FILE_BYTES {
                return Err(error(422, code::BAD_REQUEST, "File larger than 30 MB"));
            }
            use sha2::Digest as _;
            resume = Some(json!({
                "name": name,
                "contentType": part.content_type,
                "size": part.body.len(),
                "sha256": hex::encode(sha2::Sha256::digest(&part.body)),
            }));
            continue;
        }
        let value = String::from_utf8_lossy(&part.body).into_owned();
        if let Some(key) = part.name.strip_suffix("[]") {
            let mut list = body[key].as_array().cloned().unwrap_or_default();
            list.push(json!(value));
            body[key] = json!(list);
        } else if let Some(rest) = part.name.strip_prefix("phones[") {
            let parsed = rest
                .split_once("][")
                .and_then(|(i, f)| Some((i.parse::<usize>().ok()?, f.trim_end_matches(']'))));
            let Some((index, field)) = parsed else {
                return Err(error(
                    400,
                    code::BAD_REQUEST,
                    format!("Bad field {}", part.name),
                ));
            };
            phones.entry(index).or_insert_with(|| json!({}))[field] = json!(value);
        } else {
            body[part.name.as_str()] = json!(value);
        }
    }
    if !phones.is_empty() {
        body["phones"] = json!(phones.into_values().collect::<Vec<_>>());
    }
    Ok((body, resume))
}

fn create_opportunity(
    account_id: &str,
    a: &mut Account,
    request: &SimRequest,
) -> (SimResponse, Vec<Fire>) {
    let user = match active_user(a, request.query("perform_as")) {
        Ok(user) => user,
        Err(response) => return (response, vec![]),
    };
    let (body, resume) = match create_body(request) {
        Ok(parsed) => parsed,
        Err(response) => return (response, vec![]),
    };
    let strings = |key: &str| -> Vec<Value> {
        body[key]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(Value::is_string)
            .collect()
    };
    let postings = strings("postings");
    if postings.len() > 1 {
        return (
            error(
                400,
                code::BAD_REQUEST,
                "An opportunity can be applied to at most one posting",
            ),
            vec![],
        );
    }
    if let Some(origin) = body["origin"].as_str() {
        if !ORIGINS.contains(&origin) {
            return (
                error(400, code::BAD_REQUEST, format!("Invalid origin {origin}")),
                vec![],
            );
        }
    }
    let now = now_ms();
    let stage = body["stage"].as_str().unwrap_or("lead-new").to_string();
    let Some(stage_index) = a.stages.iter().position(|s| s["id"] == stage.as_str()) else {
        return (
            error(400, code::BAD_REQUEST, format!("Invalid stage id {stage}")),
            vec![],
        );
    };
    let posting = match postings.first().and_then(Value::as_str) {
        None => None,
        Some(id) => match a.postings.iter().find(|p| p["id"] == id) {
            Some(p) => Some(p.clone()),
            None => {
                return (
                    error(400, code::BAD_REQUEST, format!("Invalid posting id {id}")),
                    vec![],
                )
            }
        },
    };
    let emails = strings("emails");
    let existing_contact = a
        .opportunities
        .iter()
        .find(|o| {
            o["emails"]
                .as_array()
                .is_some_and(|a| a.iter().any(|e| emails.contains(e)))
        })
        .map(|o| o["contact"].clone());
    let deduped = existing_contact.is_some();
    let contact = existing_contact.unwrap_or_else(|| json!(uuid()));
    let mut tags = strings("tags");
    if let Some(p) = &posting {
        tags.push(p["text"].clone());
        for key in ["department", "team", "location", "commitment"] {
            if let Some(v) = p["categories"][key].as_str() {
                tags.push(json!(v));
            }
        }
    }
    let id = uuid();
    let opportunity = seed::opportunity(json!({
        "id": id,
        "name": body["name"].as_str().unwrap_or(""),
        "contact": contact,
        "headline": body["headline"].as_str().unwrap_or(""),
        "stage": stage,
        "location": body["location"].as_str().unwrap_or(""),
        "phones": body["phones"].as_array().cloned().unwrap_or_default(),
        "emails": emails,
        "links": strings("links"),
        "tags": tags,
        "sources": strings("sources"),
        "stageChanges": [{ "toStageId": stage, "toStageIndex": stage_index, "updatedAt": now, "userId": user }],
        "origin": body["origin"].as_str().unwrap_or("sourced"),
        "sourcedBy": user,
        "owner": body["owner"].as_str().unwrap_or(&user),
        "followers": [user],
        "applications": if posting.is_some() { json!([uuid()]) } else { json!([]) },
        "createdAt": now,
        "updatedAt": now,
        "lastInteractionAt": now,
        "lastAdvancedAt": now,
        "opportunityLocation": posting.as_ref().map(|p| p["categories"]["location"].clone()).unwrap_or(Value::Null),
        "_postingId": posting.as_ref().map(|p| p["id"].clone()).unwrap_or(Value::Null),
        "_resume": resume.unwrap_or(Value::Null),
    }));
    a.opportunities.push(opportunity.clone());
    let mut fires = Vec::new();
    if let Some(p) = &posting {
        fires.push(Fire {
            account: account_id.into(),
            event: "applicationCreated",
            data: json!({
                "applicationId": opportunity["applications"][0],
                "opportunityId": id,
                "contactId": opportunity["contact"],
                "postingId": p["id"],
            }),
        });
    }
    if a.fail_after_create > 0 {
        a.fail_after_create -= 1;
        return (
            error(500, "InternalServerError", "Something went wrong"),
            fires,
        );
    }
    (
        SimResponse::json(
            201,
            json!({ "deduped": deduped, "data": public_opportunity(&opportunity) }),
        ),
        fires,
    )
}

/// Archives (`{"reason": id}`) or unarchives (`{"reason": null}`) an opportunity; fires
/// `candidateArchiveChange`, and `candidateHired` when the reason is of type hired. The
/// stage is left as it is.
fn set_archived(
    account_id: &str,
    a: &mut Account,
    id: &str,
    body: &Value,
    _perform_as: Option<&str>,
) -> (SimResponse, Vec<Fire>) {
    let reason = match &body["reason"] {
        Value::Null => None,
        Value::String(r) => match a.archive_reasons.iter().find(|x| x["id"] == r.as_str()) {
            Some(found) => Some(found.clone()),
            None => {
                return (
                    error(
                        400,
                        code::BAD_REQUEST,
                        format!("Invalid archive reason {r}"),
                    ),
                    vec![],
                )
            }
        },
        _ => {
            return (
                error(400, code::BAD_REQUEST, "reason must be an id or null"),
                vec![],
            )
        }
    };
    let now = now_ms();
    let Some(opportunity) = a.opportunities.iter_mut().find(|o| o["id"] == id) else {
        return (error(404, code::NOT_FOUND, "Opportunity not found"), vec![]);
    };
    let from = opportunity["archived"].clone();
    let to = match &reason {
        Some(r) => json!({ "reason": r["id"], "archivedAt": now }),
        None => Value::Null,
    };
    let mut fires = Vec::new();
    if from.get("reason") != to.get("reason") || from.is_null() != to.is_null() {
        opportunity["archived"] = to.clone();
        opportunity["updatedAt"] = json!(now);
        fires.push(Fire {
            account: account_id.into(),
            event: "candidateArchiveChange",
            data: json!({
                "opportunityId": id,
                "candidateId": id,
                "contactId": opportunity["contact"],
                "fromArchived": from,
                "toArchived": to,
            }),
        });
        if reason.as_ref().is_some_and(|r| r["type"] == "hired") {
            fires.push(Fire {
                account: account_id.into(),
                event: "candidateHired",
                data: json!({
                    "opportunityId": id,
                    "candidateId": id,
                    "contactId": opportunity["contact"],
                    "postingId": opportunity["_postingId"],
                }),
            });
        }
    }
    let data = public_opportunity(opportunity);
    (SimResponse::json(200, json!({ "data": data })), fires)
}

/// Moves an opportunity to `body.stage`; fires `candidateStageChange`. The same stage
/// again is answered 200 without a new history entry or webhook (Lever's behaviour here
/// is unconfirmed). An archived opportunity stays archived.
fn change_stage(
    account_id: &str,
    a: &mut Account,
    id: &str,
    body: &Value,
    perform_as: Option<&str>,
) -> (SimResponse, Vec<Fire>) {
    let Some(stage) = body["stage"].as_str() else {
        return (error(400, code::BAD_REQUEST, "stage is required"), vec![]);
    };
    let now = now_ms();
    let Some(index) = a.stages.iter().position(|s| s["id"] == stage) else {
        return (
            error(400, code::BAD_REQUEST, format!("Invalid stage id {stage}")),
            vec![],
        );
    };
    let user = perform_as
        .map(String::from)
        .or_else(|| {
            a.users
                .first()
                .and_then(|u| u["id"].as_str().map(String::from))
        })
        .unwrap_or_default();
    let Some(opportunity) = a.opportunities.iter_mut().find(|o| o["id"] == id) else {
        return (error(404, code::NOT_FOUND, "Opportunity not found"), vec![]);
    };
    let from = opportunity["stage"].clone();
    let mut fires = Vec::new();
    if from != stage {
        opportunity["stage"] = json!(stage);
        if let Some(changes) = opportunity["stageChanges"].as_array_mut() {
            changes.push(json!({ "toStageId": stage, "toStageIndex": index, "updatedAt": now, "userId": user }));
        }
        opportunity["updatedAt"] = json!(now);
        opportunity["lastAdvancedAt"] = json!(now);
        fires.push(Fire {
            account: account_id.into(),
            event: "candidateStageChange",
            data: json!({
                "opportunityId": id,
                "contactId": opportunity["contact"],
                // Lever's legacy `candidateId` is the opportunity id (lever-api.md).
                "candidateId": id,
                "fromStageId": from,
                "toStageId": stage,
            }),
        });
    }
    let data = public_opportunity(opportunity);
    (SimResponse::json(200, json!({ "data": data })), fires)
}

fn create_webhook(a: &mut Account, request: &SimRequest) -> SimResponse {
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return error(400, code::BAD_REQUEST, "Body must be JSON");
    };
    let Some(event) = body["event"].as_str().filter(|e| EVENTS.contains(e)) else {
        return error(
            400,
            code::BAD_REQUEST,
            "event must be one of Lever's webhook events",
        );
    };
    let Some(url) = body["url"]
        .as_str()
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
    else {
        return error(400, code::BAD_REQUEST, "url must be an http(s) URL");
    };
    let origins = match &body["configuration"]["conditions"]["origins"] {
        Value::Array(list) => json!(list),
        _ => json!(ORIGINS),
    };
    let now = now_ms();
    let webhook = Webhook {
        id: uuid(),
        url: url.into(),
        event: event.into(),
        // 48 hex characters, as in the recorded response.
        signature_token: hex::encode(rand::random::<[u8; 24]>()),
        origins,
        created_at: now,
        updated_at: now,
    };
    let data = webhook.public(true);
    a.webhooks.push(webhook);
    SimResponse::json(201, json!({ "data": data }))
}

/// The batch `PUT /webhooks` `{data: [{id, url?, configuration?}]}`: every id must exist
/// (nothing changes otherwise).
fn update_webhooks(a: &mut Account, request: &SimRequest) -> SimResponse {
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return error(400, code::BAD_REQUEST, "Body must be JSON");
    };
    let Some(items) = body["data"].as_array() else {
        return error(400, code::BAD_REQUEST, "data must be a list of webhooks");
    };
    for item in items {
        let id = item["id"].as_str().unwrap_or_default();
        if !a.webhooks.iter().any(|w| w.id == id) {
            return error(404, code::NOT_FOUND, format!("Webhook {id} not found"));
        }
        if let Some(url) = item["url"].as_str() {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return error(400, code::BAD_REQUEST, "url must be an http(s) URL");
            }
        }
    }
    let now = now_ms();
    let mut updated = Vec::new();
    for item in items {
        let id = item["id"].as_str().unwrap_or_default();
        if let Some(w) = a.webhooks.iter_mut().find(|w| w.id == id) {
            if let Some(url) = item["url"].as_str() {
                w.url = url.into();
            }
            if let Value::Array(origins) = &item["configuration"]["conditions"]["origins"] {
                w.origins = json!(origins);
            }
            w.updated_at = now;
            updated.push(w.public(false));
        }
    }
    SimResponse::json(200, json!({ "data": updated }))
}

/// The opportunity as Lever shows it (without the simulator's bookkeeping fields).
fn public_opportunity(opportunity: &Value) -> Value {
    let mut shown = opportunity.clone();
    if let Some(map) = shown.as_object_mut() {
        map.retain(|k, _| !k.starts_with('_'));
    }
    shown
}

fn encode_offset(offset: usize, generation: u64) -> String {
    let token = if generation == 0 {
        json!({ "offset": offset })
    } else {
        json!({ "offset": offset, "g": generation })
    };
    base64::engine::general_purpose::STANDARD.encode(token.to_string())
}

fn decode_offset(token: &str, generation: u64) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    if value["g"].as_u64().unwrap_or(0) != generation {
        return None;
    }
    value["offset"].as_u64().map(|n| n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip_in_lever_style() {
        assert_eq!(encode_offset(1, 0), "eyJvZmZzZXQiOjF9");
        assert_eq!(decode_offset("eyJvZmZzZXQiOjF9", 0), Some(1));
        assert_eq!(decode_offset("eyJvZmZzZXQiOjF9", 1), None, "expired");
        assert_eq!(decode_offset(&encode_offset(7, 3), 3), Some(7));
        assert_eq!(decode_offset("garbage", 0), None);
    }
}
